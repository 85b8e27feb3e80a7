/* decode_run.c: `clrepro decode`, the experiment around the engine (src/decode.c). For each
 * device and mode, P prompts are decoded greedily for T tokens:
 *   - alone (batch 1, repeat 0): the reference completion of each prompt, its top-1/top-2 logit
 *     margin at every token;
 *   - inside batches of B sequences (every --batch, R repeats): the prompts sit in slots that
 *     move with the repeat, the other slots hold filler sequences that joined at assorted
 *     positions of a cache of earlier tokens and that restart when they reach its end, as under
 *     continuous batching; a batch smaller than P runs the prompts B at a time.
 * Per prompt: the distinct completions over every run (by fingerprint: XXH64 of the T token
 * ids), the first token where a run left the reference and the reference's margin there. Per
 * batch: tokens per second (every row of every step counts, prefill included: prompts are fed
 * token by token), the step time against the weights' bytes at the read bandwidth measured in
 * the same run (the roof), and the overhead against `fast`. A filler's prompt and start come
 * from the counter-based generator keyed by (seed, batch, repeat, slot, restart): a run is the
 * same sequence of steps on every device, so completions are comparable across devices by
 * fingerprint. Results: <out>/<device>/decode.{json,csv,md}, all or none. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include "atomic_file.h"
#include "data.h"
#include "decode.h"
#include "npy.h"
#include "text.h"

#define DEFAULT_BATCHES {1, 2, 4, 8, 16, 32, 64}
#define MAX_PROMPT_FILE (16u << 20)
#define STREAM_PROMPT 0x70726f6d707473ull /* "prompts" */
#define STREAM_FILLER 0x66696c6c6572ull   /* "filler" */

typedef struct prompts {
    size_t count, max_len;
    int32_t **ids;
    size_t *len;
} prompts;

typedef struct batch_stats {
    size_t steps, rows;
    double seconds;
    double *step_s; /* every step's seconds, sorted once the batch's runs are done */
    size_t cap;
    double median_ms; /* the median step, set then */
    size_t differing; /* prompts whose completion in some repeat at this batch is not the reference */
} batch_stats;

typedef struct mode_result {
    const clr_decode_mode *mode;
    int ran;
    char why[256];
    int32_t *ref;        /* [P][T] the reference completions */
    float *ref_margin;   /* [P][T] top-1 minus top-2 logit, reference run */
    float *ref_top1;     /* [P][T] the top-1 logit, reference run */
    float *shift;        /* [runs][P] largest |top-1 logit - the reference's| before the first divergence */
    uint64_t *fps;       /* [runs][P] fingerprints; run 0 is the reference */
    uint64_t *lfps;      /* [runs][P] fingerprints of the top-1 logits' bits at every generated token */
    size_t *first_div;   /* [runs][P], T where the run never left the reference */
    size_t nruns;
    batch_stats *batch;  /* [nbatches] */
    float *logits;       /* --logits-out: [P][S][vocab] */
} mode_result;

typedef struct experiment {
    const clr_cli *cli;
    const clr_llama_weights *w;
    const clr_tokenizer *tok; /* count 0: no tokenizer.json, ids only */
    prompts pr;
    size_t T, cap, *batches, nbatches, runs_per_mode;
    unsigned repeats;
    uint64_t seed;
    const clr_decode_mode *modes[8];
    size_t nmodes;
    char model_name[256];
} experiment;

static uint64_t fingerprint(const int32_t *tokens, size_t n)
{
    return XXH64(tokens, n * sizeof *tokens, 0);
}

/* --- prompts --- */

static void prompts_free(prompts *p)
{
    for (size_t i = 0; p->ids && i < p->count; ++i)
        free(p->ids[i]);
    free(p->ids);
    free(p->len);
    memset(p, 0, sizeof *p);
}

static int prompts_alloc(prompts *p, size_t count, clr_error *err)
{
    p->count = count;
    p->ids = clr_calloc(count, sizeof *p->ids, "prompts", err);
    p->len = clr_calloc(count, sizeof *p->len, "prompts", err);
    return p->ids && p->len ? CLR_OK : err->code;
}

static int prompts_generate(prompts *p, size_t count, size_t len, size_t vocab, uint64_t seed, clr_error *err)
{
    if (prompts_alloc(p, count, err))
        return err->code;
    for (size_t i = 0; i < count; ++i) {
        if (!(p->ids[i] = clr_malloc(len * sizeof(int32_t), "prompt", err)))
            return err->code;
        p->len[i] = len;
        for (size_t j = 0; j < len; ++j)
            p->ids[i][j] = (int32_t)(clr_hash(seed, STREAM_PROMPT, i, j) % vocab);
    }
    p->max_len = len;
    return CLR_OK;
}

/* One prompt a line, ids separated by spaces or tabs; blank lines and lines starting with # are
 * skipped. Every id must be a token of the model. */
static int prompts_read(prompts *p, const char *path, size_t vocab, clr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return clr_fail(err, CLR_EUSAGE, "--prompts %s: cannot open: %s", path, strerror(errno));
    char *text = malloc(MAX_PROMPT_FILE + 1);
    size_t size = text ? fread(text, 1, MAX_PROMPT_FILE + 1, f) : 0;
    int bad_read = text && ferror(f);
    fclose(f);
    if (!text)
        return clr_fail(err, CLR_EFAIL, "out of host memory reading %s", path);
    if (bad_read || size > MAX_PROMPT_FILE) {
        free(text);
        return clr_fail(err, CLR_EUSAGE, "--prompts %s: %s", path,
                        bad_read ? "cannot read it" : "larger than 16 MiB; a prompt file holds token ids, a few per line");
    }
    text[size] = '\0';
    if (memchr(text, '\0', size)) {
        free(text);
        return clr_fail(err, CLR_EUSAGE, "--prompts %s: a NUL byte; expected text: token ids, one prompt a line", path);
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; ++i)
        lines += text[i] == '\n';
    int rc = prompts_alloc(p, lines, err);
    p->count = 0;
    size_t line_no = 0;
    for (char *line = text, *next; rc == CLR_OK && line; line = next) {
        ++line_no;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t n = 0;
        for (char *q = line; *q;) {
            while (*q == ' ' || *q == '\t' || *q == '\r' || *q == ',')
                ++q;
            if (!*q || *q == '#')
                break;
            ++n;
            while (*q && *q != ' ' && *q != '\t' && *q != '\r' && *q != ',')
                ++q;
        }
        if (n == 0)
            continue;
        if (p->count == 256 || n > 4096) {
            rc = clr_fail(err, CLR_EUSAGE, "--prompts %s, line %zu: %s", path, line_no,
                          n > 4096 ? "more than 4096 tokens in a prompt" : "more than 256 prompts");
            break;
        }
        int32_t *ids = clr_malloc(n * sizeof *ids, "prompt", err);
        if (!ids) {
            rc = err->code;
            break;
        }
        p->ids[p->count] = ids;
        p->len[p->count++] = n;
        size_t k = 0;
        for (char *q = line; *q && k < n;) {
            while (*q == ' ' || *q == '\t' || *q == '\r' || *q == ',')
                ++q;
            char *end = q;
            while (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != ',')
                ++end;
            char saved = *end, word[64];
            *end = '\0';
            uint64_t id;
            snprintf(word, sizeof word, "%s", q);
            if (clr_parse_u64(q, &id) || id >= vocab) {
                rc = clr_fail(err, CLR_EUSAGE, "--prompts %s, line %zu: '%s' is not a token id of this model (whole "
                              "numbers 0 to %zu)", path, line_no, word, vocab - 1);
                break;
            }
            ids[k++] = (int32_t)id;
            *end = saved;
            q = end;
        }
        if (n > p->max_len)
            p->max_len = n;
    }
    free(text);
    if (rc == CLR_OK && p->count == 0)
        rc = clr_fail(err, CLR_EUSAGE, "--prompts %s: no prompt in it; write token ids, one prompt a line", path);
    return rc;
}

