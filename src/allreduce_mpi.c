/* allreduce_mpi.c: `clrepro allreduce` across MPI ranks (include/allreduce.h says what it
 * measures). Every rank runs its device part on its own OpenCL device and stages its data
 * through the host for MPI. Each step that can fail on one rank (its device, its build, its
 * memory) ends in an agreement, so a failing rank's message reaches rank 0 and every rank exits
 * non-zero instead of waiting in a collective; a failure inside a measured exchange, where the
 * others are already waiting, prints its message and calls MPI_Abort. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include "allreduce.h"
#include "atomic_file.h"
#include "device.h"
#include "metrics.h"
#include "op.h"
#include "program.h"
#include "reference.h"
#include "text.h"

/* The environment variables MPI launchers set in every process they start: Open MPI's mpirun,
 * MPICH's hydra (and Intel MPI), PMIx launchers (srun, prterun). */
static const char *const launcher_vars[][2] = {
    {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"},
    {"PMI_SIZE", "PMI_RANK"},
    {"PMIX_RANK", "PMIX_RANK"},
};

int clr_mpi_launched(void)
{
    for (size_t i = 0; i < sizeof launcher_vars / sizeof launcher_vars[0]; ++i)
        if (getenv(launcher_vars[i][0]))
            return 1;
    return 0;
}

/* Where allreduce cannot run: the command line is still checked (and --help answered), then
 * `why` is the error. */
static int refuse(int argc, char **argv, const char *why, clr_error *err)
{
    clr_ar_options o;
    int help = 0, rc = clr_ar_parse(argc, argv, &o, &help, err);
    if (rc == CLR_OK && help)
        clr_ar_usage(stdout);
    else if (rc == CLR_OK)
        rc = clr_fail(err, CLR_EUSAGE, "%s", why);
    clr_ar_options_free(&o);
    return rc;
}

#ifndef CLREPRO_HAVE_MPI

/* This process's rank as its launcher says, before MPI_Init (0 when not launched). */
static int launcher_rank(void)
{
    for (size_t i = 0; i < sizeof launcher_vars / sizeof launcher_vars[0]; ++i) {
        const char *v = getenv(launcher_vars[i][1]);
        if (v)
            return atoi(v);
    }
    return 0;
}


int clr_cmd_allreduce(int argc, char **argv, clr_error *err)
{
    int rc = refuse(argc, argv, "allreduce: this clrepro was built without MPI; install Open MPI "
                                "(scripts/install-deps.sh: openmpi-bin, libopenmpi-dev), build again, and run it "
                                "as mpirun -np R clrepro allreduce", err);
    if (rc && launcher_rank() != 0)
        err->code = 0; /* rank 0 says it */
    return rc;
}

#else
#include <mpi.h>
#include "mpi_support.h"

typedef struct rank_state {
    clr_mpi_rank me;
    clr_device dev;
    cl_context context;
    cl_command_queue queue;
    clr_tuning tuning;
    clr_program prog, mm;
    int have_prog, have_mm;
    const clr_operation *mmop;
    const clr_strategy *tiled;
} rank_state;

/* err's message (or "failed"; clr_fail made it safe to print, a build log's lines included)
 * prefixed with where this rank runs, the host and device names escaped (the system's and the
 * driver's strings). */
static void rank_message(const rank_state *st, const clr_error *err, clr_error *out)
{
    char host[256], dev[512];
    out->code = err->code ? err->code : CLR_EFAIL;
    snprintf(out->msg, sizeof out->msg, "rank %d (host %s%s%s): %.3500s", st->me.rank,
             clr_escape(st->me.host, host, sizeof host), st->dev.name[0] ? ", " : "",
             st->dev.name[0] ? clr_escape(st->dev.name, dev, sizeof dev) : "", err->code ? err->msg : "failed");
}

/* Every rank's rc, agreed: the lowest failing rank's message (prefixed with where it ran) on
 * every rank. Returns that rank's code, or CLR_OK when none failed. */
static int agree(MPI_Comm comm, const rank_state *st, int rc, clr_error *err)
{
    int me, mine, first;
    MPI_Comm_rank(comm, &me);
    mine = rc ? me : INT_MAX;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == INT_MAX)
        return CLR_OK;
    clr_error *m = calloc(1, sizeof *m);
    if (!m)
        MPI_Abort(MPI_COMM_WORLD, 1);
    if (me == first)
        rank_message(st, err, m);
    MPI_Bcast(m, (int)sizeof *m, MPI_BYTE, first, comm);
    *err = *m;
    err->msg[sizeof err->msg - 1] = '\0';
    free(m);
    return err->code;
}

/* A failure in the middle of an exchange: the other ranks are waiting for this one. */
static void die(const rank_state *st, const clr_error *err)
{
    clr_error m;
    rank_message(st, err, &m);
    fprintf(stderr, "clrepro: error: %s\n", m.msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, m.code);
}

static void cl_or_die(const rank_state *st, cl_int status, const char *call)
{
    if (status != CL_SUCCESS) {
        clr_error e = {0};
        clr_cl_check(&e, status, call);
        die(st, &e);
    }
}
#define CL_OR_DIE(st, call) cl_or_die((st), (call), #call)

static void *xmalloc(const rank_state *st, size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        clr_error e = {0};
        clr_fail(&e, CLR_EFAIL, "out of host memory (%zu bytes)", bytes);
        die(st, &e);
    }
    return p;
}

static int open_device(rank_state *st, const clr_ar_options *o, int layer, clr_error *err)
{
    clr_device_list all = {0}, chosen = {0};
    int rc = clr_devices_enumerate(&all, err);
    if (rc == CLR_OK)
        rc = clr_devices_select(&all, o->device_spec, &chosen, err);
    if (rc == CLR_OK && chosen.count == 0)
        rc = clr_fail(err, CLR_EUSAGE, "--device '%s' matches no OpenCL device on this host", o->device_spec);
    if (rc == CLR_OK)
        st->dev = chosen.items[(size_t)st->me.local_rank % chosen.count];
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    if (rc == CLR_OK)
        rc = clr_device_open(&st->dev, &st->context, &st->queue, 0, err);
    if (rc)
        return rc;
    st->tuning = clr_tuning_default(&st->dev);
    rc = clr_program_build(st->context, &st->dev, o->kernel_dir, "allreduce.cl", &st->tuning,
                           "-DEXACT_LIMBS=" CLR_STR(CLR_CL_EXACT_LIMBS), &st->prog, err);
    st->have_prog = rc == CLR_OK;
    if (rc == CLR_OK && layer) {
        st->mmop = clr_op_find("matmul");
        st->tiled = st->mmop ? clr_strategy_find(st->mmop, "tiled") : NULL;
        if (!st->tiled)
            return clr_fail(err, CLR_EFAIL, "the matmul operation's tiled strategy is missing");
        rc = clr_program_build(st->context, &st->dev, o->kernel_dir, st->mmop->source, &st->tuning,
                               st->mmop->defines, &st->mm, err);
        st->have_mm = rc == CLR_OK;
    }
    return rc;
}

