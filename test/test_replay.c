/* test_replay.c: validation by replay cannot be fooled. Every deterministic sum strategy is
 * replayed by the host and must give the same bits at sizes with every kind of tail and at
 * tunings with fewer work-items than tail elements (the dropped-tail bug of issue 10); and a
 * kernel sabotaged to drop one element fails validation, even where the error bound alone would
 * have passed it. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "op.h"
#include "reference.h"
#include "runner.h"
#include "test_util.h"

static const char *const sum_strategies[] = {"serial", "tree", "split", "fixedsplit", "atomic", "compensated", "exact"};
#define NSUM (sizeof sum_strategies / sizeof sum_strategies[0])

/* A row whose exact sum is tiny against sum|x|: a cancelling pair in front of small values, so a
 * missing small value stays inside the classic bound gamma_d * sum|x|. */
static void cancelling_row(float *row, size_t n, uint64_t seed)
{
    clr_gen_row(seed, CLR_DIST_UNIFORM, 0, row, n);
    if (n >= 4) {
        row[0] = 3.0e5f;
        row[n / 2] = -3.0e5f;
    }
}

/* Runs sum `strategy` (NULL: every one of sum_strategies) over three copies of row at B = 1 and 3. */
static void run_one(const char *strategy, size_t n, const float *row, unsigned wg, unsigned vec, int contig,
                    const char *kernel_dir, clr_device_result *res)
{
    clr_device dev = test_device();
    clr_shape shape = {.dims = {n}};
    size_t batches[] = {1, 3};
    float *rows = malloc(3 * n * sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    for (size_t r = 0; r < 3; ++r)
        memcpy(rows + r * n, row, n * sizeof *rows);
    clr_run_config cfg = test_file_config(&clr_op_sum, strategy ? strategy : sum_strategies[0], &shape, batches, 2,
                                          rows, 3, n);
    if (!strategy) { /* every strategy of sum_strategies in one run: one context, one build */
        for (size_t s = 0; s < NSUM; ++s)
            cfg.strategy_index[s] = (size_t)(clr_strategy_find(&clr_op_sum, sum_strategies[s]) - clr_op_sum.strategies);
        cfg.nstrategies = NSUM;
    }
    cfg.wg = wg;
    cfg.vec = vec;
    cfg.contig = contig;
    cfg.kernel_dir = kernel_dir;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s n %zu: %s", strategy, n, err.msg);
    free(rows);
}

START_TEST(every_sum_strategy_equals_its_replay)
{
    /* Tails of 0 to VEC-1 elements with 1, 2 and 256 work-items; ragged chunks and blocks. */
    static const unsigned tunings[][3] = {{1, 4, 2}, {2, 16, 2}, {256, 4, 2}, {1, 4, 1}, {4, 8, 1}, {64, 1, 1}};
    static const size_t sizes[] = {1, 3, 7, 17, 4099, 70003};
    for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t)
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; ++z) {
            size_t n = sizes[z];
            float *row = malloc(n * sizeof *row);
            cancelling_row(row, n, 11 + z);
            clr_device_result res;
            run_one(NULL, n, row, tunings[t][0], tunings[t][1], (int)tunings[t][2], NULL, &res);
            ck_assert_int_eq(res.replay, 1);
            ck_assert_uint_eq(res.ncases, NSUM * 2);
            for (size_t i = 0; i < res.ncases; ++i) {
                const clr_case *c = &res.cases[i];
                const char *name = clr_op_sum.strategies[c->strategy].name;
                ck_assert_msg(c->replayed && c->valid && c->replay_mismatches == 0,
                              "%s n %zu B %zu wg %u vec %u contig %u: %s", name, n, c->shape.batch, tunings[t][0],
                              tunings[t][1], tunings[t][2], c->first_mismatch[0] ? c->first_mismatch : "not valid");
                if (!strcmp(name, "exact"))
                    ck_assert_uint_eq(clr_float_bits(c->outputs[0]), clr_float_bits(clr_exact_sum(row, n)));
            }
            clr_device_result_free(&res);
            free(row);
        }
}
END_TEST

