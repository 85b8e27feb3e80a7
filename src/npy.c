/* npy.c: reader and writer for the subset of NumPy's .npy format clrepro exchanges: float32,
 * C order, 1-D or 2-D. Anything else is refused with the reason.
 *
 * The header is a Python dict literal, parsed here as one (not searched for substrings), with
 * the rules NumPy's reader applies (numpy.lib.format, checked against NumPy 2.4):
 *   - format versions 1.0, 2.0 and 3.0 only;
 *   - exactly the keys 'descr', 'fortran_order' and 'shape' (NumPy requires that set; a key
 *     given twice, which NumPy would read as its last value, is refused here);
 *   - strings in single or double quotes, without escape sequences or prefixes;
 *   - fortran_order True or False; shape a tuple of decimal integers: (4,) and (2, 3) are tuples,
 *     (4) is not; Python 2's long suffix, (4L,), only in versions 1.0 and 2.0, as NumPy;
 *   - descr '<f4', or '=f4', '|f4' or 'f4', which NumPy reads in the reading host's byte order;
 *     '>f4' and other spellings NumPy accepts but never writes ('float32', '<f') are refused;
 *   - blanks (space, tab, newline, carriage return, form feed) between tokens and after the
 *     dict; comments are refused.
 * The size the shape declares (overflow-checked) must equal what the file holds after the
 * header, and that is checked before anything is allocated for the values. */
#include "npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "atomic_file.h"

#define BAD(...) clr_fail(err, CLR_EUSAGE, __VA_ARGS__)
#define MAX_HEADER (1u << 20)
#define MAX_DIMS 64 /* NumPy's limit */

typedef struct npy_layout {
    unsigned major;
    size_t prefix;     /* magic, version and header length: 10 or 12 bytes */
    size_t header_len; /* the dict and its padding */
    size_t rows, cols;
    size_t payload; /* rows * cols * 4 */
    int swap;       /* the values' byte order differs from the host's */
} npy_layout;

static int host_is_big_endian(void)
{
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 0;
}

/* The 10- or 12-byte prefix. avail: how many bytes of it there are. */
static int parse_prefix(const unsigned char *pre, size_t avail, const char *name, npy_layout *l, clr_error *err)
{
    if (avail < 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return BAD("%s: not a .npy file (no \\x93NUMPY magic)", name);
    if ((pre[6] != 1 && pre[6] != 2 && pre[6] != 3) || pre[7] != 0)
        return BAD("%s: unsupported .npy format version %u.%u; NumPy writes 1.0, 2.0 and 3.0", name, pre[6], pre[7]);
    l->major = pre[6];
    l->prefix = l->major == 1 ? 10 : 12;
    if (avail < l->prefix)
        return BAD("%s: truncated .npy header", name);
    l->header_len = pre[8] | (size_t)pre[9] << 8;
    if (l->major > 1)
        l->header_len |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    if (l->header_len > MAX_HEADER)
        return BAD("%s: implausible .npy header length %zu (at most %u)", name, l->header_len, MAX_HEADER);
    return CLR_OK;
}

/* A cursor over the header text [p, end). */
typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_blanks(cursor *c)
{
    while (c->p < c->end && *c->p && strchr(" \t\n\r\f", *c->p))
        ++c->p;
}

static int at(cursor *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

static int is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* A quoted string: *s and *len point into the header. 0, or -1 when there is none. */
static int parse_string(cursor *c, const char **s, size_t *len)
{
    if (!at(c, '\'') && !at(c, '"'))
        return -1;
    char quote = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n' || *c->p == '\r' || *c->p == '\0')
            return -1;
        ++c->p;
    }
    if (c->p == c->end)
        return -1;
    *s = start;
    *len = (size_t)(c->p - start);
    ++c->p;
    return 0;
}

static int word_is(cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0 ||
        (c->p + n < c->end && is_name_char(c->p[n])))
        return 0;
    c->p += n;
    return 1;
}

/* A non-negative decimal integer as Python writes it (no leading zeros), with the long
 * suffix L where long_ok. -1: not one; -2: beyond 2^64 - 1. */
