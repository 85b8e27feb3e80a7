/* test_cli.c: option parsing and its errors (lists, numbers, help, escaped messages, device
 * selectors), then the clrepro binary itself on bad input: one clear message, exit status 2,
 * no output file left behind, and no signal when host memory is short; and no results
 * replaced: two identical devices in one run each get a folder, scripts/bench.sh a fresh one. */
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
#include "device.h"
#include "npy.h"
#include "op.h"
#include "runplan.h"
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
    ck_assert_int_eq(parse("run --n 2^24,8M,4096,3K --batch=1,64 --trials 5 --reps 3 --seed 9223372036854775807 "
                           "--dist illcond --strategy tree,split --device 0:0 --strict --save-outputs --wg 64 --vec 8",
                           &cli, &err), 0);
    const clr_dim_list *n = clr_cli_dim(&cli, "n");
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(n->count, 4);
    ck_assert_uint_eq(n->values[0], 1u << 24);
    ck_assert_uint_eq(n->values[1], 1u << 23);
    ck_assert_uint_eq(n->values[3], 3072);
    ck_assert_uint_eq(cli.batches[1], 64);
    ck_assert_uint_eq(cli.seed, (uint64_t)INT64_MAX);
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
    expect_error("--n 1,,2", "an empty item");
    expect_error("--n 2^99", "expected comma-separated whole numbers");
    expect_error("--n 99999999999999999999999", "expected comma-separated whole numbers");
    expect_error("--batch 0", "at least 1");
    expect_error("--batch 4,", "an empty item");
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

START_TEST(cli_lists_and_numbers)
{
    clr_cli cli;
    clr_error err;
    /* Empty items are refused in every list, with the same message. */
    expect_error("--op sum,", "an empty item");
    expect_error("--op ,sum", "an empty item");
    expect_error("--strategy tree,", "an empty item");
    expect_error("--strategy tree,,split", "an empty item");
    expect_error("--batch 4,", "an empty item");
    expect_error("--n 4096,", "an empty item");
    expect_error("--device cpu,", "an empty item");
    /* Repeated items are refused, naming the repeat, whatever form the number takes. */
    expect_error("--n 4K,4096", "4096 is given twice");
    expect_error("--batch 1,2,1", "1 is given twice");
    expect_error("--kv-len 2^10,1K", "1024 is given twice");
    expect_error("--op sum,rmsnorm,sum", "'sum' is given twice");
    expect_error("--strategy tree,split,tree", "'tree' is given twice");
    /* An option given twice is refused (the last one silently won before). */
    expect_error("--op sum --op rmsnorm", "option --op is given twice");
    expect_error("--device 0 --device cpu", "option --device is given twice");
    expect_error("--n 64 --n 128", "option --n is given twice");
    /* Seeds are stored as signed 64-bit JSON integers: beyond 2^63 - 1 they would come back negative. */
    expect_error("--seed 9223372036854775808", "9223372036854775807");
    expect_error("--out - --save-outputs", "--save-outputs needs a results directory");
    expect_error("--input x.npy --dist normal", "give one of them");
    /* One number parser for every size and count. */
    ck_assert_int_eq(parse("--chunk 4K --wg 2^6 --trials 1K --warmup 0", &cli, &err), 0);
    ck_assert(cli.chunk == 4096 && cli.wg == 64 && cli.trials == 1024 && cli.warmup == 0);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("demo order --orders 4K", &cli, &err), 0);
    ck_assert_uint_eq(cli.orders, 4096);
    clr_cli_free(&cli);
    expect_error("--chunk 2G", "from 1 to 1073741824");
    expect_error("--chunk 4Q", "from 1 to 1073741824");
    expect_error("--wg 4294967296", "from 1 to 65536");
}
END_TEST

