/* timing.c: profiling-event arithmetic. Times come from the device's own clock, so they
 * exclude host launch latency and are comparable across drivers. */
#include "timing.h"

int clr_event_span(cl_event first, cl_event last, double *seconds, clr_error *err)
{
    cl_ulong start = 0, end = 0;
    if (CLR_CL(err, clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL)) ||
        CLR_CL(err, clGetEventProfilingInfo(last, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL)))
        return err->code;
    if (end < start)
        return clr_fail(err, CLR_EFAIL, "the driver reported a command ending before it started (%llu < %llu ns)",
                        (unsigned long long)end, (unsigned long long)start);
    *seconds = (double)(end - start) * 1e-9;
    return CLR_OK;
}

int clr_event_span_release(cl_event first, cl_event last, double *seconds, clr_error *err)
{
    int rc = CLR_CL(err, clWaitForEvents(1, &last));
    if (rc == CLR_OK)
        rc = clr_event_span(first, last, seconds, err);
    clReleaseEvent(first);
    if (last != first)
        clReleaseEvent(last);
    return rc;
}
