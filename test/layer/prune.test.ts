import { execFileSync } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pruneIdentical } from '../../src/layer/prune.js';
import { bytesOf, nameOf, shownPath } from '../../src/layer/byte-path.js';
import { Runner } from '../../src/process/run.js';
import { requireTools } from '../support/tools.js';
import { tempDir, writeFiles } from '../support/project.js';

// The fixtures set xattrs with setfattr (pruneIdentical itself reads them in the tree helper).
beforeAll(() => requireTools({ setfattr: 'attr', xargs: 'findutils' }));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const runner = new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal: new AbortController().signal, env: process.env });
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
    sourceDateEpoch,
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

describe('pruneIdentical and hardlinks', () => {
  it('names of one inode go together, only all of them and only onto one lower inode; directories wait for them', async () => {
    const dir = tempDir('prune-links');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    const setup = async (root: string) => {
      for (const d of ['same', 'split', 'partial']) await fs.mkdir(path.join(root, d), { recursive: true });
      // same/: a pair linked on both sides: it goes, and the directory it leaves empty.
      await fs.writeFile(path.join(root, 'same/a'), 'pair\n');
      await fs.link(path.join(root, 'same/a'), path.join(root, 'same/b'));
      // split/: linked in the upper, two inodes below: pruning them would split the link.
      await fs.writeFile(path.join(root, 'split/a'), 'pair\n');
      if (root === upper) await fs.link(path.join(root, 'split/a'), path.join(root, 'split/b'));
      else await fs.writeFile(path.join(root, 'split/b'), 'pair\n');
      // partial/: a third name of the upper inode is outside the upper (as one in an opaque
      // directory, never walked, would be).
      await fs.writeFile(path.join(root, 'partial/a'), 'three\n');
      await fs.link(path.join(root, 'partial/a'), path.join(root, 'partial/b'));
      if (root === upper) await fs.link(path.join(root, 'partial/a'), path.join(dir, 'outside-c'));
      const all = ['same/a', 'same/b', 'split/a', 'split/b', 'partial/a', 'partial/b', 'same', 'split', 'partial', '.'];
      for (const r of all) await fs.utimes(path.join(root, r), T0, T0);
    };
    await setup(lower);
    await setup(upper);
    const stats = await pruneIdentical({ upper, lowerView: lower, sourceDateEpoch: undefined, signal: new AbortController().signal });
    expect(await listing(upper)).toEqual([
      `partial ${T0}`,
      `partial/a ${T0}`,
      `partial/b ${T0}`,
      `split ${T0}`,
      `split/a ${T0}`,
      `split/b ${T0}`,
    ]);
    expect(stats).toEqual({ files: 2, dirs: 1, bytes: 10 });
  });
});

describe('pruneIdentical and lower symlinks', () => {
  it('never compares through a lower symlink where the upper has a directory (it would read host files)', async () => {
    const dir = tempDir('prune-symlink');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    const host = path.join(dir, 'host-secret');
    // On the "host": a file the layer's author would like to learn about.
    await writeFiles(host, { shadow: 'root:guess\n' });
    await fs.mkdir(lower);
    await fs.symlink(host, path.join(lower, 'etc'));
    // The upper replaces the symlink with a directory holding a guess of the host file.
    await writeFiles(upper, { 'etc/shadow': 'root:guess\n' });
    for (const root of [lower, upper]) await fs.utimes(root, T0, T0);
    await fs.utimes(path.join(upper, 'etc/shadow'), T0, T0);
    await fs.utimes(path.join(host, 'shadow'), T0, T0);
    await fs.chmod(path.join(upper, 'etc/shadow'), (await fs.stat(path.join(host, 'shadow'))).mode);
    const stats = await pruneIdentical({ upper, lowerView: lower, sourceDateEpoch: undefined, signal: new AbortController().signal });
    // A right guess is not pruned: whether it was gone would tell what the host file holds.
    expect(stats).toEqual({ files: 0, dirs: 0, bytes: 0 });
    expect(await fs.readFile(path.join(upper, 'etc/shadow'), 'utf8')).toBe('root:guess\n');
  });
});

