/* allreduce.cl: the device part of `clrepro allreduce` (include/allreduce.h).
 *
 * A rank's slices lie one after another: slice s at x + s n, n floats each. One work-item per
 * element; additions in slice order, no contraction (reduce.clh sets FP_CONTRACT OFF). */
#include "exact.clh"

/* acc[i] for elements i = off + j, j < len: acc[i] (or +0 without init) + x_0 + x_1 + ... in order.
 * mpi and ring fold a rank's slices from +0; ordered carries the running sum it received. */
__kernel void ar_fold(__global const float *x, ulong n, uint nslices, ulong off, uint len, uint init,
                      __global float *acc)
{
    size_t j = get_global_id(0);
    if (j >= len)
        return;
    size_t i = (size_t)off + j;
    float a = init ? acc[i] : 0.0f;
    for (uint s = 0; s < nslices; ++s)
        a += x[(size_t)s * n + i];
    acc[i] = a;
}

/* exact, pass 1: the long accumulator of element i's slices as carry-save digits (EXACT_LIMBS a
 * row) and its flags as counts, 16 bits each (+inf, -inf, NaN, non-(-0) addends), so that both
 * add across ranks as integers; span[0] and span[1] get the lowest and highest digit in use
 * (the host starts them at EXACT_LIMBS and -1). Work-groups of 64. */
__kernel __attribute__((reqd_work_group_size(64, 1, 1)))
void ar_exact(__global const float *x, ulong n, uint nslices, __global long *digits, __global long *flags,
              __global int *span)
{
    __local int lo, hi;
    size_t i = get_global_id(0);
    if (get_local_id(0) == 0) {
        lo = EXACT_LIMBS;
        hi = -1;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (i < n) {
        exact_acc a;
        exact_clear(&a);
        for (uint s = 0; s < nslices; ++s)
            exact_deposit(&a, x[(size_t)s * n + i]);
        int mylo = EXACT_LIMBS, myhi = -1;
        for (int k = 0; k < EXACT_LIMBS; ++k) {
            digits[i * EXACT_LIMBS + k] = a.d[k];
            if (a.d[k]) {
                mylo = min(mylo, k);
                myhi = k;
            }
        }
        flags[i] = (long)((a.flags & EXACT_POS_INF) != 0) | ((long)((a.flags & EXACT_NEG_INF) != 0) << 16) |
                   ((long)((a.flags & EXACT_NAN) != 0) << 32) | ((long)((a.flags & EXACT_NONNEG) != 0) << 48);
        if (myhi >= 0) {
            atomic_min(&lo, mylo);
            atomic_max(&hi, myhi);
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) == 0 && hi >= 0) {
        atomic_min(span, lo);
        atomic_max(span + 1, hi);
    }
}

/* exact, pass 2: digits lo .. lo + w - 1 and the flag word of each element, packed (w + 1 words
 * an element) for the all-reduce. */
__kernel void ar_pack(__global const long *digits, __global const long *flags, ulong n, int lo, int w,
                      __global long *packed)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    for (int q = 0; q < w; ++q)
        packed[i * (size_t)(w + 1) + q] = digits[i * EXACT_LIMBS + lo + q];
    packed[i * (size_t)(w + 1) + w] = flags[i];
}

/* exact, pass 3: the all-reduced words of every element rounded once (exact_round). */
__kernel void ar_round(__global const long *packed, ulong n, int lo, int w, __global float *out)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    long d[EXACT_LIMBS];
    for (int k = 0; k < EXACT_LIMBS; ++k)
        d[k] = 0;
    for (int q = 0; q < w; ++q)
        d[lo + q] = packed[i * (size_t)(w + 1) + q];
    long f = packed[i * (size_t)(w + 1) + w];
    uint flags = (((f >> 0) & 0xffff) ? EXACT_POS_INF : 0u) | (((f >> 16) & 0xffff) ? EXACT_NEG_INF : 0u) |
                 (((f >> 32) & 0xffff) ? EXACT_NAN : 0u) | (((f >> 48) & 0xffff) ? EXACT_NONNEG : 0u);
    exact_normalize(d);
    out[i] = exact_round(d, flags);
}
