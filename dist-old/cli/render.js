// Renders build events: a live task list on a terminal (current layer, step, elapsed time,
// mksquashfs progress), plain prefixed lines when not a terminal. Everything goes to stderr;
// stdout is for results (and --json).
import { describeReason } from '../cache/explain.js';
export function formatBytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
        v /= 1024;
        u++;
    }
    return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
function doneLine(e) {
    const what = e.status === 'built' ? `built in ${e.seconds.toFixed(1)}s` : 'cached';
    return `${e.layer}: ${what}, ${formatBytes(e.size)}, sha256:${e.digest.slice(0, 12)}`;
}
/** --verbose: what finalizing a built layer's upper did. */
function finalizedLine(e) {
    const f = e.finalized;
    if (!f)
        return undefined;
    const pruned = f.pruned.files + f.pruned.dirs;
    return (`finalized: ${f.strippedXattrs} overlay xattr(s) stripped, ${f.excluded} excluded entr${f.excluded === 1 ? 'y' : 'ies'}, ` +
        `${pruned} entr${pruned === 1 ? 'y' : 'ies'} identical to the lowers pruned (${formatBytes(f.pruned.bytes)})`);
}
/** Plain lines, for logs and CI. */
export class PlainReporter {
    o;
    constructor(o) {
        this.o = o;
    }
    emit(e) {
        const line = this.lineFor(e);
        if (line !== undefined)
            this.o.out.write(`${line}\n`);
    }
    lineFor(e) {
        const { verbose, quiet } = this.o;
        switch (e.type) {
            case 'layer-start':
                return quiet ? undefined : `[${e.layer}] building: ${e.reasons.map(describeReason).join('; ') || 'requested'}`;
            case 'step-start':
                return quiet ? undefined : `[${e.layer}] step ${e.index + 1}/${e.count}: ${e.text}`;
            case 'output':
                return verbose ? `[${e.layer}] | ${e.line}` : undefined;
            case 'phase':
                return quiet ? undefined : `[${e.layer}] ${e.text}`;
            case 'pack-progress':
                return verbose && e.percent % 25 === 0 ? `[${e.layer}] mksquashfs ${e.percent}%` : undefined;
            case 'layer-done': {
                if (quiet)
                    return undefined;
                const finalized = verbose ? finalizedLine(e) : undefined;
                return `${finalized ? `[${e.layer}] ${finalized}\n` : ''}[${e.layer}] ${doneLine(e).slice(e.layer.length + 2)}`;
            }
            case 'layer-failed':
                return undefined; // reported once, in full, by the command
            case 'warning':
                return `warning: ${e.text}`;
            case 'info':
                return quiet ? undefined : e.text;
        }
    }
}
const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** A live task list redrawn in place; finished layers and warnings scroll above it. */
export class TtyReporter {
    o;
    tasks = new Map();
    drawn = 0;
    frame = 0;
    timer;
    constructor(o) {
        this.o = o;
    }
    emit(e) {
        switch (e.type) {
            case 'layer-start':
                this.tasks.set(e.layer, { layer: e.layer, text: 'starting', started: Date.now() });
                this.print(`● ${e.layer}: building (${e.reasons.map(describeReason).join('; ') || 'requested'})`);
                this.start();
                break;
            case 'step-start':
                this.update(e.layer, `step ${e.index + 1}/${e.count}: ${e.text}`);
                break;
            case 'phase':
                this.update(e.layer, e.text);
                break;
            case 'pack-progress': {
                const t = this.tasks.get(e.layer);
                if (t)
                    t.percent = e.percent;
                break;
            }
            case 'output':
                if (this.o.verbose)
                    this.print(`  ${e.layer} | ${e.line}`);
                break;
            case 'layer-done': {
                this.tasks.delete(e.layer);
                const finalized = this.o.verbose ? finalizedLine(e) : undefined;
                if (finalized)
                    this.print(`  ${e.layer} | ${finalized}`);
                if (!this.o.quiet)
                    this.print(`${e.status === 'built' ? '✔' : '≡'} ${doneLine(e)}`);
                break;
            }
            case 'layer-failed':
                this.tasks.delete(e.layer);
                this.print(`✘ ${e.layer}: failed`);
                break;
            case 'warning':
                this.print(`warning: ${e.text}`);
                break;
            case 'info':
                if (!this.o.quiet)
                    this.print(e.text);
                break;
        }
        if (this.tasks.size === 0)
            this.stop();
    }
    update(layer, text) {
        const t = this.tasks.get(layer);
        if (t) {
            t.text = text;
            t.percent = undefined;
        }
    }
    start() {
        this.timer ??= setInterval(() => this.redraw(), 120);
        this.timer.unref();
    }
    stop() {
        if (this.timer)
            clearInterval(this.timer);
        this.timer = undefined;
        this.clear();
    }
    clear() {
        if (this.drawn > 0)
            this.o.out.write(`\x1b[${this.drawn}A\x1b[J`);
        this.drawn = 0;
    }
    print(line) {
        this.clear();
        this.o.out.write(`${line}\n`);
        this.redraw();
    }
    redraw() {
        this.clear();
        const width = Math.max(40, (this.o.out.columns || 100) - 1);
        const spin = SPIN[this.frame++ % SPIN.length];
        const lines = [...this.tasks.values()].map((t) => {
            const secs = Math.floor((Date.now() - t.started) / 1000);
            const pct = t.percent !== undefined ? ` ${t.percent}%` : '';
            const line = `${spin} ${t.layer}  ${t.text}${pct}  ${secs}s`;
            return line.length > width ? `${line.slice(0, width - 1)}…` : line;
        });
        if (lines.length > 0)
            this.o.out.write(`${lines.join('\n')}\n`);
        this.drawn = lines.length;
    }
}
export function makeReporter(o) {
    return o.out.isTTY ? new TtyReporter(o) : new PlainReporter(o);
}
//# sourceMappingURL=render.js.map