/* llama.h: a Llama-family checkpoint (Hugging Face `LlamaForCausalLM`) on the host: its
 * config.json, its safetensors weights (one file or shards with model.safetensors.index.json;
 * F32, BF16 or F16, widened to float32), the synthetic checkpoint clrepro writes in the same
 * layout, the RoPE table shared by the engine and the reference, a float64 forward pass (the
 * tests' reference for `clrepro decode`), and the vocabulary of tokenizer.json for showing
 * completions as text. The engine on the device is src/decode.c. */
#ifndef CLREPRO_LLAMA_H
#define CLREPRO_LLAMA_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

typedef enum clr_weight_dtype { CLR_W_F32 = 0, CLR_W_BF16 = 1, CLR_W_F16 = 2 } clr_weight_dtype;
const char *clr_weight_dtype_name(clr_weight_dtype t); /* "F32", "BF16", "F16" */

typedef struct clr_llama_config {
    size_t dim;      /* hidden_size */
    size_t layers;   /* num_hidden_layers */
    size_t heads;    /* num_attention_heads */
    size_t kv_heads; /* num_key_value_heads (= heads when absent) */
    size_t head_dim; /* head_dim (= dim / heads when absent) */
    size_t hidden;   /* intermediate_size */
    size_t vocab;    /* vocab_size */
    size_t max_pos;  /* max_position_embeddings */
    double rms_eps;  /* rms_norm_eps */
    double rope_theta;
    /* rope_scaling {"rope_type": "llama3", factor, low_freq_factor, high_freq_factor,
     * original_max_position_embeddings} (Llama 3.1/3.2); rope_llama3 0: plain RoPE. */
    int rope_llama3;
    double rope_factor, rope_low_freq, rope_high_freq;
    size_t rope_original_max_pos;
    int tie_embeddings; /* tie_word_embeddings */
    int64_t bos_id, eos_id; /* -1 when absent */
    clr_weight_dtype dtype; /* of the tensors as stored (the first one's; all must agree) */
} clr_llama_config;

/* Parses dir/config.json. An architecture other than LlamaForCausalLM (or model_type other than
 * "llama"), a missing or impossible field (heads not dividing, head_dim odd, sizes whose
 * products overflow), attention or MLP biases, or a rope_scaling other than llama3 is CLR_EUSAGE
 * naming the field and the file. */
int clr_llama_config_load(const char *dir, clr_llama_config *cfg, clr_error *err);

typedef struct clr_llama_layer {
    float *attn_norm;        /* [dim] input_layernorm.weight */
    float *wq, *wk, *wv;     /* [heads*head_dim][dim], [kv_heads*head_dim][dim] (x2) */
    float *wo;               /* [dim][heads*head_dim] */
    float *ffn_norm;         /* [dim] post_attention_layernorm.weight */
    float *w_gate, *w_up;    /* [hidden][dim] */
    float *w_down;           /* [dim][hidden] */
} clr_llama_layer;

/* Weights in float32, Hugging Face's [out][in] row-major layout (y = W x). */
typedef struct clr_llama_weights {
    clr_llama_config cfg;
    float *embed;      /* [vocab][dim] model.embed_tokens.weight */
    float *final_norm; /* [dim] model.norm.weight */
    float *lm_head;    /* [vocab][dim] lm_head.weight; the same pointer as embed when tied */
    clr_llama_layer *layer; /* [layers] */
    size_t weight_bytes;    /* bytes of the tensors as stored in the checkpoint */
} clr_llama_weights;

/* Loads dir (config.json, then model.safetensors or model.safetensors.index.json and its
 * shards): every tensor the config implies must be there with its exact shape and dtype F32,
 * BF16 or F16; lm_head.weight is not needed when tied. A corrupt or hostile file (header length
 * past the file, header not a JSON object, offsets out of order, past the data or overlapping,
 * a shape whose byte count does not match its offsets, an unknown dtype, a truncated file) is
 * CLR_EUSAGE naming the file and the tensor. Tensors are read through mmap and widened. */
int clr_llama_load(const char *dir, clr_llama_weights *w, clr_error *err);
void clr_llama_free(clr_llama_weights *w);

/* Writes a synthetic checkpoint into dir (created): config.json and model.safetensors, every
 * weight from the counter-based generator (clr_gen, seed) scaled as documented in llama.c,
 * stored as dtype (F32 or BF16). Files are written whole or not at all. */
int clr_llama_write_synthetic(const char *dir, const clr_llama_config *cfg, uint64_t seed, clr_weight_dtype dtype,
                              clr_error *err);
/* The synthetic model's default shape (dim 288, 6 layers, 6 heads, 6 kv heads, hidden 768,
 * vocab 32000, max_pos 1024, eps 1e-5, theta 10000, untied). */
clr_llama_config clr_llama_synthetic_config(void);

/* RoPE (Hugging Face's rotate_half convention): cos and sin of position p, pair i (i <
 * head_dim / 2), at [p * (head_dim / 2) + i], for p < positions. Computed in float64 from the
 * config (llama3 scaling included) and rounded to float: the engine uploads this table, so every
 * device applies the same angles. */
void clr_llama_rope_table(const clr_llama_config *cfg, size_t positions, float *cos_out, float *sin_out);

/* The float64 forward pass of one sequence (tokens[0..n)), as LlamaForCausalLM computes it, with
 * the RoPE angles of clr_llama_rope_table: logits[t * vocab + v] after token t. CLR_EUSAGE for a
 * token id outside the vocabulary or n beyond max_pos. */
int clr_llama_reference(const clr_llama_weights *w, const int32_t *tokens, size_t n, double *logits, clr_error *err);

/* tokenizer.json's vocabulary, for showing ids as text: byte-level BPE (GPT-2 byte mapping:
 * SmolLM2, Llama 3) or SentencePiece-style ("\xe2\x96\x81" for spaces, <0xNN> byte tokens:
 * Llama 2, TinyLlama). */
typedef struct clr_tokenizer {
    size_t count;
    char **pieces;  /* id -> the token's text as stored */
    int byte_level; /* 1: GPT-2 byte mapping; 0: SentencePiece style */
} clr_tokenizer;
/* 0 and an empty tokenizer when dir has no tokenizer.json; CLR_EUSAGE when it is malformed. */
int clr_tokenizer_load(const char *dir, clr_tokenizer *tok, clr_error *err);
/* The text of ids (bytes, not necessarily valid UTF-8: print it through clr_escape), malloc'ed;
 * ids outside the vocabulary come out as "<id>". NULL on allocation failure. */
char *clr_tokenizer_decode(const clr_tokenizer *tok, const int32_t *ids, size_t n);
void clr_tokenizer_free(clr_tokenizer *tok);

#endif
