// `shell LAYER [-- CMD...]`: a shell (the stack's own /bin/sh, or CMD) in a throw-away stack
// of LAYER: the layers loop-mounted read-only, a tmpfs upper that goes when the shell ends,
// sandboxed like a `run` step (no network unless --network). Its exit code is the shell's.
// Everything is undone when it exits, and on SIGINT, SIGTERM or SIGHUP.
import { stackSandbox } from '../engine/stack-sandbox.js';
import { inStackSession, layerArgument, tmpfsSizeOption } from './stack-command.js';
export function shellCommand({ program, globals, io, action }) {
    program
        .command('shell')
        .description("a shell (or -- CMD) in a throw-away stack of LAYER, sandboxed like run steps; the layers stay unchanged")
        .argument('<layer>', 'the top layer of the stack (a project layer, or a .sqsh file)')
        .argument('[command...]', 'a command to run instead of the stack\'s /bin/sh (after --)')
        .option('--network', 'give the sandbox the network (and the host\'s /etc/resolv.conf)')
        .option('--tmpfs-size <size>', 'size of the tmpfs upper that takes the writes', '50%')
        .addHelpText('after', `
Writes go to a tmpfs upper that is thrown away when the shell exits: the layer files and the
host stay as they were. With stdin not a terminal the shell reads its commands from it.

Examples:
  sqsh-layers shell server
  sqsh-layers shell server -- nginx -t
  sqsh-layers shell server --network -- apt-get update
  sqsh-layers shell server <<'EOF'
  ls -l /etc/nginx
  EOF`)
        .action(action(async (arg, command, o) => {
        const g = globals();
        const ref = await layerArgument(arg, g, io);
        const tmpfsSize = tmpfsSizeOption(o.tmpfsSize);
        return inStackSession(g, io, async (s) => {
            const dirs = [];
            for (const l of ref.stack)
                dirs.push(await s.mountLayer(l.file));
            const stack = await s.assemble(dirs, tmpfsSize);
            const box = await stackSandbox(s, {
                stack,
                run: { command: command.length > 0 ? command : ['/bin/sh'] },
                network: o.network === true,
                layer: ref.stack[0].name,
                extraEnv: io.env.TERM !== undefined ? { TERM: io.env.TERM } : {},
            });
            try {
                return await s.runner.interactive(box.argv, { clearEnv: true, env: box.env });
            }
            finally {
                await box.cleanup();
            }
        });
    }));
}
//# sourceMappingURL=shell.js.map