// prune-identical: drops upper entries that the lowers already show identically (type,
// content, mode, owner, xattrs, and mtime as the packed layer will have it: to the second,
// clamped to SOURCE_DATE_EPOCH), and directories left empty and unchanged. Whiteouts and
// opaque directories (with everything in them) stay: they are what the layer changes.
// The stacked result is unchanged; directories that stay keep their times. Names are bytes
// (byte-path.ts): every path below is a byte-path string, given to fs as its bytes.

import { lstatSync, readdirSync, rmdirSync, type Stats, unlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { equalOnWorker } from '../process/file-workers.js';
import { checkInterrupted } from '../process/interrupt.js';
import type { Runner } from '../process/run.js';
import { bytesOf, readLinkNameSync, readNamesSync } from './byte-path.js';
import { xattrNamesOf, xattrsOf } from './native-xattrs.js';

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
  runner: Runner;
  signal: AbortSignal;
}

/** What pruning keeps of an upper entry (not the whole Stats: thousands of them add up). */
interface Entry {
  rel: string;
  dir: boolean;
  size: number;
  /** dev:ino, for names of an inode with more than one link. */
  linked: string | undefined;
  atimeMs: number;
  mtimeMs: number;
  candidate: boolean;
  /** Children that stay (left out of `children`, which holds only what pruning may remove). */
  keepsOthers: boolean;
  children: Entry[];
  /** dev:ino of the lower counterpart, for candidates. */
  lowerId?: string;
}

const OVERLAY_PRIVATE = /^trusted\.overlay\./;
/** Overlay xattrs that make an entry mean something else than it shows: never pruned. */
const OVERLAY_MEANING = new Set(['trusted.overlay.redirect', 'trusted.overlay.metacopy']);
/**
 * Entries being compared at once: enough for the file threads to get full batches while this
 * thread goes on with metadata (each entry in flight is small; the threads hold the buffers).
 */
const PARALLEL = 256;
/** Children of a directory scanned at once. */
const FANOUT = 64;

export async function pruneIdentical(input: PruneInput): Promise<PruneStats> {
  const scope = input.onlyDirs ? withAncestors(input.onlyDirs) : undefined;
  const stats: PruneStats = { files: 0, dirs: 0, bytes: 0 };
  const tree = await scan(input, '', scope, new Comparer(PARALLEL));
  keepLinkGroups(tree);
  // Plain system calls: thousands of removals, each through the thread pool, would spend
  // more time waiting for it than removing.
  const removeIdentical = (e: Entry): boolean => {
    checkInterrupted(input.signal);
    const p = bytesOf(path.join(input.upper, e.rel));
    if (e.dir) {
      let allGone = true;
      let removedSome = false;
      for (const c of e.children) {
        if (removeIdentical(c)) removedSome = true;
        else allGone = false;
      }
      if (e.rel !== '' && allGone && !e.keepsOthers && e.candidate && readdirSync(p).length === 0) {
        rmdirSync(p);
        stats.dirs++;
        return true;
      }
      // Removing entries touched the directory's times; it keeps the ones the steps gave it.
      if (removedSome) utimesSync(p, e.atimeMs / 1000, e.mtimeMs / 1000);
      return false;
    }
    if (!e.candidate) return false;
    unlinkSync(p);
    stats.files++;
    stats.bytes += e.size;
    return true;
  };
  removeIdentical(tree);
  return stats;
}

/**
 * Walks the upper, marking entries whose lower counterpart matches (type, metadata, content, xattrs).
 * Directories are walked as they come; the work on other entries (stat both sides, compare
 * content) takes one of a few slots, so a huge directory does not hold thousands of entries
 * in flight at once.
 */
async function scan(
  input: PruneInput,
  rel: string,
  scope: Set<string> | undefined,
  slots: Comparer,
): Promise<Entry> {
  checkInterrupted(input.signal);
  const upperPath = path.join(input.upper, rel);
  const st = lstatSync(bytesOf(upperPath));
  const entry = entryOf(rel, st);
  // An opaque directory is what the layer changes, with everything in it.
  if ((await xattrNamesOf(input.runner, upperPath)).includes('trusted.overlay.opaque')) return entry;
  const dirents = readNamesSync(upperPath);
  // A bounded number of children at a time (a directory of 100k files holds no 100k promises).
  for (let i = 0; i < dirents.length; i += FANOUT) {
    const chunk = await Promise.all(
      dirents.slice(i, i + FANOUT).map((d) => {
        const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
        // Outside the scope: a child that keeps its directory, never pruned itself.
        if (scope && !scope.has('/' + childRel)) return Promise.resolve(entryOf(childRel, st));
        if (d.dir) return scan(input, childRel, scope, slots);
        return slots.run(() => leaf(input, childRel, scope));
      }),
    );
    // Only what removal acts on stays in memory: candidates, directories below which something
    // may go, and names of hardlinked inodes (decided together); any other entry only keeps
    // this directory in place.
    for (const c of chunk) {
      if (c.candidate || c.linked !== undefined || c.children.length > 0) entry.children.push(c);
      else entry.keepsOthers = true;
    }
  }
  if (rel !== '') await markIfIdentical(input, entry, st, () => Promise.resolve(true));
  return entry;
}

