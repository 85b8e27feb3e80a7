/* compare.c: matches the cases of many results documents — other machines, other devices,
 * other drivers or builds of the same device — and says which give the same bits (by
 * fingerprint), how far apart the others are (from the stored probe bits) and how their times
 * compare. Writes Markdown, CSV and JSON. Cases are matched through a hash table keyed by
 * (run, strategy, shape, batch), and per-strategy rows through one keyed by (run, strategy), so
 * the work grows with the number of cases, not its square (two documents of 40,000 cases: about
 * 1.5 s, most of it parsing). Every string from a document is escaped for the format it lands
 * in (text.h), and a text that cannot be made whole is an error, never a text with a case
 * left out. Inputs are files and folders (every *.json below a folder): run results are read,
 * any other document (compare, demo order, unrelated JSON) is set aside with what it is, for
 * the command to list; decode documents, for compare and report, are read and judged by
 * compare_decode.c, whose section this file's writers add. Also checks, before anything is
 * written, that no output is one of the inputs. */
#include "compare.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "reference.h"
#include "text.h"

#define MAX_DOCS CLR_COMPARE_MAX_DOCS
#define NONE SIZE_MAX

/* ---- an open-addressing index of items by key; the caller owns the items and says when two
 * keys are equal ---- */

typedef struct index_slot {
    uint64_t hash;
    size_t item; /* NONE: empty */
} index_slot;

typedef struct hash_index {
    index_slot *slots;
    size_t cap, count; /* cap: a power of two, at least twice count */
} hash_index;

/* Does item have the key the caller is looking for? */
typedef int (*same_key_fn)(const void *key, size_t item);

static uint64_t hash_string(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s;; ++p) { /* FNV-1a, the NUL included */
        h = (h ^ *p) * 0x100000001b3ull;
        if (!*p)
            return h;
    }
}

static uint64_t hash_size(uint64_t h, size_t v)
{
    for (int i = 0; i < 8; ++i, v >>= 8)
        h = (h ^ (v & 0xff)) * 0x100000001b3ull;
    return h;
}

#define HASH_SEED 0xcbf29ce484222325ull

static int index_grow(hash_index *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    index_slot *slots = malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < cap; ++i)
        slots[i].item = NONE;
    for (size_t i = 0; i < ix->cap; ++i)
        if (ix->slots[i].item != NONE) {
            size_t at = ix->slots[i].hash & (cap - 1);
            while (slots[at].item != NONE)
                at = (at + 1) & (cap - 1);
            slots[at] = ix->slots[i];
        }
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

/* The item with this key, or, when there is none, item_if_new (recorded under the key).
 * NONE when out of memory. */
static size_t index_find_or_add(hash_index *ix, uint64_t hash, const void *key, same_key_fn same, size_t item_if_new)
{
    if (2 * (ix->count + 1) > ix->cap && index_grow(ix))
        return NONE;
    size_t at = hash & (ix->cap - 1);
    for (; ix->slots[at].item != NONE; at = (at + 1) & (ix->cap - 1))
        if (ix->slots[at].hash == hash && same(key, ix->slots[at].item))
            return ix->slots[at].item;
    ix->slots[at].hash = hash;
    ix->slots[at].item = item_if_new;
    ix->count++;
    return item_if_new;
}

static void index_free(hash_index *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

/* ---- matching ---- */

/* A key seen in some document: where it first appeared, and in how many documents. */
typedef struct candidate {
    const clr_rdoc *doc;
    const clr_rcase *first;
    size_t documents, last_doc;
} candidate;

typedef struct case_key {
    const candidate *candidates;
    const clr_rdoc *doc;
    const clr_rcase *c;
} case_key;

static int same_case(const void *key, size_t item)
{
    const case_key *k = key;
    const candidate *cand = &k->candidates[item];
    return cand->first->batch == k->c->batch && !strcmp(cand->doc->name, k->doc->name) &&
           !strcmp(cand->first->strategy, k->c->strategy) && !strcmp(cand->first->shape, k->c->shape);
}

/* The float's position on the line of floats, so that the ulp distance of two is the
 * difference of their keys (as clr_ulp_distance: +0 and -0 are one point). */
static int64_t ulp_key(uint32_t bits)
{
    return bits >> 31 ? -(int64_t)(bits & 0x7fffffffu) : (int64_t)bits;
}

/* The largest probe distance between any two present documents, in one pass over them:
 * per probe value, the largest key minus the smallest. -1 (unknown) where the documents hold
 * different numbers of probe values or none, or where one has NaN and another has not. */
static int64_t max_probe_distance(size_t ndocs, const clr_match *m)
{
    const clr_rcase *first = NULL;
    for (size_t d = 0; d < ndocs; ++d)
        if (m->cases[d]) {
            if (!first)
                first = m->cases[d];
            else if (m->cases[d]->nprobe != first->nprobe)
                return -1;
        }
    if (!first || first->nprobe == 0)
        return -1;
    int64_t worst = 0;
    for (size_t i = 0; i < first->nprobe; ++i) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        size_t nans = 0, n = 0;
        for (size_t d = 0; d < ndocs; ++d) {
            if (!m->cases[d])
                continue;
            uint32_t bits = m->cases[d]->probe_bits[i];
            n++;
            if (isnan(clr_bits_float(bits))) {
                nans++;
                continue;
            }
            int64_t k = ulp_key(bits);
            lo = k < lo ? k : lo;
            hi = k > hi ? k : hi;
        }
        if (nans && nans < n)
            return -1;
        if (!nans && hi - lo > worst)
            worst = hi - lo;
    }
    return worst;
}

static void finish_match(size_t ndocs, clr_match *m)
{
    const char *fps[MAX_DOCS];
    m->groups = 0;
    m->time_ratio = NAN;
    double fast = INFINITY, slow = -INFINITY;
    for (size_t d = 0; d < ndocs; ++d) {
        const clr_rcase *c = m->cases[d];
        m->group_of[d] = -1;
        if (!c)
            continue;
        for (size_t g = 0; g < m->groups && m->group_of[d] < 0; ++g)
            if (!strcmp(fps[g], c->fingerprint))
                m->group_of[d] = (int)g;
        if (m->group_of[d] < 0) {
            fps[m->groups] = c->fingerprint;
            m->group_of[d] = (int)m->groups++;
        }
        if (c->valid && isfinite(c->median_s)) {
            if (c->median_s < fast) {
                fast = c->median_s;
                m->fastest = d;
            }
            if (c->median_s > slow) {
                slow = c->median_s;
                m->slowest = d;
            }
        }
    }
    m->max_ulp = max_probe_distance(ndocs, m);
    if (isfinite(fast) && fast > 0 && m->fastest != m->slowest)
        m->time_ratio = slow / fast;
    else if (isfinite(fast))
        m->time_ratio = 1.0;
}

