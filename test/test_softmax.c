/* test_softmax.c: operation softmax on a real device (PoCL by default). Every strategy within
 * its error bound of the float64 reference at vocabularies with tails (1, 7, 1000, 32000),
 * batches 1, 2 and 8, three work-group sizes and bf16 storage; row and portable bit-identical
 * across batches and runs, split observed to vary with B; rows with -inf entries, a chunk of
 * them, only -inf and a constant row give the right values (portable too, replayed bit for bit);
 * and a kernel that drops one element from row's or split's sum fails validation, where that
 * element's weight is above the bound (a small one hides: only a replay could see it, and their
 * exp is the vendor's). portable's replays, tunings and sabotage: test_portable_ops.c. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "op.h"
#include "output.h"
#include "reference.h"
#include "results.h"
#include "runner.h"
#include "test_util.h"

static const clr_claim_result *claim(const clr_device_result *res, const char *strategy, unsigned bit)
{
    for (size_t i = 0; i < res->nclaims; ++i)
        if (res->claims[i].claim == bit && !strcmp(clr_op_softmax.strategies[res->claims[i].strategy].name, strategy))
            return &res->claims[i];
    return NULL;
}

/* Every strategy over the generator's rows (seed 5, normal), one repetition a case. */
static clr_run_config every_strategy(clr_shape *shapes, size_t nshapes, size_t *batches, size_t nbatches)
{
    clr_run_config cfg = {0};
    cfg.op = &clr_op_softmax;
    for (size_t i = 0; i < clr_op_softmax.nstrategies; ++i)
        cfg.strategy_index[cfg.nstrategies++] = i;
    cfg.shapes = shapes;
    cfg.nshapes = nshapes;
    cfg.batches = batches;
    cfg.nbatches = nbatches;
    cfg.trials = 3;
    cfg.reps = 1;
    cfg.warmup = 1;
    cfg.input.seed = 5;
    cfg.input.dist = CLR_DIST_NORMAL;
    return cfg;
}

/* Every strategy at B = 1, 2 and 8 at the given tuning (wg 0: the device's). */
static void run_generated(clr_shape *shapes, size_t nshapes, unsigned wg, clr_device_result *res)
{
    clr_device dev = test_device();
    size_t batches[] = {1, 2, 8};
    clr_run_config cfg = every_strategy(shapes, nshapes, batches, 3);
    cfg.wg = wg;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s", err.msg);
}

START_TEST(every_strategy_valid_row_invariant_split_varies)
{
    static const unsigned wgs[] = {0, 1, 256};
    for (size_t t = 0; t < 4; ++t) {
        unsigned wg = wgs[t % 3];
        clr_dtype type = t == 3 ? CLR_BF16 : CLR_FP32;
        clr_shape shapes[] = {{.dims = {1}, .dtype = type},
                              {.dims = {7}, .dtype = type},
                              {.dims = {1000}, .dtype = type},
                              {.dims = {32000}, .dtype = type}};
        clr_device_result res;
        run_generated(shapes, 4, wg, &res);
        ck_assert_uint_eq(res.ncases, clr_op_softmax.nstrategies * 4 * 3);
        for (size_t i = 0; i < res.ncases; ++i) {
            const clr_case *c = &res.cases[i];
            ck_assert_msg(!c->skipped && c->valid, "softmax %s vocab %zu B %zu wg %u %s: %zu rows beyond the bound "
                          "(worst %.3g x)", clr_op_softmax.strategies[c->strategy].name, c->shape.dims[0],
                          c->shape.batch, wg, clr_dtype_name(type), c->rows_out_of_bound, c->worst_error_ratio);
        }
        ck_assert_uint_eq(res.broken_claims, 0);
        const clr_claim_result *row_det = claim(&res, "row", CLR_CLAIM_DETERMINISTIC);
        const clr_claim_result *row_inv = claim(&res, "row", CLR_CLAIM_BATCH_INVARIANT);
        const clr_claim_result *split_det = claim(&res, "split", CLR_CLAIM_DETERMINISTIC);
        const clr_claim_result *split_inv = claim(&res, "split", CLR_CLAIM_BATCH_INVARIANT);
        const clr_claim_result *portable_inv = claim(&res, "portable", CLR_CLAIM_BATCH_INVARIANT);
        ck_assert(row_det && row_det->status == CLR_CLAIM_HELD);
        ck_assert_msg(portable_inv && portable_inv->status == CLR_CLAIM_HELD, "portable: %s",
                      portable_inv ? portable_inv->evidence : "none");
        ck_assert_msg(row_inv && row_inv->status == CLR_CLAIM_HELD, "row: %s", row_inv ? row_inv->evidence : "none");
        ck_assert(split_det && split_det->status == CLR_CLAIM_HELD);
        /* An expectation for these shapes (parts follow B at vocab 1000 and 32000), not a claim. */
        ck_assert_msg(split_inv && split_inv->status == CLR_CLAIM_VIOLATED, "split did not vary with B (wg %u)", wg);
        clr_device_result_free(&res);
    }
}
END_TEST

