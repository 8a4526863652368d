/* Silu (czoo extension, not an ONNX op): y = x * sigmoid(x), one node for
 * training; the ONNX exporter writes it as Sigmoid followed by Mul. */
#include <math.h>

#include "ops/op_pointwise.h"

static cz_err *silu_infer(cz_graph *g, cz_node *n) { return cz_op_same_shape_float(g, n); }

static inline float silu_sig(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}
static inline float silu_f(float x, const void *p) {
  (void)p;
  return x * silu_sig(x);
}
/* d/dx x*s(x) = s + x*s*(1-s) = s * (1 + x*(1-s)). */
static inline float silu_df(float x, float y, const void *p) {
  (void)y, (void)p;
  float s = silu_sig(x);
  return s * (1.0f + x * (1.0f - s));
}
CZ_UNARY_KERNELS(silu, void, CZ_UX)

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_Silu = {
    .name = "Silu", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = silu_infer, .forward = silu_forward, .backward = silu_backward,
    .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0),
};
