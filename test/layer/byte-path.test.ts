import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesOf, nameOf, readLinkName, readNames, shownPath } from '../../src/layer/byte-path.js';
import { tempDir } from '../support/project.js';

const hex = (h: string) => Buffer.from(h.replace(/ /g, ''), 'hex');

describe('byte-path strings', () => {
  it('are the ordinary strings of UTF-8 names', () => {
    for (const s of ['/etc/motd', 'café', '日本語', '😀 emoji', 'a\nb', '\u{10080}']) {
      expect(nameOf(Buffer.from(s))).toBe(s);
      expect(bytesOf(s)).toEqual(Buffer.from(s));
    }
  });

  it.each([
    ['Latin-1', '63 61 66 e9', 'caf\\xe9'],
    ['broken UTF-8', 'ff fe 2d 64 69 72', '\\xff\\xfe-dir'],
    ['an overlong /', 'c0 af', '\\xc0\\xaf'],
    ['a UTF-8-encoded surrogate', 'ed a0 80', '\\xed\\xa0\\x80'],
    ['beyond U+10FFFF', 'f4 90 80 80', '\\xf4\\x90\\x80\\x80'],
    ['a truncated sequence', 'e2 82 41', '\\xe2\\x82A'],
    ['a byte order mark, kept', 'ef bb bf 78', '\ufeffx'],
    ['valid and invalid together', 'c3 a9 e9 f0 90 82 80 80', 'é\\xe9\u{10080}\\x80'],
  ])('round-trip every byte: %s', (_what, bytes, shown) => {
    const name = nameOf(hex(bytes));
    expect(bytesOf(name)).toEqual(hex(bytes));
    expect(shownPath(name)).toBe(shown);
  });

  it('round-trip any byte sequence, and distinct bytes stay distinct', () => {
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    const seen = new Map<string, string>();
    for (let n = 0; n < 5000; n++) {
      // Bytes from the high half mostly, where UTF-8 can go wrong.
      const b = Buffer.from(Array.from({ length: 1 + (n % 9) }, () => (random() < 64 ? random() & 0x7f : random() | 0x80)));
      const name = nameOf(b);
      expect(bytesOf(name).equals(b), b.toString('hex')).toBe(true);
      const other = seen.get(name);
      expect(other === undefined || other === b.toString('hex')).toBe(true);
      seen.set(name, b.toString('hex'));
    }
  });

  it('join with our own paths, which are UTF-8', () => {
    const name = nameOf(hex('63 61 66 e9'));
    expect(bytesOf(path.join('/run/sqsh-layers/é', 'u', name))).toEqual(Buffer.concat([Buffer.from('/run/sqsh-layers/é/u/'), hex('63 61 66 e9')]));
  });
});

describe('reading names from a directory', () => {
  const dir = tempDir('byte-path');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const at = (...names: Buffer[]) => Buffer.concat([Buffer.from(`${dir}/`), ...names.flatMap((n, i) => (i ? [Buffer.from('/'), n] : [n]))]);

  it('gives names byte-exact, in byte order, and link targets byte-exact', async () => {
    await fs.mkdir(at(hex('ff fe 2d 64 69 72')));
    await fs.writeFile(at(hex('ff fe 2d 64 69 72'), Buffer.from('file')), 'x');
    await fs.writeFile(at(hex('63 61 66 e9')), 'latin-1');
    await fs.writeFile(at(Buffer.from('café')), 'utf-8');
    await fs.writeFile(at(Buffer.from('a\nb')), 'newline');
    await fs.symlink(hex('2e 2f ff'), at(Buffer.from('link')));
    const entries = await readNames(dir);
    expect(entries.map((e) => [shownPath(e.name), e.dir])).toEqual([
      ['a\nb', false],
      ['café', false],
      ['caf\\xe9', false],
      ['link', false],
      ['\\xff\\xfe-dir', true],
    ]);
    // Every name reads back through bytesOf, to the right file.
    const contents = [];
    for (const e of entries.filter((x) => !x.dir && x.name !== 'link')) contents.push(await fs.readFile(bytesOf(path.join(dir, e.name)), 'utf8'));
    expect(contents).toEqual(['newline', 'utf-8', 'latin-1']);
    const sub = entries.find((e) => e.dir)!;
    expect((await readNames(path.join(dir, sub.name))).map((e) => e.name)).toEqual(['file']);
    expect(bytesOf(await readLinkName(path.join(dir, 'link')))).toEqual(hex('2e 2f ff'));
  });
});
