/* commands.c: `clrepro devices` and `clrepro run`: turn a parsed command line into work, and
 * report the outcome. `run` refuses everything it can (paths, sizes, kernels that do not build)
 * before it measures, keeps completed cases in journals while it measures, and writes the
 * results only once every run on every device is complete. main.c only calls clr_main. */
#include "commands.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomic_file.h"
#include "compare.h"
#include "demo.h"
#include "device.h"
#include "journal.h"
#include "op.h"
#include "output.h"
#include "runner.h"

static void print_device(const clr_device *d)
{
    char global[32], local[32];
    clr_format_bytes((double)d->global_mem, global, sizeof global);
    clr_format_bytes((double)d->local_mem, local, sizeof local);
    cl_device_fp_config fp = d->single_fp;
    printf("[%u] %u:%u  %s  (%s)\n", d->index, d->platform_index, d->device_index, d->name,
           clr_device_type_name(d->type));
    printf("      platform     %s (%s)\n", d->platform_name, d->platform_version);
    printf("      vendor       %s\n", d->vendor);
    printf("      version      %s; driver %s; %s\n", d->device_version, d->driver_version, d->c_version);
    printf("      compute      %u units, work-group up to %zu\n", d->compute_units, d->max_work_group_size);
    printf("      memory       %s global, %s local\n", global, local);
    printf("      float32      denormals %s, fma %s, correctly rounded divide/sqrt %s\n",
           fp & CL_FP_DENORM ? "yes" : "no", fp & CL_FP_FMA ? "yes" : "no",
           fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT ? "yes" : "no");
    printf("      support      fp64 %s, fp16 %s, int64 atomics %s\n", d->fp64 ? "yes" : "no", d->fp16 ? "yes" : "no",
           d->int64_atomics ? "yes" : "no");
}

int clr_cmd_devices(const clr_cli *cli, clr_error *err)
{
    clr_device_list all, chosen;
    if (clr_devices_enumerate(&all, err))
        return err->code;
    if (clr_devices_select(&all, cli->device_spec, &chosen, err)) {
        clr_devices_free(&all);
        return err->code;
    }
    if (cli->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < chosen.count; ++i)
            json_array_append_new(arr, clr_device_to_json(&chosen.items[i]));
        json_t *doc = json_pack("{s:s, s:o}", "tool_version", CLREPRO_VERSION, "devices", arr);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(doc);
    } else {
        for (size_t i = 0; i < chosen.count; ++i)
            print_device(&chosen.items[i]);
    }
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    return CLR_OK;
}

static int resolve_strategies(const char *spec, clr_run_config *cfg, clr_error *err)
{
    const clr_operation *op = cfg->op;
    cfg->nstrategies = 0;
    if (!strcmp(spec, "all")) {
        for (size_t i = 0; i < op->nstrategies; ++i)
            cfg->strategy_index[cfg->nstrategies++] = i;
        return CLR_OK;
    }
    char *copy = clr_strdup(spec), *save = NULL;
    if (!copy)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    int rc = CLR_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == CLR_OK; tok = strtok_r(NULL, ",", &save)) {
        const clr_strategy *s = clr_strategy_find(op, tok);
        if (!s) {
            char names[512] = "";
            for (size_t i = 0; i < op->nstrategies; ++i)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                         op->strategies[i].name);
            rc = clr_fail(err, CLR_EUSAGE, "--strategy: '%s' is not a strategy of %s; choose from %s, or all", tok,
                          op->name, names);
            break;
        }
        size_t idx = (size_t)(s - op->strategies);
        int dup = 0;
        for (size_t i = 0; i < cfg->nstrategies; ++i)
            dup |= cfg->strategy_index[i] == idx;
        if (!dup && cfg->nstrategies < CLR_MAX_STRATEGIES)
            cfg->strategy_index[cfg->nstrategies++] = idx;
    }
    free(copy);
    if (rc == CLR_OK && cfg->nstrategies == 0)
        rc = clr_fail(err, CLR_EUSAGE, "--strategy '%s': no strategy named", spec);
    return rc;
}

/* One run of one operation: a plain `run` has one per --op, a suite a fixed list. */
typedef struct run_part {
    const char *name, *op;
    const char *dims[CLR_MAX_DIMS]; /* value lists in the op's dimension order; NULL: default */
    const char *batches;            /* NULL: the op's default */
    unsigned trials;                /* 0: --trials */
} run_part;

