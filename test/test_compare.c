/* test_compare.c: the results reader on good, bad and hostile documents; `compare` on
 * hand-made documents with known agreements and disagreements; `report` from the committed
 * results and from hand-made documents (the summary's verdicts per device, a chart for every
 * shape, the overhead's log axis, one ulp colour scale, a title on every mark, accuracy units,
 * sortable tables, and a checker that admits only the report's own script and style); and every
 * input the fuzzer ever found (test/fuzz-regressions/) read without harm.
 * Hostile documents (fuzz/corpus/hostile-*.json: markup, quotes, pipes, newlines and formulas
 * in every string) go through every output: the HTML must hold no tag or attribute it did not
 * put there, every Markdown table row its header's cells, every CSV row its header's columns
 * and no formula. Also: names longer than the old fixed buffers in multi-byte UTF-8, a large
 * set matched correctly, more than 26 fingerprint groups, outputs that would overwrite an
 * input or go to a directory named '-', and inputs given as files and folders: run results
 * read, anything else skipped and listed (the committed results/ folder and the README's glob
 * over it included). Decode documents (schema clrepro.decode): grouped by experiment and judged
 * in compare.md, compare.json and the report, escaped there, damaged ones skipped with why. */
#include <check.h>
#include "test_util.h"
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "compare.h"
#include "output.h"
#include "results.h"

/* A minimal valid document: one strategy, cases given as (strategy, batch, fingerprint,
 * probe bits, median seconds); for the report's tests, optionally per case n (0: 64), overhead
 * (0: 1), the probe's ulp from the smallest batch, and the accuracy in u (0: absent). */
typedef struct hand_case {
    const char *strategy;
    int batch;
    const char *fingerprint, *probe;
    double median;
} hand_case;

typedef struct hand_extra {
    int n;
    double overhead;
    long long ulp;
    double scaled_u;
} hand_extra;

static int claim_tree_device_invariant; /* documents claim device_invariant for tree */
static int claim_split_broken;          /* split's deterministic claim is broken */
static const char *doc_op = "sum";      /* config.op */
static int tree_order;                  /* strategies[].order of tree; 0: absent */

static char *document_x(const char *device, const char *driver, const hand_case *cases, const hand_extra *extras,
                        size_t n, int version)
{
    size_t cap = 8192 + n * 1024;
    char *buf = malloc(cap), order[32] = "";
    if (tree_order)
        snprintf(order, sizeof order, ", \"order\": %d", tree_order);
    size_t len = (size_t)snprintf(buf, cap,
        "{\"schema\": \"clrepro.results\", \"schema_version\": %d, \"tool\": {\"name\": \"clrepro\", \"version\": \"0.1.0\"},"
        "\"started_utc\": \"2026-01-01T00:00:00Z\", \"wall_seconds\": 1.5,"
        "\"device\": {\"name\": \"%s\", \"platform\": \"P\", \"driver_version\": \"%s\", \"type\": \"GPU\"},"
        "\"config\": {\"op\": \"%s\", \"name\": \"%s\", \"batch_name\": \"B\", \"command\": \"clrepro run\"},"
        "\"strategies\": [{\"name\": \"tree\"%s}, {\"name\": \"split\"}], \"claims\": [{\"strategy\": \"split\", \"claim\":"
        " \"deterministic\", \"claimed\": true, \"observed\": \"%s\", \"broken\": %s, \"evidence\": \"x\"}%s],"
        "\"cases\": [",
        version, device, driver, doc_op, doc_op, order, claim_split_broken ? "violated" : "held",
        claim_split_broken ? "true" : "false",
        claim_tree_device_invariant ? ", {\"strategy\": \"tree\", \"claim\": \"device_invariant\", \"claimed\": true,"
                                      " \"observed\": \"not_measured\", \"broken\": false, \"evidence\": \"y\"}"
                                    : "");
    for (size_t i = 0; i < n; ++i) {
        char scaled[64] = "";
        hand_extra x = extras ? extras[i] : (hand_extra){0, 0, 0, 0};
        if (x.scaled_u > 0)
            snprintf(scaled, sizeof scaled, ", \"scaled_u\": %g", x.scaled_u);
        len += (size_t)snprintf(buf + len, cap - len,
            "%s{\"strategy\": \"%s\", \"shape\": {\"n\": %d, \"dtype\": \"fp32\"}, \"batch\": %d, \"valid\": true,"
            "\"time_s\": {\"median\": %g}, \"gbps\": 1.0, \"gflops\": 0.5, \"copy_gbps\": 2.0, \"overhead\": %g,"
            "\"run_to_run\": {\"trials\": 5, \"distinct\": 1, \"max_ulp\": 0}, \"accuracy\": {\"max_ulp\": 1%s},"
            "\"fingerprint\": \"%s\", \"probe_bits\": [\"%s\"], \"positions\": [{\"position\": 0, \"max_ulp_vs_base\": %lld}],"
            "\"batch_variance\": {\"distinct\": %d, \"max_ulp\": %lld}}",
            i ? "," : "", cases[i].strategy, x.n ? x.n : 64, cases[i].batch, cases[i].median,
            x.overhead > 0 ? x.overhead : 1.0, scaled, cases[i].fingerprint, cases[i].probe, x.ulp, x.ulp ? 2 : 1, x.ulp);
    }
    snprintf(buf + len, cap - len, "]}");
    return buf;
}

static char *document(const char *device, const char *driver, const hand_case *cases, size_t n, int version)
{
    return document_x(device, driver, cases, NULL, n, version);
}

static char *write_temp(const char *text)
{
    char *path = malloc(300);
    snprintf(path, 300, "%s/doc-XXXXXX", test_tmp_root);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(compare_judges_device_invariance)
{
    /* tree claims device invariance. At B = 1 GPU A and GPU B agree but CPU C does not: violated.
     * At B = 2 all three agree: that case alone would hold. Two documents of one device that
     * differ (GPU A twice) are not evidence either way. */
    claim_tree_device_invariant = 1;
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}, {"tree", 2, "4444444444444444", "3f800000", 1e-3}};
    hand_case b[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}, {"tree", 2, "4444444444444444", "3f800000", 1e-3}};
    hand_case c[] = {{"tree", 1, "2222222222222222", "3f800002", 1e-3}, {"tree", 2, "4444444444444444", "3f800000", 1e-3}};
    hand_case a2[] = {{"tree", 3, "5555555555555555", "3f800000", 1e-3}};
    hand_case a3[] = {{"tree", 3, "6666666666666666", "3f800001", 1e-3}};
    char *docs[5] = {document("GPU A", "1.0", a, 2, 1), document("GPU B", "2.0", b, 2, 1),
                     document("CPU C", "3.0", c, 2, 1), document("GPU A", "1.0", a2, 1, 1),
                     document("GPU A", "1.1", a3, 1, 1)};
    claim_tree_device_invariant = 0;
    char *paths[5];
    for (int i = 0; i < 5; ++i)
        paths[i] = write_temp(docs[i]);
    for (int subset = 0; subset < 2; ++subset) {
        /* subset 0: all five documents; subset 1: only A and B, which agree */
        size_t n = subset ? 2 : 5;
        clr_comparison cmp;
        clr_error err = {0};
        ck_assert_msg(clr_compare_load(paths, n, &cmp, &err) == 0, "%s", err.msg);
        const clr_device_claim *rows = cmp.device_claims;
        ck_assert_uint_eq(cmp.ndevice_claims, 1);
        ck_assert_str_eq(rows[0].strategy, "tree");
        ck_assert_uint_eq(rows[0].cases, 2); /* B = 1 and 2; B = 3 is on one device only */
        ck_assert_uint_eq(rows[0].identical, subset ? 2 : 1);
        ck_assert_str_eq(clr_device_claim_observed(&rows[0]), subset ? "held" : "violated");
        char *md = clr_compare_markdown(&cmp, &err), *js = clr_compare_json(&cmp, &err);
        char *html = clr_report_html(&cmp, &err);
        ck_assert(md && js && html);
        ck_assert_ptr_nonnull(strstr(md, subset ? "| sum | tree | 2 | 2 | held |" : "| sum | tree | 2 | 1 | violated |"));
        ck_assert_ptr_nonnull(strstr(js, subset ? "\"observed\": \"held\"" : "\"observed\": \"violated\""));
        ck_assert_int_eq(strstr(html, "claims device_invariant in sum") != NULL, !subset);
        if (!subset)
            ck_assert_ptr_nonnull(strstr(md, "#0 (GPU A) and #2 (CPU C) gave different bits"));
        free(md);
        free(js);
        free(html);
        clr_compare_free(&cmp);
    }
    for (int i = 0; i < 5; ++i) {
        unlink(paths[i]);
        free(paths[i]);
        free(docs[i]);
    }
}
END_TEST

/* tree's order revised (strategies[].order 2) on GPU A and GPU B, which agree; CPU C's document
 * is of revision 1 (no order) and differs: not compared with them, so the claim holds and the
 * evidence says why C was left out. A document at order 0 or "2" is refused. */
START_TEST(compare_order_revisions_apart)
{
    claim_tree_device_invariant = 1;
    hand_case ab[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}, {"tree", 2, "4444444444444444", "3f800000", 1e-3}};
    hand_case c[] = {{"tree", 1, "2222222222222222", "3f800002", 1e-3}, {"tree", 2, "3333333333333333", "3f800001", 1e-3}};
    tree_order = 2;
    char *docs[3] = {document("GPU A", "1.0", ab, 2, 1), document("GPU B", "2.0", ab, 2, 1), NULL};
    tree_order = 0;
    docs[2] = document("CPU C", "3.0", c, 2, 1);
    claim_tree_device_invariant = 0;
    char *paths[3];
    for (int i = 0; i < 3; ++i)
        paths[i] = write_temp(docs[i]);
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 3, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.ndevice_claims, 1);
    ck_assert_uint_eq(cmp.device_claims[0].cases, 2);
    ck_assert_uint_eq(cmp.device_claims[0].identical, 2);
    ck_assert_uint_eq(cmp.device_claims[0].revised, 2);
    ck_assert_str_eq(clr_device_claim_observed(&cmp.device_claims[0]), "held");
    ck_assert_ptr_nonnull(strstr(cmp.device_claims[0].evidence, "another order revision"));
    char *js = clr_compare_json(&cmp, &err), *md = clr_compare_markdown(&cmp, &err);
    ck_assert(js && md);
    ck_assert_ptr_nonnull(strstr(js, "\"other_order\": 2"));
    /* the cost of invariance: C's document gives no order (from before the field): counted */
    ck_assert_ptr_nonnull(strstr(js, "\"invariance_cost_superseded\": 0"));
    clr_compare_free(&cmp);
    free(js);
    free(md);
    /* with C at an explicit order 1, its two cases measured tree's older revision: left out */
    const char *none = "{\"name\": \"tree\"}", *one = "{\"name\": \"tree\", \"order\": 1}";
    char *at1 = strstr(docs[2], none);
    ck_assert_ptr_nonnull(at1);
    size_t len1 = strlen(docs[2]) + 32;
    char *c1 = malloc(len1);
    snprintf(c1, len1, "%.*s%s%s", (int)(at1 - docs[2]), docs[2], one, at1 + strlen(none));
    unlink(paths[2]);
    free(paths[2]);
    paths[2] = write_temp(c1);
    free(c1);
    ck_assert_int_eq(clr_compare_load(paths, 3, &cmp, &err), 0);
    ck_assert_uint_eq(cmp.device_claims[0].revised, 2);
    js = clr_compare_json(&cmp, &err);
    md = clr_compare_markdown(&cmp, &err);
    ck_assert(js && md);
    ck_assert_ptr_nonnull(strstr(js, "\"invariance_cost_superseded\": 2"));
    ck_assert_msg(strstr(md, " 2 cases of a strategy whose order of operations has since been revised"), "%s", md);
    size_t ncost = 0;
    clr_cost_row *cost = clr_invariance_costs(&cmp, &ncost);
    ck_assert_ptr_nonnull(cost);
    for (size_t i = 0; i < ncost; ++i)
        ck_assert_msg(strcmp(cost[i].device, "CPU C"), "CPU C's superseded cases counted in the cost");
    free(cost);
    free(js);
    free(md);
    clr_compare_free(&cmp);
    /* B at revision 2 too but with other bits at B = 1: violated, whatever C's revision */
    hand_case b2[] = {{"tree", 1, "7777777777777777", "3f800004", 1e-3}, {"tree", 2, "4444444444444444", "3f800000", 1e-3}};
    claim_tree_device_invariant = 1;
    tree_order = 2;
    char *docb2 = document("GPU B", "2.0", b2, 2, 1), *pathb2 = write_temp(docb2);
    tree_order = 0;
    claim_tree_device_invariant = 0;
    char *three[3] = {paths[0], pathb2, paths[2]};
    ck_assert_int_eq(clr_compare_load(three, 3, &cmp, &err), 0);
    ck_assert_uint_eq(cmp.device_claims[0].cases, 2);
    ck_assert_uint_eq(cmp.device_claims[0].identical, 1);
    ck_assert_str_eq(clr_device_claim_observed(&cmp.device_claims[0]), "violated");
    clr_compare_free(&cmp);
    unlink(pathb2);
    free(pathb2);
    free(docb2);
    /* C alone against A: nothing comparable, not a violation */
    char *two[2] = {paths[0], paths[2]};
    ck_assert_int_eq(clr_compare_load(two, 2, &cmp, &err), 0);
    ck_assert_uint_eq(cmp.device_claims[0].cases, 0);
    ck_assert_str_eq(clr_device_claim_observed(&cmp.device_claims[0]), "not measured");
    clr_compare_free(&cmp);
    static const char *const bad[] = {"\"order\": 0", "\"order\": \"2\"", "\"order\": -1", "\"order\": 1.5",
                                      "\"order\": null", "\"order\": 1000001"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
        const char *at = strstr(docs[0], "\"order\": 2");
        ck_assert_ptr_nonnull(at);
        size_t len = strlen(docs[0]) + 32;
        char *text = malloc(len);
        snprintf(text, len, "%.*s%s%s", (int)(at - docs[0]), docs[0], bad[k], at + strlen("\"order\": 2"));
        clr_rdoc doc;
        ck_assert_int_eq(clr_results_parse(text, strlen(text), "bad.json", &doc, &err), CLR_EUSAGE);
        ck_assert_msg(strstr(err.msg, "strategies[0].order"), "%s", err.msg);
        free(text);
    }
    for (int i = 0; i < 3; ++i) {
        unlink(paths[i]);
        free(paths[i]);
        free(docs[i]);
    }
}
END_TEST

