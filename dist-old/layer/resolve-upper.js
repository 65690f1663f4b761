// A live upper dir made with redirect_dir=on or metacopy=on (RuckusRD's overlayflags= allows
// both) holds entries only the machine's own overlay can follow: a renamed lower directory is
// a directory with trusted.overlay.redirect naming where its lower content was, and a
// metacopy file has the upper's attributes but its data still in a lower. Other machines
// would see a renamed directory without its lower content and a metacopy file empty.
//
// They are resolved through a read-only overlay of a snapshot of the upper over the same
// lowers with redirects and metacopy followed (the "view": what the live root showed):
// - a redirected directory becomes an opaque directory holding the merged content it
//   showed (its old name is already a whiteout in the upper);
// - a metacopy file gets the data the view shows for it, keeping its own attributes and
//   hardlinks.
// What the view cannot show (a lower missing, a broken redirect) is refused with its paths.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { checkInterrupted } from '../process/interrupt.js';
import { bytesOf, nameOf, shownPath } from './byte-path.js';
import { rsyncArgv } from './merge.js';
import { METACOPY_XATTR, REDIRECT_XATTR, setOpaque, xattrBytes } from './overlay-marks.js';
import { restoreXattrs } from './xattr-restore.js';
import { readTreeXattrs, removeXattr } from './xattrs.js';
const under = (p, dirs) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
/** Finds what needs resolving in a snapshot of an upper dir. */
export async function scanUpper(runner, snap) {
    const xattrs = await readTreeXattrs(runner, snap);
    const redirects = [];
    const metacopy = [];
    for (const [p, attrs] of xattrs) {
        const rel = p === snap ? '/' : p.slice(snap.length);
        if (attrs.has(METACOPY_XATTR))
            metacopy.push(rel);
        else if (attrs.has(REDIRECT_XATTR)) {
            const st = await fs.lstat(bytesOf(p));
            if (st.isDirectory())
                redirects.push(rel);
            else
                metacopy.push(rel); // a redirect on a file only means something with metacopy
        }
    }
    redirects.sort();
    const outermost = redirects.filter((r, i) => !under(r, redirects.slice(0, i).filter((o) => o !== r)));
    const seen = new Set();
    const files = [];
    for (const f of metacopy.sort()) {
        if (under(f, outermost))
            continue;
        const st = await fs.lstat(bytesOf(snap + f));
        const inode = `${st.dev}:${st.ino}`;
        if (seen.has(inode))
            continue;
        seen.add(inode);
        files.push(f);
    }
    return { redirectDirs: outermost, metacopyFiles: files, xattrs };
}
/**
 * Redirected directories whose lower directory is in none of the lowers: the view would show
 * them with the upper's entries alone, which is not what the live root showed over its own
 * stack. (A metacopy file without its data cannot even be read: copyFromView refuses it.)
 */
export async function missingRedirectTargets(scan, snap, lowerDirs) {
    const missing = [];
    for (const rel of scan.redirectDirs) {
        const value = scan.xattrs.get(snap + rel)?.get(REDIRECT_XATTR);
        if (value === undefined)
            continue;
        const redirect = nameOf(xattrBytes(value));
        // Normalized below the root either way: a hostile "/../../etc" never looks outside a lower.
        const target = redirect.startsWith('/') ? path.posix.join('/', redirect) : path.posix.join(path.posix.dirname(rel), redirect);
        let found = false;
        for (const l of lowerDirs) {
            if ((await fs.lstat(bytesOf(l + target)).catch(() => undefined))?.isDirectory())
                found = true;
        }
        if (!found)
            missing.push(`${shownPath(rel)} (renamed from ${shownPath(target)})`);
    }
    return missing;
}
/**
 * Copies what the view shows for each entry to resolve into `data` (the view must be mounted);
 * refuses the entries it cannot show. Returns where each one's content went.
 */
export async function copyFromView(runner, signal, scan, view, data) {
    const staged = new Map();
    const broken = [];
    let n = 0;
    for (const rel of [...scan.redirectDirs, ...scan.metacopyFiles]) {
        checkInterrupted(signal);
        const to = path.join(data, String(n++));
        try {
            const st = await fs.lstat(bytesOf(view + rel));
            if (st.isDirectory()) {
                await fs.mkdir(to);
                await runner.run(rsyncArgv(view + rel, to), { tailLines: 5 });
            }
            else if (st.isFile()) {
                await fs.copyFile(bytesOf(view + rel), to);
            }
            else {
                throw new Error('not a file');
            }
            staged.set(rel, to);
        }
        catch (err) {
            if (signal.aborted)
                throw err;
            broken.push(`${shownPath(rel)} (${err.message.split('\n')[0]})`);
        }
    }
    if (broken.length > 0) {
        throw new FailureError({
            reason: 'layer-op',
            message: `the upper dir holds redirect or metacopy entries whose lower content cannot be found, so no portable layer can be made of them: ${broken.slice(0, 5).join(', ')}${broken.length > 5 ? ` and ${broken.length - 5} more` : ''}`,
            hint: 'give the stack the live root was mounted with (--stack, or --layers-dir with the same .sqsh files)',
        });
    }
    return staged;
}
/** Puts the resolved content in place in the snapshot (the view is unmounted by now). */
export async function applyResolved(runner, snap, scan, staged) {
    for (const rel of scan.metacopyFiles) {
        const file = bytesOf(snap + rel);
        const st = await fs.lstat(file);
        // Writing drops security.capability and maybe setuid bits: attributes go back on after.
        const attrs = scan.xattrs.get(snap + rel);
        await fs.copyFile(staged.get(rel), file);
        await fs.chown(file, st.uid, st.gid);
        await fs.chmod(file, st.mode & 0o7777);
        if (attrs)
            await restoreXattrs(runner, [{ path: snap + rel, attrs }]);
        await fs.utimes(file, st.atime, st.mtime);
    }
    for (const rel of scan.redirectDirs) {
        const dir = snap + rel;
        for (const e of await fs.readdir(bytesOf(dir), { encoding: 'buffer' })) {
            await fs.rm(Buffer.concat([bytesOf(dir), Buffer.from('/'), e]), { recursive: true, force: true });
        }
        // The view shows the directory with the upper's own attributes and the merged content.
        await runner.run(rsyncArgv(staged.get(rel), dir), { tailLines: 5 });
    }
    await setOpaque(runner, scan.redirectDirs.map((r) => snap + r));
    // Marks the resolved entries no longer need (rsync took the view's xattrs, which hide them).
    const left = await readTreeXattrs(runner, snap);
    for (const name of [REDIRECT_XATTR, METACOPY_XATTR]) {
        const paths = [];
        const inodes = new Set();
        for (const [p, attrs] of left) {
            if (!attrs.has(name))
                continue;
            const st = await fs.lstat(bytesOf(p));
            if (inodes.has(`${st.dev}:${st.ino}`))
                continue;
            inodes.add(`${st.dev}:${st.ino}`);
            paths.push(p);
        }
        await removeXattr(runner, name, paths);
    }
}
//# sourceMappingURL=resolve-upper.js.map