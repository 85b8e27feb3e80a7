/* device.h: OpenCL platform and device discovery, description and selection, and a context
 * and queue on a device. */
#ifndef CLREPRO_DEVICE_H
#define CLREPRO_DEVICE_H

#include <jansson.h>
#include <stddef.h>
#include "util.h"

typedef struct clr_device {
    cl_platform_id platform;
    cl_device_id id;
    unsigned index;          /* flat index over all platforms */
    unsigned platform_index; /* P in P:D */
    unsigned device_index;   /* D in P:D */
    char platform_name[256], platform_version[256];
    char name[256], vendor[256], device_version[256], driver_version[256], c_version[256];
    cl_device_type type;
    cl_uint compute_units;
    size_t max_work_group_size;
    cl_ulong global_mem, local_mem, max_alloc;
    cl_device_fp_config single_fp;
    int fp64, fp16, int64_atomics;
} clr_device;

typedef struct clr_device_list {
    clr_device *items;
    size_t count;
} clr_device_list;

/* All devices of all platforms. No platform at all is CLR_EUSAGE with install advice. */
int clr_devices_enumerate(clr_device_list *list, clr_error *err);
/* spec: all|gpu|cpu|N|P:D|name-substring, comma lists allowed; duplicates removed, order kept. */
int clr_devices_select(const clr_device_list *all, const char *spec, clr_device_list *out, clr_error *err);
void clr_devices_free(clr_device_list *list);

const char *clr_device_type_name(cl_device_type type);
/* "<vendor-ish device name>" made safe for a directory name, e.g. "nvidia-h200". */
void clr_device_slug(const clr_device *dev, char *buf, size_t size);
json_t *clr_device_to_json(const clr_device *dev);
/* Where a device's results go: <out_root or "results">/<slug>. */
void clr_device_results_dir(const char *out_root, const clr_device *dev, char *buf, size_t size);
/* A context of the device alone and an in-order queue on it (with profiling when asked). On
 * failure nothing is left: *context and *queue are NULL and err says which call failed. */
int clr_device_open(const clr_device *dev, cl_context *context, cl_command_queue *queue, int profiling,
                    clr_error *err);

#endif
