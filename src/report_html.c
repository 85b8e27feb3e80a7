/* report_html.c: `clrepro report`, one self-contained offline HTML file drawn from results
 * documents: no external resource, font or network (its Content-Security-Policy, default-src
 * 'none', says so to the browser too); charts are inline SVG.
 *
 * Layout, top to bottom:
 *   1. Summary (#summary), the first screen: the strategy x device matrix. One row per
 *      (operation, strategy), one group of columns per device (documents with the same device
 *      name and platform, as compare.c counts devices): the verdict of each claim a run judges
 *      (run to run, batch, order: held, broken, claimed but not measured; where not claimed,
 *      whether the bits varied) over every document of that device, and the overhead range
 *      (min-max of time / the fastest strategy's time at the same shape and batch, over every
 *      shape and batch measured); a last column says whether the bits were the same across
 *      devices (compare.c's device-invariance verdicts where claimed, the matches otherwise).
 *      What varies, and what invariance costs, at a glance; a count of broken claims if any.
 *   2. Contents (#contents): operation x device, a link to every document's section. Then
 *      Broken claims (#broken) with their evidence, Documents (#documents, a folded table), and
 *      Agreement between devices (#agreement): per (run, strategy) and device pair, the share
 *      of the common cases with identical bits.
 *   3. One section per document (#doc-N), grouped by operation: the batch-invariance heatmap
 *      ((strategy, shape) x batch, max ulp of the probe against the smallest batch, on one
 *      colour scale fixed for every document of every report), the run-to-run distinct counts,
 *      a pair of charts for every shape (throughput: GB/s against the roof measured in the same
 *      run, or GFLOP/s for matmul and attention; overhead), each quantity on one log axis for
 *      the whole document, attention's variance against the KV length, and every case in a
 *      folded sortable table (accuracy in u where the document gives it, else in ulp).
 *   4. Decode (#decode), where decode documents were given (`clrepro decode`; compare_decode.c
 *      reads and judges them): per experiment (#decode-N), the completion agreement per mode
 *      (prompts with one completion on every run of every device, the same reference completion
 *      on every device, one completion per device), then per device a mode x batch table of
 *      tokens/s, % of the roof and the time against the fast mode. A report of decode documents
 *      only is this section alone.
 * Every mark (point, bar, cell) has an SVG <title> child with its exact value, strategy, shape
 * and batch; the summary's cells a title attribute with the evidence. Ticks are round (1, 2,
 * 5 x 10^k; log axes powers of ten, with 2 and 5 between where the range is small, round
 * linear steps within one such step). A strategy keeps one colour, dash and marker through
 * the whole report (its place in its operation), so series survive grey printing.
 *
 * Guarantees. Documents come from other machines: every string taken from one goes through
 * esc (clr_text_html) into text or a quoted attribute value; nothing from a document reaches a
 * tag or attribute name, an id, a link, a style or the script. Ids and links are made here
 * (summary, doc-N, ...). The page's one script (clr_report_script: a click on a column header
 * sorts the table by the number in data-v, else by text) and its style (clr_report_style) are
 * literals of this file, and the CSP admits that script by its hash only (report_csp: change
 * the script, change the hash; the browser test fails otherwise). Work grows with the number
 * of cases, not with its square: cases are grouped by sorting, the matching is hashed
 * (compare.c), and no loop runs over cases inside a loop over cases. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "compare.h"
#include "text.h"

/* The page's own style and script, exposed so that the tests can check that the page holds
 * these and nothing else. The script must hold no '<'. */

const char clr_report_style[] =
    "body{font-family:sans-serif;max-width:1240px;margin:1em auto;padding:0 12px;color:#111;line-height:1.35;"
    "font-size:15px}h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.2em;border-bottom:2px solid #111;"
    "padding-bottom:.15em;margin:1.6em 0 .5em}h3{font-size:1em;margin:1.2em 0 .4em}p{margin:.4em 0}"
    "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.8em}td,th{border:1px solid #999;"
    "padding:.15em .4em;text-align:right}td.l,th.l{text-align:left}th{background:#f2f2f2}"
    ".scroll{overflow-x:auto}.matrix{font-size:.78em}.matrix td,.matrix th{padding:.1em .35em;text-align:center}"
    ".matrix td.l{text-align:left}.matrix tr.first td{border-top:2px solid #111}.matrix .dev{font-weight:bold}"
    ".matrix .sub{display:block;font-weight:normal;color:#444}.matrix td.gap,.matrix th.gap{border:0;"
    "background:none;padding:0 2px}"
    "td.held{background:#cfeccf}td.broken{background:#b3261e;color:#fff;font-weight:bold}"
    "td.untested{background:#e6e6e6;color:#444}td.varies{background:#fbe3b5}td.same{color:#666}"
    "td.none{color:#aaa}td.o1{background:#fff4d6}td.o2{background:#fde0b0}td.o3{background:#f7b98a}"
    "td.o4{background:#e8836b}"
    ".key span{display:inline-block;border:1px solid #999;padding:0 .35em;margin:0 .1em;font-size:.85em}"
    ".key .held{background:#cfeccf}.key .broken{background:#b3261e;color:#fff}.key .untested{background:#e6e6e6}"
    ".key .varies{background:#fbe3b5}.key{font-size:.85em}"
    "table.toc td{vertical-align:top}"
    ".grid{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:flex-start}.pair{display:flex;flex-wrap:wrap;gap:0 8px;width:588px}.pair>p.shape{width:100%;margin:.4em 0 0 50px;"
    "font-weight:bold;font-size:.8em}figure{margin:.3em 0}"
    "svg text{font-family:sans-serif}.title{font-size:13px;font-weight:bold}.tick{font-size:10px;fill:#222}"
    ".label{font-size:11px}.legend{font-size:11px}.cell{font-size:10px;pointer-events:none}"
    ".axis{stroke:#111;stroke-width:1}.grid-line{stroke:#ddd;stroke-width:.7}.ref{stroke:#555;"
    "stroke-width:1;stroke-dasharray:3 3}.roof{fill:none;stroke:#999;stroke-width:4;stroke-dasharray:10 4}"
    ".sep{stroke:#111;stroke-width:1}.broken-list{border:3px solid #b3261e;padding:.3em 1em}.alarm{color:#b3261e;font-weight:bold}"
    ".meta{font-size:.85em;color:#333}code{font-size:.9em;word-break:break-all}details{margin:.4em 0 1em}"
    "summary{cursor:pointer;font-size:.9em}.js table.sortable th{cursor:pointer}"
    "th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
    "@media print{details{display:block}}";

const char clr_report_script[] =
    "(function(){'use strict';"
    "document.documentElement.className='js';"
    "function key(row,i){var c=row.cells[i];if(!c)return '';var v=c.getAttribute('data-v');"
    "if(v!==null&&v!==''&&isFinite(v))return +v;return c.textContent.trim();}"
    "function order(x,y){var nx=typeof x==='number',ny=typeof y==='number';if(nx&&ny)return x-y;"
    "if(nx)return -1;if(ny)return 1;return String(x).localeCompare(String(y),undefined,{numeric:true});}"
    "function sort(th){var table=th.closest('table'),body=table&&table.tBodies[0];if(!body)return;"
    "var i=th.cellIndex,up=th.getAttribute('aria-sort')!=='ascending',heads=th.parentNode.cells;"
    "for(var k=0;heads.length>k;k++)heads[k].removeAttribute('aria-sort');"
    "th.setAttribute('aria-sort',up?'ascending':'descending');"
    "var rows=Array.prototype.slice.call(body.rows),keys=new Map();"
    "rows.forEach(function(r,n){keys.set(r,[key(r,i),n]);});"
    "rows.sort(function(a,b){var x=keys.get(a),y=keys.get(b),d=order(x[0],y[0]);return (up?d:-d)||x[1]-y[1];});"
    "rows.forEach(function(r){body.appendChild(r);});}"
    "var heads=document.querySelectorAll('table.sortable thead th');"
    "for(var k=0;heads.length>k;k++){heads[k].tabIndex=0;"
    "heads[k].addEventListener('click',function(){sort(this);});"
    "heads[k].addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();sort(this);}});}"
    "})();";

/* Nothing loads from anywhere; styles are inline; the one script that runs is the one with this
 * SHA-256 (base64): change clr_report_script, and put the new hash here
 * (printf %s "$script" | openssl dgst -sha256 -binary | base64); the browser test says which. */
static const char report_csp[] = "default-src 'none'; style-src 'unsafe-inline'; "
                                 "script-src 'sha256-6xHzY+R2H1ET+rd7OGma5N3Qri4yyVYyLgAuUGHdawc='";

static const char *palette[] = {"#111111", "#1f5fa8", "#c0392b", "#4d8b31", "#7d4fa8", "#d4870b", "#777777", "#0f8b8d"};
static const char *dashes[] = {"", "7 3", "2 3", "9 3 2 3", "1 2", "12 4", "4 4", "6 2 2 2"};
#define NSTYLE 8
#define MAX_SERIES 16 /* strategies charted per document (every one is in its table) */
#define MAX_BATCHES 64 /* batch columns in a heatmap */

/* Every string that is not a literal of this file goes through esc: text and attribute values,
 * which are always quoted. */
static void esc(clr_text *t, const char *s)
{
    clr_text_html(t, s ? s : "");
}

/* ---------------------------------------------------------------- bookkeeping */

typedef struct docx {
    size_t dev;                /* device column */
    size_t nstrat;             /* local strategies: listed, then met in cases or claims */
    const char **strat;
    size_t *row;               /* per local strategy: its summary row */
    size_t *cstrat, *cshape;   /* per case */
    size_t *claim_strat;       /* per claim */
    size_t nshape;
    const char **shape;
    size_t *by_shape;          /* case indices by (shape, batch, strategy) */
    size_t *by_strat;          /* case indices by (strategy, shape, batch) */
    double batches[MAX_BATCHES];
    size_t nbatch;
    int flops;                 /* throughput as GFLOP/s */
    size_t opid;               /* its operation, numbered in order of first appearance */
} docx;

typedef struct report {
    clr_text *t;
    const clr_comparison *cmp;
    void **owned;
    size_t nowned, capowned;
    int oom;
    docx *dx;
    size_t ndev;
    size_t dev_doc[CLR_COMPARE_MAX_DOCS]; /* a document of each device */
    size_t nrows;                         /* summary rows: (operation, strategy) */
    const char **row_op, **row_strategy;
    size_t *row_style, *row_order, *row_opid;
    size_t *row_sorted; /* rows by (operation, strategy), for find_row */
    size_t nops;
    size_t *doc_order; /* documents by operation, run name, device */
} report;

static void *grab(report *r, size_t n, size_t size)
{
    if (r->oom)
        return NULL;
    n = n ? n : 1;
    if (n > SIZE_MAX / size) {
        r->oom = 1;
        return NULL;
    }
    if (r->nowned == r->capowned) {
        size_t cap = r->capowned ? 2 * r->capowned : 64;
        void **grown = realloc(r->owned, cap * sizeof *grown);
        if (!grown) {
            r->oom = 1;
            return NULL;
        }
        r->owned = grown;
        r->capowned = cap;
    }
    void *p = calloc(n, size);
    if (!p) {
        r->oom = 1;
        return NULL;
    }
    r->owned[r->nowned++] = p;
    return p;
}

typedef struct key2 {
    const char *a, *b;
    size_t i;
} key2;

static int cmp_key2(const void *x, const void *y)
{
    const key2 *p = x, *q = y;
    int c = strcmp(p->a, q->a);
    if (!c)
        c = strcmp(p->b, q->b);
    return c ? c : (p->i > q->i) - (p->i < q->i);
}

/* ids[i] for the pair (keys[i].a, keys[i].b): equal pairs share an id, ids numbered in order
 * of first appearance; first[id] is where it first appears. keys is reordered. */
static size_t intern(key2 *keys, size_t n, size_t *ids, size_t *first)
{
    for (size_t i = 0; i < n; ++i)
        keys[i].i = i;
    qsort(keys, n, sizeof *keys, cmp_key2);
    for (size_t s = 0; s < n;) {
        size_t e = s + 1;
        while (e < n && !strcmp(keys[e].a, keys[s].a) && !strcmp(keys[e].b, keys[s].b))
            ++e;
        for (size_t k = s; k < e; ++k)
            ids[keys[k].i] = keys[s].i; /* the first index of the run */
        s = e;
    }
    size_t count = 0;
    for (size_t i = 0; i < n; ++i)
        if (ids[i] == i) {
            first[count] = i;
            ids[i] = count++;
        } else {
            ids[i] = ids[ids[i]];
        }
    return count;
}

typedef struct ckey {
    size_t a, b, c, i;
} ckey;

