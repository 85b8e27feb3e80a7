/* runner.c: drives one device through the measurement protocol of DESIGN.md. It knows
 * nothing of sums or attention: shapes, buffers, references and launches come from the
 * operation's table (op.h).
 *
 * Loop order: for every shape, host rows, shared weights and references are made once; for
 * every batch size the batch is uploaded once (logical row j at position j) and the bandwidth
 * roof is timed on as many bytes; then every strategy runs its case. The device's peak
 * bandwidth is measured once, before the first shape. Probe positions are
 * made by swapping row 0 with row p on the device, so the probe (logical row 0) sits at p.
 * The batch-variance summaries and the claims are judged from the cases by claims.c. */
#include "runner.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <xxhash.h>
#include "journal.h"
#include "reference.h"
#include "timing.h"

typedef struct run_state {
    const clr_run_config *cfg;
    const clr_operation *op;
    clr_device_result *res;
    clr_op_ctx ctx;
    clr_program program, roof_program;
    cl_mem row_tmp;
    size_t row_tmp_bytes;
    float *host_rows; /* max batch x input row, logical rows 0.., values as stored (bf16-rounded) */
    float *shared;    /* shared weights, or NULL */
    float *refs;      /* max batch x output row */
    double *scales;
    float *out_buf;   /* one batch of outputs */
    float *permuted;  /* CLR_ORDERS permutations of the probe row (logical row 0), or NULL */
    float *ref_outputs; /* the reference strategy's outputs at the current batch, or NULL */
    size_t cases_done, cases_total;
    int replay_ok; /* the device keeps subnormals, so host replays give its bits */
    struct clr_journal *journal; /* completed cases: taken from it, added to it; or NULL */
    double case_start, case_deadline; /* clr_now() of the case's start and limit (0: none) */
    int timed_out;                    /* a kernel overran the limit; its queue is still busy */
    double run_start, last_progress;  /* clr_now() at the start of measuring, and of the last line */
    size_t *fit_batch;                /* per shape, the largest batch that fits (cfg->skip_unfit) */
    char (*fit_why)[CLR_SKIP_REASON]; /* per shape, why a larger batch does not */
} run_state;

const char *clr_run_name(const clr_run_config *cfg)
{
    return cfg->name ? cfg->name : cfg->op->name;
}

int clr_case_output_name(const clr_run_config *cfg, size_t strategy, const clr_shape *shape, char *buf, size_t size)
{
    char dims[160] = "";
    size_t len = 0;
    for (size_t d = 0; d < cfg->op->ndims && len < sizeof dims; ++d)
        len += (size_t)snprintf(dims + len, sizeof dims - len, "-%s%zu", cfg->op->dim_names[d], shape->dims[d]);
    int n = snprintf(buf, size, "%s-%s%s-b%zu.npy", clr_run_name(cfg), cfg->op->strategies[strategy].name, dims,
                     shape->batch);
    return n < 0 || (size_t)n >= size || len >= sizeof dims ? -1 : 0;
}

clr_tuning clr_run_tuning(const clr_run_config *cfg, const clr_device *dev)
{
    clr_tuning t = clr_tuning_default(dev);
    if (cfg->wg)
        t.wg_size = cfg->wg;
    if (cfg->vec)
        t.vec = cfg->vec;
    if (cfg->chunk)
        t.fixed_chunk = t.kv_chunk = t.kv_far_chunk = cfg->chunk;
    if (cfg->contig != CLR_CONTIG_DEVICE)
        t.contig = cfg->contig == CLR_CONTIG_YES;
    return t;
}

static size_t max_batch(const clr_run_config *cfg)
{
    size_t m = 0;
    for (size_t i = 0; i < cfg->nbatches; ++i)
        m = cfg->batches[i] > m ? cfg->batches[i] : m;
    return m;
}

static clr_shape shape_at(const clr_run_config *cfg, size_t index, size_t batch)
{
    clr_shape s = cfg->shapes[index];
    s.batch = batch;
    return s;
}

static size_t shared_floats(const clr_operation *op, const clr_shape *s)
{
    return op->shared_floats ? op->shared_floats(s) : 0;
}

/* The most scratch any chosen strategy plans for a shape at any of the batches. A plan that
 * refuses the shape refuses the run here. */
static int max_scratch(const clr_run_config *cfg, const clr_device *dev, const clr_tuning *t, size_t shape_index,
                       double *bytes, clr_error *err)
{
    *bytes = 0;
    for (size_t b = 0; b < cfg->nbatches; ++b)
        for (size_t i = 0; i < cfg->nstrategies; ++i) {
            const clr_strategy *s = &cfg->op->strategies[cfg->strategy_index[i]];
            clr_op_ctx ctx = {.device = dev, .tuning = t, .shape = shape_at(cfg, shape_index, cfg->batches[b])};
            clr_plan plan = {0};
            char why[160];
            if (s->available && !s->available(&ctx, why, sizeof why))
                continue;
            if (s->plan(&ctx, &plan, err))
                return err->code;
            *bytes = (double)plan.scratch_bytes > *bytes ? (double)plan.scratch_bytes : *bytes;
        }
    return CLR_OK;
}

/* Whether shape shape_index at `batch` fits the device: its inputs (and the alternative layout's),
 * outputs, weights, the bandwidth roof's buffer (as many bytes as the op moves) and
 * the scratch, at least *scratch (the buffer grows on demand and stays for the run: while a shape
 * runs it is the largest any shape so far asked for), which becomes the scratch that shape needs.
 * The strategies are planned (for their scratch) only once the rest fits: a plan may refuse a
 * shape that fits nowhere. *fit is 0 with why ("needs ... of device memory ...") when it does
 * not. */
static int fits(const clr_run_config *cfg, const clr_device *dev, const clr_tuning *t, size_t shape_index,
                size_t batch, double *scratch, int *fit, char *why, size_t why_size, clr_error *err)
{
    const clr_operation *op = cfg->op;
    clr_shape s = shape_at(cfg, shape_index, batch);
    if (clr_op_check_shape(op, &s, err))
        return err->code;
    double elem = (double)clr_dtype_size(s.dtype);
    double in = (double)batch * (double)op->input_row_floats(&s) * elem;
    double out = (double)batch * (double)op->output_row_floats(&s) * sizeof(float);
    double shared = (double)shared_floats(op, &s) * elem;
    clr_shape alt;
    if (op->alt_shape && op->alt_shape(&s, &alt))
        in += (double)(batch < CLR_LAYOUT_MAX_BATCH ? batch : CLR_LAYOUT_MAX_BATCH) *
              (double)op->input_row_floats(&alt) * elem;
    double traffic = op->bytes(&s), need_scratch = *scratch;
    *fit = 1;
    for (int pass = 0; pass < 2 && *fit; ++pass) {
        if (pass == 1 && max_scratch(cfg, dev, t, shape_index, &need_scratch, err))
            return err->code;
        need_scratch = need_scratch > *scratch ? need_scratch : *scratch;
        double need = in + out + need_scratch + shared + traffic;
        *fit = in <= (double)dev->max_alloc && out <= (double)dev->max_alloc && shared <= (double)dev->max_alloc &&
               traffic <= (double)dev->max_alloc && need_scratch <= (double)dev->max_alloc &&
               need <= 0.9 * (double)dev->global_mem && in <= (double)SIZE_MAX / 4;
        char need_text[32], have[32], alloc[32];
        clr_format_bytes(need, need_text, sizeof need_text);
        clr_format_bytes((double)dev->global_mem, have, sizeof have);
        clr_format_bytes((double)dev->max_alloc, alloc, sizeof alloc);
        snprintf(why, why_size, "needs %s of device memory and the device has %s, at most %s in one buffer",
                 need_text, have, alloc);
    }
    if (*fit)
        *scratch = need_scratch;
    return CLR_OK;
}

/* The largest batch of each shape that fits the device (limits[i], 0: none; why[i] says why a
 * larger one does not): with cfg->skip_unfit the run measures those and skips the rest; else
 * a shape that does not fit at the largest batch refuses the run (CLR_EUSAGE), saying how big
 * it is. limits and why may be NULL for the refusal alone. */
