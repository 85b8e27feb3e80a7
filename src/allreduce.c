/* allreduce.c: the host side of `clrepro allreduce` that needs no MPI: the strategy table, the
 * command line, the replays validation demands, and the documents (include/allreduce.h). */
#include "allreduce.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "reference.h"
#include "replay.h"
#include "text.h"

const clr_ar_strategy clr_ar_strategies[CLR_AR_NSTRATEGIES] = {
    {"mpi", "each rank folds its slices, then MPI_Allreduce(MPI_SUM) as a user calls it", 0},
    {"ring", "each rank folds its slices, then a fixed ring (reduce-scatter, allgather) as NCCL runs it",
     CLR_AR_CLAIM_DETERMINISTIC | CLR_AR_CLAIM_DEVICE_INVARIANT},
    {"ordered", "one running sum carried from rank to rank in pieces: slice order at every rank count",
     CLR_AR_CLAIM_DETERMINISTIC | CLR_AR_CLAIM_RANK_INVARIANT | CLR_AR_CLAIM_DEVICE_INVARIANT},
    {"exact", "long-accumulator digits all-reduced as integers, rounded once: the correctly rounded sum",
     CLR_AR_CLAIM_DETERMINISTIC | CLR_AR_CLAIM_RANK_INVARIANT | CLR_AR_CLAIM_ORDER_INDEPENDENT |
         CLR_AR_CLAIM_DEVICE_INVARIANT},
};

void clr_ar_claims_text(unsigned claims, char *buf, size_t size)
{
    static const char *names[] = {"deterministic", "rank-count invariant", "order-independent", "device-invariant"};
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < 4; ++b)
        if (claims & (1u << b))
            len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? ", " : "", names[b]);
    if (!len)
        snprintf(buf, size, "none");
}

size_t clr_ar_lcm_upto(size_t r, size_t limit)
{
    size_t l = 1;
    for (size_t k = 2; k <= r; ++k) {
        size_t a = l, b = k;
        while (b) {
            size_t t = a % b;
            a = b;
            b = t;
        }
        if (l / a > limit / k)
            return 0;
        l = l / a * k;
        if (l > limit)
            return 0;
    }
    return l;
}

/* --- command line ---------------------------------------------------------------------- */

void clr_ar_usage(FILE *out)
{
    fprintf(out,
            "usage: mpirun -np R clrepro allreduce [options]\n"
            "\n"
            "The all-reduce behind tensor parallelism, measured across MPI ranks, each rank on its own\n"
            "OpenCL device (the local rank's among the devices --device selects, wrapping around).\n"
            "Every rank count from 1 to R that divides the problem is run on the first ranks, so one\n"
            "command gives the bits and the time of every strategy at every rank count.\n"
            "\n"
            "  --strategy LIST   mpi, ring, ordered, exact (default: all)\n"
            "  --n LIST          message sizes in floats of the plain all-reduce\n"
            "                    (default 4096,32K,256K,2M: a hidden state of 4096 x B = 1, 8, 64, 512);\n"
            "                    --n off runs the layer alone\n"
            "  --slices S        the plain all-reduce adds S slices of n floats, S/R a rank\n"
            "                    (default lcm(1..R): every rank count divides it)\n"
            "  --layer KxN|off   the tensor-parallel layer: a row-parallel matmul of M x K by K x N, K\n"
            "                    split across ranks in chunks of %d, then the all-reduce (default 4096x4096)\n"
            "  --batch LIST      the layer's M values (default 1,8,64)\n"
            "  --ranks LIST      rank counts to run (default: 1..R, those that divide the problem)\n"
            "  --reps N          timed repetitions of each case (default 10), --warmup N (default 2)\n"
            "  --seed N          inputs' seed (default 42), --dist uniform|normal|illcond (default normal)\n"
            "  --device SPEC     all|gpu|cpu|N|P:D|name-substring (default CLREPRO_DEVICE if set, else all)\n"
            "  --out DIR         where rank 0 writes allreduce.{json,csv,md} (default results/allreduce)\n"
            "  --kernel-dir DIR  kernel sources instead of the embedded ones\n"
            "  --quiet           no tables on stdout\n"
            "\n"
            "On one machine with several GPUs: mpirun -np 4 clrepro allreduce --device gpu. With PoCL,\n"
            "give each rank its share of the cores (POCL_CPU_MAX_CU_COUNT, POCL_MAX_PTHREAD_COUNT).\n",
            CLR_AR_KCHUNK);
}