/* Rows of V logits as a file would give them, run at batches 1 and NROWS. */
enum { V = 1000, NROWS = 5 };

/* The tuning's --contig for run_rows: the device's default, or the other kernel paths of row. */
static clr_contig run_contig = CLR_CONTIG_DEVICE;

static void run_rows(const char *strategy, const float *rows, const char *kernel_dir, clr_device_result *res)
{
    clr_device dev = test_device();
    clr_shape shape = {.dims = {V}};
    size_t batches[] = {1, NROWS};
    clr_run_config cfg = test_file_config(&clr_op_softmax, strategy, &shape, batches, 2, rows, NROWS, V);
    cfg.kernel_dir = kernel_dir;
    cfg.contig = run_contig;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s: %s", strategy, err.msg);
}

START_TEST(special_rows)
{
    /* 0: -inf entries among logits; 1: a constant row; 2: 600 leading -inf (whole chunks of
     * split at B = 1 are -inf); 3: only -inf (0 / 0: NaN); 4: one logit far above the rest. */
    static float rows[NROWS * V];
    for (size_t r = 0; r < NROWS; ++r)
        clr_gen_row(7, CLR_DIST_UNIFORM, r, rows + r * V, V);
    for (size_t i = 0; i < V; ++i) {
        rows[0 * V + i] *= 4.0f;
        rows[1 * V + i] = 2.5f;
        if (i < 600)
            rows[2 * V + i] = -INFINITY;
        rows[3 * V + i] = -INFINITY;
    }
    rows[0 * V + 3] = rows[0 * V + 10] = rows[0 * V + 999] = -INFINITY;
    rows[4 * V + 500] = 40.0f;
    for (size_t s = 0; s < clr_op_softmax.nstrategies; ++s) {
        const char *name = clr_op_softmax.strategies[s].name;
        clr_device_result res;
        run_rows(name, rows, NULL, &res);
        for (size_t k = 0; k < res.ncases; ++k) {
            const clr_case *c = &res.cases[k];
            ck_assert_msg(c->valid, "%s B %zu: %zu rows beyond the bound, %s", name, c->shape.batch,
                          c->rows_out_of_bound, c->first_mismatch);
            ck_assert(c->replayed == (clr_op_softmax.strategies[s].replay != NULL));
            for (size_t r = 0; r < c->shape.batch; ++r) {
                const float *y = c->outputs + r * V;
                double total = 0;
                for (size_t i = 0; i < V; ++i) {
                    if (r == 3) {
                        ck_assert_msg(isnan(y[i]), "%s: a row of -inf gave %a, not NaN", name, (double)y[i]);
                        continue;
                    }
                    total += y[i];
                    if (rows[r * V + i] == -INFINITY)
                        ck_assert_msg(clr_float_bits(y[i]) == 0, "%s row %zu: exp(-inf) gave %a", name, r,
                                      (double)y[i]);
                    if (r == 1)
                        ck_assert_msg(clr_float_bits(y[i]) == clr_float_bits(y[0]) &&
                                          fabs(y[i] * (double)V - 1) < 1e-5,
                                      "%s: a constant row gave %a at %zu, %a at 0", name, (double)y[i], i,
                                      (double)y[0]);
                    if (r == 4 && i != 500)
                        ck_assert(y[i] < 1e-16f);
                }
                if (r != 3)
                    ck_assert_msg(fabs(total - 1) < 1e-4, "%s row %zu: the outputs add to %.9g", name, r, total);
            }
        }
        clr_device_result_free(&res);
    }
}
END_TEST

