/* test_exact.c: the `exact` sum strategy on a real device equals the host's exact, correctly
 * rounded sum bit for bit on hard rows, and gives the same bits across batch sizes, work-group
 * sizes, vector widths, input orders and repeated runs. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "device.h"
#include "op.h"
#include "program.h"
#include "reference.h"
#include "runner.h"
#include "test_util.h"

#define SUB_MIN 0x1p-149f

/* Runs sum `strategy` over the given rows (rows x n, as if read from --input) at each batch
 * size with the given tuning (contig 0: the device's default); returns the result (caller
 * frees) after checking every output bit for bit against the host's `want`. */
static void run_sum(const char *strategy, float (*host)(const float *, size_t), const float *data, size_t rows,
                    size_t n, size_t *batches, size_t nbatches, unsigned wg, unsigned vec, int contig,
                    clr_device_result *res)
{
    clr_device dev = test_device();
    clr_shape shape = {.dims = {n}};
    clr_run_config cfg = test_file_config(&clr_op_sum, strategy, &shape, batches, nbatches, data, rows, n);
    cfg.wg = wg;
    cfg.vec = vec;
    cfg.contig = contig;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        for (size_t r = 0; r < c->shape.batch; ++r) {
            float want = host(data + (r % rows) * n, n), got = c->outputs[r];
            ck_assert_msg(clr_float_bits(want) == clr_float_bits(got) || (isnan(want) && isnan(got)),
                          "%s row %zu (n=%zu, batch %zu, wg %u, vec %u, contig %d): device %a (%08x), host %a (%08x)",
                          strategy, r % rows, n, c->shape.batch, wg, vec, contig, (double)got, clr_float_bits(got),
                          (double)want, clr_float_bits(want));
        }
        ck_assert_msg(c->valid && c->r2r_distinct == 1, "not valid or not deterministic");
        if (host == clr_exact_sum)
            ck_assert_msg(c->norders == 0 || c->order_distinct == 1, "order changed the bits");
    }
    ck_assert_uint_eq(res->broken_claims, 0);
}

static void run_exact(const float *data, size_t rows, size_t n, size_t *batches, size_t nbatches, unsigned wg,
                      unsigned vec, clr_device_result *res)
{
    run_sum("exact", clr_exact_sum, data, rows, n, batches, nbatches, wg, vec, 0, res);
}

enum { HARD_N = 4099, HARD_ROWS = 16 };

/* Hard rows: each a few values placed far apart in a row of zeros (or of -0). */
static float *hard_rows(void)
{
    float *m = calloc(HARD_ROWS * HARD_N, sizeof *m);
    struct { float v[4]; } rows[HARD_ROWS] = {
        {{1.0f, -1.0f, SUB_MIN, -SUB_MIN}},          /* cancels to exactly zero */
        {{1.0f, SUB_MIN, -1.0f, 0}},                  /* cancels to a subnormal */
        {{1.0f, 0x1p-24f, 0, 0}},                     /* tie: stays 1 (even) */
        {{1.0f + 0x1p-23f, 0x1p-24f, 0, 0}},          /* tie: rounds up to even */
        {{1.0f, 0x1p-24f, SUB_MIN, 0}},               /* just above the tie */
        {{1.0f, 0x1p-24f, -SUB_MIN, 0}},              /* just below the tie */
        {{FLT_MAX, -FLT_MAX, SUB_MIN, 0x1p-126f}},    /* smallest subnormal to FLT_MAX */
        {{FLT_MAX, FLT_MAX, 0, 0}},                   /* overflows float32: +inf */
        {{FLT_MAX, FLT_MAX, -FLT_MAX, 0}},            /* the partial sum overflows, the total does not */
        {{-FLT_MAX, -FLT_MAX, 0, 0}},                 /* -inf */
        {{INFINITY, 1.0f, 0, 0}},                     /* +inf */
        {{INFINITY, -INFINITY, 0, 0}},                /* NaN */
        {{NAN, 1.0f, 0, 0}},                          /* NaN */
        {{1e30f, 1.0f, -1e30f, 0}},                   /* plain float sums give 0 */
        {{0x1p-130f, -0x1p-131f, 0x1p-149f, 0}},      /* subnormal arithmetic */
        {{0, 0, 0, 0}},                               /* all -0: the sum is -0 */
    };
    for (size_t r = 0; r < HARD_ROWS; ++r) {
        float *row = m + r * HARD_N;
        if (r == HARD_ROWS - 1)
            for (size_t i = 0; i < HARD_N; ++i)
                row[i] = -0.0f;
        else
            for (size_t k = 0; k < 4; ++k)
                row[(k * 1361 + r * 7) % HARD_N] = rows[r].v[k];
    }
    return m;
}

START_TEST(exact_hard_rows)
{
    float *m = hard_rows();
    size_t batches[] = {1, 7, HARD_ROWS};
    clr_device_result res;
    run_exact(m, HARD_ROWS, HARD_N, batches, 3, 0, 0, &res);
    clr_device_result_free(&res);
    /* Work-groups of one work-item and one lane: many parts a row, so the digits and flags
     * (infinities, NaN, -0) of several parts meet in sum_exact_finish; the default tuning makes
     * one part of these rows on CPUs (sum_exact_one_part). */
    size_t few[] = {1, 7}; /* 16 and 3 parts on 2 compute units: B = 16 fills them with one */
    run_exact(m, HARD_ROWS, HARD_N, few, 2, 1, 1, &res);
    if (test_device().type & CL_DEVICE_TYPE_CPU) /* GPUs: parts of at least 2^16 values */
        for (size_t i = 0; i < res.ncases; ++i)
            ck_assert_uint_gt(clr_plan_get(&res.cases[i].plan, "parts"), 1);
    clr_device_result_free(&res);
    free(m);
}
END_TEST

START_TEST(exact_rows_of_one_element)
{
    float m[] = {SUB_MIN, -0.0f, 0.0f, FLT_MAX, -FLT_MAX, INFINITY, NAN, 1.0f, -0x1p-126f, 3.0e-39f};
    size_t batches[] = {1, 10};
    clr_device_result res;
    run_exact(m, 10, 1, batches, 2, 0, 0, &res);
    clr_device_result_free(&res);
}
END_TEST

