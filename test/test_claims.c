/* test_claims.c: the batch-variance summary and the judgement of claims (claims.h) on cases built
 * by hand, without a device: which claims hold, which are violated and which were not measured,
 * with what evidence, in what order, and how many claimed ones count as broken. */
#include <check.h>
#include <math.h>
#include <string.h>
#include "claims.h"
#include "test_util.h"

#define PROBE 2 /* output floats of the toy op's row */

static size_t toy_output_row(const clr_shape *s)
{
    (void)s;
    return PROBE;
}

enum { FIXED, SPLIT, ONLY_DET, NTOY };
static const clr_strategy toy_strategies[NTOY] = {
    [FIXED] = {.name = "fixed",
               .claims = CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_ORDER_INDEPENDENT},
    [SPLIT] = {.name = "split", .claims = CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT},
    [ONLY_DET] = {.name = "only-det", .claims = CLR_CLAIM_DETERMINISTIC},
};
static const clr_operation toy = {
    .name = "toy",
    .batch_name = "B",
    .ndims = 1,
    .dim_names = {"n"},
    .strategies = toy_strategies,
    .nstrategies = NTOY,
    .output_row_floats = toy_output_row,
};
static clr_shape toy_shapes[2] = {{.dims = {4096}}, {.dims = {128}}};

/* Probe values: a base row, and the same row moved by `ulps` in its second output. */
static float probes[64][PROBE];
static size_t nprobes;

static float *probe(unsigned ulps)
{
    ck_assert_uint_lt(nprobes, 64);
    float *p = probes[nprobes++];
    p[0] = 1.0f;
    p[1] = 0.1f;
    for (unsigned k = 0; k < ulps; ++k)
        p[1] = nextafterf(p[1], 1.0f);
    return p;
}

/* A measured case of one strategy at one shape and batch: run to run gave `r2r` outputs; its
 * probe row at positions 0, the middle and the end (those distinct) is moved by ulps[k] and has
 * hash 100 + ulps[k]. */
static clr_case make_case(size_t strategy, size_t shape_index, size_t batch, size_t r2r, const unsigned ulps[3])
{
    clr_case c;
    memset(&c, 0, sizeof c);
    c.strategy = strategy;
    c.shape_index = shape_index;
    c.shape = toy_shapes[shape_index];
    c.shape.batch = batch;
    c.valid = 1;
    c.r2r_distinct = r2r;
    size_t at[3] = {0, batch / 2, batch - 1};
    for (size_t k = 0; k < 3; ++k) {
        int seen = 0;
        for (size_t q = 0; q < c.npositions; ++q)
            seen |= c.positions[q].position == at[k];
        if (seen)
            continue;
        clr_observation *o = &c.positions[c.npositions++];
        o->batch = batch;
        o->position = at[k];
        o->probe = probe(ulps[k]);
        o->hash = 100 + ulps[k];
    }
    return c;
}

static const unsigned SAME[3] = {0, 0, 0};

typedef struct judged {
    clr_variance variance[8];
    size_t nvariance;
    clr_claim_result claims[NTOY * CLR_NCLAIMS];
    size_t broken;
} judged;

/* Summarises every strategy at every shape (cases in shape order), then judges. */
static void judge(clr_case *cases, size_t ncases, const size_t *strategies, size_t nstrategies, unsigned trials,
                  judged *j)
{
    memset(j, 0, sizeof *j);
    for (size_t z = 0; z < 2; ++z) {
        size_t first = 0, n = 0;
        while (first < ncases && cases[first].shape_index != z)
            ++first;
        while (first + n < ncases && cases[first + n].shape_index == z)
            ++n;
        for (size_t si = 0; si < nstrategies; ++si)
            j->nvariance +=
                clr_summarise_variance(&toy, cases + first, n, z, strategies[si], &j->variance[j->nvariance]);
    }
    clr_claim_input in = {.op = &toy, .shapes = toy_shapes, .strategies = strategies, .nstrategies = nstrategies,
                          .trials = trials, .cases = cases, .ncases = ncases, .variance = j->variance,
                          .nvariance = j->nvariance};
    j->broken = clr_check_claims(&in, j->claims);
}

