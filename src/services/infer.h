/* Inference in batches: the float executor in eval mode planned once at a
 * fixed batch (a shorter last batch is zero-padded and only its rows are
 * returned), or for a QDQ model (any int8/uint8 constant) the int8 plan
 * of src/int8, which runs any batch up to the planned one. Kernels use the
 * process's compute threads (CZOO_NUM_THREADS). */
#ifndef CZ_SERVICES_INFER_H
#define CZ_SERVICES_INFER_H
#include <stdint.h>

#include "graph/graph.h"
#include "util/err.h"

typedef struct cz_infer cz_infer;

/* Sets g's batch to `batch` and plans it (g must outlive the runner). A
 * QDQ graph that has an op the int8 engine cannot lower is an error
 * naming the node. */
cz_err *cz_infer_new(cz_graph *g, int64_t batch, cz_infer **out);
/* x: n (<= batch) NHWC images; logits: n x classes floats. */
void cz_infer_run(cz_infer *r, const float *x, int64_t n, float *logits);
int64_t cz_infer_classes(const cz_infer *r);
void cz_infer_free(cz_infer *r);
#endif
