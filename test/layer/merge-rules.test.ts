import { describe, expect, it } from 'vitest';
import { decideEntry } from '../../src/layer/merge-rules.js';

describe('merge rules (overlayfs stacking, one entry at a time)', () => {
  it('keeps a whiteout whose target may exist below the range, drops it under an opaque directory', () => {
    expect(decideEntry('whiteout', 'none', false)).toEqual({ removeResult: false, needless: false, opaque: false, sealsChildren: false });
    expect(decideEntry('whiteout', 'other', false)).toEqual({ removeResult: true, needless: false, opaque: false, sealsChildren: false });
    expect(decideEntry('whiteout', 'dir', true)).toEqual({ removeResult: true, needless: true, opaque: false, sealsChildren: false });
  });

  it('replaces what is there with a file (a file re-created over a whiteout is a plain file)', () => {
    expect(decideEntry('other', 'other', false)).toMatchObject({ removeResult: true, needless: false });
    expect(decideEntry('other', 'dir', false)).toMatchObject({ removeResult: true });
    expect(decideEntry('other', 'none', true)).toMatchObject({ removeResult: false });
  });

  it('merges a plain directory into a plain one, keeps an opaque one opaque', () => {
    expect(decideEntry('dir', 'dir', false)).toEqual({ removeResult: false, needless: false, opaque: false, sealsChildren: false });
    expect(decideEntry('dir', 'none', false)).toEqual({ removeResult: false, needless: false, opaque: false, sealsChildren: false });
    expect(decideEntry('dir', 'opaque-dir', false)).toEqual({ removeResult: false, needless: false, opaque: true, sealsChildren: true });
  });

  it('makes a directory over a whiteout or a non-directory opaque, replacing it', () => {
    expect(decideEntry('dir', 'other', false)).toEqual({ removeResult: true, needless: false, opaque: true, sealsChildren: true });
  });

  it('lets an opaque directory replace what is there and act below the range', () => {
    expect(decideEntry('opaque-dir', 'dir', false)).toEqual({ removeResult: true, needless: false, opaque: true, sealsChildren: true });
    expect(decideEntry('opaque-dir', 'none', false)).toEqual({ removeResult: false, needless: false, opaque: true, sealsChildren: true });
  });

  it('needs no opaque mark under an opaque directory (sealed), and seals the children all the same', () => {
    expect(decideEntry('opaque-dir', 'dir', true)).toEqual({ removeResult: true, needless: false, opaque: false, sealsChildren: true });
    expect(decideEntry('dir', 'none', true)).toEqual({ removeResult: false, needless: false, opaque: false, sealsChildren: true });
  });
});
