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
 * batch, the cache capacity or the other ranges. */
#include "dtype.clh"

/* From the host (src/ops/attention.c): ATT_WG, the work-group size it launches, and ATT_DIMS,
 * the output dims a work-item holds (head dimension up to ATT_WG * ATT_DIMS). */
#if !defined(ATT_WG) || !defined(ATT_DIMS)
#error "ATT_WG and ATT_DIMS come from the host (src/ops/attention.c) as -DATT_WG and -DATT_DIMS"
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

/* Attention of one (sequence, head) over tokens [t_begin, t_end). */
inline void attend_range(global const in_t *row, uint H, uint d, uint C, uint h, uint t_begin, uint t_end,
                         float scale, local float *ql, local float *sc, local float *pr, att_state *st)
{
    uint lid = get_local_id(0);
    global const in_t *q = row + (ulong)h * d;
    global const in_t *K = row + (ulong)H * d;
    global const in_t *V = K + (ulong)C * H * d;
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
            global const in_t *k = K + ((ulong)t * H + h) * d;
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
                acc = fma(sc[i], in_load(V, ((ulong)(t0 + i) * H + h) * d + j), acc);
            st->o[r] = acc;
        }
        st->m = m_new;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

#define ROW_OF(x, b, rowlen) ((x) + (ulong)(b) * (rowlen))

/* single: one work-group per (sequence, head) over the whole cache. */
kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_single(global const in_t *x, global float *out, uint H, uint d, uint L, uint C, ulong rowlen,
                      float scale)
{
    local float ql[ATT_WG * ATT_DIMS], sc[ATT_WG], pr[ATT_WG];
    uint g = get_group_id(0), b = g / H, h = g % H, lid = get_local_id(0);
    att_state st;
    attend_range(ROW_OF(x, b, rowlen), H, d, C, h, 0, L, scale, ql, sc, pr, &st);
    global float *o = out + ((ulong)b * H + h) * d;
    for (uint r = 0; r < ATT_DIMS; ++r) {
        uint j = lid + r * ATT_WG;
        if (j < d)
            o[j] = st.o[r] / st.l;
    }
}

/* splitkv and fixedsplit, pass 1: group (b, h, s) covers tokens [s * chunk, (s + 1) * chunk)
 * and writes its (m, l, o[d]) to partials[(b * H + h) * splits + s]. */
kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_partial(global const in_t *x, global float *partials, uint H, uint d, uint L, uint C, ulong rowlen,
                       float scale, uint splits, uint chunk)
{
    local float ql[ATT_WG * ATT_DIMS], sc[ATT_WG], pr[ATT_WG];
    uint g = get_group_id(0), s = g % splits, bh = g / splits, b = bh / H, h = bh % H, lid = get_local_id(0);
    uint t_begin = min(s * chunk, L), t_end = min(t_begin + chunk, L);
    att_state st;
    attend_range(ROW_OF(x, b, rowlen), H, d, C, h, t_begin, t_end, scale, ql, sc, pr, &st);
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
