// What a LAYER argument of inspect, diff, verify and shell names: a layer of the project
// (layers/NAME.sqsh, on the layers of its recipe's parent chain), or a .sqsh file anywhere
// (with its parents when a manifest.json beside it names it, as in a copied layers/ dir).
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { readManifestFile } from '../layer/manifest.js';
import { stackOf } from '../plan/graph.js';
import { printable } from '../process/run.js';
import { isLayerName } from '../recipe/layer-name.js';
import { LAYERS_DIR } from './session.js';
/** Whether an argument is a file path rather than a layer name. */
export function isPathArgument(arg) {
    return arg.includes('/') || arg.endsWith('.sqsh') || !isLayerName(arg);
}
/**
 * Resolves `arg`. `project` is asked only for a layer name (it loads the recipes): it gives
 * the project dir and the layer's stack of names.
 */
export async function resolveLayer(arg, cwd, project) {
    if (isPathArgument(arg))
        return resolveFile(arg, path.resolve(cwd, arg));
    const p = await project();
    const names = p.stack(arg);
    const layersDir = path.join(p.dir, LAYERS_DIR);
    const stack = names.map((name) => ({ name, file: path.join(layersDir, `${name}.sqsh`) }));
    const missing = stack.filter((l) => !existsSync(l.file));
    if (missing.length > 0) {
        throw new FailureError({ reason: 'not-built', layers: missing.map((l) => l.name), target: arg });
    }
    return { label: arg, stack, manifest: await readManifestFile(layersDir), projectLayer: arg };
}
async function resolveFile(label, file) {
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile())
        throw new FailureError({ reason: 'usage', message: `${label}: no such layer file` });
    const dir = path.dirname(file);
    const manifest = await readManifestFile(dir);
    const base = path.basename(file);
    const named = manifest && Object.entries(manifest.layers).find(([, e]) => e.file === base);
    if (!manifest || !named)
        return { label, stack: [{ name: base.replace(/\.sqsh$/, ''), file }], manifest: undefined, projectLayer: undefined };
    // The parent chain as the manifest records it; each parent's file beside this one.
    const stack = [];
    const seen = new Set();
    for (let cur = named[0]; cur !== null; cur = manifest.layers[cur]?.parent ?? null) {
        const entry = manifest.layers[cur];
        if (!entry || seen.has(cur))
            throw new FailureError({ reason: 'usage', message: `${path.join(dir, 'manifest.json')}: the parents of ${printable(named[0])} are not all recorded` });
        // A manifest beside a downloaded file is not trusted to name files: only NAME.sqsh in
        // this directory, never a path elsewhere on the host or a device.
        if (!isLayerName(cur) || entry.file !== `${cur}.sqsh`) {
            throw new FailureError({ reason: 'usage', message: `${path.join(dir, 'manifest.json')}: layer "${printable(cur)}" is recorded as "${printable(String(entry.file))}", not as a layer file beside it` });
        }
        seen.add(cur);
        const f = path.join(dir, entry.file);
        const fst = await fs.lstat(f).catch(() => undefined);
        if (fst !== undefined && !fst.isFile())
            throw new FailureError({ reason: 'usage', message: `${f}: not a regular file` });
        if (!existsSync(f))
            throw new FailureError({ reason: 'not-built', layers: [cur], target: label });
        stack.push({ name: cur, file: f });
    }
    return { label, stack, manifest, projectLayer: undefined };
}
/** The stack of a project layer by its recipes, for resolveLayer. */
export function projectStack(graph) {
    return (name) => stackOf(graph, name);
}
//# sourceMappingURL=layer-ref.js.map