// `build`: the layers asked for and their ancestors, parents first, independent branches at
// the same time (p-queue), each one taken from the cache when its key is known, built
// otherwise; layers/NAME.sqsh follows each finished layer, the manifest is written once when
// the run ends (whatever the outcome: it always describes what layers/ holds).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import PQueue from 'p-queue';
import type { Sha256 } from '../cache/digest.js';
import { describeReason } from '../cache/explain.js';
import type { Hit } from '../cache/store.js';
import type { FinalizeStats } from '../layer/finalize.js';
import { type Manifest, ManifestWriter, manifestEntry, readManifestFile } from '../layer/manifest.js';
import { bootOverlayWarning } from '../plan/cmdline.js';
import { buildOrder, lowersOf, stackOf } from '../plan/graph.js';
import { clockWarning, reproducibleFromInputs } from '../plan/reproducible.js';
import { explainFailure, type Failure, FailureError } from '../failure.js';
import { classify } from '../process/interrupt.js';
import { findOnPath } from '../process/which.js';
import type { AheadBase, LayerBuildSession, PreparedLayer } from './layer-build.js';
import type { LayerPlan } from './layer-plan.js';
import type { Recipe } from '../recipe/types.js';
import { type BuildSession, LAYERS_DIR, type ReadOnlySession, type Session } from './session.js';
import { LowerDirs, SharedLowers, type Lower } from './shared-lowers.js';
import { layerStatuses, layerKey, type LayerStatus } from './status.js';

// What builds a layer (steps, sandboxes, finalize, pack, in-process xattrs) is loaded when a
// layer is built or described: a no-op build or plan never loads it (module loading is most of
// a no-op's time).
const layerBuilding = () => import('./layer-build.js');
const layerPlans = () => import('./layer-plan.js');
const stepTable = () => import('../steps/index.js');

export interface BuildOptions {
  targets: string[];
  force: boolean;
  frozen: boolean;
  jobs: number;
}

export type LayerOutcome =
  | { layer: string; status: 'built' | 'cached'; digest: Sha256; size: number; seconds: number; blob: string }
  | { layer: string; status: 'failed'; failure: Failure }
  | { layer: string; status: 'skipped'; because: string };

/** Tools every build needs, whatever its steps. */
const BASE_TOOLS = ['mount', 'umount', 'mksquashfs', 'getfattr', 'setfattr', 'xargs', 'bwrap'];

/** The phase in which a layer's packed file is moved into the cache. */
const STORING = 'storing it in the cache';

export async function build(s: Session, o: BuildOptions): Promise<LayerOutcome[]> {
  const order = buildOrder(s.graph, o.targets);
  for (const text of bootWarnings(s, order)) s.report.emit({ type: 'warning', text });
  const forced = new Set(o.force ? (o.targets.length > 0 ? o.targets : order) : []);
  const onDisk = await readManifestFile(s.layersDir);
  const manifest = onDisk ?? { version: 1 as const, layers: {} };
  // A dry run describes, a frozen one checks: only a real build starts layers before their keys are known.
  const speculate = s.mode === 'read-only' || o.frozen ? undefined : (r: Recipe) => hashingHoldsUp(s, r);
  const statuses = await layerStatuses(s.keys, s.store, s.graph, order, manifest, forced, speculate);
  const stale = statuses.filter((st) => st.state === 'stale');
  if (o.frozen && stale.length > 0) {
    throw new FailureError({ reason: 'frozen', stale: stale.map((st) => ({ layer: st.layer, reasons: st.reasons })) });
  }
  const lowerDirs = new LowerDirs(path.join(s.runDir, 'lowers'), order);
  // Said once, when the layers concerned are about to be built (or described).
  const clock = clockWarning(stale.map((st) => s.graph.recipes.get(st.layer)!), s.keys.sourceDateEpoch);
  if (s.mode === 'read-only') {
    if (clock) s.report.emit({ type: 'warning', text: clock });
    return dryRun(s, statuses, lowerDirs);
  }
  if (stale.length > 0) {
    // Loaded while the tools are looked for, not when the first layer is about to start.
    // (A module that fails to load fails the first layer that needs it.)
    layerPlans().catch(() => {});
    layerBuilding().catch(() => {});
    await preflight(s, stale);
  }
  // The overlay probe mounts and unmounts: done now, beside the first layer's work, rather
  // than when the first layer with a parent is about to start. Its failure is that layer's.
  if (stale.some((st) => s.graph.recipes.get(st.layer)!.parent !== undefined)) s.overlayOptions().catch(() => {});
  if (clock) s.report.emit({ type: 'warning', text: clock });
  return run(s, o, { order, forced, statuses, manifest, onDisk: onDisk !== undefined, lowerDirs });
}

