// `merge NEW LAYER...`: consecutive layers (top first, or TOP..BOTTOM) squashed into one
// that stacks on what lies below exactly as they did (layer/merge.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { mergeAndWrite, mountRaw, startTask } from '../engine/merge-op.js';
import { FailureError } from '../failure.js';
import { checkLayerName, layersLine, openLayerSet } from './layer-set.js';
import { checkTools, printResult, withOpSession } from './layer-op-command.js';
const usage = (message) => new FailureError({ reason: 'usage', message });
export function mergeCommand({ program, globals, io, action }) {
    program
        .command('merge')
        .description('squash consecutive layers (top first, or TOP..BOTTOM) into one NEW layer that stacks identically on what lies below')
        .argument('<new>', 'name of the merged layer')
        .argument('<layers...>', 'the layers to merge, top first, or a range TOP..BOTTOM (in a project)')
        .option('--out <dir>', 'work on bare .sqsh files: write DIR/NEW.sqsh (layers by path, or by name in --layers-dir)')
        .option('--layers-dir <dir>', 'with --out: where layers named without a path are (default: the --out dir)')
        .option('--tmpfs-size <size>', 'size of the tmpfs the merged tree is staged in (default: the project\'s tmpfs-size, else 50%)')
        .addHelpText('after', `
Examples:
  sqsh-layers merge extra2 config..extra
      layers/extra2.sqsh replaces config and extra:  sqsh_layers=extra2:server:base
  sqsh-layers merge supernew new3 new2 new1 --out /mnt/root-true --layers-dir /mnt/root-true
      the seed's "merge new1,2,3", done so that deletions and opaque dirs still act below

Whiteouts that may hide entries below the range are kept, opaque directories stay opaque,
and everything else (owners, modes, times, xattrs, hardlinks, devices, fifos, sockets) is
kept. With SOURCE_DATE_EPOCH (or without, from the layers' own times) the same layers give
the same bytes. --force replaces an existing NEW.sqsh.`)
        .action(action(async (name, args, o) => {
        const g = globals();
        checkLayerName(name, 'the new layer');
        const set = await openLayerSet(g, o, io);
        let names = args;
        const range = args.length === 1 ? /^([^.][^/]*)\.\.([^/]+)$/.exec(args[0]) : null;
        if (range) {
            if (!set.project)
                throw usage('a range TOP..BOTTOM needs a project (the order of layers is in its manifest); name the layers one by one with --out');
            const [top, bottom] = [range[1], range[2]];
            set.resolve(top);
            set.resolve(bottom);
            const below = set.lowersOf(top);
            if (!below.includes(bottom))
                throw usage(`${bottom} is not below ${top} (below ${top}: ${below.join(', ') || 'nothing'})`);
            names = [top, ...below.slice(0, below.indexOf(bottom) + 1)];
        }
        else if (args.some((a) => a.includes('..') && !a.includes('/'))) {
            throw usage('a range is one argument TOP..BOTTOM, given alone');
        }
        const layers = names.map((a) => set.resolve(a));
        if (layers.length < 2)
            throw usage('merge needs at least two layers');
        const seen = new Set();
        for (const l of layers) {
            if (seen.has(l.name))
                throw usage(`layer ${l.name} is named twice`);
            seen.add(l.name);
        }
        let below;
        if (set.project) {
            for (let i = 0; i + 1 < layers.length; i++) {
                const parent = set.project.manifest.layers[layers[i].name].parent;
                if (parent !== layers[i + 1].name) {
                    throw usage(`layers to merge must be consecutive, top first: the parent of ${layers[i].name} is ${parent ?? 'none (a bottom layer)'}, not ${layers[i + 1].name}`);
                }
            }
            below = set.lowersOf(layers.at(-1).name);
        }
        await set.verify(layers);
        const out = set.output(name, below?.[0] ?? null, { command: 'merge', from: layers.map((l) => l.name) });
        if (!g.force && !g.dryRun && existsSync(path.join(out.dir, `${name}.sqsh`))) {
            throw usage(`${path.join(out.dir, `${name}.sqsh`)} exists; use --force to replace it`);
        }
        if (!g.dryRun)
            await checkTools('merge', io);
        const done = await withOpSession(g, io, { projectDir: set.project?.dir, owner: set.project?.dir ?? set.outDir, outDir: set.outDir }, async (s) => {
            startTask(s, name);
            const raw = await mountRaw(s, layers, 'layers');
            return mergeAndWrite(s, [...raw].reverse(), out, set.pack);
        });
        const oldStack = [...layers.map((l) => l.name), ...(below ?? [])];
        const newStack = [name, ...(below ?? [])];
        const notes = [];
        if (!set.project)
            notes.push(`the layers below ${layers.at(-1).name} follow unchanged in both lines`);
        if (set.project) {
            const children = Object.entries(set.project.manifest.layers).filter(([, e]) => e.parent === layers[0].name).map(([n]) => n);
            if (children.length > 0)
                notes.push(`layers built on ${layers[0].name} (${children.join(', ')}) now stack on ${name}: set their recipes' parent to ${name}`);
        }
        return printResult({
            command: 'merge',
            name,
            written: done.written,
            oldLine: layersLine(oldStack, !set.project),
            newLine: layersLine(newStack, !set.project),
            notes,
            details: { merged: layers.map((l) => l.name), ...(done.stats ? { stats: done.stats } : {}) },
        }, g, io);
    }));
}
//# sourceMappingURL=merge.js.map