/* Sigmoid (ONNX): y = 1 / (1 + exp(-x)), evaluated so that exp never
 * overflows; the gradient y * (1 - y) needs only the output. */
#include <math.h>

#include "ops/op_pointwise.h"

static cz_err *sigmoid_infer(cz_graph *g, cz_node *n) { return cz_op_same_shape_float(g, n); }

static inline float sigmoid_f(float x, const void *p) {
  (void)p;
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}
static inline float sigmoid_df(float x, float y, const void *p) {
  (void)x, (void)p;
  return y * (1.0f - y);
}
CZ_UNARY_KERNELS(sigmoid, void, CZ_UY)

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_Sigmoid = {
    .name = "Sigmoid", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = sigmoid_infer, .forward = sigmoid_forward, .backward = sigmoid_backward,
    .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_OUT(0),
};
