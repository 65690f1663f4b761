// The kernel a VM boots: --kernel (with --modules), else the host's own
// (/boot/vmlinuz-RELEASE with /lib/modules/RELEASE), else Debian's linux-image-amd64 fetched
// with `apt-get download`, unpacked into the cache (kernels/PACKAGE_VERSION/) and reused.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { FailureError } from '../failure.js';
async function readable(file) {
    return fs.access(file, constants.R_OK).then(() => true, () => false);
}
export async function findKernel(o) {
    if (o.kernel !== undefined) {
        if (!(await readable(o.kernel)))
            throw usage(`--kernel ${o.kernel}: no such readable file`);
        if (o.modules !== undefined && !(await readable(path.join(o.modules, 'modules.dep')))) {
            throw usage(`--modules ${o.modules}: no modules.dep there (give the kernel's /lib/modules/VERSION directory, after depmod)`);
        }
        return { image: o.kernel, modulesDir: o.modules, source: o.kernel };
    }
    if (o.modules !== undefined)
        throw usage('--modules goes with --kernel');
    const host = `/boot/vmlinuz-${o.release}`;
    if (await readable(host)) {
        const mods = `/lib/modules/${o.release}`;
        return { image: host, modulesDir: (await readable(path.join(mods, 'modules.dep'))) ? mods : undefined, source: `the host's ${host}` };
    }
    o.note(`no ${host} on this host: using Debian's linux-image-amd64 (kept in the cache)`);
    return debianKernel(o);
}
function usage(message) {
    return new FailureError({ reason: 'usage', message });
}
/** `linux-image-6.1.0-57-amd64 (= 6.1.192-3)` from the Depends of linux-image-amd64's candidate. */
export function kernelPackageOf(aptCacheShow) {
    const depends = /^Depends:\s*(.*)$/m.exec(aptCacheShow)?.[1];
    const m = depends ? /(linux-image-[0-9][^\s,(]*)\s*\(=\s*([^)\s]+)\)/.exec(depends) : null;
    return m ? { pkg: m[1], version: m[2] } : undefined;
}
async function debianKernel(o) {
    const show = await o.runner.query(['apt-cache', 'show', '--no-all-versions', 'linux-image-amd64'], { okCodes: [0, 100] });
    const found = kernelPackageOf(show.stdout);
    if (!found) {
        throw new FailureError({
            reason: 'boot',
            message: 'no kernel to boot: this host has no /boot/vmlinuz-$(uname -r), and apt knows no linux-image-amd64',
            hint: 'give one with --kernel FILE (and --modules DIR), or run "apt-get update" on a Debian or Ubuntu host',
            tail: show.tail,
        });
    }
    const release = found.pkg.replace(/^linux-image-/, '');
    const kernels = path.join(o.cacheDir, 'kernels');
    const dir = path.join(kernels, `${found.pkg}_${found.version}`);
    const kernel = (root) => ({
        image: path.join(root, 'boot', `vmlinuz-${release}`),
        modulesDir: path.join(root, 'lib/modules', release),
        source: `Debian's ${found.pkg} ${found.version}`,
    });
    if (await readable(path.join(dir, 'lib/modules', release, 'modules.dep')))
        return kernel(dir);
    const tmp = path.join(kernels, `.${found.pkg}_${found.version}.${o.runId}.tmp`);
    await fs.mkdir(tmp, { recursive: true });
    try {
        o.note(`downloading ${found.pkg} ${found.version}`);
        // As root, apt's download sandbox user (_apt) may not write here: download as root.
        await o.runner.run(['apt-get', 'download', '-q', '-o', 'APT::Sandbox::User=root', `${found.pkg}=${found.version}`], { cwd: tmp });
        const deb = (await fs.readdir(tmp)).find((f) => f.endsWith('.deb'));
        if (deb === undefined)
            throw new FailureError({ reason: 'boot', message: `apt-get download ${found.pkg} left no .deb`, tail: [] });
        const root = path.join(tmp, 'root');
        await o.runner.run(['dpkg-deb', '-x', path.join(tmp, deb), root]);
        // The package's postinst would make modules.dep: depmod does it for the unpacked tree.
        await o.runner.run(['depmod', '-b', root, release]);
        await fs.rename(root, dir).catch((err) => {
            // Another run put the same kernel there first: use that one.
            if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST')
                throw err;
        });
    }
    finally {
        await fs.rm(tmp, { recursive: true, force: true });
    }
    return kernel(dir);
}
//# sourceMappingURL=kernel.js.map