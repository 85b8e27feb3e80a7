/* sum.c: operation `sum`, B rows of n floats -> B sums. Kernels in cl/sum.cl.
 *
 * Strategy       order of additions depends on                  claims
 * serial         n                                              deterministic, batch-invariant
 * tree           n only: blocks of 4096 folded, level by level       deterministic, batch-invariant,
 *                (src/reference.c replays it on the host)            device-invariant
 * split          n, B and compute units (parts per row)         deterministic
 * fixedsplit     n and a fixed chunk size                        deterministic, batch-invariant
 * atomic         which work-group wins the compare-and-swap     (none)
 * compensated    n and a fixed chunk: TwoSum pairs, merged              deterministic, batch-invariant
 * exact          nothing: a long accumulator, rounded once           all four, device-invariant too
 *
 * Error bounds used to validate outputs (u = 2^-24, d = plan depth, S = exact sum):
 * plain strategies |s - S| <= gamma_d * sum|x|; compensated |s - S| <= 2u|S| + gamma_d^2 sum|x|;
 * exact: s == S, the correctly rounded sum, bit for bit. */
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include "op.h"
#include "data.h"
#include "reference.h"
#include "replay.h"


static size_t row_n(const clr_op_ctx *ctx) { return ctx->shape.dims[0]; }

/* Roundings on the longest path of wg_range_sum over len elements. */
static double group_depth(const clr_tuning *t, size_t len)
{
    double vectors = ceil((double)(len / t->vec) / (double)t->wg_size);
    return vectors + clr_log2u(t->vec) + 1 + clr_log2u(t->wg_size);
}

static void plain_bound(clr_plan *plan)
{
    plan->err_abs = clr_gamma(plan->depth);
    plan->err_rel = 0;
}

/* Parts per row chosen the way libraries fill a device: enough work-groups for every
 * compute unit, fewer parts as the batch grows. This is what makes `split` batch-variant.
 * rows_weight scales the batch: 2 aims at half the work-groups. */
static size_t parts_for_batch(const clr_op_ctx *ctx, size_t rows_weight)
{
    const clr_tuning *t = ctx->tuning;
    size_t max_parts = row_n(ctx) / ((size_t)t->wg_size * t->vec * 4);
    return clr_parts_to_fill(ctx, rows_weight * ctx->shape.batch, max_parts > 4096 ? 4096 : max_parts);
}

/* Geometry of a two-pass sum with `parts` chunks per row. */
static void plan_chunks(const clr_op_ctx *ctx, size_t chunk, clr_plan *plan)
{
    const clr_tuning *t = ctx->tuning;
    size_t n = row_n(ctx);
    chunk = (chunk + t->vec - 1) / t->vec * t->vec;
    size_t parts = (n + chunk - 1) / chunk;
    plan->local = t->wg_size;
    plan->global = ctx->shape.batch * parts * t->wg_size;
    plan->depth = group_depth(t, chunk) + group_depth(t, parts);
    /* One chunk a row: no partial sums kept, one launch (sum_one_part). */
    plan->scratch_bytes = parts > 1 ? ctx->shape.batch * parts * sizeof(float) : 0;
    plain_bound(plan);
    clr_plan_param(plan, "parts", (double)parts);
    clr_plan_param(plan, "chunk", (double)chunk);
    clr_plan_param(plan, "wg", t->wg_size);
    clr_plan_param(plan, "vec", t->vec);
}

/* serial */
static int serial_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    plan->global = ctx->shape.batch;
    plan->local = 0;
    plan->depth = (double)row_n(ctx);
    plain_bound(plan);
    return CLR_OK;
}

static int serial_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel k;
    cl_ulong n = row_n(ctx);
    cl_uint rows = (cl_uint)ctx->shape.batch;
    if (clr_program_kernel(ctx->program, "sum_serial", &k, err) ||
        clr_set_args(k, err, 4, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(n), CLR_ARG(rows)) ||
        clr_enqueue_1d(ctx, k, plan->global, plan->local, first, err))
        return err->code;
    *last = *first;
    return CLR_OK;
}

