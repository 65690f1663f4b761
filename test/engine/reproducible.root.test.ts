// Deterministic by default (PRODUCT.md section 7): with no source-date-epoch anywhere, a layer
// made only from its inputs (restore, untar, copy, remove) rebuilds to the same bytes, so a
// forced rebuild keeps its children cached (early cutoff); a layer with run or host steps is
// named, once, as not reproducible without a source-date-epoch.

import { execFileSync } from 'node:child_process';
import { promises as fs, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, writeFiles, type CliResult } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { leftoverCheckedDirs, sha256 } from '../support/leftovers.js';
import { ustar } from '../support/tar.js';

const newDir = leftoverCheckedDirs();

/** The CLI with no SOURCE_DATE_EPOCH, whatever the test process's environment holds. */
function cli(dir: string, args: string[]): Promise<CliResult> {
  return execCli(args, { cwd: dir, env: { ...stateEnv(dir), SOURCE_DATE_EPOCH: undefined } });
}

async function build(dir: string, args: string[] = []): Promise<CliResult> {
  const r = await cli(dir, ['build', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

function outcomes(r: CliResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of r.stderr.matchAll(/^\[([a-z0-9._-]+)\] (cached|built)\b/gm)) out[m[1]!] = m[2]!;
  return out;
}

function digests(dir: string): Record<string, string> {
  const m = JSON.parse(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, { sha256: string }> };
  return Object.fromEntries(Object.entries(m.layers).map(([n, l]) => [n, l.sha256]));
}

/** The squashfs superblock's creation time (seconds). */
function mkfsTime(sqsh: string): number {
  const out = execFileSync('unsquashfs', ['-UTC', '-s', sqsh], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  const line = /Creation or last append time (.*)/.exec(out)![1]!;
  return Math.floor(Date.parse(`${line.trim()} UTC`) / 1000);
}

/** The newest mtime (whole seconds) of the entries below `p`, `p` included, symlinks themselves. */
function newestTime(p: string): number {
  const st = lstatSync(p);
  const own = Math.floor(st.mtimeMs / 1000);
  if (!st.isDirectory()) return own;
  return Math.max(own, ...readdirSync(p).map((n) => newestTime(path.join(p, n))));
}

/**
 * base: a busybox tree copied in, a tarball untarred over it, a file removed (its directory's
 * time is then the build's clock); mid: a file copied and one removed in a lower directory
 * (copy-ups, clock times again); top: a run step.
 */
async function project(dir: string): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'files/motd': 'hello\n',
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n  - untar: inputs/app.tar\n    to: /opt\n  - remove: [/opt/app/old.txt]\n',
    'recipes/mid.yaml': 'parent: base\nsteps:\n  - copy: files/motd\n    to: /etc/\n  - remove: [/bin/ls]\n',
    'recipes/top.yaml': 'parent: mid\nsteps:\n  - run: echo top > /top\n',
  });
  await fs.mkdir(path.join(dir, 'inputs'));
  writeFileSync(
    path.join(dir, 'inputs/app.tar'),
    ustar([
      { name: 'app/', type: 'dir', mode: 0o755, mtime: 1_650_000_000 },
      { name: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o755, mtime: 1_650_000_100 },
      { name: 'app/old.txt', data: 'old\n', mtime: 1_650_000_200 },
    ]),
  );
}

