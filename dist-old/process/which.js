// Finding a command on PATH the way exec(3) does, without starting a shell per tool
// (dash's `command -v` exits 127 for a missing command, bash's 1), and where to get one
// that is missing.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
/** The file `exec` would run for `tool` with PATH `pathEnv`, or undefined when there is none. */
export async function findOnPath(tool, pathEnv) {
    if (tool.includes('/'))
        return (await isExecutable(tool)) ? tool : undefined;
    for (const dir of pathEnv.split(':')) {
        const file = path.join(dir === '' ? '.' : dir, tool);
        if (await isExecutable(file))
            return file;
    }
    return undefined;
}
async function isExecutable(file) {
    try {
        if (!(await fs.stat(file)).isFile())
            return false;
        await fs.access(file, constants.X_OK);
        return true;
    }
    catch {
        return false;
    }
}
/** The Debian package of each host tool, for the hint when one is missing. */
const PACKAGES = {
    mksquashfs: 'squashfs-tools',
    restore: 'dump',
    bwrap: 'bubblewrap',
    getfattr: 'attr',
    setfattr: 'attr',
    xargs: 'findutils',
    rsync: 'rsync',
    zstd: 'zstd',
    xz: 'xz-utils',
    tar: 'tar',
    gzip: 'gzip',
    bzip2: 'bzip2',
    unshare: 'util-linux',
    'qemu-system-x86_64': 'qemu-system-x86',
    'mkfs.ext4': 'e2fsprogs',
    cpio: 'cpio',
    busybox: 'busybox-static',
    depmod: 'kmod',
    mount: 'mount',
    umount: 'mount',
    mknod: 'coreutils',
};
export function installHint(tool) {
    const pkg = PACKAGES[tool];
    return pkg ? `install it: apt-get install ${pkg}` : `install ${tool}`;
}
//# sourceMappingURL=which.js.map