/* util.h: error reporting, OpenCL status names, checked allocation, number parsing, clocks.
 * Errors travel up as a clr_error filled once, at the place that knows what went wrong, and
 * are printed once by main(). */
#ifndef CLREPRO_UTIL_H
#define CLREPRO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <CL/cl.h>

enum {
    CLR_OK = 0,
    CLR_EFAIL = 1,  /* a measurement failed: wrong results, broken claim under --strict, runtime error */
    CLR_EUSAGE = 2, /* bad input: options, files, sizes, devices, kernels that do not build */
};

typedef struct clr_error {
    int code;
    char msg[4096];
} clr_error;

/* Records the first error only (later ones are consequences) and returns code. */
int clr_fail(clr_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

const char *clr_cl_status_name(cl_int status);
/* Returns CLR_OK, or records "<call> failed: CL_..." with code CLR_EFAIL. */
int clr_cl_check(clr_error *err, cl_int status, const char *call);
#define CLR_CL(err, call) clr_cl_check((err), (call), #call)

void *clr_malloc(size_t bytes, const char *what, clr_error *err);
void *clr_calloc(size_t count, size_t size, const char *what, clr_error *err);
char *clr_strdup(const char *s);

/* Strict parsers: the whole string must be a number in range. Sizes accept a decimal
 * integer, 2^k, or a K/M/G suffix (powers of 1024). */
int clr_parse_size(const char *text, size_t *out);
int clr_parse_u64(const char *text, uint64_t *out);
int clr_parse_uint(const char *text, unsigned min, unsigned max, unsigned *out);
/* Comma-separated list of sizes; *items is malloc'ed. Returns 0 on success. */
int clr_parse_size_list(const char *text, size_t **items, size_t *count);

double clr_now(void); /* monotonic seconds */
/* The current UTC time as 2026-01-31T12:00:00Z. */
void clr_utc_timestamp(char buf[32]);
void clr_format_bytes(double bytes, char *buf, size_t size);
/* Lower-case, [a-z0-9-] only: safe as a directory name. */
void clr_slugify(const char *text, char *buf, size_t size);

#endif
