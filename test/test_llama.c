/* test_llama.c: the Llama checkpoint reader and the synthetic writer (src/llama.c): round trips
 * in F32 and BF16 with every value checked against the generator, tied embeddings, GQA and
 * llama3 RoPE scaling, sharded checkpoints, config.json's defaults and refusals, hostile
 * safetensors files (each refused with CLR_EUSAGE and a message naming the problem, nothing
 * left allocated), and the F16 widening of all 65536 half values. No OpenCL. */
#include <check.h>
#include "test_util.h"
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data.h"
#include "llama.h"
#include "op.h"

/* The synthetic weights, as llama.c's opening comment documents them. */
#define SYNTH_STREAM 0x6c6c616d61ull
enum kind { KIND_EMBED, KIND_MATRIX, KIND_NORM };

static float synthetic_value(uint64_t seed, uint64_t id, size_t r, size_t c, size_t fan_in, enum kind kind)
{
    float u = clr_gen(seed, CLR_DIST_UNIFORM, clr_hash(0, SYNTH_STREAM, id, r), c);
    if (kind == KIND_NORM)
        return (float)(1.0 + 0.1 * (double)u);
    (void)kind; /* the embedding is scaled as a matrix of fan_in = dim */
    return (float)(sqrt(3.0 / (double)fan_in) * (double)u);
}

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static clr_llama_config tiny_config(void)
{
    clr_llama_config c = clr_llama_synthetic_config();
    c.dim = 16;
    c.layers = 2;
    c.heads = 4;
    c.kv_heads = 2;
    c.head_dim = 4;
    c.hidden = 24;
    c.vocab = 40;
    c.max_pos = 64;
    return c;
}

static size_t total_params(const clr_llama_config *c)
{
    size_t q = c->heads * c->head_dim * c->dim, kv = c->kv_heads * c->head_dim * c->dim;
    size_t layer = 2 * c->dim + 2 * q + 2 * kv + 3 * c->hidden * c->dim;
    return c->vocab * c->dim * (c->tie_embeddings ? 1 : 2) + c->dim + c->layers * layer;
}

/* Every element of t against the generator (rounded to bf16 where asked). */
static void check_tensor(const float *t, uint64_t seed, uint64_t id, size_t rows, size_t cols, enum kind kind,
                         int bf16, const char *what)
{
    ck_assert_ptr_nonnull(t);
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) {
            float want = synthetic_value(seed, id, r, c, cols, kind);
            if (bf16)
                want = clr_bf16_round(want);
            ck_assert_msg(bits_of(t[r * cols + c]) == bits_of(want), "%s[%zu][%zu]: %a, expected %a", what, r, c,
                          (double)t[r * cols + c], (double)want);
        }
}

static void check_weights(const clr_llama_weights *w, uint64_t seed, int bf16)
{
    const clr_llama_config *c = &w->cfg;
    size_t q = c->heads * c->head_dim, kv = c->kv_heads * c->head_dim;
    check_tensor(w->embed, seed, 0, c->vocab, c->dim, KIND_EMBED, bf16, "embed");
    check_tensor(w->final_norm, seed, 1, 1, c->dim, KIND_NORM, bf16, "final_norm");
    if (c->tie_embeddings)
        ck_assert_ptr_eq(w->lm_head, w->embed);
    else
        check_tensor(w->lm_head, seed, 2, c->vocab, c->dim, KIND_MATRIX, bf16, "lm_head");
    for (size_t l = 0; l < c->layers; ++l) {
        const clr_llama_layer *y = &w->layer[l];
        uint64_t id = 3 + 9 * (uint64_t)l;
        check_tensor(y->attn_norm, seed, id, 1, c->dim, KIND_NORM, bf16, "attn_norm");
        check_tensor(y->wq, seed, id + 1, q, c->dim, KIND_MATRIX, bf16, "wq");
        check_tensor(y->wk, seed, id + 2, kv, c->dim, KIND_MATRIX, bf16, "wk");
        check_tensor(y->wv, seed, id + 3, kv, c->dim, KIND_MATRIX, bf16, "wv");
        check_tensor(y->wo, seed, id + 4, c->dim, q, KIND_MATRIX, bf16, "wo");
        check_tensor(y->ffn_norm, seed, id + 5, 1, c->dim, KIND_NORM, bf16, "ffn_norm");
        check_tensor(y->w_gate, seed, id + 6, c->hidden, c->dim, KIND_MATRIX, bf16, "w_gate");
        check_tensor(y->w_up, seed, id + 7, c->hidden, c->dim, KIND_MATRIX, bf16, "w_up");
        check_tensor(y->w_down, seed, id + 8, c->dim, c->hidden, KIND_MATRIX, bf16, "w_down");
    }
}

static void check_same_config(const clr_llama_config *a, const clr_llama_config *b)
{
    ck_assert_uint_eq(a->dim, b->dim);
    ck_assert_uint_eq(a->layers, b->layers);
    ck_assert_uint_eq(a->heads, b->heads);
    ck_assert_uint_eq(a->kv_heads, b->kv_heads);
    ck_assert_uint_eq(a->head_dim, b->head_dim);
    ck_assert_uint_eq(a->hidden, b->hidden);
    ck_assert_uint_eq(a->vocab, b->vocab);
    ck_assert_uint_eq(a->max_pos, b->max_pos);
    ck_assert(a->rms_eps == b->rms_eps);
    ck_assert(a->rope_theta == b->rope_theta);
    ck_assert_int_eq(a->rope_llama3, b->rope_llama3);
    if (a->rope_llama3) {
        ck_assert(a->rope_factor == b->rope_factor);
        ck_assert(a->rope_low_freq == b->rope_low_freq);
        ck_assert(a->rope_high_freq == b->rope_high_freq);
        ck_assert_uint_eq(a->rope_original_max_pos, b->rope_original_max_pos);
    }
    ck_assert_int_eq(a->tie_embeddings, b->tie_embeddings);
    ck_assert_int_eq(a->bos_id, b->bos_id);
    ck_assert_int_eq(a->eos_id, b->eos_id);
}

/* ---- Files ---- */

static char *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *size = (size_t)n;
    return buf;
}

static void write_bytes(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(bytes, 1, size, f), size);
    ck_assert_int_eq(fclose(f), 0);
}

