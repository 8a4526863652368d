/* JsdCrossEntropy (czoo extension: timm 1.0.31's loss/jsd.py, the AugMix
 * loss, for data_augmentation.jsd_loss): logits [S*n, C] of a split-major
 * batch (rows k*n .. k*n+n-1 are split k; split 0 the clean images) and
 * either int64/int32 labels [S*n] or float soft targets [S*n, C] (only the
 * first n rows are read). The scalar loss is
 *   CE(split 0) + alpha / S * sum_k KL(p_k || M) / n
 * with p_k = softmax of split k, M = clamp(mean_k p_k, 1e-7, 1) and KL as
 * torch's kl_div(log M, p_k, reduction 'batchmean'). CE is timm's
 * LabelSmoothingCrossEntropy with `smoothing` > 0 (labels only: timm's
 * would fail on soft targets), else torch's CrossEntropyLoss (labels or
 * probability targets). Attributes: num_splits (S, default 3), alpha
 * (default 12), smoothing (default 0). A label outside [0, C) adds no
 * cross-entropy and no gradient (still counted), as SoftmaxCrossEntropyLoss.
 * Everything is computed in double in a fixed order (one thread: the loss
 * is S*n*C elements), so reference and fast kernels agree exactly; backward
 * recomputes the softmaxes rather than keeping them. Gradient to the logits
 * only; MACC 0. */
#include <math.h>
#include <stdlib.h>

#include "ops/op_loss.h"
#include "ops/op_util.h"
#include "util/mem.h"

typedef struct {
  int64_t splits;
  float alpha, smoothing;
  bool labels;
} jsd_attr;

static cz_err *jsd_infer(cz_graph *g, cz_node *n) {
  int64_t N, C;
  cz_err *e = cz_loss_logits(g, n, &N, &C);
  if (e) return e;
  const cz_value *x = cz_in_value(g, n, 0), *t = cz_in_value(g, n, 1);
  jsd_attr a = {.labels = t->dtype != CZ_F32};
  if ((e = cz_attr_get_int(g, n, "num_splits", 3, &a.splits))) return e;
  if ((e = cz_attr_get_float(g, n, "alpha", 12.0f, &a.alpha))) return e;
  if ((e = cz_attr_get_float(g, n, "smoothing", 0.0f, &a.smoothing))) return e;
  if (a.splits < 2 || N % a.splits != 0)
    return cz_node_err(g, n, "num_splits is %lld, expected at least 2 and dividing the %lld rows",
                       (long long)a.splits, (long long)N);
  if (!(a.smoothing >= 0.0f && a.smoothing < 1.0f))
    return cz_node_err(g, n, "smoothing is %g, expected a value in [0, 1)", (double)a.smoothing);
  if (!(a.alpha >= 0.0f && isfinite(a.alpha)))
    return cz_node_err(g, n, "alpha is %g, expected a finite value >= 0", (double)a.alpha);
  if (a.labels) {
    if ((e = cz_loss_labels(g, n, 1, N))) return e;
  } else {
    if (!cz_shape_eq(&x->shape, &t->shape)) {
      char s1[CZ_SHAPE_STR_MAX], s2[CZ_SHAPE_STR_MAX];
      return cz_node_err(g, n, "targets '%s' %s do not match logits '%s' %s", t->name,
                         cz_shape_str(&t->shape, s1, sizeof s1), x->name,
                         cz_shape_str(&x->shape, s2, sizeof s2));
    }
    if (a.smoothing > 0.0f)
      return cz_node_err(g, n, "smoothing %g with soft targets: timm applies label smoothing "
                         "to integer labels only (expected 0)", (double)a.smoothing);
  }
  jsd_attr *p = cz_xmalloc(sizeof *p);
  *p = a;
  n->priv = p;
  return NULL;
}

/* Log-softmax of every row into lp [N*C] and the clamped mean of the
 * splits' probabilities into logm [n*C] (as log) and mask [n*C] (1 where
 * the clamp let the gradient through). */
static void softmaxes(const cz_kctx *k, double *lp, double *logm, double *mask) {
  const jsd_attr *a = k->node->priv;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1], n = N / a->splits;
  const float *x = cz_f32(&k->in[0]);
  for (int64_t r = 0; r < N; r++) {
    double lse = cz_loss_lse(x + r * C, C, false);
    for (int64_t c = 0; c < C; c++) lp[r * C + c] = (double)x[r * C + c] - lse;
  }
  for (int64_t i = 0; i < n * C; i++) {
    double s = 0.0;
    for (int64_t s_ = 0; s_ < a->splits; s_++) s += exp(lp[s_ * n * C + i]);
    double m = s / (double)a->splits;
    mask[i] = m >= 1e-7 && m <= 1.0;
    logm[i] = log(m < 1e-7 ? 1e-7 : m > 1.0 ? 1.0 : m);
  }
}

