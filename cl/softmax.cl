/* softmax.cl: y_i = exp(x_i - max) / sum_j exp(x_j - max) for B rows of V logits, one kernel
 * family per strategy of src/ops/softmax.c. The max is exact whatever the order; the sum of the
 * exponentials is the reduction, and its order is what the strategies differ in.
 *
 * row    softmax_row: one work-group per row; max by the work-group tree, then work-item lid
 *        adds exp(x[lid] - m), exp(x[lid + WG] - m), ... from +0 and the work-group tree adds
 *        the work-items (wg_tree_sum); the exponentials are stored in y, then scaled by 1 / sum.
 * split  softmax_parts: work-group g takes chunk g % parts of row g / parts: (m_p, s_p) as row
 *        does over the chunk, exponentials stored in y; softmax_scale: work-group g combines the
 *        row's parts, M = max m_p and S = sum_p s_p * exp(m_p - M) (work-item lid takes parts
 *        lid, lid + WG, ..., then the tree: the same order in every work-group of the row), and
 *        scales its chunk by exp(m_p - M) * (1 / S).
 * portable  softmax_portable_*: the max, then the portable exp of x - max summed in the
 *        canonical tree of tree.clh, then y = e * (1 / S); one work-group a row, or the row's
 *        blocks spread over work-groups in three launches (max, exp and block sums, scale) or,
 *        on GPUs at small batches, two (each work-group takes the max itself). See below.
 *
 * row's and split's exp is the vendor's (OpenCL: at most 3 ulp), so their bits may differ
 * between devices; portable's is portable.clh's, the same bits everywhere. fmax
 * ignores NaN (so does the host reference); a NaN, a +inf or a row of -inf still makes the row NaN
 * through exp and the sum. */
#include "reduce.clh"
#include "dtype.clh"
#include "tree.clh" /* VSTORE, in_vload */

/* Max over the `width` work-items of a work-group (WG_SIZE, or tree.clh's TREE_WG); every
 * work-item gets it (exact in any order). */
