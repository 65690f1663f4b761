// untar: a tar archive (plain, gzip, xz, zstd, bzip2) unpacked at the destination inside the
// layer root, owners, modes and xattrs kept. GNU tar refuses `..` members and strips leading
// `/`; running it with the layer root as `/` keeps symlinks already in the tree inside it.
// The root's symlinks to directories (merged /usr) are kept and written through.
import { promises as fs } from 'node:fs';
import { stepFailure } from './context.js';
import { INPUT_IN_ROOT, runTool, unpackAt } from './sandboxed.js';
// The privileged xattr namespaces (trusted.*, security.* but security.capability) are left out:
// tar runs without CAP_SYS_ADMIN (see mount/sandbox.ts).
const TAR_ARGS = [
    '-x', '--numeric-owner', '--same-owner', '--same-permissions', '--xattrs', '--xattrs-include=*',
    '--xattrs-exclude=trusted.*', '--xattrs-exclude=security.[!c]*', '--acls',
];
/** Tells the compression from the first bytes, not from the file name. */
export async function detectCompression(file) {
    const fh = await fs.open(file, 'r');
    try {
        const b = Buffer.alloc(6);
        const { bytesRead } = await fh.read(b, 0, 6, 0);
        const head = b.subarray(0, bytesRead);
        if (head[0] === 0x1f && head[1] === 0x8b)
            return 'gzip';
        if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
            return 'xz';
        if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])))
            return 'zstd';
        if (head.subarray(0, 3).toString('latin1') === 'BZh')
            return 'bzip2';
        return 'none';
    }
    finally {
        await fh.close();
    }
}
const DECOMPRESSOR = {
    gzip: ['gzip', '-dc'],
    xz: ['xz', '-dc'],
    zstd: ['zstd', '-dcq'],
    bzip2: ['bzip2', '-dc'],
};
/** `merge`: unpack onto an existing tree, keeping its symlinks to directories (see applyTree). */
async function untarInto(ctx, root, chdir, archive, merge) {
    const compression = await detectCompression(archive);
    const args = [...TAR_ARGS, ...(merge ? ['--keep-directory-symlink'] : [])];
    if (compression === 'none')
        await runTool(ctx, { root, chdir, tool: 'tar', args: [...args, '-f', INPUT_IN_ROOT], input: archive });
    else
        await runTool(ctx, { root, chdir, tool: 'tar', args: [...args, '-f', '-'], input: archive, decompress: DECOMPRESSOR[compression] });
}
export const untarStep = {
    describe: (s) => `untar ${s.input.path}${s.to !== '/' ? ` into ${s.to}` : ''}${s.replace ? ' (replace)' : ''}`,
    tools: (s) => ['tar', 'bwrap', ...(s.replace ? ['rsync'] : [])],
    async run(s, ctx) {
        const compression = await detectCompression(s.input.abs);
        if (compression !== 'none') {
            const tool = DECOMPRESSOR[compression][0];
            if (!(await ctx.tools.command(tool)))
                throw stepFailure(`${s.input.path} is ${compression}-compressed but ${tool} is not installed`);
        }
        await unpackAt(ctx, s.to, s.replace, (root, chdir, merge) => untarInto(ctx, root, chdir, s.input.abs, merge));
    },
};
//# sourceMappingURL=untar.js.map