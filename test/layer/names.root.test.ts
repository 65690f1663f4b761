// File names are bytes (PRODUCT.md section 5): names that are not UTF-8 (Latin-1 `caf\xe9`,
// broken `\xff\xfe`, an encoded surrogate), names with a newline or control byte, and symlink
// targets of such bytes are pruned, removed, excluded, copied and packed like any other name,
// and come out of the .sqsh byte for byte. Everything here reads names as Buffers.

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, mountsBelow, mountStack, stateEnv } from '../support/rootfs.js';
import { removeTestDir } from '../support/layer-tree.js';
import { type TarMember, ustar } from '../support/tar.js';

/** Bytes written as latin1 text: '\xe9' is the byte 0xe9, 'é' too (UTF-8 é is '\xc3\xa9'). */
const b = (latin1: string) => Buffer.from(latin1, 'latin1');

/** Bytes as readable text: printable ASCII as it is, every other byte as \xNN. */
function show(bytes: Buffer): string {
  return [...bytes].map((c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
}

/** Every entry below dir as `path type mode detail`, names read as bytes, in byte order. */
async function byteTree(dir: string | Buffer, under = ''): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: Buffer) => {
    const names = (await fs.readdir(Buffer.concat([b(String(dir)), rel]), { encoding: 'buffer' })).sort((x, y) => Buffer.compare(x, y));
    for (const name of names) {
      const r = Buffer.concat([rel, b('/'), name]);
      const p = Buffer.concat([b(String(dir)), r]);
      const st = await fs.lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) out.push(`${show(r)} dir ${mode}`);
      else if (st.isSymbolicLink()) out.push(`${show(r)} link -> ${show(await fs.readlink(p, { encoding: 'buffer' }))}`);
      else if (st.isFile()) out.push(`${show(r)} file ${mode} ${show(await fs.readFile(p))}`);
      else if (st.isCharacterDevice()) out.push(`${show(r)} chr ${st.rdev}`);
      else out.push(`${show(r)} other`);
      if (st.isDirectory()) await visit(r);
    }
  };
  await visit(b(under));
  return out;
}

const T = 1_600_000_000;
const names = (changed: boolean): TarMember[] => [
  { name: 'u/', type: 'dir', mtime: T },
  { name: b('u/caf\xe9'), data: 'latin-1\n' },
  { name: b('u/caf\xc3\xa9'), data: 'utf-8\n' },
  { name: b('u/\xff\xfe-dir/'), type: 'dir' },
  { name: b('u/\xff\xfe-dir/file'), data: changed ? 'changed\n' : 'deep\n' },
  { name: b('u/a\nb'), data: 'newline\n' },
  { name: b('u/ctl\x01\\'), data: 'control\n' },
  { name: b('u/\xed\xa0\x80'), data: 'surrogate\n' },
  { name: b('u/link-\xe9'), type: 'symlink', link: b('\xff\xfe-dir') },
  ...(changed ? [{ name: b('u/new-\xe9'), data: 'new\n' }] : []),
];

/** What the tar above unpacks to, as byteTree shows it below /u. */
const UNPACKED = [
  '/u/a\\x0ab file 644 newline\\x0a',
  '/u/caf\\xc3\\xa9 file 644 utf-8\\x0a',
  '/u/caf\\xe9 file 644 latin-1\\x0a',
  '/u/ctl\\x01\\x5c file 644 control\\x0a',
  '/u/link-\\xe9 link -> \\xff\\xfe-dir',
  '/u/\\xed\\xa0\\x80 file 644 surrogate\\x0a',
  '/u/\\xff\\xfe-dir dir 755',
  '/u/\\xff\\xfe-dir/file file 644 deep\\x0a',
];

