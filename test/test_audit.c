/* test_audit.c: `clrepro audit` on the test device (PoCL by default): both files written with
 * the schema, the device and every probe; portable_exp's and portable_div's fingerprints on the
 * device equal the host's replay over the same sample (computed here, so a device or an audit
 * that gets them wrong fails); contraction off is "not contracted"; fma rounds once on PoCL; the
 * fixed sample covers every exponent and the specials; compare lists an audit.json as skipped;
 * bad input (an --out under a file, --out -, an unknown option, a bad --device) exits 2 and
 * leaves nothing behind. */
#include <jansson.h>
#include <math.h>
#include <sys/wait.h>
#include <xxhash.h>
#include "audit.h"
#include "cli.h"
#include "portable.h"
#include "test_util.h"

/* Runs the binary with args (a shell fragment); its exit status, and stdout + stderr in out. */
static int run_bin(const char *args, char *out, size_t size) { return test_run_bin(args, 1, out, size); }

static const char *device_spec(void)
{
    return getenv("CLREPRO_TEST_DEVICE") ? getenv("CLREPRO_TEST_DEVICE") : "cpu";
}

/* The one device folder under dir, in buf. */
static void device_dir(const char *dir, char *buf, size_t size)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int found = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') {
            ck_assert_msg(!found, "more than one folder in %s", dir);
            snprintf(buf, size, "%.700s/%.255s", dir, e->d_name);
            found = 1;
        }
    closedir(d);
    ck_assert_msg(found, "no device folder in %s", dir);
}

/* XXH64 of the values' bits with every NaN made 0x7fc00000, written here rather than taken
 * from audit.c, so that the comparison below does not trust the code it checks. */
static void fingerprint_hex(const float *x, size_t n, char hex[17])
{
    uint32_t *b = malloc(n * sizeof *b);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; ++i) {
        if (isnan(x[i]))
            b[i] = 0x7fc00000u;
        else
            memcpy(&b[i], &x[i], sizeof b[i]);
    }
    snprintf(hex, 17, "%016llx", (unsigned long long)XXH64(b, n * sizeof *b, 0));
    free(b);
}

static json_t *accuracy_entry(json_t *doc, const char *function, const char *build)
{
    json_t *acc = json_object_get(doc, "accuracy"), *e;
    size_t i;
    json_array_foreach(acc, i, e)
        if (!strcmp(json_string_value(json_object_get(e, "function")), function) &&
            !strcmp(json_string_value(json_object_get(e, "build")), build))
            return e;
    ck_abort_msg("no accuracy entry for %s (%s)", function, build);
    return NULL;
}

static const char *str_at(json_t *doc, const char *path)
{
    json_t *j = doc;
    char key[64];
    for (const char *p = path; j && *p;) {
        size_t len = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)len, p);
        j = json_object_get(j, key);
        p += len + (p[len] == '.');
    }
    ck_assert_msg(json_is_string(j), "%s is not a string", path);
    return json_string_value(j);
}

