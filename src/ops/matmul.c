/* matmul.c: operation `matmul`, C[M x N] = A[M x K] B[K x N] (row-major), M playing the batch
 * (tokens); B is shared. Kernels in cl/matmul.cl; CLBlast as users call it.
 *
 * Strategy        each output's K reduction                          claims
 * tiled           chunks of MM_CHUNK k, each one fma chain, added     deterministic, batch-invariant,
 *                 in chunk order: one order whatever M, tile, device  device-invariant
 * splitk          slices chosen from M, N and the compute units,     deterministic
 *                 combined in slice order
 * splitk-atomic   slices added with a float atomic add                (none)
 * clblast         CLBlastSgemm as a user calls it (direct or indirect kernel by m*n*k)   deterministic
 * clblast-pinned  the same, its kernel path pinned for every M (indirect)               deterministic
 *
 * Reference: float64 on the host. Bound: |c - ref| <= gamma_K * sum_k |a_k b_kn| (any order).
 * Validated rows: the first 32 of each batch and every probe position. */
#ifdef CLREPRO_HAVE_CLBLAST
#include <clblast_c.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "op.h"
#include "reference.h"
#include "replay.h"

static size_t dim_k(const clr_shape *s) { return s->dims[0]; }
static size_t dim_n(const clr_shape *s) { return s->dims[1]; }

static unsigned rows_per_item(const clr_op_ctx *ctx)
{
    size_t m = ctx->shape.batch;
    /* CPUs keep 4 column vectors per work-item (cl/matmul.cl): at most 4 rows fit the registers. */
    unsigned most = ctx->tuning->contig ? 4 : 8;
    unsigned rb = m <= 1 ? 1 : m <= 2 ? 2 : m <= 4 ? 4 : 8;
    rb = rb < most ? rb : most;
    return rb == 1 || rb == 2 || rb == 4 || rb == 8 ? rb : 1;
}

/* Columns one work-item computes (MM_COLS in cl/matmul.cl). */
static size_t cols_per_item(const clr_op_ctx *ctx)
{
    return ctx->tuning->contig ? (size_t)ctx->tuning->vec * 4 : 1;
}

/* Geometry of matmul_rb* with K slices of kslice (0: slices chosen by `slices`), each in
 * chunks of kchunk (0: the whole slice). */
static void plan_slices(const clr_op_ctx *ctx, size_t slices, size_t kslice, size_t kchunk, unsigned rb,
                        clr_plan *plan)
{
    size_t K = dim_k(&ctx->shape), N = dim_n(&ctx->shape);
    unsigned wg = ctx->tuning->wg_size;
    if (rb != 1 && rb != 2 && rb != 4 && rb != 8) /* the matmul_rb* kernels there are */
        rb = 1;
    if (!kslice)
        kslice = (K + slices - 1) / slices;
    if (kslice < 1)
        kslice = 1;
    slices = (K + kslice - 1) / kslice;
    size_t items = (N + cols_per_item(ctx) - 1) / cols_per_item(ctx);
    plan->local = wg;
    plan->global = (items + wg - 1) / wg * wg;
    plan->depth = (double)kslice + (double)slices;
    plan->err_abs = clr_gamma((double)K + (double)slices);
    plan->err_rel = 0;
    plan->scratch_bytes = slices > 1 ? slices * ctx->shape.batch * N * sizeof(float) : 0;
    clr_plan_param(plan, "rows_per_item", rb);
    clr_plan_param(plan, "slices", (double)slices);
    clr_plan_param(plan, "kslice", (double)kslice);
    clr_plan_param(plan, "kchunk", (double)(kchunk ? kchunk : kslice));
    clr_plan_param(plan, "wg", wg);
}

/* tiled's chunk of K (cl/matmul.cl gets it as -DMM_KC). */
#define MM_CHUNK 256

/* tiled on GPUs: up to this M one work-item per column and chunk, of one row up to M = 2
 * and two rows beyond (matmul_rb*, then matmul_combine), beyond it the local-memory kernel
 * matmul_gemm_TMxTN (the choices timed on the H200: bench/gpu-variants). */
#define MM_RB_MAX_M 4

