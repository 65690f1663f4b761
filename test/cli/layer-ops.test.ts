// merge, commit and capture: what they refuse before anything is mounted (exit 2, a message
// that says what was expected), and their help. No root needed.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/project.js';

async function bareDir(): Promise<string> {
  const dir = tempDir('layer-ops');
  await fs.writeFile(path.join(dir, 'a.sqsh'), '');
  await fs.writeFile(path.join(dir, 'b.sqsh'), '');
  return dir;
}

const env = (dir: string) => ({ SQSH_LAYERS_RUN_DIR: path.join(dir, 'run-sqsh-layers') });

describe('merge, commit and capture arguments', () => {
  it.each([
    [['merge', 'New', 'a', 'b'], 'the new layer "New" is not a layer name'],
    [['merge', 'm', 'a'], 'merge needs at least two layers'],
    [['merge', 'm', 'a', 'a'], 'layer a is named twice'],
    [['merge', 'm', 'a..b'], 'a range TOP..BOTTOM needs a project'],
    [['merge', 'm', 'a', 'missing'], 'missing.sqsh does not exist'],
    [['commit', 'x', '--stack', 'a', '--parent', 'b'], '--stack and --parent both name the stack'],
    [['commit', 'x', '--merge', 'two'], '--merge must be a number of layers, found "two"'],
    [['commit', '.', 'x', '--stack', 'a:b', '--merge', '3'], '--merge 3: the stack has 2 layer(s)'],
    [['commit'], 'commit needs the name of the new layer'],
    [['capture'], 'capture needs the name of the new layer'],
    [['capture', '/', 'base', '--exclude', 'var/cache'], '--exclude var/cache: an in-root path starts with "/"'],
  ])('%j is refused: %s', async (args, message) => {
    const dir = await bareDir();
    try {
      const res = await runCli([...args, '--out', dir], { cwd: dir, env: env(dir) });
      expect(res.stderr).toContain(message);
      expect(res.code).toBe(2);
      expect((await fs.readdir(dir)).sort()).toEqual(['a.sqsh', 'b.sqsh']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('--layers-dir without --out is refused: a project keeps its layers in layers/', async () => {
    const dir = await bareDir();
    try {
      const res = await runCli(['merge', 'm', 'a', 'b', '--layers-dir', dir], { cwd: dir, env: env(dir) });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('--layers-dir goes with --out');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('names every missing host tool and its package before anything is mounted', async () => {
    const dir = await bareDir();
    try {
      const res = await runCli(['merge', 'm', 'a', 'b', '--out', dir], { cwd: dir, env: { ...env(dir), PATH: dir } });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('missing tools (nothing was built):');
      expect(res.stderr).toContain('rsync: needed for merge; install it: apt-get install rsync');
      expect(res.stderr).toContain('mksquashfs: needed for merge; install it: apt-get install squashfs-tools');
      expect((await fs.readdir(dir)).sort()).toEqual(['a.sqsh', 'b.sqsh']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it.each(['merge', 'commit', 'capture'])('%s --help shows examples', async (cmd) => {
    const res = await runCli([cmd, '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Examples:');
    expect(res.stdout).toContain(`sqsh-layers ${cmd} `);
  });
});
