/* atomic_file.c: temporary-then-rename writes, so no reader and no failed run ever sees a
 * partial results file; a signal that ends the process removes the temporaries in flight; the
 * checks that let `run` refuse an unusable output location before it measures anything; and
 * clr_write_texts, the all-or-none writing of a command's text files (compare, demo). Below
 * every writer and npy.c; depends on util.h and libc only. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Temporaries in flight, for the signal handler. A slot holds a malloc'ed copy of a path;
 * whoever swaps it out of the slot (atomic_exchange) owns it: the writer frees it once the
 * temporary is renamed or removed, the handler only unlinks it (and the process then dies).
 * The handler may run on any thread (PoCL's workers do not block signals) while the writing
 * thread goes on, so:
 *  - the table is never resized and is touched only through atomic loads and exchanges, which
 *    keeps the handler async-signal-safe;
 *  - the writer registers a name before it creates the file, and checks `dying` after: either
 *    the handler's sweep comes after the file exists (and removes it), or the writer sees
 *    `dying` (and removes the file itself). No file is ever created unregistered;
 *  - while a batch is renamed into place, signals are blocked on the renaming thread and a
 *    handler on another thread waits for `committing` to clear: a batch lands whole, never
 *    half new files and half old ones. */
#define TEMP_SLOTS 4096
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "the signal handler needs lock-free atomic pointers");
static _Atomic(char *) temp_slots[TEMP_SLOTS];
static atomic_int dying, committing;
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void remove_temps_and_die(int sig)
{
    int saved = errno;
    atomic_store(&dying, 1);
    while (atomic_load(&committing))
        ; /* renames on the writing thread, a few system calls */
    for (size_t i = 0; i < TEMP_SLOTS; ++i) {
        char *p = atomic_exchange(&temp_slots[i], NULL);
        if (p)
            unlink(p);
    }
    /* Die of the same signal, so the parent sees what happened (status 128 + sig). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
    errno = saved;
}

/* Once, and only for signals still at their default action (nohup's SIG_IGN is kept). */
void clr_install_cleanup_handlers(void)
{
    static int installed;
    if (installed)
        return;
    installed = 1;
    for (size_t i = 0; i < sizeof cleanup_signals / sizeof cleanup_signals[0]; ++i) {
        struct sigaction old, sa;
        if (sigaction(cleanup_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_temps_and_die;
        sigemptyset(&sa.sa_mask);
        for (size_t k = 0; k < sizeof cleanup_signals / sizeof cleanup_signals[0]; ++k)
            sigaddset(&sa.sa_mask, cleanup_signals[k]);
        sigaction(cleanup_signals[i], &sa, NULL);
    }
}

static void begin_commit(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof cleanup_signals / sizeof cleanup_signals[0]; ++i)
        sigaddset(&set, cleanup_signals[i]);
    pthread_sigmask(SIG_BLOCK, &set, old);
    atomic_store(&committing, 1);
}

static void end_commit(const sigset_t *old)
{
    atomic_store(&committing, 0);
    pthread_sigmask(SIG_SETMASK, old, NULL); /* a signal that came meanwhile is handled now */
}

/* Puts a copy of path in a free slot; -1 when memory or the table is exhausted. */
static int register_temp(const char *path)
{
    char *copy = clr_strdup(path);
    if (!copy)
        return -1;
    for (size_t i = 0; i < TEMP_SLOTS; ++i) {
        char *expected = NULL;
        if (atomic_compare_exchange_strong(&temp_slots[i], &expected, copy))
            return 0;
    }
    free(copy);
    return -1;
}

/* Takes path out of the table (unless the handler took it first: then it is its). */
static void unregister_temp(const char *path)
{
    for (size_t i = 0; i < TEMP_SLOTS; ++i) {
        char *p = atomic_load(&temp_slots[i]);
        if (p && strcmp(p, path) == 0) {
            /* Only the writer frees, so p is still readable here. */
            p = atomic_exchange(&temp_slots[i], NULL);
            free(p);
            return;
        }
    }
}

/* rename(temp, path), or unlink(temp) when path is NULL; the temporary leaves the table. A
 * signal in between only finds a name that no longer exists. */
static int finish_temp(const char *temp, const char *path)
{
    int rc = path ? rename(temp, path) : unlink(temp);
    int saved = errno;
    if (rc == 0 || !path)
        unregister_temp(temp);
    errno = saved;
    return rc;
}

/* mkstemp, with the name registered before the file exists: temp ends in XXXXXX, which is
 * replaced. Returns the descriptor, or -1 with errno set. */
static int create_registered(char *temp)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static unsigned long counter;
    size_t len = strlen(temp);
    struct timespec now;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        clock_gettime(CLOCK_REALTIME, &now);
        unsigned long long v = ((unsigned long long)now.tv_nsec << 16) ^ ((unsigned long long)getpid() << 40) ^
                               (unsigned long long)(++counter * 0x9e3779b97f4a7c15ull);
        for (size_t i = len - 6; i < len; ++i, v /= 62)
            temp[i] = digits[v % 62];
        if (register_temp(temp) != 0) {
            errno = ENOMEM;
            return -1;
        }
        int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int saved = errno;
        if (fd >= 0 && atomic_load(&dying)) {
            /* A signal is ending the process; its sweep may have run before the file existed. */
            close(fd);
            unlink(temp);
            unregister_temp(temp);
            errno = EINTR;
            return -1;
        }
        if (fd >= 0)
            return fd;
        unregister_temp(temp);
        errno = saved;
        if (saved != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

static int write_temp(const char *path, const void *bytes, size_t size, char **temp_out, clr_error *err)
{
    size_t len = strlen(path) + 16;
    char *temp = malloc(len);
    if (!temp)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    snprintf(temp, len, "%s.tmpXXXXXX", path);
    clr_install_cleanup_handlers();
    int fd = create_registered(temp);
    int saved = errno;
    if (fd < 0) {
        clr_fail(err, CLR_EUSAGE, "cannot create %s: %s (choose a writable directory with --out)", path,
                 strerror(saved));
        free(temp);
        return err->code;
    }
    const char *p = bytes;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            clr_fail(err, CLR_EUSAGE, "cannot write %s: %s", path, w < 0 ? strerror(errno) : "short write");
            close(fd);
            finish_temp(temp, NULL);
            free(temp);
            return err->code;
        }
        p += w;
        left -= (size_t)w;
    }
    int synced = fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    int saved_errno = errno;
    if (close(fd) != 0 || !synced) {
        clr_fail(err, CLR_EUSAGE, "cannot finish writing %s: %s", path, strerror(synced ? errno : saved_errno));
        finish_temp(temp, NULL);
        free(temp);
        return err->code;
    }
    *temp_out = temp;
    return CLR_OK;
}

int clr_write_file_atomic(const char *path, const void *bytes, size_t size, clr_error *err)
{
    char *temp;
    if (write_temp(path, bytes, size, &temp, err))
        return err->code;
    int rc = CLR_OK;
    sigset_t old;
    begin_commit(&old);
    if (finish_temp(temp, path) != 0) {
        rc = clr_fail(err, CLR_EUSAGE, "cannot write %s: %s", path, strerror(errno));
        finish_temp(temp, NULL);
    }
    end_commit(&old);
    free(temp);
    return rc;
}

int clr_prepare_out_dir(const char *dir, clr_error *err)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path - 32)
        return clr_fail(err, CLR_EUSAGE, "output directory '%s': empty or too long a path", dir);
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; ++i) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return clr_fail(err, CLR_EUSAGE, "cannot create output directory %s: %s (choose another with --out)",
                            path, strerror(errno));
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return clr_fail(err, CLR_EUSAGE, "output path %s is not a directory (choose another with --out)", dir);
    snprintf(path, sizeof path, "%s/.clrepro-probeXXXXXX", dir);
    int fd = create_registered(path);
    if (fd < 0)
        return clr_fail(err, CLR_EUSAGE, "output directory %s is not writable: %s (choose another with --out)",
                        dir, strerror(errno));
    close(fd);
    finish_temp(path, NULL);
    return CLR_OK;
}

