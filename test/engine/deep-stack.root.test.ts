// Deep stacks with the real CLI: a chain of 200 layers with the longest names builds (the
// overlay options name the lowers relative to the mount's cwd, so depth does not depend on
// names or the run dir), each layer's blob is mounted once per run and shared by the builds
// above it, nothing stays mounted; a stack past overlayfs's 500 lowers is refused up front.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, writeFiles } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { leftoverCheckedDirs } from '../support/leftovers.js';

const testDir = leftoverCheckedDirs();

function newDir(label: string): string {
  // A long path: the run dir's length must not matter.
  const d = path.join(testDir(label), 'a-rather-long-project-directory-name-'.repeat(3));
  mkdirSync(d);
  return d;
}

/** 64-character layer names, the most the recipe format allows: l000-xxx... (bottom) to lNNN-xxx... */
const layerName = (i: number) => `l${String(i).padStart(3, '0')}-`.padEnd(64, 'x');

/** A chain of n layers: a busybox bottom layer, then layers that each copy one small file. */
async function chainProject(dir: string, n: number): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => layerName(i));
  await busyboxTree(path.join(dir, 'rootfs'));
  const files: Record<string, string> = { [`recipes/${names[0]}.yaml`]: 'steps:\n  - copy: rootfs/\n' };
  for (let i = 1; i < n; i++) {
    files[`files/f${i}.txt`] = `layer ${i}\n`;
    files[`recipes/${names[i]}.yaml`] = `parent: ${names[i - 1]}\nsteps:\n  - copy: files/f${i}.txt\n    to: /layers/\n`;
  }
  await writeFiles(dir, files);
  return names;
}

/**
 * Stacks .sqsh files (top first) with a plain overlay as the initramfs does, but with the
 * lowers named relative to the mount's cwd (200 absolute paths do not fit in one page).
 */
function withRelativeStack<T>(work: string, sqshTopFirst: string[], fn: (root: string) => T): T {
  const lowers = path.join(work, 'l');
  const root = path.join(work, 'root');
  const mounted: string[] = [];
  try {
    sqshTopFirst.forEach((file, i) => {
      const d = path.join(lowers, String(i));
      mkdirSync(d, { recursive: true });
      execFileSync('mount', ['-t', 'squashfs', '-o', 'ro,loop', file, d]);
      mounted.push(d);
    });
    mkdirSync(root);
    const lowerdir = sqshTopFirst.map((_, i) => i).join(':');
    execFileSync('mount', ['-t', 'overlay', '-o', `lowerdir=${lowerdir}`, 'stack', root], { cwd: lowers });
    mounted.push(root);
    return fn(root);
  } finally {
    for (const d of mounted.reverse()) execFileSync('umount', [d]);
  }
}

