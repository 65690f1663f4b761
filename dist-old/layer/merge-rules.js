// What merging does with one entry of a layer, given what the layers of the range under it
// left at that path: the overlayfs stacking rules, as data (layer/merge.ts applies them).
/**
 * `sealed`: some directory above the path is opaque in the result, so nothing below the range
 * shows there and no mark is needed.
 */
export function decideEntry(entry, result, sealed) {
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
//# sourceMappingURL=merge-rules.js.map