/* The longest file name the file system takes in an existing directory (255 where unknown). */
static size_t name_max(const char *existing_dir)
{
    errno = 0;
    long v = pathconf(existing_dir, _PC_NAME_MAX);
    return v > 0 ? (size_t)v : 255;
}

/* Calls fn(prefix, is_last) for each prefix of path ending at a component: "a", "a/b", "a/b/c"
 * for "a/b/c" (and "/a", "/a/b" for "/a/b"); stops at the first non-zero return. */
static int for_each_prefix(const char *path, int (*fn)(const char *prefix, const char *component, size_t clen,
                                                       void *arg), void *arg)
{
    char prefix[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof prefix)
        return -1;
    for (size_t start = 0; start < len;) {
        while (start < len && path[start] == '/')
            ++start;
        size_t end = start;
        while (end < len && path[end] != '/')
            ++end;
        if (end == start)
            break;
        memcpy(prefix, path, end);
        prefix[end] = '\0';
        int rc = fn(prefix, path + start, end - start, arg);
        if (rc)
            return rc;
        start = end;
    }
    return 0;
}

typedef struct dir_walk {
    char existing[PATH_MAX]; /* deepest existing prefix ("." for none) */
    char missing[PATH_MAX];  /* first missing prefix, "" if none */
    char bad[PATH_MAX];      /* a prefix that exists but is not a directory */
    size_t long_component;   /* a component longer than the limit: its length */
    int stat_errno;
} dir_walk;