static int check_fits(const clr_run_config *cfg, const clr_device *dev, const clr_tuning *t, size_t *limits,
                      char (*why)[CLR_SKIP_REASON], clr_error *err)
{
    size_t bmax = max_batch(cfg);
    const clr_operation *op = cfg->op;
    double scratch = 0;
    for (size_t i = 0; i < cfg->nshapes; ++i) {
        char reason[CLR_SKIP_REASON] = "";
        int fit = 0;
        if (fits(cfg, dev, t, i, bmax, &scratch, &fit, reason, sizeof reason, err))
            return err->code;
        size_t limit = fit ? bmax : 0;
        if (!fit && !cfg->skip_unfit) {
            char shape_text[128];
            clr_shape s = shape_at(cfg, i, bmax);
            clr_shape_text(op, &s, shape_text, sizeof shape_text);
            return clr_fail(err, CLR_EUSAGE,
                            "%s %s with batch %zu does not fit %s: it %s (inputs, outputs, scratch, and a "
                            "buffer of the operation's traffic for the bandwidth roof); reduce the sizes or --batch",
                            op->name, shape_text, bmax, dev->name, reason);
        }
        /* Suites: the largest batch of the list that fits (the batches are tried from the top). */
        for (size_t k = 0; !fit && k < cfg->nbatches; ++k) {
            size_t b = cfg->batches[k];
            int ok = 0;
            char unused[CLR_SKIP_REASON];
            double trial = scratch;
            if (b <= limit)
                continue;
            if (fits(cfg, dev, t, i, b, &trial, &ok, unused, sizeof unused, err))
                return err->code;
            if (ok && b > limit) {
                limit = b;
                scratch = trial > scratch ? trial : scratch;
            }
        }
        /* The reason names the smallest batch that does not fit, so its figure is that batch's. */
        size_t next = 0;
        for (size_t k = 0; !fit && k < cfg->nbatches; ++k)
            if (cfg->batches[k] > limit && (!next || cfg->batches[k] < next))
                next = cfg->batches[k];
        if (next && next != bmax) {
            int ok;
            double trial = scratch;
            char at[CLR_SKIP_REASON];
            if (fits(cfg, dev, t, i, next, &trial, &ok, at, sizeof at, err))
                return err->code;
            snprintf(reason, sizeof reason, "batch %zu and above: %.200s", next, at);
        }
        if (limits)
            limits[i] = limit;
        if (why)
            snprintf(why[i], sizeof why[i], "does not fit %.60s: %.180s", dev->name, reason);
    }
    return CLR_OK;
}

int clr_run_check(const clr_run_config *cfg, const clr_device *dev, clr_error *err)
{
    clr_tuning t = clr_run_tuning(cfg, dev);
    if (clr_tuning_check(&t, dev, err) || (cfg->op->check_tuning && cfg->op->check_tuning(&t, dev, err)))
        return err->code;
    return check_fits(cfg, dev, &t, NULL, NULL, err);
}

/* The progress line (a terminal only): cases done of all, time since measuring began and an
 * estimate of what is left (from the cases measured so far, not those taken from a journal),
 * and what is happening now; kept within 100 columns. */
static void progress(run_state *st, const char *what)
{
    if (!st->cfg->progress)
        return;
    double now = clr_now(), elapsed = now - st->run_start;
    st->last_progress = now;
    size_t measured = st->cases_done - st->res->resumed_cases, left = st->cases_total - st->cases_done;
    char name[64], eta[32] = "";
    clr_escape(st->res->device.name, name, 25);
    if (measured && left)
        snprintf(eta, sizeof eta, ", ~%.0f s left", elapsed / (double)measured * (double)left);
    char line[256];
    snprintf(line, sizeof line, "[%s] %zu/%zu %.0f s%s  %s", name, st->cases_done, st->cases_total, elapsed, eta,
             what);
    fprintf(stderr, "\r\033[K%.99s", line);
    fflush(stderr);
}

/* progress at most four times a second, for long loops (generating inputs). */
static void progress_tick(run_state *st, const char *what)
{
    if (st->cfg->progress && clr_now() - st->last_progress >= 0.25)
        progress(st, what);
}

static int alloc_buffer(run_state *st, size_t bytes, cl_mem *out, clr_error *err)
{
    cl_int status;
    *out = clCreateBuffer(st->ctx.context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &status);
    return CLR_CL(err, status);
}

/* Writes count values to buf at element offset, converting to the shape's storage type. */
static int upload(run_state *st, cl_mem buf, size_t offset, const float *src, size_t count, clr_dtype dtype,
                  clr_error *err)
{
    if (dtype == CLR_FP32)
        return CLR_CL(err, clEnqueueWriteBuffer(st->ctx.queue, buf, CL_TRUE, offset * sizeof(float),
                                                count * sizeof(float), src, 0, NULL, NULL));
    uint16_t *words = clr_malloc(count * sizeof *words, "bf16 staging", err);
    if (!words)
        return err->code;
    for (size_t i = 0; i < count; ++i)
        words[i] = clr_bf16_bits(src[i]);
    int rc = CLR_CL(err, clEnqueueWriteBuffer(st->ctx.queue, buf, CL_TRUE, offset * sizeof *words,
                                              count * sizeof *words, words, 0, NULL, NULL));
    free(words);
    return rc;
}

/* Swaps rows a and b of the device input through a one-row temporary. */
static int swap_rows(run_state *st, size_t row_bytes, size_t a, size_t b, clr_error *err)
{
    if (a == b)
        return CLR_OK;
    if (st->row_tmp_bytes < row_bytes) {
        if (st->row_tmp)
            clReleaseMemObject(st->row_tmp);
        st->row_tmp = NULL;
        st->row_tmp_bytes = 0;
        if (alloc_buffer(st, row_bytes, &st->row_tmp, err))
            return err->code;
        st->row_tmp_bytes = row_bytes;
    }
    cl_command_queue q = st->ctx.queue;
    cl_mem in = st->ctx.input;
    if (CLR_CL(err, clEnqueueCopyBuffer(q, in, st->row_tmp, a * row_bytes, 0, row_bytes, 0, NULL, NULL)) ||
        CLR_CL(err, clEnqueueCopyBuffer(q, in, in, b * row_bytes, a * row_bytes, row_bytes, 0, NULL, NULL)) ||
        CLR_CL(err, clEnqueueCopyBuffer(q, st->row_tmp, in, 0, b * row_bytes, row_bytes, 0, NULL, NULL)) ||
        CLR_CL(err, clFinish(q)))
        return err->code;
    return CLR_OK;
}

/* Waits for `last` until the case's deadline, polling its status rather than blocking in
 * clWaitForEvents, which never returns when a kernel does not end. Sleeps (no spinning: on a
 * CPU device a spinning host thread would take a core from the kernel being timed) from 20 us,
 * doubling to 1 ms, so a short kernel is seen at once and a long one costs < 1 ms of wall time
 * per launch (device times come from profiling events, so the polling does not change them). */
static int wait_until_deadline(run_state *st, const char *what, cl_event last, clr_error *err)
{
    if (st->case_deadline <= 0)
        return CLR_OK;
    if (CLR_CL(err, clFlush(st->ctx.queue)))
        return err->code;
    long pause_ns = 20000;
    for (;;) {
        cl_int status = CL_QUEUED;
        if (CLR_CL(err, clGetEventInfo(last, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL)))
            return err->code;
        if (status == CL_COMPLETE || status < 0)
            return CLR_OK; /* an error status is reported by the wait that follows */
        double now = clr_now();
        if (now >= st->case_deadline)
            break;
        struct timespec pause = {0, pause_ns};
        nanosleep(&pause, NULL);
        pause_ns = pause_ns < 1000000 ? pause_ns * 2 : 1000000;
    }
    st->timed_out = 1;
    char shape[128];
    if (st->ctx.shape.batch == 0) /* the device's peak, before any shape */
        return clr_fail(err, CLR_EFAIL,
                        "%s: the %s kernel did not finish within --timeout %u s (it had run %.1f s); it is still "
                        "running on %s, so the run stops here, incomplete",
                        st->op->name, what, st->cfg->timeout, clr_now() - st->case_start, st->res->device.name);
    clr_shape_text(st->op, &st->ctx.shape, shape, sizeof shape);
    return clr_fail(err, CLR_EFAIL,
                    "%s %s at %s, %s %zu did not finish within --timeout %u s (the case had run %.1f s); "
                    "its kernel is still running on %s, so the run stops here, incomplete",
                    st->op->name, what, shape, st->op->batch_name, st->ctx.shape.batch, st->cfg->timeout,
                    clr_now() - st->case_start, st->res->device.name);
}

