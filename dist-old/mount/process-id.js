// Processes as this tool recognizes them across runs: a pid with its start time (so a reused
// pid is told apart), read from /proc/PID/stat.
import { promises as fs } from 'node:fs';
/** The fields of a /proc/PID/stat line after the parenthesized command name (state is [0]). */
export function statFields(stat) {
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
/** Field 22 of a /proc/PID/stat line: the start time in clock ticks since boot. */
export function startOf(stat) {
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
//# sourceMappingURL=process-id.js.map