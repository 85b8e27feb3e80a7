/* test_portable_ops.c: the device-invariant strategies rmsnorm `portable` and softmax `portable`
 * on a real device (PoCL by default). Each is replayed by the host bit for bit at row lengths
 * with every kind of tail (1, 7, 4095, 4097, 32000, 128256) and batches 1, 2 and 8, fp32 and
 * bf16; each gives the same output bits under every tuning (--wg 1, 16, 256 x --vec 1, 4, 16 x
 * --contig 0, 1: what device invariance means on one device, the order depending on the row
 * length alone), where row's bits move; a kernel sabotaged to drop one value of the tree fails
 * validation, even where the error bound alone would have passed it; softmax's special rows
 * (-inf entries, a chunk of -inf, only -inf, a constant row) give row's values; and a device
 * without correctly rounded divide and sqrt or without subnormals is "not run", with why. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "op.h"
#include "portable.h"
#include "reference.h"
#include "runner.h"
#include "test_util.h"

static const clr_operation *const ops[] = {&clr_op_rmsnorm, &clr_op_softmax};

static size_t strategy_index(const clr_operation *op, const char *name)
{
    const clr_strategy *s = clr_strategy_find(op, name);
    ck_assert_msg(s != NULL, "%s has no strategy %s", op->name, name);
    return (size_t)(s - op->strategies);
}

/* Where nonzero, the compute units the test device reports to the plans (only the plans read
 * them): the paths a GPU of that many takes, run on the test device. */
static cl_uint test_cus;

/* One strategy (or two: a second name, or NULL) of op over generated rows. */
static void run_generated(const clr_operation *op, const char *s1, const char *s2, clr_shape *shapes, size_t nshapes,
                          const size_t *batches, size_t nbatches, unsigned wg, unsigned vec, clr_contig contig,
                          const char *kernel_dir, clr_device_result *res)
{
    clr_device dev = test_device();
    if (test_cus)
        dev.compute_units = test_cus;
    clr_run_config cfg = {0};
    cfg.op = op;
    cfg.strategy_index[cfg.nstrategies++] = strategy_index(op, s1);
    if (s2)
        cfg.strategy_index[cfg.nstrategies++] = strategy_index(op, s2);
    cfg.shapes = shapes;
    cfg.nshapes = nshapes;
    cfg.batches = batches;
    cfg.nbatches = nbatches;
    cfg.trials = 2;
    cfg.reps = 1;
    cfg.warmup = 1;
    cfg.input.seed = 9;
    cfg.input.dist = CLR_DIST_NORMAL;
    cfg.wg = wg;
    cfg.vec = vec;
    cfg.contig = contig;
    cfg.kernel_dir = kernel_dir;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s %s: %s", op->name, s1, err.msg);
}

static const size_t lengths[] = {1, 7, 4095, 4097, 32000, 128256};
#define NLEN (sizeof lengths / sizeof lengths[0])

START_TEST(every_bit_replayed)
{
    const clr_operation *op = ops[_i / 2];
    clr_dtype type = _i % 2 ? CLR_BF16 : CLR_FP32;
    clr_shape shapes[NLEN];
    for (size_t z = 0; z < NLEN; ++z)
        shapes[z] = (clr_shape){.dims = {lengths[z]}, .dtype = type};
    static const size_t batches[] = {1, 2, 8};
    clr_device_result res;
    run_generated(op, "portable", NULL, shapes, NLEN, batches, 3, 0, 0, CLR_CONTIG_DEVICE, NULL, &res);
    ck_assert_int_eq(res.replay, 1);
    ck_assert_uint_eq(res.ncases, NLEN * 3);
    for (size_t i = 0; i < res.ncases; ++i) {
        const clr_case *c = &res.cases[i];
        ck_assert_msg(!c->skipped && c->replayed && c->valid && c->replay_mismatches == 0,
                      "%s portable %s length %zu B %zu: %s", op->name, clr_dtype_name(type), c->shape.dims[0],
                      c->shape.batch, c->skipped ? c->skip_reason : c->first_mismatch[0] ? c->first_mismatch : "not valid");
    }
    ck_assert_uint_eq(res.broken_claims, 0);
    clr_device_result_free(&res);
}
END_TEST