interface RunPlan {
  order: string[];
  forced: ReadonlySet<string>;
  statuses: LayerStatus[];
  manifest: Manifest;
  /** Whether layers/manifest.json exists. */
  onDisk: boolean;
  lowerDirs: LowerDirs;
}

async function run(s: BuildSession, o: BuildOptions, { order, forced, statuses, manifest, onDisk, lowerDirs }: RunPlan): Promise<LayerOutcome[]> {
  const shared = new SharedLowers(lowerDirs, order, (n) => lowersOf(s.graph, n), s.runner, s.cleanupRunner, (text) =>
    s.report.emit({ type: 'warning', text }),
  );
  /** Lowers already shown by --verbose (each is mounted once per run). */
  const described = new Set<string>();
  const writer = new ManifestWriter(s.layersDir, manifest, onDisk);
  const queue = new PQueue({ concurrency: Math.max(1, o.jobs) });
  const outcomes = new Map<string, Promise<LayerOutcome>>();
  let firstFailure: string | undefined;
  const ahead = new Ahead(s, o, order, statuses);
  /** The layers' closing (their tmpfs unmounted): settled before the run ends. */
  const closing: Promise<void>[] = [];

  /**
   * Builds `name` ahead of its parent's pack (see Ahead): its steps and finalize run on the
   * parent's finalized upper while mksquashfs packs the parent. undefined when it cannot (the
   * parent did not build, or is closing already, or something failed or was interrupted).
   */
  const buildAhead = async (name: string): Promise<AheadResult | undefined> => {
    const recipe = s.graph.recipes.get(name)!;
    const base = await ahead.baseOf(recipe.parent!);
    if (!base) return undefined;
    // The lowers below the parent are blobs by now (they were done before the parent started).
    const lowers: Lower[] = [{ name: recipe.parent!, blob: '' }];
    for (const l of lowersOf(s.graph, name).slice(1)) {
      const lo = await outcomes.get(l)!;
      if (!('blob' in lo)) return undefined;
      lowers.push({ name: l, blob: lo.blob });
    }
    if (classify(s.signal) || firstFailure !== undefined) return undefined;
    // Two layers' tmpfs at once: only with the memory for it (a full image over its parent is
    // about the parent's size); else the child waits, as it always could.
    if (!(await roomBeside(base.upper))) {
      if (s.verbose) s.report.emit({ type: 'info', text: `${name}: not built ahead of ${recipe.parent!}: too little memory available for a second tmpfs` });
      return undefined;
    }
    const release = base.hold();
    if (!release) return undefined;
    const started = Date.now();
    try {
      const prev = statuses.find((st) => st.layer === name);
      s.report.emit({ type: 'layer-start', layer: name, reasons: prev?.state === 'stale' ? prev.reasons : [] });
      const { describeLayerPlan, planOf } = await layerPlans();
      const { prepareLayer } = await layerBuilding();
      const plan = await planOf(s, lowerDirs, recipe, lowers, base.upper);
      if (s.verbose) emitPlan(s, name, describeLayerPlan(plan, { mounted: described, out: `<new ${name}.sqsh>` }));
      return { prepared: await prepareLayer(s, plan, shared), started };
    } catch (err) {
      return { failure: err, started };
    } finally {
      release();
    }
  };

  /** Mounts `name` on its lowers' blobs (all built or cached by now), runs its steps and finalizes. */
  const prepareOnBlobs = async (name: string, out: string, ls: LayerBuildSession = s): Promise<PreparedLayer> => {
    const lowers: Lower[] = [];
    for (const l of lowersOf(s.graph, name)) {
      const lo = await outcomes.get(l)!;
      if (!('blob' in lo)) throw new Error(`bug: lower ${l} has no blob`);
      lowers.push({ name: l, blob: lo.blob });
    }
    const { describeLayerPlan, planOf } = await layerPlans();
    const { prepareLayer } = await layerBuilding();
    const plan: LayerPlan = await planOf(s, lowerDirs, s.graph.recipes.get(name)!, lowers);
    if (s.verbose) emitPlan(ls, name, describeLayerPlan(plan, { mounted: described, out }));
    return prepareLayer(ls, plan, shared);
  };

  /** The layers to start before their keys are known (layerStatuses' `speculate`). */
  const unconfirmed = new Set(statuses.filter((st) => st.state === 'stale' && st.unconfirmed).map((st) => st.layer));

  /**
   * Prepares `name` while its key is still being computed. If the key is cached after all,
   * `drop` stops the work (its commands are interrupted, its mounts undone) and silences it.
   */
  const speculative = async (name: string, drop: AbortSignal): Promise<AheadResult> => {
    const started = Date.now();
    const signal = AbortSignal.any([s.signal, drop]);
    const ls: LayerBuildSession = {
      ...s,
      signal,
      runner: s.runner.withSignal(signal, drop),
      report: { emit: (e) => drop.aborted || s.report.emit(e) },
    };
    try {
      const prev = statuses.find((st) => st.layer === name);
      ls.report.emit({ type: 'layer-start', layer: name, reasons: prev?.state === 'stale' ? prev.reasons : [] });
      return { prepared: await prepareOnBlobs(name, `<new ${name}.sqsh>`, ls), started };
    } catch (err) {
      return { failure: err, started };
    }
  };

  const one = async (name: string): Promise<LayerOutcome> => {
    const recipe = s.graph.recipes.get(name)!;
    let early = ahead.wanted(name) ? ahead.run(() => buildAhead(name)) : undefined;
    /** Stops work started before the key was known, when it is not to be used. */
    let drop: AbortController | undefined;
    let taken: PreparedLayer | undefined;
    try {
      const parent = recipe.parent !== undefined ? await outcomes.get(recipe.parent) : undefined;
      if (parent && (parent.status === 'failed' || parent.status === 'skipped')) {
        return { layer: name, status: 'skipped', because: `parent ${parent.layer} was not built` };
      }
      return await queue.add<LayerOutcome>(async () => {
      // An interrupted run starts no further layer; a failed one neither.
      const stop = classify(s.signal);
      if (stop) return { layer: name, status: 'failed', failure: stop };
      if (firstFailure !== undefined) return { layer: name, status: 'skipped', because: `layer ${firstFailure} failed` };
      let started = Date.now();
      // What the layer is at, so that any failure names the layer and the phase.
      let phase = 'computing its cache key';
      try {
        const parentRef = parent && 'digest' in parent ? { name: parent.layer, digest: parent.digest } : null;
        const keyed = layerKey(s.keys, recipe, parentRef);
        if (early === undefined && unconfirmed.has(name)) {
          // Its inputs are hashed meanwhile (a big new input takes a while): both cores work.
          keyed.catch(() => {});
          drop = new AbortController();
          early = speculative(name, drop.signal);
        }
        const { key, digest: kd } = await keyed;
        phase = 'looking it up in the cache';
        const found = forced.has(name) ? undefined : await s.store.get(kd);
        if (found?.found === 'corrupt') {
          s.report.emit({
            type: 'warning',
            text: `layer ${name}: cache blob ${found.record.digest.slice(0, 12)} changed on disk (${found.detail}); evicted, layer ${name} will be rebuilt`,
          });
        }
        let hit: Hit | undefined = found?.found === 'hit' ? found.hit : undefined;
        // Work started before the key was known is not needed: stopped now, not once the layer is linked.
        if (hit) drop?.abort();
        let status: 'built' | 'cached' = 'cached';
        let finalized: FinalizeStats | undefined;
        if (!hit && o.frozen) {
          // Planned as cached, but the entry is gone or was corrupt (evicted, with a warning).
          throw new FailureError({ reason: 'frozen-cache-miss', layer: name });
        }
        if (!hit) {
          status = 'built';
          phase = 'building';
          const built = await early;
          if (built && 'failure' in built) throw built.failure;
          let prepared = built?.prepared;
          // Its time counts from when it started, ahead of its parent's pack.
          if (built) started = built.started;
          if (!built) {
            const prev = statuses.find((st) => st.layer === name);
            s.report.emit({ type: 'layer-start', layer: name, reasons: prev?.state === 'stale' ? prev.reasons : [] });
          }
          const blob = await s.store.newBlob(name);
          try {
            prepared ??= await prepareOnBlobs(name, blob.path);
            taken = prepared;
            // A child may build ahead on this upper while it is packed.
            if (ahead.offers(name)) ahead.offer(name, prepared.offer());
            await prepared.pack(blob.path);
            finalized = prepared.stats;
            phase = STORING;
            hit = await blob.commit(key, kd);
          } catch (err) {
            await blob.discard().catch(() => {});
            throw err;
          }
        }
        phase = `linking it to ${path.join(LAYERS_DIR, `${name}.sqsh`)}`;
        await s.store.materialize(hit, path.join(s.layersDir, `${name}.sqsh`));
        await writer.update(name, manifestEntry(name, hit.record));
        const seconds = (Date.now() - started) / 1000;
        s.report.emit({ type: 'layer-done', layer: name, status, digest: hit.record.digest, size: hit.record.size, seconds, finalized });
        return { layer: name, status, digest: hit.record.digest, size: hit.record.size, seconds, blob: hit.blobPath };
      } catch (caught) {
        const failure = inLayer(classify(s.signal, caught), name, phase);
        if (failure.reason !== 'interrupted') {
          firstFailure ??= name;
          s.report.emit({ type: 'layer-failed', layer: name, message: explainFailure(failure).message });
        }
        return { layer: name, status: 'failed', failure };
      }
      });
    } finally {
      // Whatever the outcome: a child waiting to build ahead on this layer stops waiting, and
      // work done ahead that was not used (cached after all, parent failed) is undone. The
      // unmounting (and waiting for a child still working ahead on the upper) does not hold up
      // the outcome, which the children wait for: the run waits for it at its end.
      ahead.offer(name, undefined);
      if (taken === undefined) drop?.abort();
      const close = (async () => {
        const built = await early;
        if (built && 'prepared' in built && built.prepared !== taken) await built.prepared.close();
        if (taken) await taken.close();
      })().catch((e: Error) => s.report.emit({ type: 'warning', text: `${name}: ${e.message}` }));
      // Dropped work is undone before the layer is done: its overlay may still use the shared
      // lower mounts, which are let go once it is (it stops at once: its commands are killed).
      if (drop?.signal.aborted) await close;
      else closing.push(close);
    }
  };

  // A layer that is done (whatever the outcome) no longer holds its lowers' shared mounts.
  for (const name of order) {
    outcomes.set(
      name,
      one(name).then(async (outcome) => {
        await shared.done(name);
        return outcome;
      }),
    );
  }
  let results: LayerOutcome[];
  try {
    results = await Promise.all(order.map((n) => outcomes.get(n)!));
  } finally {
    while (closing.length > 0) await Promise.all(closing.splice(0));
    for (const e of await shared.close()) s.report.emit({ type: 'warning', text: e.message });
    await flushManifest(writer);
  }
  const interrupted = results.find((r) => r.status === 'failed' && r.failure.reason === 'interrupted');
  if (interrupted && interrupted.status === 'failed') throw new FailureError(interrupted.failure);
  return results;
}

