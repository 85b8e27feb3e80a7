/* llama.c: a Llama checkpoint in Hugging Face's layout, read and written on the host: the
 * config.json parser (LlamaConfig's fields and defaults; anything the engine does not implement
 * is refused by name), the safetensors reader (one file, or shards listed by
 * model.safetensors.index.json; F32, BF16 and F16 widened to float32 through a read-only
 * mapping), and the synthetic checkpoint writer. The files are untrusted: every length, offset,
 * shape and name is checked before it is used, and a failed load frees everything.
 *
 * The synthetic checkpoint. Tensor k (embed_tokens 0, model.norm 1, lm_head 2, then layer i's
 * tensors 3 + 9 i + j in the order input_layernorm, q_proj, k_proj, v_proj, o_proj,
 * post_attention_layernorm, gate_proj, up_proj, down_proj) has, at row r and column c (a 1-D
 * tensor is row 0), the value derived from
 *     u = clr_gen(seed, CLR_DIST_UNIFORM, clr_hash(0, SYNTH_STREAM, k, r), c)   (uniform [-1, 1))
 * as (float)(scale * u) for matrices, scale = sqrt(3 / fan_in) with fan_in the number of
 * columns (y = W x): u has variance 1/3, so each output of a matrix has variance 1 when its
 * input's elements have variance 1, as a trained model roughly keeps its activations; the
 * embedding the same way (fan_in = dim: embedded tokens of RMS 1/sqrt(dim), 0.022 at dim 2048,
 * as trained Llamas' embeddings are about 0.02), so that tied embeddings give logits of
 * variance 1 as an untied lm_head does; the RMSNorm weights as (float)(1 + 0.1 u), near one as
 * in trained models. The scaling decides how far apart the top logits are: the normalised
 * final state gives logits of variance about 1, so among 32000 of them the top two are
 * typically a few tenths apart (ties and near ties occur, which is what decoding's
 * reproducibility is about). BF16 checkpoints hold those values rounded to nearest-even
 * bfloat16. */
#include "llama.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "atomic_file.h"
#include "data.h"
#include "op.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "llama.c reads and writes safetensors' little-endian values in place: a little-endian host is needed"
#endif

#define BAD(...) clr_fail(err, CLR_EUSAGE, __VA_ARGS__)
#define MAX_ELEMENTS (1ull << 40)           /* per product of sizes in a config */
#define MAX_HEADER ((uint64_t)100 << 20)    /* a safetensors header, as the format's reader allows */
#define MAX_INDEX ((off_t)100 << 20)        /* model.safetensors.index.json */
#define SYNTH_STREAM 0x6c6c616d61ull        /* "llama": the synthetic weights' rows */
#define PATH_BYTES 4352

const char *clr_weight_dtype_name(clr_weight_dtype t)
{
    switch (t) {
    case CLR_W_BF16: return "BF16";
    case CLR_W_F16: return "F16";
    case CLR_W_F32: break;
    }
    return "F32";
}

/* ---- The tensors a config implies ---- */

enum slot {
    SLOT_EMBED, SLOT_FINAL_NORM, SLOT_LM_HEAD,
    SLOT_ATTN_NORM, SLOT_WQ, SLOT_WK, SLOT_WV, SLOT_WO, SLOT_FFN_NORM, SLOT_GATE, SLOT_UP, SLOT_DOWN,
};
#define LAYER_TENSORS 9

typedef struct tensor_spec {
    char name[96];
    enum slot slot;
    size_t layer;
    size_t rows, cols; /* a 1-D tensor: rows 1 */
    int ndim;
    uint64_t id; /* the synthetic weights' stream */
} tensor_spec;

/* Element counts of a config's tensors, checked. */
typedef struct model_sizes {
    size_t embed, q, kv, mlp, per_layer, total;
} model_sizes;

/* Tensors in checkpoint order: embed_tokens, the layers, model.norm, lm_head (counted when
 * untied only). */
static size_t tensor_count(const clr_llama_config *c)
{
    return 2 + LAYER_TENSORS * c->layers + (c->tie_embeddings ? 0 : 1);
}

static void tensor_at(const clr_llama_config *c, size_t t, tensor_spec *s)
{
    static const char *const layer_names[LAYER_TENSORS] = {
        "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
    };
    size_t q_rows = c->heads * c->head_dim, kv_rows = c->kv_heads * c->head_dim;
    const size_t shapes[LAYER_TENSORS][2] = {
        {1, c->dim}, {q_rows, c->dim}, {kv_rows, c->dim}, {kv_rows, c->dim}, {c->dim, q_rows},
        {1, c->dim}, {c->hidden, c->dim}, {c->hidden, c->dim}, {c->dim, c->hidden},
    };
    memset(s, 0, sizeof *s);
    if (t == 0 || t > LAYER_TENSORS * c->layers) {
        int head = t != 0 && t != LAYER_TENSORS * c->layers + 1;
        s->slot = t == 0 ? SLOT_EMBED : head ? SLOT_LM_HEAD : SLOT_FINAL_NORM;
        s->id = (uint64_t)s->slot;
        s->rows = s->slot == SLOT_FINAL_NORM ? 1 : c->vocab;
        s->cols = c->dim;
        s->ndim = s->slot == SLOT_FINAL_NORM ? 1 : 2;
        snprintf(s->name, sizeof s->name, "%s",
                 t == 0 ? "model.embed_tokens.weight" : head ? "lm_head.weight" : "model.norm.weight");
        return;
    }
    size_t j = (t - 1) % LAYER_TENSORS;
    s->layer = (t - 1) / LAYER_TENSORS;
    s->slot = (enum slot)(SLOT_ATTN_NORM + j);
    s->id = 3 + (uint64_t)LAYER_TENSORS * s->layer + j;
    s->rows = shapes[j][0];
    s->cols = shapes[j][1];
    s->ndim = j == 0 || j == 5 ? 1 : 2;
    snprintf(s->name, sizeof s->name, "model.layers.%zu.%s.weight", s->layer, layer_names[j]);
}

static float **tensor_slot(clr_llama_weights *w, const tensor_spec *s)
{
    clr_llama_layer *l = &w->layer[s->layer];
    switch (s->slot) {
    case SLOT_EMBED: return &w->embed;
    case SLOT_FINAL_NORM: return &w->final_norm;
    case SLOT_LM_HEAD: return &w->lm_head;
    case SLOT_ATTN_NORM: return &l->attn_norm;
    case SLOT_WQ: return &l->wq;
    case SLOT_WK: return &l->wk;
    case SLOT_WV: return &l->wv;
    case SLOT_WO: return &l->wo;
    case SLOT_FFN_NORM: return &l->ffn_norm;
    case SLOT_GATE: return &l->w_gate;
    case SLOT_UP: return &l->w_up;
    case SLOT_DOWN: break;
    }
    return &l->w_down;
}