static void path_in(char *buf, size_t size, const char *dir, const char *name)
{
    ck_assert_int_lt(snprintf(buf, size, "%s/%s", dir, name), (int)size);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char from[512], to[512];
    size_t size;
    path_in(from, sizeof from, from_dir, name);
    path_in(to, sizeof to, to_dir, name);
    char *bytes = read_bytes(from, &size);
    write_bytes(to, bytes, size);
    free(bytes);
}

/* A safetensors file split into its parsed header and its data (malloc'ed). */
typedef struct st_parts {
    json_t *header;
    unsigned char *data;
    size_t data_size;
} st_parts;

static st_parts st_read(const char *path)
{
    size_t size;
    char *bytes = read_bytes(path, &size);
    ck_assert_uint_ge(size, 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = n << 8 | (unsigned char)bytes[i];
    ck_assert_uint_le(n, size - 8);
    ck_assert_uint_eq(n % 8, 0);
    st_parts p;
    json_error_t jerr;
    p.header = json_loadb(bytes + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(p.header != NULL, "%s: %s", path, jerr.text);
    p.data_size = size - 8 - (size_t)n;
    p.data = malloc(p.data_size + 1);
    ck_assert_ptr_nonnull(p.data);
    memcpy(p.data, bytes + 8 + n, p.data_size);
    free(bytes);
    return p;
}

/* Writes header (padded to 8 bytes with spaces) and data as a safetensors file. */
static void st_write(const char *path, const json_t *header, const void *data, size_t data_size)
{
    char *text = json_dumps(header, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    unsigned char *buf = malloc(8 + padded + data_size + 1);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < 8; ++i)
        buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, text, len);
    memset(buf + 8 + len, ' ', padded - len);
    if (data_size)
        memcpy(buf + 8 + padded, data, data_size);
    write_bytes(path, buf, 8 + padded + data_size);
    free(buf);
    free(text);
}

static void st_free(st_parts *p)
{
    json_decref(p->header);
    free(p->data);
}

static json_int_t entry_offset(json_t *header, const char *name, size_t which)
{
    json_t *e = json_object_get(header, name);
    ck_assert_msg(e != NULL, "no %s in the header", name);
    return json_integer_value(json_array_get(json_object_get(e, "data_offsets"), which));
}

static void set_offsets(json_t *header, const char *name, json_int_t begin, json_int_t end)
{
    json_t *e = json_object_get(header, name);
    ck_assert_ptr_nonnull(e);
    json_t *o = json_pack("[I, I]", (json_int_t)begin, (json_int_t)end);
    ck_assert_int_eq(json_object_set_new(e, "data_offsets", o), 0);
}

static void set_entry_field(json_t *header, const char *name, const char *key, const char *json_value)
{
    json_t *e = json_object_get(header, name);
    ck_assert_msg(e != NULL, "no %s in the header", name);
    json_t *v = json_loads(json_value, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(json_object_set_new(e, key, v), 0);
}

/* A fresh synthetic checkpoint of cfg in a new temporary folder. */
static void write_checkpoint(char *dir, size_t size, const char *what, const clr_llama_config *cfg, uint64_t seed,
                             clr_weight_dtype dtype)
{
    clr_error err = {0};
    test_mkdtemp(dir, size, what);
    ck_assert_msg(clr_llama_write_synthetic(dir, cfg, seed, dtype, &err) == CLR_OK, "%s", err.msg);
}

/* Loading dir fails with CLR_EUSAGE, a message holding every given piece, and nothing kept. */
static void expect_load_error(const char *dir, const char *piece, const char *piece2)
{
    clr_llama_weights w;
    clr_error err = {0};
    memset(&w, 0xab, sizeof w);
    int rc = clr_llama_load(dir, &w, &err);
    ck_assert_msg(rc == CLR_EUSAGE, "expected CLR_EUSAGE with \"%s\", got %d: %s", piece, rc, err.msg);
    ck_assert_int_eq(err.code, CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, piece) != NULL, "\"%s\" not in: %s", piece, err.msg);
    ck_assert_msg(!piece2 || strstr(err.msg, piece2) != NULL, "\"%s\" not in: %s", piece2, err.msg);
    ck_assert_ptr_null(w.embed);
    ck_assert_ptr_null(w.layer);
    ck_assert_ptr_null(w.lm_head);
    clr_llama_free(&w);
}

/* ---- Round trips ---- */

static void round_trip(clr_weight_dtype dtype)
{
    char dir[512], path[600];
    clr_llama_config cfg = tiny_config();
    write_checkpoint(dir, sizeof dir, "roundtrip", &cfg, 11, dtype);
    clr_llama_weights w;
    clr_error err = {0};
    ck_assert_msg(clr_llama_load(dir, &w, &err) == CLR_OK, "%s", err.msg);
    check_same_config(&w.cfg, &cfg);
    ck_assert_int_eq(w.cfg.dtype, dtype);
    size_t stored = total_params(&cfg) * (dtype == CLR_W_BF16 ? 2 : 4);
    ck_assert_uint_eq(w.weight_bytes, stored);
    ck_assert_ptr_ne(w.lm_head, w.embed);
    check_weights(&w, 11, dtype == CLR_W_BF16);
    clr_llama_free(&w);
    clr_llama_free(&w); /* twice: harmless */

    /* What the files say, as Hugging Face's tools read them. */
    size_t size;
    path_in(path, sizeof path, dir, "config.json");
    char *config = read_bytes(path, &size);
    ck_assert_ptr_nonnull(strstr(config, "\"LlamaForCausalLM\""));
    ck_assert_ptr_nonnull(strstr(config, "\"silu\""));
    ck_assert_ptr_nonnull(strstr(config, dtype == CLR_W_BF16 ? "\"bfloat16\"" : "\"float32\""));
    free(config);
    path_in(path, sizeof path, dir, "model.safetensors");
    st_parts p = st_read(path);
    json_t *meta = json_object_get(p.header, "__metadata__");
    ck_assert_str_eq(json_string_value(json_object_get(meta, "format")), "pt");
    ck_assert_uint_eq(json_object_size(p.header), 1 + 2 + 9 * cfg.layers + 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(p.header, "lm_head.weight"), "dtype")),
                     dtype == CLR_W_BF16 ? "BF16" : "F32");
    ck_assert_uint_eq(p.data_size, stored);
    st_free(&p);
}

