/* DropPath (czoo extension: timm's stochastic depth, exported as Identity):
 * in training each sample (dim 0) is kept with probability 1 - drop_prob,
 * and kept samples are scaled by 1/(1 - drop_prob) when scale_by_keep (the
 * default); in inference, or with drop_prob 0, the identity. One Philox
 * word per sample, keyed by (run seed, step, node index, sample), as
 * Dropout. MACC: 0 (the identity in deployment). */
#include <stdlib.h>

#include "ops/op_pointwise.h"
#include "util/mem.h"

#define DROPPATH_TAG UINT64_C(0x44505448) /* "DPTH" */

typedef struct {
  float p;
  bool scale_by_keep;
} droppath_attr;

static cz_err *droppath_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  const cz_value *x = cz_in_value(g, n, 0);
  if (x->shape.rank < 1)
    return cz_node_err(g, n, "input 0 '%s' is a scalar, expected a batch (rank >= 1)", x->name);
  droppath_attr a;
  int64_t sk;
  if ((e = cz_attr_get_float(g, n, "drop_prob", 0.0f, &a.p))) return e;
  if ((e = cz_attr_get_int(g, n, "scale_by_keep", 1, &sk))) return e;
  if (!(a.p >= 0.0f && a.p <= 1.0f))
    return cz_node_err(g, n, "drop_prob is %g, expected a value in [0, 1]", (double)a.p);
  a.scale_by_keep = sk != 0;
  droppath_attr *p = cz_xmalloc(sizeof *p);
  *p = a;
  n->priv = p;
  return NULL;
}

/* Multiplier of sample s. */
static float sample_mult(const cz_kctx *k, const cz_mask_stream *ms, int64_t s) {
  const droppath_attr *a = k->node->priv;
  if (!k->training || a->p <= 0.0f) return 1.0f;
  float keep = 1.0f - a->p;
  if (keep <= 0.0f) return 0.0f;
  uint32_t w[4];
  cz_mask_block(ms, (uint64_t)s / 4, w);
  if (w[s % 4] < cz_mask_threshold(a->p)) return 0.0f;
  return a->scale_by_keep ? 1.0f / keep : 1.0f; /* timm: x * (bernoulli / keep) */
}

/* dst = src * mult(sample); src in layout ls, dst in ld; `add` accumulates.
 * Dim 0 is outermost in every layout, so sample s is the same contiguous
 * block [s*S, (s+1)*S) of both tensors. */
static void apply(const cz_kctx *k, const float *src, cz_layout ls, float *dst, cz_layout ld,
                  bool add) {
  const cz_shape *shape = &k->out[0].shape;
  int64_t n = cz_shape_numel(shape), N = shape->d[0];
  if (n == 0) return;
  int64_t S = n / N;
  cz_mask_stream ms = cz_mask_stream_make(k, DROPPATH_TAG);
  if (ls != ld || k->reference) {
    for (int64_t i = 0; i < n; i++) {
      int64_t is = cz_relayout_index(i, shape, ld, ls);
      float v = src[is] * sample_mult(k, &ms, i / S);
      dst[i] = add ? dst[i] + v : v;
    }
    return;
  }
#pragma omp parallel for schedule(static) if (n > CZ_PAR_MIN && N > 1)
  for (int64_t s = 0; s < N; s++) {
    float m = sample_mult(k, &ms, s);
    const float *x = src + s * S;
    float *y = dst + s * S;
    if (add) {
#pragma omp simd
      for (int64_t j = 0; j < S; j++) y[j] += x[j] * m;
    } else {
#pragma omp simd
      for (int64_t j = 0; j < S; j++) y[j] = x[j] * m;
    }
  }
}

static void droppath_forward(cz_kctx *k) {
  apply(k, cz_f32(&k->in[0]), k->in[0].layout, cz_f32(&k->out[0]), k->out[0].layout, false);
}

static void droppath_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  apply(k, cz_f32(&k->gout[0]), k->out[0].layout, cz_f32(&k->gin[0]), k->in[0].layout,
        k->gin_acc[0]);
}

static const char *const droppath_attrs[] = {"drop_prob", "scale_by_keep", NULL};

const cz_op cz_op_DropPath = {
    .name = "DropPath", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = droppath_attrs, .infer = droppath_infer, .forward = droppath_forward,
    .backward = droppath_backward, .bwd_needs = 0 /* the mask is regenerated */,
};
