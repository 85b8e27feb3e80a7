/* runner.c: drives one device through the measurement protocol of DESIGN.md. It knows
 * nothing of sums or attention: shapes, buffers, references and launches come from the
 * operation's table (op.h).
 *
 * Loop order: for every row size, host rows and references are made once; for every batch
 * size the batch is uploaded once (logical row j at position j) and the copy yardstick is
 * timed on the same bytes; then every strategy runs its case. Probe positions are made by
 * swapping row 0 with row p on the device, so the probe (logical row 0) sits at p. */
#include "runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include "reference.h"
#include "timing.h"

typedef struct run_state {
    const clr_run_config *cfg;
    const clr_operation *op;
    clr_device_result *res;
    clr_op_ctx ctx;
    clr_program program, copy_program;
    cl_mem row_tmp;
    size_t row_tmp_bytes;
    float *host_rows; /* max batch x input row, logical rows 0.. */
    float *refs;      /* max batch x output row */
    double *scales;
    float *out_buf;   /* one batch of outputs */
    float *permuted;  /* CLR_ORDERS permutations of the probe row (logical row 0), or NULL */
    size_t cases_done, cases_total;
} run_state;

clr_tuning clr_run_tuning(const clr_run_config *cfg, const clr_device *dev)
{
    clr_tuning t = clr_tuning_default(dev);
    if (cfg->wg)
        t.wg_size = cfg->wg;
    if (cfg->vec)
        t.vec = cfg->vec;
    if (cfg->chunk)
        t.fixed_chunk = cfg->chunk;
    return t;
}

static size_t max_batch(const clr_run_config *cfg)
{
    size_t m = 0;
    for (size_t i = 0; i < cfg->nbatches; ++i)
        m = cfg->batches[i] > m ? cfg->batches[i] : m;
    return m;
}

static clr_shape make_shape(const clr_run_config *cfg, size_t size, size_t batch)
{
    clr_shape s = {0};
    s.batch = batch;
    s.dims[0] = size;
    (void)cfg;
    return s;
}

int clr_check_fits(const clr_run_config *cfg, const clr_device *dev, clr_error *err)
{
    size_t bmax = max_batch(cfg);
    for (size_t i = 0; i < cfg->nsizes; ++i) {
        clr_shape s = make_shape(cfg, cfg->sizes[i], bmax);
        double in = (double)bmax * (double)cfg->op->input_row_floats(&s) * sizeof(float);
        double out = (double)bmax * (double)cfg->op->output_row_floats(&s) * sizeof(float);
        char need[32], have[32], alloc[32];
        clr_format_bytes(2 * in + 2 * out, need, sizeof need);
        clr_format_bytes((double)dev->global_mem, have, sizeof have);
        clr_format_bytes((double)dev->max_alloc, alloc, sizeof alloc);
        if (in > (double)dev->max_alloc || 2 * in + 2 * out > 0.9 * (double)dev->global_mem ||
            in > (double)SIZE_MAX / 4)
            return clr_fail(err, CLR_EUSAGE,
                            "%s=%zu with batch %zu does not fit %s: it needs %s of device memory (input, its "
                            "copy for the bandwidth yardstick, outputs) and the device has %s, at most %s in one "
                            "buffer; reduce --%s or --batch",
                            cfg->op->dim_names[0], cfg->sizes[i], bmax, dev->name, need, have, alloc,
                            cfg->op->dim_names[0]);
    }
    return CLR_OK;
}

static void progress(run_state *st, const char *what)
{
    if (!st->cfg->progress)
        return;
    fprintf(stderr, "\r\033[K[%s] %zu/%zu %s", st->res->device.name, st->cases_done, st->cases_total, what);
    fflush(stderr);
}

static int alloc_buffer(run_state *st, size_t bytes, cl_mem *out, clr_error *err)
{
    cl_int status;
    *out = clCreateBuffer(st->ctx.context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &status);
    return CLR_CL(err, status);
}

