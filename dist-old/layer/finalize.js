// Turns a build's upper dir into a portable layer, after the overlay is unmounted:
// `exclude` applied, entries identical to the lowers pruned, then non-portable overlay xattrs
// stripped (opaque kept) and redirect/metacopy refused. Pruning first means the xattrs of a
// full image restored over its parent are looked at once, not stripped from thousands of
// entries that then go anyway (pruning ignores overlay-private xattrs, and keeps what holds a
// redirect or metacopy, so the refusal still sees it). A bottom layer made without `host`
// steps is not walked for xattrs: nothing there could set trusted.* (layer-plan.ts).
import { lstatSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { breather, checkInterrupted } from '../process/interrupt.js';
import { bytesOf, readNames, readNamesSync, shownPath } from './byte-path.js';
import { globToRegExp } from './root-path.js';
import { pruneIdentical } from './prune.js';
import { removeXattrOf, xattrNamesOf, xattrsOf } from './native-xattrs.js';
export async function finalizeUpper(f) {
    const stats = { strippedXattrs: 0, excluded: 0, pruned: { files: 0, dirs: 0, bytes: 0 } };
    stats.excluded = await applyExclude(f.upper, f.exclude, f.signal);
    if (f.clockSince !== undefined) {
        const times = await newestTimeBefore(f.upper, f.clockSince, f.signal);
        stats.contentEpoch = times.newest;
        // Pruning after it removes entries and puts back a kept directory's times as they were.
        stats.unsettled = times.unsettled;
    }
    const sourceDateEpoch = f.sourceDateEpoch ?? stats.contentEpoch;
    if (f.lowerView && (f.pruneIdentical || f.touchedDirs.size > 0)) {
        stats.pruned = await pruneIdentical({
            upper: f.upper,
            lowerView: f.lowerView,
            onlyDirs: f.pruneIdentical ? undefined : f.touchedDirs,
            sourceDateEpoch,
            runner: f.runner,
            signal: f.signal,
        });
    }
    if (f.stripXattrs) {
        const walk = await stripOverlayXattrs(f.upper, f.runner, f.signal);
        if (walk.forbidden.length > 0)
            throw new FailureError({ reason: 'not-portable', paths: walk.forbidden });
        stats.strippedXattrs = walk.stripped;
    }
    return stats;
}
/** At most this many unsettled entries are listed (FinalizeStats.unsettled). */
const UNSETTLED_LISTED = 4096;
/**
 * Whole seconds: the newest mtime in the upper older than `clockSince` (0 when none), i.e.
 * the newest time the inputs brought; and the entries whose mtime is not yet what the pack
 * will record (whole seconds, older than `clockSince` so at most that newest one, within
 * squashfs's unsigned 32 bits), while they are few. One sorted walk, metadata only.
 */
async function newestTimeBefore(upper, clockSince, signal) {
    let newest = 0;
    let unsettled = [];
    const pause = breather(signal);
    const visit = async (p, isDir) => {
        await pause();
        const ns = lstatSync(bytesOf(p), { bigint: true }).mtimeNs;
        const before = Number(ns / 1000000n) < clockSince;
        if (before)
            newest = Math.max(newest, Number(floorSeconds(ns)));
        if (unsettled && !(before && packedSeconds(ns, undefined) * NS === ns)) {
            unsettled.push(p);
            if (unsettled.length > UNSETTLED_LISTED)
                unsettled = undefined;
        }
        if (!isDir)
            return;
        checkInterrupted(signal);
        for (const e of readNamesSync(p))
            await visit(path.join(p, e.name), e.dir);
    };
    await visit(upper, true);
    return { newest, unsettled };
}
const NS = 1000000000n;
/** Whole seconds of a time in ns, rounded down (also before 1970). */
function floorSeconds(ns) {
    const sec = ns / NS;
    return sec * NS > ns ? sec - 1n : sec;
}
/** The mtime a pack records for one of `ns`: whole seconds, clamped to `epoch`, in squashfs's unsigned 32 bits. */
export function packedSeconds(ns, epoch) {
    let sec = floorSeconds(ns);
    if (epoch !== undefined && sec > BigInt(epoch))
        sec = BigInt(epoch);
    return ((sec % 2n ** 32n) + 2n ** 32n) % 2n ** 32n;
}
/**
 * One sorted walk of the upper, in process: strips the non-portable overlay xattrs (opaque=y
 * stays) and finds redirect/metacopy. Names first: only an opaque marker's value is read.
 * Memory holds one directory's names per level, whatever the number of entries.
 */
async function stripOverlayXattrs(upper, runner, signal) {
    const out = { stripped: 0, forbidden: [] };
    const pause = breather(signal);
    const visit = async (p, isDir) => {
        await pause();
        for (const name of await xattrNamesOf(runner, p)) {
            if (!name.startsWith('trusted.overlay.'))
                continue;
            if (name === 'trusted.overlay.redirect' || name === 'trusted.overlay.metacopy') {
                out.forbidden.push(shownPath('/' + path.relative(upper, p)));
            }
            else if (!(name === 'trusted.overlay.opaque' && hexIs((await xattrsOf(runner, p)).get(name), 'y'))) {
                // Hardlinks share their xattrs: the first name of an inode strips them for all.
                if (await removeXattrOf(runner, p, name))
                    out.stripped++;
            }
        }
        if (!isDir)
            return;
        checkInterrupted(signal);
        for (const e of readNamesSync(p))
            await visit(path.join(p, e.name), e.dir);
    };
    await visit(upper, true);
    return out;
}
function hexIs(value, text) {
    return value === `0x${Buffer.from(text).toString('hex')}` || value === `"${text}"`;
}
/**
 * Deletes upper entries matching the recipe's `exclude` globs; returns how many went. The
 * directories they were in keep their times: excluding is packing, not a change of the tree.
 * Names are matched and removed as the bytes they are (byte-path.ts).
 */
async function applyExclude(upper, globs, signal) {
    if (globs.length === 0)
        return 0;
    const res = globs.map(globToRegExp);
    let count = 0;
    const visit = async (rel) => {
        checkInterrupted(signal);
        const dir = path.join(upper, rel);
        const entries = await readNames(dir);
        const before = await fs.lstat(bytesOf(dir));
        let removed = false;
        for (const e of entries) {
            const childRel = `${rel}/${e.name}`;
            if (res.some((re) => re.test(childRel))) {
                await fs.rm(bytesOf(path.join(upper, childRel)), { recursive: true, force: true });
                count++;
                removed = true;
            }
            else if (e.dir) {
                await visit(childRel);
            }
        }
        if (removed)
            await fs.utimes(bytesOf(dir), before.atime, before.mtime);
    };
    await visit('');
    return count;
}
//# sourceMappingURL=finalize.js.map