/* Each sabotage drops one element of the row (or one per work-item) in one strategy's kernel. */
static const struct {
    const char *file, *old, *new;
    const char *strategies[3];
    const char *old2, *new2; /* a second edit, or NULL */
} sabotages[] = {
    {"reduce.clh", "for (ulong t = nvec * VEC + lid; t < len; t += WG_SIZE)\n        s += p[t];",
     "for (ulong t = nvec * VEC + lid + WG_SIZE; t < len; t += WG_SIZE)\n        s += p[t];",
     {"split", "fixedsplit"}, NULL, NULL}, /* atomic: the race's bound (gamma_(parts-1) sum|partial|) is all there is */
    {"sum.cl", "for (ulong i = 0; i < n; ++i)\n        s += p[i];", "for (ulong i = 1; i < n; ++i)\n        s += p[i];",
     {"serial"}, NULL, NULL},
    {"tree.clh", "e[l] = first + l < len ? LOAD1(begin + first + l) : -0.0f;",
     "e[l] = first + l + 1 < len ? LOAD1(begin + first + l) : -0.0f;", {"tree"}, NULL, NULL},
    {"sum.cl", "for (ulong t = nvec * VEC + lid; t < len; t += WG_SIZE) {",
     "for (ulong t = nvec * VEC + lid + WG_SIZE; t < len; t += WG_SIZE) {", {"compensated"}, NULL, NULL},
    /* exact's certified fast path (the first such loop in exact.clh, where the device has fp64) */
    {"exact.clh", "for (ulong t = nvec * VEC + lid; t < len; t += WG_SIZE)", "for (ulong t = nvec * VEC + lid + WG_SIZE; t < len; t += WG_SIZE)",
     {"exact"}, NULL, NULL},
    /* exact's long accumulator: every sum refused by the fast path, and the accumulator's tail
     * loop dropping an element */
    {"exact.clh", "if (f == 0.0f || isinf(f) || fabs(f) == FLT_MAX)", "if (1)", {"exact"},
     "for (ulong t = nvec * VEC + lid; t < len; t += WG_SIZE) /* the tail, as wi_partial_sum deals it */\n        exact_deposit(a, p[t]);",
     "for (ulong t = nvec * VEC + lid + WG_SIZE; t < len; t += WG_SIZE)\n        exact_deposit(a, p[t]);"},
};

START_TEST(a_kernel_dropping_one_element_fails)
{
    /* n = 4099 with one work-item of vectors of 4: a tail of 3 elements, one block of 4096 and a
     * ragged one, so every sabotage above removes at least one element from the row. */
    const size_t n = 4099;
    float *row = malloc(n * sizeof *row);
    cancelling_row(row, n, 3);
    size_t hidden_by_bound = 0;
    for (size_t k = 0; k < sizeof sabotages / sizeof sabotages[0]; ++k) {
        char dir[300];
        const char *olds[] = {sabotages[k].old, sabotages[k].old2}, *news[] = {sabotages[k].new, sabotages[k].new2};
        test_sabotaged_kernels_n(dir, sizeof dir, sabotages[k].file, sabotages[k].old2 ? 2 : 1, olds, news);
        int exact = !strcmp(sabotages[k].strategies[0], "exact");
        if (exact && !sabotages[k].old2 && !test_device().fp64) {
            test_remove_kernels(dir);
            continue; /* the fast path is only compiled with fp64 */
        }
        /* exact: CPU-style slices, so rows of several parts (the three launches of
         * sum_exact_dd_partials, _certify and _certified_finish: the fast path's shares and the
         * accumulator's parts); test_exact holds rows of one part to the host's sums */
        size_t several = 0;
        int contig = exact ? 1 : 2;
        for (size_t s = 0; s < 3 && sabotages[k].strategies[s]; ++s) {
            clr_device_result res;
            run_one(sabotages[k].strategies[s], n, row, 1, 4, contig, dir, &res);
            for (size_t i = 0; i < res.ncases; ++i) {
                const clr_case *c = &res.cases[i];
                ck_assert_msg(!c->valid && c->replay_mismatches > 0,
                              "%s B %zu contig %d: a dropped element passed validation", sabotages[k].strategies[s],
                              c->shape.batch, contig);
                hidden_by_bound += c->rows_out_of_bound == 0;
                several += clr_plan_get(&c->plan, "parts") > 1;
            }
            clr_device_result_free(&res);
        }
        ck_assert_msg(!exact || several > 0, "the exact sabotage never ran rows of several parts");
        test_remove_kernels(dir);
    }
    /* The reason for replays: the bound alone let some of these wrong answers through. */
    ck_assert_msg(hidden_by_bound > 0, "every sabotage was also caught by the bound: the data no longer shows why "
                                       "replays are needed");
    free(row);
}
END_TEST

