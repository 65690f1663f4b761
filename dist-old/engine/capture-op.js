// `capture`: the first layer from a running system's root, the seed's sqsh-init, without its
// traps. ROOT is bind-mounted read-only and non-recursively (other mounted filesystems: proc,
// sys, dev, run, tmpfs, bind mounts, other disks, are not in it; what shows at their mount
// points is the root filesystem's own directory). A small "mask" layer over it, in a tmpfs,
// holds an empty opaque directory at each mount point and at /tmp and /run, and a whiteout
// for each entry an --exclude glob matches, each directory with the attributes of the one it
// covers; mksquashfs packs the read-only overlay of the two. ROOT is never written to.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { bytesOf, readNames, shownPath } from '../layer/byte-path.js';
import { setOpaque } from '../layer/overlay-marks.js';
import { globToRegExp } from '../layer/root-path.js';
import { restoreXattrs } from '../layer/xattr-restore.js';
import { nulSeparated, readXattrs } from '../layer/xattrs.js';
import { readMounts } from '../mount/mountinfo.js';
import { overlayMount } from '../mount/ops.js';
import { formatArgv } from '../process/argv.js';
import { checkInterrupted } from '../process/interrupt.js';
import { describePack, packInto, startTask } from './merge-op.js';
/** Directories whose contents are never captured (besides mount points). */
const EMPTIED = ['/tmp', '/run'];
function readOnlyBind(source, target) {
    // util-linux's mount makes the bind and remounts it read-only; no --rbind: submounts stay out.
    const argv = ['mount', '--bind', '-o', 'ro', source, target];
    return { target, describe: () => formatArgv(argv), argv: () => [...argv] };
}
/** In-root paths of the mounts below root (not root itself), outermost only. */
export async function mountPointsBelow(root) {
    const prefix = root === '/' ? '/' : `${root}/`;
    const rels = (await readMounts())
        .map((m) => m.target)
        .filter((t) => t !== root && t.startsWith(prefix))
        .map((t) => `/${t.slice(prefix.length)}`);
    return outermost(rels);
}
function outermost(rels) {
    const sorted = [...new Set(rels)].sort();
    return sorted.filter((r) => !sorted.some((o) => o !== r && r.startsWith(`${o}/`)));
}
/** In-root paths of the output file and its temp name when the output directory is inside root. */
async function outputInRoot(root, out, runId) {
    const [r, d] = await Promise.all([fs.realpath(root), fs.realpath(out.dir).catch(() => undefined)]);
    if (d === undefined)
        return [];
    const rel = path.relative(r, d);
    if (rel.startsWith('..') || path.isAbsolute(rel))
        return [];
    const at = rel === '' ? '' : `/${rel}`;
    return [`${at}/${out.name}.sqsh`, `${at}/.${out.name}.sqsh.${runId}.tmp`];
}
export async function captureRoot(s, p) {
    const phase = (text) => s.report.emit({ type: 'phase', layer: p.out.name, text });
    const mounts = await mountPointsBelow(p.root);
    const bind = readOnlyBind(p.root, path.join(s.runDir, 'capture-root'));
    const view = path.join(s.runDir, 'capture-view');
    if (s.dryRun) {
        s.report.emit({ type: 'info', text: `+ ${bind.describe()}` });
        const shown = outermost([...mounts, ...EMPTIED]);
        s.report.emit({ type: 'info', text: `  (left empty: ${shown.map(shownPath).join(', ')}${p.exclude.length ? `; excluded: ${p.exclude.join(', ')}` : ''})` });
        describePack(s, view, p.out, p.pack);
        return {};
    }
    startTask(s, p.out.name);
    await s.scope.mount(bind);
    const staging = await s.stagingTmpfs('capture-mask', '64m');
    const mask = path.join(staging, 'mask');
    const src = bind.target;
    const emptied = [];
    for (const rel of outermost([...mounts, ...EMPTIED])) {
        const st = await fs.lstat(bytesOf(src + rel)).catch(() => undefined);
        if (st?.isDirectory())
            emptied.push(rel);
    }
    const res = p.exclude.map(globToRegExp);
    const excluded = [];
    if (res.length > 0) {
        phase('finding what --exclude matches');
        const skip = new Set(emptied);
        const visit = async (rel) => {
            checkInterrupted(s.signal);
            for (const e of await readNames(src + (rel || '/'))) {
                const r = `${rel}/${e.name}`;
                if (skip.has(r))
                    continue;
                if (res.some((re) => re.test(r)))
                    excluded.push(r);
                else if (e.dir)
                    await visit(r);
            }
        };
        await visit('');
    }
    // The layer being written, when --out is inside ROOT: its temp file grows while mksquashfs
    // reads the view, and must not pack (a part of) itself, nor the older file it replaces.
    const matched = excluded.length;
    for (const rel of await outputInRoot(p.root, p.out, s.runId)) {
        if (!emptied.some((e) => rel.startsWith(`${e}/`)) && !excluded.includes(rel))
            excluded.push(rel);
    }
    // The mask: each directory on the way with the attributes of the one it covers.
    const dirs = new Set(['']);
    for (const rel of [...emptied, ...excluded]) {
        const parts = rel.split('/').filter(Boolean);
        for (let i = 1; i < parts.length; i++)
            dirs.add(`/${parts.slice(0, i).join('/')}`);
    }
    for (const rel of emptied)
        dirs.add(rel);
    const ordered = [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
    for (const rel of ordered)
        await fs.mkdir(bytesOf(mask + rel), { recursive: rel === '', mode: 0o700 });
    if (excluded.length > 0) {
        await s.runner.run(['xargs', '-0', '-r', '-I{}', 'mknod', '{}', 'c', '0', '0'], { input: nulSeparated(excluded.map((r) => mask + r)) });
    }
    const xattrs = await readXattrs(s.runner, ordered.map((r) => src + (r || '/')));
    const withAttrs = [];
    // Deepest first: setting a directory's times after its children are made.
    for (const rel of [...ordered].reverse()) {
        const st = await fs.lstat(bytesOf(src + rel));
        const at = bytesOf(mask + rel);
        await fs.chown(at, st.uid, st.gid);
        await fs.chmod(at, st.mode & 0o7777);
        const attrs = xattrs.get(src + (rel || '/')) ?? xattrs.get(src + rel);
        if (attrs)
            withAttrs.push({ path: mask + rel, attrs });
    }
    await restoreXattrs(s.runner, withAttrs);
    await setOpaque(s.runner, emptied.map((r) => mask + r));
    for (const rel of [...ordered].reverse()) {
        const st = await fs.lstat(bytesOf(src + rel));
        await fs.utimes(bytesOf(mask + rel), st.atime, st.mtime);
    }
    await s.scope.mount(overlayMount({ lowers: [mask, src], options: [], cwd: s.runDir }, view));
    phase(`packing ${p.root}`);
    const written = await packInto(s, view, p.out, p.pack);
    return { written, stats: { emptied, excluded: matched } };
}
//# sourceMappingURL=capture-op.js.map