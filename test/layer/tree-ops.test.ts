// The tree helper's walks of times: the content's times (finalize.ts, a layer without
// source-date-epoch), and settling them (layer-build.ts: a parent's upper, before a child
// builds on it) to what a pack would record, whole seconds clamped to the epoch, in
// squashfs's unsigned 32 bits; atimes and symlink targets untouched. (Its pruning:
// prune.test.ts.)

import { execFileSync } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contentTimes, settleTree } from '../../src/layer/tree-ops.js';
import { bytesOf, nameOf } from '../../src/layer/byte-path.js';
import { tempDir, writeFiles } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = 1_600_000_000;
const EPOCH = 1_700_000_000;

async function times(p: string): Promise<{ atimeNs: bigint; mtimeNs: bigint }> {
  const st = await fs.lstat(p, { bigint: true });
  return { atimeNs: st.atimeNs, mtimeNs: st.mtimeNs };
}

describe('settleTree', () => {
  it('gives every entry the mtime its pack records, a symlink itself, and keeps atimes', async () => {
    const dir = tempDir('settle');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    await writeFiles(root, { 'd/half': 'x', 'd/newer': 'y', 'd/whole': 'z', 'd/old': 'o', target: 't' });
    await fs.symlink('../target', path.join(root, 'd/link'));
    await fs.utimes(path.join(root, 'd/half'), T0 + 7, T0 + 0.5);
    await fs.utimes(path.join(root, 'd/newer'), T0, EPOCH + 100.25);
    await fs.utimes(path.join(root, 'd/whole'), T0, T0);
    // Before 1970 (node sets no such time): squashfs's unsigned seconds show it in 2106.
    execFileSync('touch', ['-m', '-d', '@-1', path.join(root, 'd/old')]);
    await fs.lutimes(path.join(root, 'd/link'), T0, T0 + 0.75);
    await fs.utimes(path.join(root, 'target'), T0, T0 + 0.25);
    await fs.utimes(path.join(root, 'd'), T0, T0 + 0.125);
    await fs.utimes(root, T0, EPOCH + 0.5);
    const before = await times(path.join(root, 'd/half'));

    expect(await settleTree(root, EPOCH, new AbortController().signal)).toBe(8);

    const sec = async (rel: string) => (await times(path.join(root, rel))).mtimeNs;
    const ns = (s: number) => BigInt(s) * 1_000_000_000n;
    expect(await sec('d/half')).toBe(ns(T0));
    expect(await sec('d/newer')).toBe(ns(EPOCH));
    expect(await sec('d/whole')).toBe(ns(T0));
    expect(await sec('d/old')).toBe(ns(2 ** 32 - 1));
    expect(await sec('d/link')).toBe(ns(T0));
    expect(await sec('target')).toBe(ns(T0));
    expect(await sec('d')).toBe(ns(T0));
    expect(await sec('.')).toBe(ns(EPOCH));
    expect((await times(path.join(root, 'd/half'))).atimeNs).toBe(before.atimeNs);
  });

  it('without an epoch, only drops the fractions of seconds', async () => {
    const dir = tempDir('settle-none');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    await writeFiles(root, { f: 'x' });
    await fs.utimes(path.join(root, 'f'), T0, EPOCH + 100.25);
    expect(await settleTree(root, undefined, new AbortController().signal)).toBe(2);
    expect((await times(path.join(root, 'f'))).mtimeNs).toBe(BigInt(EPOCH + 100) * 1_000_000_000n);
  });

  it('fails naming the path when there is no tree', async () => {
    const dir = tempDir('settle-missing');
    dirs.push(dir);
    await expect(settleTree(path.join(dir, 'none'), EPOCH, new AbortController().signal)).rejects.toThrow(`lstat ${path.join(dir, 'none')}: No such file or directory`);
  });
});

describe('contentTimes', () => {
  it('finds the newest time from before the clock time, and lists what is not settled, byte-exact', async () => {
    const dir = tempDir('times');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    const odd = nameOf(Buffer.from('caf\xe9', 'latin1'));
    await writeFiles(root, { 'd/whole': 'w', 'd/half': 'h', 'd/late': 'l', 'd/old': 'o' });
    await fs.writeFile(bytesOf(path.join(root, 'd', odd)), 'x');
    const since = (T0 + 1000) * 1000 + 0.5;
    await fs.utimes(path.join(root, 'd/whole'), T0, T0 + 10);
    await fs.utimes(path.join(root, 'd/half'), T0, T0 + 20.5);
    // Made by the build's clock (after it): not the content's.
    await fs.utimes(path.join(root, 'd/late'), T0, T0 + 1000.001);
    execFileSync('touch', ['-m', '-d', '@-1', path.join(root, 'd/old')]);
    await fs.utimes(bytesOf(path.join(root, 'd', odd)), T0, T0 + 30.5);
    await fs.utimes(path.join(root, 'd'), T0, T0 + 40);
    await fs.utimes(root, T0, T0 + 1000);

    const t = await contentTimes(root, since, new AbortController().signal);
    // The root's time is half a millisecond before the clock time; d/late's is after it.
    expect(t.newest).toBe(T0 + 1000);
    expect(t.unsettled?.sort()).toEqual([path.join(root, 'd', odd), path.join(root, 'd/half'), path.join(root, 'd/late'), path.join(root, 'd/old')].sort());
  });

  it('lists no more than 4096 unsettled entries', async () => {
    const dir = tempDir('times-many');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    await fs.mkdir(root);
    for (let i = 0; i < 4097; i++) await fs.writeFile(path.join(root, `f${i}`), '');
    const t = await contentTimes(root, 1000, new AbortController().signal);
    expect(t).toEqual({ newest: 0, unsettled: undefined });
  });
});