static int parse_int(cursor *c, int long_ok, uint64_t *out)
{
    if (!at(c, '0') && !(c->p < c->end && *c->p >= '1' && *c->p <= '9'))
        return -1;
    uint64_t v = 0;
    int overflow = 0;
    const char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p++ - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = 1;
        else
            v = v * 10 + d;
    }
    if (*start == '0' && c->p - start > 1)
        return -1;
    if (long_ok && at(c, 'L'))
        ++c->p;
    if (c->p < c->end && is_name_char(*c->p))
        return -1;
    *out = v;
    return overflow ? -2 : 0;
}

static int parse_shape(cursor *c, const char *name, npy_layout *l, clr_error *err)
{
    const char *start = c->p;
    if (!at(c, '('))
        return BAD("%s: the .npy header's shape is not a tuple; NumPy writes (n,) or (rows, cols)", name);
    ++c->p;
    uint64_t dims[MAX_DIMS];
    size_t nd = 0;
    int trailing_comma = 0;
    for (;;) {
        skip_blanks(c);
        if (at(c, ')'))
            break;
        if (nd == MAX_DIMS)
            return BAD("%s: the .npy header's shape has more than %d dimensions", name, MAX_DIMS);
        int rc = parse_int(c, l->major <= 2, &dims[nd]);
        if (rc == -2)
            return BAD("%s: a dimension of the .npy header's shape is beyond 2^64 - 1", name);
        if (rc)
            return BAD("%s: malformed shape in .npy header: expected whole numbers in a tuple, as (4,) or (2, 3)", name);
        ++nd;
        trailing_comma = 0;
        skip_blanks(c);
        if (at(c, ',')) {
            ++c->p;
            trailing_comma = 1;
        } else if (!at(c, ')'))
            return BAD("%s: malformed shape in .npy header: expected , or ) after a dimension", name);
    }
    ++c->p;
    int len = (int)(c->p - start) > 40 ? 40 : (int)(c->p - start);
    if (nd == 1 && !trailing_comma)
        return BAD("%s: the .npy header's shape %.*s is not a tuple (a 1-D shape is written (n,))", name, len, start);
    if (nd == 0)
        return BAD("%s: 0-D arrays are not supported; clrepro reads 1-D (one row) or 2-D (rows x n)", name);
    if (nd > 2)
        return BAD("%s: %zu-D arrays are not supported; clrepro reads 1-D (one row) or 2-D (rows x n)", name, nd);
    uint64_t rows = nd == 2 ? dims[0] : 1, cols = dims[nd - 1];
    if (rows == 0 || cols == 0)
        return BAD("%s: the array is empty (shape %llu x %llu)", name, (unsigned long long)rows,
                   (unsigned long long)cols);
    if (rows > SIZE_MAX || cols > SIZE_MAX || clr_size_mul((size_t)rows, (size_t)cols, &l->payload) ||
        clr_size_mul(l->payload, sizeof(float), &l->payload))
        return BAD("%s: shape %llu x %llu is too large to address", name, (unsigned long long)rows,
                   (unsigned long long)cols);
    l->rows = (size_t)rows;
    l->cols = (size_t)cols;
    return CLR_OK;
}

static int parse_descr(const char *s, size_t len, const char *name, npy_layout *l, clr_error *err)
{
    static const struct { const char *descr; int little; } accepted[] = {
        {"<f4", 1}, {"=f4", -1}, {"|f4", -1}, {"f4", -1}, /* -1: the host's order, as NumPy reads it */
    };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; ++i)
        if (strlen(accepted[i].descr) == len && !memcmp(accepted[i].descr, s, len)) {
            l->swap = accepted[i].little == 1 && host_is_big_endian();
            return CLR_OK;
        }
    return BAD("%s: unsupported dtype '%.*s'; clrepro reads float32 little-endian ('<f4'): convert with "
               "numpy.asarray(x, dtype='<f4')", name, len > 32 ? 32 : (int)len, s);
}