/** Inputs from this size on take a while to hash (hundreds of MB: a good part of a second). */
const BIG_INPUT = 16 * 2 ** 20;

/**
 * Whether finding `recipe`'s key means hashing a big input never hashed as it is (new, or
 * changed since): for a layer never built in this project, a cache hit is then unlikely (only
 * another project's build into a shared cache gives one). The build starts such a layer at
 * once, its inputs hashed meanwhile, and looks its key up when known: a hit drops the work.
 */
function hashingHoldsUp(s: Session, recipe: Recipe): boolean {
  return recipe.steps.some((st) => 'input' in st && s.keys.stats.wouldRead(st.input.abs, BIG_INPUT));
}

/**
 * Whether the memory available (tmpfs pages are not: what is left is what the child gets)
 * holds twice what a finalized upper uses, and 512 MiB more: the child's own upper, which a
 * full image makes about as big, and room for the parent's mksquashfs beside it.
 */
async function roomBeside(upper: string): Promise<boolean> {
  try {
    const st = await fs.statfs(upper);
    const used = (st.blocks - st.bfree) * st.bsize;
    const available = /^MemAvailable:\s+(\d+) kB$/m.exec(await fs.readFile('/proc/meminfo', 'utf8'));
    return available !== null && Number(available[1]) * 1024 >= 2 * used + 512 * 2 ** 20;
  } catch {
    return false;
  }
}