/* ---- The config ---- */

/* *out = a * b * c, or a message naming what: at most 2^40 elements. */
static int check_product(const char *label, const char *what, size_t a, size_t b, size_t c, size_t *out,
                         clr_error *err)
{
    size_t p;
    if (clr_size_mul(a, b, &p) || clr_size_mul(p, c, &p) || p >= MAX_ELEMENTS) {
        char third[32] = "";
        if (c != 1)
            snprintf(third, sizeof third, " x %zu", c);
        return BAD("%s: %s is too large (%zu x %zu%s elements; at most 2^40); this is not a model clrepro can hold",
                   label, what, a, b, third);
    }
    *out = p;
    return CLR_OK;
}

static int check_sizes(const clr_llama_config *c, const char *label, model_sizes *z, clr_error *err)
{
    size_t rope, layers_total, twice_q, twice_kv, three_mlp, two_norms;
    memset(z, 0, sizeof *z);
    if (check_product(label, "vocab_size x hidden_size", c->vocab, c->dim, 1, &z->embed, err) ||
        check_product(label, "num_attention_heads x head_dim x hidden_size", c->heads, c->head_dim, c->dim, &z->q,
                      err) ||
        check_product(label, "num_key_value_heads x head_dim x hidden_size", c->kv_heads, c->head_dim, c->dim,
                      &z->kv, err) ||
        check_product(label, "intermediate_size x hidden_size", c->hidden, c->dim, 1, &z->mlp, err) ||
        check_product(label, "max_position_embeddings x head_dim", c->max_pos, c->head_dim, 1, &rope, err))
        return err->code;
    /* Each term is below 2^40, so these sums cannot overflow 64 bits; they are checked anyway. */
    if (clr_size_mul(z->q, 2, &twice_q) || clr_size_mul(z->kv, 2, &twice_kv) ||
        clr_size_mul(z->mlp, 3, &three_mlp) || clr_size_mul(c->dim, 2, &two_norms) ||
        clr_size_add(twice_q, twice_kv, &z->per_layer) || clr_size_add(z->per_layer, three_mlp, &z->per_layer) ||
        clr_size_add(z->per_layer, two_norms, &z->per_layer))
        return BAD("%s: a layer's weights are too many to count", label);
    if (check_product(label, "num_hidden_layers x the weights of a layer", c->layers, z->per_layer, 1,
                      &layers_total, err))
        return err->code;
    if (clr_size_add(layers_total, z->embed, &z->total) ||
        (!c->tie_embeddings && clr_size_add(z->total, z->embed, &z->total)) ||
        clr_size_add(z->total, c->dim, &z->total) || z->total >= 2 * MAX_ELEMENTS)
        return BAD("%s: the model has too many weights (at most 2^41); this is not a model clrepro can hold", label);
    return CLR_OK;
}

/* Everything config_load checks beyond the JSON types, shared with the synthetic writer. */
static int validate_config(const clr_llama_config *c, const char *label, model_sizes *z, clr_error *err)
{
    const struct { const char *field; size_t value; } sizes[] = {
        {"hidden_size", c->dim}, {"num_hidden_layers", c->layers}, {"num_attention_heads", c->heads},
        {"num_key_value_heads", c->kv_heads}, {"head_dim", c->head_dim}, {"intermediate_size", c->hidden},
        {"vocab_size", c->vocab}, {"max_position_embeddings", c->max_pos},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i)
        if (sizes[i].value < 1)
            return BAD("%s: %s is 0; every size of the model must be at least 1", label, sizes[i].field);
    if (c->heads % c->kv_heads != 0)
        return BAD("%s: num_attention_heads (%zu) is not a multiple of num_key_value_heads (%zu); grouped-query "
                   "attention shares each key-value head among a whole number of query heads", label, c->heads,
                   c->kv_heads);
    if (c->head_dim % 2 != 0)
        return BAD("%s: head_dim %zu is odd; RoPE rotates pairs of a head's elements, so it must be even", label,
                   c->head_dim);
    if (!(c->rms_eps > 0.0) || !isfinite(c->rms_eps))
        return BAD("%s: rms_norm_eps must be a positive number (found %g)", label, c->rms_eps);
    if (!(c->rope_theta > 0.0) || !isfinite(c->rope_theta))
        return BAD("%s: rope_theta must be a positive number (found %g)", label, c->rope_theta);
    if (c->rope_llama3) {
        if (!(c->rope_factor > 0.0) || !isfinite(c->rope_factor) || !(c->rope_low_freq > 0.0) ||
            !isfinite(c->rope_low_freq))
            return BAD("%s: rope_scaling's factor and low_freq_factor must be positive numbers (found %g and %g)",
                       label, c->rope_factor, c->rope_low_freq);
        if (!(c->rope_high_freq > c->rope_low_freq) || !isfinite(c->rope_high_freq))
            return BAD("%s: rope_scaling's high_freq_factor (%g) must be above its low_freq_factor (%g), as Llama "
                       "3's scaling divides by their difference", label, c->rope_high_freq, c->rope_low_freq);
        if (c->rope_original_max_pos < 1)
            return BAD("%s: rope_scaling's original_max_position_embeddings must be at least 1", label);
    }
    if (c->bos_id < -1 || c->eos_id < -1)
        return BAD("%s: bos_token_id and eos_token_id must be token ids (or absent)", label);
    return check_sizes(c, label, z, err);
}

typedef struct cfg_reader {
    const char *path;
    json_t *root;
    clr_error *err;
} cfg_reader;

/* The value as JSON text, shortened, for a message. */
static const char *json_text(const json_t *v, char *buf, size_t size)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(buf, size, "%s", text ? text : "?");
    if (text && strlen(text) >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
    free(text);
    return buf;
}

/* The field, or NULL when it is absent or null. */
static json_t *field(const cfg_reader *r, const char *key)
{
    json_t *v = json_object_get(r->root, key);
    return json_is_null(v) ? NULL : v;
}