/* Fingerprints (op, length, batch) of portable under the first tuning, against every other. */
START_TEST(same_bits_under_every_tuning)
{
    const clr_operation *op = ops[_i];
    static const size_t sizes[] = {7, 4097, 128256};
    static const size_t batches[] = {1, 8};
    enum { NS = 3, NB = 2 };
    clr_shape shapes[NS];
    for (size_t z = 0; z < NS; ++z)
        shapes[z] = (clr_shape){.dims = {sizes[z]}};
    uint64_t want[NS * NB] = {0}, row_first[NS * NB] = {0};
    int have = 0, row_moved = 0;
    static const unsigned wgs[] = {1, 16, 256}, vecs[] = {1, 4, 16};
    static const clr_contig contigs[] = {CLR_CONTIG_NO, CLR_CONTIG_YES};
    for (size_t a = 0; a < 3; ++a)
        for (size_t b = 0; b < 3; ++b)
            for (size_t c = 0; c < 2; ++c) {
                clr_device_result res;
                run_generated(op, "portable", "row", shapes, NS, batches, NB, wgs[a], vecs[b], contigs[c], NULL,
                              &res);
                size_t seen = 0;
                for (size_t i = 0; i < res.ncases; ++i) {
                    const clr_case *k = &res.cases[i];
                    size_t slot = k->shape_index * NB + (k->shape.batch == 1 ? 0 : 1);
                    int portable = !strcmp(op->strategies[k->strategy].name, "portable");
                    ck_assert_msg(k->valid, "%s %s wg %u vec %u contig %d length %zu B %zu: %s", op->name,
                                  op->strategies[k->strategy].name, wgs[a], vecs[b], (int)c, k->shape.dims[0],
                                  k->shape.batch, k->first_mismatch[0] ? k->first_mismatch : "not valid");
                    if (!portable) {
                        if (!have)
                            row_first[slot] = k->fingerprint;
                        else
                            row_moved |= row_first[slot] != k->fingerprint;
                        continue;
                    }
                    ++seen;
                    if (!have)
                        want[slot] = k->fingerprint;
                    else
                        ck_assert_msg(want[slot] == k->fingerprint,
                                      "%s portable length %zu B %zu: fingerprint %016llx at wg %u vec %u contig %d, "
                                      "%016llx at wg 1 vec 1 contig 0", op->name, k->shape.dims[0], k->shape.batch,
                                      (unsigned long long)k->fingerprint, wgs[a], vecs[b], (int)c,
                                      (unsigned long long)want[slot]);
                }
                ck_assert_uint_eq(seen, NS * NB);
                have = 1;
                clr_device_result_free(&res);
            }
    /* The check can see a difference: row's order follows the work-group size. */
    ck_assert_msg(row_moved, "%s row gave the same bits under every tuning: the check proves nothing", op->name);
}
END_TEST

/* Rows as a file would give them, at batches 1 and `rows`. */
static void run_rows(const clr_operation *op, const char *strategy, size_t n, const float *data, size_t rows,
                     unsigned wg, unsigned vec, clr_contig contig, const char *kernel_dir, clr_device_result *res)
{
    clr_device dev = test_device();
    if (test_cus)
        dev.compute_units = test_cus;
    clr_shape shape = {.dims = {n}};
    size_t batches[] = {1, rows};
    clr_run_config cfg = test_file_config(op, strategy, &shape, batches, 2, data, rows, n);
    cfg.kernel_dir = kernel_dir;
    cfg.wg = wg;
    cfg.vec = vec;
    cfg.contig = contig;
    clr_error err = {0};
    ck_assert_msg(clr_run_device(&cfg, &dev, res, &err) == 0, "%s %s: %s", op->name, strategy, err.msg);
}

/* `portable` of op over the rows, with the real kernels and with the sabotaged ones of dir: every
 * case of the real ones valid and replayed, every case of the sabotaged ones invalid with replay
 * mismatches. Returns how many sabotaged cases the error bound alone would have passed. */
