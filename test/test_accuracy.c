/* test_accuracy.c: the two accuracy measures of a case (issue 12): the largest ulp distance from
 * the host reference, and the largest |error| over the reference's scale (the magnitude its
 * bounds are relative to) in units of u = 2^-24. On a real device (PoCL by default): matmul's
 * scaled error is a few u, within its depth, where its ulp distance runs to thousands (outputs
 * near 0); a sum's two measures agree; both measures recomputed from the saved outputs; the
 * results document, CSV, Markdown and terminal summary carry the op's measure; a journal keeps
 * the scaled error through --resume, and one written without it is still read (unknown). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "journal.h"
#include "output.h"
#include "reference.h"
#include "test_util.h"
#include "text.h"

static clr_run_config config(const clr_operation *op, clr_shape *shapes, size_t nshapes, size_t *batches,
                             size_t nbatches, clr_dist dist)
{
    clr_run_config cfg = {0};
    cfg.op = op;
    cfg.name = op->name;
    for (size_t i = 0; i < op->nstrategies; ++i)
        cfg.strategy_index[cfg.nstrategies++] = i;
    cfg.shapes = shapes;
    cfg.nshapes = nshapes;
    cfg.batches = batches;
    cfg.nbatches = nbatches;
    cfg.trials = 2;
    cfg.reps = 1;
    cfg.warmup = 1;
    cfg.input.seed = 3;
    cfg.input.dist = dist;
    cfg.save_outputs = 1;
    cfg.timeout = 600;
    return cfg;
}

/* Both measures recomputed from the case's saved outputs (trial 0) over the validated rows, the
 * rows made as the runner makes them (fp32). */
static void recompute(const clr_run_config *cfg, const clr_case *c, uint64_t *ulp, double *scaled)
{
    const clr_operation *op = cfg->op;
    size_t in_row = op->input_row_floats(&c->shape), out_row = op->output_row_floats(&c->shape);
    size_t nshared = op->shared_floats ? op->shared_floats(&c->shape) : 0;
    size_t rows = op->validate_rows && op->validate_rows < c->shape.batch ? op->validate_rows : c->shape.batch;
    float *row = malloc(in_row * sizeof *row), *ref = malloc(out_row * sizeof *ref);
    float *shared = nshared ? malloc(nshared * sizeof *shared) : NULL;
    double *scale = malloc(out_row * sizeof *scale);
    ck_assert(row && ref && scale && (shared || !nshared) && c->outputs);
    if (nshared)
        op->fill_shared(&c->shape, cfg->input.seed, shared);
    *ulp = 0;
    *scaled = 0;
    for (size_t r = 0; r < rows; ++r) {
        if (op->fill_row)
            op->fill_row(&c->shape, &cfg->input, r, row);
        else
            clr_input_row(&cfg->input, r, row, in_row);
        op->reference(&c->shape, row, shared, ref, scale);
        for (size_t i = 0; i < out_row; ++i) {
            float out = c->outputs[r * out_row + i];
            uint64_t d = clr_ulp_distance(out, ref[i]);
            *ulp = d > *ulp ? d : *ulp;
            if (d == 0)
                continue;
            double e = isfinite(out) && isfinite(ref[i]) && scale[i] > 0
                           ? fabs((double)out - (double)ref[i]) / (scale[i] * 0x1p-24)
                           : INFINITY;
            *scaled = e > *scaled ? e : *scaled;
        }
    }
    free(row);
    free(ref);
    free(shared);
    free(scale);
}

/* The case's figures against the recomputation: never less (the runner also validates the
 * probe row at other positions and orders), equal where every observation had trial 0's bits. */
