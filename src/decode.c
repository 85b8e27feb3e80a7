/* decode.c: the decode engine. A Llama step made of clrepro's operations, each called through its
 * strategy table (src/ops/: plan, then enqueue, with the engine's buffers in a clr_op_ctx), and the
 * glue kernels of cl/decode.cl:
 *
 *   h = embed[token]                                            embed_rows
 *   per layer:  x = rmsnorm(h) * attn_norm                      rmsnorm   (mode's strategy)
 *               qkv = x Wqkv                                    matmul    (one fused [dim][(H+2Hkv)hd])
 *               RoPE on q and k, k and v into the cache          rope_store
 *               a = attention(q, cache)                          attention (grouped-query, per-sequence lengths)
 *               h += a Wo                                        matmul, residual_add
 *               x = rmsnorm(h) * ffn_norm                        rmsnorm
 *               gu = x Wgu; act = silu(g) u; h += act Wdown      matmul (fused gate|up), swiglu, matmul, residual_add
 *   logits = rmsnorm(h) * final_norm, then lm_head               rmsnorm, matmul
 *   greedy token and the top-2 margin                            top2_rows
 *
 * A mode (clr_decode_modes) picks the strategy of each operation. The engine computes in float32
 * with weights widened from the checkpoint's dtype; row b of a step is sequence b and its cache
 * slot, as a serving engine's continuous batching keeps a sequence in its slot for its life. The
 * experiment around it is src/decode_run.c. */
#include "decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "op.h"
#include "program.h"

#define TOP_WG 256

/* fast's matmul is split-K (slices from M, N and the compute units) up to 2 rows and the tiled
 * GEMM beyond, as a library's heuristic switches kernels with M: split-K is the faster of the
 * two only there (llm-matmul on the H200: 0.84x tiled's time at M = 1, 0.90x at 2, 1.34x at 4
 * and up to 9x at 512; results/nvidia-nvidia-h200/llm-matmul.md). */
const clr_decode_mode clr_decode_modes[] = {
    {"fast", "what a serving engine picks: split reductions sized from the batch and the compute units, split-K "
     "GEMV up to 2 rows and a tiled GEMM beyond", "split", "tiled", "splitkv", "splitk", 2, 0},
    {"invariant", "one order per row whatever the batch: row, tiled, KV chunks at fixed positions", "row", "tiled",
     "fixedsplit", NULL, 0, 0},
    {"portable", "one order on every device too: canonical trees, portable exp and division", "portable", "tiled",
     "portable", NULL, 0, 1},
};
const size_t clr_decode_nmodes = sizeof clr_decode_modes / sizeof clr_decode_modes[0];

const clr_decode_mode *clr_decode_mode_find(const char *name)
{
    for (size_t i = 0; i < clr_decode_nmodes; ++i)
        if (!strcmp(clr_decode_modes[i].name, name))
            return &clr_decode_modes[i];
    return NULL;
}

enum { OP_RMS, OP_MM, OP_ATT, NOPS };

typedef struct dev_layer {
    cl_mem attn_norm, wqkv, wo, ffn_norm, wgu, wdown, kc, vc;
} dev_layer;

struct clr_decode_engine {
    clr_device dev;
    clr_llama_config cfg;
    clr_tuning tuning;
    cl_context context;
    cl_command_queue queue; /* the steps: no profiling, which costs time on every launch */
    cl_command_queue timed; /* the roof's launches, with profiling */
    const clr_operation *op[NOPS];
    const clr_strategy *st[NOPS];
    const clr_strategy *mm_small; /* matmul's strategy up to small_m rows, or NULL */
    size_t small_m;
    clr_program prog[NOPS], glue, copy;
    clr_op_ctx ctx[NOPS];
    int portable_swiglu;
    int bf16; /* activations stored as bfloat16 */
    size_t max_batch, cap, qkv_n;
    float eps;
    double timeout, weight_bytes;
    dev_layer *layer;
    cl_mem embed, lm_head, final_norm, h, x, qkv, att, o, gu, act, logits, tokens, pos, lens, best, top, rcos, rsin;
};

