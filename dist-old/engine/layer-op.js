// What merge, commit and capture share with build's reliability contract: the run's state
// directory (where every mount of theirs lives, cleaned up by the next run after a SIGKILL),
// the project lock when they write into a project, a Scope that undoes their mounts on
// success, failure and interrupt, and the one way their .sqsh reaches its place (temp name,
// then rename; in a project, a manifest entry after it).
import { sha256OfFile } from '../cache/digest.js';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { replaceAtomically } from '../cache/atomic-write.js';
import { ManifestWriter, readManifestFile } from '../layer/manifest.js';
import { Scope, tmpfsMount } from '../mount/ops.js';
import { ProjectLock } from '../mount/project-lock.js';
import { checkStateRoot, cleanLeftovers, RunState } from '../mount/run-state.js';
import { Runner } from '../process/run.js';
import { LOCK_FILE } from './session.js';
export async function openOpSession(o) {
    checkStateRoot(o.stateRoot);
    const warn = (text) => o.report.emit({ type: 'warning', text });
    const log = {
        verbose: (line) => {
            if (o.verbose)
                o.report.emit({ type: 'info', text: line });
        },
        info: (line) => o.report.emit({ type: 'info', text: line }),
    };
    const cleanupRunner = new Runner({ log, dryRun: o.dryRun, signal: new AbortController().signal, env: o.env });
    if (o.dryRun) {
        const runner = new Runner({ log, dryRun: true, signal: o.signal, env: o.env });
        const runDir = path.join(o.stateRoot, 'RUN-ID');
        const scope = new Scope(runner, cleanupRunner, warn);
        return {
            report: o.report,
            signal: o.signal,
            dryRun: true,
            runner,
            cleanupRunner,
            runDir,
            runId: 'RUN-ID',
            started: Date.now(),
            scope,
            warn,
            stagingTmpfs: (name, size) => {
                const target = path.join(runDir, name);
                log.info(`+ ${tmpfsMount(target, size).describe()}`);
                return Promise.resolve(target);
            },
            close: () => Promise.resolve(),
        };
    }
    for (const r of await cleanLeftovers(o.stateRoot, cleanupRunner, warn)) {
        warn(`cleaned up after a run that was killed (${r.runId}${r.project ? `, ${r.project}` : ''}): ${r.mounts} mount(s), ${r.killed} process group(s)`);
    }
    const state = await RunState.create(o.stateRoot, o.owner);
    let lock;
    try {
        if (o.projectDir !== undefined)
            lock = await ProjectLock.acquire(path.join(o.projectDir, LOCK_FILE), state.id);
        // Under the project's lock: no other run of the project writes there now.
        await removeKilledTemps(o.outDir, o.stateRoot);
    }
    catch (err) {
        await lock?.release().catch(() => { });
        await state.dispose().catch(() => { });
        throw err;
    }
    const runner = new Runner({ log, dryRun: false, signal: o.signal, env: o.env, onSpawn: (pid) => state.recordChild(pid) });
    const scope = new Scope(runner, cleanupRunner, warn);
    return {
        report: o.report,
        signal: o.signal,
        dryRun: false,
        runner,
        cleanupRunner,
        runDir: state.dir,
        runId: state.id,
        started: Date.now(),
        scope,
        warn,
        stagingTmpfs: (name, size) => scope.mount(tmpfsMount(path.join(state.dir, name), size)),
        async close() {
            for (const e of await scope.close())
                warn(e.message);
            await state.dispose().catch((e) => warn(e.message));
            await lock?.release();
        },
    };
}
/** Runs `fill` on a temp name in the output dir, renames it into place, then records it in the manifest. */
export async function writeLayer(s, out, fill) {
    const file = path.join(out.dir, `${out.name}.sqsh`);
    let sha256 = '';
    let size = 0;
    await replaceAtomically(file, async (tmp) => {
        await fill(tmp);
        sha256 = await sha256OfFile(tmp);
        size = (await fs.stat(tmp)).size;
    }, path.join(out.dir, `.${out.name}.sqsh.${s.runId}.tmp`));
    if (out.manifest) {
        const onDisk = await readManifestFile(out.dir);
        const writer = new ManifestWriter(out.dir, onDisk ?? { version: 1, layers: {} }, onDisk !== undefined);
        const q = out.manifest.squashfs;
        await writer.update(out.name, {
            file: `${out.name}.sqsh`,
            parent: out.manifest.parent,
            sha256,
            size,
            squashfs: { compression: q.compression, level: q.level ?? null, 'block-size': q.blockSize },
            builtAt: new Date().toISOString(),
            madeBy: out.manifest.madeBy,
        });
        await writer.flush();
    }
    return { file, sha256, size };
}
/**
 * Temp files `.NAME.sqsh.RUN-ID.tmp` of runs that are gone: their run dir no longer exists,
 * since cleanLeftovers has just removed those of dead runs (a live run keeps its own).
 */
async function removeKilledTemps(outDir, stateRoot) {
    for (const name of await fs.readdir(outDir).catch(() => [])) {
        const m = /^\..+\.sqsh\.([0-9T]+-[0-9]+-[0-9a-f]+)\.tmp$/.exec(name);
        if (m && !existsSync(path.join(stateRoot, m[1])))
            await fs.rm(path.join(outDir, name), { force: true });
    }
}
//# sourceMappingURL=layer-op.js.map