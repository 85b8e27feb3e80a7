/* journal.c: the on-disk journal of completed cases (journal.h): the configuration's identity
 * and hash, lazy creation (no file and no directory until a case is complete), appends that are
 * whole lines fsync'd one by one, and the reader that turns the records json.c writes
 * (clr_case_record, clr_roof_record) back into cases. The reader trusts nothing: a record that
 * does not match the configuration exactly ends the journal there. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include "atomic_file.h"
#include "output.h"
#include "text.h"

#define JOURNAL_FORMAT 2

struct clr_journal {
    char dir[PATH_MAX], path[PATH_MAX + 64];
    const clr_run_config *cfg;
    char *header; /* the header line, newline included */
    int fd;       /* -1 until the file is this run's (created, or loaded with --resume) */
    dev_t file_dev;
    ino_t file_ino;
    size_t nslots;    /* shapes x batches x strategies, in the runner's order */
    clr_case **cases; /* per slot: a loaded case not yet taken, or NULL */
    clr_roof_result **roofs; /* per shape x batch */
    size_t loaded, written;
};

/* ---- identity ---------------------------------------------------------------------------- */

static json_t *identity_json(const clr_run_config *cfg, const clr_prepared_run *p)
{
    const clr_operation *op = cfg->op;
    const clr_device_result *setup = clr_prepared_setup(p);
    const clr_device *dev = &setup->device;
    const clr_tuning *t = &setup->tuning;
    json_t *strategies, *shapes, *batches;
    clr_config_lists(cfg, &strategies, &shapes, &batches);
    char seed[24], sources[17], data[17];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->input.seed);
    clr_hex64(clr_prepared_sources_hash(p), sources);
    json_t *input;
    if (cfg->input.from_file) {
        clr_hex64(XXH64(cfg->input.data, cfg->input.rows * cfg->input.cols * sizeof(float), 0), data);
        input = json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind", "npy", "path", cfg->input.path, "rows",
                          (json_int_t)cfg->input.rows, "cols", (json_int_t)cfg->input.cols, "data_xxh64", data);
    } else {
        input = json_pack("{s:s, s:s, s:s}", "kind", "generator", "seed", seed, "dist", clr_dist_name(cfg->input.dist));
    }
    return json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:b,"
                     " s:{s:s, s:s, s:s, s:s, s:s, s:s, s:I},"
                     " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:s, s:s}",
                     "record_format", JOURNAL_FORMAT, "tool_version", CLREPRO_VERSION, "op", op->name, "name", clr_run_name(cfg),
                     "strategies", strategies, "shapes", shapes, "batches", batches, "trials", (json_int_t)cfg->trials,
                     "reps", (json_int_t)cfg->reps, "warmup", (json_int_t)cfg->warmup, "input", input, "save_outputs",
                     cfg->save_outputs, "device", "name", dev->name, "vendor", dev->vendor, "platform",
                     dev->platform_name, "platform_version", dev->platform_version, "version", dev->device_version,
                     "driver", dev->driver_version, "index", (json_int_t)dev->index, "tuning", "wg_size",
                     (json_int_t)t->wg_size, "vec", (json_int_t)t->vec, "contig", (json_int_t)t->contig,
                     "groups_per_cu", (json_int_t)t->groups_per_cu, "fixed_chunk", (json_int_t)t->fixed_chunk,
                     "kv_chunk", (json_int_t)t->kv_chunk, "kv_far_chunk",
                     (json_int_t)clr_tuning_kv_far_chunk(t), "build_options", setup->build_options, "kernel_sources_xxh64",
                     sources);
}

/* The keys whose values differ, for the message that refuses a resume. */
static void differences(json_t *ours, json_t *theirs, char *buf, size_t size)
{
    const char *key;
    json_t *value;
    buf[0] = '\0';
    json_object_foreach(ours, key, value)
    {
        if (!json_equal(value, json_object_get(theirs, key)))
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? ", " : "", key);
    }
    json_object_foreach(theirs, key, value)
    {
        if (!json_object_get(ours, key))
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? ", " : "", key);
    }
    if (!buf[0])
        snprintf(buf, size, "its format");
}

/* ---- slots ------------------------------------------------------------------------------- */

static int index_of(const size_t *list, size_t n, size_t v, size_t *at)
{
    for (size_t i = 0; i < n; ++i)
        if (list[i] == v) {
            *at = i;
            return 1;
        }
    return 0;
}

