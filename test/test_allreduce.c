/* test_allreduce.c: `clrepro allreduce` and fleet mode. The replays and the command line on the
 * host; then, where MPI was built in, real runs under mpirun with several ranks on PoCL (each
 * rank limited to one core): every case valid, ordered and exact the same bits at every rank
 * count and the layer's ordered bit for bit the one-device tiled, kernels that drop one addend
 * caught, bad input refused by rank 0 with nothing written, and a fleet run's files and
 * comparison, one rank failing included. */
#include <jansson.h>
#include <math.h>
#include <time.h>
#include "allreduce.h"
#include "reference.h"
#include "test_util.h"

START_TEST(lcm_and_blocks)
{
    ck_assert_uint_eq(clr_ar_lcm_upto(1, 65535), 1);
    ck_assert_uint_eq(clr_ar_lcm_upto(4, 65535), 12);
    ck_assert_uint_eq(clr_ar_lcm_upto(8, 65535), 840);
    ck_assert_uint_eq(clr_ar_lcm_upto(30, 65535), 0); /* beyond the limit */
    /* blocks cover 0..n-1 once, in order, at every R */
    for (size_t R = 1; R <= 9; ++R)
        for (size_t n = 1; n <= 40; ++n) {
            ck_assert_uint_eq(clr_ar_block_start(0, n, R), 0);
            ck_assert_uint_eq(clr_ar_block_start(R, n, R), n);
            for (size_t i = 0; i < n; ++i) {
                size_t b = clr_ar_block_of(i, n, R);
                ck_assert_uint_lt(b, R);
                ck_assert(clr_ar_block_start(b, n, R) <= i && i < clr_ar_block_start(b + 1, n, R));
            }
        }
}
END_TEST

START_TEST(replays_follow_their_order)
{
    /* 1, 2^-24, 2^-24, -1, ... : the order decides what the small terms leave behind */
    float v[12];
    for (int s = 0; s < 12; ++s)
        v[s] = (s % 3 == 0) ? 1.0f : ldexpf(1.0f, -24);
    v[11] = -1.0f;
    double tol;
    float fold = clr_ar_fold(v, 12);
    for (size_t R = 1; R <= 12; ++R) {
        if (12 % R)
            continue;
        /* ordered: the fold itself at every R */
        ck_assert(clr_ar_expected(CLR_AR_ORDERED, v, 12, R, 0, 1, &tol) == fold);
        ck_assert(tol == 0);
        /* exact: the correctly rounded sum at every R */
        ck_assert(clr_ar_expected(CLR_AR_EXACT, v, 12, R, 0, 1, &tol) == clr_exact_sum(v, 12));
        /* mpi: a bound around the exact sum */
        clr_ar_expected(CLR_AR_MPI, v, 12, R, 0, 1, &tol);
        ck_assert(tol > 0);
    }
    /* ring at R = 1 is the fold; at R = 2 block b starts from rank b's partial */
    ck_assert(clr_ar_expected(CLR_AR_RING, v, 12, 1, 0, 1, &tol) == fold);
    float p[2] = {clr_ar_fold(v, 6), clr_ar_fold(v + 6, 6)};
    ck_assert(clr_ar_ring_replay(p, 2, 0, 4) == p[0] + p[1]);
    ck_assert(clr_ar_ring_replay(p, 2, 3, 4) == p[1] + p[0]);
    /* three partials where the association shows: block 1 of 3 adds (p1 + p2) + p0 */
    float q[3] = {1.0f, ldexpf(1.0f, -24), ldexpf(1.0f, -24)};
    ck_assert(clr_ar_ring_replay(q, 3, 0, 3) == 1.0f);                        /* (1 + u) + u */
    ck_assert(clr_ar_ring_replay(q, 3, 1, 3) == 1.0f + ldexpf(1.0f, -23));   /* (u + u) + 1 */
}
END_TEST

static int parse(const char *line, clr_ar_options *o, clr_error *err)
{
    char buf[1024], *argv[64];
    int argc = 0, help = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 64; t = strtok(NULL, " "))
        argv[argc++] = t;
    memset(err, 0, sizeof *err);
    return clr_ar_parse(argc, argv, o, &help, err);
}

