// verify with the real CLI on a small busybox stack: a good stack passes; a byte changed in
// a lower layer fails naming it (and nothing is mounted); a layer whose blocks do not read
// fails naming the layer and the file; a failing check is named with its output. Checks
// are not part of the cache key: changing them rebuilds nothing.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { execCli, exitOf, spawnCli, writeFiles, type CliResult } from '../support/project.js';
import { busyboxTree, stateEnv } from '../support/rootfs.js';
import { leftoverCheckedDirs, waitFor } from '../support/leftovers.js';

const newDir = leftoverCheckedDirs();

const TOP_CHECKS = 'checks:\n  - grep -qx hello /etc/greeting\n  - test "$SQSH_LAYER" = top\n';

async function project(dir: string, topChecks = TOP_CHECKS): Promise<void> {
  await busyboxTree(path.join(dir, 'rootfs'));
  await writeFiles(dir, {
    'rootfs/etc/data': 'x'.repeat(200_000),
    'recipes/base.yaml': 'steps:\n  - copy: rootfs/\nchecks:\n  - test -x /bin/busybox\n  - cat /etc/data > /dev/null\n',
    'recipes/mid.yaml': 'parent: base\nsteps:\n  - run: echo hello > /etc/greeting\n',
    'recipes/top.yaml': `parent: mid\nsteps:\n  - run: mkdir -p /srv && echo top > /srv/top\n${topChecks}`,
  });
}

function cli(dir: string, args: string[]): Promise<CliResult> {
  return execCli(args, { cwd: dir, env: stateEnv(dir) });
}

interface VerifyJson {
  ok: boolean;
  digests: { layer: string; ok: boolean }[];
  reads?: { layer: string; files: number; errors: { path: string; error: string }[] }[];
  checks?: { layer: string; command: string; ok: boolean; tail: string[] }[];
  failures: string[];
}

/** Running `sleep TOKEN` processes (a check's). */
function sleeping(token: string): string[] {
  return readdirSync('/proc').filter((n) => {
    try {
      return /^\d+$/.test(n) && readFileSync(`/proc/${n}/cmdline`, 'utf8') === `sleep\0${token}\0`;
    } catch {
      return false;
    }
  });
}

/** Changes one byte of a file in place (the cache blob is the same inode: it changes too). */
function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  const data = readFileSync(file);
  b[0] = data[at]! ^ 0xff;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

