// The cache key of a layer: a typed record of everything that decides the layer's bytes.
// Its canonical JSON's sha256 names the cache entry.

import type { Recipe } from '../recipe/types.js';
import { canonicalJson, type KeyDigest, type Sha256, sha256OfString } from './digest.js';

/** Bumped whenever this tool would produce different bytes from the same inputs. */
export const LAYER_FORMAT = 1;

export interface InputFingerprint {
  /** As written in the recipe (names the input in explanations). */
  path: string;
  kind: 'file' | 'tree';
  /** Content digest: the file's bytes, or a tree listing with every entry's content. */
  digest: Sha256;
  /** Permission bits and owner of the file or tree root: copied into the layer. */
  mode: number;
  uid: number;
  gid: number;
}

/** A step as it affects the layer, keyed as in the recipe file (so changes read naturally). */
export type NormalizedStep = Record<string, unknown>;

/** The recipe as it affects the layer, keyed as in the recipe file. */
export interface NormalizedRecipe {
  steps: NormalizedStep[];
  exclude: string[];
  'prune-identical': boolean;
  squashfs: { compression: string; level: number | null; 'block-size': number };
}

export function normalizeRecipe(r: Recipe): NormalizedRecipe {
  const steps = r.steps.map((s): NormalizedStep => {
    switch (s.kind) {
      case 'restore':
        return { restore: s.input.path, to: s.to, replace: s.replace };
      case 'untar':
        return { untar: s.input.path, to: s.to, replace: s.replace };
      case 'copy':
        return { copy: s.input.path, to: s.to, owner: `${s.owner.uid}:${s.owner.gid}`, mode: s.mode ?? null, replace: s.replace };
      case 'run':
        return { run: s.script, network: s.network, env: s.env };
      case 'host':
        return { host: s.input.path, env: s.env };
      case 'remove':
        return { remove: s.paths };
    }
  });
  return {
    steps,
    exclude: r.exclude,
    'prune-identical': r.pruneIdentical,
    squashfs: { compression: r.squashfs.compression, level: r.squashfs.level ?? null, 'block-size': r.squashfs.blockSize },
  };
}

export interface LayerKey {
  /** The tool's layer-format version: a tool that packs differently must not reuse old entries. */
  format: number;
  /** What the recipe asks for; description, checks and tmpfs-size do not change the bytes. */
  recipe: NormalizedRecipe;
  /** Content, mode and owner (not mtime) of every input, in step order. */
  inputs: InputFingerprint[];
  /** The parent's name and *output* digest: a parent rebuilt to identical bytes keeps its children cached. */
  parent: { name: string; digest: Sha256 } | null;
  /** mksquashfs version line: another version may pack the same tree differently. */
  mksquashfs: string;
  /** SOURCE_DATE_EPOCH clamps mtimes and sets the filesystem time. */
  sourceDateEpoch: number | null;
}

export function keyDigest(key: LayerKey): KeyDigest {
  return sha256OfString(canonicalJson(key)) as string as KeyDigest;
}
