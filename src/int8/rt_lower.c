/* QDQ graph -> int8 plan (see rt_lower.h). One walk over the nodes in
 * topological order: DequantizeLinear of an int8 activation aliases it,
 * DequantizeLinear of a constant is a weight its consumer reads, each
 * float op becomes one kernel step whose output tensor is the
 * QuantizeLinear after it, and the graph input's QuantizeLinear is the
 * entry. */
#include "int8/rt_lower.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "int8/rt_lower_layout.h"
#include "int8/rt_qmult.h"
#include "kernels/k_conv.h"
#include "kernels/k_simd.h"
#include "ops/op.h"
#include "ops/op_pool.h"
#include "ops/op_slice.h"
#include "util/mem.h"

typedef struct {
  const cz_graph *g;
  rt_plan *p;
  int cap_t, cap_s, batch;
  int *tid;   /* value -> plan tensor (int8 values and their dequantized aliases), -1 */
  int *nuse;  /* consumers of each value */
  int *user;  /* a consumer (the only one when nuse == 1) */
  bool *done; /* QuantizeLinear / activation nodes taken by a pattern */
  rtl_layout *lay; /* value -> its bytes' layout where has_lay (else the default) */
  bool *has_lay;
  int *tdef;       /* value -> its copy in the default layout, -1 */
  int tail_out;    /* the graph output when a data-movement op after the last
                    * DequantizeLinear makes it (-1: none) */
  const char *what;
} lw;

static const char *op_of(const cz_node *n) { return n->op->name; }
static bool is_op(const cz_node *n, const char *name) { return strcmp(op_of(n), name) == 0; }

static cz_err *node_err(const lw *L, const cz_node *n, const char *msg) {
  return cz_err_new(CZ_EXIT_RUNTIME, "%s: node '%s' (%s): %s: the int8 engine runs every op on "
                    "integers and has no float fallback", L->what, n->name, op_of(n), msg);
}

/* Quantization of a Q/DQ node's integer side: first scale, zero point in
 * the int8 domain, whether the file type is uint8, and the per-axis count. */
typedef struct {
  const float *scale;
  int64_t n;
  const void *zp;
  cz_dtype zt;
  bool u8;
} qp;

static int32_t qp_zp(const qp *q, int64_t i) {
  if (!q->zp) return 0;
  int64_t k = q->n > 1 ? i : 0;
  switch (q->zt) {
  case CZ_I8: return ((const int8_t *)q->zp)[k];
  case CZ_U8: return (int32_t)((const uint8_t *)q->zp)[k] - 128;
  case CZ_I32: return ((const int32_t *)q->zp)[k];
  default: return 0;
  }
}
static float qp_scale(const qp *q, int64_t i) { return q->scale[q->n > 1 ? i : 0]; }

static cz_err *read_qp(const lw *L, const cz_node *n, qp *q) {
  memset(q, 0, sizeof *q);
  const cz_value *sc = &L->g->values[n->in[1]];
  if (!sc->data || sc->dtype != CZ_F32) return node_err(L, n, "its scale is not a constant");
  q->scale = sc->data;
  q->n = cz_shape_numel(&sc->shape);
  if (n->n_in > 2 && n->in[2] >= 0) {
    const cz_value *z = &L->g->values[n->in[2]];
    if (!z->data) return node_err(L, n, "its zero point is not a constant");
    q->zp = z->data;
    q->zt = z->dtype;
  } else {
    q->zt = is_op(n, "QuantizeLinear") ? CZ_U8 : L->g->values[n->in[0]].dtype;
  }
  if (is_op(n, "DequantizeLinear")) q->zt = L->g->values[n->in[0]].dtype;
  q->u8 = q->zt == CZ_U8;
  for (int64_t i = 0; i < q->n; i++)
    if (!(q->scale[i] > 0) || !isfinite(q->scale[i]))
      return node_err(L, n, "a scale is not a positive finite number");
  return NULL;
}

static int64_t per_image(const cz_value *v) {
  int64_t e = 1;
  for (int i = 1; i < v->shape.rank; i++) e *= v->shape.d[i];
  return e;
}

static int new_tensor(lw *L, const char *name, int64_t elems, float scale, int32_t zp) {
  rt_plan *p = L->p;
  if (p->n_tensors == L->cap_t) {
    L->cap_t = L->cap_t ? 2 * L->cap_t : 16;
    p->tensors = cz_xrealloc(p->tensors, (size_t)L->cap_t * sizeof *p->tensors);
  }
  rt_tensor *t = &p->tensors[p->n_tensors];
  memset(t, 0, sizeof *t);
  t->name = cz_xstrdup(name);
  t->elems = elems;
  t->scale = scale;
  t->zp = zp;
  t->data = cz_xcalloc((size_t)(elems * L->batch), 1);
  return p->n_tensors++;
}

