/* test_portable.c: the portable exp (cl/portable.clh, include/portable.h). On the host, every
 * one of the 2^32 float inputs against the correctly rounded exp (a stride of them in the
 * sanitizer build): the error bound, how many are not correctly rounded, and the special values.
 * On the device (PoCL by default; the context is made inside the test, as Check forks), a
 * kernel's portable_exp over a million inputs of every exponent gives the host's bits exactly,
 * while the vendor's native_exp does not: the reason the portable one exists. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "device.h"
#include "portable.h"
#include "program.h"
#include "test_util.h"

/* The sanitizer build checks every STRIDE-th input (odd, so every exponent and both signs). */
#ifdef CLREPRO_SANITIZE
#define STRIDE 15u
#else
#define STRIDE 1u
#endif
/* Measured over all 2^32 inputs, as cl/portable.clh's header says. A change to portable_exp
 * changes NOT_CR, and with it every portable strategy's fingerprint: update both, and say so. */
#define MAX_ULP 0.5204
#define NOT_CR 230522u

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The correctly rounded exp(x) for x not NaN, with *exact a double close to exp(x) (for ulp
 * errors) and *alt the other candidate where no reference here can tell which is nearer (else
 * *alt = the answer). Where they are obvious the answers need no libm: 1 for |x| < 2^-26 (exp(x)
 * is nearer 1 than half an ulp either side), +inf above 89, +0 below -104 (e^-104 < 2^-150).
 * Elsewhere glibc's exp in double (error under 1 ulp of double) decides, unless it is within
 * 2^-40 (relative) of the midpoint of two floats; then expl (64-bit significand) does, unless it
 * too is within 2^-60. *near counts those midpoint cases. */
static float reference(float x, double *exact, float *alt, unsigned *near)
{
    if (fabsf(x) < 0x1p-26f) {
        *exact = 1.0 + (double)x;
        return *alt = 1.0f;
    }
    if (x > 89.0f) {
        *exact = INFINITY;
        return *alt = INFINITY;
    }
    if (x < -104.0f) {
        *exact = 0.0;
        return *alt = 0.0f;
    }
    double d = exp((double)x);
    float want = (float)d;
    *exact = d;
    *alt = want;
    if ((double)want == d)
        return want;
    /* The float on d's other side, and the midpoint (2^128 stands for +inf). */
    float other = (double)want < d ? nextafterf(want, INFINITY) : nextafterf(want, 0.0f);
    double mid = ((isinf(want) ? 0x1p128 : (double)want) + (isinf(other) ? 0x1p128 : (double)other)) / 2;
    if (fabs(d - mid) > 0x1p-40 * d)
        return want;
    ++*near;
    long double l = expl((long double)x);
    if (fabsl(l - (long double)mid) <= 0x1p-60L * l) {
        *alt = other;
        return want;
    }
    return *alt = (float)l;
}

/* |got - exact| in ulps of the float binade of exact (+inf counts as 2^128). */
static double ulp_error(float got, double exact)
{
    double g = isinf(got) ? 0x1p128 : (double)got;
    double e = isinf(exact) ? 0x1p128 : exact;
    int ex;
    frexp(e, &ex);
    double ulp = ldexp(1.0, ex - 24);
    if (ulp < 0x1p-149)
        ulp = 0x1p-149;
    return fabs(g - e) / ulp;
}

typedef struct {
    uint64_t checked, bad_nan, not_cr, near, undecided;
    double max_ulp;
    uint32_t worst;
} tally;

/* One input (no Check assertion here: each passing one costs Check a write). */
static inline void check_input(float x, float got, tally *t)
{
    ++t->checked;
    if (isnan(x)) {
        t->bad_nan += !isnan(got);
        return;
    }
    if (fabsf(x) < 0x1p-26f && bits(got) == 0x3f800000u)
        return;
    double exact;
    float alt;
    unsigned near = 0;
    float want = reference(x, &exact, &alt, &near);
    t->near += near;
    if (bits(alt) != bits(want))
        ++t->undecided;
    if (bits(got) == bits(want) || bits(got) == bits(alt))
        return;
    ++t->not_cr;
    double err = ulp_error(got, exact);
    if (err > t->max_ulp) {
        t->max_ulp = err;
        t->worst = bits(x);
    }
}

