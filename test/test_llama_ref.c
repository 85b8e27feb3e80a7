/* test_llama_ref.c: the host side of Llama decoding (src/llama_ref.c): the RoPE table against a
 * direct evaluation (plain and Llama 3 scaling, Llama 3.2's parameters), the float64 forward
 * pass on tiny hand-built models against a prefill written here independently (and against
 * NumPy where python3 has it), its causality and its refusals, and tokenizer.json's vocabulary
 * (byte-level BPE, SentencePiece, Unigram, added tokens, malformed files). */
#include <check.h>
#include "test_util.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "llama.h"

#define PI 3.14159265358979323846

/* ---- RoPE ---------------------------------------------------------------------------------- */

/* The frequency of pair i written from the frequency side: r = original / wavelength is how many
 * turns pair i makes over the original context; below low_freq it is slowed by factor, above
 * high_freq kept, in between interpolated linearly in r. */
static double expected_inv_freq(const clr_llama_config *cfg, size_t i)
{
    double inv_freq = exp(-((double)i * 2.0 / (double)cfg->head_dim) * log(cfg->rope_theta));
    if (!cfg->rope_llama3)
        return inv_freq;
    double turns = (double)cfg->rope_original_max_pos * inv_freq / (2.0 * PI);
    double slow = inv_freq / cfg->rope_factor;
    if (turns < cfg->rope_low_freq)
        return slow;
    if (turns > cfg->rope_high_freq)
        return inv_freq;
    double t = (turns - cfg->rope_low_freq) / (cfg->rope_high_freq - cfg->rope_low_freq);
    return slow + t * (inv_freq - slow);
}

static clr_llama_config llama32_config(void)
{
    clr_llama_config cfg = {0};
    cfg.head_dim = 64;
    cfg.rope_theta = 500000.0;
    cfg.rope_llama3 = 1;
    cfg.rope_factor = 32.0;
    cfg.rope_low_freq = 1.0;
    cfg.rope_high_freq = 4.0;
    cfg.rope_original_max_pos = 8192;
    return cfg;
}

/* The table at several positions against cos and sin of the directly computed angle (within
 * the float rounding: 2^-24). */
static void check_rope_table(const clr_llama_config *cfg)
{
    enum { POSITIONS = 8192 };
    size_t half = cfg->head_dim / 2;
    float *cos_table = malloc(POSITIONS * half * sizeof(float)), *sin_table = malloc(POSITIONS * half * sizeof(float));
    ck_assert(cos_table && sin_table);
    clr_llama_rope_table(cfg, POSITIONS, cos_table, sin_table);
    static const size_t positions[] = {0, 1, 2, 3, 17, 255, 1000, 4095, 8191};
    for (size_t k = 0; k < sizeof positions / sizeof positions[0]; ++k) {
        size_t p = positions[k];
        for (size_t i = 0; i < half; ++i) {
            double angle = (double)p * expected_inv_freq(cfg, i);
            ck_assert_msg(fabs(cos_table[p * half + i] - cos(angle)) <= 0x1p-24, "cos p %zu i %zu: %.9g vs %.17g", p,
                          i, cos_table[p * half + i], cos(angle));
            ck_assert_msg(fabs(sin_table[p * half + i] - sin(angle)) <= 0x1p-24, "sin p %zu i %zu: %.9g vs %.17g", p,
                          i, sin_table[p * half + i], sin(angle));
        }
    }
    for (size_t i = 0; i < half; ++i) /* position 0: no rotation at all */
        ck_assert(cos_table[i] == 1.0f && sin_table[i] == 0.0f);
    free(cos_table);
    free(sin_table);
}

START_TEST(rope_plain)
{
    clr_llama_config cfg = {0};
    cfg.rope_theta = 10000.0;
    static const size_t head_dims[] = {2, 6, 48, 64, 128};
    for (size_t k = 0; k < sizeof head_dims / sizeof head_dims[0]; ++k) {
        cfg.head_dim = head_dims[k];
        check_rope_table(&cfg);
    }
    cfg.head_dim = 64;
    cfg.rope_theta = 500000.0;
    check_rope_table(&cfg);
}
END_TEST

START_TEST(rope_llama3)
{
    clr_llama_config cfg = llama32_config();
    check_rope_table(&cfg);
    /* A smaller context and other factors (Llama 3.1 8B: factor 8). */
    cfg.rope_factor = 8.0;
    cfg.head_dim = 128;
    check_rope_table(&cfg);
    cfg.rope_original_max_pos = 64;
    cfg.head_dim = 16;
    cfg.rope_theta = 10000.0;
    check_rope_table(&cfg);
}
END_TEST

/* Llama 3.2 (theta 500000, factor 32, low 1, high 4, original 8192, head_dim 64): pairs 0-14
 * turn more than 4 times over 8192 positions and keep their frequency, pairs 18-31 turn less
 * than once and are slowed 32 times, pairs 15-17 lie in between. Seen in the angle at position
 * 1, recovered from the table and compared with the plain table's. */
START_TEST(rope_llama32_bands)
{
    clr_llama_config scaled = llama32_config(), plain = scaled;
    plain.rope_llama3 = 0;
    float cos_s[2 * 32], sin_s[2 * 32], cos_p[2 * 32], sin_p[2 * 32];
    clr_llama_rope_table(&scaled, 2, cos_s, sin_s);
    clr_llama_rope_table(&plain, 2, cos_p, sin_p);
    for (size_t i = 0; i < 32; ++i) {
        double ratio = atan2(sin_p[32 + i], cos_p[32 + i]) / atan2(sin_s[32 + i], cos_s[32 + i]);
        if (i <= 14)
            ck_assert_msg(cos_s[32 + i] == cos_p[32 + i] && sin_s[32 + i] == sin_p[32 + i], "pair %zu changed", i);
        else if (i >= 18)
            ck_assert_msg(fabs(ratio - 32.0) < 32e-6, "pair %zu: slowed %.9g times, not 32", i, ratio);
        else
            ck_assert_msg(ratio > 1.0 + 1e-3 && ratio < 32.0 - 1e-3, "pair %zu: slowed %.9g times", i, ratio);
    }
}
END_TEST

