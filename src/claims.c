/* claims.c: the batch-variance summary and the judgement of claims (claims.h), from the cases
 * a run measured or took from its journal. No device is involved: the test suite judges
 * synthetic cases with it (test/test_claims.c). */
#include "claims.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "reference.h"

uint64_t clr_max_ulp(const float *a, const float *b, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t d = clr_ulp_distance(a[i], b[i]);
        m = d > m ? d : m;
    }
    return m;
}

void clr_abs_diff(const float *a, const float *b, size_t n, double *sum, double *max)
{
    for (size_t i = 0; i < n; ++i) {
        double d = 0;
        if (memcmp(&a[i], &b[i], sizeof a[i]))
            d = isfinite(a[i]) && isfinite(b[i]) ? fabs((double)a[i] - (double)b[i]) : INFINITY;
        *sum += d;
        *max = d > *max ? d : *max;
    }
}

typedef struct probe_at {
    size_t batch;
    uint64_t hash;
} probe_at;

static int cmp_probe_at(const void *a, const void *b)
{
    const probe_at *x = a, *y = b;
    return x->batch < y->batch ? -1 : x->batch > y->batch;
}

int clr_find_switches(const clr_case *cases, size_t ncases, size_t shape_index, size_t strategy, clr_switch *out)
{
    memset(out, 0, sizeof *out);
    out->strategy = strategy;
    out->shape_index = shape_index;
    size_t n = 0;
    for (size_t i = 0; i < ncases; ++i)
        n += cases[i].strategy == strategy && cases[i].shape_index == shape_index && !cases[i].skipped &&
             cases[i].npositions;
    if (n == 0)
        return 0;
    probe_at *p = malloc(n * sizeof *p);
    uint64_t *hashes = malloc(n * sizeof *hashes);
    if (!p || !hashes) {
        free(p);
        free(hashes);
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < ncases; ++i) {
        const clr_case *c = &cases[i];
        if (c->strategy == strategy && c->shape_index == shape_index && !c->skipped && c->npositions) {
            out->varying += c->r2r_distinct > 1;
            p[k].batch = c->shape.batch;
            hashes[k] = p[k].hash = c->positions[0].hash;
            ++k;
        }
    }
    qsort(p, n, sizeof *p, cmp_probe_at);
    out->measured = n;
    out->lo = p[0].batch;
    out->hi = p[n - 1].batch;
    out->distinct = clr_count_distinct_u64(hashes, n);
    for (size_t i = 1; i < n; ++i)
        if (p[i].hash != p[i - 1].hash) {
            if (out->nchanges < CLR_MAX_SWITCHES) {
                out->before[out->nchanges] = p[i - 1].batch;
                out->at[out->nchanges] = p[i].batch;
            }
            out->nchanges++;
        }
    free(p);
    free(hashes);
    return 1;
}

static const clr_case *sort_cases;

/* By strategy, shape, then batch. */
static int cmp_case_index(const void *a, const void *b)
{
    const clr_case *x = &sort_cases[*(const size_t *)a], *y = &sort_cases[*(const size_t *)b];
    if (x->strategy != y->strategy)
        return x->strategy < y->strategy ? -1 : 1;
    if (x->shape_index != y->shape_index)
        return x->shape_index < y->shape_index ? -1 : 1;
    return x->shape.batch < y->shape.batch ? -1 : x->shape.batch > y->shape.batch;
}

int clr_probe_changes(const clr_case *cases, size_t ncases, size_t *changed_from)
{
    size_t *order = malloc((ncases ? ncases : 1) * sizeof *order), n = 0;
    if (!order)
        return -1;
    for (size_t i = 0; i < ncases; ++i) {
        changed_from[i] = 0;
        if (!cases[i].skipped && cases[i].npositions)
            order[n++] = i;
    }
    sort_cases = cases;
    qsort(order, n, sizeof *order, cmp_case_index);
    for (size_t k = 1; k < n; ++k) {
        const clr_case *a = &cases[order[k - 1]], *b = &cases[order[k]];
        if (a->strategy == b->strategy && a->shape_index == b->shape_index &&
            a->positions[0].hash != b->positions[0].hash)
            changed_from[order[k]] = a->shape.batch;
    }
    free(order);
    return 0;
}

