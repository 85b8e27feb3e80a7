/* export.c: results documents as Google Benchmark's JSON (export.h), for its compare.py and for CI
 * benchmark trackers. The field set is the one benchmark's JSON reporter writes (context: date,
 * host_name, executable, num_cpus, mhz_per_cpu, cpu_scaling_enabled, caches, load_avg,
 * library_version, library_build_type, json_schema_version; per run: name, family_index,
 * per_family_instance_index, run_name, run_type, repetitions, repetition_index (iterations only),
 * threads, aggregate_name and aggregate_unit (aggregates only), iterations, real_time, cpu_time,
 * time_unit), with clrepro's own context fields prefixed clrepro_. Strings from documents go
 * through Jansson, which escapes them for JSON. */
#include "export.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"

/* "<device>/" where several devices, "<run>/<strategy>/<k:v>/.../<B>:<batch>". */
static char *benchmark_name(const clr_rdoc *doc, const clr_rcase *c, int with_device)
{
    clr_text t = {0};
    clr_text_printf(&t, "%s", "");
    if (with_device) {
        char slug[256];
        clr_slugify(doc->device, slug, sizeof slug);
        clr_text_printf(&t, "%s/", slug[0] ? slug : "device");
    }
    clr_text_printf(&t, "%s/%s/", doc->name, c->strategy);
    for (const char *p = c->shape; *p; ++p) /* "n=4096 dtype=fp32" -> "n:4096/dtype:fp32" */
        clr_text_append(&t, *p == ' ' ? "/" : *p == '=' ? ":" : p, 1);
    clr_text_printf(&t, "/%s:%zu", doc->batch_name[0] ? doc->batch_name : "B", c->batch);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

static int cmp_string_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One entry: an iteration (aggregate NULL) or an aggregate; time in seconds, written in us
 * (a cv is a fraction, written as it is). */
static json_t *entry(const char *name, const char *run_name, size_t family, size_t instance, size_t reps,
                     size_t index, const char *aggregate, double seconds)
{
    int cv = aggregate && !strcmp(aggregate, "cv");
    double v = cv ? seconds : seconds * 1e6;
    json_t *e = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I}", "name", name, "family_index", (json_int_t)family,
                          "per_family_instance_index", (json_int_t)instance, "run_name", run_name, "run_type",
                          aggregate ? "aggregate" : "iteration", "repetitions", (json_int_t)reps);
    if (!e)
        return NULL;
    int bad = 0;
    if (!aggregate)
        bad |= json_object_set_new(e, "repetition_index", json_integer((json_int_t)index));
    bad |= json_object_set_new(e, "threads", json_integer(1));
    if (aggregate) {
        bad |= json_object_set_new(e, "aggregate_name", json_string(aggregate));
        bad |= json_object_set_new(e, "aggregate_unit", json_string(cv ? "percentage" : "time"));
    }
    bad |= json_object_set_new(e, "iterations", json_integer(aggregate ? (json_int_t)reps : 1));
    bad |= json_object_set_new(e, "real_time", json_real(v));
    bad |= json_object_set_new(e, "cpu_time", json_real(v));
    bad |= json_object_set_new(e, "time_unit", json_string("us"));
    if (bad) {
        json_decref(e);
        return NULL;
    }
    return e;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Every entry of one case: its repetitions, then mean, median, stddev and cv. */
static int add_case(json_t *benchmarks, const char *name, size_t family, size_t instance, const clr_rcase *c)
{
    size_t n = c->nreps ? c->nreps : 1;
    const double *times = c->nreps ? c->rep_times : &c->median_s;
    for (size_t i = 0; i < n; ++i)
        if (clr_json_append(benchmarks, entry(name, name, family, instance, n, i, NULL, times[i])))
            return -1;
    if (n < 2)
        return 0;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; ++i)
        sum += times[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; ++i)
        sq += (times[i] - mean) * (times[i] - mean);
    double stddev = sqrt(sq / (double)(n - 1));
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return -1;
    memcpy(sorted, times, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    free(sorted);
    const char *names[] = {"mean", "median", "stddev", "cv"};
    double values[] = {mean, median, stddev, mean > 0 ? stddev / mean : 0};
    size_t len = strlen(name) + 8;
    char *aggregate_name = malloc(len);
    if (!aggregate_name)
        return -1;
    int rc = 0;
    for (int k = 0; k < 4 && !rc; ++k) {
        snprintf(aggregate_name, len, "%s_%s", name, names[k]);
        rc = clr_json_append(benchmarks, entry(aggregate_name, name, family, instance, n, 0, names[k], values[k]));
    }
    free(aggregate_name);
    return rc;
}