static int read_size(const cfg_reader *r, const char *key, int required, size_t fallback, size_t *out)
{
    clr_error *err = r->err;
    json_t *v = field(r, key);
    char text[80];
    if (!v) {
        if (required)
            return BAD("%s: %s is missing; a Llama config.json gives it (is this the checkpoint's directory?)",
                       r->path, key);
        *out = fallback;
        return CLR_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return BAD("%s: %s must be a positive integer, found %s; fix config.json", r->path, key,
                   json_text(v, text, sizeof text));
    if ((unsigned long long)json_integer_value(v) > SIZE_MAX)
        return BAD("%s: %s is too large (%lld)", r->path, key, (long long)json_integer_value(v));
    *out = (size_t)json_integer_value(v);
    return CLR_OK;
}

static int read_number_in(const cfg_reader *r, json_t *obj, const char *where, const char *key, int required,
                          double fallback, double *out)
{
    clr_error *err = r->err;
    json_t *v = json_object_get(obj, key);
    char text[80];
    if (!v || json_is_null(v)) {
        if (required)
            return BAD("%s: %s%s is missing; fix config.json", r->path, where, key);
        *out = fallback;
        return CLR_OK;
    }
    if (!json_is_number(v) || !(json_number_value(v) > 0.0))
        return BAD("%s: %s%s must be a positive number, found %s; fix config.json", r->path, where, key,
                   json_text(v, text, sizeof text));
    *out = json_number_value(v);
    return CLR_OK;
}

static int read_bool(const cfg_reader *r, const char *key, int fallback, int *out)
{
    clr_error *err = r->err;
    json_t *v = field(r, key);
    char text[80];
    if (!v) {
        *out = fallback;
        return CLR_OK;
    }
    if (!json_is_boolean(v))
        return BAD("%s: %s must be true or false, found %s; fix config.json", r->path, key,
                   json_text(v, text, sizeof text));
    *out = json_is_true(v);
    return CLR_OK;
}

/* An id, or a list of ids (the first is taken); -1 when absent, null or an empty list. */
static int read_token_id(const cfg_reader *r, const char *key, int64_t *out)
{
    clr_error *err = r->err;
    json_t *v = field(r, key);
    char text[80];
    *out = -1;
    if (json_is_array(v))
        v = json_array_get(v, 0);
    if (!v || json_is_null(v))
        return CLR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return BAD("%s: %s must be a token id (a non-negative integer or a list of them), found %s; fix config.json",
                   r->path, key, json_text(v, text, sizeof text));
    *out = (int64_t)json_integer_value(v);
    return CLR_OK;
}

static int array_has_string(const json_t *array, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    return 0;
}

static int check_architecture(const cfg_reader *r)
{
    clr_error *err = r->err;
    json_t *arch = field(r, "architectures"), *type = field(r, "model_type");
    char arch_text[200], type_text[80];
    if (arch && !json_is_array(arch))
        return BAD("%s: architectures must be a list of class names, found %s", r->path,
                   json_text(arch, arch_text, sizeof arch_text));
    if (type && !json_is_string(type))
        return BAD("%s: model_type must be a string, found %s", r->path, json_text(type, type_text, sizeof type_text));
    /* The class decides when it is named (transformers instantiates it); model_type otherwise. */
    if (arch ? array_has_string(arch, "LlamaForCausalLM") : type && strcmp(json_string_value(type), "llama") == 0)
        return CLR_OK;
    if (!arch && !type)
        return BAD("%s: neither architectures nor model_type is given; clrepro reads Llama checkpoints "
                   "(LlamaForCausalLM, model_type \"llama\") only", r->path);
    return BAD("%s: architectures %s, model_type %s: not a Llama checkpoint; clrepro reads LlamaForCausalLM "
               "(model_type \"llama\") only", r->path, arch ? json_text(arch, arch_text, sizeof arch_text) : "absent",
               type ? json_text(type, type_text, sizeof type_text) : "absent");
}

/* What the engine does not implement: biases, activations other than SiLU. */
static int check_unsupported(const cfg_reader *r)
{
    clr_error *err = r->err;
    static const char *const biases[] = {"attention_bias", "mlp_bias"};
    char text[80];
    for (size_t i = 0; i < 2; ++i) {
        int on;
        if (read_bool(r, biases[i], 0, &on))
            return err->code;
        if (on)
            return BAD("%s: %s is true; clrepro's Llama has no bias terms, so this checkpoint cannot be run",
                       r->path, biases[i]);
    }
    json_t *act = field(r, "hidden_act");
    if (act && (!json_is_string(act) || strcmp(json_string_value(act), "silu") != 0))
        return BAD("%s: hidden_act %s is not supported; Llama's MLP uses \"silu\"", r->path,
                   json_text(act, text, sizeof text));
    return CLR_OK;
}

/* rope_scaling (or transformers 5's rope_parameters): none, "default", or "llama3". */
static int read_rope_scaling(const cfg_reader *r, clr_llama_config *cfg)
{
    clr_error *err = r->err;
    const char *key = "rope_scaling";
    json_t *s = field(r, key);
    char text[80], where[64];
    if (!s && field(r, "rope_parameters")) {
        key = "rope_parameters";
        s = field(r, key);
    }
    if (!s)
        return CLR_OK;
    if (!json_is_object(s))
        return BAD("%s: %s must be an object or null, found %s", r->path, key, json_text(s, text, sizeof text));
    snprintf(where, sizeof where, "%s.", key);
    if (!field(r, "rope_theta") &&
        read_number_in(r, s, where, "rope_theta", 0, cfg->rope_theta, &cfg->rope_theta))
        return err->code;
    json_t *type = json_object_get(s, "rope_type");
    if (!type || json_is_null(type))
        type = json_object_get(s, "type");
    if (!json_is_string(type))
        return BAD("%s: %s has no rope_type; fix config.json", r->path, key);
    const char *name = json_string_value(type);
    if (strcmp(name, "default") == 0)
        return CLR_OK;
    if (strcmp(name, "llama3") != 0)
        return BAD("%s: %s type %s is not supported; clrepro implements plain RoPE and Llama 3's \"llama3\" "
                   "scaling only", r->path, key, json_text(type, text, sizeof text));
    cfg->rope_llama3 = 1;
    if (read_number_in(r, s, where, "factor", 1, 0, &cfg->rope_factor) ||
        read_number_in(r, s, where, "low_freq_factor", 1, 0, &cfg->rope_low_freq) ||
        read_number_in(r, s, where, "high_freq_factor", 1, 0, &cfg->rope_high_freq))
        return err->code;
    json_t *orig = json_object_get(s, "original_max_position_embeddings");
    if (!json_is_integer(orig) || json_integer_value(orig) < 1 ||
        (unsigned long long)json_integer_value(orig) > SIZE_MAX)
        return BAD("%s: %s.original_max_position_embeddings must be a positive integer, found %s; fix config.json",
                   r->path, key, orig ? json_text(orig, text, sizeof text) : "nothing");
    cfg->rope_original_max_pos = (size_t)json_integer_value(orig);
    return CLR_OK;
}

static int read_config(const cfg_reader *r, clr_llama_config *cfg)
{
    clr_error *err = r->err;
    if (check_architecture(r) || check_unsupported(r))
        return err->code;
    if (read_size(r, "hidden_size", 1, 0, &cfg->dim) || read_size(r, "num_hidden_layers", 1, 0, &cfg->layers) ||
        read_size(r, "num_attention_heads", 1, 0, &cfg->heads) ||
        read_size(r, "num_key_value_heads", 0, cfg->heads, &cfg->kv_heads) ||
        read_size(r, "head_dim", 0, cfg->dim / cfg->heads, &cfg->head_dim) ||
        read_size(r, "intermediate_size", 1, 0, &cfg->hidden) || read_size(r, "vocab_size", 1, 0, &cfg->vocab) ||
        read_size(r, "max_position_embeddings", 0, 2048, &cfg->max_pos))
        return err->code;
    if (cfg->head_dim == 0)
        return BAD("%s: hidden_size %zu is smaller than num_attention_heads %zu and head_dim is not given", r->path,
                   cfg->dim, cfg->heads);
    if (read_number_in(r, r->root, "", "rms_norm_eps", 0, 1e-6, &cfg->rms_eps) ||
        read_number_in(r, r->root, "", "rope_theta", 0, 10000.0, &cfg->rope_theta) || read_rope_scaling(r, cfg) ||
        read_bool(r, "tie_word_embeddings", 0, &cfg->tie_embeddings) ||
        read_token_id(r, "bos_token_id", &cfg->bos_id) || read_token_id(r, "eos_token_id", &cfg->eos_id))
        return err->code;
    model_sizes z;
    return validate_config(cfg, r->path, &z, err);
}

/* dir/name in buf, or a message. */
static int join_path(const char *dir, const char *name, char *buf, size_t size, clr_error *err)
{
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
        return BAD("%s/%s: path too long", dir, name);
    return CLR_OK;
}

int clr_llama_config_load(const char *dir, clr_llama_config *cfg, clr_error *err)
{
    char path[PATH_BYTES];
    memset(cfg, 0, sizeof *cfg);
    cfg->dtype = CLR_W_F32;
    if (join_path(dir, "config.json", path, sizeof path, err))
        return err->code;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) /* a FIFO would block the read */
        return BAD("%s: not a regular file; give the directory of a Hugging Face Llama checkpoint", path);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (access(path, F_OK) != 0)
            return BAD("%s: %s; give the directory of a Hugging Face Llama checkpoint (config.json and "
                       "model.safetensors)", path, strerror(errno));
        return BAD("%s: not valid JSON (line %d, column %d: %s)", path, jerr.line, jerr.column, jerr.text);
    }
    cfg_reader r = {path, root, err};
    int rc = json_is_object(root) ? read_config(&r, cfg) : BAD("%s: not a JSON object", path);
    json_decref(root);
    if (rc) {
        memset(cfg, 0, sizeof *cfg);
        cfg->dtype = CLR_W_F32;
    }
    return rc;
}

