/* SoftmaxCrossEntropyLoss (ONNX name; a training-only node): scores [N, C]
 * and int64/int32 labels [N] to a scalar loss, reduction "mean" (over the
 * samples not ignored) or "sum", optional ignore_index, and the czoo
 * extension attribute label_smoothing with PyTorch's
 * nn.CrossEntropyLoss(label_smoothing=eps) meaning: the target is
 * (1-eps)*onehot + eps/C. Labels must lie in [0, C) (the data loader
 * checks); a label outside, other than ignore_index, still counts in the
 * mean but adds no loss and no gradient, and is never used as an index.
 * When every label is ignored the loss is 0, not PyTorch's NaN, so one odd
 * batch cannot poison training. Gradient to scores only; MACC 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_loss.h"
#include "ops/op_util.h"
#include "util/mem.h"

typedef struct {
  bool sum, has_ignore;
  int64_t ignore;
  float eps;
} sce_attr;

static cz_err *sce_infer(cz_graph *g, cz_node *n) {
  int64_t N, C;
  cz_err *e = cz_loss_logits(g, n, &N, &C);
  if (e) return e;
  if ((e = cz_loss_labels(g, n, 1, N))) return e;
  if (cz_has_in(n, 2)) return cz_node_err(g, n, "class weights (input 2) are not supported");
  if (n->n_out > 1) return cz_node_err(g, n, "the log_prob output is not supported");
  sce_attr a = {0};
  const char *red;
  if ((e = cz_attr_get_string(g, n, "reduction", "mean", &red))) return e;
  if (strcmp(red, "mean") != 0 && strcmp(red, "sum") != 0)
    return cz_node_err(g, n, "reduction '%s' is not supported (mean or sum)", red);
  a.sum = strcmp(red, "sum") == 0;
  a.has_ignore = cz_node_attr(n, "ignore_index") != NULL;
  if ((e = cz_attr_get_int(g, n, "ignore_index", 0, &a.ignore))) return e;
  if ((e = cz_attr_get_float(g, n, "label_smoothing", 0.0f, &a.eps))) return e;
  if (!(a.eps >= 0.0f && a.eps <= 1.0f))
    return cz_node_err(g, n, "label_smoothing is %g, expected a value in [0, 1]", (double)a.eps);
  sce_attr *p = cz_xmalloc(sizeof *p);
  *p = a;
  n->priv = p;
  return NULL;
}

/* 0: ignored (not counted), 1: counted with a valid label, 2: counted,
 * label out of range. */
static int row_kind(const sce_attr *a, int64_t l, int64_t C) {
  if (a->has_ignore && l == a->ignore) return 0;
  return (l >= 0 && l < C) ? 1 : 2;
}

static float denom(const cz_kctx *k) {
  const sce_attr *a = k->node->priv;
  if (a->sum) return 1.0f;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1], count = 0;
  for (int64_t i = 0; i < N; i++) count += row_kind(a, cz_loss_label(&k->in[1], i), C) != 0;
  return (float)count;
}

static void sce_forward(cz_kctx *k) {
  const sce_attr *a = k->node->priv;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1];
  const float *x = cz_f32(&k->in[0]);
  double *row = k->work; /* per-row losses, summed in row order */
  float *lse_saved = k->saved;
  bool fast = !k->reference;
#pragma omp parallel for schedule(static) if (fast && N * C > CZ_PAR_MIN)
  for (int64_t i = 0; i < N; i++) {
    const float *xr = x + i * C;
    int64_t l = cz_loss_label(&k->in[1], i);
    double lse = cz_loss_lse(xr, C, fast);
    if (lse_saved) lse_saved[i] = (float)lse;
    row[i] = 0.0;
    if (row_kind(a, l, C) != 1) continue;
    double v = (1.0 - a->eps) * (lse - xr[l]);
    if (a->eps > 0.0f) { /* eps * mean_c(-log p_c) = eps * (lse - mean_c x_c) */
      double s = 0.0;
      for (int64_t j = 0; j < C; j++) s += xr[j];
      v += a->eps * (lse - s / (double)C);
    }
    row[i] = v;
  }
  float d = denom(k);
  *cz_f32(&k->out[0]) = d > 0.0f ? (float)(cz_loss_sum(row, N) / d) : 0.0f;
}

static void sce_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  const sce_attr *a = k->node->priv;
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1];
  const float *x = cz_f32(&k->in[0]), *lse = k->saved;
  float *gx = cz_f32(&k->gin[0]);
  bool acc = k->gin_acc[0];
  float d = denom(k);
  float w = d > 0.0f ? *cz_f32(&k->gout[0]) / d : 0.0f;
  float off = a->eps / (float)C, on = 1.0f - a->eps + off;
#pragma omp parallel for schedule(static) if (!k->reference && N * C > CZ_PAR_MIN)
  for (int64_t i = 0; i < N; i++) {
    const float *xr = x + i * C;
    float *gr = gx + i * C;
    int64_t l = cz_loss_label(&k->in[1], i);
    bool live = row_kind(a, l, C) == 1;
    float L = lse[i];
    for (int64_t j = 0; j < C; j++) {
      float v = live ? w * (expf(xr[j] - L) - (j == l ? on : off)) : 0.0f;
      gr[j] = acc ? gr[j] + v : v;
    }
  }
}

static size_t sce_saved_bytes(const cz_graph *g, const cz_node *n) {
  return (size_t)cz_in_value(g, n, 0)->shape.d[0] * sizeof(float);
}

static const char *const sce_attrs[] = {"reduction", "ignore_index", "label_smoothing", NULL};

const cz_op cz_op_SoftmaxCrossEntropyLoss = {
    .name = "SoftmaxCrossEntropyLoss", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 2,
    .attrs = sce_attrs, .infer = sce_infer, .forward = sce_forward, .backward = sce_backward,
    .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1), .saved_bytes = sce_saved_bytes,
    .work_bytes = cz_loss_row_work,
};
