/* rmsnorm.c: operation `rmsnorm`, y = x / sqrt(mean(x^2) + eps) * w over B rows of hidden
 * size D, with shared weights w. Kernels in cl/rmsnorm.cl.
 *
 * Strategy   the row's sum of squares is reduced                   claims
 * row        by one work-group, one fixed order                    deterministic, batch-invariant
 * split      by `parts` work-groups (from B and the compute units), deterministic
 *            then combined
 * atomic     by parts work-groups added with a float atomic add   (none)
 * portable   in the canonical tree of cl/tree.clh (blocks of       deterministic, batch-invariant,
 *            4096 squares folded pairwise, level by level: an      device-invariant
 *            order that depends on D alone), one work-group a row
 *
 * Reference: float64 on the host. Validation bound (u = 2^-24, d = longest chain of roundings
 * in the sum of squares): |y - ref| <= (gamma_d / 2 + 10u) |ref| (sqrt halves the relative error
 * of its argument; divide, sqrt and two products cost at most 8.5 ulp in OpenCL). Every strategy
 * is also replayed on the host (below): bit for bit where the device rounds divide and sqrt
 * correctly (the program is built with -cl-fp32-correctly-rounded-divide-sqrt there).
 *
 * portable is the same arithmetic on every device: each square rounded once (no contraction),
 * the tree, total / D, + eps, sqrt, 1 / (that), x * inv, then * w, all IEEE operations. It runs
 * only where the device rounds divide and sqrt correctly and keeps subnormals (elsewhere it is
 * "not run", with why: a bound would not make its bits the same as other devices'), on rows of
 * at most TREE_BLOCK^2 values (two levels of the tree in one work-group). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "op.h"
#include "reference.h"
#include "replay.h"

#define RMS_EPS 1e-6f

static size_t dim_d(const clr_op_ctx *ctx) { return ctx->shape.dims[0]; }

/* The caller's epsilon (the decode engine: the model's rms_norm_eps), else RMS_EPS. */
static float eps_of(const clr_op_ctx *ctx)
{
    return ctx->params ? *(const float *)ctx->params : RMS_EPS;
}

static void bound(const clr_op_ctx *ctx, clr_plan *plan)
{
    (void)ctx;
    plan->err_abs = 0;
    plan->err_rel = clr_gamma(plan->depth) / 2 + 10 * 0x1p-24;
    clr_plan_param(plan, "eps", eps_of(ctx));
}

/* One work-group per row: WG_SIZE work-items on GPUs; on CPUs (contig) one work-item that sums
 * the squares as vectors of the tuning's width (cl/rmsnorm.cl). */
static int row_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    const clr_tuning *t = ctx->tuning;
    unsigned wg = t->contig ? 1 : t->wg_size;
    size_t D = dim_d(ctx);
    plan->local = wg;
    plan->global = ctx->shape.batch * wg;
    plan->depth = t->contig ? ceil((double)D / t->vec) + clr_log2u(t->vec) + (double)(D % t->vec)
                            : ceil((double)D / wg) + clr_log2u(wg);
    clr_plan_param(plan, "wg", wg);
    if (t->contig)
        clr_plan_param(plan, "vec", t->vec);
    bound(ctx, plan);
    return CLR_OK;
}

static int row_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel k;
    cl_uint D = (cl_uint)dim_d(ctx);
    float eps = eps_of(ctx);
    if (clr_program_kernel(ctx->program, "rmsnorm_row", &k, err) ||
        clr_set_args(k, err, 5, CLR_ARG(ctx->input), CLR_ARG(ctx->shared), CLR_ARG(ctx->output), CLR_ARG(D), CLR_ARG(eps)) ||
        clr_enqueue_1d(ctx, k, plan->global, plan->local, first, err))
        return err->code;
    *last = *first;
    return CLR_OK;
}

/* Parts per row chosen from B and the compute units, as libraries do for small batches. */
static int split_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    unsigned wg = ctx->tuning->wg_size;
    size_t parts, chunk;
    clr_plan_row_split(ctx, dim_d(ctx), plan, &parts, &chunk);
    plan->depth = ceil((double)chunk / wg) + clr_log2u(wg) + ceil((double)parts / wg) + clr_log2u(wg);
    plan->scratch_bytes = ctx->shape.batch * parts * sizeof(float);
    bound(ctx, plan);
    return CLR_OK;
}

