/*
 * tree-ops: the walks of a layer's upper dir that touch every entry, at the speed of the
 * system calls, for sqsh-layers (src/layer/tree-ops.ts). In node each entry costs several
 * times its system calls (objects for every stat, paths as Buffers, garbage collection,
 * messages to the file threads); a full image restored over its parent is 15k-130k entries:
 * pruning the seed's server image took 2.4 s of CPU in node, 0.6 s here.
 *
 * Requests come on stdin, fields ending in NUL; one answer line per request on stdout:
 *   "P" upper lower epoch SCOPE scope...          prune-identical (layer/prune.ts has the rules)
 *        -> "ok FILES DIRS BYTES"
 *   "S" upper epoch                              settle mtimes to what a pack records
 *        -> "ok ENTRIES"
 *   "T" upper clock-since-ms                     the newest mtime the content brought
 *        -> "ok NEWEST ENTRIES" then " -", or each unsettled entry's path in hex
 *           (tree-ops.ts: contentTimes says what these are)
 *   "X" upper                                    strip the overlay xattrs that are not portable
 *        -> "ok STRIPPED ENTRIES" then the in-root path of each entry holding a redirect or
 *           metacopy, in hex
 * or "error MESSAGE" (the message's bytes below 0x20 written as \xNN; other bytes as they
 * are: names are bytes). epoch: decimal seconds, or empty for none. SCOPE is "none", or the
 * count of the in-root paths that follow ("/etc/x", every ancestor listed too): prune then
 * looks only at those directories, and at no file.
 * End of input ends the process; it also ends when its parent does.
 *
 * Every name is taken relative to its directory's descriptor, opened without following a
 * symlink: nothing is ever read or changed outside the two trees, whatever they hold. The
 * calls that take only paths (the xattr calls) get the full path, whose directories were all
 * opened that way. One thread: a second one, comparing the files of a directory beside the
 * first, made it slower (both wait on the directory's lock, and on each other), and a build
 * prunes while mksquashfs packs its parent on every CPU.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define XLIST_MAX 65536
#define XVALUE_MAX 65536
/* Paths as the kernel takes them (the xattr calls take only paths). */
#define PATH_CAP PATH_MAX
#define OVERLAY_PREFIX "trusted.overlay."

enum fate { KEPT, GONE, PENDING, FAILED };

/* ---------------------------------------------------------------- errors */

static char error_text[PATH_CAP + 256];
static int failed;

/* Records the first failure of the request (later ones are consequences). */
static void fail(int err, const char *call, const char *dir, const char *name) {
    if (!failed) {
        snprintf(error_text, sizeof error_text, "%s %s%s%s: %s", call, dir, name ? "/" : "", name ? name : "", strerror(err));
        failed = 1;
    }
}

static void fail_text(const char *fmt, ...) {
    if (!failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error_text, sizeof error_text, fmt, ap);
        va_end(ap);
        failed = 1;
    }
}

/* ---------------------------------------------------------------- small tools */

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) {
        fputs("tree-ops: out of memory\n", stderr);
        exit(3);
    }
    return p;
}

static void *xmalloc(size_t n) {
    return xrealloc(NULL, n);
}

