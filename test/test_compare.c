/* test_compare.c: the results reader on good, bad and hostile documents; `compare` on
 * hand-made documents with known agreements and disagreements; `report` from the committed
 * results; and every input the fuzzer ever found (test/fuzz-regressions/) read without harm. */
#include <check.h>
#include "test_util.h"
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "compare.h"
#include "results.h"

/* A minimal valid document: one strategy, cases given as (strategy, batch, fingerprint,
 * probe bits, median seconds). */
typedef struct hand_case {
    const char *strategy;
    int batch;
    const char *fingerprint, *probe;
    double median;
} hand_case;

static int claim_tree_device_invariant; /* documents claim device_invariant for tree */

static char *document(const char *device, const char *driver, const hand_case *cases, size_t n, int version)
{
    size_t cap = 8192 + n * 1024;
    char *buf = malloc(cap);
    size_t len = (size_t)snprintf(buf, cap,
        "{\"schema\": \"clrepro.results\", \"schema_version\": %d, \"tool\": {\"name\": \"clrepro\", \"version\": \"0.1.0\"},"
        "\"started_utc\": \"2026-01-01T00:00:00Z\", \"wall_seconds\": 1.5,"
        "\"device\": {\"name\": \"%s\", \"platform\": \"P\", \"driver_version\": \"%s\", \"type\": \"GPU\"},"
        "\"config\": {\"op\": \"sum\", \"name\": \"sum\", \"batch_name\": \"B\", \"command\": \"clrepro run\"},"
        "\"strategies\": [{\"name\": \"tree\"}, {\"name\": \"split\"}], \"claims\": [{\"strategy\": \"split\", \"claim\":"
        " \"deterministic\", \"claimed\": true, \"observed\": \"held\", \"broken\": false, \"evidence\": \"x\"}%s],"
        "\"cases\": [",
        version, device, driver,
        claim_tree_device_invariant ? ", {\"strategy\": \"tree\", \"claim\": \"device_invariant\", \"claimed\": true,"
                                      " \"observed\": \"not_measured\", \"broken\": false, \"evidence\": \"y\"}"
                                    : "");
    for (size_t i = 0; i < n; ++i)
        len += (size_t)snprintf(buf + len, cap - len,
            "%s{\"strategy\": \"%s\", \"shape\": {\"n\": 64, \"dtype\": \"fp32\"}, \"batch\": %d, \"valid\": true,"
            "\"time_s\": {\"median\": %g}, \"gbps\": 1.0, \"gflops\": 0.5, \"copy_gbps\": 2.0, \"overhead\": 1.0,"
            "\"run_to_run\": {\"trials\": 5, \"distinct\": 1, \"max_ulp\": 0}, \"accuracy\": {\"max_ulp\": 1},"
            "\"fingerprint\": \"%s\", \"probe_bits\": [\"%s\"], \"positions\": [{\"position\": 0, \"max_ulp_vs_base\": 0}],"
            "\"batch_variance\": {\"distinct\": 1, \"max_ulp\": 0}}",
            i ? "," : "", cases[i].strategy, cases[i].batch, cases[i].median, cases[i].fingerprint, cases[i].probe);
    snprintf(buf + len, cap - len, "]}");
    return buf;
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/clrepro-doc-XXXXXX");
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
        clr_device_claim rows[8];
        ck_assert_uint_le(cmp.nmatches, 8);
        size_t nrows = clr_compare_device_claims(&cmp, rows);
        ck_assert_uint_eq(nrows, 1);
        ck_assert_str_eq(rows[0].strategy, "tree");
        ck_assert_uint_eq(rows[0].cases, 2); /* B = 1 and 2; B = 3 is on one device only */
        ck_assert_uint_eq(rows[0].identical, subset ? 2 : 1);
        ck_assert_str_eq(clr_device_claim_observed(&rows[0]), subset ? "held" : "violated");
        char *md = clr_compare_markdown(&cmp), *js = clr_compare_json(&cmp), *html = clr_report_html(&cmp);
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
    char *md = clr_compare_markdown(&cmp), *csv = clr_compare_csv(&cmp), *json = clr_compare_json(&cmp);
    ck_assert_ptr_nonnull(strstr(md, "| sum | tree | 1 | 0/1 | 2 | 4.00x |"));
    ck_assert_ptr_nonnull(strstr(md, "`AAB`"));
    ck_assert_ptr_nonnull(strstr(csv, "sum,split,\"n=64 dtype=fp32\",1,3,3,false,3,"));
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
    char *md = clr_compare_markdown(&cmp), *json = clr_compare_json(&cmp);
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
    char *v2 = document("GPU", "1.0", a, 1, 2);
    expect_refused(v2, "schema version 2");
    free(v2);
    char *good = document("GPU", "1.0", a, 1, 1);
    size_t len = strlen(good);
    for (size_t cut = 0; cut < len; cut += 97) { /* every truncation is an error, never a crash */
        clr_rdoc doc;
        clr_error err = {0};
        ck_assert_int_eq(clr_results_parse(good, cut, "doc", &doc, &err), CLR_EUSAGE);
    }
    free(good);
    expect_refused("", "not valid JSON");
    expect_refused("[1, 2]", "not a clrepro results document");
    expect_refused("{\"schema\": \"clrepro.demo-order\", \"schema_version\": 1}", "demo-order");
    expect_refused("{\"schema\": 5}", "schema should be a string");
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

START_TEST(report_from_committed_results)
{
    char *paths[] = {CLREPRO_SOURCE_DIR "/results/pocl-pthread-skylake-avx512-amd-epyc/sum.json",
                     CLREPRO_SOURCE_DIR "/results/nvidia-nvidia-h200/sum.json",
                     CLREPRO_SOURCE_DIR "/results/pocl-pthread-skylake-avx512-amd-epyc/seed-attention-lengths.json",
                     CLREPRO_SOURCE_DIR "/results/nvidia-nvidia-h200/seed-attention-lengths.json"};
    clr_comparison cmp;
    clr_error err = {0};
    ck_assert_msg(clr_compare_load(paths, 4, &cmp, &err) == 0, "%s", err.msg);
    char *html = clr_report_html(&cmp);
    ck_assert_ptr_nonnull(html);
    /* Per document: heatmap, throughput, overhead, run-to-run; attention adds the length
     * figure; two agreement matrices (sum and seed-attention-lengths). */
    ck_assert_uint_eq(count(html, "<svg"), 4 * 4 + 2 + 2);
    ck_assert_uint_eq(count(html, "<svg"), count(html, "</svg>"));
    ck_assert_uint_ge(count(html, "<table>"), count(html, "<svg"));
    ck_assert_ptr_null(strstr(html, "<script"));
    ck_assert_ptr_null(strstr(html, "http://"));
    ck_assert_ptr_null(strstr(html, "https://"));
    ck_assert_ptr_null(strstr(html, "nan"));
    ck_assert_ptr_nonnull(strstr(html, "Broken claims"));
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

int main(void)
{
    Suite *s = suite_create("compare");
    TCase *t = tcase_create("compare");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, compare_known_agreement);
    tcase_add_test(t, compare_judges_device_invariance);
    tcase_add_test(t, compare_same_device_two_runs);
    tcase_add_test(t, reader_refuses_bad_documents);
    tcase_add_test(t, reader_field_checks);
    tcase_add_test(t, report_from_committed_results);
    tcase_add_test(t, fuzz_regressions_and_corpus);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
