import { describe, expect, it } from 'vitest';
import { buildGraph } from '../../src/plan/graph.js';
import { deepStackDiagnostics, OVERLAY_MAX_LOWERS } from '../../src/plan/stack-limits.js';
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
    steps: [],
    exclude: [],
    pruneIdentical: true,
    squashfs: { compression: 'zstd', level: undefined, blockSize: 131072 },
    tmpfsSize: '50%',
    checks: [],
    locs: { file: at(file, 1, 1), ...(parent !== undefined ? { parent: at(file, 1, 9) } : {}), steps: at(file, 2, 3) },
  };
}

/** A chain of n layers l0 (bottom) .. l(n-1) (another prefix than "l" when given), plus `extra` [name, parent] layers. */
function chain(n: number, extra: [string, string][] = [], prefix = 'l'): Map<string, Recipe> {
  const out = new Map<string, Recipe>();
  for (let i = 0; i < n; i++) out.set(`${prefix}${i}`, recipe(`${prefix}${i}`, i > 0 ? `${prefix}${i - 1}` : undefined));
  for (const [name, parent] of extra) out.set(name, recipe(name, parent));
  return out;
}

describe('deepStackDiagnostics', () => {
  it('accepts a layer built on exactly the most lowers overlayfs stacks', () => {
    expect(OVERLAY_MAX_LOWERS).toBe(500);
    expect(deepStackDiagnostics(chain(501))).toEqual([]);
    expect(buildGraph(chain(501)).graph).toBeDefined();
  });

  it('reports the first layer past the limit once, at its parent key, naming the stack', () => {
    const ds = deepStackDiagnostics(chain(504, [['side', 'l501'], ['ok', 'l499']]));
    expect(ds.map(diagnosticHeadline)).toEqual([
      'recipes/l501.yaml:1:9: the stack l501..l0 has 502 layers: layer "l501" would be built on 501 lowers, and overlayfs stacks at most 500 (the 3 layers stacked on it cannot be built either)',
    ]);
    expect(ds[0]!.hint).toBe('squash layers of the stack into one with "sqsh-layers merge NEW TOP..BOTTOM", or give l501 a parent lower in the stack');
  });

  it('reports every chain that goes past the limit, and the graph is refused', () => {
    const { graph, diagnostics } = buildGraph(new Map([...chain(502, [], 'm'), ...chain(502)]));
    expect(graph).toBeUndefined();
    expect(diagnostics.map((d) => d.message.slice(0, 40))).toEqual(['the stack l501..l0 has 502 layers: layer', 'the stack m501..m0 has 502 layers: layer']);
  });
});
