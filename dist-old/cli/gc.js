// `gc`: prunes cache blobs that no key or layer references; `--max-size` also drops the
// least recently used entries until the cache fits.
import path from 'node:path';
import { gc, parseSize } from '../cache/gc.js';
import { FailureError } from '../failure.js';
import { LAYERS_DIR, LOCK_FILE } from '../engine/session.js';
import { readManifest } from '../layer/manifest.js';
import { pidAlive } from '../mount/process-id.js';
import { ProjectLock } from '../mount/project-lock.js';
import { openProject } from './project.js';
import { formatBytes } from './render.js';
/** `30s`, `10m`, `2h`, `1d` or `0`, in milliseconds. */
export function parseDuration(text) {
    const m = /^([0-9]+)(s|m|h|d)?$/.exec(text.trim());
    if (!m)
        return undefined;
    return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's')];
}
export function gcCommand({ program, globals, io, action }) {
    program
        .command('gc')
        .description("remove cache blobs that no cache key or layer of this project references")
        .option('--max-size <size>', 'also drop least recently used entries until the cache fits, e.g. 20G (layers/ is kept)')
        .option('--min-age <duration>', "keep unreferenced blobs and dead builds' temp files younger than this (files of live builds always stay)", '10m')
        .addHelpText('after', `
Examples:
  sqsh-layers gc
  sqsh-layers gc --max-size 20G --dry-run
  sqsh-layers gc --min-age 0          also what a build that was killed just now left`)
        .action(action(async (o) => {
        const g = globals();
        const graceMs = parseDuration(o.minAge);
        if (graceMs === undefined)
            throw usage(`--min-age must be a duration such as 30s, 10m, 2h or 0, found "${o.minAge}"`);
        const maxSize = o.maxSize !== undefined ? parseSize(o.maxSize) : undefined;
        if (o.maxSize !== undefined && maxSize === undefined)
            throw usage(`--max-size must be a size such as 20G or 500M, found "${o.maxSize}"`);
        const { project } = await openProject(g.dir, { checkInputs: false, cacheDir: g.cache });
        const lock = await ProjectLock.acquire(path.join(project.config.dir, LOCK_FILE), 'gc');
        try {
            const manifest = await readManifest(path.join(project.config.dir, LAYERS_DIR));
            const keep = new Set(Object.values(manifest.layers).map((l) => l.sha256));
            const report = await gc({ dir: project.config.cacheDir, keep, maxSize, dryRun: g.dryRun, graceMs, alive: pidAlive });
            if (g.json) {
                io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            }
            else {
                const verb = g.dryRun ? 'would remove' : 'removed';
                io.stdout.write(`${verb} ${report.removedBlobs.length} blob(s) (${formatBytes(report.freedBytes)}), ${report.removedKeys.length} key record(s) and ${report.removedTemps.length} unfinished temp file(s); ${formatBytes(report.keptBytes)} kept\n`);
            }
            return 0;
        }
        finally {
            await lock.release();
        }
    }));
}
function usage(message) {
    return new FailureError({ reason: 'usage', message });
}
//# sourceMappingURL=gc.js.map