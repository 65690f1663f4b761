// Giving memory back after a walk of a big tree. The walks of finalize (finalize.ts) allocate
// per entry; what lives across a few young-generation collections moves to the old one, where
// it stays, dead, until a full collection that a mostly idle build (waiting on tar, rsync or
// mksquashfs) may not reach for minutes: ~12 MB after 130k entries, held while the next layer
// builds. One full collection of our small heap takes 10-20 ms.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Entries a walk must have visited before a full collection is worth its time. */
export const COLLECT_AFTER_ENTRIES = 20_000;

let collect: (() => void) | null | undefined;

/** A full garbage collection now (V8's own `gc`, exposed for a new context only). */
export function collectGarbage(): void {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  collect?.();
}