static const clr_claim_result *claim_of(const judged *j, size_t nstrategies, size_t strategy, unsigned bit)
{
    for (size_t i = 0; i < nstrategies * CLR_NCLAIMS; ++i)
        if (j->claims[i].strategy == strategy && j->claims[i].claim == bit)
            return &j->claims[i];
    ck_abort_msg("no result for strategy %zu claim %u", strategy, bit);
    return NULL;
}

#define ck_assert_evidence(cr, text) \
    ck_assert_msg(strstr((cr)->evidence, (text)) != NULL, "evidence \"%s\" lacks \"%s\"", (cr)->evidence, (text))

START_TEST(variance_counts_hashes_and_ulps)
{
    /* Cases out of batch order, a skipped one and another strategy among them: the base is the
     * smallest batch of this strategy, skipped cases and other strategies count for nothing. */
    unsigned far[3] = {0, 2, 5};
    clr_case cases[5] = {
        make_case(SPLIT, 0, 8, 1, far),  make_case(FIXED, 0, 4, 1, far), make_case(SPLIT, 0, 1, 1, SAME),
        make_case(SPLIT, 0, 2, 1, SAME), make_case(SPLIT, 0, 1, 1, far),
    };
    cases[4].skipped = 1;
    clr_variance v;
    memset(&v, 0xab, sizeof v);
    ck_assert_int_eq(clr_summarise_variance(&toy, cases, 5, 0, SPLIT, &v), 1);
    ck_assert_uint_eq(v.strategy, SPLIT);
    ck_assert_uint_eq(v.shape_index, 0);
    ck_assert_uint_eq(v.base_batch, 1);
    ck_assert_uint_eq(v.observations, 3 + 1 + 2); /* batch 8: 0, 4, 7; batch 1: 0; batch 2: 0, 1 */
    ck_assert_uint_eq(v.distinct, 3);             /* hashes 100, 102, 105 */
    ck_assert_uint_eq(v.max_ulp, 5);
    ck_assert_uint_eq(cases[0].positions[1].max_ulp, 2);
    ck_assert_uint_eq(cases[0].positions[2].max_ulp, 5);
    ck_assert_uint_eq(cases[3].positions[1].max_ulp, 0);

    /* Every observation agreeing: one pattern, no ulp. */
    ck_assert_int_eq(clr_summarise_variance(&toy, cases + 2, 2, 0, SPLIT, &v), 1);
    ck_assert_uint_eq(v.observations, 3);
    ck_assert_uint_eq(v.distinct, 1);
    ck_assert_uint_eq(v.max_ulp, 0);

    /* Nothing measured: no summary, *out untouched. */
    memset(&v, 0xab, sizeof v);
    clr_variance untouched = v;
    ck_assert_int_eq(clr_summarise_variance(&toy, cases + 4, 1, 0, SPLIT, &v), 0);
    ck_assert_int_eq(clr_summarise_variance(&toy, cases, 5, 0, ONLY_DET, &v), 0);
    ck_assert_int_eq(memcmp(&v, &untouched, sizeof v), 0);
}
END_TEST

START_TEST(batch_variant_probe_is_violated)
{
    /* split: batch invariant at n=4096, not at n=128 (position 7 of batch 8 is 3 ulp away). */
    unsigned off[3] = {0, 0, 3};
    clr_case cases[6] = {
        make_case(SPLIT, 0, 1, 1, SAME), make_case(SPLIT, 0, 2, 1, SAME), make_case(SPLIT, 0, 8, 1, SAME),
        make_case(SPLIT, 1, 1, 1, SAME), make_case(SPLIT, 1, 2, 1, SAME), make_case(SPLIT, 1, 8, 1, off),
    };
    size_t strategies[] = {SPLIT};
    judged j;
    judge(cases, 6, strategies, 1, 3, &j);
    ck_assert_uint_eq(j.nvariance, 2);
    ck_assert_uint_eq(j.variance[0].distinct, 1);
    ck_assert_uint_eq(j.variance[1].distinct, 2);
    ck_assert_uint_eq(j.variance[1].max_ulp, 3);
    const clr_claim_result *cr = claim_of(&j, 1, SPLIT, CLR_CLAIM_BATCH_INVARIANT);
    ck_assert_int_eq(cr->claimed, 1);
    ck_assert_int_eq(cr->status, CLR_CLAIM_VIOLATED);
    ck_assert_str_eq(cr->evidence, "2 distinct probe outputs across batch sizes and positions at n=128 "
                                   "(max 3 ulp from the smallest batch)");
    ck_assert_uint_eq(j.broken, 1);
    /* Run to run it held. */
    cr = claim_of(&j, 1, SPLIT, CLR_CLAIM_DETERMINISTIC);
    ck_assert_int_eq(cr->status, CLR_CLAIM_HELD);
    ck_assert_str_eq(cr->evidence, "1 output pattern in 3 trials at every shape");
}
END_TEST

