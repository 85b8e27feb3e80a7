/* baseline.c: `clrepro compare --baseline OLD NEW` (baseline.h): pairs the documents of a baseline
 * with new ones, matches their cases, says per case whether the bits changed and how the time
 * moved — judged from the raw repetitions by a Mann-Whitney U test, not from one median — and
 * whether a gate asked for (--fail-on bits, --fail-on slowdown=X) fails. Writes Markdown, CSV,
 * JSON (schema clrepro.baseline) and a terminal summary; every string from a document is escaped
 * for where it lands (text.h, clr_escape). A reader-side module: results.h, compare.h, text.h. */
#include "baseline.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "reference.h"
#include "text.h"

#define NONE SIZE_MAX

/* ---- the Mann-Whitney U test ---- */

typedef struct ranked {
    double v;
    int from_x;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    double x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    return x < y ? -1 : x > y;
}

/* P(U <= u) and P(U >= u) under the null hypothesis, exactly, for nx and ny values without ties:
 * the counts of U are the coefficients of the Gaussian binomial [nx + ny choose nx]_q, built as
 * prod_{i=1..nx} (1 - q^(ny+i)) / (1 - q^i), each step a Gaussian binomial itself (so every
 * division is exact, and the small coefficients the tails are made of never meet large ones). */
static double exact_two_sided(size_t nx, size_t ny, double u)
{
    size_t top = nx * ny;
    double *c = calloc(top + nx + 1, sizeof *c); /* the numerator of the last step reaches top + nx */
    if (!c)
        return NAN;
    c[0] = 1;
    size_t degree = 0;
    for (size_t i = 1; i <= nx; ++i) {
        size_t m = ny + i;
        for (size_t k = degree + m; k >= m; --k) /* times (1 - q^m) */
            c[k] -= c[k - m];
        degree += m;
        for (size_t k = i; k <= degree; ++k) /* divided by (1 - q^i) */
            c[k] += c[k - i];
        degree -= i;
    }
    double total = 0, below = 0, above = 0;
    for (size_t k = 0; k <= top; ++k) {
        total += c[k];
        if ((double)k <= u)
            below += c[k];
        if ((double)k >= u)
            above += c[k];
    }
    free(c);
    double p = 2 * (below < above ? below : above) / total;
    return p < 1 ? p : 1;
}

double clr_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u_out)
{
    if (u_out)
        *u_out = NAN;
    if (!nx || !ny)
        return 1;
    size_t n = nx + ny;
    ranked *all = malloc(n * sizeof *all);
    if (!all)
        return NAN;
    for (size_t i = 0; i < nx; ++i)
        all[i] = (ranked){x[i], 1};
    for (size_t j = 0; j < ny; ++j)
        all[nx + j] = (ranked){y[j], 0};
    qsort(all, n, sizeof *all, cmp_ranked);
    double rank_sum = 0, tie_term = 0;
    int ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && all[j].v == all[i].v)
            ++j;
        double t = (double)(j - i), mid = (double)(i + j + 1) / 2; /* ranks i+1 .. j */
        for (size_t k = i; k < j; ++k)
            rank_sum += all[k].from_x ? mid : 0;
        if (j - i > 1) {
            ties = 1;
            tie_term += t * t * t - t;
        }
        i = j;
    }
    free(all);
    double u = rank_sum - (double)nx * (double)(nx + 1) / 2;
    if (u_out)
        *u_out = u;
    if (!ties && nx <= 50 && ny <= 50)
        return exact_two_sided(nx, ny, u);
    double mean = (double)nx * (double)ny / 2, N = (double)n;
    double var = (double)nx * (double)ny / 12 * ((N + 1) - tie_term / (N * (N - 1)));
    if (!(var > 0))
        return 1; /* every value the same */
    double z = (fabs(u - mean) - 0.5) / sqrt(var);
    if (z < 0)
        z = 0;
    double p = erfc(z / sqrt(2.0));
    return p < 1 ? p : 1;
}

/* ---- small helpers ---- */

void clr_ratio_text(double ratio, char *buf, size_t size)
{
    if (!isfinite(ratio) || ratio <= 0)
        snprintf(buf, size, "-");
    else if (ratio >= 0.995 && ratio < 1.005)
        snprintf(buf, size, "1.00x");
    else if (ratio > 1)
        snprintf(buf, size, "%.2fx slower", ratio);
    else
        snprintf(buf, size, "%.2fx faster", 1 / ratio);
}