START_TEST(a_kernel_dropping_one_element_fails)
{
    /* The sum leaves out the first element of each range (row: element 0; split: the first of
     * every chunk); the outputs are still scaled by the (wrong) sum. */
    char dir[300];
    test_sabotaged_kernels(dir, sizeof dir, "softmax.cl", "s += e;", "s += i == begin ? 0.0f : e;");
    static float rows[NROWS * V];
    for (size_t r = 0; r < NROWS; ++r)
        clr_gen_row(3, CLR_DIST_UNIFORM, r, rows + r * V, V);
    static const char *const sabotaged_strategies[] = {"row", "split"}; /* wg_sum_exp's users */
    run_contig = CLR_CONTIG_NO; /* row's work-group path (GPUs'); its CPU path is sabotaged below */
    for (size_t s = 0; s < 2; ++s) {
        const char *name = sabotaged_strategies[s];
        for (int sabotaged = 0; sabotaged < 2; ++sabotaged) {
            clr_device_result res;
            run_rows(name, rows, sabotaged ? dir : NULL, &res);
            for (size_t k = 0; k < res.ncases; ++k) {
                const clr_case *c = &res.cases[k];
                ck_assert_msg(sabotaged ? !c->valid && c->rows_out_of_bound > 0 : c->valid,
                              "%s B %zu, %s kernel: %zu rows beyond the bound", name, c->shape.batch,
                              sabotaged ? "sabotaged" : "real", c->rows_out_of_bound);
            }
            clr_device_result_free(&res);
        }
    }
    /* The limit of validation by bound: a dropped logit 30 below the others weighs e^-30 / V,
     * far inside gamma_k; row's sabotaged kernel passes. A replay (portable exp) would see it. */
    for (size_t r = 0; r < NROWS; ++r)
        rows[r * V] = -30.0f;
    clr_device_result res;
    run_rows("row", rows, dir, &res);
    for (size_t k = 0; k < res.ncases; ++k)
        ck_assert_msg(res.cases[k].valid, "row B %zu: a dropped weight of e^-30 / V was caught; the comment above "
                      "understates the bound", res.cases[k].shape.batch);
    clr_device_result_free(&res);
    test_remove_kernels(dir);
    /* row's CPU path (one work-item a row, in vectors): the sum without the first exponential. */
    for (size_t r = 0; r < NROWS; ++r)
        clr_gen_row(3, CLR_DIST_UNIFORM, r, rows + r * V, V);
    test_sabotaged_kernels(dir, sizeof dir, "softmax.cl", "    float s = HSUM(acc);\n",
                           "    float s = HSUM(acc) - yr[0];\n");
    run_contig = CLR_CONTIG_YES;
    for (int sabotaged = 0; sabotaged < 2; ++sabotaged) {
        run_rows("row", rows, sabotaged ? dir : NULL, &res);
        for (size_t k = 0; k < res.ncases; ++k)
            ck_assert_msg(sabotaged ? !res.cases[k].valid && res.cases[k].rows_out_of_bound > 0 : res.cases[k].valid,
                          "row (contig) B %zu, %s kernel: %zu rows beyond the bound", res.cases[k].shape.batch,
                          sabotaged ? "sabotaged" : "real", res.cases[k].rows_out_of_bound);
        clr_device_result_free(&res);
    }
    run_contig = CLR_CONTIG_DEVICE;
    test_remove_kernels(dir);
}
END_TEST

/* The order revisions reach the results and read back: portable is of revision 2 (each block
 * against its own max), row and split of 1. */