static int case_slot(const clr_journal *j, size_t strategy, size_t shape_index, size_t batch, size_t *slot)
{
    const clr_run_config *cfg = j->cfg;
    size_t bi, si;
    if (shape_index >= cfg->nshapes || !index_of(cfg->batches, cfg->nbatches, batch, &bi) ||
        !index_of(cfg->strategy_index, cfg->nstrategies, strategy, &si))
        return 0;
    *slot = (shape_index * cfg->nbatches + bi) * cfg->nstrategies + si;
    return 1;
}

static int roof_slot(const clr_journal *j, size_t shape_index, size_t batch, size_t *slot)
{
    size_t bi;
    if (shape_index >= j->cfg->nshapes || !index_of(j->cfg->batches, j->cfg->nbatches, batch, &bi))
        return 0;
    *slot = shape_index * j->cfg->nbatches + bi;
    return 1;
}

static void free_case(clr_case *c)
{
    if (!c)
        return;
    free(c->outputs);
    free(c->rep_times);
    for (size_t k = 0; k < c->npositions; ++k)
        free(c->positions[k].probe);
    free(c);
}

/* ---- the reader -------------------------------------------------------------------------- */

static int get_size(json_t *o, const char *key, size_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (size_t)json_integer_value(v);
    return 0;
}

static int get_flag(json_t *o, const char *key, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v))
        return -1;
    *out = json_is_true(v);
    return 0;
}

static int as_double(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    if (!strcmp(s, "inf"))
        *out = INFINITY;
    else if (!strcmp(s, "-inf"))
        *out = -INFINITY;
    else if (!strcmp(s, "nan"))
        *out = NAN;
    else
        return -1;
    return 0;
}

static int get_double(json_t *o, const char *key, double *out)
{
    return as_double(json_object_get(o, key), out);
}

static int get_u64(json_t *o, const char *key, uint64_t *out)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || strlen(s) != 16 || strspn(s, "0123456789abcdef") != 16)
        return -1;
    *out = (uint64_t)strtoull(s, NULL, 16);
    return 0;
}

static int get_text(json_t *o, const char *key, char *buf, size_t size)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || strlen(s) >= size)
        return -1;
    memcpy(buf, s, strlen(s) + 1);
    return 0;
}

/* A row of n floats as 8 hex digits each; *out is malloc'ed (NULL for a JSON null when
 * nullable). */
static int get_floats(json_t *o, const char *key, size_t n, int nullable, float **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (nullable && json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    if (!s || json_string_length(v) != 8 * n || strspn(s, "0123456789abcdef") != 8 * n)
        return -1;
    float *row = malloc(n ? n * sizeof(float) : 1);
    if (!row)
        return -1;
    for (size_t i = 0; i < n; ++i) {
        char word[9];
        memcpy(word, s + 8 * i, 8);
        word[8] = '\0';
        uint32_t bits = (uint32_t)strtoul(word, NULL, 16);
        memcpy(&row[i], &bits, sizeof bits);
    }
    *out = row;
    return 0;
}

/* The timed repetitions of a case: absent (none) or an array of count numbers. */
static int get_times(json_t *o, const char *key, size_t count, double **out)
{
    json_t *a = json_object_get(o, key);
    *out = NULL;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) != count || count == 0)
        return -1;
    double *t = malloc(count * sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < count; ++i)
        if (as_double(json_array_get(a, i), &t[i])) {
            free(t);
            return -1;
        }
    *out = t;
    return 0;
}

static int get_stats(json_t *o, const char *key, clr_stats *s)
{
    json_t *a = json_object_get(o, key);
    double *fields[] = {&s->min, &s->median, &s->mean, &s->stddev, &s->max};
    if (!json_is_array(a) || json_array_size(a) != 6 || !json_is_integer(json_array_get(a, 5)) ||
        json_integer_value(json_array_get(a, 5)) < 0)
        return -1;
    for (size_t i = 0; i < 5; ++i)
        if (as_double(json_array_get(a, i), fields[i]))
            return -1;
    s->count = (size_t)json_integer_value(json_array_get(a, 5));
    return 0;
}

/* Plan parameter names are string literals of the ops; a resumed plan points at a copy that
 * lives as long as the process. */
static const char *intern(const char *name)
{
    static char names[64][48];
    static size_t count;
    for (size_t i = 0; i < count; ++i)
        if (!strcmp(names[i], name))
            return names[i];
    if (count == 64 || strlen(name) >= sizeof names[0])
        return NULL;
    snprintf(names[count], sizeof names[0], "%s", name);
    return names[count++];
}