static int create_buffer(clr_decode_engine *e, size_t floats, const float *init, cl_mem *out, const char *what,
                         clr_error *err)
{
    size_t bytes;
    if (clr_size_mul(floats ? floats : 1, sizeof(float), &bytes) || bytes > e->dev.max_alloc)
        return clr_fail(err, CLR_EUSAGE, "decode: the %s needs %zu floats, more than one buffer of %s may hold "
                        "(%llu bytes); choose a smaller model, --batch or --tokens", what, floats, e->dev.name,
                        (unsigned long long)e->dev.max_alloc);
    cl_int rc;
    *out = clCreateBuffer(e->context, CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0), bytes, (void *)init,
                          &rc);
    if (rc != CL_SUCCESS) {
        *out = NULL;
        return clr_fail(err, rc == CL_OUT_OF_HOST_MEMORY || rc == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
                                     rc == CL_INVALID_BUFFER_SIZE ? CLR_EUSAGE : CLR_EFAIL,
                        "decode: clCreateBuffer of the %s (%zu bytes) failed: %s; the model may not fit %s",
                        what, bytes, clr_cl_status_name(rc), e->dev.name);
    }
    return CLR_OK;
}

/* dst[k][n0 + n] = src[n][k] for n < rows: a [rows][K] weight into the columns of a [K][N] matrix. */
static void transpose_into(float *dst, size_t N, size_t n0, const float *src, size_t rows, size_t K)
{
    for (size_t n = 0; n < rows; ++n)
        for (size_t k = 0; k < K; ++k)
            dst[k * N + n0 + n] = src[n * K + k];
}

/* Uploads [K][N] = the concatenation of nparts [rows_i][K] weights, transposed. */
static int upload_transposed(clr_decode_engine *e, size_t K, const float *const *parts, const size_t *rows,
                             size_t nparts, cl_mem *out, const char *what, clr_error *err)
{
    size_t N = 0, total;
    for (size_t i = 0; i < nparts; ++i)
        N += rows[i];
    if (clr_size_mul(K, N, &total))
        return clr_fail(err, CLR_EUSAGE, "decode: the %s's size overflows", what);
    float *t = clr_malloc(total * sizeof(float), what, err);
    if (!t)
        return err->code;
    for (size_t i = 0, n0 = 0; i < nparts; n0 += rows[i], ++i)
        transpose_into(t, N, n0, parts[i], rows[i], K);
    int rc = create_buffer(e, total, t, out, what, err);
    free(t);
    return rc;
}

static int build_programs(clr_decode_engine *e, const char *kernel_dir, clr_error *err)
{
    static const char *const names[NOPS] = {"rmsnorm", "matmul", "attention"};
    for (int i = 0; i < NOPS; ++i) {
        e->op[i] = clr_op_find(names[i]);
        if (!e->op[i])
            return clr_fail(err, CLR_EFAIL, "decode: operation %s missing", names[i]);
        /* Built as the runner builds them (src/runner.c setup_device), so a strategy's bits here
         * are its bits in `clrepro run`. */
        int exact_div = e->op[i]->exact_div_sqrt && (e->dev.single_fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT);
        const char *defines = e->op[i]->defines ? e->op[i]->defines : "";
        char extra[256];
        snprintf(extra, sizeof extra, "%s%s%s", defines, defines[0] && exact_div ? " " : "",
                 exact_div ? "-cl-fp32-correctly-rounded-divide-sqrt" : "");
        if (clr_program_build(e->context, &e->dev, kernel_dir, e->op[i]->source, &e->tuning, extra[0] ? extra : NULL,
                              &e->prog[i], err))
            return err->code;
        clr_op_ctx *c = &e->ctx[i];
        c->context = e->context;
        c->queue = e->queue;
        c->device = &e->dev;
        c->tuning = &e->tuning;
        c->program = &e->prog[i];
    }
    return clr_program_build(e->context, &e->dev, kernel_dir, "decode.cl", &e->tuning, "-DTOP_WG=" CLR_STR(TOP_WG),
                             &e->glue, err) ||
                   clr_program_build(e->context, &e->dev, kernel_dir, "copy.cl", &e->tuning, NULL, &e->copy, err)
               ? err->code
               : CLR_OK;
}

