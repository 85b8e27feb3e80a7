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
 *
 * exp is the vendor's (OpenCL: at most 3 ulp), so the bits may differ between devices. fmax
 * ignores NaN (so does the host reference); a NaN, a +inf or a row of -inf still makes the row NaN
 * through exp and the sum. */
#include "reduce.clh"
#include "dtype.clh"

/* Fixed-shape max over the work-group; every work-item gets it (exact in any order). */
inline float wg_tree_max(local float *scratch, float v, uint lid)
{
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = WG_SIZE / 2; s > 0; s >>= 1) {
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
    return wg_tree_max(scratch, m, lid);
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
    float M = wg_tree_max(scratch, m, lid);
    float s = 0.0f;
    for (uint q = lid; q < parts; q += WG_SIZE) {
        float w = exp(p[2 * q] - M);
        s += p[2 * q + 1] * w;
    }
    float S = wg_tree_sum(scratch, s, lid);
    float w = exp(p[2 * part] - M);
    scale_range(y + (ulong)row * V, begin, end, w * (1.0f / S), lid);
}
