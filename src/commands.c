/* commands.c: the command handlers (`devices`, `run`, `compare`, `report`; `demo` is demo.c)
 * and clr_main. `run` takes its runs and pre-flight from runplan.c (everything refusable is
 * refused before it measures: paths, sizes, kernels that do not build), keeps completed cases
 * in journals while it measures, and writes the results only once every run on every device
 * is complete. main.c only calls clr_main. */
#include "commands.h"
#include "allreduce.h"
#include "decode.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomic_file.h"
#include "audit.h"
#include "baseline.h"
#include "compare.h"
#include "demo.h"
#include "device.h"
#include "export.h"
#include "journal.h"
#include "op.h"
#include "output.h"
#include "runner.h"
#include "runplan.h"

static void print_device(const clr_device *d)
{
    char global[32], local[32];
    clr_format_bytes((double)d->global_mem, global, sizeof global);
    clr_format_bytes((double)d->local_mem, local, sizeof local);
    cl_device_fp_config fp = d->single_fp;
    /* Drivers' strings are foreign text: escaped, as every message is. */
    char e[6][256];
    printf("[%u] %u:%u  %s  (%s)\n", d->index, d->platform_index, d->device_index,
           clr_escape(d->name, e[0], sizeof e[0]), clr_device_type_name(d->type));
    printf("      platform     %s (%s)\n", clr_escape(d->platform_name, e[0], sizeof e[0]),
           clr_escape(d->platform_version, e[1], sizeof e[1]));
    printf("      vendor       %s\n", clr_escape(d->vendor, e[0], sizeof e[0]));
    printf("      version      %s; driver %s; %s\n", clr_escape(d->device_version, e[3], sizeof e[3]),
           clr_escape(d->driver_version, e[4], sizeof e[4]), clr_escape(d->c_version, e[5], sizeof e[5]));
    printf("      compute      %u units, work-group up to %zu\n", d->compute_units, d->max_work_group_size);
    printf("      memory       %s global, %s local\n", global, local);
    printf("      float32      denormals %s, fma %s, correctly rounded divide/sqrt %s\n",
           fp & CL_FP_DENORM ? "yes" : "no", fp & CL_FP_FMA ? "yes" : "no",
           fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT ? "yes" : "no");
    printf("      support      fp64 %s, fp16 %s, int64 atomics %s\n", d->fp64 ? "yes" : "no", d->fp16 ? "yes" : "no",
           d->int64_atomics ? "yes" : "no");
    char uuid[33], pci[32];
    if (clr_device_uuid(d, uuid) || clr_device_pci(d, pci, sizeof pci))
        printf("      identity     uuid %s, pci %s\n", clr_device_uuid(d, uuid) ? uuid : "not reported",
               clr_device_pci(d, pci, sizeof pci) ? pci : "not reported");
}

int clr_cmd_devices(const clr_cli *cli, clr_error *err)
{
    clr_device_list all, chosen;
    if (clr_devices_enumerate(&all, err))
        return err->code;
    if (clr_cli_select_devices(cli, &all, &chosen, err)) {
        clr_devices_free(&all);
        return err->code;
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < chosen.count; ++i)
            json_array_append_new(arr, clr_device_to_json(&chosen.items[i]));
        json_t *doc = json_pack("{s:s, s:i, s:s, s:o}", "schema", "clrepro.devices", "schema_version", 1,
                                "tool_version", CLREPRO_VERSION, "devices", arr);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(doc);
    } else if (cli->list) {
        /* As clinfo -l: index, P:D, type, name, and the platform. */
        for (size_t i = 0; i < chosen.count; ++i) {
            const clr_device *d = &chosen.items[i];
            char name[256], platform[256];
            printf("[%u] %u:%u  %-4s %s  (%s)\n", d->index, d->platform_index, d->device_index,
                   clr_device_type_name(d->type), clr_escape(d->name, name, sizeof name),
                   clr_escape(d->platform_name, platform, sizeof platform));
        }
    } else {
        for (size_t i = 0; i < chosen.count; ++i)
            print_device(&chosen.items[i]);
    }
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    return CLR_OK;
}

