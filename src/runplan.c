/* runplan.c: from a parsed command line to the runs it asks for, and the one pre-flight that
 * refuses everything checkable before anything is measured. A run is one operation (or one
 * part of a suite, from the operation tables) with its strategies, shapes (the Cartesian
 * product of the dimension lists) and batches; the pre-flight checks, per device, the tuning
 * (generic and the operation's), that every shape fits (inputs, outputs, every strategy's
 * planned scratch, the bandwidth roof's buffer), and that every results file can be written. */
#include "runplan.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomic_file.h"

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

/* One run of one operation: a plain `run` has one per --op, a suite the parts the operation
 * tables give it. */
typedef struct run_part {
    const char *name;
    const clr_operation *op;
    const clr_suite_part *suite; /* shapes, batches and trials; NULL: the command line's */
} run_part;

void clr_planned_runs_free(clr_planned_run *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; ++i)
        free(runs[i].cfg.shapes);
    free(runs);
}

/* Cartesian product of the dimension lists: the command line's, the suite part's, or the
 * operation's defaults (with --input, the first is the file's row length). */
static int build_shapes(const clr_cli *cli, const run_part *part, clr_run_config *cfg, size_t input_cols,
                        clr_error *err)
{
    const clr_operation *op = cfg->op;
    const size_t *lists[CLR_MAX_DIMS] = {0};
    size_t counts[CLR_MAX_DIMS] = {0}, total = 1;
    for (size_t d = 0; d < op->ndims; ++d) {
        const clr_dim_list *given = clr_cli_dim(cli, op->dim_names[d]);
        if (d == 0 && input_cols) {
            lists[d] = &input_cols;
            counts[d] = 1;
        } else if (given) {
            lists[d] = given->values;
            counts[d] = given->count;
        } else {
            lists[d] = part->suite ? part->suite->dims[d] : op->dim_defaults[d];
            counts[d] = clr_list_len(lists[d]);
        }
        if (__builtin_mul_overflow(total, counts[d], &total) || total > ((size_t)1 << 24))
            return clr_fail(err, CLR_EUSAGE, "%s: the dimension lists give more than 2^24 shapes; give fewer sizes",
                            op->name);
    }
    cfg->shapes = clr_calloc(total, sizeof *cfg->shapes, "shapes", err);
    if (!cfg->shapes)
        return err->code;
    for (size_t i = 0; i < total; ++i) {
        clr_shape *s = &cfg->shapes[i];
        size_t rest = i;
        for (size_t d = op->ndims; d-- > 0;) {
            s->dims[d] = lists[d][rest % counts[d]];
            rest /= counts[d];
        }
        s->dtype = (clr_dtype)cli->dtype;
        s->batch = 1;
        if (clr_op_check_shape(op, s, err))
            return err->code;
    }
    cfg->nshapes = total;
    return CLR_OK;
}

static int reads_bf16(const clr_operation *op) { return op->supports_bf16; }
static int reads_files(const clr_operation *op) { return op->supports_input_file; }

