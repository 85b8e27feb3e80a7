/* demo.c: `clrepro demo order`. For each case (the classic [1e-10, 1e-5, 1e-2, 1] and their
 * negatives; n normal values; n ill-conditioned values) and each accumulator, K work-items sum
 * the values in K different orders. Every device result is checked against a host replay of
 * the same order (float32, float64, compensated: bit for bit) or against the host's exact sum
 * (exact) before anything is reported. Writes demo-order.{json,md} under results/<device>/.
 * The host memory it needs is checked against what is available before anything is allocated. */
#include "demo.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "atomic_file.h"
#include "data.h"
#include "device.h"
#include "metrics.h"
#include "program.h"
#include "reference.h"
#include "text.h"
#include "timing.h"

static uint32_t mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static uint32_t feistel(uint32_t v, uint32_t half_bits, uint32_t key)
{
    uint32_t mask = (1u << half_bits) - 1u, left = v >> half_bits, right = v & mask;
    for (uint32_t round = 0; round < 4; ++round) {
        uint32_t next = left ^ (mix32(right ^ key ^ (round * 0x9e3779b9u)) & mask);
        left = right;
        right = next;
    }
    return (left << half_bits) | right;
}

uint32_t clr_demo_half_bits(uint32_t n)
{
    uint32_t bits = 2;
    while (bits < 32 && (1ull << bits) < n)
        ++bits;
    return (bits + 1) / 2;
}

uint32_t clr_demo_key(uint32_t seed, uint32_t order)
{
    return mix32(seed ^ mix32(order + 0x632be5abu));
}

uint32_t clr_demo_permuted(uint32_t i, uint32_t n, uint32_t half_bits, uint32_t key)
{
    uint32_t v = feistel(i, half_bits, key);
    while (v >= n)
        v = feistel(v, half_bits, key);
    return v;
}

enum method { M_FLOAT, M_DOUBLE, M_COMPENSATED, M_EXACT, M_COUNT };
static const char *method_names[M_COUNT] = {"float32", "float64", "compensated float32", "exact"};
static const char *method_kernels[M_COUNT] = {"order_float", "order_double", "order_compensated", "order_exact"};

typedef struct method_result {
    int available;
    size_t distinct;
    double min, max;
    uint64_t spread_ulp; /* between min and max, in units of the method's precision */
    double device_seconds;
} method_result;

typedef struct demo_case {
    const char *name;
    char description[160];
    uint32_t n;
    float *x32;
    double *x64;
    method_result results[M_COUNT];
} demo_case;

static uint64_t double_key(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? (uint64_t)(-(int64_t)(u & 0x7fffffffffffffffull)) : u;
}

/* Host replay of one order with one accumulator; returns the value widened to double. */
static double replay(const demo_case *c, enum method m, uint32_t half_bits, uint32_t key)
{
    float s = 0.0f, comp = 0.0f;
    double d = 0.0;
    for (uint32_t i = 0; i < c->n; ++i) {
        uint32_t j = clr_demo_permuted(i, c->n, half_bits, key);
        if (m == M_DOUBLE) {
            d += c->x64[j];
        } else if (m == M_COMPENSATED) {
            float v = c->x32[j], t = s + v, z = t - s;
            comp += (s - (t - z)) + (v - z);
            s = t;
        } else {
            s += c->x32[j];
        }
    }
    return m == M_DOUBLE ? d : m == M_COMPENSATED ? (double)(s + comp) : (double)s;
}

typedef struct demo_ctx {
    cl_context context;
    cl_command_queue queue;
    clr_program program;
    const clr_device *dev;
    uint32_t orders, seed;
} demo_ctx;