static rt_step *new_step(lw *L, rt_step_kind kind, const cz_node *n, int in0, int in1, int out,
                         int rows) {
  rt_plan *p = L->p;
  if (p->n_steps == L->cap_s) {
    L->cap_s = L->cap_s ? 2 * L->cap_s : 16;
    p->steps = cz_xrealloc(p->steps, (size_t)L->cap_s * sizeof *p->steps);
  }
  rt_step *s = &p->steps[p->n_steps++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->node = cz_xstrdup(n->name);
  s->in0 = in0, s->in1 = in1, s->out = out, s->rows = rows;
  return s;
}

static void layout_of(const lw *L, int v, rtl_layout *l) {
  if (L->has_lay[v]) *l = L->lay[v];
  else rtl_default(&L->g->values[v].shape, l);
}

static void set_layout(lw *L, int v, const rtl_layout *l) {
  L->lay[v] = *l;
  L->has_lay[v] = !rtl_is_default(l);
}

static cz_err *act_in_any(const lw *L, const cz_node *n, int i, int *t);
static rt_step *new_move(lw *L, const cz_node *n, int tx, int ty, const rt_move_p *mv,
                         int32_t lo, int32_t hi);

/* The plan tensor of a dequantized int8 activation feeding slot i, in the
 * default layout (NHWC maps, row-major otherwise): a value left in
 * another order by a data-movement op is copied into it once. */
static cz_err *act_in(lw *L, const cz_node *n, int i, int *t) {
  cz_err *e = act_in_any(L, n, i, t);
  const int v = n->in[i];
  if (e || !L->has_lay[v]) return e;
  if (L->tdef[v] < 0) {
    rtl_layout x = L->lay[v], y;
    int perm[CZ_MAX_RANK];
    for (int a = 0; a < CZ_MAX_RANK; a++) perm[a] = a;
    rtl_map m;
    rtl_map_transpose(&x, perm, &m);
    rtl_default(&x.shape, &y);
    rt_move_p mv;
    const rt_tensor *X = &L->p->tensors[*t];
    if (!rtl_gather(&m, &y, X->elems, &mv))
      return node_err(L, n, "its input's layout needs too many dims to copy");
    char name[512];
    snprintf(name, sizeof name, "%s.relayout", L->g->values[v].name);
    int ty = new_tensor(L, name, X->elems, X->scale, X->zp);
    new_move(L, n, *t, ty, &mv, -128, 127);
    L->tdef[v] = ty;
  }
  *t = L->tdef[v];
  return NULL;
}

/* The same, in whatever layout its bytes are (layout_of). */
static cz_err *act_in_any(const lw *L, const cz_node *n, int i, int *t) {
  *t = n->in[i] >= 0 ? L->tid[n->in[i]] : -1;
  if (*t < 0) {
    char m[512];
    snprintf(m, sizeof m, "input %d '%s' is not a dequantized int8 tensor (expected "
             "QuantizeLinear -> DequantizeLinear before it)", i,
             n->in[i] >= 0 ? L->g->values[n->in[i]].name : "(none)");
    return node_err(L, n, m);
  }
  return NULL;
}

/* The DequantizeLinear of a constant feeding slot i, or -1. */
static int const_dq(const lw *L, const cz_node *n, int i) {
  if (i >= n->n_in || n->in[i] < 0) return -1;
  int pr = L->g->values[n->in[i]].producer;
  if (pr < 0) return -1;
  const cz_node *d = &L->g->nodes[pr];
  if (!is_op(d, "DequantizeLinear") || !L->g->values[d->in[0]].data) return -1;
  return pr;
}

static int32_t quant_real(float v, float s, int32_t zp) {
  float q = nearbyintf(v / s) + (float)zp;
  return q < -128.f ? -128 : q > 127.f ? 127 : (int32_t)q;
}

/* The QuantizeLinear that takes n's output, through Relu / Clip nodes with
 * no other reader (their clamps, applied before quantizing, are the same
 * as clamping the quantized value: quantization is monotone). Creates the
 * output tensor; lo, hi: the clamp in the int8 domain. */
typedef struct {
  int qnode; /* the QuantizeLinear */
  float scale;
  int32_t zp, lo, hi;
} outq;

static cz_err *find_q(lw *L, const cz_node *n, int slot, outq *o) {
  const cz_graph *g = L->g;
  int v = n->out[slot];
  float rlo = -INFINITY, rhi = INFINITY;
  for (int hop = 0;; hop++) {
    if (L->nuse[v] != 1 || L->user[v] < 0) break; /* a graph output has no user node */
    const cz_node *u = &g->nodes[L->user[v]];
    if (is_op(u, "QuantizeLinear")) {
      qp q;
      cz_err *e = read_qp(L, u, &q);
      if (e) return e;
      if (q.n != 1) return node_err(L, u, "per-axis quantization of an activation");
      const float s = q.scale[0];
      const int32_t zp = qp_zp(&q, 0);
      o->qnode = L->user[v];
      o->scale = s, o->zp = zp;
      o->lo = isinf(rlo) ? -128 : quant_real(rlo, s, zp);
      o->hi = isinf(rhi) ? 127 : quant_real(rhi, s, zp);
      return NULL;
    }
    float a = -INFINITY, b = INFINITY;
    if (is_op(u, "Relu")) a = 0;
    else if (is_op(u, "Clip")) {
      for (int k = 1; k <= 2; k++) {
        if (u->n_in <= k || u->in[k] < 0) continue;
        const cz_value *c = &g->values[u->in[k]];
        if (!c->data || c->dtype != CZ_F32) break;
        *(k == 1 ? &a : &b) = *(const float *)c->data;
      }
    } else break;
    rlo = rlo > a ? rlo : a;
    rhi = rhi < b ? rhi : b;
    v = u->out[0];
  }
  char m[512];
  snprintf(m, sizeof m, "its output '%s' is not quantized (expected one QuantizeLinear after "
           "it, Relu or Clip allowed in between)", g->values[n->out[slot]].name);
  return node_err(L, n, m);
}

/* Takes the chain find_q found: marks its nodes done and creates the
 * output tensor (output k of n). */
static int take_q(lw *L, const cz_node *n, int k, const outq *o) {
  const cz_graph *g = L->g;
  for (int v = n->out[k]; L->user[v] != o->qnode; v = g->nodes[L->user[v]].out[0])
    L->done[L->user[v]] = true;
  L->done[o->qnode] = true;
  const cz_value *qv = &g->values[g->nodes[o->qnode].out[0]];
  int t = new_tensor(L, qv->name, per_image(qv), o->scale, o->zp);
  L->tid[g->nodes[o->qnode].out[0]] = t;
  return t;
}

static cz_err *out_q(lw *L, const cz_node *n, int *t, int32_t *lo, int32_t *hi) {
  outq o;
  cz_err *e = find_q(L, n, 0, &o);
  if (e) return e;
  *t = take_q(L, n, 0, &o);
  *lo = o.lo, *hi = o.hi;
  return NULL;
}

/* Weights of a Conv / Gemm: the int8 or uint8 constant and its
 * DequantizeLinear's scales and zero points (one per output or one). */
typedef struct {
  const cz_value *w;
  qp q;
} wdq;

static int32_t w_at(const wdq *W, int64_t i) {
  return W->w->dtype == CZ_U8 ? (int32_t)((const uint8_t *)W->w->data)[i] - 128
                              : ((const int8_t *)W->w->data)[i];
}

static cz_err *get_weights(const lw *L, const cz_node *n, int slot, int64_t outs, int axis,
                           wdq *W) {
  int d = const_dq(L, n, slot);
  if (d < 0) return node_err(L, n, "its weights are not a dequantized int8 constant");
  const cz_node *dn = &L->g->nodes[d];
  W->w = &L->g->values[dn->in[0]];
  if (W->w->dtype != CZ_I8 && W->w->dtype != CZ_U8)
    return node_err(L, n, "its weights are not int8 or uint8");
  cz_err *e = read_qp(L, dn, &W->q);
  if (e) return e;
  if (W->q.n != 1) {
    const cz_attr *ax = cz_node_attr(dn, "axis");
    int a = ax ? (int)ax->i : 1;
    if (a < 0) a += W->w->shape.rank;
    if (W->q.n != outs || a != axis)
      return node_err(L, n, "its weights are quantized per axis along another axis than the "
                      "outputs");
  }
  return NULL;
}

/* Bias as int32 at scale sx * sw[o]: from a DequantizeLinear of int32 (the
 * usual case: copied when the scales agree) or a float constant. */
static cz_err *get_bias(const lw *L, const cz_node *n, int slot, int64_t outs, float sx,
                        const wdq *W, int32_t **out) {
  *out = NULL;
  if (slot >= n->n_in || n->in[slot] < 0) return NULL;
  const cz_graph *g = L->g;
  int d = const_dq(L, n, slot);
  qp q = {0};
  const cz_value *b;
  if (d >= 0) {
    cz_err *e = read_qp(L, &g->nodes[d], &q);
    if (e) return e;
    b = &g->values[g->nodes[d].in[0]];
    if (b->dtype != CZ_I32) return node_err(L, n, "its quantized bias is not int32");
  } else {
    b = &g->values[n->in[slot]];
    if (!b->data || b->dtype != CZ_F32)
      return node_err(L, n, "its bias is neither a constant nor a dequantized constant");
  }
  if (cz_shape_numel(&b->shape) != outs) return node_err(L, n, "its bias has the wrong size");
  int32_t *r = cz_xmalloc((size_t)outs * sizeof *r);
  for (int64_t o = 0; o < outs; o++) {
    double real = d >= 0 ? (double)qp_scale(&q, o) *
                               ((double)((const int32_t *)b->data)[o] - qp_zp(&q, o))
                         : (double)((const float *)b->data)[o];
    double v = nearbyint(real / ((double)sx * (double)qp_scale(&W->q, o)));
    if (!(fabs(v) < 2147483647.0)) {
      free(r);
      return node_err(L, n, "a bias does not fit int32 at the input x weight scale");
    }
    r[o] = (int32_t)v;
  }
  *out = r;
  return NULL;
}

/* Conv (groups, depthwise, any stride / pad / dilation) and Gemm/MatMul as
 * a 1x1 convolution. */
static cz_err *lower_conv(lw *L, const cz_node *n, bool fc) {
  const cz_graph *g = L->g;
  int tx, ty;
  int32_t lo, hi;
  cz_err *e = act_in(L, n, 0, &tx);
  if (e) return e;
  const cz_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  rt_conv_p cp = {0};
  wdq W;
  int bias_slot = 2;
  bool transB = true;
  if (!fc) {
    const cz_k_conv *k = n->priv; /* Conv's parsed attributes start with its cz_k_conv */
    cp.c = (int)k->C, cp.h = (int)k->H, cp.w = (int)k->W, cp.oc = (int)k->M;
    cp.oh = (int)k->Ho, cp.ow = (int)k->Wo, cp.kh = (int)k->kh, cp.kw = (int)k->kw;
    cp.sh = (int)k->sh, cp.sw = (int)k->sw, cp.dh = (int)k->dh, cp.dw = (int)k->dw;
    cp.pad_t = (int)k->pt, cp.pad_l = (int)k->pl, cp.groups = (int)k->group;
  } else {
    if (x->shape.rank != 2) return node_err(L, n, "its input is not 2-D");
    if (is_op(n, "Gemm")) {
      const cz_attr *a;
      if ((a = cz_node_attr(n, "transA")) && a->i) return node_err(L, n, "transA = 1");
      if ((a = cz_node_attr(n, "alpha")) && a->f != 1.f) return node_err(L, n, "alpha != 1");
      if ((a = cz_node_attr(n, "beta")) && a->f != 1.f) return node_err(L, n, "beta != 1");
      a = cz_node_attr(n, "transB");
      transB = a && a->i;
    } else {
      transB = false;
      bias_slot = 99;
    }
    cp.c = (int)x->shape.d[1];
    cp.oc = (int)y->shape.d[1];
    cp.h = cp.w = cp.oh = cp.ow = cp.kh = cp.kw = cp.sh = cp.sw = cp.dh = cp.dw = 1;
    cp.groups = 1;
  }
  cp.n = L->batch;
  const int cg = cp.c / cp.groups, taps = cp.kh * cp.kw;
  if ((int64_t)taps * cg > 33000)
    return node_err(L, n, "a reduction longer than 33000 could overflow int32 sums");
  if ((e = get_weights(L, n, 1, cp.oc, fc && !transB ? 1 : 0, &W))) return e;
  const rt_tensor *X = &L->p->tensors[tx];
  cp.in_zp = X->zp;
  int32_t *bias = NULL;
  if ((e = get_bias(L, n, bias_slot, cp.oc, X->scale, &W, &bias))) return e;
  if ((e = out_q(L, n, &ty, &lo, &hi))) {
    free(bias);
    return e;
  }
  X = &L->p->tensors[tx]; /* out_q may have moved the tensor array */
  /* OHWI (channels last, as the NHWC kernels read them) from OIHW / [K,O]. */
  int8_t *w = cz_xmalloc((size_t)cp.oc * taps * cg);
  int32_t *wz = cz_xmalloc((size_t)cp.oc * sizeof *wz), *mult = cz_xmalloc((size_t)cp.oc * 4),
          *shift = cz_xmalloc((size_t)cp.oc * 4);
  for (int o = 0; o < cp.oc; o++) {
    for (int t = 0; t < taps; t++)
      for (int i = 0; i < cg; i++) {
        int64_t src = fc ? (transB ? (int64_t)o * cp.c + i : (int64_t)i * cp.oc + o)
                         : ((int64_t)o * cg + i) * taps + t;
        w[((int64_t)o * taps + t) * cg + i] = (int8_t)w_at(&W, src);
      }
    wz[o] = qp_zp(&W.q, o);
    double real = (double)X->scale * qp_scale(&W.q, o) / L->p->tensors[ty].scale;
    rt_qmult(real, &mult[o], &shift[o]);
  }
  cp.weight = w;
  cp.w_zp = wz;
  cp.bias = bias;
  cp.rq = (rt_requant_p){mult, shift, 1, L->p->tensors[ty].zp, lo, hi};
  rt_step *s = new_step(L, RT_STEP_CONV, n, tx, -1, ty, fc ? 1 : cp.oh);
  s->work = (int64_t)cp.oh * cp.ow * cp.oc * taps * cg;
  rt_conv_fast_init(&s->conv, &cp);
  s->own[0] = w, s->own[1] = wz, s->own[2] = bias, s->own[3] = mult, s->own[4] = shift;
  return NULL;
}

/* Rows of an NHWC (or 2-D) activation per image and elements per row. */
static void row_geom(const cz_value *v, int *rows, int *len) {
  if (v->shape.rank == 4) *rows = (int)v->shape.d[2], *len = (int)(v->shape.d[3] * v->shape.d[1]);
  else *rows = 1, *len = (int)per_image(v);
}

static cz_err *lower_binary(lw *L, const cz_node *n, bool add) {
  const cz_graph *g = L->g;
  int ta, tb, ty;
  int32_t lo, hi;
  cz_err *e;
  if ((e = act_in(L, n, 0, &ta)) || (e = act_in(L, n, 1, &tb))) return e;
  const cz_value *va = &g->values[n->in[0]], *vb = &g->values[n->in[1]];
  if (per_image(va) < per_image(vb)) { /* the full-size operand first */
    int t = ta;
    ta = tb, tb = t;
    const cz_value *v = va;
    va = vb, vb = v;
  }
  int rows, len;
  row_geom(va, &rows, &len);
  rt_bcast bc;
  if (cz_shape_eq(&va->shape, &vb->shape)) bc = (rt_bcast){len, 1, len};
  else if (va->shape.rank == 4 && vb->shape.rank == 4 && vb->shape.d[1] == va->shape.d[1] &&
           vb->shape.d[2] == 1 && vb->shape.d[3] == 1)
    bc = (rt_bcast){(int)va->shape.d[1], rows, (int)va->shape.d[1]};
  else return node_err(L, n, "broadcasting other than [N,C,1,1] against [N,C,H,W]");
  if ((e = out_q(L, n, &ty, &lo, &hi))) return e;
  const rt_tensor *A = &L->p->tensors[ta], *B = &L->p->tensors[tb], *Y = &L->p->tensors[ty];
  rt_step *s = new_step(L, add ? RT_STEP_ADD : RT_STEP_MUL, n, ta, tb, ty, rows);
  s->work = 8 * (int64_t)rows * len; /* three requantizations an element */
  if (add) {
    rt_add_params(A->scale, A->zp, B->scale, B->zp, Y->scale, Y->zp, lo, hi, &s->add);
    s->add.row_len = len;
    s->add.b = bc;
  } else {
    s->mul = (rt_mul_p){.row_len = len, .b = bc, .a_zp = A->zp, .b_zp = B->zp,
                        .out_zp = Y->zp, .act_min = lo, .act_max = hi};
    rt_qmult((double)A->scale * B->scale / Y->scale, &s->mul.mult, &s->mul.shift);
  }
  return NULL;
}

static cz_err *lower_pool(lw *L, const cz_node *n, rt_step_kind kind) {
  const cz_graph *g = L->g;
  int tx, ty;
  int32_t lo, hi;
  cz_err *e;
  if ((e = act_in(L, n, 0, &tx))) return e;
  if (n->n_out > 1 && n->out[1] >= 0) return node_err(L, n, "MaxPool indices output");
  const cz_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  if (x->shape.rank != 4) return node_err(L, n, "its input is not [N,C,H,W]");
  if ((e = out_q(L, n, &ty, &lo, &hi))) return e;
  const rt_tensor *X = &L->p->tensors[tx], *Y = &L->p->tensors[ty];
  rt_pool_p pp = {0};
  pp.n = L->batch, pp.c = (int)x->shape.d[1], pp.h = (int)x->shape.d[2], pp.w = (int)x->shape.d[3];
  pp.oh = (int)y->shape.d[2], pp.ow = (int)y->shape.d[3];
  pp.in_zp = X->zp, pp.out_zp = Y->zp, pp.act_min = lo, pp.act_max = hi;
  int ncount = 1;
  if (kind == RT_STEP_GAVGPOOL) {
    pp.kh = pp.h, pp.kw = pp.w, pp.sh = pp.sw = 1;
  } else {
    const cz_pool *k = n->priv;
    if (k->d[0] != 1 || k->d[1] != 1) return node_err(L, n, "dilated pooling");
    pp.kh = (int)k->k[0], pp.kw = (int)k->k[1], pp.sh = (int)k->s[0], pp.sw = (int)k->s[1];
    pp.pad_t = (int)k->pb[0], pp.pad_l = (int)k->pb[1];
    pp.count_include_pad = k->count_include_pad;
    if (kind == RT_STEP_AVGPOOL) ncount = pp.kh * pp.kw + 1;
  }
  int32_t *m = cz_xcalloc((size_t)ncount, 4), *sh = cz_xcalloc((size_t)ncount, 4);
  if (kind == RT_STEP_AVGPOOL)
    for (int c = 1; c < ncount; c++) rt_qmult((double)X->scale / ((double)Y->scale * c), &m[c], &sh[c]);
  else if (kind == RT_STEP_GAVGPOOL)
    rt_qmult((double)X->scale / ((double)Y->scale * pp.h * pp.w), &m[0], &sh[0]);
  else {
    pp.identity = X->scale == Y->scale && X->zp == Y->zp;
    rt_qmult((double)X->scale / Y->scale, &m[0], &sh[0]);
  }
  pp.mult = m, pp.shift = sh;
  rt_step *s = new_step(L, kind, n, tx, -1, ty, kind == RT_STEP_GAVGPOOL ? 1 : pp.oh);
  s->pool = pp;
  s->pool_mult = m, s->pool_shift = sh;
  s->work = (int64_t)pp.oh * pp.ow * pp.c * pp.kh * pp.kw;
  return NULL;
}

static void copy_params(const rt_tensor *X, const rt_tensor *Y, int len, int xs, int ys,
                        int32_t lo, int32_t hi, rt_requant_copy_p *c) {
  *c = (rt_requant_copy_p){.len = len, .x_stride = xs, .y_stride = ys, .in_zp = X->zp,
                           .out_zp = Y->zp, .act_min = lo, .act_max = hi};
  c->identity = X->scale == Y->scale && X->zp == Y->zp && lo == -128 && hi == 127;
  rt_qmult((double)X->scale / Y->scale, &c->mult, &c->shift);
}

static rt_step *new_move(lw *L, const cz_node *n, int tx, int ty, const rt_move_p *mv,
                         int32_t lo, int32_t hi) {
  const rt_tensor *X = &L->p->tensors[tx], *Y = &L->p->tensors[ty];
  rt_step *s = new_step(L, RT_STEP_MOVE, n, tx, -1, ty, mv->rows);
  s->move = *mv;
  s->move.in_zp = X->zp, s->move.out_zp = Y->zp, s->move.act_min = lo, s->move.act_max = hi;
  s->move.identity = X->scale == Y->scale && X->zp == Y->zp && lo == -128 && hi == 127;
  rt_qmult((double)X->scale / Y->scale, &s->move.mult, &s->move.shift);
  s->work = (int64_t)mv->rows * mv->row_len;
  return s;
}

/* Output k of a data-movement op whose elements map is m: no step at all
 * when the output keeps the input's bytes and quantization (its value
 * aliases the input's tensor, in the layout that says so), else a
 * strided gather into a tensor of the default layout. */
static cz_err *move_out(lw *L, const cz_node *n, int k, int tx, const rtl_map *m) {
  const cz_graph *g = L->g;
  outq o;
  cz_err *e = find_q(L, n, k, &o);
  const rt_tensor *X = &L->p->tensors[tx];
  if (e && n->out[k] == g->outputs[0] && g->values[n->in[0]].producer >= 0 &&
      is_op(&g->nodes[g->values[n->in[0]].producer], "DequantizeLinear")) {
    /* A float Flatten / Reshape after the last DequantizeLinear (neither
     * onnxruntime nor czoo quantizes a trailing Flatten): moving the int8
     * values then dequantizing gives the same floats. */
    cz_err_free(e);
    rtl_layout y;
    rtl_pick_order(m, X->elems, &y);
    if (rtl_is_identity(m, &y, X->elems) && rtl_is_default(&y)) {
      L->tid[n->out[k]] = tx;
    } else {
      rtl_default(&m->out, &y);
      rt_move_p mv;
      if (!rtl_gather(m, &y, X->elems, &mv))
        return node_err(L, n, "this data movement needs more than 7 strided dims");
      int ty = new_tensor(L, g->values[n->out[k]].name, X->elems, X->scale, X->zp);
      L->tid[n->out[k]] = ty;
      new_move(L, n, tx, ty, &mv, -128, 127);
    }
    L->tail_out = n->out[k];
    return NULL;
  }
  if (e) return e;
  const int qv = g->nodes[o.qnode].out[0];
  rtl_layout y;
  rtl_pick_order(m, X->elems, &y);
  if (o.scale == X->scale && o.zp == X->zp && o.lo == -128 && o.hi == 127 &&
      rtl_is_identity(m, &y, X->elems)) {
    for (int v = n->out[k]; L->user[v] != o.qnode; v = g->nodes[L->user[v]].out[0])
      L->done[L->user[v]] = true;
    L->done[o.qnode] = true;
    L->tid[qv] = tx;
    y.shape = g->values[qv].shape;
    set_layout(L, qv, &y);
    return NULL;
  }
  rtl_default(&m->out, &y);
  rt_move_p mv;
  if (!rtl_gather(m, &y, X->elems, &mv))
    return node_err(L, n, "this data movement needs more than 7 strided dims");
  int ty = take_q(L, n, k, &o);
  new_move(L, n, tx, ty, &mv, o.lo, o.hi);
  return NULL;
}

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity (row-major element
 * order kept), Transpose and Slice: a map of the output's elements into
 * the input's bytes (rt_lower_layout.h). The batch axis must stay first
 * and whole. */
static cz_err *lower_move(lw *L, const cz_node *n) {
  const cz_graph *g = L->g;
  int tx;
  cz_err *e;
  if ((e = act_in_any(L, n, 0, &tx))) return e;
  const cz_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
  rtl_layout lx;
  layout_of(L, n->in[0], &lx);
  lx.shape = x->shape;
  rtl_map m;
  bool ok;
  if (is_op(n, "Transpose")) {
    int perm[CZ_MAX_RANK];
    const cz_attr *a = cz_node_attr(n, "perm");
    for (int k = 0; k < x->shape.rank; k++)
      perm[k] = a && k < a->n ? (int)a->ints[k] : x->shape.rank - 1 - k;
    if (perm[0] != 0) return node_err(L, n, "a transpose that moves the batch axis");
    ok = rtl_map_transpose(&lx, perm, &m);
  } else if (is_op(n, "Slice")) {
    int64_t start[CZ_MAX_RANK], step[CZ_MAX_RANK];
    cz_slice_view(n, start, step);
    if (start[0] != 0 || step[0] != 1 || y->shape.d[0] != x->shape.d[0])
      return node_err(L, n, "a slice of the batch axis");
    ok = rtl_map_slice(&lx, start, step, &y->shape, &m);
  } else {
    if (y->shape.rank < 1 || y->shape.d[0] != x->shape.d[0])
      return node_err(L, n, "a reshape that changes the batch axis");
    ok = rtl_map_reshape(&lx, &y->shape, &m);
  }
  if (!ok) return node_err(L, n, "this reshape has no common refinement of its input and output "
                           "shapes (e.g. [6,4] -> [4,6])");
  return move_out(L, n, 0, tx, &m);
}

/* Split along a non-batch axis: each output a slice of the input. */
static cz_err *lower_split(lw *L, const cz_node *n) {
  const cz_graph *g = L->g;
  int tx;
  cz_err *e;
  if ((e = act_in_any(L, n, 0, &tx))) return e;
  const cz_value *x = &g->values[n->in[0]];
  int axis = -1;
  for (int a = 0; a < x->shape.rank; a++)
    if (g->values[n->out[0]].shape.d[a] != x->shape.d[a]) axis = a;
  const cz_attr *at = cz_node_attr(n, "axis");
  if (at) axis = (int)(at->i < 0 ? at->i + x->shape.rank : at->i);
  if (axis <= 0) return node_err(L, n, "a split of the batch axis");
  rtl_layout lx;
  layout_of(L, n->in[0], &lx);
  lx.shape = x->shape;
  int64_t start[CZ_MAX_RANK] = {0}, step[CZ_MAX_RANK];
  for (int a = 0; a < CZ_MAX_RANK; a++) step[a] = 1;
  for (int k = 0; k < n->n_out; k++) {
    if (n->out[k] < 0) continue;
    const cz_value *y = &g->values[n->out[k]];
    rtl_map m;
    if (!rtl_map_slice(&lx, start, step, &y->shape, &m))
      return node_err(L, n, "a split of the batch axis");
    if ((e = move_out(L, n, k, tx, &m))) return e;
    start[axis] += y->shape.d[axis];
  }
  return NULL;
}

/* Softmax over the last physical axis (an NHWC map's channels, a row of
 * logits): rt_softmax_ref's table of exp(-in_scale * d), d = 0..255, at
 * 2^q, q as large as the 64-bit division allows (at most 24). */
static cz_err *lower_softmax(lw *L, const cz_node *n) {
  const cz_graph *g = L->g;
  int tx, ty;
  int32_t lo, hi;
  cz_err *e;
  if ((e = act_in(L, n, 0, &tx))) return e;
  const cz_value *x = &g->values[n->in[0]];
  const int r = x->shape.rank;
  const cz_attr *at = cz_node_attr(n, "axis");
  int axis = at ? (int)at->i : -1;
  if (axis < 0) axis += r;
  const int last = r == 4 ? 1 : r - 1; /* the contiguous axis of the default layout */
  if (axis != last || axis < 1)
    return node_err(L, n, "softmax along an axis that is not the innermost one in memory "
                    "(channels of a [N,C,H,W] map, the last axis otherwise)");
  if ((e = out_q(L, n, &ty, &lo, &hi))) return e;
  const rt_tensor *X = &L->p->tensors[tx], *Y = &L->p->tensors[ty];
  const int len = (int)x->shape.d[axis];
  int32_t mult, shift;
  const double inv = 1.0 / Y->scale;
  if (inv >= 1073741824.0) return node_err(L, n, "its output scale is below 2^-30");
  rt_qmult(inv, &mult, &shift);
  const int total = 31 - shift;
  int q = 24;
  while (q > 0 && (double)len * ldexp(1.0, q + total) >= ldexp(1.0, 62)) q--;
  if (q < 12) return node_err(L, n, "its row is too long for the 64-bit softmax arithmetic");
  int32_t *tab = cz_xmalloc(256 * sizeof *tab);
  for (int d = 0; d < 256; d++) tab[d] = (int32_t)nearbyint(ldexp(exp(-(double)X->scale * d), q));
  const int rows = (int)(per_image(x) / len);
  rt_step *s = new_step(L, RT_STEP_SOFTMAX, n, tx, -1, ty, rows);
  s->softmax = (rt_softmax_p){.len = len, .q = q, .exp_tab = tab, .mult = mult, .shift = shift,
                              .out_zp = Y->zp, .act_min = lo, .act_max = hi};
  s->own[0] = tab;
  s->work = 4 * (int64_t)rows * len;
  return NULL;
}

static cz_err *lower_concat(lw *L, const cz_node *n) {
  const cz_graph *g = L->g;
  int ty;
  int32_t lo, hi;
  cz_err *e;
  const cz_value *y = &g->values[n->out[0]];
  const cz_attr *ax = cz_node_attr(n, "axis");
  int axis = ax ? (int)ax->i : 0;
  if (axis < 0) axis += y->shape.rank;
  if (axis != 1) return node_err(L, n, "concatenation along an axis other than channels");
  int tin[CZ_MAX_IO];
  for (int i = 0; i < n->n_in; i++)
    if ((e = act_in(L, n, i, &tin[i]))) return e;
  if ((e = out_q(L, n, &ty, &lo, &hi))) return e;
  const int c_out = (int)y->shape.d[1];
  const int pix = y->shape.rank == 4 ? (int)(y->shape.d[2] * y->shape.d[3]) : 1;
  int off = 0;
  for (int i = 0; i < n->n_in; i++) {
    int ci = (int)g->values[n->in[i]].shape.d[1];
    rt_step *s = new_step(L, RT_STEP_COPY, n, tin[i], -1, ty, pix);
    copy_params(&L->p->tensors[tin[i]], &L->p->tensors[ty], ci, ci, c_out, lo, hi, &s->copy);
    s->out_off = off;
    off += ci;
  }
  return NULL;
}

/* Unary ops as a 256-entry table: DequantizeLinear, the float op, then
 * QuantizeLinear, for each of the 256 inputs (exactly what the QDQ graph
 * says, computed once). */
static cz_err *lower_lut(lw *L, const cz_node *n) {
  const cz_graph *g = L->g;
  int tx, ty;
  int32_t lo, hi;
  cz_err *e;
  if ((e = act_in(L, n, 0, &tx))) return e;
  float a = 0, b = 0;
  const cz_attr *at;
  if (is_op(n, "Clip")) {
    a = -INFINITY, b = INFINITY;
    for (int k = 1; k <= 2; k++)
      if (n->n_in > k && n->in[k] >= 0) {
        const cz_value *c = &g->values[n->in[k]];
        if (!c->data) return node_err(L, n, "its bounds are not constants");
        *(k == 1 ? &a : &b) = *(const float *)c->data;
      }
  } else if (is_op(n, "HardSigmoid")) {
    a = (at = cz_node_attr(n, "alpha")) ? at->f : 0.2f;
    b = (at = cz_node_attr(n, "beta")) ? at->f : 0.5f;
  } else if (is_op(n, "LeakyRelu")) {
    a = (at = cz_node_attr(n, "alpha")) ? at->f : 0.01f;
  }
  if ((e = out_q(L, n, &ty, &lo, &hi))) return e;
  const rt_tensor *X = &L->p->tensors[tx], *Y = &L->p->tensors[ty];
  int rows, len;
  row_geom(&g->values[n->in[0]], &rows, &len);
  rt_step *s = new_step(L, RT_STEP_LUT, n, tx, -1, ty, rows);
  s->work = (int64_t)rows * len;
  s->lut_row = len;
  for (int q = -128; q < 128; q++) {
    float v = ((float)q - (float)X->zp) * X->scale, r;
    if (is_op(n, "Relu")) r = v > 0 ? v : 0;
    else if (is_op(n, "Clip")) r = v < a ? a : v > b ? b : v;
    else if (is_op(n, "Sigmoid")) r = 1.f / (1.f + expf(-v));
    else if (is_op(n, "Tanh")) r = tanhf(v);
    else if (is_op(n, "HardSigmoid")) r = fmaxf(0.f, fminf(1.f, a * v + b));
    else if (is_op(n, "HardSwish")) r = v * fmaxf(0.f, fminf(1.f, v / 6.f + 0.5f));
    else if (is_op(n, "LeakyRelu")) r = v >= 0 ? v : a * v;
    else r = v * (1.f / (1.f + expf(-v))); /* Silu */
    int32_t o = quant_real(r, Y->scale, Y->zp);
    s->lut[q + 128] = (int8_t)(o < lo ? lo : o > hi ? hi : o);
  }
  return NULL;
}

static cz_err *lower_node(lw *L, int i) {
  const cz_graph *g = L->g;
  const cz_node *n = &g->nodes[i];
  if (L->done[i]) return NULL;
  if (is_op(n, "DequantizeLinear")) {
    const cz_value *x = &g->values[n->in[0]];
    if (x->data) return NULL; /* a weight: read by its consumer */
    if (L->tid[n->in[0]] < 0) return node_err(L, n, "its input is not an int8 tensor of the plan");
    L->tid[n->out[0]] = L->tid[n->in[0]];
    if (L->has_lay[n->in[0]]) {
      L->lay[n->out[0]] = L->lay[n->in[0]];
      L->has_lay[n->out[0]] = true;
      L->tdef[n->out[0]] = L->tdef[n->in[0]];
    }
    return NULL;
  }
  if (is_op(n, "QuantizeLinear")) {
    qp q;
    cz_err *e = read_qp(L, n, &q);
    if (e) return e;
    if (q.n != 1) return node_err(L, n, "per-axis quantization of an activation");
    const cz_value *x = &g->values[n->in[0]], *y = &g->values[n->out[0]];
    if (n->in[0] == g->inputs[0]) {
      if (L->p->input >= 0) return node_err(L, n, "the input is quantized twice");
      if (x->shape.rank != 4) return node_err(L, n, "the model input is not [N,C,H,W]");
      int t = new_tensor(L, y->name, per_image(y), q.scale[0], qp_zp(&q, 0));
      L->tid[n->out[0]] = t;
      L->p->input = t;
      L->p->input_u8 = q.u8;
      return NULL;
    }
    int tx;
    if ((e = act_in(L, n, 0, &tx))) return e;
    int t = new_tensor(L, y->name, per_image(y), q.scale[0], qp_zp(&q, 0));
    L->tid[n->out[0]] = t;
    int len = (int)per_image(y);
    rt_step *s = new_step(L, RT_STEP_COPY, n, tx, -1, t, 1);
    copy_params(&L->p->tensors[tx], &L->p->tensors[t], len, len, len, -128, 127, &s->copy);
    return NULL;
  }
  if (is_op(n, "Conv")) return lower_conv(L, n, false);
  if (is_op(n, "Gemm") || is_op(n, "MatMul")) return lower_conv(L, n, true);
  if (is_op(n, "Add")) return lower_binary(L, n, true);
  if (is_op(n, "Mul")) return lower_binary(L, n, false);
  if (is_op(n, "GlobalAveragePool")) return lower_pool(L, n, RT_STEP_GAVGPOOL);
  if (is_op(n, "AveragePool")) return lower_pool(L, n, RT_STEP_AVGPOOL);
  if (is_op(n, "MaxPool")) return lower_pool(L, n, RT_STEP_MAXPOOL);
  if (is_op(n, "Flatten") || is_op(n, "Reshape") || is_op(n, "Identity") ||
      is_op(n, "Squeeze") || is_op(n, "Unsqueeze") || is_op(n, "Transpose") || is_op(n, "Slice"))
    return lower_move(L, n);
  if (is_op(n, "Split")) return lower_split(L, n);
  if (is_op(n, "Softmax")) return lower_softmax(L, n);
  if (is_op(n, "Concat")) return lower_concat(L, n);
  if (is_op(n, "Relu") || is_op(n, "Clip") || is_op(n, "Sigmoid") || is_op(n, "Tanh") ||
      is_op(n, "HardSigmoid") || is_op(n, "HardSwish") || is_op(n, "LeakyRelu") ||
      is_op(n, "Silu"))
    return lower_lut(L, n);
  return node_err(L, n, "this op has no int8 kernel (supported: Conv, Gemm, MatMul, Add, Mul, "
                  "AveragePool, MaxPool, GlobalAveragePool, Flatten, Reshape, Squeeze, Unsqueeze, "
                  "Transpose, Slice, Split, Concat, Softmax, Relu, Clip, Sigmoid, Tanh, "
                  "HardSigmoid, HardSwish, LeakyRelu, Silu, between "
                  "DequantizeLinear and QuantizeLinear)");
}

cz_err *rt_lower(const cz_graph *g, int batch, const char *what, rt_plan **out) {
  *out = NULL;
  if (g->n_inputs != 1 || g->n_outputs != 1)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: the int8 engine runs models with one input and one "
                      "output (found %d and %d)", what, g->n_inputs, g->n_outputs);
  lw L = {.g = g, .batch = batch, .what = what};
  L.p = cz_xcalloc(1, sizeof *L.p);
  L.p->batch = batch;
  L.p->input = L.p->output = -1;
  L.tid = cz_xmalloc((size_t)g->n_values * sizeof(int));
  L.nuse = cz_xcalloc((size_t)g->n_values, sizeof(int));
  L.user = cz_xcalloc((size_t)g->n_values, sizeof(int));
  L.done = cz_xcalloc((size_t)g->n_nodes + 1, sizeof(bool));
  L.lay = cz_xcalloc((size_t)g->n_values, sizeof *L.lay);
  L.has_lay = cz_xcalloc((size_t)g->n_values, sizeof(bool));
  L.tdef = cz_xmalloc((size_t)g->n_values * sizeof(int));
  for (int v = 0; v < g->n_values; v++) L.tid[v] = L.tdef[v] = L.user[v] = -1;
  L.tail_out = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] >= 0) {
        L.nuse[g->nodes[i].in[k]]++;
        L.user[g->nodes[i].in[k]] = i;
      }
  for (int k = 0; k < g->n_outputs; k++) L.nuse[g->outputs[k]]++; /* read by the caller */
  cz_err *e = NULL;
  for (int i = 0; i < g->n_nodes && !e; i++) e = lower_node(&L, i);
  const cz_value *yo = &g->values[g->outputs[0]];
  if (!e && L.p->input < 0)
    e = cz_err_new(CZ_EXIT_RUNTIME, "%s: the input '%s' is not quantized (expected a "
                   "QuantizeLinear reading it): not a QDQ model the int8 engine can run", what,
                   g->values[g->inputs[0]].name);
  if (!e && (yo->producer < 0 || L.tid[g->outputs[0]] < 0 ||
             (!is_op(&g->nodes[yo->producer], "DequantizeLinear") && L.tail_out != g->outputs[0])))
    e = cz_err_new(CZ_EXIT_RUNTIME, "%s: the output '%s' is not a dequantized int8 tensor "
                   "(expected DequantizeLinear at the end)", what, yo->name);
  if (!e && yo->shape.rank != 2)
    e = cz_err_new(CZ_EXIT_RUNTIME, "%s: output '%s' has rank %d: expected [batch, classes]",
                   what, yo->name, yo->shape.rank);
  if (!e) {
    rt_plan *p = L.p;
    p->output = L.tid[g->outputs[0]];
    p->out_dims = (int)p->tensors[p->output].elems;
    const cz_value *xi = &g->values[g->inputs[0]];
    p->in_c = (int)xi->shape.d[1], p->in_h = (int)xi->shape.d[2], p->in_w = (int)xi->shape.d[3];
    size_t slot = 64;
    for (int i = 0; i < p->n_steps; i++) {
      size_t b = p->steps[i].kind == RT_STEP_CONV ? rt_conv_fast_scratch(&p->steps[i].conv)
                 : p->steps[i].kind == RT_STEP_GAVGPOOL ? (size_t)p->steps[i].pool.c * 4
                                                        : 0;
      if (b > slot) slot = b;
    }
    p->scratch_slot = (slot + 63) / 64 * 64;
    p->scratch = cz_xcalloc(CZ_K_SLOTS, p->scratch_slot);
  }
  free(L.tid);
  free(L.nuse);
  free(L.user);
  free(L.done);
  free(L.lay);
  free(L.has_lay);
  free(L.tdef);
  if (e) {
    rt_plan_free(L.p);
    return e;
  }
  *out = L.p;
  return NULL;
}
