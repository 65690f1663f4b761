// Digests with branded types, so a path or a key can never be passed where a content
// digest is expected. Hashing streams: memory stays flat however big the input.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

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

/** `file` as a Buffer: a name of any bytes (layer/byte-path.ts). */
export async function sha256OfFile(file: string | Buffer, signal?: AbortSignal): Promise<Sha256> {
  const hash = createHash('sha256');
  const stream = createReadStream(file, { highWaterMark: 1 << 20, signal });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex') as Sha256;
}

/** JSON with object keys sorted at every level: equal data, equal text, equal digest. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