/* compensated: one work-group per row */
static int row_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    const clr_tuning *t = ctx->tuning;
    plan->local = t->wg_size;
    plan->global = ctx->shape.batch * t->wg_size;
    plan->depth = group_depth(t, row_n(ctx));
    plain_bound(plan);
    clr_plan_param(plan, "wg", t->wg_size);
    clr_plan_param(plan, "vec", t->vec);
    return CLR_OK;
}

/* TREE_WG of cl/tree.clh: a work-item per work-group on CPUs, the tuning's size on GPUs. */
static size_t tree_wg(const clr_tuning *t) { return t->contig ? 1 : t->wg_size; }

/* tree: blocks of CLR_TREE_BLOCK folded by work-groups (sum_tree); rows of more than one block
 * get a second launch (sum_tree_final) that folds the block sums, two levels at once. Where the
 * work-groups go changes nothing in the bits: each block's fold is fixed. */
static int tree_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    const clr_tuning *t = ctx->tuning;
    size_t n = row_n(ctx), B = ctx->shape.batch;
    size_t blocks = (n + CLR_TREE_BLOCK - 1) / CLR_TREE_BLOCK;
    if (blocks > (size_t)CLR_TREE_BLOCK * CLR_TREE_BLOCK)
        return clr_fail(err, CLR_EUSAGE, "sum tree: n = %zu is beyond its %llu elements per row", n,
                        (unsigned long long)CLR_TREE_BLOCK * CLR_TREE_BLOCK * CLR_TREE_BLOCK);
    /* GPUs: a work-group per block (timed against 2 to 16: bench/gpu-variants/sum); CPUs: about
     * compute units x groups_per_cu x 4 work-groups (the roof's widest launch), each folding a
     * run of blocks. */
    size_t target = (size_t)ctx->device->compute_units * t->groups_per_cu * 4;
    size_t per_group = t->contig ? (B * blocks + target - 1) / target : 1;
    if (per_group > blocks)
        per_group = blocks;
    size_t groups_per_row = (blocks + per_group - 1) / per_group;
    plan->local = tree_wg(t);
    plan->global = B * groups_per_row * tree_wg(t);
    plan->depth = clr_tree_depth(n);
    plain_bound(plan);
    plan->scratch_bytes = blocks > 1 ? B * blocks * sizeof(float) : 0;
    clr_plan_param(plan, "blocks", (double)blocks);
    clr_plan_param(plan, "per_group", (double)per_group);
    clr_plan_param(plan, "groups_per_row", (double)groups_per_row);
    clr_plan_param(plan, "wg", tree_wg(t));
    clr_plan_param(plan, "vec", t->vec);
    return CLR_OK;
}

static int tree_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel k, kf;
    cl_mem sums = ctx->output;
    cl_ulong n = row_n(ctx), blocks = clr_plan_get(plan, "blocks");
    cl_uint per_group = (cl_uint)clr_plan_get(plan, "per_group");
    cl_uint groups_per_row = (cl_uint)clr_plan_get(plan, "groups_per_row");
    if (blocks > 1 && (clr_op_scratch(ctx, plan, &sums, err) ||
                       clr_program_kernel(ctx->program, "sum_tree_final", &kf, err) ||
                       clr_set_args(kf, err, 3, CLR_ARG(sums), CLR_ARG(ctx->output), CLR_ARG(blocks))))
        return err->code;
    if (clr_program_kernel(ctx->program, "sum_tree", &k, err) ||
        clr_set_args(k, err, 6, CLR_ARG(ctx->input), CLR_ARG(sums), CLR_ARG(n), CLR_ARG(blocks), CLR_ARG(per_group),
                     CLR_ARG(groups_per_row)) ||
        clr_enqueue_1d(ctx, k, plan->global, plan->local, first, err))
        return err->code;
    *last = *first;
    if (blocks == 1)
        return CLR_OK;
    return clr_enqueue_second(ctx, kf, ctx->shape.batch * plan->local, plan->local, first, last, err);
}

