/* cli.c: parses `clrepro [command] [options]` into a clr_cli. Options take `--name value` or
 * `--name=value`; every value is checked here, so later stages can trust it: numbers with one
 * parser (4096, 2^12, 4K) and their range, lists without empty or repeated items. */
#include "cli.h"
#include "op.h"

#include <stdlib.h>
#include <string.h>

typedef enum { ARG_NONE, ARG_VALUE } arg_kind;

typedef struct option_spec {
    const char *name;
    arg_kind kind;
    unsigned commands; /* bit per clr_command it applies to */
    const char *metavar, *help;
} option_spec;

#define RUN (1u << CLR_CMD_RUN)
#define DEV (1u << CLR_CMD_DEVICES)
#define DEMO (1u << CLR_CMD_DEMO)
#define CMP (1u << CLR_CMD_COMPARE)
#define REP (1u << CLR_CMD_REPORT)
#define AUD (1u << CLR_CMD_AUDIT)
#define EXP (1u << CLR_CMD_EXPORT)
#define DEC (1u << CLR_CMD_DECODE)

static const option_spec options[] = {
    /* NULL help: written from the operation tables (option_help). The operations' dimensions
     * (--n, --k, ...) are options too: run's help lists them after --strategy. */
    {"op", ARG_VALUE, RUN, "LIST", NULL},
    {"suite", ARG_VALUE, RUN, "NAME", NULL},
    {"strategy", ARG_VALUE, RUN, "LIST", "strategies, comma-separated, or all (default all)"},
    {"n", ARG_VALUE, DEMO, "N", "values to sum (default 4096). Numbers take 4096, 2^12 and 4K forms"},
    {"dtype", ARG_VALUE, RUN, "T", NULL},
    {"orders", ARG_VALUE, DEMO, "K", "demo order: random orders to sum in, 2..1000000 (default 5000)"},
    {"batch", ARG_VALUE, RUN, "LIST", NULL},
    {"batch", ARG_VALUE, DEC, "LIST", "batch sizes the prompts are decoded in, with other sequences around them (default 1,2,4,8,16,32,64); 1, each prompt alone, is always run: it is the reference"},
    {"model", ARG_VALUE, DEC, "DIR", "a Hugging Face LlamaForCausalLM directory: config.json and model.safetensors or its shards, F32, BF16 or F16 (default: a synthetic model, written and loaded through the same loader)"},
    {"synthetic", ARG_VALUE, DEC, "NAME", "without --model: small (dim 288, 6 layers, 6 heads, vocab 32000; default) or 1b (the shapes of Llama 3.2 1B: dim 2048, 16 layers, 32 heads, 8 KV heads, vocab 128256)"},
    {"activations", ARG_VALUE, DEC, "T", "how activations are stored between operations: fp32 (default) or bf16 (rounded to bfloat16 as bf16 serving engines keep them; the operations compute in float32 either way)"},
    {"mode", ARG_VALUE, DEC, "LIST", "fast, invariant and portable, comma-separated (default all three)"},
    {"prompts", ARG_VALUE, DEC, "FILE", "prompts as token ids, one prompt a line, ids separated by spaces (default: --prompt-count prompts from the generator)"},
    {"prompt-count", ARG_VALUE, DEC, "P", "prompts from the generator, 1..256 (default 8)"},
    {"prompt-len", ARG_VALUE, DEC, "N", "tokens of each generated prompt, 1..4096 (default 16)"},
    {"tokens", ARG_VALUE, DEC, "T", "tokens generated greedily per prompt, 1..4096 (default 32)"},
    {"repeats", ARG_VALUE, DEC, "R", "runs of each batch size, the other sequences' positions changing each time, 1..100 (default 2)"},
    {"logits-out", ARG_VALUE, DEC, "FILE.npy", "one mode: write the logits of each prompt decoded alone, float32 [P][S][vocab], S = prompt length + T - 1 (prompts of one length)"},
    {"tokens-out", ARG_VALUE, DEC, "FILE.npy", "one mode: write each prompt's T greedy tokens decoded alone, int32 [P][T]"},
    {"trials", ARG_VALUE, RUN, "T", "run-to-run trials per case, 2..100000 (default 10)"},
    {"reps", ARG_VALUE, RUN, "R", "timed repetitions per case, 1..100000 (default 10)"},
    {"warmup", ARG_VALUE, RUN, "W", "untimed launches before measuring, 0..1000 (default 2)"},
    {"seed", ARG_VALUE, RUN | DEC, "S", "generator seed, 0..2^63-1 (default 42)"},
    {"seed", ARG_VALUE, DEMO, "S", "seed of the values and of the orders, 0..2^32-1 (default 42)"},
    {"dist", ARG_VALUE, RUN, "D", "input distribution: uniform, normal or illcond (default uniform)"},
    {"input", ARG_VALUE, RUN, "FILE.npy", "use rows of a float32 .npy file (1-D or 2-D, C order) instead of the generator; n is its row length"},
    {"device", ARG_VALUE, RUN | DEV | DEMO | AUD | DEC, "SPEC", "all, gpu, cpu, an index N, P:D or part of a name; comma lists (default: CLREPRO_DEVICE if set, else all)"},
    {"out", ARG_VALUE, RUN, "DIR", "results go to DIR/<device>/ (default results/<device>/); --out - writes the results document (JSON) of one run on one device to stdout, the summary to stderr"},
    {"out", ARG_VALUE, DEMO | AUD | DEC, "DIR", "results go to DIR/<device>/ (default results/<device>/)"},
    {"out", ARG_VALUE, CMP, "DIR", "write DIR/compare.md, .csv and .json (default results/compare); with --baseline DIR/baseline.md, .csv and .json (default results/baseline)"},
    {"baseline", ARG_VALUE, CMP, "OLD", "compare the results named (NEW) against the baseline OLD (a results file or a folder): per case, did the bits change, and is the time significantly slower or faster (from the repetitions)"},
    {"fail-on", ARG_VALUE, CMP, "WHAT", "with --baseline, exit 1 when: bits (a strategy claiming determinism changed bits), slowdown=RATIO (a case significantly slower by more than RATIO, e.g. 1.10); comma-separated or given twice for both"},
    {"output", ARG_VALUE, REP, "FILE", "report: the HTML file to write (required; -o FILE also works)"},
    {"format", ARG_VALUE, EXP, "FORMAT", "gbench: Google Benchmark's JSON, for its compare.py and CI benchmark trackers (required)"},
    {"output", ARG_VALUE, EXP, "FILE", "the file to write, - for stdout (required; -o FILE also works)"},
    {"save-outputs", ARG_NONE, RUN, NULL, "also write every case's outputs as .npy beside the JSON"},
    {"strict", ARG_NONE, RUN, NULL, "exit with status 1 when an observation breaks a strategy's claim"},
    {"kernel-dir", ARG_VALUE, RUN | DEMO | DEC, "DIR", "read kernel sources from DIR instead of the embedded copies"},
    {"wg", ARG_VALUE, RUN, "N", "work-group size of reduction kernels, a power of two (default: per device type)"},
    {"vec", ARG_VALUE, RUN, "N", "vector width 1, 2, 4, 8 or 16 (default: per device type)"},
    {"contig", ARG_VALUE, RUN, "0|1", "1: each work-item walks contiguous data (CPU style); 0: interleaved, one column per work-item in matmul (GPU style) (default: per device type)"},
    {"chunk", ARG_VALUE, RUN, "N", "fixedsplit chunk: sum elements (default 65536 on CPUs, 16384 on GPUs), attention tokens (default on GPUs 64 up to token 1024 and 128 after, elsewhere 256; N sets every chunk)"},
    {"quiet", ARG_NONE, RUN | DEMO | AUD | DEC, NULL, "no summary on stdout"},
    {"quiet", ARG_NONE, CMP | REP | EXP, NULL, "nothing on stdout, and no list of the inputs skipped on stderr"},
    {"no-progress", ARG_NONE, RUN, NULL, "no progress line on stderr (it only appears on a terminal anyway)"},
    {"timeout", ARG_VALUE, DEC, "SECONDS", "time limit of one decode step, 0..604800, 0 for none (default 600); a step that overruns it stops the run, nothing written"},
    {"timeout", ARG_VALUE, RUN, "SECONDS", "time limit of one case (strategy x shape x batch), 0..604800, 0 for none (default 600); a case that overruns it stops the run, incomplete, status 1, its completed cases kept for --resume"},
    {"find-switch", ARG_NONE, RUN, NULL, "search --batch's sizes for where each strategy's probe bits change, running far fewer than all (the ends and every power of two between, then bisection between sizes whose bits differ; it assumes bits that agree at two such sizes agree between them)"},
    {"yes", ARG_NONE, RUN, NULL, "run a sweep of more than " CLR_STR(CLR_MAX_CASES_UNASKED) " cases per device (refused without it)"},
    {"resume", ARG_NONE, RUN, NULL, "take the cases an interrupted run of the same configuration completed from its journal (<out>/<device>/.<name>.journal.jsonl) and measure only the rest"},
    {"list", ARG_NONE, DEV, NULL, "one line per device, as clinfo -l (-l also works)"},
    {"json", ARG_NONE, DEV, NULL, "machine-readable output (schema clrepro.devices)"},
    {"help", ARG_NONE, RUN | DEV | DEMO | CMP | REP | AUD | EXP | DEC, NULL, "this help"},
};

