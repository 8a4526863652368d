/* Conv (ONNX), 2-D only: Y = conv(X, W) + B with kernel_shape, strides,
 * pads [top, left, bottom, right], dilations, group and auto_pad (NOTSET,
 * VALID, SAME_UPPER, SAME_LOWER). X and Y are NHWC activations, W is OIHW
 * [M, C/group, kH, kW]. The fast kernels (kernels/k_conv.h) pick a
 * depthwise, pointwise or im2col path; the reference is direct loops over
 * logical indices with double accumulators. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/k_conv.h"
#include "ops/op.h"
#include "ops/op_util.h"
#include "util/mem.h"

static const char *const conv_attrs[] = {"auto_pad", "dilations",    "group", "kernel_shape",
                                         "pads",     "strides",      NULL};

typedef struct {
  cz_k_conv k;
  int64_t pb, pr; /* trailing pads (the kernels only need the leading ones) */
} conv_priv;

static cz_err *want_pair(const cz_graph *g, const cz_node *n, const char *name, int64_t dflt,
                         int64_t min, int64_t out[2]) {
  int count = 0;
  cz_err *e = cz_attr_get_ints(g, n, name, 2, out, &count);
  if (e) return e;
  if (count == 0) {
    out[0] = out[1] = dflt;
    return NULL;
  }
  if (count != 2)
    return cz_node_err(g, n, "attribute %s has %d value%s, expected 2 (2-D convolution)", name,
                       count, count == 1 ? "" : "s");
  for (int i = 0; i < 2; i++)
    if (out[i] < min)
      return cz_node_err(g, n, "attribute %s = [%lld,%lld]: values must be at least %lld", name,
                         (long long)out[0], (long long)out[1], (long long)min);
  return NULL;
}

/* Output size and pads of one spatial axis under auto_pad. */
static void axis_geometry(const char *auto_pad, int64_t in, int64_t span, int64_t stride,
                          int64_t *pad0, int64_t *pad1, int64_t *out) {
  if (strcmp(auto_pad, "VALID") == 0) {
    *pad0 = *pad1 = 0;
  } else if (strncmp(auto_pad, "SAME_", 5) == 0) {
    int64_t o = (in + stride - 1) / stride;
    int64_t total = (o - 1) * stride + span - in;
    if (total < 0) total = 0;
    bool upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    *pad0 = upper ? total / 2 : total - total / 2;
    *pad1 = total - *pad0;
  }
  int64_t padded = in + *pad0 + *pad1;
  *out = padded < span ? 0 : (padded - span) / stride + 1;
}