START_TEST(audit_writes_every_probe)
{
    char dir[512], dev_dir[1024], args[2048], out[16384], path[2200];
    test_mkdtemp(dir, sizeof dir, "audit");
    snprintf(args, sizeof args, "audit --device '%s' --out '%s/results'", device_spec(), dir);
    int rc = run_bin(args, out, sizeof out);
    ck_assert_msg(rc == 0, "audit exited %d: %s", rc, test_tail(out, 2000));
    ck_assert_msg(strstr(out, "portable_exp") && strstr(out, "results: "), "%s", test_tail(out, 2000));
    /* The table fits 100 columns. */
    for (const char *line = out; *line;) {
        size_t len = strcspn(line, "\n");
        ck_assert_msg(len <= 100 || !strncmp(line, "audit of ", 9) || !strncmp(line, "results: ", 9),
                      "a line of %zu columns: %.*s", len, (int)len, line);
        line += len + (line[len] == '\n');
    }
    snprintf(path, sizeof path, "%s/results", dir);
    device_dir(path, dev_dir, sizeof dev_dir);
    ck_assert_int_eq(test_count_files(dev_dir, NULL), 2);
    snprintf(path, sizeof path, "%s/audit.md", dev_dir);
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/audit.json", dev_dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);

    ck_assert_str_eq(str_at(doc, "schema"), "clrepro.audit");
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "schema_version")), 1);
    ck_assert_str_eq(str_at(doc, "tool.version"), CLREPRO_VERSION);
    ck_assert_ptr_nonnull(strstr(str_at(doc, "command"), "audit --device"));
    ck_assert_int_eq((int)strlen(str_at(doc, "started_utc")), 20);
    clr_device dev = test_device();
    ck_assert_str_eq(str_at(doc, "device.name"), dev.name);
    ck_assert_str_eq(str_at(doc, "device.driver_version"), dev.driver_version);

    /* Contraction: off means off; the default is whatever the device does, but one verdict. */
    json_t *con = json_object_get(doc, "contraction");
    ck_assert_int_eq((int)json_array_size(con), 2);
    const char *def = json_string_value(json_object_get(json_array_get(con, 0), "verdict"));
    ck_assert_msg(!strcmp(def, "contracted") || !strcmp(def, "not contracted") || !strcmp(def, "mixed"), "%s", def);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(con, 1), "verdict")), "not contracted");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(con, 1), "rounded_twice")),
                     json_integer_value(json_object_get(json_array_get(con, 1), "inputs")));

    /* Subnormals: five operations, each with an inputs and a results verdict. */
    json_t *ops = json_object_get(json_object_get(doc, "denormals"), "ops"), *op;
    size_t i;
    ck_assert_int_eq((int)json_array_size(ops), 5);
    json_array_foreach(ops, i, op) {
        ck_assert_ptr_nonnull(json_string_value(json_object_get(json_object_get(op, "subnormal_inputs"), "verdict")));
        ck_assert_ptr_nonnull(json_string_value(json_object_get(json_object_get(op, "subnormal_results"), "verdict")));
    }
    /* PoCL keeps subnormals (it reports CL_FP_DENORM) and rounds fma once. */
    if (strstr(dev.platform_name, "Portable Computing Language")) {
        ck_assert_str_eq(str_at(doc, "fma.verdict"), "rounds once");
        json_array_foreach(ops, i, op)
            ck_assert_str_eq(json_string_value(json_object_get(json_object_get(op, "subnormal_inputs"), "verdict")),
                             "preserved");
    }

    /* Every accuracy probe, with its numbers. */
    static const char *functions[] = {"exp", "exp2", "log", "sqrt", "rsqrt", "divide", "native_exp", "native_sqrt",
                                      "native_divide", "native_recip", "half_exp", "half_sqrt", "portable_exp",
                                      "portable_div"};
    for (size_t k = 0; k < sizeof functions / sizeof functions[0]; ++k) {
        json_t *e = accuracy_entry(doc, functions[k], "default");
        ck_assert_msg(json_is_true(json_object_get(e, "available")), "%s", functions[k]);
        ck_assert_msg(json_integer_value(json_object_get(e, "inputs")) > 1000000, "%s", functions[k]);
        ck_assert_msg(json_is_number(json_object_get(e, "max_ulp")), "%s", functions[k]);
        ck_assert_msg(strlen(json_string_value(json_object_get(e, "fingerprint"))) == 16, "%s", functions[k]);
    }
    int cr = (dev.single_fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    const char *flag = "-cl-fp32-correctly-rounded-divide-sqrt";
    ck_assert_int_eq(json_is_true(json_object_get(accuracy_entry(doc, "sqrt", flag), "available")), cr);
    ck_assert_int_eq(json_is_true(json_object_get(accuracy_entry(doc, "divide", flag), "available")), cr);
    ck_assert_int_eq((int)json_array_size(json_object_get(doc, "accuracy")), 16);
    /* Correctly rounded sqrt and division are correctly rounded everywhere on the sample. */
    if (cr) {
        ck_assert_int_eq(json_integer_value(json_object_get(accuracy_entry(doc, "sqrt", flag), "not_correctly_rounded")), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(accuracy_entry(doc, "divide", flag), "not_correctly_rounded")), 0);
        ck_assert_str_eq(str_at(accuracy_entry(doc, "sqrt", flag), "fingerprint"),
                         str_at(accuracy_entry(doc, "sqrt", flag), "correctly_rounded_fingerprint"));
    }

    /* portable_exp and portable_div: the device's fingerprint is the host replay's, computed here. */
    size_t n = clr_audit_unary_sample(NULL);
    ck_assert_uint_eq(n, (size_t)json_integer_value(json_object_get(accuracy_entry(doc, "portable_exp", "default"), "inputs")));
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    ck_assert(x && y);
    clr_audit_unary_sample(x);
    for (size_t k = 0; k < n; ++k)
        y[k] = clr_portable_exp(x[k]);
    char hex[17];
    fingerprint_hex(y, n, hex);
    ck_assert_str_eq(str_at(accuracy_entry(doc, "portable_exp", "default"), "fingerprint"), hex);
    free(x);
    free(y);
    size_t np = clr_audit_pair_sample(NULL, NULL);
    float *a = malloc(np * sizeof *a), *b = malloc(np * sizeof *b), *q = malloc(np * sizeof *q);
    ck_assert(a && b && q);
    clr_audit_pair_sample(a, b);
    for (size_t k = 0; k < np; ++k)
        q[k] = clr_portable_div(a[k], b[k]);
    fingerprint_hex(q, np, hex);
    ck_assert_str_eq(str_at(accuracy_entry(doc, "portable_div", "default"), "fingerprint"), hex);
    /* And the host's own division is the correctly rounded reference. */
    for (size_t k = 0; k < np; ++k)
        q[k] = a[k] / b[k];
    fingerprint_hex(q, np, hex);
    ck_assert_str_eq(str_at(accuracy_entry(doc, "divide", "default"), "correctly_rounded_fingerprint"), hex);
    free(a);
    free(b);
    free(q);
    json_decref(doc);
}
END_TEST