/* matmul: tiled and splitk are replayed bit for bit at every M (4 first and 4 last rows and the
 * probes), splitk-atomic within its race's bound; a chain that skips one k fails. */
static void run_matmul(const char *strategy, size_t K, size_t N, const float *a, size_t rows, const char *kernel_dir,
                       int contig, clr_device_result *res)
{
    clr_device dev = test_device();
    clr_shape shape = {.dims = {K, N}};
    size_t batches[] = {1, 3, 12, 40};
    clr_run_config cfg = test_file_config(&clr_op_matmul, strategy, &shape, batches, 4, a, rows, K);
    cfg.kernel_dir = kernel_dir;
    cfg.contig = contig;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s: %s", strategy, err.msg);
}

START_TEST(matmul_replays_and_a_skipped_k_fails)
{
    const size_t K = 777, N = 300, ROWS = 40;
    float *a = malloc(ROWS * K * sizeof *a);
    for (size_t r = 0; r < ROWS; ++r)
        clr_gen_row(4, CLR_DIST_NORMAL, r, a + r * K, K);
    static const char *const strategies[] = {"tiled", "splitk", "splitk-atomic"};
    char dir[300];
    test_sabotaged_kernels(dir, sizeof dir, "matmul.cl", "MM_UNROLL_K for (uint k = kc; k < kend; ++k)",
                      "MM_UNROLL_K for (uint k = kc + (kc == 0); k < kend; ++k)");
    for (int contig = 1; contig <= 2; ++contig)
        for (size_t s = 0; s < 3; ++s) {
            clr_device_result res;
            run_matmul(strategies[s], K, N, a, ROWS, NULL, contig, &res);
            for (size_t i = 0; i < res.ncases; ++i)
                ck_assert_msg(res.cases[i].replayed && res.cases[i].valid, "%s M %zu contig %d: %s", strategies[s],
                              res.cases[i].shape.batch, contig,
                              res.cases[i].first_mismatch[0] ? res.cases[i].first_mismatch : "not valid");
            clr_device_result_free(&res);
            if (s == 2)
                continue; /* a bound cannot promise to see one product missing */
            run_matmul(strategies[s], K, N, a, ROWS, dir, contig, &res);
            for (size_t i = 0; i < res.ncases; ++i)
                if (clr_plan_get(&res.cases[i].plan, "tile_m") == 0) /* the sabotaged kernels ran */
                    ck_assert_msg(!res.cases[i].valid && res.cases[i].replay_mismatches > 0,
                                  "%s M %zu contig %d: a skipped product passed validation", strategies[s],
                                  res.cases[i].shape.batch, contig);
            clr_device_result_free(&res);
        }
    test_remove_kernels(dir);
    free(a);
}
END_TEST

/* rmsnorm: the sum of squares replayed, the normalization within 20u; tiny outputs (illcond
 * reaches subnormals) are not failures; a square left out is. */
/* The tuning's --contig for run_rmsnorm: the device's default, or the other path of row. */
static clr_contig rms_contig = CLR_CONTIG_DEVICE;

static void run_rmsnorm(const char *strategy, size_t D, clr_dist dist, const char *kernel_dir, clr_device_result *res)
{
    clr_device dev = test_device();
    clr_shape shape = {.dims = {D}};
    size_t batches[] = {1, 5};
    clr_run_config cfg = {0};
    cfg.op = &clr_op_rmsnorm;
    cfg.strategy_index[0] = (size_t)(clr_strategy_find(&clr_op_rmsnorm, strategy) - clr_op_rmsnorm.strategies);
    cfg.nstrategies = 1;
    cfg.shapes = &shape;
    cfg.nshapes = 1;
    cfg.batches = batches;
    cfg.nbatches = 2;
    cfg.trials = 2;
    cfg.reps = 1;
    cfg.warmup = 1;
    cfg.input.seed = 8;
    cfg.input.dist = dist;
    cfg.kernel_dir = kernel_dir;
    cfg.contig = rms_contig;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s: %s", strategy, err.msg);
}

