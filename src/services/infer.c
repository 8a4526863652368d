/* Batched inference (see infer.h): the float executor, or for a QDQ
 * model the int8 plan (src/int8). */
#include "services/infer.h"

#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "int8/rt_lower.h"
#include "services/model_open.h"
#include "util/mem.h"

struct cz_infer {
  cz_graph *g;
  cz_exec *ex;
  rt_plan *q8; /* the int8 plan of a QDQ model (ex is NULL then) */
  int64_t batch, image_floats, classes;
};

cz_err *cz_infer_new(cz_graph *g, int64_t batch, cz_infer **out) {
  *out = NULL;
  cz_graph_set_training(g, false);
  cz_err *err = cz_graph_set_batch(g, batch);
  if (err) return err;
  cz_exec *ex = NULL;
  rt_plan *q8 = NULL;
  cz_exec_opts o = {0};
  if (cz_model_is_qdq(g)) err = rt_lower(g, (int)batch, g->name ? g->name : "model", &q8);
  else err = cz_exec_new(g, &o, &ex);
  if (err) return err;
  cz_infer *r = cz_xcalloc(1, sizeof *r);
  r->g = g;
  r->ex = ex;
  r->q8 = q8;
  r->batch = batch;
  const cz_value *in = &g->values[g->inputs[0]];
  r->image_floats = cz_shape_numel(&in->shape) / batch;
  r->classes = g->values[g->outputs[0]].shape.d[1];
  *out = r;
  return NULL;
}

void cz_infer_run(cz_infer *r, const float *x, int64_t n, float *logits) {
  if (r->q8) { /* batches of any n <= batch: the plan runs n rows only */
    rt_plan_run(r->q8, x, (int)n, logits);
    return;
  }
  cz_tensor in = cz_exec_input(r->ex, 0);
  /* The input buffer is NHWC, as the pipeline's batches: rows are images. */
  memcpy(in.data, x, (size_t)(n * r->image_floats) * sizeof(float));
  if (n < r->batch)
    memset(cz_f32(&in) + n * r->image_floats, 0,
           (size_t)((r->batch - n) * r->image_floats) * sizeof(float));
  cz_exec_forward(r->ex);
  cz_tensor y = cz_exec_value(r->ex, r->g->outputs[0]);
  memcpy(logits, y.data, (size_t)(n * r->classes) * sizeof(float));
}

int64_t cz_infer_classes(const cz_infer *r) { return r->classes; }

void cz_infer_free(cz_infer *r) {
  if (!r) return;
  cz_exec_free(r->ex);
  rt_plan_free(r->q8);
  free(r);
}
