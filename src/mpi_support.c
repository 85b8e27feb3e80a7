/* mpi_support.c: include/mpi_support.h. */
#if defined(__SANITIZE_ADDRESS__)
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <link.h>
#endif
#include "mpi_support.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
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

#ifdef CLREPRO_HAVE_MPI
#include <mpi.h>

void clr_mpi_start(int *argc, char ***argv, clr_mpi_rank *me)
{
    int provided;
    MPI_Init_thread(argc, argv, MPI_THREAD_SINGLE, &provided);
    clr_mpi_keep_plugins();
    memset(me, 0, sizeof *me);
    MPI_Comm_rank(MPI_COMM_WORLD, &me->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &me->size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, me->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &me->local_rank);
    MPI_Comm_free(&node);
    if (gethostname(me->host, sizeof me->host) != 0)
        snprintf(me->host, sizeof me->host, "unknown");
    me->host[sizeof me->host - 1] = '\0';
}

void clr_mpi_finish(const clr_mpi_rank *me, int failed, clr_error *err)
{
    if (failed && me->rank == 0 && err->code) {
        fprintf(stderr, "clrepro: error: %s\n", err->msg);
        fflush(stderr);
    }
    fflush(stdout);
    err->code = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    clr_mpi_keep_plugins();
    MPI_Finalize();
}
#endif
