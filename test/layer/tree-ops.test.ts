// The tree helper's settling of times (layer-build.ts: a parent's upper, before a child
// builds on it): what a pack would record, whole seconds clamped to the epoch, in squashfs's
// unsigned 32 bits; atimes and symlink targets untouched. (Its pruning: prune.test.ts.)

import { execFileSync } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { settleTree } from '../../src/layer/tree-ops.js';
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
