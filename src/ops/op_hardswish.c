/* HardSwish (ONNX): y = x * relu6(x + 3) / 6, computed in PyTorch's order.
 * Gradient as PyTorch: 0 for x < -3, x/3 + 1/2 for -3 <= x <= 3, 1 above. */
#include "ops/op_pointwise.h"

static cz_err *hardswish_infer(cz_graph *g, cz_node *n) { return cz_op_same_shape_float(g, n); }

static inline float hardswish_f(float x, const void *p) {
  (void)p;
  float r = x + 3.0f;
  r = r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r);
  return x * r / 6.0f;
}
static inline float hardswish_df(float x, float y, const void *p) {
  (void)y, (void)p;
  return x < -3.0f ? 0.0f : (x <= 3.0f ? x / 3.0f + 0.5f : 1.0f);
}
CZ_UNARY_KERNELS(hardswish, void, CZ_UX)

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_HardSwish = {
    .name = "HardSwish", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = hardswish_infer, .forward = hardswish_forward, .backward = hardswish_backward,
    .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0),
};
