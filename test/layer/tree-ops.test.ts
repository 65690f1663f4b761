// The tree helper's walks (its pruning: prune.test.ts): the content's times (finalize.ts, a
// layer without source-date-epoch); settling them (layer-build.ts: a parent's upper, before a
// child builds on it) to what a pack would record, whole seconds clamped to the epoch, in
// squashfs's unsigned 32 bits, atimes and symlink targets untouched; stripping overlay
// xattrs; and the helper's life: a process waiting on it stays alive until it answers or ends.

import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contentTimes, settleTree, stripOverlayXattrs } from '../../src/layer/tree-ops.js';
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

  it('lists no more than 4096 unsettled entries', { timeout: 60_000 }, async () => {
    const dir = tempDir('times-many');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    execFileSync('sh', ['-c', 'mkdir "$1" && cd "$1" && touch $(seq 4097)', 'sh', root]);
    const t = await contentTimes(root, 1000, new AbortController().signal);
    expect(t).toEqual({ newest: 0, unsettled: undefined });
  });
});

describe('stripOverlayXattrs', () => {
  it.runIf(process.getuid?.() === 0)('strips overlay xattrs (a symlink itself, a hardlinked inode once), keeps opaque=y, finds redirect and metacopy', async () => {
    const dir = tempDir('strip');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    const odd = nameOf(Buffer.from('caf\xe9', 'latin1'));
    await writeFiles(root, { 'd/f': 'f', 'o/x': 'x', 'n/x': 'x', 'r/x': 'x', target: 't' });
    await fs.link(path.join(root, 'd/f'), path.join(root, 'd/g'));
    await fs.symlink('../target', path.join(root, 'd/link'));
    await fs.writeFile(bytesOf(path.join(root, 'r', odd)), 'm');
    const set = (rel: string | Buffer, name: string, value: string) =>
      execFileSync('xargs', ['-0', 'setfattr', '-h', '-n', name, '-v', value, '--'], { input: Buffer.concat([Buffer.isBuffer(rel) ? rel : Buffer.from(rel), Buffer.of(0)]) });
    set(path.join(root, 'd/f'), 'trusted.overlay.origin', '0x00');
    set(path.join(root, 'd/f'), 'user.keep', 'k');
    set(path.join(root, 'd/link'), 'trusted.overlay.impure', 'y');
    set(path.join(root, 'target'), 'trusted.overlay.impure', 'y');
    set(path.join(root, 'o'), 'trusted.overlay.opaque', 'y');
    set(path.join(root, 'n'), 'trusted.overlay.opaque', 'x');
    set(path.join(root, 'r'), 'trusted.overlay.redirect', '/elsewhere');
    set(bytesOf(path.join(root, 'r', odd)), 'trusted.overlay.metacopy', '');
    set(root, 'trusted.overlay.impure', 'y');

    const r = await stripOverlayXattrs(root, new AbortController().signal);
    // origin (once for d/f and d/g), impure of d/link, target and the root, opaque=x of n.
    expect(r.stripped).toBe(5);
    expect(r.entries).toBe(13);
    expect(r.forbidden.sort()).toEqual(['/r', '/r/caf\\xe9']);
    const names = (p: string | Buffer) => execFileSync('getfattr', ['-h', '-m', '-', '--absolute-names', '--only-values', '-n', 'user.keep', p as string], { encoding: 'utf8' });
    expect(names(path.join(root, 'd/g'))).toBe('k');
    const dump = execFileSync('getfattr', ['-h', '-R', '-m', '-', '--absolute-names', root], { encoding: 'latin1' });
    expect(dump).not.toMatch(/trusted\.overlay\.(origin|impure)/);
    expect(dump.match(/trusted\.overlay\.opaque/g)).toHaveLength(1);
    expect(dump.match(/trusted\.overlay\.(redirect|metacopy)/g)).toHaveLength(2);
  });
});

describe('the helpers and the requests waiting for them', () => {
  it('serves many requests at once on a run signal, leaving no listener on it', async () => {
    const dir = tempDir('helper-many');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    await writeFiles(root, { 'd/f': 'f' });
    const ac = new AbortController();
    const counts = await Promise.all(Array.from({ length: 40 }, () => settleTree(root, undefined, ac.signal)));
    expect(counts).toEqual(Array.from({ length: 40 }, () => 3));
    expect(getEventListeners(ac.signal, 'abort')).toEqual([]);
  });
});

describe('the helper and the process waiting on it', () => {
  it('a helper killed mid-walk fails the walk, the process staying alive for it (nothing else keeps it); the next walk works', { timeout: 60_000 }, () => {
    const dir = tempDir('helper-life');
    dirs.push(dir);
    const root = path.join(dir, 'upper');
    execFileSync('sh', ['-c', 'mkdir "$1" && cd "$1" && for d in $(seq 40); do mkdir $d; (cd $d && touch $(seq 1000)); done', 'sh', root]);
    // In a process of its own, where nothing but the request keeps node alive; its own
    // helper (its child) is killed as soon as it has started.
    const script = [
      "import { readFileSync } from 'node:fs';",
      `const { settleTree } = await import(${JSON.stringify(new URL('../../dist/layer/tree-ops.js', import.meta.url).href)});`,
      `const p = settleTree(${JSON.stringify(root)}, undefined, new AbortController().signal);`,
      // Once the request is on its way: its child, the helper, killed by its id.
      'const helper = () => {',
      "  const kids = readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8').trim().split(' ').filter(Boolean);",
      "  return kids.find((k) => readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'tree-ops');",
      '};',
      'for (let k; !(k = helper()); ) await new Promise((resolve) => setTimeout(resolve, 1));',
      "process.kill(Number(helper()), 'SIGKILL');",
      "try { await p; console.log('finished'); } catch (e) { console.log('rejected:', e.message); }",
      `console.log('next', await settleTree(${JSON.stringify(root)}, undefined, new AbortController().signal));`,
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out).toMatch(/^rejected: the tree helper .*tree-ops ended \(SIGKILL\)\nnext 40041\n$/);
  });
});
