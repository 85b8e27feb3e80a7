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
/* The journal's records: {"case": {...}} with every field of the case, without loss, and
 * {"copy": {...}}; NULL when memory runs out. Read back by journal.c. */
json_t *clr_case_record(const clr_run_config *cfg, const clr_case *c);
json_t *clr_copy_record(const clr_copy_result *c);
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

/* Helpers shared by the writers. */
const clr_variance *clr_find_variance(const clr_device_result *res, size_t strategy, size_t shape_index);
json_t *clr_shape_json(const clr_operation *op, const clr_shape *shape);
/* The run's strategies, shapes and batches as JSON arrays (results and journal alike). */
void clr_config_lists(const clr_run_config *cfg, json_t **strategies, json_t **shapes, json_t **batches);
void clr_claims_text(unsigned claims, char *buf, size_t size);
void clr_hex64(uint64_t v, char buf[17]);

/* A growable string for the text formats; failed is set (and the text stops growing) when
 * memory runs out. */
typedef struct clr_text {
    char *buf;
    size_t len, cap;
    int failed;
} clr_text;
void clr_text_printf(clr_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void clr_text_append(clr_text *t, const char *bytes, size_t n);

/* One escape per output context. Every string that did not come from this program's own
 * tables (device and driver strings, names, paths, command lines, anything read from a results
 * document) goes through the one for where it lands:
 *   clr_text_md       Markdown text, safe in a table cell: control characters (newlines, ANSI
 *                     escapes) become spaces, | \ ` * _ [ ] ~ are backslash-escaped and < > &
 *                     written as entities, so no cell can split, no row can end, and no HTML
 *                     tag, link or emphasis can form.
 *   clr_text_md_code  a Markdown code span outside tables (fenced by more backticks than the
 *                     text holds; control characters become spaces).
 *   clr_text_csv      one CSV field, always quoted, inner quotes doubled (RFC 4180); a field
 *                     starting with = + - @ or a tab or carriage return is prefixed with ' so
 *                     that no spreadsheet reads it as a formula.
 *   clr_text_html     HTML text or a quoted attribute value (either quote): & < > " ' as
 *                     entities, control characters other than tab and newline as spaces. */
void clr_text_md(clr_text *t, const char *s);
void clr_text_md_code(clr_text *t, const char *s);
void clr_text_csv(clr_text *t, const char *s);
void clr_text_html(clr_text *t, const char *s);

#endif