/** Work done ahead, and when it started (ms). */
type AheadResult = ({ prepared: PreparedLayer } | { failure: unknown }) & { started: number };

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
  private readonly children = new Set<string>();
  private readonly bases = new Map<string, { promise: Promise<AheadBase | undefined>; settle: (b: Promise<AheadBase | undefined> | undefined) => void }>();
  private readonly queue = new PQueue({ concurrency: 1 });

  constructor(s: BuildSession, o: BuildOptions, order: readonly string[], statuses: readonly LayerStatus[]) {
    if (o.frozen) return;
    const stale = new Set(statuses.filter((st) => st.state === 'stale').map((st) => st.layer));
    for (const name of order) {
      const recipe = s.graph.recipes.get(name)!;
      const parent = recipe.parent;
      if (parent === undefined || !stale.has(parent) || this.bases.has(parent) || !reproducibleFromInputs(recipe)) continue;
      this.children.add(name);
      let settle!: (b: Promise<AheadBase | undefined> | undefined) => void;
      const promise = new Promise<AheadBase | undefined>((resolve) => {
        settle = (b) => resolve(b ? b.catch(() => undefined) : undefined);
      });
      this.bases.set(parent, { promise, settle });
    }
  }

  /** Whether `name` is to build ahead of its parent's pack. */
  wanted(name: string): boolean {
    return this.children.has(name);
  }

  /** Whether a child waits for `name`'s finalized upper. */
  offers(name: string): boolean {
    return this.bases.has(name);
  }

  /** The finalized upper of `name` (undefined: it did not build, or failed). First call wins. */
  offer(name: string, base: Promise<AheadBase> | undefined): void {
    this.bases.get(name)?.settle(base);
  }

  baseOf(name: string): Promise<AheadBase | undefined> {
    return this.bases.get(name)?.promise ?? Promise.resolve(undefined);
  }

  run(work: () => Promise<AheadResult | undefined>): Promise<AheadResult | undefined> {
    return this.queue.add(work);
  }
}