START_TEST(command_line)
{
    clr_ar_options o;
    clr_error err;
    ck_assert_int_eq(parse("clrepro allreduce", &o, &err), CLR_OK);
    ck_assert_uint_eq(o.nsizes, 4);
    ck_assert_uint_eq(o.layer_k, 4096);
    ck_assert_uint_eq(o.strategies, 15);
    clr_ar_options_free(&o);
    ck_assert_int_eq(parse("clrepro allreduce --strategy ordered,exact --n 1K,8K --layer 512x128 --ranks 1,2", &o, &err),
                     CLR_OK);
    ck_assert_uint_eq(o.strategies, (1u << CLR_AR_ORDERED) | (1u << CLR_AR_EXACT));
    ck_assert_uint_eq(o.sizes[1], 8192);
    ck_assert_uint_eq(o.layer_n, 128);
    clr_ar_options_free(&o);
    /* rank counts ascending, each once: the first is what the others are compared with */
    ck_assert_int_eq(parse("clrepro allreduce --ranks 4,1,2,1", &o, &err), CLR_OK);
    ck_assert_uint_eq(o.nranks, 3);
    ck_assert(o.ranks[0] == 1 && o.ranks[1] == 2 && o.ranks[2] == 4);
    clr_ar_options_free(&o);
    static const struct {
        const char *line, *says;
    } bad[] = {
        {"clrepro allreduce --bogus", "unknown option '--bogus'"},
        {"clrepro allreduce --strategy mpi,tree", "unknown strategy 'tree'"},
        {"clrepro allreduce --n 12x", "--n '12x'"},
        {"clrepro allreduce --n 0", "--n '0'"},
        {"clrepro allreduce --layer 1000x64", "not a multiple of 256"},
        {"clrepro allreduce --layer 4096", "expected KxN"},
        {"clrepro allreduce --n off --layer off", "nothing to run"},
        {"clrepro allreduce --ranks 0", "--ranks '0'"},
        {"clrepro allreduce --slices 70000", "--slices '70000'"},
        {"clrepro allreduce --reps", "--reps needs a value"},
        {"clrepro allreduce --out -", "name a directory"},
        {"clrepro allreduce stray", "unexpected argument 'stray'"},
        {"clrepro allreduce --layer 4096x1M --batch 2048", "over the 2^30"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        ck_assert_int_eq(parse(bad[i].line, &o, &err), CLR_EUSAGE);
        ck_assert_msg(strstr(err.msg, bad[i].says), "%s: %s", bad[i].line, err.msg);
        clr_ar_options_free(&o);
    }
}
END_TEST

START_TEST(refused_outside_mpi)
{
    char out[8192], dir[512], args[1024];
    test_mkdtemp(dir, sizeof dir, "nompi");
    snprintf(args, sizeof args, "allreduce --n 1024 --layer off --out '%s/out'", dir);
    int rc = test_run_bin(args, 1, out, sizeof out);
    ck_assert_int_eq(rc, CLR_EUSAGE);
#ifdef CLREPRO_HAVE_MPI
    ck_assert_msg(strstr(out, "mpirun -np R clrepro allreduce"), "%s", out);
#else
    ck_assert_msg(strstr(out, "built without MPI"), "%s", out);
#endif
    struct stat sb;
    char sub[600];
    snprintf(sub, sizeof sub, "%s/out", dir);
    ck_assert_int_ne(stat(sub, &sb), 0);
}
END_TEST

#ifdef CLREPRO_HAVE_MPI
/* mpirun -np N clrepro ARGS, each rank on one core of the first CPU device; status and output.
 * Shared memory only (no network probing); in the sanitizer build LeakSanitizer unwinds with
 * DWARF, so that the stacks of what Open MPI keeps until exit reach its libraries (which have no
 * frame pointers) and test/lsan.supp can match them. */
static int run_mpi(int np, const char *args, char *out, size_t size)
{
    char cmd[8000];
    int len = snprintf(cmd, sizeof cmd,
                       "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                       "OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader "
                       "POCL_MAX_PTHREAD_COUNT=1 POCL_CPU_MAX_CU_COUNT=1 "
                       "ASAN_OPTIONS=\"${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}fast_unwind_on_malloc=0\" "
                       "'%s' %s -np %d '%s' %s",
                       CLREPRO_MPIEXEC, CLREPRO_MPIEXEC_FLAGS, np, CLREPRO_BIN, args);
    ck_assert_int_lt(len, (int)sizeof cmd);
    return test_run_capture(cmd, 1, out, size);
}

static json_t *load_doc(const char *dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/allreduce.json", dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
    return doc;
}

START_TEST(three_ranks_every_case_valid)
{
    char out[65536], dir[512], args[2048];
    test_mkdtemp(dir, sizeof dir, "ar3");
    snprintf(args, sizeof args, "allreduce --device cpu --n 4096,70001 --layer 512x96 --batch 3 --reps 2 --warmup 1 "
                                "--quiet --out '%s/out'", dir);
    int rc = run_mpi(3, args, out, sizeof out);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, test_tail(out, 3000));
    char od[600];
    snprintf(od, sizeof od, "%s/out", dir);
    json_t *doc = load_doc(od), *cases = json_object_get(doc, "cases");
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "world")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "slices")), 6);
    /* plain: 4 strategies x 2 sizes x R = 1, 2, 3; layer (2 chunks): 4 x 1 x R = 1, 2 */
    ck_assert_uint_eq(json_array_size(cases), 4 * 2 * 3 + 4 * 2);
    size_t i, variant = 0;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *s = json_string_value(json_object_get(c, "strategy"));
        int layer = !strcmp(json_string_value(json_object_get(c, "part")), "layer");
        ck_assert_msg(json_is_true(json_object_get(c, "valid")), "case %zu (%s) invalid: %s", i, s,
                      json_string_value(json_object_get(c, "why")));
        ck_assert(json_integer_value(json_object_get(c, "checked")) > 0);
        int same = json_is_true(json_object_get(c, "same_as_smallest_r"));
        if (!strcmp(s, "ordered") || !strcmp(s, "exact"))
            ck_assert_msg(same, "%s changed bits with the rank count (case %zu)", s, i);
        else
            variant += !same;
        if (layer && !strcmp(s, "ordered"))
            ck_assert_msg(json_is_true(json_object_get(c, "same_as_tiled")), "layer ordered differs from tiled");
        if (layer && json_integer_value(json_object_get(c, "ranks")) == 1 && strcmp(s, "exact"))
            ck_assert_msg(json_is_true(json_object_get(c, "same_as_tiled")), "%s at R = 1 differs from tiled", s);
    }
    /* the rank count does move mpi's and ring's bits on these inputs */
    ck_assert_uint_gt(variant, 0);
    json_decref(doc);
    char md[600];
    snprintf(md, sizeof md, "%s/out/allreduce.md", dir);
    FILE *f = fopen(md, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(out, "| ordered | n=70001 | A | A | A | 1 | 0 |"));
    ck_assert_ptr_nonnull(strstr(out, "0 failed validation"));
}
END_TEST

