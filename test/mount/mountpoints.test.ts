// What a sandbox had to create in a layer root is removed afterwards, and the directories it
// was created in end with the times they would have had without it: their own, or the ones a
// step gave them.

import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Mountpoints } from '../../src/mount/mountpoints.js';
import { tempDir } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const OLD = new Date('2001-02-03T04:05:06Z');
const STEP = new Date('2011-12-13T14:15:16Z');

function root(): string {
  const dir = tempDir('mountpoints');
  dirs.push(dir);
  mkdirSync(path.join(dir, 'etc'));
  utimesSync(path.join(dir, 'etc'), OLD, OLD);
  utimesSync(dir, OLD, OLD);
  return dir;
}

const mtime = (p: string) => lstatSync(p).mtime.toISOString();

describe('mount points in a layer root', () => {
  it('are removed, and their parents get back the times they had', async () => {
    const dir = root();
    const m = new Mountpoints(dir);
    const usable = await m.prepare([
      { path: '/.host/usr', type: 'dir' },
      { path: '/etc/resolv.conf', type: 'file' },
    ]);
    expect(usable).toHaveLength(2);
    expect(mtime(dir)).not.toBe(OLD.toISOString());
    await m.cleanup();
    expect(readdirSync(dir)).toEqual(['etc']);
    expect(readdirSync(path.join(dir, 'etc'))).toEqual([]);
    expect(mtime(dir)).toBe(OLD.toISOString());
    expect(mtime(path.join(dir, 'etc'))).toBe(OLD.toISOString());
  });

  it('keep the times a step gave their parent, though removing them moves those again', async () => {
    const dir = root();
    const m = new Mountpoints(dir);
    await m.prepare([{ path: '/.host', type: 'dir' }]);
    // The step (rsync applying a stage, say) sets the root's time.
    utimesSync(dir, STEP, STEP);
    await m.cleanup();
    expect(readdirSync(dir)).toEqual(['etc']);
    expect(mtime(dir)).toBe(STEP.toISOString());
  });

  it('never touch what a step put a symlink to in the place of their parent', async () => {
    const dir = root();
    const outside = tempDir('mountpoints-outside');
    dirs.push(outside);
    utimesSync(outside, OLD, OLD);
    const ctime = lstatSync(outside).ctimeMs;
    const m = new Mountpoints(dir);
    await m.prepare([{ path: '/etc/resolv.conf', type: 'file' }]);
    renameSync(path.join(dir, 'etc'), path.join(dir, 'etc.moved'));
    symlinkSync(outside, path.join(dir, 'etc'));
    await new Promise((r) => setTimeout(r, 20));
    await m.cleanup();
    // Not even set to the times it has (its ctime would move: the clock has moved on).
    expect(lstatSync(outside).ctimeMs).toBe(ctime);
    expect(mtime(outside)).toBe(OLD.toISOString());
    expect(readdirSync(outside)).toEqual([]);
  });

  it('one a step filled keeps its parent at the time it had, though another is removed from it', async () => {
    const dir = root();
    const m = new Mountpoints(dir);
    await m.prepare([
      { path: '/.host', type: 'dir' },
      { path: '/.other', type: 'dir' },
    ]);
    writeFileSync(path.join(dir, '.host/kept'), 'x');
    utimesSync(dir, STEP, STEP);
    await new Promise((r) => setTimeout(r, 20));
    await m.cleanup();
    expect(readdirSync(dir).sort()).toEqual(['.host', 'etc']);
    expect(mtime(dir)).toBe(STEP.toISOString());
  });

  it('that a step filled stay, and so does the time it left their parent', async () => {
    const dir = root();
    const m = new Mountpoints(dir);
    await m.prepare([{ path: '/.host', type: 'dir' }]);
    writeFileSync(path.join(dir, '.host/kept'), 'x');
    const before = mtime(dir);
    await m.cleanup();
    expect(readdirSync(dir).sort()).toEqual(['.host', 'etc']);
    expect(mtime(dir)).toBe(before);
  });
});