static const run_part seed_suite[] = {
    /* Batch 2, sequence length 256, hidden 512 = 8 heads x 64, 50 trials. */
    {"seed-attention-trials", "attention", {"8", "64", "256"}, "2", 50},
    /* Batch invariance across sequence lengths 64..1024 at hidden 512, 8 heads. */
    {"seed-attention-lengths", "attention", {"8", "64", "64,128,256,512,1024"}, "1,2,4,8", 0},
};

/* An 8B model: hidden 4096, MLP 14336, 32 query heads of dimension 128. */
static const run_part llm_suite[] = {
    {"llm-rmsnorm", "rmsnorm", {"4096"}, "1,2,4,8,16,32,64,128,256,512", 0},
    {"llm-matmul", "matmul", {"4096", "4096,14336"}, "1,2,4,8,16,32,64,128,256,512", 0},
    {"llm-attention", "attention", {"32", "128", "1024,8192"}, "1,2,4,8,16,32,64", 0},
};

typedef struct prepared_run {
    clr_run_config cfg;
    size_t *batches_owned;
} prepared_run;

static void free_prepared(prepared_run *runs, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        free(runs[i].cfg.shapes);
        free(runs[i].batches_owned);
    }
    free(runs);
}

/* Cartesian product of the dimension lists. */
static int build_shapes(const clr_cli *cli, const run_part *part, clr_run_config *cfg, size_t input_cols,
                        clr_error *err)
{
    const clr_operation *op = cfg->op;
    size_t *lists[CLR_MAX_DIMS] = {0}, counts[CLR_MAX_DIMS] = {0}, total = 1;
    int rc = CLR_OK;
    for (size_t d = 0; d < op->ndims && rc == CLR_OK; ++d) {
        const clr_dim_list *given = clr_cli_dim(cli, op->dim_names[d]);
        if (d == 0 && input_cols) {
            lists[d] = malloc(sizeof(size_t));
            if (lists[d])
                lists[d][0] = input_cols;
            counts[d] = 1;
        } else if (given) {
            lists[d] = malloc(given->count * sizeof(size_t));
            if (lists[d])
                memcpy(lists[d], given->values, given->count * sizeof(size_t));
            counts[d] = given->count;
        } else if (clr_parse_size_list(part->dims[d] ? part->dims[d] : op->dim_defaults[d], &lists[d], &counts[d])) {
            rc = clr_fail(err, CLR_EFAIL, "bad built-in default for %s --%s", op->name, op->dim_names[d]);
        }
        if (rc == CLR_OK && !lists[d])
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
        total *= counts[d];
    }
    if (rc == CLR_OK) {
        cfg->shapes = calloc(total, sizeof *cfg->shapes);
        if (!cfg->shapes)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    for (size_t i = 0; i < total && rc == CLR_OK; ++i) {
        clr_shape *s = &cfg->shapes[i];
        size_t rest = i;
        for (size_t d = op->ndims; d-- > 0;) {
            s->dims[d] = lists[d][rest % counts[d]];
            rest /= counts[d];
        }
        s->dtype = (clr_dtype)cli->dtype;
        s->batch = 1;
        rc = clr_op_check_shape(op, s, err);
    }
    cfg->nshapes = rc == CLR_OK ? total : 0;
    for (size_t d = 0; d < op->ndims; ++d)
        free(lists[d]);
    return rc;
}

static int prepare_part(const clr_cli *cli, const run_part *part, const char *command_line, size_t input_cols,
                        prepared_run *out, clr_error *err)
{
    clr_run_config *cfg = &out->cfg;
    memset(out, 0, sizeof *out);
    cfg->op = clr_op_find(part->op);
    cfg->name = part->name;
    if (resolve_strategies(cli->strategies, cfg, err))
        return err->code;
    if (cli->dtype == CLR_BF16 && !cfg->op->supports_bf16)
        return clr_fail(err, CLR_EUSAGE, "--dtype bf16: %s reads float32 only; bf16 is for rmsnorm, matmul and attention",
                        cfg->op->name);
    if (build_shapes(cli, part, cfg, input_cols, err))
        return err->code;
    if (cli->batches && !part->batches) {
        cfg->batches = cli->batches;
        cfg->nbatches = cli->nbatches;
    } else if (clr_parse_size_list(part->batches ? part->batches : cfg->op->default_batches, &out->batches_owned,
                                   &cfg->nbatches)) {
        return clr_fail(err, CLR_EFAIL, "bad built-in batch list for %s", part->name);
    } else {
        cfg->batches = out->batches_owned;
    }
    cfg->trials = part->trials && !cli->trials_given ? part->trials : cli->trials;
    cfg->reps = cli->reps;
    cfg->warmup = cli->warmup;
    cfg->kernel_dir = cli->kernel_dir;
    cfg->wg = cli->wg;
    cfg->vec = cli->vec;
    cfg->chunk = cli->chunk;
    cfg->contig = cli->contig < 0 ? 0 : cli->contig ? 1 : 2;
    cfg->save_outputs = cli->save_outputs;
    cfg->progress = !cli->no_progress && isatty(STDERR_FILENO);
    cfg->command_line = command_line;
    cfg->timeout = cli->timeout;
    cfg->input.seed = cli->seed;
    cfg->input.dist = cli->dist;
    return CLR_OK;
}

/* The runs a command line asks for: a suite's parts, or one per --op (default every op). */
static int plan_runs(const clr_cli *cli, const char *command_line, prepared_run **runs, size_t *nruns,
                     clr_input *input, clr_error *err)
{
    run_part parts[16];
    size_t nparts = 0;
    if (cli->suite) {
        const run_part *suite = !strcmp(cli->suite, "seed") ? seed_suite : llm_suite;
        nparts = !strcmp(cli->suite, "seed") ? sizeof seed_suite / sizeof seed_suite[0]
                                             : sizeof llm_suite / sizeof llm_suite[0];
        memcpy(parts, suite, nparts * sizeof *parts);
    } else {
        size_t nops;
        const clr_operation *const *all = clr_op_all(&nops);
        char *copy = clr_strdup(cli->op_name ? cli->op_name : ""), *save = NULL;
        if (!copy)
            return clr_fail(err, CLR_EFAIL, "out of host memory");
        for (size_t i = 0; !cli->op_name && i < nops; ++i) {
            /* Every operation by default, except those the chosen dtype does not apply to. */
            if (cli->dtype == CLR_BF16 && !all[i]->supports_bf16)
                continue;
            parts[nparts++] = (run_part){all[i]->name, all[i]->name, {0}, NULL, 0};
        }
        for (char *tok = strtok_r(copy, ",", &save); tok && nparts < 16; tok = strtok_r(NULL, ",", &save)) {
            if (!clr_op_find(tok)) {
                char names[256] = "";
                for (size_t i = 0; i < nops; ++i)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", all[i]->name);
                clr_fail(err, CLR_EUSAGE, "--op '%s': unknown operation; choose from %s", tok, names);
                free(copy);
                return err->code;
            }
            parts[nparts++] = (run_part){clr_op_find(tok)->name, clr_op_find(tok)->name, {0}, NULL, 0};
        }
        free(copy);
        if (nparts == 0)
            return clr_fail(err, CLR_EUSAGE, "--op: no operation named");
    }
    if (nparts > 1 && strcmp(cli->strategies, "all"))
        return clr_fail(err, CLR_EUSAGE, "--strategy names strategies of one operation; give a single --op with it");
    /* Every dimension option must apply to some operation that runs. */
    for (size_t i = 0; i < cli->ndims; ++i) {
        int used = 0;
        for (size_t p = 0; p < nparts; ++p) {
            const clr_operation *op = clr_op_find(parts[p].op);
            for (size_t d = 0; d < op->ndims; ++d)
                used |= !strcmp(op->dim_names[d], cli->dims[i].name);
        }
        if (!used)
            return clr_fail(err, CLR_EUSAGE, "--%s does not apply to %s", cli->dims[i].name,
                            nparts == 1 ? parts[0].op : "the operations chosen");
    }
    size_t input_cols = 0;
    if (cli->input_path) {
        const clr_operation *op = clr_op_find(parts[0].op);
        if (nparts != 1 || !op->supports_input_file)
            return clr_fail(err, CLR_EUSAGE, "--input needs a single --op that reads rows from a file: sum, rmsnorm or "
                            "matmul");
        if (clr_cli_dim(cli, op->dim_names[0]))
            return clr_fail(err, CLR_EUSAGE, "--%s and --input cannot be combined: with --input, %s is the row "
                            "length of the file", op->dim_names[0], op->dim_names[0]);
        if (clr_input_open_file(input, cli->input_path, err))
            return err->code;
        input_cols = input->cols;
    }
    *runs = calloc(nparts, sizeof **runs);
    if (!*runs)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    *nruns = nparts;
    for (size_t p = 0; p < nparts; ++p) {
        if (prepare_part(cli, &parts[p], command_line, input_cols, &(*runs)[p], err))
            return err->code;
        if (cli->input_path)
            (*runs)[p].cfg.input = *input;
    }
    return CLR_OK;
}

/* The first byte of s that is not part of well-formed UTF-8 (overlong forms, surrogates and
 * values beyond U+10FFFF included), or NULL. */
static const unsigned char *bad_utf8(const char *text)
{
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        size_t len = clr_utf8_char(s);
        if (len == 0)
            return s;
        s += len;
    }
    return NULL;
}

