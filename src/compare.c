/* compare.c: matches the cases of many results documents — other machines, other devices,
 * other drivers or builds of the same device — and says which give the same bits (by
 * fingerprint), how far apart the others are (from the stored probe bits) and how their times
 * compare. Writes Markdown, CSV and JSON. */
#include "compare.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "reference.h"

#define MAX_DOCS 64

static int same_key(const clr_rdoc *a, const clr_rcase *ca, const clr_rdoc *b, const clr_rcase *cb)
{
    return !strcmp(a->name, b->name) && !strcmp(ca->strategy, cb->strategy) && !strcmp(ca->shape, cb->shape) &&
           ca->batch == cb->batch;
}

static int64_t probe_distance(const clr_rcase *a, const clr_rcase *b)
{
    if (a->nprobe != b->nprobe || a->nprobe == 0)
        return -1;
    uint64_t worst = 0;
    for (size_t i = 0; i < a->nprobe; ++i) {
        uint64_t d = clr_ulp_distance(clr_bits_float(a->probe_bits[i]), clr_bits_float(b->probe_bits[i]));
        if (d == UINT64_MAX)
            return -1;
        worst = d > worst ? d : worst;
    }
    return (int64_t)worst;
}

static void finish_match(clr_comparison *cmp, clr_match *m)
{
    char fps[MAX_DOCS][17];
    m->groups = 0;
    m->max_ulp = 0;
    m->time_ratio = NAN;
    double fast = INFINITY, slow = -INFINITY;
    for (size_t d = 0; d < cmp->ndocs; ++d) {
        const clr_rcase *c = m->cases[d];
        m->group_of[d] = -1;
        if (!c)
            continue;
        for (size_t g = 0; g < m->groups && m->group_of[d] < 0; ++g)
            if (!strcmp(fps[g], c->fingerprint))
                m->group_of[d] = (int)g;
        if (m->group_of[d] < 0) {
            memcpy(fps[m->groups], c->fingerprint, 17);
            m->group_of[d] = (int)m->groups++;
        }
        for (size_t e = 0; e < d; ++e)
            if (m->cases[e] && m->max_ulp >= 0) {
                int64_t u = probe_distance(c, m->cases[e]);
                m->max_ulp = u < 0 ? -1 : u > m->max_ulp ? u : m->max_ulp;
            }
        if (c->valid && isfinite(c->median_s)) {
            if (c->median_s < fast) {
                fast = c->median_s;
                m->fastest = d;
            }
            if (c->median_s > slow) {
                slow = c->median_s;
                m->slowest = d;
            }
        }
    }
    if (isfinite(fast) && fast > 0 && slow > fast * 0 && m->fastest != m->slowest)
        m->time_ratio = slow / fast;
    else if (isfinite(fast))
        m->time_ratio = 1.0;
}

