// The cache with the real CLI on small busybox stacks (PRODUCT.md section 3): what is
// rebuilt and why, early cutoff, reproducible bytes, corrupt blobs, parallel branches, gc
// and a cache shared between projects. `host` steps count their runs in a host file.

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  promises as fs,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, writeFiles, type CliResult } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { cacheProblems, leftoverCheckedDirs, sha256, tempFilesIn } from '../support/leftovers.js';

const EPOCH = '1700000000';

const newDir = leftoverCheckedDirs();

const COUNT_HOOK = { text: '#!/bin/sh\necho "$SQSH_LAYER" >> "$SQSH_PROJECT/counts.log"\n', mode: 0o755 };

/**
 * base (busybox) ← mid ← top, and side on base too. Every layer runs hooks/count.sh, so
 * counts() tells which layers were really built.
 */
async function stackProject(dir: string): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'hooks/count.sh': COUNT_HOOK,
    'files/mid.txt': 'mid v1\n',
    'recipes/base.yaml': 'description: busybox\nsteps:\n  - copy: rootfs/\n  - host: hooks/count.sh\n',
    'recipes/mid.yaml': 'parent: base\nsteps:\n  - copy: files/mid.txt\n    to: /etc/\n  - host: hooks/count.sh\n',
    'recipes/top.yaml': 'parent: mid\nsteps:\n  - host: hooks/count.sh\n  - run: echo top > /top\n',
    'recipes/side.yaml': 'parent: base\nsteps:\n  - host: hooks/count.sh\n  - run: echo side > /side\n',
  });
}

function cli(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return execCli(args, { cwd: dir, env: { ...stateEnv(dir), SOURCE_DATE_EPOCH: EPOCH, ...env } });
}

async function build(dir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const r = await cli(dir, ['build', ...args], env);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

function counts(dir: string): Record<string, number> {
  const file = path.join(dir, 'counts.log');
  const out: Record<string, number> = {};
  if (!existsSync(file)) return out;
  for (const l of readFileSync(file, 'utf8').split('\n').filter(Boolean)) out[l] = (out[l] ?? 0) + 1;
  return out;
}

interface ManifestLayer {
  sha256: string;
  size: number;
}

function manifest(dir: string): Record<string, ManifestLayer> {
  return (JSON.parse(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, ManifestLayer> }).layers;
}

function digests(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(manifest(dir)).map(([n, l]) => [n, l.sha256]));
}

/** What `[layer] cached` / `[layer] built` lines say, by layer. */
function outcomes(r: CliResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of r.stderr.matchAll(/^\[([a-z0-9._-]+)\] (cached|built)\b/gm)) out[m[1]!] = m[2]!;
  return out;
}

/** layers/ and the cache agree: each layer file is its manifest digest, each blob its name. */
function expectConsistent(dir: string, cacheDir = path.join(dir, '.sqsh-cache')): void {
  for (const [name, l] of Object.entries(manifest(dir))) expect(sha256(path.join(dir, 'layers', `${name}.sqsh`)), name).toBe(l.sha256);
  expect(cacheProblems(cacheDir)).toEqual([]);
  expect(tempFilesIn(path.join(dir, 'layers'))).toEqual([]);
}

interface PlanJson {
  order: string[];
  layers: { name: string; state: 'cached' | 'stale'; sha256?: string; reasons?: (Record<string, unknown> & { text: string })[] }[];
}

