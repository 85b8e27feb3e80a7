/* demo.cl: the non-associativity demonstration. Work-item w sums the same n values in its own
 * order, permutation w of [0, n), with one of four accumulators. The permutation is a keyed
 * Feistel network on [0, 2^bits) with cycle walking into [0, n): a bijection computed on the
 * fly (no storage), replayed bit for bit by src/demo.c. */
#include "exact.clh"

inline uint mix32(uint h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

inline uint feistel(uint v, uint half_bits, uint key)
{
    uint mask = (1u << half_bits) - 1u;
    uint left = v >> half_bits, right = v & mask;
    for (uint round = 0; round < 4; ++round) {
        uint f = mix32(right ^ key ^ (round * 0x9e3779b9u)) & mask;
        uint next = left ^ f;
        left = right;
        right = next;
    }
    return (left << half_bits) | right;
}

inline uint permuted(uint i, uint n, uint half_bits, uint key)
{
    uint v = feistel(i, half_bits, key);
    while (v >= n)
        v = feistel(v, half_bits, key);
    return v;
}

#define ORDER_KEY(seed, w) (mix32((uint)(seed) ^ mix32((uint)(w) + 0x632be5abu)))

kernel void order_float(global const float *x, uint n, uint half_bits, uint seed, uint orders, global float *out)
{
    uint w = get_global_id(0);
    if (w >= orders)
        return;
    uint key = ORDER_KEY(seed, w);
    float s = 0.0f;
    for (uint i = 0; i < n; ++i)
        s += x[permuted(i, n, half_bits, key)];
    out[w] = s;
}

/* Neumaier-style compensation with TwoSum (branch-free), one rounding at the end. */
kernel void order_compensated(global const float *x, uint n, uint half_bits, uint seed, uint orders,
                              global float *out)
{
    uint w = get_global_id(0);
    if (w >= orders)
        return;
    uint key = ORDER_KEY(seed, w);
    float s = 0.0f, c = 0.0f;
    for (uint i = 0; i < n; ++i) {
        float v = x[permuted(i, n, half_bits, key)];
        float t = s + v;
        float z = t - s;
        c += (s - (t - z)) + (v - z);
        s = t;
    }
    out[w] = s + c;
}

kernel void order_exact(global const float *x, uint n, uint half_bits, uint seed, uint orders, global float *out)
{
    uint w = get_global_id(0);
    if (w >= orders)
        return;
    uint key = ORDER_KEY(seed, w);
    exact_acc a;
    exact_clear(&a);
    for (uint i = 0; i < n; ++i)
        exact_deposit(&a, x[permuted(i, n, half_bits, key)]);
    exact_normalize(a.d);
    out[w] = exact_round(a.d, a.flags);
}

#ifdef CLREPRO_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
kernel void order_double(global const double *x, uint n, uint half_bits, uint seed, uint orders,
                         global double *out)
{
    uint w = get_global_id(0);
    if (w >= orders)
        return;
    uint key = ORDER_KEY(seed, w);
    double s = 0.0;
    for (uint i = 0; i < n; ++i)
        s += x[permuted(i, n, half_bits, key)];
    out[w] = s;
}
#endif
