/* BCEWithLogits (czoo extension: timm's BinaryCrossEntropy): logits [N, C]
 * and either float targets [N, C] or int64/int32 labels [N], which become
 * one-hot rows with optional `smoothing` (off = smoothing / C, on =
 * 1 - smoothing + off, as timm). Optional `target_threshold`: targets above
 * it become 1, the rest 0. The loss is the mean over all N*C elements of
 * PyTorch's binary_cross_entropy_with_logits, in its overflow-free form
 * max(x, 0) - x*t + log1p(exp(-|x|)). A label outside [0, C) makes its row
 * add no loss and no gradient (still counted in the mean). MACC 0. */
#include <math.h>
#include <stdlib.h>

#include "ops/op_loss.h"
#include "ops/op_util.h"
#include "util/mem.h"

typedef struct {
  bool labels, has_thr;
  float smoothing, thr;
} bce_attr;

static cz_err *bce_infer(cz_graph *g, cz_node *n) {
  int64_t N, C;
  cz_err *e = cz_loss_logits(g, n, &N, &C);
  if (e) return e;
  const cz_value *x = cz_in_value(g, n, 0), *t = cz_in_value(g, n, 1);
  bce_attr a = {.labels = t->dtype != CZ_F32};
  if (a.labels) {
    if ((e = cz_loss_labels(g, n, 1, N))) return e;
  } else if (!cz_shape_eq(&x->shape, &t->shape)) {
    char s1[CZ_SHAPE_STR_MAX], s2[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "targets '%s' %s do not match logits '%s' %s", t->name,
                       cz_shape_str(&t->shape, s1, sizeof s1), x->name,
                       cz_shape_str(&x->shape, s2, sizeof s2));
  }
  if ((e = cz_attr_get_float(g, n, "smoothing", 0.0f, &a.smoothing))) return e;
  if (!(a.smoothing >= 0.0f && a.smoothing <= 1.0f))
    return cz_node_err(g, n, "smoothing is %g, expected a value in [0, 1]", (double)a.smoothing);
  a.has_thr = cz_node_attr(n, "target_threshold") != NULL;
  if ((e = cz_attr_get_float(g, n, "target_threshold", 0.0f, &a.thr))) return e;
  bce_attr *p = cz_xmalloc(sizeof *p);
  *p = a;
  n->priv = p;
  return NULL;
}

/* Target of element (i, j); false when the row has an invalid label. */
static inline bool target(const cz_kctx *k, const bce_attr *a, int64_t i, int64_t j, int64_t C,
                          float *t) {
  float v;
  if (a->labels) {
    int64_t l = cz_loss_label(&k->in[1], i);
    if (l < 0 || l >= C) return false;
    float off = a->smoothing / (float)C;
    v = j == l ? 1.0f - a->smoothing + off : off;
  } else {
    v = cz_f32(&k->in[1])[i * C + j];
  }
  if (a->has_thr) v = v > a->thr ? 1.0f : 0.0f;
  *t = v;
  return true;
}

static void bce_forward(cz_kctx *k) {
  const bce_attr *a = k->node->priv;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1];
  const float *x = cz_f32(&k->in[0]);
  double *row = k->work; /* per-row losses, summed in row order */
#pragma omp parallel for schedule(static) if (!k->reference && N * C > CZ_PAR_MIN)
  for (int64_t i = 0; i < N; i++) {
    double s = 0.0;
    float t;
    for (int64_t j = 0; j < C; j++) {
      if (!target(k, a, i, j, C, &t)) break;
      float v = x[i * C + j];
      s += fmaxf(v, 0.0f) - v * t + log1pf(expf(-fabsf(v)));
    }
    row[i] = s;
  }
  *cz_f32(&k->out[0]) = N > 0 ? (float)(cz_loss_sum(row, N) / ((double)N * (double)C)) : 0.0f;
}

static void bce_backward(cz_kctx *k) {
  const bce_attr *a = k->node->priv;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1];
  if (N == 0) return;
  const float *x = cz_f32(&k->in[0]);
  float *gx = k->gin[0].data;
  float *gt = a->labels ? NULL : k->gin[1].data;
  float w = *cz_f32(&k->gout[0]) / ((float)N * (float)C);
#pragma omp parallel for schedule(static) if (!k->reference && N * C > CZ_PAR_MIN)
  for (int64_t i = 0; i < N; i++) {
    for (int64_t j = 0; j < C; j++) {
      float t, v = x[i * C + j];
      bool live = target(k, a, i, j, C, &t);
      float sig = v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
      if (gx) {
        float d = live ? w * (sig - t) : 0.0f;
        gx[i * C + j] = k->gin_acc[0] ? gx[i * C + j] + d : d;
      }
      if (gt) { /* d/dt = -x; a thresholded target is a step: no gradient */
        float d = live && !a->has_thr ? -w * v : 0.0f;
        gt[i * C + j] = k->gin_acc[1] ? gt[i * C + j] + d : d;
      }
    }
  }
}

static const char *const bce_attrs[] = {"smoothing", "target_threshold", NULL};

const cz_op cz_op_BCEWithLogits = {
    .name = "BCEWithLogits", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attrs = bce_attrs, .infer = bce_infer, .forward = bce_forward, .backward = bce_backward,
    .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1), .work_bytes = cz_loss_row_work,
};