/* One run (an operation, or a suite's part) on one device. */
typedef struct device_run {
    const clr_run_config *cfg;
    const clr_device *dev;
    size_t device;               /* index into the chosen devices (and their folders) */
    clr_prepared_run *prepared;  /* built, until measured */
    clr_journal *journal;
    clr_device_result res;
} device_run;

/* After a failure: where the completed cases are, and how to go on from them. */
static void note_journals(const device_run *work, size_t n, const char *advice)
{
    size_t kept = 0;
    for (size_t k = 0; k < n; ++k) {
        if (!work[k].journal || !clr_journal_exists(work[k].journal))
            continue;
        char path[1024];
        fprintf(stderr, "clrepro: the completed cases of %s on %s are kept in %s\n", work[k].cfg->name,
                work[k].dev->name, clr_escape(clr_journal_path(work[k].journal), path, sizeof path));
        kept++;
    }
    if (kept)
        fprintf(stderr, "clrepro: no results were written; %s, and rerun the same command with --resume to measure "
                        "only the cases that are missing\n", advice);
}

/* A case overran --timeout: its kernel is still running. Everything completed is already in
 * the journals (each case fsync'd as it finished); say so, remove the folders this run made
 * that hold nothing, and _exit. Not exit(): exit runs atexit handlers and the OpenCL
 * implementation's destructors, and a driver that drains or releases its queues there would
 * wait for the kernel that does not end (PoCL 3.1 happens not to); _exit ends the process at
 * once, and the kernel with it. Nothing is left to flush but stdio, flushed here. */
static int running_in_fleet; /* this run is one rank's of fleet mode (src/fleet.c) */

static void stop_incomplete(const device_run *work, size_t n, const char (*dirs)[PATH_MAX],
                            const char (*tops)[PATH_MAX], size_t ndirs, clr_error *err)
{
    fprintf(stderr, "clrepro: error: %s\n", err->msg);
    if (running_in_fleet) /* the other ranks are told, then this one ends: see clr_fleet_abandon */
        clr_fleet_abandon(err->msg);
    for (size_t k = 0; k < n; ++k)
        if (work[k].journal)
            clr_journal_note(work[k].journal, err->msg);
    note_journals(work, n, "raise --timeout if the case is merely slow, or fix its kernel");
    for (size_t i = 0; i < ndirs; ++i)
        clr_remove_empty_dirs(dirs[i], tops[i]);
    fflush(stdout);
    fflush(stderr);
    _exit(CLR_EFAIL);
}

