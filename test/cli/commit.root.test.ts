// `commit` end to end on a simulated RuckusRD ram_layer root: layers loop-mounted at
// mnt/sqsh_layer-NAME, a tmpfs upper, the live overlay root, and changes made in it
// (deletions, a dir removed and re-created, a lower dir renamed, chmod/chown, new files, a
// hardlink to a lower file, appends). The committed layer stacked on the same lowers must
// show exactly what the live root showed, with the kernel's default overlay options and with
// redirect_dir=on,metacopy=on, and carry no overlay xattr but opaque. --merge 1 too.

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { leftoverCheckedDirs } from '../support/leftovers.js';
import { expectPortableAndClean, fullTree, inspectLayer, sh, withStack } from '../support/layer-tree.js';
import { execCli } from '../support/project.js';
import { stateEnv } from '../support/rootfs.js';

const testDir = leftoverCheckedDirs();

function makeLayers(dir: string): { base: string; mid: string } {
  const src = path.join(dir, 'src');
  sh(`
    mkdir -p ${src}/base ${src}/mid
    cd ${src}/base
    mkdir -p etc/conf.d var/lib/app srv/www/img opt/tool/bin home/u
    echo base > etc/hostname; echo a > etc/conf.d/a; echo b > etc/conf.d/b
    echo data > var/lib/app/db; echo page > srv/www/index.html; echo png > srv/www/img/logo.png
    echo tool > opt/tool/bin/run; chmod 0755 opt/tool/bin/run; echo old > home/u/notes
    setfattr -n user.keep -v 1 var/lib/app/db; chown 1000:1000 home/u home/u/notes
    cd ${src}/mid
    mkdir -p etc srv/www
    echo mid > etc/motd; echo mid-page > srv/www/extra.html
  `);
  const files = { base: path.join(dir, 'base.sqsh'), mid: path.join(dir, 'mid.sqsh') };
  for (const [n, f] of Object.entries(files)) execFileSync('mksquashfs', [path.join(src, n), f, '-noappend', '-quiet', '-no-progress', '-xattrs']);
  return files;
}

/** Mounts the simulated ram_layer root; returns its paths and an undo. */
function liveRoot(dir: string, files: { base: string; mid: string }, options: string, persistentUpper?: string): { root: string; upper: string; undo: () => void } {
  const mnt = path.join(dir, 'mnt');
  const mounted: string[] = [];
  const persistent = persistentUpper !== undefined ? [path.join(mnt, 'sqsh_layer-upper')] : [];
  if (persistentUpper !== undefined) {
    // RuckusRD binds the root device's upper dir read-only there (ram_layer).
    execFileSync('mkdir', ['-p', persistentUpper, persistent[0]!]);
    execFileSync('mount', ['--bind', '-o', 'ro', persistentUpper, persistent[0]!]);
    mounted.push(persistent[0]!);
  }
  for (const n of ['mid', 'base'] as const) {
    const d = path.join(mnt, `sqsh_layer-${n}`);
    execFileSync('mkdir', ['-p', d]);
    execFileSync('mount', ['-t', 'squashfs', '-o', 'ro,loop', files[n], d]);
    mounted.push(d);
  }
  const tmp = path.join(mnt, 'upper');
  execFileSync('mkdir', ['-p', tmp]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'ram_layer', tmp]);
  mounted.push(tmp);
  execFileSync('mkdir', ['-p', `${tmp}/upper`, `${tmp}/work`]);
  const root = path.join(dir, 'live');
  execFileSync('mkdir', ['-p', root]);
  const lower = [...persistent, `${mnt}/sqsh_layer-mid`, `${mnt}/sqsh_layer-base`].join(':');
  execFileSync('mount', ['-t', 'overlay', 'rootfs', '-o', `${options ? `${options},` : ''}lowerdir=${lower},upperdir=${tmp}/upper,workdir=${tmp}/work`, root]);
  mounted.push(root);
  return {
    root,
    upper: `${tmp}/upper`,
    undo: () => {
      for (const d of mounted.reverse()) execFileSync('umount', [d]);
    },
  };
}

/** What a user does in the live root. */
function changeLiveRoot(root: string): void {
  sh(`
    cd ${root}
    rm etc/conf.d/a
    rm -rf srv/www; mkdir -p srv/www; echo fresh > srv/www/index.html
    mv var/lib/app var/lib/app2
    chmod 0700 opt/tool/bin/run; chown 0:1000 etc/hostname
    echo more >> home/u/notes
    ln etc/conf.d/b etc/b-link
    mkdir -p new/dir; echo new > new/dir/file; ln -s ../etc/motd new/motd-link
    rm etc/motd
  `);
}

