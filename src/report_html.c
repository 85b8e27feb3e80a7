/* report_html.c: `clrepro report`, one self-contained HTML file (no scripts, fonts or network)
 * with inline SVG charts drawn from results documents: batch-invariance heatmaps, throughput
 * against the copy roof, overhead of the invariant strategies, run-to-run distinct counts,
 * attention variance against sequence length, and a cross-device agreement matrix. Every chart
 * has a title, labelled axes with units and a legend, and its numbers in a table beneath.
 * Series differ by dash pattern and marker as well as colour, so they survive grey printing.
 * Documents come from other machines: every string taken from one is escaped (esc). Each chart
 * reads the cases at most once per strategy it draws (32 at most), and the matching is hashed
 * (compare.c), so the report grows with the number of cases, not with its square. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "compare.h"
#include "text.h"

static const char *palette[] = {"#111111", "#1f5fa8", "#c0392b", "#4d8b31", "#7d4fa8", "#d4870b", "#555555", "#0f8b8d"};
static const char *dashes[] = {"", "7 3", "2 3", "9 3 2 3", "1 2", "12 4", "4 4", "6 2 2 2"};
#define NSTYLE 8

/* Every string that is not a literal of this file goes through esc (clr_text_html): text and
 * attribute values, which are always quoted. Nothing from a document reaches a tag or attribute
 * name, a style, a URL or a script (the page has none). */
static void esc(clr_text *t, const char *s)
{
    clr_text_html(t, s ? s : "");
}

static void marker(clr_text *t, int style, double x, double y, const char *color)
{
    switch (style % 4) {
    case 0: clr_text_printf(t, "<circle cx='%.1f' cy='%.1f' r='3.5' fill='%s'/>", x, y, color); break;
    case 1: clr_text_printf(t, "<rect x='%.1f' y='%.1f' width='7' height='7' fill='%s'/>", x - 3.5, y - 3.5, color); break;
    case 2: clr_text_printf(t, "<path d='M%.1f %.1fl4 7h-8z' fill='%s'/>", x, y - 4.5, color); break;
    default: clr_text_printf(t, "<path d='M%.1f %.1fl4.5 4.5l-4.5 4.5l-4.5-4.5z' fill='white' stroke='%s' stroke-width='1.5'/>", x, y - 4.5, color);
    }
}

typedef struct series {
    const char *name;
    double y[64]; /* NaN: no point */
} series;

/* Line chart over categorical x positions; roof (optional) drawn as a thick grey dashed line. */
static void line_chart(clr_text *t, const char *title, const char *xlabel, const char *ylabel, const double *xs,
                       size_t nx, const series *s, size_t ns, const double *roof, const char *roof_name, int log_y)
{
    const double W = 720, H = 320, L = 70, R = 190, T = 34, B = 50;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < ns; ++i)
        for (size_t j = 0; j < nx; ++j)
            if (isfinite(s[i].y[j]) && (!log_y || s[i].y[j] > 0)) {
                lo = fmin(lo, s[i].y[j]);
                hi = fmax(hi, s[i].y[j]);
            }
    for (size_t j = 0; roof && j < nx; ++j)
        if (isfinite(roof[j]) && roof[j] > 0) {
            lo = fmin(lo, roof[j]);
            hi = fmax(hi, roof[j]);
        }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (log_y) {
        lo = pow(10, floor(log10(lo)));
        hi = pow(10, ceil(log10(hi)));
        if (hi <= lo)
            hi = lo * 10;
    } else {
        lo = 0;
        hi = hi <= 0 ? 1 : hi * 1.1;
    }