/* --- one batch mix --- */

typedef struct slot {
    int probe;          /* index of the prompt in this slot, -1 for a filler */
    size_t fed;         /* tokens fed so far (the next one goes at position pos) */
    uint32_t pos;
    int32_t next;       /* the token to feed */
    size_t gen;         /* probe: tokens generated */
    size_t prompt_left; /* filler: prompt tokens still to feed */
    uint64_t restarts;
} slot;

/* A filler's key: its batch, repeat and slot. */
static uint64_t filler_key(size_t B, unsigned r, size_t b) { return ((uint64_t)B << 40) ^ ((uint64_t)r << 20) ^ b; }

static void filler_start(const experiment *x, size_t B, unsigned r, size_t b, slot *s, int first)
{
    uint64_t key = filler_key(B, r, b);
    uint64_t h = clr_hash(x->seed, STREAM_FILLER, key, s->restarts++);
    s->probe = -1;
    /* the first time at an assorted position of the cache, later from its start (a new sequence) */
    s->pos = first ? (uint32_t)(h % (x->cap - 1)) : 0;
    s->prompt_left = 1 + (h >> 32) % (2 * x->pr.max_len);
    s->next = (int32_t)(clr_hash(x->seed, STREAM_FILLER, key ^ (1ull << 63), s->restarts) % x->w->cfg.vocab);
}

/* The probes of one run of batch B (repeat r) are probes [p0, p1) in slots (..) of the batch. */
static int run_group(const experiment *x, clr_decode_engine *e, mode_result *m, size_t bi, size_t run, size_t B,
                     unsigned r, size_t p0, size_t p1, clr_error *err)
{
    const size_t P = x->pr.count, T = x->T, V = x->w->cfg.vocab;
    slot *slots = clr_calloc(B, sizeof *slots, "slots", err);
    int32_t *tokens = clr_malloc(B * sizeof *tokens, "tokens", err), *best = clr_malloc(B * sizeof *best, "best", err);
    uint32_t *pos = clr_malloc(B * sizeof *pos, "positions", err);
    float *top = clr_malloc(2 * B * sizeof *top, "top", err);
    int want_logits = m->logits && B == 1 && r == 0;
    float *logits = want_logits ? clr_malloc(V * sizeof *logits, "logits", err) : NULL;
    int rc = slots && tokens && best && pos && top && (!want_logits || logits) ? CLR_OK : err->code;
    for (size_t b = 0; rc == CLR_OK && b < B; ++b)
        filler_start(x, B, r, b, &slots[b], 1);
    size_t n = p1 - p0;
    for (size_t k = 0; rc == CLR_OK && k < n; ++k) {
        /* B >= P: spread over the batch; else B at a time; turned by the repeat */
        size_t b = B >= P ? (k * (B / P) + r) % B : (k + r) % B;
        /* restarts continue from the filler it replaces: the filler after the probe draws anew */
        slots[b] = (slot){.probe = (int)(p0 + k), .pos = 0, .next = x->pr.ids[p0 + k][0], .restarts = slots[b].restarts};
    }
    int32_t *gen = run ? clr_malloc(P * T * sizeof *gen, "completions", err) : m->ref;
    float *top1 = clr_malloc(P * T * sizeof *top1, "top logits", err);
    if (rc == CLR_OK && (!gen || !top1))
        rc = err->code;
    size_t done = 0;
    while (rc == CLR_OK && done < n) {
        for (size_t b = 0; b < B; ++b) {
            tokens[b] = slots[b].next;
            pos[b] = slots[b].pos;
        }
        double t0 = clr_now();
        rc = clr_decode_engine_step(e, B, tokens, pos, best, top, logits, err);
        double dt = clr_now() - t0;
        batch_stats *bs = &m->batch[bi];
        if (rc == CLR_OK && bs->steps == bs->cap) {
            size_t cap = bs->cap ? 2 * bs->cap : 256;
            double *grown = realloc(bs->step_s, cap * sizeof *grown);
            if (!grown)
                rc = clr_fail(err, CLR_EFAIL, "out of host memory");
            bs->step_s = grown ? grown : bs->step_s;
            bs->cap = grown ? cap : bs->cap;
        }
        if (rc == CLR_OK)
            bs->step_s[bs->steps] = dt;
        bs->seconds += dt;
        bs->steps++;
        bs->rows += B;
        for (size_t b = 0; rc == CLR_OK && b < B; ++b) {
            slot *s = &slots[b];
            if (best[b] < 0) {
                rc = clr_fail(err, CLR_EFAIL, "decode %s: every logit of sequence %zu is NaN at position %u on this "
                              "device (batch %zu)", m->mode->name, b, s->pos, B);
                break;
            }
            if (s->probe >= 0) {
                size_t i = (size_t)s->probe, L = x->pr.len[i];
                if (want_logits)
                    memcpy(m->logits + (i * (x->pr.max_len + T - 1) + s->pos) * V, logits, V * sizeof *logits);
                s->fed++;
                if (s->fed < L) {
                    s->next = x->pr.ids[i][s->fed];
                } else {
                    gen[i * T + s->gen] = best[b];
                    top1[i * T + s->gen] = top[2 * b];
                    if (!run) {
                        m->ref_margin[i * T + s->gen] = top[2 * b] - top[2 * b + 1];
                        m->ref_top1[i * T + s->gen] = top[2 * b];
                    }
                    s->next = best[b];
                    if (++s->gen == T) {
                        ++done;
                        filler_start(x, B, r, b, s, 0); /* the slot goes to a new sequence */
                        continue;
                    }
                }
                s->pos++;
            } else {
                s->next = s->prompt_left > 1 ? (int32_t)(clr_hash(x->seed, STREAM_FILLER ^ filler_key(B, r, b),
                                                                   s->restarts, s->pos) % V)
                                             : best[b];
                if (s->prompt_left > 0)
                    s->prompt_left--;
                if (s->pos + 1 >= x->cap)
                    filler_start(x, B, r, b, s, 0);
                else
                    s->pos++;
            }
        }
    }
    for (size_t i = p0; rc == CLR_OK && i < p1; ++i) {
        m->fps[run * P + i] = fingerprint(gen + i * T, T);
        m->lfps[run * P + i] = XXH64(top1 + i * T, T * sizeof *top1, 0);
        size_t d = T;
        for (size_t j = 0; j < T && d == T; ++j)
            if (gen[i * T + j] != m->ref[i * T + j])
                d = j;
        m->first_div[run * P + i] = d;
        float shift = 0;
        for (size_t j = 0; j < d; ++j) {
            float dj = fabsf(top1[i * T + j] - m->ref_top1[i * T + j]);
            shift = dj > shift ? dj : shift;
        }
        m->shift[run * P + i] = shift;
    }
    if (gen != m->ref)
        free(gen);
    free(top1);
    free(slots);
    free(tokens);
    free(best);
    free(pos);
    free(top);
    free(logits);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median step of a batch's runs, computed once: a step's first launch of a new shape
 * includes PoCL's compile of that variant, which the median leaves out and the mean (seconds /
 * steps) keeps. */