/* An array of `count` items of `size` with room for one more: doubled when full (from `first`). */
static void *grown(void *items, size_t count, size_t *cap, size_t size, size_t first) {
    if (count < *cap) return items;
    *cap = *cap ? *cap * 2 : first;
    return xrealloc(items, *cap * size);
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* "dir/name" into buf; false when it is longer than a path can be. */
static int fits(char *buf, const char *dir, const char *name) {
    int n = snprintf(buf, PATH_CAP, "%s/%s", dir, name);
    return n >= 0 && n < PATH_CAP;
}

/* fits, or the request fails. */
static int join(char *buf, const char *dir, const char *name) {
    if (fits(buf, dir, name)) return 1;
    fail(ENAMETOOLONG, "path", dir, name);
    return 0;
}

static int is_whiteout(const struct stat *st) {
    return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

/* ---------------------------------------------------------------- buffers */

struct buffers {
    char *a, *b;              /* file content, CHUNK each */
    char *la, *lb;            /* xattr name lists */
    char *va, *vb;            /* xattr values */
    const char **pu, **pl;    /* portable names, sorted */
    char path_a[PATH_CAP], path_b[PATH_CAP];
};

static struct buffers *buffers_new(void) {
    struct buffers *b = xmalloc(sizeof *b);
    b->a = xmalloc(CHUNK);
    b->b = xmalloc(CHUNK);
    b->la = xmalloc(XLIST_MAX);
    b->lb = xmalloc(XLIST_MAX);
    b->va = xmalloc(XVALUE_MAX);
    b->vb = xmalloc(XVALUE_MAX);
    b->pu = xmalloc(XLIST_MAX / 2 * sizeof *b->pu);
    b->pl = xmalloc(XLIST_MAX / 2 * sizeof *b->pl);
    return b;
}

/* ---------------------------------------------------------------- xattrs */

/* The names of the xattrs of `path` (a symlink itself) into buf; length, or -1 (request failed). */
static ssize_t list_names(const char *path, char *buf) {
    ssize_t n = llistxattr(path, buf, XLIST_MAX);
    if (n >= 0) return n;
    if (errno == ENOTSUP) return 0;
    fail(errno, "listing the xattrs of", path, NULL);
    return -1;
}

static int has_name(const char *list, ssize_t n, const char *name) {
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
        if (strcmp(list + i, name) == 0) return 1;
    return 0;
}

static int is_private(const char *name) {
    return strncmp(name, OVERLAY_PREFIX, sizeof OVERLAY_PREFIX - 1) == 0;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The portable names (not trusted.overlay.*) of a list, sorted; their count. */
static size_t portable_names(char *list, ssize_t n, const char **out, size_t cap) {
    size_t k = 0;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
        if (!is_private(list + i) && k < cap) out[k++] = list + i;
    qsort(out, k, sizeof *out, cmp_str);
    return k;
}

/* A value of `name`: its length, -2 when it is gone since it was listed, -1 on failure. */
static ssize_t value_of(const char *path, const char *name, char *buf) {
    ssize_t n = lgetxattr(path, name, buf, XVALUE_MAX);
    if (n >= 0) return n;
    if (errno == ENODATA) return -2;
    char what[XATTR_NAME_MAX + 32];
    snprintf(what, sizeof what, "reading xattr %s of", name);
    fail(errno, what, path, NULL);
    return -1;
}

/*
 * Whether the two entries have the same xattrs, overlay-private ones aside; never when the
 * upper one holds a redirect or metacopy. 1 same, 0 not, -1 failed. A name listed whose
 * value is gone since (another name of a hardlink lost it) counts as absent.
 */
static int same_xattrs(struct buffers *b, const char *upper, const char *lower) {
    ssize_t nu = list_names(upper, b->la);
    if (nu < 0) return -1;
    if (has_name(b->la, nu, OVERLAY_PREFIX "redirect") || has_name(b->la, nu, OVERLAY_PREFIX "metacopy")) return 0;
    ssize_t nl = list_names(lower, b->lb);
    if (nl < 0) return -1;
    const char **pu = b->pu, **pl = b->pl;
    size_t ku = portable_names(b->la, nu, pu, XLIST_MAX / 2);
    size_t kl = portable_names(b->lb, nl, pl, XLIST_MAX / 2);
    if (ku == 0 && kl == 0) return 1;
    /* Walk both sorted lists, skipping names whose value is gone. */
    size_t i = 0, j = 0;
    for (;;) {
        ssize_t vu = -2, vl = -2;
        while (i < ku && (vu = value_of(upper, pu[i], b->va)) == -2) i++;
        if (vu == -1) return -1;
        while (j < kl && (vl = value_of(lower, pl[j], b->vb)) == -2) j++;
        if (vl == -1) return -1;
        if (i == ku || j == kl) return i == ku && j == kl;
        if (strcmp(pu[i], pl[j]) != 0 || vu != vl || memcmp(b->va, b->vb, (size_t)vu) != 0) return 0;
        i++;
        j++;
    }
}

/* ---------------------------------------------------------------- content */

static ssize_t read_full(int fd, char *buf, size_t want) {
    size_t n = 0;
    while (n < want) {
        ssize_t r = read(fd, buf + n, want - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

/*
 * Whether the regular files `name` of both directories hold the same `size` bytes (both had
 * that size when looked at: reading that much settles it). 1, 0, or -1 failed.
 */
static int same_bytes(struct buffers *b, int du, int dl, const char *udir, const char *ldir, const char *name, off_t size) {
    int fa = openat(du, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fa < 0) {
        fail(errno, "open", udir, name);
        return -1;
    }
    int fb = openat(dl, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fb < 0) {
        fail(errno, "open", ldir, name);
        close(fa);
        return -1;
    }
    int same = 1;
    for (off_t left = size; left > 0 && same == 1;) {
        size_t want = left < CHUNK ? (size_t)left : CHUNK;
        ssize_t na = read_full(fa, b->a, want);
        if (na < 0) {
            fail(errno, "read", udir, name);
            same = -1;
            break;
        }
        ssize_t nb = read_full(fb, b->b, want);
        if (nb < 0) {
            fail(errno, "read", ldir, name);
            same = -1;
            break;
        }
        if ((size_t)na != want || (size_t)nb != want || memcmp(b->a, b->b, want) != 0) same = 0;
        left -= (off_t)want;
    }
    close(fa);
    close(fb);
    return same;
}

/* Whether two symlinks `name` point at the same bytes. 1, 0, or -1 failed. */
static int same_link(struct buffers *b, int du, int dl, const char *udir, const char *ldir, const char *name) {
    ssize_t na = readlinkat(du, name, b->a, PATH_CAP);
    if (na < 0) {
        fail(errno, "readlink", udir, name);
        return -1;
    }
    ssize_t nb = readlinkat(dl, name, b->b, PATH_CAP);
    if (nb < 0) {
        fail(errno, "readlink", ldir, name);
        return -1;
    }
    return na == nb && memcmp(b->a, b->b, (size_t)na) == 0;
}

/* ---------------------------------------------------------------- prune */

/* The mtime a pack records for a time of the upper: whole seconds, clamped to the epoch. */
struct epoch {
    int set;
    long long value;
};

static long long packed_mtime(const struct stat *st, struct epoch e) {
    long long s = (long long)st->st_mtim.tv_sec;
    return e.set && s > e.value ? e.value : s;
}

/* prune.ts: type and mode, owner, mtime as packed, size (not of directories), device numbers. */
static int same_meta(const struct stat *a, const struct stat *b, struct epoch e) {
    return a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
           packed_mtime(a, e) == (long long)b->st_mtim.tv_sec && (S_ISDIR(a->st_mode) || a->st_size == b->st_size) &&
           ((!S_ISCHR(a->st_mode) && !S_ISBLK(a->st_mode)) || a->st_rdev == b->st_rdev) && !is_whiteout(b);
}

/* A name of an upper inode with more than one link: decided once all are seen. */
struct linked {
    char *path;
    dev_t dev;
    ino_t ino;
    nlink_t nlink;
    off_t size;
    int candidate;
    dev_t lower_dev;
    ino_t lower_ino;
};

/* A directory that waits for link groups below it, with the times it keeps. */
struct pending {
    char *path;
    struct timespec atime, mtime;
    int candidate, keeps_others;
};

struct prune {
    struct epoch epoch;
    /* Whether pruning is limited to the scope: its in-root paths, sorted (maybe none). */
    int scoped;
    char **scope;
    size_t scope_count;
    size_t root_len;
    unsigned long long files, dirs, bytes;
    struct linked *links;
    size_t link_count, link_cap;
    struct pending *pending;
    size_t pending_count, pending_cap;
};

static void add_link(struct prune *w, struct linked l) {
    w->links = grown(w->links, w->link_count, &w->link_cap, sizeof *w->links, 64);
    w->links[w->link_count++] = l;
}

static void add_pending(struct prune *w, struct pending p) {
    w->pending = grown(w->pending, w->pending_count, &w->pending_cap, sizeof *w->pending, 16);
    w->pending[w->pending_count++] = p;
}

/* A directory of the upper and its lower counterpart, whose files are being decided. */
struct dir_pair {
    struct prune *w;
    int du, dl;
    const char *udir, *ldir;
};

/* One non-directory entry of the upper against its lower counterpart (prune.ts: leaves). */
static enum fate leaf(struct dir_pair *j, const char *name, struct buffers *b) {
    struct stat st, lst = {0};
    if (fstatat(j->du, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        fail(errno, "lstat", j->udir, name);
        return FAILED;
    }
    /* Whiteouts are what the layer deletes. */
    if (is_whiteout(&st)) return KEPT;
    if (S_ISDIR(st.st_mode)) {
        fail_text("%s/%s: became a directory while it was being pruned", j->udir, name);
        return FAILED;
    }
    int identical = 0;
    if (fstatat(j->dl, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && same_meta(&st, &lst, j->w->epoch)) {
        int same = 1;
        if (S_ISLNK(st.st_mode)) same = same_link(b, j->du, j->dl, j->udir, j->ldir, name);
        else if (S_ISREG(st.st_mode) && st.st_size > 0) same = same_bytes(b, j->du, j->dl, j->udir, j->ldir, name, st.st_size);
        if (same < 0) return FAILED;
        if (same) {
            /* An entry deeper than a path can reach is kept, as were those below it. */
            if (!fits(b->path_a, j->udir, name) || !fits(b->path_b, j->ldir, name)) return KEPT;
            same = same_xattrs(b, b->path_a, b->path_b);
            if (same < 0) return FAILED;
        }
        identical = same;
    }
    if (st.st_nlink > 1) {
        /* All names of an inode go, or none: decided once the walk has seen them all (one
         * not recorded here keeps its group). */
        if (!fits(b->path_a, j->udir, name)) return KEPT;
        add_link(j->w, (struct linked){xstrdup(b->path_a), st.st_dev, st.st_ino, st.st_nlink, st.st_size, identical, lst.st_dev, lst.st_ino});
        return PENDING;
    }
    if (!identical) return KEPT;
    if (unlinkat(j->du, name, 0) != 0) {
        fail(errno, "unlink", j->udir, name);
        return FAILED;
    }
    j->w->files++;
    j->w->bytes += (unsigned long long)st.st_size;
    return GONE;
}

static struct buffers *buffers;

static int in_scope(struct prune *w, const char *rel) {
    return w->scope_count > 0 && bsearch(&rel, w->scope, w->scope_count, sizeof *w->scope, cmp_str) != NULL;
}

struct entry {
    char *name;
    int dir;
};

/* The entries of a directory (not . and ..); NULL and the request failed on error. */
static struct entry *read_entries(int fd, const char *path, size_t *count) {
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
        fail(errno, "dup", path, NULL);
        return NULL;
    }
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        fail(errno, "opendir", path, NULL);
        close(dup_fd);
        return NULL;
    }
    rewinddir(d);
    size_t cap = 16, n = 0;
    struct entry *out = xmalloc(cap * sizeof *out);
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno != 0) {
                fail(errno, "readdir", path, NULL);
                for (size_t i = 0; i < n; i++) free(out[i].name);
                free(out);
                closedir(d);
                return NULL;
            }
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        int dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                fail(errno, "lstat", path, e->d_name);
                for (size_t i = 0; i < n; i++) free(out[i].name);
                free(out);
                closedir(d);
                return NULL;
            }
            dir = S_ISDIR(st.st_mode);
        }
        out = grown(out, n, &cap, sizeof *out, 16);
        out[n].name = xstrdup(e->d_name);
        out[n].dir = dir;
        n++;
    }
    closedir(d);
    *count = n;
    return out;
}

static void free_entries(struct entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) free(e[i].name);
    free(e);
}

/*
 * A directory of the upper (du, at udir) and its lower counterpart (dl, at ldir): its files
 * decided, its subdirectories walked, then itself removed when it is identical and empty
 * (through its parent: pdu and name; the root never goes). Owns du and dl.
 */
static enum fate scan_dir(struct prune *w, int pdu, const char *name, int du, int dl, const char *udir, const char *ldir) {
    enum fate result = FAILED;
    struct entry *entries = NULL;
    size_t count = 0;
    struct stat st;
    if (fstat(du, &st) != 0) {
        fail(errno, "lstat", udir, NULL);
        goto out;
    }
    /* An opaque directory is what the layer changes, with everything in it. */
    ssize_t nu = list_names(udir, buffers->la);
    if (nu < 0) goto out;
    if (has_name(buffers->la, nu, OVERLAY_PREFIX "opaque")) {
        result = KEPT;
        goto out;
    }
    entries = read_entries(du, udir, &count);
    if (!entries) goto out;

    int keeps_others = 0, removed_some = 0, waits = 0;
    struct dir_pair pair = {.w = w, .du = du, .dl = dl, .udir = udir, .ldir = ldir};
    for (size_t i = 0; i < count && !failed; i++) {
        if (entries[i].dir) continue;
        /* Under a scope, only directories are pruned. */
        enum fate f = w->scoped ? KEPT : leaf(&pair, entries[i].name, buffers);
        if (f == GONE) removed_some = 1;
        else if (f == PENDING) waits = 1;
        else if (f == KEPT) keeps_others = 1;
    }
    if (failed) goto out;

    char *cu = xmalloc(PATH_CAP), *cl = xmalloc(PATH_CAP);
    for (size_t i = 0; i < count && !failed; i++) {
        if (!entries[i].dir) continue;
        const char *child = entries[i].name;
        enum fate f = KEPT;
        /*
         * Outside the scope, or deeper than a path can reach (the xattr calls take paths): a
         * child that keeps its directory, never pruned itself.
         */
        if (!fits(cu, udir, child) || !fits(cl, ldir, child) || (w->scoped && !in_scope(w, cu + w->root_len))) {
            keeps_others = 1;
            continue;
        }
        /*
         * Below a directory whose lower counterpart is no real directory (a symlink, say, to
         * anywhere on the host), nothing is compared: O_NOFOLLOW refuses to go through it.
         */
        int cdl = openat(dl, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cdl < 0 && errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
            fail(errno, "open", ldir, child);
            break;
        }
        if (cdl >= 0) {
            int cdu = openat(du, child, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cdu < 0) {
                fail(errno, "open", udir, child);
                close(cdl);
                break;
            }
            f = scan_dir(w, du, child, cdu, cdl, cu, cl);
        }
        if (f == GONE) removed_some = 1;
        else if (f == PENDING) waits = 1;
        else if (f == KEPT) keeps_others = 1;
    }
    free(cu);
    free(cl);
    if (failed) goto out;

    int candidate = 0;
    if (pdu >= 0) {
        struct stat lst;
        if (fstat(dl, &lst) != 0) {
            fail(errno, "lstat", ldir, NULL);
            goto out;
        }
        if (same_meta(&st, &lst, w->epoch)) {
            int same = same_xattrs(buffers, udir, ldir);
            if (same < 0) goto out;
            candidate = same;
        }
    }
    if (waits) {
        add_pending(w, (struct pending){xstrdup(udir), st.st_atim, st.st_mtim, candidate, keeps_others});
        result = PENDING;
        goto out;
    }
    if (candidate && !keeps_others) {
        if (unlinkat(pdu, name, AT_REMOVEDIR) == 0) {
            w->dirs++;
            result = GONE;
            goto out;
        }
        if (errno != ENOTEMPTY && errno != EEXIST) {
            fail(errno, "rmdir", udir, NULL);
            goto out;
        }
    }
    /* Removing entries touched the directory's times; it keeps the ones the steps gave it. */
    if (removed_some) {
        struct timespec times[2] = {st.st_atim, st.st_mtim};
        if (futimens(du, times) != 0) {
            fail(errno, "utimes", udir, NULL);
            goto out;
        }
    }
    result = KEPT;
out:
    if (entries) free_entries(entries, count);
    close(du);
    close(dl);
    return result;
}

static int cmp_link(const void *x, const void *y) {
    const struct linked *a = x, *b = y;
    if (a->dev != b->dev) return a->dev < b->dev ? -1 : 1;
    if (a->ino != b->ino) return a->ino < b->ino ? -1 : 1;
    return 0;
}

/* Link groups, then the directories that waited for them (children first, as walked out of). */
static int settle_pending(struct prune *w) {
    qsort(w->links, w->link_count, sizeof *w->links, cmp_link);
    for (size_t i = 0; i < w->link_count;) {
        size_t end = i;
        while (end < w->link_count && w->links[end].dev == w->links[i].dev && w->links[end].ino == w->links[i].ino) end++;
        int together = (nlink_t)(end - i) == w->links[i].nlink;
        for (size_t k = i; k < end && together; k++)
            together = w->links[k].candidate && w->links[k].lower_dev == w->links[i].lower_dev && w->links[k].lower_ino == w->links[i].lower_ino;
        for (size_t k = i; k < end && together; k++) {
            if (unlink(w->links[k].path) != 0) {
                fail(errno, "unlink", w->links[k].path, NULL);
                return 0;
            }
            w->files++;
            w->bytes += (unsigned long long)w->links[k].size;
        }
        i = end;
    }
    for (size_t i = 0; i < w->pending_count; i++) {
        struct pending *d = &w->pending[i];
        if (d->candidate && !d->keeps_others) {
            if (rmdir(d->path) == 0) {
                w->dirs++;
                continue;
            }
            if (errno != ENOTEMPTY && errno != EEXIST) {
                fail(errno, "rmdir", d->path, NULL);
                return 0;
            }
        }
        struct timespec times[2] = {d->atime, d->mtime};
        if (utimensat(AT_FDCWD, d->path, times, AT_SYMLINK_NOFOLLOW) != 0) {
            fail(errno, "utimes", d->path, NULL);
            return 0;
        }
    }
    return 1;
}

static int parse_epoch(const char *text, struct epoch *e) {
    e->set = 0;
    if (*text == '\0') return 1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    e->set = 1;
    e->value = v;
    return 1;
}

static void prune_request(char **field, size_t scope_count, char **scope) {
    /* Sorted through a copy of the pointers: the buffers stay with their sizes (main). */
    struct prune w = {.scoped = strcmp(field[4], "none") != 0, .scope = xmalloc(scope_count * sizeof *scope), .scope_count = scope_count};
    if (scope_count > 0) memcpy(w.scope, scope, scope_count * sizeof *scope);
    const char *upper = field[1], *lower = field[2];
    w.root_len = strlen(upper);
    if (!parse_epoch(field[3], &w.epoch)) {
        fail_text("bad epoch %s", field[3]);
        free(w.scope);
        return;
    }
    if (w.scope_count > 0) qsort(w.scope, w.scope_count, sizeof *w.scope, cmp_str);
    int du = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (du < 0) {
        fail(errno, "open", upper, NULL);
        free(w.scope);
        return;
    }
    /* A lower view that is no directory (not even there is an error) shows nothing to prune against. */
    int dl = open(lower, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dl < 0) {
        close(du);
        if (errno != ENOTDIR && errno != ELOOP) fail(errno, "open", lower, NULL);
        else printf("ok 0 0 0\n");
        free(w.scope);
        return;
    }
    enum fate f = scan_dir(&w, -1, NULL, du, dl, upper, lower);
    if (f != FAILED && w.pending_count + w.link_count > 0) settle_pending(&w);
    for (size_t i = 0; i < w.link_count; i++) free(w.links[i].path);
    for (size_t i = 0; i < w.pending_count; i++) free(w.pending[i].path);
    free(w.links);
    free(w.pending);
    free(w.scope);
    if (!failed) printf("ok %llu %llu %llu\n", w.files, w.dirs, w.bytes);
}

/* ---------------------------------------------------------------- whole-tree walks */

/*
 * What a walk does with one entry: `fd` is the directory it is in (AT_FDCWD for the root),
 * `name` its name there, `path` its full path. *is_dir says whether it is a directory to
 * walk (as the directory listing said: a visit that looks may say better). 0: the request failed.
 */
typedef int (*visit_fn)(void *ctx, int fd, const char *name, const char *path, int *is_dir);

/* The entries below the directory fd (at path), depth first, each before what it holds; owns fd. */
static int walk_below(int fd, const char *path, visit_fn visit, void *ctx) {
    size_t count = 0;
    struct entry *entries = read_entries(fd, path, &count);
    int ok = entries != NULL;
    char *child = xmalloc(PATH_CAP);
    for (size_t i = 0; ok && i < count; i++) {
        int is_dir = entries[i].dir;
        ok = join(child, path, entries[i].name) && visit(ctx, fd, entries[i].name, child, &is_dir);
        if (!ok || !is_dir) continue;
        int cfd = openat(fd, entries[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) {
            fail(errno, "open", child, NULL);
            ok = 0;
        } else {
            ok = walk_below(cfd, child, visit, ctx);
        }
    }
    free(child);
    if (entries) free_entries(entries, count);
    close(fd);
    return ok;
}

/* The tree at `root` (a directory): the root, then everything below it. */
static int walk_tree(const char *root, visit_fn visit, void *ctx) {
    int is_dir = 1;
    if (!visit(ctx, AT_FDCWD, root, root, &is_dir)) return 0;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        fail(errno, "open", root, NULL);
        return 0;
    }
    return walk_below(fd, root, visit, ctx);
}

/* ---------------------------------------------------------------- settle */

/* squashfs's unsigned 32 bits of whole seconds, clamped to the epoch (finalize.ts: packedSeconds). */
static long long packed_seconds(const struct stat *st, struct epoch e) {
    long long s = packed_mtime(st, e);
    const long long m = 4294967296LL;
    return ((s % m) + m) % m;
}

struct settle {
    struct epoch epoch;
    unsigned long long entries;
};

/* Gives an entry the mtime its pack records; its atime stays. */
static int settle_visit(void *ctx, int fd, const char *name, const char *path, int *is_dir) {
    struct settle *x = ctx;
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        fail(errno, "lstat", path, NULL);
        return 0;
    }
    x->entries++;
    *is_dir = S_ISDIR(st.st_mode);
    long long sec = packed_seconds(&st, x->epoch);
    if (sec == (long long)st.st_mtim.tv_sec && st.st_mtim.tv_nsec == 0) return 1;
    struct timespec times[2] = {{0, UTIME_OMIT}, {(time_t)sec, 0}};
    if (utimensat(fd, name, times, AT_SYMLINK_NOFOLLOW) != 0) {
        fail(errno, "utimes", path, NULL);
        return 0;
    }
    return 1;
}

