/* sum.cl: B rows of n floats -> B sums, one kernel family per strategy of src/ops/sum.c.
 * Row r starts at x + r * n; results go to out[r]. */
#include "reduce.clh"

#define ROW_PTR(x, row, n) ((x) + (ulong)(row) * (n))

/* serial: one work-item per row, strictly left to right. */
kernel void sum_serial(global const float *x, global float *out, ulong n, uint rows)
{
    uint row = get_global_id(0);
    if (row >= rows)
        return;
    global const float *p = ROW_PTR(x, row, n);
    float s = 0.0f;
    for (ulong i = 0; i < n; ++i)
        s += p[i];
    out[row] = s;
}

/* tree: one tree per row length, the same whatever the work-group size, vector width or device
 * (src/reference.c replays it on the host): the canonical tree of tree.clh over the row's
 * elements. GPUs hold a block as vectors of TREE_WG work-items (coalesced loads); CPUs take
 * work-groups of one work-item. */
#include "tree.clh"

/* One level: work-group g folds blocks [b0, b0 + per_group) of row g / groups_per_row; block b
 * of row r goes to out[r * blocks + b] (with one block per row, that is the row's sum). */
kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void sum_tree(global const float *x, global float *out, ulong n, ulong blocks, uint per_group, uint groups_per_row)
{
    local vfloat scratch[TREE_WG];
    uint g = get_group_id(0), lid = get_local_id(0), row = g / groups_per_row;
    ulong b0 = (ulong)(g % groups_per_row) * per_group, b1 = min(b0 + per_group, blocks);
    global const float *p = ROW_PTR(x, row, n);
    for (ulong b = b0; b < b1; ++b) {
        ulong begin = b * TREE_BLOCK;
        float s = tree_wg_fold(scratch, tree_wi_global(p, begin, (uint)min((ulong)TREE_BLOCK, n - begin), lid), lid);
        if (lid == 0)
            out[(ulong)row * blocks + b] = s;
    }
}

/* The last two levels in one work-group per row: rows of n <= TREE_BLOCK^2 values (the block
 * sums of sum_tree), their blocks folded into local memory, then those folded (tree_row). */
TREE_ROW_FOLD(tree_row, tree_wi_global, (global const float *p), (p))

kernel __attribute__((reqd_work_group_size(TREE_WG, 1, 1)))
void sum_tree_final(global const float *x, global float *out, ulong n)
{
    local vfloat scratch[TREE_WG];
    local float sums[TREE_BLOCK];
    uint row = get_group_id(0), lid = get_local_id(0);
    float s = tree_row(scratch, sums, ROW_PTR(x, row, n), n, lid);
    if (lid == 0)
        out[row] = s;
}

/* Pass 1 of split and fixedsplit, and the body of atomic: work-group g reduces the chunk
 * (g % parts) of row (g / parts). */
inline float chunk_sum(local float *scratch, global const float *x, ulong n, uint parts, ulong chunk)
{
    uint g = get_group_id(0), lid = get_local_id(0);
    uint row = g / parts, part = g % parts;
    ulong begin = min((ulong)part * chunk, n);
    ulong end = min(begin + chunk, n);
    return wg_range_sum(scratch, ROW_PTR(x, row, n) + begin, end - begin, lid);
}

kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_partials(global const float *x, global float *partials, ulong n, uint parts, ulong chunk)
{
    local float scratch[WG_SIZE];
    float s = chunk_sum(scratch, x, n, parts, chunk);
    if (get_local_id(0) == 0)
        partials[get_group_id(0)] = s;
}

/* split and fixedsplit where a row is one chunk: pass 1 and 2 in one launch. sum_combine over
 * one partial sum s gives +0 + s (work-item 0's tail added to its zero accumulator; every other
 * addition of its tree adds +0 to a value that cannot be -0), so that is what is written: the
 * same bits, one launch fewer. (The addition is kept, the combining pass's own: on a device that
 * flushes subnormals a negative underflow can make s -0, and devices differ in what they do to
 * NaN payloads.) */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_one_part(global const float *x, global float *out, ulong n)
{
    local float scratch[WG_SIZE];
    float s = chunk_sum(scratch, x, n, 1, n); /* the row's one chunk: [0, n) */
    if (get_local_id(0) == 0)
        out[get_group_id(0)] = 0.0f + s;
}