int clr_cmd_run(const clr_cli *cli, const char *command_line, clr_error *err)
{
    if (!cli->in_fleet && clr_mpi_launched())
        return clr_fleet_run(cli, command_line, err);
    running_in_fleet = cli->in_fleet;
    clr_planned_run *runs = NULL;
    size_t nruns = 0;
    clr_input input = {0};
    clr_device_list all = {0}, chosen = {0};
    char (*dirs)[PATH_MAX] = NULL, (*tops)[PATH_MAX] = NULL;
    device_run *work = NULL;
    size_t nwork = 0;
    /* --out -: the results document alone on stdout. Until it is written, stdout is stderr, so
     * that nothing else (a driver's or compiler's chatter) lands there. */
    int to_stdout = cli->out_dir && !strcmp(cli->out_dir, "-"), saved_stdout = -1;
    if (to_stdout) {
        fflush(stdout);
        saved_stdout = dup(STDOUT_FILENO);
        if (saved_stdout < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
            int e = errno;
            if (saved_stdout >= 0)
                close(saved_stdout);
            return clr_fail(err, CLR_EFAIL, "--out -: cannot set standard output aside: %s", strerror(e));
        }
    }
    clr_install_cleanup_handlers(); /* before OpenCL, whose compiler installs handlers of its own */
    int rc = clr_plan_runs(cli, command_line, &runs, &nruns, &input, err);
    if (rc == CLR_OK)
        rc = clr_devices_enumerate(&all, err);
    if (rc == CLR_OK)
        rc = clr_cli_select_devices(cli, &all, &chosen, err);
    if (rc == CLR_OK && to_stdout && (nruns != 1 || chosen.count != 1))
        rc = clr_fail(err, CLR_EUSAGE, "--out -: standard output takes one results document, and this command makes "
                      "%zu (%zu run%s: operations or suite parts, on %zu device%s); choose one --op and one --device, "
                      "or write the files with --out DIR",
                      nruns * chosen.count, nruns, nruns == 1 ? "" : "s", chosen.count, chosen.count == 1 ? "" : "s");
    if (rc == CLR_OK) {
        dirs = calloc(chosen.count, sizeof *dirs);
        tops = calloc(chosen.count, sizeof *tops);
        work = calloc(chosen.count * nruns, sizeof *work);
        if (!dirs || !tops || !work)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    /* Everything that can be refused is refused before the first measurement: sizes, tuning,
     * output locations (nothing is created: the folders are made when the first case is
     * complete), then every program of every run is built. A failure leaves no file behind. */
    if (rc == CLR_OK && !to_stdout)
        rc = clr_preflight(cli, runs, nruns, &chosen, dirs, tops, err);
    for (size_t i = 0; to_stdout && i < chosen.count && rc == CLR_OK; ++i) /* no folders: only the sizes */
        for (size_t r = 0; r < nruns && rc == CLR_OK; ++r)
            rc = clr_run_check(&runs[r].cfg, &chosen.items[i], err);
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i)
        for (size_t r = 0; r < nruns && rc == CLR_OK; ++r) {
            device_run *w = &work[nwork++];
            w->cfg = &runs[r].cfg;
            w->dev = &chosen.items[i];
            w->device = i;
            rc = clr_run_prepare(w->cfg, w->dev, &w->prepared, err);
            if (rc == CLR_OK && !to_stdout) /* --out -: no journal (no folder; --resume is refused) */
                rc = clr_journal_open(dirs[i], w->cfg, w->prepared, cli->resume, &w->journal, err);
            if (rc == CLR_OK && cli->resume) {
                char path[1024];
                clr_escape(clr_journal_path(w->journal), path, sizeof path);
                if (clr_journal_exists(w->journal))
                    fprintf(stderr, "clrepro: resuming %s on %s: %zu of %zu cases from %s\n", w->cfg->name,
                            w->dev->name, clr_journal_loaded(w->journal),
                            w->cfg->nshapes * w->cfg->nbatches * w->cfg->nstrategies, path);
                else
                    fprintf(stderr, "clrepro: --resume: no journal of %s on %s (%s); measuring every case\n",
                            w->cfg->name, w->dev->name, path);
            }
        }
    /* Measure. The results stay in memory until every run on every device is complete. */
    for (size_t k = 0; k < nwork && rc == CLR_OK; ++k) {
        device_run *w = &work[k];
        rc = clr_run_prepared(w->prepared, w->journal, &w->res, err);
        w->prepared = NULL;
        if (w->res.timed_out)
            stop_incomplete(work, nwork, (const char (*)[PATH_MAX])dirs, (const char (*)[PATH_MAX])tops,
                            to_stdout ? 0 : chosen.count, err);
    }
    /* --out -: the document to stdout, restored, and nothing written to files. */
    if (to_stdout) {
        char *json = rc == CLR_OK ? clr_results_json_text(work[0].cfg, &work[0].res) : NULL;
        if (rc == CLR_OK && !json)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory formatting the results document");
        fflush(stdout);
        if (dup2(saved_stdout, STDOUT_FILENO) < 0 && rc == CLR_OK)
            rc = clr_fail(err, CLR_EFAIL, "--out -: cannot restore standard output: %s", strerror(errno));
        close(saved_stdout);
        saved_stdout = -1;
        size_t len = json ? strlen(json) : 0;
        if (rc == CLR_OK && (fwrite(json, 1, len, stdout) != len || fflush(stdout) != 0))
            rc = clr_fail(err, CLR_EFAIL, "--out -: cannot write the results document to standard output");
        free(json);
    }
    /* Write everything, then drop the journals. */
    for (size_t i = 0; i < chosen.count && rc == CLR_OK && !to_stdout; ++i)
        rc = clr_prepare_out_dir(dirs[i], err);
    /* One batch for every run on every device: all of them land, or none (a full disk while
     * writing the last leaves no earlier file behind; the journals stay for --resume). */
    clr_file_batch batch = {0};
    for (size_t k = 0; k < nwork && rc == CLR_OK && !to_stdout; ++k)
        rc = clr_results_add(&batch, dirs[work[k].device], work[k].cfg, &work[k].res, err);
    if (rc == CLR_OK)
        rc = clr_batch_commit(&batch, err);
    else
        clr_batch_abort(&batch);
    int status = CLR_OK;
    for (size_t k = 0; k < nwork && rc == CLR_OK; ++k) {
        const device_run *w = &work[k];
        const clr_device_result *res = &w->res;
        const char *dir = dirs[w->device];
        clr_journal_remove(w->journal);
        if (!cli->quiet) { /* --out -: stdout holds the document, the summary goes to stderr */
            FILE *summary = to_stdout ? stderr : stdout;
            clr_print_summary(summary, w->cfg, res, to_stdout ? NULL : dir);
            if (res->resumed_cases)
                fprintf(summary, "resumed: %zu of %zu cases taken from the journal of an interrupted run\n",
                        res->resumed_cases, res->ncases);
        }
        if (res->invalid_cases) {
            fprintf(stderr, "clrepro: error: %zu case(s) of %s on %s failed validation (outputs that differ "
                            "from the host's replay of their order, or beyond their error bound); their times "
                            "are not reported (see %s/%s.md)\n",
                    res->invalid_cases, w->cfg->name, res->device.name, dir, w->cfg->name);
            status = CLR_EFAIL;
        }
        if (cli->strict && res->broken_claims) {
            fprintf(stderr, "clrepro: --strict: %zu broken claim(s) of %s on %s\n", res->broken_claims,
                    w->cfg->name, res->device.name);
            status = CLR_EFAIL;
        }
    }
    if (rc) {
        if (err->code) {
            /* The error first, then where the completed cases are. */
            fprintf(stderr, "clrepro: error: %s\n", err->msg);
            err->code = 0;
        }
        note_journals(work, nwork, "fix the cause");
        for (size_t i = 0; dirs && tops && !to_stdout && i < chosen.count; ++i)
            clr_remove_empty_dirs(dirs[i], tops[i]);
    }
    if (saved_stdout >= 0) { /* stopped before the document: stdout back as it was, empty */
        fflush(stdout);
        dup2(saved_stdout, STDOUT_FILENO);
        close(saved_stdout);
    }
    for (size_t k = 0; k < nwork; ++k) {
        clr_run_prepared_free(work[k].prepared);
        clr_journal_close(work[k].journal);
        clr_device_result_free(&work[k].res);
    }
    free(work);
    free(dirs);
    free(tops);
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    clr_input_close(&input);
    clr_planned_runs_free(runs, nruns);
    return rc ? rc : status;
}

