/* data.h: deterministic inputs. Element i of row r is a pure function of (seed, r, i), so a
 * row has the same bits in every batch, at every position, on every machine; or rows come
 * from the user's .npy file. */
#ifndef CLREPRO_DATA_H
#define CLREPRO_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

typedef enum clr_dist {
    CLR_DIST_UNIFORM, /* uniform on [-1, 1), multiples of 2^-23 */
    CLR_DIST_NORMAL,  /* standard normal (polar method, libm-free, so bit-reproducible) */
    CLR_DIST_ILLCOND, /* exponents over 2^-24..2^24, pairs that cancel exactly, tiny (down to
                         subnormal) residues: the exact sum is many orders below sum |x| */
} clr_dist;

int clr_dist_parse(const char *text, clr_dist *out);
const char *clr_dist_name(clr_dist d);

uint64_t clr_hash(uint64_t seed, uint64_t stream, uint64_t row, uint64_t i);
float clr_gen(uint64_t seed, clr_dist dist, uint64_t row, uint64_t i);
void clr_gen_row(uint64_t seed, clr_dist dist, uint64_t row, float *out, size_t n);

/* Where rows come from: the generator, or a float32 matrix from --input. */
typedef struct clr_input {
    int from_file;
    uint64_t seed;
    clr_dist dist;
    char path[4096];
    float *data; /* from_file: rows x cols */
    size_t rows, cols;
} clr_input;

int clr_input_open_file(clr_input *in, const char *path, clr_error *err);
/* Row r of length n; file rows are reused cyclically (row r is file row r % rows). */
void clr_input_row(const clr_input *in, uint64_t row, float *out, size_t n);
void clr_input_close(clr_input *in);

#endif
