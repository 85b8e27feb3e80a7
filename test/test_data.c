/* test_data.c: the counter-based generator (pure function of seed, row, index; pinned known
 * values; distribution sanity) and the .npy reader and writer, including malformed files. */
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

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/clrepro-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
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

START_TEST(npy_round_trip)
{
    make_tmpdir();
    char path[128];
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
    char path[128];
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
    suite_add_tcase(s, npy);
    return clr_run_suite(s);
}
