// A repository of a registry from a reference and the run's settings.
import { FailureError } from '../failure.js';
import { RegistryHttp } from './http.js';
import { parseReference } from './reference.js';
import { Repository } from './repository.js';
/** Hosts share one HTTP client (and its tokens) per run. */
export class Registries {
    s;
    clients = new Map();
    constructor(s) {
        this.s = s;
    }
    repository(ref) {
        let http = this.clients.get(ref.registry);
        if (!http) {
            http = new RegistryHttp(ref.registry, this.s);
            this.clients.set(ref.registry, http);
        }
        return new Repository(http, ref.repository, this.s.progress);
    }
}
/** A cache reference names a repository: tags are the cache's own (one per key). */
export function parseCacheReference(text, what) {
    const ref = parseReference(text, what);
    if (ref.tag !== undefined || ref.digest !== undefined) {
        throw new FailureError({
            reason: 'usage',
            message: `${what} "${text}" names a repository, without :TAG or @DIGEST (the cache tags each entry itself, k-KEY)`,
        });
    }
    return ref;
}
//# sourceMappingURL=open.js.map