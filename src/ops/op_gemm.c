/* Gemm (ONNX): Y = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T
 * (transA, transB), A and B 2-D, C optional and unidirectionally
 * broadcastable to [M, N] (a Linear layer: transB = 1, C = bias [N]).
 * Fast path: kernels/k_gemm.h; reference: loops in double. */
#include <stdlib.h>

#include "kernels/k_gemm.h"
#include "ops/op.h"
#include "ops/op_util.h"
#include "util/mem.h"

static const char *const gemm_attrs[] = {"alpha", "beta", "transA", "transB", NULL};

typedef struct {
  int64_t M, N, K;
  bool ta, tb;
  float alpha, beta;
  bool has_c;
  int64_t c_rows, c_cols; /* C as [c_rows, c_cols], each 1 or M / N */
} gemm_priv;

static cz_err *gemm_infer(cz_graph *g, cz_node *n) {
  for (int i = 0; i < n->n_in; i++) {
    if (!cz_has_in(n, i)) continue;
    cz_err *e = cz_op_want_float(g, n, i);
    if (e) return e;
  }
  cz_err *e;
  if ((e = cz_op_want_rank(g, n, 0, 2)) || (e = cz_op_want_rank(g, n, 1, 2))) return e;
  int64_t ta, tb;
  float alpha, beta;
  if ((e = cz_attr_get_int(g, n, "transA", 0, &ta)) || (e = cz_attr_get_int(g, n, "transB", 0, &tb)) ||
      (e = cz_attr_get_float(g, n, "alpha", 1.0f, &alpha)) ||
      (e = cz_attr_get_float(g, n, "beta", 1.0f, &beta)))
    return e;
  const cz_value *a = cz_in_value(g, n, 0), *b = cz_in_value(g, n, 1);
  int64_t M = ta ? a->shape.d[1] : a->shape.d[0], K = ta ? a->shape.d[0] : a->shape.d[1];
  int64_t Kb = tb ? b->shape.d[1] : b->shape.d[0], N = tb ? b->shape.d[0] : b->shape.d[1];
  if (K != Kb) {
    char as[CZ_SHAPE_STR_MAX], bs[CZ_SHAPE_STR_MAX];
    return cz_node_err(g, n,
                       "inner dimensions differ: A '%s' %s gives K = %lld (transA = %lld), "
                       "B '%s' %s gives K = %lld (transB = %lld)",
                       a->name, cz_shape_str(&a->shape, as, sizeof as), (long long)K,
                       (long long)ta, b->name, cz_shape_str(&b->shape, bs, sizeof bs),
                       (long long)Kb, (long long)tb);
  }
  gemm_priv *p = cz_xcalloc(1, sizeof *p);
  *p = (gemm_priv){.M = M, .N = N, .K = K, .ta = ta != 0, .tb = tb != 0, .alpha = alpha,
                   .beta = beta, .c_rows = 1, .c_cols = 1};
  if (cz_has_in(n, 2)) {
    const cz_value *c = cz_in_value(g, n, 2);
    const cz_shape *s = &c->shape;
    int64_t rows = s->rank == 2 ? s->d[0] : 1, cols = s->rank >= 1 ? s->d[s->rank - 1] : 1;
    if (s->rank > 2 || (rows != 1 && rows != M) || (cols != 1 && cols != N)) {
      char cs[CZ_SHAPE_STR_MAX];
      free(p);
      return cz_node_err(g, n, "C '%s' has shape %s, which does not broadcast to [%lld,%lld]",
                         c->name, cz_shape_str(s, cs, sizeof cs), (long long)M, (long long)N);
    }
    p->has_c = true;
    p->c_rows = rows;
    p->c_cols = cols;
  }
  n->priv = p;
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = cz_shape2(M, N);
  return NULL;
}

static int64_t gemm_macc(const cz_graph *g, const cz_node *n) {
  (void)g;
  const gemm_priv *p = n->priv;
  return p ? p->M * p->N * p->K : 0;
}

