/* test_export.c: `clrepro export --format gbench` and `clrepro run --out -`. The export of
 * hand-made documents is checked against what Google Benchmark's tools/compare.py reads
 * (gbench/util.py and report.py): a "benchmarks" list whose entries have name, real_time,
 * cpu_time and time_unit, repetitions of one case under one name with repetition_index 0..n-1,
 * aggregates with run_type "aggregate" and aggregate_name; plus the context's fields, names
 * unique per case, times in the stated unit (us), a device prefix where the inputs hold several
 * devices, collisions refused, invalid cases left out, schema 1 documents as one iteration. Then
 * on the device: `run --out -` prints exactly one JSON document on stdout (and refuses two
 * operations, with nothing on stdout). */
#include <check.h>
#include "test_docs.h"
#include <jansson.h>
#include <math.h>
#include "export.h"

static char dir[512];
static const double reps4[] = {1.0e-3, 2.0e-3, 4.0e-3, 3.0e-3};
static const double reps5[] = {10e-6, 11e-6, 12e-6, 13e-6, 14e-6};

static json_t *load_text(const char *text)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr); /* trailing content is an error: one document only */
    ck_assert_msg(root != NULL, "not one JSON document: %s (line %d)", jerr.text, jerr.line);
    return root;
}

/* What compare.py needs of every entry, and what Google Benchmark writes. */
static void check_entry(json_t *e)
{
    static const char *fields[] = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
                                   "repetitions", "threads", "iterations", "real_time", "cpu_time", "time_unit"};
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; ++k)
        ck_assert_msg(json_object_get(e, fields[k]) != NULL, "entry without %s", fields[k]);
    ck_assert(json_is_string(json_object_get(e, "name")) && json_is_number(json_object_get(e, "real_time")));
    ck_assert(json_is_number(json_object_get(e, "cpu_time")));
    ck_assert_str_eq(json_string_value(json_object_get(e, "time_unit")), "us");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "threads")), 1);
    const char *type = json_string_value(json_object_get(e, "run_type"));
    if (!strcmp(type, "iteration")) {
        ck_assert(json_is_integer(json_object_get(e, "repetition_index")));
        ck_assert_int_eq(json_integer_value(json_object_get(e, "iterations")), 1);
        ck_assert_str_eq(json_string_value(json_object_get(e, "name")),
                         json_string_value(json_object_get(e, "run_name")));
    } else {
        ck_assert_str_eq(type, "aggregate");
        ck_assert(json_is_string(json_object_get(e, "aggregate_name")));
        ck_assert(json_object_get(e, "repetition_index") == NULL);
    }
}

static json_t *find(json_t *benchmarks, const char *name, int index)
{
    size_t i;
    json_t *e;
    json_array_foreach(benchmarks, i, e)
        if (!strcmp(json_string_value(json_object_get(e, "name")), name) &&
            (index < 0 || json_integer_value(json_object_get(e, "repetition_index")) == index) &&
            (index >= 0 || !strcmp(json_string_value(json_object_get(e, "run_type")), "aggregate")))
            return e;
    return NULL;
}

