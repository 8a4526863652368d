/* Constant integer inputs and axis numbers for shape rules (op_args.h). */
#include "ops/op_args.h"

#include <stdio.h>
#include <string.h>

cz_err *cz_op_const_ints(const cz_graph *g, const cz_node *n, int i, const char *what, int max,
                         int64_t *out, int *count) {
  *count = -1;
  if (!cz_has_in(n, i)) return NULL;
  const cz_value *v = cz_in_value(g, n, i);
  if (v->kind != CZ_V_CONST || !v->data)
    return cz_node_err(g, n, "input '%s' must be a constant ('%s' is computed at run time)",
                       what, v->name);
  if (v->dtype != CZ_I64 && v->dtype != CZ_I32)
    return cz_node_err(g, n, "input '%s' ('%s') is %s, expected int64", what, v->name,
                       cz_dtype_name(v->dtype));
  if (v->shape.rank > 1) {
    char s[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "input '%s' ('%s') has shape %s, expected a 1-D tensor", what,
                       v->name, cz_shape_str(&v->shape, s, sizeof s));
  }
  int64_t k = cz_shape_numel(&v->shape);
  if (k > max)
    return cz_node_err(g, n, "input '%s' ('%s') has %lld values, expected at most %d", what,
                       v->name, (long long)k, max);
  for (int64_t j = 0; j < k; j++) {
    if (v->dtype == CZ_I64) {
      memcpy(&out[j], (const char *)v->data + j * 8, 8);
    } else {
      int32_t x;
      memcpy(&x, (const char *)v->data + j * 4, 4);
      out[j] = x;
    }
  }
  *count = (int)k;
  return NULL;
}

cz_err *cz_op_axis(const cz_graph *g, const cz_node *n, int i, const char *what, int64_t axis,
                   bool end_ok, int *out) {
  const cz_value *v = cz_in_value(g, n, i);
  int r = v->shape.rank, hi = end_ok ? r : r - 1;
  if (axis < -r || axis > hi) {
    char s[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "%s %lld is out of range for input '%s' of shape %s (expected %d..%d)",
                       what, (long long)axis, v->name, cz_shape_str(&v->shape, s, sizeof s), -r,
                       hi);
  }
  *out = (int)(axis < 0 ? axis + r : axis);
  return NULL;
}

char *cz_op_ints_str(const int64_t *v, int n, char *buf, size_t size) {
  size_t k = 0;
  int w = snprintf(buf, size, "[");
  if (w > 0) k = (size_t)w;
  for (int i = 0; i < n && k < size; i++) {
    w = snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)v[i]);
    if (w > 0) k += (size_t)w;
  }
  if (k < size) snprintf(buf + k, size - k, "]");
  return buf;
}
