/* fuzz_checkpoint.c: libFuzzer target for what `clrepro decode --model DIR` reads from other
 * people's machines (src/llama.c, src/llama_ref.c): the first byte picks the file the rest of the
 * input becomes, in a folder of this process's own:
 *   0: model.safetensors, beside a fixed config.json of a tiny Llama (dim 4, 1 layer, 2 heads
 *      over 1 KV head of 2, hidden 4, vocab 8), loaded with clr_llama_load;
 *   1: config.json, read with clr_llama_config_load;
 *   2: tokenizer.json, read with clr_tokenizer_load, then ids -1..9 decoded.
 * Every input must load or be refused with one error (code CLR_EUSAGE, a message of one line),
 * without a sanitizer report; a loaded checkpoint must hold its tensors, finite or not, and free.
 * Build and run (the corpus: fuzz/corpus-checkpoint, a valid file of each kind):
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCLREPRO_FUZZ=ON && cmake --build build-fuzz
 *   mkdir -p /tmp/ck-corpus && build-fuzz/fuzz_checkpoint -max_total_time=600 -rss_limit_mb=1024 \
 *       /tmp/ck-corpus fuzz/corpus-checkpoint   (new inputs go to the first folder) */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "llama.h"

static const char config_text[] =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 4, "
    "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"head_dim\": 2, "
    "\"intermediate_size\": 4, \"vocab_size\": 8, \"max_position_embeddings\": 16, \"rms_norm_eps\": 1e-05, "
    "\"tie_word_embeddings\": false}";

static char dir[64];

static void put(const char *name, const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size))
        abort();
    fclose(f);
}

static void clear(void)
{
    const char *names[] = {"model.safetensors", "config.json", "tokenizer.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; ++i) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

/* A refusal is CLR_EUSAGE with one line of message. */
static void check_refusal(int rc, const clr_error *err)
{
    if (rc != CLR_EUSAGE || err->code != rc || !err->msg[0] || strchr(err->msg, '\n'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-checkpoint-%d", (int)getpid());
        char cmd[128];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        if (system(cmd) != 0)
            abort();
    }
    if (size < 1)
        return 0;
    clear();
    clr_error err = {0};
    unsigned kind = data[0] % 3;
    if (kind == 0) {
        put("config.json", (const uint8_t *)config_text, sizeof config_text - 1);
        put("model.safetensors", data + 1, size - 1);
        clr_llama_weights w = {0};
        int rc = clr_llama_load(dir, &w, &err);
        if (rc == CLR_OK) {
            volatile float sink = 0; /* every tensor is there and readable */
            for (size_t i = 0; i < w.cfg.vocab * w.cfg.dim; ++i)
                sink += w.embed[i] + w.lm_head[i];
            for (size_t i = 0; i < w.cfg.hidden * w.cfg.dim; ++i)
                sink += w.layer[0].w_gate[i] + w.layer[0].w_up[i] + w.layer[0].w_down[i];
            (void)sink;
        } else if (rc != CLR_EFAIL) { /* EFAIL: out of host memory, not the input's fault */
            check_refusal(rc, &err);
        }
        clr_llama_free(&w);
    } else if (kind == 1) {
        put("config.json", data + 1, size - 1);
        clr_llama_config cfg;
        int rc = clr_llama_config_load(dir, &cfg, &err);
        if (rc != CLR_OK)
            check_refusal(rc, &err);
        else if (!cfg.dim || !cfg.layers || !cfg.heads || !cfg.kv_heads || cfg.heads % cfg.kv_heads || !cfg.vocab ||
                 cfg.head_dim % 2)
            abort(); /* a config accepted must be one the engine can size */
    } else {
        put("tokenizer.json", data + 1, size - 1);
        clr_tokenizer tok = {0};
        int rc = clr_tokenizer_load(dir, &tok, &err);
        if (rc == CLR_OK) {
            int32_t ids[] = {-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
            char *text = clr_tokenizer_decode(&tok, ids, sizeof ids / sizeof *ids);
            free(text);
        } else {
            check_refusal(rc, &err);
        }
        clr_tokenizer_free(&tok);
    }
    return 0;
}