#define YPOS(v) (T + (H - T - B) * (1 - (log_y ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : ((v) - lo) / (hi - lo))))
#define XPOS(j) (L + (nx > 1 ? (W - L - R) * (double)(j) / (double)(nx - 1) : (W - L - R) / 2))
    clr_text_printf(t, "<figure><svg class='chart' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' role='img' "
                       "aria-label='", W, H, W, H);
    esc(t, title);
    clr_text_printf(t, "'><text x='10' y='20' class='title'>");
    esc(t, title);
    clr_text_printf(t, "</text><line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' class='axis'/>"
                       "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' class='axis'/>",
                    L, H - B, W - R, H - B, L, T, L, H - B);
    for (int k = 0; k <= 4; ++k) {
        double v = log_y ? pow(10, log10(lo) + (log10(hi) - log10(lo)) * k / 4.0) : lo + (hi - lo) * k / 4.0;
        clr_text_printf(t, "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' class='grid'/><text x='%.0f' y='%.1f' "
                           "class='tick' text-anchor='end'>%.3g</text>",
                        L, YPOS(v), W - R, YPOS(v), L - 6, YPOS(v) + 4, v);
    }
    for (size_t j = 0; j < nx; ++j)
        clr_text_printf(t, "<text x='%.1f' y='%.0f' class='tick' text-anchor='middle'>%.0f</text>", XPOS(j), H - B + 16, xs[j]);
    clr_text_printf(t, "<text x='%.0f' y='%.0f' class='label' text-anchor='middle'>", (L + W - R) / 2, H - 10);
    esc(t, xlabel);
    clr_text_printf(t, "</text><text transform='translate(16 %.0f) rotate(-90)' class='label' text-anchor='middle'>",
                    (T + H - B) / 2);
    esc(t, ylabel);
    clr_text_printf(t, "</text>");
    if (roof) {
        clr_text_printf(t, "<polyline class='roof' points='");
        for (size_t j = 0; j < nx; ++j)
            if (isfinite(roof[j]) && roof[j] > 0)
                clr_text_printf(t, "%.1f,%.1f ", XPOS(j), YPOS(roof[j]));
        clr_text_printf(t, "'/>");
    }
    for (size_t i = 0; i < ns; ++i) {
        const char *color = palette[i % NSTYLE];
        clr_text_printf(t, "<polyline fill='none' stroke='%s' stroke-width='2' stroke-dasharray='%s' points='", color,
                        dashes[i % NSTYLE]);
        for (size_t j = 0; j < nx; ++j)
            if (isfinite(s[i].y[j]) && (!log_y || s[i].y[j] > 0))
                clr_text_printf(t, "%.1f,%.1f ", XPOS(j), YPOS(s[i].y[j]));
        clr_text_printf(t, "'/>");
        for (size_t j = 0; j < nx; ++j)
            if (isfinite(s[i].y[j]) && (!log_y || s[i].y[j] > 0))
                marker(t, (int)i, XPOS(j), YPOS(s[i].y[j]), color);
        double ly = T + 8 + 20.0 * (double)i;
        clr_text_printf(t, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='%s' stroke-width='2' "
                           "stroke-dasharray='%s'/>",
                        W - R + 12, ly, W - R + 42, ly, color, dashes[i % NSTYLE]);
        marker(t, (int)i, W - R + 27, ly, color);
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='legend'>", W - R + 48, ly + 4);
        esc(t, s[i].name);
        clr_text_printf(t, "</text>");
    }
    if (roof) {
        double ly = T + 8 + 20.0 * (double)ns;
        clr_text_printf(t, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' class='roof'/><text x='%.0f' y='%.0f' "
                           "class='legend'>",
                        W - R + 12, ly, W - R + 42, ly, W - R + 48, ly + 4);
        esc(t, roof_name);
        clr_text_printf(t, "</text>");
    }
    clr_text_printf(t, "</svg></figure>\n");
#undef YPOS
#undef XPOS
}

/* Table beneath a chart: one row per series, one column per x. */
static void series_table(clr_text *t, const char *corner, const double *xs, size_t nx, const series *s, size_t ns,
                         const double *roof, const char *roof_name, const char *fmt)
{
    clr_text_printf(t, "<table><tr><th>");
    esc(t, corner);
    clr_text_printf(t, "</th>");
    for (size_t j = 0; j < nx; ++j)
        clr_text_printf(t, "<th>%.0f</th>", xs[j]);
    clr_text_printf(t, "</tr>");
    for (size_t i = 0; i < ns + (roof ? 1 : 0); ++i) {
        clr_text_printf(t, "<tr><td>");
        esc(t, i < ns ? s[i].name : roof_name);
        clr_text_printf(t, "</td>");
        for (size_t j = 0; j < nx; ++j) {
            double v = i < ns ? s[i].y[j] : roof[j];
            if (isfinite(v)) {
                clr_text_printf(t, "<td>");
                clr_text_printf(t, fmt, v);
                clr_text_printf(t, "</td>");
            } else {
                clr_text_printf(t, "<td>–</td>");
            }
        }
        clr_text_printf(t, "</tr>");
    }
    clr_text_printf(t, "</table>\n");
}

