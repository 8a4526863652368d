/* The fp32 executor and autograd: runs a graph forward, and in training
 * backward over the reverse order, with every activation, gradient, saved
 * state and scratch buffer placed once in one arena by a lifetime plan, so
 * a steady-state training step allocates nothing. */
#ifndef CZ_GRAPH_EXEC_H
#define CZ_GRAPH_EXEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "tensor/tensor.h"
#include "util/err.h"

typedef struct {
  bool training;  /* train-mode ops (BatchNorm batch statistics, dropout) */
  bool backward;  /* plan and allow cz_exec_backward */
  bool reference; /* plain reference kernels instead of the fast ones */
  bool profile;   /* time every node (cz_exec_profile) */
  uint64_t seed;  /* dropout / drop-path randomness */
  /* Called after each node's forward with each output it computed, while
   * the buffer still holds it (the arena reuses it later): how
   * calibration reads every activation. NULL: none. */
  void (*observe)(void *ctx, int value, const cz_tensor *t);
  void *observe_ctx;
  /* Inference: pack constant weights once for the fast kernels when the
   * executor is planned (ignored with training, backward or reference).
   * The weights must then stay as they are, or cz_exec_repack follows
   * every change. */
  bool pack_weights;
} cz_exec_opts;

typedef struct cz_exec cz_exec;

/* Plans the graph at its current shapes (it re-runs shape inference). The
 * graph must outlive the executor and keep its shapes. The outputs marked
 * on the graph are computed and kept; with backward, output 0 is the one
 * differentiated. */
cz_err *cz_exec_new(cz_graph *g, const cz_exec_opts *o, cz_exec **out);
void cz_exec_free(cz_exec *ex);
/* With pack_weights: packs the weights again after they changed. */
void cz_exec_repack(cz_exec *ex);

/* Graph input i's buffer (NHWC for rank-4 float inputs): write it before
 * cz_exec_forward. */
cz_tensor cz_exec_input(cz_exec *ex, int i);
/* Copies `data` in layout `l` into graph input i. */
void cz_exec_set_input(cz_exec *ex, int i, const void *data, cz_layout l);

/* The step number keys per-step randomness (dropout masks): the training
 * loop sets the global step, so a resumed run draws the same masks. */
void cz_exec_set_step(cz_exec *ex, uint64_t step);
void cz_exec_forward(cz_exec *ex);
/* Reverse pass, at most once per forward (it reuses the memory of the
 * activations it has finished reading). seeds[i] is the gradient of graph output i (its shape and
 * layout; a NULL entry: zeros). seeds == NULL: ones for output 0 (the
 * usual scalar loss), zeros for the others. Fills the gradient of every
 * parameter and of every input marked requires_grad. */
void cz_exec_backward(cz_exec *ex, const float *const *seeds);

/* A value's tensor: outputs after forward; parameters, buffers and
 * constants always. Other activations are not kept (data NULL). */
cz_tensor cz_exec_value(const cz_exec *ex, int value);
/* Gradient of a parameter or requires_grad input (data NULL otherwise). */
cz_tensor cz_exec_grad(const cz_exec *ex, int value);

/* Bytes of the step arena (activations, gradients, saved state, scratch),
 * and of the persistent parameter/input gradients. */
size_t cz_exec_arena_bytes(const cz_exec *ex);
size_t cz_exec_grad_bytes(const cz_exec *ex);

/* With opts.profile: seconds spent in node i's forward and backward since
 * the executor was made. */
void cz_exec_profile(const cz_exec *ex, int node, double *fwd_s, double *bwd_s);
#endif
