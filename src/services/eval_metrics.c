/* Classification metrics (see eval_metrics.h). */
#include "services/eval_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "util/mem.h"

void cz_metrics_init(cz_metrics *m, int k) {
  *m = (cz_metrics){.k = k};
  m->confusion = cz_xcalloc((size_t)k * (size_t)k, sizeof *m->confusion);
}

int cz_argmax(const float *x, int k) {
  int best = 0;
  for (int i = 1; i < k; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

void cz_softmax(const float *x, int k, double *probs) {
  double mx = x[cz_argmax(x, k)], sum = 0;
  for (int i = 0; i < k; i++) sum += probs[i] = exp((double)x[i] - mx);
  for (int i = 0; i < k; i++) probs[i] /= sum;
}

void cz_metrics_add(cz_metrics *m, const float *logits, const int64_t *labels, int64_t n) {
  int k = m->k;
  for (int64_t r = 0; r < n; r++) {
    const float *x = logits + r * k;
    int y = (int)labels[r];
    int pred = cz_argmax(x, k);
    /* Rank of the label: classes scoring strictly higher, plus equal ones
     * before it (torch.topk keeps the lower index first on ties). */
    int above = 0;
    for (int i = 0; i < k; i++)
      if (x[i] > x[y] || (x[i] == x[y] && i < y)) above++;
    m->top1 += pred == y;
    m->top5 += above < 5;
    double mx = x[pred], sum = 0;
    for (int i = 0; i < k; i++) sum += exp((double)x[i] - mx);
    m->loss_sum += log(sum) - ((double)x[y] - mx);
    m->confusion[(int64_t)y * k + pred]++;
    m->n++;
  }
}

double cz_metrics_top1(const cz_metrics *m) { return m->n ? 100.0 * m->top1 / m->n : 0; }
double cz_metrics_top5(const cz_metrics *m) { return m->n ? 100.0 * m->top5 / m->n : 0; }
double cz_metrics_loss(const cz_metrics *m) { return m->n ? m->loss_sum / m->n : 0; }

double cz_metrics_class_acc(const cz_metrics *m, int c) {
  int64_t row = 0;
  for (int j = 0; j < m->k; j++) row += m->confusion[(int64_t)c * m->k + j];
  return row ? 100.0 * m->confusion[(int64_t)c * m->k + c] / row : -1;
}

void cz_metrics_free(cz_metrics *m) {
  free(m->confusion);
  m->confusion = NULL;
}
