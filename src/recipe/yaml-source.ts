// A parsed YAML file that can say where any value or key of it is.

import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { Diagnostic } from './diagnostic.js';
import type { Loc } from './types.js';

export type PathSegment = string | number;

export class YamlSource {
  private constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document.Parsed | undefined,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text`; YAML syntax problems come back as diagnostics, with `data` undefined. */
  static parse(file: string, text: string): { source: YamlSource; data: unknown; diagnostics: Diagnostic[] } {
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const diagnostics: Diagnostic[] = [];
    const list = Array.isArray(docs) ? docs : [];
    const doc = list[0];
    const source = new YamlSource(file, text, doc, lines);
    for (const d of list) {
      for (const e of d.errors) {
        const [start, end] = e.pos;
        diagnostics.push({ loc: source.span(start, Math.max(end, start + 1)), message: yamlMessage(e.code, e.message) });
      }
    }
    if (list.length > 1) {
      const second = list[1]!;
      const start = second.range[0];
      diagnostics.push({ loc: source.span(start, start + 3), message: 'a recipe file holds one YAML document, found more' });
    }
    if (diagnostics.length > 0) return { source, data: undefined, diagnostics };
    return { source, data: doc ? doc.toJS({ maxAliasCount: 1000 }) : null, diagnostics };
  }

  /** The span of the value at `path`, or of its key when `what` is 'key'. Falls back to the nearest ancestor. */
  locate(path: readonly PathSegment[], what: 'value' | 'key' = 'value'): Loc {
    let node: unknown = this.doc?.contents;
    let best: [number, number] = [0, 0];
    const rangeOf = (n: unknown): [number, number] | undefined => {
      const r = (n as Node | undefined)?.range;
      return r ? [r[0], r[1]] : undefined;
    };
    best = rangeOf(node) ?? best;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyRange = rangeOf(pair.key);
        if (last && what === 'key' && keyRange) return this.span(...keyRange);
        node = pair.value;
        best = rangeOf(node) ?? keyRange ?? best;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        best = rangeOf(node) ?? best;
      } else {
        break;
      }
    }
    return this.span(best[0], best[1]);
  }

  private span(start: number, end: number): Loc {
    // Block scalars and maps end after a newline; underline only their first line.
    const a = this.lines.linePos(start);
    const firstLineEnd = this.text.indexOf('\n', start);
    const stop = firstLineEnd >= 0 && firstLineEnd < end ? firstLineEnd : end;
    const b = this.lines.linePos(Math.max(stop, start + 1));
    return { file: this.file, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  }
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key: a key appears twice in the same mapping';
  // The yaml package's own text, trimmed of its position suffix.
  const first = message.split('\n')[0] ?? message;
  return `YAML syntax error: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}
