/* llama_ref.c: the host side of Llama decoding that needs no device: the RoPE table the engine
 * (src/decode.c) uploads, the float64 forward pass the tests hold the engine to, and the
 * vocabulary of tokenizer.json for showing ids as text.
 *
 * RoPE, as Hugging Face transformers' Llama computes it (the rotate_half convention). For a
 * head of head_dim values, half = head_dim / 2 and pair i < half:
 *   inv_freq[i] = 1 / theta^(2i / head_dim)
 * With rope_scaling llama3 (Llama 3.1/3.2), transformers' _compute_llama3_parameters:
 *   wavelen           = 2 pi / inv_freq[i]
 *   low_freq_wavelen  = original_max_pos / low_freq_factor
 *   high_freq_wavelen = original_max_pos / high_freq_factor
 *   wavelen > low_freq_wavelen:  inv_freq[i] / factor
 *   wavelen < high_freq_wavelen: inv_freq[i], unchanged
 *   otherwise: smooth = (original_max_pos / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
 *              and (1 - smooth) * inv_freq[i] / factor + smooth * inv_freq[i]
 * The angle at position p is p * inv_freq[i]. All of this is in double; cos and sin of the angle
 * are then rounded to float, at [p * half + i]. Applied to a head vector x (of q or of k):
 *   out[i]        = x[i] * cos - x[i + half] * sin
 *   out[i + half] = x[i + half] * cos + x[i] * sin
 * The engine's kernel does exactly this in float; the reference here in double, on the same
 * float table widened, so that both use the same angles.
 *
 * The reference is LlamaForCausalLM's forward pass in double, one position at a time with a
 * key/value cache (the way the engine decodes): rmsnorm, q/k/v projections, RoPE, grouped-query
 * attention (query head h reads kv head h / (heads / kv_heads)), the output projection and the
 * residual, rmsnorm, the SiLU-gated MLP and the residual, then the final norm and lm_head.
 *
 * The tokenizer: model.vocab of tokenizer.json ({piece: id} for BPE, WordPiece and WordLevel, a
 * list of [piece, score] for Unigram) and its added_tokens, which win over the vocabulary where
 * both name an id (an id the vocabulary names twice keeps its first piece; one added twice, its
 * last). Ids are integers from 0 to 2^24 - 1; a file over 512 MiB is refused. Decoding undoes
 * GPT-2's byte-to-character mapping when the decoder or the pre-tokenizer is ByteLevel, and
 * otherwise SentencePiece's conventions (U+2581 for a space, <0xNN> for a byte). */
#include "llama.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BAD(...) clr_fail(err, CLR_EUSAGE, __VA_ARGS__)
#define PI 3.14159265358979323846
#define MAX_TOKENIZER_BYTES ((size_t)512 << 20)
#define MAX_TOKEN_ID ((int64_t)1 << 24)

/* ---- RoPE ---------------------------------------------------------------------------------- */

/* The rotation frequency of pair i, llama3 scaling included. */
static double rope_inv_freq(const clr_llama_config *cfg, size_t i)
{
    double inv_freq = 1.0 / pow(cfg->rope_theta, (double)(2 * i) / (double)cfg->head_dim);
    if (!cfg->rope_llama3)
        return inv_freq;
    double original = (double)cfg->rope_original_max_pos;
    double wavelen = 2.0 * PI / inv_freq;
    double low_freq_wavelen = original / cfg->rope_low_freq;
    double high_freq_wavelen = original / cfg->rope_high_freq;
    if (wavelen > low_freq_wavelen)
        return inv_freq / cfg->rope_factor;
    if (wavelen < high_freq_wavelen)
        return inv_freq;
    double smooth = (original / wavelen - cfg->rope_low_freq) / (cfg->rope_high_freq - cfg->rope_low_freq);
    return (1.0 - smooth) * inv_freq / cfg->rope_factor + smooth * inv_freq;
}

void clr_llama_rope_table(const clr_llama_config *cfg, size_t positions, float *cos_out, float *sin_out)
{
    size_t half = cfg->head_dim / 2;
    for (size_t i = 0; i < half; ++i) {
        double inv_freq = rope_inv_freq(cfg, i);
        for (size_t p = 0; p < positions; ++p) {
            double angle = (double)p * inv_freq;
            cos_out[p * half + i] = (float)cos(angle);
            sin_out[p * half + i] = (float)sin(angle);
        }
    }
}

