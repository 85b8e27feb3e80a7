/* decode.cl: the glue of a Llama decode step (src/decode.c) between the operations' own kernels
 * (rmsnorm.cl, matmul.cl, attention.cl): the embedding lookup, RoPE and the KV cache store, the
 * residual add, SwiGLU and the greedy choice. None of them reduces anything but the greedy
 * choice, whose max is exact in any order: each output is one IEEE operation or a fixed short
 * sequence of them, with contraction off, so these kernels give the same bits on every
 * conforming device and batch. SwiGLU's exp is the vendor's (swiglu) or the portable one
 * (swiglu_portable), the one place a mode's choice of arithmetic shows here.
 *
 * Layouts (row b = the batch's sequence b, which keeps its row and cache slot for its life):
 *   h, x        [B][dim]
 *   qkv         [B][(H + 2 Hkv) hd]: q heads, then k heads, then v heads (one fused matmul)
 *   kc, vc      [B][cap][Hkv][hd] per layer: the cache, token t of slot b at (b cap + t) Hkv hd
 *   gu          [B][2 hidden]: gate, then up (one fused matmul); act [B][hidden]
 *   logits      [B][vocab]
 *   pos         [B]: the position of the token each sequence feeds this step. */
#include "portable.clh" /* sets FP_CONTRACT OFF for the whole file */

/* The nearest bfloat16 (ties to even; NaN kept), by integer operations on the bits. */
inline float to_bf16(float v)
{
    uint u = as_uint(v);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return v;
    u += 0x7fffu + ((u >> 16) & 1u);
    return as_float(u & 0xffff0000u);
}

/* h[b] = embed[tokens[b]]. */
kernel void embed_rows(global const float *embed, global const int *tokens, global float *h, uint dim, uint B)
{
    ulong i = get_global_id(0);
    if (i >= (ulong)B * dim)
        return;
    ulong b = i / dim, j = i % dim;
    h[i] = embed[(ulong)tokens[b] * dim + j];
}

/* RoPE on the q and k heads of each sequence at its position (Hugging Face's rotate_half: pair
 * (i, i + hd/2) turned by the angle of table entry [pos][i]), k and v stored into the cache at
 * that position. One work-item a pair of (sequence, head among H + Hkv, i < hd/2): q rotated in
 * place; k rotated into the cache; v's two elements copied. Each output: two products and one
 * sum or difference, each rounded (contraction off); with bf16, rounded to bfloat16 as stored. */
kernel void rope_store(global float *qkv, global float *kc, global float *vc, global const uint *pos,
                       global const float *rcos, global const float *rsin, uint H, uint Hkv, uint hd, uint cap,
                       uint B, uint bf16)
{
    ulong i = get_global_id(0);
    uint half_hd = hd / 2, heads = H + Hkv;
    if (i >= (ulong)B * heads * half_hd)
        return;
    uint p = (uint)(i % half_hd), head = (uint)(i / half_hd % heads), b = (uint)(i / half_hd / heads);
    ulong row = (ulong)b * (H + 2 * Hkv) * hd;
    uint t = pos[b];
    float c = rcos[(ulong)t * half_hd + p], s = rsin[(ulong)t * half_hd + p];
    global float *x = qkv + row + (ulong)head * hd;
    float x1 = x[p], x2 = x[p + half_hd];
    float a = x1 * c - x2 * s, e = x2 * c + x1 * s;
    if (bf16) {
        a = to_bf16(a);
        e = to_bf16(e);
    }
    if (head < H) {
        x[p] = a;
        x[p + half_hd] = e;
        return;
    }
    uint g = head - H;
    ulong at = (((ulong)b * cap + t) * Hkv + g) * hd;
    kc[at + p] = a;
    kc[at + p + half_hd] = e;
    global const float *v = qkv + row + (ulong)(H + Hkv + g) * hd;
    vc[at + p] = v[p];
    vc[at + p + half_hd] = v[p + half_hd];
}

