/* results.c: the results reader. Jansson parses (with its own nesting limit, and refusing
 * invalid UTF-8); this file walks the tree with checked accessors, so a missing field, a wrong
 * type, an absurd number or a truncated file becomes one message, never a crash or an
 * out-of-bounds read. Strings are copied whole into the clr_rdoc, which owns them. A document
 * of another kind is told apart by its top-level "schema" (a compare, demo-order or audit document,
 * unrelated JSON): clr_results_load_or_identify says what it is instead of failing. */
#include "results.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema.h"
#include "text.h"

typedef struct reader {
    const char *label;
    clr_error *err;
    int version;
} reader;

/* Records the error (the first one wins) and returns -1. */
static int fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(reader *r, const char *fmt, ...)
{
    char msg[sizeof r->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    clr_fail(r->err, CLR_EUSAGE, "%s", msg);
    return -1;
}
#define FAIL fail

static json_t *get(reader *r, json_t *obj, const char *key, const char *where)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!v)
        FAIL(r, "%s: %s%s%s is missing", r->label, where, *where ? "." : "", key);
    return v;
}

/* A string, copied whole into *out (owned by the document). */
static int get_string(reader *r, json_t *obj, const char *key, const char *where, char **out)
{
    json_t *v = get(r, obj, key, where);
    if (!v)
        return -1;
    if (!json_is_string(v))
        return FAIL(r, "%s: %s%s%s should be a string", r->label, where, *where ? "." : "", key);
    *out = clr_strdup(json_string_value(v));
    if (!*out)
        return FAIL(r, "%s: out of host memory", r->label);
    return 0;
}

/* The largest order revision a document may give (strategies[].order). */
#define CLR_MAX_ORDER 1000000u

