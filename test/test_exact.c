/* test_exact.c: the `exact` sum strategy on a real device equals the host's exact, correctly
 * rounded sum bit for bit on hard rows, and gives the same bits across batch sizes, work-group
 * sizes, vector widths, input orders and repeated runs. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "device.h"
#include "op.h"
#include "reference.h"
#include "runner.h"
#include "test_util.h"

#define SUB_MIN 0x1p-149f

/* Runs sum `strategy` over the given rows (rows x n, as if read from --input) at each batch
 * size with the given tuning (contig 0: the device's default); returns the result (caller
 * frees) after checking every output bit for bit against the host's `want`. */
static void run_sum(const char *strategy, float (*host)(const float *, size_t), const float *data, size_t rows,
                    size_t n, size_t *batches, size_t nbatches, unsigned wg, unsigned vec, int contig,
                    clr_device_result *res)
{
    clr_device dev = test_device();
    clr_shape shape = {.dims = {n}};
    clr_run_config cfg = test_file_config(&clr_op_sum, strategy, &shape, batches, nbatches, data, rows, n);
    cfg.wg = wg;
    cfg.vec = vec;
    cfg.contig = contig;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        for (size_t r = 0; r < c->shape.batch; ++r) {
            float want = host(data + (r % rows) * n, n), got = c->outputs[r];
            ck_assert_msg(clr_float_bits(want) == clr_float_bits(got) || (isnan(want) && isnan(got)),
                          "%s row %zu (n=%zu, batch %zu, wg %u, vec %u, contig %d): device %a (%08x), host %a (%08x)",
                          strategy, r % rows, n, c->shape.batch, wg, vec, contig, (double)got, clr_float_bits(got),
                          (double)want, clr_float_bits(want));
        }
        ck_assert_msg(c->valid && c->r2r_distinct == 1, "not valid or not deterministic");
        if (host == clr_exact_sum)
            ck_assert_msg(c->norders == 0 || c->order_distinct == 1, "order changed the bits");
    }
    ck_assert_uint_eq(res->broken_claims, 0);
}

static void run_exact(const float *data, size_t rows, size_t n, size_t *batches, size_t nbatches, unsigned wg,
                      unsigned vec, clr_device_result *res)
{
    run_sum("exact", clr_exact_sum, data, rows, n, batches, nbatches, wg, vec, 0, res);
}

enum { HARD_N = 4099, HARD_ROWS = 16 };

/* Hard rows: each a few values placed far apart in a row of zeros (or of -0). */
static float *hard_rows(void)
{
    float *m = calloc(HARD_ROWS * HARD_N, sizeof *m);
    struct { float v[4]; } rows[HARD_ROWS] = {
        {{1.0f, -1.0f, SUB_MIN, -SUB_MIN}},          /* cancels to exactly zero */
        {{1.0f, SUB_MIN, -1.0f, 0}},                  /* cancels to a subnormal */
        {{1.0f, 0x1p-24f, 0, 0}},                     /* tie: stays 1 (even) */
        {{1.0f + 0x1p-23f, 0x1p-24f, 0, 0}},          /* tie: rounds up to even */
        {{1.0f, 0x1p-24f, SUB_MIN, 0}},               /* just above the tie */
        {{1.0f, 0x1p-24f, -SUB_MIN, 0}},              /* just below the tie */
        {{FLT_MAX, -FLT_MAX, SUB_MIN, 0x1p-126f}},    /* smallest subnormal to FLT_MAX */
        {{FLT_MAX, FLT_MAX, 0, 0}},                   /* overflows float32: +inf */
        {{FLT_MAX, FLT_MAX, -FLT_MAX, 0}},            /* the partial sum overflows, the total does not */
        {{-FLT_MAX, -FLT_MAX, 0, 0}},                 /* -inf */
        {{INFINITY, 1.0f, 0, 0}},                     /* +inf */
        {{INFINITY, -INFINITY, 0, 0}},                /* NaN */
        {{NAN, 1.0f, 0, 0}},                          /* NaN */
        {{1e30f, 1.0f, -1e30f, 0}},                   /* plain float sums give 0 */
        {{0x1p-130f, -0x1p-131f, 0x1p-149f, 0}},      /* subnormal arithmetic */
        {{0, 0, 0, 0}},                               /* all -0: the sum is -0 */
    };
    for (size_t r = 0; r < HARD_ROWS; ++r) {
        float *row = m + r * HARD_N;
        if (r == HARD_ROWS - 1)
            for (size_t i = 0; i < HARD_N; ++i)
                row[i] = -0.0f;
        else
            for (size_t k = 0; k < 4; ++k)
                row[(k * 1361 + r * 7) % HARD_N] = rows[r].v[k];
    }
    return m;
}

