/* LayerNormalization (ONNX opset 17): each row (the axes from `axis` on)
 * is normalized to zero mean and unit variance (biased, as PyTorch), then
 * scaled and shifted: y = (x - mean) / sqrt(var + epsilon) * Scale + B.
 * Only stash_type 1 (float) and the single output Y are supported. Rows
 * are contiguous for row-major tensors (the usual [N, T, D], axis -1);
 * other layouts go through per-row offset tables. Backward gives X, Scale
 * and B; Scale and B gradients sum per-chunk partials in a fixed order.
 * MACC: 4 per element (sum, centred square, normalize, affine). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_util.h"
#include "util/mem.h"

#define LN_MAX_CHUNKS 16

typedef struct {
  int axis;
  float eps;
} ln_attr;

/* Whether param input i has the normalized shape (leading 1s ignored). */
static cz_err *check_param(const cz_graph *g, const cz_node *n, int i, const char *what,
                           int axis) {
  cz_err *e = cz_op_want_float(g, n, i);
  if (e) return e;
  const cz_value *x = cz_in_value(g, n, 0), *p = cz_in_value(g, n, i);
  cz_shape norm = {.rank = x->shape.rank - axis};
  for (int k = 0; k < norm.rank; k++) norm.d[k] = x->shape.d[axis + k];
  int lead = 0;
  while (lead < p->shape.rank && p->shape.d[lead] == 1) lead++;
  bool ok = cz_shape_numel(&p->shape) == cz_shape_numel(&norm) &&
            p->shape.rank - lead <= norm.rank && p->layout == CZ_ROWMAJOR;
  for (int k = lead; ok && k < p->shape.rank; k++)
    if (p->shape.d[k] != norm.d[norm.rank - (p->shape.rank - k)]) ok = false;
  if (!ok) {
    char s1[CZ_SHAPE_STR_MAX], s2[CZ_SHAPE_STR_MAX], s3[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n, "%s '%s' has shape %s, expected %s (X %s from axis %d)", what,
                       p->name, cz_shape_str(&p->shape, s1, sizeof s1),
                       cz_shape_str(&norm, s2, sizeof s2), cz_shape_str(&x->shape, s3, sizeof s3),
                       axis);
  }
  return NULL;
}

static cz_err *ln_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  if (n->n_out > 1)
    return cz_node_err(g, n, "only output Y is supported (Mean and InvStdDev are not)");
  const cz_value *x = cz_in_value(g, n, 0);
  int r = x->shape.rank;
  int64_t axis, stash;
  float eps;
  if ((e = cz_attr_get_int(g, n, "axis", -1, &axis))) return e;
  if ((e = cz_attr_get_float(g, n, "epsilon", 1e-5f, &eps))) return e;
  if ((e = cz_attr_get_int(g, n, "stash_type", 1, &stash))) return e;
  if (stash != 1) return cz_node_err(g, n, "stash_type %lld is not supported (only 1)", (long long)stash);
  if (r == 0) return cz_node_err(g, n, "input 0 '%s' is a scalar, expected rank >= 1", x->name);
  if (axis < -r || axis >= r)
    return cz_node_err(g, n, "axis %lld is out of range for rank %d", (long long)axis, r);
  if (!(eps >= 0.0f)) return cz_node_err(g, n, "epsilon is %g, expected >= 0", (double)eps);
  int ax = (int)(axis < 0 ? axis + r : axis);
  if ((e = check_param(g, n, 1, "Scale", ax))) return e;
  if (cz_has_in(n, 2) && (e = check_param(g, n, 2, "B", ax))) return e;
  ln_attr *p = cz_xmalloc(sizeof *p);
  p->axis = ax;
  p->eps = eps;
  n->priv = p;
  return NULL;
}

/* Geometry: rows x D, and how to address a tensor of X's shape. */
typedef struct {
  int64_t rows, D;
  int axis, rank;
  cz_shape shape;
} ln_geo;

