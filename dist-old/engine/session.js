// A session: what a command works with, passed explicitly (no global configuration). Two
// kinds. A build session holds the project lock and the run's state directory, cleans up
// what killed runs left, and writes (the cache, layers/, the stat cache). A read-only
// session (plan, --dry-run) only reads: no lock, no state directory, no mount, no write,
// no cleanup of other runs; it names where a build's mounts would go.
import { promises as fs } from 'node:fs';
import PQueue from 'p-queue';
import path from 'node:path';
import { openStore, openStoreReader } from '../cache/open-store.js';
import { StatCache } from '../cache/stat-cache.js';
import { mksquashfsVersion } from '../cache/tool-version.js';
import { PORTABLE_OPTIONS, probeOverlayOptions } from '../mount/features.js';
import { HostTools } from '../mount/host-tools.js';
import { pidAlive } from '../mount/process-id.js';
import { ProjectLock } from '../mount/project-lock.js';
import { checkStateRoot, cleanLeftovers, RunState } from '../mount/run-state.js';
import { Runner } from '../process/run.js';
export const LOCK_FILE = '.sqsh-layers.lock';
export const LAYERS_DIR = 'layers';
const STAT_CACHE = 'stat-cache.json';
/**
 * The store's remote side, when the session has one (registry clients share the run's runner
 * and signal). The registry client is loaded only then: most builds have no remote cache.
 */
async function remoteOf(o, runner) {
    const r = o.remote;
    if (!r || (r.from === undefined && r.to === undefined))
        return undefined;
    const { Registries } = await import('../registry/open.js');
    const registries = new Registries({ env: o.env, runner, signal: o.signal, insecure: r.insecure, idleTimeoutMs: 30_000, retries: 2 });
    return { from: r.from, to: r.to, registries, signal: o.signal };
}
/** Where a read-only session says a build's mounts would go (a real run's id is made when it starts). */
const RUN_ID_PLACEHOLDER = 'RUN-ID';
function logOf(o) {
    return {
        verbose: (line) => {
            if (o.verbose)
                o.report.emit({ type: 'info', text: line });
        },
        info: (line) => o.report.emit({ type: 'info', text: line }),
    };
}
async function keyContext(o, runner, stats, remember) {
    const mksquashfs = await mksquashfsVersion(runner, o.project.config.cacheDir, { remember }).catch(() => 'mksquashfs not installed');
    return { stats, mksquashfs, sourceDateEpoch: o.envSourceDateEpoch ?? o.project.config.sourceDateEpoch, signal: o.signal, fingerprints: new Map() };
}
/** For plan and --dry-run: reads the stat cache, the tool versions and the cache's key records; writes nothing. */
export async function openReadOnlySession(o) {
    checkStateRoot(o.stateRoot);
    const cacheDir = o.project.config.cacheDir;
    // Commands that would change something are printed instead (Runner's dry-run).
    const runner = new Runner({ log: logOf(o), dryRun: true, signal: o.signal, env: o.env });
    const stats = await StatCache.open(path.join(cacheDir, STAT_CACHE));
    return {
        mode: 'read-only',
        project: o.project,
        graph: o.graph,
        report: o.report,
        signal: o.signal,
        verbose: o.verbose,
        keys: await keyContext(o, runner, stats, false),
        layersDir: path.join(o.project.config.dir, LAYERS_DIR),
        runDir: path.join(o.stateRoot, RUN_ID_PLACEHOLDER),
        store: await openStoreReader({ cacheDir, stats, remote: await remoteOf(o, runner), warn: (text) => o.report.emit({ type: 'warning', text }) }),
        // Nothing is mounted to find out: the options of a kernel that has uuid=null.
        overlayOptions: () => Promise.resolve([...PORTABLE_OPTIONS, 'uuid=null']),
        close: () => Promise.resolve(),
    };
}
/** For build: takes the project lock, creates the run's state directory, cleans what killed runs left. */
export async function openBuildSession(o) {
    const warn = (text) => o.report.emit({ type: 'warning', text });
    const log = logOf(o);
    const cleanupRunner = new Runner({ log, dryRun: false, signal: new AbortController().signal, env: o.env });
    const projectDir = o.project.config.dir;
    const cacheDir = o.project.config.cacheDir;
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
        await removeStaleTemps(layersDir);
        const runner = new Runner({ log, dryRun: false, signal: o.signal, env: o.env, onSpawn: (pid) => state.recordChild(pid) });
        const stats = await StatCache.open(path.join(cacheDir, STAT_CACHE));
        const store = await openStore({ cacheDir, stats, warn, runId: state.id, alive: pidAlive, remote: await remoteOf(o, runner) });
        let overlay;
        let tools;
        let policy;
        const heldLock = lock;
        return {
            mode: 'build',
            project: o.project,
            graph: o.graph,
            report: o.report,
            signal: o.signal,
            verbose: o.verbose,
            keys: await keyContext(o, runner, stats, true),
            layersDir,
            runDir: state.dir,
            store,
            runner,
            cleanupRunner,
            packs: new PQueue({ concurrency: 1 }),
            overlayOptions: () => (overlay ??= probeOverlayOptions(runner, path.join(state.dir, 'probe'), warn)),
            hostTools: () => (tools ??= HostTools.detect(state.dir)),
            policyRcD: () => (policy ??= (async () => {
                const file = path.join(state.dir, 'policy-rc.d');
                await fs.writeFile(file, '#!/bin/sh\n# sqsh-layers: no service starts while a layer is built\nexit 101\n', { mode: 0o755 });
                return file;
            })()),
            async close() {
                // The overlay probe may have been started early (build.ts) and not awaited by anyone.
                await overlay?.catch(() => { });
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
 * Partial files in layers/ of runs that are gone: only the lock holder writes there, so every
 * temp name the tool uses (`.NAME.sqsh.RUN-ID.tmp`, `manifest.json.*.tmp`) is stale. (The
 * store cleans its own: see cache/open-store.ts.)
 */
async function removeStaleTemps(layersDir) {
    for (const name of await fs.readdir(layersDir).catch(() => [])) {
        if (/^\..+\.sqsh\.[^/]+\.tmp$/.test(name) || /^manifest\.json\.[^/]+\.tmp$/.test(name)) {
            await fs.rm(path.join(layersDir, name), { recursive: true, force: true });
        }
    }
}
//# sourceMappingURL=session.js.map