START_TEST(exact_signed_zeros)
{
    /* Lengths without a tail, so every element goes through the filter: all +0 sums to +0,
     * all -0 to -0, and cancelling pairs (+0 by IEEE rules) to +0. */
    enum { N = 4096 };
    float *m = calloc(3 * N, sizeof *m);
    for (size_t i = 0; i < N; ++i) {
        m[N + i] = -0.0f;
        m[2 * N + i] = (i % 2) ? -(float)(i / 2 + 1) : (float)(i / 2 + 1);
    }
    size_t batches[] = {3};
    clr_device_result res;
    run_exact(m, 3, N, batches, 1, 0, 0, &res);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[0]), 0u);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[1]), 0x80000000u);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[2]), 0u);
    clr_device_result_free(&res);
    free(m);
}
END_TEST

START_TEST(exact_wide_random_rows)
{
    /* Every exponent from 2^-149 to 2^127 in one row, with random signs: the filter spills
     * constantly and the result depends on every bit. */
    enum { N = 20011, ROWS = 4 };
    float *m = malloc(ROWS * N * sizeof *m);
    for (size_t r = 0; r < ROWS; ++r)
        for (size_t i = 0; i < N; ++i) {
            uint64_t h = clr_hash(77, 3, r, i);
            uint32_t bits = (uint32_t)(h & 0x807fffffu) | (uint32_t)((h >> 32) % 255u) << 23;
            m[r * N + i] = clr_bits_float(bits);
        }
    size_t batches[] = {1, 4};
    clr_device_result res;
    run_exact(m, ROWS, N, batches, 2, 0, 0, &res);
    clr_device_result_free(&res);
    free(m);
}
END_TEST

/* Rows whose exact sum is a float32 midpoint (a tie), or one step of 2^-20 either side of one:
 * the certified fast path (cl/exact.clh) must prove which side, resolve an exact tie to even,
 * or leave the row to the long accumulator. Values are multiples of 2^-20 in [-8, 8), so the
 * host's double sum is exact; the last value moves the sum onto the target. Half the rows also
 * hold a pair +-2^40 far apart (it adds exactly 0), so the double-doubles round and the bound is
 * not zero. */
START_TEST(exact_near_ties)
{
    enum { N = 40003, ROWS = 24 };
    float *m = malloc((size_t)ROWS * N * sizeof *m);
    for (size_t r = 0; r < ROWS; ++r) {
        float *row = m + r * N;
        double s = 0;
        for (size_t i = 0; i < N; ++i) {
            uint64_t h = clr_hash(91, 5, r, i);
            row[i] = (float)((double)(int32_t)(h % (1u << 24)) - (double)(1u << 23)) * 0x1p-20f;
            s += row[i];
        }
        if (r % 2) { /* the pair adds exactly 0: s without the values it replaces */
            s -= (double)row[0] + (double)row[N / 2];
            row[0] = 0x1p40f;
            row[N / 2] = -0x1p40f;
        }
        /* The midpoint above the float nearest s, then -1, 0 or +1 steps of 2^-20. */
        float f = (float)s;
        double up = (double)nextafterf(f, INFINITY), mid = ((double)f + up) / 2;
        double target = mid + (double)((int)(r / 2 % 3) - 1) * 0x1p-20;
        double last = (double)row[N - 1] + (target - s);
        ck_assert(fabs(last) < 16 && (double)(float)last == last);
        row[N - 1] = (float)last;
        double check = 0;
        for (size_t i = 0; i < N; ++i)
            if (!(r % 2) || (i != 0 && i != N / 2))
                check += row[i];
        ck_assert(check == target); /* exact: multiples of 2^-20 below 2^17 */
        if (r / 2 % 3 == 1)
            ck_assert(clr_float_bits(clr_exact_sum(row, N)) % 2 == 0); /* a tie: the even one */
    }
    size_t batches[] = {1, ROWS};
    clr_device_result res;
    run_exact(m, ROWS, N, batches, 2, 16, 1, &res); /* several parts a row at B = 1 (CPUs) */
    if (test_device().type & CL_DEVICE_TYPE_CPU)
        ck_assert_uint_gt(clr_plan_get(&res.cases[0].plan, "parts"), 1);
    clr_device_result_free(&res);
    run_sum("exact", clr_exact_sum, m, ROWS, N, batches, 2, 64, 4, CLR_CONTIG_NO, &res); /* GPU-style slices */
    clr_device_result_free(&res);
    free(m);
}
END_TEST

/* exact_certify (cl/exact.clh) called directly on the device, one work-item a triple (h, l, r),
 * against an exact reference on the host. Its contract: the exact sum V satisfies
 * |V - (h + l)| <= 2^-53 r' with r' <= r (1 + 2^-20); when it returns 1, *out must be the
 * correctly rounded float of every such V, and when it returns 0 it writes nothing (the long
 * accumulator then runs). exact_near_ties reaches it only through whole rows: a decline is
 * invisible there (the long accumulator gives the same float) and only the few triples such
 * rows make are tried; here every triple's answer is checked, so a wrong acceptance shows at
 * once. The reference is __float128 (113 bits): without it the test fails rather than pass
 * unchecked. */
#ifdef __SIZEOF_FLOAT128__
static const char certify_probe_cl[] =
    "/* certify_probe.cl (test_exact.c): exact_certify on host-made triples (h, l, r). */\n"
    "#ifndef CLREPRO_FP64\n"
    "#error \"exact_certify needs cl_khr_fp64\"\n"
    "#endif\n"
    "#include \"exact.clh\"\n"
    "kernel void certify_probe(global const double *hlr, global float *out, global uint *ok, uint count)\n"
    "{\n"
    "    uint i = get_global_id(0);\n"
    "    if (i >= count)\n"
    "        return;\n"
    "    float f = as_float(0x7fc0deadu); /* stays when exact_certify declines */\n"
    "    ok[i] = exact_certify(hlr[3 * i], hlr[3 * i + 1], hlr[3 * i + 2], &f);\n"
    "    out[i] = f;\n"
    "}\n"
    "/* Sequence i of len floats (len a multiple of 4): each quarter into its own (h, l, r) by\n"
    " * exact_dd_add, quarters 0+1 and 2+3 merged, then the two halves (exact_dd_merge). */\n"
    "kernel void dd_probe(global const float *x, uint len, global double *hlr, uint count)\n"
    "{\n"
    "    uint i = get_global_id(0);\n"
    "    if (i >= count)\n"
    "        return;\n"
    "    double q[4][3];\n"
    "    for (uint k = 0; k < 4; ++k) {\n"
    "        q[k][0] = 0.0;\n"
    "        q[k][1] = 0.0;\n"
    "        q[k][2] = 0.0;\n"
    "        for (uint j = k * (len / 4); j < (k + 1) * (len / 4); ++j)\n"
    "            exact_dd_add(&q[k][0], &q[k][1], &q[k][2], (double)x[(ulong)i * len + j]);\n"
    "    }\n"
    "    exact_dd_merge(&q[0][0], &q[0][1], &q[0][2], q[1][0], q[1][1], q[1][2]);\n"
    "    exact_dd_merge(&q[2][0], &q[2][1], &q[2][2], q[3][0], q[3][1], q[3][2]);\n"
    "    exact_dd_merge(&q[0][0], &q[0][1], &q[0][2], q[2][0], q[2][1], q[2][2]);\n"
    "    hlr[3 * i] = q[0][0];\n"
    "    hlr[3 * i + 1] = q[0][1];\n"
    "    hlr[3 * i + 2] = q[0][2];\n"
    "}\n";
