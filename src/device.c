/* device.c: finds every OpenCL device, reads the properties the benchmark reports,
 * resolves --device specifications to a list of devices (each device once, in the order the
 * selectors first name it), names each device's results folder (apart from an identical
 * device's, by UUID or index), and opens a context and queue on one. */
#include "device.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CL/cl_ext.h>

#ifndef CL_DEVICE_UUID_KHR /* cl_khr_device_uuid, for headers older than it */
#define CL_UUID_SIZE_KHR 16
#define CL_DEVICE_UUID_KHR 0x106A
#endif

#define INSTALL_ADVICE                                                                      \
    "Install one: on Debian/Ubuntu `sudo apt-get install "                                  \
    "pocl-opencl-icd ocl-icd-libopencl1` gives a CPU device (or run scripts/install-deps.sh); " \
    "GPU vendors ship their own ICD"
#define NO_PLATFORM_ADVICE "no OpenCL platform found. " INSTALL_ADVICE

static void info_string(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    buf[0] = '\0';
    if (clGetDeviceInfo(d, what, size, buf, NULL) != CL_SUCCESS)
        snprintf(buf, size, "unknown");
    buf[size - 1] = '\0';
    /* Trim trailing blanks some drivers leave. */
    for (size_t n = strlen(buf); n > 0 && isspace((unsigned char)buf[n - 1]); --n)
        buf[n - 1] = '\0';
}

static int has_extension(cl_device_id d, const char *ext)
{
    size_t size = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    int found = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, size, text, NULL) == CL_SUCCESS) {
        text[size] = '\0';
        size_t len = strlen(ext);
        for (const char *p = strstr(text, ext); p && !found; p = strstr(p + 1, ext))
            found = (p == text || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0');
    }
    free(text);
    return found;
}

static int describe(clr_device *dev, clr_error *err)
{
    cl_device_id d = dev->id;
    if (clGetPlatformInfo(dev->platform, CL_PLATFORM_NAME, sizeof dev->platform_name,
                          dev->platform_name, NULL) != CL_SUCCESS)
        snprintf(dev->platform_name, sizeof dev->platform_name, "unknown");
    if (clGetPlatformInfo(dev->platform, CL_PLATFORM_VERSION, sizeof dev->platform_version,
                          dev->platform_version, NULL) != CL_SUCCESS)
        snprintf(dev->platform_version, sizeof dev->platform_version, "unknown");
    info_string(d, CL_DEVICE_NAME, dev->name, sizeof dev->name);
    info_string(d, CL_DEVICE_VENDOR, dev->vendor, sizeof dev->vendor);
    info_string(d, CL_DEVICE_VERSION, dev->device_version, sizeof dev->device_version);
    info_string(d, CL_DRIVER_VERSION, dev->driver_version, sizeof dev->driver_version);
    info_string(d, CL_DEVICE_OPENCL_C_VERSION, dev->c_version, sizeof dev->c_version);
    if (CLR_CL(err, clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof dev->type, &dev->type, NULL)) ||
        CLR_CL(err, clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof dev->compute_units,
                                    &dev->compute_units, NULL)) ||
        CLR_CL(err, clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof dev->max_work_group_size,
                                    &dev->max_work_group_size, NULL)) ||
        CLR_CL(err, clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof dev->global_mem,
                                    &dev->global_mem, NULL)) ||
        CLR_CL(err, clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof dev->local_mem,
                                    &dev->local_mem, NULL)) ||
        CLR_CL(err, clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof dev->max_alloc,
                                    &dev->max_alloc, NULL)) ||
        CLR_CL(err, clGetDeviceInfo(d, CL_DEVICE_SINGLE_FP_CONFIG, sizeof dev->single_fp,
                                    &dev->single_fp, NULL)))
        return err->code;
    cl_device_fp_config fp = 0;
    dev->fp64 = clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp, &fp, NULL) == CL_SUCCESS && fp != 0;
    dev->fp64 = dev->fp64 || has_extension(d, "cl_khr_fp64");
    dev->fp16 = has_extension(d, "cl_khr_fp16");
    dev->int64_atomics = has_extension(d, "cl_khr_int64_base_atomics");
    return CLR_OK;
}