/* `clrepro compare --baseline OLD NEW...`: DIR/baseline.{md,csv,json} (default results/baseline),
 * all three or none, never over an input; the summary on stdout; status 1 when a --fail-on gate
 * fails (the files are written all the same: CI keeps them). */
static int cmd_baseline(const clr_cli *cli, clr_error *err)
{
    static const char *exts[] = {"md", "csv", "json"};
    const char *dir = cli->out_dir ? cli->out_dir : "results/baseline";
    char *old_paths[1] = {(char *)cli->baseline};
    char *paths[3] = {NULL, NULL, NULL}, *texts[3] = {NULL, NULL, NULL};
    clr_baseline b;
    memset(&b, 0, sizeof b);
    int rc = CLR_OK;
    if (!strcmp(dir, "-"))
        rc = clr_fail(err, CLR_EUSAGE, "--out -: compare --baseline writes three files (baseline.md, baseline.csv, "
                                       "baseline.json) into a directory; name one with --out DIR (the summary is "
                                       "printed on stdout, unless --quiet)");
    for (int i = 0; i < 3 && rc == CLR_OK; ++i) {
        size_t len = strlen(dir) + 16;
        paths[i] = malloc(len);
        if (!paths[i])
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
        else {
            snprintf(paths[i], len, "%s/baseline.%s", dir, exts[i]);
            rc = clr_check_output_path(cli->files, cli->nfiles, paths[i], "--out", 0, err);
            if (rc == CLR_OK)
                rc = clr_check_output_path(old_paths, 1, paths[i], "--out", 0, err);
        }
    }
    if (rc == CLR_OK)
        rc = clr_baseline_load(old_paths, 1, cli->files, cli->nfiles, cli->fail_bits, cli->fail_slowdown, &b, err);
    if (rc == CLR_OK && !cli->quiet) {
        clr_compare_print_skipped(&b.old, stderr);
        clr_compare_print_skipped(&b.new, stderr);
    }
    for (int i = 0; i < 3 && rc == CLR_OK; ++i) { /* the documents found in folders are inputs too */
        rc = clr_check_output_path(b.old.files, b.old.ndocs, paths[i], "--out", 0, err);
        if (rc == CLR_OK)
            rc = clr_check_output_path(b.new.files, b.new.ndocs, paths[i], "--out", 0, err);
    }
    if (rc == CLR_OK && (!(texts[0] = clr_baseline_markdown(&b, err)) || !(texts[1] = clr_baseline_csv(&b, err)) ||
                         !(texts[2] = clr_baseline_json(&b, err))))
        rc = err->code ? err->code : CLR_EFAIL;
    if (rc == CLR_OK)
        rc = clr_write_texts(dir, 3, paths, texts, err);
    if (rc == CLR_OK && !cli->quiet) {
        char shown[1024];
        clr_baseline_print_summary(&b, stdout);
        printf("written: %s/baseline.{md,csv,json}\n", clr_escape(dir, shown, sizeof shown));
    }
    if (rc == CLR_OK && clr_baseline_failed(&b)) {
        char bits[128] = "", slow[160] = "";
        if (b.failed_bits)
            snprintf(bits, sizeof bits, "bits: %zu case%s of strategies claiming determinism changed bits",
                     b.failed_bits, b.failed_bits == 1 ? "" : "s");
        if (b.failed_slowdown)
            snprintf(slow, sizeof slow, "slowdown=%g: %zu case%s significantly slower by more than %.2fx",
                     cli->fail_slowdown, b.failed_slowdown, b.failed_slowdown == 1 ? "" : "s", cli->fail_slowdown);
        rc = clr_fail(err, CLR_EFAIL, "--fail-on %s%s%s (see %s/baseline.md)", bits, bits[0] && slow[0] ? "; " : "",
                      slow, dir);
    }
    for (int i = 0; i < 3; ++i) {
        free(paths[i]);
        free(texts[i]);
    }
    clr_baseline_free(&b);
    return rc;
}