static ln_geo geo(const cz_kctx *k) {
  const ln_attr *a = k->node->priv;
  ln_geo q = {.rows = 1, .D = 1, .axis = a->axis, .shape = k->in[0].shape};
  q.rank = q.shape.rank;
  for (int i = 0; i < q.rank; i++) {
    if (i < a->axis) q.rows *= q.shape.d[i];
    else q.D *= q.shape.d[i];
  }
  return q;
}

/* Offset of (row, j) in a tensor of layout l: both indices row-major over
 * their axes. */
static int64_t offset_of(const ln_geo *q, cz_layout l, int64_t row, int64_t j) {
  int64_t st[CZ_MAX_RANK], off = 0;
  cz_strides(&q->shape, l, st);
  for (int i = q->rank - 1; i >= q->axis; i--) {
    off += (j % q->shape.d[i]) * st[i];
    j /= q->shape.d[i];
  }
  for (int i = q->axis - 1; i >= 0; i--) {
    off += (row % q->shape.d[i]) * st[i];
    row /= q->shape.d[i];
  }
  return off;
}

/* Whether layout l places (row, j) at row*D + j. */
static bool is_rowmajor(const ln_geo *q, cz_layout l) {
  int64_t st[CZ_MAX_RANK], want = 1;
  cz_strides(&q->shape, l, st);
  for (int i = q->rank - 1; i >= 0; i--) {
    if (q->shape.d[i] != 1 && st[i] != want) return false;
    want *= q->shape.d[i];
  }
  return true;
}

/* Offset tables of one row's elements (the same for every row) and the
 * row bases, for the layouts that are not row-major. */
typedef struct {
  bool contig;
  cz_layout lx, ly;
  int64_t *tx, *ty; /* D entries each, in work memory */
} ln_addr;

static ln_addr make_addr(const ln_geo *q, cz_layout lx, cz_layout ly, void *work) {
  ln_addr A = {.contig = is_rowmajor(q, lx) && is_rowmajor(q, ly), .lx = lx, .ly = ly};
  if (A.contig) return A;
  A.tx = work;
  A.ty = A.tx + q->D;
  for (int64_t j = 0; j < q->D; j++) {
    A.tx[j] = offset_of(q, lx, 0, j);
    A.ty[j] = offset_of(q, ly, 0, j);
  }
  return A;
}

static int64_t base_of(const ln_geo *q, const ln_addr *A, bool y, int64_t row) {
  if (A->contig) return row * q->D;
  return offset_of(q, y ? A->ly : A->lx, row, 0);
}

#define AX(j) (A.contig ? (j) : A.tx[j])
#define AY(j) (A.contig ? (j) : A.ty[j])