static cz_err *conv_infer(cz_graph *g, cz_node *n) {
  for (int i = 0; i < n->n_in; i++) {
    if (!cz_has_in(n, i)) continue;
    cz_err *e = cz_op_want_float(g, n, i);
    if (e) return e;
  }
  const cz_value *x = cz_in_value(g, n, 0), *w = cz_in_value(g, n, 1);
  char xs[CZ_SHAPE_STR_MAX], ws[CZ_SHAPE_STR_MAX];
  cz_shape_str(&x->shape, xs, sizeof xs);
  cz_shape_str(&w->shape, ws, sizeof ws);
  if (x->shape.rank != 4)
    return cz_node_err(g, n,
                       "input 0 '%s' has shape %s: only 2-D convolution is supported "
                       "(rank 4, [N,C,H,W])",
                       x->name, xs);
  if (w->shape.rank != 4)
    return cz_node_err(g, n, "weight '%s' has shape %s, expected rank 4 [M,C/group,kH,kW]",
                       w->name, ws);
  int64_t group;
  cz_err *e = cz_attr_get_int(g, n, "group", 1, &group);
  if (e) return e;
  int64_t N = x->shape.d[0], C = x->shape.d[1], H = x->shape.d[2], W = x->shape.d[3];
  int64_t M = w->shape.d[0], kh = w->shape.d[2], kw = w->shape.d[3];
  if (group < 1) return cz_node_err(g, n, "attribute group = %lld, expected >= 1", (long long)group);
  if (C % group)
    return cz_node_err(g, n, "group %lld does not divide the %lld input channels of '%s' %s",
                       (long long)group, (long long)C, x->name, xs);
  if (w->shape.d[1] != C / group)
    return cz_node_err(g, n,
                       "weight '%s' has shape %s: expected %lld input channels per group "
                       "(C/group = %lld/%lld) for input '%s' %s",
                       w->name, ws, (long long)(C / group), (long long)C, (long long)group,
                       x->name, xs);
  if (M % group)
    return cz_node_err(g, n, "group %lld does not divide the %lld output channels of weight '%s' %s",
                       (long long)group, (long long)M, w->name, ws);
  if (kh < 1 || kw < 1)
    return cz_node_err(g, n, "weight '%s' has shape %s: empty kernel", w->name, ws);
  int64_t ks[2], strides[2], dil[2], pads[4] = {0, 0, 0, 0};
  int count = 0;
  if ((e = cz_attr_get_ints(g, n, "kernel_shape", 2, ks, &count))) return e;
  if (count && (count != 2 || ks[0] != kh || ks[1] != kw))
    return cz_node_err(g, n, "attribute kernel_shape does not match weight '%s' %s (kernel %lldx%lld)",
                       w->name, ws, (long long)kh, (long long)kw);
  if ((e = want_pair(g, n, "strides", 1, 1, strides))) return e;
  if ((e = want_pair(g, n, "dilations", 1, 1, dil))) return e;
  if ((e = cz_attr_get_ints(g, n, "pads", 4, pads, &count))) return e;
  if (count != 0 && count != 4)
    return cz_node_err(g, n, "attribute pads has %d values, expected 4 [top,left,bottom,right]",
                       count);
  for (int i = 0; i < 4; i++)
    if (pads[i] < 0)
      return cz_node_err(g, n, "attribute pads = [%lld,%lld,%lld,%lld]: pads must be >= 0",
                         (long long)pads[0], (long long)pads[1], (long long)pads[2],
                         (long long)pads[3]);
  const char *auto_pad;
  if ((e = cz_attr_get_string(g, n, "auto_pad", "NOTSET", &auto_pad))) return e;
  if (strcmp(auto_pad, "NOTSET") && strcmp(auto_pad, "VALID") && strcmp(auto_pad, "SAME_UPPER") &&
      strcmp(auto_pad, "SAME_LOWER"))
    return cz_node_err(g, n, "attribute auto_pad = '%s', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER",
                       auto_pad);
  /* Some writers store zero pads next to auto_pad: harmless, accepted. */
  bool any_pad = pads[0] || pads[1] || pads[2] || pads[3];
  if (any_pad && strcmp(auto_pad, "NOTSET"))
    return cz_node_err(g, n, "attribute pads cannot be used with auto_pad = '%s'", auto_pad);
  if (cz_has_in(n, 2)) {
    const cz_value *b = cz_in_value(g, n, 2);
    if (b->shape.rank != 1 || b->shape.d[0] != M) {
      char bs[CZ_SHAPE_STR_MAX];
      return cz_node_err(g, n, "bias '%s' has shape %s, expected [%lld] (one per output channel)",
                         b->name, cz_shape_str(&b->shape, bs, sizeof bs), (long long)M);
    }
  }
  int64_t span_h = (kh - 1) * dil[0] + 1, span_w = (kw - 1) * dil[1] + 1, Ho, Wo;
  axis_geometry(auto_pad, H, span_h, strides[0], &pads[0], &pads[2], &Ho);
  axis_geometry(auto_pad, W, span_w, strides[1], &pads[1], &pads[3], &Wo);
  if (H + pads[0] + pads[2] < span_h || W + pads[1] + pads[3] < span_w)
    return cz_node_err(g, n,
                       "kernel %lldx%lld with dilations [%lld,%lld] spans %lldx%lld, more than "
                       "the padded input %lldx%lld of '%s' %s (pads [%lld,%lld,%lld,%lld])",
                       (long long)kh, (long long)kw, (long long)dil[0], (long long)dil[1],
                       (long long)span_h, (long long)span_w, (long long)(H + pads[0] + pads[2]),
                       (long long)(W + pads[1] + pads[3]), x->name, xs, (long long)pads[0],
                       (long long)pads[1], (long long)pads[2], (long long)pads[3]);
  conv_priv *p = cz_xcalloc(1, sizeof *p);
  p->k = (cz_k_conv){.N = N, .C = C, .H = H, .W = W, .M = M, .Ho = Ho, .Wo = Wo,
                     .kh = kh, .kw = kw, .sh = strides[0], .sw = strides[1],
                     .dh = dil[0], .dw = dil[1], .pt = pads[0], .pl = pads[1], .group = group};
  p->pb = pads[2];
  p->pr = pads[3];
  n->priv = p;
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = cz_shape4(N, M, Ho, Wo);
  return NULL;
}