static size_t index_of(const double *xs, size_t n, double v)
{
    for (size_t i = 0; i < n; ++i)
        if (xs[i] == v)
            return i;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t batches_of(const clr_rdoc *d, double *xs)
{
    size_t n = 0;
    for (size_t i = 0; i < d->ncases && n < 64; ++i)
        if (index_of(xs, n, (double)d->cases[i].batch) == n)
            xs[n++] = (double)d->cases[i].batch;
    qsort(xs, n, sizeof *xs, cmp_double);
    return n;
}

static int claims_invariance(const clr_rdoc *d, const char *strategy)
{
    for (size_t i = 0; i < d->nclaims; ++i)
        if (!strcmp(d->claims[i].strategy, strategy) && !strcmp(d->claims[i].claim, "batch_invariant"))
            return d->claims[i].claimed;
    return 0;
}

/* Strategy x batch: the largest ulp distance of the probe from the smallest batch, over all
 * shapes and positions. 0 is drawn as '=' on white: bit-identical. */
static void heatmap(clr_text *t, const clr_rdoc *d, const double *xs, size_t nx)
{
    const double cw = 70, ch = 26, L = 130, T = 40;
    size_t ns = d->nstrategies < 32 ? d->nstrategies : 32;
    double W = fmax(L + cw * (double)nx + 20, 640), H = T + ch * (double)ns + 50;
    int64_t v[32][64];
    double top = 1;
    for (size_t s = 0; s < ns; ++s)
        for (size_t j = 0; j < nx; ++j)
            v[s][j] = -2; /* not run */
    for (size_t i = 0; i < d->ncases; ++i) {
        const clr_rcase *c = &d->cases[i];
        size_t j = index_of(xs, nx, (double)c->batch);
        if (c->skipped || j == nx)
            continue;
        for (size_t s = 0; s < ns; ++s) {
            if (strcmp(c->strategy, d->strategies[s]))
                continue;
            for (size_t p = 0; p < c->npositions; ++p) {
                int64_t u = c->positions[p].max_ulp_vs_base;
                v[s][j] = u < 0 || v[s][j] == -1 ? -1 : u > v[s][j] ? u : (v[s][j] < 0 ? u : v[s][j]);
            }
        }
    }
    for (size_t s = 0; s < ns; ++s)
        for (size_t j = 0; j < nx; ++j)
            if (v[s][j] > 0)
                top = fmax(top, log10((double)v[s][j] + 1));
    clr_text_printf(t, "<figure><svg class='chart' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' role='img' "
                       "aria-label='batch invariance heatmap'><text x='10' y='20' class='title'>Batch invariance: max "
                       "ulp of the probe row against the smallest batch</text>",
                    W, H, W, H);
    for (size_t j = 0; j < nx; ++j)
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick' text-anchor='middle'>%.0f</text>", L + cw * (double)j + cw / 2,
                        T - 6, xs[j]);
    for (size_t s = 0; s < ns; ++s) {
        double y = T + ch * (double)s;
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick' text-anchor='end'>", L - 8, y + ch / 2 + 4);
        esc(t, d->strategies[s]);
        clr_text_printf(t, "</text>");
        for (size_t j = 0; j < nx; ++j) {
            double x = L + cw * (double)j;
            int64_t u = v[s][j];
            if (u == 0)
                clr_text_printf(t, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' class='same'/><text x='%.0f' "
                                   "y='%.0f' class='cell' text-anchor='middle'>=</text>",
                                x, y, cw - 2, ch - 2, x + cw / 2, y + ch / 2 + 4);
            else if (u > 0) {
                double level = log10((double)u + 1) / top;
                int grey = (int)(200 - 170 * level);
                clr_text_printf(t, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='rgb(%d,%d,%d)'/><text "
                                   "x='%.0f' y='%.0f' class='cell' text-anchor='middle' fill='%s'>%lld</text>",
                                x, y, cw - 2, ch - 2, grey, grey, grey + 20 > 255 ? 255 : grey + 20, x + cw / 2,
                                y + ch / 2 + 4, grey < 120 ? "white" : "black", (long long)u);
            } else
                clr_text_printf(t, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' class='none'/><text x='%.0f' "
                                   "y='%.0f' class='cell' text-anchor='middle'>%s</text>",
                                x, y, cw - 2, ch - 2, x + cw / 2, y + ch / 2 + 4, u == -1 ? "?" : "–");
        }
    }
    clr_text_printf(t, "<text transform='translate(14 %.0f) rotate(-90)' class='label' text-anchor='middle'>strategy"
                       "</text>", T + ch * (double)ns / 2);
    clr_text_printf(t, "<text x='%.0f' y='%.0f' class='label' text-anchor='middle'>batch size</text>"
                       "<text x='10' y='%.0f' class='legend'>legend: '=' bit-identical to the smallest batch; a number "
                       "is the max ulp distance (darker = larger, log scale); '–' not run</text></svg></figure>\n",
                    L + cw * (double)nx / 2, H - 24, H - 6);
    clr_text_printf(t, "<table><tr><th>strategy \\ batch</th>");
    for (size_t j = 0; j < nx; ++j)
        clr_text_printf(t, "<th>%.0f</th>", xs[j]);
    clr_text_printf(t, "</tr>");
    for (size_t s = 0; s < ns; ++s) {
        clr_text_printf(t, "<tr><td>");
        esc(t, d->strategies[s]);
        clr_text_printf(t, "</td>");
        for (size_t j = 0; j < nx; ++j)
            if (v[s][j] >= 0)
                clr_text_printf(t, "<td>%lld</td>", (long long)v[s][j]);
            else
                clr_text_printf(t, "<td>%s</td>", v[s][j] == -1 ? "unknown" : "–");
        clr_text_printf(t, "</tr>");
    }
    clr_text_printf(t, "</table>\n");
}

