/* Slice (ONNX, opset 10+): starts, ends and the optional axes and steps
 * are constant int64 inputs; starts and ends count from the back when
 * negative and are clamped to the axis as ONNX says, steps may be
 * negative. The output is a strided view of the input, copied on logical
 * indices. MACC 0: pure data movement. */
#include <stdlib.h>

#include "ops/op.h"
#include "ops/op_args.h"
#include "ops/op_move.h"
#include "ops/op_slice.h"
#include "util/mem.h"

typedef struct {
  int64_t start[CZ_MAX_RANK], step[CZ_MAX_RANK];
} slice_priv;

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static cz_err *slice_infer(cz_graph *g, cz_node *n) {
  const cz_value *x = cz_in_value(g, n, 0);
  int r = x->shape.rank;
  int64_t st[CZ_MAX_RANK], en[CZ_MAX_RANK], ax[CZ_MAX_RANK], sp[CZ_MAX_RANK];
  int ns, ne, na, np;
  cz_err *e = cz_op_const_ints(g, n, 1, "starts", CZ_MAX_RANK, st, &ns);
  if (!e) e = cz_op_const_ints(g, n, 2, "ends", CZ_MAX_RANK, en, &ne);
  if (!e) e = cz_op_const_ints(g, n, 3, "axes", CZ_MAX_RANK, ax, &na);
  if (!e) e = cz_op_const_ints(g, n, 4, "steps", CZ_MAX_RANK, sp, &np);
  if (e) return e;
  char s[CZ_SHAPE_STR_MAX], l[CZ_SHAPE_STR_MAX];
  cz_shape_str(&x->shape, s, sizeof s);
  if (ne != ns)
    return cz_node_err(g, n, "starts has %d values but ends has %d", ns, ne);
  if (na >= 0 && na != ns)
    return cz_node_err(g, n, "axes has %d values, expected %d like starts", na, ns);
  if (np >= 0 && np != ns)
    return cz_node_err(g, n, "steps has %d values, expected %d like starts", np, ns);
  if (na < 0)
    for (int j = 0; j < ns; j++) ax[j] = j;
  if (ns > r)
    return cz_node_err(g, n, "starts has %d values for input '%s' of shape %s", ns, x->name, s);
  slice_priv *p = cz_xcalloc(1, sizeof *p);
  for (int a = 0; a < r; a++) p->step[a] = 1;
  bool seen[CZ_MAX_RANK] = {false};
  cz_shape out = x->shape;
  for (int j = 0; j < ns; j++) {
    int a;
    e = cz_op_axis(g, n, 0, "axes value", ax[j], false, &a);
    if (!e && seen[a])
      e = cz_node_err(g, n, "axes %s repeats axis %d", cz_op_ints_str(ax, ns, l, sizeof l), a);
    if (!e && np >= 0 && sp[j] == 0)
      e = cz_node_err(g, n, "steps %s has a 0", cz_op_ints_str(sp, np, l, sizeof l));
    if (e) {
      free(p);
      return e;
    }
    seen[a] = true;
    int64_t d = x->shape.d[a], step = np >= 0 ? sp[j] : 1, b = st[j], f = en[j], len = 0;
    if (b < 0) b += d;
    if (f < 0) f += d;
    if (d == 0) {
      b = 0;
    } else if (step > 0) {
      b = clamp(b, 0, d);
      f = clamp(f, 0, d);
      len = f > b ? (f - b + step - 1) / step : 0;
    } else {
      b = clamp(b, 0, d - 1);
      f = clamp(f, -1, d - 1);
      len = b > f ? (b - f - step - 1) / -step : 0;
    }
    p->start[a] = b;
    p->step[a] = step;
    out.d[a] = len;
  }
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = x->dtype;
  y->shape = out;
  n->priv = p;
  return NULL;
}

void cz_slice_view(const cz_node *n, int64_t start[CZ_MAX_RANK], int64_t step[CZ_MAX_RANK]) {
  const slice_priv *p = n->priv;
  for (int a = 0; a < CZ_MAX_RANK; a++) start[a] = p->start[a], step[a] = p->step[a];
}

/* Offset of the first selected element and the input strides scaled by
 * the steps: out[i] is in[base + i . st]. */
static int64_t view_of(const slice_priv *p, const cz_tensor *x, int64_t st[CZ_MAX_RANK]) {
  int64_t xs[CZ_MAX_RANK], base = 0;
  cz_strides(&x->shape, x->layout, xs);
  for (int a = 0; a < x->shape.rank; a++) {
    base += p->start[a] * xs[a];
    st[a] = xs[a] * p->step[a];
  }
  return base;
}

static void slice_forward(cz_kctx *k) {
  const cz_tensor *x = &k->in[0], *y = &k->out[0];
  if (cz_numel(y) == 0) return;
  int64_t st[CZ_MAX_RANK], ys[CZ_MAX_RANK];
  int64_t base = view_of(k->node->priv, x, st);
  size_t es = cz_dtype_size(x->dtype);
  cz_strides(&y->shape, y->layout, ys);
  cz_mv_strided((const char *)x->data + base * (ptrdiff_t)es, st, y->data, ys, &y->shape, es,
                false, k->reference);
}

/* The adjoint scatters gout into the selected elements; the rest of the
 * input gradient is zero. */
static void slice_backward(cz_kctx *k) {
  const cz_tensor *gx = &k->gin[0], *gy = &k->gout[0];
  if (!gx->data) return;
  if (!k->gin_acc[0]) {
    const float zero = 0.0f;
    cz_mv_fill(gx->data, cz_numel(gx), &zero, sizeof zero, k->reference);
  }
  if (cz_numel(gy) == 0) return;
  int64_t st[CZ_MAX_RANK], ys[CZ_MAX_RANK];
  int64_t base = view_of(k->node->priv, gx, st);
  cz_strides(&gy->shape, gy->layout, ys);
  cz_mv_strided(gy->data, ys, (float *)gx->data + base, st, &gy->shape, sizeof(float),
                k->gin_acc[0], k->reference);
}

const cz_op cz_op_Slice = {
    .name = "Slice", .min_in = 3, .max_in = 5, .min_out = 1, .max_out = 1,
    .infer = slice_infer, .forward = slice_forward, .backward = slice_backward,
};
