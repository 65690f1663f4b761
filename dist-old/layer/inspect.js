// What a layer does to the stack below it, read from its (mounted, read-only) tree and a view
// of its lowers: entries it adds, changes, deletes (whiteouts) and makes opaque, with sizes,
// and the space it wastes (entries identical to what the lowers show; lower files it hides).
// Names are bytes (byte-path.ts); they are reported with shownPath (\xNN for other bytes).
// squashfs-tools' listing (unsquashfs -lln) would do without a mount, but it shows neither
// xattrs (the opaque markers) nor names with a newline unambiguously.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkInterrupted } from '../process/interrupt.js';
import { bytesOf, readLinkName, readNames, shownPath } from './byte-path.js';
import { equalFiles } from './prune.js';
import { readTreeXattrs } from './xattrs.js';
const BIGGEST = 10;
export function typeOf(st) {
    if (st.isDirectory())
        return 'dir';
    if (st.isFile())
        return 'file';
    if (st.isSymbolicLink())
        return 'symlink';
    if (st.isCharacterDevice())
        return st.rdev === 0 ? 'whiteout' : 'char';
    if (st.isBlockDevice())
        return 'block';
    if (st.isFIFO())
        return 'fifo';
    return 'socket';
}
/** Bytes of data of an entry: a file's size, a symlink's target length, nothing for the rest. */
export function dataSize(st) {
    return st.isFile() || st.isSymbolicLink() ? st.size : 0;
}
/** Files (non-directories) and their bytes at and below `p`. */
export async function treeSize(p, signal) {
    checkInterrupted(signal);
    const st = await fs.lstat(bytesOf(p));
    if (!st.isDirectory())
        return { count: 1, bytes: dataSize(st) };
    let count = 0;
    let bytes = 0;
    for (const e of await readNames(p)) {
        const sub = await treeSize(path.join(p, e.name), signal);
        count += sub.count;
        bytes += sub.bytes;
    }
    return { count, bytes };
}
export function isOpaque(xattrs, hostPath) {
    const v = xattrs.get(hostPath)?.get('trusted.overlay.opaque');
    // getfattr -e hex: "y" is 0x79.
    return v === '0x79';
}
/** Inspects the layer mounted at `layer` over the lowers' view `lowerView` (none for a layer on an empty root). */
export async function inspectLayer(layer, lowerView, runner, signal) {
    const xattrs = await readTreeXattrs(runner, layer);
    const entries = [];
    const identical = { count: 0, bytes: 0, paths: [] };
    const shadowed = { count: 0, bytes: 0 };
    const hide = async (lowerPath) => {
        const t = await treeSize(lowerPath, signal);
        shadowed.count += t.count;
        shadowed.bytes += t.bytes;
        return t;
    };
    const visit = async (rel, lowersSeen) => {
        for (const { name } of await readNames(path.join(layer, rel))) {
            checkInterrupted(signal);
            const childRel = rel === '' ? name : `${rel}/${name}`;
            const here = path.join(layer, childRel);
            const shown = shownPath(`/${childRel}`);
            const st = await fs.lstat(bytesOf(here));
            const lowerPath = lowerView !== undefined && lowersSeen ? path.join(lowerView, childRel) : undefined;
            const lower = lowerPath !== undefined ? await fs.lstat(bytesOf(lowerPath)).catch(() => undefined) : undefined;
            const type = typeOf(st);
            if (type === 'whiteout') {
                const gone = lower ? await hide(lowerPath) : { bytes: 0 };
                entries.push({ path: shown, change: 'deleted', type: lower ? typeOf(lower) : 'whiteout', size: gone.bytes });
                continue;
            }
            if (type === 'dir' && isOpaque(xattrs, here)) {
                if (lower)
                    await hide(lowerPath);
                entries.push({ path: shown, change: 'opaque', type, size: 0 });
                await visit(childRel, false); // what it holds is new: the lowers' dir is hidden
                continue;
            }
            if (!lower) {
                entries.push({ path: shown, change: 'added', type, size: dataSize(st) });
                if (type === 'dir')
                    await visit(childRel, false);
                continue;
            }
            if (type === 'dir' && lower.isDirectory()) {
                // A directory the lowers have: listed only when its mode or owner changes, else it only holds changes.
                if (st.mode !== lower.mode || st.uid !== lower.uid || st.gid !== lower.gid)
                    entries.push({ path: shown, change: 'changed', type, size: 0 });
                await visit(childRel, true);
                continue;
            }
            await hide(lowerPath);
            entries.push({ path: shown, change: 'changed', type, size: dataSize(st) });
            if (type === 'dir')
                await visit(childRel, false);
            else if (await sameEntry(here, st, lowerPath, lower)) {
                identical.count++;
                identical.bytes += dataSize(st);
                identical.paths.push(shown);
            }
        }
    };
    await visit('', lowerView !== undefined);
    return { entries, summary: summarize(entries, identical, shadowed) };
}
/** Same type, mode, owner and content (mtime aside: a rebuilt identical file still wastes its bytes). */
export async function sameEntry(a, sa, b, sb) {
    if (typeOf(sa) !== typeOf(sb) || sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid)
        return false;
    return sameContent(a, sa, b, sb);
}
/** Same content for entries of one type: bytes of a file, target of a symlink, device number. */
export async function sameContent(a, sa, b, sb) {
    if (sa.isSymbolicLink())
        return (await readLinkName(a)) === (await readLinkName(b));
    if (sa.isFile())
        return sa.size === sb.size && equalFiles(a, b, sa.size);
    if (sa.isCharacterDevice() || sa.isBlockDevice())
        return sa.rdev === sb.rdev;
    return true;
}
function summarize(entries, identical, shadowed) {
    const count = (c) => entries.filter((e) => e.change === c).length;
    const grown = entries.filter((e) => e.change === 'added' || e.change === 'changed');
    const biggest = grown
        .filter((e) => e.size > 0)
        .sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1))
        .slice(0, BIGGEST)
        .map((e) => ({ path: e.path, size: e.size }));
    return {
        entries: entries.length,
        added: count('added'),
        changed: count('changed'),
        deleted: count('deleted'),
        opaque: count('opaque'),
        bytes: grown.reduce((n, e) => n + e.size, 0),
        biggest,
        wasted: { identical, shadowed },
    };
}
//# sourceMappingURL=inspect.js.map