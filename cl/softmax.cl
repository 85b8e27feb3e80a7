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
 * portable  softmax_portable_*: every block of the canonical tree (tree.clh) softmaxed against
 *        its own max with the portable exp, the block sums weighted by exp(block max - row max)
 *        and folded as the tree's second level, then y = e * (weight * (1 / S)); one work-group a
 *        row, or the row's blocks spread over work-groups in two launches. See below.
 *
 * row's and split's exp is the vendor's (OpenCL: at most 3 ulp), so their bits may differ
 * between devices; portable's is portable.clh's, the same bits everywhere. fmax
 * ignores NaN (so does the host reference); a NaN, a +inf or a row of -inf still makes the row NaN
 * through exp and the sum. */
#include "reduce.clh"
#include "dtype.clh"
#include "tree.clh" /* VSTORE, in_vload */

/* Max over the `width` work-items of a work-group (WG_SIZE, or tree.clh's TREE_WG) where only
 * work-items [0, active) hold values, the rest -inf: the levels s >= active are skipped (a max is
 * exact in any order). Every work-item gets it; active must be the same in the work-group. */
inline float wg_tree_max_active(local float *scratch, float v, uint lid, uint width, uint active)
{
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    uint s = width / 2;
    while (s > 0 && s >= active)
        s >>= 1;
    for (; s > 0; s >>= 1) {
        if (lid < s)
            scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

inline float wg_tree_max(local float *scratch, float v, uint lid, uint width)
{
    return wg_tree_max_active(scratch, v, lid, width, width);
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
 * (src/ops/softmax.c runs it only there), replayed by the host. The row is cut into the
 * canonical tree's blocks of TREE_BLOCK logits (tree.clh), and each block is softmaxed against
 * its own max, as split's parts are, but in an order that depends on V alone:
 *   m_b   = the max of block b (exact in any order; fmax ignores NaN);
 *   e_i   = portable_exp(x_i - shift_b), shift_b = m_b, or 0 where m_b is -inf (portable.clh:
 *           +, -, *, fma and exact scalings only), kept in y;
 *   s_b   = the fold of block b's e_i (the tree's first level);
 *   M     = max_b m_b; w_b = portable_exp(m_b - M), or 0 where m_b is -inf;
 *   S     = the fold of the s_b * w_b (the tree's second level; a row of one block: s_0 * w_0);
 *   y_i   = e_i * (w_b * (1 / S)), 1 / S correctly rounded.
 * A row of one block keeps the bits of a single max (w_0 is 1, 0 or NaN: s_0 * 1 = s_0, and a
 * row of -inf alone is still e * (0 * (1 / 0)) = NaN, as the reference). A NaN or +inf logit
 * makes the row NaN through s_b or w_b. Every block needing only its own max, a row spreads over
 * work-groups in two launches: softmax_portable_blocks (each work-group its run of blocks:
 * m_b, e_i, s_b), then softmax_portable_scale (each work-group folds the row's s_b w_b, the same
 * order in all, and scales its blocks); softmax_portable_row does a whole row in one work-group.
 * Which work-group takes a block changes nothing: every value and every fold is fixed. */
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

/* w_b: block b's weight against the row's max M. */
inline float sm_weight(float mb, float M) { return mb == -INFINITY ? 0.0f : portable_exp(mb - M); }

/* The work-items that hold the second level's values (value k: lane k % VEC of work-item
 * (k / VEC) % TREE_WG). */
#define SM_ACTIVE(blocks) min((uint)TREE_WG, ((blocks) + VEC - 1) / VEC)

/* The second level's values s_b * w_b, from the block sums and maxima in local or global memory
 * (a handful a row: lane by lane), and M, the max of the row's block maxima (work-items
 * strided, then the work-group). */
#define SM_PROD_1(k) (sums[k] * sm_weight(maxes[k], M))
#define SM_SECOND_LEVEL(SPACE)                                                                   \
    inline vfloat sm_prod_v_##SPACE(SPACE const float *sums, SPACE const float *maxes, float M, ulong k) \
    {                                                                                            \
        float e[VEC];                                                                            \
        for (uint l = 0; l < VEC; ++l)                                                           \
            e[l] = SM_PROD_1(k + l);                                                             \
        return VLOAD(0, e);                                                                      \
    }                                                                                            \
    inline float sm_prod_1_##SPACE(SPACE const float *sums, SPACE const float *maxes, float M, ulong k) \
    {                                                                                            \
        return SM_PROD_1(k);                                                                     \
    }                                                                                            \
    inline float sm_row_max_##SPACE(local float *scratch, SPACE const float *maxes, uint blocks, uint lid) \
    {                                                                                            \
        float m = -INFINITY;                                                                     \
        for (uint q = lid; q < blocks; q += TREE_WG)                                             \
            m = fmax(m, maxes[q]);                                                               \
        return wg_tree_max_active(scratch, m, lid, TREE_WG, blocks);                             \
    }
SM_SECOND_LEVEL(local)
SM_SECOND_LEVEL(global)
#define SM_PROD_V_L(k) sm_prod_v_local(sums, maxes, M, (k))
#define SM_PROD_1_L(k) sm_prod_1_local(sums, maxes, M, (k))
#define SM_PROD_V_G(k) sm_prod_v_global(sums, maxes, M, (k))
#define SM_PROD_1_G(k) sm_prod_1_global(sums, maxes, M, (k))
TREE_WI_FOLD(sm_wi_prod_local, SM_PROD_V_L, SM_PROD_1_L, local const float *sums, local const float *maxes, float M)
TREE_WI_FOLD(sm_wi_prod_global, SM_PROD_V_G, SM_PROD_1_G, global const float *sums, global const float *maxes,
             float M)

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

#if TREE_WG > 1 && TREE_WG * VEC * TREE_J == TREE_BLOCK
/* A full block on GPUs: each work-item loads its TREE_J vectors once, into registers, takes the
 * max from them and then their exponentials: the layout and the fold over j of TREE_WI_FOLD
 * (value (j * TREE_WG + lid) * VEC + l), hence its bits, with one read of the block, not two. */
#define SM_FULL_BLOCK_IN_REGISTERS 1
inline float sm_full_block(local vfloat *scratch, global const in_t *xr, global float *yr, ulong begin, uint lid,
                           float *m)
{
    vfloat v[TREE_J], mv = (vfloat)(-INFINITY);
    for (uint j = 0; j < TREE_J; ++j) {
        v[j] = in_vload(xr, begin + (ulong)(j * TREE_WG + lid) * VEC);
        mv = fmax(mv, v[j]);
    }
    float mm = -INFINITY;
    for (uint l = 0; l < VEC; ++l)
        mm = fmax(mm, ((float *)&mv)[l]);
    *m = wg_tree_max((local float *)scratch, mm, lid, TREE_WG);
    float shift = *m == -INFINITY ? 0.0f : *m;
    for (uint j = 0; j < TREE_J; ++j) {
#if VEC > 1
        v[j] = portable_expv(v[j] - shift);
#else
        v[j] = portable_exp(v[j] - shift);
#endif
        VSTORE(v[j], yr + begin + (ulong)(j * TREE_WG + lid) * VEC);
    }
    for (uint h = TREE_J / 2; h > 0; h >>= 1)
        for (uint j = 0; j < h; ++j)
            v[j] += v[j + h];
    return tree_wg_fold(scratch, v[0], lid);
}
#endif

/* Block b of a row: *m = m_b, its e_i stored in yr; returns s_b. Every work-item gets both. */
inline float sm_block(local vfloat *scratch, global const in_t *xr, global float *yr, uint V, uint b, uint lid,
                      float *m)
{
    ulong begin = (ulong)b * TREE_BLOCK;
    uint len = (uint)min((ulong)TREE_BLOCK, (ulong)V - begin);
#ifdef SM_FULL_BLOCK_IN_REGISTERS
    if (len == TREE_BLOCK)
        return sm_full_block(scratch, xr, yr, begin, lid, m);
#endif
    *m = sm_range_max((local float *)scratch, xr, begin, begin + len, lid);
    float shift = *m == -INFINITY ? 0.0f : *m;
    return tree_wg_fold(scratch, sm_wi_exp(xr, yr, shift, begin, len, lid), lid);
}

/* The two halves of a row, the same in one work-group (softmax_portable_row, sums and maxima in
 * local memory) and over two launches (global): sm_fold_blocks_* folds blocks [b0, b1) into
 * sums[b] and maxes[b]; sm_scale_blocks_* takes M and S from all the row's blocks and scales
 * blocks [b0, b1) by w_b * (1 / S). */
#define SM_ROW_STEPS(SPACE)                                                                      \
    inline void sm_fold_blocks_##SPACE(local vfloat *scratch, global const in_t *xr, global float *yr, uint V, \
                                       SPACE float *sums, SPACE float *maxes, uint b0, uint b1, uint lid) \
    {                                                                                            \
        for (uint b = b0; b < b1; ++b) {                                                         \
            float m, s = sm_block(scratch, xr, yr, V, b, lid, &m);                               \
            if (lid == 0) {                                                                      \
                sums[b] = s;                                                                     \
                maxes[b] = m;                                                                    \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    inline void sm_scale_blocks_##SPACE(local vfloat *scratch, global float *yr, SPACE const float *sums,      \
                                        SPACE const float *maxes, uint V, uint blocks, uint b0, uint b1, uint lid) \
    {                                                                                            \
        float M = sm_row_max_##SPACE((local float *)scratch, maxes, blocks, lid);                \
        float S = blocks == 1 ? sums[0] * sm_weight(maxes[0], M)                                 \
                              : tree_wg_fold_active(scratch, sm_wi_prod_##SPACE(sums, maxes, M, 0, blocks, lid), \
                                                    lid, SM_ACTIVE(blocks));                     \
        float inv = 1.0f / S;                                                                    \
        for (uint b = b0; b < b1; ++b)                                                           \
            sm_scale(yr, (ulong)b * TREE_BLOCK, min((ulong)(b + 1) * TREE_BLOCK, (ulong)V),      \
                     sm_weight(maxes[b], M) * inv, lid);                                         \
    }
SM_ROW_STEPS(local)
SM_ROW_STEPS(global)

/* The block sums and maxima a row may have in softmax_portable_row: on CPUs any row's, on GPUs
 * those of a row of at most SM_ONE_LAUNCH_ROW logits (the plan gives longer rows two launches). */
#if CONTIG
#define SM_ROW_BLOCKS TREE_BLOCK
#else
#define SM_ROW_BLOCKS (SM_ONE_LAUNCH_ROW / TREE_BLOCK)
#endif

kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_row(global const in_t *x, global float *y, uint V)
{
    local vfloat scratch[TREE_WG];
    local float sums[SM_ROW_BLOCKS], maxes[SM_ROW_BLOCKS];
    uint row = get_group_id(0), lid = get_local_id(0), blocks = (V + TREE_BLOCK - 1) / TREE_BLOCK;
    global const in_t *xr = x + (ulong)row * V;
    global float *yr = y + (ulong)row * V;
    sm_fold_blocks_local(scratch, xr, yr, V, sums, maxes, 0, blocks, lid);
    barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE); /* the sums, maxima and e_i of others */
    sm_scale_blocks_local(scratch, yr, sums, maxes, V, blocks, 0, blocks, lid);
}

/* The blocks [*b0, *b1) of work-group g, and its row. */
inline uint sm_blocks(uint blocks, uint per_group, uint groups_per_row, uint *b0, uint *b1)
{
    uint g = get_group_id(0);
    *b0 = (g % groups_per_row) * per_group;
    *b1 = min(*b0 + per_group, blocks);
    return g / groups_per_row;
}

/* Launch 1: part holds the block sums (B x blocks), then from maxes_at the block maxima. */
kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_blocks(global const in_t *x, global float *y, global float *part, ulong maxes_at, uint V,
                             uint blocks, uint per_group, uint groups_per_row)
{
    local vfloat scratch[TREE_WG];
    uint b0, b1, lid = get_local_id(0);
    uint row = sm_blocks(blocks, per_group, groups_per_row, &b0, &b1);
    global const in_t *xr = x + (ulong)row * V;
    global float *yr = y + (ulong)row * V;
    sm_fold_blocks_global(scratch, xr, yr, V, part + (ulong)row * blocks, part + maxes_at + (ulong)row * blocks, b0, b1,
                          lid);
}

/* Launch 2: every work-group of a row folds the row's s_b w_b (the same order in each) and
 * scales its own blocks. */
kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void softmax_portable_scale(global float *y, global const float *part, ulong maxes_at, uint V, uint blocks,
                            uint per_group, uint groups_per_row)
{
    local vfloat scratch[TREE_WG];
    uint b0, b1, lid = get_local_id(0);
    uint row = sm_blocks(blocks, per_group, groups_per_row, &b0, &b1);
    sm_scale_blocks_global(scratch, y + (ulong)row * V, part + (ulong)row * blocks,
                           part + maxes_at + (ulong)row * blocks, V, blocks, b0, b1, lid);
}
