import { existsSync, promises as fs, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandInRoot,
  globToRegExp,
  hasGlobMagic,
  hostPath,
  mkdirInRoot,
  normalizeInRoot,
  resolveInRoot,
  resolveParentInRoot,
} from '../../src/layer/root-path.js';
import { failureIn } from '../../src/failure.js';
import { bytesOf, nameOf, shownPath } from '../../src/layer/byte-path.js';
import { tempDir, writeFiles } from '../support/project.js';

// base/root is the layer root; base/outside is a host directory next to it that nothing may reach.
const base = tempDir('root-path');
const root = path.join(base, 'root');
afterAll(() => rmSync(base, { recursive: true, force: true }));

beforeAll(async () => {
  await writeFiles(base, { 'outside/secret': 'host file\n', 'outside/etc/motd': 'host motd\n' });
  await writeFiles(root, {
    'etc/motd': 'hi\n',
    'etc/nginx/nginx.conf': 'x\n',
    'var/cache/apt/archives/a.deb': 'a',
    'var/cache/apt/archives/b.deb': 'b',
    'var/cache/apt/archives/c.txt': 'c',
    'var/cache/apt/archives/partial/d.deb': 'd',
    'var/cache/apt/pkgcache.bin': 'p',
    'var/cache/apt/srcpkgcache.bin': 's',
    'var/log/apt/history.log': 'h',
    'var/log/apt/term.log': 't',
    'var/log/dpkg.log': 'd',
  });
  const links: [string, string][] = [
    ['abs-link', '/etc'],
    ['rel-link', 'etc'],
    ['usr/lib/up', '../../etc'],
    ['escape', '../../../../../../../../etc'],
    ['abs-escape', '/../../../etc'],
    ['out', '../outside'],
    ['loop1', 'loop2'],
    ['loop2', 'loop1'],
    ['self', 'self'],
    ['dangling', '/nonexistent/file'],
    ['chain', 'abs-link'],
  ];
  await fs.mkdir(path.join(root, 'usr/lib'), { recursive: true });
  for (const [at, target] of links) await fs.symlink(target, path.join(root, at));
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('normalizeInRoot', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['etc/motd', '/etc/motd'],
    ['/a/./b//c/', '/a/b/c'],
    ['/..', '/'],
    ['../../etc', '/etc'],
    ['/a/../../b', '/b'],
    ['/a/b/../c/.', '/a/c'],
  ])('%j → %s', (p, want) => {
    expect(normalizeInRoot(p)).toBe(want);
  });
});

describe('hostPath', () => {
  it('maps an in-root path below the root', () => {
    expect(hostPath(root, '/')).toBe(root);
    expect(hostPath(root, '/etc/motd')).toBe(path.join(root, 'etc/motd'));
  });
});

describe('resolveInRoot', () => {
  it.each([
    ['/etc/motd', '/etc/motd'],
    ['/abs-link/nginx/nginx.conf', '/etc/nginx/nginx.conf'],
    ['/rel-link/motd', '/etc/motd'],
    ['/usr/lib/up/motd', '/etc/motd'],
    ['/chain/motd', '/etc/motd'],
    // `..` in a link target stops at the root, as in a chroot.
    ['/escape/motd', '/etc/motd'],
    ['/abs-escape', '/etc'],
    ['/out/secret', '/outside/secret'],
    // Missing components are kept, so the result can be created.
    ['/abs-link/new/dir', '/etc/new/dir'],
    ['/dangling', '/nonexistent/file'],
    ['/', '/'],
    // `..` written in the path itself is applied before any link is followed.
    ['/abs-link/../motd', '/motd'],
    ['/../../etc/./motd', '/etc/motd'],
  ])('%s → %s', async (p, want) => {
    expect(await resolveInRoot(root, p, true)).toBe(want);
  });

  it('follows the last component only when asked', async () => {
    expect(await resolveInRoot(root, '/abs-link', false)).toBe('/abs-link');
    expect(await resolveInRoot(root, '/abs-link', true)).toBe('/etc');
    expect(await resolveInRoot(root, '/abs-link/motd', false)).toBe('/etc/motd');
    expect(await resolveInRoot(root, '/self', false)).toBe('/self');
  });

  it('refuses symlink loops', async () => {
    for (const p of ['/loop1/x', '/self']) {
      const err = await failure(resolveInRoot(root, p, true));
      expect(failureIn(err, 'root-path')).toEqual({ reason: 'root-path', path: p, problem: 'symlink-loop' });
      expect(err.message).toBe(`too many levels of symbolic links resolving ${p}`);
    }
  });
});