/* The sample: fixed, every exponent with both signs, the specials. */
START_TEST(sample_covers_every_exponent)
{
    size_t n = clr_audit_unary_sample(NULL);
    ck_assert_uint_ge(n, 1000000);
    ck_assert_uint_le(n, 4000000);
    float *x = malloc(n * sizeof *x), *again = malloc(n * sizeof *again);
    ck_assert(x && again);
    clr_audit_unary_sample(x);
    clr_audit_unary_sample(again);
    ck_assert_int_eq(memcmp(x, again, n * sizeof *x), 0);
    static unsigned seen[512];
    int nan = 0, pinf = 0, ninf = 0, pzero = 0, nzero = 0, sub = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        seen[u >> 23]++;
        nan |= isnan(x[i]);
        pinf |= u == 0x7f800000u;
        ninf |= u == 0xff800000u;
        pzero |= u == 0;
        nzero |= u == 0x80000000u;
        sub |= u == 1;
    }
    for (int e = 0; e < 512; ++e)
        if ((e & 0xff) != 0xff)
            ck_assert_msg(seen[e] >= CLR_AUDIT_PER_EXPONENT, "exponent field %d, sign %d: %u inputs", e & 0xff,
                          e >> 8, seen[e]);
    ck_assert(nan && pinf && ninf && pzero && nzero && sub);
    /* A known value of the hash, so that a change of the sample cannot pass unnoticed: the
     * fingerprints of old audits would no longer compare. */
    char hex[17];
    fingerprint_hex(x, n, hex);
    ck_assert_str_eq(hex, "14c60b54f01b1901");
    free(x);
    free(again);
}
END_TEST

START_TEST(compare_skips_audits)
{
    char dir[512], args[2048], out[16384];
    test_mkdtemp(dir, sizeof dir, "audit-compare");
    snprintf(args, sizeof args, "audit --device '%s' --out '%s/results' --quiet", device_spec(), dir);
    int rc = run_bin(args, out, sizeof out);
    ck_assert_msg(rc == 0, "audit exited %d: %s", rc, test_tail(out, 2000));
    ck_assert_msg(out[0] == '\0', "--quiet printed: %s", test_tail(out, 2000));
    snprintf(args, sizeof args, "run --op sum --strategy tree --n 1K --batch 1 --trials 2 --reps 1 --warmup 0 "
             "--device '%s' --out '%s/results' --quiet", device_spec(), dir);
    rc = run_bin(args, out, sizeof out);
    ck_assert_msg(rc == 0, "run exited %d: %s", rc, test_tail(out, 2000));
    snprintf(args, sizeof args, "compare '%s/results' --out '%s/cmp'", dir, dir);
    rc = run_bin(args, out, sizeof out);
    ck_assert_msg(rc == 0, "compare exited %d: %s", rc, test_tail(out, 2000));
    ck_assert_msg(strstr(out, "audit.json: an audit document (schema clrepro.audit"), "%s", test_tail(out, 2000));
}
END_TEST

