// `merge`: consecutive layers squashed into one (layer/merge.ts), packed with the same
// mksquashfs options as a build, written atomically. In --dry-run the same plan is
// described: every mount, copy and the mksquashfs command.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { mergeLayers, rsyncArgv } from '../layer/merge.js';
import { pack, packArgv } from '../layer/pack.js';
import { squashfsMount } from '../mount/ops.js';
import { writeLayer } from './layer-op.js';
/** Mounts each layer by itself, read-only (a directory is used as it is); returns their dirs in the same order. */
export async function mountRaw(s, layers, label) {
    const out = [];
    for (const [i, l] of layers.entries()) {
        if (l.dir !== undefined) {
            out.push({ name: l.name, dir: l.dir });
            continue;
        }
        const op = squashfsMount(l.file, path.join(s.runDir, label, String(i)));
        if (s.dryRun)
            s.report.emit({ type: 'info', text: `+ ${op.describe()}` });
        else
            await s.scope.mount(op);
        out.push({ name: l.name, dir: op.target });
    }
    return out;
}
/** Merges `bottomFirst` (raw layer dirs) and packs the result into the output. */
export async function mergeAndWrite(s, bottomFirst, out, p) {
    const phase = (text) => s.report.emit({ type: 'phase', layer: out.name, text });
    const staging = await s.stagingTmpfs('merge', p.tmpfsSize);
    const tree = path.join(staging, 'tree');
    if (s.dryRun) {
        for (const l of bottomFirst)
            s.report.emit({ type: 'info', text: `+ ${rsyncArgv(l.dir, tree).join(' ')}   (after removing what ${l.name} deletes or replaces)` });
        describePack(s, tree, out, p);
        return {};
    }
    await fs.mkdir(tree, { mode: 0o755 });
    const stats = await mergeLayers({
        bottomFirst,
        into: tree,
        runner: s.runner,
        signal: s.signal,
        onLayer: (l, i) => phase(`applying ${l.name} (${i + 1}/${bottomFirst.length})`),
    });
    const written = await packInto(s, tree, out, { ...p, sourceDateEpoch: p.sourceDateEpoch ?? stats.newestMtime });
    await s.scope.releaseMount(staging);
    return { written, stats };
}
/** Packs a finished tree into the output, atomically. */
export async function packInto(s, tree, out, p) {
    s.report.emit({ type: 'phase', layer: out.name, text: 'packing with mksquashfs' });
    const written = await writeLayer(s, out, (tmp) => pack({
        upper: tree,
        out: tmp,
        squashfs: p.squashfs,
        sourceDateEpoch: p.sourceDateEpoch,
        runner: s.runner,
        onProgress: (percent) => s.report.emit({ type: 'pack-progress', layer: out.name, percent }),
    }));
    const seconds = (Date.now() - s.started) / 1000;
    s.report.emit({ type: 'layer-done', layer: out.name, status: 'built', digest: written.sha256, size: written.size, seconds });
    return written;
}
/** Shows the new layer as a task (a terminal draws its phases and mksquashfs progress under it). */
export function startTask(s, name) {
    if (!s.dryRun)
        s.report.emit({ type: 'layer-start', layer: name, reasons: [] });
}
export function describePack(s, tree, out, p) {
    const file = path.join(out.dir, `${out.name}.sqsh`);
    const tmp = path.join(out.dir, `.${out.name}.sqsh.${s.runId}.tmp`);
    const sde = p.sourceDateEpoch !== undefined ? `SOURCE_DATE_EPOCH=${p.sourceDateEpoch} ` : '';
    s.report.emit({ type: 'info', text: `+ ${sde}${packArgv({ upper: tree, out: tmp, squashfs: p.squashfs }).join(' ')}` });
    s.report.emit({ type: 'info', text: `+ rename ${tmp} → ${file}${out.manifest ? ' (and a manifest.json entry)' : ''}` });
}
//# sourceMappingURL=merge-op.js.map