describe('resolveParentInRoot', () => {
  it('resolves the parent and keeps the last component as it is', async () => {
    expect(await resolveParentInRoot(root, '/abs-link/motd')).toBe('/etc/motd');
    expect(await resolveParentInRoot(root, '/rel-link')).toBe('/rel-link');
    expect(await resolveParentInRoot(root, '/escape/../x')).toBe('/x');
    expect(await resolveParentInRoot(root, '/')).toBe('/');
  });
});

describe('mkdirInRoot', () => {
  afterAll(() => {
    rmSync(path.join(root, 'etc/made'), { recursive: true, force: true });
    rmSync(path.join(root, 'outside'), { recursive: true, force: true });
  });

  it('creates missing directories through in-root symlinks', async () => {
    expect(await mkdirInRoot(root, '/abs-link/made/here')).toBe(path.join(root, 'etc/made/here'));
    expect(statSync(path.join(root, 'etc/made/here')).isDirectory()).toBe(true);
  });

  it('creates what an escaping link points to inside the root, never outside', async () => {
    expect(await mkdirInRoot(root, '/out/newdir')).toBe(path.join(root, 'outside/newdir'));
    expect(existsSync(path.join(base, 'outside/newdir'))).toBe(false);
  });

  it('refuses to go through a file', async () => {
    const err = await failure(mkdirInRoot(root, '/etc/motd/sub'));
    expect(failureIn(err, 'root-path')).toEqual({ reason: 'root-path', path: '/etc/motd', problem: 'not-a-directory' });
    expect(err.message).toBe('/etc/motd exists and is not a directory');
  });
});

describe('globToRegExp', () => {
  const cases: [string, string[], string[]][] = [
    ['/var/cache/apt/*.bin', ['/var/cache/apt/pkgcache.bin', '/var/cache/apt/.bin'], ['/var/cache/apt/x/y.bin', '/var/cache/apt/pkgcache.bin.old']],
    ['/var/log/apt/**', ['/var/log/apt/a', '/var/log/apt/a/b/c'], ['/var/log/apt', '/var/log/aptx/a']],
    ['/**/*.deb', ['/a.deb', '/x/y/z.deb'], ['/x/y/z.debx']],
    ['/a/**/b', ['/a/b', '/a/x/b', '/a/x/y/b'], ['/a/xb', '/b']],
    ['/a/?.txt', ['/a/1.txt'], ['/a/12.txt', '/a//.txt']],
    ['/a/[bc]d', ['/a/bd', '/a/cd'], ['/a/dd']],
    ['/a/[a-c]', ['/a/b'], ['/a/d']],
    ['/a/[!b]d', ['/a/cd'], ['/a/bd']],
    ['/a/[^b]d', ['/a/cd'], ['/a/bd']],
    ['/a/[]-]', ['/a/]', '/a/-'], ['/a/x']],
    ['/a/[!]]', ['/a/x'], ['/a/]']],
    ['/a[+-9]b', ['/a5b', '/a+b'], ['/a/b']],
    ['/x[!a]y', ['/xby'], ['/x/y', '/xay']],
    ['/x[]a]y', ['/x]y', '/xay'], ['/xby']],
    ['/a[b', ['/a[b'], ['/ab']],
    ['/etc/file.conf', ['/etc/file.conf'], ['/etc/fileXconf']],
    ['/a+b(c)$^{1}|d', ['/a+b(c)$^{1}|d'], ['/aab(c)']],
    ['var/log/../cache/*', ['/var/cache/x'], ['/var/log/x']],
    ['/', ['/'], ['/a']],
  ];
  it.each(cases)('%s', (glob, yes, no) => {
    const re = globToRegExp(glob);
    for (const p of yes) expect(re.test(p), `${glob} should match ${p}`).toBe(true);
    for (const p of no) expect(re.test(p), `${glob} should not match ${p}`).toBe(false);
  });

  it('knows which paths are globs', () => {
    expect(['/a/*', '/a?', '/a[b]', '/**'].map(hasGlobMagic)).toEqual([true, true, true, true]);
    expect(['/etc/motd', '/a.b-c_d'].map(hasGlobMagic)).toEqual([false, false]);
  });
});

