/* test_docs.h: hand-made results documents (schema clrepro.results, versions 1 and 2) with known
 * fingerprints, claims and timed repetitions, and running the binary with its stdout and stderr
 * kept apart; for test_baseline.c and test_export.c. */
#ifndef CLREPRO_TEST_DOCS_H
#define CLREPRO_TEST_DOCS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "test_util.h"

/* One case: strategy, batch, fingerprint, and its repetitions in seconds (NULL, 0: none; the
 * median then 1 ms); invalid: time null. */
typedef struct doc_case {
    const char *strategy;
    int batch;
    const char *fingerprint;
    const double *reps;
    size_t nreps;
    int invalid;
} doc_case;

/* Claims: tree, split and fixed claim determinism, atomic claims nothing. */
#define DOC_CLAIMS                                                                                                    \
    "[{\"strategy\": \"tree\", \"claim\": \"deterministic\", \"claimed\": true, \"observed\": \"held\", "              \
    "\"broken\": false, \"evidence\": \"x\"}, {\"strategy\": \"split\", \"claim\": \"deterministic\", \"claimed\": "   \
    "true, \"observed\": \"held\", \"broken\": false, \"evidence\": \"x\"}, {\"strategy\": \"atomic\", \"claim\": "    \
    "\"deterministic\", \"claimed\": false, \"observed\": \"violated\", \"broken\": false, \"evidence\": \"x\"}]"

/* A document of operation op (its run name too) on device; version 1 or 2. */
static inline char *doc_make(const char *op, const char *device, const char *driver, const doc_case *cases, size_t n,
                             int version)
{
    size_t cap = 8192 + n * 4096;
    char *buf = malloc(cap);
    size_t len = (size_t)snprintf(buf, cap,
        "{\"schema\": \"clrepro.results\", \"schema_version\": %d, \"tool\": {\"name\": \"clrepro\", \"version\": "
        "\"0.1.0\", \"git_commit\": \"abc123\", \"clblast\": \"not built\"}, \"started_utc\": \"2026-01-01T00:00:00Z\","
        " \"wall_seconds\": 1.5, \"device\": {\"name\": \"%s\", \"platform\": \"P\", \"driver_version\": \"%s\", "
        "\"type\": \"GPU\"}, \"config\": {\"op\": \"%s\", \"name\": \"%s\", \"batch_name\": \"B\", \"command\": "
        "\"clrepro run\"}, \"peak\": {\"read_gbps\": 10, \"copy_gbps\": 9}, \"strategies\": [{\"name\": \"tree\"}, "
        "{\"name\": \"split\"}, {\"name\": \"atomic\"}], \"claims\": " DOC_CLAIMS ", \"cases\": [",
        version, device, driver, op, op);
    for (size_t i = 0; i < n; ++i) {
        const doc_case *c = &cases[i];
        char reps[2048] = "null", time[64] = "null";
        double median = 1e-3;
        if (c->nreps && !c->invalid) {
            size_t at = (size_t)snprintf(reps, sizeof reps, "[");
            for (size_t k = 0; k < c->nreps; ++k)
                at += (size_t)snprintf(reps + at, sizeof reps - at, "%s%.9g", k ? ", " : "", c->reps[k]);
            snprintf(reps + at, sizeof reps - at, "]");
            median = c->reps[c->nreps / 2];
        }
        if (!c->invalid)
            snprintf(time, sizeof time, "{\"median\": %.9g}", median);
        len += (size_t)snprintf(buf + len, cap - len,
            "%s{\"strategy\": \"%s\", \"shape\": {\"n\": 64, \"dtype\": \"fp32\"}, \"batch\": %d, \"valid\": %s, "
            "\"time_s\": %s, %s%s%s\"gbps\": 1.0, \"gflops\": 0.5, \"%s\": 2.0, \"overhead\": 1, "
            "\"run_to_run\": {\"trials\": 5, \"distinct\": 1, \"max_ulp\": 0}, \"accuracy\": {\"max_ulp\": 1}, "
            "\"fingerprint\": \"%s\", \"probe_bits\": [\"3f800000\"], \"positions\": [{\"position\": 0, "
            "\"max_ulp_vs_base\": 0}]}",
            i ? ", " : "", c->strategy, c->batch, c->invalid ? "false" : "true", time,
            version >= 2 ? "\"rep_times_s\": " : "", version >= 2 ? reps : "", version >= 2 ? ", " : "",
            version >= 2 ? "roof_gbps" : "copy_gbps", c->fingerprint);
    }
    snprintf(buf + len, cap - len, "]}");
    return buf;
}

/* text written to dir/name; returns the path (malloc'ed). */
static inline char *doc_write(const char *dir, const char *name, const char *text)
{
    char *path = malloc(1024);
    snprintf(path, 1024, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static inline char *doc_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return calloc(1, 1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

/* `clrepro ARGS` run in dir, under a time limit; its exit status, stdout and stderr (malloc'ed). */
static inline int doc_run_bin(const char *dir, const char *args, char **out, char **err_text)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec timeout -s KILL 300 '%s' %s >'%s/.stdout' 2>'%s/.stderr'", dir,
             CLREPRO_BIN, args, dir, dir);
    int status = system(cmd);
    char path[1024];
    snprintf(path, sizeof path, "%s/.stdout", dir);
    *out = doc_read_file(path);
    snprintf(path, sizeof path, "%s/.stderr", dir);
    *err_text = doc_read_file(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#endif
