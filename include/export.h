/* export.h: `clrepro export --format gbench`: results documents (read as compare reads them:
 * compare.h) written as the JSON Google Benchmark writes (--benchmark_format=json), so that its
 * tools/compare.py and CI benchmark trackers read clrepro's timings. Reader side: compare.h,
 * results.h and Jansson only.
 *
 * One benchmark per measured case: name "<run>/<strategy>/<shape>/<B>:<batch>" (the shape's
 * "n=4096 dtype=fp32" written "n:4096/dtype:fp32", <B> the run's batch name: B, or M for matmul),
 * prefixed "<device>/" (the device's name as a slug) where the inputs hold more than one device.
 * Each timed repetition is an entry of run_type "iteration" (iterations 1, threads 1, real_time
 * and cpu_time both the kernel's time from profiling events, in microseconds), all of a case
 * under the same name, as Google Benchmark names repetitions, with repetition_index 0..n-1;
 * with two or more repetitions, aggregates follow (run_type "aggregate", named <name>_mean,
 * _median, _stddev, _cv). A schema 1 document, which has no repetitions, gives one iteration of
 * its median. Invalid cases (no time) and skipped ones are left out and counted. */
#ifndef CLREPRO_EXPORT_H
#define CLREPRO_EXPORT_H

#include "compare.h"

/* The whole document, or NULL with err filled: CLR_EUSAGE where two cases would get one name
 * (two documents of one run on one device: export them separately), CLR_EFAIL out of memory.
 * *benchmarks: the cases written; *left_out: the cases left out (invalid or skipped). */
char *clr_export_gbench(const clr_comparison *cmp, size_t *benchmarks, size_t *left_out, clr_error *err);

#endif
