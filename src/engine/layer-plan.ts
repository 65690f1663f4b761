// One layer's build as a value, worked out once: its lowers and every mount with its options,
// the steps, what finalizing does, how it is packed. The build applies it (layer-build.ts);
// --dry-run and --verbose describe it (describeLayerPlan). Both read the same value, so what
// is shown is what runs.

import path from 'node:path';
import { packArgv } from '../layer/pack.js';
import { overlayMount, tmpfsMount, type MountOp } from '../mount/ops.js';
import { formatArgv } from '../process/argv.js';
import type { Recipe, SquashfsOptions, Step } from '../recipe/types.js';
import { describeStep } from '../steps/index.js';
import { reproducibleFromInputs } from '../plan/reproducible.js';
import type { Session } from './session.js';
import type { Lower, LowerDirs, LowerMount } from './shared-lowers.js';

export interface LayerPlan {
  layer: string;
  /** The recipe (steps, tmpfs size and file, for failures that point into it). */
  recipe: Recipe;
  /**
   * The lowers' blob mounts, nearest first; shared by the run's builds (shared-lowers.ts).
   * Building ahead, the parent is no blob yet: it is `aheadOn`, and these are the ones below it.
   */
  lowers: LowerMount[];
  /**
   * Building ahead (build.ts): the parent's finalized upper dir, its times settled as its pack
   * will record them, stands in for the parent's blob while the parent is being packed.
   */
  aheadOn: string | undefined;
  /** The layer's own tmpfs, holding the upper, the overlay's work dir and scratch space. */
  tmpfs: MountOp;
  upper: string;
  work: string;
  scratch: string;
  /**
   * The overlay the steps work in. A bottom layer has none: it has nothing below it to hide or
   * show, so its steps work on the upper dir itself (an overlay over an empty lower only costs time).
   */
  root: MountOp | undefined;
  steps: readonly Step[];
  /** What finalize compares the upper with when there are several lowers (one lower is its own view). */
  lowerView: MountOp | undefined;
  /**
   * stripXattrs: whether the upper can hold overlay xattrs to strip. A layer with lowers gets
   * them from overlayfs itself; a bottom layer only from a `host` step: restore, untar, copy,
   * remove and `run` work without CAP_SYS_ADMIN, so no trusted.* xattr of theirs exists.
   */
  finalize: { exclude: string[]; pruneIdentical: boolean; stripXattrs: boolean };
  pack: { squashfs: SquashfsOptions };
  /** Clamps mtimes when pruning and packing (and is part of the key). */
  sourceDateEpoch: number | undefined;
  /**
   * No source-date-epoch, and the steps only bring in inputs (reproducible.ts): times the build's
   * clock made are clamped to the newest input time, so a rebuild gives the same bytes.
   */
  timesFromContent: boolean;
}

export interface PlanContext {
  /** The run's state dir: where its mounts live (for a dry run, where they would). */
  runDir: string;
  lowerDirs: LowerDirs;
  /** The portable overlay options (session.overlayOptions()); unused for a bottom layer. */
  overlayOptions: string[];
  sourceDateEpoch: number | undefined;
}

/**
 * The plan of a layer built on `lowers` (nearest first); `aheadOn`, when building ahead: the
 * parent's finalized upper dir, which stands in for lowers[0].
 */