int clr_compare_load(char *const *paths, size_t npaths, clr_comparison *cmp, clr_error *err)
{
    memset(cmp, 0, sizeof *cmp);
    if (npaths == 0)
        return clr_fail(err, CLR_EUSAGE, "name at least one results .json file (results/<device>/<op>.json)");
    if (npaths > MAX_DOCS)
        return clr_fail(err, CLR_EUSAGE, "at most %d documents at once", MAX_DOCS);
    cmp->docs = calloc(npaths, sizeof *cmp->docs);
    cmp->labels = calloc(npaths, sizeof *cmp->labels);
    if (!cmp->docs || !cmp->labels)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    for (size_t i = 0; i < npaths; ++i) {
        if (clr_results_load(paths[i], &cmp->docs[i], err))
            return err->code;
        cmp->ndocs++;
    }
    /* Labels: device (driver), with the file where two documents would otherwise look alike. */
    for (size_t i = 0; i < npaths; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        int twin = 0;
        for (size_t j = 0; j < npaths; ++j)
            twin |= j != i && !strcmp(d->device, cmp->docs[j].device) && !strcmp(d->driver, cmp->docs[j].driver) &&
                    !strcmp(d->name, cmp->docs[j].name);
        if (twin)
            snprintf(cmp->labels[i], sizeof cmp->labels[i], "%s (%s) [%s]", d->device, d->driver, d->path);
        else
            snprintf(cmp->labels[i], sizeof cmp->labels[i], "%s (%s)", d->device, d->driver);
    }
    size_t cap = 0;
    for (size_t i = 0; i < npaths; ++i)
        cap += cmp->docs[i].ncases;
    cmp->matches = calloc(cap ? cap : 1, sizeof *cmp->matches);
    cmp->match_name = calloc(cap ? cap : 1, sizeof *cmp->match_name);
    if (!cmp->matches || !cmp->match_name)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    for (size_t i = 0; i < npaths; ++i)
        for (size_t k = 0; k < cmp->docs[i].ncases; ++k) {
            const clr_rcase *c = &cmp->docs[i].cases[k];
            if (c->skipped)
                continue;
            int seen = 0;
            for (size_t m = 0; m < cmp->nmatches && !seen; ++m) {
                size_t d0 = 0;
                while (!cmp->matches[m].cases[d0])
                    ++d0;
                seen = same_key(&cmp->docs[d0], cmp->matches[m].cases[d0], &cmp->docs[i], c);
            }
            if (seen)
                continue;
            clr_match m = {0};
            m.cases[i] = c;
            m.present = 1;
            for (size_t j = i + 1; j < npaths; ++j)
                for (size_t q = 0; q < cmp->docs[j].ncases && !m.cases[j]; ++q)
                    if (!cmp->docs[j].cases[q].skipped && same_key(&cmp->docs[i], c, &cmp->docs[j], &cmp->docs[j].cases[q])) {
                        m.cases[j] = &cmp->docs[j].cases[q];
                        m.present++;
                    }
            if (m.present < 2)
                continue;
            finish_match(cmp, &m);
            cmp->match_name[cmp->nmatches] = cmp->docs[i].name;
            cmp->matches[cmp->nmatches++] = m;
        }
    return CLR_OK;
}

void clr_compare_free(clr_comparison *cmp)
{
    for (size_t i = 0; i < cmp->ndocs; ++i)
        clr_rdoc_free(&cmp->docs[i]);
    free(cmp->docs);
    free(cmp->labels);
    free(cmp->matches);
    free(cmp->match_name);
    memset(cmp, 0, sizeof *cmp);
}

static const clr_rcase *any_case(const clr_match *m)
{
    for (size_t d = 0; d < MAX_DOCS; ++d)
        if (m->cases[d])
            return m->cases[d];
    return NULL;
}

/* Per (run name, strategy): how many matched cases had the same bits everywhere. */
typedef struct summary_row {
    const char *name, *strategy;
    size_t cases, same, ulp_known;
    int64_t max_ulp;
    double ratio_sum;
    size_t ratios;
} summary_row;

static size_t summarise(const clr_comparison *cmp, summary_row *rows)
{
    size_t n = 0;
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const char *strategy = any_case(mt)->strategy;
        summary_row *r = NULL;
        for (size_t i = 0; i < n && !r; ++i)
            if (!strcmp(rows[i].name, cmp->match_name[m]) && !strcmp(rows[i].strategy, strategy))
                r = &rows[i];
        if (!r) {
            r = &rows[n++];
            memset(r, 0, sizeof *r);
            r->name = cmp->match_name[m];
            r->strategy = strategy;
        }
        r->cases++;
        r->same += mt->groups == 1;
        if (mt->max_ulp >= 0) {
            r->ulp_known++;
            r->max_ulp = mt->max_ulp > r->max_ulp ? mt->max_ulp : r->max_ulp;
        }
        if (isfinite(mt->time_ratio)) {
            r->ratio_sum += log(mt->time_ratio);
            r->ratios++;
        }
    }
    return n;
}

static int claims_device_invariance(const clr_rdoc *d, const char *strategy)
{
    for (size_t k = 0; k < d->nclaims; ++k)
        if (d->claims[k].claimed && !strcmp(d->claims[k].claim, "device_invariant") &&
            !strcmp(d->claims[k].strategy, strategy))
            return 1;
    return 0;
}

static int other_device(const clr_rdoc *a, const clr_rdoc *b)
{
    return strcmp(a->device, b->device) || strcmp(a->platform, b->platform);
}