/* Swaps rows a and b of the device input through a one-row temporary. */
static int swap_rows(run_state *st, size_t row_floats, size_t a, size_t b, clr_error *err)
{
    if (a == b)
        return CLR_OK;
    size_t bytes = row_floats * sizeof(float);
    if (st->row_tmp_bytes < bytes) {
        if (st->row_tmp)
            clReleaseMemObject(st->row_tmp);
        st->row_tmp = NULL;
        st->row_tmp_bytes = 0;
        if (alloc_buffer(st, bytes, &st->row_tmp, err))
            return err->code;
        st->row_tmp_bytes = bytes;
    }
    cl_command_queue q = st->ctx.queue;
    cl_mem in = st->ctx.input;
    if (CLR_CL(err, clEnqueueCopyBuffer(q, in, st->row_tmp, a * bytes, 0, bytes, 0, NULL, NULL)) ||
        CLR_CL(err, clEnqueueCopyBuffer(q, in, in, b * bytes, a * bytes, bytes, 0, NULL, NULL)) ||
        CLR_CL(err, clEnqueueCopyBuffer(q, st->row_tmp, in, 0, b * bytes, bytes, 0, NULL, NULL)) ||
        CLR_CL(err, clFinish(q)))
        return err->code;
    return CLR_OK;
}

static int launch(run_state *st, const clr_strategy *s, const clr_plan *plan, double *seconds, clr_error *err)
{
    cl_event first = NULL, last = NULL;
    if (s->enqueue(&st->ctx, plan, &first, &last, err))
        return err->code;
    double t = 0;
    if (clr_event_span_release(first, last, &t, err))
        return err->code;
    if (seconds)
        *seconds = t;
    return CLR_OK;
}

static int read_output(run_state *st, size_t out_row, clr_error *err)
{
    size_t bytes = st->ctx.shape.batch * out_row * sizeof(float);
    return CLR_CL(err, clEnqueueReadBuffer(st->ctx.queue, st->ctx.output, CL_TRUE, 0, bytes, st->out_buf, 0, NULL,
                                           NULL));
}

static uint64_t max_ulp(const float *a, const float *b, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t d = clr_ulp_distance(a[i], b[i]);
        m = d > m ? d : m;
    }
    return m;
}

/* Compares one output row with its reference; updates the case's accuracy and validity. */
static void validate_row(clr_case *c, const float *out, const float *ref, const double *scale, size_t n)
{
    int row_bad = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t ulp = clr_ulp_distance(out[i], ref[i]);
        c->accuracy_max_ulp = ulp > c->accuracy_max_ulp ? ulp : c->accuracy_max_ulp;
        if (clr_float_bits(out[i]) == clr_float_bits(ref[i]) || ulp == 0)
            continue;
        if (!isfinite(ref[i]) || !isfinite(out[i])) {
            /* A special result must be matched exactly; an overflowed plain sum is allowed to
             * differ only if the bound admits it (then the error is beyond any finite bound). */
            if (isnan(ref[i]) || isnan(out[i]) || isfinite(c->plan.err_abs) || isfinite(ref[i]))
                row_bad = 1;
            continue;
        }
        double allowed = c->plan.err_abs * scale[i] + c->plan.err_rel * fabs((double)ref[i]);
        double error = fabs((double)out[i] - (double)ref[i]);
        double ratio = allowed > 0 ? error / allowed : INFINITY;
        if (ratio > c->worst_error_ratio)
            c->worst_error_ratio = ratio;
        if (error > allowed)
            row_bad = 1;
    }
    if (row_bad) {
        c->rows_out_of_bound++;
        c->valid = 0;
    }
}

