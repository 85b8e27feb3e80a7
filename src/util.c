/* util.c: the small shared helpers declared in util.h. */
#include "util.h"
#ifdef CLREPRO_HAVE_CLBLAST
#include <clblast_c.h>
#endif

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

size_t clr_utf8_char(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; ++i)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* The escaped form of the character at s: written to piece (16 bytes), its length returned,
 * *in set to how many bytes of s it stands for. multiline keeps newlines (indenting the line
 * after each) and tabs. */
static size_t escape_piece(const unsigned char *s, int multiline, char *piece, size_t *in)
{
    unsigned char c = *s;
    *in = 1;
    if (c == '\n' && multiline)
        return (size_t)snprintf(piece, 16, "\n  ");
    if (c == '\t' && multiline)
        return (size_t)snprintf(piece, 16, "\t");
    if (c == '\n' || c == '\t' || c == '\r')
        return (size_t)snprintf(piece, 16, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
    if (c < 0x20 || c == 0x7f)
        return (size_t)snprintf(piece, 16, "\\x%02x", c);
    if (c < 0x80) {
        piece[0] = (char)c;
        return 1;
    }
    size_t n = clr_utf8_char(s);
    if (n == 0)
        return (size_t)snprintf(piece, 16, "\\x%02x", c);
    *in = n;
    if (n == 2 && c == 0xc2 && s[1] < 0xa0) /* C1 controls, U+0080..U+009F */
        return (size_t)snprintf(piece, 16, "\\u%04x", (unsigned)s[1]);
    memcpy(piece, s, n);
    return n;
}

/* The escaping behind clr_escape() and clr_fail(). */
static void escape_into(const char *text, char *buf, size_t size, int multiline)
{
    char piece[16];
    size_t in, total = 0, o = 0;
    if (size == 0)
        return;
    for (const unsigned char *s = (const unsigned char *)text; *s; s += in)
        total += escape_piece(s, multiline, piece, &in);
    int cut = total > size - 1; /* then every piece leaves room for the "..." that marks the cut */
    for (const unsigned char *s = (const unsigned char *)text; *s; s += in) {
        size_t len = escape_piece(s, multiline, piece, &in);
        if (o + len + (cut ? 3 : 0) > size - 1) {
            if (size - 1 - o >= 3) {
                memcpy(buf + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(buf + o, piece, len);
        o += len;
    }
    buf[o] = '\0';
}

const char *clr_escape(const char *text, char *buf, size_t size)
{
    escape_into(text ? text : "", buf, size, 0);
    return buf;
}

int clr_fail(clr_error *err, int code, const char *fmt, ...)
{
    if (err && err->code == CLR_OK) {
        char raw[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        escape_into(raw, err->msg, sizeof err->msg, strchr(fmt, '\n') != NULL);
        err->code = code;
    }
    return code;
}

const char *clr_cl_status_name(cl_int status)
{
    switch (status) {
#define NAME(s) case s: return #s
    NAME(CL_SUCCESS); NAME(CL_DEVICE_NOT_FOUND); NAME(CL_DEVICE_NOT_AVAILABLE);
    NAME(CL_COMPILER_NOT_AVAILABLE); NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE);
    NAME(CL_OUT_OF_RESOURCES); NAME(CL_OUT_OF_HOST_MEMORY); NAME(CL_PROFILING_INFO_NOT_AVAILABLE);
    NAME(CL_MEM_COPY_OVERLAP); NAME(CL_BUILD_PROGRAM_FAILURE); NAME(CL_MAP_FAILURE);
    NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET); NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    NAME(CL_COMPILE_PROGRAM_FAILURE); NAME(CL_LINKER_NOT_AVAILABLE); NAME(CL_LINK_PROGRAM_FAILURE);
    NAME(CL_INVALID_VALUE); NAME(CL_INVALID_DEVICE_TYPE); NAME(CL_INVALID_PLATFORM);
    NAME(CL_INVALID_DEVICE); NAME(CL_INVALID_CONTEXT); NAME(CL_INVALID_QUEUE_PROPERTIES);
    NAME(CL_INVALID_COMMAND_QUEUE); NAME(CL_INVALID_HOST_PTR); NAME(CL_INVALID_MEM_OBJECT);
    NAME(CL_INVALID_BINARY); NAME(CL_INVALID_BUILD_OPTIONS); NAME(CL_INVALID_PROGRAM);
    NAME(CL_INVALID_PROGRAM_EXECUTABLE); NAME(CL_INVALID_KERNEL_NAME);
    NAME(CL_INVALID_KERNEL_DEFINITION); NAME(CL_INVALID_KERNEL); NAME(CL_INVALID_ARG_INDEX);
    NAME(CL_INVALID_ARG_VALUE); NAME(CL_INVALID_ARG_SIZE); NAME(CL_INVALID_KERNEL_ARGS);
    NAME(CL_INVALID_WORK_DIMENSION); NAME(CL_INVALID_WORK_GROUP_SIZE);
    NAME(CL_INVALID_WORK_ITEM_SIZE); NAME(CL_INVALID_GLOBAL_OFFSET);
    NAME(CL_INVALID_EVENT_WAIT_LIST); NAME(CL_INVALID_EVENT); NAME(CL_INVALID_OPERATION);
    NAME(CL_INVALID_BUFFER_SIZE); NAME(CL_INVALID_GLOBAL_WORK_SIZE);
#undef NAME
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL status";
    }
}

int clr_cl_check(clr_error *err, cl_int status, const char *call)
{
    if (status == CL_SUCCESS)
        return CLR_OK;
    /* Keep only the function name of the call expression. */
    char name[64];
    size_t len = strcspn(call, "(");
    if (len >= sizeof name)
        len = sizeof name - 1;
    memcpy(name, call, len);
    name[len] = '\0';
    int code = (status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_INVALID_BUFFER_SIZE)
                   ? CLR_EUSAGE : CLR_EFAIL;
    return clr_fail(err, code, "%s failed: %s (%d)", name, clr_cl_status_name(status), (int)status);
}

void *clr_malloc(size_t bytes, const char *what, clr_error *err)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        char size[32];
        clr_format_bytes((double)bytes, size, sizeof size);
        clr_fail(err, CLR_EUSAGE, "out of host memory allocating %s for %s", size, what);
    }
    return p;
}

void *clr_calloc(size_t count, size_t size, const char *what, clr_error *err)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        char text[32];
        clr_format_bytes((double)count * (double)size, text, sizeof text);
        clr_fail(err, CLR_EUSAGE, "out of host memory allocating %s for %s", text, what);
    }
    return p;
}

