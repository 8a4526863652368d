/* Shared helpers of the training losses (op_loss.h). */
#include "ops/op_loss.h"

#include <math.h>

#include "ops/op_util.h"

cz_err *cz_loss_logits(cz_graph *g, cz_node *n, int64_t *N, int64_t *C) {
  cz_err *e;
  if ((e = cz_op_want_float(g, n, 0)) || (e = cz_op_want_rank(g, n, 0, 2))) return e;
  const cz_value *x = cz_in_value(g, n, 0);
  *N = x->shape.d[0];
  *C = x->shape.d[1];
  if (*C < 1) return cz_node_err(g, n, "input 0 '%s' has no classes", x->name);
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = (cz_shape){.rank = 0};
  return NULL;
}

cz_err *cz_loss_labels(const cz_graph *g, const cz_node *n, int i, int64_t N) {
  const cz_value *l = cz_in_value(g, n, i);
  char s[CZ_SHAPE_STR_MAX];
  if (l->dtype != CZ_I64 && l->dtype != CZ_I32)
    return cz_node_err(g, n, "labels '%s' are %s, expected int64 or int32", l->name,
                       cz_dtype_name(l->dtype));
  if (l->shape.rank != 1 || l->shape.d[0] != N)
    return cz_node_err(g, n, "labels '%s' have shape %s, expected [%lld]", l->name,
                       cz_shape_str(&l->shape, s, sizeof s), (long long)N);
  return NULL;
}

int64_t cz_loss_label(const cz_tensor *t, int64_t i) {
  return t->dtype == CZ_I64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

double cz_loss_lse(const float *x, int64_t C, bool fast) {
  if (fast) {
    float m = -INFINITY, s = 0.0f;
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < C; j++) m = x[j] > m ? x[j] : m;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < C; j++) s += expf(x[j] - m);
    return (double)m + log((double)s);
  }
  double m = -INFINITY, s = 0.0;
  for (int64_t j = 0; j < C; j++) m = x[j] > m ? x[j] : m;
  for (int64_t j = 0; j < C; j++) s += exp(x[j] - m);
  return m + log(s);
}

double cz_loss_sum(const double *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return s;
}

size_t cz_loss_row_work(const cz_graph *g, const cz_node *n, bool backward) {
  return backward ? 0 : (size_t)cz_in_value(g, n, 0)->shape.d[0] * sizeof(double);
}
