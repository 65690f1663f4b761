// Root-test helpers: a busybox tree to build layers from, a per-test state dir for the
// tool's mounts, stacking built layers exactly as the initramfs does, and tree snapshots.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { type MountEntry, parseMountinfo } from '../../src/mount/mountinfo.js';

export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'ls', 'cat', 'echo', 'mkdir', 'rm', 'mv', 'ln', 'chmod', 'chown', 'touch', 'sleep', 'cp', 'test', 'true', 'false', 'mknod', 'setfattr', 'printf', 'find', 'stat'];

/** A minimal busybox root at dir: /bin/busybox and applet symlinks, /etc. */
export async function busyboxTree(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'bin'), { recursive: true });
  await fs.mkdir(path.join(dir, 'etc'), { recursive: true });
  await fs.copyFile(BUSYBOX, path.join(dir, 'bin/busybox'));
  await fs.chmod(path.join(dir, 'bin/busybox'), 0o755);
  for (const a of APPLETS) await fs.symlink('busybox', path.join(dir, 'bin', a));
}

/** Environment for a CLI run whose mounts live in a test-owned state dir. */
export function stateEnv(dir: string): NodeJS.ProcessEnv {
  return { SQSH_LAYERS_RUN_DIR: path.join(dir, 'run-sqsh-layers') };
}

/** Mounts the .sqsh files (top first) read-only and stacks them with a plain overlay, as the initramfs does. */
export function mountStack(work: string, sqshTopFirst: string[]): { root: string; unmount: () => void } {
  const mounted: string[] = [];
  const lowers: string[] = [];
  sqshTopFirst.forEach((file, i) => {
    const d = path.join(work, `layer-${i}`);
    execFileSync('mkdir', ['-p', d]);
    execFileSync('mount', ['-t', 'squashfs', '-o', 'ro,loop', file, d]);
    mounted.push(d);
    lowers.push(d);
  });
  const root = path.join(work, 'stack');
  execFileSync('mkdir', ['-p', root]);
  if (lowers.length === 1) {
    execFileSync('mount', ['--bind', lowers[0]!, root]);
  } else {
    execFileSync('mount', ['-t', 'overlay', 'stack', '-o', `lowerdir=${lowers.join(':')}`, root]);
  }
  mounted.push(root);
  return {
    root,
    unmount: () => {
      for (const d of mounted.reverse()) execFileSync('umount', [d]);
    },
  };
}

export interface TreeEntry {
  path: string;
  type: string;
  mode: string;
  owner: string;
  detail: string;
}

/** Every entry below dir with type, mode, owner and content hash or link target; sorted. */
export async function snapshot(dir: string, opts: { mtimes?: boolean } = {}): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (rel: string) => {
    const entries = (await fs.readdir(path.join(dir, rel))).sort();
    for (const name of entries) {
      const r = `${rel}/${name}`;
      const p = path.join(dir, r);
      const st = await fs.lstat(p);
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : st.isCharacterDevice() ? 'chr' : st.isBlockDevice() ? 'blk' : st.isFIFO() ? 'fifo' : 'other';
      let detail = '';
      if (type === 'file') detail = createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16);
      if (type === 'link') detail = await fs.readlink(p);
      if (type === 'chr' || type === 'blk') detail = String(st.rdev);
      if (opts.mtimes) detail += ` @${Math.floor(st.mtimeMs / 1000)}`;
      out.push({ path: r, type, mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}`, detail });
      if (type === 'dir') await visit(r);
    }
  };
  await visit('');
  return out;
}

/** The mount table, read synchronously (teardown runs in sync code) with the tool's parser. */
export function mountTable(): MountEntry[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** Mounts still present below dir (a test must leave none). */
export function mountsBelow(dir: string): string[] {
  return mountTable()
    .map((m) => m.target)
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}