static int parse_plan(json_t *o, clr_plan *plan)
{
    json_t *params = json_object_get(o, "params");
    if (!json_is_object(o) || get_size(o, "global", &plan->global) || get_size(o, "local", &plan->local) ||
        get_double(o, "depth", &plan->depth) || get_double(o, "err_abs", &plan->err_abs) ||
        get_double(o, "err_rel", &plan->err_rel) || !json_is_array(params) ||
        json_array_size(params) > CLR_MAX_PLAN_PARAMS)
        return -1;
    plan->nparams = json_array_size(params);
    for (size_t i = 0; i < plan->nparams; ++i) {
        json_t *p = json_array_get(params, i);
        const char *name = json_string_value(json_array_get(p, 0));
        if (!json_is_array(p) || json_array_size(p) != 2 || !name || !(plan->params[i].name = intern(name)) ||
            as_double(json_array_get(p, 1), &plan->params[i].value))
            return -1;
    }
    return 0;
}

/* One {"case": ...} record; NULL when it is not a case of this configuration. */
static clr_case *parse_case(const clr_journal *j, json_t *o, size_t *slot)
{
    const clr_run_config *cfg = j->cfg;
    const clr_operation *op = cfg->op;
    const char *strategy = json_string_value(json_object_get(o, "strategy"));
    const char *dtype = json_string_value(json_object_get(o, "dtype"));
    const clr_strategy *s = strategy ? clr_strategy_find(op, strategy) : NULL;
    json_t *dims = json_object_get(o, "dims"), *positions = json_object_get(o, "positions");
    size_t shape_index, batch;
    if (!s || !dtype || get_size(o, "shape_index", &shape_index) || get_size(o, "batch", &batch) ||
        !case_slot(j, (size_t)(s - op->strategies), shape_index, batch, slot) || !json_is_array(dims) ||
        json_array_size(dims) != CLR_MAX_DIMS || !json_is_array(positions) ||
        json_array_size(positions) > CLR_MAX_POSITIONS)
        return NULL;
    clr_shape shape = cfg->shapes[shape_index];
    shape.batch = batch;
    if (strcmp(dtype, clr_dtype_name(shape.dtype)))
        return NULL;
    for (size_t d = 0; d < CLR_MAX_DIMS; ++d) {
        json_t *v = json_array_get(dims, d);
        if (!json_is_integer(v) || (size_t)json_integer_value(v) != shape.dims[d])
            return NULL;
    }
    clr_case *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->strategy = (size_t)(s - op->strategies);
    c->shape_index = shape_index;
    c->shape = shape;
    size_t out_row = op->output_row_floats(&shape);
    int bad = get_flag(o, "skipped", &c->skipped) || get_text(o, "skip_reason", c->skip_reason, sizeof c->skip_reason) ||
              parse_plan(json_object_get(o, "plan"), &c->plan) || get_flag(o, "valid", &c->valid) ||
              get_size(o, "rows_out_of_bound", &c->rows_out_of_bound) ||
              get_double(o, "worst_error_ratio", &c->worst_error_ratio) || get_stats(o, "time", &c->time) ||
              get_double(o, "gbps", &c->gbps) || get_double(o, "gflops", &c->gflops) ||
              get_double(o, "roof_gbps", &c->roof_gbps) || get_double(o, "roof_fraction", &c->roof_fraction) ||
              get_double(o, "overhead", &c->overhead) || get_size(o, "r2r_distinct", &c->r2r_distinct) ||
              get_u64(o, "r2r_max_ulp", &c->r2r_max_ulp) || get_u64(o, "accuracy_max_ulp", &c->accuracy_max_ulp) ||
              get_u64(o, "fingerprint", &c->fingerprint) || get_size(o, "norders", &c->norders) ||
              get_size(o, "order_distinct", &c->order_distinct) || get_u64(o, "order_max_ulp", &c->order_max_ulp) ||
              get_flag(o, "has_layout", &c->has_layout) || get_flag(o, "layout_same", &c->layout_same) ||
              get_u64(o, "layout_max_ulp", &c->layout_max_ulp) || get_flag(o, "replayed", &c->replayed) ||
              get_size(o, "replay_mismatches", &c->replay_mismatches) ||
              get_text(o, "first_mismatch", c->first_mismatch, sizeof c->first_mismatch) ||
              get_floats(o, "outputs", batch * out_row, 1, &c->outputs) ||
              get_times(o, "rep_times", c->time.count, &c->rep_times) ||
              get_double(o, "r2r_mean_abs_diff", &c->r2r_mean_abs_diff) ||
              get_double(o, "r2r_max_abs_diff", &c->r2r_max_abs_diff);
    json_t *vs = json_object_get(o, "vs_ref");
    bad = bad || get_flag(vs, "measured", &c->vs_ref) || get_flag(vs, "identical", &c->vs_ref_identical) ||
          get_double(vs, "mean_abs_diff", &c->vs_ref_mean_abs_diff) ||
          get_double(vs, "max_abs_diff", &c->vs_ref_max_abs_diff);
    for (size_t k = 0; !bad && k < json_array_size(positions); ++k) {
        json_t *p = json_array_get(positions, k);
        clr_observation *ob = &c->positions[k];
        bad = !json_is_object(p) || get_size(p, "batch", &ob->batch) || get_size(p, "position", &ob->position) ||
              get_u64(p, "hash", &ob->hash) || get_u64(p, "max_ulp", &ob->max_ulp) ||
              get_floats(p, "probe", out_row, 0, &ob->probe);
        if (!bad)
            c->npositions++;
    }
    if (!bad && !c->skipped && c->npositions == 0)
        bad = 1; /* every measured case has its probe at position 0 */
    /* Added to the record after format 1 was in use: a record without it (a journal written by
     * an earlier build) is still a whole case, its scaled accuracy unknown (NaN), not 0. */
    c->accuracy_scaled_u = NAN;
    if (!bad && json_object_get(o, "accuracy_scaled_u"))
        bad = get_double(o, "accuracy_scaled_u", &c->accuracy_scaled_u);
    if (bad) {
        free_case(c);
        return NULL;
    }
    return c;
}

