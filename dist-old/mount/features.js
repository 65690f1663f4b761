// Which portable overlayfs options this kernel accepts. Layers must not depend on index,
// metacopy, redirects or xino (PRODUCT.md section 2); uuid=null exists only on newer kernels.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { failureIn, FailureError } from '../failure.js';
import { unmount } from './ops.js';
export const PORTABLE_OPTIONS = ['index=off', 'metacopy=off', 'redirect_dir=nofollow', 'xino=off'];
/** Mounts a throw-away overlay under `scratch` to learn whether `uuid=null` is accepted. */
export async function probeOverlayOptions(runner, scratch, warn) {
    if (runner.dryRun)
        return [...PORTABLE_OPTIONS, 'uuid=null'];
    const dirs = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(scratch, d));
    for (const d of dirs)
        await fs.mkdir(d, { recursive: true });
    const [lower, upper, work, merged] = dirs;
    const attempt = async (options) => {
        try {
            const opts = [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`, ...options].join(',');
            await runner.query(['mount', '-t', 'overlay', '-o', opts, 'sqsh-layers', merged]);
        }
        catch (err) {
            if (failureIn(err, 'command'))
                return false;
            throw err;
        }
        await unmount(runner, merged, warn);
        return true;
    };
    try {
        for (const options of [[...PORTABLE_OPTIONS, 'uuid=null'], PORTABLE_OPTIONS]) {
            if (await attempt(options))
                return options;
        }
    }
    finally {
        await fs.rm(scratch, { recursive: true, force: true });
    }
    throw new FailureError({ reason: 'overlay-unavailable', options: PORTABLE_OPTIONS });
}
//# sourceMappingURL=features.js.map