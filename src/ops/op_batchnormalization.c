/* BatchNormalization (ONNX): y = scale * (x - mean) / sqrt(var + epsilon) + B
 * per channel (axis 1) of X [N,C,...] (rank 2, i.e. BatchNorm1d, or more;
 * rank 4 is NHWC). The mode is the executor's (k->training), not the
 * training_mode attribute, which is accepted and ignored.
 *
 * Training: mean and biased variance over N and the spatial axes normalize
 * the batch, and the running statistics (inputs 3 and 4, buffers with data)
 * are updated in place with PyTorch's convention:
 *   running_mean = momentum * running_mean + (1 - momentum) * mean
 *   running_var  = momentum * running_var  + (1 - momentum) * var * m/(m-1)
 * where m = N * spatial size (the unbiased variance, as torch does) and
 * momentum is ONNX's, i.e. 1 - PyTorch's: torch's default 0.1 is ONNX's
 * default 0.9. With m = 1 the batch variance is 0 and enters unscaled
 * (m/(m-1) is undefined; PyTorch refuses such a batch).
 * Eval: the running statistics normalize.
 *
 * Sums run in double: the reference per channel in (n, spatial) order; the
 * fast NHWC kernel per fixed chunk of rows, reduced in chunk order, so its
 * result depends on neither the thread count nor scheduling. Per-channel
 * mean and 1/sqrt(var + eps) are kept (saved) for backward.
 *
 * MACC: 2 per element (a scale and a shift, as ST's tools count a
 * scale/bias layer); once the quantizer folds BN into a Conv the node and
 * its count are gone. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ops/op.h"
#include "ops/op_util.h"
#include "util/mem.h"

/* Row chunks of the fast reduction: a constant, so partial sums never
 * depend on the thread count. */
#define BN_CHUNKS 32

typedef struct {
  double eps, momentum;
} bn_attrs;

static const char *const bn_attr_names[] = {"epsilon", "momentum", "training_mode", NULL};
static const char *const bn_role[] = {"X", "scale", "B", "input_mean", "input_var"};

/* Element (n, c, s) of an [N,C,S...] tensor sits at n*nst + c*cst + s*sst. */
typedef struct {
  int64_t N, C, S, nst, cst, sst;
} bn_view;

static bn_view bn_view_of(const cz_tensor *t) {
  bn_view v = {.N = t->shape.d[0], .C = t->shape.d[1], .S = 1};
  for (int i = 2; i < t->shape.rank; i++) v.S *= t->shape.d[i];
  bool nhwc = t->layout == CZ_NHWC;
  v.nst = v.C * v.S;
  v.cst = nhwc || v.S == 1 ? 1 : v.S;
  v.sst = nhwc ? v.C : 1;
  return v;
}

static inline int64_t bn_at(const bn_view *v, int64_t n, int64_t c, int64_t s) {
  return n * v->nst + c * v->cst + s * v->sst;
}

static int64_t bn_chunks(int64_t rows) { return rows < BN_CHUNKS ? rows : BN_CHUNKS; }

static cz_err *bn_infer(cz_graph *g, cz_node *n) {
  cz_err *e = NULL;
  for (int i = 0; i < 5 && !e; i++) e = cz_op_want_float(g, n, i);
  if (e) return e;
  const cz_value *x = cz_in_value(g, n, 0);
  char xs[CZ_SHAPE_STR_MAX], s[CZ_SHAPE_STR_MAX];
  cz_shape_str(&x->shape, xs, sizeof xs);
  if (x->shape.rank < 2)
    return cz_node_err(g, n, "input 0 '%s' has shape %s, expected rank 2 or more ([N,C,...])",
                       x->name, xs);
  if (cz_shape_numel(&x->shape) == 0)
    return cz_node_err(g, n, "input 0 '%s' has shape %s with no elements", x->name, xs);
  int64_t C = x->shape.d[1];
  for (int i = 1; i < 5; i++) {
    const cz_value *v = cz_in_value(g, n, i);
    if (v->shape.rank != 1 || v->shape.d[0] != C)
      return cz_node_err(g, n,
                         "input %d '%s' (%s) has shape %s, expected [%lld] (the channels of X %s)",
                         i, v->name, bn_role[i], cz_shape_str(&v->shape, s, sizeof s),
                         (long long)C, xs);
    if (i >= 3 && v->kind != CZ_V_BUFFER && v->kind != CZ_V_PARAM && v->kind != CZ_V_CONST)
      return cz_node_err(g, n,
                         "input %d '%s' (%s) must be a buffer with data (running statistics are "
                         "state, not a computed or fed value)",
                         i, v->name, bn_role[i]);
  }
  float eps, mom;
  int64_t tm;
  e = cz_attr_get_float(g, n, "epsilon", 1e-5f, &eps);
  if (!e) e = cz_attr_get_float(g, n, "momentum", 0.9f, &mom);
  if (!e) e = cz_attr_get_int(g, n, "training_mode", 0, &tm);
  if (e) return e;
  if (!(eps >= 0.0f) || isinf(eps))
    return cz_node_err(g, n, "attribute epsilon %g must be finite and >= 0", (double)eps);
  if (!(mom >= 0.0f && mom <= 1.0f))
    return cz_node_err(g, n, "attribute momentum %g must be in [0, 1]", (double)mom);
  if (tm != 0 && tm != 1)
    return cz_node_err(g, n, "attribute training_mode is %lld, expected 0 or 1", (long long)tm);
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = x->shape;
  bn_attrs *a = cz_xmalloc(sizeof *a);
  a->eps = eps;
  a->momentum = mom;
  n->priv = a;
  return NULL;
}

