// What the merge, commit and capture commands share: the session around their work
// (interrupts trapped, state dir and mounts undone before the exit code is decided), and
// how their result is told: the new file, and the sqsh_layers= line with the one it replaces.
import { openOpSession } from '../engine/layer-op.js';
import { FailureError } from '../failure.js';
import { whileTrapped } from '../process/interrupt.js';
import { findOnPath } from '../process/which.js';
import { stateRootFromEnv } from './env.js';
import { formatBytes, makeReporter } from './render.js';
/** The host tools each command runs (checked before anything is mounted). */
export const OP_TOOLS = {
    merge: ['mount', 'umount', 'mksquashfs', 'rsync', 'getfattr', 'setfattr', 'xargs'],
    commit: ['mount', 'umount', 'mksquashfs', 'rsync', 'getfattr', 'setfattr', 'xargs'],
    capture: ['mount', 'umount', 'mksquashfs', 'getfattr', 'setfattr', 'xargs', 'mknod'],
};
/** Refuses to start when a tool the command runs is not installed: one message naming them all. */
export async function checkTools(command, io) {
    const missing = [];
    for (const t of OP_TOOLS[command])
        if ((await findOnPath(t, io.env.PATH ?? '')) === undefined)
            missing.push(t);
    if (missing.length > 0)
        throw new FailureError({ reason: 'missing-tools', missing: missing.map((tool) => ({ tool, neededFor: [command] })) });
}
export async function withOpSession(g, io, where, fn) {
    const report = makeReporter({ out: io.stderr, verbose: g.verbose, quiet: g.quiet || g.json });
    return whileTrapped(io, async (signal) => {
        const s = await openOpSession({
            report,
            signal,
            verbose: g.verbose,
            dryRun: g.dryRun,
            stateRoot: stateRootFromEnv(io.env),
            env: io.env,
            projectDir: where.projectDir,
            owner: where.owner,
            outDir: where.outDir,
        });
        try {
            return await fn(s);
        }
        finally {
            await s.close();
        }
    });
}
export function printResult(r, g, io) {
    if (g.json) {
        const out = {
            ok: true,
            dryRun: g.dryRun,
            command: r.command,
            layer: { name: r.name, ...(r.written ? { file: r.written.file, sha256: r.written.sha256, size: r.written.size } : {}) },
            ...(r.oldLine !== undefined ? { replaces: r.oldLine } : {}),
            cmdline: r.newLine,
            ...r.details,
            notes: r.notes,
        };
        io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return 0;
    }
    const lines = [];
    if (r.written)
        lines.push(`${r.written.file}: ${formatBytes(r.written.size)}, sha256:${r.written.sha256.slice(0, 12)}`);
    else
        lines.push(`dry run: ${r.name}.sqsh would be written`);
    if (r.oldLine !== undefined)
        lines.push(`replaces: ${r.oldLine}`);
    lines.push(`new:      ${r.newLine}`);
    for (const n of r.notes)
        lines.push(`note: ${n}`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
}
//# sourceMappingURL=layer-op-command.js.map