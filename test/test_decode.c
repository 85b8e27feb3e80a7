/* test_decode.c: the decode engine (src/decode.c) against the float64 forward pass of
 * src/llama_ref.c on small synthetic models (grouped-query heads, tied embeddings, llama3 RoPE),
 * in every mode; the bits of a sequence decoded alone and inside a batch where the mode claims
 * them equal; a sabotaged glue kernel that the reference comparison catches; and the command's
 * handling of bad input (exit 2, nothing written) and of a small complete run. */
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "decode.h"
#include "llama.h"
#include "text.h"
#include "test_util.h"

/* A small model: dim 64, 2 layers, 4 heads over 2 KV heads of 16, hidden 96, vocab 300. */
static clr_llama_config small_config(int tied, int llama3)
{
    clr_llama_config c = clr_llama_synthetic_config();
    c.dim = 64, c.layers = 2, c.heads = 4, c.kv_heads = 2, c.head_dim = 16, c.hidden = 96, c.vocab = 300;
    c.max_pos = 128, c.tie_embeddings = tied;
    if (llama3) {
        c.rope_llama3 = 1, c.rope_factor = 8, c.rope_low_freq = 1, c.rope_high_freq = 4;
        c.rope_original_max_pos = 32, c.rope_theta = 500000;
    }
    return c;
}

static void load_model(const clr_llama_config *c, clr_weight_dtype dtype, clr_llama_weights *w)
{
    char dir[512];
    clr_error err = {0};
    test_mkdtemp(dir, sizeof dir, "model");
    ck_assert_msg(clr_llama_write_synthetic(dir, c, 7, dtype, &err) == CLR_OK, "%s", err.msg);
    ck_assert_msg(clr_llama_load(dir, w, &err) == CLR_OK, "%s", err.msg);
}

#define SEQ 12

/* Token t of test sequence s. */
static int32_t token_of(size_t s, size_t t, size_t vocab) { return (int32_t)((s * 131 + t * 17 + 3) % vocab); }

/* The largest |engine - reference| over the logits of `steps` steps, relative to the largest
 * |reference|, for B sequences decoded together, sequence b starting `b * 3` positions later
 * (so the batch holds different lengths). */
static double engine_error(clr_decode_engine *e, const clr_llama_weights *w, size_t B)
{
    size_t V = w->cfg.vocab;
    clr_error err = {0};
    double *ref = malloc(B * SEQ * V * sizeof *ref), worst = 0, scale = 0;
    float *logits = malloc(B * V * sizeof *logits), top[64];
    int32_t tokens[32], best[32], seq[SEQ];
    uint32_t pos[32];
    ck_assert(ref && logits && B <= 32);
    for (size_t b = 0; b < B; ++b) {
        for (size_t t = 0; t < SEQ; ++t)
            seq[t] = token_of(b, t, V);
        ck_assert_msg(clr_llama_reference(w, seq, SEQ, ref + b * SEQ * V, &err) == CLR_OK, "%s", err.msg);
    }
    for (size_t step = 0; step < SEQ + 3 * (B - 1); ++step) {
        /* a sequence not started yet, or done, feeds token 0 at position 0 (ignored) */
        for (size_t b = 0; b < B; ++b) {
            size_t t = step - 3 * b;
            int live = step >= 3 * b && t < SEQ;
            tokens[b] = live ? token_of(b, t, V) : 0;
            pos[b] = live ? (uint32_t)t : 0;
        }
        ck_assert_msg(clr_decode_engine_step(e, B, tokens, pos, best, top, logits, &err) == CLR_OK, "%s", err.msg);
        for (size_t b = 0; b < B; ++b) {
            size_t t = step - 3 * b;
            if (step < 3 * b || t >= SEQ)
                continue;
            const double *r = ref + (b * SEQ + t) * V;
            size_t arg = 0;
            for (size_t v = 0; v < V; ++v) {
                double d = fabs((double)logits[b * V + v] - r[v]);
                worst = d > worst ? d : worst;
                scale = fabs(r[v]) > scale ? fabs(r[v]) : scale;
                arg = logits[b * V + v] > logits[b * V + arg] ? v : arg;
            }
            ck_assert_int_eq(best[b], (int32_t)arg); /* the greedy choice is the logits' first maximum */
            ck_assert_float_eq(top[2 * b], logits[b * V + arg]);
        }
    }
    free(ref);
    free(logits);
    return worst / scale;
}

