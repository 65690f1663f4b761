// Reading a value of parsed recipe data by its path (no YAML parser needed: recipes as loaded
// before, parsed-cache.ts, are built without one).
/** The value at `path` in parsed data; undefined where the path leaves it. */
export function valueAt(data, path) {
    let node = data;
    for (const s of path)
        node = node?.[s];
    return node;
}
//# sourceMappingURL=value-at.js.map