/* json.c: the versioned results document (schema clrepro.results, version 1). Every figure
 * of the run is here, with the device and driver strings and the whole configuration, so a
 * document can be compared with one from another machine without the inputs. Numbers are
 * written by jansson, whatever the locale. Unknown quantities (an infinite bound, a NaN
 * mismatch measured in ulps, an infinite or unknown scaled error) are null. Also the journal's
 * lossless record of one case and of one roof measurement (journal.c writes and reads them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "output.h"
#include "reference.h"
#include "text.h"

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *ulps(uint64_t v)
{
    return v == UINT64_MAX ? json_null() : json_integer((json_int_t)v);
}

static json_t *bits_array(const float *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && i < CLR_PROBE_BITS_STORED; ++i) {
        char hex[9];
        snprintf(hex, sizeof hex, "%08x", clr_float_bits(v[i]));
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

static json_t *stats_json(const clr_stats *s)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I}", "min", number(s->min), "median", number(s->median),
                     "mean", number(s->mean), "stddev", number(s->stddev), "max", number(s->max), "count",
                     (json_int_t)s->count);
}

/* The timed repetitions, in seconds, in the order run; null where there are none. */
static json_t *times_json(const double *t, size_t n)
{
    if (!t)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; ++i)
        if (json_array_append_new(a, number(t[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *claims_array(unsigned claims)
{
    json_t *a = json_array();
    for (unsigned bit = 1; bit < (1u << CLR_NCLAIMS); bit <<= 1)
        if (claims & bit)
            json_array_append_new(a, json_string(clr_claim_name(bit)));
    return a;
}

static json_t *config_json(const clr_run_config *cfg, const clr_device_result *res)
{
    const clr_operation *op = cfg->op;
    json_t *strategies, *shapes, *batches;
    clr_config_lists(cfg, &strategies, &shapes, &batches);
    json_t *input = cfg->input.from_file
                        ? json_pack("{s:s, s:s, s:I, s:I}", "kind", "npy", "path", cfg->input.path, "rows",
                                    (json_int_t)cfg->input.rows, "cols", (json_int_t)cfg->input.cols)
                        : json_pack("{s:s, s:I, s:s}", "kind", "generator", "seed", (json_int_t)cfg->input.seed,
                                    "dist", clr_dist_name(cfg->input.dist));
    const clr_tuning *t = &res->tuning;
    /* find_switch: the batches were searched (only some of `batches` were run: see the cases) */
    return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:b, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:b, s:I, s:I, s:I, s:I}, s:s, s:s, s:s}",
                     "op", op->name, "name", clr_run_name(cfg), "strategies", strategies, "shapes",
                     shapes, "batch_name", op->batch_name, "batches", batches, "find_switch", cfg->find_switch, "trials", (json_int_t)cfg->trials, "reps", (json_int_t)cfg->reps, "warmup",
                     (json_int_t)cfg->warmup, "input", input, "tuning", "wg_size", (json_int_t)t->wg_size, "vec",
                     (json_int_t)t->vec, "contig", t->contig != 0, "groups_per_cu", (json_int_t)t->groups_per_cu,
                     "fixed_chunk", (json_int_t)t->fixed_chunk, "kv_chunk", (json_int_t)t->kv_chunk, "kv_far_chunk",
                     (json_int_t)clr_tuning_kv_far_chunk(t), "build_options", res->build_options,
                     "kernel_source", cfg->kernel_dir ? cfg->kernel_dir : "embedded", "command",
                     cfg->command_line ? cfg->command_line : "");
}

static json_t *case_json(const clr_run_config *cfg, const clr_device_result *res, const clr_case *c)
{
    const clr_operation *op = cfg->op;
    size_t out_row = op->output_row_floats(&c->shape);
    json_t *shape = clr_shape_json(op, &c->shape), *plan = json_object(), *positions = json_array();
    if (c->skipped)
        return json_pack("{s:s, s:s, s:o, s:I, s:s}", "op", op->name, "strategy", op->strategies[c->strategy].name,
                         "shape", shape, "batch", (json_int_t)c->shape.batch, "skipped", c->skip_reason);
    json_object_set_new(plan, "global", json_integer((json_int_t)c->plan.global));
    json_object_set_new(plan, "local", json_integer((json_int_t)c->plan.local));
    json_object_set_new(plan, "depth", number(c->plan.depth));
    json_object_set_new(plan, "err_abs", number(c->plan.err_abs));
    json_object_set_new(plan, "err_rel", number(c->plan.err_rel));
    for (size_t i = 0; i < c->plan.nparams; ++i)
        json_object_set_new(plan, c->plan.params[i].name, number(c->plan.params[i].value));
    for (size_t k = 0; k < c->npositions; ++k) {
        const clr_observation *o = &c->positions[k];
        char hex[17];
        clr_hex64(o->hash, hex);
        json_array_append_new(positions, json_pack("{s:I, s:s, s:o, s:o}", "position", (json_int_t)o->position,
                                                   "hash", hex, "max_ulp_vs_base", ulps(o->max_ulp), "bits",
                                                   bits_array(o->probe, out_row)));
    }
    char fp[17];
    clr_hex64(c->fingerprint, fp);
    const clr_variance *v = clr_find_variance(res, c->strategy, c->shape_index);
    json_t *j = json_pack(
        "{s:s, s:s, s:o, s:I, s:o, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
        " s:{s:I, s:I, s:o}, s:{s:o, s:o}, s:s, s:o, s:o}",
        "op", op->name, "strategy", op->strategies[c->strategy].name, "shape", shape, "batch",
        (json_int_t)c->shape.batch, "plan", plan, "valid", c->valid, "rows_out_of_bound",
        (json_int_t)c->rows_out_of_bound, "worst_error_ratio", number(c->worst_error_ratio),
        /* A time is reported only for validated outputs. */
        "time_s", c->valid ? stats_json(&c->time) : json_null(), "rep_times_s",
        c->valid ? times_json(c->rep_times, c->time.count) : json_null(), "gbps", c->valid ? number(c->gbps) : json_null(),
        "gflops", c->valid ? number(c->gflops) : json_null(), "roof_gbps", number(c->roof_gbps),
        "roof_fraction", c->valid ? number(c->roof_fraction) : json_null(), "overhead",
        c->valid ? number(c->overhead) : json_null(), "run_to_run", "trials", (json_int_t)cfg->trials,
        "distinct", (json_int_t)c->r2r_distinct, "max_ulp", ulps(c->r2r_max_ulp), "accuracy", "max_ulp",
        ulps(c->accuracy_max_ulp), "scaled_u", number(c->accuracy_scaled_u), "fingerprint", fp, "probe_bits",
        bits_array(c->positions[0].probe, out_row), "positions", positions);
    if (c->norders)
        json_object_set_new(j, "order", json_pack("{s:I, s:I, s:o}", "permutations", (json_int_t)c->norders,
                                                 "distinct", (json_int_t)c->order_distinct, "max_ulp",
                                                 ulps(c->order_max_ulp)));
    /* How the case was validated: against the host's replay of its order (bits, or the race's
     * bound around replayed pieces), or by the error bound alone. */
    json_object_set_new(j, "replay", c->replayed ? json_pack("{s:I, s:s}", "mismatched_rows",
                                                             (json_int_t)c->replay_mismatches, "first_mismatch",
                                                             c->first_mismatch)
                                                 : json_null());
    if (c->has_layout)
        json_object_set_new(j, "layout", json_pack("{s:b, s:o}", "same_bits", c->layout_same, "max_ulp",
                                                  ulps(c->layout_max_ulp)));
    if (v)
        json_object_set_new(j, "batch_variance",
                            json_pack("{s:I, s:I, s:o, s:o, s:o}", "distinct", (json_int_t)v->distinct, "base_batch",
                                      (json_int_t)v->base_batch, "max_ulp", ulps(v->max_ulp), "mean_abs_diff",
                                      number(v->mean_abs_diff), "max_abs_diff", number(v->max_abs_diff)));
    json_t *r2r = json_object_get(j, "run_to_run");
    json_object_set_new(r2r, "mean_abs_diff", number(c->r2r_mean_abs_diff));
    json_object_set_new(r2r, "max_abs_diff", number(c->r2r_max_abs_diff));
    /* The whole output against the reference strategy's at the same shape and batch. */
    json_object_set_new(j, "vs_reference",
                        c->vs_ref ? json_pack("{s:s, s:b, s:o, s:o}", "strategy", op->strategies[0].name, "identical",
                                              c->vs_ref_identical, "mean_abs_diff", number(c->vs_ref_mean_abs_diff),
                                              "max_abs_diff", number(c->vs_ref_max_abs_diff))
                                  : json_null());
    return j;
}

json_t *clr_results_json(const clr_run_config *cfg, const clr_device_result *res)
{
    const clr_operation *op = cfg->op;
    json_t *strategies = json_array(), *cases = json_array(), *variance = json_array();
    json_t *claims = json_array(), *roofs = json_array();
    for (size_t i = 0; i < cfg->nstrategies; ++i) {
        const clr_strategy *s = &op->strategies[cfg->strategy_index[i]];
        json_array_append_new(strategies, json_pack("{s:s, s:s, s:o, s:I}", "name", s->name, "summary", s->summary,
                                                    "claims", claims_array(s->claims), "order",
                                                    (json_int_t)clr_strategy_order(s)));
    }
    for (size_t i = 0; i < res->ncases; ++i)
        json_array_append_new(cases, case_json(cfg, res, &res->cases[i]));
    for (size_t i = 0; i < res->nvariance; ++i) {
        const clr_variance *v = &res->variance[i];
        json_array_append_new(variance,
                              json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:o}", "op", op->name, "strategy",
                                        op->strategies[v->strategy].name, "shape",
                                        clr_shape_json(op, &cfg->shapes[v->shape_index]),
                                        "base_batch", (json_int_t)v->base_batch, "observations",
                                        (json_int_t)v->observations, "distinct", (json_int_t)v->distinct,
                                        "max_ulp", ulps(v->max_ulp)));
    }
    for (size_t i = 0; i < res->nclaims; ++i) {
        const clr_claim_result *c = &res->claims[i];
        const char *status = c->status == CLR_CLAIM_HELD ? "held"
                             : c->status == CLR_CLAIM_VIOLATED ? "violated" : "not_measured";
        json_array_append_new(claims, json_pack("{s:s, s:s, s:s, s:b, s:s, s:b, s:s}", "op", op->name,
                                                "strategy", op->strategies[c->strategy].name, "claim",
                                                clr_claim_name(c->claim), "claimed", c->claimed, "observed",
                                                status, "broken", c->claimed && c->status == CLR_CLAIM_VIOLATED,
                                                "evidence", c->evidence));
    }
    json_t *switches = json_array();
    for (size_t i = 0; i < res->nswitches; ++i) {
        const clr_switch *sw = &res->switches[i];
        json_t *changes = json_array();
        size_t shown = sw->nchanges < CLR_MAX_SWITCHES ? sw->nchanges : CLR_MAX_SWITCHES;
        for (size_t k = 0; k < shown; ++k)
            json_array_append_new(changes, json_pack("{s:I, s:I}", "from", (json_int_t)sw->before[k], "to",
                                                     (json_int_t)sw->at[k]));
        char text[512];
        clr_switch_text(sw, op->batch_name, text, sizeof text);
        json_array_append_new(switches,
                              json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:s}", "strategy",
                                        op->strategies[sw->strategy].name, "shape",
                                        clr_shape_json(op, &cfg->shapes[sw->shape_index]), "measured",
                                        (json_int_t)sw->measured, "lo", (json_int_t)sw->lo, "hi", (json_int_t)sw->hi,
                                        "distinct", (json_int_t)sw->distinct, "changes_total",
                                        (json_int_t)sw->nchanges, "changes", changes, "text", text));
    }
    for (size_t i = 0; i < res->nroofs; ++i) {
        const clr_roof_result *c = &res->roofs[i];
        json_array_append_new(roofs, json_pack("{s:o, s:I, s:s, s:o, s:I, s:o, s:o}", "shape",
                                                clr_shape_json(op, &cfg->shapes[c->shape_index]),
                                                "batch", (json_int_t)c->batch, "kernel", "read", "bytes",
                                                number(c->bytes), "work_items", (json_int_t)c->items,
                                                "time_s", stats_json(&c->time), "gbps", number(c->gbps)));
    }
    return json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:s}, s:s, s:o, s:o, s:o, s:{s:s, s:o, s:o}, s:o, s:o, s:o, s:o, s:o,"
                     " s:o, s:o,"
                     " s:{s:I, s:I, s:I, s:b}}",
                     "schema", CLR_SCHEMA_NAME, "schema_version", CLR_SCHEMA_VERSION, "tool", "name", "clrepro",
                     "version", CLREPRO_VERSION, "git_commit", clr_git_commit, "clblast", clr_clblast_version(),
                     "started_utc", res->started_utc, "wall_seconds",
                     number(res->wall_seconds), "device", clr_device_to_json(&res->device), "config",
                     config_json(cfg, res), "build", "program", op->source, "seconds", number(res->build_seconds),
                     "roof_seconds", number(res->roof_build_seconds), "strategies", strategies, "roof", roofs,
                     "peak", json_pack("{s:o, s:o, s:o}", "bytes", number(res->peak.bytes), "read_gbps",
                                       number(res->peak.read_gbps), "copy_gbps", number(res->peak.copy_gbps)),
                     "cases", cases, "batch_variance", variance, "switch_points", switches, "claims", claims,
                     "summary", "invalid_cases",
                     (json_int_t)res->invalid_cases, "broken_claims", (json_int_t)res->broken_claims,
                     /* cases taken from the journal of an interrupted run (--resume), not measured now */
                     "resumed_cases", (json_int_t)res->resumed_cases,
                     /* strategies with a host replay were validated by it (the device keeps subnormals) */
                     "replay", res->replay);
}