/* A copy of the kernels where `edit` (a sed expression) breaks cl/<file>. */
static void sabotaged_file(const char *dir, const char *file, const char *edit, char *kdir, size_t size)
{
    char cmd[4096];
    snprintf(kdir, size, "%s/cl", dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp '%s'/cl/*.cl* '%s'/ && sed -i '%s' '%s/%s'", kdir, CLREPRO_SOURCE_DIR,
             kdir, edit, kdir, file);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cmp -s '%s/cl/%s' '%s/%s'", CLREPRO_SOURCE_DIR, file, kdir, file);
    ck_assert_msg(system(cmd) != 0, "the edit %s changed nothing", edit);
}

static void sabotaged_kernels(const char *dir, const char *edit, char *kdir, size_t size)
{
    sabotaged_file(dir, "allreduce.cl", edit, kdir, size);
}

START_TEST(dropped_addend_fails)
{
    /* element 4097's slice 0 is not added: mpi, ring and ordered fold with it */
    char out[65536], dir[512], kdir[600], args[2048];
    test_mkdtemp(dir, sizeof dir, "drop");
    sabotaged_kernels(dir, "s/a += x\\[(size_t)s \\* n + i\\];/if (i != 4097 || s != 0) a += x[(size_t)s * n + i];/",
                      kdir, sizeof kdir);
    snprintf(args, sizeof args, "allreduce --device cpu --n 5000 --layer off --reps 1 --warmup 0 --quiet "
                                "--kernel-dir '%s' --out '%s/out'", kdir, dir);
    int rc = run_mpi(2, args, out, sizeof out);
    ck_assert_msg(rc == CLR_EFAIL, "rc %d: %s", rc, test_tail(out, 3000));
    ck_assert_msg(strstr(out, "failed validation"), "%s", test_tail(out, 3000));
    char od[600];
    snprintf(od, sizeof od, "%s/out", dir);
    json_t *doc = load_doc(od), *c;
    size_t i, invalid = 0;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
    {
        const char *s = json_string_value(json_object_get(c, "strategy"));
        int valid = json_is_true(json_object_get(c, "valid"));
        ck_assert_msg(!strcmp(s, "exact") ? valid : !valid, "%s at R = %lld: valid %d", s,
                      (long long)json_integer_value(json_object_get(c, "ranks")), valid);
        invalid += !valid;
        if (!valid)
            ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(c, "why")), "element 4097"));
    }
    ck_assert_uint_eq(invalid, 3 * 2);
    json_decref(doc);
}
END_TEST