static size_t real_passes_sabotaged_fails(const clr_operation *op, size_t n, const float *rows, size_t nrows,
                                          unsigned wg, unsigned vec, clr_contig contig, const char *dir)
{
    size_t hidden_by_bound = 0;
    for (int sabotaged = 0; sabotaged < 2; ++sabotaged) {
        clr_device_result res;
        run_rows(op, "portable", n, rows, nrows, wg, vec, contig, sabotaged ? dir : NULL, &res);
        for (size_t i = 0; i < res.ncases; ++i) {
            const clr_case *c = &res.cases[i];
            ck_assert_msg(sabotaged ? !c->valid && c->replay_mismatches > 0 : c->valid && c->replayed,
                          "%s portable n %zu B %zu wg %u vec %u contig %d, %s kernel: %s", op->name, n, c->shape.batch,
                          wg, vec, (int)contig, sabotaged ? "sabotaged" : "real",
                          c->first_mismatch[0] ? c->first_mismatch : "valid");
            hidden_by_bound += sabotaged && c->rows_out_of_bound == 0;
        }
        clr_device_result_free(&res);
    }
    return hidden_by_bound;
}

/* The tree drops the last value of a ragged block (tree.clh is shared: every path of both ops).
 * Rows of 4097 (a block and one value) and 30001 (8 blocks, the last ragged); the dropped value
 * is small (rmsnorm: x = 0.05 among normals; softmax: a logit of -1 among [-8, 8), a weight of
 * about e^-9 / S, some units in the last place of S), so the bound
 * alone passes some of the sabotaged outputs: only the replay sees them. Tunings: the GPU's
 * layout and the CPU's. */
START_TEST(a_dropped_value_fails)
{
    char dir[300];
    test_sabotaged_kernels(dir, sizeof dir, "tree.clh", "e[l] = first + l < len ? LOAD1(begin + first + l) : -0.0f;",
                           "e[l] = first + l + 1 < len ? LOAD1(begin + first + l) : -0.0f;");
    enum { ROWS = 3 };
    static const size_t sizes[] = {4097, 30001};
    static const struct { unsigned wg, vec; clr_contig contig; } tunings[] = {
        {64, 4, CLR_CONTIG_NO}, {16, 16, CLR_CONTIG_YES}}; /* VEC > 1: a ragged vector */
    size_t hidden_by_bound = 0;
    for (size_t o = 0; o < 2; ++o)
        for (size_t z = 0; z < 2; ++z) {
            size_t n = sizes[z];
            float *rows = malloc(ROWS * n * sizeof *rows);
            ck_assert_ptr_nonnull(rows);
            for (size_t r = 0; r < ROWS; ++r) {
                float *x = rows + r * n;
                clr_gen_row(4, o ? CLR_DIST_UNIFORM : CLR_DIST_NORMAL, r, x, n);
                for (size_t i = 0; o && i < n; ++i)
                    x[i] *= 8.0f;
                x[n - 1] = o ? -1.0f : 0.05f;
            }
            for (size_t t = 0; t < sizeof tunings / sizeof tunings[0]; ++t)
                hidden_by_bound += real_passes_sabotaged_fails(ops[o], n, rows, ROWS, tunings[t].wg, tunings[t].vec,
                                                               tunings[t].contig, dir);
            free(rows);
        }
    ck_assert_msg(hidden_by_bound > 0, "every sabotage was also caught by the bound: the data no longer shows why "
                                       "the replay is needed");
    test_remove_kernels(dir);
}
END_TEST

/* rmsnorm's squares on CPUs take a full block's first three levels straight from the loads
 * (TREE_WI_FOLD_FIRST3): a kernel whose fused expression drops the block's last vector (at VEC 1,
 * the block's last value: x = 0.05 among normals, too small for the bound alone) fails the replay;
 * the real kernel passes it. Rows of one and two full blocks. */
