import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StatCache } from '../../src/cache/stat-cache.js';
import { layerKey } from '../../src/engine/status.js';
import { loadProject } from '../../src/recipe/load.js';
import { tempDir, writeFiles } from '../support/project.js';
import type { Sha256 } from '../../src/cache/digest.js';
import { keyDigest, LAYER_FORMAT, type LayerKey, normalizeRecipe } from '../../src/cache/key.js';
import type { Loc, Recipe } from '../../src/recipe/types.js';

const L: Loc = { file: 'recipes/server.yaml', line: 1, col: 1, endLine: 1, endCol: 2 };
const D1 = 'a'.repeat(64) as Sha256;
const D2 = 'b'.repeat(64) as Sha256;

function recipe(o: Partial<Recipe> = {}): Recipe {
  return {
    name: 'server',
    file: 'recipes/server.yaml',
    description: 'nginx on top of base',
    parent: 'base',
    steps: [
      { kind: 'restore', index: 0, loc: L, input: { path: 'inputs/server.dump', abs: '/p/inputs/server.dump', loc: L }, to: '/', replace: true },
      { kind: 'untar', index: 1, loc: L, input: { path: 'inputs/app.tar.gz', abs: '/p/inputs/app.tar.gz', loc: L }, to: '/opt/app', replace: false },
      {
        kind: 'copy',
        index: 2,
        loc: L,
        input: { path: 'files/nginx/', abs: '/p/files/nginx', loc: L },
        to: '/etc/nginx/',
        owner: { uid: 0, gid: 33 },
        mode: 0o640,
        replace: false,
      },
      { kind: 'run', index: 3, loc: L, script: 'apt-get install -y nginx\n', network: true, env: { DEBIAN_FRONTEND: 'noninteractive' } },
      { kind: 'host', index: 4, loc: L, input: { path: 'hooks/manage.sh', abs: '/p/hooks/manage.sh', loc: L }, env: {} },
      { kind: 'remove', index: 5, loc: L, paths: ['/etc/motd'] },
    ],
    exclude: ['/var/log/apt/**'],
    pruneIdentical: true,
    squashfs: { compression: 'zstd', level: 15, blockSize: 131072 },
    tmpfsSize: '50%',
    checks: ['nginx -t'],
    locs: { file: L },
    ...o,
  };
}

function key(o: Partial<LayerKey> = {}): LayerKey {
  return {
    format: LAYER_FORMAT,
    recipe: normalizeRecipe(recipe()),
    inputs: [{ path: 'inputs/server.dump', kind: 'file', digest: D1, mode: 0o644, uid: 0, gid: 0 }],
    parent: { name: 'base', digest: D1 },
    mksquashfs: 'mksquashfs version 4.5.1 (2022/03/17)',
    sourceDateEpoch: null,
    ...o,
  };
}

describe('normalizeRecipe', () => {
  it('keeps what decides the bytes, keyed as in the recipe file', () => {
    expect(normalizeRecipe(recipe())).toEqual({
      steps: [
        { restore: 'inputs/server.dump', to: '/', replace: true },
        { untar: 'inputs/app.tar.gz', to: '/opt/app', replace: false },
        { copy: 'files/nginx/', to: '/etc/nginx/', owner: '0:33', mode: 0o640, replace: false },
        { run: 'apt-get install -y nginx\n', network: true, env: { DEBIAN_FRONTEND: 'noninteractive' } },
        { host: 'hooks/manage.sh', env: {} },
        { remove: ['/etc/motd'] },
      ],
      exclude: ['/var/log/apt/**'],
      'prune-identical': true,
      squashfs: { compression: 'zstd', level: 15, 'block-size': 131072 },
    });
  });

  it('drops description, checks, tmpfs-size, source locations and absolute input paths', () => {
    const moved = recipe({
      description: 'something else',
      checks: [],
      tmpfsSize: '8G',
      file: 'elsewhere.yaml',
      locs: { file: { ...L, line: 9 } },
    });
    moved.steps = moved.steps.map((s) => ({
      ...s,
      loc: { ...L, line: 40 },
      ...('input' in s ? { input: { ...s.input, abs: `/other${s.input.abs}`, loc: { ...L, col: 7 } } } : {}),
    }));
    expect(normalizeRecipe(moved)).toEqual(normalizeRecipe(recipe()));
  });

  it('writes an unset level and mode as null, so they stay in the key', () => {
    const r = recipe({ squashfs: { compression: 'xz', level: undefined, blockSize: 1 << 20 } });
    const copy = r.steps[2]!;
    if (copy.kind === 'copy') copy.mode = undefined;
    const n = normalizeRecipe(r);
    expect(n.squashfs).toEqual({ compression: 'xz', level: null, 'block-size': 1048576 });
    expect(n.steps[2]).toEqual({ copy: 'files/nginx/', to: '/etc/nginx/', owner: '0:33', mode: null, replace: false });
    expect(JSON.parse(JSON.stringify(n))).toEqual(n);
  });
});

