/* test_util.h: helpers shared by the device test suites. */
#ifndef CLREPRO_TEST_UTIL_H
#define CLREPRO_TEST_UTIL_H

#include <check.h>
#include <stdlib.h>
#include "device.h"

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
