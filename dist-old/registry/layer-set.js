// push and pull of a layer set (registry/artifacts.ts says what it looks like in a registry).
// Push publishes what layers/manifest.json describes, each file checked against its digest
// first. Pull downloads every layer to a temp name next to its target, verified while it
// streams; only when all of them verify are they renamed into layers/ and the manifest
// written: any mismatch leaves layers/ as it was.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sha256OfFile } from '../cache/digest.js';
import { ManifestWriter, readManifestFile } from '../layer/manifest.js';
import { printableInline } from '../process/printable.js';
import { isLayerName } from '../recipe/layer-name.js';
import { CONFIG_ANNOTATION, checkLayerSet, descriptorOf, EMPTY_CONFIG, layerDescriptor, layerSetManifest, MEDIA, parseManifest, } from './artifacts.js';
import { registryFailure } from './http.js';
import { formatReference } from './reference.js';
/** The layers to publish, base first: LAYER's stack, or every layer of the manifest. */
export function selectLayers(m, layer) {
    const known = (n) => m.layers[n] !== undefined;
    if (layer !== undefined) {
        const stack = [];
        for (let n = layer; n !== null; n = m.layers[n].parent) {
            if (!known(n))
                throw new Error(n === layer ? `layer ${n} is not in layers/manifest.json` : `layer ${n} (below ${layer}) is not in layers/manifest.json`);
            stack.unshift(n);
        }
        return stack;
    }
    const order = [];
    const placed = new Set();
    const place = (n) => {
        if (placed.has(n))
            return;
        const parent = m.layers[n].parent;
        if (parent !== null) {
            if (!known(parent))
                throw new Error(`layer ${n}'s parent ${parent} is not in layers/manifest.json`);
            place(parent);
        }
        placed.add(n);
        order.push(n);
    };
    for (const n of Object.keys(m.layers).sort())
        place(n);
    return order;
}
/** `sqsh_layers=top:...:base` for each layer of the set that no other one stacks on. */
function kernelLines(m, names) {
    const parents = new Set(names.map((n) => m.layers[n].parent));
    return names
        .filter((n) => !parents.has(n))
        .map((top) => {
        const stack = [];
        for (let n = top; n !== null; n = m.layers[n].parent)
            stack.push(n);
        return `sqsh_layers=${stack.join(':')}`;
    });
}
export async function pushLayerSet(repo, ref, layersDir, o) {
    const m = await readManifestFile(layersDir);
    if (!m || Object.keys(m.layers).length === 0)
        throw registryFailure(ref.registry, 'nothing to push: layers/manifest.json is missing or empty', 'run sqsh-layers build first');
    let names;
    try {
        names = selectLayers(m, o.layer);
    }
    catch (err) {
        throw registryFailure(ref.registry, `nothing pushed: ${err.message}`, 'run sqsh-layers build first');
    }
    // Every file has the bytes the manifest says, or nothing is published. The file hashed is
    // the file uploaded: NAME.sqsh, and an entry that names another file is refused.
    for (const n of names) {
        const e = m.layers[n];
        if (!isLayerName(n))
            throw registryFailure(ref.registry, `nothing pushed: "${printableInline(n.slice(0, 80))}" in layers/manifest.json is not a layer name`);
        if (e.file !== `${n}.sqsh`) {
            throw registryFailure(ref.registry, `nothing pushed: layer ${n} in layers/manifest.json names the file "${printableInline(String(e.file).slice(0, 80))}", not ${n}.sqsh`);
        }
        const actual = await sha256OfFile(path.join(layersDir, `${n}.sqsh`)).catch(() => undefined);
        if (actual !== e.sha256) {
            throw registryFailure(ref.registry, `nothing pushed: layers/${n}.sqsh ${actual ? 'changed since it was built' : 'is missing'}`, 'run sqsh-layers build first');
        }
    }
    const entries = names.map((n) => {
        const e = m.layers[n];
        const key = e.key !== undefined ? { keyDigest: e.keyDigest, key: e.key } : {};
        return { name: n, parent: e.parent, sha256: e.sha256, size: e.size, squashfs: e.squashfs, ...key, builtAt: e.builtAt };
    });
    const config = { layers: entries, sqshLayers: kernelLines(m, names) };
    const set = layerSetManifest(config, o.annotations, o.compat);
    const pushed = [];
    if (o.dryRun) {
        // Look-ups only: nothing is uploaded, mounted or tagged.
        for (const e of entries) {
            const there = await repo.hasBlob(`sha256:${e.sha256}`);
            pushed.push({ name: e.name, sha256: e.sha256, size: e.size, blob: there ? 'exists' : 'would upload' });
        }
        return { digest: descriptorOf(MEDIA.manifest, set.manifest).digest, layers: pushed };
    }
    for (const e of entries) {
        const blob = await repo.pushBlob({ file: path.join(layersDir, `${e.name}.sqsh`) }, layerDescriptor(e.name, e.sha256, e.size), {
            mountFrom: o.mountFrom,
            label: `${e.name}.sqsh`,
        });
        pushed.push({ name: e.name, sha256: e.sha256, size: e.size, blob });
    }
    await repo.pushBlob({ bytes: set.config }, set.configDescriptor);
    const digest = await repo.putManifest(ref.tag ?? 'latest', set.manifest, MEDIA.manifest);
    return { digest, layers: pushed };
}
export async function pullLayerSet(repo, ref, layersDir, runId, o = {}) {
    const refused = (why) => registryFailure(ref.registry, `${formatReference(ref)}: ${why}: refused, nothing written`);
    const got = await repo.getManifest(ref.digest ?? ref.tag ?? 'latest', MEDIA.manifest);
    let config;
    try {
        const m = parseManifest(got.bytes, MEDIA.layerSet);
        let raw;
        if (m.config.mediaType === MEDIA.empty) {
            // --compat: the config rides in an annotation; the empty blob is `{}` by definition.
            if (m.config.digest !== descriptorOf(MEDIA.empty, EMPTY_CONFIG).digest)
                throw new Error('an empty config that is not {}');
            raw = m.annotations?.[CONFIG_ANNOTATION] ?? '';
        }
        else {
            raw = (await repo.readBlob(m.config)).toString('utf8');
        }
        config = checkLayerSet(JSON.parse(raw), m);
    }
    catch (err) {
        if (err.failure !== undefined)
            throw err;
        throw refused(err.message);
    }
    if (o.dryRun) {
        // The manifest and config were read and checked; nothing is downloaded or written.
        const layers = [];
        for (const l of config.layers)
            layers.push({ name: l.name, sha256: l.sha256, size: l.size, downloaded: !(await hasBytes(path.join(layersDir, `${l.name}.sqsh`), l.size, l.sha256)) });
        const listed = { version: 1, layers: Object.fromEntries(config.layers.map((l) => [l.name, { parent: l.parent }])) };
        return { digest: got.digest, layers, sqshLayers: kernelLines(listed, config.layers.map((l) => l.name)) };
    }
    await fs.mkdir(layersDir, { recursive: true });
    // Temp names that a later build recognizes as stale (engine/session.ts: removeStaleTemps).
    const temps = new Map();
    const out = [];
    try {
        for (const l of config.layers) {
            const dest = path.join(layersDir, `${l.name}.sqsh`);
            if (await hasBytes(dest, l.size, l.sha256)) {
                out.push({ name: l.name, sha256: l.sha256, size: l.size, downloaded: false });
                continue;
            }
            const tmp = path.join(layersDir, `.${l.name}.sqsh.${runId}.tmp`);
            await fs.rm(tmp, { force: true });
            temps.set(l.name, tmp);
            await repo.pullBlob(layerDescriptor(l.name, l.sha256, l.size), tmp, `${l.name}.sqsh`);
            out.push({ name: l.name, sha256: l.sha256, size: l.size, downloaded: true });
        }
        for (const [name, tmp] of temps) {
            await fs.chmod(tmp, 0o444);
            await fs.rename(tmp, path.join(layersDir, `${name}.sqsh`));
            temps.delete(name);
        }
    }
    finally {
        for (const tmp of temps.values())
            await fs.rm(tmp, { force: true });
    }
    const before = await readManifestFile(layersDir);
    const writer = new ManifestWriter(layersDir, before ?? { version: 1, layers: {} }, before !== undefined);
    const layers = {};
    for (const l of config.layers) {
        // Only the checked fields, not whatever else the config's objects carry.
        const key = l.key !== undefined ? { keyDigest: l.keyDigest, key: l.key } : {};
        layers[l.name] = { file: `${l.name}.sqsh`, parent: l.parent, sha256: l.sha256, size: l.size, squashfs: l.squashfs, builtAt: l.builtAt, ...key };
        await writer.update(l.name, layers[l.name]);
    }
    await writer.flush();
    // The kernel lines from the checked parents, not the config's text (it may carry anything).
    const pulled = { version: 1, layers };
    return { digest: got.digest, layers: out, sqshLayers: kernelLines(pulled, config.layers.map((l) => l.name)) };
}
/** Whether `file` holds exactly these bytes. */
async function hasBytes(file, size, sha256) {
    const st = await fs.stat(file).catch(() => undefined);
    return st !== undefined && st.isFile() && st.size === size && (await sha256OfFile(file)) === sha256;
}
//# sourceMappingURL=layer-set.js.map