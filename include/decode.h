/* decode.h: `clrepro decode`, a Llama-family model decoded greedily on an OpenCL device out of
 * clrepro's own operations (rmsnorm, matmul, attention: their strategy tables, not copies), and
 * the experiment that counts how many distinct completions each prompt gets across batch mixes,
 * repeats and devices, per mode. The engine is public for the tests. */
#ifndef CLREPRO_DECODE_H
#define CLREPRO_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "device.h"
#include "llama.h"
#include "util.h"

/* A mode: one strategy per operation (matmul's may switch with the number of rows, as a
 * library's heuristic does), and SwiGLU's exp. */
typedef struct clr_decode_mode {
    const char *name, *summary;
    const char *rmsnorm, *matmul, *attention; /* strategies of those operations */
    const char *matmul_small;                 /* NULL, or matmul's strategy up to small_m rows */
    size_t small_m;
    int portable_swiglu;                      /* 1: portable_exp and portable_div; 0: the vendor's */
} clr_decode_mode;
extern const clr_decode_mode clr_decode_modes[];
extern const size_t clr_decode_nmodes;
const clr_decode_mode *clr_decode_mode_find(const char *name);

typedef struct clr_decode_engine clr_decode_engine;

/* CLR_EUSAGE where the model's shapes are beyond the engine (head_dim above attention's 256,
 * sizes its kernels cannot index): checked as soon as the config is read. */
int clr_decode_check_model(const clr_llama_config *c, clr_error *err);

/* The model's weights on dev (float32, transposed into matmul's [K][N]), a KV cache of `cap`
 * tokens for each of max_batch sequences (row b of a step is cache slot b), and the programs.
 * CLR_EUSAGE where the model does not fit the device (named sizes) or a kernel does not build. */
int clr_decode_engine_create(const clr_device *dev, const clr_llama_weights *w, size_t max_batch, size_t cap,
                             const char *kernel_dir, clr_decode_engine **out, clr_error *err);
/* Chooses the mode's strategies: 0 when it runs here, else 1 with *why (a strategy unavailable). */
int clr_decode_engine_set_mode(clr_decode_engine *e, const clr_decode_mode *mode, char *why, size_t size);
/* 1: every activation between operations (the hidden state, the normalised state, q/k/v and the
 * cache, the attention output, the projections, gate/up, the MLP activation, the logits) is
 * rounded to bfloat16 as it is stored, as bf16 serving engines keep them; 0 (the default):
 * float32 throughout. The operations compute in float32 either way. */
void clr_decode_engine_set_bf16_activations(clr_decode_engine *e, int bf16);
/* Seconds a step may take before the run stops (0: no limit). */
void clr_decode_engine_set_timeout(clr_decode_engine *e, double seconds);
/* One decode step of B sequences: sequence b feeds tokens[b] at position pos[b] (its cache
 * slot b holds its tokens 0..pos[b]-1) and gets best[b] (the greedy token, -1 where every logit
 * is NaN) and top[2b], top[2b+1] (the largest logit and the largest of the others). With
 * logits non-NULL, the step's B x vocab logits are read back too. */
int clr_decode_engine_step(clr_decode_engine *e, size_t B, const int32_t *tokens, const uint32_t *pos, int32_t *best,
                           float *top, float *logits, clr_error *err);
/* Bytes of weights one step reads (every matrix, the norms, the logits matrix). */
double clr_decode_engine_weight_bytes(const clr_decode_engine *e);
/* The device's read bandwidth (GB/s) measured by copy.cl's read kernel over a buffer of the
 * weights' size (at most 1 GiB): the roof of tokens/s. */
int clr_decode_engine_roof(clr_decode_engine *e, double *gbps, clr_error *err);
void clr_decode_engine_free(clr_decode_engine *e);

int clr_cmd_decode(const clr_cli *cli, clr_error *err);

#endif