/* The results are JSON, which holds UTF-8 text only, and they record the paths and the command
 * line: a byte that is not UTF-8 would be found only when the results are written. */
static int check_utf8(const clr_cli *cli, const char *command_line, clr_error *err)
{
    const char *names[] = {"--out", "--input", "--kernel-dir"};
    const char *values[] = {cli->out_dir, cli->input_path, cli->kernel_dir};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        const unsigned char *bad = values[i] ? bad_utf8(values[i]) : NULL;
        if (bad)
            return clr_fail(err, CLR_EUSAGE,
                            "%s '%s': byte 0x%02x at offset %zu is not UTF-8; the results are JSON, which holds only "
                            "UTF-8 text, and record this path: give a path spelled in UTF-8 (rename the file or "
                            "directory, or link to it)",
                            names[i], values[i], *bad, (size_t)(bad - (const unsigned char *)values[i]));
    }
    const unsigned char *bad = command_line ? bad_utf8(command_line) : NULL;
    if (bad)
        return clr_fail(err, CLR_EUSAGE,
                        "the command line holds byte 0x%02x, which is not UTF-8 (at offset %zu of '%s'); the results "
                        "record the command line as JSON text, which must be UTF-8: give every argument in UTF-8",
                        *bad, (size_t)(bad - (const unsigned char *)command_line), command_line);
    return CLR_OK;
}

