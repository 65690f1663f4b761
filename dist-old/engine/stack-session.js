// A session for the commands that look into built layers (inspect, diff, verify, shell):
// no project lock (they write nothing in the project), but a run state dir like a build's,
// so every mount they make lives under it, is undone on exit, failure and interrupt, and is
// reaped by the next run if this one is killed. Layer files are mounted read-only; a stack
// is assembled the way the initramfs does it (see `assemble`).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HostTools } from '../mount/host-tools.js';
import { overlayMount, Scope, squashfsMount, tmpfsMount } from '../mount/ops.js';
import { cleanLeftovers, RunState } from '../mount/run-state.js';
import { Runner } from '../process/run.js';
export class StackSession {
    state;
    runner;
    cleanupRunner;
    scope;
    signal;
    warn;
    count = 0;
    tools;
    constructor(state, runner, 
    /** Never aborted: an interrupt cannot skip an unmount. */
    cleanupRunner, scope, signal, warn) {
        this.state = state;
        this.runner = runner;
        this.cleanupRunner = cleanupRunner;
        this.scope = scope;
        this.signal = signal;
        this.warn = warn;
    }
    static async open(o) {
        const cleanupRunner = new Runner({ log: o.log, dryRun: false, signal: new AbortController().signal, env: o.env });
        for (const r of await cleanLeftovers(o.stateRoot, cleanupRunner, o.warn)) {
            o.warn(`cleaned up after a run that was killed (${r.runId}${r.project ? `, ${r.project}` : ''}): ${r.mounts} mount(s), ${r.killed} process group(s)`);
        }
        const state = await RunState.create(o.stateRoot, o.project);
        const runner = new Runner({ log: o.log, dryRun: false, signal: o.signal, env: o.env, onSpawn: (pid) => state.recordChild(pid) });
        return new StackSession(state, runner, cleanupRunner, new Scope(runner, cleanupRunner, o.warn), o.signal, o.warn);
    }
    /** A fresh directory below the run dir. */
    dir(label) {
        return path.join(this.state.dir, `${this.count++}-${label}`);
    }
    /** Loop-mounts a layer file read-only; returns its mount dir. */
    mountLayer(file) {
        return this.scope.mount(squashfsMount(path.resolve(file), this.dir('layer')));
    }
    /**
     * A read-only view of layer dirs (nearest first): the dir itself for one, an overlay without
     * upper for several (as the builder's lower view), undefined for none.
     */
    async view(dirs) {
        if (dirs.length === 0)
            return undefined;
        if (dirs.length === 1)
            return dirs[0];
        return this.scope.mount(overlayMount({ lowers: [...dirs], options: [], cwd: this.state.dir }, this.dir('view')));
    }
    /**
     * The stack as the initramfs assembles it: the layer dirs (top first) as overlay lowers, a
     * tmpfs upper, and no special overlay options. A single layer gets an overlay too (the
     * initramfs always has its upper). Returns the merged root and the tmpfs (for scratch space).
     */
    async assemble(dirs, tmpfsSize) {
        const tmpfs = await this.scope.mount(tmpfsMount(this.dir('tmpfs'), tmpfsSize));
        const upper = path.join(tmpfs, 'upper');
        const work = path.join(tmpfs, 'work');
        for (const d of [upper, work])
            await fs.mkdir(d, { mode: 0o755 });
        // The merged root shows the upper's own attributes: start from what the top layer shows.
        const rootSt = await fs.stat(dirs[0]);
        await fs.chown(upper, rootSt.uid, rootSt.gid);
        await fs.chmod(upper, rootSt.mode & 0o7777);
        const root = await this.scope.mount(overlayMount({ lowers: [...dirs], upper, work, options: [], cwd: this.state.dir }, this.dir('root')));
        return { root, tmpfs, upper };
    }
    /** The host's tool dirs and the seccomp filter, for the `run` sandbox. */
    hostTools() {
        return (this.tools ??= HostTools.detect(this.state.dir));
    }
    /** Debian's policy-rc.d (exit 101), bound into the sandbox as a build's `run` steps get it. */
    async policyRcD() {
        const file = path.join(this.state.dir, 'policy-rc.d');
        await fs.writeFile(file, '#!/bin/sh\n# sqsh-layers: no service starts here\nexit 101\n', { mode: 0o755 });
        return file;
    }
    /** Undoes every mount and removes the run dir; reports what could not be undone. */
    async close() {
        for (const e of await this.scope.close())
            this.warn(e.message);
        await this.state.dispose().catch((e) => this.warn(e.message));
    }
}
//# sourceMappingURL=stack-session.js.map