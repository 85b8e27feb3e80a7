/* compare_decode.c: the documents `clrepro decode` writes (schema clrepro.decode, version 1),
 * for `compare` and `report`. They come from other machines, so every field is type- and
 * range-checked; a damaged one is set aside with what is wrong with it (compare.c lists it),
 * never an error and never a crash. Documents are grouped by experiment (the same model, name
 * and configuration, and the same prompts, prompt ids, tokens, batches, repeats, seed and
 * activations): only those are comparable. Per experiment and mode: the prompts whose every
 * run (every batch, every repeat) on every device gave one completion, the prompts whose
 * reference completion (the prompt decoded alone) is the same on every device, and per device
 * the prompts with one completion there. Writes compare.md's section and compare.json's
 * "decode" array; report_html.c draws its own section from the same figures. Every string from
 * a document is escaped where it lands (text.h). */
#include "compare.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNT ((json_int_t)1 << 30) /* prompts, tokens, batch sizes, repeats */
#define MAX_BATCHES 4096
#define MAX_MODES 64
#define MAX_LISTED 32 /* differing prompts named in compare.md; the rest counted */

/* ---- reading one document ---- */

typedef struct reader {
    char *why; /* the first thing wrong with the document */
    size_t size;
    int oom;
} reader;

static int bad(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(reader *r, const char *fmt, ...)
{
    if (!r->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, r->size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int out_of_memory(reader *r)
{
    r->oom = 1;
    return -1;
}

static json_t *member(reader *r, json_t *obj, const char *key, const char *where)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        bad(r, "%s%s%s is missing", where, *where ? "." : "", key);
    return v;
}

static json_t *get_object(reader *r, json_t *obj, const char *key, const char *where)
{
    json_t *v = member(r, obj, key, where);
    if (v && !json_is_object(v)) {
        bad(r, "%s%s%s should be an object", where, *where ? "." : "", key);
        return NULL;
    }
    return v;
}

static json_t *get_array(reader *r, json_t *obj, const char *key, const char *where, size_t min, size_t max)
{
    json_t *v = member(r, obj, key, where);
    if (v && (!json_is_array(v) || json_array_size(v) < min || json_array_size(v) > max)) {
        bad(r, "%s%s%s should be an array of %zu to %zu entries", where, *where ? "." : "", key, min, max);
        return NULL;
    }
    return v;
}

static int get_string(reader *r, json_t *obj, const char *key, const char *where, char **out)
{
    json_t *v = member(r, obj, key, where);
    if (!v)
        return -1;
    if (!json_is_string(v))
        return bad(r, "%s%s%s should be a string", where, *where ? "." : "", key);
    if (!(*out = clr_strdup(json_string_value(v))))
        return out_of_memory(r);
    return 0;
}

static int get_integer(reader *r, json_t *obj, const char *key, const char *where, json_int_t min, json_int_t max,
                       json_int_t *out)
{
    json_t *v = member(r, obj, key, where);
    if (!v)
        return -1;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return bad(r, "%s%s%s should be an integer from %lld to %lld", where, *where ? "." : "", key, (long long)min,
                   (long long)max);
    *out = json_integer_value(v);
    return 0;
}

static int get_count(reader *r, json_t *obj, const char *key, const char *where, json_int_t min, size_t *out)
{
    json_int_t v;
    if (get_integer(r, obj, key, where, min, MAX_COUNT, &v))
        return -1;
    *out = (size_t)v;
    return 0;
}

/* A number at least 0; NaN where null or absent. */
static int get_figure(reader *r, json_t *obj, const char *key, const char *where, double *out)
{
    json_t *v = json_object_get(obj, key);
    *out = NAN;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= 0))
        return bad(r, "%s.%s should be a number, at least 0, or null", where, key);
    *out = json_number_value(v);
    return 0;
}