START_TEST(gbench_fields_names_and_units)
{
    test_mkdtemp(dir, sizeof dir, "export");
    doc_case cases[] = {{"tree", 1, "1111111111111111", reps4, 4, 0}, {"split", 1, "2222222222222222", reps5, 5, 0},
                        {"tree", 8, "1111111111111111", reps5, 5, 0}, {"atomic", 1, "3333333333333333", NULL, 0, 1}};
    char *doc = doc_make("sum", "GPU A", "1.0", cases, 4, 2);
    free(doc_write(dir, "sum.json", doc));
    char *out, *errs;
    ck_assert_int_eq(doc_run_bin(dir, "export --format gbench sum.json -o -", &out, &errs), 0);
    ck_assert_msg(strstr(errs, "1 case left out"), "%s", errs);
    json_t *root = load_text(out);
    json_t *ctx = json_object_get(root, "context"), *benchmarks = json_object_get(root, "benchmarks");
    static const char *context_fields[] = {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
                                           "cpu_scaling_enabled", "caches", "library_build_type", "clrepro_device",
                                           "clrepro_driver", "clrepro_git_commit"};
    for (size_t k = 0; k < sizeof context_fields / sizeof context_fields[0]; ++k)
        ck_assert_msg(json_object_get(ctx, context_fields[k]) != NULL, "context without %s", context_fields[k]);
    ck_assert_str_eq(json_string_value(json_object_get(ctx, "clrepro_device")), "GPU A");
    ck_assert_str_eq(json_string_value(json_object_get(ctx, "clrepro_git_commit")), "abc123");
    /* 3 cases: 4 + 5 + 5 iterations and 4 aggregates each; atomic (invalid) left out */
    ck_assert_uint_eq(json_array_size(benchmarks), 4 + 5 + 5 + 3 * 4);
    size_t i;
    json_t *e;
    json_array_foreach(benchmarks, i, e)
        check_entry(e);
    const char *name = "sum/tree/n:64/dtype:fp32/B:1";
    for (int k = 0; k < 4; ++k) { /* every repetition, in microseconds, under one name */
        json_t *it = find(benchmarks, name, k);
        ck_assert_msg(it != NULL, "no repetition %d of %s", k, name);
        ck_assert_double_eq_tol(json_number_value(json_object_get(it, "real_time")), reps4[k] * 1e6, 1e-9);
        ck_assert_int_eq(json_integer_value(json_object_get(it, "repetitions")), 4);
    }
    json_t *mean = find(benchmarks, "sum/tree/n:64/dtype:fp32/B:1_mean", -1);
    json_t *median = find(benchmarks, "sum/tree/n:64/dtype:fp32/B:1_median", -1);
    json_t *cv = find(benchmarks, "sum/tree/n:64/dtype:fp32/B:1_cv", -1);
    ck_assert(mean && median && cv && find(benchmarks, "sum/tree/n:64/dtype:fp32/B:1_stddev", -1));
    ck_assert_double_eq_tol(json_number_value(json_object_get(mean, "real_time")), 2500, 1e-9);
    ck_assert_double_eq_tol(json_number_value(json_object_get(median, "real_time")), 2500, 1e-9);
    ck_assert_str_eq(json_string_value(json_object_get(mean, "run_name")), name);
    ck_assert_str_eq(json_string_value(json_object_get(cv, "aggregate_unit")), "percentage");
    ck_assert(find(benchmarks, "sum/atomic/n:64/dtype:fp32/B:1", 0) == NULL);
    /* families: one per strategy; tree's two cases are instances 0 and 1 of one family */
    json_t *t8 = find(benchmarks, "sum/tree/n:64/dtype:fp32/B:8", 0), *t1 = find(benchmarks, name, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(t8, "family_index")),
                     json_integer_value(json_object_get(t1, "family_index")));
    ck_assert_int_eq(json_integer_value(json_object_get(t8, "per_family_instance_index")), 1);
    /* names unique per case: every (name, repetition_index) once, every aggregate name once */
    json_array_foreach(benchmarks, i, e) {
        size_t j;
        json_t *f;
        json_array_foreach(benchmarks, j, f) {
            if (j <= i)
                continue;
            int same = !strcmp(json_string_value(json_object_get(e, "name")), json_string_value(json_object_get(f, "name")));
            ck_assert_msg(!same || (json_integer_value(json_object_get(e, "repetition_index")) !=
                                    json_integer_value(json_object_get(f, "repetition_index"))),
                          "entry %zu and %zu repeat a name", i, j);
        }
    }
    json_decref(root);
    free(out);
    free(errs);
    /* to a file: the same document, a line on stdout */
    ck_assert_int_eq(doc_run_bin(dir, "export --format gbench . -o sum.gbench.json", &out, &errs), 0);
    ck_assert_msg(strstr(out, "3 benchmarks from 1 documents"), "%s", out);
    free(out);
    free(errs);
    free(doc);
}
END_TEST

