// An ext4 image made from a directory without mounting anything (`mkfs.ext4 -d`), written
// under a temp name and renamed into place: a layer device (`layerdev`) or a VM's scratch
// root device (`boot`).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
/** The UUID (RFC 4122 form, version 4 bits) that `seed` stands for. */
export function uuidOf(seed) {
    const b = createHash('sha256').update(seed).digest();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.subarray(0, 16).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
/** Makes the image; returns its UUID. Nothing is left at `out` (or beside it) when this fails. */
export async function makeExt4Image(runner, o) {
    const uuid = uuidOf(o.seed);
    const tmp = path.join(path.dirname(o.out), `.${path.basename(o.out)}.${o.runId}.tmp`);
    try {
        await fs.rm(tmp, { force: true });
        // mkfs.ext4 takes the size in KiB when given without a unit.
        const kib = Math.ceil(o.bytes / 1024);
        await runner.run([
            'mkfs.ext4', '-q', '-F',
            '-L', o.label,
            '-U', uuid,
            '-m', '0',
            '-E', `root_owner=0:0,hash_seed=${uuid},lazy_itable_init=1`,
            '-d', o.from,
            tmp, `${kib}`,
        ], 
        // E2FSPROGS_FAKE_TIME: the superblock's and inodes' times, for a reproducible image.
        { env: o.sourceDateEpoch !== undefined ? { E2FSPROGS_FAKE_TIME: String(o.sourceDateEpoch) } : {} });
        await fs.rename(tmp, o.out);
        return uuid;
    }
    catch (err) {
        await fs.rm(tmp, { force: true }).catch(() => { });
        throw err;
    }
}
//# sourceMappingURL=ext4-image.js.map