describe('keyDigest', () => {
  it('is a sha256 hex digest, the same for equal keys', () => {
    expect(keyDigest(key())).toMatch(/^[0-9a-f]{64}$/);
    expect(keyDigest(key())).toBe(keyDigest(key()));
  });

  it('does not depend on the order of object keys', () => {
    const k = key();
    const reordered = Object.fromEntries(Object.entries(k).reverse()) as unknown as LayerKey;
    reordered.recipe = Object.fromEntries(Object.entries(k.recipe).reverse()) as unknown as LayerKey['recipe'];
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(k));
    expect(keyDigest(reordered)).toBe(keyDigest(k));
  });

  const base = keyDigest(key());
  it.each<[string, Partial<LayerKey>]>([
    ['format', { format: LAYER_FORMAT + 1 }],
    ['recipe step', { recipe: normalizeRecipe(recipe({ steps: recipe().steps.slice(1) })) }],
    ['recipe exclude', { recipe: normalizeRecipe(recipe({ exclude: [] })) }],
    ['recipe prune-identical', { recipe: normalizeRecipe(recipe({ pruneIdentical: false })) }],
    ['squashfs level', { recipe: normalizeRecipe(recipe({ squashfs: { compression: 'zstd', level: 16, blockSize: 131072 } })) }],
    ['squashfs block size', { recipe: normalizeRecipe(recipe({ squashfs: { compression: 'zstd', level: 15, blockSize: 65536 } })) }],
    ['input content', { inputs: [{ path: 'inputs/server.dump', kind: 'file', digest: D2, mode: 0o644, uid: 0, gid: 0 }] }],
    ['input mode', { inputs: [{ path: 'inputs/server.dump', kind: 'file', digest: D1, mode: 0o600, uid: 0, gid: 0 }] }],
    ['input owner', { inputs: [{ path: 'inputs/server.dump', kind: 'file', digest: D1, mode: 0o644, uid: 1, gid: 0 }] }],
    ['input group', { inputs: [{ path: 'inputs/server.dump', kind: 'file', digest: D1, mode: 0o644, uid: 0, gid: 1 }] }],
    ['input kind', { inputs: [{ path: 'inputs/server.dump', kind: 'tree', digest: D1, mode: 0o644, uid: 0, gid: 0 }] }],
    ['input path', { inputs: [{ path: 'inputs/other.dump', kind: 'file', digest: D1, mode: 0o644, uid: 0, gid: 0 }] }],
    ['no inputs', { inputs: [] }],
    ['parent digest', { parent: { name: 'base', digest: D2 } }],
    ['parent name', { parent: { name: 'base2', digest: D1 } }],
    ['no parent', { parent: null }],
    ['mksquashfs', { mksquashfs: 'mksquashfs version 4.6.1 (2023/03/25)' }],
    ['SOURCE_DATE_EPOCH', { sourceDateEpoch: 0 }],
  ])('changes with %s', (_what, change) => {
    expect(keyDigest(key(change))).not.toBe(base);
  });

  it('does not change with description, checks or tmpfs-size', () => {
    const k = key({ recipe: normalizeRecipe(recipe({ description: undefined, checks: ['true'], tmpfsSize: '1G' })) });
    expect(keyDigest(k)).toBe(base);
  });
});

describe('keys and the project directory', () => {
  it('do not depend on where the project is: the same recipes and inputs in two directories give the same keys', { timeout: 30_000 }, async () => {
    const files = {
      'files/tree/etc/motd': 'hello\n',
      'files/tree/bin/tool': { text: '#!/bin/sh\n', mode: 0o755 },
      'hooks/h.sh': { text: '#!/bin/sh\n', mode: 0o755 },
      'inputs/a.tar': 'not really a tar\n',
      'recipes/base.yaml': 'steps:\n  - copy: files/tree/\n  - untar: inputs/a.tar\n  - host: hooks/h.sh\n  - run: echo hi\n',
    };
    const keys: string[] = [];
    const dirs = [tempDir('key-a'), `${tempDir('key-b')}/deeper/elsewhere`];
    try {
      for (const dir of dirs) {
        await writeFiles(dir, files);
        const { project } = await loadProject(dir, { checkInputs: true });
        const stats = await StatCache.open(`${dir}/.sqsh-cache/stat-cache.json`);
        const kc = { stats, mksquashfs: 'mksquashfs version 4.6.1', sourceDateEpoch: 1700000000, signal: new AbortController().signal };
        keys.push((await layerKey(kc, project!.recipes.get('base')!, null)).digest);
      }
    } finally {
      for (const d of dirs) rmSync(d.replace(/\/deeper\/elsewhere$/, ''), { recursive: true, force: true });
    }
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(keys[1]).toBe(keys[0]);
  });
});
