/* Clip (ONNX): y = min(max(x, min), max), bounds from the optional CONST
 * inputs 1 and 2 (opset 11+) or the attributes min/max (opset 6); ReLU6 is
 * Clip(0, 6). The gradient passes where min < x < max strictly: PyTorch's
 * hardtanh/relu6 convention (torch.clamp would also pass at the bounds), so
 * ReLU6 trains as in the reference models. NaN propagates, as in PyTorch. */
#include <math.h>
#include <stdlib.h>

#include "ops/op_pointwise.h"
#include "util/mem.h"

typedef struct {
  float lo, hi;
} clip_attr;

/* Bound input i, a CONST float scalar, into *v. */
static cz_err *const_bound(const cz_graph *g, const cz_node *n, int i, const char *what,
                           float *v) {
  const cz_value *b = cz_in_value(g, n, i);
  char s[CZ_SHAPE_STR_MAX];
  if (b->kind != CZ_V_CONST || !b->data)
    return cz_node_err(g, n, "input %d '%s' (%s) must be a constant", i, b->name, what);
  if (b->dtype != CZ_F32 || cz_shape_numel(&b->shape) != 1)
    return cz_node_err(g, n, "input %d '%s' (%s) is %s %s, expected one float32 value", i,
                       b->name, what, cz_dtype_name(b->dtype),
                       cz_shape_str(&b->shape, s, sizeof s));
  *v = *(const float *)b->data;
  return NULL;
}

static cz_err *clip_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  clip_attr a;
  if ((e = cz_attr_get_float(g, n, "min", -INFINITY, &a.lo))) return e;
  if ((e = cz_attr_get_float(g, n, "max", INFINITY, &a.hi))) return e;
  if (cz_has_in(n, 1)) {
    if (cz_node_attr(n, "min"))
      return cz_node_err(g, n, "min given both as attribute and as input 1");
    if ((e = const_bound(g, n, 1, "min", &a.lo))) return e;
  }
  if (cz_has_in(n, 2)) {
    if (cz_node_attr(n, "max"))
      return cz_node_err(g, n, "max given both as attribute and as input 2");
    if ((e = const_bound(g, n, 2, "max", &a.hi))) return e;
  }
  if (isnan(a.lo) || isnan(a.hi)) return cz_node_err(g, n, "min/max must not be NaN");
  clip_attr *p = cz_xmalloc(sizeof *p);
  *p = a;
  n->priv = p;
  return NULL;
}

/* With min > max every value becomes max (ONNX and torch.clamp agree). */
static inline float clip_f(float x, const clip_attr *p) {
  float v = x < p->lo ? p->lo : x;
  return v > p->hi ? p->hi : v;
}
static inline float clip_df(float x, float y, const clip_attr *p) {
  (void)y;
  return (float)((x > p->lo) & (x < p->hi)); /* branch-free: vectorizes */
}
CZ_UNARY_KERNELS(clip, clip_attr, CZ_UX)

static const char *const clip_attrs[] = {"min", "max", NULL};

/* MACC: one per element (see op_pointwise.h). */
const cz_op cz_op_Clip = {
    .name = "Clip", .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 1,
    .attrs = clip_attrs, .infer = clip_infer, .forward = clip_forward,
    .backward = clip_backward, .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0),
};