START_TEST(batch_invariant_probe_is_held)
{
    clr_case cases[3] = {make_case(FIXED, 0, 1, 1, SAME), make_case(FIXED, 0, 2, 1, SAME),
                         make_case(FIXED, 0, 8, 1, SAME)};
    cases[2].has_layout = cases[1].has_layout = 1;
    cases[2].layout_same = cases[1].layout_same = 1;
    size_t strategies[] = {FIXED};
    judged j;
    judge(cases, 3, strategies, 1, 3, &j);
    const clr_claim_result *cr = claim_of(&j, 1, FIXED, CLR_CLAIM_BATCH_INVARIANT);
    ck_assert_int_eq(cr->status, CLR_CLAIM_HELD);
    ck_assert_str_eq(cr->evidence,
                     "probe bits identical in all 6 batch/position observations and in every larger-buffer layout");
    ck_assert_uint_eq(j.broken, 0);
}
END_TEST

START_TEST(changed_layout_is_violated)
{
    clr_case cases[3] = {make_case(FIXED, 1, 1, 1, SAME), make_case(FIXED, 1, 2, 1, SAME),
                         make_case(FIXED, 1, 8, 1, SAME)};
    for (size_t i = 0; i < 3; ++i)
        cases[i].has_layout = cases[i].layout_same = 1;
    cases[1].layout_same = 0; /* the first one that changed is named */
    cases[1].layout_max_ulp = 7;
    cases[2].layout_same = 0;
    cases[2].layout_max_ulp = 9;
    size_t strategies[] = {FIXED};
    judged j;
    judge(cases, 3, strategies, 1, 3, &j);
    const clr_claim_result *cr = claim_of(&j, 1, FIXED, CLR_CLAIM_BATCH_INVARIANT);
    ck_assert_int_eq(cr->status, CLR_CLAIM_VIOLATED);
    ck_assert_str_eq(cr->evidence, "outputs changed when the same inputs were read from a larger buffer at n=128, "
                                   "batch 2 (max 7 ulp)");
    ck_assert_uint_eq(j.broken, 1);
}
END_TEST

START_TEST(run_to_run_variation_is_violated)
{
    clr_case cases[3] = {make_case(SPLIT, 0, 1, 1, SAME), make_case(SPLIT, 0, 8, 3, SAME),
                         make_case(SPLIT, 1, 8, 2, SAME)};
    size_t strategies[] = {SPLIT};
    judged j;
    judge(cases, 3, strategies, 1, 5, &j);
    const clr_claim_result *cr = claim_of(&j, 1, SPLIT, CLR_CLAIM_DETERMINISTIC);
    ck_assert_int_eq(cr->status, CLR_CLAIM_VIOLATED);
    ck_assert_str_eq(cr->evidence, "3 distinct outputs in 5 trials at n=4096, batch 8");
    ck_assert_uint_eq(j.broken, 1);
}
END_TEST