/* ---- Tiny hand-built models ---------------------------------------------------------------- */

static float *gen_tensor(uint64_t seed, uint64_t tensor, size_t count, double scale, double offset)
{
    float *t = malloc(count * sizeof *t);
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < count; ++i)
        t[i] = (float)(offset + scale * clr_gen(seed, CLR_DIST_NORMAL, tensor, i));
    return t;
}

static clr_llama_config tiny_config(void)
{
    clr_llama_config cfg = {0};
    cfg.dim = 8;
    cfg.layers = 2;
    cfg.heads = 4;
    cfg.kv_heads = 2;
    cfg.head_dim = 4; /* heads * head_dim = 16, not dim */
    cfg.hidden = 12;
    cfg.vocab = 11;
    cfg.max_pos = 16;
    cfg.rms_eps = 1e-5;
    cfg.rope_theta = 10000.0;
    cfg.bos_id = cfg.eos_id = -1;
    return cfg;
}

/* Weights ~ N(0, 1/fan_in) (so activations stay near 1), norms near 1. */
static void build_model(clr_llama_weights *w, const clr_llama_config *cfg, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->cfg = *cfg;
    size_t q_dim = cfg->heads * cfg->head_dim, kv_dim = cfg->kv_heads * cfg->head_dim, dim = cfg->dim;
    uint64_t tensor = 0;
    w->embed = gen_tensor(seed, tensor++, cfg->vocab * dim, 1.0, 0.0);
    w->final_norm = gen_tensor(seed, tensor++, dim, 0.1, 1.0);
    w->lm_head = cfg->tie_embeddings ? w->embed : gen_tensor(seed, tensor++, cfg->vocab * dim, 1.0 / sqrt(dim), 0.0);
    w->layer = calloc(cfg->layers, sizeof *w->layer);
    ck_assert_ptr_nonnull(w->layer);
    for (size_t l = 0; l < cfg->layers; ++l) {
        clr_llama_layer *L = &w->layer[l];
        L->attn_norm = gen_tensor(seed, tensor++, dim, 0.1, 1.0);
        L->wq = gen_tensor(seed, tensor++, q_dim * dim, 1.0 / sqrt(dim), 0.0);
        L->wk = gen_tensor(seed, tensor++, kv_dim * dim, 1.0 / sqrt(dim), 0.0);
        L->wv = gen_tensor(seed, tensor++, kv_dim * dim, 1.0 / sqrt(dim), 0.0);
        L->wo = gen_tensor(seed, tensor++, dim * q_dim, 1.0 / sqrt(q_dim), 0.0);
        L->ffn_norm = gen_tensor(seed, tensor++, dim, 0.1, 1.0);
        L->w_gate = gen_tensor(seed, tensor++, cfg->hidden * dim, 1.0 / sqrt(dim), 0.0);
        L->w_up = gen_tensor(seed, tensor++, cfg->hidden * dim, 1.0 / sqrt(dim), 0.0);
        L->w_down = gen_tensor(seed, tensor++, dim * cfg->hidden, 1.0 / sqrt(cfg->hidden), 0.0);
    }
}

static void free_model(clr_llama_weights *w)
{
    for (size_t l = 0; l < w->cfg.layers; ++l) {
        clr_llama_layer *L = &w->layer[l];
        float *tensors[] = {L->attn_norm, L->wq, L->wk, L->wv, L->wo, L->ffn_norm, L->w_gate, L->w_up, L->w_down};
        for (size_t k = 0; k < sizeof tensors / sizeof tensors[0]; ++k)
            free(tensors[k]);
    }
    free(w->layer);
    if (w->lm_head != w->embed)
        free(w->lm_head);
    free(w->embed);
    free(w->final_norm);
    memset(w, 0, sizeof *w);
}

/* ---- An independent forward pass: the whole sequence at once, as a prefill ---------------- */