static int check_kernel_dir(const clr_cli *cli, clr_error *err)
{
    struct stat st;
    if (!cli->kernel_dir)
        return CLR_OK;
    if (stat(cli->kernel_dir, &st) != 0)
        return clr_fail(err, CLR_EUSAGE, "--kernel-dir %s: %s (give the directory that holds sum.cl and the other "
                        "kernel sources, e.g. the repository's cl/)", cli->kernel_dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return clr_fail(err, CLR_EUSAGE, "--kernel-dir %s: not a directory (give the directory that holds sum.cl "
                        "and the other kernel sources, e.g. the repository's cl/)", cli->kernel_dir);
    return CLR_OK;
}

static int device_dir(const clr_cli *cli, const clr_device *dev, char *dir, size_t size, clr_error *err)
{
    char slug[256];
    clr_device_slug(dev, slug, sizeof slug);
    const char *root = cli->out_dir ? cli->out_dir : "results";
    if (strlen(root) + 1 + strlen(slug) >= size)
        return clr_fail(err, CLR_EUSAGE, "--out '%s': the path is too long (the limit is %zu bytes with the device's "
                        "folder); choose a shorter --out", root, size - 1);
    snprintf(dir, size, "%s/%s", root, slug);
    return CLR_OK;
}

/* Every file a run will write into dir: the three results files, the journal and, with
 * --save-outputs, one .npy per case (named as clr_write_results names them). fn is called with
 * each name; returns the first non-zero result. */
static int for_each_output(const clr_run_config *cfg, int (*fn)(const char *name, void *arg), void *arg)
{
    const char *name = cfg->name ? cfg->name : cfg->op->name;
    const char *formats[] = {"%s.json", "%s.csv", "%s.md", ".%s.journal.jsonl"};
    char file[1024];
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; ++i) {
        snprintf(file, sizeof file, formats[i], name);
        int rc = fn(file, arg);
        if (rc)
            return rc;
    }
    for (size_t si = 0; cfg->save_outputs && si < cfg->nstrategies; ++si)
        for (size_t z = 0; z < cfg->nshapes; ++z)
            for (size_t b = 0; b < cfg->nbatches; ++b) {
                char dims[160] = "";
                size_t len = 0;
                for (size_t d = 0; d < cfg->op->ndims && len < sizeof dims; ++d)
                    len += (size_t)snprintf(dims + len, sizeof dims - len, "-%s%zu", cfg->op->dim_names[d],
                                            cfg->shapes[z].dims[d]);
                snprintf(file, sizeof file, "%s-%s%s-b%zu.npy", name,
                         cfg->op->strategies[cfg->strategy_index[si]].name, dims, cfg->batches[b]);
                int rc = fn(file, arg);
                if (rc)
                    return rc;
            }
    return 0;
}