START_TEST(exact_hard_rows)
{
    float *m = hard_rows();
    size_t batches[] = {1, 7, HARD_ROWS};
    clr_device_result res;
    run_exact(m, HARD_ROWS, HARD_N, batches, 3, 0, 0, &res);
    clr_device_result_free(&res);
    /* Work-groups of one work-item and one lane: many parts a row, so the digits and flags
     * (infinities, NaN, -0) of several parts meet in sum_exact_finish; the default tuning makes
     * one part of these rows on CPUs (sum_exact_one_part). */
    size_t few[] = {1, 7}; /* 16 and 3 parts on 2 compute units: B = 16 fills them with one */
    run_exact(m, HARD_ROWS, HARD_N, few, 2, 1, 1, &res);
    for (size_t i = 0; i < res.ncases; ++i)
        ck_assert_uint_gt(clr_plan_get(&res.cases[i].plan, "parts"), 1);
    clr_device_result_free(&res);
    free(m);
}
END_TEST

START_TEST(exact_rows_of_one_element)
{
    float m[] = {SUB_MIN, -0.0f, 0.0f, FLT_MAX, -FLT_MAX, INFINITY, NAN, 1.0f, -0x1p-126f, 3.0e-39f};
    size_t batches[] = {1, 10};
    clr_device_result res;
    run_exact(m, 10, 1, batches, 2, 0, 0, &res);
    clr_device_result_free(&res);
}
END_TEST

START_TEST(exact_signed_zeros)
{
    /* Lengths without a tail, so every element goes through the filter: all +0 sums to +0,
     * all -0 to -0, and cancelling pairs (+0 by IEEE rules) to +0. */
    enum { N = 4096 };
    float *m = calloc(3 * N, sizeof *m);
    for (size_t i = 0; i < N; ++i) {
        m[N + i] = -0.0f;
        m[2 * N + i] = (i % 2) ? -(float)(i / 2 + 1) : (float)(i / 2 + 1);
    }
    size_t batches[] = {3};
    clr_device_result res;
    run_exact(m, 3, N, batches, 1, 0, 0, &res);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[0]), 0u);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[1]), 0x80000000u);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[2]), 0u);
    clr_device_result_free(&res);
    free(m);
}
END_TEST

START_TEST(exact_wide_random_rows)
{
    /* Every exponent from 2^-149 to 2^127 in one row, with random signs: the filter spills
     * constantly and the result depends on every bit. */
    enum { N = 20011, ROWS = 4 };
    float *m = malloc(ROWS * N * sizeof *m);
    for (size_t r = 0; r < ROWS; ++r)
        for (size_t i = 0; i < N; ++i) {
            uint64_t h = clr_hash(77, 3, r, i);
            uint32_t bits = (uint32_t)(h & 0x807fffffu) | (uint32_t)((h >> 32) % 255u) << 23;
            m[r * N + i] = clr_bits_float(bits);
        }
    size_t batches[] = {1, 4};
    clr_device_result res;
    run_exact(m, ROWS, N, batches, 2, 0, 0, &res);
    clr_device_result_free(&res);
    free(m);
}
END_TEST

