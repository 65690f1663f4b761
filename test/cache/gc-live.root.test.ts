// gc of one project while another project's build shares the cache (PRODUCT.md section 4:
// gc "never touches a live run's files"): the build is held at a point the test controls,
// gc runs with --min-age 0, then the build is let go and must finish as if gc had not run.

import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execCli, exitOf, spawnCli, writeFiles, type CliResult } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { cacheProblems, isRunning, leftoverCheckedDirs, sha256, waitFor } from '../support/leftovers.js';

const EPOCH = '1700000000';

/** Waits (at most 2 minutes) until the file RELEASE exists; HELD says it is waiting. */
const WAIT = 'i=0\nwhile [ ! -e "$RELEASE" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\n';

interface Started {
  child: ChildProcess & { output: () => string };
  release: string;
}

// Registered first, so it runs after this file's teardown below has let the builds end.
const newDir = leftoverCheckedDirs();
const started: Started[] = [];

afterEach(async () => {
  for (const s of started.splice(0)) {
    writeFileSync(s.release, '');
    if (isRunning(s.child.pid!)) {
      const exited = exitOf(s.child);
      const timer = setTimeout(() => s.child.kill('SIGTERM'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  }
});

function cli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return execCli(args, { cwd: dir, env: { ...stateEnv(dir), SOURCE_DATE_EPOCH: EPOCH, ...env } });
}

function start(dir: string, args: string[], env: NodeJS.ProcessEnv): Started {
  const release = path.join(dir, 'release');
  const child = spawnCli(args, { cwd: dir, env: { ...stateEnv(dir), SOURCE_DATE_EPOCH: EPOCH, RELEASE: release, ...env } });
  const s = { child, release };
  started.push(s);
  return s;
}

async function finish(s: Started): Promise<number | null> {
  writeFileSync(s.release, '');
  return exitOf(s.child);
}

/** A project (base: busybox, app on it) building into `cache`, with whatever else it needs. */
async function builder(cache: string, app: string, files: Parameters<typeof writeFiles>[1] = {}): Promise<string> {
  const dir = newDir('gc-live-build');
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'sqsh-layers.yaml': `cache: ${cache}\n`,
    'files/version': 'v1\n',
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n  - copy: files/version\n    to: /etc/\n',
    'recipes/app.yaml': app,
    ...files,
  });
  return dir;
}

/** Another project on the same cache, whose own layers are none: to it everything in the cache is someone else's. */
async function bystander(cache: string): Promise<string> {
  const dir = newDir('gc-live-gc');
  await writeFiles(dir, { 'sqsh-layers.yaml': `cache: ${cache}\n`, 'recipes/other.yaml': 'steps:\n  - run: "true"\n' });
  return dir;
}

interface GcReport {
  removedBlobs: { digest: string }[];
  removedKeys: string[];
  removedTemps: string[];
}

