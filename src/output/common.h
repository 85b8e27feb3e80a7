/* common.h: helpers shared by the results writers (json.c, csv.c, markdown.c) and the stdout
 * summary (report.c), defined in common.c, below all of them. Private to the writer side. */
#ifndef CLREPRO_OUTPUT_COMMON_H
#define CLREPRO_OUTPUT_COMMON_H

#include <jansson.h>
#include <stddef.h>
#include "runner.h"

/* The batch-variance summary of (strategy, shape), or NULL where none was measured. */
const clr_variance *clr_find_variance(const clr_device_result *res, size_t strategy, size_t shape_index);
/* {"<dim>": value, ..., "dtype": "fp32"} in the op's dimension order. */
json_t *clr_shape_json(const clr_operation *op, const clr_shape *shape);
/* The claim names of `claims` separated by spaces, or "none". */
void clr_claims_text(unsigned claims, char *buf, size_t size);

#endif
