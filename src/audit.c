/* audit.c: `clrepro audit`. Per device, the probes of cl/audit.cl run on samples the host makes
 * (the same bits on every machine: a counter-based hash, no seed to choose) and the host judges
 * every output against its own IEEE arithmetic:
 *   contraction  a*b + c as written, on triples where an fma and two roundings differ: which of
 *                the two the device gave, by default and under #pragma OPENCL FP_CONTRACT OFF;
 *   subnormals   x + 0, x * 1, fma(x, 1, 0), x / 1, sqrt(x) for subnormal x (inputs flushed?),
 *                and sums, products, fmas and quotients of normal numbers whose exact result is
 *                subnormal (results flushed?);
 *   fma          fma(a, b, c) against the host's fmaf (exact) on 424K triples;
 *   accuracy     exp, exp2, log, sqrt, rsqrt, division, native_*, half_*, portable_exp and
 *                portable_div against the correctly rounded value: max ulp, how many are not
 *                correctly rounded, and a fingerprint of the outputs; sqrt and division again
 *                from a build with -cl-fp32-correctly-rounded-divide-sqrt where the device
 *                reports CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT.
 * The correctly rounded references: sqrt, division and reciprocal are the host's float
 * operations (IEEE, exact); rsqrt from double, its rounding decided exactly by fma against the
 * midpoints; exp, exp2 and log from double, and from long double where the double is within
 * 2^-40 of a midpoint between two floats (within 2^-60 there too: "undecided", either accepted).
 * Every output location is checked before anything is measured; the files of every device are
 * written in one batch, all or none. */
#include "audit.h"

#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "atomic_file.h"
#include "device.h"
#include "portable.h"
#include "program.h"
#include "reference.h"
#include "text.h"

/* The operations of cl/audit.cl's probe kernel, in its order (it checks the count). */
enum audit_op {
    OP_EXP, OP_EXP2, OP_LOG, OP_SQRT, OP_RSQRT, OP_NATIVE_EXP, OP_NATIVE_SQRT, OP_NATIVE_RECIP, OP_HALF_EXP,
    OP_HALF_SQRT, OP_PORTABLE_EXP, OP_ADD, OP_MUL, OP_DIV, OP_NATIVE_DIVIDE, OP_PORTABLE_DIV, OP_FMA, OP_COUNT
};
#define AUDIT_OPS 17 /* passed to the kernels as -DAUDIT_OPS: audit.cl refuses to build with another */
_Static_assert(OP_COUNT == AUDIT_OPS, "AUDIT_OPS is the number of operations of enum audit_op");

#define CR_OPTION "-cl-fp32-correctly-rounded-divide-sqrt"

/* ---- bits and the counter-based hash ---- */

static uint32_t bits(float f)
{
    return clr_float_bits(f);
}

static float from_bits(uint32_t u)
{
    return clr_bits_float(u);
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The k-th hash of stream s. */
static uint64_t hash(uint64_t s, uint64_t k)
{
    return mix64(mix64(s) ^ k);
}

/* A float with a biased exponent in [emin, emax] (0: subnormal or zero), mantissa and sign from h. */
static float rand_float(uint64_t h, int emin, int emax)
{
    uint32_t e = (uint32_t)(emin + (int)((h >> 24) % (uint64_t)(emax - emin + 1)));
    return from_bits((uint32_t)(h >> 63) << 31 | e << 23 | (uint32_t)(h & 0x7fffff));
}

static int is_subnormal(float x)
{
    return x != 0.0f && fabsf(x) < FLT_MIN;
}

/* ---- the samples ---- */

static const uint32_t special_bits[] = {
    0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x00000001, 0x80000001,
    0x00000002, 0x007fffff, 0x807fffff, 0x00400000, 0x00800000, 0x80800000, 0x00800001, 0x7f7fffff,
    0xff7fffff, 0x7f000000, 0x3f800000, 0xbf800000, 0x3f800001, 0x3f7fffff, 0x40000000, 0xc0000000,
    0x3f000000, 0x40400000, 0x40490fdb, 0x402df854, 0x3f317218, 0x41200000, 0x42c80000, 0x4b000000,
    0x4b800000, 0x33800000, 0xb3800000, 0x42b17217, 0x42b17218, 0xc2aeac50, 0xc2cff1b4, 0x43000000,
};
#define NSPECIALS (sizeof special_bits / sizeof special_bits[0])

/* Windows of 2W+1 consecutive floats around thresholds: exp's overflow (88.7228394), its first
 * subnormal result (ln 2^-126) and its underflow to 0 (ln 2^-150); exp2's 128, -126, -149,
 * -150; log and exp near 1 and 0; the smallest normal; near the largest finite float; 2^126
 * (whose reciprocal is subnormal); 2^-24 (exp(x) rounds to 1 below it). */
static const uint32_t window_centres[] = {
    0x42b17218, 0xc2aeac50, 0xc2cff1b4, 0xc2ce8ed0, 0x43000000, 0xc2fc0000, 0xc3150000, 0xc3160000,
    0x3f800000, 0xbf800000, 0x00800000, 0x7f7fff00, 0x7e800000, 0x33800000, 0xb3800000,
};
#define WINDOW 128

#define SEED_MANTISSA 0x61756469742d6d61ull /* "audit-ma" */
#define SEED_PAIRS 0x61756469742d7061ull
#define SEED_TRIPLES 0x61756469742d7472ull
#define SEED_SUBNORMAL 0x61756469742d7375ull
#define NPAIRS_RANDOM (1u << 21)
#define NEDGE 4096          /* pairs in each edge group of the division sample */
#define NCONTRACT 65536     /* contraction triples */
#define NFMA_RANDOM 131072  /* fma triples of each random kind */
#define NFMA_TINY 32768     /* fma triples with subnormal results */
#define NSUBRESULT 4096     /* pairs per operation with subnormal results */

static uint32_t mantissa(uint32_t e, uint32_t s, uint32_t j)
{
    static const uint32_t fixed[4] = {0, 1, 0x7fffff, 0x400000};
    return j < 4 ? fixed[j] : (uint32_t)hash(SEED_MANTISSA, (uint64_t)e << 40 | (uint64_t)s << 32 | j) & 0x7fffff;
}

size_t clr_audit_unary_sample(float *x)
{
    size_t n = 0;
    for (size_t i = 0; i < NSPECIALS; ++i, ++n)
        if (x)
            x[n] = from_bits(special_bits[i]);
    for (size_t w = 0; w < sizeof window_centres / sizeof window_centres[0]; ++w)
        for (int d = -WINDOW; d <= WINDOW; ++d, ++n)
            if (x)
                x[n] = from_bits(window_centres[w] + (uint32_t)d);
    for (uint32_t e = 0; e < 255; ++e)
        for (uint32_t s = 0; s < 2; ++s)
            for (uint32_t j = 0; j < CLR_AUDIT_PER_EXPONENT; ++j, ++n)
                if (x)
                    x[n] = from_bits(s << 31 | e << 23 | mantissa(e, s, j));
    return n;
}

size_t clr_audit_pair_sample(float *a, float *b)
{
    size_t n = 0;
    int fill = a && b;
#define PUT(x, y)              \
    do {                       \
        if (fill) {            \
            a[n] = (x);        \
            b[n] = (y);        \
        }                      \
        ++n;                   \
    } while (0)
    for (size_t i = 0; i < NSPECIALS; ++i)
        for (size_t j = 0; j < NSPECIALS; ++j)
            PUT(from_bits(special_bits[i]), from_bits(special_bits[j]));
    /* Every exponent of the dividend; the divisor's exponent within 30 of it (3 in 4: normal
     * quotients) or anything. */
    for (uint32_t i = 0; i < NPAIRS_RANDOM; ++i) {
        uint64_t h = hash(SEED_PAIRS, i), g = hash(SEED_PAIRS + 1, i);
        int ea = (int)((h >> 24) % 255);
        float x = rand_float(h, ea, ea), y;
        if ((g >> 56) % 4 == 0) {
            y = rand_float(g, 0, 254);
        } else {
            int eb = ea + (int)((g >> 40) % 61) - 30;
            eb = eb < 0 ? 0 : eb > 254 ? 254 : eb;
            y = rand_float(g, eb, eb);
        }
        PUT(x, y);
    }
    /* Quotients near overflow, subnormal quotients, subnormal divisors. */
    for (uint32_t i = 0; i < NEDGE; ++i) {
        uint64_t h = hash(SEED_PAIRS + 2, i), g = hash(SEED_PAIRS + 3, i);
        PUT(rand_float(h, 253, 254), rand_float(g, 126, 127));
        PUT(rand_float(h, 1, 24), rand_float(g, 127 + 1, 127 + 40));
        PUT(rand_float(h, 1, 60), rand_float(g, 0, 0));
    }
#undef PUT
    return n;
}

uint64_t clr_audit_fingerprint(const float *x, size_t n)
{
    XXH64_state_t *st = XXH64_createState();
    if (!st)
        return 0;
    XXH64_reset(st, 0);
    uint32_t buf[1024];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 1024 && i < n; ++k, ++i)
            buf[k] = isnan(x[i]) ? 0x7fc00000u : bits(x[i]);
        XXH64_update(st, buf, k * sizeof buf[0]);
    }
    uint64_t h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}

