// A stat cache like git's index: a file whose (size, mtime_ns, inode, ctime_ns) did not
// change keeps its digest without being read again. Entries hashed while the file was
// still changing ("racy": modified within the last seconds) are not trusted later. Paths
// are byte-path strings (layer/byte-path.ts): an input's name may be any bytes.
// Every field is always compared: mtime can be put back (`touch -r`), ctime cannot, so a
// blob the tool hardlinks elsewhere is recorded again after the link (see seal).

import { type BigIntStats, promises as fs, statSync } from 'node:fs';
import { bytesOf } from '../layer/byte-path.js';
import { writeAtomic } from './atomic-write.js';
import { type Sha256, sha256OfFile } from './digest.js';

interface Entry {
  size: string;
  mtimeNs: string;
  ino: string;
  ctimeNs: string;
  digest: Sha256;
  /** When the digest was computed (ns since epoch). */
  hashedNs: string;
  /** A blob this tool wrote (or verified) and hashed itself and never writes again: not racy. */
  sealed?: boolean;
}

/**
 * A key record's blob (cache/local-store.ts), noted with the record file's stat: a look-up
 * that only peeks need not read the record again while the file is as it was. Records are
 * written whole (renamed into place) and never changed in place, so a stat alone tells.
 */
interface Note {
  size: string;
  mtimeNs: string;
  ino: string;
  ctimeNs: string;
  blob: { digest: Sha256; size: number };
}

const RACY_NS = 2_000_000_000n;

/** Whether a recorded stat is the file's stat `st`, field for field. */
const sameStat = (known: { size: string; mtimeNs: string; ino: string; ctimeNs: string }, st: BigIntStats) =>
  known.size === String(st.size) && known.mtimeNs === String(st.mtimeNs) && known.ino === String(st.ino) && known.ctimeNs === String(st.ctimeNs);

export class StatCache {
  private dirty = false;
  /** How many files were read (not answered from the cache) in this run. */
  hashed = 0;

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, Entry>,
    private readonly notes: Map<string, Note>,
  ) {}

  static async open(file: string): Promise<StatCache> {
    let entries = new Map<string, Entry>();
    let notes = new Map<string, Note>();
    try {
      const data = JSON.parse(await fs.readFile(file, 'utf8')) as { version: number; entries: Record<string, Entry>; notes?: Record<string, Note> };
      if (data.version === 1) {
        entries = new Map(Object.entries(data.entries));
        notes = new Map(Object.entries(data.notes ?? {}));
      }
    } catch {
      // Missing or unreadable: start empty; it is only a cache.
    }
    return new StatCache(file, entries, notes);
  }

  /** The blob key record `file` names, as noted (note()) while the file had the stat `st`. */
  noted(file: string, st: BigIntStats): { digest: Sha256; size: number } | undefined {
    const known = this.notes.get(file);
    return known && sameStat(known, st) ? known.blob : undefined;
  }

  /** Notes the blob key record `file`, as it is (`st`), names. */
  note(file: string, st: BigIntStats, blob: { digest: Sha256; size: number }): void {
    this.notes.set(file, { size: String(st.size), mtimeNs: String(st.mtimeNs), ino: String(st.ino), ctimeNs: String(st.ctimeNs), blob: { digest: blob.digest, size: blob.size } });
    this.dirty = true;
  }

  /**
   * The sha256 of a regular file's content, from the cache when its stat is unchanged. `stat`:
   * the file's stat, when the caller has just taken it (a regular file's lstat will do).
   */
  async digest(file: string, signal?: AbortSignal, stat?: BigIntStats): Promise<Sha256> {
    // Sync: most calls are answered from the cache, and a stat through the thread pool costs
    // many times the system call (1,000-layer projects stat thousands of inputs per run).
    const st = stat ?? statSync(bytesOf(file), { bigint: true });
    const known = this.known(file, st);
    if (known) return known;
    const hashedNs = BigInt(Date.now()) * 1_000_000n;
    const digest = await sha256OfFile(bytesOf(file), signal);
    this.hashed++;
    this.remember(file, st, digest, hashedNs, false);
    return digest;
  }

  /** The digest of `file` as it is (`st`) when the cache has it, without reading it. */
  private known(file: string, st: BigIntStats): Sha256 | undefined {
    const known = this.entries.get(file);
    const same =
      known &&
      sameStat(known, st) &&
      (known.sealed === true || (st.mtimeNs + RACY_NS < BigInt(known.hashedNs) && st.ctimeNs + RACY_NS < BigInt(known.hashedNs)));
    return same ? known.digest : undefined;
  }

  /**
   * Whether digest() would read `file`, a regular file of at least `minSize` bytes, because
   * the cache does not have it as it is (new, or changed since). False for anything else,
   * including a file that cannot be looked at (digest() reports that).
   */
  wouldRead(file: string, minSize: number): boolean {
    const st = statSync(bytesOf(file), { bigint: true, throwIfNoEntry: false });
    return st !== undefined && st.isFile() && st.size >= BigInt(minSize) && this.known(file, st) === undefined;
  }

  /**
   * Records the digest of a file this tool just wrote and hashed (or verified), and will not
   * write again. Called again after the tool's own operations that move the file's ctime
   * (hardlinking a blob into layers/), so that only other changes make it hashed again.
   */
  async seal(file: string, digest: Sha256): Promise<void> {
    this.remember(file, await fs.stat(file, { bigint: true }), digest, BigInt(Date.now()) * 1_000_000n, true);
  }

  private remember(file: string, st: BigIntStats, digest: Sha256, hashedNs: bigint, sealed: boolean): void {
    this.entries.set(file, {
      size: String(st.size),
      mtimeNs: String(st.mtimeNs),
      ino: String(st.ino),
      ctimeNs: String(st.ctimeNs),
      digest,
      hashedNs: String(hashedNs),
      ...(sealed ? { sealed } : {}),
    });
    this.dirty = true;
  }

  /** Forgets a file (e.g. a blob found corrupt). */
  forget(file: string): void {
    if (this.entries.delete(file)) this.dirty = true;
    if (this.notes.delete(file)) this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    // Drop entries of files that no longer exist, so the cache does not grow forever. Plain
    // system calls: a fleet's 3,000 entries through the thread pool took 0.1-0.2 s, this 10 ms.
    for (const f of [...this.entries.keys()]) if (!exists(bytesOf(f))) this.entries.delete(f);
    for (const f of [...this.notes.keys()]) if (!exists(f)) this.notes.delete(f);
    await writeAtomic(this.file, JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries), notes: Object.fromEntries(this.notes) }));
    this.dirty = false;
  }
}

/** Whether `p` can be looked at (a file that cannot, as one that is gone, is no longer worth an entry). */
function exists(p: string | Buffer): boolean {
  try {
    return statSync(p, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}