const char *clr_time_verdict_name(clr_time_verdict v)
{
    return v == CLR_TIME_SLOWER ? "slower" : v == CLR_TIME_FASTER ? "faster" : v == CLR_TIME_UNCHANGED ? "unchanged"
                                                                                                     : "not judged";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of the repetitions, else the document's median; NaN for an invalid case. */
static double case_median(const clr_rcase *c)
{
    if (!c->valid)
        return NAN;
    if (!c->nreps)
        return c->median_s;
    double *v = malloc(c->nreps * sizeof *v);
    if (!v)
        return c->median_s;
    memcpy(v, c->rep_times, c->nreps * sizeof *v);
    qsort(v, c->nreps, sizeof *v, cmp_double);
    double m = c->nreps % 2 ? v[c->nreps / 2] : (v[c->nreps / 2 - 1] + v[c->nreps / 2]) / 2;
    free(v);
    return m;
}

static int64_t ulp_key(uint32_t bits)
{
    return bits >> 31 ? -(int64_t)(bits & 0x7fffffffu) : (int64_t)bits;
}

/* The largest probe distance of two cases; -1 when unknown (different counts, none, or NaN on one
 * side only). */
static int64_t probe_distance(const clr_rcase *a, const clr_rcase *b)
{
    if (a->nprobe != b->nprobe || a->nprobe == 0)
        return -1;
    int64_t worst = 0;
    for (size_t i = 0; i < a->nprobe; ++i) {
        int na = isnan(clr_bits_float(a->probe_bits[i])), nb = isnan(clr_bits_float(b->probe_bits[i]));
        if (na != nb)
            return -1;
        if (na)
            continue;
        int64_t d = ulp_key(a->probe_bits[i]) - ulp_key(b->probe_bits[i]);
        d = d < 0 ? -d : d;
        worst = d > worst ? d : worst;
    }
    return worst;
}

static int claims_deterministic(const clr_rdoc *doc, const char *strategy)
{
    for (size_t k = 0; k < doc->nclaims; ++k)
        if (doc->claims[k].claimed && !strcmp(doc->claims[k].claim, "deterministic") &&
            !strcmp(doc->claims[k].strategy, strategy))
            return 1;
    return 0;
}

/* ---- matching the cases of a pair ---- */

typedef struct keyed {
    const clr_rcase *c;
    size_t index;
} keyed;

static int cmp_case_key(const clr_rcase *a, const clr_rcase *b)
{
    int r = strcmp(a->strategy, b->strategy);
    if (!r)
        r = strcmp(a->shape, b->shape);
    if (!r)
        r = a->batch < b->batch ? -1 : a->batch > b->batch;
    return r;
}

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int r = cmp_case_key(x->c, y->c);
    return r ? r : x->index < y->index ? -1 : x->index > y->index;
}

/* The measured (not skipped) cases of doc, sorted by key, repeats of a key dropped (the first in
 * the document kept). NULL when out of memory. */
static keyed *sorted_cases(const clr_rdoc *doc, size_t *n)
{
    keyed *k = malloc((doc->ncases ? doc->ncases : 1) * sizeof *k);
    *n = 0;
    if (!k)
        return NULL;
    for (size_t i = 0; i < doc->ncases; ++i)
        if (!doc->cases[i].skipped)
            k[(*n)++] = (keyed){&doc->cases[i], i};
    qsort(k, *n, sizeof *k, cmp_keyed);
    size_t out = 0;
    for (size_t i = 0; i < *n; ++i)
        if (!out || cmp_case_key(k[out - 1].c, k[i].c))
            k[out++] = k[i];
    *n = out;
    return k;
}

typedef struct matched {
    size_t new_index;
    const clr_rcase *old, *new;
} matched;

static int cmp_matched(const void *a, const void *b)
{
    size_t x = ((const matched *)a)->new_index, y = ((const matched *)b)->new_index;
    return x < y ? -1 : x > y;
}

static void judge(clr_baseline *b, clr_bcase *c, const clr_rdoc *old_doc, const clr_rdoc *new_doc)
{
    const clr_rcase *o = c->old, *n = c->new;
    c->deterministic = claims_deterministic(old_doc, o->strategy) || claims_deterministic(new_doc, n->strategy);
    c->bits_changed = strcmp(o->fingerprint, n->fingerprint) != 0;
    c->order_revised = o->order != n->order;
    c->gated = c->bits_changed && c->deterministic && !c->order_revised;
    c->max_ulp = c->bits_changed ? probe_distance(o, n) : 0;
    c->old_median = case_median(o);
    c->new_median = case_median(n);
    c->old_reps = o->nreps;
    c->new_reps = n->nreps;
    c->ratio = isfinite(c->old_median) && isfinite(c->new_median) && c->old_median > 0 ? c->new_median / c->old_median
                                                                                        : NAN;
    c->p_value = NAN;
    c->verdict = CLR_TIME_NOT_JUDGED;
    if (!o->valid || !n->valid)
        c->why_not_judged = "invalid (failed validation) on a side: no time";
    else if (!o->nreps || !n->nreps)
        c->why_not_judged = "no repetitions recorded on a side (schema 1 documents have none)";
    else if (o->nreps < CLR_BASELINE_MIN_REPS || n->nreps < CLR_BASELINE_MIN_REPS)
        c->why_not_judged = "fewer than " CLR_STR(CLR_BASELINE_MIN_REPS) " repetitions on a side";
    else if (!isfinite(c->ratio))
        c->why_not_judged = "no time on a side";
    else {
        c->why_not_judged = NULL;
        c->p_value = clr_mann_whitney(n->rep_times, n->nreps, o->rep_times, o->nreps, NULL);
        int significant = c->p_value < CLR_BASELINE_ALPHA;
        c->verdict = significant && c->ratio > b->threshold         ? CLR_TIME_SLOWER
                     : significant && 1 / c->ratio > b->threshold   ? CLR_TIME_FASTER
                                                                    : CLR_TIME_UNCHANGED;
    }
    c->fails_bits = b->fail_bits && c->gated;
    c->fails_slowdown = b->fail_slowdown > 0 && c->verdict == CLR_TIME_SLOWER;
    b->bits_changed += c->bits_changed;
    b->bits_gated += c->gated;
    b->slower += c->verdict == CLR_TIME_SLOWER;
    b->faster += c->verdict == CLR_TIME_FASTER;
    b->unchanged += c->verdict == CLR_TIME_UNCHANGED;
    b->not_judged += c->verdict == CLR_TIME_NOT_JUDGED;
    b->failed_bits += c->fails_bits;
    b->failed_slowdown += c->fails_slowdown;
}