/* Rotates one head vector x[2 * half] in place by the angles of one position. */
static void rope_apply(double *x, const float *cos_row, const float *sin_row, size_t half)
{
    for (size_t i = 0; i < half; ++i) {
        double c = cos_row[i], s = sin_row[i];
        double lo = x[i], hi = x[i + half];
        x[i] = lo * c - hi * s;
        x[i + half] = hi * c + lo * s;
    }
}

/* ---- The float64 forward pass -------------------------------------------------------------- */

/* Everything one forward pass needs besides the weights. */
typedef struct ref_work {
    size_t n, q_dim, kv_dim, half;
    double *h, *x, *o;         /* [dim]: the residual stream, its normed copy, a block's output */
    double *q, *attn;          /* [q_dim] */
    double *k, *v;             /* [kv_dim] */
    double *gate, *up;         /* [hidden] */
    double *scores;            /* [n] */
    double *k_cache, *v_cache; /* [layers][n][kv_dim] */
    float *cos, *sin;          /* [n][half] */
} ref_work;

static void ref_work_free(ref_work *w)
{
    double *doubles[] = {w->h, w->x, w->o, w->q, w->attn, w->k, w->v, w->gate, w->up, w->scores, w->k_cache,
                         w->v_cache};
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; ++i)
        free(doubles[i]);
    free(w->cos);
    free(w->sin);
    memset(w, 0, sizeof *w);
}

static double *alloc_doubles(size_t count, const char *what, clr_error *err)
{
    size_t bytes;
    if (clr_size_mul(count, sizeof(double), &bytes)) {
        clr_fail(err, CLR_EUSAGE, "reference forward pass: %s does not fit in memory", what);
        return NULL;
    }
    return clr_malloc(bytes, what, err);
}

/* The shape makes sense and every weight matrix's element count fits in size_t. */
static int check_shape(const clr_llama_config *cfg, clr_error *err)
{
    if (!cfg->dim || !cfg->layers || !cfg->heads || !cfg->kv_heads || !cfg->head_dim || !cfg->hidden || !cfg->vocab)
        return BAD("reference forward pass: the model has a zero size (dim %zu, layers %zu, heads %zu, kv heads %zu, "
                   "head_dim %zu, hidden %zu, vocab %zu)",
                   cfg->dim, cfg->layers, cfg->heads, cfg->kv_heads, cfg->head_dim, cfg->hidden, cfg->vocab);
    if (cfg->head_dim % 2 || cfg->heads % cfg->kv_heads)
        return BAD("reference forward pass: head_dim %zu must be even and kv heads %zu must divide heads %zu",
                   cfg->head_dim, cfg->kv_heads, cfg->heads);
    size_t q_dim, elements;
    if (clr_size_mul(cfg->heads, cfg->head_dim, &q_dim) || clr_size_mul(q_dim, cfg->dim, &elements) ||
        clr_size_mul(cfg->hidden, cfg->dim, &elements) || clr_size_mul(cfg->vocab, cfg->dim, &elements))
        return BAD("reference forward pass: the model's sizes overflow");
    return CLR_OK;
}