static void set_median(batch_stats *b)
{
    if (!b->steps)
        return;
    qsort(b->step_s, b->steps, sizeof *b->step_s, cmp_double);
    size_t n = b->steps;
    b->median_ms = (n % 2 ? b->step_s[n / 2] : (b->step_s[n / 2 - 1] + b->step_s[n / 2]) / 2) * 1e3;
}

static int run_mode(const experiment *x, clr_decode_engine *e, mode_result *m, int progress, clr_error *err)
{
    const size_t P = x->pr.count, T = x->T;
    m->nruns = x->runs_per_mode;
    m->ref = clr_calloc(P * T, sizeof *m->ref, "completions", err);
    m->ref_margin = clr_calloc(P * T, sizeof *m->ref_margin, "margins", err);
    m->ref_top1 = clr_calloc(P * T, sizeof *m->ref_top1, "logits", err);
    m->shift = clr_calloc(x->runs_per_mode * P, sizeof *m->shift, "logit shifts", err);
    m->fps = clr_calloc(m->nruns * P, sizeof *m->fps, "fingerprints", err);
    m->lfps = clr_calloc(m->nruns * P, sizeof *m->lfps, "fingerprints", err);
    m->first_div = clr_calloc(m->nruns * P, sizeof *m->first_div, "divergences", err);
    m->batch = clr_calloc(x->nbatches, sizeof *m->batch, "batches", err);
    if (!m->ref || !m->ref_margin || !m->ref_top1 || !m->shift || !m->fps || !m->lfps || !m->first_div || !m->batch)
        return err->code;
    if (x->cli->logits_out) {
        size_t S = x->pr.max_len + T - 1, total;
        if (clr_size_mul(P * S, x->w->cfg.vocab, &total) ||
            !(m->logits = clr_calloc(total, sizeof *m->logits, "logits for --logits-out", err)))
            return err->code ? err->code : clr_fail(err, CLR_EUSAGE, "--logits-out: too many logits");
    }
    size_t run = 0;
    for (size_t bi = 0; bi < x->nbatches; ++bi) {
        size_t B = x->batches[bi];
        for (unsigned r = 0; r < x->repeats; ++r, ++run) {
            if (progress) {
                fprintf(stderr, "\rclrepro decode: %s, batch %zu, repeat %u of %u   ", m->mode->name, B, r + 1,
                        x->repeats);
                fflush(stderr);
            }
            size_t per = B < P ? B : P;
            for (size_t p0 = 0; p0 < P; p0 += per)
                if (run_group(x, e, m, bi, run, B, r, p0, p0 + per < P ? p0 + per : P, err))
                    return err->code;
            for (size_t i = 0; i < P; ++i)
                if (m->first_div[run * P + i] < T)
                    m->batch[bi].differing++;
        }
        set_median(&m->batch[bi]);
    }
    if (progress)
        fprintf(stderr, "\r%60s\r", "");
    m->ran = 1;
    return CLR_OK;
}

static void mode_result_free(mode_result *m, size_t nbatches)
{
    for (size_t i = 0; m->batch && i < nbatches; ++i)
        free(m->batch[i].step_s);
    free(m->ref);
    free(m->ref_margin);
    free(m->ref_top1);
    free(m->shift);
    free(m->fps);
    free(m->lfps);
    free(m->first_div);
    free(m->batch);
    free(m->logits);
}

/* --- what a mode's runs say --- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* NaN last, so that the order is total. */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return x < y ? -1 : x > y;
}

/* Distinct fingerprints of prompt i over the mode's runs: completions (fps) or top-1 logits. */
static size_t distinct_of(const mode_result *m, const uint64_t *fps, size_t P, size_t i)
{
    size_t n = m->nruns, d = 0;
    uint64_t *fp = malloc(n * sizeof *fp);
    if (!fp) { /* counted the slow way */
        for (size_t k = 0; k < n; ++k) {
            size_t j = 0;
            while (j < k && fps[j * P + i] != fps[k * P + i])
                ++j;
            d += j == k;
        }
        return d;
    }
    for (size_t k = 0; k < n; ++k)
        fp[k] = fps[k * P + i];
    qsort(fp, n, sizeof *fp, cmp_u64);
    for (size_t k = 0; k < n; ++k)
        d += k == 0 || fp[k] != fp[k - 1];
    free(fp);
    return d;
}

static size_t distinct(const mode_result *m, size_t P, size_t i) { return distinct_of(m, m->fps, P, i); }

static size_t first_divergence(const mode_result *m, size_t P, size_t T, size_t i)
{
    size_t d = T;
    for (size_t k = 1; k < m->nruns; ++k)
        d = m->first_div[k * P + i] < d ? m->first_div[k * P + i] : d;
    return d;
}

typedef struct mode_summary {
    size_t one, most, earliest; /* prompts with one completion, most completions, earliest divergence */
    size_t logits_one, logits_most; /* the same for the top-1 logits' bits */
    double margin_at_earliest;
    float max_shift; /* largest move of a top-1 logit from the reference's, over every run */
    float margin_q[5]; /* min, 10%, median, 90%, max of the reference margins */
} mode_summary;

static int summarize(const experiment *x, const mode_result *m, mode_summary *s, clr_error *err)
{
    size_t P = x->pr.count, T = x->T;
    memset(s, 0, sizeof *s);
    s->earliest = T;
    s->margin_at_earliest = NAN;
    for (size_t k = 0; k < m->nruns * P; ++k)
        s->max_shift = m->shift[k] > s->max_shift ? m->shift[k] : s->max_shift;
    for (size_t i = 0; i < P; ++i) {
        size_t d = distinct(m, P, i), f = first_divergence(m, P, T, i);
        s->one += d == 1;
        s->most = d > s->most ? d : s->most;
        size_t dl = distinct_of(m, m->lfps, P, i);
        s->logits_one += dl == 1;
        s->logits_most = dl > s->logits_most ? dl : s->logits_most;
        if (f < s->earliest) {
            s->earliest = f;
            s->margin_at_earliest = m->ref_margin[i * T + f];
        }
    }
    float *sorted = clr_malloc(P * T * sizeof *sorted, "margins", err);
    if (!sorted)
        return err->code;
    memcpy(sorted, m->ref_margin, P * T * sizeof *sorted);
    qsort(sorted, P * T, sizeof *sorted, cmp_float);
    const double q[5] = {0, 0.1, 0.5, 0.9, 1};
    for (int k = 0; k < 5; ++k)
        s->margin_q[k] = sorted[(size_t)(q[k] * (double)(P * T - 1) + 0.5)];
    free(sorted);
    return CLR_OK;
}

/* --- results --- */