static int match_pair(clr_baseline *b, size_t p, clr_error *err)
{
    clr_bpair *pair = &b->pairs[p];
    const clr_rdoc *od = &b->old.docs[pair->old_doc], *nd = &b->new.docs[pair->new_doc];
    size_t no = 0, nn = 0, nm = 0;
    keyed *ko = sorted_cases(od, &no), *kn = sorted_cases(nd, &nn);
    matched *m = malloc((nn ? nn : 1) * sizeof *m);
    clr_bcase *grown = NULL;
    int rc = CLR_OK;
    if (!ko || !kn || !m)
        rc = clr_fail(err, CLR_EFAIL, "out of host memory matching cases");
    for (size_t i = 0, j = 0; rc == CLR_OK && (i < no || j < nn);) {
        int r = i == no ? 1 : j == nn ? -1 : cmp_case_key(ko[i].c, kn[j].c);
        if (r < 0) {
            pair->only_old++;
            ++i;
        } else if (r > 0) {
            pair->only_new++;
            ++j;
        } else {
            m[nm++] = (matched){kn[j].index, ko[i].c, kn[j].c};
            ++i;
            ++j;
        }
    }
    if (rc == CLR_OK && nm) {
        qsort(m, nm, sizeof *m, cmp_matched);
        grown = realloc(b->cases, (b->ncases + nm) * sizeof *grown);
        if (!grown)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory matching cases");
        else
            b->cases = grown;
    }
    for (size_t k = 0; rc == CLR_OK && k < nm; ++k) {
        clr_bcase *c = &b->cases[b->ncases++];
        memset(c, 0, sizeof *c);
        c->pair = p;
        c->old = m[k].old;
        c->new = m[k].new;
        judge(b, c, od, nd);
    }
    pair->cases = nm;
    free(ko);
    free(kn);
    free(m);
    return rc;
}

/* ---- pairing the documents ---- */

static size_t distinct_devices(const clr_comparison *cmp)
{
    size_t n = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; ++j)
            seen = !strcmp(cmp->docs[i].device, cmp->docs[j].device);
        n += !seen;
    }
    return n;
}

/* "sum on DEVICE (file), rmsnorm on ..." of a side, for messages (raw: clr_fail escapes). */
static void describe_side(clr_text *t, const clr_comparison *cmp, int ops_only)
{
    size_t shown = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen && ops_only; ++j)
            seen = !strcmp(cmp->docs[i].op, cmp->docs[j].op);
        if (seen)
            continue;
        if (shown++ >= 8) {
            clr_text_printf(t, ", ...");
            break;
        }
        if (ops_only)
            clr_text_printf(t, "%s%s (%s)", shown > 1 ? ", " : "", cmp->docs[i].op, cmp->docs[i].path);
        else
            clr_text_printf(t, "%srun %s on %s (%s)", shown > 1 ? ", " : "", cmp->docs[i].name, cmp->docs[i].device,
                            cmp->docs[i].path);
    }
}

static int fail_text(clr_error *err, clr_text *t)
{
    int rc = t->failed ? clr_fail(err, CLR_EFAIL, "out of host memory") : clr_fail(err, CLR_EUSAGE, "%s", t->buf);
    free(t->buf);
    return rc;
}