/* 16 hex digits, kept in lower case. */
static int get_fingerprint(reader *r, json_t *obj, const char *key, const char *where, char out[17])
{
    json_t *v = member(r, obj, key, where);
    if (!v)
        return -1;
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = 0;
    for (; n < 17 && s[n]; ++n) {
        char c = s[n];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            break;
        if (n < 16)
            out[n] = c;
    }
    if (n != 16 || s[16])
        return bad(r, "%s.%s should be 16 hex digits", where, key);
    out[16] = '\0';
    return 0;
}

/* A prompt's runs: exactly one per (batch of config.batches, repeat < config.repeats), as the
 * writer makes them; fewer would let a document claim agreement it never measured. */
static int read_prompt(reader *r, json_t *jp, const char *where, const clr_ddoc *d, clr_dprompt *p)
{
    if (get_fingerprint(r, jp, "fingerprint", where, p->fingerprint))
        return -1;
    size_t want = d->nbatches * d->repeats;
    json_t *runs = get_array(r, jp, "runs", where, want, want);
    if (!runs)
        return -1;
    p->nruns = json_array_size(runs);
    p->runs = calloc(p->nruns ? p->nruns : 1, sizeof *p->runs);
    if (!p->runs)
        return out_of_memory(r);
    p->one = 1;
    for (size_t k = 0; k < p->nruns; ++k) {
        char at[160];
        snprintf(at, sizeof at, "%s.runs[%zu]", where, k);
        json_t *jr = json_array_get(runs, k);
        clr_drun *run = &p->runs[k];
        if (!json_is_object(jr))
            return bad(r, "%s should be an object", at);
        if (get_count(r, jr, "batch", at, 1, &run->batch) || get_count(r, jr, "repeat", at, 0, &run->repeat) ||
            get_fingerprint(r, jr, "fingerprint", at, run->fingerprint))
            return -1;
        size_t b = 0;
        while (b < d->nbatches && d->batches[b] != run->batch)
            ++b;
        if (b == d->nbatches || run->repeat >= d->repeats)
            return bad(r, "%s: batch %zu, repeat %zu is not one of config.batches x config.repeats", at, run->batch,
                       run->repeat);
        for (size_t j = 0; j < k; ++j)
            if (p->runs[j].batch == run->batch && p->runs[j].repeat == run->repeat)
                return bad(r, "%s: batch %zu, repeat %zu appears twice", at, run->batch, run->repeat);
        p->one &= !strcmp(run->fingerprint, p->fingerprint);
    }
    return 0;
}

static int read_mode(reader *r, json_t *jm, const char *where, size_t nprompts, const clr_ddoc *d, clr_dmode *m)
{
    if (!json_is_object(jm))
        return bad(r, "%s should be an object", where);
    if (get_string(r, jm, "mode", where, &m->mode))
        return -1;
    json_t *not_run = json_object_get(jm, "not_run");
    if (not_run && !json_is_null(not_run)) {
        if (!json_is_string(not_run))
            return bad(r, "%s.not_run should be a string (why the mode did not run)", where);
        if (!(m->not_run = clr_strdup(json_string_value(not_run))))
            return out_of_memory(r);
        return 0;
    }
    json_t *prompts = get_array(r, jm, "prompts", where, nprompts, nprompts);
    json_t *batches = prompts ? get_array(r, jm, "batches", where, 0, MAX_BATCHES) : NULL;
    if (!batches)
        return -1;
    /* the counts are set once their arrays exist: clr_ddoc_free walks them */
    m->prompts = calloc(nprompts, sizeof *m->prompts);
    m->batches = calloc(json_array_size(batches) ? json_array_size(batches) : 1, sizeof *m->batches);
    if (!m->prompts || !m->batches)
        return out_of_memory(r);
    m->nprompts = nprompts;
    m->nbatches = json_array_size(batches);
    for (size_t i = 0; i < nprompts; ++i) {
        char at[128];
        snprintf(at, sizeof at, "%s.prompts[%zu]", where, i);
        json_t *jp = json_array_get(prompts, i);
        json_int_t index;
        if (!json_is_object(jp))
            return bad(r, "%s should be an object", at);
        if (get_integer(r, jp, "prompt", at, 0, (json_int_t)nprompts - 1, &index))
            return -1;
        clr_dprompt *p = &m->prompts[index];
        if (p->runs)
            return bad(r, "%s: prompt %lld appears twice", at, (long long)index);
        if (read_prompt(r, jp, at, d, p))
            return -1;
        m->one_completion += (size_t)p->one;
    }
    for (size_t b = 0; b < m->nbatches; ++b) {
        char at[128];
        snprintf(at, sizeof at, "%s.batches[%zu]", where, b);
        json_t *jb = json_array_get(batches, b);
        clr_dbatch *x = &m->batches[b];
        if (!json_is_object(jb))
            return bad(r, "%s should be an object", at);
        if (get_count(r, jb, "batch", at, 1, &x->batch) || get_figure(r, jb, "tokens_per_s", at, &x->tokens_per_s) ||
            get_figure(r, jb, "step_ms", at, &x->step_ms) ||
            get_figure(r, jb, "roof_fraction", at, &x->roof_fraction) ||
            get_figure(r, jb, "overhead_vs_fast", at, &x->overhead_vs_fast))
            return -1;
    }
    return 0;
}

