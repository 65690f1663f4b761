// The layer forest: parents, stacks, build order and independent branches. Pure.
import { FailureError } from '../failure.js';
import { didYouMean } from '../recipe/suggest.js';
import { deepStackDiagnostics } from './stack-limits.js';
/**
 * Checks parents exist, that following them never loops and that no stack is deeper than
 * overlayfs can mount; every problem is reported. The parents named by broken recipes (whose
 * own problems are reported elsewhere) are checked too, cycles through them included.
 */
export function buildGraph(recipes, broken = new Map()) {
    const diagnostics = [];
    const known = [...recipes.keys(), ...broken.keys()];
    const refs = [
        ...[...recipes.values()].flatMap((r) => (r.parent !== undefined ? [{ name: r.name, parent: r.parent, loc: r.locs.parent ?? r.locs.file }] : [])),
        ...[...broken].flatMap(([name, b]) => (b.parent ? [{ name, parent: b.parent.name, loc: b.parent.loc }] : [])),
    ];
    for (const ref of refs) {
        if (ref.parent === ref.name) {
            diagnostics.push({ loc: ref.loc, message: `layer "${ref.name}" cannot be its own parent` });
        }
        else if (!known.includes(ref.parent)) {
            diagnostics.push({
                loc: ref.loc,
                message: `unknown parent "${ref.parent}": there is no recipes/${ref.parent}.yaml${didYouMean(ref.parent, known)}`,
            });
        }
    }
    diagnostics.push(...findCycles(new Map(refs.map((r) => [r.name, r]))));
    if (diagnostics.length === 0)
        diagnostics.push(...deepStackDiagnostics(recipes));
    if (diagnostics.length > 0 || broken.size > 0)
        return { graph: undefined, diagnostics };
    const children = new Map();
    const roots = [];
    for (const name of [...recipes.keys()].sort()) {
        children.set(name, children.get(name) ?? []);
        const parent = recipes.get(name).parent;
        if (parent === undefined)
            roots.push(name);
        else
            children.set(parent, [...(children.get(parent) ?? []), name]);
    }
    return { graph: { recipes, children, roots }, diagnostics };
}
/** Parent cycles through any recipe file, loaded or broken: reported with the files' own problems. */
function findCycles(parents) {
    const out = [];
    const reported = new Set();
    for (const start of [...parents.keys()].sort()) {
        const seen = [];
        let cur = start;
        while (cur !== undefined && parents.has(cur) && !seen.includes(cur)) {
            seen.push(cur);
            const parent = parents.get(cur).parent;
            cur = parent === cur ? undefined : parent;
        }
        if (cur === undefined || cur !== start || reported.has(start))
            continue;
        // `start` lies on a cycle: report it once per member, at each member's parent key.
        const cycle = seen;
        const text = [...cycle, cycle[0]].join(' → ');
        for (const member of cycle) {
            reported.add(member);
            out.push({ loc: parents.get(member).loc, message: `parent cycle: ${text}`, hint: 'one layer of the cycle must be a bottom layer (no parent) or take another parent' });
        }
    }
    return out;
}
/** LAYER and its ancestors, nearest first: the order of `sqsh_layers=` and of overlay `lowerdir=`. */
export function stackOf(graph, name) {
    const out = [];
    let cur = name;
    while (cur !== undefined) {
        out.push(cur);
        cur = graph.recipes.get(cur)?.parent;
    }
    return out;
}
/** The lowers a layer is built on: its ancestors, nearest first. */
export function lowersOf(graph, name) {
    return stackOf(graph, name).slice(1);
}
/**
 * The layers to build for `targets` (all when empty) and their ancestors, parents before
 * children; ties broken by depth, then name, so the order is stable.
 */
export function buildOrder(graph, targets) {
    const unknown = targets.filter((t) => !graph.recipes.has(t));
    if (unknown.length > 0)
        throw new FailureError({ reason: 'unknown-layer', names: unknown, known: [...graph.recipes.keys()] });
    const wanted = new Set();
    for (const t of targets.length > 0 ? targets : graph.recipes.keys())
        for (const n of stackOf(graph, t))
            wanted.add(n);
    const depth = (n) => stackOf(graph, n).length;
    return [...wanted].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
}
/**
 * Groups of layers that share no ancestor: each group is one tree of the forest, restricted to
 * `layers`. Groups build concurrently; inside a group, siblings also build concurrently once
 * their parent is done.
 */
export function branches(graph, layers) {
    const byRoot = new Map();
    for (const n of layers) {
        const stack = stackOf(graph, n);
        const root = stack[stack.length - 1];
        byRoot.set(root, [...(byRoot.get(root) ?? []), n]);
    }
    return [...byRoot.keys()].sort().map((r) => byRoot.get(r));
}
//# sourceMappingURL=graph.js.map