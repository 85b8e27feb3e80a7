/* test_util.h: helpers shared by the test suites: the device to test on, temporary folders
 * that a failing test cannot leave behind, and the suite runner. */
#ifndef CLREPRO_TEST_UTIL_H
#define CLREPRO_TEST_UTIL_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "device.h"
#include "op.h"
#include "output.h"
#include "runner.h"

/* Every temporary folder of a suite lives under one root that clr_run_suite() makes before the
 * tests and removes after them, in the parent process: Check runs each test in a child, and a
 * child that fails an assertion exits at once, skipping its own cleanup. */
static char test_tmp_root[256];

/* A fresh folder <root>/<what>-XXXXXX in buf. */
static inline void test_mkdtemp(char *buf, size_t size, const char *what)
{
    ck_assert_msg(test_tmp_root[0] != '\0', "test_mkdtemp is for tests run by clr_run_suite");
    ck_assert_int_lt(snprintf(buf, size, "%s/%s-XXXXXX", test_tmp_root, what), (int)size);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

/* Runs `command` (a shell fragment); its exit status, and what it printed on stderr (and stdout
 * too, with_stdout) in out. */
static inline int test_run_capture(const char *command, int with_stdout, char *out, size_t size)
{
    char cmd[8192], log[300];
    snprintf(log, sizeof log, "%s/output-XXXXXX", test_tmp_root);
    int fd = mkstemp(log);
    ck_assert_int_ge(fd, 0);
    close(fd);
    int len = with_stdout ? snprintf(cmd, sizeof cmd, "%s >'%s' 2>&1", command, log)
                          : snprintf(cmd, sizeof cmd, "%s >/dev/null 2>'%s'", command, log);
    ck_assert_int_lt(len, (int)sizeof cmd);
    int status = system(cmd);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, size - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    unlink(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs the binary with args (a shell fragment, after CLREPRO_TEST_ENV's assignments where that is
 * set); its exit status, and what it printed on stderr (and stdout too, with_stdout) in out. */
static inline int test_run_bin(const char *args, int with_stdout, char *out, size_t size)
{
    char cmd[8000];
    const char *env = getenv("CLREPRO_TEST_ENV") ? getenv("CLREPRO_TEST_ENV") : "";
    ck_assert_int_lt(snprintf(cmd, sizeof cmd, "%s'%s' %s", env, CLREPRO_BIN, args), (int)sizeof cmd);
    return test_run_capture(cmd, with_stdout, out, size);
}

/* At most the last `keep` bytes of a long text (a program's stderr), so that an assertion
 * message stays within Check's limit (4 KiB) and still shows the end, where the error is. */
static inline const char *test_tail(const char *text, size_t keep)
{
    size_t len = strlen(text);
    return len > keep ? text + len - keep : text;
}

/* What clr_print_summary writes for a run, as a string the caller frees; its length in *len
 * (every byte, a NUL included) unless len is NULL. */
static inline char *test_summary_text(const clr_run_config *cfg, const clr_device_result *res, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    clr_print_summary(out, cfg, res, NULL);
    ck_assert_int_eq(fclose(out), 0);
    if (len)
        *len = size;
    return text;
}

/* Files (any type but directories) below dir, recursively; with `pattern`, only those whose
 * name contains it. */
static inline int test_count_files(const char *dir, const char *pattern)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
            continue;
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            n += test_count_files(path, pattern);
        else
            n += !pattern || strstr(e->d_name, pattern) != NULL;
    }
    closedir(d);
    return n;
}

/* The device the tests run on: CLREPRO_TEST_DEVICE (a --device spec), default the first CPU. */
static inline clr_device test_device(void)
{
    clr_device_list all, chosen;
    clr_error err = {0};
    const char *spec = getenv("CLREPRO_TEST_DEVICE") ? getenv("CLREPRO_TEST_DEVICE") : "cpu";
    ck_assert_msg(clr_devices_enumerate(&all, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_devices_select(&all, spec, &chosen, &err) == 0, "%s", err.msg);
    clr_device d = chosen.items[0];
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    return d;
}

/* A run of one strategy of op at one shape over the given batch sizes, on rows supplied as
 * data (rows x cols, as if read from --input): 3 trials, 1 timed repetition after 1 warm-up,
 * every output kept. Tuning as the device's default unless the caller sets it. */
static inline clr_run_config test_file_config(const clr_operation *op, const char *strategy, clr_shape *shape,
                                              size_t *batches, size_t nbatches, const float *data, size_t rows,
                                              size_t cols)
{
    clr_run_config cfg = {0};
    const clr_strategy *s = clr_strategy_find(op, strategy);
    ck_assert_msg(s != NULL, "%s has no strategy %s", op->name, strategy);
    cfg.op = op;
    cfg.strategy_index[0] = (size_t)(s - op->strategies);
    cfg.nstrategies = 1;
    cfg.shapes = shape;
    cfg.nshapes = 1;
    cfg.batches = batches;
    cfg.nbatches = nbatches;
    cfg.trials = 3;
    cfg.reps = 1;
    cfg.warmup = 1;
    cfg.save_outputs = 1;
    cfg.input.seed = 5;
    cfg.input.from_file = 1;
    cfg.input.data = (float *)data;
    cfg.input.rows = rows;
    cfg.input.cols = cols;
    return cfg;
}

/* Runs a suite; the process exit status. */
/* A copy of cl/ in a fresh temporary folder (dir) with `file` edited: olds[k] replaced by
 * news[k], each edit applied to the text the previous one left (each must be found), for
 * --kernel-dir: a kernel sabotaged to drop an element must fail validation. */
static inline void test_sabotaged_kernels_n(char *dir, size_t size, const char *file, size_t nedits,
                                            const char *const *olds, const char *const *news)
{
    test_mkdtemp(dir, size, "sabotage");
    DIR *d = opendir(CLREPRO_SOURCE_DIR "/cl");
    ck_assert_ptr_nonnull(d);
    int applied = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        const char *name = e->d_name;
        char src[1024], dst[1024];
        snprintf(src, sizeof src, "%s/cl/%s", CLREPRO_SOURCE_DIR, name);
        snprintf(dst, sizeof dst, "%s/%s", dir, name);
        FILE *in = fopen(src, "rb");
        ck_assert_msg(in != NULL, "%s: %s", src, strerror(errno));
        static char text[1 << 20], edited[1 << 20];
        size_t len = fread(text, 1, sizeof text - 1, in);
        fclose(in);
        text[len] = 0;
        if (!strcmp(name, file)) {
            applied = 1;
            for (size_t k = 0; k < nedits; ++k) {
                char *at = strstr(text, olds[k]);
                ck_assert_msg(at != NULL, "the sabotage of %s no longer applies: '%s' not found", file, olds[k]);
                size_t head = (size_t)(at - text), tail = strlen(at + strlen(olds[k]));
                ck_assert(head + strlen(news[k]) + tail < sizeof edited);
                memcpy(edited, text, head);
                memcpy(edited + head, news[k], strlen(news[k]));
                memcpy(edited + head + strlen(news[k]), at + strlen(olds[k]), tail + 1);
                memcpy(text, edited, head + strlen(news[k]) + tail + 1);
            }
        }
        FILE *out = fopen(dst, "wb");
        ck_assert_ptr_nonnull(out);
        fputs(text, out);
        fclose(out);
    }
    closedir(d);
    ck_assert_msg(applied, "no kernel file %s", file);
}

/* One edit: `old` replaced by `new`. */
static inline void test_sabotaged_kernels(char *dir, size_t size, const char *file, const char *old, const char *new)
{
    test_sabotaged_kernels_n(dir, size, file, 1, &old, &new);
}

/* Removes such a folder. */
static inline void test_remove_kernels(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[1024];
        snprintf(path, sizeof path, "%.500s/%.500s", dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static inline int clr_run_suite(Suite *s)
{
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") && !strchr(getenv("TMPDIR"), '\'') ? getenv("TMPDIR")
                                                                                                 : "/tmp";
    snprintf(test_tmp_root, sizeof test_tmp_root, "%s/clrepro-test-XXXXXX", tmp);
    if (!mkdtemp(test_tmp_root)) {
        perror("clr_run_suite: mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", test_tmp_root);
    if (system(rm) != 0)
        fprintf(stderr, "clr_run_suite: could not remove %s\n", test_tmp_root);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