static int upload_weights(clr_decode_engine *e, const clr_llama_weights *w, clr_error *err)
{
    const clr_llama_config *c = &w->cfg;
    size_t dim = c->dim, qd = c->heads * c->head_dim, kvd = c->kv_heads * c->head_dim;
    e->layer = clr_calloc(c->layers, sizeof *e->layer, "layers", err);
    if (!e->layer)
        return err->code;
    double bytes = 0;
    for (size_t l = 0; l < c->layers; ++l) {
        const clr_llama_layer *L = &w->layer[l];
        dev_layer *d = &e->layer[l];
        const float *const qkv[3] = {L->wq, L->wk, L->wv}, *const gu[2] = {L->w_gate, L->w_up};
        const float *const wo[1] = {L->wo}, *const wdown[1] = {L->w_down};
        size_t qkv_rows[3] = {qd, kvd, kvd}, gu_rows[2] = {c->hidden, c->hidden}, o_rows = dim;
        if (create_buffer(e, dim, L->attn_norm, &d->attn_norm, "attention norm", err) ||
            create_buffer(e, dim, L->ffn_norm, &d->ffn_norm, "MLP norm", err) ||
            upload_transposed(e, dim, qkv, qkv_rows, 3, &d->wqkv, "fused q/k/v projection", err) ||
            upload_transposed(e, qd, wo, &o_rows, 1, &d->wo, "output projection", err) ||
            upload_transposed(e, dim, gu, gu_rows, 2, &d->wgu, "fused gate/up projection", err) ||
            upload_transposed(e, c->hidden, wdown, &o_rows, 1, &d->wdown, "down projection", err))
            return err->code;
        bytes += (double)dim * (e->qkv_n + 2 * c->hidden) + (double)qd * dim + (double)c->hidden * dim + 2.0 * dim;
    }
    size_t vocab_rows = c->vocab;
    const float *const head[1] = {w->lm_head};
    if (create_buffer(e, c->vocab * dim, w->embed, &e->embed, "embedding table", err) ||
        create_buffer(e, dim, w->final_norm, &e->final_norm, "final norm", err) ||
        upload_transposed(e, dim, head, &vocab_rows, 1, &e->lm_head, "logits matrix", err))
        return err->code;
    e->weight_bytes = (bytes + (double)c->vocab * dim + dim) * sizeof(float);
    return CLR_OK;
}

/* fill_floats (cl/copy.cl) of 0 over a buffer: the caches start at zero. */
static int zero_buffer(clr_decode_engine *e, cl_mem buf, size_t floats, clr_error *err)
{
    cl_kernel k;
    cl_ulong n = floats;
    cl_float zero = 0.0f;
    size_t wg = e->tuning.wg_size, global = (size_t)e->dev.compute_units * e->tuning.groups_per_cu * wg;
    return clr_program_kernel(&e->copy, "fill_floats", &k, err) ||
                   clr_set_args(k, err, 3, CLR_ARG(buf), CLR_ARG(n), CLR_ARG(zero)) ||
                   CLR_CL(err, clEnqueueNDRangeKernel(e->queue, k, 1, NULL, &global, &wg, 0, NULL, NULL))
               ? err->code
               : CLR_OK;
}

static int create_state(clr_decode_engine *e, clr_error *err)
{
    const clr_llama_config *c = &e->cfg;
    size_t B = e->max_batch, qd = c->heads * c->head_dim, cache;
    if (clr_size_mul(B, e->cap, &cache) || clr_size_mul(cache, c->kv_heads * c->head_dim, &cache))
        return clr_fail(err, CLR_EUSAGE, "decode: the KV cache's size overflows");
    for (size_t l = 0; l < c->layers; ++l)
        if (create_buffer(e, cache, NULL, &e->layer[l].kc, "key cache", err) ||
            create_buffer(e, cache, NULL, &e->layer[l].vc, "value cache", err) ||
            zero_buffer(e, e->layer[l].kc, cache, err) || zero_buffer(e, e->layer[l].vc, cache, err))
            return err->code;
    size_t half = c->head_dim / 2, table = e->cap * half;
    float *rcos = clr_malloc(2 * table * sizeof(float), "RoPE table", err);
    if (!rcos)
        return err->code;
    clr_llama_rope_table(c, e->cap, rcos, rcos + table);
    int rc = create_buffer(e, table, rcos, &e->rcos, "RoPE cosines", err) ||
             create_buffer(e, table, rcos + table, &e->rsin, "RoPE sines", err);
    free(rcos);
    if (rc)
        return err->code;
    return create_buffer(e, B * c->dim, NULL, &e->h, "hidden state", err) ||
                   create_buffer(e, B * c->dim, NULL, &e->x, "normalized state", err) ||
                   create_buffer(e, B * e->qkv_n, NULL, &e->qkv, "q/k/v", err) ||
                   create_buffer(e, B * qd, NULL, &e->att, "attention output", err) ||
                   create_buffer(e, B * c->dim, NULL, &e->o, "projection output", err) ||
                   create_buffer(e, B * 2 * c->hidden, NULL, &e->gu, "gate/up", err) ||
                   create_buffer(e, B * c->hidden, NULL, &e->act, "MLP activation", err) ||
                   create_buffer(e, B * c->vocab, NULL, &e->logits, "logits", err) ||
                   create_buffer(e, B, NULL, &e->tokens, "tokens", err) ||
                   create_buffer(e, B, NULL, &e->pos, "positions", err) ||
                   create_buffer(e, B, NULL, &e->lens, "lengths", err) ||
                   create_buffer(e, B, NULL, &e->best, "greedy tokens", err) ||
                   create_buffer(e, 2 * B, NULL, &e->top, "top logits", err) || CLR_CL(err, clFinish(e->queue))
               ? err->code
               : CLR_OK;
}

