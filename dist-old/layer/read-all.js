// Reading a whole tree once: every directory listed, every file's data read to the end, so a
// squashfs whose blocks do not decompress (a flipped byte, a truncated file) shows up as a
// read error here and not on a booted machine. Errors are collected, not thrown: a report
// names them all (up to a limit).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkInterrupted } from '../process/interrupt.js';
import { bytesOf, readNames, shownPath } from './byte-path.js';
const CHUNK = 1024 * 1024;
const MAX_ERRORS = 20;
/**
 * Lists every directory below `root` and, with `data`, reads every regular file once (one
 * name per inode: hardlinks are read once).
 */
export async function readTree(root, o) {
    const report = { dirs: 0, files: 0, bytes: 0, errors: [] };
    const seen = new Set();
    const buf = Buffer.allocUnsafe(CHUNK);
    const fail = (rel, err) => {
        if (report.errors.length < MAX_ERRORS)
            report.errors.push({ path: shownPath(`/${rel}`), error: err.message });
    };
    const visit = async (rel) => {
        checkInterrupted(o.signal);
        let names;
        try {
            names = await readNames(path.join(root, rel));
        }
        catch (err) {
            fail(rel, err);
            return;
        }
        report.dirs++;
        for (const { name } of names) {
            const childRel = rel === '' ? name : `${rel}/${name}`;
            const p = path.join(root, childRel);
            let st;
            try {
                st = await fs.lstat(bytesOf(p));
            }
            catch (err) {
                fail(childRel, err);
                continue;
            }
            if (st.isDirectory()) {
                await visit(childRel);
            }
            else if (o.data && st.isFile()) {
                const id = `${st.dev}:${st.ino}`;
                if (seen.has(id))
                    continue;
                seen.add(id);
                try {
                    report.bytes += await readFile(p, buf, o.signal);
                    report.files++;
                }
                catch (err) {
                    if (o.signal.aborted)
                        throw err;
                    fail(childRel, err);
                }
            }
        }
    };
    await visit('');
    return report;
}
async function readFile(p, buf, signal) {
    const fh = await fs.open(bytesOf(p), 'r');
    let total = 0;
    try {
        for (;;) {
            checkInterrupted(signal);
            const { bytesRead } = await fh.read(buf, 0, buf.length, null);
            if (bytesRead === 0)
                return total;
            total += bytesRead;
        }
    }
    finally {
        await fh.close();
    }
}
//# sourceMappingURL=read-all.js.map