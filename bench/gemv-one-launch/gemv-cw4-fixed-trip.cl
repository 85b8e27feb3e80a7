/* matmul.cl: C[M x N] = A[M x K] B[K x N], row-major.
 *
 * tiled's order, the same for every M, tile and device (test/test_ops.c replays it): K is cut
 * into chunks of MM_KC; chunk q's partial P_q is one fma chain over its k in ascending order,
 * starting from +0; C = ((0 + P_0) + P_1) + ... in chunk order. The chunks are what let every
 * M fill the device: at small M each chunk is its own work-item and a combining pass adds them
 * in order; at large M a work-group runs the chunks one after the other, adding each into a
 * running total held in registers. Both give the same bits (0 + P == P but for P = -0, and the
 * total, starting from +0, is never -0, so x + -0 and x + +0 agree).
 *
 * Work-item (n, block, slice) of matmul_rb* computes RB rows x MM_COLS columns over the K slice
 * [k0, k1) in chunks of kchunk. splitk uses one chunk per slice, slices chosen from the device
 * and M, combined in slice order; splitk-atomic adds the slices with atomics. */
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
#define MM_K_UNROLL 128 /* GPUs: k iterations unrolled, so their loads of B are in flight together */
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

/* Work-item (j, block, slice) computes RB rows x MM_COLS adjacent columns; every output is an
 * fma chain per chunk of kchunk over the slice in ascending k, the chunks added in order to a
 * total from +0, so its bits do not depend on RB, the vector width or M. Rows past M are computed from row M-1 (no branch in the k loop) and never stored; columns
 * past N fall back to the same chain one column at a time. */