int clr_decode_check_model(const clr_llama_config *c, clr_error *err)
{
    if (c->head_dim > 256)
        return clr_fail(err, CLR_EUSAGE, "decode: head_dim %zu; the engine's attention takes heads of at most 256",
                        c->head_dim);
    if (c->vocab > INT32_MAX || c->dim > UINT32_MAX / 4 || c->hidden > UINT32_MAX / 8 ||
        (c->heads + 2 * c->kv_heads) * c->head_dim > UINT32_MAX / 4)
        return clr_fail(err, CLR_EUSAGE, "decode: vocabulary %zu, dim %zu or hidden %zu is beyond what the engine's "
                        "kernels index (32-bit sizes)", c->vocab, c->dim, c->hidden);
    return CLR_OK;
}

int clr_decode_engine_create(const clr_device *dev, const clr_llama_weights *w, size_t max_batch, size_t cap,
                             const char *kernel_dir, clr_decode_engine **out, clr_error *err)
{
    *out = NULL;
    const clr_llama_config *c = &w->cfg;
    if (max_batch == 0 || cap == 0 || cap > c->max_pos)
        return clr_fail(err, CLR_EUSAGE, "decode: %zu sequences of up to %zu tokens: need at least one of one, and "
                        "at most the model's %zu positions (max_position_embeddings)", max_batch, cap, c->max_pos);
    if (clr_decode_check_model(c, err))
        return err->code;
    if (max_batch > UINT32_MAX / 4)
        return clr_fail(err, CLR_EUSAGE, "decode: %zu sequences in a batch; at most %u", max_batch, UINT32_MAX / 4);
    if (dev->max_work_group_size < TOP_WG)
        return clr_fail(err, CLR_EUSAGE, "decode: %s takes work-groups of at most %zu work-items; the greedy choice "
                        "needs %d", dev->name, dev->max_work_group_size, TOP_WG);
    /* Everything the engine keeps on the device, against its memory: a model that does not fit is
     * refused here, not found by a failing kernel. */
    double qkv_n = (double)(c->heads + 2 * c->kv_heads) * c->head_dim, qd = (double)c->heads * c->head_dim;
    double floats = (double)c->layers * ((double)c->dim * (qkv_n + 2.0 * c->hidden + 2) + qd * c->dim +
                                         (double)c->hidden * c->dim +
                                         2.0 * max_batch * cap * c->kv_heads * c->head_dim) +
                    2.0 * c->vocab * c->dim + c->dim + (double)cap * c->head_dim +
                    (double)max_batch * (3.0 * c->dim + qkv_n + qd + 3.0 * c->hidden + c->vocab + 7);
    if (floats * sizeof(float) > (double)dev->global_mem)
        return clr_fail(err, CLR_EUSAGE, "decode: the model's weights in float32 and a KV cache of %zu sequences x %zu "
                        "tokens need %.2f GB; %s has %.2f GB; choose a smaller model, --batch or --tokens", max_batch,
                        cap, floats * sizeof(float) / 1e9, dev->name, (double)dev->global_mem / 1e9);
    clr_decode_engine *e = clr_calloc(1, sizeof *e, "decode engine", err);
    if (!e)
        return err->code;
    e->dev = *dev;
    e->cfg = *c;
    e->tuning = clr_tuning_default(dev);
    e->max_batch = max_batch;
    e->cap = cap;
    e->qkv_n = (c->heads + 2 * c->kv_heads) * c->head_dim;
    e->eps = (float)c->rms_eps;
    cl_int status = CL_SUCCESS;
    if (clr_device_open(dev, &e->context, &e->queue, 0, err) ||
        ((e->timed = clCreateCommandQueue(e->context, dev->id, CL_QUEUE_PROFILING_ENABLE, &status)),
         CLR_CL(err, status)) ||
        build_programs(e, kernel_dir, err) ||
        upload_weights(e, w, err) || create_state(e, err)) {
        clr_decode_engine_free(e);
        return err->code;
    }
    *out = e;
    return CLR_OK;
}