describe('expandInRoot', () => {
  it.each([
    ['/var/cache/apt/archives/*.deb', ['/var/cache/apt/archives/a.deb', '/var/cache/apt/archives/b.deb']],
    ['/var/cache/apt/*.bin', ['/var/cache/apt/pkgcache.bin', '/var/cache/apt/srcpkgcache.bin']],
    ['/var/log/**', ['/var/log/apt', '/var/log/apt/history.log', '/var/log/apt/term.log', '/var/log/dpkg.log']],
    ['/var/**/*.log', ['/var/log/apt/history.log', '/var/log/apt/term.log', '/var/log/dpkg.log']],
    [
      '/**/*.deb',
      ['/var/cache/apt/archives/a.deb', '/var/cache/apt/archives/b.deb', '/var/cache/apt/archives/partial/d.deb'],
    ],
    ['/var/*/apt/*.log', ['/var/log/apt/history.log', '/var/log/apt/term.log']],
    ['/etc/motd', ['/etc/motd']],
    ['/etc/missing', []],
    ['/missing/*', []],
    ['/var/cache/apt/*.nothing', []],
  ])('%s', async (glob, want) => {
    expect(await expandInRoot(root, glob)).toEqual(want);
  });

  it('follows symlinked directories on the way, as in a chroot', async () => {
    expect(await expandInRoot(root, '/abs-link/motd')).toEqual(['/etc/motd']);
    expect(await expandInRoot(root, '/rel-link/*')).toEqual(['/etc/motd', '/etc/nginx']);
    expect(await expandInRoot(root, '/usr/lib/up/nginx/*.conf')).toEqual(['/etc/nginx/nginx.conf']);
  });

  it('matches a symlink itself, not its target, as the last component', async () => {
    expect(await expandInRoot(root, '/abs-link')).toEqual(['/abs-link']);
    expect(await expandInRoot(root, '/dangling')).toEqual(['/dangling']);
    expect(await expandInRoot(root, '/loop*')).toEqual(['/loop1', '/loop2']);
  });

  it('never leaves the root', async () => {
    expect(await expandInRoot(root, '/escape/*')).toEqual(['/etc/motd', '/etc/nginx']);
    expect(await expandInRoot(root, '/abs-escape/motd')).toEqual(['/etc/motd']);
    expect(await expandInRoot(root, '/out/*')).toEqual([]);
    expect(await expandInRoot(root, '/out/secret')).toEqual([]);
    expect(await expandInRoot(root, '/../../outside/*')).toEqual([]);
    expect(await expandInRoot(root, '/../outside/**')).toEqual([]);
    await fs.mkdir(path.join(root, 'outside'));
    await fs.writeFile(path.join(root, 'outside/inside'), 'x');
    try {
      expect(await expandInRoot(root, '/out/*')).toEqual(['/outside/inside']);
      expect(await expandInRoot(root, '/../outside/**')).toEqual(['/outside/inside']);
    } finally {
      rmSync(path.join(root, 'outside'), { recursive: true, force: true });
    }
  });

  it('skips entries it cannot resolve (symlink loops) instead of failing the whole glob', async () => {
    expect(await expandInRoot(root, '/*/motd')).toEqual(['/etc/motd']);
  });

  it('never yields the root itself', async () => {
    expect(await expandInRoot(root, '/')).toEqual([]);
    expect(await expandInRoot(root, '/..')).toEqual([]);
    const all = await expandInRoot(root, '/*');
    expect(all).toEqual([
      '/abs-escape',
      '/abs-link',
      '/chain',
      '/dangling',
      '/escape',
      '/etc',
      '/loop1',
      '/loop2',
      '/out',
      '/rel-link',
      '/self',
      '/usr',
      '/var',
    ]);
  });
});

