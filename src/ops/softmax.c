/* softmax.c: operation `softmax`, decode logits: B rows of V float32 (or bf16) logits to
 * probabilities y_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j. Kernels in cl/softmax.cl.
 *
 * Strategy   the row's sum of exp(x - max) is reduced                claims
 * row        by one work-group, one fixed order (strided per          deterministic, batch-invariant
 *            work-item, then the work-group tree; on CPUs one
 *            work-item, in vector lanes, then HSUM)
 * split      online softmax: `parts` work-groups per row (from B and  deterministic
 *            the compute units) each give (m_p, s_p); every part
 *            combines M = max m_p, S = sum s_p exp(m_p - M) in one
 *            fixed order and scales its chunk by exp(m_p - M) / S
 * portable   in the canonical tree of cl/tree.clh (blocks of 4096     deterministic, batch-invariant,
 *            exponentials folded pairwise, then the block sums: an   device-invariant
 *            order that depends on V alone), with the portable exp
 *            (cl/portable.clh); the blocks spread over work-groups
 *            (one, two or three launches: portable_plan)
 *
 * All three store the exponentials in y (split: exp(x - m_p)), then scale them: row and portable
 * by 1 / S, split by exp(m_p - M) * (1 / S) (one division a row and one product an element: a
 * rounding more than a division per element, which costs far more on every device). Generated logits are the
 * generator's values times 8 (uniform: [-8, 8)); --input rows are taken as they are. A NaN or
 * +inf logit, or a row of -inf only, makes the row NaN; -inf logits among finite ones give 0.
 *
 * Reference: float64 on the host (exact max, exp and sum in double; V <= 2^24 keeps the double
 * sum's error below u / 2^5). row and split are validated by error bound only: their exp is the
 * vendor's, which the host cannot replay (portable is also replayed: below). Bound, u = 2^-24,
 * from OpenCL's full profile (exp <= 3 ulp, so <= 6u relative; x / y <= 2.5 ulp, so
 * 1 / S <= 5u), d_i = x_i - m, A = sum_i p_i |d_i| (<= ln V):
 *   exp(fl(d_i)) = exp(d_i) (1 + eta_i), |eta_i| <= 6u + u |d_i|  (fl(d_i) = d_i (1 + delta))
 *   S' = sum exp(fl(d_i)) = S (1 + sigma), |sigma| <= sum p_i |eta_i| <= 6u + u A
 *   the float sum of non-negative terms: S' (1 + theta), |theta| <= gamma_k (k: its depth)
 *   y_i = e_i * fl(1 / S): 5u + u more.
 * row:   |y_i / p_i - 1| <= (18 + |d_i| + A) u + gamma_k, to first order.
 * split: the part's exp(x - m_p) and exp(m_p - M) (6u each, the two differences' roundings
 *        adding to u |d_i|), the product s_p exp(m_p - M) and w * (1 / S) (u each): the sum
 *        (13 + A) u, y_i (14 + |d_i|) u, 1 / S 5u: (32 + |d_i| + A) u + gamma_k, k the depth
 *        of the parts' sums plus that of the combine.
 * Second-order terms: with t the largest first-order total (|d_i| <= 110 wherever y_i is not
 * below the smallest subnormal term the runner allows), every product of (1 + a)^(+-1) factors
 * is within t / (1 - 3t), so the plan allows, with F = 1 / (1 - 3 t) and the reference's own
 * rounding (u |p_i|) and float64 error (< u / 16):
 *   |y_i - ref_i| <= F u p_i (|d_i| + A) + F ((c + 1.25) u + gamma_k) |ref_i|   (c = 18 or 32)
 * as err_abs = F u against scale_i = p_i (|d_i| + A), err_rel = F ((c + 1.25) u + gamma_k). Results
 * and exp's values below 2^-126 err by units of 2^-149, which the runner allows per rounding of
 * the plan's depth. A dropped element of weight p_j shows only where p_j exceeds the bound
 * (about gamma_k): the bound cannot see a missing small logit, a replay could (the portable
 * strategy sees it).
 *
 * portable: m = max x_i (exact), shift = m (0 where m is -inf), e_i = portable_exp(x_i - shift)
 * (only +, -, *, fma and exact scalings: the same bits on every device and on the host), S = the
 * canonical tree sum of the e_i, y_i = e_i * (1 / S) with 1 / S correctly rounded. Every step is
 * an IEEE operation, so the host replays it (clr_portable_exp, clr_tree_sum) and every bit is
 * demanded. It runs only where the device rounds divide correctly (the program is built with
 * -cl-fp32-correctly-rounded-divide-sqrt there) and keeps subnormals; elsewhere it is "not run",
 * with why. Specials as row: a NaN or +inf logit makes the row NaN, -inf logits give +0, a row of
 * -inf alone gives 0 * (1 / 0) = NaN (not portable_exp_diff's 1 for -inf - -inf, which would give
 * 1 / V). Its bound is row's (its exp is within 0.53 ulp, its division correctly rounded). On
 * GPUs each work-group folds one block (three launches: max, exponentials and block sums, the
 * scale), or, for small batches or rows of at most 2^15 logits, runs of blocks after reading
 * the whole row's max itself (two launches); on CPUs (CONTIG) a one-work-item work-group takes a row once B reaches the compute
 * units, and below that runs of blocks, about as many work-groups as the roof's widest launch
 * (compute units x groups_per_cu x 4); a row that fits one work-group is done in one launch. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include "data.h"
#include "op.h"
#include "portable.h"
#include "reference.h"

#define SM_U 0x1p-24
#define SM_MAX_D 110.0     /* |x - max| beyond which exp(x - max) / S is below 2^-158 */
#define SM_LOGIT_SCALE 8.0f /* generated rows are the generator's values times this */
#define SM_MAX_VOCAB ((size_t)1 << 24)

