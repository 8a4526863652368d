/* Tanh (ONNX): y = tanh(x); the gradient 1 - y^2 needs only the output. */
#include <math.h>

#include "ops/op_pointwise.h"

static cz_err *tanh_infer(cz_graph *g, cz_node *n) { return cz_op_same_shape_float(g, n); }

static inline float tanh_f(float x, const void *p) {
  (void)p;
  return tanhf(x);
}
static inline float tanh_df(float x, float y, const void *p) {
  (void)x, (void)p;
  return 1.0f - y * y;
}
CZ_UNARY_KERNELS(tanh, void, CZ_UY)

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_Tanh = {
    .name = "Tanh", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = tanh_infer, .forward = tanh_forward, .backward = tanh_backward,
    .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_OUT(0),
};
