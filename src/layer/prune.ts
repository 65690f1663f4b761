// prune-identical: drops upper entries that the lowers already show identically (type,
// content, mode, owner, xattrs, mtime to the second that squashfs keeps), and directories
// left empty and unchanged. Whiteouts and opaque directories (with everything in them) stay:
// they are what the layer changes. The stacked result is unchanged.

import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { checkInterrupted } from '../process/interrupt.js';
import type { Runner } from '../process/run.js';
import { readXattrs, type XattrMap } from './xattrs.js';

export interface PruneStats {
  files: number;
  dirs: number;
  bytes: number;
}

export interface PruneInput {
  upper: string;
  /** A directory showing what the lowers stack to. */
  lowerView: string;
  /** xattrs of the upper tree (readTreeXattrs), after finalization stripped overlay ones. */
  upperXattrs: XattrMap;
  /**
   * Limits pruning to these in-root directories and their ancestors, directories only: used
   * when prune-identical is off, to undo copy-ups that only sandbox machinery caused.
   */
  onlyDirs?: Set<string>;
  runner: Runner;
  signal: AbortSignal;
}

interface Entry {
  rel: string;
  st: Stats;
  candidate: boolean;
  children: Entry[];
  /** dev:ino of the lower counterpart, for candidates. */
  lowerId?: string;
}

const OVERLAY_PRIVATE = /^trusted\.overlay\./;

export async function pruneIdentical(input: PruneInput): Promise<PruneStats> {
  const scope = input.onlyDirs ? withAncestors(input.onlyDirs) : undefined;
  const stats: PruneStats = { files: 0, dirs: 0, bytes: 0 };
  const candidates: Entry[] = [];
  const tree = await scan(input, '', scope, candidates);
  if (!tree) return stats;
  keepLinkGroups(tree);
  const lowerXattrs = await readXattrs(
    input.runner,
    candidates.map((c) => path.join(input.lowerView, c.rel)),
  );
  const sameXattrs = (rel: string) =>
    equalXattrs(input.upperXattrs.get(path.join(input.upper, rel)), lowerXattrs.get(path.join(input.lowerView, rel)));
  const removeIdentical = async (e: Entry): Promise<boolean> => {
    checkInterrupted(input.signal);
    if (e.st.isDirectory()) {
      let allGone = true;
      for (const c of e.children) if (!(await removeIdentical(c))) allGone = false;
      if (e.rel === '' || !allGone || !e.candidate || !sameXattrs(e.rel)) return false;
      if ((await fs.readdir(path.join(input.upper, e.rel))).length > 0) return false;
      await fs.rmdir(path.join(input.upper, e.rel));
      stats.dirs++;
      return true;
    }
    if (!e.candidate || !sameXattrs(e.rel)) return false;
    await fs.unlink(path.join(input.upper, e.rel));
    stats.files++;
    stats.bytes += e.st.size;
    return true;
  };
  await removeIdentical(tree);
  return stats;
}

/** Walks the upper, marking entries whose lower counterpart matches in everything but xattrs. */
async function scan(input: PruneInput, rel: string, scope: Set<string> | undefined, candidates: Entry[]): Promise<Entry | undefined> {
  checkInterrupted(input.signal);
  const upperPath = path.join(input.upper, rel);
  const st = await fs.lstat(upperPath);
  const entry: Entry = { rel, st, candidate: false, children: [] };
  if (isWhiteout(st)) return entry;
  if (st.isDirectory()) {
    const attrs = input.upperXattrs.get(upperPath);
    if (attrs?.get('trusted.overlay.opaque') !== undefined) return entry;
    for (const name of (await fs.readdir(upperPath)).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (scope && !scope.has('/' + childRel)) {
        entry.children.push({ rel: childRel, st, candidate: false, children: [] });
        continue;
      }
      const child = await scan(input, childRel, scope, candidates);
      if (child) entry.children.push(child);
    }
  } else if (scope) {
    return entry;
  }
  if (rel === '') return entry;
  const lower = await fs.lstat(path.join(input.lowerView, rel)).catch(() => undefined);
  if (lower && sameMeta(st, lower) && (await sameContent(input, rel, st, lower))) {
    entry.candidate = true;
    entry.lowerId = `${lower.dev}:${lower.ino}`;
    candidates.push(entry);
  }
  return entry;
}

/**
 * Names of one upper inode go together: pruning only some of them would split the hardlink
 * (the pruned names would show the lower inode). They go only if all are identical to lower
 * names of one lower inode.
 */
function keepLinkGroups(tree: Entry): void {
  const groups = new Map<string, Entry[]>();
  const visit = (e: Entry) => {
    if (!e.st.isDirectory() && e.st.nlink > 1) {
      const id = `${e.st.dev}:${e.st.ino}`;
      groups.set(id, [...(groups.get(id) ?? []), e]);
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

function sameMeta(a: Stats, b: Stats): boolean {
  return (
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    Math.floor(a.mtimeMs / 1000) === Math.floor(b.mtimeMs / 1000) &&
    (a.isDirectory() || a.size === b.size) &&
    ((!a.isCharacterDevice() && !a.isBlockDevice()) || a.rdev === b.rdev) &&
    !isWhiteout(b)
  );
}

async function sameContent(input: PruneInput, rel: string, a: Stats, b: Stats): Promise<boolean> {
  if (a.isSymbolicLink()) {
    return (await fs.readlink(path.join(input.upper, rel))) === (await fs.readlink(path.join(input.lowerView, rel)));
  }
  if (!a.isFile()) return true;
  if (a.size !== b.size) return false;
  return equalFiles(path.join(input.upper, rel), path.join(input.lowerView, rel));
}

const CHUNK = 1 << 20;

export async function equalFiles(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([fs.open(a, 'r'), fs.open(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, null), fb.read(bb, 0, CHUNK, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (ba.compare(bb, 0, rb.bytesRead, 0, ra.bytesRead) !== 0) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

function equalXattrs(a: Map<string, string> | undefined, b: Map<string, string> | undefined): boolean {
  const norm = (m: Map<string, string> | undefined) =>
    [...(m ?? new Map<string, string>())].filter(([k]) => !OVERLAY_PRIVATE.test(k)).sort(([x], [y]) => x.localeCompare(y));
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