static size_t vocab(const clr_op_ctx *ctx) { return ctx->shape.dims[0]; }

/* The plan's bound for strategy constant c and a sum of depth k (see the header). */
static void bound(const clr_op_ctx *ctx, clr_plan *plan, double c, double k)
{
    double g = clr_gamma(k);
    double t = (c + 2) * SM_U + g + SM_U * (SM_MAX_D + log((double)vocab(ctx)));
    double f = 3 * t < 1 ? 1 / (1 - 3 * t) : INFINITY;
    plan->err_abs = f * SM_U;
    plan->err_rel = isfinite(f) ? f * ((c + 1.25) * SM_U + g) : INFINITY;
}

/* One work-group per row: WG_SIZE work-items on GPUs; on CPUs (contig) one work-item that works
 * in vectors of the tuning's width (cl/softmax.cl). */
static int row_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    const clr_tuning *t = ctx->tuning;
    unsigned wg = t->contig ? 1 : t->wg_size;
    size_t V = vocab(ctx);
    double k = t->contig ? ceil((double)V / t->vec) + clr_log2u(t->vec) + (double)(V % t->vec)
                         : ceil((double)V / wg) + clr_log2u(wg);
    if (t->contig)
        clr_plan_param(plan, "vec", t->vec);
    plan->local = wg;
    plan->global = ctx->shape.batch * wg;
    plan->depth = k + 4; /* x - m, exp, 1 / S, the product */
    clr_plan_param(plan, "wg", wg);
    bound(ctx, plan, 18, k);
    return CLR_OK;
}

static int row_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel k;
    cl_uint V = (cl_uint)vocab(ctx);
    if (clr_program_kernel(ctx->program, "softmax_row", &k, err) ||
        clr_set_args(k, err, 3, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(V)) ||
        clr_enqueue_1d(ctx, k, plan->global, plan->local, first, err))
        return err->code;
    *last = *first;
    return CLR_OK;
}

/* Parts per row from B and the compute units, as libraries do for long rows at small batch. */
static int split_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    unsigned wg = ctx->tuning->wg_size;
    size_t parts, chunk;
    clr_plan_row_split(ctx, vocab(ctx), plan, &parts, &chunk);
    double k = ceil((double)chunk / wg) + clr_log2u(wg) + ceil((double)parts / wg) + clr_log2u(wg);
    plan->depth = k + 8; /* two differences and exps, s_p * w, 1 / S, w * (1 / S), the product */
    plan->scratch_bytes = ctx->shape.batch * parts * 2 * sizeof(float); /* (m_p, s_p) per part */
    bound(ctx, plan, 32, k);
    return CLR_OK;
}

static int split_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel kp, ks;
    cl_mem partials;
    cl_uint V = (cl_uint)vocab(ctx), parts = (cl_uint)clr_plan_get(plan, "parts");
    cl_uint chunk = (cl_uint)clr_plan_get(plan, "chunk");
    if (clr_op_scratch(ctx, plan, &partials, err) || clr_program_kernel(ctx->program, "softmax_parts", &kp, err) ||
        clr_program_kernel(ctx->program, "softmax_scale", &ks, err) ||
        clr_set_args(kp, err, 6, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(partials), CLR_ARG(V),
                     CLR_ARG(parts), CLR_ARG(chunk)) ||
        clr_set_args(ks, err, 5, CLR_ARG(ctx->output), CLR_ARG(partials), CLR_ARG(V), CLR_ARG(parts), CLR_ARG(chunk)) ||
        clr_enqueue_1d(ctx, kp, plan->global, plan->local, first, err) ||
        clr_enqueue_second(ctx, ks, plan->global, plan->local, first, last, err))
        return err->code;
    return CLR_OK;
}

