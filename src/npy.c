/* npy.c: reader and writer for the subset of NumPy's .npy format clrepro exchanges: float32,
 * little-endian, C order, 1-D or 2-D. Anything else is refused with the reason. */
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "atomic_file.h"

#define BAD(...) clr_fail(err, CLR_EUSAGE, __VA_ARGS__)

/* Finds 'key': in the header dict and returns a pointer past the colon and blanks. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pattern[32];
    snprintf(pattern, sizeof pattern, "'%s'", key);
    const char *p = strstr(hdr, pattern);
    if (!p)
        return NULL;
    p += strlen(pattern);
    while (*p == ' ')
        ++p;
    if (*p != ':')
        return NULL;
    ++p;
    while (*p == ' ')
        ++p;
    return p;
}

static int parse_header(const char *path, const char *hdr, size_t *rows, size_t *cols, clr_error *err)
{
    const char *descr = dict_value(hdr, "descr");
    const char *order = dict_value(hdr, "fortran_order");
    const char *shape = dict_value(hdr, "shape");
    if (!descr || !order || !shape)
        return BAD("%s: malformed .npy header (needs descr, fortran_order and shape)", path);
    if (strncmp(descr, "'<f4'", 5) != 0) {
        int len = descr[0] == '\'' ? (int)strcspn(descr + 1, "'") + 2 : (int)strcspn(descr, ",}");
        return BAD("%s: unsupported dtype %.*s; clrepro reads float32 little-endian ('<f4'): convert with "
                   "numpy.asarray(x, dtype='<f4')", path, len > 32 ? 32 : len, descr);
    }
    if (strncmp(order, "False", 5) != 0)
        return BAD("%s: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray", path);
    if (*shape != '(')
        return BAD("%s: malformed shape in .npy header", path);
    uint64_t dims[3];
    int nd = 0;
    const char *p = shape + 1;
    for (;;) {
        while (*p == ' ')
            ++p;
        if (*p == ')')
            break;
        if (!isdigit((unsigned char)*p) || nd == 3)
            return BAD("%s: malformed or unsupported shape in .npy header (1-D or 2-D only)", path);
        errno = 0;
        char *end;
        dims[nd++] = strtoull(p, &end, 10);
        if (errno)
            return BAD("%s: dimension out of range in .npy header", path);
        p = end;
        while (*p == ' ')
            ++p;
        if (*p == ',')
            ++p;
        else if (*p != ')')
            return BAD("%s: malformed shape in .npy header", path);
    }
    if (nd == 1) {
        *rows = 1;
        *cols = dims[0];
    } else if (nd == 2) {
        *rows = dims[0];
        *cols = dims[1];
    } else {
        return BAD("%s: %d-D arrays are not supported; clrepro reads 1-D (one row) or 2-D (rows x n)", path, nd);
    }
    if (*rows == 0 || *cols == 0)
        return BAD("%s: the array is empty (shape %zu x %zu)", path, *rows, *cols);
    if (*cols > SIZE_MAX / sizeof(float) / *rows)
        return BAD("%s: shape %zu x %zu is too large", path, *rows, *cols);
    return CLR_OK;
}

int clr_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols, clr_error *err)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return BAD("cannot open input %s: %s", path, strerror(errno));
    unsigned char pre[12];
    char *hdr = NULL;
    int rc = CLR_OK;
    size_t pre_len = fread(pre, 1, 10, f);
    if (pre_len < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rc = BAD("%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    uint32_t hlen;
    if (pre[6] == 1) {
        hlen = pre[8] | (uint32_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            rc = BAD("%s: truncated .npy header", path);
            goto done;
        }
        hlen = pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    } else {
        rc = BAD("%s: unsupported .npy format version %u.%u", path, pre[6], pre[7]);
        goto done;
    }
    if (hlen > (1u << 20)) {
        rc = BAD("%s: implausible .npy header length %u", path, hlen);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        rc = clr_fail(err, CLR_EFAIL, "out of host memory");
        goto done;
    }
    if (fread(hdr, 1, hlen, f) != hlen) {
        rc = BAD("%s: truncated .npy header", path);
        goto done;
    }
    hdr[hlen] = '\0';
    if (memchr(hdr, '\0', hlen)) {
        rc = BAD("%s: malformed .npy header", path);
        goto done;
    }
    if ((rc = parse_header(path, hdr, rows, cols, err)))
        goto done;
    size_t count = *rows * *cols;
    *data = clr_malloc(count * sizeof(float), path, err);
    if (!*data) {
        rc = err->code;
        goto done;
    }
    if (fread(*data, sizeof(float), count, f) != count) {
        rc = BAD("%s: truncated data: the header promises %zu x %zu float32 values", path, *rows, *cols);
        goto done;
    }
    if (fgetc(f) != EOF) {
        rc = BAD("%s: trailing bytes after the %zu x %zu float32 values the header promises", path, *rows, *cols);
        goto done;
    }
    /* Values are stored little-endian; convert on a big-endian host. */
    const uint16_t probe = 1;
    if (*(const unsigned char *)&probe == 0) {
        uint32_t *w = (uint32_t *)*data;
        for (size_t i = 0; i < count; ++i)
            w[i] = __builtin_bswap32(w[i]);
    }
done:
    free(hdr);
    fclose(f);
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

int clr_npy_encode_f32(const float *data, size_t rows, size_t cols, char **bytes, size_t *size)
{
    char dict[128];
    int dlen = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                        rows, cols);
    size_t header = 10 + (size_t)dlen + 1;
    size_t padded = (header + 63) / 64 * 64;
    size_t payload = rows * cols * sizeof(float);
    char *buf = malloc(padded + payload);
    if (!buf)
        return -1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(padded - 10);
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    memcpy(buf + 10, dict, (size_t)dlen);
    memset(buf + 10 + dlen, ' ', padded - 10 - (size_t)dlen - 1);
    buf[padded - 1] = '\n';
    memcpy(buf + padded, data, payload);
    const uint16_t probe = 1;
    if (*(const unsigned char *)&probe == 0) {
        uint32_t *w = (uint32_t *)(buf + padded);
        for (size_t i = 0; i < rows * cols; ++i)
            w[i] = __builtin_bswap32(w[i]);
    }
    *bytes = buf;
    *size = padded + payload;
    return 0;
}

int clr_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols, clr_error *err)
{
    char *bytes;
    size_t size;
    if (clr_npy_encode_f32(data, rows, cols, &bytes, &size))
        return clr_fail(err, CLR_EFAIL, "out of host memory encoding %s", path);
    int rc = clr_write_file_atomic(path, bytes, size, err);
    free(bytes);
    return rc;
}
