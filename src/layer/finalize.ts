// Turns a build's upper dir into a portable layer, after the overlay is unmounted:
// `exclude` applied, entries identical to the lowers pruned, then non-portable overlay xattrs
// stripped (opaque kept) and redirect/metacopy refused. Pruning first means the xattrs of a
// full image restored over its parent are looked at once, not stripped from thousands of
// entries that then go anyway (pruning ignores overlay-private xattrs, and keeps what holds a
// redirect or metacopy, so the refusal still sees it). A bottom layer made without `host`
// steps is not walked for xattrs: nothing there could set trusted.* (layer-plan.ts).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { checkInterrupted } from '../process/interrupt.js';
import { removeTreeOnWorker } from '../process/file-workers.js';
import { bytesOf, readNames } from './byte-path.js';
import { globToRegExp } from './root-path.js';
import { type PruneStats, pruneIdentical } from './prune.js';
import { contentTimes, stripOverlayXattrs } from './tree-ops.js';

export interface FinalizeInput {
  upper: string;
  /** What the lowers stack to (undefined for a bottom layer). */
  lowerView: string | undefined;
  exclude: string[];
  pruneIdentical: boolean;
  /** Whether to look for overlay xattrs at all (LayerPlan.finalize.stripXattrs). */
  stripXattrs: boolean;
  /** In-root directories that sandbox machinery touched (pruned even without prune-identical). */
  touchedDirs: Set<string>;
  /** Packing clamps mtimes to it: pruning compares times as they will be packed. */
  sourceDateEpoch: number | undefined;
  /**
   * Without a source-date-epoch, for a layer whose content comes only from its inputs: when
   * (ms, the kernel's clock) the build began writing the upper. Times from then on were made by
   * the build's clock; they are clamped to the newest time the inputs brought (contentEpoch),
   * so a rebuild gives the same bytes.
   */
  clockSince?: number;
  signal: AbortSignal;
}

export interface FinalizeStats {
  strippedXattrs: number;
  excluded: number;
  pruned: PruneStats;
  /** The epoch derived from the content (with clockSince): pack with it as SOURCE_DATE_EPOCH. */
  contentEpoch?: number;
  /**
   * (With clockSince) the only entries whose mtime is not yet what the pack records (some may
   * have been pruned since): building ahead settles just these (engine/layer-build.ts).
   * Undefined: too many to list, or not looked at.
   */
  unsettled?: string[];
}

export async function finalizeUpper(f: FinalizeInput): Promise<FinalizeStats> {
  const stats: FinalizeStats = { strippedXattrs: 0, excluded: 0, pruned: { files: 0, dirs: 0, bytes: 0 } };
  stats.excluded = await applyExclude(f.upper, f.exclude, f.signal);
  if (f.clockSince !== undefined) {
    // The newest time the inputs brought, and the entries not settled yet (tree-ops.ts).
    const times = await contentTimes(f.upper, f.clockSince, f.signal);
    stats.contentEpoch = times.newest;
    // Pruning after it removes entries and puts back a kept directory's times as they were.
    stats.unsettled = times.unsettled;
  }
  const sourceDateEpoch = f.sourceDateEpoch ?? stats.contentEpoch;

  if (f.lowerView && (f.pruneIdentical || f.touchedDirs.size > 0)) {
    stats.pruned = await pruneIdentical({
      upper: f.upper,
      lowerView: f.lowerView,
      onlyDirs: f.pruneIdentical ? undefined : f.touchedDirs,
      sourceDateEpoch,
      signal: f.signal,
    });
  }

  if (f.stripXattrs) {
    const walk = await stripOverlayXattrs(f.upper, f.signal);
    if (walk.forbidden.length > 0) throw new FailureError({ reason: 'not-portable', paths: walk.forbidden });
    stats.strippedXattrs = walk.stripped;
  }
  return stats;
}

const NS = 1_000_000_000n;

/** Whole seconds of a time in ns, rounded down (also before 1970). */
function floorSeconds(ns: bigint): bigint {
  const sec = ns / NS;
  return sec * NS > ns ? sec - 1n : sec;
}

/** The mtime a pack records for one of `ns`: whole seconds, clamped to `epoch`, in squashfs's unsigned 32 bits. */
export function packedSeconds(ns: bigint, epoch: number | undefined): bigint {
  let sec = floorSeconds(ns);
  if (epoch !== undefined && sec > BigInt(epoch)) sec = BigInt(epoch);
  return ((sec % 2n ** 32n) + 2n ** 32n) % 2n ** 32n;
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
        await removeTreeOnWorker(bytesOf(path.join(upper, childRel)), signal);
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
