/* copy.cl: the bandwidth roof. read_floats reads a buffer and writes at most one word (when
 * the XOR of a work-item's share is all ones): the least work that moves the bytes, so no
 * correct kernel that moves as many bytes should beat its best time. copy_floats copies, for
 * the device's peak copy bandwidth. The work-items share the vectors of the buffer the same
 * way the reduction kernels do (contiguous slices on CPUs, interleaved on GPUs, see
 * reduce.clh); work-item 0 also handles the tail of fewer than VEC elements. */
#include "reduce.clh"

#if VEC == 2
#define XOR_ALL(v) ((v).s0 ^ (v).s1)
#elif VEC == 4
#define XOR_ALL(v) ((v).s0 ^ (v).s1 ^ (v).s2 ^ (v).s3)
#elif VEC == 8
#define XOR_ALL(v) ((v).s0 ^ (v).s1 ^ (v).s2 ^ (v).s3 ^ (v).s4 ^ (v).s5 ^ (v).s6 ^ (v).s7)
#elif VEC == 16
#define XOR_ALL(v) ((v).s0 ^ (v).s1 ^ (v).s2 ^ (v).s3 ^ (v).s4 ^ (v).s5 ^ (v).s6 ^ (v).s7 ^ (v).s8 ^ (v).s9 ^ \
                    (v).sa ^ (v).sb ^ (v).sc ^ (v).sd ^ (v).se ^ (v).sf)
#endif

#if CONTIG
#define SLICE(nvec)                                                                              \
    ulong per = ((nvec) + items - 1) / items;                                                    \
    ulong first = min(gid * per, (nvec)), last = min(first + per, (nvec)), stride = 1
#else
#define SLICE(nvec) ulong first = gid, last = (nvec), stride = items
#endif

/* What both reads do: the XOR of this work-item's share of in[0, n), a word written only when
 * it is all ones, which the compiler cannot rule out, so the reads stay; it is rare, and one word. */
inline void read_share(global const uint *in, global uint *sink, ulong n)
{
    ulong gid = get_global_id(0), items = get_global_size(0);
    ulong nvec = n / VEC;
    SLICE(nvec);
#if VEC == 1
    uint acc = 0;
    for (ulong k = first; k < last; k += stride)
        acc ^= in[k];
#else
    CLR_CAT(uint, VEC) v = 0;
    for (ulong k = first; k < last; k += stride)
        v ^= CLR_CAT(vload, VEC)(k, in);
    uint acc = XOR_ALL(v);
#endif
    if (gid == 0)
        for (ulong t = nvec * VEC; t < n; ++t)
            acc ^= in[t];
    if (acc == 0xffffffffu)
        sink[0] = acc;
}

/* Any launch; the host uses it for one work-item. */
kernel void read_floats(global const uint *in, global uint *sink, ulong n)
{
    read_share(in, sink, n);
}

/* Work-groups of WG_SIZE, declared as the reduction kernels declare theirs: a compiler that
 * builds a work-group's loop for a known size (PoCL on CPUs) builds the roof as it builds them. */
kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void read_floats_wg(global const uint *in, global uint *sink, ulong n)
{
    read_share(in, sink, n);
}

kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void copy_floats(global const float *in, global float *out, ulong n)
{
    ulong gid = get_global_id(0), items = get_global_size(0);
    ulong nvec = n / VEC;
    SLICE(nvec);
    for (ulong k = first; k < last; k += stride) {
#if VEC == 1
        out[k] = in[k];
#else
        CLR_CAT(vstore, VEC)(VLOAD(k, in), k, out);
#endif
    }
    if (gid == 0)
        for (ulong t = nvec * VEC; t < n; ++t)
            out[t] = in[t];
}

/* Sets n floats to v, the work-items sharing the vectors as the reads do (contiguous slices on
 * CPUs, interleaved on GPUs), work-item 0 also the tail: the roof's buffers are written before
 * they are read (a CPU device may back memory never written with one shared zero page). A kernel
 * with 64-bit indices rather than clEnqueueFillBuffer, which broke NVIDIA's queue (driver 580) on
 * buffers of 2^31 floats and more. */
kernel void fill_floats(global float *p, ulong n, float v)
{
    ulong gid = get_global_id(0), items = get_global_size(0);
    ulong nvec = n / VEC;
    SLICE(nvec);
    for (ulong k = first; k < last; k += stride) {
#if VEC == 1
        p[k] = v;
#else
        CLR_CAT(vstore, VEC)((vfloat)(v), k, p);
#endif
    }
    if (gid == 0)
        for (ulong t = nvec * VEC; t < n; ++t)
            p[t] = v;
}