describe('pruneIdentical content comparison', () => {
  it('reads content only when type, size and times match; one differing byte keeps a file, small or large', async () => {
    const dir = tempDir('prune-content');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    // Past the file threads' 1 MiB read: the difference is in the third chunk.
    const big = Buffer.alloc(2 * 1024 * 1024 + 17, 'a');
    const bigChanged = Buffer.from(big);
    bigChanged[bigChanged.length - 1] = 0x62;
    // A differing last byte at 64 KiB and just past it.
    const edge = (size: number, changed: boolean) => {
      const b = Buffer.alloc(size, 'e');
      if (changed) b[size - 1] = 0x66;
      return b;
    };
    const files = (root: string): Record<string, string | Buffer> => ({
      'd/edge-same': edge(64 * 1024, false),
      'd/edge-diff': edge(64 * 1024, root === upper),
      'd/past-edge-diff': edge(64 * 1024 + 1, root === upper),
      'd/small-same': 'twelve bytes',
      'd/small-diff': root === upper ? 'twelve byteZ' : 'twelve bytes',
      'd/chunk-same': Buffer.alloc(128 * 1024, 'c'),
      'd/big-same': big,
      'd/big-diff': root === upper ? bigChanged : big,
      'd/empty': '',
    });
    for (const root of [lower, upper]) {
      await fs.mkdir(path.join(root, 'd'), { recursive: true });
      for (const [rel, data] of Object.entries(files(root))) await fs.writeFile(path.join(root, rel), data);
      for (const rel of [...Object.keys(files(root)), 'd', '.']) await fs.utimes(path.join(root, rel), T0, T0);
    }
    const stats = await pruneIdentical({ upper, lowerView: lower, sourceDateEpoch: undefined, signal: new AbortController().signal });
    expect(await listing(upper)).toEqual([`d ${T0}`, `d/big-diff ${T0}`, `d/edge-diff ${T0}`, `d/past-edge-diff ${T0}`, `d/small-diff ${T0}`]);
    expect(stats).toEqual({ files: 5, dirs: 0, bytes: 12 + 128 * 1024 + big.length + 64 * 1024 });
  });
});

describe('pruneIdentical and xattrs', () => {
  const isRoot = process.getuid?.() === 0;
  it('keeps a file whose xattrs differ in name or value on either side; overlay-private ones aside, redirect and metacopy never go', async () => {
    const dir = tempDir('prune-xattrs');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    const names = ['same', 'value', 'only-lower', 'only-upper', 'private', 'metacopy', 'symlink'];
    for (const root of [lower, upper]) {
      await writeFiles(root, Object.fromEntries(names.filter((n) => n !== 'symlink').map((n) => [`d/${n}`, 'data\n'])));
      await fs.symlink('same', path.join(root, 'd/symlink'));
    }
    const set = (root: string, rel: string, name: string, value: string) => runner.run(['setfattr', '-h', '-n', name, '-v', value, path.join(root, rel)]);
    for (const root of [lower, upper]) {
      await set(root, 'd/same', 'user.k', 'v');
      await set(root, 'd/value', 'user.k', root === upper ? 'changed' : 'v');
    }
    await set(lower, 'd/only-lower', 'user.k', 'v');
    await set(upper, 'd/only-upper', 'user.k', 'v');
    // trusted.* needs root (CI runs the tests as root).
    if (isRoot) {
      await set(upper, 'd/private', 'trusted.overlay.origin', '0x00');
      await set(upper, 'd/symlink', 'trusted.overlay.impure', 'y');
      await set(upper, 'd/metacopy', 'trusted.overlay.metacopy', '');
    }
    for (const root of [lower, upper]) await setTimes(root, [...names.map((n) => `d/${n}`).filter((n) => n !== 'd/symlink'), 'd', '.'], T0);
    for (const root of [lower, upper]) await fs.lutimes(path.join(root, 'd/symlink'), T0, T0);
    await prune({ upper, lower });
    const kept = ['d', 'd/only-lower', 'd/only-upper', 'd/value', ...(isRoot ? ['d/metacopy'] : [])].sort();
    expect((await listing(upper)).map((l) => l.split(' ')[0])).toEqual(kept);
  });
});

