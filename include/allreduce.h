/* allreduce.h: `clrepro allreduce`, the all-reduce across MPI ranks as an operation of its own,
 * and the tensor-parallel layer built on it.
 *
 * The problem is fixed before it is split: S slices of n floats whose element-wise sum every
 * rank must end with. R ranks (R divides S) hold S/R consecutive slices each, on their own
 * OpenCL device. For the layer (a row-parallel matmul, K split across ranks) the slices are the
 * partial products of K's chunks of 256 (matmul `tiled`'s chunk), M x N floats each, so S = K/256.
 *
 * Strategies, each a device part (cl/allreduce.cl) and a communication part (MPI, staged
 * through the host):
 *   mpi      fold the rank's slices in order, then MPI_Allreduce(MPI_SUM) as a user calls it
 *   ring     the same fold, then a fixed ring (reduce-scatter, allgather) as NCCL runs it:
 *            block b's sum is p_b + p_(b+1) + ... + p_(b-1) in that order
 *   ordered  one running sum carried from rank to rank in pieces: +0 + x_0 + x_1 + ... +
 *            x_(S-1), the same additions at every R (for the layer: matmul tiled's own order)
 *   exact    each rank's slices deposited into a long accumulator (cl/exact.clh) whose
 *            integer digits are all-reduced (integer addition is associative), then rounded
 *            once: the correctly rounded sum at any R
 *
 * This header is the host side that needs no MPI (replays, options, documents), so that the
 * tests can check it alone; src/allreduce_mpi.c runs it. */
#ifndef CLREPRO_ALLREDUCE_H
#define CLREPRO_ALLREDUCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "data.h"
#include "util.h"

enum {
    CLR_AR_MPI = 0,
    CLR_AR_RING,
    CLR_AR_ORDERED,
    CLR_AR_EXACT,
    CLR_AR_NSTRATEGIES
};

/* Claims, as op.h's, plus the one only ranks can break. */
#define CLR_AR_CLAIM_DETERMINISTIC 1u     /* same bits on every run at a fixed rank count */
#define CLR_AR_CLAIM_RANK_INVARIANT 2u    /* same bits at R = 1, 2, 3, ... ranks */
#define CLR_AR_CLAIM_ORDER_INDEPENDENT 4u /* permuting the slices keeps the bits */
#define CLR_AR_CLAIM_DEVICE_INVARIANT 8u  /* same bits on every conformant device */

typedef struct clr_ar_strategy {
    const char *name, *summary;
    unsigned claims;
} clr_ar_strategy;
extern const clr_ar_strategy clr_ar_strategies[CLR_AR_NSTRATEGIES];
/* "deterministic, rank-count invariant" for a claim mask. */
void clr_ar_claims_text(unsigned claims, char *buf, size_t size);

/* The layer's chunk of K: matmul tiled's (src/ops/matmul.c MM_CHUNK). */
#define CLR_AR_KCHUNK 256
/* Rank counts up to this are swept by default; the slices default to lcm(1..world size). */
#define CLR_AR_MAX_RANKS 64
/* Elements of each case whose every slice is gathered to rank 0 and replayed: all while n S <=
 * 2^24, beyond it the first and last CLR_AR_CHECK_EDGE, one in every CLR_AR_CHECK_STRIDE (or
 * more, to stay near 2^23 values) and both sides of every ring block and ordered piece edge. */
#define CLR_AR_CHECK_EDGE 2048
#define CLR_AR_CHECK_STRIDE 61

typedef struct clr_ar_options {
    unsigned strategies;         /* bit per CLR_AR_* */
    size_t *sizes, nsizes;       /* plain all-reduce: message floats (n) */
    size_t *batches, nbatches;   /* layer: M values */
    size_t layer_k, layer_n;     /* layer: K x N weights; 0: no layer */
    size_t *ranks, nranks;       /* rank counts (NULL: 1..world that divide) */
    size_t slices;               /* S of the plain all-reduce (0: lcm(1..world)) */
    unsigned reps, warmup;
    uint64_t seed;
    clr_dist dist;
    const char *device_spec, *out_dir, *kernel_dir;
    int quiet, ranks_given, plain_off;
    const char *command_line;
} clr_ar_options;

