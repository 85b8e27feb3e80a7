/* test_baseline.c: `clrepro compare --baseline OLD NEW` and its gates. The Mann-Whitney test on
 * known values; hand-made documents: a document against itself passes both gates; a changed
 * fingerprint of a strategy claiming determinism fails --fail-on bits, one of a strategy that
 * claims nothing is reported and not gated; a slowdown judged from the repetitions (clearly
 * slower fails slowdown=1.10, noisy and overlapping is not significant, too few repetitions or a
 * schema 1 document is not judged); pairing by run and device; every bad input exits 2 with its
 * message; hostile strings stay inert in the summary. Then on the device: two real runs, the
 * second with a kernel whose order of additions was changed through --kernel-dir (attention's dot
 * product), caught by --fail-on bits, while a run against itself passes. */
#include <check.h>
#include "test_docs.h"
#include <jansson.h>
#include <math.h>
#include "baseline.h"

static const double steady[] = {1.00e-3, 1.01e-3, 0.99e-3, 1.00e-3, 1.02e-3, 0.98e-3, 1.00e-3, 1.01e-3};
static const double slower[] = {1.30e-3, 1.31e-3, 1.29e-3, 1.30e-3, 1.32e-3, 1.28e-3, 1.30e-3, 1.31e-3};
static const double faster[] = {0.70e-3, 0.71e-3, 0.69e-3, 0.70e-3, 0.72e-3, 0.68e-3, 0.70e-3, 0.71e-3};
/* noisy: median 1.15 ms against steady's 1.00, but spread over both sides of it */
static const double noisy[] = {0.60e-3, 1.40e-3, 0.90e-3, 1.60e-3, 0.80e-3, 1.25e-3, 1.70e-3, 1.05e-3};

START_TEST(mann_whitney_known_values)
{
    double x[10], y[10], u;
    for (int i = 0; i < 10; ++i) {
        x[i] = 10 + i;
        y[i] = i;
    }
    /* completely separated: exact two-sided p = 2 / C(20, 10) */
    ck_assert_double_eq_tol(clr_mann_whitney(x, 10, y, 10, &u), 2.0 / 184756, 1e-12);
    ck_assert_double_eq(u, 100);
    ck_assert_double_eq_tol(clr_mann_whitney(y, 10, x, 10, &u), 2.0 / 184756, 1e-12);
    ck_assert_double_eq(u, 0);
    /* 3 against 3: the smallest two-sided p is 2/20 = 0.1; 4 against 4: 2/70 */
    ck_assert_double_eq_tol(clr_mann_whitney(x, 3, y, 3, NULL), 0.1, 1e-12);
    ck_assert_double_eq_tol(clr_mann_whitney(x, 4, y, 4, NULL), 2.0 / 70, 1e-12);
    /* 2, 4 against 1, 3, 5: U = 3 of 6 pairs, the middle of its distribution: p = 1 */
    double a[] = {2, 4}, b[] = {1, 3, 5};
    ck_assert_double_eq_tol(clr_mann_whitney(a, 2, b, 3, &u), 1.0, 1e-12);
    ck_assert_double_eq(u, 3);
    /* 1 against 2, 3: U = 0; P(U <= 0) = 1/3, two-sided 2/3 */
    double c[] = {1}, d[] = {2, 3};
    ck_assert_double_eq_tol(clr_mann_whitney(c, 1, d, 2, NULL), 2.0 / 3, 1e-12);
    /* identical samples (all ties): p = 1; ties elsewhere use the normal approximation */
    double e[] = {1, 1, 1, 1}, f[] = {1, 1, 1, 1};
    ck_assert_double_eq(clr_mann_whitney(e, 4, f, 4, NULL), 1.0);
    double g[] = {1, 2, 2, 3, 4, 5, 6, 7}, h[] = {8, 9, 9, 10, 11, 12, 13, 14};
    double p = clr_mann_whitney(g, 8, h, 8, &u);
    ck_assert_double_eq(u, 0);
    ck_assert_msg(p > 0 && p < 0.001, "p %g", p);
    /* large samples: normal approximation, symmetric */
    double big_x[60], big_y[60];
    for (int i = 0; i < 60; ++i) {
        big_x[i] = i + 0.25;
        big_y[i] = i;
    }
    double p1 = clr_mann_whitney(big_x, 60, big_y, 60, NULL), p2 = clr_mann_whitney(big_y, 60, big_x, 60, NULL);
    ck_assert_double_eq_tol(p1, p2, 1e-12);
    ck_assert_msg(p1 > 0.8, "p %g", p1);
    ck_assert_double_eq(clr_mann_whitney(x, 0, y, 10, NULL), 1.0);
}
END_TEST