START_TEST(round_trip_f32)
{
    round_trip(CLR_W_F32);
}
END_TEST

START_TEST(round_trip_bf16)
{
    round_trip(CLR_W_BF16);
}
END_TEST

START_TEST(tied_gqa_llama3)
{
    char dir[512], untied[512];
    clr_llama_config cfg = tiny_config();
    cfg.tie_embeddings = 1;
    cfg.heads = 8;
    cfg.kv_heads = 2;
    cfg.head_dim = 6;
    cfg.max_pos = 4096;
    cfg.rope_theta = 500000.0;
    cfg.rms_eps = 1e-5;
    cfg.rope_llama3 = 1;
    cfg.rope_factor = 32.0;
    cfg.rope_low_freq = 1.0;
    cfg.rope_high_freq = 4.0;
    cfg.rope_original_max_pos = 8192;
    cfg.bos_id = 128000;
    cfg.eos_id = 128001;
    write_checkpoint(dir, sizeof dir, "tied", &cfg, 3, CLR_W_BF16);
    clr_llama_weights w;
    clr_error err = {0};
    ck_assert_msg(clr_llama_load(dir, &w, &err) == CLR_OK, "%s", err.msg);
    check_same_config(&w.cfg, &cfg);
    ck_assert_ptr_eq(w.lm_head, w.embed);
    ck_assert_uint_eq(w.weight_bytes, total_params(&cfg) * 2);
    check_weights(&w, 3, 1);
    clr_llama_free(&w);

    char path[600];
    path_in(path, sizeof path, dir, "model.safetensors");
    st_parts p = st_read(path);
    ck_assert_ptr_null(json_object_get(p.header, "lm_head.weight"));
    st_free(&p);
    size_t size;
    path_in(path, sizeof path, dir, "config.json");
    char *text = read_bytes(path, &size);
    ck_assert_ptr_nonnull(strstr(text, "\"llama3\""));
    free(text);

    /* A tied config over a checkpoint that has lm_head.weight anyway: it is ignored. */
    clr_llama_config plain = tiny_config();
    write_checkpoint(untied, sizeof untied, "untied", &plain, 4, CLR_W_F32);
    path_in(path, sizeof path, untied, "config.json");
    json_t *root = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_object_set_new(root, "tie_word_embeddings", json_true());
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
    ck_assert_msg(clr_llama_load(untied, &w, &err) == CLR_OK, "%s", err.msg);
    ck_assert_ptr_eq(w.lm_head, w.embed);
    ck_assert_uint_eq(w.weight_bytes, (total_params(&plain) - plain.vocab * plain.dim) * 4);
    check_weights(&w, 4, 0);
    clr_llama_free(&w);
}
END_TEST

START_TEST(synthetic_defaults_and_refusals)
{
    clr_llama_config c = clr_llama_synthetic_config();
    ck_assert_uint_eq(c.dim, 288);
    ck_assert_uint_eq(c.layers, 6);
    ck_assert_uint_eq(c.heads, 6);
    ck_assert_uint_eq(c.kv_heads, 6);
    ck_assert_uint_eq(c.head_dim, 48);
    ck_assert_uint_eq(c.hidden, 768);
    ck_assert_uint_eq(c.vocab, 32000);
    ck_assert_uint_eq(c.max_pos, 1024);
    ck_assert(c.rms_eps == 1e-5 && c.rope_theta == 10000.0);
    ck_assert(!c.tie_embeddings && !c.rope_llama3);
    ck_assert_int_eq(c.bos_id, 1);
    ck_assert_int_eq(c.eos_id, 2);
    ck_assert_int_eq(c.dtype, CLR_W_F32);
    ck_assert_str_eq(clr_weight_dtype_name(CLR_W_F32), "F32");
    ck_assert_str_eq(clr_weight_dtype_name(CLR_W_BF16), "BF16");
    ck_assert_str_eq(clr_weight_dtype_name(CLR_W_F16), "F16");

    /* Refused before anything is created. */
    char root[512], dir[600];
    test_mkdtemp(root, sizeof root, "refused");
    path_in(dir, sizeof dir, root, "sub/model");
    clr_error err = {0};
    clr_llama_config t = tiny_config();
    ck_assert_int_eq(clr_llama_write_synthetic(dir, &t, 1, CLR_W_F16, &err), CLR_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "F16"));
    t.kv_heads = 3;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_llama_write_synthetic(dir, &t, 1, CLR_W_F32, &err), CLR_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "num_key_value_heads"));
    t = tiny_config();
    t.head_dim = 5;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_llama_write_synthetic(dir, &t, 1, CLR_W_F32, &err), CLR_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "odd"));
    t = tiny_config();
    t.vocab = (size_t)1 << 36;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_llama_write_synthetic(dir, &t, 1, CLR_W_F32, &err), CLR_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "too large"));
    ck_assert_int_eq(test_count_files(root, NULL), 0);
    char sub[600];
    path_in(sub, sizeof sub, root, "sub");
    ck_assert_int_ne(access(sub, F_OK), 0);

    /* Same seed, same bytes; another seed, other bytes. */
    char a[512], b[512], pa[600], pb[600];
    t = tiny_config();
    write_checkpoint(a, sizeof a, "seed-a", &t, 9, CLR_W_BF16);
    write_checkpoint(b, sizeof b, "seed-b", &t, 9, CLR_W_BF16);
    path_in(pa, sizeof pa, a, "model.safetensors");
    path_in(pb, sizeof pb, b, "model.safetensors");
    size_t na, nb;
    char *ba = read_bytes(pa, &na), *bb = read_bytes(pb, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(ba, bb, na) == 0);
    free(bb);
    memset(&err, 0, sizeof err);
    ck_assert_msg(clr_llama_write_synthetic(b, &t, 10, CLR_W_BF16, &err) == CLR_OK, "%s", err.msg);
    bb = read_bytes(pb, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(ba, bb, na) != 0);
    free(ba);
    free(bb);
}
END_TEST

START_TEST(free_is_safe)
{
    clr_llama_weights w;
    memset(&w, 0, sizeof w);
    clr_llama_free(&w);
    clr_llama_free(&w);
    ck_assert_ptr_null(w.embed);
}
END_TEST

