// What merging does with one entry of a layer, given what the layers of the range under it
// left at that path: the overlayfs stacking rules, as data (layer/merge.ts applies them).

/** An entry of the layer being applied. */
export type LayerEntry = 'whiteout' | 'dir' | 'opaque-dir' | 'other';
/** What the merged result holds at that path so far ('other': a file, link, device or whiteout). */
export type ResultEntry = 'none' | 'dir' | 'opaque-dir' | 'other';

export interface EntryDecision {
  /** Remove what the result holds there (with everything below it) before the layer is copied. */
  removeResult: boolean;
  /** A whiteout the result does not need (nothing below the range shows there); dropped after the copy. */
  needless: boolean;
  /** The directory is opaque in the result. */
  opaque: boolean;
  /** Whether the children of this directory are sealed: nothing below the range shows under it. */
  sealsChildren: boolean;
}

/**
 * `sealed`: some directory above the path is opaque in the result, so nothing below the range
 * shows there and no mark is needed.
 */
export function decideEntry(entry: LayerEntry, result: ResultEntry, sealed: boolean): EntryDecision {
  if (entry === 'whiteout' || entry === 'other') {
    // A whiteout stays unless sealed: its target may exist below the range.
    return { removeResult: result !== 'none', needless: entry === 'whiteout' && sealed, opaque: false, sealsChildren: false };
  }
  // A directory replaces what is there when it is opaque itself, or over a non-directory or
  // whiteout (overlayfs looks no further down there); over an opaque directory it stays opaque.
  const replaces = result !== 'none' && (entry === 'opaque-dir' || result === 'other');
  const opaque = entry === 'opaque-dir' || result === 'other' || result === 'opaque-dir';
  return { removeResult: replaces, needless: false, opaque: opaque && !sealed, sealsChildren: sealed || opaque };
}
