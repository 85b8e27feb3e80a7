/* copy.cl: the bandwidth yardstick. Each work-item copies one vector of VEC floats; the
 * last work-item copies the tail element by element. */
#include "reduce.clh"

kernel void copy_floats(global const float *in, global float *out, ulong n)
{
    ulong i = get_global_id(0);
    ulong nvec = n / VEC;
    if (i < nvec) {
#if VEC == 1
        out[i] = in[i];
#else
        CLR_CAT(vstore, VEC)(VLOAD(i, in), i, out);
#endif
    } else if (i == nvec) {
        for (ulong t = nvec * VEC; t < n; ++t)
            out[t] = in[t];
    }
}