static void close_device(rank_state *st)
{
    if (st->have_mm)
        clr_program_release(&st->mm);
    if (st->have_prog)
        clr_program_release(&st->prog);
    if (st->queue)
        clReleaseCommandQueue(st->queue);
    if (st->context)
        clReleaseContext(st->context);
}

/* --- one case's data on a rank ----------------------------------------------------------- */

typedef struct rank_data {
    size_t nloc, n;  /* local slices, floats each */
    cl_mem x, acc;   /* slices (nloc x n), running sum / fold (n) */
    cl_mem digits, flags, packed, span; /* exact */
    float *hx;       /* the same slices on the host, for validation */
} rank_data;

static void data_free(rank_data *d)
{
    if (d->x)
        clReleaseMemObject(d->x);
    if (d->acc)
        clReleaseMemObject(d->acc);
    if (d->digits)
        clReleaseMemObject(d->digits);
    if (d->flags)
        clReleaseMemObject(d->flags);
    if (d->packed)
        clReleaseMemObject(d->packed);
    if (d->span)
        clReleaseMemObject(d->span);
    free(d->hx);
    memset(d, 0, sizeof *d);
}

static cl_mem buffer(const rank_state *st, size_t bytes)
{
    cl_int status;
    cl_mem m = clCreateBuffer(st->context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &status);
    CL_OR_DIE(st, status);
    return m;
}

static void data_buffers(const rank_state *st, rank_data *d, unsigned strategies)
{
    d->x = buffer(st, d->nloc * d->n * sizeof(float));
    d->acc = buffer(st, d->n * sizeof(float));
    if (strategies & (1u << CLR_AR_EXACT)) {
        d->digits = buffer(st, d->n * CLR_CL_EXACT_LIMBS * sizeof(cl_long));
        d->flags = buffer(st, d->n * sizeof(cl_long));
        d->packed = buffer(st, d->n * (CLR_CL_EXACT_LIMBS + 1) * sizeof(cl_long));
        d->span = buffer(st, 2 * sizeof(cl_int));
    }
}

/* The plain all-reduce: slices first .. first + nloc - 1 of n floats from the generator. */
static void plain_data(const rank_state *st, const clr_ar_options *o, size_t first, rank_data *d)
{
    d->hx = xmalloc(st, d->nloc * d->n * sizeof(float));
    for (size_t s = 0; s < d->nloc; ++s)
        clr_gen_row(o->seed, o->dist, first + s, d->hx + s * d->n, d->n);
    data_buffers(st, d, o->strategies);
    CL_OR_DIE(st, clEnqueueWriteBuffer(st->queue, d->x, CL_TRUE, 0, d->nloc * d->n * sizeof(float), d->hx, 0, NULL,
                                       NULL));
}

/* The layer's A (M x K: element (m, k) from the generator, as the matmul benchmark's rows) and W
 * (K x N: element (k, col) normal from its own seed, scaled 1/sqrt(K)). */
static float layer_a_at(const clr_ar_options *o, size_t m, size_t k)
{
    return clr_gen(o->seed, o->dist, m, k);
}

static float layer_w_at(const clr_ar_options *o, size_t k, size_t col)
{
    float scale = (float)(1.0 / sqrt((double)o->layer_k));
    return scale * clr_gen(o->seed ^ 0x5eedu, CLR_DIST_NORMAL, UINT64_MAX - 2 - k, col);
}

/* The layer's slice g at row m, column col, as tiled computes it: one fma chain over chunk g's
 * 256 values of k from +0 (src/ops/matmul.c's replay). */
static float layer_partial(const clr_ar_options *o, size_t m, size_t col, size_t g)
{
    float acc = 0.0f;
    for (size_t k = g * CLR_AR_KCHUNK; k < (g + 1) * CLR_AR_KCHUNK; ++k)
        acc = fmaf(layer_a_at(o, m, k), layer_w_at(o, k, col), acc);
    return acc;
}

/* matmul tiled of M x kk by kk x N on the device into out. */
static int tiled(rank_state *st, size_t M, size_t kk, size_t N, cl_mem a, cl_mem w, cl_mem out, clr_error *err)
{
    clr_op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.context = st->context;
    ctx.queue = st->queue;
    ctx.device = &st->dev;
    ctx.tuning = &st->tuning;
    ctx.program = &st->mm;
    ctx.shape.batch = M;
    ctx.shape.dims[0] = kk;
    ctx.shape.dims[1] = N;
    ctx.shape.dtype = CLR_FP32;
    ctx.input = a;
    ctx.shared = w;
    ctx.output = out;
    clr_plan plan;
    memset(&plan, 0, sizeof plan);
    cl_event first = NULL, last = NULL;
    int rc = clr_op_check_shape(st->mmop, &ctx.shape, err);
    if (rc == CLR_OK)
        rc = st->tiled->plan(&ctx, &plan, err);
    if (rc == CLR_OK)
        rc = st->tiled->enqueue(&ctx, &plan, &first, &last, err);
    if (rc == CLR_OK)
        rc = CLR_CL(err, clFinish(st->queue));
    if (first)
        clReleaseEvent(first);
    if (last && last != first)
        clReleaseEvent(last);
    if (ctx.scratch)
        clReleaseMemObject(ctx.scratch);
    return rc;
}

/* A[:, k0:k1] x W[k0:k1, :] (M x N) by tiled on the device, into out (clFinish'ed). */
static void tiled_product(rank_state *st, const clr_ar_options *o, size_t M, size_t k0, size_t k1, cl_mem out)
{
    size_t N = o->layer_n, kk = k1 - k0;
    float *a = xmalloc(st, M * kk * sizeof(float)), *w = xmalloc(st, kk * N * sizeof(float));
    for (size_t m = 0; m < M; ++m)
        for (size_t k = k0; k < k1; ++k)
            a[m * kk + (k - k0)] = layer_a_at(o, m, k);
    for (size_t k = k0; k < k1; ++k)
        for (size_t col = 0; col < N; ++col)
            w[(k - k0) * N + col] = layer_w_at(o, k, col);
    cl_mem da = buffer(st, M * kk * sizeof(float)), dw = buffer(st, kk * N * sizeof(float));
    CL_OR_DIE(st, clEnqueueWriteBuffer(st->queue, da, CL_TRUE, 0, M * kk * sizeof(float), a, 0, NULL, NULL));
    CL_OR_DIE(st, clEnqueueWriteBuffer(st->queue, dw, CL_TRUE, 0, kk * N * sizeof(float), w, 0, NULL, NULL));
    clr_error e = {0};
    if (tiled(st, M, kk, N, da, dw, out, &e))
        die(st, &e);
    clReleaseMemObject(da);
    clReleaseMemObject(dw);
    free(a);
    free(w);
}

