// The remote cache: an OCI registry behind the same store shape as the local cache, in
// front of which it sits. A look-up the local cache misses is asked of the registry
// (`cache-from`, a HEAD on the key's tag: registry/artifacts.ts); a hit there is downloaded,
// verified, and stored locally, so the engine gets a local file as always. Every layer the
// run builds or takes from a cache is exported to `cache-to` in the background; the run
// waits for the exports when it closes. Best effort: a registry that is down, slow or
// refuses gives one warning and the run goes on with the local cache alone.

import { explainFailure, failureOf } from '../failure.js';
import { cacheEntry, cacheTag, checkCacheRecord, MEDIA, parseManifest } from '../registry/artifacts.js';
import type { Repository } from '../registry/repository.js';
import type { KeyDigest } from './digest.js';
import type { LocalStore } from './local-store.js';
import type { Hit, KeyRecord, LayerStore, Lookup, NewBlob, Peek, StoreReader } from './store.js';

/** One registry repository used as a cache, switched off for the run at its first failure. */
export class RemoteCache {
  private down = false;
  /** Keys known to have an entry (found there, or exported this run). */
  private readonly present = new Set<KeyDigest>();
  /** Keys whose entry was found invalid (warned about once, not asked again). */
  private readonly invalid = new Set<KeyDigest>();

  constructor(
    readonly ref: string,
    readonly repo: Repository,
    private readonly warn: (m: string) => void,
    private readonly signal: AbortSignal,
  ) {}

  /** Runs `fn` unless the registry failed before; its first failure is the one warning. */
  private async guarded<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (this.down) return undefined;
    try {
      return await fn();
    } catch (err) {
      if (this.signal.aborted) throw err;
      if (!this.down) {
        this.down = true;
        this.warn(`remote cache ${this.ref} unusable (${explainFailure(failureOf(err)).message}); going on with the local cache only`);
      }
      return undefined;
    }
  }

  /** The entry of a key, its record checked against the key; an invalid entry is a miss (with a warning). */
  lookup(key: KeyDigest): Promise<KeyRecord | undefined> {
    if (this.invalid.has(key)) return Promise.resolve(undefined);
    return this.guarded(async () => {
      const tag = cacheTag(key);
      const digest = await this.repo.headManifest(tag, MEDIA.manifest);
      if (digest === undefined) return undefined;
      const { bytes } = await this.repo.getManifest(tag, MEDIA.manifest);
      try {
        const m = parseManifest(bytes, MEDIA.cache);
        const record = checkCacheRecord(await this.repo.readBlob(m.config), m, key);
        this.present.add(key);
        return record;
      } catch (err) {
        if ((err as { failure?: unknown }).failure !== undefined) throw err;
        this.invalid.add(key);
        this.warn(`remote cache ${this.ref}: entry ${tag} is not valid (${(err as Error).message}); not used`);
        return undefined;
      }
    });
  }

  /** Downloads an entry's layer into `dest`, verified by digest; false when it could not be. */
  async download(record: KeyRecord, dest: string): Promise<boolean> {
    const entry = cacheEntry(record);
    return (await this.guarded(() => this.repo.pullBlob(entry.layer, dest, `${record.layer}.sqsh`).then(() => true))) ?? false;
  }

  /** Puts a stored layer in the cache under its key, unless it is there. */
  async export(hit: Hit, mountFrom?: string): Promise<void> {
    const { record } = hit;
    if (this.present.has(record.keyDigest)) return;
    await this.guarded(async () => {
      const tag = cacheTag(record.keyDigest);
      // An invalid entry under the key's tag (found by this run's look-up) is replaced.
      if (this.invalid.has(record.keyDigest) || (await this.repo.headManifest(tag, MEDIA.manifest)) === undefined) {
        const entry = cacheEntry(record);
        await this.repo.pushBlob({ file: hit.blobPath }, entry.layer, { mountFrom, label: `${record.layer}.sqsh` });
        await this.repo.pushBlob({ bytes: entry.config }, entry.configDescriptor);
        // Whoever writes a key's tag first or last, the entry is valid: same key, same kind of content.
        await this.repo.putManifest(tag, entry.manifest, MEDIA.manifest);
      }
      this.present.add(record.keyDigest);
      this.invalid.delete(record.keyDigest);
    });
  }
}

/** What plan and --dry-run see: the local cache, then the registry's entries. */
export class RemoteReader implements StoreReader {
  constructor(
    private readonly local: StoreReader,
    private readonly from: RemoteCache,
  ) {}

  async peek(key: KeyDigest): Promise<Peek> {
    const found = await this.local.peek(key);
    if (found.found !== 'miss') return found;
    const record = await this.from.lookup(key);
    return record ? { found: 'remote', record, from: this.from.ref } : found;
  }
}

/** A build's store: the local one, filled from `from` and exported to `to`. */
export class RemoteStore implements LayerStore {
  private exports: Promise<void> = Promise.resolve();

  constructor(
    private readonly local: LocalStore,
    private readonly from: RemoteCache | undefined,
    private readonly to: RemoteCache | undefined,
    private readonly signal: AbortSignal,
  ) {}

  peek(key: KeyDigest): Promise<Peek> {
    return this.from ? new RemoteReader(this.local, this.from).peek(key) : this.local.peek(key);
  }

  async get(key: KeyDigest): Promise<Lookup> {
    const found = await this.local.get(key);
    if (found.found === 'hit') {
      this.exportLater(found.hit);
      return found;
    }
    const record = this.from ? await this.from.lookup(key) : undefined;
    if (!record || !this.from) return found;
    const blob = await this.local.newBlob(record.layer);
    try {
      if (!(await this.from.download(record, blob.path))) {
        await blob.discard();
        return found;
      }
      const hit = await blob.commit(record.key, key);
      this.exportLater(hit);
      return { found: 'hit', hit };
    } catch (err) {
      await blob.discard().catch(() => {});
      throw err;
    }
  }

  async newBlob(layer: string): Promise<NewBlob> {
    const blob = await this.local.newBlob(layer);
    return {
      path: blob.path,
      discard: () => blob.discard(),
      commit: async (key, keyDigest) => {
        const hit = await blob.commit(key, keyDigest);
        this.exportLater(hit);
        return hit;
      },
    };
  }

  materialize(hit: Hit, dest: string): Promise<void> {
    return this.local.materialize(hit, dest);
  }

  /** One export at a time, behind the build: the upload link is shared anyway. */
  private exportLater(hit: Hit): void {
    const to = this.to;
    if (!to) return;
    // Same registry: the layer blob may be mounted from the cache-from repository instead of uploaded.
    const mountFrom = this.from && this.from.repo.registry === to.repo.registry ? this.from.repo.name : undefined;
    this.exports = this.exports.then(() => (this.signal.aborted ? undefined : to.export(hit, mountFrom))).catch(() => {});
  }

  async close(): Promise<void> {
    await this.exports;
    await this.local.close();
  }
}
