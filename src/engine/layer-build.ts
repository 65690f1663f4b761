// Builds one layer by applying its plan (layer-plan.ts): the lowers loop-mounted read-only
// (once per run, shared with the other builds: shared-lowers.ts), a tmpfs upper, an overlay
// with the portable options, the steps in order, then the upper finalized and packed. Every
// mount of its own is undone on success, failure and interrupt (Scope).

import { lstatSync, lutimesSync, promises as fs } from 'node:fs';
import { bytesOf } from '../layer/byte-path.js';
import { breather } from '../process/interrupt.js';
import { boundHeapGrowth } from '../process/memory.js';
import { removeTreeOnWorker } from '../process/file-workers.js';
import { finalizeUpper, type FinalizeStats, packedSeconds } from '../layer/finalize.js';
import { pack } from '../layer/pack.js';
import { settleTree } from '../layer/tree-ops.js';
import { Scope } from '../mount/ops.js';
import { explainFailure, FailureError, failureOf } from '../failure.js';
import type { Recipe, Step } from '../recipe/types.js';
import type { StepContext } from '../steps/context.js';
import { describeStep, runStepOf } from '../steps/index.js';
import type { LayerPlan } from './layer-plan.js';
import type { BuildSession } from './session.js';
import type { SharedLowers } from './shared-lowers.js';

/** What building a layer takes from its session. */
export type LayerBuildSession = Pick<BuildSession, 'project' | 'report' | 'signal' | 'runner' | 'cleanupRunner' | 'packs' | 'hostTools' | 'policyRcD'>;

/** Builds the plan's layer into `out` (a file the store gave: see LayerStore.newBlob). */
export async function buildLayer(s: LayerBuildSession, plan: LayerPlan, shared: SharedLowers, out: string): Promise<FinalizeStats> {
  const prepared = await prepareLayer(s, plan, shared);
  try {
    await prepared.pack(out);
    return prepared.stats;
  } finally {
    await prepared.close();
  }
}

/** A layer with its steps run and its upper finalized, still mounted: ready to pack. */
export interface PreparedLayer {
  readonly stats: FinalizeStats;
  /** Packs the upper into `out`. */
  pack(out: string): Promise<void>;
  /**
   * Lets a child build ahead on this upper while it is packed (build.ts). The upper's times
   * are first settled to what the pack records (whole seconds, clamped to the packing epoch:
   * mksquashfs does the same, so the pack is unchanged), so that what a child copies up from
   * it, and compares with it, is what the packed layer will show.
   */
  offer(): Promise<AheadBase>;
  /** Undoes the layer's mounts, once no child building ahead holds its upper (once, however often called). */
  close(): Promise<void>;
}

/** A finalized upper that a child may build on, read-only, while it holds it. */
export interface AheadBase {
  upper: string;
  /** undefined once the layer is closing: the child builds the usual way. */
  hold(): (() => void) | undefined;
}

/** Mounts, runs the steps and finalizes; on failure everything is undone before it throws. */
export async function prepareLayer(s: LayerBuildSession, plan: LayerPlan, shared: SharedLowers): Promise<PreparedLayer> {
  boundHeapGrowth();
  const warn = (text: string) => s.report.emit({ type: 'warning', text: `${plan.layer}: ${text}` });
  const scope = new Scope(s.runner, s.cleanupRunner, warn);
  let stats: FinalizeStats;
  try {
    const stack = await mountStack(plan, shared, scope);
    const touchedDirs = await runSteps(s, plan, stack);
    if (plan.root) await scope.releaseMount(plan.root.target);
    stats = await finalizeLayer(s, plan, stack, touchedDirs, scope);
  } catch (err) {
    for (const e of await scope.close()) warn(e.message);
    throw err;
  }
  const holds = new Holds();
  let settled: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  return {
    stats,
    pack: (out) => packLayer(s, plan, out, stats.contentEpoch),
    offer: async () => {
      settled ??= settleTimes(plan.upper, plan.sourceDateEpoch ?? stats.contentEpoch, stats.unsettled, s.signal);
      await settled;
      return { upper: plan.upper, hold: () => holds.acquire() };
    },
    close: () =>
      (closed ??= (async () => {
        await holds.close();
        await settled?.catch(() => {});
        for (const e of await scope.close()) warn(e.message);
      })()),
  };
}

/** Who holds a finalized upper: closing waits for them all to let go, and lets no new one in. */
class Holds {
  private count = 0;
  private closing = false;
  private readonly waiters: (() => void)[] = [];