START_TEST(compare_known_agreement)
{
    /* tree: A and B agree, C differs by 2 ulp (3f800000 vs 3f800002). split: all three differ. */
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}, {"split", 1, "aaaaaaaaaaaaaaaa", "40000000", 2e-3}};
    hand_case b[] = {{"tree", 1, "1111111111111111", "3f800000", 4e-3}, {"split", 1, "bbbbbbbbbbbbbbbb", "40000001", 2e-3}};
    hand_case c[] = {{"tree", 1, "2222222222222222", "3f800002", 2e-3}, {"split", 1, "cccccccccccccccc", "40000003", 2e-3},
                     {"tree", 8, "3333333333333333", "3f800000", 1e-3}};
    char *docs[3] = {document("GPU A", "1.0", a, 2, 1), document("GPU B", "2.0", b, 2, 1), document("CPU C", "3.0", c, 3, 1)};
    char *paths[3];
    for (int i = 0; i < 3; ++i)
        paths[i] = write_temp(docs[i]);
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 3, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.nmatches, 2); /* tree b=8 is only in C */
    for (size_t m = 0; m < cmp.nmatches; ++m) {
        const clr_match *mt = &cmp.matches[m];
        const clr_rcase *c0 = mt->cases[0];
        ck_assert_uint_eq(mt->present, 3);
        if (!strcmp(c0->strategy, "tree")) {
            ck_assert_uint_eq(mt->groups, 2);
            ck_assert_int_eq(mt->group_of[0], mt->group_of[1]);
            ck_assert_int_ne(mt->group_of[0], mt->group_of[2]);
            ck_assert_int_eq(mt->max_ulp, 2);
            ck_assert(fabs(mt->time_ratio - 4.0) < 1e-9 && mt->fastest == 0 && mt->slowest == 1);
        } else {
            ck_assert_uint_eq(mt->groups, 3);
            ck_assert_int_eq(mt->max_ulp, 3);
            ck_assert(fabs(mt->time_ratio - 1.0) < 1e-9);
        }
    }
    char *md = clr_compare_markdown(&cmp, &err), *csv = clr_compare_csv(&cmp, &err), *json = clr_compare_json(&cmp, &err);
    ck_assert(md && csv && json);
    ck_assert_ptr_nonnull(strstr(md, "| sum | tree | 1 | 0/1 | 2 | 4.00x |"));
    ck_assert_ptr_nonnull(strstr(md, "`AAB`"));
    ck_assert_ptr_nonnull(strstr(csv, "\"sum\",\"split\",\"n=64 dtype=fp32\",1,3,3,false,3,"));
    ck_assert_ptr_nonnull(strstr(json, "\"same_bits\": false"));
    free(md);
    free(csv);
    free(json);
    clr_compare_free(&cmp);
    for (int i = 0; i < 3; ++i) {
        remove(paths[i]);
        free(paths[i]);
        free(docs[i]);
    }
}
END_TEST

START_TEST(compare_same_device_two_runs)
{
    /* The same device and driver twice (a rebuild): told apart by file, bits compared. */
    hand_case a[] = {{"tree", 2, "1111111111111111", "3f800000", 1e-3}};
    hand_case b[] = {{"tree", 2, "1111111111111111", "3f800000", 1.5e-3}};
    char *docs[2] = {document("GPU", "1.0", a, 1, 1), document("GPU", "1.0", b, 1, 1)};
    char *paths[2] = {write_temp(docs[0]), write_temp(docs[1])};
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(cmp.labels[0], paths[0]));
    ck_assert_uint_eq(cmp.nmatches, 1);
    ck_assert_uint_eq(cmp.matches[0].groups, 1);
    ck_assert(fabs(cmp.matches[0].time_ratio - 1.5) < 1e-9);
    char *md = clr_compare_markdown(&cmp, &err), *json = clr_compare_json(&cmp, &err);
    ck_assert(md && json);
    ck_assert_ptr_nonnull(strstr(md, "## Same device, different runs"));
    ck_assert_ptr_nonnull(strstr(md, "| 1 | 0 | 1.500x |"));
    ck_assert_ptr_nonnull(strstr(json, "\"bits_changed\": 0"));
    free(md);
    free(json);
    clr_compare_free(&cmp);
    for (int i = 0; i < 2; ++i) {
        remove(paths[i]);
        free(paths[i]);
        free(docs[i]);
    }
}
END_TEST

START_TEST(compare_tiny_and_zero_times)
{
    /* A time of the smallest subnormal (or zero) in one run of a device: the ratio is unknown,
     * written as null, and nothing else is lost (compare used to fail on the infinite ratio). */
    static const double tiny[] = {5e-324, 0.0};
    for (size_t k = 0; k < 2; ++k) {
        hand_case a[] = {{"tree", 2, "1111111111111111", "3f800000", tiny[k]}};
        hand_case b[] = {{"tree", 2, "1111111111111111", "3f800000", 1e-3}};
        char *docs[2] = {document("GPU", "1.0", a, 1, 1), document("GPU", "1.0", b, 1, 1)};
        char *paths[2] = {write_temp(docs[0]), write_temp(docs[1])};
        clr_comparison cmp;
        clr_error err = {0};
        ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
        char *md = clr_compare_markdown(&cmp, &err), *csv = clr_compare_csv(&cmp, &err);
        char *json = clr_compare_json(&cmp, &err);
        ck_assert_msg(md && csv && json, "median %g: %s", tiny[k], err.msg);
        ck_assert_ptr_nonnull(strstr(json, "\"bits_changed\": 0"));
        free(md);
        free(csv);
        free(json);
        clr_compare_free(&cmp);
        for (int i = 0; i < 2; ++i) {
            remove(paths[i]);
            free(paths[i]);
            free(docs[i]);
        }
    }
}
END_TEST

static void expect_refused(const char *text, const char *needle)
{
    clr_rdoc doc;
    clr_error err = {0};
    ck_assert_int_eq(clr_results_parse(text, strlen(text), "doc", &doc, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
}

START_TEST(reader_refuses_bad_documents)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}};
    char *v3 = document("GPU", "1.0", a, 1, 3);
    expect_refused(v3, "schema version 3");
    free(v3);
    char *good = document("GPU", "1.0", a, 1, 1);
    size_t len = strlen(good);
    for (size_t cut = 0; cut < len; cut += 97) { /* every truncation is an error, never a crash */
        clr_rdoc doc;
        clr_error err = {0};
        ck_assert_int_eq(clr_results_parse(good, cut, "doc", &doc, &err), CLR_EUSAGE);
    }
    free(good);
    expect_refused("", "not valid JSON");
    expect_refused("[1, 2]", "the top level is not an object");
    expect_refused("{\"schema\": \"clrepro.demo-order\", \"schema_version\": 1}", "doc is a demo-order document");
    /* identified by its schema, not guessed */
    expect_refused("{\"schema\": \"clrepro.compare\", \"schema_version\": 1}", "doc is a compare document");
    expect_refused("{\"schema\": 5}", "its schema field is not a string");
    expect_refused("{\"schema\": \"clrepro.results\", \"schema_version\": 1}", "tool is missing");
    expect_refused("{\"schema\": \"clrepro.results\", \"schema_version\": 1e999}", "");
    /* Deep nesting is refused by the parser's depth limit, not by the stack. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    expect_refused(deep, "not valid JSON");
    free(deep);
    clr_rdoc doc;
    clr_error err = {0};
    ck_assert_int_eq(clr_results_load("/nonexistent/x.json", &doc, &err), CLR_EUSAGE);
}
END_TEST

START_TEST(reader_field_checks)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}};
    char *good = document("GPU", "1.0", a, 1, 1), *bad = malloc(strlen(good) + 64);
    struct { const char *from, *to, *needle; } edits[] = {
        {"\"batch\": 1", "\"batch\": -4", "batch should be a whole number"},
        {"\"batch\": 1", "\"batch\": 99999999999999999999", "not valid JSON"},
        {"\"batch\": 1", "\"batch\": 0", "batch is 0"},
        {"\"fingerprint\": \"1111111111111111\"", "\"fingerprint\": \"xyz\"", "16 hexadecimal"},
        {"\"probe_bits\": [\"3f800000\"]", "\"probe_bits\": [\"3f8\"]", "8 hexadecimal"},
        {"\"probe_bits\": [\"3f800000\"]", "\"probe_bits\": 7", "probe_bits should be an array"},
        {"\"valid\": true", "\"valid\": 1", "valid should be true or false"},
        {"\"gbps\": 1.0", "\"gbps\": \"fast\"", "gbps should be a number"},
        {"\"strategy\": \"tree\"", "\"strategy\": null", "strategy should be a string"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; ++i) {
        const char *at = strstr(good, edits[i].from);
        ck_assert_ptr_nonnull(at);
        size_t pre = (size_t)(at - good);
        sprintf(bad, "%.*s%s%s", (int)pre, good, edits[i].to, at + strlen(edits[i].from));
        expect_refused(bad, edits[i].needle);
    }
    free(good);
    free(bad);
}
END_TEST

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static const char *html_injection(const char *html, char *why, size_t size);

/* The distinct shapes among a document's charted (measured, valid) cases. */
static size_t charted_shapes(const clr_rdoc *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->ncases; ++i) {
        if (d->cases[i].skipped || !d->cases[i].valid)
            continue;
        int seen = 0;
        for (size_t j = 0; j < i && !seen; ++j)
            seen = !d->cases[j].skipped && d->cases[j].valid && !strcmp(d->cases[j].shape, d->cases[i].shape);
        n += !seen;
    }
    return n;
}

/* Every element of class 'mk' (a mark: point, bar, cell) has an SVG <title> as its first child;
 * returns the number of marks. */
static size_t marks_with_titles(const char *html)
{
    size_t n = 0;
    for (const char *p = strstr(html, "class='mk'"); p; p = strstr(p + 1, "class='mk'")) {
        const char *end = strchr(p, '>');
        ck_assert_ptr_nonnull(end);
        ck_assert_msg(end[-1] != '/' && !strncmp(end + 1, "<title>", 7), "a mark without a title: %.120s", p);
        const char *close = strstr(end, "</title>");
        ck_assert_msg(close && close - end > 9, "an empty title: %.120s", p);
        n++;
    }
    return n;
}

/* The report's section for document i: from its id to the next section. */
static char *doc_section(const char *html, size_t i)
{
    char id[48];
    snprintf(id, sizeof id, "<section id='doc-%zu'>", i);
    const char *from = strstr(html, id);
    ck_assert_msg(from != NULL, "no section %s", id);
    const char *to = strstr(from + 1, "<section");
    size_t len = to ? (size_t)(to - from) : strlen(from);
    char *out = malloc(len + 1);
    memcpy(out, from, len);
    out[len] = '\0';
    return out;
}

START_TEST(report_from_committed_results)
{
    char *paths[] = {CLREPRO_SOURCE_DIR "/results/pocl-pthread-skylake-avx512-amd-epyc/sum.json",
                     CLREPRO_SOURCE_DIR "/results/nvidia-nvidia-h200/sum.json",
                     CLREPRO_SOURCE_DIR "/results/pocl-pthread-skylake-avx512-amd-epyc/seed-attention-lengths.json",
                     CLREPRO_SOURCE_DIR "/results/nvidia-nvidia-h200/seed-attention-lengths.json",
                     CLREPRO_SOURCE_DIR "/results/nvidia-nvidia-h200/llm-matmul.json"};
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 5, &cmp, &err) == 0, "%s", err.msg);
    char *html = clr_report_html(&cmp, &err);
    ck_assert_ptr_nonnull(html);
    char why[256];
    ck_assert_msg(!*html_injection(html, why, sizeof why), "report.html: %s", why);
    /* Every shape of every document: a throughput and an overhead chart, labelled with it. */
    size_t shapes = 0;
    for (size_t i = 0; i < cmp.ndocs; ++i) {
        const clr_rdoc *d = &cmp.docs[i];
        char *sec = doc_section(html, i);
        size_t n = charted_shapes(d);
        ck_assert_uint_eq(count(sec, "<figure class='thr'>"), n);
        ck_assert_uint_eq(count(sec, "<figure class='ovh'>"), n);
        for (size_t c = 0; c < d->ncases; ++c) {
            char label[512];
            snprintf(label, sizeof label, "aria-label='overhead (\xC3\x97 the fastest) at %s'", d->cases[c].shape);
            ck_assert_msg(strstr(sec, label) != NULL, "#%zu: no overhead chart at %s", i, d->cases[c].shape);
        }
        /* GFLOP/s for matmul and attention, GB/s with the roof for sum */
        int flops = !strcmp(d->op, "matmul") || !strcmp(d->op, "attention");
        ck_assert_uint_eq(count(sec, "throughput (GFLOP/s)"), flops ? 2 * n : 0);
        ck_assert_uint_eq(count(sec, "throughput (GB/s)"), flops ? 0 : 2 * n);
        ck_assert_int_eq(strstr(sec, "class='roof'") != NULL, !flops);
        ck_assert_int_eq(strstr(sec, "<figure class='kv'>") != NULL, !strcmp(d->op, "attention"));
        free(sec);
        shapes += n;
    }
    ck_assert_uint_eq(shapes, 3 + 3 + 5 + 5 + 2);
    ck_assert_uint_eq(count(html, "<svg"), count(html, "</svg>"));
    ck_assert_uint_ge(marks_with_titles(html), 2 * 18 * 7); /* at least two points per case charted */
    ck_assert_uint_eq(count(html, "<script"), 1);
    ck_assert_ptr_null(strstr(html, "http://"));
    ck_assert_ptr_null(strstr(html, "https://"));
    ck_assert_ptr_null(strstr(html, "nan"));
    ck_assert_ptr_null(strstr(html, "inf<"));
    ck_assert_ptr_nonnull(strstr(html, "Broken claims"));
    ck_assert_ptr_nonnull(strstr(html, "<section id='summary'>"));
    ck_assert_ptr_nonnull(strstr(html, "<nav id='contents'>"));
    ck_assert_ptr_nonnull(strstr(html, "<section id='agreement'>"));
    /* The summary comes first, then the contents, and every document has a link there. */
    ck_assert(strstr(html, "<section id='summary'>") < strstr(html, "<nav id='contents'>"));
    ck_assert(strstr(html, "<nav id='contents'>") < strstr(html, "<section id='doc-"));
    for (size_t i = 0; i < cmp.ndocs; ++i) {
        char link[48];
        snprintf(link, sizeof link, "href='#doc-%zu'", i);
        ck_assert_uint_ge(count(html, link), 2); /* contents and documents */
    }
    free(html);
    clr_compare_free(&cmp);
}
END_TEST

