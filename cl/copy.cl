/* copy.cl: the bandwidth yardstick. The work-items share the vectors of the buffer the same
 * way the reduction kernels do (contiguous slices on CPUs, interleaved on GPUs, see
 * reduce.clh); work-item 0 also copies the tail of fewer than VEC elements. */
#include "reduce.clh"

kernel void copy_floats(global const float *in, global float *out, ulong n)
{
    ulong gid = get_global_id(0), items = get_global_size(0);
    ulong nvec = n / VEC;
#if CONTIG
    ulong per = (nvec + items - 1) / items;
    ulong first = min(gid * per, nvec), last = min(first + per, nvec), stride = 1;
#else
    ulong first = gid, last = nvec, stride = items;
#endif
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
