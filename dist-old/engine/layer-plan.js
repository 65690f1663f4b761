// One layer's build as a value, worked out once: its lowers and every mount with its options,
// the steps, what finalizing does, how it is packed. The build applies it (layer-build.ts);
// --dry-run and --verbose describe it (describeLayerPlan). Both read the same value, so what
// is shown is what runs.
import path from 'node:path';
import { packArgv } from '../layer/pack.js';
import { overlayMount, tmpfsMount } from '../mount/ops.js';
import { formatArgv } from '../process/argv.js';
import { describeStep } from '../steps/index.js';
import { reproducibleFromInputs } from '../plan/reproducible.js';
/**
 * The plan of a layer built on `lowers` (nearest first); `aheadOn`, when building ahead: the
 * parent's finalized upper dir, which stands in for lowers[0].
 */
export function planLayer(c, recipe, lowers, aheadOn) {
    const dir = path.join(c.runDir, 'layers', recipe.name);
    const lowerMounts = (aheadOn === undefined ? lowers : lowers.slice(1)).map((l) => c.lowerDirs.mountOf(l));
    const lowerDirs = [...(aheadOn === undefined ? [] : [aheadOn]), ...lowerMounts.map((l) => l.mount.target)];
    const tmp = path.join(dir, 'tmpfs');
    const [upper, work, scratch] = ['upper', 'work', 'scratch'].map((d) => path.join(tmp, d));
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
export async function planOf(s, lowerDirs, recipe, lowers, aheadOn) {
    const overlayOptions = lowers.length > 0 ? await s.overlayOptions() : [];
    return planLayer({ runDir: s.runDir, lowerDirs, overlayOptions, sourceDateEpoch: s.keys.sourceDateEpoch }, recipe, lowers, aheadOn);
}
/** The mksquashfs command that packs the plan's upper dir into `out`. */
export function planPackArgv(plan, out) {
    return packArgv({ upper: plan.upper, out, squashfs: plan.pack.squashfs });
}
/**
 * What building the layer does, in order, commands the way the runner logs them. `mounted`
 * holds the lowers that the run's layers described so far mount (and share); it gets this
 * layer's. `out` is where the layer is packed (a placeholder for a dry run).
 */
export function describeLayerPlan(plan, o) {
    const lines = [];
    if (plan.aheadOn !== undefined)
        lines.push(`  (built ahead: the parent's finalized upper dir ${plan.aheadOn} is its lower while the parent is packed)`);
    for (const l of plan.lowers) {
        if (!o.mounted.has(l.name))
            lines.push(`+ ${l.mount.describe()}   (shared by the run's builds)`);
        o.mounted.add(l.name);
    }
    lines.push(`+ ${plan.tmpfs.describe()}`);
    if (plan.root)
        lines.push(`+ ${plan.root.describe()}`);
    else
        lines.push('  (a bottom layer: the steps work on the tmpfs upper dir itself)');
    for (const step of plan.steps)
        lines.push(`  step ${step.index + 1}: ${describeStep(step)}`);
    if (plan.root)
        lines.push(`+ umount ${plan.root.target}`);
    if (plan.lowerView)
        lines.push(`+ ${plan.lowerView.describe()}`);
    const { exclude, pruneIdentical, stripXattrs } = plan.finalize;
    const finalize = [
        ...(stripXattrs ? ['strip overlay xattrs'] : []),
        ...(exclude.length > 0 ? [`exclude ${exclude.join(' ')}`] : []),
        ...(pruneIdentical && plan.root ? ['prune identical entries'] : []),
        ...(plan.timesFromContent ? ["times of the build's clock clamped to the newest input time"] : []),
    ];
    lines.push(`  finalize: ${finalize.length > 0 ? finalize.join(', ') : 'nothing to do (no lowers to prune against, no step that can set overlay xattrs)'}`);
    if (plan.lowerView)
        lines.push(`+ umount ${plan.lowerView.target}`);
    const sde = plan.sourceDateEpoch !== undefined ? `   (SOURCE_DATE_EPOCH=${plan.sourceDateEpoch})` : '';
    lines.push(`+ ${formatArgv(planPackArgv(plan, o.out))}${sde}`);
    return lines;
}
//# sourceMappingURL=layer-plan.js.map