clr_llama_config clr_llama_synthetic_config(void)
{
    clr_llama_config c;
    memset(&c, 0, sizeof c);
    c.dim = 288;
    c.layers = 6;
    c.heads = 6;
    c.kv_heads = 6;
    c.head_dim = 48;
    c.hidden = 768;
    c.vocab = 32000;
    c.max_pos = 1024;
    c.rms_eps = 1e-5;
    c.rope_theta = 10000.0;
    c.bos_id = 1;
    c.eos_id = 2;
    c.dtype = CLR_W_F32;
    return c;
}

/* ---- safetensors ---- */

typedef struct st_dtype {
    const char *name;
    size_t size;
    int widen; /* the clr_weight_dtype it widens from, or -1: described, checked, not loaded */
} st_dtype;

static const st_dtype st_dtypes[] = {
    {"F32", 4, CLR_W_F32}, {"BF16", 2, CLR_W_BF16}, {"F16", 2, CLR_W_F16}, {"F64", 8, -1},
    {"I64", 8, -1}, {"U64", 8, -1}, {"I32", 4, -1}, {"U32", 4, -1}, {"I16", 2, -1}, {"U16", 2, -1},
    {"I8", 1, -1}, {"U8", 1, -1}, {"BOOL", 1, -1}, {"F8_E4M3", 1, -1}, {"F8_E5M2", 1, -1},
};

/* One safetensors file, mapped. */
typedef struct st_file {
    char path[PATH_BYTES];
    unsigned char *map;
    size_t map_size;
    const unsigned char *data; /* after the header */
    size_t data_size;
    json_t *header;
} st_file;

/* A header entry, checked against the file. */
typedef struct st_entry {
    const st_dtype *dtype;
    json_t *shape;
    uint64_t begin, end;
} st_entry;

typedef struct st_span {
    uint64_t begin, end;
    const char *name;
} st_span;

static const st_dtype *find_dtype(const char *name)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; ++i)
        if (strcmp(st_dtypes[i].name, name) == 0)
            return &st_dtypes[i];
    return NULL;
}