static void settle_request(char **field) {
    struct settle x = {.entries = 0};
    if (!parse_epoch(field[2], &x.epoch)) {
        fail_text("bad epoch %s", field[2]);
        return;
    }
    if (walk_tree(field[1], settle_visit, &x)) printf("ok %llu\n", x.entries);
}

/* ---------------------------------------------------------------- content times */

/* At most this many unsettled entries are listed (finalize.ts: FinalizeStats.unsettled). */
#define UNSETTLED_LISTED 4096

struct times {
    long long clock_since_ms;
    long long newest;
    unsigned long long entries;
    /* Entries whose mtime is not yet what the pack records; too_many once past the limit. */
    char **unsettled;
    size_t unsettled_count;
    int too_many;
};

/* One entry of a content-times walk (tree-ops.ts: contentTimes). */
static int times_visit(void *ctx, int fd, const char *name, const char *path, int *is_dir) {
    struct times *t = ctx;
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        fail(errno, "lstat", path, NULL);
        return 0;
    }
    *is_dir = S_ISDIR(st.st_mode);
    t->entries++;
    long long ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    /* Milliseconds as node's BigInt division gives them (towards zero). */
    int before = ns / 1000000LL < t->clock_since_ms;
    if (before && (long long)st.st_mtim.tv_sec > t->newest) t->newest = (long long)st.st_mtim.tv_sec;
    int settled = before && st.st_mtim.tv_nsec == 0 && st.st_mtim.tv_sec >= 0 && (long long)st.st_mtim.tv_sec < 4294967296LL;
    if (settled || t->too_many) return 1;
    if (t->unsettled_count == UNSETTLED_LISTED) {
        t->too_many = 1;
        return 1;
    }
    t->unsettled[t->unsettled_count++] = xstrdup(path);
    return 1;
}