/* argv[0] "clrepro", argv[1] "allreduce". CLR_EUSAGE naming the option; *help set for --help. */
int clr_ar_parse(int argc, char **argv, clr_ar_options *o, int *help, clr_error *err);
void clr_ar_options_free(clr_ar_options *o);
void clr_ar_usage(FILE *out);
/* lcm(1..r), or 0 when it passes limit. */
size_t clr_ar_lcm_upto(size_t r, size_t limit);

/* --- replays (host) --------------------------------------------------------------------- */
/* +0 + v[0] + v[1] + ... (count values, in order): a rank's fold and `ordered`. */
float clr_ar_fold(const float *v, size_t count);
/* The ring's block b of n elements over R ranks: [start(b), start(b + 1)), start(b) = b n / R. */
size_t clr_ar_block_start(size_t b, size_t n, size_t R);
size_t clr_ar_block_of(size_t i, size_t n, size_t R);
/* What `ring` gives element i (of n) from the R ranks' partials p[0..R-1]. */
float clr_ar_ring_replay(const float *p, size_t R, size_t i, size_t n);
/* The value strategy s must give for element i (of n): v holds its S slice values, split over R
 * ranks; *tol is 0 where the bits are demanded, else (mpi, whose order is MPI's) the error allowed
 * around the returned correctly rounded sum (clr_replay_race's bound for an unknown order). */
float clr_ar_expected(int strategy, const float *v, size_t S, size_t R, size_t i, size_t n, double *tol);

/* --- results ---------------------------------------------------------------------------- */
typedef struct clr_ar_rank_info {
    int rank, local_rank;
    char host[128], device[256], vendor[256], driver[256], platform[256], type[16];
} clr_ar_rank_info;

typedef struct clr_ar_case {
    int layer;               /* 0: plain all-reduce of n floats; 1: the layer M x K x N */
    int strategy;
    size_t n, m, k, cols;    /* plain: n; layer: m, k, cols (n = m x cols floats) */
    size_t slices, ranks;
    double min_s, median_s;  /* the slowest rank's time of each repetition */
    uint64_t fingerprint;    /* XXH64 of rank 0's result bits */
    int deterministic;       /* every repetition and every rank gave these bits */
    int valid;               /* every checked element as the replay demands */
    size_t checked, mismatches;
    double max_err_ulp;      /* largest |out - correctly rounded sum| in ulp of that sum */
    double vs_tiled_ulp;     /* layer: largest distance to the one-device tiled, in ulp */
    int same_as_tiled;       /* layer: bit for bit the one-device tiled */
    double vs_r1_ulp;        /* largest distance to the same strategy at the smallest R */
    int same_as_r1;
    char why[256];           /* when not valid: what differed */
} clr_ar_case;

typedef struct clr_ar_results {
    const clr_ar_options *opt;
    int world;
    clr_ar_rank_info *ranks; /* world of them */
    size_t slices;
    clr_ar_case *cases;
    size_t ncases, cap;
    char started_utc[32];
    double wall_seconds;
    char mpi_library[256];
} clr_ar_results;

/* allreduce.json, allreduce.csv and allreduce.md texts (malloc'ed), NULL on memory failure. */
char *clr_ar_json(const clr_ar_results *r, clr_error *err);
char *clr_ar_csv(const clr_ar_results *r, clr_error *err);
char *clr_ar_markdown(const clr_ar_results *r, clr_error *err);

/* `clrepro allreduce ...`: under mpirun (src/allreduce_mpi.c), or a message saying how. */
int clr_cmd_allreduce(int argc, char **argv, clr_error *err);
/* Whether this process was started by an MPI launcher (mpirun, mpiexec, srun with PMI). */
int clr_mpi_launched(void);

#endif