typedef struct samples {
    float *u;
    size_t nu;
    float *pa, *pb;
    size_t np;
    float *ta, *tb, *tc; /* the first NCONTRACT: the contraction triples */
    size_t nt;
    float *sub, *subabs; /* subnormal inputs, and their magnitudes for sqrt */
    size_t nsub;
    float *ra[3], *rb[3]; /* add, mul (and fma), div: normal operands, subnormal exact results */
    float *ones, *zeros;  /* as long as the longest of nsub and NSUBRESULT */
} samples;

static void samples_free(samples *s)
{
    free(s->u);
    free(s->pa);
    free(s->pb);
    free(s->ta);
    free(s->tb);
    free(s->tc);
    free(s->sub);
    free(s->subabs);
    for (int k = 0; k < 3; ++k) {
        free(s->ra[k]);
        free(s->rb[k]);
    }
    free(s->ones);
    free(s->zeros);
    memset(s, 0, sizeof *s);
}

/* The fma triples: the contraction triples (a, b in [2^-20, 2^21), c = -fl(a*b) or of a*b's
 * magnitude, kept only where fma and two roundings differ), then anything (specials cubed and
 * random floats of every exponent), cancellations (c = -fl(a*b) nudged by a few ulps) and
 * subnormal results. */
static size_t make_triples(float *a, float *b, float *c)
{
    size_t n = 0;
    for (uint64_t k = 0; n < NCONTRACT; ++k) {
        uint64_t h1 = hash(SEED_TRIPLES, 3 * k), h2 = hash(SEED_TRIPLES, 3 * k + 1), h3 = hash(SEED_TRIPLES, 3 * k + 2);
        float x = rand_float(h1, 107, 147), y = rand_float(h2, 107, 147), p = x * y;
        int ep = (int)(bits(p) >> 23 & 0xff);
        float z = k & 1 ? -p : rand_float(h3, ep - 2, ep + 1);
        float fused = fmaf(x, y, z), separate = x * y + z;
        if (bits(fused) == bits(separate))
            continue;
        a[n] = x;
        b[n] = y;
        c[n++] = z;
    }
    for (size_t i = 0; i < NSPECIALS; ++i)
        for (size_t j = 0; j < NSPECIALS; ++j)
            for (size_t l = 0; l < NSPECIALS; ++l, ++n) {
                a[n] = from_bits(special_bits[i]);
                b[n] = from_bits(special_bits[j]);
                c[n] = from_bits(special_bits[l]);
            }
    for (uint64_t k = 0; k < NFMA_RANDOM; ++k, ++n) {
        a[n] = rand_float(hash(SEED_TRIPLES + 1, k), 0, 254);
        b[n] = rand_float(hash(SEED_TRIPLES + 2, k), 0, 254);
        c[n] = rand_float(hash(SEED_TRIPLES + 3, k), 0, 254);
    }
    for (uint64_t k = 0; k < NFMA_RANDOM; ++k, ++n) {
        uint64_t h = hash(SEED_TRIPLES + 4, k);
        a[n] = rand_float(h, 97, 157);
        b[n] = rand_float(hash(SEED_TRIPLES + 5, k), 97, 157);
        float p = a[n] * b[n];
        c[n] = from_bits((bits(p) ^ 0x80000000u) + (uint32_t)((h >> 32) % 15) - 7u);
    }
    for (uint64_t k = 0; k < NFMA_TINY; ++k, ++n) {
        uint64_t h = hash(SEED_TRIPLES + 6, k), g = hash(SEED_TRIPLES + 7, k);
        int ea = -80 + (int)((h >> 32) % 41), target = -150 + (int)((g >> 32) % 31);
        a[n] = rand_float(h, ea + 127, ea + 127);
        b[n] = rand_float(g, target - ea + 127, target - ea + 127);
        c[n] = rand_float(hash(SEED_TRIPLES + 8, k), 0, 2);
    }
    return n;
}

static size_t triples_count(void)
{
    return NCONTRACT + NSPECIALS * NSPECIALS * NSPECIALS + 2 * NFMA_RANDOM + NFMA_TINY;
}

/* Normal operands whose exact sum, product or quotient is subnormal (and not zero). */
static void make_subnormal_results(samples *s)
{
    for (uint64_t k = 0, n = 0; n < NSUBRESULT; ++k) {
        uint64_t h = hash(SEED_SUBNORMAL, k), g = hash(SEED_SUBNORMAL + 1, k);
        uint32_t m1 = (uint32_t)h & 0x7fffff, m2 = (uint32_t)g & 0x7fffff, sign = (uint32_t)(h >> 63) << 31;
        if (m1 == m2)
            continue;
        s->ra[0][n] = from_bits(sign | 0x00800000u | m1);
        s->rb[0][n++] = from_bits((sign ^ 0x80000000u) | 0x00800000u | m2);
    }
    for (uint64_t k = 0, n = 0; n < NSUBRESULT; ++k) {
        uint64_t h = hash(SEED_SUBNORMAL + 2, k), g = hash(SEED_SUBNORMAL + 3, k);
        int ea = -100 + (int)((h >> 32) % 74), target = -149 + (int)((g >> 32) % 23);
        float x = rand_float(h, ea + 127, ea + 127), y = rand_float(g, target - ea + 127, target - ea + 127);
        if (!is_subnormal(x * y))
            continue;
        s->ra[1][n] = x;
        s->rb[1][n++] = y;
    }
    for (uint64_t k = 0, n = 0; n < NSUBRESULT; ++k) {
        uint64_t h = hash(SEED_SUBNORMAL + 4, k), g = hash(SEED_SUBNORMAL + 5, k);
        int ea = -126 + (int)((h >> 32) % 104), target = -149 + (int)((g >> 32) % 23);
        float x = rand_float(h, ea + 127, ea + 127), y = rand_float(g, ea - target + 127, ea - target + 127);
        if (!is_subnormal(x / y))
            continue;
        s->ra[2][n] = x;
        s->rb[2][n++] = y;
    }
}

