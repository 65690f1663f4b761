// Builds one layer: its lowers loop-mounted read-only (once per run, shared with the other
// builds: shared-lowers.ts), a tmpfs upper, an overlay with the portable options, the steps
// in order, then the upper finalized and packed. Every mount of its own is undone on
// success, failure and interrupt (Scope).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finalizeUpper, type FinalizeStats } from '../layer/finalize.js';
import { pack } from '../layer/pack.js';
import { overlayMount, Scope, tmpfsMount, type MountOp } from '../mount/ops.js';
import { explainFailure, FailureError, failureOf } from '../failure.js';
import { formatArgv } from '../process/argv.js';
import type { Recipe, Step } from '../recipe/types.js';
import type { StepContext } from '../steps/context.js';
import { describeStep, runStepOf } from '../steps/index.js';
import type { Session } from './session.js';
import type { Lower, SharedLowers } from './shared-lowers.js';

/** The mounts of one layer's build: worked out once, applied by buildLayer, described by --dry-run. */
export interface LayerMounts {
  /** The lowers' blob mounts, nearest first; shared by the run's builds (shared-lowers.ts). */
  lowers: MountOp[];
  tmpfs: MountOp;
  upper: string;
  work: string;
  scratch: string;
  /**
   * The overlay the steps work in. A bottom layer has none: it has nothing below it to hide or
   * show, so its steps work on the upper dir itself (an overlay over an empty lower only costs time).
   */
  root: MountOp | undefined;
  /** What finalize compares the upper with when there are several lowers (one lower is its own view). */
  lowerView: MountOp | undefined;
}

export function layerMounts(stateDir: string, recipe: Recipe, lowers: readonly Lower[], shared: SharedLowers, options: string[]): LayerMounts {
  const dir = path.join(stateDir, 'layers', recipe.name);
  const lowerOps = lowers.map((l) => shared.mountOf(l));
  const lowerDirs = lowerOps.map((op) => op.target);
  const tmp = path.join(dir, 'tmpfs');
  const [upper, work, scratch] = ['upper', 'work', 'scratch'].map((d) => path.join(tmp, d)) as [string, string, string];
  // The overlays name their dirs relative to the lowers' dir: short options at any depth.
  const cwd = shared.dir;
  return {
    lowers: lowerOps,
    tmpfs: tmpfsMount(tmp, recipe.tmpfsSize),
    upper,
    work,
    scratch,
    root: lowers.length > 0 ? overlayMount({ lowers: lowerDirs, upper, work, options, cwd }, path.join(dir, 'root')) : undefined,
    lowerView: lowers.length > 1 ? overlayMount({ lowers: lowerDirs, options, cwd }, path.join(dir, 'lowerview')) : undefined,
  };
}

