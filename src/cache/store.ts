// The cache as an interface, the only shape the engine sees (as wireit's executor only sees
// its Cache): a local directory today, an OCI registry behind the same shape later. Keys map
// to records; records name content-addressed blobs. A store hands out local files: a remote
// one would download a hit before answering and upload a new blob when it is committed.

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
  /** A local file holding the blob (a build loop-mounts it as a lower). */
  blobPath: string;
}

/** What a look-up found. */
export type Lookup =
  | { found: 'hit'; hit: Hit }
  | { found: 'miss' }
  /** The entry exists but its blob no longer has the recorded bytes; `detail` says how it differs. */
  | { found: 'corrupt'; record: KeyRecord; detail: string };

/** What a look-up that changes nothing found: the blob's digest and size, not the whole record. */
export type Peek =
  | { found: 'hit'; digest: Sha256; size: number }
  | { found: 'miss' }
  | { found: 'corrupt'; detail: string }
  /** Only from a store with a remote cache: the entry is in the registry (`from`), and `get` would download it. */
  | { found: 'remote'; record: KeyRecord; from: string };

/** What planning and --dry-run need: look-ups that change nothing, anywhere. */
export interface StoreReader {
  /** The entry for a key, its blob verified; nothing evicted, claimed or touched. */
  peek(key: KeyDigest): Promise<Peek>;
}

/** A layer being written: a local file to write, then stored under its key or dropped. */
export interface NewBlob {
  /** Where to write the layer (mksquashfs's output); nobody else writes or reads it. */
  readonly path: string;
  /** Stores the written file under the key; the file is the store's from then on. */
  commit(key: LayerKey, keyDigest: KeyDigest): Promise<Hit>;
  /** Drops the file (the build failed or was interrupted); harmless after commit. */
  discard(): Promise<void>;
}

/** What a build needs: look-ups that claim what they find, new blobs, and outputs. */
export interface LayerStore extends StoreReader {
  /**
   * The entry for a key, its blob verified (re-hashed whenever its stat changed) and claimed
   * for this run; a corrupt entry is evicted.
   */
  get(key: KeyDigest): Promise<Lookup>;
  /** A place for a new layer's blob (cleaned up with the run if the run dies). */
  newBlob(layer: string): Promise<NewBlob>;
  /** Puts a hit's blob at `dest` (layers/NAME.sqsh), atomically replacing what was there. */
  materialize(hit: Hit, dest: string): Promise<void>;
  /** The run is over: its temp files go (committed blobs stay). */
  close(): Promise<void>;
}