typedef struct device_out {
    clr_device dev;
    double roof_gbps, weight_bytes, build_seconds;
    mode_result modes[8];
} device_out;

/* The median step in ms (set by run_mode). */
static double step_ms(const batch_stats *b) { return b->median_ms; }

/* Rows a second at the median step: the batch's sequences each advance one token a step. */
static double tokens_per_s(const batch_stats *b, size_t B)
{
    double ms = step_ms(b);
    return ms > 0 ? (double)B / ms * 1e3 : 0;
}

static double roof_fraction(const device_out *d, const batch_stats *b)
{
    double s = step_ms(b) * 1e-3;
    return s > 0 && d->roof_gbps > 0 ? d->weight_bytes / s / (d->roof_gbps * 1e9) : 0;
}

/* The mode's step time over fast's at batch bi (0 where fast did not run). */
static double overhead(const experiment *x, const device_out *d, size_t mi, size_t bi)
{
    for (size_t k = 0; k < x->nmodes; ++k)
        if (!strcmp(x->modes[k]->name, "fast") && d->modes[k].ran && d->modes[mi].ran) {
            double f = step_ms(&d->modes[k].batch[bi]), me = step_ms(&d->modes[mi].batch[bi]);
            return f > 0 ? me / f : 0;
        }
    return 0;
}

/* A real, or null where it is not finite (JSON has no infinity; json_real refuses it). */
static json_t *jreal(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *ids_json(const int32_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; ++i)
        json_array_append_new(a, json_integer(ids[i]));
    return a;
}

/* ids as text through the model's tokenizer, made safe to print and to store (clr_escape: control
 * characters and bytes that are not UTF-8 written as escapes); NULL without a tokenizer. */
static char *ids_text(const experiment *x, const int32_t *ids, size_t n)
{
    if (!x->tok || !x->tok->count)
        return NULL;
    char *raw = clr_tokenizer_decode(x->tok, ids, n);
    if (!raw)
        return NULL;
    size_t size = 4 * strlen(raw) + 16;
    char *safe = malloc(size);
    if (safe)
        clr_escape(raw, safe, size);
    free(raw);
    return safe;
}

static json_t *config_json(const clr_llama_config *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:b, s:s, s:b}", "dim", (json_int_t)c->dim,
                     "layers", (json_int_t)c->layers, "heads", (json_int_t)c->heads, "kv_heads", (json_int_t)c->kv_heads,
                     "head_dim", (json_int_t)c->head_dim, "hidden", (json_int_t)c->hidden, "vocab",
                     (json_int_t)c->vocab, "max_pos", (json_int_t)c->max_pos, "rms_eps", c->rms_eps, "rope_theta",
                     c->rope_theta, "rope_llama3", c->rope_llama3, "dtype", clr_weight_dtype_name(c->dtype),
                     "tied_embeddings", c->tie_embeddings);
}

static char *document(const experiment *x, const device_out *d, clr_error *err)
{
    const size_t P = x->pr.count, T = x->T;
    json_t *doc = json_object(), *modes = json_array(), *batches = json_array(), *prompts = json_array();
    char ts[32];
    clr_utc_timestamp(ts);
    for (size_t bi = 0; bi < x->nbatches; ++bi)
        json_array_append_new(batches, json_integer((json_int_t)x->batches[bi]));
    for (size_t i = 0; i < P; ++i)
        json_array_append_new(prompts, ids_json(x->pr.ids[i], x->pr.len[i]));
    json_object_set_new(doc, "schema", json_string("clrepro.decode"));
    json_object_set_new(doc, "schema_version", json_integer(1));
    json_object_set_new(doc, "tool", json_pack("{s:s, s:s, s:s}", "version", CLREPRO_VERSION, "git_commit",
                                               clr_git_commit, "command", x->cli->command_line ? x->cli->command_line : ""));
    json_object_set_new(doc, "timestamp", json_string(ts));
    json_object_set_new(doc, "device", clr_device_to_json(&d->dev));
    json_object_set_new(doc, "model", json_pack("{s:s, s:o, s:f}", "name", x->model_name, "config",
                                                config_json(&x->w->cfg), "stored_bytes", (double)x->w->weight_bytes));
    json_object_set_new(doc, "config", json_pack("{s:I, s:I, s:o, s:I, s:I, s:s, s:o, s:I}", "prompts", (json_int_t)P,
                                                 "tokens", (json_int_t)T, "batches", batches, "repeats",
                                                 (json_int_t)x->repeats, "seed", (json_int_t)x->seed, "activations",
                                                 x->cli->bf16_activations ? "bf16" : "fp32", "prompt_ids", prompts,
                                                 "cache_tokens", (json_int_t)x->cap));
    json_object_set_new(doc, "roof", json_pack("{s:f, s:f, s:s}", "read_gbps", d->roof_gbps, "weight_bytes_per_step",
                                               d->weight_bytes, "what", "read_floats_wg over a buffer of the weights' size (at most 1 GiB); step roof = weight bytes / that"));
    for (size_t mi = 0; mi < x->nmodes; ++mi) {
        const mode_result *m = &d->modes[mi];
        char mm[96];
        if (m->mode->matmul_small)
            snprintf(mm, sizeof mm, "%s up to %zu rows, %s beyond", m->mode->matmul_small, m->mode->small_m,
                     m->mode->matmul);
        else
            snprintf(mm, sizeof mm, "%s", m->mode->matmul);
        json_t *jm = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "mode", m->mode->name, "summary", m->mode->summary,
                               "strategies", "rmsnorm", m->mode->rmsnorm, "matmul", mm, "attention",
                               m->mode->attention, "swiglu_exp", m->mode->portable_swiglu ? "portable" : "vendor");
        if (!m->ran) {
            json_object_set_new(jm, "not_run", json_string(m->why));
            json_array_append_new(modes, jm);
            continue;
        }
        mode_summary s;
        if (summarize(x, m, &s, err)) {
            json_decref(jm);
            json_decref(modes);
            json_decref(doc);
            return NULL;
        }
        json_t *jp = json_array(), *jb = json_array(), *margins = json_array();
        for (int k = 0; k < 5; ++k)
            json_array_append_new(margins, jreal(s.margin_q[k]));
        for (size_t i = 0; i < P; ++i) {
            char fp[17], lfp[17];
            clr_hex64(m->fps[i], fp);
            clr_hex64(m->lfps[i], lfp);
            size_t f = first_divergence(m, P, T, i);
            json_t *runs = json_array();
            for (size_t k = 0; k < m->nruns; ++k) {
                char h[17], lh[17];
                clr_hex64(m->fps[k * P + i], h);
                clr_hex64(m->lfps[k * P + i], lh);
                json_array_append_new(runs, json_pack("{s:I, s:I, s:s, s:s, s:I}", "batch",
                                                      (json_int_t)x->batches[k / x->repeats], "repeat",
                                                      (json_int_t)(k % x->repeats), "fingerprint", h,
                                                      "logits_fingerprint", lh, "first_divergence",
                                                      (json_int_t)m->first_div[k * P + i]));
            }
            char *prompt_text = ids_text(x, x->pr.ids[i], x->pr.len[i]), *text = ids_text(x, m->ref + i * T, T);
            json_t *margin_list = json_array();
            for (size_t j = 0; j < T; ++j)
                json_array_append_new(margin_list, jreal(m->ref_margin[i * T + j]));
            json_array_append_new(jp, json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:I, s:o, s:o, s:o}", "prompt",
                                                (json_int_t)i, "fingerprint", fp, "logits_fingerprint", lfp,
                                                "distinct_logits", (json_int_t)distinct_of(m, m->lfps, P, i), "completion", ids_json(m->ref + i * T, T), "margins",
                                                margin_list, "distinct", (json_int_t)distinct(m, P, i),
                                                "first_divergence", f < T ? json_integer((json_int_t)f) : json_null(),
                                                "margin_at_divergence", f < T ? jreal(m->ref_margin[i * T + f]) : json_null(),
                                                "runs", runs));
            if (prompt_text && text) {
                json_t *last = json_array_get(jp, json_array_size(jp) - 1);
                json_object_set_new(last, "prompt_text", json_string(prompt_text));
                json_object_set_new(last, "completion_text", json_string(text));
            }
            free(prompt_text);
            free(text);
        }
        for (size_t bi = 0; bi < x->nbatches; ++bi) {
            const batch_stats *b = &m->batch[bi];
            double ov = overhead(x, d, mi, bi);
            json_array_append_new(jb, json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:o, s:I}", "batch",
                                                (json_int_t)x->batches[bi], "steps", (json_int_t)b->steps, "rows",
                                                (json_int_t)b->rows, "seconds", b->seconds, "tokens_per_s",
                                                tokens_per_s(b, x->batches[bi]), "step_ms", step_ms(b), "roof_fraction",
                                                roof_fraction(d, b), "overhead_vs_fast",
                                                ov > 0 ? json_real(ov) : json_null(), "prompts_differing",
                                                (json_int_t)b->differing));
        }
        json_object_set_new(jm, "prompts_with_one_completion", json_integer((json_int_t)s.one));
        json_object_set_new(jm, "most_completions", json_integer((json_int_t)s.most));
        json_object_set_new(jm, "prompts_with_one_logit_pattern", json_integer((json_int_t)s.logits_one));
        json_object_set_new(jm, "most_logit_patterns", json_integer((json_int_t)s.logits_most));
        json_object_set_new(jm, "earliest_divergence", s.earliest < T ? json_integer((json_int_t)s.earliest) : json_null());
        json_object_set_new(jm, "margin_at_earliest_divergence",
                            s.earliest < T ? jreal(s.margin_at_earliest) : json_null());
        json_object_set_new(jm, "reference_margin_quantiles", margins);
        json_object_set_new(jm, "largest_top1_logit_shift", jreal(s.max_shift));
        json_object_set_new(jm, "prompts", jp);
        json_object_set_new(jm, "batches", jb);
        json_array_append_new(modes, jm);
    }
    json_object_set_new(doc, "modes", modes);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(doc);
    if (!text)
        clr_fail(err, CLR_EFAIL, "out of host memory formatting the decode document");
    return text;
}