static int split_enqueue_impl(clr_op_ctx *ctx, const clr_plan *plan, int atomic, cl_event *first, cl_event *last,
                              clr_error *err)
{
    cl_kernel kp, k2;
    cl_mem partials;
    cl_uint D = (cl_uint)dim_d(ctx), parts = (cl_uint)clr_plan_get(plan, "parts"), chunk = (cl_uint)clr_plan_get(plan, "chunk");
    cl_uint is_atomic = (cl_uint)atomic;
    float eps = eps_of(ctx);
    const float zero = 0.0f;
    size_t batch = ctx->shape.batch, wg = ctx->tuning->wg_size;
    if (clr_op_scratch(ctx, plan, &partials, err) ||
        clr_program_kernel(ctx->program, "rmsnorm_partials", &kp, err) ||
        clr_program_kernel(ctx->program, atomic ? "rmsnorm_apply" : "rmsnorm_combine", &k2, err) ||
        clr_set_args(kp, err, 6, CLR_ARG(ctx->input), CLR_ARG(partials), CLR_ARG(D), CLR_ARG(parts), CLR_ARG(chunk), CLR_ARG(is_atomic)))
        return err->code;
    if (atomic ? clr_set_args(k2, err, 6, CLR_ARG(ctx->input), CLR_ARG(ctx->shared), CLR_ARG(partials), CLR_ARG(ctx->output),
                              CLR_ARG(D), CLR_ARG(eps))
               : clr_set_args(k2, err, 7, CLR_ARG(ctx->input), CLR_ARG(ctx->shared), CLR_ARG(partials), CLR_ARG(ctx->output),
                              CLR_ARG(D), CLR_ARG(parts), CLR_ARG(eps)))
        return err->code;
    cl_event fill = NULL, pass1 = NULL;
    if (atomic && CLR_CL(err, clEnqueueFillBuffer(ctx->queue, partials, &zero, sizeof zero, 0, batch * sizeof(float),
                                                  0, NULL, &fill)))
        return err->code;
    if (clr_enqueue_1d(ctx, kp, plan->global, plan->local, &pass1, err) ||
        clr_enqueue_second(ctx, k2, batch * wg, wg, &pass1, last, err)) {
        if (fill)
            clReleaseEvent(fill);
        return err->code;
    }
    if (fill) {
        clReleaseEvent(pass1);
        *first = fill;
    } else {
        *first = pass1;
    }
    return CLR_OK;
}

static int split_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    return split_enqueue_impl(ctx, plan, 0, first, last, err);
}

static int atomic_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    split_plan(ctx, plan, err);
    unsigned wg = ctx->tuning->wg_size;
    plan->depth = ceil((double)clr_plan_get(plan, "chunk") / wg) + clr_log2u(wg) + (double)clr_plan_get(plan, "parts");
    plan->scratch_bytes = ctx->shape.batch * sizeof(float); /* one sum of squares a row */
    plan->err_rel = clr_gamma(plan->depth) / 2 + 10 * 0x1p-24;
    return CLR_OK;
}

static int atomic_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    return split_enqueue_impl(ctx, plan, 1, first, last, err);
}

/* Host replays. The sum of squares is replayed as the kernels make it (wg_sumsq: work-item lid
 * squares and adds x[begin + lid], x[begin + lid + WG], ... from +0, then the work-group tree).
 * Where the device rounds divide and sqrt correctly (the program is then built with
 * -cl-fp32-correctly-rounded-divide-sqrt), y = (x * (1 / sqrt(total / D + eps))) * w is IEEE
 * operations only and its bits are demanded: a missing or doubled square, however small, or a
 * wrong order shows. Elsewhere OpenCL lets divide and sqrt err by 2.5 and 3 ulp, so
 * 1 / sqrt(...) may be 7 ulp off (14u) and the two products add 2u: y is held within 20u of the
 * replay, with 2 units of the smallest subnormal for products that underflow. */
