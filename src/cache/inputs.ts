// Fingerprints of a recipe's inputs: content digests (through the stat cache) plus mode and
// owner, for files and for whole trees.

import { lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import { bytesOf, readLinkNameSync, readNamesSync } from '../layer/byte-path.js';
import type { Recipe } from '../recipe/types.js';
import { checkInterrupted } from '../process/interrupt.js';
import { sha256OfString } from './digest.js';
import type { InputFingerprint } from './key.js';
import type { StatCache } from './stat-cache.js';

export async function fingerprintInputs(r: Recipe, stats: StatCache, signal: AbortSignal): Promise<InputFingerprint[]> {
  const out: InputFingerprint[] = [];
  for (const s of r.steps) {
    if (!('input' in s)) continue;
    try {
      out.push(await fingerprint(s.input.path, s.input.abs, stats, signal));
    } catch (err) {
      // A read cut short by the interrupt is the interrupt, not a broken input.
      checkInterrupted(signal);
      throw err;
    }
  }
  return out;
}

export async function fingerprint(shown: string, abs: string, stats: StatCache, signal: AbortSignal): Promise<InputFingerprint> {
  // Plain system calls throughout: a fleet's thousands of small inputs are mostly metadata.
  const st = statSync(abs, { bigint: true });
  const base = { path: shown, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
  if (!st.isDirectory()) return { ...base, kind: 'file', digest: await stats.digest(abs, signal, st.isFile() ? st : undefined) };
  // A tree: one line per entry, sorted, with everything a copy carries into the layer. Names
  // are bytes (layer/byte-path.ts): one that is not UTF-8 is read and keyed as it is.
  const lines: string[] = [];
  const visit = async (rel: string) => {
    checkInterrupted(signal);
    const dir = path.join(abs, rel);
    for (const name of readNamesSync(dir).map((e) => e.name).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = path.join(abs, r);
      // The stat cache takes a regular file's lstat as its stat: one system call per entry.
      const e = lstatSync(bytesOf(p), { bigint: true });
      const head = `${JSON.stringify(r)} ${(e.mode & 0o7777n).toString(8)} ${e.uid}:${e.gid}`;
      if (e.isDirectory()) {
        lines.push(`${head} dir`);
        await visit(r);
      } else if (e.isSymbolicLink()) {
        lines.push(`${head} symlink ${JSON.stringify(readLinkNameSync(p))}`);
      } else if (e.isFile()) {
        lines.push(`${head} file ${await stats.digest(p, signal, e)}`);
      } else {
        lines.push(`${head} special ${e.mode >> 12n} ${e.rdev}`);
      }
    }
  };
  await visit('');
  return { ...base, kind: 'tree', digest: sha256OfString(lines.join('\n')) };
}
