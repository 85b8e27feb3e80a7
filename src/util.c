/* util.c: the small shared helpers declared in util.h. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int clr_fail(clr_error *err, int code, const char *fmt, ...)
{
    if (err && err->code == CLR_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
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

char *clr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
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
    uint64_t v;
    if (clr_parse_u64(text, &v) || v < min || v > max)
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