/* The journal's record of one case (journal.c reads it back): every field of clr_case, without
 * loss, so that a resumed run writes the same results as one that measured the case itself.
 * Doubles are JSON numbers (17 significant digits: exact) or "inf", "-inf", "nan"; 64-bit
 * hashes and ulp counts are 16 hex digits; float rows are 8 hex digits per value. A field
 * added to clr_case must be added here and in journal.c's reader. */
static json_t *exact_number(double v)
{
    return isfinite(v) ? json_real(v) : json_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static json_t *hex64(uint64_t v)
{
    char hex[17];
    clr_hex64(v, hex);
    return json_string(hex);
}

static json_t *hex_floats(const float *v, size_t n)
{
    if (!v)
        return json_null();
    char *text = malloc(8 * n + 1);
    if (!text)
        return NULL;
    for (size_t i = 0; i < n; ++i)
        snprintf(text + 8 * i, 9, "%08x", clr_float_bits(v[i]));
    text[8 * n] = '\0';
    json_t *s = json_stringn(text, 8 * n);
    free(text);
    return s;
}

static json_t *stats_record(const clr_stats *s)
{
    return json_pack("[o, o, o, o, o, I]", exact_number(s->min), exact_number(s->median), exact_number(s->mean),
                     exact_number(s->stddev), exact_number(s->max), (json_int_t)s->count);
}

json_t *clr_case_record(const clr_run_config *cfg, const clr_case *c)
{
    const clr_operation *op = cfg->op;
    size_t out_row = op->output_row_floats(&c->shape);
    json_t *dims = json_array(), *params = json_array(), *positions = json_array();
    for (size_t d = 0; d < CLR_MAX_DIMS; ++d)
        json_array_append_new(dims, json_integer((json_int_t)c->shape.dims[d]));
    for (size_t i = 0; i < c->plan.nparams; ++i)
        json_array_append_new(params, json_pack("[s, o]", c->plan.params[i].name ? c->plan.params[i].name : "",
                                                exact_number(c->plan.params[i].value)));
    int failed = 0;
    for (size_t k = 0; k < c->npositions; ++k) {
        const clr_observation *o = &c->positions[k];
        failed |= json_array_append_new(positions, json_pack("{s:I, s:I, s:o, s:o, s:o}", "batch",
                                                             (json_int_t)o->batch, "position", (json_int_t)o->position,
                                                             "hash", hex64(o->hash), "max_ulp", hex64(o->max_ulp),
                                                             "probe", hex_floats(o->probe, out_row)));
    }
    failed |= json_array_size(params) != c->plan.nparams || json_array_size(dims) != CLR_MAX_DIMS;
    json_t *plan = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o}", "global", (json_int_t)c->plan.global, "local",
                             (json_int_t)c->plan.local, "depth", exact_number(c->plan.depth), "err_abs",
                             exact_number(c->plan.err_abs), "err_rel", exact_number(c->plan.err_rel), "params",
                             params);
    json_t *j = json_pack(
        "{s:s, s:I, s:I, s:o, s:s, s:b, s:s, s:o, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
        " s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:b, s:b, s:o, s:b, s:I, s:s}",
        "strategy", op->strategies[c->strategy].name, "shape_index", (json_int_t)c->shape_index, "batch",
        (json_int_t)c->shape.batch, "dims", dims, "dtype", clr_dtype_name(c->shape.dtype), "skipped", c->skipped,
        "skip_reason", c->skip_reason, "plan", plan, "valid", c->valid, "rows_out_of_bound",
        (json_int_t)c->rows_out_of_bound, "worst_error_ratio", exact_number(c->worst_error_ratio), "time",
        stats_record(&c->time), "gbps", exact_number(c->gbps), "gflops", exact_number(c->gflops), "roof_gbps",
        exact_number(c->roof_gbps), "roof_fraction", exact_number(c->roof_fraction), "overhead",
        exact_number(c->overhead), "r2r_distinct", (json_int_t)c->r2r_distinct, "r2r_max_ulp",
        hex64(c->r2r_max_ulp), "accuracy_max_ulp", hex64(c->accuracy_max_ulp), "accuracy_scaled_u",
        exact_number(c->accuracy_scaled_u), "fingerprint",
        hex64(c->fingerprint), "positions", positions, "norders", (json_int_t)c->norders, "order_distinct",
        (json_int_t)c->order_distinct, "order_max_ulp", hex64(c->order_max_ulp), "has_layout", c->has_layout,
        "layout_same", c->layout_same, "layout_max_ulp", hex64(c->layout_max_ulp), "replayed", c->replayed,
        "replay_mismatches", (json_int_t)c->replay_mismatches, "first_mismatch", c->first_mismatch);
    if (j) {
        failed |= json_object_set_new(j, "r2r_mean_abs_diff", exact_number(c->r2r_mean_abs_diff));
        failed |= json_object_set_new(j, "r2r_max_abs_diff", exact_number(c->r2r_max_abs_diff));
        failed |= json_object_set_new(j, "vs_ref", json_pack("{s:b, s:b, s:o, s:o}", "measured", c->vs_ref, "identical",
                                                             c->vs_ref_identical, "mean_abs_diff",
                                                             exact_number(c->vs_ref_mean_abs_diff), "max_abs_diff",
                                                             exact_number(c->vs_ref_max_abs_diff)));
    }
    if (j && c->rep_times) {
        json_t *reps = json_array();
        for (size_t i = 0; reps && i < c->time.count; ++i)
            failed |= json_array_append_new(reps, exact_number(c->rep_times[i]));
        failed |= !reps || json_object_set_new(j, "rep_times", reps);
    }
    if (!j || failed) {
        json_decref(j);
        return NULL;
    }
    json_t *outputs = hex_floats(c->outputs, c->shape.batch * out_row);
    if (!outputs || json_object_set_new(j, "outputs", outputs)) {
        json_decref(j);
        return NULL;
    }
    return json_pack("{s:o}", "case", j);
}

json_t *clr_roof_record(const clr_roof_result *c)
{
    return json_pack("{s:{s:I, s:I, s:o, s:I, s:o, s:o}}", "roof", "shape_index", (json_int_t)c->shape_index,
                     "batch", (json_int_t)c->batch, "bytes", exact_number(c->bytes), "work_items",
                     (json_int_t)c->items, "time", stats_record(&c->time), "gbps", exact_number(c->gbps));
}
