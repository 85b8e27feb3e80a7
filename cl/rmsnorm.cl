/* rmsnorm.cl: y = x / sqrt(mean(x^2) + eps) * w for B rows of D values, one kernel family per
 * strategy of src/ops/rmsnorm.c. The sum of squares is the reduction; its order is what the
 * strategies differ in. Contraction is off (reduce.clh): every square is rounded alone before it
 * is added, and (x * inv) * w is two products. */
#include "reduce.clh"
#include "dtype.clh"
#include "tree.clh"

/* Sum of squares of x[begin, end) by one work-group: strided per work-item, then the tree. */
inline float wg_sumsq(local float *scratch, global const in_t *x, uint begin, uint end, uint lid)
{
    float s = 0.0f;
    for (uint i = begin + lid; i < end; i += WG_SIZE) {
        float v = in_load(x, i);
        s += v * v;
    }
    return wg_tree_sum(scratch, s, lid);
}

inline void normalize_row(global const in_t *x, global const in_t *w, global float *y, uint D, float sumsq,
                          float eps, uint lid)
{
    float inv = 1.0f / sqrt(sumsq / (float)D + eps);
    for (uint i = lid; i < D; i += WG_SIZE)
        y[i] = (in_load(x, i) * inv) * in_load(w, i);
}

#if CONTIG
/* row on CPUs (CONTIG): a work-group of one work-item per row, without barriers. Lane l of a
 * vector accumulator adds x[k * VEC + l]^2 for k = 0, 1, ... in order, the lanes are then added
 * in reduce.clh's pairwise order (HSUM), then the tail of fewer than VEC squares in order: one
 * order per D and VEC, whatever the batch (src/ops/rmsnorm.c replays it). On PoCL the
 * work-group of WG_SIZE below cost 2.5-6.3x the fastest strategy: its barriers split the
 * kernel into work-item loops. */
kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void rmsnorm_row(global const in_t *x, global const in_t *w, global float *y, uint D, float eps)
{
    uint row = get_group_id(0), nvec = D / VEC;
    global const in_t *xr = x + (ulong)row * D;
    global float *yr = y + (ulong)row * D;
    vfloat acc = (vfloat)(0.0f);
    for (uint k = 0; k < nvec; ++k) {
        vfloat v = in_vload(xr, (ulong)k * VEC);
        acc += v * v;
    }
    float total = HSUM(acc);
    for (uint i = nvec * VEC; i < D; ++i) {
        float v = in_load(xr, i);
        total += v * v;
    }
    float inv = 1.0f / sqrt(total / (float)D + eps);
    for (uint k = 0; k < nvec; ++k)
        VSTORE((in_vload(xr, (ulong)k * VEC) * inv) * in_vload(w, (ulong)k * VEC), yr + (ulong)k * VEC);
    for (uint i = nvec * VEC; i < D; ++i)
        yr[i] = (in_load(xr, i) * inv) * in_load(w, i);
}
#else
/* row: one work-group per row, one fixed order (wg_sumsq's). Rows of up to RMS_HELD values
 * per work-item are read once and kept in registers for the normalization; the additions are
 * the same, in the same order, as wg_sumsq's, so the bits are too. */
