/* HardSigmoid (ONNX): y = max(0, min(1, alpha*x + beta)), alpha 0.2 and
 * beta 0.5 by default; PyTorch's hardsigmoid is alpha = 1/6, which model
 * builders set. The gradient is alpha strictly inside the linear part and 0
 * at and beyond its ends (PyTorch's convention at -3 and 3). */
#include <stdlib.h>

#include "ops/op_pointwise.h"
#include "util/mem.h"

typedef struct {
  float alpha, beta;
} hsig_attr;

static cz_err *hardsigmoid_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  hsig_attr a;
  if ((e = cz_attr_get_float(g, n, "alpha", 0.2f, &a.alpha))) return e;
  if ((e = cz_attr_get_float(g, n, "beta", 0.5f, &a.beta))) return e;
  hsig_attr *p = cz_xmalloc(sizeof *p);
  *p = a;
  n->priv = p;
  return NULL;
}

static inline float hardsigmoid_f(float x, const hsig_attr *p) {
  float v = p->alpha * x + p->beta;
  return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}
static inline float hardsigmoid_df(float x, float y, const hsig_attr *p) {
  (void)y;
  float v = p->alpha * x + p->beta;
  return (v > 0.0f && v < 1.0f) ? p->alpha : 0.0f;
}
CZ_UNARY_KERNELS(hardsigmoid, hsig_attr, CZ_UX)

static const char *const hardsigmoid_attrs[] = {"alpha", "beta", NULL};

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_HardSigmoid = {
    .name = "HardSigmoid", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = hardsigmoid_attrs, .infer = hardsigmoid_infer, .forward = hardsigmoid_forward,
    .backward = hardsigmoid_backward, .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0),
};
