// Mounts through the mount helper (native/mounter.c): the same mounts mount(8) makes, the
// same way of failing, printed and not made in --dry-run.

import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyMount, overlayMount, tmpfsMount, unmount } from '../../src/mount/ops.js';
import { mounter } from '../../src/mount/mounter.js';
import { Runner } from '../../src/process/run.js';
import { explainFailure, failureOf } from '../../src/failure.js';
import { descendantsNamed, leftoverCheckedDirs, waitFor } from '../support/leftovers.js';
import { mountsBelow } from '../support/rootfs.js';

const newDir = leftoverCheckedDirs();

function runner(dryRun = false): { r: Runner; lines: string[] } {
  const lines: string[] = [];
  const log = { verbose: (l: string) => lines.push(`v ${l}`), info: (l: string) => lines.push(`i ${l}`) };
  return { r: new Runner({ log, dryRun, signal: new AbortController().signal, env: process.env }), lines };
}

/** The mountinfo line fields of the mount at `target`: filesystem type and its options. */
function mountOf(target: string): { fstype: string; options: string } | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] !== target) continue;
    const sep = f.indexOf('-');
    return { fstype: f[sep + 1]!, options: `${f[5]} ${f[sep + 3]}` };
  }
  return undefined;
}

describe('the mount helper', () => {
  it('is there (npm run build compiles it), and mounts a tmpfs and a read-only overlay with relative lowers as mount(8) would', async () => {
    expect(mounter()).toBeDefined();
    const dir = newDir('mounter');
    const { r, lines } = runner();
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const tmp = path.join(dir, 'tmp');
    mkdirSync(tmp);
    await applyMount(r, tmpfsMount(tmp, '16m'));
    expect(mountOf(tmp)?.fstype).toBe('tmpfs');
    expect(mountOf(tmp)?.options).toMatch(/^rw,.* rw,size=16384k(,|$)/);
    const view = path.join(tmp, 'view');
    try {
      for (const d of ['a', 'b', 'view']) mkdirSync(path.join(tmp, d));
      writeFileSync(path.join(tmp, 'b/from-b'), 'b\n');
      // Relative lowers: resolved against the request's cwd, as mount(8) run there does.
      await applyMount(r, overlayMount({ lowers: [path.join(tmp, 'a'), path.join(tmp, 'b')], options: ['xino=off'], cwd: tmp }, view));
      expect(mountOf(view)?.fstype).toBe('overlay');
      expect(mountOf(view)?.options).toMatch(/^ro,.* ro,lowerdir=a:b(,|$)/);
      expect(readFileSync(path.join(view, 'from-b'), 'utf8')).toBe('b\n');
      expect(lines).toContain(`v + mount -t overlay -o lowerdir=a:b,ro,xino=off sqsh-layers ${view}   (in ${tmp})`);
      // Back in / after the request: a working directory in the tmpfs would keep it busy.
      const [helper] = descendantsNamed(process.pid, 'mounter');
      expect(readlinkSync(`/proc/${helper}/cwd`)).toBe('/');
    } finally {
      await unmount(r, view, warn);
      await unmount(r, tmp, warn);
    }
    expect(warnings).toEqual([]);
    expect(mountsBelow(dir)).toEqual([]);
    expect(lines).toContain(`v + umount ${tmp}`);
  });

  it('fails as the command would, naming the target and the error, and mounts nothing', async () => {
    const dir = newDir('mounter-fail');
    const { r } = runner();
    const view = path.join(dir, 'view');
    mkdirSync(view);
    const err = await applyMount(r, overlayMount({ lowers: [path.join(dir, 'missing')], options: [], cwd: dir }, view)).catch((e: unknown) => e);
    const f = failureOf(err);
    expect(f.reason).toBe('command');
    const shown = explainFailure(f);
    expect(shown.message).toContain(`mount -t overlay -o lowerdir=missing,ro sqsh-layers ${view}`);
    expect(shown.tail).toEqual([`mount: ${view}: no such file or directory (ENOENT)`]);
    expect(mountsBelow(dir)).toEqual([]);
    // Unmounting what is not mounted is nothing to do; a busy mount is retried, then detached.
    await unmount(r, view, () => {});
  });

  it('answers requests made at once each with its own result, a failure among them', async () => {
    const dir = newDir('mounter-many');
    const { r } = runner();
    const targets = ['a', 'b', 'c', 'd'].map((n) => path.join(dir, n));
    for (const t of targets) mkdirSync(t);
    const bad = overlayMount({ lowers: [path.join(dir, 'missing')], options: [], cwd: dir }, targets[1]!);
    const results = await Promise.allSettled([applyMount(r, tmpfsMount(targets[0]!, '1m')), applyMount(r, bad), applyMount(r, tmpfsMount(targets[2]!, '2m')), applyMount(r, tmpfsMount(targets[3]!, '3m'))]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(['a', 'c', 'd'].map((n) => mountOf(path.join(dir, n))?.options.match(/size=(\d+)k/)?.[1])).toEqual(['1024', '2048', '3072']);
    const gone = await Promise.allSettled(targets.map((t) => unmount(r, t, () => {})));
    expect(gone.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(mountsBelow(dir)).toEqual([]);
  });

  it('once the helper is gone (killed by someone), mount(8) and umount(8) do the work', async () => {
    const dir = newDir('mounter-gone');
    const { r } = runner();
    const tmp = path.join(dir, 'tmp');
    mkdirSync(tmp);
    await applyMount(r, tmpfsMount(tmp, '8m'));
    const [helper] = descendantsNamed(process.pid, 'mounter');
    expect(helper).toBeDefined();
    process.kill(helper!, 'SIGKILL'); // the helper this test file's mounts started
    await waitFor('the helper to be known gone', () => mounter() === undefined, 10_000);
    await unmount(r, tmp, () => {});
    expect(mountsBelow(dir)).toEqual([]);
    await applyMount(r, tmpfsMount(tmp, '8m'));
    expect(mountOf(tmp)?.fstype).toBe('tmpfs');
    await unmount(r, tmp, () => {});
    expect(mountsBelow(dir)).toEqual([]);
  });

  it('in --dry-run, prints the command and mounts nothing', async () => {
    const dir = newDir('mounter-dry');
    const { r, lines } = runner(true);
    const tmp = path.join(dir, 'tmp');
    mkdirSync(tmp);
    await applyMount(r, tmpfsMount(tmp, '50%'));
    expect(lines).toEqual([`i + mount -t tmpfs -o size=50%,mode=0755 sqsh-layers ${tmp}`]);
    expect(mountsBelow(dir)).toEqual([]);
  });
});