static int64_t conv_macc(const cz_graph *g, const cz_node *n) {
  (void)g;
  const conv_priv *p = n->priv;
  if (!p) return 0;
  const cz_k_conv *k = &p->k;
  return k->N * k->M * k->Ho * k->Wo * (k->C / k->group) * k->kh * k->kw;
}

static size_t conv_work_bytes(const cz_graph *g, const cz_node *n, bool backward) {
  (void)g;
  return cz_k_conv_work_bytes(&((const conv_priv *)n->priv)->k, backward);
}

/* The fast kernels take NHWC activations and row-major weights. */
static bool fast_ok(const cz_kctx *k) {
  if (k->reference || k->in[0].layout != CZ_NHWC || k->out[0].layout != CZ_NHWC ||
      k->in[1].layout != CZ_ROWMAJOR)
    return false;
  return true;
}

/* Weights known when the executor is planned (a parameter or constant in
 * the layout the fast kernels read) are packed once for inference. */
static size_t conv_packed_bytes(const cz_graph *g, const cz_node *n) {
  const cz_value *w = cz_in_value(g, n, 1);
  if (!n->priv || !w->data || w->layout != CZ_ROWMAJOR) return 0;
  return cz_k_conv_packed_bytes(&((const conv_priv *)n->priv)->k);
}

static void conv_pack(const cz_graph *g, const cz_node *n, void *packed) {
  cz_k_conv_pack(&((const conv_priv *)n->priv)->k, cz_in_value(g, n, 1)->data, packed);
}

/* Logical strides of the four tensors a reference kernel touches. */
typedef struct {
  int64_t x[CZ_MAX_RANK], w[CZ_MAX_RANK], y[CZ_MAX_RANK];
} conv_strides;

static conv_strides strides_of(const cz_kctx *k) {
  conv_strides s;
  cz_strides(&k->in[0].shape, k->in[0].layout, s.x);
  cz_strides(&k->in[1].shape, k->in[1].layout, s.w);
  cz_strides(&k->out[0].shape, k->out[0].layout, s.y);
  return s;
}

static void conv_forward_ref(const cz_kctx *k, const cz_k_conv *q, const float *x, const float *w,
                             const float *b, float *y);

static void conv_forward(cz_kctx *k) {
  const conv_priv *p = k->node->priv;
  const cz_k_conv *q = &p->k;
  const float *x = cz_f32(&k->in[0]), *w = cz_f32(&k->in[1]);
  const float *b = cz_has_in(k->node, 2) ? cz_f32(&k->in[2]) : NULL;
  float *y = cz_f32(&k->out[0]);
  if (fast_ok(k)) {
    cz_k_conv_forward_packed(q, x, w, b, y, k->work, k->packed);
    return;
  }
  conv_forward_ref(k, q, x, w, b, y);
}

/* Reference forward: direct loops over logical indices, double sums, then
 * the fused activation when there is one. */