static void document_section(clr_text *t, const clr_rdoc *d)
{
    double xs[64];
    size_t nx = batches_of(d, xs);
    clr_text_printf(t, "<section><h2>");
    esc(t, d->name);
    clr_text_printf(t, " on ");
    esc(t, d->device);
    clr_text_printf(t, "</h2><p class='meta'>");
    esc(t, d->platform);
    clr_text_printf(t, ", driver ");
    esc(t, d->driver);
    clr_text_printf(t, "; operation ");
    esc(t, d->op);
    clr_text_printf(t, "; started ");
    esc(t, d->started);
    clr_text_printf(t, "; command <code>");
    esc(t, d->command);
    clr_text_printf(t, "</code>; file <code>");
    esc(t, d->path);
    clr_text_printf(t, "</code></p>\n");
    heatmap(t, d, xs, nx);

    /* The last shape in the document's order (the largest of the default lists). */
    const char *shape = d->ncases ? d->cases[d->ncases - 1].shape : "";
    size_t ns = d->nstrategies < 32 ? d->nstrategies : 32;
    series *gb = calloc(ns, sizeof *gb), *ov = calloc(ns, sizeof *ov), *r2r = calloc(1, sizeof *r2r);
    double roof[64];
    size_t nov = 0;
    if (!gb || !ov || !r2r) {
        free(gb);
        free(ov);
        free(r2r);
        return;
    }
    for (size_t j = 0; j < 64; ++j)
        roof[j] = NAN;
    for (size_t s = 0; s < ns; ++s) {
        gb[s].name = d->strategies[s];
        int inv = claims_invariance(d, d->strategies[s]);
        if (inv)
            ov[nov].name = d->strategies[s];
        for (size_t j = 0; j < 64; ++j)
            gb[s].y[j] = inv ? (ov[nov].y[j] = NAN) : NAN;
        for (size_t i = 0; i < d->ncases; ++i) {
            const clr_rcase *c = &d->cases[i];
            if (c->skipped || strcmp(c->strategy, d->strategies[s]) || strcmp(c->shape, shape))
                continue;
            size_t j = index_of(xs, nx, (double)c->batch);
            if (j == nx)
                continue;
            if (c->valid) {
                gb[s].y[j] = c->gbps;
                if (inv)
                    ov[nov].y[j] = c->overhead;
            }
            roof[j] = c->copy_gbps;
        }
        nov += inv;
    }
    clr_text corner = {0}, title = {0}, title2 = {0}; /* raw text, escaped where drawn */
    clr_text_printf(&corner, "strategy \\ %s", d->batch_name);
    clr_text_printf(&title, "Throughput at %s, against the copy roof", shape);
    clr_text_printf(&title2, "Overhead of the batch-invariant strategies at %s", shape);
    t->failed |= corner.failed || title.failed || title2.failed;
    if (!t->failed) {
        line_chart(t, title.buf, "batch size", "GB/s (compulsory bytes / median time)", xs, nx, gb, ns, roof,
                   "copy kernel (roof)", 1);
        series_table(t, corner.buf, xs, nx, gb, ns, roof, "copy kernel (roof)", "%.2f");
    }
    if (nov && !t->failed) {
        line_chart(t, title2.buf, "batch size", "time / fastest strategy's time (x)", xs, nx, ov, nov, NULL, NULL, 0);
        series_table(t, corner.buf, xs, nx, ov, nov, NULL, NULL, "%.2fx");
    }
    free(corner.buf);
    free(title.buf);
    free(title2.buf);
    /* Run-to-run: the largest distinct count over every case, per strategy. */
    double idx[32];
    r2r->name = "distinct outputs (max over cases)";
    for (size_t s = 0; s < ns; ++s) {
        idx[s] = (double)s;
        r2r->y[s] = NAN;
        for (size_t i = 0; i < d->ncases; ++i)
            if (!d->cases[i].skipped && !strcmp(d->cases[i].strategy, d->strategies[s]))
                r2r->y[s] = fmax(isfinite(r2r->y[s]) ? r2r->y[s] : 0, (double)d->cases[i].r2r_distinct);
    }
    const double W = 720, rowh = 24, L = 130;
    double H = 60 + rowh * (double)ns, top = 1;
    size_t trials = d->ncases ? d->cases[0].trials : 0;
    for (size_t s = 0; s < ns; ++s)
        top = fmax(top, isfinite(r2r->y[s]) ? r2r->y[s] : 0);
    clr_text_printf(t, "<figure><svg class='chart' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' role='img' "
                       "aria-label='run-to-run distinct counts'><text x='10' y='20' class='title'>Run to run: distinct "
                       "output patterns in %zu trials (1 = deterministic)</text>",
                    W, H, W, H, trials);
    for (size_t s = 0; s < ns; ++s) {
        double y = 34 + rowh * (double)s, v = isfinite(r2r->y[s]) ? r2r->y[s] : 0;
        double w = (W - L - 80) * v / top;
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick' text-anchor='end'>", L - 8, y + 15);
        esc(t, d->strategies[s]);
        clr_text_printf(t, "</text><rect x='%.0f' y='%.0f' width='%.1f' height='%.0f' fill='%s' stroke='#111'/>"
                           "<text x='%.1f' y='%.0f' class='cell'>%.0f</text>",
                        L, y + 3, w, rowh - 6, v > 1 ? "#555" : "#ddd", L + w + 6, y + 15, v);
    }
    clr_text_printf(t, "<text transform='translate(14 %.0f) rotate(-90)' class='label' text-anchor='middle'>strategy"
                       "</text><text x='%.0f' y='%.0f' class='label'>distinct outputs (count) — legend: grey bar = 1 "
                       "(deterministic), dark bar = more than 1</text></svg></figure>\n",
                    34 + rowh * (double)ns / 2, L, H - 8);
    clr_text_printf(t, "<table><tr><th>strategy</th><th>max distinct outputs in %zu trials</th></tr>", trials);
    for (size_t s = 0; s < ns; ++s) {
        clr_text_printf(t, "<tr><td>");
        esc(t, d->strategies[s]);
        clr_text_printf(t, "</td><td>%.0f</td></tr>", isfinite(r2r->y[s]) ? r2r->y[s] : 0);
    }
    clr_text_printf(t, "</table>\n");
    (void)idx;

    /* Attention: batch variance against the KV length (the seed suite's figure). */
    if (!strcmp(d->op, "attention")) {
        double ls[64];
        size_t nl = 0;
        for (size_t i = 0; i < d->ncases && nl < 64; ++i)
            if (d->cases[i].kv_len > 0 && index_of(ls, nl, d->cases[i].kv_len) == nl)
                ls[nl++] = d->cases[i].kv_len;
        qsort(ls, nl, sizeof *ls, cmp_double);
        if (nl > 1) {
            for (size_t s = 0; s < ns; ++s)
                for (size_t j = 0; j < 64; ++j)
                    gb[s].y[j] = NAN;
            for (size_t i = 0; i < d->ncases; ++i) {
                const clr_rcase *c = &d->cases[i];
                size_t j = index_of(ls, nl, c->kv_len);
                for (size_t s = 0; s < ns && !c->skipped && j < nl && c->batch_distinct; ++s)
                    if (!strcmp(c->strategy, d->strategies[s]))
                        gb[s].y[j] = (double)c->batch_distinct;
            }
            line_chart(t, "Attention: distinct probe outputs across batch sizes, by KV length",
                       "KV length (tokens)", "distinct outputs (1 = batch-invariant)", ls, nl, gb, ns, NULL, NULL, 0);
            series_table(t, "strategy \\ KV length", ls, nl, gb, ns, NULL, NULL, "%.0f");
        }
    }
    free(gb);
    free(ov);
    free(r2r);
    clr_text_printf(t, "</section>\n");
}