/* The layer: this rank's chunks c0 .. c0 + nloc - 1, each chunk's partial product (M x N) by
 * tiled on K = 256, one slice each. */
static void layer_data(rank_state *st, const clr_ar_options *o, size_t M, size_t c0, rank_data *d)
{
    cl_mem part = buffer(st, d->n * sizeof(float));
    data_buffers(st, d, o->strategies);
    for (size_t c = 0; c < d->nloc; ++c) {
        tiled_product(st, o, M, (c0 + c) * CLR_AR_KCHUNK, (c0 + c + 1) * CLR_AR_KCHUNK, part);
        CL_OR_DIE(st, clEnqueueCopyBuffer(st->queue, part, d->x, 0, c * d->n * sizeof(float), d->n * sizeof(float), 0,
                                          NULL, NULL));
    }
    d->hx = xmalloc(st, d->nloc * d->n * sizeof(float));
    CL_OR_DIE(st, clEnqueueReadBuffer(st->queue, d->x, CL_TRUE, 0, d->nloc * d->n * sizeof(float), d->hx, 0, NULL,
                                      NULL));
    clReleaseMemObject(part);
}

/* The one-device result: tiled over the whole K on this rank's device. */
static float *layer_reference(rank_state *st, const clr_ar_options *o, size_t M)
{
    size_t n = M * o->layer_n;
    float *out = xmalloc(st, n * sizeof(float));
    cl_mem dc = buffer(st, n * sizeof(float));
    tiled_product(st, o, M, 0, o->layer_k, dc);
    CL_OR_DIE(st, clEnqueueReadBuffer(st->queue, dc, CL_TRUE, 0, n * sizeof(float), out, 0, NULL, NULL));
    clReleaseMemObject(dc);
    return out;
}

/* --- the strategies ---------------------------------------------------------------------- */

static cl_kernel kernel(const rank_state *st, const char *name)
{
    cl_kernel k;
    clr_error e = {0};
    if (clr_program_kernel((clr_program *)&st->prog, name, &k, &e))
        die(st, &e);
    return k;
}

static void launch(const rank_state *st, cl_kernel k, size_t n)
{
    size_t local = 64, global = (n + local - 1) / local * local;
    CL_OR_DIE(st, clEnqueueNDRangeKernel(st->queue, k, 1, NULL, &global, &local, 0, NULL, NULL));
}

static void fold(const rank_state *st, const rank_data *d, size_t off, size_t len, int init)
{
    cl_kernel k = kernel(st, "ar_fold");
    clr_error e = {0};
    cl_ulong n = d->n, uoff = off;
    cl_uint nloc = (cl_uint)d->nloc, ulen = (cl_uint)len, uinit = (cl_uint)init;
    if (clr_set_args(k, &e, 7, CLR_ARG(d->x), CLR_ARG(n), CLR_ARG(nloc), CLR_ARG(uoff), CLR_ARG(ulen), CLR_ARG(uinit),
                     CLR_ARG(d->acc)))
        die(st, &e);
    launch(st, k, len);
}

/* MPI counts are int: large messages go in pieces. */
#define MPI_PIECE ((size_t)1 << 28)

/* MPI_Allreduce(MPI_SUM) in place of count elements of `size` bytes, in pieces. */
static void allreduce_sum(void *buf, size_t count, MPI_Datatype type, size_t size, MPI_Comm comm)
{
    for (size_t a = 0; a < count; a += MPI_PIECE) {
        size_t len = count - a < MPI_PIECE ? count - a : MPI_PIECE;
        MPI_Allreduce(MPI_IN_PLACE, (char *)buf + a * size, (int)len, type, MPI_SUM, comm);
    }
}

static void local_fold(const rank_state *st, const rank_data *d, float *out)
{
    fold(st, d, 0, d->n, 0);
    CL_OR_DIE(st, clEnqueueReadBuffer(st->queue, d->acc, CL_TRUE, 0, d->n * sizeof(float), out, 0, NULL, NULL));
}

static void run_mpi(const rank_state *st, const rank_data *d, MPI_Comm comm, float *out)
{
    local_fold(st, d, out);
    allreduce_sum(out, d->n, MPI_FLOAT, sizeof(float), comm);
}

static void run_ring(const rank_state *st, const rank_data *d, MPI_Comm comm, float *out, float *tmp)
{
    int r, R;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &R);
    local_fold(st, d, out);
    size_t n = d->n;
    int next = (r + 1) % R, prev = (r + R - 1) % R;
    /* reduce-scatter: step k sends block (r - k) and adds block (r - k - 1) received */
    for (int k = 0; k + 1 < R; ++k) {
        size_t sb = (size_t)((r - k) % R + R) % R, rb = (size_t)((r - k - 1) % R + R) % R;
        size_t s0 = clr_ar_block_start(sb, n, (size_t)R), s1 = clr_ar_block_start(sb + 1, n, (size_t)R);
        size_t r0 = clr_ar_block_start(rb, n, (size_t)R), r1 = clr_ar_block_start(rb + 1, n, (size_t)R);
        MPI_Sendrecv(out + s0, (int)(s1 - s0), MPI_FLOAT, next, k, tmp, (int)(r1 - r0), MPI_FLOAT, prev, k, comm,
                     MPI_STATUS_IGNORE);
        for (size_t i = 0; i < r1 - r0; ++i) {
            volatile float v = tmp[i] + out[r0 + i];
            out[r0 + i] = v;
        }
    }
    /* allgather: rank r holds block r + 1; step k passes block (r + 1 - k) on */
    for (int k = 0; k + 1 < R; ++k) {
        size_t sb = (size_t)((r + 1 - k) % R + R) % R, rb = (size_t)((r - k) % R + R) % R;
        size_t s0 = clr_ar_block_start(sb, n, (size_t)R), s1 = clr_ar_block_start(sb + 1, n, (size_t)R);
        size_t r0 = clr_ar_block_start(rb, n, (size_t)R), r1 = clr_ar_block_start(rb + 1, n, (size_t)R);
        MPI_Sendrecv(out + s0, (int)(s1 - s0), MPI_FLOAT, next, R + k, out + r0, (int)(r1 - r0), MPI_FLOAT, prev,
                     R + k, comm, MPI_STATUS_IGNORE);
    }
}