static int tiled_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    size_t M = ctx->shape.batch, K = dim_k(&ctx->shape), N = dim_n(&ctx->shape);
    size_t chunks = (K + MM_CHUNK - 1) / MM_CHUNK;
    int gpu = !ctx->tuning->contig, aligned = K % 4 == 0 && N % 4 == 0;
    if (!gpu || (!aligned && M > MM_RB_MAX_M)) {
        /* CPUs (and unaligned GPU shapes at larger M): whole K per work-item, chunks in registers. */
        plan_slices(ctx, 1, 0, MM_CHUNK, rows_per_item(ctx), plan);
    } else if (!aligned || M <= MM_RB_MAX_M) {
        unsigned rb = M <= 2 ? 1 : M <= 4 ? 2 : rows_per_item(ctx);
        plan_slices(ctx, 0, MM_CHUNK, 0, rb, plan);
    } else {
        /* the matmul_gemm_TMx8 kernels of cl/matmul.cl: 16 x 16 work-items of TM x 8 outputs */
        size_t tm = M <= 16 ? 1 : M <= 32 ? 2 : M <= 64 ? 4 : 8, tn = 8;
        size_t groups = (N + 16 * tn - 1) / (16 * tn) * ((M + 16 * tm - 1) / (16 * tm));
        /* A work-group per tile and chunk, then a combining pass, while the tiles alone hold
         * less than about 6 rows of 8 x 8 outputs per thread per compute unit (timed on the H200,
         * bench/gpu-variants: per chunk wins at 112 tiles of 16 to 64 rows, loses at 112
         * tiles of 128 rows and at 128 tiles of 128 x 128 from N = 4096, M = 512). */
        size_t per_chunk = chunks > 1 && groups * tm < 6 * (size_t)ctx->device->compute_units;
        plan->local = 256;
        plan->global = groups * 256 * (per_chunk ? chunks : 1);
        plan->scratch_bytes = per_chunk ? chunks * M * N * sizeof(float) : 0;
        clr_plan_param(plan, "tile_m", (double)(16 * tm));
        clr_plan_param(plan, "tile_n", (double)(16 * tn));
        clr_plan_param(plan, "per_chunk", (double)per_chunk);
        clr_plan_param(plan, "kchunk", MM_CHUNK);
    }
    plan->depth = (double)(K < MM_CHUNK ? K : MM_CHUNK) + (double)chunks;
    plan->err_abs = clr_gamma((double)K + (double)chunks);
    plan->err_rel = 0;
    return CLR_OK;
}

/* Slices chosen to fill the device when M x N alone does not. */
static int splitk_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    size_t M = ctx->shape.batch, K = dim_k(&ctx->shape), N = dim_n(&ctx->shape);
    size_t wg = ctx->tuning->wg_size, rb = rows_per_item(ctx);
    size_t items = (N + cols_per_item(ctx) - 1) / cols_per_item(ctx);
    size_t groups = (items + wg - 1) / wg * ((M + rb - 1) / rb);
    plan_slices(ctx, clr_parts_to_fill(ctx, groups, K / 128), 0, 0, (unsigned)rb, plan);
    return CLR_OK;
}

static int launch_blocks(clr_op_ctx *ctx, const clr_plan *plan, cl_mem out, cl_uint mode, cl_event *ev,
                         clr_error *err)
{
    char name[32];
    cl_kernel k;
    cl_uint M = (cl_uint)ctx->shape.batch, N = (cl_uint)dim_n(&ctx->shape), K = (cl_uint)dim_k(&ctx->shape);
    cl_uint kslice = (cl_uint)clr_plan_get(plan, "kslice"), kchunk = (cl_uint)clr_plan_get(plan, "kchunk");
    size_t rb = clr_plan_get(plan, "rows_per_item"), slices = clr_plan_get(plan, "slices");
    snprintf(name, sizeof name, "matmul_rb%zu", rb);
    size_t global[3] = {plan->global, (M + rb - 1) / rb, slices}, local[3] = {plan->local, 1, 1};
    if (clr_program_kernel(ctx->program, name, &k, err) ||
        clr_set_args(k, err, 9, CLR_ARG(ctx->input), CLR_ARG(ctx->shared), CLR_ARG(out), CLR_ARG(M), CLR_ARG(N), CLR_ARG(K),
                     CLR_ARG(kslice), CLR_ARG(kchunk), CLR_ARG(mode)) ||
        CLR_CL(err, clEnqueueNDRangeKernel(ctx->queue, k, 3, NULL, global, local, 0, NULL, ev)))
        return err->code;
    return CLR_OK;
}