START_TEST(fuzz_regressions_and_corpus)
{
    const char *dirs[] = {CLREPRO_SOURCE_DIR "/test/fuzz-regressions", CLREPRO_SOURCE_DIR "/fuzz/corpus"};
    size_t files = 0;
    for (size_t k = 0; k < 2; ++k) {
        DIR *dir = opendir(dirs[k]);
        ck_assert_ptr_nonnull(dir);
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.')
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dirs[k], e->d_name);
            clr_rdoc doc;
            clr_error err = {0};
            int rc = clr_results_load(path, &doc, &err);
            ck_assert(rc == CLR_OK || rc == CLR_EUSAGE);
            if (rc == CLR_OK)
                clr_rdoc_free(&doc);
            else
                ck_assert(err.msg[0] != '\0');
            files++;
        }
        closedir(dir);
    }
    ck_assert_uint_ge(files, 2);
}
END_TEST

/* ---- hostile documents through every output ---- */

static char *read_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    fputs(text, f);
    fclose(f);
}

/* A fresh directory under the suite's temporary root; removed by remove_tree (and with the
 * root, by clr_run_suite, when a test fails first). */
static char *temp_dir(void)
{
    char *dir = malloc(300);
    test_mkdtemp(dir, 300, "cmp");
    return dir;
}

static void remove_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The hostile documents, copied to files whose names are hostile too; the third is the first
 * again (same device, driver and run: labelled by its file name). */
static size_t hostile_paths(const char *dir, char *paths[3])
{
    const char *names[3] = {"a<svg onload=alert(1)>'x|=y.json", "b\"<i>b<\\i>.json", "a2 <b>'c'<\\b>.json"};
    const char *sources[3] = {"hostile-a.json", "hostile-b.json", "hostile-a.json"};
    for (int i = 0; i < 3; ++i) {
        char src[1024];
        snprintf(src, sizeof src, "%s/fuzz/corpus/%s", CLREPRO_SOURCE_DIR, sources[i]);
        char *text = read_whole(src);
        paths[i] = malloc(strlen(dir) + strlen(names[i]) + 2);
        sprintf(paths[i], "%s/%s", dir, names[i]);
        write_file(paths[i], text);
        free(text);
    }
    return 3;
}

static int allowed(const char *word, size_t len, const char *const *list)
{
    for (; *list; ++list)
        if (strlen(*list) == len && !strncasecmp(*list, word, len))
            return 1;
    return 0;
}

/* The report's own style and script (report_html.c; declared here until compare.h carries them). */

/* An id or a link the report made: [a-z][a-z0-9-]* (after '#' for a link). */
static int report_made_id(const char *v, size_t len, int link)
{
    if (link) {
        if (!len || *v != '#')
            return 0;
        ++v, --len;
    }
    if (!len || !islower((unsigned char)*v))
        return 0;
    for (size_t i = 1; i < len; ++i)
        if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) && v[i] != '-')
            return 0;
    return 1;
}

/* Parses the report as the browser's tokenizer would see its tags: every tag must be one the
 * report writes, with attributes the report writes, each value quoted and free of '<'; ids and
 * links of the report's own making; <style> and <script> exactly the report's own text
 * (clr_report_style, clr_report_script), the script once. A document string that escaped its
 * context shows up as an unknown tag (<script>, <img>), an unknown attribute (onload=,
 * onmouseover=), a broken quote or a foreign id. Returns "" or what was wrong. */
static const char *html_injection(const char *html, char *why, size_t size)
{
    static const char *const tags[] = {"html", "head", "meta", "title", "style", "script", "body", "h1", "h2", "h3",
                                       "p", "nav", "section", "details", "summary", "div", "span", "small", "a",
                                       "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "b", "code", "figure",
                                       "svg", "text", "line", "rect", "circle", "path", "polyline", NULL};
    static const char *const attrs[] = {"lang", "charset", "http-equiv", "content", "class", "id", "href", "title",
                                        "colspan", "rowspan", "data-v", "viewBox", "width", "height", "role",
                                        "aria-label", "x", "y", "x1", "y1", "x2", "y2", "r", "cx", "cy", "d", "fill",
                                        "stroke", "stroke-width", "stroke-dasharray", "points", "transform",
                                        "text-anchor", NULL};
    size_t scripts = 0;
    why[0] = '\0';
    for (const char *p = html; (p = strchr(p, '<')) != NULL;) {
        ++p;
        if (*p == '!') { /* <!DOCTYPE html> */
            p = strchr(p, '>');
            if (!p)
                return snprintf(why, size, "unterminated <!"), why;
            continue;
        }
        int closing = *p == '/';
        p += closing;
        const char *name = p;
        while (isalnum((unsigned char)*p))
            ++p;
        size_t name_len = (size_t)(p - name);
        if (!allowed(name, name_len, tags))
            return snprintf(why, size, "tag <%.*s> at offset %zu", 12, name, (size_t)(name - html)), why;
        for (;;) {
            while (*p == ' ' || *p == '\n')
                ++p;
            if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                break;
            if (closing)
                return snprintf(why, size, "attribute in a closing tag at offset %zu", (size_t)(p - html)), why;
            const char *attr = p;
            while (*p && *p != '=' && *p != '>' && *p != ' ' && *p != '/')
                ++p;
            size_t attr_len = (size_t)(p - attr);
            if (!allowed(attr, attr_len, attrs) || *p != '=' || (p[1] != '\'' && p[1] != '"'))
                return snprintf(why, size, "attribute '%.20s' at offset %zu", attr, (size_t)(attr - html)), why;
            char quote = p[1];
            const char *end = strchr(p + 2, quote);
            if (!end || memchr(p + 2, '<', (size_t)(end - p - 2)))
                return snprintf(why, size, "attribute '%.20s' value at offset %zu", attr, (size_t)(attr - html)), why;
            int link = attr_len == 4 && !strncmp(attr, "href", 4);
            if ((link || (attr_len == 2 && !strncmp(attr, "id", 2))) && !report_made_id(p + 2, (size_t)(end - p - 2), link))
                return snprintf(why, size, "%s '%.*s' not made by the report at offset %zu", link ? "link" : "id",
                                (int)(end - p - 2 < 40 ? end - p - 2 : 40), p + 2, (size_t)(attr - html)), why;
            p = end + 1;
        }
        if (closing)
            continue;
        /* <style> and <script> hold exactly the report's own text, then their end tag */
        const char *own = name_len == 5 && !strncasecmp(name, "style", 5)    ? clr_report_style
                          : name_len == 6 && !strncasecmp(name, "script", 6) ? clr_report_script
                                                                              : NULL;
        if (!own)
            continue;
        if (own == clr_report_script && scripts++)
            return snprintf(why, size, "a second <script> at offset %zu", (size_t)(name - html)), why;
        if (*p != '>' || strncmp(p + 1, own, strlen(own)) ||
            strncmp(p + 1 + strlen(own), own == clr_report_style ? "</style>" : "</script>", own == clr_report_style ? 8 : 9))
            return snprintf(why, size, "<%.*s> at offset %zu holds other text than the report's own", (int)name_len,
                            name, (size_t)(name - html)), why;
        p += 1 + strlen(own);
    }
    return why;
}

/* Unescaped '|' in a Markdown table row (one after an even run of backslashes). */
static size_t md_pipes(const char *line, size_t len)
{
    size_t pipes = 0, backslashes = 0;
    for (size_t i = 0; i < len; ++i) {
        if (line[i] == '|' && backslashes % 2 == 0)
            pipes++;
        backslashes = line[i] == '\\' ? backslashes + 1 : 0;
    }
    return pipes;
}

/* Every table (a run of lines starting with '|') has the same number of cells in every row;
 * returns the number of rows in the table whose header starts with `header` (0 if none). */
static size_t md_check_tables(const char *md, const char *header)
{
    size_t want = 0, rows = 0, found_rows = 0;
    int in_found = 0;
    for (const char *line = md; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && line[0] == '|') {
            size_t pipes = md_pipes(line, len);
            if (!rows) {
                want = pipes;
                in_found = !strncmp(line, header, strlen(header));
            }
            ck_assert_msg(pipes == want, "Markdown row has %zu cells, its header %zu: %.*s", pipes - 1, want - 1,
                          (int)len, line);
            rows++;
            if (in_found)
                found_rows = rows - 2; /* less the header and the delimiter row */
        } else {
            rows = 0;
        }
        line = nl ? nl + 1 : line + len;
    }
    return found_rows;
}

/* RFC 4180: returns the records, each a NULL-terminated array of fields. */
static char ***csv_parse(const char *text, size_t *nrecords)
{
    char ***records = NULL;
    size_t n = 0;
    const char *p = text;
    while (*p) {
        char **fields = NULL;
        size_t nf = 0;
        for (;;) {
            size_t cap = strlen(p) + 1, len = 0;
            char *field = malloc(cap);
            if (*p == '"') {
                for (++p;; ++p) {
                    ck_assert_msg(*p, "unterminated quoted CSV field");
                    if (*p == '"' && p[1] == '"')
                        field[len++] = *p++;
                    else if (*p == '"')
                        break;
                    else
                        field[len++] = *p;
                }
                ++p;
                ck_assert_msg(*p == ',' || *p == '\n' || !*p, "text after a closing quote: %.30s", p);
            } else {
                while (*p && *p != ',' && *p != '\n') {
                    ck_assert_msg(*p != '"', "quote inside an unquoted CSV field: %.30s", p);
                    field[len++] = *p++;
                }
            }
            field[len] = '\0';
            fields = realloc(fields, (nf + 2) * sizeof *fields);
            fields[nf++] = field;
            fields[nf] = NULL;
            if (*p == ',') {
                ++p;
                continue;
            }
            if (*p == '\n')
                ++p;
            break;
        }
        records = realloc(records, (n + 1) * sizeof *records);
        records[n++] = fields;
    }
    *nrecords = n;
    return records;
}

static void csv_free(char ***records, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        for (char **f = records[i]; *f; ++f)
            free(*f);
        free(records[i]);
    }
    free(records);
}

static size_t nfields(char **record)
{
    size_t n = 0;
    while (record[n])
        n++;
    return n;
}

START_TEST(hostile_documents_every_output)
{
    char *dir = temp_dir(), *paths[3];
    size_t n = hostile_paths(dir, paths);
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, n, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.nmatches, 4); /* two strategies at two batches; the skipped case is not matched */
    ck_assert_uint_eq(cmp.ndevice_claims, 1);
    char *html = clr_report_html(&cmp, &err), *md = clr_compare_markdown(&cmp, &err);
    char *csv = clr_compare_csv(&cmp, &err), *json = clr_compare_json(&cmp, &err);
    ck_assert_msg(html && md && csv && json, "%s", err.msg);

    /* HTML: no tag or attribute the report does not write, and the payloads are there, as text. */
    char why[256];
    ck_assert_msg(!*html_injection(html, why, sizeof why), "report.html: %s", why);
    ck_assert_uint_eq(count(html, "<script"), 1); /* the report's own, checked above */
    ck_assert_ptr_null(strstr(html, "' onload"));
    ck_assert_ptr_null(strstr(html, "<svg onload"));
    const char *shown[] = {"&lt;svg onload=title=&#39;PWNED-op&#39;&gt;",                       /* config.op */
                           "&lt;svg onload=title=&#39;PWNED-st&#39;&gt;",                       /* started_utc */
                           "&lt;svg onload=title=&#39;PWNED-cl&#39;&gt;",                       /* a claim */
                           "x&#39; onload=&#39;title=`PWNED-shape`//&quot;a,b&quot;&quot;c", /* a shape value */
                           "PWNED-device", "PWNED-device-b", "PWNED-strategy", "PWNED-run", "PWNED-evidence",
                           "PWNED-cmd", "PWNED-batch", "a&lt;svg onload=alert(1)&gt;&#39;x|=y.json"};
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; ++i)
        ck_assert_msg(strstr(html, shown[i]) != NULL, "report.html lacks %s", shown[i]);
    ck_assert_ptr_nonnull(strstr(html, "<title>clrepro report</title>"));

    /* Markdown: every row of every table has its header's cells; no markup survives. */
    ck_assert_uint_eq(md_check_tables(md, "| run | strategy | shape |"), cmp.nmatches);
    ck_assert_uint_eq(md_check_tables(md, "| # | device"), 3);
    ck_assert_ptr_null(strstr(md, "<script"));
    ck_assert_ptr_null(strstr(md, "<b>"));
    ck_assert_ptr_null(strstr(md, "\n# heading"));
    ck_assert_ptr_nonnull(strstr(md, "&lt;script&gt;"));

    /* CSV: as many fields in every record as in the header; names whole; no formula. */
    size_t nrec;
    char ***rec = csv_parse(csv, &nrec);
    ck_assert_uint_eq(nrec, 1 + cmp.nmatches);
    for (size_t r = 0; r < nrec; ++r) {
        ck_assert_uint_eq(nfields(rec[r]), nfields(rec[0]));
        for (char **f = rec[r]; *f; ++f)
            ck_assert_msg(!**f || !strchr("=+-@\t\r", **f), "CSV field starts a formula: %s", *f);
    }
    ck_assert_uint_eq(nfields(rec[0]), 11 + 2 * 3);
    char want[512];
    snprintf(want, sizeof want, "'%s", cmp.docs[0].name);
    ck_assert_str_eq(rec[1][0], want);
    ck_assert_str_eq(rec[1][2], cmp.matches[0].cases[0]->shape);
    csv_free(rec, nrec);

    /* JSON: every case, every string whole. */
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    ck_assert_msg(root != NULL, "compare.json: %s", jerr.text);
    ck_assert_uint_eq(json_array_size(json_object_get(root, "cases")), cmp.nmatches);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(root, "cases"), 0), "run")),
                     cmp.docs[0].name);
    json_decref(root);
    free(html);
    free(md);
    free(csv);
    free(json);
    clr_compare_free(&cmp);
    for (size_t i = 0; i < n; ++i)
        free(paths[i]);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* ---- the report: summary, charts, scales, titles, tables ---- */