static int samples_make(samples *s, clr_error *err)
{
    memset(s, 0, sizeof *s);
    s->nu = clr_audit_unary_sample(NULL);
    s->np = clr_audit_pair_sample(NULL, NULL);
    s->nt = triples_count();
    s->nsub = 2 * 2 * CLR_AUDIT_PER_EXPONENT; /* at most: the subnormals of the unary sample */
    size_t nconst = s->nsub > NSUBRESULT ? s->nsub : NSUBRESULT;
    s->u = clr_malloc(s->nu * sizeof(float), "the audit's inputs", err);
    s->pa = s->u ? clr_malloc(s->np * sizeof(float), "the audit's inputs", err) : NULL;
    s->pb = s->pa ? clr_malloc(s->np * sizeof(float), "the audit's inputs", err) : NULL;
    s->ta = s->pb ? clr_malloc(s->nt * sizeof(float), "the audit's inputs", err) : NULL;
    s->tb = s->ta ? clr_malloc(s->nt * sizeof(float), "the audit's inputs", err) : NULL;
    s->tc = s->tb ? clr_malloc(s->nt * sizeof(float), "the audit's inputs", err) : NULL;
    s->sub = s->tc ? clr_malloc(s->nsub * sizeof(float), "the audit's inputs", err) : NULL;
    s->subabs = s->sub ? clr_malloc(s->nsub * sizeof(float), "the audit's inputs", err) : NULL;
    s->ones = s->subabs ? clr_malloc(nconst * sizeof(float), "the audit's inputs", err) : NULL;
    s->zeros = s->ones ? clr_calloc(nconst, sizeof(float), "the audit's inputs", err) : NULL;
    for (int k = 0; k < 3 && s->zeros; ++k) {
        s->ra[k] = clr_malloc(NSUBRESULT * sizeof(float), "the audit's inputs", err);
        s->rb[k] = s->ra[k] ? clr_malloc(NSUBRESULT * sizeof(float), "the audit's inputs", err) : NULL;
        if (!s->rb[k])
            break;
    }
    if (!s->rb[2]) {
        samples_free(s);
        return err->code;
    }
    clr_audit_unary_sample(s->u);
    clr_audit_pair_sample(s->pa, s->pb);
    size_t nt = make_triples(s->ta, s->tb, s->tc);
    if (nt != s->nt) /* a change of make_triples without triples_count */
        return clr_fail(err, CLR_EFAIL, "internal error: %zu fma triples, %zu expected", nt, s->nt);
    size_t n = 0;
    for (size_t i = 0; i < s->nu && n < s->nsub; ++i)
        if (is_subnormal(s->u[i]) && bits(s->u[i]) >> 23 == 0) /* the positive block's, then the negative's */
            s->sub[n++] = s->u[i];
    for (size_t i = 0; i < s->nu && n < s->nsub; ++i)
        if (is_subnormal(s->u[i]) && bits(s->u[i]) >> 23 == 0x100)
            s->sub[n++] = s->u[i];
    s->nsub = n;
    for (size_t i = 0; i < n; ++i)
        s->subabs[i] = fabsf(s->sub[i]);
    for (size_t i = 0; i < nconst; ++i)
        s->ones[i] = 1.0f;
    make_subnormal_results(s);
    return CLR_OK;
}

/* ---- the correctly rounded references ---- */

enum ref_kind { REF_EXP, REF_EXP2, REF_LOG, REF_SQRT, REF_RSQRT, REF_RECIP, REF_DIV, REF_COUNT };

typedef struct reference {
    float *want, *alt; /* the correctly rounded value; alt: the other candidate where undecided */
    double *exact;     /* close to the exact value, for ulp errors */
    size_t undecided;
} reference;

static long double exp2_ld(long double x)
{
    return exp2l(x);
}

/* exp, exp2 or log: double, then long double near a midpoint (see the header). */
static void ref_transcendental(float x, double (*fd)(double), long double (*fl)(long double), float *want,
                               float *alt, double *exact, size_t *undecided)
{
    double d = fd((double)x);
    float w = (float)d;
    *exact = d;
    *want = *alt = w;
    if (isnan(d) || (double)w == d)
        return;
    float other = (double)w < d ? nextafterf(w, INFINITY) : nextafterf(w, -INFINITY);
    double wd = isinf(w) ? copysign(0x1p128, (double)w) : (double)w;
    double od = isinf(other) ? copysign(0x1p128, (double)other) : (double)other;
    double mid = (wd + od) / 2;
    if (fabs(d - mid) > 0x1p-40 * fabs(d))
        return;
    long double l = fl((long double)x);
    if (fabsl(l - (long double)mid) <= 0x1p-60L * fabsl(l)) {
        *alt = other;
        ++*undecided;
        return;
    }
    *want = *alt = (float)l;
}

/* 1/sqrt(x), decided exactly: 1/sqrt(x) > m exactly when x*m*m < 1, and m*m (m a midpoint, 25
 * bits) is exact in double, so the sign of fma(x, m*m, -1) decides. */
static float ref_rsqrt(float x, double *exact)
{
    if (isnan(x) || x < 0) {
        *exact = NAN;
        return NAN;
    }
    if (x == 0) {
        *exact = copysign(INFINITY, (double)x);
        return copysignf(INFINITY, x);
    }
    if (isinf(x)) {
        *exact = 0;
        return 0.0f;
    }
    double r = 1.0 / sqrt((double)x);
    float w = (float)r, lo = nextafterf(w, 0.0f), hi = nextafterf(w, INFINITY);
    *exact = r;
    double mhi = ((double)w + (double)hi) / 2, mlo = ((double)w + (double)lo) / 2;
    if (fma((double)x, mhi * mhi, -1.0) < 0)
        return hi;
    if (fma((double)x, mlo * mlo, -1.0) > 0)
        return lo;
    return w;
}