/* What makes two documents comparable, as canonical JSON (keys sorted, no spaces). */
static int experiment_key(reader *r, json_t *model, json_t *config, clr_ddoc *d)
{
    static const char *const fields[] = {"prompts", "tokens", "batches", "repeats", "seed", "activations",
                                         "prompt_ids"};
    json_t *key = json_pack("{s:{s:O, s:O}}", "model", "name", json_object_get(model, "name"), "config",
                            json_object_get(model, "config"));
    for (size_t i = 0; key && i < sizeof fields / sizeof *fields; ++i)
        if (json_object_set(key, fields[i], json_object_get(config, fields[i]))) {
            json_decref(key);
            key = NULL;
        }
    d->experiment_key = key ? json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(key);
    return d->experiment_key ? 0 : out_of_memory(r);
}

static int read_ddoc(reader *r, json_t *root, clr_ddoc *d)
{
    json_int_t version, seed;
    if (!json_is_object(root))
        return bad(r, "the top level is not an object");
    if (get_integer(r, root, "schema_version", "", INT32_MIN, INT32_MAX, &version))
        return -1;
    if (version != 1)
        return bad(r, "written with schema version %lld; this clrepro %s reads version 1", (long long)version,
                   CLREPRO_VERSION);
    json_t *device = get_object(r, root, "device", "");
    if (!device || get_string(r, device, "name", "device", &d->device) ||
        get_string(r, device, "platform", "device", &d->platform) ||
        get_string(r, device, "driver_version", "device", &d->driver))
        return -1;
    json_t *model = get_object(r, root, "model", "");
    if (!model || get_string(r, model, "name", "model", &d->model) || !get_object(r, model, "config", "model"))
        return -1;
    json_t *config = get_object(r, root, "config", "");
    if (!config || get_count(r, config, "prompts", "config", 1, &d->prompts) ||
        get_count(r, config, "tokens", "config", 1, &d->tokens) ||
        get_count(r, config, "repeats", "config", 1, &d->repeats) ||
        get_integer(r, config, "seed", "config", INT64_MIN, INT64_MAX, &seed) ||
        get_string(r, config, "activations", "config", &d->activations))
        return -1;
    d->seed = (long long)seed;
    json_t *batches = get_array(r, config, "batches", "config", 1, MAX_BATCHES);
    json_t *ids = batches ? get_array(r, config, "prompt_ids", "config", d->prompts, d->prompts) : NULL;
    if (!ids)
        return -1;
    d->nbatches = json_array_size(batches);
    if (!(d->batches = calloc(d->nbatches, sizeof *d->batches)))
        return out_of_memory(r);
    for (size_t i = 0; i < d->nbatches; ++i) {
        json_t *b = json_array_get(batches, i);
        if (!json_is_integer(b) || json_integer_value(b) < 1 || json_integer_value(b) > MAX_COUNT)
            return bad(r, "config.batches[%zu] should be an integer from 1 to %lld", i, (long long)MAX_COUNT);
        d->batches[i] = (size_t)json_integer_value(b);
    }
    if (experiment_key(r, model, config, d))
        return -1;
    json_t *modes = get_array(r, root, "modes", "", 1, MAX_MODES);
    if (!modes)
        return -1;
    if (!(d->modes = calloc(json_array_size(modes), sizeof *d->modes)))
        return out_of_memory(r);
    d->nmodes = json_array_size(modes);
    for (size_t i = 0; i < d->nmodes; ++i) {
        char at[32];
        snprintf(at, sizeof at, "modes[%zu]", i);
        if (read_mode(r, json_array_get(modes, i), at, d->prompts, d, &d->modes[i]))
            return -1;
        for (size_t k = 0; k < i; ++k)
            if (!strcmp(d->modes[k].mode, d->modes[i].mode))
                return bad(r, "modes[%zu]: the mode of modes[%zu] again", i, k);
    }
    return 0;
}

