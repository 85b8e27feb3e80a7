/* test_cli.c: option parsing and its errors, then the clrepro binary itself on bad input:
 * one clear message, exit status 2, and no output file left behind. */
#include <check.h>
#include "test_util.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "demo.h"
#include "util.h"

static char *last_copy; /* option values point into it until the next parse */

static int parse(const char *line, clr_cli *cli, clr_error *err)
{
    free(last_copy);
    char *copy = last_copy = clr_strdup(line), *argv[64] = {"clrepro"}, *save = NULL;
    int argc = 1;
    for (char *tok = strtok_r(copy, " ", &save); tok && argc < 63; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    memset(err, 0, sizeof *err);
    return clr_cli_parse(argc, argv, cli, err);
}

START_TEST(cli_defaults)
{
    clr_cli cli;
    clr_error err;
    ck_assert_int_eq(parse("", &cli, &err), 0);
    ck_assert_int_eq(cli.command, CLR_CMD_RUN);
    ck_assert_ptr_null(cli.op_name); /* every operation */
    ck_assert_str_eq(cli.device_spec, "all");
    ck_assert_uint_eq(cli.trials, CLR_DEFAULT_TRIALS);
    ck_assert_uint_eq(cli.ndims, 0);   /* each operation's default shapes */
    ck_assert_ptr_null(cli.batches); /* and batches */
    ck_assert_int_eq(cli.dtype, 0);
    ck_assert_uint_eq(cli.seed, CLR_DEFAULT_SEED);
    clr_cli_free(&cli);
}
END_TEST

START_TEST(cli_values)
{
    clr_cli cli;
    clr_error err;
    ck_assert_int_eq(parse("run --n 2^24,16M,4096,3K --batch=1,64 --trials 5 --reps 3 --seed 18446744073709551615 "
                           "--dist illcond --strategy tree,split --device 0:0 --strict --save-outputs --wg 64 --vec 8",
                           &cli, &err), 0);
    const clr_dim_list *n = clr_cli_dim(&cli, "n");
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(n->count, 4);
    ck_assert_uint_eq(n->values[0], 1u << 24);
    ck_assert_uint_eq(n->values[1], 1u << 24);
    ck_assert_uint_eq(n->values[3], 3072);
    ck_assert_uint_eq(cli.batches[1], 64);
    ck_assert_uint_eq(cli.seed, UINT64_MAX);
    ck_assert_int_eq(cli.dist, CLR_DIST_ILLCOND);
    ck_assert(cli.strict && cli.save_outputs && cli.wg == 64 && cli.vec == 8 && cli.trials == 5);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("run --op matmul --k 4096 --n 4096,14336 --dtype bf16 --batch 1,512", &cli, &err), 0);
    ck_assert_str_eq(cli.op_name, "matmul");
    ck_assert_uint_eq(clr_cli_dim(&cli, "n")->count, 2);
    ck_assert_uint_eq(clr_cli_dim(&cli, "k")->values[0], 4096);
    ck_assert_int_eq(cli.dtype, 1);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("--suite seed", &cli, &err), 0);
    ck_assert_str_eq(cli.suite, "seed");
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("devices --json --device gpu", &cli, &err), 0);
    ck_assert(cli.command == CLR_CMD_DEVICES && cli.json);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("--version", &cli, &err), 0);
    ck_assert_int_eq(cli.command, CLR_CMD_VERSION);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("run --help", &cli, &err), 0);
    ck_assert(cli.command == CLR_CMD_HELP && cli.help_for == CLR_CMD_RUN);
    clr_cli_free(&cli);
}
END_TEST

static void expect_error(const char *line, const char *needle)
{
    clr_cli cli;
    clr_error err;
    ck_assert_msg(parse(line, &cli, &err) == CLR_EUSAGE, "'%s' was accepted", line);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s': message '%s' lacks '%s'", line, err.msg, needle);
    clr_cli_free(&cli);
}