static int run_method(demo_ctx *d, demo_case *c, enum method m, clr_error *err)
{
    method_result *r = &c->results[m];
    size_t elem = m == M_DOUBLE ? sizeof(double) : sizeof(float);
    cl_int st;
    cl_mem in = NULL, out = NULL;
    cl_kernel k;
    cl_event ev = NULL;
    void *host = clr_malloc((size_t)d->orders * elem, "demo results", err);
    int rc = host ? CLR_OK : err->code;
    uint32_t half = clr_demo_half_bits(c->n);
    if (rc == CLR_OK) {
        in = clCreateBuffer(d->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)c->n * elem,
                            m == M_DOUBLE ? (void *)c->x64 : (void *)c->x32, &st);
        rc = CLR_CL(err, st);
    }
    if (rc == CLR_OK) {
        out = clCreateBuffer(d->context, CL_MEM_WRITE_ONLY, (size_t)d->orders * elem, NULL, &st);
        rc = CLR_CL(err, st);
    }
    if (rc == CLR_OK)
        rc = clr_program_kernel(&d->program, method_kernels[m], &k, err);
    if (rc == CLR_OK) {
        cl_uint n = c->n, hb = half, seed = d->seed, orders = d->orders;
        size_t local = 64, global = (d->orders + local - 1) / local * local;
        cl_int a = clSetKernelArg(k, 0, sizeof in, &in);
        a = a ? a : clSetKernelArg(k, 1, sizeof n, &n);
        a = a ? a : clSetKernelArg(k, 2, sizeof hb, &hb);
        a = a ? a : clSetKernelArg(k, 3, sizeof seed, &seed);
        a = a ? a : clSetKernelArg(k, 4, sizeof orders, &orders);
        a = a ? a : clSetKernelArg(k, 5, sizeof out, &out);
        rc = CLR_CL(err, a);
        if (rc == CLR_OK)
            rc = CLR_CL(err, clEnqueueNDRangeKernel(d->queue, k, 1, NULL, &global, NULL, 0, NULL, &ev));
        if (rc == CLR_OK)
            rc = clr_event_span_release(ev, ev, &r->device_seconds, err);
        if (rc == CLR_OK)
            rc = CLR_CL(err, clEnqueueReadBuffer(d->queue, out, CL_TRUE, 0, (size_t)d->orders * elem, host, 0,
                                                 NULL, NULL));
    }
    uint64_t *keys = rc == CLR_OK ? clr_malloc((size_t)d->orders * sizeof *keys, "demo results", err) : NULL;
    if (rc == CLR_OK && !keys)
        rc = err->code;
    float exact = m == M_EXACT ? clr_exact_sum(c->x32, c->n) : 0.0f;
    for (uint32_t w = 0; w < d->orders && rc == CLR_OK; ++w) {
        double v = m == M_DOUBLE ? ((double *)host)[w] : (double)((float *)host)[w];
        double want = m == M_EXACT ? (double)exact : replay(c, m, half, clr_demo_key(d->seed, w));
        if (memcmp(&v, &want, sizeof v) != 0 && !(isnan(v) && isnan(want)))
            rc = clr_fail(err, CLR_EFAIL,
                          "demo order: %s on %s, case %s, order %u: the device gave %.17g, the host replay %.17g",
                          method_names[m], d->dev->name, c->name, w, v, want);
        keys[w] = m == M_DOUBLE ? double_key(v) : (uint64_t)clr_float_bits((float)v);
        if (w == 0 || v < r->min)
            r->min = v;
        if (w == 0 || v > r->max)
            r->max = v;
    }
    if (rc == CLR_OK) {
        r->distinct = clr_count_distinct_u64(keys, d->orders);
        r->spread_ulp = m == M_DOUBLE ? double_key(r->max) - double_key(r->min)
                                      : clr_ulp_distance((float)r->min, (float)r->max);
        r->available = 1;
    }
    free(keys);
    free(host);
    if (in)
        clReleaseMemObject(in);
    if (out)
        clReleaseMemObject(out);
    return rc;
}

/* The three cases' values; every array checked before it is written. */
static int make_cases(demo_case cases[3], uint32_t n, uint64_t seed, clr_error *err)
{
    static const double classic[8] = {1e-10, 1e-5, 1e-2, 1.0, -1e-10, -1e-5, -1e-2, -1.0};
    memset(cases, 0, 3 * sizeof *cases);
    cases[0].name = "classic";
    snprintf(cases[0].description, sizeof cases[0].description,
             "[1e-10, 1e-5, 1e-2, 1] and their negatives (the exact sum is 0)");
    cases[0].n = 8;
    cases[1].name = "normal";
    snprintf(cases[1].description, sizeof cases[1].description, "%u standard normal values (seed %llu)", n,
             (unsigned long long)seed);
    cases[1].n = n;
    cases[2].name = "illcond";
    snprintf(cases[2].description, sizeof cases[2].description,
             "%u ill-conditioned values: exact cancellation, exponents 2^-140..2^24 (seed %llu)", n,
             (unsigned long long)seed);
    cases[2].n = n;
    for (int k = 0; k < 3; ++k) {
        char what[64];
        snprintf(what, sizeof what, "the %s case's values", cases[k].name);
        cases[k].x32 = clr_calloc(cases[k].n, sizeof(float), what, err);
        cases[k].x64 = cases[k].x32 ? clr_calloc(cases[k].n, sizeof(double), what, err) : NULL;
        if (!cases[k].x64)
            return err->code;
    }
    for (uint32_t i = 0; i < 8; ++i) {
        cases[0].x32[i] = (float)classic[i];
        cases[0].x64[i] = classic[i];
    }
    clr_gen_row(seed, CLR_DIST_NORMAL, 0, cases[1].x32, n);
    clr_gen_row(seed, CLR_DIST_ILLCOND, 0, cases[2].x32, n);
    for (int k = 1; k < 3; ++k)
        for (uint32_t i = 0; i < n; ++i)
            cases[k].x64[i] = cases[k].x32[i];
    return CLR_OK;
}

