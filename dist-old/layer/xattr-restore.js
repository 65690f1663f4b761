// Putting xattrs back on entries in bulk: one `setfattr --restore` reads a getfattr-style dump
// (the values as readTreeXattrs/readXattrs give them), so names of any bytes travel on stdin.
import { nulSeparated } from './xattrs.js';
/** Sets every attribute of each entry (paths are byte-path strings; values in getfattr's hex form). */
export async function restoreXattrs(runner, entries) {
    const parts = [];
    for (const e of entries) {
        if (e.attrs.size === 0)
            continue;
        parts.push(Buffer.from('# file: '), escapedPath(e.path), Buffer.from('\n'));
        for (const [name, value] of e.attrs)
            parts.push(Buffer.from(`${name}=${value}\n`));
        parts.push(Buffer.from('\n'));
    }
    if (parts.length === 0)
        return;
    await runner.run(['setfattr', '-h', '--restore=-'], { input: Buffer.concat(parts) });
}
/** getfattr's escaping of a path in a dump: control bytes, space, `\` and non-ASCII as \ooo octal. */
function escapedPath(p) {
    const bytes = nulSeparated([p]).subarray(0, -1);
    let out = '';
    for (const b of bytes)
        out += b < 0x21 || b === 0x5c || b >= 0x7f ? `\\${b.toString(8).padStart(3, '0')}` : String.fromCharCode(b);
    return Buffer.from(out, 'latin1');
}
//# sourceMappingURL=xattr-restore.js.map