static void check_recomputed(const clr_run_config *cfg, const clr_device_result *res, const clr_case *c)
{
    uint64_t ulp;
    double scaled;
    recompute(cfg, c, &ulp, &scaled);
    const clr_variance *v = NULL;
    for (size_t i = 0; i < res->nvariance; ++i)
        if (res->variance[i].strategy == c->strategy && res->variance[i].shape_index == c->shape_index)
            v = &res->variance[i];
    const char *name = cfg->op->strategies[c->strategy].name;
    ck_assert_msg(c->accuracy_max_ulp >= ulp && c->accuracy_scaled_u >= scaled, "%s M=%zu: %llu ulp, %g u recorded, "
                  "%llu, %g recomputed", name, c->shape.batch, (unsigned long long)c->accuracy_max_ulp,
                  c->accuracy_scaled_u, (unsigned long long)ulp, scaled);
    if (c->r2r_distinct == 1 && v && v->distinct == 1 && c->order_distinct <= 1 && (!c->has_layout || c->layout_same)) {
        ck_assert_uint_eq(c->accuracy_max_ulp, ulp);
        ck_assert_msg(c->accuracy_scaled_u == scaled, "%s: %.17g u recorded, %.17g recomputed", name,
                      c->accuracy_scaled_u, scaled);
    }
}