/* Lowercase hex of a path: the answer stays one line of ASCII whatever the bytes. */
static void print_hex(const char *p) {
    for (const unsigned char *c = (const unsigned char *)p; *c; c++) printf("%02x", *c);
}

/* "T" upper clock-since-ms: "ok NEWEST ENTRIES" then "-" (too many) or each unsettled path in hex. */
static void times_request(char **field) {
    struct times t = {.newest = 0};
    char *end;
    errno = 0;
    t.clock_since_ms = strtoll(field[2], &end, 10);
    if (errno != 0 || end == field[2] || *end != '\0') {
        fail_text("bad time %s", field[2]);
        return;
    }
    t.unsettled = xmalloc(UNSETTLED_LISTED * sizeof *t.unsettled);
    if (walk_tree(field[1], times_visit, &t)) {
        printf("ok %lld %llu", t.newest, t.entries);
        if (t.too_many) fputs(" -", stdout);
        else
            for (size_t i = 0; i < t.unsettled_count; i++) {
                putchar(' ');
                print_hex(t.unsettled[i]);
            }
        putchar('\n');
    }
    for (size_t i = 0; i < t.unsettled_count; i++) free(t.unsettled[i]);
    free(t.unsettled);
}

/* ---------------------------------------------------------------- overlay xattrs */

