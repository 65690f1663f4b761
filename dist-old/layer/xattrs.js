// Extended attributes in bulk, through getfattr/setfattr (attr package): one process lists
// a whole tree, and removals are batched, so thousands of entries cost a few processes.
// Paths are bytes (byte-path.ts): they reach the tools NUL-separated on xargs' stdin, never
// as text arguments, and come back from getfattr's output read as bytes.
import { bytesOf, nameOf } from './byte-path.js';
/**
 * getfattr escapes control bytes, `\` and (in attribute names) `=` as \ooo octal, and writes
 * every other byte as it is.
 */
function unescapeName(raw) {
    const bytes = [];
    for (let i = 0; i < raw.length; i++) {
        const octal = raw.toString('latin1', i + 1, i + 4);
        if (raw[i] === 0x5c && /^[0-7]{3}$/.test(octal)) {
            bytes.push(parseInt(octal, 8));
            i += 3;
        }
        else {
            bytes.push(raw[i]);
        }
    }
    return nameOf(Buffer.from(bytes));
}
const FILE_LINE = Buffer.from('# file: ');
/** Parses `getfattr -d -e hex --absolute-names` output, read as bytes (names may be any bytes). */
export function parseGetfattr(out) {
    const map = new Map();
    let current;
    // A newline in a name is escaped: every 0x0a ends a line.
    let start = 0;
    while (start < out.length) {
        let end = out.indexOf(0x0a, start);
        if (end < 0)
            end = out.length;
        const line = out.subarray(start, end);
        start = end + 1;
        if (line.subarray(0, FILE_LINE.length).equals(FILE_LINE)) {
            current = new Map();
            map.set(unescapeName(line.subarray(FILE_LINE.length)), current);
        }
        else if (current && line.length > 0) {
            // `=` in a name is escaped: the first one ends the name. Values are hex, or "" when empty.
            const eq = line.indexOf(0x3d);
            if (eq > 0)
                current.set(unescapeName(line.subarray(0, eq)), line.toString('latin1', eq + 1));
            else
                current.set(unescapeName(line), '');
        }
    }
    return map;
}
/** Paths as xargs -0 reads them: their bytes, each ended by a NUL. */
export function nulSeparated(paths) {
    const nul = Buffer.of(0);
    return Buffer.concat(paths.flatMap((p) => [bytesOf(p), nul]));
}
const GETFATTR = ['getfattr', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names'];
/** Every xattr of every entry below `dir` (symlinks themselves, not their targets). */
export async function readTreeXattrs(runner, dir) {
    return getfattr(runner, ['-R', '-P'], [dir]);
}
/** Every xattr of the given entries (which must exist). */
export async function readXattrs(runner, paths) {
    if (paths.length === 0)
        return new Map();
    return getfattr(runner, [], paths);
}
async function getfattr(runner, options, paths) {
    // xargs splits the list into command lines the kernel accepts. getfattr exits 1 when some
    // entry (a whiteout) has no xattr support; xargs makes that 123.
    const res = await runner.query(['xargs', '-0', '-r', ...GETFATTR, ...options, '--'], {
        input: nulSeparated(paths),
        stdoutBytes: true,
        tailLines: 5,
        okCodes: [0, 123],
    });
    return parseGetfattr(res.stdoutBytes);
}
/** Removes attribute `name` from each path. */
export async function removeXattr(runner, name, paths) {
    if (paths.length === 0)
        return;
    await runner.run(['xargs', '-0', '-r', 'setfattr', '-h', '-x', name, '--'], { input: nulSeparated(paths) });
}
//# sourceMappingURL=xattrs.js.map