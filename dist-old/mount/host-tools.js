// What every sandbox needs from the host, found once per run: the host's tool directories
// (bound read-only under HOST_DIR), how to start a host binary through the host's own ELF
// loader with only host libraries, the seccomp filter file (bwrap --seccomp), which /proc
// entries to hide, and enter-root.so (native/enter-root.c), which moves a host tool into a
// layer root only after the loader is done with the host's files.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from '../process/which.js';
import { seccompFilter } from './seccomp.js';
/** Where host tools appear inside a sandbox; removed from a layer root afterwards. */
export const HOST_DIR = '/.sqsh-layers-host';
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The compiled native/enter-root.c: beside the compiled CLI, or in dist/ when running from src/. */
export function enterRootLibrary() {
    const here = path.dirname(fileURLToPath(import.meta.url));
    return [path.resolve(here, '../enter-root.so'), path.resolve(here, '../../dist/enter-root.so')].find((p) => existsSync(p));
}
/** /proc entries that sandboxes make read-only (Docker's readonlyPaths). */
const PROC_READ_ONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];
/** /proc files hidden behind /dev/null, and directories behind an empty tmpfs (Docker's maskedPaths). */
const PROC_MASKED_FILES = ['/proc/kcore', '/proc/keys', '/proc/key-users', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/latency_stats', '/proc/kmsg', '/proc/kallsyms', '/proc/kpagecount', '/proc/kpageflags', '/proc/kpagecgroup'];
const PROC_MASKED_DIRS = ['/proc/acpi', '/proc/scsi', '/proc/asound', '/proc/driver'];
export class HostTools {
    dirs;
    seccompFile;
    enterRoot;
    proc;
    cache = new Map();
    constructor(
    /** Host directories bound read-only (e.g. /usr; merged-/usr symlinks like /lib are followed by the loader path). */
    dirs, 
    /** The seccomp program every sandbox loads (bwrap --seccomp 3). */
    seccompFile, 
    /** enter-root.so, or undefined when it was not compiled (the tool steps then fail with a hint). */
    enterRoot, 
    /** The /proc entries of this kernel that `run` sandboxes protect. */
    proc) {
        this.dirs = dirs;
        this.seccompFile = seccompFile;
        this.enterRoot = enterRoot;
        this.proc = proc;
    }
    /** Finds the host's tool directories and writes the seccomp filter into the run's state dir. */
    static async detect(stateDir) {
        const dirs = [];
        for (const d of ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin']) {
            const st = await fs.lstat(d).catch(() => undefined);
            if (st?.isDirectory())
                dirs.push(d);
        }
        const seccompFile = path.join(stateDir, 'seccomp.bpf');
        await fs.writeFile(seccompFile, seccompFilter(process.arch), { mode: 0o644 });
        const exists = (p) => existsSync(p);
        const proc = {
            readOnly: PROC_READ_ONLY.filter(exists),
            maskedFiles: PROC_MASKED_FILES.filter(exists),
            maskedDirs: PROC_MASKED_DIRS.filter(exists),
        };
        return new HostTools(dirs, seccompFile, enterRootLibrary(), proc);
    }
    /** bwrap arguments that show the host's tool directories read-only under `at` (HOST_DIR, or HOST_DIR inside a root). */
    binds(at) {
        return this.dirs.flatMap((d) => ['--ro-bind', d, `${at}${d}`]);
    }
    /**
     * How to start host tool `name` inside a sandbox that shows the host's directories under
     * HOST_DIR: its ELF interpreter with `--inhibit-cache` and a library path inside HOST_DIR, so
     * no ld.so.cache and no library outside the host's own directories is ever looked at.
     * Undefined when the tool is not installed. Static binaries are refused: they cannot be
     * started with only host files in reach of their libc.
     */
    async command(name) {
        const known = this.cache.get(name);
        if (known)
            return known;
        const found = await findOnPath(name, SANDBOX_PATH);
        if (!found)
            return undefined;
        const real = await fs.realpath(found);
        const interp = await elfInterpreter(real);
        if (!interp)
            throw new Error(`${real} is not a dynamically linked program; sqsh-layers cannot sandbox it`);
        const inBox = (p) => `${HOST_DIR}${p}`;
        const loader = await fs.realpath(interp);
        const libdirs = [path.dirname(loader), '/usr/lib', '/lib'].filter((d, i, all) => all.indexOf(d) === i);
        const cmd = { loader: [inBox(loader), '--inhibit-cache', '--library-path', libdirs.map(inBox).join(':')], program: inBox(real) };
        this.cache.set(name, cmd);
        return cmd;
    }
}
/** PT_INTERP of an ELF executable; undefined for static binaries and scripts. */
async function elfInterpreter(file) {
    const fh = await fs.open(file, 'r');
    try {
        const head = Buffer.alloc(64);
        await fh.read(head, 0, 64, 0);
        if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1)
            return undefined; // 64-bit little-endian ELF only
        const phoff = Number(head.readBigUInt64LE(32));
        const phentsize = head.readUInt16LE(54);
        const phnum = head.readUInt16LE(56);
        const ph = Buffer.alloc(phentsize * phnum);
        await fh.read(ph, 0, ph.length, phoff);
        for (let i = 0; i < phnum; i++) {
            const off = i * phentsize;
            if (ph.readUInt32LE(off) !== 3)
                continue; // PT_INTERP
            const at = Number(ph.readBigUInt64LE(off + 8));
            const size = Number(ph.readBigUInt64LE(off + 32));
            const buf = Buffer.alloc(size);
            await fh.read(buf, 0, size, at);
            return buf.toString('utf8').replace(/\0.*$/s, '');
        }
        return undefined;
    }
    finally {
        await fh.close();
    }
}
//# sourceMappingURL=host-tools.js.map