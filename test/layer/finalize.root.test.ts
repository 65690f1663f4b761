// Finalizing big uppers: thousands of copied-up entries carry overlay xattrs that must all be
// stripped (in batches small enough for the kernel's argument limits), and only real changes stay.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, mountsBelow, stateEnv } from '../support/rootfs.js';
import { expectPortableAndClean, inspectLayer, removeTestDir } from '../support/layer-tree.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeTestDir(d);
});

describe('finalizing a large upper', () => {
  it('strips overlay xattrs of thousands of copied-up directories and prunes what did not change', async () => {
    const dir = tempDir('finalize');
    dirs.push(dir);
    const tree = path.join(dir, 'files/tree');
    await busyboxTree(tree);
    // 3000 directories with long names, each holding a file: one copy-up per directory.
    const long = 'a-rather-long-directory-name-to-fill-argument-lists-quickly';
    for (let i = 0; i < 3000; i++) {
      const d = path.join(tree, 'data', `${long}-${String(i).padStart(4, '0')}`);
      await fs.mkdir(d, { recursive: true });
      await fs.writeFile(path.join(d, 'f'), `file ${i}\n`);
    }
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - copy: files/tree/\n',
      // touch copies every file up (and its directory, with origin/impure xattrs); chmod on
      // the last one is the only real change left once identical entries are pruned.
      'recipes/top.yaml': [
        'parent: base',
        'steps:',
        '  - run: |',
        '      for f in /data/*/f; do touch -r "$f" "$f"; done',
        `      chmod 600 /data/${long}-2999/f`,
        '',
      ].join('\n'),
    });
    const env = { ...stateEnv(dir), SOURCE_DATE_EPOCH: '1700000000' };
    const r = await execCli(['-C', dir, 'build'], { env });
    expect(r.code, r.stderr).toBe(0);
    const top = await inspectLayer(dir, path.join(dir, 'layers/top.sqsh'));
    expectPortableAndClean('top', top);
    expect(top.entries).toEqual([
      expect.stringMatching(/^\/data dir 755 0:0/),
      expect.stringMatching(new RegExp(`^/data/${long}-2999 dir 755 0:0`)),
      expect.stringMatching(new RegExp(`^/data/${long}-2999/f file 600 0:0`)),
    ]);
    expect(mountsBelow(dir)).toEqual([]);
  });
});
