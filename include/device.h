/* device.h: OpenCL platform and device discovery, description and selection, the name of a
 * device's results folder, and a context and queue on a device. */
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
/* The device's UUID (cl_khr_device_uuid) as 32 lower-case hex digits, returning 1; 0 with hex
 * "" where the driver reports none (or all zeros, or the device has no id: a hand-made one). */
int clr_device_uuid(const clr_device *dev, char hex[33]);
/* The device's PCI address "dddd:bb:dd.f" (cl_khr_pci_bus_info) in buf: 1, or 0 when the driver
 * does not give it. */
int clr_device_pci(const clr_device *dev, char *buf, size_t size);
/* The name of the results folder of devices->items[i] among the devices of one run: its slug,
 * unless another of them has the same slug (identical GPUs of one node, or PoCL with
 * POCL_DEVICES="pthread pthread"), which would write the same files. Each twin then gets its
 * slug and what tells it apart: the first 8 hex digits of its UUID where the driver reports
 * one that no twin shares ("nvidia-nvidia-h100-80gb-hbm3-5f3c9a1e"), else its P:D index as P-D
 * ("pocl-pthread-...-0-1"; its results record device.id "0:1"). The same devices chosen
 * again get the same folders; a device chosen without its twin gets the plain slug. */
void clr_device_dir_name(const clr_device_list *devices, size_t i, char *buf, size_t size);
/* Where the results of device i of a run's chosen devices go: <out_root or "results">/ and its
 * clr_device_dir_name. */
void clr_device_results_dir(const char *out_root, const clr_device_list *devices, size_t i, char *buf, size_t size);
/* A context of the device alone and an in-order queue on it (with profiling when asked). On
 * failure nothing is left: *context and *queue are NULL and err says which call failed. */
int clr_device_open(const clr_device *dev, cl_context *context, cl_command_queue *queue, int profiling,
                    clr_error *err);

#endif
