/* test_robust.c: `clrepro run` under hostile conditions (issue 10). Everything that can be
 * checked is checked before measuring, and a refusal leaves nothing behind; a signal while
 * results are written leaves no temporary file; completed cases survive an interruption in a
 * journal, --resume takes them back bit for bit and measures only the rest; a kernel that never
 * ends is abandoned after --timeout, with the completed cases kept. The binary runs in child
 * processes; every OpenCL context is made inside a test. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "atomic_file.h"
#include "cli.h"
#include "journal.h"
#include "output.h"
#include "test_util.h"

static char base[300]; /* made by the parent under the suite's root, removed by it */

static void make_base(void)
{
    snprintf(base, sizeof base, "%s/robust-XXXXXX", test_tmp_root);
    ck_assert_ptr_nonnull(mkdtemp(base));
}

static void remove_base(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
}

/* A fresh folder under base. */
static void fresh_dir(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s-%d", base, name, (int)getpid());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", out, out);
    ck_assert_int_eq(system(cmd), 0);
}

/* The device folder's name, found in a child process: OpenCL starts threads (PoCL's workers),
 * and a process with threads must not fork and then run more than exec (the tests here fork
 * the binary). */
static void device_slug(char *slug, size_t size)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        clr_device dev = test_device();
        char name[256];
        clr_device_slug(&dev, name, sizeof name);
        _exit(write(fds[1], name, strlen(name) + 1) > 0 ? 0 : 1);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], slug, size - 1);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(n > 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "no device");
    slug[n] = '\0';
}

