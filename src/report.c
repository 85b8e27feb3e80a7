/* report.c: the stdout summary of a run, the shared helpers of the writers (the growable text
 * and its escapes for Markdown, CSV and HTML), and the all-or-nothing writing of one device's
 * result files. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "atomic_file.h"
#include "npy.h"
#include "output.h"

void clr_text_printf(clr_text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || t->len + (size_t)need + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)(need > 0 ? need : 0) + 1) * 2 + 256;
        char *grown = need < 0 ? NULL : realloc(t->buf, cap);
        if (!grown) {
            t->failed = 1;
            va_end(ap2);
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap2);
    va_end(ap2);
    t->len += (size_t)need;
}

void clr_text_append(clr_text *t, const char *bytes, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->cap + n + 1) * 2 + 256;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

void clr_text_md(clr_text *t, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        const char *rep = NULL;
        switch (*p) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '~':
            clr_text_append(t, "\\", 1);
            break;
        default:
            if (is_control(*p))
                rep = " ";
        }
        if (rep)
            clr_text_append(t, rep, strlen(rep));
        else
            clr_text_append(t, (const char *)p, 1);
    }
}

void clr_text_md_code(clr_text *t, const char *s)
{
    size_t run = 0, longest = 0, len = strlen(s);
    for (size_t i = 0; i < len; ++i) {
        run = s[i] == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    /* A space inside each fence where the text starts or ends with a backtick or is empty
     * (CommonMark strips one from each side). */
    int pad = len == 0 || s[0] == '`' || s[len - 1] == '`';
    for (size_t i = 0; i <= longest; ++i)
        clr_text_append(t, "`", 1);
    if (pad)
        clr_text_append(t, " ", 1);
    for (size_t i = 0; i < len; ++i)
        clr_text_append(t, is_control((unsigned char)s[i]) ? " " : s + i, 1);
    if (pad)
        clr_text_append(t, " ", 1);
    for (size_t i = 0; i <= longest; ++i)
        clr_text_append(t, "`", 1);
}

void clr_text_csv(clr_text *t, const char *s)
{
    clr_text_append(t, "\"", 1);
    if (s[0] && strchr("=+-@\t\r", s[0]))
        clr_text_append(t, "'", 1);
    for (const char *p = s; *p; ++p) {
        if (*p == '"')
            clr_text_append(t, "\"\"", 2);
        else
            clr_text_append(t, p, 1);
    }
    clr_text_append(t, "\"", 1);
}

void clr_text_html(clr_text *t, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; ++p) {
        const char *rep = NULL;
        switch (*p) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\t': case '\n': break;
        default:
            if (is_control(*p))
                rep = " ";
        }
        if (rep)
            clr_text_append(t, rep, strlen(rep));
        else
            clr_text_append(t, (const char *)p, 1);
    }
}

const clr_variance *clr_find_variance(const clr_device_result *res, size_t strategy, size_t shape_index)
{
    for (size_t i = 0; i < res->nvariance; ++i)
        if (res->variance[i].strategy == strategy && res->variance[i].shape_index == shape_index)
            return &res->variance[i];
    return NULL;
}

void clr_claims_text(unsigned claims, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t len = 0;
    for (unsigned bit = 1; bit < (1u << CLR_NCLAIMS); bit <<= 1)
        if (claims & bit)
            len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? " " : "",
                                    clr_claim_name(bit));
    if (!claims)
        snprintf(buf, size, "none");
}