/* ordered's pieces: enough for every rank to work while the next one does (4 per rank), none
 * below 4096 floats, none above MPI_PIECE. */
static size_t ordered_pieces(size_t n, int R)
{
    size_t p = R > 1 ? 4 * (size_t)R : 1, most = (n + 4095) / 4096;
    if (p > most)
        p = most ? most : 1;
    while ((n + p - 1) / p > MPI_PIECE)
        ++p;
    return p;
}

static void run_ordered(const rank_state *st, const rank_data *d, MPI_Comm comm, float *out)
{
    int r, R;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &R);
    size_t n = d->n, P = ordered_pieces(n, R);
    for (size_t j = 0; j < P; ++j) {
        size_t a = j * n / P, b = (j + 1) * n / P, len = b - a;
        if (!len)
            continue;
        if (r > 0) {
            MPI_Recv(out + a, (int)len, MPI_FLOAT, r - 1, (int)j, comm, MPI_STATUS_IGNORE);
            CL_OR_DIE(st, clEnqueueWriteBuffer(st->queue, d->acc, CL_FALSE, a * sizeof(float), len * sizeof(float),
                                               out + a, 0, NULL, NULL));
        }
        fold(st, d, a, len, r > 0);
        CL_OR_DIE(st, clEnqueueReadBuffer(st->queue, d->acc, CL_TRUE, a * sizeof(float), len * sizeof(float), out + a,
                                          0, NULL, NULL));
        if (r + 1 < R)
            MPI_Send(out + a, (int)len, MPI_FLOAT, r + 1, (int)j, comm);
    }
    for (size_t a = 0; R > 1 && a < n; a += MPI_PIECE) {
        size_t len = n - a < MPI_PIECE ? n - a : MPI_PIECE;
        MPI_Bcast(out + a, (int)len, MPI_FLOAT, R - 1, comm);
    }
}

/* exact: digits on the device, the window of digits in use agreed, packed, all-reduced as
 * integers on the host, rounded on the device. */
static void run_exact(const rank_state *st, const rank_data *d, MPI_Comm comm, int64_t *packed, float *out)
{
    size_t n = d->n;
    cl_ulong un = n;
    cl_uint nloc = (cl_uint)d->nloc;
    cl_int span[2] = {CLR_CL_EXACT_LIMBS, -1};
    clr_error e = {0};
    cl_kernel k1 = kernel(st, "ar_exact"), k2 = kernel(st, "ar_pack"), k3 = kernel(st, "ar_round");
    CL_OR_DIE(st, clEnqueueWriteBuffer(st->queue, d->span, CL_FALSE, 0, sizeof span, span, 0, NULL, NULL));
    if (clr_set_args(k1, &e, 6, CLR_ARG(d->x), CLR_ARG(un), CLR_ARG(nloc), CLR_ARG(d->digits), CLR_ARG(d->flags),
                     CLR_ARG(d->span)))
        die(st, &e);
    launch(st, k1, n);
    CL_OR_DIE(st, clEnqueueReadBuffer(st->queue, d->span, CL_TRUE, 0, sizeof span, span, 0, NULL, NULL));
    int agreed[2] = {-span[0], span[1]}; /* max of -lo and of hi */
    MPI_Allreduce(MPI_IN_PLACE, agreed, 2, MPI_INT, MPI_MAX, comm);
    cl_int lo = -agreed[0], w = agreed[1] >= lo ? agreed[1] - lo + 1 : 0;
    if (w == 0)
        lo = 0;
    size_t words = (size_t)w + 1, total = n * words;
    if (clr_set_args(k2, &e, 6, CLR_ARG(d->digits), CLR_ARG(d->flags), CLR_ARG(un), CLR_ARG(lo), CLR_ARG(w),
                     CLR_ARG(d->packed)))
        die(st, &e);
    launch(st, k2, n);
    CL_OR_DIE(st, clEnqueueReadBuffer(st->queue, d->packed, CL_TRUE, 0, total * sizeof(int64_t), packed, 0, NULL,
                                      NULL));
    allreduce_sum(packed, total, MPI_INT64_T, sizeof(int64_t), comm);
    CL_OR_DIE(st, clEnqueueWriteBuffer(st->queue, d->packed, CL_FALSE, 0, total * sizeof(int64_t), packed, 0, NULL,
                                       NULL));
    if (clr_set_args(k3, &e, 5, CLR_ARG(d->packed), CLR_ARG(un), CLR_ARG(lo), CLR_ARG(w), CLR_ARG(d->acc)))
        die(st, &e);
    launch(st, k3, n);
    CL_OR_DIE(st, clEnqueueReadBuffer(st->queue, d->acc, CL_TRUE, 0, n * sizeof(float), out, 0, NULL, NULL));
}

