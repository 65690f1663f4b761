// prune-identical: drops upper entries that the lowers already show identically (type,
// content, mode, owner, xattrs, and mtime as the packed layer will have it: to the second,
// clamped to SOURCE_DATE_EPOCH), and directories left empty and unchanged. Whiteouts and
// opaque directories (with everything in them) stay: they are what the layer changes.
// The stacked result is unchanged; directories that stay keep their times. Names are bytes
// (byte-path.ts): every path below is a byte-path string, given to fs as its bytes.

import { lstatSync, readdirSync, rmdirSync, type Stats, unlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { equalOnWorker, leavesOnWorker } from '../process/file-workers.js';
import { checkInterrupted } from '../process/interrupt.js';
import type { Runner } from '../process/run.js';
import { bytesOf, isTextPath, type NamedEntry, readLinkNameSync, readNamesSync } from './byte-path.js';
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

/** A name of an upper inode with more than one link: its group is decided once all are seen. */
interface LinkedName {
  rel: string;
  size: number;
  candidate: boolean;
  /** dev:ino of the lower counterpart, for candidates. */
  lowerId?: string;
}

/**
 * A directory whose fate waits for link groups (below it) to be decided: kept in memory only
 * then, with the times it must keep.
 */
interface PendingDir {
  rel: string;
  atimeMs: number;
  mtimeMs: number;
  candidate: boolean;
  /** Children that stay whatever the link groups decide. */
  keepsOthers: boolean;
}

/** A child's fate, as its directory sees it. */
type Fate = 'gone' | 'kept' | 'pending';

const OVERLAY_PRIVATE = /^trusted\.overlay\./;
/** Overlay xattrs that make an entry mean something else than it shows: never pruned. */
const OVERLAY_MEANING = new Set(['trusted.overlay.redirect', 'trusted.overlay.metacopy']);
/**
 * Groups of files (of a directory, FANOUT at most) being compared at once: enough for the file
 * threads to get full batches while this thread goes on with metadata (each entry in flight is
 * small; the threads hold the buffers).
 */
const PARALLEL = 16;
/** Files of a directory compared at once, as one group. */
const FANOUT = 64;
/**
 * Subdirectories of a directory walked at once: many small directories (a docs tree) need
 * many walked at once to keep the file threads busy; while the directories being walked hold
 * more than HELD_NAMES names, one at a time.
 */
const SUBDIRS = 16;
const FEW_SUBDIRS = 1;
const HELD_NAMES = 100_000;

/**
 * One walk of the upper that removes as it goes: an identical entry goes as soon as it is
 * known (plain system calls: through the thread pool, thousands of removals would wait more
 * than they work), a directory once its children are done. Memory holds the directories being
 * walked and the names of hardlinked inodes, whatever the number of entries: names of one
 * inode go together, decided at the end, and so do the directories above them.
 */
export async function pruneIdentical(input: PruneInput): Promise<PruneStats> {
  const w: Walk = {
    input,
    scope: input.onlyDirs ? withAncestors(input.onlyDirs) : undefined,
    slots: new Comparer(PARALLEL),
    stats: { files: 0, dirs: 0, bytes: 0 },
    links: new Map(),
    pending: [],
    held: 0,
  };
  const p = (rel: string) => bytesOf(path.join(input.upper, rel));
  if (!lstatSync(bytesOf(input.lowerView)).isDirectory()) return w.stats;
  await scanDir(w, '');
  if (w.pending.length === 0) return w.stats;

  // Link groups: all names of an inode go, or none (pruning only some would split the
  // hardlink: they would show the lower inode); all must be identical to names of one lower inode.
  for (const { nlink, names } of w.links.values()) {
    const together = names.length === nlink && names.every((n) => n.candidate) && new Set(names.map((n) => n.lowerId)).size === 1;
    if (!together) continue;
    for (const n of names) {
      unlinkSync(p(n.rel));
      w.stats.files++;
      w.stats.bytes += n.size;
    }
  }
  // Then the directories that waited, children before parents (the order they were walked out of).
  for (const d of w.pending) {
    checkInterrupted(input.signal);
    if (d.rel !== '' && d.candidate && !d.keepsOthers && readdirSync(p(d.rel)).length === 0) {
      rmdirSync(p(d.rel));
      w.stats.dirs++;
    } else {
      // Removing entries touched the directory's times; it keeps the ones the steps gave it.
      utimesSync(p(d.rel), d.atimeMs / 1000, d.mtimeMs / 1000);
    }
  }
  return w.stats;
}

interface Walk {
  input: PruneInput;
  scope: Set<string> | undefined;
  slots: Comparer;
  stats: PruneStats;
  /** Names of hardlinked upper inodes, by dev:ino, with the inode's link count. */
  links: Map<string, { nlink: number; names: LinkedName[] }>;
  pending: PendingDir[];
  /** Names listed by the directories being walked. */
  held: number;
}

/**
 * A directory of the upper: its children are walked as they come (a bounded number at once;
 * the work on non-directories takes one of a few slots, so a huge directory does not hold
 * thousands of entries in flight), the identical ones removed; then the directory itself goes
 * if it is identical and empty.
 */
async function scanDir(w: Walk, rel: string): Promise<Fate> {
  const { input } = w;
  checkInterrupted(input.signal);
  const hostPath = bytesOf(path.join(input.upper, rel));
  const st = lstatSync(hostPath);
  // An opaque directory is what the layer changes, with everything in it.
  if ((await xattrNamesOf(input.runner, path.join(input.upper, rel))).includes('trusted.overlay.opaque')) return 'kept';
  const dirents = readNamesSync(path.join(input.upper, rel));
  w.held += dirents.length;
  try {
    return await walkEntries(w, rel, st, dirents);
  } finally {
    w.held -= dirents.length;
  }
}

/** The rest of scanDir, on the directory's entries. */
async function walkEntries(w: Walk, rel: string, st: Stats, dirents: NamedEntry[]): Promise<Fate> {
  const { input } = w;
  const hostPath = bytesOf(path.join(input.upper, rel));
  let keepsOthers = false;
  let removedSome = false;
  let waits = false;
  const childFate = (d: { name: string; dir: boolean }): Promise<Fate> => {
    const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
    // Outside the scope: a child that keeps its directory, never pruned itself.
    if (w.scope && !w.scope.has('/' + childRel)) return Promise.resolve('kept');
    // Below a directory whose lower counterpart is no real directory (a symlink, say, to
    // anywhere on the host), nothing is compared: the lower path would resolve through it.
    const lower = lstatOrNone(path.join(input.lowerView, childRel));
    return lower?.isDirectory() ? scanDir(w, childRel) : Promise.resolve<Fate>('kept');
  };
  const count = (fates: Fate[]) => {
    for (const f of fates) {
      if (f === 'gone') removedSome = true;
      else if (f === 'pending') waits = true;
      else keepsOthers = true;
    }
  };
  // The files first, a group at a time (a directory of 100k files holds no 100k promises);
  // then the subdirectories, a few at a time: what is in flight stays bounded however wide
  // and deep the tree, and the file threads still get full batches.
  const files = dirents.filter((d) => !d.dir).map((d) => d.name);
  const subdirs = dirents.filter((d) => d.dir);
  for (let i = 0; i < files.length; i += FANOUT) {
    const group = files.slice(i, i + FANOUT);
    count(await w.slots.run(() => leaves(w, rel, group)));
  }
  // A window sliding over the subdirectories, not batches: one deep subtree holds up no others.
  let next = 0;
  const walker = async () => {
    while (next < subdirs.length) count([await childFate(subdirs[next++]!)]);
  };
  await Promise.all(Array.from({ length: Math.min(subdirs.length, w.held > HELD_NAMES ? FEW_SUBDIRS : SUBDIRS) }, walker));
  // (Windows opened before the threshold keep their width: past it, each new directory walks
  // one subdirectory at a time, so what is held grows with the depth, not exponentially.)
  const candidate = rel !== '' && (await isIdentical(input, rel, st, () => Promise.resolve(true))) !== undefined;
  if (waits) {
    w.pending.push({ rel, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs, candidate, keepsOthers });
    return 'pending';
  }
  if (candidate && !keepsOthers && readdirSync(hostPath).length === 0) {
    rmdirSync(hostPath);
    w.stats.dirs++;
    return 'gone';
  }
  // Removing entries touched the directory's times; it keeps the ones the steps gave it.
  if (removedSome) utimesSync(hostPath, st.atimeMs / 1000, st.mtimeMs / 1000);
  return 'kept';
}

/**
 * Non-directory entries `names` of the upper directory `rel`: each removed now when identical,
 * unless it is hardlinked (or in the scope's walk, where only directories are pruned).
 */
async function leaves(w: Walk, rel: string, names: string[]): Promise<Fate[]> {
  const { input } = w;
  checkInterrupted(input.signal);
  if (w.scope) return names.map(() => 'kept');
  const [upper, lower] = [path.join(input.upper, rel), path.join(input.lowerView, rel)];
  // A file thread does it all, for names of text (its xattr library takes nothing else).
  const onThread = isTextPath(upper) && isTextPath(lower) ? names.filter(isTextPath) : [];
  const decided = onThread.length > 0 ? await leavesOnWorker(upper, lower, onThread, input.sourceDateEpoch, input.signal) : [];
  const fates: Fate[] = [];
  let next = 0;
  for (const name of names) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const r = onThread[next] === name ? decided[next++]! : undefined;
    if (!r) fates.push(await leafHere(w, childRel));
    else if (r.whiteout) fates.push('kept');
    else if (r.nlink > 1) fates.push(linkedName(w, r.id, r.nlink, { rel: childRel, size: r.size, candidate: r.lowerId !== undefined, lowerId: r.lowerId }));
    else if (!r.removed) fates.push('kept');
    else {
      w.stats.files++;
      w.stats.bytes += r.size;
      fates.push('gone');
    }
  }
  return fates;
}