static int launch(run_state *st, const clr_strategy *s, const clr_plan *plan, double *seconds, clr_error *err)
{
    cl_event first = NULL, last = NULL;
    if (s->enqueue(&st->ctx, plan, &first, &last, err))
        return err->code;
    /* On a timeout the events are left unreleased: the queue that holds them is abandoned. */
    char what[96];
    snprintf(what, sizeof what, "strategy %s", s->name);
    if (wait_until_deadline(st, what, last, err))
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

/* |out - ref| / (scale u), u = 2^-24, for out and ref that differ (not both NaN, not equal):
 * inf where one is NaN or infinite, or the scale is 0. */
static double scaled_error(float out, float ref, double scale)
{
    if (!isfinite(out) || !isfinite(ref) || !(scale > 0))
        return INFINITY;
    return fabs((double)out - (double)ref) / (scale * 0x1p-24);
}

/* Compares one output row with its reference; updates the case's accuracy (in ulp and scaled)
 * and validity. Returns 1 where the row is within its bound only if a partial result overflowed:
 * the caller must then see the row replayed bit for bit, or judge it invalid. */
static int validate_row(clr_case *c, const float *out, const float *ref, const double *scale, size_t n)
{
    int row_bad = 0, row_deferred = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t ulp = clr_ulp_distance(out[i], ref[i]);
        c->accuracy_max_ulp = ulp > c->accuracy_max_ulp ? ulp : c->accuracy_max_ulp;
        if (ulp == 0)
            continue;
        double scaled = scaled_error(out[i], ref[i], scale[i]);
        c->accuracy_scaled_u = scaled > c->accuracy_scaled_u ? scaled : c->accuracy_scaled_u;
        if (!isfinite(ref[i]) || !isfinite(out[i])) {
            /* A special result must be matched exactly; an overflowed plain sum is allowed to
             * differ only if the bound admits it (then the error is beyond any finite bound). A
             * bound that rounds (err_abs > 0) says nothing once the magnitudes add up beyond
             * FLT_MAX: a partial sum may overflow to an infinity, two of opposite signs to NaN, in
             * the order the plan prescribes (FLT_MAX + FLT_MAX - FLT_MAX is +inf from the left,
             * FLT_MAX from the right). Such a row is left to the replay, which demands the bits:
             * without one (no replay for the strategy or the row, or a device that flushes
             * subnormals) it is invalid. */
            int may_overflow = isfinite(ref[i]) && c->plan.err_abs > 0 && scale[i] > FLT_MAX;
            if (may_overflow)
                row_deferred = 1;
            else if (isnan(ref[i]) || isnan(out[i]) || isfinite(c->plan.err_abs) || isfinite(ref[i]))
                row_bad = 1;
            continue;
        }
        /* Bounds of the form |error| <= gamma * magnitude hold without underflow; each of the
         * plan's roundings may also lose up to the smallest subnormal where results are tiny. */
        double allowed = c->plan.err_abs * scale[i] + c->plan.err_rel * fabs((double)ref[i]) +
                         (c->plan.depth + 2) * 0x1p-149;
        double error = fabs((double)out[i] - (double)ref[i]);
        double ratio = allowed > 0 ? error / allowed : INFINITY;
        if (ratio > c->worst_error_ratio)
            c->worst_error_ratio = ratio;
        if (!(error <= allowed)) /* a NaN bound admits nothing */
            row_bad = 1;
    }
    if (row_bad) {
        c->rows_out_of_bound++;
        c->valid = 0;
    }
    return row_deferred && !row_bad;
}

/* Validates one output row (out, of input row `row`): against the reference and the plan's
 * error bound, and, where the strategy can be replayed on the host, against the replay, bit for
 * bit (or within the replay's tolerance where part of the order is a race). A dropped or doubled
 * element can hide inside an error bound; it cannot hide from a replay. */
static int check_row(run_state *st, const clr_strategy *s, clr_case *c, const float *out, const float *row,
                     const float *ref, const double *scale, size_t n, int replay, clr_error *err)
{
    int deferred = 0;
    if (ref) /* rows past the op's validate_rows have no reference: replay only */
        deferred = validate_row(c, out, ref, scale, n);
    if (!replay || !s->replay || !st->replay_ok) {
        if (deferred) { /* an overflow only a replay could have vouched for */
            c->rows_out_of_bound++;
            c->valid = 0;
        }
        return CLR_OK;
    }
    float *want = clr_malloc(n * sizeof(float), "replayed outputs", err);
    double *tol = clr_calloc(n, sizeof(double), "replay tolerances", err);
    if (!want || !tol || s->replay(&st->ctx, &c->plan, row, st->shared, want, tol, err)) {
        free(want);
        free(tol);
        return err->code;
    }
    c->replayed = 1;
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; ++i) {
        int same = clr_float_bits(out[i]) == clr_float_bits(want[i]) || (isnan(out[i]) && isnan(want[i]));
        if (same)
            continue;
        if (tol[i] > 0 && isfinite(want[i]) && isfinite(out[i]) &&
            fabs((double)out[i] - (double)want[i]) <= tol[i])
            continue;
        bad = i;
    }
    if (bad < n) {
        if (c->replay_mismatches++ == 0)
            snprintf(c->first_mismatch, sizeof c->first_mismatch,
                     "output %zu: device %.9g (0x%08x), host replay %.9g (0x%08x)%s", bad, (double)out[bad],
                     (unsigned)clr_float_bits(out[bad]), (double)want[bad], (unsigned)clr_float_bits(want[bad]),
                     tol[bad] > 0 ? " beyond the race's bound" : "");
        c->valid = 0;
    }
    free(want);
    free(tol);
    return CLR_OK;
}

/* Makes row `row` of a shape as the op lays it out, rounded to the storage type. */
static void make_row(run_state *st, const clr_shape *s, uint64_t row, float *out)
{
    size_t n = st->op->input_row_floats(s);
    if (st->op->fill_row)
        st->op->fill_row(s, &st->cfg->input, row, out);
    else
        clr_input_row(&st->cfg->input, row, out, n);
    if (s->dtype == CLR_BF16)
        for (size_t i = 0; i < n; ++i)
            out[i] = clr_bf16_round(out[i]);
}

/* The op's alternative layout (attention: the same tokens in a larger cache), same batch:
 * every row's output must keep its bits. */
static int observe_layout(run_state *st, const clr_strategy *s, clr_case *c, const float *first, clr_error *err)
{
    clr_shape alt;
    const clr_operation *op = st->op;
    if (!op->alt_shape || !op->relayout_row || c->shape.batch > CLR_LAYOUT_MAX_BATCH ||
        !op->alt_shape(&c->shape, &alt))
        return CLR_OK;
    size_t batch = c->shape.batch, out_row = op->output_row_floats(&c->shape);
    size_t alt_row = op->input_row_floats(&alt);
    float *rows = clr_malloc(batch * alt_row * sizeof(float), "alternative layout rows", err);
    if (!rows)
        return err->code;
    cl_mem saved_input = st->ctx.input, alt_input = NULL;
    clr_shape saved_shape = st->ctx.shape;
    clr_plan plan = {0};
    int rc = alloc_buffer(st, batch * alt_row * clr_dtype_size(alt.dtype), &alt_input, err);
    size_t in_row = op->input_row_floats(&c->shape);
    for (size_t r = 0; r < batch && rc == CLR_OK; ++r)
        op->relayout_row(&c->shape, st->host_rows + r * in_row, &alt, rows + r * alt_row);
    if (rc == CLR_OK)
        rc = upload(st, alt_input, 0, rows, batch * alt_row, alt.dtype, err);
    if (rc == CLR_OK) {
        st->ctx.input = alt_input;
        st->ctx.shape = alt;
        rc = s->plan(&st->ctx, &plan, err);
        if (rc == CLR_OK)
            rc = launch(st, s, &plan, NULL, err);
        if (rc == CLR_OK)
            rc = read_output(st, out_row, err);
        st->ctx.input = saved_input;
        st->ctx.shape = saved_shape;
    }
    if (rc == CLR_OK) {
        c->has_layout = 1;
        c->layout_max_ulp = clr_max_ulp(st->out_buf, first, batch * out_row);
        c->layout_same = memcmp(st->out_buf, first, batch * out_row * sizeof(float)) == 0;
    }
    if (alt_input)
        clReleaseMemObject(alt_input);
    free(rows);
    return rc;
}

static size_t validated_rows(const run_state *st, size_t batch)
{
    size_t v = st->op->validate_rows;
    return v && v < batch ? v : batch;
}

/* Whether row j of a batch is replayed: all, or the op's sample (replay_rows). */
static int replayed_row(const run_state *st, size_t j, size_t batch)
{
    size_t r = st->op->replay_rows;
    /* All rows; or the first and last r/2, and in every block of 16 rows one, at a place that
     * moves from block to block, so every row tile and position of a kernel is visited. */
    return !r || batch <= r || j < r / 2 || j >= batch - (r - r / 2) || j % 16 == (j / 16) % 16;
}

/* Validates a whole batch of outputs (logical row j at position j): the op's validate_rows
 * against the reference and bound, and every row the replay samples against the replay. */
