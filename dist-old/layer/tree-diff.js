// What changed between two trees (two layers' own contents, or two assembled stacks): the
// entries only the new one has, those only the old one has, and those whose type, mode,
// owner, content, link target, device or xattrs differ. What a rebuild changed.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkInterrupted } from '../process/interrupt.js';
import { bytesOf, readNames, shownPath } from './byte-path.js';
import { dataSize, sameContent, treeSize, typeOf } from './inspect.js';
import { readTreeXattrs } from './xattrs.js';
export async function diffTrees(before, after, runner, signal) {
    const [xa, xb] = await Promise.all([readTreeXattrs(runner, before), readTreeXattrs(runner, after)]);
    const entries = [];
    const visit = async (rel) => {
        checkInterrupted(signal);
        const a = new Set((await readNames(path.join(before, rel))).map((e) => e.name));
        const b = new Set((await readNames(path.join(after, rel))).map((e) => e.name));
        const names = [...new Set([...a, ...b])].sort((x, y) => Buffer.compare(bytesOf(x), bytesOf(y)));
        for (const name of names) {
            const childRel = rel === '' ? name : `${rel}/${name}`;
            const shown = shownPath(`/${childRel}`);
            const pa = path.join(before, childRel);
            const pb = path.join(after, childRel);
            if (!a.has(name)) {
                const st = await fs.lstat(bytesOf(pb));
                entries.push({ path: shown, change: 'added', type: typeOf(st), size: st.isDirectory() ? (await treeSize(pb, signal)).bytes : dataSize(st) });
                continue;
            }
            if (!b.has(name)) {
                const st = await fs.lstat(bytesOf(pa));
                entries.push({ path: shown, change: 'deleted', type: typeOf(st), size: st.isDirectory() ? (await treeSize(pa, signal)).bytes : dataSize(st) });
                continue;
            }
            const [sa, sb] = await Promise.all([fs.lstat(bytesOf(pa)), fs.lstat(bytesOf(pb))]);
            const what = await differences(pa, sa, pb, sb, xa, xb);
            if (what.length > 0)
                entries.push({ path: shown, change: 'changed', type: typeOf(sb), size: dataSize(sb), what, sizeBefore: dataSize(sa) });
            if (sa.isDirectory() && sb.isDirectory())
                await visit(childRel);
        }
    };
    await visit('');
    const [ta, tb] = await Promise.all([treeSize(before, signal), treeSize(after, signal)]);
    const count = (c) => entries.filter((e) => e.change === c).length;
    return { entries, summary: { added: count('added'), changed: count('changed'), deleted: count('deleted'), bytesBefore: ta.bytes, bytesAfter: tb.bytes } };
}
async function differences(pa, sa, pb, sb, xa, xb) {
    const what = [];
    if (typeOf(sa) !== typeOf(sb))
        return ['type'];
    if ((sa.mode & 0o7777) !== (sb.mode & 0o7777))
        what.push('mode');
    if (sa.uid !== sb.uid || sa.gid !== sb.gid)
        what.push('owner');
    if (!sa.isDirectory() && !(await sameContent(pa, sa, pb, sb)))
        what.push('content');
    if (xattrText(xa.get(pa)) !== xattrText(xb.get(pb)))
        what.push('xattrs');
    return what;
}
function xattrText(m) {
    return JSON.stringify([...(m ?? new Map())].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}
//# sourceMappingURL=tree-diff.js.map