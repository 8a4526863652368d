/* Pad (ONNX, opset 11+): pads is a constant int64 input [x1_begin,
 * x2_begin, .., x1_end, ..] over all axes or over the optional constant
 * `axes` (opset 18); negative pads crop. Modes constant (optional constant
 * scalar constant_value, default 0), reflect (mirror without repeating the
 * edge) and edge. Output index o of an axis reads input o - begin, mapped
 * back into the axis for reflect and edge (so crops and pads combine as
 * padding first, then cropping, like ONNX's reference). MACC 0. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "ops/op_args.h"
#include "ops/op_move.h"
#include "ops/op_util.h"
#include "util/mem.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE };

typedef struct {
  int mode;
  int64_t begin[CZ_MAX_RANK];
  unsigned char value[8]; /* the constant, in the element type */
} pad_priv;

/* Input index read by output index o of an axis of extent d (-1: the
 * constant). */
static int64_t src_index(int mode, int64_t o, int64_t begin, int64_t d) {
  int64_t i = o - begin;
  if (i >= 0 && i < d) return i;
  if (mode == PAD_CONSTANT) return -1;
  if (mode == PAD_EDGE) return i < 0 ? 0 : d - 1;
  if (d == 1) return 0;
  int64_t period = 2 * (d - 1), m = i % period;
  if (m < 0) m += period;
  return m < d ? m : period - m;
}

static cz_err *pad_value(const cz_graph *g, const cz_node *n, pad_priv *p) {
  if (!cz_has_in(n, 2)) return NULL; /* zero from calloc */
  const cz_value *x = cz_in_value(g, n, 0), *v = cz_in_value(g, n, 2);
  if (v->kind != CZ_V_CONST || !v->data)
    return cz_node_err(g, n, "input 'constant_value' must be a constant ('%s' is computed at run time)",
                       v->name);
  if (v->dtype != x->dtype)
    return cz_node_err(g, n, "input 'constant_value' ('%s') is %s, but input '%s' is %s", v->name,
                       cz_dtype_name(v->dtype), x->name, cz_dtype_name(x->dtype));
  if (cz_shape_numel(&v->shape) != 1) {
    char s[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "input 'constant_value' ('%s') has shape %s, expected one value",
                       v->name, cz_shape_str(&v->shape, s, sizeof s));
  }
  memcpy(p->value, v->data, cz_dtype_size(v->dtype));
  return NULL;
}

static cz_err *pad_check(cz_graph *g, cz_node *n, pad_priv *p) {
  const cz_value *x = cz_in_value(g, n, 0);
  int r = x->shape.rank, np, na;
  const char *mode;
  int64_t pads[2 * CZ_MAX_RANK], axes[CZ_MAX_RANK];
  char s[CZ_SHAPE_STR_MAX], l[CZ_SHAPE_STR_MAX];
  cz_shape_str(&x->shape, s, sizeof s);
  cz_err *e = cz_attr_get_string(g, n, "mode", "constant", &mode);
  if (e) return e;
  if (strcmp(mode, "constant") == 0) p->mode = PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) p->mode = PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) p->mode = PAD_EDGE;
  else
    return cz_node_err(g, n, "mode '%s' is not supported (supported: constant, reflect, edge)",
                       mode);
  e = cz_op_const_ints(g, n, 1, "pads", 2 * CZ_MAX_RANK, pads, &np);
  if (!e) e = pad_value(g, n, p);
  if (!e) e = cz_op_const_ints(g, n, 3, "axes", CZ_MAX_RANK, axes, &na);
  if (e) return e;
  if (na < 0) {
    na = r;
    for (int a = 0; a < r; a++) axes[a] = a;
  }
  cz_op_ints_str(pads, np, l, sizeof l);
  if (np != 2 * na)
    return cz_node_err(g, n, "pads %s has %d values, expected %d (begin and end of %d axes) for "
                       "input '%s' of shape %s", l, np, 2 * na, na, x->name, s);
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = x->dtype;
  y->shape = x->shape;
  bool seen[CZ_MAX_RANK] = {false};
  for (int j = 0; j < na; j++) {
    int a;
    e = cz_op_axis(g, n, 0, "axes value", axes[j], false, &a);
    if (e) return e;
    if (seen[a]) return cz_node_err(g, n, "axes repeats axis %d", a);
    seen[a] = true;
    int64_t d = x->shape.d[a], b = pads[j], f = pads[na + j];
    if (d + b + f < 0)
      return cz_node_err(g, n, "pads %s crop axis %d of input '%s' of shape %s below 0", l, a,
                         x->name, s);
    if (d == 0 && p->mode != PAD_CONSTANT && (b > 0 || f > 0))
      return cz_node_err(g, n, "cannot pad the empty axis %d of input '%s' of shape %s in %s mode",
                         a, x->name, s, mode);
    p->begin[a] = b;
    y->shape.d[a] = d + b + f;
  }
  return NULL;
}

