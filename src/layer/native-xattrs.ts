// Extended attributes in process (@napi-rs/xattr, which acts on a symlink itself): one system
// call per entry instead of a getfattr/setfattr process per batch of paths. The library takes
// text paths only, so a path holding bytes that are not UTF-8 (byte-path.ts) goes through the
// attr tools instead (xattrs.ts), exactly as before: slower, but such names are rare.
// Values come in getfattr's hex form (`0x79`, `0x` when empty), so both routes compare equal.

import { getAttributeSync, listAttributesSync, removeAttributeSync } from '@napi-rs/xattr';
import type { Runner } from '../process/run.js';
import { isTextPath } from './byte-path.js';
import { readXattrs, removeXattr } from './xattrs.js';

const ENODATA = 61;
export const ENOTSUP = 95;

/** The errno of a failed @napi-rs/xattr call (its message ends in `(os error N)`). */
export function osErrno(err: unknown): number | undefined {
  const m = /\(os error (\d+)\)\s*$/.exec(err instanceof Error ? err.message : String(err));
  return m ? Number(m[1]) : undefined;
}

/** The names of the xattrs of the entry at `p` (a symlink itself): one system call, no values. */
export async function xattrNamesOf(runner: Runner, p: string): Promise<string[]> {
  if (!isTextPath(p)) return [...((await readXattrs(runner, [p])).get(p)?.keys() ?? [])];
  try {
    return listAttributesSync(p);
  } catch (err) {
    if (osErrno(err) === ENOTSUP) return [];
    throw asError(err, `listing the xattrs of ${p}`);
  }
}

/** Every xattr of the entry at `p` (a symlink itself, not its target). */
export async function xattrsOf(runner: Runner, p: string): Promise<Map<string, string>> {
  if (!isTextPath(p)) return (await readXattrs(runner, [p])).get(p) ?? new Map();
  let names: string[];
  try {
    names = listAttributesSync(p);
  } catch (err) {
    if (osErrno(err) === ENOTSUP) return new Map();
    throw asError(err, `listing the xattrs of ${p}`);
  }
  const out = new Map<string, string>();
  for (const name of names) {
    let value: Buffer | null;
    try {
      value = getAttributeSync(p, name);
    } catch (err) {
      // Removed since it was listed (another name of a hardlink had it stripped).
      if (osErrno(err) === ENODATA) continue;
      throw asError(err, `reading xattr ${name} of ${p}`);
    }
    if (value !== null) out.set(name, `0x${value.toString('hex')}`);
  }
  return out;
}

/** Removes attribute `name` of the entry at `p`; false when it had none (another name of its inode lost it first). */
export async function removeXattrOf(runner: Runner, p: string, name: string): Promise<boolean> {
  if (!isTextPath(p)) {
    const attrs = (await readXattrs(runner, [p])).get(p);
    if (!attrs?.has(name)) return false;
    await removeXattr(runner, name, [p]);
    return true;
  }
  try {
    removeAttributeSync(p, name);
    return true;
  } catch (err) {
    if (osErrno(err) === ENODATA) return false;
    throw asError(err, `removing xattr ${name} of ${p}`);
  }
}

function asError(err: unknown, what: string): Error {
  const e = new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  const errno = osErrno(err);
  if (errno !== undefined) (e as NodeJS.ErrnoException).errno = errno;
  return e;
}