int clr_decode_engine_set_mode(clr_decode_engine *e, const clr_decode_mode *mode, char *why, size_t size)
{
    const char *names[NOPS] = {mode->rmsnorm, mode->matmul, mode->attention};
    for (int i = 0; i < NOPS; ++i) {
        e->st[i] = NULL;
        for (size_t k = 0; k < e->op[i]->nstrategies; ++k)
            if (!strcmp(e->op[i]->strategies[k].name, names[i]))
                e->st[i] = &e->op[i]->strategies[k];
        if (!e->st[i]) {
            snprintf(why, size, "%s has no strategy %s", e->op[i]->name, names[i]);
            return 1;
        }
        /* Availability depends on the device (and the dtype, fp32 here), not on the shape. */
        e->ctx[i].shape = (clr_shape){.batch = 1, .dims = {e->cfg.dim, e->cfg.dim, 1, 1}};
        char reason[256] = "";
        if (e->st[i]->available && !e->st[i]->available(&e->ctx[i], reason, sizeof reason)) {
            snprintf(why, size, "%s %s does not run on this device: %s", e->op[i]->name, names[i], reason);
            return 1;
        }
    }
    e->mm_small = NULL;
    e->small_m = mode->small_m;
    for (size_t k = 0; mode->matmul_small && k < e->op[OP_MM]->nstrategies; ++k)
        if (!strcmp(e->op[OP_MM]->strategies[k].name, mode->matmul_small))
            e->mm_small = &e->op[OP_MM]->strategies[k];
    if (mode->matmul_small && !e->mm_small) {
        snprintf(why, size, "matmul has no strategy %s", mode->matmul_small);
        return 1;
    }
    e->portable_swiglu = mode->portable_swiglu;
    return 0;
}

void clr_decode_engine_set_timeout(clr_decode_engine *e, double seconds) { e->timeout = seconds; }

void clr_decode_engine_set_bf16_activations(clr_decode_engine *e, int bf16) { e->bf16 = bf16; }

double clr_decode_engine_weight_bytes(const clr_decode_engine *e) { return e->weight_bytes; }

/* One operation of the step through its strategy: plan, then enqueue, on the engine's buffers. */
static int run_op(clr_decode_engine *e, int which, clr_shape shape, cl_mem in, cl_mem shared, cl_mem out,
                  const void *params, clr_error *err)
{
    clr_op_ctx *c = &e->ctx[which];
    const clr_strategy *st = which == OP_MM && e->mm_small && shape.batch <= e->small_m ? e->mm_small : e->st[which];
    c->shape = shape;
    c->input = in;
    c->shared = shared;
    c->output = out;
    c->params = params;
    clr_plan plan;
    memset(&plan, 0, sizeof plan);
    cl_event first = NULL, last = NULL;
    if (clr_op_check_shape(e->op[which], &shape, err) || st->plan(c, &plan, err) ||
        st->enqueue(c, &plan, &first, &last, err))
        return err->code;
    if (last && last != first)
        clReleaseEvent(last);
    if (first)
        clReleaseEvent(first);
    return CLR_OK;
}

static int store(clr_decode_engine *e, cl_mem buf, size_t n, clr_error *err);

static int rmsnorm(clr_decode_engine *e, size_t B, cl_mem in, cl_mem w, cl_mem out, clr_error *err)
{
    clr_shape s = {.batch = B, .dims = {e->cfg.dim}, .dtype = CLR_FP32};
    return run_op(e, OP_RMS, s, in, w, out, &e->eps, err) || store(e, out, B * e->cfg.dim, err) ? err->code : CLR_OK;
}

static int matmul(clr_decode_engine *e, size_t B, cl_mem in, size_t K, cl_mem w, size_t N, cl_mem out, clr_error *err)
{
    clr_shape s = {.batch = B, .dims = {K, N}, .dtype = CLR_FP32};
    return run_op(e, OP_MM, s, in, w, out, NULL, err) || store(e, out, B * N, err) ? err->code : CLR_OK;
}

/* A glue kernel over `items` work-items (rounded up to whole groups of 64; the kernels check). */
static int glue(clr_decode_engine *e, cl_kernel k, size_t items, clr_error *err)
{
    size_t global = (items + 63) / 64 * 64;
    return CLR_CL(err, clEnqueueNDRangeKernel(e->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL));
}