char *clr_export_gbench(const clr_comparison *cmp, size_t *nbenchmarks, size_t *left_out, clr_error *err)
{
    *nbenchmarks = *left_out = 0;
    int several_devices = 0;
    for (size_t i = 1; i < cmp->ndocs; ++i)
        several_devices |= strcmp(cmp->docs[i].device, cmp->docs[0].device) != 0;
    size_t total = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i)
        total += cmp->docs[i].ncases;
    /* Every name first: two cases with one name (two documents of one run and device, or a case
     * given twice in a document) would merge in compare.py, so they are refused, not written. */
    typedef struct named {
        char *name;
        size_t doc, index;
    } named;
    named *names = calloc(total ? total : 1, sizeof *names);
    char **sorted = calloc(total ? total : 1, sizeof *sorted);
    size_t n = 0;
    int rc = names && sorted ? CLR_OK : clr_fail(err, CLR_EFAIL, "out of host memory");
    for (size_t d = 0; d < cmp->ndocs && rc == CLR_OK; ++d)
        for (size_t k = 0; k < cmp->docs[d].ncases && rc == CLR_OK; ++k) {
            const clr_rcase *c = &cmp->docs[d].cases[k];
            if (c->skipped || !c->valid || !isfinite(c->median_s)) {
                ++*left_out;
                continue;
            }
            names[n] = (named){benchmark_name(&cmp->docs[d], c, several_devices), d, k};
            if (!names[n].name)
                rc = clr_fail(err, CLR_EFAIL, "out of host memory");
            else
                sorted[n] = names[n].name, ++n;
        }
    if (rc == CLR_OK) {
        qsort(sorted, n, sizeof *sorted, cmp_string_ptr);
        for (size_t i = 1; i < n && rc == CLR_OK; ++i)
            if (!strcmp(sorted[i], sorted[i - 1])) {
                const char *a = NULL, *b = NULL;
                for (size_t k = 0; k < n && !b; ++k)
                    if (!strcmp(names[k].name, sorted[i])) {
                        if (!a)
                            a = cmp->docs[names[k].doc].path;
                        else
                            b = cmp->docs[names[k].doc].path;
                    }
                rc = clr_fail(err, CLR_EUSAGE, "export: two cases would have the same benchmark name %s (from %s and "
                              "%s): compare.py would merge them; export documents of one run and device separately",
                              sorted[i], a, b);
            }
    }
    json_t *benchmarks = rc == CLR_OK ? json_array() : NULL;
    if (rc == CLR_OK && !benchmarks)
        rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    /* A family per (document, strategy), in order of first appearance; its instances numbered.
     * Documents come in order, so a document's families are the last ones found. */
    typedef struct family {
        size_t doc, instances;
        const char *strategy;
    } family;
    family *families = rc == CLR_OK ? calloc(n ? n : 1, sizeof *families) : NULL;
    size_t nfamilies = 0;
    if (rc == CLR_OK && !families)
        rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    for (size_t i = 0; i < n && rc == CLR_OK; ++i) {
        const clr_rcase *c = &cmp->docs[names[i].doc].cases[names[i].index];
        size_t f = nfamilies;
        for (size_t k = nfamilies; k-- > 0 && families[k].doc == names[i].doc && f == nfamilies;)
            if (!strcmp(families[k].strategy, c->strategy))
                f = k;
        if (f == nfamilies)
            families[nfamilies++] = (family){names[i].doc, 0, c->strategy};
        if (add_case(benchmarks, names[i].name, f, families[f].instances++, c))
            rc = clr_fail(err, CLR_EFAIL, "out of host memory writing the benchmarks");
        else
            ++*nbenchmarks;
    }
    free(families);
    /* The context: what benchmark writes, from the first document (results documents do not
     * record the host: the device stands for it), and clrepro's own fields. */
    json_t *root = NULL;
    if (rc == CLR_OK) {
        const clr_rdoc *first = &cmp->docs[0];
        json_t *docs = json_array();
        for (size_t d = 0; d < cmp->ndocs && docs; ++d)
            if (clr_json_append(docs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "path", cmp->docs[d].path, "run",
                                       cmp->docs[d].name, "op", cmp->docs[d].op, "device", cmp->docs[d].device,
                                       "platform", cmp->docs[d].platform, "driver", cmp->docs[d].driver,
                                       "git_commit", cmp->docs[d].git_commit, "started_utc", cmp->docs[d].started))) {
                json_decref(docs);
                docs = NULL;
            }
        char library[64];
        snprintf(library, sizeof library, "clrepro %s", CLREPRO_VERSION);
        json_t *context = docs ? json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:[], s:[], s:s, s:s, s:i, s:s, s:s, "
                                           "s:s, s:s, s:s, s:s, s:o}",
                                           "date", first->started, "host_name", first->device, "executable",
                                           "clrepro", "num_cpus", 0, "mhz_per_cpu", 0, "cpu_scaling_enabled", 0,
                                           "caches", "load_avg", "library_version", library, "library_build_type",
                                           "release", "json_schema_version", 1, "clrepro_device", first->device,
                                           "clrepro_platform", first->platform, "clrepro_driver", first->driver,
                                           "clrepro_git_commit", first->git_commit, "clrepro_tool_version",
                                           first->tool_version, "clrepro_time_source",
                                           "OpenCL profiling events: real_time = cpu_time = the kernel's time",
                                           "clrepro_documents", docs)
                                 : NULL;
        root = context ? json_pack("{s:o, s:O}", "context", context, "benchmarks", benchmarks) : NULL;
        if (!root)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory writing the context");
    }
    json_decref(benchmarks);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(root);
    if (rc == CLR_OK && !text)
        clr_fail(err, CLR_EFAIL, "out of host memory writing the benchmarks");
    for (size_t i = 0; i < n; ++i)
        free(names[i].name);
    free(names);
    free(sorted);
    if (text) {
        size_t len = strlen(text);
        char *nl = realloc(text, len + 2);
        if (!nl) {
            free(text);
            clr_fail(err, CLR_EFAIL, "out of host memory");
            return NULL;
        }
        nl[len] = '\n';
        nl[len + 1] = '\0';
        text = nl;
    }
    return text;
}