/* Runs `sh -c script` with stderr captured; returns the exit status (128 + signal when killed). */
static int run_sh(const char *script, char *msg, size_t size)
{
    char log[300];
    snprintf(log, sizeof log, "%s/log-XXXXXX", test_tmp_root);
    int fd = mkstemp(log);
    ck_assert_int_ge(fd, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd, 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ssize_t n = pread(fd, msg, size - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* `clrepro ARGS`, under a wall-clock limit (a hang fails the test instead of stalling ctest). */
static int run_bin(const char *args, char *msg, size_t size)
{
    char script[8192];
    snprintf(script, sizeof script, "exec timeout -s KILL 300 '%s' %s", CLREPRO_BIN, args);
    return run_sh(script, msg, size);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

#define SMALL "--device cpu --op sum --n 1000 --batch 1,2 --trials 2 --reps 1 --quiet"

/* A refusal: status 2, the message, the error prefix, and `out` as it was (absent, or holding
 * only what was there). */
static void expect_refusal(const char *args, const char *needle, const char *out, int files_before)
{
    char msg[16384];
    int status = run_bin(args, msg, sizeof msg);
    ck_assert_msg(status == 2, "`clrepro %s` exited %d: %s", args, status, msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "`clrepro %s`: stderr '%s' lacks '%s'", args, msg, needle);
    ck_assert_msg(strstr(msg, "clrepro: error: ") != NULL, "no error prefix in '%s'", msg);
    ck_assert_msg(test_count_files(out, NULL) == files_before, "`clrepro %s` left files in %s", args, out);
}

START_TEST(refuse_bad_kernel_dir)
{
    char dir[1024], out[1100], args[4096];
    fresh_dir("kdir", dir, sizeof dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(args, sizeof args, SMALL " --kernel-dir %s/missing --out %s", dir, out);
    expect_refusal(args, "--kernel-dir", out, 0);
    ck_assert_msg(!exists(out), "the output folder was created");
    snprintf(args, sizeof args, SMALL " --kernel-dir %s/sum.cl --out %s", CLREPRO_SOURCE_DIR "/cl", out);
    expect_refusal(args, "not a directory", out, 0);
    ck_assert_msg(!exists(out), "the output folder was created");
    /* A directory without the sources: refused when the programs are built, before measuring. */
    snprintf(args, sizeof args, SMALL " --kernel-dir %s --out %s", dir, out);
    expect_refusal(args, "cannot read kernel source", out, 0);
    ck_assert_msg(!exists(out), "the output folder was created");
}
END_TEST

START_TEST(refuse_directory_in_place_of_results)
{
    char dir[1024], target[1400], slug[256], cmd[2048], args[4096];
    fresh_dir("in-the-way", dir, sizeof dir);
    device_slug(slug, sizeof slug);
    snprintf(target, sizeof target, "%s/%s/sum.json", dir, slug);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", target);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, SMALL " --out %s", dir);
    expect_refusal(args, "a directory of that name is in the way", dir, 0);
    ck_assert(exists(target));
}
END_TEST

START_TEST(refuse_long_and_non_utf8_paths)
{
    char dir[1024], out[2048], args[4096], longname[301];
    fresh_dir("paths", dir, sizeof dir);
    memset(longname, 'a', 300);
    longname[300] = '\0';
    snprintf(out, sizeof out, "%s/x/%s", dir, longname);
    snprintf(args, sizeof args, SMALL " --out %s", out);
    expect_refusal(args, "longer than the file system allows", dir, 0);
    snprintf(out, sizeof out, "%s/x", dir);
    ck_assert_msg(!exists(out), "a folder was created for a path that cannot exist");
    /* Bytes that are not UTF-8 cannot go into the JSON results: refused before measuring. */
    snprintf(args, sizeof args, SMALL " --out %s/$(printf 'r\\377')", dir);
    expect_refusal(args, "not UTF-8", dir, 0);
    snprintf(args, sizeof args, "--device cpu --op sum --batch 1 --quiet --out %s/r --input %s/$(printf 'x\\300\\200.npy')",
             dir, dir);
    expect_refusal(args, "not UTF-8", dir, 0);
    ck_assert_int_eq(test_count_files(dir, NULL), 0);
    DIR *d = opendir(dir);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)))
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    ck_assert_msg(entries == 0, "folders were left in %s", dir);
}
END_TEST

START_TEST(refuse_unwritable_output)
{
    char dir[1024], file[1100], args[4096];
    fresh_dir("unwritable", dir, sizeof dir);
    snprintf(file, sizeof file, "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(args, sizeof args, SMALL " --out %s/sub", file);
    expect_refusal(args, "is not a directory", dir, 1);
    snprintf(args, sizeof args, SMALL " --out /proc/clrepro-cannot-create/x");
    expect_refusal(args, "cannot create output directory", dir, 1);
}
END_TEST

START_TEST(broken_second_op_leaves_nothing)
{
    /* --op sum,rmsnorm with an rmsnorm.cl that does not build: every program is built before
     * anything is measured, so not even the sums are written. */
    char dir[1024], kdir[1100], out[1100], cmd[4096], args[4096];
    fresh_dir("broken-rmsnorm", dir, sizeof dir);
    snprintf(kdir, sizeof kdir, "%s/cl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp '%s'/cl/*.cl* '%s'/ && echo 'kernel void broken( { }' >> '%s/rmsnorm.cl'",
             kdir, CLREPRO_SOURCE_DIR, kdir, kdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "--device cpu --op sum,rmsnorm --n 1000 --hidden 64 --batch 1 --trials 2 --reps 1 "
             "--quiet --kernel-dir %s --out %s", kdir, out);
    expect_refusal(args, "rmsnorm.cl did not build", out, 0);
    ck_assert_msg(!exists(out), "the output folder was created");
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

START_TEST(host_memory_exhausted_leaves_no_folder)
{
#ifdef UNDER_ASAN
    return; /* AddressSanitizer cannot run under an address-space limit */
#else
    char dir[1024], script[4096], msg[16384];
    fresh_dir("oom", dir, sizeof dir);
    /* 2^28 floats of input rows (1 GiB) and more under a 2 GB address-space limit. */
    snprintf(script, sizeof script, "ulimit -v 2000000 && exec '%s' --device cpu --op sum --strategy serial --n 2^28 "
             "--batch 1 --trials 2 --reps 1 --quiet --out %s/out", CLREPRO_BIN, dir);
    int status = run_sh(script, msg, sizeof msg);
    ck_assert_msg(status == 1 || status == 2, "exited %d: %s", status, msg);
    ck_assert_msg(strstr(msg, "memory") != NULL, "stderr: %s", msg);
    char out[1100];
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_msg(!exists(out), "an empty output folder was left behind: %s", msg);
#endif
}
END_TEST

/* ---- signals ----------------------------------------------------------------------------- */

static void *raise_in_thread(void *arg)
{
    raise(*(int *)arg); /* delivered to this thread, not to the one holding the temporaries */
    return NULL;
}

/* A child writes temporaries of a batch, then gets `sig` (on its own thread, or another). */
static void signal_while_writing(int sig, int other_thread)
{
    char dir[1024];
    fresh_dir("signal", dir, sizeof dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* As in a fresh process: Check's own handlers (inherited by this fork) kill the whole
         * process group on SIGINT and SIGTERM, and clrepro leaves handlers it finds alone. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        clr_file_batch batch = {0};
        clr_error err = {0};
        char path[1200];
        static char big[1 << 20];
        for (int i = 0; i < 12; ++i) {
            snprintf(path, sizeof path, "%s/sum-%d.json", dir, i);
            if (clr_batch_add(&batch, path, big, sizeof big, &err))
                _exit(3);
        }
        if (other_thread) {
            pthread_t t;
            pthread_create(&t, NULL, raise_in_thread, &sig);
            pthread_join(t, NULL);
        } else {
            raise(sig);
        }
        _exit(4); /* not reached: the signal ends the process */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == sig, "the child did not die of signal %d (status %d)",
                  sig, status);
    ck_assert_msg(test_count_files(dir, NULL) == 0, "%d temporaries left in %s after signal %d", test_count_files(dir, NULL),
                  dir, sig);
}

START_TEST(signal_removes_temporaries)
{
    signal_while_writing(SIGINT, 0);
    signal_while_writing(SIGTERM, 0);
    signal_while_writing(SIGHUP, 0);
    signal_while_writing(SIGTERM, 1);
    signal_while_writing(SIGINT, 1);
}
END_TEST

START_TEST(signal_during_run_leaves_no_temporary)
{
    /* The binary killed the moment a temporary appears (the journal's first one, or one of the
     * results files: --save-outputs makes that phase long): never a temporary left behind. */
    char dir[1024], out[1100], slug[256], json[1500], args[4096];
    fresh_dir("kill-run", dir, sizeof dir);
    device_slug(slug, sizeof slug);
    int killed = 0;
    for (int k = 0; k < 8; ++k) {
        snprintf(out, sizeof out, "%s/out%d", dir, k);
        snprintf(args, sizeof args, "exec '%s' --device cpu --op sum --strategy tree,fixedsplit --n 4M --batch 1,2,8 "
                 "--trials 2 --reps 1 --save-outputs --quiet --out %s", CLREPRO_BIN, out);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            signal(SIGINT, SIG_DFL); /* not Check's handler, which kills the process group */
            signal(SIGTERM, SIG_DFL);
            dup2(null, 1);
            dup2(null, 2);
            execl("/bin/sh", "sh", "-c", args, (char *)NULL);
            _exit(127);
        }
        const char *target = k % 2 ? ".npy.tmp" : ".tmp";
        int status = 0;
        for (int waited = 0; waited < 300000 && test_count_files(out, target) == 0; ++waited) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            struct timespec pause = {0, 200000L};
            nanosleep(&pause, NULL);
        }
        if (pid) {
            kill(pid, k % 4 < 2 ? SIGTERM : SIGINT);
            ck_assert_int_eq(waitpid(pid, &status, 0), pid);
            killed += WIFSIGNALED(status);
        }
        ck_assert_msg(test_count_files(out, ".tmp") == 0, "a temporary was left in %s", out);
        snprintf(json, sizeof json, "%s/%s/sum.json", out, slug);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ck_assert_msg(exists(json) && test_count_files(out, ".npy") == 6, "exit 0 without every result");
    }
    ck_assert_msg(killed >= 6, "only %d of 8 runs were caught writing", killed);
}
END_TEST

/* ---- journal and --resume ---------------------------------------------------------------- */

/* A document with what legitimately differs between two runs of the same cases removed. */
static json_t *comparable(json_t *doc)
{
    json_object_del(doc, "started_utc");
    json_object_del(doc, "wall_seconds");
    json_object_del(json_object_get(doc, "summary"), "resumed_cases");
    json_object_del(json_object_get(doc, "build"), "seconds");
    json_object_del(json_object_get(doc, "build"), "roof_seconds");
    json_object_del(doc, "peak"); /* measured again on every run, resumed or not */
    return doc;
}

START_TEST(journal_round_trip_is_lossless)
{
    /* Measured once with a journal, then resumed from it entirely: the results document is the
     * same, byte for byte in every figure (claims and batch variance recomputed from the
     * resumed cases), with nothing run on the device the second time. */
    char dir[1024];
    fresh_dir("journal", dir, sizeof dir);
    clr_device dev = test_device();
    clr_shape shapes[2] = {{.dims = {1000}}, {.dims = {4099}}};
    size_t batches[] = {1, 3};
    clr_run_config cfg = {0};
    cfg.op = &clr_op_sum;
    cfg.name = "sum";
    for (size_t i = 0; i < clr_op_sum.nstrategies; ++i)
        cfg.strategy_index[cfg.nstrategies++] = i;
    cfg.shapes = shapes;
    cfg.nshapes = 2;
    cfg.batches = batches;
    cfg.nbatches = 2;
    cfg.trials = 2;
    cfg.reps = 2;
    cfg.warmup = 1;
    cfg.input.seed = 9;
    cfg.input.dist = CLR_DIST_ILLCOND;
    cfg.save_outputs = 1;
    cfg.timeout = 600;
    clr_error err = {0};
    clr_prepared_run *p;
    clr_journal *j;
    clr_device_result first, again;
    ck_assert_msg(clr_run_prepare(&cfg, &dev, &p, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_journal_open(dir, &cfg, p, 0, &j, &err) == 0, "%s", err.msg);
    ck_assert(!clr_journal_exists(j));
    ck_assert_msg(clr_run_prepared(p, j, &first, &err) == 0, "%s", err.msg);
    size_t ncases = first.ncases;
    ck_assert_uint_eq(clr_journal_written(j), ncases + 4); /* and 2 shapes x 2 batches of roofs */
    ck_assert_uint_eq(first.resumed_cases, 0);
    clr_journal_close(j);

    ck_assert_msg(clr_run_prepare(&cfg, &dev, &p, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_journal_open(dir, &cfg, p, 1, &j, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(clr_journal_loaded(j), ncases);
    ck_assert_msg(clr_run_prepared(p, j, &again, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(again.resumed_cases, ncases);
    ck_assert_uint_eq(clr_journal_written(j), 0);
    json_t *a = comparable(clr_results_json(&cfg, &first)), *b = comparable(clr_results_json(&cfg, &again));
    char *ta = json_dumps(a, JSON_SORT_KEYS | JSON_REAL_PRECISION(17)), *tb = json_dumps(b, JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    ck_assert_msg(json_equal(a, b), "resumed results differ from the measured ones");
    ck_assert_str_eq(ta, tb);
    for (size_t i = 0; i < ncases; ++i) {
        const clr_case *x = &first.cases[i], *y = &again.cases[i];
        size_t n = x->shape.batch * clr_op_sum.output_row_floats(&x->shape);
        ck_assert(x->outputs && y->outputs && !memcmp(x->outputs, y->outputs, n * sizeof(float)));
        ck_assert(!memcmp(&x->time, &y->time, sizeof x->time));
        ck_assert_uint_eq(x->plan.nparams, y->plan.nparams);
        for (size_t k = 0; k < x->plan.nparams; ++k)
            ck_assert_str_eq(x->plan.params[k].name, y->plan.params[k].name);
    }
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    clr_journal_remove(j);
    clr_journal_close(j);
    ck_assert_int_eq(test_count_files(dir, NULL), 0);
    clr_device_result_free(&first);
    clr_device_result_free(&again);
}
END_TEST

START_TEST(resume_after_interruption)
{
    char dir[1024], out[1100], slug[256], journal[1500], json[1500], args[4096], msg[16384];
    fresh_dir("resume", dir, sizeof dir);
    device_slug(slug, sizeof slug);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(journal, sizeof journal, "%s/%s/.sum.journal.jsonl", out, slug);
    snprintf(json, sizeof json, "%s/%s/sum.json", out, slug);
    const char *common = "--device cpu --op sum --strategy serial,tree,fixedsplit,exact --n 1M --batch 1,2,8 "
                         "--trials 3 --reps 3 --quiet";
    /* The same with another number of trials (an option is given once). */
    const char *other = "--device cpu --op sum --strategy serial,tree,fixedsplit,exact --n 1M --batch 1,2,8 "
                        "--trials 4 --reps 3 --quiet";
    /* Interrupted once three cases are in the journal (header, a copy, three cases). */
    snprintf(args, sizeof args, "exec '%s' %s --out %s", CLREPRO_BIN, common, out);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl("/bin/sh", "sh", "-c", args, (char *)NULL);
        _exit(127);
    }
    for (int waited = 0; count_lines(journal) < 5 && waited < 120000; waited += 5) {
        struct timespec pause = {0, 5000000L};
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGTERM);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status), "the run finished before it was interrupted");
    int lines = count_lines(journal);
    ck_assert_msg(lines >= 5, "the journal has %d lines", lines);
    ck_assert_msg(!exists(json) && test_count_files(out, ".tmp") == 0, "partial results after the interruption");

    /* Another configuration is refused with --resume, and the journal is kept. */
    snprintf(args, sizeof args, "%s --resume --out %s", other, out);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
    ck_assert_msg(strstr(msg, "another configuration") && strstr(msg, "trials"), "stderr: %s", msg);
    ck_assert_int_eq(count_lines(journal), lines);

    /* A torn last line (a crash mid-write) is cut off; the rest is resumed. */
    FILE *f = fopen(journal, "a");
    fputs("{\"case\":{\"strategy\":\"tr", f);
    fclose(f);
    snprintf(args, sizeof args, "%s --resume --out %s --no-progress", common, out);
    ck_assert_msg(run_bin(args, msg, sizeof msg) == 0, "resume failed: %s", msg);
    ck_assert_msg(strstr(msg, "resuming sum on"), "stderr: %s", msg);
    ck_assert_msg(!exists(journal), "the journal was not removed after the results were written");
    json_error_t jerr;
    json_t *doc = json_load_file(json, 0, &jerr);
    ck_assert_ptr_nonnull(doc);
    json_int_t resumed = json_integer_value(json_object_get(json_object_get(doc, "summary"), "resumed_cases"));
    ck_assert_msg(resumed >= 3 && resumed < 12, "%lld cases resumed", (long long)resumed);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "cases")), 12);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "claims")), 4 * CLR_NCLAIMS);
    json_decref(doc);

    /* Without --resume, a journal of another configuration is replaced, never mixed. */
    snprintf(args, sizeof args, "exec '%s' %s --out %s", CLREPRO_BIN, common, out);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl("/bin/sh", "sh", "-c", args, (char *)NULL);
        _exit(127);
    }
    for (int waited = 0; count_lines(journal) < 4 && waited < 120000; waited += 5) {
        struct timespec pause = {0, 5000000L};
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    snprintf(args, sizeof args, "--device cpu --op sum --strategy serial,tree --n 1000 --batch 1,2 --trials 2 --reps 1 "
             "--quiet --out %s", out);
    ck_assert_msg(run_bin(args, msg, sizeof msg) == 0, "%s", msg);
    doc = json_load_file(json, 0, &jerr);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "summary"), "resumed_cases")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "cases")), 4);
    json_decref(doc);
    ck_assert(!exists(journal));
}
END_TEST

