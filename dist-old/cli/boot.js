// `boot LAYER`: boots LAYER's stack in a qemu VM through an initramfs with RuckusRD's layer
// parameters and runs the recipes' checks inside the booted system.
import { release } from 'node:os';
import { bootStack } from '../boot/boot.js';
import { checkLayerdir, parseSize } from '../boot/layerdev.js';
import { EXIT, FailureError } from '../failure.js';
import { stackOf } from '../plan/graph.js';
import { withBuiltLayers } from './built-stack.js';
export function bootCommand({ program, globals, io, action }) {
    program
        .command('boot')
        .description("boot LAYER's stack in a qemu VM the way a machine boots it, and run the recipes' checks inside")
        .argument('<layer>', 'the top layer of the stack')
        .option('--kernel <file>', 'the kernel to boot (default: /boot/vmlinuz-$(uname -r), else Debian\'s linux-image-amd64, cached)')
        .option('--modules <dir>', "the kernel's modules, /lib/modules/VERSION (with --kernel)")
        .option('--timeout <seconds>', 'kill the VM when the checks have not finished by then (exit 1)', '600')
        .option('--memory <size>', 'memory of the VM', '1G')
        .option('--root-size <size>', 'size of the scratch root device that holds the upper (sparse)', '4G')
        .option('--ram-layer <size>', 'a tmpfs upper of this size instead (ram_layer=)')
        .option('--overlayflags <opts>', 'extra options of the root overlay mount (overlayflags=)')
        .option('--layerdir <dir>', 'directory of the layers on the layer device (sqsh_layerdir=)')
        .option('--console', 'an interactive serial console instead of the checks (leave qemu with Ctrl-A X)')
        .addHelpText('after', `
The stack is built first when it is not cached. The VM gets the layers on a read-only virtio
disk (/dev/vdb, as "layerdev" makes it) and an empty scratch root device for the upper
(/dev/vda), and boots with root=/dev/vda sqsh_layerdev=/dev/vdb sqsh_layers=LAYER:...:base.
The root's own init starts (with systemd, the checks run as a unit after multi-user.target;
a root without systemd runs them as its first process), then the VM powers off.
KVM when /dev/kvm works, TCG otherwise.

Examples:
  sqsh-layers boot config                      boot the stack, run every layer's checks
  sqsh-layers boot config --ram-layer 512M     with a tmpfs upper, as ram_layer=512M boots
  sqsh-layers boot config --console            log in on the serial console
  sqsh-layers boot config --kernel vmlinuz --modules /lib/modules/6.1.0-57-amd64 --timeout 300

Exit codes: 0 every check passed, 1 a check failed or the system did not boot (the console's
tail is shown), 2 usage or recipe error.`)
        .action(action(async (layer, o) => {
        const g = globals();
        const timeoutSeconds = Number(o.timeout);
        if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
            throw new FailureError({ reason: 'usage', message: `--timeout must be a number of seconds, found "${o.timeout}"` });
        }
        const memoryMiB = Math.ceil(parseSize(o.memory, '--memory') / (1024 * 1024));
        const rootBytes = parseSize(o.rootSize, '--root-size');
        const layerdir = o.layerdir !== undefined ? checkLayerdir(o.layerdir) : undefined;
        if (o.console && g.json)
            throw new FailureError({ reason: 'usage', message: '--console is interactive: it has no --json result' });
        const { result, stack, checks } = await withBuiltLayers(g, io, [layer], async (b) => {
            const stack = stackOf(b.graph, layer);
            // Base first: a check of an upper layer may rely on what the lower ones provide.
            const checks = [...stack].reverse().flatMap((n) => (b.graph.recipes.get(n).checks ?? []).map((command) => ({ layer: n, command })));
            const result = await bootStack(b.session, {
                stack,
                layers: b.layers,
                checks: o.console ? undefined : checks,
                kernel: o.kernel,
                modules: o.modules,
                release: release(),
                timeoutSeconds,
                memoryMiB,
                rootBytes,
                ramLayer: o.ramLayer,
                overlayflags: o.overlayflags,
                layerdir,
            });
            return { result, stack, checks };
        });
        // An interactive console ends when its user powers the VM off or leaves qemu.
        if (o.console)
            return EXIT.ok;
        return report(result, stack, checks, g.json, io);
    }));
}
function report(r, stack, checks, json, io) {
    const failed = r.checks.filter((c) => c.exitCode !== 0);
    const ok = failed.length === 0 && r.checks.length === checks.length;
    if (json) {
        io.stdout.write(`${JSON.stringify({ ok, layer: stack[0], stack, kernel: r.kernel, accel: r.accel, init: r.init ?? null, cmdline: r.cmdline, bootSeconds: r.bootSeconds ?? null, checks: r.checks }, null, 2)}\n`);
    }
    else {
        const boot = r.bootSeconds !== undefined ? `${r.bootSeconds.toFixed(1)} s` : '?';
        io.stdout.write(`booted ${stack[0]} in ${boot} (init: ${r.init ?? '?'}, ${r.accel.toUpperCase()})\n`);
        for (const c of r.checks) {
            io.stdout.write(`  ${c.exitCode === 0 ? 'ok  ' : 'FAIL'}  ${c.layer}: ${c.command}  (${c.seconds.toFixed(1)} s${c.exitCode === 0 ? '' : `, exit code ${c.exitCode}`})\n`);
        }
        io.stdout.write(`${r.checks.length - failed.length} of ${checks.length} check(s) passed\n`);
    }
    for (const c of failed) {
        const tail = c.output.trimEnd().split('\n').slice(-15).map((l) => `  | ${l}`);
        io.stderr.write(`sqsh-layers: error: check ${JSON.stringify(c.command)} of layer ${c.layer} failed with exit code ${c.exitCode} in the booted system\n${tail.join('\n')}${tail.length ? '\n' : ''}`);
    }
    return ok ? EXIT.ok : EXIT.failure;
}
//# sourceMappingURL=boot.js.map