static int run_case(run_state *st, size_t strategy_index, clr_case *c, clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    const clr_strategy *s = &st->op->strategies[strategy_index];
    const clr_shape *shape = &st->ctx.shape;
    size_t out_row = st->op->output_row_floats(shape), in_row = st->op->input_row_floats(shape);
    size_t batch = shape->batch, out_floats = batch * out_row;

    memset(c, 0, sizeof *c);
    c->strategy = strategy_index;
    c->shape = *shape;
    c->valid = 1;
    if (s->plan(&st->ctx, &c->plan, err))
        return err->code;

    /* Warm-up with the exact NDRange that is timed. */
    for (unsigned w = 0; w < cfg->warmup; ++w)
        if (launch(st, s, &c->plan, NULL, err))
            return err->code;

    /* Run to run: T trials at this batch. */
    uint64_t *hashes = clr_calloc(cfg->trials, sizeof *hashes, "trial hashes", err);
    float *first = clr_malloc(out_floats * sizeof(float), "outputs", err);
    if (!hashes || !first) {
        free(hashes);
        free(first);
        return err->code;
    }
    for (unsigned t = 0; t < cfg->trials; ++t) {
        if (launch(st, s, &c->plan, NULL, err) || read_output(st, out_row, err)) {
            free(hashes);
            free(first);
            return err->code;
        }
        hashes[t] = XXH64(st->out_buf, out_floats * sizeof(float), 0);
        if (t == 0) {
            memcpy(first, st->out_buf, out_floats * sizeof(float));
        } else {
            uint64_t d = max_ulp(first, st->out_buf, out_floats);
            c->r2r_max_ulp = d > c->r2r_max_ulp ? d : c->r2r_max_ulp;
        }
    }
    c->r2r_distinct = clr_count_distinct_u64(hashes, cfg->trials);
    c->fingerprint = XXH64(first, out_floats * sizeof(float), 0);
    free(hashes);
    c->outputs = first;

    /* Validation of every row of trial 0 (logical row j at position j). */
    for (size_t j = 0; j < batch; ++j)
        validate_row(c, first + j * out_row, st->refs + j * out_row, st->scales + j * out_row, out_row);

    /* Probe positions: 0, the middle, the end. */
    size_t candidates[CLR_MAX_POSITIONS] = {0, batch / 2, batch - 1};
    for (size_t k = 0; k < CLR_MAX_POSITIONS; ++k) {
        size_t p = candidates[k];
        int seen = 0;
        for (size_t q = 0; q < c->npositions; ++q)
            seen |= c->positions[q].position == p;
        if (seen)
            continue;
        clr_observation *o = &c->positions[c->npositions++];
        o->batch = batch;
        o->position = p;
        o->probe = clr_malloc(out_row * sizeof(float), "probe", err);
        if (!o->probe)
            return err->code;
        if (p == 0) {
            memcpy(o->probe, first, out_row * sizeof(float));
        } else {
            if (swap_rows(st, in_row, 0, p, err) || launch(st, s, &c->plan, NULL, err) ||
                read_output(st, out_row, err) || swap_rows(st, in_row, 0, p, err))
                return err->code;
            memcpy(o->probe, st->out_buf + p * out_row, out_row * sizeof(float));
            validate_row(c, o->probe, st->refs, st->scales, out_row);
        }
        o->hash = XXH64(o->probe, out_row * sizeof(float), 0);
    }

    /* Order: the probe row's addends permuted (same exact result), at position 0. */
    if (st->permuted) {
        uint64_t hashes[CLR_ORDERS + 1];
        hashes[0] = c->positions[0].hash;
        size_t bytes = in_row * sizeof(float);
        for (size_t k = 0; k < CLR_ORDERS; ++k) {
            if (CLR_CL(err, clEnqueueWriteBuffer(st->ctx.queue, st->ctx.input, CL_TRUE, 0, bytes,
                                                 st->permuted + k * in_row, 0, NULL, NULL)) ||
                launch(st, s, &c->plan, NULL, err) || read_output(st, out_row, err))
                return err->code;
            hashes[k + 1] = XXH64(st->out_buf, out_row * sizeof(float), 0);
            uint64_t d = max_ulp(st->out_buf, first, out_row);
            c->order_max_ulp = d > c->order_max_ulp ? d : c->order_max_ulp;
            validate_row(c, st->out_buf, st->refs, st->scales, out_row);
        }
        c->norders = CLR_ORDERS;
        c->order_distinct = clr_count_distinct_u64(hashes, CLR_ORDERS + 1);
        if (CLR_CL(err, clEnqueueWriteBuffer(st->ctx.queue, st->ctx.input, CL_TRUE, 0, bytes, st->host_rows, 0,
                                             NULL, NULL)))
            return err->code;
    }

    /* Timing: R repetitions, each waited for, device clock. */
    double *times = clr_calloc(cfg->reps, sizeof *times, "timings", err);
    if (!times)
        return err->code;
    for (unsigned r = 0; r < cfg->reps; ++r)
        if (launch(st, s, &c->plan, &times[r], err)) {
            free(times);
            return err->code;
        }
    clr_stats_compute(times, cfg->reps, &c->time);
    free(times);
    double bytes = st->op->bytes(shape), flops = st->op->flops(shape);
    c->gbps = c->time.median > 0 ? bytes / c->time.median * 1e-9 : 0;
    c->gflops = c->time.median > 0 ? flops / c->time.median * 1e-9 : 0;
    if (!cfg->save_outputs) {
        free(c->outputs);
        c->outputs = NULL;
    }
    return CLR_OK;
}