struct strip {
    size_t root_len;
    unsigned long long stripped, entries;
    /* Entries holding a redirect or metacopy: their in-root paths. */
    char **forbidden;
    size_t forbidden_count, forbidden_cap;
};

/*
 * The overlay xattrs of one entry (finalize.ts: stripOverlayXattrs): redirect and metacopy
 * are noted, opaque=y stays, every other trusted.overlay.* goes. A name gone since it was
 * listed (another name of a hardlink lost it) counts as not stripped.
 */
static int strip_visit(void *ctx, int fd, const char *name, const char *path, int *is_dir) {
    (void)fd, (void)name, (void)is_dir;
    struct strip *x = ctx;
    x->entries++;
    ssize_t n = list_names(path, buffers->la);
    if (n < 0) return 0;
    int noted = 0;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buffers->la + i) + 1) {
        const char *attr = buffers->la + i;
        if (!is_private(attr)) continue;
        if (strcmp(attr, OVERLAY_PREFIX "redirect") == 0 || strcmp(attr, OVERLAY_PREFIX "metacopy") == 0) {
            if (noted) continue;
            noted = 1;
            x->forbidden = grown(x->forbidden, x->forbidden_count, &x->forbidden_cap, sizeof *x->forbidden, 16);
            const char *rel = path + x->root_len;
            size_t len = strlen(rel);
            char *shown = xmalloc(len + 2);
            shown[0] = '/';
            memcpy(shown + 1, rel[0] == '/' ? rel + 1 : rel, len + 1);
            x->forbidden[x->forbidden_count++] = shown;
            continue;
        }
        if (strcmp(attr, OVERLAY_PREFIX "opaque") == 0) {
            ssize_t v = value_of(path, attr, buffers->va);
            if (v == -1) return 0;
            if (v == 1 && buffers->va[0] == 'y') continue;
        }
        if (lremovexattr(path, attr) == 0) x->stripped++;
        else if (errno != ENODATA) {
            char what[XATTR_NAME_MAX + 32];
            snprintf(what, sizeof what, "removing xattr %s of", attr);
            fail(errno, what, path, NULL);
            return 0;
        }
    }
    return 1;
}

