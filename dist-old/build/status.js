// Each layer's cache key, and whether it is cached or stale and why. Used by `plan`, by
// `build --frozen` before anything runs, and by `build` itself.
import { describeReason, explainKeyChange } from '../cache/explain.js';
import { fingerprintInputs } from '../cache/inputs.js';
import { keyDigest, LAYER_FORMAT, normalizeRecipe } from '../cache/key.js';
export async function layerKey(kc, recipe, parent) {
    let inputs = kc.fingerprints?.get(recipe.name);
    if (!inputs) {
        inputs = fingerprintInputs(recipe, kc.stats, kc.signal);
        kc.fingerprints?.set(recipe.name, inputs);
    }
    const key = {
        format: LAYER_FORMAT,
        recipe: normalizeRecipe(recipe),
        inputs: await inputs,
        parent,
        mksquashfs: kc.mksquashfs,
        sourceDateEpoch: kc.sourceDateEpoch ?? null,
    };
    return { key, digest: keyDigest(key) };
}
/**
 * Walks `order` (parents first). A layer whose parent is stale cannot know its key yet: it
 * is stale with "parent will be rebuilt", plus whatever changed in its own recipe and inputs
 * (it may still turn out cached if the parent rebuilds to identical bytes).
 */
export async function layerStatuses(kc, store, graph, order, manifest, forced) {
    const byName = new Map();
    for (const name of order) {
        const recipe = graph.recipes.get(name);
        const parentStatus = recipe.parent !== undefined ? byName.get(recipe.parent) : undefined;
        const prev = manifest.layers[name]?.key;
        let status;
        if (parentStatus && parentStatus.state === 'stale') {
            // Compare own fields only, with the parent taken as unchanged.
            const { key } = await layerKey(kc, recipe, prev?.parent ?? null);
            const own = prev ? explainKeyChange(prev, key).filter((r) => r.reason !== 'parent') : [];
            status = { layer: name, state: 'stale', reasons: [{ reason: 'parent', name: recipe.parent, what: 'stale' }, ...own] };
        }
        else {
            const parent = parentStatus?.state === 'cached' ? { name: parentStatus.layer, digest: parentStatus.digest } : null;
            const { key, digest } = await layerKey(kc, recipe, parent);
            const found = forced.has(name) ? undefined : await store.peek(digest);
            if (found?.found === 'hit') {
                const { record } = found.hit;
                status = { layer: name, state: 'cached', keyDigest: digest, digest: record.digest, size: record.size };
            }
            else if (found?.found === 'corrupt') {
                // The key matched: whatever else changed since the last build, the blob is why it rebuilds.
                status = { layer: name, state: 'stale', keyDigest: digest, reasons: [{ reason: 'cache-corrupt', detail: found.detail }] };
            }
            else {
                const reasons = forced.has(name) ? [{ reason: 'forced' }] : explainKeyChange(prev, key);
                status = { layer: name, state: 'stale', keyDigest: digest, reasons: reasons.length > 0 ? reasons : [{ reason: 'cache-missing' }] };
            }
        }
        byName.set(name, status);
    }
    return order.map((n) => byName.get(n));
}
export class FrozenError extends Error {
    stale;
    constructor(stale) {
        super(`--frozen: ${stale.length} layer(s) would be rebuilt:\n` +
            stale
                .map((s) => `  ${s.layer}: ${s.state === 'stale' ? s.reasons.map(describeReason).join('; ') : ''}`)
                .join('\n'));
        this.stale = stale;
    }
}
//# sourceMappingURL=status.js.map