START_TEST(gbench_devices_collisions_schema1_and_bad_input)
{
    test_mkdtemp(dir, sizeof dir, "export");
    doc_case cases[] = {{"tree", 1, "1111111111111111", reps5, 5, 0}};
    char *a = doc_make("sum", "GPU A", "1.0", cases, 1, 2), *b = doc_make("sum", "CPU B", "2.0", cases, 1, 2);
    char *a2 = doc_make("sum", "GPU A", "1.1", cases, 1, 2), *v1 = doc_make("sum", "GPU A", "1.0", cases, 1, 1);
    free(doc_write(dir, "a.json", a));
    free(doc_write(dir, "b.json", b));
    free(doc_write(dir, "a2.json", a2));
    free(doc_write(dir, "v1.json", v1));
    clr_comparison cmp;
    clr_error err = {0};
    size_t n, left;
    /* two devices: each name starts with the device's slug */
    char *paths[] = {dir, NULL};
    char pa[700], pb[700], pa2[700], pv1[700];
    snprintf(pa, sizeof pa, "%s/a.json", dir);
    snprintf(pb, sizeof pb, "%s/b.json", dir);
    snprintf(pa2, sizeof pa2, "%s/a2.json", dir);
    snprintf(pv1, sizeof pv1, "%s/v1.json", dir);
    paths[0] = pa;
    paths[1] = pb;
    ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
    char *text = clr_export_gbench(&cmp, &n, &left, &err);
    ck_assert_msg(text != NULL, "%s", err.msg);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"gpu-a/sum/tree/n:64/dtype:fp32/B:1\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"cpu-b/sum/tree/n:64/dtype:fp32/B:1\""));
    free(text);
    clr_compare_free(&cmp);
    /* two documents of one run on one device: refused (compare.py would merge them) */
    paths[1] = pa2;
    ck_assert_msg(clr_compare_load(paths, 2, &cmp, &err) == 0, "%s", err.msg);
    ck_assert_ptr_null(clr_export_gbench(&cmp, &n, &left, &err));
    ck_assert_int_eq(err.code, CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "same benchmark name sum/tree/n:64/dtype:fp32/B:1"), "%s", err.msg);
    clr_compare_free(&cmp);
    /* schema 1: no repetitions, one iteration of the median, no aggregates */
    err = (clr_error){0};
    paths[0] = pv1;
    ck_assert_msg(clr_compare_load(paths, 1, &cmp, &err) == 0, "%s", err.msg);
    text = clr_export_gbench(&cmp, &n, &left, &err);
    ck_assert_msg(text != NULL, "%s", err.msg);
    json_t *root = load_text(text);
    json_t *benchmarks = json_object_get(root, "benchmarks");
    ck_assert_uint_eq(json_array_size(benchmarks), 1);
    check_entry(json_array_get(benchmarks, 0));
    ck_assert_double_eq_tol(json_number_value(json_object_get(json_array_get(benchmarks, 0), "real_time")), 12, 1e-9);
    json_decref(root);
    free(text);
    clr_compare_free(&cmp);
    /* bad input: status 2, one line, nothing written */
    char *out, *errs;
    ck_assert_int_eq(doc_run_bin(dir, "export a.json -o x.json", &out, &errs), 2);
    ck_assert_msg(strstr(errs, "needs --format gbench"), "%s", errs);
    free(out);
    free(errs);
    ck_assert_int_eq(doc_run_bin(dir, "export --format csv a.json -o x.json", &out, &errs), 2);
    ck_assert_msg(strstr(errs, "expected gbench"), "%s", errs);
    free(out);
    free(errs);
    ck_assert_int_eq(doc_run_bin(dir, "export --format gbench a.json", &out, &errs), 2);
    ck_assert_msg(strstr(errs, "needs -o FILE"), "%s", errs);
    free(out);
    free(errs);
    ck_assert_int_eq(doc_run_bin(dir, "export --format gbench a.json -o a.json", &out, &errs), 2);
    ck_assert_msg(strstr(errs, "is the input document"), "%s", errs);
    free(out);
    free(errs);
    ck_assert_int_eq(doc_run_bin(dir, "export --format gbench a.json a2.json -o -", &out, &errs), 2);
    ck_assert_str_eq(out, "");
    free(out);
    free(errs);
    ck_assert_int_eq(test_count_files(dir, "x.json"), 0);
    free(a);
    free(b);
    free(a2);
    free(v1);
}
END_TEST

START_TEST(run_out_dash_prints_one_document)
{
    test_mkdtemp(dir, sizeof dir, "export");
    const char *device = getenv("CLREPRO_TEST_DEVICE") ? getenv("CLREPRO_TEST_DEVICE") : "cpu";
    char args[1024], *out, *errs;
    snprintf(args, sizeof args, "run --op sum --n 4096 --batch 1,2 --strategy tree,atomic --reps 4 --trials 2 "
             "--device '%s' --out - --no-progress", device);
    ck_assert_msg(doc_run_bin(dir, args, &out, &errs) == 0, "%s", errs);
    json_t *root = load_text(out); /* exactly one document: json_loads refuses anything after it */
    ck_assert_str_eq(json_string_value(json_object_get(root, "schema")), "clrepro.results");
    ck_assert_uint_eq(json_array_size(json_object_get(root, "cases")), 4);
    ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(json_object_get(root, "cases"), 0),
                                                      "rep_times_s")), 4);
    json_decref(root);
    ck_assert_msg(strstr(errs, "sum: sum on"), "the summary goes to stderr: %s", errs);
    ck_assert_int_eq(test_count_files(dir, NULL), 2); /* .stdout and .stderr: no results folder */
    free(out);
    free(errs);
    /* --quiet: no summary either */
    snprintf(args, sizeof args, "run --op sum --n 4096 --batch 1 --strategy tree --reps 2 --trials 2 --device '%s' "
             "--out - --quiet --no-progress", device);
    ck_assert_int_eq(doc_run_bin(dir, args, &out, &errs), 0);
    json_decref(load_text(out));
    ck_assert_str_eq(errs, "");
    free(out);
    free(errs);
    /* two operations: refused before measuring, nothing on stdout */
    snprintf(args, sizeof args, "run --op sum,softmax --device '%s' --out -", device);
    ck_assert_int_eq(doc_run_bin(dir, args, &out, &errs), 2);
    ck_assert_str_eq(out, "");
    ck_assert_msg(strstr(errs, "standard output takes one results document"), "%s", errs);
    free(out);
    free(errs);
    ck_assert_int_eq(doc_run_bin(dir, "run --out - --resume", &out, &errs), 2);
    ck_assert_msg(strstr(errs, "--resume needs a results directory"), "%s", errs);
    free(out);
    free(errs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("export");
    TCase *t = tcase_create("export");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, gbench_fields_names_and_units);
    tcase_add_test(t, gbench_devices_collisions_schema1_and_bad_input);
    tcase_add_test(t, run_out_dash_prints_one_document);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