static void check_modes(const clr_llama_config *c, clr_weight_dtype dtype)
{
    clr_llama_weights w = {0};
    load_model(c, dtype, &w);
    clr_device dev = test_device();
    clr_decode_engine *e = NULL;
    clr_error err = {0};
    ck_assert_msg(clr_decode_engine_create(&dev, &w, 4, 64, NULL, &e, &err) == CLR_OK, "%s", err.msg);
    for (size_t m = 0; m < clr_decode_nmodes; ++m) {
        char why[256];
        if (clr_decode_engine_set_mode(e, &clr_decode_modes[m], why, sizeof why)) {
            fprintf(stderr, "mode %s not run: %s\n", clr_decode_modes[m].name, why);
            continue;
        }
        for (size_t B = 1; B <= 4; B += 3) {
            double rel = engine_error(e, &w, B);
            /* float32 against float64 through 2 layers: a few ulp of the largest logit */
            ck_assert_msg(rel < 5e-6, "mode %s, B = %zu: logits off the float64 reference by %.3g of their scale",
                          clr_decode_modes[m].name, B, rel);
        }
    }
    clr_decode_engine_free(e);
    clr_llama_free(&w);
}

START_TEST(engine_matches_reference)
{
    clr_llama_config c = small_config(0, 0);
    check_modes(&c, CLR_W_F32);
}
END_TEST

START_TEST(engine_matches_reference_tied_llama3_bf16)
{
    clr_llama_config c = small_config(1, 1);
    check_modes(&c, CLR_W_BF16);
}
END_TEST

/* Sequence 0's logits, bits, decoded alone and as row 0 of a batch of 5 whose other rows are at
 * other positions: equal in invariant and portable (every strategy of theirs claims it). */
START_TEST(batch_invariant_modes_keep_the_bits)
{
    clr_llama_config c = small_config(0, 0);
    clr_llama_weights w = {0};
    load_model(&c, CLR_W_F32, &w);
    clr_device dev = test_device();
    clr_decode_engine *e = NULL;
    clr_error err = {0};
    ck_assert_msg(clr_decode_engine_create(&dev, &w, 5, 64, NULL, &e, &err) == CLR_OK, "%s", err.msg);
    size_t V = c.vocab;
    float *alone = malloc(SEQ * V * sizeof *alone), *batch = malloc(5 * V * sizeof *batch), top[10];
    int32_t tokens[5], best[5];
    uint32_t pos[5];
    for (size_t m = 0; m < clr_decode_nmodes; ++m) {
        char why[256];
        if (!strcmp(clr_decode_modes[m].name, "fast") ||
            clr_decode_engine_set_mode(e, &clr_decode_modes[m], why, sizeof why))
            continue;
        for (size_t t = 0; t < SEQ; ++t) {
            tokens[0] = token_of(0, t, V);
            pos[0] = (uint32_t)t;
            ck_assert_msg(clr_decode_engine_step(e, 1, tokens, pos, best, top, alone + t * V, &err) == CLR_OK, "%s",
                          err.msg);
        }
        for (size_t t = 0; t < SEQ; ++t) {
            for (size_t b = 0; b < 5; ++b) {
                tokens[b] = token_of(b, t + 7 * b, V);
                pos[b] = (uint32_t)(t + 7 * b); /* the others are further along */
            }
            ck_assert_msg(clr_decode_engine_step(e, 5, tokens, pos, best, top, batch, &err) == CLR_OK, "%s", err.msg);
            ck_assert_msg(!memcmp(batch, alone + t * V, V * sizeof(float)),
                          "mode %s: sequence 0's logits at position %zu differ alone and in a batch of 5",
                          clr_decode_modes[m].name, t);
        }
    }
    free(alone);
    free(batch);
    clr_decode_engine_free(e);
    clr_llama_free(&w);
}
END_TEST

