/* markdown.c: the human-readable tables committed under results/: one table per row size
 * (strategy x batch), then the claims against what was observed, then the bandwidth roof.
 * Text that is not this program's own (device and driver strings, the run name, the --input
 * path, the recorded command line, skip reasons and evidence) is escaped (clr_text_md, or
 * clr_text_md_code for a code span), so no value can split a table or inject markup. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "output.h"
#include "text.h"

static void ulps_cell(clr_text *t, uint64_t v)
{
    if (v == UINT64_MAX)
        clr_text_printf(t, " NaN mismatch |");
    else
        clr_text_printf(t, " %llu |", (unsigned long long)v);
}

/* A scaled error in u: "-" when unknown (a case resumed from an older journal). */
static void scaled_cell(clr_text *t, double v)
{
    if (isnan(v))
        clr_text_printf(t, " - |");
    else if (isinf(v))
        clr_text_printf(t, " inf |");
    else
        clr_text_printf(t, " %.3g |", v);
}

char *clr_results_markdown(const clr_run_config *cfg, const clr_device_result *res)
{
    const clr_operation *op = cfg->op;
    const clr_device *d = &res->device;
    const clr_tuning *tu = &res->tuning;
    clr_text t = {0};
    clr_text_printf(&t, "# clrepro %s: ", CLREPRO_VERSION);
    clr_text_md_code(&t, clr_run_name(cfg));
    clr_text_printf(&t, " (%s) on ", op->name);
    clr_text_md(&t, d->name);
    clr_text_printf(&t, "\n\n- Device: ");
    clr_text_md(&t, d->name);
    clr_text_printf(&t, " (");
    clr_text_md(&t, d->vendor);
    clr_text_printf(&t, ", %u compute units), platform ", d->compute_units);
    clr_text_md(&t, d->platform_name);
    clr_text_printf(&t, ", driver ");
    clr_text_md(&t, d->driver_version);
    clr_text_printf(&t, ", ");
    clr_text_md(&t, d->device_version);
    clr_text_printf(&t, "\n");
    clr_text_printf(&t, "- Started %s, %.1f s on this device; kernel build %.3f s (roof kernels %.3f s)\n",
                    res->started_utc, res->wall_seconds, res->build_seconds, res->roof_build_seconds);
    if (cfg->input.from_file) {
        clr_text_printf(&t, "- Input: ");
        clr_text_md_code(&t, cfg->input.path);
        clr_text_printf(&t, " (%zu x %zu float32)\n", cfg->input.rows, cfg->input.cols);
    }
    else
        clr_text_printf(&t, "- Input: generator, %s distribution, seed %llu\n", clr_dist_name(cfg->input.dist),
                        (unsigned long long)cfg->input.seed);
    clr_text_printf(&t, "- Protocol: %u warm-up, %u run-to-run trials, %u timed repetitions per case; "
                        "tuning wg=%u vec=%u contig=%u fixed_chunk=%u\n",
                    cfg->warmup, cfg->trials, cfg->reps, tu->wg_size, tu->vec, tu->contig, tu->fixed_chunk);
    if (cfg->command_line) {
        clr_text_printf(&t, "- Command: ");
        clr_text_md_code(&t, cfg->command_line);
        clr_text_printf(&t, "\n");
    }
    clr_text_printf(&t, "\nTime is the median of the timed repetitions (device profiling events). %% roof = GB/s "
                        "over the roof's: the fastest repetition of a kernel that only reads as many bytes, in the "
                        "same run (below). Overhead = time / "
                        "fastest strategy's time at the same shape. Run-to-run: distinct output patterns over "
                        "the trials. Batch: distinct probe-row patterns over every batch size and position, "
                        "and the largest ulp distance from the smallest batch. Order: distinct probe-row patterns over "
                        "its original order and %d permutations of its input. Accuracy: largest ulp distance "
                        "from the host reference (the exact sum for sum; float64 for the others). Scaled error: "
                        "largest |error| over the magnitude the operation's error bound is relative to (the "
                        "sum of the terms' magnitudes, e.g. Σ|x| for a sum, Σ|a·b| for a product), in units of "
                        "u = 2^-24. Mean |diff|: over the later trials' outputs against the first (run to run), "
                        "and over the probe rows against the smallest batch's (batch). vs %s: the whole output "
                        "against the reference strategy's at the same shape and batch: the same bits, or the "
                        "largest and mean |diff|.%s\n", CLR_ORDERS, op->strategies[0].name,
                    op->accuracy_scaled ? " Read the scaled error here: outputs near 0, where an error of a few u "
                                          "of the magnitude is thousands of ulp of the output."
                                        : "");
    for (size_t zi = 0; zi < cfg->nshapes; ++zi) {
        char shape[128];
        clr_shape_text(op, &cfg->shapes[zi], shape, sizeof shape);
        clr_text_printf(&t, "\n## %s (%s)\n\n", shape, clr_dtype_name(cfg->shapes[zi].dtype));
        clr_text_printf(&t, "| strategy | %s | time (ms) | GB/s | GFLOP/s | %% roof | overhead | run-to-run distinct | "
                            "run-to-run max ulp | batch distinct | batch max ulp | order distinct | accuracy (ulp) | "
                            "scaled error (u) | mean \\|diff\\| run-to-run / batch | vs %s | valid |\n",
                        op->batch_name, op->strategies[0].name);
        clr_text_printf(&t, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
        for (size_t i = 0; i < res->ncases; ++i) {
            const clr_case *c = &res->cases[i];
            if (c->shape_index != zi)
                continue;
            if (c->skipped) {
                clr_text_printf(&t, "| %s | %zu | skipped: ", op->strategies[c->strategy].name, c->shape.batch);
                clr_text_md(&t, c->skip_reason);
                clr_text_printf(&t, " | | | | | | | | | | | | | | |\n");
                continue;
            }
            const clr_variance *v = clr_find_variance(res, c->strategy, c->shape_index);
            clr_text_printf(&t, "| %s | %zu |", op->strategies[c->strategy].name, c->shape.batch);
            if (c->valid)
                clr_text_printf(&t, " %.4f | %.2f | %.2f | %.1f%% | %.2fx |", c->time.median * 1e3, c->gbps,
                                c->gflops, 100 * c->roof_fraction, c->overhead);
            else
                clr_text_printf(&t, " - | - | - | - | - |");
            clr_text_printf(&t, " %zu/%u |", c->r2r_distinct, cfg->trials);
            ulps_cell(&t, c->r2r_max_ulp);
            clr_text_printf(&t, " %zu |", v ? v->distinct : 0);
            if (c->has_layout && !c->layout_same)
                clr_text_printf(&t, " %llu, larger buffer changed bits |", (unsigned long long)(v ? v->max_ulp : 0));
            else
                ulps_cell(&t, v ? v->max_ulp : UINT64_MAX);
            if (c->norders)
                clr_text_printf(&t, " %zu/%zu |", c->order_distinct, c->norders + 1);
            else
                clr_text_printf(&t, " - |");
            ulps_cell(&t, c->accuracy_max_ulp);
            scaled_cell(&t, c->accuracy_scaled_u);
            clr_text_printf(&t, " %.3g / ", c->r2r_mean_abs_diff);
            if (v)
                clr_text_printf(&t, "%.3g |", v->mean_abs_diff);
            else
                clr_text_printf(&t, "- |");
            if (!c->vs_ref)
                clr_text_printf(&t, " - |");
            else if (c->vs_ref_identical)
                clr_text_printf(&t, " same bits |");
            else
                clr_text_printf(&t, " max %.3g, mean %.3g |", c->vs_ref_max_abs_diff, c->vs_ref_mean_abs_diff);
            clr_text_printf(&t, " %s |\n", c->valid ? "yes" : "**NO**");
        }
    }
    /* Switch points: per strategy and shape, where the probe row's bits change with the batch. */
    clr_text_printf(&t, "\n## Where the bits change with %s\n\nThe probe row (logical row 0 at position 0) "
                        "against the next smaller %s measured: the sizes at which its bits change.%s\n\n"
                        "| strategy | shape | %s measured | the probe's bits |\n|---|---|---|---|\n",
                    op->batch_name, op->batch_name,
                    cfg->find_switch ? " The sizes were searched (`--find-switch`): between two sizes whose bits "
                                       "agree none was run, and they are taken to agree too." : "",
                    op->batch_name);
    for (size_t i = 0; i < res->nswitches; ++i) {
        const clr_switch *sw = &res->switches[i];
        char shape[128], text[512];
        clr_shape_text(op, &cfg->shapes[sw->shape_index], shape, sizeof shape);
        clr_switch_text(sw, op->batch_name, text, sizeof text);
        clr_text_printf(&t, "| %s | %s | %zu (%zu-%zu) | %s |\n", op->strategies[sw->strategy].name, shape,
                        sw->measured, sw->lo, sw->hi, text);
    }
    /* How each case was validated, and why a case failed. */
    clr_text_printf(&t, "\n## Validation\n\n%s\n", res->replay
                        ? "Strategies with a host replay (their order of operations is known) were validated by it: "
                          "outputs must have the replay's bits, or lie within the race's bound around replayed "
                          "pieces for atomics. The others were held to their error bound."
                        : "This device flushes subnormals, so host replays could not predict its bits: every "
                          "case was held to its error bound only.");
    for (size_t i = 0; i < res->ncases; ++i) {
        const clr_case *c = &res->cases[i];
        if (c->valid || c->skipped)
            continue;
        char shape[128];
        clr_shape_text(op, &c->shape, shape, sizeof shape);
        clr_text_printf(&t, "\n- **invalid**: %s, %s, %s %zu: ", op->strategies[c->strategy].name, shape,
                        op->batch_name, c->shape.batch);
        if (c->replay_mismatches) {
            clr_text_printf(&t, "%zu rows differ from the host replay; first ", c->replay_mismatches);
            clr_text_md(&t, c->first_mismatch);
        } else {
            clr_text_printf(&t, "%zu rows beyond the error bound (worst %.3g times the bound)", c->rows_out_of_bound,
                            c->worst_error_ratio);
        }
    }
    clr_text_printf(&t, "\n");
    clr_text_printf(&t, "\n## Claims against observations\n\n| strategy | claim | claimed | observed | evidence |\n"
                        "|---|---|---|---|---|\n");
    for (size_t i = 0; i < res->nclaims; ++i) {
        const clr_claim_result *c = &res->claims[i];
        if (c->status == CLR_CLAIM_NOT_MEASURED)
            continue;
        const char *obs = c->status == CLR_CLAIM_HELD ? "held" : "violated";
        clr_text_printf(&t, "| %s | %s | %s | %s%s%s | ", op->strategies[c->strategy].name, clr_claim_name(c->claim),
                        c->claimed ? "yes" : "no", c->claimed && c->status == CLR_CLAIM_VIOLATED ? "**" : "", obs,
                        c->claimed && c->status == CLR_CLAIM_VIOLATED ? " (broken claim)**" : "");
        clr_text_md(&t, c->evidence);
        clr_text_printf(&t, " |\n");
    }
    clr_text_printf(&t, "\n## Bandwidth roof\n\nA kernel that only reads as many bytes as the operation moves, at "
                        "1 work-group, one per compute unit and as many as the split strategies use; the "
                        "fastest repetition of any of them. The device's peak: %.2f GB/s reading, %.2f GB/s "
                        "copying (%.0f MiB, fastest repetition).\n\n"
                        "| shape | %s | bytes read | work-items | fastest (ms) | median (ms) | GB/s |\n"
                        "|---|---:|---:|---:|---:|---:|---:|\n",
                    res->peak.read_gbps, res->peak.copy_gbps, res->peak.bytes / (1 << 20), op->batch_name);
    for (size_t i = 0; i < res->nroofs; ++i) {
        const clr_roof_result *c = &res->roofs[i];
        char shape[128];
        clr_shape_text(op, &cfg->shapes[c->shape_index], shape, sizeof shape);
        clr_text_printf(&t, "| %s | %zu | %.0f | %zu | %.4f | %.4f | %.2f |\n", shape, c->batch, c->bytes, c->items,
                        c->time.min * 1e3, c->time.median * 1e3, c->gbps);
    }
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