static int parse_list(const char *opt, const char *v, size_t **items, size_t *count, size_t max, clr_error *err)
{
    free(*items);
    *items = NULL;
    *count = 0;
    if (clr_parse_size_list(v, items, count) || !*count)
        return clr_fail(err, CLR_EUSAGE, "%s '%s': expected a comma list of sizes (e.g. 1,8,64 or 4K)", opt, v);
    for (size_t i = 0; i < *count; ++i)
        if ((*items)[i] == 0 || (*items)[i] > max)
            return clr_fail(err, CLR_EUSAGE, "%s '%s': each value must be in 1..%zu", opt, v, max);
    return CLR_OK;
}

void clr_ar_options_free(clr_ar_options *o)
{
    free(o->sizes);
    free(o->batches);
    free(o->ranks);
    memset(o, 0, sizeof *o);
}

int clr_ar_parse(int argc, char **argv, clr_ar_options *o, int *help, clr_error *err)
{
    memset(o, 0, sizeof *o);
    *help = 0;
    o->strategies = (1u << CLR_AR_NSTRATEGIES) - 1;
    o->layer_k = 4096;
    o->layer_n = 4096;
    o->reps = 10;
    o->warmup = 2;
    o->seed = 42;
    o->dist = CLR_DIST_NORMAL;
    o->device_spec = getenv("CLREPRO_DEVICE") && *getenv("CLREPRO_DEVICE") ? getenv("CLREPRO_DEVICE") : "all";
    o->out_dir = "results/allreduce";
    int rc = CLR_OK;
    for (int i = 2; i < argc && rc == CLR_OK; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
            return CLR_OK;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (strncmp(a, "--", 2))
            return clr_fail(err, CLR_EUSAGE, "allreduce: unexpected argument '%s' (options start with --; see "
                                             "clrepro allreduce --help)", a);
        const char *eq = strchr(a, '=');
        char name[32];
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name)
            return clr_fail(err, CLR_EUSAGE, "allreduce: unknown option '%.40s' (see clrepro allreduce --help)", a);
        memcpy(name, a, len);
        name[len] = '\0';
        static const char *known[] = {"--strategy", "--n",    "--slices", "--layer",      "--batch", "--ranks",
                                      "--reps",     "--warmup", "--seed", "--dist",       "--device", "--out",
                                      "--kernel-dir"};
        int found = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; ++k)
            found |= !strcmp(name, known[k]);
        if (!found)
            return clr_fail(err, CLR_EUSAGE, "allreduce: unknown option '%s' (see clrepro allreduce --help)", name);
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || !*v)
            return clr_fail(err, CLR_EUSAGE, "allreduce: %s needs a value", name);
        if (!strcmp(name, "--strategy")) {
            o->strategies = 0;
            if (!strcmp(v, "all")) {
                o->strategies = (1u << CLR_AR_NSTRATEGIES) - 1;
                continue;
            }
            const char *p = v;
            while (*p) {
                size_t l = strcspn(p, ",");
                int s = -1;
                for (int k = 0; k < CLR_AR_NSTRATEGIES; ++k)
                    if (strlen(clr_ar_strategies[k].name) == l && !strncmp(p, clr_ar_strategies[k].name, l))
                        s = k;
                if (s < 0)
                    return clr_fail(err, CLR_EUSAGE, "--strategy '%s': unknown strategy '%.*s' (mpi, ring, ordered, "
                                                     "exact or all)", v, (int)(l > 40 ? 40 : l), p);
                o->strategies |= 1u << s;
                p += l;
                if (*p == ',' && !*++p)
                    return clr_fail(err, CLR_EUSAGE, "--strategy '%s': empty item", v);
            }
        } else if (!strcmp(name, "--n")) {
            if (!strcmp(v, "off")) {
                o->plain_off = 1;
                free(o->sizes);
                o->sizes = NULL;
                o->nsizes = 0;
            } else {
                o->plain_off = 0;
                rc = parse_list("--n", v, &o->sizes, &o->nsizes, (size_t)1 << 30, err);
            }
        } else if (!strcmp(name, "--batch"))
            rc = parse_list("--batch", v, &o->batches, &o->nbatches, 65536, err);
        else if (!strcmp(name, "--ranks")) {
            rc = parse_list("--ranks", v, &o->ranks, &o->nranks, CLR_AR_MAX_RANKS, err);
            o->ranks_given = 1;
        } else if (!strcmp(name, "--slices")) {
            if (clr_parse_size(v, &o->slices) || o->slices == 0 || o->slices > 65535)
                return clr_fail(err, CLR_EUSAGE, "--slices '%s': expected a count in 1..65535", v);
        } else if (!strcmp(name, "--layer")) {
            if (!strcmp(v, "off")) {
                o->layer_k = o->layer_n = 0;
                continue;
            }
            const char *x = strchr(v, 'x');
            char kbuf[32];
            size_t kl = x ? (size_t)(x - v) : 0;
            if (!x || kl == 0 || kl >= sizeof kbuf)
                return clr_fail(err, CLR_EUSAGE, "--layer '%s': expected KxN (e.g. 4096x4096) or off", v);
            memcpy(kbuf, v, kl);
            kbuf[kl] = '\0';
            if (clr_parse_size(kbuf, &o->layer_k) || clr_parse_size(x + 1, &o->layer_n) || !o->layer_k ||
                !o->layer_n || o->layer_k > ((size_t)1 << 20) || o->layer_n > ((size_t)1 << 20))
                return clr_fail(err, CLR_EUSAGE, "--layer '%s': expected KxN, each in 1..1M", v);
            if (o->layer_k % CLR_AR_KCHUNK)
                return clr_fail(err, CLR_EUSAGE, "--layer '%s': K = %zu is not a multiple of %d, the chunk of K that "
                                                 "is split across ranks (matmul tiled's chunk)", v, o->layer_k,
                                CLR_AR_KCHUNK);
        } else if (!strcmp(name, "--reps")) {
            if (clr_parse_uint(v, 1, 1000, &o->reps))
                return clr_fail(err, CLR_EUSAGE, "--reps '%s': expected a count in 1..1000", v);
        } else if (!strcmp(name, "--warmup")) {
            if (clr_parse_uint(v, 0, 100, &o->warmup))
                return clr_fail(err, CLR_EUSAGE, "--warmup '%s': expected a count in 0..100", v);
        } else if (!strcmp(name, "--seed")) {
            if (clr_parse_u64(v, &o->seed))
                return clr_fail(err, CLR_EUSAGE, "--seed '%s': expected a decimal integer", v);
        } else if (!strcmp(name, "--dist")) {
            if (clr_dist_parse(v, &o->dist))
                return clr_fail(err, CLR_EUSAGE, "--dist '%s': expected uniform, normal or illcond", v);
        } else if (!strcmp(name, "--device"))
            o->device_spec = v;
        else if (!strcmp(name, "--out"))
            o->out_dir = v;
        else if (!strcmp(name, "--kernel-dir"))
            o->kernel_dir = v;
    }
    if (rc)
        return rc;
    if (!o->plain_off && !o->sizes) {
        static const size_t sizes[] = {4096, 32768, 262144, 2097152};
        o->sizes = malloc(sizeof sizes);
        if (!o->sizes)
            return clr_fail(err, CLR_EFAIL, "out of host memory");
        memcpy(o->sizes, sizes, sizeof sizes);
        o->nsizes = 4;
    }
    if (!o->batches) {
        static const size_t batches[] = {1, 8, 64};
        o->batches = malloc(sizeof batches);
        if (!o->batches)
            return clr_fail(err, CLR_EFAIL, "out of host memory");
        memcpy(o->batches, batches, sizeof batches);
        o->nbatches = 3;
    }
    if (o->plain_off && !o->layer_k)
        return clr_fail(err, CLR_EUSAGE, "--n off with --layer off: nothing to run");
    /* rank counts ascending, each once: the first is the one every other is compared with */
    for (size_t a = 1; a < o->nranks; ++a)
        for (size_t b = a; b > 0 && o->ranks[b - 1] > o->ranks[b]; --b) {
            size_t t = o->ranks[b];
            o->ranks[b] = o->ranks[b - 1];
            o->ranks[b - 1] = t;
        }
    size_t u = 0;
    for (size_t a = 0; a < o->nranks; ++a)
        if (!u || o->ranks[u - 1] != o->ranks[a])
            o->ranks[u++] = o->ranks[a];
    o->nranks = u;
    for (size_t i = 0; o->layer_k && i < o->nbatches; ++i)
        if (o->batches[i] * o->layer_n > ((size_t)1 << 30))
            return clr_fail(err, CLR_EUSAGE, "--batch %zu with --layer %zux%zu: a message of %zu floats, over the 2^30 "
                                             "this tool sends; lower --batch or N", o->batches[i], o->layer_k,
                            o->layer_n, o->batches[i] * o->layer_n);
    if (!strcmp(o->out_dir, "-"))
        return clr_fail(err, CLR_EUSAGE, "--out -: allreduce writes three files (allreduce.json, .csv, .md); name "
                                         "a directory");
    return CLR_OK;
}

