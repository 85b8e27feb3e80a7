/* report.c: the stdout summary of a run, and the all-or-nothing writing of one device's
 * result files: the top of the writer side, it calls the writers (output/json.c, csv.c,
 * markdown.c), their helpers (output/common.c), npy.c and atomic_file.c; none calls back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "atomic_file.h"
#include "npy.h"
#include "output.h"
#include "output/common.h"

/* Prints text indented by `indent` spaces, wrapped at 100 columns (at spaces where it can). */
static void print_wrapped(FILE *out, const char *text, int indent)
{
    const int width = 100 - indent;
    while (*text) {
        int len = (int)strlen(text), cut = len;
        if (len > width) {
            cut = width;
            while (cut > width / 2 && text[cut] != ' ')
                --cut;
            if (text[cut] != ' ')
                cut = width;
        }
        fprintf(out, "%*s%.*s\n", indent, "", cut, text);
        text += cut;
        while (*text == ' ')
            ++text;
    }
}

/* What a person reads first: the case's bits varied with what, or it failed, or did not run. */
static void verdict(const clr_case *c, const clr_variance *v, char *buf, size_t size)
{
    if (c->skipped) {
        snprintf(buf, size, "not run");
        return;
    }
    if (!c->valid) {
        snprintf(buf, size, "INVALID");
        return;
    }
    int run = c->r2r_distinct > 1, batch = (v && v->distinct > 1) || (c->has_layout && !c->layout_same);
    int order = c->norders && c->order_distinct > 1;
    if (!run && !batch && !order) {
        snprintf(buf, size, "same bits");
        return;
    }
    snprintf(buf, size, "varies %s%s%s%s%s", run ? "run" : "", run && (batch || order) ? "," : "",
             batch ? "batch" : "", batch && order ? "," : "", order ? "order" : "");
}

/* The accuracy column: the op's measure (op.h accuracy_scaled), within 6 columns. */
static void accuracy_text(const clr_operation *op, const clr_case *c, char *buf, size_t size)
{
    double e = c->accuracy_scaled_u;
    if (c->accuracy_max_ulp == UINT64_MAX)
        snprintf(buf, size, "NaN!");
    else if (!op->accuracy_scaled)
        snprintf(buf, size, "%llu", (unsigned long long)c->accuracy_max_ulp);
    else if (isnan(e))
        snprintf(buf, size, "-"); /* unknown: resumed from a journal written without it */
    else if (isinf(e))
        snprintf(buf, size, "inf!");
    else
        snprintf(buf, size, e < 99.5 ? "%.2g" : e < 999999.5 ? "%.0f" : "%.0e", e);
}

/* Where each strategy's probe bits change with the batch at shape shape_index, wrapped within 100
 * columns: one line per strategy that changes, one for those that never do. */
static void print_switches(FILE *out, const clr_run_config *cfg, const clr_device_result *res, size_t shape_index)
{
    const clr_operation *op = cfg->op;
    char never[512] = "", line[1024];
    size_t lo = 0, hi = 0, measured = 0;
    for (size_t i = 0; i < res->nswitches; ++i) {
        const clr_switch *sw = &res->switches[i];
        if (sw->shape_index != shape_index || sw->measured < 2)
            continue;
        /* never changing over the same sizes: one line for all of them */
        if (sw->nchanges == 0 && (!never[0] || (sw->lo == lo && sw->hi == hi && sw->measured == measured))) {
            size_t len = strlen(never);
            snprintf(never + len, sizeof never - len, "%s%s", len ? ", " : "", op->strategies[sw->strategy].name);
            lo = sw->lo;
            hi = sw->hi;
            measured = sw->measured;
            continue;
        }
        char text[512];
        clr_switch_text(sw, op->batch_name, text, sizeof text);
        snprintf(line, sizeof line, "%s: bits %s", op->strategies[sw->strategy].name, text);
        print_wrapped(out, line, 2);
    }
    if (never[0]) {
        snprintf(line, sizeof line, "%s: bits never change in %s = %zu-%zu (%zu sizes)", never, op->batch_name, lo, hi,
                 measured);
        print_wrapped(out, line, 2);
    }
}