inline float wg_tree_max(local float *scratch, float v, uint lid, uint width)
{
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = width / 2; s > 0; s >>= 1) {
        if (lid < s)
            scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

/* Max of x[begin, end) by one work-group. */
inline float wg_max(local float *scratch, global const in_t *x, uint begin, uint end, uint lid)
{
    float m = -INFINITY;
    for (uint i = begin + lid; i < end; i += WG_SIZE)
        m = fmax(m, in_load(x, i));
    return wg_tree_max(scratch, m, lid, WG_SIZE);
}

/* Sum of exp(x_i - m) over [begin, end) by one work-group, strided per work-item from +0, then
 * the tree; each exponential is also stored in y_i. A range whose max is -inf (all -inf, or NaN)
 * is shifted by 0, not -inf: its -inf entries give 0, not exp(-inf + inf) = NaN, so a chunk of
 * masked logits adds 0 to its row (and a row of -inf alone is still 0 * (1 / 0) = NaN). */
inline float wg_sum_exp(local float *scratch, global const in_t *x, global float *y, uint begin, uint end, float m,
                        uint lid)
{
    float s = 0.0f, shift = m == -INFINITY ? 0.0f : m;
    for (uint i = begin + lid; i < end; i += WG_SIZE) {
        float e = exp(in_load(x, i) - shift);
        y[i] = e;
        s += e;
    }
    return wg_tree_sum(scratch, s, lid);
}

/* y_i *= c over [begin, end): the same elements each work-item stored in wg_sum_exp. */
inline void scale_range(global float *y, uint begin, uint end, float c, uint lid)
{
    for (uint i = begin + lid; i < end; i += WG_SIZE)
        y[i] *= c;
}

#if CONTIG
/* row on CPUs (CONTIG): a work-group of one work-item per row, without barriers. The max (exact
 * in any order) and the exponentials as vectors; lane l of the accumulator adds
 * exp(x[k * VEC + l] - m) for k = 0, 1, ... in order, the lanes are added in reduce.clh's
 * pairwise order (HSUM), then the tail in order: one order per V and VEC, whatever the batch.
 * The work-group of WG_SIZE below cost PoCL 1.5-3.1x the fastest strategy (its barriers). */
kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void softmax_row(global const in_t *x, global float *y, uint V)
{
    uint row = get_group_id(0), nvec = V / VEC;
    global const in_t *xr = x + (ulong)row * V;
    global float *yr = y + (ulong)row * V;
    vfloat mv = (vfloat)(-INFINITY);
    for (uint k = 0; k < nvec; ++k)
        mv = fmax(mv, in_vload(xr, (ulong)k * VEC));
    float m = -INFINITY, lanes[VEC];
    VSTORE(mv, lanes);
    for (uint l = 0; l < VEC; ++l)
        m = fmax(m, lanes[l]);
    for (uint i = nvec * VEC; i < V; ++i)
        m = fmax(m, in_load(xr, i));
    float shift = m == -INFINITY ? 0.0f : m; /* as wg_sum_exp: a row of -inf alone stays NaN */
    vfloat acc = (vfloat)(0.0f);
    for (uint k = 0; k < nvec; ++k) {
        vfloat e = exp(in_vload(xr, (ulong)k * VEC) - shift);
        VSTORE(e, yr + (ulong)k * VEC);
        acc += e;
    }
    float s = HSUM(acc);
    for (uint i = nvec * VEC; i < V; ++i) {
        float e = exp(in_load(xr, i) - shift);
        yr[i] = e;
        s += e;
    }
    float c = 1.0f / s;
    for (uint k = 0; k < nvec; ++k)
        VSTORE(VLOAD(k, yr) * c, yr + (ulong)k * VEC);
    for (uint i = nvec * VEC; i < V; ++i)
        yr[i] *= c;
}
#else
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void softmax_row(global const in_t *x, global float *y, uint V)
{
    local float scratch[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    global const in_t *xr = x + (ulong)row * V;
    global float *yr = y + (ulong)row * V;
    float m = wg_max(scratch, xr, 0, V, lid);
    float s = wg_sum_exp(scratch, xr, yr, 0, V, m, lid);
    scale_range(yr, 0, V, 1.0f / s, lid);
}
#endif

/* split pass 1: parts[2g] = m_p, parts[2g + 1] = s_p of chunk g % parts of row g / parts. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void softmax_parts(global const in_t *x, global float *y, global float *partials, uint V, uint parts, uint chunk)
{
    local float scratch[WG_SIZE];
    uint g = get_group_id(0), lid = get_local_id(0), row = g / parts, part = g % parts;
    uint begin = min(part * chunk, V), end = min(begin + chunk, V);
    global const in_t *xr = x + (ulong)row * V;
    global float *yr = y + (ulong)row * V;
    float m = wg_max(scratch, xr, begin, end, lid);
    float s = wg_sum_exp(scratch, xr, yr, begin, end, m, lid);
    if (lid == 0) {
        partials[2 * (ulong)g] = m;
        partials[2 * (ulong)g + 1] = s;
    }
}

/* split pass 2: same NDRange as pass 1; each work-group combines its row's parts (the same
 * order in each) and scales its own chunk. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void softmax_scale(global float *y, global const float *partials, uint V, uint parts, uint chunk)
{
    local float scratch[WG_SIZE];
    uint g = get_group_id(0), lid = get_local_id(0), row = g / parts, part = g % parts;
    uint begin = min(part * chunk, V), end = min(begin + chunk, V);
    global const float *p = partials + 2 * (ulong)row * parts;
    float m = -INFINITY;
    for (uint q = lid; q < parts; q += WG_SIZE)
        m = fmax(m, p[2 * q]);
    float M = wg_tree_max(scratch, m, lid, WG_SIZE);
    float s = 0.0f;
    for (uint q = lid; q < parts; q += WG_SIZE) {
        float w = exp(p[2 * q] - M);
        s += p[2 * q + 1] * w;
    }
    float S = wg_tree_sum(scratch, s, lid);
    float w = exp(p[2 * part] - M);
    scale_range(y + (ulong)row * V, begin, end, w * (1.0f / S), lid);
}

/* portable: the same bits on every device that rounds divide correctly and keeps subnormals
 * (src/ops/softmax.c runs it only there), replayed by the host. m = the row's max (exact in any
 * order; fmax ignores NaN), shift = m, or 0 where m is -inf (as row: a row of -inf alone is
 * then 0 * (1 / 0) = NaN, as the reference); e_i = portable_exp(x_i - shift) (portable.clh: +,
 * -, *, fma and exact scalings only), kept in y; S = the canonical tree sum of the e_i
 * (tree.clh: an order that depends on V alone); y_i = e_i * (1 / S), 1 / S correctly rounded.
 * softmax_portable_row does it all with one work-group per row. Split over the device:
 * work-group g takes blocks [b0, b0 + per_group) of row g / groups_per_row, and the scratch holds
 * the block sums, then (from maxes_at) each work-group's max. softmax_portable_max writes the
 * max of its blocks; softmax_portable_exp takes the row's max of those, stores its blocks' e_i
 * and writes each block's sum; softmax_portable_scale folds the row's block sums (the tree's
 * second level, the same in every work-group) and scales its blocks. softmax_portable_maxexp
 * replaces the first two where every work-group reads its row's max itself. Which work-group
 * folds a block changes nothing: a block's fold and the fold of the block sums are fixed. */
#include "portable.clh"
#include "tree.clh"

inline float sm_exp_1(global const in_t *x, global float *y, ulong k, float shift)
{
    float e = portable_exp(in_load(x, k) - shift);
    y[k] = e;
    return e;
}
inline vfloat sm_exp_v(global const in_t *x, global float *y, ulong k, float shift)
{
#if VEC > 1
    vfloat v = portable_expv(in_vload(x, k) - shift); /* lane by lane portable_exp's bits */
#else
    vfloat v = portable_exp(in_vload(x, k) - shift);
#endif
    VSTORE(v, y + k);
    return v;
}
#define SM_EXP_V(k) sm_exp_v(x, y, (k), shift)
#define SM_EXP_1(k) sm_exp_1(x, y, (k), shift)
TREE_WI_FOLD(sm_wi_exp, SM_EXP_V, SM_EXP_1, global const in_t *x, global float *y, float shift)
TREE_ROW_FOLD(sm_row_exp, sm_wi_exp, (global const in_t *x, global float *y, float shift), (x, y, shift))

/* Max of x[begin, end) by the work-group, a vector at a time. Four running maxima a work-item,
 * so that four loads are in flight, not one after another (a max is exact in any order: the
 * same value, and the same bits of every e_i, however it is grouped). */
inline float sm_range_max(local float *scratch, global const in_t *x, ulong begin, ulong end, uint lid)
{
    vfloat mv = (vfloat)(-INFINITY), m1 = mv, m2 = mv, m3 = mv;
    ulong nvec = (end - begin) / VEC, k = lid;
    for (; k + 3 * TREE_WG < nvec; k += 4 * TREE_WG) {
        mv = fmax(mv, in_vload(x, begin + k * VEC));
        m1 = fmax(m1, in_vload(x, begin + (k + TREE_WG) * VEC));
        m2 = fmax(m2, in_vload(x, begin + (k + 2 * TREE_WG) * VEC));
        m3 = fmax(m3, in_vload(x, begin + (k + 3 * TREE_WG) * VEC));
    }
    for (; k < nvec; k += TREE_WG)
        mv = fmax(mv, in_vload(x, begin + k * VEC));
    mv = fmax(fmax(mv, m1), fmax(m2, m3));
    float m = -INFINITY;
    for (uint l = 0; l < VEC; ++l)
        m = fmax(m, ((float *)&mv)[l]);
    for (ulong i = begin + nvec * VEC + lid; i < end; i += TREE_WG)
        m = fmax(m, in_load(x, i));
    return wg_tree_max(scratch, m, lid, TREE_WG);
}

/* y_i *= c over [begin, end). */
inline void sm_scale(global float *y, ulong begin, ulong end, float c, uint lid)
{
    ulong nvec = (end - begin) / VEC;
    for (ulong k = lid; k < nvec; k += TREE_WG) {
        global float *p = y + begin + k * VEC;
        VSTORE(VLOAD(0, p) * c, p);
    }
    for (ulong i = begin + nvec * VEC + lid; i < end; i += TREE_WG)
        y[i] *= c;
}

kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_row(global const in_t *x, global float *y, uint V)
{
    local vfloat scratch[TREE_WG];
    local float sums[TREE_BLOCK];
    uint row = get_group_id(0), lid = get_local_id(0);
    global const in_t *xr = x + (ulong)row * V;
    global float *yr = y + (ulong)row * V;
    float m = sm_range_max((local float *)scratch, xr, 0, V, lid);
    float S = sm_row_exp(scratch, sums, xr, yr, m == -INFINITY ? 0.0f : m, V, lid);
    barrier(CLK_GLOBAL_MEM_FENCE); /* the e_i another work-item stored */
    sm_scale(yr, 0, V, 1.0f / S, lid);
}

/* The elements [*begin, *end) of work-group g's blocks, and its row. */
inline uint sm_blocks(uint V, uint blocks, uint per_group, uint groups_per_row, uint *b0, uint *b1)
{
    uint g = get_group_id(0);
    *b0 = (g % groups_per_row) * per_group;
    *b1 = min(*b0 + per_group, blocks);
    return g / groups_per_row;
}

/* The row's blocks [b0, b1) given its max m: their e_i stored in yr and each block's sum in
 * bsums[b] (bsums: the row's block sums). */
inline void sm_blocks_exp(local vfloat *scratch, global const in_t *xr, global float *yr, global float *bsums,
                          float m, uint V, uint b0, uint b1, uint lid)
{
    float shift = m == -INFINITY ? 0.0f : m;
    for (uint b = b0; b < b1; ++b) {
        ulong begin = (ulong)b * TREE_BLOCK;
        float s = tree_wg_fold(scratch, sm_wi_exp(xr, yr, shift, begin, (uint)min((ulong)TREE_BLOCK, V - begin), lid), lid);
        if (lid == 0)
            bsums[b] = s;
    }
}

kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_max(global const in_t *x, global float *scratch, ulong maxes_at, uint V, uint blocks,
                          uint per_group, uint groups_per_row)
{
    global float *maxes = scratch + maxes_at;
    local float lmax[TREE_WG];
    uint b0, b1, lid = get_local_id(0);
    uint row = sm_blocks(V, blocks, per_group, groups_per_row, &b0, &b1);
    float m = sm_range_max(lmax, x + (ulong)row * V, (ulong)b0 * TREE_BLOCK, min((ulong)b1 * TREE_BLOCK, (ulong)V),
                           lid);
    if (lid == 0)
        maxes[get_group_id(0)] = m;
}

kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_exp(global const in_t *x, global float *y, global float *sums, ulong maxes_at, uint V,
                          uint blocks, uint per_group, uint groups_per_row)
{
    global const float *maxes = sums + maxes_at;
    local vfloat scratch[TREE_WG];
    uint b0, b1, lid = get_local_id(0);
    uint row = sm_blocks(V, blocks, per_group, groups_per_row, &b0, &b1);
    global const float *rm = maxes + (ulong)row * groups_per_row;
    float m = -INFINITY;
    for (uint q = lid; q < groups_per_row; q += TREE_WG)
        m = fmax(m, rm[q]);
    m = wg_tree_max((local float *)scratch, m, lid, TREE_WG);
    sm_blocks_exp(scratch, x + (ulong)row * V, y + (ulong)row * V, sums + (ulong)row * blocks, m, V, b0, b1, lid);
}

/* GPUs, two launches: every work-group of a row takes the row's max itself (each reads the
 * whole row, the later ones from the cache), then stores its blocks' e_i and writes each block's
 * sum; softmax_portable_scale follows. The same max (exact in any order), hence the same bits
 * as the three launches, with one dependent launch fewer. */
kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_maxexp(global const in_t *x, global float *y, global float *sums, uint V, uint blocks,
                             uint per_group, uint groups_per_row)
{
    local vfloat scratch[TREE_WG];
    uint b0, b1, lid = get_local_id(0);
    uint row = sm_blocks(V, blocks, per_group, groups_per_row, &b0, &b1);
    global const in_t *xr = x + (ulong)row * V;
    float m = sm_range_max((local float *)scratch, xr, 0, V, lid);
    sm_blocks_exp(scratch, xr, y + (ulong)row * V, sums + (ulong)row * blocks, m, V, b0, b1, lid);
}

kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_scale(global float *y, global const float *sums, uint V, uint blocks, uint per_group,
                            uint groups_per_row)
{
    local vfloat scratch[TREE_WG];
    uint b0, b1, lid = get_local_id(0);
    uint row = sm_blocks(V, blocks, per_group, groups_per_row, &b0, &b1);
    float S = tree_wg_fold(scratch, tree_wi_global(sums + (ulong)row * blocks, 0, blocks, lid), lid);
    sm_scale(y + (ulong)row * V, (ulong)b0 * TREE_BLOCK, min((ulong)b1 * TREE_BLOCK, (ulong)V), 1.0f / S, lid);
}