static const char *command_name(clr_command c)
{
    return c == CLR_CMD_DEVICES ? "devices" : c == CLR_CMD_DEMO ? "demo" : c == CLR_CMD_COMPARE ? "compare"
           : c == CLR_CMD_REPORT ? "report" : c == CLR_CMD_AUDIT ? "audit" : c == CLR_CMD_EXPORT ? "export"
           : c == CLR_CMD_DECODE ? "decode" : "run";
}

static int reads_bf16(const clr_operation *op) { return op->supports_bf16; }

/* The help of the options whose text follows the operation tables. */
static void option_help(const char *name, char *buf, size_t size)
{
    size_t nops, len = 0;
    const clr_operation *const *ops = clr_op_all(&nops);
    char names[256];
    if (!strcmp(name, "op")) {
        clr_op_names(NULL, "and", names, sizeof names);
        snprintf(buf, size, "operations, comma-separated: %s (default: every one)", names);
    } else if (!strcmp(name, "suite")) {
        clr_suite_names("or", names, sizeof names);
        snprintf(buf, size, "a fixed set of experiments instead of --op and shapes: %s", names);
    } else if (!strcmp(name, "dtype")) {
        clr_op_names(reads_bf16, "and", names, sizeof names);
        snprintf(buf, size, "storage of inputs: fp32 or bf16 (bf16: %s; default fp32)", names);
    } else if (!strcmp(name, "batch")) {
        len = (size_t)snprintf(buf, size, "batch sizes (rows, tokens or sequences per launch), comma-separated "
                               "(default per operation:");
        for (size_t i = 0; i < nops && len < size; ++i) {
            char list[128];
            clr_list_text(ops[i]->default_batches, list, sizeof list);
            len += (size_t)snprintf(buf + len, size - len, "%s %s %s", i ? ";" : "", ops[i]->name, list);
        }
        if (len < size)
            snprintf(buf + len, size - len, ")");
    } else {
        /* A dimension: what it is to each operation that has it, and its defaults. */
        for (size_t i = 0; i < nops && len < size; ++i)
            for (size_t d = 0; d < ops[i]->ndims && len < size; ++d)
                if (!strcmp(ops[i]->dim_names[d], name)) {
                    char list[128];
                    clr_list_text(ops[i]->dim_defaults[d], list, sizeof list);
                    len += (size_t)snprintf(buf + len, size - len, "%s%s: %s (default %s)", len ? "; " : "",
                                            ops[i]->name, ops[i]->dim_help[d], list);
                }
    }
}

static void print_option(FILE *out, const char *name, const char *metavar, const char *help)
{
    char left[64], text[512];
    snprintf(left, sizeof left, "--%s%s%s", name, metavar ? " " : "", metavar ? metavar : "");
    if (!help) {
        option_help(name, text, sizeof text);
        help = text;
    }
    fprintf(out, "  %-24s %s\n", left, help);
}

