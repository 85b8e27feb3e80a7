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
 * portable   per block of the canonical tree (cl/tree.clh: 4096      deterministic, batch-invariant,
 *            logits), against the block's own max, with the portable  device-invariant
 *            exp (cl/portable.clh); the block sums weighted by
 *            exp(m_b - M) and folded as the tree's second level: an
 *            order that depends on V alone (one or two launches:
 *            portable_plan)
 *
 * All three store the exponentials in y (split: exp(x - m_p)), then scale them: row by 1 / S,
 * split and portable by their part's or block's weight times 1 / S (one division a row and one
 * product an element: a rounding more than a division per element, which costs far more on every
 * device). Generated logits are the
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
 * portable: per block b of 4096 logits (the canonical tree's, cl/tree.clh): m_b = its max
 * (exact), e_i = portable_exp(x_i - shift_b), shift_b = m_b (0 where m_b is -inf), s_b = the
 * block's fold of its e_i; then M = max m_b, w_b = portable_exp(m_b - M) (0 where m_b is -inf),
 * S = the fold of the s_b * w_b (s_0 * w_0 for a row of one block) and y_i = e_i * (w_b * (1 / S)),
 * 1 / S correctly rounded. portable_exp takes only +, -, *, fma and exact scalings: the same bits
 * on every device and on the host, so the host replays every step (clr_portable_exp,
 * clr_tree_sum) and every bit is demanded. It runs only where the device rounds divide correctly
 * (the program is built with -cl-fp32-correctly-rounded-divide-sqrt there) and keeps subnormals;
 * elsewhere it is "not run", with why. A row of one block has the bits of one max (w_0 = 1).
 * Specials as row: a NaN or +inf logit makes the row NaN (through s_b or w_b), -inf logits give
 * +0, a row of -inf alone gives 0 * (0 * (1 / 0)) = NaN. Its bound is split's: e_i and w_b are
 * split's two exponentials (portable_exp is within 0.53 ulp, the division correctly rounded).
 * Every block needing only its own max, a row spreads over work-groups in two launches (block
 * maxima, exponentials and sums; then the second level and the scale), as split's parts do, or
 * goes to one work-group (one launch). Which work-group takes a block changes no bit. */
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

/* GPUs give a row one work-group (one launch) from B = compute units on for rows of at most this
 * many logits; longer rows, or fewer of them, take a block a work-group. The kernels get it as
 * -DSM_ONE_LAUNCH_ROW: softmax_portable_row keeps a row's block sums and maxima in local memory,
 * on GPUs for this many logits at most (8 blocks), on CPUs for any row (4096 blocks). */
#define SM_ONE_LAUNCH_ROW 32768
#define SM_ROW_BLOCKS(contig) ((contig) ? (size_t)CLR_TREE_BLOCK : (size_t)SM_ONE_LAUNCH_ROW / CLR_TREE_BLOCK)

/* The blocks of CLR_TREE_BLOCK logits go to work-groups in runs of per_group, in two launches
 * (softmax_portable_blocks, softmax_portable_scale), or a row to a work-group (per_group = blocks,
 * one launch: softmax_portable_row). GPUs: a block a work-group, but a row a work-group from
 * B = compute units on where V <= SM_ONE_LAUNCH_ROW. CPUs: a row a one-work-item work-group from
 * B = compute units on (every core has a row; more launches add none), below it about compute
 * units x groups_per_cu x 4 work-groups (bench/softmax-portable-cpu). The order, hence the bits,
 * is the same in all of them. */
static int portable_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    const clr_tuning *t = ctx->tuning;
    size_t V = vocab(ctx), B = ctx->shape.batch, wg = tree_wg(t);
    size_t blocks = (V + CLR_TREE_BLOCK - 1) / CLR_TREE_BLOCK, cus = ctx->device->compute_units;
    size_t target = cus * t->groups_per_cu * 4;
    size_t per_group = t->contig ? (B * blocks + target - 1) / target : 1;
    if (B >= cus && (t->contig || V <= SM_ONE_LAUNCH_ROW))
        per_group = blocks;
    if (per_group > blocks)
        per_group = blocks;
    size_t groups_per_row = (blocks + per_group - 1) / per_group;
    if (groups_per_row == 1 && blocks > SM_ROW_BLOCKS(t->contig))
        return clr_fail(err, CLR_EFAIL, "softmax portable: a row of %zu blocks in one work-group exceeds the "
                        "kernel's %zu (a plan error)", blocks, SM_ROW_BLOCKS(t->contig));
    double k = clr_tree_depth(V);
    plan->local = wg;
    plan->global = B * groups_per_row * wg;
    plan->depth = k + 8; /* x - m_b, exp, m_b - M, exp, s_b * w_b, 1 / S, w_b * (1 / S), the product */
    plan->scratch_bytes = groups_per_row > 1 ? B * blocks * 2 * sizeof(float) : 0; /* (s_b, m_b) */
    clr_plan_param(plan, "blocks", (double)blocks);
    clr_plan_param(plan, "per_group", (double)per_group);
    clr_plan_param(plan, "groups_per_row", (double)groups_per_row);
    clr_plan_param(plan, "launches", groups_per_row == 1 ? 1 : 2);
    clr_plan_param(plan, "wg", (double)wg);
    clr_plan_param(plan, "vec", t->vec);
    bound(ctx, plan, 32, k);
    return CLR_OK;
}