/* --- cases -------------------------------------------------------------------------------- */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The elements replayed: all where the gathered values stay small (n S <= 2^24), else both ends,
 * a stride, and both sides of every edge the strategies have at this R (the ring's blocks,
 * ordered's pieces), so that an off-by-one at an edge cannot pass. Sorted, each once. */
static size_t checked_elements(size_t n, size_t S, int R, size_t *idx)
{
    size_t count = 0;
    if ((double)n * (double)S <= (double)(1u << 24)) {
        for (size_t i = 0; i < n; ++i)
            idx[count++] = i;
        return count;
    }
    size_t stride = (size_t)ceil((double)n * (double)S / (double)(1u << 23));
    if (stride < CLR_AR_CHECK_STRIDE)
        stride = CLR_AR_CHECK_STRIDE;
    for (size_t i = 0; i < n; ++i)
        if (i < CLR_AR_CHECK_EDGE || i >= n - CLR_AR_CHECK_EDGE || i % stride == 0)
            idx[count++] = i;
    size_t P = ordered_pieces(n, R);
    for (size_t b = 1; b < (size_t)R; ++b) {
        size_t e = clr_ar_block_start(b, n, (size_t)R);
        idx[count++] = e - 1;
        idx[count++] = e;
    }
    for (size_t j = 1; j < P; ++j) {
        size_t e = j * n / P;
        idx[count++] = e - 1;
        idx[count++] = e;
    }
    qsort(idx, count, sizeof *idx, cmp_size);
    size_t u = 0;
    for (size_t i = 0; i < count; ++i)
        if (!u || idx[u - 1] != idx[i])
            idx[u++] = idx[i];
    return u;
}

static size_t checked_count(size_t n, size_t S, int R)
{
    if ((double)n * (double)S <= (double)(1u << 24))
        return n;
    return 2 * CLR_AR_CHECK_EDGE + n / CLR_AR_CHECK_STRIDE + 1 + 2 * (size_t)R + 2 * ordered_pieces(n, R);
}

typedef struct kept_result {
    int layer, strategy;
    size_t n, m, ranks;
    float *bits; /* rank 0's result at the smallest R */
} kept_result;

typedef struct run_ctx {
    rank_state *st;
    const clr_ar_options *o;
    clr_ar_results *res; /* rank 0 */
    kept_result *kept;
    size_t nkept;
} run_ctx;

static double ulp_of(float x)
{
    float a = fabsf(x);
    if (!isfinite(a))
        return NAN;
    float up = nextafterf(a, INFINITY);
    return (double)up - (double)a;
}

/* Whether a and b (n floats) have the same bits; *max_ulp the largest distance between them. */
static int same_bits(const float *a, const float *b, size_t n, double *max_ulp)
{
    int same = 1;
    *max_ulp = 0;
    for (size_t i = 0; i < n; ++i) {
        double u = (double)clr_ulp_distance(a[i], b[i]);
        same &= u == 0;
        if (u > *max_ulp)
            *max_ulp = u;
    }
    return same;
}

/* One case on the R ranks of comm (this rank holds d): warm-up, timed repetitions, validation. */
static void run_case(run_ctx *rc, MPI_Comm comm, const rank_data *d, int layer, int strategy, size_t S, size_t m,
                     const float *tiled_ref)
{
    rank_state *st = rc->st;
    const clr_ar_options *o = rc->o;
    int r, R;
    MPI_Comm_rank(comm, &r);
    MPI_Comm_size(comm, &R);
    size_t n = d->n;
    float *out = xmalloc(st, n * sizeof(float)), *tmp = NULL;
    int64_t *packed = NULL;
    if (strategy == CLR_AR_RING)
        tmp = xmalloc(st, (n / (size_t)R + 2) * sizeof(float));
    if (strategy == CLR_AR_EXACT)
        packed = xmalloc(st, n * (CLR_CL_EXACT_LIMBS + 1) * sizeof(int64_t));
    double *times = xmalloc(st, o->reps * sizeof(double));
    uint64_t first_hash = 0, last_hash = 0;
    int deterministic = 1;
    for (unsigned rep = 0; rep < o->warmup + o->reps; ++rep) {
        MPI_Barrier(comm);
        double t0 = MPI_Wtime();
        switch (strategy) {
        case CLR_AR_MPI: run_mpi(st, d, comm, out); break;
        case CLR_AR_RING: run_ring(st, d, comm, out, tmp); break;
        case CLR_AR_ORDERED: run_ordered(st, d, comm, out); break;
        default: run_exact(st, d, comm, packed, out); break;
        }
        double t = MPI_Wtime() - t0, slowest;
        MPI_Allreduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);
        uint64_t h = XXH64(out, n * sizeof(float), 0), lohi[2] = {h, ~h};
        MPI_Allreduce(MPI_IN_PLACE, lohi, 2, MPI_UINT64_T, MPI_MAX, comm); /* max of h and of ~h: all equal? */
        if (lohi[0] != h || ~lohi[1] != h)
            deterministic = 0;
        last_hash = h;
        if (rep == 0)
            first_hash = h;
        else if (h != first_hash)
            deterministic = 0;
        if (rep >= o->warmup)
            times[rep - o->warmup] = slowest;
    }
    int det_all;
    MPI_Allreduce(&deterministic, &det_all, 1, MPI_INT, MPI_MIN, comm);
    /* Validation: every slice value of the checked elements, gathered to rank 0 in slice order. */
    size_t cap = checked_count(n, S, R), *idx = xmalloc(st, cap * sizeof(size_t));
    size_t E = checked_elements(n, S, R, idx);
    float *mine = xmalloc(st, d->nloc * E * sizeof(float)), *all = NULL;
    for (size_t s = 0; s < d->nloc; ++s)
        for (size_t e = 0; e < E; ++e)
            mine[s * E + e] = d->hx[s * n + idx[e]];
    if (r == 0)
        all = xmalloc(st, S * E * sizeof(float));
    for (size_t s = 0; s < d->nloc; ++s) /* a slice at a time keeps every count an int */
        MPI_Gather(mine + s * E, (int)E, MPI_FLOAT, r == 0 ? all + s * (size_t)R * E : NULL, (int)E, MPI_FLOAT, 0,
                   comm);
    if (r == 0) {
        clr_ar_case c;
        memset(&c, 0, sizeof c);
        c.layer = layer;
        c.strategy = strategy;
        c.n = n;
        c.m = m;
        c.k = layer ? o->layer_k : 0;
        c.cols = layer ? o->layer_n : 0;
        c.slices = S;
        c.ranks = (size_t)R;
        clr_stats t;
        clr_stats_compute(times, o->reps, &t);
        c.min_s = t.min;
        c.median_s = t.median;
        c.fingerprint = last_hash; /* the result validated below */
        c.deterministic = det_all;
        c.checked = E;
        float *v = xmalloc(st, S * sizeof(float));
        size_t per = S / (size_t)R;
        for (size_t e = 0; e < E; ++e) {
            /* global slice g = q per + s lies at all + (s R + q) E (gathered slice by slice) */
            for (size_t q = 0; q < (size_t)R; ++q)
                for (size_t s = 0; s < per; ++s)
                    v[q * per + s] = all[(s * (size_t)R + q) * E + e];
            /* The slices are the problem's: regenerated here for a spread of the elements (the
             * plain part from the generator, the layer's partial products as tiled's chain). */
            if (e % (E / 512 + 1) == 0 && !c.mismatches) {
                for (size_t g = 0; g < S; ++g) {
                    float x = layer ? layer_partial(o, idx[e] / o->layer_n, idx[e] % o->layer_n, g)
                                    : clr_gen(o->seed, o->dist, g, idx[e]);
                    if (clr_float_bits(x) != clr_float_bits(v[g])) {
                        snprintf(c.why, sizeof c.why, "element %zu: slice %zu holds %.9g where the problem has "
                                 "%.9g (a rank computed or placed its slices wrongly)", idx[e], g, (double)v[g],
                                 (double)x);
                        ++c.mismatches;
                        break;
                    }
                }
            }
            double tol, none;
            float want = clr_ar_expected(strategy, v, S, (size_t)R, idx[e], n, &tol), got = out[idx[e]];
            float exact = strategy == CLR_AR_EXACT || strategy == CLR_AR_MPI
                              ? want
                              : clr_ar_expected(CLR_AR_EXACT, v, S, (size_t)R, idx[e], n, &none);
            int ok = tol == 0 ? clr_float_bits(got) == clr_float_bits(want) || (isnan(got) && isnan(want))
                              : fabs((double)got - (double)want) <= tol;
            /* the error of every strategy alike: against the correctly rounded sum */
            double err_ulp = fabs((double)got - (double)exact) / ulp_of(exact);
            if (isfinite(err_ulp) && err_ulp > c.max_err_ulp)
                c.max_err_ulp = err_ulp;
            if (!ok) {
                if (!c.mismatches)
                    snprintf(c.why, sizeof c.why, "element %zu: %.9g where the replay gives %.9g%s", idx[e],
                             (double)got, (double)want, tol > 0 ? " (beyond the bound)" : "");
                ++c.mismatches;
            }
        }
        free(v);
        c.valid = c.mismatches == 0;
        if (!det_all && clr_ar_strategies[strategy].claims & CLR_AR_CLAIM_DETERMINISTIC) {
            c.valid = 0;
            snprintf(c.why, sizeof c.why, "ranks or repetitions gave different bits");
        }
        if (layer && tiled_ref)
            c.same_as_tiled = same_bits(out, tiled_ref, n, &c.vs_tiled_ulp);
        /* against the smallest R of this strategy and size */
        kept_result *kr = NULL;
        for (size_t i = 0; i < rc->nkept; ++i)
            if (rc->kept[i].layer == layer && rc->kept[i].strategy == strategy && rc->kept[i].n == n &&
                rc->kept[i].m == m)
                kr = &rc->kept[i];
        if (!kr) {
            kept_result *grown = realloc(rc->kept, (rc->nkept + 1) * sizeof *grown);
            if (!grown)
                MPI_Abort(MPI_COMM_WORLD, 1);
            rc->kept = grown;
            kr = &rc->kept[rc->nkept++];
            kr->layer = layer;
            kr->ranks = (size_t)R;
            kr->strategy = strategy;
            kr->n = n;
            kr->m = m;
            kr->bits = xmalloc(st, n * sizeof(float));
            memcpy(kr->bits, out, n * sizeof(float));
        }
        c.same_as_r1 = same_bits(out, kr->bits, n, &c.vs_r1_ulp);
        if (c.valid && !c.same_as_r1 && (clr_ar_strategies[strategy].claims & CLR_AR_CLAIM_RANK_INVARIANT)) {
            c.valid = 0;
            snprintf(c.why, sizeof c.why, "claims rank-count invariance, but differs from R = %zu by up to %.0f ulp",
                     kr->ranks, c.vs_r1_ulp);
        }
        if (c.valid && layer && tiled_ref && strategy == CLR_AR_ORDERED && !c.same_as_tiled) {
            c.valid = 0;
            snprintf(c.why, sizeof c.why, "differs from the one-device tiled by up to %.0f ulp", c.vs_tiled_ulp);
        }
        clr_ar_results *res = rc->res;
        if (res->ncases == res->cap) {
            size_t cap2 = res->cap ? 2 * res->cap : 64;
            clr_ar_case *grown = realloc(res->cases, cap2 * sizeof *grown);
            if (!grown)
                MPI_Abort(MPI_COMM_WORLD, 1);
            res->cases = grown;
            res->cap = cap2;
        }
        res->cases[res->ncases++] = c;
        if (!o->quiet) {
            char shape[96];
            if (layer)
                snprintf(shape, sizeof shape, "M=%zu K=%zu N=%zu", m, o->layer_k, o->layer_n);
            else
                snprintf(shape, sizeof shape, "n=%zu", n);
            fprintf(stderr, "allreduce: %-9s %-8s %-22s R=%-2d %10.4f ms %s%s\n", layer ? "layer" : "allreduce",
                    clr_ar_strategies[strategy].name, shape, R, c.median_s * 1e3, c.valid ? "valid" : "INVALID",
                    c.same_as_r1 ? "" : " (bits differ from the smallest R)");
        }
    }
    free(all);
    free(mine);
    free(idx);
    free(times);
    free(out);
    free(tmp);
    free(packed);
}