static void ln_forward(cz_kctx *k) {
  const ln_attr *a = k->node->priv;
  ln_geo q = geo(k);
  const float *x = cz_f32(&k->in[0]), *sc = cz_f32(&k->in[1]);
  const float *b = k->in[2].data ? cz_f32(&k->in[2]) : NULL;
  float *y = cz_f32(&k->out[0]);
  float *saved = k->saved; /* mean[rows], rstd[rows] when training */
  int64_t D = q.D;
  if (k->reference) {
    /* Row statistics in double: the reference is the sharper one. */
    for (int64_t r = 0; r < q.rows; r++) {
      double mean = 0.0, var = 0.0;
      for (int64_t j = 0; j < D; j++) mean += x[offset_of(&q, k->in[0].layout, r, j)];
      mean /= (double)D;
      for (int64_t j = 0; j < D; j++) {
        double d = x[offset_of(&q, k->in[0].layout, r, j)] - mean;
        var += d * d;
      }
      var /= (double)D;
      double rstd = 1.0 / sqrt(var + a->eps);
      for (int64_t j = 0; j < D; j++) {
        double v = (x[offset_of(&q, k->in[0].layout, r, j)] - mean) * rstd * sc[j];
        y[offset_of(&q, k->out[0].layout, r, j)] = (float)(b ? v + b[j] : v);
      }
      if (saved) saved[r] = (float)mean, saved[q.rows + r] = (float)rstd;
    }
    return;
  }
  ln_addr A = make_addr(&q, k->in[0].layout, k->out[0].layout, k->work);
#pragma omp parallel for schedule(static) if (q.rows * D > CZ_PAR_MIN && q.rows > 1)
  for (int64_t r = 0; r < q.rows; r++) {
    const float *xr = x + base_of(&q, &A, false, r);
    float *yr = y + base_of(&q, &A, true, r);
    float mean = 0.0f, var = 0.0f;
#pragma omp simd reduction(+ : mean)
    for (int64_t j = 0; j < D; j++) mean += xr[AX(j)];
    mean /= (float)D;
#pragma omp simd reduction(+ : var)
    for (int64_t j = 0; j < D; j++) {
      float d = xr[AX(j)] - mean;
      var += d * d;
    }
    var /= (float)D;
    float rstd = 1.0f / sqrtf(var + a->eps);
    if (b) {
#pragma omp simd
      for (int64_t j = 0; j < D; j++) yr[AY(j)] = (xr[AX(j)] - mean) * rstd * sc[j] + b[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < D; j++) yr[AY(j)] = (xr[AX(j)] - mean) * rstd * sc[j];
    }
    if (saved) saved[r] = mean, saved[q.rows + r] = rstd;
  }
}

static int64_t chunks(int64_t rows) { return rows < LN_MAX_CHUNKS ? (rows ? rows : 1) : LN_MAX_CHUNKS; }

static void ln_backward_reference(cz_kctx *k, const ln_geo *q) {
  const float *x = cz_f32(&k->in[0]), *sc = cz_f32(&k->in[1]), *gy = cz_f32(&k->gout[0]);
  const float *saved = k->saved;
  float *gx = k->gin[0].data, *gs = k->gin[1].data, *gb = k->gin[2].data;
  cz_layout lx = k->in[0].layout, ly = k->out[0].layout;
  int64_t D = q->D;
  if (gs && !k->gin_acc[1]) memset(gs, 0, (size_t)D * sizeof *gs);
  if (gb && !k->gin_acc[2]) memset(gb, 0, (size_t)D * sizeof *gb);
  for (int64_t r = 0; r < q->rows; r++) {
    double mean = saved[r], rstd = saved[q->rows + r];
    double m1 = 0.0, m2 = 0.0; /* means of dxhat and dxhat * xhat */
    for (int64_t j = 0; j < D; j++) {
      double xh = (x[offset_of(q, lx, r, j)] - mean) * rstd;
      double g = gy[offset_of(q, ly, r, j)];
      if (gs) gs[j] += (float)(g * xh);
      if (gb) gb[j] += (float)g;
      m1 += g * sc[j];
      m2 += g * sc[j] * xh;
    }
    m1 /= (double)D, m2 /= (double)D;
    if (!gx) continue;
    for (int64_t j = 0; j < D; j++) {
      int64_t o = offset_of(q, lx, r, j);
      double xh = (x[o] - mean) * rstd;
      float v = (float)(rstd * (gy[offset_of(q, ly, r, j)] * sc[j] - m1 - xh * m2));
      gx[o] = k->gin_acc[0] ? gx[o] + v : v;
    }
  }
}

