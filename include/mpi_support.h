/* mpi_support.h: what the MPI commands (src/allreduce_mpi.c, src/fleet.c) share beyond MPI. */
#ifndef CLREPRO_MPI_SUPPORT_H
#define CLREPRO_MPI_SUPPORT_H

/* In a sanitizer build: marks every shared object loaded so far (MPI's plugins and the PMIx
 * client they bring, the OpenCL drivers) as never to be unloaded, so that LeakSanitizer can still
 * name them at exit and test/lsan.supp can suppress what they keep until then; Open MPI unloads
 * its plugins in MPI_Finalize, and a leak in an unmapped module has no name to match. Called
 * after MPI_Init and before MPI_Finalize. Elsewhere: nothing. */
void clr_mpi_keep_plugins(void);

#endif
