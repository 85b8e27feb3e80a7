/* test_attention.c: attention's portable strategy on a real device (PoCL by default, or
 * CLREPRO_TEST_DEVICE). Valid and replayed bit for bit at head dims 1, 48, 64, 128 and 200,
 * lengths below, at and past its 128-token chunk (5, 128, 129, 257, 300, 1000), batches 1, 2
 * and 8, in float32 and bfloat16, bit-identical across batches, runs and a larger KV cache; the
 * same output bits (fingerprint) under every tuning the command line can change (--wg 1/16/256,
 * --vec 1/4/16, --contig 0/1, --chunk), which fixedsplit follows: what can be checked of device
 * invariance on one device; a kernel sabotaged to drop one token fails the replay, also where
 * the error bound lets it pass; and rows made to test the exp and the merge (all scores tied,
 * all zero, ties of the max across chunks, whole chunks and tokens whose weights underflow to
 * subnormals or zero, a wide spread) give the replay's bits and stay within the bound of the
 * float64 reference. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "op.h"
#include "program.h"
#include "reference.h"
#include "runner.h"
#include "test_util.h"

static const clr_claim_result *claim(const clr_device_result *res, const char *strategy, unsigned bit)
{
    for (size_t i = 0; i < res->nclaims; ++i)
        if (res->claims[i].claim == bit &&
            !strcmp(clr_op_attention.strategies[res->claims[i].strategy].name, strategy))
            return &res->claims[i];
    return NULL;
}

/* What --wg, --vec, --chunk and --contig would set (0 and CLR_CONTIG_DEVICE: the default). */
typedef struct tuning_choice {
    unsigned wg, vec, chunk;
    clr_contig contig;
} tuning_choice;

/* A run of the named strategies (a NULL-terminated list) over generated rows, at a tuning (NULL:
 * the device's), with a kernel folder (NULL: the built-in kernels). */
static void run_strategies(const char *const *names, clr_shape *shapes, size_t nshapes, const size_t *batches,
                           size_t nbatches, const tuning_choice *tc, const char *kernel_dir, clr_device_result *res)
{
    clr_device dev = test_device();
    clr_run_config cfg = {0};
    cfg.op = &clr_op_attention;
    for (size_t i = 0; names[i]; ++i) {
        const clr_strategy *s = clr_strategy_find(&clr_op_attention, names[i]);
        ck_assert_msg(s != NULL, "attention has no strategy %s", names[i]);
        cfg.strategy_index[cfg.nstrategies++] = (size_t)(s - clr_op_attention.strategies);
    }
    cfg.shapes = shapes;
    cfg.nshapes = nshapes;
    cfg.batches = batches;
    cfg.nbatches = nbatches;
    cfg.trials = 2;
    cfg.reps = 1;
    cfg.warmup = 1;
    cfg.input.seed = 11;
    cfg.input.dist = CLR_DIST_NORMAL;
    cfg.kernel_dir = kernel_dir;
    if (tc) {
        cfg.wg = tc->wg;
        cfg.vec = tc->vec;
        cfg.chunk = tc->chunk;
        cfg.contig = tc->contig;
    }
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s", err.msg);
}

static const char *const portable_only[] = {"portable", NULL};