/* allreduce with the kernels of kdir on 2 ranks (options: the cases): it fails validation, and
 * every case is invalid for a reason that names `why`. */
static void expect_every_case_invalid(const char *dir, const char *kdir, const char *options, const char *why)
{
    char out[65536], args[2048], od[600];
    snprintf(args, sizeof args, "allreduce --device cpu %s --reps 1 --warmup 0 --quiet --kernel-dir '%s' --out '%s/out'",
             options, kdir, dir);
    int rc = run_mpi(2, args, out, sizeof out);
    ck_assert_msg(rc == CLR_EFAIL, "rc %d: %s", rc, test_tail(out, 3000));
    snprintf(od, sizeof od, "%s/out", dir);
    json_t *doc = load_doc(od), *c;
    size_t i;
    ck_assert_uint_gt(json_array_size(json_object_get(doc, "cases")), 0);
    json_array_foreach(json_object_get(doc, "cases"), i, c)
    {
        const char *text = json_string_value(json_object_get(c, "why"));
        ck_assert(!json_is_true(json_object_get(c, "valid")));
        ck_assert_msg(text && strstr(text, why), "case %zu: %s", i, text ? text : "(no reason)");
    }
    json_decref(doc);
}

START_TEST(dropped_deposit_fails)
{
    /* exact: element 100's first local slice is not deposited (on every rank) */
    char dir[512], kdir[600];
    test_mkdtemp(dir, sizeof dir, "dropx");
    sabotaged_kernels(dir, "s/exact_deposit(&a, x\\[(size_t)s \\* n + i\\]);/if (i != 100 || s != 0) "
                           "exact_deposit(\\&a, x[(size_t)s * n + i]);/",
                      kdir, sizeof kdir);
    expect_every_case_invalid(dir, kdir, "--strategy exact --n 3000 --layer off", "element 100");
}
END_TEST

START_TEST(wrong_partials_fail)
{
    /* matmul without its fma (a product rounded, then added): the layer's partial products, and
     * the one-device tiled with them, are not the problem's; only the regenerated slices say so */
    char dir[512], kdir[600];
    test_mkdtemp(dir, sizeof dir, "nofma");
    sabotaged_file(dir, "matmul.cl", "1i #define clr_sabotaged_fma(a, b, c) ((a) * (b) + (c))\ns/\\bfma(/clr_sabotaged_fma(/g",
                   kdir, sizeof kdir);
    expect_every_case_invalid(dir, kdir, "--strategy ordered --n off --layer 512x64 --batch 2",
                              "a rank computed or placed its slices");
}
END_TEST