static double *zeros(size_t count)
{
    double *p = calloc(count, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Y[r][o] = sum_i X[r][i] W[o][i]: X [rows][in], W [out][in]. */
static void linear(const double *X, const float *W, size_t rows, size_t in, size_t out, double *Y)
{
    for (size_t r = 0; r < rows; ++r)
        for (size_t o = 0; o < out; ++o) {
            double acc = 0.0;
            for (size_t i = 0; i < in; ++i)
                acc += X[r * in + i] * (double)W[o * in + i];
            Y[r * out + o] = acc;
        }
}

static void norm_rows(const double *H, const float *weight, size_t rows, size_t dim, double eps, double *X)
{
    for (size_t r = 0; r < rows; ++r) {
        double mean_square = 0.0;
        for (size_t i = 0; i < dim; ++i)
            mean_square += H[r * dim + i] * H[r * dim + i] / (double)dim;
        double rms = sqrt(mean_square + eps);
        for (size_t i = 0; i < dim; ++i)
            X[r * dim + i] = (double)weight[i] * (H[r * dim + i] / rms);
    }
}

/* x * cos + rotate_half(x) * sin on every head of every row (rows [n][heads * hd]), with cos and
 * sin repeated over both halves as transformers builds them. */
static void rope_rows(double *X, size_t n, size_t heads, size_t hd, const float *cos_table, const float *sin_table)
{
    size_t half = hd / 2;
    double *rotated = zeros(hd);
    for (size_t t = 0; t < n; ++t)
        for (size_t h = 0; h < heads; ++h) {
            double *x = X + (t * heads + h) * hd;
            for (size_t d = 0; d < hd; ++d)
                rotated[d] = d < half ? -x[d + half] : x[d - half];
            for (size_t d = 0; d < hd; ++d) {
                double c = cos_table[t * half + d % half], s = sin_table[t * half + d % half];
                x[d] = x[d] * c + rotated[d] * s;
            }
        }
    free(rotated);
}

/* A[t] = softmax over the causal row of scores, times V, for every head, with the whole [n][n]
 * score matrix (masked with -inf above the diagonal). */
static void causal_attention(const clr_llama_config *cfg, const double *Q, const double *K, const double *V, size_t n,
                             double *A)
{
    size_t hd = cfg->head_dim, q_dim = cfg->heads * hd, kv_dim = cfg->kv_heads * hd;
    double *S = zeros(n * n);
    for (size_t h = 0; h < cfg->heads; ++h) {
        size_t g = h * cfg->kv_heads / cfg->heads;
        for (size_t t = 0; t < n; ++t)
            for (size_t s = 0; s < n; ++s) {
                double dot = 0.0;
                for (size_t d = 0; d < hd; ++d)
                    dot += Q[t * q_dim + h * hd + d] * K[s * kv_dim + g * hd + d];
                S[t * n + s] = s > t ? -INFINITY : dot / sqrt((double)hd);
            }
        for (size_t t = 0; t < n; ++t) {
            double top = S[t * n];
            for (size_t s = 1; s < n; ++s)
                top = S[t * n + s] > top ? S[t * n + s] : top;
            double sum = 0.0;
            for (size_t s = 0; s < n; ++s)
                sum += (S[t * n + s] = exp(S[t * n + s] - top));
            for (size_t d = 0; d < hd; ++d) {
                double acc = 0.0;
                for (size_t s = 0; s < n; ++s)
                    acc += S[t * n + s] / sum * V[s * kv_dim + g * hd + d];
                A[t * q_dim + h * hd + d] = acc;
            }
        }
    }
    free(S);
}

static void naive_forward(const clr_llama_weights *w, const int32_t *tokens, size_t n, double *logits)
{
    const clr_llama_config *cfg = &w->cfg;
    size_t dim = cfg->dim, q_dim = cfg->heads * cfg->head_dim, kv_dim = cfg->kv_heads * cfg->head_dim;
    size_t half = cfg->head_dim / 2;
    float *cos_table = malloc(n * half * sizeof(float)), *sin_table = malloc(n * half * sizeof(float));
    ck_assert(cos_table && sin_table);
    clr_llama_rope_table(cfg, n, cos_table, sin_table);
    double *H = zeros(n * dim), *X = zeros(n * dim), *O = zeros(n * dim), *Q = zeros(n * q_dim),
           *K = zeros(n * kv_dim), *V = zeros(n * kv_dim), *A = zeros(n * q_dim), *G = zeros(n * cfg->hidden),
           *U = zeros(n * cfg->hidden);
    for (size_t t = 0; t < n; ++t)
        for (size_t i = 0; i < dim; ++i)
            H[t * dim + i] = w->embed[(size_t)tokens[t] * dim + i];
    for (size_t l = 0; l < cfg->layers; ++l) {
        const clr_llama_layer *L = &w->layer[l];
        norm_rows(H, L->attn_norm, n, dim, cfg->rms_eps, X);
        linear(X, L->wq, n, dim, q_dim, Q);
        linear(X, L->wk, n, dim, kv_dim, K);
        linear(X, L->wv, n, dim, kv_dim, V);
        rope_rows(Q, n, cfg->heads, cfg->head_dim, cos_table, sin_table);
        rope_rows(K, n, cfg->kv_heads, cfg->head_dim, cos_table, sin_table);
        causal_attention(cfg, Q, K, V, n, A);
        linear(A, L->wo, n, q_dim, dim, O);
        for (size_t i = 0; i < n * dim; ++i)
            H[i] += O[i];
        norm_rows(H, L->ffn_norm, n, dim, cfg->rms_eps, X);
        linear(X, L->w_gate, n, dim, cfg->hidden, G);
        linear(X, L->w_up, n, dim, cfg->hidden, U);
        for (size_t j = 0; j < n * cfg->hidden; ++j)
            G[j] = G[j] * (1.0 / (1.0 + exp(-G[j]))) * U[j];
        linear(G, L->w_down, n, cfg->hidden, dim, O);
        for (size_t i = 0; i < n * dim; ++i)
            H[i] += O[i];
    }
    norm_rows(H, w->final_norm, n, dim, cfg->rms_eps, X);
    linear(X, w->lm_head, n, dim, cfg->vocab, logits);
    double *buffers[] = {H, X, O, Q, K, V, A, G, U};
    for (size_t k = 0; k < sizeof buffers / sizeof buffers[0]; ++k)
        free(buffers[k]);
    free(cos_table);
    free(sin_table);
}

/* a and b ([count]) agree within tol relative to the largest |b|. */
static void assert_close(const double *a, const double *b, size_t count, double tol, const char *what)
{
    double scale = 0.0;
    for (size_t i = 0; i < count; ++i)
        scale = fmax(scale, fabs(b[i]));
    ck_assert_msg(scale > 0.1, "%s: implausibly small logits (largest %g)", what, scale);
    for (size_t i = 0; i < count; ++i)
        ck_assert_msg(fabs(a[i] - b[i]) <= tol * scale, "%s: element %zu: %.17g vs %.17g", what, i, a[i], b[i]);
}

static double *reference_logits(const clr_llama_weights *w, const int32_t *tokens, size_t n)
{
    double *logits = zeros(n * w->cfg.vocab);
    clr_error err = {0};
    ck_assert_msg(clr_llama_reference(w, tokens, n, logits, &err) == CLR_OK, "%s", err.msg);
    return logits;
}

static void check_against_prefill(const clr_llama_config *cfg, uint64_t seed, const int32_t *tokens, size_t n,
                                  const char *what)
{
    clr_llama_weights w;
    build_model(&w, cfg, seed);
    double *logits = reference_logits(&w, tokens, n), *expected = zeros(n * cfg->vocab);
    naive_forward(&w, tokens, n, expected);
    assert_close(logits, expected, n * cfg->vocab, 1e-12, what);
    free(logits);
    free(expected);
    free_model(&w);
}

static const int32_t sequence[] = {3, 0, 10, 7, 7, 1, 4, 9, 2, 5, 3, 8};
#define SEQUENCE_LEN (sizeof sequence / sizeof sequence[0])

START_TEST(reference_matches_prefill)
{
    clr_llama_config cfg = tiny_config();
    check_against_prefill(&cfg, 1, sequence, SEQUENCE_LEN, "grouped-query, plain RoPE");
    /* Multi-query, tied embeddings, llama3 RoPE over a short original context (pair 0 is in the
     * interpolated band, pair 1 slowed). */
    cfg.kv_heads = 1;
    cfg.tie_embeddings = 1;
    cfg.rope_llama3 = 1;
    cfg.rope_factor = 8.0;
    cfg.rope_low_freq = 1.0;
    cfg.rope_high_freq = 4.0;
    cfg.rope_original_max_pos = 16;
    check_against_prefill(&cfg, 2, sequence, SEQUENCE_LEN, "multi-query, tied, llama3 RoPE");
    /* Multi-head, head_dim 6 with dim 8 and 2 heads, one layer, eps 1e-6, one token. */
    cfg = tiny_config();
    cfg.heads = cfg.kv_heads = 2;
    cfg.head_dim = 6;
    cfg.layers = 1;
    cfg.rms_eps = 1e-6;
    check_against_prefill(&cfg, 3, sequence, SEQUENCE_LEN, "multi-head, head_dim 6");
    check_against_prefill(&cfg, 3, sequence, 1, "one token");
}
END_TEST

/* The logits after token t are a function of tokens 0..t only: bit for bit the same whether the
 * sequence ends there or goes on, with whatever tokens. */
START_TEST(reference_is_causal)
{
    clr_llama_config cfg = tiny_config();
    clr_llama_weights w;
    build_model(&w, &cfg, 4);
    size_t n = SEQUENCE_LEN, vocab = cfg.vocab;
    double *full = reference_logits(&w, sequence, n);
    for (size_t k = 1; k < n; ++k) {
        double *prefix = reference_logits(&w, sequence, k);
        ck_assert_msg(memcmp(prefix, full, k * vocab * sizeof(double)) == 0, "prefix of %zu tokens differs", k);
        free(prefix);
        int32_t changed[SEQUENCE_LEN];
        memcpy(changed, sequence, sizeof changed);
        for (size_t t = k; t < n; ++t)
            changed[t] = (changed[t] + 5) % (int32_t)vocab;
        double *other = reference_logits(&w, changed, n);
        ck_assert_msg(memcmp(other, full, k * vocab * sizeof(double)) == 0, "tokens from %zu on changed the past", k);
        ck_assert_msg(memcmp(other + k * vocab, full + k * vocab, vocab * sizeof(double)) != 0,
                      "changing token %zu changed nothing after it", k);
        free(other);
    }
    free(full);
    free_model(&w);
}
END_TEST

static void expect_refused(const clr_llama_weights *w, const int32_t *tokens, size_t n, const char *needle)
{
    double *logits = zeros((n ? n : 1) * w->cfg.vocab);
    clr_error err = {0};
    ck_assert_int_eq(clr_llama_reference(w, tokens, n, logits, &err), CLR_EUSAGE);
    ck_assert_int_eq(err.code, CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s' not in: %s", needle, err.msg);
    free(logits);
}

START_TEST(reference_refusals)
{
    clr_llama_config cfg = tiny_config();
    clr_llama_weights w;
    build_model(&w, &cfg, 5);
    int32_t tokens[20] = {1, 2, 3, 11, 4};
    expect_refused(&w, tokens, 5, "position 3 is id 11");
    tokens[3] = -1;
    expect_refused(&w, tokens, 5, "position 3 is id -1");
    tokens[3] = INT32_MAX;
    expect_refused(&w, tokens, 5, "id 2147483647");
    tokens[3] = 10;
    expect_refused(&w, tokens, 0, "no tokens");
    expect_refused(&w, tokens, 17, "max_position_embeddings");
    w.cfg.kv_heads = 3;
    expect_refused(&w, tokens, 5, "must divide");
    w.cfg = cfg;
    free(reference_logits(&w, tokens, 16)); /* max_pos tokens exactly, one of them id vocab - 1 */
    free_model(&w);
}
END_TEST

/* ---- NumPy, where python3 has it ----------------------------------------------------------- */

static const char numpy_forward[] =
    "import sys, numpy as np\n"
    "d = sys.argv[1]\n"
    "dim, layers, heads, kvh, hd, hidden, vocab, n, orig = map(int, sys.argv[2:11])\n"
    "eps, theta, factor, low, high = map(float, sys.argv[11:16])\n"
    "llama3 = int(sys.argv[16])\n"
    "def t(name, shape): return np.fromfile(f'{d}/{name}.f32', dtype='<f4').astype(np.float64).reshape(shape)\n"
    "tokens = np.fromfile(f'{d}/tokens.i32', dtype='<i4')\n"
    "inv = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)\n"
    "if llama3:\n"
    "    wavelen = 2 * np.pi / inv\n"
    "    scaled = np.where(wavelen > orig / low, inv / factor, inv)\n"
    "    smooth = (orig / wavelen - low) / (high - low)\n"
    "    smoothed = (1 - smooth) * scaled / factor + smooth * scaled\n"
    "    medium = ~(wavelen < orig / high) & ~(wavelen > orig / low)\n"
    "    inv = np.where(medium, smoothed, scaled)\n"
    "angles = np.outer(np.arange(n, dtype=np.float64), inv)\n"
    "np.cos(angles).astype('<f4').tofile(f'{d}/numpy_cos.f32')\n"
    "np.sin(angles).astype('<f4').tofile(f'{d}/numpy_sin.f32')\n"
    "cos = t('cos', (n, hd // 2)); sin = t('sin', (n, hd // 2))\n"
    "cos = np.concatenate([cos, cos], -1)[None]; sin = np.concatenate([sin, sin], -1)[None]\n"
    "def rms(x, w): return w * (x / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps))\n"
    "def rot(x): return np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)\n"
    "def heads_of(x, k): return x.reshape(n, k, hd).transpose(1, 0, 2)\n"
    "h = t('embed', (vocab, dim))[tokens]\n"
    "mask = np.triu(np.full((n, n), -np.inf), 1)\n"
    "for l in range(layers):\n"
    "    x = rms(h, t(f'{l}.attn_norm', (dim,)))\n"
    "    q = heads_of(x @ t(f'{l}.wq', (heads * hd, dim)).T, heads)\n"
    "    k = heads_of(x @ t(f'{l}.wk', (kvh * hd, dim)).T, kvh)\n"
    "    v = heads_of(x @ t(f'{l}.wv', (kvh * hd, dim)).T, kvh)\n"
    "    q = q * cos + rot(q) * sin; k = k * cos + rot(k) * sin\n"
    "    k = np.repeat(k, heads // kvh, axis=0); v = np.repeat(v, heads // kvh, axis=0)\n"
    "    s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask\n"
    "    p = np.exp(s - s.max(-1, keepdims=True)); p /= p.sum(-1, keepdims=True)\n"
    "    a = (p @ v).transpose(1, 0, 2).reshape(n, heads * hd)\n"
    "    h = h + a @ t(f'{l}.wo', (dim, heads * hd)).T\n"
    "    x = rms(h, t(f'{l}.ffn_norm', (dim,)))\n"
    "    g = x @ t(f'{l}.w_gate', (hidden, dim)).T; u = x @ t(f'{l}.w_up', (hidden, dim)).T\n"
    "    h = h + (g / (1 + np.exp(-g)) * u) @ t(f'{l}.w_down', (dim, hidden)).T\n"
    "logits = rms(h, t('final_norm', (dim,))) @ t('lm_head', (vocab, dim)).T\n"
    "logits.astype('<f8').tofile(f'{d}/logits.f64')\n";

static void write_raw(const char *dir, const char *name, const void *data, size_t bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, bytes, f), bytes);
    ck_assert_int_eq(fclose(f), 0);
}

static void *read_raw(const char *dir, const char *name, size_t bytes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s was not written", path);
    void *data = malloc(bytes + 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, bytes + 1, f), bytes);
    fclose(f);
    return data;
}

