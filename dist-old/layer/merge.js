// Squashes consecutive raw layers into one that stacks on what lies below exactly as they
// did. An overlay of just those layers (the seed's way) shows their merged tree but drops
// every whiteout and opaque mark that acts on the layers BELOW them. Here the raw layers
// (each read through its own read-only loop mount, marks and all) are applied to a staging
// dir bottom-up, as overlayfs would stack them:
//
// - a whiteout removes what the range has at its path and stays (its target may exist
//   below the range), unless a directory above it in the result is opaque;
// - an opaque directory replaces what the range has at its path, and stays opaque;
// - a directory over a whiteout or a non-directory becomes opaque (overlayfs stops looking
//   down there); a directory over an opaque one stays opaque;
// - any other entry replaces what was there (a file re-created over a whiteout is a plain file);
// - a directory's own attributes (mode, owner, times, xattrs) are the topmost layer's.
//
// The data is copied by rsync (-aHAX: hardlinks, ACLs, every xattr namespace, devices,
// fifos, sockets, numeric owners, times); this module decides what goes before it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { checkInterrupted } from '../process/interrupt.js';
import { bytesOf, readNames, shownPath } from './byte-path.js';
import { decideEntry } from './merge-rules.js';
import { isWhiteout, OPAQUE_XATTR, setOpaque, unportableOverlayXattr, xattrValueIs } from './overlay-marks.js';
import { readTreeXattrs } from './xattrs.js';
/** The copy of one layer onto the staging dir: data, attributes, hardlinks and special files. */
export function rsyncArgv(from, to) {
    return ['rsync', '-aHAX', '--numeric-ids', '--ignore-times', `${from}/`, `${to}/`];
}
export async function mergeLayers(m) {
    /** In-layer paths (`/a/b`) of the staging dir's opaque directories. */
    const opaque = new Set();
    const stats = { whiteouts: 0, whiteoutsDropped: 0, opaqueDirs: 0, newestMtime: 0 };
    for (const [i, layer] of m.bottomFirst.entries()) {
        m.onLayer?.(layer, i);
        await applyLayer(m, layer, opaque, stats);
    }
    stats.opaqueDirs = opaque.size;
    stats.whiteouts = await countWhiteouts(m.into, m.signal);
    return stats;
}
async function applyLayer(m, layer, opaque, stats) {
    const src = layer.dir;
    const dst = m.into;
    const opaqueInLayer = new Set();
    const unportable = [];
    for (const [p, attrs] of await readTreeXattrs(m.runner, src)) {
        const rel = p === src ? '' : p.slice(src.length);
        const bad = unportableOverlayXattr(attrs);
        if (bad !== undefined)
            unportable.push(`${shownPath(rel || '/')} (${bad})`);
        else if (xattrValueIs(attrs.get(OPAQUE_XATTR), 'y'))
            opaqueInLayer.add(rel);
    }
    if (unportable.length > 0)
        throw new FailureError({ reason: 'not-portable', paths: unportable.map((p) => `${layer.name}:${p}`) });
    const remove = async (rel) => {
        await fs.rm(bytesOf(dst + rel), { recursive: true, force: true });
        for (const o of opaque)
            if (o === rel || o.startsWith(`${rel}/`))
                opaque.delete(o);
    };
    /** Whiteouts rsync copies that the result does not need; removed after it. */
    const needless = [];
    const visit = async (rel, sealed) => {
        checkInterrupted(m.signal);
        for (const { name } of await readNames(src + (rel || '/'))) {
            const r = `${rel}/${name}`;
            const st = await fs.lstat(bytesOf(src + r));
            stats.newestMtime = Math.max(stats.newestMtime, Math.floor(st.mtimeMs / 1000));
            const below = await fs.lstat(bytesOf(dst + r)).catch(() => undefined);
            const entry = isWhiteout(st) ? 'whiteout' : !st.isDirectory() ? 'other' : opaqueInLayer.has(r) ? 'opaque-dir' : 'dir';
            const result = !below ? 'none' : !below.isDirectory() ? 'other' : opaque.has(r) ? 'opaque-dir' : 'dir';
            const d = decideEntry(entry, result, sealed);
            if (d.removeResult)
                await remove(r);
            if (d.needless)
                needless.push(r);
            if (entry !== 'dir' && entry !== 'opaque-dir')
                continue;
            if (d.opaque)
                opaque.add(r);
            else
                opaque.delete(r);
            await visit(r, d.sealsChildren);
        }
    };
    await visit('', false);
    await m.runner.run(rsyncArgv(src, dst), { tailLines: 10 });
    await dropNeedless(src, dst, needless);
    stats.whiteoutsDropped += needless.length;
    // rsync gave every directory of the layer the layer's xattrs: marks of the result go back on.
    await setOpaque(m.runner, [...opaque].sort().map((r) => dst + r));
}
/** Removes needless whiteouts; their directories keep the times the layer gave them. */
async function dropNeedless(src, dst, rels) {
    const parents = new Set();
    for (const r of rels) {
        await fs.rm(bytesOf(dst + r), { force: true });
        parents.add(path.posix.dirname(r));
    }
    for (const p of parents) {
        const rel = p === '/' ? '' : p;
        const st = await fs.lstat(bytesOf(src + rel));
        await fs.utimes(bytesOf(dst + rel), st.atime, st.mtime);
    }
}
async function countWhiteouts(dir, signal) {
    let n = 0;
    const visit = async (rel) => {
        checkInterrupted(signal);
        for (const e of await readNames(dir + (rel || '/'))) {
            const r = `${rel}/${e.name}`;
            if (e.dir)
                await visit(r);
            else if (isWhiteout(await fs.lstat(bytesOf(dir + r))))
                n++;
        }
    };
    await visit('');
    return n;
}
//# sourceMappingURL=merge.js.map