/* atomic_file.h: files are written whole or not at all: the bytes go to a temporary file
 * in the same directory, which is renamed over the target only once complete. A SIGINT,
 * SIGTERM or SIGHUP while temporaries exist removes them before the process dies. Output
 * locations can be checked before anything is measured, without creating anything. */
#ifndef CLREPRO_ATOMIC_FILE_H
#define CLREPRO_ATOMIC_FILE_H

#include <stddef.h>
#include "util.h"

int clr_write_file_atomic(const char *path, const void *bytes, size_t size, clr_error *err);
/* Installs the handlers that remove temporaries on SIGINT, SIGTERM and SIGHUP (once; signals
 * already ignored stay ignored). Writing does it anyway, but call it before OpenCL starts:
 * PoCL's LLVM installs handlers of its own for the length of each kernel compile (on any
 * thread), and handlers installed during one would be seen as taken, or be undone. */
void clr_install_cleanup_handlers(void);
/* mkdir -p; then proves the directory writable by creating and removing a probe file. */
int clr_prepare_out_dir(const char *dir, clr_error *err);

/* Checks, creating nothing that stays, that dir exists and is writable or can be created:
 * every existing component is a directory, the deepest existing one accepts new entries, and
 * no component is longer than the file system allows. `longest_name` is the length of the
 * longest file name that will be written into dir (the path limit is checked with it). */
int clr_check_out_dir(const char *dir, size_t longest_name, clr_error *err);
/* Checks that a results file can be put at path: within the length limits (with the
 * temporary's suffix) and nothing but a file (or nothing) in its place. */
int clr_check_out_file(const char *path, clr_error *err);
/* The shallowest component of dir that does not exist yet, copied into top ("" when dir
 * exists): what mkdir -p would create, so a failed run can remove it again. */
void clr_missing_top(const char *dir, char *top, size_t size);
/* Removes dir and its parents up to and including top, as long as each is empty. */
void clr_remove_empty_dirs(const char *dir, const char *top);

/* A set of files committed together: every file is written to its temporary first, and
 * only when all are complete are they renamed into place. */
typedef struct clr_file_batch {
    size_t count, cap;
    char **final_paths;
    char **temp_paths;
} clr_file_batch;

int clr_batch_add(clr_file_batch *b, const char *path, const void *bytes, size_t size, clr_error *err);
int clr_batch_commit(clr_file_batch *b, clr_error *err);
void clr_batch_abort(clr_file_batch *b); /* removes the temporaries */

/* The count NUL-terminated texts as the files paths (inside dir), all or none: creates dir
 * (mkdir -p, proved writable) and commits one batch; when anything fails, nothing is written
 * and the directories it created are removed again. A NULL text fails ("out of host memory")
 * before anything is created. */
int clr_write_texts(const char *dir, size_t count, char *const paths[], char *const texts[], clr_error *err);

#endif