char *clr_command_line(int argc, char **argv)
{
    size_t len = 1;
    for (int i = 0; i < argc; ++i)
        len += strlen(argv[i]) + 1;
    char *line = calloc(len, 1);
    for (int i = 0; line && i < argc; ++i) {
        strcat(line, i ? " " : "");
        strcat(line, i ? argv[i] : "clrepro");
    }
    return line;
}

char *clr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int clr_size_mul(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

int clr_size_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return -1;
    *out = a + b;
    return 0;
}

uint64_t clr_host_memory_available(void)
{
    uint64_t avail = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kib;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
                avail = (uint64_t)kib * 1024;
                break;
            }
        fclose(f);
    }
    long page = sysconf(_SC_PAGESIZE);
    if (avail == 0 && page > 0) {
#ifdef _SC_AVPHYS_PAGES
        long pages = sysconf(_SC_AVPHYS_PAGES);
        if (pages > 0)
            avail = (uint64_t)pages * (uint64_t)page;
#endif
    }
    if (avail == 0)
        avail = UINT64_MAX; /* unknown: let the allocations decide */
    /* An address-space limit (ulimit -v) bounds what this process can still map. */
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        uint64_t mapped = 0;
        unsigned long long size_pages;
        f = fopen("/proc/self/statm", "r");
        if (f) {
            if (fscanf(f, "%llu", &size_pages) == 1 && page > 0)
                mapped = (uint64_t)size_pages * (uint64_t)page;
            fclose(f);
        }
        uint64_t left = (uint64_t)lim.rlim_cur > mapped ? (uint64_t)lim.rlim_cur - mapped : 0;
        if (left < avail)
            avail = left;
    }
    return avail;
}

int clr_parse_u64(const char *text, uint64_t *out)
{
    if (!text || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int clr_parse_size(const char *text, size_t *out)
{
    if (!text || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno)
        return -1;
    if (end[0] == '^') {
        if (v != 2 || !isdigit((unsigned char)end[1]))
            return -1;
        unsigned long long e = strtoull(end + 1, &end, 10);
        if (*end || e > 62)
            return -1;
        v = 1ull << e;
    } else if (*end) {
        unsigned shift;
        switch (end[0]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return -1;
        }
        if (end[1] || v > (UINT64_MAX >> shift))
            return -1;
        v <<= shift;
    }
    if (v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

int clr_parse_uint(const char *text, unsigned min, unsigned max, unsigned *out)
{
    size_t v;
    if (clr_parse_size(text, &v) || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int clr_parse_size_list(const char *text, size_t **items, size_t *count)
{
    *items = NULL;
    *count = 0;
    if (!text || !*text)
        return -1;
    char *copy = clr_strdup(text);
    size_t cap = 1;
    for (const char *p = text; *p; ++p)
        cap += *p == ',';
    size_t *list = malloc(cap * sizeof *list);
    if (!copy || !list) {
        free(copy);
        free(list);
        return -1;
    }
    size_t n = 0;
    char *save = NULL;
    int bad = text[strlen(text) - 1] == ',' || text[0] == ',' || strstr(text, ",,");
    for (char *tok = strtok_r(copy, ",", &save); tok && !bad; tok = strtok_r(NULL, ",", &save))
        bad = clr_parse_size(tok, &list[n++]) != 0;
    free(copy);
    if (bad || n == 0) {
        free(list);
        return -1;
    }
    *items = list;
    *count = n;
    return 0;
}

double clr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void clr_utc_timestamp(char buf[32])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void clr_format_bytes(double bytes, char *buf, size_t size)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        ++u;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void clr_slugify(const char *text, char *buf, size_t size)
{
    size_t o = 0;
    int dash = 0;
    for (const char *p = text; *p && o + 1 < size; ++p) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c)) {
            if (dash && o > 0 && o + 2 < size)
                buf[o++] = '-';
            buf[o++] = (char)tolower(c);
            dash = 0;
        } else {
            dash = 1;
        }
    }
    if (o == 0 && size > 7) {
        memcpy(buf, "device", 6);
        o = 6;
    }
    buf[o < size ? o : size - 1] = '\0';
}

const char *clr_clblast_version(void)
{
#ifdef CLREPRO_HAVE_CLBLAST /* the header's version: the library's soname holds its major */
    return CLR_STR(CLBLAST_VERSION_MAJOR) "." CLR_STR(CLBLAST_VERSION_MINOR) "." CLR_STR(CLBLAST_VERSION_PATCH);
#else
    return "not built";
#endif
}
