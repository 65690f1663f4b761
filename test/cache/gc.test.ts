import { existsSync, promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gc, parseSize } from '../../src/cache/gc.js';
import { tempDir } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const hex = (c: string) => c.repeat(64);
/** No writer runs: every temp file is a leftover. */
const dead = () => Promise.resolve(false);

interface FakeStore {
  dir: string;
  blob: (digest: string) => string;
  key: (name: string) => string;
}

/**
 * A store laid out as the local store writes it: blobs/sha256/HEX (size bytes each) and
 * keys/NAME.json holding {digest}, the key file's mtime being its last use (seconds ago).
 */
async function store(blobs: Record<string, number>, keys: Record<string, { digest: string; usedSecondsAgo: number } | string>): Promise<FakeStore> {
  const dir = tempDir('gc');
  dirs.push(dir);
  await fs.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await fs.mkdir(path.join(dir, 'keys'), { recursive: true });
  for (const [d, size] of Object.entries(blobs)) await fs.writeFile(path.join(dir, 'blobs', 'sha256', d), Buffer.alloc(size));
  const now = Date.now() / 1000;
  for (const [name, k] of Object.entries(keys)) {
    const file = path.join(dir, 'keys', `${name}.json`);
    if (typeof k === 'string') {
      await fs.writeFile(file, k);
      continue;
    }
    await fs.writeFile(file, JSON.stringify({ keyDigest: name, digest: k.digest, size: blobs[k.digest] ?? 0 }));
    await fs.utimes(file, now - k.usedSecondsAgo, now - k.usedSecondsAgo);
  }
  return {
    dir,
    blob: (d) => path.join(dir, 'blobs', 'sha256', d),
    key: (name) => path.join(dir, 'keys', `${name}.json`),
  };
}

async function contents(s: FakeStore): Promise<{ blobs: string[]; keys: string[] }> {
  return {
    blobs: (await fs.readdir(path.join(s.dir, 'blobs', 'sha256'))).sort(),
    keys: (await fs.readdir(path.join(s.dir, 'keys'))).sort(),
  };
}

const A = hex('a');
const B = hex('b');
const C = hex('c');
const O = hex('0');