static int prepare_part(const clr_cli *cli, const run_part *part, const char *command_line, size_t input_cols,
                        clr_planned_run *out, clr_error *err)
{
    clr_run_config *cfg = &out->cfg;
    memset(out, 0, sizeof *out);
    cfg->op = part->op;
    cfg->name = part->name;
    if (resolve_strategies(cli->strategies, cfg, err))
        return err->code;
    if (cli->dtype == CLR_BF16 && !cfg->op->supports_bf16) {
        char names[128];
        clr_op_names(reads_bf16, "and", names, sizeof names);
        return clr_fail(err, CLR_EUSAGE, "--dtype bf16: %s reads float32 only; bf16 is for %s", cfg->op->name, names);
    }
    if (build_shapes(cli, part, cfg, input_cols, err))
        return err->code;
    /* The batch lists live as long as the run: the command line's or the tables'. */
    if (cli->batches && !part->suite) {
        cfg->batches = cli->batches;
        cfg->nbatches = cli->nbatches;
    } else {
        cfg->batches = part->suite ? part->suite->batches : cfg->op->default_batches;
        cfg->nbatches = clr_list_len(cfg->batches);
    }
    cfg->trials = part->suite && part->suite->trials && !cli->trials_given ? part->suite->trials : cli->trials;
    /* A suite is one command for every device: what does not fit one is skipped there, saying
     * why; shapes and batches given on the command line must fit, or the run is refused. */
    cfg->skip_unfit = part->suite != NULL;
    cfg->reps = cli->reps;
    cfg->warmup = cli->warmup;
    cfg->kernel_dir = cli->kernel_dir;
    cfg->wg = cli->wg;
    cfg->vec = cli->vec;
    cfg->chunk = cli->chunk;
    cfg->contig = cli->contig;
    cfg->save_outputs = cli->save_outputs;
    cfg->progress = !cli->no_progress && isatty(STDERR_FILENO);
    cfg->command_line = command_line;
    cfg->timeout = cli->timeout;
    cfg->input.seed = cli->seed;
    cfg->input.dist = cli->dist;
    cfg->find_switch = cli->find_switch;
    if (cli->find_switch && cfg->nbatches < 3)
        return clr_fail(err, CLR_EUSAGE, "--find-switch searches a range of batch sizes: give --batch at least 3 "
                        "sizes, e.g. --batch 1-512");
    return CLR_OK;
}

