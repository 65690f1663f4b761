// The overlay a running root is mounted with, read from /proc/self/mountinfo: its upper dir
// and its lowers, named as RuckusRD names them. RuckusRD (src/linuxrc) mounts the root overlay
// in the initramfs with `lowerdir=/sqsh_layer-a:/sqsh_layer-b,upperdir=UPPER/upper` and then
// moves everything under /mnt of the new root: each layer to /mnt/sqsh_layer-NAME, a
// ram_layer tmpfs from /upper to /mnt/upper, the root device from /tmproot to
// /mnt/root-true. With ram_layer the root device's persistent upper dir is stacked read-only
// as the top lower /sqsh_layer-upper (not named in sqsh_layers=).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readMounts } from './mountinfo.js';
/** Splits overlayfs's shown options: `,` between options, `:` between lowers, `\` escapes either. */
export function parseOverlayOptions(superOptions) {
    const split = (s, sep) => s.split(new RegExp(`(?<!\\\\)${sep}`)).map(unescapeOption);
    let lowerdir = [];
    let upperdir;
    for (const opt of superOptions.split(/(?<!\\),/)) {
        const eq = opt.indexOf('=');
        const [key, value] = eq < 0 ? [opt, ''] : [opt.slice(0, eq), opt.slice(eq + 1)];
        if (key === 'lowerdir')
            lowerdir = split(value, ':');
        else if (key === 'lowerdir+')
            lowerdir.push(unescapeOption(value));
        else if (key === 'upperdir')
            upperdir = unescapeOption(value);
    }
    return { lowerdir, upperdir };
}
function unescapeOption(s) {
    return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))).replace(/\\([,:\\])/g, '$1');
}
/** Where a path of the initramfs is after RuckusRD's switch_root, when it no longer exists as it was. */
export function afterSwitchRoot(p, kind) {
    const abs = path.resolve('/', p);
    if (existsSync(abs))
        return abs;
    if (kind === 'upper') {
        if (abs === '/upper/upper')
            return '/mnt/upper/upper';
        if (abs.startsWith('/tmproot/'))
            return path.join('/mnt/root-true', abs.slice('/tmproot/'.length));
        return abs;
    }
    return path.dirname(abs) === '/' ? path.join('/mnt', path.basename(abs)) : abs;
}
/** The overlay mounted at `target` (the last one mounted there), or undefined when it is no overlay. */
export async function liveOverlayAt(target) {
    const m = (await readMounts()).filter((e) => e.target === target).at(-1);
    if (!m || m.fstype !== 'overlay')
        return undefined;
    const { lowerdir, upperdir } = parseOverlayOptions(m.superOptions);
    return {
        target,
        upper: upperdir !== undefined ? afterSwitchRoot(upperdir, 'upper') : undefined,
        lowers: lowerdir.map((l) => {
            const base = path.basename(l);
            const name = base.replace(/^sqsh_layer-/, '');
            return { name, dir: afterSwitchRoot(l, 'lower'), persistentUpper: base === 'sqsh_layer-upper' };
        }),
    };
}
//# sourceMappingURL=live-root.js.map