// `capture [ROOT] NAME`: the first layer from a running system's root (engine/capture-op.ts),
// the seed's sqsh-init.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { captureRoot } from '../engine/capture-op.js';
import { FailureError } from '../failure.js';
import { checkLayerName, layersLine, openLayerSet } from './layer-set.js';
import { checkTools, printResult, withOpSession } from './layer-op-command.js';
const usage = (message) => new FailureError({ reason: 'usage', message });
export function captureCommand({ program, globals, io, action }) {
    program
        .command('capture')
        .description('make a first layer NAME from a running system\'s root (default /): other mounted filesystems, /tmp and /run contents left out')
        .argument('[root]', 'the root directory to capture (default: /)')
        .argument('[name]', 'name of the new layer (required)')
        .option('--exclude <glob...>', 'also leave out what these globs match (in-root paths: /var/cache/apt/*.bin, /home/**)')
        .option('--out <dir>', 'write DIR/NAME.sqsh instead of into the project\'s layers/')
        .addHelpText('after', `
Examples:
  sqsh-layers capture base --out /mnt/newroot
      / as /mnt/newroot/base.sqsh; boot it with root=NEWDEV sqsh_layers=base
  sqsh-layers capture /srv/chroot base --exclude '/var/cache/apt/**' --out /srv/layers

ROOT is bind-mounted read-only and non-recursively: proc, sys, dev, tmpfs, bind mounts and
other disks mounted below it are left out and their mount points kept as empty directories,
like /tmp and /run. Owners, modes, times, xattrs (security.capability too) and hardlinks
are kept. ROOT is never written to; a live root may change while it is read.`)
        .action(action(async (a, b, o) => {
        const g = globals();
        if (a === undefined)
            throw usage('capture needs the name of the new layer: sqsh-layers capture [ROOT] NAME');
        const [rootArg, name] = b === undefined ? ['/', a] : [a, b];
        checkLayerName(name, 'the new layer');
        const root = await fs.realpath(path.resolve(io.cwd, rootArg)).catch(() => undefined);
        if (root === undefined || !(await fs.stat(root)).isDirectory())
            throw usage(`${rootArg} is not a directory`);
        for (const x of o.exclude ?? [])
            if (!x.startsWith('/'))
                throw usage(`--exclude ${x}: an in-root path starts with "/"`);
        const set = await openLayerSet(g, { out: o.out }, io);
        const out = set.output(name, null, { command: 'capture', from: [root] });
        if (!g.force && !g.dryRun && existsSync(path.join(out.dir, `${name}.sqsh`))) {
            throw usage(`${path.join(out.dir, `${name}.sqsh`)} exists; use --force to replace it`);
        }
        if (!g.dryRun)
            await checkTools('capture', io);
        const done = await withOpSession(g, io, { projectDir: set.project?.dir, owner: set.project?.dir ?? set.outDir, outDir: set.outDir }, (s) => captureRoot(s, { root, exclude: o.exclude ?? [], out, pack: set.pack }));
        return printResult({
            command: 'capture',
            name,
            written: done.written,
            oldLine: undefined,
            newLine: layersLine([name], false),
            notes: root === '/' && !g.dryRun ? ['a live root may have changed while it was read; for a consistent layer capture from a rescue or maint shell'] : [],
            details: { root, ...(done.stats ? { stats: done.stats } : {}) },
        }, g, io);
    }));
}
//# sourceMappingURL=capture.js.map