/* ---- a kernel that never ends ------------------------------------------------------------ */

/* The bandwidth kernels are timed like a case: an endless kernel among them is abandoned too, at
 * the device's peak (measured first) or at a shape's roof. `signature` is the kernel's text up to
 * its parameters (a Perl pattern), `buffer` a global parameter it may spin on. */
static void endless_bandwidth_kernel(const char *what, const char *signature, const char *buffer, const char *want)
{
    char dir[1024], kdir[1100], out[1100], cmd[8192], args[4096], msg[16384];
    fresh_dir(what, dir, sizeof dir);
    snprintf(kdir, sizeof kdir, "%s/cl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(cmd, sizeof cmd,
             "mkdir '%s' && cp '%s'/cl/*.cl* '%s'/ && perl -0pi -e 's/(%s\\(.*?\\{)/$1\\n    "
             "volatile global uint *spin = (volatile global uint *)%s;\\n    while (spin[0] != 0x7fc00001u) { }/s' "
             "'%s/copy.cl' && grep -q 'volatile global uint' '%s/copy.cl'",
             kdir, CLREPRO_SOURCE_DIR, kdir, signature, buffer, kdir, kdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "--device cpu --op sum --strategy serial --n 4096 --batch 1 --trials 2 --reps 1 "
             "--quiet --kernel-dir %s --out %s --timeout 2", kdir, out);
    time_t start = time(NULL);
    int status = run_bin(args, msg, sizeof msg);
    double took = difftime(time(NULL), start);
    ck_assert_msg(status == 1, "exited %d: %s", status, msg);
    ck_assert_msg(took < 60, "took %.0f s to give up", took);
    ck_assert_msg(strstr(msg, want), "stderr: %s", msg);
}