/* The message appears once (rank 0's), the exit is non-zero, nothing is written. */
static void expect_refused(int np, const char *extra, const char *says)
{
    char out[65536], dir[512], args[2048], sub[600];
    test_mkdtemp(dir, sizeof dir, "refuse");
    snprintf(args, sizeof args, "allreduce --device cpu --reps 1 --warmup 0 --quiet --out '%s/out' %s", dir, extra);
    int rc = run_mpi(np, args, out, sizeof out);
    ck_assert_msg(rc != 0, "%s: accepted", extra);
    const char *first = strstr(out, says);
    ck_assert_msg(first, "%s: expected '%s' in: %s", extra, says, test_tail(out, 3000));
    ck_assert_msg(!strstr(first + 1, "clrepro: error"), "%s: more than one error message: %s", extra,
                  test_tail(out, 3000));
    struct stat sb;
    snprintf(sub, sizeof sub, "%s/out", dir);
    ck_assert_msg(stat(sub, &sb) != 0, "%s: the output folder was created", extra);
}

START_TEST(bad_input_refused_by_rank_zero)
{
    expect_refused(2, "--n 1024 --layer off --ranks 3", "--ranks 3: only 2 ranks were started");
    expect_refused(3, "--n 1024 --layer off --slices 4 --ranks 3", "--ranks 3: the plain all-reduce's 4 slices");
    expect_refused(3, "--n off --layer 512x64 --ranks 3", "does not split over 3 ranks");
    expect_refused(2, "--n 1024 --layer off --device no-such-device-anywhere", "no device or platform name contains");
    /* rank 1 alone without a device (its CLREPRO_DEVICE matches none): rank 0 says which rank */
    char one[1024];
    snprintf(one, sizeof one, "allreduce --device cpu --n 1024 --layer off --out '%s/one' : -np 1 env CLREPRO_DEVICE=no-such-device "
             "'%s' allreduce --n 1024 --layer off --out '%s/one'", test_tmp_root, CLREPRO_BIN, test_tmp_root);
    char out[8192];
    int rc = run_mpi(1, one, out, sizeof out);
    ck_assert_int_eq(rc, CLR_EUSAGE);
    ck_assert_msg(strstr(out, "clrepro: error: rank 1 (host") && strstr(out, "no-such-device"), "%s",
                  test_tail(out, 3000));
    expect_refused(2, "--n 1024 --layer off --kernel-dir /nonexistent-clrepro-kernels", "rank 0");
    char file[600], extra[1024];
    test_mkdtemp(file, sizeof file, "plain-file");
    strcat(file, "/f");
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(extra, sizeof extra, "--n 1024 --layer off --out '%s/sub'", file); /* the last --out wins */
    expect_refused(2, extra, "is not a directory");
}
END_TEST

START_TEST(fleet_mode)
{
    char out[65536], dir[512], args[2048], path[1024];
    test_mkdtemp(dir, sizeof dir, "fleet");
    snprintf(args, sizeof args, "run --device cpu --op sum --strategy serial,tree --n 4096 --batch 1,2 --trials 2 "
                                "--reps 1 --quiet --out '%s/out'", dir);
    int rc = run_mpi(2, args, out, sizeof out);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, test_tail(out, 3000));
    char host[128];
    ck_assert_int_eq(gethostname(host, sizeof host), 0);
    struct stat sb;
    for (int q = 0; q < 2; ++q) {
        snprintf(path, sizeof path, "%s/out/%.100s-rank%d", dir, host, q);
        ck_assert_msg(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode), "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/out/compare/compare.json", dir);
    json_error_t jerr;
    json_t *cmp = json_load_file(path, 0, &jerr);
    ck_assert_msg(cmp != NULL, "%s: %s", path, jerr.text);
    json_decref(cmp);
    snprintf(path, sizeof path, "%s/out/fleet.md", dir);
    ck_assert_int_eq(stat(path, &sb), 0);

    /* rank 1 finds no device: rank 0's results are kept, the run fails, fleet.md says why */
    char d2[512];
    test_mkdtemp(d2, sizeof d2, "fleet-fail");
    snprintf(args, sizeof args, "run --op sum --strategy serial --n 4096 --batch 1 --trials 2 --reps 1 --quiet "
                                "--out '%s/out' : -np 1 env CLREPRO_DEVICE=no-such-device '%s' run --op sum --strategy "
                                "serial --n 4096 --batch 1 --trials 2 --reps 1 --quiet --out '%s/out'",
             d2, CLREPRO_BIN, d2);
    rc = run_mpi(1, args, out, sizeof out);
    ck_assert_msg(rc != 0, "a failed rank went unreported: %s", test_tail(out, 3000));
    ck_assert_msg(strstr(out, "rank 1") && strstr(out, "no-such-device"), "%s", test_tail(out, 3000));
    snprintf(path, sizeof path, "%s/out/%.100s-rank0", d2, host);
    ck_assert_msg(stat(path, &sb) == 0, "rank 0's results were not kept");
    snprintf(path, sizeof path, "%s/out/fleet.md", d2);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(out, "no-such-device"), "%s", out);

    /* --resume has no journal to resume in fleet mode: refused once, before anything runs */
    char d3[512];
    test_mkdtemp(d3, sizeof d3, "fleet-resume");
    snprintf(args, sizeof args, "run --device cpu --op sum --n 4096 --batch 1 --resume --quiet --out '%s/out'", d3);
    rc = run_mpi(2, args, out, sizeof out);
    ck_assert_int_eq(rc, CLR_EUSAGE);
    const char *first = strstr(out, "--resume: fleet mode");
    ck_assert_msg(first && !strstr(first + 1, "--resume: fleet mode"), "%s", test_tail(out, 3000));
}
END_TEST