typedef struct output_check {
    const char *dir;
    size_t longest;
    clr_error *err;
} output_check;

static int measure_name(const char *name, void *arg)
{
    output_check *oc = arg;
    oc->longest = strlen(name) > oc->longest ? strlen(name) : oc->longest;
    return 0;
}

static int check_file(const char *name, void *arg)
{
    output_check *oc = arg;
    char path[PATH_MAX + 1024];
    snprintf(path, sizeof path, "%s/%s", oc->dir, name);
    return clr_check_out_file(path, oc->err);
}

/* The output folder can be made (or is there) and written, and nothing stands where a results
 * file will go: checked before measuring, creating nothing. */
static int check_outputs(const char *dir, const prepared_run *runs, size_t nruns, clr_error *err)
{
    output_check oc = {dir, 0, err};
    for (size_t r = 0; r < nruns; ++r)
        for_each_output(&runs[r].cfg, measure_name, &oc);
    if (clr_check_out_dir(dir, oc.longest, err))
        return err->code;
    for (size_t r = 0; r < nruns; ++r)
        if (for_each_output(&runs[r].cfg, check_file, &oc))
            return err->code;
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
static void stop_incomplete(const device_run *work, size_t n, const char (*dirs)[PATH_MAX],
                            const char (*tops)[PATH_MAX], size_t ndirs, clr_error *err)
{
    fprintf(stderr, "clrepro: error: %s\n", err->msg);
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
    prepared_run *runs = NULL;
    size_t nruns = 0;
    clr_input input = {0};
    clr_device_list all = {0}, chosen = {0};
    char (*dirs)[PATH_MAX] = NULL, (*tops)[PATH_MAX] = NULL;
    device_run *work = NULL;
    size_t nwork = 0;
    clr_install_cleanup_handlers(); /* before OpenCL, whose compiler installs handlers of its own */
    int rc = check_utf8(cli, command_line, err);
    if (rc == CLR_OK)
        rc = check_kernel_dir(cli, err);
    if (rc == CLR_OK)
        rc = plan_runs(cli, command_line, &runs, &nruns, &input, err);
    if (rc == CLR_OK)
        rc = clr_devices_enumerate(&all, err);
    if (rc == CLR_OK)
        rc = clr_devices_select(&all, cli->device_spec, &chosen, err);
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
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i) {
        rc = device_dir(cli, &chosen.items[i], dirs[i], sizeof dirs[i], err);
        for (size_t r = 0; r < nruns && rc == CLR_OK; ++r) {
            clr_tuning t = clr_run_tuning(&runs[r].cfg, &chosen.items[i]);
            rc = clr_tuning_check(&t, &chosen.items[i], err);
            if (rc == CLR_OK)
                rc = clr_check_fits(&runs[r].cfg, &chosen.items[i], err);
        }
        if (rc == CLR_OK)
            rc = check_outputs(dirs[i], runs, nruns, err);
        if (rc == CLR_OK)
            clr_missing_top(dirs[i], tops[i], sizeof tops[i]);
    }
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i)
        for (size_t r = 0; r < nruns && rc == CLR_OK; ++r) {
            device_run *w = &work[nwork++];
            w->cfg = &runs[r].cfg;
            w->dev = &chosen.items[i];
            w->device = i;
            rc = clr_run_prepare(w->cfg, w->dev, &w->prepared, err);
            if (rc == CLR_OK)
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
                            chosen.count, err);
    }
    /* Write everything, then drop the journals. */
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i)
        rc = clr_prepare_out_dir(dirs[i], err);
    /* One batch for every run on every device: all of them land, or none (a full disk while
     * writing the last leaves no earlier file behind; the journals stay for --resume). */
    clr_file_batch batch = {0};
    for (size_t k = 0; k < nwork && rc == CLR_OK; ++k)
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
        if (!cli->quiet) {
            clr_print_summary(stdout, w->cfg, res, dir);
            if (res->resumed_cases)
                printf("resumed: %zu of %zu cases taken from the journal of an interrupted run\n",
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
        for (size_t i = 0; dirs && tops && i < chosen.count; ++i)
            clr_remove_empty_dirs(dirs[i], tops[i]);
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
    free_prepared(runs, nruns);
    return rc ? rc : status;
}

/* `clrepro compare`: DIR/compare.{md,csv,json}, all three or none. */
static int cmd_compare(const clr_cli *cli, clr_error *err)
{
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
        rc = clr_compare_load(cli->files, cli->nfiles, &cmp, err);
    if (rc == CLR_OK && (!(texts[0] = clr_compare_markdown(&cmp, err)) || !(texts[1] = clr_compare_csv(&cmp, err)) ||
                         !(texts[2] = clr_compare_json(&cmp, err))))
        rc = err->code ? err->code : CLR_EFAIL;
    char top[4096] = "";
    if (rc == CLR_OK) {
        clr_missing_top(dir, top, sizeof top);
        rc = clr_prepare_out_dir(dir, err);
    }
    if (rc == CLR_OK) {
        clr_file_batch batch = {0};
        for (int i = 0; i < 3 && rc == CLR_OK; ++i)
            rc = clr_batch_add(&batch, paths[i], texts[i], strlen(texts[i]), err);
        rc = rc == CLR_OK ? clr_batch_commit(&batch, err) : (clr_batch_abort(&batch), rc);
        if (rc && top[0])
            clr_remove_empty_dirs(dir, top); /* what this command created, when nothing was written */
    }
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

/* `clrepro report`: one HTML file (-o FILE, or -o - for stdout), never one of its inputs. */
static int cmd_report(const clr_cli *cli, clr_error *err)
{
    int to_stdout = !strcmp(cli->output, "-");
    clr_comparison cmp;
    memset(&cmp, 0, sizeof cmp);
    int rc = to_stdout ? CLR_OK : clr_check_output_path(cli->files, cli->nfiles, cli->output, "-o", 1, err);
    if (rc == CLR_OK)
        rc = clr_compare_load(cli->files, cli->nfiles, &cmp, err);
    char *html = rc == CLR_OK ? clr_report_html(&cmp, err) : NULL;
    if (rc == CLR_OK && !html)
        rc = err->code ? err->code : CLR_EFAIL;
    if (rc == CLR_OK && to_stdout) {
        size_t len = strlen(html);
        if (fwrite(html, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = clr_fail(err, CLR_EFAIL, "cannot write the report to stdout");
    } else if (rc == CLR_OK) {
        rc = clr_write_file_atomic(cli->output, html, strlen(html), err);
    }
    if (rc == CLR_OK && !to_stdout) {
        char shown[1024];
        printf("report: %s (%zu documents)\n", clr_escape(cli->output, shown, sizeof shown), cmp.ndocs);
    }
    free(html);
    clr_compare_free(&cmp);
    return rc;
}

int clr_main(int argc, char **argv)
{
    clr_cli cli;
    clr_error err = {0};
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
            rc = cmd_compare(&cli, &err);
            break;
        case CLR_CMD_REPORT:
            rc = cmd_report(&cli, &err);
            break;
        case CLR_CMD_RUN:
        case CLR_CMD_DEMO: {
            size_t len = 1;
            for (int i = 0; i < argc; ++i)
                len += strlen(argv[i]) + 1;
            char *line = calloc(len, 1);
            for (int i = 0; line && i < argc; ++i) {
                strcat(line, i ? " " : "");
                strcat(line, i ? argv[i] : "clrepro");
            }
            cli.command_line = line;
            rc = cli.command == CLR_CMD_RUN ? clr_cmd_run(&cli, line, &err) : clr_cmd_demo(&cli, &err);
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
