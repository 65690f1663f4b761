// Removing trees on a file thread (removeTreeOnWorker): what the scratch space, the `remove`
// step and `exclude` use. Like rm -rf --one-file-system: names are bytes, a symlink is removed
// and never followed, a mount point below stops it, an absent path is nothing to do.

import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTreeOnWorker } from '../../src/process/file-workers.js';
import { leftoverCheckedDirs } from '../support/leftovers.js';

const b = (latin1: string) => Buffer.from(latin1, 'latin1');
const tempDir = leftoverCheckedDirs();
const work = () => tempDir('rmtree');
const mounted: string[] = [];

// Registered after leftoverCheckedDirs' check, so it runs before it.
afterEach(() => {
  for (const m of mounted.splice(0).reverse()) execFileSync('umount', [m]);
});

describe('removeTreeOnWorker', () => {
  it('removes a deep tree with names of any bytes, and symlinks without following them', async () => {
    const w = work();
    const outside = path.join(w, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'keep'), 'kept');
    const top = path.join(w, 'tree');
    let dir = top;
    for (let i = 0; i < 30; i++) {
      dir = path.join(dir, `d${i}`);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'f'), String(i));
    }
    const odd = Buffer.concat([b(top), b('/caf\xe9 \xff\xfe\n')]);
    await fs.mkdir(odd);
    await fs.writeFile(Buffer.concat([odd, b('/\x01x')]), 'odd');
    await fs.symlink(outside, path.join(top, 'to-outside'));
    await fs.symlink(outside, Buffer.concat([odd, b('/l\xe9')]));
    const many = path.join(top, 'many');
    await fs.mkdir(many);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => fs.writeFile(path.join(many, `f${i}`), '')));

    await removeTreeOnWorker(top);

    await expect(fs.lstat(top)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fs.readFile(path.join(outside, 'keep'), 'utf8')).toBe('kept');
    expect(await fs.readdir(w)).toEqual(['outside']);
  });

  it('removes a file or a symlink itself, given by bytes; an absent path is nothing to do', async () => {
    const w = work();
    const file = Buffer.concat([b(w), b('/f\xe9')]);
    await fs.writeFile(file, 'x');
    await fs.mkdir(path.join(w, 'target'));
    await fs.symlink('target', path.join(w, 'link'));
    await removeTreeOnWorker(file);
    await removeTreeOnWorker(path.join(w, 'link'));
    await removeTreeOnWorker(path.join(w, 'absent'));
    expect(await fs.readdir(w)).toEqual(['target']);
  });

  it('stops at a mount point below, and leaves what is mounted there alone', async () => {
    const w = work();
    const top = path.join(w, 'tree');
    const mp = path.join(top, 'a', 'mnt');
    await fs.mkdir(mp, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'sqsh-layers-test', mp]);
    mounted.push(mp);
    await fs.writeFile(path.join(mp, 'inside'), 'x');
    const err = (await removeTreeOnWorker(top).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).toBe('EXDEV');
    expect(err.message).toContain(`cannot remove ${mp}: another filesystem is mounted there`);
    expect(await fs.readFile(path.join(mp, 'inside'), 'utf8')).toBe('x');
  });

  it('an abort stops a removal under way between directories; another removal finishes it', async () => {
    const w = work();
    const top = path.join(w, 't');
    for (let d = 0; d < 150; d++) {
      const dir = path.join(top, `d${d}`);
      await fs.mkdir(dir, { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, i) => fs.writeFile(path.join(dir, `f${i}`), '')));
    }
    const ac = new AbortController();
    const removal = removeTreeOnWorker(top, ac.signal);
    // Once the walk has begun (d0 goes first, in readdir's order or not, some directory does).
    const started = Date.now();
    while ((await fs.readdir(top)).length === 150 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 1));
    ac.abort(new Error('stop'));
    await expect(removal).rejects.toThrow('stop');
    await new Promise((r) => setTimeout(r, 200)); // the worker gives up at its next directory
    const left = (await fs.readdir(top)).length;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(150);
    await removeTreeOnWorker(top);
    await expect(fs.lstat(top)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('an aborted removal is rejected with the signal', async () => {
    const w = work();
    await fs.mkdir(path.join(w, 't'));
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(removeTreeOnWorker(path.join(w, 't'), ac.signal)).rejects.toThrow('stop');
  });
});