/* One part (the plain all-reduce, or the layer) at each of its rank counts: the first R ranks
 * work, each size's slices set up once for every strategy. refs (layer): the one-device tiled of
 * each M, made by rank 0 the first time it is needed. */
static void run_part(run_ctx *ctx, int layer, const size_t *Rs, size_t nR, size_t S, float **refs)
{
    rank_state *st = ctx->st;
    const clr_ar_options *o = ctx->o;
    size_t nsizes = layer ? o->nbatches : o->nsizes;
    for (size_t ri = 0; ri < nR; ++ri) {
        int R = (int)Rs[ri];
        MPI_Comm comm;
        MPI_Comm_split(MPI_COMM_WORLD, st->me.rank < R ? 0 : MPI_UNDEFINED, st->me.rank, &comm);
        for (size_t si = 0; st->me.rank < R && si < nsizes; ++si) {
            size_t M = layer ? o->batches[si] : 0;
            rank_data d = {0};
            d.n = layer ? M * o->layer_n : o->sizes[si];
            d.nloc = S / (size_t)R;
            if (layer && st->me.rank == 0 && !refs[si])
                refs[si] = layer_reference(st, o, M);
            if (layer)
                layer_data(st, o, M, (size_t)st->me.rank * d.nloc, &d);
            else
                plain_data(st, o, (size_t)st->me.rank * d.nloc, &d);
            for (int s = 0; s < CLR_AR_NSTRATEGIES; ++s)
                if (o->strategies & (1u << s))
                    run_case(ctx, comm, &d, layer, s, S, M, layer && st->me.rank == 0 ? refs[si] : NULL);
            data_free(&d);
        }
        if (st->me.rank < R)
            MPI_Comm_free(&comm);
        MPI_Barrier(MPI_COMM_WORLD);
    }
}