static void write_model_files(const char *dir, const clr_llama_weights *w)
{
    const clr_llama_config *c = &w->cfg;
    size_t q_dim = c->heads * c->head_dim, kv_dim = c->kv_heads * c->head_dim, f = sizeof(float);
    write_raw(dir, "embed.f32", w->embed, c->vocab * c->dim * f);
    write_raw(dir, "lm_head.f32", w->lm_head, c->vocab * c->dim * f);
    write_raw(dir, "final_norm.f32", w->final_norm, c->dim * f);
    for (size_t l = 0; l < c->layers; ++l) {
        const clr_llama_layer *L = &w->layer[l];
        struct { const char *name; const float *data; size_t count; } tensors[] = {
            {"attn_norm", L->attn_norm, c->dim}, {"wq", L->wq, q_dim * c->dim}, {"wk", L->wk, kv_dim * c->dim},
            {"wv", L->wv, kv_dim * c->dim}, {"wo", L->wo, c->dim * q_dim}, {"ffn_norm", L->ffn_norm, c->dim},
            {"w_gate", L->w_gate, c->hidden * c->dim}, {"w_up", L->w_up, c->hidden * c->dim},
            {"w_down", L->w_down, c->dim * c->hidden},
        };
        for (size_t k = 0; k < sizeof tensors / sizeof tensors[0]; ++k) {
            char name[64];
            snprintf(name, sizeof name, "%zu.%s.f32", l, tensors[k].name);
            write_raw(dir, name, tensors[k].data, tensors[k].count * f);
        }
    }
}

