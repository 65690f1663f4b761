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
  /** A local file holding the blob. */
  blobPath: string;
}

/** What a look-up found. */
export type Lookup =
  | { found: 'hit'; hit: Hit }
  | { found: 'miss' }
  /** The entry exists but its blob no longer has the recorded bytes; `detail` says how it differs. */
  | { found: 'corrupt'; record: KeyRecord; detail: string };

export interface LayerStore {
  /**
   * The entry for a key, its blob verified (re-hashed whenever its stat changed) and claimed
   * for this run; a corrupt entry is evicted.
   */
  get(key: KeyDigest): Promise<Lookup>;
  /** The same answer as get, with nothing evicted, claimed or touched (for planning). */
  peek(key: KeyDigest): Promise<Lookup>;
  /** Moves `file` (on the store's filesystem, see tmpPath) into the store under `key`. */
  put(key: LayerKey, keyDigest: KeyDigest, file: string, layer: string): Promise<Hit>;
  /** A temp file name on the store's filesystem, in the run's own directory (cleaned if the run dies). */
  tmpPath(name: string): Promise<string>;
}
