// Reading /proc/self/mountinfo: which mounts live under a directory, in unmount order.
import { promises as fs } from 'node:fs';
/** Undoes the octal escapes (\040 for a space...) that mountinfo uses in paths. */
function unescape(s) {
    return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}
export function parseMountinfo(text) {
    const out = [];
    for (const line of text.split('\n')) {
        if (!line)
            continue;
        const fields = line.split(' ');
        const sep = fields.indexOf('-');
        if (sep < 0 || fields.length < sep + 3)
            continue;
        out.push({ target: unescape(fields[4]), fstype: fields[sep + 1], source: unescape(fields[sep + 2]), superOptions: fields[sep + 3] ?? '' });
    }
    return out;
}
export async function readMounts() {
    return parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8'));
}
/** Mounts at or below `dir`, most recent first: the order in which they can be unmounted. */
export async function mountsUnder(dir) {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    return (await readMounts()).filter((m) => m.target === dir || m.target.startsWith(prefix)).reverse();
}
export async function isMountpoint(dir) {
    return (await readMounts()).some((m) => m.target === dir);
}
//# sourceMappingURL=mountinfo.js.map