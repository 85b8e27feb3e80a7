/* test_util.h: helpers shared by the device test suites. */
#ifndef CLREPRO_TEST_UTIL_H
#define CLREPRO_TEST_UTIL_H

#include <check.h>
#include <stdlib.h>
#include "device.h"
#include "op.h"
#include "runner.h"

/* The device the tests run on: CLREPRO_TEST_DEVICE (a --device spec), default the first CPU. */
static inline clr_device test_device(void)
{
    clr_device_list all, chosen;
    clr_error err = {0};
    const char *spec = getenv("CLREPRO_TEST_DEVICE") ? getenv("CLREPRO_TEST_DEVICE") : "cpu";
    ck_assert_msg(clr_devices_enumerate(&all, &err) == 0, "%s", err.msg);
    ck_assert_msg(clr_devices_select(&all, spec, &chosen, &err) == 0, "%s", err.msg);
    clr_device d = chosen.items[0];
    clr_devices_free(&chosen);
    clr_devices_free(&all);
    return d;
}

/* A run of one strategy of op at one shape over the given batch sizes, on rows supplied as
 * data (rows x cols, as if read from --input): 3 trials, 1 timed repetition after 1 warm-up,
 * every output kept. Tuning as the device's default unless the caller sets it. */
static inline clr_run_config test_file_config(const clr_operation *op, const char *strategy, clr_shape *shape,
                                              size_t *batches, size_t nbatches, const float *data, size_t rows,
                                              size_t cols)
{
    clr_run_config cfg = {0};
    const clr_strategy *s = clr_strategy_find(op, strategy);
    ck_assert_msg(s != NULL, "%s has no strategy %s", op->name, strategy);
    cfg.op = op;
    cfg.strategy_index[0] = (size_t)(s - op->strategies);
    cfg.nstrategies = 1;
    cfg.shapes = shape;
    cfg.nshapes = 1;
    cfg.batches = batches;
    cfg.nbatches = nbatches;
    cfg.trials = 3;
    cfg.reps = 1;
    cfg.warmup = 1;
    cfg.save_outputs = 1;
    cfg.input.seed = 5;
    cfg.input.from_file = 1;
    cfg.input.data = (float *)data;
    cfg.input.rows = rows;
    cfg.input.cols = cols;
    return cfg;
}

/* Runs a suite; the process exit status. */
static inline int clr_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
