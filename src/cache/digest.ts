// Digests with branded types, so a path or a key can never be passed where a content
// digest is expected. Hashing streams: memory stays flat however big the input.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { hashOnWorker } from '../process/file-workers.js';

/** Hex sha256 of some bytes (a blob, an input file, a tree listing). */
export type Sha256 = string & { readonly __brand: 'Sha256' };
/** Hex sha256 of a canonical key record: the name of a cache entry. */
export type KeyDigest = string & { readonly __brand: 'KeyDigest' };

export function isSha256(s: string): s is Sha256 {
  return /^[0-9a-f]{64}$/.test(s);
}

export function sha256OfString(s: string): Sha256 {
  return createHash('sha256').update(s).digest('hex') as Sha256;
}

/** Files up to this size are hashed on the calling thread: handing them over costs more. */
const ON_THREAD = 1 << 20;
const small = Buffer.allocUnsafe(ON_THREAD);

/**
 * `file` as a Buffer: a name of any bytes (layer/byte-path.ts). A big file is hashed on a
 * worker thread (process/file-workers.ts), so several are hashed on several cores and none holds up the
 * event loop; a small one is read whole with plain system calls.
 */
export async function sha256OfFile(file: string | Buffer, signal?: AbortSignal): Promise<Sha256> {
  signal?.throwIfAborted();
  const name = typeof file === 'string' ? Buffer.from(file) : file;
  const fd = openSync(name, 'r');
  try {
    if (fstatSync(fd).size > ON_THREAD) return (await hashOnWorker(name, signal)) as Sha256;
    const hash = createHash('sha256');
    for (;;) {
      const n = readSync(fd, small, 0, small.length, null);
      if (n === 0) return hash.digest('hex') as Sha256;
      hash.update(small.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/** JSON with object keys sorted at every level: equal data, equal text, equal digest. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