/* The report of hand-made documents, each (device, cases) on a device of its own. */
static char *report_of(const char *const *devices, hand_case *const *cases, hand_extra *const *extras,
                       const size_t *ncases, size_t ndocs, clr_comparison *cmp)
{
    char *paths[8];
    ck_assert_uint_le(ndocs, 8);
    for (size_t i = 0; i < ndocs; ++i) {
        char *doc = document_x(devices[i], "1.0", cases[i], extras ? extras[i] : NULL, ncases[i], 1);
        paths[i] = write_temp(doc);
        free(doc);
    }
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, ndocs, cmp, &err) == 0, "%s", err.msg);
    char *html = clr_report_html(cmp, &err);
    ck_assert_msg(html != NULL, "%s", err.msg);
    char why[256];
    ck_assert_msg(!*html_injection(html, why, sizeof why), "report.html: %s", why);
    for (size_t i = 0; i < ndocs; ++i) {
        unlink(paths[i]);
        free(paths[i]);
    }
    return html;
}

/* The text between the first `from` and the next `to` after it. */
static char *between(const char *html, const char *from, const char *to)
{
    const char *a = strstr(html, from);
    ck_assert_msg(a != NULL, "no %s", from);
    const char *b = strstr(a + strlen(from), to);
    ck_assert_msg(b != NULL, "no %s after %s", to, from);
    char *out = malloc((size_t)(b - a) + 1);
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    return out;
}

/* The summary matrix, per device: broken where a document broke the claim, held where it held,
 * and the overhead range over the cases. */
START_TEST(report_summary_verdicts)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3},
                     {"split", 1, "aaaaaaaaaaaaaaaa", "40000000", 2e-3},
                     {"split", 2, "bbbbbbbbbbbbbbbb", "40000000", 2e-3}};
    hand_extra x[] = {[1] = {.overhead = 2.5}, [2] = {.overhead = 1.25}};
    const char *devices[] = {"GPU A", "GPU B"};
    hand_case *cases[] = {a, a};
    hand_extra *extras[] = {x, x};
    size_t n[] = {3, 3};
    claim_split_broken = 1;
    char *doc_a = document_x("GPU A", "1.0", a, x, 3, 1), *path_a = write_temp(doc_a);
    claim_split_broken = 0;
    char *doc_b = document_x("GPU B", "1.0", a, x, 3, 1), *path_b = write_temp(doc_b);
    char *paths[] = {path_a, path_b};
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
    char *html = clr_report_html(&cmp, &err), why[256];
    ck_assert_msg(html && !*html_injection(html, why, sizeof why), "%s", html ? why : err.msg);
    char *summary = between(html, "<section id='summary'>", "</section>");
    ck_assert_ptr_nonnull(strstr(summary, ">D1 GPU A<"));
    ck_assert_ptr_nonnull(strstr(summary, ">D2 GPU B<"));
    /* split's row: D1 deterministic broken, D2 held; overhead 1.25-2.5x on both */
    char *row = between(summary, "<td class='l'>split</td>", "</tr>");
    const char *d1 = strstr(row, "<td class='gap'></td><td class='broken'");
    ck_assert_msg(d1 != NULL, "%s", row);
    ck_assert_ptr_nonnull(strstr(d1, "deterministic: claimed, and broken in 1 of 1 documents"));
    const char *d2 = strstr(d1 + 1, "<td class='gap'></td><td class='held'");
    ck_assert_msg(d2 != NULL, "%s", row);
    ck_assert_ptr_nonnull(strstr(d2, "deterministic: claimed, held in 1 of 1 documents"));
    ck_assert_uint_eq(count(row, "1.25\xE2\x80\x93" "2.50\xC3\x97"), 2);
    ck_assert_uint_eq(count(row, "class='broken'"), 1);
    /* tree claims nothing: no verdict but "not claimed" */
    char *tree = between(summary, "<td class='l'>tree</td>", "</tr>");
    ck_assert_ptr_null(strstr(tree, "class='broken'"));
    ck_assert_ptr_null(strstr(tree, "class='held'"));
    ck_assert_ptr_nonnull(strstr(tree, "1.00\xC3\x97"));
    ck_assert_ptr_nonnull(strstr(html, "</b> claims deterministic in <a href='#doc-0'>sum</a> on GPU A"));
    ck_assert_ptr_nonnull(strstr(summary, "<p class='alarm'><a href='#broken'>1 claim broken</a>"));
    free(tree);
    free(row);
    free(summary);
    free(html);
    clr_compare_free(&cmp);
    /* both held: no broken cell anywhere */
    html = report_of(devices, cases, extras, n, 2, &cmp);
    summary = between(html, "<section id='summary'>", "</section>");
    ck_assert_ptr_null(strstr(summary, "<td class='broken'"));
    ck_assert_uint_eq(count(summary, "<td class='held' title='deterministic: claimed, held"), 2);
    free(summary);
    free(html);
    clr_compare_free(&cmp);
    for (int i = 0; i < 2; ++i) {
        unlink(paths[i]);
        free(paths[i]);
    }
    free(doc_a);
    free(doc_b);
}
END_TEST

/* Every shape of a document gets a throughput and an overhead chart, and a heatmap row per
 * strategy; every mark carries its value, strategy, shape and batch. */
START_TEST(report_every_shape_charted)
{
    hand_case a[12];
    hand_extra x[12];
    const int ns[] = {64, 128, 256};
    size_t k = 0;
    for (int s = 0; s < 3; ++s)
        for (int b = 1; b <= 2; ++b) {
            x[k] = (hand_extra){.n = ns[s]};
            a[k++] = (hand_case){"tree", b, "1111111111111111", "3f800000", 1e-3};
            x[k] = (hand_extra){.n = ns[s], .overhead = 2};
            a[k++] = (hand_case){"split", b, "2222222222222222", "3f800000", 2e-3};
        }
    const char *devices[] = {"GPU A"};
    hand_case *cases[] = {a};
    hand_extra *extras[] = {x};
    size_t n[] = {12};
    clr_comparison cmp;
    char *html = report_of(devices, cases, extras, n, 1, &cmp);
    ck_assert_uint_eq(count(html, "<figure class='thr'>"), 3);
    ck_assert_uint_eq(count(html, "<figure class='ovh'>"), 3);
    for (int s = 0; s < 3; ++s) {
        char want[256];
        snprintf(want, sizeof want, "aria-label='throughput (GB/s) at n=%d dtype=fp32'", ns[s]);
        ck_assert_msg(strstr(html, want) != NULL, "no %s", want);
        snprintf(want, sizeof want, "aria-label='overhead (\xC3\x97 the fastest) at n=%d dtype=fp32'", ns[s]);
        ck_assert_msg(strstr(html, want) != NULL, "no %s", want);
        /* a point: value, strategy, shape, batch */
        snprintf(want, sizeof want, "<title>split: 2 \xC3\x97 the fastest; n=%d dtype=fp32; B 2</title>", ns[s]);
        ck_assert_msg(strstr(html, want) != NULL, "no %s", want);
        snprintf(want, sizeof want, "<title>tree: 1 GB/s; n=%d dtype=fp32; B 1</title>", ns[s]);
        ck_assert_msg(strstr(html, want) != NULL, "no %s", want);
        /* a heatmap cell */
        snprintf(want, sizeof want, "<title>split; n=%d dtype=fp32; B 2: bit-identical", ns[s]);
        ck_assert_msg(strstr(html, want) != NULL, "no %s", want);
    }
    /* marks: 12 cases x (throughput, overhead, heatmap cell), 2 x 3 roof points, 2 bars */
    ck_assert_uint_eq(marks_with_titles(html), 12 * 3 + 6 + 2);
    free(html);
    clr_compare_free(&cmp);
}
END_TEST

/* The y ticks (value, position) of the first chart of a class. */
static size_t y_ticks(const char *html, const char *figure, char labels[][16], double *ys, size_t max)
{
    char *fig = between(html, figure, "</figure>");
    size_t n = 0;
    for (const char *p = strstr(fig, "<text x='"); p && n < max; p = strstr(p + 1, "<text x='")) {
        double y;
        char label[16];
        if (sscanf(p, "<text x='%*[^']' y='%lf' class='tick' text-anchor='end'>%15[^<]", &y, label) == 2) {
            ys[n] = y;
            strcpy(labels[n++], label);
        }
    }
    free(fig);
    return n;
}

/* Overhead on a log axis with round ticks: 1, 10, 100, 1000 evenly spaced; a small range gets
 * 1-2-5 or round linear steps, never values such as 1.37. */
START_TEST(report_overhead_axis_logarithmic)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3},
                     {"tree", 2, "1111111111111111", "3f800000", 1e-3},
                     {"split", 1, "2222222222222222", "3f800000", 1},
                     {"split", 2, "2222222222222222", "3f800000", 1}};
    hand_extra x[] = {[2] = {.overhead = 1000}, [3] = {.overhead = 700}};
    const char *devices[] = {"GPU A"};
    hand_case *cases[] = {a};
    hand_extra *extras[] = {x};
    size_t n[] = {4};
    clr_comparison cmp;
    char *html = report_of(devices, cases, extras, n, 1, &cmp);
    char labels[32][16];
    double ys[32];
    size_t nt = y_ticks(html, "<figure class='ovh'>", labels, ys, 32);
    ck_assert_msg(nt == 4, "%zu ticks: %s %s %s", nt, labels[0], labels[1], labels[2]);
    const char *want[] = {"1", "10", "100", "1000"};
    for (size_t i = 0; i < nt; ++i) {
        ck_assert_str_eq(labels[i], want[i]);
        if (i > 1)
            ck_assert_msg(fabs((ys[i] - ys[i - 1]) - (ys[1] - ys[0])) < 0.2, "ticks not evenly spaced: %g %g %g", ys[0],
                          ys[1], ys[i]);
    }
    ck_assert(ys[1] < ys[0]); /* up the page */
    free(html);
    clr_compare_free(&cmp);
    /* 1 to 1.3: round steps */
    x[2].overhead = 1.3;
    x[3].overhead = 1.1;
    html = report_of(devices, cases, extras, n, 1, &cmp);
    nt = y_ticks(html, "<figure class='ovh'>", labels, ys, 32);
    const char *small[] = {"1", "1.1", "1.2", "1.3"};
    ck_assert_uint_eq(nt, 4);
    for (size_t i = 0; i < nt; ++i)
        ck_assert_str_eq(labels[i], small[i]);
    free(html);
    clr_compare_free(&cmp);
}
END_TEST

/* The fill of the heatmap cell whose title starts with `title`, within text. */
static void cell_fill(const char *text, const char *title, char fill[16])
{
    const char *at = strstr(text, title);
    ck_assert_msg(at != NULL, "no cell %s", title);
    const char *rect = at;
    while (rect > text && strncmp(rect, "<rect ", 6))
        --rect;
    ck_assert(sscanf(rect, "<rect class='mk' %*[^>]fill='%15[^']'", fill) == 1 ||
              sscanf(strstr(rect, "fill='"), "fill='%15[^']'", fill) == 1);
}

/* One ulp colour scale for every heatmap: the same ulp, the same colour, whatever else each
 * document holds. */
START_TEST(report_ulp_scale_shared)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3},
                     {"tree", 2, "1111111111111112", "3f800000", 1e-3},
                     {"split", 1, "2222222222222222", "3f800000", 1e-3},
                     {"split", 2, "2222222222222223", "3f800000", 1e-3}};
    hand_case b[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3},
                     {"tree", 2, "1111111111111112", "3f800000", 1e-3},
                     {"split", 1, "2222222222222222", "3f800000", 1e-3},
                     {"split", 2, "2222222222222224", "3f800000", 1e-3}};
    hand_extra xa[] = {[1] = {.ulp = 5}, [3] = {.ulp = 100000}}, xb[] = {[1] = {.ulp = 5}, [3] = {.ulp = 3}};
    const char *devices[] = {"GPU A", "GPU B"};
    hand_case *cases[] = {a, b};
    hand_extra *extras[] = {xa, xb};
    size_t n[] = {4, 4};
    clr_comparison cmp;
    char *html = report_of(devices, cases, extras, n, 2, &cmp);
    char *sa = doc_section(html, 0), *sb = doc_section(html, 1);
    char fa[16], fb[16], fbig[16], fsmall[16], fzero[16];
    cell_fill(sa, "<title>tree; n=64 dtype=fp32; B 2: 5 ulp", fa);
    cell_fill(sb, "<title>tree; n=64 dtype=fp32; B 2: 5 ulp", fb);
    cell_fill(sa, "<title>split; n=64 dtype=fp32; B 2: 100000 ulp", fbig);
    cell_fill(sb, "<title>split; n=64 dtype=fp32; B 2: 3 ulp", fsmall);
    cell_fill(sa, "<title>tree; n=64 dtype=fp32; B 1: bit-identical", fzero);
    ck_assert_str_eq(fa, fb);
    ck_assert_str_eq(fa, fsmall); /* 3 and 5: one decade */
    ck_assert_str_ne(fa, fbig);
    ck_assert_str_ne(fa, fzero);
    free(sa);
    free(sb);
    free(html);
    clr_compare_free(&cmp);
}
END_TEST

