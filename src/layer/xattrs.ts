// Extended attributes in bulk, through getfattr/setfattr (attr package): one process lists
// a whole tree, and removals are batched, so thousands of entries cost a few processes.

import type { Runner } from '../process/run.js';

/** Attribute name → value, per host path. */
export type XattrMap = Map<string, Map<string, string>>;

/**
 * Arguments per process, in bytes. Commands reach the kernel as one `bash -c` string (zx),
 * which a single argument's limit (MAX_ARG_STRLEN, 128 KiB) caps, quoting included.
 */
const BATCH_BYTES = 64 * 1024;

/** Splits paths into argument lists of at most BATCH_BYTES each. */
export function batches(paths: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let size = 0;
  for (const p of paths) {
    const len = Buffer.byteLength(p) + 1;
    if (cur.length > 0 && size + len > BATCH_BYTES) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(p);
    size += len;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** getfattr escapes unprintable bytes, `\` and `=` in names as \ooo octal. */
function unescapePath(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function parseGetfattr(text: string): XattrMap {
  const out: XattrMap = new Map();
  let current: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      out.set(unescapePath(line.slice('# file: '.length)), current);
    } else if (current && line !== '') {
      const eq = line.indexOf('=');
      if (eq > 0) current.set(line.slice(0, eq), line.slice(eq + 1));
      else current.set(line, '');
    }
  }
  return out;
}

/** Every xattr of every entry below `dir` (symlinks themselves, not their targets). */
export async function readTreeXattrs(runner: Runner, dir: string): Promise<XattrMap> {
  const res = await runner.query(['getfattr', '-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir], {
    tailLines: 5,
    okCodes: [0, 1],
  });
  return parseGetfattr(res.stdout);
}

/** Every xattr of the given entries (which must exist). */
export async function readXattrs(runner: Runner, paths: string[]): Promise<XattrMap> {
  const out: XattrMap = new Map();
  for (const chunk of batches(paths)) {
    const res = await runner.query(['getfattr', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', ...chunk], {
      tailLines: 5,
      okCodes: [0, 1],
    });
    for (const [p, attrs] of parseGetfattr(res.stdout)) out.set(p, attrs);
  }
  return out;
}

/** Removes attribute `name` from each path, in batches. */
export async function removeXattr(runner: Runner, name: string, paths: string[]): Promise<void> {
  for (const chunk of batches(paths)) {
    await runner.run(['setfattr', '-h', '-x', name, '--', ...chunk]);
  }
}