static float sumsq_replay(const float *x, size_t begin, size_t end, unsigned wg, float *scratch)
{
    for (unsigned lid = 0; lid < wg; ++lid) {
        float s = 0.0f;
        for (size_t i = begin + lid; i < end; i += wg) {
            float square = x[i] * x[i];
            s += square;
        }
        scratch[lid] = s;
    }
    clr_reduce_geometry g = {wg, 1, 0};
    return clr_replay_wg_tree(&g, scratch); /* wg_tree_sum of cl/reduce.clh */
}

/* Whether the program was built with correctly rounded divide and sqrt (see clr_op_rmsnorm). */
static int exact_div_sqrt(const clr_op_ctx *ctx)
{
    return clr_op_rmsnorm.exact_div_sqrt && (ctx->device->single_fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
}

/* y from the replayed total: the kernel's float operations where they are IEEE (tol 0), else
 * around the double result. total_rel: relative uncertainty of the total itself (atomic). */
static void normalize_replay(const clr_op_ctx *ctx, const float *x, const float *w, size_t D, float total,
                             double total_rel, float *out, double *tol)
{
    if (exact_div_sqrt(ctx) && total_rel == 0) {
        float inv = 1.0f / sqrtf(total / (float)D + eps_of(ctx));
        for (size_t i = 0; i < D; ++i) {
            float scaled = x[i] * inv;
            out[i] = scaled * w[i];
            tol[i] = 0;
        }
        return;
    }
    double inv = 1.0 / sqrt((double)total / (double)D + (double)eps_of(ctx));
    double rel = 20 * 0x1p-24 + total_rel / 2;
    for (size_t i = 0; i < D; ++i) {
        double y = (double)x[i] * inv * (double)w[i];
        out[i] = (float)y;
        tol[i] = fabs(y) * rel + 2 * 0x1p-149 + fabs((double)out[i] - y);
    }
}

static int row_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                      float *out, double *tol, clr_error *err)
{
    (void)plan;
    const clr_tuning *t = ctx->tuning;
    unsigned wg = t->wg_size;
    size_t D = dim_d(ctx);
    float *scratch = clr_malloc((t->contig ? D : wg) * sizeof(float), "replay scratch", err);
    if (!scratch)
        return err->code;
    float total;
    if (t->contig) { /* one work-item: wi_partial_sum's order over the squares */
        for (size_t i = 0; i < D; ++i)
            scratch[i] = row[i] * row[i];
        clr_reduce_geometry g = {1, t->vec, 1};
        total = clr_replay_wi_partial(&g, scratch, D, 0);
    } else {
        total = sumsq_replay(row, 0, D, wg, scratch);
    }
    normalize_replay(ctx, row, shared, dim_d(ctx), total, 0, out, tol);
    free(scratch);
    return CLR_OK;
}

/* split's pass 1 (rmsnorm_partials): the sum of squares of every chunk; wg floats of scratch
 * follow the parts. */
static float *part_sums(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, clr_error *err)
{
    unsigned wg = ctx->tuning->wg_size;
    size_t D = dim_d(ctx), parts = clr_plan_get(plan, "parts"), chunk = clr_plan_get(plan, "chunk");
    float *p = clr_calloc(parts + wg, sizeof(float), "replayed partial sums", err);
    if (!p)
        return NULL;
    for (size_t q = 0; q < parts; ++q) {
        size_t begin = q * chunk < D ? q * chunk : D, end = D - begin > chunk ? begin + chunk : D;
        p[q] = sumsq_replay(row, begin, end, wg, p + parts);
    }
    return p;
}

static int split_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                        float *out, double *tol, clr_error *err)
{
    float *p = part_sums(ctx, plan, row, err);
    if (!p)
        return err->code;
    size_t parts = clr_plan_get(plan, "parts");
    /* rmsnorm_combine: work-item lid adds parts lid, lid + WG, ... from +0, then the tree: the
     * order of wg_range_sum with single floats interleaved. */
    clr_reduce_geometry g = {ctx->tuning->wg_size, 1, 0};
    float total = clr_replay_wg_range(&g, p, parts, p + parts);
    normalize_replay(ctx, row, shared, dim_d(ctx), total, 0, out, tol);
    free(p);
    return CLR_OK;
}

