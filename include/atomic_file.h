/* atomic_file.h: files are written whole or not at all: the bytes go to a temporary file
 * in the same directory, which is renamed over the target only once complete. */
#ifndef CLREPRO_ATOMIC_FILE_H
#define CLREPRO_ATOMIC_FILE_H

#include <stddef.h>
#include "util.h"

int clr_write_file_atomic(const char *path, const void *bytes, size_t size, clr_error *err);
/* mkdir -p; then proves the directory writable by creating and removing a probe file. */
int clr_prepare_out_dir(const char *dir, clr_error *err);

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

#endif