static int parse_roof(const clr_journal *j, json_t *o, clr_roof_result *cr, size_t *slot)
{
    memset(cr, 0, sizeof *cr);
    if (get_size(o, "shape_index", &cr->shape_index) || get_size(o, "batch", &cr->batch) ||
        !roof_slot(j, cr->shape_index, cr->batch, slot) || get_double(o, "bytes", &cr->bytes) ||
        get_size(o, "work_items", &cr->items) ||
        get_stats(o, "time", &cr->time) || get_double(o, "gbps", &cr->gbps))
        return -1;
    return 0;
}

/* Reads the records after the header; returns the offset where the valid part ends (before a
 * torn last line), and in *bad_line the number of a whole line that is not a record of this
 * configuration (0: none). */
static size_t load_records(clr_journal *j, const char *text, size_t size, size_t start, size_t *bad_line)
{
    size_t at = start, line_no = 1;
    *bad_line = 0;
    while (at < size) {
        const char *nl = memchr(text + at, '\n', size - at);
        if (!nl)
            break; /* a torn last line */
        json_t *line = json_loadb(text + at, (size_t)(nl - (text + at)), 0, NULL);
        json_t *c = json_object_get(line, "case"), *cp = json_object_get(line, "roof");
        size_t slot;
        int ok = 0;
        if (c) {
            clr_case *parsed = parse_case(j, c, &slot);
            if (parsed) {
                if (j->cases[slot])
                    free_case(j->cases[slot]);
                else
                    j->loaded++;
                j->cases[slot] = parsed;
                ok = 1;
            }
        } else if (cp) {
            clr_roof_result cr;
            if (parse_roof(j, cp, &cr, &slot) == 0 && (j->roofs[slot] || (j->roofs[slot] = malloc(sizeof cr)))) {
                *j->roofs[slot] = cr;
                ok = 1;
            }
        } else if (json_object_get(line, "note")) {
            ok = 1;
        }
        json_decref(line);
        ++line_no;
        if (!ok) {
            *bad_line = line_no;
            break;
        }
        at = (size_t)(nl - text) + 1;
    }
    return at;
}