START_TEST(first_levels_dropping_a_value_fails)
{
    char dir[300];
    test_sabotaged_kernels(dir, sizeof dir, "tree.clh", "((t1 + t5) + (t3 + t7));",
                           "((t1 + t5) + (t3 + (j == q - 1 ? (vfloat)(-0.0f) : t7)));");
    enum { ROWS = 3 };
    static const size_t sizes[] = {4096, 8192};
    static const unsigned vecs[] = {1, 16};
    size_t hidden_by_bound = 0;
    for (size_t z = 0; z < 2; ++z) {
        size_t n = sizes[z];
        float *rows = malloc(ROWS * n * sizeof *rows);
        ck_assert_ptr_nonnull(rows);
        for (size_t r = 0; r < ROWS; ++r) {
            clr_gen_row(4, CLR_DIST_NORMAL, r, rows + r * n, n);
            for (size_t b = 4095; b < n; b += 4096)
                rows[r * n + b] = 0.05f;
        }
        for (size_t v = 0; v < 2; ++v) {
            size_t hidden = real_passes_sabotaged_fails(&clr_op_rmsnorm, n, rows, ROWS, 16, vecs[v], CLR_CONTIG_YES, dir);
            hidden_by_bound += vecs[v] == 1 ? hidden : 0;
        }
        free(rows);
    }
    ck_assert_msg(hidden_by_bound > 0, "the bound caught every dropped value: the test no longer shows the replay");
    test_remove_kernels(dir);
}
END_TEST

/* softmax on GPUs holds a full block in registers (sm_full_block, its own fold over j): a kernel
 * whose fold drops the last work-item's last vector (4 of 4096 values, the logits -1 among
 * [-8, 8)) fails the replay; the real one passes. Rows of two full blocks, a block a work-group
 * at B = 1 (two launches) and a row a work-group at B = 3 (one launch, the plans told of 2 compute
 * units), the GPU layout at 64 and 256 work-items (16 and 4 vectors a work-item). */
START_TEST(full_block_in_registers_dropping_a_vector_fails)
{
    char dir[300];
    test_sabotaged_kernels(dir, sizeof dir, "softmax.cl", "v[j] += v[j + h];",
                           "v[j] += lid == TREE_WG - 1 && j + h == TREE_J - 1 ? (vfloat)(-0.0f) : v[j + h];");
    enum { ROWS = 3 };
    static const size_t sizes[] = {8192};
    static const unsigned wgs[] = {64, 256};
    size_t hidden_by_bound = 0;
    test_cus = 2;
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; ++z) {
        size_t n = sizes[z];
        float *rows = malloc(ROWS * n * sizeof *rows);
        ck_assert_ptr_nonnull(rows);
        for (size_t r = 0; r < ROWS; ++r) {
            clr_gen_row(5, CLR_DIST_UNIFORM, r, rows + r * n, n);
            for (size_t i = 0; i < n; ++i)
                rows[r * n + i] = i % 4096 >= 4092 ? -1.0f : rows[r * n + i] * 8.0f;
        }
        for (size_t w = 0; w < 2; ++w)
            hidden_by_bound += real_passes_sabotaged_fails(&clr_op_softmax, n, rows, ROWS, wgs[w], 4, CLR_CONTIG_NO, dir);
        free(rows);
    }
    test_cus = 0;
    ck_assert_msg(hidden_by_bound > 0, "the bound caught every dropped vector: the test no longer shows the replay");
    test_remove_kernels(dir);
}
END_TEST

/* softmax's paths give the same bits on rows of several blocks, all replayed: on a GPU's
 * tuning, with the plans told of 4 compute units, rows of 33000 logits (9 blocks, the last
 * ragged) take a block a work-group in two launches at every B; rows of 9000 (3 blocks, at most
 * 2^15 logits) take a block a work-group below the compute units and a row a work-group (one
 * launch) from there on (B = 120; told of 200 compute units, a block a work-group again); on a
 * CPU's tuning, runs of blocks in two launches below the compute units, a row a work-item from
 * there on. */