START_TEST(timeout_covers_the_bandwidth_kernels)
{
    endless_bandwidth_kernel("endless-read", "void read_floats_wg", "sink",
                             "the peak bandwidth kernel did not finish within --timeout 2 s");
}
END_TEST

/* The kernel that writes the roof's buffers before they are read is one of them. */
START_TEST(timeout_covers_the_buffer_fill)
{
    endless_bandwidth_kernel("endless-fill", "kernel void fill_floats", "p",
                             "the buffer fill kernel did not finish within --timeout 2 s");
}
END_TEST

START_TEST(timeout_abandons_endless_kernel)
{
    char dir[1024], kdir[1100], out[1100], slug[256], journal[1500], cmd[8192], args[4096], msg[16384];
    fresh_dir("endless", dir, sizeof dir);
    device_slug(slug, sizeof slug);
    snprintf(kdir, sizeof kdir, "%s/cl", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(journal, sizeof journal, "%s/%s/.sum.journal.jsonl", out, slug);
    /* sum_compensated first spins until its output holds a NaN that nothing writes: a volatile
     * read of global memory each time round, which no compiler may remove (NVIDIA's drops a loop
     * on a volatile private counter). Not serial: the reference strategy runs first in a batch. */
    snprintf(cmd, sizeof cmd,
             "mkdir '%s' && cp '%s'/cl/*.cl* '%s'/ && perl -0pi -e 's/(void sum_compensated\\(.*?\\{)/$1\\n    "
             "volatile global uint *spin = (volatile global uint *)out;\\n    while (spin[0] != 0x7fc00001u) { }/s' "
             "'%s/sum.cl' && grep -q 'volatile global uint' '%s/sum.cl'",
             kdir, CLREPRO_SOURCE_DIR, kdir, kdir, kdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "--device cpu --op sum --strategy tree,compensated --n 4096 --batch 1,2 --trials 2 --reps 1 "
             "--quiet --kernel-dir %s --out %s --timeout 2", kdir, out);
    time_t start = time(NULL);
    int status = run_bin(args, msg, sizeof msg);
    double took = difftime(time(NULL), start);
    ck_assert_msg(status == 1, "exited %d: %s", status, msg);
    ck_assert_msg(took < 60, "took %.0f s to give up", took);
    ck_assert_msg(strstr(msg, "strategy compensated at n=4096") && strstr(msg, "did not finish within --timeout 2 s") &&
                  strstr(msg, "--resume"), "stderr: %s", msg);
    /* No results; tree at batch 1, measured before compensated hung, is in the journal. */
    char results[1600];
    snprintf(results, sizeof results, "%s/%s/sum.json", out, slug);
    ck_assert_msg(!exists(results), "results written by an incomplete run");
    ck_assert_int_eq(test_count_files(out, NULL), 1); /* the journal alone */
    ck_assert_msg(exists(journal), "no journal: %s", msg);
    FILE *f = fopen(journal, "r");
    char line[1 << 16];
    int tree = 0, note = 0;
    while (fgets(line, sizeof line, f)) {
        tree += strstr(line, "{\"case\":{\"strategy\":\"tree\"") != NULL;
        note += strstr(line, "{\"note\":") != NULL;
    }
    fclose(f);
    ck_assert_int_eq(tree, 1);
    ck_assert_int_eq(note, 1);
    /* Resumed, tree is not measured again; compensated still hangs and is abandoned again. */
    snprintf(args, sizeof args, "--device cpu --op sum --strategy tree,compensated --n 4096 --batch 1,2 --trials 2 "
             "--reps 1 --no-progress --kernel-dir %s --out %s --timeout 2 --resume", kdir, out);
    status = run_bin(args, msg, sizeof msg);
    ck_assert_msg(status == 1 && strstr(msg, "resuming sum on") && strstr(msg, ": 1 of 4 cases"), "stderr: %s", msg);
    /* A whole line that is no case of this configuration is refused, not dropped. */
    f = fopen(journal, "a");
    fputs("{\"case\":{\"strategy\":\"tree\"}}\n", f);
    fclose(f);
    int lines = count_lines(journal);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
    ck_assert_msg(strstr(msg, "is not a case of this configuration"), "stderr: %s", msg);
    ck_assert_int_eq(count_lines(journal), lines);
}
END_TEST

START_TEST(options_parse)
{
    char *ok[] = {"clrepro", "run", "--timeout", "30", "--resume"};
    char *none[] = {"clrepro", "run", "--timeout=0"};
    char *bad[] = {"clrepro", "run", "--timeout", "-5"};
    char *dflt[] = {"clrepro", "run"};
    clr_cli cli;
    clr_error err = {0};
    ck_assert_int_eq(clr_cli_parse(5, ok, &cli, &err), 0);
    ck_assert(cli.timeout == 30 && cli.resume);
    clr_cli_free(&cli);
    ck_assert_int_eq(clr_cli_parse(3, none, &cli, &err), 0);
    ck_assert(cli.timeout == 0 && !cli.resume);
    clr_cli_free(&cli);
    ck_assert_int_eq(clr_cli_parse(2, dflt, &cli, &err), 0);
    ck_assert_uint_eq(cli.timeout, CLR_DEFAULT_TIMEOUT);
    clr_cli_free(&cli);
    ck_assert_int_eq(clr_cli_parse(4, bad, &cli, &err), CLR_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "--timeout"));
    clr_cli_free(&cli);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("robust");
    TCase *options = tcase_create("options");
    tcase_add_test(options, options_parse);
    suite_add_tcase(s, options);
    TCase *checks = tcase_create("before-measuring");
    tcase_add_unchecked_fixture(checks, make_base, remove_base);
    tcase_add_test(checks, refuse_bad_kernel_dir);
    tcase_add_test(checks, refuse_directory_in_place_of_results);
    tcase_add_test(checks, refuse_long_and_non_utf8_paths);
    tcase_add_test(checks, refuse_unwritable_output);
    tcase_add_test(checks, broken_second_op_leaves_nothing);
    tcase_add_test(checks, host_memory_exhausted_leaves_no_folder);
    suite_add_tcase(s, checks);
    TCase *signals = tcase_create("signals");
    tcase_add_unchecked_fixture(signals, make_base, remove_base);
    tcase_add_test(signals, signal_removes_temporaries);
    tcase_add_test(signals, signal_during_run_leaves_no_temporary);
    suite_add_tcase(s, signals);
    TCase *journal = tcase_create("journal");
    tcase_add_unchecked_fixture(journal, make_base, remove_base);
    tcase_add_test(journal, journal_round_trip_is_lossless);
    tcase_add_test(journal, resume_after_interruption);
    tcase_add_test(journal, timeout_abandons_endless_kernel);
    tcase_add_test(journal, timeout_covers_the_bandwidth_kernels);
    tcase_add_test(journal, timeout_covers_the_buffer_fill);
    suite_add_tcase(s, journal);
    return clr_run_suite(s);
}
