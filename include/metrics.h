/* metrics.h: summary statistics of timings and counts of distinct bit patterns. */
#ifndef CLREPRO_METRICS_H
#define CLREPRO_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct clr_stats {
    double min, median, mean, stddev, max;
    size_t count;
} clr_stats;

/* Sample standard deviation (n - 1); all zero for n == 0; median of even n is the mean of
 * the middle two. */
void clr_stats_compute(const double *values, size_t n, clr_stats *out);
size_t clr_count_distinct_u64(const uint64_t *values, size_t n);

#endif