/* What the demo needs, checked before anything is allocated: host memory for the values (each
 * case in float32 and float64) and the results, plus, on a CPU device, whose buffers live in
 * host memory too, the largest input and output buffers; and a device buffer for the float64
 * values. Every product is overflow-checked. */
static int check_memory(const demo_ctx *d, uint32_t n, clr_error *err)
{
    const size_t per_value = sizeof(float) + sizeof(double), per_order = 2 * sizeof(uint64_t);
    size_t values, results, buffers = 0, need, input_buffer;
    int overflow = clr_size_mul((size_t)n, 2 * per_value, &values) ||
                   clr_size_add(values, 8 * per_value, &values) ||
                   clr_size_mul((size_t)d->orders, per_order, &results) ||
                   clr_size_mul((size_t)n, sizeof(double), &input_buffer);
    if (!overflow && (d->dev->type & CL_DEVICE_TYPE_CPU))
        overflow = clr_size_add(input_buffer, (size_t)d->orders * sizeof(double), &buffers);
    if (overflow || clr_size_add(values, results, &need) || clr_size_add(need, buffers, &need))
        return clr_fail(err, CLR_EUSAGE, "demo order: --n %u with --orders %u is too large to address", n, d->orders);
    uint64_t avail = clr_host_memory_available();
    if ((uint64_t)need > avail) {
        char need_text[32], avail_text[32];
        clr_format_bytes((double)need, need_text, sizeof need_text);
        clr_format_bytes((double)avail, avail_text, sizeof avail_text);
        return clr_fail(err, CLR_EUSAGE, "demo order: --n %u needs %s of host memory (each value in float32 and "
                        "float64 for two cases%s), and %s is available; give a smaller --n", n, need_text,
                        buffers ? ", and the CPU device's buffers" : "", avail_text);
    }
    if ((uint64_t)input_buffer > (uint64_t)d->dev->max_alloc) {
        char need_text[32], max_text[32];
        clr_format_bytes((double)input_buffer, need_text, sizeof need_text);
        clr_format_bytes((double)d->dev->max_alloc, max_text, sizeof max_text);
        return clr_fail(err, CLR_EUSAGE, "demo order: --n %u needs a %s buffer, larger than %s allows (%s); give a "
                        "smaller --n", n, need_text, d->dev->name, max_text);
    }
    return CLR_OK;
}

static char *markdown(const demo_case *cases, const demo_ctx *d, double wall, const char *started,
                      const char *command)
{
    clr_text t = {0};
    const clr_device *dev = d->dev;
    clr_text_printf(&t, "# clrepro %s: demo order on %s\n\n", CLREPRO_VERSION, dev->name);
    clr_text_printf(&t, "- Device: %s, platform %s, driver %s\n- Started %s; wall time %.2f s (device, host "
                        "replay of every order and validation included)\n- Each of %u orders is one work-item "
                        "summing the same values in its own permutation; float32, float64 and compensated "
                        "results equal a host replay of the same order bit for bit, exact results equal the "
                        "host's exact sum.\n\n",
                    dev->name, dev->platform_name, dev->driver_version, started, wall, d->orders);
    if (command) {
        clr_text_printf(&t, "Command: ");
        clr_text_md_code(&t, command);
        clr_text_printf(&t, "\n\n");
    }
    clr_text_printf(&t, "| case | n | accumulator | orders | distinct results | min | max | max - min | "
                        "spread (ulp) | device time (ms) |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < 3; ++k)
        for (int m = 0; m < M_COUNT; ++m) {
            const method_result *r = &cases[k].results[m];
            if (!r->available) {
                clr_text_printf(&t, "| %s | %u | %s | - | not available (no fp64) | | | | | |\n", cases[k].name,
                                cases[k].n, method_names[m]);
                continue;
            }
            clr_text_printf(&t, "| %s | %u | %s | %u | %zu | %.9g | %.9g | %.3g | %llu | %.3f |\n", cases[k].name,
                            cases[k].n, method_names[m], d->orders, r->distinct, r->min, r->max, r->max - r->min,
                            (unsigned long long)r->spread_ulp, r->device_seconds * 1e3);
        }
    clr_text_printf(&t, "\nCases: ");
    for (int k = 0; k < 3; ++k)
        clr_text_printf(&t, "%s%s: %s", k ? "; " : "", cases[k].name, cases[k].description);
    clr_text_printf(&t, ".\n");
    return t.failed ? NULL : t.buf;
}

static json_t *document(const demo_case *cases, const demo_ctx *d, double wall, const char *started,
                        const char *command)
{
    json_t *arr = json_array();
    for (int k = 0; k < 3; ++k)
        for (int m = 0; m < M_COUNT; ++m) {
            const method_result *r = &cases[k].results[m];
            json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:b, s:I, s:I, s:o, s:o, s:o, s:o}", "case",
                                                 cases[k].name, "description", cases[k].description, "n",
                                                 (json_int_t)cases[k].n, "accumulator", method_names[m], "available",
                                                 r->available, "orders", (json_int_t)d->orders, "distinct",
                                                 (json_int_t)r->distinct, "min", r->available ? json_real(r->min) : json_null(),
                                                 "max", r->available ? json_real(r->max) : json_null(), "spread_ulp",
                                                 r->available ? json_integer((json_int_t)r->spread_ulp) : json_null(),
                                                 "device_seconds", json_real(r->device_seconds)));
        }
    return json_pack("{s:s, s:i, s:{s:s, s:s}, s:s, s:s, s:o, s:f, s:{s:I, s:I, s:s}, s:o}", "schema",
                     "clrepro.demo-order", "schema_version", 1, "tool", "name", "clrepro", "version", CLREPRO_VERSION,
                     "started_utc", started, "command", command ? command : "", "device",
                     clr_device_to_json(d->dev), "wall_seconds", wall, "config", "orders", (json_int_t)d->orders,
                     "seed", (json_int_t)d->seed, "permutation", "4-round Feistel on 2^bits with cycle walking",
                     "results", arr);
}

