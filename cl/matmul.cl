/* matmul.cl: C[M x N] = A[M x K] B[K x N], row-major. Work-item (n, block) computes RB rows
 * m0..m0+RB-1 of column n over the K slice [k0, k1), one fma chain per output in ascending k.
 * The chain of an output depends only on its slice, never on RB, the tile shape or M: with
 * one slice (tiled) every output is the same bits at any M. Split-K writes one partial per
 * slice, combined in slice order (splitk) or with atomic adds (splitk-atomic). */
/* GPUs: one column per work-item (see MM_CW below), so scalar loads. */
#if !CONTIG
#undef VEC
#define VEC 1
#endif
#include "reduce.clh"
#include "dtype.clh"

#if VEC == 1
#define VSTORE_OUT(v, p) (*(p) = (v))
#define VFMA(a, b, c) fma((a), (b), (c))
#else
#define VSTORE_OUT(v, p) CLR_CAT(vstore, VEC)((v), 0, (p))
#define VFMA(a, b, c) fma((vfloat)(a), (b), (c))
#endif

#ifdef IN_BF16
#if VEC == 1
#define LOAD_B(p) in_load((p), 0)
#else
#define LOAD_B(p) CLR_CAT(as_float, VEC)(CLR_CAT(convert_uint, VEC)(CLR_CAT(vload, VEC)(0, (p))) << 16)
#endif
#else
#define LOAD_B(p) VLOAD(0, (p))
#endif

/* Columns per work-item: on CPUs several vectors (more cache lines in flight per row of B); on
 * GPUs one column, so that even M = 1 has N work-items, each with an unrolled k loop that keeps
 * many loads of B in flight ahead of its fma chain. */
#ifndef MM_K_UNROLL
#define MM_K_UNROLL 128 /* GPUs: k iterations unrolled, so their loads of B are in flight together */
#endif
#define MM_PRAGMA_(x) _Pragma(#x)
#define MM_PRAGMA(x) MM_PRAGMA_(x)
#if CONTIG
#define MM_CW 4
#define MM_UNROLL_K
#else
#define MM_CW 1
#define MM_UNROLL_K MM_PRAGMA(unroll MM_K_UNROLL)
#endif
#define MM_COLS (VEC * MM_CW)

/* Work-item (j, block, slice) computes RB rows x MM_COLS adjacent columns; every output is one
 * fma chain over the slice in ascending k, so its bits do not depend on RB, the vector width or
 * M. Rows past M are computed from row M-1 (no branch in the k loop) and never stored; columns
 * past N fall back to the same chain one column at a time. */
#define MATMUL_KERNEL(RB)                                                                                  \
    kernel void matmul_rb##RB(global const in_t *A, global const in_t *B, global float *out, uint M, uint N, \
                              uint K, uint kslice, uint mode)                                               \
    {                                                                                                      \
        uint n0 = get_global_id(0) * MM_COLS, m0 = get_global_id(1) * RB, s = get_global_id(2);            \
        if (n0 >= N)                                                                                       \
            return;                                                                                        \
        uint k0 = min(s * kslice, K), k1 = min(k0 + kslice, K);                                            \
        uint rows = min((uint)RB, M - min(m0, M)), cols = min((uint)MM_COLS, N - n0);                      \
        global const in_t *a[RB];                                                                          \
        _Pragma("unroll") for (uint r = 0; r < RB; ++r) a[r] = A + (ulong)min(m0 + r, M - 1) * K;         \
        float res[RB][MM_COLS];                                                                            \
        if (cols == MM_COLS) {                                                                             \
            vfloat acc[RB][MM_CW];                                                                         \
            _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                                \
                _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) acc[r][c] = (vfloat)(0.0f);             \
            MM_UNROLL_K for (uint k = k0; k < k1; ++k) {                                                   \
                vfloat b[MM_CW];                                                                           \
                _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c)                                         \
                    b[c] = LOAD_B(B + (ulong)k * N + n0 + c * VEC);                                        \
                _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                            \
                {                                                                                          \
                    float av = in_load(a[r], k);                                                           \
                    _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) acc[r][c] = VFMA(av, b[c], acc[r][c]); \
                }                                                                                          \
            }                                                                                              \
            _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                                \
                _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) VSTORE_OUT(acc[r][c], res[r] + c * VEC); \
        } else {                                                                                           \
            for (uint c = 0; c < cols; ++c)                                                                \
                for (uint r = 0; r < RB; ++r) {                                                            \
                    float acc = 0.0f;                                                                      \
                    for (uint k = k0; k < k1; ++k)                                                         \
                        acc = fma(in_load(a[r], k), in_load(B, (ulong)k * N + n0 + c), acc);               \
                    res[r][c] = acc;                                                                       \
                }                                                                                          \
        }                                                                                                  \
        for (uint r = 0; r < rows; ++r)                                                                    \
            for (uint c = 0; c < cols; ++c) {                                                              \
                ulong at = (ulong)(m0 + r) * N + n0 + c;                                                   \
                if (mode == 2)                                                                             \
                    atomic_add_float(out + at, res[r][c]);                                                 \
                else                                                                                       \
                    out[(ulong)s * M * N * mode + at] = res[r][c];                                         \
            }                                                                                              \
    }