/* The rank counts a part runs at: those asked (each must divide S), or 1..world that divide S. */
static int part_ranks(const clr_ar_options *o, int world, size_t S, const char *what, size_t *out, size_t *count,
                      clr_error *err)
{
    *count = 0;
    if (o->ranks_given) {
        for (size_t i = 0; i < o->nranks; ++i) {
            if (o->ranks[i] > (size_t)world)
                return clr_fail(err, CLR_EUSAGE, "--ranks %zu: only %d rank%s started (mpirun -np %zu to run it)",
                                o->ranks[i], world, world == 1 ? " was" : "s were", o->ranks[i]);
            if (S % o->ranks[i])
                return clr_fail(err, CLR_EUSAGE, "--ranks %zu: %s does not split over %zu ranks; choose rank counts "
                                                 "that divide it",
                                o->ranks[i], what, o->ranks[i]);
            out[(*count)++] = o->ranks[i];
        }
        return CLR_OK;
    }
    for (size_t R = 1; R <= (size_t)world && R <= CLR_AR_MAX_RANKS; ++R)
        if (S % R == 0)
            out[(*count)++] = R;
    return CLR_OK;
}

/* Host bytes one rank needs at most for a case of n floats over nloc slices. */
static double case_bytes(size_t n, size_t nloc, size_t S, unsigned strategies)
{
    double b = (double)n * 4 * ((double)nloc + 3) +
               (double)checked_count(n, S, CLR_AR_MAX_RANKS) * (8 + 4.0 * (double)S);
    if (strategies & (1u << CLR_AR_EXACT))
        b += (double)n * 8 * (CLR_CL_EXACT_LIMBS + 1.0);
    return b;
}

/* Device bytes of a case (slices, fold, and exact's digits, flags and packed words) and its
 * largest single buffer. */
static double device_bytes(size_t n, size_t nloc, unsigned strategies, double *largest)
{
    double slab = (double)n * 4 * (double)(nloc ? nloc : 1), b = slab + (double)n * 4;
    *largest = slab;
    if (strategies & (1u << CLR_AR_EXACT)) {
        double digits = (double)n * 8 * CLR_CL_EXACT_LIMBS, packed = (double)n * 8 * (CLR_CL_EXACT_LIMBS + 1);
        b += digits + packed + (double)n * 8;
        if (packed > *largest)
            *largest = packed;
    }
    return b;
}

/* The most slices this rank holds: at the smallest listed rank count it takes part in. */
static size_t most_slices(int rank, size_t S, const size_t *Rs, size_t nR)
{
    size_t most = 0;
    for (size_t i = 0; i < nR; ++i)
        if ((size_t)rank < Rs[i] && S / Rs[i] > most)
            most = S / Rs[i];
    return most;
}

/* Every case this rank takes part in fits its device (its largest buffer, and 90% of its memory)
 * and its host: checked before anything is measured. */
static int check_fits(const rank_state *st, const clr_ar_options *o, size_t S, const size_t *plain_R, size_t nplain,
                      size_t SL, const size_t *layer_R, size_t nlayer, clr_error *err)
{
    double dev_limit = (double)st->dev.max_alloc, dev_total = 0.9 * (double)st->dev.global_mem;
    double host = (double)clr_host_memory_available(), largest;
    for (size_t i = 0; i < o->nsizes && nplain; ++i) {
        size_t n = o->sizes[i], nloc = most_slices(st->me.rank, S, plain_R, nplain);
        double total = device_bytes(n, nloc, o->strategies, &largest);
        if (largest > dev_limit || total > dev_total)
            return clr_fail(err, CLR_EUSAGE, "--n %zu with %zu slices: %.2f GB on one device (its largest buffer "
                                             "%.2f GB), over what it allows (%.2f GB a buffer, %.2f GB in all); "
                                             "lower --slices or --n",
                            n, S, total / 1e9, largest / 1e9, dev_limit / 1e9, dev_total / 1e9);
        if (case_bytes(n, nloc, S, o->strategies) > 0.8 * host)
            return clr_fail(err, CLR_EUSAGE, "--n %zu with %zu slices needs about %.2f GB of host memory on this rank, "
                                             "more than is available; lower --slices or --n",
                            n, S, case_bytes(n, nloc, S, o->strategies) / 1e9);
    }
    for (size_t i = 0; o->layer_k && nlayer && i < o->nbatches; ++i) {
        size_t M = o->batches[i], nloc = most_slices(st->me.rank, SL, layer_R, nlayer);
        double total = device_bytes(M * o->layer_n, nloc, o->strategies, &largest);
        /* rank 0's one-device tiled holds A (M x K), W (K x N) and C */
        double a = (double)M * (double)o->layer_k * 4, w = (double)o->layer_k * (double)o->layer_n * 4;
        if (st->me.rank == 0 && a + w + (double)M * (double)o->layer_n * 4 > total)
            total = a + w + (double)M * (double)o->layer_n * 4;
        if (st->me.rank == 0 && (a > largest || w > largest))
            largest = a > w ? a : w;
        if (largest > dev_limit || total > dev_total)
            return clr_fail(err, CLR_EUSAGE, "--layer %zux%zu at M = %zu: %.2f GB on one device (its largest buffer "
                                             "%.2f GB), over what it allows (%.2f GB a buffer, %.2f GB in all); "
                                             "lower --batch or --layer",
                            o->layer_k, o->layer_n, M, total / 1e9, largest / 1e9, dev_limit / 1e9, dev_total / 1e9);
        if (case_bytes(M * o->layer_n, nloc, SL, o->strategies) + w + a > 0.8 * host)
            return clr_fail(err, CLR_EUSAGE, "--layer %zux%zu at M = %zu needs more host memory than this rank has",
                            o->layer_k, o->layer_n, M);
    }
    return CLR_OK;
}

static void print_and_write(const clr_ar_results *res, const clr_ar_options *o, clr_error *err, int *rc)
{
    char *texts[3] = {clr_ar_json(res, err), clr_ar_csv(res, err), clr_ar_markdown(res, err)};
    static const char *names[3] = {"allreduce.json", "allreduce.csv", "allreduce.md"};
    char *paths[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; ++i) {
        size_t len = strlen(o->out_dir) + 32;
        paths[i] = malloc(len);
        if (paths[i])
            snprintf(paths[i], len, "%s/%s", o->out_dir, names[i]);
    }
    if (!paths[0] || !paths[1] || !paths[2])
        *rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    if (*rc == CLR_OK)
        *rc = clr_write_texts(o->out_dir, 3, paths, texts, err);
    if (*rc == CLR_OK && !o->quiet) {
        char shown[1024];
        printf("%s\nwritten: %s/allreduce.{json,csv,md}\n", texts[2], clr_escape(o->out_dir, shown, sizeof shown));
    }
    for (int i = 0; i < 3; ++i) {
        free(texts[i]);
        free(paths[i]);
    }
}

