// restore: a dump(8) image restored with `restore -r` at the destination, inside the layer
// root (so symlinks in the tree resolve there). restoresymtable is bookkeeping of restore,
// never content. With `replace`, the image becomes the whole destination tree.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { bytesOf } from '../layer/byte-path.js';
import { hostPath } from '../layer/root-path.js';
import { INPUT_IN_ROOT, runTool, unpackAt } from './sandboxed.js';
// restore lists every existing directory it reuses, and the privileged xattrs it may not set.
const NOISE = /: File exists$|: EA set (trusted|security)\.[^:]*:.* failed: Operation not permitted$/;
// -u: an entry of the image replaces what is at its path (a file does not get written
// through an existing symlink, a changed symlink or hardlink is not skipped as existing).
// Existing directories, and symlinks to directories, are kept and restored into. The image
// is read from a file (not a pipe), so restore needs no terminal or /dev/null.
const RESTORE_ARGS = ['-r', '-u', '-y', '-f', INPUT_IN_ROOT];
async function restoreInto(ctx, root, chdir, image) {
    // chdir was resolved through the tree's symlinks: its bytes may be any.
    const dir = bytesOf(hostPath(root, chdir));
    const symtable = bytesOf(path.join(hostPath(root, chdir), 'restoresymtable'));
    const hadSymtable = await fs.lstat(symtable).then(() => true, () => false);
    await runTool(ctx, { root, chdir, tool: 'restore', args: RESTORE_ARGS, input: image, quiet: NOISE });
    if (!hadSymtable) {
        // Removing restore's bookkeeping must not change the directory's time the image gave it.
        const before = await fs.lstat(dir);
        await fs.rm(symtable, { force: true });
        await fs.utimes(dir, before.atime, before.mtime);
    }
}
export const restoreStep = {
    describe: (s) => `restore ${s.input.path}${s.to !== '/' ? ` into ${s.to}` : ''}${s.replace ? ' (replace)' : ''}`,
    tools: (s) => ['restore', 'bwrap', ...(s.replace ? ['rsync'] : [])],
    async run(s, ctx) {
        await unpackAt(ctx, s.to, s.replace, (root, chdir) => restoreInto(ctx, root, chdir, s.input.abs));
    },
};
//# sourceMappingURL=restore.js.map