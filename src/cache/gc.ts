// Garbage collection of the local store: blobs no key record or layer references go;
// with a size limit, the least recently used entries go too (never those the project's
// layers/ uses), until the store fits.

import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface GcOptions {
  dir: string;
  /** Digests that must stay (the project's current layers). */
  keep: Set<string>;
  maxSize: number | undefined;
  dryRun: boolean;
  /**
   * Unreferenced blobs and temp files younger than this stay: with a cache shared between
   * projects, another build may have just stored a blob and not yet written its key record.
   */
  graceMs: number;
}

export interface GcReport {
  removedBlobs: { digest: string; size: number }[];
  removedKeys: string[];
  /** Temp files of writes that never finished (their writer was killed). */
  removedTemps: string[];
  keptBytes: number;
  freedBytes: number;
}

interface KeyFile {
  file: string;
  digest: string;
  used: number;
}

/** Directory entries are taken in name order, so the report is the same on every filesystem. */
export async function gc(o: GcOptions): Promise<GcReport> {
  const blobsDir = path.join(o.dir, 'blobs', 'sha256');
  const keysDir = path.join(o.dir, 'keys');
  const blobs = new Map<string, number>();
  const fresh = new Set<string>();
  const now = Date.now();
  for (const name of (await fs.readdir(blobsDir).catch(() => [] as string[])).sort()) {
    const st = await fs.stat(path.join(blobsDir, name)).catch(() => undefined);
    if (!st?.isFile()) continue;
    blobs.set(name, st.size);
    // ctime: the moment the blob was renamed into the store.
    if (now - st.ctimeMs < o.graceMs) fresh.add(name);
  }
  const keys: KeyFile[] = [];
  const report: GcReport = { removedBlobs: [], removedKeys: [], removedTemps: [], keptBytes: 0, freedBytes: 0 };
  for (const dir of [o.dir, keysDir, path.join(o.dir, 'tmp')]) {
    for (const name of (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.tmp')).sort()) {
      const p = path.join(dir, name);
      const st = await fs.stat(p).catch(() => undefined);
      if (!st?.isFile() || now - st.mtimeMs < o.graceMs) continue;
      report.removedTemps.push(path.relative(o.dir, p));
      if (!o.dryRun) await fs.rm(p, { force: true });
    }
  }
  for (const name of (await fs.readdir(keysDir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(keysDir, name);
    try {
      const rec = JSON.parse(await fs.readFile(file, 'utf8')) as { digest: string };
      const st = await fs.stat(file);
      keys.push({ file, digest: rec.digest, used: st.mtimeMs });
    } catch {
      keys.push({ file, digest: '', used: 0 });
    }
  }
  const removeKey = async (k: KeyFile) => {
    report.removedKeys.push(path.basename(k.file, '.json'));
    if (!o.dryRun) await fs.rm(k.file, { force: true });
  };
  // Records whose blob is gone (or unreadable records) are useless.
  let live: KeyFile[] = [];
  for (const k of keys) {
    if (blobs.has(k.digest)) live.push(k);
    else await removeKey(k);
  }
  if (o.maxSize !== undefined) {
    const referenced = () => new Set([...live.map((k) => k.digest), ...o.keep]);
    const sizeOf = (set: Set<string>) => [...set].reduce((n, d) => n + (blobs.get(d) ?? 0), 0);
    const byAge = [...live].sort((a, b) => a.used - b.used);
    for (const k of byAge) {
      if (sizeOf(referenced()) <= o.maxSize) break;
      if (o.keep.has(k.digest)) continue;
      live = live.filter((x) => x !== k);
      await removeKey(k);
    }
  }
  const referenced = new Set([...live.map((k) => k.digest), ...o.keep]);
  for (const [digest, size] of blobs) {
    if (referenced.has(digest) || fresh.has(digest)) {
      report.keptBytes += size;
      continue;
    }
    report.removedBlobs.push({ digest, size });
    report.freedBytes += size;
    if (!o.dryRun) await fs.rm(path.join(blobsDir, digest), { force: true });
  }
  return report;
}

/** Parses sizes such as 10G, 500M, 1024 (bytes). */
export function parseSize(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}
