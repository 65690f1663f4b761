// Where merge, commit and capture find their layers and put the new one. In a project (-C):
// layers/NAME.sqsh, parents from layers/manifest.json, the project's squashfs options, and a
// manifest entry for the result. With --out DIR: bare .sqsh files, named by path or looked up
// in --layers-dir DIR (default: the output dir), the default squashfs options.
import { sha256OfFile } from '../cache/digest.js';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { LAYERS_DIR } from '../engine/session.js';
import { FailureError } from '../failure.js';
import { readManifest } from '../layer/manifest.js';
import { DEFAULT_SQUASHFS } from '../recipe/recipe-model.js';
import { LAYER_NAME_PATTERN } from '../recipe/layer-name.js';
import { sourceDateEpochFromEnv } from './env.js';
import { openProject } from './project.js';
const usage = (message) => new FailureError({ reason: 'usage', message });
export function checkLayerName(name, what) {
    if (!new RegExp(LAYER_NAME_PATTERN, 'u').test(name) || name.length > 64) {
        throw usage(`${what} "${name}" is not a layer name: lowercase letters, digits, ".", "_", "-", starting with a letter or digit, at most 64 characters`);
    }
}
export async function openLayerSet(g, o, io) {
    const envSde = sourceDateEpochFromEnv(io.env);
    if (o.out !== undefined) {
        const outDir = path.resolve(io.cwd, o.out);
        const lookup = o.layersDir !== undefined ? path.resolve(io.cwd, o.layersDir) : outDir;
        if (!(await fs.stat(outDir).catch(() => undefined))?.isDirectory())
            throw usage(`--out ${o.out} is not a directory`);
        const resolveBare = (arg) => {
            const byPath = arg.includes('/') || arg.endsWith('.sqsh');
            const file = byPath ? path.resolve(io.cwd, arg) : path.join(lookup, `${arg}.sqsh`);
            const name = path.basename(file).replace(/\.sqsh$/, '');
            if (!existsSync(file))
                throw usage(`layer ${arg}: ${file} does not exist`);
            return { name, file };
        };
        return {
            project: undefined,
            outDir,
            pack: { squashfs: DEFAULT_SQUASHFS, sourceDateEpoch: envSde, tmpfsSize: o.tmpfsSize ?? '50%' },
            resolve: resolveBare,
            verify: () => Promise.resolve(),
            has: (name) => existsSync(path.join(lookup, `${name}.sqsh`)),
            lowersOf: () => undefined,
            output: (name) => ({ dir: outDir, name }),
        };
    }
    if (o.layersDir !== undefined)
        throw usage('--layers-dir goes with --out (bare .sqsh files); in a project the layers are in layers/');
    const { project } = await openProject(g.dir, { checkInputs: false, cacheDir: g.cache });
    const layersDir = path.join(project.config.dir, LAYERS_DIR);
    const manifest = await readManifest(layersDir);
    const known = () => Object.keys(manifest.layers).sort();
    const lowersOf = (name) => {
        const out = [];
        for (let p = manifest.layers[name]?.parent; p; p = manifest.layers[p]?.parent) {
            if (out.includes(p) || out.length > 1000)
                break;
            out.push(p);
        }
        return out;
    };
    return {
        project: { dir: project.config.dir, manifest },
        outDir: layersDir,
        pack: {
            squashfs: project.config.squashfs,
            sourceDateEpoch: envSde ?? project.config.sourceDateEpoch,
            tmpfsSize: o.tmpfsSize ?? project.config.tmpfsSize,
        },
        resolve: (arg) => {
            const file = path.join(layersDir, `${arg}.sqsh`);
            if (!manifest.layers[arg] || !existsSync(file)) {
                throw new FailureError({ reason: 'unknown-layer', names: [arg], known: known() });
            }
            return { name: arg, file };
        },
        verify: async (layers) => {
            for (const l of layers) {
                const want = manifest.layers[l.name]?.sha256;
                if (l.file === undefined || want === undefined)
                    continue;
                const got = await sha256OfFile(l.file);
                if (got !== want) {
                    throw new FailureError({
                        reason: 'layer-op',
                        message: `${path.relative(project.config.dir, l.file)} does not match layers/manifest.json (sha256 ${got.slice(0, 12)}, expected ${want.slice(0, 12)})`,
                        hint: `rebuild it (sqsh-layers build ${l.name} --force) or restore the file`,
                    });
                }
            }
        },
        has: (name) => manifest.layers[name] !== undefined && existsSync(path.join(layersDir, `${name}.sqsh`)),
        lowersOf,
        output: (name, parent, madeBy) => {
            if (project.recipes.has(name))
                throw usage(`recipes/${name}.yaml builds layer ${name}: a build would replace what this writes; choose another name`);
            return { dir: layersDir, name, manifest: { parent, madeBy, squashfs: project.config.squashfs } };
        },
    };
}
/** `sqsh_layers=a:b:c`, with `:...` when the layers below are not known. */
export function layersLine(stack, more) {
    return `sqsh_layers=${stack.join(':')}${more ? ':...' : ''}`;
}
//# sourceMappingURL=layer-set.js.map