/* For one run name: documents x documents, the share of their common cases with identical
 * fingerprints. Drawn when the run was measured on more than one device. */
static void agreement_for(clr_text *t, const clr_comparison *cmp, const char *run)
{
    size_t idx[64], n = 0;
    int several = 0;
    for (size_t i = 0; i < cmp->ndocs && n < 64; ++i)
        if (!strcmp(cmp->docs[i].name, run)) {
            several |= n && strcmp(cmp->docs[i].device, cmp->docs[idx[0]].device) != 0;
            idx[n++] = i;
        }
    if (!several)
        return;
    const double cw = 90, L = 40, T = 50;
    double W = fmax(L + cw * (double)n + 20, 640), H = T + 34 * (double)n + 40;
    clr_text_printf(t, "<h3>");
    esc(t, run);
    clr_text_printf(t, "</h3><figure><svg class='chart' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' role='img' "
                       "aria-label='cross-device agreement'><text x='10' y='20' class='title'>",
                    W, H, W, H);
    esc(t, run);
    clr_text_printf(t, ": share of common cases with the same bits (%%)</text>");
    double pct[64][64];
    for (size_t a = 0; a < n; ++a)
        for (size_t b = 0; b < n; ++b) {
            size_t common = 0, same = 0;
            for (size_t m = 0; m < cmp->nmatches && a < b; ++m) {
                const clr_match *mt = &cmp->matches[m];
                if (mt->cases[idx[a]] && mt->cases[idx[b]]) {
                    common++;
                    same += mt->group_of[idx[a]] == mt->group_of[idx[b]];
                }
            }
            pct[a][b] = a == b ? 100 : a > b ? pct[b][a] : common ? 100.0 * (double)same / (double)common : NAN;
        }
    for (size_t a = 0; a < n; ++a) {
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick' text-anchor='middle'>#%zu</text>",
                        L + cw * (double)a + cw / 2, T - 8, idx[a]);
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick' text-anchor='end'>#%zu</text>", L - 6,
                        T + 34 * (double)a + 21, idx[a]);
        for (size_t b = 0; b < n; ++b) {
            double x = L + cw * (double)b, y = T + 34 * (double)a, p = pct[a][b];
            int grey = isfinite(p) ? (int)(235 - 1.8 * p) : 255;
            clr_text_printf(t, "<rect x='%.0f' y='%.0f' width='%.0f' height='32' fill='rgb(%d,%d,%d)' stroke='#999'/>"
                               "<text x='%.0f' y='%.0f' class='cell' text-anchor='middle' fill='%s'>",
                            x, y, cw - 2, grey, grey, grey, x + cw / 2, y + 21, grey < 120 ? "white" : "black");
            if (isfinite(p))
                clr_text_printf(t, "%.0f%%", p);
            else
                clr_text_printf(t, "none common");
            clr_text_printf(t, "</text>");
        }
    }
    clr_text_printf(t, "<text x='%.0f' y='%.0f' class='label' text-anchor='middle'>document # (columns)</text>"
                       "<text transform='translate(12 %.0f) rotate(-90)' class='label' text-anchor='middle'>document #"
                       "</text>",
                    L + cw * (double)n / 2, T - 24, T + 17 * (double)n);
    clr_text_printf(t, "<text x='10' y='%.0f' class='legend'>rows and columns: documents by number (table below); "
                       "darker = more cases with identical bits</text></svg></figure>\n<table><tr><th>#</th>"
                       "<th>device (driver)</th>",
                    H - 10);
    for (size_t b = 0; b < n; ++b)
        clr_text_printf(t, "<th>#%zu</th>", idx[b]);
    clr_text_printf(t, "</tr>");
    for (size_t a = 0; a < n; ++a) {
        clr_text_printf(t, "<tr><td>#%zu</td><td>", idx[a]);
        esc(t, cmp->labels[idx[a]]);
        clr_text_printf(t, "</td>");
        for (size_t b = 0; b < n; ++b)
            if (isfinite(pct[a][b]))
                clr_text_printf(t, "<td>%.0f%%</td>", pct[a][b]);
            else
                clr_text_printf(t, "<td>–</td>");
        clr_text_printf(t, "</tr>");
    }
    clr_text_printf(t, "</table>\n");
}