static int portable_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel kb, ks;
    cl_mem part;
    cl_uint V = (cl_uint)vocab(ctx), blocks = (cl_uint)clr_plan_get(plan, "blocks");
    cl_uint per_group = (cl_uint)clr_plan_get(plan, "per_group");
    cl_uint groups_per_row = (cl_uint)clr_plan_get(plan, "groups_per_row");
    if (groups_per_row == 1) {
        if (clr_program_kernel(ctx->program, "softmax_portable_row", &kb, err) ||
            clr_set_args(kb, err, 3, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(V)) ||
            clr_enqueue_1d(ctx, kb, plan->global, plan->local, first, err))
            return err->code;
        *last = *first;
        return CLR_OK;
    }
    /* part: the block sums (B x blocks floats), then from maxes_at the block maxima. */
    cl_ulong maxes_at = (cl_ulong)ctx->shape.batch * blocks;
    if (clr_op_scratch(ctx, plan, &part, err) ||
        clr_program_kernel(ctx->program, "softmax_portable_blocks", &kb, err) ||
        clr_program_kernel(ctx->program, "softmax_portable_scale", &ks, err) ||
        clr_set_args(kb, err, 8, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(part), CLR_ARG(maxes_at),
                     CLR_ARG(V), CLR_ARG(blocks), CLR_ARG(per_group), CLR_ARG(groups_per_row)) ||
        clr_set_args(ks, err, 7, CLR_ARG(ctx->output), CLR_ARG(part), CLR_ARG(maxes_at), CLR_ARG(V), CLR_ARG(blocks),
                     CLR_ARG(per_group), CLR_ARG(groups_per_row)) ||
        clr_enqueue_1d(ctx, kb, plan->global, plan->local, first, err) ||
        clr_enqueue_second(ctx, ks, plan->global, plan->local, first, last, err))
        return err->code;
    return CLR_OK;
}

/* w_b: a block's weight against the row's max M (cl/softmax.cl's sm_weight). */
static float block_weight(float mb, float M) { return mb == -INFINITY ? 0.0f : clr_portable_exp(mb - M); }

/* The replay: each block's max, the portable exp (clr_portable_exp, the kernels' bits), the
 * block folds and the second level (clr_tree_sum), the weights and the IEEE division and
 * products: every bit demanded. */
static int portable_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                           float *out, double *tol, clr_error *err)
{
    (void)plan;
    (void)shared;
    (void)err;
    size_t V = vocab(ctx), blocks = (V + CLR_TREE_BLOCK - 1) / CLR_TREE_BLOCK;
    float sums[CLR_TREE_BLOCK] = {0}, maxes[CLR_TREE_BLOCK], M = -INFINITY; /* V <= 2^24: blocks <= 4096 */
    for (size_t b = 0; b < blocks; ++b) {
        size_t begin = b * CLR_TREE_BLOCK, end = begin + CLR_TREE_BLOCK < V ? begin + CLR_TREE_BLOCK : V;
        float m = -INFINITY;
        for (size_t i = begin; i < end; ++i)
            if (row[i] > m) /* fmax: NaN ignored */
                m = row[i];
        float shift = m == -INFINITY ? 0.0f : m;
        for (size_t i = begin; i < end; ++i)
            out[i] = clr_portable_exp(row[i] - shift);
        sums[b] = clr_tree_sum(out + begin, end - begin);
        maxes[b] = m;
        if (m > M)
            M = m;
    }
    for (size_t b = 0; b < blocks; ++b)
        sums[b] = sums[b] * block_weight(maxes[b], M); /* the second level's values */
    float inv = 1.0f / (blocks == 1 ? sums[0] : clr_tree_sum(sums, blocks));
    for (size_t b = 0; b < blocks; ++b) {
        size_t begin = b * CLR_TREE_BLOCK, end = begin + CLR_TREE_BLOCK < V ? begin + CLR_TREE_BLOCK : V;
        float c = block_weight(maxes[b], M) * inv;
        for (size_t i = begin; i < end; ++i) {
            out[i] = out[i] * c;
            tol[i] = 0;
        }
    }
    return CLR_OK;
}

static const clr_strategy strategies[] = {
    {"row", "one work-group per row (one work-item in vectors on CPUs): max, then sum of exp(x - max) in one "
            "fixed order, then y = e * (1 / sum)",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT, NULL, row_plan, row_enqueue, NULL, 1},
    {"split", "online softmax over parts chosen from B and the compute units, combined in part order",
     CLR_CLAIM_DETERMINISTIC, NULL, split_plan, split_enqueue, NULL, 1},
    {"portable", "per block of 4096 (the canonical tree's), portable exp of x - the block's max, folded pairwise; "
     "the block sums weighted by exp(block max - max) and folded; y = e * (weight / sum): the same bits on every device",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_DEVICE_INVARIANT, portable_available,
     portable_plan, portable_enqueue, portable_replay, 2 /* 2: each block against its own max (was: the row's) */},
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
 * work-item of the tree and a row's block sums and block maxima (SM_ROW_BLOCKS of each). */
static int check_tuning(const clr_tuning *t, const clr_device *dev, clr_error *err)
{
    cl_ulong need = (cl_ulong)tree_wg(t) * t->vec * sizeof(float) + 2 * SM_ROW_BLOCKS(t->contig) * sizeof(float);
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
    .defines = "-DTREE_BLOCK=" CLR_STR(CLR_TREE_BLOCK) " -DSM_ONE_LAUNCH_ROW=" CLR_STR(SM_ONE_LAUNCH_ROW),
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
