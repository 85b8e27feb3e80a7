/* commands.c: `clrepro devices` and `clrepro run`: turn a parsed command line into work, and
 * report the outcome. main.c only calls clr_main. */
#include "commands.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomic_file.h"
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

static int resolve_strategies(const clr_cli *cli, clr_run_config *cfg, clr_error *err)
{
    const clr_operation *op = cfg->op;
    if (!strcmp(cli->strategies, "all")) {
        for (size_t i = 0; i < op->nstrategies; ++i)
            cfg->strategy_index[cfg->nstrategies++] = i;
        return CLR_OK;
    }
    char *copy = clr_strdup(cli->strategies), *save = NULL;
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
        rc = clr_fail(err, CLR_EUSAGE, "--strategy '%s': no strategy named", cli->strategies);
    return rc;
}

static void device_dir(const clr_cli *cli, const clr_device *dev, char *buf, size_t size)
{
    char slug[256];
    clr_device_slug(dev, slug, sizeof slug);
    snprintf(buf, size, "%s/%s", cli->out_dir ? cli->out_dir : "results", slug);
}

int clr_cmd_run(const clr_cli *cli, const char *command_line, clr_error *err)
{
    clr_run_config cfg = {0};
    cfg.op = clr_op_find(cli->op_name);
    if (!cfg.op) {
        size_t n;
        const clr_operation *const *all = clr_op_all(&n);
        char names[256] = "";
        for (size_t i = 0; i < n; ++i)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", all[i]->name);
        return clr_fail(err, CLR_EUSAGE, "--op '%s': unknown operation; choose from %s", cli->op_name, names);
    }
    if (resolve_strategies(cli, &cfg, err))
        return err->code;
    cfg.sizes = cli->sizes;
    cfg.nsizes = cli->nsizes;
    cfg.batches = cli->batches;
    cfg.nbatches = cli->nbatches;
    cfg.trials = cli->trials;
    cfg.reps = cli->reps;
    cfg.warmup = cli->warmup;
    cfg.kernel_dir = cli->kernel_dir;
    cfg.wg = cli->wg;
    cfg.vec = cli->vec;
    cfg.chunk = cli->chunk;
    cfg.save_outputs = cli->save_outputs;
    cfg.progress = !cli->no_progress && isatty(STDERR_FILENO);
    cfg.command_line = command_line;
    cfg.input.seed = cli->seed;
    cfg.input.dist = cli->dist;
    size_t file_size = 0;
    if (cli->input_path) {
        if (clr_input_open_file(&cfg.input, cli->input_path, err))
            return err->code;
        file_size = cfg.input.cols;
        cfg.sizes = &file_size;
        cfg.nsizes = 1;
    }

    clr_device_list all = {0}, chosen = {0};
    int rc = clr_devices_enumerate(&all, err);
    if (rc == CLR_OK)
        rc = clr_devices_select(&all, cli->device_spec, &chosen, err);
    /* Everything that can be refused is refused before the first measurement. */
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i) {
        char dir[4096];
        clr_tuning t = clr_run_tuning(&cfg, &chosen.items[i]);
        device_dir(cli, &chosen.items[i], dir, sizeof dir);
        rc = clr_tuning_check(&t, &chosen.items[i], err);
        if (rc == CLR_OK)
            rc = clr_check_fits(&cfg, &chosen.items[i], err);
        if (rc == CLR_OK)
            rc = clr_prepare_out_dir(dir, err);
    }
    int status = CLR_OK;
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i) {
        clr_device_result res;
        char dir[4096];
        device_dir(cli, &chosen.items[i], dir, sizeof dir);
        rc = clr_run_device(&cfg, &chosen.items[i], &res, err);
        if (rc == CLR_OK)
            rc = clr_write_results(dir, &cfg, &res, err);
        if (rc == CLR_OK) {
            if (!cli->quiet)
                clr_print_summary(stdout, &cfg, &res, dir);
            if (res.invalid_cases) {
                fprintf(stderr, "clrepro: error: %zu case(s) on %s produced outputs beyond their error bound; "
                                "their times are not reported (see %s/%s.md)\n",
                        res.invalid_cases, res.device.name, dir, cfg.op->name);
                status = CLR_EFAIL;
            }
            if (cli->strict && res.broken_claims) {
                fprintf(stderr, "clrepro: --strict: %zu broken claim(s) on %s\n", res.broken_claims,
                        res.device.name);
                status = CLR_EFAIL;
            }
        }
        clr_device_result_free(&res);
    }
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    clr_input_close(&cfg.input);
    return rc ? rc : status;
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