/* Accuracy in u where the document gives it, else in ulp; matmul's throughput in GFLOP/s. */
START_TEST(report_accuracy_units_and_gflops)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}, {"split", 1, "2222222222222222", "3f800000", 1e-3}};
    hand_extra x[] = {[0] = {.scaled_u = 0.25}, [1] = {0}};
    const char *devices[] = {"GPU A"};
    hand_case *cases[] = {a};
    hand_extra *extras[] = {x};
    size_t n[] = {2};
    clr_comparison cmp;
    doc_op = "matmul";
    char *html = report_of(devices, cases, extras, n, 1, &cmp);
    doc_op = "sum";
    ck_assert_ptr_nonnull(strstr(html, "<td data-v='0.25'>0.25 u</td>"));
    ck_assert_ptr_nonnull(strstr(html, "<td data-v='1'>1 ulp</td>"));
    ck_assert_ptr_nonnull(strstr(html, "aria-label='throughput (GFLOP/s) at n=64 dtype=fp32'"));
    ck_assert_ptr_nonnull(strstr(html, "<title>tree: 0.5 GFLOP/s; n=64 dtype=fp32; B 1</title>"));
    ck_assert_ptr_null(strstr(html, "class='roof'")); /* the roof is in GB/s: not on a GFLOP/s chart */
    free(html);
    clr_compare_free(&cmp);
}
END_TEST

/* Sortable tables: a header row in <thead>, and every data-v a whole number the script can read. */
START_TEST(report_tables_sortable)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}, {"split", 2, "2222222222222222", "3f800000", 2e-3}};
    const char *devices[] = {"GPU A", "GPU B"};
    hand_case *cases[] = {a, a};
    size_t n[] = {2, 2};
    clr_comparison cmp;
    char *html = report_of(devices, cases, NULL, n, 2, &cmp);
    ck_assert_uint_ge(count(html, "<table class='sortable'><thead><tr>"), 3); /* documents, cases x 2 */
    ck_assert_uint_eq(count(html, "<table class='sortable'>"), count(html, "<table class='sortable'><thead><tr>"));
    size_t values = 0;
    for (const char *p = strstr(html, "data-v='"); p; p = strstr(p + 1, "data-v='")) {
        char *end;
        double v = strtod(p + 8, &end);
        ck_assert_msg(*end == '\'' && end > p + 8 && isfinite(v), "data-v not a number: %.40s", p);
        values++;
    }
    ck_assert_uint_gt(values, 10);
    free(html);
    clr_compare_free(&cmp);
}
END_TEST

/* The checker itself: it accepts the report's own script and style only, once, and ids and
 * links of the report's making. */
START_TEST(report_checker_rejects_foreign_markup)
{
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}};
    const char *devices[] = {"GPU A"};
    hand_case *cases[] = {a};
    size_t n[] = {1};
    clr_comparison cmp;
    char *html = report_of(devices, cases, NULL, n, 1, &cmp), why[256];
    struct {
        const char *from, *to, *expect;
    } edits[] = {
        {"</body>", "<script>document.title='x'</script></body>", "a second <script>"},
        {"<script>(function(){", "<script>alert(1);(function(){", "holds other text"},
        {"<style>body{", "<style>x{}body{", "holds other text"},
        {"<section id='summary'>", "<section id='Summary x'>", "not made by the report"},
        {"href='#summary'", "href='javascript:alert(1)'", "not made by the report"},
        {"<h1>", "<h1 onclick='x'>", "attribute 'onclick"},
        {"<h1>", "<img src=x>", "tag <img"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; ++i) {
        const char *at = strstr(html, edits[i].from);
        ck_assert_msg(at != NULL, "no %s", edits[i].from);
        size_t pre = (size_t)(at - html);
        char *bad = malloc(strlen(html) + strlen(edits[i].to) + 1);
        sprintf(bad, "%.*s%s%s", (int)pre, html, edits[i].to, at + strlen(edits[i].from));
        const char *msg = html_injection(bad, why, sizeof why);
        ck_assert_msg(strstr(msg, edits[i].expect) != NULL, "edit %zu: '%s', wanted '%s'", i, msg, edits[i].expect);
        free(bad);
    }
    free(html);
    clr_compare_free(&cmp);
}
END_TEST

/* The terminal summary shows a skipped case's reason, which names the device (a driver's
 * string), inert: no escape sequence or line break of it reaches the terminal. */
START_TEST(hostile_skip_reason_in_summary)
{
    clr_shape shape = {.batch = 1, .dims = {64}};
    size_t batches[] = {1};
    clr_case c = {.strategy = 0, .shape = {.batch = 1, .dims = {64}}, .skipped = 1};
    snprintf(c.skip_reason, sizeof c.skip_reason, "does not fit \x1b[2JGPU\nBROKEN CLAIM: forged: needs 1 GiB");
    clr_run_config cfg = {.op = &clr_op_sum, .shapes = &shape, .nshapes = 1, .batches = batches, .nbatches = 1,
                          .trials = 2, .reps = 1};
    clr_device_result res = {.cases = &c, .ncases = 1};
    snprintf(res.device.name, sizeof res.device.name, "GPU");
    size_t len;
    char *text = test_summary_text(&cfg, &res, &len);
    ck_assert_msg(memchr(text, 0x1b, len) == NULL, "an escape byte reached the terminal:\n%s", text);
    ck_assert_msg(strstr(text, "\nBROKEN CLAIM: forged") == NULL, "a forged line:\n%s", text);
    ck_assert_msg(strstr(text, "\\x1b[2JGPU\\nBROKEN") != NULL, "the reason, escaped, is missing:\n%s", text);
    free(text);
}
END_TEST

/* The per-run writers (sum.md, sum.csv) with a hostile device, --input path and command line. */
START_TEST(hostile_strings_in_run_outputs)
{
    clr_shape shape = {.batch = 1, .dims = {64}};
    size_t batches[] = {1};
    clr_case c = {.strategy = 0, .shape = {.batch = 1, .dims = {64}}, .valid = 1, .r2r_distinct = 1};
    clr_claim_result claim = {.strategy = 0, .claim = 1, .claimed = 1, .status = CLR_CLAIM_VIOLATED};
    snprintf(claim.evidence, sizeof claim.evidence, "| x | <script>e</script>\n# evidence");
    clr_run_config cfg = {.op = &clr_op_sum, .shapes = &shape, .nshapes = 1, .batches = batches, .nbatches = 1,
                          .trials = 2, .reps = 1};
    cfg.input.from_file = 1;
    snprintf(cfg.input.path, sizeof cfg.input.path, "in|`put`<script>x</script>\n# heading.npy");
    cfg.command_line = "clrepro run --input 'in|`put`<script>x</script>\n# heading.npy' ``` | a |\n- item";
    clr_device_result res = {.cases = &c, .ncases = 1, .claims = &claim, .nclaims = 1};
    snprintf(res.device.name, sizeof res.device.name, "=GPU|<script>d</script>\n| a | b |");
    snprintf(res.device.vendor, sizeof res.device.vendor, "V*_[x](javascript:alert(1))_*");
    snprintf(res.device.platform_name, sizeof res.device.platform_name, "+P\"la,t\"");
    snprintf(res.device.driver_version, sizeof res.device.driver_version, "@1.0,\"x\"\r\n");
    char *md = clr_results_markdown(&cfg, &res), *csv = clr_results_csv(&cfg, &res);
    ck_assert(md && csv);
    md_check_tables(md, "|");
    /* Outside code spans nothing renders as markup; the command and the path are code spans on one line. */
    ck_assert_ptr_null(strstr(md, "\n# heading"));
    ck_assert_ptr_null(strstr(md, "\n# evidence"));
    ck_assert_ptr_null(strstr(md, "\n| a | b |"));
    ck_assert_ptr_null(strstr(md, "\n- item"));
    ck_assert_ptr_null(strstr(md, "<script>d"));
    ck_assert_ptr_null(strstr(md, "<script>e"));
    ck_assert_ptr_null(strstr(md, "[x](javascript"));
    ck_assert_msg(strstr(md, "- Command: ````clrepro run --input 'in|`put`<script>x</script> # heading.npy' "
                             "``` | a | - item````\n") != NULL, "%s", md);
    ck_assert_msg(strstr(md, "- Input: ``in|`put`<script>x</script> # heading.npy`` (0 x 0 float32)\n") != NULL, "%s",
                  md);
    size_t nrec;
    char ***rec = csv_parse(csv, &nrec);
    ck_assert_uint_eq(nrec, 2);
    ck_assert_uint_eq(nfields(rec[1]), nfields(rec[0]));
    ck_assert_str_eq(rec[1][0], "sum"); /* the run's name, then the device's strings */
    ck_assert_str_eq(rec[1][1], "'=GPU|<script>d</script>\n| a | b |");
    ck_assert_str_eq(rec[1][2], "'+P\"la,t\"");
    ck_assert_str_eq(rec[1][3], "'@1.0,\"x\"\r\n");
    csv_free(rec, nrec);
    free(md);
    free(csv);
}
END_TEST

/* ---- names longer than the old buffers, in multi-byte UTF-8 ---- */

static char *repeat(const char *unit, size_t times)
{
    char *s = malloc(strlen(unit) * times + 1);
    s[0] = '\0';
    for (size_t i = 0; i < times; ++i)
        strcat(s, unit);
    return s;
}

