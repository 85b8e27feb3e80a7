/* test_data.c: the counter-based generator (pure function of seed, row, index; pinned known
 * values; distribution sanity) and the .npy reader and writer: malformed files, the header
 * parsed as NumPy parses it, versions, sizes checked before allocating, pipes. */
#include <check.h>
#include "test_util.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data.h"
#include "npy.h"
#include "reference.h"

START_TEST(generator_known_values)
{
    /* Pinned: a change here changes every committed result. */
    static const struct { clr_dist d; uint64_t row, i; uint32_t bits; } known[] = {
        {CLR_DIST_UNIFORM, 0, 1, 0xbe2173d0}, {CLR_DIST_UNIFORM, 1, 2001, 0xbf465092},
        {CLR_DIST_NORMAL, 0, 1001, 0x3f59d9b8}, {CLR_DIST_NORMAL, 1, 1, 0xbf509c85},
        {CLR_DIST_ILLCOND, 0, 1001, 0xca850a0f}, {CLR_DIST_ILLCOND, 0, 2001, 0x8005f839},
        {CLR_DIST_ILLCOND, 1, 2001, 0xb394c998},
    };
    for (size_t k = 0; k < sizeof known / sizeof known[0]; ++k)
        ck_assert_uint_eq(clr_float_bits(clr_gen(42, known[k].d, known[k].row, known[k].i)), known[k].bits);
}
END_TEST

START_TEST(generator_row_is_pure)
{
    /* A row is the same bits whatever else is generated, in whatever order or length. */
    for (int d = 0; d < 3; ++d) {
        float a[3000], b[1500];
        clr_gen_row(5, (clr_dist)d, 17, a, 3000);
        clr_gen_row(5, (clr_dist)d, 3, b, 1500);
        clr_gen_row(5, (clr_dist)d, 17, b, 1500);
        for (size_t i = 0; i < 1500; ++i) {
            ck_assert_uint_eq(clr_float_bits(a[i]), clr_float_bits(b[i]));
            ck_assert_uint_eq(clr_float_bits(a[i]), clr_float_bits(clr_gen(5, (clr_dist)d, 17, i)));
        }
        ck_assert_uint_ne(clr_float_bits(clr_gen(5, (clr_dist)d, 17, 0)), clr_float_bits(clr_gen(6, (clr_dist)d, 17, 0)));
    }
}
END_TEST

START_TEST(generator_distributions)
{
    enum { N = 1 << 16 };
    float *x = malloc(N * sizeof *x);
    clr_gen_row(1, CLR_DIST_UNIFORM, 0, x, N);
    double mean = 0, var = 0;
    for (int i = 0; i < N; ++i) {
        ck_assert(x[i] >= -1.0f && x[i] < 1.0f);
        mean += x[i];
    }
    mean /= N;
    ck_assert(fabs(mean) < 0.02);
    clr_gen_row(1, CLR_DIST_NORMAL, 0, x, N);
    mean = 0;
    for (int i = 0; i < N; ++i)
        mean += x[i];
    mean /= N;
    for (int i = 0; i < N; ++i)
        var += (x[i] - mean) * (x[i] - mean);
    var /= N;
    ck_assert(fabs(mean) < 0.02 && fabs(var - 1.0) < 0.03);
    /* Ill-conditioned: the exact sum is far below sum |x|, and the exponents span far. */
    clr_gen_row(1, CLR_DIST_ILLCOND, 0, x, N);
    double abs_sum = 0;
    float lo = INFINITY, hi = 0;
    for (int i = 0; i < N; ++i) {
        abs_sum += fabs(x[i]);
        if (x[i] != 0) {
            lo = fminf(lo, fabsf(x[i]));
            hi = fmaxf(hi, fabsf(x[i]));
        }
    }
    ck_assert(fabs((double)clr_exact_sum(x, N)) < abs_sum * 1e-20);
    ck_assert((double)hi / (double)lo > 1e40);
    free(x);
}
END_TEST

static char tmpdir[256];

static void make_tmpdir(void)
{
    test_mkdtemp(tmpdir, sizeof tmpdir, "npy");
}

static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