/* --- replays ---------------------------------------------------------------------------- */

float clr_ar_fold(const float *v, size_t count)
{
    volatile float acc = 0.0f; /* one rounding per addition, whatever the compiler contracts */
    for (size_t s = 0; s < count; ++s)
        acc = acc + v[s];
    return acc;
}

size_t clr_ar_block_start(size_t b, size_t n, size_t R)
{
    /* b n / R without overflow for n < 2^40 and R <= 64 */
    return (size_t)((unsigned __int128)b * n / R);
}

size_t clr_ar_block_of(size_t i, size_t n, size_t R)
{
    size_t b = (size_t)((unsigned __int128)i * R / n);
    while (b + 1 < R && clr_ar_block_start(b + 1, n, R) <= i)
        ++b;
    while (b > 0 && clr_ar_block_start(b, n, R) > i)
        --b;
    return b;
}

float clr_ar_ring_replay(const float *p, size_t R, size_t i, size_t n)
{
    size_t b = clr_ar_block_of(i, n, R);
    volatile float acc = p[b];
    for (size_t j = 1; j < R; ++j)
        acc = acc + p[(b + j) % R];
    return acc;
}

float clr_ar_expected(int strategy, const float *v, size_t S, size_t R, size_t i, size_t n, double *tol)
{
    *tol = 0;
    if (strategy == CLR_AR_ORDERED)
        return clr_ar_fold(v, S);
    if (strategy == CLR_AR_RING) {
        float p[CLR_AR_MAX_RANKS];
        size_t per = S / R;
        for (size_t r = 0; r < R; ++r)
            p[r] = clr_ar_fold(v + r * per, per);
        return clr_ar_ring_replay(p, R, i, n);
    }
    if (strategy == CLR_AR_MPI) /* S additions in an order of MPI's: the race's bound */
        return clr_replay_race(v, S, 1, tol);
    return clr_exact_sum(v, S);
}