/* Element strides of op(A) [M,K] and op(B) [K,N] in their stored arrays. */
static void op_strides(const gemm_priv *p, int64_t *a_rs, int64_t *a_cs, int64_t *b_rs,
                       int64_t *b_cs) {
  *a_rs = p->ta ? 1 : p->K, *a_cs = p->ta ? p->M : 1;
  *b_rs = p->tb ? 1 : p->N, *b_cs = p->tb ? p->K : 1;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static size_t gemm_work_bytes(const cz_graph *g, const cz_node *n, bool backward) {
  (void)g;
  const gemm_priv *p = n->priv;
  if (!backward) return cz_k_gemm_work_bytes(p->M, p->N, p->K, true);
  size_t da = max_sz(cz_k_gemm_work_bytes(p->M, p->K, p->N, true),
                     cz_k_gemm_work_bytes(p->K, p->M, p->N, true));
  size_t db = max_sz(cz_k_gemm_work_bytes(p->K, p->N, p->M, true),
                     cz_k_gemm_work_bytes(p->N, p->K, p->M, true));
  return max_sz(da, db);
}

/* A constant B (the Linear layer's weight) is packed once for inference. */
static size_t gemm_packed_bytes(const cz_graph *g, const cz_node *n) {
  const gemm_priv *p = n->priv;
  if (!p || !cz_in_value(g, n, 1)->data) return 0;
  int64_t a_rs, a_cs, b_rs, b_cs;
  op_strides(p, &a_rs, &a_cs, &b_rs, &b_cs);
  cz_k_gemm_args a = {.M = p->M, .N = p->N, .K = p->K, .a_rs = a_rs, .a_cs = a_cs,
                      .b_rs = b_rs, .b_cs = b_cs};
  return cz_k_gemm_reads_packed_b(&a) ? cz_k_gemm_packed_bytes(p->K, p->N) : 0;
}

static void gemm_pack(const cz_graph *g, const cz_node *n, void *packed) {
  const gemm_priv *p = n->priv;
  int64_t a_rs, a_cs, b_rs, b_cs;
  op_strides(p, &a_rs, &a_cs, &b_rs, &b_cs);
  cz_k_gemm_args a = {.M = p->M, .N = p->N, .K = p->K, .b = cz_in_value(g, n, 1)->data,
                      .b_rs = b_rs, .b_cs = b_cs, .alpha = p->alpha};
  cz_k_gemm_pack_b(&a, packed);
}

static void gemm_forward(cz_kctx *k) {
  const gemm_priv *p = k->node->priv;
  const float *a = cz_f32(&k->in[0]), *b = cz_f32(&k->in[1]);
  const float *c = p->has_c ? cz_f32(&k->in[2]) : NULL;
  float *y = cz_f32(&k->out[0]);
  int64_t a_rs, a_cs, b_rs, b_cs;
  op_strides(p, &a_rs, &a_cs, &b_rs, &b_cs);
  int64_t c_rs = p->c_rows == 1 ? 0 : p->c_cols, c_cs = p->c_cols == 1 ? 0 : 1;
  if (k->reference) {
    for (int64_t i = 0; i < p->M; i++)
      for (int64_t j = 0; j < p->N; j++) {
        double acc = 0;
        for (int64_t q = 0; q < p->K; q++) acc += (double)a[i * a_rs + q * a_cs] * b[q * b_rs + j * b_cs];
        acc *= p->alpha;
        if (c) acc += (double)p->beta * c[i * c_rs + j * c_cs];
        y[i * p->N + j] = (float)acc;
      }
    return;
  }
  cz_k_gemm_args g = {.M = p->M, .N = p->N, .K = p->K, .a = a, .a_rs = a_rs, .a_cs = a_cs,
                      .b = b, .b_rs = b_rs, .b_cs = b_cs, .alpha = p->alpha,
                      .c = y, .c_rs = p->N, .c_cs = 1, .b_packed = k->packed};
  if (c && p->beta == 1.0f && p->c_rows == 1 && p->c_cols == p->N) {
    g.bias = c; /* the Linear layer's bias row */
  } else if (c && p->beta != 0.0f) {
    for (int64_t i = 0; i < p->M; i++)
      for (int64_t j = 0; j < p->N; j++) y[i * p->N + j] = p->beta * c[i * c_rs + j * c_cs];
    g.acc = true;
  }
  cz_k_gemm(&g, k->work, true);
}

/* out = alpha * X * Y over the given strides, in double (reference). */
static void ref_mm(int64_t M, int64_t N, int64_t K, float alpha, const float *x, int64_t x_rs,
                   int64_t x_cs, const float *y, int64_t y_rs, int64_t y_cs, float *out,
                   int64_t o_rs, int64_t o_cs, bool acc) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = 0;
      for (int64_t q = 0; q < K; q++) s += (double)x[i * x_rs + q * x_cs] * y[q * y_rs + j * y_cs];
      float v = (float)(s * alpha);
      float *o = out + i * o_rs + j * o_cs;
      *o = acc ? *o + v : v;
    }
}

