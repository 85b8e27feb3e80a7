/* timing.h: device time from OpenCL profiling events. */
#ifndef CLREPRO_TIMING_H
#define CLREPRO_TIMING_H

#include "util.h"

/* Seconds from the start of `first` to the end of `last` (both complete). */
int clr_event_span(cl_event first, cl_event last, double *seconds, clr_error *err);
/* Waits for `last`, measures the span, releases both events (once if they are the same). */
int clr_event_span_release(cl_event first, cl_event last, double *seconds, clr_error *err);

#endif