static void conv_forward_ref(const cz_kctx *k, const cz_k_conv *q, const float *x, const float *w,
                             const float *b, float *y) {
  conv_strides s = strides_of(k);
  int64_t Cg = q->C / q->group, Mg = q->M / q->group;
  for (int64_t n = 0; n < q->N; n++)
    for (int64_t m = 0; m < q->M; m++)
      for (int64_t oh = 0; oh < q->Ho; oh++)
        for (int64_t ow = 0; ow < q->Wo; ow++) {
          double acc = b ? b[m] : 0.0;
          for (int64_t c = 0; c < Cg; c++)
            for (int64_t i = 0; i < q->kh; i++)
              for (int64_t j = 0; j < q->kw; j++) {
                int64_t ih = oh * q->sh - q->pt + i * q->dh, iw = ow * q->sw - q->pl + j * q->dw;
                if (ih < 0 || ih >= q->H || iw < 0 || iw >= q->W) continue;
                int64_t ci = m / Mg * Cg + c;
                acc += (double)x[n * s.x[0] + ci * s.x[1] + ih * s.x[2] + iw * s.x[3]] *
                       w[m * s.w[0] + c * s.w[1] + i * s.w[2] + j * s.w[3]];
              }
          float v = (float)acc;
          if (q->clamp) {
            v = v < q->lo ? q->lo : v;
            v = v > q->hi ? q->hi : v;
          }
          y[n * s.y[0] + m * s.y[1] + oh * s.y[2] + ow * s.y[3]] = v;
        }
}

/* Reference backward: each gradient element is gathered once, in double. */
static void conv_backward_ref(cz_kctx *k) {
  const conv_priv *p = k->node->priv;
  const cz_k_conv *q = &p->k;
  const float *x = cz_f32(&k->in[0]), *w = cz_f32(&k->in[1]), *gy = cz_f32(&k->gout[0]);
  conv_strides s = strides_of(k);
  int64_t Cg = q->C / q->group, Mg = q->M / q->group;
  float *gx = cz_f32(&k->gin[0]);
  if (gx) {
    for (int64_t n = 0; n < q->N; n++)
      for (int64_t ci = 0; ci < q->C; ci++)
        for (int64_t ih = 0; ih < q->H; ih++)
          for (int64_t iw = 0; iw < q->W; iw++) {
            double acc = 0;
            int64_t g = ci / Cg, c = ci % Cg;
            for (int64_t m = g * Mg; m < (g + 1) * Mg; m++)
              for (int64_t i = 0; i < q->kh; i++)
                for (int64_t j = 0; j < q->kw; j++) {
                  int64_t th = ih + q->pt - i * q->dh, tw = iw + q->pl - j * q->dw;
                  if (th < 0 || tw < 0 || th % q->sh || tw % q->sw) continue;
                  int64_t oh = th / q->sh, ow = tw / q->sw;
                  if (oh >= q->Ho || ow >= q->Wo) continue;
                  acc += (double)gy[n * s.y[0] + m * s.y[1] + oh * s.y[2] + ow * s.y[3]] *
                         w[m * s.w[0] + c * s.w[1] + i * s.w[2] + j * s.w[3]];
                }
            float *o = gx + n * s.x[0] + ci * s.x[1] + ih * s.x[2] + iw * s.x[3];
            *o = k->gin_acc[0] ? *o + (float)acc : (float)acc;
          }
  }
  float *gw = cz_f32(&k->gin[1]);
  if (gw) {
    for (int64_t m = 0; m < q->M; m++)
      for (int64_t c = 0; c < Cg; c++)
        for (int64_t i = 0; i < q->kh; i++)
          for (int64_t j = 0; j < q->kw; j++) {
            double acc = 0;
            int64_t ci = m / Mg * Cg + c;
            for (int64_t n = 0; n < q->N; n++)
              for (int64_t oh = 0; oh < q->Ho; oh++)
                for (int64_t ow = 0; ow < q->Wo; ow++) {
                  int64_t ih = oh * q->sh - q->pt + i * q->dh, iw = ow * q->sw - q->pl + j * q->dw;
                  if (ih < 0 || ih >= q->H || iw < 0 || iw >= q->W) continue;
                  acc += (double)gy[n * s.y[0] + m * s.y[1] + oh * s.y[2] + ow * s.y[3]] *
                         x[n * s.x[0] + ci * s.x[1] + ih * s.x[2] + iw * s.x[3]];
                }
            float *o = gw + m * s.w[0] + c * s.w[1] + i * s.w[2] + j * s.w[3];
            *o = k->gin_acc[1] ? *o + (float)acc : (float)acc;
          }
  }
  float *gb = cz_has_in(k->node, 2) ? cz_f32(&k->gin[2]) : NULL;
  if (gb) {
    for (int64_t m = 0; m < q->M; m++) {
      double acc = 0;
      for (int64_t n = 0; n < q->N; n++)
        for (int64_t oh = 0; oh < q->Ho; oh++)
          for (int64_t ow = 0; ow < q->Wo; ow++)
            acc += gy[n * s.y[0] + m * s.y[1] + oh * s.y[2] + ow * s.y[3]];
      gb[m] = k->gin_acc[2] ? gb[m] + (float)acc : (float)acc;
    }
  }
}

