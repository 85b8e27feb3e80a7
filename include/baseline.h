/* baseline.h: `clrepro compare --baseline OLD NEW`: results documents of a baseline (OLD) against
 * new ones (NEW), case by case — did the bits change, did the time move — and the gate that
 * `--fail-on bits` / `--fail-on slowdown=X` puts on them for CI. Both sides are read as compare
 * reads its inputs (compare.h: files and folders, other documents skipped and listed).
 *
 * Pairing: a document of one side pairs with the document of the other side that has the same
 * run name (config.name: the operation, or a suite's part) and, where either side holds documents
 * of more than one device, the same device name; when each side holds one device (the usual gate:
 * one device before and after a driver update, a code change or a new GPU), the run name alone
 * pairs them. Two documents of one side that would pair with the same document are an error
 * (ambiguous), as are paired documents of different operations. Cases of a pair match by
 * (strategy, shape, batch); where a document holds one key twice, its first case counts.
 *
 * Time: the new median over the baseline median, both from the raw repetitions (rep_times_s);
 * judged by a two-sided Mann-Whitney U test of the two sets of repetitions (exact where neither
 * side has ties and both have at most 50, else the normal approximation with tie correction and
 * continuity correction). A case is "slower" when p < CLR_BASELINE_ALPHA and new / old exceeds the
 * threshold (--fail-on slowdown's, else CLR_BASELINE_DEFAULT_THRESHOLD), "faster" when p < alpha
 * and old / new exceeds it, "unchanged" otherwise, and "not judged" when either side has fewer
 * than CLR_BASELINE_MIN_REPS repetitions (a schema 1 document has none), is invalid, or has no
 * time. */
#ifndef CLREPRO_BASELINE_H
#define CLREPRO_BASELINE_H

#include <stdio.h>
#include "compare.h"

#define CLR_BASELINE_ALPHA 0.05
/* With 3 repetitions a side the exact test's smallest two-sided p is 0.1: 4 is the fewest that can
 * show a difference at alpha = 0.05 (p = 0.029). */
#define CLR_BASELINE_MIN_REPS 4
#define CLR_BASELINE_DEFAULT_THRESHOLD 1.05
#define CLR_BASELINE_MAX_THRESHOLD 1000.0

typedef enum clr_time_verdict {
    CLR_TIME_NOT_JUDGED,
    CLR_TIME_UNCHANGED,
    CLR_TIME_SLOWER,
    CLR_TIME_FASTER
} clr_time_verdict;

typedef struct clr_bcase {
    size_t pair;
    const clr_rcase *old, *new;
    int deterministic;     /* the strategy claims determinism in either document: its bits are gated */
    int bits_changed;      /* the fingerprints differ */
    int order_revised;     /* the strategy's order revision differs between the two: other bits by design */
    int gated;             /* bits_changed of a deterministic strategy at one order revision */
    int64_t max_ulp;       /* between the two documents' probe bits; -1 unknown */
    double old_median, new_median; /* seconds: of the repetitions, else the document's median; NaN */
    size_t old_reps, new_reps;
    double ratio;          /* new / old median; NaN where either is unknown */
    double p_value;        /* NaN when not judged */
    clr_time_verdict verdict;
    const char *why_not_judged; /* static text, NULL when judged */
    int fails_bits, fails_slowdown; /* this case fails the gate asked for */
} clr_bcase;

typedef struct clr_bpair {
    size_t old_doc, new_doc; /* indices into old.docs and new.docs */
    size_t cases, only_old, only_new; /* matched; present (not skipped) on one side only */
} clr_bpair;

typedef struct clr_bunpaired {
    int side; /* 0 baseline, 1 new */
    size_t doc;
} clr_bunpaired;

typedef struct clr_baseline {
    clr_comparison old, new; /* the two sides as read */
    clr_bpair *pairs;
    size_t npairs;
    clr_bunpaired *unpaired;
    size_t nunpaired;
    clr_bcase *cases; /* pair by pair, in the new document's case order */
    size_t ncases;
    int per_device;     /* documents were paired by run name and device name */
    int fail_bits;      /* --fail-on bits */
    double fail_slowdown; /* --fail-on slowdown=X; 0 when not asked */
    double threshold;   /* the ratio a significant change must exceed to count */
    size_t bits_changed, bits_gated, slower, faster, unchanged, not_judged;
    size_t failed_bits, failed_slowdown; /* cases failing each gate */
} clr_baseline;

/* Reads both sides, pairs the documents and judges every matched case. CLR_EUSAGE (one line):
 * an unreadable or damaged input or no results on a side (compare.h), a baseline of another
 * operation, ambiguous pairing, no pair, no common case. Free with clr_baseline_free whatever it
 * returned. fail_slowdown: 0, or the gate's ratio (> 1). */
int clr_baseline_load(char *const *old_paths, size_t nold, char *const *new_paths, size_t nnew, int fail_bits,
                      double fail_slowdown, clr_baseline *b, clr_error *err);
void clr_baseline_free(clr_baseline *b);
/* Whether a gate asked for failed. */
int clr_baseline_failed(const clr_baseline *b);

/* "1.23x slower", "1.10x faster", "1.00x" (to two decimals), or "-" when the ratio is unknown. */
void clr_ratio_text(double ratio, char *buf, size_t size);
const char *clr_time_verdict_name(clr_time_verdict v);

/* The terminal summary: counts, the pairs, the worst cases and the gates, every line within 100
 * columns, every string from a document escaped (clr_escape). */
void clr_baseline_print_summary(const clr_baseline *b, FILE *out);
/* Whole texts (schema clrepro.baseline, version 1, for the JSON), or NULL with err filled. */
char *clr_baseline_markdown(const clr_baseline *b, clr_error *err);
char *clr_baseline_csv(const clr_baseline *b, clr_error *err);
char *clr_baseline_json(const clr_baseline *b, clr_error *err);

/* Two-sided p-value of the Mann-Whitney U test of x against y (exact without ties when both have
 * at most 50 values, else normal with tie and continuity corrections); 1 when either is empty.
 * *u, when given, receives U of x (the pairs (x_i, y_j) with x_i > y_j, ties counting a half). */
double clr_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u);

#endif