static int validate_output(run_state *st, const clr_strategy *s, clr_case *c, const float *out, clr_error *err)
{
    size_t batch = st->ctx.shape.batch, in_row = st->op->input_row_floats(&st->ctx.shape);
    size_t out_row = st->op->output_row_floats(&st->ctx.shape), checked = validated_rows(st, batch);
    for (size_t j = 0; j < batch; ++j) {
        int replay = replayed_row(st, j, batch);
        if (j >= checked && !(replay && s->replay && st->replay_ok))
            continue;
        if (check_row(st, s, c, out + j * out_row, st->host_rows + j * in_row, j < checked ? st->refs + j * out_row : NULL,
                      j < checked ? st->scales + j * out_row : NULL, out_row, replay, err))
            return err->code;
    }
    return CLR_OK;
}

static int run_case(run_state *st, size_t strategy_index, clr_case *c, clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    const clr_strategy *s = &st->op->strategies[strategy_index];
    const clr_shape *shape = &st->ctx.shape;
    size_t out_row = st->op->output_row_floats(shape), in_row = st->op->input_row_floats(shape);
    size_t row_bytes = in_row * clr_dtype_size(shape->dtype);
    size_t batch = shape->batch, out_floats = batch * out_row;

    c->strategy = strategy_index;
    c->shape = *shape;
    c->valid = 1;
    if (s->available && !s->available(&st->ctx, c->skip_reason, sizeof c->skip_reason)) {
        c->skipped = 1;
        c->valid = 0;
        return CLR_OK;
    }
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
    c->outputs = first;
    unsigned extra_outputs = 0;
    for (unsigned t = 0; t < cfg->trials; ++t) {
        if (launch(st, s, &c->plan, NULL, err) || read_output(st, out_row, err)) {
            free(hashes);
            return err->code;
        }
        hashes[t] = XXH64(st->out_buf, out_floats * sizeof(float), 0);
        if (t == 0) {
            memcpy(first, st->out_buf, out_floats * sizeof(float));
        } else {
            uint64_t d = clr_max_ulp(first, st->out_buf, out_floats);
            c->r2r_max_ulp = d > c->r2r_max_ulp ? d : c->r2r_max_ulp;
            clr_abs_diff(first, st->out_buf, out_floats, &c->r2r_mean_abs_diff, &c->r2r_max_abs_diff);
            /* An output not seen in an earlier trial is validated too: a wrong answer in a
             * later trial is a failure, not only run-to-run variation. */
            int seen = 0;
            for (unsigned q = 0; q < t && !seen; ++q)
                seen = hashes[q] == hashes[t];
            /* At most 3 more outputs per case: a race can give a new one every trial. */
            if (!seen && ++extra_outputs <= 3 && validate_output(st, s, c, st->out_buf, err)) {
                free(hashes);
                return err->code;
            }
        }
    }
    c->r2r_distinct = clr_count_distinct_u64(hashes, cfg->trials);
    if (cfg->trials > 1)
        c->r2r_mean_abs_diff /= (double)(cfg->trials - 1) * (double)out_floats;
    c->fingerprint = XXH64(first, out_floats * sizeof(float), 0);
    free(hashes);

    if (validate_output(st, s, c, first, err))
        return err->code;

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
            if (swap_rows(st, row_bytes, 0, p, err) || launch(st, s, &c->plan, NULL, err) ||
                read_output(st, out_row, err) || swap_rows(st, row_bytes, 0, p, err))
                return err->code;
            memcpy(o->probe, st->out_buf + p * out_row, out_row * sizeof(float));
            if (check_row(st, s, c, o->probe, st->host_rows, st->refs, st->scales, out_row, 1, err))
                return err->code;
        }
        o->hash = XXH64(o->probe, out_row * sizeof(float), 0);
    }

    /* Order: the probe row's elements permuted (same exact result), at position 0. */
    if (st->permuted) {
        uint64_t order_hashes[CLR_ORDERS + 1];
        order_hashes[0] = c->positions[0].hash;
        for (size_t k = 0; k < CLR_ORDERS; ++k) {
            if (upload(st, st->ctx.input, 0, st->permuted + k * in_row, in_row, shape->dtype, err) ||
                launch(st, s, &c->plan, NULL, err) || read_output(st, out_row, err))
                return err->code;
            order_hashes[k + 1] = XXH64(st->out_buf, out_row * sizeof(float), 0);
            uint64_t d = clr_max_ulp(st->out_buf, first, out_row);
            c->order_max_ulp = d > c->order_max_ulp ? d : c->order_max_ulp;
            if (check_row(st, s, c, st->out_buf, st->permuted + k * in_row, st->refs, st->scales, out_row, 1, err))
                return err->code;
        }
        c->norders = CLR_ORDERS;
        c->order_distinct = clr_count_distinct_u64(order_hashes, CLR_ORDERS + 1);
        if (upload(st, st->ctx.input, 0, st->host_rows, in_row, shape->dtype, err))
            return err->code;
    }

    if (observe_layout(st, s, c, first, err))
        return err->code;

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
    c->rep_times = times; /* kept: the results record every repetition */
    double bytes = st->op->bytes(shape), flops = st->op->flops(shape);
    c->gbps = c->time.median > 0 ? bytes / c->time.median * 1e-9 : 0;
    c->gflops = c->time.median > 0 ? flops / c->time.median * 1e-9 : 0;
    /* Against the reference strategy, which run_batch runs first: its outputs are kept. */
    if (strategy_index == 0) {
        free(st->ref_outputs);
        st->ref_outputs = clr_malloc(out_floats * sizeof(float), "reference outputs", err);
        if (!st->ref_outputs)
            return err->code;
        memcpy(st->ref_outputs, c->outputs, out_floats * sizeof(float));
    }
    if (st->ref_outputs) {
        c->vs_ref = 1;
        c->vs_ref_identical = !memcmp(st->ref_outputs, c->outputs, out_floats * sizeof(float));
        clr_abs_diff(c->outputs, st->ref_outputs, out_floats, &c->vs_ref_mean_abs_diff, &c->vs_ref_max_abs_diff);
        c->vs_ref_mean_abs_diff /= (double)out_floats;
    }
    if (!cfg->save_outputs) {
        free(c->outputs);
        c->outputs = NULL;
    }
    return CLR_OK;
}

/* Times `kernel` over `global` work-items in groups of `local` for the warm-up and
 * the timed repetitions: their statistics, and the fastest repetition. */
static int time_kernel(run_state *st, cl_kernel k, size_t global, size_t local, const char *what, clr_stats *stats,
                       clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    double *times = clr_calloc(cfg->reps, sizeof *times, "timings", err);
    if (!times)
        return err->code;
    for (unsigned r = 0; r < cfg->warmup + cfg->reps; ++r) {
        cl_event ev;
        double sec;
        if (clr_enqueue_1d(&st->ctx, k, global, local, &ev, err) ||
            wait_until_deadline(st, what, ev, err) || clr_event_span_release(ev, ev, &sec, err)) {
            free(times);
            return err->code;
        }
        if (r >= cfg->warmup)
            times[r - cfg->warmup] = sec;
    }
    clr_stats_compute(times, cfg->reps, stats);
    free(times);
    return CLR_OK;
}

/* Fills a buffer with 1.0f: memory never written may be backed by one shared zero page on a CPU
 * device, whose reads hit the cache and would make a roof no operation can reach. By a kernel
 * (fill_floats in cl/copy.cl), not clEnqueueFillBuffer: one fill of 2^31 floats or more broke
 * NVIDIA's queue (driver 580: CL_INVALID_COMMAND_QUEUE at the llm suite's attention, L = 8192,
 * B = 32; results/logs/remote-h200-attention-8k-b32.log). */
static int fill_ones(run_state *st, cl_mem buf, size_t bytes, clr_error *err)
{
    cl_kernel k;
    cl_event done = NULL;
    cl_ulong n = (cl_ulong)(bytes / sizeof(float));
    cl_float one = 1.0f;
    const clr_tuning *t = st->ctx.tuning;
    size_t wg = t->wg_size, global = (size_t)st->ctx.device->compute_units * t->groups_per_cu * wg;
    if (clr_program_kernel(&st->roof_program, "fill_floats", &k, err) ||
        clr_set_args(k, err, 3, sizeof(cl_mem), &buf, sizeof n, &n, sizeof one, &one) ||
        CLR_CL(err, clEnqueueNDRangeKernel(st->ctx.queue, k, 1, NULL, &global, &wg, 0, NULL, &done)))
        return err->code;
    /* under the caller's --timeout, as every kernel: one that never ends stops the run */
    int rc = wait_until_deadline(st, "buffer fill", done, err);
    clReleaseEvent(done);
    return rc ? rc : CLR_CL(err, clFinish(st->ctx.queue));
}

/* The read kernel for a launch of `items` work-items with its arguments set: read_floats for one,
 * read_floats_wg (work-groups of the tuning's size, declared) for more. */
