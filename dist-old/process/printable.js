// Text from outside (command output, registry answers, pulled keys) as it may be shown on a
// terminal. Its own module so that pure modules (cache/explain.ts) can use it without the
// runner's imports.
/**
 * A line of a command's output as it may be shown on a terminal: control characters (escape
 * sequences that set titles, clear the screen or write the clipboard) become visible `\xNN`
 * text. Output of `run` scripts is the layer's content talking, not ours.
 */
export function printable(line) {
    // eslint-disable-next-line no-control-regex
    return line.replace(/[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
/** printable, with newlines and tabs escaped too: a value shown inside one line of ours. */
export function printableInline(text) {
    return printable(text).replace(/[\t\n]/g, (c) => (c === '\n' ? '\\n' : '\\t'));
}
//# sourceMappingURL=printable.js.map