// `layerdev --out IMG [LAYER]`: an ext4 image holding a layer set, ready to attach as
// `sqsh_layerdev`, and the kernel parameters that boot from it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
import { checkLayerdir, makeLayerdev, parseSize } from '../boot/layerdev.js';
import { kernelCmdline } from '../plan/cmdline.js';
import { stackOf } from '../plan/graph.js';
import { withBuiltLayers } from './built-stack.js';
import { formatBytes } from './render.js';
export function layerdevCommand({ program, globals, io, action }) {
    program
        .command('layerdev')
        .description('make an ext4 image holding a layer set (LAYER and its ancestors; all layers when none), to attach as sqsh_layerdev')
        .argument('[layer]', 'the top layer of the stack to put on the device (default: every layer)')
        .requiredOption('--out <img>', 'the image file to write (replaced atomically)')
        .option('--size <size>', 'image size, e.g. 512M or 4G (default: what the layers need plus 10%)')
        .option('--layerdir <dir>', 'directory of the .sqsh files inside the image (sqsh_layerdir=); default: its root')
        .addHelpText('after', `
The layers are built first when they are not cached. The image is made without mounting
anything (mkfs.ext4 -d); its UUID follows the layers' content. Printed: the parameters that
boot each stack from it, with sqsh_layerdev=UUID=... (any device name works too).

Examples:
  sqsh-layers layerdev --out /srv/vm/layers.img
      sqsh_layerdev=UUID=0c3e...-... sqsh_layers=config:extra:server:base
  sqsh-layers layerdev server --out layers.img --layerdir sets/web --size 2G
      sqsh_layerdev=UUID=... sqsh_layerdir=sets/web sqsh_layers=server:base
  qemu-system-x86_64 ... -drive file=layers.img,if=virtio,format=raw,readonly=on`)
        .action(action(async (layer, o) => {
        const g = globals();
        const layerdir = o.layerdir !== undefined ? checkLayerdir(o.layerdir) : undefined;
        const bytes = o.size !== undefined ? parseSize(o.size, '--size') : undefined;
        const out = path.resolve(io.cwd, o.out);
        if (!(await isDirectory(path.dirname(out)))) {
            throw new FailureError({ reason: 'usage', message: `--out ${o.out}: ${path.dirname(out)} is not a directory` });
        }
        const targets = layer !== undefined ? [layer] : [];
        const result = await withBuiltLayers(g, io, targets, async (b) => {
            const names = layer !== undefined ? stackOf(b.graph, layer) : [...b.layers.keys()];
            const tops = layer !== undefined ? [layer] : topsOf(b.graph.recipes, names);
            const dev = await makeLayerdev(b.session.runner, {
                layers: names.map((n) => b.layers.get(n)),
                layerdir,
                out,
                bytes,
                staging: path.join(b.session.runDir, 'layerdev'),
                runId: path.basename(b.session.runDir),
                sourceDateEpoch: b.sourceDateEpoch,
            });
            const cmdlines = tops.map((top) => ({
                top,
                cmdline: kernelCmdline(stackOf(b.graph, top), { layerdev: `UUID=${dev.uuid}`, layerdir }),
            }));
            return { dev, names, cmdlines };
        });
        const { dev, names, cmdlines } = result;
        if (g.json) {
            io.stdout.write(`${JSON.stringify({ image: dev.out, uuid: dev.uuid, size: dev.bytes, layerdir: dev.layerdir ?? null, layers: names, cmdlines }, null, 2)}\n`);
        }
        else {
            if (!g.quiet)
                io.stderr.write(`${dev.out}: ext4, ${formatBytes(dev.bytes)}, ${names.length} layer(s), UUID ${dev.uuid}\n`);
            for (const c of cmdlines)
                io.stdout.write(`${c.cmdline}\n`);
        }
        return 0;
    }));
}
async function isDirectory(dir) {
    return fs.stat(dir).then((st) => st.isDirectory(), () => false);
}
/** The layers no other layer of `names` is built on: one stack each. */
function topsOf(recipes, names) {
    const parents = new Set(names.map((n) => recipes.get(n)?.parent));
    return names.filter((n) => !parents.has(n)).sort();
}
//# sourceMappingURL=layerdev.js.map