describe('names that are not UTF-8', () => {
  // A byte-path string from bytes written as latin1 text ('\xe9' is the byte 0xe9).
  const bytes = (latin1: string) => nameOf(Buffer.from(latin1, 'latin1'));
  const shown = (paths: string[]) => paths.map(shownPath);

  it.each([
    ['/u/*', ['/u/caf\xe9', '/u/\xff\xfe-dir', '/u/caf\xc3\xa9', '/u/a\nb', '/u/\xed\xa0\x80'], ['/u/x/y', '/u/\xff/x']],
    ['/u/**', ['/u/\xff\xfe-dir/file', '/u/a\nb/c\nd', '/u/\xe9/\xe9'], ['/v/\xe9']],
    ['/**/file', ['/u/\xff\xfe-dir/file', '/\xe9\n/file'], ['/u/\xff\xfe-dir/file\xff']],
    // `?` is one character (é in UTF-8 is two bytes) or one byte that is not part of one.
    ['/u/caf?', ['/u/caf\xe9', '/u/caf\xc3\xa9', '/u/caf\xc3'], ['/u/caf\xc3\xa9x', '/u/caf\xe9\xe9', '/u/caf']],
    ['/u/?', ['/u/\xff', '/u/\xf0\x9f\x98\x80', '/u/\n'], ['/u/\xff\xfe', '/u/\xf0\x9f\x98']],
    ['/u/[!a]', ['/u/\xff', '/u/\xc3\xa9'], ['/u/a', '/u/\xff\xfe']],
    // A glob is UTF-8 text: its é is the bytes c3 a9, never Latin-1's e9.
    ['/u/café', ['/u/caf\xc3\xa9'], ['/u/caf\xe9']],
    ['/u/caf[é]', ['/u/caf\xc3\xa9'], ['/u/caf\xe9']],
    ['/u/a]b{1}', ['/u/a]b{1}'], ['/u/ab1']],
  ])('%s', (glob, yes, no) => {
    const re = globToRegExp(glob);
    for (const p of yes) expect(re.test(bytes(p)), `${glob} should match ${p}`).toBe(true);
    for (const p of no) expect(re.test(bytes(p)), `${glob} should not match ${p}`).toBe(false);
  });

  const broot = path.join(base, 'bytes-root');
  beforeAll(async () => {
    await fs.mkdir(bytesOf(path.join(broot, bytes('u/\xff\xfe-dir'))), { recursive: true });
    for (const f of ['u/caf\xe9', 'u/caf\xc3\xa9', 'u/\xff\xfe-dir/file', 'u/a\nb']) await fs.writeFile(bytesOf(path.join(broot, bytes(f))), f);
    await fs.symlink(Buffer.from('\xff\xfe-dir', 'latin1'), bytesOf(path.join(broot, 'u/rel')));
    await fs.symlink(Buffer.from('/u/\xff\xfe-dir', 'latin1'), bytesOf(path.join(broot, 'abs')));
  });

  it('expands globs over them, byte-exact', async () => {
    expect(shown(await expandInRoot(broot, '/u/*'))).toEqual(['/u/a\nb', '/u/café', '/u/caf\\xe9', '/u/rel', '/u/\\xff\\xfe-dir']);
    expect(shown(await expandInRoot(broot, '/**/file'))).toEqual(['/u/\\xff\\xfe-dir/file']);
    expect(shown(await expandInRoot(broot, '/u/caf?'))).toEqual(['/u/café', '/u/caf\\xe9']);
    expect(shown(await expandInRoot(broot, '/u/*/file'))).toEqual(['/u/\\xff\\xfe-dir/file']);
  });

  it('resolves through symlinks whose targets are not UTF-8, and creates below them', async () => {
    expect(shown([await resolveInRoot(broot, '/u/rel/file', true)])).toEqual(['/u/\\xff\\xfe-dir/file']);
    expect(shown(await expandInRoot(broot, '/abs/*'))).toEqual(['/u/\\xff\\xfe-dir/file']);
    const made = await mkdirInRoot(broot, '/abs/new');
    expect(made).toBe(path.join(broot, bytes('u/\xff\xfe-dir/new')));
    expect(statSync(bytesOf(made)).isDirectory()).toBe(true);
  });
});