/* Matches the cases of every document: one pass over them through the index. */
static int match_cases(clr_comparison *cmp, clr_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i)
        total += cmp->docs[i].ncases;
    candidate *cands = malloc((total ? total : 1) * sizeof *cands);
    size_t *assigned = malloc((total ? total : 1) * sizeof *assigned); /* per case: its candidate, or NONE */
    hash_index ix = {0};
    size_t ncands = 0, at = 0;
    int rc = CLR_OK;
    if (!cands || !assigned)
        rc = clr_fail(err, CLR_EFAIL, "out of host memory matching cases");
    for (size_t i = 0; i < cmp->ndocs && rc == CLR_OK; ++i) {
        const clr_rdoc *doc = &cmp->docs[i];
        for (size_t k = 0; k < doc->ncases; ++k, ++at) {
            const clr_rcase *c = &doc->cases[k];
            assigned[at] = NONE;
            if (c->skipped)
                continue;
            case_key key = {cands, doc, c};
            uint64_t h = hash_size(hash_string(hash_string(hash_string(HASH_SEED, doc->name), c->strategy), c->shape),
                                   c->batch);
            size_t id = index_find_or_add(&ix, h, &key, same_case, ncands);
            if (id == NONE) {
                rc = clr_fail(err, CLR_EFAIL, "out of host memory matching cases");
                break;
            }
            if (id == ncands) {
                cands[ncands++] = (candidate){doc, c, 1, i};
                assigned[at] = id;
            } else if (cands[id].last_doc != i) { /* a later document; a repeat in one document is ignored */
                cands[id].documents++;
                cands[id].last_doc = i;
                assigned[at] = id;
            }
        }
    }
    index_free(&ix);
    /* Keys in two or more documents become matches, in order of first appearance. */
    size_t *match_of = NULL;
    if (rc == CLR_OK) {
        match_of = malloc((ncands ? ncands : 1) * sizeof *match_of);
        if (!match_of)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory matching cases");
    }
    if (rc == CLR_OK) {
        for (size_t id = 0; id < ncands; ++id)
            match_of[id] = cands[id].documents >= 2 ? cmp->nmatches++ : NONE;
        size_t n = cmp->nmatches ? cmp->nmatches : 1;
        cmp->matches = calloc(n, sizeof *cmp->matches);
        const clr_rcase **case_pool = calloc(n * cmp->ndocs, sizeof *case_pool);
        int *group_pool = calloc(n * cmp->ndocs, sizeof *group_pool);
        if (!cmp->matches || !case_pool || !group_pool) {
            free(case_pool);
            free(group_pool);
            cmp->nmatches = 0;
            rc = clr_fail(err, CLR_EFAIL, "out of host memory matching cases");
        } else {
            cmp->matches[0].cases = case_pool; /* where clr_compare_free finds the pools */
            cmp->matches[0].group_of = group_pool;
            for (size_t id = 0; id < ncands; ++id)
                if (match_of[id] != NONE) {
                    clr_match *m = &cmp->matches[match_of[id]];
                    m->run = cands[id].doc->name;
                    m->cases = case_pool + match_of[id] * cmp->ndocs;
                    m->group_of = group_pool + match_of[id] * cmp->ndocs;
                }
            at = 0;
            for (size_t i = 0; i < cmp->ndocs; ++i)
                for (size_t k = 0; k < cmp->docs[i].ncases; ++k, ++at)
                    if (assigned[at] != NONE && match_of[assigned[at]] != NONE) {
                        clr_match *m = &cmp->matches[match_of[assigned[at]]];
                        m->cases[i] = &cmp->docs[i].cases[k];
                        m->present++;
                    }
            for (size_t m = 0; m < cmp->nmatches; ++m)
                finish_match(cmp->ndocs, &cmp->matches[m]);
        }
    }
    free(match_of);
    free(cands);
    free(assigned);
    return rc;
}

static const clr_rcase *any_case(const clr_match *m, size_t ndocs)
{
    for (size_t d = 0; d < ndocs; ++d)
        if (m->cases[d])
            return m->cases[d];
    return NULL;
}

/* ---- rows per (run, strategy) ---- */

typedef struct run_strategy_key {
    const char *run, *strategy;
    const void *rows;
    size_t stride; /* bytes from one row to the next; each row starts with its run and strategy */
} run_strategy_key;

static int same_run_strategy(const void *key, size_t item)
{
    const run_strategy_key *k = key;
    const char *const *row = (const char *const *)((const char *)k->rows + item * k->stride);
    return !strcmp(row[0], k->run) && !strcmp(row[1], k->strategy);
}

static uint64_t hash_run_strategy(const char *run, const char *strategy)
{
    return hash_string(hash_string(HASH_SEED, run), strategy);
}

/* Strategy names a document claims device_invariant for, sorted, for bsearch. */
static int cmp_string_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct claim_set {
    const char **names;
    size_t n;
} claim_set;

static int claim_set_has(const claim_set *s, const char *strategy)
{
    return s->n && bsearch(&strategy, s->names, s->n, sizeof *s->names, cmp_string_ptr) != NULL;
}

