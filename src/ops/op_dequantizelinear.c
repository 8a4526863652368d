/* DequantizeLinear (ONNX, opsets 13-20): y = (x - x_zero_point) *
 * x_scale in float32, x int8, uint8 or int32 (int32: quantized biases,
 * whose zero point must be 0). Per-tensor or per-axis (op_qdq.h). The
 * subtraction is done in int32 and converted once, then multiplied, as
 * onnxruntime's CPU kernel does. Inference only: no backward (gradients
 * stop here). Shape inference records the input's cz_qparams when it is a
 * stored (initializer) tensor and scale and zero point are constants. */
#include "ops/op.h"
#include "ops/op_qdq.h"
#include "ops/op_util.h"

static const char *const dq_attrs[] = {"axis", NULL};

static cz_err *dq_infer(cz_graph *g, cz_node *n) {
  const cz_value *x = cz_in_value(g, n, 0);
  if (x->dtype != CZ_I8 && x->dtype != CZ_U8 && x->dtype != CZ_I32)
    return cz_node_err(g, n, "input 0 '%s' is %s, expected int8, uint8 or int32", x->name,
                       cz_dtype_name(x->dtype));
  cz_shape s = x->shape;
  cz_qdq_priv *p;
  cz_err *e = cz_qdq_parse(g, n, &s, (int)x->dtype, &p);
  if (e) return e;
  n->priv = p;
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = s;
  if (x->data) cz_qdq_annotate(g, n, n->in[0]);
  return NULL;
}

static inline int32_t load_q(const void *d, cz_dtype t, int64_t i) {
  switch (t) {
  case CZ_I8: return ((const int8_t *)d)[i];
  case CZ_U8: return ((const uint8_t *)d)[i];
  default: return ((const int32_t *)d)[i];
  }
}

static void dq_forward(cz_kctx *k) {
  const cz_qdq_priv *p = k->node->priv;
  const cz_tensor *X = &k->in[0], *Y = &k->out[0];
  const float *sc = cz_f32(&k->in[1]);
  float *y = cz_f32(Y);
  int64_t n = cz_numel(X), inner, cnt;
  cz_qdq_geom(X, p, &inner, &cnt);
  bool same = X->layout == Y->layout;
#pragma omp parallel for schedule(static) if (n > CZ_PAR_MIN && !k->reference)
  for (int64_t i = 0; i < n; i++) {
    int64_t xo = i, yo = i, c;
    if (same) {
      c = p->per_axis ? (i / inner) % cnt : 0;
    } else {
      xo = cz_qdq_offset(&X->shape, X->layout, i);
      yo = cz_qdq_offset(&Y->shape, Y->layout, i);
      int64_t in2 = 1;
      for (int a = p->axis + 1; a < X->shape.rank; a++) in2 *= X->shape.d[a];
      c = p->per_axis ? (i / in2) % X->shape.d[p->axis] : 0;
    }
    int32_t v = load_q(X->data, X->dtype, xo) - cz_qdq_zp(&k->in[2], c);
    y[yo] = (float)v * sc[c];
  }
}

static int64_t dq_macc(const cz_graph *g, const cz_node *n) {
  return cz_shape_numel(&g->values[n->out[0]].shape);
}

const cz_op cz_op_DequantizeLinear = {
    .name = "DequantizeLinear", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attrs = dq_attrs, .infer = dq_infer, .forward = dq_forward, .macc = dq_macc,
};
