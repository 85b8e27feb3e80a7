/* util.h: error reporting, OpenCL status names, checked allocation and size arithmetic, number
 * parsing, escaping of untrusted text, clocks. Errors travel up as a clr_error filled once, at
 * the place that knows what went wrong, and are printed once by main(). */
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

/* A macro's value as a string literal (the constants the host gives kernels as -DNAME=value). */
#define CLR_STR_(x) #x
#define CLR_STR(x) CLR_STR_(x)

typedef struct clr_error {
    int code;
    char msg[4096];
} clr_error;

/* Records the first error only (later ones are consequences) and returns code. The formatted
 * message goes through the same escaping as clr_escape(), so text from users, files and
 * drivers can never move the cursor, recolour the terminal or forge a line of output: a message
 * is one line, unless fmt itself contains a newline (a build log after "...:\n%s"), in which
 * case line breaks are kept, each continuation line indented by two spaces. */
int clr_fail(clr_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copies text into buf (always terminated, size >= 4) with every control character (C0,
 * newline and tab included, DEL, C1) written as an escape (\n, \t, \r, \x1b, \u009b) and every
 * byte that is not part of valid UTF-8 as \xNN. Text that does not fit is cut at a whole
 * character and ends in "...". Returns buf. Use it wherever untrusted text is printed other
 * than through clr_fail(). */
const char *clr_escape(const char *text, char *buf, size_t size);
/* Length of the well-formed UTF-8 character at s (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF): 1 for ASCII, 2 to 4, or 0 when the byte at s does not start one. */
size_t clr_utf8_char(const unsigned char *s);

const char *clr_cl_status_name(cl_int status);

/* The commit this binary was built from ("abc1234", "-dirty" appended where tracked files
 * differed, "unknown" outside a git checkout; cmake/git-commit.cmake), and the version of the
 * CLBlast it was built with ("not built" without it). Both go into every results document. */
extern const char clr_git_commit[];
const char *clr_clblast_version(void);
/* Returns CLR_OK, or records "<call> failed: CL_..." with code CLR_EFAIL. */
int clr_cl_check(clr_error *err, cl_int status, const char *call);
#define CLR_CL(err, call) clr_cl_check((err), (call), #call)

void *clr_malloc(size_t bytes, const char *what, clr_error *err);
void *clr_calloc(size_t count, size_t size, const char *what, clr_error *err);
char *clr_strdup(const char *s);
/* The command as typed, argv[0] written as "clrepro", words joined by spaces: recorded with the
 * results. malloc'ed; NULL when memory runs out. */
char *clr_command_line(int argc, char **argv);
/* Overflow-checked size arithmetic: 0 with *out set, or -1 when the result exceeds SIZE_MAX. */
int clr_size_mul(size_t a, size_t b, size_t *out);
int clr_size_add(size_t a, size_t b, size_t *out);
/* Host memory this process can still use, in bytes: MemAvailable (or free pages), capped by
 * RLIMIT_AS minus what the process has mapped already. */
uint64_t clr_host_memory_available(void);

/* Strict parsers: the whole string must be a number in range. Sizes and counts accept a
 * decimal integer, 2^k, or a K/M/G suffix (powers of 1024); clr_parse_u64 takes decimal only. */
int clr_parse_size(const char *text, size_t *out);
int clr_parse_u64(const char *text, uint64_t *out);
int clr_parse_uint(const char *text, unsigned min, unsigned max, unsigned *out);
/* Comma-separated list of sizes, no empty items; *items is malloc'ed. Returns 0 on success. */
int clr_parse_size_list(const char *text, size_t **items, size_t *count);

double clr_now(void); /* monotonic seconds */
/* The current UTC time as 2026-01-31T12:00:00Z. */
void clr_utc_timestamp(char buf[32]);
void clr_format_bytes(double bytes, char *buf, size_t size);
/* Lower-case, [a-z0-9-] only: safe as a directory name. */
void clr_slugify(const char *text, char *buf, size_t size);

#endif