static int measure_copy(run_state *st, cl_mem target, clr_copy_result *cr, clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    cl_kernel k;
    cl_ulong n = (cl_ulong)(st->ctx.shape.batch * st->op->input_row_floats(&st->ctx.shape));
    /* As many work-groups as the split strategies aim for, each looping over its share. */
    const clr_tuning *t = st->ctx.tuning;
    size_t local = t->wg_size;
    size_t global = (size_t)st->ctx.device->compute_units * t->groups_per_cu * 4 * local;
    if (clr_program_kernel(&st->copy_program, "copy_floats", &k, err) ||
        clr_set_args(k, err, 3, sizeof(cl_mem), &st->ctx.input, sizeof(cl_mem), &target, sizeof n, &n))
        return err->code;
    double *times = clr_calloc(cfg->reps, sizeof *times, "timings", err);
    if (!times)
        return err->code;
    for (unsigned r = 0; r < cfg->warmup + cfg->reps; ++r) {
        cl_event ev;
        double t;
        if (clr_enqueue_1d(&st->ctx, k, global, local, &ev, err) || clr_event_span_release(ev, ev, &t, err)) {
            free(times);
            return err->code;
        }
        if (r >= cfg->warmup)
            times[r - cfg->warmup] = t;
    }
    cr->bytes = 2.0 * (double)n * sizeof(float);
    clr_stats_compute(times, cfg->reps, &cr->time);
    free(times);
    cr->gbps = cr->time.median > 0 ? cr->bytes / cr->time.median * 1e-9 : 0;
    return CLR_OK;
}

/* Batch variance of one strategy at one row size: every (batch, position) observation of
 * the probe row against the smallest batch at position 0. */
static void summarise_variance(run_state *st, size_t first_case, size_t size_index, size_t strategy)
{
    clr_device_result *res = st->res;
    clr_case *base = NULL;
    size_t count = 0;
    for (size_t i = first_case; i < res->ncases; ++i) {
        clr_case *c = &res->cases[i];
        if (c->strategy != strategy)
            continue;
        if (!base || c->shape.batch < base->shape.batch)
            base = c;
    }
    if (!base)
        return;
    size_t out_row = st->op->output_row_floats(&base->shape);
    clr_variance *v = &res->variance[res->nvariance++];
    memset(v, 0, sizeof *v);
    v->strategy = strategy;
    v->size = st->cfg->sizes[size_index];
    v->base_batch = base->shape.batch;
    uint64_t *hashes = calloc(st->cfg->nbatches * CLR_MAX_POSITIONS, sizeof *hashes);
    for (size_t i = first_case; i < res->ncases; ++i) {
        clr_case *c = &res->cases[i];
        if (c->strategy != strategy)
            continue;
        for (size_t k = 0; k < c->npositions; ++k) {
            clr_observation *o = &c->positions[k];
            o->max_ulp = max_ulp(o->probe, base->positions[0].probe, out_row);
            v->max_ulp = o->max_ulp > v->max_ulp ? o->max_ulp : v->max_ulp;
            if (hashes)
                hashes[count++] = o->hash;
            v->observations++;
        }
    }
    v->distinct = hashes ? clr_count_distinct_u64(hashes, count) : 0;
    free(hashes);
}