/* atomic: the parts are replayed; the race adds them to +0 in an unknown order, so the total is
 * known within gamma_(parts-1) of the sum of the parts (all non-negative). */
static int atomic_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                         float *out, double *tol, clr_error *err)
{
    float *p = part_sums(ctx, plan, row, err);
    if (!p)
        return err->code;
    size_t parts = clr_plan_get(plan, "parts");
    double sum = 0;
    for (size_t q = 0; q < parts; ++q)
        sum += (double)p[q];
    float total = (float)sum;
    double rel = parts > 1 ? clr_gamma((double)(parts - 1)) * 1.0001 + 0x1p-24 : 0;
    normalize_replay(ctx, row, shared, dim_d(ctx), total, rel, out, tol);
    free(p);
    return CLR_OK;
}

/* TREE_WG of cl/tree.clh: a work-item per work-group on CPUs, the tuning's size on GPUs. */
static size_t tree_wg(const clr_tuning *t) { return t->contig ? 1 : t->wg_size; }

/* portable: every step an IEEE operation, so only where divide and sqrt are correctly rounded
 * and subnormals are kept; two levels of the tree. */
static int portable_available(const clr_op_ctx *ctx, char *why, size_t size)
{
    cl_device_fp_config fp = ctx->device->single_fp;
    if (!(fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT)) {
        snprintf(why, size, "the device does not round divide and sqrt correctly "
                 "(no CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT): its bits could not match other devices'");
        return 0;
    }
    if (!(fp & CL_FP_DENORM)) {
        snprintf(why, size, "the device flushes subnormals: its bits could not match other devices'");
        return 0;
    }
    if (dim_d(ctx) > (size_t)CLR_TREE_BLOCK * CLR_TREE_BLOCK) {
        snprintf(why, size, "D = %zu is beyond the %llu values of two tree levels", dim_d(ctx),
                 (unsigned long long)CLR_TREE_BLOCK * CLR_TREE_BLOCK);
        return 0;
    }
    return 1;
}

static int portable_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    size_t wg = tree_wg(ctx->tuning);
    plan->local = wg;
    plan->global = ctx->shape.batch * wg;
    plan->depth = clr_tree_depth(dim_d(ctx)) + 1; /* the square, then the tree */
    clr_plan_param(plan, "wg", (double)wg);
    clr_plan_param(plan, "vec", ctx->tuning->vec);
    bound(ctx, plan);
    return CLR_OK;
}

static int portable_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel k;
    cl_uint D = (cl_uint)dim_d(ctx);
    float eps = eps_of(ctx);
    if (clr_program_kernel(ctx->program, "rmsnorm_portable", &k, err) ||
        clr_set_args(k, err, 5, CLR_ARG(ctx->input), CLR_ARG(ctx->shared), CLR_ARG(ctx->output), CLR_ARG(D), CLR_ARG(eps)) ||
        clr_enqueue_1d(ctx, k, plan->global, plan->local, first, err))
        return err->code;
    *last = *first;
    return CLR_OK;
}

/* The squares, rounded once each, then the tree (clr_tree_sum) and the IEEE normalization:
 * every bit demanded (the strategy runs only where divide and sqrt are correctly rounded). */
static int portable_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                           float *out, double *tol, clr_error *err)
{
    (void)plan;
    size_t D = dim_d(ctx);
    float *squares = clr_malloc(D * sizeof(float), "replayed squares", err);
    if (!squares)
        return err->code;
    for (size_t i = 0; i < D; ++i)
        squares[i] = row[i] * row[i];
    normalize_replay(ctx, row, shared, D, clr_tree_sum(squares, D), 0, out, tol);
    free(squares);
    return CLR_OK;
}

static const clr_strategy strategies[] = {
    {"row", "one work-group per row (one work-item in vectors on CPUs), one fixed reduction order",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT, NULL, row_plan, row_enqueue, row_replay, 1},
    {"split", "the row's sum of squares split over parts chosen from B and the compute units, then combined",
     CLR_CLAIM_DETERMINISTIC, NULL, split_plan, split_enqueue, split_replay, 1},
    {"atomic", "partial sums of squares combined with a compare-and-swap float add", 0, NULL, atomic_plan,
     atomic_enqueue, atomic_replay, 1},
    {"portable", "squares summed in the canonical tree (blocks of 4096 folded pairwise), IEEE normalization: "
     "the same bits on every device",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_DEVICE_INVARIANT, portable_available,
     portable_plan, portable_enqueue, portable_replay, 1},
};