describe('deep stacks', () => {
  it('builds a chain of 200 layers with 64-character names, mounting each blob once', async () => {
    const dir = newDir('deep');
    const names = await chainProject(dir, 200);
    const top = names[199]!;
    const env = stateEnv(dir);

    const started = Date.now();
    const r = await execCli(['--verbose', 'build'], { cwd: dir, env });
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/^200 layer\(s\) ready in layers\/ \(200 built, 0 cached, /);
    console.log(`200-layer chain built in ${seconds.toFixed(1)} s`);

    // Each blob but the top one's is loop-mounted at most once in the whole run, and unmounted
    // once. The top one's parent may never be: a layer built ahead (engine/build.ts) stacks on
    // its parent's finalized upper while the parent is packed.
    const commands = r.stderr.split('\n').filter((l) => l.startsWith('+ '));
    const lowerMounts = commands.filter((l) => /^\+ mount -t squashfs -o ro,loop \S+ \S+\/lowers\/\d+$/.test(l));
    expect(new Set(lowerMounts.map((l) => l.split(' ').pop())).size).toBe(lowerMounts.length);
    expect(lowerMounts.length).toBeGreaterThanOrEqual(198);
    expect(lowerMounts.length).toBeLessThanOrEqual(199);
    expect(commands.filter((l) => /^\+ umount \S+\/lowers\/\d+$/.test(l))).toHaveLength(lowerMounts.length);
    // The top layer's build overlay names its 199 lowers by their short dirs, nearest first.
    const lowerdir = Array.from({ length: 199 }, (_, i) => 198 - i).join(':');
    const belowParent = Array.from({ length: 198 }, (_, i) => 197 - i).join(':');
    const topOverlay = commands.filter(
      (l) =>
        l.startsWith(`+ mount -t overlay -o lowerdir=${lowerdir},upperdir=../layers/${top}/tmpfs/upper,`) ||
        l.startsWith(`+ mount -t overlay -o lowerdir=../layers/${names[198]}/tmpfs/upper:${belowParent},upperdir=../layers/${top}/tmpfs/upper,`),
    );
    expect(topOverlay).toHaveLength(1);

    // The build warns that the initramfs could not mount the stack as it is.
    expect(r.stderr).toContain(`warning: the stack ${top}..${names[0]} (200 layers) will not boot with RuckusRD: `);

    // Stacked as at boot, the top layer's stack shows every layer's file.
    const sqsh = [...names].reverse().map((n) => path.join(dir, 'layers', `${n}.sqsh`));
    withRelativeStack(path.join(dir, 'check'), sqsh, (root) => {
      expect(readdirSync(path.join(root, 'layers')).sort()).toEqual(Array.from({ length: 199 }, (_, i) => `f${i + 1}.txt`).sort());
      for (let i = 1; i < 200; i++) expect(readFileSync(path.join(root, 'layers', `f${i}.txt`), 'utf8')).toBe(`layer ${i}\n`);
      expect(existsSync(path.join(root, 'bin/busybox'))).toBe(true);
    });

    // The run dir is gone; --dry-run describes the shared mounts and the relative overlay.
    expect(readdirSync(env.SQSH_LAYERS_RUN_DIR!)).toEqual([]);
    const dry = await execCli(['--dry-run', 'build', '--force', top], { cwd: dir, env });
    expect(dry.code, dry.stderr).toBe(0);
    const lines = dry.stderr.split('\n');
    expect(lines.filter((l) => / \+ mount -t squashfs -o ro,loop .*\/lowers\/\d+ {3}\(shared by the run's builds\)$/.test(l))).toHaveLength(199);
    expect(lines.filter((l) => l.includes(`+ mount -t overlay -o lowerdir=${lowerdir},upperdir=../layers/${top}/tmpfs/upper,`))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(`+ mount -t overlay -o lowerdir=${lowerdir},ro,`))).toHaveLength(1);
  }, 1_200_000);

  it('refuses a stack deeper than overlayfs mounts before anything is mounted', async () => {
    const dir = newDir('too-deep');
    const names = Array.from({ length: 503 }, (_, i) => layerName(i));
    const files: Record<string, string> = {};
    names.forEach((n, i) => (files[`recipes/${n}.yaml`] = `${i > 0 ? `parent: ${names[i - 1]}\n` : ''}steps:\n  - remove: [/nothing]\n`));
    await writeFiles(dir, files);
    const env = stateEnv(dir);

    const r = await execCli(['build'], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `recipes/${names[501]}.yaml:1:9: the stack ${names[501]}..${names[0]} has 502 layers: layer "${names[501]}" would be built ` +
        `on 501 lowers, and overlayfs stacks at most 500 (the 1 layer stacked on it cannot be built either)\n` +
        `   1 | parent: ${names[500]}\n` +
        `     |         ${'^'.repeat(64)}\n` +
        `  hint: squash layers of the stack into one with "sqsh-layers merge NEW TOP..BOTTOM", or give ${names[501]} a parent lower in the stack\n` +
        '\n1 problem in the recipes; nothing was built\n',
    );
    expect(existsSync(env.SQSH_LAYERS_RUN_DIR!)).toBe(false);
    expect(existsSync(path.join(dir, 'layers'))).toBe(false);
  }, 120_000);
});