/* A number or null (NaN). */
static int get_number(reader *r, json_t *obj, const char *key, const char *where, double *out)
{
    json_t *v = get(r, obj, key, where);
    if (!v)
        return -1;
    if (json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    if (!json_is_number(v))
        return FAIL(r, "%s: %s.%s should be a number", r->label, where, key);
    *out = json_number_value(v);
    if (!isfinite(*out))
        return FAIL(r, "%s: %s.%s is not finite", r->label, where, key);
    return 0;
}

static int get_count(reader *r, json_t *obj, const char *key, const char *where, size_t max, size_t *out)
{
    json_t *v = get(r, obj, key, where);
    if (!v)
        return -1;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return FAIL(r, "%s: %s.%s should be a whole number from 0 to %zu", r->label, where, key, max);
    *out = (size_t)json_integer_value(v);
    return 0;
}

/* ulps: a non-negative integer, or null (unknown: -1). */
static int get_ulps(reader *r, json_t *obj, const char *key, const char *where, int64_t *out)
{
    json_t *v = get(r, obj, key, where);
    if (!v)
        return -1;
    if (json_is_null(v)) {
        *out = -1;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return FAIL(r, "%s: %s.%s should be a non-negative integer or null", r->label, where, key);
    *out = json_integer_value(v);
    return 0;
}

static int get_bool(reader *r, json_t *obj, const char *key, const char *where, int *out)
{
    json_t *v = get(r, obj, key, where);
    if (!v)
        return -1;
    if (!json_is_boolean(v))
        return FAIL(r, "%s: %s.%s should be true or false", r->label, where, key);
    *out = json_is_true(v);
    return 0;
}

static int parse_hex32(const char *s, uint32_t *out)
{
    if (strlen(s) != 8)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 8; ++i) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static int read_shape(reader *r, json_t *shape, const char *where, clr_rcase *c)
{
    if (!json_is_object(shape))
        return FAIL(r, "%s: %s.shape should be an object", r->label, where);
    clr_text t = {0};
    const char *key;
    json_t *v;
    clr_text_printf(&t, "%s", "");
    json_object_foreach(shape, key, v) {
        const char *sep = t.len ? " " : "";
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            clr_text_printf(&t, "%s%s=%lld", sep, key, (long long)json_integer_value(v));
        else if (json_is_string(v))
            clr_text_printf(&t, "%s%s=%s", sep, key, json_string_value(v));
        else {
            free(t.buf);
            return FAIL(r, "%s: %s.shape.%s should be a whole number or a string", r->label, where, key);
        }
        if (!strcmp(key, "kv-len"))
            c->kv_len = (double)json_integer_value(v);
    }
    if (t.failed) {
        free(t.buf);
        return FAIL(r, "%s: out of host memory", r->label);
    }
    c->shape = t.buf;
    return 0;
}

static int read_case(reader *r, json_t *jc, size_t index, clr_rcase *c)
{
    char where[48];
    snprintf(where, sizeof where, "cases[%zu]", index);
    if (!json_is_object(jc))
        return FAIL(r, "%s: %s should be an object", r->label, where);
    json_t *shape = get(r, jc, "shape", where);
    if (get_string(r, jc, "strategy", where, &c->strategy) || !shape ||
        read_shape(r, shape, where, c) || get_count(r, jc, "batch", where, (size_t)1 << 40, &c->batch))
        return -1;
    if (c->batch == 0)
        return FAIL(r, "%s: %s.batch is 0", r->label, where);
    if (json_object_get(jc, "skipped")) {
        c->skipped = 1;
        return 0;
    }
    json_t *time = get(r, jc, "time_s", where), *r2r = get(r, jc, "run_to_run", where);
    json_t *acc = get(r, jc, "accuracy", where), *probe = get(r, jc, "probe_bits", where);
    json_t *positions = get(r, jc, "positions", where);
    json_t *fp = get(r, jc, "fingerprint", where);
    if (!fp || !time || !r2r || !acc || !probe || !positions || get_bool(r, jc, "valid", where, &c->valid) ||
        get_number(r, jc, "gbps", where, &c->gbps) || get_number(r, jc, "gflops", where, &c->gflops) ||
        get_number(r, jc, r->version >= 2 ? "roof_gbps" : "copy_gbps", where, &c->copy_gbps) ||
        get_number(r, jc, "overhead", where, &c->overhead) ||
        get_count(r, r2r, "distinct", where, (size_t)1 << 30, &c->r2r_distinct) ||
        get_count(r, r2r, "trials", where, (size_t)1 << 30, &c->trials) ||
        get_ulps(r, r2r, "max_ulp", where, &c->r2r_max_ulp) || get_ulps(r, acc, "max_ulp", where, &c->accuracy_max_ulp))
        return -1;
    /* accuracy.scaled_u: the error in units of u (absent from older documents: NaN) */
    c->accuracy_scaled_u = NAN;
    if (json_object_get(acc, "scaled_u") && get_number(r, acc, "scaled_u", where, &c->accuracy_scaled_u))
        return -1;
    c->median_s = NAN;
    if (json_is_object(time)) {
        if (get_number(r, time, "median", where, &c->median_s))
            return -1;
        json_t *reps = json_object_get(jc, "rep_times_s");
        if (reps && !json_is_null(reps)) {
            if (!json_is_array(reps) || json_array_size(reps) == 0 || json_array_size(reps) > ((size_t)1 << 20))
                return FAIL(r, "%s: %s.rep_times_s should be an array of 1 to 2^20 numbers", r->label, where);
            c->nreps = json_array_size(reps);
            c->rep_times = calloc(c->nreps, sizeof *c->rep_times);
            if (!c->rep_times)
                return FAIL(r, "%s: out of memory", r->label);
            for (size_t i = 0; i < c->nreps; ++i) {
                json_t *t = json_array_get(reps, i);
                c->rep_times[i] = json_is_number(t) ? json_number_value(t) : -1;
                if (!(c->rep_times[i] >= 0) || !isfinite(c->rep_times[i]))
                    return FAIL(r, "%s: %s.rep_times_s[%zu] should be a time in seconds", r->label, where, i);
            }
        }
    } else if (!json_is_null(time)) {
        return FAIL(r, "%s: %s.time_s should be an object or null", r->label, where);
    }
    const char *hex = json_string_value(fp); /* NULL when not a string */
    if (!hex || strlen(hex) != 16 || strspn(hex, "0123456789abcdef") != 16)
        return FAIL(r, "%s: %s.fingerprint should be 16 hexadecimal digits", r->label, where);
    memcpy(c->fingerprint, hex, 17);
    if (!json_is_array(probe) || json_array_size(probe) > CLR_RESULTS_MAX_PROBE)
        return FAIL(r, "%s: %s.probe_bits should be an array of at most %d values", r->label, where,
                    CLR_RESULTS_MAX_PROBE);
    c->nprobe = json_array_size(probe);
    c->probe_bits = calloc(c->nprobe ? c->nprobe : 1, sizeof *c->probe_bits);
    if (!c->probe_bits)
        return FAIL(r, "%s: out of memory", r->label);
    for (size_t i = 0; i < c->nprobe; ++i) {
        json_t *h = json_array_get(probe, i);
        if (!json_is_string(h) || parse_hex32(json_string_value(h), &c->probe_bits[i]))
            return FAIL(r, "%s: %s.probe_bits[%zu] should be 8 hexadecimal digits", r->label, where, i);
    }
    if (!json_is_array(positions))
        return FAIL(r, "%s: %s.positions should be an array", r->label, where);
    for (size_t i = 0; i < json_array_size(positions) && c->npositions < 3; ++i) {
        json_t *p = json_array_get(positions, i);
        clr_rpos *rp = &c->positions[c->npositions];
        if (get_count(r, p, "position", where, (size_t)1 << 40, &rp->position) ||
            get_ulps(r, p, "max_ulp_vs_base", where, &rp->max_ulp_vs_base))
            return -1;
        c->npositions++;
    }
    json_t *bv = json_object_get(jc, "batch_variance");
    c->batch_max_ulp = -1;
    if (bv && (get_count(r, bv, "distinct", where, (size_t)1 << 30, &c->batch_distinct) ||
               get_ulps(r, bv, "max_ulp", where, &c->batch_max_ulp)))
        return -1;
    return 0;
}

static int read_switch(reader *r, json_t *js, size_t index, clr_rswitch *sw)
{
    char where[48];
    snprintf(where, sizeof where, "switch_points[%zu]", index);
    if (!json_is_object(js))
        return FAIL(r, "%s: %s should be an object", r->label, where);
    clr_rcase shape = {0};
    json_t *jshape = get(r, js, "shape", where);
    int rc = !jshape || read_shape(r, jshape, where, &shape);
    sw->shape = shape.shape;
    if (rc || get_string(r, js, "strategy", where, &sw->strategy) || get_string(r, js, "text", where, &sw->text) ||
        get_count(r, js, "measured", where, (size_t)1 << 30, &sw->measured) ||
        get_count(r, js, "changes_total", where, (size_t)1 << 30, &sw->changes_total))
        return -1;
    return 0;
}

static int read_claim(reader *r, json_t *jc, size_t index, clr_rclaim *c)
{
    char where[48];
    snprintf(where, sizeof where, "claims[%zu]", index);
    if (get_string(r, jc, "strategy", where, &c->strategy) || get_string(r, jc, "claim", where, &c->claim) ||
        get_string(r, jc, "observed", where, &c->observed) || get_string(r, jc, "evidence", where, &c->evidence) ||
        get_bool(r, jc, "claimed", where, &c->claimed) || get_bool(r, jc, "broken", where, &c->broken))
        return -1;
    return 0;
}

/* What a parsed document is, by its top-level "schema": "" for run results (CLR_SCHEMA_NAME),
 * else a description for messages ("a compare document (schema clrepro.compare, ...)"). */
static void identify(json_t *root, char *what, size_t size)
{
    json_t *schema = json_is_object(root) ? json_object_get(root, "schema") : NULL;
    const char *name = json_is_string(schema) ? json_string_value(schema) : NULL;
    what[0] = '\0';
    if (!json_is_object(root))
        snprintf(what, size, "JSON that is not a clrepro document (the top level is not an object)");
    else if (!schema)
        snprintf(what, size, "JSON that is not a clrepro document (it has no schema field)");
    else if (!name)
        snprintf(what, size, "JSON that is not a clrepro document (its schema field is not a string)");
    else if (!strcmp(name, "clrepro.compare"))
        snprintf(what, size, "a compare document (schema clrepro.compare, written by `clrepro compare`)");
    else if (!strcmp(name, "clrepro.demo-order"))
        snprintf(what, size, "a demo-order document (schema clrepro.demo-order, written by `clrepro demo order`)");
    else if (!strcmp(name, "clrepro.audit"))
        snprintf(what, size, "an audit document (schema clrepro.audit, written by `clrepro audit`)");
    else if (!strcmp(name, "clrepro.allreduce"))
        snprintf(what, size, "an allreduce document (schema clrepro.allreduce, written by `clrepro allreduce`; "
                             "its tables are in allreduce.md)");
    else if (!strcmp(name, "clrepro.decode"))
        snprintf(what, size, "%s", CLR_DECODE_WHAT);
    else if (strcmp(name, CLR_SCHEMA_NAME))
        snprintf(what, size, "a document of schema '%.64s'", name);
}

static int read_doc(reader *r, json_t *root, clr_rdoc *doc)
{
    char what[160];
    identify(root, what, sizeof what);
    if (what[0])
        return FAIL(r, "%s is %s, not run results: compare and report read the documents `clrepro run` writes "
                       "(schema %s)",
                    r->label, what, CLR_SCHEMA_NAME);
    json_t *ver = get(r, root, "schema_version", "");
    if (!ver)
        return -1;
    if (!json_is_integer(ver))
        return FAIL(r, "%s: schema_version should be an integer", r->label);
    r->version = doc->schema_version = (int)json_integer_value(ver);
    if (json_integer_value(ver) != 1 && json_integer_value(ver) != CLR_SCHEMA_VERSION)
        return FAIL(r, "%s: written with schema version %lld, this clrepro %s reads version %d; use a matching "
                       "clrepro",
                    r->label, (long long)json_integer_value(ver), CLREPRO_VERSION, CLR_SCHEMA_VERSION);
    json_t *peak = json_object_get(root, "peak");
    doc->peak_read_gbps = doc->peak_copy_gbps = NAN;
    if (r->version >= 2 && (!peak || get_number(r, peak, "read_gbps", "peak", &doc->peak_read_gbps) ||
                            get_number(r, peak, "copy_gbps", "peak", &doc->peak_copy_gbps)))
        return peak ? -1 : FAIL(r, "%s: peak is missing", r->label);
    json_t *tool = get(r, root, "tool", ""), *dev = get(r, root, "device", ""), *cfg = get(r, root, "config", "");
    json_t *cases = get(r, root, "cases", ""), *claims = get(r, root, "claims", "");
    json_t *strategies = get(r, root, "strategies", "");
    if (!tool || !dev || !cfg || !cases || !claims || !strategies ||
        get_string(r, tool, "version", "tool", &doc->tool_version) ||
        (r->version >= 2 && (get_string(r, tool, "git_commit", "tool", &doc->git_commit) ||
                             get_string(r, tool, "clblast", "tool", &doc->clblast))) ||
        get_string(r, dev, "name", "device", &doc->device) || get_string(r, dev, "platform", "device", &doc->platform) ||
        get_string(r, dev, "driver_version", "device", &doc->driver) ||
        get_string(r, dev, "type", "device", &doc->device_type) || get_string(r, cfg, "op", "config", &doc->op) ||
        get_string(r, cfg, "name", "config", &doc->name) ||
        get_string(r, cfg, "batch_name", "config", &doc->batch_name) ||
        get_string(r, cfg, "command", "config", &doc->command) ||
        get_string(r, root, "started_utc", "", &doc->started) ||
        get_number(r, root, "wall_seconds", "", &doc->wall_seconds))
        return -1;
    if ((!doc->git_commit && !(doc->git_commit = clr_strdup("unknown"))) ||
        (!doc->clblast && !(doc->clblast = clr_strdup("unknown"))))
        return FAIL(r, "%s: out of memory", r->label);
    if (!json_is_array(cases) || !json_is_array(claims) || !json_is_array(strategies))
        return FAIL(r, "%s: cases, claims and strategies should be arrays", r->label);
    doc->nstrategies = json_array_size(strategies);
    doc->strategies = calloc(doc->nstrategies ? doc->nstrategies : 1, sizeof *doc->strategies);
    doc->cases = calloc(json_array_size(cases) ? json_array_size(cases) : 1, sizeof *doc->cases);
    doc->claims = calloc(json_array_size(claims) ? json_array_size(claims) : 1, sizeof *doc->claims);
    if (!doc->strategies || !doc->cases || !doc->claims)
        return FAIL(r, "%s: out of memory", r->label);
    unsigned *orders = calloc(doc->nstrategies ? doc->nstrategies : 1, sizeof *orders); /* 0: not given */
    if (!orders)
        return FAIL(r, "%s: out of memory", r->label);
    for (size_t i = 0; i < doc->nstrategies; ++i) {
        char where[48];
        snprintf(where, sizeof where, "strategies[%zu]", i);
        json_t *js = json_array_get(strategies, i), *jo = json_object_get(js, "order"); /* none before 2026-11-28 */
        if (get_string(r, js, "name", where, &doc->strategies[i])) {
            free(orders);
            return -1;
        }
        if (jo && (!json_is_integer(jo) || json_integer_value(jo) < 1 || json_integer_value(jo) > CLR_MAX_ORDER)) {
            free(orders);
            return FAIL(r, "%s: %s.order should be a whole number from 1 to %u", r->label, where, CLR_MAX_ORDER);
        }
        orders[i] = jo ? (unsigned)json_integer_value(jo) : 0;
    }
    for (size_t i = 0; i < json_array_size(cases); ++i) {
        doc->ncases++; /* counted first, so its probe bits are freed on failure */
        if (read_case(r, json_array_get(cases, i), i, &doc->cases[i])) {
            free(orders);
            return -1;
        }
        clr_rcase *c = &doc->cases[i];
        c->order = 1; /* not given: revision 1, as every strategy was before the field */
        for (size_t k = 0; k < doc->nstrategies; ++k)
            if (!strcmp(doc->strategies[k], c->strategy) && orders[k]) {
                c->order = orders[k];
                c->order_given = 1;
            }
    }
    free(orders);
    json_t *switches = json_object_get(root, "switch_points");
    if (switches) {
        if (!json_is_array(switches))
            return FAIL(r, "%s: switch_points should be an array", r->label);
        doc->switches = calloc(json_array_size(switches) ? json_array_size(switches) : 1, sizeof *doc->switches);
        if (!doc->switches)
            return FAIL(r, "%s: out of memory", r->label);
        for (size_t i = 0; i < json_array_size(switches); ++i) {
            doc->nswitches++; /* counted first, so its strings are freed on failure */
            if (read_switch(r, json_array_get(switches, i), i, &doc->switches[i]))
                return -1;
        }
    }
    for (size_t i = 0; i < json_array_size(claims); ++i) {
        doc->nclaims++; /* counted first, so its strings are freed on failure */
        if (read_claim(r, json_array_get(claims, i), i, &doc->claims[i]))
            return -1;
    }
    return 0;
}

/* Parses bytes into *root; CLR_EUSAGE naming the label when they are not valid JSON. */
static int parse_json(const char *bytes, size_t size, const char *label, json_t **root, clr_error *err)
{
    json_error_t jerr;
    *root = json_loadb(bytes, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return clr_fail(err, CLR_EUSAGE, "%s: not valid JSON (line %d, column %d: %s)", label, jerr.line, jerr.column,
                        jerr.text);
    return CLR_OK;
}

/* Reads a parsed document into *doc (which owns a copy of label). */
static int read_root(json_t *root, const char *label, clr_rdoc *doc, clr_error *err)
{
    memset(doc, 0, sizeof *doc);
    doc->path = clr_utf8_copy(label);
    if (!doc->path)
        return clr_fail(err, CLR_EFAIL, "out of host memory reading %s", label);
    reader r = {label, err, 0};
    if (read_doc(&r, root, doc)) {
        clr_rdoc_free(doc);
        return err->code ? err->code : CLR_EUSAGE;
    }
    return CLR_OK;
}

int clr_results_parse(const char *bytes, size_t size, const char *label, clr_rdoc *doc, clr_error *err)
{
    memset(doc, 0, sizeof *doc);
    json_t *root;
    if (parse_json(bytes, size, label, &root, err))
        return err->code;
    int rc = read_root(root, label, doc, err);
    json_decref(root);
    return rc;
}

/* The whole file, at most CLR_RESULTS_MAX_BYTES, in *buf (malloc'ed). */
static int read_whole(const char *path, char **buf, size_t *len, clr_error *err)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return clr_fail(err, CLR_EUSAGE, "cannot open results file %s: %s", path, strerror(errno));
    size_t cap = 0;
    int rc = CLR_OK;
    for (;;) {
        if (*len + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *grown = cap <= CLR_RESULTS_MAX_BYTES + 65536 ? realloc(*buf, cap) : NULL;
            if (!grown) {
                rc = clr_fail(err, CLR_EUSAGE, "%s: larger than %zu bytes; not a clrepro results file", path,
                              CLR_RESULTS_MAX_BYTES);
                break;
            }
            *buf = grown;
        }
        size_t got = fread(*buf + *len, 1, 65536, f);
        *len += got;
        if (got < 65536)
            break;
    }
    if (rc == CLR_OK && ferror(f))
        rc = clr_fail(err, CLR_EUSAGE, "error reading %s: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

int clr_results_load(const char *path, clr_rdoc *doc, clr_error *err)
{
    memset(doc, 0, sizeof *doc);
    char *buf;
    size_t len;
    int rc = read_whole(path, &buf, &len, err);
    if (rc == CLR_OK)
        rc = clr_results_parse(buf, len, path, doc, err);
    free(buf);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int clr_results_load_or_identify(const char *path, clr_rdoc *doc, char *what, size_t size, clr_error *err)
{
    memset(doc, 0, sizeof *doc);
    what[0] = '\0';
    char *buf;
    size_t len;
    int rc = read_whole(path, &buf, &len, err);
    if (rc)
        return rc;
    json_t *root = NULL;
    if (!ends_with(path, ".json")) {
        json_error_t jerr;
        root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
            snprintf(what, size, "not JSON (compare and report read the .json files `clrepro run` writes)");
    } else {
        rc = parse_json(buf, len, path, &root, err);
    }
    free(buf);
    if (root) {
        identify(root, what, size);
        if (!what[0])
            rc = read_root(root, path, doc, err);
    }
    json_decref(root);
    return rc;
}

void clr_rdoc_free(clr_rdoc *doc)
{
    for (size_t i = 0; i < doc->ncases; ++i) {
        free(doc->cases[i].probe_bits);
        free(doc->cases[i].rep_times);
        free(doc->cases[i].strategy);
        free(doc->cases[i].shape);
    }
    for (size_t i = 0; i < doc->nclaims; ++i) {
        free(doc->claims[i].strategy);
        free(doc->claims[i].claim);
        free(doc->claims[i].observed);
        free(doc->claims[i].evidence);
    }
    for (size_t i = 0; i < doc->nswitches; ++i) {
        free(doc->switches[i].strategy);
        free(doc->switches[i].shape);
        free(doc->switches[i].text);
    }
    free(doc->switches);
    doc->switches = NULL;
    doc->nswitches = 0;
    for (size_t i = 0; doc->strategies && i < doc->nstrategies; ++i)
        free(doc->strategies[i]);
    char **strings[] = {&doc->path, &doc->tool_version, &doc->device, &doc->platform, &doc->driver,
                        &doc->device_type, &doc->op, &doc->name, &doc->batch_name, &doc->started, &doc->command,
                        &doc->git_commit, &doc->clblast};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; ++i) {
        free(*strings[i]);
        *strings[i] = NULL;
    }
    free(doc->cases);
    free(doc->claims);
    free(doc->strategies);
    doc->cases = NULL;
    doc->claims = NULL;
    doc->strategies = NULL;
    doc->ncases = doc->nclaims = doc->nstrategies = 0;
}

char *clr_utf8_copy(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1), *o = out; /* each bad byte becomes 3 */
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = clr_utf8_char(p);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        }
    }
    *o = '\0';
    return out;
}

int clr_json_append(json_t *arr, json_t *item)
{
    return arr && item ? json_array_append_new(arr, item) : (json_decref(item), -1);
}
