import { describe, expect, it } from 'vitest';
import { clockWarning, reproducibleFromInputs } from '../../src/plan/reproducible.js';
import type { Step } from '../../src/recipe/types.js';

const steps = (...kinds: Step['kind'][]) => kinds.map((kind) => ({ kind }) as Step);

describe('reproducible without a source-date-epoch', () => {
  it('is what restore, untar, copy and remove alone give; run and host are not', () => {
    expect(reproducibleFromInputs({ steps: steps('restore', 'untar', 'copy', 'remove') })).toBe(true);
    expect(reproducibleFromInputs({ steps: [] })).toBe(true);
    expect(reproducibleFromInputs({ steps: steps('copy', 'run') })).toBe(false);
    expect(reproducibleFromInputs({ steps: steps('host') })).toBe(false);
  });

  it('is said once for all the layers concerned, and not at all with a source-date-epoch', () => {
    const recipes = [
      { name: 'base', steps: steps('restore') },
      { name: 'app', steps: steps('run') },
      { name: 'config', steps: steps('copy', 'host') },
    ];
    expect(clockWarning(recipes, undefined)).toBe(
      'layers app, config use run or host steps: without a source-date-epoch they are not reproducible (new bytes on every rebuild, so every child rebuilds too); set source-date-epoch in sqsh-layers.yaml or SOURCE_DATE_EPOCH',
    );
    expect(clockWarning(recipes.slice(1, 2), undefined)).toMatch(/^layer app uses run or host steps: without a source-date-epoch it is not reproducible/);
    expect(clockWarning(recipes, 1700000000)).toBeUndefined();
    expect(clockWarning(recipes.slice(0, 1), undefined)).toBeUndefined();
  });
});