static int pair_documents(clr_baseline *b, clr_error *err)
{
    const clr_comparison *old = &b->old, *new = &b->new;
    b->per_device = distinct_devices(old) > 1 || distinct_devices(new) > 1;
    const char *rule = b->per_device ? "documents pair by run name and device name, as a side holds several devices"
                                     : "documents pair by run name";
    size_t *taken = malloc((old->ndocs ? old->ndocs : 1) * sizeof *taken); /* per old document: its new one */
    b->pairs = calloc(new->ndocs ? new->ndocs : 1, sizeof *b->pairs);
    b->unpaired = calloc(old->ndocs + new->ndocs + 1, sizeof *b->unpaired);
    if (!taken || !b->pairs || !b->unpaired) {
        free(taken);
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    for (size_t i = 0; i < old->ndocs; ++i)
        taken[i] = NONE;
    int rc = CLR_OK;
    for (size_t j = 0; j < new->ndocs && rc == CLR_OK; ++j) {
        const clr_rdoc *nd = &new->docs[j];
        size_t found = NONE;
        for (size_t i = 0; i < old->ndocs && rc == CLR_OK; ++i) {
            const clr_rdoc *od = &old->docs[i];
            if (strcmp(od->name, nd->name) || (b->per_device && strcmp(od->device, nd->device)))
                continue;
            if (found != NONE)
                rc = clr_fail(err, CLR_EUSAGE, "--baseline: two baseline documents of run %s on %s pair with the new "
                              "document %s: %s and %s (%s); name one of them",
                              nd->name, od->device, nd->path, old->docs[found].path, od->path, rule);
            found = i;
        }
        if (rc)
            break;
        if (found == NONE) {
            b->unpaired[b->nunpaired++] = (clr_bunpaired){1, j};
            continue;
        }
        const clr_rdoc *od = &old->docs[found];
        if (taken[found] != NONE)
            rc = clr_fail(err, CLR_EUSAGE, "--baseline: two new documents of run %s pair with the baseline document "
                          "%s: %s and %s (%s); name one of them",
                          nd->name, od->path, new->docs[taken[found]].path, nd->path, rule);
        else if (strcmp(od->op, nd->op))
            rc = clr_fail(err, CLR_EUSAGE, "--baseline: a baseline of another operation: run %s is %s in the baseline "
                          "(%s) and %s in the new results (%s); compare results of the same operation",
                          nd->name, od->op, od->path, nd->op, nd->path);
        else {
            taken[found] = j;
            b->pairs[b->npairs++] = (clr_bpair){found, j, 0, 0, 0};
        }
    }
    for (size_t i = 0; i < old->ndocs && rc == CLR_OK; ++i)
        if (taken[i] == NONE)
            b->unpaired[b->nunpaired++] = (clr_bunpaired){0, i};
    free(taken);
    if (rc == CLR_OK && b->npairs == 0) {
        int common_op = 0;
        for (size_t i = 0; i < old->ndocs; ++i)
            for (size_t j = 0; j < new->ndocs; ++j)
                common_op |= !strcmp(old->docs[i].op, new->docs[j].op);
        clr_text t = {0};
        if (!common_op) {
            clr_text_printf(&t, "--baseline: a baseline of another operation: the baseline holds ");
            describe_side(&t, old, 1);
            clr_text_printf(&t, "; the new results hold ");
            describe_side(&t, new, 1);
            clr_text_printf(&t, "; compare results of the same operation");
        } else {
            clr_text_printf(&t, "--baseline: no baseline document pairs with a new one (%s): the baseline holds ", rule);
            describe_side(&t, old, 0);
            clr_text_printf(&t, "; the new results hold ");
            describe_side(&t, new, 0);
        }
        rc = fail_text(err, &t);
    }
    return rc;
}

int clr_baseline_load(char *const *old_paths, size_t nold, char *const *new_paths, size_t nnew, int fail_bits,
                      double fail_slowdown, clr_baseline *b, clr_error *err)
{
    memset(b, 0, sizeof *b);
    b->fail_bits = fail_bits;
    b->fail_slowdown = fail_slowdown;
    b->threshold = fail_slowdown > 0 ? fail_slowdown : CLR_BASELINE_DEFAULT_THRESHOLD;
    for (int side = 0; side < 2; ++side) {
        clr_error e = {0};
        if (clr_compare_load(side ? new_paths : old_paths, side ? nnew : nold, side ? &b->new : &b->old, &e))
            return clr_fail(err, e.code, "%s: %s", side ? "the new results" : "--baseline", e.msg);
    }
    int rc = pair_documents(b, err);
    for (size_t p = 0; p < b->npairs && rc == CLR_OK; ++p)
        rc = match_pair(b, p, err);
    if (rc == CLR_OK && b->ncases == 0) {
        clr_text t = {0};
        clr_text_printf(&t, "--baseline: no common cases: ");
        for (size_t p = 0; p < b->npairs; ++p) {
            const clr_bpair *pr = &b->pairs[p];
            clr_text_printf(&t, "%s%s has %zu measured cases, %s %zu, none with the same strategy, shape and batch",
                            p ? "; " : "", b->old.docs[pr->old_doc].path, pr->only_old, b->new.docs[pr->new_doc].path,
                            pr->only_new);
            if (t.len > 2000) {
                clr_text_printf(&t, "; ...");
                break;
            }
        }
        rc = fail_text(err, &t);
    }
    return rc;
}

void clr_baseline_free(clr_baseline *b)
{
    clr_compare_free(&b->old);
    clr_compare_free(&b->new);
    free(b->pairs);
    free(b->unpaired);
    free(b->cases);
    memset(b, 0, sizeof *b);
}

int clr_baseline_failed(const clr_baseline *b)
{
    return b->failed_bits > 0 || b->failed_slowdown > 0;
}

/* ---- the terminal summary ---- */

#define COLUMNS 100

/* Cuts s (valid UTF-8, escaped) to at most cols characters, ending in "..." where cut. */
static void cut_columns(char *s, size_t cols)
{
    size_t chars = 0, keep = 0;
    for (size_t i = 0; s[i]; ++i)
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (chars == (cols > 3 ? cols - 3 : 0))
                keep = i;
            chars++;
        }
    if (chars > cols)
        strcpy(s + keep, "...");
}

