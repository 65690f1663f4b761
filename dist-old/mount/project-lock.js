// One run at a time per project: the lock file, its holder, and breaking a stale one.
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { FailureError } from '../failure.js';
import { isAlive, self } from './process-id.js';
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
                    throw lockedBy(file, holder);
                await breakStaleLock(file);
            }
        }
        finally {
            await fs.rm(tmp, { force: true });
        }
        throw new FailureError({ reason: 'locked', lockFile: file });
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
function lockedBy(file, holder) {
    return new FailureError({ reason: 'locked', lockFile: file, holder: { pid: holder.pid, since: holder.since } });
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
            throw new FailureError({ reason: 'locked', lockFile: file, breaker });
        await sleep(20);
    }
    try {
        const holder = await readHolder(file);
        if (holder && (await isAlive(holder)))
            throw lockedBy(file, holder);
        await fs.rm(file, { force: true });
    }
    finally {
        await fs.rm(breaker, { force: true });
    }
}
//# sourceMappingURL=project-lock.js.map