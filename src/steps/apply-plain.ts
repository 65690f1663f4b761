// Applying a small plain stage (copy's, made by stage-copy.ts) onto the layer root in process,
// instead of starting rsync in a sandbox. rsync costs 70-100 ms however little it copies (its
// processes wait for one another in 20 ms sleeps), which is most of a fleet layer's time. Only
// what rsync -aHAX --checksum --keep-dirlinks would do the same way is done here, so that the
// layer is the same whichever way it was applied: new entries, files whose content is unchanged
// (attributes only) or changed (replaced), a symlink retargeted. The whole stage is looked at
// first; if any entry needs more (a kind changed, xattrs or ACLs to remove, a symlink in the
// root where the stage has a directory, the sandbox's own name), or anything cannot be looked
// at, nothing is written and rsync applies it, as before.
//
// No symlink in the root is ever followed: every directory written into is the resolved
// destination or one this walk lstat'ed as a real directory below it, so no host path outside
// the root is reached. Nothing else runs in the root meanwhile (a step's sandbox is gone when
// it ends), so what was looked at stays as it was.

import { type BigIntStats, chmodSync, closeSync, constants, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { listAttributesSync } from '@napi-rs/xattr';
import { bytesOf, isTextPath, readNamesSync } from '../layer/byte-path.js';
import { ENOTSUP, osErrno } from '../layer/native-xattrs.js';
import { hostPath } from '../layer/root-path.js';
import { HOST_DIR } from '../mount/host-tools.js';
import { dateOf } from './stage-copy.js';

/** One staged entry and what is at its place in the root. */
type Op =
  | { kind: 'dir'; dst: string; st: BigIntStats; existing: BigIntStats | undefined; children: Op[] }
  | { kind: 'file'; src: string; dst: string; st: BigIntStats; existing: BigIntStats | undefined; same: boolean }
  | { kind: 'link'; src: string; dst: string; st: BigIntStats; existing: BigIntStats | undefined; same: boolean };

/**
 * Makes the in-root directory `destInRoot` (resolved, existing) hold what `stage` holds, the
 * way applyTree's rsync would without --delete. Returns false, having written nothing, when
 * some entry is not one it handles.
 */
export function applyPlainTree(root: string, stage: string, destInRoot: string): boolean {
  // Written there, rsync's entries would land in its sandbox's own mount, and be lost.
  if (`${destInRoot}/`.startsWith(`${HOST_DIR}/`)) return false;
  let op: Op | undefined;
  try {
    const top = lstatSync(bytesOf(stage), { bigint: true });
    const dest = hostPath(root, destInRoot);
    const existing = lstatSync(bytesOf(dest), { bigint: true });
    if (!existing.isDirectory() || hasXattrs(dest)) return false;
    const children = planDir(stage, dest, destInRoot === '/');
    op = children && { kind: 'dir', dst: dest, st: top, existing, children };
  } catch {
    // What cannot be looked at (a path too long, an xattr that does not list) is rsync's to judge.
    return false;
  }
  if (!op) return false;
  run(op);
  return true;
}

/** The ops for the entries of stage dir `src` into the real directory `dst` of the root; undefined: not plain. */
function planDir(src: string, dst: string, atRoot: boolean): Op[] | undefined {
  const ops: Op[] = [];
  for (const { name } of readNamesSync(src)) {
    // In the sandbox, the root's HOST_DIR is the sandbox's own mount.
    if (atRoot && `/${name}` === HOST_DIR) return undefined;
    const from = path.join(src, name);
    const to = path.join(dst, name);
    const st = lstatSync(bytesOf(from), { bigint: true });
    const there = lstatSync(bytesOf(to), { bigint: true, throwIfNoEntry: false });
    if (there && hasXattrs(to)) return undefined;
    let op: Op | undefined;
    if (st.isDirectory()) {
      // A symlink to a directory (merged-/usr /lib) is written through by rsync --keep-dirlinks,
      // which also sets the staged directory's time on the symlink itself: rsync's to do.
      if (!there || there.isDirectory()) {
        const children = there ? planDir(from, to, false) : newTree(from, to);
        op = children && { kind: 'dir', dst: to, st, existing: there, children };
      }
    } else if (st.isFile()) {
      if (!there || there.isFile()) op = { kind: 'file', src: from, dst: to, st, existing: there, same: !!there && sameContent(from, to, st, there) };
    } else if (st.isSymbolicLink()) {
      if (!there || there.isSymbolicLink()) {
        const same = !!there && readlinkSync(bytesOf(from), { encoding: 'buffer' }).equals(readlinkSync(bytesOf(to), { encoding: 'buffer' }));
        op = { kind: 'link', src: from, dst: to, st, existing: there, same };
      }
    }
    if (!op) return undefined;
    ops.push(op);
  }
  return ops;
}

/** The ops for a stage dir whose place in the root is free: everything is new below it. */
function newTree(src: string, dst: string): Op[] | undefined {
  const ops: Op[] = [];
  for (const { name } of readNamesSync(src)) {
    const from = path.join(src, name);
    const to = path.join(dst, name);
    const st = lstatSync(bytesOf(from), { bigint: true });
    if (st.isDirectory()) {
      const children = newTree(from, to);
      if (!children) return undefined;
      ops.push({ kind: 'dir', dst: to, st, existing: undefined, children });
    } else if (st.isFile() || st.isSymbolicLink()) {
      ops.push({ kind: st.isFile() ? 'file' : 'link', src: from, dst: to, st, existing: undefined, same: false });
    } else {
      return undefined; // a plain stage holds nothing else
    }
  }
  return ops;
}

function run(op: Op): void {
  switch (op.kind) {
    case 'dir':
      if (!op.existing) mkdirSync(bytesOf(op.dst), { mode: 0o700 });
      op.children.forEach(run);
      // After the children, whose creation moved the directory's times.
      settle(op.dst, op.st, op.existing ? lstatSync(bytesOf(op.dst), { bigint: true }) : undefined);
      return;
    case 'file':
      if (op.same) settle(op.dst, op.st, op.existing);
      else replace(op.dst, (p) => copyFileSync(bytesOf(op.src), bytesOf(p), constants.COPYFILE_EXCL), op.st, op.existing);
      return;
    case 'link':
      if (op.same) settle(op.dst, op.st, op.existing);
      else replace(op.dst, (p) => symlinkSync(readlinkSync(bytesOf(op.src), { encoding: 'buffer' }), bytesOf(p)), op.st, op.existing);
      return;
  }
}

/** Writes a new entry at `dst`; over an existing one, as rsync does: beside it, then renamed over it. */
function replace(dst: string, make: (p: string) => void, st: BigIntStats, existing: BigIntStats | undefined): void {
  // A short name of its own: beside a name of 255 bytes, rsync shortens its own too.
  const at = existing ? path.join(path.dirname(dst), `.sqsh-layers-${randomBytes(6).toString('hex')}`) : dst;
  make(at);
  settle(at, st, undefined);
  if (at !== dst) renameSync(bytesOf(at), bytesOf(dst));
}

/** Gives `p` the owner, permission bits and mtime of `st` where `now` (its lstat; undefined: new) differs. */
function settle(p: string, st: BigIntStats, now: BigIntStats | undefined): void {
  const target = bytesOf(p);
  const owner = !now || now.uid !== st.uid || now.gid !== st.gid;
  if (owner) lchownSync(target, Number(st.uid), Number(st.gid));
  // After the owner: chown clears set-user-ID and set-group-ID bits.
  if (!st.isSymbolicLink() && (owner || (now.mode & 0o7777n) !== (st.mode & 0o7777n))) chmodSync(target, Number(st.mode & 0o7777n));
  if (!now || now.mtimeNs !== st.mtimeNs) lutimesSync(target, dateOf(st.atimeNs), dateOf(st.mtimeNs));
}

/** Whether the entry at `p` (a symlink itself) has xattrs, or may have: a name the library cannot take. */
function hasXattrs(p: string): boolean {
  if (!isTextPath(p)) return true;
  try {
    return listAttributesSync(p).length > 0;
  } catch (err) {
    // A squashfs without an xattr table answers ENOTSUP: it has none.
    if (osErrno(err) === ENOTSUP) return false;
    throw err;
  }
}

/** Whether two regular files hold the same bytes (rsync --checksum's question). */
function sameContent(a: string, b: string, sa: BigIntStats, sb: BigIntStats): boolean {
  if (sa.size !== sb.size) return false;
  const fa = openSync(bytesOf(a), 'r');
  try {
    const fb = openSync(bytesOf(b), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const ba = Buffer.allocUnsafe(1 << 16);
      const bb = Buffer.allocUnsafe(1 << 16);
      for (;;) {
        const n = readSync(fa, ba, 0, ba.length, null);
        if (n === 0) return true;
        let m = 0;
        while (m < n) {
          const k = readSync(fb, bb, m, n - m, null);
          if (k === 0) return false;
          m += k;
        }
        if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
      }
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}
