/* Helpers shared by op shape rules (see op_util.h). */
#include "ops/op_util.h"

cz_err *cz_op_want_float(const cz_graph *g, const cz_node *n, int i) {
  const cz_value *v = cz_in_value(g, n, i);
  if (v->dtype != CZ_F32)
    return cz_node_err(g, n, "input %d '%s' is %s, expected float32", i, v->name,
                       cz_dtype_name(v->dtype));
  return NULL;
}

cz_err *cz_op_want_rank(const cz_graph *g, const cz_node *n, int i, int rank) {
  const cz_value *v = cz_in_value(g, n, i);
  if (v->shape.rank != rank) {
    char s[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "input %d '%s' has shape %s, expected rank %d", i, v->name,
                       cz_shape_str(&v->shape, s, sizeof s), rank);
  }
  return NULL;
}

cz_err *cz_op_same_shape_float(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_want_float(g, n, 0);
  if (e) return e;
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = cz_in_value(g, n, 0)->shape;
  return NULL;
}