async function gcJson(dir: string, args: string[]): Promise<GcReport> {
  const r = await cli(dir, ['gc', '--json', '--min-age', '0', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as GcReport;
}

function manifest(dir: string): Record<string, { sha256: string; keyDigest: string }> {
  return (JSON.parse(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, { sha256: string; keyDigest: string }> }).layers;
}

function expectConsistent(dir: string, cache: string): void {
  for (const [name, l] of Object.entries(manifest(dir))) expect(sha256(path.join(dir, 'layers', `${name}.sqsh`)), name).toBe(l.sha256);
  expect(cacheProblems(cache)).toEqual([]);
}

describe('gc --min-age 0 from another project during a live build', () => {
  it('held in a host step (--max-size 0 too): the blobs the build uses and its run directory stay; the rest goes; the build succeeds', async () => {
    const cache = path.join(newDir('gc-live-cache'), 'cache');
    const hold = { text: `#!/bin/sh\ntouch "$SQSH_PROJECT/held"\n${WAIT}echo app > "$SQSH_ROOT/app"\n`, mode: 0o755 };
    const a = await builder(cache, 'parent: base\nsteps:\n  - host: hooks/hold.sh\n', { 'hooks/hold.sh': hold });
    // An earlier version of base, and a blob nothing refers to: neither belongs to the live build.
    const old = await cli(a, ['build', 'base']);
    expect(old.code, old.stderr).toBe(0);
    const v1 = manifest(a).base!;
    const orphan = randomBytes(4096);
    const orphanDigest = createHash('sha256').update(orphan).digest('hex');
    writeFileSync(path.join(cache, 'blobs/sha256', orphanDigest), orphan);
    await writeFiles(a, { 'files/version': 'v2\n' });

    const build = start(a, ['build'], {});
    await waitFor('the build held in its host step', () => existsSync(path.join(a, 'held')));
    const [run] = readdirSync(path.join(a, 'run-sqsh-layers'));
    const v2 = readdirSync(path.join(cache, 'blobs/sha256')).find((d) => d !== v1.sha256 && d !== orphanDigest)!;

    const report = await gcJson(await bystander(cache), ['--max-size', '0']);
    expect(report.removedBlobs.map((b) => b.digest).sort()).toEqual([v1.sha256, orphanDigest].sort());
    expect(report.removedKeys).toEqual([v1.keyDigest]);
    expect(report.removedTemps).toEqual([]);
    expect(existsSync(path.join(cache, 'blobs/sha256', v2))).toBe(true);
    expect(readdirSync(path.join(cache, 'tmp'))).toEqual([run]);

    expect(await finish(build), build.child.output()).toBe(0);
    expect(build.child.output()).not.toContain('error');
    expect(manifest(a).base!.sha256).toBe(v2);
    expectConsistent(a, cache);
  });

  it('held after mksquashfs wrote its output: the temp file stays and is stored; one removed by anything else fails naming the layer and the phase', async () => {
    const cache = path.join(newDir('gc-live-cache'), 'cache');
    // mksquashfs packs, then waits before returning while packing app: its output is complete and not yet stored.
    const mksquashfs = {
      text: [
        '#!/bin/sh',
        'for a in "$@"; do [ "$a" = -version ] && exec /usr/bin/mksquashfs "$@"; done',
        '/usr/bin/mksquashfs "$@" || exit $?',
        'case "$(basename "$2")" in app.*) ;; *) exit 0 ;; esac',
        'echo "$2" > "$PACKED"',
        WAIT,
      ].join('\n'),
      mode: 0o755,
    };
    const a = await builder(cache, 'parent: base\nsteps:\n  - run: echo app > /app\n', { 'bin/mksquashfs': mksquashfs });
    const packed = path.join(a, 'packed');
    const env = { PATH: `${path.join(a, 'bin')}:${process.env.PATH ?? ''}`, PACKED: packed };
    const gcProject = await bystander(cache);

    const build = start(a, ['build'], env);
    const tmp = await waitFor('app packed and held', () => existsSync(packed) && readFileSync(packed, 'utf8').trim());
    expect(existsSync(tmp)).toBe(true);
    const report = await gcJson(gcProject, []);
    expect(report).toMatchObject({ removedBlobs: [], removedKeys: [], removedTemps: [] });
    expect(existsSync(tmp)).toBe(true);
    expect(await finish(build), build.child.output()).toBe(0);
    expectConsistent(a, cache);
    const before = manifest(a);

    // Removed from outside all the same: the failure says which layer and what it was doing.
    rmSync(packed);
    rmSync(build.release);
    const again = start(a, ['build', '--force', 'app'], env);
    const tmp2 = await waitFor('app packed and held again', () => existsSync(packed) && readFileSync(packed, 'utf8').trim());
    rmSync(tmp2);
    expect(await finish(again)).toBe(1);
    expect(again.child.output()).toMatch(/^sqsh-layers: error: layer app, storing it in the cache: ENOENT: no such file or directory/m);
    expect(again.child.output()).toContain('  hint: the packed layer vanished before it was stored; something removed it from the cache directory\n');
    expect(manifest(a)).toEqual(before);
    expectConsistent(a, cache);
  });
});
