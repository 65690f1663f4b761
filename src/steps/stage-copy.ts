// Staging a small plain project tree for `copy` in process, instead of starting `cp -a`: a
// process costs more than copying a few files (on a loaded machine, 10-20 ms a start). Only
// trees that cp -a and this copy the same way qualify: directories, regular files with one
// name, symlinks; no xattr (ACLs are xattrs), names of UTF-8 text; few entries and bytes.
// Anything else is staged by cp -a, as before. Owners, permission bits and times are kept
// (times to the millisecond or so: packing keeps whole seconds, and those are exact).

import { type BigIntStats, chmodSync, constants, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { listAttributesSync } from '@napi-rs/xattr';
import { bytesOf, isTextPath, readNamesSync } from '../layer/byte-path.js';

/** Larger trees go to cp -a: one process is then the smaller cost. */
export const PLAIN_LIMITS = { entries: 256, bytes: 64 * 2 ** 20 };

interface Plain {
  from: string;
  to: string;
  st: BigIntStats;
}

/**
 * The entries to copy, parents before children, when `from` (an lstat'ed file or symlink, or
 * a directory whose content is wanted) is plain and small; undefined otherwise.
 */
function plainEntries(from: string, to: string, contentOnly: boolean): Plain[] | undefined {
  const out: Plain[] = [];
  let bytes = 0;
  const visit = (src: string, dst: string, top: boolean): boolean => {
    if (!isTextPath(src)) return false;
    const st = top && contentOnly ? undefined : lstatSync(src, { bigint: true });
    if (st) {
      if (!(st.isDirectory() || st.isSymbolicLink() || (st.isFile() && st.nlink === 1n))) return false;
      if (listAttributesSync(src).length > 0) return false;
      bytes += st.isFile() ? Number(st.size) : 0;
      out.push({ from: src, to: dst, st });
      if (out.length > PLAIN_LIMITS.entries || bytes > PLAIN_LIMITS.bytes) return false;
      if (!st.isDirectory()) return true;
    }
    for (const e of readNamesSync(src)) if (!visit(path.join(src, e.name), path.join(dst, e.name), false)) return false;
    return true;
  };
  return visit(from, to, true) ? out : undefined;
}

/**
 * A time in ns as a Date (ms, floored). A Date, not a number of seconds: Node takes a negative
 * number for "now", and a time before 1970 is a time like another.
 */
export function dateOf(ns: bigint): Date {
  const MS = 1_000_000n;
  let ms = ns / MS;
  if (ms * MS > ns) ms -= 1n;
  return new Date(Number(ms));
}

/**
 * Copies `from` to `to` the way `cp -a` would (`contentOnly`: the entries of directory `from`
 * into the existing directory `to`), when the tree is plain and small (see above). Returns
 * false, having written nothing, when it is not: then cp -a must do it.
 */
export function copyPlainTree(from: string, to: string, contentOnly: boolean): boolean {
  const entries = plainEntries(from, to, contentOnly);
  if (!entries) return false;
  for (const { from: src, to: dst, st } of entries) {
    const target = bytesOf(dst);
    if (st.isDirectory()) mkdirSync(target, { mode: 0o700 });
    else if (st.isSymbolicLink()) symlinkSync(readlinkSync(bytesOf(src), { encoding: 'buffer' }), target);
    else copyFileSync(bytesOf(src), target, constants.COPYFILE_EXCL);
  }
  // Children first: creating an entry changes its directory's times.
  for (const { to: dst, st } of entries.reverse()) {
    const target = bytesOf(dst);
    lchownSync(target, Number(st.uid), Number(st.gid));
    // After the owner: chown clears set-user-ID and set-group-ID bits.
    if (!st.isSymbolicLink()) chmodSync(target, Number(st.mode & 0o7777n));
    lutimesSync(target, dateOf(st.atimeNs), dateOf(st.mtimeNs));
  }
  return true;
}
