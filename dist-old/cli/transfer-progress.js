// Blob transfers on a terminal: one line per blob, redrawn, with bytes and rate. Nothing
// when stderr is not a terminal (logs get the summary lines only).
import { formatBytes } from './render.js';
export function transferProgress(out, quiet, now = Date.now) {
    if (!out.isTTY || quiet)
        return undefined;
    const started = new Map();
    let last = 0;
    return (label, done, total) => {
        const t = now();
        if (!started.has(label))
            started.set(label, t);
        const finished = done >= total;
        if (!finished && t - last < 100)
            return;
        last = t;
        const seconds = Math.max(0.001, (t - started.get(label)) / 1000);
        const pct = total > 0 ? Math.floor((done * 100) / total) : 100;
        out.write(`\r\x1b[K  ${label}  ${formatBytes(done)} / ${formatBytes(total)}  ${pct}%  ${formatBytes(done / seconds)}/s${finished ? '\n' : ''}`);
        if (finished)
            started.delete(label);
    };
}
//# sourceMappingURL=transfer-progress.js.map