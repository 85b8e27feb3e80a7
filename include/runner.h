/* runner.h: the measurement protocol, generic over operations. For one device it runs every
 * strategy x row size x batch size: run-to-run trials, probe rows at several positions of
 * every batch, validation against the host reference, timed repetitions after warm-up with
 * the same NDRange, and the copy-bandwidth yardstick; then it checks every claim. */
#ifndef CLREPRO_RUNNER_H
#define CLREPRO_RUNNER_H

#include <stdint.h>
#include "data.h"
#include "metrics.h"
#include "op.h"

#define CLR_MAX_STRATEGIES 32
#define CLR_MAX_POSITIONS 3
#define CLR_ORDERS 3 /* permutations of the probe row per case */
#define CLR_LAYOUT_MAX_BATCH 8 /* the alternative-layout check runs at batches up to this */

typedef struct clr_run_config {
    const clr_operation *op;
    const char *name; /* results basename (default: the op's name; suites name their parts) */
    size_t strategy_index[CLR_MAX_STRATEGIES]; /* into op->strategies */
    size_t nstrategies;
    clr_shape *shapes; /* per-row dimensions and dtype; batch is taken from batches */
    size_t nshapes;
    size_t *batches;
    size_t nbatches;
    unsigned trials, reps, warmup;
    clr_input input;
    const char *kernel_dir;
    unsigned wg, vec, chunk; /* 0: the device's default tuning */
    int contig;              /* 0: the device's default; 1: contiguous; 2: interleaved */
    int save_outputs;
    int progress; /* progress line on stderr */
    const char *command_line; /* recorded with the results */
    unsigned timeout; /* seconds one case may take before it is abandoned; 0: no limit */
} clr_run_config;

typedef struct clr_observation {
    size_t batch, position;
    uint64_t hash;    /* of the probe row's outputs */
    uint64_t max_ulp; /* against the base observation */
    float *probe;     /* output_row_floats values */
} clr_observation;

typedef struct clr_case {
    size_t strategy; /* index into op->strategies */
    size_t shape_index;
    clr_shape shape;
    clr_plan plan;
    int skipped;             /* the strategy is not available here; nothing below is measured */
    char skip_reason[160];
    int valid;            /* every output within the plan's error bound */
    size_t rows_out_of_bound;
    double worst_error_ratio; /* max |out - ref| / allowed */
    clr_stats time;           /* seconds per launch */
    double gbps, gflops, copy_gbps, copy_fraction, overhead;
    size_t r2r_distinct;
    uint64_t r2r_max_ulp;
    uint64_t accuracy_max_ulp; /* against the reference */
    uint64_t fingerprint;      /* XXH64 of the whole output, rows in order */
    size_t npositions;
    clr_observation positions[CLR_MAX_POSITIONS]; /* positions[0] is position 0 */
    size_t norders;         /* permutations of the probe row tried (0: the op has none) */
    size_t order_distinct;  /* distinct probe outputs over the original order and those */
    uint64_t order_max_ulp; /* against the original order */
    int has_layout;         /* the op's alternative layout was run (attention: larger KV cache) */
    int layout_same;        /* ... and gave the same bits for every row */
    uint64_t layout_max_ulp;
    float *outputs; /* whole output of trial 0 (kept with save_outputs) */
    int replayed;             /* validated against the host's replay of the strategy's order */
    size_t replay_mismatches; /* validated rows whose outputs differ from the replay */
    char first_mismatch[160]; /* the first such output, device against replay */
} clr_case;

typedef struct clr_variance {
    size_t strategy;
    size_t shape_index;
    size_t base_batch;
    size_t observations, distinct;
    uint64_t max_ulp;
} clr_variance;

enum { CLR_CLAIM_NOT_MEASURED = -1, CLR_CLAIM_HELD = 0, CLR_CLAIM_VIOLATED = 1 };

typedef struct clr_claim_result {
    size_t strategy;
    unsigned claim;
    int claimed;
    int status;
    char evidence[320];
} clr_claim_result;

typedef struct clr_copy_result {
    size_t shape_index, batch;
    double bytes;
    clr_stats time;
    double gbps;
} clr_copy_result;

typedef struct clr_device_result {
    clr_device device;
    clr_tuning tuning;
    char build_options[384];
    double build_seconds, copy_build_seconds;
    clr_case *cases;
    size_t ncases;
    clr_variance *variance;
    size_t nvariance;
    clr_claim_result *claims;
    size_t nclaims;
    clr_copy_result *copies;
    size_t ncopies;
    double wall_seconds;
    char started_utc[32];
    size_t invalid_cases, broken_claims;
    int replay; /* strategies with a host replay were validated by it (the device keeps subnormals) */
    int timed_out;        /* a case overran cfg->timeout: the results are incomplete and the
                             device's queue is still busy (see clr_run_prepared) */
    size_t resumed_cases; /* cases taken from a journal instead of measured */
} clr_device_result;

/* Refuses (CLR_EUSAGE) shapes that cannot fit the device, saying how big they are. */
int clr_check_fits(const clr_run_config *cfg, const clr_device *dev, clr_error *err);
int clr_run_device(const clr_run_config *cfg, const clr_device *dev, clr_device_result *res, clr_error *err);

/* clr_run_device in two steps, so that every program of every run is built (and every other
 * check made) before anything is measured. clr_run_prepare makes the context and builds the
 * programs; clr_run_prepared measures and always consumes p. With a journal (journal.h),
 * cases already in it are taken from it, and each case measured is appended to it. When a
 * case overruns cfg->timeout it fails with res->timed_out set, and the context is abandoned,
 * not released: releasing waits for the kernel that does not end, so the caller should write
 * what it can and _exit. */
typedef struct clr_prepared_run clr_prepared_run;
struct clr_journal;
int clr_run_prepare(const clr_run_config *cfg, const clr_device *dev, clr_prepared_run **p, clr_error *err);
int clr_run_prepared(clr_prepared_run *p, struct clr_journal *journal, clr_device_result *res, clr_error *err);
void clr_run_prepared_free(clr_prepared_run *p); /* one that will not be run */
/* What a prepared run will do and with what: the device, tuning and build options (build_*,
 * replay), and a hash of the kernel sources it built. */
const clr_device_result *clr_prepared_setup(const clr_prepared_run *p);
uint64_t clr_prepared_sources_hash(const clr_prepared_run *p);
void clr_device_result_free(clr_device_result *res);

/* The tuning a run uses on a device: defaults with the config's overrides. */
clr_tuning clr_run_tuning(const clr_run_config *cfg, const clr_device *dev);

#endif