START_TEST(exact_same_bits_across_tunings)
{
    /* Work-group size and vector width change every partial sum inside the kernel; the
     * result must not change (it is also checked against the host in run_exact). */
    enum { N = 100003, ROWS = 3 };
    float *m = malloc(ROWS * N * sizeof *m);
    for (size_t r = 0; r < ROWS; ++r)
        clr_gen_row(5, r == 2 ? CLR_DIST_ILLCOND : CLR_DIST_NORMAL, r, m + r * N, N);
    size_t batches[] = {1, 3};
    const unsigned tunings[][2] = {{1, 1}, {4, 2}, {16, 16}, {64, 4}, {256, 8}};
    uint64_t first[2] = {0, 0};
    for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t) {
        clr_device_result res;
        run_exact(m, ROWS, N, batches, 2, tunings[t][0], tunings[t][1], &res);
        for (size_t i = 0; i < 2; ++i) {
            if (t == 0)
                first[i] = res.cases[i].fingerprint;
            ck_assert_msg(res.cases[i].fingerprint == first[i], "wg %u vec %u changed the bits", tunings[t][0],
                          tunings[t][1]);
        }
        clr_device_result_free(&res);
    }
    free(m);
}
END_TEST

START_TEST(tree_is_the_host_tree_in_every_tuning)
{
    /* `tree` claims one tree per n: the host replay (src/reference.c) and the device agree bit
     * for bit whatever the work-group size, vector width, slicing and batch, for rows of one
     * block, a block and one, two levels with a ragged end, and signed zeros and infinities. */
    const size_t sizes[] = {1, 7, 4096, 4097, 3 * 4096 + 5, (1u << 20) + 3};
    const unsigned tunings[][3] = {{1, 1, 2}, {16, 16, 1}, {64, 4, 2}, {256, 4, 2}, {32, 8, 1}, {256, 16, 2}};
    size_t batches[] = {1, 3};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; ++z) {
        size_t n = sizes[z];
        enum { ROWS = 3 };
        float *m = malloc(ROWS * n * sizeof *m);
        for (size_t r = 0; r < ROWS; ++r)
            clr_gen_row(11, r == 1 ? CLR_DIST_ILLCOND : CLR_DIST_NORMAL, r, m + r * n, n);
        for (size_t i = 0; i < n; ++i)
            m[2 * n + i] = -0.0f; /* row 2: -0 only, whose sum is -0 (a +0 anywhere would make it +0) */
        if (n > 5)
            m[n + 5] = -INFINITY;
        for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t) {
            if (n > 5000 && t % 2)
                continue; /* the large rows in half the tunings: PoCL compiles each */
            clr_device_result res;
            run_sum("tree", clr_tree_sum, m, ROWS, n, batches, 2, tunings[t][0], tunings[t][1], (int)tunings[t][2],
                    &res);
            clr_device_result_free(&res);
        }
        free(m);
    }
}
END_TEST

START_TEST(exact_same_bits_for_permuted_rows)
{
    /* Row 1 is row 0 reversed, row 2 is row 0 shuffled: three rows, one result. */
    enum { N = 65537 };
    float *m = malloc(3 * N * sizeof *m);
    clr_gen_row(9, CLR_DIST_ILLCOND, 0, m, N);
    for (size_t i = 0; i < N; ++i)
        m[N + i] = m[N - 1 - i];
    memcpy(m + 2 * N, m, N * sizeof *m);
    clr_shape shape = {.batch = 1, .dims = {N}};
    clr_op_sum.permute_row(&shape, m + 2 * N, 4242);
    size_t batches[] = {3};
    clr_device_result res;
    run_exact(m, 3, N, batches, 1, 0, 0, &res);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[0]), clr_float_bits(res.cases[0].outputs[1]));
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[0]), clr_float_bits(res.cases[0].outputs[2]));
    clr_device_result_free(&res);
    free(m);
}
END_TEST