START_TEST(exhaustive)
{
    tally t = {0};
    double start = now();
    for (uint64_t u = 0; u <= UINT32_MAX; u += STRIDE) {
        float x = from_bits((uint32_t)u);
        check_input(x, clr_portable_exp(x), &t);
    }
    double seconds = now() - start;
    printf("portable_exp over %llu inputs%s: %llu not correctly rounded, max error %.4f ulp (at %a), "
           "%llu near a midpoint, %llu undecided, %.1f s\n",
           (unsigned long long)t.checked, STRIDE > 1 ? " (a stride)" : " (all)", (unsigned long long)t.not_cr,
           t.max_ulp, (double)from_bits(t.worst), (unsigned long long)t.near, (unsigned long long)t.undecided,
           seconds);
    fflush(stdout);
    ck_assert_msg(t.bad_nan == 0, "%llu NaN inputs gave a number", (unsigned long long)t.bad_nan);
    ck_assert_msg(t.max_ulp <= MAX_ULP, "max error %.4f ulp at %a", t.max_ulp, (double)from_bits(t.worst));
    if (STRIDE == 1)
        ck_assert_uint_eq(t.not_cr, NOT_CR);
    else
        ck_assert_uint_le(t.not_cr, 2 * NOT_CR / STRIDE);
}
END_TEST

START_TEST(specials)
{
    const struct {
        float x, want;
    } cases[] = {
        {0.0f, 1.0f},
        {-0.0f, 1.0f},
        {INFINITY, INFINITY},
        {-INFINITY, 0.0f},
        {FLT_MAX, INFINITY},
        {-FLT_MAX, 0.0f},
        {1.0f, 0x1.5bf0a8p+1f},                          /* e, correctly rounded */
        {0x1.62e430p-1f, 0x1p+1f},                       /* float(ln2) */
        {88.72283172607421875f, 0x1.ffff08p+127f},       /* the largest finite result */
        {88.72283935546875f, INFINITY},                  /* the first that overflows */
        {-87.33654022216796875f, 0x1.00004cp-126f},      /* the smallest normal result */
        {-87.3365478515625f, 0x1.ffff98p-127f},          /* the largest subnormal result */
        {-103.27892303466796875f, 0x1p-149f},            /* the smallest subnormal */
        {-103.972076416015625f, 0x1p-149f},              /* the last input above 0 */
        {-103.97208404541015625f, 0.0f},                 /* the first giving 0 */
        {FLT_TRUE_MIN, 1.0f},
        {-FLT_TRUE_MIN, 1.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        float got = clr_portable_exp(cases[i].x);
        ck_assert_msg(bits(got) == bits(cases[i].want), "exp(%a) = %a (%08x), want %a (%08x)", (double)cases[i].x,
                      (double)got, bits(got), (double)cases[i].want, bits(cases[i].want));
    }
    ck_assert(isnan(clr_portable_exp(NAN)));
    ck_assert(isnan(clr_portable_exp(-NAN)));
    ck_assert(isnan(clr_portable_exp(from_bits(0x7f800001u)))); /* signalling */
    /* The merge factor: equal maxima (infinite ones too) give 1, else exp of the difference. */
    ck_assert(clr_portable_exp_diff(-INFINITY, -INFINITY) == 1.0f);
    ck_assert(clr_portable_exp_diff(INFINITY, INFINITY) == 1.0f);
    ck_assert(clr_portable_exp_diff(-3.5f, -3.5f) == 1.0f);
    ck_assert(bits(clr_portable_exp_diff(-INFINITY, 2.0f)) == bits(0.0f));
    ck_assert(isnan(clr_portable_exp_diff(NAN, 0.0f)));
    for (uint32_t k = 0; k < 100000; ++k) {
        float a = from_bits(0x3f000000u + k * 2731u) - 50.0f, b = from_bits(0x3f800000u + k * 977u);
        ck_assert_uint_eq(bits(clr_portable_exp_diff(a, b)), bits(clr_portable_exp(a - b)));
    }
}
END_TEST

/* Device inputs: 2048 mantissas (both ends and a spread) of each of the 512 signs and
 * exponents, then the neighbourhoods of the boundaries: k = rint(x/ln2) changing, overflow,
 * underflow, the smallest normal, 0, and NaN payloads. */
#define SPREAD (512u * 2048u)
static size_t device_inputs(uint32_t *in, size_t cap)
{
    size_t n = 0;
    for (uint32_t se = 0; se < 512; ++se)
        for (uint32_t j = 0; j < 2048; ++j) {
            uint32_t m = j == 2047 ? 0x7fffffu : (j << 12) | ((j * 2654435761u) >> 20);
            in[n++] = (se << 23) | m;
        }
    const float centres[] = {88.72283935546875f, -103.972076416015625f, -87.33654022216796875f, 0.0f, -0.0f,
                             89.0f, -104.0f, 0x1p-26f, -0x1p-26f};
    for (size_t c = 0; c < sizeof centres / sizeof centres[0]; ++c)
        for (int d = -64; d <= 64; ++d)
            in[n++] = bits(centres[c]) + (uint32_t)d;
    for (int k = -151; k <= 128; ++k)
        for (int d = -2; d <= 2; ++d)
            in[n++] = bits(((float)k + 0.5f) * 0x1.62e43p-1f) + (uint32_t)d;
    const uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; ++i)
        in[n++] = nans[i];
    ck_assert_uint_le(n, cap);
    return n;
}

