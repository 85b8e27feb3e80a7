/* test_reference.c: the host exact sum on hard cases, ulp distances at the edges of the
 * float32 lattice, and the statistics. No device needed. */
#include <check.h>
#include "test_util.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include "data.h"
#include "metrics.h"
#include "reference.h"

#define SUB_MIN 0x1p-149f

static float sum_of(const float *x, size_t n) { return clr_exact_sum(x, n); }
#define EXACT(...) sum_of((const float[]){__VA_ARGS__}, sizeof((const float[]){__VA_ARGS__}) / sizeof(float))
#define ck_assert_bits(a, b) ck_assert_uint_eq(clr_float_bits(a), clr_float_bits(b))

START_TEST(exact_cancellation)
{
    ck_assert_bits(EXACT(1.0f, -1.0f, SUB_MIN, -SUB_MIN), 0.0f);
    ck_assert_bits(EXACT(1e30f, 1.0f, -1e30f), 1.0f);            /* naive float sum gives 0 */
    ck_assert_bits(EXACT(1.0f, SUB_MIN, -1.0f), SUB_MIN);        /* cancels to a subnormal */
    ck_assert_bits(EXACT(FLT_MAX, -FLT_MAX, SUB_MIN), SUB_MIN); /* whole range in one row */
    ck_assert_bits(EXACT(FLT_MAX, SUB_MIN), FLT_MAX);
    ck_assert_bits(EXACT(0x1p-126f, -SUB_MIN), 0x1p-126f - SUB_MIN);
}
END_TEST

START_TEST(exact_ties_round_to_even)
{
    ck_assert_bits(EXACT(1.0f, 0x1p-24f), 1.0f);                        /* tie, 1 is even */
    ck_assert_bits(EXACT(1.0f + 0x1p-23f, 0x1p-24f), 1.0f + 0x1p-22f);  /* tie, odd rounds up */
    ck_assert_bits(EXACT(1.0f, 0x1p-24f, SUB_MIN), 1.0f + 0x1p-23f);     /* just above the tie */
    ck_assert_bits(EXACT(1.0f, 0x1p-24f, -SUB_MIN), 1.0f);               /* just below */
    ck_assert_bits(EXACT(-1.0f, -0x1p-24f), -1.0f);
}
END_TEST

START_TEST(exact_overflow_and_specials)
{
    ck_assert(isinf(EXACT(FLT_MAX, FLT_MAX)) && EXACT(FLT_MAX, FLT_MAX) > 0);
    ck_assert_bits(EXACT(FLT_MAX, FLT_MAX, -FLT_MAX), FLT_MAX); /* no intermediate overflow */
    ck_assert(isinf(EXACT(FLT_MAX, 0x1p103f)));                  /* half an ulp at FLT_MAX: tie to even = inf */
    ck_assert_bits(EXACT(FLT_MAX, 0x1p102f), FLT_MAX);
    ck_assert(isinf(EXACT(-FLT_MAX, -FLT_MAX)) && EXACT(-FLT_MAX, -FLT_MAX) < 0);
    ck_assert_bits(EXACT(INFINITY, 1.0f), INFINITY);
    ck_assert(isnan(EXACT(INFINITY, -INFINITY)));
    ck_assert(isnan(EXACT(NAN, 1.0f)));
    ck_assert_bits(EXACT(-0.0f, -0.0f), -0.0f);
    ck_assert_bits(EXACT(-0.0f, 0.0f), 0.0f);
    ck_assert_bits(EXACT(2.5f), 2.5f); /* a row of one element */
}
END_TEST

START_TEST(exact_matches_double_on_exact_cases)
{
    /* 1000 uniform values are multiples of 2^-23 below 1: their double sum is exact, so one
     * rounding to float is the correctly rounded sum. */
    float row[1000];
    for (uint64_t r = 0; r < 50; ++r) {
        clr_gen_row(99, CLR_DIST_UNIFORM, r, row, 1000);
        double d = 0;
        for (int i = 0; i < 1000; ++i)
            d += row[i];
        ck_assert_bits(clr_exact_sum(row, 1000), (float)d);
    }
}
END_TEST

