// remove: paths or globs deleted inside the layer root. Deleting a lower entry leaves a
// whiteout; paths are resolved in-root, so nothing outside the root can be reached.

import type { RemoveStep } from '../recipe/types.js';
import { checkInterrupted } from '../process/interrupt.js';
import { bytesOf } from '../layer/byte-path.js';
import { removeTreeOnWorker } from '../process/file-workers.js';
import { expandInRoot, hasGlobMagic, hostPath, normalizeInRoot } from '../layer/root-path.js';
import { stepFailure, type StepKindImpl } from './context.js';

export const removeStep: StepKindImpl<RemoveStep> = {
  describe: (s) => `remove ${s.paths.join(' ')}`,
  tools: () => [],
  async run(s, ctx) {
    for (const pattern of s.paths) {
      if (normalizeInRoot(pattern) === '/') throw stepFailure(`refusing to remove the layer root ("${pattern}" means /)`);
    }
    for (const pattern of s.paths) {
      const matches = await expandInRoot(ctx.root, pattern);
      if (matches.length === 0 && !hasGlobMagic(pattern)) ctx.onLine(`warning: ${pattern} does not exist; nothing to remove`);
      for (const m of matches) {
        checkInterrupted(ctx.runner.signal);
        // A match is a name from the tree: any bytes (layer/byte-path.ts).
        await removeTreeOnWorker(bytesOf(hostPath(ctx.root, m)), ctx.runner.signal);
      }
    }
  },
};
