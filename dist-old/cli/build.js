// `build [LAYER...]`: builds the layers and their ancestors; cached layers cost nothing.
import { build } from '../engine/build.js';
import { openBuildSession, openReadOnlySession } from '../engine/session.js';
import { EXIT, explainFailure } from '../failure.js';
import { whileTrapped } from '../process/interrupt.js';
import { defaultJobs } from './kit.js';
import { openProject } from './project.js';
import { formatBytes, makeReporter } from './render.js';
import { sourceDateEpochFromEnv } from './env.js';
import { sessionOptionsOf } from './remote-cache.js';
export function buildCommand({ program, globals, io, action }) {
    program
        .command('build')
        .description('build the layers and their ancestors (all when none named); cached layers are reused')
        .argument('[layers...]', 'layers to build, with their ancestors')
        .option('--frozen', 'fail (exit 1) if any layer would be rebuilt, explaining why; for CI')
        .option('--cache-from <repo>', 'take layers whose key has an entry in this registry repository (HOST/REPO) instead of building them')
        .option('--cache-to <repo>', 'export every built or cached layer to this registry repository as a cache entry')
        .option('--insecure', 'allow plain HTTP to a registry that is not on this machine')
        .addHelpText('after', `
Examples:
  sqsh-layers build                   build everything that changed
  sqsh-layers build server --force    rebuild server even if cached (children may stay cached)
  sqsh-layers build --frozen          CI: fail if the cache does not cover the recipes
  SOURCE_DATE_EPOCH=1700000000 sqsh-layers build    bit-reproducible layers
  sqsh-layers build --cache-from ghcr.io/acme/layers-cache --cache-to ghcr.io/acme/layers-cache
                                      share the cache through a registry (best effort: a registry
                                      that is down gives one warning and a local build)

Outputs: layers/NAME.sqsh for every layer and layers/manifest.json.`)
        .action(action(async (layers, o) => {
        const g = globals();
        const sourceDateEpoch = sourceDateEpochFromEnv(io.env);
        const { project, graph } = await openProject(g.dir, { checkInputs: true, cacheDir: g.cache, remember: !g.dryRun });
        const report = makeReporter({ out: io.stderr, verbose: g.verbose, quiet: g.quiet || g.json });
        // Reported (main.ts) once the session has undone its mounts.
        const outcomes = await whileTrapped(io, async (signal) => {
            const options = await sessionOptionsOf({ project, graph, report, signal, verbose: g.verbose, env: io.env, envSourceDateEpoch: sourceDateEpoch }, o);
            // --dry-run: no lock, no run dir, no mount, no write; the plan is described instead.
            const session = g.dryRun ? await openReadOnlySession(options) : await openBuildSession(options);
            try {
                return await build(session, {
                    targets: layers,
                    force: g.force,
                    frozen: o.frozen === true,
                    jobs: g.jobs ?? defaultJobs(project.config.jobs),
                });
            }
            finally {
                await session.close();
            }
        });
        return finish(outcomes, g.json, g.dryRun, io);
    }));
}
function finish(outcomes, json, dryRun, io) {
    const failed = outcomes.filter((o) => o.status === 'failed');
    for (const f of failed) {
        if (f.status === 'failed')
            io.stderr.write(`\n${explainFailure(f.failure).text}`);
    }
    for (const s of outcomes) {
        if (s.status === 'skipped' && !dryRun)
            io.stderr.write(`sqsh-layers: ${s.layer} not built: ${s.because}\n`);
    }
    if (json) {
        const layers = outcomes.map((o) => o.status === 'failed'
            ? { name: o.layer, status: o.status, error: explainFailure(o.failure).message }
            : o.status === 'skipped'
                ? { name: o.layer, status: o.status, because: o.because }
                : { name: o.layer, status: o.status, sha256: o.digest, size: o.size, seconds: o.seconds, file: `layers/${o.layer}.sqsh` });
        io.stdout.write(`${JSON.stringify({ ok: failed.length === 0, layers }, null, 2)}\n`);
    }
    else if (failed.length === 0 && !dryRun) {
        const built = outcomes.filter((o) => o.status === 'built').length;
        const total = outcomes.reduce((n, o) => n + ('size' in o ? o.size : 0), 0);
        io.stdout.write(`${outcomes.length} layer(s) ready in layers/ (${built} built, ${outcomes.length - built} cached, ${formatBytes(total)})\n`);
    }
    return failed.length > 0 ? EXIT.failure : EXIT.ok;
}
//# sourceMappingURL=build.js.map