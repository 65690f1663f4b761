// Whether a value from outside (a pulled layer set, a remote cache entry's key record) has
// the shape of a LayerKey: every field that plan and build read, with its type. A value that
// passes can be compared with explainKeyChange without a TypeError; its strings are still
// hostile text and are escaped where they are shown (describeReason).
const SHA256 = /^[0-9a-f]{64}$/;
function isObject(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isInt(v) {
    return Number.isSafeInteger(v);
}
/** Why `v` is not a LayerKey; undefined when it is one. */
export function layerKeyProblem(v) {
    if (!isObject(v))
        return 'not an object';
    if (!isInt(v.format))
        return 'format is not an integer';
    if (typeof v.mksquashfs !== 'string')
        return 'mksquashfs is not a string';
    if (v.sourceDateEpoch !== null && !isInt(v.sourceDateEpoch))
        return 'sourceDateEpoch is not an integer or null';
    if (v.parent !== null) {
        if (!isObject(v.parent) || typeof v.parent.name !== 'string' || typeof v.parent.digest !== 'string' || !SHA256.test(v.parent.digest)) {
            return 'parent is not {name, digest} or null';
        }
    }
    if (!Array.isArray(v.inputs))
        return 'inputs is not a list';
    for (const i of v.inputs) {
        if (!isObject(i) || typeof i.path !== 'string' || (i.kind !== 'file' && i.kind !== 'tree') || typeof i.digest !== 'string')
            return 'an input is not a fingerprint';
        if (!isInt(i.mode) || !isInt(i.uid) || !isInt(i.gid))
            return 'an input\'s mode, uid or gid is not an integer';
    }
    const r = v.recipe;
    if (!isObject(r))
        return 'recipe is not an object';
    if (!Array.isArray(r.steps) || !r.steps.every((s) => isObject(s) && Object.keys(s).length > 0))
        return 'recipe.steps is not a list of steps';
    if (!Array.isArray(r.exclude) || !r.exclude.every((e) => typeof e === 'string'))
        return 'recipe.exclude is not a list of strings';
    if (typeof r['prune-identical'] !== 'boolean')
        return 'recipe.prune-identical is not a boolean';
    const q = r.squashfs;
    if (!isObject(q) || typeof q.compression !== 'string' || (q.level !== null && !isInt(q.level)) || !isInt(q['block-size'])) {
        return 'recipe.squashfs is not {compression, level, block-size}';
    }
    return undefined;
}
export function isLayerKey(v) {
    return layerKeyProblem(v) === undefined;
}
/** A manifest entry's squashfs options, as a key's recipe has them: {compression, level, block-size}. */
export function isSquashfsOptions(v) {
    return (isObject(v) &&
        ['gzip', 'lzo', 'lz4', 'xz', 'zstd'].includes(v.compression) &&
        (v.level === null || isInt(v.level)) &&
        isInt(v['block-size']));
}
//# sourceMappingURL=key-shape.js.map