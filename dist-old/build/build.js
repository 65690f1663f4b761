// `build`: the layers asked for and their ancestors, parents first, independent branches at
// the same time (p-queue), each one taken from the cache when its key is known, built
// otherwise; layers/NAME.sqsh and the manifest follow each finished layer.
import path from 'node:path';
import PQueue from 'p-queue';
import { describeReason } from '../cache/explain.js';
import { materialize } from '../cache/local-store.js';
import { ManifestWriter, manifestEntry, readManifestFile } from '../layer/manifest.js';
import { bootOverlayWarning } from '../plan/cmdline.js';
import { buildOrder, lowersOf, stackOf } from '../plan/graph.js';
import { Interrupted } from '../process/interrupt.js';
import { findOnPath } from '../process/which.js';
import { describeLayerBuild, installHint, LayerBuildError } from './layer-build.js';
import { buildLayer } from './layer-build.js';
import { LAYERS_DIR } from './session.js';
import { SharedLowers } from './shared-lowers.js';
import { FrozenError, layerStatuses, layerKey } from './status.js';
import { toolsOf } from '../steps/index.js';
export class MissingToolsError extends Error {
}
/** --frozen, and a layer that was planned as cached turned out to need a rebuild. */
export class FrozenLayerError extends Error {
}
/** Tools every build needs, whatever its steps. */
const BASE_TOOLS = ['mount', 'umount', 'mksquashfs', 'getfattr', 'setfattr', 'xargs', 'bwrap'];
/** The phase in which a layer's packed file is moved into the cache. */
const STORING = 'storing it in the cache';
export async function build(s, o) {
    const order = buildOrder(s.graph, o.targets);
    for (const text of bootWarnings(s, order))
        s.report.emit({ type: 'warning', text });
    const forced = new Set(o.force ? (o.targets.length > 0 ? o.targets : order) : []);
    const onDisk = await readManifestFile(s.layersDir);
    const manifest = onDisk ?? { version: 1, layers: {} };
    const kc = { stats: s.stats, mksquashfs: s.mksquashfs, sourceDateEpoch: s.sourceDateEpoch, signal: s.signal, fingerprints: new Map() };
    const statuses = await layerStatuses(kc, s.store, s.graph, order, manifest, forced);
    const stale = statuses.filter((st) => st.state === 'stale');
    if (o.frozen && stale.length > 0)
        throw new FrozenError(stale);
    const shared = new SharedLowers(path.join(s.state.dir, 'lowers'), order, (n) => lowersOf(s.graph, n), s.runner, s.cleanupRunner, (text) => s.report.emit({ type: 'warning', text }));
    if (s.runner.dryRun)
        return dryRun(s, statuses, shared);
    if (stale.length > 0)
        await preflight(s, stale);
    const writer = new ManifestWriter(s.layersDir, manifest, onDisk !== undefined);
    const queue = new PQueue({ concurrency: Math.max(1, o.jobs) });
    const outcomes = new Map();
    let firstFailure;
    const one = async (name) => {
        const recipe = s.graph.recipes.get(name);
        const parent = recipe.parent !== undefined ? await outcomes.get(recipe.parent) : undefined;
        if (parent && (parent.status === 'failed' || parent.status === 'skipped')) {
            return { layer: name, status: 'skipped', because: `parent ${parent.layer} was not built` };
        }
        return queue.add(async () => {
            // An interrupted run starts no further layer; a failed one neither.
            if (s.signal.aborted)
                return { layer: name, status: 'failed', error: new Interrupted(s.signal.reason) };
            if (firstFailure !== undefined)
                return { layer: name, status: 'skipped', because: `layer ${firstFailure} failed` };
            const started = Date.now();
            // What the layer is at, so that any failure names the layer and the phase.
            let phase = 'computing its cache key';
            try {
                const parentRef = parent && 'digest' in parent ? { name: parent.layer, digest: parent.digest } : null;
                const { key, digest: kd } = await layerKey(kc, recipe, parentRef);
                phase = 'looking it up in the cache';
                const found = forced.has(name) ? undefined : await s.store.get(kd);
                if (found?.found === 'corrupt') {
                    s.report.emit({
                        type: 'warning',
                        text: `layer ${name}: cache blob ${found.record.digest.slice(0, 12)} changed on disk (${found.detail}); evicted, layer ${name} will be rebuilt`,
                    });
                }
                let hit = found?.found === 'hit' ? found.hit : undefined;
                let status = 'cached';
                if (!hit && o.frozen) {
                    // Planned as cached, but the entry is gone or was corrupt (evicted, with a warning).
                    throw new FrozenLayerError(`--frozen: layer ${name} would be rebuilt: its cache entry is missing or was corrupt`);
                }
                if (!hit) {
                    status = 'built';
                    phase = 'building';
                    const prev = statuses.find((st) => st.layer === name);
                    s.report.emit({ type: 'layer-start', layer: name, reasons: prev?.state === 'stale' ? prev.reasons : [] });
                    const lowers = [];
                    for (const l of lowersOf(s.graph, name)) {
                        const lo = await outcomes.get(l);
                        if (!('blob' in lo))
                            throw new Error(`bug: lower ${l} has no blob`);
                        lowers.push({ name: l, blob: lo.blob });
                    }
                    const tmp = await s.store.tmpPath(name);
                    await buildLayer(s, recipe, lowers, shared, tmp);
                    phase = STORING;
                    hit = await s.store.put(key, kd, tmp, name);
                }
                phase = `linking it to ${path.join(LAYERS_DIR, `${name}.sqsh`)}`;
                await materialize(hit.blobPath, path.join(s.layersDir, `${name}.sqsh`), s.state.id, { digest: hit.record.digest, stats: s.stats });
                phase = `writing ${path.join(LAYERS_DIR, 'manifest.json')}`;
                await writer.update(name, manifestEntry(name, hit.record));
                const seconds = (Date.now() - started) / 1000;
                s.report.emit({ type: 'layer-done', layer: name, status, digest: hit.record.digest, size: hit.record.size, seconds });
                return { layer: name, status, digest: hit.record.digest, size: hit.record.size, seconds, blob: hit.blobPath };
            }
            catch (caught) {
                // Whatever fails once the run is interrupted (an aborted read, a killed command) is the interrupt.
                const err = s.signal.aborted && !(caught instanceof Interrupted) ? new Interrupted(s.signal.reason) : inLayer(caught, name, phase);
                if (!(err instanceof Interrupted)) {
                    firstFailure ??= name;
                    s.report.emit({ type: 'layer-failed', layer: name, message: err.message });
                }
                return { layer: name, status: 'failed', error: err };
            }
        });
    };
    // A layer that is done (whatever the outcome) no longer holds its lowers' shared mounts.
    for (const name of order) {
        outcomes.set(name, one(name).then(async (outcome) => {
            await shared.done(name);
            return outcome;
        }));
    }
    let results;
    try {
        results = await Promise.all(order.map((n) => outcomes.get(n)));
    }
    finally {
        for (const e of await shared.close())
            s.report.emit({ type: 'warning', text: e.message });
    }
    const interrupted = results.find((r) => r.status === 'failed' && r.error instanceof Interrupted);
    if (interrupted && interrupted.status === 'failed')
        throw interrupted.error;
    return results;
}
/** A failure as one that names the layer and the phase (a bare ENOENT names neither). */
function inLayer(err, layer, phase) {
    if (err instanceof LayerBuildError || err instanceof Interrupted || err instanceof FrozenLayerError)
        return err;
    const e = err;
    const hint = e.code === 'ENOENT' && phase === STORING
        ? 'the packed layer vanished before it was stored; something removed it from the cache directory'
        : undefined;
    return new LayerBuildError(layer, phase, e.message ?? String(err), [], hint);
}
/**
 * The stacks of the run (one per top layer) whose overlay options the initramfs could not
 * mount: buildable, but not bootable as they are. Boot parameters are not known here: the
 * defaults (with or without ram_layer, the options are as long either way), no overlayflags.
 */