/* The header dict: exactly descr, fortran_order and shape, each once. */
static int parse_dict(const char *hdr, size_t len, const char *name, npy_layout *l, clr_error *err)
{
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    int seen[3] = {0, 0, 0};
    cursor c = {hdr, hdr + len};
    if (memchr(hdr, '\0', len))
        return BAD("%s: malformed .npy header (a NUL byte in it)", name);
    skip_blanks(&c);
    if (!at(&c, '{'))
        return BAD("%s: malformed .npy header (not a dict literal)", name);
    ++c.p;
    for (;;) {
        skip_blanks(&c);
        if (at(&c, '}'))
            break;
        const char *key;
        size_t klen;
        if (parse_string(&c, &key, &klen))
            return BAD("%s: malformed .npy header: expected a quoted key or }", name);
        int k = -1;
        for (int i = 0; i < 3; ++i)
            if (strlen(keys[i]) == klen && !memcmp(keys[i], key, klen))
                k = i;
        if (k < 0)
            return BAD("%s: unexpected key '%.*s' in the .npy header; NumPy allows only descr, fortran_order and shape",
                       name, klen > 32 ? 32 : (int)klen, key);
        if (seen[k]++)
            return BAD("%s: the key '%s' appears twice in the .npy header", name, keys[k]);
        skip_blanks(&c);
        if (!at(&c, ':'))
            return BAD("%s: malformed .npy header: expected : after '%s'", name, keys[k]);
        ++c.p;
        skip_blanks(&c);
        if (k == 0) {
            const char *v;
            size_t vlen;
            if (parse_string(&c, &v, &vlen))
                return BAD("%s: the .npy header's descr is not a plain quoted string (clrepro reads '<f4')", name);
            if (parse_descr(v, vlen, name, l, err))
                return err->code;
        } else if (k == 1) {
            if (word_is(&c, "True"))
                return BAD("%s: Fortran-ordered arrays are not supported; save with numpy.ascontiguousarray", name);
            if (!word_is(&c, "False"))
                return BAD("%s: the .npy header's fortran_order is not True or False", name);
        } else if (parse_shape(&c, name, l, err)) {
            return err->code;
        }
        skip_blanks(&c);
        if (at(&c, ','))
            ++c.p;
        else if (!at(&c, '}'))
            return BAD("%s: malformed .npy header: expected , or } after the value of '%s'", name, keys[k]);
    }
    ++c.p;
    skip_blanks(&c);
    if (c.p != c.end)
        return BAD("%s: malformed .npy header (text after the dict)", name);
    if (!seen[0] || !seen[1] || !seen[2])
        return BAD("%s: malformed .npy header (needs descr, fortran_order and shape; %s is missing)", name,
                   !seen[0] ? "descr" : !seen[1] ? "fortran_order" : "shape");
    return CLR_OK;
}

/* What follows the header must be exactly the values the shape declares. */
static int check_payload_size(const npy_layout *l, uint64_t after_header, const char *name, clr_error *err)
{
    if (after_header < l->payload)
        return BAD("%s: truncated data: the header promises %zu x %zu float32 values (%zu bytes), the file holds %llu "
                   "bytes after the header", name, l->rows, l->cols, l->payload, (unsigned long long)after_header);
    if (after_header > l->payload)
        return BAD("%s: trailing bytes after the %zu x %zu float32 values the header promises (%llu bytes where %zu "
                   "are expected)", name, l->rows, l->cols, (unsigned long long)after_header, l->payload);
    return CLR_OK;
}

static void fix_byte_order(const npy_layout *l, float *data)
{
    if (!l->swap)
        return;
    uint32_t *w = (uint32_t *)data;
    for (size_t i = 0; i < l->rows * l->cols; ++i)
        w[i] = __builtin_bswap32(w[i]);
}

int clr_npy_decode_f32(const void *bytes, size_t size, const char *name, float **data, size_t *rows, size_t *cols,
                       clr_error *err)
{
    const unsigned char *b = bytes;
    npy_layout l = {0};
    *data = NULL;
    if (parse_prefix(b, size < 12 ? size : 12, name, &l, err))
        return err->code;
    if (size - l.prefix < l.header_len)
        return BAD("%s: truncated .npy header", name);
    if (parse_dict((const char *)b + l.prefix, l.header_len, name, &l, err) ||
        check_payload_size(&l, size - l.prefix - l.header_len, name, err))
        return err->code;
    *data = clr_malloc(l.payload, name, err);
    if (!*data)
        return err->code;
    memcpy(*data, b + l.prefix + l.header_len, l.payload);
    fix_byte_order(&l, *data);
    *rows = l.rows;
    *cols = l.cols;
    return CLR_OK;
}

/* The values of a stream whose size is not known beforehand (a pipe): read in growing
 * pieces, so a header that lies costs no more memory than the data that is there. */