static int row_kernel_enqueue(clr_op_ctx *ctx, const char *name, const clr_plan *plan, cl_event *first,
                              cl_event *last, clr_error *err)
{
    cl_kernel k;
    cl_ulong n = row_n(ctx);
    if (clr_program_kernel(ctx->program, name, &k, err) ||
        clr_set_args(k, err, 3, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(n)) ||
        clr_enqueue_1d(ctx, k, plan->global, plan->local, first, err))
        return err->code;
    *last = *first;
    return CLR_OK;
}

/* compensated: rows of one chunk by one work-group; longer rows in chunks, each chunk's (sum,
 * error) pair by a work-group, the pairs merged by one work-group per row. The chunk is the
 * tuning's fixed_chunk (as fixedsplit's: never B) on GPUs, where one work-group a row left all
 * but one compute unit idle (202x `tree` on the H200 at n = 2^26, B = 1), and 64 times that on
 * CPUs (contig), where a second launch costs more than the cores it adds: PoCL 3.1 on 2 EPYC
 * cores, n = 2^20, B = 1, medians of 20, 0.074-0.086 ms in one work-group, 0.105 ms in 16
 * chunks; at 2^24 both about 2.0 ms. */
/* The chunked strategies (split, fixedsplit, compensated, exact): a row of one chunk by the
 * kernel `one` (input, output, n) in one launch; longer rows by `parts` (input, scratch, n,
 * parts, chunk), each chunk's partial result into the plan's scratch, then `merge` (scratch,
 * output, parts) with one work-group per row. */
static int chunked_enqueue(clr_op_ctx *ctx, const clr_plan *plan, const char *one, const char *parts_kernel,
                           const char *merge, cl_event *first, cl_event *last, clr_error *err)
{
    if (clr_plan_get(plan, "parts") == 1)
        return row_kernel_enqueue(ctx, one, plan, first, last, err);
    cl_kernel kp, km;
    cl_mem scratch;
    cl_ulong n = row_n(ctx), chunk = clr_plan_get(plan, "chunk");
    cl_uint parts = (cl_uint)clr_plan_get(plan, "parts");
    if (clr_op_scratch(ctx, plan, &scratch, err) || clr_program_kernel(ctx->program, parts_kernel, &kp, err) ||
        clr_program_kernel(ctx->program, merge, &km, err) ||
        clr_set_args(kp, err, 5, CLR_ARG(ctx->input), CLR_ARG(scratch), CLR_ARG(n), CLR_ARG(parts), CLR_ARG(chunk)) ||
        clr_set_args(km, err, 3, CLR_ARG(scratch), CLR_ARG(ctx->output), CLR_ARG(parts)) ||
        clr_enqueue_1d(ctx, kp, plan->global, plan->local, first, err))
        return err->code;
    return clr_enqueue_second(ctx, km, ctx->shape.batch * ctx->tuning->wg_size, ctx->tuning->wg_size, first, last,
                              err);
}

static int compensated_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    const clr_tuning *t = ctx->tuning;
    size_t chunk = (size_t)t->fixed_chunk * (t->contig ? 64 : 1);
    size_t n = row_n(ctx);
    chunk = (chunk + t->vec - 1) / t->vec * t->vec;
    size_t parts = (n + chunk - 1) / chunk;
    if (parts <= 1) {
        row_plan(ctx, plan, err);
        clr_plan_param(plan, "parts", 1);
    } else {
        plan->local = t->wg_size;
        plan->global = ctx->shape.batch * parts * t->wg_size;
        plan->depth = group_depth(t, chunk) + group_depth(t, parts);
        plan->scratch_bytes = ctx->shape.batch * parts * 2 * sizeof(float);
        clr_plan_param(plan, "parts", (double)parts);
        clr_plan_param(plan, "chunk", (double)chunk);
        clr_plan_param(plan, "wg", t->wg_size);
        clr_plan_param(plan, "vec", t->vec);
    }
    double g = clr_gamma(plan->depth);
    plan->err_abs = g * g;
    plan->err_rel = 2 * 0x1p-24;
    return CLR_OK;
}