void clr_cli_usage(FILE *out, clr_command command)
{
    int general = command == CLR_CMD_HELP || command == CLR_CMD_VERSION;
    if (general) {
        fprintf(out,
                "clrepro %s: how much do the reductions behind LLM inference vary, and what does it cost?\n\n"
                "usage: clrepro [run] [options]      benchmark every strategy on every selected device\n"
                "       clrepro devices [options]    list OpenCL platforms and devices\n"
                "       clrepro demo order [options] sum the same values in many orders, count the results\n"
                "       clrepro compare PATH... [--out DIR]   which devices and runs give the same bits\n"
                "       clrepro report PATH... -o report.html   self-contained HTML report with charts\n"
                "       clrepro compare --baseline OLD NEW... [--fail-on bits,slowdown=1.10]   gate on a baseline\n"
                "       clrepro export --format gbench PATH... -o FILE   Google Benchmark JSON (compare.py)\n"
                "       clrepro audit [options]      what each device's float32 arithmetic does, measured\n"
                "       clrepro decode [options]     decode a Llama model greedily: do the tokens change with the batch?\n"
                "       mpirun -np R clrepro allreduce [options]   the all-reduce across ranks: bits and time at R = 1..R\n"
                "       mpirun -np R clrepro run [options]   fleet mode: every rank's device, one comparison\n"
                "         (PATH: results files, or folders searched for them, e.g. results)\n"
                "       clrepro --version | --help   (clrepro COMMAND --help or clrepro help COMMAND for its options)\n"
                "Numbers take 4096, 2^12 and 4K forms; lists are comma-separated, each item once; size\n"
                "lists (--batch, the shapes) also take ranges: 1-512, 1-4096:x2, 64-256:+8.\n\n"
                "exit status: 0 success; 1 a kernel's output failed validation, a runtime OpenCL error,\n"
                "(with --strict) a broken claim, or (compare --fail-on) a failed gate; 2 bad input (options,\n"
                "files, devices, sizes, kernels).\n\n",
                CLREPRO_VERSION);
        command = CLR_CMD_RUN;
    }
    static const char *const usage[] = {
        [CLR_CMD_RUN] = "usage: clrepro [run] [options]\n"
                        "  measure every strategy of the chosen operations on every chosen device\n"
                        "examples:\n"
                        "  clrepro run --op sum --n 1M --batch 1,8       one operation, one size, two batches\n"
                        "  clrepro run --suite llm --device gpu           an 8B model's shapes on the GPUs\n",
        [CLR_CMD_DEVICES] = "usage: clrepro devices [-l | --json] [--device SPEC]\n"
                            "  the OpenCL devices found, with what the benchmark reads of each\n"
                            "examples:\n"
                            "  clrepro devices -l                             one line per device\n"
                            "  clrepro devices --json --device gpu            the GPUs, as JSON\n",
        [CLR_CMD_DEMO] = "usage: clrepro demo order [options]\n"
                         "  sum the same values in many orders on each device and count the distinct results\n"
                         "example:\n"
                         "  clrepro demo order --n 1M --orders 1000 --device cpu\n",
        [CLR_CMD_COMPARE] = "usage: clrepro compare PATH... [--out DIR]\n"
                            "       clrepro compare --baseline OLD NEW... [--fail-on bits,slowdown=RATIO] [--out DIR]\n"
                            "  which devices and runs give the same bits, case by case (PATH: results\n"
                            "  files, or folders searched for them); with --baseline, what changed from OLD to\n"
                            "  NEW, and exit status 1 when a --fail-on gate fails (for CI)\n"
                            "examples:\n"
                            "  clrepro compare results --out results/compare\n"
                            "  clrepro compare --baseline main/ pr/ --fail-on bits,slowdown=1.10\n",
        [CLR_CMD_EXPORT] = "usage: clrepro export --format gbench PATH... -o FILE\n"
                           "  results documents as Google Benchmark's JSON: every timed repetition, and\n"
                           "  mean, median, stddev and cv (PATH: results files, or folders searched for them)\n"
                           "example:\n"
                           "  clrepro export --format gbench results/my-gpu/sum.json -o sum.gbench.json\n",
        [CLR_CMD_REPORT] = "usage: clrepro report PATH... -o FILE.html\n"
                           "  one self-contained HTML report with charts (PATH: results files, or\n"
                           "  folders searched for them)\n"
                           "example:\n"
                           "  clrepro report results -o report.html\n",
        [CLR_CMD_DECODE] = "usage: clrepro decode [--model DIR] [options]\n"
                           "  decode prompts greedily with a Llama model made of clrepro's operations, alone and\n"
                           "  inside batches of other sequences, in each mode (fast, invariant, portable): how many\n"
                           "  distinct completions does each prompt get, where do they part, and at what speed\n"
                           "examples:\n"
                           "  clrepro decode --device cpu                    a synthetic model, every mode\n"
                           "  clrepro decode --model ~/SmolLM2-135M --mode invariant --tokens 64\n",
        [CLR_CMD_AUDIT] = "usage: clrepro audit [--device SPEC] [--out DIR] [--quiet]\n"
                          "  measure each device's float32 arithmetic on a fixed sample: contraction of a*b+c,\n"
                          "  flushing of subnormals, fma, and the accuracy of exp, log, sqrt, division and their\n"
                          "  native_, half_ and portable variants (DIR/<device>/audit.json and audit.md)\n"
                          "example:\n"
                          "  clrepro audit --device gpu                     the GPUs' arithmetic, in results/\n",
    };
    if (!general && command < sizeof usage / sizeof usage[0] && usage[command])
        fprintf(out, "%s\n", usage[command]);
    fprintf(out, "options of `clrepro %s%s`:\n", command_name(command), command == CLR_CMD_DEMO ? " order" : "");
    if (command == CLR_CMD_RUN || command == CLR_CMD_DEMO)
        fprintf(out, "(numbers take 4096, 2^12 and 4K forms; lists are comma-separated, each item once;\n"
                     "size lists also take ranges: 1-512, 1-4096:x2, 64-256:+8)\n");
    size_t nops;
    const clr_operation *const *ops = clr_op_all(&nops);
    for (size_t i = 0; i < sizeof options / sizeof options[0]; ++i) {
        if (!(options[i].commands & (1u << command)))
            continue;
        print_option(out, options[i].name, options[i].metavar, options[i].help);
        if (command != CLR_CMD_RUN || strcmp(options[i].name, "strategy"))
            continue;
        /* Every operation's dimensions, each name once, in the operations' order. */
        for (size_t k = 0; k < nops; ++k)
            for (size_t d = 0; d < ops[k]->ndims; ++d) {
                int seen = 0;
                for (size_t j = 0; j <= k && !seen; ++j)
                    for (size_t e = 0; e < ops[j]->ndims && !seen && (j < k || e < d); ++e)
                        seen = !strcmp(ops[j]->dim_names[e], ops[k]->dim_names[d]);
                if (!seen)
                    print_option(out, ops[k]->dim_names[d], "LIST", NULL);
            }
    }
    if (command != CLR_CMD_RUN)
        return;
    fprintf(out, "\noperations, their strategies and what each claims:\n");
    for (size_t i = 0; i < nops; ++i) {
        fprintf(out, "  %s: %s\n", ops[i]->name, ops[i]->summary);
        for (size_t k = 0; k < ops[i]->nstrategies; ++k) {
            const clr_strategy *st = &ops[i]->strategies[k];
            char claims[128] = "";
            for (unsigned bit = 1; bit < (1u << CLR_NCLAIMS); bit <<= 1)
                if (st->claims & bit)
                    snprintf(claims + strlen(claims), sizeof claims - strlen(claims), "%s%s", claims[0] ? ", " : "",
                             clr_claim_name(bit));
            fprintf(out, "    %-15s %s [%s]\n", st->name, st->summary, claims[0] ? claims : "no claims");
        }
    }
}

