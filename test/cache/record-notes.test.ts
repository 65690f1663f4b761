// Key records noted in the stat cache: a peek (plan) knows the blob a record names from the
// record file's stat, without reading it, and reads it again once the file is not as it was.
// A get (build) notes what it found, and touches a record's time (gc's last use) only when it
// is a minute old, so that a run soon after knows every record unread.

import { promises as fs, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CacheRun } from '../../src/cache/cache-run.js';
import { type KeyDigest, sha256OfString } from '../../src/cache/digest.js';
import type { LayerKey } from '../../src/cache/key.js';
import { LocalStore } from '../../src/cache/local-store.js';
import { StatCache } from '../../src/cache/stat-cache.js';
import { tempDir } from '../support/project.js';

const dir = tempDir('record-notes');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const key = { format: 1 } as unknown as LayerKey;

/** A store in a fresh cache dir with one layer put under `keyDigest`; its stat cache saved. */
async function storeWithOne(): Promise<{ cacheDir: string; statFile: string; keyDigest: KeyDigest; digest: string; recordFile: string }> {
  const cacheDir = path.join(dir, `cache-${++n}`);
  const statFile = path.join(cacheDir, 'stat-cache.json');
  await fs.mkdir(cacheDir, { recursive: true });
  const stats = await StatCache.open(statFile);
  const store = new LocalStore(cacheDir, stats, () => {}, new CacheRun(cacheDir, `20261201T000000-${process.pid}-a${n}`));
  const keyDigest = sha256OfString(`key ${n}`) as unknown as KeyDigest;
  const blob = await store.newBlob('base');
  await fs.writeFile(blob.path, `layer ${n}`);
  const hit = await blob.commit(key, keyDigest);
  await store.close();
  await stats.save();
  return { cacheDir, statFile, keyDigest, digest: hit.record.digest, recordFile: path.join(cacheDir, 'keys', `${keyDigest}.json`) };
}

async function peekWithFreshStore(cacheDir: string, statFile: string, keyDigest: KeyDigest) {
  const stats = await StatCache.open(statFile);
  return { found: await new LocalStore(cacheDir, stats, () => {}).peek(keyDigest), stats };
}

describe('key records noted in the stat cache', () => {
  it('a peek after a get knows the record unread; a record changed since is read again', async () => {
    const c = await storeWithOne();
    // A build gets the entry: its record is noted with its stat.
    const stats = await StatCache.open(c.statFile);
    const store = new LocalStore(c.cacheDir, stats, () => {}, new CacheRun(c.cacheDir, `20261201T000001-${process.pid}-b${n}`));
    expect((await store.get(c.keyDigest)).found).toBe('hit');
    await store.close();
    await stats.save();
    expect(stats.noted(c.recordFile, statSync(c.recordFile, { bigint: true }))).toEqual({ digest: c.digest, size: 7 });

    // Proof that the peek does not read the record: note another blob of this store under the
    // record's very stat; the peek answers with it.
    const other = await storeWithOne();
    await fs.copyFile(path.join(other.cacheDir, 'blobs', 'sha256', other.digest), path.join(c.cacheDir, 'blobs', 'sha256', other.digest));
    const forged = await StatCache.open(c.statFile);
    forged.note(c.recordFile, statSync(c.recordFile, { bigint: true }), { digest: other.digest as never, size: 7 });
    await forged.save();
    expect((await peekWithFreshStore(c.cacheDir, c.statFile, c.keyDigest)).found).toEqual({ found: 'hit', digest: other.digest, size: 7 });

    // The record rewritten (same size, in place): its stat changed, so it is read again.
    const text = await fs.readFile(c.recordFile, 'utf8');
    await fs.writeFile(c.recordFile, text);
    const again = await peekWithFreshStore(c.cacheDir, c.statFile, c.keyDigest);
    expect(again.found).toEqual({ found: 'hit', digest: c.digest, size: 7 });
    expect(again.stats.noted(c.recordFile, statSync(c.recordFile, { bigint: true }))).toEqual({ digest: c.digest, size: 7 });
  });

  it('a record replaced after this run read it (another project sharing the cache) is not noted with what was read', async () => {
    const c = await storeWithOne();
    const other = await storeWithOne();
    await fs.copyFile(path.join(other.cacheDir, 'blobs', 'sha256', other.digest), path.join(c.cacheDir, 'blobs', 'sha256', other.digest));
    const stats = await StatCache.open(path.join(c.cacheDir, 'fresh-stats.json'));
    const store = new LocalStore(c.cacheDir, stats, () => {}, new CacheRun(c.cacheDir, `20261201T000003-${process.pid}-d${n}`));
    expect(await store.peek(c.keyDigest)).toEqual({ found: 'hit', digest: c.digest, size: 7 });
    // Replaced (renamed into place, as a put does) by a record naming the other blob.
    const replaced = JSON.parse(await fs.readFile(c.recordFile, 'utf8')) as { digest: string };
    replaced.digest = other.digest;
    await fs.writeFile(`${c.recordFile}.new`, JSON.stringify(replaced));
    await fs.rename(`${c.recordFile}.new`, c.recordFile);
    // This run goes on with what it read; what it notes must not pair that with the new file.
    expect((await store.get(c.keyDigest)).found).toBe('hit');
    await store.close();
    expect(stats.noted(c.recordFile, statSync(c.recordFile, { bigint: true }))?.digest).not.toBe(c.digest);
    expect((await new LocalStore(c.cacheDir, stats, () => {}).peek(c.keyDigest))).toEqual({ found: 'hit', digest: other.digest, size: 7 });
  });

  it('a get touches a record (last use) only when it is a minute old; a record gone is a miss', async () => {
    const c = await storeWithOne();
    const getOnce = async () => {
      const stats = await StatCache.open(c.statFile);
      const store = new LocalStore(c.cacheDir, stats, () => {}, new CacheRun(c.cacheDir, `20261201T000002-${process.pid}-c${++n}`));
      const found = await store.get(c.keyDigest);
      await store.close();
      await stats.save();
      return found.found;
    };
    const recent = new Date(Date.now() - 30_000);
    await fs.utimes(c.recordFile, recent, recent);
    expect(await getOnce()).toBe('hit');
    expect(Math.round((await fs.stat(c.recordFile)).mtimeMs)).toBe(recent.getTime());
    const old = new Date(Date.now() - 120_000);
    await fs.utimes(c.recordFile, old, old);
    expect(await getOnce()).toBe('hit');
    expect((await fs.stat(c.recordFile)).mtimeMs).toBeGreaterThan(Date.now() - 10_000);
    // The note follows the touched record: a peek knows it as it is now.
    const stats = await StatCache.open(c.statFile);
    expect(stats.noted(c.recordFile, statSync(c.recordFile, { bigint: true }))).toEqual({ digest: c.digest, size: 7 });

    await fs.rm(c.recordFile);
    expect((await peekWithFreshStore(c.cacheDir, c.statFile, c.keyDigest)).found).toEqual({ found: 'miss' });
  });
});
