/* results.h: reading results documents (schema clrepro.results, version 1) back, for `compare`
 * and `report`; versions 1 and 2 (2026-11-27: the roof, the peak, repetition times, the commit). The reader never trusts its input: every field is type- and range-checked, and
 * whatever bytes it is given it either fills a clr_rdoc or returns CLR_EUSAGE with a message
 * naming the file and the field. Strings are kept whole (no fixed buffers, so nothing is cut
 * inside a UTF-8 character) and are valid UTF-8: Jansson checks the document's, and the file
 * label has any invalid byte replaced by U+FFFD. They are raw text: every writer escapes them
 * for its own format (text.h). */
#ifndef CLREPRO_RESULTS_H
#define CLREPRO_RESULTS_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>
#include "util.h"

#define CLR_RESULTS_MAX_BYTES ((size_t)1 << 30)
#define CLR_RESULTS_MAX_PROBE 4096

typedef struct clr_rpos {
    size_t position;
    int64_t max_ulp_vs_base; /* -1: unknown */
} clr_rpos;

typedef struct clr_rcase {
    char *strategy;
    char *shape;     /* "n=4096 dtype=fp32" in the document's key order */
    double kv_len;   /* attention's kv-len when present, else 0 (for the length figure) */
    size_t batch;
    int valid, skipped;
    double median_s, gbps, gflops, overhead; /* NaN where the document has null */
    double copy_gbps; /* the roof: read at the same bytes (schema 2), copy of them (schema 1) */
    double *rep_times; /* the timed repetitions in seconds (schema 2), NULL where not given */
    size_t nreps;
    size_t r2r_distinct, trials;
    int64_t r2r_max_ulp, accuracy_max_ulp;   /* -1: unknown */
    double accuracy_scaled_u;                /* error in u (matmul, attention); NaN: not given */
    size_t batch_distinct;                   /* 0: absent */
    int64_t batch_max_ulp;
    char fingerprint[17];
    uint32_t *probe_bits;
    size_t nprobe;
    clr_rpos positions[3];
    size_t npositions;
    unsigned order; /* its strategy's order revision (strategies[].order; 1 where absent) */
    int order_given; /* the document gives it (documents from 2026-11-28 on) */
} clr_rcase;

typedef struct clr_rclaim {
    char *strategy, *claim, *observed, *evidence;
    int claimed, broken;
} clr_rclaim;

/* Where one strategy's probe bits change with the batch at one shape (switch_points[], schema 2
 * documents written from 2026-11-27 on). */
typedef struct clr_rswitch {
    char *strategy, *shape, *text; /* text: "change at B = 11, 16 (...)", "never change in ..." */
    size_t measured, changes_total;
} clr_rswitch;

typedef struct clr_rdoc {
    char *path; /* the label the document was read under (its file), as valid UTF-8 */
    char *tool_version, *device, *platform, *driver, *device_type;
    char *op, *name, *batch_name, *started, *command;
    int schema_version; /* 1: roof was a copy of the bytes, no repetitions, commit or peak */
    char *git_commit, *clblast; /* "unknown" in schema 1 documents */
    double peak_read_gbps, peak_copy_gbps; /* NaN in schema 1 */
    double wall_seconds;
    clr_rcase *cases;
    size_t ncases;
    clr_rclaim *claims;
    size_t nclaims;
    clr_rswitch *switches; /* empty where the document has none */
    size_t nswitches;
    char **strategies; /* in the document's order */
    size_t nstrategies;
} clr_rdoc;

/* A document of another kind (its "schema" is not clrepro.results, or it has none) is
 * CLR_EUSAGE with a message that names what it is. */
int clr_results_parse(const char *bytes, size_t size, const char *label, clr_rdoc *doc, clr_error *err);
int clr_results_load(const char *path, clr_rdoc *doc, clr_error *err);
/* As clr_results_load, except that a file that is no results document is not an error: CLR_OK
 * with *doc empty and `what` saying what it is instead ("a compare document (schema
 * clrepro.compare, ...)", "JSON that is not a clrepro document (...)", or, for a file whose name
 * does not end in .json, "not JSON (...)"). On CLR_OK with what[0] == '\0', *doc is filled. Still
 * CLR_EUSAGE: a file that cannot be read, a .json file that is not valid JSON (a damaged
 * document?), and a results document that is damaged or of another schema version. */
int clr_results_load_or_identify(const char *path, clr_rdoc *doc, char *what, size_t size, clr_error *err);
/* `what` for a decode document (schema clrepro.decode): compare and report read those too
 * (compare.h, CLR_COMPARE_DECODE). */
#define CLR_DECODE_WHAT "a decode document (schema clrepro.decode, written by `clrepro decode`)"
void clr_rdoc_free(clr_rdoc *doc);

/* Appends item to the JSON array arr, taking it; -1 (item released) when either is NULL (a
 * json_pack or json_array that ran out of memory) or the append fails. For the reader side's
 * writers (compare, baseline, export). */
int clr_json_append(json_t *arr, json_t *item);

/* A copy of s with every byte that is not part of a well-formed UTF-8 character replaced by
 * U+FFFD; NULL when out of memory. */
char *clr_utf8_copy(const char *s);

#endif
