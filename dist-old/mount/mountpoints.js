// Mount points that a sandbox needs inside a layer root (/proc, /dev, a bind target...)
// are machinery, not content: what we had to create is removed afterwards, and the
// directories it was created in get their times back, so nothing of it reaches the layer.
// What a step claimed (put content in, or gave its own mode, owner or time) stays.
import { promises as fs } from 'node:fs';
import path from 'node:path';
export class Mountpoints {
    root;
    touchedDirs;
    created = [];
    parents = new Map();
    constructor(root, 
    /** In-root directories whose entries were touched (for pruning of copied-up parents): the step's set. */
    touchedDirs = new Set()) {
        this.root = root;
        this.touchedDirs = touchedDirs;
    }
    /**
     * Makes sure each requested path exists in the root. Returns the requests that can be
     * mounted; a path that runs through a symlink in the root is skipped (bwrap would follow
     * it to somewhere we did not check).
     */
    async prepare(requests) {
        const usable = [];
        for (const req of requests) {
            const parts = req.path.split('/').filter(Boolean);
            let host = this.root;
            let ok = true;
            for (let i = 0; i < parts.length; i++) {
                const last = i === parts.length - 1;
                const next = path.join(host, parts[i]);
                const st = await fs.lstat(next).catch(() => undefined);
                if (st) {
                    if (st.isSymbolicLink() || (!last && !st.isDirectory()) || (last && !fits(req.type, st))) {
                        ok = false;
                        break;
                    }
                }
                else {
                    const type = last ? req.type : 'dir';
                    const pst = await fs.stat(host);
                    if (type === 'dir')
                        await fs.mkdir(next, { mode: 0o755 });
                    else
                        await fs.writeFile(next, '', { mode: 0o644 });
                    const parentAfter = await fs.stat(host);
                    const known = this.parents.get(host);
                    this.parents.set(host, { before: known?.before ?? { atime: pst.atime, mtime: pst.mtime }, after: parentAfter.mtimeMs });
                    // The parent may be one of ours: it is as we left it after this creation.
                    const ours = this.created.find((c) => c.host === host);
                    if (ours)
                        ours.mtimeMs = parentAfter.mtimeMs;
                    this.created.push({ host: next, type, parent: host, ...identity(await fs.lstat(next)) });
                    this.touchedDirs.add('/' + path.relative(this.root, host));
                }
                host = next;
            }
            if (ok)
                usable.push(req);
        }
        return usable;
    }
    /** Removes what `prepare` created (if still as we left it) and restores its parents' times. */
    async cleanup() {
        // A parent whose mtime moved since our last creation in it was changed by a step: it keeps
        // the times the step gave it (removing our entries would move them again); the others get
        // back the ones they had before us.
        const untouched = new Set();
        const stepTimes = new Map();
        for (const [dir, t] of this.parents) {
            const st = await fs.stat(dir).catch(() => undefined);
            if (!st)
                continue;
            if (Math.abs(st.mtimeMs - t.after) < 1e-3)
                untouched.add(dir);
            else
                stepTimes.set(dir, { atime: st.atime, mtime: st.mtime });
        }
        // Judged before anything is removed: removing an entry changes its parent's mtime.
        const states = [];
        for (const c of this.created)
            states.push(await fs.lstat(c.host).catch(() => undefined));
        for (let i = this.created.length - 1; i >= 0; i--) {
            const c = this.created[i];
            const st = states[i];
            if (!st)
                continue;
            if (!this.stillOurs(c, st) || (c.type === 'dir' && (await fs.readdir(c.host)).length > 0)) {
                // A step put content there or claimed the entry: it is the step's now, and so is the
                // parent's time (nothing of ours is removed from it).
                untouched.delete(c.parent);
                stepTimes.delete(c.parent);
                continue;
            }
            if (c.type === 'dir')
                await fs.rmdir(c.host);
            else
                await fs.unlink(c.host);
        }
        this.created.length = 0;
        const times = new Map([...untouched].map((dir) => [dir, this.parents.get(dir).before]));
        for (const [dir, t] of stepTimes)
            times.set(dir, t);
        const deepestFirst = [...times.keys()].sort((a, b) => b.length - a.length);
        for (const dir of deepestFirst) {
            const t = times.get(dir);
            await fs.utimes(dir, t.atime, t.mtime).catch(() => { });
        }
        this.parents.clear();
    }
    /** The entry is the one we created, and no step gave it other attributes or content. */
    stillOurs(c, st) {
        if (st.ino !== c.ino || st.mode !== c.mode || st.uid !== c.uid || st.gid !== c.gid)
            return false;
        if (Math.abs(st.mtimeMs - c.mtimeMs) >= 1e-3)
            return false;
        if (c.type === 'file')
            return st.size === 0;
        return true;
    }
}
function fits(type, st) {
    if (type === 'dir')
        return st.isDirectory();
    return !st.isDirectory();
}
function identity(st) {
    return { ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs };
}
//# sourceMappingURL=mountpoints.js.map