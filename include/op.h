/* op.h: the one abstraction. An operation is a table of strategies; a strategy is a kernel
 * family, a launch plan (a function of the shape, the batch and the device) and the claims
 * the benchmark then verifies. The runner (runner.h) is generic over operations. */
#ifndef CLREPRO_OP_H
#define CLREPRO_OP_H

#include <stddef.h>
#include "data.h"
#include "device.h"
#include "program.h"
#include "util.h"

enum clr_claim {
    CLR_CLAIM_DETERMINISTIC = 1u << 0,     /* same bits on every run at a fixed batch */
    CLR_CLAIM_BATCH_INVARIANT = 1u << 1,   /* a row's bits do not depend on the batch around it */
    CLR_CLAIM_ORDER_INDEPENDENT = 1u << 2, /* permuting a row's addends keeps the bits */
    CLR_CLAIM_DEVICE_INVARIANT = 1u << 3,  /* every conformant device gives the same bits */
};
#define CLR_NCLAIMS 4
const char *clr_claim_name(unsigned claim_bit);

#define CLR_MAX_DIMS 4

/* Storage type of inputs; arithmetic is float32 either way. */
typedef enum clr_dtype { CLR_FP32 = 0, CLR_BF16 = 1 } clr_dtype;
const char *clr_dtype_name(clr_dtype t);
size_t clr_dtype_size(clr_dtype t);
/* Round to the nearest bfloat16 (ties to even; NaN stays NaN) and widen back to float. */
float clr_bf16_round(float x);
uint16_t clr_bf16_bits(float x); /* of a float already representable in bf16 */

typedef struct clr_shape {
    size_t batch;              /* rows in the launch: B (M for matmul) */
    size_t dims[CLR_MAX_DIMS]; /* per-row dimensions, named by the operation (sum: n) */
    clr_dtype dtype;           /* storage of inputs (rows and shared weights) */
} clr_shape;

#define CLR_MAX_PLAN_PARAMS 8 /* clr_plan_param keeps no more; test_ops checks every plan leaves one free */
typedef struct clr_plan {
    size_t global, local;   /* NDRange of the main kernel (local 0: the driver chooses) */
    size_t scratch_bytes;   /* device memory the strategy's enqueue asks of clr_op_scratch */
    double depth;           /* longest chain of roundings from an input to an output */
    double err_abs;         /* allowed |out - ref| <= err_abs * scale + err_rel * |ref| */
    double err_rel;
    size_t nparams;         /* launch parameters worth reporting, e.g. parts, chunk */
    struct {
        const char *name;
        double value;
    } params[CLR_MAX_PLAN_PARAMS];
} clr_plan;

/* What a strategy sees when it plans and launches: device, buffers, shape. */
typedef struct clr_op_ctx {
    cl_context context;
    cl_command_queue queue;
    const clr_device *device;
    const clr_tuning *tuning;
    clr_program *program;
    clr_shape shape;
    cl_mem input;   /* batch x input_row_floats, stored as shape.dtype */
    cl_mem output;  /* batch x output_row_floats, float32 */
    cl_mem shared;  /* shared_floats weights (as shape.dtype), or NULL */
    cl_mem scratch; /* grown on demand by clr_op_scratch */
    size_t scratch_bytes;
    /* For callers other than the runner (the decode engine, src/decode.c): where the operation's
     * operands live and its own parameters, NULL for the runner's rows and the op's defaults:
     * attention a clr_att_layout, rmsnorm a float epsilon. */
    const void *params;
} clr_op_ctx;

/* Attention's operands outside the benchmark's rows (offsets and strides in elements): sequence
 * b's query of head h at q + q_off + b q_seq + h d; its KV head g's token t at k + k_off + b kv_seq
 * + t tok + g d (and v alike); query head h reads KV head h / group; sequence b has lens[b]
 * tokens (a buffer of uint), or the shape's L where lens is NULL. The output is [B][H][d]. */
typedef struct clr_att_layout {
    cl_mem q, k, v, lens;
    cl_ulong q_off, q_seq, k_off, v_off, kv_seq, tok;
    cl_uint group;
} clr_att_layout;

/* The scratch buffer of plan->scratch_bytes, grown on demand. */
int clr_op_scratch(clr_op_ctx *ctx, const clr_plan *plan, cl_mem *out, clr_error *err);
/* "n=4096" or "k=4096 n=14336" (dims in the op's order), for messages and tables. */
struct clr_operation;
void clr_shape_text(const struct clr_operation *op, const clr_shape *shape, char *buf, size_t size);
void clr_plan_param(clr_plan *plan, const char *name, double value);
/* The value of a plan parameter set with clr_plan_param (0 when absent). */
size_t clr_plan_get(const clr_plan *plan, const char *name);
/* floor(log2(v)) for v >= 1: tree levels of a power-of-two work-group or vector. */
double clr_log2u(unsigned v);
/* How libraries fill a device: the number of parts each of `groups` work items is split into so
 * that there are about compute units x groups_per_cu work-groups, clamped to [1, max_parts].
 * A count that follows the batch: what makes split strategies batch-variant. */
