// The one way files are replaced whole (manifest, key records, stat cache, layers/NAME.sqsh):
// written under a temp name in the same directory, then renamed over the target, so a reader
// or a run killed midway sees the old file or the complete new one, never a part.
import { promises as fs } from 'node:fs';
import path from 'node:path';
/**
 * Fills a temp name next to `file` with `fill`, then renames it to `file`; the temp file goes
 * when anything fails. The default temp name `FILE.PID.RANDOM.tmp` says whose it is
 * (cache-run.ts's writerPid), so clean-ups spare a live writer's file.
 */
export async function replaceAtomically(file, fill, tmp = defaultTemp(file)) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.rm(tmp, { force: true });
    try {
        await fill(tmp);
        await fs.rename(tmp, file);
    }
    catch (err) {
        await fs.rm(tmp, { force: true });
        throw err;
    }
}
/** Writes `data` to `file` atomically (see replaceAtomically). */
export async function writeAtomic(file, data) {
    await replaceAtomically(file, (tmp) => fs.writeFile(tmp, data));
}
function defaultTemp(file) {
    return `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
}
//# sourceMappingURL=atomic-write.js.map