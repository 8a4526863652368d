/* AveragePool (ONNX, 2-D): the mean of each window. The divisor follows
 * PyTorch's avg_pool2d: the in-input taps, or with count_include_pad=1 the
 * window clipped to the padded extent (cz_pool_avg_count). Sums run in
 * float in tap order in both kernels, so fast and reference agree exactly. */
#include <string.h>

#include "ops/op.h"
#include "ops/op_pool.h"
#include "ops/op_util.h"

/* Channels one backward task owns (see maxpool): no two tasks write the
 * same gradient element. */
#define AP_CB 64

static const char *const avgpool_attrs[] = {"auto_pad", "ceil_mode", "count_include_pad",
                                            "kernel_shape", "pads", "strides", NULL};

static cz_err *avgpool_infer(cz_graph *g, cz_node *n) { return cz_op_pool_infer(g, n, false); }

/* Window (oh, ow): in-input tap ranges and the divisor. */
typedef struct {
  int64_t h0, h1, w0, w1, ih0, iw0;
  float div;
} ap_win;

static ap_win ap_window(const cz_pool *p, int64_t oh, int64_t ow) {
  ap_win w;
  cz_pool_taps(p, 0, oh, &w.h0, &w.h1);
  cz_pool_taps(p, 1, ow, &w.w0, &w.w1);
  w.ih0 = oh * p->s[0] - p->pb[0];
  w.iw0 = ow * p->s[1] - p->pb[1];
  int64_t ch = cz_pool_avg_count(p, 0, oh, w.h0, w.h1);
  int64_t cw = cz_pool_avg_count(p, 1, ow, w.w0, w.w1);
  w.div = (float)(ch * cw);
  return w;
}

static void avgpool_forward_ref(const cz_pool *p, const cz_tensor *xt, const cz_tensor *yt) {
  int64_t xs[CZ_MAX_RANK], ys[CZ_MAX_RANK];
  cz_strides(&xt->shape, xt->layout, xs);
  cz_strides(&yt->shape, yt->layout, ys);
  const float *x = cz_f32(xt);
  float *y = cz_f32(yt);
  for (int64_t n = 0; n < yt->shape.d[0]; n++)
    for (int64_t c = 0; c < yt->shape.d[1]; c++)
      for (int64_t oh = 0; oh < p->out[0]; oh++)
        for (int64_t ow = 0; ow < p->out[1]; ow++) {
          ap_win w = ap_window(p, oh, ow);
          float s = 0.0f;
          for (int64_t i = w.h0; i < w.h1; i++)
            for (int64_t j = w.w0; j < w.w1; j++)
              s += x[n * xs[0] + c * xs[1] + (w.ih0 + i) * xs[2] + (w.iw0 + j) * xs[3]];
          y[n * ys[0] + c * ys[1] + oh * ys[2] + ow * ys[3]] = s / w.div;
        }
}

/* NHWC: taps are contiguous runs of C channels, summed vectorized over C
 * straight into the output row; output rows are independent tasks. */
static void avgpool_forward_nhwc(const cz_pool *p, const cz_tensor *xt, float *y) {
  const float *x = cz_f32(xt);
  int64_t N = xt->shape.d[0], C = xt->shape.d[1], H = p->in[0], W = p->in[1];
  int64_t OH = p->out[0], OW = p->out[1];
#pragma omp parallel for collapse(2) schedule(static) if (N * OH * OW * C > CZ_PAR_MIN)
  for (int64_t n = 0; n < N; n++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        ap_win w = ap_window(p, oh, ow);
        float *yo = y + ((n * OH + oh) * OW + ow) * C;
        for (int64_t c = 0; c < C; c++) yo[c] = 0.0f;
        for (int64_t i = w.h0; i < w.h1; i++)
          for (int64_t j = w.w0; j < w.w1; j++) {
            const float *xi = x + ((n * H + w.ih0 + i) * W + w.iw0 + j) * C;
            for (int64_t c = 0; c < C; c++) yo[c] += xi[c];
          }
        for (int64_t c = 0; c < C; c++) yo[c] /= w.div;
      }
}