static int judge_device_claims(clr_comparison *cmp, clr_error *err)
{
    claim_set sets[MAX_DOCS] = {{0}};
    int device_id[MAX_DOCS]; /* documents with the same device name and platform share an id */
    hash_index ix = {0};
    int rc = CLR_OK;
    for (size_t d = 0; d < cmp->ndocs; ++d) {
        const clr_rdoc *doc = &cmp->docs[d];
        device_id[d] = (int)d;
        for (size_t e = 0; e < d && device_id[d] == (int)d; ++e)
            if (!strcmp(doc->device, cmp->docs[e].device) && !strcmp(doc->platform, cmp->docs[e].platform))
                device_id[d] = device_id[e];
        sets[d].names = malloc((doc->nclaims ? doc->nclaims : 1) * sizeof *sets[d].names);
        if (!sets[d].names) {
            rc = clr_fail(err, CLR_EFAIL, "out of host memory judging claims");
            break;
        }
        for (size_t k = 0; k < doc->nclaims; ++k)
            if (doc->claims[k].claimed && !strcmp(doc->claims[k].claim, "device_invariant"))
                sets[d].names[sets[d].n++] = doc->claims[k].strategy;
        qsort(sets[d].names, sets[d].n, sizeof *sets[d].names, cmp_string_ptr);
    }
    cmp->device_claims = rc == CLR_OK ? calloc(cmp->nmatches ? cmp->nmatches : 1, sizeof *cmp->device_claims) : NULL;
    if (rc == CLR_OK && !cmp->device_claims)
        rc = clr_fail(err, CLR_EFAIL, "out of host memory judging claims");
    size_t *first_differ = NULL; /* per row: the match of its first differing case */
    size_t *differ_a = NULL, *differ_b = NULL;
    if (rc == CLR_OK) {
        size_t n = cmp->nmatches ? cmp->nmatches : 1;
        first_differ = malloc(n * sizeof *first_differ);
        differ_a = malloc(n * sizeof *differ_a);
        differ_b = malloc(n * sizeof *differ_b);
        if (!first_differ || !differ_a || !differ_b)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory judging claims");
    }
    for (size_t m = 0; m < cmp->nmatches && rc == CLR_OK; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const char *strategy = any_case(mt, cmp->ndocs)->strategy;
        int claimed = 0;
        for (size_t d = 0; d < cmp->ndocs && !claimed; ++d)
            claimed = mt->cases[d] && claim_set_has(&sets[d], strategy);
        if (!claimed)
            continue;
        run_strategy_key key = {mt->run, strategy, cmp->device_claims, sizeof *cmp->device_claims};
        size_t id = index_find_or_add(&ix, hash_run_strategy(mt->run, strategy), &key, same_run_strategy,
                                      cmp->ndevice_claims);
        if (id == NONE) {
            rc = clr_fail(err, CLR_EFAIL, "out of host memory judging claims");
            break;
        }
        clr_device_claim *r = &cmp->device_claims[id];
        if (id == cmp->ndevice_claims) {
            cmp->ndevice_claims++;
            r->run = mt->run;
            r->strategy = strategy;
            first_differ[id] = NONE;
        }
        size_t pairs = 0, differs = 0, a_of = 0, b_of = 0, other_order = 0;
        for (size_t a = 0; a < cmp->ndocs; ++a)
            for (size_t b = a + 1; b < cmp->ndocs && mt->cases[a]; ++b) {
                if (!mt->cases[b] || device_id[a] == device_id[b])
                    continue;
                if (mt->cases[a]->order != mt->cases[b]->order) { /* revised on purpose: other bits */
                    other_order++;
                    continue;
                }
                pairs++;
                if (mt->group_of[a] != mt->group_of[b] && !differs++) {
                    a_of = a;
                    b_of = b;
                }
            }
        r->revised += other_order > 0;
        if (!pairs)
            continue;
        r->cases++;
        r->identical += !differs;
        if (differs && first_differ[id] == NONE) {
            first_differ[id] = m;
            differ_a[id] = a_of;
            differ_b[id] = b_of;
        }
    }
    index_free(&ix);
    for (size_t i = 0; i < cmp->ndevice_claims && rc == CLR_OK; ++i) {
        clr_device_claim *r = &cmp->device_claims[i];
        clr_text t = {0};
        if (first_differ[i] != NONE) {
            size_t a = differ_a[i], b = differ_b[i];
            const clr_rcase *c = cmp->matches[first_differ[i]].cases[a];
            clr_text_printf(&t, "%s batch %zu: #%zu (%s) and #%zu (%s) gave different bits", c->shape, c->batch, a,
                            cmp->docs[a].device, b, cmp->docs[b].device);
        } else if (r->cases) {
            clr_text_printf(&t, "one fingerprint on every device in all %zu cases", r->cases);
        } else {
            clr_text_printf(&t, "no case was measured on two different devices");
        }
        if (r->revised)
            clr_text_printf(&t, " (%zu cases also on a device measured at another order revision of the strategy: "
                            "not compared with it)", r->revised);
        if (t.failed) {
            free(t.buf);
            rc = clr_fail(err, CLR_EFAIL, "out of host memory judging claims");
        }
        r->evidence = t.buf;
    }
    for (size_t d = 0; d < cmp->ndocs; ++d)
        free(sets[d].names);
    free(first_differ);
    free(differ_a);
    free(differ_b);
    return rc;
}

/* ---- inputs: files and folders ---- */

/* The files to read, named on the command line or found in a folder named there, in that
 * order; a named folder with no .json file below it holds its place as an entry of its own. */
typedef struct input_file {
    char *path;
    int empty_folder;
} input_file;

typedef struct input_list {
    input_file *items;
    size_t n, cap;
} input_list;

/* Appends path (malloc'ed, NULL when that failed), which the list then owns. */
static int add_input(input_list *l, char *path, int empty_folder, clr_error *err)
{
    if (!path)
        return clr_fail(err, CLR_EFAIL, "out of host memory listing the inputs");
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        input_file *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown) {
            free(path);
            return clr_fail(err, CLR_EFAIL, "out of host memory listing the inputs");
        }
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n].path = path;
    l->items[l->n++].empty_folder = empty_folder;
    return CLR_OK;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    char *path = malloc(n + strlen(name) + 2);
    if (path)
        sprintf(path, "%.*s/%s", (int)n, dir, name);
    return path;
}

static int has_json_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && !strcmp(name + n - 5, ".json");
}

/* Every *.json below dir (regular files, or links to them), each folder's entries in name order,
 * depth first, as `dir/ * / *.json` globs would list them; names starting with '.' are passed
 * over, as the shell's globs do, and links to folders are not followed (no loops). */
static int walk_folder(const char *dir, input_list *l, clr_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return clr_fail(err, CLR_EUSAGE, "cannot read folder %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = CLR_OK;
    for (struct dirent *e; rc == CLR_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown) {
                rc = clr_fail(err, CLR_EFAIL, "out of host memory listing %s", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = clr_strdup(e->d_name)))
            rc = clr_fail(err, CLR_EFAIL, "out of host memory listing %s", dir);
        else
            n++;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, cmp_string_ptr);
    for (size_t i = 0; i < n && rc == CLR_OK; ++i) {
        char *path = join_path(dir, names[i]);
        struct stat st;
        if (!path)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory listing %s", dir);
        else if (lstat(path, &st) != 0)
            rc = clr_fail(err, CLR_EUSAGE, "cannot read %s: %s", path, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = walk_folder(path, l, err);
        else if (has_json_suffix(names[i]) && (S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && stat(path, &st) == 0 &&
                                                                         S_ISREG(st.st_mode)))) {
            rc = add_input(l, path, 0, err);
            path = NULL; /* the list owns it, or it was freed */
        }
        free(path);
    }
    for (size_t i = 0; i < n; ++i)
        free(names[i]);
    free(names);
    return rc;
}

