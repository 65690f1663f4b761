// `push REF [LAYER]`: publishes the built layer set (LAYER's stack, or every layer) as one
// OCI artifact (registry/artifacts.ts).
import path from 'node:path';
import { LAYERS_DIR } from '../engine/session.js';
import { classify, trapInterrupts } from '../process/interrupt.js';
import { Runner } from '../process/run.js';
import { parseCacheReference, Registries } from '../registry/open.js';
import { pushLayerSet } from '../registry/layer-set.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { FailureError } from '../failure.js';
import { loadProject } from '../recipe/load.js';
import { sourceDateEpochFromEnv } from './env.js';
import { formatBytes } from './render.js';
import { transferProgress } from './transfer-progress.js';
export function pushCommand({ program, globals, io, action }) {
    program
        .command('push')
        .description('publish the built layer set (LAYER and the layers below it; all when none named) to an OCI registry')
        .argument('<ref>', 'where to publish: HOST[:PORT]/REPOSITORY[:TAG] (default tag latest)')
        .argument('[layer]', 'the top layer of the stack to publish')
        .option('--compat', 'empty config and annotations, for registries that accept only known config media types (GitLab, Quay)')
        .option('--insecure', 'allow plain HTTP to a registry that is not on this machine')
        .option('--source <url>', 'org.opencontainers.image.source annotation (default: the GitHub Actions repository, when known)')
        .option('--revision <rev>', 'org.opencontainers.image.revision annotation (default: $GITHUB_SHA, when known)')
        .addHelpText('after', `
Examples:
  sqsh-layers push ghcr.io/acme/layers:1.0              every built layer
  sqsh-layers push ghcr.io/acme/layers:server server    server's stack (server, base)
  sqsh-layers push --compat registry.gitlab.com/acme/layers:1.0
  sqsh-layers --dry-run push ghcr.io/acme/layers:1.0    what would be uploaded (look-ups only)

Credentials come from $REGISTRY_AUTH_FILE, then $DOCKER_CONFIG/config.json (or
~/.docker/config.json) with its credHelpers and credsStore: log in with docker login,
podman login or skopeo login. Layers go up base first, each as NAME.sqsh; the manifest's
created time is SOURCE_DATE_EPOCH (or the project's), so the same layers give the same digest.`)
        .action(action(async (refText, layer, o) => {
        const g = globals();
        const ref = parseReference(refText, 'push reference');
        if (ref.digest !== undefined)
            throw new FailureError({ reason: 'usage', message: `push names a tag, not a digest: "${refText}"` });
        // The project file gives the default SOURCE_DATE_EPOCH and the cache repository to mount layers from.
        const loaded = await loadProject(g.dir, { checkInputs: false, cacheDir: g.cache });
        const config = loaded.project?.config;
        const epoch = sourceDateEpochFromEnv(io.env) ?? config?.sourceDateEpoch;
        const env = io.env;
        const source = o.source ?? (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}` : undefined);
        const interrupts = trapInterrupts(io);
        const signal = interrupts.signal;
        const registries = new Registries({
            env,
            runner: new Runner({ log: quietLog, dryRun: false, signal, env }),
            signal,
            insecure: o.insecure === true,
            progress: transferProgress(io.stderr, g.quiet || g.json),
        });
        const repo = registries.repository(ref);
        // A layer already in the cache repository of the same registry is mounted, not uploaded again.
        const cacheRepo = config?.cacheTo ?? config?.cacheFrom;
        const cacheRef = cacheRepo !== undefined ? parseCacheReference(cacheRepo, 'cache-to') : undefined;
        const mountFrom = cacheRef && cacheRef.registry === ref.registry ? cacheRef.repository : undefined;
        const r = await pushLayerSet(repo, ref, path.join(g.dir, LAYERS_DIR), {
            layer,
            compat: o.compat === true,
            mountFrom,
            dryRun: g.dryRun,
            annotations: {
                created: new Date((epoch ?? Math.floor(Date.now() / 1000)) * 1000).toISOString().replace('.000Z', 'Z'),
                source,
                revision: o.revision ?? env.GITHUB_SHA,
            },
        })
            .catch((err) => {
            throw new FailureError(classify(signal, err));
        })
            .finally(() => interrupts.dispose());
        const pinned = formatReference({ ...ref, tag: ref.tag ?? 'latest', digest: r.digest });
        if (g.json) {
            io.stdout.write(`${JSON.stringify({ ok: true, dryRun: g.dryRun, ref: pinned, digest: r.digest, layers: r.layers }, null, 2)}\n`);
            return 0;
        }
        if (!g.quiet) {
            for (const l of r.layers)
                io.stderr.write(`${l.name}.sqsh: ${l.blob}, ${formatBytes(l.size)}, sha256:${l.sha256.slice(0, 12)}\n`);
        }
        io.stdout.write(g.dryRun ? `would push ${r.layers.length} layer(s): ${pinned} (nothing was uploaded)\n` : `pushed ${r.layers.length} layer(s): ${pinned}\n`);
        return 0;
    }));
}
const quietLog = { verbose: () => { }, info: () => { } };
//# sourceMappingURL=push.js.map