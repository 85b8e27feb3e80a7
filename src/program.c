/* program.c: where kernel text comes from and how it is built. Sources are embedded by
 * cmake/embed.cmake; --kernel-dir reads the same files from disk instead. Includes are
 * expanded here, not by the OpenCL compiler, so both paths see identical text. */
#include "program.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* Tuned defaults per device type; --wg, --vec and --chunk override them. attention's chunks: on
 * GPUs 64 tokens for the first 16 (up to token 1024) and 128 after, where 256 left too few
 * work-groups at small L and B (H200: fixedsplit 1.4-2.2x splitkv at L = 256-1024, B = 1-4) and
 * 64 too many at L = 8192, B = 1 (262 against 128's 205 us; bench/attention-fixedsplit-chunk);
 * 256 on CPUs. */
static const struct {
    cl_device_type type;
    clr_tuning tuning;
} tuning_table[] = {
    {CL_DEVICE_TYPE_GPU, {256, 4, 0, 8, 16384, 64, 128}},
    {CL_DEVICE_TYPE_CPU, {16, 16, 1, 16, 65536, 256, 256}},
};
static const clr_tuning tuning_fallback = {64, 4, 0, 4, 16384, 256, 256};

clr_tuning clr_tuning_default(const clr_device *dev)
{
    for (size_t i = 0; i < sizeof tuning_table / sizeof tuning_table[0]; ++i)
        if (dev->type & tuning_table[i].type) {
            clr_tuning t = tuning_table[i].tuning;
            while (t.wg_size > dev->max_work_group_size && t.wg_size > 1)
                t.wg_size /= 2;
            return t;
        }
    return tuning_fallback;
}

unsigned clr_tuning_kv_far_chunk(const clr_tuning *t)
{
    return t->kv_far_chunk ? t->kv_far_chunk : t->kv_chunk;
}

int clr_tuning_check(const clr_tuning *t, const clr_device *dev, clr_error *err)
{
    if (t->wg_size == 0 || (t->wg_size & (t->wg_size - 1)))
        return clr_fail(err, CLR_EUSAGE, "--wg %u: the work-group size must be a power of two", t->wg_size);
    if (t->wg_size > dev->max_work_group_size)
        return clr_fail(err, CLR_EUSAGE, "--wg %u: larger than the maximum work-group size of %s (%zu)",
                        t->wg_size, dev->name, dev->max_work_group_size);
    if (t->vec != 1 && t->vec != 2 && t->vec != 4 && t->vec != 8 && t->vec != 16)
        return clr_fail(err, CLR_EUSAGE, "--vec %u: the vector width must be 1, 2, 4, 8 or 16", t->vec);
    if (t->fixed_chunk == 0)
        return clr_fail(err, CLR_EUSAGE, "--chunk 0: the fixed chunk must hold at least one element");
    return CLR_OK; /* what a kernel needs beyond this, its operation checks (clr_operation.check_tuning) */
}

static int read_file(const char *path, char **text, size_t *length, clr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return clr_fail(err, CLR_EUSAGE, "cannot read kernel source %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = (cap + 4096) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return clr_fail(err, CLR_EFAIL, "out of host memory reading %s", path);
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, 4096, f);
        len += got;
        if (got < 4096)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return clr_fail(err, CLR_EUSAGE, "error reading kernel source %s", path);
    }
    buf[len] = '\0';
    *text = buf;
    *length = len;
    return CLR_OK;
}

static int raw_source(const char *kernel_dir, const char *name, char **text, size_t *length, clr_error *err)
{
    if (kernel_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", kernel_dir, name);
        return read_file(path, text, length, err);
    }
    for (const struct embedded_file *f = clrepro_embedded_files; f->name; ++f)
        if (strcmp(f->name, name) == 0) {
            *text = malloc(f->length + 1);
            if (!*text)
                return clr_fail(err, CLR_EFAIL, "out of host memory");
            memcpy(*text, f->text, f->length + 1);
            *length = f->length;
            return CLR_OK;
        }
    return clr_fail(err, CLR_EUSAGE, "no kernel source named %s is embedded in this build", name);
}

typedef struct {
    char *buf;
    size_t len, cap;
} strbuf;

static int sb_append(strbuf *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = (sb->len + n + 1) * 2;
        char *grown = realloc(sb->buf, cap);
        if (!grown)
            return -1;
        sb->buf = grown;
        sb->cap = cap;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
    return 0;
}

/* Appends name's text to sb, replacing each `#include "x"` line by x's expanded text. Each
 * file is included once (headers have guards anyway); depth guards against cycles. */
