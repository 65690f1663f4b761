// For commands that use built layers (layerdev, boot): builds the named layers with their
// ancestors as `build` does (cached layers cost nothing), then hands the build session and
// the layers to the command's own work. The session (project lock, run state dir, cleanup
// of killed runs, interrupt handling) lasts until that work is done.
import { sessionOptionsOf } from './remote-cache.js';
import { build } from '../engine/build.js';
import { openBuildSession } from '../engine/session.js';
import { FailureError } from '../failure.js';
import { buildOrder } from '../plan/graph.js';
import { whileTrapped } from '../process/interrupt.js';
import { sourceDateEpochFromEnv } from './env.js';
import { defaultJobs } from './kit.js';
import { openProject } from './project.js';
import { makeReporter } from './render.js';
/** Builds `targets` (all layers when empty), then runs `work`; a failed layer build is exit 1 before `work`. */
export async function withBuiltLayers(g, io, targets, work) {
    if (g.dryRun)
        throw new FailureError({ reason: 'usage', message: '--dry-run is not supported by this command; "sqsh-layers build --dry-run" shows what would be built' });
    const envEpoch = sourceDateEpochFromEnv(io.env);
    const { project, graph } = await openProject(g.dir, { checkInputs: true, cacheDir: g.cache, remember: true });
    buildOrder(graph, targets); // unknown layer → usage error with suggestions, before any lock
    const report = makeReporter({ out: io.stderr, verbose: g.verbose, quiet: g.quiet || g.json });
    // Reported (main.ts) once the session has undone its mounts.
    return whileTrapped(io, async (signal) => {
        // cache-from / cache-to of sqsh-layers.yaml serve these builds too.
        const session = await openBuildSession(await sessionOptionsOf({ project, graph, report, signal, verbose: g.verbose, env: io.env, envSourceDateEpoch: envEpoch }, {}));
        try {
            const outcomes = await build(session, { targets, force: g.force, frozen: false, jobs: g.jobs ?? defaultJobs(project.config.jobs) });
            const failed = outcomes.filter((o) => o.status === 'failed' || o.status === 'skipped');
            if (failed.length > 0)
                throw new FailureError(buildFailure(failed));
            return await work({
                session,
                project,
                graph,
                layers: layerFiles(outcomes),
                sourceDateEpoch: envEpoch ?? project.config.sourceDateEpoch,
            });
        }
        finally {
            await session.close();
        }
    });
}
function layerFiles(outcomes) {
    const out = new Map();
    for (const o of outcomes) {
        if (o.status === 'built' || o.status === 'cached')
            out.set(o.layer, { name: o.layer, file: o.blob, size: o.size, sha256: o.digest });
    }
    return out;
}
/** The failure of the first failed layer (others are skipped because of it), as is. */
function buildFailure(failed) {
    const first = failed.find((o) => o.status === 'failed');
    if (first?.status === 'failed')
        return first.failure;
    throw new Error(`bug: layers skipped without a failure: ${failed.map((o) => o.layer).join(', ')}`);
}
//# sourceMappingURL=built-stack.js.map