int clr_cmd_allreduce(int argc, char **argv, clr_error *err)
{
    clr_ar_options o;
    if (!clr_mpi_launched())
        return refuse(argc, argv, "allreduce runs across MPI ranks and this process was not started by an MPI "
                                  "launcher: run mpirun -np R clrepro allreduce ... (R ranks, one device each; R = 1 "
                                  "for one)", err);
    /* Under a launcher MPI starts first, so that even a refused command line ends on every rank
     * together, after rank 0 has said why. */
    rank_state st;
    memset(&st, 0, sizeof st);
    clr_mpi_start(&argc, &argv, &st.me);
    int help = 0, rc = clr_ar_parse(argc, argv, &o, &help, err);
    if (rc == CLR_OK && help && st.me.rank == 0)
        clr_ar_usage(stdout);
    if (rc || help) {
        clr_mpi_finish(&st.me, rc, err);
        clr_ar_options_free(&o);
        return rc;
    }
    char *line = clr_command_line(argc, argv);
    o.command_line = line;
    double t_start = MPI_Wtime();

    /* The problem, the same on every rank: checked by all, said by rank 0. */
    size_t S = o.slices ? o.slices : clr_ar_lcm_upto((size_t)st.me.size, 65535);
    size_t SL = o.layer_k / CLR_AR_KCHUNK;
    size_t plain_R[CLR_AR_MAX_RANKS], layer_R[CLR_AR_MAX_RANKS], nplain = 0, nlayer = 0;
    if (!S)
        rc = clr_fail(err, CLR_EUSAGE, "lcm(1..%d) slices is too many for %d ranks; give --slices and --ranks", st.me.size,
                      st.me.size);
    if (rc == CLR_OK && st.me.size > CLR_AR_MAX_RANKS)
        rc = clr_fail(err, CLR_EUSAGE, "%d ranks: allreduce runs up to %d", st.me.size, CLR_AR_MAX_RANKS);
    char what[128];
    snprintf(what, sizeof what, "the plain all-reduce's %zu slices (--slices)", S);
    if (rc == CLR_OK && !o.plain_off)
        rc = part_ranks(&o, st.me.size, S, what, plain_R, &nplain, err);
    snprintf(what, sizeof what, "the layer's K = %zu (%zu chunks of %d)", o.layer_k, SL, CLR_AR_KCHUNK);
    if (rc == CLR_OK && o.layer_k)
        rc = part_ranks(&o, st.me.size, SL, what, layer_R, &nlayer, err);
    if (rc == CLR_OK && st.me.rank == 0) /* before anything is measured */
        rc = clr_check_out_dir(o.out_dir, strlen("allreduce.json"), err);
    rc = agree(MPI_COMM_WORLD, &st, rc, err);
    /* Each rank's device, its programs and its memory. */
    if (rc == CLR_OK) {
        rc = open_device(&st, &o, o.layer_k != 0, err);
        if (rc == CLR_OK)
            rc = check_fits(&st, &o, S, plain_R, nplain, SL, layer_R, nlayer, err);
        rc = agree(MPI_COMM_WORLD, &st, rc, err);
    }

    clr_ar_results res;
    memset(&res, 0, sizeof res);
    res.opt = &o;
    res.world = st.me.size;
    res.slices = S;
    clr_utc_timestamp(res.started_utc);
    if (rc == CLR_OK) {
        clr_ar_rank_info me;
        memset(&me, 0, sizeof me);
        me.rank = st.me.rank;
        me.local_rank = st.me.local_rank;
        snprintf(me.host, sizeof me.host, "%s", st.me.host);
        snprintf(me.device, sizeof me.device, "%s", st.dev.name);
        snprintf(me.vendor, sizeof me.vendor, "%s", st.dev.vendor);
        snprintf(me.driver, sizeof me.driver, "%s", st.dev.driver_version);
        snprintf(me.platform, sizeof me.platform, "%s", st.dev.platform_name);
        snprintf(me.type, sizeof me.type, "%s", clr_device_type_name(st.dev.type));
        if (st.me.rank == 0)
            res.ranks = xmalloc(&st, (size_t)st.me.size * sizeof *res.ranks);
        MPI_Gather(&me, (int)sizeof me, MPI_BYTE, res.ranks, (int)sizeof me, MPI_BYTE, 0, MPI_COMM_WORLD);
        int len = 0;
        MPI_Get_library_version(res.mpi_library, &len);
        res.mpi_library[strcspn(res.mpi_library, "\n,")] = '\0';
    }

    run_ctx ctx = {&st, &o, &res, NULL, 0};
    /* The plain all-reduce, then the layer. */
    float **refs = NULL;
    if (rc == CLR_OK)
        run_part(&ctx, 0, plain_R, nplain, S, NULL);
    if (rc == CLR_OK && nlayer) {
        refs = xmalloc(&st, o.nbatches * sizeof *refs);
        memset(refs, 0, o.nbatches * sizeof *refs);
        run_part(&ctx, 1, layer_R, nlayer, SL, refs);
    }
    for (size_t i = 0; refs && i < o.nbatches; ++i)
        free(refs[i]);
    free(refs);
    for (size_t i = 0; i < ctx.nkept; ++i)
        free(ctx.kept[i].bits);
    free(ctx.kept);

    res.wall_seconds = MPI_Wtime() - t_start;
    int status = CLR_OK;
    if (rc == CLR_OK) { /* rank 0 writes; a failure there is everyone's */
        int wrc = CLR_OK;
        if (st.me.rank == 0) {
            print_and_write(&res, &o, err, &wrc);
            size_t invalid = 0;
            for (size_t i = 0; i < res.ncases; ++i)
                invalid += !res.cases[i].valid;
            if (wrc == CLR_OK && invalid) {
                char shown[1024];
                fprintf(stderr, "clrepro: error: %zu allreduce case(s) failed validation (see %s/allreduce.md)\n",
                        invalid, clr_escape(o.out_dir, shown, sizeof shown));
                status = CLR_EFAIL;
            }
        }
        rc = agree(MPI_COMM_WORLD, &st, wrc, err);
        if (rc == CLR_OK)
            MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    close_device(&st);
    free(res.cases);
    free(res.ranks);
    clr_mpi_finish(&st.me, rc, err);
    free(line);
    clr_ar_options_free(&o);
    return rc ? rc : status;
}
#endif