static void check_claims(run_state *st)
{
    clr_device_result *res = st->res;
    const clr_run_config *cfg = st->cfg;
    for (size_t si = 0; si < cfg->nstrategies; ++si) {
        size_t s = cfg->strategy_index[si];
        unsigned claims = st->op->strategies[s].claims;
        for (unsigned bit = 1; bit < (1u << CLR_NCLAIMS); bit <<= 1) {
            clr_claim_result *cr = &res->claims[res->nclaims++];
            memset(cr, 0, sizeof *cr);
            cr->strategy = s;
            cr->claim = bit;
            cr->claimed = (claims & bit) != 0;
            cr->status = CLR_CLAIM_NOT_MEASURED;
            if (bit == CLR_CLAIM_DETERMINISTIC) {
                size_t worst = 0, at = 0;
                for (size_t i = 0; i < res->ncases; ++i)
                    if (res->cases[i].strategy == s && res->cases[i].r2r_distinct > worst) {
                        worst = res->cases[i].r2r_distinct;
                        at = i;
                    }
                if (worst > 0) {
                    cr->status = worst > 1 ? CLR_CLAIM_VIOLATED : CLR_CLAIM_HELD;
                    if (worst > 1)
                        snprintf(cr->evidence, sizeof cr->evidence, "%zu distinct outputs in %u trials at %s=%zu, batch %zu",
                                 worst, cfg->trials, st->op->dim_names[0], res->cases[at].shape.dims[0],
                                 res->cases[at].shape.batch);
                    else
                        snprintf(cr->evidence, sizeof cr->evidence, "1 output pattern in %u trials at every shape",
                                 cfg->trials);
                }
            } else if (bit == CLR_CLAIM_BATCH_INVARIANT) {
                size_t worst = 0, observations = 0, size = 0;
                uint64_t ulp = 0;
                for (size_t i = 0; i < res->nvariance; ++i) {
                    clr_variance *v = &res->variance[i];
                    if (v->strategy != s)
                        continue;
                    observations += v->observations;
                    if (v->distinct > worst) {
                        worst = v->distinct;
                        size = v->size;
                        ulp = v->max_ulp;
                    }
                }
                if (observations > 1) {
                    cr->status = worst > 1 ? CLR_CLAIM_VIOLATED : CLR_CLAIM_HELD;
                    if (worst > 1)
                        snprintf(cr->evidence, sizeof cr->evidence,
                                 "%zu distinct probe outputs across batch sizes and positions at %s=%zu "
                                 "(max %llu ulp from the smallest batch)",
                                 worst, st->op->dim_names[0], size, (unsigned long long)ulp);
                    else
                        snprintf(cr->evidence, sizeof cr->evidence,
                                 "probe bits identical in all %zu batch/position observations", observations);
                }
            } else if (bit == CLR_CLAIM_ORDER_INDEPENDENT) {
                size_t worst = 0, tried = 0, size = 0;
                uint64_t ulp = 0;
                for (size_t i = 0; i < res->ncases; ++i) {
                    const clr_case *c = &res->cases[i];
                    if (c->strategy != s || !c->norders)
                        continue;
                    tried += c->norders;
                    if (c->order_distinct > worst) {
                        worst = c->order_distinct;
                        size = c->shape.dims[0];
                        ulp = c->order_max_ulp;
                    }
                }
                if (tried) {
                    cr->status = worst > 1 ? CLR_CLAIM_VIOLATED : CLR_CLAIM_HELD;
                    if (worst > 1)
                        snprintf(cr->evidence, sizeof cr->evidence,
                                 "%zu distinct probe outputs over %u orders of its input at %s=%zu (max %llu ulp)",
                                 worst, CLR_ORDERS + 1, st->op->dim_names[0], size, (unsigned long long)ulp);
                    else
                        snprintf(cr->evidence, sizeof cr->evidence,
                                 "probe bits identical over %zu permutations of its input", tried);
                }
            } else {
                snprintf(cr->evidence, sizeof cr->evidence, "measured across devices by comparing fingerprints, not by `run`");
            }
            if (cr->claimed && cr->status == CLR_CLAIM_VIOLATED)
                res->broken_claims++;
        }
    }
}

static int setup_device(run_state *st, const clr_device *dev, clr_error *err)
{
    cl_int status;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    st->ctx.context = clCreateContext(props, 1, &dev->id, NULL, NULL, &status);
    if (CLR_CL(err, status))
        return err->code;
    st->ctx.queue = clCreateCommandQueue(st->ctx.context, dev->id, CL_QUEUE_PROFILING_ENABLE, &status);
    if (CLR_CL(err, status))
        return err->code;
    st->ctx.device = &st->res->device;
    st->ctx.tuning = &st->res->tuning;
    st->ctx.program = &st->program;
    if (clr_program_build(st->ctx.context, dev, st->cfg->kernel_dir, st->op->source, &st->res->tuning,
                          &st->program, err) ||
        clr_program_build(st->ctx.context, dev, st->cfg->kernel_dir, "copy.cl", &st->res->tuning,
                          &st->copy_program, err))
        return err->code;
    st->res->build_seconds = st->program.build_seconds;
    st->res->copy_build_seconds = st->copy_program.build_seconds;
    snprintf(st->res->build_options, sizeof st->res->build_options, "%s", st->program.options);
    return CLR_OK;
}