size_t clr_compare_device_claims(const clr_comparison *cmp, clr_device_claim *rows)
{
    size_t n = 0;
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const char *strategy = any_case(mt)->strategy;
        int claimed = 0;
        for (size_t d = 0; d < cmp->ndocs && !claimed; ++d)
            claimed = mt->cases[d] && claims_device_invariance(&cmp->docs[d], strategy);
        if (!claimed)
            continue;
        clr_device_claim *r = NULL;
        for (size_t i = 0; i < n && !r; ++i)
            if (!strcmp(rows[i].run, cmp->match_name[m]) && !strcmp(rows[i].strategy, strategy))
                r = &rows[i];
        if (!r) {
            r = &rows[n++];
            memset(r, 0, sizeof *r);
            r->run = cmp->match_name[m];
            r->strategy = strategy;
        }
        size_t pairs = 0, differ_a = 0, differ_b = 0, differs = 0;
        for (size_t a = 0; a < cmp->ndocs; ++a)
            for (size_t b = a + 1; b < cmp->ndocs; ++b) {
                if (!mt->cases[a] || !mt->cases[b] || !other_device(&cmp->docs[a], &cmp->docs[b]))
                    continue;
                pairs++;
                if (mt->group_of[a] != mt->group_of[b] && !differs++) {
                    differ_a = a;
                    differ_b = b;
                }
            }
        if (!pairs)
            continue;
        r->cases++;
        r->identical += !differs;
        if (differs && !r->evidence[0]) {
            const clr_rcase *c = mt->cases[differ_a];
            snprintf(r->evidence, sizeof r->evidence, "%.120s batch %zu: #%zu (%.120s) and #%zu (%.120s) gave different bits",
                     c->shape, c->batch, differ_a, cmp->docs[differ_a].device, differ_b, cmp->docs[differ_b].device);
        }
    }
    for (size_t i = 0; i < n; ++i) {
        if (rows[i].evidence[0])
            continue;
        if (rows[i].cases)
            snprintf(rows[i].evidence, sizeof rows[i].evidence, "one fingerprint on every device in all %zu cases",
                     rows[i].cases);
        else
            snprintf(rows[i].evidence, sizeof rows[i].evidence, "no case was measured on two different devices");
    }
    return n;
}

const char *clr_device_claim_observed(const clr_device_claim *row)
{
    return !row->cases ? "not measured" : row->identical == row->cases ? "held" : "violated";
}

/* Two documents of the same device (another driver, build or day): their common cases. */
typedef struct pair_row {
    size_t a, b, common, changed;
    double log_ratio; /* sum of log(time b / time a) */
    size_t timed;
} pair_row;

static size_t same_device_pairs(const clr_comparison *cmp, pair_row *rows, size_t max)
{
    size_t n = 0;
    for (size_t a = 0; a < cmp->ndocs; ++a)
        for (size_t b = a + 1; b < cmp->ndocs && n < max; ++b) {
            if (strcmp(cmp->docs[a].device, cmp->docs[b].device) || strcmp(cmp->docs[a].name, cmp->docs[b].name))
                continue;
            pair_row *r = &rows[n++];
            memset(r, 0, sizeof *r);
            r->a = a;
            r->b = b;
            for (size_t m = 0; m < cmp->nmatches; ++m) {
                const clr_match *mt = &cmp->matches[m];
                const clr_rcase *x = mt->cases[a], *y = mt->cases[b];
                if (!x || !y)
                    continue;
                r->common++;
                r->changed += mt->group_of[a] != mt->group_of[b];
                if (x->valid && y->valid && isfinite(x->median_s) && isfinite(y->median_s) && x->median_s > 0) {
                    r->log_ratio += log(y->median_s / x->median_s);
                    r->timed++;
                }
            }
        }
    return n;
}