/* TREE_WG of cl/tree.clh: a work-item per work-group on CPUs, the tuning's size on GPUs. */
static size_t tree_wg(const clr_tuning *t) { return t->contig ? 1 : t->wg_size; }

/* portable: every step an IEEE operation, so only where divide is correctly rounded and
 * subnormals are kept (portable_exp's results below 2^-126 are subnormals). */
static int portable_available(const clr_op_ctx *ctx, char *why, size_t size)
{
    cl_device_fp_config fp = ctx->device->single_fp;
    if (!(fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT)) {
        snprintf(why, size, "the device does not round divide correctly (no CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT): "
                 "its bits could not match other devices'");
        return 0;
    }
    if (!(fp & CL_FP_DENORM)) {
        snprintf(why, size, "the device flushes subnormals: its bits could not match other devices'");
        return 0;
    }
    return 1;
}

/* GPUs take two launches instead of three up to this many logits in a batch (B x V), or for
 * rows of at most SM_TWO_LAUNCH_ROW logits whatever B: every work-group of a row then reads the
 * whole row for its max, which costs less than a dependent launch while the batch or the row is
 * small. H200 (bench/softmax-portable-gpu, series c and d): at V = 32000 two launches (one from
 * B = compute units on) took 0.75-0.91x the time of three at B = 64-256; at V = 128256 and
 * 151936 they took 0.99-1.06x at 1.2M logits and 1.03-1.45x from 2M on. */
#define SM_TWO_LAUNCH_LOGITS ((size_t)1 << 20)
#define SM_TWO_LAUNCH_ROW ((size_t)1 << 15)

/* The blocks of CLR_TREE_BLOCK logits go to work-groups in runs of per_group. CPUs: a row a
 * one-work-item work-group (one launch) from B = compute units on, below it about compute units x
 * groups_per_cu x 4 work-groups (as sum's tree; three launches): PoCL 3.1 on 2 EPYC cores took
 * 0.63-0.96x the time of the three launches at B = 2-32, but for one case where both vary
 * 420-740 us from run to run (bench/softmax-portable-cpu). GPUs: one block a work-group
 * (max, exp and block sums, scale: three launches), or, while B x V <= SM_TWO_LAUNCH_LOGITS or
 * V <= SM_TWO_LAUNCH_ROW, about one work-group a compute unit in all, each taking the row's max
 * itself (maxexp, scale: two launches; from B = compute units on that is a work-group a row).
 * A row in one work-group (groups_per_row 1) takes one launch. The order, hence the bits, is
 * the same in all of them. */
static int portable_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    const clr_tuning *t = ctx->tuning;
    size_t V = vocab(ctx), B = ctx->shape.batch, wg = tree_wg(t);
    size_t blocks = (V + CLR_TREE_BLOCK - 1) / CLR_TREE_BLOCK, cus = ctx->device->compute_units;
    size_t target = cus * t->groups_per_cu * 4;
    size_t per_group = t->contig ? (B * blocks + target - 1) / target : 1;
    int two = !t->contig && (B * V <= SM_TWO_LAUNCH_LOGITS || V <= SM_TWO_LAUNCH_ROW);
    if (two) {
        size_t per_row = (cus + B - 1) / B;
        per_row = per_row < 1 ? 1 : per_row > blocks ? blocks : per_row;
        per_group = (blocks + per_row - 1) / per_row;
    }
    if (t->contig && B >= cus)
        per_group = blocks; /* a row a work-item: every core has a row; more launches add none */
    if (per_group > blocks)
        per_group = blocks;
    size_t groups_per_row = (blocks + per_group - 1) / per_group;
    double k = clr_tree_depth(V);
    plan->local = wg;
    plan->global = B * groups_per_row * wg;
    plan->depth = k + 4; /* x - m, exp, 1 / S, the product */
    plan->scratch_bytes = groups_per_row > 1 ? B * (groups_per_row + blocks) * sizeof(float) : 0;
    clr_plan_param(plan, "blocks", (double)blocks);
    clr_plan_param(plan, "per_group", (double)per_group);
    clr_plan_param(plan, "groups_per_row", (double)groups_per_row);
    clr_plan_param(plan, "launches", groups_per_row == 1 ? 1 : two ? 2 : 3);
    clr_plan_param(plan, "wg", (double)wg);
    clr_plan_param(plan, "vec", t->vec);
    bound(ctx, plan, 18, k);
    return CLR_OK;
}