static int ref_work_alloc(const clr_llama_config *cfg, size_t n, ref_work *w, clr_error *err)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->half = cfg->head_dim / 2;
    size_t cache, table, table_bytes;
    if (clr_size_mul(cfg->heads, cfg->head_dim, &w->q_dim) || clr_size_mul(cfg->kv_heads, cfg->head_dim, &w->kv_dim) ||
        clr_size_mul(cfg->layers, n, &cache) || clr_size_mul(cache, w->kv_dim, &cache) ||
        clr_size_mul(n, w->half, &table) || clr_size_mul(table, sizeof(float), &table_bytes))
        return BAD("reference forward pass: the key/value cache of %zu positions does not fit in memory", n);
    if (!(w->h = alloc_doubles(cfg->dim, "the reference's residual stream", err)) ||
        !(w->x = alloc_doubles(cfg->dim, "the reference's normed activations", err)) ||
        !(w->o = alloc_doubles(cfg->dim, "the reference's block output", err)) ||
        !(w->q = alloc_doubles(w->q_dim, "the reference's queries", err)) ||
        !(w->attn = alloc_doubles(w->q_dim, "the reference's attention output", err)) ||
        !(w->k = alloc_doubles(w->kv_dim, "the reference's keys", err)) ||
        !(w->v = alloc_doubles(w->kv_dim, "the reference's values", err)) ||
        !(w->gate = alloc_doubles(cfg->hidden, "the reference's MLP gate", err)) ||
        !(w->up = alloc_doubles(cfg->hidden, "the reference's MLP up projection", err)) ||
        !(w->scores = alloc_doubles(n, "the reference's attention scores", err)) ||
        !(w->k_cache = alloc_doubles(cache, "the reference's key cache", err)) ||
        !(w->v_cache = alloc_doubles(cache, "the reference's value cache", err)) ||
        !(w->cos = clr_malloc(table_bytes, "the reference's RoPE table", err)) ||
        !(w->sin = clr_malloc(table_bytes, "the reference's RoPE table", err))) {
        ref_work_free(w);
        return CLR_EUSAGE; /* clr_malloc's code */
    }
    return CLR_OK;
}

/* y = W x for W [rows][cols] row-major float, in double. */
static void matvec(const float *weight, const double *x, size_t rows, size_t cols, double *y)
{
    for (size_t r = 0; r < rows; ++r) {
        const float *row = weight + r * cols;
        double sum = 0.0;
        for (size_t c = 0; c < cols; ++c)
            sum += (double)row[c] * x[c];
        y[r] = sum;
    }
}

/* out = h / sqrt(mean(h^2) + eps) * weight. */
static void rmsnorm(const double *h, const float *weight, size_t dim, double eps, double *out)
{
    double squares = 0.0;
    for (size_t i = 0; i < dim; ++i)
        squares += h[i] * h[i];
    double scale = 1.0 / sqrt(squares / (double)dim + eps);
    for (size_t i = 0; i < dim; ++i)
        out[i] = h[i] * scale * (double)weight[i];
}

/* w->attn = softmax(q k^T / sqrt(head_dim)) v per query head, over positions 0..t of the cache
 * of one layer. */
static void attend(const clr_llama_config *cfg, ref_work *w, size_t layer, size_t t)
{
    size_t hd = cfg->head_dim, group = cfg->heads / cfg->kv_heads;
    const double *keys = w->k_cache + layer * w->n * w->kv_dim;
    const double *values = w->v_cache + layer * w->n * w->kv_dim;
    double scale = 1.0 / sqrt((double)hd);
    for (size_t head = 0; head < cfg->heads; ++head) {
        const double *q = w->q + head * hd;
        size_t kv_offset = (head / group) * hd;
        double largest = -INFINITY;
        for (size_t s = 0; s <= t; ++s) {
            const double *k = keys + s * w->kv_dim + kv_offset;
            double dot = 0.0;
            for (size_t d = 0; d < hd; ++d)
                dot += q[d] * k[d];
            w->scores[s] = dot * scale;
            largest = fmax(largest, w->scores[s]);
        }
        double total = 0.0;
        for (size_t s = 0; s <= t; ++s) {
            w->scores[s] = exp(w->scores[s] - largest);
            total += w->scores[s];
        }
        double *out = w->attn + head * hd;
        for (size_t d = 0; d < hd; ++d)
            out[d] = 0.0;
        for (size_t s = 0; s <= t; ++s) {
            const double *v = values + s * w->kv_dim + kv_offset;
            double p = w->scores[s] / total;
            for (size_t d = 0; d < hd; ++d)
                out[d] += p * v[d];
        }
    }
}