START_TEST(order_dependence_is_violated)
{
    clr_case cases[2] = {make_case(FIXED, 0, 1, 1, SAME), make_case(FIXED, 1, 1, 1, SAME)};
    cases[0].norders = cases[1].norders = CLR_ORDERS;
    cases[0].order_distinct = 1;
    cases[1].order_distinct = 3;
    cases[1].order_max_ulp = 12;
    size_t strategies[] = {FIXED};
    judged j;
    judge(cases, 2, strategies, 1, 3, &j);
    const clr_claim_result *cr = claim_of(&j, 1, FIXED, CLR_CLAIM_ORDER_INDEPENDENT);
    ck_assert_int_eq(cr->claimed, 1);
    ck_assert_int_eq(cr->status, CLR_CLAIM_VIOLATED);
    ck_assert_str_eq(cr->evidence, "3 distinct probe outputs over 4 orders of its input at n=128 (max 12 ulp)");
    ck_assert_uint_eq(j.broken, 1);

    /* Held: every permutation kept the bits. */
    cases[1].order_distinct = 1;
    judge(cases, 2, strategies, 1, 3, &j);
    cr = claim_of(&j, 1, FIXED, CLR_CLAIM_ORDER_INDEPENDENT);
    ck_assert_int_eq(cr->status, CLR_CLAIM_HELD);
    ck_assert_str_eq(cr->evidence, "probe bits identical over 6 permutations of its input");

    /* Violated but not claimed: reported, not counted as broken. */
    cases[0].strategy = cases[1].strategy = ONLY_DET;
    cases[1].order_distinct = 2;
    size_t only[] = {ONLY_DET};
    judge(cases, 2, only, 1, 3, &j);
    cr = claim_of(&j, 1, ONLY_DET, CLR_CLAIM_ORDER_INDEPENDENT);
    ck_assert_int_eq(cr->claimed, 0);
    ck_assert_int_eq(cr->status, CLR_CLAIM_VIOLATED);
    ck_assert_uint_eq(j.broken, 0);
}
END_TEST

START_TEST(unmeasured_claims)
{
    /* One batch, one position, no orders, no layout: only run to run is measured. */
    clr_case cases[2] = {make_case(FIXED, 0, 1, 1, SAME), make_case(SPLIT, 0, 1, 1, SAME)};
    cases[1].skipped = 1;
    size_t strategies[] = {FIXED, SPLIT};
    judged j;
    judge(cases, 2, strategies, 2, 3, &j);
    const clr_claim_result *cr = claim_of(&j, 2, FIXED, CLR_CLAIM_DETERMINISTIC);
    ck_assert_int_eq(cr->status, CLR_CLAIM_HELD);
    cr = claim_of(&j, 2, FIXED, CLR_CLAIM_BATCH_INVARIANT);
    ck_assert_int_eq(cr->status, CLR_CLAIM_NOT_MEASURED);
    ck_assert_str_eq(cr->evidence, "");
    cr = claim_of(&j, 2, FIXED, CLR_CLAIM_ORDER_INDEPENDENT);
    ck_assert_int_eq(cr->status, CLR_CLAIM_NOT_MEASURED);
    ck_assert_str_eq(cr->evidence, "");
    cr = claim_of(&j, 2, FIXED, CLR_CLAIM_DEVICE_INVARIANT);
    ck_assert_int_eq(cr->claimed, 0);
    ck_assert_int_eq(cr->status, CLR_CLAIM_NOT_MEASURED);
    ck_assert_evidence(cr, "measured across devices by comparing fingerprints");
    /* A skipped strategy measured nothing. */
    for (unsigned bit = 1; bit < (1u << CLR_NCLAIMS); bit <<= 1)
        ck_assert_int_eq(claim_of(&j, 2, SPLIT, bit)->status, CLR_CLAIM_NOT_MEASURED);
    ck_assert_uint_eq(j.nvariance, 1);
    ck_assert_uint_eq(j.broken, 0);
}
END_TEST

