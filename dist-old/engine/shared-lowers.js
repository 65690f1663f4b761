// The lowers of a run's builds, shared: each layer's blob is loop-mounted once per run and
// used read-only by every descendant built in the run, so a chain of n layers mounts n blobs
// instead of n²/2. A mount counts the layers of the run that stack on it and are not done
// yet (built, cached, failed or skipped); the last one to be done unmounts it. The mounts live
// under the run's state dir, so close() (failure, interrupt) and the recovery after a SIGKILL
// undo whatever is left.
import path from 'node:path';
import { Scope, squashfsMount } from '../mount/ops.js';
/**
 * Where a run mounts each layer's blob: a short dir per layer (its build order index), so
 * that overlay options name them relative to `dir` in a few bytes. Only names: a dry run
 * names the same dirs without mounting anything.
 */
export class LowerDirs {
    dir;
    ids = new Map();
    constructor(
    /** The directory the lowers are mounted in, below the run's state dir. */
    dir, 
    /** The run's layers, parents first. */
    order) {
        this.dir = dir;
        order.forEach((name, i) => this.ids.set(name, i));
    }
    /** The mount of a layer's blob (its dir is the same for every user in the run). */
    mountOf(lower) {
        return { name: lower.name, mount: squashfsMount(lower.blob, this.dirOf(lower.name)) };
    }
    dirOf(name) {
        const id = this.ids.get(name);
        if (id === undefined)
            throw new Error(`bug: layer ${name} is not part of this run`);
        return path.join(this.dir, String(id));
    }
}
export class SharedLowers {
    dirs;
    lowersOf;
    warn;
    /** For each layer: the layers of the run stacked on it that are not done yet. */
    users = new Map();
    mounts = new Map();
    scope;
    constructor(dirs, 
    /** The run's layers, parents first. */
    order, lowersOf, runner, cleanupRunner, warn) {
        this.dirs = dirs;
        this.lowersOf = lowersOf;
        this.warn = warn;
        for (const name of order)
            for (const l of lowersOf(name))
                this.users.set(l, (this.users.get(l) ?? 0) + 1);
        this.scope = new Scope(runner, cleanupRunner, warn);
    }
    /** Mounts what is not mounted yet (once, however many builds ask at the same time); the dirs, nearest first. */
    async use(lowers) {
        const dirs = [];
        for (const l of lowers) {
            let mounted = this.mounts.get(l.name);
            if (!mounted) {
                mounted = this.scope.mount(l.mount);
                this.mounts.set(l.name, mounted);
            }
            dirs.push(await mounted);
        }
        return dirs;
    }
    /** A layer of the run is done: lowers no other layer of the run still stacks on are unmounted. */
    async done(name) {
        for (const l of this.lowersOf(name)) {
            const left = (this.users.get(l) ?? 0) - 1;
            this.users.set(l, left);
            const mounted = this.mounts.get(l);
            if (left > 0 || !mounted)
                continue;
            this.mounts.delete(l);
            try {
                await mounted.catch(() => { }); // a failed mount is undone all the same (its users saw the failure)
                await this.scope.releaseMount(this.dirs.dirOf(l));
            }
            catch (err) {
                this.warn(`could not unmount the lower ${l}: ${err.message}`);
            }
        }
    }
    /** Unmounts whatever is still mounted (after a failure or an interrupt); returns the failures. */
    close() {
        this.mounts.clear();
        return this.scope.close();
    }
}
//# sourceMappingURL=shared-lowers.js.map