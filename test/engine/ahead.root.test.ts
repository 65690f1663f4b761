// Building ahead (engine/build.ts): a child whose steps only bring in inputs runs its steps
// and finalize on its parent's finalized upper while the parent is packed. The bytes must be
// those of the same child built on the packed parent; a parent that fails or an interrupt
// while the child works ahead must leave nothing behind.

import { promises as fs, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, exitOf, spawnCli, writeFiles, type CliResult } from '../support/project.js';
import { busyboxTree, mountsBelow, stateEnv } from '../support/rootfs.js';
import { sh } from '../support/layer-tree.js';
import { leftoverCheckedDirs, tempFilesIn, waitFor } from '../support/leftovers.js';
import { ustar } from '../support/tar.js';

const newDir = leftoverCheckedDirs();
const SDE = 1_600_000_000;

function digests(dir: string): Record<string, string> {
  const m = JSON.parse(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, { sha256: string }> };
  return Object.fromEntries(Object.entries(m.layers).map(([n, l]) => [n, l.sha256]));
}

function outcomes(r: CliResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of r.stderr.matchAll(/^\[([a-z0-9._-]+)\] (cached|built|skipped)\b/gm)) out[m[1]!] = m[2]!;
  return out;
}

/**
 * base: a busybox tree written just now (times newer than SDE, with fractions of a second:
 * the pack clamps them); app: a tarball unpacked into /usr/share/app (copy-ups of /usr and
 * /usr/share, whose times come from base) and a base file removed (a whiteout).
 */
async function project(dir: string, env: NodeJS.ProcessEnv = {}, baseFromTar = false): Promise<NodeJS.ProcessEnv> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await fs.mkdir(path.join(dir, 'rootfs/usr/share'), { recursive: true });
  await fs.mkdir(path.join(dir, 'inputs'));
  // A tarball keeps whole seconds: base's upper then needs no settling before app builds on it.
  if (baseFromTar) sh('tar -C rootfs -cf inputs/base.tar .', { cwd: dir });
  await writeFiles(dir, {
    'recipes/base.yaml': baseFromTar ? 'steps:\n  - untar: inputs/base.tar\n' : 'steps:\n  - copy: rootfs/\n',
    'recipes/app.yaml': 'parent: base\nsteps:\n  - untar: inputs/app.tar\n    to: /usr/share\n  - remove: [/bin/ls]\n',
  });
  writeFileSync(
    path.join(dir, 'inputs/app.tar'),
    ustar([
      { name: 'app/', type: 'dir', mode: 0o755, mtime: 1_500_000_000 },
      { name: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o755, mtime: 1_500_000_100 },
    ]),
  );
  return { ...stateEnv(dir), ...env };
}

describe('building ahead of the parent', () => {
  for (const [sde, baseFromTar] of [[SDE, false], [undefined, false], [undefined, true]] as const) {
    const how = sde === undefined ? `no source-date-epoch, base from ${baseFromTar ? 'a tarball (whole seconds)' : 'a copy (fractions)'}` : 'SOURCE_DATE_EPOCH older than the tree';
    it(`gives the bytes of the child built on the packed parent (${how})`, async () => {
      const dir = newDir('ahead-same');
      const env = await project(dir, { SOURCE_DATE_EPOCH: sde === undefined ? undefined : String(sde) }, baseFromTar);
      const first = await execCli(['--verbose', 'build'], { cwd: dir, env });
      expect(first.code, first.stderr).toBe(0);
      // app did build ahead: its plan says so, and its steps ran before base was stored.
      expect(first.stderr).toMatch(/app: plan\n\s+\(built ahead: the parent's finalized upper dir /);
      expect(first.stderr.indexOf('[app] step 1/2')).toBeLessThan(first.stderr.indexOf('[base] built in'));
      const ahead = digests(dir);

      // The same child on the packed parent (base cached: nothing to build ahead of).
      const again = await execCli(['--verbose', 'build', '--force', 'app'], { cwd: dir, env });
      expect(again.code, again.stderr).toBe(0);
      expect(outcomes(again)).toEqual({ base: 'cached', app: 'built' });
      expect(again.stderr).not.toContain('built ahead');
      expect(digests(dir)).toEqual(ahead);
    }, 120_000);
  }

  it('a parent that fails while its child works ahead: the child is skipped, nothing is left', async () => {
    const dir = newDir('ahead-parent-fails');
    // A mksquashfs that fails for base, after a moment (the child is at work by then).
    await writeFiles(dir, {
      'bin/mksquashfs': {
        text: '#!/bin/sh\ncase "$1" in */layers/base/*) sleep 2; echo "mksquashfs: disk on fire" >&2; exit 1;; esac\nexec /usr/bin/mksquashfs "$@"\n',
        mode: 0o755,
      },
    });
    const env = await project(dir, { SOURCE_DATE_EPOCH: String(SDE), PATH: `${path.join(dir, 'bin')}:${process.env.PATH}` });
    const r = await execCli(['build'], { cwd: dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('disk on fire');
    expect(r.stderr).toMatch(/layer base/);
    expect(r.stderr).not.toMatch(/\[app\] built/);
    await expect(fs.readdir(path.join(dir, 'layers'))).resolves.toEqual(expect.not.arrayContaining(['app.sqsh', 'base.sqsh']));
    expect(mountsBelow(env.SQSH_LAYERS_RUN_DIR!)).toEqual([]);
    expect(tempFilesIn(path.join(dir, '.sqsh-cache'))).toEqual([]);
  }, 120_000);

  it('SIGINT while the child works ahead and the parent packs: exit 130, nothing left', async () => {
    const dir = newDir('ahead-sigint');
    await writeFiles(dir, { 'bin/mksquashfs': { text: '#!/bin/sh\ncase "$1" in */layers/base/*) sleep 30;; esac\nexec /usr/bin/mksquashfs "$@"\n', mode: 0o755 } });
    const env = await project(dir, { SOURCE_DATE_EPOCH: String(SDE), PATH: `${path.join(dir, 'bin')}:${process.env.PATH}` });
    const child = spawnCli(['build'], { cwd: dir, env });
    await waitFor('the child to work ahead', () => child.output().includes('[app] finalizing'), 60_000);
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe(130);
    expect(child.output()).toContain('interrupted by SIGINT');
    expect(mountsBelow(env.SQSH_LAYERS_RUN_DIR!)).toEqual([]);
    expect(tempFilesIn(path.join(dir, '.sqsh-cache'))).toEqual([]);
    await expect(fs.readdir(path.join(dir, 'layers')).catch(() => [])).resolves.toEqual(expect.not.arrayContaining(['app.sqsh', 'base.sqsh']));
  }, 120_000);
});