START_TEST(fleet_endless_kernel)
{
    /* every rank's peak measurement spins for ever: each rank gives up at --timeout, tells rank 0,
     * and the job ends with a failure instead of hanging */
    char out[65536], dir[512], kdir[600], cmd[4096], args[2048];
    test_mkdtemp(dir, sizeof dir, "fleet-endless");
    snprintf(kdir, sizeof kdir, "%s/cl", dir);
    snprintf(cmd, sizeof cmd,
             "mkdir '%s' && cp '%s'/cl/*.cl* '%s'/ && perl -0pi -e 's/(void read_floats_wg\\(.*?\\{)/$1\\n    "
             "volatile global uint *spin = (volatile global uint *)sink;\\n    while (spin[0] != 0x7fc00001u) { }/s' "
             "'%s/copy.cl' && grep -q 'volatile global uint' '%s/copy.cl'",
             kdir, CLREPRO_SOURCE_DIR, kdir, kdir, kdir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "run --device cpu --op sum --strategy serial --n 4096 --batch 1 --trials 2 --reps 1 "
                                "--quiet --kernel-dir '%s' --out '%s/out' --timeout 2", kdir, dir);
    time_t start = time(NULL);
    int rc = run_mpi(2, args, out, sizeof out);
    double took = difftime(time(NULL), start);
    ck_assert_msg(rc != 0, "accepted: %s", test_tail(out, 3000));
    ck_assert_msg(took < 120, "took %.0f s to give up", took);
    ck_assert_msg(strstr(out, "rank 1") && strstr(out, "abandoned"), "%s", test_tail(out, 3000));
    char sub[600];
    struct stat sb;
    snprintf(sub, sizeof sub, "%s/out", dir);
    ck_assert_msg(stat(sub, &sb) != 0, "something was written");
}
END_TEST
#endif

static Suite *suite(void)
{
    Suite *s = suite_create("allreduce");
    TCase *host = tcase_create("host");
    tcase_add_test(host, lcm_and_blocks);
    tcase_add_test(host, replays_follow_their_order);
    tcase_add_test(host, command_line);
    tcase_add_test(host, refused_outside_mpi);
    suite_add_tcase(s, host);
#ifdef CLREPRO_HAVE_MPI
    TCase *mpi = tcase_create("mpi");
    tcase_set_timeout(mpi, 600);
    tcase_add_test(mpi, three_ranks_every_case_valid);
    tcase_add_test(mpi, dropped_addend_fails);
    tcase_add_test(mpi, dropped_deposit_fails);
    tcase_add_test(mpi, wrong_partials_fail);
    tcase_add_test(mpi, bad_input_refused_by_rank_zero);
    tcase_add_test(mpi, fleet_mode);
    tcase_add_test(mpi, fleet_endless_kernel);
    suite_add_tcase(s, mpi);
#endif
    return s;
}

int main(void)
{
    return clr_run_suite(suite());
}