static const char KERNELS[] =
    "__kernel void portable(__global const uint *in, __global float *out)\n"
    "{ size_t i = get_global_id(0); out[i] = portable_exp(as_float(in[i])); }\n"
    "__kernel void portable_diff(__global const uint *in, __global float *out)\n"
    "{ size_t i = get_global_id(0); out[i] = portable_exp_diff(as_float(in[i]), 0.75f); }\n"
    "__kernel void vendor_exp(__global const uint *in, __global float *out)\n"
    "{ size_t i = get_global_id(0); out[i] = exp(as_float(in[i])); }\n"
    "__kernel void vendor_native_exp(__global const uint *in, __global float *out)\n"
    "{ size_t i = get_global_id(0); out[i] = native_exp(as_float(in[i])); }\n";

/* Runs kernel `name` of prog over in[0..n) into out. */
static void run_kernel(cl_context ctx, cl_command_queue q, cl_program prog, const char *name, const uint32_t *in,
                       float *out, size_t n)
{
    cl_int st;
    cl_kernel k = clCreateKernel(prog, name, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
    cl_mem bin = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * sizeof *in, (void *)in, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
    cl_mem bout = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, n * sizeof *out, NULL, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 0, sizeof bin, &bin), CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 1, sizeof bout, &bout), CL_SUCCESS);
    ck_assert_int_eq(clEnqueueNDRangeKernel(q, k, 1, NULL, &n, NULL, 0, NULL, NULL), CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(q, bout, CL_TRUE, 0, n * sizeof *out, out, 0, NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(bin);
    clReleaseMemObject(bout);
    clReleaseKernel(k);
}

/* Inputs whose device output differs from want(x) in bits (NaN against NaN is equal), and the
 * first of them. */
static size_t count_differences(const uint32_t *in, const float *got, size_t n, float (*want)(float),
                                size_t *first)
{
    size_t diff = 0;
    for (size_t i = 0; i < n; ++i) {
        float w = want(from_bits(in[i]));
        if (bits(got[i]) == bits(w) || (isnan(got[i]) && isnan(w)))
            continue;
        if (!diff++)
            *first = i;
    }
    return diff;
}

static float exp_diff_075(float x)
{
    return clr_portable_exp_diff(x, 0.75f);
}

/* Errors against the correctly rounded exp of a vendor function's outputs. */
static void vendor_summary(const char *name, const uint32_t *in, const float *got, size_t n, size_t vs_portable)
{
    size_t not_cr = 0;
    double max_ulp = 0;
    for (size_t i = 0; i < n; ++i) {
        float x = from_bits(in[i]);
        if (isnan(x))
            continue;
        double exact;
        float alt;
        unsigned near = 0;
        float want = reference(x, &exact, &alt, &near);
        if (bits(got[i]) == bits(want) || bits(got[i]) == bits(alt))
            continue;
        ++not_cr;
        double e = ulp_error(got[i], exact);
        max_ulp = e > max_ulp ? e : max_ulp;
    }
    printf("%s on the device: %zu of %zu outputs differ from portable_exp's; %zu not correctly rounded, "
           "max error %.3g ulp\n",
           name, vs_portable, n, not_cr, max_ulp);
}

START_TEST(device_bits)
{
    enum { CAP = SPREAD + 4096 };
    uint32_t *in = malloc(CAP * sizeof *in);
    float *out = malloc(CAP * sizeof *out);
    ck_assert(in && out);
    size_t n = device_inputs(in, CAP);
    clr_device dev = test_device();
    cl_context ctx;
    cl_command_queue q;
    clr_error err = {0};
    ck_assert_msg(clr_device_open(&dev, &ctx, &q, 0, &err) == 0, "%s", err.msg);
    /* The kernels include portable.clh as every kernel does: the embedded text, then ours. */
    char *clh;
    ck_assert_msg(clr_source_load(NULL, "portable.clh", &clh, &err) == 0, "%s", err.msg);
    size_t len = strlen(clh);
    char *src = malloc(len + sizeof KERNELS);
    ck_assert_ptr_nonnull(src);
    memcpy(src, clh, len);
    memcpy(src + len, KERNELS, sizeof KERNELS);
    free(clh);
    cl_int st;
    const char *text = src;
    cl_program prog = clCreateProgramWithSource(ctx, 1, &text, NULL, &st);
    ck_assert_int_eq(st, CL_SUCCESS);
    st = clBuildProgram(prog, 1, &dev.id, "", NULL, NULL);
    if (st != CL_SUCCESS) {
        static char log[3000];
        clGetProgramBuildInfo(prog, dev.id, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        ck_abort_msg("build failed (%d): %s", st, test_tail(log, 2000));
    }
    free(src);

    size_t first = 0;
    run_kernel(ctx, q, prog, "portable", in, out, n);
    size_t diff = count_differences(in, out, n, clr_portable_exp, &first);
    printf("portable_exp on %s: %zu of %zu outputs differ from the host's\n", dev.name, diff, n);
    ck_assert_msg(diff == 0, "%zu of %zu differ from the host, the first at x = %a (%08x): device %a, host %a", diff,
                  n, (double)from_bits(in[first]), in[first], (double)out[first],
                  (double)clr_portable_exp(from_bits(in[first])));
    run_kernel(ctx, q, prog, "portable_diff", in, out, n);
    diff = count_differences(in, out, n, exp_diff_075, &first);
    ck_assert_msg(diff == 0, "portable_exp_diff: %zu of %zu differ from the host, the first at x = %a", diff, n,
                  (double)from_bits(in[first]));

    /* The vendor's functions through the same comparison: native_exp (and, on most devices,
     * exp) does not give portable_exp's bits, so the comparison above can fail. */
    run_kernel(ctx, q, prog, "vendor_exp", in, out, n);
    vendor_summary("exp", in, out, n, count_differences(in, out, n, clr_portable_exp, &first));
    run_kernel(ctx, q, prog, "vendor_native_exp", in, out, n);
    diff = count_differences(in, out, n, clr_portable_exp, &first);
    vendor_summary("native_exp", in, out, n, diff);
    fflush(stdout);
    ck_assert_msg(diff > 0, "native_exp gave portable_exp's bits on all %zu inputs", n);

    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    free(in);
    free(out);
}
END_TEST

/* portable_div against the correctly rounded a / b (the host's): within 1 ulp wherever |b| and
 * a / b are normal, correctly rounded on nearly all of 20M random pairs (all exponents, and the
 * attention range l in [1, 2^24]), and IEEE on the specials. */
static int64_t ordered(float f)
{
    uint32_t u = bits(f);
    return u & 0x80000000u ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u;
}

START_TEST(division)
{
    uint64_t state = 20261127;
    size_t checked = 0, misrounded = 0;
    for (size_t it = 0; it < 20000000; ++it) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t ua = (uint32_t)(state >> 32);
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t ub = (uint32_t)(state >> 32);
        float a = from_bits(ua), b = from_bits(ub);
        if (it % 2) { /* attention's o / l */
            b = 1.0f + (float)(ub % 16777216u);
            a = (float)(int32_t)ua * 0x1p-20f;
        }
        float want = a / b, got = clr_portable_div(a, b);
        if (isnan(want) || isnan(got)) {
            ck_assert_msg(isnan(want) && isnan(got), "%a / %a: %a, IEEE gives %a", (double)a, (double)b, (double)got,
                          (double)want);
            continue;
        }
        if (fabsf(want) < 0x1p-126f || isinf(want) || fabsf(b) < 0x1p-126f)
            continue;
        int64_t d = ordered(want) - ordered(got);
        ck_assert_msg(d >= -1 && d <= 1, "%a / %a: %a, correctly rounded %a", (double)a, (double)b, (double)got,
                      (double)want);
        misrounded += d != 0;
        checked++;
    }
    printf("portable_div: %zu of %zu normal quotients not correctly rounded (each 1 ulp)\n", misrounded, checked);
    ck_assert_uint_lt(misrounded * 1000, checked); /* under 0.1% */
    /* Overflow found by clrepro audit: a correction that rounds the quotient up to infinity. */
    ck_assert_msg(isinf(clr_portable_div(0x1.fffffep127f, 0x1.fffffep-1f)) &&
                      isinf(clr_portable_div(-0x1.fffffep127f, 0x1.fffffep-1f)),
                  "FLT_MAX / 0x1.fffffep-1: %a", (double)clr_portable_div(0x1.fffffep127f, 0x1.fffffep-1f));
    static const float sp[] = {0.0f, -0.0f, 1.0f, -3.0f, INFINITY, -INFINITY, NAN, 0x1p-149f, 0x1.fffffep127f,
                               0x1.fffffep-1f};
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; ++i)
        for (size_t j = 0; j < sizeof sp / sizeof sp[0]; ++j) {
            float want = sp[i] / sp[j], got = clr_portable_div(sp[i], sp[j]);
            if (isnan(want))
                ck_assert_msg(isnan(got), "%a / %a: %a", (double)sp[i], (double)sp[j], (double)got);
            else if (isinf(want) || want == 0.0f)
                ck_assert_msg(bits(got) == bits(want), "%a / %a: %a, IEEE %a", (double)sp[i], (double)sp[j],
                              (double)got, (double)want);
        }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("portable");
    TCase *host = tcase_create("host");
    tcase_set_timeout(host, 900);
    tcase_add_test(host, specials);
    tcase_add_test(host, division);
    tcase_add_test(host, exhaustive);
    suite_add_tcase(s, host);
    TCase *device = tcase_create("device");
    tcase_set_timeout(device, 600);
    tcase_add_test(device, device_bits);
    suite_add_tcase(s, device);
    return s;
}

int main(void)
{
    return clr_run_suite(suite());
}