int clr_decode_doc_load(const char *path, clr_ddoc *doc, char *why, size_t size, clr_error *err)
{
    memset(doc, 0, sizeof *doc);
    why[0] = '\0';
    reader r = {why, size, 0};
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        bad(&r, "not valid JSON (line %d: %s)", jerr.line, jerr.text);
    else if (!(doc->file = clr_strdup(path)) || !(doc->path = clr_utf8_copy(path)))
        out_of_memory(&r);
    else
        read_ddoc(&r, root, doc);
    json_decref(root);
    if (r.oom || why[0]) {
        clr_ddoc_free(doc);
        if (r.oom)
            return clr_fail(err, CLR_EFAIL, "out of host memory reading %s", path);
    }
    return CLR_OK;
}

void clr_ddoc_free(clr_ddoc *d)
{
    for (size_t i = 0; i < d->nmodes; ++i) {
        clr_dmode *m = &d->modes[i];
        for (size_t p = 0; p < m->nprompts; ++p)
            free(m->prompts[p].runs);
        free(m->prompts);
        free(m->batches);
        free(m->mode);
        free(m->not_run);
    }
    free(d->modes);
    free(d->file);
    free(d->path);
    free(d->device);
    free(d->platform);
    free(d->driver);
    free(d->label);
    free(d->model);
    free(d->activations);
    free(d->batches);
    free(d->experiment_key);
    memset(d, 0, sizeof *d);
}

/* ---- grouping and judging ---- */

static int add_mode(clr_dexperiment *x, const clr_ddoc *d, size_t doc, const clr_dmode *m)
{
    clr_dagreement *a = NULL;
    for (size_t i = 0; i < x->nmodes && !a; ++i)
        if (!strcmp(x->modes[i].mode, m->mode))
            a = &x->modes[i];
    if (!a) {
        a = &x->modes[x->nmodes++];
        a->mode = m->mode;
        a->prompts = d->prompts;
        a->docs = malloc(x->ndocs * sizeof *a->docs);
        a->runs = malloc(x->ndocs * sizeof *a->runs);
        a->not_run = malloc(x->ndocs * sizeof *a->not_run);
        if (!a->docs || !a->runs || !a->not_run)
            return -1;
    }
    if (m->not_run) {
        a->not_run[a->nnot_run++] = doc;
    } else {
        a->docs[a->ndocs] = doc;
        a->runs[a->ndocs++] = m;
    }
    return 0;
}

static int judge(clr_dagreement *a)
{
    a->differing = malloc((a->prompts ? a->prompts : 1) * sizeof *a->differing);
    if (!a->differing)
        return -1;
    if (!a->ndocs)
        return 0;
    for (size_t p = 0; p < a->prompts; ++p) {
        const char *ref = a->runs[0]->prompts[p].fingerprint;
        int same = 1, one = 1;
        for (size_t k = 0; k < a->ndocs; ++k) {
            same &= !strcmp(a->runs[k]->prompts[p].fingerprint, ref);
            one &= a->runs[k]->prompts[p].one;
        }
        a->same_reference += (size_t)same;
        if (same && one)
            a->one_everywhere++;
        else
            a->differing[a->ndiffering++] = p;
    }
    return 0;
}

