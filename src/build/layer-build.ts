// Builds one layer: its lowers loop-mounted read-only, a tmpfs upper, an overlay with the
// portable options, the steps in order, then the upper finalized and packed. Every mount
// is undone on success, failure and interrupt (Scope).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finalizeUpper, type FinalizeStats } from '../layer/finalize.js';
import { pack } from '../layer/pack.js';
import { overlayMount, Scope, squashfsMount, tmpfsMount } from '../mount/ops.js';
import { Interrupted } from '../process/interrupt.js';
import { formatArgv, MissingToolError } from '../process/run.js';
import type { Recipe, Step } from '../recipe/types.js';
import type { StepContext } from '../steps/context.js';
import { StepError } from '../steps/context.js';
import { describeStep, runStepOf } from '../steps/index.js';
import type { Session } from './session.js';

export interface Lower {
  name: string;
  blob: string;
}

/** A failure of a layer's build, naming the layer and the step (or phase). */
export class LayerBuildError extends Error {
  constructor(
    readonly layer: string,
    readonly where: string,
    readonly detail: string,
    readonly tail: string[] = [],
    readonly hint?: string,
  ) {
    super(`layer ${layer}, ${where}: ${detail}`);
  }
}

export async function buildLayer(s: Session, recipe: Recipe, lowers: Lower[], out: string): Promise<FinalizeStats> {
  const dir = path.join(s.state.dir, 'layers', recipe.name);
  const warn = (text: string) => s.report.emit({ type: 'warning', text: `${recipe.name}: ${text}` });
  const scope = new Scope(s.runner, s.cleanupRunner, warn);
  const emitPhase = (text: string) => s.report.emit({ type: 'phase', layer: recipe.name, text });
  let failure: unknown;
  try {
    const lowerDirs: string[] = [];
    for (const [i, l] of lowers.entries()) {
      lowerDirs.push(await scope.mount(squashfsMount(l.blob, path.join(dir, 'lower', String(i)))));
    }
    const tmp = await scope.mount(tmpfsMount(path.join(dir, 'tmpfs'), recipe.tmpfsSize));
    const upper = path.join(tmp, 'upper');
    const work = path.join(tmp, 'work');
    const scratch = path.join(tmp, 'scratch');
    for (const d of [upper, work, scratch]) await fs.mkdir(d, { mode: 0o755 });
    // A bottom layer has nothing below it to hide or show: its steps work on the upper dir
    // itself, without an overlay over an empty lower (which only cost time).
    let root = upper;
    if (lowerDirs.length > 0) {
      // The merged root shows the upper's root attributes: start from what the lowers show.
      const rootSt = await fs.stat(lowerDirs[0]!);
      await fs.chown(upper, rootSt.uid, rootSt.gid);
      await fs.chmod(upper, rootSt.mode & 0o7777);
      await fs.utimes(upper, rootSt.atime, rootSt.mtime);
      const options = await s.overlayOptions();
      root = await scope.mount(overlayMount({ lowers: lowerDirs, upper, work, options, cwd: path.join(dir, 'lower') }, path.join(dir, 'root')));
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
    let lowerView: string | undefined;
    if (lowers.length === 1) lowerView = lowerDirs[0];
    if (lowers.length > 1) {
      const options = await s.overlayOptions();
      lowerView = await scope.mount(overlayMount({ lowers: lowerDirs, options, cwd: path.join(dir, 'lower') }, path.join(dir, 'lowerview')));
    }
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
      if (err instanceof Interrupted) throw err;
      throw new LayerBuildError(recipe.name, 'finalizing', (err as Error).message);
    }
    if (lowers.length > 1) await scope.releaseMount(lowerView!);

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
      if (err instanceof Interrupted) throw err;
      const tail = (err as { tail?: string[] }).tail ?? [];
      throw new LayerBuildError(recipe.name, 'packing', (err as Error).message, tail, mksquashfsHint(err));
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
    if (err instanceof Interrupted) throw err;
    const full = await tmpfsFull(tmp, (err as { tail?: string[] }).tail ?? []);
    const hint = full
      ? `the layer's tmpfs (tmpfs-size: ${recipe.tmpfsSize}) is full; raise tmpfs-size in ${recipe.file}`
      : undefined;
    if (err instanceof StepError) {
      throw new LayerBuildError(recipe.name, where, err.message, err.tail, hint ?? `the step is at ${recipe.file}:${step.loc.line}:${step.loc.col}`);
    }
    if (err instanceof MissingToolError) {
      throw new LayerBuildError(recipe.name, where, err.message, [], installHint(err.tool));
    }
    throw new LayerBuildError(recipe.name, where, (err as Error).message, [], hint);
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

function mksquashfsHint(err: unknown): string | undefined {
  if (err instanceof MissingToolError) return installHint(err.tool);
  return undefined;
}

const PACKAGES: Record<string, string> = {
  mksquashfs: 'squashfs-tools',
  restore: 'dump',
  bwrap: 'bubblewrap',
  getfattr: 'attr',
  setfattr: 'attr',
  rsync: 'rsync',
  zstd: 'zstd',
  xz: 'xz-utils',
  tar: 'tar',
};

export function installHint(tool: string): string {
  const pkg = PACKAGES[tool];
  return pkg ? `install it: apt-get install ${pkg}` : `install ${tool}`;
}

/** What building a layer would do, for --dry-run. */
export async function describeLayerBuild(s: Session, recipe: Recipe, lowers: Lower[]): Promise<string[]> {
  const dir = path.join(s.state.dir, 'layers', recipe.name);
  const lowerDirs = lowers.map((_, i) => path.join(dir, 'lower', String(i)));
  const ops = [...lowers.map((l, i) => squashfsMount(l.blob, lowerDirs[i]!)), tmpfsMount(path.join(dir, 'tmpfs'), recipe.tmpfsSize)];
  if (lowers.length > 0) {
    const work = { upper: path.join(dir, 'tmpfs/upper'), work: path.join(dir, 'tmpfs/work') };
    ops.push(overlayMount({ lowers: lowerDirs, ...work, options: await s.overlayOptions(), cwd: path.join(dir, 'lower') }, path.join(dir, 'root')));
  }
  const lines = ops.map((op) => `+ ${formatArgv(op.argv())}`);
  if (lowers.length === 0) lines.push('  (a bottom layer: the steps work on the tmpfs upper dir itself)');
  for (const step of recipe.steps) lines.push(`  step ${step.index + 1}: ${describeStep(step)}`);
  lines.push(`  finalize: strip overlay xattrs${recipe.exclude.length ? `, exclude ${recipe.exclude.join(' ')}` : ''}${recipe.pruneIdentical ? ', prune identical entries' : ''}`);
  lines.push(`+ mksquashfs ${path.join(dir, 'tmpfs/upper')} ... (${recipe.squashfs.compression}, block ${recipe.squashfs.blockSize})`);
  return lines;
}