void clr_print_summary(FILE *out, const clr_run_config *cfg, const clr_device_result *res, const char *dir)
{
    const clr_operation *op = cfg->op;
    char device[1024], platform[1024], driver[1024], shown_dir[1024]; /* driver strings, shown inert */
    clr_escape(res->device.name, device, sizeof device);
    clr_escape(res->device.platform_name, platform, sizeof platform);
    clr_escape(res->device.driver_version, driver, sizeof driver);
    fprintf(out, "\n%s: %s on %s — %s, driver %s (%u CUs), %.1f s\n", cfg->name ? cfg->name : op->name, op->name,
            device, platform, driver, res->device.compute_units, res->wall_seconds);
    fprintf(out, "%-14s %-22s %5s %11s %9s %7s %8s %8s %9s %6s %9s\n", "strategy", "shape", op->batch_name,
            "median ms", "GB/s", "%copy", "overhead", "run2run", "batch-var", "order", "acc ulp");
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        const clr_variance *v = clr_find_variance(res, c->strategy, c->shape_index);
        char shape[128], r2r[24], bv[24], acc[24], ord[24] = "-";
        clr_shape_text(op, &c->shape, shape, sizeof shape);
        if (c->skipped) {
            fprintf(out, "%-14s %-22s %5zu  skipped: %s\n", op->strategies[c->strategy].name, shape, c->shape.batch,
                    c->skip_reason);
            continue;
        }
        if (c->norders)
            snprintf(ord, sizeof ord, "%zu/%zu", c->order_distinct, c->norders + 1);
        snprintf(r2r, sizeof r2r, "%zu/%u", c->r2r_distinct, cfg->trials);
        snprintf(bv, sizeof bv, "%zu%s", v ? v->distinct : 0, c->has_layout && !c->layout_same ? "+L" : "");
        if (c->accuracy_max_ulp == UINT64_MAX)
            snprintf(acc, sizeof acc, "NaN!");
        else
            snprintf(acc, sizeof acc, "%llu", (unsigned long long)c->accuracy_max_ulp);
        if (c->valid)
            fprintf(out, "%-14s %-22s %5zu %11.4f %9.2f %6.1f%% %7.2fx %8s %9s %6s %9s\n",
                    op->strategies[c->strategy].name, shape, c->shape.batch, c->time.median * 1e3, c->gbps,
                    100 * c->copy_fraction, c->overhead, r2r, bv, ord, acc);
        else if (c->replay_mismatches)
            fprintf(out, "%-14s %-22s %5zu %11s %9s %7s %8s %8s %9s %6s %9s  INVALID: %zu rows differ from the host "
                         "replay (%s)\n",
                    op->strategies[c->strategy].name, shape, c->shape.batch, "-", "-", "-", "-", r2r, bv, ord, acc,
                    c->replay_mismatches, c->first_mismatch);
        else
            fprintf(out, "%-14s %-22s %5zu %11s %9s %7s %8s %8s %9s %6s %9s  INVALID: %zu rows beyond the error bound\n",
                    op->strategies[c->strategy].name, shape, c->shape.batch, "-", "-", "-", "-", r2r, bv, ord, acc,
                    c->rows_out_of_bound);
    }
    for (size_t i = 0; i < res->nclaims; ++i) {
        const clr_claim_result *c = &res->claims[i];
        if (c->claimed && c->status == CLR_CLAIM_VIOLATED)
            fprintf(out, "BROKEN CLAIM: %s claims %s, but: %s\n", op->strategies[c->strategy].name,
                    clr_claim_name(c->claim), c->evidence);
        else if (!c->claimed && c->status == CLR_CLAIM_HELD && c->claim != CLR_CLAIM_ORDER_INDEPENDENT)
            fprintf(out, "note: %s does not claim to be %s, but it was in this run (%s)\n",
                    op->strategies[c->strategy].name, clr_claim_name(c->claim), c->evidence);
    }
    if (dir)
        fprintf(out, "results: %s/%s.{json,csv,md}\n", clr_escape(dir, shown_dir, sizeof shown_dir),
                cfg->name ? cfg->name : op->name);
}

static int add_text(clr_file_batch *batch, const char *dir, const char *name, const char *ext, char *text,
                    clr_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext) >= sizeof path) {
        free(text);
        return clr_fail(err, CLR_EUSAGE, "output path %s/%s.%s is too long; choose a shorter --out", dir, name, ext);
    }
    if (!text)
        return clr_fail(err, CLR_EFAIL, "out of host memory formatting %s", path);
    int rc = clr_batch_add(batch, path, text, strlen(text), err);
    free(text);
    return rc;
}

int clr_write_results(const char *dir, const clr_run_config *cfg, const clr_device_result *res, clr_error *err)
{
    clr_file_batch batch = {0};
    if (clr_results_add(&batch, dir, cfg, res, err)) {
        clr_batch_abort(&batch);
        return err->code;
    }
    return clr_batch_commit(&batch, err);
}

int clr_results_add(clr_file_batch *batch, const char *dir, const clr_run_config *cfg, const clr_device_result *res,
                    clr_error *err)
{
    json_t *doc = clr_results_json(cfg, res);
    char *json = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(doc);
    size_t json_len = json ? strlen(json) : 0;
    char *json_nl = json ? realloc(json, json_len + 2) : NULL;
    if (json_nl) {
        json_nl[json_len] = '\n';
        json_nl[json_len + 1] = '\0';
    } else {
        free(json);
    }
    const char *name = cfg->name ? cfg->name : cfg->op->name;
    int rc = add_text(batch, dir, name, "json", json_nl, err);
    if (rc == CLR_OK)
        rc = add_text(batch, dir, name, "csv", clr_results_csv(cfg, res), err);
    if (rc == CLR_OK)
        rc = add_text(batch, dir, name, "md", clr_results_markdown(cfg, res), err);
    for (size_t i = 0; i < res->ncases && rc == CLR_OK && cfg->save_outputs; ++i) {
        const clr_case *c = &res->cases[i];
        char path[4096], dims[160] = "", *bytes;
        size_t size, len = 0;
        if (c->skipped)
            continue;
        for (size_t d = 0; d < cfg->op->ndims; ++d)
            len += (size_t)snprintf(dims + len, sizeof dims - len, "-%s%zu", cfg->op->dim_names[d], c->shape.dims[d]);
        if ((size_t)snprintf(path, sizeof path, "%s/%s-%s%s-b%zu.npy", dir, name, cfg->op->strategies[c->strategy].name,
                             dims, c->shape.batch) >= sizeof path) {
            rc = clr_fail(err, CLR_EUSAGE, "output path %s/%s-... is too long; choose a shorter --out", dir, name);
            break;
        }
        size_t out_row = cfg->op->output_row_floats(&c->shape);
        if (!c->outputs || clr_npy_encode_f32(c->outputs, c->shape.batch, out_row, &bytes, &size)) {
            rc = clr_fail(err, CLR_EFAIL, "out of host memory encoding %s", path);
            break;
        }
        rc = clr_batch_add(batch, path, bytes, size, err);
        free(bytes);
    }
    return rc;
}