/* Keeps the last cols characters of s (a path's end names the file), starting "..." where cut. */
static void keep_end(char *s, size_t cols)
{
    size_t chars = 0;
    for (size_t i = 0; s[i]; ++i)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    if (chars <= cols || cols < 4)
        return;
    size_t skip = chars - (cols - 3), i = 0;
    for (size_t seen = 0; s[i]; ++i)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && seen++ == skip)
            break;
    memmove(s + 3, s + i, strlen(s + i) + 1);
    memcpy(s, "...", 3);
}

static void put_line(FILE *out, const char *text)
{
    char line[4 * COLUMNS + 8];
    size_t n = strlen(text);
    if (n >= sizeof line) { /* far beyond 100 characters: keep whole characters only */
        n = sizeof line - 1;
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
            --n;
    }
    memcpy(line, text, n);
    line[n] = '\0';
    cut_columns(line, COLUMNS);
    fprintf(out, "%s\n", line);
}

/* "run/strategy B=8 shape", escaped: the batch first, where a cut cannot reach it. */
static void case_name(const clr_baseline *b, const clr_bcase *c, char *buf, size_t size)
{
    const clr_rdoc *nd = &b->new.docs[b->pairs[c->pair].new_doc];
    char run[256], strategy[256], shape[512];
    snprintf(buf, size, "%s/%s %s=%zu %s", clr_escape(nd->name, run, sizeof run),
             clr_escape(c->new->strategy, strategy, sizeof strategy),
             nd->batch_name[0] && strlen(nd->batch_name) < 8 ? nd->batch_name : "B", c->new->batch,
             clr_escape(c->new->shape, shape, sizeof shape));
}

/* How bad a case is, for the list of the worst: failing a gate, then gated bit changes, then
 * slower (by ratio), then other bit changes; 0 for a case not worth listing. */
static double badness(const clr_bcase *c)
{
    double slow = c->verdict == CLR_TIME_SLOWER ? c->ratio : 0;
    return (c->fails_bits || c->fails_slowdown ? 1e9 : 0) + (c->gated ? 1e6 : 0) +
           (slow > 0 ? 1e3 + slow : 0) + (c->bits_changed ? 1 : 0);
}

static void case_outcome(const clr_bcase *c, char *buf, size_t size)
{
    char ratio[48];
    clr_ratio_text(c->ratio, ratio, sizeof ratio);
    const char *bits = !c->bits_changed    ? "same bits"
                       : c->gated          ? "bits changed (gated)"
                       : c->order_revised  ? "bits changed (ignored: the strategy's order was revised)"
                                           : "bits changed (ignored: no claim)";
    if (c->verdict == CLR_TIME_NOT_JUDGED)
        snprintf(buf, size, "%s, time not judged", bits);
    else if (c->verdict == CLR_TIME_UNCHANGED)
        snprintf(buf, size, "%s, %s (unchanged, p=%.2g)", bits, ratio, c->p_value);
    else
        snprintf(buf, size, "%s, %s (p=%.2g)", bits, ratio, c->p_value);
}

void clr_baseline_print_summary(const clr_baseline *b, FILE *out)
{
    char line[2048], a[512], d[512], e[512];
    snprintf(line, sizeof line, "baseline: %zu document pair%s, %zu case%s matched (%s)", b->npairs,
             b->npairs == 1 ? "" : "s", b->ncases, b->ncases == 1 ? "" : "s",
             b->per_device ? "paired by run and device" : "paired by run");
    put_line(out, line);
    for (size_t p = 0; p < b->npairs && p < 8; ++p) {
        const clr_rdoc *od = &b->old.docs[b->pairs[p].old_doc], *nd = &b->new.docs[b->pairs[p].new_doc];
        clr_escape(nd->name, a, sizeof a);
        cut_columns(a, 30);
        size_t room = (COLUMNS - 8 - strlen(a)) / 2; /* each path's end, where the file name is */
        clr_escape(od->path, d, sizeof d);
        keep_end(d, room);
        clr_escape(nd->path, e, sizeof e);
        keep_end(e, room);
        snprintf(line, sizeof line, "  %s: %s -> %s", a, d, e);
        put_line(out, line);
    }
    if (b->npairs > 8) {
        snprintf(line, sizeof line, "  and %zu more pairs", b->npairs - 8);
        put_line(out, line);
    }
    if (b->nunpaired) {
        snprintf(line, sizeof line, "unpaired: %zu document%s with no counterpart (listed in baseline.md)",
                 b->nunpaired, b->nunpaired == 1 ? "" : "s");
        put_line(out, line);
    }
    snprintf(line, sizeof line, "bits changed: %zu (gated %zu: strategies claiming determinism; ignored %zu)",
             b->bits_changed, b->bits_gated, b->bits_changed - b->bits_gated);
    put_line(out, line);
    snprintf(line, sizeof line, "time: %zu slower, %zu faster, %zu unchanged, %zu not judged", b->slower, b->faster,
             b->unchanged, b->not_judged);
    put_line(out, line);
    snprintf(line, sizeof line, "  (Mann-Whitney U on the repetitions: p < %.2g and beyond %.2fx; %d+ repetitions "
             "a side)", CLR_BASELINE_ALPHA, b->threshold, CLR_BASELINE_MIN_REPS);
    put_line(out, line);
    /* The worst five, worst first. */
    size_t worst[5], nworst = 0;
    for (size_t i = 0; i < b->ncases; ++i) {
        double bad = badness(&b->cases[i]);
        if (bad <= 0)
            continue;
        size_t at = nworst < 5 ? nworst++ : 5;
        while (at > 0 && badness(&b->cases[worst[at - 1]]) < bad) {
            if (at < 5)
                worst[at] = worst[at - 1];
            --at;
        }
        if (at < 5)
            worst[at] = i;
    }
    if (nworst)
        put_line(out, "worst cases:");
    for (size_t k = 0; k < nworst; ++k) {
        const clr_bcase *c = &b->cases[worst[k]];
        char name[1024], outcome[256];
        case_name(b, c, name, sizeof name);
        case_outcome(c, outcome, sizeof outcome);
        size_t room = COLUMNS - 4 - strlen(outcome); /* outcome is ASCII and short */
        cut_columns(name, room > 20 ? room : 20);
        snprintf(line, sizeof line, "  %s: %s", name, outcome);
        put_line(out, line);
    }
    if (b->fail_bits) {
        snprintf(line, sizeof line, "--fail-on bits: %s (%zu case%s of strategies claiming determinism changed bits)",
                 b->failed_bits ? "FAILED" : "passed", b->failed_bits, b->failed_bits == 1 ? "" : "s");
        put_line(out, line);
    }
    if (b->fail_slowdown > 0) {
        snprintf(line, sizeof line, "--fail-on slowdown=%g: %s (%zu case%s significantly slower by more than %.2fx)",
                 b->fail_slowdown, b->failed_slowdown ? "FAILED" : "passed", b->failed_slowdown,
                 b->failed_slowdown == 1 ? "" : "s", b->fail_slowdown);
        put_line(out, line);
    }
}

