// A layer never built in the project, whose key waits for hashing a big input never hashed,
// starts building at once (engine/build.ts: hashingHoldsUp): its key is looked up once known.
// When the cache has it after all (a cache shared with another project, a stat cache lost),
// the work is dropped, the layer is cached, and nothing of the dropped work is left.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { execCli, writeFiles, type CliResult } from '../support/project.js';
import { mountsBelow, stateEnv } from '../support/rootfs.js';
import { sh } from '../support/layer-tree.js';
import { leftoverCheckedDirs, tempFilesIn } from '../support/leftovers.js';

const newDir = leftoverCheckedDirs();

function outcomes(r: CliResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of r.stderr.matchAll(/^\[([a-z0-9._-]+)\] (cached|built|skipped)\b/gm)) out[m[1]!] = m[2]!;
  return out;
}

function digests(dir: string): Record<string, string> {
  const m = JSON.parse(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')) as { layers: Record<string, { sha256: string }> };
  return Object.fromEntries(Object.entries(m.layers).map(([n, l]) => [n, l.sha256]));
}

describe('a layer whose big input was never hashed', () => {
  it('starts before its key is known; a cache hit found then drops the work and leaves nothing', async () => {
    const dir = newDir('speculative');
    // A gzipped tarball of about 40 MiB (BIG_INPUT is 16 MiB): hashing it takes a fraction
    // of the time its unpacking takes, so the untar is still running when the key is known.
    sh(
      `mkdir -p tree/opt/data inputs && head -c 40000000 /dev/urandom | base64 > tree/opt/data/blob
       echo hello > tree/opt/data/small && tar -C tree -czf inputs/big.tar.gz . && rm -rf tree
       mkdir -p tree/srv && head -c 30000000 /dev/urandom | base64 > tree/srv/blob
       tar -C tree -czf inputs/mid.tar.gz . && rm -rf tree`,
      { cwd: dir },
    );
    // The stat cache trusts a digest taken at least 2 s after the file last changed.
    await new Promise((r) => setTimeout(r, 2100));
    await writeFiles(dir, {
      'recipes/base.yaml': 'steps:\n  - untar: inputs/big.tar.gz\n',
      'recipes/mid.yaml': 'parent: base\nsteps:\n  - untar: inputs/mid.tar.gz\n',
      'recipes/top.yaml': 'parent: mid\nsteps:\n  - remove: [/opt/data/small]\n',
    });
    const env = { ...stateEnv(dir), SOURCE_DATE_EPOCH: '1600000000' };
    const build = async (args: string[] = []) => {
      const r = await execCli(['-C', dir, '--verbose', 'build', ...args], { env });
      expect(r.code, r.stderr).toBe(0);
      return r;
    };

    const first = await build();
    expect(outcomes(first)).toEqual({ base: 'built', mid: 'built', top: 'built' });
    const before = digests(dir);

    // As a project sharing the cache would be: no layers/ of its own, and the input never
    // hashed here (the stat cache is lost). base starts building, then turns out cached.
    rmSync(path.join(dir, 'layers'), { recursive: true, force: true });
    rmSync(path.join(dir, '.sqsh-cache/stat-cache.json'));
    const again = await build();
    expect(outcomes(again)).toEqual({ base: 'cached', mid: 'cached', top: 'cached' });
    const started = again.stderr.indexOf('[base] building: never built');
    expect(started, again.stderr).toBeGreaterThanOrEqual(0);
    const cached = again.stderr.indexOf('[base] cached');
    expect(cached).toBeGreaterThan(started);
    // The dropped work was stopped in its step, and says nothing more.
    expect(again.stderr).not.toMatch(/^\[base\] (finaliz|packing)/m);
    expect(again.stderr.slice(cached)).not.toMatch(/^\[base\] step/m);
    expect(again.stderr).not.toContain('warning');
    expect(digests(dir)).toEqual(before);
    expect(execFileSync('sha256sum', [path.join(dir, 'layers/base.sqsh')], { encoding: 'utf8' }).split(' ')[0]).toBe(before.base);
    // The dropped work: nothing mounted, nothing half-written in layers/ or the cache.
    expect(mountsBelow(dir)).toEqual([]);
    expect(tempFilesIn(path.join(dir, 'layers'))).toEqual([]);
    expect(existsSync(path.join(dir, '.sqsh-cache/tmp')) ? tempFilesIn(path.join(dir, '.sqsh-cache/tmp')) : []).toEqual([]);

    // Hashed now: the next run looks the key up first, and starts nothing.
    rmSync(path.join(dir, 'layers'), { recursive: true, force: true });
    const third = await build();
    expect(outcomes(third)).toEqual({ base: 'cached', mid: 'cached', top: 'cached' });
    expect(third.stderr).not.toContain('building');

    // A layer on a cached parent, its own big input touched (new to the stat cache, the same
    // bytes): it starts on its parent's blob, mounted for the run, and is dropped: no warning
    // (a busy unmount would give one), nothing left mounted.
    rmSync(path.join(dir, 'layers'), { recursive: true, force: true });
    sh('touch inputs/mid.tar.gz', { cwd: dir });
    const fourth = await build();
    expect(outcomes(fourth)).toEqual({ base: 'cached', mid: 'cached', top: 'cached' });
    expect(fourth.stderr).toContain('[mid] building: never built');
    expect(fourth.stderr).not.toContain('[base] building');
    expect(fourth.stderr).not.toMatch(/warning|busy/i);
    expect(digests(dir)).toEqual(before);
    expect(mountsBelow(dir)).toEqual([]);
  }, 240_000);
});