static int compensated_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last,
                               clr_error *err)
{
    return chunked_enqueue(ctx, plan, "sum_compensated", "sum_compensated_parts", "sum_compensated_merge", first,
                           last, err);
}

/* split and fixedsplit: partial sums, then a combining pass */
static int split_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    size_t parts = parts_for_batch(ctx, 1);
    plan_chunks(ctx, (row_n(ctx) + parts - 1) / parts, plan);
    return CLR_OK;
}

static int fixedsplit_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    plan_chunks(ctx, ctx->tuning->fixed_chunk, plan);
    return CLR_OK;
}

static int two_pass_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    return chunked_enqueue(ctx, plan, "sum_one_part", "sum_partials", "sum_combine", first, last, err);
}

/* atomic: chunks as split, combined by compare-and-swap float adds into a zeroed output */
static int atomic_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    split_plan(ctx, plan, err);
    size_t parts = clr_plan_get(plan, "parts");
    plan->depth = group_depth(ctx->tuning, clr_plan_get(plan, "chunk")) + (double)parts;
    plan->scratch_bytes = 0; /* the partial sums go straight into the output */
    plain_bound(plan);
    return CLR_OK;
}

static int atomic_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel k;
    cl_ulong n = row_n(ctx), chunk = clr_plan_get(plan, "chunk");
    cl_uint parts = (cl_uint)clr_plan_get(plan, "parts");
    const float zero = 0.0f;
    if (clr_program_kernel(ctx->program, "sum_atomic", &k, err) ||
        clr_set_args(k, err, 5, CLR_ARG(ctx->input), CLR_ARG(ctx->output), CLR_ARG(n), CLR_ARG(parts), CLR_ARG(chunk)) ||
        CLR_CL(err, clEnqueueFillBuffer(ctx->queue, ctx->output, &zero, sizeof zero, 0,
                                        ctx->shape.batch * sizeof(float), 0, NULL, first)))
        return err->code;
    return clr_enqueue_second(ctx, k, plan->global, plan->local, first, last, err);
}

/* exact: parts chosen like split, but digits per part are integers, so any split gives the
 * same bits. A part holds at most 2^30 elements so no digit can overflow before the merge. */
#define EXACT_MAX_CHUNK ((size_t)1 << 30)
#define EXACT_DD_WORDS 4 /* a part's (h, l, r, ok) in cl/sum.cl */

static int exact_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    /* Half the work-groups of split: each part ends in a costly merge of long accumulators
     * (parts per row timed on the H200: bench/gpu-variants/sum). */
    size_t n = row_n(ctx), parts = parts_for_batch(ctx, 2);
    /* CPUs (contig): parts of at least wg x vec x 16 values; below that a part's merge of long
     * accumulators costs more than its share saves (PoCL 3.1, 2 EPYC cores, medians of 50:
     * n = 4096 B = 1 5.4-5.8 us in 4 parts, 2.0-2.1 us in one; n = 16384 18-21 us, 8-12 us). */
    if (ctx->tuning->contig) {
        size_t most = n / ((size_t)ctx->tuning->wg_size * ctx->tuning->vec * 16);
        if (parts > most)
            parts = most > 1 ? most : 1;
    }
    /* GPUs: parts of at least 2^16 values. Below that, one work-group a row in one launch took
     * 16.6-18.3 us at n = 65536, B = 1-64 on the H200, against 22-29 us in 16 or 9 parts and
     * three launches (bench/exact-certify). */
    if (!ctx->tuning->contig) {
        size_t most = n / ((size_t)1 << 16);
        if (parts > most)
            parts = most > 1 ? most : 1;
    }
    if ((n + parts - 1) / parts > EXACT_MAX_CHUNK)
        parts = (n + EXACT_MAX_CHUNK - 1) / EXACT_MAX_CHUNK;
    plan_chunks(ctx, (n + parts - 1) / parts, plan);
    size_t kept = clr_plan_get(plan, "parts") > 1 ? (size_t)clr_plan_get(plan, "parts") : 0; /* one: none kept */
    /* With fp64 the kernels first try the certified fast path (cl/exact.clh): a double-double
     * sum of the filter's exact shares, kept only where it proves the correctly rounded float;
     * the long accumulator runs where it cannot. The bits are the same either way. Rows of
     * several parts then keep each part's double-double, its digits and a flag per row. */
    int certify = ctx->device->fp64;
    clr_plan_param(plan, "certify", certify);
    plan->scratch_bytes = ctx->shape.batch * kept * (CLR_CL_EXACT_WORDS + (certify ? EXACT_DD_WORDS : 0)) *
                          sizeof(cl_long);
    if (certify && kept)
        plan->scratch_bytes += ctx->shape.batch * sizeof(cl_long);
    plan->depth = 1; /* one rounding */
    plan->err_abs = 0;
    plan->err_rel = 0;
    return CLR_OK;
}

