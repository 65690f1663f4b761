// Root-test helpers for layer contents: whole-tree views that include what `snapshot`
// leaves out (the root's own attributes, xattrs, hardlink groups), a look inside one
// built .sqsh, and checks for machinery leftovers and stray processes.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { mountsBelow, mountStack, snapshot, type TreeEntry } from './rootfs.js';

/** Runs a shell script (sh -e) and returns its stdout; stderr goes to the test's output. */
export function sh(script: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync('sh', ['-ec', script], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Every xattr below dir (not following symlinks) as `path name=value` lines, overlay-private ones included. */
export function xattrLines(dir: string): string[] {
  // getfattr exits 1 when some entry (a symlink, a whiteout) has no xattr support.
  const res = spawnSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir], { encoding: 'utf8' });
  if (res.status !== 0 && res.status !== 1) throw new Error(`getfattr failed on ${dir}: ${res.stderr}`);
  const text = res.stdout;
  const out: string[] = [];
  let file = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8) === dir ? '/' : line.slice(8 + dir.length);
    else if (line !== '') out.push(`${file} ${line}`);
  }
  return out.sort();
}

/** Names that share an inode, one `a = b = c` line per group of two or more. */
export async function hardlinkGroups(dir: string): Promise<string[]> {
  const byInode = new Map<string, string[]>();
  const visit = async (rel: string) => {
    for (const name of (await fs.readdir(path.join(dir, rel))).sort()) {
      const r = `${rel}/${name}`;
      const st = await fs.lstat(path.join(dir, r));
      if (st.isDirectory()) await visit(r);
      else if (st.nlink > 1) byInode.set(`${st.dev}:${st.ino}`, [...(byInode.get(`${st.dev}:${st.ino}`) ?? []), r]);
    }
  };
  await visit('');
  return [...byInode.values()].filter((g) => g.length > 1).map((g) => g.sort().join(' = ')).sort();
}

/**
 * A tree as comparable lines: each entry (type, mode, owner, content hash or link target),
 * the root directory itself, xattrs (overlay-private ones hidden, as a stack hides them)
 * and hardlink groups.
 */
