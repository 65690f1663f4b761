// Fingerprints of a recipe's inputs: content digests (through the stat cache) plus mode and
// owner, for files and for whole trees.
import { lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import { bytesOf, readLinkNameSync, readNamesSync } from '../layer/byte-path.js';
import { checkInterrupted } from '../process/interrupt.js';
import { sha256OfString } from './digest.js';
export async function fingerprintInputs(r, stats, signal) {
    const out = [];
    for (const s of r.steps) {
        if (!('input' in s))
            continue;
        try {
            out.push(await fingerprint(s.input.path, s.input.abs, stats, signal));
        }
        catch (err) {
            // A read cut short by the interrupt is the interrupt, not a broken input.
            checkInterrupted(signal);
            throw err;
        }
    }
    return out;
}
export async function fingerprint(shown, abs, stats, signal) {
    // Plain system calls throughout: a fleet's thousands of small inputs are mostly metadata.
    const st = statSync(abs);
    const base = { path: shown, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (!st.isDirectory())
        return { ...base, kind: 'file', digest: await stats.digest(abs, signal) };
    // A tree: one line per entry, sorted, with everything a copy carries into the layer. Names
    // are bytes (layer/byte-path.ts): one that is not UTF-8 is read and keyed as it is.
    const lines = [];
    const visit = async (rel) => {
        checkInterrupted(signal);
        const dir = path.join(abs, rel);
        for (const name of readNamesSync(dir).map((e) => e.name).sort()) {
            const r = rel === '' ? name : `${rel}/${name}`;
            const p = path.join(abs, r);
            const e = lstatSync(bytesOf(p));
            const head = `${JSON.stringify(r)} ${(e.mode & 0o7777).toString(8)} ${e.uid}:${e.gid}`;
            if (e.isDirectory()) {
                lines.push(`${head} dir`);
                await visit(r);
            }
            else if (e.isSymbolicLink()) {
                lines.push(`${head} symlink ${JSON.stringify(readLinkNameSync(p))}`);
            }
            else if (e.isFile()) {
                lines.push(`${head} file ${await stats.digest(p, signal)}`);
            }
            else {
                lines.push(`${head} special ${e.mode >> 12} ${e.rdev}`);
            }
        }
    };
    await visit('');
    return { ...base, kind: 'tree', digest: sha256OfString(lines.join('\n')) };
}
//# sourceMappingURL=inputs.js.map