static int add_skipped(clr_comparison *cmp, const char *path, const char *why, clr_error *err)
{
    clr_skipped *grown = realloc(cmp->skipped, (cmp->nskipped + 1) * sizeof *grown);
    if (!grown)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    cmp->skipped = grown;
    clr_skipped *s = &cmp->skipped[cmp->nskipped];
    s->path = clr_strdup(path);
    s->why = clr_strdup(why);
    if (!s->path || !s->why) {
        free(s->path);
        free(s->why);
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    cmp->nskipped++;
    return CLR_OK;
}

/* No document to read: one message naming every input and what it was. */
static int fail_nothing_usable(const clr_comparison *cmp, int flags, clr_error *err)
{
    clr_text t = {0};
    clr_text_printf(&t, "no run results among the inputs: ");
    for (size_t i = 0; i < cmp->nskipped; ++i) {
        if (t.len > 2500) {
            clr_text_printf(&t, "; and %zu more", cmp->nskipped - i);
            break;
        }
        clr_text_printf(&t, "%s%s is %s", i ? "; " : "", cmp->skipped[i].path, cmp->skipped[i].why);
    }
    clr_text_printf(&t, ". Name the .json files `clrepro run` writes (results/<device>/<op>.json)%s or folders that "
                        "hold them",
                    flags & CLR_COMPARE_DECODE ? " or `clrepro decode` writes (<out>/<device>/decode.json)" : "");
    int rc = t.failed ? clr_fail(err, CLR_EFAIL, "out of host memory")
                      : clr_fail(err, CLR_EUSAGE, "%s", t.buf);
    free(t.buf);
    return rc;
}

/* A decode document (with CLR_COMPARE_DECODE): into cmp->decode, or, when damaged, into
 * cmp->skipped with what is wrong with it. */
static int read_decode(const char *path, clr_comparison *cmp, clr_error *err)
{
    char why[512];
    clr_ddoc doc;
    int rc = clr_decode_doc_load(path, &doc, why, sizeof why, err);
    if (rc == CLR_OK && why[0]) {
        char what[640];
        snprintf(what, sizeof what, "a damaged decode document (schema clrepro.decode), not compared: %s", why);
        return add_skipped(cmp, path, what, err);
    }
    if (rc == CLR_OK && cmp->ndecode == MAX_DOCS) {
        clr_ddoc_free(&doc);
        rc = clr_fail(err, CLR_EUSAGE, "more than %d decode documents among the inputs (the next: %s); compare "
                                       "and report read at most %d at once: name fewer files or folders",
                      MAX_DOCS, path, MAX_DOCS);
    } else if (rc == CLR_OK) {
        cmp->decode[cmp->ndecode++] = doc;
    }
    return rc;
}

/* Reads every input: run results become documents, anything else is listed in cmp->skipped. */
static int read_inputs(const input_list *inputs, int flags, clr_comparison *cmp, clr_error *err)
{
    struct stat *seen = calloc(inputs->n ? inputs->n : 1, sizeof *seen); /* each file read once */
    const char **seen_path = calloc(inputs->n ? inputs->n : 1, sizeof *seen_path);
    size_t nseen = 0;
    int rc = seen && seen_path ? CLR_OK : clr_fail(err, CLR_EFAIL, "out of host memory");
    for (size_t i = 0; i < inputs->n && rc == CLR_OK; ++i) {
        const char *path = inputs->items[i].path;
        struct stat st;
        if (inputs->items[i].empty_folder) {
            rc = add_skipped(cmp, path, "a folder with no .json file below it", err);
            continue;
        }
        if (stat(path, &st) == 0) {
            const char *twin = NULL;
            for (size_t k = 0; k < nseen && !twin; ++k)
                if (seen[k].st_dev == st.st_dev && seen[k].st_ino == st.st_ino)
                    twin = seen_path[k];
            if (twin) {
                char why[64 + PATH_MAX];
                snprintf(why, sizeof why, "the same file as %s, read once", twin);
                rc = add_skipped(cmp, path, why, err);
                continue;
            }
            seen[nseen] = st;
            seen_path[nseen++] = path;
        }
        char what[256];
        clr_rdoc doc;
        rc = clr_results_load_or_identify(path, &doc, what, sizeof what, err);
        if (rc == CLR_OK && (flags & CLR_COMPARE_DECODE) && !strcmp(what, CLR_DECODE_WHAT)) {
            rc = read_decode(path, cmp, err);
        } else if (rc == CLR_OK && what[0]) {
            rc = add_skipped(cmp, path, what, err);
        } else if (rc == CLR_OK && cmp->ndocs == MAX_DOCS) {
            clr_rdoc_free(&doc);
            rc = clr_fail(err, CLR_EUSAGE, "more than %d results documents among the inputs (the next: %s); compare "
                                           "and report read at most %d at once: name fewer files or folders",
                          MAX_DOCS, path, MAX_DOCS);
        } else if (rc == CLR_OK) {
            cmp->docs[cmp->ndocs] = doc;
            cmp->files[cmp->ndocs] = clr_strdup(path);
            if (!cmp->files[cmp->ndocs++])
                rc = clr_fail(err, CLR_EFAIL, "out of host memory");
        }
    }
    free(seen);
    free(seen_path);
    return rc;
}

int clr_compare_load(char *const *paths, size_t npaths, clr_comparison *cmp, clr_error *err)
{
    return clr_compare_load_with(paths, npaths, 0, cmp, err);
}

int clr_compare_load_with(char *const *paths, size_t npaths, int flags, clr_comparison *cmp, clr_error *err)
{
    memset(cmp, 0, sizeof *cmp);
    if (npaths == 0)
        return clr_fail(err, CLR_EUSAGE, "name at least one results .json file (results/<device>/<op>.json) or a "
                                         "folder that holds them");
    cmp->docs = calloc(MAX_DOCS, sizeof *cmp->docs);
    cmp->labels = calloc(MAX_DOCS, sizeof *cmp->labels);
    cmp->files = calloc(MAX_DOCS, sizeof *cmp->files);
    if (flags & CLR_COMPARE_DECODE)
        cmp->decode = calloc(MAX_DOCS, sizeof *cmp->decode);
    if (!cmp->docs || !cmp->labels || !cmp->files || ((flags & CLR_COMPARE_DECODE) && !cmp->decode))
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    input_list inputs = {0};
    int rc = CLR_OK;
    for (size_t i = 0; i < npaths && rc == CLR_OK; ++i) {
        struct stat st;
        size_t before = inputs.n;
        if (stat(paths[i], &st) != 0)
            rc = clr_fail(err, CLR_EUSAGE, "%s: %s; name results .json files or folders that hold them", paths[i],
                          strerror(errno));
        else if (!S_ISDIR(st.st_mode))
            rc = add_input(&inputs, clr_strdup(paths[i]), 0, err);
        else if ((rc = walk_folder(paths[i], &inputs, err)) == CLR_OK && inputs.n == before)
            rc = add_input(&inputs, clr_strdup(paths[i]), 1, err);
    }
    if (rc == CLR_OK)
        rc = read_inputs(&inputs, flags, cmp, err);
    for (size_t i = 0; i < inputs.n; ++i)
        free(inputs.items[i].path);
    free(inputs.items);
    if (rc == CLR_OK && cmp->ndocs == 0 && cmp->ndecode == 0)
        rc = fail_nothing_usable(cmp, flags, err);
    if (rc)
        return rc;
    /* Labels: device (driver), with the file where two documents would otherwise look alike. */
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        int twin = 0;
        for (size_t j = 0; j < cmp->ndocs; ++j)
            twin |= j != i && !strcmp(d->device, cmp->docs[j].device) && !strcmp(d->driver, cmp->docs[j].driver) &&
                    !strcmp(d->name, cmp->docs[j].name);
        if (!(cmp->labels[i] = clr_compare_label(d->device, d->driver, d->path, twin)))
            return clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    rc = match_cases(cmp, err);
    rc = rc ? rc : judge_device_claims(cmp, err);
    return rc ? rc : clr_decode_group(cmp, err);
}

char *clr_compare_label(const char *device, const char *driver, const char *path, int twin)
{
    clr_text t = {0};
    clr_text_printf(&t, "%s (%s)", device, driver);
    if (twin)
        clr_text_printf(&t, " [%s]", path);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}

void clr_compare_print_skipped(const clr_comparison *cmp, FILE *out)
{
    for (size_t i = 0; i < cmp->nskipped; ++i) {
        char path[1024], why[1024];
        fprintf(out, "clrepro: skipped %s: %s\n", clr_escape(cmp->skipped[i].path, path, sizeof path),
                clr_escape(cmp->skipped[i].why, why, sizeof why));
    }
}

void clr_compare_free(clr_comparison *cmp)
{
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        clr_rdoc_free(&cmp->docs[i]);
        free(cmp->labels[i]);
        free(cmp->files[i]);
    }
    for (size_t i = 0; i < cmp->nskipped; ++i) {
        free(cmp->skipped[i].path);
        free(cmp->skipped[i].why);
    }
    free(cmp->skipped);
    free(cmp->files);
    if (cmp->matches) {
        free(cmp->matches[0].cases); /* the pools start at the first match */
        free(cmp->matches[0].group_of);
    }
    for (size_t i = 0; i < cmp->ndevice_claims; ++i)
        free(cmp->device_claims[i].evidence);
    free(cmp->device_claims);
    free(cmp->docs);
    free(cmp->labels);
    free(cmp->matches);
    clr_decode_free(cmp);
    memset(cmp, 0, sizeof *cmp);
}

