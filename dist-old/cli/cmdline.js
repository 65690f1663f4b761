// `cmdline LAYER`: the kernel parameters that boot LAYER's stack.
import { bootOverlayWarning, cmdlineLengthWarning, kernelCmdline } from '../plan/cmdline.js';
import { buildOrder, stackOf } from '../plan/graph.js';
import { openProject } from './project.js';
export function cmdlineCommand({ program, globals, io, action }) {
    program
        .command('cmdline')
        .description('print the kernel parameters that boot LAYER with its ancestors (sqsh_layers=LAYER:...:base)')
        .argument('<layer>', 'the top layer of the stack')
        .option('--root <dev>', 'root device (root=), holding the upper layer')
        .option('--layerdev <dev>', 'read-only device holding the .sqsh files (sqsh_layerdev=)')
        .option('--layerdir <dir>', 'directory of the .sqsh files, relative to each device (sqsh_layerdir=)')
        .option('--sqshfstype <type>', 'filesystem type of the layer device (sqshfstype=)')
        .option('--ram-layer <size>', 'tmpfs upper of this size, root device read-only (ram_layer=), e.g. 2G or 50%')
        .option('--to-ram', 'copy the layers to RAM at boot (to_ram); needs --ram-layer')
        .option('--overlayflags <opts>', 'extra options for the root overlay mount (overlayflags=)')
        .addHelpText('after', `
Examples:
  sqsh-layers cmdline config
      sqsh_layers=config:extra:server:base
  sqsh-layers cmdline config --root /dev/xvda1 --layerdev /dev/xvdb1 --layerdir layers
      root=/dev/xvda1 sqsh_layerdev=/dev/xvdb1 sqsh_layerdir=layers sqsh_layers=config:extra:server:base`)
        .action(action(async (layer, o) => {
        const g = globals();
        const { graph } = await openProject(g.dir, { checkInputs: false });
        buildOrder(graph, [layer]); // unknown layer → usage error with suggestions
        const stack = stackOf(graph, layer);
        const line = kernelCmdline(stack, o);
        const warnings = [bootOverlayWarning(stack, o), cmdlineLengthWarning(line)].filter((w) => w !== undefined);
        for (const w of warnings)
            io.stderr.write(`sqsh-layers: warning: ${w}\n`);
        const json = { cmdline: line, stack, ...(warnings.length > 0 ? { warnings } : {}) };
        io.stdout.write(g.json ? `${JSON.stringify(json, null, 2)}\n` : `${line}\n`);
        return 0;
    }));
}
//# sourceMappingURL=cmdline.js.map