START_TEST(rmsnorm_replays_and_a_missing_square_fails)
{
    static const char *const strategies[] = {"row", "split", "atomic"};
    static const clr_dist dists[] = {CLR_DIST_NORMAL, CLR_DIST_ILLCOND};
    for (size_t d = 0; d < 2; ++d)
        for (size_t s = 0; s < 3; ++s) {
            clr_device_result res;
            run_rmsnorm(strategies[s], 4096, dists[d], NULL, &res);
            for (size_t i = 0; i < res.ncases; ++i)
                ck_assert_msg(res.cases[i].replayed && res.cases[i].valid, "%s dist %zu B %zu: %s", strategies[s], d,
                              res.cases[i].shape.batch,
                              res.cases[i].first_mismatch[0] ? res.cases[i].first_mismatch : "beyond the bound");
            clr_device_result_free(&res);
        }
    /* row's work-group path (GPUs') too: the device's default runs its CPU path */
    rms_contig = CLR_CONTIG_NO;
    clr_device_result wg_res;
    run_rmsnorm("row", 4096, CLR_DIST_ILLCOND, NULL, &wg_res);
    for (size_t i = 0; i < wg_res.ncases; ++i)
        ck_assert_msg(wg_res.cases[i].replayed && wg_res.cases[i].valid, "row (contig 0) B %zu",
                      wg_res.cases[i].shape.batch);
    clr_device_result_free(&wg_res);
    char dir[300];
    test_sabotaged_kernels(dir, sizeof dir, "rmsnorm.cl", "for (uint i = begin + lid; i < end; i += WG_SIZE)",
                      "for (uint i = begin + lid + (lid == 0); i < end; i += WG_SIZE)");
    for (size_t s = 0; s < 3; ++s) {
        clr_device_result res;
        run_rmsnorm(strategies[s], 70000, CLR_DIST_NORMAL, dir, &res); /* beyond the registers: wg_sumsq */
        for (size_t i = 0; i < res.ncases; ++i)
            ck_assert_msg(!res.cases[i].valid && res.cases[i].replay_mismatches > 0,
                          "%s B %zu: a missing square passed validation", strategies[s], res.cases[i].shape.batch);
        clr_device_result_free(&res);
    }
    test_remove_kernels(dir);
    /* row's CPU path: the total without the first square */
    rms_contig = CLR_CONTIG_YES;
    test_sabotaged_kernels(dir, sizeof dir, "rmsnorm.cl", "    float total = HSUM(acc);\n",
                           "    float total = HSUM(acc) - in_load(xr, 0) * in_load(xr, 0);\n");
    clr_device_result res;
    run_rmsnorm("row", 70000, CLR_DIST_NORMAL, dir, &res);
    for (size_t i = 0; i < res.ncases; ++i)
        ck_assert_msg(!res.cases[i].valid && res.cases[i].replay_mismatches > 0,
                      "row (contig) B %zu: a missing square passed validation", res.cases[i].shape.batch);
    clr_device_result_free(&res);
    rms_contig = CLR_CONTIG_DEVICE;
    test_remove_kernels(dir);
}
END_TEST

/* rmsnorm's normalization is IEEE operations where the device rounds divide and sqrt correctly
 * (the program is built so): its bits are demanded, so a square too small to move y beyond the
 * 20u tolerance of other devices still fails. And matmul rows past the 32 validated against the
 * reference are replayed too (one in every 16 rows at least). */