describe('names that are not UTF-8', () => {
  let dir: string;
  let project: string;
  const sqsh = (name: string) => path.join(project, 'layers', `${name}.sqsh`);
  const mounted: string[] = [];

  /** What one .sqsh holds, read through a read-only loop mount of it alone. */
  async function layerTree(name: string): Promise<string[]> {
    const mnt = path.join(dir, `mnt-${name}`);
    await fs.mkdir(mnt);
    execFileSync('mount', ['-t', 'squashfs', '-o', 'ro,loop', sqsh(name), mnt]);
    mounted.push(mnt);
    try {
      return await byteTree(mnt);
    } finally {
      execFileSync('umount', [mnt]);
      mounted.pop();
    }
  }

  async function stackTree(top: string[]): Promise<string[]> {
    const stack = mountStack(path.join(dir, `stack-${top[0]}`), top.map(sqsh));
    try {
      return await byteTree(stack.root, '/u');
    } finally {
      stack.unmount();
    }
  }

  beforeAll(async () => {
    dir = tempDir('names');
    project = path.join(dir, 'project');
    await busyboxTree(path.join(project, 'inputs/root'));
    await fs.writeFile(path.join(project, 'inputs/names.tar'), ustar(names(false)));
    await fs.writeFile(path.join(project, 'inputs/names-again.tar'), ustar(names(true)));
    // A project tree with such names, for copy (and its input fingerprint).
    const tree = path.join(project, 'inputs/tree');
    await fs.mkdir(Buffer.concat([b(tree), b('/\xff\xfe-dir')]), { recursive: true });
    await fs.writeFile(Buffer.concat([b(tree), b('/caf\xe9')]), 'copied\n');
    await fs.writeFile(Buffer.concat([b(tree), b('/\xff\xfe-dir/file')]), 'copied deep\n');
    await writeFiles(project, {
      'recipes/base.yaml': 'steps:\n  - copy: inputs/root/\n',
      'recipes/names.yaml': 'parent: base\nsteps:\n  - untar: inputs/names.tar\n',
      // The same members again, two of them changed: prune-identical keeps only those.
      'recipes/same.yaml': 'parent: names\nsteps:\n  - untar: inputs/names-again.tar\n',
      'recipes/removed.yaml': 'parent: names\nsteps:\n  - remove: [/u/*]\n',
      'recipes/excluded.yaml': 'parent: base\nsteps:\n  - untar: inputs/names.tar\nexclude: [/u/*]\n',
      'recipes/excluded-some.yaml': "parent: base\nsteps:\n  - untar: inputs/names.tar\nexclude: ['/u/caf?', /u/**/file, '/u/ctl?\\']\n",
      'recipes/copied.yaml': 'parent: base\nsteps:\n  - copy: inputs/tree/\n    to: /c/\n    mode: "0640"\n',
    });
    const res = await execCli(['-C', project, 'build'], { env: stateEnv(dir) });
    expect(res.code, res.stderr).toBe(0);
  });

  afterAll(() => {
    try {
      expect(mountsBelow(dir)).toEqual([]);
    } finally {
      removeTestDir(dir);
    }
  });

  it('packs them byte for byte', async () => {
    expect(await layerTree('names')).toEqual(['/u dir 755', ...UNPACKED]);
    // unsquashfs reads the packed names too, without the kernel in between.
    const listing = execFileSync('unsquashfs', ['-lls', '-d', '', sqsh('names')]);
    expect(listing.includes(b('/u/caf\xe9\n'))).toBe(true);
    expect(listing.includes(b('/u/\xff\xfe-dir/file\n'))).toBe(true);
  });

  it('prunes identical entries and keeps the changed ones', async () => {
    expect(await layerTree('same')).toEqual([
      '/u dir 755',
      '/u/new-\\xe9 file 644 new\\x0a',
      '/u/\\xff\\xfe-dir dir 755',
      '/u/\\xff\\xfe-dir/file file 644 changed\\x0a',
    ]);
    // The stack shows the whole tree again, with the changes.
    const want = UNPACKED.map((l) => l.replace('deep', 'changed'));
    want.splice(want.indexOf('/u/link-\\xe9 link -> \\xff\\xfe-dir') + 1, 0, '/u/new-\\xe9 file 644 new\\x0a');
    expect(await stackTree(['same', 'names', 'base'])).toEqual(want);
  });

  it('removes them with a glob, leaving whiteouts for the lower entries', async () => {
    expect(await layerTree('removed')).toEqual([
      '/u dir 755',
      '/u/a\\x0ab chr 0',
      '/u/caf\\xc3\\xa9 chr 0',
      '/u/caf\\xe9 chr 0',
      '/u/ctl\\x01\\x5c chr 0',
      '/u/link-\\xe9 chr 0',
      '/u/\\xed\\xa0\\x80 chr 0',
      '/u/\\xff\\xfe-dir chr 0',
    ]);
    expect(await stackTree(['removed', 'names', 'base'])).toEqual([]);
  });

  it('excludes them with globs that match bytes', async () => {
    expect(await layerTree('excluded')).toEqual(['/u dir 755']);
    // `?` is one character (UTF-8 é) or one byte that is not part of one (Latin-1 é, \x01).
    expect(await layerTree('excluded-some')).toEqual([
      '/u dir 755',
      '/u/a\\x0ab file 644 newline\\x0a',
      '/u/link-\\xe9 link -> \\xff\\xfe-dir',
      '/u/\\xed\\xa0\\x80 file 644 surrogate\\x0a',
      '/u/\\xff\\xfe-dir dir 755',
    ]);
  });

  it('copies project files whose names are not UTF-8, with the mode asked for', async () => {
    const tree = await layerTree('copied');
    expect(tree.filter((l) => l.startsWith('/c'))).toEqual([
      '/c dir 755',
      '/c/caf\\xe9 file 640 copied\\x0a',
      '/c/\\xff\\xfe-dir dir 750',
      '/c/\\xff\\xfe-dir/file file 640 copied deep\\x0a',
    ]);
  });
});
