/* attention.cl: decode attention. Sequence b has one query q[H][d] and a KV cache of capacity C
 * tokens, K[C][H][d] and V[C][H][d], of which the first L are used; its row of the input holds
 * q, then K, then V. out[b][h][j] = sum_t softmax_t(q.k_t / sqrt(d)) v_tj, in float32 with a
 * running maximum (online softmax).
 *
 * One work-group of ATT_WG work-items handles one (sequence, head, token range). It walks the
 * range in tiles of ATT_WG tokens: work-item i scores token t0 + i; the tile's maximum and sum
 * come from fixed trees; work-item i then owns output dims i, i + ATT_WG, ... (at most
 * ATT_DIMS of them) and adds the tile's p_t v_tj in token order. The order of every operation
 * depends only on the token range, so a range always gives the same (m, l, o), whatever the
 * batch, the cache capacity or the other ranges. exp is the vendor's (OpenCL lets it err by 3
 * ulp, each vendor its own way) and contraction is the compiler's default: these kernels'
 * bits are the same on every run and batch, not on every device.
 *
 * portable (attention_portable_partial, attention_portable_merge, at the end of the file):
 * chunks of ATT_PCHUNK tokens (a constant of the host, not the tuning), one work-group each,
 * in an order that depends only on (d, L) and ATT_PCHUNK (ATT_WG only decides which work-item
 * does what):
 *   s_t = (fma chain over j = 0..d-1 of q_j k_tj, from +0) * scale (scale from the host);
 *   m_c = max of the chunk's s_t (exact); p_t = portable_exp_diff(s_t, m_c);
 *   l_c = a pairwise tree over ATT_PCHUNK leaves (p of the chunk's tokens, +0 past L): at span
 *         ATT_PCHUNK/2, ATT_PCHUNK/4, ..., 1, leaf i += leaf i + span;
 *   o_cj = fma chain over the chunk's tokens in order of p_t v_tj, from +0;
 * then the merge, chunks in order: M = max m_c (exact); chunks with m_c = -inf skipped (all of
 * them: l = 0 and out = 0 / 0 = NaN, as the float64 reference gives); w_c =
 * portable_exp_diff(m_c, M); l = fma chain of l_c w_c from +0, o_j = fma chain of o_cj w_c
 * from +0; out_j = portable_div(o_j, l) (cl/portable.clh: a division from fma, so the
 * program keeps the vendor's divide for the other strategies). Every operation is one that
 * OpenCL requires to be correctly rounded (+, *, fma, max) or portable_exp / portable_div
 * (cl/portable.clh), with contraction off:
 * the same bits on every conforming device that keeps subnormals, replayed by the host
 * (src/ops/attention.c). */
#include "dtype.clh"

/* From the host (src/ops/attention.c): ATT_WG, the work-group size it launches, ATT_DIMS, the
 * output dims a work-item holds (head dimension up to ATT_WG * ATT_DIMS), and ATT_PCHUNK,
 * portable's chunk of tokens (a power of two, at least 2). */
#if !defined(ATT_WG) || !defined(ATT_DIMS) || !defined(ATT_PCHUNK) || !defined(ATT_NEAR_CHUNKS)
#error "ATT_WG, ATT_DIMS, ATT_PCHUNK and ATT_NEAR_CHUNKS come from the host (src/ops/attention.c) as -DATT_WG=..."
#endif

typedef struct {
    float m, l;
    float o[ATT_DIMS];
} att_state;

