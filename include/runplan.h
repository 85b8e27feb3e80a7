/* runplan.h: turning a command line into runs (operation x strategies x shapes x batches, a
 * suite's parts from the operation tables), and the single pre-flight made before any device
 * work: sizes, tuning, fit, output locations. commands.c drives them; runner.h measures. */
#ifndef CLREPRO_RUNPLAN_H
#define CLREPRO_RUNPLAN_H

#include <limits.h>
#include "cli.h"
#include "device.h"
#include "runner.h"

typedef struct clr_planned_run {
    clr_run_config cfg;
} clr_planned_run;

/* The runs of `clrepro run`, every option checked (UTF-8 paths, --kernel-dir, operations,
 * strategies, shapes; --input opened into *input, which the caller closes). On failure *runs
 * may hold what was made: free it with clr_planned_runs_free either way. */
int clr_plan_runs(const clr_cli *cli, const char *command_line, clr_planned_run **runs, size_t *nruns,
                  clr_input *input, clr_error *err);
void clr_planned_runs_free(clr_planned_run *runs, size_t n);

/* Per device: its results folder (dirs[i], and in tops[i] the first part of it that does not
 * exist yet), then clr_run_check of every run, then every file the runs will write there can
 * be; creates nothing. */
int clr_preflight(const clr_cli *cli, const clr_planned_run *runs, size_t nruns, const clr_device_list *devices,
                  char (*dirs)[PATH_MAX], char (*tops)[PATH_MAX], clr_error *err);

#endif