/* Pass 2: one work-group per row combines its parts partial sums with the same tree. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_combine(global const float *partials, global float *out, uint parts)
{
    local float scratch[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    float s = wg_range_sum(scratch, partials + (ulong)row * parts, parts, lid);
    if (lid == 0)
        out[row] = s;
}

/* atomic: chunks as in split, each added into out[row] (zeroed by the host) atomically. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_atomic(global const float *x, global float *out, ulong n, uint parts, ulong chunk)
{
    local float scratch[WG_SIZE];
    float s = chunk_sum(scratch, x, n, parts, chunk);
    if (get_local_id(0) == 0)
        atomic_add_float(out + get_group_id(0) / parts, s);
}

/* compensated: every work-item keeps VEC error-free (sum, error) pairs (TwoSum, so no
 * branch and no reliance on magnitude order); pairs are merged with TwoSum through a
 * fixed tree, and the errors are added back once at the end. */
inline void two_sum(float a, float b, float *s, float *e)
{
    float t = a + b;
    float z = t - a;
    *e = (a - (t - z)) + (b - z);
    *s = t;
}

/* The work-items' (sum, error) pairs merged through the work-group's tree: TwoSum of the sums,
 * the errors added with the new one; every work-item gets the merged pair. */
inline float2 comp_tree(local float *ls, local float *le, float fs, float fc, uint lid)
{
    ls[lid] = fs;
    le[lid] = fc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint span = WG_SIZE / 2; span > 0; span >>= 1) {
        if (lid < span) {
            float hs, e;
            two_sum(ls[lid], ls[lid + span], &hs, &e);
            le[lid] = le[lid] + le[lid + span] + e;
            ls[lid] = hs;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float2 r = (float2)(ls[0], le[0]);
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* One work-group's compensated sum of p[0, len): every work-item's (sum, error) pair over its
 * share, then the pairs merged through the work-group's tree; every work-item gets the pair. */
inline float2 comp_range(local float *ls, local float *le, global const float *p, ulong len, uint lid)
{
    ulong nvec = len / VEC, first, last, stride;
    wi_vector_span(nvec, lid, &first, &last, &stride);
    vfloat s = (vfloat)(0.0f), c = (vfloat)(0.0f);
    for (ulong k = first; k < last; k += stride) {
        vfloat v = VLOAD(k, p);
        vfloat t = s + v;
        vfloat z = t - s;
        c += (s - (t - z)) + (v - z);
        s = t;
    }
    /* Fold the VEC lanes in a fixed order, then the tail element. */
#if VEC == 1
    float fs = s, fc = c;
#else
    float lane_s[VEC], lane_c[VEC];
    CLR_CAT(vstore, VEC)(s, 0, lane_s);
    CLR_CAT(vstore, VEC)(c, 0, lane_c);
    float fs = lane_s[0], fc = lane_c[0];
    for (int i = 1; i < VEC; ++i) {
        float e;
        two_sum(fs, lane_s[i], &fs, &e);
        fc += lane_c[i] + e;
    }
#endif
    for (ulong t = nvec * VEC + lid; t < len; t += WG_SIZE) { /* the tail, as wi_partial_sum deals it */
        float e;
        two_sum(fs, p[t], &fs, &e);
        fc += e;
    }
    return comp_tree(ls, le, fs, fc, lid);
}

/* The pair's sum: the errors added back once; inf and NaN as the plain sum is (IEEE). */
inline float comp_result(float2 r) { return isfinite(r.x) ? r.x + r.y : r.x; }

/* A row of one chunk: one work-group. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_compensated(global const float *x, global float *out, ulong n)
{
    local float ls[WG_SIZE], le[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    float2 r = comp_range(ls, le, ROW_PTR(x, row, n), n, lid);
    if (lid == 0)
        out[row] = comp_result(r);
}

/* Rows of several chunks (of a size fixed by n and the tuning, never by B): work-group g makes
 * the pair of chunk g % parts of row g / parts ... */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_compensated_parts(global const float *x, global float2 *pairs, ulong n, uint parts, ulong chunk)
{
    local float ls[WG_SIZE], le[WG_SIZE];
    uint g = get_group_id(0), lid = get_local_id(0);
    uint row = g / parts, part = g % parts;
    ulong begin = min((ulong)part * chunk, n), end = min(begin + chunk, n);
    float2 r = comp_range(ls, le, ROW_PTR(x, row, n) + begin, end - begin, lid);
    if (lid == 0)
        pairs[g] = r;
}

/* ... and one work-group per row merges its parts' pairs: work-item lid the pairs lid, lid +
 * WG_SIZE, ... in order (TwoSum of the sums, the errors added), then the work-group's tree. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_compensated_merge(global const float2 *pairs, global float *out, uint parts)
{
    local float ls[WG_SIZE], le[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    global const float2 *p = pairs + (ulong)row * parts;
    float fs = 0.0f, fc = 0.0f;
    for (uint q = lid; q < parts; q += WG_SIZE) {
        float e;
        two_sum(fs, p[q].x, &fs, &e);
        fc += p[q].y + e;
    }
    float2 r = comp_tree(ls, le, fs, fc, lid);
    if (lid == 0)
        out[row] = comp_result(r);
}

/* exact: a long accumulator behind a TwoSum filter (exact.clh). Work-group g accumulates the
 * chunk (g % parts) of row (g / parts) and writes its normalized digits and flags; the finish
 * kernel adds a row's digits (integers: any order, same result) and rounds once. The number
 * of parts follows B as in split, to fill the device; the bits cannot depend on it. */
#include "exact.clh"

#define EXACT_WORDS (EXACT_LIMBS + 1)

/* Work-group g's part (chunk g % parts of row g / parts) into the long accumulator; its
 * normalized digits and flags to dst[0, EXACT_WORDS). */
inline void exact_part_digits(global const float *x, global long *dst, ulong n, uint parts, ulong chunk,
                              local long *ld, local uint *lflags)
{
    uint g = get_group_id(0), lid = get_local_id(0);
    uint row = g / parts, part = g % parts;
    ulong begin = min((ulong)part * chunk, n);
    ulong end = min(begin + chunk, n);
    exact_acc a;
    exact_clear(&a);
    exact_share(&a, ROW_PTR(x, row, n) + begin, end - begin, lid);
    exact_wg_merge(&a, ld, lflags, lid);
    if (lid == 0) {
        long d[EXACT_LIMBS];
        exact_wg_total(ld, d);
        for (int k = 0; k < EXACT_LIMBS; ++k)
            dst[k] = d[k];
        dst[EXACT_LIMBS] = (long)lflags[0];
    }
}

kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_exact_partials(global const float *x, global long *partials, ulong n, uint parts, ulong chunk)
{
    local long ld[WG_SIZE * EXACT_LIMBS];
    local uint lflags[WG_SIZE];
    exact_part_digits(x, partials + (ulong)get_group_id(0) * EXACT_WORDS, n, parts, chunk, ld, lflags);
}

/* A row of one part: its digits rounded at once (what sum_exact_finish makes of one part's
 * digits: the same correctly rounded sum), one launch instead of two. Where the device has
 * fp64 the row is first summed by the certified fast path (exact.clh); the long accumulator
 * runs only where that cannot prove the rounding. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_exact_one_part(global const float *x, global float *out, ulong n)
{
    local long ld[WG_SIZE * EXACT_LIMBS];
    local uint lflags[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
#ifdef CLREPRO_FP64
    {
        double h, l, r;
        uint ok = exact_dd_share(ROW_PTR(x, row, n), n, lid, &h, &l, &r);
        exact_dd_wg_merge(h, l, r, ok, ld, lflags, lid);
        float f = 0.0f;
        if (exact_dd_wg_certified(ld, lflags, lid, &f)) { /* the same for the whole work-group */
            if (lid == 0)
                out[row] = f;
            return;
        }
    }
