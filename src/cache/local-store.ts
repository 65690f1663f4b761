// The local content-addressed store (.sqsh-cache/ by default):
//   blobs/sha256/HEX   layer blobs, read-only, named by their digest
//   keys/HEX.json      key records (key digest → blob digest), mtime = last use
//   tmp/RUN-ID/        a run's layers being written (renamed into place when complete) and
//                      the blobs it uses (see cache-run.ts)
//   stat-cache.json    digests of unchanged files (inputs and blobs)

import { type BigIntStats, promises as fs, readFileSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { replaceAtomically, writeAtomic } from './atomic-write.js';
import type { CacheRun } from './cache-run.js';
import { type KeyDigest, type Sha256, sha256OfFile } from './digest.js';
import type { LayerKey } from './key.js';
import type { StatCache } from './stat-cache.js';
import type { Hit, KeyRecord, LayerStore, Lookup, NewBlob, Peek } from './store.js';

/** How closely a key record's mtime follows its last use. */
const LAST_USE_PRECISION_MS = 60_000;

export class LocalStore implements LayerStore {
  constructor(
    readonly dir: string,
    private readonly stats: StatCache,
    private readonly warn: (m: string) => void,
    /** The run using the store; absent for planning and --dry-run, which only peek. */
    private readonly run?: CacheRun,
  ) {}

  blobPath(digest: Sha256): string {
    return path.join(this.dir, 'blobs', 'sha256', digest);
  }

  private keyPath(key: KeyDigest): string {
    return path.join(this.dir, 'keys', `${key}.json`);
  }

  /**
   * Key records read in this run: planning peeks at every layer's and the build then gets it;
   * one read serves both. A record is immutable once written (put replaces it whole and
   * updates this map; eviction forgets it).
   */
  private readonly records = new Map<KeyDigest, KeyRecord | undefined>();

  /** The stat of each record file read (`records`), taken just before it was read. */
  private readonly readAs = new Map<KeyDigest, BigIntStats>();

  private record(key: KeyDigest): KeyRecord | undefined {
    if (this.records.has(key)) return this.records.get(key);
    let record: KeyRecord | undefined;
    try {
      // Sync: a key record is a small file, read once per layer per run (see `records`).
      const st = statSync(this.keyPath(key), { bigint: true });
      record = JSON.parse(readFileSync(this.keyPath(key), 'utf8')) as KeyRecord;
      this.readAs.set(key, st);
    } catch {
      record = undefined;
    }
    if (record) this.records.set(key, record);
    return record;
  }

  /**
   * Whether the blob still has the recorded bytes: its size first, then its digest through the
   * stat cache, so a blob whose stat changed in any way (even with its mtime put back) is hashed
   * again. Undefined when it is gone.
   */
  private async check(record: KeyRecord): Promise<Lookup | undefined> {
    const found = await this.checkBlob(record);
    if (found === undefined) return undefined;
    return found === 'ok' ? { found: 'hit', hit: { record, blobPath: this.blobPath(record.digest) } } : { found: 'corrupt', record, detail: found.detail };
  }

  private async checkBlob(named: { digest: Sha256; size: number }): Promise<'ok' | { detail: string } | undefined> {
    const blob = this.blobPath(named.digest);
    const st = statSync(blob, { bigint: true, throwIfNoEntry: false });
    if (!st) return undefined;
    if (Number(st.size) !== named.size) return { detail: `${st.size} bytes, stored as ${named.size}` };
    let actual: Sha256;
    try {
      actual = await this.stats.digest(blob, undefined, st);
    } catch {
      return undefined; // removed meanwhile
    }
    return actual === named.digest ? 'ok' : { detail: `sha256 ${actual.slice(0, 12)}, stored as ${named.digest.slice(0, 12)}` };
  }

  /**
   * The blob a key's record names: noted in the stat cache while the record file is as it was
   * (a 1,000-layer plan would read 1,000 records), else read from the record.
   */
  private named(key: KeyDigest): { digest: Sha256; size: number } | undefined {
    const known = this.records.get(key);
    if (known) return known;
    const file = this.keyPath(key);
    const st = statSync(file, { bigint: true, throwIfNoEntry: false });
    if (!st) return undefined;
    const noted = this.stats.noted(file, st);
    if (noted) return noted;
    const record = this.record(key);
    // With the stat its read followed (the file may have been replaced since `st`).
    const readAs = this.readAs.get(key);
    if (record && readAs) this.stats.note(file, readAs, record);
    return record;
  }

  async peek(key: KeyDigest): Promise<Peek> {
    const named = this.named(key);
    const found = named && (await this.checkBlob(named));
    if (found === undefined) return { found: 'miss' };
    return found === 'ok' ? { found: 'hit', digest: named!.digest, size: named!.size } : { found: 'corrupt', detail: found.detail };
  }

  async get(key: KeyDigest): Promise<Lookup> {
    const record = this.record(key);
    if (!record) return { found: 'miss' };
    // Claimed before it is checked: gc of another project sharing the cache leaves it alone from now on.
    await this.ownRun().use(record.digest);
    const found = (await this.check(record)) ?? { found: 'miss' };
    if (found.found === 'corrupt') {
      const blob = this.blobPath(record.digest);
      this.stats.forget(blob);
      this.records.delete(key);
      this.readAs.delete(key);
      await fs.rm(blob, { force: true });
      await fs.rm(this.keyPath(key), { force: true });
    } else if (found.found === 'hit') {
      // gc's notion of last use (--max-size drops the least recently used), to the minute: a
      // record used in the last minute keeps its stat, by which the next look-up knows it.
      // Noted only while the file is the one read (another project sharing the cache may have
      // replaced it since, with another blob): the same inode, size and change time.
      const file = this.keyPath(key);
      try {
        let st = statSync(file, { bigint: true });
        const read = this.readAs.get(key);
        const same = read !== undefined && read.ino === st.ino && read.size === st.size && read.ctimeNs === st.ctimeNs;
        if (Date.now() - Number(st.mtimeNs / 1_000_000n) > LAST_USE_PRECISION_MS) {
          const now = new Date();
          utimesSync(file, now, now);
          st = statSync(file, { bigint: true });
        }
        const noted = this.stats.noted(file, st);
        if (same && (noted?.digest !== record.digest || noted.size !== record.size)) this.stats.note(file, st, record);
      } catch {
        // Only gc's notion of last use: a record removed meanwhile is no reason to fail.
      }
    }
    return found;
  }

  /** Moves `file` (on the cache's filesystem: see newBlob) into the store under `key`. */
  async put(key: LayerKey, keyDigest: KeyDigest, file: string, layer: string): Promise<Hit> {
    const run = this.ownRun();
    const digest = await sha256OfFile(file);
    const size = (await fs.stat(file)).size;
    const blob = this.blobPath(digest);
    await run.use(digest);
    await fs.mkdir(path.dirname(blob), { recursive: true });
    await fs.chmod(file, 0o444);
    // A blob already stored under this digest is kept only if it still has these bytes;
    // a corrupt one is replaced (rename is atomic: readers see the old or the new file).
    const existing = await fs.stat(blob).catch(() => undefined);
    if (existing && (await this.stats.digest(blob).catch(() => undefined)) === digest) {
      await fs.rm(file, { force: true });
    } else {
      if (existing) this.warn(`cache blob ${digest.slice(0, 12)} (layer ${layer}) was corrupt; replaced by the rebuilt one`);
      this.stats.forget(blob);
      await fs.rename(file, blob);
    }
    const record: KeyRecord = { keyDigest, key, digest, size, layer, createdAt: new Date().toISOString() };
    await writeAtomic(this.keyPath(keyDigest), JSON.stringify(record, null, 2) + '\n');
    this.records.set(keyDigest, record);
    this.readAs.set(keyDigest, statSync(this.keyPath(keyDigest), { bigint: true }));
    // Hashed above, from the very bytes now in the store: no second read, and trusted next time.
    await this.stats.seal(blob, digest);
    return { record, blobPath: blob };
  }

  async newBlob(layer: string): Promise<NewBlob> {
    const file = await this.ownRun().tmpPath(layer);
    return {
      path: file,
      commit: (key, keyDigest) => this.put(key, keyDigest, file, layer),
      discard: () => fs.rm(file, { force: true }),
    };
  }

  async materialize(hit: Hit, dest: string): Promise<void> {
    await linkBlob(hit.blobPath, dest, this.ownRun().runId, { digest: hit.record.digest, stats: this.stats });
  }

  async close(): Promise<void> {
    await this.run?.dispose();
  }

  private ownRun(): CacheRun {
    if (!this.run) throw new Error('bug: a store opened read-only (planning, --dry-run) cannot claim or store layers');
    return this.run;
  }
}

/**
 * Puts a blob at `dest` (layers/NAME.sqsh): a hardlink when on the same filesystem, else a
 * reflink or copy; always through a temp name so `dest` is never half-written. A copy on
 * another filesystem that already has the blob's bytes (checked through the stat cache) stays.
 * A hardlink moves the blob's ctime: its stat is recorded again (its bytes were just verified),
 * so that the next run re-hashes it only when something else changed it.
 */
async function linkBlob(
  blob: string,
  dest: string,
  runId: string,
  known?: { digest: Sha256; stats: StatCache },
): Promise<'linked' | 'copied' | 'unchanged'> {
  // Sync: two stats per layer taken from the cache, nearly always answering 'unchanged'.
  const b = statSync(blob);
  const d = statSync(dest, { throwIfNoEntry: false });
  if (d && d.ino === b.ino && d.dev === b.dev) return 'unchanged';
  // On another filesystem than the cache (no hardlink possible), a copy with the right bytes stays.
  const copied = d !== undefined && d.dev !== b.dev && d.isFile() && d.size === b.size;
  if (copied && known && (await known.stats.digest(dest).catch(() => undefined)) === known.digest) return 'unchanged';
  let how: 'linked' | 'copied' = 'linked';
  const fill = async (tmp: string) => {
    try {
      await fs.link(blob, tmp);
    } catch (err) {
      if (!['EXDEV', 'EPERM', 'EMLINK'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await fs.copyFile(blob, tmp, fs.constants.COPYFILE_FICLONE);
      how = 'copied';
    }
  };
  // The run's id in the temp name: a later run removes what a killed one left in layers/.
  await replaceAtomically(dest, fill, path.join(path.dirname(dest), `.${path.basename(dest)}.${runId}.tmp`));
  if (how === 'linked' && known) await known.stats.seal(blob, known.digest);
  return how;
}