static int reference_make(reference *r, enum ref_kind kind, const float *a, const float *b, size_t n, clr_error *err)
{
    memset(r, 0, sizeof *r);
    r->want = clr_malloc(n * sizeof(float), "the reference values", err);
    r->alt = r->want ? clr_malloc(n * sizeof(float), "the reference values", err) : NULL;
    r->exact = r->alt ? clr_malloc(n * sizeof(double), "the reference values", err) : NULL;
    if (!r->exact)
        return err->code;
    for (size_t i = 0; i < n; ++i) {
        float x = a[i], w = 0;
        double e = 0;
        switch (kind) {
        case REF_EXP: ref_transcendental(x, exp, expl, &r->want[i], &r->alt[i], &r->exact[i], &r->undecided); continue;
        case REF_EXP2:
            if (x == rintf(x)) { /* exact in double, 2^-150 (a midpoint) included: one rounding */
                w = (float)exp2((double)x);
                e = exp2((double)x);
                break;
            }
            ref_transcendental(x, exp2, exp2_ld, &r->want[i], &r->alt[i], &r->exact[i], &r->undecided);
            continue;
        case REF_LOG: ref_transcendental(x, log, logl, &r->want[i], &r->alt[i], &r->exact[i], &r->undecided); continue;
        case REF_SQRT: w = sqrtf(x); e = sqrt((double)x); break;
        case REF_RSQRT: w = ref_rsqrt(x, &e); break;
        case REF_RECIP: w = 1.0f / x; e = 1.0 / (double)x; break;
        case REF_DIV: w = x / b[i]; e = (double)x / (double)b[i]; break;
        case REF_COUNT: break;
        }
        r->want[i] = r->alt[i] = w;
        r->exact[i] = e;
    }
    return CLR_OK;
}

static void reference_free(reference *r)
{
    free(r->want);
    free(r->alt);
    free(r->exact);
    memset(r, 0, sizeof *r);
}

/* |got - exact| in ulps of exact's float binade (the subnormal ulp 2^-149 at least; an infinity
 * counts as 2^128). */
static double ulp_error(float got, double exact)
{
    double g = isinf(got) ? copysign(0x1p128, (double)got) : (double)got;
    double e = isinf(exact) ? copysign(0x1p128, exact) : exact;
    int ex = 0;
    if (e != 0)
        frexp(e, &ex);
    double ulp = e != 0 ? ldexp(1.0, ex - 24) : 0x1p-149;
    return fabs(g - e) / (ulp < 0x1p-149 ? 0x1p-149 : ulp);
}

/* ---- the probes' results ---- */

typedef struct accuracy {
    const char *function;
    enum audit_op op;
    enum ref_kind ref;
    int binary;         /* on the pairs (division), else on the single inputs */
    int correctly_rounded_build;
    int available;
    size_t inputs, not_cr, wrong_specials, undecided;
    double max_ulp, max_ulp_normal;
    size_t worst; /* index of the input of max_ulp */
    int has_worst;
    uint64_t fingerprint, reference_fingerprint, host_fingerprint;
    int has_host, same_as_host;
} accuracy;

/* The rows, in the order of the table. */
static const accuracy accuracy_rows[] = {
    {.function = "exp", .op = OP_EXP, .ref = REF_EXP},
    {.function = "exp2", .op = OP_EXP2, .ref = REF_EXP2},
    {.function = "log", .op = OP_LOG, .ref = REF_LOG},
    {.function = "sqrt", .op = OP_SQRT, .ref = REF_SQRT},
    {.function = "rsqrt", .op = OP_RSQRT, .ref = REF_RSQRT},
    {.function = "divide", .op = OP_DIV, .ref = REF_DIV, .binary = 1},
    {.function = "native_exp", .op = OP_NATIVE_EXP, .ref = REF_EXP},
    {.function = "native_sqrt", .op = OP_NATIVE_SQRT, .ref = REF_SQRT},
    {.function = "native_divide", .op = OP_NATIVE_DIVIDE, .ref = REF_DIV, .binary = 1},
    {.function = "native_recip", .op = OP_NATIVE_RECIP, .ref = REF_RECIP},
    {.function = "half_exp", .op = OP_HALF_EXP, .ref = REF_EXP},
    {.function = "half_sqrt", .op = OP_HALF_SQRT, .ref = REF_SQRT},
    {.function = "portable_exp", .op = OP_PORTABLE_EXP, .ref = REF_EXP},
    {.function = "portable_div", .op = OP_PORTABLE_DIV, .ref = REF_DIV, .binary = 1},
    {.function = "sqrt", .op = OP_SQRT, .ref = REF_SQRT, .correctly_rounded_build = 1},
    {.function = "divide", .op = OP_DIV, .ref = REF_DIV, .binary = 1, .correctly_rounded_build = 1},
};
#define NACCURACY (sizeof accuracy_rows / sizeof accuracy_rows[0])

/* Of n operations whose IEEE result is not zero: how many gave ±0 (flushed), how many did not
 * (preserved), and of those how many differ from the IEEE result anyway (inexact: a sqrt or a
 * division that is not correctly rounded, say; not a flush). */
typedef struct tally {
    size_t n, preserved, flushed, inexact;
} tally;

static const char *flush_verdict(const tally *t)
{
    return t->n == 0 ? "not applicable" : t->flushed == 0 ? "preserved" : t->flushed == t->n ? "flushed" : "mixed";
}

/* Contraction: outputs equal to the fma, to two roundings, or neither. */
typedef struct contraction {
    size_t n, fused, separate, other;
} contraction;

static const char *contract_verdict(const contraction *c)
{
    return c->fused == c->n ? "contracted" : c->separate == c->n ? "not contracted" : "mixed";
}

static const char *denormal_ops[5] = {"add", "mul", "fma", "divide", "sqrt"};
static const char *denormal_input_probe[5] = {"x + 0", "x * 1", "fma(x, 1, 0)", "x / 1", "sqrt(x)"};
static const char *denormal_result_probe[5] = {"a + b", "a * b", "fma(a, b, 0)", "a / b", NULL};

typedef struct device_audit {
    const clr_device *dev;
    char started[32], cr_options[400], default_options[400];
    double wall, build_seconds[2];
    int cr_available;
    contraction contract[2]; /* default, FP_CONTRACT OFF */
    tally inputs[5], results[5];
    size_t fma_n, fma_differ, fma_differ_normal;
    int fma_has_first;
    float fma_first[4]; /* a, b, c, device */
    accuracy acc[NACCURACY];
} device_audit;

static const char *fma_verdict(const device_audit *a)
{
    return a->fma_differ == 0 ? "rounds once" : a->fma_differ_normal == 0 ? "rounds once but with subnormals"
                                                                          : "does not round once";
}

/* ---- running the probes ---- */

typedef struct runner {
    cl_context ctx;
    cl_command_queue queue;
    clr_program prog[2]; /* default, correctly rounded divide/sqrt */
    int built[2];
    cl_mem in[3], out;
    const float *loaded[3]; /* what in[k] holds, so that an input is sent once */
    size_t loaded_n[3], cap;
} runner;