#define RMS_HELD 16
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void rmsnorm_row(global const in_t *x, global const in_t *w, global float *y, uint D, float eps)
{
    local float scratch[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    global const in_t *xr = x + (ulong)row * D;
    global float *yr = y + (ulong)row * D;
    if (D > RMS_HELD * WG_SIZE) {
        float total = wg_sumsq(scratch, xr, 0, D, lid);
        normalize_row(xr, w, yr, D, total, eps, lid);
        return;
    }
    float held[RMS_HELD], s = 0.0f;
#pragma unroll
    for (uint k = 0; k < RMS_HELD; ++k) {
        uint i = lid + k * WG_SIZE;
        held[k] = i < D ? in_load(xr, i) : 0.0f;
    }
#pragma unroll
    for (uint k = 0; k < RMS_HELD; ++k)
        if (lid + k * WG_SIZE < D)
            s += held[k] * held[k];
    float total = wg_tree_sum(scratch, s, lid);
    float inv = 1.0f / sqrt(total / (float)D + eps);
#pragma unroll
    for (uint k = 0; k < RMS_HELD; ++k) {
        uint i = lid + k * WG_SIZE;
        if (i < D)
            yr[i] = (held[k] * inv) * in_load(w, i);
    }
}
#endif

/* split pass 1 (and atomic's): work-group g reduces chunk g % parts of row g / parts. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void rmsnorm_partials(global const in_t *x, global float *partials, uint D, uint parts, uint chunk, uint atomic)
{
    local float scratch[WG_SIZE];
    uint g = get_group_id(0), lid = get_local_id(0), row = g / parts, part = g % parts;
    uint begin = min(part * chunk, D), end = min(begin + chunk, D);
    float s = wg_sumsq(scratch, x + (ulong)row * D, begin, end, lid);
    if (lid == 0) {
        if (atomic)
            atomic_add_float(partials + row, s);
        else
            partials[g] = s;
    }
}

/* split pass 2: one work-group per row combines its parts, then normalizes. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void rmsnorm_combine(global const in_t *x, global const in_t *w, global const float *partials, global float *y,
                     uint D, uint parts, float eps)
{
    local float scratch[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    global const float *p = partials + (ulong)row * parts;
    float s = 0.0f;
    for (uint i = lid; i < parts; i += WG_SIZE)
        s += p[i];
    float total = wg_tree_sum(scratch, s, lid);
    normalize_row(x + (ulong)row * D, w, y + (ulong)row * D, D, total, eps, lid);
}

/* atomic pass 2: the row's sum of squares was accumulated with atomic adds. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void rmsnorm_apply(global const in_t *x, global const in_t *w, global const float *sumsq, global float *y, uint D,
                   float eps)
{
    uint row = get_group_id(0), lid = get_local_id(0);
    normalize_row(x + (ulong)row * D, w, y + (ulong)row * D, D, sumsq[row], eps, lid);
}

/* portable: the squares x_i * x_i (each rounded once) summed in the canonical tree of tree.clh
 * (an order that depends on D alone), then inv = 1 / sqrt(total / D + eps) and y = (x * inv) * w,
 * IEEE operations only where the program is built with -cl-fp32-correctly-rounded-divide-sqrt
 * (src/ops/rmsnorm.c runs it only there): the same bits on every such device, replayed by the
 * host. One work-group of TREE_WG per row (D <= TREE_BLOCK^2). */
inline vfloat rms_square_v(global const in_t *x, ulong k)
{
    vfloat v = in_vload(x, k);
    return v * v;
}
inline float rms_square_1(global const in_t *x, ulong k)
{
    float v = in_load(x, k);
    return v * v;
}
#define RMS_SQUARE_V(k) rms_square_v(x, (k))
#define RMS_SQUARE_1(k) rms_square_1(x, (k))
TREE_WI_FOLD_FIRST3(rms_wi_squares, RMS_SQUARE_V, RMS_SQUARE_1, global const in_t *x)
TREE_ROW_FOLD(rms_row_squares, rms_wi_squares, (global const in_t *x), (x))

kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void rmsnorm_portable(global const in_t *x, global const in_t *w, global float *y, uint D, float eps)
{
    local vfloat scratch[TREE_WG];
    local float sums[TREE_BLOCK];
    uint row = get_group_id(0), lid = get_local_id(0);
    global const in_t *xr = x + (ulong)row * D;
    global float *yr = y + (ulong)row * D;
    float total = rms_row_squares(scratch, sums, xr, D, lid);
    float inv = 1.0f / sqrt(total / (float)D + eps);
    uint nvec = D / VEC;
    for (uint k = lid; k < nvec; k += TREE_WG)
        VSTORE((in_vload(xr, (ulong)k * VEC) * inv) * in_vload(w, (ulong)k * VEC), yr + (ulong)k * VEC);
    for (uint i = nvec * VEC + lid; i < D; i += TREE_WG)
        yr[i] = (in_load(xr, i) * inv) * in_load(w, i);
}