/* The inputs of report and export (cli->files), read into *cmp, when -o names no input: neither
 * a file named nor, once the folders are read, a results document found in them ("-o -" is
 * stdout). What was skipped is listed on stderr (not with --quiet). */
static int load_for_output(const clr_cli *cli, int flags, clr_comparison *cmp, clr_error *err)
{
    int to_stdout = !strcmp(cli->output, "-");
    memset(cmp, 0, sizeof *cmp);
    int rc = to_stdout ? CLR_OK : clr_check_output_path(cli->files, cli->nfiles, cli->output, "-o", 1, err);
    if (rc == CLR_OK)
        rc = clr_compare_load_with(cli->files, cli->nfiles, flags, cmp, err);
    if (rc == CLR_OK && !cli->quiet)
        clr_compare_print_skipped(cmp, stderr);
    if (rc == CLR_OK && !to_stdout) /* the documents found in folders are inputs too */
        rc = clr_check_output_documents(cmp, cli->output, "-o", 1, err);
    return rc;
}

/* text to -o: stdout for "-", else the file, written whole or not at all. */
static int write_output(const char *output, const char *text, const char *what, clr_error *err)
{
    if (strcmp(output, "-"))
        return clr_write_file_atomic(output, text, strlen(text), err);
    size_t len = strlen(text);
    if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
        return clr_fail(err, CLR_EFAIL, "cannot write the %s to stdout", what);
    return CLR_OK;
}

