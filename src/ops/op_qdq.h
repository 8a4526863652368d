/* Shared by QuantizeLinear and DequantizeLinear (ONNX opsets 13-20): the
 * scale / zero-point operands (per-tensor: a scalar or one-element 1-D
 * scale; per-axis: a 1-D scale of shape[axis] elements), the integer
 * ranges, and the element loop that visits every logical index with its
 * channel. The parsed form is the node's priv. */
#ifndef CZ_OPS_OP_QDQ_H
#define CZ_OPS_OP_QDQ_H
#include "ops/op.h"

typedef struct {
  int axis;      /* normalized; meaningful when per_axis */
  bool per_axis; /* scale has one value per index along axis */
  int64_t n;     /* scale (and zero point) elements */
  cz_dtype qtype; /* the integer side's element type */
} cz_qdq_priv;

/* Checks inputs 1 (scale) and 2 (zero point, optional) against the
 * integer-side value `q` of shape `s` and sets n->priv. `q_slot_dt` is the
 * integer type when known (DequantizeLinear's input), or -1 when it comes
 * from the zero point (QuantizeLinear). */
cz_err *cz_qdq_parse(cz_graph *g, cz_node *n, const cz_shape *s, int q_slot_dt,
                     cz_qdq_priv **out);
/* Fills value v's cz_qparams from constant scale / zero-point inputs of
 * node n (nothing when they are computed). */
void cz_qdq_annotate(cz_graph *g, const cz_node *n, int v);
/* Integer range of a quantized type. */
void cz_qdq_range(cz_dtype t, int32_t *lo, int32_t *hi);
/* Zero point number i as int32 (0 when the input is absent). */
int32_t cz_qdq_zp(const cz_tensor *zp, int64_t i);
/* Where the scale index of element i (in t's memory order) comes from:
 * channel = (i / *inner) % *count (per-tensor: inner 1, count 1). */
void cz_qdq_geom(const cz_tensor *t, const cz_qdq_priv *p, int64_t *inner, int64_t *count);
/* Memory offsets (elements) of logical element number `li` (row-major
 * count over the shape) in a tensor of layout l. */
int64_t cz_qdq_offset(const cz_shape *s, cz_layout l, int64_t li);
#endif
