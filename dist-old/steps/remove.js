// remove: paths or globs deleted inside the layer root. Deleting a lower entry leaves a
// whiteout; paths are resolved in-root, so nothing outside the root can be reached.
import { promises as fs } from 'node:fs';
import { checkInterrupted } from '../process/interrupt.js';
import { bytesOf } from '../layer/byte-path.js';
import { expandInRoot, hasGlobMagic, hostPath, normalizeInRoot } from '../layer/root-path.js';
import { stepFailure } from './context.js';
export const removeStep = {
    describe: (s) => `remove ${s.paths.join(' ')}`,
    tools: () => [],
    async run(s, ctx) {
        for (const pattern of s.paths) {
            if (normalizeInRoot(pattern) === '/')
                throw stepFailure(`refusing to remove the layer root ("${pattern}" means /)`);
        }
        for (const pattern of s.paths) {
            const matches = await expandInRoot(ctx.root, pattern);
            if (matches.length === 0 && !hasGlobMagic(pattern))
                ctx.onLine(`warning: ${pattern} does not exist; nothing to remove`);
            for (const m of matches) {
                checkInterrupted(ctx.runner.signal);
                // A match is a name from the tree: any bytes (layer/byte-path.ts).
                await fs.rm(bytesOf(hostPath(ctx.root, m)), { recursive: true, force: true });
            }
        }
    },
};
//# sourceMappingURL=remove.js.map