/* registry.c: the list of operations, lookups by name, and helpers every operation uses. */
#include <errno.h>
#include <stdlib.h>
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

static const clr_operation *const operations[] = {
#define CLR_OPERATION(name) &clr_op_##name,
#include "op_list.h"
#undef CLR_OPERATION
};

const clr_operation *const *clr_op_all(size_t *count)
{
    *count = sizeof operations / sizeof operations[0];
    return operations;
}

const clr_operation *clr_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; ++i)
        if (strcmp(operations[i]->name, name) == 0)
            return operations[i];
    return NULL;
}

const clr_strategy *clr_strategy_find(const clr_operation *op, const char *name)
{
    for (size_t i = 0; i < op->nstrategies; ++i)
        if (strcmp(op->strategies[i].name, name) == 0)
            return &op->strategies[i];
    return NULL;
}

int clr_op_check_shape(const clr_operation *op, const clr_shape *shape, clr_error *err)
{
    /* Every size an operation computes (elements of a row, of the batch, of its weights, bytes)
     * is a product of some of the dimensions and the batch times a small constant; bounding the
     * product of them all once, here, keeps every one of those from wrapping. The dimensions are
     * checked alone first, so the message blames the batch only when it is the batch. */
    size_t product = 1;
    int too_big = 0;
    for (size_t d = 0; d < op->ndims && !too_big; ++d)
        too_big = __builtin_mul_overflow(product, shape->dims[d] ? shape->dims[d] : 1, &product) ||
                  product > CLR_MAX_SHAPE_PRODUCT;
    char text[160];
    if (too_big || (shape->batch > 1 && (__builtin_mul_overflow(product, shape->batch, &product) ||
                                          product > CLR_MAX_SHAPE_PRODUCT))) {
        clr_shape_text(op, shape, text, sizeof text);
        if (too_big)
            return clr_fail(err, CLR_EUSAGE, "%s %s: the product of its sizes passes 2^50, beyond what clrepro sizes "
                            "safely (and any device holds); use smaller dimensions", op->name, text);
        return clr_fail(err, CLR_EUSAGE, "%s %s with %s = %zu: the product of its sizes and the batch passes 2^50, "
                        "beyond what clrepro sizes safely (and any device holds); use smaller dimensions or batches",
                        op->name, text, op->batch_name, shape->batch);
    }
    return op->check_shape ? op->check_shape(shape, err) : CLR_OK;
}

const char *clr_claim_name(unsigned claim_bit)
{
    switch (claim_bit) {
    case CLR_CLAIM_DETERMINISTIC: return "deterministic";
    case CLR_CLAIM_BATCH_INVARIANT: return "batch_invariant";
    case CLR_CLAIM_ORDER_INDEPENDENT: return "order_independent";
    case CLR_CLAIM_DEVICE_INVARIANT: return "device_invariant";
    default: return "unknown";
    }
}

int clr_op_scratch(clr_op_ctx *ctx, const clr_plan *plan, cl_mem *out, clr_error *err)
{
    size_t bytes = plan->scratch_bytes;
    if (ctx->scratch && ctx->scratch_bytes >= bytes) {
        *out = ctx->scratch;
        return CLR_OK;
    }
    if (ctx->scratch)
        clReleaseMemObject(ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_bytes = 0;
    cl_int st;
    cl_mem m = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &st);
    if (CLR_CL(err, st))
        return err->code;
    ctx->scratch = m;
    ctx->scratch_bytes = bytes;
    *out = m;
    return CLR_OK;
}

void clr_plan_param(clr_plan *plan, const char *name, double value)
{
    if (plan->nparams < CLR_MAX_PLAN_PARAMS) {
        plan->params[plan->nparams].name = name;
        plan->params[plan->nparams].value = value;
        plan->nparams++;
    }
}

size_t clr_plan_get(const clr_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->nparams; ++i)
        if (!strcmp(plan->params[i].name, name))
            return (size_t)plan->params[i].value;
    return 0;
}

double clr_log2u(unsigned v)
{
    double l = 0;
    while (v > 1) {
        v >>= 1;
        l += 1;
    }
    return l;
}

size_t clr_parts_to_fill(const clr_op_ctx *ctx, size_t groups, size_t max_parts)
{
    size_t target = (size_t)ctx->device->compute_units * ctx->tuning->groups_per_cu;
    size_t parts = (target + groups - 1) / (groups ? groups : 1);
    if (max_parts < 1)
        max_parts = 1;
    return parts < 1 ? 1 : parts > max_parts ? max_parts : parts;
}