describe('verify', () => {
  it('passes on a good stack, running every layer\'s checks bottom first', async () => {
    const dir = newDir('verify-good');
    await project(dir);
    expect((await cli(dir, ['build'])).code).toBe(0);
    const r = await cli(dir, ['verify', 'top']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('verify top (top < mid < base)');
    expect(r.stdout).toMatch(/^ {2}base +ok +test -x \/bin\/busybox$/m);
    expect(r.stdout).toMatch(/^ {2}top +ok +grep -qx hello \/etc\/greeting$/m);
    expect(r.stdout).toContain('verify top: ok');
    const j = JSON.parse((await cli(dir, ['--json', 'verify', 'top'])).stdout) as VerifyJson;
    expect(j.ok).toBe(true);
    expect(j.digests.map((d) => [d.layer, d.ok])).toEqual([['base', true], ['mid', true], ['top', true]]);
    expect(j.checks!.map((c) => `${c.layer}: ${c.command}`)).toEqual([
      'base: test -x /bin/busybox',
      'base: cat /etc/data > /dev/null',
      'top: grep -qx hello /etc/greeting',
      'top: test "$SQSH_LAYER" = top',
    ]);
    expect(j.reads!.find((x) => x.layer === 'base')!.files).toBe(2);
  });

  it('fails naming the lower layer a byte of which was changed, and mounts nothing', async () => {
    const dir = newDir('verify-tampered');
    await project(dir);
    expect((await cli(dir, ['build'])).code).toBe(0);
    flipByte(path.join(dir, 'layers/mid.sqsh'), 300);
    const r = await cli(dir, ['verify', 'top']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sqsh-layers: error: verify top failed:\n  layer mid: ');
    expect(r.stderr).toContain('layers/mid.sqsh does not match manifest.json');
    expect(r.stdout).toContain('not mounted: a layer file does not match manifest.json');
    const j = JSON.parse((await cli(dir, ['--json', 'verify', 'top'])).stdout) as VerifyJson;
    expect(j.digests.map((d) => [d.layer, d.ok])).toEqual([['base', true], ['mid', false], ['top', true]]);
    expect(j.reads).toBeUndefined();
  });

  it('fails naming a layer that was built on other bytes of its parent than the stack has', async () => {
    const dir = newDir('verify-stale');
    await project(dir);
    expect((await cli(dir, ['build'])).code).toBe(0);
    await writeFiles(dir, { 'recipes/mid.yaml': 'parent: base\nsteps:\n  - run: echo hello > /etc/greeting; echo 2 > /etc/v\n' });
    expect((await cli(dir, ['build', 'mid'])).code).toBe(0); // top is left as it was, on the old mid
    const r = await cli(dir, ['verify', 'top']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ {2}layer top: was built on mid sha256:[0-9a-f]{12}, but sits on mid sha256:[0-9a-f]{12}; rebuild it \(sqsh-layers build top\)$/m);
    expect(r.stdout).toContain('not mounted');
    expect((await cli(dir, ['build'])).code).toBe(0);
    expect((await cli(dir, ['verify', 'top'])).code).toBe(0);
  });

  it('fails naming the layer and file whose data does not read, even when the manifest agrees', async () => {
    const dir = newDir('verify-unreadable');
    await project(dir);
    expect((await cli(dir, ['build'])).code).toBe(0);
    const file = path.join(dir, 'layers/base.sqsh');
    // Damage base's data blocks (busybox's, which come first), then record the damaged digest.
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 20_000);
    closeSync(fd);
    const manifestFile = path.join(dir, 'layers/manifest.json');
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as { layers: Record<string, { sha256: string; key: { parent: { digest: string } | null } }> };
    const damaged = createHash('sha256').update(readFileSync(file)).digest('hex');
    m.layers.base!.sha256 = damaged;
    m.layers.mid!.key.parent!.digest = damaged; // as if mid had been built on it
    writeFileSync(manifestFile, JSON.stringify(m));
    const r = await cli(dir, ['--json', 'verify', 'top']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as VerifyJson;
    expect(j.digests.every((d) => d.ok)).toBe(true);
    const base = j.reads!.find((x) => x.layer === 'base')!;
    expect(base.errors.length).toBeGreaterThan(0);
    expect(base.errors[0]!.error).toMatch(/EIO/);
    expect(j.failures[0]).toMatch(/^layer base: cannot read \/\S+: EIO/);
  });

  it('fails naming the failing check with the tail of its output', async () => {
    const dir = newDir('verify-check');
    await project(dir, `${TOP_CHECKS}  - echo looking for nginx; test -e /usr/sbin/nginx\n`);
    expect((await cli(dir, ['build'])).code).toBe(0);
    const r = await cli(dir, ['verify', 'top']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}top +FAILED +echo looking for nginx; test -e \/usr\/sbin\/nginx \(failed with exit code 1\)\n {4}\| looking for nginx$/m);
    expect(r.stderr).toContain('layer top, check "echo looking for nginx; test -e /usr/sbin/nginx" failed with exit code 1');
    // The checks that pass still pass; the stack is unchanged by the checks (a throw-away upper).
    expect(r.stdout).toMatch(/^ {2}base +ok +test -x \/bin\/busybox$/m);
  });

  it('undoes everything when interrupted during a check', async () => {
    const dir = newDir('verify-interrupt');
    const token = '4243';
    await project(dir, `checks:\n  - sleep ${token}\n`);
    expect((await cli(dir, ['build'])).code).toBe(0);
    const running = () => sleeping(token);
    const child = spawnCli(['verify', 'top'], { cwd: dir, env: stateEnv(dir) });
    await waitFor('the check to run', () => running().length > 0);
    child.kill('SIGINT');
    expect(await exitOf(child), child.output()).toBe(130);
    expect(child.output()).toContain('sqsh-layers: interrupted by SIGINT; cleaned up');
    await waitFor('the check to end', () => running().length === 0, 5000);
    expect(readdirSync(path.join(dir, 'run-sqsh-layers'))).toEqual([]);
  });

  it('is cleaned up after by the next run when killed with SIGKILL', async () => {
    const dir = newDir('verify-kill');
    const token = '4244';
    await project(dir, `checks:\n  - sleep ${token}\n`);
    expect((await cli(dir, ['build'])).code).toBe(0);
    const child = spawnCli(['verify', 'top'], { cwd: dir, env: stateEnv(dir) });
    const runDir = path.join(dir, 'run-sqsh-layers');
    await waitFor('the check to run', () => sleeping(token).length > 0);
    child.kill('SIGKILL');
    await exitOf(child);
    // The check's sandbox dies with the CLI (bwrap --die-with-parent); its mounts stay for the next run.
    await waitFor('the check to end', () => sleeping(token).length === 0, 10_000);
    expect(readdirSync(runDir)).toHaveLength(1); // the killed run's state, its mounts inside
    await writeFiles(dir, { 'recipes/top.yaml': 'parent: mid\nsteps:\n  - run: mkdir -p /srv && echo top > /srv/top\n' });
    const next = await cli(dir, ['verify', 'top']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/warning: cleaned up after a run that was killed \(\S+, .*\): [1-9]\d* mount\(s\)/);
    expect(readdirSync(runDir)).toEqual([]);
  });

  it('rebuilds nothing when only the checks change', async () => {
    const dir = newDir('verify-key');
    await project(dir);
    expect((await cli(dir, ['build'])).code).toBe(0);
    const before = readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8');
    await writeFiles(dir, { 'recipes/top.yaml': `parent: mid\nsteps:\n  - run: mkdir -p /srv && echo top > /srv/top\nchecks:\n  - test -e /srv/top\n` });
    const plan = await cli(dir, ['plan']);
    expect(plan.stdout).toMatch(/^ {2}top +cached/m);
    const b = await cli(dir, ['build']);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('(0 built, 3 cached');
    expect(readFileSync(path.join(dir, 'layers/manifest.json'), 'utf8')).toBe(before);
    expect((await cli(dir, ['verify', 'top'])).stdout).toMatch(/^ {2}top +ok +test -e \/srv\/top$/m);
  });
});
