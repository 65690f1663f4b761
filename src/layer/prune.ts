// prune-identical: drops upper entries that the lowers already show identically (type,
// content, mode, owner, xattrs, and mtime as the packed layer will have it: to the second,
// clamped to SOURCE_DATE_EPOCH), and directories left empty and unchanged. Whiteouts and
// opaque directories (with everything in them) stay: they are what the layer changes.
// The stacked result is unchanged; directories that stay keep their times.
//
// The walk is made by the tree helper (tree-ops.ts, native/tree-ops.c), by these rules:
// - An entry is identical when the lower view has one of the same type, mode, owner, mtime
//   (the upper's as packed, the lower's as it shows), size (not for directories), device
//   number, content (a file's bytes, a link's target bytes) and xattrs, overlay-private ones
//   (trusted.overlay.*) aside; one holding trusted.overlay.redirect or metacopy never is.
//   Content is read only when all the rest matches.
// - An identical non-directory goes at once; the names of an inode with more than one link
//   go together once all are seen, only if they are all the names of the inode, all
//   identical, all to names of one lower inode (pruning some would split the hardlink).
// - A directory is walked only when its lower counterpart is a real directory (never through
//   a lower symlink, which could lead anywhere on the host); an opaque one is not walked.
//   It goes when it is identical and nothing in it stays; else, if something in it went,
//   its times are put back to what the steps gave it (removing entries touched them). The
//   directories above a link group wait for it.
// - Names are bytes (byte-path.ts): the helper takes every path as its bytes.

import path from 'node:path';
import { equalOnWorker } from '../process/file-workers.js';
import { bytesOf } from './byte-path.js';
import { pruneTree } from './tree-ops.js';

export interface PruneStats {
  files: number;
  dirs: number;
  bytes: number;
}

export interface PruneInput {
  upper: string;
  /** A directory showing what the lowers stack to. */
  lowerView: string;
  /** Packing clamps the upper's newer mtimes to it (the lowers show theirs as packed). */
  sourceDateEpoch: number | undefined;
  /**
   * Limits pruning to these in-root directories and their ancestors, directories only: used
   * when prune-identical is off, to undo copy-ups that only sandbox machinery caused.
   */
  onlyDirs?: Set<string>;
  signal: AbortSignal;
}

export async function pruneIdentical(input: PruneInput): Promise<PruneStats> {
  const scope = input.onlyDirs ? [...withAncestors(input.onlyDirs)] : undefined;
  return pruneTree(input.upper, input.lowerView, input.sourceDateEpoch, scope, input.signal);
}

/** Whether two files (byte-path strings), both `size` bytes long, hold the same bytes; read on the file threads. */
export function equalFiles(a: string, b: string, size: number, signal?: AbortSignal): Promise<boolean> {
  return equalOnWorker(bytesOf(a), bytesOf(b), size, signal);
}

function withAncestors(dirs: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const d of dirs) {
    let cur = d;
    while (cur !== '/' && cur !== '') {
      out.add(cur);
      cur = path.posix.dirname(cur);
    }
  }
  return out;
}
