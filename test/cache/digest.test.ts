import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, isSha256, sha256OfFile, sha256OfString } from '../../src/cache/digest.js';
import { equalFiles } from '../../src/layer/prune.js';
import { tempDir } from '../support/project.js';

const dir = tempDir('digest');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('digests', () => {
  it('hashes strings and files as sha256 hex', async () => {
    expect(sha256OfString('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const file = path.join(dir, 'big');
    // More than one read chunk (1 MiB), so the streaming path is what is checked.
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');
    writeFileSync(file, data);
    expect(await sha256OfFile(file)).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('fails for a missing file, and stops when aborted', async () => {
    await expect(sha256OfFile(path.join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    const file = path.join(dir, 'small');
    writeFileSync(file, 'x');
    await expect(sha256OfFile(file, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('hashes big files on the file threads, several at once, and stops one when aborted mid-way', async () => {
    const files = [0, 1, 2].map((i) => path.join(dir, `threads-${i}`));
    const data = files.map((_, i) => Buffer.alloc(2 * 1024 * 1024 + i, String(i)));
    files.forEach((f, i) => writeFileSync(f, data[i]!));
    const digests = await Promise.all(files.map((f) => sha256OfFile(f)));
    expect(digests).toEqual(data.map((d) => createHash('sha256').update(d).digest('hex')));
    const huge = path.join(dir, 'huge');
    writeFileSync(huge, Buffer.alloc(256 * 1024 * 1024));
    const ac = new AbortController();
    const hashing = sha256OfFile(huge, ac.signal);
    ac.abort();
    await expect(hashing).rejects.toMatchObject({ name: 'AbortError' });
    // The threads are usable afterwards.
    expect(await sha256OfFile(files[0]!)).toBe(digests[0]);
  });

  it('an abort stops only its own work on the file threads, not the work batched with it', async () => {
    const pairs = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => {
      const [a, b] = [path.join(dir, `pair-${i}-a`), path.join(dir, `pair-${i}-b`)];
      writeFileSync(a, Buffer.alloc(64 * 1024, i));
      writeFileSync(b, Buffer.alloc(64 * 1024, i));
      return [a, b] as const;
    });
    const dropped = new AbortController();
    const kept = new AbortController();
    // Handed out together, in the same batches; one signal aborted before the threads start.
    const work = pairs.map(([a, b], i) => equalFiles(a, b, 64 * 1024, i % 2 === 0 ? dropped.signal : kept.signal));
    dropped.abort();
    const settled = await Promise.allSettled(work);
    expect(settled.filter((_, i) => i % 2 === 0).map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(settled.filter((_, i) => i % 2 === 1)).toEqual(Array(4).fill({ status: 'fulfilled', value: true }));
  });

  it('recognizes sha256 hex digests only', () => {
    expect(isSha256(sha256OfString('x'))).toBe(true);
    expect(isSha256('A'.repeat(64))).toBe(false);
    expect(isSha256('a'.repeat(63))).toBe(false);
    expect(isSha256(`sha256:${'a'.repeat(64)}`)).toBe(false);
  });

  it('writes canonical JSON: keys sorted at every level, arrays kept in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson(['b', 'a'])).toBe('["b","a"]');
    // The very text of JSON.stringify with a key-sorting replacer (what keys were digested
    // with before): a cache entry's name must not change with how the text is written.
    const sorting = (_k: string, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v;
    const samples: unknown[] = [
      { format: 1, recipe: { steps: [{ restore: 'inputs/a b.dump', to: '/', replace: false }], exclude: [], 'prune-identical': true }, parent: null },
      { u: undefined, f: () => 1, n: NaN, i: -0, big: 1e21, s: 'quote " back \\ nl \n tab \t \u2028 é 😀', arr: [undefined, () => 1, null, [], {}] },
      { d: new Date(0), nested: { z: { y: { x: [1, { b: 2, a: 1 }] } } }, 'Z': 1, a: 2, '10': 3, '9': 4, '': 5, '01': 6, '4294967295': 7, '4294967294': 8 },
      [{ b: 1, a: [{ d: 1, c: 2 }] }],
      'text',
      42,
      null,
    ];
    for (const v of samples) expect(canonicalJson(v)).toBe(JSON.stringify(v, sorting));
  });
});