async function planJson(dir: string): Promise<PlanJson> {
  const r = await cli(dir, ['plan', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

describe('cache', () => {
  it('a no-op rebuild runs no step and says every layer is cached', async () => {
    const dir = newDir('noop');
    await stackProject(dir);
    const first = await build(dir);
    expect(outcomes(first)).toEqual({ base: 'built', mid: 'built', top: 'built', side: 'built' });
    expect(counts(dir)).toEqual({ base: 1, mid: 1, top: 1, side: 1 });
    const inodes = readdirSync(path.join(dir, 'layers')).map((n) => statSync(path.join(dir, 'layers', n)).ino);

    const again = await build(dir);
    expect(outcomes(again)).toEqual({ base: 'cached', mid: 'cached', top: 'cached', side: 'cached' });
    expect(again.stdout).toContain('4 layer(s) ready in layers/ (0 built, 4 cached');
    expect(counts(dir)).toEqual({ base: 1, mid: 1, top: 1, side: 1 });
    expect(readdirSync(path.join(dir, 'layers')).map((n) => statSync(path.join(dir, 'layers', n)).ino)).toEqual(inodes);
    expect((await cli(dir, ['plan'])).stdout).toContain('4 layers in build order, all cached');
    expectConsistent(dir);
  });

  it('early cutoff: a parent rebuilt to identical bytes keeps its children cached', async () => {
    const dir = newDir('cutoff');
    await stackProject(dir);
    await build(dir);
    const before = digests(dir);

    // The description is not part of the key: nothing to rebuild at all.
    await writeFiles(dir, { 'recipes/base.yaml': 'description: busybox, renamed\nsteps:\n  - copy: rootfs/\n  - host: hooks/count.sh\n' });
    expect((await planJson(dir)).layers.every((l) => l.state === 'cached')).toBe(true);

    // Removing what does not exist changes the key but not the bytes.
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n  - host: hooks/count.sh\n  - remove: [/nonexistent-*]\n',
    });
    const plan = await planJson(dir);
    expect(plan.layers.find((l) => l.name === 'base')!.state).toBe('stale');
    expect(plan.layers.find((l) => l.name === 'mid')!.reasons!.map((r) => r.text)).toEqual(['parent base will be rebuilt']);

    const r = await build(dir);
    expect(outcomes(r)).toEqual({ base: 'built', mid: 'cached', top: 'cached', side: 'cached' });
    expect(digests(dir)).toEqual(before);
    expect(counts(dir)).toEqual({ base: 2, mid: 1, top: 1, side: 1 });
    expectConsistent(dir);
  });

  it('--force on the parent with SOURCE_DATE_EPOCH rebuilds it to the same bytes; children stay cached', async () => {
    const dir = newDir('force');
    await stackProject(dir);
    await build(dir);
    const before = digests(dir);

    const forced = await build(dir, ['--force', 'base']);
    expect(outcomes(forced)).toEqual({ base: 'built' });
    expect(forced.stderr).toContain('[base] building: --force');
    expect(digests(dir)).toEqual(before);

    const all = await build(dir, ['--frozen']);
    expect(outcomes(all)).toEqual({ base: 'cached', mid: 'cached', top: 'cached', side: 'cached' });
    expect(counts(dir)).toEqual({ base: 2, mid: 1, top: 1, side: 1 });
    expectConsistent(dir);
  });

  it('an input change rebuilds exactly the layers at and above it, and plan says why', async () => {
    const dir = newDir('input');
    await stackProject(dir);
    await build(dir);
    const before = digests(dir);

    await writeFiles(dir, { 'files/mid.txt': 'mid v2\n' });
    const text = (await cli(dir, ['plan'])).stdout;
    expect(text).toMatch(/^4 layers in build order, 2 to build:$/m);
    expect(text).toMatch(/^ {2}base +cached +sha256:[0-9a-f]{12}/m);
    expect(text).toMatch(/^ {2}mid +build +input files\/mid\.txt changed \(content\)$/m);
    expect(text).toMatch(/^ {2}top +build +parent mid will be rebuilt$/m);
    expect(text).toMatch(/^ {2}side +cached/m);
    const plan = await planJson(dir);
    expect([...plan.order].sort()).toEqual(['base', 'mid', 'side', 'top']);
    expect(plan.order.indexOf('mid')).toBeLessThan(plan.order.indexOf('top'));
    expect(plan.layers.find((l) => l.name === 'mid')!.reasons).toEqual([
      { reason: 'input', path: 'files/mid.txt', what: 'content', text: 'input files/mid.txt changed (content)' },
    ]);
    expect(plan.layers.find((l) => l.name === 'top')!.reasons).toEqual([{ reason: 'parent', name: 'mid', what: 'stale', text: 'parent mid will be rebuilt' }]);

    const r = await build(dir);
    expect(outcomes(r)).toEqual({ base: 'cached', mid: 'built', top: 'built', side: 'cached' });
    expect(counts(dir)).toEqual({ base: 1, mid: 2, top: 2, side: 1 });
    const after = digests(dir);
    expect(after.base).toBe(before.base);
    expect(after.side).toBe(before.side);
    expect(after.mid).not.toBe(before.mid);
    expectConsistent(dir);
  });

  it('plan names a changed recipe field; build --frozen fails with the explanation, then passes once built', async () => {
    const dir = newDir('frozen');
    await stackProject(dir);
    await build(dir);
    const before = digests(dir);

    await writeFiles(dir, { 'recipes/top.yaml': 'parent: mid\nsteps:\n  - host: hooks/count.sh\n  - run: echo top v2 > /top\n' });
    expect((await cli(dir, ['plan'])).stdout).toMatch(/^ {2}top +build +recipe field steps\[1\]\.run changed$/m);
    const plan = await planJson(dir);
    expect(plan.layers.filter((l) => l.state === 'stale').map((l) => l.name)).toEqual(['top']);
    expect(plan.layers.find((l) => l.name === 'top')!.reasons).toEqual([
      { reason: 'recipe', field: 'steps[1].run', text: 'recipe field steps[1].run changed' },
    ]);

    const frozen = await cli(dir, ['build', '--frozen']);
    expect(frozen.code).toBe(1);
    expect(frozen.stderr).toContain('--frozen: 1 layer(s) would be rebuilt:\n  top: recipe field steps[1].run changed');
    expect(counts(dir)).toEqual({ base: 1, mid: 1, top: 1, side: 1 });
    expect(digests(dir)).toEqual(before);

    await build(dir);
    const ok = await cli(dir, ['build', '--frozen']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(counts(dir)).toEqual({ base: 1, mid: 1, top: 2, side: 1 });
    expectConsistent(dir);
  });

  it("an input's mtime is not in the key; its mode and a tree's content are", async () => {
    const dir = newDir('key-inputs');
    await stackProject(dir);
    await build(dir);
    const stale = async () => Object.fromEntries((await planJson(dir)).layers.filter((l) => l.state === 'stale').map((l) => [l.name, l.reasons!.map((r) => r.text)]));

    await fs.utimes(path.join(dir, 'files/mid.txt'), new Date(), new Date(Date.now() + 3600_000));
    expect(await stale()).toEqual({});
    await fs.chmod(path.join(dir, 'files/mid.txt'), 0o600);
    expect(await stale()).toEqual({ mid: ['input files/mid.txt changed (mode)'], top: ['parent mid will be rebuilt'] });
    await fs.chmod(path.join(dir, 'files/mid.txt'), 0o644);
    await writeFiles(dir, { 'rootfs/etc/motd': 'hello\n' });
    expect(await stale()).toEqual({
      base: ['input rootfs/ changed (content)'],
      mid: ['parent base will be rebuilt'],
      side: ['parent base will be rebuilt'],
      top: ['parent mid will be rebuilt'],
    });
  });

  it('a key record that does not parse, or a blob that is gone, is a miss: rebuilt, to the same bytes', async () => {
    const dir = newDir('miss');
    await stackProject(dir);
    await build(dir);
    const before = digests(dir);
    const keyOf = (name: string) => (JSON.parse(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, { keyDigest: string }> }).layers[name]!.keyDigest;

    writeFileSync(path.join(dir, '.sqsh-cache/keys', `${keyOf('side')}.json`), '{"trunc');
    await fs.rm(path.join(dir, '.sqsh-cache/blobs/sha256', before.top!));
    const plan = await planJson(dir);
    const stale = Object.fromEntries(plan.layers.filter((l) => l.state === 'stale').map((l) => [l.name, l.reasons!.map((r) => r.text)]));
    expect(stale).toEqual({ side: ['built before, but its cache entry is gone'], top: ['built before, but its cache entry is gone'] });

    const r = await build(dir);
    expect(outcomes(r)).toEqual({ base: 'cached', mid: 'cached', top: 'built', side: 'built' });
    expect(digests(dir)).toEqual(before);
    expectConsistent(dir);
  });

  it('two project directories built at different times with the same SOURCE_DATE_EPOCH give identical bytes', async () => {
    const a = newDir('repro-a');
    await stackProject(a);
    await build(a);
    await new Promise((r) => setTimeout(r, 1100));
    const b = newDir('repro-b');
    await stackProject(b);
    await build(b);
    for (const name of ['base', 'mid', 'top', 'side']) {
      // cmp exits non-zero (and execFileSync throws) when the files differ.
      execFileSync('cmp', [path.join(a, 'layers', `${name}.sqsh`), path.join(b, 'layers', `${name}.sqsh`)]);
    }
    expect(digests(b)).toEqual(digests(a));
  });

  it('a corrupt cache blob is detected, evicted and rebuilt with a warning', async () => {
    const dir = newDir('corrupt');
    await stackProject(dir);
    await build(dir);
    const before = digests(dir);

    const size = (name: string) => manifest(dir)[name]!.size;
    appendFileSync(path.join(dir, '.sqsh-cache/blobs/sha256', before.base!), 'x');
    const r = await build(dir);
    expect(r.stderr).toContain(
      `warning: layer base: cache blob ${before.base!.slice(0, 12)} changed on disk (${size('base') + 1} bytes, stored as ${size('base')}); evicted, layer base will be rebuilt`,
    );
    expect(outcomes(r)).toEqual({ base: 'built', mid: 'cached', top: 'cached', side: 'cached' });
    expect(digests(dir)).toEqual(before);
    expectConsistent(dir);

    // layers/NAME.sqsh is a hardlink of the blob: writing to it corrupts the cache entry too.
    appendFileSync(path.join(dir, 'layers/top.sqsh'), 'x');
    // --frozen builds nothing, and says why before anything runs.
    const frozen = await cli(dir, ['build', '--frozen']);
    expect(frozen.code).toBe(1);
    expect(frozen.stderr).toContain(
      `--frozen: 1 layer(s) would be rebuilt:\n  top: cached blob changed on disk (${size('top') + 1} bytes, stored as ${size('top')})`,
    );
    expect(counts(dir)).toEqual({ base: 2, mid: 1, top: 1, side: 1 });
    const r2 = await build(dir);
    expect(outcomes(r2)).toEqual({ base: 'cached', mid: 'cached', top: 'built', side: 'cached' });
    expect(digests(dir)).toEqual(before);
    expect(counts(dir)).toEqual({ base: 2, mid: 1, top: 2, side: 1 });
    expectConsistent(dir);
  });

  it('a blob changed on disk with its mtime put back, or grown, is stale in plan and --dry-run, then evicted with a warning and rebuilt; children build on the good layer', async () => {
    const dir = newDir('changed-blob');
    await stackProject(dir);
    // top reads all of busybox from base's blob: on a corrupt lower it could not.
    await writeFiles(dir, { 'recipes/top.yaml': 'parent: mid\nsteps:\n  - host: hooks/count.sh\n  - run: /bin/busybox sha256sum /bin/busybox > /busybox.sum\n' });
    await build(dir, ['mid', 'side']);
    const before = digests(dir);
    const blob = (name: string) => path.join(dir, '.sqsh-cache/blobs/sha256', before[name]!);
    const stale = async () => Object.fromEntries((await planJson(dir)).layers.filter((l) => l.state === 'stale').map((l) => [l.name, l.reasons!.map((r) => r.text)]));
    expect(await stale()).toEqual({ top: ['never built'] });

    // 8 bytes in the middle of base's blob (busybox's data), its mtime put back with touch -r.
    const ref = path.join(dir, 'mtime-ref');
    writeFileSync(ref, '');
    execFileSync('touch', ['-r', blob('base'), ref]);
    const fd = openSync(blob('base'), 'r+');
    writeSync(fd, Buffer.from('CORRUPT!'), 0, 8, Math.floor(manifest(dir).base!.size / 2));
    closeSync(fd);
    execFileSync('touch', ['-r', ref, blob('base')]);
    expect(statSync(blob('base')).mtimeMs).toBe(statSync(ref).mtimeMs);
    expect(statSync(blob('base')).size).toBe(manifest(dir).base!.size);
    const corrupt = sha256(blob('base')).slice(0, 12);
    const changed = `cached blob changed on disk (sha256 ${corrupt}, stored as ${before.base!.slice(0, 12)})`;

    expect(await stale()).toEqual({ base: [changed], mid: ['parent base will be rebuilt'], side: ['parent base will be rebuilt'], top: ['parent mid will be rebuilt'] });
    expect((await cli(dir, ['plan'])).stdout).toMatch(new RegExp(`^ {2}base +build +${changed.replace(/[()]/g, '\\$&')}$`, 'm'));
    const dry = await cli(dir, ['build', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`base: would build: ${changed}\n`);
    // Neither evicts anything: the build does.
    expect(existsSync(blob('base'))).toBe(true);

    const r = await build(dir);
    expect(r.stderr).toContain(
      `warning: layer base: cache blob ${before.base!.slice(0, 12)} changed on disk (sha256 ${corrupt}, stored as ${before.base!.slice(0, 12)}); evicted, layer base will be rebuilt\n`,
    );
    expect(outcomes(r)).toEqual({ base: 'built', mid: 'cached', side: 'cached', top: 'built' });
    expect(digests(dir)).toEqual({ ...before, top: digests(dir).top });
    expect(counts(dir)).toEqual({ base: 2, mid: 1, side: 1, top: 1 });
    const sum = execFileSync('unsquashfs', ['-cat', path.join(dir, 'layers/top.sqsh'), 'busybox.sum'], { encoding: 'utf8' });
    expect(sum.split(' ')[0]).toBe(sha256(path.join(dir, 'rootfs/bin/busybox')));
    expectConsistent(dir);

    // Another size: stale without reading it; the build rebuilds it the same way.
    appendFileSync(blob('mid'), 'more');
    const grown = `cached blob changed on disk (${manifest(dir).mid!.size + 4} bytes, stored as ${manifest(dir).mid!.size})`;
    expect(await stale()).toEqual({ mid: [grown], top: ['parent mid will be rebuilt'] });
    const again = await build(dir);
    expect(again.stderr).toContain(`warning: layer mid: cache blob ${before.mid!.slice(0, 12)} changed on disk (`);
    expect(outcomes(again)).toEqual({ base: 'cached', mid: 'built', side: 'cached', top: 'cached' });
    expect(digests(dir).mid).toBe(before.mid);
    expectConsistent(dir);
    expect(await stale()).toEqual({});
  });

  it('a rebuild that produces the bytes of a corrupt blob replaces the blob instead of trusting it', async () => {
    const dir = newDir('corrupt-force');
    await stackProject(dir);
    await build(dir);
    const before = digests(dir);

    appendFileSync(path.join(dir, '.sqsh-cache/blobs/sha256', before.base!), 'x');
    // --force does not look the entry up: the rebuilt bytes meet the corrupt blob in put.
    const r = await build(dir, ['--force', 'base']);
    expect(outcomes(r)).toEqual({ base: 'built' });
    expect(r.stderr).toContain(`warning: cache blob ${before.base!.slice(0, 12)} (layer base) was corrupt; replaced by the rebuilt one`);
    expect(digests(dir)).toEqual(before);
    expectConsistent(dir);
    expect(outcomes(await build(dir, ['--frozen']))).toEqual({ base: 'cached', mid: 'cached', top: 'cached', side: 'cached' });
  });

  it('independent branches build at the same time with --jobs 2, one after the other with --jobs 1', async () => {
    const dir = newDir('parallel');
    const timed = '#!/bin/sh\nlog="$SQSH_PROJECT/times-$SQSH_LAYER"\ndate +%s.%N >> "$log"\nsleep 1.5\necho "$SQSH_LAYER" > "$SQSH_ROOT/$SQSH_LAYER"\ndate +%s.%N >> "$log"\n';
    await writeFiles(dir, {
      'hooks/timed.sh': { text: timed, mode: 0o755 },
      'recipes/left.yaml': 'steps:\n  - host: hooks/timed.sh\n',
      'recipes/right.yaml': 'steps:\n  - host: hooks/timed.sh\n',
    });
    const interval = (layer: string): [number, number] => {
      const [start, end] = readFileSync(path.join(dir, `times-${layer}`), 'utf8').trim().split('\n').slice(-2).map(Number);
      return [start!, end!];
    };
    const overlap = () => {
      const [l0, l1] = interval('left');
      const [r0, r1] = interval('right');
      return l0 < r1 && r0 < l1;
    };

    expect(outcomes(await build(dir, ['--jobs', '2']))).toEqual({ left: 'built', right: 'built' });
    expect(overlap()).toBe(true);
    expect(outcomes(await build(dir, ['--jobs', '1', '--force']))).toEqual({ left: 'built', right: 'built' });
    expect(overlap()).toBe(false);
  });

  it('gc removes orphan blobs and keeps referenced ones, including those of earlier versions', async () => {
    const dir = newDir('gc');
    await stackProject(dir);
    await build(dir);
    const v1 = digests(dir);
    await writeFiles(dir, { 'files/mid.txt': 'mid v2\n' });
    await build(dir);
    const v2 = digests(dir);

    const blobs = path.join(dir, '.sqsh-cache/blobs/sha256');
    const orphan = randomBytes(4096);
    const orphanDigest = createHash('sha256').update(orphan).digest('hex');
    writeFileSync(path.join(blobs, orphanDigest), orphan);

    // Young unreferenced blobs stay by default (a build sharing the cache may be storing them).
    const young = await cli(dir, ['gc', '--json']);
    expect(young.code, young.stderr).toBe(0);
    expect((JSON.parse(young.stdout) as { removedBlobs: unknown[] }).removedBlobs).toEqual([]);
    const r = await cli(dir, ['gc', '--json', '--min-age', '0']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { removedBlobs: { digest: string }[]; removedKeys: string[] };
    expect(report.removedBlobs.map((b) => b.digest)).toEqual([orphanDigest]);
    expect(report.removedKeys).toEqual([]);
    expect(readdirSync(blobs).sort()).toEqual([...new Set([...Object.values(v1), ...Object.values(v2)])].sort());
    expectConsistent(dir);

    // The blobs of the earlier version still serve it.
    await writeFiles(dir, { 'files/mid.txt': 'mid v1\n' });
    const back = await build(dir);
    expect(outcomes(back)).toEqual({ base: 'cached', mid: 'cached', top: 'cached', side: 'cached' });
    expect(digests(dir)).toEqual(v1);
  });

  it('with the cache on another filesystem, layers/ holds copies that a no-op build leaves alone and a damaged one is replaced', async () => {
    const dir = newDir('cachefs');
    await stackProject(dir);
    const cachefs = path.join(dir, 'cachefs');
    mkdirSync(cachefs);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64M', 'sqsh-layers-test', cachefs]);
    try {
      const cache = path.join(cachefs, 'cache');
      await build(dir, ['--cache', cache]);
      const layer = (name: string) => path.join(dir, 'layers', `${name}.sqsh`);
      expect(statSync(layer('base')).dev).not.toBe(statSync(path.join(cache, 'blobs/sha256', digests(dir).base!)).dev);
      const inodes = () => ['base', 'mid', 'top', 'side'].map((n) => statSync(layer(n)).ino);
      const before = inodes();

      expect(outcomes(await build(dir, ['--cache', cache]))).toEqual({ base: 'cached', mid: 'cached', top: 'cached', side: 'cached' });
      expect(inodes()).toEqual(before);

      appendFileSync(layer('mid'), 'x');
      const r = await build(dir, ['--cache', cache]);
      expect(outcomes(r)).toEqual({ base: 'cached', mid: 'cached', top: 'cached', side: 'cached' });
      expect(r.stderr).not.toContain('warning');
      expectConsistent(dir, cache);
    } finally {
      execFileSync('umount', [cachefs]);
    }
  });

  it('--cache DIR shares one cache between projects: the second project gets cache hits', async () => {
    const shared = newDir('shared-cache');
    const a = newDir('share-a');
    const b = newDir('share-b');
    await stackProject(a);
    await stackProject(b);
    const cache = path.join(shared, 'cache');
    await build(a, ['--cache', cache]);
    const r = await build(b, ['--cache', cache]);
    expect(outcomes(r)).toEqual({ base: 'cached', mid: 'cached', top: 'cached', side: 'cached' });
    expect(counts(b)).toEqual({});
    expect(digests(b)).toEqual(digests(a));
    expect(existsSync(path.join(b, '.sqsh-cache/blobs'))).toBe(false);
    for (const name of ['base', 'top']) {
      expect(statSync(path.join(b, 'layers', `${name}.sqsh`)).ino).toBe(statSync(path.join(cache, 'blobs/sha256', digests(a)[name]!)).ino);
    }
    expectConsistent(b, cache);
  });
});
