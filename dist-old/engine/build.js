// `build`: the layers asked for and their ancestors, parents first, independent branches at
// the same time (p-queue), each one taken from the cache when its key is known, built
// otherwise; layers/NAME.sqsh follows each finished layer, the manifest is written once when
// the run ends (whatever the outcome: it always describes what layers/ holds).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import { describeReason } from '../cache/explain.js';
import { ManifestWriter, manifestEntry, readManifestFile } from '../layer/manifest.js';
import { bootOverlayWarning } from '../plan/cmdline.js';
import { buildOrder, lowersOf, stackOf } from '../plan/graph.js';
import { clockWarning, reproducibleFromInputs } from '../plan/reproducible.js';
import { explainFailure, FailureError } from '../failure.js';
import { classify } from '../process/interrupt.js';
import { findOnPath } from '../process/which.js';
import { LAYERS_DIR } from './session.js';
import { LowerDirs, SharedLowers } from './shared-lowers.js';
import { layerStatuses, layerKey } from './status.js';
// What builds a layer (steps, sandboxes, finalize, pack, in-process xattrs) is loaded when a
// layer is built or described: a no-op build or plan never loads it (module loading is most of
// a no-op's time).
const layerBuilding = () => import('./layer-build.js');
const layerPlans = () => import('./layer-plan.js');
const stepTable = () => import('../steps/index.js');
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
    const statuses = await layerStatuses(s.keys, s.store, s.graph, order, manifest, forced);
    const stale = statuses.filter((st) => st.state === 'stale');
    if (o.frozen && stale.length > 0) {
        throw new FailureError({ reason: 'frozen', stale: stale.map((st) => ({ layer: st.layer, reasons: st.reasons })) });
    }
    const lowerDirs = new LowerDirs(path.join(s.runDir, 'lowers'), order);
    // Said once, when the layers concerned are about to be built (or described).
    const clock = clockWarning(stale.map((st) => s.graph.recipes.get(st.layer)), s.keys.sourceDateEpoch);
    if (s.mode === 'read-only') {
        if (clock)
            s.report.emit({ type: 'warning', text: clock });
        return dryRun(s, statuses, lowerDirs);
    }
    if (stale.length > 0)
        await preflight(s, stale);
    // The overlay probe mounts and unmounts: done now, beside the first layer's work, rather
    // than when the first layer with a parent is about to start. Its failure is that layer's.
    if (stale.some((st) => s.graph.recipes.get(st.layer).parent !== undefined))
        s.overlayOptions().catch(() => { });
    if (clock)
        s.report.emit({ type: 'warning', text: clock });
    return run(s, o, { order, forced, statuses, manifest, onDisk: onDisk !== undefined, lowerDirs });
}
async function run(s, o, { order, forced, statuses, manifest, onDisk, lowerDirs }) {
    const shared = new SharedLowers(lowerDirs, order, (n) => lowersOf(s.graph, n), s.runner, s.cleanupRunner, (text) => s.report.emit({ type: 'warning', text }));
    /** Lowers already shown by --verbose (each is mounted once per run). */
    const described = new Set();
    const writer = new ManifestWriter(s.layersDir, manifest, onDisk);
    const queue = new PQueue({ concurrency: Math.max(1, o.jobs) });
    const outcomes = new Map();
    let firstFailure;
    const ahead = new Ahead(s, o, order, statuses);
    /** The layers' closing (their tmpfs unmounted): settled before the run ends. */
    const closing = [];
    /**
     * Builds `name` ahead of its parent's pack (see Ahead): its steps and finalize run on the
     * parent's finalized upper while mksquashfs packs the parent. undefined when it cannot (the
     * parent did not build, or is closing already, or something failed or was interrupted).
     */
    const buildAhead = async (name) => {
        const recipe = s.graph.recipes.get(name);
        const base = await ahead.baseOf(recipe.parent);
        if (!base)
            return undefined;
        // The lowers below the parent are blobs by now (they were done before the parent started).
        const lowers = [{ name: recipe.parent, blob: '' }];
        for (const l of lowersOf(s.graph, name).slice(1)) {
            const lo = await outcomes.get(l);
            if (!('blob' in lo))
                return undefined;
            lowers.push({ name: l, blob: lo.blob });
        }
        if (classify(s.signal) || firstFailure !== undefined)
            return undefined;
        // Two layers' tmpfs at once: only with the memory for it (a full image over its parent is
        // about the parent's size); else the child waits, as it always could.
        if (!(await roomBeside(base.upper))) {
            if (s.verbose)
                s.report.emit({ type: 'info', text: `${name}: not built ahead of ${recipe.parent}: too little memory available for a second tmpfs` });
            return undefined;
        }
        const release = base.hold();
        if (!release)
            return undefined;
        const started = Date.now();
        try {
            const prev = statuses.find((st) => st.layer === name);
            s.report.emit({ type: 'layer-start', layer: name, reasons: prev?.state === 'stale' ? prev.reasons : [] });
            const { describeLayerPlan, planOf } = await layerPlans();
            const { prepareLayer } = await layerBuilding();
            const plan = await planOf(s, lowerDirs, recipe, lowers, base.upper);
            if (s.verbose)
                emitPlan(s, name, describeLayerPlan(plan, { mounted: described, out: `<new ${name}.sqsh>` }));
            return { prepared: await prepareLayer(s, plan, shared), started };
        }
        catch (err) {
            return { failure: err, started };
        }
        finally {
            release();
        }
    };
    const one = async (name) => {
        const recipe = s.graph.recipes.get(name);
        const early = ahead.wanted(name) ? ahead.run(() => buildAhead(name)) : undefined;
        let taken;
        try {
            const parent = recipe.parent !== undefined ? await outcomes.get(recipe.parent) : undefined;
            if (parent && (parent.status === 'failed' || parent.status === 'skipped')) {
                return { layer: name, status: 'skipped', because: `parent ${parent.layer} was not built` };
            }
            return await queue.add(async () => {
                // An interrupted run starts no further layer; a failed one neither.
                const stop = classify(s.signal);
                if (stop)
                    return { layer: name, status: 'failed', failure: stop };
                if (firstFailure !== undefined)
                    return { layer: name, status: 'skipped', because: `layer ${firstFailure} failed` };
                let started = Date.now();
                // What the layer is at, so that any failure names the layer and the phase.
                let phase = 'computing its cache key';
                try {
                    const parentRef = parent && 'digest' in parent ? { name: parent.layer, digest: parent.digest } : null;
                    const { key, digest: kd } = await layerKey(s.keys, recipe, parentRef);
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
                    let finalized;
                    if (!hit && o.frozen) {
                        // Planned as cached, but the entry is gone or was corrupt (evicted, with a warning).
                        throw new FailureError({ reason: 'frozen-cache-miss', layer: name });
                    }
                    if (!hit) {
                        status = 'built';
                        phase = 'building';
                        const built = await early;
                        if (built && 'failure' in built)
                            throw built.failure;
                        let prepared = built?.prepared;
                        // Its time counts from when it started, ahead of its parent's pack.
                        if (built)
                            started = built.started;
                        if (!built) {
                            const prev = statuses.find((st) => st.layer === name);
                            s.report.emit({ type: 'layer-start', layer: name, reasons: prev?.state === 'stale' ? prev.reasons : [] });
                        }
                        const blob = await s.store.newBlob(name);
                        try {
                            if (!prepared) {
                                const lowers = [];
                                for (const l of lowersOf(s.graph, name)) {
                                    const lo = await outcomes.get(l);
                                    if (!('blob' in lo))
                                        throw new Error(`bug: lower ${l} has no blob`);
                                    lowers.push({ name: l, blob: lo.blob });
                                }
                                const { describeLayerPlan, planOf } = await layerPlans();
                                const { prepareLayer } = await layerBuilding();
                                const plan = await planOf(s, lowerDirs, recipe, lowers);
                                if (s.verbose)
                                    emitPlan(s, name, describeLayerPlan(plan, { mounted: described, out: blob.path }));
                                prepared = await prepareLayer(s, plan, shared);
                            }
                            taken = prepared;
                            // A child may build ahead on this upper while it is packed.
                            if (ahead.offers(name))
                                ahead.offer(name, prepared.offer());
                            await prepared.pack(blob.path);
                            finalized = prepared.stats;
                            phase = STORING;
                            hit = await blob.commit(key, kd);
                        }
                        catch (err) {
                            await blob.discard().catch(() => { });
                            throw err;
                        }
                    }
                    phase = `linking it to ${path.join(LAYERS_DIR, `${name}.sqsh`)}`;
                    await s.store.materialize(hit, path.join(s.layersDir, `${name}.sqsh`));
                    await writer.update(name, manifestEntry(name, hit.record));
                    const seconds = (Date.now() - started) / 1000;
                    s.report.emit({ type: 'layer-done', layer: name, status, digest: hit.record.digest, size: hit.record.size, seconds, finalized });
                    return { layer: name, status, digest: hit.record.digest, size: hit.record.size, seconds, blob: hit.blobPath };
                }
                catch (caught) {
                    const failure = inLayer(classify(s.signal, caught), name, phase);
                    if (failure.reason !== 'interrupted') {
                        firstFailure ??= name;
                        s.report.emit({ type: 'layer-failed', layer: name, message: explainFailure(failure).message });
                    }
                    return { layer: name, status: 'failed', failure };
                }
            });
        }
        finally {
            // Whatever the outcome: a child waiting to build ahead on this layer stops waiting, and
            // work done ahead that was not used (cached after all, parent failed) is undone. The
            // unmounting (and waiting for a child still working ahead on the upper) does not hold up
            // the outcome, which the children wait for: the run waits for it at its end.
            ahead.offer(name, undefined);
            closing.push((async () => {
                const built = await early;
                if (built && 'prepared' in built && built.prepared !== taken)
                    await built.prepared.close();
                if (taken)
                    await taken.close();
            })().catch((e) => s.report.emit({ type: 'warning', text: `${name}: ${e.message}` })));
        }
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
        while (closing.length > 0)
            await Promise.all(closing.splice(0));
        for (const e of await shared.close())
            s.report.emit({ type: 'warning', text: e.message });
        await flushManifest(writer);
    }
    const interrupted = results.find((r) => r.status === 'failed' && r.failure.reason === 'interrupted');
    if (interrupted && interrupted.status === 'failed')
        throw new FailureError(interrupted.failure);
    return results;
}
/**
 * Whether the memory available (tmpfs pages are not: what is left is what the child gets)
 * holds twice what a finalized upper uses, and 512 MiB more: the child's own upper, which a
 * full image makes about as big, and room for the parent's mksquashfs beside it.
 */
