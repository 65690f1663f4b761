// The cache key of a layer: a typed record of everything that decides the layer's bytes.
// Its canonical JSON's sha256 names the cache entry.
import { canonicalJson, sha256OfString } from './digest.js';
/** Bumped whenever this tool would produce different bytes from the same inputs. */
export const LAYER_FORMAT = 1;
export function normalizeRecipe(r) {
    const steps = r.steps.map((s) => {
        switch (s.kind) {
            case 'restore':
                return { restore: s.input.path, to: s.to, replace: s.replace };
            case 'untar':
                return { untar: s.input.path, to: s.to, replace: s.replace };
            case 'copy':
                return { copy: s.input.path, to: s.to, owner: `${s.owner.uid}:${s.owner.gid}`, mode: s.mode ?? null, replace: s.replace };
            case 'run':
                return { run: s.script, network: s.network, env: s.env };
            case 'host':
                return { host: s.input.path, env: s.env };
            case 'remove':
                return { remove: s.paths };
        }
    });
    return {
        steps,
        exclude: r.exclude,
        'prune-identical': r.pruneIdentical,
        squashfs: { compression: r.squashfs.compression, level: r.squashfs.level ?? null, 'block-size': r.squashfs.blockSize },
    };
}
export function keyDigest(key) {
    return sha256OfString(canonicalJson(key));
}
//# sourceMappingURL=key.js.map