static int parse_offsets(const st_file *f, const char *name, json_t *offsets, st_entry *e, clr_error *err)
{
    json_t *b = json_array_get(offsets, 0), *x = json_array_get(offsets, 1);
    if (json_array_size(offsets) != 2 || !json_is_integer(b) || !json_is_integer(x) || json_integer_value(b) < 0 ||
        json_integer_value(x) < 0)
        return BAD("%s: tensor %.200s: data_offsets must be [begin, end], two non-negative integers", f->path, name);
    e->begin = (uint64_t)json_integer_value(b);
    e->end = (uint64_t)json_integer_value(x);
    if (e->begin > e->end)
        return BAD("%s: tensor %.200s: data_offsets [%llu, %llu] end before they begin", f->path, name,
                   (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > f->data_size)
        return BAD("%s: tensor %.200s: data_offsets [%llu, %llu] run past the end of the data (%zu bytes): the file "
                   "is truncated or its header is wrong", f->path, name, (unsigned long long)e->begin,
                   (unsigned long long)e->end, f->data_size);
    return CLR_OK;
}

/* Checks one header entry: a known dtype, a shape of non-negative integers whose byte count
 * equals its offsets' span, offsets within the data. */
static int parse_entry(const st_file *f, const char *name, json_t *v, st_entry *e, clr_error *err)
{
    if (!json_is_object(v))
        return BAD("%s: tensor %.200s: its header entry is not an object", f->path, name);
    json_t *dtype = json_object_get(v, "dtype");
    char text[80];
    if (!json_is_string(dtype))
        return BAD("%s: tensor %.200s: no dtype", f->path, name);
    e->dtype = find_dtype(json_string_value(dtype));
    if (!e->dtype)
        return BAD("%s: tensor %.200s: unknown dtype %s", f->path, name, json_text(dtype, text, sizeof text));
    e->shape = json_object_get(v, "shape");
    if (!json_is_array(e->shape))
        return BAD("%s: tensor %.200s: no shape (a list of sizes)", f->path, name);
    uint64_t bytes = e->dtype->size;
    int overflow = 0;
    size_t i;
    json_t *d;
    json_array_foreach(e->shape, i, d) {
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return BAD("%s: tensor %.200s: shape %s has an entry that is not a non-negative integer", f->path, name,
                       json_text(e->shape, text, sizeof text));
        uint64_t n = (uint64_t)json_integer_value(d);
        if (n != 0 && bytes > UINT64_MAX / n)
            overflow = 1; /* a later 0 does not save it: the format's reader refuses it too */
        else
            bytes *= n;
    }
    if (parse_offsets(f, name, json_object_get(v, "data_offsets"), e, err))
        return err->code;
    if (overflow)
        return BAD("%s: tensor %.200s: shape %s is too large to address", f->path, name,
                   json_text(e->shape, text, sizeof text));
    if (bytes != e->end - e->begin)
        return BAD("%s: tensor %.200s: shape %s of %s needs %llu bytes but data_offsets [%llu, %llu] hold %llu",
                   f->path, name, json_text(e->shape, text, sizeof text), e->dtype->name, (unsigned long long)bytes,
                   (unsigned long long)e->begin, (unsigned long long)e->end,
                   (unsigned long long)(e->end - e->begin));
    return CLR_OK;
}

static int span_order(const void *a, const void *b)
{
    const st_span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Every entry checked, and no two tensors sharing a byte. */
static int check_header(const st_file *f, clr_error *err)
{
    size_t count = json_object_size(f->header), n = 0;
    st_span *spans = clr_calloc(count ? count : 1, sizeof *spans, "the safetensors header's tensors", err);
    if (!spans)
        return err->code;
    const char *name;
    json_t *v;
    int rc = CLR_OK;
    json_object_foreach(f->header, name, v) {
        st_entry e;
        if (strcmp(name, "__metadata__") == 0)
            continue;
        if ((rc = parse_entry(f, name, v, &e, err)) != CLR_OK)
            break;
        if (e.end > e.begin)
            spans[n++] = (st_span){e.begin, e.end, name};
    }
    if (rc == CLR_OK) {
        qsort(spans, n, sizeof *spans, span_order);
        /* Sorted by begin, a tensor that overlaps any earlier one overlaps its predecessor. */
        for (size_t i = 1; i < n && rc == CLR_OK; ++i)
            if (spans[i].begin < spans[i - 1].end)
                rc = BAD("%s: tensors %.200s and %.200s overlap (bytes [%llu, %llu) and [%llu, %llu) of the data)",
                         f->path, spans[i - 1].name, spans[i].name, (unsigned long long)spans[i - 1].begin,
                         (unsigned long long)spans[i - 1].end, (unsigned long long)spans[i].begin,
                         (unsigned long long)spans[i].end);
    }
    free(spans);
    return rc;
}

static void st_close(st_file *f)
{
    if (f->map)
        munmap(f->map, f->map_size);
    json_decref(f->header);
    f->map = NULL;
    f->header = NULL;
}

static int map_file(st_file *f, clr_error *err)
{
    /* O_NONBLOCK: a FIFO in the file's place must not hang the open (fstat refuses it below) */
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return BAD("cannot open %s: %s", f->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return BAD("%s: not a regular file", f->path);
    }
    if (st.st_size < 8 || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return BAD("%s: %lld bytes, too short for a safetensors file (8-byte header length, then the header)",
                   f->path, (long long)st.st_size);
    }
    f->map_size = (size_t)st.st_size;
    void *map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED)
        return BAD("cannot map %s: %s", f->path, strerror(saved));
    f->map = map;
    posix_madvise(map, f->map_size, POSIX_MADV_SEQUENTIAL); /* a hint: tensors are read mostly front to back */
    return CLR_OK;
}

/* Opens, maps and checks one safetensors file. */
static int st_open(st_file *f, clr_error *err)
{
    if (map_file(f, err))
        return err->code;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = n << 8 | f->map[i];
    if (n > f->map_size - 8)
        return BAD("%s: the header length %llu runs past the end of the file (%zu bytes): not a safetensors file, or "
                   "a truncated one", f->path, (unsigned long long)n, f->map_size);
    if (n > MAX_HEADER)
        return BAD("%s: the header length %llu is implausible (at most 100 MB)", f->path, (unsigned long long)n);
    json_error_t jerr;
    f->header = json_loadb((const char *)f->map + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!f->header)
        return BAD("%s: the safetensors header is not valid JSON (line %d, column %d: %s)", f->path, jerr.line,
                   jerr.column, jerr.text);
    if (!json_is_object(f->header))
        return BAD("%s: the safetensors header is not a JSON object", f->path);
    f->data = f->map + 8 + n;
    f->data_size = f->map_size - 8 - (size_t)n;
    return check_header(f, err);
}

/* The checkpoint's tensors: one file, or the shards an index names. */
typedef struct st_source {
    char index_path[PATH_BYTES];
    json_t *weight_map; /* NULL: one file */
    json_t *shard_ids;  /* shard file name -> its position in files */
    st_file *files;
    size_t nfiles;
} st_source;

static void source_close(st_source *s)
{
    for (size_t i = 0; i < s->nfiles; ++i)
        st_close(&s->files[i]);
    free(s->files);
    json_decref(s->weight_map);
    json_decref(s->shard_ids);
    memset(s, 0, sizeof *s);
}

/* A shard's name must be a file in the checkpoint's directory, nothing else. */
static int check_shard_name(const st_source *s, const char *tensor, const char *file, clr_error *err)
{
    if (!file[0] || strchr(file, '/') || strstr(file, ".."))
        return BAD("%s: weight_map sends tensor %.200s to \"%.200s\", which is not a plain file name in the "
                   "checkpoint's directory; refusing to read it", s->index_path, tensor, file);
    return CLR_OK;
}

/* The distinct shards of the weight map, in the order they first appear. */
static int list_shards(st_source *s, clr_error *err)
{
    const char *tensor;
    json_t *file;
    s->shard_ids = json_object();
    if (!s->shard_ids)
        return clr_fail(err, CLR_EUSAGE, "out of host memory");
    json_object_foreach(s->weight_map, tensor, file) {
        if (!json_is_string(file))
            return BAD("%s: weight_map's entry for %.200s is not a file name", s->index_path, tensor);
        const char *name = json_string_value(file);
        if (check_shard_name(s, tensor, name, err))
            return err->code;
        if (json_object_get(s->shard_ids, name))
            continue;
        if (json_object_set_new(s->shard_ids, name, json_integer((json_int_t)json_object_size(s->shard_ids))))
            return clr_fail(err, CLR_EUSAGE, "out of host memory");
    }
    return CLR_OK;
}

static int read_index(st_source *s, clr_error *err)
{
    struct stat st;
    if (stat(s->index_path, &st) == 0 && !S_ISREG(st.st_mode))
        return BAD("%s: not a regular file", s->index_path);
    if (stat(s->index_path, &st) == 0 && st.st_size > MAX_INDEX)
        return BAD("%s: %lld bytes, implausibly large for an index (at most 100 MB)", s->index_path,
                   (long long)st.st_size);
    json_error_t jerr;
    json_t *root = json_load_file(s->index_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return BAD("%s: not valid JSON (line %d, column %d: %s)", s->index_path, jerr.line, jerr.column, jerr.text);
    json_t *map = json_is_object(root) ? json_object_get(root, "weight_map") : NULL;
    if (json_is_object(map))
        s->weight_map = json_incref(map);
    json_decref(root);
    if (!s->weight_map)
        return BAD("%s: no weight_map object (tensor name -> shard file)", s->index_path);
    return list_shards(s, err);
}

static int source_open(const char *dir, st_source *s, clr_error *err)
{
    memset(s, 0, sizeof *s);
    if (join_path(dir, "model.safetensors.index.json", s->index_path, sizeof s->index_path, err))
        return err->code;
    int sharded = access(s->index_path, F_OK) == 0;
    if (sharded && read_index(s, err))
        return err->code;
    size_t n = sharded ? json_object_size(s->shard_ids) : 1;
    s->files = clr_calloc(n ? n : 1, sizeof *s->files, "the checkpoint's files", err);
    if (!s->files)
        return err->code;
    if (!sharded) {
        s->nfiles = 1;
        if (join_path(dir, "model.safetensors", s->files[0].path, sizeof s->files[0].path, err))
            return err->code;
        if (access(s->files[0].path, F_OK) != 0)
            return BAD("%s: no model.safetensors or model.safetensors.index.json; give the directory of a Hugging "
                       "Face Llama checkpoint in safetensors format", dir);
        return st_open(&s->files[0], err);
    }
    const char *name;
    json_t *id;
    json_object_foreach(s->shard_ids, name, id) {
        st_file *f = &s->files[json_integer_value(id)];
        s->nfiles++;
        if (join_path(dir, name, f->path, sizeof f->path, err) || st_open(f, err))
            return err->code;
    }
    return CLR_OK;
}

/* The tensor's file and entry; a missing tensor names where it was looked for. */
static int find_tensor(const st_source *s, const char *name, const st_file **file, st_entry *e, clr_error *err)
{
    const st_file *f = &s->files[0];
    if (s->weight_map) {
        json_t *shard = json_object_get(s->weight_map, name);
        if (!shard)
            return BAD("%s: tensor %s is missing from weight_map; the config implies it (is the checkpoint "
                       "complete?)", s->index_path, name);
        f = &s->files[json_integer_value(json_object_get(s->shard_ids, json_string_value(shard)))];
    }
    json_t *v = json_object_get(f->header, name);
    if (!v)
        return BAD("%s: tensor %s is missing; the config implies it (is the checkpoint complete, and is "
                   "num_hidden_layers right?)", f->path, name);
    *file = f;
    return parse_entry(f, name, v, e, err);
}

static int check_shape(const st_file *f, const tensor_spec *s, const st_entry *e, clr_error *err)
{
    json_t *shape = e->shape;
    int ok = (int)json_array_size(shape) == s->ndim;
    for (int d = 0; ok && d < s->ndim; ++d) {
        size_t want = s->ndim == 1 ? s->cols : d == 0 ? s->rows : s->cols;
        ok = (uint64_t)json_integer_value(json_array_get(shape, (size_t)d)) == (uint64_t)want;
    }
    if (ok)
        return CLR_OK;
    char found[120], expected[64];
    json_text(shape, found, sizeof found);
    if (s->ndim == 1)
        snprintf(expected, sizeof expected, "[%zu]", s->cols);
    else
        snprintf(expected, sizeof expected, "[%zu,%zu]", s->rows, s->cols);
    return BAD("%s: tensor %s has shape %s, but config.json implies %s; the config does not match the weights",
               f->path, s->name, found, expected);
}

/* IEEE half to float, exactly: subnormal halves become normal floats, infinities stay
 * infinities, NaNs keep their sign and payload. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | mant << 13;
    } else if (exp != 0) {
        bits = sign | (exp + 112) << 23 | mant << 13;
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* mant x 2^-24: shift the leading one into the implicit bit's place. */
        int e = 1;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            --e;
        }
        bits = sign | (uint32_t)(e + 112) << 23 | (mant & 0x3ffu) << 13;
    }
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static void widen(const unsigned char *src, clr_weight_dtype t, size_t count, float *dst)
{
    if (t == CLR_W_F32) {
        memcpy(dst, src, count * sizeof *dst);
    } else if (t == CLR_W_BF16) {
        for (size_t i = 0; i < count; ++i) {
            uint32_t bits = (uint32_t)(src[2 * i] | src[2 * i + 1] << 8) << 16;
            memcpy(&dst[i], &bits, sizeof bits);
        }
    } else {
        for (size_t i = 0; i < count; ++i)
            dst[i] = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
    }
}

