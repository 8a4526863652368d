/* The op interface: everything about one ONNX operator (shape rule, fp32
 * forward and backward, MACC, accepted attributes) lives in one
 * src/ops/op_<name>.c that defines one cz_op, listed in op_table.c. */
#ifndef CZ_OPS_OP_H
#define CZ_OPS_OP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "tensor/tensor.h"
#include "util/err.h"

/* What a kernel call sees. Forward reads in[], writes out[]. Backward reads
 * in[] and out[] (only those the op declared it needs are valid), gout[]
 * (never NULL for a float output: zeros when nothing downstream had a
 * gradient), and writes gin[i] where gin[i].data != NULL: overwriting it
 * when gin_acc[i] is false, adding into it when true. Two input slots may
 * share one gradient buffer (x*x); then both have gin_acc true. */
typedef struct {
  const cz_graph *g;
  const cz_node *node;
  cz_tensor in[CZ_MAX_IO];
  cz_tensor out[CZ_MAX_IO];
  cz_tensor gin[CZ_MAX_IO];
  bool gin_acc[CZ_MAX_IO];
  cz_tensor gout[CZ_MAX_IO];
  void *saved;      /* op->saved_bytes of state kept from forward to backward */
  void *work;       /* op->work_bytes of scratch for this call only */
  const void *packed; /* forward: op->pack's copy of the weights, or NULL */
  bool training;
  bool reference;   /* run the plain reference kernels, not the fast ones */
  uint64_t seed;    /* randomness (dropout): stream from (seed, step, node) */
  uint64_t step;
  int node_index;
} cz_kctx;

/* Bits for cz_op.bwd_needs: which forward tensors backward reads. */
#define CZ_NEED_IN(i) (1u << (i))
#define CZ_NEED_OUT(i) (1u << (16 + (i)))

struct cz_op {
  const char *name; /* ONNX op type (or a czoo extension, documented in its file) */
  int min_in, max_in, min_out, max_out;
  const char *const *attrs; /* NULL-terminated accepted attribute names */
  /* Checks attributes and input shapes, sets output shapes and dtypes, and
   * may set n->priv (a malloc'd parsed form, freed with free()). */
  cz_err *(*infer)(cz_graph *g, cz_node *n);
  void (*forward)(cz_kctx *k);
  void (*backward)(cz_kctx *k); /* NULL: not differentiable (gradients stop) */
  int64_t (*macc)(const cz_graph *g, const cz_node *n); /* NULL: 0 */
  unsigned bwd_needs;                                        /* CZ_NEED_* bits */
  /* Input slots (bit i = input i) that never receive a gradient even when
   * they are parameters (BatchNorm running statistics): the executor hands
   * out no gradient buffer for them. Every other float input slot with a
   * gradient buffer must be written (or added to) by backward. */
  unsigned no_grad_in;
  /* Bytes kept from forward to backward in training (NULL: none). */
  size_t (*saved_bytes)(const cz_graph *g, const cz_node *n);
  /* Scratch bytes for one forward (backward = false) or backward call. */
  size_t (*work_bytes)(const cz_graph *g, const cz_node *n, bool backward);
  /* Inference with constant weights (cz_exec_opts.pack_weights): bytes of
   * the node's weights rearranged for its fast kernel (0: nothing to
   * pack), and the packing, made once when the executor is planned and
   * handed to every forward as kctx.packed. Forward must give the same
   * results with and without it (NULL). NULL hooks: nothing to pack. */
  size_t (*packed_bytes)(const cz_graph *g, const cz_node *n);
  void (*pack)(const cz_graph *g, const cz_node *n, void *packed);
};

/* The op table. */
const cz_op *cz_op_find(const char *name);
/* All ops, NULL-terminated (for `czoo ops`, tests and docs). */
const cz_op *const *cz_op_all(void);

/* Helpers for shape rules. */
static inline const cz_value *cz_in_value(const cz_graph *g, const cz_node *n, int i) {
  return n->in[i] >= 0 ? &g->values[n->in[i]] : NULL;
}
static inline cz_value *cz_out_value(cz_graph *g, const cz_node *n, int i) {
  return &g->values[n->out[i]];
}
/* Number of present inputs (trailing optional inputs may be absent). */
static inline bool cz_has_in(const cz_node *n, int i) { return i < n->n_in && n->in[i] >= 0; }

#endif
