/* compare.h: `clrepro compare` and `clrepro report`, which read results documents written by
 * `run` on any number of machines (results.h), named as files or found in folders. Matching is
 * by hash, so the work grows with the number of cases, not with its square. They also read the
 * documents `clrepro decode` writes (compare_decode.c): grouped by experiment, they say whether
 * the devices decoded the same tokens. */
#ifndef CLREPRO_COMPARE_H
#define CLREPRO_COMPARE_H

#include <stdio.h>
#include "results.h"
#include "text.h"

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
    size_t revised; /* cases with a device whose document is of another order revision: not compared with it */
    char *evidence;
} clr_device_claim;

/* An input that is not run results, and what it is. Both strings are raw (from the file system
 * and the file): escape them before printing. */
typedef struct clr_skipped {
    char *path, *why;
} clr_skipped;

/* ---- decode documents (schema clrepro.decode, version 1), read by compare_decode.c ---- */

/* One run of a prompt: decoded in a batch of `batch`, repetition `repeat`. */
typedef struct clr_drun {
    size_t batch, repeat;
    char fingerprint[17]; /* of the completion, 16 lower-case hex digits */
} clr_drun;

typedef struct clr_dprompt {
    char fingerprint[17]; /* the reference completion: the prompt decoded alone */
    clr_drun *runs;
    size_t nruns;
    int one; /* every run gave the reference's completion */
} clr_dprompt;

/* A batch size's speed; NaN where the document has null or nothing. */
typedef struct clr_dbatch {
    size_t batch;
    double tokens_per_s, step_ms, roof_fraction, overhead_vs_fast;
} clr_dbatch;

typedef struct clr_dmode {
    char *mode;
    char *not_run; /* why the mode did not run; NULL where it ran */
    clr_dprompt *prompts; /* config.prompts of them, by prompt index; none where not run */
    size_t nprompts;
    clr_dbatch *batches;
    size_t nbatches;
    size_t one_completion; /* prompts with one completion over every run */
} clr_dmode;

/* A decode document, checked field by field (it may come from another machine). Strings are
 * raw, valid UTF-8: escape them where they land. */
typedef struct clr_ddoc {
    char *file;                     /* the path it was read from */
    char *path;                     /* the same, invalid UTF-8 replaced: the label to print */
    char *device, *platform, *driver;
    char *label;                    /* "device (driver)", with the file where two would look alike */
    char *model, *activations;
    size_t prompts, tokens, repeats;
    long long seed;
    size_t *batches;
    size_t nbatches;
    char *experiment_key;           /* canonical JSON of what makes two documents comparable */
    size_t experiment;              /* index into clr_comparison.experiments */
    clr_dmode *modes;
    size_t nmodes;
} clr_ddoc;

/* One mode of one experiment, over the documents that ran it. */
typedef struct clr_dagreement {
    const char *mode;
    size_t *docs;             /* decode documents (indices into cmp->decode) that ran it */
    const clr_dmode **runs;   /* per entry of docs: that document's mode */
    size_t ndocs;
    size_t *not_run;          /* documents of the experiment that have the mode but did not run it */
    size_t nnot_run;
    size_t prompts;
    size_t one_everywhere;    /* prompts whose every run on every device gave one completion */
    size_t same_reference;    /* prompts whose reference completion is the same on every device */
    size_t *differing;        /* the prompts not one_everywhere, in order */
    size_t ndiffering;
} clr_dagreement;

/* Documents with the same model (name and config) and the same config (prompts, tokens,
 * batches, repeats, seed, activations, prompt ids): only these are compared. */
typedef struct clr_dexperiment {
    size_t *docs; /* in input order */
    size_t ndocs;
    clr_dagreement *modes; /* in order of first appearance */
    size_t nmodes;
} clr_dexperiment;

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
    clr_ddoc *decode; /* decode documents, read only with CLR_COMPARE_DECODE */
    size_t ndecode;
    clr_dexperiment *experiments;
    size_t nexperiments;
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
/* As clr_compare_load; with CLR_COMPARE_DECODE in flags (compare and report), decode
 * documents are read too, into cmp->decode, and grouped into cmp->experiments: a damaged one
 * is skipped with what is wrong with it (never an error), and inputs holding decode documents
 * only are no error either. Every input file read is in cmp->files or in a decode document's
 * path, for clr_check_output_path. */
#define CLR_COMPARE_DECODE 1
int clr_compare_load_with(char *const *paths, size_t npaths, int flags, clr_comparison *cmp, clr_error *err);
void clr_compare_free(clr_comparison *cmp);
/* One line per skipped input, "clrepro: skipped PATH: what it is", escaped (clr_escape). */
/* A document's label: "device (driver)", and " [path]" where twin (another document would look
 * alike); malloc'ed, NULL when memory runs out. */
char *clr_compare_label(const char *device, const char *driver, const char *path, int twin);
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

/* compare_decode.c, for compare.c and report_html.c. Reads path, a file of schema
 * clrepro.decode: CLR_OK with *doc filled, or CLR_OK with why[0] set (what is wrong with it;
 * *doc empty); CLR_EFAIL only when out of memory. */
int clr_decode_doc_load(const char *path, clr_ddoc *doc, char *why, size_t size, clr_error *err);
void clr_ddoc_free(clr_ddoc *doc);
/* Labels the decode documents and groups them by experiment, then judges the agreement. */
int clr_decode_group(clr_comparison *cmp, clr_error *err);
void clr_decode_free(clr_comparison *cmp);
/* The model, activations, prompts, tokens, batches, repeats and seed of an experiment, as
 * plain (raw) text for a heading; malloc'ed, NULL when out of memory. */
char *clr_decode_experiment_title(const clr_ddoc *d);
/* The decode section of compare.md; the "decode" array of compare.json (a new reference, NULL
 * when out of memory). */
void clr_decode_markdown(const clr_comparison *cmp, clr_text *t);
json_t *clr_decode_json(const clr_comparison *cmp);

/* clr_check_output_path against every document read into cmp, run results and decode
 * documents (those found in folders are inputs too). */
int clr_check_output_documents(const clr_comparison *cmp, const char *path, const char *option, int parent_must_exist,
                               clr_error *err);

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