static int64_t bn_macc(const cz_graph *g, const cz_node *n) {
  return 2 * cz_shape_numel(&g->values[n->in[0]].shape);
}

static size_t bn_saved_bytes(const cz_graph *g, const cz_node *n) {
  return 2 * (size_t)g->values[n->in[0]].shape.d[1] * sizeof(double);
}

/* Forward: mean, istd, coef [C] and BN_CHUNKS partial rows of C.
 * Backward: sg, sgx, k1, k2, k3 [C] and BN_CHUNKS partial rows of 2C. */
static size_t bn_work_bytes(const cz_graph *g, const cz_node *n, bool backward) {
  const cz_value *x = &g->values[n->in[0]];
  size_t C = (size_t)x->shape.d[1];
  size_t nch = (size_t)bn_chunks(cz_shape_numel(&x->shape) / (int64_t)C);
  return (backward ? 5 * C + 2 * nch * C : 3 * C + nch * C) * sizeof(double);
}

/* PyTorch's running-statistics update (see the file comment). */
static void bn_update_running(const cz_kctx *k, int64_t c, double mean, double var, double m) {
  const bn_attrs *a = k->node->priv;
  float *rm = cz_f32(&k->in[3]), *rv = cz_f32(&k->in[4]);
  double unbiased = m > 1.0 ? var * m / (m - 1.0) : var;
  rm[c] = (float)(a->momentum * rm[c] + (1.0 - a->momentum) * mean);
  rv[c] = (float)(a->momentum * rv[c] + (1.0 - a->momentum) * unbiased);
}

/* ---- reference (and the fast path for row-major rank >= 3, one task per
 * channel): plain per-channel loops over (n, spatial) ---- */

static void bn_forward_channel(const cz_kctx *k, int64_t c, double *mean, double *istd) {
  const bn_attrs *a = k->node->priv;
  bn_view xv = bn_view_of(&k->in[0]), yv = bn_view_of(&k->out[0]);
  const float *x = cz_f32(&k->in[0]);
  float *y = cz_f32(&k->out[0]);
  double m = (double)(xv.N * xv.S), mu, var;
  if (k->training) {
    double s = 0.0, q = 0.0;
    for (int64_t n = 0; n < xv.N; n++)
      for (int64_t i = 0; i < xv.S; i++) s += x[bn_at(&xv, n, c, i)];
    mu = s / m;
    for (int64_t n = 0; n < xv.N; n++)
      for (int64_t i = 0; i < xv.S; i++) {
        double d = x[bn_at(&xv, n, c, i)] - mu;
        q += d * d;
      }
    var = q / m;
    bn_update_running(k, c, mu, var, m);
  } else {
    mu = cz_f32(&k->in[3])[c];
    var = cz_f32(&k->in[4])[c];
  }
  double is = 1.0 / sqrt(var + a->eps), sc = cz_f32(&k->in[1])[c], b = cz_f32(&k->in[2])[c];
  mean[c] = mu;
  istd[c] = is;
  for (int64_t n = 0; n < xv.N; n++)
    for (int64_t i = 0; i < xv.S; i++)
      y[bn_at(&yv, n, c, i)] = (float)((x[bn_at(&xv, n, c, i)] - mu) * is * sc + b);
}

