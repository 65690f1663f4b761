// Interrupts, kills, failures and missing tools with the real CLI as a real process: the
// exit code says what happened and nothing is left behind (PRODUCT.md section 5).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, promises as fs, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, execCli, exitOf, spawnCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, mountsBelow, stateEnv } from '../support/rootfs.js';
import {
  cacheProblems,
  descendantsNamed,
  isRunning,
  leftoversBelow,
  processesWithEnv,
  removeTestDir,
  sha256,
  tempFilesIn,
  waitFor,
} from '../support/leftovers.js';

const TOKEN_VAR = 'SQSH_TEST_TOKEN';

/** perl: become a child subreaper (prctl PR_SET_CHILD_SUBREAPER), run ARGV, reap every child until none is left. */
const REAPER =
  'require "syscall.ph"; syscall(&SYS_prctl, 36, 1, 0, 0, 0) == 0 or die "prctl: $!\\n"; ' +
  'defined(my $pid = fork) or die "fork: $!\\n"; if ($pid == 0) { exec @ARGV or die "exec: $!\\n" } 1 while wait() != -1;';

interface TestProject {
  dir: string;
  env: NodeJS.ProcessEnv;
  stateRoot: string;
  token: string;
  /** Processes the test started (the CLI runs), killed in teardown if still there. */
  pids: number[];
}

let current: TestProject | undefined;

afterEach(() => {
  if (!current) return;
  const p = current;
  current = undefined;
  const stray = [...p.pids, ...processesWithEnv(TOKEN_VAR, p.token)];
  const cleaned = removeTestDir(p.dir, stray);
  expect(cleaned, 'teardown had to clean up after the test').toEqual([]);
});

/** A project with base (busybox) and app on top, both built once. */
async function project(label: string, app = 'parent: base\nsteps:\n  - run: echo v1 > /version\n'): Promise<TestProject> {
  const dir = tempDir(label);
  const token = randomBytes(8).toString('hex');
  const p: TestProject = { dir, env: stateEnv(dir), stateRoot: stateEnv(dir).SQSH_LAYERS_RUN_DIR!, token, pids: [] };
  current = p;
  await busyboxTree(path.join(dir, 'rootfs'));
  for (const a of ['dd', 'head']) symlinkSync('busybox', path.join(dir, 'rootfs/bin', a));
  await writeFiles(dir, { 'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n', 'recipes/app.yaml': app });
  const r = await execCli(['build'], { cwd: dir, env: p.env });
  expect(r.stderr).not.toContain('error');
  expect(r.code).toBe(0);
  return p;
}

function layerFiles(p: TestProject): Record<string, string> {
  const layers = path.join(p.dir, 'layers');
  return Object.fromEntries(readdirSync(layers).sort().map((n) => [n, sha256(path.join(layers, n))]));
}

/**
 * layers/ as a run that (re)built `built` must leave it: the snapshot `before` (taken before
 * the test's runs), each built layer at the digest the manifest now records, the new manifest;
 * every other file as it was, and no other file.
 */
