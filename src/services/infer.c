/* Batched inference (see infer.h): for a QDQ model the int8 plan of
 * src/int8 (its steps split their rows between threads themselves);
 * otherwise the float executor, as follows.
 *
 * A batch runs as micro-batches of `micro` images on executors planned at
 * that size, one per participant of the thread pool: the activations of a
 * micro-batch stay in cache where a whole batch's would not, and threads
 * work on different images with no synchronisation inside a forward (the
 * pool hands out micro-batches as participants become free). A single
 * micro-batch runs on the calling thread, whose kernels then share their
 * work with the pool. Every image's logits are computed the same way
 * whichever executor runs it. */
#include "services/infer.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "int8/rt_lower.h"
#include "kernels/k_simd.h"
#include "services/model_open.h"
#include "util/mem.h"
#include "util/pool.h"
#include "util/threads.h"

/* Images per micro-batch by default: measured on mobilenet_v2 (0.35,
 * 128x128), where 2-4 images a forward cost the least CPU per image. */
#define MICRO_DEFAULT 4

struct cz_infer {
  cz_graph *g;
  cz_exec *ex[CZ_POOL_MAX];
  int nex;
  int64_t batch, micro, image_floats, classes;
  cz_shape in_shape; /* one micro-batch, logical NCHW */
  rt_plan *q8;       /* the int8 plan of a QDQ model (no executors then) */
};

/* Plans the graph at micro-batch m if every image stays on its own there
 * (input and output batch dimension m); false leaves g at m regardless. */
static bool micro_ok(cz_graph *g, int64_t m) {
  cz_err *e = cz_graph_set_batch(g, m);
  if (e) {
    cz_err_free(e);
    return false;
  }
  const cz_value *in = &g->values[g->inputs[0]], *out = &g->values[g->outputs[0]];
  return in->shape.rank >= 1 && in->shape.d[0] == m && out->shape.rank >= 1 &&
         out->shape.d[0] == m;
}

cz_err *cz_infer_new_opts(cz_graph *g, int64_t batch, const cz_infer_opts *o, cz_infer **out) {
  *out = NULL;
  cz_graph_set_training(g, false);
  if (cz_model_is_qdq(g)) { /* never in float: the int8 engine or an error naming the node */
    rt_plan *q8 = NULL;
    cz_err *e = rt_lower(g, (int)batch, g->name ? g->name : "model", &q8);
    if (e) return e;
    cz_infer *r = cz_xcalloc(1, sizeof *r);
    r->g = g;
    r->q8 = q8;
    r->batch = r->micro = batch;
    r->image_floats = (int64_t)q8->in_c * q8->in_h * q8->in_w;
    r->classes = q8->out_dims;
    r->in_shape = cz_shape4(batch, q8->in_c, q8->in_h, q8->in_w);
    *out = r;
    return NULL;
  }
  int64_t m = o->micro > 0 ? o->micro : MICRO_DEFAULT;
  if (m > batch) m = batch;
  if (m < batch && !micro_ok(g, m)) m = batch;
  cz_err *err = cz_graph_set_batch(g, m);
  if (err) return err;
  int64_t jobs = (batch + m - 1) / m;
  int nex = jobs > 1 ? cz_k_threads(jobs) : 1;
  if (nex > CZ_POOL_MAX) nex = CZ_POOL_MAX;
  cz_infer *r = cz_xcalloc(1, sizeof *r);
  r->g = g;
  r->batch = batch;
  r->micro = m;
  /* The services run a model whose weights stay as loaded. */
  cz_exec_opts eo = {.pack_weights = o->pack, .profile = o->profile};
  for (int i = 0; i < nex; i++) {
    if ((err = cz_exec_new(g, &eo, &r->ex[i]))) {
      cz_infer_free(r);
      return err;
    }
    r->nex++;
  }
  const cz_value *in = &g->values[g->inputs[0]];
  r->in_shape = in->shape;
  r->image_floats = cz_shape_numel(&in->shape) / m;
  r->classes = g->values[g->outputs[0]].shape.d[1];
  *out = r;
  return NULL;
}

cz_err *cz_infer_new(cz_graph *g, int64_t batch, cz_infer **out) {
  cz_infer_opts o = {.pack = true};
  return cz_infer_new_opts(g, batch, &o, out);
}

typedef struct {
  cz_infer *r;
  const float *x;
  cz_layout layout;
  int64_t n;
  float *logits;
} run_ctx;

/* NCHW images to the executor's NHWC input, rows of 8 (image, h) per
 * job: at batch 1 the conversion is a serial stretch between two
 * parallel layers otherwise. */
typedef struct {
  const float *x;
  float *y;
  int64_t C, H, W, rows_total;
} nhwc_ctx;

#define NHWC_ROWS 8