/* Bad input: exit 2, one message, nothing written. */
static void expect_refused(const char *args, const char *needle, const char *dir)
{
    char out[16384];
    int before = test_count_files(dir, NULL);
    int rc = run_bin(args, out, sizeof out);
    ck_assert_msg(rc == 2, "%s: exit %d: %s", args, rc, test_tail(out, 2000));
    ck_assert_msg(strstr(out, needle) != NULL, "%s: no '%s' in: %s", args, needle, test_tail(out, 2000));
    const char *nl = strchr(out, '\n');
    ck_assert_msg(strstr(out, "clrepro: error: ") == out && nl && nl[1] == '\0', "%s: not one line: %s", args,
                  test_tail(out, 2000));
    ck_assert_int_eq(test_count_files(dir, NULL), before);
}

START_TEST(bad_input_refused)
{
    char dir[512], args[2048], file[600];
    test_mkdtemp(dir, sizeof dir, "audit-bad");
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a folder\n", f);
    fclose(f);
    snprintf(args, sizeof args, "audit --device '%s' --out '%s/sub'", device_spec(), file);
    expect_refused(args, "not a directory", dir);
    snprintf(args, sizeof args, "audit --device '%s' --out '%s'", device_spec(), file);
    expect_refused(args, "not a directory", dir);
    expect_refused("audit --out -", "--out -", dir);
    expect_refused("audit --n 4", "unknown option '--n' for `clrepro audit`", dir);
    expect_refused("audit --device no-such-device-anywhere", "no-such-device-anywhere", dir);
    expect_refused("audits", "unknown command 'audits'", dir);
    /* Nothing was made beside the blocking file, and nothing in the current folder. */
    ck_assert_int_eq(test_count_files(dir, NULL), 1);
}
END_TEST

START_TEST(cli_audit)
{
    clr_cli cli;
    clr_error err = {0};
    char *argv[] = {"clrepro", "audit", "--device", "cpu", "--out", "x", "--quiet"};
    ck_assert_int_eq(clr_cli_parse(7, argv, &cli, &err), 0);
    ck_assert_int_eq(cli.command, CLR_CMD_AUDIT);
    ck_assert_str_eq(cli.device_spec, "cpu");
    ck_assert_str_eq(cli.out_dir, "x");
    ck_assert_int_eq(cli.quiet, 1);
    clr_cli_free(&cli);
    char *help[] = {"clrepro", "help", "audit"};
    ck_assert_int_eq(clr_cli_parse(3, help, &cli, &err), 0);
    ck_assert_int_eq(cli.command, CLR_CMD_HELP);
    ck_assert_int_eq(cli.help_for, CLR_CMD_AUDIT);
    clr_cli_free(&cli);
    char text[8192] = "";
    FILE *m = fmemopen(text, sizeof text - 1, "w");
    ck_assert_ptr_nonnull(m);
    clr_cli_usage(m, CLR_CMD_AUDIT);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(text, "usage: clrepro audit"));
    ck_assert_ptr_nonnull(strstr(text, "--device SPEC"));
    ck_assert_ptr_null(strstr(text, "--trials"));
    m = fmemopen(text, sizeof text - 1, "w");
    clr_cli_usage(m, CLR_CMD_HELP);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(text, "clrepro audit"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("audit");
    TCase *host = tcase_create("host");
    tcase_add_test(host, sample_covers_every_exponent);
    tcase_add_test(host, cli_audit);
    suite_add_tcase(s, host);
    TCase *device = tcase_create("device");
    tcase_set_timeout(device, 600);
    tcase_add_test(device, audit_writes_every_probe);
    tcase_add_test(device, compare_skips_audits);
    tcase_add_test(device, bad_input_refused);
    suite_add_tcase(s, device);
    return s;
}

int main(void)
{
    return clr_run_suite(suite());
}