int clr_devices_enumerate(clr_device_list *list, clr_error *err)
{
    list->items = NULL;
    list->count = 0;
    cl_uint nplat = 0;
    cl_int st = clGetPlatformIDs(0, NULL, &nplat);
    if (st == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (st == CL_SUCCESS && nplat == 0))
        return clr_fail(err, CLR_EUSAGE, NO_PLATFORM_ADVICE);
    if (CLR_CL(err, st))
        return err->code;
    cl_platform_id *plats = clr_calloc(nplat, sizeof *plats, "platform list", err);
    if (!plats || CLR_CL(err, clGetPlatformIDs(nplat, plats, NULL))) {
        free(plats);
        return err->code ? err->code : CLR_EFAIL;
    }
    for (cl_uint p = 0; p < nplat; ++p) {
        cl_uint ndev = 0;
        st = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &ndev);
        if (st == CL_DEVICE_NOT_FOUND || ndev == 0)
            continue;
        cl_device_id *ids = calloc(ndev, sizeof *ids);
        clr_device *grown = realloc(list->items, (list->count + ndev) * sizeof *grown);
        if (!ids || !grown) {
            free(ids);
            if (grown)
                list->items = grown;
            free(plats);
            return clr_fail(err, CLR_EFAIL, "out of host memory listing devices");
        }
        list->items = grown;
        if (CLR_CL(err, clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ndev, ids, NULL))) {
            free(ids);
            free(plats);
            return err->code;
        }
        for (cl_uint d = 0; d < ndev; ++d) {
            clr_device *dev = &list->items[list->count];
            memset(dev, 0, sizeof *dev);
            dev->platform = plats[p];
            dev->id = ids[d];
            dev->index = (unsigned)list->count;
            dev->platform_index = p;
            dev->device_index = d;
            if (describe(dev, err)) {
                free(ids);
                free(plats);
                return err->code;
            }
            list->count++;
        }
        free(ids);
    }
    free(plats);
    if (list->count == 0)
        return clr_fail(err, CLR_EUSAGE, "OpenCL platforms were found but they expose no device. %s",
                        INSTALL_ADVICE);
    return CLR_OK;
}

/* Adds dev unless a selector before already chose it. -1: out of memory. */
static int append_unique(clr_device_list *out, const clr_device *dev)
{
    for (size_t i = 0; i < out->count; ++i)
        if (out->items[i].index == dev->index)
            return 0;
    clr_device *grown = realloc(out->items, (out->count + 1) * sizeof *grown);
    if (!grown)
        return -1;
    out->items = grown;
    out->items[out->count++] = *dev;
    return 0;
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; ++hay) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            ++i;
        if (i == n)
            return 1;
    }
    return 0;
}

