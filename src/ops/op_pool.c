/* The shape rule shared by MaxPool and AveragePool: ONNX pooling
 * attributes (kernel_shape, strides, pads, dilations, auto_pad, ceil_mode)
 * turned into a cz_pool window geometry (op_pool.h). */
#include "ops/op_pool.h"

#include <stdlib.h>
#include <string.h>

#include "ops/op_util.h"
#include "util/mem.h"

/* Attribute values are bounded so that no product of two of them (the
 * dilated kernel extent, window starts) can overflow int64. */
#define POOL_MAX 2147483647LL

static const char *const axis_name[2] = {"H", "W"};

/* An INTS attribute that must have exactly `want` values in [lo, POOL_MAX];
 * absent: every value is dflt. */
static cz_err *get_ints_exact(const cz_graph *g, const cz_node *n, const char *name, int want,
                              int64_t lo, int64_t dflt, bool required, int64_t *out) {
  int64_t v[8];
  int cnt = 0;
  cz_err *e = cz_attr_get_ints(g, n, name, 8, v, &cnt);
  if (e) return e;
  if (!cz_node_attr(n, name)) {
    if (required)
      return cz_node_err(g, n, "attribute %s is required (%d values for 2-D pooling)", name,
                         want);
    for (int i = 0; i < want; i++) out[i] = dflt;
    return NULL;
  }
  if (cnt != want)
    return cz_node_err(g, n, "attribute %s has %d values, expected %d (2-D pooling)", name, cnt,
                       want);
  for (int i = 0; i < want; i++) {
    if (v[i] < lo || v[i] > POOL_MAX)
      return cz_node_err(g, n, "attribute %s value %lld is out of range (expected %lld to %lld)",
                         name, (long long)v[i], (long long)lo, POOL_MAX);
    out[i] = v[i];
  }
  return NULL;
}

static cz_err *get_flag(const cz_graph *g, const cz_node *n, const char *name, int64_t *out) {
  cz_err *e = cz_attr_get_int(g, n, name, 0, out);
  if (e) return e;
  if (*out != 0 && *out != 1)
    return cz_node_err(g, n, "attribute %s is %lld, expected 0 or 1", name, (long long)*out);
  return NULL;
}

typedef enum { PAD_NOTSET, PAD_VALID, PAD_SAME_UPPER, PAD_SAME_LOWER } pad_mode;

static cz_err *get_auto_pad(const cz_graph *g, const cz_node *n, pad_mode *m) {
  const char *s = NULL;
  cz_err *e = cz_attr_get_string(g, n, "auto_pad", "NOTSET", &s);
  if (e) return e;
  static const char *const names[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) {
      *m = (pad_mode)i;
      return NULL;
    }
  return cz_node_err(g, n,
                     "attribute auto_pad '%s' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER",
                     s);
}

/* Output extent and padding of axis a. ceil_mode follows PyTorch (and
 * onnxruntime): a last window that would start in the end padding is
 * dropped. VALID is explicit zero padding (ceil_mode applies, as in
 * onnxruntime); SAME_* gives ceil(in / stride) outputs whatever ceil_mode
 * says, padded as ONNX specifies (the odd unit at the end for SAME_UPPER,
 * at the start for SAME_LOWER). */
static cz_err *axis_geometry(const cz_graph *g, const cz_node *n, cz_pool *p, int a, pad_mode m,
                             bool ceil_mode) {
  int64_t in = p->in[a], k = p->k[a], s = p->s[a], d = p->d[a];
  const cz_value *x = cz_in_value(g, n, 0);
  char xs[CZ_SHAPE_STR_MAX];
  cz_shape_str(&x->shape, xs, sizeof xs);
  /* k and d are at most POOL_MAX each: this cannot overflow. */
  int64_t ek = (k - 1) * d + 1;
  if (m == PAD_SAME_UPPER || m == PAD_SAME_LOWER) {
    p->out[a] = (in + s - 1) / s;
    int64_t total = (p->out[a] - 1) * s + ek - in;
    if (total < 0) total = 0;
    p->pb[a] = m == PAD_SAME_UPPER ? total / 2 : total - total / 2;
    p->pe[a] = total - p->pb[a];
    return NULL;
  }
  if (m == PAD_VALID) p->pb[a] = p->pe[a] = 0;
  int64_t padded = in + p->pb[a] + p->pe[a];
  if (padded < ek)
    return cz_node_err(g, n,
                       "kernel %lld (dilated extent %lld) is larger than the padded input %lld "
                       "on axis %s (input %s, pads %lld+%lld)",
                       (long long)k, (long long)ek, (long long)padded, axis_name[a], xs,
                       (long long)p->pb[a], (long long)p->pe[a]);
  if (ceil_mode) {
    p->out[a] = (padded - ek + s - 1) / s + 1;
    if ((p->out[a] - 1) * s >= in + p->pb[a]) p->out[a]--;
  } else {
    p->out[a] = (padded - ek) / s + 1;
  }
  return NULL;
}