static int exact_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    if (clr_plan_get(plan, "parts") == 1 || !clr_plan_get(plan, "certify"))
        return chunked_enqueue(ctx, plan, "sum_exact_one_part", "sum_exact_partials", "sum_exact_finish", first,
                               last, err);
    /* Three launches: each part's double-double; every part's work-group certifies its row (part
     * 0 writes the sum) or accumulates its part's digits; the uncertified rows' digits merged. */
    cl_kernel k1, k2, k3;
    cl_mem scratch;
    cl_ulong n = row_n(ctx), chunk = clr_plan_get(plan, "chunk");
    cl_uint parts = (cl_uint)clr_plan_get(plan, "parts"), rows = (cl_uint)ctx->shape.batch;
    size_t wg = ctx->tuning->wg_size;
    if (clr_op_scratch(ctx, plan, &scratch, err) || clr_program_kernel(ctx->program, "sum_exact_dd_partials", &k1, err) ||
        clr_program_kernel(ctx->program, "sum_exact_certify", &k2, err) ||
        clr_program_kernel(ctx->program, "sum_exact_certified_finish", &k3, err) ||
        clr_set_args(k1, err, 5, CLR_ARG(ctx->input), CLR_ARG(scratch), CLR_ARG(n), CLR_ARG(parts), CLR_ARG(chunk)) ||
        clr_set_args(k2, err, 7, CLR_ARG(ctx->input), CLR_ARG(scratch), CLR_ARG(ctx->output), CLR_ARG(n),
                     CLR_ARG(parts), CLR_ARG(chunk), CLR_ARG(rows)) ||
        clr_set_args(k3, err, 4, CLR_ARG(scratch), CLR_ARG(ctx->output), CLR_ARG(parts), CLR_ARG(rows)) ||
        clr_enqueue_1d(ctx, k1, plan->global, plan->local, first, err))
        return err->code;
    if (clr_enqueue_1d(ctx, k2, plan->global, plan->local, NULL, err)) {
        clReleaseEvent(*first);
        *first = NULL;
        return err->code;
    }
    return clr_enqueue_second(ctx, k3, ctx->shape.batch * wg, wg, first, last, err);
}

/* Host replays: the same additions in the same order as the kernels (include/replay.h). */
static clr_reduce_geometry geometry(const clr_op_ctx *ctx)
{
    clr_reduce_geometry g = {ctx->tuning->wg_size, ctx->tuning->vec, (int)ctx->tuning->contig};
    return g;
}

static int serial_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                         float *out, double *tol, clr_error *err)
{
    (void)plan, (void)shared, (void)err;
    float s = 0.0f;
    for (size_t i = 0; i < row_n(ctx); ++i)
        s += row[i];
    out[0] = s;
    tol[0] = 0;
    return CLR_OK;
}

static int tree_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                       float *out, double *tol, clr_error *err)
{
    (void)plan, (void)shared, (void)err;
    out[0] = clr_tree_sum(row, row_n(ctx));
    tol[0] = 0;
    return CLR_OK;
}

/* Pass 1 of split, fixedsplit and atomic: every chunk's partial sum, as sum_partials makes it;
 * the wg floats after the parts are scratch. */