START_TEST(reference_matches_numpy)
{
    if (system("python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "reference_matches_numpy: skipped (no python3 with numpy)\n");
        return;
    }
    clr_llama_config cfg = tiny_config();
    cfg.dim = 12;
    cfg.head_dim = 8; /* neither dim nor dim / heads */
    cfg.rope_llama3 = 1; /* pairs 0-3 turn 2.5, 0.25, 0.025, 0.0025 times over 16 positions */
    cfg.rope_factor = 8.0;
    cfg.rope_low_freq = 1.0;
    cfg.rope_high_freq = 4.0;
    cfg.rope_original_max_pos = 16;
    clr_llama_weights w;
    build_model(&w, &cfg, 6);
    size_t n = SEQUENCE_LEN, half = cfg.head_dim / 2;
    char dir[512];
    test_mkdtemp(dir, sizeof dir, "numpy");
    write_model_files(dir, &w);
    write_raw(dir, "tokens.i32", sequence, sizeof sequence);
    float cos_table[SEQUENCE_LEN * 4], sin_table[SEQUENCE_LEN * 4];
    clr_llama_rope_table(&cfg, n, cos_table, sin_table);
    write_raw(dir, "cos.f32", cos_table, sizeof cos_table);
    write_raw(dir, "sin.f32", sin_table, sizeof sin_table);
    write_raw(dir, "forward.py", numpy_forward, strlen(numpy_forward));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "python3 '%s/forward.py' '%s' %zu %zu %zu %zu %zu %zu %zu %zu %zu %.17g %.17g %.17g %.17g %.17g %d",
             dir, dir, cfg.dim, cfg.layers, cfg.heads, cfg.kv_heads, cfg.head_dim, cfg.hidden, cfg.vocab, n,
             cfg.rope_original_max_pos, cfg.rms_eps, cfg.rope_theta, cfg.rope_factor, cfg.rope_low_freq,
             cfg.rope_high_freq, cfg.rope_llama3);
    ck_assert_int_eq(system(cmd), 0);
    float *numpy_cos = read_raw(dir, "numpy_cos.f32", n * half * sizeof(float));
    float *numpy_sin = read_raw(dir, "numpy_sin.f32", n * half * sizeof(float));
    for (size_t i = 0; i < n * half; ++i) /* float64 both, rounded: equal up to one rounding */
        ck_assert_msg(fabsf(numpy_cos[i] - cos_table[i]) <= 0x1p-24f && fabsf(numpy_sin[i] - sin_table[i]) <= 0x1p-24f,
                      "RoPE entry %zu: NumPy %.9g %.9g, here %.9g %.9g", i, numpy_cos[i], numpy_sin[i], cos_table[i],
                      sin_table[i]);
    double *expected = read_raw(dir, "logits.f64", n * cfg.vocab * sizeof(double));
    double *logits = reference_logits(&w, sequence, n);
    assert_close(logits, expected, n * cfg.vocab, 1e-12, "NumPy");
    free(numpy_cos);
    free(numpy_sin);
    free(expected);
    free(logits);
    free_model(&w);
}
END_TEST

