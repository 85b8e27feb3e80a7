/* report.c: the stdout summary of a run, and the all-or-nothing writing of one device's
 * result files: the top of the writer side, it calls the writers (output/json.c, csv.c,
 * markdown.c), their helpers (output/common.c), npy.c and atomic_file.c; none calls back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "atomic_file.h"
#include "npy.h"
#include "output.h"
#include "output/common.h"

void clr_print_summary(FILE *out, const clr_run_config *cfg, const clr_device_result *res, const char *dir)
{
    const clr_operation *op = cfg->op;
    char device[1024], platform[1024], driver[1024], shown_dir[1024]; /* driver strings, shown inert */
    clr_escape(res->device.name, device, sizeof device);
    clr_escape(res->device.platform_name, platform, sizeof platform);
    clr_escape(res->device.driver_version, driver, sizeof driver);
    fprintf(out, "\n%s: %s on %s — %s, driver %s (%u CUs), %.1f s\n", clr_run_name(cfg), op->name,
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
                clr_run_name(cfg));
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
    const char *name = clr_run_name(cfg);
    int rc = add_text(batch, dir, name, "json", json_nl, err);
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