/** A non-directory entry of the upper. */
async function leaf(input: PruneInput, rel: string, scope: Set<string> | undefined): Promise<Entry> {
  checkInterrupted(input.signal);
  // Metadata with plain system calls: a round trip through the thread pool per stat costs
  // more than the stat itself, thousands of times over.
  const st = lstatSync(bytesOf(path.join(input.upper, rel)));
  const entry = entryOf(rel, st);
  // Whiteouts are what the layer deletes; with a scope only directories are pruned.
  if (isWhiteout(st) || scope) return entry;
  await markIfIdentical(input, entry, st, (lower) => sameContent(input, rel, st, lower));
  return entry;
}

function entryOf(rel: string, st: Stats): Entry {
  return {
    rel,
    dir: st.isDirectory(),
    size: st.size,
    linked: !st.isDirectory() && st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined,
    atimeMs: st.atimeMs,
    mtimeMs: st.mtimeMs,
    candidate: false,
    keepsOthers: false,
    children: [],
  };
}

async function markIfIdentical(
  input: PruneInput,
  entry: Entry,
  st: Stats,
  same: (lower: Stats) => Promise<boolean>,
): Promise<void> {
  const lower = lstatOrNone(path.join(input.lowerView, entry.rel));
  if (
    lower &&
    sameMeta(st, lower, input.sourceDateEpoch) &&
    (await same(lower)) &&
    (await samePortableXattrs(input.runner, path.join(input.upper, entry.rel), path.join(input.lowerView, entry.rel)))
  ) {
    entry.candidate = true;
    entry.lowerId = `${lower.dev}:${lower.ino}`;
  }
}

/**
 * Names of one upper inode go together: pruning only some of them would split the hardlink
 * (the pruned names would show the lower inode). They go only if all are identical to lower
 * names of one lower inode.
 */
function keepLinkGroups(tree: Entry): void {
  const groups = new Map<string, Entry[]>();
  const visit = (e: Entry) => {
    if (e.linked !== undefined) {
      const group = groups.get(e.linked);
      if (group) group.push(e);
      else groups.set(e.linked, [e]);
    }
    e.children.forEach(visit);
  };
  visit(tree);
  for (const group of groups.values()) {
    const together = group.every((e) => e.candidate) && new Set(group.map((e) => e.lowerId)).size === 1;
    if (!together) for (const e of group) e.candidate = false;
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** The mtime a packed layer records: whole seconds, clamped to SOURCE_DATE_EPOCH. */
export function packedMtime(st: Stats, sourceDateEpoch: number | undefined): number {
  const s = Math.floor(st.mtimeMs / 1000);
  return sourceDateEpoch !== undefined && s > sourceDateEpoch ? sourceDateEpoch : s;
}

function sameMeta(a: Stats, b: Stats, sourceDateEpoch: number | undefined): boolean {
  return (
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    // The lower shows its time as packed (its own clamp applied).
    packedMtime(a, sourceDateEpoch) === Math.floor(b.mtimeMs / 1000) &&
    (a.isDirectory() || a.size === b.size) &&
    ((!a.isCharacterDevice() && !a.isBlockDevice()) || a.rdev === b.rdev) &&
    !isWhiteout(b)
  );
}

async function sameContent(input: PruneInput, rel: string, a: Stats, b: Stats): Promise<boolean> {
  if (a.isSymbolicLink()) {
    return readLinkNameSync(path.join(input.upper, rel)) === readLinkNameSync(path.join(input.lowerView, rel));
  }
  if (!a.isFile()) return true;
  if (a.size !== b.size) return false;
  if (a.size === 0) return true;
  // Read on the file threads: the lower's side is squashfs decompression, on every core.
  return equalOnWorker(bytesOf(path.join(input.upper, rel)), bytesOf(path.join(input.lowerView, rel)), a.size, input.signal);
}

/** The entry's lstat; undefined when there is none (or its parent is no directory). */
function lstatOrNone(p: string): Stats | undefined {
  try {
    return lstatSync(bytesOf(p));
  } catch {
    return undefined;
  }
}

/** Runs at most `limit` comparisons at once, so memory stays flat however big the tree. */
class Comparer {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Whether two files (byte-path strings), both `size` bytes long, hold the same bytes; read on the file threads. */
export function equalFiles(a: string, b: string, size: number, signal?: AbortSignal): Promise<boolean> {
  return equalOnWorker(bytesOf(a), bytesOf(b), size, signal);
}

/**
 * Whether two entries have the same xattrs, overlay-private ones aside; never for an upper
 * entry that holds a redirect or metacopy (finalize refuses those). Most entries have none
 * to compare: their names settle it without reading a value.
 */
async function samePortableXattrs(runner: Runner, upper: string, lower: string): Promise<boolean> {
  const upperNames = await xattrNamesOf(runner, upper);
  if (upperNames.some((n) => OVERLAY_MEANING.has(n))) return false;
  const portable = (names: string[]) => names.filter((n) => !OVERLAY_PRIVATE.test(n));
  if (portable(upperNames).length === 0 && portable(await xattrNamesOf(runner, lower)).length === 0) return true;
  return equalXattrs(await xattrsOf(runner, upper), await xattrsOf(runner, lower));
}

function equalXattrs(a: Map<string, string> | undefined, b: Map<string, string> | undefined): boolean {
  const norm = (m: Map<string, string> | undefined) =>
    [...(m ?? new Map<string, string>())].filter(([k]) => !OVERLAY_PRIVATE.test(k)).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
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