/* ---- Markdown, CSV, JSON ---- */

static const char *gate_text(const clr_bcase *c)
{
    return c->fails_bits && c->fails_slowdown ? "fails bits+slowdown"
           : c->fails_bits                    ? "fails bits"
           : c->fails_slowdown                ? "fails slowdown"
                                              : "";
}

char *clr_baseline_markdown(const clr_baseline *b, clr_error *err)
{
    clr_text t = {0};
    clr_text_printf(&t, "# clrepro %s: new results against a baseline\n\n", CLREPRO_VERSION);
    clr_text_printf(&t, "%zu baseline and %zu new results documents; %s. Cases match by strategy, shape and batch.\n\n",
                    b->old.ndocs, b->new.ndocs,
                    b->per_device ? "documents pair by run name and device name (a side holds several devices)"
                                  : "documents pair by run name (each side holds one device)");
    clr_text_printf(&t, "| run | baseline (device, driver) | baseline file | new (device, driver) | new file | cases "
                        "matched | only in baseline | only in new |\n|---|---|---|---|---|---:|---:|---:|\n");
    for (size_t p = 0; p < b->npairs; ++p) {
        const clr_bpair *pr = &b->pairs[p];
        const clr_rdoc *od = &b->old.docs[pr->old_doc], *nd = &b->new.docs[pr->new_doc];
        clr_text_printf(&t, "|");
        clr_text_md_cell(&t, nd->name);
        clr_text_md_cell(&t, b->old.labels[pr->old_doc]);
        clr_text_md_cell(&t, od->path);
        clr_text_md_cell(&t, b->new.labels[pr->new_doc]);
        clr_text_md_cell(&t, nd->path);
        clr_text_printf(&t, " %zu | %zu | %zu |\n", pr->cases, pr->only_old, pr->only_new);
    }
    if (b->nunpaired) {
        clr_text_printf(&t, "\nDocuments with no counterpart on the other side (not compared):\n\n| side | run | device "
                            "(driver) | file |\n|---|---|---|---|\n");
        for (size_t i = 0; i < b->nunpaired; ++i) {
            const clr_comparison *side = b->unpaired[i].side ? &b->new : &b->old;
            size_t d = b->unpaired[i].doc;
            clr_text_printf(&t, "| %s |", b->unpaired[i].side ? "new" : "baseline");
            clr_text_md_cell(&t, side->docs[d].name);
            clr_text_md_cell(&t, side->labels[d]);
            clr_text_md_cell(&t, side->docs[d].path);
            clr_text_printf(&t, "\n");
        }
    }
    clr_text_printf(&t, "\n## Summary\n\n| cases matched | bits changed | gated (claim determinism) | ignored | slower | "
                        "faster | unchanged | time not judged |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n"
                        "| %zu | %zu | %zu | %zu | %zu | %zu | %zu | %zu |\n\n",
                    b->ncases, b->bits_changed, b->bits_gated, b->bits_changed - b->bits_gated, b->slower, b->faster,
                    b->unchanged, b->not_judged);
    clr_text_printf(&t, "Time: the ratio of the medians of the timed repetitions (new / baseline), judged by a "
                        "two-sided Mann-Whitney U test of the two sets of repetitions: slower or faster only where "
                        "p < %.2g and the ratio is beyond %.2fx; not judged where a side has fewer than %d "
                        "repetitions (schema 1 documents have none) or is invalid. Bit changes of strategies that "
                        "do not claim determinism, or whose order of operations was revised between the two "
                        "documents (strategies[].order), are reported, never gated.\n\n",
                    CLR_BASELINE_ALPHA, b->threshold, CLR_BASELINE_MIN_REPS);
    if (b->fail_bits)
        clr_text_printf(&t, "- `--fail-on bits`: **%s** (%zu cases)\n", b->failed_bits ? "failed" : "passed",
                        b->failed_bits);
    if (b->fail_slowdown > 0)
        clr_text_printf(&t, "- `--fail-on slowdown=%g`: **%s** (%zu cases)\n", b->fail_slowdown,
                        b->failed_slowdown ? "failed" : "passed", b->failed_slowdown);
    clr_text_printf(&t, "\n## Cases\n\n| run | strategy | shape | batch | bits | claims determinism | max ulp | "
                        "baseline ms | new ms | repetitions | change | p | time | gate |\n"
                        "|---|---|---|---:|---|---|---:|---:|---:|---:|---|---:|---|---|\n");
    for (size_t i = 0; i < b->ncases; ++i) {
        const clr_bcase *c = &b->cases[i];
        char ratio[48];
        clr_ratio_text(c->ratio, ratio, sizeof ratio);
        clr_text_printf(&t, "|");
        clr_text_md_cell(&t, b->new.docs[b->pairs[c->pair].new_doc].name);
        clr_text_md_cell(&t, c->new->strategy);
        clr_text_md_cell(&t, c->new->shape);
        clr_text_printf(&t, " %zu | %s | %s | ", c->new->batch,
                        !c->bits_changed ? "same" : c->order_revised ? "changed (order revised)" : "**changed**",
                        c->deterministic ? "yes" : "no");
        if (c->max_ulp >= 0)
            clr_text_printf(&t, "%lld |", (long long)c->max_ulp);
        else
            clr_text_printf(&t, "unknown |");
        for (int k = 0; k < 2; ++k) {
            double m = k ? c->new_median : c->old_median;
            if (isfinite(m))
                clr_text_printf(&t, " %.6g |", m * 1e3);
            else
                clr_text_printf(&t, " - |");
        }
        clr_text_printf(&t, " %zu / %zu | %s |", c->old_reps, c->new_reps, ratio);
        if (isfinite(c->p_value))
            clr_text_printf(&t, " %.2g |", c->p_value);
        else
            clr_text_printf(&t, " - |");
        clr_text_printf(&t, " %s | %s |\n", clr_time_verdict_name(c->verdict), gate_text(c));
    }
    return clr_text_take(&t, "baseline.md", err);
}

