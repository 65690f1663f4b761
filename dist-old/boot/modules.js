// The kernel modules the boot initramfs loads, resolved with the kernel's modules.dep
// (dependencies first) and modules.builtin (built in: nothing to load). A kernel may have
// squashfs, overlay, loop, virtio and ext4 built in or as modules; both work.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
/** What the initramfs needs, in load order, and the parameters each gets. */
export const BOOT_MODULES = [
    { name: 'loop', params: 'max_loop=16' },
    { name: 'squashfs', params: '' },
    { name: 'overlay', params: '' },
    { name: 'virtio_pci', params: '' },
    { name: 'virtio_blk', params: '' },
    // ext4 and jbd2 have a soft dependency on crypto-crc32c (modules.softdep): its generic implementation.
    { name: 'crc32c_generic', params: '', optional: true },
    { name: 'ext4', params: '' },
];
/** A module's name as the kernel knows it: the file name without .ko[.xz|.zst|.gz], `-` as `_`. */
export function moduleName(file) {
    return path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}
export function parseModuleTables(modulesDep, modulesBuiltin) {
    const deps = new Map();
    for (const line of modulesDep.split('\n')) {
        const colon = line.indexOf(':');
        if (colon < 0)
            continue;
        const file = line.slice(0, colon).trim();
        deps.set(moduleName(file), { file, deps: line.slice(colon + 1).trim().split(/\s+/).filter(Boolean) });
    }
    const builtin = new Set(modulesBuiltin.split('\n').filter(Boolean).map(moduleName));
    return { deps, builtin };
}
/** The files to load for `wanted`, dependencies first, each once; built-in ones left out. */
export function modulesToLoad(t, wanted) {
    const load = [];
    const seen = new Set();
    const missing = [];
    const add = (file, params) => {
        const name = moduleName(file);
        if (seen.has(name))
            return;
        seen.add(name);
        // modules.dep lists every dependency, direct or not; each of theirs comes first all the same.
        for (const d of t.deps.get(name)?.deps ?? [])
            add(d, '');
        load.push({ file, params });
    };
    for (const w of wanted) {
        const entry = t.deps.get(w.name);
        if (entry)
            add(entry.file, w.params);
        else if (!t.builtin.has(w.name) && !w.optional)
            missing.push(w.name);
    }
    return { load, missing };
}
/** The modules of a kernel's modules dir (/lib/modules/VERSION), or a failure naming what it lacks. */
export async function bootModules(modulesDir) {
    const read = (f) => fs.readFile(path.join(modulesDir, f), 'utf8');
    let dep;
    try {
        dep = await read('modules.dep');
    }
    catch {
        throw new FailureError({
            reason: 'boot',
            message: `${modulesDir} has no modules.dep`,
            hint: `run "depmod -b ROOT VERSION" for it, or give --modules the kernel's /lib/modules/VERSION directory`,
            tail: [],
        });
    }
    const t = parseModuleTables(dep, await read('modules.builtin').catch(() => ''));
    const { load, missing } = modulesToLoad(t, BOOT_MODULES);
    if (missing.length > 0) {
        throw new FailureError({
            reason: 'boot',
            message: `the kernel's modules (${modulesDir}) have neither a module nor a built-in driver for: ${missing.join(', ')}`,
            hint: 'the boot initramfs needs loop, squashfs, overlay, virtio_pci, virtio_blk and ext4',
            tail: [],
        });
    }
    return load;
}
//# sourceMappingURL=modules.js.map