void clr_plan_row_split(const clr_op_ctx *ctx, size_t n, clr_plan *plan, size_t *parts, size_t *chunk)
{
    unsigned wg = ctx->tuning->wg_size;
    size_t p = clr_parts_to_fill(ctx, ctx->shape.batch, n / ((size_t)wg * 4));
    size_t c = (n + p - 1) / p;
    p = (n + c - 1) / c;
    plan->local = wg;
    plan->global = ctx->shape.batch * p * wg;
    clr_plan_param(plan, "parts", (double)p);
    clr_plan_param(plan, "chunk", (double)c);
    clr_plan_param(plan, "wg", wg);
    *parts = p;
    *chunk = c;
}

double clr_gamma(double k)
{
    double ku = k * 0x1p-24;
    return ku < 1.0 ? ku / (1.0 - ku) : INFINITY;
}

int clr_set_args(cl_kernel kernel, clr_error *err, unsigned nargs, ...)
{
    va_list ap;
    va_start(ap, nargs);
    int rc = CLR_OK;
    for (unsigned i = 0; i < nargs && rc == CLR_OK; ++i) {
        size_t size = va_arg(ap, size_t);
        const void *value = va_arg(ap, const void *);
        rc = CLR_CL(err, clSetKernelArg(kernel, i, size, value));
    }
    va_end(ap);
    return rc;
}

int clr_enqueue_1d(clr_op_ctx *ctx, cl_kernel kernel, size_t global, size_t local, cl_event *event,
                   clr_error *err)
{
    return CLR_CL(err, clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, local ? &local : NULL,
                                              0, NULL, event));
}

int clr_enqueue_second(clr_op_ctx *ctx, cl_kernel kernel, size_t global, size_t local, cl_event *first,
                       cl_event *last, clr_error *err)
{
    if (clr_enqueue_1d(ctx, kernel, global, local, last, err) == CLR_OK)
        return CLR_OK;
    clReleaseEvent(*first);
    *first = NULL;
    return err->code;
}

size_t clr_list_len(const size_t *list)
{
    size_t n = 0;
    while (n < CLR_MAX_LIST && list[n])
        n++;
    return n;
}

void clr_list_text(const size_t *list, char *buf, size_t size)
{
    size_t len = 0, n = clr_list_len(list);
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; ++i) {
        size_t v = list[i];
        if (v >= ((size_t)1 << 20) && v % ((size_t)1 << 20) == 0)
            len += (size_t)snprintf(buf + len, size - len, "%s%zuM", i ? "," : "", v >> 20);
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%zu", i ? "," : "", v);
    }
}

const char *clr_op_dim_name(const char *name)
{
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; ++i)
        for (size_t d = 0; d < operations[i]->ndims; ++d)
            if (!strcmp(operations[i]->dim_names[d], name))
                return operations[i]->dim_names[d];
    return NULL;
}

int clr_op_is_suite(const char *name)
{
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; ++i)
        for (size_t p = 0; p < operations[i]->nsuites; ++p)
            if (!strcmp(operations[i]->suites[p].suite, name))
                return 1;
    return 0;
}

/* "a", "a conj b", "a, b conj c" */
static void join_names(const char **names, size_t n, const char *conj, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; ++i)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : conj, names[i]);
}

void clr_op_names(int (*flag)(const clr_operation *op), const char *conj, char *buf, size_t size)
{
    const char *names[sizeof operations / sizeof operations[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; ++i)
        if (!flag || flag(operations[i]))
            names[n++] = operations[i]->name;
    char sep[16];
    snprintf(sep, sizeof sep, " %s ", conj);
    join_names(names, n, sep, buf, size);
}

void clr_suite_names(const char *conj, char *buf, size_t size)
{
    const char *names[32];
    size_t n = 0;
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; ++i)
        for (size_t p = 0; p < operations[i]->nsuites; ++p) {
            int seen = 0;
            for (size_t k = 0; k < n; ++k)
                seen |= !strcmp(names[k], operations[i]->suites[p].suite);
            if (!seen && n < sizeof names / sizeof names[0])
                names[n++] = operations[i]->suites[p].suite;
        }
    char sep[16];
    snprintf(sep, sizeof sep, " %s ", conj);
    join_names(names, n, sep, buf, size);
}

const char *clr_dtype_name(clr_dtype t)
{
    return t == CLR_BF16 ? "bf16" : "fp32";
}

size_t clr_dtype_size(clr_dtype t)
{
    return t == CLR_BF16 ? 2 : 4;
}

float clr_bf16_round(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet and a NaN */
        u = (u | 0x00400000u) & 0xffff0000u;
    else
        u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

uint16_t clr_bf16_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (uint16_t)(u >> 16);
}

void clr_shape_text(const clr_operation *op, const clr_shape *shape, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t d = 0; d < op->ndims && len < size; ++d)
        len += (size_t)snprintf(buf + len, size - len, "%s%s=%zu", d ? " " : "", op->dim_names[d], shape->dims[d]);
}