static int cmp_ckey(const void *x, const void *y)
{
    const ckey *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    if (p->c != q->c)
        return p->c < q->c ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t batch_column(const docx *x, size_t batch)
{
    double b = (double)batch;
    const double *at = bsearch(&b, x->batches, x->nbatch, sizeof b, cmp_double);
    return at ? (size_t)(at - x->batches) : x->nbatch;
}

static int charted(const clr_rcase *c)
{
    return !c->skipped && c->valid;
}

/* Case indices of a document sorted by (shape, batch, strategy), or with by_strategy by
 * (strategy, shape, batch). */
static size_t *sorted_cases(report *r, const clr_rdoc *d, const docx *x, int by_strategy)
{
    ckey *keys = malloc((d->ncases ? d->ncases : 1) * sizeof *keys);
    size_t *out = grab(r, d->ncases, sizeof *out);
    if (!keys || !out) {
        free(keys);
        r->oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < d->ncases; ++i)
        keys[i] = by_strategy ? (ckey){x->cstrat[i], x->cshape[i], d->cases[i].batch, i}
                              : (ckey){x->cshape[i], d->cases[i].batch, x->cstrat[i], i};
    qsort(keys, d->ncases, sizeof *keys, cmp_ckey);
    for (size_t i = 0; i < d->ncases; ++i)
        out[i] = keys[i].i;
    free(keys);
    return out;
}

static int index_doc(report *r, size_t di)
{
    const clr_rdoc *d = &r->cmp->docs[di];
    docx *x = &r->dx[di];
    size_t n = d->nstrategies + d->ncases + d->nclaims;
    key2 *keys = malloc((n ? n : 1) * sizeof *keys);
    size_t *ids = grab(r, n, sizeof *ids), *first = malloc((n ? n : 1) * sizeof *first);
    if (!keys || !ids || !first)
        goto oom;
    for (size_t i = 0; i < d->nstrategies; ++i)
        keys[i] = (key2){d->strategies[i], "", 0};
    for (size_t i = 0; i < d->ncases; ++i)
        keys[d->nstrategies + i] = (key2){d->cases[i].strategy, "", 0};
    for (size_t i = 0; i < d->nclaims; ++i)
        keys[d->nstrategies + d->ncases + i] = (key2){d->claims[i].strategy, "", 0};
    x->nstrat = intern(keys, n, ids, first);
    x->strat = grab(r, x->nstrat, sizeof *x->strat);
    x->row = grab(r, x->nstrat, sizeof *x->row);
    if (!x->strat || !x->row)
        goto oom;
    for (size_t s = 0; s < x->nstrat; ++s) {
        size_t i = first[s];
        x->strat[s] = i < d->nstrategies ? d->strategies[i]
                      : i < d->nstrategies + d->ncases ? d->cases[i - d->nstrategies].strategy
                                                        : d->claims[i - d->nstrategies - d->ncases].strategy;
    }
    x->cstrat = ids + d->nstrategies;
    x->claim_strat = ids + d->nstrategies + d->ncases;
    /* shapes */
    x->cshape = grab(r, d->ncases, sizeof *x->cshape);
    if (!x->cshape)
        goto oom;
    for (size_t i = 0; i < d->ncases; ++i)
        keys[i] = (key2){d->cases[i].shape, "", 0};
    x->nshape = intern(keys, d->ncases, x->cshape, first);
    x->shape = grab(r, x->nshape, sizeof *x->shape);
    if (!x->shape)
        goto oom;
    for (size_t s = 0; s < x->nshape; ++s)
        x->shape[s] = d->cases[first[s]].shape;
    free(keys);
    free(first);
    x->by_shape = sorted_cases(r, d, x, 0);
    x->by_strat = sorted_cases(r, d, x, 1);
    if (!x->by_shape || !x->by_strat)
        return -1;
    /* batches: the distinct ones, smallest first (MAX_BATCHES at most) */
    for (size_t k = 0; k < d->ncases; ++k) {
        double b = (double)d->cases[x->by_shape[k]].batch;
        int seen = 0;
        for (size_t j = 0; j < x->nbatch && !seen; ++j)
            seen = x->batches[j] == b;
        if (!seen && x->nbatch < MAX_BATCHES)
            x->batches[x->nbatch++] = b;
        if (x->nbatch == MAX_BATCHES)
            break;
    }
    qsort(x->batches, x->nbatch, sizeof *x->batches, cmp_double);
    int gflops_given = 0;
    for (size_t i = 0; i < d->ncases; ++i)
        gflops_given |= charted(&d->cases[i]) && isfinite(d->cases[i].gflops) && d->cases[i].gflops > 0;
    x->flops = gflops_given && (!strcmp(d->op, "matmul") || !strcmp(d->op, "attention"));
    return 0;
oom:
    free(keys);
    free(first);
    r->oom = 1;
    return -1;
}

/* Devices, documents, and the summary's rows (operation, strategy) in order of first
 * appearance, grouped by operation. */
static int index_all(report *r)
{
    const clr_comparison *cmp = r->cmp;
    r->dx = grab(r, cmp->ndocs, sizeof *r->dx);
    if (!r->dx)
        return -1;
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        size_t dev = r->ndev;
        for (size_t k = 0; k < r->ndev && dev == r->ndev; ++k)
            if (!strcmp(cmp->docs[r->dev_doc[k]].device, d->device) &&
                !strcmp(cmp->docs[r->dev_doc[k]].platform, d->platform))
                dev = k;
        if (dev == r->ndev)
            r->dev_doc[r->ndev++] = i;
        r->dx[i].dev = dev;
        if (index_doc(r, i))
            return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i)
        n += r->dx[i].nstrat;
    key2 *keys = malloc((n ? n : 1) * sizeof *keys);
    size_t *ids = malloc((n ? n : 1) * sizeof *ids), *first = malloc((n ? n : 1) * sizeof *first);
    size_t *opids = malloc((cmp->ndocs ? cmp->ndocs : 1) * sizeof *opids);
    size_t *opfirst = malloc((cmp->ndocs ? cmp->ndocs : 1) * sizeof *opfirst);
    int rc = -1;
    if (!keys || !ids || !first || !opids || !opfirst)
        goto done;
    size_t k = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i)
        for (size_t s = 0; s < r->dx[i].nstrat; ++s)
            keys[k++] = (key2){cmp->docs[i].op, r->dx[i].strat[s], 0};
    r->nrows = intern(keys, n, ids, first);
    r->row_sorted = grab(r, r->nrows, sizeof *r->row_sorted);
    if (!r->row_sorted)
        goto done;
    for (size_t q = 0, m = 0; q < n; ++q) /* keys are sorted by (op, strategy): the rows in that order */
        if (q == 0 || ids[keys[q].i] != ids[keys[q - 1].i])
            r->row_sorted[m++] = ids[keys[q].i];
    for (size_t i = 0; i < cmp->ndocs; ++i)
        keys[i] = (key2){cmp->docs[i].op, "", 0};
    r->nops = intern(keys, cmp->ndocs, opids, opfirst);
    for (size_t i = 0; i < cmp->ndocs; ++i)
        r->dx[i].opid = opids[i];
    r->row_op = grab(r, r->nrows, sizeof *r->row_op);
    r->row_strategy = grab(r, r->nrows, sizeof *r->row_strategy);
    r->row_style = grab(r, r->nrows, sizeof *r->row_style);
    r->row_order = grab(r, r->nrows, sizeof *r->row_order);
    r->row_opid = grab(r, r->nrows, sizeof *r->row_opid);
    r->doc_order = grab(r, cmp->ndocs, sizeof *r->doc_order);
    if (r->oom)
        goto done;
    k = 0;
    size_t *row_doc = first; /* reuse: first[id] is a flat index; find its document */
    for (size_t i = 0; i < cmp->ndocs; ++i)
        for (size_t s = 0; s < r->dx[i].nstrat; ++s, ++k) {
            size_t row = ids[k];
            r->dx[i].row[s] = row;
            if (row_doc[row] == k) {
                r->row_op[row] = cmp->docs[i].op;
                r->row_strategy[row] = r->dx[i].strat[s];
                r->row_opid[row] = opids[i];
            }
        }
    /* display order: by operation (first appearance), then the row's own first appearance */
    size_t pos = 0;
    for (size_t op = 0; op < r->nops; ++op) {
        size_t style = 0;
        for (size_t row = 0; row < r->nrows; ++row)
            if (r->row_opid[row] == op) {
                r->row_style[row] = style++;
                r->row_order[pos++] = row;
            }
    }
    /* documents: by operation, run name, device, then as given (64 at most: insertion sort) */
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        size_t j = i;
        for (; j > 0; --j) {
            size_t p = r->doc_order[j - 1];
            int c = opids[p] != opids[i] ? (opids[p] > opids[i] ? 1 : -1) : strcmp(cmp->docs[p].name, cmp->docs[i].name);
            if (!c)
                c = (r->dx[p].dev > r->dx[i].dev) - (r->dx[p].dev < r->dx[i].dev);
            if (c <= 0)
                break;
            r->doc_order[j] = p;
        }
        r->doc_order[j] = i;
    }
    rc = 0;
done:
    if (rc)
        r->oom = 1;
    free(keys);
    free(ids);
    free(first);
    free(opids);
    free(opfirst);
    return rc;
}

/* The summary row of (operation, strategy), or nrows. */
static size_t find_row(const report *r, const char *op, const char *strategy)
{
    size_t lo = 0, hi = r->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, row = r->row_sorted[mid];
        int c = strcmp(r->row_op[row], op);
        if (!c)
            c = strcmp(r->row_strategy[row], strategy);
        if (!c)
            return row;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return r->nrows;
}

/* ---------------------------------------------------------------- numbers and axes */

/* A value for a table cell or a title: 4 significant digits, whole numbers from 10^4 up. */
static void num(clr_text *t, double v)
{
    if (!isfinite(v))
        clr_text_printf(t, "–");
    else if (fabs(v) >= 1e4 && fabs(v) < 1e12)
        clr_text_printf(t, "%.0f", v);
    else
        clr_text_printf(t, "%.4g", v);
}

/* A tick value: powers of ten from 10^6 and below 10^-3 as 1e6, 2e-4. */
static void tick_label(clr_text *t, double v)
{
    double a = fabs(v);
    if (v == 0) {
        clr_text_printf(t, "0");
        return;
    }
    int e = (int)floor(log10(a) + 1e-9);
    if (e >= 6 || e <= -4)
        clr_text_printf(t, "%ge%d", round(v / pow(10, e) * 10) / 10, e);
    else
        clr_text_printf(t, "%g", v);
}

static void ratio(clr_text *t, double v)
{
    clr_text_printf(t, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
}

typedef struct axis {
    double lo, hi;
    int log;
    double tick[32];
    size_t nticks;
} axis;

/* The 1-2-5 value at or below (up = 0) or at or above (up = 1) v > 0. */
static double nice125(double v, int up)
{
    static const double m[] = {1, 2, 5, 10};
    double p = pow(10, floor(log10(v)));
    if (up) {
        for (int i = 0; i < 4; ++i)
            if (m[i] * p >= v * (1 - 1e-9))
                return m[i] * p;
        return 10 * p;
    }
    for (int i = 3; i >= 0; --i)
        if (m[i] * p <= v * (1 + 1e-9))
            return m[i] * p;
    return p / 2;
}

static double next125(double v)
{
    double p = pow(10, floor(log10(v) + 1e-9)), m = v / p;
    return (m < 1.5 ? 2 : m < 3.5 ? 5 : 10) * p;
}

/* A linear axis from 0 (or the minimum, if negative) to a round value above max; with
 * integer, steps of 1 at least (counts). */
static void axis_linear(axis *a, double min, double max, int integer)
{
    memset(a, 0, sizeof *a);
    if (!isfinite(max) || max <= 0)
        max = 1;
    if (!isfinite(min) || min > 0)
        min = 0;
    double step = nice125((max - min) / 4, 1);
    if (integer && (step < 1 || max - min <= 8))
        step = 1;
    a->lo = floor(min / step) * step;
    a->hi = ceil(max / step - 1e-9) * step;
    if (a->hi <= a->lo)
        a->hi = a->lo + step;
    for (double k = 0; a->lo + k * step <= a->hi + step * 1e-9 && a->nticks < 32; ++k)
        a->tick[a->nticks++] = a->lo + k * step;
}

/* A log axis over [min, max] (both > 0): over two decades or less, every 1-2-5 value between
 * the nearest such values outside the data; over more, powers of ten (every k-th, for at most
 * 8 ticks). */
static void axis_log(axis *a, double min, double max)
{
    memset(a, 0, sizeof *a);
    a->log = 1;
    if (!(min > 0) || !isfinite(min) || !isfinite(max) || max < min) {
        min = 1;
        max = 10;
    }
    double lo = nice125(min, 0), hi = nice125(max, 1);
    if (hi <= lo)
        hi = next125(lo);
    if (hi / lo <= 2.5 * (1 + 1e-9)) { /* within one 1-2-5 step: round linear steps over the data */
        double step = nice125(fmax((max - min) / 4, min * 0.02), 1);
        a->lo = floor(min / step + 1e-9) * step;
        a->hi = ceil(max / step - 1e-9) * step;
        if (a->hi <= a->lo)
            a->hi = a->lo + step;
        for (double k = 0; a->lo + k * step <= a->hi + step * 1e-9 && a->nticks < 32; ++k)
            a->tick[a->nticks++] = a->lo + k * step;
        return;
    }
    if (hi / lo <= 100 * (1 + 1e-9)) {
        a->lo = lo;
        a->hi = hi;
        for (double v = lo; v <= hi * (1 + 1e-9) && a->nticks < 32; v = next125(v))
            a->tick[a->nticks++] = v;
        return;
    }
    int e0 = (int)floor(log10(min) + 1e-9), e1 = (int)ceil(log10(max) - 1e-9);
    int step = (e1 - e0 + 7) / 8;
    step = step < 1 ? 1 : step;
    e1 = e0 + (e1 - e0 + step - 1) / step * step;
    a->lo = pow(10, e0);
    a->hi = pow(10, e1);
    for (int e = e0; e <= e1 && a->nticks < 32; e += step)
        a->tick[a->nticks++] = pow(10, e);
}

/* Where v lands between p0 (at lo) and p1 (at hi). */
static double axis_pos(const axis *a, double v, double p0, double p1)
{
    double f = a->log ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : (v - a->lo) / (a->hi - a->lo);
    return p0 + (p1 - p0) * f;
}

/* Width of a text in pixels at a font size, roughly (UTF-8 characters x 0.6 em). */
static double text_width(const char *s, double px)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p)
        chars += (*p & 0xC0) != 0x80;
    return (double)chars * px * 0.6;
}

