// The remote cache a command uses: --cache-from/--cache-to, else cache-from/cache-to of
// sqsh-layers.yaml. References are checked here (exit 2 for a malformed one).
import { stateRootFromEnv } from './env.js';
/**
 * The options of the session a command builds or plans in: the CLI's environment and state
 * root, and the remote cache of `flags` (else of sqsh-layers.yaml).
 */
export async function sessionOptionsOf(c, flags) {
    return { ...c, stateRoot: stateRootFromEnv(c.env), remote: await remoteCacheOf(flags, c.project.config) };
}
/** The registry client is loaded only when a remote cache is asked for. */
async function remoteCacheOf(o, config) {
    const from = o.cacheFrom ?? config.cacheFrom;
    const to = o.cacheTo ?? config.cacheTo;
    if (from === undefined && to === undefined)
        return undefined;
    const { parseCacheReference } = await import('../registry/open.js');
    if (from !== undefined)
        parseCacheReference(from, '--cache-from');
    if (to !== undefined)
        parseCacheReference(to, '--cache-to');
    return { from, to, insecure: o.insecure === true };
}
//# sourceMappingURL=remote-cache.js.map