/* The runs a command line asks for: a suite's parts, or one per --op (default every op). */
static int plan_runs(const clr_cli *cli, const char *command_line, clr_planned_run **runs, size_t *nruns,
                     clr_input *input, clr_error *err)
{
    run_part parts[32];
    size_t nparts = 0, nops;
    const clr_operation *const *all = clr_op_all(&nops);
    if (cli->suite) {
        for (size_t i = 0; i < nops; ++i)
            for (size_t p = 0; p < all[i]->nsuites && nparts < sizeof parts / sizeof parts[0]; ++p)
                if (!strcmp(all[i]->suites[p].suite, cli->suite))
                    parts[nparts++] = (run_part){all[i]->suites[p].name, all[i], &all[i]->suites[p]};
    } else {
        char *copy = clr_strdup(cli->op_name ? cli->op_name : ""), *save = NULL;
        if (!copy)
            return clr_fail(err, CLR_EFAIL, "out of host memory");
        for (size_t i = 0; !cli->op_name && i < nops; ++i) {
            /* Every operation by default, except those the chosen dtype does not apply to. */
            if (cli->dtype == CLR_BF16 && !all[i]->supports_bf16)
                continue;
            parts[nparts++] = (run_part){all[i]->name, all[i], NULL};
        }
        for (char *tok = strtok_r(copy, ",", &save); tok && nparts < sizeof parts / sizeof parts[0];
             tok = strtok_r(NULL, ",", &save)) {
            const clr_operation *op = clr_op_find(tok);
            if (!op) {
                char names[256];
                clr_op_names(NULL, "and", names, sizeof names);
                clr_fail(err, CLR_EUSAGE, "--op '%s': unknown operation; choose from %s", tok, names);
                free(copy);
                return err->code;
            }
            parts[nparts++] = (run_part){op->name, op, NULL};
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
        for (size_t p = 0; p < nparts; ++p)
            for (size_t d = 0; d < parts[p].op->ndims; ++d)
                used |= !strcmp(parts[p].op->dim_names[d], cli->dims[i].name);
        if (!used)
            return clr_fail(err, CLR_EUSAGE, "--%s does not apply to %s", cli->dims[i].name,
                            nparts == 1 ? parts[0].op->name : "the operations chosen");
    }
    size_t input_cols = 0;
    if (cli->input_path) {
        const clr_operation *op = parts[0].op;
        if (nparts != 1 || !op->supports_input_file) {
            char names[128];
            clr_op_names(reads_files, "or", names, sizeof names);
            return clr_fail(err, CLR_EUSAGE, "--input needs a single --op that reads rows from a file: %s", names);
        }
        if (clr_cli_dim(cli, op->dim_names[0]))
            return clr_fail(err, CLR_EUSAGE, "--%s and --input cannot be combined: with --input, %s is the row "
                            "length of the file", op->dim_names[0], op->dim_names[0]);
        if (clr_input_open_file(input, cli->input_path, err))
            return err->code;
        /* The file replaces the generated rows; the seed still makes the weights (rmsnorm's w,
         * matmul's B) and is recorded with the results. */
        input->seed = cli->seed;
        input->dist = cli->dist;
        input_cols = input->cols;
    }
    *runs = clr_calloc(nparts, sizeof **runs, "runs", err);
    if (!*runs)
        return err->code;
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

/* <out or results>/<folder of device i>: a folder of its own even beside an identical device
 * (clr_device_dir_name), so that no device's results replace another's. */
static int device_dir(const clr_cli *cli, const clr_device_list *devices, size_t i, char *dir, size_t size,
                      clr_error *err)
{
    char slug[320];
    clr_device_dir_name(devices, i, slug, sizeof slug);
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
    const char *formats[] = {"%s.json", "%s.csv", "%s.md", ".%s.journal.jsonl"};
    char file[1024];
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; ++i) {
        snprintf(file, sizeof file, formats[i], clr_run_name(cfg));
        int rc = fn(file, arg);
        if (rc)
            return rc;
    }
    for (size_t si = 0; cfg->save_outputs && si < cfg->nstrategies; ++si)
        for (size_t z = 0; z < cfg->nshapes; ++z)
            for (size_t b = 0; b < cfg->nbatches; ++b) {
                clr_shape shape = cfg->shapes[z];
                shape.batch = cfg->batches[b];
                clr_case_output_name(cfg, cfg->strategy_index[si], &shape, file, sizeof file);
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
static int check_outputs(const char *dir, const clr_planned_run *runs, size_t nruns, clr_error *err)
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


int clr_plan_runs(const clr_cli *cli, const char *command_line, clr_planned_run **runs, size_t *nruns,
                  clr_input *input, clr_error *err)
{
    *runs = NULL;
    *nruns = 0;
    if (check_utf8(cli, command_line, err) || check_kernel_dir(cli, err))
        return err->code;
    if (plan_runs(cli, command_line, runs, nruns, input, err))
        return err->code;
    /* A sweep can ask for tens of thousands of cases: past a bound, only when asked to. The
     * search (--find-switch) runs a fraction of them and is not counted. */
    double cases = 0;
    for (size_t r = 0; r < *nruns; ++r) {
        const clr_run_config *cfg = &(*runs)[r].cfg;
        if (!cfg->find_switch)
            cases += (double)cfg->nstrategies * (double)cfg->nshapes * (double)cfg->nbatches;
    }
    if (cases > CLR_MAX_CASES_UNASKED && !cli->yes)
        return clr_fail(err, CLR_EUSAGE, "this run would measure %.0f cases on each device (strategies x shapes x "
                        "batch sizes), more than %d: add --yes to run them all, --find-switch to search the batch "
                        "sizes for where the bits change, or narrow --batch, --strategy or the shapes",
                        cases, CLR_MAX_CASES_UNASKED);
    return CLR_OK;
}

int clr_preflight(const clr_cli *cli, const clr_planned_run *runs, size_t nruns, const clr_device_list *devices,
                  char (*dirs)[PATH_MAX], char (*tops)[PATH_MAX], clr_error *err)
{
    for (size_t i = 0; i < devices->count; ++i) {
        if (device_dir(cli, devices, i, dirs[i], sizeof dirs[i], err))
            return err->code;
        for (size_t r = 0; r < nruns; ++r)
            if (clr_run_check(&runs[r].cfg, &devices->items[i], err))
                return err->code;
        if (check_outputs(dirs[i], runs, nruns, err))
            return err->code;
        clr_missing_top(dirs[i], tops[i], sizeof tops[i]);
    }
    return CLR_OK;
}
