/* ONNX 2-D pooling attributes and window geometry, shared by MaxPool and
 * AveragePool (op_maxpool.c, op_averagepool.c). */
#ifndef CZ_OPS_OP_POOL_H
#define CZ_OPS_OP_POOL_H
#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

/* Axis a is 0 for H and 1 for W. Window o on axis a starts at input index
 * o*s[a] - pb[a] and its taps j = 0..k[a)-1 read index start + j*d[a]. */
typedef struct {
  int64_t k[2], s[2], d[2];
  int64_t pb[2], pe[2];  /* begin and end padding (auto_pad already applied) */
  int64_t in[2], out[2]; /* input and output extents */
  bool count_include_pad; /* AveragePool only */
} cz_pool;

/* The shape rule of both ops: parses and checks the attributes (n->priv
 * becomes a cz_pool) and sets the output shape. Every window is checked to
 * hold at least one input element, so kernels never see an empty one. */
cz_err *cz_op_pool_infer(cz_graph *g, cz_node *n, bool is_max);

/* Taps [*j0, *j1) of window o on axis a fall inside the input. */
static inline void cz_pool_taps(const cz_pool *p, int a, int64_t o, int64_t *j0, int64_t *j1) {
  int64_t st = o * p->s[a] - p->pb[a], d = p->d[a];
  *j0 = st >= 0 ? 0 : (-st + d - 1) / d;
  int64_t hi = p->in[a] - st > 0 ? (p->in[a] - st + d - 1) / d : 0;
  *j1 = hi < p->k[a] ? hi : p->k[a];
}

/* AveragePool's divisor share of axis a for window o with in-input taps
 * [j0, j1): with count_include_pad the padded positions count too, but only
 * those inside the padded extent [-pb, in+pe) (PyTorch's avg_pool2d rule
 * for ceil_mode windows that run past the end). Dilation is 1 here. */
static inline int64_t cz_pool_avg_count(const cz_pool *p, int a, int64_t o, int64_t j0,
                                        int64_t j1) {
  if (!p->count_include_pad) return j1 - j0;
  int64_t st = o * p->s[a] - p->pb[a], end = st + p->k[a];
  if (end > p->in[a] + p->pe[a]) end = p->in[a] + p->pe[a];
  return end - st;
}

/* Kernel-area ops per output times outputs: the MACC both pools report. */
int64_t cz_op_pool_macc(const cz_graph *g, const cz_node *n);
#endif