START_TEST(long_multibyte_names_kept_whole)
{
    /* Each is longer than the fixed buffer it used to be cut into (64, 64, 256 and 96 bytes),
     * and that cut would fall inside a character. */
    char *euros = repeat("\xe2\x82\xac", 70), *strategy = malloc(strlen(euros) + 2);
    sprintf(strategy, "s%s", euros);
    free(euros);
    char *run = repeat("\xc3\xa9", 100), *device = repeat("\xf0\x9f\x98\x80", 90);
    char *shape = repeat("\xe4\xb8\xad", 80);
    char *dir = temp_dir(), *paths[2];
    for (int d = 0; d < 2; ++d) {
        json_t *doc = json_pack(
            "{s:s, s:i, s:{s:s, s:s}, s:s, s:f, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:[{s:s}], s:[],"
            " s:[{s:s, s:{s:i, s:s}, s:i, s:b, s:{s:f}, s:f, s:f, s:f, s:f, s:{s:i, s:i, s:i}, s:{s:i}, s:s,"
            " s:[s], s:[]}]}",
            "schema", "clrepro.results", "schema_version", 1, "tool", "name", "clrepro", "version", "0.1.0",
            "started_utc", "2026-01-01T00:00:00Z", "wall_seconds", 1.0, "device", "name", device, "platform",
            d ? "P2" : "P1", "driver_version", "1", "type", "GPU", "config", "op", "sum", "name", run, "batch_name",
            "B", "command", "clrepro run", "strategies", "name", strategy, "claims", "cases", "strategy", strategy,
            "shape", "n", 64, "tag", shape, "batch", 1, "valid", 1, "time_s", "median", 1e-3, "gbps", 1.0, "gflops",
            1.0, "copy_gbps", 1.0, "overhead", 1.0, "run_to_run", "trials", 2, "distinct", 1, "max_ulp", 0,
            "accuracy", "max_ulp", 0, "fingerprint", d ? "0000000000000002" : "0000000000000001", "probe_bits",
            "3f800000", "positions");
        ck_assert_ptr_nonnull(doc);
        paths[d] = malloc(strlen(dir) + 16);
        sprintf(paths[d], "%s/%d.json", dir, d);
        ck_assert_int_eq(json_dump_file(doc, paths[d], 0), 0);
        json_decref(doc);
    }
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.nmatches, 1);
    ck_assert_str_eq(cmp.matches[0].cases[0]->strategy, strategy);
    ck_assert_str_eq(cmp.docs[1].device, device);
    char *md = clr_compare_markdown(&cmp, &err), *json = clr_compare_json(&cmp, &err);
    ck_assert_msg(md && json, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(md, strategy));
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    ck_assert_msg(root != NULL, "%s", jerr.text);
    json_t *cases = json_object_get(root, "cases");
    ck_assert_uint_eq(json_array_size(cases), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cases, 0), "strategy")), strategy);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cases, 0), "run")), run);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(cases, 0), "shape")), shape));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(root, "documents"), 1),
                                                       "device")), device);
    json_decref(root);
    free(json);
    /* A string that cannot be serialised is an error, never a case left out. */
    char *saved = cmp.matches[0].cases[0]->strategy;
    ((clr_rcase *)cmp.matches[0].cases[0])->strategy = "\xe2\x82";
    clr_error err2 = {0};
    ck_assert_ptr_null(clr_compare_json(&cmp, &err2));
    ck_assert_ptr_nonnull(strstr(err2.msg, "compare.json"));
    ((clr_rcase *)cmp.matches[0].cases[0])->strategy = saved;
    free(md);
    clr_compare_free(&cmp);
    /* A file name that is not UTF-8 is shown with U+FFFD, and compare.json still holds it. */
    char *bad = malloc(strlen(dir) + 16);
    sprintf(bad, "%s/\xff\xfe.json", dir);
    ck_assert_int_eq(rename(paths[0], bad), 0);
    char *bad_paths[2] = {bad, paths[1]};
    ck_assert_msg(clr_compare_load(bad_paths, 2, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_ptr_nonnull(strstr(cmp.docs[0].path, "\xef\xbf\xbd\xef\xbf\xbd.json"));
    json = clr_compare_json(&cmp, &err);
    ck_assert_msg(json != NULL, "%s", err.msg);
    free(json);
    clr_compare_free(&cmp);
    free(bad);
    for (int d = 0; d < 2; ++d)
        free(paths[d]);
    remove_tree(dir);
    free(dir);
    free(strategy);
    free(run);
    free(device);
    free(shape);
}
END_TEST

/* ---- a large set: every key matched once, whatever the order ---- */

START_TEST(large_set_matched_correctly)
{
    const size_t n = 20000;
    char *dir = temp_dir(), *paths[2];
    for (int d = 0; d < 2; ++d) {
        size_t cap = n * 420 + 4096, len = 0;
        char *buf = malloc(cap);
        len += (size_t)snprintf(buf, cap,
            "{\"schema\": \"clrepro.results\", \"schema_version\": 1, \"tool\": {\"name\": \"clrepro\", \"version\": \"0\"},"
            "\"started_utc\": \"x\", \"wall_seconds\": 1, \"device\": {\"name\": \"D%d\", \"platform\": \"P\","
            "\"driver_version\": \"1\", \"type\": \"GPU\"}, \"config\": {\"op\": \"sum\", \"name\": \"sum\","
            "\"batch_name\": \"B\", \"command\": \"c\"}, \"strategies\": [{\"name\": \"s0\"}], \"claims\": [{\"strategy\":"
            " \"s3\", \"claim\": \"device_invariant\", \"claimed\": true, \"observed\": \"held\", \"broken\": false,"
            " \"evidence\": \"\"}], \"cases\": [", d);
        /* Document 1 lists the cases in reverse, lacks every 10th, and repeats every 7th (the first counts). */
        int first = 1;
        for (size_t k = 0; k < n; ++k) {
            size_t i = d ? n - 1 - k : k;
            if (d && i % 10 == 0)
                continue;
            for (int rep = 0; rep < (d && i % 7 == 0 ? 2 : 1); ++rep)
                len += (size_t)snprintf(buf + len, cap - len,
                    "%s{\"strategy\": \"s%zu\", \"shape\": {\"n\": %zu}, \"batch\": %zu, \"valid\": true, \"time_s\":"
                    " {\"median\": %g}, \"gbps\": 1, \"gflops\": 1, \"copy_gbps\": 1, \"overhead\": 1, \"run_to_run\":"
                    " {\"trials\": 2, \"distinct\": 1, \"max_ulp\": 0}, \"accuracy\": {\"max_ulp\": 0}, \"fingerprint\":"
                    " \"%016zx\", \"probe_bits\": [\"%08zx\"], \"positions\": []}",
                    first ? "" : ",", i % 5, i / 15, i % 3 + 1,
                    1e-3 * (1 + d + rep), i + (size_t)(d && i % 4 == 0) + (size_t)rep,
                    0x3f800000 + (size_t)(d * (i % 4 == 0) * 3 + rep)), first = 0;
        }
        snprintf(buf + len, cap - len, "]}");
        paths[d] = malloc(strlen(dir) + 16);
        sprintf(paths[d], "%s/%d.json", dir, d);
        write_file(paths[d], buf);
        free(buf);
    }
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.nmatches, n - n / 10);
    size_t differ = 0;
    for (size_t m = 0; m < cmp.nmatches; ++m) {
        const clr_match *mt = &cmp.matches[m];
        const clr_rcase *a = mt->cases[0], *b = mt->cases[1];
        ck_assert(a && b && mt->present == 2);
        ck_assert_str_eq(a->strategy, b->strategy);
        ck_assert_str_eq(a->shape, b->shape);
        ck_assert_uint_eq(a->batch, b->batch);
        ck_assert(fabs(b->median_s - 2e-3) < 1e-12); /* the first of a repeated case */
        size_t i = (size_t)strtoull(a->fingerprint, NULL, 16);
        ck_assert_uint_eq(mt->groups, i % 4 == 0 ? 2 : 1);
        ck_assert_int_eq(mt->max_ulp, i % 4 == 0 ? 3 : 0);
        differ += mt->groups == 2;
    }
    ck_assert_uint_eq(cmp.ndevice_claims, 1);
    /* s3 (i % 5 == 3) claims device invariance: no such i is missing (i % 10 == 0), and those
     * with i % 4 == 0 (i % 20 == 8) differ. */
    ck_assert_uint_eq(cmp.device_claims[0].cases, n / 5);
    ck_assert_uint_eq(cmp.device_claims[0].identical, n / 5 - n / 20);
    ck_assert_uint_eq(differ, n / 4 - n / 20); /* i % 4 == 0, less those missing (i % 20 == 0) */
    char *md = clr_compare_markdown(&cmp, &err), *json = clr_compare_json(&cmp, &err), *html = clr_report_html(&cmp, &err);
    ck_assert_msg(md && json && html, "%s", err.msg);
    ck_assert_uint_eq(md_check_tables(md, "| run | strategy | shape |"), cmp.nmatches);
    ck_assert_uint_eq(md_check_tables(md, "| run | strategy | cases |"), 5);
    free(md);
    free(json);
    free(html);
    clr_compare_free(&cmp);
    for (int d = 0; d < 2; ++d)
        free(paths[d]);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* ---- fingerprint groups past Z ---- */

START_TEST(group_names_past_z)
{
    const struct { size_t g; const char *name; } names[] = {{0, "A"}, {1, "B"}, {25, "Z"}, {26, "AA"}, {27, "AB"},
                                                           {51, "AZ"}, {52, "BA"}, {701, "ZZ"}, {702, "AAA"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        char buf[8];
        clr_group_name(names[i].g, buf);
        ck_assert_str_eq(buf, names[i].name);
    }
    /* 30 documents, each with its own bits for one case: groups A .. Z, AA .. AD, spaced. */
    enum { N = 30 };
    char *paths[N], *docs[N];
    for (int d = 0; d < N; ++d) {
        char fp[17], device[16];
        snprintf(fp, sizeof fp, "%016x", d + 1);
        snprintf(device, sizeof device, "GPU %d", d);
        hand_case c[] = {{"tree", 1, fp, "3f800000", 1e-3}};
        docs[d] = document(device, "1", c, 1, 1);
        paths[d] = write_temp(docs[d]);
    }
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, N, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.nmatches, 1);
    ck_assert_uint_eq(cmp.matches[0].groups, N);
    char *md = clr_compare_markdown(&cmp, &err);
    ck_assert_ptr_nonnull(md);
    ck_assert_ptr_nonnull(strstr(md, "`A B C D E F G H I J K L M N O P Q R S T U V W X Y Z AA AB AC AD`"));
    free(md);
    clr_compare_free(&cmp);
    for (int d = 0; d < N; ++d) {
        unlink(paths[d]);
        free(paths[d]);
        free(docs[d]);
    }
}
END_TEST

/* ---- outputs that would destroy an input or name no place ---- */

/* Runs clrepro with args (a shell fragment) in dir; its exit status; stdout and stderr in *out. */
static int clrepro_in(const char *dir, const char *args, char **out)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >clrepro.out 2>&1", dir, CLREPRO_BIN, args);
    int status = system(cmd);
    char log[4200];
    snprintf(log, sizeof log, "%s/clrepro.out", dir);
    *out = read_whole(log);
    unlink(log);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(outputs_never_overwrite_inputs)
{
    char *dir = temp_dir(), *out;
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}};
    char *doc = document("GPU", "1.0", a, 1, 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/a.json", dir);
    write_file(path, doc);
    snprintf(path, sizeof path, "%s/link.json", dir);
    ck_assert_int_eq(symlink("a.json", path), 0);
    ck_assert_int_eq(mkdir(strcat(strcpy(path, dir), "/out"), 0755), 0);
    snprintf(path, sizeof path, "%s/out/compare.json", dir);
    write_file(path, doc);

    ck_assert_int_eq(clrepro_in(dir, "report a.json -o a.json", &out), 2);
    ck_assert_msg(strstr(out, "-o a.json is the input document a.json") != NULL, "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report a.json --output ./link.json", &out), 2); /* a link to it */
    ck_assert_msg(strstr(out, "is the input document a.json") && !strstr(out, "--out "), "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report a.json -o missing/r.html", &out), 2);
    ck_assert_msg(strstr(out, "-o missing/r.html: directory missing does not exist") && !strstr(out, "--out"), "%s",
                  out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report a.json -o out", &out), 2);
    ck_assert_msg(strstr(out, "-o out is a directory") != NULL, "%s", out);
    free(out);
    /* the input, untouched */
    snprintf(path, sizeof path, "%s/a.json", dir);
    char *after = read_whole(path);
    ck_assert_str_eq(after, doc);
    free(after);

    /* compare: --out - is refused (and no directory '-' appears); --out DIR where DIR/compare.json is an input too. */
    ck_assert_int_eq(clrepro_in(dir, "compare a.json a.json --out -", &out), 2);
    ck_assert_msg(strstr(out, "--out -: compare writes three files") != NULL, "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/-", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(clrepro_in(dir, "compare out/compare.json a.json --out out", &out), 2);
    ck_assert_msg(strstr(out, "--out out/compare.json is the input document out/compare.json") != NULL, "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/out/compare.json", dir);
    after = read_whole(path);
    ck_assert_str_eq(after, doc);
    free(after);

    /* report -o - writes the page to stdout and creates nothing */
    ck_assert_int_eq(clrepro_in(dir, "report a.json -o -", &out), 0);
    ck_assert_msg(!strncmp(out, "<!DOCTYPE html>", 15) && strstr(out, "</html>"), "%.200s", out);
    free(out);
    snprintf(path, sizeof path, "%s/-", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    free(doc);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* ---- inputs: files and folders; what is not run results is skipped and said ---- */

/* A tree of results, other documents and other files:
 *   dir/a/sum.json (run results, device A)    dir/a/demo-order.json    dir/a/sum.csv
 *   dir/b/deep/sum.json (run results, B)      dir/compare/compare.json  dir/other.json ({})
 *   dir/.hidden/sum.json (results, passed over like a shell glob)      dir/empty/ */
static char *results_tree(void)
{
    char *dir = temp_dir(), path[4200];
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}};
    const char *mkdirs[] = {"a", "b", "b/deep", "compare", ".hidden", "empty"};
    for (size_t i = 0; i < sizeof mkdirs / sizeof *mkdirs; ++i) {
        snprintf(path, sizeof path, "%s/%s", dir, mkdirs[i]);
        ck_assert_int_eq(mkdir(path, 0755), 0);
    }
    struct {
        const char *name, *device;
    } docs[] = {{"a/sum.json", "GPU A"}, {"b/deep/sum.json", "GPU B"}, {".hidden/sum.json", "GPU C"}};
    for (size_t i = 0; i < 3; ++i) {
        char *doc = document(docs[i].device, "1.0", a, 1, 1);
        snprintf(path, sizeof path, "%s/%s", dir, docs[i].name);
        write_file(path, doc);
        free(doc);
    }
    struct {
        const char *name, *text;
    } others[] = {{"a/demo-order.json", "{\"schema\": \"clrepro.demo-order\", \"schema_version\": 1}"},
                  {"a/sum.csv", "strategy,batch\ntree,1\n"},
                  {"compare/compare.json", "{\"schema\": \"clrepro.compare\", \"schema_version\": 1}"},
                  {"other.json", "{\"name\": \"a package\"}"}};
    for (size_t i = 0; i < sizeof others / sizeof *others; ++i) {
        snprintf(path, sizeof path, "%s/%s", dir, others[i].name);
        write_file(path, others[i].text);
    }
    return dir;
}

static const char *skipped_why(const clr_comparison *cmp, const char *path_end)
{
    for (size_t i = 0; i < cmp->nskipped; ++i) {
        size_t n = strlen(cmp->skipped[i].path), k = strlen(path_end);
        if (n >= k && !strcmp(cmp->skipped[i].path + n - k, path_end))
            return cmp->skipped[i].why;
    }
    return NULL;
}

START_TEST(inputs_files_and_folders)
{
    char *dir = results_tree(), path[4200], path2[4200];
    clr_comparison cmp;
    clr_error err = {0};
    /* A folder: its run results in name order, the others skipped with what they are. */
    char *one[] = {dir};
    ck_assert_msg(clr_compare_load(one, 1, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.ndocs, 2);
    ck_assert_str_eq(cmp.docs[0].device, "GPU A");
    ck_assert_str_eq(cmp.docs[1].device, "GPU B");
    snprintf(path, sizeof path, "%s/b/deep/sum.json", dir);
    ck_assert_str_eq(cmp.files[1], path);
    ck_assert_uint_eq(cmp.nmatches, 1); /* the two documents' case, matched */
    ck_assert_uint_eq(cmp.nskipped, 3);
    ck_assert_ptr_nonnull(strstr(skipped_why(&cmp, "/compare/compare.json"), "a compare document"));
    ck_assert_ptr_nonnull(strstr(skipped_why(&cmp, "/a/demo-order.json"), "a demo-order document"));
    ck_assert_ptr_nonnull(strstr(skipped_why(&cmp, "/other.json"), "no schema field"));
    ck_assert_ptr_null(skipped_why(&cmp, "sum.csv"));          /* not *.json: not looked at */
    ck_assert_ptr_null(skipped_why(&cmp, ".hidden/sum.json")); /* hidden, as from a glob */
    clr_compare_free(&cmp);

    /* Files named one by one, a folder among them: a file named that is no run results is
     * skipped too, and a file met twice is read once. */
    snprintf(path, sizeof path, "%s/compare/compare.json", dir);
    snprintf(path2, sizeof path2, "%s/a/sum.json", dir);
    char csv[4200], b[4200];
    snprintf(csv, sizeof csv, "%s/a/sum.csv", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    char *mixed[] = {path, path2, csv, b, path2};
    ck_assert_msg(clr_compare_load(mixed, 5, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.ndocs, 2);
    ck_assert_uint_eq(cmp.nskipped, 3);
    ck_assert_ptr_nonnull(strstr(cmp.skipped[0].why, "a compare document"));
    ck_assert_ptr_nonnull(strstr(cmp.skipped[1].why, "not JSON"));
    ck_assert_ptr_nonnull(strstr(cmp.skipped[2].why, "the same file as"));
    clr_compare_free(&cmp);

    /* Nothing usable: one message naming every input and what it was. */
    char empty[4200], compare_dir[4200];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    snprintf(compare_dir, sizeof compare_dir, "%s/compare", dir);
    char *none[] = {compare_dir, empty};
    ck_assert_int_eq(clr_compare_load(none, 2, &cmp, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "no run results among the inputs") && strstr(err.msg, "compare.json is a compare "
                  "document") && strstr(err.msg, "empty is a folder with no .json file"), "%s", err.msg);
    clr_compare_free(&cmp);

    /* Still errors: a path that is not there, a damaged .json, a results document of another version. */
    memset(&err, 0, sizeof err);
    snprintf(path, sizeof path, "%s/missing", dir);
    char *missing[] = {path};
    ck_assert_int_eq(clr_compare_load(missing, 1, &cmp, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "No such file"), "%s", err.msg);
    clr_compare_free(&cmp);
    snprintf(path, sizeof path, "%s/b/damaged.json", dir);
    write_file(path, "{\"schema\": \"clrepro.results\", \"schema_ver");
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_compare_load(one, 1, &cmp, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "damaged.json: not valid JSON"), "%s", err.msg);
    clr_compare_free(&cmp);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* The binary: report and compare on a folder and on a glob, skipped inputs listed on stderr one
 * escaped line each (--quiet: none), nothing usable exits 2, and a results document found in
 * a folder is protected from the output like a file named. */
START_TEST(binary_files_and_folders)
{
    char *dir = results_tree(), *out, path[4200];
    /* a file name with an escape sequence and a newline: printed inert */
    snprintf(path, sizeof path, "%s/a/x\033[31m\nclrepro: forged.json", dir);
    write_file(path, "[]");
    ck_assert_int_eq(clrepro_in(dir, "report . -o r.html", &out), 0);
    ck_assert_msg(strstr(out, "report: r.html (2 documents") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "clrepro: skipped ./compare/compare.json: a compare document (schema clrepro.compare"),
                  "%s", out);
    ck_assert_msg(strstr(out, "clrepro: skipped ./a/demo-order.json: a demo-order document"), "%s", out);
    ck_assert_msg(strstr(out, "skipped ./a/x\\x1b[31m\\nclrepro: forged.json: JSON that is not a clrepro document"),
                  "%s", out);
    ck_assert_msg(!strchr(out, '\033') && !strstr(out, "\nclrepro: forged"), "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report */*.json */*/*.json -o r2.html", &out), 0); /* the README's glob */
    ck_assert_msg(strstr(out, "report: r2.html (2 documents"), "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "compare . --out cmp --quiet", &out), 0);
    ck_assert_msg(!strstr(out, "skipped"), "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/cmp/compare.json", dir);
    char *json = read_whole(path);
    ck_assert_ptr_nonnull(strstr(json, "\"schema\": \"clrepro.compare\""));
    free(json);
    /* compare writes over the compare document it found and skipped (not an input) */
    ck_assert_int_eq(clrepro_in(dir, "compare . --out compare", &out), 0);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "compare compare empty", &out), 2);
    ck_assert_msg(strstr(out, "clrepro: error: no run results among the inputs: compare/compare.json is a compare "
                              "document") && !strstr(out, "skipped"), "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report b -o b/deep/sum.json", &out), 2);
    ck_assert_msg(strstr(out, "-o b/deep/sum.json is the input document b/deep/sum.json"), "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report a/sum.json compare/compare.json -o a/sum.json", &out), 2);
    ck_assert_msg(strstr(out, "is the input document a/sum.json"), "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/b/deep/sum.json", dir);
    json = read_whole(path);
    ck_assert_ptr_nonnull(strstr(json, "\"schema\": \"clrepro.results\"")); /* untouched */
    free(json);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* The committed results: the folder, and the README's glob over it. */
