// Digests with branded types, so a path or a key can never be passed where a content
// digest is expected. Hashing streams: memory stays flat however big the input.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { hashOnWorker } from '../process/file-workers.js';
export function isSha256(s) {
    return /^[0-9a-f]{64}$/.test(s);
}
export function sha256OfString(s) {
    return createHash('sha256').update(s).digest('hex');
}
/** Files up to this size are hashed on the calling thread: handing them over costs more. */
const ON_THREAD = 1 << 20;
const small = Buffer.allocUnsafe(ON_THREAD);
/**
 * `file` as a Buffer: a name of any bytes (layer/byte-path.ts). A big file is hashed on a
 * worker thread (process/file-workers.ts), so several are hashed on several cores and none holds up the
 * event loop; a small one is read whole with plain system calls.
 */
export async function sha256OfFile(file, signal) {
    signal?.throwIfAborted();
    const name = typeof file === 'string' ? Buffer.from(file) : file;
    const fd = openSync(name, 'r');
    try {
        if (fstatSync(fd).size > ON_THREAD)
            return (await hashOnWorker(name, signal));
        const hash = createHash('sha256');
        for (;;) {
            const n = readSync(fd, small, 0, small.length, null);
            if (n === 0)
                return hash.digest('hex');
            hash.update(small.subarray(0, n));
        }
    }
    finally {
        closeSync(fd);
    }
}
/** JSON with object keys sorted at every level: equal data, equal text, equal digest. */
export function canonicalJson(value) {
    return JSON.stringify(value, (_k, v) => v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v);
}
//# sourceMappingURL=digest.js.map