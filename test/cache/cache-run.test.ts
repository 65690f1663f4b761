import { existsSync, promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CacheRun, removeDeadWriters, tmpEntries, writerPid } from '../../src/cache/cache-run.js';
import type { Sha256 } from '../../src/cache/digest.js';
import { tempDir } from '../support/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('writerPid', () => {
  it.each([
    ['20261126T000000-4242-abcdef', 4242],
    ['server.20261126T000000-17-0a1b2c.tmp', 17],
    [`${'e'.repeat(64)}.json.4242.ab12cd.tmp`, 4242],
    ['tools.json.99.123456.tmp', 99],
    ['stat-cache.json.4242.tmp', 4242],
  ])('%s is written by pid %d', (name, pid) => {
    expect(writerPid(name)).toBe(pid);
  });

  it.each(['notes.tmp', 'server.tmp', 'uses'])('%s names no writer', (name) => {
    expect(writerPid(name)).toBeUndefined();
  });
});

describe('CacheRun', () => {
  it('keeps its temp files and the blobs it uses in tmp/RUN-ID/, seen as live while its pid runs, removed on dispose', async () => {
    const cache = tempDir('cache-run');
    dirs.push(cache);
    const id = `20261126T000000-${process.pid}-abcdef`;
    const run = new CacheRun(cache, id);
    const tmp = await run.tmpPath('app');
    expect(tmp).toBe(path.join(cache, 'tmp', id, 'app.tmp'));
    await fs.writeFile(tmp, 'partial');
    const blob = 'a'.repeat(64) as Sha256;
    await run.use(blob);
    const alive = (pid: number) => Promise.resolve(pid === process.pid);
    expect(await tmpEntries(cache, alive)).toEqual([{ rel: `tmp/${id}`, live: true, unowned: false, mtimeMs: expect.any(Number) as number, uses: [blob] }]);

    await removeDeadWriters(cache, alive);
    expect(existsSync(tmp)).toBe(true);
    await removeDeadWriters(cache, () => Promise.resolve(false));
    expect(existsSync(tmp)).toBe(false);

    await run.tmpPath('app');
    await run.dispose();
    expect(await fs.readdir(path.join(cache, 'tmp'))).toEqual([]);
  });
});