/* ---- tokenizer.json ------------------------------------------------------------------------ */

/* A fresh folder holding tokenizer.json with text (none when text is NULL). */
static void tokenizer_dir(char *dir, size_t size, const char *text)
{
    test_mkdtemp(dir, size, "tokenizer");
    if (text)
        write_raw(dir, "tokenizer.json", text, strlen(text));
}

static void load_ok(const char *text, clr_tokenizer *tok)
{
    char dir[512];
    tokenizer_dir(dir, sizeof dir, text);
    clr_error err = {0};
    ck_assert_msg(clr_tokenizer_load(dir, tok, &err) == CLR_OK, "%s", err.msg);
}

static void expect_decoded(const clr_tokenizer *tok, const int32_t *ids, size_t n, const char *expected)
{
    char *text = clr_tokenizer_decode(tok, ids, n);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, expected);
    free(text);
}

static void expect_malformed(const char *text, const char *needle)
{
    char dir[512];
    tokenizer_dir(dir, sizeof dir, text);
    clr_tokenizer tok;
    clr_error err = {0};
    ck_assert_msg(clr_tokenizer_load(dir, &tok, &err) == CLR_EUSAGE, "accepted: %s", text);
    ck_assert_msg(strstr(err.msg, "tokenizer.json") && strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
    ck_assert(tok.count == 0 && tok.pieces == NULL);
}

/* SmolLM2 / Llama 3 style: pieces in GPT-2's byte-to-character mapping. */
START_TEST(tokenizer_byte_level)
{
    static const char json[] =
        "{\"version\": \"1.0\", \"truncation\": null,\n"
        " \"added_tokens\": [{\"id\": 8, \"content\": \"<|end|>\", \"special\": true},\n"
        "                  {\"id\": 1, \"content\": \"<s>\", \"special\": true}],\n"
        " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false},\n"
        " \"decoder\": {\"type\": \"ByteLevel\"},\n"
        " \"model\": {\"type\": \"BPE\", \"merges\": [],\n"
        "           \"vocab\": {\"Hello\": 0, \"Ġ\": 1, \"ĠcafÃ©\": 2, \"!\": 3, \"Ċ\": 4,\n"
        "                     \"Ń\": 5, \"ł\": 6}}}";
    clr_tokenizer tok;
    load_ok(json, &tok);
    ck_assert_uint_eq(tok.count, 9);
    ck_assert_int_eq(tok.byte_level, 1);
    ck_assert_str_eq(tok.pieces[2], "ĠcafÃ©"); /* stored as written */
    ck_assert_str_eq(tok.pieces[1], "<s>");    /* the added token wins over "Ġ" */
    ck_assert_ptr_null(tok.pieces[7]);
    const int32_t ids[] = {1, 0, 2, 3, 4, 8};
    expect_decoded(&tok, ids, 6, "<s>Hello café!\n<|end|>");
    const int32_t odd[] = {5, 6, 7, 9, -1, 0};
    expect_decoded(&tok, odd, 6, "\xad\xa0<7><9><-1>Hello"); /* U+0143 is byte 173, U+0142 byte 160 */
    expect_decoded(&tok, ids, 0, "");
    clr_tokenizer_free(&tok);
    ck_assert(tok.count == 0 && tok.pieces == NULL);
    clr_tokenizer_free(&tok); /* twice: harmless */
}
END_TEST

/* ByteLevel only inside a Sequence, as Llama 3's pre-tokenizer (Split then ByteLevel). */
START_TEST(tokenizer_byte_level_in_sequence)
{
    static const char json[] =
        "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n"
        "    {\"type\": \"Split\", \"behavior\": \"Isolated\"}, {\"type\": \"ByteLevel\", \"use_regex\": false}]},\n"
        " \"decoder\": null, \"added_tokens\": [],\n"
        " \"model\": {\"type\": \"BPE\", \"vocab\": {\"Ġworld\": 0}}}";
    clr_tokenizer tok;
    load_ok(json, &tok);
    ck_assert_int_eq(tok.byte_level, 1);
    const int32_t ids[] = {0, 0};
    expect_decoded(&tok, ids, 2, " world world");
    clr_tokenizer_free(&tok);
    static const char decoders[] =
        "{\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Strip\"}, {\"type\": \"ByteLevel\"}]},\n"
        " \"model\": {\"vocab\": {\"Ġworld\": 0}}}";
    load_ok(decoders, &tok);
    ck_assert_int_eq(tok.byte_level, 1);
    clr_tokenizer_free(&tok);
}
END_TEST

/* Every byte through its character in GPT-2's bytes_to_unicode (the algorithm as GPT-2's
 * encoder.py writes it: the printable bytes first, the rest appended as 256 + n). */
START_TEST(tokenizer_every_byte)
{
    int chars[256], bytes[256], count = 0, extra = 0;
    for (int b = 33; b <= 126; ++b)
        bytes[count++] = b;
    for (int b = 161; b <= 172; ++b)
        bytes[count++] = b;
    for (int b = 174; b <= 255; ++b)
        bytes[count++] = b;
    for (int i = 0; i < count; ++i)
        chars[i] = bytes[i];
    for (int b = 0, listed = count; b < 256; ++b) {
        int seen = 0;
        for (int i = 0; i < listed; ++i)
            seen |= bytes[i] == b;
        if (!seen) {
            bytes[count] = b;
            chars[count++] = 256 + extra++;
        }
    }
    ck_assert_int_eq(count, 256);
    ck_assert_int_eq(extra, 68);
    clr_tokenizer tok = {0};
    tok.count = 256;
    tok.byte_level = 1;
    tok.pieces = calloc(256, sizeof *tok.pieces);
    ck_assert_ptr_nonnull(tok.pieces);
    for (int i = 0; i < 256; ++i) {
        char *piece = calloc(4, 1);
        ck_assert_ptr_nonnull(piece);
        if (chars[i] < 0x80) {
            piece[0] = (char)chars[i];
        } else {
            piece[0] = (char)(0xc0 | chars[i] >> 6);
            piece[1] = (char)(0x80 | (chars[i] & 0x3f));
        }
        tok.pieces[i] = piece;
    }
    for (int32_t i = 0; i < 256; ++i) {
        char *text = clr_tokenizer_decode(&tok, &i, 1);
        ck_assert_ptr_nonnull(text);
        ck_assert_msg((unsigned char)text[0] == bytes[i] && (bytes[i] == 0 || text[1] == '\0'),
                      "character U+%04X decoded to 0x%02x, not byte 0x%02x", chars[i], (unsigned char)text[0],
                      bytes[i]);
        free(text);
    }
    clr_tokenizer_free(&tok);
}
END_TEST

/* Llama 2 / TinyLlama style: U+2581 for spaces, <0xNN> byte-fallback pieces. */
START_TEST(tokenizer_sentencepiece)
{
    static const char json[] =
        "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\"}, {\"id\": 1, \"content\": \"<s>\"},\n"
        "                  {\"id\": 2, \"content\": \"</s>\"}],\n"
        " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"}]},\n"
        " \"pre_tokenizer\": null,\n"
        " \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\"}, {\"type\": \"ByteFallback\"},\n"
        "             {\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]},\n"
        " \"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2,\n"
        "           \"<0xE2>\": 3, \"<0x82>\": 4, \"<0xac>\": 5, \"▁Hello\": 6, \"▁world\": 7, \"!\": 8,\n"
        "           \"a▁b\": 9, \"<0xZZ>\": 10, \"<0x41\": 11, \"Ġx\": 12}}}";
    clr_tokenizer tok;
    load_ok(json, &tok);
    ck_assert_uint_eq(tok.count, 13);
    ck_assert_int_eq(tok.byte_level, 0);
    const int32_t ids[] = {1, 6, 7, 3, 4, 5, 8, 2};
    expect_decoded(&tok, ids, 8, "<s> Hello world€!</s>");
    const int32_t odd[] = {9, 10, 11, 12, 13};
    expect_decoded(&tok, odd, 5, "a b<0xZZ><0x41Ġx<13>");
    clr_tokenizer_free(&tok);
}
END_TEST

