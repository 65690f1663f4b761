// The seccomp filter of every sandbox (bwrap --seccomp), as classic BPF built here so that
// no library or compiler is needed at run time. Docker's default profile is the floor
// (moby profiles/seccomp/default.json): the mount family, kexec, bpf, perf_event_open, the
// keyring, module loading, open_by_handle_at, swap, reboot, clock setting, io_uring and new
// namespaces (unshare, setns, clone with CLONE_NEW* flags) fail with EPERM; clone3 fails with
// ENOSYS so that libc falls back to clone, whose flags can be checked; personality is limited
// to the values Docker allows. Unlike Docker's allow-list this is a deny-list: the sandboxes
// run whole distributions' maintainer scripts, and a call we did not foresee must not break
// them, while everything that reaches the kernel's shared state is refused.
/** Syscalls refused with EPERM in every sandbox. */
const DENIED = [
    'mount', 'umount', 'umount2', 'pivot_root', 'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick',
    'mount_setattr', 'kexec_load', 'kexec_file_load', 'bpf', 'perf_event_open', 'keyctl', 'add_key', 'request_key',
    'init_module', 'finit_module', 'delete_module', 'create_module', 'get_kernel_syms', 'query_module',
    'open_by_handle_at', 'name_to_handle_at', 'swapon', 'swapoff', 'reboot', 'acct', 'settimeofday', 'stime',
    'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64', 'adjtimex', 'syslog', 'quotactl',
    'quotactl_fd', 'nfsservctl', 'lookup_dcookie', 'uselib', 'vhangup', 'iopl', 'ioperm', '_sysctl', 'vm86', 'vm86old',
    'userfaultfd', 'unshare', 'setns', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'fanotify_init',
    'migrate_pages', 'move_pages', 'kcmp',
];
/** Syscall numbers from the kernel's uapi headers (test/mount/seccomp.test.ts checks them). */
export const SYSCALLS = {
    // asm/unistd_64.h
    x86_64: {
        mount: 165, umount2: 166, pivot_root: 155, move_mount: 429, open_tree: 428, fsopen: 430, fsconfig: 431,
        fsmount: 432, fspick: 433, mount_setattr: 442, kexec_load: 246, kexec_file_load: 320, bpf: 321,
        perf_event_open: 298, keyctl: 250, add_key: 248, request_key: 249, init_module: 175, finit_module: 313,
        delete_module: 176, create_module: 174, get_kernel_syms: 177, query_module: 178, open_by_handle_at: 304,
        name_to_handle_at: 303, swapon: 167, swapoff: 168, reboot: 169, acct: 163, settimeofday: 164, clock_settime: 227,
        clock_adjtime: 305, adjtimex: 159, syslog: 103, quotactl: 179, quotactl_fd: 443, nfsservctl: 180,
        lookup_dcookie: 212, uselib: 134, vhangup: 153, iopl: 172, ioperm: 173, _sysctl: 156, userfaultfd: 323,
        unshare: 272, setns: 308, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, fanotify_init: 300,
        migrate_pages: 256, move_pages: 279, kcmp: 312, clone: 56, clone3: 435, personality: 135,
    },
    // asm/unistd_32.h: 32-bit programs on an x86_64 host
    i386: {
        mount: 21, umount: 22, umount2: 52, pivot_root: 217, move_mount: 429, open_tree: 428, fsopen: 430, fsconfig: 431,
        fsmount: 432, fspick: 433, mount_setattr: 442, kexec_load: 283, bpf: 357, perf_event_open: 336, keyctl: 288,
        add_key: 286, request_key: 287, init_module: 128, finit_module: 350, delete_module: 129, create_module: 127,
        get_kernel_syms: 130, query_module: 167, open_by_handle_at: 342, name_to_handle_at: 341, swapon: 87, swapoff: 115,
        reboot: 88, acct: 51, settimeofday: 79, stime: 25, clock_settime: 264, clock_settime64: 404, clock_adjtime: 343,
        clock_adjtime64: 405, adjtimex: 124, syslog: 103, quotactl: 131, quotactl_fd: 443, nfsservctl: 169,
        lookup_dcookie: 253, uselib: 86, vhangup: 111, iopl: 110, ioperm: 101, _sysctl: 149, vm86: 166, vm86old: 113,
        userfaultfd: 374, unshare: 310, setns: 346, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
        fanotify_init: 338, migrate_pages: 294, move_pages: 317, kcmp: 349, clone: 120, clone3: 435, personality: 136,
    },
    // asm-generic/unistd.h (64-bit)
    aarch64: {
        mount: 40, umount2: 39, pivot_root: 41, move_mount: 429, open_tree: 428, fsopen: 430, fsconfig: 431, fsmount: 432,
        fspick: 433, mount_setattr: 442, kexec_load: 104, kexec_file_load: 294, bpf: 280, perf_event_open: 241,
        keyctl: 219, add_key: 217, request_key: 218, init_module: 105, finit_module: 273, delete_module: 106,
        open_by_handle_at: 265, name_to_handle_at: 264, swapon: 224, swapoff: 225, reboot: 142, acct: 89,
        settimeofday: 170, clock_settime: 112, clock_adjtime: 266, adjtimex: 171, syslog: 116, quotactl: 60,
        quotactl_fd: 443, nfsservctl: 42, lookup_dcookie: 18, vhangup: 58, userfaultfd: 282, unshare: 97, setns: 268,
        io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, fanotify_init: 262, migrate_pages: 238,
        move_pages: 239, kcmp: 272, clone: 220, clone3: 435, personality: 92,
    },
};
// <linux/audit.h>
const AUDIT_ARCH = { x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7 };
/** x32 syscalls carry this bit in their number (and the x86_64 arch value): all refused. */
const X32_SYSCALL_BIT = 0x40000000;
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET */
const CLONE_NAMESPACES = 0x7e020000;
/** Docker's allowed personality(2) values: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];
// <linux/filter.h>, <linux/seccomp.h>
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JSET_K = 0x45;
const RET_K = 0x06;
const ALLOW = 0x7fff0000;
const errno = (n) => 0x00050000 | n;
const EPERM = 1;
const ENOSYS = 38;
const KILL_PROCESS = 0x80000000;
// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6] (little-endian: low word first)
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LOW = 16;
const stmt = (code, k) => ({ code, jt: 0, jf: 0, k });
const jump = (code, k, jt, jf) => ({ code, jt, jf, k });
/** The checks of one architecture, entered with the syscall number loaded; falls through when allowed. */
function archChecks(table, x32Bit) {
    const out = [];
    const refuse = (nr, ret) => out.push(jump(JEQ_K, nr, 0, 1), stmt(RET_K, ret));
    if (x32Bit)
        out.push(jump(JSET_K, X32_SYSCALL_BIT, 0, 1), stmt(RET_K, errno(EPERM)));
    for (const name of DENIED)
        if (table[name] !== undefined)
            refuse(table[name], errno(EPERM));
    refuse(table.clone3, errno(ENOSYS));
    // clone: namespace flags refused. The argument check ends in its own return, so the number
    // is loaded again for the next check.
    out.push(jump(JEQ_K, table.clone, 0, 3), stmt(LD_W_ABS, OFF_ARG0_LOW), jump(JSET_K, CLONE_NAMESPACES, 0, 1), stmt(RET_K, errno(EPERM)));
    out.push(stmt(LD_W_ABS, OFF_NR));
    out.push(jump(JEQ_K, table.personality, 0, 2 + PERSONALITIES.length));
    out.push(stmt(LD_W_ABS, OFF_ARG0_LOW));
    PERSONALITIES.forEach((p, i) => out.push(jump(JEQ_K, p, PERSONALITIES.length - i, 0)));
    out.push(stmt(RET_K, errno(EPERM)));
    out.push(stmt(RET_K, ALLOW));
    return out;
}
/** The filter for this host's architecture (Node's `process.arch` naming). */
export function seccompFilter(arch) {
    const prog = [stmt(LD_W_ABS, OFF_ARCH)];
    const blocks = [];
    if (arch === 'x64') {
        blocks.push({ audit: AUDIT_ARCH.x86_64, insns: archChecks(SYSCALLS.x86_64, true) });
        blocks.push({ audit: AUDIT_ARCH.i386, insns: archChecks(SYSCALLS.i386, false) });
    }
    else if (arch === 'arm64') {
        // 32-bit ARM programs are killed: their syscall table is not covered here.
        blocks.push({ audit: AUDIT_ARCH.aarch64, insns: archChecks(SYSCALLS.aarch64, false) });
    }
    else {
        throw new Error(`no seccomp filter for the ${arch} architecture: sandboxes are supported on x64 and arm64`);
    }
    // Each block: "arch matches? else skip the block", load nr, its checks (ending in a return).
    for (const b of blocks) {
        const body = [stmt(LD_W_ABS, OFF_NR), ...b.insns];
        if (body.length > 255)
            throw new Error('bug: seccomp block longer than a conditional jump reaches');
        prog.push(jump(JEQ_K, b.audit, 0, body.length), ...body);
    }
    prog.push(stmt(RET_K, KILL_PROCESS)); // an architecture we do not know
    const buf = Buffer.alloc(prog.length * 8);
    prog.forEach((insn, i) => {
        buf.writeUInt16LE(insn.code, i * 8);
        buf.writeUInt8(insn.jt, i * 8 + 2);
        buf.writeUInt8(insn.jf, i * 8 + 3);
        buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
    });
    return buf;
}
//# sourceMappingURL=seccomp.js.map