START_TEST(exact_order_independent)
{
    enum { N = 5000 };
    float *row = malloc(N * sizeof *row);
    clr_gen_row(3, CLR_DIST_ILLCOND, 0, row, N);
    float first = clr_exact_sum(row, N);
    srand(1);
    for (int k = 0; k < 20; ++k) {
        for (int i = N - 1; i > 0; --i) {
            int j = rand() % (i + 1);
            float t = row[i];
            row[i] = row[j];
            row[j] = t;
        }
        ck_assert_bits(clr_exact_sum(row, N), first);
    }
    free(row);
}
END_TEST

START_TEST(exact_double_result)
{
    clr_exact_acc acc;
    clr_exact_init(&acc);
    clr_exact_add(&acc, 1.0f);
    clr_exact_add(&acc, 0x1p-40f);
    ck_assert(clr_exact_result_double(&acc) == 1.0 + 0x1p-40);
}
END_TEST

START_TEST(ulp_edges)
{
    ck_assert_uint_eq(clr_ulp_distance(1.0f, nextafterf(1.0f, 2.0f)), 1);
    ck_assert_uint_eq(clr_ulp_distance(nextafterf(1.0f, 2.0f), 1.0f), 1);
    ck_assert_uint_eq(clr_ulp_distance(-0.0f, 0.0f), 0);
    ck_assert_uint_eq(clr_ulp_distance(SUB_MIN, -SUB_MIN), 2);
    ck_assert_uint_eq(clr_ulp_distance(0.0f, 0x1p-126f), 1u << 23);
    ck_assert_uint_eq(clr_ulp_distance(FLT_MAX, INFINITY), 1);
    ck_assert_uint_eq(clr_ulp_distance(-1.0f, 1.0f), 2ull * 0x3f800000u);
    ck_assert_uint_eq(clr_ulp_distance(-INFINITY, INFINITY), 2ull * 0x7f800000u);
    ck_assert_uint_eq(clr_ulp_distance(NAN, NAN), 0);
    ck_assert_uint_eq(clr_ulp_distance(NAN, 1.0f), UINT64_MAX);
    ck_assert_uint_eq(clr_ulp_distance(INFINITY, NAN), UINT64_MAX);
}
END_TEST

START_TEST(stats_values)
{
    clr_stats s;
    clr_stats_compute((const double[]){4, 1, 3, 2}, 4, &s);
    ck_assert(s.min == 1 && s.max == 4 && s.median == 2.5 && s.mean == 2.5);
    ck_assert_double_eq_tol(s.stddev, sqrt(5.0 / 3.0), 1e-12);
    clr_stats_compute((const double[]){7}, 1, &s);
    ck_assert(s.median == 7 && s.stddev == 0 && s.count == 1);
    clr_stats_compute((const double[]){5, 1, 9}, 3, &s);
    ck_assert(s.median == 5);
    clr_stats_compute(NULL, 0, &s);
    ck_assert(s.count == 0 && s.mean == 0);
    ck_assert_uint_eq(clr_count_distinct_u64((const uint64_t[]){3, 1, 3, 2, 1}, 5), 3);
    ck_assert_uint_eq(clr_count_distinct_u64((const uint64_t[]){8, 8, 8}, 3), 1);
    ck_assert_uint_eq(clr_count_distinct_u64(NULL, 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("reference");
    TCase *exact = tcase_create("exact");
    tcase_add_test(exact, exact_cancellation);
    tcase_add_test(exact, exact_ties_round_to_even);
    tcase_add_test(exact, exact_overflow_and_specials);
    tcase_add_test(exact, exact_matches_double_on_exact_cases);
    tcase_add_test(exact, exact_order_independent);
    tcase_add_test(exact, exact_double_result);
    suite_add_tcase(s, exact);
    TCase *ulp = tcase_create("ulp");
    tcase_add_test(ulp, ulp_edges);
    suite_add_tcase(s, ulp);
    TCase *stats = tcase_create("stats");
    tcase_add_test(stats, stats_values);
    suite_add_tcase(s, stats);
    return clr_run_suite(s);
}