START_TEST(cli_errors)
{
    expect_error("--bogus", "unknown option '--bogus'");
    expect_error("run --json", "unknown option '--json'");
    expect_error("frobnicate", "unknown command 'frobnicate'");
    expect_error("run stray", "unexpected argument 'stray'");
    expect_error("--n", "needs a value");
    expect_error("--n 0", "at least 1");
    expect_error("--n -5", "expected comma-separated whole numbers");
    expect_error("--n 12x", "expected comma-separated whole numbers");
    expect_error("--n 1,,2", "expected comma-separated whole numbers");
    expect_error("--n 2^99", "expected comma-separated whole numbers");
    expect_error("--n 99999999999999999999999", "expected comma-separated whole numbers");
    expect_error("--batch 0", "at least 1");
    expect_error("--batch 4,", "expected comma-separated");
    expect_error("--trials 1", "from 2 to 100000");
    expect_error("--reps 0", "from 1 to 100000");
    expect_error("--reps 1.5", "from 1 to 100000");
    expect_error("--seed -1", "whole number");
    expect_error("--dist gamma", "expected uniform, normal or illcond");
    expect_error("--strict=yes", "takes no value");
    expect_error("--suite llm --op sum", "fixes the operations");
    expect_error("--suite huge", "unknown suite");
    expect_error("--dtype fp16", "expected fp32 or bf16");
    expect_error("--hidden 0", "at least 1");
    expect_error("--kv-len 1,x", "expected comma-separated");
}
END_TEST

START_TEST(cli_demo)
{
    clr_cli cli;
    clr_error err;
    ck_assert_int_eq(parse("demo order --orders 100 --n 2^10 --seed 3", &cli, &err), 0);
    ck_assert(cli.command == CLR_CMD_DEMO && cli.orders == 100 && clr_cli_dim(&cli, "n")->values[0] == 1024);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("demo order", &cli, &err), 0);
    ck_assert(cli.orders == CLR_DEFAULT_ORDERS && clr_cli_dim(&cli, "n") == NULL);
    clr_cli_free(&cli);
    expect_error("demo", "needs the name of a demonstration");
    expect_error("demo chaos", "unknown demonstration 'chaos'");
    expect_error("demo order --orders 1", "from 2 to 1000000");
    expect_error("demo order --n 5,6", "one value");
    expect_error("demo order --batch 4", "unknown option '--batch'");
}
END_TEST

START_TEST(demo_permutation_is_a_bijection)
{
    const uint32_t sizes[] = {1, 2, 3, 8, 1000, 4096, 4097};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
        uint32_t n = sizes[k], half = clr_demo_half_bits(n);
        ck_assert_uint_ge(1ull << (2 * half), n);
        char *seen = calloc(n, 1);
        for (uint32_t order = 0; order < 3; ++order) {
            memset(seen, 0, n);
            uint32_t key = clr_demo_key(42, order);
            for (uint32_t i = 0; i < n; ++i) {
                uint32_t j = clr_demo_permuted(i, n, half, key);
                ck_assert_uint_lt(j, n);
                ck_assert_msg(!seen[j], "n=%u: index %u hit twice", n, j);
                seen[j] = 1;
            }
        }
        free(seen);
    }
    /* Different orders are different permutations. */
    uint32_t half = clr_demo_half_bits(4096), same = 0;
    for (uint32_t i = 0; i < 4096; ++i)
        same += clr_demo_permuted(i, 4096, half, clr_demo_key(1, 0)) == clr_demo_permuted(i, 4096, half, clr_demo_key(1, 1));
    ck_assert_uint_lt(same, 100);
}
END_TEST

START_TEST(parse_sizes)
{
    size_t v;
    ck_assert(clr_parse_size("2^0", &v) == 0 && v == 1);
    ck_assert(clr_parse_size("1G", &v) == 0 && v == (1u << 30));
    ck_assert(clr_parse_size("3^4", &v) != 0);
    ck_assert(clr_parse_size("", &v) != 0);
    ck_assert(clr_parse_size(" 4", &v) != 0);
    ck_assert(clr_parse_size("4 ", &v) != 0);
    ck_assert(clr_parse_size("+4", &v) != 0);
}
END_TEST