/* Adds the `slices` partials of M x N outputs in slice order into C (matmul_combine). */
static int combine(clr_op_ctx *ctx, cl_mem partials, size_t slices, cl_event *first, cl_event *last, clr_error *err)
{
    cl_kernel kc;
    cl_uint MN = (cl_uint)(ctx->shape.batch * dim_n(&ctx->shape)), nslices = (cl_uint)slices;
    if (clr_program_kernel(ctx->program, "matmul_combine", &kc, err) ||
        clr_set_args(kc, err, 4, CLR_ARG(partials), CLR_ARG(ctx->output), CLR_ARG(MN), CLR_ARG(nslices))) {
        clReleaseEvent(*first);
        *first = NULL;
        return err->code;
    }
    return clr_enqueue_second(ctx, kc, (MN + 255) / 256 * 256, 0, first, last, err);
}

/* matmul_rb* over slices, then (with more than one slice) their combination. */
static int blocks_then_combine(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    cl_mem partials;
    size_t slices = clr_plan_get(plan, "slices");
    if (slices == 1) {
        if (launch_blocks(ctx, plan, ctx->output, 0, first, err))
            return err->code;
        *last = *first;
        return CLR_OK;
    }
    if (clr_op_scratch(ctx, plan, &partials, err) ||
        launch_blocks(ctx, plan, partials, 1, first, err))
        return err->code;
    return combine(ctx, partials, slices, first, last, err);
}

static int tiled_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    size_t tile_m = clr_plan_get(plan, "tile_m"), tile_n = clr_plan_get(plan, "tile_n");
    if (!tile_m)
        return blocks_then_combine(ctx, plan, first, last, err);
    char name[64];
    cl_kernel k;
    cl_mem target = ctx->output;
    size_t M = ctx->shape.batch, N = dim_n(&ctx->shape), K = dim_k(&ctx->shape);
    size_t chunks = (K + MM_CHUNK - 1) / MM_CHUNK;
    cl_uint per_chunk = (cl_uint)clr_plan_get(plan, "per_chunk"), uM = (cl_uint)M, uN = (cl_uint)N, uK = (cl_uint)K;
    size_t global[3] = {(N + tile_n - 1) / tile_n * 16, (M + tile_m - 1) / tile_m * 16, per_chunk ? chunks : 1};
    size_t local[3] = {16, 16, 1};
    snprintf(name, sizeof name, "matmul_gemm_%zux%zu", tile_m / 16, tile_n / 16);
    if ((per_chunk && clr_op_scratch(ctx, plan, &target, err)) ||
        clr_program_kernel(ctx->program, name, &k, err) ||
        clr_set_args(k, err, 7, CLR_ARG(ctx->input), CLR_ARG(ctx->shared), CLR_ARG(target), CLR_ARG(uM), CLR_ARG(uN), CLR_ARG(uK),
                     CLR_ARG(per_chunk)) ||
        CLR_CL(err, clEnqueueNDRangeKernel(ctx->queue, k, 3, NULL, global, local, 0, NULL, first)))
        return err->code;
    if (!per_chunk) {
        *last = *first;
        return CLR_OK;
    }
    return combine(ctx, target, chunks, first, last, err);
}

static int splitk_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    return blocks_then_combine(ctx, plan, first, last, err);
}

static int atomic_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    int rc = splitk_plan(ctx, plan, err);
    plan->scratch_bytes = 0; /* the slices are added straight into C */
    return rc;
}

static int atomic_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    const float zero = 0.0f;
    size_t bytes = ctx->shape.batch * dim_n(&ctx->shape) * sizeof(float);
    if (CLR_CL(err, clEnqueueFillBuffer(ctx->queue, ctx->output, &zero, sizeof zero, 0, bytes, 0, NULL, first)))
        return err->code;
    if (launch_blocks(ctx, plan, ctx->output, 2, last, err)) {
        clReleaseEvent(*first);
        *first = NULL;
        return err->code;
    }
    return CLR_OK;
}

#ifdef CLREPRO_HAVE_CLBLAST
/* CLBlast. Its parameter overrides are global per device, so the pinned strategy sets its
 * override and the plain one clears CLBlast's cache (back to its database defaults) when the
 * last call on that device was pinned. Both happen during warm-up, never in a timed launch. */
#define CLBLAST_MAX_DEVICES 64
static struct {
    cl_device_id device;
    int pinned;
} clblast_state[CLBLAST_MAX_DEVICES];