static float *chunk_partials(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, clr_error *err)
{
    clr_reduce_geometry g = geometry(ctx);
    size_t n = row_n(ctx), parts = clr_plan_get(plan, "parts"), chunk = clr_plan_get(plan, "chunk");
    float *partials = clr_calloc(parts + g.wg, sizeof(float), "replayed partial sums", err);
    if (!partials)
        return NULL;
    for (size_t q = 0; q < parts; ++q) {
        size_t begin = q * chunk < n ? q * chunk : n;
        size_t end = n - begin > chunk ? begin + chunk : n;
        partials[q] = clr_replay_wg_range(&g, row + begin, end - begin, partials + parts);
    }
    return partials;
}

static int two_pass_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                           float *out, double *tol, clr_error *err)
{
    (void)shared;
    float *partials = chunk_partials(ctx, plan, row, err);
    if (!partials)
        return err->code;
    clr_reduce_geometry g = geometry(ctx);
    size_t parts = clr_plan_get(plan, "parts");
    out[0] = clr_replay_wg_range(&g, partials, parts, partials + parts); /* sum_combine */
    tol[0] = 0;
    free(partials);
    return CLR_OK;
}

/* atomic: the partial sums are replayed exactly; only the order in which the race adds them to
 * +0 is unknown, so the output must lie within gamma_(parts-1) * sum|partial| of their exact sum
 * (one part: +0 + p is exact, so its bits are known). */
static int atomic_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                         float *out, double *tol, clr_error *err)
{
    (void)shared;
    float *partials = chunk_partials(ctx, plan, row, err);
    if (!partials)
        return err->code;
    out[0] = clr_replay_race(partials, clr_plan_get(plan, "parts"), 1, &tol[0]);
    free(partials);
    return CLR_OK;
}

static int compensated_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                              float *out, double *tol, clr_error *err)
{
    (void)shared;
    clr_reduce_geometry g = geometry(ctx);
    size_t parts = clr_plan_get(plan, "parts");
    float *scratch = clr_calloc(2 * (size_t)g.wg + 2 * parts, sizeof(float), "replay scratch", err);
    if (!scratch)
        return err->code;
    out[0] = parts == 1 ? clr_replay_compensated(&g, row, row_n(ctx), scratch)
                        : clr_replay_compensated_parts(&g, row, row_n(ctx), clr_plan_get(plan, "chunk"), parts, scratch);
    tol[0] = 0;
    free(scratch);
    return CLR_OK;
}

/* exact: the correctly rounded sum, whatever the order. */
static int exact_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                        float *out, double *tol, clr_error *err)
{
    (void)plan, (void)shared, (void)err;
    out[0] = clr_exact_sum(row, row_n(ctx));
    tol[0] = 0;
    return CLR_OK;
}

static const clr_strategy strategies[] = {
    {"serial", "one work-item per row, left to right",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT, NULL, serial_plan, serial_enqueue, serial_replay, 1},
    {"tree", "blocks of 4096 folded pairwise, level by level: one tree per n, on every device and tuning",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_DEVICE_INVARIANT, NULL, tree_plan, tree_enqueue, tree_replay, 1},
    {"split", "parts per row chosen from B and the compute units, then a combining pass",
     CLR_CLAIM_DETERMINISTIC, NULL, split_plan, two_pass_enqueue, two_pass_replay, 1},
    {"fixedsplit", "chunks of a fixed size whatever B, then a combining pass",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT, NULL, fixedsplit_plan, two_pass_enqueue, two_pass_replay, 1},
    {"atomic", "chunks as split, added into the row's sum by a compare-and-swap float add",
     0, NULL, atomic_plan, atomic_enqueue, atomic_replay, 1},
    {"compensated", "chunks of a fixed size whatever B, TwoSum-compensated by a work-group each, the pairs merged",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT, NULL, compensated_plan, compensated_enqueue, compensated_replay, 1},
    {"exact", "long accumulator behind a TwoSum filter, rounded once: the correctly rounded sum",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_ORDER_INDEPENDENT | CLR_CLAIM_DEVICE_INVARIANT,
     NULL, exact_plan, exact_enqueue, exact_replay, 1},
};