/* A RoPE store that drops the sine term of k (keys never turned): the comparison with the
 * reference must see it, so the reference test above can fail. */
START_TEST(sabotaged_rope_is_caught)
{
    clr_llama_config c = small_config(0, 0);
    clr_llama_weights w = {0};
    load_model(&c, CLR_W_F32, &w);
    char kdir[512];
    test_sabotaged_kernels(kdir, sizeof kdir, "decode.cl", "float a = x1 * c - x2 * s, e = x2 * c + x1 * s;",
                           "float a = x1 * c - (head < H ? x2 * s : 0.0f), e = x2 * c + x1 * s;");
    clr_device dev = test_device();
    clr_decode_engine *e = NULL;
    clr_error err = {0};
    ck_assert_msg(clr_decode_engine_create(&dev, &w, 1, 64, kdir, &e, &err) == CLR_OK, "%s", err.msg);
    char why[256];
    ck_assert_int_eq(clr_decode_engine_set_mode(e, &clr_decode_modes[1], why, sizeof why), 0);
    double rel = engine_error(e, &w, 1);
    ck_assert_msg(rel > 1e-3, "the sabotaged kernel's logits are within %.3g of the reference", rel);
    clr_decode_engine_free(e);
    clr_llama_free(&w);
    test_remove_kernels(kdir);
}
END_TEST

