// In-process xattrs (native-xattrs.ts) against the attr tools: the same values in the same form,
// on symlinks themselves, through every name of a hardlinked inode, and for names that are not
// UTF-8 (which the native library cannot take, so the tools serve them).

import { execFileSync } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, nameOf } from '../../src/layer/byte-path.js';
import { osErrno, removeXattrOf, xattrsOf } from '../../src/layer/native-xattrs.js';
import { readXattrs } from '../../src/layer/xattrs.js';
import { Runner } from '../../src/process/run.js';
import { sh } from '../support/layer-tree.js';
import { tempDir } from '../support/project.js';
import { requireTools } from '../support/tools.js';

const runner = new Runner({ log: { verbose: () => {}, info: () => {} }, dryRun: false, signal: new AbortController().signal, env: process.env });
const bytes = (latin1: string) => nameOf(Buffer.from(latin1, 'latin1'));

describe('xattrs in process', () => {
  const dir = tempDir('native-xattrs');
  const text = path.join(dir, 'plain');
  const link = path.join(dir, 'plain-link');
  const latin = path.join(dir, bytes('caf\xe9'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(() => requireTools({ getfattr: 'attr', setfattr: 'attr', xargs: 'findutils' }));
  beforeAll(async () => {
    for (const p of [text, latin]) {
      await fs.writeFile(bytesOf(p), 'x');
      // Through xargs: the bytes of the name reach setfattr as they are.
      const input = Buffer.concat([bytesOf(p), Buffer.of(0)]);
      execFileSync('xargs', ['-0', 'setfattr', '-n', 'user.k', '-v', 'vv'], { input });
      execFileSync('xargs', ['-0', 'setfattr', '-n', 'user.empty'], { input });
    }
    await fs.link(bytesOf(text), bytesOf(path.join(dir, 'plain-2')));
    await fs.symlink('plain', link);
  });

  it('reads what getfattr reads, in its hex form, for text names and byte names alike', async () => {
    for (const p of [text, latin]) {
      const native = await xattrsOf(runner, p);
      expect(native).toEqual((await readXattrs(runner, [p])).get(p));
      expect(native).toEqual(new Map([['user.empty', '0x'], ['user.k', '0x7676']]));
    }
  });

  it("acts on a symlink itself, not on its target's attributes", async () => {
    sh(`setfattr -h -n trusted.sqsh-test -v y '${link}'`);
    expect(await xattrsOf(runner, link)).toEqual(new Map([['trusted.sqsh-test', '0x79']]));
    expect(await removeXattrOf(runner, link, 'trusted.sqsh-test')).toBe(true);
    expect(await xattrsOf(runner, link)).toEqual(new Map());
    expect((await xattrsOf(runner, text)).get('user.k')).toBe('0x7676');
  });

  it('removes an attribute once for all the names of an inode, and says when it was gone already', async () => {
    expect(await removeXattrOf(runner, text, 'user.empty')).toBe(true);
    expect(await removeXattrOf(runner, path.join(dir, 'plain-2'), 'user.empty')).toBe(false);
    expect(await removeXattrOf(runner, latin, 'user.empty')).toBe(true);
    expect(await removeXattrOf(runner, latin, 'user.empty')).toBe(false);
    expect(await xattrsOf(runner, latin)).toEqual(new Map([['user.k', '0x7676']]));
  });

  it('fails with the path and the reason when the entry is not there', async () => {
    await expect(xattrsOf(runner, path.join(dir, 'missing'))).rejects.toThrow(/listing the xattrs of .*missing: .*No such file/);
    expect(osErrno(new Error('No data available (os error 61)'))).toBe(61);
  });
});
