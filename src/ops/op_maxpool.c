/* MaxPool (ONNX, 2-D): the largest element of each window. Backward sends
 * each output's gradient to the first maximum in scan order (rows, then
 * columns), as PyTorch does, recomputed from the input rather than saved.
 * NaN propagates like in PyTorch: a NaN tap wins. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "ops/op_pool.h"
#include "ops/op_util.h"

/* Channels one backward task owns: a task's scatter stays inside its own
 * (image, channel block), so tasks never write the same element. */
#define MP_CB 64

static const char *const maxpool_attrs[] = {"auto_pad", "ceil_mode", "dilations", "kernel_shape",
                                            "pads", "storage_order", "strides", NULL};

static cz_err *maxpool_infer(cz_graph *g, cz_node *n) { return cz_op_pool_infer(g, n, true); }

/* The replacement rule of the scan: strictly larger, or NaN. */
static inline bool mp_better(float v, float best) { return v > best || v != v; }

/* Spatial index ih*W+iw of the argmax of window (n, c, oh, ow), x read
 * with strides xs. */
static int64_t mp_argmax(const cz_pool *p, const float *x, const int64_t *xs, int64_t n,
                         int64_t c, int64_t oh, int64_t ow) {
  int64_t h0, h1, w0, w1;
  cz_pool_taps(p, 0, oh, &h0, &h1);
  cz_pool_taps(p, 1, ow, &w0, &w1);
  int64_t best = -1;
  float bv = 0.0f;
  for (int64_t i = h0; i < h1; i++)
    for (int64_t j = w0; j < w1; j++) {
      int64_t ih = oh * p->s[0] - p->pb[0] + i * p->d[0];
      int64_t iw = ow * p->s[1] - p->pb[1] + j * p->d[1];
      float v = x[n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]];
      if (best < 0 || mp_better(v, bv)) best = ih * p->in[1] + iw, bv = v;
    }
  return best;
}

/* Plain loops over the logical index with each tensor's own strides. */
static void maxpool_forward_ref(const cz_pool *p, const cz_tensor *xt, const cz_tensor *yt) {
  int64_t xs[CZ_MAX_RANK], ys[CZ_MAX_RANK];
  cz_strides(&xt->shape, xt->layout, xs);
  cz_strides(&yt->shape, yt->layout, ys);
  const float *x = cz_f32(xt);
  float *y = cz_f32(yt);
  for (int64_t n = 0; n < yt->shape.d[0]; n++)
    for (int64_t c = 0; c < yt->shape.d[1]; c++)
      for (int64_t oh = 0; oh < p->out[0]; oh++)
        for (int64_t ow = 0; ow < p->out[1]; ow++) {
          int64_t s = mp_argmax(p, x, xs, n, c, oh, ow);
          int64_t ih = s / p->in[1], iw = s % p->in[1];
          y[n * ys[0] + c * ys[1] + oh * ys[2] + ow * ys[3]] =
              x[n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]];
        }
}

/* NHWC: every tap is a contiguous run of C channels, so the max runs
 * vectorized over C; output rows are independent tasks. */
static void maxpool_forward_nhwc(const cz_pool *p, const cz_tensor *xt, float *y) {
  const float *x = cz_f32(xt);
  int64_t N = xt->shape.d[0], C = xt->shape.d[1], H = p->in[0], W = p->in[1];
  int64_t OH = p->out[0], OW = p->out[1];
#pragma omp parallel for collapse(2) schedule(static) if (N * OH * OW * C > CZ_PAR_MIN)
  for (int64_t n = 0; n < N; n++)
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0, h1;
      cz_pool_taps(p, 0, oh, &h0, &h1);
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0, w1;
        cz_pool_taps(p, 1, ow, &w0, &w1);
        float *yo = y + ((n * OH + oh) * OW + ow) * C;
        bool first = true;
        for (int64_t i = h0; i < h1; i++)
          for (int64_t j = w0; j < w1; j++) {
            int64_t ih = oh * p->s[0] - p->pb[0] + i * p->d[0];
            int64_t iw = ow * p->s[1] - p->pb[1] + j * p->d[1];
            const float *xi = x + ((n * H + ih) * W + iw) * C;
            if (first) {
              memcpy(yo, xi, (size_t)C * sizeof *yo);
              first = false;
              continue;
            }
            for (int64_t c = 0; c < C; c++) yo[c] = mp_better(xi[c], yo[c]) ? xi[c] : yo[c];
          }
      }
    }
}

static void maxpool_forward(cz_kctx *k) {
  const cz_pool *p = k->node->priv;
  if (!k->reference && k->in[0].layout == CZ_NHWC && k->out[0].layout == CZ_NHWC)
    maxpool_forward_nhwc(p, &k->in[0], cz_f32(&k->out[0]));
  else
    maxpool_forward_ref(p, &k->in[0], &k->out[0]);
}

