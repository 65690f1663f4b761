// Command lines as people read them: in logs, in --dry-run, in failure messages.
/** A command line as a shell would need it. */
export function formatArgv(argv) {
    return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
/**
 * Long argument lists (thousands of paths for getfattr) are cut for logs; messages also cut
 * long arguments (`maxChars`: a script, an argument too long to start with).
 */
export function shortened(argv, maxChars = Infinity) {
    const MAX_ARGS = 120;
    const args = argv.length <= MAX_ARGS ? argv : [...argv.slice(0, MAX_ARGS), `... (${argv.length - MAX_ARGS} more arguments)`];
    return args.map((a) => (a.length <= maxChars ? a : `${a.slice(0, maxChars)}... (${a.length - maxChars} more characters)`));
}
//# sourceMappingURL=argv.js.map