/* atomic_file.c: temporary-then-rename writes, so no reader and no failed run ever sees a
 * partial results file. */
#include "atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_temp(const char *path, const void *bytes, size_t size, char **temp_out, clr_error *err)
{
    size_t len = strlen(path) + 16;
    char *temp = malloc(len);
    if (!temp)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    snprintf(temp, len, "%s.tmpXXXXXX", path);
    int fd = mkstemp(temp);
    if (fd < 0) {
        clr_fail(err, CLR_EUSAGE, "cannot create %s: %s (choose a writable directory with --out)", path,
                 strerror(errno));
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
            unlink(temp);
            free(temp);
            return err->code;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        clr_fail(err, CLR_EUSAGE, "cannot finish writing %s: %s", path, strerror(errno));
        unlink(temp);
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
    if (rename(temp, path) != 0) {
        clr_fail(err, CLR_EUSAGE, "cannot write %s: %s", path, strerror(errno));
        unlink(temp);
    }
    free(temp);
    return err->code;
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
    int fd = mkstemp(path);
    if (fd < 0)
        return clr_fail(err, CLR_EUSAGE, "output directory %s is not writable: %s (choose another with --out)",
                        dir, strerror(errno));
    close(fd);
    unlink(path);
    return CLR_OK;
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
        unlink(temp);
        free(temp);
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    b->count++;
    return CLR_OK;
}

int clr_batch_commit(clr_file_batch *b, clr_error *err)
{
    for (size_t i = 0; i < b->count; ++i) {
        if (rename(b->temp_paths[i], b->final_paths[i]) != 0) {
            clr_fail(err, CLR_EUSAGE, "cannot write %s: %s", b->final_paths[i], strerror(errno));
            /* The renamed ones are whole files; remove the rest. */
            for (size_t j = i; j < b->count; ++j)
                unlink(b->temp_paths[j]);
            break;
        }
    }
    for (size_t i = 0; i < b->count; ++i) {
        free(b->final_paths[i]);
        free(b->temp_paths[i]);
    }
    free(b->final_paths);
    free(b->temp_paths);
    memset(b, 0, sizeof *b);
    return err->code;
}

void clr_batch_abort(clr_file_batch *b)
{
    for (size_t i = 0; i < b->count; ++i) {
        unlink(b->temp_paths[i]);
        free(b->final_paths[i]);
        free(b->temp_paths[i]);
    }
    free(b->final_paths);
    free(b->temp_paths);
    memset(b, 0, sizeof *b);
}