/* A .npy file with the given header dict and payload size. */
static void write_npy(const char *path, const char *dict, size_t payload_floats)
{
    char buf[256] = "\x93NUMPY\x01\x00";
    size_t dl = strlen(dict), hl = (10 + dl + 1 + 63) / 64 * 64 - 10;
    buf[8] = (char)hl;
    buf[9] = 0;
    memset(buf + 10, ' ', hl);
    memcpy(buf + 10, dict, dl);
    buf[10 + hl - 1] = '\n';
    FILE *f = fopen(path, "wb");
    fwrite(buf, 1, 10 + hl, f);
    for (size_t i = 0; i < payload_floats; ++i) {
        float v = (float)i;
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

/* A .npy file in memory: format version major.0, the dict padded as NumPy pads it, then
 * payload_bytes bytes of values (0, 1, 2 ... as float32 while they last). *size is set. */
static char *npy_bytes(unsigned major, const char *dict, size_t payload_bytes, size_t *size)
{
    size_t prefix = major == 1 ? 10 : 12, dl = strlen(dict), hl = (prefix + dl + 1 + 63) / 64 * 64 - prefix;
    char *b = malloc(prefix + hl + payload_bytes + 1);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (char)major;
    b[7] = 0;
    b[8] = (char)(hl & 0xff);
    b[9] = (char)(hl >> 8);
    if (major > 1)
        b[10] = b[11] = 0;
    memset(b + prefix, ' ', hl);
    memcpy(b + prefix, dict, dl);
    b[prefix + hl - 1] = '\n';
    for (size_t i = 0; i < payload_bytes; ++i) {
        float v = (float)(i / 4);
        b[prefix + hl + i] = ((const char *)&v)[i % 4];
    }
    *size = prefix + hl + payload_bytes;
    return b;
}

/* Decodes from memory and, through a file, with the reader: both must agree. Returns the
 * status; *msg gets the reader's message. */
static int npy_check(unsigned major, const char *dict, size_t payload_bytes, size_t *rows, size_t *cols, char *msg,
                     size_t msg_size)
{
    size_t size, r2 = 0, c2 = 0;
    char *b = npy_bytes(major, dict, payload_bytes, &size), path[300];
    float *data = (float *)1, *data2 = (float *)1;
    clr_error err = {0}, err2 = {0};
    int rc = clr_npy_decode_f32(b, size, "mem.npy", &data, rows, cols, &err);
    snprintf(path, sizeof path, "%s/v.npy", tmpdir);
    write_bytes(path, b, size);
    int rc2 = clr_npy_read_f32(path, &data2, &r2, &c2, &err2);
    ck_assert_msg(rc == rc2, "%s: decode %d, read %d (%s)", dict, rc, rc2, err2.msg);
    if (rc == CLR_OK) {
        ck_assert(r2 == *rows && c2 == *cols);
        ck_assert_mem_eq(data, data2, *rows * *cols * sizeof(float));
        free(data);
        free(data2);
    } else {
        ck_assert_ptr_null(data);
        ck_assert_ptr_null(data2);
    }
    snprintf(msg, msg_size, "%s", err2.msg);
    unlink(path);
    free(b);
    return rc;
}

static void npy_accepts(unsigned major, const char *dict, size_t rows, size_t cols)
{
    size_t r, c;
    char msg[4096];
    ck_assert_msg(npy_check(major, dict, rows * cols * 4, &r, &c, msg, sizeof msg) == CLR_OK,
                  "v%u %s refused: %.300s", major, dict, msg);
    ck_assert_msg(r == rows && c == cols, "v%u %s read as %zu x %zu", major, dict, r, c);
}

static void npy_refuses(unsigned major, const char *dict, size_t payload_bytes, const char *needle)
{
    size_t r, c;
    char msg[4096];
    ck_assert_msg(npy_check(major, dict, payload_bytes, &r, &c, msg, sizeof msg) == CLR_EUSAGE,
                  "v%u %s accepted", major, dict);
    ck_assert_msg(strstr(msg, needle) != NULL, "v%u %s: message lacks '%s': %.300s", major, dict, needle, msg);
}

START_TEST(npy_header_is_a_dict_literal)
{
    make_tmpdir();
    /* As NumPy reads them (numpy.lib.format, checked with NumPy 2.4). */
    npy_accepts(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 1, 4);
    npy_accepts(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 2, 3);
    npy_accepts(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 2, 3);
    npy_accepts(1, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (4,)}", 1, 4);
    npy_accepts(1, "{'descr':'<f4','fortran_order':False,'shape':(2,3,)}", 2, 3);
    npy_accepts(1, "{'shape': ( 4 , ), 'fortran_order': False,\n 'descr': '<f4'}", 1, 4);
    npy_accepts(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (4,), }", 1, 4);
    npy_accepts(1, "{'descr': '=f4', 'fortran_order': False, 'shape': (4,), }", 1, 4);
    npy_accepts(1, "{'descr': 'f4', 'fortran_order': False, 'shape': (4,), }", 1, 4);
    npy_accepts(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4L,), }", 1, 4); /* Python 2 files */
    npy_accepts(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", 2, 3);
    /* What NumPy refuses, clrepro refuses. */
    npy_refuses(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (4L,), }", 16, "malformed shape");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", 16, "not a tuple");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", 16, "unexpected key 'x'");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': {'shape': (2,)}}", 16,
                "unexpected key 'x'");
    npy_refuses(1, "{'descr': {'a': '<f4'}, 'fortran_order': False, 'shape': (4,)}", 16, "descr is not");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (4,)}", 16, "fortran_order is not");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [4]}", 16, "not a tuple");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (04,)}", 16, "malformed shape");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}", 16, "malformed shape");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,,)}", 16, "malformed shape");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", 16, "malformed shape");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4, "0-D");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4x,)}", 16, "malformed shape");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)", 16, "malformed .npy header");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False 'shape': (4,)}", 16, "malformed .npy header");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} # c", 16, "text after the dict");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}}", 16, "text after the dict");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (4,)}", 16, "fortran_order is not");
    npy_refuses(1, "{'descr': '\\x3cf4', 'fortran_order': False, 'shape': (4,)}", 16, "descr is not");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'descr': '<f4'}", 16, "appears twice");
    npy_refuses(1, "{'descr': 'float32', 'fortran_order': False, 'shape': (4,)}", 16, "unsupported dtype");
    /* Two shape keys: NumPy reads the last one; clrepro refuses rather than guess. */
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'shape': (2,)}", 8, "'shape' appears twice");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
                "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
                "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)}", 4, "more than 64 dimensions");
    rmdir(tmpdir);
}
END_TEST