/* ---------------------------------------------------------------- marks */

static void marker_open(clr_text *t, size_t style, double x, double y, const char *color)
{
    switch (style % 4) {
    case 0: clr_text_printf(t, "<circle class='mk' cx='%.1f' cy='%.1f' r='3.5' fill='%s'>", x, y, color); break;
    case 1:
        clr_text_printf(t, "<rect class='mk' x='%.1f' y='%.1f' width='7' height='7' fill='%s'>", x - 3.5, y - 3.5, color);
        break;
    case 2: clr_text_printf(t, "<path class='mk' d='M%.1f %.1fl4 7h-8z' fill='%s'>", x, y - 4.5, color); break;
    default:
        clr_text_printf(t, "<path class='mk' d='M%.1f %.1fl4.5 4.5l-4.5 4.5l-4.5-4.5z' fill='white' stroke='%s' "
                           "stroke-width='1.5'>", x, y - 4.5, color);
    }
}

static void marker_close(clr_text *t, size_t style)
{
    clr_text_printf(t, "</title></%s>", style % 4 == 0 ? "circle" : style % 4 == 1 ? "rect" : "path");
}

/* A decorative marker (legends): no title. */
static void marker_plain(clr_text *t, size_t style, double x, double y, const char *color)
{
    switch (style % 4) {
    case 0: clr_text_printf(t, "<circle cx='%.1f' cy='%.1f' r='3.5' fill='%s'/>", x, y, color); break;
    case 1: clr_text_printf(t, "<rect x='%.1f' y='%.1f' width='7' height='7' fill='%s'/>", x - 3.5, y - 3.5, color); break;
    case 2: clr_text_printf(t, "<path d='M%.1f %.1fl4 7h-8z' fill='%s'/>", x, y - 4.5, color); break;
    default:
        clr_text_printf(t, "<path d='M%.1f %.1fl4.5 4.5l-4.5 4.5l-4.5-4.5z' fill='white' stroke='%s' stroke-width='1.5'/>",
                        x, y - 4.5, color);
    }
}

/* label: a literal */
static void svg_open(clr_text *t, double w, double h, const char *label)
{
    clr_text_printf(t, "<svg class='chart' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' role='img' aria-label='%s'>",
                    w, h, w, h, label);
}

/* One horizontal strip: a line and marker per strategy, then the extra entries. */
/* What a document's roof is: from schema 2 the fastest read of the operation's bytes in the same
 * run (a correct measurement stays below it); in schema 1 a copy of the same bytes, which a
 * latency-bound kernel could beat. A literal. */
static const char *roof_label(const clr_rdoc *d)
{
    return d->schema_version >= 2 ? "roof (the fastest read of the same bytes, same run)"
                                  : "copy of the same bytes, same run (schema 1: not a roof)";
}

