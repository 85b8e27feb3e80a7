/* npy.h: NumPy .npy files of float32 in C order, 1-D or 2-D. */
#ifndef CLREPRO_NPY_H
#define CLREPRO_NPY_H

#include <stddef.h>
#include "util.h"

/* A 1-D file of n values reads as 1 row of n columns. Malformed files are CLR_EUSAGE, and
 * nothing is allocated for the values before the file is known to hold all of them. */
int clr_npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols, clr_error *err);
/* The same reader over a whole file already in memory; name is used in messages. */
int clr_npy_decode_f32(const void *bytes, size_t size, const char *name, float **data, size_t *rows, size_t *cols,
                       clr_error *err);
/* Written whole or not at all (temporary file, then rename). */
int clr_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols, clr_error *err);
/* Any C-order array of 4-byte elements, descr "<f4" or "<i4", shape[ndim] (1 to 8 dims), into
 * memory (*bytes malloc'ed): 0, or -1 when memory runs out or the sizes overflow. */
int clr_npy_encode(const char *descr, const void *data, const size_t *shape, size_t ndim, char **bytes, size_t *size);
/* The same encoder into memory; *bytes is malloc'ed. */
int clr_npy_encode_f32(const float *data, size_t rows, size_t cols, char **bytes, size_t *size);

#endif