static int portable_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel km, ke, ks;
    cl_mem scratch;
    cl_uint V = (cl_uint)vocab(ctx), blocks = (cl_uint)clr_plan_get(plan, "blocks");
    cl_uint per_group = (cl_uint)clr_plan_get(plan, "per_group");
    cl_uint groups_per_row = (cl_uint)clr_plan_get(plan, "groups_per_row");
    if (groups_per_row == 1) {
        if (clr_program_kernel(ctx->program, "softmax_portable_row", &km, err) ||
            clr_set_args(km, err, 3, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(V)) ||
            clr_enqueue_1d(ctx, km, plan->global, plan->local, first, err))
            return err->code;
        *last = *first;
        return CLR_OK;
    }
    /* scratch: the block sums (B * blocks floats), then the work-groups' maxima (three launches). */
    if (clr_op_scratch(ctx, plan, &scratch, err) ||
        clr_program_kernel(ctx->program, "softmax_portable_scale", &ks, err) ||
        clr_set_args(ks, err, 6, CLR_ARG(ctx->output), CLR_ARG(scratch), CLR_ARG(V), CLR_ARG(blocks),
                     CLR_ARG(per_group), CLR_ARG(groups_per_row)))
        return err->code;
    if (clr_plan_get(plan, "launches") == 2) { /* maxexp, then the scale */
        if (clr_program_kernel(ctx->program, "softmax_portable_maxexp", &ke, err) ||
            clr_set_args(ke, err, 7, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(scratch), CLR_ARG(V),
                         CLR_ARG(blocks), CLR_ARG(per_group), CLR_ARG(groups_per_row)) ||
            clr_enqueue_1d(ctx, ke, plan->global, plan->local, first, err))
            return err->code;
    } else { /* max, exp, then the scale */
        cl_ulong maxes_at = (cl_ulong)ctx->shape.batch * blocks;
        cl_event mid;
        if (clr_program_kernel(ctx->program, "softmax_portable_max", &km, err) ||
            clr_program_kernel(ctx->program, "softmax_portable_exp", &ke, err) ||
            clr_set_args(km, err, 7, CLR_ARG(ctx->input), CLR_ARG(scratch), CLR_ARG(maxes_at), CLR_ARG(V),
                         CLR_ARG(blocks), CLR_ARG(per_group), CLR_ARG(groups_per_row)) ||
            clr_set_args(ke, err, 8, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(scratch), CLR_ARG(maxes_at),
                         CLR_ARG(V), CLR_ARG(blocks), CLR_ARG(per_group), CLR_ARG(groups_per_row)) ||
            clr_enqueue_1d(ctx, km, plan->global, plan->local, first, err) ||
            clr_enqueue_second(ctx, ke, plan->global, plan->local, first, &mid, err))
            return err->code;
        clReleaseEvent(mid); /* the queue is in order: the scale waits for it all the same */
    }
    return clr_enqueue_second(ctx, ks, plan->global, plan->local, first, last, err);
}

/* The replay: the max, the portable exp (clr_portable_exp, the kernels' bits), the tree
 * (clr_tree_sum) and the IEEE division and products: every bit demanded. */
static int portable_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                           float *out, double *tol, clr_error *err)
{
    (void)plan;
    (void)shared;
    (void)err;
    size_t V = vocab(ctx);
    float m = -INFINITY;
    for (size_t i = 0; i < V; ++i)
        if (row[i] > m) /* fmax: NaN ignored */
            m = row[i];
    float shift = m == -INFINITY ? 0.0f : m;
    for (size_t i = 0; i < V; ++i)
        out[i] = clr_portable_exp(row[i] - shift);
    float inv = 1.0f / clr_tree_sum(out, V);
    for (size_t i = 0; i < V; ++i) {
        out[i] = out[i] * inv;
        tol[i] = 0;
    }
    return CLR_OK;
}