START_TEST(tokenizer_unigram)
{
    static const char json[] =
        "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 0,\n"
        "           \"vocab\": [[\"<unk>\", 0.0], [\"▁a\", -1.5], [\"b\", -2], [\"▁\", -3]]},\n"
        " \"added_tokens\": [{\"id\": 5, \"content\": \"<pad>\"}]}";
    clr_tokenizer tok;
    load_ok(json, &tok);
    ck_assert_uint_eq(tok.count, 6);
    const int32_t ids[] = {1, 2, 3, 1, 4, 5, 0};
    expect_decoded(&tok, ids, 7, " ab  a<4><pad><unk>");
    clr_tokenizer_free(&tok);
}
END_TEST

START_TEST(tokenizer_duplicates_and_size)
{
    /* Two pieces with one id: the first stays; an added token replaces it. */
    clr_tokenizer tok;
    load_ok("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"x\": 0, \"y\": 0, \"z\": 1}},"
            " \"added_tokens\": [{\"id\": 1, \"content\": \"[A]\"}, {\"id\": 1, \"content\": \"[B]\"}]}",
            &tok);
    ck_assert_uint_eq(tok.count, 2);
    ck_assert_str_eq(tok.pieces[0], "x");
    ck_assert_str_eq(tok.pieces[1], "[B]");
    /* Long outputs grow their buffer. */
    enum { N = 5000 };
    int32_t *ids = malloc(N * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t i = 0; i < N; ++i)
        ids[i] = (int32_t)(i % 3) - 1; /* -1, 0, 1 */
    char *text = clr_tokenizer_decode(&tok, ids, N);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), (size_t)(N / 3) * 8 + 4 + 1);
    ck_assert(!strncmp(text, "<-1>x[B]<-1>x[B]", 16));
    free(text);
    free(ids);
    clr_tokenizer_free(&tok);
    /* The largest id allowed, 2^24 - 1, sets the count. */
    load_ok("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 16777215}}}", &tok);
    ck_assert_uint_eq(tok.count, 16777216);
    ck_assert_str_eq(tok.pieces[16777215], "a");
    clr_tokenizer_free(&tok);
    /* An empty vocabulary. */
    load_ok("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", &tok);
    ck_assert(tok.count == 0 && tok.pieces == NULL);
    clr_tokenizer_free(&tok);
}
END_TEST