static void csv_number(clr_text *t, double v, const char *fmt)
{
    clr_text_printf(t, ",");
    if (isfinite(v))
        clr_text_printf(t, fmt, v);
}

char *clr_baseline_csv(const clr_baseline *b, clr_error *err)
{
    clr_text t = {0};
    clr_text_printf(&t, "run,strategy,shape,batch,baseline_file,new_file,baseline_device,new_device,"
                        "claims_deterministic,bits_changed,gated,baseline_fingerprint,new_fingerprint,max_ulp,"
                        "baseline_median_s,new_median_s,baseline_reps,new_reps,time_ratio,p_value,time_verdict,change,"
                        "fails\n");
    for (size_t i = 0; i < b->ncases; ++i) {
        const clr_bcase *c = &b->cases[i];
        const clr_bpair *pr = &b->pairs[c->pair];
        const clr_rdoc *od = &b->old.docs[pr->old_doc], *nd = &b->new.docs[pr->new_doc];
        char ratio[48];
        clr_ratio_text(c->ratio, ratio, sizeof ratio);
        clr_text_csv(&t, nd->name);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, c->new->strategy);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, c->new->shape);
        clr_text_printf(&t, ",%zu,", c->new->batch);
        clr_text_csv(&t, od->path);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, nd->path);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, b->old.labels[pr->old_doc]);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, b->new.labels[pr->new_doc]);
        clr_text_printf(&t, ",%s,%s,%s,%s,%s,", c->deterministic ? "true" : "false", c->bits_changed ? "true" : "false",
                        c->gated ? "true" : "false", c->old->fingerprint,
                        c->new->fingerprint);
        if (c->max_ulp >= 0)
            clr_text_printf(&t, "%lld", (long long)c->max_ulp);
        csv_number(&t, c->old_median, "%.9g");
        csv_number(&t, c->new_median, "%.9g");
        clr_text_printf(&t, ",%zu,%zu", c->old_reps, c->new_reps);
        csv_number(&t, c->ratio, "%.6f");
        csv_number(&t, c->p_value, "%.6g");
        clr_text_printf(&t, ",%s,%s,%s\n", clr_time_verdict_name(c->verdict), ratio, gate_text(c));
    }
    return clr_text_take(&t, "baseline.csv", err);
}

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *doc_json(const clr_comparison *side, size_t i)
{
    const clr_rdoc *d = &side->docs[i];
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "label", side->labels[i], "path", d->path,
                     "device", d->device, "driver", d->driver, "platform", d->platform, "run", d->name, "op", d->op,
                     "tool_version", d->tool_version, "git_commit", d->git_commit);
}

