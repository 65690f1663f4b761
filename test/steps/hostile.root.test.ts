// Hostile inputs touch nothing outside the layer root (PRODUCT.md section 5): archive members
// with `..` or absolute names, symlinks and hardlinks out of the root (in the archive or in a
// lower layer), and remove paths that climb. Each is contained in the root, the way a chroot
// resolves it, or refused with a message naming the layer and the step. Canaries outside the
// root, in the test's own directory, must stay exactly as they were.

import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execCli, tempDir, writeFiles } from '../support/project.js';
import { busyboxTree, mountsBelow, snapshot, stateEnv } from '../support/rootfs.js';
import { entryLine, inspectLayer, makeDump, processesBelow, removeTestDir, withStack } from '../support/layer-tree.js';
import { type TarMember, ustar } from '../support/tar.js';

/** Names anywhere below dir (not following symlinks) that match re, except below `skip`. */
function findNamed(dir: string, re: RegExp, skip: string[]): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (skip.includes(p)) continue;
      if (re.test(e.name)) out.push(p);
      if (e.isDirectory()) visit(p);
    }
  };
  visit(dir);
  return out;
}

describe('hostile inputs stay inside the layer root', () => {
  let dir: string;
  let project: string;
  let outside: string;
  let outsideBefore: string[];
  const build = (...layers: string[]) => execCli(['-C', project, 'build', ...layers], { env: stateEnv(dir) });
  const sqsh = (name: string) => path.join(project, 'layers', `${name}.sqsh`);

  beforeAll(async () => {
    dir = tempDir('hostile');
    project = path.join(dir, 'project');
    outside = path.join(dir, 'outside');
    const inRoot = (p: string) => p.replace(/^\//, ''); // an absolute host path as a member name
    const up = '../../../../../../../../..';

    // The canaries: files outside every layer root, which no step may reach.
    await writeFiles(outside, { canary: 'canary\n', 'inroot-a': 'host a\n', 'inroot-b': 'host b\n' });
    await busyboxTree(path.join(project, 'inputs/root'));
    await writeFiles(path.join(project, 'inputs'), {
      // The same names inside the root, where the evil symlinks lead.
      'inroot/canary': 'in-root canary\n',
      'inroot/inroot-a': 'in-root a\n',
      'inroot/inroot-b': 'in-root b\n',
      'cp/f-copy': 'copied\n',
    });
    const links = path.join(project, 'inputs/links');
    await fs.mkdir(path.join(links, 'etc'), { recursive: true });
    await fs.symlink(outside, path.join(links, 'etc/evil'));
    await fs.symlink('/', path.join(links, 'etc/root'));
    await fs.symlink(`${up}${outside}`, path.join(links, 'etc/relevil'));
    await fs.symlink(outside, path.join(links, 'run'));
    await fs.mkdir(path.join(project, 'inputs/devlink'), { recursive: true });
    await fs.symlink(outside, path.join(project, 'inputs/devlink/dev'));

    const tars: Record<string, TarMember[]> = {
      'dotdot.tar': [{ name: '../escape-dotdot', data: 'x' }, { name: `${up}${outside}/escape-deep`, data: 'x' }, { name: 'ok/../../escape-mid', data: 'x' }],
      'abs.tar': [{ name: '/abs-file', data: 'abs' }, { name: `${outside}/abs-host-path`, data: 'abs' }],
      'symlink.tar': [
        { name: 'link', type: 'symlink', link: outside },
        { name: 'link/pwned-through-link', data: 'x' },
        { name: 'rel', type: 'symlink', link: `${up}${outside}` },
        { name: 'rel/pwned-through-rel', data: 'x' },
      ],
      'hard.tar': [
        { name: 'hl-abs', type: 'hardlink', link: `${outside}/inroot-a` },
        { name: 'hl-rel', type: 'hardlink', link: `${up}${outside}/inroot-a` },
      ],
      'through.tar': [
        { name: 'etc/evil/pwned-untar', data: 'untar\n' },
        { name: 'etc/evil/canary', data: 'untar was here\n' },
      ],
      'plain.tar': [{ name: 'f-untar-to', data: 'to\n' }],
    };
    for (const [name, members] of Object.entries(tars)) await fs.writeFile(path.join(project, 'inputs', name), ustar(members));
    await writeFiles(path.join(dir, 'dumptree'), { 'etc/evil/pwned-restore': 'restore\n' });
    makeDump(path.join(dir, 'dumptree'), path.join(project, 'inputs/through.dump'));

    const recipes: Record<string, string> = {
      base: 'steps:\n  - copy: inputs/root/\n',
      // A lower layer with symlinks out of the root (absolute, `/`, relative with `..`), and
      // in-root files at the paths they name.
      evil: `parent: base\nsteps:\n  - copy: inputs/inroot/\n    to: ${outside}/\n  - copy: inputs/links/\n`,
      through: `parent: evil
steps:
  - untar: inputs/through.tar
  - untar: inputs/plain.tar
    to: /etc/relevil
  - untar: inputs/abs.tar
    to: /x
  - copy: inputs/cp/
    to: /etc/evil/
  - copy: inputs/cp/f-copy
    to: /etc/relevil/f-copy-renamed
  - copy: inputs/cp/f-copy
    to: /etc/root/etc/evil/f-copy-via-root
  - restore: inputs/through.dump
  - untar: inputs/hard.tar
  - run: |
      mkdir -p ${outside}
      echo run > /run/pwned-run
      cat /run/pwned-run
  - remove: [/etc/evil/inroot-b, /../../${inRoot(outside)}/canary]
`,
      dotdot: 'parent: base\nsteps:\n  - untar: inputs/dotdot.tar\n    to: /x\n',
      symlinked: 'parent: base\nsteps:\n  - untar: inputs/symlink.tar\n    to: /x\n',
      'hard-missing': 'parent: base\nsteps:\n  - untar: inputs/hard.tar\n',
      'remove-climb': `parent: base\nsteps:\n  - remove: [/../../${inRoot(outside)}/canary, /../../../${inRoot(outside)}/inroot-a, /${up}/${inRoot(outside)}]\n`,
      // The name under which tool sandboxes show the host's /usr, as a symlink to /.
      hostdir: 'parent: base\nsteps:\n  - run: ln -s / /.sqsh-layers-host\n',
      'hostdir-untar': 'parent: hostdir\nsteps:\n  - untar: inputs/plain.tar\n',
      // /dev as a symlink out of the root.
      devlink: 'parent: base\nsteps:\n  - copy: inputs/devlink/\n',
      'devlink-restore': 'parent: devlink\nsteps:\n  - restore: inputs/through.dump\n',
    };
    for (const [name, text] of Object.entries(recipes)) await writeFiles(project, { [`recipes/${name}.yaml`]: text });
    outsideBefore = (await snapshot(outside)).map(entryLine);
  });

  afterAll(async () => {
    try {
      expect((await snapshot(outside)).map(entryLine)).toEqual(outsideBefore);
      expect(statSync(path.join(outside, 'inroot-a')).nlink).toBe(1);
      expect(findNamed(dir, /escape|pwned|abs-|f-copy|f-untar|hl-/, [path.join(project, 'inputs'), path.join(dir, 'dumptree')])).toEqual([]);
      expect(processesBelow(dir)).toEqual([]);
      expect(mountsBelow(dir)).toEqual([]);
    } finally {
      removeTestDir(dir);
    }
  });

  it('writes through symlinks of a lower layer land inside the root, as in a chroot', async () => {
    const res = await build('through');
    expect(res.code, res.stderr).toBe(0);
    const inRootOutside = outside.slice(1);
    await withStack(path.join(dir, 'stack-through'), ['through', 'evil', 'base'].map(sqsh), async (root) => {
      const o = path.join(root, inRootOutside);
      expect((await fs.readdir(o)).sort()).toEqual(
        ['f-copy', 'f-copy-renamed', 'f-copy-via-root', 'f-untar-to', 'inroot-a', 'pwned-restore', 'pwned-untar'].sort(),
      );
      expect(await fs.readFile(path.join(o, 'inroot-a'), 'utf8')).toBe('in-root a\n');
      // Hardlink members naming host paths link the in-root file of that name.
      const a = statSync(path.join(o, 'inroot-a'));
      expect(statSync(path.join(root, 'hl-abs')).ino).toBe(a.ino);
      expect(statSync(path.join(root, 'hl-rel')).ino).toBe(a.ino);
      expect(await fs.readFile(path.join(root, 'x/abs-file'), 'utf8')).toBe('abs');
      expect(await fs.readFile(path.join(root, 'x', inRootOutside, 'abs-host-path'), 'utf8')).toBe('abs');
      // The run step wrote through /run -> OUTSIDE into its own tmpfs /tmp: neither on
      // the host nor in the layer. The symlinks are still symlinks.
      expect(await fs.readlink(path.join(root, 'etc/evil'))).toBe(outside);
      expect(await fs.readlink(path.join(root, 'run'))).toBe(outside);
    });
  });

  it('refuses archive members with ".." and reports the layer and step', async () => {
    const res = await build('dotdot');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('layer dotdot, step 1 (untar inputs/dotdot.tar)');
    expect(res.stderr).toMatch(/Member name contains '\.\.'/);
    expect(existsSync(sqsh('dotdot'))).toBe(false);
  });

  it('refuses members written through a symlink that the archive points out of the root', async () => {
    const res = await build('symlinked');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('layer symlinked, step 1 (untar inputs/symlink.tar)');
    expect(existsSync(sqsh('symlinked'))).toBe(false);
  });

  it('refuses hardlink members whose target exists only outside the root', async () => {
    const res = await build('hard-missing');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('layer hard-missing, step 1 (untar inputs/hard.tar)');
    expect(res.stderr).toMatch(/Cannot hard link/);
  });

  it('refuses to remove the layer root, pointing at the recipe, before anything is built', async () => {
    // A project of its own: a recipe error stops every layer of its project.
    const other = path.join(dir, 'project-remove-root');
    await writeFiles(other, { 'recipes/remove-root.yaml': 'steps:\n  - run: "true"\n  - remove: [/etc, /../..]\n' });
    const res = await execCli(['-C', other, 'build'], { env: stateEnv(dir) });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('recipes/remove-root.yaml:3:');
    expect(res.stderr).toContain('would remove the whole layer root, found "/../.."');
    expect(existsSync(path.join(other, 'layers/remove-root.sqsh'))).toBe(false);
  });

  it('resolves remove paths that climb with ".." inside the root', async () => {
    const res = await build('remove-climb');
    expect(res.code, res.stderr).toBe(0);
    // Nothing of those names exists inside this root: nothing is removed, anywhere.
    expect((await inspectLayer(dir, sqsh('remove-climb'))).paths).toEqual([]);
  });

  it('refuses to run a tool when the root holds a symlink where the sandbox mounts', async () => {
    const res = await build('hostdir-untar');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('layer hostdir-untar, step 1 (untar inputs/plain.tar)');
    expect(res.stderr).toContain('/.sqsh-layers-host');
  });

  it('restores into a root whose /dev is a symlink out of it (restore reads its image as a file: no /dev/null needed)', async () => {
    const res = await build('devlink-restore');
    expect(res.code, res.stderr).toBe(0);
    expect((await inspectLayer(dir, sqsh('devlink-restore'))).paths).toContain('/etc/evil/pwned-restore');
  });
});