function layersAfterBuilding(p: TestProject, before: Record<string, string>, built: string[]): Record<string, string> {
  const file = path.join(p.dir, 'layers/manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { layers: Record<string, { sha256: string }> };
  return { ...before, 'manifest.json': sha256(file), ...Object.fromEntries(built.map((n) => [`${n}.sqsh`, manifest.layers[n]!.sha256])) };
}

/**
 * Starts a build of app over 256 MiB of random bytes packed with xz (long enough to be
 * interrupted) and waits until its mksquashfs runs.
 */
async function buildUntilPacking(p: TestProject): Promise<{ child: ReturnType<typeof spawnCli>; mksquashfs: number }> {
  await writeFiles(p.dir, {
    'hooks/big.sh': { text: '#!/bin/sh\nhead -c 256M /dev/urandom > "$SQSH_ROOT/big"\n', mode: 0o755 },
    'recipes/app.yaml': 'parent: base\nsquashfs: { compression: xz }\nsteps:\n  - host: hooks/big.sh\n',
  });
  const child = spawnCli(['build'], { cwd: p.dir, env: p.env });
  p.pids.push(child.pid!);
  const [mksquashfs] = await waitFor('mksquashfs started by the CLI', () => {
    const found = descendantsNamed(child.pid!, 'mksquashfs');
    return found.length > 0 && found;
  });
  return { child, mksquashfs: mksquashfs! };
}

/** The merged-root upper of a layer being built by some run of the project. */
function upperFile(p: TestProject, layer: string, rel: string): string | undefined {
  for (const run of existsSync(p.stateRoot) ? readdirSync(p.stateRoot) : []) {
    const f = path.join(p.stateRoot, run, 'layers', layer, 'tmpfs/upper', rel);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** Everything section 5 promises after a run ended, however it ended. */
async function expectNothingLeft(p: TestProject, layersBefore: Record<string, string>): Promise<void> {
  expect(await leftoversBelow(p.dir)).toEqual([]);
  expect(processesWithEnv(TOKEN_VAR, p.token)).toEqual([]);
  expect(readdirSync(p.stateRoot)).toEqual([]);
  expect(existsSync(path.join(p.dir, '.sqsh-layers.lock'))).toBe(false);
  expect(tempFilesIn(path.join(p.dir, 'layers'))).toEqual([]);
  expect(layerFiles(p)).toEqual(layersBefore);
  // The manifest describes the files that are there.
  const manifest = JSON.parse(readFileSync(path.join(p.dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, { file: string; sha256: string }> };
  for (const e of Object.values(manifest.layers)) expect(layersBefore[e.file], e.file).toBe(e.sha256);
  expect(cacheProblems(path.join(p.dir, '.sqsh-cache'))).toEqual([]);
}

describe('interrupts', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGHUP', 129], // the terminal closed
  ] as const)('%s during a run step: exit %i, every mount, loop device and process gone, layers/ unchanged', async (signal, code) => {
    const p = await project(signal.toLowerCase());
    const before = layerFiles(p);
    await writeFiles(p.dir, {
      'recipes/app.yaml': `parent: base\nsteps:\n  - run: |\n      touch /started\n      sleep 1000\n    env: { ${TOKEN_VAR}: ${p.token} }\n`,
    });
    const child = spawnCli(['build'], { cwd: p.dir, env: p.env });
    p.pids.push(child.pid!);
    await waitFor('the run step to start', () => upperFile(p, 'app', 'started'));
    const sleeping = await waitFor('the step sleeping', () => processesWithEnv(TOKEN_VAR, p.token).length > 0);
    expect(sleeping).toBe(true);
    expect(mountsBelow(p.stateRoot).length).toBeGreaterThanOrEqual(3);

    child.kill(signal);
    expect(await exitOf(child)).toBe(code);
    expect(child.output()).toContain(`interrupted by ${signal}`);
    await expectNothingLeft(p, before);
  });

  it('Ctrl-C at a terminal (SIGINT to the whole process group) reaches the run, not its mount helper: all is undone', async () => {
    const p = await project('ctrl-c');
    const before = layerFiles(p);
    await writeFiles(p.dir, {
      'recipes/app.yaml': `parent: base\nsteps:\n  - run: |\n      touch /started\n      sleep 1000\n    env: { ${TOKEN_VAR}: ${p.token} }\n`,
    });
    // The CLI leads its own process group, as a shell's foreground job does.
    const child = spawn(process.execPath, [CLI, 'build'], { cwd: p.dir, env: { ...process.env, ...p.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    p.pids.push(child.pid!);
    let output = '';
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor('the run step to start', () => upperFile(p, 'app', 'started'));
    await waitFor('the step sleeping', () => processesWithEnv(TOKEN_VAR, p.token).length > 0);
    const helpers = descendantsNamed(child.pid!, 'mounter');
    expect(helpers).toHaveLength(1);
    // Not in the CLI's process group: the SIGINT does not reach it, and it undoes the mounts
    // (were it killed, umount(8) would, as a fallback).
    const stat = readFileSync(`/proc/${helpers[0]}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])).not.toBe(child.pid);

    process.kill(-child.pid!, 'SIGINT');
    expect(await exitOf(child)).toBe(130);
    expect(output).toContain('interrupted by SIGINT');
    expect(output).not.toContain('mount helper');
    await expectNothingLeft(p, before);
    await waitFor('the mount helper to end', () => !helpers.some(isRunning), 10_000);
  });

  it('SIGTERM during mksquashfs: exit 143, no partial file in layers/ or the cache', async () => {
    // 256 MiB of random bytes, xz: packing takes long enough to be interrupted.
    const p = await project('sigterm');
    const before = layerFiles(p);
    const { child, mksquashfs } = await buildUntilPacking(p);
    // It is writing its output (a temp name in the cache) when the signal comes.
    const tmp = path.join(p.dir, '.sqsh-cache/tmp');
    await waitFor('mksquashfs output', () => readdirSync(tmp).some((run) => existsSync(path.join(tmp, run, 'app.tmp'))));
    expect(child.output()).toContain('[app] packing with mksquashfs');

    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(143);
    expect(child.output()).toContain('interrupted by SIGTERM');
    expect(isRunning(mksquashfs)).toBe(false);
    await expectNothingLeft(p, before);
  });

  it('a run killed with SIGKILL: the next run reports and cleans its mounts, state and processes, then builds', async () => {
    const p = await project('sigkill');
    const before = layerFiles(p);
    // The hook hangs while the project holds a "hang" file; the recipe does not change between runs.
    await writeFiles(p.dir, {
      'hooks/hang.sh': { text: '#!/bin/sh\necho hooked > "$SQSH_ROOT/hooked"\nif [ -e "$SQSH_PROJECT/hang" ]; then sleep 1000; fi\n', mode: 0o755 },
      hang: '',
      'recipes/app.yaml': `parent: base\nsteps:\n  - host: hooks/hang.sh\n    env: { ${TOKEN_VAR}: ${p.token} }\n`,
    });
    const child = spawnCli(['build'], { cwd: p.dir, env: p.env });
    p.pids.push(child.pid!);
    await waitFor('the host step to hang', () => upperFile(p, 'app', 'hooked') && processesWithEnv(TOKEN_VAR, p.token).length >= 2);
    const stepProcesses = processesWithEnv(TOKEN_VAR, p.token);
    const [killedRun] = readdirSync(p.stateRoot);
    // The run's mount helper (native/mounter.c) made its mounts; it ends with the run.
    const helpers = descendantsNamed(child.pid!, 'mounter');
    expect(helpers).toHaveLength(1);
    child.kill('SIGKILL');
    await exitOf(child);
    await waitFor('the mount helper to end', () => !helpers.some(isRunning), 10_000);

    // What the killed run left: its state dir with 3 mounts (lower, tmpfs, overlay), a loop
    // device, the lock, and the hook still sleeping in its process group.
    expect(mountsBelow(path.join(p.stateRoot, killedRun!))).toHaveLength(3);
    expect(existsSync(path.join(p.dir, '.sqsh-layers.lock'))).toBe(true);
    expect(stepProcesses.every(isRunning)).toBe(true);

    await fs.rm(path.join(p.dir, 'hang'));
    const r = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(r.stderr).toMatch(new RegExp(`warning: cleaned up after a run that was killed \\(${killedRun}, ${p.dir}\\): 3 mount\\(s\\), 1 process group\\(s\\)`));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(1 built, 1 cached');
    expect(stepProcesses.filter(isRunning)).toEqual([]);
    await expectNothingLeft(p, layersAfterBuilding(p, before, ['app']));
  });

  it('after SIGKILL, what a host step started goes when the step ends by itself, and the next run cleans up the mounts', async () => {
    const p = await project('sigkill-group');
    const before = layerFiles(p);
    // The hook leaves a sleeper behind and waits for "release" before it ends.
    const hook = '#!/bin/sh\nsleep 1000 &\ntouch "$SQSH_ROOT/started"\nwhile [ ! -e "$SQSH_PROJECT/release" ]; do sleep 0.1; done\n';
    await writeFiles(p.dir, {
      'hooks/leave.sh': { text: hook, mode: 0o755 },
      'recipes/app.yaml': `parent: base\nsteps:\n  - host: hooks/leave.sh\n    env: { ${TOKEN_VAR}: ${p.token} }\n`,
    });
    // The CLI runs under a subreaper, so what its death orphans is reaped as soon as it ends
    // (as under an init that reaps promptly): the hook's pid is then really gone.
    const reaper = spawn('perl', ['-e', REAPER, process.execPath, CLI, 'build'], { cwd: p.dir, env: { ...process.env, ...p.env }, stdio: 'ignore' });
    p.pids.push(reaper.pid!);
    const [cli] = await waitFor('the CLI under the reaper', () => {
      const found = descendantsNamed(reaper.pid!, 'node');
      return found.length > 0 && found;
    });
    p.pids.push(cli!);
    await waitFor('the hook to start', () => upperFile(p, 'app', 'started'));
    const [killedRun] = readdirSync(p.stateRoot);
    process.kill(cli!, 'SIGKILL');
    await waitFor('the CLI to die', () => !isRunning(cli!));
    // unshare, the hook and its sleeper outlive the CLI.
    const started = processesWithEnv(TOKEN_VAR, p.token);
    expect(started.length).toBeGreaterThanOrEqual(3);
    await writeFiles(p.dir, { release: '' });
    // The hook ends by itself, with no run left to clean up after it: its sleeper goes with it
    // (the hook was the first process of the step's own pid namespace).
    await waitFor('the step\'s processes to be gone', () => processesWithEnv(TOKEN_VAR, p.token).length === 0, 10_000);

    const r = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`cleaned up after a run that was killed \\(${killedRun}, ${p.dir}\\): 3 mount\\(s\\), 0 process group\\(s\\)`));
    expect(r.stderr).not.toContain('busy');
    expect(started.filter(isRunning)).toEqual([]);
    await expectNothingLeft(p, layersAfterBuilding(p, before, ['app']));
  });

  it('a second run on the same project is refused while the first holds the lock, and disturbs nothing', async () => {
    const p = await project('lock');
    const before = layerFiles(p);
    await writeFiles(p.dir, {
      'hooks/hang.sh': { text: '#!/bin/sh\necho hooked > "$SQSH_ROOT/hooked"\nsleep 1000\n', mode: 0o755 },
      'recipes/app.yaml': `parent: base\nsteps:\n  - host: hooks/hang.sh\n    env: { ${TOKEN_VAR}: ${p.token} }\n`,
    });
    const first = spawnCli(['build'], { cwd: p.dir, env: p.env });
    p.pids.push(first.pid!);
    await waitFor('the first run to be in its step', () => upperFile(p, 'app', 'hooked'));
    const mountsOfFirst = mountsBelow(p.stateRoot);

    const second = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(new RegExp(`another sqsh-layers run \\(pid ${first.pid}, since [^)]+\\) is working on this project`));
    expect(second.stderr).not.toContain('cleaned up after');
    // The first run's mounts and state are untouched; the second left no state of its own.
    expect(mountsBelow(p.stateRoot)).toEqual(mountsOfFirst);
    expect(readdirSync(p.stateRoot)).toHaveLength(1);
    // gc takes the same lock: it must not prune under a running build.
    const gc = await execCli(['gc'], { cwd: p.dir, env: p.env });
    expect(gc.code).not.toBe(0);
    expect(gc.stderr).toMatch(new RegExp(`another sqsh-layers run \\(pid ${first.pid}, since [^)]+\\) is working on this project`));

    first.kill('SIGINT');
    expect(await exitOf(first)).toBe(130);
    await expectNothingLeft(p, before);
  });
});

describe('the project lock', () => {
  it('runs starting together over a stale lock take it one at a time', async () => {
    const p = await project('lock-race');
    const hook = '#!/bin/sh\necho "$(date +%s.%N) $(sleep 0.5; date +%s.%N)" >> "$SQSH_PROJECT/intervals"\n';
    await writeFiles(p.dir, { 'hooks/interval.sh': { text: hook, mode: 0o755 }, 'recipes/app.yaml': 'parent: base\nsteps:\n  - host: hooks/interval.sh\n' });
    // The lock of a run that is gone (a process that has exited).
    const gone = spawn('true');
    await exitOf(gone);
    await writeFiles(p.dir, { '.sqsh-layers.lock': JSON.stringify({ pid: gone.pid, start: 1, runId: 'dead', since: 'then' }) });

    const runs = Array.from({ length: 6 }, () => execCli(['build', 'app', '--force'], { cwd: p.dir, env: p.env }));
    const results = await Promise.all(runs);
    for (const r of results.filter((x) => x.code !== 0)) expect(r.stderr).toMatch(/another sqsh-layers run \(pid \d+, since [^)]+\) is working on this project/);
    const intervals = readFileSync(path.join(p.dir, 'intervals'), 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]);
    expect(intervals).toHaveLength(results.filter((r) => r.code === 0).length);
    expect(intervals.length).toBeGreaterThanOrEqual(1);
    intervals.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < intervals.length; i++) expect(intervals[i]![0]).toBeGreaterThan(intervals[i - 1]![1]);
    expect(readdirSync(p.dir).filter((n) => n.startsWith('.sqsh-layers.lock'))).toEqual([]);
  });
});

describe('interrupts, harder cases', () => {
  const sleeper = (p: TestProject, layer: string) =>
    `parent: base\nsteps:\n  - run: |\n      touch /started\n      echo ${layer} started\n      sleep 1000\n    env: { ${TOKEN_VAR}: ${p.token} }\n`;

  it('SIGINT with two layers building at once cleans up both', async () => {
    const p = await project('sigint-jobs');
    const before = layerFiles(p);
    await writeFiles(p.dir, { 'recipes/left.yaml': sleeper(p, 'left'), 'recipes/right.yaml': sleeper(p, 'right') });
    const child = spawnCli(['build', '--jobs', '2'], { cwd: p.dir, env: p.env });
    p.pids.push(child.pid!);
    await waitFor('both steps to start', () => upperFile(p, 'left', 'started') && upperFile(p, 'right', 'started'));
    // Each build's tmpfs and overlay, and base's blob: mounted once, shared by both builds.
    const mounts = mountsBelow(p.stateRoot);
    expect(mounts.length).toBeGreaterThanOrEqual(5);
    expect(mounts.filter((m) => /\/lowers\/\d+$/.test(m))).toHaveLength(1);

    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(130);
    await expectNothingLeft(p, before);
  });

  it('after SIGINT no queued layer starts', async () => {
    const p = await project('sigint-queue');
    const before = layerFiles(p);
    await writeFiles(p.dir, { 'recipes/left.yaml': sleeper(p, 'left'), 'recipes/right.yaml': sleeper(p, 'right') });
    const child = spawnCli(['build', '--jobs', '1'], { cwd: p.dir, env: p.env });
    p.pids.push(child.pid!);
    await waitFor('one step to start', () => upperFile(p, 'left', 'started') ?? upperFile(p, 'right', 'started'));
    const started = upperFile(p, 'left', 'started') ? 'left' : 'right';
    const queued = started === 'left' ? 'right' : 'left';

    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(130);
    expect(child.output()).toContain(`[${started}] building`);
    expect(child.output()).not.toContain(`[${queued}] building`);
    expect(child.output()).not.toMatch(/error/i);
    await expectNothingLeft(p, before);
  });

  it('a host step that ignores SIGTERM is killed after the grace time; a second SIGINT does not cut cleanup short', async () => {
    const p = await project('stubborn');
    const before = layerFiles(p);
    await writeFiles(p.dir, {
      'hooks/stubborn.sh': { text: `#!/bin/sh\ntrap '' TERM INT\ntouch "$SQSH_ROOT/started"\nsleep 1000\n`, mode: 0o755 },
      'recipes/app.yaml': `parent: base\nsteps:\n  - host: hooks/stubborn.sh\n    env: { ${TOKEN_VAR}: ${p.token} }\n`,
    });
    const child = spawnCli(['build'], { cwd: p.dir, env: p.env });
    p.pids.push(child.pid!);
    await waitFor('the hook to start', () => upperFile(p, 'app', 'started') && processesWithEnv(TOKEN_VAR, p.token).length >= 2);

    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(130);
    expect(child.output()).toContain('cleaning up, please wait');
    await expectNothingLeft(p, before);
  });

  it('SIGINT while a big input is being hashed exits 130', async () => {
    const p = await project('sigint-hash');
    const before = layerFiles(p);
    // A sparse 64 GiB input: hashing it takes far longer than the test waits.
    const big = path.join(p.dir, 'inputs/big.img');
    mkdirSync(path.dirname(big));
    await fs.writeFile(big, '');
    await fs.truncate(big, 64 * 1024 ** 3);
    await writeFiles(p.dir, { 'recipes/app.yaml': 'parent: base\nsteps:\n  - copy: inputs/big.img\n    to: /big.img\n' });
    const child = spawnCli(['build'], { cwd: p.dir, env: p.env });
    p.pids.push(child.pid!);
    await waitFor('the CLI to read the input', () => {
      const fds = existsSync(`/proc/${child.pid}/fd`) ? readdirSync(`/proc/${child.pid}/fd`) : [];
      return fds.some((fd) => {
        try {
          return readlinkSync(`/proc/${child.pid}/fd/${fd}`) === big;
        } catch {
          return false;
        }
      });
    });

    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(130);
    expect(child.output()).toContain('interrupted by SIGINT');
    expect(child.output()).not.toContain('error');
    await expectNothingLeft(p, before);
  });

  it('a run killed with SIGKILL while packing: the next run removes its partial files', async () => {
    const p = await project('sigkill-pack');
    const before = layerFiles(p);
    const { child, mksquashfs } = await buildUntilPacking(p);
    p.pids.push(mksquashfs);
    const [killedRun] = readdirSync(p.stateRoot);
    // The run's own directory in the cache holds what it writes.
    const runTmp = path.join(p.dir, '.sqsh-cache/tmp', killedRun!);
    await waitFor('mksquashfs output', () => existsSync(path.join(runTmp, 'app.tmp')));
    child.kill('SIGKILL');
    await exitOf(child);
    // mksquashfs may run on in its own process group (or die of the broken pipe); the partial file stays.
    expect(readdirSync(path.join(p.dir, '.sqsh-cache/tmp'))).toEqual([killedRun]);
    expect(readdirSync(runTmp)).toContain('app.tmp');
    // What the same run leaves when killed while writing layers/ (names as the tool makes them).
    await writeFiles(p.dir, {
      [`layers/.app.sqsh.${killedRun}.tmp`]: 'partial',
      [`layers/manifest.json.${child.pid}.k1ll3d.tmp`]: '{"partial',
    });

    // A small layer this time: the next run must clean up, then build.
    await writeFiles(p.dir, { 'hooks/big.sh': { text: '#!/bin/sh\nhead -c 1M /dev/urandom > "$SQSH_ROOT/big"\n', mode: 0o755 } });
    const r = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`cleaned up after a run that was killed \\(${killedRun}, ${p.dir}\\): 2 mount\\(s\\), [01] process group\\(s\\)`));
    expect(isRunning(mksquashfs)).toBe(false);
    await expectNothingLeft(p, layersAfterBuilding(p, before, ['app']));
  });
});