/* out[0..n) = kernel(a, b, c) (b and c default to a). */
static int launch(runner *r, int build, const char *kernel, int op, const float *a, const float *b,
                  const float *c, size_t n, float *out, clr_error *err)
{
    const float *src[3] = {a, b ? b : a, c ? c : a};
    if (n > r->cap || n > UINT_MAX)
        return clr_fail(err, CLR_EFAIL, "internal error: a probe of %zu inputs", n);
    for (int k = 0; k < 3; ++k) {
        if (r->loaded[k] == src[k] && r->loaded_n[k] == n)
            continue;
        if (CLR_CL(err, clEnqueueWriteBuffer(r->queue, r->in[k], CL_TRUE, 0, n * sizeof(float), src[k], 0, NULL,
                                             NULL)))
            return err->code;
        r->loaded[k] = src[k];
        r->loaded_n[k] = n;
    }
    cl_kernel k;
    if (clr_program_kernel(&r->prog[build], kernel, &k, err))
        return err->code;
    cl_uint count = (cl_uint)n;
    cl_int opcode = op, st = CL_SUCCESS;
    for (cl_uint i = 0; i < 3 && st == CL_SUCCESS; ++i)
        st = clSetKernelArg(k, i, sizeof(cl_mem), &r->in[i]);
    if (st == CL_SUCCESS)
        st = clSetKernelArg(k, 3, sizeof(cl_mem), &r->out);
    if (st == CL_SUCCESS)
        st = clSetKernelArg(k, 4, sizeof count, &count);
    if (st == CL_SUCCESS && op >= 0)
        st = clSetKernelArg(k, 5, sizeof opcode, &opcode);
    if (CLR_CL(err, st))
        return err->code;
    size_t global = (n + 255) / 256 * 256;
    if (CLR_CL(err, clEnqueueNDRangeKernel(r->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL)) ||
        CLR_CL(err, clEnqueueReadBuffer(r->queue, r->out, CL_TRUE, 0, n * sizeof(float), out, 0, NULL, NULL)))
        return err->code;
    return CLR_OK;
}

static void count_flush(tally *t, const float *got, const float *want, size_t n)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    for (size_t i = 0; i < n; ++i) {
        if (got[i] == 0.0f && want[i] != 0.0f) {
            t->flushed++;
        } else {
            t->preserved++;
            t->inexact += bits(got[i]) != bits(want[i]);
        }
    }
}

static int probe_contraction(runner *r, const samples *s, device_audit *au, float *out, clr_error *err)
{
    static const char *kernels[2] = {"contract_default", "contract_off"};
    for (int v = 0; v < 2; ++v) {
        if (launch(r, 0, kernels[v], -1, s->ta, s->tb, s->tc, NCONTRACT, out, err))
            return err->code;
        contraction *c = &au->contract[v];
        c->n = NCONTRACT;
        for (size_t i = 0; i < NCONTRACT; ++i) {
            float fused = fmaf(s->ta[i], s->tb[i], s->tc[i]), separate = s->ta[i] * s->tb[i] + s->tc[i];
            if (bits(out[i]) == bits(fused))
                c->fused++;
            else if (bits(out[i]) == bits(separate))
                c->separate++;
            else
                c->other++;
        }
    }
    return CLR_OK;
}

static int probe_denormals(runner *r, const samples *s, device_audit *au, float *out, float *want, clr_error *err)
{
    /* Subnormal inputs. */
    static const int input_ops[5] = {OP_ADD, OP_MUL, OP_FMA, OP_DIV, OP_SQRT};
    size_t n = s->nsub;
    for (int k = 0; k < 5; ++k) {
        const float *a = k == 4 ? s->subabs : s->sub;
        const float *b = k == 0 ? s->zeros : s->ones;
        if (launch(r, 0, "probe", input_ops[k], a, b, s->zeros, n, out, err))
            return err->code;
        for (size_t i = 0; i < n; ++i)
            want[i] = k == 0 ? a[i] + 0.0f : k == 1 ? a[i] * 1.0f : k == 2 ? fmaf(a[i], 1.0f, 0.0f)
                    : k == 3 ? a[i] / 1.0f : sqrtf(a[i]);
        count_flush(&au->inputs[k], out, want, n);
    }
    /* Subnormal results of normal operands. */
    static const int result_ops[4] = {OP_ADD, OP_MUL, OP_FMA, OP_DIV};
    for (int k = 0; k < 4; ++k) {
        const float *a = s->ra[k == 3 ? 2 : k == 2 ? 1 : k], *b = s->rb[k == 3 ? 2 : k == 2 ? 1 : k];
        if (launch(r, 0, "probe", result_ops[k], a, b, s->zeros, NSUBRESULT, out, err))
            return err->code;
        for (size_t i = 0; i < NSUBRESULT; ++i)
            want[i] = k == 0 ? a[i] + b[i] : k == 1 ? a[i] * b[i] : k == 2 ? fmaf(a[i], b[i], 0.0f) : a[i] / b[i];
        count_flush(&au->results[k], out, want, NSUBRESULT);
    }
    memset(&au->results[4], 0, sizeof au->results[4]); /* sqrt of a normal number is normal */
    return CLR_OK;
}

static int probe_fma(runner *r, const samples *s, device_audit *au, float *out, clr_error *err)
{
    if (launch(r, 0, "probe", OP_FMA, s->ta, s->tb, s->tc, s->nt, out, err))
        return err->code;
    au->fma_n = s->nt;
    for (size_t i = 0; i < s->nt; ++i) {
        float w = fmaf(s->ta[i], s->tb[i], s->tc[i]);
        if (bits(out[i]) == bits(w) || (isnan(out[i]) && isnan(w)))
            continue;
        au->fma_differ++;
        int sub = is_subnormal(s->ta[i]) || is_subnormal(s->tb[i]) || is_subnormal(s->tc[i]) || is_subnormal(w);
        au->fma_differ_normal += !sub;
        if (!au->fma_has_first || (!sub && au->fma_differ_normal == 1)) {
            au->fma_has_first = 1;
            au->fma_first[0] = s->ta[i];
            au->fma_first[1] = s->tb[i];
            au->fma_first[2] = s->tc[i];
            au->fma_first[3] = out[i];
        }
    }
    return CLR_OK;
}

static void evaluate(accuracy *r, const float *got, const reference *ref, const float *a, const float *b, size_t n)
{
    r->available = 1;
    r->inputs = n;
    r->undecided = ref->undecided;
    for (size_t i = 0; i < n; ++i) {
        float g = got[i], w = ref->want[i];
        if (isnan(w) || isnan(g)) {
            if (isnan(w) != isnan(g)) {
                r->wrong_specials++;
                r->not_cr++;
            }
            continue;
        }
        if (bits(g) == bits(w) || bits(g) == bits(ref->alt[i]))
            continue;
        r->not_cr++;
        double e = ulp_error(g, ref->exact[i]), ex = fabs(ref->exact[i]);
        if (!r->has_worst || e > r->max_ulp) {
            r->max_ulp = e;
            r->worst = i;
            r->has_worst = 1;
        }
        int normal = !is_subnormal(a[i]) && !(b && is_subnormal(b[i])) && !(ex != 0 && ex < FLT_MIN);
        if (normal && e > r->max_ulp_normal)
            r->max_ulp_normal = e;
    }
    r->fingerprint = clr_audit_fingerprint(got, n);
    r->reference_fingerprint = clr_audit_fingerprint(ref->want, n);
}