#endif
    exact_acc a;
    exact_clear(&a);
    exact_share(&a, ROW_PTR(x, row, n), n, lid);
    exact_wg_merge(&a, ld, lflags, lid);
    if (lid == 0) {
        long d[EXACT_LIMBS];
        exact_wg_total(ld, d);
        out[row] = exact_round(d, lflags[0]);
    }
}

#ifdef CLREPRO_FP64
/* Rows of several parts with fp64, three launches. The scratch holds, for B rows of `parts`
 * parts: each part's (h, l, r, ok) as four words, then each part's digits and flags
 * (EXACT_WORDS words), then a word per row, 1 where the row was certified. */
#define EXACT_DD_WORDS 4

/* 1: work-group g sums its part through the filter into (h, l, r, ok). */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_exact_dd_partials(global const float *x, global long *scratch, ulong n, uint parts, ulong chunk)
{
    local long dd[3 * WG_SIZE];
    local uint lok[WG_SIZE];
    uint g = get_group_id(0), lid = get_local_id(0);
    uint row = g / parts, part = g % parts;
    ulong begin = min((ulong)part * chunk, n);
    ulong end = min(begin + chunk, n);
    double h, l, r;
    uint ok = exact_dd_share(ROW_PTR(x, row, n) + begin, end - begin, lid, &h, &l, &r);
    exact_dd_wg_merge(h, l, r, ok, dd, lok, lid);
    if (lid == 0) {
        global long *dst = scratch + (ulong)g * EXACT_DD_WORDS;
        dst[0] = dd[0]; /* h, l and r as bits */
        dst[1] = dd[WG_SIZE];
        dst[2] = dd[2 * WG_SIZE];
        dst[3] = (long)lok[0];
    }
}

