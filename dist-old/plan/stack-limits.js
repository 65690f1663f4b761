// The kernel's limits on a stack of layers, and the recipes whose stack goes past them. Pure.
/** overlayfs's OVL_MAX_STACK (fs/overlayfs/params.h): the most lower layers one mount takes. */
export const OVERLAY_MAX_LOWERS = 500;
/**
 * The legacy mount(2) copies one page of options and forces its last byte to NUL
 * (fs/namespace.c, path_mount): 4095 bytes of option text; the rest is cut off.
 */
export const MOUNT_OPTIONS_MAX = 4095;
/**
 * A layer is built on its ancestors as overlay lowers, so a layer with more than
 * OVERLAY_MAX_LOWERS ancestors cannot be built. Reported once per chain, at the parent key of
 * the first layer past the limit (the layers stacked on it are named in the same message).
 * The recipes must form a forest (no cycles, no unknown parents).
 */
export function deepStackDiagnostics(recipes) {
    const depth = new Map(); // layers in the stack, the layer itself included
    const depthOf = (name) => {
        const chain = [];
        let cur = name;
        while (cur !== undefined && !depth.has(cur)) {
            chain.push(cur);
            cur = recipes.get(cur)?.parent;
        }
        let d = cur !== undefined ? depth.get(cur) : 0;
        for (const n of chain.reverse())
            depth.set(n, ++d);
        return depth.get(name);
    };
    const out = [];
    for (const r of [...recipes.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (depthOf(r.name) !== OVERLAY_MAX_LOWERS + 2)
            continue;
        let bottom = r.name;
        while (recipes.get(bottom)?.parent !== undefined)
            bottom = recipes.get(bottom).parent;
        const above = [...recipes.keys()].filter((n) => n !== r.name && isAbove(recipes, n, r.name)).length;
        out.push({
            loc: r.locs.parent ?? r.locs.file,
            message: `the stack ${r.name}..${bottom} has ${OVERLAY_MAX_LOWERS + 2} layers: layer "${r.name}" would be built on ` +
                `${OVERLAY_MAX_LOWERS + 1} lowers, and overlayfs stacks at most ${OVERLAY_MAX_LOWERS}` +
                (above > 0 ? ` (the ${above} layer${above === 1 ? '' : 's'} stacked on it cannot be built either)` : ''),
            hint: `squash layers of the stack into one with "sqsh-layers merge NEW TOP..BOTTOM", or give ${r.name} a parent lower in the stack`,
        });
    }
    return out;
}
function isAbove(recipes, name, ancestor) {
    for (let cur = recipes.get(name)?.parent; cur !== undefined; cur = recipes.get(cur)?.parent) {
        if (cur === ancestor)
            return true;
    }
    return false;
}
//# sourceMappingURL=stack-limits.js.map