/* split, fixedsplit and compensated over the hard rows (cancellation, ties, infinities, NaN, a
 * partial sum that overflows, a row of -0) and rows of one element, with one chunk a row (one
 * launch) and with several (partial sums or pairs, then sum_combine or sum_compensated_merge), in
 * four tunings: every case must be the host's replay bit for bit, and a row of -0 gives +0 (the
 * sums start from +0). The overflowing row (FLT_MAX, FLT_MAX, -FLT_MAX: +inf from the left,
 * FLT_MAX exactly) was judged invalid by the error bound before the bound stood aside for it. */
START_TEST(split_one_chunk_is_the_combined_bits)
{
    float *m = hard_rows();
    float ones[] = {SUB_MIN, -0.0f, 0.0f, FLT_MAX, -FLT_MAX, INFINITY, NAN, 1.0f, -0x1p-126f, 3.0e-39f};
    const unsigned tunings[][3] = {{1, 1, 1}, {16, 16, 1}, {256, 4, 2}, {64, 8, 2}};
    const unsigned chunks[] = {0, 1024}; /* the device's default (one chunk of 4099), 5 chunks */
    const char *strategies[] = {"split", "fixedsplit", "compensated"};
    for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t)
        for (size_t c = 0; c < 2; ++c)
            for (size_t k = 0; k < 3; ++k)
                for (int one = 0; one < 2; ++one) {
                    if (k == 0 && c == 1)
                        continue; /* split sizes its chunks from the batch, not --chunk */
                    size_t n = one ? 1 : HARD_N, rows = one ? 10 : HARD_ROWS, batches[] = {1, rows};
                    clr_device dev = test_device();
                    clr_shape shape = {.dims = {n}};
                    clr_run_config cfg = test_file_config(&clr_op_sum, strategies[k], &shape, batches, 2,
                                                          one ? ones : m, rows, n);
                    cfg.wg = tunings[t][0];
                    cfg.vec = tunings[t][1];
                    cfg.contig = (clr_contig)tunings[t][2];
                    cfg.chunk = chunks[c];
                    clr_device_result res;
                    clr_error err = {0};
                    ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
                    for (size_t i = 0; i < res.ncases; ++i) {
                        /* fixedsplit: one chunk of 4099 (the device's chunk is larger) or 5 */
                        if (k == 1)
                            ck_assert_uint_eq(clr_plan_get(&res.cases[i].plan, "parts"), one ? 1 : c ? 5 : 1);
                        /* compensated: the chunk is 64 times larger on CPU-style tunings */
                        if (k == 2)
                            ck_assert_uint_eq(clr_plan_get(&res.cases[i].plan, "parts"),
                                              one || !c || tunings[t][2] == 1 ? 1 : 5);
                        ck_assert_msg(res.replay, "the device flushes subnormals: no replay to hold to");
                        ck_assert_msg(res.cases[i].valid && res.cases[i].r2r_distinct == 1,
                                      "%s n=%zu B=%zu wg %u vec %u chunk %u: valid %d, %zu outputs in the trials", strategies[k],
                                      n, res.cases[i].shape.batch, cfg.wg, cfg.vec, cfg.chunk, res.cases[i].valid,
                                      res.cases[i].r2r_distinct);
                    }
                    const clr_case *big = &res.cases[res.ncases - 1];
                    float zero_row = one ? big->outputs[1] : big->outputs[HARD_ROWS - 1];
                    ck_assert_msg(clr_float_bits(zero_row) == 0u, "%s: a row of -0 gave %08x", strategies[k],
                                  clr_float_bits(zero_row));
                    clr_device_result_free(&res);
                }
    free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exact");
    TCase *t = tcase_create("exact");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, exact_hard_rows);
    tcase_add_test(t, exact_rows_of_one_element);
    tcase_add_test(t, exact_signed_zeros);
    tcase_add_test(t, exact_wide_random_rows);
    tcase_add_test(t, exact_same_bits_across_tunings);
    tcase_add_test(t, tree_is_the_host_tree_in_every_tuning);
    tcase_add_test(t, exact_same_bits_for_permuted_rows);
    tcase_add_test(t, split_one_chunk_is_the_combined_bits);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
