// Errors of @napi-rs/xattr (extended attributes in process, acting on a symlink itself): its
// calls throw an Error whose message ends in `(os error N)`. The walks that touch the xattrs
// of every entry of an upper dir are made by the tree helper (tree-ops.ts).

export const ENOTSUP = 95;

/** The errno of a failed @napi-rs/xattr call (its message ends in `(os error N)`). */
export function osErrno(err: unknown): number | undefined {
  const m = /\(os error (\d+)\)\s*$/.exec(err instanceof Error ? err.message : String(err));
  return m ? Number(m[1]) : undefined;
}