static int has_line_with(const char *text, const char *a, const char *b)
{
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[512];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        if (strstr(buf, a) && strstr(buf, b))
            return 1;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

START_TEST(matmul_scaled_error_is_a_few_u)
{
    /* K = 1024, N = 256: C = A B with B scaled by 1/sqrt(K), so outputs are O(1) and many are
     * near 0. The error over sum |a_k b_kn| is bounded by the chain of roundings (K, or a chunk
     * plus the chunks): a few u in practice; the ulp distance of outputs near 0 is not. */
    clr_device dev = test_device();
    clr_shape shapes[] = {{.dims = {1024, 256}}};
    size_t batches[] = {1, 8};
    clr_run_config cfg = config(&clr_op_matmul, shapes, 1, batches, 2, CLR_DIST_NORMAL);
    clr_device_result res;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
    uint64_t most_ulp = 0;
    size_t measured = 0;
    for (size_t i = 0; i < res.ncases; ++i) {
        const clr_case *c = &res.cases[i];
        if (c->skipped)
            continue;
        const char *name = clr_op_matmul.strategies[c->strategy].name;
        ck_assert_msg(c->valid, "%s M=%zu invalid", name, c->shape.batch);
        ck_assert_msg(isfinite(c->accuracy_scaled_u) && c->accuracy_scaled_u > 0 &&
                          c->accuracy_scaled_u < 2 * (c->plan.depth + 2),
                      "%s M=%zu: %g u over the magnitude (depth %g)", name, c->shape.batch, c->accuracy_scaled_u,
                      c->plan.depth);
        check_recomputed(&cfg, &res, c);
        most_ulp = c->accuracy_max_ulp > most_ulp ? c->accuracy_max_ulp : most_ulp;
        measured++;
    }
    ck_assert_uint_ge(measured, 6); /* tiled, splitk, splitk-atomic at two M */
    ck_assert_msg(most_ulp >= 1000, "the largest ulp distance is only %llu", (unsigned long long)most_ulp);

    /* The terminal summary shows matmul's scaled error in the acc column, with its legend. */
    char *text = test_summary_text(&cfg, &res, NULL);
    ck_assert_msg(strstr(text, "acc: largest |error| over the magnitude") != NULL, "%s", text);
    ck_assert_msg(has_line_with(text, "strategy", " acc  verdict") && !strstr(text, " ulp  verdict"), "%s", text);
    for (size_t i = 0; i < res.ncases; ++i) {
        const clr_case *c = &res.cases[i];
        char want[32], prefix[64];
        if (c->skipped)
            continue;
        snprintf(want, sizeof want, c->accuracy_scaled_u < 99.5 ? " %.2g  " : " %.0f  ", c->accuracy_scaled_u);
        snprintf(prefix, sizeof prefix, "  %-14s %4zu ", clr_op_matmul.strategies[c->strategy].name, c->shape.batch);
        ck_assert_msg(has_line_with(text, prefix, want), "no %s in\n%s", want, text);
    }
    free(text);
    clr_device_result_free(&res);
}
END_TEST

START_TEST(sum_measures_agree)
{
    /* A sum's reference is its correctly rounded value and scale is sum |x| >= |ref|: an error of
     * d ulp is at most 2 d u of the magnitude (an ulp is at most 2u of the value), and 0 only
     * when d is. The summary keeps ulp for it. */
    clr_device dev = test_device();
    clr_shape shapes[] = {{.dims = {1000}}, {.dims = {70001}}};
    size_t batches[] = {1, 3};
    clr_run_config cfg = config(&clr_op_sum, shapes, 2, batches, 2, CLR_DIST_UNIFORM);
    clr_device_result res;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
    size_t inexact = 0;
    for (size_t i = 0; i < res.ncases; ++i) {
        const clr_case *c = &res.cases[i];
        if (c->skipped)
            continue;
        const char *name = clr_op_sum.strategies[c->strategy].name;
        ck_assert_msg(c->valid, "%s invalid", name);
        ck_assert_msg((c->accuracy_max_ulp == 0) == (c->accuracy_scaled_u == 0) &&
                          c->accuracy_scaled_u <= 2.01 * (double)c->accuracy_max_ulp,
                      "%s n=%zu B=%zu: %llu ulp but %g u of the magnitude", name, c->shape.dims[0], c->shape.batch,
                      (unsigned long long)c->accuracy_max_ulp, c->accuracy_scaled_u);
        if (!strcmp(name, "exact"))
            ck_assert(c->accuracy_max_ulp == 0 && c->accuracy_scaled_u == 0);
        inexact += c->accuracy_max_ulp > 0;
        check_recomputed(&cfg, &res, c);
    }
    ck_assert_uint_gt(inexact, 0);
    char *text = test_summary_text(&cfg, &res, NULL);
    ck_assert_msg(strstr(text, "acc: largest distance from the reference in ulp") != NULL, "%s", text);
    free(text);
    clr_device_result_free(&res);
}
END_TEST

START_TEST(results_carry_both_measures)
{
    clr_device dev = test_device();
    clr_shape shapes[] = {{.dims = {256, 64}}};
    size_t batches[] = {1, 4};
    clr_run_config cfg = config(&clr_op_matmul, shapes, 1, batches, 2, CLR_DIST_NORMAL);
    clr_device_result res;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, &res, &err) == 0, "%s", err.msg);
    /* JSON: accuracy.max_ulp and accuracy.scaled_u, the case's figures. */
    json_t *doc = clr_results_json(&cfg, &res);
    char *dumped = json_dumps(doc, JSON_REAL_PRECISION(17));
    json_t *back = json_loads(dumped, 0, NULL), *cases = json_object_get(back, "cases");
    ck_assert_uint_eq(json_array_size(cases), res.ncases);
    for (size_t i = 0; i < res.ncases; ++i) {
        const clr_case *c = &res.cases[i];
        json_t *acc = json_object_get(json_array_get(cases, i), "accuracy");
        if (c->skipped) {
            ck_assert_ptr_null(acc);
            continue;
        }
        ck_assert(json_is_integer(json_object_get(acc, "max_ulp")));
        ck_assert_msg(json_is_real(json_object_get(acc, "scaled_u")), "no accuracy.scaled_u in case %zu", i);
        ck_assert(json_real_value(json_object_get(acc, "scaled_u")) == c->accuracy_scaled_u);
    }
    free(dumped);
    json_decref(back);
    json_decref(doc);
    /* CSV: a column after accuracy_max_ulp; Markdown: a column named for its measure. */
    char *csv = clr_results_csv(&cfg, &res), *md = clr_results_markdown(&cfg, &res);
    ck_assert(csv && md);
    ck_assert_ptr_nonnull(strstr(csv, ",accuracy_max_ulp,accuracy_scaled_u,reference,"));
    ck_assert_ptr_nonnull(strstr(md, "| accuracy (ulp) | scaled error (u) | mean"));
    ck_assert_ptr_nonnull(strstr(md, "Read the scaled error here"));
    free(csv);
    free(md);
    /* A case whose scaled error is unknown (resumed from an older journal), infinite, or a NaN
     * mismatch: null in JSON, empty or "inf" in CSV, marked in the summary. */
    clr_case *c = NULL;
    for (size_t i = 0; i < res.ncases && !c; ++i)
        if (!res.cases[i].skipped)
            c = &res.cases[i];
    ck_assert_ptr_nonnull(c);
    c->accuracy_scaled_u = NAN;
    doc = clr_results_json(&cfg, &res);
    json_t *acc = json_object_get(json_array_get(json_object_get(doc, "cases"), (size_t)(c - res.cases)), "accuracy");
    ck_assert(json_is_null(json_object_get(acc, "scaled_u")));
    json_decref(doc);
    char fp[17], cell[64];
    clr_hex64(c->fingerprint, fp);
    csv = clr_results_csv(&cfg, &res);
    /* the empty cell, then the reference columns */
    snprintf(cell, sizeof cell, ",%llu,,%s,", (unsigned long long)c->accuracy_max_ulp,
             c->vs_ref ? clr_op_matmul.strategies[0].name : "");
    ck_assert_msg(strstr(csv, cell) != NULL, "no %s in\n%s", cell, csv);
    snprintf(cell, sizeof cell, ",%s\n", fp);
    ck_assert_msg(strstr(csv, cell) != NULL, "no %s in\n%s", cell, csv);
    free(csv);
    c->accuracy_scaled_u = INFINITY;
    csv = clr_results_csv(&cfg, &res);
    snprintf(cell, sizeof cell, ",%llu,inf,%s,", (unsigned long long)c->accuracy_max_ulp,
             c->vs_ref ? clr_op_matmul.strategies[0].name : "");
    ck_assert_msg(strstr(csv, cell) != NULL, "no %s in\n%s", cell, csv);
    free(csv);
    char *text = test_summary_text(&cfg, &res, NULL);
    ck_assert_msg(strstr(text, " inf!  ") != NULL, "%s", text);
    free(text);
    clr_device_result_free(&res);
}
END_TEST

