/* Reshape (ONNX, opset 5+): the shape comes from a constant int64 input;
 * 0 copies the input's dimension (unless allowzero=1), -1 is inferred.
 * Elements keep their row-major LOGICAL order, so an NHWC input is read in
 * N,C,H,W order. Shapes computed at run time are not supported. MACC 0:
 * pure data movement (a memcpy when both sides are row-major in memory,
 * e.g. [N,C,1,1] NHWC to [N,C]). */
#include "ops/op.h"
#include "ops/op_args.h"
#include "ops/op_move.h"

static cz_err *reshape_infer(cz_graph *g, cz_node *n) {
  const cz_value *x = cz_in_value(g, n, 0);
  int64_t want[CZ_MAX_RANK], allowzero = 0;
  int count;
  cz_err *e = cz_op_const_ints(g, n, 1, "shape", CZ_MAX_RANK, want, &count);
  if (!e) e = cz_attr_get_int(g, n, "allowzero", 0, &allowzero);
  if (e) return e;
  cz_shape asked = cz_shape_make(count, want), out = asked;
  char a[CZ_SHAPE_STR_MAX], s[CZ_SHAPE_STR_MAX];
  cz_shape_str(&asked, a, sizeof a);
  cz_shape_str(&x->shape, s, sizeof s);
  int infer_at = -1;
  bool zero = false;
  int64_t known = 1, numel = cz_shape_numel(&x->shape);
  for (int j = 0; j < count; j++) {
    if (want[j] == -1) {
      if (infer_at >= 0) return cz_node_err(g, n, "shape %s has more than one -1", a);
      infer_at = j;
      continue;
    }
    if (want[j] < -1) return cz_node_err(g, n, "shape %s has invalid value %lld", a,
                                         (long long)want[j]);
    if (want[j] == 0 && !allowzero) {
      if (j >= x->shape.rank)
        return cz_node_err(g, n,
                           "shape %s copies dimension %d (0) that input '%s' of shape %s lacks",
                           a, j, x->name, s);
      out.d[j] = x->shape.d[j];
    }
    if (want[j] == 0) zero = true;
    known *= out.d[j];
  }
  if (allowzero && zero && infer_at >= 0)
    return cz_node_err(g, n, "shape %s has both 0 and -1 with allowzero=1", a);
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0)
      return cz_node_err(g, n, "cannot reshape %s (%lld elements) to %s", s, (long long)numel, a);
    out.d[infer_at] = numel / known;
  } else if (known != numel) {
    char o[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "cannot reshape %s (%lld elements) to %s (%lld elements)", s,
                       (long long)numel, cz_shape_str(&out, o, sizeof o), (long long)known);
  }
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = x->dtype;
  y->shape = out;
  return NULL;
}

static void reshape_forward(cz_kctx *k) {
  cz_mv_reshape(&k->in[0], &k->out[0], false, k->reference);
}

static void reshape_backward(cz_kctx *k) {
  if (k->gin[0].data) cz_mv_reshape(&k->gout[0], &k->gin[0], k->gin_acc[0], k->reference);
}

static const char *const reshape_attrs[] = {"allowzero", NULL};

const cz_op cz_op_Reshape = {
    .name = "Reshape", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attrs = reshape_attrs, .infer = reshape_infer, .forward = reshape_forward,
    .backward = reshape_backward,
};
