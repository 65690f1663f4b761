import { describe, expect, it } from 'vitest';
import type { Sha256 } from '../../src/cache/digest.js';
import { describeReason, diffPaths, explainKeyChange, type StaleReason } from '../../src/cache/explain.js';
import type { InputFingerprint, LayerKey } from '../../src/cache/key.js';

const D1 = '1'.repeat(64) as Sha256;
const D2 = '2'.repeat(64) as Sha256;

function input(path: string, o: Partial<InputFingerprint> = {}): InputFingerprint {
  return { path, kind: 'file', digest: D1, mode: 0o644, uid: 0, gid: 0, ...o };
}

function key(o: Partial<LayerKey> = {}): LayerKey {
  return {
    format: 1,
    recipe: {
      steps: [
        { restore: 'inputs/server.dump', to: '/', replace: true },
        { run: 'apt-get install -y nginx', network: true, env: {} },
      ],
      exclude: ['/var/log/**'],
      'prune-identical': true,
      squashfs: { compression: 'zstd', level: 15, 'block-size': 131072 },
    },
    inputs: [input('inputs/server.dump')],
    parent: { name: 'base', digest: D1 },
    mksquashfs: 'mksquashfs version 4.5.1 (2022/03/17)',
    sourceDateEpoch: null,
    ...o,
  };
}

const texts = (prev: LayerKey | undefined, cur: LayerKey) => explainKeyChange(prev, cur).map(describeReason);

describe('explainKeyChange', () => {
  it('says "never built" without a previous key', () => {
    expect(explainKeyChange(undefined, key())).toEqual([{ reason: 'not-built' }]);
  });

  it('finds nothing between equal keys', () => {
    expect(explainKeyChange(key(), key())).toEqual([]);
  });

  it('names the recipe fields that changed', () => {
    const cur = key();
    cur.recipe = {
      ...cur.recipe,
      steps: [{ restore: 'inputs/server.dump', to: '/srv', replace: false }, cur.recipe.steps[1]!],
      squashfs: { compression: 'zstd', level: 19, 'block-size': 131072 },
      'prune-identical': false,
    };
    expect(texts(key(), cur)).toEqual([
      'recipe field prune-identical changed',
      'recipe field squashfs.level changed',
      'recipe field steps[0].replace changed',
      'recipe field steps[0].to changed',
    ]);
  });

  it('names the whole list when steps were added or removed', () => {
    const cur = key();
    cur.recipe = { ...cur.recipe, steps: [...cur.recipe.steps, { remove: ['/etc/motd'] }], exclude: [] };
    expect(texts(key(), cur)).toEqual(['recipe field exclude changed', 'recipe field steps changed (2 → 3 steps)']);
  });

  it('names a step that became another kind once, not field by field', () => {
    const cur = key();
    cur.recipe = { ...cur.recipe, steps: [cur.recipe.steps[0]!, { copy: 'files/x', to: '/', owner: '0:0', mode: null, replace: false }] };
    expect(texts(key(), cur)).toEqual(['recipe field steps[1] changed (run → copy)']);
  });

  it('names inputs by what changed in them', () => {
    const prev = key({
      inputs: [input('a'), input('b'), input('c'), input('d'), input('gone'), input('t', { kind: 'tree' })],
    });
    const cur = key({
      inputs: [
        input('a', { digest: D2 }),
        input('b', { mode: 0o755 }),
        input('c', { uid: 1000 }),
        input('d', { gid: 1000 }),
        input('new'),
        input('t', { kind: 'file' }),
      ],
    });
    expect(explainKeyChange(prev, cur)).toEqual<StaleReason[]>([
      { reason: 'input', path: 'a', what: 'content' },
      { reason: 'input', path: 'b', what: 'mode' },
      { reason: 'input', path: 'c', what: 'owner' },
      { reason: 'input', path: 'd', what: 'owner' },
      { reason: 'input', path: 'new', what: 'added' },
      { reason: 'input', path: 't', what: 'content' },
      { reason: 'input', path: 'gone', what: 'removed' },
    ]);
    expect(texts(prev, cur)).toEqual([
      'input a changed (content)',
      'input b changed (mode)',
      'input c changed (owner)',
      'input d changed (owner)',
      'input new added',
      'input t changed (content)',
      'input gone removed',
    ]);
  });

  it('reports an input used twice once', () => {
    const prev = key({ inputs: [input('f'), input('f')] });
    const cur = key({ inputs: [input('f', { digest: D2 }), input('f', { digest: D2 })] });
    expect(texts(prev, cur)).toEqual(['input f changed (content)']);
  });

  it('tells a parent rebuilt with other bytes from another parent', () => {
    expect(texts(key(), key({ parent: { name: 'base', digest: D2 } }))).toEqual(['parent base was rebuilt with different content']);
    expect(texts(key(), key({ parent: { name: 'base2', digest: D1 } }))).toEqual(['parent changed from base to base2']);
    expect(texts(key({ parent: null }), key())).toEqual(['parent set to base']);
    expect(texts(key(), key({ parent: null }))).toEqual(['parent base removed: now a bottom layer']);
  });

  it('names tool, format and SOURCE_DATE_EPOCH changes', () => {
    expect(texts(key(), key({ format: 2, mksquashfs: 'mksquashfs version 4.6.1', sourceDateEpoch: 1700000000 }))).toEqual([
      'layer format changed (1 → 2)',
      'mksquashfs changed (mksquashfs version 4.5.1 (2022/03/17) → mksquashfs version 4.6.1)',
      'SOURCE_DATE_EPOCH changed from unset to 1700000000',
    ]);
    expect(texts(key({ sourceDateEpoch: 1 }), key({ sourceDateEpoch: null }))).toEqual(['SOURCE_DATE_EPOCH changed from 1 to unset']);
  });
});

describe('describeReason', () => {
  it.each<[StaleReason, string]>([
    [{ reason: 'not-built' }, 'never built'],
    [{ reason: 'forced' }, '--force'],
    [{ reason: 'recipe', field: 'steps[2].to' }, 'recipe field steps[2].to changed'],
    [{ reason: 'parent', name: 'server', what: 'stale' }, 'parent server will be rebuilt'],
    [{ reason: 'tool', what: 'mksquashfs changed (a → b)' }, 'mksquashfs changed (a → b)'],
    [{ reason: 'cache-missing' }, 'built before, but its cache entry is gone'],
    [{ reason: 'cache-corrupt', detail: '4097 bytes, stored as 4096' }, 'cached blob changed on disk (4097 bytes, stored as 4096)'],
    [{ reason: 'input-missing', path: 'inputs/x.dump' }, 'input inputs/x.dump is missing'],
  ])('%o → %s', (r, text) => {
    expect(describeReason(r)).toBe(text);
  });
});

describe('diffPaths', () => {
  it('walks objects and arrays of equal length, and stops at lists that changed length', () => {
    expect(diffPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } }, '')).toEqual(['b.c[1]']);
    expect(diffPaths({ a: [1] }, { a: [1, 2] }, '')).toEqual(['a']);
    expect(diffPaths({ a: 1 }, { b: 1 }, '')).toEqual(['a', 'b']);
    expect(diffPaths(1, 2, '')).toEqual(['(root)']);
    expect(diffPaths({ x: null }, { x: { y: 1 } }, '')).toEqual(['x']);
    expect(diffPaths({ a: 1, b: 2 }, { b: 2, a: 1 }, '')).toEqual([]);
  });
});
