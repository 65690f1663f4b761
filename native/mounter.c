/*
 * mounter: mount(2) and umount2(2) on request, for sqsh-layers (src/mount/mounter.ts).
 *
 * A layer's build mounts a tmpfs and an overlay and unmounts both: four runs of mount(8) or
 * umount(8), each a fork of the tool's node process (whose page tables make a fork cost
 * 10-20 ms) and a start of util-linux. This process is started once per run and makes the
 * same system calls mount(8) would make for those mounts (no loop devices, no fstab, no
 * helpers: those still go to mount(8)).
 *
 * Requests come on stdin, fields ending in NUL, one answer line per request on stdout:
 *   "M" cwd fstype source target flags data   chdir(cwd), mount(source, target, fstype, flags, data)
 *   "U" target flags                          umount2(target, flags)
 * The answer is the errno as a decimal number, 0 for success. End of input ends the process.
 * Relative paths in an overlay's options are resolved by the kernel against the mounter's cwd;
 * between requests it is /, so that it keeps no mount busy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define MAX_FIELDS 7

int main(void) {
    if (chdir("/") != 0) return 1;
    char *field[MAX_FIELDS] = {0};
    size_t cap[MAX_FIELDS] = {0};
    for (;;) {
        ssize_t n0 = getdelim(&field[0], &cap[0], '\0', stdin);
        if (n0 < 0) return 0;
        if (field[0][n0 - 1] != '\0') {
            fprintf(stderr, "mounter: request cut short\n");
            return 2;
        }
        int count;
        if (strcmp(field[0], "M") == 0) count = 7;
        else if (strcmp(field[0], "U") == 0) count = 3;
        else {
            fprintf(stderr, "mounter: unknown request %.20s\n", field[0]);
            return 2;
        }
        for (int i = 1; i < count; i++) {
            ssize_t n = getdelim(&field[i], &cap[i], '\0', stdin);
            /* Every field ends in its NUL, the last one too: a request cut short is not made. */
            if (n < 1 || field[i][n - 1] != '\0') {
                fprintf(stderr, "mounter: request cut short\n");
                return 2;
            }
        }
        int err = 0;
        if (count == 7) {
            unsigned long flags = strtoul(field[5], NULL, 10);
            if (chdir(field[1]) != 0) err = errno;
            else if (mount(field[3], field[4], field[2], flags, field[6]) != 0) err = errno;
            /* A working directory inside a mount would keep it busy. */
            if (chdir("/") != 0 && err == 0) err = errno;
        } else {
            int flags = (int)strtol(field[2], NULL, 10);
            if (umount2(field[1], flags) != 0) err = errno;
        }
        if (printf("%d\n", err) < 0 || fflush(stdout) != 0) return 1;
    }
}
