// layers/manifest.json: what is in layers/ — each layer's parent, digest, size, squashfs
// options, build time and the key it was built from (so `plan` can say what changed).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { KeyRecord } from '../cache/store.js';
import { writeAtomic } from '../cache/atomic-write.js';
import { canonicalJson } from '../cache/digest.js';
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

/** Serializes manifest updates of concurrent layer builds and writes atomically. */
export class ManifestWriter {
  private chain: Promise<void> = Promise.resolve();
  /** Whether the file on disk is known to hold `manifest` (it may be absent or older). */
  private written: boolean;

  constructor(
    private readonly layersDir: string,
    private manifest: Manifest,
    onDisk: boolean,
  ) {
    this.written = onDisk;
  }

  /** Records a layer; an entry that is already there as it is leaves the file untouched. */
  update(name: string, entry: ManifestEntry): Promise<void> {
    this.chain = this.chain.then(async () => {
      const known = this.manifest.layers[name];
      if (this.written && known && canonicalJson(known) === canonicalJson(entry)) return;
      this.written = true;
      this.manifest = { ...this.manifest, layers: { ...this.manifest.layers, [name]: entry } };
      const sorted = Object.fromEntries(Object.entries(this.manifest.layers).sort(([a], [b]) => a.localeCompare(b)));
      await writeAtomic(path.join(this.layersDir, MANIFEST), JSON.stringify({ version: 1, layers: sorted }, null, 2) + '\n');
    });
    return this.chain;
  }
}
