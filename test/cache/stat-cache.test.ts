import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256OfString } from '../../src/cache/digest.js';
import { StatCache } from '../../src/cache/stat-cache.js';
import { tempDir } from '../support/project.js';

const dir = tempDir('stat-cache');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
let cacheFile: string;
let file: string;
beforeEach(async () => {
  n++;
  cacheFile = path.join(dir, `cache-${n}`, 'stat-cache.json');
  file = path.join(dir, `input-${n}`);
  await fs.writeFile(file, 'hello');
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Moves the clock past the racy window of everything written so far. */
function later(seconds = 10): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

describe('StatCache', () => {
  it('reuses a digest while the stat is unchanged, also after save and reopen', async () => {
    later();
    const stats = await StatCache.open(cacheFile);
    expect(await stats.digest(file)).toBe(sha256OfString('hello'));
    expect(stats.hashed).toBe(1);
    expect(await stats.digest(file)).toBe(sha256OfString('hello'));
    expect(stats.hashed).toBe(1);
    await stats.save();

    const again = await StatCache.open(cacheFile);
    expect(await again.digest(file)).toBe(sha256OfString('hello'));
    expect(again.hashed).toBe(0);
  });

  it('re-hashes after the content changed', async () => {
    later();
    const stats = await StatCache.open(cacheFile);
    await stats.digest(file);
    await fs.writeFile(file, 'hello, world');
    later();
    expect(await stats.digest(file)).toBe(sha256OfString('hello, world'));
    expect(stats.hashed).toBe(2);
  });

  it('re-hashes a change that keeps size and mtime (the ctime tells)', async () => {
    const t = new Date('2024-01-02T03:04:05.000Z');
    await fs.utimes(file, t, t);
    later();
    const stats = await StatCache.open(cacheFile);
    await stats.digest(file);
    await new Promise((r) => setTimeout(r, 20)); // let the ctime move on coarse clocks
    await fs.writeFile(file, 'jello');
    await fs.utimes(file, t, t);
    expect((await fs.stat(file, { bigint: true })).mtimeNs).toBe(BigInt(t.getTime()) * 1_000_000n);
    later();
    expect(await stats.digest(file)).toBe(sha256OfString('jello'));
    expect(stats.hashed).toBe(2);
  });

  it('re-hashes a file replaced by another (new inode)', async () => {
    const t = new Date('2024-01-02T03:04:05.000Z');
    await fs.utimes(file, t, t);
    later();
    const stats = await StatCache.open(cacheFile);
    await stats.digest(file);
    const other = `${file}.new`;
    await fs.writeFile(other, 'hullo');
    await fs.utimes(other, t, t);
    await fs.rename(other, file);
    later();
    expect(await stats.digest(file)).toBe(sha256OfString('hullo'));
    expect(stats.hashed).toBe(2);
  });

  it('does not trust an entry hashed while the file could still be changing (racy)', async () => {
    // Hashed right after the write: the same second could hold another write of the same size.
    const stats = await StatCache.open(cacheFile);
    await stats.digest(file);
    await stats.digest(file);
    expect(stats.hashed).toBe(2);
    // Hashed again well after the write: now it is trusted.
    later();
    await stats.digest(file);
    expect(stats.hashed).toBe(3);
    await stats.digest(file);
    expect(stats.hashed).toBe(3);
  });

  it('keeps a racy entry racy across save and reopen', async () => {
    const stats = await StatCache.open(cacheFile);
    await stats.digest(file);
    await stats.save();
    const again = await StatCache.open(cacheFile);
    await again.digest(file);
    expect(again.hashed).toBe(1);
  });

  it('forgets a file on request', async () => {
    later();
    const stats = await StatCache.open(cacheFile);
    await stats.digest(file);
    stats.forget(file);
    await stats.digest(file);
    expect(stats.hashed).toBe(2);
  });

  it('drops entries of files that are gone when saving', async () => {
    later();
    const stats = await StatCache.open(cacheFile);
    const gone = path.join(dir, `gone-${n}`);
    await fs.writeFile(gone, 'x');
    await stats.digest(file);
    await stats.digest(gone);
    await fs.rm(gone);
    await stats.save();
    const saved = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as { version: number; entries: Record<string, unknown> };
    expect(saved.version).toBe(1);
    expect(Object.keys(saved.entries)).toEqual([file]);
    expect((await fs.readdir(path.dirname(cacheFile))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('starts empty from a missing, corrupt or foreign cache file', async () => {
    later();
    for (const content of [undefined, '{not json', JSON.stringify({ version: 2, entries: { [file]: { digest: 'x' } } })]) {
      if (content !== undefined) {
        await fs.mkdir(path.dirname(cacheFile), { recursive: true });
        await fs.writeFile(cacheFile, content);
      }
      const stats = await StatCache.open(cacheFile);
      expect(await stats.digest(file)).toBe(sha256OfString('hello'));
      expect(stats.hashed).toBe(1);
    }
  });

  it('fails for a missing file', async () => {
    const stats = await StatCache.open(cacheFile);
    await expect(stats.digest(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('sealed entries', () => {
  const T = new Date('2024-01-02T03:04:05.000Z');
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  async function sealedBlob(): Promise<{ blob: string; cache: StatCache; digest: ReturnType<typeof sha256OfString>; dir: string }> {
    const dir = tempDir('seal');
    dirs.push(dir);
    const blob = path.join(dir, 'blob');
    await fs.writeFile(blob, 'layer bytes');
    await fs.utimes(blob, T, T);
    const cache = await StatCache.open(path.join(dir, 'stat-cache.json'));
    const digest = sha256OfString('layer bytes');
    await cache.seal(blob, digest);
    return { blob, cache, digest, dir };
  }

  it('trust a blob the tool wrote itself at once (not racy)', async () => {
    const { blob, cache, digest } = await sealedBlob();
    expect(await cache.digest(blob)).toBe(digest);
    expect(cache.hashed).toBe(0);
  });

  it("compare the ctime: the tool's own hardlink is recorded by sealing again; any other change is hashed", async () => {
    const { blob, cache, digest, dir } = await sealedBlob();
    await new Promise((r) => setTimeout(r, 20)); // let the ctime move on coarse clocks
    await fs.link(blob, path.join(dir, 'layer.sqsh')); // changes the blob's ctime, not its bytes
    expect(await cache.digest(blob)).toBe(digest);
    expect(cache.hashed).toBe(1);
    await cache.seal(blob, digest);
    expect(await cache.digest(blob)).toBe(digest);
    expect(cache.hashed).toBe(1);
  });

  it('see a change of the same size whose mtime was put back (touch -r)', async () => {
    const { blob, cache, digest } = await sealedBlob();
    await new Promise((r) => setTimeout(r, 20));
    const fh = await fs.open(blob, 'r+');
    await fh.write(Buffer.from('LAYER'), 0, 5, 0);
    await fh.close();
    await fs.utimes(blob, T, T);
    expect((await fs.stat(blob, { bigint: true })).mtimeNs).toBe(BigInt(T.getTime()) * 1_000_000n);
    const actual = await cache.digest(blob);
    expect(actual).not.toBe(digest);
    expect(actual).toBe(sha256OfString('LAYER bytes'));
    expect(cache.hashed).toBe(1);
  });
});