/** Writes the manifest once for the run; a failure to write it fails the build, naming the file. */
async function flushManifest(writer: ManifestWriter): Promise<void> {
  try {
    await writer.flush();
  } catch (err) {
    throw new Error(`writing ${path.join(LAYERS_DIR, 'manifest.json')}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** A failure as one that names the layer and the phase (a bare ENOENT names neither). */
function inLayer(f: Failure, layer: string, phase: string): Failure {
  if (f.reason === 'layer-build' || f.reason === 'interrupted' || f.reason === 'frozen-cache-miss') return f;
  const vanished = f.reason === 'unexpected' && (f.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' && phase === STORING;
  const hint = vanished ? 'the packed layer vanished before it was stored; something removed it from the cache directory' : undefined;
  return { reason: 'layer-build', layer, where: phase, cause: f, hint };
}

/**
 * The stacks of the run (one per top layer) whose overlay options the initramfs could not
 * mount: buildable, but not bootable as they are. Boot parameters are not known here: the
 * defaults (with or without ram_layer, the options are as long either way), no overlayflags.
 */
function bootWarnings(s: Session, order: readonly string[]): string[] {
  const parents = new Set(order.map((n) => s.graph.recipes.get(n)!.parent));
  return order.filter((n) => !parents.has(n)).flatMap((top) => bootOverlayWarning(stackOf(s.graph, top), {}) ?? []);
}

async function preflight(s: BuildSession, stale: LayerStatus[]): Promise<void> {
  const { toolsOf } = await stepTable();
  const needed = new Set(BASE_TOOLS);
  for (const st of stale) for (const step of s.graph.recipes.get(st.layer)!.steps) for (const t of toolsOf(step)) needed.add(t);
  const missing: string[] = [];
  for (const t of [...needed].sort()) if ((await findOnPath(t, s.runner.env.PATH ?? '')) === undefined) missing.push(t);
  if (missing.length === 0) return;
  const layers = stale.map((st) => st.layer);
  const uses = missing.map((tool) => {
    // The steps that ask for it; a tool only the machinery uses is needed by every layer.
    const steps = stale.flatMap((st) =>
      s.graph.recipes
        .get(st.layer)!
        .steps.filter((step) => toolsOf(step).includes(tool))
        .map((step) => `layer ${st.layer} step ${step.index + 1} (${step.kind})`),
    );
    return { tool, neededFor: steps.length > 0 ? steps : [`building layer${layers.length === 1 ? '' : 's'} ${layers.join(', ')}`] };
  });
  throw new FailureError({ reason: 'missing-tools', missing: uses });
}

/** --dry-run: each layer's plan described, nothing mounted, run or written. */
async function dryRun(s: ReadOnlySession, statuses: LayerStatus[], lowerDirs: LowerDirs): Promise<LayerOutcome[]> {
  const out: LayerOutcome[] = [];
  const mounted = new Set<string>();
  const { describeLayerPlan, planOf } = await layerPlans();
  for (const st of statuses) {
    if (st.state === 'cached') {
      s.report.emit({ type: 'info', text: `${st.layer}: cached (${st.digest.slice(0, 12)})` });
      out.push({ layer: st.layer, status: 'skipped', because: 'cached' });
      continue;
    }
    // Lowers not built yet have no blob: their placeholders stand for the blobs the build would mount.
    const lowers = lowersOf(s.graph, st.layer).map((l) => ({ name: l, blob: `<${l}.sqsh>` }));
    const plan = await planOf(s, lowerDirs, s.graph.recipes.get(st.layer)!, lowers);
    s.report.emit({ type: 'info', text: `${st.layer}: would build: ${st.reasons.map(describeReason).join('; ')}` });
    for (const line of describeLayerPlan(plan, { mounted, out: `<new ${st.layer}.sqsh>` })) s.report.emit({ type: 'info', text: `  ${line}` });
    out.push({ layer: st.layer, status: 'skipped', because: 'dry run' });
  }
  return out;
}

/** --verbose: the plan of a layer about to be built. */
function emitPlan(s: Pick<BuildSession, 'report'>, layer: string, lines: string[]): void {
  s.report.emit({ type: 'info', text: `${layer}: plan` });
  for (const line of lines) s.report.emit({ type: 'info', text: `  ${line}` });
}