static int bad(clr_error *err, const char *opt, const char *value, const char *expect)
{
    return clr_fail(err, CLR_EUSAGE, "--%s '%s': %s", opt, value, expect);
}

static int parse_uint_opt(const char *opt, const char *v, unsigned lo, unsigned hi, unsigned *out, clr_error *err)
{
    if (clr_parse_uint(v, lo, hi, out)) {
        char expect[96];
        snprintf(expect, sizeof expect, "expected a whole number from %u to %u", lo, hi);
        return bad(err, opt, v, expect);
    }
    return CLR_OK;
}

/* Every comma-separated list option: no empty item (no comma at either end, none doubled). */
static int check_list_items(const char *opt, const char *v, clr_error *err)
{
    if (v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
        return bad(err, opt, v, "an empty item in the list; separate items by single commas, with none at either end");
    return CLR_OK;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int compare_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of names (--op, --strategy): each given once. */
static int parse_name_list(const char *opt, const char *v, clr_error *err)
{
    if (check_list_items(opt, v, err))
        return err->code;
    size_t n = 1;
    for (const char *p = v; *p; ++p)
        n += *p == ',';
    char *copy = clr_strdup(v), **names = malloc(n * sizeof *names), *save = NULL;
    if (!copy || !names) {
        free(copy);
        free(names);
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    }
    size_t k = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        names[k++] = tok;
    qsort(names, k, sizeof *names, compare_name);
    for (size_t i = 1; i < k; ++i)
        if (!strcmp(names[i], names[i - 1])) {
            char expect[160];
            snprintf(expect, sizeof expect, "'%.64s' is given twice; name each once", names[i]);
            bad(err, opt, v, expect);
            break;
        }
    free(names);
    free(copy);
    return err->code;
}

/* One item of a size list: a size, or a sweep A-B (every size from A to B), A-B:xK (A, A*K,
 * A*K^2, ... up to B) or A-B:+K (A, A+K, ... up to B), appended to list. */
static int append_item(const char *opt, const char *v, const char *item, size_t **list, size_t *n, size_t *cap,
                       clr_error *err)
{
    char text[128], *dash, *colon;
    if (strlen(item) >= sizeof text)
        return bad(err, opt, v, "an item is too long");
    snprintf(text, sizeof text, "%s", item);
    dash = strchr(text, '-');
    colon = strchr(text, ':');
    size_t lo, hi, step = 1;
    int geometric = 0;
    if (colon && dash && colon < dash)
        return bad(err, opt, v, "a range is A-B, then its step: A-B:xK or A-B:+K");
    if (!dash || dash == text) { /* "-5" is a negative number, not a range */
        if (colon)
            return bad(err, opt, v, "a step belongs to a range: A-B:xK or A-B:+K");
        if (clr_parse_size(text, &lo))
            return bad(err, opt, v, "expected comma-separated whole numbers (4096, 2^12 or 4K forms) or ranges "
                                    "(1-512, 1-4096:x2, 64-256:+8)");
        hi = lo;
    } else {
        *dash = '\0';
        if (colon)
            *colon = '\0';
        char expect[256];
        if (clr_parse_size(text, &lo) || clr_parse_size(dash + 1, &hi)) {
            snprintf(expect, sizeof expect, "'%.64s' is no range: A-B with whole numbers A and B, optionally :xK "
                     "(multiply) or :+K (add), e.g. 1-512, 1-4096:x2, 64-256:+8", item);
            return bad(err, opt, v, expect);
        }
        if (lo > hi) {
            snprintf(expect, sizeof expect, "the range %.64s is reversed (or empty); give the smaller bound first",
                     item);
            return bad(err, opt, v, expect);
        }
        if (colon) {
            const char *st = colon + 1;
            geometric = *st == 'x';
            if ((*st != 'x' && *st != '+') || clr_parse_size(st + 1, &step)) {
                snprintf(expect, sizeof expect, "the step of %.64s should be xK (multiply by K) or +K (add K)", item);
                return bad(err, opt, v, expect);
            }
            if (step == 0 || (geometric && step == 1)) {
                snprintf(expect, sizeof expect, "the step of %.64s never advances; use x2 or more, or +1 or more",
                         item);
                return bad(err, opt, v, expect);
            }
            if (geometric && lo == 0)
                return bad(err, opt, v, "a range multiplied by a step cannot start at 0");
        }
    }
    for (size_t x = lo;;) {
        if (*n == CLR_MAX_SIZES)
            return bad(err, opt, v, "more than " CLR_STR(CLR_MAX_SIZES) " sizes; use a coarser step");
        if (*n == *cap) {
            size_t grown = *cap ? 2 * *cap : 16;
            size_t *bigger = realloc(*list, grown * sizeof *bigger);
            if (!bigger)
                return clr_fail(err, CLR_EFAIL, "out of host memory");
            *list = bigger;
            *cap = grown;
        }
        (*list)[(*n)++] = x;
        /* the next size, unless it would pass hi (or overflow) */
        if (geometric ? x > hi / step : hi - x < step)
            break;
        x = geometric ? x * step : x + step;
    }
    return CLR_OK;
}

/* A list of sizes (--batch, --n, ...): items separated by commas, each a size or a range
 * (append_item), every size at least 1 and given once, in the order given. */
static int parse_list(const char *opt, const char *v, size_t **items, size_t *count, clr_error *err)
{
    free(*items);
    *items = NULL;
    *count = 0;
    if (check_list_items(opt, v, err))
        return err->code;
    char *copy = clr_strdup(v), *save = NULL;
    size_t *list = NULL, n = 0, cap = 0;
    if (!copy)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (append_item(opt, v, tok, &list, &n, &cap, err))
            break;
    free(copy);
    if (err->code) {
        free(list);
        return err->code;
    }
    *items = list;
    *count = n;
    for (size_t i = 0; i < *count; ++i)
        if ((*items)[i] == 0)
            return bad(err, opt, v, "every value must be at least 1");
    size_t *sorted = malloc(*count * sizeof *sorted);
    if (!sorted)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    memcpy(sorted, *items, *count * sizeof *sorted);
    qsort(sorted, *count, sizeof *sorted, compare_size);
    for (size_t i = 1; i < *count; ++i)
        if (sorted[i] == sorted[i - 1]) {
            char expect[160];
            snprintf(expect, sizeof expect, "%zu is given twice (4K and 4096 are the same size, and ranges may "
                     "overlap); give each size once", sorted[i]);
            bad(err, opt, v, expect);
            break;
        }
    free(sorted);
    return err->code;
}

/* The dimensions of the operations are run's options; demo has --n of its own. */
static int is_dim_option(clr_command command, const char *name)
{
    return command == CLR_CMD_RUN ? clr_op_dim_name(name) != NULL : command == CLR_CMD_DEMO && !strcmp(name, "n");
}

const clr_dim_list *clr_cli_dim(const clr_cli *cli, const char *name)
{
    for (size_t i = 0; i < cli->ndims; ++i)
        if (!strcmp(cli->dims[i].name, name))
            return &cli->dims[i];
    return NULL;
}

static int apply(clr_cli *cli, const char *name, const char *v, clr_error *err)
{
    if (is_dim_option(cli->command, name)) {
        clr_dim_list *d = (clr_dim_list *)clr_cli_dim(cli, name);
        if (!d) {
            if (cli->ndims == CLR_MAX_DIM_OPTIONS)
                return clr_fail(err, CLR_EUSAGE, "--%s: more than %d dimension options", name, CLR_MAX_DIM_OPTIONS);
            d = &cli->dims[cli->ndims++];
            d->name = name;
        }
        return parse_list(name, v, &d->values, &d->count, err);
    }
    if (!strcmp(name, "op") || !strcmp(name, "strategy")) {
        if (parse_name_list(name, v, err))
            return err->code;
        if (name[0] == 'o')
            cli->op_name = v;
        else
            cli->strategies = v;
    }
    else if (!strcmp(name, "suite")) cli->suite = v;
    else if (!strcmp(name, "output")) cli->output = v;
    else if (!strcmp(name, "baseline")) cli->baseline = v;
    else if (!strcmp(name, "format")) {
        if (strcmp(v, "gbench"))
            return bad(err, name, v, "expected gbench (Google Benchmark's JSON)");
        cli->format = v;
    }
    else if (!strcmp(name, "fail-on")) {
        /* bits, slowdown=RATIO, or both comma-separated; the option may also be given twice */
        if (check_list_items(name, v, err))
            return err->code;
        for (const char *item = v; *item;) {
            size_t len = strcspn(item, ",");
            if (len == 4 && !strncmp(item, "bits", 4)) {
                cli->fail_bits = 1;
            } else if (len > 9 && !strncmp(item, "slowdown=", 9)) {
                char number[64], *end = NULL;
                snprintf(number, sizeof number, "%.*s", (int)(len - 9 < 63 ? len - 9 : 63), item + 9);
                double x = strtod(number, &end);
                if (len - 9 >= 63 || !end || *end || !(x >= 1 && x <= 1000))
                    return bad(err, name, v, "slowdown=RATIO takes a number from 1 to 1000, the factor a case must "
                               "be slower by to fail (1.10: more than 10% slower)");
                if (cli->fail_slowdown > 0 && cli->fail_slowdown != x)
                    return bad(err, name, v, "slowdown is given twice with different ratios; give it once");
                cli->fail_slowdown = x;
            } else {
                return bad(err, name, v, "expected bits, slowdown=RATIO, or both comma-separated "
                           "(--fail-on bits,slowdown=1.10)");
            }
            item += len + (item[len] == ',');
        }
    }
    else if (!strcmp(name, "dtype")) {
        if (strcmp(v, "fp32") && strcmp(v, "bf16"))
            return bad(err, name, v, "expected fp32 or bf16");
        cli->dtype = !strcmp(v, "bf16");
    }
    else if (!strcmp(name, "device")) {
        if (check_list_items(name, v, err))
            return err->code;
        cli->device_spec = v;
        cli->device_from_env = 0;
    }
    else if (!strcmp(name, "input")) cli->input_path = v;
    else if (!strcmp(name, "out")) cli->out_dir = v;
    else if (!strcmp(name, "kernel-dir")) cli->kernel_dir = v;
    else if (!strcmp(name, "batch")) return parse_list(name, v, &cli->batches, &cli->nbatches, err);
    else if (!strcmp(name, "trials")) {
        cli->trials_given = 1;
        return parse_uint_opt(name, v, 2, 100000, &cli->trials, err);
    }
    else if (!strcmp(name, "reps")) return parse_uint_opt(name, v, 1, 100000, &cli->reps, err);
    else if (!strcmp(name, "warmup")) return parse_uint_opt(name, v, 0, 1000, &cli->warmup, err);
    else if (!strcmp(name, "wg")) return parse_uint_opt(name, v, 1, 1u << 16, &cli->wg, err);
    else if (!strcmp(name, "vec")) return parse_uint_opt(name, v, 1, 16, &cli->vec, err);
    else if (!strcmp(name, "chunk")) return parse_uint_opt(name, v, 1, 1u << 30, &cli->chunk, err);
    else if (!strcmp(name, "orders")) return parse_uint_opt(name, v, 2, 1000000, &cli->orders, err);
    else if (!strcmp(name, "contig")) {
        unsigned c;
        if (parse_uint_opt(name, v, 0, 1, &c, err))
            return err->code;
        cli->contig = c ? CLR_CONTIG_YES : CLR_CONTIG_NO;
    }
    else if (!strcmp(name, "seed")) {
        /* Results store the seed as a JSON integer, which is signed 64-bit in Jansson. */
        if (clr_parse_u64(v, &cli->seed) || cli->seed > (uint64_t)INT64_MAX)
            return bad(err, name, v, "expected a whole number from 0 to 9223372036854775807 (2^63 - 1)");
    } else if (!strcmp(name, "dist")) {
        if (clr_dist_parse(v, &cli->dist))
            return bad(err, name, v, "expected uniform, normal or illcond");
    } else if (!strcmp(name, "save-outputs")) cli->save_outputs = 1;
    else if (!strcmp(name, "strict")) cli->strict = 1;
    else if (!strcmp(name, "json")) cli->json = 1;
    else if (!strcmp(name, "list")) cli->list = 1;
    else if (!strcmp(name, "quiet")) cli->quiet = 1;
    else if (!strcmp(name, "no-progress")) cli->no_progress = 1;
    else if (!strcmp(name, "resume")) cli->resume = 1;
    else if (!strcmp(name, "find-switch")) cli->find_switch = 1;
    else if (!strcmp(name, "yes")) cli->yes = 1;
    else if (!strcmp(name, "timeout")) return parse_uint_opt(name, v, 0, 604800, &cli->timeout, err);
    else if (!strcmp(name, "model")) cli->model_dir = v;
    else if (!strcmp(name, "synthetic")) {
        if (strcmp(v, "small") && strcmp(v, "1b"))
            return bad(err, name, v, "expected small or 1b");
        cli->synthetic = v;
    }
    else if (!strcmp(name, "mode")) {
        if (parse_name_list(name, v, err))
            return err->code;
        for (const char *item = v; *item;) {
            size_t len = strcspn(item, ",");
            if (!((len == 4 && !strncmp(item, "fast", 4)) || (len == 9 && !strncmp(item, "invariant", 9)) ||
                  (len == 8 && !strncmp(item, "portable", 8))))
                return bad(err, name, v, "expected fast, invariant or portable, comma-separated");
            item += len + (item[len] == ',');
        }
        cli->modes = v;
    }
    else if (!strcmp(name, "prompts")) cli->prompts_path = v;
    else if (!strcmp(name, "activations")) {
        if (strcmp(v, "fp32") && strcmp(v, "bf16"))
            return bad(err, name, v, "expected fp32 or bf16");
        cli->bf16_activations = !strcmp(v, "bf16");
    }
    else if (!strcmp(name, "logits-out")) cli->logits_out = v;
    else if (!strcmp(name, "tokens-out")) cli->tokens_out = v;
    else if (!strcmp(name, "prompt-count")) return parse_uint_opt(name, v, 1, 256, &cli->prompt_count, err);
    else if (!strcmp(name, "prompt-len")) return parse_uint_opt(name, v, 1, 4096, &cli->prompt_len, err);
    else if (!strcmp(name, "tokens")) return parse_uint_opt(name, v, 1, 4096, &cli->tokens, err);
    else if (!strcmp(name, "repeats")) return parse_uint_opt(name, v, 1, 100, &cli->repeats, err);
    return CLR_OK;
}

static size_t option_index(const char *name)
{
    for (size_t k = 0; k < sizeof options / sizeof options[0]; ++k)
        if (!strcmp(options[k].name, name))
            return k;
    return 0;
}

static int command_by_name(const char *name, clr_command *out)
{
    static const struct { const char *name; clr_command command; } commands[] = {
        {"run", CLR_CMD_RUN}, {"devices", CLR_CMD_DEVICES}, {"demo", CLR_CMD_DEMO},
        {"compare", CLR_CMD_COMPARE}, {"report", CLR_CMD_REPORT}, {"audit", CLR_CMD_AUDIT},
        {"export", CLR_CMD_EXPORT}, {"decode", CLR_CMD_DECODE},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; ++i)
        if (!strcmp(name, commands[i].name)) {
            *out = commands[i].command;
            return 0;
        }
    return -1;
}

/* --help, --version and `help COMMAND` end the command line. */
static int nothing_after(const char *last, const char *extra, clr_error *err)
{
    return clr_fail(err, CLR_EUSAGE, "unexpected argument '%s' after %s, which takes nothing after it", extra, last);
}

int clr_cli_parse(int argc, char **argv, clr_cli *cli, clr_error *err)
{
    memset(cli, 0, sizeof *cli);
    cli->command = CLR_CMD_RUN;
    cli->strategies = "all";
    cli->device_spec = "all";
    /* The default device selector may come from the environment (a CI runner's GPU, say): it
     * picks devices, never an order of additions, and --device overrides it. */
    const char *env_device = getenv("CLREPRO_DEVICE");
    if (env_device && *env_device) {
        cli->device_spec = env_device;
        cli->device_from_env = 1;
    }
    cli->trials = CLR_DEFAULT_TRIALS;
    cli->reps = CLR_DEFAULT_REPS;
    cli->warmup = CLR_DEFAULT_WARMUP;
    cli->seed = CLR_DEFAULT_SEED;
    cli->orders = CLR_DEFAULT_ORDERS;
    cli->dist = CLR_DIST_UNIFORM;
    cli->timeout = CLR_DEFAULT_TIMEOUT;
    cli->prompt_count = 8;
    cli->prompt_len = 16;
    cli->tokens = 32;
    cli->repeats = 2;

    int i = 1;
    if (i < argc && argv[i][0] != '-') {
        if (!strcmp(argv[i], "help")) {
            /* `clrepro help [COMMAND]` */
            cli->command = CLR_CMD_HELP;
            cli->help_for = CLR_CMD_HELP;
            if (i + 1 < argc && command_by_name(argv[i + 1], &cli->help_for))
                return clr_fail(err, CLR_EUSAGE, "help: unknown command '%s'; commands are run, devices, demo, compare, "
                                "report, audit, export and decode", argv[i + 1]);
            if (i + 2 < argc)
                return clr_fail(err, CLR_EUSAGE, "unexpected argument '%s' after `help %s`, which takes nothing "
                                "after it", argv[i + 2], argv[i + 1]);
            return CLR_OK;
        }
        if (command_by_name(argv[i], &cli->command))
            return clr_fail(err, CLR_EUSAGE, "unknown command '%s'; commands are run, devices, demo, compare, report, audit, export and "
                            "decode "
                            "(clrepro --help)",
                            argv[i]);
        if (cli->command == CLR_CMD_DEMO && i + 1 < argc && argv[i + 1][0] != '-')
            cli->demo_name = argv[++i];
        ++i;
    } else if (i < argc && (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V"))) {
        cli->command = CLR_CMD_VERSION;
        return i + 1 < argc ? nothing_after(argv[i], argv[i + 1], err) : CLR_OK;
    } else if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        cli->command = CLR_CMD_HELP;
        cli->help_for = CLR_CMD_HELP;
        return i + 1 < argc ? nothing_after(argv[i], argv[i + 1], err) : CLR_OK;
    }
    unsigned char given[sizeof options / sizeof options[0]] = {0};
    for (; i < argc; ++i) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h"))
            arg = "--help";
        if (!strcmp(arg, "-o") && (cli->command == CLR_CMD_REPORT || cli->command == CLR_CMD_EXPORT))
            arg = "--output";
        if (!strcmp(arg, "-l") && cli->command == CLR_CMD_DEVICES)
            arg = "--list";
        if ((cli->command == CLR_CMD_COMPARE || cli->command == CLR_CMD_REPORT || cli->command == CLR_CMD_EXPORT) &&
            arg[0] != '-') {
            char **grown = realloc(cli->files, (cli->nfiles + 1) * sizeof *grown);
            if (!grown)
                return clr_fail(err, CLR_EFAIL, "out of host memory");
            cli->files = grown;
            cli->files[cli->nfiles++] = argv[i];
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || !arg[2])
            return clr_fail(err, CLR_EUSAGE, "unexpected argument '%s' (options start with --; clrepro %s --help)",
                            arg, command_name(cli->command));
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const option_spec *spec = NULL;
        for (size_t k = 0; k < sizeof options / sizeof options[0] && !spec; ++k)
            if (strlen(options[k].name) == len && !strncmp(options[k].name, name, len) &&
                (options[k].commands & (1u << cli->command)))
                spec = &options[k];
        /* An operation's dimension: an option of run, named by the operation table. */
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(len < sizeof key ? len : sizeof key - 1), name);
        option_spec dim_spec = {clr_op_dim_name(key), ARG_VALUE, RUN, "LIST", NULL};
        if (!spec && cli->command == CLR_CMD_RUN && len < sizeof key && dim_spec.name)
            spec = &dim_spec;
        if (!spec)
            return clr_fail(err, CLR_EUSAGE, "unknown option '--%.*s' for `clrepro %s` (clrepro %s --help lists them)",
                            (int)len, name, command_name(cli->command), command_name(cli->command));
        /* How the user wrote it (report's -o is --output), for the messages below. */
        char typed[64];
        snprintf(typed, sizeof typed, "%s", !strcmp(argv[i], "-o") ? "-o" : spec->name);
        if (typed[0] != '-')
            snprintf(typed, sizeof typed, "--%s", spec->name);
        /* A list given twice is ambiguous (both? the last?): refused. Other options keep the
         * last value, as shells and scripts that append to a default command line expect. */
        int is_dim = is_dim_option(cli->command, spec->name);
        int is_list = is_dim || !strcmp(spec->name, "op") || !strcmp(spec->name, "strategy") ||
                      !strcmp(spec->name, "batch") || !strcmp(spec->name, "device");
        int twice = is_dim ? clr_cli_dim(cli, spec->name) != NULL : given[spec - options];
        if (twice && is_list)
            return clr_fail(err, CLR_EUSAGE, "option %s is given twice; give it once, with a comma-separated list "
                            "(%s a,b)", typed, typed);
        if (spec != &dim_spec)
            given[spec - options] = 1;
        if (!strcmp(spec->name, "help")) {
            cli->help_for = cli->command;
            cli->command = CLR_CMD_HELP;
            return i + 1 < argc ? nothing_after(argv[i], argv[i + 1], err) : CLR_OK;
        }
        const char *value = NULL;
        if (spec->kind == ARG_VALUE) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return clr_fail(err, CLR_EUSAGE, "option %s needs a value (%s)", typed, spec->metavar);
            if (!*value)
                return clr_fail(err, CLR_EUSAGE, "option %s needs a non-empty value (%s)", typed, spec->metavar);
        } else if (eq) {
            return clr_fail(err, CLR_EUSAGE, "option --%s takes no value", spec->name);
        }
        if (apply(cli, spec->name, value, err))
            return err->code;
    }
    if (cli->command == CLR_CMD_DEMO) {
        if (!cli->demo_name)
            return clr_fail(err, CLR_EUSAGE, "`clrepro demo` needs the name of a demonstration: order");
        if (strcmp(cli->demo_name, "order") != 0)
            return clr_fail(err, CLR_EUSAGE, "unknown demonstration '%s'; there is: order", cli->demo_name);
        if (cli->seed > UINT32_MAX)
            return clr_fail(err, CLR_EUSAGE, "demo order: --seed %llu: at most 4294967295 (its permutations are keyed "
                            "by a 32-bit seed)", (unsigned long long)cli->seed);
        const clr_dim_list *n = clr_cli_dim(cli, "n");
        if (n && n->count != 1)
            return clr_fail(err, CLR_EUSAGE, "demo order: --n takes one value");
        if (n && n->values[0] > (1u << 30))
            return clr_fail(err, CLR_EUSAGE, "demo order: --n %zu: at most 2^30 values", n->values[0]);
    }
    if ((cli->fail_bits || cli->fail_slowdown > 0) && !cli->baseline)
        return clr_fail(err, CLR_EUSAGE, "--fail-on gates a comparison against a baseline: give --baseline OLD too "
                        "(clrepro compare --baseline OLD NEW --fail-on ...)");
    if (cli->command == CLR_CMD_COMPARE && cli->baseline && cli->nfiles == 0)
        return clr_fail(err, CLR_EUSAGE, "`clrepro compare --baseline %s` needs the new results to compare with it: "
                        "clrepro compare --baseline OLD NEW", cli->baseline);
    if ((cli->command == CLR_CMD_COMPARE || cli->command == CLR_CMD_REPORT || cli->command == CLR_CMD_EXPORT) &&
        cli->nfiles == 0)
        return clr_fail(err, CLR_EUSAGE, "`clrepro %s` needs results documents: clrepro %s results/*/*.json",
                        command_name(cli->command), command_name(cli->command));
    if (cli->command == CLR_CMD_EXPORT && !cli->format)
        return clr_fail(err, CLR_EUSAGE, "`clrepro export` needs --format gbench");
    if (cli->command == CLR_CMD_EXPORT && !cli->output)
        return clr_fail(err, CLR_EUSAGE, "`clrepro export` needs -o FILE (or -o - for stdout)");
    if (cli->command == CLR_CMD_RUN && cli->out_dir && !strcmp(cli->out_dir, "-") && (cli->save_outputs || cli->resume))
        return clr_fail(err, CLR_EUSAGE, "--out - writes one JSON document to stdout and nothing else: %s needs a "
                        "results directory (--out DIR)", cli->save_outputs ? "--save-outputs" : "--resume");
    if ((cli->command == CLR_CMD_DEMO || cli->command == CLR_CMD_AUDIT) && cli->out_dir &&
        !strcmp(cli->out_dir, "-"))
        return clr_fail(err, CLR_EUSAGE, "--out -: %s writes several files per device into a directory; name one "
                        "(results go to DIR/<device>/)", command_name(cli->command));
    if (cli->input_path && given[option_index("dist")])
        return clr_fail(err, CLR_EUSAGE, "--dist chooses the generator's distribution, and --input replaces the "
                        "generator; give one of them");
    if (cli->command == CLR_CMD_REPORT && !cli->output)
        return clr_fail(err, CLR_EUSAGE, "`clrepro report` needs -o FILE.html");
    if (cli->command == CLR_CMD_DECODE) {
        if (cli->model_dir && cli->synthetic)
            return clr_fail(err, CLR_EUSAGE, "--synthetic %s chooses the model written when there is no --model; give "
                            "one of them", cli->synthetic);
        if (cli->prompts_path && (given[option_index("prompt-count")] || given[option_index("prompt-len")]))
            return clr_fail(err, CLR_EUSAGE, "--prompts reads the prompts from a file; --prompt-count and --prompt-len "
                            "shape generated ones: give one or the other");
        if ((cli->logits_out || cli->tokens_out) && (!cli->modes || strchr(cli->modes, ',')))
            return clr_fail(err, CLR_EUSAGE, "%s writes one mode's outputs: name it with --mode (e.g. --mode invariant)",
                            cli->logits_out ? "--logits-out" : "--tokens-out");
        if (cli->out_dir && !strcmp(cli->out_dir, "-"))
            return clr_fail(err, CLR_EUSAGE, "--out -: decode writes several files per device into a directory; "
                            "name one (results go to DIR/<device>/)");
        for (size_t k = 0; k < cli->nbatches; ++k)
            if (cli->batches[k] > 1024)
                return clr_fail(err, CLR_EUSAGE, "decode --batch %zu: at most 1024 sequences in a batch",
                                cli->batches[k]);
    }
    if (cli->suite && (cli->op_name || cli->ndims || cli->batches || cli->input_path))
        return clr_fail(err, CLR_EUSAGE, "--suite %s fixes the operations, shapes and batches; do not combine it with "
                        "--op, --batch, --input or shape options", cli->suite);
    if (cli->suite && !clr_op_is_suite(cli->suite)) {
        char names[128];
        clr_suite_names("and", names, sizeof names);
        return clr_fail(err, CLR_EUSAGE, "--suite '%s': unknown suite; there are %s", cli->suite, names);
    }
    return CLR_OK;
}

int clr_cli_select_devices(const clr_cli *cli, const clr_device_list *all, clr_device_list *out, clr_error *err)
{
    if (clr_devices_select(all, cli->device_spec, out, err) == CLR_OK)
        return CLR_OK;
    if (cli->device_from_env) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len, " (this selector is the environment's CLREPRO_DEVICE; "
                 "give --device, or change or unset CLREPRO_DEVICE)");
    }
    return err->code;
}

void clr_cli_free(clr_cli *cli)
{
    for (size_t i = 0; i < cli->ndims; ++i)
        free(cli->dims[i].values);
    cli->ndims = 0;
    free(cli->batches);
    cli->batches = NULL;
    free(cli->files);
    cli->files = NULL;
    cli->nfiles = 0;
}