/* A whole decimal number, or -1 (too large included: 0:4294967296 must not wrap to 0:0). */
static int64_t parse_index(const char *text, size_t len)
{
    int64_t v = 0;
    if (len == 0 || len > 9)
        return len > 9 && strspn(text, "0123456789") >= len ? INT64_MAX : -1;
    for (size_t i = 0; i < len; ++i) {
        if (!isdigit((unsigned char)text[i]))
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

/* Adds the devices one selector matches. A device already chosen by an earlier selector
 * still counts as a match (all,cpu and cpu,cpu are fine); it is used once. */
static int select_one(const clr_device_list *all, const char *tok, clr_device_list *out, clr_error *err)
{
    size_t matched = 0;
    int oom = 0;
    const char *colon = strchr(tok, ':');
    int64_t a = -1, b = -1;
    if (colon) {
        a = parse_index(tok, (size_t)(colon - tok));
        b = parse_index(colon + 1, strlen(colon + 1));
    }
    if (strcmp(tok, "all") == 0 || strcmp(tok, "gpu") == 0 || strcmp(tok, "cpu") == 0) {
        cl_device_type want = tok[0] == 'a' ? CL_DEVICE_TYPE_ALL
                              : tok[0] == 'g' ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_CPU;
        for (size_t i = 0; i < all->count; ++i)
            if (all->items[i].type & want) {
                ++matched;
                oom |= append_unique(out, &all->items[i]);
            }
        if (!matched)
            return clr_fail(err, CLR_EUSAGE, "--device %s: no %s device found; `clrepro devices` lists what there is",
                            tok, tok);
    } else if (a >= 0 && b >= 0) {
        for (size_t i = 0; i < all->count; ++i)
            if (all->items[i].platform_index == a && all->items[i].device_index == b) {
                ++matched;
                oom |= append_unique(out, &all->items[i]);
            }
        if (!matched)
            return clr_fail(err, CLR_EUSAGE, "--device %s: there is no device %s on platform %.*s; `clrepro devices` "
                            "lists them", tok, colon + 1, (int)(colon - tok), tok);
    } else if (parse_index(tok, strlen(tok)) >= 0) {
        int64_t index = parse_index(tok, strlen(tok));
        if ((uint64_t)index >= all->count)
            return clr_fail(err, CLR_EUSAGE, "--device %s: no device with that index (there are %zu, numbered 0 to %zu); `clrepro devices` lists them",
                            tok, all->count, all->count - 1);
        oom |= append_unique(out, &all->items[index]);
    } else if (colon && (isdigit((unsigned char)tok[0]) || colon == tok)) {
        return clr_fail(err, CLR_EUSAGE, "--device %s: expected P:D, a platform and a device number (0:0, 1:2); "
                        "`clrepro devices` lists them", tok);
    } else {
        for (size_t i = 0; i < all->count; ++i)
            if (ci_contains(all->items[i].name, tok) || ci_contains(all->items[i].platform_name, tok)) {
                ++matched;
                oom |= append_unique(out, &all->items[i]);
            }
        if (!matched)
            return clr_fail(err, CLR_EUSAGE, "--device %s: no device or platform name contains '%s'; use all, gpu, cpu, an index, P:D or part of a name (`clrepro devices` lists them)",
                            tok, tok);
    }
    if (oom)
        return clr_fail(err, CLR_EFAIL, "out of host memory selecting devices");
    return CLR_OK;
}

int clr_devices_select(const clr_device_list *all, const char *spec, clr_device_list *out, clr_error *err)
{
    out->items = NULL;
    out->count = 0;
    if (!spec || !*spec || spec[0] == ',' || spec[strlen(spec) - 1] == ',' || strstr(spec, ",,"))
        return clr_fail(err, CLR_EUSAGE, "--device '%s': expected all, gpu, cpu, N, P:D or a name substring, comma-separated",
                        spec ? spec : "");
    char *copy = clr_strdup(spec);
    if (!copy)
        return clr_fail(err, CLR_EFAIL, "out of host memory");
    char *save = NULL;
    int rc = CLR_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == CLR_OK; tok = strtok_r(NULL, ",", &save))
        rc = select_one(all, tok, out, err);
    free(copy);
    if (rc)
        clr_devices_free(out);
    return rc;
}

void clr_devices_free(clr_device_list *list)
{
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

const char *clr_device_type_name(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (type & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

void clr_device_slug(const clr_device *dev, char *buf, size_t size)
{
    /* The platform distinguishes the same CPU seen through two drivers. */
    char text[600];
    const char *plat = ci_contains(dev->platform_name, "portable computing") ? "pocl"
                       : ci_contains(dev->platform_name, "nvidia") ? "nvidia"
                       : ci_contains(dev->platform_name, "intel") ? "intel"
                       : ci_contains(dev->platform_name, "amd") ? "amd" : dev->platform_name;
    snprintf(text, sizeof text, "%s %s", plat, dev->name);
    clr_slugify(text, buf, size);
}

int clr_device_uuid(const clr_device *dev, char hex[33])
{
    unsigned char uuid[CL_UUID_SIZE_KHR] = {0}, any = 0;
    hex[0] = '\0';
    if (!dev->id || !has_extension(dev->id, "cl_khr_device_uuid") ||
        clGetDeviceInfo(dev->id, CL_DEVICE_UUID_KHR, sizeof uuid, uuid, NULL) != CL_SUCCESS)
        return 0;
    for (size_t i = 0; i < sizeof uuid; ++i)
        any |= uuid[i];
    if (!any) /* all zero: no identity at all */
        return 0;
    for (size_t i = 0; i < sizeof uuid; ++i)
        snprintf(hex + 2 * i, 3, "%02x", uuid[i]);
    return 1;
}

void clr_device_dir_name(const clr_device_list *devices, size_t i, char *buf, size_t size)
{
    const clr_device *dev = &devices->items[i];
    char slug[256], other[256], uuid[33], other_uuid[33];
    clr_device_slug(dev, slug, sizeof slug);
    int twins = 0, has_uuid = clr_device_uuid(dev, uuid), uuid_shared = 0;
    for (size_t j = 0; j < devices->count; ++j) {
        if (j == i)
            continue;
        clr_device_slug(&devices->items[j], other, sizeof other);
        if (strcmp(slug, other))
            continue;
        twins = 1;
        /* The folder shows 8 hex digits: a twin sharing them (or a driver giving every device
         * the same UUID) falls back to the index. */
        uuid_shared |= has_uuid && clr_device_uuid(&devices->items[j], other_uuid) && !strncmp(uuid, other_uuid, 8);
    }
    if (!twins)
        snprintf(buf, size, "%s", slug);
    else if (has_uuid && !uuid_shared)
        snprintf(buf, size, "%s-%.8s", slug, uuid);
    else
        snprintf(buf, size, "%s-%u-%u", slug, dev->platform_index, dev->device_index);
}

void clr_device_results_dir(const char *out_root, const clr_device_list *devices, size_t i, char *buf, size_t size)
{
    char name[512];
    clr_device_dir_name(devices, i, name, sizeof name);
    snprintf(buf, size, "%s/%s", out_root ? out_root : "results", name);
}

int clr_device_open(const clr_device *dev, cl_context *context, cl_command_queue *queue, int profiling,
                    clr_error *err)
{
    cl_int status;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    *queue = NULL;
    *context = clCreateContext(props, 1, &dev->id, NULL, NULL, &status);
    if (CLR_CL(err, status)) {
        if (*context)
            clReleaseContext(*context);
        *context = NULL;
        return err->code;
    }
    *queue = clCreateCommandQueue(*context, dev->id, profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &status);
    if (CLR_CL(err, status)) {
        if (*queue)
            clReleaseCommandQueue(*queue);
        clReleaseContext(*context);
        *context = NULL;
        *queue = NULL;
        return err->code;
    }
    return CLR_OK;
}

int clr_device_pci(const clr_device *dev, char *buf, size_t size)
{
    cl_device_pci_bus_info_khr pci;
    buf[0] = '\0';
    if (!dev->id || !has_extension(dev->id, "cl_khr_pci_bus_info") ||
        clGetDeviceInfo(dev->id, CL_DEVICE_PCI_BUS_INFO_KHR, sizeof pci, &pci, NULL) != CL_SUCCESS)
        return 0;
    snprintf(buf, size, "%04x:%02x:%02x.%x", pci.pci_domain, pci.pci_bus, pci.pci_device, pci.pci_function);
    return 1;
}

json_t *clr_device_to_json(const clr_device *dev)
{
    cl_device_fp_config fp = dev->single_fp;
    char pd[32], uuid[33], pci[32];
    snprintf(pd, sizeof pd, "%u:%u", dev->platform_index, dev->device_index);
    json_t *j = json_pack(
        "{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I,"
        " s:{s:b, s:b, s:b, s:b, s:b}, s:b, s:b, s:b}",
        "index", (int)dev->index, "id", pd, "platform", dev->platform_name,
        "platform_version", dev->platform_version, "name", dev->name, "vendor", dev->vendor,
        "type", clr_device_type_name(dev->type), "device_version", dev->device_version,
        "driver_version", dev->driver_version, "opencl_c_version", dev->c_version,
        "compute_units", (json_int_t)dev->compute_units,
        "max_work_group_size", (json_int_t)dev->max_work_group_size,
        "global_mem_bytes", (json_int_t)dev->global_mem, "local_mem_bytes", (json_int_t)dev->local_mem,
        "max_alloc_bytes", (json_int_t)dev->max_alloc,
        "single_fp", "denormals", (fp & CL_FP_DENORM) != 0, "fma", (fp & CL_FP_FMA) != 0,
        "round_to_nearest", (fp & CL_FP_ROUND_TO_NEAREST) != 0,
        "inf_nan", (fp & CL_FP_INF_NAN) != 0,
        "correctly_rounded_divide_sqrt", (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0,
        "fp64", dev->fp64, "fp16", dev->fp16, "int64_atomics", dev->int64_atomics);
    /* Identity where the driver tells it (cl_khr_device_uuid, cl_khr_pci_bus_info): null otherwise. */
    if (j) {
        json_object_set_new(j, "uuid", clr_device_uuid(dev, uuid) ? json_string(uuid) : json_null());
        json_object_set_new(j, "pci_bus", clr_device_pci(dev, pci, sizeof pci) ? json_string(pci) : json_null());
    }
    return j;
}