/* Reads tensor s into its slot of w: found, shaped and typed as expected, widened. */
static int load_tensor(const st_source *src, const tensor_spec *s, int *dtype, clr_llama_weights *w,
                       clr_error *err)
{
    const st_file *f = NULL;
    st_entry e;
    if (find_tensor(src, s->name, &f, &e, err))
        return err->code;
    if (e.dtype->widen < 0)
        return BAD("%s: tensor %s has dtype %s, which is not supported; clrepro loads F32, BF16 and F16 weights",
                   f->path, s->name, e.dtype->name);
    if (check_shape(f, s, &e, err))
        return err->code;
    if (*dtype >= 0 && e.dtype->widen != *dtype)
        return BAD("%s: tensor %s is %s but the tensors before it are %s; clrepro loads checkpoints stored in one "
                   "dtype (convert the checkpoint)", f->path, s->name, e.dtype->name,
                   clr_weight_dtype_name((clr_weight_dtype)*dtype));
    *dtype = e.dtype->widen;
    size_t count = s->rows * s->cols; /* checked with the config */
    float *dst = clr_malloc(count * sizeof *dst, s->name, err);
    if (!dst)
        return err->code;
    widen(f->data + e.begin, (clr_weight_dtype)*dtype, count, dst);
    *tensor_slot(w, s) = dst;
    w->weight_bytes += (size_t)(e.end - e.begin);
    return CLR_OK;
}