START_TEST(softmax_one_and_two_launches_agree)
{
    clr_shape shapes[] = {{.dims = {33000}}, {.dims = {9000}}};
    static const size_t batches[] = {1, 2, 120};
    static const size_t gpu_launches[] = {2, 2, 2, 2, 2, 1}, gpu_per_group[] = {1, 1, 1, 1, 1, 3};
    enum { NCASES = 6 };
    uint64_t fp[2][NCASES];
    test_cus = 4;
    for (int contig = 0; contig < 2; ++contig) {
        clr_device_result res;
        run_generated(&clr_op_softmax, "portable", NULL, shapes, 2, batches, 3, 16, 4,
                      contig ? CLR_CONTIG_YES : CLR_CONTIG_NO, NULL, &res);
        ck_assert_uint_eq(res.ncases, NCASES);
        for (size_t i = 0; i < NCASES; ++i) {
            const clr_case *c = &res.cases[i];
            size_t launches = clr_plan_get(&c->plan, "launches"), groups = clr_plan_get(&c->plan, "groups_per_row");
            ck_assert_msg(c->valid && c->replayed && c->replay_mismatches == 0, "contig %d V %zu B %zu (%zu launches): %s",
                          contig, c->shape.dims[0], c->shape.batch, launches,
                          c->first_mismatch[0] ? c->first_mismatch : "not valid");
            ck_assert_uint_eq(c->shape.dims[0], shapes[i / 3].dims[0]);
            ck_assert_uint_eq(c->shape.batch, batches[i % 3]);
            if (contig) {
                /* below the 4 compute units runs of blocks (here a block each) in two launches,
                 * from there on a row a work-item in one */
                ck_assert_uint_eq(groups, batches[i % 3] >= 4 ? 1 : clr_plan_get(&c->plan, "blocks"));
                ck_assert_uint_eq(launches, batches[i % 3] >= 4 ? 1 : 2);
            } else {
                ck_assert_uint_eq(launches, gpu_launches[i]);
                ck_assert_uint_eq(clr_plan_get(&c->plan, "per_group"), gpu_per_group[i]);
            }
            fp[contig][i] = c->fingerprint;
        }
        clr_device_result_free(&res);
    }
    /* A work-group wider than a block (512 x 16 lanes: TREE_J 1, the lanes past the block -0, the
     * second launch's levels of -0 skipped): the same bits at every case. */
    clr_device_result wide;
    test_cus = 4;
    run_generated(&clr_op_softmax, "portable", NULL, shapes, 2, batches, 2, 512, 16, CLR_CONTIG_NO, NULL, &wide);
    ck_assert_uint_eq(wide.ncases, 4); /* B = 1 and 2: the wide work-group in both launches */
    for (size_t i = 0; i < 4; ++i) {
        const clr_case *c = &wide.cases[i];
        size_t same = (i / 2) * 3 + i % 2; /* the case of the same shape and batch above */
        ck_assert_msg(c->valid && c->replayed && c->replay_mismatches == 0, "wg 512 vec 16 V %zu B %zu: %s",
                      c->shape.dims[0], c->shape.batch, c->first_mismatch[0] ? c->first_mismatch : "not valid");
        ck_assert_msg(c->shape.dims[0] == shapes[i / 2].dims[0] && c->fingerprint == fp[0][same],
                      "wg 512 vec 16 V %zu B %zu: %016llx, %016llx at wg 16 vec 4", c->shape.dims[0],
                      c->shape.batch, (unsigned long long)c->fingerprint, (unsigned long long)fp[0][same]);
    }
    clr_device_result_free(&wide);
    /* V = 9000, B = 120 on 200 compute units: two launches, a block a work-group. */
    test_cus = 200;
    clr_device_result res;
    run_generated(&clr_op_softmax, "portable", NULL, &shapes[1], 1, &batches[2], 1, 16, 4, CLR_CONTIG_NO, NULL, &res);
    ck_assert_uint_eq(res.ncases, 1);
    ck_assert(res.cases[0].valid && res.cases[0].replayed && res.cases[0].replay_mismatches == 0);
    ck_assert_uint_eq(clr_plan_get(&res.cases[0].plan, "launches"), 2);
    ck_assert_uint_eq(clr_plan_get(&res.cases[0].plan, "groups_per_row"), 3);
    ck_assert_msg(res.cases[0].fingerprint == fp[0][NCASES - 1], "V 9000 B 120 on 200 compute units: %016llx, %016llx "
                  "on 4", (unsigned long long)res.cases[0].fingerprint, (unsigned long long)fp[0][NCASES - 1]);
    clr_device_result_free(&res);
    test_cus = 0;
    for (size_t i = 0; i < NCASES; ++i)
        ck_assert_msg(fp[0][i] == fp[1][i], "V %zu B %zu: GPU paths %016llx, CPU paths %016llx", shapes[i / 3].dims[0],
                      batches[i % 3], (unsigned long long)fp[0][i], (unsigned long long)fp[1][i]);
}
END_TEST

