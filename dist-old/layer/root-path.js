// Paths inside a layer root, resolved the way a chroot would: absolute symlink targets start
// at the root, and `..` never climbs above it. Nothing here follows a symlink on the host.
// Paths are byte-path strings (byte-path.ts): names and link targets from the tree are read
// as bytes and globs match them byte for byte.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { failureIn, FailureError } from '../failure.js';
import { bytesOf, readLinkName, readNames, shownPath } from './byte-path.js';
/** Lexically normalizes an in-root path or glob: always absolute, no `.`/`..`, `..` stops at `/`. */
export function normalizeInRoot(p) {
    const out = [];
    for (const part of p.split('/')) {
        if (part === '' || part === '.')
            continue;
        if (part === '..')
            out.pop();
        else
            out.push(part);
    }
    return '/' + out.join('/');
}
/** The host path of an in-root path that is already fully resolved. */
export function hostPath(root, inRoot) {
    return inRoot === '/' ? root : path.join(root, inRoot);
}
/**
 * Resolves `p` inside `root`, following symlinks in every component (and in the last one
 * when `followLast`). Returns the resolved in-root path; missing components are kept as they
 * are, so the result can be created.
 */
export async function resolveInRoot(root, p, followLast) {
    let pending = normalizeInRoot(p).split('/').filter(Boolean);
    const done = [];
    let hops = 0;
    while (pending.length > 0) {
        const part = pending.shift();
        if (part === '..') {
            done.pop();
            continue;
        }
        if (part === '.')
            continue;
        const candidate = [...done, part];
        const last = pending.length === 0;
        const st = await fs.lstat(bytesOf(hostPath(root, '/' + candidate.join('/')))).catch(() => undefined);
        if (st?.isSymbolicLink() && (!last || followLast)) {
            if (++hops > 40)
                throw new FailureError({ reason: 'root-path', path: shownPath(p), problem: 'symlink-loop' });
            const target = await readLinkName(hostPath(root, '/' + candidate.join('/')));
            const parts = target.split('/').filter(Boolean);
            if (target.startsWith('/'))
                done.length = 0;
            pending = [...parts, ...pending];
            continue;
        }
        done.push(part);
    }
    return '/' + done.join('/');
}
/** Creates the directory `inRoot` (resolved inside root) with its missing parents; returns its host path. */
export async function mkdirInRoot(root, inRoot) {
    const resolved = await resolveInRoot(root, inRoot, true);
    let cur = '/';
    for (const part of resolved.split('/').filter(Boolean)) {
        const next = await resolveInRoot(root, path.posix.join(cur, part), true);
        const host = hostPath(root, next);
        const st = await fs.lstat(bytesOf(host)).catch(() => undefined);
        if (!st)
            await fs.mkdir(bytesOf(host), { mode: 0o755 });
        else if (!st.isDirectory()) {
            throw new FailureError({ reason: 'root-path', path: shownPath(path.posix.join(cur, part)), problem: 'not-a-directory' });
        }
        cur = next;
    }
    return hostPath(root, cur);
}
/**
 * A glob (`*`, `?`, `[...]` within a component; `**` for any depth) as a RegExp on in-root
 * byte-path strings: `*` matches any bytes but `/` (newlines and bytes that are not UTF-8
 * included), `?` and a class match one character, or one byte that is not part of one.
 */
export function globToRegExp(glob) {
    let re = '';
    const g = normalizeInRoot(glob);
    for (let i = 0; i < g.length; i++) {
        const c = g[i];
        if (c === '*') {
            if (g[i + 1] === '*') {
                const slashAfter = g[i + 2] === '/';
                re += slashAfter ? '(?:[^]*/)?' : '[^]*';
                i += slashAfter ? 2 : 1;
            }
            else {
                re += '[^/]*';
            }
        }
        else if (c === '?') {
            re += '[^/]';
        }
        else if (c === '[') {
            // A `]` right after `[` or `[!` is a member, as in sh; a class never matches `/`.
            const negated = g[i + 1] === '!' || g[i + 1] === '^';
            const first = i + (negated ? 2 : 1);
            const end = g.indexOf(']', first + 1);
            if (end < 0) {
                re += '\\[';
            }
            else {
                const members = g.slice(first, end).replace(/[\\\]^]/g, '\\$&');
                re += negated ? `[^/${members}]` : `(?!/)[${members}]`;
                i = end;
            }
        }
        else {
            re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
        }
    }
    // `u`: a character outside the BMP is one character, an escaped byte another.
    return new RegExp(`^${re}$`, 'u');
}
export function hasGlobMagic(p) {
    return /[*?[]/.test(p);
}
/**
 * Expands a glob against a root: every existing in-root path it matches (not following
 * symlinks in the matched entries themselves). Directory components without magic are
 * resolved in-root (symlinks followed as in a chroot).
 */
export async function expandInRoot(root, glob) {
    const parts = normalizeInRoot(glob).split('/').filter(Boolean);
    let current = ['/'];
    for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        const last = i === parts.length - 1;
        const next = [];
        for (const dir of current) {
            if (part === '**') {
                const rest = parts.slice(i + 1).join('/');
                const re = globToRegExp(path.posix.join(dir, '**', rest));
                for (const p of await walkInRoot(root, dir))
                    if (re.test(p) || (rest === '' && p !== dir))
                        next.push(p);
                continue;
            }
            if (!hasGlobMagic(part)) {
                const p = last ? await resolveParentInRoot(root, path.posix.join(dir, part)) : await resolveInRoot(root, path.posix.join(dir, part), true);
                if (await fs.lstat(bytesOf(hostPath(root, p))).catch(() => undefined))
                    next.push(p);
                continue;
            }
            const re = globToRegExp(part.startsWith('/') ? part : '/' + part);
            const entries = await readNames(hostPath(root, dir)).catch(() => []);
            for (const { name } of entries) {
                if (!re.test('/' + name))
                    continue;
                const p = path.posix.join(dir, name);
                if (last) {
                    next.push(p);
                    continue;
                }
                // Like a shell glob, an entry that cannot be followed (a symlink loop) matches nothing.
                const resolved = await resolveInRoot(root, p, true).catch((err) => {
                    if (failureIn(err, 'root-path'))
                        return undefined;
                    throw err;
                });
                if (resolved !== undefined)
                    next.push(resolved);
            }
        }
        if (part === '**') {
            current = next;
            break;
        }
        current = next;
    }
    return [...new Set(current)].filter((p) => p !== '/').sort();
}
/** Resolves the parent of `p` in-root, keeping the last component itself unresolved. */
export async function resolveParentInRoot(root, p) {
    const n = normalizeInRoot(p);
    if (n === '/')
        return '/';
    const parent = await resolveInRoot(root, path.posix.dirname(n), true);
    return path.posix.join(parent, path.posix.basename(n));
}
/** Every in-root path below `dir` (not following symlinks), sorted. */
async function walkInRoot(root, dir) {
    const out = [];
    const visit = async (d) => {
        const entries = await readNames(hostPath(root, d)).catch(() => []);
        for (const e of entries) {
            const p = path.posix.join(d, e.name);
            out.push(p);
            if (e.dir)
                await visit(p);
        }
    };
    await visit(dir);
    return out;
}
//# sourceMappingURL=root-path.js.map