/* The tables: Markdown (md 1, every text escaped for it) or the terminal's (md 0). */
static void tables(const experiment *x, const device_out *d, clr_text *t, int md)
{
    const size_t P = x->pr.count, T = x->T;
    const clr_llama_config *c = &x->w->cfg;
    if (md) {
        clr_text_printf(t, "# clrepro decode on ");
        clr_text_md(t, d->dev.name);
        clr_text_printf(t, "\n\nModel: ");
        clr_text_md(t, x->model_name);
        clr_text_printf(t, " (");
    } else {
        char name[512], model[512];
        clr_text_printf(t, "decode on %s: %s (", clr_escape(d->dev.name, name, sizeof name),
                        clr_escape(x->model_name, model, sizeof model));
    }
    clr_text_printf(t, "dim %zu, %zu layers, %zu heads, %zu KV heads, vocab %zu, %s weights, %.1f MB as float32), "
                       "%s activations, %zu prompts x %zu tokens, %u repeat%s\n%s",
                    c->dim, c->layers, c->heads, c->kv_heads, c->vocab, clr_weight_dtype_name(c->dtype),
                    d->weight_bytes / 1e6, x->cli->bf16_activations ? "bf16" : "fp32", P, T, x->repeats,
                    x->repeats == 1 ? "" : "s", md ? "\n" : "");
    clr_text_printf(t, "%sread bandwidth %.1f GB/s (the roof: %.3f ms a step for the weights' bytes)\n%s", md ? "" : "  ",
              d->roof_gbps, d->roof_gbps > 0 ? d->weight_bytes / (d->roof_gbps * 1e9) * 1e3 : 0, md ? "\n" : "");
    if (md)
        clr_text_printf(t, "| mode | prompts with one completion | most completions | prompts with one top-1 logit pattern | "
                     "most patterns | largest top-1 logit shift | earliest divergence | margin there | reference margins "
                     "(min / 10%% / median) |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    else
        clr_text_printf(t, "  %-10s %9s %6s %9s %6s %9s %11s %12s  %s\n", "mode", "one", "most", "logits 1", "most",
                        "shift", "divergence", "margin there", "margins min / 10% / median");
    for (size_t mi = 0; mi < x->nmodes; ++mi) {
        const mode_result *m = &d->modes[mi];
        mode_summary s;
        clr_error e2 = {0};
        if (!m->ran) {
            if (md) {
                clr_text_printf(t, "| %s | not run: ", m->mode->name);
                clr_text_md(t, m->why);
                clr_text_printf(t, " | | | | | | | |\n");
            } else {
                char why[512];
                clr_text_printf(t, "  %-10s not run: %s\n", m->mode->name, clr_escape(m->why, why, sizeof why));
            }
            continue;
        }
        if (summarize(x, m, &s, &e2)) {
            t->failed = 1;
            return;
        }
        char div[32], mar[32];
        snprintf(div, sizeof div, s.earliest < T ? "token %zu" : "none", s.earliest);
        snprintf(mar, sizeof mar, s.earliest < T ? "%.3g" : "-", s.margin_at_earliest);
        if (md)
            clr_text_printf(t, "| %s | %zu / %zu | %zu | %zu / %zu | %zu | %.3g | %s | %s | %.3g / %.3g / %.3g |\n",
                            m->mode->name, s.one, P, s.most, s.logits_one, P, s.logits_most, s.max_shift, div, mar,
                            s.margin_q[0], s.margin_q[1], s.margin_q[2]);
        else
            clr_text_printf(t, "  %-10s %4zu / %-3zu %6zu %4zu / %-3zu %5zu %9.3g %11s %12s  %.3g / %.3g / %.3g\n",
                            m->mode->name, s.one, P, s.most, s.logits_one, P, s.logits_most, s.max_shift, div, mar,
                            s.margin_q[0], s.margin_q[1], s.margin_q[2]);
    }
    if (md)
        clr_text_printf(t, "\n| mode | B | tokens/s | ms a step | %% of roof | vs fast | prompts differing from alone |\n"
                     "|---|---:|---:|---:|---:|---:|---:|\n");
    else
        clr_text_printf(t, "  %-10s %5s %10s %10s %8s %8s %10s\n", "mode", "B", "tokens/s", "ms/step", "%roof", "vs fast",
                  "differing");
    for (size_t mi = 0; mi < x->nmodes; ++mi) {
        const mode_result *m = &d->modes[mi];
        for (size_t bi = 0; m->ran && bi < x->nbatches; ++bi) {
            const batch_stats *b = &m->batch[bi];
            double ov = overhead(x, d, mi, bi);
            char ovs[32];
            snprintf(ovs, sizeof ovs, ov > 0 ? "%.2fx" : "-", ov);
            clr_text_printf(t, md ? "| %s | %zu | %.1f | %.3f | %.1f%% | %s | %zu / %zu |\n"
                            : "  %-10s %5zu %10.1f %10.3f %7.1f%% %8s %4zu / %-3zu\n",
                      m->mode->name, x->batches[bi], tokens_per_s(b, x->batches[bi]), step_ms(b), 100 * roof_fraction(d, b), ovs,
                      b->differing, P * x->repeats);
        }
    }
}

/* Markdown: each prompt's reference completion per mode, as text where the model has a tokenizer. */
static void completions_md(const experiment *x, const device_out *d, clr_text *t)
{
    const size_t P = x->pr.count, T = x->T;
    if (!x->tok || !x->tok->count)
        return;
    clr_text_printf(t, "\n## Completions (each prompt decoded alone)\n\n| prompt | mode | text |\n|---:|---|---|\n");
    for (size_t mi = 0; mi < x->nmodes; ++mi)
        for (size_t i = 0; d->modes[mi].ran && i < P; ++i) {
            char *prompt = ids_text(x, x->pr.ids[i], x->pr.len[i]), *text = ids_text(x, d->modes[mi].ref + i * T, T);
            clr_text_printf(t, "| %zu | %s | ", i, d->modes[mi].mode->name);
            if (prompt && text) {
                clr_text_md(t, prompt);
                clr_text_printf(t, " **→** ");
                clr_text_md(t, text);
            } else {
                clr_text_printf(t, "(out of memory)");
            }
            clr_text_printf(t, " |\n");
            free(prompt);
            free(text);
        }
}

static char *csv(const experiment *x, const device_out *d)
{
    clr_text t = {0};
    clr_text_printf(&t, "device,mode,batch,steps,seconds,tokens_per_s,step_ms,roof_fraction,overhead_vs_fast,"
                  "prompts_differing,runs_of_prompts\n");
    for (size_t mi = 0; mi < x->nmodes; ++mi)
        for (size_t bi = 0; d->modes[mi].ran && bi < x->nbatches; ++bi) {
            const batch_stats *b = &d->modes[mi].batch[bi];
            double ov = overhead(x, d, mi, bi);
            clr_text_csv(&t, d->dev.name);
            clr_text_printf(&t, ",%s,%zu,%zu,%.9g,%.9g,%.9g,%.9g,", d->modes[mi].mode->name, x->batches[bi],
                      b->steps, b->seconds, tokens_per_s(b, x->batches[bi]), step_ms(b), roof_fraction(d, b));
            if (ov > 0)
                clr_text_printf(&t, "%.9g", ov);
            clr_text_printf(&t, ",%zu,%zu\n", b->differing, x->pr.count * x->repeats);
        }
    clr_error e2 = {0};
    return clr_text_take(&t, "the decode CSV", &e2);
}

/* --- the command --- */

static int choose_modes(const clr_cli *cli, experiment *x, clr_error *err)
{
    for (size_t i = 0; i < clr_decode_nmodes; ++i) {
        const char *n = clr_decode_modes[i].name;
        size_t len = strlen(n);
        int wanted = !cli->modes;
        for (const char *p = cli->modes; p && *p && !wanted;) {
            size_t l = strcspn(p, ",");
            wanted = l == len && !strncmp(p, n, len);
            p += l + (p[l] == ',');
        }
        if (wanted)
            x->modes[x->nmodes++] = &clr_decode_modes[i];
    }
    return x->nmodes ? CLR_OK : clr_fail(err, CLR_EUSAGE, "--mode: no mode chosen");
}

static int choose_batches(const clr_cli *cli, experiment *x, clr_error *err)
{
    static const size_t defaults[] = DEFAULT_BATCHES;
    size_t n = cli->batches ? cli->nbatches : sizeof defaults / sizeof *defaults;
    x->batches = clr_malloc((n + 1) * sizeof *x->batches, "batches", err);
    if (!x->batches)
        return err->code;
    x->batches[0] = 1; /* alone: the reference, always first */
    x->nbatches = 1;
    for (size_t i = 0; i < n; ++i) {
        size_t b = cli->batches ? cli->batches[i] : defaults[i];
        if (b != 1)
            x->batches[x->nbatches++] = b;
    }
    return CLR_OK;
}

/* The synthetic checkpoint, written into a temporary folder and loaded back through the same
 * loader as a user's; the folder is removed again. */
static int load_synthetic(const clr_cli *cli, experiment *x, clr_llama_weights *w, clr_error *err)
{
    int big = cli->synthetic && !strcmp(cli->synthetic, "1b");
    clr_llama_config c = clr_llama_synthetic_config();
    if (big) {
        c.dim = 2048, c.layers = 16, c.heads = 32, c.kv_heads = 8, c.head_dim = 64, c.hidden = 8192;
        c.vocab = 128256, c.max_pos = 131072, c.rope_theta = 500000, c.tie_embeddings = 1;
        c.rope_llama3 = 1, c.rope_factor = 32, c.rope_low_freq = 1, c.rope_high_freq = 4;
        c.rope_original_max_pos = 8192;
    }
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[PATH_MAX], path[PATH_MAX + 32];
    if (snprintf(dir, sizeof dir, "%s/clrepro-model-XXXXXX", tmp) >= (int)sizeof dir || !mkdtemp(dir))
        return clr_fail(err, CLR_EFAIL, "decode: cannot make a temporary folder for the synthetic model in %s: %s",
                        tmp, strerror(errno));
    int rc = clr_llama_write_synthetic(dir, &c, x->seed, big ? CLR_W_BF16 : CLR_W_F32, err);
    if (rc == CLR_OK)
        rc = clr_llama_load(dir, w, err);
    const char *files[] = {"config.json", "model.safetensors"};
    for (size_t i = 0; i < 2; ++i) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    snprintf(x->model_name, sizeof x->model_name, "synthetic %s (seed %llu)", big ? "1b" : "small",
             (unsigned long long)x->seed);
    return rc;
}

/* The .npy outputs of the one mode, added to the batch the results are committed in. */
static int add_npys(const clr_cli *cli, const experiment *x, const mode_result *m, clr_file_batch *batch,
                    clr_error *err)
{
    const size_t P = x->pr.count, T = x->T;
    int rc = CLR_OK;
    if (!m->ran)
        return clr_fail(err, CLR_EUSAGE, "%s: mode %s did not run on this device (%s); nothing written",
                        cli->logits_out ? "--logits-out" : "--tokens-out", m->mode->name, m->why);
    if (cli->logits_out) {
        size_t shape[3] = {P, x->pr.max_len + T - 1, x->w->cfg.vocab};
        char *bytes;
        size_t size;
        if (clr_npy_encode("<f4", m->logits, shape, 3, &bytes, &size))
            return clr_fail(err, CLR_EFAIL, "out of host memory encoding %s", cli->logits_out);
        rc = clr_batch_add(batch, cli->logits_out, bytes, size, err);
        free(bytes);
    }
    if (rc == CLR_OK && cli->tokens_out) {
        size_t shape[2] = {P, T};
        char *bytes;
        size_t size;
        if (clr_npy_encode("<i4", m->ref, shape, 2, &bytes, &size))
            return clr_fail(err, CLR_EFAIL, "out of host memory encoding %s", cli->tokens_out);
        rc = clr_batch_add(batch, cli->tokens_out, bytes, size, err);
        free(bytes);
    }
    return rc;
}

/* path as its folder's real path and its own name, so that two spellings of one file compare
 * equal; CLR_EUSAGE when the folder does not exist or cannot be written. */
static int canonical_out(const char *option, const char *path, char *buf, size_t size, clr_error *err)
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    if (!*name)
        return clr_fail(err, CLR_EUSAGE, "%s %s: a file name is needed, not a folder", option, path);
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash == path ? 1 : slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    if (!realpath(dir, real))
        return clr_fail(err, CLR_EUSAGE, "%s %s: its folder %s: %s; create it first", option, path, dir,
                        strerror(errno));
    if (access(real, W_OK) != 0)
        return clr_fail(err, CLR_EUSAGE, "%s %s: its folder cannot be written: %s", option, path, strerror(errno));
    if ((size_t)snprintf(buf, size, "%s/%s", real, name) >= size)
        return clr_fail(err, CLR_EUSAGE, "%s %s: the path is too long", option, path);
    return CLR_OK;
}