describe('gc', () => {
  it('removes orphan blobs, key records without a blob and unreadable records; keeps what layers/ uses', async () => {
    const s = await store(
      { [A]: 100, [B]: 200, [C]: 300, [O]: 50 },
      { k1: { digest: A, usedSecondsAgo: 10 }, k2: { digest: hex('d'), usedSecondsAgo: 10 }, bad: '{broken' },
    );
    const report = await gc({ dir: s.dir, keep: new Set([C]), maxSize: undefined, dryRun: false, graceMs: 0, alive: dead });
    expect(report.removedKeys).toEqual(['bad', 'k2']);
    expect(report.removedBlobs).toEqual([
      { digest: O, size: 50 },
      { digest: B, size: 200 },
    ]);
    expect(report.freedBytes).toBe(250);
    expect(report.keptBytes).toBe(400);
    expect(await contents(s)).toEqual({ blobs: [A, C], keys: ['k1.json'] });
  });

  it('removes nothing in a dry run, and reports the same', async () => {
    const layout = { [A]: 100, [B]: 200, [O]: 50 };
    const keys = { k1: { digest: A, usedSecondsAgo: 30 }, k2: { digest: B, usedSecondsAgo: 10 }, gone: { digest: C, usedSecondsAgo: 1 } };
    const dry = await store(layout, keys);
    const before = await contents(dry);
    const dryReport = await gc({ dir: dry.dir, keep: new Set(), maxSize: 250, dryRun: true, graceMs: 0, alive: dead });
    expect(await contents(dry)).toEqual(before);
    const wet = await store(layout, keys);
    const wetReport = await gc({ dir: wet.dir, keep: new Set(), maxSize: 250, dryRun: false, graceMs: 0, alive: dead });
    expect(dryReport).toEqual(wetReport);
    expect(wetReport.removedKeys).toEqual(['gone', 'k1']);
  });

  it('with a size limit, drops the least recently used entries until the store fits', async () => {
    const s = await store(
      { [A]: 100, [B]: 100, [C]: 100 },
      { old: { digest: A, usedSecondsAgo: 300 }, mid: { digest: B, usedSecondsAgo: 200 }, new: { digest: C, usedSecondsAgo: 100 } },
    );
    const report = await gc({ dir: s.dir, keep: new Set(), maxSize: 150, dryRun: false, graceMs: 0, alive: dead });
    expect(report.removedKeys).toEqual(['old', 'mid']);
    expect(report.removedBlobs.map((b) => b.digest)).toEqual([A, B]);
    expect(report.keptBytes).toBe(100);
    expect(await contents(s)).toEqual({ blobs: [C], keys: ['new.json'] });
  });

  it('never drops what layers/ uses, even when it is the oldest', async () => {
    const s = await store(
      { [A]: 100, [B]: 100, [C]: 100 },
      { old: { digest: A, usedSecondsAgo: 300 }, mid: { digest: B, usedSecondsAgo: 200 }, new: { digest: C, usedSecondsAgo: 100 } },
    );
    const report = await gc({ dir: s.dir, keep: new Set([A]), maxSize: 200, dryRun: false, graceMs: 0, alive: dead });
    expect(report.removedKeys).toEqual(['mid']);
    expect(await contents(s)).toEqual({ blobs: [A, C], keys: ['new.json', 'old.json'] });
  });

  it('keeps a blob while another key still references it', async () => {
    const s = await store(
      { [A]: 100, [B]: 100 },
      { old: { digest: A, usedSecondsAgo: 300 }, b: { digest: B, usedSecondsAgo: 200 }, again: { digest: A, usedSecondsAgo: 10 } },
    );
    const report = await gc({ dir: s.dir, keep: new Set(), maxSize: 100, dryRun: false, graceMs: 0, alive: dead });
    // Dropping "old" frees nothing (A is still used by "again"); "b" goes next.
    expect(report.removedKeys).toEqual(['old', 'b']);
    expect(await contents(s)).toEqual({ blobs: [A], keys: ['again.json'] });
  });

  it('stops when what is left is only what layers/ uses', async () => {
    const s = await store({ [A]: 100, [B]: 100 }, { a: { digest: A, usedSecondsAgo: 10 }, b: { digest: B, usedSecondsAgo: 20 } });
    const report = await gc({ dir: s.dir, keep: new Set([A, B]), maxSize: 0, dryRun: false, graceMs: 0, alive: dead });
    expect(report).toEqual({ removedBlobs: [], removedKeys: [], removedTemps: [], keptBytes: 200, freedBytes: 0 });
    expect(existsSync(s.blob(A)) && existsSync(s.key('a'))).toBe(true);
  });

  it('keeps unreferenced blobs and temp files younger than the grace time (a build of another project may be storing them)', async () => {
    const s = await store({ [A]: 100, [O]: 50 }, { a: { digest: A, usedSecondsAgo: 10 } });
    await fs.writeFile(path.join(s.dir, 'keys', `${'b'.repeat(64)}.json.123.ab12cd.tmp`), '{');
    await fs.mkdir(path.join(s.dir, 'tmp'));
    await fs.writeFile(path.join(s.dir, 'tmp', 'server.20261126T000000-1-abcdef.tmp'), 'partial');
    const young = await gc({ dir: s.dir, keep: new Set(), maxSize: undefined, dryRun: false, graceMs: 60_000, alive: dead });
    expect(young).toEqual({ removedBlobs: [], removedKeys: [], removedTemps: [], keptBytes: 150, freedBytes: 0 });
    const old = await gc({ dir: s.dir, keep: new Set(), maxSize: undefined, dryRun: false, graceMs: 0, alive: dead });
    expect(old).toEqual({
      removedBlobs: [{ digest: O, size: 50 }],
      removedKeys: [],
      removedTemps: [`keys/${'b'.repeat(64)}.json.123.ab12cd.tmp`, 'tmp/server.20261126T000000-1-abcdef.tmp'],
      keptBytes: 100,
      freedBytes: 50,
    });
    expect(await contents(s)).toEqual({ blobs: [A], keys: ['a.json'] });
  });

  it("never removes a live writer's files: its run directory, the blobs the run uses, its temp files, whatever their age", async () => {
    const LIVE_RUN = '20261126T000000-4242-abcdef';
    const DEAD_RUN = '20261126T000000-4343-abcdef';
    const s = await store({ [A]: 100, [B]: 200, [O]: 50 }, {});
    for (const [run, uses] of [
      [LIVE_RUN, [A, B]],
      [DEAD_RUN, [O]],
    ] as const) {
      await fs.mkdir(path.join(s.dir, 'tmp', run), { recursive: true });
      await fs.writeFile(path.join(s.dir, 'tmp', run, 'app.tmp'), 'partial');
      await fs.writeFile(path.join(s.dir, 'tmp', run, 'uses'), uses.map((d) => `${d}\n`).join(''));
    }
    await fs.writeFile(path.join(s.dir, 'keys', `${C}.json.4242.ab12cd.tmp`), '{');
    await fs.writeFile(path.join(s.dir, 'stat-cache.json.4242.tmp'), '{');
    await fs.writeFile(path.join(s.dir, 'tools.json.4343.x1y2z3.tmp'), '{');
    const alive = (pid: number) => Promise.resolve(pid === 4242);
    const report = await gc({ dir: s.dir, keep: new Set(), maxSize: 0, dryRun: false, graceMs: 0, alive });
    expect(report).toEqual({
      removedBlobs: [{ digest: O, size: 50 }],
      removedKeys: [],
      removedTemps: ['tools.json.4343.x1y2z3.tmp', `tmp/${DEAD_RUN}`],
      keptBytes: 300,
      freedBytes: 50,
    });
    expect((await fs.readdir(path.join(s.dir, 'tmp'))).sort()).toEqual([LIVE_RUN]);
    expect((await fs.readdir(path.join(s.dir, 'tmp', LIVE_RUN))).sort()).toEqual(['app.tmp', 'uses']);
    expect(existsSync(path.join(s.dir, 'keys', `${C}.json.4242.ab12cd.tmp`)) && existsSync(path.join(s.dir, 'stat-cache.json.4242.tmp'))).toBe(true);
    expect(await contents(s)).toEqual({ blobs: [A, B], keys: [`${C}.json.4242.ab12cd.tmp`] });
  });

  it('does nothing on an empty or missing store', async () => {
    const dir = tempDir('gc');
    dirs.push(dir);
    const empty = { removedBlobs: [], removedKeys: [], removedTemps: [], keptBytes: 0, freedBytes: 0 };
    expect(await gc({ dir, keep: new Set(), maxSize: 0, dryRun: false, graceMs: 0, alive: dead })).toEqual(empty);
    expect(await gc({ dir: path.join(dir, 'missing'), keep: new Set([A]), maxSize: undefined, dryRun: false, graceMs: 0, alive: dead })).toEqual(empty);
  });

  it('ignores what is not a blob file in blobs/ and not a .json record in keys/', async () => {
    const s = await store({ [A]: 100 }, { a: { digest: A, usedSecondsAgo: 10 } });
    await fs.mkdir(path.join(s.dir, 'blobs', 'sha256', 'subdir'));
    await fs.writeFile(path.join(s.dir, 'keys', 'notes.txt'), 'x');
    const report = await gc({ dir: s.dir, keep: new Set(), maxSize: undefined, dryRun: false, graceMs: 0, alive: dead });
    expect(report).toEqual({ removedBlobs: [], removedKeys: [], removedTemps: [], keptBytes: 100, freedBytes: 0 });
    expect(await contents(s)).toEqual({ blobs: [A, 'subdir'], keys: ['a.json', 'notes.txt'] });
  });
});

describe('parseSize', () => {
  it.each([
    ['1024', 1024],
    ['0', 0],
    ['10K', 10240],
    ['500M', 500 * 1024 ** 2],
    ['500MB', 500 * 1024 ** 2],
    ['500MiB', 500 * 1024 ** 2],
    ['20g', 20 * 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['2T', 2 * 1024 ** 4],
    [' 3 G ', 3 * 1024 ** 3],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'G', 'lots', '-1G', '10X', '1,5G'])('refuses %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});
