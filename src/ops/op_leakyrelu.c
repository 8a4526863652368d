/* LeakyRelu (ONNX): y = x for x > 0, alpha * x otherwise (alpha 0.01 by
 * default). The gradient at exactly 0 is alpha, as in PyTorch. */
#include <stdlib.h>

#include "ops/op_pointwise.h"
#include "util/mem.h"

typedef struct {
  float alpha;
} lrelu_attr;

static cz_err *leakyrelu_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  lrelu_attr *p = cz_xmalloc(sizeof *p);
  if ((e = cz_attr_get_float(g, n, "alpha", 0.01f, &p->alpha))) {
    free(p);
    return e;
  }
  n->priv = p;
  return NULL;
}

static inline float leakyrelu_f(float x, const lrelu_attr *p) {
  return x > 0.0f ? x : x * p->alpha;
}
static inline float leakyrelu_df(float x, float y, const lrelu_attr *p) {
  (void)y;
  return x > 0.0f ? 1.0f : p->alpha;
}
CZ_UNARY_KERNELS(leakyrelu, lrelu_attr, CZ_UX)

static const char *const leakyrelu_attrs[] = {"alpha", NULL};

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_LeakyRelu = {
    .name = "LeakyRelu", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = leakyrelu_attrs, .infer = leakyrelu_infer, .forward = leakyrelu_forward,
    .backward = leakyrelu_backward, .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0),
};
