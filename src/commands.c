/* commands.c: `clrepro devices` and `clrepro run`: turn a parsed command line into work, and
 * report the outcome. main.c only calls clr_main. */
#include "commands.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomic_file.h"
#include "compare.h"
#include "demo.h"
#include "device.h"
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
        if (op->check_shape)
            rc = op->check_shape(s, err);
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

int clr_cmd_run(const clr_cli *cli, const char *command_line, clr_error *err)
{
    prepared_run *runs = NULL;
    size_t nruns = 0;
    clr_input input = {0};
    clr_device_list all = {0}, chosen = {0};
    int rc = plan_runs(cli, command_line, &runs, &nruns, &input, err);
    if (rc == CLR_OK)
        rc = clr_devices_enumerate(&all, err);
    if (rc == CLR_OK)
        rc = clr_devices_select(&all, cli->device_spec, &chosen, err);
    /* Everything that can be refused is refused before the first measurement. */
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i) {
        char dir[4096];
        clr_device_results_dir(cli->out_dir, &chosen.items[i], dir, sizeof dir);
        for (size_t r = 0; r < nruns && rc == CLR_OK; ++r) {
            clr_tuning t = clr_run_tuning(&runs[r].cfg, &chosen.items[i]);
            rc = clr_tuning_check(&t, &chosen.items[i], err);
            if (rc == CLR_OK)
                rc = clr_check_fits(&runs[r].cfg, &chosen.items[i], err);
        }
        if (rc == CLR_OK)
            rc = clr_prepare_out_dir(dir, err);
    }
    int status = CLR_OK;
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i) {
        char dir[4096];
        clr_device_results_dir(cli->out_dir, &chosen.items[i], dir, sizeof dir);
        for (size_t r = 0; r < nruns && rc == CLR_OK; ++r) {
            const clr_run_config *cfg = &runs[r].cfg;
            clr_device_result res;
            rc = clr_run_device(cfg, &chosen.items[i], &res, err);
            if (rc == CLR_OK)
                rc = clr_write_results(dir, cfg, &res, err);
            if (rc == CLR_OK) {
                if (!cli->quiet)
                    clr_print_summary(stdout, cfg, &res, dir);
                if (res.invalid_cases) {
                    fprintf(stderr, "clrepro: error: %zu case(s) of %s on %s produced outputs beyond their error "
                                    "bound; their times are not reported (see %s/%s.md)\n",
                            res.invalid_cases, cfg->name, res.device.name, dir, cfg->name);
                    status = CLR_EFAIL;
                }
                if (cli->strict && res.broken_claims) {
                    fprintf(stderr, "clrepro: --strict: %zu broken claim(s) of %s on %s\n", res.broken_claims,
                            cfg->name, res.device.name);
                    status = CLR_EFAIL;
                }
            }
            clr_device_result_free(&res);
        }
    }
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    clr_input_close(&input);
    free_prepared(runs, nruns);
    return rc ? rc : status;
}

static int cmd_compare(const clr_cli *cli, clr_error *err)
{
    clr_comparison cmp;
    int rc = clr_compare_load(cli->files, cli->nfiles, &cmp, err);
    char *md = NULL, *csv = NULL, *json = NULL;
    const char *dir = cli->out_dir ? cli->out_dir : "results/compare";
    if (rc == CLR_OK) {
        md = clr_compare_markdown(&cmp);
        csv = clr_compare_csv(&cmp);
        json = clr_compare_json(&cmp);
        if (!md || !csv || !json)
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    if (rc == CLR_OK)
        rc = clr_prepare_out_dir(dir, err);
    if (rc == CLR_OK) {
        clr_file_batch batch = {0};
        char path[4200];
        const char *texts[] = {md, csv, json}, *exts[] = {"md", "csv", "json"};
        for (int i = 0; i < 3 && rc == CLR_OK; ++i) {
            snprintf(path, sizeof path, "%s/compare.%s", dir, exts[i]);
            rc = clr_batch_add(&batch, path, texts[i], strlen(texts[i]), err);
        }
        rc = rc == CLR_OK ? clr_batch_commit(&batch, err) : (clr_batch_abort(&batch), rc);
    }
    if (rc == CLR_OK && !cli->quiet)
        printf("%s\nwritten: %s/compare.{md,csv,json}\n", md, dir);
    free(md);
    free(csv);
    free(json);
    clr_compare_free(&cmp);
    return rc;
}

static int cmd_report(const clr_cli *cli, clr_error *err)
{
    clr_comparison cmp;
    int rc = clr_compare_load(cli->files, cli->nfiles, &cmp, err);
    char *html = rc == CLR_OK ? clr_report_html(&cmp) : NULL;
    if (rc == CLR_OK && !html)
        rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    if (rc == CLR_OK)
        rc = clr_write_file_atomic(cli->output, html, strlen(html), err);
    if (rc == CLR_OK)
        printf("report: %s (%zu documents)\n", cli->output, cmp.ndocs);
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
