/* journal.h: completed cases kept on disk while a run is measured, so that an interrupted run
 * (a signal, a crash, a kernel that does not end) loses nothing it finished. One journal per
 * run and device: <dir>/.<name>.journal.jsonl, a header line with a hash of everything that
 * decides a case's figures (tool version, operation, strategies, shapes, batches, trials,
 * repetitions, warm-up, input, device and driver, tuning, build options, kernel sources,
 * CLREPRO_* variables), then one JSON line per completed case or copy measurement, each
 * written whole and fsync'd. `run --resume` takes the cases of a journal with the same hash
 * instead of measuring them; the journal is removed once the results are written. */
#ifndef CLREPRO_JOURNAL_H
#define CLREPRO_JOURNAL_H

#include "runner.h"

typedef struct clr_journal clr_journal;

/* Opens the journal of cfg on the prepared run's device in dir, creating nothing. With
 * resume, an existing journal is loaded (a torn last line, from a crash mid-write, is cut off)
 * and one written for another configuration is refused with CLR_EUSAGE naming what differs.
 * Without resume, an existing journal is left alone until the first case is measured, and
 * then replaced: cases of two configurations are never mixed. The directory (and the file) are
 * created with the first record. */
int clr_journal_open(const char *dir, const clr_run_config *cfg, const clr_prepared_run *p, int resume,
                     clr_journal **out, clr_error *err);
const char *clr_journal_path(const clr_journal *j);
size_t clr_journal_loaded(const clr_journal *j);  /* cases read from an existing journal */
size_t clr_journal_written(const clr_journal *j); /* records added by this process */
int clr_journal_exists(const clr_journal *j);     /* the file holds this configuration's cases */

/* Whether the journal holds the case (strategy: index into op->strategies) or the copy
 * measurement; take moves it into *out (probe rows and outputs included), once. */
int clr_journal_has_case(const clr_journal *j, size_t strategy, size_t shape_index, size_t batch);
int clr_journal_take_case(clr_journal *j, size_t strategy, size_t shape_index, size_t batch, clr_case *out);
int clr_journal_has_roof(const clr_journal *j, size_t shape_index, size_t batch);
int clr_journal_take_roof(clr_journal *j, size_t shape_index, size_t batch, clr_roof_result *out);

/* Appends one record (fsync'd before returning); failures are CLR_EFAIL. */
int clr_journal_add_case(clr_journal *j, const clr_case *c, clr_error *err);
int clr_journal_add_roof(clr_journal *j, const clr_roof_result *c, clr_error *err);
/* A line for people reading the journal (why the run stopped); ignored when resuming. */
void clr_journal_note(clr_journal *j, const char *text);

/* Removes the journal file, if it is still this run's (after the results are written). */
void clr_journal_remove(clr_journal *j);
/* Frees j (NULL is fine); the file stays. */
void clr_journal_close(clr_journal *j);

#endif
