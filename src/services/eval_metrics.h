/* Classification metrics accumulated batch by batch: top-1, top-5 (timm's
 * `accuracy`: the label among the k largest logits), mean softmax
 * cross-entropy, the confusion matrix and per-class accuracy. */
#ifndef CZ_SERVICES_EVAL_METRICS_H
#define CZ_SERVICES_EVAL_METRICS_H
#include <stdint.h>

typedef struct {
  int k;             /* classes */
  int64_t n;         /* images counted */
  int64_t top1, top5;
  double loss_sum;   /* sum of -log softmax(label), in double */
  int64_t *confusion; /* k x k, row = true class, column = predicted */
} cz_metrics;

void cz_metrics_init(cz_metrics *m, int k);
/* n rows of k logits with their labels (0 <= label < k). Ties in the
 * argmax go to the lower class index (numpy's argmax). */
void cz_metrics_add(cz_metrics *m, const float *logits, const int64_t *labels, int64_t n);
/* Percentages (0 when nothing was counted) and the mean loss. */
double cz_metrics_top1(const cz_metrics *m);
double cz_metrics_top5(const cz_metrics *m);
double cz_metrics_loss(const cz_metrics *m);
/* Class c's accuracy in percent; negative when c has no image. */
double cz_metrics_class_acc(const cz_metrics *m, int c);
void cz_metrics_free(cz_metrics *m);

/* Index of the largest of x[0..k) (first on ties). */
int cz_argmax(const float *x, int k);
/* probs = softmax(x) over k values, computed in double. */
void cz_softmax(const float *x, int k, double *probs);
#endif