/* The attention block of one layer at position t: h += Wo attention(rope(Wq x), rope(Wk x), Wv x). */
static void attention_block(const clr_llama_weights *model, const clr_llama_layer *layer, size_t l, size_t t,
                            ref_work *w)
{
    const clr_llama_config *cfg = &model->cfg;
    size_t hd = cfg->head_dim;
    rmsnorm(w->h, layer->attn_norm, cfg->dim, cfg->rms_eps, w->x);
    matvec(layer->wq, w->x, w->q_dim, cfg->dim, w->q);
    matvec(layer->wk, w->x, w->kv_dim, cfg->dim, w->k);
    matvec(layer->wv, w->x, w->kv_dim, cfg->dim, w->v);
    const float *cos_row = w->cos + t * w->half, *sin_row = w->sin + t * w->half;
    for (size_t head = 0; head < cfg->heads; ++head)
        rope_apply(w->q + head * hd, cos_row, sin_row, w->half);
    for (size_t head = 0; head < cfg->kv_heads; ++head)
        rope_apply(w->k + head * hd, cos_row, sin_row, w->half);
    size_t slot = (l * w->n + t) * w->kv_dim;
    memcpy(w->k_cache + slot, w->k, w->kv_dim * sizeof(double));
    memcpy(w->v_cache + slot, w->v, w->kv_dim * sizeof(double));
    attend(cfg, w, l, t);
    matvec(layer->wo, w->attn, cfg->dim, w->q_dim, w->o);
    for (size_t i = 0; i < cfg->dim; ++i)
        w->h[i] += w->o[i];
}

/* The MLP block of one layer: h += Wdown (silu(Wgate x) * Wup x). */
static void mlp_block(const clr_llama_config *cfg, const clr_llama_layer *layer, ref_work *w)
{
    rmsnorm(w->h, layer->ffn_norm, cfg->dim, cfg->rms_eps, w->x);
    matvec(layer->w_gate, w->x, cfg->hidden, cfg->dim, w->gate);
    matvec(layer->w_up, w->x, cfg->hidden, cfg->dim, w->up);
    for (size_t j = 0; j < cfg->hidden; ++j) {
        double g = w->gate[j];
        w->gate[j] = g / (1.0 + exp(-g)) * w->up[j];
    }
    matvec(layer->w_down, w->gate, cfg->dim, cfg->hidden, w->o);
    for (size_t i = 0; i < cfg->dim; ++i)
        w->h[i] += w->o[i];
}

static int check_tokens(const clr_llama_config *cfg, const int32_t *tokens, size_t n, clr_error *err)
{
    if (n == 0)
        return BAD("reference forward pass: no tokens");
    if (n > cfg->max_pos)
        return BAD("reference forward pass: %zu tokens are more than max_position_embeddings (%zu)", n, cfg->max_pos);
    for (size_t t = 0; t < n; ++t)
        if (tokens[t] < 0 || (uint64_t)tokens[t] >= cfg->vocab)
            return BAD("reference forward pass: the token at position %zu is id %" PRId32
                       ", outside the vocabulary (ids 0 to %zu)",
                       t, tokens[t], cfg->vocab - 1);
    return CLR_OK;
}

int clr_llama_reference(const clr_llama_weights *model, const int32_t *tokens, size_t n, double *logits,
                        clr_error *err)
{
    const clr_llama_config *cfg = &model->cfg;
    ref_work w;
    int rc = check_shape(cfg, err);
    if (!rc)
        rc = check_tokens(cfg, tokens, n, err);
    if (!rc)
        rc = ref_work_alloc(cfg, n, &w, err);
    if (rc)
        return rc;
    clr_llama_rope_table(cfg, n, w.cos, w.sin);
    for (size_t t = 0; t < n; ++t) {
        const float *row = model->embed + (size_t)tokens[t] * cfg->dim;
        for (size_t i = 0; i < cfg->dim; ++i)
            w.h[i] = row[i];
        for (size_t l = 0; l < cfg->layers; ++l) {
            attention_block(model, &model->layer[l], l, t, &w);
            mlp_block(cfg, &model->layer[l], &w);
        }
        rmsnorm(w.h, model->final_norm, cfg->dim, cfg->rms_eps, w.x);
        matvec(model->lm_head, w.x, cfg->vocab, cfg->dim, logits + t * cfg->vocab);
    }
    ref_work_free(&w);
    return CLR_OK;
}

/* ---- tokenizer.json ------------------------------------------------------------------------ */