cz_err *cz_op_pool_infer(cz_graph *g, cz_node *n, bool is_max) {
  cz_err *e = cz_op_want_float(g, n, 0);
  if (!e) e = cz_op_want_rank(g, n, 0, 4);
  if (e) return e;
  if (n->n_out > 1)
    return cz_node_err(g, n, "the Indices output is not supported (give MaxPool one output)");
  cz_pool p = {0};
  int64_t pads[4];
  int64_t ceil_mode = 0, cip = 0, order = 0;
  pad_mode m = PAD_NOTSET;
  e = get_ints_exact(g, n, "kernel_shape", 2, 1, 1, true, p.k);
  if (!e) e = get_ints_exact(g, n, "strides", 2, 1, 1, false, p.s);
  if (!e && is_max) e = get_ints_exact(g, n, "dilations", 2, 1, 1, false, p.d);
  if (!is_max) p.d[0] = p.d[1] = 1;
  if (!e) e = get_ints_exact(g, n, "pads", 4, 0, 0, false, pads);
  if (!e) e = get_flag(g, n, "ceil_mode", &ceil_mode);
  if (!e && !is_max) e = get_flag(g, n, "count_include_pad", &cip);
  if (!e && is_max) e = cz_attr_get_int(g, n, "storage_order", 0, &order);
  if (!e) e = get_auto_pad(g, n, &m);
  if (e) return e;
  if (order != 0)
    return cz_node_err(g, n, "attribute storage_order %lld is not supported (only 0, row-major)",
                       (long long)order);
  if (m != PAD_NOTSET && (pads[0] || pads[1] || pads[2] || pads[3])) {
    const char *s = NULL;
    (void)cz_attr_get_string(g, n, "auto_pad", "", &s);
    return cz_node_err(g, n, "attribute pads cannot be combined with auto_pad %s", s);
  }
  p.count_include_pad = cip != 0;
  const cz_value *x = cz_in_value(g, n, 0);
  for (int a = 0; a < 2; a++) {
    p.in[a] = x->shape.d[2 + a];
    p.pb[a] = pads[a];
    p.pe[a] = pads[2 + a];
    e = axis_geometry(g, n, &p, a, m, ceil_mode != 0);
    if (e) return e;
    /* A window of padding only has no maximum and (without
     * count_include_pad) no divisor: refuse such a geometry. */
    for (int64_t o = 0; o < p.out[a]; o++) {
      int64_t j0, j1;
      cz_pool_taps(&p, a, o, &j0, &j1);
      if (j0 >= j1)
        return cz_node_err(g, n,
                           "window %lld on axis %s covers only padding (input %lld, kernel %lld, "
                           "stride %lld, dilation %lld, pads %lld+%lld)",
                           (long long)o, axis_name[a], (long long)p.in[a], (long long)p.k[a],
                           (long long)p.s[a], (long long)p.d[a], (long long)p.pb[a],
                           (long long)p.pe[a]);
    }
  }
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = cz_shape4(x->shape.d[0], x->shape.d[1], p.out[0], p.out[1]);
  cz_pool *priv = cz_xmalloc(sizeof *priv);
  *priv = p;
  n->priv = priv;
  return NULL;
}

int64_t cz_op_pool_macc(const cz_graph *g, const cz_node *n) {
  const cz_pool *p = n->priv;
  if (!p) return 0;
  const cz_value *y = &g->values[n->out[0]];
  return cz_shape_numel(&y->shape) * p->k[0] * p->k[1];
}