describe('commit', () => {
  for (const [label, options] of [
    ['the kernel\'s default overlay options', ''],
    ['redirect_dir=on,metacopy=on', 'redirect_dir=on,metacopy=on'],
  ] as const) {
    it(`turns a live ram_layer upper made with ${label} into a layer that stacks to what the live root showed`, async () => {
      const dir = testDir('commit');
      const files = makeLayers(dir);
      const out = path.join(dir, 'out');
      await fs.mkdir(out);
      const env = stateEnv(dir);
      const live = liveRoot(dir, files, options);
      let reference: string[];
      let upperXattrs: string;
      let linkCounts: string;
      try {
        changeLiveRoot(live.root);
        reference = await fullTree(live.root);
        linkCounts = sh(`stat -c %h ${live.root}/etc/b-link ${live.root}/etc/conf.d/b`);
        upperXattrs = sh(`getfattr -R -h -d -m trusted.overlay -e text ${live.upper} 2>/dev/null || true`);
        // While the overlay is still mounted: stack and upper from its mountinfo entry.
        const res = await execCli(['commit', 'newlayer', '--live-root', live.root, '--out', out, '--layers-dir', dir], { env });
        expect(res.stderr).not.toContain('error');
        expect(res.code).toBe(0);
        expect(res.stderr).toContain('is the upper dir of the live root');
        expect(res.stdout).toContain('replaces: sqsh_layers=mid:base');
        expect(res.stdout).toContain('new:      sqsh_layers=newlayer:mid:base');

        // Without --layers-dir the lowers are read where the live root has them mounted.
        const merged = await execCli(['commit', live.upper, 'squashed', '--live-root', live.root, '--merge', '1', '--out', out, '--json'], { env });
        expect(merged.code).toBe(0);
        const json = JSON.parse(merged.stdout) as { replaces: string; cmdline: string };
        expect(json).toMatchObject({ replaces: 'sqsh_layers=mid:base', cmdline: 'sqsh_layers=squashed:base' });
      } finally {
        live.undo();
      }
      if (options) {
        // The case is real: the upper held what only this machine's overlay can follow.
        expect(upperXattrs).toContain('trusted.overlay.redirect');
        expect(upperXattrs).toContain('trusted.overlay.metacopy');
      }
      const layer = path.join(out, 'newlayer.sqsh');
      const stacked = await withStack(path.join(dir, 'stack'), [layer, files.mid, files.base], (root) => fullTree(root));
      // The live root gives a copied-up name its lower's inode number (overlayfs's constant
      // st_ino) and the new name the upper's: one file with nlink 2 under two numbers. The
      // layer keeps the one file as a hardlink.
      const links = (t: string[]) => t.filter((l) => l.startsWith('link '));
      const rest = (t: string[]) => t.filter((l) => !l.startsWith('link '));
      expect(linkCounts).toBe('2\n2\n');
      expect(rest(stacked)).toEqual(rest(reference));
      expect(links(stacked)).toEqual(['link /etc/b-link = /etc/conf.d/b']);
      expectPortableAndClean('newlayer', await inspectLayer(path.join(dir, 'inspect'), layer));

      const squashed = path.join(out, 'squashed.sqsh');
      const stacked1 = await withStack(path.join(dir, 'stack1'), [squashed, files.base], (root) => fullTree(root));
      expect(rest(stacked1)).toEqual(rest(reference));
      expect(links(stacked1)).toEqual(['link /etc/b-link = /etc/conf.d/b']);
      expectPortableAndClean('squashed', await inspectLayer(path.join(dir, 'inspect1'), squashed));
    });
  }

  it('with ram_layer: refuses while the persistent upper stacked on top is not empty, and leaves it out of the stack when it is', async () => {
    const dir = testDir('commit-persistent');
    const files = makeLayers(dir);
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const env = stateEnv(dir);
    const disk = path.join(dir, 'root-true-upper');
    let live = liveRoot(dir, files, '', disk);
    try {
      sh(`echo new > ${live.root}/etc/new`);
      const ok = await execCli(['commit', 'newlayer', '--live-root', live.root, '--out', out, '--layers-dir', dir], { env });
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('replaces: sqsh_layers=mid:base');
      expect(ok.stdout).toContain('new:      sqsh_layers=newlayer:mid:base');
    } finally {
      live.undo();
    }
    await fs.writeFile(path.join(disk, 'older-change'), 'kept on disk\n');
    live = liveRoot(dir, files, '', disk);
    try {
      const res = await execCli(['commit', 'again', '--live-root', live.root, '--out', out, '--layers-dir', dir], { env });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('persistent upper dir');
      expect(res.stderr).toContain('hint: commit it first');
      expect((await fs.readdir(out)).sort()).toEqual(['newlayer.sqsh']);
      const dry = await execCli(['--dry-run', 'commit', live.upper, 'dry', '--stack', 'mid:base', '--merge', '1', '--out', out, '--layers-dir', dir], { env });
      expect(dry.code).toBe(0);
      expect(dry.stderr).toContain(`rsync -aHAX --numeric-ids --ignore-times ${live.upper}/`);
      expect(dry.stderr).toMatch(/mount -t squashfs -o ro,loop .*mid\.sqsh/);
      expect(dry.stdout).toContain('new:      sqsh_layers=dry:base');
      expect((await fs.readdir(out)).sort()).toEqual(['newlayer.sqsh']);
    } finally {
      live.undo();
    }
  });

  it('in a project: --parent names the stack, the layer gets a manifest entry, --merge 1 stacks it on the grandparent', async () => {
    const dir = testDir('commit-project');
    const files = makeLayers(dir);
    const project = path.join(dir, 'project');
    const layers = path.join(project, 'layers');
    await fs.mkdir(path.join(project, 'recipes'), { recursive: true });
    await fs.writeFile(path.join(project, 'recipes/base.yaml'), 'steps:\n  - remove: [/nothing]\n');
    await fs.mkdir(layers);
    const manifest: Record<string, unknown> = {};
    for (const [name, parent] of [['base', null], ['mid', 'base']] as const) {
      await fs.copyFile(files[name], path.join(layers, `${name}.sqsh`));
      const sum = sh(`sha256sum ${files[name]}`).split(' ')[0];
      manifest[name] = { file: `${name}.sqsh`, parent, sha256: sum, size: 0, squashfs: { compression: 'gzip', level: null, 'block-size': 131072 }, builtAt: '2026-01-01T00:00:00.000Z' };
    }
    await fs.writeFile(path.join(layers, 'manifest.json'), JSON.stringify({ version: 1, layers: manifest }));
    // An upper as an overlay leaves it: a whiteout, an opaque dir, a new file.
    const upper = path.join(dir, 'upper');
    sh(`mkdir -p ${upper}/srv/www ${upper}/etc && mknod ${upper}/etc/motd c 0 0 && setfattr -n trusted.overlay.opaque -v y ${upper}/srv/www && echo new > ${upper}/srv/www/new && setfattr -n trusted.overlay.origin -v 0x00 ${upper}/etc`);
    const env = stateEnv(dir);
    const res = await execCli(['-C', project, 'commit', upper, 'fix', '--parent', 'mid'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('replaces: sqsh_layers=mid:base');
    expect(res.stdout).toContain('new:      sqsh_layers=fix:mid:base');
    const res1 = await execCli(['-C', project, 'commit', upper, 'fix1', '--parent', 'mid', '--merge', '1'], { env });
    expect(res1.code).toBe(0);
    expect(res1.stdout).toContain('new:      sqsh_layers=fix1:base');
    const written = JSON.parse(await fs.readFile(path.join(layers, 'manifest.json'), 'utf8')) as { layers: Record<string, { parent: string; madeBy: { command: string } }> };
    expect(written.layers.fix).toMatchObject({ parent: 'mid', madeBy: { command: 'commit' } });
    expect(written.layers.fix1).toMatchObject({ parent: 'base', madeBy: { command: 'commit' } });
    const reference = await withStack(path.join(dir, 'ref'), [path.join(layers, 'fix.sqsh'), files.mid, files.base], (root) => fullTree(root));
    const merged = await withStack(path.join(dir, 'm'), [path.join(layers, 'fix1.sqsh'), files.base], (root) => fullTree(root));
    expect(merged).toEqual(reference);
    expect(reference.some((l) => l.startsWith('/etc/motd '))).toBe(false);
    expect(reference.filter((l) => l.startsWith('/srv/www/'))).toEqual([`/srv/www/new file 644 0:0 ${sh('printf "new\\n" | sha256sum').slice(0, 16)}`]);
    expectPortableAndClean('fix', await inspectLayer(path.join(dir, 'inspect'), path.join(layers, 'fix.sqsh')));
  });

  it('refuses a redirect_dir=on upper when the stack is unknown, and leaves nothing behind', async () => {
    const dir = testDir('commit-refuse');
    const files = makeLayers(dir);
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const live = liveRoot(dir, files, 'redirect_dir=on');
    try {
      sh(`mv ${live.root}/var/lib/app ${live.root}/var/lib/moved`);
      const res = await execCli(['commit', live.upper, 'x', '--live-root', path.join(dir, 'not-a-mount'), '--out', out], { env: stateEnv(dir) });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('redirected dir');
      expect(res.stderr).toContain('hint: give the stack');
      expect(await fs.readdir(out)).toEqual([]);
      // A stack without the layer the directory came from cannot resolve it either.
      const wrong = await execCli(['commit', live.upper, 'x', '--stack', 'mid', '--out', out, '--layers-dir', dir], { env: stateEnv(dir) });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('/var/lib/moved (renamed from /var/lib/app)');
      expect(await fs.readdir(out)).toEqual([]);
    } finally {
      live.undo();
    }
  });
});