MATMUL_KERNEL(1)
MATMUL_KERNEL(2)
MATMUL_KERNEL(4)
MATMUL_KERNEL(8)

/* tiled for GPUs at larger M: a work-group of 16 x 16 computes a TM x 64 block of C, each
 * work-item RI x 4 outputs (rows ty + 16i, columns tx + 16j), staging TM x 16 of A and 16 x 64
 * of B in local memory per step. Every output is still one fma chain over k = 0..K-1 in order,
 * so its bits are those of matmul_rb*. matmul_tile64 (64 x 64) serves M from 64, matmul_tile128
 * (128 x 64, a quarter fewer local loads per fma) from 256. */
#define TN 64
#define TK 16
#define MATMUL_TILE_KERNEL(NAME, TM, RI)                                                                   \
    kernel __attribute__((reqd_work_group_size(16, 16, 1)))                                                \
    void NAME(global const in_t *A, global const in_t *B, global float *C, uint M, uint N, uint K)           \
    {                                                                                                      \
        local float As[TM][TK + 1], Bs[TK][TN + 1];                                                        \
        uint tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;                               \
        uint n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM;                                         \
        float acc[RI][4];                                                                                  \
        for (uint i = 0; i < RI; ++i)                                                                      \
            for (uint j = 0; j < 4; ++j)                                                                   \
                acc[i][j] = 0.0f;                                                                          \
        for (uint k0 = 0; k0 < K; k0 += TK) {                                                              \
            for (uint e = tid; e < TM * TK; e += 256) {                                                    \
                uint r = e / TK, c = e % TK, m = m0 + r, k = k0 + c;                                       \
                As[r][c] = m < M && k < K ? in_load(A, (ulong)m * K + k) : 0.0f;                           \
            }                                                                                              \
            for (uint e = tid; e < TN * TK; e += 256) {                                                    \
                uint kr = e / TN, nc = e % TN, n = n0 + nc, kb = k0 + kr;                                  \
                Bs[kr][nc] = n < N && kb < K ? in_load(B, (ulong)kb * N + n) : 0.0f;                       \
            }                                                                                              \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                  \
            uint steps = min((uint)TK, K - k0);                                                            \
            for (uint kk = 0; kk < steps; ++kk) {                                                          \
                float a[RI], b[4];                                                                         \
                for (uint i = 0; i < RI; ++i)                                                              \
                    a[i] = As[ty + 16 * i][kk];                                                            \
                for (uint j = 0; j < 4; ++j)                                                               \
                    b[j] = Bs[kk][tx + 16 * j];                                                            \
                for (uint i = 0; i < RI; ++i)                                                              \
                    for (uint j = 0; j < 4; ++j)                                                           \
                        acc[i][j] = fma(a[i], b[j], acc[i][j]);                                            \
            }                                                                                              \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                  \
        }                                                                                                  \
        for (uint i = 0; i < RI; ++i)                                                                      \
            for (uint j = 0; j < 4; ++j) {                                                                 \
                uint m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;                                           \
                if (m < M && n < N)                                                                        \
                    C[(ulong)m * N + n] = acc[i][j];                                                       \
            }                                                                                              \
    }

MATMUL_TILE_KERNEL(matmul_tile64, 64, 4)
MATMUL_TILE_KERNEL(matmul_tile128, 128, 8)

/* splitk's second pass: C = sum of the slices' partials, in slice order. */
kernel void matmul_combine(global const float *partials, global float *C, uint MN, uint slices)
{
    uint i = get_global_id(0);
    if (i >= MN)
        return;
    float s = partials[i];
    for (uint q = 1; q < slices; ++q)
        s += partials[(ulong)q * MN + i];
    C[i] = s;
}
