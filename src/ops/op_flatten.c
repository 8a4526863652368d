/* Flatten (ONNX): [d0..dr-1] -> [d0*..*d(axis-1), d(axis)*..*d(r-1)], axis
 * default 1, in row-major LOGICAL order (an NHWC input is read as N,C,H,W).
 * MACC 0: pure data movement; [N,C,1,1] NHWC is already [N,C] in memory,
 * so the usual head Flatten is a memcpy. */
#include "ops/op.h"
#include "ops/op_args.h"
#include "ops/op_move.h"

static cz_err *flatten_infer(cz_graph *g, cz_node *n) {
  const cz_value *x = cz_in_value(g, n, 0);
  int64_t axis;
  int a;
  cz_err *e = cz_attr_get_int(g, n, "axis", 1, &axis);
  if (!e) e = cz_op_axis(g, n, 0, "axis", axis, true, &a);
  if (e) return e;
  int64_t outer = 1, inner = 1;
  for (int j = 0; j < x->shape.rank; j++) {
    if (j < a) outer *= x->shape.d[j];
    else inner *= x->shape.d[j];
  }
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = x->dtype;
  y->shape = cz_shape2(outer, inner);
  return NULL;
}

static void flatten_forward(cz_kctx *k) {
  cz_mv_reshape(&k->in[0], &k->out[0], false, k->reference);
}

static void flatten_backward(cz_kctx *k) {
  if (k->gin[0].data) cz_mv_reshape(&k->gout[0], &k->gin[0], k->gin_acc[0], k->reference);
}

static const char *const flatten_attrs[] = {"axis", NULL};

const cz_op cz_op_Flatten = {
    .name = "Flatten", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = flatten_attrs, .infer = flatten_infer, .forward = flatten_forward,
    .backward = flatten_backward,
};
