import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneIdentical } from '../../src/layer/prune.js';
import { readTreeXattrs } from '../../src/layer/xattrs.js';
import { Runner } from '../../src/process/run.js';
import { tempDir, writeFiles } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const runner = new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal: new AbortController().signal });
const T0 = 1_600_000_000; // the lower's times
const T1 = 1_700_000_000; // newer times, as a step would leave them

async function setTimes(root: string, rels: string[], t: number): Promise<void> {
  for (const r of rels) await fs.utimes(path.join(root, r), t, t);
}

/** A lower view and an upper that rewrote the same tree, /etc/changed being really different. */
async function fixture(upperTime: number): Promise<{ upper: string; lower: string }> {
  const dir = tempDir('prune');
  dirs.push(dir);
  const lower = path.join(dir, 'lower');
  const upper = path.join(dir, 'upper');
  const tree = { 'etc/same': 'same\n', 'etc/changed': 'old\n', 'usr/lib/x': 'x\n' };
  await writeFiles(lower, tree);
  await writeFiles(upper, { ...tree, 'etc/changed': 'new\n' });
  const all = ['etc/same', 'etc/changed', 'usr/lib/x', 'usr/lib', 'usr', 'etc', '.'];
  await setTimes(lower, all, T0);
  await setTimes(upper, all, upperTime);
  return { upper, lower };
}

async function listing(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string) => {
    for (const name of (await fs.readdir(path.join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(path.join(root, r));
      out.push(`${r} ${Math.floor(st.mtimeMs / 1000)}`);
      if (st.isDirectory()) await visit(r);
    }
  };
  await visit('');
  return out;
}

async function prune(f: { upper: string; lower: string }, sourceDateEpoch?: number) {
  return pruneIdentical({
    upper: f.upper,
    lowerView: f.lower,
    upperXattrs: await readTreeXattrs(runner, f.upper),
    sourceDateEpoch,
    runner,
    signal: new AbortController().signal,
  });
}

describe('pruneIdentical', () => {
  it('drops identical entries and empty unchanged directories; directories that stay keep their times', async () => {
    const f = await fixture(T0);
    const stats = await prune(f);
    expect(stats).toEqual({ files: 2, dirs: 2, bytes: 7 });
    // /etc stays (it holds the real change) with the time the steps gave it, not the time of the pruning.
    expect(await listing(f.upper)).toEqual([`etc ${T0}`, `etc/changed ${T0}`]);
    expect(Math.floor((await fs.stat(f.upper)).mtimeMs / 1000)).toBe(T0);
  });

  it('keeps entries whose mtime differs (to the second)', async () => {
    const f = await fixture(T1);
    expect(await prune(f)).toEqual({ files: 0, dirs: 0, bytes: 0 });
    expect((await listing(f.upper)).length).toBe(6);
  });

  it('compares mtimes as packing will clamp them to SOURCE_DATE_EPOCH (the lowers were clamped the same way)', async () => {
    const f = await fixture(T1);
    // The lowers were packed with SOURCE_DATE_EPOCH=T0, so their newer times read as T0.
    expect(await prune(f, T0)).toEqual({ files: 2, dirs: 2, bytes: 7 });
    expect(await listing(f.upper)).toEqual([`etc ${T1}`, `etc/changed ${T1}`]);
  });
});
