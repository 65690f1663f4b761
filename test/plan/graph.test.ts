import { describe, expect, it } from 'vitest';
import { failureIn } from '../../src/failure.js';
import { branches, buildGraph, buildOrder, type LayerGraph, lowersOf, stackOf } from '../../src/plan/graph.js';
import { diagnosticHeadline } from '../../src/recipe/diagnostic.js';
import type { Loc, Recipe } from '../../src/recipe/types.js';

function at(file: string, line: number, col: number): Loc {
  return { file, line, col, endLine: line, endCol: col + 1 };
}

function recipe(name: string, parent?: string): Recipe {
  const file = `recipes/${name}.yaml`;
  return {
    name,
    file,
    description: undefined,
    parent,
    steps: [{ kind: 'run', index: 0, loc: at(file, 2, 5), script: 'true', network: false, env: {} }],
    exclude: [],
    pruneIdentical: true,
    squashfs: { compression: 'zstd', level: undefined, blockSize: 131072 },
    tmpfsSize: '50%',
    checks: [],
    locs: { file: at(file, 1, 1), ...(parent !== undefined ? { parent: at(file, 1, 9) } : {}), steps: at(file, 2, 3) },
  };
}

/** recipes from [name, parent] pairs, in the given (deliberately unsorted) order. */
function recipes(...pairs: [string, string?][]): Map<string, Recipe> {
  return new Map(pairs.map(([n, p]) => [n, recipe(n, p)]));
}

function graphOf(...pairs: [string, string?][]): LayerGraph {
  const { graph, diagnostics } = buildGraph(recipes(...pairs));
  expect(diagnostics).toEqual([]);
  return graph!;
}

// Two trees: base → server → {extra → config, web}, and tools → devel.
const FOREST: [string, string?][] = [
  ['web', 'server'],
  ['config', 'extra'],
  ['devel', 'tools'],
  ['server', 'base'],
  ['tools'],
  ['extra', 'server'],
  ['base'],
];

describe('buildGraph', () => {
  it('finds the roots and the children of each layer, sorted by name', () => {
    const g = graphOf(...FOREST);
    expect(g.roots).toEqual(['base', 'tools']);
    expect(Object.fromEntries(g.children)).toEqual({
      base: ['server'],
      config: [],
      devel: [],
      extra: ['config'],
      server: ['extra', 'web'],
      tools: ['devel'],
      web: [],
    });
  });

  it('reports unknown parents with a suggestion, self-parents and cycles, all at once', () => {
    const { graph, diagnostics } = buildGraph(
      recipes(['base'], ['server', 'bsae'], ['me', 'me'], ['a', 'b'], ['b', 'a'], ['x', 'nowhere']),
    );
    expect(graph).toBeUndefined();
    expect(diagnostics.map(diagnosticHeadline)).toEqual([
      'recipes/server.yaml:1:9: unknown parent "bsae": there is no recipes/bsae.yaml (did you mean "base"?)',
      'recipes/me.yaml:1:9: layer "me" cannot be its own parent',
      'recipes/x.yaml:1:9: unknown parent "nowhere": there is no recipes/nowhere.yaml',
      'recipes/a.yaml:1:9: parent cycle: a → b → a',
      'recipes/b.yaml:1:9: parent cycle: a → b → a',
    ]);
    expect(diagnostics[3]!.hint).toBe('one layer of the cycle must be a bottom layer (no parent) or take another parent');
  });

  it('reports a cycle of three once per member, in cycle order from its smallest name', () => {
    const { diagnostics } = buildGraph(recipes(['c', 'b'], ['b', 'a'], ['a', 'c'], ['d', 'c']));
    expect(diagnostics.map((d) => `${d.loc.file}: ${d.message}`)).toEqual([
      'recipes/a.yaml: parent cycle: a → c → b → a',
      'recipes/c.yaml: parent cycle: a → c → b → a',
      'recipes/b.yaml: parent cycle: a → c → b → a',
    ]);
  });

  it('leaves parents that are broken recipes to their own diagnostics, but checks what those name', () => {
    const { graph, diagnostics } = buildGraph(
      recipes(['server', 'base'], ['web', 'ngnix']),
      new Map([
        ['base', {}],
        ['nginx', { parent: { name: 'srever', loc: at('recipes/nginx.yaml', 1, 9) } }],
      ]),
    );
    expect(graph).toBeUndefined();
    expect(diagnostics.map(diagnosticHeadline)).toEqual([
      'recipes/web.yaml:1:9: unknown parent "ngnix": there is no recipes/ngnix.yaml (did you mean "nginx"?)',
      'recipes/nginx.yaml:1:9: unknown parent "srever": there is no recipes/srever.yaml (did you mean "server"?)',
    ]);
  });

  it('finds a cycle through a broken recipe (whose own problems are reported elsewhere)', () => {
    const { graph, diagnostics } = buildGraph(
      recipes(['a', 'b'], ['c', 'a']),
      new Map([['b', { parent: { name: 'c', loc: at('recipes/b.yaml', 1, 9) } }]]),
    );
    expect(graph).toBeUndefined();
    expect(diagnostics.map(diagnosticHeadline)).toEqual([
      'recipes/a.yaml:1:9: parent cycle: a → b → c → a',
      'recipes/b.yaml:1:9: parent cycle: a → b → c → a',
      'recipes/c.yaml:1:9: parent cycle: a → b → c → a',
    ]);
  });

  it('gives no graph while any recipe is broken, even when the rest is consistent', () => {
    const { graph, diagnostics } = buildGraph(recipes(['base']), new Map([['other', {}]]));
    expect(diagnostics).toEqual([]);
    expect(graph).toBeUndefined();
  });
});