size_t clr_parts_to_fill(const clr_op_ctx *ctx, size_t groups, size_t max_parts);
/* A row of n values split as libraries split long rows at small batches (rmsnorm's and softmax's
 * `split`): parts from the batch and the compute units (clr_parts_to_fill, at least 4 x wg values
 * a part), *chunk values each, *parts = ceil(n / chunk); a work-group of the tuning's wg per part.
 * Sets plan's NDRange and its parameters parts, chunk and wg. */
void clr_plan_row_split(const clr_op_ctx *ctx, size_t n, clr_plan *plan, size_t *parts, size_t *chunk);
/* gamma_k = k u / (1 - k u) with u = 2^-24: the classic bound factor for k roundings. */
double clr_gamma(double k);
/* clSetKernelArg for nargs (size_t size, const void *value) pairs, in order. */
int clr_set_args(cl_kernel kernel, clr_error *err, unsigned nargs, ...);
/* The (size, pointer) pair of one kernel argument, for clr_set_args. */
#define CLR_ARG(x) sizeof(x), &(x)
/* 1-D NDRange launch; local 0 lets the driver choose. */
int clr_enqueue_1d(clr_op_ctx *ctx, cl_kernel kernel, size_t global, size_t local, cl_event *event,
                   clr_error *err);
/* The second command of a strategy, *first already enqueued: launches kernel with event *last,
 * and on failure releases *first, so the caller sees either both events or neither. */
int clr_enqueue_second(clr_op_ctx *ctx, cl_kernel kernel, size_t global, size_t local, cl_event *first,
                       cl_event *last, clr_error *err);

typedef struct clr_strategy {
    const char *name;
    const char *summary;
    unsigned claims;
    /* Optional: 0 when the strategy cannot run this shape/dtype on this device; *why says so. */
    int (*available)(const clr_op_ctx *ctx, char *why, size_t size);
    int (*plan)(const clr_op_ctx *ctx, clr_plan *plan, clr_error *err);
    /* Enqueues the whole strategy. *first and *last are the events that bracket it (the
     * same event when there is one command); the caller releases them. */
    int (*enqueue)(clr_op_ctx *ctx, const clr_plan *plan, cl_event *first, cl_event *last, clr_error *err);
    /* Optional: the host's replay of this strategy under `plan` for one input row (with the
     * shared weights): out gets what the device must give and tol, per output, 0 where those
     * bits are demanded exactly (the order is known) or the absolute error allowed around out
     * where part of the order is not (the atomics' race). Without it only the plan's error
     * bound validates the strategy. The runner uses it where the device keeps subnormals. */
    int (*replay)(const clr_op_ctx *ctx, const clr_plan *plan, const float *row, const float *shared, float *out,
                  double *tol, clr_error *err);
    /* The revision of its order of operations, from 1 (0 reads as 1): raised whenever a change
     * gives other bits by design, so that documents measured before and after it are not held to
     * one fingerprint (results' strategies[].order; clrepro compare, --baseline). */
    unsigned order;
} clr_strategy;

/* A strategy's order revision (its .order, 1 where 0). */
static inline unsigned clr_strategy_order(const clr_strategy *s) { return s->order ? s->order : 1; }

/* Lists of sizes in operation tables end at the first 0. */
#define CLR_MAX_LIST 16
size_t clr_list_len(const size_t *list);

/* One run of a fixed experiment (`run --suite NAME`): the operation that owns it, its shapes
 * (value lists in the op's dimension order) and batches; its results are named `name`. */
typedef struct clr_suite_part {
    const char *suite, *name;
    size_t dims[CLR_MAX_DIMS][CLR_MAX_LIST];
    size_t batches[CLR_MAX_LIST];
    unsigned trials; /* 0: --trials */
} clr_suite_part;