void clr_print_summary(FILE *out, const clr_run_config *cfg, const clr_device_result *res, const char *dir)
{
    const clr_operation *op = cfg->op;
    char device[1024], platform[1024], driver[1024], shown_dir[1024]; /* driver strings, shown inert */
    clr_escape(res->device.name, device, sizeof device);
    clr_escape(res->device.platform_name, platform, sizeof platform);
    clr_escape(res->device.driver_version, driver, sizeof driver);
    char title[4096];
    snprintf(title, sizeof title, "%s: %s on %s (%u CUs), %.1f s", clr_run_name(cfg), op->name, device,
             res->device.compute_units, res->wall_seconds);
    fprintf(out, "\n");
    print_wrapped(out, title, 0);
    snprintf(title, sizeof title, "%s, driver %s; peak %.1f GB/s reading, %.1f GB/s copying", platform, driver,
             res->peak.read_gbps, res->peak.copy_gbps);
    print_wrapped(out, title, 2);
    /* A legend; then, per shape, a header and a line per case, within 100 columns. */
    fprintf(out, "ms: median time; %%roof: GB/s against a kernel reading as many bytes; overhd: against the fastest\n"
                 "r2r, bvar, ord: distinct outputs over trials, across batches (+L: a larger cache differs) and\n"
                 "over orders of the addends; %s\n",
            op->accuracy_scaled ? "acc: largest |error| over the magnitude Σ|a·b| in units of u = 2^-24"
                                : "acc: largest distance from the reference in ulp");
    /* A sweep (many batch sizes, or searched): where the bits change, not a line per case. */
    int sweep = cfg->find_switch || cfg->nbatches > 16;
    if (sweep) {
        size_t ran = 0;
        for (size_t i = 0; i < res->ncases; ++i)
            ran += !res->cases[i].skipped;
        fprintf(out, "%s over %zu %s sizes: %zu cases measured; every case is in the .md and .csv\n",
                cfg->find_switch ? "a search" : "a sweep", cfg->nbatches, op->batch_name, ran);
    }
    size_t shown_shape = (size_t)-1;
    char last_reason[CLR_SKIP_REASON] = "";
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        const clr_variance *v = clr_find_variance(res, c->strategy, c->shape_index);
        char r2r[24], bv[24], acc[24], ord[24] = "-", what[64];
        if (c->shape_index != shown_shape && sweep) {
            char shape[256];
            clr_shape_text(op, &c->shape, shape, sizeof shape);
            fprintf(out, "%s\n", shape);
            print_switches(out, cfg, res, c->shape_index);
            shown_shape = c->shape_index;
        }
        if (sweep)
            continue;
        if (c->shape_index != shown_shape) {
            if (shown_shape != (size_t)-1 && cfg->nbatches > 2)
                print_switches(out, cfg, res, shown_shape);
            char shape[256];
            clr_shape_text(op, &c->shape, shape, sizeof shape);
            fprintf(out, "%s\n", shape);
            fprintf(out, "  %-14s %4s %9s %7s %5s %6s %5s %4s %5s %6s  %s\n", "strategy", op->batch_name, "ms",
                    "GB/s", "%roof", "overhd", "r2r", "bvar", "ord", "acc", "verdict");
            shown_shape = c->shape_index;
            last_reason[0] = '\0';
        }
        verdict(c, v, what, sizeof what);
        if (c->skipped) {
            fprintf(out, "  %-14s %4zu %9s %7s %5s %6s %5s %4s %5s %6s  %s\n", op->strategies[c->strategy].name,
                    c->shape.batch, "-", "-", "-", "-", "-", "-", "-", "-", what);
            if (strcmp(last_reason, c->skip_reason)) { /* a reason once, not once per strategy */
                char shown[4 * CLR_SKIP_REASON]; /* it may name the device: a driver's string, shown inert */
                print_wrapped(out, clr_escape(c->skip_reason, shown, sizeof shown), 4);
                snprintf(last_reason, sizeof last_reason, "%s", c->skip_reason);
            }
            continue;
        }
        if (c->norders)
            snprintf(ord, sizeof ord, "%zu/%zu", c->order_distinct, c->norders + 1);
        snprintf(r2r, sizeof r2r, "%zu/%u", c->r2r_distinct, cfg->trials);
        snprintf(bv, sizeof bv, "%zu%s", v ? v->distinct : 0, c->has_layout && !c->layout_same ? "+L" : "");
        accuracy_text(op, c, acc, sizeof acc);
        if (c->valid) {
            fprintf(out, "  %-14s %4zu %9.4f %7.2f %4.0f%% %5.2fx %5s %4s %5s %6s  %s\n",
                    op->strategies[c->strategy].name, c->shape.batch, c->time.median * 1e3, c->gbps,
                    100 * c->roof_fraction, c->overhead, r2r, bv, ord, acc, what);
            continue;
        }
        fprintf(out, "  %-14s %4zu %9s %7s %5s %6s %5s %4s %5s %6s  %s\n", op->strategies[c->strategy].name,
                c->shape.batch, "-", "-", "-", "-", r2r, bv, ord, acc, what);
        char detail[512];
        if (c->replay_mismatches)
            snprintf(detail, sizeof detail, "%zu rows differ from the host's replay of the strategy's order (%s)",
                     c->replay_mismatches, c->first_mismatch);
        else
            snprintf(detail, sizeof detail, "%zu rows beyond the error bound", c->rows_out_of_bound);
        print_wrapped(out, detail, 4);
    }
    if (!sweep && shown_shape != (size_t)-1 && cfg->nbatches > 2)
        print_switches(out, cfg, res, shown_shape);
    for (size_t i = 0; i < res->nclaims; ++i) {
        const clr_claim_result *c = &res->claims[i];
        char line[1024];
        if (c->claimed && c->status == CLR_CLAIM_VIOLATED)
            snprintf(line, sizeof line, "BROKEN CLAIM: %s claims %s, but: %s", op->strategies[c->strategy].name,
                     clr_claim_name(c->claim), c->evidence);
        else if (!c->claimed && c->status == CLR_CLAIM_HELD && c->claim != CLR_CLAIM_ORDER_INDEPENDENT)
            snprintf(line, sizeof line, "note: %s does not claim to be %s, but it was in this run (%s)",
                     op->strategies[c->strategy].name, clr_claim_name(c->claim), c->evidence);
        else
            continue;
        print_wrapped(out, line, 0);
    }
    /* The roof is timed again while a case beats it (runner.c); what still does is said. */
    size_t over = 0;
    double most = 0;
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        if (c->valid && !c->skipped && c->roof_fraction > 1) {
            over++;
            most = fmax(most, c->roof_fraction);
        }
    }
    if (over) {
        char line[1024];
        snprintf(line, sizeof line,
                 "note: %zu case%s read faster than the roof (up to %.1f%%) although it was timed again "
                 "while beaten: its fastest repetition was slower than their median, so their %%roof is not "
                 "a fraction of a bound (a machine busy while the roof was timed; on an idle one, timer "
                 "noise at the device's bandwidth)",
                 over, over == 1 ? "" : "s", 100 * most);
        print_wrapped(out, line, 0);
    }
    if (dir) {
        char line[2048];
        snprintf(line, sizeof line, "results: %s/%s.{json,csv,md}", clr_escape(dir, shown_dir, sizeof shown_dir),
                 clr_run_name(cfg));
        print_wrapped(out, line, 0);
    }
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

char *clr_results_json_text(const clr_run_config *cfg, const clr_device_result *res)
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
    return json_nl;
}

int clr_results_add(clr_file_batch *batch, const char *dir, const clr_run_config *cfg, const clr_device_result *res,
                    clr_error *err)
{
    const char *name = clr_run_name(cfg);
    int rc = add_text(batch, dir, name, "json", clr_results_json_text(cfg, res), err);
    if (rc == CLR_OK)
        rc = add_text(batch, dir, name, "csv", clr_results_csv(cfg, res), err);
    if (rc == CLR_OK)
        rc = add_text(batch, dir, name, "md", clr_results_markdown(cfg, res), err);
    for (size_t i = 0; i < res->ncases && rc == CLR_OK && cfg->save_outputs; ++i) {
        const clr_case *c = &res->cases[i];
        char path[4096], file[1024], *bytes;
        size_t size;
        if (c->skipped)
            continue;
        if (clr_case_output_name(cfg, c->strategy, &c->shape, file, sizeof file) ||
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) {
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
