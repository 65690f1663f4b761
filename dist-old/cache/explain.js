// Why a layer is stale: the difference between the key of its last build and the key it
// has now, named in the user's terms (recipe field, input path, parent). Pure.
import { printableInline } from '../process/printable.js';
import { isLayerKey } from './key-shape.js';
/** A reason as a line of text; names from a previous key (which may have been pulled) are escaped. */
export function describeReason(r) {
    return printableInline(reasonText(r));
}
function reasonText(r) {
    switch (r.reason) {
        case 'not-built':
            return 'never built';
        case 'forced':
            return '--force';
        case 'recipe':
            return `recipe field ${r.field} changed${r.detail ? ` (${r.detail})` : ''}`;
        case 'input':
            return r.what === 'added' || r.what === 'removed' ? `input ${r.path} ${r.what}` : `input ${r.path} changed (${r.what})`;
        case 'parent':
            switch (r.what) {
                case 'stale':
                    return `parent ${r.name} will be rebuilt`;
                case 'rebuilt':
                    return `parent ${r.name} was rebuilt with different content`;
                case 'changed':
                    return r.from === undefined ? `parent set to ${r.name}` : `parent changed from ${r.from} to ${r.name}`;
                case 'removed':
                    return `parent ${r.name} removed: now a bottom layer`;
            }
            break;
        case 'tool':
            return r.what;
        case 'source-date-epoch':
            return `SOURCE_DATE_EPOCH changed from ${r.from ?? 'unset'} to ${r.to ?? 'unset'}`;
        case 'cache-missing':
            return 'built before, but its cache entry is gone';
        case 'cache-corrupt':
            return `cached blob changed on disk (${r.detail})`;
        case 'input-missing':
            return `input ${r.path} is missing`;
    }
}
/**
 * Reasons `cur` differs from `prev`; empty when equal. A previous key that is not a LayerKey
 * (a manifest edited by hand, or pulled from a registry before keys were checked) counts as
 * no previous key: the layer is "never built", never a crash.
 */
export function explainKeyChange(prev, cur) {
    if (!isLayerKey(prev))
        return [{ reason: 'not-built' }];
    const out = [];
    if (prev.format !== cur.format)
        out.push({ reason: 'tool', what: `layer format changed (${prev.format} → ${cur.format})` });
    if (prev.mksquashfs !== cur.mksquashfs)
        out.push({ reason: 'tool', what: `mksquashfs changed (${prev.mksquashfs} → ${cur.mksquashfs})` });
    if (prev.sourceDateEpoch !== cur.sourceDateEpoch) {
        out.push({ reason: 'source-date-epoch', from: prev.sourceDateEpoch, to: cur.sourceDateEpoch });
    }
    if (prev.parent && !cur.parent) {
        out.push({ reason: 'parent', name: prev.parent.name, what: 'removed' });
    }
    else if (cur.parent && prev.parent?.name !== cur.parent.name) {
        out.push({ reason: 'parent', name: cur.parent.name, what: 'changed', ...(prev.parent ? { from: prev.parent.name } : {}) });
    }
    else if (prev.parent && cur.parent && prev.parent.digest !== cur.parent.digest) {
        out.push({ reason: 'parent', name: cur.parent.name, what: 'rebuilt' });
    }
    out.push(...recipeChanges(prev.recipe, cur.recipe));
    const prevInputs = new Map(prev.inputs.map((i) => [i.path, i]));
    const curPaths = new Set(cur.inputs.map((i) => i.path));
    for (const i of cur.inputs) {
        const p = prevInputs.get(i.path);
        if (!p)
            out.push({ reason: 'input', path: i.path, what: 'added' });
        else if (p.digest !== i.digest || p.kind !== i.kind)
            out.push({ reason: 'input', path: i.path, what: 'content' });
        else if (p.mode !== i.mode)
            out.push({ reason: 'input', path: i.path, what: 'mode' });
        else if (p.uid !== i.uid || p.gid !== i.gid)
            out.push({ reason: 'input', path: i.path, what: 'owner' });
    }
    for (const p of prevInputs.keys())
        if (!curPaths.has(p))
            out.push({ reason: 'input', path: p, what: 'removed' });
    return dedupe(out);
}
function dedupe(rs) {
    const seen = new Set();
    return rs.filter((r) => {
        const k = JSON.stringify(r);
        if (seen.has(k))
            return false;
        seen.add(k);
        return true;
    });
}
/** The step kind of a normalized step: its first key (restore, untar, copy, run, host, remove). */
function kindOf(step) {
    return Object.keys(step ?? {})[0] ?? '?';
}
/**
 * Recipe fields that differ, in key order, with steps told apart the way a person edits
 * them: steps added or removed (`steps`, "2 → 3 steps"), a step of another kind
 * (`steps[1]`, "run → copy"), else the field inside the step (`steps[1].to`).
 */
function recipeChanges(a, b) {
    const { steps: sa, ...ra } = a;
    const { steps: sb, ...rb } = b;
    const out = diffPaths(ra, rb, '').map((field) => ({ reason: 'recipe', field }));
    if (sa.length !== sb.length) {
        out.push({ reason: 'recipe', field: 'steps', detail: `${sa.length} → ${sb.length} steps` });
        return out;
    }
    sa.forEach((step, i) => {
        if (kindOf(step) !== kindOf(sb[i])) {
            out.push({ reason: 'recipe', field: `steps[${i}]`, detail: `${kindOf(step)} → ${kindOf(sb[i])}` });
        }
        else {
            for (const field of diffPaths(step, sb[i], `steps[${i}]`))
                out.push({ reason: 'recipe', field });
        }
    });
    return out;
}
/** Paths (`steps[1].to`, `squashfs.level`) where two JSON-like values differ. */
export function diffPaths(a, b, at) {
    if (JSON.stringify(a) === JSON.stringify(b))
        return [];
    if (Array.isArray(a) && Array.isArray(b)) {
        if (a.length !== b.length)
            return [at || '(root)'];
        return a.flatMap((v, i) => diffPaths(v, b[i], `${at}[${i}]`));
    }
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
        return keys.flatMap((k) => diffPaths(a[k], b[k], at ? `${at}.${k}` : k));
    }
    return [at || '(root)'];
}
//# sourceMappingURL=explain.js.map