/* The command: exit status and stderr. */
static int run_bin(const char *args, char *out, size_t size) { return test_run_bin(args, 0, out, size); }

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(bad_input_exits_2_and_writes_nothing)
{
    char dir[512], out[600], model[600], prompts[600], args[6144], msg[4096];
    test_mkdtemp(dir, sizeof dir, "decode-bad");
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(prompts, sizeof prompts, "%s/prompts.txt", dir);
    clr_llama_config c = small_config(0, 0);
    clr_error err = {0};
    ck_assert_msg(clr_llama_write_synthetic(model, &c, 3, CLR_W_F32, &err) == CLR_OK, "%s", err.msg);
    const struct {
        const char *prompts, *extra, *needle;
    } cases[] = {
        {"1 2 3\n4 300 5\n", "", "line 2"},      /* an id outside the vocabulary of 300 */
        {"1 2 x\n", "", "'x'"},                   /* not a number */
        {"# nothing\n\n", "", "no prompt"},      /* no prompt at all */
        {"1 2 3\n", "--tokens 200", "positions"}, /* beyond max_position_embeddings */
        {"1 2 3\n", "--logits-out x.npy", "--mode"},
        {"1 2 3\n", "--mode slow", "fast, invariant or portable"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; ++k) {
        write_text(prompts, cases[k].prompts);
        snprintf(args, sizeof args, "decode --device cpu --model '%s' --prompts '%s' --out '%s' --batch 1,2 "
                 "--tokens 2 %s", model, prompts, out, cases[k].extra);
        ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
        ck_assert_msg(strstr(msg, cases[k].needle) != NULL, "case %zu: expected '%s' in: %s", k, cases[k].needle,
                      test_tail(msg, 1500));
        ck_assert_int_ne(access(out, F_OK), 0); /* nothing written */
    }
    /* outputs that cannot be written, or would land on each other: refused before measuring */
    char extra[1400];
    snprintf(extra, sizeof extra, "--mode invariant --tokens-out '%s/no-such-folder/t.npy'", dir);
    write_text(prompts, "1 2 3\n");
    snprintf(args, sizeof args, "decode --device cpu --model '%s' --prompts '%s' --out '%s' --tokens 2 %s", model,
             prompts, out, extra);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
    ck_assert_msg(strstr(msg, "create it first") != NULL, "%s", test_tail(msg, 1500));
    snprintf(extra, sizeof extra, "--mode invariant --tokens-out '%s/a.npy' --logits-out '%s/../%s/a.npy'", dir, dir,
             strrchr(dir, '/') + 1);
    snprintf(args, sizeof args, "decode --device cpu --model '%s' --prompts '%s' --out '%s' --tokens 2 %s", model,
             prompts, out, extra);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
    ck_assert_msg(strstr(msg, "the same file") != NULL, "%s", test_tail(msg, 1500));
    snprintf(extra, sizeof extra, "--mode invariant --tokens-out '%s'", prompts);
    snprintf(args, sizeof args, "decode --device cpu --model '%s' --prompts '%s' --out '%s' --tokens 2 %s", model,
             prompts, out, extra);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
    ck_assert_msg(strstr(msg, "the prompts file") != NULL, "%s", test_tail(msg, 1500));
    ck_assert_int_ne(access(out, F_OK), 0);
    /* a FIFO in the checkpoint's place must not hang the loader */
    char fifo[700], saved[700];
    snprintf(fifo, sizeof fifo, "%s/model.safetensors", model);
    snprintf(saved, sizeof saved, "%s/saved.safetensors", dir);
    ck_assert_int_eq(rename(fifo, saved), 0);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    snprintf(args, sizeof args, "decode --device cpu --model '%s' --prompts '%s' --out '%s'", model, prompts, out);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
    ck_assert_msg(strstr(msg, "not a regular file") != NULL, "%s", test_tail(msg, 1500));
    ck_assert_int_eq(unlink(fifo), 0);
    ck_assert_int_eq(rename(saved, fifo), 0);
    /* a truncated checkpoint */
    char st[700];
    snprintf(st, sizeof st, "%s/model.safetensors", model);
    ck_assert_int_eq(truncate(st, 1000), 0);
    write_text(prompts, "1 2 3\n");
    snprintf(args, sizeof args, "decode --device cpu --model '%s' --prompts '%s' --out '%s'", model, prompts, out);
    ck_assert_int_eq(run_bin(args, msg, sizeof msg), 2);
    ck_assert_msg(strstr(msg, "model.safetensors") != NULL, "%s", test_tail(msg, 1500));
    ck_assert_int_ne(access(out, F_OK), 0);
}
END_TEST

/* A small complete run: the document, the prompts decoded alone as .npy, and one completion per
 * prompt in the invariant mode across the batches. */
START_TEST(small_run_writes_its_results)
{
    char dir[512], args[2048], msg[4096], path[700];
    test_mkdtemp(dir, sizeof dir, "decode-run");
    snprintf(args, sizeof args, "decode --device cpu --mode invariant --prompt-count 3 --prompt-len 3 --tokens 4 "
             "--batch 2,5 --repeats 2 --out '%s/res' --logits-out '%s/l.npy' --tokens-out '%s/t.npy'", dir, dir, dir);
    ck_assert_msg(run_bin(args, msg, sizeof msg) == 0, "%s", test_tail(msg, 2000));
    ck_assert_int_eq(test_count_files(dir, "l.npy") + test_count_files(dir, "t.npy"), 2);
    /* the .npy headers: [P][S][vocab] float32 (S = 3 + 4 - 1) and [P][T] int32 */
    const char *npys[2][2] = {{"l.npy", "'descr': '<f4', 'fortran_order': False, 'shape': (3, 6, 32000), }"},
                              {"t.npy", "'descr': '<i4', 'fortran_order': False, 'shape': (3, 4), }"}};
    for (int k = 0; k < 2; ++k) {
        char head[129] = "";
        snprintf(path, sizeof path, "%s/%s", dir, npys[k][0]);
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fread(head, 1, 128, f), 128);
        fclose(f);
        ck_assert_msg(strstr(head + 10, npys[k][1]) != NULL, "%s's header: %s", npys[k][0], head + 10);
    }
    clr_device dev = test_device();
    clr_device_list one = {&dev, 1};
    char devdir[600];
    snprintf(path, sizeof path, "%s/res", dir);
    clr_device_results_dir(path, &one, 0, devdir, sizeof devdir);
    snprintf(path, sizeof path, "%s/decode.json", devdir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "schema")), "clrepro.decode");
    json_t *mode = json_array_get(json_object_get(doc, "modes"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(mode, "mode")), "invariant");
    ck_assert_int_eq(json_integer_value(json_object_get(mode, "prompts_with_one_completion")), 3);
    json_t *batches = json_object_get(mode, "batches");
    ck_assert_int_eq(json_array_size(batches), 3); /* 1 (always, first), 2 and 5 */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(batches, 0), "batch")), 1);
    json_t *p0 = json_array_get(json_object_get(mode, "prompts"), 0);
    ck_assert_int_eq(json_array_size(json_object_get(p0, "completion")), 4);
    ck_assert_int_eq(json_array_size(json_object_get(p0, "runs")), 6); /* 3 batches x 2 repeats */
    json_decref(doc);
    snprintf(path, sizeof path, "%s/decode.md", devdir);
    ck_assert_int_eq(access(path, R_OK), 0);
}
END_TEST