static int roof_kernel(run_state *st, size_t items, cl_mem source, cl_mem sink, cl_ulong n, cl_kernel *k,
                       clr_error *err)
{
    return clr_program_kernel(&st->roof_program, items == 1 ? "read_floats" : "read_floats_wg", k, err) ||
                   clr_set_args(*k, err, 3, sizeof(cl_mem), &source, sizeof(cl_mem), &sink, sizeof n, &n)
               ? err->code
               : CLR_OK;
}

/* Times the read kernel k at `global` work-items in groups of `local` (its timing in *stats) and
 * raises cr to that launch where it is faster. */
static int roof_launch(run_state *st, cl_kernel k, size_t global, size_t local, clr_roof_result *cr,
                       clr_stats *stats, clr_error *err)
{
    if (time_kernel(st, k, global, local, "bandwidth roof", stats, err))
        return err->code;
    double gbps = stats->min > 0 ? cr->bytes / stats->min * 1e-9 : 0;
    if (gbps > cr->gbps) {
        cr->gbps = gbps;
        cr->items = global;
        cr->time = *stats;
    }
    return CLR_OK;
}

/* The roof of one shape and batch (clr_roof_result), raised where a launch beats what cr holds
 * (zeroed by the caller the first time): read_floats over `bytes` by as many
 * work-groups as the split strategies aim for, then one per compute unit, then halving down to
 * 1 group and at last one work-item; then, where `most` groups were the fastest, doubling above
 * it while that is faster; the fastest repetition of all. One work-item or group is the
 * least launch a small operation can have (the tree strategies on CPUs run a small row on one
 * work-item), the most groups the most parallel, and the best count between depends on the
 * device and the size. Where a launch's fastest repetition takes more than ROOF_GIVE_UP times
 * the fastest so far, the bytes are too many for so few work-items and fewer can only be slower,
 * so the descent stops there (one work-item reading a GiB on a GPU would take seconds a
 * repetition, and the roof no faster). */
#define ROOF_GIVE_UP 4.0
static int measure_roof(run_state *st, cl_mem source, cl_mem sink, size_t bytes, clr_roof_result *cr,
                        clr_error *err)
{
    const clr_tuning *t = st->ctx.tuning;
    size_t cus = st->ctx.device->compute_units, wg = t->wg_size, most = cus * t->groups_per_cu * 4;
    cl_kernel one, groups; /* one work-item; work-groups of the tuning's size */
    cl_ulong n = (cl_ulong)(bytes / sizeof(float));
    if (fill_ones(st, source, bytes, err) || roof_kernel(st, 1, source, sink, n, &one, err) ||
        roof_kernel(st, 2, source, sink, n, &groups, err))
        return err->code;
    cr->bytes = (double)n * sizeof(float);
    /* The ladder: 0 (one work-item), 1, 2, 4, ... below `most`, the compute units, `most`. */
    size_t ladder[2 * CHAR_BIT * sizeof(size_t) + 4], steps = 0;
    for (size_t g = 0, next; steps < sizeof ladder / sizeof *ladder && g <= most && g <= SIZE_MAX / wg; g = next) {
        ladder[steps++] = g;
        next = g ? 2 * g : 1;
        if (g < cus && next > cus)
            next = cus;
        else if (g < most && next > most)
            next = most;
        if (g == most)
            break;
    }
    while (steps-- > 0) {
        size_t g = ladder[steps], local = g ? wg : 1, global = g ? g * wg : 1;
        clr_stats stats;
        if (roof_launch(st, g ? groups : one, global, local, cr, &stats, err))
            return err->code;
        if (cr->time.min > 0 && stats.min > ROOF_GIVE_UP * cr->time.min) /* never the launch kept */
            break;
    }
    /* Above `most`: the strategies launch more groups than that at large sizes (fixedsplit a group
     * per chunk: 65536 at 2^26 x 16 on a GPU), and one vector a work-item at the least. Twice as
     * many groups each time, while that is faster. */
    for (size_t g = 2 * most; g <= SIZE_MAX / wg && g * wg <= n / t->vec && cr->items == g / 2 * wg; g *= 2) {
        clr_stats stats;
        if (roof_launch(st, groups, g * wg, wg, cr, &stats, err))
            return err->code;
    }
    return CLR_OK;
}

/* The highest GB/s of the valid cases from `first` on (0 if none). */
#define ROOF_RETRIES 6
static double fastest_gbps(const clr_device_result *res, size_t first)
{
    double best = 0;
    for (size_t i = first; i < res->ncases; ++i)
        if (res->cases[i].valid && !res->cases[i].skipped && res->cases[i].gbps > best)
            best = res->cases[i].gbps;
    return best;
}

/* The launch measure_roof found fastest, timed again; the faster of the two timings is kept. */
static int remeasure_roof(run_state *st, cl_mem source, cl_mem sink, clr_roof_result *cr, clr_error *err)
{
    if (cr->items == 0) /* no launch gave a time above 0 (a driver whose events do not advance) */
        return CLR_OK;
    cl_kernel k;
    cl_ulong n = (cl_ulong)(cr->bytes / sizeof(float));
    size_t local = cr->items == 1 ? 1 : st->ctx.tuning->wg_size;
    clr_stats stats;
    return roof_kernel(st, cr->items, source, sink, n, &k, err) ||
                   roof_launch(st, k, cr->items, local, cr, &stats, err)
               ? err->code
               : CLR_OK;
}

/* The device's peak (clr_peak_result): read_floats over CLR_PEAK_BYTES, and copy_floats moving
 * as many (half read, half written), at as many work-groups as the split strategies aim for;
 * at most an eighth of the device's memory, and no more than one buffer may hold. */
static int measure_peak(run_state *st, clr_peak_result *peak, clr_error *err)
{
    const clr_device *dev = st->ctx.device;
    const clr_tuning *t = st->ctx.tuning;
    size_t bytes = CLR_PEAK_BYTES;
    if ((double)bytes > (double)dev->global_mem / 8)
        bytes = (size_t)(dev->global_mem / 8);
    if ((double)bytes > (double)dev->max_alloc)
        bytes = (size_t)dev->max_alloc;
    bytes &= ~(size_t)127;
    size_t global = (size_t)dev->compute_units * t->groups_per_cu * 4 * t->wg_size;
    cl_mem a = NULL, b = NULL;
    cl_kernel read, copy;
    cl_ulong n_read = bytes / sizeof(float), n_copy = n_read / 2;
    clr_stats rs, cs;
    int rc = alloc_buffer(st, bytes, &a, err);
    if (rc == CLR_OK)
        rc = alloc_buffer(st, bytes / 2, &b, err);
    memset(&st->ctx.shape, 0, sizeof st->ctx.shape); /* no shape yet: a time-out says so */
    st->case_start = clr_now();
    st->case_deadline = st->cfg->timeout ? st->case_start + st->cfg->timeout : 0;
    if (rc == CLR_OK && (fill_ones(st, a, bytes, err) || fill_ones(st, b, bytes / 2, err) ||
                         clr_program_kernel(&st->roof_program, "read_floats_wg", &read, err) ||
                         clr_program_kernel(&st->roof_program, "copy_floats", &copy, err) ||
                         clr_set_args(read, err, 3, sizeof(cl_mem), &a, sizeof(cl_mem), &b, sizeof n_read, &n_read) ||
                         clr_set_args(copy, err, 3, sizeof(cl_mem), &a, sizeof(cl_mem), &b, sizeof n_copy, &n_copy)))
        rc = err->code;
    if (rc == CLR_OK) {
        rc = time_kernel(st, read, global, t->wg_size, "peak bandwidth", &rs, err);
        if (rc == CLR_OK)
            rc = time_kernel(st, copy, global, t->wg_size, "peak bandwidth", &cs, err);
    }
    st->case_deadline = 0;
    if (a)
        clReleaseMemObject(a);
    if (b)
        clReleaseMemObject(b);
    if (rc)
        return rc;
    peak->bytes = (double)n_read * sizeof(float);
    peak->read_gbps = rs.min > 0 ? peak->bytes / rs.min * 1e-9 : 0;
    peak->copy_gbps = cs.min > 0 ? 2.0 * (double)n_copy * sizeof(float) / cs.min * 1e-9 : 0;
    return CLR_OK;
}

/* The shape's text for progress lines. */
static void shape_of(run_state *st, size_t shape_index, char *buf, size_t size)
{
    clr_shape_text(st->op, &st->cfg->shapes[shape_index], buf, size);
}