/* --- documents -------------------------------------------------------------------------- */

static void case_size_text(const clr_ar_case *c, char *buf, size_t size)
{
    if (c->layer)
        snprintf(buf, size, "M=%zu K=%zu N=%zu", c->m, c->k, c->cols);
    else
        snprintf(buf, size, "n=%zu", c->n);
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

char *clr_ar_json(const clr_ar_results *r, clr_error *err)
{
    json_t *doc = json_object(), *ranks = json_array(), *cases = json_array(), *strategies = json_array();
    json_object_set_new(doc, "schema", json_string("clrepro.allreduce"));
    json_object_set_new(doc, "version", json_integer(1));
    json_object_set_new(doc, "tool", json_pack("{s:s, s:s, s:s}", "name", "clrepro", "version", CLREPRO_VERSION,
                                               "git_commit", clr_git_commit));
    json_object_set_new(doc, "command", json_string(r->opt->command_line ? r->opt->command_line : ""));
    json_object_set_new(doc, "started_utc", json_string(r->started_utc));
    json_object_set_new(doc, "wall_seconds", num(r->wall_seconds));
    json_object_set_new(doc, "mpi_library", json_string(r->mpi_library));
    json_object_set_new(doc, "world", json_integer(r->world));
    json_object_set_new(doc, "slices", json_integer((json_int_t)r->slices));
    json_object_set_new(doc, "seed", json_integer((json_int_t)r->opt->seed));
    json_object_set_new(doc, "dist", json_string(clr_dist_name(r->opt->dist)));
    json_object_set_new(doc, "reps", json_integer(r->opt->reps));
    json_object_set_new(doc, "warmup", json_integer(r->opt->warmup));
    for (int k = 0; k < CLR_AR_NSTRATEGIES; ++k) {
        char claims[128];
        clr_ar_claims_text(clr_ar_strategies[k].claims, claims, sizeof claims);
        json_array_append_new(strategies, json_pack("{s:s, s:s, s:s}", "name", clr_ar_strategies[k].name, "summary",
                                                    clr_ar_strategies[k].summary, "claims", claims));
    }
    json_object_set_new(doc, "strategies", strategies);
    for (int k = 0; k < r->world; ++k) {
        const clr_ar_rank_info *ri = &r->ranks[k];
        json_array_append_new(ranks, json_pack("{s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "rank", ri->rank,
                                               "local_rank", ri->local_rank, "host", ri->host, "device", ri->device,
                                               "vendor", ri->vendor, "driver", ri->driver, "platform", ri->platform,
                                               "type", ri->type));
    }
    json_object_set_new(doc, "ranks", ranks);
    for (size_t i = 0; i < r->ncases; ++i) {
        const clr_ar_case *c = &r->cases[i];
        char fp[17];
        clr_hex64(c->fingerprint, fp);
        json_t *o = json_object();
        json_object_set_new(o, "part", json_string(c->layer ? "layer" : "allreduce"));
        json_object_set_new(o, "strategy", json_string(clr_ar_strategies[c->strategy].name));
        if (c->layer) {
            json_object_set_new(o, "m", json_integer((json_int_t)c->m));
            json_object_set_new(o, "k", json_integer((json_int_t)c->k));
            json_object_set_new(o, "n", json_integer((json_int_t)c->cols));
        } else
            json_object_set_new(o, "n", json_integer((json_int_t)c->n));
        json_object_set_new(o, "floats", json_integer((json_int_t)c->n));
        json_object_set_new(o, "slices", json_integer((json_int_t)c->slices));
        json_object_set_new(o, "ranks", json_integer((json_int_t)c->ranks));
        json_object_set_new(o, "time_min_s", num(c->min_s));
        json_object_set_new(o, "time_median_s", num(c->median_s));
        json_object_set_new(o, "gbps", num(c->median_s > 0 ? (double)c->n * 4 / c->median_s / 1e9 : NAN));
        json_object_set_new(o, "fingerprint", json_string(fp));
        json_object_set_new(o, "deterministic", json_boolean(c->deterministic));
        json_object_set_new(o, "valid", json_boolean(c->valid));
        json_object_set_new(o, "checked", json_integer((json_int_t)c->checked));
        json_object_set_new(o, "mismatches", json_integer((json_int_t)c->mismatches));
        json_object_set_new(o, "max_err_ulp", num(c->max_err_ulp));
        json_object_set_new(o, "same_as_smallest_r", json_boolean(c->same_as_r1));
        json_object_set_new(o, "max_ulp_vs_smallest_r", num(c->vs_r1_ulp));
        if (c->layer) {
            json_object_set_new(o, "same_as_tiled", json_boolean(c->same_as_tiled));
            json_object_set_new(o, "max_ulp_vs_tiled", num(c->vs_tiled_ulp));
        }
        if (!c->valid)
            json_object_set_new(o, "why", json_string(c->why));
        json_array_append_new(cases, o);
    }
    json_object_set_new(doc, "cases", cases);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (!text)
        clr_fail(err, CLR_EFAIL, "out of host memory formatting allreduce.json");
    return text;
}

char *clr_ar_csv(const clr_ar_results *r, clr_error *err)
{
    clr_text t = {0};
    clr_text_printf(&t, "part,strategy,m,k,n,floats,slices,ranks,time_min_s,time_median_s,gbps,fingerprint,"
                        "deterministic,valid,checked,mismatches,max_err_ulp,same_as_smallest_r,"
                        "max_ulp_vs_smallest_r,same_as_tiled,max_ulp_vs_tiled\n");
    for (size_t i = 0; i < r->ncases; ++i) {
        const clr_ar_case *c = &r->cases[i];
        char fp[17];
        clr_hex64(c->fingerprint, fp);
        clr_text_printf(&t, "%s,%s,", c->layer ? "layer" : "allreduce", clr_ar_strategies[c->strategy].name);
        if (c->layer)
            clr_text_printf(&t, "%zu,%zu,%zu,", c->m, c->k, c->cols);
        else
            clr_text_printf(&t, ",,%zu,", c->n);
        clr_text_printf(&t, "%zu,%zu,%zu,%.9g,%.9g,%.6g,%s,%d,%d,%zu,%zu,%.6g,%d,%.6g,", c->n, c->slices, c->ranks,
                        c->min_s, c->median_s, c->median_s > 0 ? (double)c->n * 4 / c->median_s / 1e9 : 0.0, fp,
                        c->deterministic, c->valid, c->checked, c->mismatches, c->max_err_ulp, c->same_as_r1,
                        c->vs_r1_ulp);
        if (c->layer)
            clr_text_printf(&t, "%d,%.6g\n", c->same_as_tiled, c->vs_tiled_ulp);
        else
            clr_text_printf(&t, ",\n");
    }
    return clr_text_take(&t, "allreduce.csv", err);
}

/* The distinct rank counts of the cases, ascending. */
static size_t rank_counts(const clr_ar_results *r, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncases; ++i) {
        size_t R = r->cases[i].ranks, k = 0;
        while (k < n && out[k] != R)
            ++k;
        if (k == n && n < CLR_AR_MAX_RANKS)
            out[n++] = R;
    }
    for (size_t a = 1; a < n; ++a)
        for (size_t b = a; b > 0 && out[b - 1] > out[b]; --b) {
            size_t t = out[b];
            out[b] = out[b - 1];
            out[b - 1] = t;
        }
    return n;
}