void clr_switch_text(const clr_switch *sw, const char *batch_name, char *buf, size_t size)
{
    size_t len = 0;
    if (sw->nchanges == 0) {
        snprintf(buf, size, "never change in %s = %zu-%zu (%zu sizes)", batch_name, sw->lo, sw->hi, sw->measured);
        return; /* (a strategy whose trials varied has no single pattern per size to stay the same) */
    }
    len = (size_t)snprintf(buf, size, "change at %s =", batch_name);
    size_t shown = sw->nchanges < CLR_MAX_SWITCHES ? sw->nchanges : CLR_MAX_SWITCHES;
    for (size_t i = 0; i < shown && len < size; ++i) {
        /* Neighbours among the sizes measured: "8" when 7 was measured, "5-8" when 4 was the last */
        if (sw->at[i] - sw->before[i] == 1)
            len += (size_t)snprintf(buf + len, size - len, "%s %zu", i ? "," : "", sw->at[i]);
        else
            len += (size_t)snprintf(buf + len, size - len, "%s %zu-%zu", i ? "," : "", sw->before[i] + 1, sw->at[i]);
    }
    int unresolved = 0;
    for (size_t i = 0; i < shown; ++i)
        unresolved |= sw->at[i] - sw->before[i] > 1;
    if (len < size && sw->nchanges > shown)
        len += (size_t)snprintf(buf + len, size - len, " and %zu more", sw->nchanges - shown);
    if (len < size)
        len += (size_t)snprintf(buf + len, size - len, " (%zu patterns in %zu sizes, %zu-%zu%s)", sw->distinct,
                                sw->measured, sw->lo, sw->hi,
                                unresolved ? "; a-b: at some size from a to b, none between them run" : "");
    if (len < size && sw->varying)
        snprintf(buf + len, size - len, "; it varied run to run at %zu of them, so a change may be that, not B",
                 sw->varying);
}

int clr_summarise_variance(const clr_operation *op, clr_case *cases, size_t ncases, size_t shape_index,
                           size_t strategy, clr_variance *out)
{
    clr_case *base = NULL;
    size_t nobs = 0;
    for (size_t i = 0; i < ncases; ++i) {
        clr_case *c = &cases[i];
        if (c->strategy != strategy || c->skipped)
            continue;
        nobs += c->npositions;
        if (!base || c->shape.batch < base->shape.batch)
            base = c;
    }
    if (!base)
        return 0;
    size_t out_row = op->output_row_floats(&base->shape);
    clr_variance *v = out;
    memset(v, 0, sizeof *v);
    v->strategy = strategy;
    v->shape_index = shape_index;
    v->base_batch = base->shape.batch;
    size_t count = 0;
    uint64_t *hashes = calloc(nobs ? nobs : 1, sizeof *hashes);
    for (size_t i = 0; i < ncases; ++i) {
        clr_case *c = &cases[i];
        if (c->strategy != strategy || c->skipped)
            continue;
        for (size_t k = 0; k < c->npositions; ++k) {
            clr_observation *o = &c->positions[k];
            o->max_ulp = clr_max_ulp(o->probe, base->positions[0].probe, out_row);
            clr_abs_diff(o->probe, base->positions[0].probe, out_row, &v->mean_abs_diff, &v->max_abs_diff);
            v->max_ulp = o->max_ulp > v->max_ulp ? o->max_ulp : v->max_ulp;
            if (hashes)
                hashes[count++] = o->hash;
            v->observations++;
        }
    }
    v->distinct = hashes ? clr_count_distinct_u64(hashes, count) : 0;
    v->mean_abs_diff = v->observations ? v->mean_abs_diff / ((double)v->observations * (double)out_row) : 0;
    free(hashes);
    return 1;
}

static void shape_of(const clr_claim_input *in, size_t shape_index, char *buf, size_t size)
{
    clr_shape_text(in->op, &in->shapes[shape_index], buf, size);
}

/* Run to run: the most distinct outputs over the trials of any one case. */
static void judge_deterministic(const clr_claim_input *in, size_t s, clr_claim_result *cr)
{
    size_t worst = 0, at = 0;
    char where[128];
    for (size_t i = 0; i < in->ncases; ++i)
        if (in->cases[i].strategy == s && !in->cases[i].skipped && in->cases[i].r2r_distinct > worst) {
            worst = in->cases[i].r2r_distinct;
            at = i;
        }
    if (worst == 0)
        return;
    cr->status = worst > 1 ? CLR_CLAIM_VIOLATED : CLR_CLAIM_HELD;
    shape_of(in, in->cases[at].shape_index, where, sizeof where);
    if (worst > 1)
        snprintf(cr->evidence, sizeof cr->evidence, "%zu distinct outputs in %u trials at %s, batch %zu", worst,
                 in->trials, where, in->cases[at].shape.batch);
    else
        snprintf(cr->evidence, sizeof cr->evidence, "1 output pattern in %u trials at every shape", in->trials);
}