/* "X" upper: "ok STRIPPED ENTRIES" then each forbidden entry's in-root path in hex. */
static void strip_request(char **field) {
    struct strip x = {.root_len = strlen(field[1])};
    if (walk_tree(field[1], strip_visit, &x)) {
        printf("ok %llu %llu", x.stripped, x.entries);
        for (size_t i = 0; i < x.forbidden_count; i++) {
            putchar(' ');
            print_hex(x.forbidden[i]);
        }
        putchar('\n');
    }
    for (size_t i = 0; i < x.forbidden_count; i++) free(x.forbidden[i]);
    free(x.forbidden);
}

/* ---------------------------------------------------------------- requests */

/* A request that ends before its last field: the other end is gone or confused. */
static _Noreturn void cut_short(void) {
    fputs("tree-ops: request cut short\n", stderr);
    exit(2);
}

static int read_field(char **buf, size_t *cap) {
    ssize_t n = getdelim(buf, cap, '\0', stdin);
    return n >= 1 && (*buf)[n - 1] == '\0';
}

/* The error line: bytes below 0x20 as \xNN, so that the answer stays one line. */
static void print_error(void) {
    fputs("error ", stdout);
    for (const unsigned char *p = (const unsigned char *)error_text; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) printf("\\x%02x", *p);
        else putchar(*p);
    }
    putchar('\n');
}

