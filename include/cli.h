/* cli.h: the command line. Parsing is separate from running so that tests can check every
 * option and every error message without a device. */
#ifndef CLREPRO_CLI_H
#define CLREPRO_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "data.h"
#include "program.h"
#include "util.h"

typedef enum clr_command {
    CLR_CMD_RUN,
    CLR_CMD_DEVICES,
    CLR_CMD_DEMO,
    CLR_CMD_COMPARE,
    CLR_CMD_REPORT,
    CLR_CMD_AUDIT,
    CLR_CMD_EXPORT,
    CLR_CMD_DECODE,
    CLR_CMD_HELP,
    CLR_CMD_VERSION
} clr_command;

#define CLR_DEFAULT_TRIALS 10
#define CLR_DEFAULT_REPS 10
#define CLR_DEFAULT_WARMUP 2
#define CLR_DEFAULT_SEED 42
#define CLR_DEFAULT_ORDERS 5000
#define CLR_DEFAULT_DEMO_N 4096
/* Seconds one case may take: far above any shipped case on the slowest device measured (the llm
 * suite's largest matmul on 2 CPU cores takes about a minute), short of a night lost to a hang. */
#define CLR_DEFAULT_TIMEOUT 600

/* Cases per device a run may measure without --yes (a sweep can ask for tens of thousands). */
#define CLR_MAX_CASES_UNASKED 2000

/* The most sizes one list option (--batch, --n, ...) may name, ranges expanded. */
#define CLR_MAX_SIZES 4096

/* Per-row dimension options (--n, --k, --hidden, ...): each a validated list of sizes and ranges
 * (1-512, 1-4096:x2, 64-256:+8). */
#define CLR_MAX_DIM_OPTIONS 8
typedef struct clr_dim_list {
    const char *name;
    size_t *values, count;
} clr_dim_list;

typedef struct clr_cli {
    clr_command command;
    clr_command help_for; /* with CLR_CMD_HELP: which command's help */
    const char *op_name;  /* NULL: every operation */
    const char *strategies, *device_spec, *input_path, *out_dir, *kernel_dir, *suite;
    int device_from_env; /* device_spec is CLREPRO_DEVICE's, not --device's */
    clr_dim_list dims[CLR_MAX_DIM_OPTIONS];
    size_t ndims;
    size_t *batches, nbatches; /* NULL: each operation's default */
    int dtype;                 /* clr_dtype */
    int trials_given;
    const char *demo_name;    /* `clrepro demo NAME` */
    const char *command_line; /* the whole command, recorded with results */
    char **files;             /* compare, report: results documents */
    size_t nfiles;
    const char *output;       /* report: the HTML file; export: the JSON file ("-": stdout) */
    const char *baseline;     /* compare --baseline: the baseline's file or folder (files: the new results) */
    int fail_bits;            /* compare --fail-on bits */
    double fail_slowdown;     /* compare --fail-on slowdown=X (> 1); 0: not asked */
    const char *format;       /* export --format: gbench */
    unsigned trials, reps, warmup, wg, vec, chunk, orders;
    clr_contig contig;
    uint64_t seed;
    clr_dist dist;
    int save_outputs, strict, json, list, quiet, no_progress;
    unsigned timeout; /* seconds per case, 0: no limit */
    int resume;       /* take completed cases from the journal of an interrupted run */
    int find_switch;  /* search the batches for switch points instead of running every one */
    int yes;          /* run more than CLR_MAX_CASES_UNASKED cases per device */
    /* decode */
    const char *model_dir;    /* --model: a Hugging Face checkpoint directory; NULL: synthetic */
    const char *synthetic;    /* --synthetic: small or 1b */
    const char *modes;        /* --mode: comma list of clr_decode_modes' names; NULL: all */
    const char *prompts_path; /* --prompts: token ids, one prompt a line */
    const char *logits_out, *tokens_out; /* .npy of the prompts decoded alone */
    unsigned prompt_count, prompt_len, tokens, repeats;
    int bf16_activations;     /* --activations bf16 */
    int in_fleet;             /* set by fleet mode (src/fleet.c) for each rank's own run */
} clr_cli;

/* argv[0] is the program name. Errors are CLR_EUSAGE with a message naming the option. */
int clr_cli_parse(int argc, char **argv, clr_cli *cli, clr_error *err);
void clr_cli_free(clr_cli *cli);
/* clr_devices_select with the command line's selector (--device, else CLREPRO_DEVICE, else all);
 * a failure names the environment variable when the selector came from it. */
int clr_cli_select_devices(const clr_cli *cli, const clr_device_list *all, clr_device_list *out, clr_error *err);
void clr_cli_usage(FILE *out, clr_command command);
/* The values given for --name, or NULL when the option was not given. */
const clr_dim_list *clr_cli_dim(const clr_cli *cli, const char *name);

#endif