static void agreement(clr_text *t, const clr_comparison *cmp)
{
    int any = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        int first = 1;
        for (size_t j = 0; j < i; ++j)
            first &= strcmp(cmp->docs[j].name, cmp->docs[i].name) != 0;
        int other_device = 0;
        for (size_t j = 0; j < cmp->ndocs; ++j)
            other_device |= !strcmp(cmp->docs[j].name, cmp->docs[i].name) &&
                            strcmp(cmp->docs[j].device, cmp->docs[i].device) != 0;
        if (!first || !other_device)
            continue;
        if (!any++)
            clr_text_printf(t, "<section><h2>Agreement between devices</h2><p>For each run measured on several "
                               "devices: the share of the cases both documents have in which their outputs are "
                               "bit-identical.</p>");
        agreement_for(t, cmp, cmp->docs[i].name);
    }
    if (any)
        clr_text_printf(t, "</section>\n");
}

char *clr_report_html(const clr_comparison *cmp, clr_error *err)
{
    clr_text t = {0};
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    clr_text_printf(&t, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>clrepro report</title>"
                        "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#111;line-height:1.4}"
                        "h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:2px solid #111;padding-bottom:.2em;"
                        "margin-top:2em}table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}"
                        "td,th{border:1px solid #888;padding:.2em .5em;text-align:right}td:first-child,th:first-child"
                        "{text-align:left}figure{margin:1em 0}.chart text{font-family:sans-serif}.title{font-size:14px;"
                        "font-weight:bold}.tick{font-size:11px}.label{font-size:12px}.legend{font-size:11px}.cell"
                        "{font-size:11px}.axis{stroke:#111;stroke-width:1.5}.grid{stroke:#ccc;stroke-width:.5}"
                        ".roof{fill:none;stroke:#888;stroke-width:4;stroke-dasharray:10 4}.same{fill:#fff;stroke:#111;"
                        "stroke-width:1.5}.none{fill:#fff;stroke:#ccc}.broken{border:3px solid #c0392b;padding:.5em 1em}"
                        ".meta{font-size:.9em;color:#333}code{font-size:.9em}@media print{h2{page-break-before:auto}}"
                        "</style></head><body>\n<h1>clrepro %s report</h1><p class='meta'>Generated %s from %zu "
                        "results documents. Every kernel output in them was validated against a host reference "
                        "before its time was recorded.</p>\n",
                    CLREPRO_VERSION, when, cmp->ndocs);
    /* Broken claims first: those a run observed, and device invariance judged across documents. */
    size_t broken = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i)
        for (size_t k = 0; k < cmp->docs[i].nclaims; ++k)
            broken += cmp->docs[i].claims[k].broken;
    const clr_device_claim *dclaims = cmp->device_claims;
    size_t ndclaims = cmp->ndevice_claims;
    for (size_t i = 0; i < ndclaims; ++i)
        broken += dclaims[i].identical < dclaims[i].cases;
    clr_text_printf(&t, "<section class='%s'><h2>Broken claims</h2>", broken ? "broken" : "");
    if (!broken)
        clr_text_printf(&t, "<p>None: every claim a strategy makes held wherever it was measured.</p>");
    else {
        clr_text_printf(&t, "<ul>");
        for (size_t i = 0; i < cmp->ndocs; ++i)
            for (size_t k = 0; k < cmp->docs[i].nclaims; ++k) {
                const clr_rclaim *c = &cmp->docs[i].claims[k];
                if (!c->broken)
                    continue;
                clr_text_printf(&t, "<li><b>");
                esc(&t, c->strategy);
                clr_text_printf(&t, "</b> claims ");
                esc(&t, c->claim);
                clr_text_printf(&t, " in ");
                esc(&t, cmp->docs[i].name);
                clr_text_printf(&t, " on ");
                esc(&t, cmp->labels[i]);
                clr_text_printf(&t, ", but: ");
                esc(&t, c->evidence);
                clr_text_printf(&t, "</li>");
            }
        for (size_t i = 0; i < ndclaims; ++i) {
            if (dclaims[i].identical == dclaims[i].cases)
                continue;
            clr_text_printf(&t, "<li><b>");
            esc(&t, dclaims[i].strategy);
            clr_text_printf(&t, "</b> claims device_invariant in ");
            esc(&t, dclaims[i].run);
            clr_text_printf(&t, ", but across devices %zu of %zu cases differ: ", dclaims[i].cases - dclaims[i].identical,
                            dclaims[i].cases);
            esc(&t, dclaims[i].evidence);
            clr_text_printf(&t, "</li>");
        }
        clr_text_printf(&t, "</ul>");
    }
    if (ndclaims) {
        clr_text_printf(&t, "<p>Device invariance, judged across these documents:</p><table><tr><th>run</th>"
                            "<th>strategy</th><th>cases on 2+ devices</th><th>identical everywhere</th>"
                            "<th>observed</th></tr>");
        for (size_t i = 0; i < ndclaims; ++i) {
            clr_text_printf(&t, "<tr><td>");
            esc(&t, dclaims[i].run);
            clr_text_printf(&t, "</td><td>");
            esc(&t, dclaims[i].strategy);
            clr_text_printf(&t, "</td><td>%zu</td><td>%zu</td><td>%s</td></tr>", dclaims[i].cases,
                            dclaims[i].identical, clr_device_claim_observed(&dclaims[i]));
        }
        clr_text_printf(&t, "</table>");
    }
    clr_text_printf(&t, "</section>\n<section><h2>Documents</h2><table><tr><th>#</th><th>device (driver)</th>"
                        "<th>platform</th><th>run</th><th>file</th></tr>");
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        clr_text_printf(&t, "<tr><td>%zu</td><td>", i);
        esc(&t, cmp->labels[i]);
        clr_text_printf(&t, "</td><td>");
        esc(&t, cmp->docs[i].platform);
        clr_text_printf(&t, "</td><td>");
        esc(&t, cmp->docs[i].name);
        clr_text_printf(&t, "</td><td><code>");
        esc(&t, cmp->docs[i].path);
        clr_text_printf(&t, "</code></td></tr>");
    }
    clr_text_printf(&t, "</table></section>\n");
    agreement(&t, cmp);
    for (size_t i = 0; i < cmp->ndocs; ++i)
        document_section(&t, &cmp->docs[i]);
    clr_text_printf(&t, "</body></html>\n");
    if (t.failed) {
        free(t.buf);
        clr_fail(err, CLR_EFAIL, "out of host memory formatting the report");
        return NULL;
    }
    return t.buf;
}