static size_t sum_input_row(const clr_shape *s) { return s->dims[0]; }
static size_t sum_output_row(const clr_shape *s) { (void)s; return 1; }
static double sum_bytes(const clr_shape *s) { return (double)s->batch * ((double)s->dims[0] + 1) * sizeof(float); }
static double sum_flops(const clr_shape *s) { return (double)s->batch * (double)s->dims[0]; }

static void sum_reference(const clr_shape *s, const float *row, const float *shared, float *ref, double *scale)
{
    (void)shared;
    clr_exact_acc acc;
    clr_exact_init(&acc);
    double abs_sum = 0.0;
    for (size_t i = 0; i < s->dims[0]; ++i) {
        clr_exact_add(&acc, row[i]);
        abs_sum += fabs((double)row[i]);
    }
    ref[0] = clr_exact_result(&acc);
    scale[0] = abs_sum;
}

/* Fisher-Yates with the counter-based hash: the same permutation on every machine. */
static void sum_permute(const clr_shape *s, float *row, uint64_t seed)
{
    size_t n = s->dims[0];
    for (size_t i = n; i > 1; --i) {
        size_t j = (size_t)(clr_hash(seed, 7, 0, i) % i);
        float t = row[i - 1];
        row[i - 1] = row[j];
        row[j] = t;
    }
}

static int reads_bf16(const clr_operation *op) { return op->supports_bf16; }

static int sum_check_shape(const clr_shape *s, clr_error *err)
{
    char names[128];
    clr_op_names(reads_bf16, "and", names, sizeof names);
    if (s->dtype != CLR_FP32)
        return clr_fail(err, CLR_EUSAGE, "sum reads float32 rows only; --dtype bf16 is for %s", names);
    return CLR_OK;
}

/* Local memory of sum.cl's largest users (the program holds every kernel): the exact sum's
 * merge, every work-item's digits and flag word; sum_tree_final, a block of sums and a vector
 * per work-item. */
static int sum_check_tuning(const clr_tuning *t, const clr_device *dev, clr_error *err)
{
    cl_ulong exact = (cl_ulong)t->wg_size * (CLR_CL_EXACT_LIMBS * sizeof(cl_long) + sizeof(cl_uint));
    cl_ulong tree = (cl_ulong)tree_wg(t) * t->vec * sizeof(float) + CLR_TREE_BLOCK * sizeof(float);
    cl_ulong need = exact > tree ? exact : tree;
    if (need > dev->local_mem)
        return clr_fail(err, CLR_EUSAGE, "--wg %u --vec %u: sum's kernels need %llu bytes of local memory and %s "
                        "has %llu; use a smaller --wg or --vec", t->wg_size, t->vec, (unsigned long long)need,
                        dev->name, (unsigned long long)dev->local_mem);
    return CLR_OK;
}

const clr_operation clr_op_sum = {
    .name = "sum",
    .summary = "B rows of n float32 values -> B sums; reference: the exact, correctly rounded sum",
    .source = "sum.cl",
    .defines = "-DTREE_BLOCK=" CLR_STR(CLR_TREE_BLOCK) " -DEXACT_LIMBS=" CLR_STR(CLR_CL_EXACT_LIMBS),
    .batch_name = "B",
    .ndims = 1,
    .dim_names = {"n"},
    .dim_help = {"row lengths"},
    .dim_defaults = {{4096, 1048576, 16777216}},
    .default_batches = {1, 2, 8, 16},
    .check_tuning = sum_check_tuning,
    .supports_input_file = 1,
    .check_shape = sum_check_shape,
    .strategies = strategies,
    .nstrategies = sizeof strategies / sizeof strategies[0],
    .input_row_floats = sum_input_row,
    .output_row_floats = sum_output_row,
    .bytes = sum_bytes,
    .flops = sum_flops,
    .reference = sum_reference,
    .permute_row = sum_permute,
};