/* The probe row over batch sizes and positions (the variance summaries), and every row under the
 * op's alternative layout. */
static void judge_batch_invariant(const clr_claim_input *in, size_t s, clr_claim_result *cr)
{
    size_t worst = 0, observations = 0, at = 0, layouts = 0, layout_bad = 0, layout_at = 0;
    uint64_t ulp = 0, layout_ulp = 0;
    char where[128];
    for (size_t i = 0; i < in->nvariance; ++i) {
        const clr_variance *v = &in->variance[i];
        if (v->strategy != s)
            continue;
        observations += v->observations;
        if (v->distinct > worst) {
            worst = v->distinct;
            at = v->shape_index;
            ulp = v->max_ulp;
        }
    }
    for (size_t i = 0; i < in->ncases; ++i) {
        const clr_case *c = &in->cases[i];
        if (c->strategy != s || !c->has_layout)
            continue;
        layouts++;
        if (!c->layout_same && !layout_bad++) {
            layout_at = i;
            layout_ulp = c->layout_max_ulp;
        }
    }
    if (observations <= 1 && !layouts)
        return;
    cr->status = worst > 1 || layout_bad ? CLR_CLAIM_VIOLATED : CLR_CLAIM_HELD;
    shape_of(in, at, where, sizeof where);
    if (worst > 1)
        snprintf(cr->evidence, sizeof cr->evidence,
                 "%zu distinct probe outputs across batch sizes and positions at %s "
                 "(max %llu ulp from the smallest batch)",
                 worst, where, (unsigned long long)ulp);
    else if (layout_bad) {
        shape_of(in, in->cases[layout_at].shape_index, where, sizeof where);
        snprintf(cr->evidence, sizeof cr->evidence,
                 "outputs changed when the same inputs were read from a larger buffer at %s, batch "
                 "%zu (max %llu ulp)",
                 where, in->cases[layout_at].shape.batch, (unsigned long long)layout_ulp);
    } else
        snprintf(cr->evidence, sizeof cr->evidence, "probe bits identical in all %zu batch/position observations%s",
                 observations, layouts ? " and in every larger-buffer layout" : "");
}

/* The probe row with its elements permuted (the op's permute_row). */
static void judge_order_independent(const clr_claim_input *in, size_t s, clr_claim_result *cr)
{
    size_t worst = 0, tried = 0, at = 0;
    uint64_t ulp = 0;
    char where[128];
    for (size_t i = 0; i < in->ncases; ++i) {
        const clr_case *c = &in->cases[i];
        if (c->strategy != s || !c->norders)
            continue;
        tried += c->norders;
        if (c->order_distinct > worst) {
            worst = c->order_distinct;
            at = c->shape_index;
            ulp = c->order_max_ulp;
        }
    }
    if (!tried)
        return;
    cr->status = worst > 1 ? CLR_CLAIM_VIOLATED : CLR_CLAIM_HELD;
    shape_of(in, at, where, sizeof where);
    if (worst > 1)
        snprintf(cr->evidence, sizeof cr->evidence,
                 "%zu distinct probe outputs over %u orders of its input at %s (max %llu ulp)", worst,
                 CLR_ORDERS + 1, where, (unsigned long long)ulp);
    else
        snprintf(cr->evidence, sizeof cr->evidence, "probe bits identical over %zu permutations of its input",
                 tried);
}

size_t clr_check_claims(const clr_claim_input *in, clr_claim_result *out)
{
    size_t n = 0, broken = 0;
    for (size_t si = 0; si < in->nstrategies; ++si) {
        size_t s = in->strategies[si];
        unsigned claims = in->op->strategies[s].claims;
        for (unsigned bit = 1; bit < (1u << CLR_NCLAIMS); bit <<= 1) {
            clr_claim_result *cr = &out[n++];
            memset(cr, 0, sizeof *cr);
            cr->strategy = s;
            cr->claim = bit;
            cr->claimed = (claims & bit) != 0;
            cr->status = CLR_CLAIM_NOT_MEASURED;
            if (bit == CLR_CLAIM_DETERMINISTIC)
                judge_deterministic(in, s, cr);
            else if (bit == CLR_CLAIM_BATCH_INVARIANT)
                judge_batch_invariant(in, s, cr);
            else if (bit == CLR_CLAIM_ORDER_INDEPENDENT)
                judge_order_independent(in, s, cr);
            else
                snprintf(cr->evidence, sizeof cr->evidence,
                         "measured across devices by comparing fingerprints, not by `run`");
            if (cr->claimed && cr->status == CLR_CLAIM_VIOLATED)
                broken++;
        }
    }
    return broken;
}