/* softmax portable on special rows, replayed, with row's values where row's are exact: -inf
 * entries give +0, a constant row 1 / V everywhere, a row of -inf alone NaN (as row and the
 * reference), one large logit, a first block 90 below the rest; row r is of kind r % 7. At a GPU's tuning with the plans told of 64
 * compute units, 7 and 40 rows take a block a work-group (two launches); at the CPU's tuning, 7
 * rows. */
START_TEST(softmax_special_rows)
{
    enum { V = 33000, KINDS = 7, NROWS = 40 }; /* nine blocks: runs of blocks on CPUs at B = 1 */
    static float rows[NROWS * V];
    for (size_t r = 0; r < NROWS; ++r) {
        float *x = rows + r * V;
        clr_gen_row(7, CLR_DIST_UNIFORM, r, x, V);
        for (size_t i = 0; i < V; ++i) {
            if (r % KINDS == 0)
                x[i] *= 4.0f;
            if (r % KINDS == 1)
                x[i] = 2.5f;
            if (r % KINDS == 2 && i < 5000)
                x[i] = -INFINITY; /* a whole block of -inf, and part of the next */
            if (r % KINDS == 3)
                x[i] = -INFINITY;
            if (r % KINDS == 5)
                x[i] = -0.0f; /* zeros of both signs: the max may be either */
            if (r % KINDS == 6 && i < 4096)
                x[i] -= 90.0f; /* the first block's weight, about e^-89, is subnormal */
        }
        if (r % KINDS == 0)
            x[3] = x[10] = x[V - 1] = -INFINITY;
        if (r % KINDS == 4)
            x[500] = 40.0f;
        if (r % KINDS == 5)
            x[17] = 0.0f;
    }
    static const struct { unsigned wg, vec; clr_contig contig; cl_uint cus; size_t rows, launches; } tunings[] = {
        {256, 4, CLR_CONTIG_NO, 64, KINDS, 2}, {256, 4, CLR_CONTIG_NO, 64, NROWS, 2}, {16, 16, CLR_CONTIG_YES, 0, KINDS, 0}};
    for (size_t t = 0; t < 3; ++t) {
        clr_device_result res;
        test_cus = tunings[t].cus;
        run_rows(&clr_op_softmax, "portable", V, rows, tunings[t].rows, tunings[t].wg, tunings[t].vec,
                 tunings[t].contig, NULL, &res);
        test_cus = 0;
        for (size_t k = 0; k < res.ncases; ++k) {
            const clr_case *c = &res.cases[k];
            ck_assert_msg(c->valid && c->replayed, "B %zu: %s", c->shape.batch,
                          c->first_mismatch[0] ? c->first_mismatch : "beyond the bound");
            if (tunings[t].launches && c->shape.batch == tunings[t].rows)
                ck_assert_uint_eq(clr_plan_get(&c->plan, "launches"), tunings[t].launches);
            for (size_t row = 0; row < c->shape.batch; ++row) {
                const float *y = c->outputs + row * V;
                size_t r = row % KINDS, tiny = 0;
                double total = 0;
                for (size_t i = 0; i < V; ++i) {
                    if (r == 3) {
                        ck_assert_msg(isnan(y[i]), "a row of -inf gave %a, not NaN", (double)y[i]);
                        continue;
                    }
                    total += y[i];
                    if (rows[row * V + i] == -INFINITY)
                        ck_assert_msg(clr_float_bits(y[i]) == 0, "row %zu: exp(-inf) gave %a", r, (double)y[i]);
                    if (r == 1 || r == 5)
                        ck_assert_msg(clr_float_bits(y[i]) == clr_float_bits(1.0f / (float)V),
                                      "row %zu: a constant row gave %a at %zu", r, (double)y[i], i);
                    if (r == 4 && i != 500)
                        ck_assert(y[i] < 1e-16f);
                    if (r == 6 && i < 4096)
                        ck_assert_msg(y[i] < 1e-36f, "row 6: %a at %zu of the first block", (double)y[i], i);
                    tiny += r == 6 && i < 4096 && y[i] > 0;
                }
                if (r != 3)
                    ck_assert_msg(fabs(total - 1) < 1e-4, "row %zu: the outputs add to %.9g", r, total);
                if (r == 6)
                    ck_assert_msg(tiny > 1000, "row 6: %zu of the first block's 4096 outputs are above 0", tiny);
            }
        }
        clr_device_result_free(&res);
    }
}
END_TEST