#define CERTIFY_UNTOUCHED 0x7fc0deadu

/* Copies CLREPRO_SOURCE_DIR/cl/<name> into dir: read at run time, so an edit to the source
 * tree is what the probe builds, without rebuilding this test. */
static void copy_cl_file(const char *dir, const char *name)
{
    char src[1024], dst[1024];
    snprintf(src, sizeof src, "%s/cl/%s", CLREPRO_SOURCE_DIR, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    FILE *in = fopen(src, "rb");
    ck_assert_msg(in != NULL, "%s: %s", src, strerror(errno));
    FILE *out = fopen(dst, "wb");
    ck_assert_msg(out != NULL, "%s: %s", dst, strerror(errno));
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    ck_assert(!ferror(in));
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
}

/* The probe program of cl/exact.clh's double-double functions, built on the test device. */
typedef struct {
    char dir[512];
    cl_context ctx;
    cl_command_queue queue;
    clr_program prog;
} exact_probe;

static void probe_open(exact_probe *p)
{
    clr_device dev = test_device();
    ck_assert_msg(dev.fp64, "%s has no fp64: the fast path is not compiled for it", dev.name);
    test_mkdtemp(p->dir, sizeof p->dir, "certify");
    copy_cl_file(p->dir, "exact.clh");
    copy_cl_file(p->dir, "reduce.clh");
    char path[1024];
    snprintf(path, sizeof path, "%s/certify_probe.cl", p->dir);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(certify_probe_cl, 1, sizeof certify_probe_cl - 1, f), sizeof certify_probe_cl - 1);
    ck_assert_int_eq(fclose(f), 0);
    clr_error err = {0};
    ck_assert_msg(clr_device_open(&dev, &p->ctx, &p->queue, 0, &err) == 0, "%s", err.msg);
    clr_tuning tuning = clr_tuning_default(&dev);
    ck_assert_msg(clr_program_build(p->ctx, &dev, p->dir, "certify_probe.cl", &tuning,
                                    "-DEXACT_LIMBS=" CLR_STR(CLR_CL_EXACT_LIMBS), &p->prog, &err) == 0,
                  "%s", test_tail(err.msg, 2000));
}

static void probe_close(exact_probe *p)
{
    clr_program_release(&p->prog);
    ck_assert_int_eq(clReleaseCommandQueue(p->queue), CL_SUCCESS);
    ck_assert_int_eq(clReleaseContext(p->ctx), CL_SUCCESS);
    test_remove_kernels(p->dir);
}