START_TEST(tokenizer_missing)
{
    clr_tokenizer tok;
    load_ok(NULL, &tok);
    ck_assert(tok.count == 0 && tok.pieces == NULL && tok.byte_level == 0);
    const int32_t ids[] = {3, 0};
    expect_decoded(&tok, ids, 2, "<3><0>");
    clr_tokenizer_free(&tok);
    clr_error err = {0};
    ck_assert_int_eq(clr_tokenizer_load("/nonexistent-clrepro-dir", &tok, &err), CLR_OK);
    ck_assert_uint_eq(tok.count, 0);
    clr_tokenizer zeroed = {0};
    clr_tokenizer_free(&zeroed);
}
END_TEST

START_TEST(tokenizer_malformed)
{
    expect_malformed("{\"model\": ", "not valid JSON");
    expect_malformed("", "not valid JSON");
    expect_malformed("[1, 2]", "not a JSON object");
    expect_malformed("{\"model\": [1]}", "\"model\" is missing or not an object");
    expect_malformed("{\"added_tokens\": []}", "\"model\" is missing");
    expect_malformed("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}}}", "id -1");
    expect_malformed("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 16777216}}}", "id 16777216");
    expect_malformed("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1.0}}}", "not an integer");
    expect_malformed("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"1\"}}}", "not an integer");
    expect_malformed("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"a\": 1}}}", "duplicate");
    expect_malformed("{\"model\": {\"type\": \"BPE\", \"vocab\": [[\"a\", 0]]}}", "model.vocab");
    expect_malformed("{\"model\": {\"type\": \"BPE\"}}", "model.vocab is missing");
    expect_malformed("{\"model\": {\"type\": \"Unigram\", \"vocab\": {\"a\": 0}}}", "[piece, score]");
    expect_malformed("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0], 5]}}", "model.vocab[1]");
    expect_malformed("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[1, 0]]}}", "model.vocab[0]");
    expect_malformed("{\"model\": {\"type\": \"Magic\", \"vocab\": {}}}", "Magic");
    expect_malformed("{\"model\": {\"type\": 7, \"vocab\": {}}}", "model.type");
    expect_malformed("{\"model\": {\"vocab\": {}}, \"added_tokens\": {}}", "added_tokens");
    expect_malformed("{\"model\": {\"vocab\": {}}, \"added_tokens\": [{\"id\": -5, \"content\": \"x\"}]}", "id -5");
    expect_malformed("{\"model\": {\"vocab\": {}}, \"added_tokens\": [{\"id\": 5}]}", "added_tokens[0]");
    expect_malformed("{\"model\": {\"vocab\": {\"a\": 0}}, \"added_tokens\": [{\"content\": \"x\"}]}",
                     "not an integer");
    /* A directory where the file should be. */
    char dir[512], path[600];
    tokenizer_dir(dir, sizeof dir, NULL);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    clr_tokenizer tok;
    clr_error err = {0};
    ck_assert_int_eq(clr_tokenizer_load(dir, &tok, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "directory") != NULL, "%s", err.msg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("llama_ref");
    TCase *rope = tcase_create("rope");
    tcase_add_test(rope, rope_plain);
    tcase_add_test(rope, rope_llama3);
    tcase_add_test(rope, rope_llama32_bands);
    tcase_set_timeout(rope, 60);
    suite_add_tcase(s, rope);
    TCase *reference = tcase_create("reference");
    tcase_add_test(reference, reference_matches_prefill);
    tcase_add_test(reference, reference_is_causal);
    tcase_add_test(reference, reference_refusals);
    tcase_add_test(reference, reference_matches_numpy);
    tcase_set_timeout(reference, 60);
    suite_add_tcase(s, reference);
    TCase *tokenizer = tcase_create("tokenizer");
    tcase_add_test(tokenizer, tokenizer_byte_level);
    tcase_add_test(tokenizer, tokenizer_byte_level_in_sequence);
    tcase_add_test(tokenizer, tokenizer_every_byte);
    tcase_add_test(tokenizer, tokenizer_sentencepiece);
    tcase_add_test(tokenizer, tokenizer_unigram);
    tcase_add_test(tokenizer, tokenizer_duplicates_and_size);
    tcase_add_test(tokenizer, tokenizer_missing);
    tcase_add_test(tokenizer, tokenizer_malformed);
    tcase_set_timeout(tokenizer, 60);
    suite_add_tcase(s, tokenizer);
    return clr_run_suite(s);
}