/* With bf16 activations, buf's first n floats rounded to bfloat16 (round_bf16). */
static int store(clr_decode_engine *e, cl_mem buf, size_t n, clr_error *err)
{
    cl_kernel k;
    cl_ulong count = n;
    if (!e->bf16)
        return CLR_OK;
    return clr_program_kernel(&e->glue, "round_bf16", &k, err) || clr_set_args(k, err, 2, CLR_ARG(buf), CLR_ARG(count)) ||
                   glue(e, k, n, err)
               ? err->code
               : CLR_OK;
}

static int residual(clr_decode_engine *e, size_t B, clr_error *err)
{
    cl_kernel k;
    cl_ulong n = (cl_ulong)B * e->cfg.dim;
    return clr_program_kernel(&e->glue, "residual_add", &k, err) ||
                   clr_set_args(k, err, 3, CLR_ARG(e->h), CLR_ARG(e->o), CLR_ARG(n)) || glue(e, k, n, err) ||
                   store(e, e->h, n, err)
               ? err->code
               : CLR_OK;
}

static int layer_step(clr_decode_engine *e, size_t l, size_t B, cl_uint Lmax, clr_error *err)
{
    const clr_llama_config *c = &e->cfg;
    dev_layer *d = &e->layer[l];
    cl_uint H = (cl_uint)c->heads, Hkv = (cl_uint)c->kv_heads, hd = (cl_uint)c->head_dim, cap = (cl_uint)e->cap;
    cl_uint nb = (cl_uint)B, hidden = (cl_uint)c->hidden, bf16 = (cl_uint)e->bf16;
    size_t qd = c->heads * c->head_dim;
    cl_kernel rope, act;
    clr_att_layout lay = {e->qkv, d->kc, d->vc, e->lens, 0, e->qkv_n, 0, 0, (cl_ulong)e->cap * Hkv * hd,
                          (cl_ulong)Hkv * hd, H / Hkv};
    clr_shape att = {.batch = B, .dims = {c->heads, c->head_dim, Lmax, e->cap}, .dtype = CLR_FP32};
    if (rmsnorm(e, B, e->h, d->attn_norm, e->x, err) || matmul(e, B, e->x, c->dim, d->wqkv, e->qkv_n, e->qkv, err) ||
        clr_program_kernel(&e->glue, "rope_store", &rope, err) ||
        clr_set_args(rope, err, 12, CLR_ARG(e->qkv), CLR_ARG(d->kc), CLR_ARG(d->vc), CLR_ARG(e->pos), CLR_ARG(e->rcos),
                     CLR_ARG(e->rsin), CLR_ARG(H), CLR_ARG(Hkv), CLR_ARG(hd), CLR_ARG(cap), CLR_ARG(nb), CLR_ARG(bf16)) ||
        glue(e, rope, B * (H + Hkv) * (hd / 2), err) || run_op(e, OP_ATT, att, e->qkv, NULL, e->att, &lay, err) || store(e, e->att, B * qd, err) ||
        matmul(e, B, e->att, qd, d->wo, c->dim, e->o, err) || residual(e, B, err) ||
        rmsnorm(e, B, e->h, d->ffn_norm, e->x, err) ||
        matmul(e, B, e->x, c->dim, d->wgu, 2 * c->hidden, e->gu, err) ||
        clr_program_kernel(&e->glue, e->portable_swiglu ? "swiglu_portable" : "swiglu", &act, err) ||
        clr_set_args(act, err, 4, CLR_ARG(e->gu), CLR_ARG(e->act), CLR_ARG(hidden), CLR_ARG(nb)) ||
        glue(e, act, B * c->hidden, err) || store(e, e->act, B * c->hidden, err) || matmul(e, B, e->act, c->hidden, d->wdown, c->dim, e->o, err) ||
        residual(e, B, err))
        return err->code;
    return CLR_OK;
}

/* Waits for ev within the engine's timeout; past it the kernel is still running, and the caller
 * must _exit (src/commands.c stop_incomplete says why). */
