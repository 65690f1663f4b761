// mksquashfs of a finalized upper dir, with the recipe's compression and block size,
// xattrs kept (opaque markers live there) and SOURCE_DATE_EPOCH for reproducible output.
import { failureIn, FailureError } from '../failure.js';
export function mksquashfsArgs(o) {
    const args = ['-noappend', '-no-recovery', '-xattrs', '-comp', o.compression, '-b', String(o.blockSize)];
    if (o.level !== undefined)
        args.push('-Xcompression-level', String(o.level));
    return args;
}
/** The mksquashfs command line of a pack (what --dry-run shows is what pack runs). */
export function packArgv(p) {
    return ['mksquashfs', p.upper, p.out, ...mksquashfsArgs(p.squashfs)];
}
/** Writes `out` (a temp name: the caller renames it into place). */
export async function pack(p) {
    const env = {};
    // mksquashfs 4.5+ clamps newer mtimes to it and uses it as the filesystem time.
    if (p.sourceDateEpoch !== undefined)
        env.SOURCE_DATE_EPOCH = String(p.sourceDateEpoch);
    let last = -1;
    try {
        await p.runner.run(packArgv(p), {
            env,
            tailLines: 15,
            onLine: (line) => {
                const m = /\]\s+\d+\/\d+\s+(\d+)%\s*$/.exec(line);
                if (m && p.onProgress) {
                    const pct = Number(m[1]);
                    if (pct !== last) {
                        last = pct;
                        p.onProgress(pct);
                    }
                }
            },
        });
    }
    catch (err) {
        // Its progress bar is no part of the story.
        const failed = failureIn(err, 'command');
        if (failed)
            throw new FailureError({ ...failed, tail: failed.tail.filter((l) => !/^\[.*\]\s+\d+\/\d+/.test(l)) });
        throw err;
    }
}
//# sourceMappingURL=pack.js.map