describe('failures', () => {
  it("a host step's background process neither outlives the step nor keeps the build waiting", async () => {
    const p = await project('background');
    const before = layerFiles(p);
    await writeFiles(p.dir, {
      'hooks/daemon.sh': { text: '#!/bin/sh\nsleep 1000 &\necho "started $!"\n', mode: 0o755 },
      'recipes/app.yaml': `parent: base\nsteps:\n  - host: hooks/daemon.sh\n    env: { ${TOKEN_VAR}: ${p.token} }\n`,
    });
    const r = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(r.code, r.stderr).toBe(0);
    await expectNothingLeft(p, layersAfterBuilding(p, before, ['app']));
  });

  it('a failing step names layer, step and exit code, shows its output tail, leaves nothing mounted', async () => {
    const p = await project('fail');
    const before = layerFiles(p);
    await writeFiles(p.dir, {
      'recipes/app.yaml': 'parent: base\nsteps:\n  - run: echo fine\n  - run: |\n      echo first line\n      echo last words >&2\n      exit 3\n',
    });
    const r = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sqsh-layers: error: layer app, step 2 (run): the script failed with exit code 3');
    expect(r.stderr).toMatch(/\| first line\n\s+\| last words\n/);
    expect(r.stderr).toContain('  hint: the step is at recipes/app.yaml:4:5\n');
    expect(r.stderr.match(/error:/g)).toHaveLength(1);
    await expectNothingLeft(p, before);
  });

  it('a full tmpfs gives one message naming the layer and step, with a hint at tmpfs-size', async () => {
    const p = await project('full');
    const before = layerFiles(p);
    await writeFiles(p.dir, {
      'recipes/app.yaml': 'parent: base\ntmpfs-size: 1M\nsteps:\n  - run: dd if=/dev/zero of=/big bs=1M count=4\n',
    });
    const r = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sqsh-layers: error: layer app, step 1 (run)');
    expect(r.stderr).toMatch(/hint: .*tmpfs-size: 1M.*full.*raise tmpfs-size in recipes\/app\.yaml/);
    expect(r.stderr).toContain("| dd: error writing '/big': No space left on device");
    expect(r.stderr.match(/error:/g)).toHaveLength(1);
    await expectNothingLeft(p, before);
  });

  it('a step failing for another reason in a small tmpfs is not blamed on the tmpfs', async () => {
    const p = await project('small');
    const before = layerFiles(p);
    await writeFiles(p.dir, { 'recipes/app.yaml': 'parent: base\ntmpfs-size: 512K\nsteps:\n  - run: exit 7\n' });
    const r = await execCli(['build'], { cwd: p.dir, env: p.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('layer app, step 1 (run): the script failed with exit code 7');
    expect(r.stderr).not.toContain('tmpfs');
    await expectNothingLeft(p, before);
  });

  it('missing tools are named with the layer or step that needs them and their package, before anything is mounted', async () => {
    const p = await project('notool');
    const before = layerFiles(p);
    // A PATH with every host tool but mksquashfs and restore.
    const bin = path.join(p.dir, 'bin');
    mkdirSync(bin);
    for (const d of ['/usr/local/bin', '/usr/bin', '/usr/sbin']) {
      for (const name of existsSync(d) ? readdirSync(d) : []) {
        if (!['mksquashfs', 'restore'].includes(name) && !existsSync(path.join(bin, name))) symlinkSync(path.join(d, name), path.join(bin, name));
      }
    }
    await writeFiles(p.dir, { 'inputs/app.dump': '', 'recipes/app.yaml': 'parent: base\nsteps:\n  - run: echo v2 > /version\n  - restore: inputs/app.dump\n' });
    const r = await execCli(['build'], { cwd: p.dir, env: { ...p.env, PATH: bin } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'sqsh-layers: error: missing tools (nothing was built):\n' +
        '  mksquashfs: needed for building layers base, app; install it: apt-get install squashfs-tools\n' +
        '  restore: needed for layer app step 2 (restore); install it: apt-get install dump\n',
    );
    await expectNothingLeft(p, before);
  });
});
