/* test_ops.c: rmsnorm, matmul and attention on a real device (PoCL by default): every strategy
 * within its stated tolerance of the float64 host reference, in float32 and bfloat16 storage;
 * the batch-invariant strategies bit-identical across batch sizes, probe positions and repeated
 * runs; attention's invariant strategies bit-identical when the same tokens are read out of a
 * larger KV cache; the batch-variant ones observed to vary where their plan changes. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "op.h"
#include "reference.h"
#include "runner.h"
#include "test_util.h"

static const clr_claim_result *claim(const clr_device_result *res, const clr_operation *op, const char *strategy,
                                     unsigned bit)
{
    for (size_t i = 0; i < res->nclaims; ++i)
        if (res->claims[i].claim == bit && !strcmp(op->strategies[res->claims[i].strategy].name, strategy))
            return &res->claims[i];
    return NULL;
}

/* Runs every strategy of op over the shapes and batches; checks validity and the claims. */
static int test_contig;    /* as clr_run_config.contig */
static unsigned test_wg;    /* 0: the device's default */

static void run_all(const clr_operation *op, clr_shape *shapes, size_t nshapes, size_t *batches, size_t nbatches,
                    clr_device_result *res)
{
    clr_device dev = test_device();
    clr_run_config cfg = {0};
    cfg.op = op;
    for (size_t i = 0; i < op->nstrategies; ++i)
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
    cfg.contig = test_contig;
    cfg.wg = test_wg;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        if (c->skipped)
            continue;
        char shape[128];
        clr_shape_text(op, &c->shape, shape, sizeof shape);
        ck_assert_msg(c->valid, "%s %s %s batch %zu (%s): %zu rows beyond the tolerance (worst %.3g x)", op->name,
                      op->strategies[c->strategy].name, shape, c->shape.batch, clr_dtype_name(c->shape.dtype),
                      c->rows_out_of_bound, c->worst_error_ratio);
    }
    for (size_t k = 0; k < op->nstrategies; ++k) {
        const clr_strategy *s = &op->strategies[k];
        for (unsigned bit = CLR_CLAIM_DETERMINISTIC; bit <= CLR_CLAIM_BATCH_INVARIANT; bit <<= 1) {
            const clr_claim_result *cr = claim(res, op, s->name, bit);
            int ran = 0;
            for (size_t i = 0; i < res->ncases; ++i)
                ran |= res->cases[i].strategy == k && !res->cases[i].skipped;
            if ((s->claims & bit) && ran)
                ck_assert_msg(cr && cr->status == CLR_CLAIM_HELD, "%s %s claims %s: %s", op->name, s->name,
                              clr_claim_name(bit), cr ? cr->evidence : "not measured");
        }
    }
}

static int varied(const clr_device_result *res, const clr_operation *op, const char *strategy)
{
    const clr_claim_result *cr = claim(res, op, strategy, CLR_CLAIM_BATCH_INVARIANT);
    return cr && cr->status == CLR_CLAIM_VIOLATED;
}

START_TEST(rmsnorm_strategies)
{
    /* wg 256 (the GPU default) keeps rows of up to 4096 values in registers; the CPU default
     * (16) takes the two-pass path for all but the smallest rows. */
    for (int dt = 0; dt < 3; ++dt) {
        test_wg = dt == 2 ? 256 : 0;
        clr_dtype type = dt == 1 ? CLR_BF16 : CLR_FP32;
        clr_shape shapes[] = {{.dims = {4096}, .dtype = type}, {.dims = {1000}, .dtype = type},
                              {.dims = {65536}, .dtype = type}};
        size_t batches[] = {1, 3, 16};
        clr_device_result res;
        run_all(&clr_op_rmsnorm, shapes, 3, batches, 3, &res);
        if (!test_wg) /* an expectation for these inputs at the default tuning, not a claim */
            ck_assert_msg(varied(&res, &clr_op_rmsnorm, "split"), "rmsnorm split did not vary with B");
        clr_device_result_free(&res);
    }
    test_wg = 0;
}
END_TEST

START_TEST(matmul_strategies)
{
    for (int dt = 0; dt < 2; ++dt) {
        /* n = 1000 is not a multiple of the vector width: the column tail path is exercised. */
        clr_shape shapes[] = {{.dims = {2048, 512}, .dtype = (clr_dtype)dt}, {.dims = {300, 1000}, .dtype = (clr_dtype)dt}};
        size_t batches[] = {1, 3, 8, 33};
        clr_device_result res;
        run_all(&clr_op_matmul, shapes, 2, batches, 4, &res);
        ck_assert_msg(varied(&res, &clr_op_matmul, "splitk"), "matmul splitk did not vary with M");
        for (size_t i = 0; i < res.ncases; ++i)
            if (dt == CLR_BF16 && !strncmp(clr_op_matmul.strategies[res.cases[i].strategy].name, "clblast", 7))
                ck_assert_msg(res.cases[i].skipped, "CLBlast ran on bf16");
        clr_device_result_free(&res);
    }
}
END_TEST