export async function fullTree(dir: string): Promise<string[]> {
  const st = await fs.stat(dir);
  const root = `/ dir ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
  const entries = (await snapshot(dir)).map(entryLine);
  const xattrs = xattrLines(dir)
    .filter((l) => !/ trusted\.overlay\./.test(l))
    .map((l) => `xattr ${l}`);
  const links = (await hardlinkGroups(dir)).map((g) => `link ${g}`);
  return [root, ...entries, ...xattrs, ...links];
}

export function entryLine(e: TreeEntry): string {
  return `${e.path} ${e.type} ${e.mode} ${e.owner}${e.detail ? ` ${e.detail}` : ''}`;
}

/** Stacks `sqshTopFirst` like the initramfs (plain overlay) under `work`, runs fn on the root, unmounts. */
export async function withStack<T>(work: string, sqshTopFirst: string[], fn: (root: string) => Promise<T>): Promise<T> {
  await fs.mkdir(work, { recursive: true });
  const stack = mountStack(work, sqshTopFirst);
  try {
    return await fn(stack.root);
  } finally {
    stack.unmount();
  }
}

export interface LayerView {
  /** `path type mode owner detail` of every entry; whiteouts are `chr ... 0`. */
  entries: string[];
  paths: string[];
  whiteouts: string[];
  /** xattr lines, overlay-private ones included (`path name=0x..`). */
  xattrs: string[];
  /** Directories marked opaque. */
  opaque: string[];
}

/** What one .sqsh holds by itself, read through a read-only loop mount of it alone. */
export async function inspectLayer(work: string, sqsh: string): Promise<LayerView> {
  const mnt = path.join(work, `inspect-${path.basename(sqsh, '.sqsh')}`);
  await fs.mkdir(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'squashfs', '-o', 'ro,loop', sqsh, mnt]);
  try {
    const snap = await snapshot(mnt);
    const xattrs = xattrLines(mnt);
    return {
      entries: snap.map(entryLine),
      paths: snap.map((e) => e.path),
      whiteouts: snap.filter((e) => e.type === 'chr' && e.detail === '0').map((e) => e.path),
      xattrs,
      opaque: xattrs.filter((l) => / trusted\.overlay\.opaque=0x79$/.test(l)).map((l) => l.split(' ')[0]!),
    };
  } finally {
    execFileSync('umount', [mnt]);
    await fs.rmdir(mnt);
  }
}

/** Paths that only the build machinery would create; a layer holds none unless a step made it. */
export const MACHINERY = ['/proc', '/dev', '/tmp', '/run', '/usr/sbin/policy-rc.d', '/.sqsh-layers-host', '/etc/resolv.conf'];

/** The layer holds no machinery leftovers (except `allowed`) and no overlay xattr but opaque. */
export function expectPortableAndClean(name: string, view: LayerView, allowed: string[] = []): void {
  const leftovers = view.paths.filter(
    (p) => (MACHINERY.includes(p) || p.endsWith('/restoresymtable')) && !allowed.includes(p),
  );
  expect(leftovers, `machinery leftovers in layer ${name}`).toEqual([]);
  const overlayXattrs = view.xattrs.filter((l) => / trusted\.overlay\./.test(l) && !/ trusted\.overlay\.opaque=0x79$/.test(l));
  expect(overlayXattrs, `non-portable overlay xattrs in layer ${name}`).toEqual([]);
}

/** Processes whose root directory or working directory lies below dir (the sandbox's processes). */
export function processesBelow(dir: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const root = readlinkSync(`/proc/${name}/root`);
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      if ([root, cwd].some((p) => p === dir || p.startsWith(`${dir}/`))) {
        out.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim() });
      }
    } catch {
      // Gone meanwhile, or a kernel thread.
    }
  }
  return out;
}

/** Processes whose command line is exactly argv (for markers only a test uses). */
export function processesWithCmdline(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === want) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/**
 * Removes a test's temp dir, but only when nothing is mounted below it any more (a leftover
 * mount fails the test instead of having its contents deleted through it).
 */
export function removeTestDir(dir: string): void {
  if (!existsSync(dir)) return;
  const left = mountsBelow(dir);
  if (left.length > 0) throw new Error(`mounts left below ${dir}: ${left.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A dump(8) image of `tree`: an ext4 image made from it, attached read-only to a loop device
 * for dump and always detached again. lost+found gets a fixed time, so two images of equal
 * trees restore to equal trees.
 */
export function makeDump(tree: string, out: string, fakeTime = 1_600_000_000): void {
  const img = `${out}.ext4`;
  execFileSync('mkfs.ext4', ['-q', '-d', tree, img, '16M'], { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(fakeTime) } });
  const loop = execFileSync('losetup', ['-f', '--show', '-r', img], { encoding: 'utf8' }).trim();
  try {
    execFileSync('dump', ['-0', '-q', '-f', out, loop], { stdio: 'ignore' });
  } finally {
    execFileSync('losetup', ['-d', loop]);
    rmSync(img);
  }
}

/** One file of a built .sqsh, read through a read-only loop mount of it alone. */
export async function readLayerFile(work: string, sqsh: string, rel: string): Promise<string> {
  const mnt = path.join(work, `view-${path.basename(sqsh, '.sqsh')}`);
  await fs.mkdir(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'squashfs', '-o', 'ro,loop', sqsh, mnt]);
  try {
    return await fs.readFile(path.join(mnt, rel), 'utf8');
  } finally {
    execFileSync('umount', [mnt]);
  }
}

/**
 * A shared library for attacks: its constructor, wherever it runs, leaves a marker in its own
 * root (`/evil-ran`) and one in `canaryDir` on the host (`pwned`), and tries to mount the
 * kernel's devices (`/evil-dev`). Compiled to `dir/evil.so`, whose path it returns.
 */
export async function evilLibrary(dir: string, canaryDir: string): Promise<string> {
  await fs.writeFile(
    path.join(dir, 'evil.c'),
    `#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
  int fd = open("${canaryDir}/pwned", O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) close(fd);
  fd = open("/evil-ran", O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) close(fd);
  mkdir("/evil-dev", 0755);
  mount("devtmpfs", "/evil-dev", "devtmpfs", 0, 0);
}
`,
  );
  execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'evil.so'), path.join(dir, 'evil.c')]);
  return path.join(dir, 'evil.so');
}