/** A hardlinked name: it waits for its inode's group to be decided at the end. */
function linkedName(w: Walk, id: string, nlink: number, name: LinkedName): Fate {
  let group = w.links.get(id);
  if (!group) w.links.set(id, (group = { nlink, names: [] }));
  group.names.push(name);
  return 'pending';
}

/** An entry as `leaves` decides it, on this thread: for names that are not UTF-8 text. */
async function leafHere(w: Walk, rel: string): Promise<Fate> {
  const { input } = w;
  // Metadata with plain system calls: a round trip through the thread pool per stat costs
  // more than the stat itself, thousands of times over.
  const hostPath = bytesOf(path.join(input.upper, rel));
  const st = lstatSync(hostPath);
  // Whiteouts are what the layer deletes (leaf has already kept everything under a scope).
  if (isWhiteout(st)) return 'kept';
  const lowerId = await isIdentical(input, rel, st, (lower) => sameContent(input, rel, st, lower));
  if (st.nlink > 1) return linkedName(w, `${st.dev}:${st.ino}`, st.nlink, { rel, size: st.size, candidate: lowerId !== undefined, lowerId });
  if (lowerId === undefined) return 'kept';
  unlinkSync(hostPath);
  w.stats.files++;
  w.stats.bytes += st.size;
  return 'gone';
}

/** The lower counterpart's dev:ino when the entry is identical to it (type, metadata, content, xattrs). */
async function isIdentical(input: PruneInput, rel: string, st: Stats, same: (lower: Stats) => Promise<boolean>): Promise<string | undefined> {
  const lower = lstatOrNone(path.join(input.lowerView, rel));
  if (
    lower &&
    sameMeta(st, lower, input.sourceDateEpoch) &&
    (await same(lower)) &&
    (await samePortableXattrs(input.runner, path.join(input.upper, rel), path.join(input.lowerView, rel)))
  ) {
    return `${lower.dev}:${lower.ino}`;
  }
  return undefined;
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
