// Reaping what a dead run left running: the process groups it recorded (see RunState), and
// what they left behind.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { startOf, statFields } from './process-id.js';
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
function killQuietly(pid) {
    try {
        process.kill(pid, 'SIGKILL');
    }
    catch {
        // gone meanwhile
    }
}
export async function killChildren(dir, childrenFile) {
    const text = await fs.readFile(path.join(dir, childrenFile), 'utf8').catch(() => '');
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
        if (leader && leader.pgid !== r.pid) {
            // A command kept in the tool's own process group (an interactive console: it needs the
            // terminal) leads no group: it goes by itself.
            if (!leader.zombie)
                killQuietly(leader.pid);
            killed++;
            continue;
        }
        const members = table.filter((p) => p.pgid === r.pid && p.start >= r.start);
        if (!members.some((p) => !p.zombie))
            continue;
        try {
            process.kill(-r.pid, 'SIGKILL');
        }
        catch {
            for (const m of members)
                killQuietly(m.pid);
        }
        killed++;
    }
    if (killed > 0)
        await new Promise((r) => setTimeout(r, 200));
    return killed;
}
//# sourceMappingURL=reap.js.map