// `inspect LAYER` and `diff A B`: what a layer adds, changes, deletes and makes opaque, and
// what changed between two layers or two stacks. Layer files are mounted read-only under
// the run's state dir (engine/stack-session.ts) and unmounted before the command ends.
import { promises as fs } from 'node:fs';
import { inspectLayer } from '../layer/inspect.js';
import { diffTrees } from '../layer/tree-diff.js';
import { FailureError } from '../failure.js';
import { printable } from '../process/run.js';
import { formatBytes } from './render.js';
import { inStackSession, layerArgument } from './stack-command.js';
/**
 * A path from a layer as a terminal may show it: names are the layer's content, and a name
 * holding escape sequences (or a newline, to fake an entry) must not act on the terminal.
 */
export function terminalPath(p) {
    return printable(p.replace(/\n/g, '\\n').replace(/\t/g, '\\t'));
}
const MARK = { added: '+', changed: '~', deleted: '-', opaque: '!' };
export function inspectCommand({ program, globals, io, action }) {
    program
        .command('inspect')
        .description('show what a layer adds, changes, deletes (whiteouts) and makes opaque, with sizes and wasted space')
        .argument('<layer>', 'a layer of the project (its built layers/NAME.sqsh), or a .sqsh file')
        .option('--limit <n>', 'list at most this many entries (default: all); the summary counts them all')
        .addHelpText('after', `
Compared with the stack below it: the layer's parents from the recipes, or for a .sqsh file
the parents named by a manifest.json beside it (a copied layers/ dir); without one, the file
is taken to sit on an empty root.

  + added   ~ changed   - deleted (a whiteout)   ! opaque (replaces the lower directory)

Examples:
  sqsh-layers inspect server
  sqsh-layers inspect server --json | jq '.entries[] | select(.change == "deleted")'
  sqsh-layers inspect /srv/old-layers/server.sqsh`)
        .action(action(async (arg, o) => {
        const g = globals();
        const limit = o.limit === undefined ? Infinity : Number(o.limit);
        if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
            throw new FailureError({ reason: 'usage', message: `--limit must be a number of entries, found "${o.limit}"` });
        }
        const ref = await layerArgument(arg, g, io);
        const result = await inStackSession(g, io, async (s) => {
            const dirs = [];
            for (const l of ref.stack)
                dirs.push(await s.mountLayer(l.file));
            const view = await s.view(dirs.slice(1));
            return inspectLayer(dirs[0], view, s.runner, s.signal);
        });
        const size = (await fs.stat(ref.stack[0].file)).size;
        if (g.json) {
            io.stdout.write(`${JSON.stringify({ layer: ref.label, entries: result.entries, summary: { ...result.summary, file: ref.stack[0].file, fileSize: size, lowers: ref.stack.slice(1).map((l) => l.name) } }, null, 2)}\n`);
        }
        else {
            io.stdout.write(renderInspection(ref, result, size, limit));
        }
        return 0;
    }));
}
function renderInspection(ref, r, fileSize, limit) {
    const lines = [];
    const lowers = ref.stack.slice(1).map((l) => l.name);
    lines.push(`${ref.label}: ${formatBytes(fileSize)} packed, on ${lowers.length > 0 ? lowers.join(' < ') : 'an empty root'}`);
    for (const e of r.entries.slice(0, limit))
        lines.push(entryLine(e));
    if (r.entries.length > limit)
        lines.push(`  ... and ${r.entries.length - limit} more`);
    const s = r.summary;
    lines.push('');
    lines.push(`${s.added} added, ${s.changed} changed, ${s.deleted} deleted, ${s.opaque} opaque; ${formatBytes(s.bytes)} of data`);
    if (s.biggest.length > 0) {
        lines.push('biggest:');
        for (const b of s.biggest)
            lines.push(`  ${formatBytes(b.size).padStart(10)}  ${terminalPath(b.path)}`);
    }
    const w = s.wasted;
    lines.push(`wasted: ${w.identical.count} entr${w.identical.count === 1 ? 'y' : 'ies'} identical to the lowers (${formatBytes(w.identical.bytes)})${w.identical.count > 0 ? `: ${w.identical.paths.slice(0, 5).map(terminalPath).join(', ')}${w.identical.count > 5 ? ', ...' : ''}` : ''}`);
    lines.push(`        ${w.shadowed.count} lower file(s) hidden (${formatBytes(w.shadowed.bytes)} shipped in the lowers, never seen)`);
    return `${lines.join('\n')}\n`;
}
function entryLine(e) {
    const size = e.type === 'dir' && e.change !== 'deleted' ? '' : formatBytes(e.size);
    const what = 'what' in e && e.what ? `  (${e.what.join(', ')})` : '';
    return `${MARK[e.change]} ${size.padStart(10)}  ${e.type.padEnd(8)} ${terminalPath(e.path)}${what}`;
}
export function diffCommand({ program, globals, io, action }) {
    program
        .command('diff')
        .description('show what changed between two layers, or with --stack between two assembled stacks (what a rebuild changed)')
        .argument('<before>', 'a layer of the project or a .sqsh file')
        .argument('<after>', 'a layer of the project or a .sqsh file')
        .option('--stack', "compare the whole stacks (each layer on its parents) instead of the layers' own contents")
        .addHelpText('after', `
Without --stack the layers' own contents are compared, whiteouts and opaque markers
included; with it, the trees their stacks assemble to.

Examples:
  sqsh-layers diff /tmp/layers.before/server.sqsh server
      after: cp -a layers /tmp/layers.before && sqsh-layers build
  sqsh-layers diff --stack /tmp/layers.before/config.sqsh config
  sqsh-layers diff base server --json`)
        .action(action(async (a, b, o) => {
        const g = globals();
        const refs = [await layerArgument(a, g, io), await layerArgument(b, g, io)];
        const result = await inStackSession(g, io, async (s) => {
            const [before, after] = [await treeOf(s, refs[0], o.stack === true), await treeOf(s, refs[1], o.stack === true)];
            return diffTrees(before, after, s.runner, s.signal);
        });
        if (g.json) {
            io.stdout.write(`${JSON.stringify({ before: refs[0].label, after: refs[1].label, stack: o.stack === true, ...result }, null, 2)}\n`);
        }
        else {
            const lines = [`${refs[0].label} -> ${refs[1].label}${o.stack ? ' (stacks)' : ''}`, ...result.entries.map(entryLine)];
            const s = result.summary;
            lines.push('', `${s.added} added, ${s.changed} changed, ${s.deleted} deleted; ${formatBytes(s.bytesBefore)} -> ${formatBytes(s.bytesAfter)} of data`);
            io.stdout.write(`${lines.join('\n')}\n`);
        }
        return 0;
    }));
}
/** The tree to compare: the layer's own, or its stack assembled read-only. */
async function treeOf(s, ref, stack) {
    const dirs = [];
    for (const l of stack ? ref.stack : ref.stack.slice(0, 1))
        dirs.push(await s.mountLayer(l.file));
    return (await s.view(dirs));
}
//# sourceMappingURL=inspect.js.map