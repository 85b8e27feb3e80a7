/* claims.h: what one device's cases show, judged without the device. The measured cases
 * (clr_case, filled by the runner or taken from a journal), the batch-variance summary of each
 * strategy at each shape, and the verdict on every claim of every strategy with its evidence.
 * Pure functions of the cases and the op's table: no OpenCL calls, no run state. */
#ifndef CLREPRO_CLAIMS_H
#define CLREPRO_CLAIMS_H

#include <stddef.h>
#include <stdint.h>
#include "metrics.h"
#include "op.h"

#define CLR_MAX_POSITIONS 3
#define CLR_ORDERS 3 /* permutations of the probe row per case */

typedef struct clr_observation {
    size_t batch, position;
    uint64_t hash;    /* of the probe row's outputs */
    uint64_t max_ulp; /* against the base observation */
    float *probe;     /* output_row_floats values */
} clr_observation;

#define CLR_SKIP_REASON 256 /* bytes of a skipped case's reason */

typedef struct clr_case {
    size_t strategy; /* index into op->strategies */
    size_t shape_index;
    clr_shape shape;
    clr_plan plan;
    int skipped;             /* the strategy is not available here; nothing below is measured */
    char skip_reason[CLR_SKIP_REASON];
    int valid;            /* every output within the plan's error bound */
    size_t rows_out_of_bound;
    double worst_error_ratio; /* max |out - ref| / allowed */
    clr_stats time;           /* seconds per launch */
    double *rep_times;        /* time.count timed repetitions, in the order run (NULL: none) */
    double gbps, gflops, roof_gbps, roof_fraction, overhead;
    size_t r2r_distinct;
    uint64_t r2r_max_ulp;
    /* mean and largest |out_t - out_0| over the later trials' outputs (0 with one trial) */
    double r2r_mean_abs_diff, r2r_max_abs_diff;
    /* The whole output (trial 0) against the reference strategy's (the op's first strategy) at
     * the same shape and batch: vs_ref 0 where that was not measured in this run (not selected,
     * or resumed from a journal without outputs), else 1; identical means the same bits. */
    int vs_ref, vs_ref_identical;
    double vs_ref_mean_abs_diff, vs_ref_max_abs_diff;
    uint64_t accuracy_max_ulp; /* against the reference */
    /* max |out - ref| / (scale u) over the validated outputs, u = 2^-24 and scale the reference's
     * magnitude (op->reference): inf where an output differs from its reference and one of
     * them is NaN or infinite, or the scale is 0; NaN: unknown (resumed from a journal written
     * without it) */
    double accuracy_scaled_u;
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
    size_t search_order;      /* --find-switch: the order the case ran in (for a stable sort) */
} clr_case;

typedef struct clr_variance {
    size_t strategy;
    size_t shape_index;
    size_t base_batch;
    size_t observations, distinct;
    uint64_t max_ulp;
    double mean_abs_diff, max_abs_diff; /* |probe - base probe| over every observation's values */
} clr_variance;

enum { CLR_CLAIM_NOT_MEASURED = -1, CLR_CLAIM_HELD = 0, CLR_CLAIM_VIOLATED = 1 };

typedef struct clr_claim_result {
    size_t strategy;
    unsigned claim;
    int claimed;
    int status;
    char evidence[320];
} clr_claim_result;

/* What the claims of a run are judged on. */
typedef struct clr_claim_input {
    const clr_operation *op;  /* its strategies' claims, and the shape text of evidence */
    const clr_shape *shapes;  /* the run's shapes, indexed by a case's shape_index */
    const size_t *strategies; /* the strategies judged, indices into op->strategies, in order */
    size_t nstrategies;
    unsigned trials; /* run-to-run trials per case */
    const clr_case *cases;
    size_t ncases;
    const clr_variance *variance; /* clr_summarise_variance's summaries */
    size_t nvariance;
} clr_claim_input;

/* The largest ulp distance between a[i] and b[i] over n floats. */
uint64_t clr_max_ulp(const float *a, const float *b, size_t n);
/* Adds |a[i] - b[i]| over n values to *sum and raises *max to the largest (infinite where the
 * values differ and one is NaN or infinite; bitwise-equal values differ by 0). */
void clr_abs_diff(const float *a, const float *b, size_t n, double *sum, double *max);

/* Switch points: where the probe row's bits (logical row 0 at position 0) of one strategy at one
 * shape change from one measured batch size to the next larger one. */
#define CLR_MAX_SWITCHES 16
typedef struct clr_switch {
    size_t strategy, shape_index;
    size_t measured;  /* batch sizes measured (skipped ones not counted) */
    size_t lo, hi;    /* the smallest and the largest of them */
    size_t nchanges;  /* how many times the bits changed going up through them */
    size_t distinct;  /* distinct probe bit patterns among them */
    size_t varying;   /* sizes whose trials gave more than one output: there the bits move
                       * without B, and a change may be run-to-run variation */
    size_t before[CLR_MAX_SWITCHES], at[CLR_MAX_SWITCHES]; /* the first changes: between sizes before
                                                            * and at (neighbours among those measured) */
} clr_switch;

/* Fills *out from the cases of one strategy at one shape; 0 when no case of it was measured. */
int clr_find_switches(const clr_case *cases, size_t ncases, size_t shape_index, size_t strategy, clr_switch *out);
/* For every case: the next smaller batch size measured for its strategy and shape when its probe
 * bits differ from that size's, else 0 (unchanged, the smallest, or skipped). changed_from has
 * ncases entries. -1 when out of memory. */
int clr_probe_changes(const clr_case *cases, size_t ncases, size_t *changed_from);
/* The bits "change at B = 2, 8 (...)" / "never change in B = 1-512 (...)": a switch summary's text
 * (batch_name: B, M, ...), a phrase that follows "bits". */
void clr_switch_text(const clr_switch *sw, const char *batch_name, char *buf, size_t size);

/* Batch variance of one strategy at one shape, from that shape's cases: every (batch, position)
 * observation of the probe row against the smallest batch at position 0. Sets the max_ulp of
 * every observation it counts. Returns 0, with *out untouched, when the strategy has no case
 * there that was not skipped; else 1. */
int clr_summarise_variance(const clr_operation *op, clr_case *cases, size_t ncases, size_t shape_index,
                           size_t strategy, clr_variance *out);

/* Judges every claim bit (CLR_NCLAIMS of them, lowest first) of every strategy of in, in order:
 * out gets nstrategies x CLR_NCLAIMS results. Returns how many of them are claimed and
 * violated. */
size_t clr_check_claims(const clr_claim_input *in, clr_claim_result *out);

#endif
