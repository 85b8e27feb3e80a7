/* output.h: the results of one device run as a versioned JSON document, a flat CSV, a
 * Markdown table and a readable stdout summary; and writing them all at once. */
#ifndef CLREPRO_OUTPUT_H
#define CLREPRO_OUTPUT_H

#include <jansson.h>
#include <stdio.h>
#include "runner.h"

#define CLR_SCHEMA_NAME "clrepro.results"
#define CLR_SCHEMA_VERSION 1
/* Probe outputs stored as bits: the first this many values of the probe row (the fingerprint
 * covers every output). */
#define CLR_PROBE_BITS_STORED 256

json_t *clr_results_json(const clr_run_config *cfg, const clr_device_result *res);
char *clr_results_csv(const clr_run_config *cfg, const clr_device_result *res);
char *clr_results_markdown(const clr_run_config *cfg, const clr_device_result *res);
void clr_print_summary(FILE *out, const clr_run_config *cfg, const clr_device_result *res, const char *dir);

/* <dir>/<name>.json, .csv, .md (and, with save_outputs, <name>-<strategy>-<dims>-b<B>.npy), all
 * written to temporaries first and renamed together. */
int clr_write_results(const char *dir, const clr_run_config *cfg, const clr_device_result *res, clr_error *err);

/* Helpers shared by the writers. */
const clr_variance *clr_find_variance(const clr_device_result *res, size_t strategy, size_t shape_index);
json_t *clr_shape_json(const clr_operation *op, const clr_shape *shape);
void clr_claims_text(unsigned claims, char *buf, size_t size);
void clr_hex64(uint64_t v, char buf[17]);

/* A growable string for the text formats. */
typedef struct clr_text {
    char *buf;
    size_t len, cap;
    int failed;
} clr_text;
void clr_text_printf(clr_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