static int setup_device(run_state *st, const clr_device *dev, clr_error *err)
{
    if (clr_device_open(dev, &st->ctx.context, &st->ctx.queue, 1, err))
        return err->code;
    st->ctx.device = &st->res->device;
    st->ctx.tuning = &st->res->tuning;
    /* Host replays compute with subnormals; a device that flushes them can differ there. */
    cl_device_fp_config fp = 0;
    if (CLR_CL(err, clGetDeviceInfo(dev->id, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL)))
        return err->code;
    st->replay_ok = (fp & CL_FP_DENORM) != 0;
    st->res->replay = st->replay_ok;
    st->ctx.program = &st->program;
    char extra[256];
    int bf16 = st->cfg->nshapes && st->cfg->shapes[0].dtype == CLR_BF16;
    int exact_div = st->op->exact_div_sqrt && (dev->single_fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT);
    const char *defines = st->op->defines ? st->op->defines : "";
    snprintf(extra, sizeof extra, "%s%s%s%s%s", defines, defines[0] && bf16 ? " " : "", bf16 ? "-DIN_BF16" : "",
             (defines[0] || bf16) && exact_div ? " " : "", exact_div ? "-cl-fp32-correctly-rounded-divide-sqrt" : "");
    if (clr_program_build(st->ctx.context, dev, st->cfg->kernel_dir, st->op->source, &st->res->tuning,
                          extra[0] ? extra : NULL, &st->program, err) ||
        clr_program_build(st->ctx.context, dev, st->cfg->kernel_dir, "copy.cl", &st->res->tuning, NULL,
                          &st->roof_program, err))
        return err->code;
    st->res->build_seconds = st->program.build_seconds;
    st->res->roof_build_seconds = st->roof_program.build_seconds;
    snprintf(st->res->build_options, sizeof st->res->build_options, "%s", st->program.options);
    return CLR_OK;
}

static void free_host(run_state *st)
{
    free(st->host_rows);
    free(st->shared);
    free(st->refs);
    free(st->scales);
    free(st->out_buf);
    free(st->permuted);
    free(st->ref_outputs);
    st->ref_outputs = NULL;
    st->host_rows = st->shared = st->refs = st->out_buf = st->permuted = NULL;
    st->scales = NULL;
}

static void teardown(run_state *st)
{
    clr_program_release(&st->program);
    clr_program_release(&st->roof_program);
    cl_mem bufs[] = {st->ctx.input, st->ctx.output, st->ctx.shared, st->ctx.scratch, st->row_tmp};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; ++i)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    if (st->ctx.queue)
        clReleaseCommandQueue(st->ctx.queue);
    if (st->ctx.context)
        clReleaseContext(st->ctx.context);
    free_host(st);
}

/* Host rows of logical ids [0, bmax), shared weights (uploaded), references, permutations. */
static int prepare_shape(run_state *st, size_t shape_index, size_t bmax, clr_error *err)
{
    clr_shape s = shape_at(st->cfg, shape_index, bmax);
    const clr_operation *op = st->op;
    size_t in_row = op->input_row_floats(&s), out_row = op->output_row_floats(&s);
    size_t nshared = shared_floats(op, &s);
    free_host(st);
    st->host_rows = clr_malloc(bmax * in_row * sizeof(float), "host input rows", err);
    st->refs = clr_malloc(bmax * out_row * sizeof(float), "references", err);
    st->scales = clr_malloc(bmax * out_row * sizeof(double), "references", err);
    st->out_buf = clr_malloc(bmax * out_row * sizeof(float), "outputs", err);
    if (!st->host_rows || !st->refs || !st->scales || !st->out_buf)
        return err->code;
    if (nshared) {
        st->shared = clr_malloc(nshared * sizeof(float), "shared weights", err);
        if (!st->shared)
            return err->code;
        op->fill_shared(&s, st->cfg->input.seed, st->shared);
        if (s.dtype == CLR_BF16)
            for (size_t i = 0; i < nshared; ++i)
                st->shared[i] = clr_bf16_round(st->shared[i]);
        if (st->ctx.shared)
            clReleaseMemObject(st->ctx.shared);
        st->ctx.shared = NULL;
        if (alloc_buffer(st, nshared * clr_dtype_size(s.dtype), &st->ctx.shared, err) ||
            upload(st, st->ctx.shared, 0, st->shared, nshared, s.dtype, err))
            return err->code;
    }
    for (size_t r = 0; r < bmax; ++r) {
        float *row = st->host_rows + r * in_row;
        if (st->cfg->progress) {
            char what[96];
            snprintf(what, sizeof what, "generating row %zu of %zu", r + 1, bmax);
            progress_tick(st, what);
        }
        make_row(st, &s, r, row);
        if (r < validated_rows(st, bmax))
            op->reference(&s, row, st->shared, st->refs + r * out_row, st->scales + r * out_row);
    }
    if (op->permute_row) {
        st->permuted = clr_malloc(CLR_ORDERS * in_row * sizeof(float), "permuted probe rows", err);
        if (!st->permuted)
            return err->code;
        for (size_t k = 0; k < CLR_ORDERS; ++k) {
            memcpy(st->permuted + k * in_row, st->host_rows, in_row * sizeof(float));
            op->permute_row(&s, st->permuted + k * in_row, 1000 + k);
        }
    }
    return CLR_OK;
}

/* Whether the journal holds every case of this shape and batch, and its roof measurement:
 * then nothing of it runs on the device. */
static int batch_resumed(const run_state *st, size_t shape_index, size_t batch)
{
    if (!st->journal || !clr_journal_has_roof(st->journal, shape_index, batch))
        return 0;
    for (size_t si = 0; si < st->cfg->nstrategies; ++si)
        if (!clr_journal_has_case(st->journal, st->cfg->strategy_index[si], shape_index, batch))
            return 0;
    return 1;
}

static int shape_resumed(const run_state *st, size_t shape_index)
{
    for (size_t bi = 0; bi < st->cfg->nbatches; ++bi)
        if (!batch_resumed(st, shape_index, st->cfg->batches[bi]))
            return 0;
    return 1;
}

static size_t run_order(const clr_run_config *cfg, size_t k);

/* Every strategy's case at this shape and batch: taken from the journal, or measured and
 * journaled. */
static int run_strategies(run_state *st, size_t shape_index, size_t batch, const char *shape_text, clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    clr_device_result *res = st->res;
    char what[400];
    free(st->ref_outputs);
    st->ref_outputs = NULL;
    for (size_t k = 0; k < cfg->nstrategies; ++k) {
        size_t s = cfg->strategy_index[run_order(cfg, k)];
        clr_case *c = &res->cases[res->ncases];
        memset(c, 0, sizeof *c);
        c->shape_index = shape_index;
        res->ncases++; /* counted now, so its buffers are freed even if it fails midway */
        if (clr_journal_take_case(st->journal, s, shape_index, batch, c)) {
            st->cases_done++;
            res->resumed_cases++;
            if (s == 0 && c->outputs) { /* a resumed reference with its outputs (--save-outputs) */
                size_t n = batch * st->op->output_row_floats(&st->ctx.shape);
                st->ref_outputs = clr_malloc(n * sizeof(float), "reference outputs", err);
                if (!st->ref_outputs)
                    return err->code;
                memcpy(st->ref_outputs, c->outputs, n * sizeof(float));
            }
            continue;
        }
        snprintf(what, sizeof what, "%s %s batch %zu", st->op->strategies[s].name, shape_text, batch);
        progress(st, what);
        st->case_start = clr_now();
        st->case_deadline = cfg->timeout ? st->case_start + cfg->timeout : 0;
        int rc = run_case(st, s, c, err);
        st->case_deadline = 0;
        if (rc)
            return rc;
        st->cases_done++;
        if (st->journal && clr_journal_add_case(st->journal, c, err))
            return err->code;
    }
    return CLR_OK;
}

/* The k-th strategy a batch runs, as an index into cfg->strategy_index: the reference strategy
 * (the op's first) first where it is selected, so every other case can be set against its
 * outputs as soon as it is measured (clr_case.vs_ref); then the others in the given order. */
static size_t run_order(const clr_run_config *cfg, size_t k)
{
    size_t ref = 0;
    while (ref < cfg->nstrategies && cfg->strategy_index[ref] != 0)
        ++ref;
    if (ref == cfg->nstrategies || k > ref)
        return k;
    return k == 0 ? ref : k - 1;
}

