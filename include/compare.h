/* compare.h: `clrepro compare` and `clrepro report`, which read results documents written by
 * `run` on any number of machines (results.h). */
#ifndef CLREPRO_COMPARE_H
#define CLREPRO_COMPARE_H

#include "results.h"

/* A case present in several documents, matched by (run name, strategy, shape, batch). */
typedef struct clr_match {
    const clr_rcase *cases[64]; /* per document, or NULL */
    size_t present;
    size_t groups;        /* distinct fingerprints among the present documents */
    int group_of[64];     /* fingerprint group of each document, -1 where absent */
    int64_t max_ulp;      /* largest probe-bit distance between two documents; -1 unknown */
    double time_ratio;    /* slowest / fastest median time; NaN if fewer than two timed */
    size_t fastest, slowest;
} clr_match;

typedef struct clr_comparison {
    clr_rdoc *docs;
    size_t ndocs;
    char (*labels)[1600];
    clr_match *matches; /* only keys present in at least two documents */
    size_t nmatches;
    const char **match_name; /* run name of each match */
} clr_comparison;

/* Loads every file (CLR_EUSAGE on the first bad one) and matches their cases. */
int clr_compare_load(char *const *paths, size_t npaths, clr_comparison *cmp, clr_error *err);
void clr_compare_free(clr_comparison *cmp);

/* A device-invariance claim judged across the documents: for a (run, strategy) that some
 * document claims device_invariant for, the matched cases measured on at least two different
 * devices (device name or platform differs), how many gave one fingerprint on all of them, and
 * the first case that did not. */
typedef struct clr_device_claim {
    const char *run, *strategy;
    size_t cases, identical;
    char evidence[512];
} clr_device_claim;

/* Fills rows (room for cmp->nmatches) and returns how many; "held" when cases == identical > 0,
 * "violated" when identical < cases, "not measured" when cases == 0. */
size_t clr_compare_device_claims(const clr_comparison *cmp, clr_device_claim *rows);
const char *clr_device_claim_observed(const clr_device_claim *row);

char *clr_compare_markdown(const clr_comparison *cmp);
char *clr_compare_csv(const clr_comparison *cmp);
char *clr_compare_json(const clr_comparison *cmp);
char *clr_report_html(const clr_comparison *cmp);

#endif