static void maxpool_backward_ref(const cz_pool *p, const cz_kctx *k) {
  const cz_tensor *xt = &k->in[0], *gyt = &k->gout[0], *gxt = &k->gin[0];
  int64_t xs[CZ_MAX_RANK], ys[CZ_MAX_RANK], gs[CZ_MAX_RANK];
  cz_strides(&xt->shape, xt->layout, xs);
  cz_strides(&gyt->shape, gyt->layout, ys);
  cz_strides(&gxt->shape, gxt->layout, gs);
  const float *x = cz_f32(xt), *gy = cz_f32(gyt);
  float *gx = cz_f32(gxt);
  if (!k->gin_acc[0]) memset(gx, 0, (size_t)cz_numel(gxt) * sizeof *gx);
  for (int64_t n = 0; n < gyt->shape.d[0]; n++)
    for (int64_t c = 0; c < gyt->shape.d[1]; c++)
      for (int64_t oh = 0; oh < p->out[0]; oh++)
        for (int64_t ow = 0; ow < p->out[1]; ow++) {
          int64_t s = mp_argmax(p, x, xs, n, c, oh, ow);
          int64_t ih = s / p->in[1], iw = s % p->in[1];
          gx[n * gs[0] + c * gs[1] + ih * gs[2] + iw * gs[3]] +=
              gy[n * ys[0] + c * ys[1] + oh * ys[2] + ow * ys[3]];
        }
}

/* NHWC: one task per (image, block of MP_CB channels); the argmax of a
 * window is found vectorized over the block, then scattered. Each gx
 * element receives its contributions in (oh, ow) order, as in the
 * reference, so both give identical bits. */
static void maxpool_backward_nhwc(const cz_pool *p, const cz_kctx *k) {
  const float *x = cz_f32(&k->in[0]), *gy = cz_f32(&k->gout[0]);
  float *gx = cz_f32(&k->gin[0]);
  bool acc = k->gin_acc[0];
  int64_t N = k->in[0].shape.d[0], C = k->in[0].shape.d[1], H = p->in[0], W = p->in[1];
  int64_t OH = p->out[0], OW = p->out[1], NB = (C + MP_CB - 1) / MP_CB;
#pragma omp parallel for collapse(2) schedule(static) if (N * H * W * C > CZ_PAR_MIN)
  for (int64_t n = 0; n < N; n++)
    for (int64_t b = 0; b < NB; b++) {
      int64_t c0 = b * MP_CB, cb = C - c0 < MP_CB ? C - c0 : MP_CB;
      float best[MP_CB];
      int32_t at[MP_CB]; /* ih*W+iw: int32 lets the compare loop vectorize */
      if (!acc)
        for (int64_t s = 0; s < H * W; s++)
          memset(gx + (n * H * W + s) * C + c0, 0, (size_t)cb * sizeof *gx);
      for (int64_t oh = 0; oh < OH; oh++) {
        int64_t h0, h1;
        cz_pool_taps(p, 0, oh, &h0, &h1);
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t w0, w1;
          cz_pool_taps(p, 1, ow, &w0, &w1);
          bool first = true;
          for (int64_t i = h0; i < h1; i++)
            for (int64_t j = w0; j < w1; j++) {
              int64_t ih = oh * p->s[0] - p->pb[0] + i * p->d[0];
              int64_t iw = ow * p->s[1] - p->pb[1] + j * p->d[1];
              int32_t s = (int32_t)(ih * W + iw);
              const float *xi = x + (n * H * W + s) * C + c0;
              if (first) {
                for (int64_t c = 0; c < cb; c++) best[c] = xi[c], at[c] = s;
                first = false;
                continue;
              }
              for (int64_t c = 0; c < cb; c++) {
                bool take = mp_better(xi[c], best[c]);
                best[c] = take ? xi[c] : best[c];
                at[c] = take ? s : at[c];
              }
            }
          const float *g = gy + ((n * OH + oh) * OW + ow) * C + c0;
          for (int64_t c = 0; c < cb; c++) gx[(n * H * W + at[c]) * C + c0 + c] += g[c];
        }
      }
    }
}

static void maxpool_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  const cz_pool *p = k->node->priv;
  if (!k->reference && k->in[0].layout == CZ_NHWC && k->gin[0].layout == CZ_NHWC &&
      k->gout[0].layout == CZ_NHWC && p->in[0] * p->in[1] <= INT32_MAX)
    maxpool_backward_nhwc(p, k);
  else
    maxpool_backward_ref(p, k);
}

const cz_op cz_op_MaxPool = {
    .name = "MaxPool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 2,
    .attrs = maxpool_attrs, .infer = maxpool_infer, .forward = maxpool_forward,
    .backward = maxpool_backward, .macc = cz_op_pool_macc, .bwd_needs = CZ_NEED_IN(0),
};