START_TEST(order_revisions_written_and_read)
{
    clr_device dev = test_device();
    clr_shape shapes[] = {{.dims = {5000}}};
    size_t batches[] = {1};
    clr_run_config cfg = every_strategy(shapes, 1, batches, 1);
    clr_device_result res;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
    char *text = clr_results_json_text(&cfg, &res);
    ck_assert_ptr_nonnull(text);
    clr_rdoc doc;
    ck_assert_msg(clr_results_parse(text, strlen(text), "softmax.json", &doc, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(doc.ncases, 3);
    for (size_t i = 0; i < doc.ncases; ++i) {
        const clr_rcase *c = &doc.cases[i];
        ck_assert_msg(c->order_given && c->order == (strcmp(c->strategy, "portable") ? 1u : 2u), "%s: order %u (%s)",
                      c->strategy, c->order, c->order_given ? "given" : "not given");
    }
    clr_rdoc_free(&doc);
    free(text);
    clr_device_result_free(&res);
}
END_TEST

/* The host side alone: the plans' bounds and the reference of special rows. */
START_TEST(plan_and_reference)
{
    clr_device dev = test_device();
    clr_tuning tuning = clr_tuning_default(&dev);
    clr_op_ctx ctx = {.device = &dev, .tuning = &tuning};
    for (size_t b = 1; b <= 64; b *= 2) {
        ctx.shape = (clr_shape){.batch = b, .dims = {128256}};
        clr_plan row = {0}, split = {0};
        clr_error err = {0};
        ck_assert_int_eq(clr_op_softmax.strategies[0].plan(&ctx, &row, &err), 0);
        ck_assert_int_eq(clr_op_softmax.strategies[1].plan(&ctx, &split, &err), 0);
        size_t parts = clr_plan_get(&split, "parts"), chunk = clr_plan_get(&split, "chunk");
        ck_assert(parts >= 1 && (parts - 1) * chunk < 128256 && parts * chunk >= 128256);
        ck_assert_uint_eq(split.scratch_bytes, b * parts * 2 * sizeof(float));
        ck_assert_uint_eq(row.scratch_bytes, 0);
        /* At most about 8000 u (row with the CPU's 16 work-items: 8020 roundings a chain). */
        ck_assert(row.err_rel > 18 * 0x1p-24 && row.err_rel < 1e-3);
        ck_assert(split.err_rel > 32 * 0x1p-24 && split.err_rel < 1e-3);
        ck_assert(row.err_abs >= 0x1p-24 && row.err_abs < 1.01 * 0x1p-24);
        /* portable: 32 blocks of 4096 in runs over the work-groups, (s_b, m_b) a block in the
         * scratch; its bound is split's at the tree's depth (15 roundings: far below row's). */
        clr_plan portable = {0};
        ck_assert_int_eq(clr_strategy_find(&clr_op_softmax, "portable")->plan(&ctx, &portable, &err), 0);
        size_t blocks = clr_plan_get(&portable, "blocks"), per = clr_plan_get(&portable, "per_group");
        size_t groups = clr_plan_get(&portable, "groups_per_row");
        ck_assert(blocks == 32 && per >= 1 && groups == (blocks + per - 1) / per);
        ck_assert_uint_eq(portable.scratch_bytes, groups > 1 ? b * blocks * 2 * sizeof(float) : 0);
        ck_assert_uint_eq(clr_plan_get(&portable, "launches"), groups > 1 ? 2 : 1);
        ck_assert(portable.err_rel > 32 * 0x1p-24 && portable.err_rel < 56 * 0x1p-24);
    }
    clr_shape s = {.batch = 1, .dims = {4}};
    float x[4] = {-INFINITY, 0.0f, 0.0f, -INFINITY}, ref[4];
    double scale[4];
    clr_op_softmax.reference(&s, x, NULL, ref, scale);
    /* d = 0 and A = 0: the differences add nothing to the bound */
    ck_assert(ref[0] == 0 && ref[1] == 0.5f && ref[2] == 0.5f && ref[3] == 0 && scale[0] == 0 && scale[1] == 0);
    float y[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    clr_op_softmax.reference(&s, y, NULL, ref, scale);
    for (int i = 0; i < 4; ++i)
        ck_assert(isnan(ref[i]) && scale[i] == 0);
    clr_error err = {0};
    s.dims[0] = 0;
    ck_assert_int_eq(clr_op_check_shape(&clr_op_softmax, &s, &err), CLR_EUSAGE);
    s.dims[0] = ((size_t)1 << 24) + 1;
    ck_assert_int_eq(clr_op_check_shape(&clr_op_softmax, &s, &err), CLR_EUSAGE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("softmax");
    TCase *t = tcase_create("softmax");
    tcase_set_timeout(t, 900);
    tcase_add_test(t, plan_and_reference);
    tcase_add_test(t, order_revisions_written_and_read);
    tcase_add_test(t, special_rows);
    tcase_add_test(t, a_kernel_dropping_one_element_fails);
    tcase_add_test(t, every_strategy_valid_row_invariant_split_varies);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
