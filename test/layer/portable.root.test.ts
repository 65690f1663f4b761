// Finalizing in process: overlay xattrs that other machines cannot read are refused (redirect,
// metacopy) with the paths named and nothing left behind; the others are stripped, opaque kept,
// on names of every kind, symlinks and hardlinks included.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, writeFiles } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { expectPortableAndClean, inspectLayer, sh } from '../support/layer-tree.js';
import { leftoverCheckedDirs, tempFilesIn } from '../support/leftovers.js';


const newDir = leftoverCheckedDirs();
const env = (dir: string) => ({ ...stateEnv(dir), SOURCE_DATE_EPOCH: '1700000000' });

describe('overlay xattrs in the upper dir', () => {
  it('a redirect or metacopy entry fails the layer, naming the paths; nothing is packed', async () => {
    const dir = newDir('portable');
    await busyboxTree(path.join(dir, 'rootfs'));
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n',
      'hooks/mark.sh': {
        text: '#!/bin/sh\nset -e\nmkdir "$SQSH_UPPER/moved"\nsetfattr -n trusted.overlay.redirect -v /etc "$SQSH_UPPER/moved"\necho x > "$SQSH_UPPER/meta"\nsetfattr -n trusted.overlay.metacopy "$SQSH_UPPER/meta"\n',
        mode: 0o755,
      },
      'recipes/top.yaml': 'parent: base\nsteps:\n  - host: hooks/mark.sh\n',
    });
    const r = await execCli(['-C', dir, 'build'], { env: env(dir) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('layer top, finalizing: the upper dir holds overlay redirects or metacopy entries, which other machines cannot read: /meta, /moved');
    expect(existsSync(path.join(dir, 'layers/top.sqsh'))).toBe(false);
    expect(existsSync(path.join(dir, 'layers/base.sqsh'))).toBe(true);
    expect(tempFilesIn(path.join(dir, 'layers'))).toEqual([]);
  }, 120_000);

  it('a bottom layer is not walked for overlay xattrs: its sandboxed steps cannot set them, a host step can', async () => {
    const dir = newDir('portable-bottom');
    await busyboxTree(path.join(dir, 'rootfs'));
    await writeFiles(dir, { 'rootfs/etc/moved/f': 'f\n', 'rootfs/etc/meta': 'x\n' });
    // The project's tree carries every overlay xattr; copy stages it on the host (cp -a, as
    // root, keeps them), then applies it in the tool sandbox, without CAP_SYS_ADMIN.
    sh(
      `setfattr -n trusted.overlay.redirect -v /etc rootfs/etc/moved && setfattr -n trusted.overlay.metacopy rootfs/etc/meta
       setfattr -n trusted.overlay.origin -v 0x00 rootfs/etc/meta && setfattr -n trusted.overlay.opaque -v y rootfs/etc`,
      { cwd: dir },
    );
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n  - run: mkdir /made && echo m > /made/m\n',
      'hooks/mark.sh': { text: '#!/bin/sh\nset -e\nmkdir "$SQSH_UPPER/moved"\nsetfattr -n trusted.overlay.redirect -v /etc "$SQSH_UPPER/moved"\n', mode: 0o755 },
      'recipes/hosted.yaml': 'steps:\n  - copy: rootfs/\n  - host: hooks/mark.sh\n',
    });
    const plan = await execCli(['-C', dir, 'build', '--dry-run', 'base'], { env: env(dir) });
    expect(plan.stdout + plan.stderr).toContain('finalize: nothing to do (no lowers to prune against, no step that can set overlay xattrs)');
    const r = await execCli(['-C', dir, 'build', 'base'], { env: env(dir) });
    expect(r.code, r.stderr).toBe(0);
    const base = await inspectLayer(dir, path.join(dir, 'layers/base.sqsh'));
    expect(base.xattrs.filter((l) => / trusted\./.test(l))).toEqual([]);
    expect(base.paths).toEqual(expect.arrayContaining(['/etc/moved/f', '/etc/meta', '/made/m']));
    // A host step runs as root on the upper: its layer is still walked, and refused.
    const hosted = await execCli(['-C', dir, 'build', 'hosted'], { env: env(dir) });
    expect(hosted.code).toBe(1);
    expect(hosted.stderr).toContain('layer hosted, finalizing: the upper dir holds overlay redirects or metacopy entries, which other machines cannot read: /moved');
    expect(existsSync(path.join(dir, 'layers/hosted.sqsh'))).toBe(false);
  }, 120_000);

  it('origin and impure go from copied-up files, symlinks and both names of a hardlink; opaque stays', async () => {
    const dir = newDir('portable-strip');
    await busyboxTree(path.join(dir, 'rootfs'));
    await writeFiles(dir, { 'rootfs/etc/a': 'a\n', 'rootfs/etc/sub/f': 'f\n' });
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n  - run: ln /etc/a /etc/a2 && ln -s a /etc/la\n',
      // chown -h copies up the symlink itself; writing to one name of the lower hardlink copies
      // that name up alone, which then gets a second name in the upper (one inode, its origin
      // stripped once for both); a replaced directory becomes opaque.
      'recipes/top.yaml':
        'parent: base\nsteps:\n  - run: |\n      chown -h 1:1 /etc/la\n      echo b >> /etc/a && ln /etc/a /etc/a3\n      rm -r /etc/sub && mkdir /etc/sub && echo g > /etc/sub/g\n',
    });
    const r = await execCli(['-C', dir, 'build'], { env: env(dir) });
    expect(r.code, r.stderr).toBe(0);
    const top = await inspectLayer(dir, path.join(dir, 'layers/top.sqsh'));
    expectPortableAndClean('top', top);
    const shown = top.entries.map((e) => e.split(' ').slice(0, 4).join(' '));
    expect(shown).toEqual(expect.arrayContaining(['/etc/a file 644 0:0', '/etc/a3 file 644 0:0', '/etc/la link 777 1:1', '/etc/sub dir 755 0:0', '/etc/sub/g file 644 0:0']));
    expect(top.paths).not.toContain('/etc/a2');
    expect(top.opaque).toEqual(['/etc/sub']);
  }, 120_000);
});