static int run_batch(run_state *st, size_t shape_index, size_t batch, clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    clr_device_result *res = st->res;
    st->ctx.shape = shape_at(cfg, shape_index, batch);
    size_t in_row = st->op->input_row_floats(&st->ctx.shape);
    size_t out_row = st->op->output_row_floats(&st->ctx.shape);
    size_t in_bytes = batch * in_row * clr_dtype_size(st->ctx.shape.dtype);
    cl_mem roof_source = NULL, roof_sink = NULL;
    /* The roof reads as many bytes as the operation moves (clr_roof_result). */
    size_t roof_bytes = ((size_t)st->op->bytes(&st->ctx.shape) + 3) / 4 * 4;
    int resumed = batch_resumed(st, shape_index, batch);
    if (!resumed) {
        if (st->ctx.input)
            clReleaseMemObject(st->ctx.input);
        if (st->ctx.output)
            clReleaseMemObject(st->ctx.output);
        st->ctx.input = st->ctx.output = NULL;
        if (alloc_buffer(st, in_bytes, &st->ctx.input, err) ||
            alloc_buffer(st, batch * out_row * sizeof(float), &st->ctx.output, err) ||
            upload(st, st->ctx.input, 0, st->host_rows, batch * in_row, st->ctx.shape.dtype, err))
            return err->code;
    }

    char what[400], shape_text[128];
    shape_of(st, shape_index, shape_text, sizeof shape_text);
    clr_roof_result *cr = &res->roofs[res->nroofs];
    memset(cr, 0, sizeof *cr);
    cr->shape_index = shape_index;
    cr->batch = batch;
    int rc = CLR_OK, measure = !clr_journal_take_roof(st->journal, shape_index, batch, cr);
    if (measure) {
        snprintf(what, sizeof what, "roof %s batch %zu", shape_text, batch);
        progress(st, what);
        rc = alloc_buffer(st, roof_bytes, &roof_source, err);
        if (rc == CLR_OK)
            rc = alloc_buffer(st, 16, &roof_sink, err);
        if (rc == CLR_OK) { /* the roof is a case of its own for --timeout */
            st->case_start = clr_now();
            st->case_deadline = cfg->timeout ? st->case_start + cfg->timeout : 0;
            rc = measure_roof(st, roof_source, roof_sink, roof_bytes, cr, err);
            st->case_deadline = 0;
        }
    }
    res->nroofs++;

    size_t first_case = res->ncases;
    if (rc == CLR_OK)
        rc = run_strategies(st, shape_index, batch, shape_text, err);
    /* The roof's best launch again after the cases, the faster kept: on a shared machine a roof
     * timed while something else ran reads low. Journaled now, so a resumed batch's roof is
     * the one its cases were set against. */
    if (rc == CLR_OK && measure) {
        snprintf(what, sizeof what, "roof %s batch %zu", shape_text, batch);
        progress(st, what);
        st->case_start = clr_now();
        st->case_deadline = cfg->timeout ? st->case_start + cfg->timeout : 0;
        rc = remeasure_roof(st, roof_source, roof_sink, cr, err);
        /* A case faster than the roof means the roof was timed while the machine was busy (the
         * case's median against the roof's fastest repetition): the ladder again, then its best
         * launch, up to ROOF_RETRIES times, each keeping the faster. What still beats it is
         * counted in the summary (clr_print_summary), not hidden. */
        for (int retry = 0; rc == CLR_OK && retry < ROOF_RETRIES && fastest_gbps(res, first_case) > cr->gbps;
             ++retry)
            rc = retry == 0 ? measure_roof(st, roof_source, roof_sink, roof_bytes, cr, err)
                            : remeasure_roof(st, roof_source, roof_sink, cr, err);
        st->case_deadline = 0;
        if (rc == CLR_OK && st->journal)
            rc = clr_journal_add_roof(st->journal, cr, err);
    }
    if (roof_source)
        clReleaseMemObject(roof_source);
    if (roof_sink)
        clReleaseMemObject(roof_sink);
    if (rc)
        return rc;
    /* Overhead against the fastest valid strategy of this shape (resumed cases included); every
     * case against the roof. */
    double fastest = INFINITY;
    for (size_t i = first_case; i < res->ncases; ++i)
        if (res->cases[i].valid && res->cases[i].time.median < fastest)
            fastest = res->cases[i].time.median;
    for (size_t i = first_case; i < res->ncases; ++i) {
        clr_case *c = &res->cases[i];
        c->overhead = isfinite(fastest) && fastest > 0 ? c->time.median / fastest : 0;
        c->roof_gbps = cr->gbps;
        c->roof_fraction = cr->gbps > 0 ? c->gbps / cr->gbps : 0;
    }
    return CLR_OK;
}

/* Every strategy's case of a batch that does not fit the device: skipped, saying why. */
static void skip_batch(run_state *st, size_t shape_index, size_t batch, const char *why)
{
    clr_device_result *res = st->res;
    for (size_t k = 0; k < st->cfg->nstrategies; ++k) {
        clr_case *c = &res->cases[res->ncases++];
        memset(c, 0, sizeof *c);
        c->strategy = st->cfg->strategy_index[run_order(st->cfg, k)];
        c->shape_index = shape_index;
        c->shape = shape_at(st->cfg, shape_index, batch);
        c->skipped = 1;
        snprintf(c->skip_reason, sizeof c->skip_reason, "%s", why);
        st->cases_done++;
    }
}

/* The probe (logical row 0 at position 0) of strategy s at batch b of this shape, among the
 * cases from `first`: its hash, or 0 when the case is absent, skipped, or gave more than one
 * output over its trials (its bits then move without B: no guide for the search); *found says
 * which. */