static cl_mem probe_buffer(exact_probe *p, cl_mem_flags flags, size_t bytes, const void *data)
{
    cl_int st;
    cl_mem m = clCreateBuffer(p->ctx, flags | (data ? CL_MEM_COPY_HOST_PTR : 0), bytes, (void *)data, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
    return m;
}

static void probe_read(exact_probe *p, cl_mem m, size_t bytes, void *out)
{
    ck_assert_int_eq(clEnqueueReadBuffer(p->queue, m, CL_TRUE, 0, bytes, out, 0, NULL, NULL), CL_SUCCESS);
    ck_assert_int_eq(clReleaseMemObject(m), CL_SUCCESS);
}

static void probe_launch(exact_probe *p, const char *name, size_t global, unsigned nargs, const size_t *sizes,
                         const void *const *args)
{
    cl_kernel k;
    clr_error err = {0};
    ck_assert_msg(clr_program_kernel(&p->prog, name, &k, &err) == 0, "%s", err.msg);
    for (unsigned i = 0; i < nargs; ++i)
        ck_assert_int_eq(clSetKernelArg(k, i, sizes[i], args[i]), CL_SUCCESS);
    ck_assert_int_eq(clEnqueueNDRangeKernel(p->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL), CL_SUCCESS);
}

/* Runs exact_certify on n triples hlr[3i..3i+2] on the test device: ok[i] and out[i]. */
static void certify_on_device(const double *hlr, size_t n, uint32_t *ok, float *out)
{
    exact_probe p;
    probe_open(&p);
    cl_mem in_buf = probe_buffer(&p, CL_MEM_READ_ONLY, 3 * n * sizeof(double), hlr);
    cl_mem out_buf = probe_buffer(&p, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL);
    cl_mem ok_buf = probe_buffer(&p, CL_MEM_WRITE_ONLY, n * sizeof(cl_uint), NULL);
    cl_uint count = (cl_uint)n;
    const size_t sizes[] = {sizeof in_buf, sizeof out_buf, sizeof ok_buf, sizeof count};
    const void *const args[] = {&in_buf, &out_buf, &ok_buf, &count};
    probe_launch(&p, "certify_probe", n, 4, sizes, args);
    probe_read(&p, out_buf, n * sizeof(float), out);
    probe_read(&p, ok_buf, n * sizeof(cl_uint), ok);
    ck_assert_int_eq(clReleaseMemObject(in_buf), CL_SUCCESS);
    probe_close(&p);
}

/* Runs dd_probe over count sequences of len floats: hlr[3i..3i+2] of sequence i. */
static void dd_on_device(const float *x, size_t len, size_t count, double *hlr)
{
    exact_probe p;
    probe_open(&p);
    cl_mem in_buf = probe_buffer(&p, CL_MEM_READ_ONLY, len * count * sizeof(float), x);
    cl_mem out_buf = probe_buffer(&p, CL_MEM_WRITE_ONLY, 3 * count * sizeof(double), NULL);
    cl_uint n = (cl_uint)len, c = (cl_uint)count;
    const size_t sizes[] = {sizeof in_buf, sizeof n, sizeof out_buf, sizeof c};
    const void *const args[] = {&in_buf, &n, &out_buf, &c};
    probe_launch(&p, "dd_probe", count, 4, sizes, args);
    probe_read(&p, out_buf, 3 * count * sizeof(double), hlr);
    ck_assert_int_eq(clReleaseMemObject(in_buf), CL_SUCCESS);
    probe_close(&p);
}

typedef __float128 quad;

/* a + b in __float128, which must not round: TwoSum's error term is exactly what rounding
 * lost. The triples are made so that every reference sum fits in 113 bits; a triple that does
 * not would make the reference itself wrong near a midpoint, so it fails here instead. */
static quad quad_add_exact(quad a, quad b, const char *what, size_t i)
{
    quad s = a + b, z = s - a;
    quad e = (a - (s - z)) + (b - z);
    ck_assert_msg(e == 0, "triple %zu (%s): the __float128 reference rounds; make the triple differently", i, what);
    return s;
}

enum certify_class {
    CERT_TIE,         /* a: h an exact midpoint, l = r = 0: accepted, the even neighbour */
    CERT_NEAR,        /* b: a few double ulps off a midpoint, l = r = 0: accepted, that side */
    CERT_CROSS,       /* c: the same with 2^-53 r (1 + 2^-20) past the midpoint: declined */
    CERT_CLEAR,       /* c: the same with 2^-53 r = distance / 32: accepted, that side */
    CERT_OFF_TIE,     /* d: h a midpoint, l tiny and nonzero: if accepted, the side of l */
    CERT_RANDOM,      /* e: random h, l and r: sound, and both outcomes occur */
    CERT_RANDOM_NEAR, /* e: random h within 2^20 double ulps of a midpoint, r about that far */
    CERT_EDGE,        /* FLT_MAX, subnormals, cancellation, zeros, infinities, NaN */
    CERT_CLASSES
};
static const char *const certify_class_name[CERT_CLASSES] = {"tie", "near", "cross", "clear",
                                                             "off-tie", "random", "random-near", "edge"};

typedef struct {
    double h, l, r;
    int cls;
    int must;      /* 1: must be accepted, 0: must be declined, -1: either (sound if accepted) */
    int has_want;  /* the float an acceptance must give, known by construction */
    uint32_t want;
} certify_case;

static uint64_t certify_draw(int cls, size_t i, uint64_t k)
{
    return clr_hash(2718, (uint64_t)cls, i, k);
}

/* Two adjacent floats a < b (magnitudes), neither 0 nor FLT_MAX, so that every value between
 * them rounds to one of them and exact_certify has no reason to decline (it leaves a sum of 0
 * and |sum| = FLT_MAX to the long accumulator): fixed edges first (the smallest subnormals, the
 * subnormal-normal step, exponent steps, the top), then one pair in eight subnormal and the
 * rest over every exponent. */
static void certify_pair(int cls, size_t i, float *a, float *b)
{
    static const uint32_t edges[] = {1,          2,          0x7ffffe,   0x7fffff,   0x800000,
                                     0x3f7fffff, 0x3f800000, 0x4b7fffff, 0x7f7ffffc, 0x7f7ffffd};
    uint64_t x = certify_draw(cls, i, 0);
    uint32_t m = i < sizeof edges / sizeof edges[0] ? edges[i]
                 : x % 8 == 0                       ? 1 + (uint32_t)((x >> 3) % 0x7fffff)
                                                    : 1 + (uint32_t)((x >> 3) % 0x7f7ffffd);
    *a = clr_bits_float(m);
    *b = clr_bits_float(m + 1);
}

/* A random double with `bits` significant bits (the top one set) in [2^e, 2^(e+1)). */
static double certify_mantissa(uint64_t x, int bits, int e)
{
    uint64_t m = (1ull << (bits - 1)) | (x & ((1ull << (bits - 1)) - 1));
    return ldexp((double)m, e - (bits - 1));
}

/* The triples of every class, into c (room for CERTIFY_MAX); their number. */
enum { CERTIFY_PER_CLASS = 800, CERTIFY_RANDOM = 1500, CERTIFY_MAX = 10000 };
static size_t certify_cases(certify_case *c)
{
    size_t n = 0;
    for (size_t i = 0; i < CERTIFY_PER_CLASS; ++i) { /* a: exact ties */
        float a, b;
        certify_pair(CERT_TIE, i, &a, &b);
        double s = certify_draw(CERT_TIE, i, 1) & 1 ? -1.0 : 1.0, mid = ((double)a + (double)b) * 0.5;
        float even = clr_float_bits(a) % 2 == 0 ? a : b;
        c[n++] = (certify_case){s * mid, 0, 0, CERT_TIE, 1, 1, clr_float_bits((float)s * even)};
    }
    for (size_t i = 0; i < CERTIFY_PER_CLASS; ++i) { /* b and c: near ties */
        for (int cls = CERT_NEAR; cls <= CERT_CROSS; ++cls) {
            float a, b;
            certify_pair(cls, i, &a, &b);
            uint64_t x = certify_draw(cls, i, 1);
            double s = x & 1 ? -1.0 : 1.0, mid = ((double)a + (double)b) * 0.5, h = mid;
            int up = (x >> 1) & 1;
            for (uint64_t k = 0; k < 1 + (x >> 2) % 4; ++k)
                h = nextafter(h, up ? INFINITY : 0.0);
            uint32_t side = clr_float_bits((float)s * (up ? b : a));
            if (cls == CERT_NEAR) {
                c[n++] = (certify_case){s * h, 0, 0, CERT_NEAR, 1, 1, side};
                continue;
            }
            /* The distance to the midpoint (exact: Sterbenz). 2^-53 r from a hair below it (only
             * the factor 1 + 2^-20 carries the interval across), exactly it, a little more or
             * twice it: the interval crosses the midpoint, so V may round either way; 2^-53 r =
             * distance / 32 stays well clear of it. */
            double dist = fabs(h - mid);
            const double cross[] = {0x1p53 - 0x1p32, 0x1p53, 0x1p53 + 0x1p45, 0x1p54};
            for (size_t k = 0; k < 4; ++k)
                c[n++] = (certify_case){s * h, 0, dist * cross[k], CERT_CROSS, 0, 0, 0};
            c[n++] = (certify_case){s * h, 0, dist * 0x1p48, CERT_CLEAR, 1, 1, side};
        }
    }
    for (size_t i = 0; i < CERTIFY_PER_CLASS; ++i) { /* d: a midpoint and a tiny l */
        float a, b;
        certify_pair(CERT_OFF_TIE, i, &a, &b);
        uint64_t x = certify_draw(CERT_OFF_TIE, i, 1);
        double s = x & 1 ? -1.0 : 1.0, mid = ((double)a + (double)b) * 0.5;
        int e = ilogb(mid), j = 24 + (int)((x >> 2) % 77); /* |l| from 2^-24 to 2^-100 |h| */
        double sl = (x >> 1) & 1 ? -s : s, l = sl * certify_mantissa(x >> 16, 4, e - j);
        /* r = |l| (the kernels' r always holds the last |l|) where the reference stays exact;
         * beyond, 0 or 2^(e-32), whose interval crosses the midpoint once |l| < 2^-52 r. */
        double r = j <= 32 ? fabs(l) : (x >> 9) & 1 ? ldexp(1, e - 32) : 0;
        float side = (float)s * (sl == s ? b : a);
        c[n++] = (certify_case){s * mid, l, r, CERT_OFF_TIE, -1, 1, clr_float_bits(side)};
    }
    for (size_t i = 0; i < CERTIFY_RANDOM; ++i) { /* e: random */
        uint64_t x = certify_draw(CERT_RANDOM, i, 1), y = certify_draw(CERT_RANDOM, i, 2);
        int e = -155 + (int)(x % 284); /* from below half the smallest subnormal to past FLT_MAX */
        double h = (x >> 9) & 1 ? -certify_mantissa(y, 53, e) : certify_mantissa(y, 53, e);
        uint64_t z = certify_draw(CERT_RANDOM, i, 3);
        int j = 8 + (int)(z % 91); /* |l| from 2^-8 to 2^-98 |h|, 12 bits: h + l fits 113 bits */
        double l = z % 8 == 0 ? 0 : (z >> 8) & 1 ? -certify_mantissa(z >> 9, 12, e - j)
                                                 : certify_mantissa(z >> 9, 12, e - j);
        /* r: 0, small (2^-53 r from 2^-84 to 2^-74 |h|) or large (2^-39 to 2^-19 |h|, around the
         * half float ulp of 2^-25 |h|); 8 bits, so that r (1 + 2^-20) 2^-53 fits too. */
        uint64_t w = certify_draw(CERT_RANDOM, i, 4);
        int mode = (int)(w % 3);
        double r = mode == 0 ? 0
                   : mode == 1 ? certify_mantissa(w >> 8, 8, e - 31 + (int)((w >> 2) % 11))
                               : certify_mantissa(w >> 8, 8, e + 14 + (int)((w >> 2) % 21));
        c[n++] = (certify_case){h, l, r, CERT_RANDOM, -1, 0, 0};
    }
    for (size_t i = 0; i < CERTIFY_RANDOM; ++i) { /* e: random near a midpoint */
        float a, b;
        certify_pair(CERT_RANDOM_NEAR, i, &a, &b);
        uint64_t x = certify_draw(CERT_RANDOM_NEAR, i, 1), y = certify_draw(CERT_RANDOM_NEAR, i, 2);
        double s = x & 1 ? -1.0 : 1.0, mid = ((double)a + (double)b) * 0.5;
        int e = ilogb(mid);
        uint64_t k = (y % 2 ? y >> 44 : y >> 60); /* up to 2^20 double ulps away, often few */
        double off = ldexp((double)k, e - 52), h = s * ((x >> 1) & 1 ? mid + off : mid - off);
        int j = 53 + (int)((x >> 2) % 46); /* below h's last bit, as in a double-double */
        double l = (x >> 8) % 4 == 0 ? 0 : (x >> 10) & 1 ? -certify_mantissa(x >> 11, 12, e - j)
                                                        : certify_mantissa(x >> 11, 12, e - j);
        /* 2^-53 r from 2^-4 to 2^4 times the distance, or 0 */
        uint64_t w = certify_draw(CERT_RANDOM_NEAR, i, 3);
        int lk = 0;
        while ((k >> lk) > 1)
            ++lk;
        double r = w % 5 == 0 ? 0 : certify_mantissa(w >> 8, 8, e + 1 + lk - 4 + (int)((w >> 3) % 9));
        c[n++] = (certify_case){h, l, r, CERT_RANDOM_NEAR, -1, 0, 0};
    }
    /* Edges: declined where no finite V exists or V is 0 (its sign is the inputs' business);
     * elsewhere any acceptance must be right. l and 2^-73 r stay above 2^-112 |h|, so that the
     * reference is exact. */
    const double fmax = FLT_MAX, top_tie = FLT_MAX - 0x1p103, sub = 0x1p-149;
    const struct { double h, l, r; int must; } edge[] = {
        {INFINITY, 0, 0, 0}, {-INFINITY, 0, 0, 0}, {NAN, 0, 0, 0}, {1, NAN, 0, 0}, {1, 0, NAN, 0},
        {1, 0, INFINITY, 0}, {1, INFINITY, 0, 0}, {INFINITY, -INFINITY, 0, 0}, {1, -INFINITY, 0, 0},
        {0, 0, 0, 0}, {-0.0, 0, 0, 0}, {0, 0, 1, 0}, {-0.0, -0.0, 0x1p-200, 0}, {0x1p40, -0x1p40, 0, 0},
        {fmax, 0, 0, -1}, {-fmax, 0, 0, -1}, {fmax + 0x1p103, 0, 0, -1}, {fmax + 0x1p103 - 0x1p75, 0, 0, -1},
        {fmax, 0x1p102, 0, -1}, {fmax - 0x1p80, 0, 0x1p95, -1}, {0x1p128, 0, 0, -1}, {-0x1p128, 0, 0, -1},
        {top_tie, 0, 0, 1}, {-top_tie, 0, 0, 1}, {top_tie, 0x1p70, 0, -1}, {top_tie, -0x1p70, 0, -1},
        {-top_tie, 0x1p70, 0, -1}, {top_tie, -0x1p70, 0x1p90, -1}, {top_tie - 0x1p75, 0, 0x1p120, -1},
        {sub / 2, 0, 0, -1}, {-sub / 2, 0, 0, -1}, {sub / 2 + 0x1p-200, 0, 0, -1}, {sub / 2, 0x1p-200, 0, -1},
        {sub / 2, -0x1p-200, 0, -1}, {-sub / 2, -0x1p-200, 0x1p-185, -1}, {0, sub, 0, -1}, {0, 3 * sub / 2, 0, -1},
        {0, -5 * sub / 2, 0x1p-180, -1}, {sub, 0, 0, 1}, {-sub, 0, 0x1p-180, -1}, {0x1p-126 - sub / 2, 0, 0, 1},
        {0x1p-126 - sub / 2, 0x1p-160, 0x1p-160, -1}, {0x1p-126 - sub / 2, -0x1p-160, 0x1p-160, -1},
        {0x1p60, -0x1p60 + 256, 0, -1}, {0x1p28, -(0x1p28 - 1 - 0x1p-24), 0, -1},
        {0x1p28, -(0x1p28 - 1 - 0x1p-24) + 0x1p-24, 0x1p-10, -1}, {0x1p40, -0x1p40 + 0x1p-10, 0x1p-12, -1},
        {1, 0, 0x1p80, 0}, {1, 0, DBL_MAX, 0}, {1 + 0x1p-24, 0, 0x1p-36, -1}, {1 + 0x1p-24, 0x1p-70, 0x1p-36, -1},
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; ++i)
        c[n++] = (certify_case){edge[i].h, edge[i].l, edge[i].r, CERT_EDGE, edge[i].must, 0, 0};
    ck_assert_uint_le(n, CERTIFY_MAX);
    return n;
}
#endif

/* The double-doubles' bound itself: dd_probe sums sequences of 64 floats through exact_dd_add
 * (four quarters) and exact_dd_merge (a tree of three), and the host checks the claim
 * exact_certify rests on, |V - (h + l)| <= 2^-53 r (1 + 2^-20), exactly: the long accumulator
 * takes the sequence and -h and -l (each split into three floats exactly) and rounds the
 * difference once. Exponents from 2^-40 to 2^60 make the low parts round; a quarter of the
 * sequences cancel their large values, so the low part is most of the sum; half build a large
 * low part and then add only values far below it. The bound must also be
 * tight somewhere (within 8x of an error seen), or a charge left out of r would pass. */
static void deposit_double_negated(clr_exact_acc *acc, double d)
{
    float hi = (float)d;
    double rem = d - (double)hi; /* exact: hi is d rounded */
    float mid = (float)rem;
    float lo = (float)(rem - (double)mid); /* at most 5 bits left: exact */
    ck_assert((double)hi + (double)mid + (double)lo == d || fabs(d) > 0x1p100);
    clr_exact_add(acc, -hi);
    clr_exact_add(acc, -mid);
    clr_exact_add(acc, -lo);
}

START_TEST(exact_dd_bound_holds)
{
    if (!test_device().fp64)
        return; /* no fast path on this device: the long accumulator alone (exact_hard_rows) */
#ifndef __SIZEOF_FLOAT128__
    ck_abort_msg("exact_dd_bound_holds uses the probe of exact_certify_is_sound, which needs __float128");
#else
    enum { LEN = 256, COUNT = 2000 };
    float *x = malloc((size_t)LEN * COUNT * sizeof *x);
    double *hlr = malloc(3 * (size_t)COUNT * sizeof *hlr);
    for (size_t s = 0; s < COUNT; ++s)
        for (size_t j = 0; j < LEN; ++j) {
            uint64_t h = clr_hash(17, 9, s, j);
            int e = (int)(h % 101) - 40; /* 2^-40 .. 2^60 */
            float v = ldexpf(1.0f + (float)((h >> 8) & 0x7fffff) * 0x1p-23f, e);
            if ((h >> 40) & 1)
                v = -v;
            if (s % 4 == 1 && j >= LEN / 2 && fabsf(x[s * LEN + j - LEN / 2]) > 0x1p20f)
                v = -x[s * LEN + j - LEN / 2]; /* the large values of the first half cancelled */
            if (s % 4 >= 2) /* a large low part first, then only tiny values: each rounds it, with
                             * TwoSum errors far below it (a bound charging those would be short) */
                v = j % (LEN / 4) == 0  ? copysignf(0x1p60f, v) /* h's ulp 2^10 from here on */
                    : j % (LEN / 4) < 4 ? ldexpf(v, 30 - e)  /* errors up to 2^10: l that large */
                                        : ldexpf(v, -35 - (int)(h % 8) - e); /* each rounds l */
            x[s * LEN + j] = v;
        }
    dd_on_device(x, LEN, COUNT, hlr);
    size_t rounded = 0;
    double tightest = 0;
    for (size_t s = 0; s < COUNT; ++s) {
        double h = hlr[3 * s], l = hlr[3 * s + 1], r = hlr[3 * s + 2];
        clr_exact_acc acc;
        clr_exact_init(&acc);
        for (size_t j = 0; j < LEN; ++j)
            clr_exact_add(&acc, x[s * LEN + j]);
        deposit_double_negated(&acc, h);
        deposit_double_negated(&acc, l);
        double d = fabs((double)clr_exact_result(&acc)); /* |V - (h + l)|, rounded once */
        double bound = 0x1p-53 * r * (1 + 0x1p-20) * (1 + 0x1p-23);
        ck_assert_msg(d <= bound, "sequence %zu: |V - (h + l)| = %a > 2^-53 r = %a (h %a, l %a)", s, d, bound, h, l);
        rounded += d > 0;
        if (r > 0 && d / (0x1p-53 * r) > tightest)
            tightest = d / (0x1p-53 * r);
    }
    ck_assert_msg(rounded > COUNT / 10, "only %zu of %d sequences rounded: the bound is not being tested", rounded,
                  COUNT);
    ck_assert_msg(tightest > 0.125, "the error reached at most %.3g of the bound: too loose to catch a lost charge",
                  tightest);
    free(x);
    free(hlr);
#endif
}
END_TEST

START_TEST(exact_certify_is_sound)
{
    if (!test_device().fp64)
        return; /* no fast path on this device: the long accumulator alone (exact_hard_rows) */
#ifndef __SIZEOF_FLOAT128__
    ck_abort_msg("exact_certify_is_sound needs __float128 (gcc on x86-64) for its exact reference");
#else
    certify_case *c = malloc(CERTIFY_MAX * sizeof *c);
    double *hlr = malloc(3 * CERTIFY_MAX * sizeof *hlr);
    uint32_t *ok = malloc(CERTIFY_MAX * sizeof *ok);
    float *out = malloc(CERTIFY_MAX * sizeof *out);
    ck_assert(c && hlr && ok && out);
    size_t n = certify_cases(c);
    for (size_t i = 0; i < n; ++i) {
        hlr[3 * i] = c[i].h;
        hlr[3 * i + 1] = c[i].l;
        hlr[3 * i + 2] = c[i].r;
    }
    certify_on_device(hlr, n, ok, out);
    size_t accepted[CERT_CLASSES] = {0}, declined[CERT_CLASSES] = {0};
    for (size_t i = 0; i < n; ++i) {
        const certify_case *t = &c[i];
        const char *name = certify_class_name[t->cls];
        uint32_t got = clr_float_bits(out[i]);
        /* Every V within 2^-53 r (1 + 2^-20) of h + l must round to out: rounding is monotonic,
         * so the two ends and the centre suffice. Each conversion to float rounds once, to
         * nearest even, as the exact sum does. Made for every triple that may be accepted,
         * whatever the device said, so that an inexact reference is the triple's fault alone. */
        uint32_t want0 = 0, want_lo = 0, want_hi = 0;
        if (t->must != 0) {
            quad v0 = quad_add_exact(t->h, t->l, name, i);
            quad rad = quad_add_exact(t->r, (quad)t->r * (quad)0x1p-20, name, i) * (quad)0x1p-53;
            want0 = clr_float_bits((float)v0);
            want_lo = clr_float_bits((float)quad_add_exact(v0, -rad, name, i));
            want_hi = clr_float_bits((float)quad_add_exact(v0, rad, name, i));
        }
        ck_assert_msg(ok[i] <= 1, "triple %zu (%s): exact_certify returned %u", i, name, ok[i]);
        ck_assert_msg(t->must < 0 || (int)ok[i] == t->must,
                      "triple %zu (%s): h %a l %a r %a was %s, must be %s (out %08x)", i, name, t->h, t->l, t->r,
                      ok[i] ? "accepted" : "declined", t->must ? "accepted" : "declined", got);
        if (!ok[i]) {
            ck_assert_msg(got == CERTIFY_UNTOUCHED, "triple %zu (%s): declined but wrote %08x", i, name, got);
            declined[t->cls]++;
            continue;
        }
        accepted[t->cls]++;
        ck_assert_msg(got == want0 && got == want_lo && got == want_hi && (!t->has_want || got == t->want),
                      "triple %zu (%s): h %a l %a r %a accepted as %08x; V rounds to %08x (centre), %08x (low "
                      "end), %08x (high end)%s%08x",
                      i, name, t->h, t->l, t->r, got, want0, want_lo, want_hi, t->has_want ? ", by design " : "",
                      t->has_want ? t->want : 0u);
    }
    /* e must see both outcomes, or its soundness check proves little; d must accept the l
     * far from the midpoint (|l| above 2^-52 r). */
    ck_assert_uint_gt(accepted[CERT_RANDOM], 0);
    ck_assert_uint_gt(declined[CERT_RANDOM], 0);
    ck_assert_uint_gt(accepted[CERT_RANDOM_NEAR], 0);
    ck_assert_uint_gt(declined[CERT_RANDOM_NEAR], 0);
    ck_assert_uint_gt(accepted[CERT_OFF_TIE], 0);
    free(c);
    free(hlr);
    free(ok);
    free(out);
#endif
}
END_TEST

START_TEST(exact_same_bits_across_tunings)
{
    /* Work-group size and vector width change every partial sum inside the kernel; the
     * result must not change (it is also checked against the host in run_exact). */
    enum { N = 100003, ROWS = 3 };
    float *m = malloc(ROWS * N * sizeof *m);
    for (size_t r = 0; r < ROWS; ++r)
        clr_gen_row(5, r == 2 ? CLR_DIST_ILLCOND : CLR_DIST_NORMAL, r, m + r * N, N);
    size_t batches[] = {1, 3};
    /* {wg, vec, contig}: the last interleaved, as on GPUs (exact_dd_share's other loop) */
    const unsigned tunings[][3] = {{1, 1, 0}, {4, 2, 0}, {16, 16, 0}, {64, 4, 0}, {256, 8, 0},
                                   {16, 1, CLR_CONTIG_NO}};
    uint64_t first[2] = {0, 0};
    for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t) {
        clr_device_result res;
        run_sum("exact", clr_exact_sum, m, ROWS, N, batches, 2, tunings[t][0], tunings[t][1], (int)tunings[t][2],
                &res);
        for (size_t i = 0; i < 2; ++i) {
            if (t == 0)
                first[i] = res.cases[i].fingerprint;
            ck_assert_msg(res.cases[i].fingerprint == first[i], "wg %u vec %u changed the bits", tunings[t][0],
                          tunings[t][1]);
        }
        clr_device_result_free(&res);
    }
    free(m);
}
END_TEST

