import { describe, expect, it } from 'vitest';
import { type Diagnostic, diagnosticHeadline, fileLoc, formatDiagnostic, sortDiagnostics } from '../../src/recipe/diagnostic.js';
import { closest, didYouMean, editDistance } from '../../src/recipe/suggest.js';

const F = 'recipes/a.yaml';
const d = (line: number, col: number, endLine: number, endCol: number, message = 'bad', hint?: string): Diagnostic => ({
  loc: { file: F, line, col, endLine, endCol },
  message,
  ...(hint !== undefined ? { hint } : {}),
});

describe('formatDiagnostic', () => {
  const sources = new Map([[F, 'steps:\n\t- run: x\n  - copy: y\n    to: |\n      /a\n']]);

  it('underlines the span on its line, tabs shown as one space', () => {
    expect(formatDiagnostic(d(2, 4, 2, 7, 'tabs', 'use spaces'), sources)).toBe(
      ['recipes/a.yaml:2:4: tabs', '   2 |  - run: x', '     |    ^^^', '  hint: use spaces'].join('\n'),
    );
  });

  it('underlines a span over several lines to the end of its first line', () => {
    expect(formatDiagnostic(d(3, 5, 5, 9), sources)).toBe(['recipes/a.yaml:3:5: bad', '   3 |   - copy: y', '     |     ^^^^^^^'].join('\n'));
  });

  it('takes an empty span as the whole file, and underlines at least one character otherwise', () => {
    expect(formatDiagnostic(d(1, 6, 1, 6), sources)).toBe('recipes/a.yaml:1:6: bad');
    expect(formatDiagnostic(d(1, 6, 1, 5), sources)).toBe(['recipes/a.yaml:1:6: bad', '   1 | steps:', '     |      ^'].join('\n'));
  });

  it('shows no excerpt for a whole-file problem, an unknown file, or a line that is not there', () => {
    expect(formatDiagnostic({ loc: fileLoc(F), message: 'whole file', hint: 'h' }, sources)).toBe('recipes/a.yaml:1:1: whole file\n  hint: h');
    expect(formatDiagnostic({ ...d(1, 1, 1, 3), loc: { ...d(1, 1, 1, 3).loc, file: 'other.yaml' } }, sources)).toBe('other.yaml:1:1: bad');
    expect(formatDiagnostic(d(40, 1, 40, 2), sources)).toBe('recipes/a.yaml:40:1: bad');
  });

  it('has a stable headline', () => {
    expect(diagnosticHeadline(d(12, 3, 12, 9, 'msg'))).toBe('recipes/a.yaml:12:3: msg');
  });
});

describe('sortDiagnostics', () => {
  it('orders by file (code points), line, column, then message', () => {
    const at = (file: string, line: number, col: number, message: string): Diagnostic => ({
      loc: { file, line, col, endLine: line, endCol: col + 1 },
      message,
    });
    const sorted = sortDiagnostics([
      at('sqsh-layers.yaml', 1, 1, 'p'),
      at('recipes/b.yaml', 2, 1, 'x'),
      at('recipes/b.yaml', 1, 5, 'y'),
      at('recipes/b.yaml', 1, 5, 'a'),
      at('recipes/B.yaml', 9, 9, 'upper'),
      at('recipes/-b.yaml', 9, 9, 'dash'),
    ]);
    expect(sorted.map(diagnosticHeadline)).toEqual([
      'recipes/-b.yaml:9:9: dash',
      'recipes/B.yaml:9:9: upper',
      'recipes/b.yaml:1:5: a',
      'recipes/b.yaml:1:5: y',
      'recipes/b.yaml:2:1: x',
      'sqsh-layers.yaml:1:1: p',
    ]);
  });
});

describe('suggestions', () => {
  it('counts a transposition as one edit', () => {
    expect(editDistance('stpes', 'steps')).toBe(1);
    expect(editDistance('untr', 'untar')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the closest candidate within a third of the word, ignoring case', () => {
    expect(closest('stpes', ['steps', 'parent'])).toBe('steps');
    expect(closest('PARENT', ['steps', 'parent'])).toBe('parent');
    expect(closest('zst', ['zstd', 'xz'])).toBe('zstd');
    expect(closest('frobnicate', ['steps', 'parent'])).toBeUndefined();
    // A tie goes to the smaller name, whatever the order of candidates.
    expect(closest('ab', ['ac', 'aa'])).toBe('aa');
    expect(closest('ab', ['aa', 'ac'])).toBe('aa');
  });

  it('words the suggestion', () => {
    expect(didYouMean('bsae', ['base', 'server'])).toBe(' (did you mean "base"?)');
    expect(didYouMean('zzzz', ['base'])).toBe('');
  });
});
