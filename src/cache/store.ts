// The cache as an interface: a local directory today, an OCI registry behind the same
// shape later. Keys map to records; records name content-addressed blobs.

import type { KeyDigest, Sha256 } from './digest.js';
import type { LayerKey } from './key.js';

export interface KeyRecord {
  keyDigest: KeyDigest;
  key: LayerKey;
  /** The layer's bytes. */
  digest: Sha256;
  size: number;
  /** The layer it was built as (informational: the same bytes may serve another name). */
  layer: string;
  createdAt: string;
}

export interface Hit {
  record: KeyRecord;
  /** A local file holding the verified blob. */
  blobPath: string;
}

export interface LayerStore {
  /** The entry for a key, with its blob verified; undefined when absent or corrupt (then evicted). */
  get(key: KeyDigest): Promise<Hit | undefined>;
  /** Whether an entry exists, without verifying its blob (for planning). */
  peek(key: KeyDigest): Promise<KeyRecord | undefined>;
  /** Moves `file` (on the store's filesystem, see tmpPath) into the store under `key`. */
  put(key: LayerKey, keyDigest: KeyDigest, file: string, layer: string): Promise<Hit>;
  /** A temp file name on the store's filesystem, named after the run (cleaned if the run dies). */
  tmpPath(runId: string, name: string): Promise<string>;
}