/* x rounded to the nearest bfloat16 (ties to even; NaN kept), in place: --activations bf16 stores
 * every activation between operations as bfloat16, as serving engines do, while the operations
 * still compute in float32. Integer operations on the bits: the same on every device. */
kernel void round_bf16(global float *x, ulong n)
{
    ulong i = get_global_id(0);
    if (i >= n)
        return;
    x[i] = to_bf16(x[i]);
}

/* h += x, elementwise. */
kernel void residual_add(global float *h, global const float *x, ulong n)
{
    ulong i = get_global_id(0);
    if (i < n)
        h[i] = h[i] + x[i];
}

/* act = silu(gate) * up = gate / (1 + exp(-gate)) * up, with the vendor's exp. */
kernel void swiglu(global const float *gu, global float *act, uint hidden, uint B)
{
    ulong i = get_global_id(0);
    if (i >= (ulong)B * hidden)
        return;
    ulong b = i / hidden, j = i % hidden;
    float g = gu[b * 2 * hidden + j], u = gu[b * 2 * hidden + hidden + j];
    act[i] = g / (1.0f + exp(-g)) * u;
}

/* The same with portable_exp and portable_div (cl/portable.clh): the same bits everywhere. */
kernel void swiglu_portable(global const float *gu, global float *act, uint hidden, uint B)
{
    ulong i = get_global_id(0);
    if (i >= (ulong)B * hidden)
        return;
    ulong b = i / hidden, j = i % hidden;
    float g = gu[b * 2 * hidden + j], u = gu[b * 2 * hidden + hidden + j];
    act[i] = portable_div(g, 1.0f + portable_exp(-g)) * u;
}

/* Greedy choice: one work-group of TOP_WG work-items per row finds the largest logit (the
 * lowest index among equals) and the largest of the others. Exact in any order: max and
 * comparisons round nothing. NaN logits are never chosen; a row of NaN gives index -1. */
#ifndef TOP_WG
#error "TOP_WG comes from the host (src/decode.c) as -DTOP_WG=..."
#endif
inline void top_merge(float *v1, int *i1, float *v2, float bv1, int bi1, float bv2)
{
    /* (v1, i1, v2) and (bv1, bi1, bv2) -> the best two of the four. */
    if (bi1 >= 0 && (*i1 < 0 || bv1 > *v1 || (bv1 == *v1 && bi1 < *i1))) {
        *v2 = fmax(*v1, bv2);
        if (*i1 < 0)
            *v2 = bv2;
        *v1 = bv1;
        *i1 = bi1;
    } else if (bi1 >= 0) {
        *v2 = fmax(*v2, bv1);
    }
}

kernel __attribute__((reqd_work_group_size(TOP_WG, 1, 1)))
void top2_rows(global const float *logits, uint vocab, global int *best, global float *top)
{
    local float lv1[TOP_WG], lv2[TOP_WG];
    local int li1[TOP_WG];
    uint b = get_group_id(0), lid = get_local_id(0);
    global const float *row = logits + (ulong)b * vocab;
    float v1 = -INFINITY, v2 = -INFINITY;
    int i1 = -1;
    for (uint j = lid; j < vocab; j += TOP_WG) {
        float v = row[j];
        if (isnan(v))
            continue;
        if (i1 < 0 || v > v1) {
            if (i1 >= 0)
                v2 = fmax(v2, v1);
            v1 = v;
            i1 = (int)j;
        } else {
            v2 = fmax(v2, v);
        }
    }
    lv1[lid] = v1;
    lv2[lid] = v2;
    li1[lid] = i1;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint span = TOP_WG / 2; span > 0; span >>= 1) {
        if (lid < span) {
            float a1 = lv1[lid], a2 = lv2[lid];
            int ai = li1[lid];
            top_merge(&a1, &ai, &a2, lv1[lid + span], li1[lid + span], lv2[lid + span]);
            lv1[lid] = a1;
            lv2[lid] = a2;
            li1[lid] = ai;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        best[b] = li1[0];
        top[2 * b] = lv1[0];
        top[2 * b + 1] = lv2[0];
    }
}