START_TEST(portable_replayed_at_every_shape)
{
    size_t batches[] = {1, 2, 8};
    for (int dt = 0; dt < 2; ++dt) {
        clr_dtype type = (clr_dtype)dt;
        clr_shape fp32[] = {{.dims = {2, 1, 300}},  {.dims = {3, 48, 1000}}, {.dims = {2, 64, 128}},
                            {.dims = {2, 128, 257}}, {.dims = {1, 200, 129}}, {.dims = {2, 64, 5}}};
        clr_shape bf16[] = {{.dims = {2, 48, 300}, .dtype = CLR_BF16}, {.dims = {1, 128, 129}, .dtype = CLR_BF16}};
        clr_shape *shapes = type == CLR_BF16 ? bf16 : fp32;
        size_t nshapes = type == CLR_BF16 ? 2 : 6;
        clr_device_result res;
        run_strategies(portable_only, shapes, nshapes, batches, 3, NULL, NULL, &res);
        ck_assert_uint_eq(res.ncases, nshapes * 3);
        ck_assert_msg(res.replay, "the device flushes subnormals: no replay (run these tests on one that keeps them)");
        for (size_t i = 0; i < res.ncases; ++i) {
            const clr_case *c = &res.cases[i];
            char shape[128];
            clr_shape_text(&clr_op_attention, &c->shape, shape, sizeof shape);
            ck_assert_msg(!c->skipped, "portable %s skipped: %s", shape, c->skip_reason);
            ck_assert_msg(c->replayed && c->replay_mismatches == 0, "portable %s %s B %zu: %zu rows differ from the "
                          "replay (%s)", shape, clr_dtype_name(type), c->shape.batch, c->replay_mismatches,
                          c->first_mismatch);
            ck_assert_msg(c->valid, "portable %s %s B %zu: %zu rows beyond the bound (worst %.3g x)", shape,
                          clr_dtype_name(type), c->shape.batch, c->rows_out_of_bound, c->worst_error_ratio);
            ck_assert_msg(clr_plan_get(&c->plan, "chunk") == 128, "portable's chunk is not 128");
            ck_assert(c->has_layout && c->layout_same);
        }
        const clr_claim_result *det = claim(&res, "portable", CLR_CLAIM_DETERMINISTIC);
        const clr_claim_result *inv = claim(&res, "portable", CLR_CLAIM_BATCH_INVARIANT);
        ck_assert(det && det->status == CLR_CLAIM_HELD);
        ck_assert_msg(inv && inv->status == CLR_CLAIM_HELD, "%s", inv ? inv->evidence : "no claim");
        ck_assert_uint_eq(res.broken_claims, 0);
        clr_device_result_free(&res);
    }
}
END_TEST

/* The fingerprint of (strategy, shape, batch) in res. */
static uint64_t fingerprint(const clr_device_result *res, const char *strategy, size_t shape, size_t batch,
                            const clr_case **out)
{
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        if (c->shape_index == shape && c->shape.batch == batch &&
            !strcmp(clr_op_attention.strategies[c->strategy].name, strategy)) {
            ck_assert_msg(!c->skipped && c->valid, "%s B %zu: skipped or invalid", strategy, batch);
            *out = c;
            return c->fingerprint;
        }
    }
    ck_abort_msg("no case %s shape %zu B %zu", strategy, shape, batch);
    return 0;
}

START_TEST(portable_bits_ignore_the_tuning)
{
    /* d 80 and L 700 (128 x 5 + 60): no multiple of anything the tuning holds. Every tuning
     * value the command line takes appears; fixedsplit shows that the chunk reached the plans. */
    static const tuning_choice tunings[] = {
        {0, 0, 0, CLR_CONTIG_DEVICE}, {1, 1, 64, CLR_CONTIG_NO},      {16, 4, 300, CLR_CONTIG_YES},
        {256, 16, 1000, CLR_CONTIG_NO}, {256, 1, 16, CLR_CONTIG_YES},
    };
    static const char *const names[] = {"portable", "fixedsplit", NULL};
    clr_shape shapes[] = {{.dims = {3, 80, 700}}, {.dims = {2, 1, 129}}};
    size_t batches[] = {1, 3};
    clr_device_result base;
    run_strategies(names, shapes, 2, batches, 2, &tunings[0], NULL, &base);
    for (size_t k = 1; k < sizeof tunings / sizeof tunings[0]; ++k) {
        clr_device_result res;
        run_strategies(names, shapes, 2, batches, 2, &tunings[k], NULL, &res);
        ck_assert_uint_eq(res.tuning.kv_chunk, tunings[k].chunk);
        for (size_t s = 0; s < 2; ++s)
            for (size_t b = 0; b < 2; ++b) {
                const clr_case *c0, *c;
                uint64_t want = fingerprint(&base, "portable", s, batches[b], &c0);
                uint64_t got = fingerprint(&res, "portable", s, batches[b], &c);
                ck_assert_msg(got == want, "portable shape %zu B %zu: fingerprint %016llx under --wg %u --vec %u "
                              "--chunk %u --contig %d, %016llx by default", s, batches[b], (unsigned long long)got,
                              tunings[k].wg, tunings[k].vec, tunings[k].chunk, (int)tunings[k].contig,
                              (unsigned long long)want);
                ck_assert(c->replayed && c->replay_mismatches == 0);
                ck_assert_uint_eq(clr_plan_get(&c->plan, "chunk"), 128);
                fingerprint(&res, "fixedsplit", s, batches[b], &c);
                ck_assert_uint_eq(clr_plan_get(&c->plan, "chunk"), tunings[k].chunk);
            }
        clr_device_result_free(&res);
    }
    clr_device_result_free(&base);
}
END_TEST

