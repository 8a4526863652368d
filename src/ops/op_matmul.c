/* MatMul (ONNX, numpy.matmul semantics): the last two axes multiply, the
 * leading (batch) axes broadcast; a 1-D A is a row [1,K] and a 1-D B a
 * column [K,1], that axis dropped from the result. Every operand may have
 * any layout (rank-4 activations are NHWC), so kernels address them
 * through logical strides. Fast path: kernels/k_gemm.h per batch (one
 * GEMM when A's batch folds into its rows); reference: loops in double. */
#include <stdlib.h>

#include "kernels/k_gemm.h"
#include "kernels/k_simd.h"
#include "ops/op.h"
#include "ops/op_util.h"
#include "util/mem.h"
#include "util/pool.h"

#define MAX_BATCH_RANK (CZ_MAX_RANK - 2)

typedef struct {
  int64_t M, N, K;
  int nb;                          /* batch axes of the output */
  int64_t bd[MAX_BATCH_RANK];      /* their sizes */
  int64_t nbatch;                  /* their product */
  bool a_vec, b_vec;               /* 1-D operand */
  bool a_bcast, b_bcast;           /* fewer batch elements than the output */
} mm_priv;

static int64_t batch_numel(const cz_shape *s, bool vec) {
  int64_t n = 1;
  for (int i = 0; i < s->rank - (vec ? 1 : 2); i++) n *= s->d[i];
  return n;
}

