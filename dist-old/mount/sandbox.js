// bubblewrap sandboxes. They are security boundaries (PRODUCT.md section 5): what runs in
// them (a `run` script and whatever packages it installs, or a host tool reading a hostile
// archive or dump image) must not reach the host. Every sandbox has Docker's defaults as
// its floor: the seccomp filter of seccomp.ts, no_new_privs (bwrap sets it), a reduced
// capability set, its own ipc, pid, uts and net namespaces, device nodes of the layer
// unusable (bwrap binds are nodev), and for `run` a /proc whose kernel knobs are read-only
// and whose sensitive files are masked. Three shapes:
// - `run`: the layer's own /bin/sh with /proc, a minimal /dev, empty /tmp and /run (on the
//   layer's tmpfs, so that they count against its size), no network unless asked, Debian's policy-rc.d, and Docker's default capabilities;
// - `tool`: a host tool (tar, restore, rsync) working with the layer root as its `/`, so
//   absolute symlinks and `..` in the tree resolve inside the root and never on the host.
//   It is started through the host's loader while `/` holds only host files; enter-root.so
//   then chroots it into the root (see native/enter-root.c): no file of the layer is ever
//   loaded or executed;
// - `filter`: a host program (a decompressor) that only reads its stdin and writes stdout.
import { HOST_DIR } from './host-tools.js';
/** Where a tool sandbox binds the layer root before the tool enters it. */
const ROOT_DIR = '/.sqsh-layers-root';
/** Docker's default capability set: enough for package managers, not for mounting or modules. */
const RUN_CAPS = [
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
    'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
/**
 * What tar, restore and rsync need to recreate a tree as it was: any owner, mode and time
 * (CHOWN, DAC_OVERRIDE, FOWNER, FSETID), device nodes (MKNOD), file capabilities (SETFCAP).
 * SYS_CHROOT is for enter-root.so, which drops it again once in the root. No SYS_ADMIN: the
 * privileged xattr namespaces (trusted.*, security.* other than security.capability) of an
 * input are not restored.
 */
const TOOL_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_MKNOD', 'CAP_SETFCAP', 'CAP_SYS_CHROOT'];
const COMMON = ['--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent', '--new-session'];
/** The seccomp program is read from file descriptor 3 (see withSeccomp). */
const SECCOMP = ['--seccomp', '3'];
function caps(list) {
    return ['--cap-drop', 'ALL', ...list.flatMap((c) => ['--cap-add', c])];
}
/**
 * Closes every file descriptor but stdin, stdout and stderr. bwrap passes whatever it inherits
 * into the sandbox, and so does Node to its children: a descriptor the caller of sqsh-layers
 * left open (a directory, a file, a make jobserver pipe, a socket) would otherwise be a door to
 * the host from a `run` script or a tool, through /proc/self/fd/N or openat(N, "..").
 */
const CLOSE_INHERITED_FDS = 'for fd in /proc/self/fd/*; do n=${fd##*/}; case $n in 0|1|2) ;; *) exec {n}>&- ;; esac; done';
/** A sandbox command line with the seccomp program file open on fd 3 and no other inherited descriptor. */
export function withSeccomp(tools, argv) {
    return ['bash', '-c', `${CLOSE_INHERITED_FDS}; f=$1; shift; exec "$@" 3<"$f"`, 'sandbox', tools.seccompFile, ...argv];
}
/** Two sandboxed commands in a pipe (`from | to`), each with its own seccomp fd; either failing fails it. */
export function pipeWithSeccomp(tools, from, to) {
    return [
        'bash', '-c', `${CLOSE_INHERITED_FDS}; set -o pipefail; f=$1; n=$2; shift 2; "\${@:1:n}" 3<"$f" | "\${@:n+1}" 3<"$f"`,
        'pipe', tools.seccompFile, String(from.length), ...from, ...to,
    ];
}
export function runSandboxMountpoints(network) {
    const list = [
        { path: '/proc', type: 'dir' },
        { path: '/dev', type: 'dir' },
        { path: '/tmp', type: 'dir' },
        { path: '/run', type: 'dir' },
        { path: '/usr/sbin/policy-rc.d', type: 'file' },
    ];
    if (network)
        list.push({ path: '/etc/resolv.conf', type: 'file' });
    return list;
}
export function runSandboxArgv(s) {
    const has = (p) => s.usable.some((u) => u.path === p);
    const argv = ['bwrap', '--bind', s.root, '/'];
    if (has('/proc')) {
        argv.push('--proc', '/proc');
        // The host's /proc/sys and friends, read-only: the fresh /proc shows the same kernel knobs
        // (core_pattern, sysctls), and bwrap cannot remount a part of it read-only in place.
        for (const p of s.tools.proc.readOnly)
            argv.push('--ro-bind', p, p);
        for (const p of s.tools.proc.maskedFiles)
            argv.push('--dev-bind', '/dev/null', p);
        for (const p of s.tools.proc.maskedDirs)
            argv.push('--tmpfs', p, '--remount-ro', p);
    }
    if (has('/dev'))
        argv.push('--dev', '/dev', '--bind', s.scratch.shm, '/dev/shm');
    // A real /tmp is world-writable and sticky (the scratch dirs are made so): apt's _apt user
    // needs it to check signatures.
    if (has('/tmp'))
        argv.push('--bind', s.scratch.tmp, '/tmp');
    if (has('/run'))
        argv.push('--bind', s.scratch.run, '/run');
    if (has('/usr/sbin/policy-rc.d'))
        argv.push('--ro-bind', s.policyRcD, '/usr/sbin/policy-rc.d');
    if (s.network && has('/etc/resolv.conf'))
        argv.push('--ro-bind', '/etc/resolv.conf', '/etc/resolv.conf');
    argv.push(...COMMON, '--hostname', 'sqsh-layers');
    if (!s.network)
        argv.push('--unshare-net');
    argv.push(...caps(RUN_CAPS), ...SECCOMP);
    argv.push('--chdir', '/', ...(s.command ?? ['/bin/sh', '-e', '-c', s.script]));
    return withSeccomp(s.tools, argv);
}
/** What a tool sandbox needs in the root: HOST_DIR, where host files stay visible after the chroot. */
export function toolSandboxMountpoints() {
    return [{ path: HOST_DIR, type: 'dir' }];
}
/** The tool sandbox (without the seccomp wrapper, so that it can be piped into). */
export function toolSandboxArgv(s) {
    if (!s.tools.enterRoot)
        throw new Error('bug: toolSandboxArgv without enter-root.so');
    const inRoot = `${ROOT_DIR}${HOST_DIR}`;
    const argv = [
        'bwrap',
        // Before the chroot `/` is bwrap's empty tmpfs with only the host's tool directories in it:
        // no /etc, so the loader finds no ld.so.preload; --inhibit-cache, so no ld.so.cache.
        ...s.tools.binds(HOST_DIR),
        '--ro-bind', s.tools.enterRoot, `${HOST_DIR}/enter-root.so`,
        // The layer root, nodev and nosuid like every bwrap bind.
        '--bind', s.root, ROOT_DIR,
        // After the chroot the same host paths are where the tool's late library loads look.
        '--tmpfs', inRoot, ...s.tools.binds(inRoot), '--dir', `${inRoot}/tmp`,
    ];
    for (const b of s.extraBinds ?? [])
        argv.push('--ro-bind', b.host, `${inRoot}/${b.name}`);
    argv.push(...COMMON, '--unshare-net', ...caps(TOOL_CAPS), ...SECCOMP, '--clearenv');
    const env = { ...s.env, SQSH_LAYERS_ROOT: ROOT_DIR, SQSH_LAYERS_CHDIR: s.chdir };
    for (const [k, v] of Object.entries(env))
        argv.push('--setenv', k, v);
    argv.push('--chdir', '/', ...s.tool.loader, '--preload', `${HOST_DIR}/enter-root.so`, s.tool.program, ...s.args);
    return argv;
}
/** A host program reading stdin and writing stdout, with nothing but the host's tool directories. */
export function filterSandboxArgv(tools, tool, args) {
    return [
        'bwrap', ...tools.binds(HOST_DIR), ...COMMON, '--unshare-net', '--cap-drop', 'ALL', ...SECCOMP, '--clearenv',
        '--setenv', 'LC_ALL', 'C', '--chdir', '/', ...tool.loader, tool.program, ...args,
    ];
}
/** The environment of a tool sandbox: no locale or time zone files to read, temp files in HOST_DIR. */
export const TOOL_ENV = { PATH: `${HOST_DIR}/usr/bin:${HOST_DIR}/usr/sbin`, TMPDIR: `${HOST_DIR}/tmp`, LC_ALL: 'C', TZ: 'UTC0', HOME: '/' };
//# sourceMappingURL=sandbox.js.map