/* Whether CLBlast's GEMM on this device has the pinned override now (*pinned, settable). */
static int *clblast_pinned(cl_device_id device, clr_error *err)
{
    for (size_t i = 0; i < CLBLAST_MAX_DEVICES; ++i) {
        if (clblast_state[i].device == device)
            return &clblast_state[i].pinned;
        if (!clblast_state[i].device) {
            clblast_state[i].device = device;
            return &clblast_state[i].pinned;
        }
    }
    clr_fail(err, CLR_EUSAGE, "CLBlast on more than %d devices in one process: run fewer devices at once",
             CLBLAST_MAX_DEVICES);
    return NULL;
}

static int clblast_available(const clr_op_ctx *ctx, char *why, size_t size)
{
    if (ctx->shape.dtype != CLR_FP32) {
        snprintf(why, size, "CLBlast has no bf16 GEMM");
        return 0;
    }
    return 1;
}

static int clblast_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)err;
    size_t M = ctx->shape.batch, K = dim_k(&ctx->shape), N = dim_n(&ctx->shape);
    plan->depth = (double)K;
    plan->err_abs = clr_gamma((double)K + 2);
    plan->err_rel = 0;
    clr_plan_param(plan, "mnk", (double)M * (double)N * (double)K);
    return CLR_OK;
}

static int clblast_call(clr_op_ctx *ctx, cl_event *first, cl_event *last, clr_error *err)
{
    size_t M = ctx->shape.batch, K = dim_k(&ctx->shape), N = dim_n(&ctx->shape);
    /* A marker brackets everything CLBlast enqueues (it may run several kernels). */
    if (CLR_CL(err, clEnqueueMarkerWithWaitList(ctx->queue, 0, NULL, first)))
        return err->code;
    cl_event done = NULL;
    CLBlastStatusCode st = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, M, N, K, 1.0f,
                                        ctx->input, 0, K, ctx->shared, 0, N, 0.0f, ctx->output, 0, N, &ctx->queue,
                                        &done);
    if (st != CLBlastSuccess) {
        clReleaseEvent(*first);
        return clr_fail(err, CLR_EFAIL, "CLBlastSgemm failed with status %d (M=%zu, N=%zu, K=%zu)", (int)st, M, N, K);
    }
    *last = done;
    return CLR_OK;
}

static int clblast_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    (void)plan;
    int *pinned = clblast_pinned(ctx->device->id, err);
    if (!pinned)
        return err->code;
    if (*pinned) {
        CLBlastStatusCode st = CLBlastClearCache();
        if (st != CLBlastSuccess)
            return clr_fail(err, CLR_EFAIL, "CLBlastClearCache failed with status %d", (int)st);
        /* The cache is CLBlast's whole cache: every device is back to its defaults. */
        for (size_t i = 0; i < CLBLAST_MAX_DEVICES; ++i)
            clblast_state[i].pinned = 0;
    }
    return clblast_call(ctx, first, last, err);
}

static int clblast_pinned_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last,
                                  clr_error *err)
{
    (void)plan;
    int *pinned = clblast_pinned(ctx->device->id, err);
    if (!pinned)
        return err->code;
    if (!*pinned) {
        /* Threshold 0: m*n*k is never below it, so every call takes the indirect kernel. */
        const char *names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
        const size_t values[] = {0};
        CLBlastStatusCode st = CLBlastOverrideParameters(ctx->device->id, "GemmRoutine", CLBlastPrecisionSingle, 1,
                                                         names, values);
        if (st != CLBlastSuccess)
            return clr_fail(err, CLR_EFAIL, "CLBlastOverrideParameters(GemmRoutine) failed with status %d", (int)st);
        *pinned = 1;
    }
    return clblast_call(ctx, first, last, err);
}
#else
/* Built without CLBlast (CLREPRO_CLBLAST=OFF, or not found): its two strategies report "not
 * built" for every case, and nothing else changes. */
static int clblast_available(const clr_op_ctx *ctx, char *why, size_t size)
{
    (void)ctx;
    snprintf(why, size, "not built: clrepro was built without CLBlast (install libclblast-dev and rebuild)");
    return 0;
}

static int clblast_plan(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err)
{
    (void)ctx, (void)plan, (void)err;
    return CLR_OK;
}