START_TEST(sabotaged_kernel_fails_the_replay)
{
    /* Token 3 of every (sequence, head) loses its score (-inf, weight 0): one token of 300 or
     * 1000, often inside the error bound. */
    char dir[512];
    test_sabotaged_kernels(dir, sizeof dir, "attention.cl", "        if (i < count) {",
                           "        if (i < count && t_begin + i != 3) {");
    clr_shape shapes[] = {{.dims = {2, 64, 1000}}, {.dims = {2, 48, 300}}, {.dims = {1, 128, 1000}}};
    size_t batches[] = {1, 2};
    clr_device_result res;
    run_strategies(portable_only, shapes, 3, batches, 2, NULL, dir, &res);
    size_t hidden_by_bound = 0;
    for (size_t i = 0; i < res.ncases; ++i) {
        const clr_case *c = &res.cases[i];
        ck_assert_msg(c->replayed && c->replay_mismatches > 0 && !c->valid,
                      "a kernel that drops token 3 passed (L %zu B %zu)", c->shape.dims[2], c->shape.batch);
        hidden_by_bound += c->rows_out_of_bound == 0;
    }
    printf("sabotaged portable: %zu of %zu cases caught by the replay alone (inside the error bound)\n",
           hidden_by_bound, res.ncases);
    clr_device_result_free(&res);
    test_remove_kernels(dir);
}
END_TEST

/* Rows made by hand, run through the strategy's own plan, enqueue and replay (no runner). */
enum { NR = 5, H = 2, D = 64, L = 300 };

static void set_score(float *row, size_t h, size_t t, float s)
{
    /* q_h = (8, 0, ..., 0) and scale = 1/8: the score of token t is k_t[0], exactly. */
    row[H * D + (t * H + h) * D] = s;
}

static void special_rows(float *rows)
{
    size_t n = H * D * (1 + 2 * L);
    for (size_t r = 0; r < NR; ++r) {
        float *row = rows + r * n;
        clr_gen_row(3, CLR_DIST_NORMAL, r, row, n);
        if (r == 4) { /* a wide spread: scores of sd 20, so weights from 1 down to 0 */
            for (size_t i = H * D; i < H * D * (1 + L); ++i)
                row[i] *= 20.0f;
            continue;
        }
        for (size_t h = 0; h < H; ++h) {
            for (size_t j = 0; j < D; ++j)
                row[h * D + j] = j == 0 && r != 1 ? 8.0f : 0.0f; /* row 1: q = 0, every score +0 */
            for (size_t t = 0; t < L; ++t) {
                float s;
                if (r == 0) /* every score equal: ties everywhere */
                    s = 1.5f;
                else if (r == 2) /* chunk 0 far below: its weight exp(-105 - 3) is 0; chunk 2 from
                                  * 85 to 98 below its max: subnormal weights; ties of the max 3
                                  * at tokens 140, 200 (chunk 1) and 260 (chunk 2) */
                    s = t < 128 ? -105.0f - 0.25f * (float)t : t < 256 ? 0.01f * (float)(t % 50) : -82.0f - 0.3f * (float)(t - 256);
                else /* r == 3: one token far above: every other weight underflows */
                    s = t == 77 ? 120.0f : 0.5f * (float)(t % 7);
                if (r == 2 && (t == 140 || t == 200 || t == 260))
                    s = 3.0f;
                if (r != 1)
                    set_score(row, h, t, s);
            }
        }
    }
}

