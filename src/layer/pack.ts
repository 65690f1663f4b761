// mksquashfs of a finalized upper dir, with the recipe's compression and block size,
// xattrs kept (opaque markers live there) and SOURCE_DATE_EPOCH for reproducible output.

import type { Runner } from '../process/run.js';
import { CommandError } from '../process/run.js';
import type { SquashfsOptions } from '../recipe/types.js';

export function mksquashfsArgs(o: SquashfsOptions): string[] {
  const args = ['-noappend', '-no-recovery', '-xattrs', '-comp', o.compression, '-b', String(o.blockSize)];
  if (o.level !== undefined) args.push('-Xcompression-level', String(o.level));
  return args;
}

export class PackError extends Error {
  constructor(
    message: string,
    readonly tail: string[],
  ) {
    super(message);
  }
}

export interface PackInput {
  upper: string;
  out: string;
  squashfs: SquashfsOptions;
  sourceDateEpoch: number | undefined;
  runner: Runner;
  onProgress?: (percent: number) => void;
}

/** Writes `out` (a temp name: the caller renames it into place). */
export async function pack(p: PackInput): Promise<void> {
  const env: Record<string, string> = {};
  // mksquashfs 4.5+ clamps newer mtimes to it and uses it as the filesystem time.
  if (p.sourceDateEpoch !== undefined) env.SOURCE_DATE_EPOCH = String(p.sourceDateEpoch);
  let last = -1;
  try {
    await p.runner.run(['mksquashfs', p.upper, p.out, ...mksquashfsArgs(p.squashfs)], {
      env,
      tailLines: 15,
      onLine: (line) => {
        const m = /\]\s+\d+\/\d+\s+(\d+)%\s*$/.exec(line);
        if (m && p.onProgress) {
          const pct = Number(m[1]);
          if (pct !== last) {
            last = pct;
            p.onProgress(pct);
          }
        }
      },
    });
  } catch (err) {
    if (err instanceof CommandError) {
      throw new PackError(`mksquashfs failed (exit code ${err.code ?? err.signal})`, err.tail.filter((l) => !/^\[.*\]\s+\d+\/\d+/.test(l)));
    }
    throw err;
  }
}