char *clr_compare_markdown(const clr_comparison *cmp)
{
    clr_text t = {0};
    clr_text_printf(&t, "# clrepro %s: comparison of %zu results documents\n\n", CLREPRO_VERSION, cmp->ndocs);
    clr_text_printf(&t, "| # | device (driver) | platform | run | tool | file |\n|---:|---|---|---|---|---|\n");
    for (size_t i = 0; i < cmp->ndocs; ++i)
        clr_text_printf(&t, "| %zu | %s | %s | %s | %s | `%s` |\n", i, cmp->labels[i], cmp->docs[i].platform,
                        cmp->docs[i].name, cmp->docs[i].tool_version, cmp->docs[i].path);
    summary_row *rows = calloc(cmp->nmatches ? cmp->nmatches : 1, sizeof *rows);
    size_t n = rows ? summarise(cmp, rows) : 0;
    clr_text_printf(&t, "\n## Agreement per strategy\n\nCases present in at least two documents, matched by run, "
                        "strategy, shape and batch. Same bits: every document has the same output fingerprint. "
                        "Max ulp: the largest distance between two documents' probe outputs. Time ratio: geometric "
                        "mean over the cases of slowest / fastest.\n\n"
                        "| run | strategy | cases | same bits everywhere | max ulp between documents | time ratio |\n"
                        "|---|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; ++i) {
        clr_text_printf(&t, "| %s | %s | %zu | %zu/%zu | ", rows[i].name, rows[i].strategy, rows[i].cases,
                        rows[i].same, rows[i].cases);
        if (rows[i].ulp_known)
            clr_text_printf(&t, "%lld |", (long long)rows[i].max_ulp);
        else
            clr_text_printf(&t, "unknown |");
        if (rows[i].ratios)
            clr_text_printf(&t, " %.2fx |\n", exp(rows[i].ratio_sum / (double)rows[i].ratios));
        else
            clr_text_printf(&t, " - |\n");
    }
    free(rows);
    clr_device_claim *claims = calloc(cmp->nmatches ? cmp->nmatches : 1, sizeof *claims);
    size_t nclaims = claims ? clr_compare_device_claims(cmp, claims) : 0;
    if (nclaims) {
        clr_text_printf(&t, "\n## Device-invariance claims\n\nStrategies that claim the same bits on every device, "
                            "judged here: every case measured on two or more different devices must have one "
                            "fingerprint on all of them.\n\n| run | strategy | cases on 2+ devices | identical on "
                            "every device | observed | evidence |\n|---|---|---:|---:|---|---|\n");
        for (size_t i = 0; i < nclaims; ++i)
            clr_text_printf(&t, "| %s | %s | %zu | %zu | %s | %s |\n", claims[i].run, claims[i].strategy,
                            claims[i].cases, claims[i].identical, clr_device_claim_observed(&claims[i]),
                            claims[i].evidence);
    }
    free(claims);
    pair_row pairs[64];
    size_t npairs = same_device_pairs(cmp, pairs, 64);
    if (npairs) {
        clr_text_printf(&t, "\n## Same device, different runs\n\nTwo documents of one device (another driver, "
                            "build or day): how many of their common cases changed bits, and the geometric mean of "
                            "the second's time over the first's.\n\n| run | device | first | second | common cases | "
                            "bits changed | time second / first |\n|---|---|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < npairs; ++i) {
            const pair_row *r = &pairs[i];
            clr_text_printf(&t, "| %s | %s | #%zu (%s) | #%zu (%s) | %zu | %zu |", cmp->docs[r->a].name,
                            cmp->docs[r->a].device, r->a, cmp->docs[r->a].driver, r->b, cmp->docs[r->b].driver,
                            r->common, r->changed);
            if (r->timed)
                clr_text_printf(&t, " %.3fx |\n", exp(r->log_ratio / (double)r->timed));
            else
                clr_text_printf(&t, " - |\n");
        }
    }
    clr_text_printf(&t, "\n## Cases\n\nFingerprint groups: documents with the same letter gave the same bits.\n\n"
                        "| run | strategy | shape | batch | groups | max ulp | time ratio | fastest |\n"
                        "|---|---|---|---:|---|---:|---:|---|\n");
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const clr_rcase *c = any_case(mt);
        char groups[3 * MAX_DOCS + 1] = "";
        size_t len = 0;
        for (size_t d = 0; d < cmp->ndocs; ++d)
            len += (size_t)snprintf(groups + len, sizeof groups - len, "%c", mt->group_of[d] < 0 ? '.' : 'A' + mt->group_of[d] % 26);
        clr_text_printf(&t, "| %s | %s | %s | %zu | `%s` | ", cmp->match_name[m], c->strategy, c->shape, c->batch,
                        groups);
        if (mt->max_ulp >= 0)
            clr_text_printf(&t, "%lld |", (long long)mt->max_ulp);
        else
            clr_text_printf(&t, "unknown |");
        if (isfinite(mt->time_ratio))
            clr_text_printf(&t, " %.2fx | %zu |\n", mt->time_ratio, mt->fastest);
        else
            clr_text_printf(&t, " - | - |\n");
    }
    return t.failed ? (free(t.buf), NULL) : t.buf;
}