static int clblast_enqueue(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err)
{
    (void)ctx, (void)plan, (void)first, (void)last;
    return clr_fail(err, CLR_EFAIL, "CLBlast is not built in");
}
#define clblast_pinned_enqueue clblast_enqueue
#endif

/* Host replays (validation demands their bits). tiled and splitk: every output is one fma chain
 * per chunk of `kchunk` k in ascending order from +0, the chunks added in order to a total from
 * +0 (cl/matmul.cl; splitk's chunk is its slice; a slice's own 0 + chain changes no bit of the
 * total). Chains for all N columns advance together, so B is read row by row; the fma clone is
 * the hardware instruction where the CPU has one, the same correctly rounded fmaf otherwise. */
__attribute__((target_clones("fma", "default")))
static void chain_chunk(const float *a, const float *b, size_t N, size_t k0, size_t k1, float *acc)
{
    for (size_t n = 0; n < N; ++n)
        acc[n] = 0.0f;
    for (size_t k = k0; k < k1; ++k) {
        const float ak = a[k], *bk = b + k * N;
        for (size_t n = 0; n < N; ++n)
            acc[n] = fmaf(ak, bk[n], acc[n]);
    }
}

/* Chunks of kchunk: out = total; with `slices` non-NULL, each chunk's value too (atomic). */
static int chained_row(const clr_op_ctx *ctx, size_t kchunk, const float *a, const float *b, float *out,
                       float *slices, clr_error *err)
{
    size_t K = dim_k(&ctx->shape), N = dim_n(&ctx->shape);
    float *acc = clr_malloc(N * sizeof(float), "replayed chains", err);
    if (!acc)
        return err->code;
    for (size_t n = 0; n < N; ++n)
        out[n] = 0.0f;
    for (size_t k0 = 0, q = 0; k0 < K; k0 += kchunk, ++q) {
        chain_chunk(a, b, N, k0, k0 + kchunk < K ? k0 + kchunk : K, acc);
        for (size_t n = 0; n < N; ++n)
            out[n] += acc[n];
        if (slices)
            memcpy(slices + q * N, acc, N * sizeof(float));
    }
    free(acc);
    return CLR_OK;
}

static int tiled_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                        float *out, double *tol, clr_error *err)
{
    (void)plan, (void)tol; /* tol: calloc'ed zeros, bits demanded */
    return chained_row(ctx, MM_CHUNK, row, shared, out, NULL, err);
}

static int splitk_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                         float *out, double *tol, clr_error *err)
{
    (void)tol;
    return chained_row(ctx, clr_plan_get(plan, "kslice"), row, shared, out, NULL, err);
}

/* splitk-atomic: every slice's chain is known; the race adds them to +0 in an unknown order, so
 * each output must lie within gamma_(slices-1) * sum|slice| of their exact sum. */
static int atomic_replay(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared,
                         float *out, double *tol, clr_error *err)
{
    size_t N = dim_n(&ctx->shape), nslices = clr_plan_get(plan, "slices");
    float *slices = clr_malloc(nslices * N * sizeof(float), "replayed slices", err);
    if (!slices)
        return err->code;
    int rc = chained_row(ctx, clr_plan_get(plan, "kslice"), row, shared, out, slices, err);
    for (size_t n = 0; n < N && rc == CLR_OK; ++n)
        out[n] = clr_replay_race(slices + n, nslices, N, &tol[n]);
    free(slices);
    return rc;
}

static const clr_strategy strategies[] = {
    {"tiled", "K in chunks of 256, each one fma chain, added in chunk order: one order for every M, tile and device",
     CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_DEVICE_INVARIANT, NULL, tiled_plan,
     tiled_enqueue, tiled_replay, 1},
    {"splitk", "K split into slices chosen from M, N and the compute units, combined in order",
     CLR_CLAIM_DETERMINISTIC, NULL, splitk_plan, splitk_enqueue, splitk_replay, 1},
    {"splitk-atomic", "K slices as splitk, added into C with a compare-and-swap float add", 0, NULL, atomic_plan,
     atomic_enqueue, atomic_replay, 1},
    {"clblast", "CLBlastSgemm as a user calls it", CLR_CLAIM_DETERMINISTIC, clblast_available, clblast_plan,
     clblast_enqueue, NULL, 1},
    {"clblast-pinned", "CLBlastSgemm with its indirect kernel pinned for every M (CLBlastOverrideParameters)",
     CLR_CLAIM_DETERMINISTIC, clblast_available, clblast_plan, clblast_pinned_enqueue, NULL, 1},
};