function bootWarnings(s, order) {
    const parents = new Set(order.map((n) => s.graph.recipes.get(n).parent));
    return order.filter((n) => !parents.has(n)).flatMap((top) => bootOverlayWarning(stackOf(s.graph, top), {}) ?? []);
}
async function preflight(s, stale) {
    const needed = new Set(BASE_TOOLS);
    for (const st of stale)
        for (const step of s.graph.recipes.get(st.layer).steps)
            for (const t of toolsOf(step))
                needed.add(t);
    const missing = [];
    for (const t of [...needed].sort())
        if ((await findOnPath(t)) === undefined)
            missing.push(t);
    if (missing.length === 0)
        return;
    const layers = stale.map((st) => st.layer);
    const uses = missing.map((t) => {
        // The steps that ask for it; a tool only the machinery uses is needed by every layer.
        const steps = stale.flatMap((st) => s.graph.recipes
            .get(st.layer)
            .steps.filter((step) => toolsOf(step).includes(t))
            .map((step) => `layer ${st.layer} step ${step.index + 1} (${step.kind})`));
        const users = steps.length > 0 ? steps : [`building layer${layers.length === 1 ? '' : 's'} ${layers.join(', ')}`];
        return `  ${t}: needed for ${users.slice(0, 5).join(', ')}${users.length > 5 ? ', ...' : ''}; ${installHint(t)}`;
    });
    throw new MissingToolsError(`missing tool${missing.length === 1 ? '' : 's'} (nothing was built):\n${uses.join('\n')}`);
}
async function dryRun(s, statuses, shared) {
    const out = [];
    const mounted = new Set();
    for (const st of statuses) {
        if (st.state === 'cached') {
            s.report.emit({ type: 'info', text: `${st.layer}: cached (${st.digest.slice(0, 12)})` });
            out.push({ layer: st.layer, status: 'skipped', because: 'cached' });
            continue;
        }
        const lowers = lowersOf(s.graph, st.layer).map((l) => ({ name: l, blob: `<${l}.sqsh>` }));
        s.report.emit({ type: 'info', text: `${st.layer}: would build: ${st.reasons.map(describeReason).join('; ')}` });
        for (const line of await describeLayerBuild(s, s.graph.recipes.get(st.layer), lowers, shared, mounted)) {
            s.report.emit({ type: 'info', text: `  ${line}` });
        }
        out.push({ layer: st.layer, status: 'skipped', because: 'dry run' });
    }
    return out;
}
export { LayerBuildError };
//# sourceMappingURL=build.js.map