// Builds one layer: its lowers loop-mounted read-only (once per run, shared with the other
// builds: shared-lowers.ts), a tmpfs upper, an overlay with the portable options, the steps
// in order, then the upper finalized and packed. Every mount of its own is undone on
// success, failure and interrupt (Scope).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { finalizeUpper } from '../layer/finalize.js';
import { pack } from '../layer/pack.js';
import { overlayMount, Scope, tmpfsMount } from '../mount/ops.js';
import { Interrupted } from '../process/interrupt.js';
import { formatArgv, MissingToolError } from '../process/run.js';
import { StepError } from '../steps/context.js';
import { describeStep, runStepOf } from '../steps/index.js';
export function layerMounts(stateDir, recipe, lowers, shared, options) {
    const dir = path.join(stateDir, 'layers', recipe.name);
    const lowerOps = lowers.map((l) => shared.mountOf(l));
    const lowerDirs = lowerOps.map((op) => op.target);
    const tmp = path.join(dir, 'tmpfs');
    const [upper, work, scratch] = ['upper', 'work', 'scratch'].map((d) => path.join(tmp, d));
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
/** A failure of a layer's build, naming the layer and the step (or phase). */
export class LayerBuildError extends Error {
    layer;
    where;
    detail;
    tail;
    hint;
    constructor(layer, where, detail, tail = [], hint) {
        super(`layer ${layer}, ${where}: ${detail}`);
        this.layer = layer;
        this.where = where;
        this.detail = detail;
        this.tail = tail;
        this.hint = hint;
    }
}
export async function buildLayer(s, recipe, lowers, shared, out) {
    const warn = (text) => s.report.emit({ type: 'warning', text: `${recipe.name}: ${text}` });
    const scope = new Scope(s.runner, s.cleanupRunner, warn);
    const emitPhase = (text) => s.report.emit({ type: 'phase', layer: recipe.name, text });
    let failure;
    try {
        const m = layerMounts(s.state.dir, recipe, lowers, shared, lowers.length > 0 ? await s.overlayOptions() : []);
        const lowerDirs = await shared.use(lowers);
        const tmp = await scope.mount(m.tmpfs);
        const { upper, scratch } = m;
        for (const d of [upper, m.work, scratch])
            await fs.mkdir(d, { mode: 0o755 });
        let root = upper;
        if (m.root) {
            // The merged root shows the upper's root attributes: start from what the lowers show.
            const rootSt = await fs.stat(lowerDirs[0]);
            await fs.chown(upper, rootSt.uid, rootSt.gid);
            await fs.chmod(upper, rootSt.mode & 0o7777);
            await fs.utimes(upper, rootSt.atime, rootSt.mtime);
            root = await scope.mount(m.root);
        }
        const ctx = {
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
        if (root !== upper)
            await scope.releaseMount(root);
        emitPhase('finalizing the upper dir');
        const lowerView = m.lowerView ? await scope.mount(m.lowerView) : lowerDirs[0];
        let stats;
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
        }
        catch (err) {
            if (err instanceof Interrupted)
                throw err;
            throw new LayerBuildError(recipe.name, 'finalizing', err.message);
        }
        if (m.lowerView)
            await scope.releaseMount(m.lowerView.target);
        if (s.packs.pending > 0)
            emitPhase('waiting for mksquashfs (another layer is packing)');
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
        }
        catch (err) {
            if (err instanceof Interrupted)
                throw err;
            const tail = err.tail ?? [];
            throw new LayerBuildError(recipe.name, 'packing', err.message, tail, mksquashfsHint(err));
        }
        return stats;
    }
    catch (err) {
        failure = err;
        throw err;
    }
    finally {
        const errors = await scope.close();
        for (const e of errors)
            warn(e.message);
        if (failure !== undefined)
            await fs.rm(out, { force: true });
    }
}
async function runStep(step, ctx, tmp, recipe) {
    const where = stepLabel(step);
    try {
        await runStepOf(step, ctx);
    }
    catch (err) {
        if (err instanceof Interrupted)
            throw err;
        const full = await tmpfsFull(tmp, err.tail ?? []);
        const hint = full
            ? `the layer's tmpfs (tmpfs-size: ${recipe.tmpfsSize}) is full; raise tmpfs-size in ${recipe.file}`
            : undefined;
        if (err instanceof StepError) {
            throw new LayerBuildError(recipe.name, where, err.message, err.tail, hint ?? `the step is at ${recipe.file}:${step.loc.line}:${step.loc.col}`);
        }
        if (err instanceof MissingToolError) {
            throw new LayerBuildError(recipe.name, where, err.message, [], installHint(err.tool));
        }
        throw new LayerBuildError(recipe.name, where, err.message, [], hint);
    }
}
/** `step 2 (restore inputs/server.dump)`: how failures name a step. */
export function stepLabel(step) {
    return `step ${step.index + 1} (${step.kind}${'input' in step ? ` ${step.input.path}` : ''})`;
}
/**
 * Whether a step failure is (probably) the layer's tmpfs running out: the output says so, or
 * next to nothing is left (under 1 MiB, or under 1% for a tmpfs smaller than 100 MiB).
 */
