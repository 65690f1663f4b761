// `--dry-run build` and `plan` are read-only: a fresh project and a built one are unchanged
// to the byte and the nanosecond (the cache, layers/, the stat cache, the lock, another run's
// leftovers), nothing is mounted, no run state dir is made; the dry run still names every
// mount and step the build would run.

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { self } from '../../src/mount/process-id.js';
import { execCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { removeTestDir } from '../support/leftovers.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) expect(removeTestDir(d), 'teardown had to clean up after the test').toEqual([]);
});

/** Said once by a run that would build app (a run step) with no source-date-epoch. */
const CLOCK =
  'warning: layer app uses run or host steps: without a source-date-epoch it is not reproducible (new bytes on every rebuild, so every child rebuilds too); set source-date-epoch in sqsh-layers.yaml or SOURCE_DATE_EPOCH\n';

/** base ← app ← top: top has two lowers, so a build of it uses every kind of mount. */
async function project(): Promise<{ dir: string; env: NodeJS.ProcessEnv; calls: () => string }> {
  const dir = tempDir('dry-run');
  const shims = tempDir('dry-run-shims');
  made.push(dir, shims);
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n',
    'recipes/app.yaml': 'parent: base\nsteps:\n  - run: echo v1 > /version\nexclude: [/tmp/**]\n',
    'recipes/top.yaml': 'parent: app\nsteps:\n  - remove: [/version]\n',
  });
  // Commands that change the system, shimmed: a read-only run must call none of them.
  const log = path.join(shims, 'calls.log');
  writeFileSync(log, '');
  for (const tool of ['mount', 'umount', 'losetup', 'bwrap', 'unshare']) {
    writeFileSync(path.join(shims, tool), `#!/bin/sh\necho "${tool} $*" >> ${log}\nexit 1\n`);
    chmodSync(path.join(shims, tool), 0o755);
  }
  const env = { ...stateEnv(dir), PATH: `${shims}:${process.env.PATH}` };
  return { dir, env, calls: () => readFileSync(log, 'utf8') };
}

/** Every entry below dir and dir itself: type, mode, owner, inode, size, mtime and ctime in ns, content or link target. */
async function exactTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string) => {
    const p = path.join(dir, rel);
    const st = await fs.lstat(p, { bigint: true });
    let detail = '';
    if (st.isFile()) detail = createHash('sha256').update(readFileSync(p)).digest('hex');
    if (st.isSymbolicLink()) detail = `-> ${await fs.readlink(p)}`;
    out.push(`${rel || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid} ino ${st.ino} size ${st.size} mtime ${st.mtimeNs} ctime ${st.ctimeNs} ${detail}`);
    if (st.isDirectory()) for (const name of (await fs.readdir(p)).sort()) await visit(path.join(rel, name));
  };
  await visit('');
  return out;
}

/** Runs a read-only command and checks that it changed nothing and called no mount tool. */
async function readOnly(p: Awaited<ReturnType<typeof project>>, args: string[], code = 0) {
  const before = await exactTree(p.dir);
  const r = await execCli(args, { cwd: p.dir, env: p.env });
  expect(r.code, r.stderr).toBe(code);
  expect(await exactTree(p.dir), `sqsh-layers ${args.join(' ')} changed the project`).toEqual(before);
  expect(p.calls()).toBe('');
  return r;
}

/**
 * What --dry-run says building a layer would do (run dir `run`, blobs as placeholders); a lower
 * whose mount an earlier layer of the run described is not described again.
 */
function described(run: string, layer: 'base' | 'app' | 'top', o: { baseShown: boolean }): string {
  const options = 'index=off,metacopy=off,redirect_dir=nofollow,xino=off,uuid=null';
  const inLowers = `   (in ${run}/lowers)`;
  const pack = (l: string) => `  + mksquashfs ${run}/layers/${l}/tmpfs/upper '<new ${l}.sqsh>' -noappend -no-recovery -xattrs -comp zstd -b 131072\n`;
  const text = {
    base:
      `  + mount -t tmpfs -o size=50%,mode=0755 sqsh-layers ${run}/layers/base/tmpfs\n` +
      '    (a bottom layer: the steps work on the tmpfs upper dir itself)\n' +
      '    step 1: copy rootfs/ to /\n' +
      '    finalize: times of the build\'s clock clamped to the newest input time\n' +
      pack('base'),
    app:
      `  + mount -t squashfs -o ro,loop '<base.sqsh>' ${run}/lowers/0   (shared by the run's builds)\n` +
      `  + mount -t tmpfs -o size=50%,mode=0755 sqsh-layers ${run}/layers/app/tmpfs\n` +
      `  + mount -t overlay -o lowerdir=0,upperdir=../layers/app/tmpfs/upper,workdir=../layers/app/tmpfs/work,${options} sqsh-layers ${run}/layers/app/root${inLowers}\n` +
      '    step 1: run echo v1 > /version\n' +
      `  + umount ${run}/layers/app/root\n` +
      '    finalize: strip overlay xattrs, exclude /tmp/**, prune identical entries\n' +
      pack('app'),
    top:
      `  + mount -t squashfs -o ro,loop '<app.sqsh>' ${run}/lowers/1   (shared by the run's builds)\n` +
      (o.baseShown ? '' : `  + mount -t squashfs -o ro,loop '<base.sqsh>' ${run}/lowers/0   (shared by the run's builds)\n`) +
      `  + mount -t tmpfs -o size=50%,mode=0755 sqsh-layers ${run}/layers/top/tmpfs\n` +
      `  + mount -t overlay -o lowerdir=1:0,upperdir=../layers/top/tmpfs/upper,workdir=../layers/top/tmpfs/work,${options} sqsh-layers ${run}/layers/top/root${inLowers}\n` +
      '    step 1: remove /version\n' +
      `  + umount ${run}/layers/top/root\n` +
      `  + mount -t overlay -o lowerdir=1:0,ro,${options} sqsh-layers ${run}/layers/top/lowerview${inLowers}\n` +
      '    finalize: strip overlay xattrs, prune identical entries, times of the build\'s clock clamped to the newest input time\n' +
      `  + umount ${run}/layers/top/lowerview\n` +
      pack('top'),
  };
  return text[layer];
}