/* Target weight of class c in clean row i, and the row's total. */
static double target(const cz_kctx *k, const jsd_attr *a, int64_t i, int64_t c, int64_t C,
                     bool *live) {
  if (!a->labels) {
    *live = true;
    return cz_f32(&k->in[1])[i * C + c];
  }
  int64_t l = cz_loss_label(&k->in[1], i);
  *live = l >= 0 && l < C;
  double off = (double)a->smoothing / (double)C;
  return c == l ? 1.0 - (double)a->smoothing + off : off;
}

static void jsd_forward(cz_kctx *k) {
  const jsd_attr *a = k->node->priv;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1], n = N / a->splits;
  double *lp = k->work, *logm = lp + N * C, *mask = logm + n * C;
  softmaxes(k, lp, logm, mask);
  double ce = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double v = 0.0;
    bool live = true;
    for (int64_t c = 0; c < C && live; c++) v -= target(k, a, i, c, C, &live) * lp[i * C + c];
    if (live) ce += v;
  }
  double kl = 0.0;
  for (int64_t r = 0; r < N; r++) {
    const double *lr = lp + r * C, *lm = logm + (r % n) * C;
    for (int64_t c = 0; c < C; c++) {
      double p = exp(lr[c]);
      if (p > 0.0) kl += p * (lr[c] - lm[c]);
    }
  }
  double loss = ce / (double)n + (double)a->alpha * (kl / (double)n) / (double)a->splits;
  *cz_f32(&k->out[0]) = (float)loss;
}

static void jsd_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  const jsd_attr *a = k->node->priv;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1], n = N / a->splits;
  double *lp = k->work, *logm = lp + N * C, *mask = logm + n * C, *d = mask + n * C;
  softmaxes(k, lp, logm, mask);
  /* sum_k p_k per clean-row element, for d log M / d p */
  double *psum = d + C;
  for (int64_t i = 0; i < n * C; i++) {
    double s = 0.0;
    for (int64_t s_ = 0; s_ < a->splits; s_++) s += exp(lp[s_ * n * C + i]);
    psum[i] = s;
  }
  double gy = *cz_f32(&k->gout[0]);
  double wkl = (double)a->alpha / ((double)a->splits * (double)n), wce = 1.0 / (double)n;
  float *gx = cz_f32(&k->gin[0]);
  for (int64_t r = 0; r < N; r++) {
    int64_t i = r % n;
    const double *lr = lp + r * C, *lm = logm + i * C;
    /* d J / d p of this row, then through the softmax */
    double dot = 0.0;
    for (int64_t c = 0; c < C; c++) {
      double cm = exp(lm[c]);
      double g = mask[i * C + c] * psum[i * C + c] / ((double)a->splits * cm);
      double p = exp(lr[c]);
      d[c] = p > 0.0 ? wkl * (lr[c] + 1.0 - lm[c] - g) : -wkl * g;
      dot += p * d[c];
    }
    double ts = 0.0;
    bool live = r < n;
    if (live)
      for (int64_t c = 0; c < C && live; c++) ts += target(k, a, i, c, C, &live);
    for (int64_t c = 0; c < C; c++) {
      double p = exp(lr[c]);
      double v = p * (d[c] - dot);
      if (live) v += wce * (p * ts - target(k, a, i, c, C, &live));
      float f = (float)(gy * v);
      gx[r * C + c] = k->gin_acc[0] ? gx[r * C + c] + f : f;
    }
  }
}

static size_t jsd_work(const cz_graph *g, const cz_node *n, bool backward) {
  const cz_value *x = cz_in_value(g, n, 0);
  const jsd_attr *a = n->priv;
  int64_t N = x->shape.d[0], C = x->shape.d[1], m = a ? N / a->splits : N;
  /* log-softmax [N*C], log M and mask [n*C]; backward adds a row of dJ/dp and sum_k p */
  size_t doubles = (size_t)(N * C + 2 * m * C) + (backward ? (size_t)(C + m * C) : 0);
  return doubles * sizeof(double);
}

static const char *const jsd_attrs[] = {"num_splits", "alpha", "smoothing", NULL};

const cz_op cz_op_JsdCrossEntropy = {
    .name = "JsdCrossEntropy", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attrs = jsd_attrs, .infer = jsd_infer, .forward = jsd_forward, .backward = jsd_backward,
    .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1), .no_grad_in = 1u << 1, .work_bytes = jsd_work,
};