const char *clr_device_claim_observed(const clr_device_claim *row)
{
    return !row->cases ? "not measured" : row->identical == row->cases ? "held" : "violated";
}

int clr_check_output_path(char *const *inputs, size_t ninputs, const char *path, const char *option,
                          int parent_must_exist, clr_error *err)
{
    struct stat out, in;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const size_t temp_suffix = strlen(".tmpXXXXXX"); /* the temporary written first (atomic_file.h) */
    if (strlen(base) + temp_suffix > NAME_MAX || strlen(path) + temp_suffix >= PATH_MAX)
        return clr_fail(err, CLR_EUSAGE, "%s %s: the name is too long (a file name of at most %zu bytes, a path of "
                                         "at most %zu); choose a shorter one",
                        option, path, (size_t)NAME_MAX - temp_suffix, (size_t)PATH_MAX - 1 - temp_suffix);
    if (stat(path, &out) == 0) {
        if (S_ISDIR(out.st_mode))
            return clr_fail(err, CLR_EUSAGE, "%s %s is a directory; name a file to write", option, path);
        if (!S_ISREG(out.st_mode))
            return clr_fail(err, CLR_EUSAGE, "%s %s is not a regular file (a device or a pipe?); name a file to write",
                            option, path);
        for (size_t i = 0; i < ninputs; ++i)
            if (stat(inputs[i], &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
                return clr_fail(err, CLR_EUSAGE, "%s %s is the input document %s: writing it would destroy that "
                                                 "input; choose another output file",
                                option, path, inputs[i]);
        return CLR_OK;
    }
    if (errno != ENOENT)
        return clr_fail(err, CLR_EUSAGE, "%s %s: %s; choose another output file", option, path, strerror(errno));
    if (!parent_must_exist)
        return CLR_OK;
    char *dir = clr_strdup(path);
    if (!dir)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int rc = CLR_OK;
    if (stat(dir, &in) != 0)
        rc = clr_fail(err, CLR_EUSAGE, "%s %s: directory %s %s; create it first or choose another output file",
                      option, path, dir, errno == ENOENT ? "does not exist" : strerror(errno));
    else if (!S_ISDIR(in.st_mode))
        rc = clr_fail(err, CLR_EUSAGE, "%s %s: %s is not a directory; choose another output file", option, path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = clr_fail(err, CLR_EUSAGE, "%s %s: directory %s is not writable; choose another output file", option,
                      path, dir);
    free(dir);
    return rc;
}

int clr_check_output_documents(const clr_comparison *cmp, const char *path, const char *option, int parent_must_exist,
                               clr_error *err)
{
    int rc = clr_check_output_path(cmp->files, cmp->ndocs, path, option, parent_must_exist, err);
    for (size_t i = 0; i < cmp->ndecode && rc == CLR_OK; ++i)
        rc = clr_check_output_path(&cmp->decode[i].file, 1, path, option, parent_must_exist, err);
    return rc;
}

void clr_group_name(size_t g, char buf[8])
{
    char rev[8];
    size_t n = 0;
    for (size_t x = g + 1; x && n < 7; x = (x - 1) / 26) /* bijective base 26: A..Z, AA, AB, ... */
        rev[n++] = (char)('A' + (x - 1) % 26);
    for (size_t i = 0; i < n; ++i)
        buf[i] = rev[n - 1 - i];
    buf[n] = '\0';
}

/* ---- the writers ---- */

/* Per (run, strategy): how many matched cases had the same bits everywhere. */
typedef struct summary_row {
    const char *run, *strategy; /* first, as run_strategy_key expects */
    size_t cases, same, ulp_known;
    int64_t max_ulp;
    double ratio_sum;
    size_t ratios;
} summary_row;

static summary_row *summarise(const clr_comparison *cmp, size_t *nrows)
{
    summary_row *rows = calloc(cmp->nmatches ? cmp->nmatches : 1, sizeof *rows);
    hash_index ix = {0};
    size_t n = 0;
    for (size_t m = 0; rows && m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const char *strategy = any_case(mt, cmp->ndocs)->strategy;
        run_strategy_key key = {mt->run, strategy, rows, sizeof *rows};
        size_t id = index_find_or_add(&ix, hash_run_strategy(mt->run, strategy), &key, same_run_strategy, n);
        if (id == NONE) {
            free(rows);
            rows = NULL;
            break;
        }
        summary_row *r = &rows[id];
        if (id == n) {
            n++;
            r->run = mt->run;
            r->strategy = strategy;
        }
        r->cases++;
        r->same += mt->groups == 1;
        if (mt->max_ulp >= 0) {
            r->ulp_known++;
            r->max_ulp = mt->max_ulp > r->max_ulp ? mt->max_ulp : r->max_ulp;
        }
        if (isfinite(mt->time_ratio)) {
            r->ratio_sum += log(mt->time_ratio);
            r->ratios++;
        }
    }
    index_free(&ix);
    *nrows = n;
    return rows;
}

/* Two documents of the same device and run (another driver, build or day): their common cases. */
typedef struct pair_row {
    size_t a, b, common, changed;
    double log_ratio; /* sum of log(time b / time a) */
    size_t timed;
} pair_row;

static pair_row *same_device_pairs(const clr_comparison *cmp, size_t *nrows)
{
    size_t n = 0;
    pair_row *rows = calloc(cmp->ndocs * cmp->ndocs / 2 + 1, sizeof *rows);
    for (size_t a = 0; rows && a < cmp->ndocs; ++a)
        for (size_t b = a + 1; b < cmp->ndocs; ++b) {
            if (strcmp(cmp->docs[a].device, cmp->docs[b].device) || strcmp(cmp->docs[a].name, cmp->docs[b].name))
                continue;
            pair_row *r = &rows[n++];
            r->a = a;
            r->b = b;
            for (size_t m = 0; m < cmp->nmatches; ++m) {
                const clr_match *mt = &cmp->matches[m];
                const clr_rcase *x = mt->cases[a], *y = mt->cases[b];
                if (!x || !y)
                    continue;
                r->common++;
                r->changed += mt->group_of[a] != mt->group_of[b];
                if (x->valid && y->valid && isfinite(x->median_s) && isfinite(y->median_s) && x->median_s > 0) {
                    r->log_ratio += log(y->median_s / x->median_s);
                    r->timed++;
                }
            }
        }
    *nrows = n;
    return rows;
}

/* What invariance costs, over every case: per (operation, strategy claiming batch or device
 * invariance in its document, device), the overhead (time / the fastest strategy's at the same
 * shape and batch) of every measured case, as min, median and max. Devices are told apart by
 * name and driver; rows sorted by operation, strategy, device. */
typedef struct cost_item {
    const char *op, *strategy, *device, *driver;
    double overhead;
} cost_item;

static int cmp_cost_item(const void *a, const void *b)
{
    const cost_item *x = a, *y = b;
    int c = strcmp(x->op, y->op);
    c = c ? c : strcmp(x->strategy, y->strategy);
    c = c ? c : strcmp(x->device, y->device);
    c = c ? c : strcmp(x->driver, y->driver);
    return c ? c : (x->overhead > y->overhead) - (x->overhead < y->overhead);
}

static int claims_invariance(const clr_rdoc *d, const char *strategy)
{
    for (size_t k = 0; k < d->nclaims; ++k)
        if (d->claims[k].claimed && !strcmp(d->claims[k].strategy, strategy) &&
            (!strcmp(d->claims[k].claim, "batch_invariant") || !strcmp(d->claims[k].claim, "device_invariant")))
            return 1;
    return 0;
}

/* The items, sorted; NULL when out of memory (*n then 0). */
/* The newest order revision any document gives (op, strategy): cases of older revisions measured
 * a strategy that has since changed, and its cost is not theirs. */
static unsigned newest_order(const clr_comparison *cmp, const char *op, const char *strategy)
{
    unsigned newest = 1;
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        if (strcmp(d->op, op))
            continue;
        for (size_t k = 0; k < d->ncases; ++k)
            if (d->cases[k].order > newest && !strcmp(d->cases[k].strategy, strategy))
                newest = d->cases[k].order;
    }
    return newest;
}

/* Every valid case of a strategy claiming invariance but those a document explicitly gives an
 * order revision older than the newest one for; *superseded counts them. (A document without
 * `order`, from before the field, is taken as it is: its revision cannot be told from the field,
 * and its strategy mostly had one order then.) */
static cost_item *invariance_costs(const clr_comparison *cmp, size_t *n, size_t *superseded)
{
    size_t total = 0;
    *n = 0;
    if (superseded)
        *superseded = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i)
        total += cmp->docs[i].ncases;
    cost_item *items = malloc((total ? total : 1) * sizeof *items);
    if (!items)
        return NULL;
    typedef struct order_memo {
        const char *op, *strategy;
        unsigned newest;
    } order_memo;
    order_memo memo[64];
    size_t nmemo = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        for (size_t k = 0; k < d->ncases; ++k) {
            const clr_rcase *c = &d->cases[k];
            if (c->skipped || !c->valid || !isfinite(c->overhead) || c->overhead <= 0 ||
                !claims_invariance(d, c->strategy))
                continue;
            size_t m = 0; /* the (op, strategy) pairs seen: a handful, each looked up once */
            while (m < nmemo && (strcmp(memo[m].op, d->op) || strcmp(memo[m].strategy, c->strategy)))
                ++m;
            if (m == nmemo && nmemo < sizeof memo / sizeof memo[0])
                memo[nmemo++] = (order_memo){d->op, c->strategy, newest_order(cmp, d->op, c->strategy)};
            unsigned newest = m < nmemo ? memo[m].newest : newest_order(cmp, d->op, c->strategy);
            if (c->order_given && c->order < newest) {
                if (superseded)
                    ++*superseded;
                continue;
            }
            items[(*n)++] = (cost_item){d->op, c->strategy, d->device, d->driver, c->overhead};
        }
    }
    qsort(items, *n, sizeof *items, cmp_cost_item);
    return items;
}