describe('read-only commands', () => {
  it('leave a fresh project as it was, and --dry-run names every mount and step', async () => {
    const p = await project();
    const run = path.join(p.env.SQSH_LAYERS_RUN_DIR!, 'RUN-ID');

    const dry = await readOnly(p, ['--dry-run', 'build']);
    expect(dry).toEqual({
      code: 0,
      stdout: '',
      stderr:
        CLOCK +
        `base: would build: never built\n${described(run, 'base', { baseShown: false })}` +
        `app: would build: parent base will be rebuilt\n${described(run, 'app', { baseShown: false })}` +
        `top: would build: parent app will be rebuilt\n${described(run, 'top', { baseShown: true })}`,
    });
    await readOnly(p, ['plan']);
    await readOnly(p, ['--json', 'plan', 'app']);
    expect((await readOnly(p, ['--dry-run', 'build', '--frozen'], 1)).stderr).toContain('--frozen: 3 layer(s) would be rebuilt:\n');
    for (const made of ['layers', '.sqsh-cache', '.sqsh-layers.lock', 'run-sqsh-layers']) expect(existsSync(path.join(p.dir, made)), made).toBe(false);
  });

  it('leave a built project, its cache, its lock and other runs leftovers as they were', async () => {
    const p = await project();
    // The shims are for read-only runs; the build mounts for real.
    const build = await execCli(['build'], { cwd: p.dir, env: stateEnv(p.dir) });
    expect(build.code, build.stderr).toBe(0);
    for (const f of ['layers/top.sqsh', 'layers/manifest.json', '.sqsh-cache/stat-cache.json', '.sqsh-cache/tools.json']) {
      expect(existsSync(path.join(p.dir, f)), f).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(path.join(p.dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, { sha256: string }> };
    const digest = (l: string) => manifest.layers[l]!.sha256.slice(0, 12);
    // What a build would clean up and a read-only run must leave: a killed run's state dir and cache temp files.
    const killed = '20200101T000000-999999-abcdef';
    await writeFiles(p.dir, {
      [`run-sqsh-layers/${killed}/owner.json`]: JSON.stringify({ pid: 999999, start: 1, project: p.dir }) + '\n',
      [`.sqsh-cache/tmp/${killed}/top.tmp`]: 'partial',
      [`layers/.top.sqsh.${killed}.tmp`]: 'partial',
    });
    const run = path.join(p.env.SQSH_LAYERS_RUN_DIR!, 'RUN-ID');

    expect((await readOnly(p, ['--dry-run', 'build'])).stderr).toBe(
      `base: cached (${digest('base')})\napp: cached (${digest('app')})\ntop: cached (${digest('top')})\n`,
    );
    expect((await readOnly(p, ['--dry-run', 'build', '--force', 'top'])).stderr).toBe(
      `base: cached (${digest('base')})\napp: cached (${digest('app')})\ntop: would build: --force\n${described(run, 'top', { baseShown: false })}`,
    );
    const all = await readOnly(p, ['--force', '--dry-run', 'build']);
    expect(all.stderr).toBe(
      CLOCK +
        `base: would build: --force\n${described(run, 'base', { baseShown: false })}` +
        `app: would build: parent base will be rebuilt\n${described(run, 'app', { baseShown: false })}` +
        `top: would build: parent app will be rebuilt\n${described(run, 'top', { baseShown: true })}`,
    );
    expect((await readOnly(p, ['plan'])).stdout).toContain('all cached');
    expect((await readOnly(p, ['--force', 'plan'])).stdout).toContain('3 to build');

    // A build holds the project lock: read-only runs neither wait for it nor take it.
    writeFileSync(path.join(p.dir, '.sqsh-layers.lock'), JSON.stringify({ ...(await self()), runId: 'held-by-the-test' }) + '\n');
    expect((await readOnly(p, ['--dry-run', 'build', '--force'])).stderr).toBe(all.stderr);
    await readOnly(p, ['plan']);
    const locked = await execCli(['build', '--force', 'top'], { cwd: p.dir, env: stateEnv(p.dir) });
    expect(locked.code).not.toBe(0);
    expect(locked.stderr).toContain('is working on this project');
    await fs.rm(path.join(p.dir, '.sqsh-layers.lock'));
  });
});