static void bn_backward_channel(const cz_kctx *k, int64_t c, const double *mean,
                                const double *istd) {
  bn_view xv = bn_view_of(&k->in[0]), yv = bn_view_of(&k->gout[0]);
  const float *x = cz_f32(&k->in[0]), *gy = cz_f32(&k->gout[0]);
  double m = (double)(xv.N * xv.S), mu = mean[c], is = istd[c], sc = cz_f32(&k->in[1])[c];
  double sg = 0.0, sgx = 0.0; /* dB and dscale */
  for (int64_t n = 0; n < xv.N; n++)
    for (int64_t i = 0; i < xv.S; i++) {
      double g = gy[bn_at(&yv, n, c, i)], xh = (x[bn_at(&xv, n, c, i)] - mu) * is;
      sg += g;
      sgx += g * xh;
    }
  for (int j = 1; j <= 2; j++) {
    if (!k->gin[j].data) continue;
    float *gp = cz_f32(&k->gin[j]), v = (float)(j == 1 ? sgx : sg);
    gp[c] = k->gin_acc[j] ? gp[c] + v : v;
  }
  if (!k->gin[0].data) return;
  bn_view gv = bn_view_of(&k->gin[0]);
  float *gx = cz_f32(&k->gin[0]);
  for (int64_t n = 0; n < xv.N; n++)
    for (int64_t i = 0; i < xv.S; i++) {
      double g = gy[bn_at(&yv, n, c, i)], xh = (x[bn_at(&xv, n, c, i)] - mu) * is;
      /* Training: the batch statistics depend on x too. */
      float v = (float)(k->training ? sc * is / m * (m * g - sg - xh * sgx) : sc * is * g);
      float *e = gx + bn_at(&gv, n, c, i);
      *e = k->gin_acc[0] ? *e + v : v;
    }
}

/* ---- fast: rows of C contiguous channels (NHWC, or rank 2) ---- */

/* out[c] = sum over rows of f(x[r*C + c]) / R, f(v) = v, or (v - center[c])^2
 * when center is given: partial sums per fixed chunk of rows (in parallel),
 * then the chunks added in order. */
static void bn_colsum(const float *x, int64_t R, int64_t C, const double *center, double *part,
                      double *out) {
  int64_t nch = bn_chunks(R);
#pragma omp parallel for schedule(static) if (R * C > CZ_PAR_MIN)
  for (int64_t ch = 0; ch < nch; ch++) {
    double *p = part + ch * C;
    for (int64_t c = 0; c < C; c++) p[c] = 0.0;
    for (int64_t r = ch * R / nch; r < (ch + 1) * R / nch; r++) {
      const float *xr = x + r * C;
      if (center)
        for (int64_t c = 0; c < C; c++) {
          double d = xr[c] - center[c];
          p[c] += d * d;
        }
      else
        for (int64_t c = 0; c < C; c++) p[c] += xr[c];
    }
  }
  for (int64_t c = 0; c < C; c++) out[c] = 0.0;
  for (int64_t ch = 0; ch < nch; ch++)
    for (int64_t c = 0; c < C; c++) out[c] += part[ch * C + c];
  for (int64_t c = 0; c < C; c++) out[c] /= (double)R;
}

static void bn_forward_rows(const cz_kctx *k, double *mean, double *istd, double *coef,
                            double *part) {
  const bn_attrs *a = k->node->priv;
  bn_view v = bn_view_of(&k->in[0]);
  int64_t C = v.C, R = v.N * v.S;
  const float *x = cz_f32(&k->in[0]), *sc = cz_f32(&k->in[1]), *b = cz_f32(&k->in[2]);
  const float *rm = cz_f32(&k->in[3]), *rv = cz_f32(&k->in[4]);
  float *y = cz_f32(&k->out[0]);
  if (k->training) {
    bn_colsum(x, R, C, NULL, part, mean);
    bn_colsum(x, R, C, mean, part, istd); /* the biased variance, for now */
    for (int64_t c = 0; c < C; c++) bn_update_running(k, c, mean[c], istd[c], (double)R);
  } else {
    for (int64_t c = 0; c < C; c++) mean[c] = rm[c], istd[c] = rv[c];
  }
  for (int64_t c = 0; c < C; c++) {
    istd[c] = 1.0 / sqrt(istd[c] + a->eps);
    coef[c] = istd[c] * sc[c];
  }
#pragma omp parallel for schedule(static) if (R * C > CZ_PAR_MIN)
  for (int64_t r = 0; r < R; r++) {
    const float *xr = x + r * C;
    float *yr = y + r * C;
    for (int64_t c = 0; c < C; c++) yr[c] = (float)((xr[c] - mean[c]) * coef[c] + b[c]);
  }
}