static cz_err *pad_infer(cz_graph *g, cz_node *n) {
  pad_priv *p = cz_xcalloc(1, sizeof *p);
  cz_err *e = pad_check(g, n, p);
  if (e) {
    free(p);
    return e;
  }
  n->priv = p;
  return NULL;
}

/* Offset in x read by output index idx, or -1 for the constant. */
static int64_t src_offset(const pad_priv *p, const cz_shape *xs, const int64_t *xst,
                          const int64_t *idx) {
  int64_t off = 0;
  for (int a = 0; a < xs->rank; a++) {
    int64_t i = src_index(p->mode, idx[a], p->begin[a], xs->d[a]);
    if (i < 0) return -1;
    off += i * xst[a];
  }
  return off;
}

/* One output element at a time, each read through src_index. With
 * scatter (backward of reflect/edge, x and y being the gradients) it adds
 * y into x instead. */
static void pad_walk(const pad_priv *p, const cz_tensor *x, const cz_tensor *y, bool scatter) {
  int64_t xst[CZ_MAX_RANK], yst[CZ_MAX_RANK], idx[CZ_MAX_RANK] = {0}, n = cz_numel(y);
  size_t es = cz_dtype_size(x->dtype);
  cz_strides(&x->shape, x->layout, xst);
  cz_strides(&y->shape, y->layout, yst);
  for (int64_t k = 0; k < n; k++) {
    int64_t so = src_offset(p, &x->shape, xst, idx), yo = 0;
    for (int a = 0; a < y->shape.rank; a++) yo += idx[a] * yst[a];
    char *yp = (char *)y->data + (size_t)yo * es;
    if (scatter) {
      if (so >= 0) ((float *)x->data)[so] += ((const float *)y->data)[yo];
    } else {
      memcpy(yp, so < 0 ? (const void *)p->value : (const char *)x->data + (size_t)so * es, es);
    }
    for (int a = y->shape.rank - 1; a >= 0; a--) {
      if (++idx[a] < y->shape.d[a]) break;
      idx[a] = 0;
    }
  }
}

/* Fast forward when x and y share a layout: pads move to physical axes;
 * trailing unpadded axes form blocks of B contiguous elements, and each
 * output row (all axes but the last padded one) is a fill, a copy and a
 * fill (constant) or B-element copies (reflect, edge). */