static int same_row(const clr_ar_case *a, const clr_ar_case *b)
{
    return a->layer == b->layer && a->strategy == b->strategy && a->n == b->n && a->m == b->m && a->k == b->k &&
           a->cols == b->cols;
}

static const clr_ar_case *find_case(const clr_ar_results *r, const clr_ar_case *row, size_t R)
{
    for (size_t i = 0; i < r->ncases; ++i)
        if (same_row(&r->cases[i], row) && r->cases[i].ranks == R)
            return &r->cases[i];
    return NULL;
}

static const clr_ar_case *find_mpi(const clr_ar_results *r, const clr_ar_case *c)
{
    clr_ar_case key = *c;
    key.strategy = CLR_AR_MPI;
    return find_case(r, &key, c->ranks);
}

/* Rows: the first case of each (part, strategy, size), in the order measured. */
static int first_of_row(const clr_ar_results *r, size_t i)
{
    for (size_t j = 0; j < i; ++j)
        if (same_row(&r->cases[j], &r->cases[i]))
            return 0;
    return 1;
}

static void invariance_table(clr_text *t, const clr_ar_results *r, int layer, const size_t *Rs, size_t nR)
{
    clr_text_printf(&t[0], "| strategy | shape |");
    for (size_t k = 0; k < nR; ++k)
        clr_text_printf(&t[0], " R=%zu |", Rs[k]);
    clr_text_printf(&t[0], " distinct | max ulp vs R=%zu |%s\n|---|---|", nR ? Rs[0] : (size_t)1,
                    layer ? " = one-device tiled |" : "");
    for (size_t k = 0; k < nR + 2 + (layer ? 1 : 0); ++k)
        clr_text_printf(&t[0], "---|");
    clr_text_printf(&t[0], "\n");
    for (size_t i = 0; i < r->ncases; ++i) {
        const clr_ar_case *row = &r->cases[i];
        if (row->layer != layer || !first_of_row(r, i))
            continue;
        char size[96];
        case_size_text(row, size, sizeof size);
        clr_text_printf(&t[0], "| %s | %s |", clr_ar_strategies[row->strategy].name, size);
        uint64_t seen[CLR_AR_MAX_RANKS];
        size_t nseen = 0, tiled_same = 0, measured = 0;
        double worst = 0;
        for (size_t k = 0; k < nR; ++k) {
            const clr_ar_case *c = find_case(r, row, Rs[k]);
            if (!c) {
                clr_text_printf(&t[0], " – |");
                continue;
            }
            size_t g = 0;
            while (g < nseen && seen[g] != c->fingerprint)
                ++g;
            if (g == nseen)
                seen[nseen++] = c->fingerprint;
            ++measured;
            tiled_same += c->same_as_tiled;
            if (c->vs_r1_ulp > worst)
                worst = c->vs_r1_ulp;
            clr_text_printf(&t[0], " %c%s |", (char)('A' + (g < 26 ? g : 25)), c->valid ? "" : " (invalid)");
        }
        clr_text_printf(&t[0], " %zu | %.0f |", nseen, worst);
        if (layer)
            clr_text_printf(&t[0], " %zu of %zu |", tiled_same, measured);
        clr_text_printf(&t[0], "\n");
    }
    clr_text_printf(&t[0], "\nA letter per bit pattern of the whole result (XXH64 of its bits), A being the smallest "
                           "R's: one letter across a row is rank-count invariance.%s\n\n",
                    layer ? " The last column counts the rank counts whose result is bit for bit the one-device "
                            "matmul `tiled` (the whole K on rank 0's device)."
                          : "");
}