static void bn_backward_rows(const cz_kctx *k, const double *mean, const double *istd,
                             double *w) {
  bn_view v = bn_view_of(&k->in[0]);
  int64_t C = v.C, R = v.N * v.S, nch = bn_chunks(R);
  double m = (double)R;
  const float *x = cz_f32(&k->in[0]), *sc = cz_f32(&k->in[1]), *gy = cz_f32(&k->gout[0]);
  double *sg = w, *sgx = w + C, *k1 = w + 2 * C, *k2 = w + 3 * C, *k3 = w + 4 * C;
  double *part = w + 5 * C;
  /* Per chunk: sum gy and sum gy * (x - mean), in double. */
#pragma omp parallel for schedule(static) if (R * C > CZ_PAR_MIN)
  for (int64_t ch = 0; ch < nch; ch++) {
    double *p = part + ch * 2 * C, *q = p + C;
    for (int64_t c = 0; c < 2 * C; c++) p[c] = 0.0;
    for (int64_t r = ch * R / nch; r < (ch + 1) * R / nch; r++) {
      const float *xr = x + r * C, *gr = gy + r * C;
      for (int64_t c = 0; c < C; c++) {
        p[c] += gr[c];
        q[c] += gr[c] * (xr[c] - mean[c]);
      }
    }
  }
  for (int64_t c = 0; c < 2 * C; c++) sg[c] = 0.0; /* sg and sgx */
  for (int64_t ch = 0; ch < nch; ch++)
    for (int64_t c = 0; c < 2 * C; c++) sg[c] += part[ch * 2 * C + c];
  for (int64_t c = 0; c < C; c++) sgx[c] *= istd[c]; /* dscale */
  for (int j = 1; j <= 2; j++) {
    if (!k->gin[j].data) continue;
    float *gp = cz_f32(&k->gin[j]);
    const double *src = j == 1 ? sgx : sg;
    for (int64_t c = 0; c < C; c++) gp[c] = k->gin_acc[j] ? gp[c] + (float)src[c] : (float)src[c];
  }
  if (!k->gin[0].data) return;
  /* gx = k1 * gy + k2 * (x - mean) + k3: the training formula
   * scale*istd/m * (m*gy - dB - xhat*dscale) expanded per channel. */
  for (int64_t c = 0; c < C; c++) {
    k1[c] = sc[c] * istd[c];
    k2[c] = k->training ? -k1[c] * istd[c] * sgx[c] / m : 0.0;
    k3[c] = k->training ? -k1[c] * sg[c] / m : 0.0;
  }
  float *gx = cz_f32(&k->gin[0]);
  bool acc = k->gin_acc[0];
#pragma omp parallel for schedule(static) if (R * C > CZ_PAR_MIN)
  for (int64_t r = 0; r < R; r++) {
    const float *xr = x + r * C, *gr = gy + r * C;
    float *o = gx + r * C;
    for (int64_t c = 0; c < C; c++) {
      float val = (float)(k1[c] * gr[c] + k2[c] * (xr[c] - mean[c]) + k3[c]);
      o[c] = acc ? o[c] + val : val;
    }
  }
}

static bool bn_rows_ok(const cz_tensor *t) { return !t->data || bn_view_of(t).cst == 1; }

static void bn_forward(cz_kctx *k) {
  int64_t C = k->in[0].shape.d[1];
  double *mean = k->saved ? k->saved : k->work, *istd = mean + C;
  double *w = k->work;
  if (!k->reference && bn_rows_ok(&k->in[0]) && bn_rows_ok(&k->out[0])) {
    /* work: [mean, istd unless saved] coef, part */
    bn_forward_rows(k, mean, istd, w + 2 * C, w + 3 * C);
    return;
  }
#pragma omp parallel for schedule(static) if (!k->reference && cz_numel(&k->in[0]) > CZ_PAR_MIN)
  for (int64_t c = 0; c < C; c++) bn_forward_channel(k, c, mean, istd);
}

static void bn_backward(cz_kctx *k) {
  assert(k->saved); /* a node that runs backward always has its saved state */
  int64_t C = k->in[0].shape.d[1];
  const double *mean = k->saved, *istd = mean + C;
  if (!k->reference && bn_rows_ok(&k->in[0]) && bn_rows_ok(&k->gout[0]) &&
      bn_rows_ok(&k->gin[0])) {
    bn_backward_rows(k, mean, istd, k->work);
    return;
  }
#pragma omp parallel for schedule(static) if (!k->reference && cz_numel(&k->in[0]) > CZ_PAR_MIN)
  for (int64_t c = 0; c < C; c++) bn_backward_channel(k, c, mean, istd);
}

const cz_op cz_op_BatchNormalization = {
    .name = "BatchNormalization", .min_in = 5, .max_in = 5, .min_out = 1, .max_out = 1,
    .attrs = bn_attr_names, .infer = bn_infer, .forward = bn_forward, .backward = bn_backward,
    .macc = bn_macc, .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1),
    .no_grad_in = (1u << 3) | (1u << 4),
    .saved_bytes = bn_saved_bytes, .work_bytes = bn_work_bytes,
};
