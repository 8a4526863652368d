/* Gelu (ONNX opset 20): approximate = "none" is x * Phi(x) with the exact
 * normal CDF (erf), "tanh" is PyTorch's tanh approximation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_pointwise.h"
#include "util/mem.h"

typedef struct {
  int tanh_approx;
} gelu_attr;

static cz_err *gelu_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  const char *s;
  if ((e = cz_attr_get_string(g, n, "approximate", "none", &s))) return e;
  if (strcmp(s, "none") != 0 && strcmp(s, "tanh") != 0)
    return cz_node_err(g, n, "approximate is '%s', expected 'none' or 'tanh'", s);
  gelu_attr *p = cz_xmalloc(sizeof *p);
  p->tanh_approx = strcmp(s, "tanh") == 0;
  n->priv = p;
  return NULL;
}

#define GELU_SQRT1_2 0.70710678118654752f   /* 1/sqrt(2) */
#define GELU_INV_SQRT2PI 0.3989422804014327f /* 1/sqrt(2 pi) */
#define GELU_SQRT2_PI 0.7978845608028654f    /* sqrt(2/pi) */
#define GELU_K 0.044715f

static inline float gelu_f(float x, const gelu_attr *p) {
  if (p->tanh_approx)
    return 0.5f * x * (1.0f + tanhf(GELU_SQRT2_PI * (x + GELU_K * x * x * x)));
  return 0.5f * x * (1.0f + erff(x * GELU_SQRT1_2));
}
static inline float gelu_df(float x, float y, const gelu_attr *p) {
  (void)y;
  if (p->tanh_approx) {
    float t = tanhf(GELU_SQRT2_PI * (x + GELU_K * x * x * x));
    float du = GELU_SQRT2_PI * (1.0f + 3.0f * GELU_K * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
  }
  /* Phi(x) + x * phi(x) */
  return 0.5f * (1.0f + erff(x * GELU_SQRT1_2)) + x * GELU_INV_SQRT2PI * expf(-0.5f * x * x);
}
CZ_UNARY_KERNELS(gelu, gelu_attr, CZ_UX)

static const char *const gelu_attrs[] = {"approximate", NULL};

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_Gelu = {
    .name = "Gelu", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = gelu_attrs, .infer = gelu_infer, .forward = gelu_forward,
    .backward = gelu_backward, .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0),
};