describe('stacks', () => {
  const g = graphOf(...FOREST);

  it('stackOf is the layer and its ancestors, nearest first', () => {
    expect(stackOf(g, 'config')).toEqual(['config', 'extra', 'server', 'base']);
    expect(stackOf(g, 'web')).toEqual(['web', 'server', 'base']);
    expect(stackOf(g, 'base')).toEqual(['base']);
  });

  it('lowersOf is the ancestors only', () => {
    expect(lowersOf(g, 'config')).toEqual(['extra', 'server', 'base']);
    expect(lowersOf(g, 'devel')).toEqual(['tools']);
    expect(lowersOf(g, 'base')).toEqual([]);
  });
});

describe('buildOrder', () => {
  const g = graphOf(...FOREST);

  it('orders every layer parents first, then by depth and name', () => {
    expect(buildOrder(g, [])).toEqual(['base', 'tools', 'devel', 'server', 'extra', 'web', 'config']);
  });

  it('includes the ancestors of the named layers, and nothing else', () => {
    expect(buildOrder(g, ['config'])).toEqual(['base', 'server', 'extra', 'config']);
    expect(buildOrder(g, ['devel', 'web'])).toEqual(['base', 'tools', 'devel', 'server', 'web']);
    expect(buildOrder(g, ['server', 'base', 'server'])).toEqual(['base', 'server']);
  });

  it('does not depend on the order targets are named in', () => {
    expect(buildOrder(g, ['web', 'devel', 'config'])).toEqual(buildOrder(g, ['config', 'devel', 'web']));
  });

  it('orders names by code point, whatever the locale', () => {
    const h = graphOf(['a_b'], ['a-b'], ['a.b'], ['a1'], ['B0'.toLowerCase()]);
    expect(buildOrder(h, [])).toEqual(['a-b', 'a.b', 'a1', 'a_b', 'b0']);
  });

  it('names unknown layers, suggests the one meant and lists the known ones', () => {
    const err = (() => {
      try {
        buildOrder(g, ['confg', 'server', 'zzz']);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(failureIn(err, 'unknown-layer')?.names).toEqual(['confg', 'zzz']);
    expect((err as Error).message).toBe(
      'unknown layer "confg" (did you mean "config"?); unknown layer "zzz"; layers of this project: base, config, devel, extra, server, tools, web',
    );
  });
});

describe('branches', () => {
  const g = graphOf(...FOREST);

  it('groups a forest into its trees, each in build order', () => {
    expect(branches(g, buildOrder(g, []))).toEqual([
      ['base', 'server', 'extra', 'web', 'config'],
      ['tools', 'devel'],
    ]);
  });

  it('keeps only the requested layers', () => {
    expect(branches(g, buildOrder(g, ['devel', 'web']))).toEqual([
      ['base', 'server', 'web'],
      ['tools', 'devel'],
    ]);
    expect(branches(g, buildOrder(g, ['config']))).toEqual([['base', 'server', 'extra', 'config']]);
    expect(branches(g, [])).toEqual([]);
  });
});
