/* metrics.c: statistics over timings and distinct-pattern counting. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void clr_stats_compute(const double *values, size_t n, clr_stats *out)
{
    memset(out, 0, sizeof *out);
    out->count = n;
    if (n == 0)
        return;
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, values, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    out->min = sorted[0];
    out->max = sorted[n - 1];
    out->median = (n % 2) ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i)
        sum += sorted[i];
    out->mean = sum / (double)n;
    double sq = 0.0;
    for (size_t i = 0; i < n; ++i)
        sq += (sorted[i] - out->mean) * (sorted[i] - out->mean);
    out->stddev = n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0;
    free(sorted);
}

size_t clr_count_distinct_u64(const uint64_t *values, size_t n)
{
    if (n == 0)
        return 0;
    uint64_t *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return 0;
    memcpy(sorted, values, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u64);
    size_t distinct = 1;
    for (size_t i = 1; i < n; ++i)
        distinct += sorted[i] != sorted[i - 1];
    free(sorted);
    return distinct;
}