static void conv_backward(cz_kctx *k) {
  bool has_b = cz_has_in(k->node, 2);
  if (!fast_ok(k) || (k->gin[1].data && k->gin[1].layout != CZ_ROWMAJOR)) {
    conv_backward_ref(k);
    return;
  }
  cz_k_conv_grads gr = {
      .dx = cz_f32(&k->gin[0]), .dx_acc = k->gin_acc[0],
      .dw = cz_f32(&k->gin[1]), .dw_acc = k->gin_acc[1],
      .db = has_b ? cz_f32(&k->gin[2]) : NULL, .db_acc = has_b && k->gin_acc[2],
  };
  if (!gr.dx && !gr.dw && !gr.db) return;
  const conv_priv *p = k->node->priv;
  cz_k_conv_backward(&p->k, cz_f32(&k->in[0]), cz_f32(&k->in[1]), cz_f32(&k->gout[0]), &gr,
                     k->work);
}

const cz_op cz_op_Conv = {
    .name = "Conv", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attrs = conv_attrs, .infer = conv_infer, .forward = conv_forward,
    .backward = conv_backward, .macc = conv_macc,
    .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1), .work_bytes = conv_work_bytes,
    .packed_bytes = conv_packed_bytes, .pack = conv_pack,
};

/* FusedConv (czoo extension, inference only; made by graph/pass_fuse_act.h,
 * never exported): Conv followed by Clip(min, max), or by Relu as
 * Clip(0, +inf), in one node: y = min(max(conv(x, W) + B, min), max) with
 * ONNX Clip's formula. Conv's attributes plus float `min` and `max`
 * (defaults -inf, +inf). Not differentiable: graphs are fused only for
 * inference. */
static const char *const fused_conv_attrs[] = {"auto_pad", "dilations", "group", "kernel_shape",
                                               "pads",     "strides",   "min",   "max",
                                               NULL};

static cz_err *fused_conv_infer(cz_graph *g, cz_node *n) {
  cz_err *e = conv_infer(g, n);
  if (e) return e;
  conv_priv *p = n->priv;
  if ((e = cz_attr_get_float(g, n, "min", -INFINITY, &p->k.lo))) return e;
  if ((e = cz_attr_get_float(g, n, "max", INFINITY, &p->k.hi))) return e;
  if (isnan(p->k.lo) || isnan(p->k.hi)) return cz_node_err(g, n, "min/max must not be NaN");
  p->k.clamp = true;
  return NULL;
}

const cz_op cz_op_FusedConv = {
    .name = "FusedConv", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attrs = fused_conv_attrs, .infer = fused_conv_infer, .forward = conv_forward,
    .macc = conv_macc, .work_bytes = conv_work_bytes,
    .packed_bytes = conv_packed_bytes, .pack = conv_pack,
};