/* Sweeps: ranges with steps in every size list, expanded in order; bad ranges refused. */
START_TEST(cli_sweeps)
{
    clr_cli cli;
    clr_error err;
    static const struct {
        const char *line;
        size_t n, first, last, third;
    } ok[] = {{"--batch 1-512", 512, 1, 512, 3},         {"--batch 1-4096:x2", 13, 1, 4096, 4},
              {"--batch 64-256:+8", 25, 64, 256, 80},   {"--batch 1,4-6,16", 5, 1, 16, 5},
              {"--batch 2^10-4K:x2", 3, 1024, 4096, 4096}, {"--batch 3-3", 1, 3, 3, 0},
              {"--batch 1-10:x3", 3, 1, 9, 9},           {"--batch 5-12:+4", 2, 5, 9, 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; ++i) {
        ck_assert_msg(parse(ok[i].line, &cli, &err) == 0, "%s: %s", ok[i].line, err.msg);
        ck_assert_uint_eq(cli.nbatches, ok[i].n);
        ck_assert_uint_eq(cli.batches[0], ok[i].first);
        ck_assert_uint_eq(cli.batches[cli.nbatches - 1], ok[i].last);
        if (ok[i].n > 2)
            ck_assert_uint_eq(cli.batches[2], ok[i].third);
        clr_cli_free(&cli);
    }
    /* Shape options take the same forms. */
    ck_assert_int_eq(parse("--op sum --n 1K-4K:x2", &cli, &err), 0);
    ck_assert(cli.ndims == 1 && cli.dims[0].count == 3 && cli.dims[0].values[2] == 4096);
    clr_cli_free(&cli);
    expect_error("--batch 8-1", "the range 8-1 is reversed");
    expect_error("--batch 1-8:x1", "never advances");
    expect_error("--batch 1-8:+0", "never advances");
    expect_error("--batch 1-8:y2", "should be xK (multiply by K) or +K (add K)");
    expect_error("--batch 1-", "'1-' is no range");
    expect_error("--batch -4", "expected comma-separated whole numbers");
    expect_error("--batch 4:x2", "a step belongs to a range");
    expect_error("--batch 0-4", "at least 1");
    expect_error("--batch 1-100000", "more than 4096 sizes");
    expect_error("--batch 1-4,4", "4 is given twice");
    expect_error("--batch 1-2^70", "is no range");
}
END_TEST

START_TEST(cli_nothing_after_help_or_version)
{
    clr_cli cli;
    clr_error err;
    ck_assert_int_eq(parse("help", &cli, &err), 0);
    ck_assert(cli.command == CLR_CMD_HELP && cli.help_for == CLR_CMD_HELP);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("help demo", &cli, &err), 0);
    ck_assert(cli.command == CLR_CMD_HELP && cli.help_for == CLR_CMD_DEMO);
    clr_cli_free(&cli);
    ck_assert_int_eq(parse("run --n 5 --help", &cli, &err), 0);
    ck_assert(cli.command == CLR_CMD_HELP && cli.help_for == CLR_CMD_RUN);
    clr_cli_free(&cli);
    expect_error("help x", "help: unknown command 'x'");
    expect_error("help run x", "unexpected argument 'x' after `help run`");
    expect_error("--version x", "unexpected argument 'x' after --version");
    expect_error("-V --help", "unexpected argument '--help' after -V");
    expect_error("--help x", "unexpected argument 'x' after --help");
    expect_error("run --help x", "unexpected argument 'x' after --help");
    expect_error("compare a.json -h b.json", "unexpected argument 'b.json' after -h");
}
END_TEST

START_TEST(cli_demo_seed_range)
{
    clr_cli cli;
    clr_error err;
    ck_assert_int_eq(parse("demo order --seed 4294967295", &cli, &err), 0);
    ck_assert_uint_eq(cli.seed, 4294967295u);
    clr_cli_free(&cli);
    expect_error("demo order --seed 4294967296", "at most 4294967295");
    /* A run takes the whole 64-bit range. */
    ck_assert_int_eq(parse("run --seed 4294967296", &cli, &err), 0);
    ck_assert_uint_eq(cli.seed, 4294967296ull);
    clr_cli_free(&cli);
}
END_TEST

/* Control characters from the user never reach the terminal raw: every message goes through
 * one escape (clr_fail), and clr_escape is the same escape for other printing. */
START_TEST(messages_escape_control_characters)
{
    clr_cli cli;
    clr_error err;
    ck_assert_int_eq(parse("--dist \x1b[2Jx\nclrepro:\rerror\x7f\x9b", &cli, &err), CLR_EUSAGE);
    ck_assert_msg(!strpbrk(err.msg, "\x1b\n\r\x7f"), "raw control character in: %s", err.msg);
    ck_assert_msg(strstr(err.msg, "'\\x1b[2Jx\\nclrepro:\\rerror\\x7f\\x9b'") != NULL, "%s", err.msg);
    clr_cli_free(&cli);
    char buf[64];
    ck_assert_str_eq(clr_escape("a\tb\xc2\x9b\xc3\xa9\xe2\x82\xac\xff\xed\xa0\x80", buf, sizeof buf),
                     "a\\tb\\u009b\xc3\xa9\xe2\x82\xac\\xff\\xed\\xa0\\x80");
    /* Cut at a whole character or escape, marked. */
    ck_assert_str_eq(clr_escape("abcdefgh", buf, 8), "abcd...");
    ck_assert_str_eq(clr_escape("abcdefg", buf, 8), "abcdefg");
    ck_assert_str_eq(clr_escape("ab\x1b", buf, 8), "ab\\x1b");
    ck_assert_str_eq(clr_escape("abc\x1b" "d", buf, 8), "abc...");
    ck_assert_str_eq(clr_escape("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", buf, 8), "\xe2\x82\xac...");
    /* A multi-line message (a build log) keeps its lines, indented; escapes go. */
    memset(&err, 0, sizeof err);
    clr_fail(&err, CLR_EUSAGE, "kernel did not build:\n%s", "line 1\n\x1b[31mline 2");
    ck_assert_str_eq(err.msg, "kernel did not build:\n  line 1\n  \\x1b[31mline 2");
    memset(&err, 0, sizeof err);
    clr_fail(&err, CLR_EUSAGE, "--out %s: cannot write", "a\nb");
    ck_assert_str_eq(err.msg, "--out a\\nb: cannot write");
}
END_TEST

