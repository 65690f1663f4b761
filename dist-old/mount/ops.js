// Mounts as data: each operation describes itself (for --dry-run and logs) and knows how
// to apply and undo itself. `Scope` makes sure that what was applied is undone.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MOUNT_OPTIONS_MAX, OVERLAY_MAX_LOWERS } from '../plan/stack-limits.js';
import { failureIn } from '../failure.js';
import { formatArgv } from '../process/argv.js';
import { isMountpoint, mountsUnder } from './mountinfo.js';
function mountOp(target, argv, cwd) {
    return {
        target,
        ...(cwd !== undefined ? { cwd } : {}),
        describe: () => `${formatArgv(argv)}${cwd !== undefined ? `   (in ${cwd})` : ''}`,
        argv: () => [...argv],
    };
}
/** A squashfs image, read-only through a loop device that goes away with the mount. */
export function squashfsMount(file, target) {
    return mountOp(target, ['mount', '-t', 'squashfs', '-o', 'ro,loop', file, target]);
}
export function tmpfsMount(target, size) {
    return mountOp(target, ['mount', '-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'sqsh-layers', target]);
}
/** The -o text of an overlay mount: dirs relative to spec.cwd, nearest lower first. */
export function overlayOptions(spec) {
    if (spec.lowers.length === 0 || spec.lowers.length > OVERLAY_MAX_LOWERS) {
        throw new Error(`bug: an overlay needs 1 to ${OVERLAY_MAX_LOWERS} lowers, found ${spec.lowers.length} (the plan should have refused the stack)`);
    }
    const rel = (p) => checkOverlayPath(path.relative(spec.cwd, p) || '.');
    const opts = [`lowerdir=${spec.lowers.map(rel).join(':')}`];
    if (spec.upper && spec.work)
        opts.push(`upperdir=${rel(spec.upper)}`, `workdir=${rel(spec.work)}`);
    else
        opts.push('ro');
    opts.push(...spec.options);
    const text = opts.join(',');
    if (Buffer.byteLength(text) > MOUNT_OPTIONS_MAX) {
        throw new Error(`bug: overlay options of ${Buffer.byteLength(text)} bytes do not fit the ${MOUNT_OPTIONS_MAX} that mount(2) takes: ${text.slice(0, 200)}...`);
    }
    return text;
}
/** An overlayfs mount; without upper it is a read-only view of the lowers. */
export function overlayMount(spec, target) {
    return mountOp(target, ['mount', '-t', 'overlay', '-o', overlayOptions(spec), 'sqsh-layers', target], spec.cwd);
}
function checkOverlayPath(p) {
    if (/[,:\\]/.test(p))
        throw new Error(`bug: mount path with a "," or ":" cannot be an overlay lower: ${p}`);
    return p;
}
/** Unmounts `target`, waiting out a short busy period; a lazy unmount is the last resort. */
export async function unmount(runner, target, warn) {
    for (let attempt = 0;; attempt++) {
        if (!(await isMountpoint(target)))
            return;
        try {
            await runner.run(['umount', target]);
            return;
        }
        catch (err) {
            if (!failureIn(err, 'command'))
                throw err;
            if (attempt >= 20) {
                warn(`${target} stayed busy; detaching it lazily (it goes away when its last user exits)`);
                await runner.run(['umount', '-l', target]);
                return;
            }
            await new Promise((r) => setTimeout(r, 100 + attempt * 50));
        }
    }
}
/** Unmounts every mount at or below `dir`, nested ones first. */
export async function unmountAllUnder(runner, dir, warn) {
    let count = 0;
    for (const m of await mountsUnder(dir)) {
        await unmount(runner, m.target, warn);
        count++;
    }
    return count;
}
/** A stack of undo actions, run in reverse order; every one runs even if another fails. */
export class Scope {
    runner;
    cleanupRunner;
    warn;
    undos = [];
    constructor(runner, 
    /** Runs cleanup commands even after an interrupt (its signal never aborts). */
    cleanupRunner, warn) {
        this.runner = runner;
        this.cleanupRunner = cleanupRunner;
        this.warn = warn;
    }
    async mount(op) {
        await fs.mkdir(op.target, { recursive: true });
        // Registered before applying: an interrupt mid-mount must still try to undo it.
        this.defer(`unmount ${op.target}`, () => unmountAllUnder(this.cleanupRunner, op.target, this.warn).then(() => { }));
        await this.runner.run(op.argv(), { cwd: op.cwd });
        return op.target;
    }
    defer(label, fn) {
        this.undos.push({ label, fn });
    }
    /** Undoes the action registered under `label` now, and forgets it. */
    async release(label) {
        const i = this.undos.findLastIndex((u) => u.label === label);
        if (i < 0)
            throw new Error(`bug: nothing to release under "${label}"`);
        const [u] = this.undos.splice(i, 1);
        await u.fn();
    }
    async releaseMount(target) {
        await this.release(`unmount ${target}`);
    }
    /** Runs every undo, newest first; returns the failures instead of stopping at the first. */
    async close() {
        const errors = [];
        while (this.undos.length > 0) {
            const u = this.undos.pop();
            try {
                await u.fn();
            }
            catch (err) {
                errors.push(new Error(`cleanup "${u.label}" failed: ${err.message}`));
            }
        }
        return errors;
    }
}
//# sourceMappingURL=ops.js.map