export async function buildLayer(s: Session, recipe: Recipe, lowers: Lower[], shared: SharedLowers, out: string): Promise<FinalizeStats> {
  const warn = (text: string) => s.report.emit({ type: 'warning', text: `${recipe.name}: ${text}` });
  const scope = new Scope(s.runner, s.cleanupRunner, warn);
  const emitPhase = (text: string) => s.report.emit({ type: 'phase', layer: recipe.name, text });
  let failure: unknown;
  try {
    const m = layerMounts(s.state.dir, recipe, lowers, shared, lowers.length > 0 ? await s.overlayOptions() : []);
    const lowerDirs = await shared.use(lowers);
    const tmp = await scope.mount(m.tmpfs);
    const { upper, scratch } = m;
    for (const d of [upper, m.work, scratch]) await fs.mkdir(d, { mode: 0o755 });
    let root = upper;
    if (m.root) {
      // The merged root shows the upper's root attributes: start from what the lowers show.
      const rootSt = await fs.stat(lowerDirs[0]!);
      await fs.chown(upper, rootSt.uid, rootSt.gid);
      await fs.chmod(upper, rootSt.mode & 0o7777);
      await fs.utimes(upper, rootSt.atime, rootSt.mtime);
      root = await scope.mount(m.root);
    }
    const ctx: StepContext = {
      recipe,
      root,
      upper,
      scratch,
      policyRcD: await s.policyRcD(),
      projectDir: s.project.config.dir,
      lowers: lowerDirs,
      sourceDateEpoch: s.sourceDateEpoch,
      runner: s.runner,
      tools: await s.hostTools(),
      onLine: (line) => s.report.emit({ type: 'output', layer: recipe.name, line }),
      touchedDirs: new Set(),
    };
    for (const step of recipe.steps) {
      s.report.emit({ type: 'step-start', layer: recipe.name, index: step.index, count: recipe.steps.length, text: describeStep(step) });
      await runStep(step, ctx, tmp, recipe);
      await fs.rm(scratch, { recursive: true, force: true });
      await fs.mkdir(scratch, { mode: 0o755 });
    }
    if (root !== upper) await scope.releaseMount(root);

    emitPhase('finalizing the upper dir');
    const lowerView = m.lowerView ? await scope.mount(m.lowerView) : lowerDirs[0];
    let stats: FinalizeStats;
    try {
      stats = await finalizeUpper({
        upper,
        lowerView,
        exclude: recipe.exclude,
        pruneIdentical: recipe.pruneIdentical,
        touchedDirs: ctx.touchedDirs,
        sourceDateEpoch: s.sourceDateEpoch,
        runner: s.runner,
        signal: s.signal,
      });
    } catch (err) {
      throw new FailureError({ reason: 'layer-build', layer: recipe.name, where: 'finalizing', cause: failureOf(err) });
    }
    if (m.lowerView) await scope.releaseMount(m.lowerView.target);

    if (s.packs.pending > 0) emitPhase('waiting for mksquashfs (another layer is packing)');
    try {
      // One mksquashfs at a time: each uses every CPU, two at once only contend, while the
      // other layers' steps (mostly I/O) go on beside it.
      await s.packs.add(async () => {
        emitPhase('packing with mksquashfs');
        await pack({
          upper,
          out,
          squashfs: recipe.squashfs,
          sourceDateEpoch: s.sourceDateEpoch,
          runner: s.runner,
          onProgress: (percent) => s.report.emit({ type: 'pack-progress', layer: recipe.name, percent }),
        });
      });
    } catch (err) {
      throw new FailureError({ reason: 'layer-build', layer: recipe.name, where: 'packing', cause: failureOf(err) });
    }
    return stats;
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    const errors = await scope.close();
    for (const e of errors) warn(e.message);
    if (failure !== undefined) await fs.rm(out, { force: true });
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

/**
 * What building a layer would do, for --dry-run. `mounted` holds the lowers that the run's
 * builds described so far mount (and share); it gets this layer's lowers.
 */
export async function describeLayerBuild(s: Session, recipe: Recipe, lowers: Lower[], shared: SharedLowers, mounted: Set<string>): Promise<string[]> {
  const m = layerMounts(s.state.dir, recipe, lowers, shared, lowers.length > 0 ? await s.overlayOptions() : []);
  const lines: string[] = [];
  lowers.forEach((l, i) => {
    if (!mounted.has(l.name)) lines.push(`${commandLine(m.lowers[i]!)}   (shared by the run's builds)`);
    mounted.add(l.name);
  });
  lines.push(commandLine(m.tmpfs));
  if (m.root) lines.push(commandLine(m.root));
  else lines.push('  (a bottom layer: the steps work on the tmpfs upper dir itself)');
  for (const step of recipe.steps) lines.push(`  step ${step.index + 1}: ${describeStep(step)}`);
  if (m.root) lines.push(`+ umount ${m.root.target}`);
  if (m.lowerView) lines.push(commandLine(m.lowerView));
  lines.push(`  finalize: strip overlay xattrs${recipe.exclude.length ? `, exclude ${recipe.exclude.join(' ')}` : ''}${recipe.pruneIdentical ? ', prune identical entries' : ''}`);
  lines.push(`+ mksquashfs ${m.upper} ... (${recipe.squashfs.compression}, block ${recipe.squashfs.blockSize})`);
  return lines;
}

/** A mount as --dry-run shows it, the way the runner logs commands. */
function commandLine(op: MountOp): string {
  return `+ ${formatArgv(op.argv())}${op.cwd ? `   (in ${op.cwd})` : ''}`;
}