static int wait_event(clr_decode_engine *e, cl_event ev, clr_error *err)
{
    if (CLR_CL(err, clFlush(e->queue)))
        return err->code;
    double deadline = e->timeout > 0 ? clr_now() + e->timeout : 0;
    long pause_ns = 20000;
    for (;;) {
        cl_int status = CL_QUEUED;
        if (CLR_CL(err, clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL)))
            return err->code;
        if (status == CL_COMPLETE)
            return CLR_OK;
        if (status < 0)
            return clr_fail(err, CLR_EFAIL, "decode: a step failed on %s: %s", e->dev.name, clr_cl_status_name(status));
        if (deadline > 0 && clr_now() >= deadline)
            return clr_fail(err, CLR_EFAIL, "decode: a step did not finish within --timeout %.0f s on %s; its kernels "
                            "are still running, so the run stops here and writes nothing", e->timeout, e->dev.name);
        struct timespec pause = {0, pause_ns};
        nanosleep(&pause, NULL);
        pause_ns = pause_ns < 1000000 ? pause_ns * 2 : 1000000;
    }
}

int clr_decode_engine_step(clr_decode_engine *e, size_t B, const int32_t *tokens, const uint32_t *pos, int32_t *best,
                           float *top, float *logits, clr_error *err)
{
    const clr_llama_config *c = &e->cfg;
    if (B == 0 || B > e->max_batch)
        return clr_fail(err, CLR_EUSAGE, "decode: a step of %zu sequences; the engine holds 1 to %zu", B, e->max_batch);
    uint32_t *lens = clr_malloc(B * sizeof *lens, "lengths", err);
    if (!lens)
        return err->code;
    cl_uint Lmax = 0;
    for (size_t b = 0; b < B; ++b) {
        if (tokens[b] < 0 || (size_t)tokens[b] >= c->vocab || pos[b] >= e->cap) {
            free(lens);
            return clr_fail(err, CLR_EUSAGE, "decode: sequence %zu feeds token %d at position %u; tokens are 0 to %zu "
                            "and positions below %zu", b, tokens[b], pos[b], c->vocab - 1, e->cap);
        }
        lens[b] = pos[b] + 1;
        Lmax = lens[b] > Lmax ? lens[b] : Lmax;
    }
    cl_kernel emb, top2;
    cl_uint dim = (cl_uint)c->dim, nb = (cl_uint)B, vocab = (cl_uint)c->vocab;
    cl_event done = NULL;
    int rc = CLR_CL(err, clEnqueueWriteBuffer(e->queue, e->tokens, CL_FALSE, 0, B * sizeof(int32_t), tokens, 0, NULL,
                                              NULL)) ||
             CLR_CL(err, clEnqueueWriteBuffer(e->queue, e->pos, CL_FALSE, 0, B * sizeof(uint32_t), pos, 0, NULL, NULL)) ||
             CLR_CL(err, clEnqueueWriteBuffer(e->queue, e->lens, CL_FALSE, 0, B * sizeof(uint32_t), lens, 0, NULL,
                                              NULL)) ||
             clr_program_kernel(&e->glue, "embed_rows", &emb, err) ||
             clr_set_args(emb, err, 5, CLR_ARG(e->embed), CLR_ARG(e->tokens), CLR_ARG(e->h), CLR_ARG(dim), CLR_ARG(nb)) ||
             glue(e, emb, B * c->dim, err) || store(e, e->h, B * c->dim, err);
    for (size_t l = 0; !rc && l < c->layers; ++l)
        rc = layer_step(e, l, B, Lmax, err);
    size_t groups = B * TOP_WG, wg = TOP_WG;
    if (!rc)
        rc = rmsnorm(e, B, e->h, e->final_norm, e->x, err) ||
             matmul(e, B, e->x, c->dim, e->lm_head, c->vocab, e->logits, err) ||
             clr_program_kernel(&e->glue, "top2_rows", &top2, err) ||
             clr_set_args(top2, err, 4, CLR_ARG(e->logits), CLR_ARG(vocab), CLR_ARG(e->best), CLR_ARG(e->top)) ||
             CLR_CL(err, clEnqueueNDRangeKernel(e->queue, top2, 1, NULL, &groups, &wg, 0, NULL, NULL)) ||
             CLR_CL(err, clEnqueueReadBuffer(e->queue, e->best, CL_FALSE, 0, B * sizeof(int32_t), best, 0, NULL, NULL)) ||
             CLR_CL(err, clEnqueueReadBuffer(e->queue, e->top, CL_FALSE, 0, 2 * B * sizeof(float), top, 0, NULL,
                                             logits ? NULL : &done)) ||
             (logits && CLR_CL(err, clEnqueueReadBuffer(e->queue, e->logits, CL_FALSE, 0, B * c->vocab * sizeof(float),
                                                        logits, 0, NULL, &done)));
    if (rc) {
        /* Nothing may still read lens or write into the caller's arrays once we return: what was
         * enqueued is finished (no kernel can be overrunning: the time-out is found in wait_event). */
        clFinish(e->queue);
        if (done)
            clReleaseEvent(done);
        free(lens);
        return err->code;
    }
    rc = wait_event(e, done, err);
    clReleaseEvent(done);
    if (rc == CLR_OK)
        rc = CLR_CL(err, clFinish(e->queue));
    free(lens);
    return rc;
}