/* The host side: exp(+-0) is 1 (so the sign of a zero max cannot show), the replay's specials,
 * and availability. */
START_TEST(host_side)
{
    ck_assert(clr_portable_exp(0.0f) == 1.0f && clr_portable_exp(-0.0f) == 1.0f);
    ck_assert(clr_portable_exp(-INFINITY) == 0.0f && !signbit(clr_portable_exp(-INFINITY)));
    clr_device dev = test_device();
    clr_tuning tuning = clr_tuning_default(&dev);
    for (size_t o = 0; o < 2; ++o) {
        const clr_strategy *s = clr_strategy_find(ops[o], "portable");
        ck_assert(s && s->available && s->replay);
        ck_assert_uint_eq(s->claims, CLR_CLAIM_DETERMINISTIC | CLR_CLAIM_BATCH_INVARIANT | CLR_CLAIM_DEVICE_INVARIANT);
        clr_op_ctx ctx = {.device = &dev, .tuning = &tuning, .shape = {.batch = 1, .dims = {4096}}};
        char why[160] = "";
        ck_assert_msg(s->available(&ctx, why, sizeof why), "%s portable unavailable on the test device: %s",
                      ops[o]->name, why);
        clr_device lacking = dev;
        lacking.single_fp &= ~(cl_device_fp_config)CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT;
        ctx.device = &lacking;
        ck_assert(!s->available(&ctx, why, sizeof why) && strstr(why, "CORRECTLY_ROUNDED_DIVIDE_SQRT"));
        lacking = dev;
        lacking.single_fp &= ~(cl_device_fp_config)CL_FP_DENORM;
        ck_assert(!s->available(&ctx, why, sizeof why) && strstr(why, "subnormals"));
    }
    /* A row of -inf alone: NaN, as the reference; a row of zeros and a NaN: NaN. */
    const clr_strategy *s = clr_strategy_find(&clr_op_softmax, "portable");
    clr_op_ctx ctx = {.device = &dev, .tuning = &tuning, .shape = {.batch = 1, .dims = {3}}};
    float x[3] = {-INFINITY, -INFINITY, -INFINITY}, y[3];
    double tol[3];
    clr_error err = {0};
    ck_assert_int_eq(s->replay(&ctx, NULL, x, NULL, y, tol, &err), 0);
    ck_assert(isnan(y[0]) && isnan(y[1]) && isnan(y[2]) && tol[0] == 0);
    float z[3] = {0.0f, NAN, -0.0f};
    ck_assert_int_eq(s->replay(&ctx, NULL, z, NULL, y, tol, &err), 0);
    ck_assert(isnan(y[0]) && isnan(y[1]) && isnan(y[2]));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("portable_ops");
    TCase *t = tcase_create("portable_ops");
    tcase_set_timeout(t, 900);
    tcase_add_test(t, host_side);
    tcase_add_loop_test(t, every_bit_replayed, 0, 4);
    tcase_add_loop_test(t, same_bits_under_every_tuning, 0, 2);
    tcase_add_test(t, softmax_one_and_two_launches_agree);
    tcase_add_test(t, first_levels_dropping_a_value_fails);
    tcase_add_test(t, a_dropped_value_fails);
    tcase_add_test(t, full_block_in_registers_dropping_a_vector_fails);
    tcase_add_test(t, softmax_special_rows);
    suite_add_tcase(s, t);
    return clr_run_suite(s);
}
