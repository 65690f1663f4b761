// File names are bytes, not text: a layer may hold any name the kernel allows (Latin-1
// `caf\xe9`, broken UTF-8 `\xff\xfe`). Paths are kept as strings in which every byte that is
// not part of valid UTF-8 is a lone surrogate U+DC80..U+DCFF (Python's "surrogateescape").
// A UTF-8 name is then its ordinary string, so our own paths and names from content join
// with path.join; every byte sequence round-trips; and a glob (UTF-8 text) matches such a
// string exactly as it would match the bytes. Names enter through this module (directory
// reads, link targets, tool output) and leave as Buffers for every fs call on content.
import { isUtf8 } from 'node:buffer';
import { promises as fs, readdirSync, readlinkSync } from 'node:fs';
/** The path string of a name or path read as bytes. */
export function nameOf(bytes) {
    if (isUtf8(bytes))
        return bytes.toString('utf8');
    let out = '';
    let i = 0;
    while (i < bytes.length) {
        const n = utf8SequenceAt(bytes, i);
        if (n === 0) {
            out += String.fromCharCode(0xdc00 + bytes[i]);
            i++;
        }
        else {
            out += bytes.toString('utf8', i, i + n);
            i += n;
        }
    }
    return out;
}
/** The bytes of a path string: what fs calls on content must be given. */
export function bytesOf(p) {
    if (!LONE_SURROGATE.test(p))
        return Buffer.from(p, 'utf8');
    const parts = [];
    let start = 0;
    for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        // An escaped byte is a lone low surrogate; after a high surrogate it would be half of a pair.
        const prev = i > 0 ? p.charCodeAt(i - 1) : 0;
        if (c >= 0xdc80 && c <= 0xdcff && !(prev >= 0xd800 && prev <= 0xdbff)) {
            parts.push(Buffer.from(p.slice(start, i), 'utf8'), Buffer.of(c - 0xdc00));
            start = i + 1;
        }
    }
    parts.push(Buffer.from(p.slice(start), 'utf8'));
    return Buffer.concat(parts);
}
/** Whether a path string is plain text (no escaped byte): what text-only APIs can be given. */
export function isTextPath(p) {
    return !LONE_SURROGATE.test(p);
}
/** A path string for messages: escaped bytes shown as `\xNN`, the rest as it is. */
export function shownPath(p) {
    return p.replace(/[\udc80-\udcff]/gu, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}`);
}
/** The entries of a directory, names byte-exact, in byte order (deterministic whatever the names). */
export async function readNames(dir) {
    return inByteOrder(await fs.readdir(bytesOf(dir), { withFileTypes: true, encoding: 'buffer' }));
}
/** readNames with one plain system call: for walks over many small directories. */
export function readNamesSync(dir) {
    return inByteOrder(readdirSync(bytesOf(dir), { withFileTypes: true, encoding: 'buffer' }));
}
function inByteOrder(dirents) {
    return dirents
        .map((d) => ({ bytes: d.name, dir: d.isDirectory() }))
        .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
        .map((d) => ({ name: nameOf(d.bytes), dir: d.dir }));
}
/** A symlink's target, byte-exact. */
export async function readLinkName(p) {
    return nameOf(await fs.readlink(bytesOf(p), { encoding: 'buffer' }));
}
/** readLinkName with one plain system call. */
export function readLinkNameSync(p) {
    return nameOf(readlinkSync(bytesOf(p), { encoding: 'buffer' }));
}
const LONE_SURROGATE = /\p{Surrogate}/u;
/** Length of the valid UTF-8 sequence starting at i (Unicode table 3-7), 0 when there is none. */
function utf8SequenceAt(b, i) {
    const b0 = b[i];
    const cont = (k, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xc2 && b0 <= 0xdf)
        return cont(1) ? 2 : 0;
    if (b0 >= 0xe0 && b0 <= 0xef) {
        const [lo, hi] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
        return cont(1, lo, hi) && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xf0 && b0 <= 0xf4) {
        const [lo, hi] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
        return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}
//# sourceMappingURL=byte-path.js.map