/* read_floats_wg (cl/copy.cl) over a buffer of the weights' size (at most 1 GiB, at least 64
 * MiB), at as many groups as the split strategies aim for and at 1, 2 and 4 times that; the
 * fastest of 5 repetitions of the best launch. */
int clr_decode_engine_roof(clr_decode_engine *e, double *gbps, clr_error *err)
{
    double target = e->weight_bytes;
    size_t bytes = target > (double)(1u << 30) ? (size_t)1 << 30 : target < (double)(64u << 20) ? (size_t)64 << 20
                                                                                                  : (size_t)target;
    if ((double)bytes > (double)e->dev.max_alloc)
        bytes = (size_t)e->dev.max_alloc;
    bytes &= ~(size_t)127;
    cl_mem src = NULL, sink = NULL;
    cl_kernel k;
    cl_ulong n = bytes / sizeof(float);
    *gbps = 0;
    int rc = create_buffer(e, n, NULL, &src, "bandwidth buffer", err) ||
             create_buffer(e, 1024, NULL, &sink, "bandwidth sink", err) || zero_buffer(e, src, n, err) ||
             CLR_CL(err, clFinish(e->queue)) || clr_program_kernel(&e->copy, "read_floats_wg", &k, err) ||
             clr_set_args(k, err, 3, CLR_ARG(src), CLR_ARG(sink), CLR_ARG(n));
    size_t wg = e->tuning.wg_size, base = (size_t)e->dev.compute_units * e->tuning.groups_per_cu;
    for (size_t mult = 1; !rc && mult <= 4; mult *= 2)
        for (int rep = 0; !rc && rep < 6; ++rep) { /* the first is a warm-up for the launch shape */
            size_t global = base * mult * wg;
            cl_event ev = NULL;
            cl_ulong t0 = 0, t1 = 0;
            rc = CLR_CL(err, clEnqueueNDRangeKernel(e->timed, k, 1, NULL, &global, &wg, 0, NULL, &ev)) ||
                 CLR_CL(err, clWaitForEvents(1, &ev)) ||
                 CLR_CL(err, clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL)) ||
                 CLR_CL(err, clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL));
            if (ev)
                clReleaseEvent(ev);
            if (!rc && rep > 0 && t1 > t0 && (double)n * 4 / (double)(t1 - t0) > *gbps)
                *gbps = (double)n * 4 / (double)(t1 - t0);
        }
    if (src)
        clReleaseMemObject(src);
    if (sink)
        clReleaseMemObject(sink);
    return rc ? err->code : CLR_OK;
}

static void release(cl_mem *m)
{
    if (*m)
        clReleaseMemObject(*m);
    *m = NULL;
}

void clr_decode_engine_free(clr_decode_engine *e)
{
    if (!e)
        return;
    for (size_t l = 0; e->layer && l < e->cfg.layers; ++l) {
        dev_layer *d = &e->layer[l];
        cl_mem *all[] = {&d->attn_norm, &d->wqkv, &d->wo, &d->ffn_norm, &d->wgu, &d->wdown, &d->kc, &d->vc};
        for (size_t i = 0; i < sizeof all / sizeof *all; ++i)
            release(all[i]);
    }
    free(e->layer);
    cl_mem *all[] = {&e->embed, &e->lm_head, &e->final_norm, &e->h, &e->x, &e->qkv, &e->att, &e->o, &e->gu,
                     &e->act, &e->logits, &e->tokens, &e->pos, &e->lens, &e->best, &e->top, &e->rcos, &e->rsin};
    for (size_t i = 0; i < sizeof all / sizeof *all; ++i)
        release(all[i]);
    for (int i = 0; i < NOPS; ++i) {
        release(&e->ctx[i].scratch);
        clr_program_release(&e->prog[i]);
    }
    clr_program_release(&e->glue);
    clr_program_release(&e->copy);
    if (e->queue)
        clReleaseCommandQueue(e->queue);
    if (e->timed)
        clReleaseCommandQueue(e->timed);
    if (e->context)
        clReleaseContext(e->context);
    free(e);
}
