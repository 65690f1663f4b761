// `pull REF`: fetches a published layer set into layers/ with its manifest.json. Every blob
// is verified by digest; a mismatch refuses the whole set and writes nothing.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { LAYERS_DIR, LOCK_FILE } from '../engine/session.js';
import { ProjectLock } from '../mount/project-lock.js';
import { classify, trapInterrupts } from '../process/interrupt.js';
import { Runner } from '../process/run.js';
import { Registries } from '../registry/open.js';
import { pullLayerSet } from '../registry/layer-set.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { formatBytes } from './render.js';
import { transferProgress } from './transfer-progress.js';
export function pullCommand({ program, globals, io, action }) {
    program
        .command('pull')
        .description('fetch a published layer set into layers/ (with manifest.json), every blob verified by digest')
        .argument('<ref>', 'HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST] (default tag latest)')
        .option('--insecure', 'allow plain HTTP to a registry that is not on this machine')
        .addHelpText('after', `
Examples:
  sqsh-layers pull ghcr.io/acme/layers:1.0
  sqsh-layers -C /srv/vm-layers pull ghcr.io/acme/layers@sha256:0123...   pinned by digest
  sqsh-layers --dry-run pull ghcr.io/acme/layers:1.0     check the set, download nothing

Layers already in layers/ with the right bytes are kept; any blob that does not match its
digest refuses the whole set, and layers/ is left as it was.`)
        .action(action(async (refText, o) => {
        const g = globals();
        const ref = parseReference(refText, 'pull reference');
        const env = io.env;
        const interrupts = trapInterrupts(io);
        const signal = interrupts.signal;
        const registries = new Registries({
            env,
            runner: new Runner({ log: quietLog, dryRun: false, signal, env }),
            signal,
            insecure: o.insecure === true,
            progress: transferProgress(io.stderr, g.quiet || g.json),
        });
        const runId = `pull-${process.pid}-${randomBytes(3).toString('hex')}`;
        // layers/ is written by one run at a time: a build of the same project waits its turn
        // (--dry-run writes nothing and takes no lock).
        const lock = g.dryRun ? undefined : await ProjectLock.acquire(path.join(g.dir, LOCK_FILE), runId);
        let r;
        try {
            r = await pullLayerSet(registries.repository(ref), ref, path.join(g.dir, LAYERS_DIR), runId, { dryRun: g.dryRun });
        }
        catch (err) {
            throw new FailureError(classify(signal, err));
        }
        finally {
            await lock?.release();
            interrupts.dispose();
        }
        const pinned = formatReference({ ...ref, tag: ref.tag ?? (ref.digest ? undefined : 'latest'), digest: r.digest });
        if (g.json) {
            const layers = r.layers.map((l) => ({ ...l, file: `${LAYERS_DIR}/${l.name}.sqsh` }));
            io.stdout.write(`${JSON.stringify({ ok: true, dryRun: g.dryRun, ref: pinned, digest: r.digest, layers, sqshLayers: r.sqshLayers }, null, 2)}\n`);
            return 0;
        }
        if (!g.quiet) {
            const did = (l) => (l.downloaded ? (g.dryRun ? 'would download' : 'downloaded') : 'up to date');
            for (const l of r.layers)
                io.stderr.write(`${l.name}.sqsh: ${did(l)}, ${formatBytes(l.size)}, sha256:${l.sha256.slice(0, 12)}\n`);
        }
        const what = g.dryRun ? `would pull ${r.layers.length} layer(s) (nothing was written)` : `pulled ${r.layers.length} layer(s)`;
        io.stdout.write(`${what} into ${LAYERS_DIR}/ from ${pinned}\n${r.sqshLayers.join('\n')}\n`);
        return 0;
    }));
}
const quietLog = { verbose: () => { }, info: () => { } };
//# sourceMappingURL=pull.js.map