static size_t row_floats(const clr_shape *s) { return dim_k(s); }
static size_t out_floats(const clr_shape *s) { return dim_n(s); }
static size_t shared_floats(const clr_shape *s) { return dim_k(s) * dim_n(s); }

static double bytes(const clr_shape *s)
{
    double elem = (double)clr_dtype_size(s->dtype), M = (double)s->batch, K = (double)dim_k(s), N = (double)dim_n(s);
    return (M * K + K * N) * elem + M * N * sizeof(float);
}

static double flops(const clr_shape *s) { return 2.0 * (double)s->batch * (double)dim_k(s) * (double)dim_n(s); }

/* B scaled by 1/sqrt(K) so that C stays O(1) whatever K. */
static void fill_b(const clr_shape *s, uint64_t seed, float *b)
{
    size_t K = dim_k(s), N = dim_n(s);
    float scale = (float)(1.0 / sqrt((double)K));
    for (size_t k = 0; k < K; ++k)
        for (size_t n = 0; n < N; ++n)
            b[k * N + n] = scale * clr_gen(seed, CLR_DIST_NORMAL, UINT64_MAX - 2 - k, n);
}

static void reference(const clr_shape *s, const float *a, const float *b, float *ref, double *scale)
{
    size_t K = dim_k(s), N = dim_n(s);
    for (size_t n = 0; n < N; ++n) {
        ref[n] = 0;
        scale[n] = 0;
    }
    double *acc = calloc(N, sizeof *acc);
    if (!acc)
        return;
    for (size_t k = 0; k < K; ++k) {
        double av = a[k];
        const float *brow = b + k * N;
        for (size_t n = 0; n < N; ++n) {
            acc[n] += av * (double)brow[n];
            scale[n] += fabs(av * (double)brow[n]);
        }
    }
    for (size_t n = 0; n < N; ++n)
        ref[n] = (float)acc[n];
    free(acc);
}

static int check_shape(const clr_shape *s, clr_error *err)
{
    if (dim_k(s) > UINT32_MAX / 2 || dim_n(s) > UINT32_MAX / 2)
        return clr_fail(err, CLR_EUSAGE, "matmul --k %zu --n %zu: each at most %u", dim_k(s), dim_n(s), UINT32_MAX / 2);
    if ((uint64_t)s->batch * dim_n(s) > UINT32_MAX / 2)
        return clr_fail(err, CLR_EUSAGE, "matmul: M x N = %zu x %zu outputs; at most 2^31 (reduce --batch or --n)",
                        s->batch, dim_n(s));
    return CLR_OK;
}

/* The llm suite: an 8B model's projections, K = 4096 into N = 4096 (attention) and 14336
 * (MLP), 1 to 512 tokens. */
static const clr_suite_part suites[] = {
    {"llm", "llm-matmul", {{4096}, {4096, 14336}}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}, 0},
};

const clr_operation clr_op_matmul = {
    .name = "matmul",
    .summary = "C[M x N] = A[M x K] B[K x N], M the batch (tokens); reference: float64",
    .source = "matmul.cl",
    .defines = "-DMM_KC=" CLR_STR(MM_CHUNK),
    .batch_name = "M",
    .ndims = 2,
    .dim_names = {"k", "n"},
    .dim_help = {"inner dimension K", "columns of B and C"},
    .dim_defaults = {{1024}, {1024}},
    .default_batches = {1, 2, 8, 32, 128},
    .suites = suites,
    .nsuites = sizeof suites / sizeof suites[0],
    .supports_bf16 = 1,
    .supports_input_file = 1,
    .validate_rows = 32,
    .accuracy_scaled = 1, /* accuracy shown as error / (sum |a_k b_kn| u): C has values near 0 */
    .strategies = strategies,
    .nstrategies = sizeof strategies / sizeof strategies[0],
    .input_row_floats = row_floats,
    .output_row_floats = out_floats,
    .bytes = bytes,
    .flops = flops,
    .check_shape = check_shape,
    .shared_floats = shared_floats,
    .fill_shared = fill_b,
    .reference = reference,
    /* A replay is K x N fmas a row: the first 8 rows, the last 8, one in every 16 and the probes
     * (the reference, in double, is kept to the first validate_rows). */
    .replay_rows = 16,
};
