// `layerdev`: an ext4 image made without mounting, attached through a loop device and mounted
// read-only, holds every layer where the printed parameters say RuckusRD's lookup_layer will
// look ($mountpoint/$sqsh_layerdir/NAME.sqsh); those layers stack into the tree of the build.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, writeFiles } from '../support/project.js';
import { busyboxTree, mountStack, stateEnv } from '../support/rootfs.js';
import { leftoverCheckedDirs, sha256, tempFilesIn } from '../support/leftovers.js';

const testDir = leftoverCheckedDirs();

/** base (busybox), app over base, two tops over app: a forest with two stacks. */
async function project(dir: string): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\n',
    'recipes/app.yaml': 'parent: base\nsteps:\n  - copy: files/app.txt\n    to: /srv/\n',
    'recipes/web.yaml': 'parent: app\nsteps:\n  - copy: files/web.txt\n    to: /srv/\n  - remove: [/bin/ls]\n',
    'recipes/db.yaml': 'parent: app\nsteps:\n  - copy: files/db.txt\n    to: /srv/\n',
    'files/app.txt': 'app\n',
    'files/web.txt': 'web\n',
    'files/db.txt': 'db\n',
  });
}

/** The kernel parameters of a printed line, as a map. */
function params(line: string): Map<string, string> {
  return new Map(line.split(' ').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const));
}

/** Attaches img read-only, mounts it read-only at dir; returns the undo. */
function attach(img: string, dir: string): () => void {
  const loop = execFileSync('losetup', ['--find', '--show', '--read-only', img], { encoding: 'utf8' }).trim();
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'ext4', '-o', 'ro', loop, dir]);
  } catch (err) {
    execFileSync('losetup', ['-d', loop]);
    throw err;
  }
  return () => {
    execFileSync('umount', [dir]);
    execFileSync('losetup', ['-d', loop]);
  };
}

describe('layerdev', () => {
  it('writes an image where the printed parameters find every layer, and the layers stack', async () => {
    const dir = testDir('layerdev');
    await project(dir);
    const env = stateEnv(dir);
    const img = path.join(dir, 'out', 'layers.img');
    mkdirSync(path.dirname(img));
    const r = await execCli(['-C', dir, 'layerdev', '--out', img, '--layerdir', 'sets/v1'], { env });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2); // one per stack: db and web
    const blkid = execFileSync('blkid', ['-o', 'export', img], { encoding: 'utf8' });
    const uuid = /^UUID=(.*)$/m.exec(blkid)![1]!;
    expect(blkid).toMatch(/^TYPE=ext4$/m);
    expect(lines).toEqual([
      `sqsh_layerdev=UUID=${uuid} sqsh_layerdir=sets/v1 sqsh_layers=db:app:base`,
      `sqsh_layerdev=UUID=${uuid} sqsh_layerdir=sets/v1 sqsh_layers=web:app:base`,
    ]);
    expect(readdirSync(path.dirname(img))).toEqual(['layers.img']); // no temp file beside it

    const mnt = path.join(dir, 'mnt', 'sqsh_layerdev');
    const detach = attach(img, mnt);
    try {
      for (const line of lines) {
        const p = params(line);
        // RuckusRD: sqsh_layerdir=REL is appended to each device mount point; NAME.sqsh below it.
        const found = p.get('sqsh_layers')!.split(':').map((n) => path.join(mnt, p.get('sqsh_layerdir')!, `${n}.sqsh`));
        for (const f of found) {
          expect(existsSync(f), f).toBe(true);
          expect(sha256(f)).toBe(sha256(path.join(dir, 'layers', path.basename(f))));
        }
        const stack = mountStack(path.join(dir, 'mnt', p.get('sqsh_layers')!.split(':')[0]!), found);
        try {
          const top = p.get('sqsh_layers')!.split(':')[0]!;
          expect(readFileSync(path.join(stack.root, 'srv', `${top}.txt`), 'utf8')).toBe(`${top}\n`);
          expect(readFileSync(path.join(stack.root, 'srv/app.txt'), 'utf8')).toBe('app\n');
          expect(existsSync(path.join(stack.root, 'bin/busybox'))).toBe(true);
          expect(existsSync(path.join(stack.root, 'bin/ls'))).toBe(top !== 'web'); // web's whiteout
        } finally {
          stack.unmount();
        }
      }
    } finally {
      detach();
    }
    // Only the layers, under the layer dir.
    expect(tempFilesIn(path.join(dir, '.sqsh-cache'))).toEqual([]);
    expect(readdirSync(path.join(dir, 'run-sqsh-layers'))).toEqual([]);
  }, 120_000);

  it('puts one stack at the image root, keeps its UUID for the same layers, and refuses a size too small', async () => {
    const dir = testDir('layerdev-one');
    await project(dir);
    const env = { ...stateEnv(dir), SOURCE_DATE_EPOCH: '1700000000' };
    const a = path.join(dir, 'a.img');
    const b = path.join(dir, 'b.img');
    const r1 = await execCli(['-C', dir, '--json', 'layerdev', 'web', '--out', a], { env });
    expect(r1.code, r1.stderr).toBe(0);
    const j = JSON.parse(r1.stdout) as { uuid: string; layers: string[]; cmdlines: { top: string; cmdline: string }[]; size: number };
    expect(j.layers).toEqual(['web', 'app', 'base']);
    expect(j.cmdlines).toEqual([{ top: 'web', cmdline: `sqsh_layerdev=UUID=${j.uuid} sqsh_layers=web:app:base` }]);
    expect(statSync(a).size).toBe(j.size);
    const r2 = await execCli(['-C', dir, '--json', 'layerdev', 'web', '--out', b], { env });
    expect(r2.code, r2.stderr).toBe(0);
    // Same layers, same UUID: a machine's sqsh_layerdev=UUID=... keeps working with a rebuilt image.
    expect((JSON.parse(r2.stdout) as { uuid: string }).uuid).toBe(j.uuid);
    expect(execFileSync('blkid', ['-s', 'UUID', '-o', 'value', b], { encoding: 'utf8' }).trim()).toBe(j.uuid);

    const mnt = path.join(dir, 'mnt');
    const detach = attach(a, mnt);
    try {
      expect(readdirSync(mnt).sort()).toEqual(['app.sqsh', 'base.sqsh', 'lost+found', 'web.sqsh']);
    } finally {
      detach();
    }

    const small = await execCli(['-C', dir, 'layerdev', 'web', '--out', path.join(dir, 'c.img'), '--size', '1M'], { env });
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/--size .* is too small for 3 layer\(s\): the image needs at least \d+M/);
    expect(existsSync(path.join(dir, 'c.img'))).toBe(false);
    const bad = await execCli(['-C', dir, 'layerdev', 'web', '--out', path.join(dir, 'c.img'), '--layerdir', '../up'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--layerdir "../up"');
    expect(readdirSync(dir).filter((n) => n.includes('c.img'))).toEqual([]);
  }, 120_000);
});