static int read_stream_payload(FILE *f, const npy_layout *l, const char *name, float **data, clr_error *err)
{
    size_t cap = l->payload < (1u << 24) ? l->payload : (1u << 24), got = 0;
    char *buf = clr_malloc(cap, name, err);
    if (!buf)
        return err->code;
    for (;;) {
        got += fread(buf + got, 1, cap - got, f);
        if (got < cap || cap == l->payload)
            break; /* the end of the stream, or every value the header promises */
        size_t next = cap > l->payload / 2 ? l->payload : cap * 2;
        char *grown = realloc(buf, next);
        if (!grown) {
            free(buf);
            return clr_fail(err, CLR_EUSAGE, "out of host memory reading %s", name);
        }
        buf = grown;
        cap = next;
    }
    int failed = ferror(f);
    uint64_t after = got + (got == l->payload && fgetc(f) != EOF); /* one byte more: trailing bytes */
    if (failed || check_payload_size(l, after, name, err)) {
        free(buf);
        return failed ? BAD("%s: read error", name) : err->code;
    }
    *data = (float *)buf;
    return CLR_OK;
}

int clr_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols, clr_error *err)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return BAD("cannot open input %s: %s", path, strerror(errno));
    struct stat st;
    int sized = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    uint64_t file_size = sized ? (uint64_t)st.st_size : UINT64_MAX;
    unsigned char pre[12];
    char *hdr = NULL;
    npy_layout l = {0};
    size_t pre_len = fread(pre, 1, 8, f);
    if (pre_len == 8) /* the header length takes 2 bytes in version 1, 4 in versions 2 and 3 */
        pre_len += fread(pre + 8, 1, pre[6] == 2 || pre[6] == 3 ? 4 : 2, f);
    int rc = parse_prefix(pre, pre_len, path, &l, err);
    if (rc == CLR_OK && file_size - l.prefix < l.header_len)
        rc = BAD("%s: truncated .npy header", path);
    if (rc == CLR_OK && !(hdr = clr_malloc(l.header_len + 1, path, err)))
        rc = err->code;
    if (rc == CLR_OK && fread(hdr, 1, l.header_len, f) != l.header_len)
        rc = BAD("%s: truncated .npy header", path);
    if (rc == CLR_OK)
        rc = parse_dict(hdr, l.header_len, path, &l, err);
    if (rc == CLR_OK && sized)
        rc = check_payload_size(&l, file_size - l.prefix - l.header_len, path, err);
    if (rc == CLR_OK && sized) {
        if (!(*data = clr_malloc(l.payload, path, err)))
            rc = err->code;
        else if (fread(*data, 1, l.payload, f) != l.payload || fgetc(f) != EOF)
            rc = BAD("%s: the file changed size while it was read", path);
    } else if (rc == CLR_OK) {
        rc = read_stream_payload(f, &l, path, data, err);
    }
    free(hdr);
    fclose(f);
    if (rc) {
        free(*data);
        *data = NULL;
        return rc;
    }
    fix_byte_order(&l, *data);
    *rows = l.rows;
    *cols = l.cols;
    return CLR_OK;
}

int clr_npy_encode(const char *descr, const void *data, const size_t *shape, size_t ndim, char **bytes, size_t *size)
{
    char dict[256], dims[160] = "";
    size_t count = 1, len = 0;
    for (size_t i = 0; i < ndim && len < sizeof dims; ++i) {
        len += (size_t)snprintf(dims + len, sizeof dims - len, "%zu, ", shape[i]);
        if (clr_size_mul(count, shape[i], &count))
            return -1;
    }
    if (ndim == 0 || ndim > 8 || len >= sizeof dims || count > SIZE_MAX / 4)
        return -1;
    /* "n, m, " cut to "n, m"; one dimension keeps its comma, "(n,)", a one-element tuple */
    int dlen = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%.*s), }", descr,
                        (int)(ndim == 1 ? len - 1 : len - 2), dims);
    if (dlen < 0 || (size_t)dlen >= sizeof dict)
        return -1;
    size_t header = 10 + (size_t)dlen + 1;
    size_t padded = (header + 63) / 64 * 64;
    size_t payload = count * 4; /* '<f4' and '<i4' */
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
        for (size_t i = 0; i < count; ++i)
            w[i] = __builtin_bswap32(w[i]);
    }
    *bytes = buf;
    *size = padded + payload;
    return 0;
}

int clr_npy_encode_f32(const float *data, size_t rows, size_t cols, char **bytes, size_t *size)
{
    size_t shape[2] = {rows, cols};
    return clr_npy_encode("<f4", data, shape, 2, bytes, size);
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