/* Device selection on a made-up list of devices (no OpenCL needed). */
START_TEST(device_selectors)
{
    clr_device items[3];
    memset(items, 0, sizeof items);
    const char *names[3] = {"Fast GPU", "Slow CPU", "Other CPU"};
    for (unsigned i = 0; i < 3; ++i) {
        items[i].index = i;
        items[i].platform_index = i == 0 ? 0 : 1;
        items[i].device_index = i == 0 ? 0 : i - 1;
        items[i].type = i == 0 ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_CPU;
        snprintf(items[i].name, sizeof items[i].name, "%s", names[i]);
        snprintf(items[i].platform_name, sizeof items[i].platform_name, "Platform %u", items[i].platform_index);
    }
    clr_device_list all = {items, 3}, chosen;
    static const struct { const char *spec; unsigned count, first; } ok[] = {
        {"all,cpu", 3, 0}, {"cpu,cpu", 2, 1}, {"0,cpu", 3, 0}, {"cpu,0", 3, 1}, {"1:1,cpu", 2, 2},
        {"slow,cpu,slow", 2, 1}, {"1:0,1", 1, 1}, {"gpu,all", 3, 0},
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; ++k) {
        clr_error err = {0};
        ck_assert_msg(clr_devices_select(&all, ok[k].spec, &chosen, &err) == CLR_OK, "%s: %s", ok[k].spec, err.msg);
        ck_assert_msg(chosen.count == ok[k].count && chosen.items[0].index == ok[k].first, "%s: %zu devices, first %u",
                      ok[k].spec, chosen.count, chosen.items[0].index);
        clr_devices_free(&chosen);
    }
    static const struct { const char *spec, *needle; } bad[] = {
        {"0:4294967296", "there is no device 4294967296 on platform 0"},
        {"4294967296:0", "there is no device 0 on platform 4294967296"},
        {"1:99999999999999999999", "there is no device 99999999999999999999 on platform 1"},
        {"4294967296", "no device with that index"},
        {"99999999999999999999999", "no device with that index"},
        {"0:x", "expected P:D"},
        {"cpu,nosuch", "no device or platform name contains 'nosuch'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
        clr_error err = {0};
        ck_assert_msg(clr_devices_select(&all, bad[k].spec, &chosen, &err) == CLR_EUSAGE, "%s accepted", bad[k].spec);
        ck_assert_msg(strstr(err.msg, bad[k].needle) != NULL, "%s: %s", bad[k].spec, err.msg);
        ck_assert_ptr_null(chosen.items);
    }
}
END_TEST

/* Runs the binary; returns its exit status and what it printed on stderr. */
static int run_bin(const char *args, char *out, size_t size) { return test_run_bin(args, 0, out, size); }


/* Messages name what failed first, then at most the end of the program's stderr, so they stay
 * within Check's 4 KiB limit (a longer one would hide the failure). */
static void expect_bin_error(const char *args, const char *needle)
{
    char out_dir[256], full[2048], msg[16384];
    test_mkdtemp(out_dir, sizeof out_dir, "out");
    /* Lists may be given once: the defaults stand back where args give their own. */
    const char *device = strstr(args, "--device") ? "" : "--device cpu";
    snprintf(full, sizeof full, "%s --out %s --trials 2 --reps 1 %s", device, out_dir, args);
    if (!strstr(args, "--op") && !strstr(args, "demo") && !strstr(args, "--suite"))
        snprintf(full, sizeof full, "--op sum %s --out %s --trials 2 --reps 1 %s", device, out_dir, args);
    int status = run_bin(full, msg, sizeof msg);
    ck_assert_msg(status == 2, "exit status %d, not 2, for `clrepro %.300s`; stderr ends: %s", status, full,
                  test_tail(msg, 1500));
    ck_assert_msg(strstr(msg, needle) != NULL, "stderr lacks '%.200s' for `clrepro %.300s`; it ends: %s", needle, full,
                  test_tail(msg, 1500));
    ck_assert_msg(strstr(msg, "clrepro: error: ") != NULL, "no error prefix; stderr ends: %s", test_tail(msg, 1500));
    ck_assert_msg(test_count_files(out_dir, NULL) == 0, "`clrepro %.300s` left files in %s", full, out_dir);
    char rm[300];
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

START_TEST(binary_usage_errors)
{
    char msg[16384];
    static const struct { const char *args, *needle; } usage[] = {
        {"help x", "help: unknown command 'x'"},
        {"--version x", "after --version"},
        {"run --help x", "after --help"},
        {"demo order --seed 4294967296", "at most 4294967295"},
        {"devices --device 0:4294967296", "there is no device 4294967296 on platform 0"},
        {"run --chunk 4Q", "--chunk '4Q'"},
        {"run --batch 1,1", "1 is given twice"},
    };
    for (size_t k = 0; k < sizeof usage / sizeof usage[0]; ++k) {
        int status = run_bin(usage[k].args, msg, sizeof msg);
        ck_assert_msg(status == 2, "status %d for `clrepro %s`; stderr ends: %s", status, usage[k].args,
                      test_tail(msg, 1500));
        ck_assert_msg(strstr(msg, usage[k].needle) != NULL, "`clrepro %s`: stderr lacks '%s'; it ends: %s",
                      usage[k].args, usage[k].needle, test_tail(msg, 1500));
    }
    ck_assert_int_eq(run_bin("help run", msg, sizeof msg), 0);
    /* A device named by several selectors is used once. */
    static const char *const specs[] = {"all,cpu", "cpu,cpu", "0,cpu"};
    for (size_t k = 0; k < 3; ++k) {
        char args[64];
        snprintf(args, sizeof args, "devices --device %s", specs[k]);
        int status = run_bin(args, msg, sizeof msg);
        ck_assert_msg(status == 0, "status %d for `clrepro %s`; stderr ends: %s", status, args, test_tail(msg, 1500));
    }
    /* A value with a newline and an ANSI escape: one line of error, escaped. */
    int status = run_bin("--dist \"$(printf 'a\\033[31mb\\nclrepro: error: forged')\"", msg, sizeof msg);
    ck_assert_int_eq(status, 2);
    ck_assert_msg(strchr(msg, '\x1b') == NULL && strchr(msg, '\n') == msg + strlen(msg) - 1,
                  "not one escaped line: %s", test_tail(msg, 1500));
    ck_assert_msg(strstr(msg, "a\\x1b[31mb\\nclrepro: error: forged") != NULL, "%s", test_tail(msg, 1500));
}
END_TEST

START_TEST(binary_demo_memory)
{
    /* The demo checks its host memory need before allocating: under an address-space limit
     * (ulimit -v, in the shell system() forks) it exits 2 with a message naming the need, not
     * with a signal. AddressSanitizer reserves terabytes of address space and cannot start
     * under such a limit, so the sanitizer build skips this. */
#if defined(__SANITIZE_ADDRESS__)
    return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return;
#endif
#endif
    char msg[16384];
    setenv("CLREPRO_TEST_ENV", "ulimit -v 2097152; ", 1);
    int status = run_bin("demo order --device cpu --n 2^28 --orders 64 --quiet --out /nonexistent-clrepro", msg,
                         sizeof msg);
    unsetenv("CLREPRO_TEST_ENV");
    ck_assert_msg(status == 2, "status %d (a signal shows as 128+N); stderr ends: %s", status, test_tail(msg, 1500));
    ck_assert_msg(strstr(msg, "demo order: --n 268435456 needs ") && strstr(msg, "GiB of host memory"),
                  "stderr ends: %s", test_tail(msg, 1500));
}
END_TEST

START_TEST(binary_strict_broken_claim)
{
    /* An attention kernel that moves its result by one ulp whenever the batch has more than one
     * sequence: still within attention's error bound (vendor exp leaves no bits to replay), but
     * no longer batch-invariant. Without --strict that is a finding (status 0); with --strict it
     * is status 1. The same nudge in sum's tree is a wrong answer: the host replays tree's order
     * and demands its bits, so the case is invalid (status 1) whatever --strict says. */
    char dir[256], out[256], cmd[2048], args[1024];
    char msg[16384];
    test_mkdtemp(dir, sizeof dir, "strict");
    test_mkdtemp(out, sizeof out, "strict-out");
    snprintf(cmd, sizeof cmd,
             "cp '%s'/cl/*.cl* '%s'/ && perl -0pi -e 's/(void attention_single\\(.*?)o\\[j\\] = st\\.o\\[r\\] \\/ st\\.l;/"
             "$1o[j] = get_num_groups(0) > H ? nextafter(st.o[r] \\/ st.l, INFINITY) : st.o[r] \\/ st.l;/s' '%s/attention.cl' "
             "&& grep -q nextafter '%s/attention.cl' && perl -0pi -e 's/(void sum_tree\\(.*?)out\\[(.*?)\\] = s;/$1out[$2] = "
             "get_num_groups(0) > 1 ? nextafter(s, INFINITY) : s;/s' '%s/sum.cl' && grep -q nextafter '%s/sum.cl'",
             CLREPRO_SOURCE_DIR, dir, dir, dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "--op attention --strategy single --device cpu --heads 2 --head-dim 64 --kv-len 64 "
             "--batch 1,4 --trials 2 --reps 1 --kernel-dir %s --out %s", dir, out);
    int status = run_bin(args, msg, sizeof msg);
    ck_assert_msg(status == 0, "status %d without --strict; stderr ends: %s", status, test_tail(msg, 1500));
    snprintf(args + strlen(args), sizeof args - strlen(args), " --strict");
    status = run_bin(args, msg, sizeof msg);
    ck_assert_msg(status == 1, "status %d with --strict; stderr ends: %s", status, test_tail(msg, 1500));
    ck_assert_msg(strstr(msg, "--strict: 1 broken claim") != NULL, "stderr ends: %s", test_tail(msg, 1500));
    snprintf(args, sizeof args, "--op sum --strategy tree --device cpu --n 1000 --batch 1,4 --trials 2 --reps 1 "
             "--kernel-dir %s --out %s", dir, out);
    status = run_bin(args, msg, sizeof msg);
    ck_assert_msg(status == 1, "status %d for a tree that differs from its replay; stderr ends: %s", status,
                  test_tail(msg, 1500));
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, out);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(binary_demo_order)
{
    /* The demo validates every device result against a host replay; exit 0 means it did. */
    char out_dir[256], args[512], msg[16384], path[512], cmd[600];
    test_mkdtemp(out_dir, sizeof out_dir, "demo");
    snprintf(args, sizeof args, "demo order --device cpu --orders 64 --n 300 --quiet --out %s", out_dir);
    ck_assert_msg(run_bin(args, msg, sizeof msg) == 0, "demo failed; stderr ends: %s", test_tail(msg, 1500));
    snprintf(cmd, sizeof cmd, "ls %s/*/demo-order.json %s/*/demo-order.md >/dev/null", out_dir, out_dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof path, "rm -rf '%s'", out_dir);
    ck_assert_int_eq(system(path), 0);
}
END_TEST

START_TEST(binary_corrupt_npy_and_broken_kernel)
{
    char dir[256], path[300], cmd[1024], args[512];
    test_mkdtemp(dir, sizeof dir, "kdir");
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
    expect_bin_error(args, "/missing");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Planning from the operation tables: what runs, with which shapes and batches, in which order,
 * without a device. */
static clr_cli plan_cli; /* the runs' batch lists may point into it: freed by the next call */

static clr_planned_run *plan_line(const char *line, size_t *nruns, clr_input *input)
{
    clr_error err;
    clr_planned_run *runs = NULL;
    memset(input, 0, sizeof *input);
    clr_cli_free(&plan_cli);
    ck_assert_int_eq(parse(line, &plan_cli, &err), 0);
    int rc = clr_plan_runs(&plan_cli, line, &runs, nruns, input, &err);
    ck_assert_msg(rc == 0, "%s: %s", line, err.msg);
    return runs;
}

/* A sweep of more than CLR_MAX_CASES_UNASKED cases is refused without --yes, before any device;
 * --find-switch searches instead and needs a range to search. */
START_TEST(sweeps_need_yes)
{
    clr_error err;
    clr_planned_run *runs = NULL;
    size_t n;
    clr_input in = {0};
    const char *line = "run --op sum --n 4096 --batch 1-512 --strategy all";
    clr_cli_free(&plan_cli);
    ck_assert_int_eq(parse(line, &plan_cli, &err), 0);
    ck_assert_int_eq(clr_plan_runs(&plan_cli, line, &runs, &n, &in, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "would measure 3584 cases") && strstr(err.msg, "--yes"), "%s", err.msg);
    clr_planned_runs_free(runs, n);
    clr_planned_run *r = plan_line("run --op sum --n 4096 --batch 1-512 --strategy all --yes", &n, &in);
    ck_assert_uint_eq(r[0].cfg.nbatches, 512);
    clr_planned_runs_free(r, n);
    r = plan_line("run --op sum --n 4096 --batch 1-512 --find-switch", &n, &in);
    ck_assert(r[0].cfg.find_switch);
    clr_planned_runs_free(r, n);
    line = "run --op sum --batch 1,2 --find-switch";
    clr_cli_free(&plan_cli);
    ck_assert_int_eq(parse(line, &plan_cli, &err), 0);
    runs = NULL;
    ck_assert_int_eq(clr_plan_runs(&plan_cli, line, &runs, &n, &in, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "at least 3"), "%s", err.msg);
    clr_planned_runs_free(runs, n);
}
END_TEST

START_TEST(plan_from_tables)
{
    size_t n;
    clr_input in;
    clr_planned_run *r = plan_line("run --suite llm", &n, &in);
    const char *names[] = {"llm-rmsnorm", "llm-matmul", "llm-attention", "llm-softmax"};
    const size_t nbatches[] = {10, 10, 7, 7}, nshapes[] = {1, 2, 2, 1};
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < n; ++i) {
        ck_assert_str_eq(r[i].cfg.name, names[i]);
        ck_assert_uint_eq(r[i].cfg.nbatches, nbatches[i]);
        ck_assert_uint_eq(r[i].cfg.nshapes, nshapes[i]);
    }
    ck_assert_uint_eq(r[1].cfg.shapes[1].dims[0], 4096);  /* matmul k */
    ck_assert_uint_eq(r[1].cfg.shapes[1].dims[1], 14336); /* matmul n */
    ck_assert_uint_eq(r[1].cfg.batches[9], 512);
    clr_planned_runs_free(r, n);
    r = plan_line("run --suite seed --trials 7", &n, &in);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(r[0].cfg.name, "seed-attention-trials");
    ck_assert_uint_eq(r[0].cfg.trials, 7); /* --trials given wins over the part's 50 */
    ck_assert_str_eq(r[1].cfg.name, "seed-attention-lengths");
    ck_assert_uint_eq(r[1].cfg.nshapes, 5);
    clr_planned_runs_free(r, n);
    r = plan_line("run --suite seed", &n, &in);
    ck_assert_uint_eq(r[0].cfg.trials, 50);
    clr_planned_runs_free(r, n);
    /* A plain run: every operation with its defaults; an operation's own dimension lists. */
    r = plan_line("run", &n, &in);
    ck_assert_uint_ge(n, 4);
    ck_assert_str_eq(r[0].cfg.op->name, "sum");
    ck_assert_uint_eq(r[0].cfg.nshapes, 3);
    ck_assert_uint_eq(r[0].cfg.shapes[2].dims[0], 16777216);
    ck_assert_uint_eq(r[0].cfg.nbatches, 4);
    clr_planned_runs_free(r, n);
    r = plan_line("run --op matmul --k 64,128 --n 8,16,32 --batch 3 --contig 0", &n, &in);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(r[0].cfg.nshapes, 6);
    ck_assert_uint_eq(r[0].cfg.shapes[5].dims[0], 128);
    ck_assert_uint_eq(r[0].cfg.shapes[5].dims[1], 32);
    ck_assert_uint_eq(r[0].cfg.batches[0], 3);
    ck_assert_int_eq(r[0].cfg.contig, CLR_CONTIG_NO);
    clr_planned_runs_free(r, n);
    clr_cli_free(&plan_cli);
}
END_TEST

/* --input replaces the generated rows, not the seed: the weights still follow it. */
START_TEST(plan_input_keeps_seed)
{
    char dir[256], line[512];
    test_mkdtemp(dir, sizeof dir, "plan-input");
    char path[300];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    float x[2 * 8] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    clr_error err = {0};
    ck_assert_int_eq(clr_npy_write_f32(path, x, 2, 8, &err), 0);
    snprintf(line, sizeof line, "run --op rmsnorm --input %s --seed 7", path);
    size_t n;
    clr_input in;
    clr_planned_run *r = plan_line(line, &n, &in);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(r[0].cfg.input.from_file, 1);
    ck_assert_uint_eq(r[0].cfg.input.seed, 7);
    ck_assert_uint_eq(r[0].cfg.shapes[0].dims[0], 8); /* the file's row length */
    clr_planned_runs_free(r, n);
    clr_cli_free(&plan_cli);
    clr_input_close(&in);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Runs the binary; returns its exit status and what it printed on stdout. */
static int run_bin_stdout(const char *args, char *out, size_t size)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s'%s' %s 2>/dev/null", getenv("CLREPRO_TEST_ENV") ? getenv("CLREPRO_TEST_ENV") : "",
             CLREPRO_BIN, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Each command's help: its own usage line and example, only its options, in its own words; and
 * `devices` in one line per device or as tagged JSON. */
START_TEST(binary_help_and_devices)
{
    static char out[65536];
    ck_assert_int_eq(run_bin_stdout("compare --help", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: clrepro compare PATH..."));
    ck_assert_ptr_nonnull(strstr(out, "compare.md"));
    ck_assert_msg(strstr(out, "<device>") == NULL && strstr(out, "--batch") == NULL, "%s", out);
    ck_assert_int_eq(run_bin_stdout("demo order --help", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: clrepro demo order"));
    ck_assert_ptr_nonnull(strstr(out, "0..2^32-1"));
    ck_assert_msg(strstr(out, "matmul") == NULL && strstr(out, "--strategy") == NULL, "%s", out);
    ck_assert_int_eq(run_bin_stdout("help report", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: clrepro report PATH... -o FILE.html"));
    ck_assert_int_eq(run_bin_stdout("run --help", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: clrepro [run] [options]"));
    ck_assert_ptr_nonnull(strstr(out, "--vocab LIST"));
    /* devices -l: one line a device, each starting "[index] P:D". */
    ck_assert_int_eq(run_bin_stdout("devices -l", out, sizeof out), 0);
    size_t lines = 0;
    for (const char *p = out; *p; ++p)
        lines += *p == '\n';
    ck_assert_uint_ge(lines, 1);
    for (const char *line = out; *line; line = strchr(line, '\n') + 1) {
        unsigned idx, plat, dev;
        ck_assert_msg(sscanf(line, "[%u] %u:%u", &idx, &plat, &dev) == 3, "not a device line: %.80s", line);
    }
    char full[65536];
    ck_assert_int_eq(run_bin_stdout("devices", full, sizeof full), 0);
    ck_assert_uint_gt(strlen(full), strlen(out)); /* the long form says more */
    ck_assert_int_eq(run_bin_stdout("devices --json", out, sizeof out), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"schema\": \"clrepro.devices\""));
    ck_assert_ptr_nonnull(strstr(out, "\"uuid\":"));
    ck_assert_ptr_nonnull(strstr(out, "\"pci_bus\":"));
}
END_TEST

/* CLREPRO_DEVICE: the default selector; --device wins; a bad one names the variable. */
START_TEST(cli_device_from_environment)
{
    clr_cli cli;
    clr_error err;
    setenv("CLREPRO_DEVICE", "cpu", 1);
    ck_assert_int_eq(parse("run --op sum", &cli, &err), 0);
    ck_assert_str_eq(cli.device_spec, "cpu");
    ck_assert_int_eq(cli.device_from_env, 1);
    ck_assert_int_eq(parse("devices --device 0", &cli, &err), 0);
    ck_assert_str_eq(cli.device_spec, "0");
    ck_assert_int_eq(cli.device_from_env, 0);
    setenv("CLREPRO_DEVICE", "no-such-device-anywhere", 1);
    ck_assert_int_eq(parse("devices", &cli, &err), 0);
    clr_device_list all, chosen;
    ck_assert_int_eq(clr_devices_enumerate(&all, &err), 0);
    ck_assert_int_eq(clr_cli_select_devices(&cli, &all, &chosen, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "CLREPRO_DEVICE") != NULL, "%s", err.msg);
    clr_devices_free(&all);
    unsetenv("CLREPRO_DEVICE");
}
END_TEST

/* The summary of a run fits 100 columns (UTF-8 characters), shape by shape, with a verdict. */
START_TEST(binary_summary_fits_100_columns)
{
    static char out[1 << 16];
    char dir[256], args[600];
    test_mkdtemp(dir, sizeof dir, "summary");
    snprintf(args, sizeof args, "run --device cpu --op sum,attention --n 4099 --heads 2 --head-dim 48 --kv-len 300 "
             "--batch 1,3 --trials 2 --reps 1 --no-progress --out '%s'", dir);
    ck_assert_int_eq(run_bin_stdout(args, out, sizeof out), 0);
    size_t lines = 0;
    for (const char *line = out; *line;) {
        const char *end = strchr(line, '\n');
        size_t chars = 0;
        for (const char *p = line; p < (end ? end : line + strlen(line)); ++p)
            chars += ((unsigned char)*p & 0xc0) != 0x80;
        ck_assert_msg(chars <= 100, "a line of %zu columns: %.120s", chars, line);
        lines++;
        line = end ? end + 1 : line + strlen(line);
    }
    ck_assert_uint_gt(lines, 10);
    ck_assert_ptr_nonnull(strstr(out, "verdict"));
    ck_assert_ptr_nonnull(strstr(out, "same bits"));
    ck_assert_ptr_nonnull(strstr(out, "heads=2 head-dim=48 kv-len=300\n"));
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* On a terminal (script(1) gives the run one) the progress line shows cases done, elapsed time,
 * an estimate of what is left and the rows being generated, each update within 100 columns. */
START_TEST(binary_progress_on_a_terminal)
{
    if (system("command -v script >/dev/null 2>&1") != 0)
        return; /* no script(1): nothing to give the run a terminal */
    char dir[256], cmd[1024];
    test_mkdtemp(dir, sizeof dir, "progress");
    snprintf(cmd, sizeof cmd, "script -qc \"'%s' run --device cpu --op sum --n 4M --batch 1,16 --strategy tree,split "
             "--trials 2 --reps 1 --quiet --out '%s'\" /dev/null", CLREPRO_BIN, dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    static char out[1 << 16];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(strstr(out, "s left") != NULL, "no estimate in: %.300s", out);
    ck_assert_msg(strstr(out, "generating") != NULL, "no input generation in: %.300s", out);
    /* Each update: from "\r\033[K" to the next "\r". */
    for (const char *u = strstr(out, "\033[K"); u; u = strstr(u + 1, "\033[K")) {
        const char *end = strchr(u + 3, '\r');
        size_t len = end ? (size_t)(end - u - 3) : strlen(u + 3);
        ck_assert_msg(len <= 100, "a progress line of %zu bytes: %.120s", len, u + 3);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* An operation's own tuning check: sum's kernels hold the exact merge and sum_tree_final's block
 * in local memory. */
START_TEST(op_tuning_checks)
{
    clr_device dev = {.name = "small", .local_mem = 32768, .max_work_group_size = 1024};
    clr_tuning t = {.wg_size = 256, .vec = 16, .contig = 0, .groups_per_cu = 8, .fixed_chunk = 1, .kv_chunk = 1};
    clr_error err = {0};
    ck_assert_int_eq(clr_op_sum.check_tuning(&t, &dev, &err), 0); /* 16 KiB + 16 KiB, and 21 KiB of digits */
    dev.local_mem = 24576;
    ck_assert_int_eq(clr_op_sum.check_tuning(&t, &dev, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "32768 bytes of local memory") != NULL, "%s", err.msg);
    t.contig = 1; /* a work-item per work-group: 64 B + 16 KiB; the digits, 21 KiB, fit */
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_op_sum.check_tuning(&t, &dev, &err), 0);
    t.wg_size = 512; /* 42 KiB of digits */
    ck_assert_int_eq(clr_op_sum.check_tuning(&t, &dev, &err), CLR_EUSAGE);
}
END_TEST

/* Two identical devices in one run get a results folder each (issue 12: the second wrote over
 * the first): in the pre-flight, on a device list made by hand, and end to end where PoCL
 * exposes two identical devices (POCL_DEVICES="pthread pthread", set in the child only). */
START_TEST(twin_devices_own_folders)
{
    char out[256], line[512], slug[256], want[600];
    test_mkdtemp(out, sizeof out, "twins");
    snprintf(line, sizeof line, "run --op sum --n 4096 --batch 1 --trials 2 --reps 1 --strategy tree --out %s", out);
    size_t n;
    clr_input in;
    clr_planned_run *r = plan_line(line, &n, &in);
    clr_cli cli;
    clr_error err = {0};
    ck_assert_int_eq(parse(line, &cli, &err), 0);
    clr_device twins[3] = {test_device(), test_device(), test_device()};
    for (unsigned i = 0; i < 3; ++i) {
        twins[i].platform_index = 0;
        twins[i].device_index = i;
    }
    snprintf(twins[2].name, sizeof twins[2].name, "another device");
    clr_device_list list = {twins, 3};
    char dirs[3][PATH_MAX], tops[3][PATH_MAX];
    ck_assert_msg(clr_preflight(&cli, r, n, &list, dirs, tops, &err) == 0, "%s", err.msg);
    clr_device_slug(&twins[0], slug, sizeof slug);
    for (unsigned i = 0; i < 2; ++i) {
        snprintf(want, sizeof want, "%s/%s-0-%u", out, slug, i); /* same UUID (one device, twice): the index */
        ck_assert_str_eq(dirs[i], want);
    }
    clr_device_slug(&twins[2], slug, sizeof slug);
    snprintf(want, sizeof want, "%s/%s", out, slug); /* no twin: the plain slug */
    ck_assert_str_eq(dirs[2], want);
    list.count = 1; /* a device alone keeps results/<slug>/ */
    ck_assert_msg(clr_preflight(&cli, r, n, &list, dirs, tops, &err) == 0, "%s", err.msg);
    clr_device_slug(&twins[0], slug, sizeof slug);
    snprintf(want, sizeof want, "%s/%s", out, slug);
    ck_assert_str_eq(dirs[0], want);
    clr_planned_runs_free(r, n);
    clr_input_close(&in);
    clr_cli_free(&cli);

    /* End to end, where PoCL gives two pthread devices. */
    char cmd[1024], buf[4096];
    snprintf(cmd, sizeof cmd, "POCL_DEVICES='pthread pthread' '%s' devices --device pthread 2>/dev/null", CLREPRO_BIN);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int listed = 0;
    while (fgets(buf, sizeof buf, p))
        listed += buf[0] == '[';
    pclose(p);
    if (listed != 2) {
        fprintf(stderr, "twin_devices_own_folders: no two PoCL pthread devices here; end-to-end part skipped\n");
        return;
    }
    setenv("CLREPRO_TEST_ENV", "POCL_DEVICES='pthread pthread' ", 1);
    char args[1024];
    snprintf(args, sizeof args, "run --device pthread --op sum --n 4096 --batch 1 --trials 2 --reps 1 --strategy tree "
             "--no-progress --out %s/e2e", out);
    int status = run_bin(args, buf, sizeof buf);
    unsetenv("CLREPRO_TEST_ENV");
    ck_assert_msg(status == 0, "exit status %d; stderr ends: %s", status, test_tail(buf, 1500));
    snprintf(cmd, sizeof cmd, "%s/e2e", out);
    ck_assert_int_eq(test_count_files(cmd, "sum.json"), 2);
    snprintf(cmd, sizeof cmd, "cat %s/e2e/*-0-0/sum.json %s/e2e/*-0-1/sum.json | grep -c '\"id\": \"0:[01]\"'", out,
             out);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, p));
    pclose(p);
    ck_assert_msg(atoi(buf) == 2, "each folder's results should record its device: %s", buf);
}
END_TEST

/* scripts/bench.sh never replaces earlier results: each run a fresh folder, and an --out that
 * holds results refused (exit 2, nothing written). Run from a copy of the script in a scratch
 * repository whose install and build steps do nothing and whose build folder holds this clrepro. */
START_TEST(bench_script_keeps_results)
{
    char repo[256], cmd[4096], buf[4096];
    test_mkdtemp(repo, sizeof repo, "bench");
    snprintf(cmd, sizeof cmd, "cd '%s' && mkdir scripts bin && cp '%s/scripts/bench.sh' scripts/ && "
             "printf '#!/bin/sh\\nexit 0\\n' >scripts/install-deps.sh && cp scripts/install-deps.sh scripts/build.sh && "
             "chmod +x scripts/*.sh && ln -s '%s' bin/clrepro", repo, CLREPRO_SOURCE_DIR, CLREPRO_BIN);
    ck_assert_int_eq(system(cmd), 0);
    const char *args = "--device cpu --op sum --n 4096 --batch 1 --trials 2 --reps 1 --strategy tree --no-progress --quiet";
    for (int i = 0; i < 2; ++i) {
        snprintf(cmd, sizeof cmd, "cd '%s' && BUILD_DIR=bin scripts/bench.sh %s >/dev/null 2>&1", repo, args);
        ck_assert_int_eq(system(cmd), 0);
    }
    snprintf(cmd, sizeof cmd, "%s/results", repo);
    ck_assert_int_eq(test_count_files(cmd, "sum.json"), 2); /* two runs, two folders: none replaced */
    /* --out naming a folder that holds results: refused before anything runs */
    snprintf(cmd, sizeof cmd, "cd '%s' && BUILD_DIR=bin scripts/bench.sh %s --out results 2>&1 >/dev/null; echo \"rc=$?\"",
             repo, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    ck_assert_msg(strstr(buf, "bench.sh: error: --out results already holds results") && strstr(buf, "rc=2"), "%s",
                  buf);
    snprintf(cmd, sizeof cmd, "%s/results", repo);
    ck_assert_int_eq(test_count_files(cmd, "sum.json"), 2);
}
END_TEST

int main(void)
{
    unsetenv("CLREPRO_DEVICE"); /* the tests choose their devices themselves */
    Suite *s = suite_create("cli");
    TCase *p = tcase_create("parse");
    tcase_add_test(p, cli_defaults);
    tcase_add_test(p, cli_values);
    tcase_add_test(p, cli_errors);
    tcase_add_test(p, parse_sizes);
    tcase_add_test(p, cli_demo);
    tcase_add_test(p, demo_permutation_is_a_bijection);
    tcase_add_test(p, cli_lists_and_numbers);
    tcase_add_test(p, cli_sweeps);
    tcase_add_test(p, sweeps_need_yes);
    tcase_add_test(p, cli_nothing_after_help_or_version);
    tcase_add_test(p, cli_demo_seed_range);
    tcase_add_test(p, messages_escape_control_characters);
    tcase_add_test(p, device_selectors);
    tcase_add_test(p, plan_from_tables);
    tcase_add_test(p, plan_input_keeps_seed);
    tcase_add_test(p, op_tuning_checks);
    tcase_add_test(p, cli_device_from_environment);
    suite_add_tcase(s, p);
    TCase *b = tcase_create("binary");
    tcase_add_test(b, binary_bad_input);
    tcase_add_test(b, binary_corrupt_npy_and_broken_kernel);
    tcase_add_test(b, binary_demo_order);
    tcase_add_test(b, binary_usage_errors);
    tcase_add_test(b, binary_help_and_devices);
    tcase_add_test(b, binary_summary_fits_100_columns);
    tcase_add_test(b, binary_progress_on_a_terminal);
    tcase_add_test(b, binary_demo_memory);
    tcase_add_test(b, binary_strict_broken_claim);
    tcase_add_test(b, twin_devices_own_folders);
    tcase_add_test(b, bench_script_keeps_results);
    suite_add_tcase(s, b);
    return clr_run_suite(s);
}