START_TEST(small_errors_and_late_rows_fail)
{
    clr_device dev = test_device();
    ck_assert_msg(dev.single_fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT, "the test device lacks correctly rounded "
                                                                       "divide and sqrt");
    const size_t D = 4096, ROWS = 4;
    float *x = malloc(ROWS * D * sizeof *x);
    clr_gen_row(6, CLR_DIST_NORMAL, 0, x, ROWS * D);
    for (size_t r = 0; r < ROWS; ++r)
        x[r * D] = 0.05f; /* its square moves the total's bits, and y by about 5u */
    /* The held-register path (wg 256: D <= 16 wg) and wg_sumsq (wg 16), each missing x[0]^2. */
    /* and the CPU path (contig: one work-item a row, in vectors) */
    static const struct { unsigned wg; clr_contig contig; const char *old, *new; } paths[] = {
        {256, CLR_CONTIG_NO, "        if (lid + k * WG_SIZE < D)\n            s += held[k] * held[k];",
         "        if (lid + k * WG_SIZE < D && lid + k * WG_SIZE > 0)\n            s += held[k] * held[k];"},
        {16, CLR_CONTIG_NO, "for (uint i = begin + lid; i < end; i += WG_SIZE)",
         "for (uint i = begin + lid + (begin + lid == 0); i < end; i += WG_SIZE)"},
        {16, CLR_CONTIG_YES, "    float total = HSUM(acc);\n",
         "    float total = HSUM(acc) - in_load(xr, 0) * in_load(xr, 0);\n"},
    };
    char dir[300];
    clr_shape shape = {.dims = {D}};
    size_t batches[] = {1, 4};
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; ++p) {
        test_sabotaged_kernels(dir, sizeof dir, "rmsnorm.cl", paths[p].old, paths[p].new);
        for (int sabotaged = 0; sabotaged < 2; ++sabotaged) {
            clr_run_config cfg = test_file_config(&clr_op_rmsnorm, "row", &shape, batches, 2, x, ROWS, D);
            cfg.kernel_dir = sabotaged ? dir : NULL;
            cfg.wg = paths[p].wg;
            cfg.contig = paths[p].contig;
            clr_device_result res;
            clr_error err = {0};
            ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
            for (size_t i = 0; i < res.ncases; ++i)
                ck_assert_msg(sabotaged ? !res.cases[i].valid && res.cases[i].replay_mismatches > 0 : res.cases[i].valid,
                              "rmsnorm row, wg %u, B %zu, %s kernel: %s", paths[p].wg, res.cases[i].shape.batch,
                              sabotaged ? "sabotaged" : "real",
                              res.cases[i].first_mismatch[0] ? res.cases[i].first_mismatch : "valid");
            clr_device_result_free(&res);
        }
        test_remove_kernels(dir);
    }
    free(x);

    const size_t K = 260, N = 64, M = 128;
    float *a = malloc(M * K * sizeof *a);
    clr_gen_row(7, CLR_DIST_NORMAL, 0, a, M * K);
    test_sabotaged_kernels(dir, sizeof dir, "matmul.cl", "MM_UNROLL_K for (uint k = kc; k < kend; ++k)",
                      "MM_UNROLL_K for (uint k = kc + (kc == 0 && m0 >= 32 && m0 < 64); k < kend; ++k)");
    clr_shape mshape = {.dims = {K, N}};
    size_t mbatches[] = {M};
    for (int sabotaged = 0; sabotaged < 2; ++sabotaged) {
        clr_run_config cfg = test_file_config(&clr_op_matmul, "tiled", &mshape, mbatches, 1, a, M, K);
        cfg.kernel_dir = sabotaged ? dir : NULL;
        cfg.contig = 1; /* the matmul_rb kernels */
        clr_device_result res;
        clr_error err = {0};
        ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
        ck_assert_msg(sabotaged ? !res.cases[0].valid && res.cases[0].replay_mismatches > 0 : res.cases[0].valid,
                      "matmul tiled M %zu, %s kernel: %s", M, sabotaged ? "sabotaged (rows 32-63)" : "real",
                      res.cases[0].first_mismatch[0] ? res.cases[0].first_mismatch : "valid");
        clr_device_result_free(&res);
    }
    test_remove_kernels(dir);
    free(a);
}
END_TEST

/* matmul on subnormal inputs: products underflow; every strategy, CLBlast's included, is valid. */
START_TEST(matmul_on_subnormal_inputs_is_valid)
{
    const size_t K = 256, N = 256, ROWS = 8;
    float *a = malloc(ROWS * K * sizeof *a);
    clr_gen_row(2, CLR_DIST_NORMAL, 0, a, ROWS * K);
    for (size_t i = 0; i < ROWS * K; ++i)
        a[i] *= 0x1p-146f; /* a few units of the smallest subnormal */
    for (size_t s = 0; s < clr_op_matmul.nstrategies; ++s) {
        clr_device dev = test_device();
        clr_shape shape = {.dims = {K, N}};
        size_t batches[] = {1, 8};
        clr_run_config cfg = test_file_config(&clr_op_matmul, clr_op_matmul.strategies[s].name, &shape, batches, 2,
                                              a, ROWS, K);
        clr_device_result res;
        clr_error err = {0};
        ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
        for (size_t i = 0; i < res.ncases; ++i)
            ck_assert_msg(res.cases[i].valid, "%s M %zu on subnormal inputs: %s", clr_op_matmul.strategies[s].name,
                          res.cases[i].shape.batch,
                          res.cases[i].first_mismatch[0] ? res.cases[i].first_mismatch : "beyond the bound");
        clr_device_result_free(&res);
    }
    free(a);
    /* Chains of products that underflow to -0: a race that adds to a +0 output never gives -0
     * (the replay of splitk-atomic once demanded -0 there). K = 4: one slice, every column's
     * chain -0 where its four products are negative. */
    const size_t K4 = 4;
    float rows[2 * 4];
    for (size_t i = 0; i < 2 * K4; ++i)
        rows[i] = i < K4 ? -0x1p-149f : 0x1p-149f;
    for (size_t s = 0; s < clr_op_matmul.nstrategies; ++s) {
        clr_device dev = test_device();
        clr_shape shape = {.dims = {K4, 256}};
        size_t batches[] = {1, 2};
        clr_run_config cfg = test_file_config(&clr_op_matmul, clr_op_matmul.strategies[s].name, &shape, batches, 2,
                                              rows, 2, K4);
        clr_device_result res;
        clr_error err = {0};
        ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
        for (size_t i = 0; i < res.ncases; ++i)
            ck_assert_msg(res.cases[i].valid, "%s M %zu on -0 chains: %s", clr_op_matmul.strategies[s].name,
                          res.cases[i].shape.batch,
                          res.cases[i].first_mismatch[0] ? res.cases[i].first_mismatch : "beyond the bound");
        clr_device_result_free(&res);
    }
}
END_TEST