/* tiled's order replayed on the host: chunks of 256 k, each an fma chain from +0, added in
 * chunk order into a total starting at +0 (cl/matmul.cl). */
static float tiled_host(const float *a, const float *b, size_t K, size_t N, size_t n)
{
    float total = 0.0f;
    for (size_t k0 = 0; k0 < K; k0 += 256) {
        float acc = 0.0f;
        for (size_t k = k0; k < K && k < k0 + 256; ++k)
            acc = fmaf(a[k], b[k * N + n], acc);
        total += acc;
    }
    return total;
}

START_TEST(matmul_tiled_is_the_host_order_for_any_tiling)
{
    /* CPU style (whole K per work-item, chunks in registers) and GPU style (a work-item per
     * chunk and a combining pass at small M; the local-memory kernels of 16 to 128 rows, per
     * chunk or whole, beyond), at K with a ragged last chunk and last tile, aligned (772) and
     * not (777, which keeps the GPU style on its work-item paths): every output of every row
     * equals the host replay of tiled's order, bit for bit. */
    const size_t ks[] = {772, 777}, N = 300;
    size_t batches[] = {1, 3, 5, 12, 24, 40, 70, 300};
    enum { NB = sizeof batches / sizeof batches[0], ROWS = 300 };
    for (size_t z = 0; z < 2; ++z) {
        size_t K = ks[z];
        clr_shape shape = {.dims = {K, N}};
        float *a = malloc(ROWS * K * sizeof *a), *b = malloc(K * N * sizeof *b), *want = malloc(ROWS * N * sizeof *want);
        for (size_t r = 0; r < ROWS; ++r)
            clr_gen_row(9, CLR_DIST_NORMAL, r, a + r * K, K);
        a[3 * K + 10] = -0.0f;
        clr_op_matmul.fill_shared(&shape, 5, b);
        for (size_t r = 0; r < ROWS; ++r)
            for (size_t n = 0; n < N; ++n)
                want[r * N + n] = tiled_host(a + r * K, b, K, N, n);
        for (int contig = 1; contig <= 2; ++contig) {
            clr_device dev = test_device();
            clr_run_config cfg = test_file_config(&clr_op_matmul, "tiled", &shape, batches, NB, a, ROWS, K);
            cfg.contig = contig;
            clr_device_result res;
            clr_error err = {0};
            ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
            ck_assert_uint_eq(res.ncases, NB);
            for (size_t i = 0; i < res.ncases; ++i) {
                const clr_case *c = &res.cases[i];
                ck_assert_msg(c->valid && c->outputs, "K %zu M %zu contig %d: not valid", K, c->shape.batch, contig);
                for (size_t e = 0; e < c->shape.batch * N; ++e)
                    ck_assert_msg(clr_float_bits(c->outputs[e]) == clr_float_bits(want[e]),
                                  "K %zu M %zu contig %d: output (%zu, %zu) is %a, the host's order gives %a", K,
                                  c->shape.batch, contig, e / N, e % N, (double)c->outputs[e], (double)want[e]);
            }
            ck_assert_uint_eq(res.broken_claims, 0);
            clr_device_result_free(&res);
        }
        free(a);
        free(b);
        free(want);
    }
}
END_TEST

START_TEST(attention_strategies)
{
    for (int dt = 0; dt < 2; ++dt) {
        /* kv-len 1000 = 256+256+256+232 for fixedsplit; head-dim 80 leaves lanes idle. */
        clr_shape shapes[] = {{.dims = {4, 64, 1000}, .dtype = (clr_dtype)dt}, {.dims = {2, 80, 300}, .dtype = (clr_dtype)dt}};
        size_t batches[] = {1, 2, 9};
        clr_device_result res;
        run_all(&clr_op_attention, shapes, 2, batches, 3, &res);
        ck_assert_msg(varied(&res, &clr_op_attention, "splitkv"), "attention splitkv did not vary with B");
        for (size_t i = 0; i < res.ncases; ++i) {
            const clr_case *c = &res.cases[i];
            ck_assert(c->has_layout == (c->shape.batch <= CLR_LAYOUT_MAX_BATCH));
            if (c->has_layout && (clr_op_attention.strategies[c->strategy].claims & CLR_CLAIM_BATCH_INVARIANT))
                ck_assert_msg(c->layout_same, "%s changed bits in a larger KV cache",
                              clr_op_attention.strategies[c->strategy].name);
        }
        clr_device_result_free(&res);
    }
}
END_TEST

