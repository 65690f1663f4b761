// The per-run state directory (/run/sqsh-layers/RUN-ID/) under which every mount of a run
// lives, and the detection and cleanup of what a killed run left there.
import { randomBytes } from 'node:crypto';
import { appendFileSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { mountsUnder } from './mountinfo.js';
import { unmountAllUnder } from './ops.js';
import { isAlive, self, startOf } from './process-id.js';
import { killChildren } from './reap.js';
const OWNER_FILE = 'owner.json';
const CHILDREN_FILE = 'children';
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
        const killed = await killChildren(dir, CHILDREN_FILE);
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
//# sourceMappingURL=run-state.js.map