static int expand(const char *kernel_dir, const char *name, strbuf *sb, char seen[][64], size_t *nseen,
                  int depth, clr_error *err)
{
    if (depth > 8)
        return clr_fail(err, CLR_EUSAGE, "kernel source %s: includes nested too deeply", name);
    char *text;
    size_t length;
    if (raw_source(kernel_dir, name, &text, &length, err))
        return err->code;
    int rc = CLR_OK;
    unsigned line = 1;
    char mark[160];
    snprintf(mark, sizeof mark, "#line 1 \"%s\"\n", name);
    if (sb_append(sb, mark, strlen(mark)))
        rc = clr_fail(err, CLR_EFAIL, "out of host memory");
    for (char *p = text; *p && rc == CLR_OK; ++line) {
        char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
        char inc[64];
        if (sscanf(p, " #include \"%63[^\"]\"", inc) == 1) {
            int already = 0;
            for (size_t i = 0; i < *nseen; ++i)
                already |= strcmp(seen[i], inc) == 0;
            if (!already && *nseen < 32) {
                snprintf(seen[(*nseen)++], 64, "%s", inc);
                rc = expand(kernel_dir, inc, sb, seen, nseen, depth + 1, err);
                snprintf(mark, sizeof mark, "#line %u \"%s\"\n", line + 1, name);
                if (rc == CLR_OK && sb_append(sb, mark, strlen(mark)))
                    rc = clr_fail(err, CLR_EFAIL, "out of host memory");
            } else if (sb_append(sb, "\n", 1)) {
                rc = clr_fail(err, CLR_EFAIL, "out of host memory");
            }
        } else if (sb_append(sb, p, n)) {
            rc = clr_fail(err, CLR_EFAIL, "out of host memory");
        }
        p += n;
    }
    free(text);
    return rc;
}

int clr_source_load(const char *kernel_dir, const char *name, char **text, clr_error *err)
{
    strbuf sb = {0};
    char seen[32][64];
    size_t nseen = 0;
    if (expand(kernel_dir, name, &sb, seen, &nseen, 0, err)) {
        free(sb.buf);
        return err->code;
    }
    *text = sb.buf;
    return CLR_OK;
}

int clr_program_build(cl_context ctx, const clr_device *dev, const char *kernel_dir, const char *file,
                      const clr_tuning *t, const char *extra, clr_program *prog, clr_error *err)
{
    memset(prog, 0, sizeof *prog);
    snprintf(prog->file, sizeof prog->file, "%s", file);
    /* Every option that reaches the compiler is here, and lands in the results (build_options). */
    snprintf(prog->options, sizeof prog->options, "-DWG_SIZE=%u -DVEC=%u -DCONTIG=%u%s%s%s", t->wg_size, t->vec,
             t->contig, dev->fp64 ? " -DCLREPRO_FP64" : "", extra ? " " : "", extra ? extra : "");
    char *text;
    if (clr_source_load(kernel_dir, file, &text, err))
        return err->code;
    prog->source_hash = XXH64(text, strlen(text), 0);
    cl_int st;
    const char *src = text;
    prog->program = clCreateProgramWithSource(ctx, 1, &src, NULL, &st);
    free(text);
    if (CLR_CL(err, st))
        return err->code;
    double start = clr_now();
    st = clBuildProgram(prog->program, 1, &dev->id, prog->options, NULL, NULL);
    prog->build_seconds = clr_now() - start;
    if (st != CL_SUCCESS) {
        size_t size = 0;
        clGetProgramBuildInfo(prog->program, dev->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
        char *log = malloc(size + 1);
        if (log && clGetProgramBuildInfo(prog->program, dev->id, CL_PROGRAM_BUILD_LOG, size, log, NULL) == CL_SUCCESS)
            log[size] = '\0';
        else if (log)
            log[0] = '\0';
        clr_fail(err, CLR_EUSAGE, "kernel %s did not build for %s (%s, options %s):\n%s", file, dev->name,
                 clr_cl_status_name(st), prog->options, log && *log ? log : "(the driver gave no build log)");
        free(log);
        clr_program_release(prog);
        return err->code;
    }
    return CLR_OK;
}

int clr_program_kernel(clr_program *prog, const char *name, cl_kernel *out, clr_error *err)
{
    for (size_t i = 0; i < prog->nkernels; ++i)
        if (strcmp(prog->kernels[i].name, name) == 0) {
            *out = prog->kernels[i].kernel;
            return CLR_OK;
        }
    if (prog->nkernels == CLR_MAX_KERNELS)
        return clr_fail(err, CLR_EFAIL, "too many kernels in %s", prog->file);
    cl_int st;
    cl_kernel k = clCreateKernel(prog->program, name, &st);
    if (st != CL_SUCCESS)
        return clr_fail(err, CLR_EUSAGE, "kernel %s not found in %s: clCreateKernel failed: %s", name,
                        prog->file, clr_cl_status_name(st));
    snprintf(prog->kernels[prog->nkernels].name, sizeof prog->kernels[0].name, "%s", name);
    prog->kernels[prog->nkernels++].kernel = k;
    *out = k;
    return CLR_OK;
}

void clr_program_release(clr_program *prog)
{
    for (size_t i = 0; i < prog->nkernels; ++i)
        clReleaseKernel(prog->kernels[i].kernel);
    prog->nkernels = 0;
    if (prog->program)
        clReleaseProgram(prog->program);
    prog->program = NULL;
}
