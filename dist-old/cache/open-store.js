// Which store a session gets: the project's local cache, with a remote (OCI registry) cache
// in front of it when the build asks for one (--cache-from/--cache-to, or cache-from/cache-to
// in sqsh-layers.yaml). The engine only sees the interfaces.
import { CacheRun, removeDeadWriters } from './cache-run.js';
import { LocalStore } from './local-store.js';
/**
 * The remote caches asked for; one object when from and to are the same repository (one
 * warning if it is down). The registry client is loaded only when there is one.
 */
async function remoteCaches(r, warn) {
    if (!r)
        return {};
    const [{ parseCacheReference }, { formatReference }, { RemoteCache }] = await Promise.all([
        import('../registry/open.js'),
        import('../registry/reference.js'),
        import('./remote-store.js'),
    ]);
    const open = (text, what) => {
        const ref = parseCacheReference(text, what);
        return new RemoteCache(formatReference(ref), r.registries.repository(ref), warn, r.signal);
    };
    const from = r.from !== undefined ? open(r.from, '--cache-from') : undefined;
    const to = r.to !== undefined ? (from && r.to === r.from ? from : open(r.to, '--cache-to')) : undefined;
    return { from, to };
}
/** The store a build writes to; temp files of writers that are gone (killed runs of any project sharing it) are removed first. */
export async function openStore(o) {
    const { from, to } = await remoteCaches(o.remote, o.warn);
    await removeDeadWriters(o.cacheDir, o.alive);
    const local = new LocalStore(o.cacheDir, o.stats, o.warn, new CacheRun(o.cacheDir, o.runId));
    if (!from && !to)
        return local;
    const { RemoteStore } = await import('./remote-store.js');
    return new RemoteStore(local, from, to, o.remote.signal);
}
/** The store as planning and --dry-run see it: look-ups only; nothing is written, created or claimed (here or in a registry). */
export async function openStoreReader(o) {
    const local = new LocalStore(o.cacheDir, o.stats, () => { });
    const { from } = await remoteCaches(o.remote && { ...o.remote, to: undefined }, o.warn);
    if (!from)
        return local;
    const { RemoteReader } = await import('./remote-store.js');
    return new RemoteReader(local, from);
}
//# sourceMappingURL=open-store.js.map