START_TEST(tree_is_the_host_tree_in_every_tuning)
{
    /* `tree` claims one tree per n: the host replay (src/reference.c) and the device agree bit
     * for bit whatever the work-group size, vector width, slicing and batch, for rows of one
     * block, a block and one, two levels with a ragged end, and signed zeros and infinities. */
    const size_t sizes[] = {1, 7, 4096, 4097, 3 * 4096 + 5, (1u << 20) + 3};
    const unsigned tunings[][3] = {{1, 1, 2}, {16, 16, 1}, {64, 4, 2}, {256, 4, 2}, {32, 8, 1}, {256, 16, 2}};
    size_t batches[] = {1, 3};
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; ++z) {
        size_t n = sizes[z];
        enum { ROWS = 3 };
        float *m = malloc(ROWS * n * sizeof *m);
        for (size_t r = 0; r < ROWS; ++r)
            clr_gen_row(11, r == 1 ? CLR_DIST_ILLCOND : CLR_DIST_NORMAL, r, m + r * n, n);
        for (size_t i = 0; i < n; ++i)
            m[2 * n + i] = -0.0f; /* row 2: -0 only, whose sum is -0 (a +0 anywhere would make it +0) */
        if (n > 5)
            m[n + 5] = -INFINITY;
        for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t) {
            if (n > 5000 && t % 2)
                continue; /* the large rows in half the tunings: PoCL compiles each */
            clr_device_result res;
            run_sum("tree", clr_tree_sum, m, ROWS, n, batches, 2, tunings[t][0], tunings[t][1], (int)tunings[t][2],
                    &res);
            clr_device_result_free(&res);
        }
        free(m);
    }
}
END_TEST