/* With tokenizer.json beside the model, completions are also shown as text: in the document
 * (escaped as clr_escape does) and in the Markdown (escaped for a table cell). */
START_TEST(completions_as_text)
{
    char dir[512], model[600], path[1024], args[4096], msg[4096];
    test_mkdtemp(dir, sizeof dir, "decode-text");
    snprintf(model, sizeof model, "%s/model", dir);
    clr_llama_config c = small_config(0, 0);
    clr_error err = {0};
    ck_assert_msg(clr_llama_write_synthetic(model, &c, 3, CLR_W_F32, &err) == CLR_OK, "%s", err.msg);
    /* a byte-level BPE vocabulary: id i is "w<i>" (and a space before it), id 5 a hostile piece */
    clr_text t = {0};
    clr_text_printf(&t, "{\"model\": {\"type\": \"BPE\", \"vocab\": {");
    for (size_t i = 0; i < c.vocab; ++i)
        if (i == 5)
            clr_text_printf(&t, "%s\"|<b>x\": 5", i ? ", " : "");
        else
            clr_text_printf(&t, "%s\"\u0120w%zu\": %zu", i ? ", " : "", i, i);
    clr_text_printf(&t, "}}, \"decoder\": {\"type\": \"ByteLevel\"}}");
    snprintf(path, sizeof path, "%s/tokenizer.json", model);
    write_text(path, t.buf);
    free(t.buf);
    snprintf(path, sizeof path, "%s/prompts.txt", dir);
    write_text(path, "7 5 9\n");
    snprintf(args, sizeof args, "decode --device cpu --mode invariant --model '%s' --prompts '%s' --tokens 3 --batch 1 "
             "--repeats 1 --out '%s/res'", model, path, dir);
    ck_assert_msg(run_bin(args, msg, sizeof msg) == 0, "%s", test_tail(msg, 2000));
    clr_device dev = test_device();
    clr_device_list one = {&dev, 1};
    char devdir[700], res[600];
    snprintf(res, sizeof res, "%s/res", dir);
    clr_device_results_dir(res, &one, 0, devdir, sizeof devdir);
    snprintf(path, sizeof path, "%s/decode.json", devdir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
    json_t *p0 = json_array_get(json_object_get(json_array_get(json_object_get(doc, "modes"), 0), "prompts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(p0, "prompt_text")), " w7|<b>x w9");
    const char *text = json_string_value(json_object_get(p0, "completion_text"));
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(text[0] == ' ' && (text[1] == 'w' || text[1] == '|'), "completion text: %s", text);
    json_decref(doc);
    snprintf(path, sizeof path, "%s/decode.md", devdir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char md[1 << 16];
    md[fread(md, 1, sizeof md - 1, f)] = '\0';
    fclose(f);
    ck_assert_msg(strstr(md, "w7\\|&lt;b&gt;x w9") != NULL, "the prompt's text, escaped, not in:\n%s",
                  test_tail(md, 1500));
    ck_assert_ptr_null(strstr(md, "<b>"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("decode");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, engine_matches_reference);
    tcase_add_test(tc, engine_matches_reference_tied_llama3_bf16);
    tcase_add_test(tc, batch_invariant_modes_keep_the_bits);
    tcase_add_test(tc, sabotaged_rope_is_caught);
    tcase_add_test(tc, bad_input_exits_2_and_writes_nothing);
    tcase_add_test(tc, small_run_writes_its_results);
    tcase_add_test(tc, completions_as_text);
    suite_add_tcase(s, tc);
    return clr_run_suite(s);
}