/* Calls fn for each group of items [first, last) of one (op, strategy, device, driver). */
static void cost_groups(const cost_item *items, size_t n, void (*fn)(const cost_item *first, size_t count, void *arg),
                        void *arg)
{
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !strcmp(items[j].op, items[i].op) && !strcmp(items[j].strategy, items[i].strategy) &&
               !strcmp(items[j].device, items[i].device) && !strcmp(items[j].driver, items[i].driver))
            ++j;
        fn(items + i, j - i, arg);
        i = j;
    }
}

static double cost_median(const cost_item *g, size_t count)
{
    return count % 2 ? g[count / 2].overhead : (g[count / 2 - 1].overhead + g[count / 2].overhead) / 2;
}

static void cost_md_row(const cost_item *g, size_t count, void *arg)
{
    clr_text *t = arg;
    clr_text_printf(t, "|");
    clr_text_md_cell(t, g->op);
    clr_text_md_cell(t, g->strategy);
    clr_text_printf(t, " ");
    clr_text_md(t, g->device);
    clr_text_printf(t, " (");
    clr_text_md(t, g->driver);
    clr_text_printf(t, ") | %zu | %.2fx | %.2fx | %.2fx |\n", count, g[0].overhead, cost_median(g, count),
                    g[count - 1].overhead);
}

typedef struct cost_json {
    json_t *arr;
    int failed;
} cost_json;

static void cost_json_row(const cost_item *g, size_t count, void *arg)
{
    cost_json *cj = arg;
    cj->failed |= clr_json_append(cj->arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:f, s:f}", "op", g->op, "strategy",
                                         g->strategy, "device", g->device, "driver", g->driver, "cases",
                                         (json_int_t)count, "min", g[0].overhead, "median", cost_median(g, count),
                                         "max", g[count - 1].overhead));
}

static void cost_row_out(const cost_item *g, size_t count, void *arg)
{
    clr_cost_row **next = arg;
    **next = (clr_cost_row){g->op, g->strategy, g->device, g->driver, count, g[0].overhead, cost_median(g, count),
                            g[count - 1].overhead};
    ++*next;
}

clr_cost_row *clr_invariance_costs(const clr_comparison *cmp, size_t *n)
{
    size_t nitems = 0;
    *n = 0;
    cost_item *items = invariance_costs(cmp, &nitems, NULL);
    clr_cost_row *rows = items ? malloc((nitems ? nitems : 1) * sizeof *rows) : NULL;
    if (rows) {
        clr_cost_row *next = rows;
        cost_groups(items, nitems, cost_row_out, &next);
        *n = (size_t)(next - rows);
    }
    free(items);
    return rows;
}