/* A row of -0 values: every sum strategy, atomic's race from +0 included, gives its own zero. */
START_TEST(sum_of_negative_zeros)
{
    float row[4099];
    for (size_t i = 0; i < 4099; ++i)
        row[i] = -0.0f;
    for (unsigned vec = 1; vec <= 4; vec *= 4) { /* exact's scalar lanes once deposited a +0 */
        clr_device_result res;
        run_one(NULL, 4099, row, 1, vec, 2, NULL, &res);
        ck_assert_uint_eq(res.ncases, NSUM * 2);
        for (size_t i = 0; i < res.ncases; ++i)
            ck_assert_msg(res.cases[i].valid, "%s vec %u B %zu on -0: %s",
                          clr_op_sum.strategies[res.cases[i].strategy].name, vec, res.cases[i].shape.batch,
                          res.cases[i].first_mismatch[0] ? res.cases[i].first_mismatch : "beyond the bound");
        clr_device_result_free(&res);
    }
}
END_TEST

/* Sizes whose products wrap a 64-bit size_t are refused before any operation multiplies them
 * (attention 2^62 + 1 heads of 4 wrapped to 4 elements and read out of bounds). */
START_TEST(size_products_cannot_wrap)
{
    size_t count;
    const clr_operation *const *ops = clr_op_all(&count);
    for (size_t o = 0; o < count; ++o) {
        clr_shape s = {.batch = 1};
        for (size_t d = 0; d < ops[o]->ndims; ++d)
            s.dims[d] = d == 0 ? ((size_t)1 << 62) + 1 : 4;
        clr_error err = {0};
        ck_assert_int_eq(clr_op_check_shape(ops[o], &s, &err), CLR_EUSAGE);
        ck_assert_ptr_nonnull(strstr(err.msg, "2^50"));
        s.dims[0] = 8;
        s.batch = SIZE_MAX / 2;
        ck_assert_int_eq(clr_op_check_shape(ops[o], &s, &err), CLR_EUSAGE);
    }
    static const char *const commands[] = {
        "run --op attention --heads 4611686018427387905 --head-dim 4",
        "run --op attention --heads 288230376151711744 --head-dim 64",
        "run --op matmul --k 4294967296 --n 4294967296 --batch 4294967296",
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; ++i) {
        char line[1024], out[300];
        snprintf(out, sizeof out, "%s/wrap-out", test_tmp_root);
        snprintf(line, sizeof line, "'%s' %s --out '%s' >/dev/null 2>&1", CLREPRO_BIN, commands[i], out);
        int status = system(line);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s: status %d", commands[i], status);
        ck_assert_int_ne(access(out, F_OK), 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("replay");
    TCase *t = tcase_create("sum");
    tcase_set_timeout(t, 900);
    tcase_add_test(t, every_sum_strategy_equals_its_replay);
    tcase_add_test(t, a_kernel_dropping_one_element_fails);
    tcase_add_test(t, matmul_replays_and_a_skipped_k_fails);
    tcase_add_test(t, rmsnorm_replays_and_a_missing_square_fails);
    tcase_add_test(t, matmul_on_subnormal_inputs_is_valid);
    tcase_add_test(t, size_products_cannot_wrap);
    tcase_add_test(t, sum_of_negative_zeros);
    tcase_add_test(t, small_errors_and_late_rows_fail);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