START_TEST(exact_same_bits_for_permuted_rows)
{
    /* Row 1 is row 0 reversed, row 2 is row 0 shuffled: three rows, one result. */
    enum { N = 65537 };
    float *m = malloc(3 * N * sizeof *m);
    clr_gen_row(9, CLR_DIST_ILLCOND, 0, m, N);
    for (size_t i = 0; i < N; ++i)
        m[N + i] = m[N - 1 - i];
    memcpy(m + 2 * N, m, N * sizeof *m);
    clr_shape shape = {.batch = 1, .dims = {N}};
    clr_op_sum.permute_row(&shape, m + 2 * N, 4242);
    size_t batches[] = {3};
    clr_device_result res;
    run_exact(m, 3, N, batches, 1, 0, 0, &res);
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[0]), clr_float_bits(res.cases[0].outputs[1]));
    ck_assert_uint_eq(clr_float_bits(res.cases[0].outputs[0]), clr_float_bits(res.cases[0].outputs[2]));
    clr_device_result_free(&res);
    free(m);
}
END_TEST

/* split, fixedsplit and compensated over the hard rows (cancellation, ties, infinities, NaN, a
 * partial sum that overflows, a row of -0) and rows of one element, with one chunk a row (one
 * launch) and with several (partial sums or pairs, then sum_combine or sum_compensated_merge), in
 * four tunings: every case must be the host's replay bit for bit, and a row of -0 gives +0 (the
 * sums start from +0). The overflowing row (FLT_MAX, FLT_MAX, -FLT_MAX: +inf from the left,
 * FLT_MAX exactly) was judged invalid by the error bound before the bound stood aside for it. */