/* A context of the attention program on the test device (ctx_open, then ctx_build once the
 * strategy is known to run there), one plan and launch run to completion (ctx_run), and the
 * release of all of it with the input and output buffers (ctx_close). */
static void ctx_open(clr_device *dev, const clr_tuning *t, clr_program *prog, clr_op_ctx *ctx)
{
    clr_error err = {0};
    ck_assert_msg(clr_device_open(dev, &ctx->context, &ctx->queue, 0, &err) == 0, "%s", err.msg);
    ctx->device = dev;
    ctx->tuning = t;
    ctx->program = prog;
}

static void ctx_build(clr_op_ctx *ctx)
{
    clr_error err = {0};
    const clr_operation *op = &clr_op_attention; /* its defines, as the runner builds it */
    ck_assert_msg(clr_program_build(ctx->context, ctx->device, NULL, op->source, ctx->tuning, op->defines,
                                    ctx->program, &err) == 0, "%s", test_tail(err.msg, 2000));
}

static void ctx_run(const clr_strategy *s, clr_op_ctx *ctx, clr_plan *plan)
{
    clr_error err = {0};
    cl_event first, last;
    memset(plan, 0, sizeof *plan);
    ck_assert_msg(s->plan(ctx, plan, &err) == 0 && s->enqueue(ctx, plan, &first, &last, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(clWaitForEvents(1, &last), CL_SUCCESS);
    if (first != last)
        clReleaseEvent(first);
    clReleaseEvent(last);
}

/* The input (rows of in_row floats, copied) and output (of out_row floats) of `rows` rows. */
static void ctx_buffers(clr_op_ctx *ctx, const float *in, size_t rows, size_t in_row, size_t out_row)
{
    cl_int st;
    ctx->input = clCreateBuffer(ctx->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, rows * in_row * sizeof(float),
                                (void *)in, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
    ctx->output = clCreateBuffer(ctx->context, CL_MEM_WRITE_ONLY, rows * out_row * sizeof(float), NULL, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
}

static void ctx_close(clr_op_ctx *ctx)
{
    if (ctx->input)
        clReleaseMemObject(ctx->input);
    if (ctx->output)
        clReleaseMemObject(ctx->output);
    if (ctx->scratch)
        clReleaseMemObject(ctx->scratch);
    clr_program_release(ctx->program);
    clReleaseCommandQueue(ctx->queue);
    clReleaseContext(ctx->context);
}

START_TEST(special_rows_match_the_replay)
{
    const clr_operation *op = &clr_op_attention;
    const clr_strategy *s = clr_strategy_find(op, "portable");
    clr_device dev = test_device();
    clr_tuning t = clr_tuning_default(&dev);
    clr_program prog = {0};
    clr_op_ctx ctx = {0};
    clr_error err = {0};
    ctx_open(&dev, &t, &prog, &ctx);
    ctx.shape = (clr_shape){.batch = NR, .dims = {H, D, L}};
    char why[256];
    if (s->available && !s->available(&ctx, why, sizeof why)) {
        printf("special rows: portable not run on %s: %s\n", dev.name, why);
        ctx_close(&ctx);
        return;
    }
    ctx_build(&ctx);
    size_t in_row = op->input_row_floats(&ctx.shape), out_row = op->output_row_floats(&ctx.shape);
    float *rows = malloc(NR * in_row * sizeof(float)), *out = malloc(NR * out_row * sizeof(float));
    float *want = malloc(out_row * sizeof(float)), *ref = malloc(out_row * sizeof(float));
    double *tol = calloc(out_row, sizeof(double)), *scale = malloc(out_row * sizeof(double));
    ck_assert(rows && out && want && ref && tol && scale);
    special_rows(rows);
    ctx_buffers(&ctx, rows, NR, in_row, out_row);
    clr_plan plan;
    ctx_run(s, &ctx, &plan);
    ck_assert_int_eq(clEnqueueReadBuffer(ctx.queue, ctx.output, CL_TRUE, 0, NR * out_row * sizeof(float), out, 0, NULL,
                                         NULL),
                     CL_SUCCESS);
    cl_device_fp_config fp = dev.single_fp;
    for (size_t r = 0; r < NR; ++r) {
        const float *o = out + r * out_row;
        ck_assert_int_eq(s->replay(&ctx, &plan, rows + r * in_row, NULL, want, tol, &err), 0);
        op->reference(&ctx.shape, rows + r * in_row, NULL, ref, scale);
        for (size_t i = 0; i < out_row; ++i) {
            ck_assert_msg(isfinite(o[i]), "row %zu output %zu: %a", r, i, (double)o[i]);
            if (fp & CL_FP_DENORM)
                ck_assert_msg(clr_float_bits(o[i]) == clr_float_bits(want[i]),
                              "row %zu output %zu: device %a, replay %a", r, i, (double)o[i], (double)want[i]);
            double allowed = plan.err_abs * scale[i] + plan.err_rel * fabs((double)ref[i]) + 0x1p-140;
            ck_assert_msg(fabs((double)o[i] - (double)ref[i]) <= allowed, "row %zu output %zu: %a, reference %a", r, i,
                          (double)o[i], (double)ref[i]);
        }
    }
    /* Rows 0 and 1 (all scores equal) are the mean of V: l is exactly L. */
    for (size_t r = 0; r < 2; ++r)
        for (size_t h = 0; h < H; ++h) {
            double mean = 0;
            for (size_t tk = 0; tk < L; ++tk)
                mean += rows[r * in_row + H * D * (1 + L) + (tk * H + h) * D + 5];
            mean /= L;
            ck_assert_msg(fabs(out[r * out_row + h * D + 5] - mean) < 1e-5, "row %zu: %g, mean %g", r,
                          (double)out[r * out_row + h * D + 5], mean);
        }
    ctx_close(&ctx);
    free(rows);
    free(out);
    free(want);
    free(ref);
    free(tol);
    free(scale);
}
END_TEST

/* fixedsplit's chunks sit at fixed token positions. Under a tuning of 16 chunks of 16 tokens, then
 * chunks of 32, sequence 0 (300 tokens: 16 + 2 chunks) must give the same bits beside a sequence of
 * 300 tokens and beside one of 700 (the shape's L, the longest, then 700: 16 + 14 chunks), as the
 * decode engine batches sequences of different lengths with one shape; and stay within the bound
 * of the float64 reference. A chunk that followed the shape's L would fail the first assertion. */
START_TEST(fixedsplit_chunks_ignore_the_longest_sequence)
{
    enum { HH = 2, DD = 16, CAP = 700, NB = 2 };
    static const cl_uint lens_of[2][NB] = {{300, 300}, {300, 700}};
    static const size_t splits_of[2] = {18, 30};
    const clr_operation *op = &clr_op_attention;
    const clr_strategy *s = clr_strategy_find(op, "fixedsplit");
    clr_device dev = test_device();
    clr_tuning t = clr_tuning_default(&dev);
    t.kv_chunk = 16;
    t.kv_far_chunk = 32;
    clr_program prog = {0};
    clr_op_ctx ctx = {0};
    ctx_open(&dev, &t, &prog, &ctx);
    ctx_build(&ctx);
    clr_shape full = {.batch = NB, .dims = {HH, DD, CAP, CAP}};
    size_t in_row = op->input_row_floats(&full), out_row = op->output_row_floats(&full);
    float *rows = malloc(NB * in_row * sizeof(float)), *out[2], *ref = malloc(out_row * sizeof(float));
    double *scale = malloc(out_row * sizeof(double));
    out[0] = malloc(NB * out_row * sizeof(float));
    out[1] = malloc(NB * out_row * sizeof(float));
    ck_assert(rows && out[0] && out[1] && ref && scale);
    for (size_t r = 0; r < NB; ++r)
        clr_gen_row(5, CLR_DIST_NORMAL, r, rows + r * in_row, in_row);
    ctx_buffers(&ctx, rows, NB, in_row, out_row);
    cl_int st;
    cl_mem lens = clCreateBuffer(ctx.context, CL_MEM_READ_ONLY, NB * sizeof(cl_uint), NULL, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
    clr_att_layout lay = {ctx.input, ctx.input, ctx.input, lens, 0, in_row, HH * DD, HH * DD + CAP * HH * DD,
                          in_row, HH * DD, 1};
    ctx.params = &lay;
    clr_plan plan[2];
    for (int k = 0; k < 2; ++k) {
        ck_assert_int_eq(clEnqueueWriteBuffer(ctx.queue, lens, CL_TRUE, 0, NB * sizeof(cl_uint), lens_of[k], 0, NULL,
                                              NULL),
                         CL_SUCCESS);
        ctx.shape = (clr_shape){.batch = NB, .dims = {HH, DD, lens_of[k][NB - 1], CAP}};
        ctx_run(s, &ctx, &plan[k]);
        ck_assert_uint_eq(clr_plan_get(&plan[k], "splits"), splits_of[k]);
        ck_assert_uint_eq(clr_plan_get(&plan[k], "chunk"), 16);
        ck_assert_uint_eq(clr_plan_get(&plan[k], "far_chunk"), 32);
        ck_assert_int_eq(clEnqueueReadBuffer(ctx.queue, ctx.output, CL_TRUE, 0, NB * out_row * sizeof(float), out[k],
                                             0, NULL, NULL),
                         CL_SUCCESS);
    }
    for (size_t i = 0; i < out_row; ++i)
        ck_assert_msg(clr_float_bits(out[0][i]) == clr_float_bits(out[1][i]),
                      "output %zu of the 300-token sequence: %a beside 300 tokens, %a beside 700", i, (double)out[0][i],
                      (double)out[1][i]);
    clr_shape own = {.batch = 1, .dims = {HH, DD, 300, CAP}};
    op->reference(&own, rows, NULL, ref, scale);
    for (size_t i = 0; i < out_row; ++i) {
        double allowed = plan[0].err_abs * scale[i] + plan[0].err_rel * fabs((double)ref[i]) + 0x1p-140;
        ck_assert_msg(fabs((double)out[0][i] - (double)ref[i]) <= allowed, "output %zu: %a, reference %a", i,
                      (double)out[0][i], (double)ref[i]);
    }
    clReleaseMemObject(lens);
    ctx_close(&ctx);
    free(rows);
    free(out[0]);
    free(out[1]);
    free(ref);
    free(scale);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attention");
    TCase *t = tcase_create("portable");
    tcase_set_timeout(t, 900);
    tcase_add_test(t, portable_replayed_at_every_shape);
    tcase_add_test(t, portable_bits_ignore_the_tuning);
    tcase_add_test(t, sabotaged_kernel_fails_the_replay);
    tcase_add_test(t, special_rows_match_the_replay);
    tcase_add_test(t, fixedsplit_chunks_ignore_the_longest_sequence);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