static uint64_t probe_hash(const clr_device_result *res, size_t first, size_t s, size_t b, int *found)
{
    for (size_t i = first; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        if (c->strategy == s && c->shape.batch == b && !c->skipped && c->npositions && c->r2r_distinct <= 1) {
            *found = 1;
            return c->positions[0].hash;
        }
    }
    *found = 0;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Orders cases by batch, keeping the order of cases within a batch (a stable sort). */
static int cmp_case_batch(const void *a, const void *b)
{
    const clr_case *x = a, *y = b;
    if (x->shape.batch != y->shape.batch)
        return x->shape.batch < y->shape.batch ? -1 : 1;
    return x->search_order < y->search_order ? -1 : x->search_order > y->search_order;
}

/* --find-switch: runs the smallest and the largest batch size of the list that fit and every
 * power of two between them that the list holds, then, for every two neighbouring sizes run so
 * far between which some strategy's probe bits differ and sizes of the list remain, the middle
 * one of those, until every change lies between two neighbouring sizes of the list. Where the
 * bits at two sizes agree, the sizes between are taken to agree too (a change and its undoing
 * between them go unseen: a full sweep finds those; the powers of two catch the ones within an
 * octave's reach, as on the Xeon, whose rmsnorm `split` gave the same bits at B = 1 and 512 and
 * two patterns alternating between, changing at 3-8, 9-32 and 33-128). The cases end up in
 * batch order; the smallest size that does not fit, if any, is recorded as skipped. */
static int search_batches(run_state *st, size_t shape_index, size_t limit, clr_error *err)
{
    const clr_run_config *cfg = st->cfg;
    clr_device_result *res = st->res;
    size_t first = res->ncases, n = cfg->nbatches, fit = 0;
    size_t *sizes = clr_malloc(n * sizeof *sizes, "batch sizes", err);
    unsigned char *ran = clr_calloc(n, 1, "batch sizes", err);
    size_t *stack = clr_malloc(2 * n * sizeof *stack, "batch sizes", err);
    int rc = sizes && ran && stack ? CLR_OK : err->code;
    if (rc == CLR_OK) {
        memcpy(sizes, cfg->batches, n * sizeof *sizes);
        qsort(sizes, n, sizeof *sizes, cmp_size);
        while (fit < n && sizes[fit] <= limit)
            ++fit;
    }
    /* The first intervals: between the sizes [0, fit) that are the ends or powers of two. They
     * are disjoint, as every interval pushed later is: at most fit - 1 on the stack at once. */
    size_t top = 0;
    for (size_t k = 0, last = 0; rc == CLR_OK && k < fit; ++k) {
        int anchor = k == fit - 1 || (k > 0 && (sizes[k] & (sizes[k] - 1)) == 0);
        if (anchor && k > last) {
            stack[top++] = last;
            stack[top++] = k;
            last = k;
        } else if (anchor && fit == 1) {
            stack[top++] = 0;
            stack[top++] = 0;
        }
    }
    while (rc == CLR_OK && top > 0) {
        size_t hi = stack[--top], lo = stack[--top];
        for (size_t e = 0; e < 2 && rc == CLR_OK; ++e) {
            size_t k = e ? hi : lo;
            if (!ran[k]) {
                size_t before = res->ncases;
                rc = run_batch(st, shape_index, sizes[k], err);
                for (size_t i = before; i < res->ncases; ++i)
                    res->cases[i].search_order = i;
                ran[k] = 1;
            }
        }
        if (rc || hi - lo < 2)
            continue;
        int differ = 0;
        for (size_t si = 0; si < cfg->nstrategies && !differ; ++si) {
            int fa, fb;
            uint64_t a = probe_hash(res, first, cfg->strategy_index[si], sizes[lo], &fa);
            uint64_t b = probe_hash(res, first, cfg->strategy_index[si], sizes[hi], &fb);
            differ = fa && fb && a != b;
        }
        if (differ) {
            size_t mid = lo + (hi - lo) / 2;
            stack[top++] = mid;
            stack[top++] = hi;
            stack[top++] = lo;
            stack[top++] = mid;
        }
    }
    if (rc == CLR_OK && fit < n)
        skip_batch(st, shape_index, sizes[fit], st->fit_why ? st->fit_why[shape_index] : "");
    if (rc == CLR_OK) /* batch order; the sizes not run are in the results' config, not its cases */
        qsort(res->cases + first, res->ncases - first, sizeof *res->cases, cmp_case_batch);
    free(sizes);
    free(ran);
    free(stack);
    return rc;
}

/* A run with its context made and its programs built, not yet measured. The state and the
 * result live here, at a stable address, because the state points into the result. */
struct clr_prepared_run {
    run_state st;
    clr_device_result res;
    double prepare_seconds;
    uint64_t sources_hash; /* of the kernel sources built while preparing */
};

/* Releases a prepared run's context and programs until it is measured: runs prepared together
 * (every op on every device) then hold no device memory while they wait (a context costs about
 * 550 MiB on NVIDIA's driver); clr_run_prepared builds again, from the drivers' caches. */
static void park(run_state *st)
{
    teardown(st);
    memset(&st->ctx, 0, sizeof st->ctx);
    st->row_tmp = NULL;
    st->row_tmp_bytes = 0;
}

int clr_run_prepare(const clr_run_config *cfg, const clr_device *dev, clr_prepared_run **out, clr_error *err)
{
    double start = clr_now();
    *out = NULL;
    clr_prepared_run *p = clr_calloc(1, sizeof *p, "run state", err);
    if (!p)
        return err->code;
    p->res.device = *dev;
    p->res.tuning = clr_run_tuning(cfg, dev); /* checked by clr_run_check, before */
    p->st.cfg = cfg;
    p->st.op = cfg->op;
    p->st.res = &p->res;
    if (setup_device(&p->st, dev, err)) {
        teardown(&p->st);
        free(p);
        return err->code;
    }
    uint64_t both[2] = {p->st.program.source_hash, p->st.roof_program.source_hash};
    p->sources_hash = XXH64(both, sizeof both, 0);
    park(&p->st);
    p->prepare_seconds = clr_now() - start;
    *out = p;
    return CLR_OK;
}

const clr_device_result *clr_prepared_setup(const clr_prepared_run *p)
{
    return &p->res;
}

uint64_t clr_prepared_sources_hash(const clr_prepared_run *p)
{
    return p->sources_hash;
}

void clr_run_prepared_free(clr_prepared_run *p)
{
    if (!p)
        return;
    teardown(&p->st);
    free(p);
}

int clr_run_prepared(clr_prepared_run *p, struct clr_journal *journal, clr_device_result *res, clr_error *err)
{
    double start = clr_now();
    run_state *st = &p->st;
    const clr_run_config *cfg = st->cfg;
    clr_device_result *r = &p->res;
    clr_utc_timestamp(r->started_utc);
    size_t ncases = cfg->nshapes * cfg->nbatches * cfg->nstrategies;
    r->cases = clr_calloc(ncases, sizeof *r->cases, "results", err);
    r->variance = clr_calloc(cfg->nshapes * cfg->nstrategies, sizeof *r->variance, "results", err);
    r->claims = clr_calloc(cfg->nstrategies * CLR_NCLAIMS, sizeof *r->claims, "results", err);
    r->roofs = clr_calloc(cfg->nshapes * cfg->nbatches, sizeof *r->roofs, "results", err);
    r->switches = clr_calloc(cfg->nshapes * cfg->nstrategies, sizeof *r->switches, "results", err);
    int rc = !r->cases || !r->variance || !r->claims || !r->roofs || !r->switches ? err->code : CLR_OK;
    if (rc == CLR_OK) { /* the context again (see park); the first build's times are the ones reported */
        double build = r->build_seconds, copy_build = r->roof_build_seconds;
        rc = setup_device(st, &r->device, err);
        r->build_seconds = build;
        r->roof_build_seconds = copy_build;
    }

    st->journal = journal;
    st->cases_total = ncases;
    st->run_start = clr_now();
    size_t bmax = max_batch(cfg);
    if (rc == CLR_OK) { /* measured again on a resumed run: it is no case of the journal */
        progress(st, "peak bandwidth");
        rc = measure_peak(st, &r->peak, err);
    }
    if (rc == CLR_OK && cfg->skip_unfit) { /* which batches of each shape fit (the same check as before) */
        st->fit_batch = clr_calloc(cfg->nshapes, sizeof *st->fit_batch, "fit limits", err);
        st->fit_why = clr_calloc(cfg->nshapes, sizeof *st->fit_why, "fit limits", err);
        rc = !st->fit_batch || !st->fit_why ? err->code
                                            : check_fits(cfg, &r->device, &r->tuning, st->fit_batch, st->fit_why, err);
    }
    for (size_t zi = 0; zi < cfg->nshapes && rc == CLR_OK; ++zi) {
        char what[400], shape_text[128];
        size_t limit = st->fit_batch ? st->fit_batch[zi] : bmax;
        shape_of(st, zi, shape_text, sizeof shape_text);
        snprintf(what, sizeof what, "generating %zu rows of %s", limit, shape_text);
        if (limit && !shape_resumed(st, zi)) { /* a shape taken whole from the journal needs no inputs */
            progress(st, what);
            rc = prepare_shape(st, zi, limit, err);
        }
        size_t first_case = r->ncases;
        if (cfg->find_switch && rc == CLR_OK)
            rc = search_batches(st, zi, limit, err);
        for (size_t bi = 0; bi < cfg->nbatches && rc == CLR_OK && !cfg->find_switch; ++bi) {
            if (cfg->batches[bi] > limit)
                skip_batch(st, zi, cfg->batches[bi], st->fit_why[zi]);
            else
                rc = run_batch(st, zi, cfg->batches[bi], err);
        }
        for (size_t si = 0; si < cfg->nstrategies && rc == CLR_OK; ++si)
            r->nvariance += clr_summarise_variance(st->op, r->cases + first_case, r->ncases - first_case, zi,
                                                   cfg->strategy_index[si], &r->variance[r->nvariance]);
        for (size_t si = 0; si < cfg->nstrategies && rc == CLR_OK; ++si)
            r->nswitches += clr_find_switches(r->cases + first_case, r->ncases - first_case, zi,
                                              cfg->strategy_index[si], &r->switches[r->nswitches]);
    }
    if (cfg->progress)
        fprintf(stderr, "\r\033[K");
    if (st->timed_out) {
        /* Releasing the queue, its buffers or its context would wait for the kernel that does
         * not end: they are abandoned, and the caller is expected to _exit. */
        free_host(st);
        r->timed_out = 1;
    } else {
        teardown(st);
    }
    if (rc == CLR_OK) {
        /* Cross-case figures from every case, measured now or taken from the journal. */
        clr_claim_input in = {.op = cfg->op, .shapes = cfg->shapes, .strategies = cfg->strategy_index,
                              .nstrategies = cfg->nstrategies, .trials = cfg->trials, .cases = r->cases,
                              .ncases = r->ncases, .variance = r->variance, .nvariance = r->nvariance};
        r->broken_claims += clr_check_claims(&in, r->claims + r->nclaims);
        r->nclaims += cfg->nstrategies * CLR_NCLAIMS;
        for (size_t i = 0; i < r->ncases; ++i)
            r->invalid_cases += !r->cases[i].valid && !r->cases[i].skipped;
        r->wall_seconds = p->prepare_seconds + (clr_now() - start);
    }
    free(st->fit_batch);
    free(st->fit_why);
    *res = *r;
    free(p);
    return rc;
}

int clr_run_device(const clr_run_config *cfg, const clr_device *dev, clr_device_result *res, clr_error *err)
{
    clr_prepared_run *p;
    memset(res, 0, sizeof *res);
    if (clr_run_check(cfg, dev, err) || clr_run_prepare(cfg, dev, &p, err))
        return err->code;
    return clr_run_prepared(p, NULL, res, err);
}

void clr_device_result_free(clr_device_result *res)
{
    for (size_t i = 0; i < res->ncases; ++i) {
        free(res->cases[i].outputs);
        free(res->cases[i].rep_times);
        for (size_t k = 0; k < res->cases[i].npositions; ++k)
            free(res->cases[i].positions[k].probe);
    }
    free(res->cases);
    free(res->variance);
    free(res->claims);
    free(res->roofs);
    free(res->switches);
    memset(res, 0, sizeof *res);
}