async function tmpfsFull(dir, tail) {
    if (tail.some((l) => /No space left on device|ENOSPC/i.test(l)))
        return true;
    try {
        const st = await fs.statfs(dir);
        const free = st.bavail * st.bsize;
        const threshold = Math.max(64 * 1024, Math.min(1024 * 1024, (st.blocks * st.bsize) / 100));
        return free < threshold || st.ffree < 16;
    }
    catch {
        return false;
    }
}
function mksquashfsHint(err) {
    if (err instanceof MissingToolError)
        return installHint(err.tool);
    return undefined;
}
const PACKAGES = {
    mksquashfs: 'squashfs-tools',
    restore: 'dump',
    bwrap: 'bubblewrap',
    getfattr: 'attr',
    setfattr: 'attr',
    xargs: 'findutils',
    rsync: 'rsync',
    zstd: 'zstd',
    xz: 'xz-utils',
    tar: 'tar',
    gzip: 'gzip',
    bzip2: 'bzip2',
    unshare: 'util-linux',
};
export function installHint(tool) {
    const pkg = PACKAGES[tool];
    return pkg ? `install it: apt-get install ${pkg}` : `install ${tool}`;
}
/**
 * What building a layer would do, for --dry-run. `mounted` holds the lowers that the run's
 * builds described so far mount (and share); it gets this layer's lowers.
 */
export async function describeLayerBuild(s, recipe, lowers, shared, mounted) {
    const m = layerMounts(s.state.dir, recipe, lowers, shared, lowers.length > 0 ? await s.overlayOptions() : []);
    const lines = [];
    lowers.forEach((l, i) => {
        if (!mounted.has(l.name))
            lines.push(`${commandLine(m.lowers[i])}   (shared by the run's builds)`);
        mounted.add(l.name);
    });
    lines.push(commandLine(m.tmpfs));
    if (m.root)
        lines.push(commandLine(m.root));
    else
        lines.push('  (a bottom layer: the steps work on the tmpfs upper dir itself)');
    for (const step of recipe.steps)
        lines.push(`  step ${step.index + 1}: ${describeStep(step)}`);
    if (m.root)
        lines.push(`+ umount ${m.root.target}`);
    if (m.lowerView)
        lines.push(commandLine(m.lowerView));
    lines.push(`  finalize: strip overlay xattrs${recipe.exclude.length ? `, exclude ${recipe.exclude.join(' ')}` : ''}${recipe.pruneIdentical ? ', prune identical entries' : ''}`);
    lines.push(`+ mksquashfs ${m.upper} ... (${recipe.squashfs.compression}, block ${recipe.squashfs.blockSize})`);
    return lines;
}
/** A mount as --dry-run shows it, the way the runner logs commands. */
function commandLine(op) {
    return `+ ${formatArgv(op.argv())}${op.cwd ? `   (in ${op.cwd})` : ''}`;
}
//# sourceMappingURL=layer-build.js.map