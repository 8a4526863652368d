/* Dropout (ONNX): inputs data, optional ratio (a CONST scalar, default 0.5)
 * and optional training_mode (a CONST; false makes the node an identity
 * even in training). In training, each element is zeroed with probability
 * ratio and the rest scaled by 1/(1-ratio) (inverted dropout, as PyTorch);
 * in inference it is the identity. The mask comes from Philox keyed by
 * (run seed, step, node index, element), so backward regenerates it and the
 * result is the same for any thread count. The ONNX `seed` attribute is
 * accepted and ignored: masks follow the run's seed so runs reproduce. The
 * optional mask output is not supported. MACC: 0 (the identity in
 * deployment). */
#include <stdlib.h>

#include "ops/op_pointwise.h"
#include "util/mem.h"

#define DROPOUT_TAG UINT64_C(0x44524f50) /* "DROP" */

typedef struct {
  float p;
  bool mode_off; /* training_mode given and false */
} dropout_attr;

/* The value of a one-element CONST of any dtype, as a double. */
static double const_scalar(const cz_value *v) {
  switch (v->dtype) {
    case CZ_F32: return *(const float *)v->data;
    case CZ_I64: return (double)*(const int64_t *)v->data;
    case CZ_I32: return *(const int32_t *)v->data;
    case CZ_I8: return *(const int8_t *)v->data;
    case CZ_U8: return *(const uint8_t *)v->data;
  }
  return 0;
}

static cz_err *dropout_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  if (n->n_out > 1) return cz_node_err(g, n, "the mask output is not supported");
  int64_t seed;
  if ((e = cz_attr_get_int(g, n, "seed", 0, &seed))) return e;
  dropout_attr a = {.p = 0.5f};
  char s[CZ_SHAPE_STR_MAX];
  if (cz_has_in(n, 1)) {
    const cz_value *r = cz_in_value(g, n, 1);
    if (r->kind != CZ_V_CONST || !r->data || r->dtype != CZ_F32 ||
        cz_shape_numel(&r->shape) != 1)
      return cz_node_err(g, n, "ratio '%s' must be a constant float32 scalar (got %s %s)",
                         r->name, cz_dtype_name(r->dtype), cz_shape_str(&r->shape, s, sizeof s));
    a.p = *(const float *)r->data;
    if (!(a.p >= 0.0f && a.p <= 1.0f))
      return cz_node_err(g, n, "ratio is %g, expected a value in [0, 1]", (double)a.p);
  }
  if (cz_has_in(n, 2)) {
    const cz_value *t = cz_in_value(g, n, 2);
    if (t->kind != CZ_V_CONST || !t->data || cz_shape_numel(&t->shape) != 1)
      return cz_node_err(g, n, "training_mode '%s' must be a constant scalar", t->name);
    a.mode_off = const_scalar(t) == 0;
  }
  dropout_attr *p = cz_xmalloc(sizeof *p);
  *p = a;
  n->priv = p;
  return NULL;
}

static bool dropout_active(const cz_kctx *k) {
  const dropout_attr *a = k->node->priv;
  return k->training && !a->mode_off && a->p > 0.0f;
}

/* dst = src * mask * scale (or the plain copy when inactive), src in layout
 * ls and dst in layout ld; `add` accumulates. The mask is indexed by the
 * output's memory order, which is dst in forward and src in backward. */
static void apply_mask(const cz_kctx *k, const float *src, cz_layout ls, float *dst,
                       cz_layout ld, bool add, bool mask_on_dst) {
  const dropout_attr *a = k->node->priv;
  const cz_shape *shape = &k->out[0].shape;
  int64_t n = cz_shape_numel(shape);
  bool on = dropout_active(k);
  bool all = on && a->p >= 1.0f; /* p = 1 drops everything (PyTorch) */
  float scale = on && !all ? 1.0f / (1.0f - a->p) : 1.0f;
  uint32_t thr = cz_mask_threshold(a->p);
  cz_mask_stream ms = cz_mask_stream_make(k, DROPOUT_TAG);
  if (ls != ld || k->reference) { /* element by element */
    for (int64_t i = 0; i < n; i++) {
      int64_t is = mask_on_dst ? cz_relayout_index(i, shape, ld, ls) : i;
      int64_t id = mask_on_dst ? i : cz_relayout_index(i, shape, ls, ld);
      bool keep = !all;
      if (on && !all) {
        uint32_t w[4];
        cz_mask_block(&ms, (uint64_t)i / 4, w);
        keep = w[i % 4] >= thr;
      }
      /* Dropped elements are +0 on every path (never x * 0 = -0). */
      float v = keep ? (on ? src[is] * scale : src[is]) : 0.0f;
      dst[id] = add ? dst[id] + v : v;
    }
    return;
  }
  if (!on || all) {
#pragma omp parallel for simd schedule(static) if (n > CZ_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
      float v = all ? 0.0f : src[i];
      dst[i] = add ? dst[i] + v : v;
    }
    return;
  }
  int64_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > CZ_PAR_MIN)
  for (int64_t b = 0; b < blocks; b++) {
    uint32_t w[4];
    cz_mask_block(&ms, (uint64_t)b, w);
    for (int j = 0; j < 4; j++) {
      int64_t i = 4 * b + j;
      if (i >= n) break;
      float v = w[j] >= thr ? src[i] * scale : 0.0f;
      dst[i] = add ? dst[i] + v : v;
    }
  }
}

static void dropout_forward(cz_kctx *k) {
  apply_mask(k, cz_f32(&k->in[0]), k->in[0].layout, cz_f32(&k->out[0]), k->out[0].layout,
             false, true);
}

static void dropout_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  apply_mask(k, cz_f32(&k->gout[0]), k->out[0].layout, cz_f32(&k->gin[0]), k->in[0].layout,
             k->gin_acc[0], false);
}

static const char *const dropout_attrs[] = {"seed", NULL};

const cz_op cz_op_Dropout = {
    .name = "Dropout", .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 2,
    .attrs = dropout_attrs, .infer = dropout_infer, .forward = dropout_forward,
    .backward = dropout_backward, .bwd_needs = 0 /* the mask is regenerated */,
};