export function planLayer(c: PlanContext, recipe: Recipe, lowers: readonly Lower[], aheadOn?: string): LayerPlan {
  const dir = path.join(c.runDir, 'layers', recipe.name);
  const lowerMounts = (aheadOn === undefined ? lowers : lowers.slice(1)).map((l) => c.lowerDirs.mountOf(l));
  const lowerDirs = [...(aheadOn === undefined ? [] : [aheadOn]), ...lowerMounts.map((l) => l.mount.target)];
  const tmp = path.join(dir, 'tmpfs');
  const [upper, work, scratch] = ['upper', 'work', 'scratch'].map((d) => path.join(tmp, d)) as [string, string, string];
  // The overlays name their dirs relative to the lowers' dir: short options at any depth.
  const overlay = { lowers: lowerDirs, options: c.overlayOptions, cwd: c.lowerDirs.dir };
  return {
    layer: recipe.name,
    recipe,
    lowers: lowerMounts,
    aheadOn,
    tmpfs: tmpfsMount(tmp, recipe.tmpfsSize),
    upper,
    work,
    scratch,
    root: lowers.length > 0 ? overlayMount({ ...overlay, upper, work }, path.join(dir, 'root')) : undefined,
    steps: recipe.steps,
    lowerView: lowers.length > 1 ? overlayMount(overlay, path.join(dir, 'lowerview')) : undefined,
    finalize: {
      exclude: recipe.exclude,
      pruneIdentical: recipe.pruneIdentical,
      stripXattrs: lowers.length > 0 || recipe.steps.some((step) => step.kind === 'host'),
    },
    pack: { squashfs: recipe.squashfs },
    sourceDateEpoch: c.sourceDateEpoch,
    timesFromContent: c.sourceDateEpoch === undefined && reproducibleFromInputs(recipe),
  };
}

/** A layer's plan in a session (its overlay options are only probed when it has lowers). */
export async function planOf(
  s: Pick<Session, 'runDir' | 'keys' | 'overlayOptions'>,
  lowerDirs: LowerDirs,
  recipe: Recipe,
  lowers: readonly Lower[],
  aheadOn?: string,
): Promise<LayerPlan> {
  const overlayOptions = lowers.length > 0 ? await s.overlayOptions() : [];
  return planLayer({ runDir: s.runDir, lowerDirs, overlayOptions, sourceDateEpoch: s.keys.sourceDateEpoch }, recipe, lowers, aheadOn);
}

/** The mksquashfs command that packs the plan's upper dir into `out`. */
export function planPackArgv(plan: LayerPlan, out: string): string[] {
  return packArgv({ upper: plan.upper, out, squashfs: plan.pack.squashfs });
}

/**
 * What building the layer does, in order, commands the way the runner logs them. `mounted`
 * holds the lowers that the run's layers described so far mount (and share); it gets this
 * layer's. `out` is where the layer is packed (a placeholder for a dry run).
 */
export function describeLayerPlan(plan: LayerPlan, o: { mounted: Set<string>; out: string }): string[] {
  const lines: string[] = [];
  if (plan.aheadOn !== undefined) lines.push(`  (built ahead: the parent's finalized upper dir ${plan.aheadOn} is its lower while the parent is packed)`);
  for (const l of plan.lowers) {
    if (!o.mounted.has(l.name)) lines.push(`+ ${l.mount.describe()}   (shared by the run's builds)`);
    o.mounted.add(l.name);
  }
  lines.push(`+ ${plan.tmpfs.describe()}`);
  if (plan.root) lines.push(`+ ${plan.root.describe()}`);
  else lines.push('  (a bottom layer: the steps work on the tmpfs upper dir itself)');
  for (const step of plan.steps) lines.push(`  step ${step.index + 1}: ${describeStep(step)}`);
  if (plan.root) lines.push(`+ umount ${plan.root.target}`);
  if (plan.lowerView) lines.push(`+ ${plan.lowerView.describe()}`);
  const { exclude, pruneIdentical, stripXattrs } = plan.finalize;
  const finalize = [
    ...(stripXattrs ? ['strip overlay xattrs'] : []),
    ...(exclude.length > 0 ? [`exclude ${exclude.join(' ')}`] : []),
    ...(pruneIdentical && plan.root ? ['prune identical entries'] : []),
    ...(plan.timesFromContent ? ["times of the build's clock clamped to the newest input time"] : []),
  ];
  lines.push(`  finalize: ${finalize.length > 0 ? finalize.join(', ') : 'nothing to do (no lowers to prune against, no step that can set overlay xattrs)'}`);
  if (plan.lowerView) lines.push(`+ umount ${plan.lowerView.target}`);
  const sde = plan.sourceDateEpoch !== undefined ? `   (SOURCE_DATE_EPOCH=${plan.sourceDateEpoch})` : '';
  lines.push(`+ ${formatArgv(planPackArgv(plan, o.out))}${sde}`);
  return lines;
}