START_TEST(report_committed_results_folder)
{
    char *dir = temp_dir(), *out, args[4200];
    snprintf(args, sizeof args, "report '%s/results' -o r.html", CLREPRO_SOURCE_DIR);
    ck_assert_int_eq(clrepro_in(dir, args, &out), 0);
    ck_assert_msg(strstr(out, "results/compare/compare.json: a compare document") &&
                  strstr(out, "demo-order.json: a demo-order document") && !strstr(out, "error"), "%s", out);
    free(out);
    snprintf(args, sizeof args, "-c 'cd \"%s\" && \"%s\" report results/*/*.json -o \"%s/r2.html\"'",
             CLREPRO_SOURCE_DIR, CLREPRO_BIN, dir);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "sh %s >/dev/null 2>&1", args);
    ck_assert_int_eq(system(cmd), 0);
    remove_tree(dir);
    free(dir);
}
END_TEST

/* Switch points (schema 2): read back, shown per document in the report, and escaped there. */
START_TEST(report_switch_points)
{
    json_error_t jerr;
    json_t *doc = json_load_file(CLREPRO_SOURCE_DIR "/results/pocl-pthread-skylake-avx512-amd-epyc/sum.json", 0, &jerr);
    ck_assert_msg(doc != NULL, "%s", jerr.text);
    json_t *sw = json_object_get(doc, "switch_points");
    size_t nsw = json_array_size(sw);
    ck_assert(nsw > 0);
    json_object_set_new(json_array_get(sw, 0), "text", json_string("<img src=x onerror=alert(1)> never"));
    char *text = json_dumps(doc, JSON_REAL_PRECISION(17));
    json_decref(doc);
    char *path = write_temp(text);
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(&path, 1, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.docs[0].nswitches, nsw); /* sum's 7 strategies at each shape */
    ck_assert_str_eq(cmp.docs[0].switches[0].text, "<img src=x onerror=alert(1)> never");
    char *html = clr_report_html(&cmp, &err), why[256];
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(strstr(html, "Where the bits change with B</h3>"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;img src=x onerror=alert(1)&gt; never"));
    ck_assert_msg(!*html_injection(html, why, sizeof why), "report.html: %s", why);
    free(html);
    clr_compare_free(&cmp);
    remove(path);
    free(path);
    free(text);
}
END_TEST

/* What invariance costs, over every case: min, median and max of the overhead per strategy that
 * claims batch or device invariance, per device; the others are left out. */
START_TEST(compare_invariance_cost)
{
    claim_tree_device_invariant = 1;
    hand_case a[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}, {"tree", 2, "2222222222222222", "3f800000", 1e-3},
                     {"tree", 4, "3333333333333333", "3f800000", 1e-3}, {"split", 1, "4444444444444444", "3f800000", 1e-3}};
    hand_extra xa[] = {{0, 3.0, 0, 0}, {0, 1.0, 0, 0}, {0, 1.5, 0, 0}, {0, 1.0, 0, 0}};
    hand_extra xb[] = {{0, 1.25, 0, 0}, {0, 1.0, 0, 0}, {0, 1.0, 0, 0}, {0, 9.0, 0, 0}};
    char *docs[2] = {document_x("GPU A", "1.0", a, xa, 4, 1), document_x("GPU B", "2.0", a, xb, 4, 1)};
    claim_tree_device_invariant = 0;
    char *paths[2] = {write_temp(docs[0]), write_temp(docs[1])};
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
    char *md = clr_compare_markdown(&cmp, &err), *json = clr_compare_json(&cmp, &err);
    ck_assert(md && json);
    ck_assert_msg(strstr(md, "| sum | tree | GPU A (1.0) | 3 | 1.00x | 1.50x | 3.00x |"), "%s", md);
    ck_assert_msg(strstr(md, "| sum | tree | GPU B (2.0) | 3 | 1.00x | 1.00x | 1.25x |"), "%s", md);
    const char *section = strstr(md, "## What invariance costs"), *end = strstr(md, "## Cases");
    ck_assert(section && end && section < end);
    const char *split = strstr(section, "| split |");
    ck_assert_msg(!split || split > end, "split claims no invariance, yet it is costed");
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr), *cost = json_object_get(root, "invariance_cost");
    ck_assert_uint_eq(json_array_size(cost), 2);
    ck_assert_double_eq(json_real_value(json_object_get(json_array_get(cost, 0), "median")), 1.5);
    json_decref(root);
    /* the report's table: the same rows */
    char *html = clr_report_html(&cmp, &err);
    ck_assert_ptr_nonnull(html);
    const char *sec = strstr(html, "<section id='cost'>");
    ck_assert_ptr_nonnull(sec);
    ck_assert_ptr_nonnull(strstr(sec, "<td>tree</td><td>GPU A</td><td>1.0</td><td data-v='3'>3</td><td data-v='1'>1.00"));
    ck_assert_ptr_nonnull(strstr(sec, "<td data-v='1.5'>1.50"));
    free(html);
    free(md);
    free(json);
    clr_compare_free(&cmp);
    for (int k = 0; k < 2; ++k) {
        remove(paths[k]);
        free(paths[k]);
        free(docs[k]);
    }
}
END_TEST

/* ---- decode documents (schema clrepro.decode) ---- */

/* A mode of a hand-made decode document of 3 prompts, batches 1 and 2, one repeat: per prompt
 * the reference fingerprint (the batch-1 run) and the batch-2 run's (NULL: the reference's);
 * not_run: the mode did not run. */
typedef struct hand_dmode {
    const char *mode;
    const char *ref[3], *batch2[3];
    const char *not_run;
} hand_dmode;

static char *decode_text(const char *device, const char *model, const hand_dmode *modes, size_t nmodes)
{
    json_t *jmodes = json_array();
    for (size_t m = 0; m < nmodes; ++m) {
        json_t *jm = json_pack("{s:s, s:s}", "mode", modes[m].mode, "summary", "hand-made");
        if (modes[m].not_run) {
            json_object_set_new(jm, "not_run", json_string(modes[m].not_run));
            json_array_append_new(jmodes, jm);
            continue;
        }
        json_t *prompts = json_array(), *batches = json_array();
        for (int i = 0; i < 3; ++i) {
            const char *b2 = modes[m].batch2[i] ? modes[m].batch2[i] : modes[m].ref[i];
            json_array_append_new(
                prompts, json_pack("{s:i, s:s, s:s, s:[i,i], s:i, s:[{s:i, s:i, s:s, s:s}, {s:i, s:i, s:s, s:s}]}",
                                   "prompt", i, "fingerprint", modes[m].ref[i], "logits_fingerprint",
                                   "0000000000000000", "completion", 5, 6, "distinct", b2 == modes[m].ref[i] ? 1 : 2,
                                   "runs", "batch", 1, "repeat", 0, "fingerprint", modes[m].ref[i],
                                   "logits_fingerprint", "0000000000000000", "batch", 2, "repeat", 0, "fingerprint",
                                   b2, "logits_fingerprint", "0000000000000000"));
        }
        for (int b = 1; b <= 2; ++b)
            json_array_append_new(batches, json_pack("{s:i, s:f, s:f, s:f, s:o}", "batch", b, "tokens_per_s",
                                                     100.0 * b + (double)m, "step_ms", 10.0 / b, "roof_fraction",
                                                     0.25, "overhead_vs_fast", m ? json_real(1.5) : json_null()));
        json_object_set_new(jm, "prompts", prompts);
        json_object_set_new(jm, "batches", batches);
        json_array_append_new(jmodes, jm);
    }
    json_t *doc = json_pack(
        "{s:s, s:i, s:{s:s, s:s, s:s}, s:{s:s, s:{s:i, s:f}}, s:{s:i, s:i, s:[i,i], s:i, s:i, s:s, s:[[i,i],[i],[i]]},"
        " s:{s:f}, s:o}",
        "schema", "clrepro.decode", "schema_version", 1, "device", "name", device, "platform", "P", "driver_version",
        "1.0", "model", "name", model, "config", "dim", 288, "rms_eps", 1e-5, "config", "prompts", 3, "tokens", 2,
        "batches", 1, 2, "repeats", 1, "seed", 42, "activations", "bf16", "prompt_ids", 1, 2, 3, 4, "roof",
        "read_gbps", 100.0, "modes", jmodes);
    ck_assert_ptr_nonnull(doc);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

static void write_decode(const char *dir, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0755);
    *slash = '/';
    write_file(path, text);
}

#define FA "aaaaaaaaaaaaaaaa"
#define FB "bbbbbbbbbbbbbbbb"
#define FC "cccccccccccccccc"
#define FX "dddddddddddddddd"
#define HOSTILE_DEVICE "GPU | B <script>alert(1)</script> & `x` *y*"

/* dir/a: GPU A; dir/b: a hostile device name, the same experiment: fast differs from A in
 * batch 2 of prompt 1 only, invariant in prompt 2's reference only (one completion within B,
 * another than A's), portable not run; dir/c: another model (another experiment); dir/d,
 * dir/e: damaged. */
