/* Validation after each epoch, as timm's validate(): the model in eval mode
 * over the whole validation split, cross-entropy loss (no smoothing),
 * top-1 and top-5 accuracy in percent (timm's accuracy: a sample counts
 * when its label is among the k largest logits; ties go against it). The
 * eval graph gets the train graph's current parameters and buffers first
 * (or the EMA's, training.model_ema: timm validates both, the EMA's line
 * marked " (EMA)"). general.tta > 1 averages each batch's logits with
 * those of its mirror image (data/tta_flip.h, as the evaluation service). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/tta_flip.h"
#include "train/loop_priv.h"
#include "util/log.h"
#include "util/mem.h"

void cz_loop_weights_to_eval(cz_trainer *t, bool ema) {
  for (int v = 0; v < t->ge->n_values; v++) {
    cz_value *d = &t->ge->values[v];
    if (d->kind != CZ_V_PARAM && d->kind != CZ_V_BUFFER) continue;
    /* same builder, same value order */
    const void *s = ema ? (const void *)t->ema[v] : t->g->values[v].data;
    memcpy(d->data, s, (size_t)cz_shape_numel(&d->shape) * cz_dtype_size(d->dtype));
  }
}

/* One batch into the eval executor's input (NHWC), zero-padded. */
static void put_batch(float *x, const float *src, int64_t n, int64_t rows, size_t per) {
  memcpy(x, src, (size_t)n * per * sizeof *x);
  if (n < rows) memset(x + (size_t)n * per, 0, (size_t)(rows - n) * per * sizeof *x);
}

cz_err *cz_loop_validate(cz_trainer *t, bool ema, double *loss, double *top1, double *top5) {
  cz_loop_weights_to_eval(t, ema);
  cz_pipe_start_epoch(t->pval, 0);
  cz_tensor in = cz_exec_input(t->exe, 0);
  size_t per = (size_t)(cz_numel(&in) / in.shape.d[0]);
  int64_t rows = in.shape.d[0], C = t->num_classes;
  const cz_loader_opts *lo = &cz_pipe_options(t->pval)->loader;
  bool tta = cz_tta_on(t->cfg);
  float *flipped = tta ? cz_xmalloc((size_t)rows * per * sizeof(float)) : NULL;
  float *plain = tta ? cz_xmalloc((size_t)(rows * C) * sizeof(float)) : NULL;
  double loss_sum = 0;
  int64_t n = 0, c1 = 0, c5 = 0;
  cz_err *e = NULL;
  for (;;) {
    cz_loader_batch b;
    if ((e = cz_pipe_next(t->pval, &b))) break;
    if (b.n == 0) break;
    put_batch(in.data, b.x, b.n, rows, per);
    cz_exec_forward(t->exe);
    float *lg = cz_exec_value(t->exe, t->ge->outputs[0]).data;
    if (tta) {
      memcpy(plain, lg, (size_t)(b.n * C) * sizeof *plain);
      cz_tta_hflip_nhwc(b.x, flipped, b.n, (int)lo->h, (int)lo->w, (int)lo->c);
      put_batch(in.data, flipped, b.n, rows, per);
      cz_exec_forward(t->exe);
      lg = cz_exec_value(t->exe, t->ge->outputs[0]).data;
      cz_tta_average(lg, plain, b.n * C);
    }
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
  free(flipped);
  free(plain);
  if (e) return e;
  *loss = n ? loss_sum / (double)n : NAN;
  *top1 = n ? 100.0 * (double)c1 / (double)n : 0;
  *top5 = n ? 100.0 * (double)c5 / (double)n : 0;
  cz_info("Test%s: [%4lld/%lld]  Loss: %7.3f  Acc@1: %7.3f  Acc@5: %7.3f  (%lld images)",
          ema ? " (EMA)" : "", (long long)cz_pipe_num_batches(t->pval) - 1,
          (long long)cz_pipe_num_batches(t->pval) - 1,
          *loss, *top1, *top5, (long long)n);
  return NULL;
}

double cz_loop_pick_metric(const cz_trainer *t, double loss, double top1, double top5) {
  return t->metric == CZ_METRIC_LOSS ? loss : t->metric == CZ_METRIC_TOP5 ? top5 : top1;
}

bool cz_loop_better(const cz_trainer *t, double a, double b) {
  return t->metric == CZ_METRIC_LOSS ? a < b : a > b;
}
