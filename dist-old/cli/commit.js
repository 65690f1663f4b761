// `commit [UPPERDIR] NAME`: the upper dir of a live overlay root as a portable layer
// (engine/commit-op.ts). By default the upper and the stack are the running root's
// (/proc/self/mountinfo, RuckusRD's paths after switch_root: live-root.ts).
import { existsSync, promises as fs, realpathSync } from 'node:fs';
import path from 'node:path';
import { commitUpper } from '../engine/commit-op.js';
import { FailureError } from '../failure.js';
import { liveOverlayAt } from '../mount/live-root.js';
import { checkLayerName, layersLine, openLayerSet } from './layer-set.js';
import { checkTools, printResult, withOpSession } from './layer-op-command.js';
const usage = (message) => new FailureError({ reason: 'usage', message });
export function commitCommand({ program, globals, io, action }) {
    program
        .command('commit')
        .description('turn the upper dir of a live overlay root into a portable layer NAME (by default the running root\'s upper and stack)')
        .argument('[upperdir]', 'the upper dir (default: the upperdir of the overlay mounted at --live-root)')
        .argument('[name]', 'name of the new layer (required)')
        .option('--stack <a:b:c>', 'the lowers the upper was over, top first (default: from the live root\'s overlay)')
        .option('--parent <layer>', 'in a project: the layer the upper was over (its ancestors follow)')
        .option('--merge <n>', 'fold the new layer into the top N lowers (the sqsh_layers= line gets N shorter)')
        .option('--live-root <dir>', 'the overlay mount to read the upper and stack from', '/')
        .option('--out <dir>', 'work on bare .sqsh files: write DIR/NAME.sqsh')
        .option('--layers-dir <dir>', 'with --out: where the lowers\' .sqsh files are (default: the --out dir, else /mnt/sqsh_layer-NAME)')
        .option('--tmpfs-size <size>', 'size of the tmpfs the upper is staged in (default: the project\'s tmpfs-size, else 50%)')
        .addHelpText('after', `
Examples:
  sqsh-layers commit newlayer --out /mnt/root-true
      on a RuckusRD ram_layer system: /mnt/upper/upper over the running stack, as
      /mnt/root-true/newlayer.sqsh; prints sqsh_layers=newlayer:... to boot it
  sqsh-layers commit /mnt/root-true/upper/upper fixes --stack extra:server:base --out /srv/layers
  sqsh-layers -C ~/layers commit /srv/upper fixes --parent server --merge 1

The upper is only read. Overlay xattrs other than opaque are stripped; entries of
redirect_dir=on and metacopy=on (a renamed directory, a metacopy file) are resolved against
the lowers so the layer reads the same everywhere.`)
        .action(action(async (a, b, o) => {
        const g = globals();
        if (a === undefined)
            throw usage('commit needs the name of the new layer: sqsh-layers commit [UPPERDIR] NAME');
        const [upperArg, name] = b === undefined ? [undefined, a] : [a, b];
        checkLayerName(name, 'the new layer');
        const merge = o.merge !== undefined ? Number(o.merge) : 0;
        if (!Number.isInteger(merge) || merge < 0)
            throw usage(`--merge must be a number of layers, found "${o.merge}"`);
        if (o.stack !== undefined && o.parent !== undefined)
            throw usage('--stack and --parent both name the stack; give one');
        const set = await openLayerSet(g, o, io);
        const liveRoot = path.resolve(io.cwd, o.liveRoot ?? '/');
        const live = upperArg === undefined || (o.stack === undefined && o.parent === undefined) ? await liveOverlayAt(liveRoot) : undefined;
        const upper = upperArg !== undefined ? path.resolve(io.cwd, upperArg) : live?.upper;
        if (upper === undefined) {
            throw usage(`${liveRoot} is not an overlay with an upper dir; name the upper dir: sqsh-layers commit UPPERDIR ${name}`);
        }
        if (!(await fs.stat(upper).catch(() => undefined))?.isDirectory())
            throw usage(`the upper dir ${upper} is not a directory`);
        const notes = [];
        let stack;
        if (o.stack !== undefined)
            stack = o.stack.split(':');
        else if (o.parent !== undefined) {
            if (!set.project)
                throw usage('--parent names a layer of a project; with --out give --stack');
            set.resolve(o.parent);
            stack = [o.parent, ...set.lowersOf(o.parent)];
        }
        else if (live && sameDir(live.upper, upper)) {
            await refusePersistentUpper(live);
            stack = live.lowers.filter((l) => !l.persistentUpper).map((l) => l.name);
        }
        for (const n of stack ?? [])
            checkLayerName(n, 'the stack\'s layer');
        if (merge > (stack?.length ?? 0))
            throw usage(`--merge ${merge}: the stack has ${stack?.length ?? 0} layer(s)`);
        const lowers = (stack ?? []).map((n) => {
            if (set.has(n))
                return set.resolve(n);
            const mounted = live?.lowers.find((l) => l.name === n)?.dir ?? `/mnt/sqsh_layer-${n}`;
            if (existsSync(mounted))
                return { name: n, dir: mounted };
            return set.resolve(n); // the error names where it was looked for
        });
        await set.verify(lowers);
        const liveNow = await liveOverlayAt(liveRoot).catch(() => undefined);
        if (liveNow && sameDir(liveNow.upper, upper)) {
            const w = `${upper} is the upper dir of the live root ${liveRoot}: files being written now may be caught mid-change. For a consistent layer, commit from a RuckusRD maint shell (boot with "maint", mount the root device, commit its upper/upper), or stop the services that write first`;
            if (g.json)
                notes.push(w);
            else
                io.stderr.write(`warning: ${w}\n`);
        }
        const below = stack?.slice(merge);
        const out = set.output(name, below?.[0] ?? null, { command: 'commit', from: [upper, ...(stack?.slice(0, merge) ?? [])] });
        if (!g.force && !g.dryRun && existsSync(path.join(out.dir, `${name}.sqsh`))) {
            throw usage(`${path.join(out.dir, `${name}.sqsh`)} exists; use --force to replace it`);
        }
        if (!g.dryRun)
            await checkTools('commit', io);
        const done = await withOpSession(g, io, { projectDir: set.project?.dir, owner: set.project?.dir ?? set.outDir, outDir: set.outDir }, (s) => commitUpper(s, { upper, lowers, merge, out, pack: set.pack }));
        if (stack === undefined)
            notes.push('the stack below is not known (give --stack): prepend the new layer to your sqsh_layers=');
        if (!set.project && !g.dryRun)
            notes.push(`copy ${name}.sqsh next to the other layers (root device or sqsh_layerdev), then boot with the new sqsh_layers=`);
        return printResult({
            command: 'commit',
            name,
            written: done.written,
            oldLine: stack !== undefined ? layersLine(stack, false) : undefined,
            newLine: layersLine([name, ...(below ?? [])], stack === undefined),
            notes,
            details: { upper, ...(done.stats ? { stats: done.stats } : {}) },
        }, g, io);
    }));
}
function sameDir(a, b) {
    if (a === undefined)
        return false;
    try {
        return realpathSync(a) === realpathSync(b);
    }
    catch {
        return false;
    }
}
/** With ram_layer, a non-empty persistent upper is part of what the live root shows. */
async function refusePersistentUpper(live) {
    const p = live.lowers.find((l) => l.persistentUpper);
    if (!p)
        return;
    const entries = await fs.readdir(p.dir).catch(() => []);
    if (entries.length === 0)
        return;
    throw new FailureError({
        reason: 'layer-op',
        message: `${p.dir} (the root device's persistent upper dir, stacked read-only over the layers by ram_layer) is not empty: what the live root shows depends on it, and a layer of the RAM upper alone would lose it`,
        hint: `commit it first: boot without ram_layer and run "sqsh-layers commit ${p.name === 'upper' ? 'NAME' : p.name}" (or commit /mnt/root-true/upper/upper with --stack), add the layer to sqsh_layers=, empty the upper dir from a maint shell, then commit the RAM upper on top of it`,
    });
}
//# sourceMappingURL=commit.js.map