#define MATMUL_KERNEL(RB)                                                                                  \
    kernel void matmul_rb##RB(global const in_t *A, global const in_t *B, global float *out, uint M, uint N, \
                              uint K, uint kslice, uint kchunk, uint mode)                                  \
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
            vfloat acc[RB][MM_CW], total[RB][MM_CW];                                                       \
            _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                                \
                _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) total[r][c] = (vfloat)(0.0f);           \
            for (uint kc = k0; kc < k1; kc += kchunk) {                                                    \
                uint kend = min(kc + kchunk, k1);                                                          \
                _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                            \
                    _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) acc[r][c] = (vfloat)(0.0f);         \
                MM_UNROLL_K for (uint k = kc; k < kend; ++k) {                                             \
                    vfloat b[MM_CW];                                                                       \
                    _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c)                                     \
                        b[c] = LOAD_B(B + (ulong)k * N + n0 + c * VEC);                                    \
                    _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                        \
                    {                                                                                      \
                        float av = in_load(a[r], k);                                                       \
                        _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) acc[r][c] = VFMA(av, b[c], acc[r][c]); \
                    }                                                                                      \
                }                                                                                          \
                _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                            \
                    _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) total[r][c] += acc[r][c];           \
            }                                                                                              \
            _Pragma("unroll") for (uint r = 0; r < RB; ++r)                                                \
                _Pragma("unroll") for (uint c = 0; c < MM_CW; ++c) VSTORE_OUT(total[r][c], res[r] + c * VEC); \
        } else {                                                                                           \
            for (uint c = 0; c < cols; ++c)                                                                \
                for (uint r = 0; r < RB; ++r) {                                                            \
                    float total = 0.0f;                                                                    \
                    for (uint kc = k0; kc < k1; kc += kchunk) {                                            \
                        float acc = 0.0f;                                                                  \
                        for (uint k = kc; k < min(kc + kchunk, k1); ++k)                                   \
                            acc = fma(in_load(a[r], k), in_load(B, (ulong)k * N + n0 + c), acc);           \
                        total += acc;                                                                      \
                    }                                                                                      \
                    res[r][c] = total;                                                                     \
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

/* tiled on GPUs from a few rows of A on (K and N multiples of 4): a work-group of 16 x 16
 * computes a (16 TM) x (16 TN) block of C, each work-item TM x TN outputs (rows in runs of 4
 * with a stride of 64, columns likewise), from tiles of GK k staged in local memory, double
 * buffered and fetched as 4-vectors. The chunk structure of tiled is kept: a fresh accumulator
 * per chunk of MM_KC, added into a running total. per_chunk = 1: work-group (x, y, q) does
 * chunk q only and writes it to out + q * M * N for matmul_combine (small M, to fill the
 * device); per_chunk = 0: all chunks, the total to C. Out-of-range A and B read as 0 (an fma
 * of 0 by 0 leaves a chunk partial the same up to the sign of a zero, which the total drops). */
#ifndef MM_KC
#error "MM_KC comes from the host: MM_CHUNK (src/ops/matmul.c) as -DMM_KC"
#endif
#define GK 16

/* 4 aligned elements: K and N are multiples of 4 on this path, and i is too. */
#ifdef IN_BF16
#define LOAD4(p, i) as_float4(convert_uint4(*(global const ushort4 *)((p) + (i))) << 16)
#else
#define LOAD4(p, i) (*(global const float4 *)((p) + (i)))
#endif

/* Row of output i (< TM) and column j (< TN) within the work-item's share. */
#define GEMM_ROW(TM, i, ty) ((TM) >= 4 ? ((i) / 4) * 64 + (ty) * 4 + (i) % 4 : (ty) * (TM) + (i))
#define GEMM_COL(j, tx) (((j) / 4) * 64 + (tx) * 4 + (j) % 4)

#define GEMM_KERNEL(NAME, TM, TN)                                                                          \
    kernel __attribute__((reqd_work_group_size(16, 16, 1)))                                                \
    void NAME(global const in_t *A, global const in_t *B, global float *out, uint M, uint N, uint K,       \
              uint per_chunk)                                                                              \
    {                                                                                                      \
        enum { BM = 16 * TM, BN = 16 * TN, AV = BM * GK / 4, BV = GK * BN / 4 };                           \
        local float4 As[2][GK][BM / 4];                                                                    \
        local float4 Bs[2][GK][BN / 4];                                                                    \
        uint tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;                               \
        uint n0 = get_group_id(0) * BN, m0 = get_group_id(1) * BM;                                         \
        uint kb = per_chunk ? get_group_id(2) * MM_KC : 0, ke = per_chunk ? min(kb + MM_KC, K) : K;         \
        global float *C = out + (per_chunk ? (ulong)get_group_id(2) * M * N : 0);                          \
        uint tiles = (ke - kb + GK - 1) / GK;                                                              \
        float4 ra[(AV + 255) / 256], rb[(BV + 255) / 256];                                                 \
        float acc[TM][TN], total[TM][TN], a[TM], b[TN];                                                    \
        _Pragma("unroll") for (uint i = 0; i < TM; ++i)                                                    \
            _Pragma("unroll") for (uint j = 0; j < TN; ++j) acc[i][j] = total[i][j] = 0.0f;               \
        uint t = 0, buf = 0;                                                                               \
        for (;;) {                                                                                         \
            /* fetch tile t into registers (zeros past the last tile) */                                   \
            uint k0 = kb + t * GK;                                                                         \
            _Pragma("unroll") for (uint v = 0; v < (AV + 255) / 256; ++v) {                                \
                uint e = tid + 256 * v, r = e / (GK / 4), kq = (e % (GK / 4)) * 4;                         \
                ra[v] = e < AV && m0 + r < M && k0 + kq < ke ? LOAD4(A, (ulong)(m0 + r) * K + k0 + kq)      \
                                                             : (float4)(0.0f);                             \
            }                                                                                              \
            _Pragma("unroll") for (uint v = 0; v < (BV + 255) / 256; ++v) {                                \
                uint e = tid + 256 * v, kr = e / (BN / 4), c = (e % (BN / 4)) * 4;                         \
                rb[v] = k0 + kr < ke && n0 + c < N ? LOAD4(B, (ulong)(k0 + kr) * N + n0 + c) : (float4)(0.0f); \
            }                                                                                              \
            if (t > 0) {                                                                                   \
                /* compute tile t - 1 from buffer buf ^ 1 while tile t's loads are in flight */            \
                _Pragma("unroll") for (uint kk = 0; kk < GK; ++kk) {                                       \
                    local const float *ak = (local const float *)As[buf ^ 1][kk];                          \
                    local const float *bk = (local const float *)Bs[buf ^ 1][kk];                          \
                    if (TM >= 4) {                                                                         \
                        _Pragma("unroll") for (uint h = 0; h < TM / 4; ++h) {                              \
                            float4 v = ((local const float4 *)ak)[h * 16 + ty];                            \
                            a[h * 4] = v.s0; a[h * 4 + 1] = v.s1; a[h * 4 + 2] = v.s2; a[h * 4 + 3] = v.s3; \
                        }                                                                                  \
                    } else if (TM == 2) {                                                                  \
                        float2 v = ((local const float2 *)ak)[ty];                                         \
                        a[0] = v.s0; a[TM - 1] = v.s1;                                                     \
                    } else {                                                                               \
                        a[0] = ak[ty];                                                                     \
                    }                                                                                      \
                    _Pragma("unroll") for (uint h = 0; h < TN / 4; ++h) {                                  \
                        float4 v = ((local const float4 *)bk)[h * 16 + tx];                                \
                        b[h * 4] = v.s0; b[h * 4 + 1] = v.s1; b[h * 4 + 2] = v.s2; b[h * 4 + 3] = v.s3;    \
                    }                                                                                      \
                    _Pragma("unroll") for (uint i = 0; i < TM; ++i)                                        \
                        _Pragma("unroll") for (uint j = 0; j < TN; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]); \
                }                                                                                          \
                if (t % (MM_KC / GK) == 0 || t == tiles) {                                                 \
                    _Pragma("unroll") for (uint i = 0; i < TM; ++i)                                        \
                        _Pragma("unroll") for (uint j = 0; j < TN; ++j) {                                  \
                            total[i][j] += acc[i][j];                                                      \
                            acc[i][j] = 0.0f;                                                              \
                        }                                                                                  \
                }                                                                                          \
            }                                                                                              \
            if (t == tiles)                                                                                \
                break;                                                                                     \
            /* tile t to local memory (buffer buf: nobody reads it until after the barrier) */             \
            _Pragma("unroll") for (uint v = 0; v < (AV + 255) / 256; ++v) {                                \
                uint e = tid + 256 * v, r = e / (GK / 4), kq = (e % (GK / 4)) * 4;                         \
                if (e < AV) {                                                                              \
                    ((local float *)As[buf][kq])[r] = ra[v].s0;                                            \
                    ((local float *)As[buf][kq + 1])[r] = ra[v].s1;                                        \
                    ((local float *)As[buf][kq + 2])[r] = ra[v].s2;                                        \
                    ((local float *)As[buf][kq + 3])[r] = ra[v].s3;                                        \
                }                                                                                          \
            }                                                                                              \
            _Pragma("unroll") for (uint v = 0; v < (BV + 255) / 256; ++v) {                                \
                uint e = tid + 256 * v;                                                                    \
                Bs[buf][e / (BN / 4)][e % (BN / 4)] = rb[v];                                               \
            }                                                                                              \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                  \
            buf ^= 1;                                                                                      \
            ++t;                                                                                           \
        }                                                                                                  \
        _Pragma("unroll") for (uint i = 0; i < TM; ++i) {                                                  \
            uint m = m0 + GEMM_ROW(TM, i, ty);                                                             \
            _Pragma("unroll") for (uint j = 0; j < TN; ++j) {                                              \
                uint n = n0 + GEMM_COL(j, tx);                                                             \
                if (m < M && n < N)                                                                        \
                    C[(ulong)m * N + n] = total[i][j];                                                     \
            }                                                                                              \
        }                                                                                                  \
    }

/* The tiles tiled_plan in src/ops/matmul.c picks: TM = 1, 2, 4, 8 rows by M. */
GEMM_KERNEL(matmul_gemm_1x8, 1, 8)
GEMM_KERNEL(matmul_gemm_2x8, 2, 8)
GEMM_KERNEL(matmul_gemm_4x8, 4, 8)
GEMM_KERNEL(matmul_gemm_8x8, 8, 8)

/* tiled on GPUs at small M, in one launch (K and N multiples of 4: 4-vector loads): a
 * work-group of WX x CH work-items (WX = get_local_size(0) <= GV_MAX_WX, CH =
 * get_local_size(1) <= GV_MAX_CH(RB)) computes RB rows of 4 WX adjacent columns, 4 a
 * work-item. Chunk lane y computes chunks y, y + CH, y + 2 CH, ... (each tiled's fma chain over
 * its k in ascending order, from +0); after each round of CH chunks, lane 0 adds the round's
 * partials into its running totals in chunk order. So C = ((0 + P_0) + P_1) + ..., tiled's
 * order, with every chunk in flight at once and no second launch; at M <= RB each element of B
 * is read once for all RB rows. Rows past M repeat row M - 1 and are not stored. */
#define GV_MAX_WX 8
#define GV_MAX_CH(RB) (64 / (RB))
#ifndef GV_UNROLL
#define GV_UNROLL 8 /* iterations of 4 k unrolled: their loads of B in flight together */
#endif
#define GEMV_KERNEL(RB)                                                                                    \
    kernel void matmul_gemv_rb##RB(global const in_t *A, global const in_t *B, global float *C, uint M,     \
                                   uint N, uint K)                                                         \
    {                                                                                                      \
        local float4 part[GV_MAX_CH(RB)][RB][GV_MAX_WX];                                                   \
        uint x = get_local_id(0), y = get_local_id(1), WX = get_local_size(0), CH = get_local_size(1);     \
        uint n = (get_group_id(0) * WX + x) * 4, m0 = get_group_id(1) * RB, nc = min(n, N - 4);            \
        uint chunks = (K + MM_KC - 1) / MM_KC;                                                             \
        global const in_t *a[RB];                                                                          \
        float4 total[RB];                                                                                  \
        _Pragma("unroll") for (uint r = 0; r < RB; ++r) {                                                  \
            a[r] = A + (ulong)min(m0 + r, M - 1) * K;                                                      \
            total[r] = (float4)(0.0f);                                                                     \
        }                                                                                                  \
        global const in_t *b = B + nc;                                                                     \
        for (uint q0 = 0; q0 < chunks; q0 += CH) {                                                         \
            uint c = q0 + y;                                                                               \
            if (c < chunks) {                                                                              \
                uint k0 = c * MM_KC, k1 = min(k0 + MM_KC, K);                                              \
                float4 acc[RB];                                                                            \
                _Pragma("unroll") for (uint r = 0; r < RB; ++r) acc[r] = (float4)(0.0f);                  \
                if (k1 - k0 == MM_KC) {                                                                    \
                    MM_PRAGMA(unroll GV_UNROLL) for (uint i = 0; i < MM_KC; i += 4) {                     \
                        uint k = k0 + i;                                                                   \
                             \
                    float4 b0 = LOAD4(b, (ulong)k * N), b1 = LOAD4(b, (ulong)(k + 1) * N);                 \
                    float4 b2 = LOAD4(b, (ulong)(k + 2) * N), b3 = LOAD4(b, (ulong)(k + 3) * N);           \
                    _Pragma("unroll") for (uint r = 0; r < RB; ++r) {                                      \
                        float4 av = LOAD4(a[r], k);                                                        \
                        acc[r] = fma((float4)(av.s0), b0, acc[r]);                                         \
                        acc[r] = fma((float4)(av.s1), b1, acc[r]);                                         \
                        acc[r] = fma((float4)(av.s2), b2, acc[r]);                                         \
                        acc[r] = fma((float4)(av.s3), b3, acc[r]);                                         \
                    }                                                                                      \
                                    }                                                                                      \
                } else {                                                                                   \
                    for (uint k = k0; k < k1; k += 4) {                                                    \
                             \
                    float4 b0 = LOAD4(b, (ulong)k * N), b1 = LOAD4(b, (ulong)(k + 1) * N);                 \
                    float4 b2 = LOAD4(b, (ulong)(k + 2) * N), b3 = LOAD4(b, (ulong)(k + 3) * N);           \
                    _Pragma("unroll") for (uint r = 0; r < RB; ++r) {                                      \
                        float4 av = LOAD4(a[r], k);                                                        \
                        acc[r] = fma((float4)(av.s0), b0, acc[r]);                                         \
                        acc[r] = fma((float4)(av.s1), b1, acc[r]);                                         \
                        acc[r] = fma((float4)(av.s2), b2, acc[r]);                                         \
                        acc[r] = fma((float4)(av.s3), b3, acc[r]);                                         \
                    }                                                                                      \
                                    }                                                                                      \
                }                                                                                          \
                _Pragma("unroll") for (uint r = 0; r < RB; ++r) part[y][r][x] = acc[r];                   \
            }                                                                                              \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                  \
            if (y == 0)                                                                                    \
                for (uint j = 0; j < CH && q0 + j < chunks; ++j)                                           \
                    _Pragma("unroll") for (uint r = 0; r < RB; ++r) total[r] += part[j][r][x];            \
            barrier(CLK_LOCAL_MEM_FENCE);                                                                  \
        }                                                                                                  \
        if (y == 0 && n < N)                                                                               \
            for (uint r = 0; r < RB && m0 + r < M; ++r)                                                    \
                vstore4(total[r], 0, C + (ulong)(m0 + r) * N + n);                                         \
    }

GEMV_KERNEL(1)
GEMV_KERNEL(2)
GEMV_KERNEL(4)
GEMV_KERNEL(8)

/* Second pass of splitk and of tiled at small M: C = ((0 + P_0) + P_1) + ..., slice order. */
kernel void matmul_combine(global const float *partials, global float *C, uint MN, uint slices)
{
    uint i = get_global_id(0);
    if (i >= MN)
        return;
    float s = 0.0f;
    for (uint q = 0; q < slices; ++q)
        s += partials[(ulong)q * MN + i];
    C[i] = s;
}