static int walk_step(const char *prefix, const char *component, size_t clen, void *arg)
{
    dir_walk *w = arg;
    if (clen > name_max(w->existing)) {
        w->long_component = clen;
        snprintf(w->bad, sizeof w->bad, "%.*s", (int)clen, component);
        return 1;
    }
    if (w->missing[0])
        return 0; /* below a missing directory: only lengths can be checked */
    struct stat st;
    if (stat(prefix, &st) != 0) {
        if (errno != ENOENT) {
            w->stat_errno = errno;
            snprintf(w->bad, sizeof w->bad, "%s", prefix);
            return 1;
        }
        snprintf(w->missing, sizeof w->missing, "%s", prefix);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(w->bad, sizeof w->bad, "%s", prefix);
        return 1;
    }
    snprintf(w->existing, sizeof w->existing, "%s", prefix);
    return 0;
}

static int walk_dir(const char *dir, dir_walk *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->existing, sizeof w->existing, "%s", dir[0] == '/' ? "/" : ".");
    return for_each_prefix(dir, walk_step, w);
}

int clr_check_out_dir(const char *dir, size_t longest_name, clr_error *err)
{
    size_t len = strlen(dir);
    /* The temporaries' names are the longest: <name>.tmpXXXXXX. */
    if (len == 0 || len + 1 + longest_name + 10 >= PATH_MAX)
        return clr_fail(err, CLR_EUSAGE,
                        "output directory '%s': the path is too long (%zu bytes with its file names; the limit is %d); "
                        "choose a shorter --out",
                        dir, len + 1 + longest_name + 10, PATH_MAX - 1);
    dir_walk w;
    int rc = walk_dir(dir, &w);
    if (rc < 0)
        return clr_fail(err, CLR_EUSAGE, "output directory '%s': the path is too long; choose a shorter --out", dir);
    if (w.long_component)
        return clr_fail(err, CLR_EUSAGE,
                        "output directory '%s': the component '%s' is %zu bytes, longer than the file system allows "
                        "(%zu); choose a shorter --out",
                        dir, w.bad, w.long_component, name_max(w.existing));
    if (w.stat_errno)
        return clr_fail(err, CLR_EUSAGE, "output directory '%s': cannot look at %s: %s (choose another with --out)",
                        dir, w.bad, strerror(w.stat_errno));
    if (w.bad[0])
        return clr_fail(err, CLR_EUSAGE, "output directory '%s': %s exists and is not a directory (choose another "
                        "with --out)", dir, w.bad);
    /* The file names must fit the file system's name limit too. */
    if (longest_name + 10 > name_max(w.existing))
        return clr_fail(err, CLR_EUSAGE, "output directory '%s': a results file name would be %zu bytes, longer than "
                        "the file system allows (%zu)", dir, longest_name + 10, name_max(w.existing));
    /* Prove that the deepest existing directory takes new entries, creating nothing that stays:
     * a probe directory where one must be created, else a probe file. */
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/.clrepro-probeXXXXXX", w.existing);
    if (w.missing[0]) {
        if (!mkdtemp(probe))
            return clr_fail(err, CLR_EUSAGE, "cannot create output directory %s: %s in %s (choose another with --out)",
                            w.missing, strerror(errno), w.existing);
        rmdir(probe);
    } else {
        int fd = create_registered(probe);
        if (fd < 0)
            return clr_fail(err, CLR_EUSAGE, "output directory %s is not writable: %s (choose another with --out)",
                            dir, strerror(errno));
        close(fd);
        finish_temp(probe, NULL);
    }
    return CLR_OK;
}

