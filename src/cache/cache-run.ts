// A run's own corner of a cache that other projects' runs may share: tmp/RUN-ID/ holds the
// layers it is packing and `uses`, the blobs it has taken from the cache or is storing. Every
// temp name the tool gives in a cache carries its writer's pid (a run id holds its run's), so
// gc and starting runs tell a live writer's files from a dead one's without seeing the state
// directory of that run: another project may keep its runs under another one.

import { closeSync, openSync, promises as fs, writeSync } from 'node:fs';
import path from 'node:path';
import type { Sha256 } from './digest.js';

export const TMP_DIR = 'tmp';
const USES_FILE = 'uses';

/** Whether a process with this pid runs (injected: gc's logic is tested without one). */
export type PidAlive = (pid: number) => Promise<boolean>;

/** A run id as mount/run-state.ts makes it: STAMP-PID-RANDOM. */
const RUN_ID = /(?:^|\.)\d{8}T\d{6}Z?-(\d+)-[0-9a-f]{6}(?=\.|$)/;
/** writeAtomic's `FILE.PID.RANDOM.tmp` (and `FILE.PID.tmp`, the stat cache's of older versions). */
const PID_TMP = /\.(\d+)(?:\.[0-9a-z]{1,8})?\.tmp$/;

/**
 * The pid of the process writing a temp file or run directory, from its name; undefined for
 * a name the tool did not make. A pid reused by another process only keeps a dead writer's
 * file until a later clean-up, never the other way round.
 */
export function writerPid(name: string): number | undefined {
  const m = RUN_ID.exec(name) ?? PID_TMP.exec(name);
  return m ? Number(m[1]) : undefined;
}

export class CacheRun {
  readonly dir: string;
  private made: Promise<void> | undefined;

  constructor(
    cacheDir: string,
    /** The run's id (temp names it gives outside the cache carry it too). */
    readonly runId: string,
  ) {
    this.dir = path.join(cacheDir, TMP_DIR, runId);
  }

  private mkdir(): Promise<void> {
    return (this.made ??= fs.mkdir(this.dir, { recursive: true }).then(() => undefined));
  }

  /** Where the run writes a layer before storing it (on the cache's filesystem, so it can be renamed in). */
  async tmpPath(name: string): Promise<string> {
    await this.mkdir();
    return path.join(this.dir, `${name}.tmp`);
  }

  /** The uses file, open for appending; the blobs recorded there. */
  private uses: number | undefined;
  private readonly used = new Set<Sha256>();

  /** Records that the run uses a blob; done before the blob is stored or taken, so gc never sees it unclaimed. */
  async use(digest: Sha256): Promise<void> {
    if (this.used.has(digest)) return;
    await this.mkdir();
    // Sync, one write to a file kept open: one short append per layer taken from the cache
    // (through the thread pool, or opening the file each time, a no-op build of 1,000 layers
    // would make several thousand round trips).
    this.uses ??= openSync(path.join(this.dir, USES_FILE), 'a');
    writeSync(this.uses, `${digest}\n`);
    this.used.add(digest);
  }

  /** Removes the run's directory (its temp files were renamed into the store or are partial). */
  async dispose(): Promise<void> {
    if (this.uses !== undefined) closeSync(this.uses);
    this.uses = undefined;
    if (this.made) await fs.rm(this.dir, { recursive: true, force: true });
  }
}

export interface TmpEntry {
  /** Relative to the cache directory. */
  rel: string;
  /** The writer is a live process: the entry is in use. */
  live: boolean;
  /** No pid in the name: only its age can tell. */
  unowned: boolean;
  mtimeMs: number;
  /** Blobs a live run uses. */
  uses: Sha256[];
}

/**
 * The temp files and run directories of a cache: in tmp/, in keys/ and at its top (key
 * records and small files being written), each with whether its writer is alive.
 */
export async function tmpEntries(cacheDir: string, alive: PidAlive): Promise<TmpEntry[]> {
  const out: TmpEntry[] = [];
  for (const sub of ['', 'keys', TMP_DIR]) {
    const dir = path.join(cacheDir, sub);
    for (const name of (await fs.readdir(dir).catch(() => [] as string[])).sort()) {
      const isRunDir = sub === TMP_DIR && RUN_ID.test(name) && !name.endsWith('.tmp');
      if (!isRunDir && !name.endsWith('.tmp')) continue;
      const p = path.join(dir, name);
      const st = await fs.stat(p).catch(() => undefined);
      if (!st || (isRunDir ? !st.isDirectory() : !st.isFile())) continue;
      const pid = writerPid(name);
      const live = pid !== undefined && (await alive(pid));
      const uses = isRunDir && live ? await readUses(p) : [];
      out.push({ rel: path.relative(cacheDir, p), live, unowned: pid === undefined, mtimeMs: st.mtimeMs, uses });
    }
  }
  return out;
}

async function readUses(runDir: string): Promise<Sha256[]> {
  const text = await fs.readFile(path.join(runDir, USES_FILE), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => /^[0-9a-f]{64}$/.test(l)) as Sha256[];
}

/** Removes the temp files and run directories of writers that are gone (a run starting does this). */
export async function removeDeadWriters(cacheDir: string, alive: PidAlive): Promise<void> {
  for (const e of await tmpEntries(cacheDir, alive)) {
    if (!e.live && !e.unowned) await fs.rm(path.join(cacheDir, e.rel), { recursive: true, force: true });
  }
}