char *clr_compare_markdown(const clr_comparison *cmp, clr_error *err)
{
    clr_text t = {0};
    if (cmp->ndocs == 0) { /* decode documents only */
        clr_text_printf(&t, "# clrepro %s: comparison of %zu decode documents\n", CLREPRO_VERSION, cmp->ndecode);
        clr_decode_markdown(cmp, &t);
        return clr_text_take(&t, "compare.md", err);
    }
    clr_text_printf(&t, "# clrepro %s: comparison of %zu results documents\n\n", CLREPRO_VERSION, cmp->ndocs);
    clr_text_printf(&t, "| # | device (driver) | platform | run | tool | file |\n|---:|---|---|---|---|---|\n");
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        clr_text_printf(&t, "| %zu |", i);
        clr_text_md_cell(&t, cmp->labels[i]);
        clr_text_md_cell(&t, cmp->docs[i].platform);
        clr_text_md_cell(&t, cmp->docs[i].name);
        clr_text_md_cell(&t, cmp->docs[i].tool_version);
        clr_text_md_cell(&t, cmp->docs[i].path);
        clr_text_printf(&t, "\n");
    }
    size_t n = 0;
    summary_row *rows = summarise(cmp, &n);
    if (!rows)
        t.failed = 1;
    clr_text_printf(&t, "\n## Agreement per strategy\n\nCases present in at least two documents, matched by run, "
                        "strategy, shape and batch. Same bits: every document has the same output fingerprint. "
                        "Max ulp: the largest distance between two documents' probe outputs. Time ratio: geometric "
                        "mean over the cases of slowest / fastest.\n\n"
                        "| run | strategy | cases | same bits everywhere | max ulp between documents | time ratio |\n"
                        "|---|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; ++i) {
        clr_text_printf(&t, "|");
        clr_text_md_cell(&t, rows[i].run);
        clr_text_md_cell(&t, rows[i].strategy);
        clr_text_printf(&t, " %zu | %zu/%zu | ", rows[i].cases, rows[i].same, rows[i].cases);
        if (rows[i].ulp_known)
            clr_text_printf(&t, "%lld |", (long long)rows[i].max_ulp);
        else
            clr_text_printf(&t, "unknown |");
        if (rows[i].ratios)
            clr_text_printf(&t, " %.2fx |\n", exp(rows[i].ratio_sum / (double)rows[i].ratios));
        else
            clr_text_printf(&t, " - |\n");
    }
    free(rows);
    if (cmp->ndevice_claims) {
        clr_text_printf(&t, "\n## Device-invariance claims\n\nStrategies that claim the same bits on every device, "
                            "judged here: every case measured on two or more different devices must have one "
                            "fingerprint on all of them.\n\n| run | strategy | cases on 2+ devices | identical on "
                            "every device | observed | evidence |\n|---|---|---:|---:|---|---|\n");
        for (size_t i = 0; i < cmp->ndevice_claims; ++i) {
            const clr_device_claim *c = &cmp->device_claims[i];
            clr_text_printf(&t, "|");
            clr_text_md_cell(&t, c->run);
            clr_text_md_cell(&t, c->strategy);
            clr_text_printf(&t, " %zu | %zu | %s |", c->cases, c->identical, clr_device_claim_observed(c));
            clr_text_md_cell(&t, c->evidence);
            clr_text_printf(&t, "\n");
        }
    }
    size_t npairs = 0;
    pair_row *pairs = same_device_pairs(cmp, &npairs);
    if (!pairs)
        t.failed = 1;
    if (npairs) {
        clr_text_printf(&t, "\n## Same device, different runs\n\nTwo documents of one device (another driver, "
                            "build or day): how many of their common cases changed bits, and the geometric mean of "
                            "the second's time over the first's.\n\n| run | device | first | second | common cases | "
                            "bits changed | time second / first |\n|---|---|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < npairs; ++i) {
            const pair_row *r = &pairs[i];
            clr_text_printf(&t, "|");
            clr_text_md_cell(&t, cmp->docs[r->a].name);
            clr_text_md_cell(&t, cmp->docs[r->a].device);
            clr_text_printf(&t, " #%zu (", r->a);
            clr_text_md(&t, cmp->docs[r->a].driver);
            clr_text_printf(&t, ") | #%zu (", r->b);
            clr_text_md(&t, cmp->docs[r->b].driver);
            clr_text_printf(&t, ") | %zu | %zu |", r->common, r->changed);
            if (r->timed)
                clr_text_printf(&t, " %.3fx |\n", exp(r->log_ratio / (double)r->timed));
            else
                clr_text_printf(&t, " - |\n");
        }
    }
    free(pairs);
    size_t ncost = 0, superseded = 0;
    cost_item *costs = invariance_costs(cmp, &ncost, &superseded);
    if (!costs)
        t.failed = 1;
    if (ncost) {
        clr_text_printf(&t, "\n## What invariance costs, over every case\n\nPer strategy that claims batch or "
                            "device invariance in its document, and per device: time / the fastest strategy's time "
                            "at the same shape and batch, over every valid case of these documents (min, median, "
                            "max). `serial` and attention's `single` are the one-work-item and one-work-group "
                            "references.");
        if (superseded)
            clr_text_printf(&t, " %zu cases of a strategy whose order of operations has since been revised "
                                "(documents of an older `order`) measured what it no longer is and are left out.",
                            superseded);
        clr_text_printf(&t, "\n\n| operation | strategy | device (driver) | cases | min | median | max "
                            "|\n|---|---|---|---:|---:|---:|---:|\n");
        cost_groups(costs, ncost, cost_md_row, &t);
    }
    free(costs);
    clr_text_printf(&t, "\n## Cases\n\nFingerprint groups: one letter (A to Z, then AA, AB, ...) per document, in "
                        "document order, '.' where the document lacks the case; documents with the same letter "
                        "gave the same bits. Where a case has more than 26 groups, the letters are separated by "
                        "spaces.\n\n| run | strategy | shape | batch | groups | max ulp | time ratio | fastest |\n"
                        "|---|---|---|---:|---|---:|---:|---|\n");
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const clr_rcase *c = any_case(mt, cmp->ndocs);
        clr_text_printf(&t, "|");
        clr_text_md_cell(&t, mt->run);
        clr_text_md_cell(&t, c->strategy);
        clr_text_md_cell(&t, c->shape);
        clr_text_printf(&t, " %zu | `", c->batch);
        for (size_t d = 0; d < cmp->ndocs; ++d) {
            char name[8] = ".";
            if (mt->group_of[d] >= 0)
                clr_group_name((size_t)mt->group_of[d], name);
            clr_text_printf(&t, "%s%s", d && mt->groups > 26 ? " " : "", name);
        }
        clr_text_printf(&t, "` | ");
        if (mt->max_ulp >= 0)
            clr_text_printf(&t, "%lld |", (long long)mt->max_ulp);
        else
            clr_text_printf(&t, "unknown |");
        if (isfinite(mt->time_ratio))
            clr_text_printf(&t, " %.2fx | %zu |\n", mt->time_ratio, mt->fastest);
        else
            clr_text_printf(&t, " - | - |\n");
    }
    if (cmp->ndecode)
        clr_decode_markdown(cmp, &t);
    return clr_text_take(&t, "compare.md", err);
}

