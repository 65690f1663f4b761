// Diagnostics point into the user's file: `recipes/server.yaml:5:13: message`, then the
// offending line with the span underlined, so every problem can be fixed without guessing.
/** `FILE:LINE:COL: message` — the first line of a diagnostic, stable for tests and tools. */
export function diagnosticHeadline(d) {
    return `${d.loc.file}:${d.loc.line}:${d.loc.col}: ${d.message}`;
}
/**
 * The full text: headline, source line with a caret underline, and the hint.
 * `sources` maps a file to its text; a file not in it is shown without the excerpt.
 */
export function formatDiagnostic(d, sources) {
    const out = [diagnosticHeadline(d)];
    const text = sources.get(d.loc.file);
    const line = text?.split(/\r?\n/)[d.loc.line - 1];
    // An empty span (fileLoc) is about the file as a whole: no line of it is to blame.
    const wholeFile = d.loc.endLine === d.loc.line && d.loc.endCol === d.loc.col;
    if (line !== undefined && line.trim() !== '' && !wholeFile) {
        const gutter = String(d.loc.line).padStart(4);
        const width = d.loc.endLine === d.loc.line ? Math.max(1, d.loc.endCol - d.loc.col) : Math.max(1, line.length - d.loc.col + 1);
        out.push(`${gutter} | ${line.replace(/\t/g, ' ')}`);
        out.push(`${' '.repeat(gutter.length)} | ${' '.repeat(d.loc.col - 1)}${'^'.repeat(width)}`);
    }
    if (d.hint)
        out.push(`  hint: ${d.hint}`);
    return out.join('\n');
}
/** Diagnostics sorted by file, then position, for a stable report (code-point order: the same in every locale). */
export function sortDiagnostics(ds) {
    return [...ds].sort((a, b) => compareText(a.loc.file, b.loc.file) || a.loc.line - b.loc.line || a.loc.col - b.loc.col || compareText(a.message, b.message));
}
function compareText(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
}
/** A location covering the start of a file, for problems that belong to the file as a whole. */
export function fileLoc(file) {
    return { file, line: 1, col: 1, endLine: 1, endCol: 1 };
}
//# sourceMappingURL=diagnostic.js.map