/* `clrepro export --format gbench PATH... -o FILE` (-o - for stdout): Google Benchmark's JSON,
 * never over an input. What was skipped and what was left out is said on stderr. */
static int cmd_export(const clr_cli *cli, clr_error *err)
{
    int to_stdout = !strcmp(cli->output, "-");
    clr_comparison cmp;
    int rc = load_for_output(cli, 0, &cmp, err);
    size_t written = 0, left_out = 0;
    char *text = rc == CLR_OK ? clr_export_gbench(&cmp, &written, &left_out, err) : NULL;
    if (rc == CLR_OK && !text)
        rc = err->code ? err->code : CLR_EFAIL;
    if (rc == CLR_OK)
        rc = write_output(cli->output, text, "export", err);
    if (rc == CLR_OK && !cli->quiet && left_out)
        fprintf(stderr, "clrepro: export: %zu case%s left out (failed validation: no time; or skipped)\n", left_out,
                left_out == 1 ? "" : "s");
    if (rc == CLR_OK && !cli->quiet && !to_stdout) {
        char shown[1024];
        printf("export: %s (%zu benchmarks from %zu documents, Google Benchmark JSON)\n",
               clr_escape(cli->output, shown, sizeof shown), written, cmp.ndocs);
    }
    free(text);
    clr_compare_free(&cmp);
    return rc;
}

/* `clrepro compare`: DIR/compare.{md,csv,json}, all three or none, never over an input (a file
 * named, or a results document found in a named folder). What was skipped is listed on stderr. */
int clr_cmd_compare(const clr_cli *cli, clr_error *err)
{
    if (cli->baseline)
        return cmd_baseline(cli, err);
    static const char *exts[] = {"md", "csv", "json"};
    const char *dir = cli->out_dir ? cli->out_dir : "results/compare";
    char *paths[3] = {NULL, NULL, NULL}, *texts[3] = {NULL, NULL, NULL};
    clr_comparison cmp;
    memset(&cmp, 0, sizeof cmp);
    int rc = CLR_OK;
    if (!strcmp(dir, "-"))
        rc = clr_fail(err, CLR_EUSAGE, "--out -: compare writes three files (compare.md, compare.csv, compare.json) "
                                       "into a directory, not to stdout; name a directory with --out DIR (the "
                                       "Markdown is printed on stdout too, unless --quiet)");
    for (int i = 0; i < 3 && rc == CLR_OK; ++i) {
        size_t len = strlen(dir) + 16;
        paths[i] = malloc(len);
        if (!paths[i])
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
        else {
            snprintf(paths[i], len, "%s/compare.%s", dir, exts[i]);
            rc = clr_check_output_path(cli->files, cli->nfiles, paths[i], "--out", 0, err);
        }
    }
    if (rc == CLR_OK)
        rc = clr_compare_load_with(cli->files, cli->nfiles, CLR_COMPARE_DECODE, &cmp, err);
    if (rc == CLR_OK && !cli->quiet)
        clr_compare_print_skipped(&cmp, stderr);
    /* The documents found in folders are inputs too. */
    for (int i = 0; i < 3 && rc == CLR_OK; ++i)
        rc = clr_check_output_documents(&cmp, paths[i], "--out", 0, err);
    if (rc == CLR_OK && (!(texts[0] = clr_compare_markdown(&cmp, err)) || !(texts[1] = clr_compare_csv(&cmp, err)) ||
                         !(texts[2] = clr_compare_json(&cmp, err))))
        rc = err->code ? err->code : CLR_EFAIL;
    if (rc == CLR_OK)
        rc = clr_write_texts(dir, 3, paths, texts, err);
    if (rc == CLR_OK && !cli->quiet) {
        char shown[1024];
        printf("%s\nwritten: %s/compare.{md,csv,json}\n", texts[0], clr_escape(dir, shown, sizeof shown));
    }
    for (int i = 0; i < 3; ++i) {
        free(paths[i]);
        free(texts[i]);
    }
    clr_compare_free(&cmp);
    return rc;
}

