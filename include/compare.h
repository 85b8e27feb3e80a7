/* compare.h: `clrepro compare` and `clrepro report`, which read results documents written by
 * `run` on any number of machines (results.h), named as files or found in folders. Matching is
 * by hash, so the work grows with the number of cases, not with its square. */
#ifndef CLREPRO_COMPARE_H
#define CLREPRO_COMPARE_H

#include <stdio.h>
#include "results.h"

#define CLR_COMPARE_MAX_DOCS 256

/* A case present in several documents, matched by (run name, strategy, shape, batch); where a
 * document holds one key twice, its first case counts. */
typedef struct clr_match {
    const char *run;         /* run name */
    const clr_rcase **cases; /* ndocs entries: per document, or NULL */
    int *group_of;           /* ndocs entries: fingerprint group of each document, -1 where absent */
    size_t present;
    size_t groups;        /* distinct fingerprints among the present documents */
    int64_t max_ulp;      /* largest probe-bit distance between two documents; -1 unknown */
    double time_ratio;    /* slowest / fastest median time; NaN if fewer than two timed */
    size_t fastest, slowest;
} clr_match;

/* A device-invariance claim judged across the documents: for a (run, strategy) that some
 * document claims device_invariant for, the matched cases measured on at least two different
 * devices (device name or platform differs), how many gave one fingerprint on all of them, and
 * the first case that did not. Observed: "held" when cases == identical > 0, "violated" when
 * identical < cases, "not measured" when cases == 0. */
typedef struct clr_device_claim {
    const char *run, *strategy;
    size_t cases, identical;
    char *evidence;
} clr_device_claim;

/* An input that is not run results, and what it is. Both strings are raw (from the file system
 * and the file): escape them before printing. */
typedef struct clr_skipped {
    char *path, *why;
} clr_skipped;

typedef struct clr_comparison {
    clr_rdoc *docs;
    size_t ndocs;
    char **files; /* per document: the path it was read from (named, or found in a named folder) */
    clr_skipped *skipped; /* the other inputs, in the order met */
    size_t nskipped;
    char **labels; /* "device (driver)", with the file where two documents would look alike */
    clr_match *matches; /* only keys present in at least two documents, in order of first appearance */
    size_t nmatches;
    clr_device_claim *device_claims;
    size_t ndevice_claims;
} clr_comparison;

/* Reads the inputs, files and folders: a folder stands for every *.json below it (each folder's
 * entries in name order, names starting with '.' passed over, links to folders not followed).
 * Run results (schema clrepro.results) become documents, in that order; every other input —
 * a compare or demo-order document, unrelated JSON, a named file that is not JSON, a folder
 * with no .json file, a file met a second time — goes to cmp->skipped with what it is.
 * CLR_EUSAGE: a path that does not exist or cannot be read, a damaged .json file or results
 * document (results.h), more than CLR_COMPARE_MAX_DOCS documents, or no document at all (the
 * message names every input and what it was). Then matches the cases and judges the
 * device-invariance claims. Free with clr_compare_free, whatever it returned. */
int clr_compare_load(char *const *paths, size_t npaths, clr_comparison *cmp, clr_error *err);
void clr_compare_free(clr_comparison *cmp);
/* One line per skipped input, "clrepro: skipped PATH: what it is", escaped (clr_escape). */
void clr_compare_print_skipped(const clr_comparison *cmp, FILE *out);

const char *clr_device_claim_observed(const clr_device_claim *row);

/* Fingerprint group g as letters: A..Z, then AA, AB, ... (buf of 8 bytes). */
void clr_group_name(size_t g, char buf[8]);

/* Refuses (CLR_EUSAGE, one message naming `option`, e.g. "-o") an output path that is one of
 * the input files — the same file by device and inode, so links and other spellings count — or
 * that exists as anything but a regular file; with parent_must_exist, also one whose directory
 * is missing or not writable. Nothing is created. */
int clr_check_output_path(char *const *inputs, size_t ninputs, const char *path, const char *option,
                          int parent_must_exist, clr_error *err);

/* Each returns the whole text, or NULL with err filled (out of memory, or a string the format
 * cannot hold): never a text with something left out. */
char *clr_compare_markdown(const clr_comparison *cmp, clr_error *err);
char *clr_compare_csv(const clr_comparison *cmp, clr_error *err);
char *clr_compare_json(const clr_comparison *cmp, clr_error *err);
char *clr_report_html(const clr_comparison *cmp, clr_error *err);

/* What invariance costs over every case: per (operation, strategy claiming batch or device
 * invariance in its document, device and driver), the min, median and max of the cases' overhead
 * (time / the fastest strategy's at the same shape and batch), sorted by operation, strategy,
 * device. The strings point into cmp. NULL when out of memory. */
typedef struct clr_cost_row {
    const char *op, *strategy, *device, *driver;
    size_t cases;
    double min, median, max;
} clr_cost_row;
clr_cost_row *clr_invariance_costs(const clr_comparison *cmp, size_t *n);
/* The report's own style and its one script (column sorting), literals of report_html.c: the
 * tests admit exactly these into the page. */
extern const char clr_report_style[], clr_report_script[];

#endif
