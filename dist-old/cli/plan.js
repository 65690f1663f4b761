// `plan [LAYER...]`: the build order, each layer's stack, and whether it is cached or stale
// and exactly why. Builds and mounts nothing.
import { describeReason } from '../cache/explain.js';
import { layerStatuses } from '../engine/status.js';
import { openReadOnlySession } from '../engine/session.js';
import { readManifest } from '../layer/manifest.js';
import { branches, buildOrder, stackOf } from '../plan/graph.js';
import { clockWarning } from '../plan/reproducible.js';
import { openProject } from './project.js';
import { formatBytes, makeReporter } from './render.js';
import { sourceDateEpochFromEnv } from './env.js';
import { sessionOptionsOf } from './remote-cache.js';
export function planCommand({ program, globals, io, action }) {
    program
        .command('plan')
        .description('show the build order and, for each layer, whether it is cached or must be rebuilt and why')
        .argument('[layers...]', 'layers to plan (with their ancestors); all when none named')
        .option('--cache-from <repo>', 'also say which layers this registry repository (HOST/REPO) would serve')
        .option('--insecure', 'allow plain HTTP to a registry that is not on this machine')
        .addHelpText('after', `
Examples:
  sqsh-layers plan
  sqsh-layers plan config --json
  sqsh-layers plan --cache-from ghcr.io/acme/layers-cache    what the remote cache would serve`)
        .action(action(async (layers, o) => {
        const g = globals();
        const { project, graph } = await openProject(g.dir, { checkInputs: true, cacheDir: g.cache });
        const order = buildOrder(graph, layers);
        // Read-only: nothing is locked, mounted or written (not even the stat cache).
        const report = makeReporter({ out: io.stderr, verbose: g.verbose, quiet: g.quiet || g.json });
        const s = await openReadOnlySession(await sessionOptionsOf({ project, graph, report, signal: new AbortController().signal, verbose: g.verbose, env: io.env, envSourceDateEpoch: sourceDateEpochFromEnv(io.env) }, o));
        const manifest = await readManifest(s.layersDir);
        const forced = new Set(g.force ? (layers.length > 0 ? layers : order) : []);
        const statuses = await layerStatuses(s.keys, s.store, graph, order, manifest, forced);
        const clock = clockWarning(order.map((n) => graph.recipes.get(n)), s.keys.sourceDateEpoch);
        if (clock)
            s.report.emit({ type: 'warning', text: clock });
        await s.close();
        const groups = branches(graph, order);
        const targets = layers.length > 0 ? [...new Set(layers)] : order.filter((n) => (graph.children.get(n) ?? []).length === 0);
        if (g.json) {
            io.stdout.write(`${JSON.stringify({
                order,
                branches: groups,
                layers: statuses.map((st) => ({
                    name: st.layer,
                    parent: graph.recipes.get(st.layer).parent ?? null,
                    stack: stackOf(graph, st.layer),
                    state: st.state,
                    ...(st.state === 'cached'
                        ? { sha256: st.digest, size: st.size, ...(st.remote !== undefined ? { remote: st.remote } : {}) }
                        : { reasons: st.reasons.map((r) => ({ ...r, text: describeReason(r) })) }),
                })),
            }, null, 2)}\n`);
            return 0;
        }
        io.stdout.write(renderPlan(statuses, order.length, groups, targets.map((t) => stackOf(graph, t))));
        return 0;
    }));
}
export function renderPlan(statuses, count, groups, stacks) {
    const width = Math.max(...statuses.map((s) => s.layer.length));
    const stale = statuses.filter((s) => s.state === 'stale').length;
    const lines = [`${count} layer${count === 1 ? '' : 's'} in build order, ${stale === 0 ? 'all cached' : `${stale} to build`}:`];
    for (const s of statuses) {
        const name = s.layer.padEnd(width);
        if (s.state === 'cached') {
            const where = s.remote !== undefined ? `  (remote cache ${s.remote})` : '';
            lines.push(`  ${name}  cached  sha256:${s.digest.slice(0, 12)}  ${formatBytes(s.size)}${where}`);
        }
        else
            lines.push(`  ${name}  build   ${s.reasons.map(describeReason).join('; ')}`);
    }
    if (groups.length > 1) {
        lines.push(`independent branches (built at the same time): ${groups.map((b) => b.join(' → ')).join(' | ')}`);
    }
    lines.push('stacks (top to bottom):');
    for (const st of stacks)
        lines.push(`  sqsh_layers=${st.join(':')}`);
    return `${lines.join('\n')}\n`;
}
//# sourceMappingURL=plan.js.map