inline float tree_max(local float *buf, uint lid)
{
    for (uint span = ATT_WG / 2; span > 0; span >>= 1) {
        if (lid < span)
            buf[lid] = fmax(buf[lid], buf[lid + span]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return buf[0];
}

inline float tree_sum(local float *buf, uint lid)
{
    for (uint span = ATT_WG / 2; span > 0; span >>= 1) {
        if (lid < span)
            buf[lid] += buf[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return buf[0];
}

/* Attention of one (sequence, head) over tokens [t_begin, t_end): q its query, K and V its
 * head's token 0, token t at K + t * tok. */
inline void attend_range(global const in_t *q, global const in_t *K, global const in_t *V, ulong tok, uint d,
                         uint t_begin, uint t_end, float scale, local float *ql, local float *sc, local float *pr,
                         att_state *st)
{
    uint lid = get_local_id(0);
    for (uint j = lid; j < d; j += ATT_WG)
        ql[j] = in_load(q, j);
    barrier(CLK_LOCAL_MEM_FENCE);
    st->m = -INFINITY;
    st->l = 0.0f;
    for (uint r = 0; r < ATT_DIMS; ++r)
        st->o[r] = 0.0f;
    for (uint t0 = t_begin; t0 < t_end; t0 += ATT_WG) {
        uint t = t0 + lid, count = min((uint)ATT_WG, t_end - t0);
        float s = -INFINITY;
        if (t < t_end) {
            global const in_t *k = K + (ulong)t * tok;
            float dot = 0.0f;
            for (uint j = 0; j < d; ++j)
                dot = fma(ql[j], in_load(k, j), dot);
            s = dot * scale;
        }
        sc[lid] = s;
        pr[lid] = s;
        barrier(CLK_LOCAL_MEM_FENCE);
        float m_tile = tree_max(pr, lid);
        float m_new = fmax(st->m, m_tile);
        float alpha = exp(st->m - m_new);
        barrier(CLK_LOCAL_MEM_FENCE);
        float p = t < t_end ? exp(s - m_new) : 0.0f;
        sc[lid] = p;
        pr[lid] = p;
        barrier(CLK_LOCAL_MEM_FENCE);
        float l_tile = tree_sum(pr, lid);
        st->l = st->l * alpha + l_tile;
        for (uint r = 0; r < ATT_DIMS; ++r) {
            uint j = lid + r * ATT_WG;
            if (j >= d)
                break;
            float acc = st->o[r] * alpha;
            for (uint i = 0; i < count; ++i)
                acc = fma(sc[i], in_load(V, (ulong)(t0 + i) * tok + j), acc);
            st->o[r] = acc;
        }
        st->m = m_new;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* Where the operands live (src/ops/attention.c, clr_att_layout): sequence b's query of head h at
 * xq + q_off + b * q_seq + h * d; its token t of KV head g at xk + k_off + b * kv_seq + t * tok +
 * g * d (V alike from xv + v_off); query head h reads KV head h / group (grouped-query
 * attention); sequence b has lens[b] tokens where use_lens, else L. The benchmark's rows (q, K,
 * V in one row of the input) and the decode engine's KV cache are two such layouts. */
#define ATT_LAYOUT_ARGS                                                                                           \
    global const in_t *xq, ulong q_off, ulong q_seq, global const in_t *xk, ulong k_off, global const in_t *xv,   \
        ulong v_off, ulong kv_seq, ulong tok, uint H, uint group, uint d, uint L, global const uint *lens,       \
        uint use_lens, float scale
#define ATT_Q(b, h) (xq + q_off + (ulong)(b) * q_seq + (ulong)(h) * d)
#define ATT_K(b, h) (xk + k_off + (ulong)(b) * kv_seq + (ulong)((h) / group) * d)
#define ATT_V(b, h) (xv + v_off + (ulong)(b) * kv_seq + (ulong)((h) / group) * d)
#define ATT_LEN(b) (use_lens ? lens[b] : L)

/* single: one work-group per (sequence, head) over the whole cache. */
kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_single(ATT_LAYOUT_ARGS, global float *out)
{
    local float ql[ATT_WG * ATT_DIMS], sc[ATT_WG], pr[ATT_WG];
    uint g = get_group_id(0), b = g / H, h = g % H, lid = get_local_id(0);
    att_state st;
    attend_range(ATT_Q(b, h), ATT_K(b, h), ATT_V(b, h), tok, d, 0, ATT_LEN(b), scale, ql, sc, pr, &st);
    global float *o = out + ((ulong)b * H + h) * d;
    for (uint r = 0; r < ATT_DIMS; ++r) {
        uint j = lid + r * ATT_WG;
        if (j < d)
            o[j] = st.o[r] / st.l;
    }
}

/* splitkv and fixedsplit, pass 1: group (b, h, s) covers chunk s of the cache and writes its
 * (m, l, o[d]) to partials[(b * H + h) * splits + s]. The first ATT_NEAR_CHUNKS chunks hold
 * `chunk` tokens each, the later ones `far` (splitkv: far = chunk), so chunk s starts at the same
 * token in every sequence; past a sequence's end it is empty (m = -inf, skipped by the merge). */
kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_partial(ATT_LAYOUT_ARGS, global float *partials, uint splits, uint chunk, uint far)
{
    local float ql[ATT_WG * ATT_DIMS], sc[ATT_WG], pr[ATT_WG];
    uint g = get_group_id(0), s = g % splits, bh = g / splits, b = bh / H, h = bh % H, lid = get_local_id(0);
    ulong begin = s < ATT_NEAR_CHUNKS ? (ulong)s * chunk
                                      : (ulong)ATT_NEAR_CHUNKS * chunk + (ulong)(s - ATT_NEAR_CHUNKS) * far;
    ulong end = begin + (s < ATT_NEAR_CHUNKS ? chunk : far);
    uint Lb = ATT_LEN(b), t_begin = (uint)min(begin, (ulong)Lb), t_end = (uint)min(end, (ulong)Lb);
    att_state st;
    attend_range(ATT_Q(b, h), ATT_K(b, h), ATT_V(b, h), tok, d, t_begin, t_end, scale, ql, sc, pr, &st);
    global float *p = partials + (ulong)g * (d + 2);
    if (lid == 0) {
        p[0] = st.m;
        p[1] = st.l;
    }
    for (uint r = 0; r < ATT_DIMS; ++r) {
        uint j = lid + r * ATT_WG;
        if (j < d)
            p[2 + j] = st.o[r];
    }
}

/* Pass 2: merge a (sequence, head)'s splits in order with their log-sum-exp weights. */
kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_merge(global const float *partials, global float *out, uint H, uint d, uint splits)
{
    uint bh = get_group_id(0), lid = get_local_id(0);
    global const float *p = partials + (ulong)bh * splits * (d + 2);
    float m = -INFINITY;
    for (uint s = 0; s < splits; ++s)
        m = fmax(m, p[(ulong)s * (d + 2)]);
    float l = 0.0f;
    for (uint s = 0; s < splits; ++s) {
        float ms = p[(ulong)s * (d + 2)];
        l += ms == -INFINITY ? 0.0f : p[(ulong)s * (d + 2) + 1] * exp(ms - m);
    }
    for (uint j = lid; j < d; j += ATT_WG) {
        float o = 0.0f;
        for (uint s = 0; s < splits; ++s) {
            float ms = p[(ulong)s * (d + 2)];
            if (ms != -INFINITY)
                o = fma(p[(ulong)s * (d + 2) + 2 + j], exp(ms - m), o);
        }
        out[(ulong)bh * d + j] = o / l;
    }
}

/* portable. Contraction is off from here on (cl/portable.clh sets the pragma): the kernels
 * above keep the compiler's default, and their bits. Nothing below writes a*b+c anyway: every
 * fma is explicit. */
#include "portable.clh"

/* Pass 1: group g = (b * H + h) * splits + c covers tokens [c * ATT_PCHUNK, ...) of sequence b,
 * head h, and writes (m_c, l_c, o_c[d]) to partials + g * (d + 2). */
kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_portable_partial(ATT_LAYOUT_ARGS, global float *partials, uint splits)
{
    local float ql[ATT_WG * ATT_DIMS], pl[ATT_PCHUNK], tree[ATT_PCHUNK / 2], mx[ATT_WG];
    uint g = get_group_id(0), c = g % splits, bh = g / splits, b = bh / H, h = bh % H, lid = get_local_id(0);
    /* A sequence shorter than the longest has chunks past its end: count 0, m = -inf, skipped
     * by the merge as an empty chunk is. */
    uint Lb = ATT_LEN(b), t_begin = c * ATT_PCHUNK, count = t_begin < Lb ? min((uint)ATT_PCHUNK, Lb - t_begin) : 0u;
    global const in_t *K = ATT_K(b, h), *V = ATT_V(b, h), *q = ATT_Q(b, h);
    ulong stride = tok; /* from a token to the next */
    for (uint j0 = 0; j0 < d; j0 += ATT_WG)
        if (j0 + lid < d)
            ql[j0 + lid] = in_load(q, j0 + lid);
    barrier(CLK_LOCAL_MEM_FENCE);
    /* Scores of the chunk's tokens (work-item lid takes tokens lid, lid + ATT_WG, ...: who
     * computes a score changes none of its bits) and their max, exact in any order. */
    float m = -INFINITY;
    for (uint i0 = 0; i0 < ATT_PCHUNK; i0 += ATT_WG) {
        uint i = i0 + lid;
        float s = -INFINITY;
        if (i < count) {
            global const in_t *k = K + (ulong)(t_begin + i) * stride;
            float dot = 0.0f;
            for (uint j = 0; j < d; ++j)
                dot = fma(ql[j], in_load(k, j), dot);
            s = dot * scale;
        }
        pl[i] = s;
        m = fmax(m, s);
    }
    mx[lid] = m;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint span = ATT_WG / 2; span > 0; span >>= 1) {
        if (lid < span)
            mx[lid] = fmax(mx[lid], mx[lid + span]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    m = mx[0];
    /* p_t, +0 past the chunk's last token; diff: a chunk of -inf scores gives 1, not NaN. Each
     * work-item reads back only the scores it wrote. */
    for (uint i0 = 0; i0 < ATT_PCHUNK; i0 += ATT_WG) {
        uint i = i0 + lid;
        pl[i] = i < count ? portable_exp_diff(pl[i], m) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    /* l_c: the pairwise tree over ATT_PCHUNK leaves. */
    for (uint i0 = 0; i0 < ATT_PCHUNK / 2; i0 += ATT_WG)
        if (i0 + lid < ATT_PCHUNK / 2)
            tree[i0 + lid] = pl[i0 + lid] + pl[i0 + lid + ATT_PCHUNK / 2];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint span = ATT_PCHUNK / 4; span > 0; span >>= 1) {
        for (uint i0 = 0; i0 < span; i0 += ATT_WG)
            if (i0 + lid < span)
                tree[i0 + lid] += tree[i0 + lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    global float *p = partials + (ulong)g * (d + 2);
    if (lid == 0) {
        p[0] = m;
        p[1] = tree[0];
    }
    /* o_cj: one fma chain per output dim over the chunk's tokens in order. */
    global const in_t *vc = V + (ulong)t_begin * stride;
    for (uint j0 = 0; j0 < d; j0 += ATT_WG) {
        uint j = j0 + lid;
        if (j < d) {
            float acc = 0.0f;
            for (uint i = 0; i < count; ++i)
                acc = fma(pl[i], in_load(vc, (ulong)i * stride + j), acc);
            p[2 + j] = acc;
        }
    }
}

/* Pass 2: one work-group per (sequence, head) merges its chunks in order; work-item lid owns
 * output dims lid, lid + ATT_WG, ... and computes the same l as every other. */
kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_portable_merge(global const float *partials, global float *out, uint d, uint splits)
{
    uint bh = get_group_id(0), lid = get_local_id(0);
    global const float *p = partials + (ulong)bh * splits * (d + 2);
    float m = -INFINITY;
    for (uint c = 0; c < splits; ++c)
        m = fmax(m, p[(ulong)c * (d + 2)]);
    float l = 0.0f, o[ATT_DIMS];
    for (uint r = 0; r < ATT_DIMS; ++r)
        o[r] = 0.0f;
    for (uint c = 0; c < splits; ++c) {
        global const float *pc = p + (ulong)c * (d + 2);
        float mc = pc[0];
        if (mc == -INFINITY)
            continue;
        float w = portable_exp_diff(mc, m);
        l = fma(pc[1], w, l);
        for (uint r = 0; r < ATT_DIMS; ++r) {
            uint j = lid + r * ATT_WG;
            if (j < d)
                o[r] = fma(pc[2 + j], w, o[r]);
        }
    }
    for (uint r = 0; r < ATT_DIMS; ++r) {
        uint j = lid + r * ATT_WG;
        if (j < d)
            out[(ulong)bh * d + j] = portable_div(o[r], l);
    }
}