describe('pruneIdentical on names that are not UTF-8', () => {
  /** A byte-path string from bytes written as latin1 text ('\xe9' is the byte 0xe9). */
  const bytes = (latin1: string) => nameOf(Buffer.from(latin1, 'latin1'));

  async function byteListing(root: string): Promise<string[]> {
    const out: string[] = [];
    const visit = async (rel: string) => {
      for (const name of (await fs.readdir(bytesOf(path.join(root, rel)), { encoding: 'buffer' })).sort((a, b) => Buffer.compare(a, b))) {
        const r = path.join(rel, nameOf(name));
        out.push(shownPath(r));
        if ((await fs.lstat(bytesOf(path.join(root, r)))).isDirectory()) await visit(r);
      }
    };
    await visit('');
    return out;
  }

  it('drops identical entries and keeps changed ones, byte-exact (link targets and xattrs included)', async () => {
    const dir = tempDir('prune-bytes');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    for (const root of [lower, upper]) {
      const at = (latin1: string) => bytesOf(path.join(root, bytes(latin1)));
      await fs.mkdir(at('u/\xff\xfe-dir'), { recursive: true });
      await fs.mkdir(at('u/\xff\xfe-same'), { recursive: true });
      await fs.writeFile(at('u/caf\xe9'), 'same\n');
      await fs.writeFile(at('u/\xff\xfe-dir/file'), root === upper ? 'changed\n' : 'old\n');
      await fs.writeFile(at('u/\xff\xfe-same/file'), 'same\n');
      await fs.writeFile(at('u/a\nb'), 'same\n');
      // Targets that differ only in a byte that is not UTF-8: read as text, both were U+FFFD.
      await fs.symlink(Buffer.from(root === upper ? 'x\xe8' : 'x\xe9', 'latin1'), at('u/link-changed'));
      await fs.symlink(Buffer.from('x\xe9', 'latin1'), at('u/link-\xe9'));
      await fs.writeFile(at('u/xattr-\xe9'), 'same\n');
    }
    // setfattr cannot take that name as an argument: give it through xargs.
    for (const [root, v] of [[lower, 'old'], [upper, 'new']] as const) {
      await runner.run(['xargs', '-0', 'setfattr', '-h', '-n', 'user.k', '-v', v, '--'], {
        input: Buffer.concat([bytesOf(path.join(root, bytes('u/xattr-\xe9'))), Buffer.of(0)]),
      });
    }
    const all = ['u/\xff\xfe-dir/file', 'u/\xff\xfe-same/file', 'u/caf\xe9', 'u/a\nb', 'u/xattr-\xe9', 'u/\xff\xfe-dir', 'u/\xff\xfe-same', 'u', '.'];
    for (const root of [lower, upper]) {
      for (const l of ['u/link-changed', 'u/link-\xe9']) await fs.lutimes(bytesOf(path.join(root, bytes(l))), T0, T0);
      for (const r of all) await fs.utimes(bytesOf(path.join(root, bytes(r))), T0, T0);
    }
    const stats = await prune({ upper, lower });
    expect(await byteListing(upper)).toEqual(['u', 'u/link-changed', 'u/xattr-\\xe9', 'u/\\xff\\xfe-dir', 'u/\\xff\\xfe-dir/file']);
    // Three files of 5 bytes and a link of 2 went, and the directory they left empty.
    expect(stats).toEqual({ files: 4, dirs: 1, bytes: 3 * 5 + 2 });
  });
});

describe('pruneIdentical limited to directories (prune-identical off)', () => {
  it('looks only at the directories named and their ancestors, and at no file', async () => {
    const dir = tempDir('prune-scope');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    for (const root of [lower, upper]) {
      for (const d of ['a/touched', 'a/other', 'b/touched']) await fs.mkdir(path.join(root, d), { recursive: true });
      await fs.writeFile(path.join(root, 'a/same'), 'same\n');
      await setTimes(root, ['a/same', 'a/touched', 'a/other', 'b/touched', 'a', 'b', '.'], T0);
    }
    const stats = await pruneIdentical({ upper, lowerView: lower, sourceDateEpoch: undefined, onlyDirs: new Set(['/a/touched', '/b/touched']), signal: new AbortController().signal });
    // a/touched and b/touched went, and b with them; a keeps a file (never looked at) and a
    // directory outside the scope.
    expect(await listing(upper)).toEqual([`a ${T0}`, `a/other ${T0}`, `a/same ${T0}`]);
    expect(stats).toEqual({ files: 0, dirs: 3, bytes: 0 });
  });

  it('with only the root in the scope, prunes nothing', async () => {
    const f = await fixture(T0);
    const before = await listing(f.upper);
    const stats = await pruneIdentical({ upper: f.upper, lowerView: f.lower, sourceDateEpoch: undefined, onlyDirs: new Set(['/']), signal: new AbortController().signal });
    expect(stats).toEqual({ files: 0, dirs: 0, bytes: 0 });
    expect(await listing(f.upper)).toEqual(before);
  });
});

describe('pruneIdentical and opaque directories', () => {
  it.runIf(process.getuid?.() === 0)('keeps an opaque directory with everything in it, identical or not', async () => {
    const dir = tempDir('prune-opaque');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    for (const root of [lower, upper]) {
      await writeFiles(root, { 'o/same': 'same\n', 'o/sub/same': 'same\n', 'p/same': 'same\n' });
      await setTimes(root, ['o/same', 'o/sub/same', 'o/sub', 'p/same', 'o', 'p', '.'], T0);
    }
    await runner.run(['setfattr', '-n', 'trusted.overlay.opaque', '-v', 'y', path.join(upper, 'o')]);
    const stats = await pruneIdentical({ upper, lowerView: lower, sourceDateEpoch: undefined, signal: new AbortController().signal });
    expect(await listing(upper)).toEqual([`o ${T0}`, `o/same ${T0}`, `o/sub ${T0}`, `o/sub/same ${T0}`]);
    expect(stats).toEqual({ files: 1, dirs: 1, bytes: 5 });
  });
});