static void legend_strip(clr_text *t, const char *const *names, const size_t *styles, size_t n, const char *roof,
                         int ref)
{
    double x = 8, y = 14, w = 1200;
    clr_text items = {0};
    for (size_t i = 0; i < n + (size_t)(roof != NULL) + (size_t)ref; ++i) {
        const char *name = i < n ? names[i] : i == n && roof ? roof
                                                              : "1\xC3\x97 = the fastest strategy";
        double iw = 48 + text_width(name, 11) + 18;
        if (x + iw > w && x > 8) {
            x = 8;
            y += 20;
        }
        if (i < n) {
            const char *color = palette[styles[i] % NSTYLE];
            clr_text_printf(&items, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='%s' stroke-width='2' "
                                    "stroke-dasharray='%s'/>", x, y, x + 30, y, color, dashes[styles[i] % NSTYLE]);
            marker_plain(&items, styles[i], x + 15, y, color);
        } else if (i == n && roof) {
            clr_text_printf(&items, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' class='roof'/>", x, y, x + 30, y);
        } else {
            clr_text_printf(&items, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' class='ref'/>", x, y, x + 30, y);
        }
        clr_text_printf(&items, "<text x='%.0f' y='%.0f' class='legend'>", x + 36, y + 4);
        esc(&items, name);
        clr_text_printf(&items, "</text>");
        x += iw;
    }
    double used = y + 10;
    svg_open(t, w, used, "legend");
    if (items.buf)
        clr_text_append(t, items.buf, items.len);
    t->failed |= items.failed;
    free(items.buf);
    clr_text_printf(t, "</svg>\n");
}

typedef struct line_series {
    const char *name;
    size_t style;
    const double *y; /* nx values, NaN: no point */
} line_series;

typedef struct line_spec {
    const char *title;  /* literal */
    const char *xlabel; /* raw text */
    const char *ylabel; /* literal */
    const char *unit;   /* literal, after each value in the titles */
    const char *where;  /* raw text: the shape, for the titles */
    const char *xname;  /* raw text: what x is, for the titles */
    const char *cls;    /* the figure's class (literal) */
    const double *xs;
    size_t nx;
    const axis *y;
    const double *roof; /* nx or NULL */
    const char *roof_name; /* literal: what the roof is (roof_label) */
    int ref_one;        /* a dashed line at 1 */
    double w, h;
} line_spec;

/* A line chart over categorical x (the batch sizes, or the KV lengths). */
static void line_chart(clr_text *t, const line_spec *sp, const line_series *s, size_t ns)
{
    const double W = sp->w, H = sp->h, L = 52, R = 10, T = 26, B = 38;
    const axis *y = sp->y;
#define YPOS(v) axis_pos(y, (v), H - B, T)
#define XPOS(j) (L + 8 + (sp->nx > 1 ? (W - L - R - 16) * (double)(j) / (double)(sp->nx - 1) : (W - L - R - 16) / 2))
    clr_text_printf(t, "<figure class='%s'>", sp->cls);
    clr_text_printf(t, "<svg class='chart' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' role='img' "
                       "aria-label='%s at ", W, H, W, H, sp->title);
    esc(t, sp->where);
    clr_text_printf(t, "'>");
    clr_text_printf(t, "<text x='%.0f' y='16' class='title' text-anchor='middle'>%s</text>", (L + W - R) / 2, sp->title);
    for (size_t k = 0; k < y->nticks; ++k) {
        double py = YPOS(y->tick[k]);
        clr_text_printf(t, "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' class='grid-line'/><text x='%.0f' y='%.1f' "
                           "class='tick' text-anchor='end'>", L, py, W - R, py, L - 4, py + 3.5);
        tick_label(t, y->tick[k]);
        clr_text_printf(t, "</text>");
    }
    clr_text_printf(t, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' class='axis'/><line x1='%.0f' y1='%.0f' "
                       "x2='%.0f' y2='%.0f' class='axis'/>", L, H - B, W - R, H - B, L, T, L, H - B);
    /* x ticks: every one while they fit (about 26 px each), else every k-th */
    size_t every = 1;
    while (sp->nx / every > (size_t)((W - L - R) / 26) && every < sp->nx)
        every++;
    for (size_t j = 0; j < sp->nx; j += every)
        clr_text_printf(t, "<text x='%.1f' y='%.0f' class='tick' text-anchor='middle'>%.0f</text>", XPOS(j), H - B + 13,
                        sp->xs[j]);
    clr_text_printf(t, "<text x='%.0f' y='%.0f' class='label' text-anchor='middle'>", (L + W - R) / 2, H - 6);
    esc(t, sp->xlabel);
    clr_text_printf(t, "</text><text transform='translate(12 %.0f) rotate(-90)' class='label' text-anchor='middle'>%s"
                       "</text>", (T + H - B) / 2, sp->ylabel);
    if (sp->ref_one && y->lo <= 1 && y->hi >= 1)
        clr_text_printf(t, "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' class='ref'/>", L, YPOS(1.0), W - R, YPOS(1.0));
    if (sp->roof) {
        clr_text_printf(t, "<polyline class='roof' points='");
        for (size_t j = 0; j < sp->nx; ++j)
            if (isfinite(sp->roof[j]) && sp->roof[j] > 0)
                clr_text_printf(t, "%.1f,%.1f ", XPOS(j), YPOS(sp->roof[j]));
        clr_text_printf(t, "'/>");
        for (size_t j = 0; j < sp->nx; ++j)
            if (isfinite(sp->roof[j]) && sp->roof[j] > 0) {
                clr_text_printf(t, "<circle class='mk' cx='%.1f' cy='%.1f' r='2.5' fill='#999'><title>%s: ",
                                XPOS(j), YPOS(sp->roof[j]), sp->roof_name);
                num(t, sp->roof[j]);
                clr_text_printf(t, " GB/s; ");
                esc(t, sp->where);
                clr_text_printf(t, "; ");
                esc(t, sp->xname);
                clr_text_printf(t, " %.0f</title></circle>", sp->xs[j]);
            }
    }
    for (size_t i = 0; i < ns; ++i) {
        const char *color = palette[s[i].style % NSTYLE];
        clr_text_printf(t, "<polyline fill='none' stroke='%s' stroke-width='1.8' stroke-dasharray='%s' points='", color,
                        dashes[s[i].style % NSTYLE]);
        for (size_t j = 0; j < sp->nx; ++j)
            if (isfinite(s[i].y[j]) && (!y->log || s[i].y[j] > 0))
                clr_text_printf(t, "%.1f,%.1f ", XPOS(j), YPOS(s[i].y[j]));
        clr_text_printf(t, "'/>");
        for (size_t j = 0; j < sp->nx; ++j)
            if (isfinite(s[i].y[j]) && (!y->log || s[i].y[j] > 0)) {
                marker_open(t, s[i].style, XPOS(j), YPOS(s[i].y[j]), color);
                clr_text_printf(t, "<title>");
                esc(t, s[i].name);
                clr_text_printf(t, ": ");
                num(t, s[i].y[j]);
                clr_text_printf(t, " %s; ", sp->unit);
                esc(t, sp->where);
                clr_text_printf(t, "; ");
                esc(t, sp->xname);
                clr_text_printf(t, " %.0f", sp->xs[j]);
                marker_close(t, s[i].style);
            }
    }
    clr_text_printf(t, "</svg></figure>\n");
#undef YPOS
#undef XPOS
}

/* ---------------------------------------------------------------- the summary */

/* Broken claims: those a run observed, and device invariance judged across documents. */
static size_t count_broken(const clr_comparison *cmp)
{
    size_t broken = 0;
    for (size_t i = 0; i < cmp->ndocs; ++i)
        for (size_t k = 0; k < cmp->docs[i].nclaims; ++k)
            broken += cmp->docs[i].claims[k].broken != 0;
    for (size_t i = 0; i < cmp->ndevice_claims; ++i)
        broken += cmp->device_claims[i].identical < cmp->device_claims[i].cases;
    return broken;
}

enum { CL_DETERMINISTIC, CL_BATCH, CL_ORDER, NCLAIM };
static const char *const claim_names[NCLAIM] = {"deterministic", "batch_invariant", "order_independent"};
static const char *const claim_heads[NCLAIM] = {"run to run", "batch", "order"};

typedef struct verdict {
    size_t claimed, held, broken, violated, docs;
    const char *evidence; /* of the first broken claim, else of the first claim */
} verdict;

typedef struct cell {
    size_t docs;
    verdict v[NCLAIM];
    double omin, omax;
    size_t ocases;
} cell;

typedef struct across {
    int claimed;
    size_t cases, identical;       /* compare.c's verdicts, where claimed */
    size_t mcases, midentical;     /* from the matches, for every strategy */
    const char *evidence;          /* of the first run that differed, else of the first */
    int differs;
} across;

/* A claim's verdict as the matrix shows it: class, text. */
static const char *verdict_class(const verdict *v, const char **text)
{
    if (v->broken)
        return *text = "\xE2\x9C\x97 broken", "broken";
    if (v->claimed && v->held)
        return *text = "\xE2\x9C\x93", "held";
    if (v->claimed)
        return *text = "?", "untested";
    if (v->violated)
        return *text = "varies", "varies";
    if (v->held)
        return *text = "=", "same";
    return *text = "\xC2\xB7", "none";
}

static void verdict_title(clr_text *t, const char *claim, const verdict *v)
{
    const char *text, *cls = verdict_class(v, &text);
    clr_text_printf(t, "%s: ", claim);
    if (!strcmp(cls, "broken"))
        clr_text_printf(t, "claimed, and broken in %zu of %zu documents", v->broken, v->docs);
    else if (!strcmp(cls, "held"))
        clr_text_printf(t, "claimed, held in %zu of %zu documents", v->held, v->docs);
    else if (!strcmp(cls, "untested"))
        clr_text_printf(t, "claimed, not measured");
    else if (!strcmp(cls, "varies"))
        clr_text_printf(t, "not claimed; varied in %zu of %zu documents", v->violated, v->docs);
    else if (!strcmp(cls, "same"))
        clr_text_printf(t, "not claimed; the same bits in every measurement");
    else
        clr_text_printf(t, "not claimed, not measured");
    if (v->evidence && *v->evidence) {
        clr_text_printf(t, ". ");
        esc(t, v->evidence);
    }
}

static size_t device_of(const report *r, size_t doc)
{
    return r->dx[doc].dev;
}

static void device_name(clr_text *t, const report *r, size_t dev)
{
    esc(t, r->cmp->docs[r->dev_doc[dev]].device);
}

/* Per match: the summary row of its strategy, the devices it was measured on, whether the first
 * document of each device gave one fingerprint. */
static size_t match_row(const report *r, const clr_match *mt, size_t *first_doc)
{
    for (size_t d = 0; d < r->cmp->ndocs; ++d)
        if (mt->cases[d]) {
            const clr_rdoc *doc = &r->cmp->docs[d];
            size_t ci = (size_t)(mt->cases[d] - doc->cases);
            *first_doc = d;
            return ci < doc->ncases ? r->dx[d].row[r->dx[d].cstrat[ci]] : r->nrows;
        }
    return r->nrows;
}

static int match_devices(const report *r, const clr_match *mt, size_t *per_dev /* ndev: doc or SIZE_MAX */)
{
    size_t n = 0;
    for (size_t k = 0; k < r->ndev; ++k)
        per_dev[k] = SIZE_MAX;
    for (size_t d = 0; d < r->cmp->ndocs; ++d)
        if (mt->cases[d] && per_dev[device_of(r, d)] == SIZE_MAX) {
            per_dev[device_of(r, d)] = d;
            n++;
        }
    return (int)n;
}

static void summary(report *r)
{
    clr_text *t = r->t;
    const clr_comparison *cmp = r->cmp;
    cell *cells = grab(r, r->nrows * r->ndev, sizeof *cells);
    across *ax = grab(r, r->nrows, sizeof *ax);
    if (!cells || !ax)
        return;
    for (size_t i = 0; i < r->nrows * r->ndev; ++i)
        cells[i].omin = INFINITY, cells[i].omax = -INFINITY;
    for (size_t di = 0; di < cmp->ndocs; ++di) {
        const clr_rdoc *d = &cmp->docs[di];
        const docx *x = &r->dx[di];
        cell *c0 = &cells[x->dev];
        for (size_t s = 0; s < x->nstrat; ++s)
            c0[x->row[s] * r->ndev].docs++;
        for (size_t k = 0; k < d->nclaims; ++k) {
            const clr_rclaim *c = &d->claims[k];
            size_t row = x->row[x->claim_strat[k]];
            if (!strcmp(c->claim, "device_invariant")) {
                ax[row].claimed |= c->claimed;
                continue;
            }
            for (int n = 0; n < NCLAIM; ++n) {
                if (strcmp(c->claim, claim_names[n]))
                    continue;
                verdict *v = &c0[row * r->ndev].v[n];
                int violated = !strcmp(c->observed, "violated"), broken = c->broken || (c->claimed && violated);
                v->docs++;
                v->claimed += c->claimed != 0;
                v->broken += broken;
                v->held += !strcmp(c->observed, "held");
                v->violated += violated;
                if ((broken && (!v->evidence || v->broken == 1)) || !v->evidence)
                    v->evidence = c->evidence;
            }
        }
        for (size_t i = 0; i < d->ncases; ++i) {
            const clr_rcase *c = &d->cases[i];
            if (!charted(c) || !isfinite(c->overhead) || c->overhead <= 0)
                continue;
            cell *ce = &c0[x->row[x->cstrat[i]] * r->ndev];
            ce->omin = fmin(ce->omin, c->overhead);
            ce->omax = fmax(ce->omax, c->overhead);
            ce->ocases++;
        }
    }
    /* across devices: compare.c's verdicts where claimed; the matches for every strategy */
    for (size_t i = 0; i < cmp->ndevice_claims; ++i) {
        const clr_device_claim *dc = &cmp->device_claims[i];
        for (size_t di = 0; di < cmp->ndocs; ++di)
            if (!strcmp(cmp->docs[di].name, dc->run)) {
                size_t row = find_row(r, cmp->docs[di].op, dc->strategy);
                if (row < r->nrows) {
                    ax[row].cases += dc->cases;
                    ax[row].identical += dc->identical;
                    if (!ax[row].evidence || (dc->identical < dc->cases && !ax[row].differs))
                        ax[row].evidence = dc->evidence;
                    ax[row].differs |= dc->identical < dc->cases;
                }
                break;
            }
    }
    size_t per_dev[CLR_COMPARE_MAX_DOCS];
    for (size_t m = 0; m < cmp->nmatches; ++m) {
        const clr_match *mt = &cmp->matches[m];
        size_t d0, row = match_row(r, mt, &d0);
        if (row >= r->nrows || match_devices(r, mt, per_dev) < 2)
            continue;
        int same = 1, group = -1;
        for (size_t k = 0; k < r->ndev; ++k)
            if (per_dev[k] != SIZE_MAX) {
                int g = mt->group_of[per_dev[k]];
                same &= group < 0 || g == group;
                group = g;
            }
        ax[row].mcases++;
        ax[row].midentical += same;
    }

    clr_text_printf(t, "<section id='summary'><h2>Summary: what varies, and what invariance costs</h2>"
                       "<p class='key'>Per operation and strategy (rows) and device (columns), over every document of "
                       "that device: <span class='held'>\xE2\x9C\x93</span> claim held "
                       "<span class='broken'>\xE2\x9C\x97 broken</span> claim broken "
                       "<span class='untested'>?</span> claimed, not measured "
                       "<span class='varies'>varies</span> not claimed, and the bits varied "
                       "<span>=</span> not claimed, the same bits "
                       "<span>\xC2\xB7</span> neither. <b>run to run</b>: the same bits every trial; <b>batch</b>: the "
                       "same bits at every batch size and position; <b>order</b>: the same bits in any order of the "
                       "inputs. <b>overhead</b>: time / the fastest strategy's time at the same shape and batch, min"
                       "\xE2\x80\x93max over every shape and batch measured. <b>devices</b>: cases measured on two or "
                       "more devices with identical bits on all. Hover a cell for the evidence.</p>\n");
    size_t broken = count_broken(cmp);
    if (broken)
        clr_text_printf(t, "<p class='alarm'><a href='#broken'>%zu claim%s broken</a>: listed with the evidence below."
                           "</p>\n", broken, broken == 1 ? "" : "s");
    /* the devices column first, next to the strategy; a wide matrix (five devices and more) scrolls
     * inside the page instead of running off it */
    clr_text_printf(t, "<div class='scroll'><table class='matrix'><thead><tr><th class='l' rowspan='2'>operation</th>"
                       "<th class='l' rowspan='2'>strategy</th><th class='gap' rowspan='2'></th><th rowspan='2'>"
                       "devices<span class='sub'>same bits</span></th>");
    for (size_t k = 0; k < r->ndev; ++k) {
        clr_text_printf(t, "<th class='gap' rowspan='2'></th><th colspan='%d' class='dev' title='", NCLAIM + 1);
        esc(t, cmp->docs[r->dev_doc[k]].device);
        clr_text_printf(t, " (");
        esc(t, cmp->docs[r->dev_doc[k]].platform);
        clr_text_printf(t, ")'>D%zu ", k + 1);
        device_name(t, r, k);
        clr_text_printf(t, "<span class='sub'>");
        esc(t, cmp->docs[r->dev_doc[k]].platform);
        clr_text_printf(t, "</span></th>");
    }
    clr_text_printf(t, "</tr><tr>");
    for (size_t k = 0; k < r->ndev; ++k) {
        for (int n = 0; n < NCLAIM; ++n)
            clr_text_printf(t, "<th>%s</th>", claim_heads[n]);
        clr_text_printf(t, "<th>overhead</th>");
    }
    clr_text_printf(t, "</tr></thead><tbody>");
    for (size_t p = 0; p < r->nrows; ++p) {
        size_t row = r->row_order[p];
        int first = p == 0 || r->row_opid[r->row_order[p - 1]] != r->row_opid[row];
        clr_text_printf(t, "<tr%s><td class='l'>", first ? " class='first'" : "");
        if (first)
            esc(t, r->row_op[row]);
        clr_text_printf(t, "</td><td class='l'>");
        esc(t, r->row_strategy[row]);
        clr_text_printf(t, "</td>");
        const across *a = &ax[row];
        clr_text_printf(t, "<td class='gap'></td>");
        if (a->claimed) {
            const char *cls = !a->cases ? "untested" : a->identical == a->cases ? "held" : "broken";
            clr_text_printf(t, "<td class='%s' title='device_invariant: claimed; %zu of %zu cases measured on two or "
                               "more devices gave identical bits", cls, a->identical, a->cases);
            if (a->evidence) {
                clr_text_printf(t, ". ");
                esc(t, a->evidence);
            }
            if (!a->cases)
                clr_text_printf(t, "'>?</td>");
            else
                clr_text_printf(t, "'>%s %zu/%zu</td>", a->identical == a->cases ? "\xE2\x9C\x93" : "\xE2\x9C\x97",
                                a->identical, a->cases);
        } else if (a->mcases) {
            clr_text_printf(t, "<td class='%s' title='device_invariant: not claimed; %zu of %zu cases measured on two "
                               "or more devices gave identical bits'>%s %zu/%zu</td>",
                            a->midentical == a->mcases ? "same" : "varies", a->midentical, a->mcases,
                            a->midentical == a->mcases ? "=" : "varies", a->midentical, a->mcases);
        } else {
            clr_text_printf(t, "<td class='none' title='not measured on two devices'>\xC2\xB7</td>");
        }
        for (size_t k = 0; k < r->ndev; ++k) {
            const cell *ce = &cells[row * r->ndev + k];
            clr_text_printf(t, "<td class='gap'></td>");
            if (!ce->docs) {
                clr_text_printf(t, "<td class='none' colspan='%d' title='not measured on this device'></td>", NCLAIM + 1);
                continue;
            }
            for (int n = 0; n < NCLAIM; ++n) {
                const char *text, *cls = verdict_class(&ce->v[n], &text);
                clr_text_printf(t, "<td class='%s' title='", cls);
                verdict_title(t, claim_names[n], &ce->v[n]);
                clr_text_printf(t, "'>%s</td>", text);
            }
            if (!ce->ocases) {
                clr_text_printf(t, "<td class='none' title='no timed case'>\xE2\x80\x93</td>");
                continue;
            }
            int level = ce->omax >= 10 ? 4 : ce->omax >= 3 ? 3 : ce->omax >= 1.5 ? 2 : ce->omax >= 1.1 ? 1 : 0;
            clr_text_printf(t, "<td class='o%d' data-v='%.6g' title='time / the fastest strategy&#39;s time, %zu cases "
                               "in %zu documents: ", level, ce->omax, ce->ocases, ce->docs);
            num(t, ce->omin);
            clr_text_printf(t, " to ");
            num(t, ce->omax);
            clr_text_printf(t, "'>");
            ratio(t, ce->omin);
            if (ce->omax > ce->omin * 1.005) {
                clr_text_printf(t, "\xE2\x80\x93");
                ratio(t, ce->omax);
            }
            clr_text_printf(t, "\xC3\x97</td>");
        }
        clr_text_printf(t, "</tr>\n");
    }
    clr_text_printf(t, "</tbody></table></div></section>\n");
}

/* ---------------------------------------------------------------- contents, claims, documents */

static void doc_title(clr_text *t, const clr_rdoc *d)
{
    esc(t, d->name);
    clr_text_printf(t, " on ");
    esc(t, d->device);
}

/* Contents: the sections, then every document by operation (rows) and device (columns), as in
 * the summary; a document is named by its run and its number in the Documents table. */
static void contents(report *r, int any_agreement)
{
    clr_text *t = r->t;
    const clr_comparison *cmp = r->cmp;
    clr_text_printf(t, "<nav id='contents'><h2>Contents</h2><p><a href='#summary'>Summary</a> \xC2\xB7 "
                       "<a href='#cost'>What invariance costs</a> \xC2\xB7 <a href='#broken'>Broken claims</a> \xC2\xB7 "
                       "<a href='#documents'>Documents</a>%s%s \xC2\xB7 "
                       "one section per document:</p><table class='toc'><thead><tr><th class='l'>operation</th>",
                    any_agreement ? " \xC2\xB7 <a href='#agreement'>Agreement between devices</a>" : "",
                    cmp->ndecode ? " \xC2\xB7 <a href='#decode'>Decode: the same tokens across devices?</a>" : "");
    for (size_t k = 0; k < r->ndev; ++k) {
        clr_text_printf(t, "<th class='l'>D%zu ", k + 1);
        device_name(t, r, k);
        clr_text_printf(t, "</th>");
    }
    clr_text_printf(t, "</tr></thead><tbody>");
    for (size_t p = 0; p < cmp->ndocs;) {
        size_t op = r->dx[r->doc_order[p]].opid, e = p;
        while (e < cmp->ndocs && r->dx[r->doc_order[e]].opid == op)
            ++e;
        clr_text_printf(t, "<tr><td class='l'>");
        esc(t, cmp->docs[r->doc_order[p]].op);
        clr_text_printf(t, "</td>");
        for (size_t k = 0; k < r->ndev; ++k) {
            clr_text_printf(t, "<td class='l'>");
            int any = 0;
            for (size_t q = p; q < e; ++q) {
                size_t i = r->doc_order[q];
                if (r->dx[i].dev != k)
                    continue;
                clr_text_printf(t, "%s<a href='#doc-%zu' title='", any++ ? " \xC2\xB7 " : "", i);
                esc(t, cmp->docs[i].path);
                clr_text_printf(t, "'>");
                esc(t, cmp->docs[i].name);
                clr_text_printf(t, "</a>&nbsp;<small>#%zu</small>", i);
            }
            clr_text_printf(t, "</td>");
        }
        clr_text_printf(t, "</tr>");
        p = e;
    }
    clr_text_printf(t, "</tbody></table><p class='meta'>Each document's section: the batch-invariance heatmap (max ulp "
                       "of the probe against the smallest batch, per strategy and shape; one colour scale for the "
                       "whole report) and the run-to-run distinct outputs; then, for every shape, a pair of charts "
                       "against the batch size: throughput (GB/s = compulsory bytes / median time, against the roof "
                       "measured in the same run; GFLOP/s for matmul and attention) and overhead (time / the fastest "
                       "strategy's time at the same shape and batch), each on a log axis shared by all the shapes "
                       "of the document; attention adds the variance against the KV length; and every case in a "
                       "table (accuracy in u where the document gives it, else in ulp). Hover a mark for its value."
                       "</p></nav>\n");
}

static void broken_claims(report *r)
{
    clr_text *t = r->t;
    const clr_comparison *cmp = r->cmp;
    size_t broken = count_broken(cmp);
    const clr_device_claim *dclaims = cmp->device_claims;
    size_t ndclaims = cmp->ndevice_claims;
    clr_text_printf(t, "<section id='broken'%s><h2>Broken claims</h2>", broken ? " class='broken-list'" : "");
    if (!broken)
        clr_text_printf(t, "<p>None: every claim a strategy makes held wherever it was measured.</p>");
    else {
        clr_text_printf(t, "<ul>");
        for (size_t i = 0; i < cmp->ndocs; ++i)
            for (size_t k = 0; k < cmp->docs[i].nclaims; ++k) {
                const clr_rclaim *c = &cmp->docs[i].claims[k];
                if (!c->broken)
                    continue;
                clr_text_printf(t, "<li><b>");
                esc(t, c->strategy);
                clr_text_printf(t, "</b> claims ");
                esc(t, c->claim);
                clr_text_printf(t, " in <a href='#doc-%zu'>", i);
                esc(t, cmp->docs[i].name);
                clr_text_printf(t, "</a> on ");
                esc(t, cmp->labels[i]);
                clr_text_printf(t, ", but: ");
                esc(t, c->evidence);
                clr_text_printf(t, "</li>");
            }
        for (size_t i = 0; i < ndclaims; ++i) {
            if (dclaims[i].identical == dclaims[i].cases)
                continue;
            clr_text_printf(t, "<li><b>");
            esc(t, dclaims[i].strategy);
            clr_text_printf(t, "</b> claims device_invariant in ");
            esc(t, dclaims[i].run);
            clr_text_printf(t, ", but across devices %zu of %zu cases differ: ", dclaims[i].cases - dclaims[i].identical,
                            dclaims[i].cases);
            esc(t, dclaims[i].evidence);
            clr_text_printf(t, "</li>");
        }
        clr_text_printf(t, "</ul>");
    }
    if (ndclaims) {
        clr_text_printf(t, "<p>Device invariance, judged across these documents:</p><table class='sortable'><thead><tr>"
                           "<th class='l'>run</th><th class='l'>strategy</th><th>cases on 2+ devices</th>"
                           "<th>identical everywhere</th><th class='l'>observed</th></tr></thead><tbody>");
        for (size_t i = 0; i < ndclaims; ++i) {
            clr_text_printf(t, "<tr><td class='l'>");
            esc(t, dclaims[i].run);
            clr_text_printf(t, "</td><td class='l'>");
            esc(t, dclaims[i].strategy);
            clr_text_printf(t, "</td><td data-v='%zu'>%zu</td><td data-v='%zu'>%zu</td><td class='l'>%s</td></tr>",
                            dclaims[i].cases, dclaims[i].cases, dclaims[i].identical, dclaims[i].identical,
                            clr_device_claim_observed(&dclaims[i]));
        }
        clr_text_printf(t, "</tbody></table>");
    }
    clr_text_printf(t, "</section>\n");
}

static void documents(report *r)
{
    clr_text *t = r->t;
    const clr_comparison *cmp = r->cmp;
    clr_text_printf(t, "<section id='documents'><h2>Documents</h2><details><summary>The %zu documents: device, driver, "
                       "platform, run, file (table; click a column header to sort)</summary><table class='sortable'>"
                       "<thead><tr><th>#</th>"
                       "<th class='l'>device</th><th class='l'>driver</th><th class='l'>platform</th>"
                       "<th class='l'>operation</th><th class='l'>run</th><th>cases</th><th class='l'>file</th></tr>"
                       "</thead><tbody>", cmp->ndocs);
    for (size_t i = 0; i < cmp->ndocs; ++i) {
        const clr_rdoc *d = &cmp->docs[i];
        clr_text_printf(t, "<tr><td data-v='%zu'>%zu</td><td class='l'>D%zu ", i, i, r->dx[i].dev + 1);
        esc(t, d->device);
        clr_text_printf(t, "</td><td class='l'>");
        esc(t, d->driver);
        clr_text_printf(t, "</td><td class='l'>");
        esc(t, d->platform);
        clr_text_printf(t, "</td><td class='l'>");
        esc(t, d->op);
        clr_text_printf(t, "</td><td class='l'><a href='#doc-%zu'>", i);
        esc(t, d->name);
        clr_text_printf(t, "</a></td><td data-v='%zu'>%zu</td><td class='l'><code>", d->ncases, d->ncases);
        esc(t, d->path);
        clr_text_printf(t, "</code></td></tr>");
    }
    clr_text_printf(t, "</tbody></table></details></section>\n");
}

/* ---------------------------------------------------------------- agreement between devices */

typedef struct pair_count {
    size_t common, same;
} pair_count;

/* Per (run, strategy) measured on two or more devices, and per device pair: the share of the
 * cases both measured with identical bits; and on all devices at once. */
static int agreement(report *r)
{
    clr_text *t = r->t;
    const clr_comparison *cmp = r->cmp;
    size_t nm = cmp->nmatches, ndev = r->ndev;
    if (ndev < 2 || !nm)
        return 0;
    key2 *keys = malloc(nm * sizeof *keys);
    size_t *ids = malloc(nm * sizeof *ids), *first = malloc(nm * sizeof *first);
    size_t *mrow = grab(r, nm, sizeof *mrow);
    unsigned char *pair_used = grab(r, ndev * ndev, 1);
    size_t per_dev[CLR_COMPARE_MAX_DOCS];
    if (!keys || !ids || !first || !mrow || !pair_used) {
        free(keys);
        free(ids);
        free(first);
        r->oom = 1;
        return 0;
    }
    size_t nkeys = 0;
    for (size_t m = 0; m < nm; ++m) {
        const clr_match *mt = &cmp->matches[m];
        size_t d0;
        mrow[m] = SIZE_MAX;
        if (match_devices(r, mt, per_dev) < 2)
            continue;
        match_row(r, mt, &d0);
        keys[nkeys] = (key2){mt->run, mt->cases[d0]->strategy, 0};
        mrow[m] = nkeys++;
        for (size_t a = 0; a < ndev; ++a)
            for (size_t b = a + 1; b < ndev; ++b)
                if (per_dev[a] != SIZE_MAX && per_dev[b] != SIZE_MAX)
                    pair_used[a * ndev + b] = 1;
    }
    size_t nrows = intern(keys, nkeys, ids, first);
    free(keys);
    size_t pairs[CLR_COMPARE_MAX_DOCS * 2], npairs = 0; /* shown pairs: a * ndev + b, at most 64 */
    for (size_t a = 0; a < ndev; ++a)
        for (size_t b = a + 1; b < ndev; ++b)
            if (pair_used[a * ndev + b] && npairs < CLR_COMPARE_MAX_DOCS * 2)
                pairs[npairs++] = a * ndev + b;
    size_t ncols = npairs + 1; /* the last: all devices */
    pair_count *counts = grab(r, nrows * ncols, sizeof *counts);
    const char **row_run = grab(r, nrows, sizeof *row_run), **row_strategy = grab(r, nrows, sizeof *row_strategy);
    if (!nrows || !counts || !row_run || !row_strategy) {
        free(ids);
        free(first);
        return 0;
    }
    for (size_t m = 0; m < nm; ++m) {
        if (mrow[m] == SIZE_MAX)
            continue;
        const clr_match *mt = &cmp->matches[m];
        size_t row = ids[mrow[m]], d0;
        match_devices(r, mt, per_dev);
        if (!row_run[row]) {
            match_row(r, mt, &d0);
            row_run[row] = mt->run;
            row_strategy[row] = mt->cases[d0]->strategy;
        }
        int all = 1, group = -1;
        for (size_t p = 0; p < npairs; ++p) {
            size_t a = pairs[p] / ndev, b = pairs[p] % ndev;
            if (per_dev[a] == SIZE_MAX || per_dev[b] == SIZE_MAX)
                continue;
            int same = mt->group_of[per_dev[a]] == mt->group_of[per_dev[b]];
            counts[row * ncols + p].common++;
            counts[row * ncols + p].same += same;
        }
        for (size_t k = 0; k < ndev; ++k)
            if (per_dev[k] != SIZE_MAX) {
                all &= group < 0 || mt->group_of[per_dev[k]] == group;
                group = mt->group_of[per_dev[k]];
            }
        counts[row * ncols + npairs].common++;
        counts[row * ncols + npairs].same += all;
    }
    free(ids);
    free(first);

    /* rows grouped by run (in order of first appearance), then in their own order */
    size_t *order = grab(r, nrows, sizeof *order), *run_id = grab(r, nrows, sizeof *run_id);
    size_t *run_first = grab(r, nrows, sizeof *run_first);
    key2 *rk = grab(r, nrows, sizeof *rk);
    ckey *ok = grab(r, nrows, sizeof *ok);
    if (!order || !run_id || !run_first || !rk || !ok)
        return 0;
    for (size_t i = 0; i < nrows; ++i)
        rk[i] = (key2){row_run[i], "", 0};
    intern(rk, nrows, run_id, run_first);
    for (size_t i = 0; i < nrows; ++i)
        ok[i] = (ckey){run_id[i], i, 0, i};
    qsort(ok, nrows, sizeof *ok, cmp_ckey);
    for (size_t i = 0; i < nrows; ++i)
        order[i] = ok[i].i;
    double wrun = 40, wstrat = 60;
    for (size_t i = 0; i < nrows; ++i) {
        wrun = fmax(wrun, fmin(text_width(row_run[i], 11), 260));
        wstrat = fmax(wstrat, fmin(text_width(row_strategy[i], 11), 260));
    }
    const double cw = 74, ch = 20, T = 58;
    double L = 10 + wrun + 12 + wstrat + 10, W = fmax(L + cw * (double)ncols + 10, 560);
    double H = T + ch * (double)nrows + 20 + 16 * (double)ndev + 10;
    clr_text_printf(t, "<section id='agreement'><h2>Agreement between devices</h2><p>For each run and strategy measured "
                       "on two or more devices: the share of the cases both devices measured in which their outputs "
                       "are bit-identical (the first document of each device), per device pair and on all devices at "
                       "once. Hover a cell for the counts.</p>");
    clr_text_printf(t, "<figure>");
    svg_open(t, W, H, "cross-device agreement per strategy");
    clr_text_printf(t, "<text x='10' y='16' class='title'>Identical bits across devices, per strategy (%% of common "
                       "cases)</text>");
    clr_text_printf(t, "<text x='10' y='%.0f' class='label'>run</text><text x='%.0f' y='%.0f' class='label'>strategy"
                       "</text>", T - 8, 10 + wrun + 12, T - 8);
    for (size_t p = 0; p < ncols; ++p) {
        double x = L + cw * (double)p + cw / 2;
        if (p < npairs)
            clr_text_printf(t, "<text x='%.0f' y='%.0f' class='label' text-anchor='middle'>D%zu \xC2\xB7 D%zu</text>", x,
                            T - 8, pairs[p] / ndev + 1, pairs[p] % ndev + 1);
        else
            clr_text_printf(t, "<text x='%.0f' y='%.0f' class='label' text-anchor='middle'>all devices</text>", x, T - 8);
    }
    for (size_t q = 0; q < nrows; ++q) {
        size_t row = order[q];
        double y = T + ch * (double)q;
        int first_of_run = q == 0 || strcmp(row_run[order[q - 1]], row_run[row]) != 0;
        if (first_of_run) {
            clr_text_printf(t, "<line x1='10' y1='%.1f' x2='%.0f' y2='%.1f' class='sep'/><text x='10' y='%.0f' "
                               "class='tick'>", y - 1, W - 10, y - 1, y + 14);
            esc(t, row_run[row]);
            clr_text_printf(t, "</text>");
        }
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick'>", 10 + wrun + 12, y + 14);
        esc(t, row_strategy[row]);
        clr_text_printf(t, "</text>");
        for (size_t p = 0; p < ncols; ++p) {
            const pair_count *c = &counts[row * ncols + p];
            double x = L + cw * (double)p;
            if (!c->common) {
                clr_text_printf(t, "<rect class='mk' x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='#fff' "
                                   "stroke='#ccc'><title>", x, y + 1, cw - 2, ch - 2);
                esc(t, row_run[row]);
                clr_text_printf(t, ", ");
                esc(t, row_strategy[row]);
                clr_text_printf(t, ": no case in common</title></rect><text x='%.0f' y='%.0f' class='cell' "
                                   "text-anchor='middle'>\xE2\x80\x93</text>", x + cw / 2, y + 14);
                continue;
            }
            double pct = 100.0 * (double)c->same / (double)c->common;
            int light = (int)(245 - 1.6 * pct);
            clr_text_printf(t, "<rect class='mk' x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='rgb(%d,%d,%d)'><title>",
                            x, y + 1, cw - 2, ch - 2, light, light + 5 > 255 ? 255 : light + 5, 255);
            esc(t, row_run[row]);
            clr_text_printf(t, ", ");
            esc(t, row_strategy[row]);
            if (p < npairs) {
                clr_text_printf(t, ", D%zu ", pairs[p] / ndev + 1);
                device_name(t, r, pairs[p] / ndev);
                clr_text_printf(t, " and D%zu ", pairs[p] % ndev + 1);
                device_name(t, r, pairs[p] % ndev);
            } else {
                clr_text_printf(t, ", all devices that measured it");
            }
            clr_text_printf(t, ": %zu of %zu common cases bit-identical (%.1f%%)</title></rect><text x='%.0f' y='%.0f' "
                               "class='cell' text-anchor='middle' fill='%s'>%.0f%% (%zu)</text>",
                            c->same, c->common, pct, x + cw / 2, y + 14, light < 130 ? "white" : "black", pct, c->common);
        }
    }
    double ky = T + ch * (double)nrows + 20;
    for (size_t k = 0; k < ndev; ++k) {
        clr_text_printf(t, "<text x='10' y='%.0f' class='legend'>D%zu: ", ky + 16 * (double)k, k + 1);
        device_name(t, r, k);
        clr_text_printf(t, " (");
        esc(t, cmp->docs[r->dev_doc[k]].platform);
        clr_text_printf(t, ")</text>");
    }
    clr_text_printf(t, "</svg></figure>\n<details><summary>The counts (table; click a column header to sort)</summary>"
                       "<table class='sortable'><thead><tr><th class='l'>run</th><th class='l'>strategy</th>");
    for (size_t p = 0; p < ncols; ++p)
        if (p < npairs)
            clr_text_printf(t, "<th>D%zu \xC2\xB7 D%zu</th>", pairs[p] / ndev + 1, pairs[p] % ndev + 1);
        else
            clr_text_printf(t, "<th>all devices</th>");
    clr_text_printf(t, "</tr></thead><tbody>");
    for (size_t q = 0; q < nrows; ++q) {
        size_t row = order[q];
        clr_text_printf(t, "<tr><td class='l'>");
        esc(t, row_run[row]);
        clr_text_printf(t, "</td><td class='l'>");
        esc(t, row_strategy[row]);
        clr_text_printf(t, "</td>");
        for (size_t p = 0; p < ncols; ++p) {
            const pair_count *c = &counts[row * ncols + p];
            if (c->common)
                clr_text_printf(t, "<td data-v='%.4f'>%zu/%zu</td>", (double)c->same / (double)c->common, c->same,
                                c->common);
            else
                clr_text_printf(t, "<td>\xE2\x80\x93</td>");
        }
        clr_text_printf(t, "</tr>");
    }
    clr_text_printf(t, "</tbody></table></details></section>\n");
    return 1;
}

/* ---------------------------------------------------------------- one document */

/* The ulp scale every heatmap of every report shares: 0 (bit-identical), then one colour per
 * decade from 1 to 10^6 and above. */
static const char *const ulp_fills[] = {"#ffffff", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#993404",
                                        "#662506"};
static const char *const ulp_bin_names[] = {"0 (=)", "1\xE2\x80\x93" "9", "10\xE2\x80\x93" "99", "100\xE2\x80\x93" "999",
                                            "1e3\xE2\x80\x93" "1e4", "1e4\xE2\x80\x93" "1e5", "1e5\xE2\x80\x93" "1e6",
                                            "\xE2\x89\xA5" "1e6"};

static int ulp_bin(int64_t u)
{
    int bin = 0;
    for (int64_t v = u; v > 0 && bin < 7; v /= 10)
        bin++;
    return bin;
}

static void ulp_text(clr_text *t, int64_t u)
{
    if (u < 100000)
        clr_text_printf(t, "%lld", (long long)u);
    else {
        int e = (int)floor(log10((double)u));
        double m = round((double)u / pow(10, e) * 10) / 10;
        if (m >= 10)
            m /= 10, e++;
        clr_text_printf(t, "%.1fe%d", m, e);
    }
}

/* (strategy, shape) x batch: the largest ulp distance of the probe from the smallest batch, over
 * every position. */
static void heatmap(report *r, size_t di)
{
    clr_text *t = r->t;
    const clr_rdoc *d = &r->cmp->docs[di];
    const docx *x = &r->dx[di];
    size_t nx = x->nbatch;
    /* rows: runs of by_strat with one (strategy, shape) */
    size_t nrows = 0;
    double ws = 50, wsh = 40;
    for (size_t k = 0; k < d->ncases; ++k) {
        size_t i = x->by_strat[k];
        if (k == 0 || x->cstrat[i] != x->cstrat[x->by_strat[k - 1]] || x->cshape[i] != x->cshape[x->by_strat[k - 1]]) {
            nrows++;
            ws = fmax(ws, fmin(text_width(d->cases[i].strategy, 10), 240));
            wsh = fmax(wsh, fmin(text_width(d->cases[i].shape, 10), 320));
        }
    }
    const double cw = 46, ch = 17, T = 60;
    double L = 8 + ws + 10 + wsh + 8, W = fmax(L + cw * (double)nx + 10, 470), H = T + ch * (double)nrows + 58;
    clr_text_printf(t, "<figure class='heat'>");
    svg_open(t, W, H, "batch invariance heatmap");
    clr_text_printf(t, "<text x='8' y='16' class='title'>Batch invariance: max ulp of the probe against the smallest "
                       "batch</text><text x='8' y='%.0f' class='label'>strategy</text><text x='%.0f' y='%.0f' "
                       "class='label'>shape</text><text x='%.0f' y='%.0f' class='label' text-anchor='middle'>batch size ",
                    T - 6, 8 + ws + 10, T - 6, L + cw * (double)nx / 2, T - 22);
    esc(t, d->batch_name);
    clr_text_printf(t, "</text>");
    for (size_t j = 0; j < nx; ++j)
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick' text-anchor='middle'>%.0f</text>",
                        L + cw * (double)j + cw / 2, T - 6, x->batches[j]);
    int64_t *v = malloc((nx ? nx : 1) * sizeof *v);
    if (!v) {
        r->oom = 1;
        return;
    }
    size_t row = 0;
    for (size_t k = 0; k < d->ncases;) {
        size_t i0 = x->by_strat[k], e = k;
        while (e < d->ncases && x->cstrat[x->by_strat[e]] == x->cstrat[i0] && x->cshape[x->by_strat[e]] == x->cshape[i0])
            ++e;
        for (size_t j = 0; j < nx; ++j)
            v[j] = -2; /* not run */
        for (size_t q = k; q < e; ++q) {
            const clr_rcase *c = &d->cases[x->by_strat[q]];
            size_t j = batch_column(x, c->batch);
            if (c->skipped || j == nx)
                continue;
            if (v[j] == -2)
                v[j] = -1; /* run; unknown until a position says */
            for (size_t p = 0; p < c->npositions; ++p)
                if (c->positions[p].max_ulp_vs_base > v[j])
                    v[j] = c->positions[p].max_ulp_vs_base;
        }
        double y = T + ch * (double)row;
        int first = k == 0 || x->cstrat[x->by_strat[k - 1]] != x->cstrat[i0];
        if (first) {
            clr_text_printf(t, "<line x1='8' y1='%.1f' x2='%.0f' y2='%.1f' class='sep'/><text x='8' y='%.0f' "
                               "class='tick'>", y, L + cw * (double)nx, y, y + 12);
            esc(t, d->cases[i0].strategy);
            clr_text_printf(t, "</text>");
        }
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick'>", 8 + ws + 10, y + 12);
        esc(t, d->cases[i0].shape);
        clr_text_printf(t, "</text>");
        for (size_t j = 0; j < nx; ++j) {
            double cx = L + cw * (double)j;
            int64_t u = v[j];
            if (u == -2)
                continue;
            int bin = u >= 0 ? ulp_bin(u) : -1;
            clr_text_printf(t, "<rect class='mk' x='%.0f' y='%.1f' width='%.0f' height='%.0f' fill='%s' stroke='%s'>"
                               "<title>", cx + 1, y + 1, cw - 2, ch - 2, bin >= 0 ? ulp_fills[bin] : "#e6e6e6",
                            bin == 0 ? "#111" : "none");
            esc(t, d->cases[i0].strategy);
            clr_text_printf(t, "; ");
            esc(t, d->cases[i0].shape);
            clr_text_printf(t, "; ");
            esc(t, d->batch_name);
            clr_text_printf(t, " %.0f: ", x->batches[j]);
            if (u > 0)
                clr_text_printf(t, "%lld ulp from the smallest batch", (long long)u);
            else if (u == 0)
                clr_text_printf(t, "bit-identical to the smallest batch (0 ulp)");
            else
                clr_text_printf(t, "unknown (no probe position measured)");
            clr_text_printf(t, "</title></rect><text x='%.0f' y='%.1f' class='cell' text-anchor='middle' fill='%s'>",
                            cx + cw / 2, y + 12, bin >= 5 ? "white" : "black");
            if (u > 0)
                ulp_text(t, u);
            else
                clr_text_printf(t, "%s", u == 0 ? "=" : "?");
            clr_text_printf(t, "</text>");
        }
        row++;
        k = e;
    }
    free(v);
    /* the shared scale */
    double ly = T + ch * (double)nrows + 14;
    clr_text_printf(t, "<text x='8' y='%.0f' class='legend'>ulp (one scale for the whole report); empty: not run; "
                       "?: unknown</text>", ly + 8);
    for (int b = 0; b < 8; ++b) {
        double lx = 8 + 56.0 * b;
        clr_text_printf(t, "<rect x='%.0f' y='%.0f' width='52' height='10' fill='%s' stroke='#999'/><text x='%.0f' "
                           "y='%.0f' class='tick'>%s</text>", lx, ly + 16, ulp_fills[b], lx, ly + 37, ulp_bin_names[b]);
    }
    clr_text_printf(t, "</svg></figure>\n");
}

/* Per strategy: the largest number of distinct outputs in one case's trials. */
static void run_to_run(report *r, size_t di)
{
    clr_text *t = r->t;
    const clr_rdoc *d = &r->cmp->docs[di];
    const docx *x = &r->dx[di];
    size_t ns = x->nstrat, *worst = malloc((ns ? ns : 1) * sizeof *worst), *count = calloc(ns ? ns : 1, sizeof *count);
    if (!worst || !count) {
        free(worst);
        free(count);
        r->oom = 1;
        return;
    }
    double top = 1;
    for (size_t s = 0; s < ns; ++s)
        worst[s] = SIZE_MAX;
    for (size_t i = 0; i < d->ncases; ++i) {
        const clr_rcase *c = &d->cases[i];
        size_t s = x->cstrat[i];
        if (c->skipped || !c->trials)
            continue;
        count[s]++;
        if (worst[s] == SIZE_MAX || c->r2r_distinct > d->cases[worst[s]].r2r_distinct)
            worst[s] = i;
        top = fmax(top, (double)c->trials);
    }
    double wl = 50;
    for (size_t s = 0; s < ns; ++s)
        wl = fmax(wl, fmin(text_width(x->strat[s], 10), 240));
    const double rowh = 18, T = 30, W = 460, R = 34;
    double L = 8 + wl + 8, H = T + rowh * (double)ns + 40;
    axis a;
    axis_linear(&a, 0, top, 1);
    clr_text_printf(t, "<figure class='r2r'>");
    svg_open(t, W, H, "run-to-run distinct outputs");
    clr_text_printf(t, "<text x='8' y='16' class='title'>Run to run: distinct outputs (1 = deterministic)</text>");
    for (size_t k = 0; k < a.nticks; ++k) {
        double px = axis_pos(&a, a.tick[k], L, W - R);
        clr_text_printf(t, "<line x1='%.1f' y1='%.0f' x2='%.1f' y2='%.0f' class='grid-line'/><text x='%.1f' y='%.0f' "
                           "class='tick' text-anchor='middle'>", px, T, px, T + rowh * (double)ns, px,
                        T + rowh * (double)ns + 12);
        tick_label(t, a.tick[k]);
        clr_text_printf(t, "</text>");
    }
    for (size_t s = 0; s < ns; ++s) {
        double y = T + rowh * (double)s;
        clr_text_printf(t, "<text x='%.0f' y='%.0f' class='tick' text-anchor='end'>", L - 6, y + 12);
        esc(t, x->strat[s]);
        clr_text_printf(t, "</text>");
        if (worst[s] == SIZE_MAX)
            continue;
        const clr_rcase *c = &d->cases[worst[s]];
        double w = axis_pos(&a, (double)c->r2r_distinct, L, W - R) - L;
        clr_text_printf(t, "<rect class='mk' x='%.0f' y='%.0f' width='%.1f' height='%.0f' fill='%s' stroke='#111'>"
                           "<title>", L, y + 3, w, rowh - 6, c->r2r_distinct > 1 ? "#c0392b" : "#cfeccf");
        esc(t, x->strat[s]);
        clr_text_printf(t, ": at most %zu distinct outputs in %zu trials (%zu cases); worst at ", c->r2r_distinct,
                        c->trials, count[s]);
        esc(t, c->shape);
        clr_text_printf(t, "; ");
        esc(t, d->batch_name);
        clr_text_printf(t, " %zu</title></rect><text x='%.1f' y='%.0f' class='cell'>%zu</text>", c->batch, L + w + 4,
                        y + 12, c->r2r_distinct);
    }
    clr_text_printf(t, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' class='axis'/><text x='%.0f' y='%.0f' "
                       "class='label' text-anchor='middle'>distinct outputs, max over cases (count)</text></svg>"
                       "</figure>\n", L, T, L, T + rowh * (double)ns, (L + W) / 2, H - 6);
    free(worst);
    free(count);
}

/* Throughput and overhead at every shape: small multiples, one axis per quantity for the whole
 * document. */
static void shape_charts(report *r, size_t di)
{
    clr_text *t = r->t;
    const clr_rdoc *d = &r->cmp->docs[di];
    const docx *x = &r->dx[di];
    size_t ns = x->nstrat < MAX_SERIES ? x->nstrat : MAX_SERIES;
    double tmin = INFINITY, tmax = -INFINITY, omin = INFINITY, omax = -INFINITY, maxgroup = 0;
    int any_roof = 0;
    for (size_t i = 0; i < d->ncases; ++i) {
        const clr_rcase *c = &d->cases[i];
        if (!charted(c) || x->cstrat[i] >= ns)
            continue;
        double tp = x->flops ? c->gflops : c->gbps;
        if (isfinite(tp) && tp > 0)
            tmin = fmin(tmin, tp), tmax = fmax(tmax, tp);
        if (!x->flops && isfinite(c->copy_gbps) && c->copy_gbps > 0) {
            tmin = fmin(tmin, c->copy_gbps), tmax = fmax(tmax, c->copy_gbps);
            any_roof = 1;
        }
        if (isfinite(c->overhead) && c->overhead > 0)
            omin = fmin(omin, c->overhead), omax = fmax(omax, c->overhead);
    }
    for (size_t k = 0; k < d->ncases;) {
        size_t e = k;
        while (e < d->ncases && x->cshape[x->by_shape[e]] == x->cshape[x->by_shape[k]])
            ++e;
        maxgroup = fmax(maxgroup, (double)(e - k));
        k = e;
    }
    if (!isfinite(tmin) && !isfinite(omin))
        return;
    axis ty, oy;
    axis_log(&ty, tmin, tmax);
    axis_log(&oy, fmin(omin, 1), omax);
    const char *names[MAX_SERIES];
    size_t styles[MAX_SERIES];
    for (size_t s = 0; s < ns; ++s) {
        names[s] = x->strat[s];
        styles[s] = r->row_style[x->row[s]];
    }
    clr_text_printf(t, "<h3>Throughput (%s, log scale) and overhead (\xC3\x97 the fastest, log scale) at every "
                       "shape</h3>%s", x->flops ? "GFLOP/s" : "GB/s",
                    x->nstrat > ns ? "<p class='meta'>The first 16 strategies are charted; the table has them all.</p>"
                                   : "");
    legend_strip(t, names, styles, ns, any_roof ? roof_label(d) : NULL, 1);
    clr_text_printf(t, "<div class='grid'>");
    size_t cap = (size_t)maxgroup;
    double *xs = malloc((cap ? cap : 1) * sizeof *xs), *roof = malloc((cap ? cap : 1) * sizeof *roof);
    double *tv = malloc((cap ? cap : 1) * ns * sizeof *tv), *ov = malloc((cap ? cap : 1) * ns * sizeof *ov);
    if (!xs || !roof || !tv || !ov) {
        free(xs);
        free(roof);
        free(tv);
        free(ov);
        r->oom = 1;
        return;
    }
    clr_text xlabel = {0};
    clr_text_printf(&xlabel, "batch size %s", d->batch_name);
    for (size_t k = 0; k < d->ncases && !xlabel.failed;) {
        size_t e = k, shape = x->cshape[x->by_shape[k]], nx = 0;
        while (e < d->ncases && x->cshape[x->by_shape[e]] == shape)
            ++e;
        /* the batches of this shape: by_shape is sorted by batch within a shape */
        for (size_t q = k; q < e; ++q) {
            double b = (double)d->cases[x->by_shape[q]].batch;
            if (!nx || xs[nx - 1] != b)
                xs[nx++] = b;
        }
        for (size_t j = 0; j < nx; ++j)
            roof[j] = NAN;
        for (size_t j = 0; j < nx * ns; ++j)
            tv[j] = ov[j] = NAN;
        int any = 0;
        for (size_t q = k, j = 0; q < e; ++q) {
            const clr_rcase *c = &d->cases[x->by_shape[q]];
            while (xs[j] != (double)c->batch)
                ++j;
            size_t s = x->cstrat[x->by_shape[q]];
            if (!charted(c) || s >= ns)
                continue;
            any = 1;
            tv[s * nx + j] = x->flops ? c->gflops : c->gbps;
            ov[s * nx + j] = c->overhead;
            if (!x->flops && isfinite(c->copy_gbps) && c->copy_gbps > 0)
                roof[j] = isfinite(roof[j]) ? fmax(roof[j], c->copy_gbps) : c->copy_gbps;
        }
        if (any) {
            clr_text_printf(t, "<div class='pair'><p class='shape'>");
            esc(t, x->shape[shape]);
            clr_text_printf(t, "</p>");
            line_series series[MAX_SERIES];
            line_series oseries[MAX_SERIES];
            for (size_t s = 0; s < ns; ++s) {
                series[s] = (line_series){names[s], styles[s], tv + s * nx};
                oseries[s] = (line_series){names[s], styles[s], ov + s * nx};
            }
            line_spec sp = {x->flops ? "throughput (GFLOP/s)" : "throughput (GB/s)", xlabel.buf,
                            x->flops ? "GFLOP/s" : "GB/s", x->flops ? "GFLOP/s" : "GB/s",
                            x->shape[shape], d->batch_name, "thr", xs, nx, &ty, x->flops ? NULL : roof, roof_label(d), 0,
                            290, 195};
            line_chart(t, &sp, series, ns);
            line_spec so = {"overhead (\xC3\x97 the fastest)", xlabel.buf, "overhead (\xC3\x97)", "\xC3\x97 the fastest",
                            x->shape[shape], d->batch_name, "ovh", xs, nx, &oy, NULL, NULL, 1, 290, 195};
            line_chart(t, &so, oseries, ns);
            clr_text_printf(t, "</div>");
        }
        k = e;
    }
    t->failed |= xlabel.failed;
    free(xlabel.buf);
    clr_text_printf(t, "</div>\n");
    free(xs);
    free(roof);
    free(tv);
    free(ov);
}

/* Attention: distinct probe outputs across batch sizes against the KV length. */
static void kv_lengths(report *r, size_t di)
{
    clr_text *t = r->t;
    const clr_rdoc *d = &r->cmp->docs[di];
    const docx *x = &r->dx[di];
    if (strcmp(d->op, "attention"))
        return;
    size_t ns = x->nstrat < MAX_SERIES ? x->nstrat : MAX_SERIES;
    double *ls = malloc((d->ncases ? d->ncases : 1) * sizeof *ls);
    if (!ls) {
        r->oom = 1;
        return;
    }
    size_t nl = 0;
    for (size_t i = 0; i < d->ncases; ++i)
        if (d->cases[i].kv_len > 0)
            ls[nl++] = d->cases[i].kv_len;
    qsort(ls, nl, sizeof *ls, cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < nl; ++i)
        if (!u || ls[u - 1] != ls[i])
            ls[u++] = ls[i];
    nl = u;
    double *v = nl > 1 ? malloc(nl * ns * sizeof *v) : NULL;
    if (nl <= 1 || !v) {
        r->oom |= nl > 1;
        free(ls);
        return;
    }
    for (size_t j = 0; j < nl * ns; ++j)
        v[j] = NAN;
    double top = 1;
    for (size_t i = 0; i < d->ncases; ++i) {
        const clr_rcase *c = &d->cases[i];
        size_t s = x->cstrat[i];
        if (c->skipped || !c->batch_distinct || s >= ns || !(c->kv_len > 0))
            continue;
        size_t j = (size_t)((const double *)bsearch(&c->kv_len, ls, nl, sizeof *ls, cmp_double) - ls);
        v[s * nl + j] = isfinite(v[s * nl + j]) ? fmax(v[s * nl + j], (double)c->batch_distinct) : (double)c->batch_distinct;
        top = fmax(top, (double)c->batch_distinct);
    }
    axis a;
    axis_linear(&a, 0, top, 1);
    line_series series[MAX_SERIES];
    const char *names[MAX_SERIES];
    size_t styles[MAX_SERIES];
    for (size_t s = 0; s < ns; ++s) {
        names[s] = x->strat[s];
        styles[s] = r->row_style[x->row[s]];
        series[s] = (line_series){names[s], styles[s], v + s * nl};
    }
    clr_text_printf(t, "<h3>Batch variance against the KV length</h3>");
    legend_strip(t, names, styles, ns, NULL, 0);
    line_spec sp = {"Distinct probe outputs across batch sizes, by KV length", "KV length (tokens)",
                    "distinct outputs", "distinct outputs across batch sizes", "max over the other dimensions",
                    "kv-len", "kv", ls, nl, &a, NULL, NULL, 0, 620, 260};
    line_chart(t, &sp, series, ns);
    free(v);
    free(ls);
}

/* Every case, sortable. */
static void case_table(report *r, size_t di)
{
    clr_text *t = r->t;
    const clr_rdoc *d = &r->cmp->docs[di];
    const docx *x = &r->dx[di];
    clr_text_printf(t, "<details><summary>All %zu cases (click a column header to sort)</summary><table class='sortable'>"
                       "<thead><tr><th class='l'>strategy</th><th class='l'>shape</th><th>", d->ncases);
    esc(t, d->batch_name);
    clr_text_printf(t, "</th><th class='l'>status</th><th>median time (\xC2\xB5s)</th><th>GB/s</th><th>GFLOP/s</th>"
                       "<th>roof GB/s</th><th>overhead (\xC3\x97)</th><th>run to run: distinct / trials</th>"
                       "<th>batch: max ulp</th><th>accuracy</th></tr></thead><tbody>");
    for (size_t k = 0; k < d->ncases; ++k) {
        size_t i = x->by_strat[k];
        const clr_rcase *c = &d->cases[i];
        clr_text_printf(t, "<tr><td class='l'>");
        esc(t, c->strategy);
        clr_text_printf(t, "</td><td class='l'>");
        esc(t, c->shape);
        clr_text_printf(t, "</td><td data-v='%zu'>%zu</td><td class='l'>%s</td>", c->batch, c->batch,
                        c->skipped ? "skipped" : c->valid ? "measured" : "invalid");
        const double vals[5] = {c->median_s * 1e6, c->gbps, c->gflops, c->copy_gbps, c->overhead};
        for (int q = 0; q < 5; ++q) {
            if (isfinite(vals[q]) && !c->skipped) {
                clr_text_printf(t, "<td data-v='%.9g'>", vals[q]);
                num(t, vals[q]);
                clr_text_printf(t, "</td>");
            } else {
                clr_text_printf(t, "<td>\xE2\x80\x93</td>");
            }
        }
        if (c->trials && !c->skipped)
            clr_text_printf(t, "<td data-v='%zu'>%zu / %zu</td>", c->r2r_distinct, c->r2r_distinct, c->trials);
        else
            clr_text_printf(t, "<td>\xE2\x80\x93</td>");
        if (c->batch_distinct && c->batch_max_ulp >= 0)
            clr_text_printf(t, "<td data-v='%lld'>%lld</td>", (long long)c->batch_max_ulp, (long long)c->batch_max_ulp);
        else
            clr_text_printf(t, "<td>\xE2\x80\x93</td>");
        if (isfinite(c->accuracy_scaled_u) && !c->skipped) {
            clr_text_printf(t, "<td data-v='%.9g'>", c->accuracy_scaled_u);
            num(t, c->accuracy_scaled_u);
            clr_text_printf(t, " u</td>");
        } else if (c->accuracy_max_ulp >= 0 && !c->skipped) {
            clr_text_printf(t, "<td data-v='%lld'>%lld ulp</td>", (long long)c->accuracy_max_ulp,
                            (long long)c->accuracy_max_ulp);
        } else {
            clr_text_printf(t, "<td>\xE2\x80\x93</td>");
        }
        clr_text_printf(t, "</tr>\n");
    }
    clr_text_printf(t, "</tbody></table></details>\n");
}

/* What invariance costs over every case (clr_invariance_costs): a sortable table. */
static void invariance_cost(report *r)
{
    clr_text *t = r->t;
    size_t n = 0;
    clr_cost_row *rows = clr_invariance_costs(r->cmp, &n);
    if (!rows) {
        t->failed = 1;
        return;
    }
    if (n) {
        clr_text_printf(t, "<section id='cost'><h2>What invariance costs, over every case</h2><p class='meta'>Per "
                           "strategy that claims batch or device invariance in its document, and per device: time / "
                           "the fastest strategy's time at the same shape and batch, over every valid case of these "
                           "documents. serial and attention's single are the one-work-item and one-work-group "
                           "references. Click a header to sort.</p><table class='sortable'><thead><tr><th>operation"
                           "</th><th>strategy</th><th>device</th><th>driver</th><th>cases</th><th>min</th>"
                           "<th>median</th><th>max</th></tr></thead><tbody>");
        for (size_t i = 0; i < n; ++i) {
            const clr_cost_row *c = &rows[i];
            clr_text_printf(t, "<tr><td>");
            esc(t, c->op);
            clr_text_printf(t, "</td><td>");
            esc(t, c->strategy);
            clr_text_printf(t, "</td><td>");
            esc(t, c->device);
            clr_text_printf(t, "</td><td>");
            esc(t, c->driver);
            clr_text_printf(t, "</td><td data-v='%zu'>%zu</td><td data-v='%.6g'>%.2f\xC3\x97</td><td data-v='%.6g'>"
                               "%.2f\xC3\x97</td><td data-v='%.6g'>%.2f\xC3\x97</td></tr>",
                            c->cases, c->cases, c->min, c->min, c->median, c->median, c->max, c->max);
        }
        clr_text_printf(t, "</tbody></table></section>\n");
    }
    free(rows);
}

/* Where each strategy's probe bits change with the batch (switch_points[] of the document). */
static void switch_points(report *r, size_t di)
{
    clr_text *t = r->t;
    const clr_rdoc *d = &r->cmp->docs[di];
    if (d->nswitches == 0)
        return;
    clr_text_printf(t, "<h3>Where the bits change with ");
    esc(t, d->batch_name);
    clr_text_printf(t, "</h3><table class='sortable'><thead><tr><th>strategy</th><th>shape</th>"
                       "<th>sizes measured</th><th>changes</th><th>the probe's bits</th></tr></thead><tbody>");
    for (size_t i = 0; i < d->nswitches; ++i) {
        const clr_rswitch *sw = &d->switches[i];
        clr_text_printf(t, "<tr><td>");
        esc(t, sw->strategy);
        clr_text_printf(t, "</td><td>");
        esc(t, sw->shape);
        clr_text_printf(t, "</td><td data-v='%zu'>%zu</td><td data-v='%zu'>%zu</td><td>", sw->measured, sw->measured,
                        sw->changes_total, sw->changes_total);
        esc(t, sw->text);
        clr_text_printf(t, "</td></tr>");
    }
    clr_text_printf(t, "</tbody></table>\n");
}

static void document_section(report *r, size_t di)
{
    clr_text *t = r->t;
    const clr_rdoc *d = &r->cmp->docs[di];
    clr_text_printf(t, "<section id='doc-%zu'><h2>#%zu ", di, di);
    doc_title(t, d);
    clr_text_printf(t, " <a href='#summary' class='meta'>\xE2\x86\x91 summary</a></h2><p class='meta'>D%zu; ",
                    r->dx[di].dev + 1);
    esc(t, d->platform);
    clr_text_printf(t, ", driver ");
    esc(t, d->driver);
    clr_text_printf(t, "; operation ");
    esc(t, d->op);
    clr_text_printf(t, "; %zu cases; started ", d->ncases);
    esc(t, d->started);
    clr_text_printf(t, "; command <code>");
    esc(t, d->command);
    clr_text_printf(t, "</code>; file <code>");
    esc(t, d->path);
    clr_text_printf(t, "</code></p>\n<div class='grid'>");
    heatmap(r, di);
    run_to_run(r, di);
    clr_text_printf(t, "</div>\n");
    shape_charts(r, di);
    kv_lengths(r, di);
    switch_points(r, di);
    case_table(r, di);
    clr_text_printf(t, "</section>\n");
}

/* ---------------------------------------------------------------- decode documents */

/* A figure of a decode document times scale (whole from 100 on, else 3 significant digits;
 * a ratio with 2 decimals), then unit; a dash where the document has null. */
static void decode_figure(clr_text *t, double v, double scale, const char *unit)
{
    if (isnan(v))
        clr_text_printf(t, "\xE2\x80\x93%s", unit[0] == ' ' ? unit : ""); /* wording (" ms; ") stays */
    else if (!strcmp(unit, "\xC3\x97"))
        clr_text_printf(t, "%.2f%s", v * scale, unit);
    else
        clr_text_printf(t, v * scale >= 100 ? "%.0f%s" : "%.3g%s", v * scale, unit);
}

static void decode_agreement(report *r, const clr_dexperiment *x)
{
    clr_text *t = r->t;
    const clr_comparison *cmp = r->cmp;
    clr_text_printf(t, "<table class='sortable'><thead><tr><th class='l'>mode</th><th>devices</th><th>one completion "
                       "on every device</th><th>same reference on every device</th>");
    for (size_t k = 0; k < x->ndocs; ++k) {
        clr_text_printf(t, "<th class='l'>d%zu ", x->docs[k]);
        esc(t, cmp->decode[x->docs[k]].label);
        clr_text_printf(t, ": one completion</th>");
    }
    clr_text_printf(t, "<th class='l'>prompts with more than one completion</th></tr></thead><tbody>");
    for (size_t m = 0; m < x->nmodes; ++m) {
        const clr_dagreement *a = &x->modes[m];
        clr_text_printf(t, "<tr><td class='l'>");
        esc(t, a->mode);
        clr_text_printf(t, "</td><td data-v='%zu'>%zu</td>", a->ndocs, a->ndocs);
        if (a->ndocs)
            clr_text_printf(t, "<td data-v='%zu' class='%s'>%zu/%zu</td><td data-v='%zu' class='%s'>%zu/%zu</td>",
                            a->one_everywhere, a->one_everywhere == a->prompts ? "held" : "varies",
                            a->one_everywhere, a->prompts, a->same_reference,
                            a->same_reference == a->prompts ? "held" : "varies", a->same_reference, a->prompts);
        else
            clr_text_printf(t, "<td class='none'>\xE2\x80\x93</td><td class='none'>\xE2\x80\x93</td>");
        for (size_t k = 0; k < x->ndocs; ++k) {
            size_t doc = x->docs[k], at = SIZE_MAX;
            for (size_t i = 0; i < a->ndocs; ++i)
                if (a->docs[i] == doc)
                    at = i;
            if (at != SIZE_MAX) {
                size_t one = a->runs[at]->one_completion;
                clr_text_printf(t, "<td data-v='%zu' class='%s'>%zu/%zu</td>", one,
                                one == a->prompts ? "held" : "varies", one, a->prompts);
                continue;
            }
            const clr_ddoc *d = &cmp->decode[doc];
            const char *why = NULL;
            for (size_t i = 0; i < d->nmodes; ++i)
                if (!strcmp(d->modes[i].mode, a->mode))
                    why = d->modes[i].not_run;
            clr_text_printf(t, "<td class='untested'>%s", why ? "not run: " : "not in the document");
            esc(t, why);
            clr_text_printf(t, "</td>");
        }
        clr_text_printf(t, "<td class='l'>");
        if (!a->ndocs)
            clr_text_printf(t, "\xE2\x80\x93");
        else if (!a->ndiffering)
            clr_text_printf(t, "none");
        for (size_t i = 0; i < a->ndiffering; ++i)
            clr_text_printf(t, "%s%zu", i ? ", " : "", a->differing[i]);
        clr_text_printf(t, "</td></tr>");
    }
    clr_text_printf(t, "</tbody></table>\n");
}

/* One device's speed: mode x batch, tokens/s with % of the roof and the time against fast. */
static void decode_speed(report *r, size_t doc)
{
    clr_text *t = r->t;
    const clr_ddoc *d = &r->cmp->decode[doc];
    clr_text_printf(t, "<p><b>d%zu ", doc);
    esc(t, d->label);
    clr_text_printf(t, "</b> <span class='meta'>");
    esc(t, d->platform);
    clr_text_printf(t, "; file <code>");
    esc(t, d->path);
    clr_text_printf(t, "</code></span></p><table><thead><tr><th class='l'>mode</th>");
    for (size_t b = 0; b < d->nbatches; ++b)
        clr_text_printf(t, "<th>batch %zu</th>", d->batches[b]);
    clr_text_printf(t, "</tr></thead><tbody>");
    for (size_t m = 0; m < d->nmodes; ++m) {
        const clr_dmode *mode = &d->modes[m];
        clr_text_printf(t, "<tr><td class='l'>");
        esc(t, mode->mode);
        clr_text_printf(t, "</td>");
        if (mode->not_run) {
            clr_text_printf(t, "<td class='l untested' colspan='%zu'>not run: ", d->nbatches);
            esc(t, mode->not_run);
            clr_text_printf(t, "</td></tr>");
            continue;
        }
        for (size_t b = 0; b < d->nbatches; ++b) {
            const clr_dbatch *x = NULL;
            for (size_t i = 0; i < mode->nbatches && !x; ++i)
                if (mode->batches[i].batch == d->batches[b])
                    x = &mode->batches[i];
            if (!x) {
                clr_text_printf(t, "<td class='none'>\xE2\x80\x93</td>");
                continue;
            }
            clr_text_printf(t, "<td title='");
            esc(t, mode->mode);
            clr_text_printf(t, ", batch %zu: ", x->batch);
            decode_figure(t, x->tokens_per_s, 1, " tokens/s; step ");
            decode_figure(t, x->step_ms, 1, " ms; ");
            decode_figure(t, x->roof_fraction, 100, "% of the roof; step time ");
            decode_figure(t, x->overhead_vs_fast, 1, "\xC3\x97");
            clr_text_printf(t, " the fast mode\xE2\x80\x99s' data-v='%.6g'>",
                            isnan(x->tokens_per_s) ? 0 : x->tokens_per_s);
            decode_figure(t, x->tokens_per_s, 1, "");
            clr_text_printf(t, " <small>");
            decode_figure(t, x->roof_fraction, 100, "%");
            clr_text_printf(t, " \xC2\xB7 ");
            decode_figure(t, x->overhead_vs_fast, 1, "\xC3\x97");
            clr_text_printf(t, "</small></td>");
        }
        clr_text_printf(t, "</tr>");
    }
    clr_text_printf(t, "</tbody></table>\n");
}

static void decode_section(report *r)
{
    clr_text *t = r->t;
    const clr_comparison *cmp = r->cmp;
    clr_text_printf(t, "<section id='decode'><h2>Decode: the same tokens across devices?</h2><p class='meta'>Documents "
                       "of <code>clrepro decode</code>, grouped by experiment: only documents of the same model (name "
                       "and configuration), prompts (their token ids), tokens, batches, repeats, seed and activations "
                       "are compared. A completion is known by its fingerprint. Per mode: the prompts whose every run "
                       "(every batch and repeat) on every device gave one completion; the prompts whose reference "
                       "completion (the prompt decoded alone) is the same on every device; per device, the prompts "
                       "with one completion there; and the prompts (numbered from 0) with more than one completion. "
                       "Then per device, per mode and batch: tokens/s at the median step, with the share of the "
                       "roof (the weights read once per step at the bandwidth measured in the same run) and the "
                       "step time against the fast mode's. Hover a cell for its values.</p>\n");
    for (size_t e = 0; e < cmp->nexperiments && !t->failed; ++e) {
        const clr_dexperiment *x = &cmp->experiments[e];
        char *title = clr_decode_experiment_title(&cmp->decode[x->docs[0]]);
        if (!title) {
            t->failed = 1;
            break;
        }
        clr_text_printf(t, "<h3 id='decode-%zu'>Experiment %zu: ", e + 1, e + 1);
        esc(t, title);
        free(title);
        clr_text_printf(t, "</h3><p class='meta'>%zu document%s%s</p>\n", x->ndocs, x->ndocs == 1 ? "" : "s",
                        x->ndocs == 1 ? " (nothing to compare it with)" : "");
        decode_agreement(r, x);
        for (size_t k = 0; k < x->ndocs; ++k)
            decode_speed(r, x->docs[k]);
    }
    clr_text_printf(t, "</section>\n");
}

/* ---------------------------------------------------------------- the page */

char *clr_report_html(const clr_comparison *cmp, clr_error *err)
{
    clr_text t = {0};
    report r = {.t = &t, .cmp = cmp};
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    if (cmp->ndocs == 0) { /* decode documents only */
        clr_text_printf(&t, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                            "<meta http-equiv='Content-Security-Policy' content=\"%s\">"
                            "<title>clrepro report</title><style>%s</style></head><body>\n"
                            "<h1>clrepro %s report</h1><p class='meta'>Generated %s from %zu decode documents.</p>\n",
                        report_csp, clr_report_style, CLREPRO_VERSION, when, cmp->ndecode);
        decode_section(&r);
        clr_text_printf(&t, "<script>%s</script>\n</body></html>\n", clr_report_script);
    } else if (index_all(&r) == 0) {
        clr_text_printf(&t, "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                            "<meta http-equiv='Content-Security-Policy' content=\"%s\">"
                            "<title>clrepro report</title><style>%s</style></head><body>\n"
                            "<h1>clrepro %s report</h1><p class='meta'>Generated %s from %zu results documents on %zu "
                            "devices. Every kernel output in them was validated against a host reference before its "
                            "time was recorded.</p>\n",
                        report_csp, clr_report_style, CLREPRO_VERSION, when, cmp->ndocs, r.ndev);
        summary(&r);
        clr_text agree = {0};
        r.t = &agree;
        int any_agreement = agreement(&r);
        r.t = &t;
        contents(&r, any_agreement);
        invariance_cost(&r);
        broken_claims(&r);
        documents(&r);
        if (agree.buf)
            clr_text_append(&t, agree.buf, agree.len);
        t.failed |= agree.failed;
        free(agree.buf);
        for (size_t p = 0; p < cmp->ndocs && !r.oom && !t.failed; ++p)
            document_section(&r, r.doc_order[p]);
        if (cmp->ndecode)
            decode_section(&r);
        clr_text_printf(&t, "<script>%s</script>\n</body></html>\n", clr_report_script);
    }
    for (size_t i = 0; i < r.nowned; ++i)
        free(r.owned[i]);
    free(r.owned);
    if (t.failed || r.oom) {
        free(t.buf);
        clr_fail(err, CLR_EFAIL, "out of host memory formatting the report");
        return NULL;
    }
    return t.buf;
}