char *clr_compare_csv(const clr_comparison *cmp, clr_error *err)
{
    clr_text t = {0};
    clr_text_printf(&t, "run,strategy,shape,batch,documents,groups,same_bits,max_ulp,time_ratio,fastest,slowest");
    for (size_t d = 0; d < cmp->ndocs; ++d)
        clr_text_printf(&t, ",fingerprint_%zu,median_ms_%zu", d, d);
    clr_text_printf(&t, "\n");
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const clr_rcase *c = any_case(mt, cmp->ndocs);
        clr_text_csv(&t, mt->run);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, c->strategy);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, c->shape);
        clr_text_printf(&t, ",%zu,%zu,%zu,%s,", c->batch, mt->present, mt->groups, mt->groups == 1 ? "true" : "false");
        if (mt->max_ulp >= 0)
            clr_text_printf(&t, "%lld", (long long)mt->max_ulp);
        if (isfinite(mt->time_ratio))
            clr_text_printf(&t, ",%.4f,%zu,%zu", mt->time_ratio, mt->fastest, mt->slowest);
        else
            clr_text_printf(&t, ",,,");
        for (size_t d = 0; d < cmp->ndocs; ++d) {
            const clr_rcase *x = mt->cases[d];
            if (x && isfinite(x->median_s))
                clr_text_printf(&t, ",%s,%.6f", x->fingerprint, x->median_s * 1e3);
            else if (x)
                clr_text_printf(&t, ",%s,", x->fingerprint);
            else
                clr_text_printf(&t, ",,");
        }
        clr_text_printf(&t, "\n");
    }
    return clr_text_take(&t, "compare.csv", err);
}

/* Appends item (a new reference, NULL when it could not be built) to arr; -1 when either failed. */
char *clr_compare_json(const clr_comparison *cmp, clr_error *err)
{
    json_t *docs = json_array(), *cases = json_array(), *same = json_array(), *device_claims = json_array();
    const char *failed = NULL; /* what could not be serialised */
    for (size_t i = 0; i < cmp->ndocs && !failed; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        if (clr_json_append(docs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "label", cmp->labels[i], "path", d->path,
                                   "device", d->device, "driver", d->driver, "platform", d->platform, "run", d->name,
                                   "tool_version", d->tool_version)))
            failed = "a document";
    }
    for (size_t m = 0; m < cmp->nmatches && !failed; ++m) {
        const clr_match *mt = &cmp->matches[m];
        const clr_rcase *c = any_case(mt, cmp->ndocs);
        json_t *groups = json_array();
        for (size_t d = 0; d < cmp->ndocs && groups; ++d)
            if (clr_json_append(groups, mt->group_of[d] < 0 ? json_null() : json_integer(mt->group_of[d]))) {
                json_decref(groups);
                groups = NULL;
            }
        json_t *max_ulp = mt->max_ulp >= 0 ? json_integer(mt->max_ulp) : json_null();
        json_t *ratio = isfinite(mt->time_ratio) ? json_real(mt->time_ratio) : json_null();
        json_t *item = groups && max_ulp && ratio
                           ? json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:O, s:O, s:O}", "run", mt->run, "strategy",
                                       c->strategy, "shape", c->shape, "batch", (json_int_t)c->batch, "groups",
                                       (json_int_t)mt->groups, "same_bits", mt->groups == 1, "group_of", groups,
                                       "max_ulp", max_ulp, "time_ratio", ratio)
                           : NULL;
        json_decref(groups);
        json_decref(max_ulp);
        json_decref(ratio);
        if (clr_json_append(cases, item))
            failed = "a case";
    }
    size_t npairs = 0;
    pair_row *pairs = same_device_pairs(cmp, &npairs);
    if (!pairs)
        failed = "the same-device pairs";
    for (size_t i = 0; i < npairs && !failed; ++i) {
        double mean_ratio = pairs[i].timed ? exp(pairs[i].log_ratio / (double)pairs[i].timed) : NAN;
        json_t *ratio = isfinite(mean_ratio) ? json_real(mean_ratio) : json_null(); /* unknown: null */
        json_t *item = ratio ? json_pack("{s:I, s:I, s:I, s:I, s:O}", "first", (json_int_t)pairs[i].a, "second",
                                         (json_int_t)pairs[i].b, "common_cases", (json_int_t)pairs[i].common,
                                         "bits_changed", (json_int_t)pairs[i].changed, "time_ratio", ratio)
                             : NULL;
        json_decref(ratio);
        if (clr_json_append(same, item))
            failed = "a same-device pair";
    }
    free(pairs);
    for (size_t i = 0; i < cmp->ndevice_claims && !failed; ++i) {
        const clr_device_claim *c = &cmp->device_claims[i];
        if (clr_json_append(device_claims, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "run", c->run,
                                            "strategy", c->strategy, "claim", "device_invariant", "cases",
                                            (json_int_t)c->cases, "identical", (json_int_t)c->identical,
                                            "other_order", (json_int_t)c->revised, "observed",
                                            clr_device_claim_observed(c), "evidence", c->evidence)))
            failed = "a device claim";
    }
    size_t ncost = 0, superseded = 0;
    cost_item *costs = invariance_costs(cmp, &ncost, &superseded);
    cost_json cj = {json_array(), 0};
    json_t *cost = cj.arr;
    if (costs && cost)
        cost_groups(costs, ncost, cost_json_row, &cj);
    if (!costs || !cost || cj.failed)
        failed = "the cost of invariance";
    free(costs);
    json_t *root = NULL, *decode = cmp->ndecode ? clr_decode_json(cmp) : NULL;
    if (cmp->ndecode && !decode)
        failed = "the decode documents";
    if (!failed && docs && cases && same && device_claims)
        root = json_pack("{s:s, s:i, s:{s:s, s:s}, s:O, s:O, s:O, s:O, s:O, s:I}", "schema", "clrepro.compare",
                         "schema_version", 1, "tool", "name", "clrepro", "version", CLREPRO_VERSION, "documents", docs,
                         "cases", cases, "same_device", same, "device_claims", device_claims, "invariance_cost",
                         cost, "invariance_cost_superseded", (json_int_t)superseded);
    if (root && decode && json_object_set(root, "decode", decode))
        failed = "the decode documents";
    json_decref(decode);
    json_decref(cost);
    json_decref(docs);
    json_decref(cases);
    json_decref(same);
    json_decref(device_claims);
    char *text = root && !failed
                     ? json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))
                     : NULL;
    json_decref(root);
    if (!text)
        clr_fail(err, CLR_EFAIL, "cannot write compare.json: %s could not be serialised (out of host memory?)",
                 failed ? failed : "the document");
    return text;
}