static char *decode_tree(void)
{
    char *dir = temp_dir();
    hand_dmode a[] = {{"fast", {FA, FB, FC}, {NULL, NULL, NULL}, NULL},
                      {"invariant", {FA, FB, FC}, {NULL, NULL, NULL}, NULL},
                      {"portable", {FA, FB, FC}, {NULL, NULL, NULL}, NULL}};
    hand_dmode b[] = {{"fast", {FA, FB, FC}, {NULL, FX, NULL}, NULL},
                      {"invariant", {FA, FB, FX}, {NULL, NULL, FX}, NULL},
                      {"portable", {NULL, NULL, NULL}, {NULL, NULL, NULL}, "needs <fp64> | here"}};
    char *text = decode_text("GPU A", "synthetic small", a, 3);
    write_decode(dir, "a/decode.json", text);
    free(text);
    text = decode_text(HOSTILE_DEVICE, "synthetic small", b, 3);
    write_decode(dir, "b/decode.json", text);
    free(text);
    text = decode_text("GPU A", "synthetic 1b", a, 1);
    write_decode(dir, "c/decode.json", text);
    /* damaged: a fingerprint that is not hex; a schema version of the future */
    char *first = strstr(text, FA);
    memcpy(first, "zz", 2);
    write_decode(dir, "d/decode.json", text);
    free(text);
    write_decode(dir, "e/decode.json", "{\"schema\": \"clrepro.decode\", \"schema_version\": 2}");
    /* damaged: a prompt without its runs, which would otherwise count as agreeing */
    text = decode_text("GPU A", "synthetic small", a, 3);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    ck_assert_ptr_nonnull(doc);
    json_t *p0 = json_array_get(json_object_get(json_array_get(json_object_get(doc, "modes"), 0), "prompts"), 0);
    json_object_set_new(p0, "runs", json_array());
    free(text);
    text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    write_decode(dir, "f/decode.json", text);
    free(text);
    return dir;
}

/* Decode documents in compare and report: grouped by experiment, judged, escaped everywhere;
 * damaged ones skipped with what is wrong; alone or beside run results (whose output then
 * stays as it was, the decode section after it). */
/* C1 controls and bidirectional overrides and isolates become spaces in Markdown and HTML: a
 * device name cannot send an escape sequence to a terminal that shows the file, nor reorder the
 * text after it. */
START_TEST(escapes_drop_invisible_characters)
{
    const char *hostile = "a\xC2\x9B" "31mb\xE2\x80\xAE" "c\xE2\x81\xA6" "d\xC2\xA0" "e";
    for (int html = 0; html < 2; ++html) {
        clr_text t = {0};
        if (html)
            clr_text_html(&t, hostile);
        else
            clr_text_md(&t, hostile);
        ck_assert_ptr_nonnull(t.buf);
        ck_assert_str_eq(t.buf, "a 31mb c d\xC2\xA0" "e"); /* U+00A0 is a character, kept */
        free(t.buf);
    }
}
END_TEST

START_TEST(compare_decode_documents)
{
    char *dir = decode_tree();
    clr_comparison cmp;
    clr_error err = {0};
    char *one[] = {dir};
    ck_assert_msg(clr_compare_load_with(one, 1, CLR_COMPARE_DECODE, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.ndocs, 0);
    ck_assert_uint_eq(cmp.ndecode, 3);
    ck_assert_uint_eq(cmp.nskipped, 3);
    ck_assert_msg(strstr(skipped_why(&cmp, "f/decode.json"), "modes[0].prompts[0].runs"), "%s",
                  skipped_why(&cmp, "f/decode.json"));
    ck_assert_msg(strstr(skipped_why(&cmp, "d/decode.json"), "damaged decode document") &&
                  strstr(skipped_why(&cmp, "d/decode.json"), "modes[0].prompts[0].fingerprint should be 16 hex"),
                  "%s", skipped_why(&cmp, "d/decode.json"));
    ck_assert_msg(strstr(skipped_why(&cmp, "e/decode.json"), "schema version 2"), "%s",
                  skipped_why(&cmp, "e/decode.json"));
    /* two experiments: a and b together, c alone */
    ck_assert_uint_eq(cmp.nexperiments, 2);
    ck_assert_uint_eq(cmp.experiments[0].ndocs, 2);
    ck_assert_uint_eq(cmp.experiments[1].ndocs, 1);
    ck_assert_uint_eq(cmp.experiments[1].docs[0], 2);
    const clr_dexperiment *x = &cmp.experiments[0];
    ck_assert_uint_eq(x->nmodes, 3);
    const clr_dagreement *fast = &x->modes[0], *inv = &x->modes[1], *port = &x->modes[2];
    ck_assert_str_eq(fast->mode, "fast");
    ck_assert_uint_eq(fast->ndocs, 2);
    ck_assert_uint_eq(fast->one_everywhere, 2);
    ck_assert_uint_eq(fast->same_reference, 3);
    ck_assert_uint_eq(fast->runs[0]->one_completion, 3);
    ck_assert_uint_eq(fast->runs[1]->one_completion, 2);
    ck_assert_uint_eq(fast->ndiffering, 1);
    ck_assert_uint_eq(fast->differing[0], 1);
    ck_assert_uint_eq(inv->one_everywhere, 2);
    ck_assert_uint_eq(inv->same_reference, 2);
    ck_assert_uint_eq(inv->runs[1]->one_completion, 3);
    ck_assert_uint_eq(inv->differing[0], 2);
    ck_assert_uint_eq(port->ndocs, 1);
    ck_assert_uint_eq(port->nnot_run, 1);

    /* compare.md: the section, every table row whole, the hostile name and reason escaped */
    char *md = clr_compare_markdown(&cmp, &err);
    ck_assert_ptr_nonnull(md);
    ck_assert_ptr_nonnull(strstr(md, "comparison of 3 decode documents"));
    ck_assert_ptr_nonnull(strstr(md, "## Decode: the same tokens across devices?"));
    ck_assert_ptr_nonnull(strstr(md, "### Experiment 1: synthetic small; bf16 activations, 3 prompts of 2 tokens"));
    ck_assert_ptr_nonnull(strstr(md, "### Experiment 2: synthetic 1b"));
    ck_assert_uint_eq(md_check_tables(md, "| mode | devices |"), 1); /* the last such table: experiment 2's */
    ck_assert_msg(strstr(md, "| fast | 2: d0 GPU A (1.0); d1 GPU \\| B &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                             "\\`x\\` \\*y\\* (1.0) | 2/3 | 3/3 | d0 3/3; d1 2/3 | 1 |"), "%s", md);
    ck_assert_msg(strstr(md, "| invariant | 2: d0 GPU A (1.0); d1 GPU \\| B") &&
                  strstr(md, "| 2/3 | 2/3 | d0 3/3; d1 3/3 | 2 |"), "%s", md);
    ck_assert_msg(strstr(md, "| portable | 1: d0 GPU A (1.0). not run on d1 (needs &lt;fp64&gt; \\| here) | 3/3 | "
                             "3/3 | d0 3/3 | none |"), "%s", md);
    ck_assert_ptr_null(strstr(md, "<script>"));
    free(md);

    /* compare.json: the same figures */
    char *js = clr_compare_json(&cmp, &err);
    ck_assert_ptr_nonnull(js);
    json_error_t jerr;
    json_t *root = json_loads(js, 0, &jerr);
    ck_assert_ptr_nonnull(root);
    json_t *decode = json_object_get(root, "decode");
    ck_assert_uint_eq(json_array_size(decode), 2);
    json_t *e1 = json_array_get(decode, 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(e1, "documents"), 1), "device")),
                     HOSTILE_DEVICE);
    json_t *jfast = json_array_get(json_object_get(e1, "modes"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(jfast, "one_completion_everywhere")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(jfast, "same_reference_everywhere")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(jfast, "per_device"), 1),
                                                        "prompts_with_one_completion")), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(jfast, "prompts_differing"), 0)), 1);
    json_t *jport = json_array_get(json_object_get(e1, "modes"), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(jport, "not_run"), 0), "why")),
                     "needs <fp64> | here");
    json_decref(root);
    free(js);
    /* compare.csv: run cases only (here none) */
    char *csv = clr_compare_csv(&cmp, &err);
    ck_assert_str_eq(csv, "run,strategy,shape,batch,documents,groups,same_bits,max_ulp,time_ratio,fastest,slowest\n");
    free(csv);

    /* the report: the section, escaped, nothing foreign in the page */
    char why[256];
    char *html = clr_report_html(&cmp, &err);
    ck_assert_ptr_nonnull(html);
    ck_assert_msg(!html_injection(html, why, sizeof why)[0], "%s", why);
    ck_assert_ptr_nonnull(strstr(html, "<section id='decode'><h2>Decode: the same tokens across devices?</h2>"));
    ck_assert_ptr_nonnull(strstr(html, "GPU | B &lt;script&gt;alert(1)&lt;/script&gt; &amp;"));
    ck_assert_ptr_nonnull(strstr(html, "not run: needs &lt;fp64&gt; | here"));
    ck_assert_ptr_nonnull(strstr(html, "<th>batch 2</th>"));
    ck_assert_ptr_nonnull(strstr(html, ">201 <small>25% \xC2\xB7 1.50\xC3\x97</small>")); /* invariant, batch 2 */
    ck_assert_ptr_nonnull(strstr(html, ">100 <small>25% \xC2\xB7 \xE2\x80\x93</small>")); /* fast: no ratio */
    ck_assert_ptr_null(strstr(html, "<script>alert"));
    free(html);
    clr_compare_free(&cmp);

    /* without CLR_COMPARE_DECODE (export, baseline): skipped as what they are */
    ck_assert_int_eq(clr_compare_load(one, 1, &cmp, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "no run results among the inputs") && strstr(err.msg, "is a decode document"), "%s",
                  err.msg);
    clr_compare_free(&cmp);

    /* beside run results: their Markdown and CSV as without the decode documents, the section after */
    hand_case run_case[] = {{"tree", 1, "1111111111111111", "3f800000", 1e-3}};
    char *run_text = document("GPU A", "1.0", run_case, 1, 1), run_path[4200];
    snprintf(run_path, sizeof run_path, "%s/a/sum.json", dir);
    write_file(run_path, run_text);
    free(run_text);
    char *runs_only[] = {run_path};
    ck_assert_msg(clr_compare_load_with(runs_only, 1, CLR_COMPARE_DECODE, &cmp, &err) == 0, "%s", err.msg);
    char *md_runs = clr_compare_markdown(&cmp, &err), *csv_runs = clr_compare_csv(&cmp, &err);
    char *json_runs = clr_compare_json(&cmp, &err);
    ck_assert_ptr_null(strstr(json_runs, "\"decode\""));
    html = clr_report_html(&cmp, &err);
    ck_assert_ptr_null(strstr(html, "decode"));
    free(html);
    free(json_runs);
    clr_compare_free(&cmp);
    char *both[] = {run_path, dir};
    ck_assert_msg(clr_compare_load_with(both, 2, CLR_COMPARE_DECODE, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(cmp.ndocs, 1);
    ck_assert_uint_eq(cmp.ndecode, 3);
    md = clr_compare_markdown(&cmp, &err);
    csv = clr_compare_csv(&cmp, &err);
    ck_assert_msg(!strncmp(md, md_runs, strlen(md_runs)) &&
                  !strncmp(md + strlen(md_runs), "\n## Decode: the same tokens", 27), "%s", md);
    ck_assert_str_eq(csv, csv_runs);
    html = clr_report_html(&cmp, &err);
    ck_assert_msg(!html_injection(html, why, sizeof why)[0], "%s", why);
    ck_assert_ptr_nonnull(strstr(html, "<a href='#decode'>"));
    ck_assert_ptr_nonnull(strstr(html, "id='decode-2'"));
    free(html);
    free(md);
    free(csv);
    free(md_runs);
    free(csv_runs);
    clr_compare_free(&cmp);
    unlink(run_path);

    /* the binary: compare and report of decode documents only; the damaged ones listed with why */
    char *out;
    ck_assert_int_eq(clrepro_in(dir, "compare . --out cmp", &out), 0);
    ck_assert_msg(strstr(out, "comparison of 3 decode documents") &&
                  strstr(out, "clrepro: skipped ./d/decode.json: a damaged decode document") &&
                  strstr(out, "written: cmp/compare.{md,csv,json}"), "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report . -o r.html", &out), 0);
    /* skipped: d, e, f and the compare document just written */
    ck_assert_msg(strstr(out, "report: r.html (3 documents; 4 other inputs skipped"), "%s", out);
    free(out);
    ck_assert_int_eq(clrepro_in(dir, "report . -o a/decode.json", &out), 2);
    ck_assert_msg(strstr(out, "is the input document"), "%s", out);
    free(out);
    remove_tree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("compare");
    TCase *t = tcase_create("compare");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, compare_known_agreement);
    tcase_add_test(t, compare_judges_device_invariance);
    tcase_add_test(t, compare_order_revisions_apart);
    tcase_add_test(t, compare_same_device_two_runs);
    tcase_add_test(t, compare_tiny_and_zero_times);
    tcase_add_test(t, reader_refuses_bad_documents);
    tcase_add_test(t, reader_field_checks);
    tcase_add_test(t, report_from_committed_results);
    tcase_add_test(t, fuzz_regressions_and_corpus);
    tcase_add_test(t, hostile_documents_every_output);
    tcase_add_test(t, report_summary_verdicts);
    tcase_add_test(t, report_every_shape_charted);
    tcase_add_test(t, report_overhead_axis_logarithmic);
    tcase_add_test(t, report_ulp_scale_shared);
    tcase_add_test(t, report_accuracy_units_and_gflops);
    tcase_add_test(t, report_tables_sortable);
    tcase_add_test(t, report_checker_rejects_foreign_markup);
    tcase_add_test(t, hostile_strings_in_run_outputs);
    tcase_add_test(t, hostile_skip_reason_in_summary);
    tcase_add_test(t, long_multibyte_names_kept_whole);
    tcase_add_test(t, large_set_matched_correctly);
    tcase_add_test(t, group_names_past_z);
    tcase_add_test(t, outputs_never_overwrite_inputs);
    tcase_add_test(t, inputs_files_and_folders);
    tcase_add_test(t, binary_files_and_folders);
    tcase_add_test(t, report_committed_results_folder);
    tcase_add_test(t, report_switch_points);
    tcase_add_test(t, compare_invariance_cost);
    tcase_add_test(t, compare_decode_documents);
    tcase_add_test(t, escapes_drop_invisible_characters);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
