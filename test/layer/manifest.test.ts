// manifest.json is written once per run, atomically, and only when the run changed it.

import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManifestWriter, readManifestFile, type ManifestEntry } from '../../src/layer/manifest.js';
import { tempDir } from '../support/project.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function entry(name: string, digest: string): ManifestEntry {
  return {
    file: `${name}.sqsh`,
    parent: null,
    sha256: digest,
    size: 4096,
    squashfs: { compression: 'zstd', level: 15, 'block-size': 131072 },
    builtAt: '2026-01-01T00:00:00.000Z',
    keyDigest: `k-${digest}`,
    key: {} as ManifestEntry['key'],
  };
}

function layersDir(): string {
  const d = tempDir('manifest');
  dirs.push(d);
  return d;
}

describe('ManifestWriter', () => {
  it('writes the whole run at once when it ends, layers sorted, nothing before', async () => {
    const dir = layersDir();
    const w = new ManifestWriter(dir, { version: 1, layers: {} }, false);
    for (let i = 999; i >= 0; i--) await w.update(`m${String(i).padStart(4, '0')}`, entry(`m${i}`, `d${i}`));
    expect(await fs.readdir(dir)).toEqual([]);
    await w.flush();
    expect(await fs.readdir(dir)).toEqual(['manifest.json']);
    const m = (await readManifestFile(dir))!;
    expect(Object.keys(m.layers)).toHaveLength(1000);
    expect(Object.keys(m.layers).slice(0, 3)).toEqual(['m0000', 'm0001', 'm0002']);
  });

  it('leaves the file alone when the run changed nothing, and writes again only for new changes', async () => {
    const dir = layersDir();
    const first = new ManifestWriter(dir, { version: 1, layers: {} }, false);
    await first.update('base', entry('base', 'aa'));
    await first.flush();
    const file = path.join(dir, 'manifest.json');
    const before = await fs.stat(file);

    const again = new ManifestWriter(dir, (await readManifestFile(dir))!, true);
    await again.update('base', entry('base', 'aa'));
    await again.flush();
    const after = await fs.stat(file);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);

    await again.update('base', entry('base', 'bb'));
    await again.flush();
    expect((await readManifestFile(dir))!.layers.base!.sha256).toBe('bb');
    // Written by rename: a new inode, never a file half-written in place.
    expect((await fs.stat(file)).ino).not.toBe(before.ino);
    expect((await fs.readdir(dir)).filter((f) => f !== 'manifest.json')).toEqual([]);
  });

  it('writes an absent manifest even when every layer was already known', async () => {
    const dir = layersDir();
    const w = new ManifestWriter(dir, { version: 1, layers: { base: entry('base', 'aa') } }, false);
    await w.update('base', entry('base', 'aa'));
    await w.flush();
    expect(Object.keys((await readManifestFile(dir))!.layers)).toEqual(['base']);
  });
});
