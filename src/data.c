/* data.c: the counter-based input generator and the --input source.
 *
 * Every value is derived from a hash of (seed, stream, row, i) with splitmix64 finalisers and
 * only IEEE-exact operations (+ - * / sqrt, all correctly rounded, no contraction), plus a
 * logarithm written here with those operations, so the bits never depend on the libm. */
#include "data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "npy.h"

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t clr_hash(uint64_t seed, uint64_t stream, uint64_t row, uint64_t i)
{
    return mix64(mix64(mix64(mix64(seed) ^ stream) ^ row) ^ i);
}

int clr_dist_parse(const char *text, clr_dist *out)
{
    if (strcmp(text, "uniform") == 0)
        *out = CLR_DIST_UNIFORM;
    else if (strcmp(text, "normal") == 0)
        *out = CLR_DIST_NORMAL;
    else if (strcmp(text, "illcond") == 0)
        *out = CLR_DIST_ILLCOND;
    else
        return -1;
    return 0;
}

const char *clr_dist_name(clr_dist d)
{
    return d == CLR_DIST_NORMAL ? "normal" : d == CLR_DIST_ILLCOND ? "illcond" : "uniform";
}

/* Uniform on [-1, 1) with 24 random bits: exact in float. */
static double uniform_pm1(uint64_t h)
{
    return (double)((int64_t)(h >> 40) - (1 << 23)) * 0x1p-23;
}

/* Natural log for x in (0, 1] from + - * / only: x = m 2^e, m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh((m-1)/(m+1)) by its series (|f| < 0.172, 12 terms: error < 1e-19). */
static double portable_log(double x)
{
    int e;
    double m = frexp(x, &e); /* exact */
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    double f = (m - 1.0) / (m + 1.0), f2 = f * f, term = f, sum = 0.0;
    for (int k = 1; k <= 23; k += 2) {
        sum += term / (double)k;
        term *= f2;
    }
    return 2.0 * sum + (double)e * 0.69314718055994530942;
}

static float normal(uint64_t seed, uint64_t row, uint64_t i)
{
    /* Polar method; each attempt draws fresh counters, so it stays a pure function. */
    for (uint64_t attempt = 0;; ++attempt) {
        uint64_t h = clr_hash(seed, 2 + attempt, row, i);
        double u = (double)(int64_t)((h >> 32) - (1ull << 31)) * 0x1p-31;
        double v = (double)(int64_t)((h & 0xffffffffull) - (1ull << 31)) * 0x1p-31;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0)
            return (float)(u * sqrt(-2.0 * portable_log(s) / s));
    }
}

/* Sign, 23-bit mantissa, exponent in [lo, hi]: a float built bit by bit. */
static float wide(uint64_t h, int lo, int hi)
{
    int e = lo + (int)((h >> 24) % (uint64_t)(hi - lo + 1));
    double m = 1.0 + (double)(h & 0x7fffff) * 0x1p-23;
    double v = ldexp(m, e); /* exact in double; the float conversion rounds subnormals */
    return (float)((h >> 63) ? -v : v);
}

static float illcond(uint64_t seed, uint64_t row, uint64_t i)
{
    /* Element i and i ^ 1024 form a pair. Most pairs are (+b, -b) and cancel exactly; one
     * pair in 16 is replaced by two tiny values. */
    uint64_t pair = i & ~(uint64_t)1024;
    if (clr_hash(seed, 1, row, pair) % 16 == 0)
        return wide(clr_hash(seed, 0, row, i), -140, -100);
    float b = wide(clr_hash(seed, 0, row, pair), -24, 24);
    return (i & 1024) ? -b : b;
}

float clr_gen(uint64_t seed, clr_dist dist, uint64_t row, uint64_t i)
{
    switch (dist) {
    case CLR_DIST_NORMAL: return normal(seed, row, i);
    case CLR_DIST_ILLCOND: return illcond(seed, row, i);
    case CLR_DIST_UNIFORM: break;
    }
    return (float)uniform_pm1(clr_hash(seed, 0, row, i));
}

void clr_gen_row(uint64_t seed, clr_dist dist, uint64_t row, float *out, size_t n)
{
    if (dist == CLR_DIST_UNIFORM) {
        uint64_t base = mix64(mix64(mix64(seed) ^ 0) ^ row); /* clr_hash, hoisted */
        for (size_t i = 0; i < n; ++i)
            out[i] = (float)uniform_pm1(mix64(base ^ i));
        return;
    }
    for (size_t i = 0; i < n; ++i)
        out[i] = clr_gen(seed, dist, row, i);
}

int clr_input_open_file(clr_input *in, const char *path, clr_error *err)
{
    in->from_file = 1;
    snprintf(in->path, sizeof in->path, "%s", path);
    return clr_npy_read_f32(path, &in->data, &in->rows, &in->cols, err);
}

void clr_input_row(const clr_input *in, uint64_t row, float *out, size_t n)
{
    if (in->from_file) {
        const float *src = in->data + (size_t)(row % in->rows) * in->cols;
        memcpy(out, src, (n < in->cols ? n : in->cols) * sizeof(float));
        return;
    }
    clr_gen_row(in->seed, in->dist, row, out, n);
}

void clr_input_close(clr_input *in)
{
    free(in->data);
    in->data = NULL;
}
