/* Inference in batches. Float models: the executor in eval mode, planned
 * once, a batch run as micro-batches of a few images spread over the
 * thread pool (infer.c says why); a shorter last batch is zero-padded and
 * only its rows are returned. QDQ models (any int8/uint8 constant): the
 * int8 plan of src/int8, planned once for the batch; an op it cannot lower
 * is an error naming the node. Kernels use the process's compute threads
 * (CZOO_NUM_THREADS). */
#ifndef CZ_SERVICES_INFER_H
#define CZ_SERVICES_INFER_H
#include <stdbool.h>
#include <stdint.h>

#include "graph/exec.h"
#include "graph/graph.h"
#include "tensor/tensor.h"
#include "util/err.h"

typedef struct cz_infer cz_infer;

typedef struct {
  int64_t micro; /* images per forward; 0: the default (4) */
  bool pack;     /* pack the weights once (cz_exec_opts.pack_weights) */
  bool profile;  /* time every node (cz_infer_exec, cz_exec_profile) */
} cz_infer_opts;

/* Plans g for batches of up to `batch` images (g must outlive the runner
 * and keep its weights; its batch dimension is left at the micro-batch).
 * A graph that does not keep images apart at a smaller batch runs whole
 * batches. cz_infer_new: the defaults, weights packed. */
cz_err *cz_infer_new(cz_graph *g, int64_t batch, cz_infer **out);
cz_err *cz_infer_new_opts(cz_graph *g, int64_t batch, const cz_infer_opts *o, cz_infer **out);
/* x: n (<= batch) images, NHWC (cz_infer_run) or in `layout` (CZ_ROWMAJOR:
 * NCHW); logits: n x classes floats. */
void cz_infer_run(cz_infer *r, const float *x, int64_t n, float *logits);
void cz_infer_run_layout(cz_infer *r, const float *x, cz_layout layout, int64_t n,
                         float *logits);
int64_t cz_infer_classes(const cz_infer *r);
/* Images per forward, and the executors (one per pool participant). */
int64_t cz_infer_micro(const cz_infer *r);
int cz_infer_executors(const cz_infer *r);
const cz_exec *cz_infer_exec(const cz_infer *r, int i);
void cz_infer_free(cz_infer *r);
#endif