START_TEST(npy_versions)
{
    make_tmpdir();
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
    size_t size, rows, cols;
    char *b = npy_bytes(1, dict, 16, &size);
    float *data;
    clr_error err = {0};
    b[7] = 1; /* version 1.1 */
    ck_assert_int_eq(clr_npy_decode_f32(b, size, "v.npy", &data, &rows, &cols, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "version 1.1") != NULL, "%s", err.msg);
    b[6] = 4;
    b[7] = 0;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_npy_decode_f32(b, size, "v.npy", &data, &rows, &cols, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "version 4.0") != NULL, "%s", err.msg);
    free(b);
    /* Written by NumPy 2.4: numpy.save(f, numpy.array([1.5, -2, 0.25], dtype='<f4')). */
    static const char numpy_written[] =
        "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
        "                                                            "
        "\n\x00\x00\xc0?\x00\x00\x00\xc0\x00\x00\x80>";
    ck_assert_uint_eq(sizeof numpy_written - 1, 140);
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(clr_npy_decode_f32(numpy_written, sizeof numpy_written - 1, "numpy.npy", &data, &rows, &cols,
                                        &err), CLR_OK);
    ck_assert(rows == 1 && cols == 3 && data[0] == 1.5f && data[1] == -2.0f && data[2] == 0.25f);
    free(data);
    rmdir(tmpdir);
}
END_TEST

START_TEST(npy_size_checked_before_allocating)
{
    /* A 144-byte file declaring 2^40 values must be refused from its size, not by asking for
     * 4 TiB (under AddressSanitizer such a request aborts the process). */
    make_tmpdir();
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", 16,
                "4398046511104 bytes");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }", 16, "truncated data");
    /* Products that wrap: 2^62 x 8 values, 2^61 values of 4 bytes, a dimension beyond 2^64. */
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", 16, "too large");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }", 16, "too large");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }", 16,
                "beyond 2^64");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 17, "trailing bytes");
    npy_refuses(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 15, "truncated data");
    /* A header length beyond the file. */
    size_t size, rows, cols;
    char *b = npy_bytes(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16, &size);
    float *data;
    clr_error err = {0};
    b[10] = 0x7f;
    ck_assert_int_eq(clr_npy_decode_f32(b, size, "h.npy", &data, &rows, &cols, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "header length") || strstr(err.msg, "truncated"), "%s", err.msg);
    free(b);
    rmdir(tmpdir);
}
END_TEST