/* Runs the binary; returns its exit status and what it printed on stderr. */
static int run_bin(const char *args, char *out, size_t size)
{
    char cmd[4096], log[] = "/tmp/clrepro-cli-XXXXXX";
    int fd = mkstemp(log);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s'%s' %s >/dev/null 2>'%s'", getenv("CLREPRO_TEST_ENV") ? getenv("CLREPRO_TEST_ENV") : "",
             CLREPRO_BIN, args, log);
    int status = system(cmd);
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(out, 1, size - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    unlink(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0)
            n += S_ISDIR(st.st_mode) ? count_files(path) : 1;
    }
    closedir(d);
    return n;
}

static void expect_bin_error(const char *args, const char *needle)
{
    char out_dir[] = "/tmp/clrepro-out-XXXXXX", full[2048], msg[16384];
    ck_assert_ptr_nonnull(mkdtemp(out_dir));
    snprintf(full, sizeof full, "--device cpu --out %s --trials 2 --reps 1 %s", out_dir, args);
    if (!strstr(args, "--op") && !strstr(args, "demo") && !strstr(args, "--suite"))
        snprintf(full, sizeof full, "--op sum --device cpu --out %s --trials 2 --reps 1 %s", out_dir, args);
    int status = run_bin(full, msg, sizeof msg);
    ck_assert_msg(status == 2, "`clrepro %s` exited %d: %s", full, status, msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "`clrepro %s`: stderr '%s' lacks '%s'", full, msg, needle);
    ck_assert_msg(strstr(msg, "clrepro: error: ") != NULL, "no error prefix in '%s'", msg);
    ck_assert_msg(count_files(out_dir) == 0, "`clrepro %s` left files in %s", full, out_dir);
    char rm[1100];
    snprintf(rm, sizeof rm, "rm -rf '%s'", out_dir);
    ck_assert_int_eq(system(rm), 0);
}

START_TEST(binary_bad_input)
{
    char msg[16384];
    ck_assert_int_eq(run_bin("--version", msg, sizeof msg), 0);
    ck_assert_int_eq(run_bin("--bogus", msg, sizeof msg), 2);
    ck_assert_ptr_nonnull(strstr(msg, "unknown option"));
    ck_assert_int_eq(run_bin("devices --device nosuchdevice", msg, sizeof msg), 2);
    ck_assert_ptr_nonnull(strstr(msg, "no device or platform name contains 'nosuchdevice'"));
    /* No OpenCL platform at all: advice on installing PoCL, status 2. */
    setenv("CLREPRO_TEST_ENV", "OCL_ICD_VENDORS=/nonexistent-clrepro-icd-dir ", 1);
    ck_assert_int_eq(run_bin("devices", msg, sizeof msg), 2);
    ck_assert_ptr_nonnull(strstr(msg, "no OpenCL platform found"));
    ck_assert_ptr_nonnull(strstr(msg, "pocl-opencl-icd"));
    expect_bin_error("--n 64 --batch 1", "no OpenCL platform found");
    unsetenv("CLREPRO_TEST_ENV");
    expect_bin_error("--device 99", "no device with that index");
    expect_bin_error("--device 7:3", "there is no device 3 on platform 7");
    expect_bin_error("--strategy tree,bogus", "'bogus' is not a strategy of sum");
    expect_bin_error("--op matmul2", "unknown operation");
    expect_bin_error("--op rmsnorm --k 5", "--k does not apply to rmsnorm");
    expect_bin_error("--op sum --dtype bf16", "reads float32 only");
    expect_bin_error("--op attention --head-dim 512", "at most 256");
    expect_bin_error("--op attention --heads 64 --head-dim 128 --kv-len 2^20 --batch 64", "does not fit");
    expect_bin_error("--op matmul --k 2^20 --n 2^20", "does not fit");
    expect_bin_error("--op sum,rmsnorm --strategy tree", "single --op");
    expect_bin_error("--op attention --input /tmp/x.npy", "--input needs a single --op");
    expect_bin_error("--n 2^40 --batch 1", "does not fit");
    expect_bin_error("--n 2^24 --batch 100000", "does not fit");
    expect_bin_error("--input /nonexistent.npy", "cannot open input");
    expect_bin_error("--wg 48", "power of two");
    expect_bin_error("--n 64 --batch 1 --out /proc/clrepro-cannot-write", "cannot create output directory");
}
END_TEST

