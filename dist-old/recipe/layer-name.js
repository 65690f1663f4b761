// What a layer may be called: the recipe file's stem. It goes into file names and into the
// colon-separated sqsh_layers= kernel parameter. One definition for the loader and the schema.
/** The pattern as JSON Schema text (the schema of `parent:` uses it too). */
export const LAYER_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]*$';
export const LAYER_NAME_MAX = 64;
const LAYER_NAME = new RegExp(LAYER_NAME_PATTERN, 'u');
export function isLayerName(name) {
    return LAYER_NAME.test(name) && name.length <= LAYER_NAME_MAX;
}
//# sourceMappingURL=layer-name.js.map