/* Transpose (ONNX): out[i_0..i_r-1] = in at index j with j[perm[a]] = i_a;
 * perm defaults to reversing the axes. Works on logical indices whatever
 * the layouts (NHWC in, row-major out, ...). MACC 0: pure data movement. */
#include "ops/op.h"
#include "ops/op_args.h"
#include "ops/op_move.h"
#include "util/mem.h"

typedef struct {
  int perm[CZ_MAX_RANK];
} transpose_priv;

static cz_err *transpose_infer(cz_graph *g, cz_node *n) {
  const cz_value *x = cz_in_value(g, n, 0);
  int r = x->shape.rank, count = 0;
  int64_t perm[CZ_MAX_RANK];
  cz_err *e = cz_attr_get_ints(g, n, "perm", CZ_MAX_RANK, perm, &count);
  if (e) return e;
  if (!cz_node_attr(n, "perm")) {
    count = r;
    for (int a = 0; a < r; a++) perm[a] = r - 1 - a;
  }
  bool ok = count == r;
  bool seen[CZ_MAX_RANK] = {false};
  for (int a = 0; a < count && ok; a++) {
    if (perm[a] < 0 || perm[a] >= r || seen[perm[a]]) ok = false;
    else seen[perm[a]] = true;
  }
  if (!ok) {
    char p[CZ_SHAPE_STR_MAX], s[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "perm %s is not a permutation of 0..%d for input '%s' of shape %s",
                       cz_op_ints_str(perm, count, p, sizeof p), r - 1, x->name,
                       cz_shape_str(&x->shape, s, sizeof s));
  }
  transpose_priv *tp = cz_xcalloc(1, sizeof *tp);
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = x->dtype;
  y->shape.rank = r;
  for (int a = 0; a < r; a++) {
    tp->perm[a] = (int)perm[a];
    y->shape.d[a] = x->shape.d[perm[a]];
  }
  n->priv = tp;
  return NULL;
}

/* Walks the output's logical shape; the input side's strides are permuted. */
static void transpose_forward(cz_kctx *k) {
  const transpose_priv *tp = k->node->priv;
  const cz_tensor *x = &k->in[0], *y = &k->out[0];
  int64_t xs[CZ_MAX_RANK], ps[CZ_MAX_RANK], ys[CZ_MAX_RANK];
  cz_strides(&x->shape, x->layout, xs);
  cz_strides(&y->shape, y->layout, ys);
  for (int a = 0; a < y->shape.rank; a++) ps[a] = xs[tp->perm[a]];
  cz_mv_strided(x->data, ps, y->data, ys, &y->shape, cz_dtype_size(x->dtype), false,
                k->reference);
}

/* The adjoint: the same index map, read from gout, written into gin. */
static void transpose_backward(cz_kctx *k) {
  const cz_tensor *gx = &k->gin[0], *gy = &k->gout[0];
  if (!gx->data) return;
  const transpose_priv *tp = k->node->priv;
  int64_t xs[CZ_MAX_RANK], ps[CZ_MAX_RANK], ys[CZ_MAX_RANK];
  cz_strides(&gx->shape, gx->layout, xs);
  cz_strides(&gy->shape, gy->layout, ys);
  for (int a = 0; a < gy->shape.rank; a++) ps[a] = xs[tp->perm[a]];
  cz_mv_strided(gy->data, ys, gx->data, ps, &gy->shape, sizeof(float), k->gin_acc[0],
                k->reference);
}

static const char *const transpose_attrs[] = {"perm", NULL};

const cz_op cz_op_Transpose = {
    .name = "Transpose", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = transpose_attrs, .infer = transpose_infer, .forward = transpose_forward,
    .backward = transpose_backward,
};