static size_t row_floats(const clr_shape *s) { return s->dims[0]; }
static size_t shared_floats(const clr_shape *s) { return s->dims[0]; }

static double bytes(const clr_shape *s)
{
    double elem = (double)clr_dtype_size(s->dtype), D = (double)s->dims[0];
    return (double)s->batch * D * (elem + sizeof(float)) + D * elem;
}

static double flops(const clr_shape *s) { return 4.0 * (double)s->batch * (double)s->dims[0]; }

/* Weights near 1, from their own stream of the generator. */
static void fill_weights(const clr_shape *s, uint64_t seed, float *w)
{
    for (size_t i = 0; i < s->dims[0]; ++i)
        w[i] = 1.0f + 0.25f * clr_gen(seed, CLR_DIST_UNIFORM, UINT64_MAX - 1, i);
}

static void reference(const clr_shape *s, const float *x, const float *w, float *ref, double *scale)
{
    size_t D = s->dims[0];
    double ss = 0;
    for (size_t i = 0; i < D; ++i)
        ss += (double)x[i] * (double)x[i];
    double inv = 1.0 / sqrt(ss / (double)D + (double)RMS_EPS);
    for (size_t i = 0; i < D; ++i) {
        double y = (double)x[i] * inv * (double)w[i];
        ref[i] = (float)y;
        scale[i] = fabs(y);
    }
}

/* Local memory of rmsnorm_portable (the program holds every kernel): a vector per work-item of
 * the tree and a block of block sums. */
static int check_tuning(const clr_tuning *t, const clr_device *dev, clr_error *err)
{
    cl_ulong need = (cl_ulong)tree_wg(t) * t->vec * sizeof(float) + CLR_TREE_BLOCK * sizeof(float);
    if (need > dev->local_mem)
        return clr_fail(err, CLR_EUSAGE, "--wg %u --vec %u: rmsnorm's kernels need %llu bytes of local memory and "
                        "%s has %llu; use a smaller --wg or --vec", t->wg_size, t->vec, (unsigned long long)need,
                        dev->name, (unsigned long long)dev->local_mem);
    return CLR_OK;
}

static int check_shape(const clr_shape *s, clr_error *err)
{
    if (s->dims[0] > UINT32_MAX / 2)
        return clr_fail(err, CLR_EUSAGE, "rmsnorm --hidden %zu: at most %u", s->dims[0], UINT32_MAX / 2);
    return CLR_OK;
}

/* The llm suite: an 8B model's hidden size, 1 to 512 tokens. */
static const clr_suite_part suites[] = {
    {"llm", "llm-rmsnorm", {{4096}}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}, 0},
};

const clr_operation clr_op_rmsnorm = {
    .name = "rmsnorm",
    .summary = "B rows of hidden size D: y = x / sqrt(mean(x^2) + 1e-6) * w; reference: float64",
    .source = "rmsnorm.cl",
    .defines = "-DTREE_BLOCK=" CLR_STR(CLR_TREE_BLOCK),
    .batch_name = "B",
    .ndims = 1,
    .dim_names = {"hidden"},
    .dim_help = {"hidden size D"},
    .dim_defaults = {{4096}},
    .default_batches = {1, 2, 8, 32, 128},
    .suites = suites,
    .nsuites = sizeof suites / sizeof suites[0],
    .check_tuning = check_tuning,
    .supports_bf16 = 1,
    .supports_input_file = 1,
    .strategies = strategies,
    .nstrategies = sizeof strategies / sizeof strategies[0],
    .input_row_floats = row_floats,
    .output_row_floats = row_floats,
    .bytes = bytes,
    .flops = flops,
    .check_shape = check_shape,
    .shared_floats = shared_floats,
    .fill_shared = fill_weights,
    .reference = reference,
    .exact_div_sqrt = 1, /* one divide and one sqrt a row: free, and it makes every step replayable */
};