/* ---- Shards ---- */

/* dir's model.safetensors split into two shards and an index in out (config.json copied). */
static void split_in_two(const char *dir, const char *out)
{
    char path[600];
    path_in(path, sizeof path, dir, "model.safetensors");
    st_parts p = st_read(path);
    copy_file(dir, out, "config.json");
    static const char *const shard_names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    json_t *headers[2] = {json_object(), json_object()}, *map = json_object();
    unsigned char *data[2] = {malloc(p.data_size + 1), malloc(p.data_size + 1)};
    size_t used[2] = {0, 0}, k = 0, count = json_object_size(p.header) - 1;
    const char *name;
    json_t *entry;
    json_object_foreach(p.header, name, entry) {
        if (!strcmp(name, "__metadata__"))
            continue;
        int s = k++ >= count / 2;
        json_int_t begin = entry_offset(p.header, name, 0), end = entry_offset(p.header, name, 1);
        json_t *copy = json_deep_copy(entry);
        json_object_set_new(copy, "data_offsets", json_pack("[I, I]", (json_int_t)used[s],
                                                            (json_int_t)(used[s] + (size_t)(end - begin))));
        json_object_set_new(headers[s], name, copy);
        memcpy(data[s] + used[s], p.data + begin, (size_t)(end - begin));
        used[s] += (size_t)(end - begin);
        json_object_set_new(map, name, json_string(shard_names[s]));
    }
    for (int s = 0; s < 2; ++s) {
        path_in(path, sizeof path, out, shard_names[s]);
        st_write(path, headers[s], data[s], used[s]);
        json_decref(headers[s]);
        free(data[s]);
    }
    json_t *index = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)p.data_size, "weight_map", map);
    path_in(path, sizeof path, out, "model.safetensors.index.json");
    ck_assert_int_eq(json_dump_file(index, path, JSON_INDENT(2)), 0);
    json_decref(index);
    st_free(&p);
}

static void edit_index(const char *dir, const char *tensor, const char *shard)
{
    char path[600];
    path_in(path, sizeof path, dir, "model.safetensors.index.json");
    json_t *root = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_t *map = json_object_get(root, "weight_map");
    if (shard)
        json_object_set_new(map, tensor, json_string(shard));
    else
        json_object_del(map, tensor);
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
}