static int probe_accuracy(runner *r, const samples *s, device_audit *au, float *out, float *host, clr_error *err)
{
    for (int kind = 0; kind < REF_COUNT; ++kind) {
        int binary = kind == REF_DIV;
        const float *a = binary ? s->pa : s->u, *b = binary ? s->pb : NULL;
        size_t n = binary ? s->np : s->nu;
        reference ref = {0};
        int made = 0;
        for (size_t k = 0; k < NACCURACY; ++k) {
            accuracy *row = &au->acc[k];
            if ((int)row->ref != kind || (row->correctly_rounded_build && !au->cr_available))
                continue;
            if (!made && reference_make(&ref, (enum ref_kind)kind, a, b, n, err)) {
                reference_free(&ref);
                return err->code;
            }
            made = 1;
            if (launch(r, row->correctly_rounded_build, "probe", row->op, a, b, NULL, n, out, err)) {
                reference_free(&ref);
                return err->code;
            }
            evaluate(row, out, &ref, a, b, n);
            if (row->op == OP_PORTABLE_EXP || row->op == OP_PORTABLE_DIV) {
                for (size_t i = 0; i < n; ++i)
                    host[i] = row->op == OP_PORTABLE_EXP ? clr_portable_exp(a[i]) : clr_portable_div(a[i], b[i]);
                row->has_host = 1;
                row->host_fingerprint = clr_audit_fingerprint(host, n);
                row->same_as_host = row->host_fingerprint == row->fingerprint;
            }
        }
        reference_free(&ref);
    }
    return CLR_OK;
}

static int audit_device(const clr_device *dev, const samples *s, device_audit *au, clr_error *err)
{
    double start = clr_now();
    memset(au, 0, sizeof *au);
    au->dev = dev;
    memcpy(au->acc, accuracy_rows, sizeof accuracy_rows);
    clr_utc_timestamp(au->started);
    au->cr_available = (dev->single_fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    runner r = {0};
    size_t cap = s->nu > s->np ? s->nu : s->np;
    cap = cap > s->nt ? cap : s->nt;
    r.cap = cap;
    float *out = clr_malloc(cap * sizeof(float), "the audit's outputs", err);
    float *host = out ? clr_malloc(cap * sizeof(float), "the audit's outputs", err) : NULL;
    int rc = host ? CLR_OK : err->code;
    if (rc == CLR_OK && (uint64_t)cap * sizeof(float) > (uint64_t)dev->max_alloc)
        rc = clr_fail(err, CLR_EUSAGE, "audit: %s allows buffers of %llu bytes, the audit needs %zu", dev->name,
                      (unsigned long long)dev->max_alloc, cap * sizeof(float));
    if (rc == CLR_OK)
        rc = clr_device_open(dev, &r.ctx, &r.queue, 0, err);
    clr_tuning t = clr_tuning_default(dev);
    const char *extra[2] = {"-DAUDIT_OPS=" CLR_STR(AUDIT_OPS), "-DAUDIT_OPS=" CLR_STR(AUDIT_OPS) " " CR_OPTION};
    for (int b = 0; b < 2 && rc == CLR_OK; ++b) {
        if (b == 1 && !au->cr_available)
            break;
        rc = clr_program_build(r.ctx, dev, NULL, "audit.cl", &t, extra[b], &r.prog[b], err);
        r.built[b] = rc == CLR_OK;
        if (rc == CLR_OK) {
            snprintf(b ? au->cr_options : au->default_options, sizeof au->cr_options, "%s", r.prog[b].options);
            au->build_seconds[b] = r.prog[b].build_seconds;
        }
    }
    for (int k = 0; k < 3 && rc == CLR_OK; ++k) {
        cl_int st;
        r.in[k] = clCreateBuffer(r.ctx, CL_MEM_READ_ONLY, cap * sizeof(float), NULL, &st);
        rc = CLR_CL(err, st);
    }
    if (rc == CLR_OK) {
        cl_int st;
        r.out = clCreateBuffer(r.ctx, CL_MEM_WRITE_ONLY, cap * sizeof(float), NULL, &st);
        rc = CLR_CL(err, st);
    }
    if (rc == CLR_OK)
        rc = probe_contraction(&r, s, au, out, err);
    if (rc == CLR_OK)
        rc = probe_denormals(&r, s, au, out, host, err);
    if (rc == CLR_OK)
        rc = probe_fma(&r, s, au, out, err);
    if (rc == CLR_OK)
        rc = probe_accuracy(&r, s, au, out, host, err);
    for (int k = 0; k < 3; ++k)
        if (r.in[k])
            clReleaseMemObject(r.in[k]);
    if (r.out)
        clReleaseMemObject(r.out);
    for (int b = 0; b < 2; ++b)
        if (r.built[b])
            clr_program_release(&r.prog[b]);
    if (r.queue)
        clReleaseCommandQueue(r.queue);
    if (r.ctx)
        clReleaseContext(r.ctx);
    free(out);
    free(host);
    au->wall = clr_now() - start;
    return rc;
}

/* ---- outputs ---- */

static void hex32(float x, char buf[11])
{
    snprintf(buf, 11, "0x%08x", (unsigned)bits(x));
}

static json_t *tally_json(const tally *t, const char *probe)
{
    if (!probe)
        return json_pack("{s:s, s:s}", "verdict", "not applicable",
                         "why", "the square root of a normal number is normal");
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "verdict", flush_verdict(t), "probe", probe, "inputs",
                     (json_int_t)t->n, "preserved", (json_int_t)t->preserved, "flushed", (json_int_t)t->flushed,
                     "inexact", (json_int_t)t->inexact);
}

static json_t *contraction_json(const contraction *c, const char *build)
{
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "build", build, "verdict", contract_verdict(c), "inputs",
                     (json_int_t)c->n, "fused", (json_int_t)c->fused, "rounded_twice", (json_int_t)c->separate,
                     "other", (json_int_t)c->other);
}

static const char *build_name(const accuracy *r)
{
    return r->correctly_rounded_build ? CR_OPTION : "default";
}

static json_t *accuracy_json(const accuracy *r, const samples *s)
{
    if (!r->available)
        return json_pack("{s:s, s:s, s:b, s:s}", "function", r->function, "build", build_name(r), "available", 0,
                         "why", "not available: the device does not report CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT");
    char fp[17], ref[17], wa[11], wb[11];
    clr_hex64(r->fingerprint, fp);
    clr_hex64(r->reference_fingerprint, ref);
    json_t *worst = json_null();
    if (r->has_worst) {
        hex32(r->binary ? s->pa[r->worst] : s->u[r->worst], wa);
        worst = r->binary ? (hex32(s->pb[r->worst], wb), json_pack("[s, s]", wa, wb)) : json_pack("[s]", wa);
    }
    json_t *j = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:f, s:f, s:o, s:I, s:I, s:s, s:s}", "function",
                          r->function, "build", build_name(r), "available", 1, "sample", r->binary ? "pairs" : "single",
                          "inputs", (json_int_t)r->inputs, "not_correctly_rounded", (json_int_t)r->not_cr,
                          "max_ulp", r->max_ulp, "max_ulp_normal", r->max_ulp_normal, "max_ulp_input", worst,
                          "wrong_specials", (json_int_t)r->wrong_specials, "undecided", (json_int_t)r->undecided,
                          "fingerprint", fp, "correctly_rounded_fingerprint", ref);
    if (j && r->has_host) {
        char host[17];
        clr_hex64(r->host_fingerprint, host);
        json_object_set_new(j, "host_fingerprint", json_string(host));
        json_object_set_new(j, "same_as_host", json_boolean(r->same_as_host));
    }
    return j;
}

