/* Identity (ONNX): y = x, for any element type. The two sides may differ
 * in layout (a rank-4 float constant is row-major, an activation NHWC), so
 * the copy is on logical indices. MACC 0: pure data movement. */
#include "ops/op.h"
#include "ops/op_move.h"

static cz_err *identity_infer(cz_graph *g, cz_node *n) {
  const cz_value *x = cz_in_value(g, n, 0);
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = x->dtype;
  y->shape = x->shape;
  return NULL;
}

/* dst = src (or += when add) over the common logical shape. */
static void move(const cz_tensor *src, const cz_tensor *dst, bool add, bool reference) {
  int64_t ss[CZ_MAX_RANK], ds[CZ_MAX_RANK];
  cz_strides(&src->shape, src->layout, ss);
  cz_strides(&dst->shape, dst->layout, ds);
  cz_mv_strided(src->data, ss, dst->data, ds, &src->shape, cz_dtype_size(src->dtype), add,
                reference);
}

static void identity_forward(cz_kctx *k) { move(&k->in[0], &k->out[0], false, k->reference); }

static void identity_backward(cz_kctx *k) {
  if (k->gin[0].data) move(&k->gout[0], &k->gin[0], k->gin_acc[0], k->reference);
}

const cz_op cz_op_Identity = {
    .name = "Identity", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = identity_infer, .forward = identity_forward, .backward = identity_backward,
};
