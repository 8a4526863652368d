/* SoftTargetCrossEntropy (czoo extension: timm's loss for mixup/cutmix
 * targets): logits [N, C] and soft targets [N, C] to the scalar
 * mean_n sum_c -t * log_softmax(x). Gradients: logits
 * (p * sum_c t - t) / N; targets (lse - x) / N when they need one. MACC 0. */
#include <math.h>

#include "ops/op_loss.h"
#include "ops/op_util.h"

static cz_err *stce_infer(cz_graph *g, cz_node *n) {
  int64_t N, C;
  cz_err *e = cz_loss_logits(g, n, &N, &C);
  if (e) return e;
  if ((e = cz_op_want_float(g, n, 1))) return e;
  const cz_value *x = cz_in_value(g, n, 0), *t = cz_in_value(g, n, 1);
  if (!cz_shape_eq(&x->shape, &t->shape)) {
    char s1[CZ_SHAPE_STR_MAX], s2[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "targets '%s' %s do not match logits '%s' %s", t->name,
                       cz_shape_str(&t->shape, s1, sizeof s1), x->name,
                       cz_shape_str(&x->shape, s2, sizeof s2));
  }
  return NULL;
}

static void stce_forward(cz_kctx *k) {
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1];
  const float *x = cz_f32(&k->in[0]), *t = cz_f32(&k->in[1]);
  double *row = k->work; /* per-row losses, summed in row order */
  float *lse_saved = k->saved;
  bool fast = !k->reference;
#pragma omp parallel for schedule(static) if (fast && N * C > CZ_PAR_MIN)
  for (int64_t i = 0; i < N; i++) {
    const float *xr = x + i * C, *tr = t + i * C;
    double lse = cz_loss_lse(xr, C, fast), v = 0.0;
    if (lse_saved) lse_saved[i] = (float)lse;
    for (int64_t j = 0; j < C; j++) v += tr[j] * (lse - xr[j]);
    row[i] = v;
  }
  *cz_f32(&k->out[0]) = N > 0 ? (float)(cz_loss_sum(row, N) / (double)N) : 0.0f;
}

static void stce_backward(cz_kctx *k) {
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1];
  if (N == 0) return;
  const float *x = cz_f32(&k->in[0]), *t = cz_f32(&k->in[1]), *lse = k->saved;
  float *gx = k->gin[0].data, *gt = k->gin[1].data;
  float w = *cz_f32(&k->gout[0]) / (float)N;
#pragma omp parallel for schedule(static) if (!k->reference && N * C > CZ_PAR_MIN)
  for (int64_t i = 0; i < N; i++) {
    const float *xr = x + i * C, *tr = t + i * C;
    float ts = 0.0f;
    for (int64_t j = 0; j < C; j++) ts += tr[j];
    for (int64_t j = 0; j < C; j++) {
      if (gx) {
        float v = w * (expf(xr[j] - lse[i]) * ts - tr[j]);
        gx[i * C + j] = k->gin_acc[0] ? gx[i * C + j] + v : v;
      }
      if (gt) {
        float v = w * (lse[i] - xr[j]);
        gt[i * C + j] = k->gin_acc[1] ? gt[i * C + j] + v : v;
      }
    }
  }
}

static size_t stce_saved_bytes(const cz_graph *g, const cz_node *n) {
  return (size_t)cz_in_value(g, n, 0)->shape.d[0] * sizeof(float);
}

const cz_op cz_op_SoftTargetCrossEntropy = {
    .name = "SoftTargetCrossEntropy", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = stce_infer, .forward = stce_forward, .backward = stce_backward,
    .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1), .saved_bytes = stce_saved_bytes,
    .work_bytes = cz_loss_row_work,
};
