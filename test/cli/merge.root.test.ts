// `merge` end to end: raw layers with deletions and opaque directories at several depths,
// merged by the real CLI, stacked with the layers around them as the initramfs does, must
// show exactly the tree the unmerged stack shows; the seed's way (an overlay of the range,
// packed) must not. Also: reproducible bytes, project mode (manifest, range, consecutive
// check), and nothing left mounted.

import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { leftoverCheckedDirs, sha256 } from '../support/leftovers.js';
import { fullTree, inspectLayer, sh, withStack } from '../support/layer-tree.js';
import { execCli, writeFiles } from '../support/project.js';
import { stateEnv } from '../support/rootfs.js';

const testDir = leftoverCheckedDirs();

/** A unix socket file at p (node's own listener, left behind by exiting). */
function socketAt(p: string): void {
  execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(p)}, () => process.exit(0))`]);
}

/** Plain directories for five raw layers (bottom first), each with its own marks. */
async function makeLayerDirs(dir: string): Promise<string[]> {
  const names = ['base', 'l1', 'l2', 'l3', 'top'];
  for (const n of names) await fs.mkdir(path.join(dir, n), { recursive: true });
  const d = (n: string) => path.join(dir, n);
  sh(
    `
    cd ${d('base')}
    mkdir -p a d/sub deep/1/2/3 e keep-dir n2 perm
    echo x > a/x; echo y > a/y; echo p > d/p; echo q > d/sub/q; echo k > keep; echo f > deep/1/2/3/f
    echo deep2 > deep/1/2/g; echo e > e/f; echo h > h1; ln h1 h2; ln -s a/x sym; mkfifo fifo
    mknod null c 1 3; echo kd > keep-dir/file
    chown 1234:5678 a/y; chmod 0640 a/y; chmod 0700 perm
    setfattr -n user.color -v red a/y; setfattr -n trusted.mine -v base d
    `,
  );
  sh(
    `
    cd ${d('l1')}
    mkdir -p a d deep/1/2 n
    mknod a/x c 0 0
    setfattr -n trusted.overlay.opaque -v y d; echo new > d/new
    mknod deep/1/2/3 c 0 0
    echo n > n/file
    chmod 0751 a
    `,
  );
  sh(
    `
    cd ${d('l2')}
    mkdir -p a d deep/1/2/3 n2/inner
    echo x-again > a/x
    mknod keep c 0 0
    echo new2 > d/new2
    echo e-file > e
    echo g3 > deep/1/2/3/g
    mknod n c 0 0
    setfattr -n user.l2 -v yes n2/inner
    mknod keep-dir c 0 0
    `,
  );
  sh(
    `
    cd ${d('l3')}
    mkdir -p z/zz deep/1 d keep-dir
    echo z > z/zz/file
    setfattr -n trusted.overlay.opaque -v y deep/1; echo only > deep/1/only
    mknod d/new c 0 0
    echo h3 > h3; ln h3 h4; mkfifo fifo3
    echo back > keep-dir/again
    chown 42:42 z; setfattr -n user.z -v 1 z/zz/file
    `,
  );
  socketAt(path.join(d('l3'), 'sock'));
  sh(`cd ${d('top')}; mkdir -p a; echo top-y > a/y; chown 7:7 a/y`);
  const files: string[] = [];
  for (const n of names) {
    const file = path.join(dir, `${n}.sqsh`);
    execFileSync('mksquashfs', [d(n), file, '-noappend', '-quiet', '-no-progress', '-xattrs']);
    files.push(file);
  }
  return files;
}

describe('merge', () => {
  it('merges l3..l1 so that the stack with it equals the unmerged stack; the naive overlay merge differs', async () => {
    const dir = testDir('merge');
    const [base, l1, l2, l3, top] = await makeLayerDirs(path.join(dir, 'src'));
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const env = stateEnv(dir);
    const res = await execCli(['merge', 'm', l3!, l2!, l1!, '--out', out], { env });
    expect(res.stderr).not.toMatch(/error/);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('replaces: sqsh_layers=l3:l2:l1:...');
    expect(res.stdout).toContain('new:      sqsh_layers=m:...');
    const merged = path.join(out, 'm.sqsh');

    const reference = await withStack(path.join(dir, 'ref'), [top!, l3!, l2!, l1!, base!], (root) => fullTree(root));
    const withMerged = await withStack(path.join(dir, 'stack'), [top!, merged, base!], (root) => fullTree(root));
    expect(withMerged).toEqual(reference);
    // The reference really has what the marks do: deletions below, re-created files, opaque dirs.
    expect(reference).toContain('/a/x file 644 0:0 ' + sha256Text('x-again\n'));
    expect(reference.some((l) => l.startsWith('/keep '))).toBe(false);
    expect(reference.some((l) => l.startsWith('/d/p '))).toBe(false);
    expect(reference.some((l) => l.startsWith('/deep/1/2/'))).toBe(false);
    expect(reference).toContain('/keep-dir/again file 644 0:0 ' + sha256Text('back\n'));
    expect(reference.some((l) => l.startsWith('/keep-dir/file '))).toBe(false);

    // What the merged layer holds by itself.
    const view = await inspectLayer(path.join(dir, 'inspect'), merged);
    expect(view.whiteouts.sort()).toEqual(['/keep', '/n'].sort());
    expect(view.opaque.sort()).toEqual(['/d', '/deep/1', '/keep-dir'].sort());
    const underOpaque = view.whiteouts.filter((w) => view.opaque.some((o) => w.startsWith(`${o}/`)));
    expect(underOpaque).toEqual([]);
    expect(view.entries.filter((e) => e.startsWith('/sock ') || e.startsWith('/fifo3 '))).toEqual(['/fifo3 fifo 644 0:0', '/sock other 755 0:0']);

    // The seed's way: an overlay of just the range, packed. It loses what acts below the range.
    const naiveDir = path.join(dir, 'naive');
    const naive = path.join(dir, 'naive.sqsh');
    await withStack(naiveDir, [l3!, l2!, l1!], (root) => {
      execFileSync('mksquashfs', [root, naive, '-noappend', '-quiet', '-no-progress', '-xattrs']);
      return Promise.resolve();
    });
    const withNaive = await withStack(path.join(dir, 'stack-naive'), [top!, naive, base!], (root) => fullTree(root));
    expect(withNaive).not.toEqual(reference);
    expect(withNaive.some((l) => l.startsWith('/keep '))).toBe(true); // deleted in l2, back again
    expect(withNaive.some((l) => l.startsWith('/d/p '))).toBe(true); // hidden by l1's opaque d, back again
  });

  it('gives the same bytes for the same layers, with and without SOURCE_DATE_EPOCH', async () => {
    const dir = testDir('merge-repro');
    const [, l1, l2] = await makeLayerDirs(path.join(dir, 'src'));
    const sums: string[] = [];
    for (const [i, extra] of [{}, {}, { SOURCE_DATE_EPOCH: '1700000000' }, { SOURCE_DATE_EPOCH: '1700000000' }].entries()) {
      const out = path.join(dir, `out${i}`);
      await fs.mkdir(out);
      const res = await execCli(['merge', 'm', l2!, l1!, '--out', out], { env: { ...stateEnv(dir), ...extra } });
      expect(res.code).toBe(0);
      sums.push(sha256(path.join(out, 'm.sqsh')));
    }
    expect(sums[0]).toBe(sums[1]);
    expect(sums[2]).toBe(sums[3]);
  });

  it('in a project: a range TOP..BOTTOM, a manifest entry, consecutive layers only, no partial file', async () => {
    const dir = testDir('merge-project');
    const [base, l1, l2, l3] = await makeLayerDirs(path.join(dir, 'src'));
    const project = path.join(dir, 'project');
    await writeFiles(project, { 'recipes/base.yaml': 'steps:\n  - remove: [/nothing]\n' });
    const layers = path.join(project, 'layers');
    await fs.mkdir(layers, { recursive: true });
    const manifest: Record<string, unknown> = {};
    const parents: Record<string, string | null> = { base: null, l1: 'base', l2: 'l1', l3: 'l2' };
    for (const [name, file] of Object.entries({ base, l1, l2, l3 })) {
      await fs.copyFile(file!, path.join(layers, `${name}.sqsh`));
      manifest[name] = { file: `${name}.sqsh`, parent: parents[name], sha256: sha256(file!), size: 0, squashfs: { compression: 'gzip', level: null, 'block-size': 131072 }, builtAt: '2026-01-01T00:00:00.000Z' };
    }
    await fs.writeFile(path.join(layers, 'manifest.json'), JSON.stringify({ version: 1, layers: manifest }));
    const env = stateEnv(dir);

    const taken = await execCli(['-C', project, 'merge', 'base', 'l3', 'l2'], { env });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('recipes/base.yaml builds layer base');

    const bad = await execCli(['-C', project, 'merge', 'x', 'l3', 'l1'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the parent of l3 is l2, not l1');

    const dry = await execCli(['-C', project, '--dry-run', 'merge', 'mid', 'l3..l1'], { env });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(/mount -t squashfs -o ro,loop .*l3\.sqsh/);
    expect(dry.stderr).toContain('mksquashfs');
    await expect(fs.stat(path.join(layers, 'mid.sqsh'))).rejects.toThrow();

    const res = await execCli(['-C', project, '--json', 'merge', 'mid', 'l3..l1'], { env });
    expect(res.code).toBe(0);
    const json = JSON.parse(res.stdout) as { replaces: string; cmdline: string; layer: { sha256: string } };
    expect(json.replaces).toBe('sqsh_layers=l3:l2:l1:base');
    expect(json.cmdline).toBe('sqsh_layers=mid:base');
    const written = JSON.parse(readFileSync(path.join(layers, 'manifest.json'), 'utf8')) as { layers: Record<string, { parent: string; sha256: string; madeBy: unknown }> };
    expect(written.layers.mid).toMatchObject({ parent: 'base', sha256: json.layer.sha256, madeBy: { command: 'merge', from: ['l3', 'l2', 'l1'] } });
    expect(sha256(path.join(layers, 'mid.sqsh'))).toBe(json.layer.sha256);

    const again = await execCli(['-C', project, 'merge', 'mid', 'l3..l1'], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('use --force to replace it');
    expect((await fs.readdir(layers)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    await fs.appendFile(path.join(layers, 'l2.sqsh'), 'tampered');
    const tampered = await execCli(['-C', project, 'merge', 'mid2', 'l3..l1'], { env });
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('layers/l2.sqsh does not match layers/manifest.json');
    await expect(fs.stat(path.join(layers, 'mid2.sqsh'))).rejects.toThrow();
  });
});

function sha256Text(text: string): string {
  return execFileSync('sha256sum', { input: text, encoding: 'utf8' }).slice(0, 16);
}