int main(void) {
    /* Ends with the process that started it, whatever the state of the pipes. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return 1;
    /* Two descriptors per level of a deep tree are held while it is walked. */
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max > 65536 ? 65536 : lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    buffers = buffers_new();
    char *field[5] = {0};
    size_t cap[5] = {0};
    char **scope = NULL;
    size_t *scope_cap = NULL, scope_slots = 0;
    for (;;) {
        if (!read_field(&field[0], &cap[0])) {
            if (feof(stdin)) return 0;
            cut_short();
        }
        failed = 0;
        error_text[0] = '\0';
        int fields = strcmp(field[0], "P") == 0 ? 4 : strcmp(field[0], "X") == 0 ? 1 : strcmp(field[0], "S") == 0 || strcmp(field[0], "T") == 0 ? 2 : 0;
        if (fields == 0) {
            fprintf(stderr, "tree-ops: unknown request %.20s\n", field[0]);
            return 2;
        }
        for (int i = 1; i <= fields; i++)
            if (!read_field(&field[i], &cap[i])) cut_short();
        if (field[0][0] == 'P') {
            size_t n = 0;
            if (strcmp(field[4], "none") != 0) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(field[4], &end, 10);
                if (errno != 0 || end == field[4] || *end != '\0' || v > 10000000) {
                    fputs("tree-ops: bad scope count\n", stderr);
                    return 2;
                }
                n = (size_t)v;
            }
            if (n > scope_slots) {
                scope = xrealloc(scope, n * sizeof *scope);
                scope_cap = xrealloc(scope_cap, n * sizeof *scope_cap);
                for (size_t i = scope_slots; i < n; i++) {
                    scope[i] = NULL;
                    scope_cap[i] = 0;
                }
                scope_slots = n;
            }
            for (size_t i = 0; i < n; i++)
                if (!read_field(&scope[i], &scope_cap[i])) cut_short();
            prune_request(field, n, scope);
        } else if (field[0][0] == 'S') {
            settle_request(field);
        } else if (field[0][0] == 'T') {
            times_request(field);
        } else {
            strip_request(field);
        }
        if (failed) print_error();
        if (fflush(stdout) != 0) return 1;
    }
}