/* Reads path whole (at most MAX_TOKENIZER_BYTES) into *text; *missing when there is no such file. */
static int read_tokenizer_file(const char *path, char **text, size_t *len, int *missing, clr_error *err)
{
    *text = NULL;
    *len = 0;
    *missing = 0;
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode) && !S_ISDIR(pre.st_mode)) /* a FIFO would block the read */
        return clr_fail(err, CLR_EUSAGE, "%s: not a regular file; remove it, or give a tokenizer.json file", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            *missing = 1;
            return CLR_OK;
        }
        return BAD("cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    int rc = CLR_OK;
    if (fstat(fileno(f), &st) != 0)
        rc = BAD("cannot stat %s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = BAD("%s is a directory, not a tokenizer file", path);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > MAX_TOKENIZER_BYTES)
        rc = BAD("%s: larger than %zu bytes; refused as a tokenizer file", path, MAX_TOKENIZER_BYTES);
    size_t cap = 0;
    while (!rc) {
        if (*len == cap) {
            cap = cap ? cap * 2 : (size_t)1 << 20;
            char *grown = cap <= MAX_TOKENIZER_BYTES * 2 ? realloc(*text, cap) : NULL;
            if (!grown) {
                rc = BAD("%s: out of host memory reading it", path);
                break;
            }
            *text = grown;
        }
        size_t got = fread(*text + *len, 1, cap - *len, f);
        *len += got;
        if (*len > MAX_TOKENIZER_BYTES)
            rc = BAD("%s: larger than %zu bytes; refused as a tokenizer file", path, MAX_TOKENIZER_BYTES);
        else if (got == 0)
            break;
    }
    if (!rc && ferror(f))
        rc = BAD("error reading %s: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* One pass over the file's (id, piece) pairs: the first (pieces NULL) validates them and finds
 * the largest id; the second stores them. */
typedef struct vocab_pass {
    const char *path;
    char **pieces;
    int64_t largest;
} vocab_pass;

static int read_id(const vocab_pass *pass, const json_t *value, const char *what, const char *piece, int64_t *id,
                   clr_error *err)
{
    if (!json_is_integer(value))
        return BAD("%s: %s \"%.80s\" has an id that is not an integer", pass->path, what, piece);
    json_int_t v = json_integer_value(value);
    if (v < 0 || v >= MAX_TOKEN_ID)
        return BAD("%s: %s \"%.80s\" has id %" JSON_INTEGER_FORMAT ", outside 0 to %" PRId64, pass->path, what, piece,
                   v, MAX_TOKEN_ID - 1);
    *id = v;
    return CLR_OK;
}

/* Records piece as the text of id. A vocabulary entry keeps the first piece given an id; an added
 * token replaces whatever was there. */
static int note_piece(vocab_pass *pass, int64_t id, const char *piece, int added, clr_error *err)
{
    if (id > pass->largest)
        pass->largest = id;
    if (!pass->pieces || (pass->pieces[id] && !added))
        return CLR_OK;
    char *copy = clr_strdup(piece);
    if (!copy)
        return BAD("%s: out of host memory storing the vocabulary", pass->path);
    free(pass->pieces[id]);
    pass->pieces[id] = copy;
    return CLR_OK;
}

/* {piece: id}: BPE, WordPiece, WordLevel. */
static int visit_vocab_dict(vocab_pass *pass, const json_t *vocab, clr_error *err)
{
    const char *piece;
    json_t *value;
    json_object_foreach((json_t *)vocab, piece, value) {
        int64_t id = 0;
        int rc = read_id(pass, value, "vocabulary piece", piece, &id, err);
        if (!rc)
            rc = note_piece(pass, id, piece, 0, err);
        if (rc)
            return rc;
    }
    return CLR_OK;
}

/* [[piece, score], ...]: Unigram; the id is the index. */
static int visit_vocab_list(vocab_pass *pass, const json_t *vocab, clr_error *err)
{
    size_t index;
    json_t *item;
    json_array_foreach(vocab, index, item) {
        const char *piece = json_string_value(json_array_get(item, 0));
        if (!json_is_array(item) || !piece)
            return BAD("%s: model.vocab[%zu] is not a [piece, score] pair", pass->path, index);
        if ((uint64_t)index >= (uint64_t)MAX_TOKEN_ID)
            return BAD("%s: model.vocab has more than %" PRId64 " pieces", pass->path, MAX_TOKEN_ID);
        int rc = note_piece(pass, (int64_t)index, piece, 0, err);
        if (rc)
            return rc;
    }
    return CLR_OK;
}

static int visit_added_tokens(vocab_pass *pass, const json_t *added, clr_error *err)
{
    size_t index;
    json_t *item;
    json_array_foreach(added, index, item) {
        const char *content = json_string_value(json_object_get(item, "content"));
        if (!json_is_object(item) || !content)
            return BAD("%s: added_tokens[%zu] is not an object with a string \"content\"", pass->path, index);
        int64_t id = 0;
        int rc = read_id(pass, json_object_get(item, "id"), "added token", content, &id, err);
        if (!rc)
            rc = note_piece(pass, id, content, 1, err);
        if (rc)
            return rc;
    }
    return CLR_OK;
}

/* model.vocab, and whether it is Unigram's list rather than a {piece: id} object. */
static int model_vocab(const json_t *model, const char *path, const json_t **vocab, int *is_list, clr_error *err)
{
    const json_t *type_value = json_object_get(model, "type");
    const char *type = json_string_value(type_value);
    if (type_value && !type)
        return BAD("%s: model.type is not a string", path);
    if (type && strcmp(type, "Unigram") && strcmp(type, "BPE") && strcmp(type, "WordPiece") &&
        strcmp(type, "WordLevel"))
        return BAD("%s: model.type \"%.80s\" is not BPE, WordPiece, WordLevel or Unigram", path, type);
    *vocab = json_object_get(model, "vocab");
    /* Without a type, the vocabulary's own shape says which it is. */
    *is_list = type ? !strcmp(type, "Unigram") : json_is_array(*vocab);
    if (*is_list ? !json_is_array(*vocab) : !json_is_object(*vocab))
        return BAD("%s: model.vocab is missing or not %s", path,
                   *is_list ? "a list of [piece, score] pairs" : "an object of piece: id");
    return CLR_OK;
}

/* Whether a decoder or pre-tokenizer is ByteLevel, or a Sequence (items under list_key) holding one. */
static int is_byte_level(const json_t *component, const char *list_key)
{
    const char *type = json_string_value(json_object_get(component, "type"));
    if (!type)
        return 0;
    if (!strcmp(type, "ByteLevel"))
        return 1;
    if (strcmp(type, "Sequence"))
        return 0;
    size_t index;
    json_t *item;
    json_array_foreach(json_object_get(component, list_key), index, item) {
        if (is_byte_level(item, list_key))
            return 1;
    }
    return 0;
}

static int read_tokenizer(const json_t *root, const char *path, clr_tokenizer *tok, clr_error *err)
{
    if (!json_is_object(root))
        return BAD("%s: not a JSON object", path);
    const json_t *model = json_object_get(root, "model");
    if (!json_is_object(model))
        return BAD("%s: \"model\" is missing or not an object", path);
    const json_t *vocab;
    int is_list = 0;
    int rc = model_vocab(model, path, &vocab, &is_list, err);
    if (rc)
        return rc;
    const json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_array(added) && !json_is_null(added))
        return BAD("%s: added_tokens is not a list", path);
    vocab_pass pass = {path, NULL, -1};
    for (int store = 0; store < 2; ++store) {
        if (store && pass.largest >= 0) {
            pass.pieces = clr_calloc((size_t)pass.largest + 1, sizeof(char *), "the vocabulary of tokenizer.json", err);
            if (!pass.pieces)
                return CLR_EUSAGE;
            tok->pieces = pass.pieces;
            tok->count = (size_t)pass.largest + 1;
        }
        rc = is_list ? visit_vocab_list(&pass, vocab, err) : visit_vocab_dict(&pass, vocab, err);
        if (!rc)
            rc = visit_added_tokens(&pass, added, err);
        if (rc)
            return rc;
    }
    tok->byte_level = is_byte_level(json_object_get(root, "decoder"), "decoders") ||
                      is_byte_level(json_object_get(root, "pre_tokenizer"), "pretokenizers");
    return CLR_OK;
}

int clr_tokenizer_load(const char *dir, clr_tokenizer *tok, clr_error *err)
{
    memset(tok, 0, sizeof *tok);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/tokenizer.json", dir) >= sizeof path)
        return BAD("checkpoint directory name too long: %.200s...", dir);
    char *text;
    size_t len;
    int missing;
    int rc = read_tokenizer_file(path, &text, &len, &missing, err);
    if (rc || missing)
        return rc;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root)
        return BAD("%s: not valid JSON (line %d, column %d: %s)", path, jerr.line, jerr.column, jerr.text);
    rc = read_tokenizer(root, path, tok, err);
    json_decref(root);
    if (rc)
        clr_tokenizer_free(tok);
    return rc;
}

void clr_tokenizer_free(clr_tokenizer *tok)
{
    if (tok->pieces)
        for (size_t i = 0; i < tok->count; ++i)
            free(tok->pieces[i]);
    free(tok->pieces);
    memset(tok, 0, sizeof *tok);
}

/* ---- Decoding ------------------------------------------------------------------------------ */

/* A growing NUL-terminated byte string; failed once an allocation failed. */
typedef struct text_buf {
    char *data;
    size_t len, cap;
    int failed;
} text_buf;

static void put_bytes(text_buf *b, const void *bytes, size_t n)
{
    size_t need;
    if (b->failed || clr_size_add(b->len, n, &need) || clr_size_add(need, 1, &need)) {
        b->failed = 1;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
            if (clr_size_mul(cap, 2, &cap))
                cap = need;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* GPT-2's bytes_to_unicode, inverted: the byte behind code point cp < 324, or -1. Printable
 * bytes (33-126, 161-172, 174-255) stand for themselves; the other 68, in order, are 256 + k. */
static void byte_level_inverse(int16_t inverse[324])
{
    for (int cp = 0; cp < 324; ++cp)
        inverse[cp] = -1;
    int extra = 0;
    for (int byte = 0; byte < 256; ++byte) {
        int printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
        inverse[printable ? byte : 256 + extra++] = (int16_t)byte;
    }
}

/* The code point of the well-formed UTF-8 character of len bytes at s. */
static uint32_t utf8_code_point(const unsigned char *s, size_t len)
{
    if (len == 1)
        return s[0];
    uint32_t cp = s[0] & (0x7fu >> len);
    for (size_t k = 1; k < len; ++k)
        cp = cp << 6 | (s[k] & 0x3fu);
    return cp;
}

/* Each character of piece back to its byte; characters outside the mapping (and bytes that are
 * not UTF-8) as they are. */
static void put_byte_level(text_buf *b, const char *piece, const int16_t inverse[324])
{
    const unsigned char *s = (const unsigned char *)piece;
    while (*s) {
        size_t len = clr_utf8_char(s);
        if (len == 0) {
            put_bytes(b, s++, 1);
            continue;
        }
        uint32_t cp = utf8_code_point(s, len);
        if (cp < 324 && inverse[cp] >= 0) {
            unsigned char byte = (unsigned char)inverse[cp];
            put_bytes(b, &byte, 1);
        } else {
            put_bytes(b, s, len);
        }
        s += len;
    }
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* SentencePiece: <0xNN> is byte NN; U+2581 is a space. */
static void put_sentencepiece(text_buf *b, const char *piece)
{
    if (strlen(piece) == 6 && !strncmp(piece, "<0x", 3) && piece[5] == '>' && hex_digit(piece[3]) >= 0 &&
        hex_digit(piece[4]) >= 0) {
        unsigned char byte = (unsigned char)(hex_digit(piece[3]) << 4 | hex_digit(piece[4]));
        put_bytes(b, &byte, 1);
        return;
    }
    static const char space_mark[] = "\xe2\x96\x81";
    for (const char *at; (at = strstr(piece, space_mark)) != NULL; piece = at + 3) {
        put_bytes(b, piece, (size_t)(at - piece));
        put_bytes(b, " ", 1);
    }
    put_bytes(b, piece, strlen(piece));
}

char *clr_tokenizer_decode(const clr_tokenizer *tok, const int32_t *ids, size_t n)
{
    text_buf b = {0};
    int16_t inverse[324];
    byte_level_inverse(inverse);
    put_bytes(&b, "", 0);
    for (size_t k = 0; k < n; ++k) {
        int32_t id = ids[k];
        const char *piece = id >= 0 && (uint64_t)id < tok->count ? tok->pieces[id] : NULL;
        if (!piece) {
            char unknown[24];
            snprintf(unknown, sizeof unknown, "<%" PRId32 ">", id);
            put_bytes(&b, unknown, strlen(unknown));
        } else if (tok->byte_level) {
            put_byte_level(&b, piece, inverse);
        } else {
            put_sentencepiece(&b, piece);
        }
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}
