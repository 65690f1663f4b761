// Turns a build's upper dir into a portable layer, after the overlay is unmounted:
// non-portable overlay xattrs stripped (opaque kept), redirect/metacopy refused, `exclude`
// applied, and entries identical to the lowers pruned.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { checkInterrupted } from '../process/interrupt.js';
import type { Runner } from '../process/run.js';
import { bytesOf, readNames, shownPath } from './byte-path.js';
import { globToRegExp } from './root-path.js';
import { type PruneStats, pruneIdentical } from './prune.js';
import { readTreeXattrs, removeXattr } from './xattrs.js';

export interface FinalizeInput {
  upper: string;
  /** What the lowers stack to (undefined for a bottom layer). */
  lowerView: string | undefined;
  exclude: string[];
  pruneIdentical: boolean;
  /** In-root directories that sandbox machinery touched (pruned even without prune-identical). */
  touchedDirs: Set<string>;
  /** Packing clamps mtimes to it: pruning compares times as they will be packed. */
  sourceDateEpoch: number | undefined;
  runner: Runner;
  signal: AbortSignal;
}

export interface FinalizeStats {
  strippedXattrs: number;
  excluded: number;
  pruned: PruneStats;
}

export async function finalizeUpper(f: FinalizeInput): Promise<FinalizeStats> {
  const stats: FinalizeStats = { strippedXattrs: 0, excluded: 0, pruned: { files: 0, dirs: 0, bytes: 0 } };
  stats.excluded = await applyExclude(f.upper, f.exclude, f.signal);

  const xattrs = await readTreeXattrs(f.runner, f.upper);
  const forbidden: string[] = [];
  const strip = new Map<string, string[]>();
  // Hardlinks share their xattrs: an attribute is removed through one name only, since
  // setfattr fails on the second name once it is gone.
  const stripped = new Set<string>();
  for (const [p, attrs] of xattrs) {
    let inode: string | undefined;
    for (const [name, value] of attrs) {
      if (!name.startsWith('trusted.overlay.')) continue;
      if (name === 'trusted.overlay.redirect' || name === 'trusted.overlay.metacopy') {
        forbidden.push(shownPath('/' + path.relative(f.upper, p)));
      } else if (!(name === 'trusted.overlay.opaque' && hexIs(value, 'y'))) {
        attrs.delete(name);
        inode ??= await inodeOf(p);
        if (stripped.has(`${inode} ${name}`)) continue;
        stripped.add(`${inode} ${name}`);
        const paths = strip.get(name);
        if (paths) paths.push(p);
        else strip.set(name, [p]);
      }
    }
  }
  if (forbidden.length > 0) throw new FailureError({ reason: 'not-portable', paths: forbidden });
  for (const [name, paths] of strip) {
    await removeXattr(f.runner, name, paths);
    stats.strippedXattrs += paths.length;
  }

  if (f.lowerView && (f.pruneIdentical || f.touchedDirs.size > 0)) {
    stats.pruned = await pruneIdentical({
      upper: f.upper,
      lowerView: f.lowerView,
      upperXattrs: xattrs,
      onlyDirs: f.pruneIdentical ? undefined : f.touchedDirs,
      sourceDateEpoch: f.sourceDateEpoch,
      runner: f.runner,
      signal: f.signal,
    });
  }
  return stats;
}

async function inodeOf(p: string): Promise<string> {
  const st = await fs.lstat(bytesOf(p));
  return `${st.dev}:${st.ino}`;
}

function hexIs(value: string, text: string): boolean {
  return value === `0x${Buffer.from(text).toString('hex')}` || value === `"${text}"`;
}

/**
 * Deletes upper entries matching the recipe's `exclude` globs; returns how many went. The
 * directories they were in keep their times: excluding is packing, not a change of the tree.
 * Names are matched and removed as the bytes they are (byte-path.ts).
 */
async function applyExclude(upper: string, globs: string[], signal: AbortSignal): Promise<number> {
  if (globs.length === 0) return 0;
  const res = globs.map(globToRegExp);
  let count = 0;
  const visit = async (rel: string) => {
    checkInterrupted(signal);
    const dir = path.join(upper, rel);
    const entries = await readNames(dir);
    const before = await fs.lstat(bytesOf(dir));
    let removed = false;
    for (const e of entries) {
      const childRel = `${rel}/${e.name}`;
      if (res.some((re) => re.test(childRel))) {
        await fs.rm(bytesOf(path.join(upper, childRel)), { recursive: true, force: true });
        count++;
        removed = true;
      } else if (e.dir) {
        await visit(childRel);
      }
    }
    if (removed) await fs.utimes(bytesOf(dir), before.atime, before.mtime);
  };
  await visit('');
  return count;
}