START_TEST(binary_strict_broken_claim)
{
    /* A tree kernel that moves its result by one ulp whenever the batch has more than one row:
     * still within the error bound, but no longer batch-invariant. Without --strict that is a
     * finding (status 0); with --strict it is status 1. */
    char dir[] = "/tmp/clrepro-strict-XXXXXX", out[] = "/tmp/clrepro-strict-out-XXXXXX", cmd[2048], args[1024];
    char msg[16384];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ptr_nonnull(mkdtemp(out));
    snprintf(cmd, sizeof cmd,
             "cp '%s'/cl/*.cl* '%s'/ && perl -0pi -e 's/(void sum_tree\\(.*?)out\\[(.*?)\\] = s;/$1out[$2] = "
             "get_num_groups(0) > 1 ? nextafter(s, INFINITY) : s;/s' '%s/sum.cl' && grep -q nextafter '%s/sum.cl'",
             CLREPRO_SOURCE_DIR, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "--op sum --strategy tree --device cpu --n 1000 --batch 1,4 --trials 2 --reps 1 "
             "--kernel-dir %s --out %s", dir, out);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 0);
    snprintf(args + strlen(args), sizeof args - strlen(args), " --strict");
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "--strict: 1 broken claim") != NULL, "stderr: %s", msg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, out);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(binary_demo_order)
{
    /* The demo validates every device result against a host replay; exit 0 means it did. */
    char out_dir[] = "/tmp/clrepro-demo-XXXXXX", args[256], msg[16384], path[512], cmd[300];
    ck_assert_ptr_nonnull(mkdtemp(out_dir));
    snprintf(args, sizeof args, "demo order --device cpu --orders 64 --n 300 --quiet --out %s", out_dir);
    ck_assert_msg(run_bin(args, msg, sizeof msg) == 0, "demo failed: %s", msg);
    snprintf(cmd, sizeof cmd, "ls %s/*/demo-order.json %s/*/demo-order.md >/dev/null", out_dir, out_dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof path, "rm -rf '%s'", out_dir);
    ck_assert_int_eq(system(path), 0);
}
END_TEST

START_TEST(binary_corrupt_npy_and_broken_kernel)
{
    char dir[] = "/tmp/clrepro-kdir-XXXXXX", path[256], cmd[1024], args[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    FILE *f = fopen(path, "wb");
    static const char corrupt[] = "\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'fortr";
    fwrite(corrupt, 1, sizeof corrupt - 1, f);
    fclose(f);
    snprintf(args, sizeof args, "--input %s", path);
    expect_bin_error(args, "truncated .npy header");
    /* A kernel directory whose sum.cl does not compile: the build log is shown. */
    snprintf(cmd, sizeof cmd, "cp '%s'/cl/*.cl* '%s'/ && echo 'kernel void broken( { }' >> '%s/sum.cl'",
             CLREPRO_SOURCE_DIR, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "--n 64 --batch 1 --kernel-dir %s", dir);
    expect_bin_error(args, "did not build");
    snprintf(args, sizeof args, "--n 64 --batch 1 --kernel-dir %s/missing", dir);
    expect_bin_error(args, "cannot read kernel source");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli");
    TCase *p = tcase_create("parse");
    tcase_add_test(p, cli_defaults);
    tcase_add_test(p, cli_values);
    tcase_add_test(p, cli_errors);
    tcase_add_test(p, parse_sizes);
    tcase_add_test(p, cli_demo);
    tcase_add_test(p, demo_permutation_is_a_bijection);
    suite_add_tcase(s, p);
    TCase *b = tcase_create("binary");
    tcase_add_test(b, binary_bad_input);
    tcase_add_test(b, binary_corrupt_npy_and_broken_kernel);
    tcase_add_test(b, binary_demo_order);
    tcase_add_test(b, binary_strict_broken_claim);
    suite_add_tcase(s, b);
    return clr_run_suite(s);
}