static void mm(bool ref, void *work, int64_t M, int64_t N, int64_t K, float alpha,
               const float *x, int64_t x_rs, int64_t x_cs, const float *y, int64_t y_rs,
               int64_t y_cs, float *out, int64_t o_rs, bool acc) {
  if (ref) {
    ref_mm(M, N, K, alpha, x, x_rs, x_cs, y, y_rs, y_cs, out, o_rs, 1, acc);
    return;
  }
  cz_k_gemm_args g = {.M = M, .N = N, .K = K, .a = x, .a_rs = x_rs, .a_cs = x_cs, .b = y,
                      .b_rs = y_rs, .b_cs = y_cs, .alpha = alpha, .c = out, .c_rs = o_rs,
                      .c_cs = 1, .acc = acc};
  cz_k_gemm(&g, work, true);
}

static void gemm_backward(cz_kctx *k) {
  const gemm_priv *p = k->node->priv;
  const float *a = cz_f32(&k->in[0]), *b = cz_f32(&k->in[1]), *gy = cz_f32(&k->gout[0]);
  int64_t a_rs, a_cs, b_rs, b_cs, M = p->M, N = p->N, K = p->K;
  op_strides(p, &a_rs, &a_cs, &b_rs, &b_cs);
  bool ref = k->reference;
  float *ga = cz_f32(&k->gin[0]);
  if (ga) {
    if (p->ta) /* dA stored [K,M]: dA[q,i] = alpha * sum_j op(B)[q,j] dY[i,j] */
      mm(ref, k->work, K, M, N, p->alpha, b, b_rs, b_cs, gy, 1, N, ga, M, k->gin_acc[0]);
    else /* dA [M,K] = alpha * dY * op(B)^T */
      mm(ref, k->work, M, K, N, p->alpha, gy, N, 1, b, b_cs, b_rs, ga, K, k->gin_acc[0]);
  }
  float *gb = cz_f32(&k->gin[1]);
  if (gb) {
    if (p->tb) /* dB stored [N,K]: dB[j,q] = alpha * sum_i dY[i,j] op(A)[i,q] */
      mm(ref, k->work, N, K, M, p->alpha, gy, 1, N, a, a_rs, a_cs, gb, K, k->gin_acc[1]);
    else /* dB [K,N] = alpha * op(A)^T * dY */
      mm(ref, k->work, K, N, M, p->alpha, a, a_cs, a_rs, gy, N, 1, gb, N, k->gin_acc[1]);
  }
  float *gc = p->has_c ? cz_f32(&k->gin[2]) : NULL;
  if (gc) {
    /* dC = beta * dY summed over the broadcast axes, in double. */
    for (int64_t r = 0; r < p->c_rows; r++)
      for (int64_t c = 0; c < p->c_cols; c++) {
        double s = 0;
        for (int64_t i = p->c_rows == 1 ? 0 : r; i < (p->c_rows == 1 ? M : r + 1); i++)
          for (int64_t j = p->c_cols == 1 ? 0 : c; j < (p->c_cols == 1 ? N : c + 1); j++)
            s += gy[i * N + j];
        float v = (float)(s * p->beta), *o = gc + r * p->c_cols + c;
        *o = k->gin_acc[2] ? *o + v : v;
      }
  }
}

const cz_op cz_op_Gemm = {
    .name = "Gemm", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attrs = gemm_attrs, .infer = gemm_infer, .forward = gemm_forward,
    .backward = gemm_backward, .macc = gemm_macc,
    .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1), .work_bytes = gemm_work_bytes,
    .packed_bytes = gemm_packed_bytes, .pack = gemm_pack,
};
