// A layer device: an ext4 image holding NAME.sqsh files where RuckusRD's `lookup_layer`
// looks for them on `sqsh_layerdev` (sourceruckus/ruckusrd src/ruckusrd-common.sh:
// `$sqsh_layerdir/$name.sqsh`, where sqsh_layerdev adds `/sqsh_layerdev` to the searched
// mount points and `sqsh_layerdir=REL` appends REL to each), made without mounting anything.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { makeExt4Image } from './ext4-image.js';
const MIB = 1024 * 1024;
const BLOCK = 4096;
/** The least an image holding these files can be: their blocks, ext4's metadata and a journal. */
export function minimumImageBytes(sizes) {
    const data = sizes.reduce((n, s) => n + Math.ceil(s / BLOCK) * BLOCK, 0);
    // Inode tables and bitmaps take a few percent; the journal is 4..128 MiB by size (mke2fs's
    // ext2fs_default_journal_size); 16 MiB keeps mke2fs's smallest layouts happy.
    const journal = data < 128 * MIB ? 4 * MIB : data < 1024 * MIB ? 16 * MIB : data < 16384 * MIB ? 64 * MIB : 128 * MIB;
    return roundUp(data * 1.04 + journal + 16 * MIB, MIB);
}
/** The default size: the minimum with a little room to spare (a few more layers, later). */
export function defaultImageBytes(sizes) {
    return roundUp(minimumImageBytes(sizes) * 1.1, MIB);
}
function roundUp(n, unit) {
    return Math.ceil(n / unit) * unit;
}
const UNITS = { '': 1, K: 1024, M: MIB, G: 1024 * MIB, T: 1024 * 1024 * MIB };
/** `512M`, `2G`, `1.5G`, `1000000`: bytes (units are powers of 1024). */
export function parseSize(text, flag) {
    const m = /^([0-9]+(?:\.[0-9]+)?)([KMGT]?)(?:i?B)?$/i.exec(text.trim());
    if (!m)
        throw new FailureError({ reason: 'usage', message: `${flag} must be a size such as 512M or 2G, found ${JSON.stringify(text)}` });
    return Math.ceil(Number(m[1]) * UNITS[m[2].toUpperCase()]);
}
/** A layer dir the kernel command line and RuckusRD's shell can carry: relative, plain, no `..`. */
export function checkLayerdir(dir) {
    const clean = dir.replace(/\/+$/, '');
    if (clean === '' || clean === '.')
        throw new FailureError({ reason: 'usage', message: '--layerdir must name a directory; leave it out for the image root' });
    if (clean.startsWith('/')) {
        throw new FailureError({ reason: 'usage', message: `--layerdir is relative to the root of the device, found ${JSON.stringify(dir)}` });
    }
    if (!/^[A-Za-z0-9._+@-]+(\/[A-Za-z0-9._+@-]+)*$/.test(clean) || clean.split('/').some((p) => p === '..' || p === '.')) {
        throw new FailureError({
            reason: 'usage',
            message: `--layerdir ${JSON.stringify(dir)}: use letters, digits, ".", "_", "-", "+", "@" and "/" only (no "..", spaces or quotes): the kernel command line and the initramfs's shell carry it as is`,
        });
    }
    return clean;
}
export async function makeLayerdev(runner, o) {
    const need = minimumImageBytes(o.layers.map((l) => l.size));
    const bytes = o.bytes ?? defaultImageBytes(o.layers.map((l) => l.size));
    if (bytes < need) {
        throw new FailureError({
            reason: 'usage',
            message: `--size ${bytes} bytes is too small for ${o.layers.length} layer(s): the image needs at least ${Math.ceil(need / MIB)}M`,
        });
    }
    const root = path.join(o.staging, 'root');
    const dir = o.layerdir !== undefined ? path.join(root, o.layerdir) : root;
    await fs.mkdir(dir, { recursive: true });
    for (const l of o.layers) {
        const to = path.join(dir, `${l.name}.sqsh`);
        // A hard link where the staging dir shares the file's filesystem; a copy (reflink if possible) otherwise.
        // (The link shares the cache blob's inode: its mode and times are left as they are.)
        await fs.link(l.file, to).catch(() => fs.copyFile(l.file, to, fs.constants.COPYFILE_FICLONE));
    }
    // Same layers, same image: the UUID (and so sqsh_layerdev=UUID=...) follows the content.
    const seed = JSON.stringify({ layerdir: o.layerdir ?? '', layers: o.layers.map((l) => [l.name, l.sha256]) });
    const uuid = await makeExt4Image(runner, {
        from: root,
        out: o.out,
        bytes,
        label: o.label ?? 'sqsh-layers',
        seed,
        sourceDateEpoch: o.sourceDateEpoch,
        runId: o.runId,
    });
    return { out: o.out, uuid, bytes, layerdir: o.layerdir };
}
//# sourceMappingURL=layerdev.js.map