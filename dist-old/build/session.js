// A build session: the project lock, the run's state directory, cleanup of what killed
// runs left, the cache, and the facts probed once (overlay options, tool versions).
// Passed explicitly to everything that builds; no global configuration.
import { promises as fs } from 'node:fs';
import PQueue from 'p-queue';
import path from 'node:path';
import { CacheRun, removeDeadWriters } from '../cache/cache-run.js';
import { LocalStore } from '../cache/local-store.js';
import { StatCache } from '../cache/stat-cache.js';
import { probeOverlayOptions } from '../mount/features.js';
import { HostTools } from '../mount/host-tools.js';
import { cleanLeftovers, pidAlive, ProjectLock, RunState } from '../mount/state.js';
import { Runner } from '../process/run.js';
import { mksquashfsVersion } from '../cache/tool-version.js';
export const LOCK_FILE = '.sqsh-layers.lock';
export const LAYERS_DIR = 'layers';
export async function openSession(o) {
    const warn = (text) => o.report.emit({ type: 'warning', text });
    const log = {
        verbose: (line) => {
            if (o.verbose)
                o.report.emit({ type: 'info', text: line });
        },
        info: (line) => o.report.emit({ type: 'info', text: line }),
    };
    const cleanupRunner = new Runner({ log, dryRun: false, signal: new AbortController().signal });
    const projectDir = o.project.config.dir;
    for (const r of await cleanLeftovers(o.stateRoot, cleanupRunner, warn)) {
        o.report.emit({
            type: 'warning',
            text: `cleaned up after a run that was killed (${r.runId}${r.project ? `, ${r.project}` : ''}): ${r.mounts} mount(s), ${r.killed} process group(s)`,
        });
    }
    const state = await RunState.create(o.stateRoot, projectDir);
    let lock;
    try {
        lock = await ProjectLock.acquire(path.join(projectDir, LOCK_FILE), state.id);
        const layersDir = path.join(projectDir, LAYERS_DIR);
        await fs.mkdir(layersDir, { recursive: true });
        await removeStaleTemps(layersDir, o.project.config.cacheDir);
        const runner = new Runner({ log, dryRun: o.dryRun, signal: o.signal, onSpawn: (pid) => state.recordChild(pid) });
        const stats = await StatCache.open(path.join(o.project.config.cacheDir, 'stat-cache.json'));
        const store = new LocalStore(o.project.config.cacheDir, stats, warn, new CacheRun(o.project.config.cacheDir, state.id));
        const mksquashfs = await mksquashfsVersion(runner, o.project.config.cacheDir).catch(() => 'mksquashfs not installed');
        let overlay;
        let tools;
        let policy;
        const heldLock = lock;
        return {
            project: o.project,
            graph: o.graph,
            report: o.report,
            signal: o.signal,
            runner,
            cleanupRunner,
            state,
            store,
            stats,
            layersDir,
            sourceDateEpoch: o.envSourceDateEpoch ?? o.project.config.sourceDateEpoch,
            mksquashfs,
            packs: new PQueue({ concurrency: 1 }),
            overlayOptions: () => (overlay ??= probeOverlayOptions(runner, path.join(state.dir, 'probe'), warn)),
            hostTools: () => (tools ??= HostTools.detect(state.dir)),
            policyRcD: () => (policy ??= (async () => {
                const file = path.join(state.dir, 'policy-rc.d');
                await fs.writeFile(file, '#!/bin/sh\n# sqsh-layers: no service starts while a layer is built\nexit 101\n', { mode: 0o755 });
                return file;
            })()),
            async close() {
                await stats.save().catch((e) => warn(`could not save the stat cache: ${e.message}`));
                await store.close().catch((e) => warn(`could not remove the run's temp files from the cache: ${e.message}`));
                await state.dispose().catch((e) => warn(e.message));
                await heldLock.release();
            },
        };
    }
    catch (err) {
        await lock?.release();
        await state.dispose().catch(() => { });
        throw err;
    }
}
/**
 * Partial files of runs that are gone. In the cache (which live runs of other projects may
 * share) only files whose writer is dead go; in layers/, which only the lock holder writes,
 * every temp name the tool uses (`.NAME.sqsh.RUN-ID.tmp`, `manifest.json.*.tmp`) is stale.
 */
async function removeStaleTemps(layersDir, cacheDir) {
    for (const name of await fs.readdir(layersDir).catch(() => [])) {
        if (/^\..+\.sqsh\.[^/]+\.tmp$/.test(name) || /^manifest\.json\.[^/]+\.tmp$/.test(name)) {
            await fs.rm(path.join(layersDir, name), { recursive: true, force: true });
        }
    }
    await removeDeadWriters(cacheDir, pidAlive);
}
//# sourceMappingURL=session.js.map