// What inspect, diff, verify and shell share: resolving LAYER arguments, and running the work
// in a stack session whose mounts are undone however it ends (success, failure, SIGINT,
// SIGTERM, SIGHUP), the exit code saying which.
import { projectStack, resolveLayer } from '../engine/layer-ref.js';
import { StackSession } from '../engine/stack-session.js';
import { FailureError } from '../failure.js';
import { classify, trapInterrupts } from '../process/interrupt.js';
import { buildOrder } from '../plan/graph.js';
import { stateRootFromEnv } from './env.js';
import { openProject } from './project.js';
/** Resolves a LAYER argument; the project's recipes are loaded only for a layer name. */
export function layerArgument(arg, g, io) {
    return resolveLayer(arg, io.cwd, async () => {
        const { project, graph } = await openProject(g.dir, { checkInputs: false, cacheDir: g.cache });
        buildOrder(graph, [arg]); // an unknown layer: a usage error with suggestions
        return { dir: project.config.dir, stack: projectStack(graph) };
    });
}
/** A tmpfs size option (`--tmpfs-size`), as tmpfs takes it. */
export function tmpfsSizeOption(value) {
    if (!/^[0-9]+[kKmMgG%]?$/.test(value)) {
        throw new FailureError({ reason: 'usage', message: `--tmpfs-size must be a tmpfs size such as "50%", "2G" or "512M", found "${value}"` });
    }
    return value;
}
/**
 * Runs `work` in a stack session (SIGHUP counts as an interrupt too: a closed terminal). A failure is thrown (main.ts reports it) only once every
 * mount is undone; after an interrupt, whatever happened counts as the interrupt.
 */
export async function inStackSession(g, io, work) {
    const warn = (text) => io.stderr.write(`sqsh-layers: warning: ${text}\n`);
    const interrupts = trapInterrupts(io);
    let result;
    let failed;
    let threw = false;
    try {
        const session = await StackSession.open({
            stateRoot: stateRootFromEnv(io.env),
            project: g.dir,
            signal: interrupts.signal,
            env: io.env,
            log: {
                verbose: (line) => {
                    if (g.verbose)
                        io.stderr.write(`${line}\n`);
                },
                info: (line) => io.stderr.write(`${line}\n`),
            },
            warn,
        });
        try {
            result = await work(session);
        }
        finally {
            await session.close();
        }
    }
    catch (err) {
        threw = true;
        failed = err;
    }
    finally {
        interrupts.dispose();
    }
    const failure = threw ? classify(interrupts.signal, failed) : classify(interrupts.signal);
    if (failure)
        throw new FailureError(failure);
    return result;
}
//# sourceMappingURL=stack-command.js.map