START_TEST(split_one_chunk_is_the_combined_bits)
{
    float *m = hard_rows();
    float ones[] = {SUB_MIN, -0.0f, 0.0f, FLT_MAX, -FLT_MAX, INFINITY, NAN, 1.0f, -0x1p-126f, 3.0e-39f};
    const unsigned tunings[][3] = {{1, 1, 1}, {16, 16, 1}, {256, 4, 2}, {64, 8, 2}};
    const unsigned chunks[] = {0, 1024}; /* the device's default (one chunk of 4099), 5 chunks */
    const char *strategies[] = {"split", "fixedsplit", "compensated"};
    for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t)
        for (size_t c = 0; c < 2; ++c)
            for (size_t k = 0; k < 3; ++k)
                for (int one = 0; one < 2; ++one) {
                    if (k == 0 && c == 1)
                        continue; /* split sizes its chunks from the batch, not --chunk */
                    size_t n = one ? 1 : HARD_N, rows = one ? 10 : HARD_ROWS, batches[] = {1, rows};
                    clr_device dev = test_device();
                    clr_shape shape = {.dims = {n}};
                    clr_run_config cfg = test_file_config(&clr_op_sum, strategies[k], &shape, batches, 2,
                                                          one ? ones : m, rows, n);
                    cfg.wg = tunings[t][0];
                    cfg.vec = tunings[t][1];
                    cfg.contig = (clr_contig)tunings[t][2];
                    cfg.chunk = chunks[c];
                    clr_device_result res;
                    clr_error err = {0};
                    ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
                    for (size_t i = 0; i < res.ncases; ++i) {
                        /* fixedsplit: one chunk of 4099 (the device's chunk is larger) or 5 */
                        if (k == 1)
                            ck_assert_uint_eq(clr_plan_get(&res.cases[i].plan, "parts"), one ? 1 : c ? 5 : 1);
                        /* compensated: the chunk is 64 times larger on CPU-style tunings */
                        if (k == 2)
                            ck_assert_uint_eq(clr_plan_get(&res.cases[i].plan, "parts"),
                                              one || !c || tunings[t][2] == 1 ? 1 : 5);
                        ck_assert_msg(res.replay, "the device flushes subnormals: no replay to hold to");
                        ck_assert_msg(res.cases[i].valid && res.cases[i].r2r_distinct == 1,
                                      "%s n=%zu B=%zu wg %u vec %u chunk %u: valid %d, %zu outputs in the trials", strategies[k],
                                      n, res.cases[i].shape.batch, cfg.wg, cfg.vec, cfg.chunk, res.cases[i].valid,
                                      res.cases[i].r2r_distinct);
                    }
                    const clr_case *big = &res.cases[res.ncases - 1];
                    float zero_row = one ? big->outputs[1] : big->outputs[HARD_ROWS - 1];
                    ck_assert_msg(clr_float_bits(zero_row) == 0u, "%s: a row of -0 gave %08x", strategies[k],
                                  clr_float_bits(zero_row));
                    clr_device_result_free(&res);
                }
    free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exact");
    TCase *t = tcase_create("exact");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, exact_hard_rows);
    tcase_add_test(t, exact_rows_of_one_element);
    tcase_add_test(t, exact_signed_zeros);
    tcase_add_test(t, exact_wide_random_rows);
    tcase_add_test(t, exact_same_bits_across_tunings);
    tcase_add_test(t, exact_near_ties);
    tcase_add_test(t, exact_dd_bound_holds);
    tcase_add_test(t, exact_certify_is_sound);
    tcase_add_test(t, tree_is_the_host_tree_in_every_tuning);
    tcase_add_test(t, exact_same_bits_for_permuted_rows);
    tcase_add_test(t, split_one_chunk_is_the_combined_bits);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
