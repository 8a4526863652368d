/* Operands and geometry shared by QuantizeLinear / DequantizeLinear
 * (op_qdq.h), following the ONNX operator spec, opsets 13-20: y_scale /
 * x_scale a scalar (per-tensor) or 1-D (per-axis along `axis`, default 1,
 * negative counts from the end); the zero point optional, of the scale's
 * element count (a scalar beside a one-element 1-D scale is accepted)
 * and of the integer side's type. A one-element 1-D scale is taken
 * as per-tensor, as onnxruntime does. */
#include "ops/op_qdq.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void cz_qdq_range(cz_dtype t, int32_t *lo, int32_t *hi) {
  switch (t) {
  case CZ_I8: *lo = -128, *hi = 127; break;
  case CZ_U8: *lo = 0, *hi = 255; break;
  default: *lo = INT32_MIN, *hi = INT32_MAX; break;
  }
}

int32_t cz_qdq_zp(const cz_tensor *zp, int64_t i) {
  if (!zp->data) return 0;
  switch (zp->dtype) {
  case CZ_I8: return ((const int8_t *)zp->data)[i];
  case CZ_U8: return ((const uint8_t *)zp->data)[i];
  case CZ_I32: return ((const int32_t *)zp->data)[i];
  default: return 0;
  }
}

cz_err *cz_qdq_parse(cz_graph *g, cz_node *n, const cz_shape *s, int q_slot_dt,
                     cz_qdq_priv **out) {
  *out = NULL;
  const cz_value *sc = cz_in_value(g, n, 1);
  const cz_value *zp = cz_has_in(n, 2) ? cz_in_value(g, n, 2) : NULL;
  if (sc->dtype != CZ_F32)
    return cz_node_err(g, n, "scale '%s' is %s, expected float32", sc->name,
                       cz_dtype_name(sc->dtype));
  char b1[CZ_SHAPE_STR_MAX], b2[CZ_SHAPE_STR_MAX];
  if (sc->shape.rank > 1)
    return cz_node_err(g, n, "scale '%s' has shape %s, expected a scalar or a 1-D tensor",
                       sc->name, cz_shape_str(&sc->shape, b1, sizeof b1));
  /* onnxruntime writes a scalar zero point beside a [1] scale (biases) */
  if (zp && (zp->shape.rank > 1 || cz_shape_numel(&zp->shape) != cz_shape_numel(&sc->shape)))
    return cz_node_err(g, n, "zero point '%s' has shape %s, expected the scale's %s", zp->name,
                       cz_shape_str(&zp->shape, b1, sizeof b1),
                       cz_shape_str(&sc->shape, b2, sizeof b2));
  cz_dtype qt = q_slot_dt >= 0 ? (cz_dtype)q_slot_dt : zp ? zp->dtype : CZ_U8;
  if (q_slot_dt < 0 && qt != CZ_I8 && qt != CZ_U8)
    return cz_node_err(g, n, "zero point '%s' is %s, expected int8 or uint8", zp->name,
                       cz_dtype_name(qt));
  if (zp && zp->dtype != qt)
    return cz_node_err(g, n, "zero point '%s' is %s, expected %s like the quantized tensor",
                       zp->name, cz_dtype_name(zp->dtype), cz_dtype_name(qt));
  int64_t axis;
  cz_err *e = cz_attr_get_int(g, n, "axis", 1, &axis);
  if (e) return e;
  int64_t cnt = cz_shape_numel(&sc->shape);
  cz_qdq_priv *p = cz_xcalloc(1, sizeof *p);
  p->qtype = qt;
  p->n = cnt;
  if (sc->shape.rank == 1 && cnt != 1) {
    if (axis < -s->rank || axis >= s->rank) {
      free(p);
      return cz_node_err(g, n, "axis %lld is out of range for rank %d", (long long)axis,
                         s->rank);
    }
    p->axis = (int)(axis < 0 ? axis + s->rank : axis);
    p->per_axis = true;
    if (s->d[p->axis] != cnt) {
      free(p);
      int ax = (int)(axis < 0 ? axis + s->rank : axis);
      return cz_node_err(g, n, "scale '%s' has %lld values, expected %lld (dimension %d of %s)",
                         sc->name, (long long)cnt, (long long)s->d[ax], ax,
                         cz_shape_str(s, b1, sizeof b1));
    }
  } else if (cnt != 1) {
    free(p);
    return cz_node_err(g, n, "scale '%s' is empty", sc->name);
  }
  if (qt == CZ_I32 && zp && zp->data)
    for (int64_t i = 0; i < cnt; i++)
      if (((const int32_t *)zp->data)[i] != 0) {
        free(p);
        return cz_node_err(g, n, "int32 zero point '%s' must be 0 (ONNX), got %d", zp->name,
                           ((const int32_t *)zp->data)[i]);
      }
  *out = p;
  return NULL;
}

void cz_qdq_annotate(cz_graph *g, const cz_node *n, int v) {
  const cz_value *sc = cz_in_value(g, n, 1);
  const cz_value *zp = cz_has_in(n, 2) ? cz_in_value(g, n, 2) : NULL;
  const cz_qdq_priv *p = n->priv;
  if (!sc->data || (zp && !zp->data) || !p) return;
  cz_value *x = &g->values[v];
  if (x->q) {
    free(x->q->scale);
    free(x->q->zero_point);
    free(x->q);
  }
  cz_qparams *q = cz_xcalloc(1, sizeof *q);
  q->n = (int)p->n;
  q->axis = p->per_axis ? p->axis : 0;
  q->qtype = p->qtype;
  q->scale = cz_xmalloc((size_t)p->n * sizeof *q->scale);
  q->zero_point = cz_xcalloc((size_t)p->n, sizeof *q->zero_point);
  memcpy(q->scale, sc->data, (size_t)p->n * sizeof *q->scale);
  if (zp) {
    cz_tensor t = {.data = zp->data, .dtype = zp->dtype};
    for (int64_t i = 0; i < p->n; i++) q->zero_point[i] = cz_qdq_zp(&t, i);
  }
  x->q = q;
}

/* Physical position of logical axis a: NHWC stores [N,C,H,W] as N,H,W,C. */
static int phys_pos(cz_layout l, int a) {
  if (l != CZ_NHWC) return a;
  static const int pos[4] = {0, 3, 1, 2};
  return pos[a];
}

void cz_qdq_geom(const cz_tensor *t, const cz_qdq_priv *p, int64_t *inner, int64_t *count) {
  *inner = 1, *count = 1;
  if (!p->per_axis) return;
  int64_t pd[CZ_MAX_RANK];
  cz_physical_dims(&t->shape, t->layout, pd);
  int pp = phys_pos(t->layout, p->axis);
  for (int i = pp + 1; i < t->shape.rank; i++) *inner *= pd[i];
  *count = pd[pp];
}

int64_t cz_qdq_offset(const cz_shape *s, cz_layout l, int64_t li) {
  int64_t st[CZ_MAX_RANK], off = 0;
  cz_strides(s, l, st);
  for (int i = s->rank - 1; i >= 0; i--) {
    int64_t d = s->d[i] ? s->d[i] : 1;
    off += (li % d) * st[i];
    li /= d;
  }
  return off;
}
