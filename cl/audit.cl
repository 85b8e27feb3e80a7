/* audit.cl: the probes of `clrepro audit` (src/audit.c), which measure what the device's float32
 * arithmetic does on a fixed sample of inputs that the host makes and checks.
 *
 * contract_default computes a*b + c as written, with the contraction state OpenCL C starts in
 * (FP_CONTRACT ON: the compiler may fuse it into an fma); it must come before any FP_CONTRACT
 * pragma, and so before portable.clh, which switches contraction off for the rest of the file.
 * contract_off is the same expression with contraction off. probe applies one operation, chosen
 * by `op`, to a[i] (and b[i], c[i]); the codes are the host's enum audit_op (src/audit.c), and
 * the host passes their count as -DAUDIT_OPS, checked below. The constants a probe needs (1 and
 * 0 for the subnormal-input probes) come in the b and c buffers, never as literals, so that no
 * compiler can fold x * 1.0f into x. The same source is built a second time with
 * -cl-fp32-correctly-rounded-divide-sqrt, for the sqrt and division probes. */

#ifndef AUDIT_OPS
#error "audit.cl is built by src/audit.c, which passes -DAUDIT_OPS"
#endif

__kernel void contract_default(__global const float *a, __global const float *b, __global const float *c,
                               __global float *out, uint n)
{
    size_t i = get_global_id(0);
    if (i < n)
        out[i] = a[i] * b[i] + c[i];
}

#pragma OPENCL FP_CONTRACT OFF

__kernel void contract_off(__global const float *a, __global const float *b, __global const float *c,
                           __global float *out, uint n)
{
    size_t i = get_global_id(0);
    if (i < n)
        out[i] = a[i] * b[i] + c[i];
}

#include "portable.clh"

/* enum audit_op in src/audit.c, in the same order. */
#define OP_EXP 0
#define OP_EXP2 1
#define OP_LOG 2
#define OP_SQRT 3
#define OP_RSQRT 4
#define OP_NATIVE_EXP 5
#define OP_NATIVE_SQRT 6
#define OP_NATIVE_RECIP 7
#define OP_HALF_EXP 8
#define OP_HALF_SQRT 9
#define OP_PORTABLE_EXP 10
#define OP_ADD 11
#define OP_MUL 12
#define OP_DIV 13
#define OP_NATIVE_DIVIDE 14
#define OP_PORTABLE_DIV 15
#define OP_FMA 16
#if AUDIT_OPS != 17
#error "audit.cl knows 17 operations and src/audit.c another number: update both"
#endif

__kernel void probe(__global const float *a, __global const float *b, __global const float *c,
                    __global float *out, uint n, int op)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    float x = a[i], r;
    switch (op) {
    case OP_EXP: r = exp(x); break;
    case OP_EXP2: r = exp2(x); break;
    case OP_LOG: r = log(x); break;
    case OP_SQRT: r = sqrt(x); break;
    case OP_RSQRT: r = rsqrt(x); break;
    case OP_NATIVE_EXP: r = native_exp(x); break;
    case OP_NATIVE_SQRT: r = native_sqrt(x); break;
    case OP_NATIVE_RECIP: r = native_recip(x); break;
    case OP_HALF_EXP: r = half_exp(x); break;
    case OP_HALF_SQRT: r = half_sqrt(x); break;
    case OP_PORTABLE_EXP: r = portable_exp(x); break;
    case OP_ADD: r = x + b[i]; break;
    case OP_MUL: r = x * b[i]; break;
    case OP_DIV: r = x / b[i]; break;
    case OP_NATIVE_DIVIDE: r = native_divide(x, b[i]); break;
    case OP_PORTABLE_DIV: r = portable_div(x, b[i]); break;
    case OP_FMA: r = fma(x, b[i], c[i]); break;
    default: r = as_float(0x7fc00000u); break;
    }
    out[i] = r;
}
