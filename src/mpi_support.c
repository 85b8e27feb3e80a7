/* mpi_support.c: include/mpi_support.h. */
#include "mpi_support.h"

#if defined(__SANITIZE_ADDRESS__)
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <link.h>
#include <string.h>

static int keep(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    const char *name = info->dlpi_name;
    if (name && name[0])
        dlopen(name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE); /* a reference never released */
    return 0;
}

void clr_mpi_keep_plugins(void)
{
    dl_iterate_phdr(keep, NULL);
}
#else
void clr_mpi_keep_plugins(void)
{
}
#endif