async function roomBeside(upper) {
    try {
        const st = await fs.statfs(upper);
        const used = (st.blocks - st.bfree) * st.bsize;
        const available = /^MemAvailable:\s+(\d+) kB$/m.exec(await fs.readFile('/proc/meminfo', 'utf8'));
        return available !== null && Number(available[1]) * 1024 >= 2 * used + 512 * 2 ** 20;
    }
    catch {
        return false;
    }
}
/**
 * Building ahead: a chain is built one layer after the other, but a child need not wait for
 * its parent's mksquashfs. Once the parent is finalized, its upper dir is final; with its
 * times settled to what the pack records (layer-build.ts: offer), a tree stacked on it shows
 * what the packed parent will show. A child whose steps only bring in inputs (restore, untar,
 * copy, remove: nothing there reads a time or the machine) runs its steps and finalize on it
 * while the parent is packed, on the other core. The child's key still needs the parent's
 * digest: once the parent is stored, a cache hit discards the work done ahead, else the
 * prepared upper is packed. The same layer built either way has the same bytes (tested).
 * One layer builds ahead at a time (the first eligible child of each building parent), so a
 * fleet of children does not fill the memory with tmpfs uppers.
 */
class Ahead {
    children = new Set();
    bases = new Map();
    queue = new PQueue({ concurrency: 1 });
    constructor(s, o, order, statuses) {
        if (o.frozen)
            return;
        const stale = new Set(statuses.filter((st) => st.state === 'stale').map((st) => st.layer));
        for (const name of order) {
            const recipe = s.graph.recipes.get(name);
            const parent = recipe.parent;
            if (parent === undefined || !stale.has(parent) || this.bases.has(parent) || !reproducibleFromInputs(recipe))
                continue;
            this.children.add(name);
            let settle;
            const promise = new Promise((resolve) => {
                settle = (b) => resolve(b ? b.catch(() => undefined) : undefined);
            });
            this.bases.set(parent, { promise, settle });
        }
    }
    /** Whether `name` is to build ahead of its parent's pack. */
    wanted(name) {
        return this.children.has(name);
    }
    /** Whether a child waits for `name`'s finalized upper. */
    offers(name) {
        return this.bases.has(name);
    }
    /** The finalized upper of `name` (undefined: it did not build, or failed). First call wins. */
    offer(name, base) {
        this.bases.get(name)?.settle(base);
    }
    baseOf(name) {
        return this.bases.get(name)?.promise ?? Promise.resolve(undefined);
    }
    run(work) {
        return this.queue.add(work);
    }
}
/** Writes the manifest once for the run; a failure to write it fails the build, naming the file. */
async function flushManifest(writer) {
    try {
        await writer.flush();
    }
    catch (err) {
        throw new Error(`writing ${path.join(LAYERS_DIR, 'manifest.json')}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
}
/** A failure as one that names the layer and the phase (a bare ENOENT names neither). */
function inLayer(f, layer, phase) {
    if (f.reason === 'layer-build' || f.reason === 'interrupted' || f.reason === 'frozen-cache-miss')
        return f;
    const vanished = f.reason === 'unexpected' && f.error?.code === 'ENOENT' && phase === STORING;
    const hint = vanished ? 'the packed layer vanished before it was stored; something removed it from the cache directory' : undefined;
    return { reason: 'layer-build', layer, where: phase, cause: f, hint };
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
    const { toolsOf } = await stepTable();
    const needed = new Set(BASE_TOOLS);
    for (const st of stale)
        for (const step of s.graph.recipes.get(st.layer).steps)
            for (const t of toolsOf(step))
                needed.add(t);
    const missing = [];
    for (const t of [...needed].sort())
        if ((await findOnPath(t, s.runner.env.PATH ?? '')) === undefined)
            missing.push(t);
    if (missing.length === 0)
        return;
    const layers = stale.map((st) => st.layer);
    const uses = missing.map((tool) => {
        // The steps that ask for it; a tool only the machinery uses is needed by every layer.
        const steps = stale.flatMap((st) => s.graph.recipes
            .get(st.layer)
            .steps.filter((step) => toolsOf(step).includes(tool))
            .map((step) => `layer ${st.layer} step ${step.index + 1} (${step.kind})`));
        return { tool, neededFor: steps.length > 0 ? steps : [`building layer${layers.length === 1 ? '' : 's'} ${layers.join(', ')}`] };
    });
    throw new FailureError({ reason: 'missing-tools', missing: uses });
}
/** --dry-run: each layer's plan described, nothing mounted, run or written. */
async function dryRun(s, statuses, lowerDirs) {
    const out = [];
    const mounted = new Set();
    const { describeLayerPlan, planOf } = await layerPlans();
    for (const st of statuses) {
        if (st.state === 'cached') {
            s.report.emit({ type: 'info', text: `${st.layer}: cached (${st.digest.slice(0, 12)})` });
            out.push({ layer: st.layer, status: 'skipped', because: 'cached' });
            continue;
        }
        // Lowers not built yet have no blob: their placeholders stand for the blobs the build would mount.
        const lowers = lowersOf(s.graph, st.layer).map((l) => ({ name: l, blob: `<${l}.sqsh>` }));
        const plan = await planOf(s, lowerDirs, s.graph.recipes.get(st.layer), lowers);
        s.report.emit({ type: 'info', text: `${st.layer}: would build: ${st.reasons.map(describeReason).join('; ')}` });
        for (const line of describeLayerPlan(plan, { mounted, out: `<new ${st.layer}.sqsh>` }))
            s.report.emit({ type: 'info', text: `  ${line}` });
        out.push({ layer: st.layer, status: 'skipped', because: 'dry run' });
    }
    return out;
}
/** --verbose: the plan of a layer about to be built. */
function emitPlan(s, layer, lines) {
    s.report.emit({ type: 'info', text: `${layer}: plan` });
    for (const line of lines)
        s.report.emit({ type: 'info', text: `  ${line}` });
}
//# sourceMappingURL=build.js.map