/* GlobalAveragePool (ONNX): the mean over all spatial positions, [N,C,...]
 * -> [N,C,1,...] (rank 3 to 6; rank 4 is NHWC). Sums run in double in
 * spatial order in both kernels, so fast and reference agree exactly. */
#include <string.h>

#include "ops/op.h"
#include "ops/op_util.h"

/* Channels one task sums at once: the running sums live on the stack. */
#define GAP_CB 64

/* Element (n, c, s) of an [N,C,S...] tensor sits at n*nst + c*cst + s*sst. */
typedef struct {
  int64_t N, C, S, nst, cst, sst;
} gap_view;

static gap_view gap_view_of(const cz_tensor *t) {
  gap_view v = {.N = t->shape.d[0], .C = t->shape.d[1], .S = 1};
  for (int i = 2; i < t->shape.rank; i++) v.S *= t->shape.d[i];
  bool nhwc = t->layout == CZ_NHWC;
  v.nst = v.C * v.S;
  v.cst = nhwc ? 1 : v.S;
  v.sst = nhwc ? v.C : 1;
  return v;
}

static cz_err *gap_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_want_float(g, n, 0);
  if (e) return e;
  const cz_value *x = cz_in_value(g, n, 0);
  if (x->shape.rank < 3) {
    char s[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n,
                       "input 0 '%s' has shape %s, expected rank 3 or more ([N,C,spatial...])",
                       x->name, cz_shape_str(&x->shape, s, sizeof s));
  }
  for (int i = 2; i < x->shape.rank; i++)
    if (x->shape.d[i] < 1) {
      char s[CZ_SHAPE_STR_MAX];
      return cz_node_err(g, n, "input 0 '%s' has shape %s: no spatial positions to average",
                         x->name, cz_shape_str(&x->shape, s, sizeof s));
    }
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = x->shape;
  for (int i = 2; i < x->shape.rank; i++) y->shape.d[i] = 1;
  return NULL;
}

/* y[n, c] lives at n*C + c in every layout (all spatial extents are 1). */
static void gap_forward(cz_kctx *k) {
  gap_view v = gap_view_of(&k->in[0]);
  const float *x = cz_f32(&k->in[0]);
  float *y = cz_f32(&k->out[0]);
  if (k->reference || v.cst != 1) {
#pragma omp parallel for schedule(static) if (!k->reference && v.N * v.C * v.S > CZ_PAR_MIN)
    for (int64_t nc = 0; nc < v.N * v.C; nc++) {
      const float *xc = x + (nc / v.C) * v.nst + (nc % v.C) * v.cst;
      double s = 0.0;
      for (int64_t i = 0; i < v.S; i++) s += xc[i * v.sst];
      y[nc] = (float)(s / (double)v.S);
    }
    return;
  }
  /* NHWC: each spatial position is a contiguous run of C channels. */
  int64_t NB = (v.C + GAP_CB - 1) / GAP_CB;
#pragma omp parallel for collapse(2) schedule(static) if (v.N * v.C * v.S > CZ_PAR_MIN)
  for (int64_t n = 0; n < v.N; n++)
    for (int64_t b = 0; b < NB; b++) {
      int64_t c0 = b * GAP_CB, cb = v.C - c0 < GAP_CB ? v.C - c0 : GAP_CB;
      double s[GAP_CB];
      for (int64_t c = 0; c < cb; c++) s[c] = 0.0;
      for (int64_t i = 0; i < v.S; i++) {
        const float *xi = x + n * v.nst + i * v.C + c0;
        for (int64_t c = 0; c < cb; c++) s[c] += xi[c];
      }
      for (int64_t c = 0; c < cb; c++) y[n * v.C + c0 + c] = (float)(s[c] / (double)v.S);
    }
}

static void gap_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  gap_view v = gap_view_of(&k->gin[0]);
  const float *gy = cz_f32(&k->gout[0]);
  float *gx = cz_f32(&k->gin[0]);
  bool acc = k->gin_acc[0];
  float S = (float)v.S;
  /* Every gx element gets one term, so any loop order gives the same bits. */
  bool par = !k->reference && v.N * v.C * v.S > CZ_PAR_MIN;
#pragma omp parallel for collapse(2) schedule(static) if (par)
  for (int64_t n = 0; n < v.N; n++)
    for (int64_t i = 0; i < v.S; i++)
      for (int64_t c = 0; c < v.C; c++) {
        float g = gy[n * v.C + c] / S;
        float *e = gx + n * v.nst + c * v.cst + i * v.sst;
        *e = acc ? *e + g : g;
      }
}

static int64_t gap_macc(const cz_graph *g, const cz_node *n) {
  return cz_shape_numel(&g->values[n->in[0]].shape); /* one add per input element */
}

const cz_op cz_op_GlobalAveragePool = {
    .name = "GlobalAveragePool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = gap_infer, .forward = gap_forward, .backward = gap_backward, .macc = gap_macc,
    .bwd_needs = 0,
};