static void avgpool_forward(cz_kctx *k) {
  const cz_pool *p = k->node->priv;
  if (!k->reference && k->in[0].layout == CZ_NHWC && k->out[0].layout == CZ_NHWC)
    avgpool_forward_nhwc(p, &k->in[0], cz_f32(&k->out[0]));
  else
    avgpool_forward_ref(p, &k->in[0], &k->out[0]);
}

static void avgpool_backward_ref(const cz_pool *p, const cz_kctx *k) {
  const cz_tensor *gyt = &k->gout[0], *gxt = &k->gin[0];
  int64_t ys[CZ_MAX_RANK], gs[CZ_MAX_RANK];
  cz_strides(&gyt->shape, gyt->layout, ys);
  cz_strides(&gxt->shape, gxt->layout, gs);
  const float *gy = cz_f32(gyt);
  float *gx = cz_f32(gxt);
  if (!k->gin_acc[0]) memset(gx, 0, (size_t)cz_numel(gxt) * sizeof *gx);
  for (int64_t n = 0; n < gyt->shape.d[0]; n++)
    for (int64_t c = 0; c < gyt->shape.d[1]; c++)
      for (int64_t oh = 0; oh < p->out[0]; oh++)
        for (int64_t ow = 0; ow < p->out[1]; ow++) {
          ap_win w = ap_window(p, oh, ow);
          float g = gy[n * ys[0] + c * ys[1] + oh * ys[2] + ow * ys[3]] / w.div;
          for (int64_t i = w.h0; i < w.h1; i++)
            for (int64_t j = w.w0; j < w.w1; j++)
              gx[n * gs[0] + c * gs[1] + (w.ih0 + i) * gs[2] + (w.iw0 + j) * gs[3]] += g;
        }
}

/* NHWC: one task per (image, channel block); contributions reach each gx
 * element in (oh, ow) order as in the reference: identical bits. */
static void avgpool_backward_nhwc(const cz_pool *p, const cz_kctx *k) {
  const float *gy = cz_f32(&k->gout[0]);
  float *gx = cz_f32(&k->gin[0]);
  bool acc = k->gin_acc[0];
  int64_t N = k->gin[0].shape.d[0], C = k->gin[0].shape.d[1], H = p->in[0], W = p->in[1];
  int64_t OH = p->out[0], OW = p->out[1], NB = (C + AP_CB - 1) / AP_CB;
#pragma omp parallel for collapse(2) schedule(static) if (N * H * W * C > CZ_PAR_MIN)
  for (int64_t n = 0; n < N; n++)
    for (int64_t b = 0; b < NB; b++) {
      int64_t c0 = b * AP_CB, cb = C - c0 < AP_CB ? C - c0 : AP_CB;
      float g[AP_CB];
      if (!acc)
        for (int64_t s = 0; s < H * W; s++)
          memset(gx + (n * H * W + s) * C + c0, 0, (size_t)cb * sizeof *gx);
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          ap_win w = ap_window(p, oh, ow);
          const float *go = gy + ((n * OH + oh) * OW + ow) * C + c0;
          for (int64_t c = 0; c < cb; c++) g[c] = go[c] / w.div;
          for (int64_t i = w.h0; i < w.h1; i++)
            for (int64_t j = w.w0; j < w.w1; j++) {
              float *gi = gx + ((n * H + w.ih0 + i) * W + w.iw0 + j) * C + c0;
              for (int64_t c = 0; c < cb; c++) gi[c] += g[c];
            }
        }
    }
}

static void avgpool_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  const cz_pool *p = k->node->priv;
  if (!k->reference && k->gin[0].layout == CZ_NHWC && k->gout[0].layout == CZ_NHWC)
    avgpool_backward_nhwc(p, k);
  else
    avgpool_backward_ref(p, k);
}

const cz_op cz_op_AveragePool = {
    .name = "AveragePool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = avgpool_attrs, .infer = avgpool_infer, .forward = avgpool_forward,
    .backward = avgpool_backward, .macc = cz_op_pool_macc, .bwd_needs = 0,
};