START_TEST(results_in_strategy_then_claim_order)
{
    clr_case cases[2] = {make_case(FIXED, 0, 1, 1, SAME), make_case(ONLY_DET, 0, 1, 2, SAME)};
    size_t strategies[] = {ONLY_DET, FIXED};
    judged j;
    judge(cases, 2, strategies, 2, 3, &j);
    for (size_t i = 0; i < 2 * CLR_NCLAIMS; ++i) {
        ck_assert_uint_eq(j.claims[i].strategy, strategies[i / CLR_NCLAIMS]);
        ck_assert_uint_eq(j.claims[i].claim, 1u << (i % CLR_NCLAIMS));
        ck_assert_int_eq(j.claims[i].claimed,
                         (toy_strategies[strategies[i / CLR_NCLAIMS]].claims & j.claims[i].claim) != 0);
    }
    ck_assert_int_eq(j.claims[0].status, CLR_CLAIM_VIOLATED);
    ck_assert_str_eq(j.claims[0].evidence, "2 distinct outputs in 3 trials at n=4096, batch 1");
    ck_assert_int_eq(j.claims[CLR_NCLAIMS].status, CLR_CLAIM_HELD);
    ck_assert_uint_eq(j.broken, 1);
}
END_TEST

/* Switch points from cases given out of batch order: where the probe's bits (position 0) differ
 * from the next smaller batch measured; skipped cases left out; sizes whose trials varied
 * counted; and clr_probe_changes marks the same cases. */
START_TEST(switch_points_from_cases)
{
    static const size_t batches[] = {8, 1, 16, 4, 2, 32};
    static const uint64_t hashes[] = {7, 5, 5, 7, 5, 9};
    clr_case cases[12];
    memset(cases, 0, sizeof cases);
    for (size_t i = 0; i < 6; ++i)
        for (size_t s = 0; s < 2; ++s) {
            clr_case *c = &cases[2 * i + s];
            c->strategy = s;
            c->shape_index = 0;
            c->shape.batch = batches[i];
            c->valid = 1;
            c->r2r_distinct = s == 0 && batches[i] == 8 ? 3 : 1;
            c->npositions = 1;
            c->positions[0].hash = s == 0 ? hashes[i] : 11;
            c->skipped = batches[i] == 32; /* not measured: no switch point */
        }
    clr_switch sw;
    ck_assert_int_eq(clr_find_switches(cases, 12, 0, 0, &sw), 1);
    ck_assert_uint_eq(sw.measured, 5);
    ck_assert(sw.lo == 1 && sw.hi == 16);
    ck_assert_uint_eq(sw.distinct, 2);
    ck_assert_uint_eq(sw.nchanges, 2); /* 2 -> 4 and 8 -> 16 */
    ck_assert(sw.before[0] == 2 && sw.at[0] == 4 && sw.before[1] == 8 && sw.at[1] == 16);
    ck_assert_uint_eq(sw.varying, 1);
    char text[512];
    clr_switch_text(&sw, "B", text, sizeof text);
    ck_assert_msg(strstr(text, "change at B = 3-4, 9-16 (2 patterns in 5 sizes, 1-16") &&
                      strstr(text, "varied run to run at 1 of them"), "%s", text);
    ck_assert_int_eq(clr_find_switches(cases, 12, 0, 1, &sw), 1);
    ck_assert_uint_eq(sw.nchanges, 0);
    clr_switch_text(&sw, "B", text, sizeof text);
    ck_assert_str_eq(text, "never change in B = 1-16 (5 sizes)");
    ck_assert_int_eq(clr_find_switches(cases, 12, 1, 0, &sw), 0); /* no case at shape 1 */
    size_t from[12];
    ck_assert_int_eq(clr_probe_changes(cases, 12, from), 0);
    for (size_t i = 0; i < 12; ++i) {
        size_t expect = cases[i].strategy == 0 && cases[i].shape.batch == 4    ? 2
                        : cases[i].strategy == 0 && cases[i].shape.batch == 16 ? 8
                                                                                : 0;
        ck_assert_uint_eq(from[i], expect);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("claims");
    TCase *t = tcase_create("claims");
    tcase_add_test(t, variance_counts_hashes_and_ulps);
    tcase_add_test(t, batch_variant_probe_is_violated);
    tcase_add_test(t, batch_invariant_probe_is_held);
    tcase_add_test(t, changed_layout_is_violated);
    tcase_add_test(t, run_to_run_variation_is_violated);
    tcase_add_test(t, order_dependence_is_violated);
    tcase_add_test(t, unmeasured_claims);
    tcase_add_test(t, results_in_strategy_then_claim_order);
    tcase_add_test(t, switch_points_from_cases);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