static void pad_fast(const pad_priv *p, const cz_tensor *x, const cz_tensor *y) {
  int r = x->shape.rank, order[CZ_MAX_RANK], t = -1;
  int64_t di[CZ_MAX_RANK], dout[CZ_MAX_RANK], b[CZ_MAX_RANK], is[CZ_MAX_RANK], os[CZ_MAX_RANK];
  size_t es = cz_dtype_size(x->dtype);
  cz_mv_phys_order(x->layout, r, order);
  for (int q = 0; q < r; q++) {
    di[q] = x->shape.d[order[q]];
    dout[q] = y->shape.d[order[q]];
    b[q] = p->begin[order[q]];
    if (b[q] != 0 || dout[q] != di[q]) t = q;
  }
  if (t < 0) { /* nothing padded */
    cz_shape flat = cz_shape1(cz_numel(x));
    int64_t one = 1;
    cz_mv_strided(x->data, &one, y->data, &one, &flat, es, false, false);
    return;
  }
  int64_t B = 1, rows = 1;
  for (int q = t + 1; q < r; q++) B *= di[q];
  is[t] = os[t] = B;
  for (int q = t - 1; q >= 0; q--) {
    is[q] = is[q + 1] * di[q + 1];
    os[q] = os[q + 1] * dout[q + 1];
  }
  for (int q = 0; q < t; q++) rows *= dout[q];
  int64_t row_len = dout[t] * B;
  /* Output positions [lo, hi) of the last padded axis read the input. */
  int64_t lo = b[t] > 0 ? b[t] : 0, hi = b[t] + di[t];
  if (lo > dout[t]) lo = dout[t];
  if (hi > dout[t]) hi = dout[t];
  if (hi < lo) hi = lo;
#pragma omp parallel for schedule(static) if (cz_numel(y) > CZ_PAR_MIN)
  for (int64_t row = 0; row < rows; row++) {
    char *dst = (char *)y->data + (size_t)(row * row_len) * es;
    int64_t rem = row, so = 0;
    bool inside = true;
    for (int q = t - 1; q >= 0; q--) {
      int64_t i = src_index(p->mode, rem % dout[q], b[q], di[q]);
      rem /= dout[q];
      if (i < 0) inside = false;
      so += i * is[q];
    }
    if (!inside) {
      cz_mv_fill(dst, row_len, p->value, es, true);
      continue;
    }
    const char *src = (const char *)x->data + (size_t)so * es;
    if (p->mode == PAD_CONSTANT) {
      cz_mv_fill(dst, lo * B, p->value, es, true);
      if (hi > lo) memcpy(dst + (size_t)(lo * B) * es, src + (size_t)((lo - b[t]) * B) * es,
                          (size_t)((hi - lo) * B) * es);
      cz_mv_fill(dst + (size_t)(hi * B) * es, (dout[t] - hi) * B, p->value, es, true);
    } else {
      for (int64_t o = 0; o < dout[t]; o++)
        memcpy(dst + (size_t)(o * B) * es,
               src + (size_t)(src_index(p->mode, o, b[t], di[t]) * B) * es, (size_t)B * es);
    }
  }
}

static void pad_forward(cz_kctx *k) {
  const pad_priv *p = k->node->priv;
  const cz_tensor *x = &k->in[0], *y = &k->out[0];
  if (cz_numel(y) == 0) return;
  if (k->reference || x->layout != y->layout)
    pad_walk(p, x, y, false);
  else
    pad_fast(p, x, y);
}

/* Constant mode: gx is the box of gy that came from x (zero where x was
 * cropped). Reflect and edge: several outputs read one input, so gy is
 * scatter-added (one thread: the targets collide). */
static void pad_backward(cz_kctx *k) {
  const pad_priv *p = k->node->priv;
  const cz_tensor *gx = &k->gin[0], *gy = &k->gout[0];
  if (!gx->data) return;
  int r = gx->shape.rank;
  int64_t lo[CZ_MAX_RANK], gxs[CZ_MAX_RANK], gys[CZ_MAX_RANK], xo = 0, yo = 0;
  cz_shape box = gx->shape;
  bool whole = true;
  cz_strides(&gx->shape, gx->layout, gxs);
  cz_strides(&gy->shape, gy->layout, gys);
  for (int a = 0; a < r; a++) {
    int64_t b = p->begin[a], d = gx->shape.d[a];
    lo[a] = b < 0 ? -b : 0;
    int64_t hi = gy->shape.d[a] - b < d ? gy->shape.d[a] - b : d;
    box.d[a] = hi > lo[a] ? hi - lo[a] : 0;
    if (box.d[a] != d) whole = false;
    xo += lo[a] * gxs[a];
    yo += (lo[a] + b) * gys[a];
  }
  bool scatter = p->mode != PAD_CONSTANT;
  if (!k->gin_acc[0] && (scatter || !whole)) {
    const float zero = 0.0f;
    cz_mv_fill(gx->data, cz_numel(gx), &zero, sizeof zero, k->reference);
  }
  if (scatter) {
    if (cz_numel(gy) > 0) pad_walk(p, gx, gy, true);
    return;
  }
  if (cz_shape_numel(&box) == 0) return;
  cz_mv_strided((const float *)gy->data + yo, gys, (float *)gx->data + xo, gxs, &box,
                sizeof(float), k->gin_acc[0], k->reference);
}

static const char *const pad_attrs[] = {"mode", NULL};

const cz_op cz_op_Pad = {
    .name = "Pad", .min_in = 2, .max_in = 4, .min_out = 1, .max_out = 1,
    .attrs = pad_attrs, .infer = pad_infer, .forward = pad_forward, .backward = pad_backward,
};
