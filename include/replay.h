/* replay.h: the host's copy of the orders of addition in cl/reduce.clh, so that every
 * deterministic strategy built on them can be replayed on the host and its output demanded bit
 * for bit (src/runner.c validates with it). Every function here performs, in float, the same
 * IEEE additions in the same order as the kernel it names; the file is compiled with contraction
 * off, so the host's bits are the device's bits on any device that keeps subnormals. */
#ifndef CLREPRO_REPLAY_H
#define CLREPRO_REPLAY_H

#include <stddef.h>
#include "util.h"

/* The geometry that fixes the order of cl/reduce.clh: WG_SIZE, VEC and CONTIG. */
typedef struct clr_reduce_geometry {
    unsigned wg;  /* work-group size, a power of two */
    unsigned vec; /* 1, 2, 4, 8 or 16 */
    int contig;   /* 1: a contiguous slice per work-item; 0: interleaved vectors */
} clr_reduce_geometry;

/* wi_partial_sum: work-item lid's plain float share of p[0, len). */
float clr_replay_wi_partial(const clr_reduce_geometry *g, const float *p, size_t len, unsigned lid);
/* wg_tree_sum over the values v[0, g->wg) (which it overwrites): the work-group's total. */
float clr_replay_wg_tree(const clr_reduce_geometry *g, float *v);
/* wg_range_sum: one work-group's sum of p[0, len). scratch holds g->wg floats. */
float clr_replay_wg_range(const clr_reduce_geometry *g, const float *p, size_t len, float *scratch);
/* What a race that adds `count` pieces (pieces[0], pieces[stride], ...) to a +0 in an unknown
 * order (the atomic strategies) must give: their exact sum, never -0 (+0 + -0 is +0), returned,
 * and in *tol how far from it the result may lie: gamma_(count-1) * sum|piece| and the rounding
 * of the returned value (0 for one piece, whose bits are then known). */
float clr_replay_race(const float *pieces, size_t count, size_t stride, double *tol);
/* sum_compensated's result for one row of n values. scratch holds 2 * g->wg floats. */
float clr_replay_compensated(const clr_reduce_geometry *g, const float *p, size_t n, float *scratch);
/* sum_compensated_parts then sum_compensated_merge: the row cut into `parts` chunks of `chunk`
 * values, each chunk's pair as sum_compensated makes it, the pairs merged. scratch holds
 * 2 * g->wg + 2 * parts floats. */
float clr_replay_compensated_parts(const clr_reduce_geometry *g, const float *p, size_t n, size_t chunk,
                                   size_t parts, float *scratch);

#endif
