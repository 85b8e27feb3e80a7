/* mpi_support.h: what the MPI commands (src/allreduce_mpi.c, src/fleet.c) share beyond MPI. */
#ifndef CLREPRO_MPI_SUPPORT_H
#define CLREPRO_MPI_SUPPORT_H

#include "util.h"

/* In a sanitizer build: marks every shared object loaded so far (MPI's plugins and the PMIx
 * client they bring, the OpenCL drivers) as never to be unloaded, so that LeakSanitizer can still
 * name them at exit and test/lsan.supp can suppress what they keep until then; Open MPI unloads
 * its plugins in MPI_Finalize, and a leak in an unmapped module has no name to match. Called
 * after MPI_Init and before MPI_Finalize. Elsewhere: nothing. */
void clr_mpi_keep_plugins(void);

/* Built with MPI only. */
typedef struct clr_mpi_rank {
    int rank, size;  /* in MPI_COMM_WORLD */
    int local_rank;  /* among the ranks of this host (its GPU, where --device selects several) */
    char host[128];
} clr_mpi_rank;
/* MPI_Init (argc and argv may be NULL), then who this rank is. */
void clr_mpi_start(int *argc, char ***argv, clr_mpi_rank *me);
/* Ends MPI on every rank together. Where `failed` and err holds a message, rank 0 prints it first:
 * a launcher may stop the job at the first non-zero exit, before rank 0's message is out. err's
 * code is cleared either way (rank 0 has said it; the others leave it to rank 0). */
void clr_mpi_finish(const clr_mpi_rank *me, int failed, clr_error *err);

#endif
