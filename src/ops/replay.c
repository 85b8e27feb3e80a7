/* replay.c: the orders of addition of cl/reduce.clh (and sum_compensated in cl/sum.cl),
 * performed on the host in float, addition for addition, so that validation can demand the
 * device's bits instead of an error bound (include/replay.h). Built with -ffp-contract=off. */
#include <float.h>
#include <math.h>
#include "replay.h"
#include "op.h"
#include "reference.h"

/* A replay is only as good as its arithmetic: every operation an IEEE float operation, in order. */
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__) || FLT_EVAL_METHOD != 0
#error "host replays need IEEE float arithmetic: no -ffast-math, -Ofast or excess precision"
#endif

#define MAX_VEC 16

/* wi_vector_span: the vectors [first, last) of work-item lid, stepping by stride. */
static void vector_span(const clr_reduce_geometry *g, size_t nvec, unsigned lid, size_t *first, size_t *last,
                        size_t *stride)
{
    if (g->contig) {
        size_t per = (nvec + g->wg - 1) / g->wg;
        *first = (size_t)lid * per < nvec ? (size_t)lid * per : nvec;
        *last = *first + per < nvec ? *first + per : nvec;
        *stride = 1;
    } else {
        *first = lid;
        *last = nvec;
        *stride = g->wg;
    }
}

/* hsum2 ... hsum16: halves summed, each half pairwise. */
static float lanes_pairwise(const float *v, unsigned n)
{
    if (n == 1)
        return v[0];
    return lanes_pairwise(v, n / 2) + lanes_pairwise(v + n / 2, n / 2);
}

float clr_replay_wi_partial(const clr_reduce_geometry *g, const float *p, size_t len, unsigned lid)
{
    size_t nvec = len / g->vec, first, last, stride;
    vector_span(g, nvec, lid, &first, &last, &stride);
    float acc[MAX_VEC] = {0};
    for (size_t k = first; k < last; k += stride)
        for (unsigned l = 0; l < g->vec; ++l)
            acc[l] += p[k * g->vec + l];
    float s = lanes_pairwise(acc, g->vec);
    for (size_t t = nvec * g->vec + lid; t < len; t += g->wg)
        s += p[t];
    return s;
}

float clr_replay_wg_tree(const clr_reduce_geometry *g, float *v)
{
    for (unsigned s = g->wg / 2; s > 0; s >>= 1)
        for (unsigned lid = 0; lid < s; ++lid)
            v[lid] += v[lid + s];
    return v[0];
}

float clr_replay_wg_range(const clr_reduce_geometry *g, const float *p, size_t len, float *scratch)
{
    for (unsigned lid = 0; lid < g->wg; ++lid)
        scratch[lid] = clr_replay_wi_partial(g, p, len, lid);
    return clr_replay_wg_tree(g, scratch);
}

float clr_replay_race(const float *pieces, size_t count, size_t stride, double *tol)
{
    clr_exact_acc acc;
    clr_exact_init(&acc);
    double magnitude = 0;
    for (size_t q = 0; q < count; ++q) {
        clr_exact_add(&acc, pieces[q * stride]);
        magnitude += fabs((double)pieces[q * stride]);
    }
    float sum = clr_exact_result(&acc);
    if (sum == 0)
        sum = 0.0f;
    /* The bound, and the rounding of sum itself, padded for the double arithmetic here. */
    *tol = count > 1 ? (clr_gamma((double)(count - 1)) * magnitude + fabs((double)sum - clr_exact_result_double(&acc))) *
                           (1 + 0x1p-40)
                     : 0;
    return sum;
}

static void two_sum(float a, float b, float *s, float *e)
{
    float t = a + b;
    float z = t - a;
    *e = (a - (t - z)) + (b - z);
    *s = t;
}

/* comp_tree: the pairs ls[lid], le[lid] merged through the work-group's tree. */
static void comp_tree(const clr_reduce_geometry *g, float *ls, float *le, float *sum, float *err)
{
    for (unsigned span = g->wg / 2; span > 0; span >>= 1)
        for (unsigned lid = 0; lid < span; ++lid) {
            float hs, e;
            two_sum(ls[lid], ls[lid + span], &hs, &e);
            le[lid] = le[lid] + le[lid + span] + e;
            ls[lid] = hs;
        }
    *sum = ls[0];
    *err = le[0];
}

/* comp_range: one work-group's (sum, error) pair over p[0, n). */
static void comp_range(const clr_reduce_geometry *g, const float *p, size_t n, float *scratch, float *sum, float *err)
{
    float *ls = scratch, *le = scratch + g->wg;
    size_t nvec = n / g->vec;
    for (unsigned lid = 0; lid < g->wg; ++lid) {
        size_t first, last, stride;
        vector_span(g, nvec, lid, &first, &last, &stride);
        float s[MAX_VEC] = {0}, c[MAX_VEC] = {0};
        for (size_t k = first; k < last; k += stride)
            for (unsigned l = 0; l < g->vec; ++l) {
                float v = p[k * g->vec + l];
                float t = s[l] + v;
                float z = t - s[l];
                c[l] += (s[l] - (t - z)) + (v - z);
                s[l] = t;
            }
        float fs = s[0], fc = c[0];
        for (unsigned l = 1; l < g->vec; ++l) {
            float e;
            two_sum(fs, s[l], &fs, &e);
            fc += c[l] + e;
        }
        for (size_t t = nvec * g->vec + lid; t < n; t += g->wg) {
            float e;
            two_sum(fs, p[t], &fs, &e);
            fc += e;
        }
        ls[lid] = fs;
        le[lid] = fc;
    }
    comp_tree(g, ls, le, sum, err);
}

/* comp_result: the errors added back once; inf and NaN as the plain sum gives them. */
static float comp_result(float sum, float err) { return isfinite(sum) ? sum + err : sum; }

float clr_replay_compensated(const clr_reduce_geometry *g, const float *p, size_t n, float *scratch)
{
    float sum, err;
    comp_range(g, p, n, scratch, &sum, &err);
    return comp_result(sum, err);
}

float clr_replay_compensated_parts(const clr_reduce_geometry *g, const float *p, size_t n, size_t chunk,
                                   size_t parts, float *scratch)
{
    float *pairs = scratch + 2 * (size_t)g->wg; /* sum, error of part q at 2q, 2q + 1 */
    for (size_t q = 0; q < parts; ++q) {
        size_t begin = q * chunk < n ? q * chunk : n;
        size_t end = n - begin > chunk ? begin + chunk : n;
        comp_range(g, p + begin, end - begin, scratch, &pairs[2 * q], &pairs[2 * q + 1]);
    }
    float *ls = scratch, *le = scratch + g->wg;
    for (unsigned lid = 0; lid < g->wg; ++lid) {
        float fs = 0.0f, fc = 0.0f;
        for (size_t q = lid; q < parts; q += g->wg) {
            float e;
            two_sum(fs, pairs[2 * q], &fs, &e);
            fc += pairs[2 * q + 1] + e;
        }
        ls[lid] = fs;
        le[lid] = fc;
    }
    float sum, err;
    comp_tree(g, ls, le, &sum, &err);
    return comp_result(sum, err);
}