describe('deterministic by default (no source-date-epoch)', () => {
  it('a forced rebuild of restore/untar/copy/remove layers gives the same bytes and keeps the children cached', async () => {
    const dir = newDir('repro');
    await project(dir);
    const first = await build(dir);
    expect(outcomes(first)).toEqual({ base: 'built', mid: 'built', top: 'built' });
    // Said once, naming only the layer with a run step.
    const warnings = first.stderr.split('\n').filter((l) => l.includes('not reproducible'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('layer top uses run or host steps');
    const before = digests(dir);

    // The clock moves on: every time the build itself makes is later now.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await build(dir, ['--force', 'base']);
    expect(outcomes(again)).toEqual({ base: 'built' });
    expect(digests(dir).base).toBe(before.base);
    expect(sha256(path.join(dir, 'layers/base.sqsh'))).toBe(before.base);
    // Nothing to build that is not reproducible: no warning.
    expect(again.stderr).not.toContain('not reproducible');
    // Early cutoff: the children's keys hold the parent's digest, which did not change.
    expect(outcomes(await build(dir))).toEqual({ base: 'cached', mid: 'cached', top: 'cached' });

    const mid = await build(dir, ['--force', 'mid']);
    expect(outcomes(mid)).toEqual({ base: 'cached', mid: 'built' });
    expect(digests(dir).mid).toBe(before.mid);
    expect(outcomes(await build(dir))).toEqual({ base: 'cached', mid: 'cached', top: 'cached' });
    expect(digests(dir)).toEqual(before);

    // The creation time is the newest input time, not the clock's: the tarball's times are
    // older than the busybox tree's, which was written just before the first build.
    expect(mkfsTime(path.join(dir, 'layers/base.sqsh'))).toBe(newestTime(path.join(dir, 'rootfs')));
    expect(mkfsTime(path.join(dir, 'layers/mid.sqsh'))).toBe(newestTime(path.join(dir, 'files/motd')));
  }, 180_000);

  it('replace: the destination keeps its own times unless the image gives it some', async () => {
    const dir = newDir('repro-replace');
    await busyboxTree(path.join(dir, 'rootfs'));
    const app = { name: 'app/', type: 'dir', mode: 0o755, mtime: 1_650_000_000 } as const;
    const run = { name: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o755, mtime: 1_650_000_100 };
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n  - untar: inputs/full.tar\n    to: /opt\n',
      // No entry for the destination itself: unpacking moved the stage's time to the clock.
      'recipes/sub.yaml': 'parent: base\nsteps:\n  - untar: inputs/bare.tar\n    to: /opt/app\n    replace: true\n',
      'recipes/whole.yaml': 'parent: base\nsteps:\n  - untar: inputs/tree.tar\n    replace: true\n',
      // An entry for `.`: its time is the destination's.
      'recipes/given.yaml': 'parent: base\nsteps:\n  - untar: inputs/dotted.tar\n    to: /opt/app\n    replace: true\n',
    });
    await fs.mkdir(path.join(dir, 'inputs'));
    writeFileSync(path.join(dir, 'inputs/full.tar'), ustar([app, run, { name: 'app/old.txt', data: 'old\n', mtime: 1_650_000_200 }]));
    writeFileSync(path.join(dir, 'inputs/bare.tar'), ustar([{ ...run, name: 'run.sh' }]));
    writeFileSync(path.join(dir, 'inputs/tree.tar'), ustar([{ name: 'opt/', type: 'dir', mode: 0o755, mtime: 1_640_000_000 }, app, { ...run, name: 'opt/app/run.sh' }]));
    writeFileSync(path.join(dir, 'inputs/dotted.tar'), ustar([{ name: './', type: 'dir', mode: 0o755, mtime: 1_660_000_000 }, { ...run, name: './run.sh' }]));
    await build(dir);
    /** mtimes (seconds) of these in-layer paths, as the layer's squashfs holds them. */
    const times = (layer: string, paths: string[]) => {
      const out = path.join(dir, 'extracted', layer);
      mkdirSync(path.dirname(out), { recursive: true });
      execFileSync('unsquashfs', ['-q', '-n', '-no-xattrs', '-d', out, path.join(dir, 'layers', `${layer}.sqsh`)], { stdio: 'ignore' });
      return paths.map((p) => Math.floor(lstatSync(path.join(out, p)).mtimeMs / 1000));
    };
    const [baseRoot, baseApp] = times('base', ['.', 'opt/app']);
    expect(baseApp).toBe(1_650_000_000);
    // The destination, a directory in the tree or the root itself, keeps the time the lowers show.
    expect(times('sub', ['opt/app'])).toEqual([baseApp]);
    expect(times('whole', ['.'])).toEqual([baseRoot]);
    expect(times('given', ['opt/app'])).toEqual([1_660_000_000]);
  }, 180_000);

  it('plan names the layers that need a source-date-epoch, once; with one set it says nothing', async () => {
    const dir = newDir('repro-plan');
    await project(dir);
    const plan = await cli(dir, ['plan']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr.split('\n').filter((l) => l.includes('not reproducible'))).toEqual([
      'warning: layer top uses run or host steps: without a source-date-epoch it is not reproducible (new bytes on every rebuild, so every child rebuilds too); set source-date-epoch in sqsh-layers.yaml or SOURCE_DATE_EPOCH',
    ]);
    writeFileSync(path.join(dir, 'sqsh-layers.yaml'), 'source-date-epoch: 1700000000\n');
    const pinned = await cli(dir, ['plan']);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stderr).not.toContain('not reproducible');
  }, 60_000);
});
