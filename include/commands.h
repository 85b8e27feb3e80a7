/* commands.h: the subcommands, each returning an exit status (0, CLR_EFAIL, CLR_EUSAGE). */
#ifndef CLREPRO_COMMANDS_H
#define CLREPRO_COMMANDS_H

#include "cli.h"

int clr_cmd_devices(const clr_cli *cli, clr_error *err);
/* Under an MPI launcher (and a build with MPI) run is fleet mode: clr_fleet_run. */
int clr_cmd_run(const clr_cli *cli, const char *command_line, clr_error *err);
/* Fleet mode (src/fleet.c): every rank runs on its device, rank 0 writes every rank's results
 * and one comparison of them. */
int clr_fleet_run(const clr_cli *cli, const char *command_line, clr_error *err);
/* A rank's case overran --timeout in fleet mode: tells rank 0 (which keeps the other ranks'
 * results), takes part in the rest of the exchange, and ends the process (_exit: the kernel that
 * does not end holds its context). Returns only outside fleet mode. */
void clr_fleet_abandon(const char *msg);
/* `clrepro compare` of cli->files into cli->out_dir. */
int clr_cmd_compare(const clr_cli *cli, clr_error *err);
/* Parses and dispatches a whole command line; prints the error message once. */
int clr_main(int argc, char **argv);

#endif