int clr_decode_group(clr_comparison *cmp, clr_error *err)
{
    if (!cmp->ndecode)
        return CLR_OK;
    cmp->experiments = calloc(cmp->ndecode, sizeof *cmp->experiments);
    if (!cmp->experiments)
        return clr_fail(err, CLR_EFAIL, "out of host memory grouping the decode documents");
    for (size_t i = 0; i < cmp->ndecode; ++i) {
        clr_ddoc *d = &cmp->decode[i];
        size_t e = 0;
        while (e < cmp->nexperiments &&
               strcmp(cmp->decode[cmp->experiments[e].docs[0]].experiment_key, d->experiment_key))
            ++e;
        clr_dexperiment *x = &cmp->experiments[e];
        if (e == cmp->nexperiments) {
            cmp->nexperiments++;
            if (!(x->docs = malloc(cmp->ndecode * sizeof *x->docs)))
                return clr_fail(err, CLR_EFAIL, "out of host memory grouping the decode documents");
        }
        x->docs[x->ndocs++] = i;
        d->experiment = e;
    }
    for (size_t e = 0; e < cmp->nexperiments; ++e) {
        clr_dexperiment *x = &cmp->experiments[e];
        x->modes = calloc(MAX_MODES * x->ndocs, sizeof *x->modes);
        if (!x->modes)
            return clr_fail(err, CLR_EFAIL, "out of host memory grouping the decode documents");
        for (size_t k = 0; k < x->ndocs; ++k) {
            clr_ddoc *d = &cmp->decode[x->docs[k]];
            int twin = 0; /* another document of the experiment with the same device and driver */
            for (size_t j = 0; j < x->ndocs; ++j) {
                const clr_ddoc *o = &cmp->decode[x->docs[j]];
                twin |= j != k && !strcmp(o->device, d->device) && !strcmp(o->driver, d->driver);
            }
            if (!(d->label = clr_compare_label(d->device, d->driver, d->path, twin)))
                return clr_fail(err, CLR_EFAIL, "out of host memory grouping the decode documents");
            for (size_t m = 0; m < d->nmodes; ++m)
                if (add_mode(x, d, x->docs[k], &d->modes[m]))
                    return clr_fail(err, CLR_EFAIL, "out of host memory grouping the decode documents");
        }
        for (size_t m = 0; m < x->nmodes; ++m)
            if (judge(&x->modes[m]))
                return clr_fail(err, CLR_EFAIL, "out of host memory judging the decode documents");
    }
    return CLR_OK;
}

void clr_decode_free(clr_comparison *cmp)
{
    for (size_t e = 0; e < cmp->nexperiments; ++e) {
        clr_dexperiment *x = &cmp->experiments[e];
        for (size_t m = 0; x->modes && m < MAX_MODES * x->ndocs; ++m) {
            free(x->modes[m].docs);
            free(x->modes[m].runs);
            free(x->modes[m].not_run);
            free(x->modes[m].differing);
        }
        free(x->modes);
        free(x->docs);
    }
    free(cmp->experiments);
    for (size_t i = 0; i < cmp->ndecode; ++i)
        clr_ddoc_free(&cmp->decode[i]);
    free(cmp->decode);
    cmp->experiments = NULL;
    cmp->decode = NULL;
    cmp->nexperiments = cmp->ndecode = 0;
}