describe('pruneIdentical failing and interrupted', () => {
  it('names the path it could not walk, byte-exact; the next prune works', async () => {
    const dir = tempDir('prune-fail');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    await fs.mkdir(lower);
    const missing = path.join(dir, nameOf(Buffer.from('gone-\xff', 'latin1')));
    await expect(pruneIdentical({ upper: missing, lowerView: lower, sourceDateEpoch: undefined, signal: new AbortController().signal })).rejects.toThrow(
      `open ${shownPath(missing)}: No such file or directory`,
    );
    const f = await fixture(T0);
    expect(await prune(f)).toEqual({ files: 2, dirs: 2, bytes: 7 });
  });

  it('prunes two trees at once (two helpers), one interrupted without harm to the other', async () => {
    const [a, b, c] = [await fixture(T0), await fixture(T0), await fixture(T0)];
    const ac = new AbortController();
    ac.abort('SIGTERM');
    const results = await Promise.allSettled([prune(a), prune(b), pruneIdentical({ upper: c.upper, lowerView: c.lower, sourceDateEpoch: undefined, signal: ac.signal })]);
    expect(results.slice(0, 2)).toEqual([
      { status: 'fulfilled', value: { files: 2, dirs: 2, bytes: 7 } },
      { status: 'fulfilled', value: { files: 2, dirs: 2, bytes: 7 } },
    ]);
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { failure: { reason: 'interrupted', signal: 'SIGTERM' } } });
  });

  it('stops at once when interrupted, as an interrupt; the next prune works', async () => {
    const dir = tempDir('prune-abort');
    dirs.push(dir);
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    // Identical sparse files: gigabytes to compare that take no room.
    for (const root of [lower, upper]) {
      await fs.mkdir(root);
      for (let i = 0; i < 16; i++) {
        const file = path.join(root, `big-${i}`);
        await fs.writeFile(file, '');
        await fs.truncate(file, 2 * 2 ** 30);
        await fs.utimes(file, T0, T0);
      }
    }
    const ac = new AbortController();
    const pruning = pruneIdentical({ upper, lowerView: lower, sourceDateEpoch: undefined, signal: ac.signal });
    setTimeout(() => ac.abort('SIGINT'), 100);
    await expect(pruning).rejects.toMatchObject({ failure: { reason: 'interrupted', signal: 'SIGINT' } });
    // It stopped: comparing all 32 GiB takes seconds, and the files it had not reached stay.
    // (Let a helper that was not stopped go on a little, to be seen removing them.)
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await fs.readdir(upper)).length).toBeGreaterThan(8);
    const f = await fixture(T0);
    expect(await prune(f)).toEqual({ files: 2, dirs: 2, bytes: 7 });
  });
});

describe('pruneIdentical on a tree deeper than a path can reach', () => {
  it('keeps what lies deeper than PATH_MAX, as an entry it cannot look at, and prunes the rest', async () => {
    const dir = tempDir('prune-deep');
    const lower = path.join(dir, 'lower');
    const upper = path.join(dir, 'upper');
    // 30 levels of 200-byte names: 6000 bytes, past the 4096 a path may have. Made level by
    // level (relative paths), each level's file and then its directory given time T0.
    const name = 'd'.repeat(200);
    const make = `mkdir -p "$1" && cd "$1" && for i in $(seq 30); do echo same > f; touch -d @${T0} f; mkdir ${name}; cd ${name}; done; for i in $(seq 31); do touch -d @${T0} .; cd ..; done`;
    try {
      for (const root of [lower, upper]) execFileSync('sh', ['-c', make, 'sh', root]);
      const stats = await pruneIdentical({ upper, lowerView: lower, sourceDateEpoch: undefined, signal: new AbortController().signal });
      // The files within reach went: those whose path is shorter than 4096 bytes.
      const reach = Array.from({ length: 30 }, (_, k) => Buffer.byteLength(upper) + k * (name.length + 1) + '/f'.length).filter((n) => n < 4096);
      expect(stats.files).toBe(reach.length);
      expect(await fs.readdir(upper)).toEqual([name]);
    } finally {
      // GNU rm walks by descriptors: node's rm cannot remove what lies past PATH_MAX.
      execFileSync('rm', ['-rf', dir]);
    }
  });
});
