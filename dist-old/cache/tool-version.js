// The mksquashfs version is part of every cache key. Asking the binary costs a process
// start on every run; instead the answer is kept next to the stat cache, keyed by the
// binary's path, size, mtime and inode, so a no-op build starts no process at all.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../process/which.js';
import { writeAtomic } from './atomic-write.js';
/**
 * `mksquashfs -version`'s first line, or "mksquashfs not installed": the one on the runner's
 * PATH. `remember: false` (planning, --dry-run) reads what is known but writes nothing.
 */
export async function mksquashfsVersion(runner, cacheDir, o = { remember: true }) {
    const found = await findOnPath('mksquashfs', runner.env.PATH ?? '');
    if (!found)
        return 'mksquashfs not installed';
    const bin = await fs.realpath(found);
    const st = await fs.stat(bin);
    const file = path.join(cacheDir, 'tools.json');
    const known = (await fs
        .readFile(file, 'utf8')
        .then((t) => JSON.parse(t))
        .catch(() => ({})));
    const k = known[bin];
    if (k && k.size === st.size && k.mtimeMs === st.mtimeMs && k.ino === st.ino)
        return k.version;
    const res = await runner.query([bin, '-version'], { okCodes: [0, 1] });
    const version = (res.stdout.split('\n')[0] ?? '').trim();
    if (!o.remember)
        return version;
    known[bin] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, version };
    await writeAtomic(file, JSON.stringify(known, null, 2) + '\n').catch(() => { });
    return version;
}
//# sourceMappingURL=tool-version.js.map