static void nhwc_job(void *cv, int64_t j, int slot) {
  (void)slot;
  const nhwc_ctx *c = cv;
  const int64_t C = c->C, H = c->H, W = c->W;
  for (int64_t r = j * NHWC_ROWS; r < (j + 1) * NHWC_ROWS && r < c->rows_total; r++) {
    int64_t n = r / H, h = r % H;
    const float *x = c->x + (n * C * H + h) * W;
    float *y = c->y + r * W * C;
    if (C == 3) {
      for (int64_t w = 0; w < W; w++) {
        y[3 * w] = x[w];
        y[3 * w + 1] = x[H * W + w];
        y[3 * w + 2] = x[2 * H * W + w];
      }
      continue;
    }
    for (int64_t w = 0; w < W; w++)
      for (int64_t ch = 0; ch < C; ch++) y[w * C + ch] = x[ch * H * W + w];
  }
}

/* Micro-batch j on the participant's executor; a short last one is
 * zero-padded and only its rows are returned. */
static void micro_job(void *cv, int64_t j, int slot) {
  const run_ctx *c = cv;
  cz_infer *r = c->r;
  cz_exec *ex = r->ex[slot];
  int64_t i0 = j * r->micro, k = c->n - i0 < r->micro ? c->n - i0 : r->micro;
  cz_tensor in = cz_exec_input(ex, 0);
  float *dst = cz_f32(&in);
  const float *src = c->x + i0 * r->image_floats;
  /* The ops' own OpenMP loops run serial: an OpenMP worker spinning after
   * one would take a core from the pool's. Several micro-batches at once:
   * each runs on one thread (the pool is busy with them); one: the
   * kernels share their work with the pool. */
  int omp_was = omp_get_max_threads();
  int use_was = cz_k_threads_use(r->nex > 1 ? 1 : omp_was);
  omp_set_num_threads(1);
  if (k == r->micro && c->layout == CZ_ROWMAJOR && in.layout == CZ_NHWC && dst &&
      in.shape.rank == 4) {
    nhwc_ctx nc = {src, dst, in.shape.d[1], in.shape.d[2], in.shape.d[3], k * in.shape.d[2]};
    int64_t jobs = (nc.rows_total + NHWC_ROWS - 1) / NHWC_ROWS;
    cz_pool_run(jobs, cz_k_threads(jobs), nhwc_job, &nc);
  } else if (k == r->micro) {
    cz_exec_set_input(ex, 0, src, c->layout);
  } else {
    /* NCHW or NHWC, an image is one contiguous run either way. */
    cz_shape s = r->in_shape;
    s.d[0] = k;
    cz_relayout(src, c->layout, dst, in.layout, &s, sizeof(float));
    memset(dst + k * r->image_floats, 0, (size_t)((r->micro - k) * r->image_floats) * sizeof(float));
  }
  cz_exec_forward(ex);
  omp_set_num_threads(omp_was);
  cz_k_threads_use(use_was);
  cz_tensor y = cz_exec_value(ex, r->g->outputs[0]);
  memcpy(c->logits + i0 * r->classes, y.data, (size_t)(k * r->classes) * sizeof(float));
}

void cz_infer_run_layout(cz_infer *r, const float *x, cz_layout layout, int64_t n,
                         float *logits) {
  if (r->q8) { /* the plan reads NHWC images; it runs n <= batch rows */
    if (layout == CZ_NHWC) {
      rt_plan_run(r->q8, x, (int)n, logits);
      return;
    }
    cz_shape s = r->in_shape;
    s.d[0] = n;
    float *t = cz_xmalloc((size_t)(n * r->image_floats) * sizeof *t);
    cz_relayout(x, layout, t, CZ_NHWC, &s, sizeof(float));
    rt_plan_run(r->q8, t, (int)n, logits);
    free(t);
    return;
  }
  run_ctx c = {r, x, layout, n, logits};
  int64_t jobs = (n + r->micro - 1) / r->micro;
  bool was = cz_pool_enable(true);
  cz_pool_run(jobs, r->nex, micro_job, &c);
  cz_pool_enable(was);
}

void cz_infer_run(cz_infer *r, const float *x, int64_t n, float *logits) {
  cz_infer_run_layout(r, x, CZ_NHWC, n, logits);
}

int64_t cz_infer_classes(const cz_infer *r) { return r->classes; }
int64_t cz_infer_micro(const cz_infer *r) { return r->micro; }
int cz_infer_executors(const cz_infer *r) { return r->nex; }
const cz_exec *cz_infer_exec(const cz_infer *r, int i) { return r->ex[i]; }

void cz_infer_free(cz_infer *r) {
  if (!r) return;
  for (int i = 0; i < r->nex; i++) cz_exec_free(r->ex[i]);
  rt_plan_free(r->q8);
  free(r);
}