START_TEST(shards)
{
    char dir[512], sharded[512];
    clr_llama_config cfg = tiny_config();
    write_checkpoint(dir, sizeof dir, "single", &cfg, 21, CLR_W_BF16);
    test_mkdtemp(sharded, sizeof sharded, "sharded");
    split_in_two(dir, sharded);
    clr_llama_weights a, b;
    clr_error err = {0};
    ck_assert_msg(clr_llama_load(dir, &a, &err) == CLR_OK, "%s", err.msg);
    ck_assert_msg(clr_llama_load(sharded, &b, &err) == CLR_OK, "%s", err.msg);
    ck_assert_uint_eq(a.weight_bytes, b.weight_bytes);
    ck_assert_int_eq(b.cfg.dtype, CLR_W_BF16);
    check_weights(&b, 21, 1);
    ck_assert(memcmp(a.embed, b.embed, cfg.vocab * cfg.dim * sizeof(float)) == 0);
    clr_llama_free(&a);
    clr_llama_free(&b);

    /* An index is preferred to a model.safetensors beside it. */
    copy_file(dir, sharded, "model.safetensors");
    edit_index(sharded, "model.norm.weight", NULL);
    expect_load_error(sharded, "model.norm.weight", "weight_map");

    /* Hostile or broken indexes. */
    char bad[512];
    static const struct { const char *shard, *piece, *piece2; } cases[] = {
        {"../single/model.safetensors", "not a plain file name", "model.embed_tokens.weight"},
        {"/etc/passwd", "not a plain file name", "model.embed_tokens.weight"},
        {"..", "not a plain file name", "model.embed_tokens.weight"},
        {"", "not a plain file name", "model.embed_tokens.weight"},
        {"model-00003-of-00002.safetensors", "No such file", "model-00003-of-00002.safetensors"},
        {"model-00002-of-00002.safetensors", "model.embed_tokens.weight is missing", "model-00002-of-00002"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        test_mkdtemp(bad, sizeof bad, "badindex");
        split_in_two(dir, bad);
        edit_index(bad, "model.embed_tokens.weight", cases[i].shard);
        expect_load_error(bad, cases[i].piece, cases[i].piece2);
    }
    test_mkdtemp(bad, sizeof bad, "badindex");
    split_in_two(dir, bad);
    char path[600];
    path_in(path, sizeof path, bad, "model.safetensors.index.json");
    static const char *const indexes[][2] = {
        {"{\"weight_map\": [1, 2]}", "no weight_map"},
        {"{\"weight_map\": {\"a\": 1}}", "not a file name"},
        {"{\"weight_map\": {", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof indexes / sizeof indexes[0]; ++i) {
        write_bytes(path, indexes[i][0], strlen(indexes[i][0]));
        expect_load_error(bad, indexes[i][1], "model.safetensors.index.json");
    }
}
END_TEST

/* ---- config.json ---- */

static json_t *base_config(void)
{
    json_t *c = json_loads("{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 64,"
                           " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"intermediate_size\": 96,"
                           " \"vocab_size\": 100, \"torch_dtype\": \"bfloat16\"}", 0, NULL);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* base_config with key set to the JSON value (NULL: removed), loaded from a fresh folder. */
static int load_edited_config(const char *key, const char *value, clr_llama_config *cfg, clr_error *err)
{
    char dir[512], path[600];
    test_mkdtemp(dir, sizeof dir, "config");
    json_t *c = base_config();
    if (value) {
        json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
        ck_assert_msg(v != NULL, "bad test value %s", value);
        json_object_set_new(c, key, v);
    } else if (key) {
        json_object_del(c, key);
    }
    path_in(path, sizeof path, dir, "config.json");
    ck_assert_int_eq(json_dump_file(c, path, 0), 0);
    json_decref(c);
    memset(err, 0, sizeof *err);
    return clr_llama_config_load(dir, cfg, err);
}

START_TEST(config_defaults)
{
    clr_llama_config c;
    clr_error err = {0};
    ck_assert_msg(load_edited_config(NULL, NULL, &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_uint_eq(c.dim, 64);
    ck_assert_uint_eq(c.layers, 2);
    ck_assert_uint_eq(c.heads, 4);
    ck_assert_uint_eq(c.kv_heads, 4);
    ck_assert_uint_eq(c.head_dim, 16);
    ck_assert_uint_eq(c.hidden, 96);
    ck_assert_uint_eq(c.vocab, 100);
    ck_assert_uint_eq(c.max_pos, 2048);
    ck_assert(c.rms_eps == 1e-6 && c.rope_theta == 10000.0);
    ck_assert(!c.rope_llama3 && !c.tie_embeddings);
    ck_assert_int_eq(c.bos_id, -1);
    ck_assert_int_eq(c.eos_id, -1);
    ck_assert_int_eq(c.dtype, CLR_W_F32);

    ck_assert_msg(load_edited_config("head_dim", "null", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_uint_eq(c.head_dim, 16);
    ck_assert_msg(load_edited_config("head_dim", "32", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_uint_eq(c.head_dim, 32);
    ck_assert_msg(load_edited_config("num_key_value_heads", "1", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_uint_eq(c.kv_heads, 1);
    ck_assert_msg(load_edited_config("eos_token_id", "[128001, 128008, 128009]", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_int_eq(c.eos_id, 128001);
    ck_assert_msg(load_edited_config("bos_token_id", "7", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_int_eq(c.bos_id, 7);
    ck_assert_msg(load_edited_config("rope_scaling", "{\"type\": \"default\"}", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert(!c.rope_llama3);
    ck_assert_msg(load_edited_config("rope_scaling", "{\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": "
                                     "4.0, \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}",
                                     &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert(c.rope_llama3 && c.rope_factor == 8.0 && c.rope_low_freq == 1.0 && c.rope_high_freq == 4.0);
    ck_assert_uint_eq(c.rope_original_max_pos, 8192);
    ck_assert_msg(load_edited_config("architectures", NULL, &c, &err) == CLR_OK, "%s", err.msg); /* model_type */
    ck_assert_msg(load_edited_config("model_type", NULL, &c, &err) == CLR_OK, "%s", err.msg);     /* architectures */
    ck_assert_msg(load_edited_config("attention_bias", "false", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_msg(load_edited_config("hidden_act", "\"silu\"", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert_msg(load_edited_config("tie_word_embeddings", "true", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert(c.tie_embeddings);
    ck_assert_msg(load_edited_config("rms_norm_eps", "1e-05", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert(c.rms_eps == 1e-5);
    ck_assert_msg(load_edited_config("rope_theta", "500000", &c, &err) == CLR_OK, "%s", err.msg);
    ck_assert(c.rope_theta == 500000.0);
}
END_TEST

START_TEST(config_refusals)
{
    static const struct { const char *key, *value, *piece, *piece2; } cases[] = {
        {"architectures", "[\"MistralForCausalLM\"]", "MistralForCausalLM", "not a Llama checkpoint"},
        {"model_type", "\"qwen2\"", "qwen2", "not a Llama checkpoint"}, /* with architectures Llama: accepted */
        {"num_key_value_heads", "3", "not a multiple of num_key_value_heads", NULL},
        {"hidden_size", "64.5", "hidden_size must be a positive integer", "64.5"},
        {"hidden_size", "64.0", "hidden_size must be a positive integer", NULL},
        {"num_hidden_layers", "-2", "num_hidden_layers must be a positive integer", "-2"},
        {"vocab_size", "\"100\"", "vocab_size must be a positive integer", NULL},
        {"intermediate_size", "0", "intermediate_size must be a positive integer", NULL},
        {"intermediate_size", NULL, "intermediate_size is missing", NULL},
        {"head_dim", "15", "head_dim 15 is odd", NULL},
        {"vocab_size", "1099511627776", "too large", "vocab_size"},
        {"num_hidden_layers", "4294967296", "too large", "num_hidden_layers"},
        {"attention_bias", "true", "attention_bias", "bias"},
        {"mlp_bias", "true", "mlp_bias", NULL},
        {"attention_bias", "1", "attention_bias must be true or false", NULL},
        {"hidden_act", "\"gelu\"", "hidden_act \"gelu\"", "silu"},
        {"rope_scaling", "{\"rope_type\": \"linear\", \"factor\": 2.0}", "\"linear\" is not supported", NULL},
        {"rope_scaling", "{\"type\": \"yarn\", \"factor\": 2.0}", "\"yarn\"", NULL},
        {"rope_scaling", "{\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                         "\"original_max_position_embeddings\": 8192}", "rope_scaling.factor is missing", NULL},
        {"rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": "
                         "4.0, \"original_max_position_embeddings\": 8192}", "high_freq_factor", NULL},
        {"rope_scaling", "[1]", "rope_scaling must be an object", NULL},
        {"rms_norm_eps", "-1e-5", "rms_norm_eps must be a positive number", NULL},
        {"rope_theta", "\"10000\"", "rope_theta must be a positive number", NULL},
        {"tie_word_embeddings", "\"yes\"", "tie_word_embeddings must be true or false", NULL},
        {"eos_token_id", "-3", "eos_token_id must be a token id", NULL},
        {"bos_token_id", "[\"<s>\"]", "bos_token_id must be a token id", NULL},
    };
    clr_llama_config c;
    clr_error err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        int rc = load_edited_config(cases[i].key, cases[i].value, &c, &err);
        if (i == 1) { /* model_type alone does not refuse what architectures accepts */
            ck_assert_msg(rc == CLR_OK, "%s", err.msg);
            char dir[512], path[600];
            test_mkdtemp(dir, sizeof dir, "qwen");
            path_in(path, sizeof path, dir, "config.json");
            json_t *q = base_config();
            json_object_set_new(q, "architectures", json_pack("[s]", "Qwen2ForCausalLM"));
            json_object_set_new(q, "model_type", json_string("qwen2"));
            ck_assert_int_eq(json_dump_file(q, path, 0), 0);
            json_decref(q);
            memset(&err, 0, sizeof err);
            rc = clr_llama_config_load(dir, &c, &err);
        }
        ck_assert_msg(rc == CLR_EUSAGE, "%s=%s: expected CLR_EUSAGE, got %d (%s)", cases[i].key,
                      cases[i].value ? cases[i].value : "(removed)", rc, err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].piece) != NULL, "\"%s\" not in: %s", cases[i].piece, err.msg);
        ck_assert_msg(!cases[i].piece2 || strstr(err.msg, cases[i].piece2) != NULL, "\"%s\" not in: %s",
                      cases[i].piece2, err.msg);
        ck_assert_msg(strstr(err.msg, "config.json") != NULL, "no file named in: %s", err.msg);
    }

    /* Not JSON, not an object, duplicate keys, no file at all. */
    char dir[512], path[600];
    static const char *const texts[][2] = {
        {"{\"hidden_size\": 64,", "not valid JSON"},
        {"[1, 2]", "not a JSON object"},
        {"{\"hidden_size\": 64, \"hidden_size\": 64}", "not valid JSON"},
        {"{\"architectures\": [\"LlamaForCausalLM\"]}", "hidden_size is missing"},
        {"{\"architectures\": \"LlamaForCausalLM\"}", "architectures must be a list"},
        {"{}", "neither architectures nor model_type"},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; ++i) {
        test_mkdtemp(dir, sizeof dir, "configtext");
        path_in(path, sizeof path, dir, "config.json");
        write_bytes(path, texts[i][0], strlen(texts[i][0]));
        memset(&err, 0, sizeof err);
        ck_assert_int_eq(clr_llama_config_load(dir, &c, &err), CLR_EUSAGE);
        ck_assert_msg(strstr(err.msg, texts[i][1]) != NULL, "\"%s\" not in: %s", texts[i][1], err.msg);
    }
    test_mkdtemp(dir, sizeof dir, "noconfig");
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_llama_config_load(dir, &c, &err), CLR_EUSAGE);
    ck_assert_ptr_nonnull(strstr(err.msg, "config.json"));
    expect_load_error(dir, "config.json", NULL);
    /* A config but no weights. */
    json_t *base = base_config();
    path_in(path, sizeof path, dir, "config.json");
    ck_assert_int_eq(json_dump_file(base, path, 0), 0);
    json_decref(base);
    expect_load_error(dir, "no model.safetensors", NULL);
}
END_TEST

/* ---- Hostile safetensors ---- */

typedef void (*header_edit)(json_t *header, size_t data_size);

static void edit_unknown_dtype(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.layers.1.mlp.up_proj.weight", "dtype", "\"Q7\"");
}

static void edit_unsupported_dtype(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.norm.weight", "dtype", "\"F64\"");
    set_entry_field(h, "model.norm.weight", "shape", "[8]");
}

static void edit_unused_i64(json_t *h, size_t n)
{
    /* An extra tensor of another type is checked but not loaded: this one is refused only
     * because its bytes overlap the embedding. */
    (void)n;
    json_object_set_new(h, "extra.buffer", json_pack("{s:s, s:[i], s:[i, i]}", "dtype", "I64", "shape", 2,
                                                     "data_offsets", 0, 16));
}

static void edit_shape_mismatch(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.norm.weight", "shape", "[17]");
}

static void edit_past_data(json_t *h, size_t n)
{
    json_int_t begin = entry_offset(h, "lm_head.weight", 0);
    set_offsets(h, "lm_head.weight", begin, (json_int_t)n + 4);
}

static void edit_begin_after_end(json_t *h, size_t n)
{
    (void)n;
    set_offsets(h, "model.norm.weight", 64, 0);
}

static void edit_overlap(json_t *h, size_t n)
{
    (void)n;
    const char *a = "model.layers.0.input_layernorm.weight";
    set_offsets(h, "model.layers.0.post_attention_layernorm.weight", entry_offset(h, a, 0), entry_offset(h, a, 1));
}

static void edit_partial_overlap(json_t *h, size_t n)
{
    (void)n;
    const char *a = "model.layers.1.mlp.gate_proj.weight";
    json_int_t begin = entry_offset(h, a, 0) + 4, end = begin + 16 * 4;
    set_offsets(h, "model.norm.weight", begin, end);
}

static void edit_missing(json_t *h, size_t n)
{
    (void)n;
    ck_assert_int_eq(json_object_del(h, "model.layers.1.mlp.up_proj.weight"), 0);
}

static void edit_wrong_shape(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.layers.0.mlp.gate_proj.weight", "shape", "[16, 24]");
}

static void edit_wrong_rank(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.layers.0.input_layernorm.weight", "shape", "[1, 16]");
}

static void edit_mixed(json_t *h, size_t n)
{
    (void)n;
    json_int_t begin = entry_offset(h, "model.norm.weight", 0);
    set_entry_field(h, "model.norm.weight", "dtype", "\"BF16\"");
    set_offsets(h, "model.norm.weight", begin, begin + 32); /* leaves a gap, which is allowed */
}

static void edit_negative_shape(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.norm.weight", "shape", "[-16]");
}

static void edit_huge_shape(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.norm.weight", "shape", "[4294967296, 4294967296, 4294967296]");
}

static void edit_bad_offsets(json_t *h, size_t n)
{
    (void)n;
    set_entry_field(h, "model.norm.weight", "data_offsets", "[0]");
}

static void edit_entry_not_object(json_t *h, size_t n)
{
    (void)n;
    json_object_set_new(h, "model.norm.weight", json_integer(3));
}

static void edit_name_escape(json_t *h, size_t n)
{
    /* A hostile name reaches the message escaped, on one line. */
    (void)n;
    json_t *e = json_deep_copy(json_object_get(h, "model.norm.weight"));
    json_object_set_new(e, "dtype", json_string("Q7"));
    json_object_set_new(h, "evil\n\x1b[31mname", e);
}

/* A copy of src's checkpoint in a fresh folder, its header edited. */
static void edited_copy(const char *src, char *dir, size_t size, header_edit edit)
{
    char path[600];
    test_mkdtemp(dir, size, "hostile");
    copy_file(src, dir, "config.json");
    path_in(path, sizeof path, src, "model.safetensors");
    st_parts p = st_read(path);
    edit(p.header, p.data_size);
    path_in(path, sizeof path, dir, "model.safetensors");
    st_write(path, p.header, p.data, p.data_size);
    st_free(&p);
}

START_TEST(hostile_headers)
{
    char src[512], dir[512];
    clr_llama_config cfg = tiny_config();
    write_checkpoint(src, sizeof src, "source", &cfg, 5, CLR_W_F32);
    static const struct { header_edit edit; const char *piece, *piece2; } cases[] = {
        {edit_unknown_dtype, "unknown dtype \"Q7\"", "model.layers.1.mlp.up_proj.weight"},
        {edit_unsupported_dtype, "dtype F64, which is not supported", "model.norm.weight"},
        {edit_unused_i64, "overlap", "extra.buffer"},
        {edit_shape_mismatch, "needs 68 bytes", "model.norm.weight"},
        {edit_past_data, "past the end of the data", "lm_head.weight"},
        {edit_begin_after_end, "end before they begin", "model.norm.weight"},
        {edit_overlap, "overlap", "model.layers.0.post_attention_layernorm.weight"},
        {edit_partial_overlap, "overlap", "model.layers.1.mlp.gate_proj.weight"},
        {edit_missing, "model.layers.1.mlp.up_proj.weight is missing", NULL},
        {edit_wrong_shape, "has shape [16,24], but config.json implies [24,16]", "model.layers.0.mlp.gate_proj.weight"},
        {edit_wrong_rank, "has shape [1,16], but config.json implies [16]", NULL},
        {edit_mixed, "model.norm.weight is BF16 but the tensors before it are F32", NULL},
        {edit_negative_shape, "not a non-negative integer", "model.norm.weight"},
        {edit_huge_shape, "too large", "model.norm.weight"},
        {edit_bad_offsets, "data_offsets must be [begin, end]", "model.norm.weight"},
        {edit_entry_not_object, "not an object", "model.norm.weight"},
        {edit_name_escape, "evil\\n\\x1b[31mname", "unknown dtype"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        edited_copy(src, dir, sizeof dir, cases[i].edit);
        expect_load_error(dir, cases[i].piece, cases[i].piece2);
        expect_load_error(dir, "model.safetensors", NULL);
    }
    /* An unused tensor of another dtype, where it belongs: accepted. */
    edited_copy(src, dir, sizeof dir, edit_unknown_dtype);
    char path[600];
    path_in(path, sizeof path, dir, "model.safetensors");
    st_parts p = st_read(path);
    set_entry_field(p.header, "model.layers.1.mlp.up_proj.weight", "dtype", "\"F32\"");
    p.data = realloc(p.data, p.data_size + 16);
    memset(p.data + p.data_size, 0, 16);
    json_object_set_new(p.header, "extra.buffer", json_pack("{s:s, s:[i], s:[I, I]}", "dtype", "I64", "shape", 2,
                                                            "data_offsets", (json_int_t)p.data_size,
                                                            (json_int_t)p.data_size + 16));
    st_write(path, p.header, p.data, p.data_size + 16);
    st_free(&p);
    clr_llama_weights w;
    clr_error err = {0};
    ck_assert_msg(clr_llama_load(dir, &w, &err) == CLR_OK, "%s", err.msg);
    check_weights(&w, 5, 0);
    clr_llama_free(&w);
}
END_TEST

/* Raw damage: the length word, the header's bytes, the file's end. */
START_TEST(hostile_bytes)
{
    char src[512], dir[512], path[600];
    clr_llama_config cfg = tiny_config();
    write_checkpoint(src, sizeof src, "source", &cfg, 6, CLR_W_BF16);
    path_in(path, sizeof path, src, "model.safetensors");
    size_t size;
    unsigned char *orig = (unsigned char *)read_bytes(path, &size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = n << 8 | orig[i];
    unsigned char *bytes = malloc(size);
    ck_assert_ptr_nonnull(bytes);

    enum { LENGTH_PAST_FILE, LENGTH_HUGE, NOT_JSON, ARRAY, TRUNCATED, TINY, EMPTY_HEADER, CASES };
    static const char *const pieces[CASES][2] = {
        {"runs past the end of the file", NULL}, {"runs past the end of the file", NULL},
        {"header is not valid JSON", NULL},      {"header is not a JSON object", NULL},
        {"truncated", "lm_head.weight"},          {"too short for a safetensors file", NULL},
        {"header is not valid JSON", NULL},
    };
    for (int k = 0; k < CASES; ++k) {
        size_t len = size;
        memcpy(bytes, orig, size);
        uint64_t word = n;
        if (k == LENGTH_PAST_FILE)
            word = size - 7;
        else if (k == LENGTH_HUGE)
            word = UINT64_MAX;
        else if (k == NOT_JSON)
            memcpy(bytes + 8, "nothing", 7);
        else if (k == ARRAY) {
            memset(bytes + 8, ' ', (size_t)n);
            memcpy(bytes + 8, "[1, 2]", 6);
        } else if (k == TRUNCATED)
            len = size - 10;
        else if (k == TINY)
            len = 7;
        else if (k == EMPTY_HEADER)
            memset(bytes + 8, ' ', (size_t)n);
        for (int i = 0; i < 8; ++i)
            bytes[i] = (unsigned char)(word >> (8 * i));
        test_mkdtemp(dir, sizeof dir, "bytes");
        copy_file(src, dir, "config.json");
        path_in(path, sizeof path, dir, "model.safetensors");
        write_bytes(path, bytes, len);
        expect_load_error(dir, pieces[k][0], pieces[k][1]);
        expect_load_error(dir, "model.safetensors", NULL);
    }
    /* Not a file at all. */
    test_mkdtemp(dir, sizeof dir, "bytes");
    copy_file(src, dir, "config.json");
    path_in(path, sizeof path, dir, "model.safetensors");
    ck_assert_int_eq(mkdir(path, 0700), 0);
    expect_load_error(dir, "not a regular file", NULL);
    free(bytes);
    free(orig);
}
END_TEST

START_TEST(config_does_not_match_weights)
{
    char src[512], path[600];
    clr_llama_config cfg = tiny_config();
    write_checkpoint(src, sizeof src, "source", &cfg, 8, CLR_W_F32);
    path_in(path, sizeof path, src, "config.json");
    json_t *root = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_object_set_new(root, "num_hidden_layers", json_integer(3));
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    expect_load_error(src, "model.layers.2.input_layernorm.weight is missing", "num_hidden_layers");
    json_object_set_new(root, "num_hidden_layers", json_integer(2));
    json_object_set_new(root, "num_key_value_heads", json_integer(4));
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    expect_load_error(src, "model.layers.0.self_attn.k_proj.weight has shape [8,16], but config.json implies [16,16]",
                      NULL);
    json_object_set_new(root, "num_key_value_heads", json_integer(2));
    json_object_set_new(root, "architectures", json_pack("[s]", "MistralForCausalLM"));
    json_object_set_new(root, "model_type", json_string("mistral"));
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    expect_load_error(src, "MistralForCausalLM", "not a Llama checkpoint");
    json_decref(root);
}
END_TEST

/* ---- F16 ---- */

/* A half's value by its definition, through ldexp: (-1)^s 2^(e-15) (1 + m/1024), or
 * 2^-14 m/1024 when e is 0. */
static double half_reference(uint16_t h, int *is_nan)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    *is_nan = e == 31 && m != 0;
    if (e == 31)
        v = HUGE_VAL;
    else if (e == 0)
        v = ldexp((double)m / 1024.0, -14);
    else
        v = ldexp(1.0 + (double)m / 1024.0, e - 15);
    return sign ? -v : v;
}

static void put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

START_TEST(f16_every_value)
{
    /* A tied model whose embedding is 256 x 256: every half bit pattern once, in order. */
    char dir[512], path[600];
    clr_llama_config cfg = tiny_config();
    cfg.dim = 256;
    cfg.vocab = 256;
    cfg.layers = 1;
    cfg.heads = 2;
    cfg.kv_heads = 1;
    cfg.head_dim = 8;
    cfg.hidden = 4;
    cfg.tie_embeddings = 1;
    write_checkpoint(dir, sizeof dir, "f16", &cfg, 1, CLR_W_F32);
    path_in(path, sizeof path, dir, "model.safetensors");
    st_parts p = st_read(path);
    size_t count = 0;
    const char *name;
    json_t *e;
    json_object_foreach(p.header, name, e) {
        if (strcmp(name, "__metadata__") == 0)
            continue;
        json_int_t begin = entry_offset(p.header, name, 0), end = entry_offset(p.header, name, 1);
        count += (size_t)(end - begin) / 4;
    }
    unsigned char *data = malloc(2 * count);
    ck_assert_ptr_nonnull(data);
    json_t *h = json_object();
    size_t at = 0;
    json_object_foreach(p.header, name, e) {
        if (strcmp(name, "__metadata__") == 0)
            continue;
        size_t n = (size_t)(entry_offset(p.header, name, 1) - entry_offset(p.header, name, 0)) / 4;
        int embed = strcmp(name, "model.embed_tokens.weight") == 0;
        if (embed)
            ck_assert_uint_eq(n, 65536);
        for (size_t i = 0; i < n; ++i)
            put_u16(data + 2 * (at + i), embed ? (uint16_t)i : 0x3c00); /* 1.0 elsewhere */
        json_object_set_new(h, name, json_pack("{s:s, s:O, s:[I, I]}", "dtype", "F16", "shape",
                                               json_object_get(e, "shape"), "data_offsets", (json_int_t)(2 * at),
                                               (json_int_t)(2 * (at + n))));
        at += n;
    }
    st_write(path, h, data, 2 * count);
    json_decref(h);
    free(data);
    st_free(&p);

    clr_llama_weights w;
    clr_error err = {0};
    ck_assert_msg(clr_llama_load(dir, &w, &err) == CLR_OK, "%s", err.msg);
    ck_assert_int_eq(w.cfg.dtype, CLR_W_F16);
    ck_assert_uint_eq(w.weight_bytes, 2 * count);
    ck_assert(w.final_norm[0] == 1.0f && w.layer[0].w_down[3] == 1.0f);
    size_t subnormals = 0, nans = 0;
    for (uint32_t i = 0; i < 65536; ++i) {
        int is_nan;
        double want = half_reference((uint16_t)i, &is_nan);
        float got = w.embed[i];
        uint32_t bits = bits_of(got);
        if (is_nan) {
            ck_assert_msg(isnan(got), "half 0x%04x: %a is not a NaN", i, (double)got);
            ck_assert_msg((bits >> 31) == (i >> 15), "half 0x%04x: NaN sign", i);
            ck_assert_msg(((bits >> 13) & 0x3ff) == (i & 0x3ff) && (bits & 0x1fff) == 0,
                          "half 0x%04x: NaN payload not kept (0x%08x)", i, bits);
            ++nans;
            continue;
        }
        ck_assert_msg(bits_of((float)want) == bits, "half 0x%04x: %a, expected %a", i, (double)got, want);
        ck_assert_msg((double)got == want, "half 0x%04x: not exact", i); /* every half is a float */
        subnormals += ((i >> 10) & 31) == 0 && (i & 1023) != 0;
    }
    ck_assert_uint_eq(nans, 2 * 1023);
    ck_assert_uint_eq(subnormals, 2 * 1023);
    ck_assert(w.embed[0x7c00] == INFINITY && w.embed[0xfc00] == -INFINITY);
    ck_assert(bits_of(w.embed[0x8000]) == 0x80000000u); /* -0 */
    ck_assert(w.embed[1] == 0x1p-24f && w.embed[0x3ff] == 0x3ffp-24f && w.embed[0x7bff] == 65504.0f);
    clr_llama_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("llama");
    TCase *trip = tcase_create("round_trip");
    tcase_add_test(trip, round_trip_f32);
    tcase_add_test(trip, round_trip_bf16);
    tcase_add_test(trip, tied_gqa_llama3);
    tcase_add_test(trip, synthetic_defaults_and_refusals);
    tcase_add_test(trip, free_is_safe);
    tcase_add_test(trip, shards);
    suite_add_tcase(s, trip);
    TCase *config = tcase_create("config");
    tcase_add_test(config, config_defaults);
    tcase_add_test(config, config_refusals);
    suite_add_tcase(s, config);
    TCase *hostile = tcase_create("hostile");
    tcase_add_test(hostile, hostile_headers);
    tcase_add_test(hostile, hostile_bytes);
    tcase_add_test(hostile, config_does_not_match_weights);
    suite_add_tcase(s, hostile);
    TCase *f16 = tcase_create("f16");
    tcase_add_test(f16, f16_every_value);
    suite_add_tcase(s, f16);
    return clr_run_suite(s);
}