/* 2: every work-group of a row merges the row's parts (the same values in the same order, so
 * the same decision) and certifies the sum; part 0 writes it and the row's flag. Where it
 * cannot, each work-group accumulates its own part's digits for 3. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_exact_certify(global const float *x, global long *scratch, global float *out, ulong n, uint parts,
                       ulong chunk, uint rows)
{
    local long ld[WG_SIZE * EXACT_LIMBS];
    local uint lflags[WG_SIZE];
    uint g = get_group_id(0), lid = get_local_id(0);
    uint row = g / parts, part = g % parts;
    global const long *dd_row = scratch + (ulong)row * parts * EXACT_DD_WORDS;
    double h = 0.0, l = 0.0, r = 0.0;
    uint ok = 1;
    for (uint q = lid; q < parts; q += WG_SIZE) {
        global const long *w = dd_row + (ulong)q * EXACT_DD_WORDS;
        exact_dd_merge(&h, &l, &r, as_double(w[0]), as_double(w[1]), as_double(w[2]));
        ok &= (uint)w[3];
    }
    exact_dd_wg_merge(h, l, r, ok, ld, lflags, lid);
    float f = 0.0f;
    ok = exact_dd_wg_certified(ld, lflags, lid, &f);
    if (lid == 0 && part == 0) {
        if (ok)
            out[row] = f;
        scratch[(ulong)rows * parts * (EXACT_DD_WORDS + EXACT_WORDS) + row] = (long)ok;
    }
    if (ok)
        return;
    exact_part_digits(x, scratch + (ulong)rows * parts * EXACT_DD_WORDS + (ulong)g * EXACT_WORDS, n, parts, chunk, ld,
                      lflags);
}
#endif

/* The digits of a row's parts added (integers: any order, the same digits) and rounded once. */
inline void exact_finish_row(global const long *p, global float *out, uint parts, local long *ld, local uint *lflags,
                             uint row, uint lid)
{
    /* Work-item lid adds the digits of parts lid, lid + WG_SIZE, ... (each part's digits are
     * normalized, so no digit can overflow), then the work-group merges as in pass 1. */
    exact_acc a;
    exact_clear(&a);
    for (uint q = lid; q < parts; q += WG_SIZE) {
        global const long *part = p + (ulong)q * EXACT_WORDS;
        for (int k = 0; k < EXACT_LIMBS; ++k)
            a.d[k] += part[k];
        a.flags |= (uint)part[EXACT_LIMBS];
    }
    exact_wg_merge(&a, ld, lflags, lid);
    if (lid == 0) {
        long d[EXACT_LIMBS];
        exact_wg_total(ld, d);
        out[row] = exact_round(d, lflags[0]);
    }
}

kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_exact_finish(global const long *partials, global float *out, uint parts)
{
    local long ld[WG_SIZE * EXACT_LIMBS];
    local uint lflags[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    exact_finish_row(partials + (ulong)row * parts * EXACT_WORDS, out, parts, ld, lflags, row, lid);
}

#ifdef CLREPRO_FP64
/* 3: the rows that 2 could not certify. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sum_exact_certified_finish(global const long *scratch, global float *out, uint parts, uint rows)
{
    local long ld[WG_SIZE * EXACT_LIMBS];
    local uint lflags[WG_SIZE];
    uint row = get_group_id(0), lid = get_local_id(0);
    if (scratch[(ulong)rows * parts * (EXACT_DD_WORDS + EXACT_WORDS) + row])
        return;
    global const long *digits = scratch + (ulong)rows * parts * EXACT_DD_WORDS;
    exact_finish_row(digits + (ulong)row * parts * EXACT_WORDS, out, parts, ld, lflags, row, lid);
}
#endif