START_TEST(npy_from_a_pipe)
{
    /* A stream of unknown size: read in growing pieces, the same checks at the end. */
    make_tmpdir();
    size_t size, rows, cols;
    char *b = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", 64, &size);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], b, size), (ssize_t)size);
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    float *data;
    clr_error err = {0};
    ck_assert_int_eq(clr_npy_read_f32(path, &data, &rows, &cols, &err), CLR_EUSAGE);
    ck_assert_msg(strstr(err.msg, "truncated data") != NULL, "%s", err.msg);
    close(fds[0]);
    free(b);
    b = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, &size);
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], b, size), (ssize_t)size);
    close(fds[1]);
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    memset(&err, 0, sizeof err);
    ck_assert_msg(clr_npy_read_f32(path, &data, &rows, &cols, &err) == CLR_OK, "%s", err.msg);
    ck_assert(rows == 2 && cols == 3 && data[5] == 5.0f);
    free(data);
    close(fds[0]);
    free(b);
    rmdir(tmpdir);
}
END_TEST

START_TEST(npy_round_trip)
{
    make_tmpdir();
    char path[300];
    snprintf(path, sizeof path, "%s/a.npy", tmpdir);
    float data[6] = {1, -2, 3.5f, 0x1p-149f, -0.0f, 1e30f};
    clr_error err = {0};
    ck_assert_int_eq(clr_npy_write_f32(path, data, 2, 3, &err), 0);
    float *back;
    size_t rows, cols;
    ck_assert_int_eq(clr_npy_read_f32(path, &back, &rows, &cols, &err), 0);
    ck_assert(rows == 2 && cols == 3);
    ck_assert_mem_eq(back, data, sizeof data);
    free(back);
    /* 1-D reads as one row. */
    write_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 5);
    ck_assert_int_eq(clr_npy_read_f32(path, &back, &rows, &cols, &err), 0);
    ck_assert(rows == 1 && cols == 5 && back[4] == 4.0f);
    free(back);
    unlink(path);
    rmdir(tmpdir);
}
END_TEST

static void expect_rejected(const char *path, const char *needle)
{
    float *data = (float *)1;
    size_t rows, cols;
    clr_error err = {0};
    ck_assert_int_eq(clr_npy_read_f32(path, &data, &rows, &cols, &err), CLR_EUSAGE);
    ck_assert_ptr_null(data);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
}

START_TEST(npy_malformed)
{
    make_tmpdir();
    char path[300];
    snprintf(path, sizeof path, "%s/bad.npy", tmpdir);
    expect_rejected("/nonexistent/x.npy", "cannot open");
    write_bytes(path, "hello world, not numpy", 22);
    expect_rejected(path, "not a .npy file");
    write_bytes(path, "\x93NUMPY\x01\x00\x40\x00{'descr'", 17);
    expect_rejected(path, "truncated .npy header");
    write_npy(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", 8);
    expect_rejected(path, "unsupported dtype");
    write_npy(path, "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", 4);
    expect_rejected(path, "unsupported dtype");
    write_npy(path, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 4);
    expect_rejected(path, "Fortran");
    write_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 2), }", 8);
    expect_rejected(path, "3-D");
    write_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 11);
    expect_rejected(path, "truncated data");
    write_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 13);
    expect_rejected(path, "trailing bytes");
    write_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", 0);
    expect_rejected(path, "empty");
    write_npy(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (a, 4), }", 0);
    expect_rejected(path, "shape");
    write_npy(path, "{'descr': '<f4', 'shape': (4,), }", 4);
    expect_rejected(path, "malformed .npy header");
    write_bytes(path, "\x93NUMPY\x07\x00\x10\x00", 10);
    expect_rejected(path, "version");
    unlink(path);
    rmdir(tmpdir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *gen = tcase_create("generator");
    tcase_add_test(gen, generator_known_values);
    tcase_add_test(gen, generator_row_is_pure);
    tcase_add_test(gen, generator_distributions);
    suite_add_tcase(s, gen);
    TCase *npy = tcase_create("npy");
    tcase_add_test(npy, npy_round_trip);
    tcase_add_test(npy, npy_malformed);
    tcase_add_test(npy, npy_header_is_a_dict_literal);
    tcase_add_test(npy, npy_versions);
    tcase_add_test(npy, npy_size_checked_before_allocating);
    tcase_add_test(npy, npy_from_a_pipe);
    suite_add_tcase(s, npy);
    return clr_run_suite(s);
}