char *clr_decode_experiment_title(const clr_ddoc *d)
{
    clr_text t = {0};
    clr_text_printf(&t, "%s; %s activations, %zu prompt%s of %zu tokens, batches ", d->model, d->activations,
                    d->prompts, d->prompts == 1 ? "" : "s", d->tokens);
    for (size_t i = 0; i < d->nbatches; ++i)
        clr_text_printf(&t, "%s%zu", i ? ", " : "", d->batches[i]);
    clr_text_printf(&t, "; %zu repeat%s, seed %lld", d->repeats, d->repeats == 1 ? "" : "s", d->seed);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

/* ---- compare.md ---- */

static void md_agreement_row(const clr_comparison *cmp, const clr_dagreement *a, clr_text *t)
{
    clr_text_printf(t, "|");
    clr_text_md_cell(t, a->mode);
    clr_text_printf(t, " %zu", a->ndocs);
    for (size_t k = 0; k < a->ndocs; ++k) {
        clr_text_printf(t, "%s d%zu ", k ? ";" : ":", a->docs[k]);
        clr_text_md(t, cmp->decode[a->docs[k]].label);
    }
    for (size_t k = 0; k < a->nnot_run; ++k) {
        const clr_ddoc *d = &cmp->decode[a->not_run[k]];
        const clr_dmode *m = NULL;
        for (size_t i = 0; i < d->nmodes && !m; ++i)
            if (!strcmp(d->modes[i].mode, a->mode))
                m = &d->modes[i];
        clr_text_printf(t, "%s not run on d%zu (", k ? ";" : ".", a->not_run[k]);
        clr_text_md(t, m ? m->not_run : "");
        clr_text_printf(t, ")");
    }
    if (!a->ndocs) {
        clr_text_printf(t, " | - | - | - | - |\n");
        return;
    }
    clr_text_printf(t, " | %zu/%zu | %zu/%zu |", a->one_everywhere, a->prompts, a->same_reference, a->prompts);
    for (size_t k = 0; k < a->ndocs; ++k)
        clr_text_printf(t, "%sd%zu %zu/%zu", k ? "; " : " ", a->docs[k], a->runs[k]->one_completion, a->prompts);
    clr_text_printf(t, " |");
    if (!a->ndiffering)
        clr_text_printf(t, " none");
    for (size_t i = 0; i < a->ndiffering && i < MAX_LISTED; ++i)
        clr_text_printf(t, "%s%zu", i ? ", " : " ", a->differing[i]);
    if (a->ndiffering > MAX_LISTED)
        clr_text_printf(t, " and %zu more", a->ndiffering - MAX_LISTED);
    clr_text_printf(t, " |\n");
}

void clr_decode_markdown(const clr_comparison *cmp, clr_text *t)
{
    clr_text_printf(t, "\n## Decode: the same tokens across devices?\n\nDocuments of `clrepro decode`, grouped by "
                       "experiment: only documents of the same model (name and configuration), prompts (their token "
                       "ids), tokens, batches, repeats, seed and activations are compared. A completion is known by "
                       "its fingerprint. Per mode: the devices that ran it; the prompts whose every run (every batch "
                       "and repeat) on every device gave one completion; the prompts whose reference completion (the "
                       "prompt decoded alone) is the same on every device; per device, the prompts with one "
                       "completion on that device; and the prompts with more than one completion (numbered from "
                       "0).\n");
    for (size_t e = 0; e < cmp->nexperiments; ++e) {
        const clr_dexperiment *x = &cmp->experiments[e];
        char *title = clr_decode_experiment_title(&cmp->decode[x->docs[0]]);
        if (!title) {
            t->failed = 1;
            return;
        }
        clr_text_printf(t, "\n### Experiment %zu: ", e + 1);
        clr_text_md(t, title);
        free(title);
        clr_text_printf(t, "\n\n%zu document%s%s\n\n| document | device (driver) | platform | file |\n"
                           "|---|---|---|---|\n",
                        x->ndocs, x->ndocs == 1 ? "" : "s",
                        x->ndocs == 1 ? " (nothing to compare it with)" : "");
        for (size_t k = 0; k < x->ndocs; ++k) {
            const clr_ddoc *d = &cmp->decode[x->docs[k]];
            clr_text_printf(t, "| d%zu |", x->docs[k]);
            clr_text_md_cell(t, d->label);
            clr_text_md_cell(t, d->platform);
            clr_text_md_cell(t, d->path);
            clr_text_printf(t, "\n");
        }
        clr_text_printf(t, "\n| mode | devices | one completion on every device | same reference on every device | "
                           "one completion, per device | prompts with more than one completion |\n"
                           "|---|---|---:|---:|---|---|\n");
        for (size_t m = 0; m < x->nmodes; ++m)
            md_agreement_row(cmp, &x->modes[m], t);
    }
}

/* ---- compare.json ---- */

static json_t *count_or_null(const clr_dagreement *a, size_t v)
{
    return a->ndocs ? json_integer((json_int_t)v) : json_null();
}

static json_t *mode_json(const clr_comparison *cmp, const clr_dagreement *a)
{
    json_t *devices = json_array(), *not_run = json_array(), *differing = json_array();
    int failed = !devices || !not_run || !differing;
    for (size_t k = 0; k < a->ndocs && !failed; ++k)
        failed = clr_json_append(devices, json_pack("{s:I, s:s, s:I}", "document", (json_int_t)a->docs[k], "label",
                                                    cmp->decode[a->docs[k]].label, "prompts_with_one_completion",
                                                    (json_int_t)a->runs[k]->one_completion));
    for (size_t k = 0; k < a->nnot_run && !failed; ++k) {
        const clr_ddoc *d = &cmp->decode[a->not_run[k]];
        const char *why = "";
        for (size_t i = 0; i < d->nmodes; ++i)
            if (!strcmp(d->modes[i].mode, a->mode))
                why = d->modes[i].not_run;
        failed = clr_json_append(not_run, json_pack("{s:I, s:s, s:s}", "document", (json_int_t)a->not_run[k], "label",
                                                    d->label, "why", why));
    }
    for (size_t i = 0; i < a->ndiffering && !failed; ++i)
        failed = clr_json_append(differing, json_integer((json_int_t)a->differing[i]));
    json_t *item = NULL;
    if (!failed)
        item = json_pack("{s:s, s:I, s:I, s:o, s:o, s:O, s:O, s:O}", "mode", a->mode, "devices", (json_int_t)a->ndocs,
                         "prompts", (json_int_t)a->prompts, "one_completion_everywhere",
                         count_or_null(a, a->one_everywhere), "same_reference_everywhere",
                         count_or_null(a, a->same_reference), "per_device", devices, "prompts_differing", differing,
                         "not_run", not_run);
    json_decref(devices);
    json_decref(not_run);
    json_decref(differing);
    return item;
}

json_t *clr_decode_json(const clr_comparison *cmp)
{
    json_t *arr = json_array();
    for (size_t e = 0; arr && e < cmp->nexperiments; ++e) {
        const clr_dexperiment *x = &cmp->experiments[e];
        const clr_ddoc *first = &cmp->decode[x->docs[0]];
        json_t *docs = json_array(), *modes = json_array(), *batches = json_array();
        int failed = !docs || !modes || !batches;
        for (size_t k = 0; k < x->ndocs && !failed; ++k) {
            const clr_ddoc *d = &cmp->decode[x->docs[k]];
            failed = clr_json_append(docs, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "document",
                                                     (json_int_t)x->docs[k], "label", d->label, "path", d->path,
                                                     "device", d->device, "driver", d->driver, "platform",
                                                     d->platform));
        }
        for (size_t m = 0; m < x->nmodes && !failed; ++m)
            failed = clr_json_append(modes, mode_json(cmp, &x->modes[m]));
        for (size_t i = 0; i < first->nbatches && !failed; ++i)
            failed = clr_json_append(batches, json_integer((json_int_t)first->batches[i]));
        json_t *item = failed ? NULL
                              : json_pack("{s:I, s:s, s:s, s:I, s:I, s:O, s:I, s:I, s:O, s:O}", "experiment",
                                          (json_int_t)(e + 1), "model", first->model, "activations",
                                          first->activations, "prompts", (json_int_t)first->prompts, "tokens",
                                          (json_int_t)first->tokens, "batches", batches, "repeats",
                                          (json_int_t)first->repeats, "seed", (json_int_t)first->seed, "documents",
                                          docs, "modes", modes);
        json_decref(docs);
        json_decref(modes);
        json_decref(batches);
        if (clr_json_append(arr, item)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}