/* The float32 copy must fit in host memory next to the mapped files. */
static int check_memory(const char *dir, const model_sizes *z, clr_error *err)
{
    size_t need;
    if (clr_size_mul(z->total, sizeof(float), &need))
        return BAD("%s: the weights are too large to address", dir);
    uint64_t avail = clr_host_memory_available();
    if ((uint64_t)need > avail) {
        char need_text[32], avail_text[32];
        clr_format_bytes((double)need, need_text, sizeof need_text);
        clr_format_bytes((double)avail, avail_text, sizeof avail_text);
        return BAD("%s: the weights need %s of host memory in float32 (%zu parameters), and %s is available; use a "
                   "smaller model or a machine with more memory", dir, need_text, z->total, avail_text);
    }
    return CLR_OK;
}

static int load_weights(const char *dir, clr_llama_weights *w, st_source *src, clr_error *err)
{
    model_sizes z;
    if (clr_llama_config_load(dir, &w->cfg, err) || validate_config(&w->cfg, dir, &z, err) ||
        source_open(dir, src, err) || check_memory(dir, &z, err))
        return err->code;
    w->layer = clr_calloc(w->cfg.layers, sizeof *w->layer, "the model's layers", err);
    if (!w->layer)
        return err->code;
    int dtype = -1;
    size_t n = tensor_count(&w->cfg);
    for (size_t t = 0; t < n; ++t) {
        tensor_spec s;
        tensor_at(&w->cfg, t, &s);
        if (load_tensor(src, &s, &dtype, w, err))
            return err->code;
    }
    if (w->cfg.tie_embeddings)
        w->lm_head = w->embed;
    w->cfg.dtype = (clr_weight_dtype)dtype;
    return CLR_OK;
}

int clr_llama_load(const char *dir, clr_llama_weights *w, clr_error *err)
{
    memset(w, 0, sizeof *w);
    st_source src;
    memset(&src, 0, sizeof src);
    int rc = load_weights(dir, w, &src, err);
    source_close(&src);
    if (rc)
        clr_llama_free(w);
    return rc;
}

void clr_llama_free(clr_llama_weights *w)
{
    if (w->layer)
        for (size_t i = 0; i < w->cfg.layers; ++i) {
            clr_llama_layer *l = &w->layer[i];
            free(l->attn_norm);
            free(l->wq);
            free(l->wk);
            free(l->wv);
            free(l->wo);
            free(l->ffn_norm);
            free(l->w_gate);
            free(l->w_up);
            free(l->w_down);
        }
    free(w->layer);
    if (w->lm_head != w->embed)
        free(w->lm_head);
    free(w->embed);
    free(w->final_norm);
    memset(w, 0, sizeof *w);
}

/* ---- The synthetic checkpoint ---- */

static int set(json_t *obj, const char *key, json_t *value)
{
    return json_object_set_new(obj, key, value);
}

/* The fewest significant digits (jansson's JSON_REAL_PRECISION) that give back every one of the
 * config's reals exactly, and at least a whole number's digits: 1e-5, not 1.0000000000000001e-5;
 * 500000.0, not 5e5. */
static int real_precision(const clr_llama_config *c)
{
    const double reals[] = {c->rms_eps, c->rope_theta, c->rope_factor, c->rope_low_freq, c->rope_high_freq};
    int precision = 1;
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; ++i) {
        double x = fabs(reals[i]);
        for (double power = 10.0; x >= power && power < 1e17 && precision < 17; power *= 10.0)
            ++precision;
        for (char text[320];; ++precision) {
            snprintf(text, sizeof text, "%.*g", precision, reals[i]);
            if (precision >= 17 || strtod(text, NULL) == reals[i])
                break;
        }
    }
    return precision;
}

static char *config_text(const clr_llama_config *c, clr_weight_dtype dtype)
{
    json_t *o = json_object(), *arch = json_array(), *rope = NULL;
    int bad = !o || !arch || json_array_append_new(arch, json_string("LlamaForCausalLM"));
    bad |= set(o, "architectures", arch);
    bad |= set(o, "model_type", json_string("llama"));
    bad |= set(o, "hidden_size", json_integer((json_int_t)c->dim));
    bad |= set(o, "num_hidden_layers", json_integer((json_int_t)c->layers));
    bad |= set(o, "num_attention_heads", json_integer((json_int_t)c->heads));
    bad |= set(o, "num_key_value_heads", json_integer((json_int_t)c->kv_heads));
    bad |= set(o, "head_dim", json_integer((json_int_t)c->head_dim));
    bad |= set(o, "intermediate_size", json_integer((json_int_t)c->hidden));
    bad |= set(o, "vocab_size", json_integer((json_int_t)c->vocab));
    bad |= set(o, "max_position_embeddings", json_integer((json_int_t)c->max_pos));
    bad |= set(o, "rms_norm_eps", json_real(c->rms_eps));
    bad |= set(o, "rope_theta", json_real(c->rope_theta));
    if (c->rope_llama3) {
        rope = json_object();
        bad |= !rope;
        bad |= set(rope, "rope_type", json_string("llama3"));
        bad |= set(rope, "factor", json_real(c->rope_factor));
        bad |= set(rope, "low_freq_factor", json_real(c->rope_low_freq));
        bad |= set(rope, "high_freq_factor", json_real(c->rope_high_freq));
        bad |= set(rope, "original_max_position_embeddings", json_integer((json_int_t)c->rope_original_max_pos));
    }
    bad |= set(o, "rope_scaling", rope ? rope : json_null());
    bad |= set(o, "tie_word_embeddings", json_boolean(c->tie_embeddings));
    if (c->bos_id >= 0)
        bad |= set(o, "bos_token_id", json_integer((json_int_t)c->bos_id));
    if (c->eos_id >= 0)
        bad |= set(o, "eos_token_id", json_integer((json_int_t)c->eos_id));
    bad |= set(o, "hidden_act", json_string("silu"));
    bad |= set(o, "attention_bias", json_false());
    bad |= set(o, "mlp_bias", json_false());
    bad |= set(o, "torch_dtype", json_string(dtype == CLR_W_BF16 ? "bfloat16" : "float32"));
    char *text = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(real_precision(c)));
    json_decref(o);
    char *line = text ? malloc(strlen(text) + 2) : NULL;
    if (line)
        sprintf(line, "%s\n", text);
    free(text);
    return line;
}

