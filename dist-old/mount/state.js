// The per-run state directory (/run/sqsh-layers/RUN-ID/) under which every mount of a run
// lives, the detection and cleanup of what a killed run left, and the project lock.
import { randomBytes } from 'node:crypto';
import { appendFileSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { mountsUnder } from './mountinfo.js';
import { unmountAllUnder } from './ops.js';
export const DEFAULT_STATE_ROOT = '/run/sqsh-layers';
const OWNER_FILE = 'owner.json';
const CHILDREN_FILE = 'children';
/** The fields of a /proc/PID/stat line after the parenthesized command name (state is [0]). */
function statFields(stat) {
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
/** Field 22 of a /proc/PID/stat line: the start time in clock ticks since boot. */
function startOf(stat) {
    return Number(statFields(stat)[19]);
}
export async function processStart(pid) {
    try {
        return startOf(await fs.readFile(`/proc/${pid}/stat`, 'utf8'));
    }
    catch {
        return undefined;
    }
}
export async function isAlive(p) {
    return (await processStart(p.pid)) === p.start;
}
/**
 * Whether a process with this pid runs (a zombie does not). Without a start time to compare,
 * a reused pid also answers yes: enough to keep a writer's files, never to kill or clean.
 */
export async function pidAlive(pid) {
    try {
        return statFields(await fs.readFile(`/proc/${pid}/stat`, 'utf8'))[0] !== 'Z';
    }
    catch {
        return false;
    }
}
export async function self() {
    return { pid: process.pid, start: (await processStart(process.pid)) ?? 0 };
}
/** The state directory root must say what it is, so leftovers are recognizable. */
export function checkStateRoot(root) {
    if (!root.includes('sqsh-layers')) {
        throw new Error(`the state directory must have "sqsh-layers" in its path, found ${root}`);
    }
}
export class RunState {
    id;
    dir;
    constructor(id, dir) {
        this.id = id;
        this.dir = dir;
    }
    static async create(root, project) {
        checkStateRoot(root);
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
        const id = `${stamp}-${process.pid}-${randomBytes(3).toString('hex')}`;
        const dir = path.join(root, id);
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        await fs.writeFile(path.join(dir, OWNER_FILE), JSON.stringify({ ...(await self()), project }) + '\n');
        return new RunState(id, dir);
    }
    /** Remembers a started process group, so that a run killed with SIGKILL can be cleaned up. */
    recordChild(pid) {
        // Synchronous: the record is on disk before the command gets far, so a SIGKILL right
        // after the spawn cannot leave an unrecorded process group behind.
        try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            appendFileSync(path.join(this.dir, CHILDREN_FILE), `${pid} ${startOf(stat)}\n`);
        }
        catch {
            // the process is already gone
        }
    }
    /** Removes the state directory; refuses while anything is still mounted below it. */
    async dispose() {
        const left = await mountsUnder(this.dir);
        if (left.length > 0)
            throw new Error(`still mounted under ${this.dir}: ${left.map((m) => m.target).join(', ')}`);
        await fs.rm(this.dir, { recursive: true, force: true });
    }
}
/**
 * Cleans the state of runs whose process is gone (killed with SIGKILL, or a crashed host):
 * kills the process groups they started, unmounts everything below their directory, removes it.
 */
export async function cleanLeftovers(root, runner, warn) {
    checkStateRoot(root);
    let entries;
    try {
        entries = await fs.readdir(root);
    }
    catch {
        return [];
    }
    const reports = [];
    for (const id of entries.sort()) {
        const dir = path.join(root, id);
        const owner = await readOwner(dir);
        if (owner && (await isAlive(owner)))
            continue;
        if (!owner && (await recentlyCreated(dir)))
            continue; // a run that is still writing its owner file
        const killed = await killChildren(dir);
        const mounts = await unmountAllUnder(runner, dir, warn);
        if ((await mountsUnder(dir)).length === 0)
            await fs.rm(dir, { recursive: true, force: true });
        else
            warn(`could not unmount everything under ${dir}; leaving it`);
        reports.push({ runId: id, project: owner?.project, mounts, killed });
    }
    return reports;
}
async function readOwner(dir) {
    try {
        return JSON.parse(await fs.readFile(path.join(dir, OWNER_FILE), 'utf8'));
    }
    catch {
        return undefined;
    }
}
async function recentlyCreated(dir) {
    const st = await fs.stat(dir).catch(() => undefined);
    return st !== undefined && Date.now() - st.mtimeMs < 5000;
}
async function processTable() {
    const out = [];
    for (const name of await fs.readdir('/proc').catch(() => [])) {
        if (!/^\d+$/.test(name))
            continue;
        try {
            const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8');
            const f = statFields(stat);
            out.push({ pid: Number(name), pgid: Number(f[2]), start: startOf(stat), zombie: f[0] === 'Z' });
        }
        catch {
            // gone meanwhile
        }
    }
    return out;
}
/**
 * Kills the process groups a dead run started (each command is a group leader). A group whose
 * leader is still there (same start time) goes as a whole. A group whose leader has ended may
 * still hold processes it left behind: its id cannot be reused while they live, so members
 * started after the leader are the run's too.
 */
async function killChildren(dir) {
    const text = await fs.readFile(path.join(dir, CHILDREN_FILE), 'utf8').catch(() => '');
    const recorded = [];
    for (const line of text.split('\n')) {
        const [pid, start] = line.split(' ').map(Number);
        if (pid && start !== undefined && !Number.isNaN(start))
            recorded.push({ pid, start });
    }
    if (recorded.length === 0)
        return 0;
    const table = await processTable();
    let killed = 0;
    for (const r of recorded) {
        const leader = table.find((p) => p.pid === r.pid);
        if (leader && leader.start !== r.start)
            continue; // the pid is another process's now
        const members = table.filter((p) => p.pgid === r.pid && p.start >= r.start);
        if (!members.some((p) => !p.zombie))
            continue;
        try {
            process.kill(-r.pid, 'SIGKILL');
        }
        catch {
            for (const m of members) {
                try {
                    process.kill(m.pid, 'SIGKILL');
                }
                catch {
                    // gone meanwhile
                }
            }
        }
        killed++;
    }
    if (killed > 0)
        await new Promise((r) => setTimeout(r, 200));
    return killed;
}
export class LockedError extends Error {
}
async function readHolder(file) {
    try {
        const h = JSON.parse(await fs.readFile(file, 'utf8'));
        return typeof h.pid === 'number' && typeof h.start === 'number' ? h : undefined;
    }
    catch {
        return undefined;
    }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/**
 * One run at a time per project: a lock file naming its holder. It appears complete (written
 * under a temp name, then hardlinked into place, which fails if it exists), so a reader never
 * mistakes a lock being written for a broken one.
 */
export class ProjectLock {
    file;
    me;
    constructor(file, me) {
        this.file = file;
        this.me = me;
    }
    static async acquire(file, runId) {
        const me = await self();
        const tmp = `${file}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
        await fs.writeFile(tmp, JSON.stringify({ ...me, runId, since: new Date().toISOString() }) + '\n');
        try {
            for (let attempt = 0; attempt < 3; attempt++) {
                try {
                    await placeExclusive(tmp, file);
                    return new ProjectLock(file, me);
                }
                catch (err) {
                    if (err.code !== 'EEXIST')
                        throw err;
                }
                const holder = await readHolder(file);
                if (holder && (await isAlive(holder)))
                    throw lockedBy(holder);
                await breakStaleLock(file);
            }
        }
        finally {
            await fs.rm(tmp, { force: true });
        }
        throw new LockedError(`could not take the project lock ${file}`);
    }
    /** Removes the lock if it is still this run's. */
    async release() {
        const holder = await readHolder(this.file);
        if (holder && (holder.pid !== this.me.pid || holder.start !== this.me.start))
            return;
        await fs.rm(this.file, { force: true });
    }
}
/** Puts `tmp`'s content at `file` unless it exists (EEXIST); a filesystem without hardlinks gets an exclusive create. */
async function placeExclusive(tmp, file) {
    try {
        await fs.link(tmp, file);
    }
    catch (err) {
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes(err.code ?? ''))
            throw err;
        await fs.writeFile(file, await fs.readFile(tmp), { flag: 'wx' });
    }
}
function lockedBy(holder) {
    return new LockedError(`another sqsh-layers run (pid ${holder.pid}, since ${holder.since ?? '?'}) is working on this project; wait for it to finish`);
}
/**
 * Removes a lock whose holder is gone. Two runs may find the same stale lock; each looks
 * again under a short-lived second lock (`LOCK.break`) before removing, so neither can
 * remove the fresh lock the other has taken meanwhile.
 */
async function breakStaleLock(file) {
    const breaker = `${file}.break`;
    for (let waited = 0;; waited += 20) {
        try {
            await fs.writeFile(breaker, `${process.pid}\n`, { flag: 'wx' });
            break;
        }
        catch (err) {
            if (err.code !== 'EEXIST')
                throw err;
        }
        // Held for milliseconds; one that stays was left by a run killed while breaking.
        const st = await fs.stat(breaker).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > 5000)
            await fs.rm(breaker, { force: true });
        if (waited > 10_000)
            throw new LockedError(`could not take the project lock ${file} (${breaker} stays)`);
        await sleep(20);
    }
    try {
        const holder = await readHolder(file);
        if (holder && (await isAlive(holder)))
            throw lockedBy(holder);
        await fs.rm(file, { force: true });
    }
    finally {
        await fs.rm(breaker, { force: true });
    }
}
//# sourceMappingURL=state.js.map