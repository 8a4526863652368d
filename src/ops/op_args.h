/* Shape-rule helpers for the ops that take integers from constant inputs
 * (Reshape's shape, Slice's starts/ends, Pad's pads, Split's split) or
 * axis numbers that may count from the back. */
#ifndef CZ_OPS_OP_ARGS_H
#define CZ_OPS_OP_ARGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"

/* Reads input i, called `what` in the ONNX spec, as at most `max`
 * integers: it must be a CONST of int64 (or int32) with rank 0 or 1.
 * *count is -1 when the optional input is absent. Shape-time values are
 * all this engine supports: a computed input is an error naming it. */
cz_err *cz_op_const_ints(const cz_graph *g, const cz_node *n, int i, const char *what, int max,
                         int64_t *out, int *count);

/* Normalizes `axis` (called `what` in messages: "axis", "axes value") for
 * input i: accepted -rank..rank-1, or -rank..rank when end_ok (Flatten). */
cz_err *cz_op_axis(const cz_graph *g, const cz_node *n, int i, const char *what, int64_t axis,
                   bool end_ok, int *out);
/* "[1,2,3]" into buf (always terminated, like cz_shape_str); returns buf. */
char *cz_op_ints_str(const int64_t *v, int n, char *buf, size_t size);
#endif
