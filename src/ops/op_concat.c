/* Concat (ONNX): joins inputs along `axis` (negative counts from the back);
 * every other dimension must match. On logical indices whatever the
 * layouts; when all sides share one layout each outer index is one block
 * per input (NHWC along channels: one run per pixel). Backward splits the
 * gradient. MACC 0: pure data movement. */
#include "ops/op.h"
#include "ops/op_args.h"
#include "ops/op_move.h"
#include "util/mem.h"

typedef struct {
  int axis;
} concat_priv;

static cz_err *concat_infer(cz_graph *g, cz_node *n) {
  if (!cz_node_attr(n, "axis")) return cz_node_err(g, n, "attribute axis is required");
  for (int i = 0; i < n->n_in; i++)
    if (!cz_has_in(n, i)) return cz_node_err(g, n, "input %d is missing", i);
  const cz_value *x0 = cz_in_value(g, n, 0);
  int64_t axis;
  int a;
  cz_err *e = cz_attr_get_int(g, n, "axis", 0, &axis);
  if (!e) e = cz_op_axis(g, n, 0, "axis", axis, false, &a);
  if (e) return e;
  cz_shape out = x0->shape;
  char s0[CZ_SHAPE_STR_MAX], si[CZ_SHAPE_STR_MAX];
  cz_shape_str(&x0->shape, s0, sizeof s0);
  for (int i = 1; i < n->n_in; i++) {
    const cz_value *xi = cz_in_value(g, n, i);
    if (xi->dtype != x0->dtype)
      return cz_node_err(g, n, "input %d '%s' is %s, but input 0 '%s' is %s", i, xi->name,
                         cz_dtype_name(xi->dtype), x0->name, cz_dtype_name(x0->dtype));
    bool ok = xi->shape.rank == x0->shape.rank;
    for (int j = 0; ok && j < x0->shape.rank; j++)
      if (j != a && xi->shape.d[j] != x0->shape.d[j]) ok = false;
    if (!ok)
      return cz_node_err(g, n,
                         "input %d '%s' has shape %s, which does not match input 0 '%s' of "
                         "shape %s outside axis %d",
                         i, xi->name, cz_shape_str(&xi->shape, si, sizeof si), x0->name, s0, a);
    out.d[a] += xi->shape.d[a];
  }
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = x0->dtype;
  y->shape = out;
  concat_priv *p = cz_xcalloc(1, sizeof *p);
  p->axis = a;
  n->priv = p;
  return NULL;
}

static void concat_forward(cz_kctx *k) {
  const concat_priv *p = k->node->priv;
  cz_mv_parts(&k->out[0], k->in, k->node->n_in, p->axis, true, NULL, k->reference);
}

/* Each input's gradient is its box of the output gradient. */
static void concat_backward(cz_kctx *k) {
  const concat_priv *p = k->node->priv;
  cz_tensor parts[CZ_MAX_IO];
  for (int i = 0; i < k->node->n_in; i++) {
    parts[i] = k->gin[i];
    parts[i].shape = k->in[i].shape; /* absent gradients still take their place */
  }
  cz_mv_parts(&k->gout[0], parts, k->node->n_in, p->axis, false, k->gin_acc, k->reference);
}

static const char *const concat_attrs[] = {"axis", NULL};

const cz_op cz_op_Concat = {
    .name = "Concat", .min_in = 1, .max_in = CZ_MAX_IO, .min_out = 1, .max_out = 1,
    .attrs = concat_attrs, .infer = concat_infer, .forward = concat_forward,
    .backward = concat_backward,
};