static char dir[512];

static int load(const char *old_doc, const char *new_doc, int bits, double slowdown, clr_baseline *b, clr_error *err)
{
    char *o = doc_write(dir, "old.json", old_doc), *n = doc_write(dir, "new.json", new_doc);
    int rc = clr_baseline_load(&o, 1, &n, 1, bits, slowdown, b, err);
    free(o);
    free(n);
    return rc;
}

START_TEST(against_itself_passes)
{
    test_mkdtemp(dir, sizeof dir, "baseline");
    doc_case cases[] = {{"tree", 1, "1111111111111111", steady, 8, 0}, {"split", 8, "2222222222222222", noisy, 8, 0},
                        {"atomic", 8, "3333333333333333", steady, 8, 0}};
    char *doc = doc_make("sum", "GPU A", "1.0", cases, 3, 2);
    clr_baseline b;
    clr_error err = {0};
    ck_assert_msg(load(doc, doc, 1, 1.10, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(b.ncases, 3);
    ck_assert_uint_eq(b.bits_changed, 0);
    ck_assert_uint_eq(b.unchanged, 3);
    ck_assert(!clr_baseline_failed(&b));
    for (size_t i = 0; i < b.ncases; ++i) {
        ck_assert_double_eq(b.cases[i].ratio, 1.0);
        ck_assert_double_eq_tol(b.cases[i].p_value, 1.0, 1e-12);
    }
    clr_baseline_free(&b);
    /* the binary: status 0, both gates passed, the three files written */
    char *out, *errs;
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline old.json old.json --fail-on bits,slowdown=1.10 --out gate",
                                 &out, &errs), 0);
    ck_assert_msg(strstr(out, "--fail-on bits: passed") && strstr(out, "--fail-on slowdown=1.1: passed"), "%s", out);
    ck_assert_msg(strstr(out, "3 cases matched"), "%s", out);
    free(out);
    free(errs);
    char path[1024];
    snprintf(path, sizeof path, "%s/gate/baseline.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    ck_assert_msg(root != NULL, "%s", jerr.text);
    ck_assert_str_eq(json_string_value(json_object_get(root, "schema")), "clrepro.baseline");
    ck_assert(json_is_true(json_object_get(json_object_get(root, "summary"), "passed")));
    ck_assert_uint_eq(json_array_size(json_object_get(root, "cases")), 3);
    json_decref(root);
    free(doc);
}
END_TEST

START_TEST(bit_changes_gated_only_where_determinism_is_claimed)
{
    test_mkdtemp(dir, sizeof dir, "baseline");
    doc_case old_cases[] = {{"tree", 1, "1111111111111111", steady, 8, 0}, {"atomic", 1, "3333333333333333", steady, 8, 0},
                            {"split", 1, "2222222222222222", steady, 8, 0}};
    doc_case atomic_only[] = {{"tree", 1, "1111111111111111", steady, 8, 0}, {"atomic", 1, "4444444444444444", steady, 8, 0},
                              {"split", 1, "2222222222222222", steady, 8, 0}};
    doc_case tree_too[] = {{"tree", 1, "5555555555555555", steady, 8, 0}, {"atomic", 1, "4444444444444444", steady, 8, 0},
                           {"split", 1, "2222222222222222", steady, 8, 0}};
    char *old = doc_make("sum", "GPU A", "1.0", old_cases, 3, 2);
    char *a = doc_make("sum", "GPU A", "1.1", atomic_only, 3, 2), *t = doc_make("sum", "GPU A", "1.1", tree_too, 3, 2);
    clr_baseline b;
    clr_error err = {0};
    /* atomic's bits changed: reported, not gated */
    ck_assert_msg(load(old, a, 1, 0, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(b.bits_changed, 1);
    ck_assert_uint_eq(b.bits_gated, 0);
    ck_assert(!clr_baseline_failed(&b));
    ck_assert(b.cases[1].bits_changed && !b.cases[1].deterministic && !b.cases[1].fails_bits);
    clr_baseline_free(&b);
    char *out, *errs;
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline old.json new.json --fail-on bits --out gate", &out, &errs), 0);
    ck_assert_msg(strstr(out, "bits changed: 1 (gated 0") && strstr(out, "bits changed (ignored: no claim)"), "%s", out);
    free(out);
    free(errs);
    /* tree's too: gated, status 1 */
    ck_assert_msg(load(old, t, 1, 0, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(b.bits_changed, 2);
    ck_assert_uint_eq(b.bits_gated, 1);
    ck_assert_uint_eq(b.failed_bits, 1);
    ck_assert(clr_baseline_failed(&b));
    char *md = clr_baseline_markdown(&b, &err), *csv = clr_baseline_csv(&b, &err), *js = clr_baseline_json(&b, &err);
    ck_assert(md && csv && js);
    ck_assert_ptr_nonnull(strstr(md, "| sum | tree | n=64 dtype=fp32 | 1 | **changed** | yes |"));
    ck_assert_ptr_nonnull(strstr(md, "| sum | atomic | n=64 dtype=fp32 | 1 | **changed** | no |"));
    ck_assert_ptr_nonnull(strstr(csv, "\"sum\",\"tree\",\"n=64 dtype=fp32\",1,"));
    ck_assert_ptr_nonnull(strstr(js, "\"failed_bits\": 1"));
    free(md);
    free(csv);
    free(js);
    clr_baseline_free(&b);
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline old.json new.json --fail-on bits --out gate", &out, &errs), 1);
    ck_assert_msg(strstr(out, "--fail-on bits: FAILED (1 case"), "%s", out);
    ck_assert_msg(strstr(errs, "clrepro: error: --fail-on bits: 1 case of strategies claiming determinism changed bits"),
                  "%s", errs);
    free(out);
    free(errs);
    /* without --fail-on the same comparison is a report: status 0 */
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline old.json new.json --out gate --quiet", &out, &errs), 0);
    ck_assert_str_eq(out, "");
    free(out);
    free(errs);
    /* tree's order revised on purpose (strategies[].order 2 against none, read as 1): its bit
     * change is reported as such and not gated; the same change at one revision is. */
    const char *plain = "{\"name\": \"tree\"}", *revised = "{\"name\": \"tree\", \"order\": 2}";
    char *r = malloc(strlen(t) + 32), *at = strstr(t, plain);
    ck_assert(r && at);
    snprintf(r, strlen(t) + 32, "%.*s%s%s", (int)(at - t), t, revised, at + strlen(plain));
    ck_assert_msg(load(old, r, 1, 0, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(b.bits_changed, 2);
    ck_assert_uint_eq(b.bits_gated, 0);
    ck_assert(!clr_baseline_failed(&b));
    ck_assert(b.cases[0].bits_changed && b.cases[0].deterministic && b.cases[0].order_revised && !b.cases[0].gated);
    md = clr_baseline_markdown(&b, &err);
    js = clr_baseline_json(&b, &err);
    ck_assert(md && js);
    ck_assert_ptr_nonnull(strstr(md, "| sum | tree | n=64 dtype=fp32 | 1 | changed (order revised) | yes |"));
    ck_assert_ptr_nonnull(strstr(js, "\"order_revised\": true"));
    free(md);
    free(js);
    clr_baseline_free(&b);
    ck_assert_int_eq(load(r, r, 1, 0, &b, &err), 0); /* one revision on both sides: no change */
    ck_assert(!b.cases[0].order_revised && !b.cases[0].bits_changed);
    clr_baseline_free(&b);
    /* both sides at revision 2, tree's bits changed: gated as ever */
    char *o2 = malloc(strlen(old) + 32), *at2 = strstr(old, plain);
    ck_assert(o2 && at2);
    snprintf(o2, strlen(old) + 32, "%.*s%s%s", (int)(at2 - old), old, revised, at2 + strlen(plain));
    ck_assert_int_eq(load(o2, r, 1, 0, &b, &err), 0);
    ck_assert(b.cases[0].bits_changed && !b.cases[0].order_revised && b.cases[0].gated);
    ck_assert_uint_eq(b.bits_gated, 1);
    ck_assert(clr_baseline_failed(&b));
    clr_baseline_free(&b);
    free(o2);
    free(r);
    free(old);
    free(a);
    free(t);
}
END_TEST

START_TEST(slowdown_judged_from_repetitions)
{
    test_mkdtemp(dir, sizeof dir, "baseline");
    doc_case old_cases[] = {{"tree", 1, "1111111111111111", steady, 8, 0}, {"tree", 2, "1111111111111111", steady, 8, 0},
                            {"tree", 4, "1111111111111111", steady, 8, 0}, {"tree", 8, "1111111111111111", steady, 3, 0},
                            {"split", 1, "2222222222222222", steady, 8, 0}};
    doc_case new_cases[] = {{"tree", 1, "1111111111111111", slower, 8, 0}, {"tree", 2, "1111111111111111", noisy, 8, 0},
                            {"tree", 4, "1111111111111111", faster, 8, 0}, {"tree", 8, "1111111111111111", slower, 3, 0},
                            {"split", 1, "2222222222222222", NULL, 0, 1}};
    char *old = doc_make("sum", "GPU A", "1.0", old_cases, 5, 2), *new = doc_make("sum", "GPU A", "1.0", new_cases, 5, 2);
    clr_baseline b;
    clr_error err = {0};
    ck_assert_msg(load(old, new, 0, 1.10, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(b.ncases, 5);
    const clr_bcase *c = b.cases;
    /* clearly slower: 1.30x, p = 2/C(16,8) */
    ck_assert_int_eq(c[0].verdict, CLR_TIME_SLOWER);
    ck_assert_double_eq_tol(c[0].ratio, 1.30, 0.005);
    ck_assert_msg(c[0].p_value < 0.001, "p %g", c[0].p_value);
    ck_assert(c[0].fails_slowdown);
    /* noisy: median ratio beyond 1.10, but not significant */
    ck_assert_msg(c[1].ratio > 1.10, "ratio %g", c[1].ratio);
    ck_assert_msg(c[1].p_value > 0.05, "p %g", c[1].p_value);
    ck_assert_int_eq(c[1].verdict, CLR_TIME_UNCHANGED);
    ck_assert(!c[1].fails_slowdown);
    /* faster, significant */
    ck_assert_int_eq(c[2].verdict, CLR_TIME_FASTER);
    char text[48];
    clr_ratio_text(c[2].ratio, text, sizeof text);
    ck_assert_str_eq(text, "1.43x faster");
    clr_ratio_text(c[0].ratio, text, sizeof text);
    ck_assert_str_eq(text, "1.30x slower");
    /* three repetitions a side: not judged, whatever the medians say */
    ck_assert_int_eq(c[3].verdict, CLR_TIME_NOT_JUDGED);
    ck_assert_ptr_nonnull(strstr(c[3].why_not_judged, "fewer than 4 repetitions"));
    ck_assert(!c[3].fails_slowdown);
    /* invalid on the new side: not judged */
    ck_assert_int_eq(c[4].verdict, CLR_TIME_NOT_JUDGED);
    ck_assert_uint_eq(b.failed_slowdown, 1);
    ck_assert_uint_eq(b.slower, 1);
    ck_assert_uint_eq(b.faster, 1);
    ck_assert_uint_eq(b.not_judged, 2);
    clr_baseline_free(&b);
    /* a higher threshold lets the 1.30x through; no gate asked: the default threshold (1.05) */
    ck_assert_msg(load(old, new, 0, 1.50, &b, &err) == 0, "%s", err.msg);
    ck_assert(!clr_baseline_failed(&b) && b.cases[0].verdict == CLR_TIME_UNCHANGED);
    clr_baseline_free(&b);
    char *out, *errs;
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline old.json new.json --fail-on slowdown=1.10 --out gate", &out,
                                 &errs), 1);
    ck_assert_msg(strstr(out, "1.30x slower") && strstr(out, "--fail-on slowdown=1.1: FAILED (1 case"), "%s", out);
    ck_assert_msg(strstr(errs, "slowdown=1.1: 1 case significantly slower by more than 1.10x"), "%s", errs);
    free(out);
    free(errs);
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline old.json new.json --fail-on slowdown=1.5 --fail-on bits "
                                      "--out gate", &out, &errs), 0);
    free(out);
    free(errs);
    /* schema 1 documents have no repetitions: the time is not judged, the bits are */
    char *v1 = doc_make("sum", "GPU A", "1.0", old_cases, 5, 1);
    ck_assert_msg(load(v1, new, 1, 1.10, &b, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(b.not_judged, 5);
    ck_assert_ptr_nonnull(strstr(b.cases[0].why_not_judged, "schema 1"));
    ck_assert(!clr_baseline_failed(&b));
    clr_baseline_free(&b);
    free(v1);
    free(old);
    free(new);
}
END_TEST

START_TEST(pairs_by_run_and_device)
{
    test_mkdtemp(dir, sizeof dir, "baseline");
    doc_case cases[] = {{"tree", 1, "1111111111111111", steady, 8, 0}};
    doc_case changed[] = {{"tree", 1, "9999999999999999", steady, 8, 0}};
    /* one device a side, another device name (a new GPU): paired by run */
    char *a = doc_make("sum", "GPU A", "1.0", cases, 1, 2), *b2 = doc_make("sum", "GPU B", "2.0", changed, 1, 2);
    clr_baseline b;
    clr_error err = {0};
    ck_assert_msg(load(a, b2, 1, 0, &b, &err) == 0, "%s", err.msg);
    ck_assert(!b.per_device && b.npairs == 1 && b.failed_bits == 1);
    clr_baseline_free(&b);
    /* two devices a side: GPU A with GPU A, GPU B with GPU B, whatever the order of the files */
    char old_dir[600], new_dir[600];
    snprintf(old_dir, sizeof old_dir, "%s/old", dir);
    snprintf(new_dir, sizeof new_dir, "%s/new", dir);
    ck_assert_int_eq(mkdir(old_dir, 0755), 0);
    ck_assert_int_eq(mkdir(new_dir, 0755), 0);
    char *bsame = doc_make("sum", "GPU B", "2.0", cases, 1, 2), *achanged = doc_make("sum", "GPU A", "1.1", changed, 1, 2);
    free(doc_write(old_dir, "1.json", a));
    free(doc_write(old_dir, "2.json", bsame));
    free(doc_write(new_dir, "1.json", bsame));    /* B first this time */
    free(doc_write(new_dir, "2.json", achanged)); /* A changed bits */
    char *o = old_dir, *n = new_dir;
    ck_assert_msg(clr_baseline_load(&o, 1, &n, 1, 1, 0, &b, &err) == 0, "%s", err.msg);
    ck_assert(b.per_device);
    ck_assert_uint_eq(b.npairs, 2);
    ck_assert_uint_eq(b.failed_bits, 1);
    for (size_t i = 0; i < b.ncases; ++i) {
        const clr_bpair *p = &b.pairs[b.cases[i].pair];
        ck_assert_str_eq(b.old.docs[p->old_doc].device, b.new.docs[p->new_doc].device);
        ck_assert_int_eq(b.cases[i].bits_changed, !strcmp(b.new.docs[p->new_doc].device, "GPU A"));
    }
    clr_baseline_free(&b);
    free(a);
    free(b2);
    free(bsame);
    free(achanged);
}
END_TEST

static void expect_usage(const char *args, const char *message)
{
    char *out, *errs;
    int status = doc_run_bin(dir, args, &out, &errs);
    ck_assert_msg(status == 2, "%s: status %d, stderr %s", args, status, errs);
    ck_assert_msg(strstr(errs, message) != NULL, "%s: expected '%s' in: %s", args, message, errs);
    ck_assert_msg(strchr(errs, '\n') == strrchr(errs, '\n'), "%s: more than one line: %s", args, errs);
    ck_assert_str_eq(out, "");
    free(out);
    free(errs);
}

START_TEST(bad_input_exits_2)
{
    test_mkdtemp(dir, sizeof dir, "baseline");
    doc_case cases[] = {{"tree", 1, "1111111111111111", steady, 8, 0}};
    doc_case other[] = {{"tree", 2, "1111111111111111", steady, 8, 0}};
    char *sum = doc_make("sum", "GPU A", "1.0", cases, 1, 2), *rms = doc_make("rmsnorm", "GPU A", "1.0", cases, 1, 2);
    char *sum2 = doc_make("sum", "GPU A", "1.0", other, 1, 2);
    free(doc_write(dir, "sum.json", sum));
    free(doc_write(dir, "rmsnorm.json", rms));
    free(doc_write(dir, "sum-b2.json", sum2));
    free(doc_write(dir, "twin.json", sum));
    expect_usage("compare --baseline rmsnorm.json sum.json --fail-on bits", "a baseline of another operation");
    expect_usage("compare --baseline sum.json sum-b2.json", "no common cases");
    expect_usage("compare --baseline sum.json sum.json --fail-on slowdown=0", "--fail-on 'slowdown=0'");
    expect_usage("compare --baseline sum.json sum.json --fail-on slowdown=abc", "slowdown=RATIO takes a number");
    expect_usage("compare --baseline sum.json sum.json --fail-on slowdown=", "expected bits, slowdown=RATIO");
    expect_usage("compare --baseline sum.json sum.json --fail-on speed", "expected bits, slowdown=RATIO");
    expect_usage("compare --baseline sum.json sum.json --fail-on bits,,slowdown=2", "an empty item");
    expect_usage("compare --baseline sum.json sum.json --fail-on slowdown=2 --fail-on slowdown=3", "given twice");
    expect_usage("compare sum.json sum.json --fail-on bits", "--fail-on gates a comparison against a baseline");
    expect_usage("compare --baseline sum.json", "needs the new results");
    expect_usage("compare --baseline missing.json sum.json", "--baseline: missing.json");
    expect_usage("compare --baseline sum.json sum.json twin.json", "two new documents of run sum");
    expect_usage("compare --baseline sum.json sum.json --out -", "--out -: compare --baseline writes three files");
    expect_usage("compare --baseline sum.json sum.json --out sum.json", "Not a directory");
    expect_usage("run --fail-on bits", "unknown option '--fail-on'");
    /* nothing was written by any of them */
    ck_assert_int_eq(test_count_files(dir, "baseline."), 0);
    free(sum);
    free(rms);
    free(sum2);
}
END_TEST

START_TEST(hostile_strings_stay_inert)
{
    test_mkdtemp(dir, sizeof dir, "baseline");
    doc_case cases[] = {{"tree", 1, "1111111111111111", steady, 8, 0}};
    doc_case changed[] = {{"tree", 1, "2222222222222222", slower, 8, 0}};
    /* as the device, the driver and the run's name (the operation's too) */
    const char *hostile = "=cmd()\\u001b[31m | <b>x</b>\\nforged: line";
    char *a = doc_make(hostile, hostile, hostile, cases, 1, 2), *b2 = doc_make(hostile, hostile, hostile, changed, 1, 2);
    free(doc_write(dir, "a.json", a));
    free(doc_write(dir, "b.json", b2));
    char *out, *errs;
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline a.json b.json --fail-on bits --out gate", &out, &errs), 1);
    ck_assert_msg(strchr(out, '\x1b') == NULL && strchr(errs, '\x1b') == NULL, "%s", out);
    for (const char *line = out; *line;) { /* within 100 columns (ASCII here) */
        const char *end = strchr(line, '\n');
        ck_assert_msg(end && end - line <= 100, "long line: %.120s", line);
        line = end + 1;
    }
    free(out);
    free(errs);
    char path[1024];
    snprintf(path, sizeof path, "%s/gate/baseline.md", dir);
    char *md = doc_read_file(path);
    ck_assert_msg(strstr(md, "<b>") == NULL && strstr(md, "\x1b") == NULL, "%s", md);
    ck_assert_ptr_nonnull(strstr(md, "\\| &lt;b&gt;x"));
    free(md);
    snprintf(path, sizeof path, "%s/gate/baseline.csv", dir);
    char *csv = doc_read_file(path);
    ck_assert_msg(strstr(csv, "\"=") == NULL && strstr(csv, "\"'=cmd()") != NULL, "%s", csv);
    free(csv);
    free(a);
    free(b2);
}
END_TEST

/* Two real runs on the device; the second reads its kernels from a copy of cl/ where the dot
 * product q.k of attention's single and split strategies runs over the head dimension backwards:
 * the same products added in another order, still within the error bound (valid), other bits.
 * portable has a dot product of its own, left as it is. */
START_TEST(changed_kernel_caught_by_fail_on_bits)
{
    test_mkdtemp(dir, sizeof dir, "baseline");
    char kernels[512];
    test_sabotaged_kernels(kernels, sizeof kernels, "attention.cl",
                           "            for (uint j = 0; j < d; ++j)\n                dot = fma(ql[j], in_load(k, j), dot);",
                           "            for (uint j = d; j-- > 0;)\n                dot = fma(ql[j], in_load(k, j), dot);");
    const char *device = getenv("CLREPRO_TEST_DEVICE") ? getenv("CLREPRO_TEST_DEVICE") : "cpu";
    const char *shape = "--op attention --heads 2 --head-dim 64 --kv-len 512 --batch 1,4 --reps 5 --trials 2";
    char args[2048], *out, *errs;
    snprintf(args, sizeof args, "run %s --device '%s' --out a --quiet --no-progress", shape, device);
    ck_assert_msg(doc_run_bin(dir, args, &out, &errs) == 0, "%s", errs);
    free(out);
    free(errs);
    snprintf(args, sizeof args, "run %s --device '%s' --out b --kernel-dir '%s' --quiet --no-progress", shape, device,
             kernels);
    ck_assert_msg(doc_run_bin(dir, args, &out, &errs) == 0, "%s", errs);
    free(out);
    free(errs);
    /* a run against itself passes both gates */
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline a a --fail-on bits,slowdown=1.10 --out same", &out, &errs), 0);
    ck_assert_msg(strstr(out, "bits changed: 0") && strstr(out, "--fail-on bits: passed"), "%s", out);
    free(out);
    free(errs);
    /* the changed kernel is caught */
    ck_assert_int_eq(doc_run_bin(dir, "compare --baseline a b --fail-on bits --out changed", &out, &errs), 1);
    ck_assert_msg(strstr(out, "--fail-on bits: FAILED") && strstr(out, "bits changed (gated)"), "%s", out);
    ck_assert_ptr_nonnull(strstr(errs, "--fail-on bits:"));
    free(out);
    free(errs);
    char path[700];
    snprintf(path, sizeof path, "%s/changed/baseline.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    ck_assert_msg(root != NULL, "%s", jerr.text);
    size_t i, gated = 0;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        const char *strategy = json_string_value(json_object_get(c, "strategy"));
        int changed = json_is_true(json_object_get(c, "bits_changed"));
        gated += changed && json_is_true(json_object_get(c, "gated"));
        if (!strcmp(strategy, "portable")) /* it does not use the changed dot product */
            ck_assert_msg(!changed, "portable changed bits");
    }
    ck_assert_uint_gt(gated, 0);
    json_decref(root);
    test_remove_kernels(kernels);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("baseline");
    TCase *t = tcase_create("baseline");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, mann_whitney_known_values);
    tcase_add_test(t, against_itself_passes);
    tcase_add_test(t, bit_changes_gated_only_where_determinism_is_claimed);
    tcase_add_test(t, slowdown_judged_from_repetitions);
    tcase_add_test(t, pairs_by_run_and_device);
    tcase_add_test(t, bad_input_exits_2);
    tcase_add_test(t, hostile_strings_stay_inert);
    tcase_add_test(t, changed_kernel_caught_by_fail_on_bits);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