START_TEST(fixedsplit_chunks_kv_length)
{
    /* The documented split of 1000 tokens on CPUs: 256+256+256+232, whatever the batch. */
    clr_device dev = test_device();
    clr_op_ctx ctx = {0};
    clr_tuning t = clr_tuning_default(&dev);
    ctx.device = &dev;
    ctx.tuning = &t;
    const clr_strategy *s = clr_strategy_find(&clr_op_attention, "fixedsplit");
    for (size_t batch = 1; batch <= 64; batch *= 4) {
        ctx.shape = (clr_shape){.batch = batch, .dims = {8, 64, 1000}};
        clr_plan plan = {0};
        clr_error err = {0};
        ck_assert_int_eq(s->plan(&ctx, &plan, &err), 0);
        double splits = 0, chunk = 0;
        for (size_t i = 0; i < plan.nparams; ++i) {
            if (!strcmp(plan.params[i].name, "splits"))
                splits = plan.params[i].value;
            if (!strcmp(plan.params[i].name, "chunk"))
                chunk = plan.params[i].value;
        }
        ck_assert(splits == 4 && chunk == 256);
    }
    /* A GPU's default: 16 chunks of 64 tokens, then chunks of 128 from token 1024, at every B. */
    t.kv_chunk = 64;
    t.kv_far_chunk = 128;
    static const size_t lengths[] = {1, 1000, 1024, 1025, 1152, 1153, 8192}, want[] = {1, 16, 16, 17, 17, 18, 72};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; ++i)
        for (size_t batch = 1; batch <= 64; batch *= 8) {
            ctx.shape = (clr_shape){.batch = batch, .dims = {8, 64, lengths[i]}};
            clr_plan plan = {0};
            clr_error err = {0};
            ck_assert_int_eq(s->plan(&ctx, &plan, &err), 0);
            ck_assert_msg(clr_plan_get(&plan, "splits") == want[i], "L %zu B %zu: %zu splits, want %zu", lengths[i],
                          batch, clr_plan_get(&plan, "splits"), want[i]);
            ck_assert_uint_eq(clr_plan_get(&plan, "chunk"), 64);
            ck_assert_uint_eq(clr_plan_get(&plan, "far_chunk"), lengths[i] > 1024 ? 128 : 0);
        }
}
END_TEST

/* clr_plan_param keeps at most CLR_MAX_PLAN_PARAMS parameters and drops the rest: every plan of
 * every strategy, over shapes and batches small and large and both tunings, leaves one free, so
 * none was dropped. */
START_TEST(plans_keep_every_parameter)
{
    clr_device dev = test_device();
    size_t nops;
    const clr_operation *const *ops = clr_op_all(&nops);
    static const size_t batches[] = {1, 2, 8, 160, 512};
    for (int contig = 0; contig < 2; ++contig) {
        clr_tuning t = clr_tuning_default(&dev);
        t.contig = contig;
        for (size_t o = 0; o < nops; ++o)
            for (size_t d = 0; d < 2; ++d)
                for (size_t b = 0; b < sizeof batches / sizeof batches[0]; ++b) {
                    clr_op_ctx ctx = {0};
                    ctx.device = &dev;
                    ctx.tuning = &t;
                    ctx.shape.batch = batches[b];
                    for (size_t k = 0; k < ops[o]->ndims; ++k)
                        ctx.shape.dims[k] = d ? ops[o]->dim_defaults[k][0] : 7;
                    for (size_t i = 0; i < ops[o]->nstrategies; ++i) {
                        const clr_strategy *st = &ops[o]->strategies[i];
                        clr_plan plan = {0};
                        clr_error err = {0};
                        if (st->plan(&ctx, &plan, &err) != 0)
                            continue; /* a plan that refuses (CLBlast absent, say) keeps nothing */
                        ck_assert_msg(plan.nparams < CLR_MAX_PLAN_PARAMS, "%s %s: %zu parameters, the most kept",
                                      ops[o]->name, st->name, plan.nparams);
                    }
                }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ops");
    TCase *t = tcase_create("ops");
    tcase_set_timeout(t, 900);
    tcase_add_test(t, plans_keep_every_parameter);
    tcase_add_test(t, rmsnorm_strategies);
    tcase_add_test(t, matmul_strategies);
    tcase_add_test(t, matmul_tiled_is_the_host_order_for_any_tiling);
    tcase_add_test(t, attention_strategies);
    tcase_add_test(t, fixedsplit_chunks_kv_length);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
