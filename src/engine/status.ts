// Each layer's cache key, and whether it is cached or stale and why. Used by `plan`, by
// `build --frozen` before anything runs, and by `build` itself.

import { explainKeyChange, type StaleReason } from '../cache/explain.js';
import type { KeyDigest, Sha256 } from '../cache/digest.js';
import { fingerprintInputs } from '../cache/inputs.js';
import { isLayerKey } from '../cache/key-shape.js';
import { type InputFingerprint, keyDigest, LAYER_FORMAT, type LayerKey, normalizeRecipe } from '../cache/key.js';
import type { StatCache } from '../cache/stat-cache.js';
import type { StoreReader } from '../cache/store.js';
import type { Manifest } from '../layer/manifest.js';
import type { LayerGraph } from '../plan/graph.js';
import type { Recipe } from '../recipe/types.js';

export interface KeyContext {
  stats: StatCache;
  mksquashfs: string;
  sourceDateEpoch: number | undefined;
  signal: AbortSignal;
  /** Input fingerprints by layer, so planning and building in one run read the inputs once. */
  fingerprints?: Map<string, Promise<InputFingerprint[]>>;
}

/** Keys computed in a run, by layer and parent: planning and building ask for the same ones. */
const computed = new WeakMap<KeyContext, Map<string, Promise<{ key: LayerKey; digest: KeyDigest }>>>();

export function layerKey(
  kc: KeyContext,
  recipe: Recipe,
  parent: { name: string; digest: Sha256 } | null,
): Promise<{ key: LayerKey; digest: KeyDigest }> {
  let byLayer = computed.get(kc);
  if (!byLayer) computed.set(kc, (byLayer = new Map<string, Promise<{ key: LayerKey; digest: KeyDigest }>>()));
  const id = `${recipe.name}\0${parent ? `${parent.name}\0${parent.digest}` : ''}`;
  let key = byLayer.get(id);
  if (!key) byLayer.set(id, (key = computeKey(kc, recipe, parent)));
  return key;
}

async function computeKey(
  kc: KeyContext,
  recipe: Recipe,
  parent: { name: string; digest: Sha256 } | null,
): Promise<{ key: LayerKey; digest: KeyDigest }> {
  let inputs = kc.fingerprints?.get(recipe.name);
  if (!inputs) {
    inputs = fingerprintInputs(recipe, kc.stats, kc.signal);
    kc.fingerprints?.set(recipe.name, inputs);
  }
  const key: LayerKey = {
    format: LAYER_FORMAT,
    recipe: normalizeRecipe(recipe),
    inputs: await inputs,
    parent,
    mksquashfs: kc.mksquashfs,
    sourceDateEpoch: kc.sourceDateEpoch ?? null,
  };
  return { key, digest: keyDigest(key) };
}

/** Starts fingerprinting a recipe's inputs (once per run: kc.fingerprints keeps the promise). */
function prefetchInputs(kc: KeyContext, recipe: Recipe): void {
  if (!kc.fingerprints || kc.fingerprints.has(recipe.name)) return;
  const inputs = fingerprintInputs(recipe, kc.stats, kc.signal);
  // Awaited in order by layerKey; one failing first leaves the others unawaited, not unhandled.
  inputs.catch(() => {});
  kc.fingerprints.set(recipe.name, inputs);
}

export type LayerStatus =
  /** `remote`: the entry is not in the local cache but in this registry repository (the build downloads it). */
  | { layer: string; state: 'cached'; keyDigest: KeyDigest; digest: Sha256; size: number; remote?: string }
  /**
   * `unconfirmed`: not looked up yet (see layerStatuses' `speculate`): the build starts it and
   * looks its key up once known, so it may still turn out cached.
   */
  | { layer: string; state: 'stale'; reasons: StaleReason[]; keyDigest?: KeyDigest; unconfirmed?: boolean };

/**
 * Walks `order` (parents first). A layer whose parent is stale cannot know its key yet: it
 * is stale with "parent will be rebuilt", plus whatever changed in its own recipe and inputs
 * (it may still turn out cached if the parent rebuilds to identical bytes). With `speculate`
 * (a build), a layer never built in this project for which it says yes is stale, unconfirmed,
 * without waiting for its key (see build.ts).
 */
export async function layerStatuses(
  kc: KeyContext,
  store: StoreReader,
  graph: LayerGraph,
  order: string[],
  manifest: Manifest,
  forced: ReadonlySet<string>,
  speculate?: (recipe: Recipe) => boolean,
): Promise<LayerStatus[]> {
  // Every layer's inputs at once: their stat-cache checks (and any hashing) overlap instead of
  // waiting for one another, layer after layer.
  for (const name of order) prefetchInputs(kc, graph.recipes.get(name)!);
  const byName = new Map<string, LayerStatus>();
  for (const name of order) {
    const recipe = graph.recipes.get(name)!;
    const parentStatus = recipe.parent !== undefined ? byName.get(recipe.parent) : undefined;
    // A key that is not a LayerKey (a hand-edited manifest) counts as none.
    const recorded = manifest.layers[name]?.key;
    const prev = isLayerKey(recorded) ? recorded : undefined;
    let status: LayerStatus;
    if (parentStatus && parentStatus.state === 'stale') {
      // Compare own fields only, with the parent taken as unchanged. Without a recorded key
      // there is nothing to compare: its inputs are fingerprinted while the parent builds.
      const own = prev ? explainKeyChange(prev, (await layerKey(kc, recipe, prev.parent)).key).filter((r) => r.reason !== 'parent') : [];
      status = { layer: name, state: 'stale', reasons: [{ reason: 'parent', name: recipe.parent!, what: 'stale' }, ...own] };
    } else if (!prev && !forced.has(name) && speculate?.(recipe)) {
      status = { layer: name, state: 'stale', reasons: [{ reason: 'not-built' }], unconfirmed: true };
    } else {
      const parent = parentStatus?.state === 'cached' ? { name: parentStatus.layer, digest: parentStatus.digest } : null;
      const { key, digest } = await layerKey(kc, recipe, parent);
      const found = forced.has(name) ? undefined : await store.peek(digest);
      if (found?.found === 'hit') {
        status = { layer: name, state: 'cached', keyDigest: digest, digest: found.digest, size: found.size };
      } else if (found?.found === 'remote') {
        const { record } = found;
        status = { layer: name, state: 'cached', keyDigest: digest, digest: record.digest, size: record.size, remote: found.from };
      } else if (found?.found === 'corrupt') {
        // The key matched: whatever else changed since the last build, the blob is why it rebuilds.
        status = { layer: name, state: 'stale', keyDigest: digest, reasons: [{ reason: 'cache-corrupt', detail: found.detail }] };
      } else {
        const reasons: StaleReason[] = forced.has(name) ? [{ reason: 'forced' }] : explainKeyChange(prev, key);
        status = { layer: name, state: 'stale', keyDigest: digest, reasons: reasons.length > 0 ? reasons : [{ reason: 'cache-missing' }] };
      }
    }
    byName.set(name, status);
  }
  return order.map((n) => byName.get(n)!);
}