/* Rewrites the journal at path without the key in its case records (as an earlier build wrote
 * them); returns how many records lost it. */
static size_t strip_key(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *line = NULL, *text = NULL;
    size_t cap = 0, size = 0, stripped = 0;
    FILE *out = open_memstream(&text, &size);
    int first = 1;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = first ? NULL : json_loads(line, 0, NULL);
        json_t *c = json_object_get(o, "case");
        if (c && json_object_get(c, key)) {
            json_object_del(c, key);
            char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
            fprintf(out, "%s\n", s);
            free(s);
            stripped++;
        } else {
            fputs(line, out);
        }
        json_decref(o);
        first = 0;
    }
    free(line);
    fclose(f);
    fclose(out);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, size, f), size);
    fclose(f);
    free(text);
    return stripped;
}

START_TEST(journal_keeps_scaled_error)
{
    char dir[512];
    test_mkdtemp(dir, sizeof dir, "journal");
    clr_device dev = test_device();
    clr_shape shapes[] = {{.dims = {512, 64}}};
    size_t batches[] = {1, 3};
    clr_run_config cfg = config(&clr_op_matmul, shapes, 1, batches, 2, CLR_DIST_NORMAL);
    clr_error err = {0};
    clr_prepared_run *p;
    clr_journal *j;
    clr_device_result first, again, old;
    ck_assert_msg(clr_run_prepare(&cfg, &dev, &p, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_journal_open(dir, &cfg, p, 0, &j, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_run_prepared(p, j, &first, &err) == 0, "%s", err.msg);
    char path[1024];
    snprintf(path, sizeof path, "%s", clr_journal_path(j));
    clr_journal_close(j);

    /* Resumed: every case from the journal, its scaled error bit for bit. */
    ck_assert_msg(clr_run_prepare(&cfg, &dev, &p, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_journal_open(dir, &cfg, p, 1, &j, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_run_prepared(p, j, &again, &err) == 0, "%s", err.msg);
    clr_journal_close(j);
    ck_assert_uint_eq(again.resumed_cases, first.ncases);
    size_t measured = 0;
    for (size_t i = 0; i < first.ncases; ++i) {
        const clr_case *x = &first.cases[i], *y = &again.cases[i];
        ck_assert(!memcmp(&x->accuracy_scaled_u, &y->accuracy_scaled_u, sizeof(double)));
        ck_assert_uint_eq(x->accuracy_max_ulp, y->accuracy_max_ulp);
        measured += !x->skipped && x->accuracy_scaled_u > 0;
    }
    ck_assert_uint_gt(measured, 0);

    /* A journal of an earlier build, its records without the field: still read whole, the
     * scaled error unknown (NaN, null in the results) rather than 0, the rest unchanged. */
    ck_assert_uint_eq(strip_key(path, "accuracy_scaled_u"), first.ncases);
    ck_assert_msg(clr_run_prepare(&cfg, &dev, &p, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_journal_open(dir, &cfg, p, 1, &j, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(clr_journal_loaded(j), first.ncases);
    ck_assert_msg(clr_run_prepared(p, j, &old, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(old.resumed_cases, first.ncases);
    json_t *doc = clr_results_json(&cfg, &old);
    for (size_t i = 0; i < first.ncases; ++i) {
        const clr_case *x = &first.cases[i], *y = &old.cases[i];
        ck_assert_uint_eq(x->accuracy_max_ulp, y->accuracy_max_ulp);
        ck_assert_uint_eq(x->fingerprint, y->fingerprint);
        if (x->skipped)
            continue;
        ck_assert(isnan(y->accuracy_scaled_u));
        json_t *acc = json_object_get(json_array_get(json_object_get(doc, "cases"), i), "accuracy");
        ck_assert(json_is_null(json_object_get(acc, "scaled_u")));
    }
    json_decref(doc);
    char *text = test_summary_text(&cfg, &old, NULL);
    ck_assert_msg(has_line_with(text, "tiled", " -  same bits"), "%s", text);
    free(text);

    /* A record whose field is there but not a number is refused, as any malformed record. */
    FILE *f = fopen(path, "r");
    char *all = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&all, &cap, '\0', f);
    fclose(f);
    ck_assert_int_gt(n, 0);
    char *at = strstr(all, "\"case\"");
    ck_assert_ptr_nonnull(at);
    char *brace = strchr(at, '{');
    ck_assert_ptr_nonnull(brace);
    f = fopen(path, "w");
    fprintf(f, "%.*s\"accuracy_scaled_u\": \"many\", %s", (int)(brace + 1 - all), all, brace + 1);
    fclose(f);
    free(all);
    clr_journal_close(j);
    ck_assert_msg(clr_run_prepare(&cfg, &dev, &p, &err) == 0, "%s", err.msg);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_journal_open(dir, &cfg, p, 1, &j, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "is not a case of this configuration") != NULL, "%s", err.msg);
    clr_run_prepared_free(p);
    clr_device_result_free(&first);
    clr_device_result_free(&again);
    clr_device_result_free(&old);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("accuracy");
    TCase *t = tcase_create("device");
    tcase_add_test(t, matmul_scaled_error_is_a_few_u);
    tcase_add_test(t, sum_measures_agree);
    tcase_add_test(t, results_carry_both_measures);
    tcase_add_test(t, journal_keeps_scaled_error);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
