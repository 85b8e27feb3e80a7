/* common.c: the helpers the results writers share (common.h), and the run's configuration
 * lists that the results document and the journal both record (output.h). Below json.c, csv.c,
 * markdown.c and report.c; calls nothing of theirs. */
#include "common.h"

#include <stdio.h>
#include "output.h"

const clr_variance *clr_find_variance(const clr_device_result *res, size_t strategy, size_t shape_index)
{
    for (size_t i = 0; i < res->nvariance; ++i)
        if (res->variance[i].strategy == strategy && res->variance[i].shape_index == shape_index)
            return &res->variance[i];
    return NULL;
}

void clr_claims_text(unsigned claims, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t len = 0;
    for (unsigned bit = 1; bit < (1u << CLR_NCLAIMS); bit <<= 1)
        if (claims & bit)
            len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? " " : "",
                                    clr_claim_name(bit));
    if (!claims)
        snprintf(buf, size, "none");
}

json_t *clr_shape_json(const clr_operation *op, const clr_shape *shape)
{
    json_t *j = json_object();
    for (size_t d = 0; d < op->ndims; ++d)
        json_object_set_new(j, op->dim_names[d], json_integer((json_int_t)shape->dims[d]));
    json_object_set_new(j, "dtype", json_string(clr_dtype_name(shape->dtype)));
    return j;
}

void clr_config_lists(const clr_run_config *cfg, json_t **strategies, json_t **shapes, json_t **batches)
{
    const clr_operation *op = cfg->op;
    *strategies = json_array();
    *shapes = json_array();
    *batches = json_array();
    for (size_t i = 0; i < cfg->nstrategies; ++i)
        json_array_append_new(*strategies, json_string(op->strategies[cfg->strategy_index[i]].name));
    for (size_t i = 0; i < cfg->nshapes; ++i)
        json_array_append_new(*shapes, clr_shape_json(op, &cfg->shapes[i]));
    for (size_t i = 0; i < cfg->nbatches; ++i)
        json_array_append_new(*batches, json_integer((json_int_t)cfg->batches[i]));
}
