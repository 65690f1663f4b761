import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, nameOf, shownPath } from '../../src/layer/byte-path.js';
import { parseGetfattr, readTreeXattrs, readXattrs, removeXattr } from '../../src/layer/xattrs.js';
import { Runner } from '../../src/process/run.js';
import { requireTools } from '../support/tools.js';
import { tempDir } from '../support/project.js';

const runner = new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal: new AbortController().signal, env: process.env });
/** A byte-path string from bytes written as latin1 text ('\xe9' is the byte 0xe9). */
const bytes = (latin1: string) => nameOf(Buffer.from(latin1, 'latin1'));
const shownKeys = (m: Map<string, unknown>, dir: string) => [...m.keys()].map((k) => shownPath(path.relative(dir, k))).sort();

describe('parseGetfattr', () => {
  it('reads names as bytes: raw high bytes, \\ooo escapes of control bytes, `\\` and `=`', () => {
    const out = Buffer.concat([
      Buffer.from('# file: /r/caf', 'latin1'),
      Buffer.of(0xe9),
      Buffer.from('\nuser.x=0x31\n\n# file: /r/a\\012b\\134c=d\nuser.a\\075b=0x32\nuser.', 'latin1'),
      Buffer.of(0xff),
      Buffer.from('=""\n\n', 'latin1'),
    ]);
    const map = parseGetfattr(out);
    expect([...map.keys()].map(shownPath)).toEqual(['/r/caf\\xe9', '/r/a\nb\\c=d']);
    expect(bytesOf([...map.keys()][0]!)).toEqual(Buffer.from('/r/caf\xe9', 'latin1'));
    expect([...map.get(bytes('/r/caf\xe9'))!]).toEqual([['user.x', '0x31']]);
    expect([...map.get('/r/a\nb\\c=d')!].map(([k, v]) => [shownPath(k), v])).toEqual([
      ['user.a=b', '0x32'],
      ['user.\\xff', '""'],
    ]);
  });
});

describe('xattrs of entries whose names are not UTF-8', () => {
  const dir = tempDir('xattrs');
  const names = ['caf\xe9', 'caf\xc3\xa9', '\xff\xfe-dir', '\xff\xfe-dir/file', 'a\nb', 'back\\slash', 'eq=ual', 'tab\tx'].map(bytes);
  const paths = names.map((n) => path.join(dir, n));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Real getfattr and setfattr (the parser above needs neither).
  beforeAll(() => requireTools({ getfattr: 'attr', setfattr: 'attr', xargs: 'findutils' }));

  beforeAll(async () => {
    await fs.mkdir(bytesOf(path.join(dir, bytes('\xff\xfe-dir'))));
    for (const p of paths) {
      if (!p.endsWith('-dir')) await fs.writeFile(bytesOf(p), 'x');
    }
    // setfattr gets the names through xargs too: that is what removeXattr relies on.
    await runner.run(['xargs', '-0', 'setfattr', '-n', 'user.k', '-v', 'v', '--'], {
      input: Buffer.concat(paths.flatMap((p) => [bytesOf(p), Buffer.of(0)])),
    });
  });

  it('reads a whole tree, keyed by the exact paths', async () => {
    const map = await readTreeXattrs(runner, dir);
    // The directory itself has no xattr: getfattr leaves it out.
    expect(shownKeys(map, dir)).toEqual(names.map(shownPath).sort());
    for (const p of paths) expect(map.get(p)?.get('user.k'), shownPath(p)).toBe('0x76');
  });

  it('reads given entries, however many (xargs splits the list)', async () => {
    const many = [...paths, ...Array.from({ length: 4000 }, () => paths[0]!)];
    const map = await readXattrs(runner, many);
    expect(shownKeys(map, dir)).toEqual(names.map(shownPath).sort());
    expect(await readXattrs(runner, [])).toEqual(new Map());
  });

  it('removes an attribute from them', async () => {
    await removeXattr(runner, 'user.k', paths.slice(0, 3));
    const map = await readTreeXattrs(runner, dir);
    expect(paths.map((p) => map.get(p)?.get('user.k') ?? null)).toEqual([null, null, null, '0x76', '0x76', '0x76', '0x76', '0x76']);
  });
});