static int check_outputs(const clr_cli *cli, const clr_device_list *chosen, const experiment *x, clr_error *err)
{
    if ((cli->logits_out || cli->tokens_out) && chosen->count != 1)
        return clr_fail(err, CLR_EUSAGE, "--logits-out and --tokens-out hold one device's outputs; choose one with "
                        "--device (%zu are selected)", chosen->count);
    if (cli->logits_out) {
        for (size_t i = 0; i < x->pr.count; ++i)
            if (x->pr.len[i] != x->pr.max_len)
                return clr_fail(err, CLR_EUSAGE, "--logits-out needs prompts of one length (prompt %zu has %zu tokens, "
                                "another %zu)", i, x->pr.len[i], x->pr.max_len);
        size_t n;
        if (clr_size_mul(x->pr.count * (x->pr.max_len + x->T - 1), x->w->cfg.vocab, &n) || n > ((size_t)1 << 31))
            return clr_fail(err, CLR_EUSAGE, "--logits-out: %zu prompts x %zu steps x %zu logits is more than 2^31 "
                            "floats; ask for fewer prompts or tokens", x->pr.count, x->pr.max_len + x->T - 1,
                            x->w->cfg.vocab);
        if (clr_check_out_file(cli->logits_out, err))
            return err->code;
    }
    if (cli->tokens_out && clr_check_out_file(cli->tokens_out, err))
        return err->code;
    for (size_t i = 0; i < chosen->count; ++i) {
        char dir[PATH_MAX];
        clr_device_results_dir(cli->out_dir, chosen, i, dir, sizeof dir);
        if (clr_check_out_dir(dir, strlen("decode.json"), err))
            return err->code;
    }
    /* No output over another, over a results file, or over the prompts read. */
    char lo[PATH_MAX + 256], to[PATH_MAX + 256], other[PATH_MAX + 256];
    if ((cli->logits_out && canonical_out("--logits-out", cli->logits_out, lo, sizeof lo, err)) ||
        (cli->tokens_out && canonical_out("--tokens-out", cli->tokens_out, to, sizeof to, err)))
        return err->code;
    if (cli->logits_out && cli->tokens_out && !strcmp(lo, to))
        return clr_fail(err, CLR_EUSAGE, "--logits-out and --tokens-out name the same file (%s); give two", lo);
    for (int k = 0; k < 2; ++k) {
        const char *opt = k ? "--tokens-out" : "--logits-out", *mine = k ? to : lo;
        if (!(k ? cli->tokens_out : cli->logits_out))
            continue;
        char real[PATH_MAX];
        if (cli->prompts_path && realpath(cli->prompts_path, real) && !strcmp(real, mine))
            return clr_fail(err, CLR_EUSAGE, "%s %s is the prompts file; give another file", opt, mine);
        for (size_t i = 0; i < chosen->count; ++i) {
            char dir[PATH_MAX];
            clr_device_results_dir(cli->out_dir, chosen, i, dir, sizeof dir);
            const char *names[3] = {"decode.json", "decode.csv", "decode.md"};
            for (int f = 0; f < 3; ++f) {
                char path[PATH_MAX + 32];
                snprintf(path, sizeof path, "%s/%s", dir, names[f]);
                /* the results folder may not exist yet: compare the spellings through its parent */
                clr_error ignore = {0};
                if (canonical_out(opt, path, other, sizeof other, &ignore) == CLR_OK ? !strcmp(other, mine)
                                                                                       : !strcmp(path, k ? cli->tokens_out : cli->logits_out))
                    return clr_fail(err, CLR_EUSAGE, "%s %s would replace the results file %s; give another file",
                                    opt, k ? cli->tokens_out : cli->logits_out, path);
            }
        }
    }
    return CLR_OK;
}