/* Header entries for every tensor, in checkpoint order, and the data's size. */
static json_t *synthetic_header(const clr_llama_config *c, size_t elem, size_t *data_size)
{
    json_t *h = json_object(), *meta = json_object();
    int bad = !h || !meta || set(meta, "format", json_string("pt")) || set(h, "__metadata__", meta);
    size_t offset = 0, n = tensor_count(c);
    for (size_t t = 0; t < n && !bad; ++t) {
        tensor_spec s;
        tensor_at(c, t, &s);
        size_t bytes = s.rows * s.cols * elem; /* checked with the config */
        json_t *e = json_object(), *shape = json_array(), *offsets = json_array();
        bad = !e || !shape || !offsets;
        if (s.ndim == 2)
            bad |= json_array_append_new(shape, json_integer((json_int_t)s.rows));
        bad |= json_array_append_new(shape, json_integer((json_int_t)s.cols));
        bad |= json_array_append_new(offsets, json_integer((json_int_t)offset));
        bad |= json_array_append_new(offsets, json_integer((json_int_t)(offset + bytes)));
        bad |= set(e, "dtype", json_string(elem == 2 ? "BF16" : "F32"));
        bad |= set(e, "shape", shape);
        bad |= set(e, "data_offsets", offsets);
        bad |= set(h, s.name, e);
        offset += bytes;
    }
    if (bad) {
        json_decref(h);
        return NULL;
    }
    *data_size = offset;
    return h;
}

/* Tensor s's values, row by row, straight into its bytes. */
static void synthetic_tensor(const tensor_spec *s, uint64_t seed, size_t elem, float *row, unsigned char *out)
{
    double scale = sqrt(3.0 / (double)s->cols);
    int norm = s->slot == SLOT_FINAL_NORM || s->slot == SLOT_ATTN_NORM || s->slot == SLOT_FFN_NORM;
    for (size_t r = 0; r < s->rows; ++r) {
        clr_gen_row(seed, CLR_DIST_UNIFORM, clr_hash(0, SYNTH_STREAM, s->id, r), row, s->cols);
        for (size_t c = 0; c < s->cols; ++c)
            row[c] = norm ? (float)(1.0 + 0.1 * (double)row[c]) : (float)(scale * (double)row[c]);
        unsigned char *dst = out + r * s->cols * elem;
        if (elem == 4) {
            memcpy(dst, row, s->cols * sizeof *row);
            continue;
        }
        for (size_t c = 0; c < s->cols; ++c) {
            uint16_t b = clr_bf16_bits(clr_bf16_round(row[c]));
            dst[2 * c] = (unsigned char)(b & 0xff);
            dst[2 * c + 1] = (unsigned char)(b >> 8);
        }
    }
}

/* The whole model.safetensors in a malloc'ed buffer. */
static int synthetic_safetensors(const clr_llama_config *c, uint64_t seed, clr_weight_dtype dtype,
                                 unsigned char **bytes, size_t *size, clr_error *err)
{
    size_t elem = dtype == CLR_W_BF16 ? 2 : 4, data_size = 0, widest = c->dim;
    json_t *h = synthetic_header(c, elem, &data_size);
    char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (!text)
        return clr_fail(err, CLR_EUSAGE, "out of host memory writing the synthetic checkpoint's header");
    size_t len = strlen(text), padded = (len + 7) / 8 * 8, total;
    if (c->hidden > widest)
        widest = c->hidden;
    if (c->heads * c->head_dim > widest)
        widest = c->heads * c->head_dim;
    if (clr_size_add(8 + padded, data_size, &total) || (uint64_t)total > clr_host_memory_available()) {
        char need[32];
        clr_format_bytes((double)total, need, sizeof need);
        free(text);
        return BAD("synthetic checkpoint: %s does not fit in the host memory available; choose a smaller shape",
                   need);
    }
    unsigned char *buf = clr_malloc(total, "the synthetic checkpoint", err);
    float *row = buf ? clr_malloc(widest * sizeof *row, "a row of synthetic weights", err) : NULL;
    if (!row) {
        free(buf);
        free(text);
        return err->code;
    }
    for (int i = 0; i < 8; ++i)
        buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, text, len);
    memset(buf + 8 + len, ' ', padded - len);
    free(text);
    unsigned char *at = buf + 8 + padded;
    size_t n = tensor_count(c);
    for (size_t t = 0; t < n; ++t) {
        tensor_spec s;
        tensor_at(c, t, &s);
        synthetic_tensor(&s, seed, elem, row, at);
        at += s.rows * s.cols * elem;
    }
    free(row);
    *bytes = buf;
    *size = total;
    return CLR_OK;
}

/* Both files into dir, together or not at all; dir is removed again when it was made for them. */
static int write_checkpoint(const char *dir, const char *config, const unsigned char *model, size_t model_size,
                            clr_error *err)
{
    char config_path[PATH_BYTES], model_path[PATH_BYTES], top[PATH_BYTES];
    if (join_path(dir, "config.json", config_path, sizeof config_path, err) ||
        join_path(dir, "model.safetensors", model_path, sizeof model_path, err))
        return err->code;
    clr_missing_top(dir, top, sizeof top);
    clr_file_batch batch = {0};
    int rc = clr_prepare_out_dir(dir, err);
    if (rc == CLR_OK)
        rc = clr_batch_add(&batch, config_path, config, strlen(config), err);
    if (rc == CLR_OK)
        rc = clr_batch_add(&batch, model_path, model, model_size, err);
    if (rc == CLR_OK)
        rc = clr_batch_commit(&batch, err);
    else
        clr_batch_abort(&batch);
    if (rc != CLR_OK && top[0])
        clr_remove_empty_dirs(dir, top);
    return rc;
}

int clr_llama_write_synthetic(const char *dir, const clr_llama_config *cfg, uint64_t seed, clr_weight_dtype dtype,
                              clr_error *err)
{
    model_sizes z;
    if (dtype != CLR_W_F32 && dtype != CLR_W_BF16)
        return BAD("synthetic checkpoint: dtype %s is not written; choose F32 or BF16", clr_weight_dtype_name(dtype));
    if (validate_config(cfg, "synthetic checkpoint", &z, err) ||
        clr_check_out_dir(dir, strlen("model.safetensors"), err))
        return err->code;
    char *config = config_text(cfg, dtype);
    if (!config)
        return clr_fail(err, CLR_EUSAGE, "out of host memory writing the synthetic checkpoint's config.json");
    unsigned char *model = NULL;
    size_t model_size = 0;
    int rc = synthetic_safetensors(cfg, seed, dtype, &model, &model_size, err);
    if (rc == CLR_OK)
        rc = write_checkpoint(dir, config, model, model_size, err);
    free(model);
    free(config);
    return rc;
}
