// merge, commit and capture under the build's reliability contract: SIGTERM and SIGINT
// mid-work undo every mount and leave no output (exit 143 / 130); after SIGKILL the next
// run cleans the killed run's mounts. And hostile layers: a symlink in one layer cannot make
// the merge write or delete outside its staging dir.

import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { descendantsNamed, isRunning, leftoverCheckedDirs, leftoversBelow, waitFor } from '../support/leftovers.js';
import { inspectLayer, sh } from '../support/layer-tree.js';
import { execCli, exitOf, spawnCli } from '../support/project.js';
import { mountsBelow, stateEnv } from '../support/rootfs.js';

const testDir = leftoverCheckedDirs();

function mksquashfs(dir: string, file: string): void {
  execFileSync('mksquashfs', [dir, file, '-noappend', '-quiet', '-no-progress', '-xattrs', '-comp', 'lz4']);
}

/** Two layers big enough that merging them takes a few seconds (incompressible data). */
function bigLayers(dir: string, size = '150M'): { top: string; bottom: string } {
  sh(`mkdir -p ${dir}/bottom ${dir}/top && head -c ${size} /dev/urandom > ${dir}/bottom/big && echo t > ${dir}/top/t`);
  const files = { top: path.join(dir, 'top.sqsh'), bottom: path.join(dir, 'bottom.sqsh') };
  mksquashfs(path.join(dir, 'bottom'), files.bottom);
  mksquashfs(path.join(dir, 'top'), files.top);
  return files;
}

describe('merge, commit and capture: interrupts and SIGKILL', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal} while merging undoes every mount and writes no output (exit ${code})`, async () => {
      const dir = testDir('merge-signal');
      const { top, bottom } = bigLayers(dir);
      const out = path.join(dir, 'out');
      await fs.mkdir(out);
      const env = stateEnv(dir);
      const child = spawnCli(['merge', 'm', top, bottom, '--out', out], { env });
      const runDir = env.SQSH_LAYERS_RUN_DIR!;
      await waitFor('the merge to mount its layers', () => mountsBelow(runDir).length >= 2);
      child.kill(signal);
      expect(await exitOf(child)).toBe(code);
      expect(child.output()).toContain(`interrupted by ${signal}; cleaned up`);
      expect(await leftoversBelow(dir)).toEqual([]);
      expect(readdirSync(out)).toEqual([]);
      expect(existsSync(runDir) ? readdirSync(runDir) : []).toEqual([]);
    });
  }

  it('after SIGKILL mid-pack, the next run cleans the killed run\'s mounts and succeeds', async () => {
    const dir = testDir('merge-kill');
    const { top, bottom } = bigLayers(dir, '40M');
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const env = stateEnv(dir);
    const child = spawnCli(['merge', 'm', top, bottom, '--out', out], { env });
    const [packer] = await waitFor('mksquashfs started by the merge', () => {
      const found = descendantsNamed(child.pid!, 'mksquashfs');
      return found.length > 0 ? found : undefined;
    });
    child.kill('SIGKILL');
    await exitOf(child);
    // Its mksquashfs runs on in its own process group: the next run kills it.
    expect(isRunning(packer!)).toBe(true);
    expect(mountsBelow(env.SQSH_LAYERS_RUN_DIR!).length).toBeGreaterThan(0);
    expect(readdirSync(out).filter((n) => !n.endsWith('.tmp'))).toEqual([]);

    const again = await execCli(['merge', 'm', top, bottom, '--out', out], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/cleaned up after a run that was killed \(.*\): [1-9]\d* mount\(s\)/);
    expect(readdirSync(out).sort()).toEqual(['m.sqsh']);
    expect(isRunning(packer!)).toBe(false);
    expect(await leftoversBelow(dir)).toEqual([]);
  });

  it('SIGTERM while capturing unmounts the read-only bind and the mask', async () => {
    const dir = testDir('capture-signal');
    const root = path.join(dir, 'root');
    sh(`mkdir -p ${root}/data && head -c 150M /dev/urandom > ${root}/data/big`);
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const env = stateEnv(dir);
    const child = spawnCli(['capture', root, 'base', '--out', out], { env });
    await waitFor('mksquashfs started by the capture', () => descendantsNamed(child.pid!, 'mksquashfs').length > 0 || undefined);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(143);
    expect(await leftoversBelow(dir)).toEqual([]);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('merge of hostile layers', () => {
  it('a symlink in a lower layer of the range cannot redirect writes or deletions to the host', async () => {
    const dir = testDir('merge-hostile');
    const canary = path.join(dir, 'canary');
    sh(`mkdir -p ${canary} && echo precious > ${canary}/victim`);
    // l1 points a and b at the host; l2 puts a directory at a (with a whiteout inside) and deletes b/victim's parent's content through b.
    sh(`
      mkdir -p ${dir}/l1 ${dir}/l2/a ${dir}/l2/c
      ln -s ${canary} ${dir}/l1/a; ln -s ${canary} ${dir}/l1/c
      mknod ${dir}/l2/a/victim c 0 0; echo pwned > ${dir}/l2/a/pwned
      mknod ${dir}/l2/c/victim c 0 0
    `);
    mksquashfs(path.join(dir, 'l1'), path.join(dir, 'l1.sqsh'));
    mksquashfs(path.join(dir, 'l2'), path.join(dir, 'l2.sqsh'));
    const out = path.join(dir, 'out');
    await fs.mkdir(out);
    const res = await execCli(['merge', 'm', path.join(dir, 'l2.sqsh'), path.join(dir, 'l1.sqsh'), '--out', out], { env: stateEnv(dir) });
    expect(res.code).toBe(0);
    expect((await fs.readdir(canary)).sort()).toEqual(['victim']);
    expect(await fs.readFile(path.join(canary, 'victim'), 'utf8')).toBe('precious\n');
    // What l2 meant inside the layer set: a and c are directories now, replacing l1's symlinks.
    const view = await inspectLayer(path.join(dir, 'inspect'), path.join(out, 'm.sqsh'));
    expect(view.opaque.sort()).toEqual(['/a', '/c']);
    expect(view.paths.sort()).toEqual(['/a', '/a/pwned', '/c']);
  });
});
