/* runner.h: the measurement protocol, generic over operations. For one device it runs every
 * strategy x row size x batch size: run-to-run trials, probe rows at several positions of
 * every batch, validation against the host reference, timed repetitions after warm-up with
 * the same NDRange, the bandwidth roof of each shape and batch and the device's peak; then it
 * checks every claim (the cases
 * and their judgement: claims.h). */
#ifndef CLREPRO_RUNNER_H
#define CLREPRO_RUNNER_H

#include <stdint.h>
#include "claims.h"
#include "data.h"
#include "metrics.h"
#include "op.h"

#define CLR_MAX_STRATEGIES 32
#define CLR_LAYOUT_MAX_BATCH 8 /* the alternative-layout check runs at batches up to this */

typedef struct clr_run_config {
    const clr_operation *op;
    const char *name; /* results basename (default: the op's name; suites name their parts) */
    size_t strategy_index[CLR_MAX_STRATEGIES]; /* into op->strategies */
    size_t nstrategies;
    clr_shape *shapes; /* per-row dimensions and dtype; batch is taken from batches */
    size_t nshapes;
    const size_t *batches;
    size_t nbatches;
    unsigned trials, reps, warmup;
    clr_input input;
    const char *kernel_dir;
    unsigned wg, vec, chunk; /* 0: the device's default tuning */
    clr_contig contig;       /* --contig, or the device's default */
    int save_outputs;
    int progress; /* progress line on stderr */
    const char *command_line; /* recorded with the results */
    unsigned timeout; /* seconds one case may take before it is abandoned; 0: no limit */
    int find_switch;  /* search the batches (ascending) for switch points instead of running all */
    int skip_unfit;   /* a (shape, batch) that does not fit the device is skipped, its cases saying
                       * why, instead of refusing the run (suites: one suite for every device) */
} clr_run_config;

/* The roof of one shape and batch: read_floats (copy.cl) reading as many bytes as the
 * operation moves, at a few work-group counts; the fastest repetition of any of them is the
 * roof, so no correct measurement of the operation should exceed it. */
typedef struct clr_roof_result {
    size_t shape_index, batch;
    double bytes;
    size_t items;    /* the work-items (global size) that gave the fastest repetition */
    clr_stats time;  /* that work-group count's repetitions */
    double gbps;     /* bytes / time.min */
} clr_roof_result;

/* The device's peak: reading and copying a large buffer (CLR_PEAK_BYTES or less where the
 * device is smaller), the fastest repetition of each, measured once per run. */
#define CLR_PEAK_BYTES ((size_t)256 << 20)
typedef struct clr_peak_result {
    double bytes;              /* bytes moved by each kernel (the copy: half read, half written) */
    double read_gbps, copy_gbps;
} clr_peak_result;

typedef struct clr_device_result {
    clr_device device;
    clr_tuning tuning;
    char build_options[384];
    double build_seconds, roof_build_seconds;
    clr_case *cases;
    size_t ncases;
    clr_variance *variance;
    size_t nvariance;
    clr_switch *switches; /* per strategy and shape measured: where the probe bits change with B */
    size_t nswitches;
    clr_claim_result *claims;
    size_t nclaims;
    clr_roof_result *roofs;
    size_t nroofs;
    clr_peak_result peak;
    double wall_seconds;
    char started_utc[32];
    size_t invalid_cases, broken_claims;
    int replay; /* strategies with a host replay were validated by it (the device keeps subnormals) */
    int timed_out;        /* a case overran cfg->timeout: the results are incomplete and the
                             device's queue is still busy (see clr_run_prepared) */
    size_t resumed_cases; /* cases taken from a journal instead of measured */
} clr_device_result;

/* The pre-flight of a run on a device, made once before anything is built (runplan.c): the
 * tuning against the device and the operation's kernels, then that every shape fits at the
 * largest batch (inputs, outputs, weights, the largest scratch any chosen strategy plans, the
 * bandwidth roof's buffer). CLR_EUSAGE with a message naming the shape and the sizes. */
int clr_run_check(const clr_run_config *cfg, const clr_device *dev, clr_error *err);
/* clr_run_check, then clr_run_prepare and clr_run_prepared below. */
int clr_run_device(const clr_run_config *cfg, const clr_device *dev, clr_device_result *res, clr_error *err);

/* clr_run_device in two steps, so that every program of every run is built (and every other
 * check made) before anything is measured. clr_run_prepare (after clr_run_check, which it
 * does not repeat) makes the context and builds the programs; clr_run_prepared measures and always consumes p. With a journal (journal.h),
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

/* The run's name: its results' basename (cfg->name, or the operation's). */
const char *clr_run_name(const clr_run_config *cfg);
/* The name of the .npy file --save-outputs writes for one case, in the run's folder:
 * <run>-<strategy>-<dim><value>...-b<batch>.npy. 0, or -1 when it does not fit size. */
int clr_case_output_name(const clr_run_config *cfg, size_t strategy, const clr_shape *shape, char *buf, size_t size);

/* The tuning a run uses on a device: defaults with the config's overrides. */
clr_tuning clr_run_tuning(const clr_run_config *cfg, const clr_device *dev);

#endif
