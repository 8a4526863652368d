/* QuantizeLinear (ONNX, opsets 13-20): y = saturate(round(x / y_scale) +
 * y_zero_point), round half to even, saturated to the zero point's type
 * (int8 or uint8; uint8 when the zero point is absent). Per-tensor or
 * per-axis (op_qdq.h). The division (not a multiplication by 1/scale)
 * and the float clamp follow onnxruntime's CPU kernel, so the integers are
 * the same. `saturate` (opset 19) only concerns float8 types: accepted
 * and ignored. Inference only: no backward (the quantizer and the int8
 * engine never differentiate through it; gradients stop here). Shape
 * inference also records the output's cz_qparams when scale and zero
 * point are constants. */
#include <math.h>

#include "ops/op.h"
#include "ops/op_qdq.h"
#include "ops/op_util.h"

static const char *const q_attrs[] = {"axis", "saturate", NULL};

static cz_err *q_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_want_float(g, n, 0);
  if (e) return e;
  cz_shape s = cz_in_value(g, n, 0)->shape;
  cz_qdq_priv *p;
  if ((e = cz_qdq_parse(g, n, &s, -1, &p))) return e;
  n->priv = p;
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = p->qtype;
  y->shape = s;
  cz_qdq_annotate(g, n, n->out[0]);
  return NULL;
}

static inline float quantize1(float x, float scale, float lo, float hi) {
  float v = nearbyintf(x / scale);
  return fminf(fmaxf(v, lo), hi);
}

static void q_forward(cz_kctx *k) {
  const cz_qdq_priv *p = k->node->priv;
  const cz_tensor *X = &k->in[0], *Y = &k->out[0];
  const float *x = cz_f32(X), *sc = cz_f32(&k->in[1]);
  int32_t lo, hi;
  cz_qdq_range(p->qtype, &lo, &hi);
  int64_t n = cz_numel(X), inner, cnt;
  cz_qdq_geom(X, p, &inner, &cnt);
  bool same = X->layout == Y->layout;
  int8_t *y8 = Y->data;
  uint8_t *yu = Y->data;
#pragma omp parallel for schedule(static) if (n > CZ_PAR_MIN && !k->reference)
  for (int64_t i = 0; i < n; i++) {
    int64_t xo = i, yo = i, c;
    if (same) {
      c = p->per_axis ? (i / inner) % cnt : 0;
    } else { /* i counts logical elements; both sides addressed by offsets */
      xo = cz_qdq_offset(&X->shape, X->layout, i);
      yo = cz_qdq_offset(&Y->shape, Y->layout, i);
      int64_t in2 = 1;
      for (int a = p->axis + 1; a < X->shape.rank; a++) in2 *= X->shape.d[a];
      c = p->per_axis ? (i / in2) % X->shape.d[p->axis] : 0;
    }
    int32_t zp = cz_qdq_zp(&k->in[2], c);
    float v = quantize1(x[xo], sc[c], (float)(lo - zp), (float)(hi - zp));
    int32_t q = (int32_t)v + zp;
    if (p->qtype == CZ_I8) y8[yo] = (int8_t)q;
    else yu[yo] = (uint8_t)q;
  }
}

static int64_t q_macc(const cz_graph *g, const cz_node *n) {
  return cz_shape_numel(&g->values[n->out[0]].shape);
}

const cz_op cz_op_QuantizeLinear = {
    .name = "QuantizeLinear", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attrs = q_attrs, .infer = q_infer, .forward = q_forward, .macc = q_macc,
};
