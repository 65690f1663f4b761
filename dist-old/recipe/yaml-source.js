// A parsed YAML file that can say where any value or key of it is.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { ALIAS_EXPANSION_LIMIT, checkAliases, firstAlias } from './yaml-aliases.js';
import { valueAt } from './value-at.js';
export { valueAt };
export class YamlSource {
    file;
    text;
    doc;
    lines;
    constructor(file, text, doc, lines) {
        this.file = file;
        this.text = text;
        this.doc = doc;
        this.lines = lines;
    }
    /** Parses `text`; YAML syntax problems come back as diagnostics, with `data` undefined. */
    static parse(file, text) {
        const lines = new LineCounter();
        const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
        const diagnostics = [];
        const list = Array.isArray(docs) ? docs : [];
        const doc = list[0];
        const source = new YamlSource(file, text, doc, lines);
        for (const d of list) {
            for (const e of d.errors)
                diagnostics.push(source.syntaxDiagnostic(e.code, e.message, e.pos[0], e.pos[1]));
        }
        if (list.length > 1) {
            const second = list[1];
            const start = second.range[0];
            diagnostics.push({ loc: source.span(start, start + 3), message: 'a recipe file holds one YAML document, found more' });
        }
        if (diagnostics.length > 0 || !doc)
            return { source, data: diagnostics.length > 0 ? undefined : null, diagnostics };
        const aliases = source.aliasDiagnostic(doc);
        if (aliases)
            return { source, data: undefined, diagnostics: [aliases] };
        try {
            // The yaml package's own limit stays as a second guard; its error says no place.
            return { source, data: doc.toJS({ maxAliasCount: ALIAS_EXPANSION_LIMIT }), diagnostics };
        }
        catch (err) {
            const at = firstAlias(doc) ?? [0, 1];
            return { source, data: undefined, diagnostics: [{ loc: source.span(...at), message: `YAML resource limit: ${err.message}`, hint: ALIAS_HINT }] };
        }
    }
    /** Aliases that name no anchor before them, name the value they are in, or expand too far. */
    aliasDiagnostic(doc) {
        const p = checkAliases(doc);
        if (!p)
            return undefined;
        const loc = this.span(...p.range);
        switch (p.kind) {
            case 'unresolved':
                return { loc, message: `alias *${p.name} has no anchor &${p.name} before it`, hint: `define the value with &${p.name} before its first use` };
            case 'recursive':
                return { loc, message: `alias *${p.name} is inside the value it repeats (&${p.name}): it would never end` };
            case 'too-large':
                return {
                    loc,
                    message: `YAML resource limit: the aliases of this file repeat more than ${p.limit} values; alias *${p.name} goes over (an alias bomb?)`,
                    hint: ALIAS_HINT,
                };
        }
    }
    /** The span of the value at `path`, or of its key when `what` is 'key'. Falls back to the nearest ancestor. */
    locate(path, what = 'value') {
        let node = this.doc?.contents;
        let best = [0, 0];
        const rangeOf = (n) => {
            const r = n?.range;
            return r ? [r[0], r[1]] : undefined;
        };
        best = rangeOf(node) ?? best;
        for (let i = 0; i < path.length; i++) {
            const seg = path[i];
            const last = i === path.length - 1;
            if (isMap(node)) {
                const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
                if (!pair)
                    break;
                const keyRange = rangeOf(pair.key);
                if (last && what === 'key' && keyRange)
                    return this.span(...keyRange);
                node = pair.value;
                best = rangeOf(node) ?? keyRange ?? best;
            }
            else if (isSeq(node) && typeof seg === 'number') {
                node = node.items[seg];
                best = rangeOf(node) ?? best;
            }
            else {
                break;
            }
        }
        return this.span(best[0], best[1]);
    }
    /** A parse error as a diagnostic, placed where the reader can see the cause. */
    syntaxDiagnostic(code, message, start, end) {
        if (code === 'DUPLICATE_KEY') {
            const key = KEY_TOKEN.exec(this.text.slice(start))?.[0];
            if (key !== undefined) {
                return { loc: this.span(start, start + key.length), message: `duplicate key ${quoteKey(key)}: a key may appear only once in a mapping` };
            }
            return { loc: this.span(start, Math.max(end, start + 1)), message: 'duplicate key: a key may appear only once in a mapping' };
        }
        const quote = /^Missing closing (["'])quote/.exec(message)?.[1];
        if (quote !== undefined) {
            // Reported at the end of the file; the string that never closes starts at the last such quote.
            const open = this.text.lastIndexOf(quote, start - 1);
            if (open >= 0) {
                return { loc: this.span(open, this.lineEnd(open)), message: `YAML syntax error: missing closing ${quote} of the string that starts here` };
            }
        }
        // An error past the last line (or on a blank one) is shown at the end of the last line with text.
        let at = start;
        if (this.text.slice(this.lineStart(at), this.lineEnd(at)).trim() === '') {
            const before = this.text.slice(0, at).trimEnd().length;
            if (before > 0)
                at = before - 1;
        }
        return { loc: this.span(at, Math.max(end, at + 1)), message: yamlMessage(message) };
    }
    lineStart(at) {
        return this.text.lastIndexOf('\n', at - 1) + 1;
    }
    lineEnd(at) {
        const nl = this.text.indexOf('\n', at);
        return nl < 0 ? this.text.length : nl;
    }
    span(start, end) {
        // Block scalars and maps end after a newline; underline only their first line.
        const a = this.lines.linePos(start);
        const firstLineEnd = this.text.indexOf('\n', start);
        const stop = firstLineEnd >= 0 && firstLineEnd < end ? firstLineEnd : end;
        const b = this.lines.linePos(Math.max(stop, start + 1));
        return { file: this.file, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
    }
}
const ALIAS_HINT = 'an alias repeats the whole value of its anchor, and aliases inside it multiply; write the values out or use fewer aliases';
/** A mapping key as written: quoted, or plain up to its `:`. */
const KEY_TOKEN = /^(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|[^\s:,{}[\]#][^:,{}[\]#\n]*?)(?=\s*:)/;
function quoteKey(key) {
    return key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`;
}
function yamlMessage(message) {
    // The yaml package's own text, trimmed of its position suffix.
    const first = message.split('\n')[0] ?? message;
    return `YAML syntax error: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}
//# sourceMappingURL=yaml-source.js.map