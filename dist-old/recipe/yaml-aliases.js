// YAML aliases repeat a value, and nested ones multiply: a few lines of anchors and aliases
// (a "billion laughs" file) stand for millions of values. Before anything is expanded, every
// alias is resolved here as the yaml package resolves it (the last anchor of that name before
// it) and what the aliases add up to is counted, so a file over the limit is a recipe error
// that points at the alias that goes over.
import { isAlias, isMap, isPair, isScalar, isSeq, visit } from 'yaml';
/** Values that aliases may add to one file: far more than a recipe repeats, far less than harms. */
export const ALIAS_EXPANSION_LIMIT = 1000;
/** The first problem with the aliases of `doc`, in document order. */
export function checkAliases(doc, limit = ALIAS_EXPANSION_LIMIT) {
    const anchors = new Map();
    /** Values a node stands for, aliases expanded (saturating just past the limit). */
    const sizes = new Map();
    const open = new Set();
    let added = 0;
    const cap = (n) => Math.min(n, limit + 1);
    const walk = (node) => {
        if (isAlias(node)) {
            const range = node.range ? [node.range[0], node.range[1]] : [0, 0];
            const target = anchors.get(node.source);
            if (target === undefined)
                return { kind: 'unresolved', name: node.source, range };
            if (open.has(target))
                return { kind: 'recursive', name: node.source, range };
            const size = sizes.get(target) ?? 1;
            added = cap(added + size);
            if (added > limit)
                return { kind: 'too-large', name: node.source, range, limit };
            return size;
        }
        const anchor = node?.anchor;
        if (anchor)
            anchors.set(anchor, node);
        let size = 1;
        if (isMap(node) || isSeq(node)) {
            open.add(node);
            for (const item of node.items) {
                for (const part of isPair(item) ? [item.key, item.value] : [item]) {
                    if (part === null || part === undefined)
                        continue;
                    const r = walk(part);
                    if (typeof r !== 'number')
                        return r;
                    size = cap(size + r);
                }
            }
            open.delete(node);
        }
        else if (!isScalar(node)) {
            return 0;
        }
        sizes.set(node, size);
        return size;
    };
    const r = doc.contents === null ? 0 : walk(doc.contents);
    return typeof r === 'number' ? undefined : r;
}
/** The first alias of a document (where a problem the yaml package reports without a place is shown). */
export function firstAlias(doc) {
    let found;
    visit(doc, {
        Alias(_key, node) {
            if (!node.range)
                return undefined;
            found = [node.range[0], node.range[1]];
            return visit.BREAK;
        },
    });
    return found;
}
//# sourceMappingURL=yaml-aliases.js.map