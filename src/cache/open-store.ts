// Which store a session gets: the project's local cache today. A remote (OCI registry) store
// would be chosen here from the project's settings; the engine only sees the interfaces.

import { CacheRun, removeDeadWriters, type PidAlive } from './cache-run.js';
import { LocalStore } from './local-store.js';
import type { StatCache } from './stat-cache.js';
import type { LayerStore, StoreReader } from './store.js';

export interface StoreOptions {
  cacheDir: string;
  /** Digests of blobs whose stat did not change (shared with the inputs' digests). */
  stats: StatCache;
}

/** The store a build writes to; temp files of writers that are gone (killed runs of any project sharing it) are removed first. */
export async function openStore(o: StoreOptions & { runId: string; alive: PidAlive; warn: (m: string) => void }): Promise<LayerStore> {
  await removeDeadWriters(o.cacheDir, o.alive);
  return new LocalStore(o.cacheDir, o.stats, o.warn, new CacheRun(o.cacheDir, o.runId));
}

/** The store as planning and --dry-run see it: look-ups only; nothing is written, created or claimed. */
export function openStoreReader(o: StoreOptions): StoreReader {
  return new LocalStore(o.cacheDir, o.stats, () => {});
}