char *clr_baseline_json(const clr_baseline *b, clr_error *err)
{
    json_t *olds = json_array(), *news = json_array(), *pairs = json_array(), *unpaired = json_array();
    json_t *cases = json_array();
    const char *failed = NULL;
    for (size_t i = 0; i < b->old.ndocs && !failed; ++i)
        if (clr_json_append(olds, doc_json(&b->old, i)))
            failed = "a document";
    for (size_t i = 0; i < b->new.ndocs && !failed; ++i)
        if (clr_json_append(news, doc_json(&b->new, i)))
            failed = "a document";
    for (size_t p = 0; p < b->npairs && !failed; ++p) {
        const clr_bpair *pr = &b->pairs[p];
        if (clr_json_append(pairs, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "run", b->new.docs[pr->new_doc].name, "baseline",
                                    (json_int_t)pr->old_doc, "new", (json_int_t)pr->new_doc, "cases",
                                    (json_int_t)pr->cases, "only_baseline", (json_int_t)pr->only_old, "only_new",
                                    (json_int_t)pr->only_new)))
            failed = "a pair";
    }
    for (size_t i = 0; i < b->nunpaired && !failed; ++i)
        if (clr_json_append(unpaired, json_pack("{s:s, s:I}", "side", b->unpaired[i].side ? "new" : "baseline", "document",
                                       (json_int_t)b->unpaired[i].doc)))
            failed = "an unpaired document";
    for (size_t i = 0; i < b->ncases && !failed; ++i) {
        const clr_bcase *c = &b->cases[i];
        char ratio[48];
        clr_ratio_text(c->ratio, ratio, sizeof ratio);
        json_t *item = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:b, s:b, s:b, s:b, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:s, s:s, s:o, "
            "s:{s:b, s:b}}",
            "run", b->new.docs[b->pairs[c->pair].new_doc].name, "strategy", c->new->strategy, "shape", c->new->shape,
            "batch", (json_int_t)c->new->batch, "pair", (json_int_t)c->pair, "claims_deterministic", c->deterministic,
            "bits_changed", c->bits_changed, "order_revised", c->order_revised, "gated", c->gated, "baseline_fingerprint",
            c->old->fingerprint, "new_fingerprint", c->new->fingerprint, "max_ulp",
            c->max_ulp >= 0 ? json_integer(c->max_ulp) : json_null(), "baseline_median_s",
            number_or_null(c->old_median), "new_median_s", number_or_null(c->new_median), "baseline_reps",
            (json_int_t)c->old_reps, "new_reps", (json_int_t)c->new_reps, "time_ratio", number_or_null(c->ratio),
            "p_value", number_or_null(c->p_value), "time_verdict", clr_time_verdict_name(c->verdict), "change", ratio,
            "not_judged_why", c->why_not_judged ? json_string(c->why_not_judged) : json_null(), "fails", "bits",
            c->fails_bits, "slowdown", c->fails_slowdown);
        if (clr_json_append(cases, item))
            failed = "a case";
    }
    json_t *root = NULL;
    if (!failed && olds && news && pairs && unpaired && cases)
        root = json_pack(
            "{s:s, s:i, s:{s:s, s:s}, s:{s:b, s:o}, s:{s:s, s:f, s:i, s:f}, s:s, s:O, s:O, s:O, s:O, "
            "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}, s:O}",
            "schema", "clrepro.baseline", "schema_version", 1, "tool", "name", "clrepro", "version", CLREPRO_VERSION,
            "fail_on", "bits", b->fail_bits, "slowdown", b->fail_slowdown > 0 ? json_real(b->fail_slowdown) : json_null(),
            "time_test", "test", "Mann-Whitney U, two-sided", "alpha", CLR_BASELINE_ALPHA, "min_reps",
            CLR_BASELINE_MIN_REPS, "threshold", b->threshold, "pairing",
            b->per_device ? "run and device" : "run", "baseline_documents", olds, "new_documents", news, "pairs",
            pairs, "unpaired", unpaired, "summary", "cases", (json_int_t)b->ncases, "bits_changed",
            (json_int_t)b->bits_changed, "bits_changed_gated", (json_int_t)b->bits_gated, "bits_changed_ignored",
            (json_int_t)(b->bits_changed - b->bits_gated), "slower", (json_int_t)b->slower, "faster",
            (json_int_t)b->faster, "unchanged", (json_int_t)b->unchanged, "not_judged", (json_int_t)b->not_judged,
            "failed_bits", (json_int_t)b->failed_bits, "failed_slowdown", (json_int_t)b->failed_slowdown, "passed",
            !clr_baseline_failed(b), "cases", cases);
    json_decref(olds);
    json_decref(news);
    json_decref(pairs);
    json_decref(unpaired);
    json_decref(cases);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    if (!text)
        clr_fail(err, CLR_EFAIL, "cannot write baseline.json: %s could not be serialised (out of host memory?)",
                 failed ? failed : "the document");
    return text;
}
