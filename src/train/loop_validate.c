/* Validation after each epoch, as timm's validate(): the model in eval mode
 * over the whole validation split, cross-entropy loss (no smoothing),
 * top-1 and top-5 accuracy in percent (timm's accuracy: a sample counts
 * when its label is among the k largest logits; ties go against it). The
 * eval graph gets the train graph's current parameters and buffers first. */
#include <math.h>
#include <string.h>

#include "train/loop_priv.h"
#include "util/log.h"

static void copy_weights(cz_trainer *t) {
  for (int v = 0; v < t->ge->n_values; v++) {
    cz_value *d = &t->ge->values[v];
    if (d->kind != CZ_V_PARAM && d->kind != CZ_V_BUFFER) continue;
    const cz_value *s = &t->g->values[v]; /* same builder, same value order */
    memcpy(d->data, s->data, (size_t)cz_shape_numel(&d->shape) * cz_dtype_size(d->dtype));
  }
}

cz_err *cz_loop_validate(cz_trainer *t, double *loss, double *top1, double *top5) {
  copy_weights(t);
  cz_pipe_start_epoch(t->pval, 0);
  cz_tensor in = cz_exec_input(t->exe, 0);
  size_t per = (size_t)(cz_numel(&in) / in.shape.d[0]);
  int64_t rows = in.shape.d[0], C = t->num_classes;
  double loss_sum = 0;
  int64_t n = 0, c1 = 0, c5 = 0;
  for (;;) {
    cz_loader_batch b;
    cz_err *e = cz_pipe_next(t->pval, &b);
    if (e) return e;
    if (b.n == 0) break;
    float *x = in.data;
    memcpy(x, b.x, (size_t)b.n * per * sizeof *x);
    if (b.n < rows) memset(x + (size_t)b.n * per, 0, (size_t)(rows - b.n) * per * sizeof *x);
    cz_exec_forward(t->exe);
    const float *lg = cz_exec_value(t->exe, t->ge->outputs[0]).data;
    for (int64_t i = 0; i < b.n; i++) {
      const float *r = lg + i * C;
      double mx = r[0], s = 0;
      for (int64_t k = 1; k < C; k++) mx = fmax(mx, r[k]);
      for (int64_t k = 0; k < C; k++) s += exp((double)r[k] - mx);
      int64_t y = b.y[i], above = 0;
      for (int64_t k = 0; k < C; k++)
        above += r[k] > r[y] || (r[k] == r[y] && k < y); /* torch.topk keeps the lower index */
      loss_sum += mx + log(s) - r[y];
      c1 += above < 1, c5 += above < 5;
      n++;
    }
  }
  *loss = n ? loss_sum / (double)n : NAN;
  *top1 = n ? 100.0 * (double)c1 / (double)n : 0;
  *top5 = n ? 100.0 * (double)c5 / (double)n : 0;
  cz_info("Test: [%4lld/%lld]  Loss: %7.3f  Acc@1: %7.3f  Acc@5: %7.3f  (%lld images)",
          (long long)cz_pipe_num_batches(t->pval) - 1, (long long)cz_pipe_num_batches(t->pval) - 1,
          *loss, *top1, *top5, (long long)n);
  return NULL;
}

double cz_loop_pick_metric(const cz_trainer *t, double loss, double top1, double top5) {
  return t->metric == CZ_METRIC_LOSS ? loss : t->metric == CZ_METRIC_TOP5 ? top5 : top1;
}

bool cz_loop_better(const cz_trainer *t, double a, double b) {
  return t->metric == CZ_METRIC_LOSS ? a < b : a > b;
}