static char *audit_json(const device_audit *au, const samples *s, const char *command)
{
    json_t *dn = json_array(), *acc = json_array();
    for (int k = 0; k < 5; ++k)
        json_array_append_new(dn, json_pack("{s:s, s:o, s:o}", "op", denormal_ops[k], "subnormal_inputs",
                                            tally_json(&au->inputs[k], denormal_input_probe[k]), "subnormal_results",
                                            tally_json(&au->results[k], denormal_result_probe[k])));
    for (size_t k = 0; k < NACCURACY; ++k)
        json_array_append_new(acc, accuracy_json(&au->acc[k], s));
    json_t *first = json_null();
    if (au->fma_has_first) {
        char h[4][11];
        for (int k = 0; k < 4; ++k)
            hex32(au->fma_first[k], h[k]);
        char want[11];
        hex32(fmaf(au->fma_first[0], au->fma_first[1], au->fma_first[2]), want);
        first = json_pack("{s:s, s:s, s:s, s:s, s:s}", "a", h[0], "b", h[1], "c", h[2], "device", h[3], "fmaf", want);
    }
    char inputs_fp[17];
    clr_hex64(clr_audit_fingerprint(s->u, s->nu), inputs_fp);
    json_t *doc = json_pack(
        "{s:s, s:i, s:{s:s, s:s}, s:s, s:s, s:f, s:o,"
        " s:{s:I, s:I, s:I, s:I, s:I, s:s, s:s},"
        " s:{s:s, s:f, s:o, s:o},"
        " s:[o, o], s:{s:b, s:o}, s:{s:s, s:I, s:I, s:I, s:o}, s:o}",
        "schema", CLR_AUDIT_SCHEMA, "schema_version", CLR_AUDIT_SCHEMA_VERSION, "tool", "name", "clrepro", "version",
        CLREPRO_VERSION, "command", command ? command : "", "started_utc", au->started, "wall_seconds", au->wall,
        "device", clr_device_to_json(au->dev),
        "sample", "single", (json_int_t)s->nu, "pairs", (json_int_t)s->np, "triples", (json_int_t)s->nt,
        "subnormal_inputs", (json_int_t)s->nsub, "per_exponent", (json_int_t)CLR_AUDIT_PER_EXPONENT,
        "single_fingerprint", inputs_fp, "generator",
        "every float32 exponent and sign with 4096 mantissas (0, 1, largest, middle, then splitmix64 of the "
        "exponent, sign and index), specials, windows of 257 floats around thresholds; fixed, no seed",
        "build", "options", au->default_options, "seconds", au->build_seconds[0], "correctly_rounded_options",
        au->cr_available ? json_string(au->cr_options) : json_null(), "correctly_rounded_seconds",
        au->cr_available ? json_real(au->build_seconds[1]) : json_null(),
        "contraction", contraction_json(&au->contract[0], "default"),
        contraction_json(&au->contract[1], "#pragma OPENCL FP_CONTRACT OFF"),
        "denormals", "device_reports_denormals", (au->dev->single_fp & CL_FP_DENORM) != 0, "ops", dn,
        "fma", "verdict", fma_verdict(au), "inputs", (json_int_t)au->fma_n, "differ", (json_int_t)au->fma_differ,
        "differ_without_subnormals", (json_int_t)au->fma_differ_normal, "first_difference", first,
        "accuracy", acc);
    char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    return text;
}

static void format_ulp(double v, char *buf, size_t size)
{
    if (v == 0)
        snprintf(buf, size, "0");
    else if (v < 1000)
        snprintf(buf, size, "%.3f", v);
    else
        snprintf(buf, size, "%.3g", v);
}

static char *audit_markdown(const device_audit *au, const samples *s, const char *command)
{
    clr_text t = {0};
    const clr_device *dev = au->dev;
    clr_text_printf(&t, "# clrepro %s: audit of the float32 arithmetic of ", CLREPRO_VERSION);
    clr_text_md(&t, dev->name);
    clr_text_printf(&t, "\n\n- Device: ");
    clr_text_md(&t, dev->name);
    clr_text_printf(&t, ", platform ");
    clr_text_md(&t, dev->platform_name);
    clr_text_printf(&t, ", driver ");
    clr_text_md(&t, dev->driver_version);
    clr_text_printf(&t, "\n- Started %s; wall time %.2f s\n- Sample (the same on every machine): %zu single inputs "
                        "(every float32 exponent and sign with %d mantissas, specials, windows around each "
                        "function's thresholds), %zu pairs (division), %zu triples (fma), %zu subnormals\n",
                    au->started, au->wall, s->nu, CLR_AUDIT_PER_EXPONENT, s->np, s->nt, s->nsub);
    if (command) {
        clr_text_printf(&t, "\nCommand: ");
        clr_text_md_code(&t, command);
        clr_text_printf(&t, "\n");
    }
    clr_text_printf(&t, "\n## Contraction of `a*b + c`\n\n%d triples where an fma and two roundings differ.\n\n"
                        "| build | verdict | as an fma | rounded twice | neither |\n|---|---|---:|---:|---:|\n",
                    NCONTRACT);
    for (int v = 0; v < 2; ++v) {
        const contraction *c = &au->contract[v];
        clr_text_printf(&t, "| %s | %s | %zu | %zu | %zu |\n", v ? "`#pragma OPENCL FP_CONTRACT OFF`" : "default",
                        contract_verdict(c), c->fused, c->separate, c->other);
    }
    clr_text_printf(&t, "\n## Subnormals\n\nThe device reports denormal support: %s. Flushed: the result was "
                        "±0 where the IEEE result is not; inexact: not flushed, but not the IEEE result either "
                        "(an operation that is not correctly rounded).\n\n| operation | subnormal "
                        "inputs | verdict | preserved | flushed | inexact | subnormal results | verdict | preserved | "
                        "flushed | inexact |\n|---|---|---|---:|---:|---:|---|---|---:|---:|---:|\n",
                    dev->single_fp & CL_FP_DENORM ? "yes" : "no");
    for (int k = 0; k < 5; ++k) {
        const tally *i = &au->inputs[k], *r = &au->results[k];
        clr_text_printf(&t, "| %s | `%s` | %s | %zu | %zu | %zu |", denormal_ops[k], denormal_input_probe[k],
                        flush_verdict(i), i->preserved, i->flushed, i->inexact);
        if (denormal_result_probe[k])
            clr_text_printf(&t, " `%s` | %s | %zu | %zu | %zu |\n", denormal_result_probe[k], flush_verdict(r),
                            r->preserved, r->flushed, r->inexact);
        else
            clr_text_printf(&t, " - | not applicable | | | |\n");
    }
    clr_text_printf(&t, "\n## fma\n\n`fma(a, b, c)` %s: %zu of %zu triples differ from the host's fmaf (%zu without "
                        "subnormal inputs or results).\n",
                    fma_verdict(au), au->fma_differ, au->fma_n, au->fma_differ_normal);
    clr_text_printf(&t, "\n## Accuracy against the correctly rounded value\n\nmax ulp (normal): where the inputs "
                        "and the correctly rounded result are not subnormal. The fingerprint is XXH64 of the outputs "
                        "(NaN made 0x7fc00000); \"correctly rounded\" is that of the correctly rounded values.\n\n"
                        "| function | build | inputs | not correctly rounded | max ulp | max ulp (normal) | wrong "
                        "specials | fingerprint | correctly rounded |\n|---|---|---:|---:|---:|---:|---:|---|---|\n");
    for (size_t k = 0; k < NACCURACY; ++k) {
        const accuracy *r = &au->acc[k];
        const char *build = r->correctly_rounded_build ? "`" CR_OPTION "`" : "default";
        if (!r->available) {
            clr_text_printf(&t, "| %s | %s | not available: the device does not report "
                                "CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT | | | | | | |\n", r->function, build);
            continue;
        }
        char fp[17], ref[17], mu[32], mn[32];
        clr_hex64(r->fingerprint, fp);
        clr_hex64(r->reference_fingerprint, ref);
        format_ulp(r->max_ulp, mu, sizeof mu);
        format_ulp(r->max_ulp_normal, mn, sizeof mn);
        clr_text_printf(&t, "| %s | %s | %zu | %zu | %s | %s | %zu | %s%s | %s |\n", r->function, build, r->inputs,
                        r->not_cr, mu, mn, r->wrong_specials, fp,
                        !r->has_host ? "" : r->same_as_host ? " (= host replay)" : " (differs from the host replay)",
                        ref);
    }
    return t.failed ? NULL : t.buf;
}

