/* output.h: the results of one device run as a versioned JSON document, a flat CSV, a
 * Markdown table and a readable stdout summary; and writing them all at once. The writer side
 * only (it needs the runner's types): readers of results documents use results.h, text.h and
 * schema.h instead. */
#ifndef CLREPRO_OUTPUT_H
#define CLREPRO_OUTPUT_H

#include <jansson.h>
#include <stdio.h>
#include "runner.h"
#include "schema.h"

/* Probe outputs stored as bits: the first this many values of the probe row (the fingerprint
 * covers every output). */
#define CLR_PROBE_BITS_STORED 256

json_t *clr_results_json(const clr_run_config *cfg, const clr_device_result *res);
/* That document as the text written to <name>.json (and to stdout by run --out -), newline-ended;
 * NULL when memory runs out. */
char *clr_results_json_text(const clr_run_config *cfg, const clr_device_result *res);
/* The journal's records: {"case": {...}} with every field of the case, without loss, and
 * {"roof": {...}}; NULL when memory runs out. Read back by journal.c. */
json_t *clr_case_record(const clr_run_config *cfg, const clr_case *c);
json_t *clr_roof_record(const clr_roof_result *c);
char *clr_results_csv(const clr_run_config *cfg, const clr_device_result *res);
char *clr_results_markdown(const clr_run_config *cfg, const clr_device_result *res);
void clr_print_summary(FILE *out, const clr_run_config *cfg, const clr_device_result *res, const char *dir);

/* <dir>/<name>.json, .csv, .md (and, with save_outputs, <name>-<strategy>-<dims>-b<B>.npy), all
 * written to temporaries first and renamed together. */
int clr_write_results(const char *dir, const clr_run_config *cfg, const clr_device_result *res, clr_error *err);
/* The same files added to a batch the caller commits (or aborts): several runs land together. */
struct clr_file_batch;
int clr_results_add(struct clr_file_batch *batch, const char *dir, const clr_run_config *cfg,
                    const clr_device_result *res, clr_error *err);

/* The run's strategies, shapes and batches as JSON arrays (results and journal alike). */
void clr_config_lists(const clr_run_config *cfg, json_t **strategies, json_t **shapes, json_t **batches);

#endif
