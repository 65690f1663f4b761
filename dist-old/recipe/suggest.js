// "Did you mean" for misspelled keys, step kinds, parents and layer names.
/** Edit distance with transpositions counted as one edit (`stpes` → `steps` is 1). */
export function editDistance(a, b) {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
                v = Math.min(v, d[i - 2][j - 2] + 1);
            d[i][j] = v;
        }
    }
    return d[a.length][b.length];
}
/** The closest candidate within a third of the word's length (at least 1, at most 3), if any. */
export function closest(word, candidates) {
    const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
    let best;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const dist = editDistance(word.toLowerCase(), c.toLowerCase());
        if (dist < bestDistance || (dist === bestDistance && best !== undefined && c < best)) {
            best = c;
            bestDistance = dist;
        }
    }
    return bestDistance <= limit ? best : undefined;
}
/** ` (did you mean "x"?)` or nothing. */
export function didYouMean(word, candidates) {
    const c = closest(word, candidates);
    return c === undefined ? '' : ` (did you mean "${c}"?)`;
}
//# sourceMappingURL=suggest.js.map