// The kernel command line that boots a stack with a RuckusRD-style initramfs, and whether the
// initramfs can mount that stack. Pure.
import { FailureError } from '../failure.js';
import { MOUNT_OPTIONS_MAX } from './stack-limits.js';
/** Options that cannot work (exit code 2). */
function bootOptionError(message) {
    return new FailureError({ reason: 'boot-option', message });
}
const TMPFS_SIZE = /^[0-9]+[kKmMgG%]?$/;
/**
 * What a value may hold. The kernel splits its command line at spaces and gives quotes a
 * meaning of their own, and RuckusRD's linuxrc runs the values through the shell unquoted
 * (`for o in $opts`, `eval $go`): quotes, `$`, `;`, `&`, `|`, `*`, backslashes and the like
 * would be taken apart or executed at boot.
 */
const CARRIABLE = /^[A-Za-z0-9._:/=,%+@-]+$/;
/** Options linuxrc sets itself on the root overlay mount, after overlayflags. */
const OVERLAY_OWN = ['lowerdir', 'upperdir', 'workdir', 'datadir'];
/** `root=... sqsh_layerdev=... sqsh_layers=top:...:base ...`, in the order the docs show. */
export function kernelCmdline(stack, o) {
    const params = [];
    const add = (key, value, flag) => {
        if (value === undefined)
            return;
        if (value === '' || /\s/.test(value)) {
            throw bootOptionError(`${flag} must be a non-empty value without spaces, found ${JSON.stringify(value)}`);
        }
        if (!CARRIABLE.test(value)) {
            throw bootOptionError(`${flag} ${JSON.stringify(value)} cannot be carried: the kernel command line and RuckusRD's initramfs (which runs it through the shell) ` +
                'take only letters, digits and . _ : / = , % + @ -');
        }
        params.push(`${key}=${value}`);
    };
    if (o.ramLayer !== undefined && !TMPFS_SIZE.test(o.ramLayer)) {
        throw bootOptionError(`--ram-layer must be a tmpfs size such as 2G, 512M or 50%, found ${JSON.stringify(o.ramLayer)}`);
    }
    if (o.toRam && o.layerdev !== undefined) {
        throw bootOptionError('--to-ram cannot be combined with --layerdev: to_ram copies the layers from the root device');
    }
    if (o.toRam && o.ramLayer === undefined) {
        throw bootOptionError('--to-ram needs --ram-layer: with to_ram the root device may go away, so the upper must be in RAM');
    }
    const own = o.overlayflags?.split(',').map((f) => f.split('=')[0]).find((k) => OVERLAY_OWN.includes(k));
    if (own !== undefined) {
        throw bootOptionError(`--overlayflags must not set ${own}: the initramfs sets lowerdir, upperdir and workdir of the root overlay itself`);
    }
    if (o.layerdir !== undefined && o.layerdir.startsWith('/')) {
        throw bootOptionError(`--layerdir is relative to the root of each device, found ${JSON.stringify(o.layerdir)}`);
    }
    add('root', o.root, '--root');
    add('sqsh_layerdev', o.layerdev, '--layerdev');
    add('sqshfstype', o.sqshfstype, '--sqshfstype');
    add('sqsh_layerdir', o.layerdir, '--layerdir');
    params.push(`sqsh_layers=${stack.join(':')}`);
    add('ram_layer', o.ramLayer, '--ram-layer');
    if (o.toRam)
        params.push('to_ram');
    add('overlayflags', o.overlayflags, '--overlayflags');
    return params.join(' ');
}
/**
 * The -o text of the root overlay that RuckusRD's initramfs mounts for a stack, exactly as its
 * linuxrc builds it (sourceruckus/ruckusrd src/linuxrc at 64187289, "mount the merged filesystem"):
 *
 *     lower=/sqsh_layer-${sqsh_layers//:/:/sqsh_layer-}
 *     layers=lowerdir=$lower,upperdir=$upper/upper,workdir=$upper/work
 *     overlayflags=$overlayflags,$layers      # just $layers without overlayflags
 *     mount -t overlay -o $overlayflags rootfs /sysroot
 *
 * The layers are mounted at /sqsh_layer-NAME there (moved to /mnt/sqsh_layer-NAME after
 * switch_root). upper is /tmproot/upper on the root device; with ram_layer it is `upper` (the
 * tmpfs at /upper; the initramfs runs in /) and the root device's old upper dir is stacked on
 * top as the extra lower `upper` (/sqsh_layer-upper).
 */
export function bootOverlayOptions(stack, o) {
    const layers = o.ramLayer !== undefined ? ['upper', ...stack] : stack;
    const upper = o.ramLayer !== undefined ? 'upper' : '/tmproot/upper';
    const options = `lowerdir=${layers.map((l) => `/sqsh_layer-${l}`).join(':')},upperdir=${upper}/upper,workdir=${upper}/work`;
    return o.overlayflags ? `${o.overlayflags},${options}` : options;
}
/**
 * A warning when the boot-side overlay options of a stack (top first) do not fit in the one
 * page that mount(2) takes: the initramfs's mount would fail, or lose the options past it.
 * Past a few hundred bytes per layer this comes long before overlayfs's limit of 500 lowers
 * (each lower takes at least 14 bytes: 4095 / 14 < 300).
 */
export function bootOverlayWarning(stack, o) {
    const bytes = Buffer.byteLength(bootOverlayOptions(stack, o));
    if (bytes <= MOUNT_OPTIONS_MAX)
        return undefined;
    // The deepest stack from the same bottom that still fits: drop top layers until it does.
    let fitting = bytes;
    let top = 0;
    while (top < stack.length && fitting > MOUNT_OPTIONS_MAX)
        fitting -= Buffer.byteLength(`/sqsh_layer-${stack[top++]}:`);
    const bottom = stack.at(-1);
    const fits = fitting <= MOUNT_OPTIONS_MAX && top < stack.length
        ? `at most ${stack.length - top} of its layers (${stack[top]}..${bottom}) fit`
        : 'the overlayflags leave no room for a single layer';
    return (`the stack ${stack[0]}..${bottom} (${stack.length} layers) will not boot with RuckusRD: the options of its root overlay ` +
        `mount take ${bytes} bytes, and mount(2) takes at most ${MOUNT_OPTIONS_MAX} (one page); ${fits}. ` +
        `Squash layers with "sqsh-layers merge NEW TOP..BOTTOM"`);
}
/**
 * How much of its command line the kernel keeps: COMMAND_LINE_SIZE, 2048 bytes with the NUL on
 * x86 and arm64 (arch/x86/include/asm/setup.h); a longer line is cut, and the bootloader's own
 * parameters (BOOT_IMAGE=, console=...) count too.
 */
export const KERNEL_CMDLINE_MAX = 2048;
/** A warning when the parameters alone do not fit on the kernel command line. */
export function cmdlineLengthWarning(line) {
    const bytes = Buffer.byteLength(line);
    if (bytes < KERNEL_CMDLINE_MAX)
        return undefined;
    return (`the kernel parameters take ${bytes} bytes, and the kernel keeps at most ${KERNEL_CMDLINE_MAX - 1} of its command line ` +
        '(COMMAND_LINE_SIZE of x86 and arm64; the bootloader\'s own parameters count too): the rest would be cut off. ' +
        'Use shorter layer names, or squash layers with "sqsh-layers merge"');
}
//# sourceMappingURL=cmdline.js.map