static void teardown(run_state *st)
{
    clr_program_release(&st->program);
    clr_program_release(&st->copy_program);
    cl_mem bufs[] = {st->ctx.input, st->ctx.output, st->ctx.scratch, st->row_tmp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    if (st->ctx.queue)
        clReleaseCommandQueue(st->ctx.queue);
    if (st->ctx.context)
        clReleaseContext(st->ctx.context);
    free(st->host_rows);
    free(st->refs);
    free(st->scales);
    free(st->out_buf);
    free(st->permuted);
}

/* Host rows of logical ids [0, bmax) and their references. */
static int prepare_rows(run_state *st, size_t size, size_t bmax, clr_error *err)
{
    clr_shape s = make_shape(st->cfg, size, bmax);
    size_t in_row = st->op->input_row_floats(&s), out_row = st->op->output_row_floats(&s);
    free(st->host_rows);
    free(st->refs);
    free(st->scales);
    free(st->out_buf);
    free(st->permuted);
    st->refs = NULL;
    st->scales = NULL;
    st->out_buf = NULL;
    st->permuted = NULL;
    st->host_rows = clr_malloc(bmax * in_row * sizeof(float), "host input rows", err);
    if (!st->host_rows)
        return err->code;
    st->refs = clr_malloc(bmax * out_row * sizeof(float), "references", err);
    st->scales = clr_malloc(bmax * out_row * sizeof(double), "references", err);
    st->out_buf = clr_malloc(bmax * out_row * sizeof(float), "outputs", err);
    if (!st->refs || !st->scales || !st->out_buf)
        return err->code;
    for (size_t r = 0; r < bmax; ++r) {
        float *row = st->host_rows + r * in_row;
        clr_input_row(&st->cfg->input, r, row, in_row);
        st->op->reference(&s, row, st->refs + r * out_row, st->scales + r * out_row);
    }
    if (st->op->permute_row) {
        st->permuted = clr_malloc(CLR_ORDERS * in_row * sizeof(float), "permuted probe rows", err);
        if (!st->permuted)
            return err->code;
        for (size_t k = 0; k < CLR_ORDERS; ++k) {
            memcpy(st->permuted + k * in_row, st->host_rows, in_row * sizeof(float));
            st->op->permute_row(&s, st->permuted + k * in_row, 1000 + k);
        }
    }
    return CLR_OK;
}

static int run_batch(run_state *st, size_t size_index, size_t batch, clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    clr_device_result *res = st->res;
    st->ctx.shape = make_shape(cfg, cfg->sizes[size_index], batch);
    size_t in_row = st->op->input_row_floats(&st->ctx.shape);
    size_t out_row = st->op->output_row_floats(&st->ctx.shape);
    size_t in_bytes = batch * in_row * sizeof(float);
    cl_mem copy_target = NULL;
    if (st->ctx.input)
        clReleaseMemObject(st->ctx.input);
    if (st->ctx.output)
        clReleaseMemObject(st->ctx.output);
    st->ctx.input = st->ctx.output = NULL;
    if (alloc_buffer(st, in_bytes, &st->ctx.input, err) ||
        alloc_buffer(st, batch * out_row * sizeof(float), &st->ctx.output, err) ||
        CLR_CL(err, clEnqueueWriteBuffer(st->ctx.queue, st->ctx.input, CL_TRUE, 0, in_bytes, st->host_rows, 0,
                                         NULL, NULL)))
        return err->code;

    char what[160];
    snprintf(what, sizeof what, "copy %s=%zu batch %zu", st->op->dim_names[0], cfg->sizes[size_index], batch);
    progress(st, what);
    clr_copy_result *cr = &res->copies[res->ncopies];
    memset(cr, 0, sizeof *cr);
    cr->size = cfg->sizes[size_index];
    cr->batch = batch;
    int rc = alloc_buffer(st, in_bytes, &copy_target, err);
    if (rc == CLR_OK)
        rc = measure_copy(st, copy_target, cr, err);
    if (copy_target)
        clReleaseMemObject(copy_target);
    if (rc)
        return rc;
    res->ncopies++;

    size_t first_case = res->ncases;
    for (size_t si = 0; si < cfg->nstrategies; ++si) {
        size_t s = cfg->strategy_index[si];
        snprintf(what, sizeof what, "%s %s=%zu batch %zu", st->op->strategies[s].name, st->op->dim_names[0],
                 cfg->sizes[size_index], batch);
        progress(st, what);
        clr_case *c = &res->cases[res->ncases];
        if (run_case(st, s, c, err))
            return err->code;
        res->ncases++;
        st->cases_done++;
        c->copy_gbps = cr->gbps;
        c->copy_fraction = cr->gbps > 0 ? c->gbps / cr->gbps : 0;
    }
    /* Overhead against the fastest valid strategy of this shape. */
    double fastest = INFINITY;
    for (size_t i = first_case; i < res->ncases; ++i)
        if (res->cases[i].valid && res->cases[i].time.median < fastest)
            fastest = res->cases[i].time.median;
    for (size_t i = first_case; i < res->ncases; ++i)
        res->cases[i].overhead = isfinite(fastest) && fastest > 0 ? res->cases[i].time.median / fastest : 0;
    return CLR_OK;
}

int clr_run_device(const clr_run_config *cfg, const clr_device *dev, clr_device_result *res, clr_error *err)
{
    double start = clr_now();
    memset(res, 0, sizeof *res);
    res->device = *dev;
    res->tuning = clr_run_tuning(cfg, dev);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(res->started_utc, sizeof res->started_utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (clr_tuning_check(&res->tuning, dev, err) || clr_check_fits(cfg, dev, err))
        return err->code;

    size_t ncases = cfg->nsizes * cfg->nbatches * cfg->nstrategies;
    res->cases = clr_calloc(ncases, sizeof *res->cases, "results", err);
    res->variance = clr_calloc(cfg->nsizes * cfg->nstrategies, sizeof *res->variance, "results", err);
    res->claims = clr_calloc(cfg->nstrategies * CLR_NCLAIMS, sizeof *res->claims, "results", err);
    res->copies = clr_calloc(cfg->nsizes * cfg->nbatches, sizeof *res->copies, "results", err);
    if (!res->cases || !res->variance || !res->claims || !res->copies)
        return err->code;

    run_state st = {0};
    st.cfg = cfg;
    st.op = cfg->op;
    st.res = res;
    st.cases_total = ncases;
    int rc = setup_device(&st, dev, err);
    size_t bmax = max_batch(cfg);
    for (size_t zi = 0; zi < cfg->nsizes && rc == CLR_OK; ++zi) {
        char what[96];
        snprintf(what, sizeof what, "generating %zu rows of %s=%zu", bmax, cfg->op->dim_names[0], cfg->sizes[zi]);
        progress(&st, what);
        rc = prepare_rows(&st, cfg->sizes[zi], bmax, err);
        size_t first_case = res->ncases;
        for (size_t bi = 0; bi < cfg->nbatches && rc == CLR_OK; ++bi)
            rc = run_batch(&st, zi, cfg->batches[bi], err);
        for (size_t si = 0; si < cfg->nstrategies && rc == CLR_OK; ++si)
            summarise_variance(&st, first_case, zi, cfg->strategy_index[si]);
    }
    if (cfg->progress)
        fprintf(stderr, "\r\033[K");
    teardown(&st);
    if (rc)
        return rc;
    check_claims(&st);
    for (size_t i = 0; i < res->ncases; ++i)
        res->invalid_cases += !res->cases[i].valid;
    res->wall_seconds = clr_now() - start;
    return CLR_OK;
}

void clr_device_result_free(clr_device_result *res)
{
    for (size_t i = 0; i < res->ncases; ++i) {
        free(res->cases[i].outputs);
        for (size_t k = 0; k < res->cases[i].npositions; ++k)
            free(res->cases[i].positions[k].probe);
    }
    free(res->cases);
    free(res->variance);
    free(res->claims);
    free(res->copies);
    memset(res, 0, sizeof *res);
}