  acquire(): (() => void) | undefined {
    if (this.closing) return undefined;
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.count === 0) this.waiters.splice(0).forEach((w) => w());
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.count > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

const NS = 1_000_000_000n;

/**
 * Gives every entry of `upper` (or only those of `only`, when finalize listed the ones that
 * need it) the mtime its pack will record: whole seconds (floor), clamped to `epoch`
 * (SOURCE_DATE_EPOCH or the content's), as squashfs's unsigned 32 bits hold it; atimes stay.
 * mksquashfs does the same to what it reads, so packing the settled tree gives the same bytes.
 * The whole tree is walked by the tree helper (tree-ops.ts): a child building ahead waits for it.
 */
async function settleTimes(upper: string, epoch: number | undefined, only: string[] | undefined, signal: AbortSignal): Promise<void> {
  if (!only) {
    await settleTree(upper, epoch, signal);
    return;
  }
  // The few entries finalize found unsettled (those pruned since are gone).
  const pause = breather(signal);
  for (const p of only) {
    await pause();
    const st = lstatSync(bytesOf(p), { bigint: true, throwIfNoEntry: false });
    if (!st) continue;
    const sec = packedSeconds(st.mtimeNs, epoch);
    if (sec * NS !== st.mtimeNs) lutimesSync(bytesOf(p), new Date(Number(st.atimeNs / 1_000_000n)), Number(sec));
  }
}

/** The layer's mounts, up: where the steps work. */
export interface MountedStack {
  /** The lowers' mount dirs, nearest first. */
  lowerDirs: string[];
  /** The merged root (the upper dir itself for a bottom layer). */
  root: string;
  /** When the layer's tmpfs was mounted, by the kernel's clock (ms): later times are the build's. */
  mountedAt: number;
}

/** Mounts the plan's lowers (shared), tmpfs and overlay; `scope` undoes its own mounts. */
export async function mountStack(plan: LayerPlan, shared: SharedLowers, scope: Scope): Promise<MountedStack> {
  const lowerDirs = [...(plan.aheadOn === undefined ? [] : [plan.aheadOn]), ...(await shared.use(plan.lowers))];
  await scope.mount(plan.tmpfs);
  const mountedAt = (await fs.stat(plan.tmpfs.target)).mtimeMs;
  for (const d of [plan.upper, plan.work, plan.scratch]) await fs.mkdir(d, { mode: 0o755 });
  if (!plan.root) return { lowerDirs, root: plan.upper, mountedAt };
  // The overlay is mounted from the lowers' dir (short relative options), which no blob mount
  // made yet when the only lower is a parent built ahead on.
  if (plan.root.cwd !== undefined) await fs.mkdir(plan.root.cwd, { recursive: true });
  // The merged root shows the upper's root attributes: start from what the lowers show.
  const rootSt = await fs.stat(lowerDirs[0]!);
  await fs.chown(plan.upper, rootSt.uid, rootSt.gid);
  await fs.chmod(plan.upper, rootSt.mode & 0o7777);
  await fs.utimes(plan.upper, rootSt.atime, rootSt.mtime);
  return { lowerDirs, root: await scope.mount(plan.root), mountedAt };
}

/** Runs the steps in order on the merged root; returns the in-root dirs sandbox machinery touched. */
async function runSteps(s: LayerBuildSession, plan: LayerPlan, stack: MountedStack): Promise<Set<string>> {
  const { recipe } = plan;
  const ctx: StepContext = {
    recipe,
    root: stack.root,
    upper: plan.upper,
    scratch: plan.scratch,
    policyRcD: await s.policyRcD(),
    projectDir: s.project.config.dir,
    lowers: stack.lowerDirs,
    sourceDateEpoch: plan.sourceDateEpoch,
    runner: s.runner,
    tools: await s.hostTools(),
    onLine: (line) => s.report.emit({ type: 'output', layer: plan.layer, line }),
    touchedDirs: new Set(),
  };
  for (const step of plan.steps) {
    s.report.emit({ type: 'step-start', layer: plan.layer, index: step.index, count: plan.steps.length, text: describeStep(step) });
    await runStep(step, ctx, plan.tmpfs.target, recipe);
    // The step's scratch space (a staged image: maybe 100k entries) is freed before the next.
    await removeTreeOnWorker(plan.scratch, s.signal);
    await fs.mkdir(plan.scratch, { mode: 0o755 });
  }
  return ctx.touchedDirs;
}

/** Finalizes the upper (the overlay is unmounted): against the lowers' view when there are several. */
async function finalizeLayer(s: LayerBuildSession, plan: LayerPlan, stack: MountedStack, touchedDirs: Set<string>, scope: Scope): Promise<FinalizeStats> {
  s.report.emit({ type: 'phase', layer: plan.layer, text: 'finalizing the upper dir' });
  const lowerView = plan.lowerView ? await scope.mount(plan.lowerView) : stack.lowerDirs[0];
  let stats: FinalizeStats;
  try {
    stats = await finalizeUpper({
      upper: plan.upper,
      lowerView,
      exclude: plan.finalize.exclude,
      pruneIdentical: plan.finalize.pruneIdentical,
      stripXattrs: plan.finalize.stripXattrs,
      touchedDirs,
      sourceDateEpoch: plan.sourceDateEpoch,
      clockSince: plan.timesFromContent ? stack.mountedAt : undefined,
      signal: s.signal,
    });
  } catch (err) {
    throw new FailureError({ reason: 'layer-build', layer: plan.layer, where: 'finalizing', cause: failureOf(err) });
  }
  if (plan.lowerView) await scope.releaseMount(plan.lowerView.target);
  return stats;
}

/**
 * Packs the upper into `out`. One mksquashfs at a time: each uses every CPU, two at once only
 * contend, while the other layers' steps (mostly I/O) go on beside it. `contentEpoch` (finalize's,
 * for a layer whose times come from its content) stands in for an unset source-date-epoch.
 */
export async function packLayer(
  s: Pick<LayerBuildSession, 'report' | 'runner' | 'packs'>,
  plan: LayerPlan,
  out: string,
  contentEpoch?: number,
): Promise<void> {
  const emitPhase = (text: string) => s.report.emit({ type: 'phase', layer: plan.layer, text });
  if (s.packs.pending > 0) emitPhase('waiting for mksquashfs (another layer is packing)');
  try {
    await s.packs.add(async () => {
      emitPhase('packing with mksquashfs');
      await pack({
        upper: plan.upper,
        out,
        squashfs: plan.pack.squashfs,
        sourceDateEpoch: plan.sourceDateEpoch ?? contentEpoch,
        runner: s.runner,
        onProgress: (percent) => s.report.emit({ type: 'pack-progress', layer: plan.layer, percent }),
      });
    });
  } catch (err) {
    throw new FailureError({ reason: 'layer-build', layer: plan.layer, where: 'packing', cause: failureOf(err) });
  }
}

async function runStep(step: Step, ctx: StepContext, tmp: string, recipe: Recipe): Promise<void> {
  const where = stepLabel(step);
  try {
    await runStepOf(step, ctx);
  } catch (err) {
    // An interrupt is no step's failure: build.ts tells them apart (process/interrupt.ts: classify).
    const cause = failureOf(err);
    const full = await tmpfsFull(tmp, explainFailure(cause).tail);
    // A missing tool's own hint says what to install; a step's failure points at the step.
    const hint =
      cause.reason === 'missing-tool'
        ? undefined
        : full
          ? `the layer's tmpfs (tmpfs-size: ${recipe.tmpfsSize}) is full; raise tmpfs-size in ${recipe.file}`
          : cause.reason === 'step'
            ? `the step is at ${recipe.file}:${step.loc.line}:${step.loc.col}`
            : undefined;
    throw new FailureError({ reason: 'layer-build', layer: recipe.name, where, cause, hint });
  }
}

/** `step 2 (restore inputs/server.dump)`: how failures name a step. */
export function stepLabel(step: Step): string {
  return `step ${step.index + 1} (${step.kind}${'input' in step ? ` ${step.input.path}` : ''})`;
}

/**
 * Whether a step failure is (probably) the layer's tmpfs running out: the output says so, or
 * next to nothing is left (under 1 MiB, or under 1% for a tmpfs smaller than 100 MiB).
 */
async function tmpfsFull(dir: string, tail: readonly string[]): Promise<boolean> {
  if (tail.some((l) => /No space left on device|ENOSPC/i.test(l))) return true;
  try {
    const st = await fs.statfs(dir);
    const free = st.bavail * st.bsize;
    const threshold = Math.max(64 * 1024, Math.min(1024 * 1024, (st.blocks * st.bsize) / 100));
    return free < threshold || st.ffree < 16;
  } catch {
    return false;
  }
}
