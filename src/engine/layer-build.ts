// Builds one layer by applying its plan (layer-plan.ts): the lowers loop-mounted read-only
// (once per run, shared with the other builds: shared-lowers.ts), a tmpfs upper, an overlay
// with the portable options, the steps in order, then the upper finalized and packed. Every
// mount of its own is undone on success, failure and interrupt (Scope).

import { promises as fs } from 'node:fs';
import { finalizeUpper, type FinalizeStats } from '../layer/finalize.js';
import { pack } from '../layer/pack.js';
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
  const warn = (text: string) => s.report.emit({ type: 'warning', text: `${plan.layer}: ${text}` });
  const scope = new Scope(s.runner, s.cleanupRunner, warn);
  try {
    const stack = await mountStack(plan, shared, scope);
    const touchedDirs = await runSteps(s, plan, stack);
    if (plan.root) await scope.releaseMount(plan.root.target);
    const stats = await finalizeLayer(s, plan, stack, touchedDirs, scope);
    await packLayer(s, plan, out, stats.contentEpoch);
    return stats;
  } finally {
    for (const e of await scope.close()) warn(e.message);
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
  const lowerDirs = await shared.use(plan.lowers);
  await scope.mount(plan.tmpfs);
  const mountedAt = (await fs.stat(plan.tmpfs.target)).mtimeMs;
  for (const d of [plan.upper, plan.work, plan.scratch]) await fs.mkdir(d, { mode: 0o755 });
  if (!plan.root) return { lowerDirs, root: plan.upper, mountedAt };
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
    await fs.rm(plan.scratch, { recursive: true, force: true });
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
      touchedDirs,
      sourceDateEpoch: plan.sourceDateEpoch,
      clockSince: plan.timesFromContent ? stack.mountedAt : undefined,
      runner: s.runner,
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
