/*
 * enter-root.so: how a host tool (tar, restore, rsync) gets a layer root as its `/` without
 * ever loading code from it.
 *
 * The tool sandbox starts the host's dynamic loader with this object preloaded while `/` is
 * still a view that holds only the host's own libraries (no /etc): the loader reads no
 * /etc/ld.so.preload or ld.so.cache of the layer. Before the tool's main() runs, this
 * constructor
 *   1. initializes NSS and iconv from that view (glibc keeps the configuration it loaded
 *      first and does not reload nsswitch.conf after a chroot), so no later lookup reads the
 *      layer's nsswitch.conf or gconv modules;
 *   2. chroots into $SQSH_LAYERS_ROOT and changes to $SQSH_LAYERS_CHDIR there, so absolute
 *      symlinks and `..` in the tree resolve inside the layer root, as in a chroot;
 *   3. drops CAP_SYS_CHROOT and installs a seccomp filter that refuses execve, execveat and
 *      chroot: the tool can never start a program of the layer (whose loader would read the
 *      layer's /etc/ld.so.preload) nor leave the root again.
 * Any failure ends the process before the tool runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <iconv.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "enter-root.so supports x86_64 and aarch64"
#endif

static void fail(const char *what) {
    dprintf(2, "sqsh-layers tool sandbox: %s: %s\n", what, strerror(errno));
    _exit(126);
}

static void drop_chroot_capability(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) fail("capget");
    unsigned int word = CAP_SYS_CHROOT / 32, bit = 1u << (CAP_SYS_CHROOT % 32);
    data[word].effective &= ~bit;
    data[word].permitted &= ~bit;
    data[word].inheritable &= ~bit;
    if (syscall(SYS_capset, &header, data) != 0) fail("capset");
}

static void refuse_exec_and_chroot(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM), /* no 32-bit calls at all */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_chroot, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no_new_privs");
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) fail("seccomp");
}

__attribute__((constructor)) static void enter_root(void) {
    const char *root = getenv("SQSH_LAYERS_ROOT");
    const char *dir = getenv("SQSH_LAYERS_CHDIR");
    if (root == NULL || dir == NULL) {
        errno = EINVAL;
        fail("SQSH_LAYERS_ROOT and SQSH_LAYERS_CHDIR must be set");
    }
    (void)getpwuid(0);
    (void)getgrgid(0);
    iconv_t cd = iconv_open("UTF-8", "ISO-8859-1");
    if (cd != (iconv_t)-1) iconv_close(cd);
    if (chroot(root) != 0) fail("chroot");
    if (chdir(dir) != 0) fail("chdir");
    drop_chroot_capability();
    refuse_exec_and_chroot();
    unsetenv("SQSH_LAYERS_ROOT");
    unsetenv("SQSH_LAYERS_CHDIR");
}
