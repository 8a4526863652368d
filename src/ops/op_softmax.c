/* Softmax (ONNX opset 13): y = exp(x - max) / sum exp(x - max) along one
 * axis (default -1); backward gx = y * (gy - sum(gy * y)). Works on any
 * layout: a row is the axis at its own stride in x and y (contiguous for
 * the last axis of row-major tensors and for the channel axis of NHWC
 * ones). MACC: 3 per element (exponential, sum, scale). */
#include <math.h>
#include <stdlib.h>

#include "ops/op_util.h"
#include "util/mem.h"

typedef struct {
  int axis;
} softmax_attr;

static cz_err *softmax_infer(cz_graph *g, cz_node *n) {
  cz_err *e = cz_op_same_shape_float(g, n);
  if (e) return e;
  const cz_value *x = cz_in_value(g, n, 0);
  int64_t axis;
  if ((e = cz_attr_get_int(g, n, "axis", -1, &axis))) return e;
  int r = x->shape.rank;
  if (r == 0) return cz_node_err(g, n, "input 0 '%s' is a scalar, expected rank >= 1", x->name);
  if (axis < -r || axis >= r)
    return cz_node_err(g, n, "axis %lld is out of range for rank %d", (long long)axis, r);
  softmax_attr *p = cz_xmalloc(sizeof *p);
  p->axis = (int)(axis < 0 ? axis + r : axis);
  n->priv = p;
  return NULL;
}

/* Rows of a tensor: every index with the softmax axis at 0. */
typedef struct {
  int64_t rows, len;
  int64_t sx, sy;        /* strides along the axis in x and y */
  int r;                 /* other axes */
  int64_t d[CZ_MAX_RANK], stx[CZ_MAX_RANK], sty[CZ_MAX_RANK];
} rowset;

static rowset make_rows(const cz_tensor *x, const cz_tensor *y, int axis) {
  rowset s = {.rows = 1};
  int64_t a[CZ_MAX_RANK], b[CZ_MAX_RANK];
  cz_strides(&x->shape, x->layout, a);
  cz_strides(&y->shape, y->layout, b);
  for (int i = 0; i < x->shape.rank; i++) {
    if (i == axis) continue;
    s.d[s.r] = x->shape.d[i], s.stx[s.r] = a[i], s.sty[s.r] = b[i];
    s.rows *= x->shape.d[i];
    s.r++;
  }
  s.len = x->shape.d[axis], s.sx = a[axis], s.sy = b[axis];
  return s;
}

static void row_base(const rowset *s, int64_t row, int64_t *bx, int64_t *by) {
  *bx = *by = 0;
  for (int i = s->r - 1; i >= 0; i--) {
    int64_t idx = row % s->d[i];
    row /= s->d[i];
    *bx += idx * s->stx[i];
    *by += idx * s->sty[i];
  }
}

/* One row, plainly. */
static void row_ref(const float *x, int64_t sx, float *y, int64_t sy, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = 0; j < n; j++) m = x[j * sx] > m ? x[j * sx] : m;
  float sum = 0.0f;
  for (int64_t j = 0; j < n; j++) {
    y[j * sy] = expf(x[j * sx] - m);
    sum += y[j * sy];
  }
  float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; j++) y[j * sy] *= inv;
}

/* One contiguous row, vectorized reductions. */
static void row_fast(const float *x, float *y, int64_t n) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n; j++) {
    y[j] = expf(x[j] - m);
    sum += y[j];
  }
  float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t j = 0; j < n; j++) y[j] *= inv;
}

static void softmax_forward(cz_kctx *k) {
  const softmax_attr *a = k->node->priv;
  rowset s = make_rows(&k->in[0], &k->out[0], a->axis);
  const float *x = cz_f32(&k->in[0]);
  float *y = cz_f32(&k->out[0]);
  if (k->reference) {
    for (int64_t r = 0; r < s.rows; r++) {
      int64_t bx, by;
      row_base(&s, r, &bx, &by);
      row_ref(x + bx, s.sx, y + by, s.sy, s.len);
    }
    return;
  }
  bool contig = s.sx == 1 && s.sy == 1;
#pragma omp parallel for schedule(static) if (s.rows * s.len > CZ_PAR_MIN && s.rows > 1)
  for (int64_t r = 0; r < s.rows; r++) {
    int64_t bx, by;
    row_base(&s, r, &bx, &by);
    if (contig) row_fast(x + bx, y + by, s.len);
    else row_ref(x + bx, s.sx, y + by, s.sy, s.len);
  }
}

/* gx = y * (gy - dot(gy, y)); gy and y share the output's layout, gx the
 * input's. */
static void softmax_backward(cz_kctx *k) {
  if (!k->gin[0].data) return;
  const softmax_attr *a = k->node->priv;
  rowset s = make_rows(&k->gin[0], &k->out[0], a->axis);
  const float *y = cz_f32(&k->out[0]), *gy = cz_f32(&k->gout[0]);
  float *gx = cz_f32(&k->gin[0]);
  bool acc = k->gin_acc[0];
  bool fast = !k->reference && s.sx == 1 && s.sy == 1;
#pragma omp parallel for schedule(static) if (!k->reference && s.rows * s.len > CZ_PAR_MIN && s.rows > 1)
  for (int64_t r = 0; r < s.rows; r++) {
    int64_t bx, by;
    row_base(&s, r, &bx, &by);
    const float *yr = y + by, *gr = gy + by;
    float *xr = gx + bx;
    float dot = 0.0f;
    if (fast) {
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < s.len; j++) dot += gr[j] * yr[j];
#pragma omp simd
      for (int64_t j = 0; j < s.len; j++) {
        float v = yr[j] * (gr[j] - dot);
        xr[j] = acc ? xr[j] + v : v;
      }
      continue;
    }
    for (int64_t j = 0; j < s.len; j++) dot += gr[j * s.sy] * yr[j * s.sy];
    for (int64_t j = 0; j < s.len; j++) {
      float v = yr[j * s.sy] * (gr[j * s.sy] - dot);
      xr[j * s.sx] = acc ? xr[j * s.sx] + v : v;
    }
  }
}

static int64_t softmax_macc(const cz_graph *g, const cz_node *n) {
  return 3 * cz_shape_numel(&g->values[n->out[0]].shape);
}

static const char *const softmax_attrs[] = {"axis", NULL};

const cz_op cz_op_Softmax = {
    .name = "Softmax", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attrs = softmax_attrs, .infer = softmax_infer, .forward = softmax_forward,
    .backward = softmax_backward, .macc = softmax_macc, .bwd_needs = CZ_NEED_OUT(0),
};