int clr_cmd_decode(const clr_cli *cli, clr_error *err)
{
    experiment x = {.cli = cli, .T = cli->tokens, .repeats = cli->repeats, .seed = cli->seed};
    clr_llama_weights w = {0};
    clr_tokenizer tok = {0};
    clr_device_list all = {0}, chosen = {0};
    device_out *outs = NULL;
    clr_install_cleanup_handlers();
    int rc = choose_modes(cli, &x, err) || choose_batches(cli, &x, err) ? err->code : CLR_OK;
    if (rc == CLR_OK)
        rc = clr_devices_enumerate(&all, err) || clr_cli_select_devices(cli, &all, &chosen, err) ? err->code : CLR_OK;
    /* The model and the prompts are checked before any device is touched. */
    if (rc == CLR_OK && cli->model_dir) {
        clr_llama_config cfg;
        rc = clr_llama_config_load(cli->model_dir, &cfg, err) || clr_decode_check_model(&cfg, err)
                 ? err->code
                 : clr_llama_load(cli->model_dir, &w, err);
        if (rc == CLR_OK)
            rc = clr_tokenizer_load(cli->model_dir, &tok, err);
        /* the folder's name, trailing slashes aside, made printable UTF-8 (clr_escape) */
        char trimmed[PATH_MAX];
        snprintf(trimmed, sizeof trimmed, "%s", cli->model_dir);
        for (size_t len = strlen(trimmed); len > 1 && trimmed[len - 1] == '/'; --len)
            trimmed[len - 1] = '\0';
        const char *base = strrchr(trimmed, '/');
        base = base && base[1] ? base + 1 : trimmed;
        clr_escape(base, x.model_name, sizeof x.model_name);
    } else if (rc == CLR_OK) {
        rc = load_synthetic(cli, &x, &w, err);
    }
    x.w = &w;
    x.tok = &tok;
    if (rc == CLR_OK)
        rc = cli->prompts_path ? prompts_read(&x.pr, cli->prompts_path, w.cfg.vocab, err)
                               : prompts_generate(&x.pr, cli->prompt_count, cli->prompt_len, w.cfg.vocab, x.seed, err);
    if (rc == CLR_OK) {
        size_t need = x.pr.max_len + x.T;
        if (need > w.cfg.max_pos)
            rc = clr_fail(err, CLR_EUSAGE, "decode: prompts of %zu tokens and --tokens %zu need %zu positions; the "
                          "model has %zu (max_position_embeddings)", x.pr.max_len, x.T, need, w.cfg.max_pos);
        /* Fillers reach twice as far as a prompt, so the splits that follow the longest sequence vary. */
        x.cap = 2 * need < w.cfg.max_pos ? 2 * need : w.cfg.max_pos;
        x.runs_per_mode = x.nbatches * x.repeats;
    }
    if (rc == CLR_OK)
        rc = check_outputs(cli, &chosen, &x, err);
    size_t maxb = 1;
    for (size_t i = 0; i < x.nbatches; ++i)
        maxb = x.batches[i] > maxb ? x.batches[i] : maxb;
    if (rc == CLR_OK && !(outs = clr_calloc(chosen.count, sizeof *outs, "results", err)))
        rc = err->code;
    int progress = !cli->quiet && isatty(STDERR_FILENO);
    for (size_t i = 0; rc == CLR_OK && i < chosen.count; ++i) {
        device_out *d = &outs[i];
        d->dev = chosen.items[i];
        clr_decode_engine *e = NULL;
        double t0 = clr_now();
        rc = clr_decode_engine_create(&d->dev, &w, maxb, x.cap, cli->kernel_dir, &e, err);
        d->build_seconds = clr_now() - t0;
        if (rc == CLR_OK) {
            clr_decode_engine_set_timeout(e, cli->timeout);
            clr_decode_engine_set_bf16_activations(e, cli->bf16_activations);
            d->weight_bytes = clr_decode_engine_weight_bytes(e);
            rc = clr_decode_engine_roof(e, &d->roof_gbps, err);
        }
        for (size_t mi = 0; rc == CLR_OK && mi < x.nmodes; ++mi) {
            mode_result *m = &d->modes[mi];
            m->mode = x.modes[mi];
            if (clr_decode_engine_set_mode(e, m->mode, m->why, sizeof m->why)) {
                if (cli->logits_out || cli->tokens_out) /* the outputs asked for cannot be made: say so now */
                    rc = clr_fail(err, CLR_EUSAGE, "%s: mode %s does not run on %s (%s); nothing written",
                                  cli->logits_out ? "--logits-out" : "--tokens-out", m->mode->name, d->dev.name, m->why);
                continue;
            }
            rc = run_mode(&x, e, m, progress, err);
            if (rc && err->code == CLR_EFAIL && strstr(err->msg, "--timeout")) {
                fprintf(stderr, "clrepro: error: %s\n", err->msg);
                fflush(stdout);
                fflush(stderr);
                _exit(CLR_EFAIL); /* its kernel still runs: see src/commands.c stop_incomplete */
            }
        }
        clr_decode_engine_free(e);
    }
    /* Everything measured: every device's files and the .npy outputs in one batch, all or none;
     * the folders made for them are removed again when it fails. */
    clr_file_batch batch = {0};
    char (*tops)[PATH_MAX] = chosen.count ? calloc(chosen.count, sizeof *tops) : NULL;
    if (rc == CLR_OK && chosen.count && !tops)
        rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    for (size_t i = 0; rc == CLR_OK && i < chosen.count; ++i) {
        char dir[PATH_MAX], path[PATH_MAX + 32];
        clr_device_results_dir(cli->out_dir, &chosen, i, dir, sizeof dir);
        clr_missing_top(dir, tops[i], sizeof tops[i]);
        char *json = document(&x, &outs[i], err), *table = csv(&x, &outs[i]);
        clr_text md = {0};
        tables(&x, &outs[i], &md, 1);
        completions_md(&x, &outs[i], &md);
        if (!json || !table || md.failed)
            rc = err->code ? err->code : clr_fail(err, CLR_EFAIL, "out of host memory formatting the results");
        if (rc == CLR_OK)
            rc = clr_prepare_out_dir(dir, err);
        const char *names[3] = {"decode.json", "decode.csv", "decode.md"};
        const char *texts[3] = {json, table, md.buf};
        for (int k = 0; rc == CLR_OK && k < 3; ++k) {
            snprintf(path, sizeof path, "%s/%s", dir, names[k]);
            rc = clr_batch_add(&batch, path, texts[k], strlen(texts[k]), err);
        }
        free(json);
        free(table);
        free(md.buf);
    }
    if (rc == CLR_OK && (cli->logits_out || cli->tokens_out))
        rc = add_npys(cli, &x, &outs[0].modes[0], &batch, err);
    if (rc == CLR_OK)
        rc = clr_batch_commit(&batch, err);
    else
        clr_batch_abort(&batch);
    for (size_t i = 0; rc && tops && i < chosen.count; ++i)
        if (tops[i][0]) {
            char dir[PATH_MAX];
            clr_device_results_dir(cli->out_dir, &chosen, i, dir, sizeof dir);
            clr_remove_empty_dirs(dir, tops[i]);
        }
    free(tops);
    for (size_t i = 0; rc == CLR_OK && !cli->quiet && i < chosen.count; ++i) {
        clr_text t = {0};
        tables(&x, &outs[i], &t, 0);
        char dir[PATH_MAX], shown[PATH_MAX];
        clr_device_results_dir(cli->out_dir, &chosen, i, dir, sizeof dir);
        if (t.buf)
            fputs(t.buf, stdout);
        printf("  results: %s/decode.{json,csv,md}\n", clr_escape(dir, shown, sizeof shown));
        free(t.buf);
    }
    /* Several devices: which modes gave every prompt the same reference completion on all. */
    for (size_t mi = 0; rc == CLR_OK && !cli->quiet && chosen.count > 1 && mi < x.nmodes; ++mi) {
        size_t same = 0, devices = 0;
        for (size_t i = 0; i < chosen.count; ++i)
            devices += outs[i].modes[mi].ran;
        for (size_t p = 0; devices > 1 && p < x.pr.count; ++p) {
            uint64_t first = 0;
            int agree = 1, seen = 0;
            for (size_t i = 0; i < chosen.count; ++i) {
                const mode_result *m = &outs[i].modes[mi];
                for (size_t k = 0; m->ran && k < m->nruns; ++k) {
                    uint64_t f = m->fps[k * x.pr.count + p];
                    agree &= !seen || f == first;
                    first = seen ? first : f;
                    seen = 1;
                }
            }
            same += agree;
        }
        printf("across %zu devices, %s: %zu of %zu prompts have one completion in every run on every device\n",
               devices, x.modes[mi]->name, devices > 1 ? same : 0, x.pr.count);
    }
    for (size_t i = 0; outs && i < chosen.count; ++i)
        for (size_t mi = 0; mi < x.nmodes; ++mi)
            mode_result_free(&outs[i].modes[mi], x.nbatches);
    free(outs);
    free(x.batches);
    prompts_free(&x.pr);
    clr_tokenizer_free(&tok);
    clr_llama_free(&w);
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    return rc;
}
