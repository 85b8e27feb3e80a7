/* csv.c: one row per case (device x strategy x size x batch), skipped and invalid cases
 * included (status, reason), for spreadsheets and pandas; times in seconds, as in the JSON.
 * Every text field that is not a name from this program's tables goes through clr_text_csv
 * (quoted, quotes doubled, no formula can start it); empty cells mean "not available".
 * docs/results-schema.md lists the columns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "output.h"
#include "text.h"

static void csv_ulps(clr_text *t, uint64_t v)
{
    if (v == UINT64_MAX)
        clr_text_printf(t, ",");
    else
        clr_text_printf(t, ",%llu", (unsigned long long)v);
}

/* A scaled error: empty when unknown, "inf" when infinite. */
static void csv_scaled(clr_text *t, double v)
{
    if (isnan(v))
        clr_text_printf(t, ",");
    else if (isinf(v))
        clr_text_printf(t, ",inf");
    else
        clr_text_printf(t, ",%.6g", v);
}

char *clr_results_csv(const clr_run_config *cfg, const clr_device_result *res)
{
    const clr_operation *op = cfg->op;
    clr_text t = {0};
    clr_text_printf(&t, "run,device,platform,driver,op,strategy,claims,");
    for (size_t d = 0; d < op->ndims; ++d)
        clr_text_printf(&t, "%s,", op->dim_names[d]);
    clr_text_printf(&t, "dtype,batch,status,reason,valid,reps,time_min_s,time_median_s,"
                        "time_mean_s,time_max_s,time_stddev_s,gbps,gflops,roof_gbps,roof_fraction,overhead,r2r_trials,"
                        "r2r_distinct,r2r_max_ulp,r2r_mean_abs_diff,batch_distinct,batch_max_ulp,batch_mean_abs_diff,"
                        "order_distinct,order_max_ulp,layout_same,accuracy_max_ulp,accuracy_scaled_u,reference,"
                        "reference_identical,reference_mean_abs_diff,reference_max_abs_diff,bits_changed_from,fingerprint\n");
    size_t *changed_from = malloc((res->ncases ? res->ncases : 1) * sizeof *changed_from);
    if (!changed_from || clr_probe_changes(res->cases, res->ncases, changed_from)) {
        free(changed_from);
        free(t.buf);
        return NULL;
    }
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        const clr_strategy *s = &op->strategies[c->strategy];
        const clr_variance *v = clr_find_variance(res, c->strategy, c->shape_index);
        char claims[128], fp[17];
        clr_claims_text(s->claims, claims, sizeof claims);
        clr_hex64(c->fingerprint, fp);
        clr_text_csv(&t, clr_run_name(cfg));
        clr_text_printf(&t, ",");
        clr_text_csv(&t, res->device.name);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, res->device.platform_name);
        clr_text_printf(&t, ",");
        clr_text_csv(&t, res->device.driver_version);
        clr_text_printf(&t, ",%s,%s,", op->name, s->name); /* names from this program's tables */
        clr_text_csv(&t, claims);
        clr_text_printf(&t, ",");
        for (size_t d = 0; d < op->ndims; ++d)
            clr_text_printf(&t, "%zu,", c->shape.dims[d]);
        clr_text_printf(&t, "%s,%zu,", clr_dtype_name(c->shape.dtype), c->shape.batch);
        if (c->skipped) { /* not measured: the reason, and nothing else */
            clr_text_printf(&t, "skipped,");
            clr_text_csv(&t, c->skip_reason);
            clr_text_printf(&t, ",false,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n");
            continue;
        }
        char reason[256] = "";
        if (!c->valid && c->replay_mismatches)
            snprintf(reason, sizeof reason, "%zu rows differ from the host's replay", c->replay_mismatches);
        else if (!c->valid)
            snprintf(reason, sizeof reason, "%zu rows beyond the error bound", c->rows_out_of_bound);
        clr_text_printf(&t, "%s,", c->valid ? "measured" : "invalid");
        clr_text_csv(&t, reason);
        clr_text_printf(&t, ",%s,%u", c->valid ? "true" : "false", cfg->reps);
        if (c->valid)
            clr_text_printf(&t, ",%.9g,%.9g,%.9g,%.9g,%.9g,%.3f,%.3f,%.3f,%.4f,%.4f", c->time.min, c->time.median,
                            c->time.mean, c->time.max, c->time.stddev, c->gbps, c->gflops, c->roof_gbps,
                            c->roof_fraction, c->overhead);
        else
            clr_text_printf(&t, ",,,,,,,,%.3f,,", c->roof_gbps);
        clr_text_printf(&t, ",%u,%zu", cfg->trials, c->r2r_distinct);
        csv_ulps(&t, c->r2r_max_ulp);
        clr_text_printf(&t, ",%.9g,%zu", c->r2r_mean_abs_diff, v ? v->distinct : 0);
        csv_ulps(&t, v ? v->max_ulp : UINT64_MAX);
        if (v)
            clr_text_printf(&t, ",%.9g", v->mean_abs_diff);
        else
            clr_text_printf(&t, ",");
        if (c->norders)
            clr_text_printf(&t, ",%zu", c->order_distinct);
        else
            clr_text_printf(&t, ",");
        csv_ulps(&t, c->norders ? c->order_max_ulp : UINT64_MAX);
        clr_text_printf(&t, ",%s", c->has_layout ? (c->layout_same ? "true" : "false") : "");
        csv_ulps(&t, c->accuracy_max_ulp);
        csv_scaled(&t, c->accuracy_scaled_u);
        if (c->vs_ref)
            clr_text_printf(&t, ",%s,%s,%.9g,%.9g", op->strategies[0].name, c->vs_ref_identical ? "true" : "false",
                            c->vs_ref_mean_abs_diff, c->vs_ref_max_abs_diff);
        else
            clr_text_printf(&t, ",,,,");
        if (changed_from[i])
            clr_text_printf(&t, ",%zu", changed_from[i]);
        else
            clr_text_printf(&t, ",");
        clr_text_printf(&t, ",%s\n", fp);
    }
    free(changed_from);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
