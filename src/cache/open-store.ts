// Which store a session gets: the project's local cache, with a remote (OCI registry) cache
// in front of it when the build asks for one (--cache-from/--cache-to, or cache-from/cache-to
// in sqsh-layers.yaml). The engine only sees the interfaces.

import type { Registries } from '../registry/open.js';
import { CacheRun, removeDeadWriters, type PidAlive } from './cache-run.js';
import { LocalStore } from './local-store.js';
import type { RemoteCache } from './remote-store.js';
import type { StatCache } from './stat-cache.js';
import type { LayerStore, StoreReader } from './store.js';

export interface RemoteOptions {
  /** Registry repositories (HOST/REPO) to take layers from and to export them to. */
  from: string | undefined;
  to: string | undefined;
  registries: Registries;
  signal: AbortSignal;
}

export interface StoreOptions {
  cacheDir: string;
  /** Digests of blobs whose stat did not change (shared with the inputs' digests). */
  stats: StatCache;
  remote?: RemoteOptions;
}

/**
 * The remote caches asked for; one object when from and to are the same repository (one
 * warning if it is down). The registry client is loaded only when there is one.
 */
async function remoteCaches(r: RemoteOptions | undefined, warn: (m: string) => void): Promise<{ from?: RemoteCache; to?: RemoteCache }> {
  if (!r) return {};
  const [{ parseCacheReference }, { formatReference }, { RemoteCache }] = await Promise.all([
    import('../registry/open.js'),
    import('../registry/reference.js'),
    import('./remote-store.js'),
  ]);
  const open = (text: string, what: string) => {
    const ref = parseCacheReference(text, what);
    return new RemoteCache(formatReference(ref), r.registries.repository(ref), warn, r.signal);
  };
  const from = r.from !== undefined ? open(r.from, '--cache-from') : undefined;
  const to = r.to !== undefined ? (from && r.to === r.from ? from : open(r.to, '--cache-to')) : undefined;
  return { from, to };
}

/** The store a build writes to; temp files of writers that are gone (killed runs of any project sharing it) are removed first. */
export async function openStore(o: StoreOptions & { runId: string; alive: PidAlive; warn: (m: string) => void }): Promise<LayerStore> {
  const { from, to } = await remoteCaches(o.remote, o.warn);
  await removeDeadWriters(o.cacheDir, o.alive);
  const local = new LocalStore(o.cacheDir, o.stats, o.warn, new CacheRun(o.cacheDir, o.runId));
  if (!from && !to) return local;
  const { RemoteStore } = await import('./remote-store.js');
  return new RemoteStore(local, from, to, o.remote!.signal);
}

/** The store as planning and --dry-run see it: look-ups only; nothing is written, created or claimed (here or in a registry). */
export async function openStoreReader(o: StoreOptions & { warn: (m: string) => void }): Promise<StoreReader> {
  const local = new LocalStore(o.cacheDir, o.stats, () => {});
  const { from } = await remoteCaches(o.remote && { ...o.remote, to: undefined }, o.warn);
  if (!from) return local;
  const { RemoteReader } = await import('./remote-store.js');
  return new RemoteReader(local, from);
}