/* `clrepro report`: one HTML file (-o FILE, or -o - for stdout), never one of its inputs (a file
 * named, or a results document found in a named folder). What was skipped is listed on stderr. */
static int cmd_report(const clr_cli *cli, clr_error *err)
{
    int to_stdout = !strcmp(cli->output, "-");
    clr_comparison cmp;
    int rc = load_for_output(cli, CLR_COMPARE_DECODE, &cmp, err);
    char *html = rc == CLR_OK ? clr_report_html(&cmp, err) : NULL;
    if (rc == CLR_OK && !html)
        rc = err->code ? err->code : CLR_EFAIL;
    if (rc == CLR_OK)
        rc = write_output(cli->output, html, "report", err);
    if (rc == CLR_OK && !to_stdout && !cli->quiet) {
        char shown[1024];
        clr_escape(cli->output, shown, sizeof shown);
        if (cmp.nskipped)
            printf("report: %s (%zu documents; %zu other inputs skipped, listed on stderr)\n", shown,
                   cmp.ndocs + cmp.ndecode, cmp.nskipped);
        else
            printf("report: %s (%zu documents)\n", shown, cmp.ndocs + cmp.ndecode);
    }
    free(html);
    clr_compare_free(&cmp);
    return rc;
}

int clr_main(int argc, char **argv)
{
    clr_cli cli;
    clr_error err = {0};
    if (argc > 2 && !strcmp(argv[1], "help") && !strcmp(argv[2], "allreduce") && argc == 3) {
        clr_ar_usage(stdout);
        return CLR_OK;
    }
    if (argc > 1 && !strcmp(argv[1], "allreduce")) { /* its own options: src/allreduce.c */
        int rc = clr_cmd_allreduce(argc, argv, &err);
        if (rc && err.code)
            fprintf(stderr, "clrepro: error: %s\n", err.msg);
        return rc;
    }
    int rc = clr_cli_parse(argc, argv, &cli, &err);
    if (rc == CLR_OK) {
        switch (cli.command) {
        case CLR_CMD_VERSION:
            printf("clrepro %s\n", CLREPRO_VERSION);
            break;
        case CLR_CMD_HELP:
            clr_cli_usage(stdout, cli.help_for);
            break;
        case CLR_CMD_DEVICES:
            rc = clr_cmd_devices(&cli, &err);
            break;
        case CLR_CMD_COMPARE:
            rc = clr_cmd_compare(&cli, &err);
            break;
        case CLR_CMD_REPORT:
            rc = cmd_report(&cli, &err);
            break;
        case CLR_CMD_EXPORT:
            rc = cmd_export(&cli, &err);
            break;
        case CLR_CMD_RUN:
        case CLR_CMD_DEMO:
        case CLR_CMD_DECODE:
        case CLR_CMD_AUDIT: {
            char *line = clr_command_line(argc, argv);
            cli.command_line = line;
            rc = cli.command == CLR_CMD_RUN      ? clr_cmd_run(&cli, line, &err)
                 : cli.command == CLR_CMD_AUDIT  ? clr_cmd_audit(&cli, &err)
                 : cli.command == CLR_CMD_DECODE ? clr_cmd_decode(&cli, &err)
                                                 : clr_cmd_demo(&cli, &err);
            free(line);
            break;
        }
        }
    }
    if (rc && err.code)
        fprintf(stderr, "clrepro: error: %s\n", err.msg);
    clr_cli_free(&cli);
    return rc;
}