static int demo_device(const clr_cli *cli, const clr_device_list *devices, size_t index, const char *command,
                       clr_error *err)
{
    const clr_device *dev = &devices->items[index];
    double start = clr_now();
    char started[32], dir[4096];
    clr_utc_timestamp(started);
    clr_device_results_dir(cli->out_dir, devices, index, dir, sizeof dir);

    demo_ctx d = {0};
    d.dev = dev;
    d.orders = cli->orders;
    d.seed = (uint32_t)cli->seed;
    demo_case cases[3] = {{0}};
    const clr_dim_list *n = clr_cli_dim(cli, "n");
    uint32_t values = n ? (uint32_t)n->values[0] : CLR_DEFAULT_DEMO_N; /* at most 2^30: cli.c */
    int rc = check_memory(&d, values, err);
    if (rc == CLR_OK)
        rc = make_cases(cases, values, cli->seed, err);
    /* The output place is checked now, created only once there is something to write. */
    char json_path[4200], md_path[4200];
    snprintf(json_path, sizeof json_path, "%s/demo-order.json", dir);
    snprintf(md_path, sizeof md_path, "%s/demo-order.md", dir);
    if (rc == CLR_OK)
        rc = clr_check_out_dir(dir, strlen("demo-order.json"), err);
    if (rc == CLR_OK)
        rc = clr_check_out_file(json_path, err);
    if (rc == CLR_OK)
        rc = clr_check_out_file(md_path, err);
    if (rc == CLR_OK)
        rc = clr_device_open(dev, &d.context, &d.queue, 1, err);
    if (rc == CLR_OK) {
        clr_tuning t = clr_tuning_default(dev);
        rc = clr_program_build(d.context, dev, cli->kernel_dir, "demo.cl", &t,
                               "-DEXACT_LIMBS=" CLR_STR(CLR_CL_EXACT_LIMBS), &d.program, err);
    }
    for (int k = 0; k < 3 && rc == CLR_OK; ++k)
        for (int m = 0; m < M_COUNT && rc == CLR_OK; ++m)
            if (m != M_DOUBLE || dev->fp64)
                rc = run_method(&d, &cases[k], (enum method)m, err);
    double wall = clr_now() - start;
    if (rc == CLR_OK) {
        json_t *doc = document(cases, &d, wall, started, command);
        char *json = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        char *md = markdown(cases, &d, wall, started, command);
        json_decref(doc);
        char *paths[] = {json_path, md_path}, *texts[] = {json, md};
        rc = clr_write_texts(dir, 2, paths, texts, err);
        if (rc == CLR_OK && !cli->quiet) {
            char shown[4096];
            printf("%s\nresults: %s/demo-order.{json,md}\n", md, clr_escape(dir, shown, sizeof shown));
        }
        free(json);
        free(md);
    }
    clr_program_release(&d.program);
    if (d.queue)
        clReleaseCommandQueue(d.queue);
    if (d.context)
        clReleaseContext(d.context);
    for (int k = 0; k < 3; ++k) {
        free(cases[k].x32);
        free(cases[k].x64);
    }
    return rc;
}

int clr_cmd_demo(const clr_cli *cli, clr_error *err)
{
    clr_device_list all = {0}, chosen = {0};
    int rc = clr_devices_enumerate(&all, err);
    if (rc == CLR_OK)
        rc = clr_cli_select_devices(cli, &all, &chosen, err);
    for (size_t i = 0; i < chosen.count && rc == CLR_OK; ++i)
        rc = demo_device(cli, &chosen, i, cli->command_line, err);
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    return rc;
}