static cz_err *mm_infer(cz_graph *g, cz_node *n) {
  cz_err *e;
  if ((e = cz_op_want_float(g, n, 0)) || (e = cz_op_want_float(g, n, 1))) return e;
  const cz_value *a = cz_in_value(g, n, 0), *b = cz_in_value(g, n, 1);
  const cz_shape *sa = &a->shape, *sb = &b->shape;
  char as[CZ_SHAPE_STR_MAX], bs[CZ_SHAPE_STR_MAX];
  cz_shape_str(sa, as, sizeof as);
  cz_shape_str(sb, bs, sizeof bs);
  for (int i = 0; i < 2; i++) {
    const cz_value *v = i ? b : a;
    if (v->shape.rank < 1)
      return cz_node_err(g, n, "input %d '%s' is a scalar, expected at least 1-D", i, v->name);
  }
  mm_priv p = {.a_vec = sa->rank == 1, .b_vec = sb->rank == 1};
  p.M = p.a_vec ? 1 : sa->d[sa->rank - 2];
  p.K = sa->d[sa->rank - 1];
  int64_t Kb = p.b_vec ? sb->d[0] : sb->d[sb->rank - 2];
  p.N = p.b_vec ? 1 : sb->d[sb->rank - 1];
  if (p.K != Kb)
    return cz_node_err(g, n, "inner dimensions differ: A '%s' %s has K = %lld, B '%s' %s has K = %lld",
                       a->name, as, (long long)p.K, b->name, bs, (long long)Kb);
  int ra = p.a_vec ? 0 : sa->rank - 2, rb = p.b_vec ? 0 : sb->rank - 2;
  p.nb = ra > rb ? ra : rb;
  p.nbatch = 1;
  for (int i = 0; i < p.nb; i++) {
    int ia = i - (p.nb - ra), ib = i - (p.nb - rb);
    int64_t da = ia >= 0 ? sa->d[ia] : 1, db = ib >= 0 ? sb->d[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return cz_node_err(g, n, "batch dimensions of A '%s' %s and B '%s' %s do not broadcast",
                         a->name, as, b->name, bs);
    p.bd[i] = da == 1 ? db : da;
    p.nbatch *= p.bd[i];
  }
  p.a_bcast = batch_numel(sa, p.a_vec) != p.nbatch;
  p.b_bcast = batch_numel(sb, p.b_vec) != p.nbatch;
  cz_shape out = {.rank = 0};
  for (int i = 0; i < p.nb; i++) out.d[out.rank++] = p.bd[i];
  if (!p.a_vec) out.d[out.rank++] = p.M;
  if (!p.b_vec) out.d[out.rank++] = p.N;
  mm_priv *pp = cz_xmalloc(sizeof *pp);
  *pp = p;
  n->priv = pp;
  cz_value *y = cz_out_value(g, n, 0);
  y->dtype = CZ_F32;
  y->shape = out;
  return NULL;
}

static int64_t mm_macc(const cz_graph *g, const cz_node *n) {
  (void)g;
  const mm_priv *p = n->priv;
  return p ? p->nbatch * p->M * p->N * p->K : 0;
}

/* How one operand is addressed: matrix strides (row, column) and the
 * stride of each output batch axis (0 where it broadcasts). */
typedef struct {
  int64_t rs, cs;
  int64_t bst[MAX_BATCH_RANK];
} view_t;

/* rows / cols: logical axes of the matrix (-1: absent, size 1). */
static view_t view_of(const mm_priv *p, const cz_tensor *t, int rows, int cols, int nbat) {
  int64_t st[CZ_MAX_RANK];
  cz_strides(&t->shape, t->layout, st);
  view_t v = {.rs = rows >= 0 ? st[rows] : 0, .cs = cols >= 0 ? st[cols] : 0};
  for (int i = 0; i < p->nb; i++) {
    int ax = i - (p->nb - nbat);
    v.bst[i] = ax >= 0 && t->shape.d[ax] != 1 ? st[ax] : 0;
  }
  return v;
}

typedef struct {
  view_t a, b, y;
} views_t;

static views_t views_of(const mm_priv *p, const cz_tensor *a, const cz_tensor *b,
                        const cz_tensor *y) {
  int ra = a->shape.rank, rb = b->shape.rank, ry = y->shape.rank;
  views_t v;
  v.a = view_of(p, a, p->a_vec ? -1 : ra - 2, ra - 1, p->a_vec ? 0 : ra - 2);
  v.b = view_of(p, b, p->b_vec ? 0 : rb - 2, p->b_vec ? -1 : rb - 1, p->b_vec ? 0 : rb - 2);
  int ym = p->a_vec ? -1 : ry - (p->b_vec ? 1 : 2), yn = p->b_vec ? -1 : ry - 1;
  v.y = view_of(p, y, ym, yn, p->nb);
  return v;
}

static int64_t batch_off(const mm_priv *p, const view_t *v, int64_t b) {
  int64_t off = 0;
  for (int i = p->nb - 1; i >= 0; i--) {
    off += (b % p->bd[i]) * v->bst[i];
    b /= p->bd[i];
  }
  return off;
}

/* A's batch folds into its rows (one GEMM of nbatch*M rows) when B is the
 * same matrix for every batch and A and Y step through their batches as
 * contiguous blocks of whole rows. */
static bool foldable(const mm_priv *p, const views_t *v) {
  if (p->nbatch == 1 || p->b_bcast == false || p->a_bcast || p->a_vec) return false;
  for (int i = 0; i < p->nb; i++)
    if (v->b.bst[i] != 0) return false;
  int64_t sa = p->M * v->a.rs, sy = p->M * v->y.rs;
  for (int i = p->nb - 1; i >= 0; i--) {
    if (v->a.bst[i] != sa || v->y.bst[i] != sy) return false;
    sa *= p->bd[i], sy *= p->bd[i];
  }
  return true;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* Scratch for GEMMs of shape (m, n, k) done nbatch times (folded: once with
 * nbatch*m rows, or k long for the folded dB): the larger of one parallel
 * call and one serial call per slot. */
static size_t mm_work(int64_t nbatch, int64_t m, int64_t n, int64_t k) {
  size_t w = cz_k_gemm_work_bytes(m, n, k, true);
  w = max_sz(w, cz_k_gemm_work_bytes(nbatch * m, n, k, true));
  w = max_sz(w, cz_k_gemm_work_bytes(m, n, nbatch * k, true));
  int64_t slots = nbatch < CZ_K_SLOTS ? nbatch : CZ_K_SLOTS;
  size_t per = (cz_k_gemm_work_bytes(m, n, k, false) + 63) / 64 * 64;
  return max_sz(w, (size_t)slots * per);
}

static size_t mm_work_bytes(const cz_graph *g, const cz_node *n, bool backward) {
  (void)g;
  const mm_priv *p = n->priv;
  if (!backward) return mm_work(p->nbatch, p->M, p->N, p->K);
  return max_sz(mm_work(p->nbatch, p->M, p->K, p->N), mm_work(p->nbatch, p->K, p->N, p->M));
}

/* One product per batch b: out_b (+)= X_b * Y_b with X [m,k], Y [k,n]. */
typedef struct {
  int64_t m, n, k;
  const float *x;
  view_t xv;
  bool xt; /* X is the transpose of the viewed matrix */
  const float *y;
  view_t yv;
  bool yt;
  float *o;
  view_t ov;
} prod_t;

static cz_k_gemm_args prod_args(const mm_priv *p, const prod_t *q, int64_t b, bool acc) {
  const float *x = q->x + batch_off(p, &q->xv, b), *y = q->y + batch_off(p, &q->yv, b);
  return (cz_k_gemm_args){.M = q->m, .N = q->n, .K = q->k,
                          .a = x, .a_rs = q->xt ? q->xv.cs : q->xv.rs,
                          .a_cs = q->xt ? q->xv.rs : q->xv.cs,
                          .b = y, .b_rs = q->yt ? q->yv.cs : q->yv.rs,
                          .b_cs = q->yt ? q->yv.rs : q->yv.cs, .alpha = 1.0f,
                          .c = q->o + batch_off(p, &q->ov, b), .c_rs = q->ov.rs,
                          .c_cs = q->ov.cs, .acc = acc};
}

static void ref_prod(const cz_k_gemm_args *g) {
  for (int64_t i = 0; i < g->M; i++)
    for (int64_t j = 0; j < g->N; j++) {
      double s = 0;
      for (int64_t q = 0; q < g->K; q++)
        s += (double)g->a[i * g->a_rs + q * g->a_cs] * g->b[q * g->b_rs + j * g->b_cs];
      float *c = g->c + i * g->c_rs + j * g->c_cs;
      *c = g->acc ? *c + (float)s : (float)s;
    }
}

typedef struct {
  const mm_priv *p;
  const prod_t *q;
  bool acc;
  void *work;
  size_t per; /* scratch bytes per participant */
} batch_ctx;

/* One independent batch, with the participant's scratch. */
static void batch_job(void *cv, int64_t b, int slot) {
  const batch_ctx *c = cv;
  cz_k_gemm_args g = prod_args(c->p, c->q, b, c->acc);
  cz_k_gemm(&g, (char *)c->work + (size_t)slot * c->per, false);
}

/* Runs q for every batch. shared: several batches write the same output
 * matrix (a broadcast operand's gradient), so they run in batch order,
 * adding; otherwise the batches are independent and run in parallel. */
static void run_prods(const mm_priv *p, const prod_t *q, bool acc, bool shared, bool ref,
                      void *work) {
  if (shared && !acc) {
    /* Zero every output matrix first, then all batches add. */
    for (int64_t b = 0; b < p->nbatch; b++) {
      cz_k_gemm_args g = prod_args(p, q, b, false);
      for (int64_t i = 0; i < g.M; i++)
        for (int64_t j = 0; j < g.N; j++) g.c[i * g.c_rs + j * g.c_cs] = 0.0f;
    }
    acc = true;
  }
  if (ref) {
    for (int64_t b = 0; b < p->nbatch; b++) {
      cz_k_gemm_args g = prod_args(p, q, b, acc);
      ref_prod(&g);
    }
    return;
  }
  if (shared || p->nbatch == 1) {
    for (int64_t b = 0; b < p->nbatch; b++) {
      cz_k_gemm_args g = prod_args(p, q, b, acc);
      cz_k_gemm(&g, work, true);
    }
    return;
  }
  size_t per = (cz_k_gemm_work_bytes(q->m, q->n, q->k, false) + 63) / 64 * 64;
  batch_ctx c = {p, q, acc, work, per};
  cz_pool_run(p->nbatch, cz_k_threads(p->nbatch), batch_job, &c);
}

static void mm_forward(cz_kctx *k) {
  const mm_priv *p = k->node->priv;
  views_t v = views_of(p, &k->in[0], &k->in[1], &k->out[0]);
  prod_t q = {.m = p->M, .n = p->N, .k = p->K, .x = cz_f32(&k->in[0]), .xv = v.a,
              .y = cz_f32(&k->in[1]), .yv = v.b, .o = cz_f32(&k->out[0]), .ov = v.y};
  if (!k->reference && foldable(p, &v)) {
    cz_k_gemm_args g = prod_args(p, &q, 0, false);
    g.M *= p->nbatch;
    cz_k_gemm(&g, k->work, true);
    return;
  }
  run_prods(p, &q, false, false, k->reference, k->work);
}

static void mm_backward(cz_kctx *k) {
  const mm_priv *p = k->node->priv;
  views_t v = views_of(p, &k->in[0], &k->in[1], &k->gout[0]);
  const float *a = cz_f32(&k->in[0]), *b = cz_f32(&k->in[1]), *gy = cz_f32(&k->gout[0]);
  bool fold = !k->reference && foldable(p, &v);
  if (k->gin[0].data) { /* dA_b = dY_b * B_b^T */
    prod_t q = {.m = p->M, .n = p->K, .k = p->N, .x = gy, .xv = v.y, .y = b, .yv = v.b,
                .yt = true, .o = cz_f32(&k->gin[0]), .ov = v.a};
    if (fold) {
      cz_k_gemm_args g = prod_args(p, &q, 0, k->gin_acc[0]);
      g.M *= p->nbatch;
      cz_k_gemm(&g, k->work, true);
    } else {
      run_prods(p, &q, k->gin_acc[0], p->a_bcast, k->reference, k->work);
    }
  }
  if (k->gin[1].data) { /* dB_b = A_b^T * dY_b */
    prod_t q = {.m = p->K, .n = p->N, .k = p->M, .x = a, .xv = v.a, .xt = true, .y = gy,
                .yv = v.y, .o = cz_f32(&k->gin[1]), .ov = v.b};
    if (fold) { /* one GEMM summing over all nbatch*M rows */
      cz_k_gemm_args g = prod_args(p, &q, 0, k->gin_acc[1]);
      g.K *= p->nbatch;
      cz_k_gemm(&g, k->work, true);
    } else {
      run_prods(p, &q, k->gin_acc[1], p->b_bcast, k->reference, k->work);
    }
  }
}

const cz_op cz_op_MatMul = {
    .name = "MatMul", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = mm_infer, .forward = mm_forward, .backward = mm_backward, .macc = mm_macc,
    .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1), .work_bytes = mm_work_bytes,
};