static const clr_strategy strategies[] = {
    {"row", "one work-group per row (one work-item in vectors on CPUs): max, then sum of exp(x - max) in one "
            "fixed order, then y = e * (1 / sum)",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT, NULL, row_plan, row_enqueue, NULL},
    {"split", "online softmax over parts chosen from B and the compute units, combined in part order",
     CLR_CLAIM_DETERMINISTIC, NULL, split_plan, split_enqueue, NULL},
    {"portable", "portable exp of x - max summed in the canonical tree (blocks of 4096 folded pairwise), "
     "y = e * (1 / sum): the same bits on every device",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_DEVICE_INVARIANT, portable_available,
     portable_plan, portable_enqueue, portable_replay},
};

static size_t row_floats(const clr_shape *s) { return s->dims[0]; }

static double bytes(const clr_shape *s)
{
    return (double)s->batch * (double)s->dims[0] * ((double)clr_dtype_size(s->dtype) + sizeof(float));
}

/* max, difference, exp, add and product: five per logit. */
static double flops(const clr_shape *s) { return 5.0 * (double)s->batch * (double)s->dims[0]; }

/* Generated logits spread over [-8, 8) (uniform) rather than [-1, 1), so exp works over 16
 * natural-log units as in a model's logits; rows from --input are taken as they are. */
static void fill_row(const clr_shape *s, const clr_input *in, uint64_t row, float *out)
{
    clr_input_row(in, row, out, s->dims[0]);
    if (!in->from_file)
        for (size_t i = 0; i < s->dims[0]; ++i)
            out[i] *= SM_LOGIT_SCALE; /* a power of two: exact */
}

/* float64: the max as the kernels take it (NaN ignored), shifted by 0 where it is -inf. scale
 * holds exp(x_i - m) until the sum is known. */
static void reference(const clr_shape *s, const float *x, const float *shared, float *ref, double *scale)
{
    (void)shared;
    size_t V = s->dims[0];
    double m = -INFINITY, sum = 0, a = 0;
    for (size_t i = 0; i < V; ++i)
        if ((double)x[i] > m)
            m = (double)x[i];
    double shift = m == -INFINITY ? 0 : m;
    for (size_t i = 0; i < V; ++i) {
        scale[i] = exp((double)x[i] - shift);
        sum += scale[i];
    }
    for (size_t i = 0; i < V; ++i) {
        double p = scale[i] / sum;
        if (p > 0 && isfinite(p))
            a += p * fabs((double)x[i] - shift);
    }
    for (size_t i = 0; i < V; ++i) {
        double p = scale[i] / sum;
        ref[i] = (float)p;
        scale[i] = p > 0 && isfinite(p) ? p * (fabs((double)x[i] - shift) + a) : 0;
    }
}

/* Local memory of softmax_portable_row (the program holds every kernel): a vector per
 * work-item of the tree and a block of block sums. */
static int check_tuning(const clr_tuning *t, const clr_device *dev, clr_error *err)
{
    cl_ulong need = (cl_ulong)tree_wg(t) * t->vec * sizeof(float) + CLR_TREE_BLOCK * sizeof(float);
    if (need > dev->local_mem)
        return clr_fail(err, CLR_EUSAGE, "--wg %u --vec %u: softmax's kernels need %llu bytes of local memory and "
                        "%s has %llu; use a smaller --wg or --vec", t->wg_size, t->vec, (unsigned long long)need,
                        dev->name, (unsigned long long)dev->local_mem);
    return CLR_OK;
}

static int check_shape(const clr_shape *s, clr_error *err)
{
    if (s->dims[0] < 1 || s->dims[0] > SM_MAX_VOCAB)
        return clr_fail(err, CLR_EUSAGE, "softmax --vocab %zu: from 1 to %zu", s->dims[0], SM_MAX_VOCAB);
    return CLR_OK;
}

/* The llm suite: Llama 3's vocabulary, 1 to 64 sequences decoding. */
static const clr_suite_part suites[] = {
    {"llm", "llm-softmax", {{128256}}, {1, 2, 4, 8, 16, 32, 64}, 0},
};

const clr_operation clr_op_softmax = {
    .name = "softmax",
    .summary = "B rows of V logits: y = exp(x - max) / sum exp(x - max); reference: float64",
    .source = "softmax.cl",
    .defines = "-DTREE_BLOCK=" CLR_STR(CLR_TREE_BLOCK),
    .batch_name = "B",
    .ndims = 1,
    .dim_names = {"vocab"},
    .dim_help = {"vocabulary size V, logits per row"},
    .dim_defaults = {{32000, 128256, 151936}},
    .default_batches = {1, 2, 8, 32},
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
    .fill_row = fill_row,
    .reference = reference,
    .exact_div_sqrt = 1, /* one divide a row: free, and portable's bits need it */
};
