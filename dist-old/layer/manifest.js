// layers/manifest.json: what is in layers/ — each layer's parent, digest, size, squashfs
// options, build time and the key it was built from (so `plan` can say what changed).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../cache/atomic-write.js';
import { canonicalJson } from '../cache/digest.js';
export const MANIFEST = 'manifest.json';
export async function readManifest(layersDir) {
    return (await readManifestFile(layersDir)) ?? { version: 1, layers: {} };
}
/** The manifest as it is on disk; undefined when absent or unreadable. */
export async function readManifestFile(layersDir) {
    try {
        const m = JSON.parse(await fs.readFile(path.join(layersDir, MANIFEST), 'utf8'));
        if (m.version === 1 && m.layers && typeof m.layers === 'object')
            return m;
    }
    catch {
        // absent or unreadable
    }
    return undefined;
}
export function manifestEntry(name, record) {
    return {
        file: `${name}.sqsh`,
        parent: record.key.parent?.name ?? null,
        sha256: record.digest,
        size: record.size,
        squashfs: record.key.recipe.squashfs,
        builtAt: record.createdAt,
        keyDigest: record.keyDigest,
        key: record.key,
    };
}
/**
 * Collects the run's manifest updates and writes the file once, atomically, when the run ends
 * (flush): a run of a thousand layers writes it once, not a thousand times.
 */
export class ManifestWriter {
    layersDir;
    onDisk;
    manifest;
    /** Whether `manifest` holds entries the file on disk may not have. */
    dirty = false;
    constructor(layersDir, manifest, onDisk) {
        this.layersDir = layersDir;
        this.onDisk = onDisk;
        this.manifest = { version: 1, layers: { ...manifest.layers } };
    }
    /** Records a layer; an entry that is already there as it is leaves the file untouched. */
    update(name, entry) {
        const known = this.manifest.layers[name];
        if (!this.onDisk || !known || canonicalJson(known) !== canonicalJson(entry)) {
            this.manifest.layers[name] = entry;
            this.dirty = true;
        }
        return Promise.resolve();
    }
    /** Writes the manifest if the run changed it (or it is absent); the next flush writes only new changes. */
    async flush() {
        if (!this.dirty)
            return;
        this.dirty = false;
        this.onDisk = true;
        const sorted = Object.fromEntries(Object.entries(this.manifest.layers).sort(([a], [b]) => a.localeCompare(b)));
        try {
            await writeAtomic(path.join(this.layersDir, MANIFEST), JSON.stringify({ version: 1, layers: sorted }, null, 2) + '\n');
        }
        catch (err) {
            this.dirty = true;
            throw err;
        }
    }
}
//# sourceMappingURL=manifest.js.map