static void ln_backward(cz_kctx *k) {
  ln_geo q = geo(k);
  if (k->reference) {
    ln_backward_reference(k, &q);
    return;
  }
  const float *x = cz_f32(&k->in[0]), *sc = cz_f32(&k->in[1]), *gy = cz_f32(&k->gout[0]);
  const float *saved = k->saved;
  float *gx = k->gin[0].data, *gs = k->gin[1].data, *gb = k->gin[2].data;
  bool accx = k->gin_acc[0];
  int64_t D = q.D, K = chunks(q.rows);
  /* Work: offset tables (2*D int64), then per-chunk partials of the Scale
   * and B gradients (K * 2 * D floats). */
  ln_addr A = make_addr(&q, k->in[0].layout, k->out[0].layout, k->work);
  float *part = (float *)((int64_t *)k->work + 2 * D);
#pragma omp parallel for schedule(static) if (q.rows * D > CZ_PAR_MIN && K > 1)
  for (int64_t c = 0; c < K; c++) {
    float *ps = part + c * 2 * D, *pb = ps + D;
    memset(ps, 0, (size_t)(2 * D) * sizeof *ps);
    for (int64_t r = q.rows * c / K; r < q.rows * (c + 1) / K; r++) {
      const float *xr = x + base_of(&q, &A, false, r), *gr = gy + base_of(&q, &A, true, r);
      float mean = saved[r], rstd = saved[q.rows + r];
      float m1 = 0.0f, m2 = 0.0f;
#pragma omp simd reduction(+ : m1, m2)
      for (int64_t j = 0; j < D; j++) {
        float xh = (xr[AX(j)] - mean) * rstd, g = gr[AY(j)];
        ps[j] += g * xh;
        pb[j] += g;
        m1 += g * sc[j];
        m2 += g * sc[j] * xh;
      }
      m1 /= (float)D, m2 /= (float)D;
      if (!gx) continue;
      float *gxr = gx + base_of(&q, &A, false, r);
#pragma omp simd
      for (int64_t j = 0; j < D; j++) {
        float xh = (xr[AX(j)] - mean) * rstd;
        float v = rstd * (gr[AY(j)] * sc[j] - m1 - xh * m2);
        gxr[AX(j)] = accx ? gxr[AX(j)] + v : v;
      }
    }
  }
  for (int t = 1; t <= 2; t++) {
    float *dst = t == 1 ? gs : gb;
    if (!dst) continue;
    bool acc = k->gin_acc[t];
    for (int64_t j = 0; j < D; j++) {
      float s = 0.0f;
      for (int64_t c = 0; c < K; c++) s += part[c * 2 * D + (t - 1) * D + j];
      dst[j] = acc ? dst[j] + s : s;
    }
  }
}

static int64_t rows_of(const cz_graph *g, const cz_node *n, int64_t *D) {
  const ln_attr *a = n->priv;
  const cz_shape *s = &cz_in_value(g, n, 0)->shape;
  int64_t rows = 1;
  *D = 1;
  for (int i = 0; i < s->rank; i++) {
    if (i < a->axis) rows *= s->d[i];
    else *D *= s->d[i];
  }
  return rows;
}

static size_t ln_saved_bytes(const cz_graph *g, const cz_node *n) {
  int64_t D;
  return (size_t)(2 * rows_of(g, n, &D)) * sizeof(float);
}

static size_t ln_work_bytes(const cz_graph *g, const cz_node *n, bool backward) {
  int64_t D, rows = rows_of(g, n, &D);
  size_t tables = (size_t)(2 * D) * sizeof(int64_t);
  return backward ? tables + (size_t)(chunks(rows) * 2 * D) * sizeof(float) : tables;
}

static int64_t ln_macc(const cz_graph *g, const cz_node *n) {
  return 4 * cz_shape_numel(&g->values[n->out[0]].shape);
}

static const char *const ln_attrs[] = {"axis", "epsilon", "stash_type", NULL};

const cz_op cz_op_LayerNormalization = {
    .name = "LayerNormalization", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 3,
    .attrs = ln_attrs, .infer = ln_infer, .forward = ln_forward, .backward = ln_backward,
    .macc = ln_macc, .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1),
    .saved_bytes = ln_saved_bytes, .work_bytes = ln_work_bytes,
};