int clr_check_out_file(const char *path, clr_error *err)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (strlen(path) + 10 >= PATH_MAX)
        return clr_fail(err, CLR_EUSAGE, "cannot write %s: the path is too long (the limit is %d bytes); choose a "
                        "shorter --out", path, PATH_MAX - 1);
    if (strlen(name) + 10 > 255)
        return clr_fail(err, CLR_EUSAGE, "cannot write %s: the file name is too long; choose shorter names", path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return clr_fail(err, CLR_EUSAGE, "cannot write %s: a directory of that name is in the way (remove it or "
                        "choose another --out)", path);
    return CLR_OK;
}

void clr_missing_top(const char *dir, char *top, size_t size)
{
    dir_walk w;
    top[0] = '\0';
    if (walk_dir(dir, &w) == 0 && !w.bad[0] && !w.long_component)
        snprintf(top, size, "%s", w.missing);
}

void clr_remove_empty_dirs(const char *dir, const char *top)
{
    size_t top_len = strlen(top);
    if (!top_len || strncmp(dir, top, top_len) != 0 || (dir[top_len] != '\0' && dir[top_len] != '/'))
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (;;) {
        size_t len = strlen(path);
        while (len > top_len && path[len - 1] == '/')
            path[--len] = '\0';
        if (rmdir(path) != 0 || len <= top_len)
            return;
        char *slash = strrchr(path, '/');
        if (!slash)
            return;
        *slash = '\0';
    }
}

int clr_batch_add(clr_file_batch *b, const char *path, const void *bytes, size_t size, clr_error *err)
{
    if (b->count == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        char **f = realloc(b->final_paths, cap * sizeof *f);
        if (f)
            b->final_paths = f;
        char **t = f ? realloc(b->temp_paths, cap * sizeof *t) : NULL;
        if (t)
            b->temp_paths = t;
        if (!f || !t)
            return clr_fail(err, CLR_EFAIL, "out of host memory");
        b->cap = cap;
    }
    char *temp;
    if (write_temp(path, bytes, size, &temp, err))
        return err->code;
    b->final_paths[b->count] = clr_strdup(path);
    b->temp_paths[b->count] = temp;
    if (!b->final_paths[b->count]) {
        finish_temp(temp, NULL);
        free(temp);
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    b->count++;
    return CLR_OK;
}

int clr_batch_commit(clr_file_batch *b, clr_error *err)
{
    int rc = CLR_OK;
    sigset_t old;
    begin_commit(&old);
    for (size_t i = 0; i < b->count; ++i) {
        if (finish_temp(b->temp_paths[i], b->final_paths[i]) != 0) {
            rc = clr_fail(err, CLR_EUSAGE, "cannot write %s: %s", b->final_paths[i], strerror(errno));
            /* The renamed ones are whole files; remove the rest. */
            for (size_t j = i; j < b->count; ++j)
                finish_temp(b->temp_paths[j], NULL);
            break;
        }
    }
    end_commit(&old);
    for (size_t i = 0; i < b->count; ++i) {
        free(b->final_paths[i]);
        free(b->temp_paths[i]);
    }
    free(b->final_paths);
    free(b->temp_paths);
    memset(b, 0, sizeof *b);
    return rc;
}

void clr_batch_abort(clr_file_batch *b)
{
    for (size_t i = 0; i < b->count; ++i) {
        finish_temp(b->temp_paths[i], NULL);
        free(b->final_paths[i]);
        free(b->temp_paths[i]);
    }
    free(b->final_paths);
    free(b->temp_paths);
    memset(b, 0, sizeof *b);
}

int clr_write_texts(const char *dir, size_t count, char *const paths[], char *const texts[], clr_error *err)
{
    for (size_t i = 0; i < count; ++i)
        if (!texts[i])
            return clr_fail(err, CLR_EFAIL, "out of host memory");
    char top[4096];
    clr_missing_top(dir, top, sizeof top);
    int rc = clr_prepare_out_dir(dir, err);
    clr_file_batch batch = {0};
    for (size_t i = 0; i < count && rc == CLR_OK; ++i)
        rc = clr_batch_add(&batch, paths[i], texts[i], strlen(texts[i]), err);
    if (rc == CLR_OK)
        rc = clr_batch_commit(&batch, err);
    else
        clr_batch_abort(&batch);
    if (rc != CLR_OK && top[0])
        clr_remove_empty_dirs(dir, top); /* what this call created, when nothing was written */
    return rc;
}