typedef struct clr_operation {
    const char *name;
    const char *summary;
    const char *source; /* file in cl/ */
    /* Constants the host and the kernels share (-DNAME=value from the host's own macros): the
     * kernels define none of them themselves. */
    const char *defines;
    const char *batch_name; /* what the batch is called: "B", "M" */
    size_t ndims;
    const char *dim_names[CLR_MAX_DIMS]; /* also the command-line options (--name) */
    const char *dim_help[CLR_MAX_DIMS];  /* what each is, for --help */
    size_t dim_defaults[CLR_MAX_DIMS][CLR_MAX_LIST];
    size_t default_batches[CLR_MAX_LIST];
    const clr_suite_part *suites; /* this operation's parts of the fixed experiments */
    size_t nsuites;
    /* Optional: refuses (CLR_EUSAGE) a tuning the op's kernels cannot use on the device. */
    int (*check_tuning)(const clr_tuning *t, const clr_device *dev, clr_error *err);
    int supports_bf16;
    int supports_input_file;
    size_t validate_rows; /* rows of each batch checked against the reference (0: all) */
    size_t replay_rows;   /* rows replayed per batch (0: all): beyond it the first and last r/2 and
                           * one row in every 16 (src/runner.c replayed_row) */
    int exact_div_sqrt;   /* build with -cl-fp32-correctly-rounded-divide-sqrt where the device
                           * offers it, so divide and sqrt are IEEE operations (and replayable) */
    int accuracy_scaled;  /* the terminal summary's accuracy is the largest |out - ref| over the
                           * reference's scale in units of u = 2^-24 (clr_case.accuracy_scaled_u:
                           * matmul, attention, whose outputs near 0 inflate ulp); 0: in ulp */
    const clr_strategy *strategies;
    size_t nstrategies;
    size_t (*input_row_floats)(const clr_shape *shape);
    size_t (*output_row_floats)(const clr_shape *shape);
    double (*bytes)(const clr_shape *shape); /* compulsory global-memory traffic of one launch */
    double (*flops)(const clr_shape *shape);
    /* Refuses impossible shapes (CLR_EUSAGE) with a message naming the dimension. */
    int (*check_shape)(const clr_shape *shape, clr_error *err);
    /* Optional weights shared by all rows (rmsnorm's w, matmul's B): count and contents. */
    size_t (*shared_floats)(const clr_shape *shape);
    void (*fill_shared)(const clr_shape *shape, uint64_t seed, float *out);
    /* Optional: builds input row `row` (default: the generator or --input, element by index). */
    void (*fill_row)(const clr_shape *shape, const clr_input *in, uint64_t row, float *out);
    /* Host reference of one row: ref gets the correctly rounded (or higher-precision)
     * result, scale the magnitude that error bounds are relative to. */
    void (*reference)(const clr_shape *shape, const float *row, const float *shared, float *ref, double *scale);
    /* Optional: another layout of the same rows that must give the same bits (attention: the
     * same tokens read out of a larger KV cache). Returns 1 and fills alt when there is one. */
    int (*alt_shape)(const clr_shape *shape, clr_shape *alt);
    /* With alt_shape: copies a row of `shape` into the layout of `alt` (no regeneration). */
    void (*relayout_row)(const clr_shape *shape, const float *row, const clr_shape *alt, float *out);
    /* Optional: reorders one input row so that the exact result is unchanged (for sum, a
     * permutation of the addends); lets the runner observe order dependence. */
    void (*permute_row)(const clr_shape *shape, float *row, uint64_t seed);
} clr_operation;

/* Refuses (CLR_EUSAGE) a shape whose dimensions and batch multiply beyond CLR_MAX_SHAPE_PRODUCT
 * elements (so no size product an operation forms from them can wrap), then applies the op's
 * own check_shape. Every shape goes through it before any of the op's size functions. */
#define CLR_MAX_SHAPE_PRODUCT ((size_t)1 << 50)
int clr_op_check_shape(const clr_operation *op, const clr_shape *shape, clr_error *err);
const clr_operation *clr_op_find(const char *name);
/* The name of the dimension called name of some operation (a command-line option --name), a
 * string that lives as long as the program; NULL when no operation has one. */
const char *clr_op_dim_name(const char *name);
/* Whether some operation has a part in the suite called name. */
int clr_op_is_suite(const char *name);
/* The names of the operations with flag(op) (every one with flag NULL), "a, b and c" with last
 * word `conj`; or of the suites. */
void clr_op_names(int (*flag)(const clr_operation *op), const char *conj, char *buf, size_t size);
void clr_suite_names(const char *conj, char *buf, size_t size);
/* A list of sizes as the help shows it: "4096,1M,16M". */
void clr_list_text(const size_t *list, char *buf, size_t size);
const clr_operation *const *clr_op_all(size_t *count);
const clr_strategy *clr_strategy_find(const clr_operation *op, const char *name);

/* clr_op_sum, clr_op_rmsnorm, ...: the tables in src/ops/, listed in op_list.h. */
#define CLR_OPERATION(name) extern const clr_operation clr_op_##name;
#include "op_list.h"
#undef CLR_OPERATION

#endif
