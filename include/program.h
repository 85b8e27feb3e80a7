/* program.h: OpenCL C sources (embedded at build time or read from --kernel-dir), per-device
 * tuning parameters, program builds with their logs, and a per-program kernel cache. */
#ifndef CLREPRO_PROGRAM_H
#define CLREPRO_PROGRAM_H

#include "device.h"
#include "util.h"

struct embedded_file {
    const char *name;
    const char *text;
    size_t length;
};
extern const struct embedded_file clrepro_embedded_files[];

/* --contig, as the command line and a run's config hold it: the device's default (zero, so a
 * zeroed config means it), or forced on or off. The tuning holds the outcome as 1 or 0. */
typedef enum clr_contig {
    CLR_CONTIG_DEVICE = 0,
    CLR_CONTIG_YES = 1, /* --contig 1: a contiguous slice per work-item (CPU style) */
    CLR_CONTIG_NO = 2,  /* --contig 0: interleaved (GPU style) */
} clr_contig;

/* Launch parameters that change reduction order; they are part of every result's config. */
typedef struct clr_tuning {
    unsigned wg_size;       /* work-group size of reduction kernels, a power of two */
    unsigned vec;           /* vector width: 1, 2, 4, 8 or 16 */
    unsigned contig;        /* 1: contiguous slice per work-item; 0: interleaved */
    unsigned groups_per_cu; /* split strategies aim at compute_units * this many groups */
    unsigned fixed_chunk;   /* elements per chunk of sum's fixed-size splits */
    unsigned kv_chunk;      /* tokens per chunk of attention's fixed-size splits, the first 16 */
    unsigned kv_far_chunk;  /* tokens per chunk of them from token 16 * kv_chunk on (0: kv_chunk) */
} clr_tuning;

/* Defaults by device type (data, not code paths: see tuning_table in program.c). */
clr_tuning clr_tuning_default(const clr_device *dev);
/* attention's chunk size from token 16 * kv_chunk on: kv_far_chunk, or kv_chunk where it is 0. */
unsigned clr_tuning_kv_far_chunk(const clr_tuning *t);
/* Checks a tuning against what the device allows. */
int clr_tuning_check(const clr_tuning *t, const clr_device *dev, clr_error *err);

/* Source text of cl/<name> with its #include "x.clh" lines expanded; *text is malloc'ed. */
int clr_source_load(const char *kernel_dir, const char *name, char **text, clr_error *err);

#define CLR_MAX_KERNELS 16
typedef struct clr_program {
    cl_program program;
    char file[64];
    char options[384];
    double build_seconds;
    size_t nkernels;
    struct {
        char name[64];
        cl_kernel kernel;
    } kernels[CLR_MAX_KERNELS];
    uint64_t source_hash; /* XXH64 of the expanded source text that was built */
} clr_program;

/* A kernel that fails to build is CLR_EUSAGE, and the message holds the build log. */
/* extra: more -D options (e.g. "-DIN_BF16"), or NULL. */
int clr_program_build(cl_context ctx, const clr_device *dev, const char *kernel_dir, const char *file,
                      const clr_tuning *t, const char *extra, clr_program *prog, clr_error *err);
int clr_program_kernel(clr_program *prog, const char *name, cl_kernel *out, clr_error *err);
void clr_program_release(clr_program *prog);

#endif
