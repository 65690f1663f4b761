// layers/manifest.json: what is in layers/ — each layer's parent, digest, size, squashfs
// options, build time and the key it was built from (so `plan` can say what changed).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { KeyRecord } from '../cache/store.js';
import { writeAtomic } from '../cache/atomic-write.js';
import type { LayerKey } from '../cache/key.js';

export const MANIFEST = 'manifest.json';

export interface ManifestEntry {
  file: string;
  parent: string | null;
  sha256: string;
  size: number;
  squashfs: LayerKey['recipe']['squashfs'];
  builtAt: string;
  /** The recipe key a built layer was made from; absent for a layer made by merge, commit or capture. */
  keyDigest?: string;
  key?: LayerKey;
  /** How a layer not built from a recipe was made (merge, commit, capture) and from what. */
  madeBy?: { command: 'merge' | 'commit' | 'capture'; from: string[] };
}

export interface Manifest {
  version: 1;
  layers: Record<string, ManifestEntry>;
}

export async function readManifest(layersDir: string): Promise<Manifest> {
  return (await readManifestFile(layersDir)) ?? { version: 1, layers: {} };
}

/** The manifest as it is on disk; undefined when absent or unreadable. */
export async function readManifestFile(layersDir: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await fs.readFile(path.join(layersDir, MANIFEST), 'utf8')) as Manifest;
    if (m.version === 1 && m.layers && typeof m.layers === 'object') return m;
  } catch {
    // absent or unreadable
  }
  return undefined;
}

export function manifestEntry(name: string, record: KeyRecord): ManifestEntry {
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
  private readonly manifest: Manifest;
  /** Whether `manifest` holds entries the file on disk may not have. */
  private dirty = false;

  constructor(
    private readonly layersDir: string,
    manifest: Manifest,
    private onDisk: boolean,
  ) {
    this.manifest = { version: 1, layers: { ...manifest.layers } };
  }

  /** Records a layer; an entry that is already there as it is leaves the file untouched. */
  update(name: string, entry: ManifestEntry): Promise<void> {
    const known = this.manifest.layers[name];
    // Plain JSON text: the same entry read back has the same key order (a false "changed" only
    // costs a write).
    if (!this.onDisk || !known || JSON.stringify(known) !== JSON.stringify(entry)) {
      this.manifest.layers[name] = entry;
      this.dirty = true;
    }
    return Promise.resolve();
  }

  /** Writes the manifest if the run changed it (or it is absent); the next flush writes only new changes. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    this.onDisk = true;
    const sorted = Object.fromEntries(Object.entries(this.manifest.layers).sort(([a], [b]) => a.localeCompare(b)));
    try {
      await writeAtomic(path.join(this.layersDir, MANIFEST), JSON.stringify({ version: 1, layers: sorted }, null, 2) + '\n');
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}