static int read_all(int fd, char **text, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    for (;;) {
        if (len + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                return -1;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(buf);
            return -1;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    *text = buf;
    *size = len;
    return 0;
}

/* With --resume: load the file if it is there and was written for this configuration. */
static int load(clr_journal *j, json_t *identity, const char *hash, clr_error *err)
{
    int fd = open(j->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return CLR_OK;
        return clr_fail(err, CLR_EUSAGE, "--resume: cannot open the journal %s: %s", j->path, strerror(errno));
    }
    char *text = NULL;
    size_t size = 0;
    if (read_all(fd, &text, &size)) {
        close(fd);
        return clr_fail(err, CLR_EUSAGE, "--resume: cannot read the journal %s: %s", j->path, strerror(errno));
    }
    const char *nl = memchr(text, '\n', size);
    json_t *header = nl ? json_loadb(text, (size_t)(nl - text), 0, NULL) : NULL;
    const char *their_hash = json_string_value(json_object_get(header, "hash"));
    int rc = CLR_OK;
    if (!header || json_integer_value(json_object_get(header, "clrepro_journal")) != JOURNAL_FORMAT || !their_hash) {
        rc = clr_fail(err, CLR_EUSAGE, "--resume: %s is not a clrepro journal of this version; remove it, or run "
                      "without --resume to measure afresh", j->path);
    } else if (strcmp(their_hash, hash)) {
        char what[512];
        differences(identity, json_object_get(header, "config"), what, sizeof what);
        rc = clr_fail(err, CLR_EUSAGE, "--resume: the journal %s holds cases of another configuration (it differs "
                      "in: %s); repeat the options of the interrupted run, or run without --resume to measure "
                      "afresh (the journal is then replaced)", j->path, what);
    } else {
        size_t bad_line;
        size_t end = load_records(j, text, size, (size_t)(nl - text) + 1, &bad_line);
        struct stat st;
        /* A torn last line (a crash in mid-write) is cut off, so that appended lines start on a
         * line of their own; a whole line that cannot be read is refused, never dropped. */
        if (bad_line)
            rc = clr_fail(err, CLR_EUSAGE, "--resume: line %zu of the journal %s is not a case of this configuration "
                          "(written by another build of clrepro?); run without --resume to measure afresh (the "
                          "journal is then replaced)", bad_line, j->path);
        else if ((end < size && ftruncate(fd, (off_t)end) != 0) || lseek(fd, 0, SEEK_END) < 0 || fstat(fd, &st) != 0) {
            rc = clr_fail(err, CLR_EUSAGE, "--resume: cannot repair the journal %s: %s", j->path, strerror(errno));
        } else {
            j->fd = fd;
            j->file_dev = st.st_dev;
            j->file_ino = st.st_ino;
            fd = -1;
        }
    }
    json_decref(header);
    free(text);
    if (fd >= 0)
        close(fd);
    return rc;
}

int clr_journal_open(const char *dir, const clr_run_config *cfg, const clr_prepared_run *p, int resume,
                     clr_journal **out, clr_error *err)
{
    *out = NULL;
    clr_journal *j = calloc(1, sizeof *j);
    if (!j)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    j->fd = -1;
    j->cfg = cfg;
    snprintf(j->dir, sizeof j->dir, "%s", dir);
    snprintf(j->path, sizeof j->path, "%s/.%s.journal.jsonl", dir, clr_run_name(cfg));
    j->nslots = cfg->nshapes * cfg->nbatches * cfg->nstrategies;
    j->cases = calloc(j->nslots ? j->nslots : 1, sizeof *j->cases);
    size_t nroofs = cfg->nshapes * cfg->nbatches;
    j->roofs = calloc(nroofs > 0 ? nroofs : 1, sizeof *j->roofs);
    json_t *identity = identity_json(cfg, p);
    char *canonical = identity ? json_dumps(identity, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char hash[17] = "";
    if (canonical)
        clr_hex64(XXH64(canonical, strlen(canonical), 0), hash);
    json_t *header = canonical ? json_pack("{s:i, s:s, s:O}", "clrepro_journal", JOURNAL_FORMAT, "hash", hash,
                                           "config", identity) : NULL;
    char *line = header ? json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (line) {
        j->header = malloc(strlen(line) + 2);
        if (j->header)
            snprintf(j->header, strlen(line) + 2, "%s\n", line);
    }
    int rc = !j->cases || !j->roofs || !j->header ? clr_fail(err, CLR_EFAIL, "out of host memory") : CLR_OK;
    if (rc == CLR_OK && resume)
        rc = load(j, identity, hash, err);
    free(line);
    json_decref(header);
    free(canonical);
    json_decref(identity);
    if (rc) {
        clr_journal_close(j);
        return rc;
    }
    *out = j;
    return CLR_OK;
}

const char *clr_journal_path(const clr_journal *j)
{
    return j->path;
}

size_t clr_journal_loaded(const clr_journal *j)
{
    return j->loaded;
}

size_t clr_journal_written(const clr_journal *j)
{
    return j->written;
}

int clr_journal_exists(const clr_journal *j)
{
    return j->fd >= 0;
}

int clr_journal_has_case(const clr_journal *j, size_t strategy, size_t shape_index, size_t batch)
{
    size_t slot;
    return j && case_slot(j, strategy, shape_index, batch, &slot) && j->cases[slot];
}

int clr_journal_take_case(clr_journal *j, size_t strategy, size_t shape_index, size_t batch, clr_case *out)
{
    size_t slot;
    if (!clr_journal_has_case(j, strategy, shape_index, batch) || !case_slot(j, strategy, shape_index, batch, &slot))
        return 0;
    *out = *j->cases[slot];
    free(j->cases[slot]); /* its rows now belong to *out */
    j->cases[slot] = NULL;
    return 1;
}

int clr_journal_has_roof(const clr_journal *j, size_t shape_index, size_t batch)
{
    size_t slot;
    return j && roof_slot(j, shape_index, batch, &slot) && j->roofs[slot];
}

int clr_journal_take_roof(clr_journal *j, size_t shape_index, size_t batch, clr_roof_result *out)
{
    size_t slot;
    if (!clr_journal_has_roof(j, shape_index, batch) || !roof_slot(j, shape_index, batch, &slot))
        return 0;
    *out = *j->roofs[slot];
    return 1;
}

/* ---- the writer -------------------------------------------------------------------------- */

static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        text += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The first record of a fresh journal: the directory is made, and the header with the record
 * replaces whatever journal was there, in one rename. */
static int create(clr_journal *j, const char *record, clr_error *err)
{
    if (clr_prepare_out_dir(j->dir, err))
        return err->code;
    size_t hlen = strlen(j->header), rlen = strlen(record);
    char *text = malloc(hlen + rlen + 1);
    if (!text)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    memcpy(text, j->header, hlen);
    memcpy(text + hlen, record, rlen + 1);
    int rc = clr_write_file_atomic(j->path, text, hlen + rlen, err);
    free(text);
    if (rc)
        return rc;
    struct stat st;
    j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (j->fd < 0 || fstat(j->fd, &st) != 0)
        return clr_fail(err, CLR_EFAIL, "cannot open the journal %s: %s", j->path, strerror(errno));
    j->file_dev = st.st_dev;
    j->file_ino = st.st_ino;
    return CLR_OK;
}

static int append(clr_journal *j, json_t *record, clr_error *err)
{
    char *text = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);
    size_t len = text ? strlen(text) : 0;
    char *line = text ? realloc(text, len + 2) : NULL;
    if (!line) {
        free(text);
        return clr_fail(err, CLR_EFAIL, "out of host memory writing the journal %s", j->path);
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    int rc = CLR_OK;
    if (j->fd < 0)
        rc = create(j, line, err);
    else if (write_all(j->fd, line, len + 1) != 0 || fsync(j->fd) != 0)
        rc = clr_fail(err, CLR_EFAIL, "cannot write the journal %s: %s (free some space, then rerun with --resume)",
                      j->path, strerror(errno));
    free(line);
    if (rc == CLR_OK)
        j->written++;
    return rc;
}

int clr_journal_add_case(clr_journal *j, const clr_case *c, clr_error *err)
{
    return append(j, clr_case_record(j->cfg, c), err);
}

int clr_journal_add_roof(clr_journal *j, const clr_roof_result *c, clr_error *err)
{
    return append(j, clr_roof_record(c), err);
}

void clr_journal_note(clr_journal *j, const char *text)
{
    if (!j || j->fd < 0)
        return;
    json_t *note = json_pack("{s:s}", "note", text);
    char *line = note ? json_dumps(note, JSON_COMPACT) : NULL;
    json_decref(note);
    if (line && write_all(j->fd, line, strlen(line)) == 0 && write_all(j->fd, "\n", 1) == 0)
        fsync(j->fd);
    free(line);
}

void clr_journal_remove(clr_journal *j)
{
    struct stat st;
    if (!j || j->fd < 0)
        return;
    /* Only the file this run wrote: a concurrent run may have replaced it since. */
    if (stat(j->path, &st) == 0 && st.st_dev == j->file_dev && st.st_ino == j->file_ino)
        unlink(j->path);
    close(j->fd);
    j->fd = -1;
}

void clr_journal_close(clr_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    for (size_t i = 0; i < j->nslots && j->cases; ++i)
        free_case(j->cases[i]);
    for (size_t i = 0; j->roofs && i < j->cfg->nshapes * j->cfg->nbatches; ++i)
        free(j->roofs[i]);
    free(j->cases);
    free(j->roofs);
    free(j->header);
    free(j);
}