char *clr_ar_markdown(const clr_ar_results *r, clr_error *err)
{
    clr_text t = {0};
    size_t Rs[CLR_AR_MAX_RANKS], nR = rank_counts(r, Rs);
    clr_text_printf(&t, "# clrepro allreduce\n\n");
    clr_text_printf(&t, "- command: ");
    clr_text_md_code(&t, r->opt->command_line ? r->opt->command_line : "");
    clr_text_printf(&t, "\n- clrepro %s (%s); started %s, %.1f s; %d ranks; MPI: ", CLREPRO_VERSION, clr_git_commit,
                    r->started_utc, r->wall_seconds, r->world);
    clr_text_md(&t, r->mpi_library);
    clr_text_printf(&t, "\n- inputs: %s, seed %llu; the plain all-reduce adds %zu slices; %u repetitions after %u "
                        "warm-up; times are the slowest rank's, from the slices on the devices to the sum on "
                        "every rank's host\n\n",
                    clr_dist_name(r->opt->dist), (unsigned long long)r->opt->seed, r->slices, r->opt->reps,
                    r->opt->warmup);
    clr_text_printf(&t, "| rank | host | device | driver | platform |\n|---|---|---|---|---|\n");
    for (int k = 0; k < r->world; ++k) {
        const clr_ar_rank_info *ri = &r->ranks[k];
        clr_text_printf(&t, "| %d |", ri->rank);
        clr_text_md_cell(&t, ri->host);
        clr_text_md_cell(&t, ri->device);
        clr_text_md_cell(&t, ri->driver);
        clr_text_md_cell(&t, ri->platform);
        clr_text_printf(&t, "\n");
    }
    clr_text_printf(&t, "\n## Strategies\n\n| strategy | what | claims |\n|---|---|---|\n");
    for (int k = 0; k < CLR_AR_NSTRATEGIES; ++k) {
        char claims[128];
        clr_ar_claims_text(clr_ar_strategies[k].claims, claims, sizeof claims);
        clr_text_printf(&t, "| %s | %s | %s |\n", clr_ar_strategies[k].name, clr_ar_strategies[k].summary, claims);
    }
    size_t invalid = 0, nondet = 0;
    for (size_t i = 0; i < r->ncases; ++i) {
        invalid += !r->cases[i].valid;
        nondet += !r->cases[i].deterministic;
    }
    int has[2] = {0, 0};
    for (size_t i = 0; i < r->ncases; ++i)
        has[r->cases[i].layer] = 1;
    if (has[0]) {
        clr_text_printf(&t, "\n## Rank-count invariance: the plain all-reduce\n\n");
        invariance_table(&t, r, 0, Rs, nR);
    }
    if (has[1]) {
        clr_text_printf(&t, "## Rank-count invariance: the tensor-parallel layer\n\n");
        invariance_table(&t, r, 1, Rs, nR);
    }
    clr_text_printf(&t, "## Time\n\n| part | strategy | shape | R | median ms | min ms | GB/s | x mpi |\n"
                        "|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < r->ncases; ++i) {
        const clr_ar_case *c = &r->cases[i];
        const clr_ar_case *m = find_mpi(r, c);
        char size[96], ratio[32] = "–";
        case_size_text(c, size, sizeof size);
        if (m && m->median_s > 0 && c->valid)
            snprintf(ratio, sizeof ratio, "%.2f", c->median_s / m->median_s);
        clr_text_printf(&t, "| %s | %s | %s | %zu | %.4f | %.4f | %.2f | %s |\n", c->layer ? "layer" : "allreduce",
                        clr_ar_strategies[c->strategy].name, size, c->ranks, c->median_s * 1e3, c->min_s * 1e3,
                        c->median_s > 0 ? (double)c->n * 4 / c->median_s / 1e9 : 0.0, ratio);
    }
    clr_text_printf(&t, "\nGB/s: the message (n floats x 4 bytes) over the median time, which includes each "
                        "rank's device fold and the staging through the host: neither bus bandwidth nor "
                        "nccl-tests' figures. The layer's time is its all-reduce of the chunks' partial "
                        "products (already on the devices), not the matmul. x mpi: the median against "
                        "`mpi`'s at the same shape and rank count.\n\n## Validation\n\n");
    clr_text_printf(&t, "%zu cases; %zu failed validation, %zu gave more than one bit pattern over repetitions "
                        "or ranks.\n",
                    r->ncases, invalid, nondet);
    for (size_t i = 0; i < r->ncases; ++i) {
        const clr_ar_case *c = &r->cases[i];
        if (c->valid)
            continue;
        char size[96];
        case_size_text(c, size, sizeof size);
        clr_text_printf(&t, "- %s %s %s at R = %zu: ", c->layer ? "layer" : "allreduce",
                        clr_ar_strategies[c->strategy].name, size, c->ranks);
        clr_text_md(&t, c->why);
        clr_text_printf(&t, "\n");
    }
    clr_text_printf(&t, "\nEvery rank's result is hashed and compared; the elements checked are gathered from the "
                        "devices (every slice value) and replayed on rank 0's host: `ordered` and `ring` bit for "
                        "bit in their own order, `exact` against the correctly rounded sum, `mpi` within "
                        "gamma(S - 1) x sum|x| of it, as for an atomic race (a bound that loosens with S: it cannot see a small slice "
                        "go missing among many). The slice values themselves are regenerated from the "
                        "problem for a spread of the elements. A strategy that claims rank-count "
                        "invariance and differs from the smallest R, and a layer `ordered` that differs "
                        "from the one-device `tiled`, fail validation too. max err (JSON `max_err_ulp`): "
                        "the largest distance to the correctly rounded sum over the elements checked, in "
                        "ulp of that sum; max ulp vs R (JSON `max_ulp_vs_*`): the largest distance between "
                        "two results' floats counted in representable floats between them.\n");
    return clr_text_take(&t, "allreduce.md", err);
}