char *clr_compare_csv(const clr_comparison *cmp)
{
    clr_text t = {0};
    clr_text_printf(&t, "run,strategy,shape,batch,documents,groups,same_bits,max_ulp,time_ratio,fastest,slowest");
    for (size_t d = 0; d < cmp->ndocs; ++d)
        clr_text_printf(&t, ",fingerprint_%zu,median_ms_%zu", d, d);
    clr_text_printf(&t, "\n");
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const clr_rcase *c = any_case(mt);
        clr_text_printf(&t, "%s,%s,\"%s\",%zu,%zu,%zu,%s,", cmp->match_name[m], c->strategy, c->shape, c->batch,
                        mt->present, mt->groups, mt->groups == 1 ? "true" : "false");
        if (mt->max_ulp >= 0)
            clr_text_printf(&t, "%lld", (long long)mt->max_ulp);
        if (isfinite(mt->time_ratio))
            clr_text_printf(&t, ",%.4f,%zu,%zu", mt->time_ratio, mt->fastest, mt->slowest);
        else
            clr_text_printf(&t, ",,,");
        for (size_t d = 0; d < cmp->ndocs; ++d) {
            const clr_rcase *x = mt->cases[d];
            if (x && isfinite(x->median_s))
                clr_text_printf(&t, ",%s,%.6f", x->fingerprint, x->median_s * 1e3);
            else if (x)
                clr_text_printf(&t, ",%s,", x->fingerprint);
            else
                clr_text_printf(&t, ",,");
        }
        clr_text_printf(&t, "\n");
    }
    return t.failed ? (free(t.buf), NULL) : t.buf;
}

char *clr_compare_json(const clr_comparison *cmp)
{
    json_t *docs = json_array(), *cases = json_array();
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        json_array_append_new(docs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "label", cmp->labels[i], "path",
                                              d->path, "device", d->device, "driver", d->driver, "platform",
                                              d->platform, "run", d->name, "tool_version", d->tool_version));
    }
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const clr_rcase *c = any_case(mt);
        json_t *groups = json_array();
        for (size_t d = 0; d < cmp->ndocs; ++d)
            json_array_append_new(groups, mt->group_of[d] < 0 ? json_null() : json_integer(mt->group_of[d]));
        json_array_append_new(
            cases, json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:o, s:o, s:o}", "run", cmp->match_name[m], "strategy",
                             c->strategy, "shape", c->shape, "batch", (json_int_t)c->batch, "groups",
                             (json_int_t)mt->groups, "same_bits", mt->groups == 1, "group_of", groups, "max_ulp",
                             mt->max_ulp >= 0 ? json_integer(mt->max_ulp) : json_null(), "time_ratio",
                             isfinite(mt->time_ratio) ? json_real(mt->time_ratio) : json_null()));
    }
    pair_row pairs[64];
    size_t npairs = same_device_pairs(cmp, pairs, 64);
    json_t *same = json_array();
    for (size_t i = 0; i < npairs; ++i)
        json_array_append_new(same, json_pack("{s:I, s:I, s:I, s:I, s:o}", "first", (json_int_t)pairs[i].a, "second",
                                              (json_int_t)pairs[i].b, "common_cases", (json_int_t)pairs[i].common,
                                              "bits_changed", (json_int_t)pairs[i].changed, "time_ratio",
                                              pairs[i].timed ? json_real(exp(pairs[i].log_ratio / (double)pairs[i].timed))
                                                             : json_null()));
    json_t *device_claims = json_array();
    clr_device_claim *claims = calloc(cmp->nmatches ? cmp->nmatches : 1, sizeof *claims);
    size_t nclaims = claims ? clr_compare_device_claims(cmp, claims) : 0;
    for (size_t i = 0; i < nclaims; ++i)
        json_array_append_new(device_claims,
                              json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "run", claims[i].run, "strategy",
                                        claims[i].strategy, "claim", "device_invariant", "cases",
                                        (json_int_t)claims[i].cases, "identical", (json_int_t)claims[i].identical,
                                        "observed", clr_device_claim_observed(&claims[i]), "evidence",
                                        claims[i].evidence));
    free(claims);
    json_t *root = json_pack("{s:s, s:i, s:{s:s, s:s}, s:o, s:o, s:o, s:o}", "schema", "clrepro.compare",
                             "schema_version", 1, "tool", "name", "clrepro", "version", CLREPRO_VERSION, "documents",
                             docs, "cases", cases, "same_device", same, "device_claims", device_claims);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    return text;
}
