/* Pieces shared by the training losses (SoftmaxCrossEntropyLoss,
 * SoftTargetCrossEntropy, BCEWithLogits): logits checks, integer labels,
 * row log-sum-exp and the scalar output. Losses are training-only nodes
 * (never exported or deployed): MACC 0. */
#ifndef CZ_OPS_OP_LOSS_H
#define CZ_OPS_OP_LOSS_H
#include "ops/op.h"

/* Input 0 must be float32 [N, C]; the output is a float32 scalar (rank 0). */
cz_err *cz_loss_logits(cz_graph *g, cz_node *n, int64_t *N, int64_t *C);
/* Input i must be int64 or int32 labels [N]. */
cz_err *cz_loss_labels(const cz_graph *g, const cz_node *n, int i, int64_t N);
/* Label i of an int64 or int32 tensor. */
int64_t cz_loss_label(const cz_tensor *t, int64_t i);
/* log(sum exp(x[0..C))), shifted by the maximum: `fast` in float32 with
 * vectorized reductions, else (the reference kernels) in double. */
double cz_loss_lse(const float *x, int64_t C, bool fast);
/* sum of v[0..n) in index order: the same for every thread count. */
double cz_loss_sum(const double *v, int64_t n);
/* Per-row loss scratch (forward work): N doubles. */
size_t cz_loss_row_work(const cz_graph *g, const cz_node *n, bool backward);
#endif