/* The short table on stdout (within 100 columns). */
static void print_summary(const device_audit *au, const char *dir)
{
    char name[256], shown[4096];
    printf("audit of %s (%.1f s)\n", clr_escape(au->dev->name, name, sizeof name), au->wall);
    printf("  a*b+c: %s by default (%zu of %zu as an fma), %s with FP_CONTRACT OFF\n",
           contract_verdict(&au->contract[0]), au->contract[0].fused, au->contract[0].n,
           contract_verdict(&au->contract[1]));
    printf("  subnormal inputs: ");
    for (int k = 0; k < 5; ++k)
        printf(" %s %s%s", denormal_ops[k], flush_verdict(&au->inputs[k]), k < 4 ? "," : "\n");
    printf("  subnormal results:");
    for (int k = 0; k < 4; ++k)
        printf(" %s %s%s", denormal_ops[k], flush_verdict(&au->results[k]), k < 3 ? "," : "\n");
    printf("  fma: %s (%zu of %zu differ from the host's fmaf)\n", fma_verdict(au), au->fma_differ, au->fma_n);
    printf("  %-14s %-7s %9s %9s %9s %11s  %-16s  %s\n", "function", "build", "not CR", "max ulp", "(normal)",
           "bad NaN/inf", "fingerprint", "host replay");
    for (size_t k = 0; k < NACCURACY; ++k) {
        const accuracy *r = &au->acc[k];
        const char *build = r->correctly_rounded_build ? "cr-flag" : "default";
        if (!r->available) {
            printf("  %-14s %-7s not available (no CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT)\n", r->function, build);
            continue;
        }
        char fp[17], mu[32], mn[32];
        clr_hex64(r->fingerprint, fp);
        format_ulp(r->max_ulp, mu, sizeof mu);
        format_ulp(r->max_ulp_normal, mn, sizeof mn);
        printf("  %-14s %-7s %9zu %9s %9s %11zu  %s%s\n", r->function, build, r->not_cr, mu, mn, r->wrong_specials,
               fp, !r->has_host ? "" : r->same_as_host ? "  same" : "  DIFFERS");
    }
    printf("  (not CR: not correctly rounded; max ulp from the exact value, (normal) without subnormal inputs\n"
           "  or results; cr-flag: built with " CR_OPTION ")\nresults: %s/audit.{json,md}\n",
           clr_escape(dir, shown, sizeof shown));
}

/* ---- the command ---- */

int clr_cmd_audit(const clr_cli *cli, clr_error *err)
{
    clr_device_list all = {0}, chosen = {0};
    char (*dirs)[PATH_MAX] = NULL, (*tops)[PATH_MAX] = NULL;
    device_audit *audits = NULL;
    samples s = {0};
    clr_install_cleanup_handlers(); /* before OpenCL, whose compiler installs handlers of its own */
    /* The host must not flush subnormals itself (it judges the devices by its own arithmetic). */
    volatile float tiny = 0x1p-126f, half = 0.5f;
    int rc = tiny * half == 0.0f ? clr_fail(err, CLR_EFAIL, "audit: this host flushes subnormal results; its "
                                            "references would be wrong") : CLR_OK;
    if (rc == CLR_OK)
        rc = clr_devices_enumerate(&all, err);
    if (rc == CLR_OK)
        rc = clr_cli_select_devices(cli, &all, &chosen, err);
    if (rc == CLR_OK) {
        dirs = calloc(chosen.count, sizeof *dirs);
        tops = calloc(chosen.count, sizeof *tops);
        audits = calloc(chosen.count, sizeof *audits);
        if (!dirs || !tops || !audits)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    /* Every output place is checked before anything is measured; nothing is created yet. */
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i) {
        char json_path[PATH_MAX + 16], md_path[PATH_MAX + 16];
        clr_device_results_dir(cli->out_dir, &chosen, i, dirs[i], sizeof dirs[i]);
        clr_missing_top(dirs[i], tops[i], sizeof tops[i]);
        snprintf(json_path, sizeof json_path, "%s/audit.json", dirs[i]);
        snprintf(md_path, sizeof md_path, "%s/audit.md", dirs[i]);
        rc = clr_check_out_dir(dirs[i], strlen("audit.json"), err);
        if (rc == CLR_OK)
            rc = clr_check_out_file(json_path, err);
        if (rc == CLR_OK)
            rc = clr_check_out_file(md_path, err);
    }
    if (rc == CLR_OK)
        rc = samples_make(&s, err);
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i)
        rc = audit_device(&chosen.items[i], &s, &audits[i], err);
    /* Every device's files in one batch: all of them land, or none. */
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i)
        rc = clr_prepare_out_dir(dirs[i], err);
    clr_file_batch batch = {0};
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i) {
        char path[PATH_MAX + 16];
        char *json = audit_json(&audits[i], &s, cli->command_line);
        char *md = audit_markdown(&audits[i], &s, cli->command_line);
        if (!json || !md)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
        snprintf(path, sizeof path, "%s/audit.json", dirs[i]);
        if (rc == CLR_OK)
            rc = clr_batch_add(&batch, path, json, strlen(json), err);
        snprintf(path, sizeof path, "%s/audit.md", dirs[i]);
        if (rc == CLR_OK)
            rc = clr_batch_add(&batch, path, md, strlen(md), err);
        free(json);
        free(md);
    }
    if (rc == CLR_OK)
        rc = clr_batch_commit(&batch, err);
    else
        clr_batch_abort(&batch);
    if (rc != CLR_OK)
        for (size_t i = 0; dirs && tops && i < chosen.count; ++i)
            if (tops[i][0])
                clr_remove_empty_dirs(dirs[i], tops[i]);
    for (size_t i = 0; i < chosen.count && rc == CLR_OK && !cli->quiet; ++i)
        print_summary(&audits[i], dirs[i]);
    samples_free(&s);
    free(audits);
    free(dirs);
    free(tops);
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    return rc;
}
