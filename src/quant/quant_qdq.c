/* The QDQ rewrite (onnxruntime 1.20.1 quantization/qdq_quantizer.py
 * QDQQuantizer.quantize_model with base_quantizer.py and the QDQ op
 * quantizers in operators/): nodes are visited in graph order and each
 * selected op marks the tensors it wants quantized:
 *  - Conv: input 0 and output (activations), weight (per channel axis 0 or
 *    per tensor), bias (int32, scale = input scale x weight scale);
 *  - Gemm: the same, weight axis 0 with transB else 1, bias scale x beta;
 *  - MatMul: every input and output, initializers as weights (axis 1);
 *  - Relu / Clip: when input 0 is quantized and activations are
 *    asymmetric, the activation is removed and its producer writes its
 *    output directly (ranges: the activation's output); else both sides;
 *  - Reshape, Transpose, Squeeze, Unsqueeze, Slice, AveragePool, MaxPool:
 *    when input 0 is quantized, the output shares its scale / zero point;
 *  - Split: input 0, outputs sharing its parameters; Pad: inputs, output
 *    sharing when the padding is 0 / reflect / edge;
 *  - any other selected op (Add, Mul, Concat, GlobalAveragePool, Sigmoid,
 *    Softmax, ...): every float input and output.
 * Then: activation ranges (the input of a Relu/Clip with a single consumer
 * takes the activation's output range; Softmax outputs [0, 1]) give scale
 * and zero point; weights are quantized from their own data (per-channel
 * weights always symmetric); a weight scale is raised when the bias scale
 * it implies would overflow int32; Q -> DQ pairs follow each activation's
 * producer (a graph output keeps its name on the DQ), weights become
 * int8/uint8 initializers behind a DQ, biases int32 behind a DQ named as
 * the bias. Names are onnxruntime's: T_QuantizeLinear(_Output),
 * T_DequantizeLinear(_Output), T_scale, T_zero_point, W_quantized,
 * B_quantized(_scale, _zero_point). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_edit.h"
#include "ops/op.h"
#include "quant/quant_priv.h"
#include "util/mem.h"

typedef struct {
  int v;
  bool weight;  /* WEIGHT (else ACTIVATION) */
  int axis;     /* per-channel axis, -1 none */
  int prov;     /* shared: the input whose parameters it reuses, -1 none */
  /* initializer parameters (computed after the walk) */
  int n;
  float *scale;
  int32_t *zp;
  cz_dtype qtype;
  bool done;
} tq_ent;

typedef struct {
  int bias, node, input, weight;
  float beta;
} bq_ent;

typedef struct {
  int v, scale, zp;
} qv_ent;

typedef struct {
  cz_graph *g;
  const cz_quant_opts *o;
  q_range *rng; /* adjusted ranges, by original value id */
  int nv0, nn0;
  tq_ent *tq;
  int ntq;
  bq_ent *bq;
  int nbq;
  qv_ent *qv;
  int nqv;
  int n_made;
} rw;

static bool is_init(const cz_graph *g, int v) {
  const cz_value *x = &g->values[v];
  return x->data && x->kind != CZ_V_ACT && x->kind != CZ_V_INPUT;
}

static bool quantizable(const rw *r, int v) {
  if (v < 0) return false;
  const cz_value *x = &r->g->values[v];
  return x->dtype == CZ_F32 && (is_init(r->g, v) || x->kind == CZ_V_ACT || x->kind == CZ_V_INPUT);
}

static int find_tq(const rw *r, int v) {
  for (int i = 0; i < r->ntq; i++)
    if (r->tq[i].v == v) return i;
  return -1;
}

static int find_bq(const rw *r, int v) {
  for (int i = 0; i < r->nbq; i++)
    if (r->bq[i].bias == v) return i;
  return -1;
}

static tq_ent *tq_put(rw *r, int v) {
  int i = find_tq(r, v);
  if (i >= 0) return &r->tq[i];
  r->tq = cz_xrealloc(r->tq, (size_t)(r->ntq + 1) * sizeof *r->tq);
  r->tq[r->ntq] = (tq_ent){.v = v, .axis = -1, .prov = -1};
  return &r->tq[r->ntq++];
}

static void tq_del(rw *r, int v) {
  int i = find_tq(r, v);
  if (i < 0) return;
  free(r->tq[i].scale), free(r->tq[i].zp);
  memmove(&r->tq[i], &r->tq[i + 1], (size_t)(r->ntq - i - 1) * sizeof *r->tq);
  r->ntq--;
}

static void mark(rw *r, int v, bool weight) {
  if (quantizable(r, v) && find_tq(r, v) < 0) tq_put(r, v)->weight = weight;
}

static void mark_per_channel(rw *r, int v, int axis) {
  if (v < 0 || !is_init(r->g, v) || r->g->values[v].dtype != CZ_F32) return;
  tq_ent *e = tq_put(r, v);
  e->weight = true, e->axis = axis, e->prov = -1;
}

static void mark_shared(rw *r, int out, int in) {
  if (!quantizable(r, out)) return;
  tq_ent *e = tq_put(r, out);
  e->weight = false, e->axis = -1, e->prov = in;
}

static bool is_quantized(const rw *r, int v) { return find_tq(r, v) >= 0 || find_bq(r, v) >= 0; }

static int consumers(const cz_graph *g, int v) {
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] == v) c++;
  return c;
}

static bool is_graph_output(const cz_graph *g, int v) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == v) return true;
  return false;
}

static bool is_graph_input(const cz_graph *g, int v) {
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == v) return true;
  return false;
}

static bool has_range(const rw *r, int v) { return v >= 0 && v < r->nv0 && r->rng[v].set; }

static bool name_in(const char *const *l, const char *s) {
  for (; l && *l; l++)
    if (strcmp(*l, s) == 0) return true;
  return false;
}

static bool should_quantize(const rw *r, const cz_node *n) {
  const cz_quant_opts *o = r->o;
  if (o->nodes_to_quantize && o->nodes_to_quantize[0] && !name_in(o->nodes_to_quantize, n->name))
    return false;
  if (!q_op_selected(o, n->op->name)) return false;
  return !name_in(o->nodes_to_exclude, n->name);
}

/* A fresh value name: `base` if free, else base + a counter. */
static char *fresh(rw *r, const char *base) {
  char *s = cz_xstrdup(base);
  while (cz_graph_find_value(r->g, s) >= 0) {
    free(s);
    s = cz_asprintf("%s.%d", base, ++r->n_made);
  }
  return s;
}

/* Relu/Clip removal (try_replacing_upstream_output). */
static bool try_replace(rw *r, int ni, int up, int out) {
  cz_graph *g = r->g;
  if (!has_range(r, out) || !has_range(r, up) || consumers(g, up) != 1 ||
      is_graph_output(g, up) || is_graph_input(g, up) || g->values[up].producer < 0)
    return false;
  int p = g->values[up].producer;
  for (int k = 0; k < g->nodes[p].n_out; k++)
    if (g->nodes[p].out[k] == up) g->nodes[p].out[k] = out;
  g->values[out].producer = p;
  /* the activation now reads and writes `up`, which nothing else reads:
   * the prune at the end drops both */
  g->nodes[ni].out[0] = up;
  g->values[up].producer = ni;
  tq_del(r, up);
  return true;
}

static cz_err *quantize_node(rw *r, int ni) {
  cz_graph *g = r->g;
  cz_node *n = &g->nodes[ni];
  const char *op = n->op->name;
  bool conv = strcmp(op, "Conv") == 0, gemm = strcmp(op, "Gemm") == 0;
  if (conv || gemm) {
    mark(r, n->in[0], false);
    mark(r, n->out[0], false);
    int axis = 0;
    if (gemm) {
      const cz_attr *tb = cz_node_attr(n, "transB");
      axis = tb && tb->i ? 0 : 1;
    }
    int w = n->in[1];
    if (r->o->per_channel && is_init(g, w)) mark_per_channel(r, w, axis);
    else mark(r, w, true);
    if (cz_has_in(n, 2) && is_init(g, n->in[2]) && g->values[n->in[2]].dtype == CZ_F32) {
      if (find_bq(r, n->in[2]) >= 0)
        return cz_node_err(g, n, "bias '%s' is shared with another node: not supported",
                           g->values[n->in[2]].name);
      float beta = 1.0f;
      const cz_attr *b = cz_node_attr(n, "beta");
      if (gemm && b) beta = b->type == CZ_A_FLOAT ? b->f : (float)b->i;
      r->bq = cz_xrealloc(r->bq, (size_t)(r->nbq + 1) * sizeof *r->bq);
      r->bq[r->nbq++] = (bq_ent){n->in[2], ni, n->in[0], n->in[1], beta};
      if (gemm && b) cz_node_set_float(g, ni, "beta", 1.0f);
    }
    return NULL;
  }
  if (strcmp(op, "Relu") == 0 || strcmp(op, "Clip") == 0) {
    int in = n->in[0], out = n->out[0];
    if (!is_quantized(r, in)) return NULL;
    if (r->o->act_symmetric || !try_replace(r, ni, in, out)) mark(r, in, false);
    mark(r, out, false);
    return NULL;
  }
  if (strcmp(op, "Reshape") == 0 || strcmp(op, "Transpose") == 0 || strcmp(op, "Squeeze") == 0 ||
      strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Slice") == 0 ||
      strcmp(op, "AveragePool") == 0 || strcmp(op, "MaxPool") == 0) {
    if (is_quantized(r, n->in[0])) mark_shared(r, n->out[0], n->in[0]);
    return NULL;
  }
  if (strcmp(op, "Split") == 0) {
    if (!is_quantized(r, n->in[0])) mark(r, n->in[0], false);
    for (int k = 0; k < n->n_out; k++) mark_shared(r, n->out[k], n->in[0]);
    return NULL;
  }
  if (strcmp(op, "Pad") == 0) {
    for (int k = 0; k < n->n_in; k++) mark(r, n->in[k], false);
    const cz_attr *m = cz_node_attr(n, "mode");
    bool same = m && m->s && (strcmp(m->s, "reflect") == 0 || strcmp(m->s, "edge") == 0 ||
                              strcmp(m->s, "wrap") == 0);
    if (!same && !(m && m->s && strcmp(m->s, "constant") != 0)) {
      float pv = 0.0f;
      if (cz_has_in(n, 2) && g->values[n->in[2]].data && g->values[n->in[2]].dtype == CZ_F32)
        pv = *(const float *)g->values[n->in[2]].data;
      same = pv == 0.0f;
    }
    if (same) mark_shared(r, n->out[0], n->in[0]);
    else mark(r, n->out[0], false);
    return NULL;
  }
  if (strcmp(op, "MatMul") == 0) {
    int vs[CZ_MAX_IO * 2], nvs = 0;
    for (int k = 0; k < n->n_in; k++) vs[nvs++] = n->in[k];
    for (int k = 0; k < n->n_out; k++) vs[nvs++] = n->out[k];
    for (int k = 0; k < nvs; k++) {
      if (vs[k] >= 0 && is_init(g, vs[k])) {
        if (r->o->per_channel && g->values[vs[k]].shape.rank > 1) mark_per_channel(r, vs[k], 1);
        else mark(r, vs[k], true);
      } else {
        mark(r, vs[k], false);
      }
    }
    return NULL;
  }
  if (strcmp(op, "BatchNormalization") == 0 || strcmp(op, "LayerNormalization") == 0 ||
      strcmp(op, "InstanceNormalization") == 0)
    return cz_node_err(g, n, "quantizing %s is not supported (a BatchNormalization that follows "
                       "a Conv is folded first; this one does not)", op);
  for (int k = 0; k < n->n_in; k++) mark(r, n->in[k], false);
  for (int k = 0; k < n->n_out; k++) mark(r, n->out[k], false);
  return NULL;
}

/* ---- parameters ---- */

static bool weight_symmetric(const rw *r, cz_dtype t) {
  if (r->o->weight_symmetric >= 0) return r->o->weight_symmetric != 0;
  return t == CZ_I8; /* is_weight_symmetric: signed types */
}

/* Scale / zero point of an initializer entry from its data
 * (_calc_initializer_quant_params, compute_data_quant_params). */
static void init_params(rw *r, tq_ent *e) {
  const cz_value *x = &r->g->values[e->v];
  const float *d = x->data;
  e->qtype = e->weight ? r->o->weight_type : r->o->act_type;
  bool per = e->axis >= 0;
  bool sym = per || (e->weight ? weight_symmetric(r, e->qtype) : r->o->act_symmetric);
  int32_t qmin, qmax;
  q_qrange(e->qtype, sym, &qmin, &qmax);
  int64_t numel = cz_shape_numel(&x->shape);
  if (!per) {
    float mn = numel ? d[0] : 0.0f, mx = mn;
    for (int64_t i = 1; i < numel; i++) mn = fminf(mn, d[i]), mx = fmaxf(mx, d[i]);
    e->n = 1;
    e->scale = cz_xmalloc(sizeof *e->scale);
    e->zp = cz_xmalloc(sizeof *e->zp);
    q_scale_zp(mn, mx, qmin, qmax, sym, e->scale, e->zp);
    return;
  }
  int64_t C = x->shape.d[e->axis], inner = 1;
  for (int k = e->axis + 1; k < x->shape.rank; k++) inner *= x->shape.d[k];
  int64_t outer = C ? numel / (C * inner) : 0;
  e->n = (int)C;
  e->scale = cz_xmalloc((size_t)C * sizeof *e->scale);
  e->zp = cz_xmalloc((size_t)C * sizeof *e->zp);
  for (int64_t c = 0; c < C; c++) {
    float mn = INFINITY, mx = -INFINITY;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++) {
        float v = d[(o * C + c) * inner + i];
        mn = fminf(mn, v), mx = fmaxf(mx, v);
      }
    if (outer * inner == 0) mn = mx = 0;
    q_scale_zp(mn, mx, qmin, qmax, sym, &e->scale[c], &e->zp[c]);
  }
}

static void act_params(const rw *r, int v, float *scale, int32_t *zp) {
  int32_t qmin, qmax;
  q_qrange(r->o->act_type, r->o->act_symmetric, &qmin, &qmax);
  q_scale_zp(r->rng[v].lo, r->rng[v].hi, qmin, qmax, r->o->act_symmetric, scale, zp);
}

/* _adjust_weight_scale_for_int32_bias: a bias scale (input scale x weight
 * scale) too small for int32 raises the weight's scale. */
static void adjust_for_bias(rw *r) {
  const double qrange = 2147483647.0 - (-2147483647.0), eps = 1.0001;
  for (int b = 0; b < r->nbq; b++) {
    const bq_ent *q = &r->bq[b];
    int ti = find_tq(r, q->input), wi = find_tq(r, q->weight);
    if (!has_range(r, q->input) || ti < 0 || wi < 0 || !r->tq[wi].scale) continue;
    tq_ent *w = &r->tq[wi];
    if (w->qtype != CZ_I8) continue;
    bool any = false;
    for (int i = 0; i < w->n; i++) any |= w->zp[i] != 0;
    if (any) continue;
    float in_scale;
    int32_t in_zp;
    act_params(r, q->input, &in_scale, &in_zp);
    const float *bias = r->g->values[q->bias].data;
    int64_t nb = cz_shape_numel(&r->g->values[q->bias].shape);
    if (w->axis < 0) {
      double mn = 0, mx = 0;
      for (int64_t i = 0; i < nb; i++) mn = fmin(mn, bias[i]), mx = fmax(mx, bias[i]);
      double small = eps * (2.0 * fmax(fabs(mn), fabs(mx))) / qrange;
      double cand = (double)in_scale * (double)w->scale[0];
      if (cand < small && cand > 0.0) w->scale[0] = (float)((double)w->scale[0] * (small / cand));
    } else {
      for (int i = 0; i < w->n && i < nb; i++) {
        double small = eps * (2.0 * fabs((double)bias[i])) / qrange;
        double cand = (double)in_scale * (double)w->scale[i];
        if (cand < small && cand > 0.0) w->scale[i] = (float)((double)w->scale[i] * (small / cand));
      }
    }
  }
}

/* ---- graph edits ---- */

static int add_const(rw *r, const char *name, cz_dtype dt, int rank, int64_t n, const void *data) {
  char *nm = fresh(r, name);
  int v = cz_graph_const(r->g, nm, dt, cz_shape_make(rank, &n), data);
  free(nm);
  return v;
}

static int add_node(rw *r, const char *op, const char *name, int n_in, const int *in,
                    const char *out_name, int axis) {
  char *on = fresh(r, out_name);
  const char *outs[1] = {on};
  int node = cz_graph_node(r->g, op, name, n_in, in, 1, outs);
  free(on);
  if (axis >= 0) cz_node_set_int(r->g, node, "axis", axis);
  return node;
}

static void qv_put(rw *r, int v, int scale, int zp) {
  r->qv = cz_xrealloc(r->qv, (size_t)(r->nqv + 1) * sizeof *r->qv);
  r->qv[r->nqv++] = (qv_ent){v, scale, zp};
}

static const qv_ent *qv_get(const rw *r, int v) {
  for (int i = 0; i < r->nqv; i++)
    if (r->qv[i].v == v) return &r->qv[i];
  return NULL;
}

static int scale_zp_consts(rw *r, const char *base, int n, const float *scale, const int32_t *zp,
                           cz_dtype qt, bool per, int *zv) {
  char *sn = cz_asprintf("%s_scale", base), *zn = cz_asprintf("%s_zero_point", base);
  int sv = add_const(r, sn, CZ_F32, per ? 1 : 0, n, scale);
  void *z = cz_xmalloc((size_t)n);
  for (int i = 0; i < n; i++) {
    if (qt == CZ_I8) ((int8_t *)z)[i] = (int8_t)zp[i];
    else ((uint8_t *)z)[i] = (uint8_t)zp[i];
  }
  *zv = add_const(r, zn, qt, per ? 1 : 0, n, z);
  free(z), free(sn), free(zn);
  return sv;
}

/* weight -> quantized initializer -> DequantizeLinear (axis when per channel) */
static void add_weight(rw *r, tq_ent *e) {
  cz_graph *g = r->g;
  char *wname = cz_xstrdup(g->values[e->v].name);
  int zv, sv = scale_zp_consts(r, wname, e->n, e->scale, e->zp, e->qtype, e->axis >= 0, &zv);
  const cz_value *x = &g->values[e->v];
  int64_t numel = cz_shape_numel(&x->shape), C = e->axis >= 0 ? x->shape.d[e->axis] : 1, inner = 1;
  for (int k = e->axis + 1; e->axis >= 0 && k < x->shape.rank; k++) inner *= x->shape.d[k];
  int32_t lo, hi;
  q_qrange(e->qtype, false, &lo, &hi);
  void *q = cz_xmalloc((size_t)(numel ? numel : 1));
  const float *d = x->data;
  for (int64_t i = 0; i < numel; i++) {
    int64_t c = e->axis >= 0 ? (i / inner) % C : 0;
    float v = nearbyintf(d[i] / e->scale[c]) + (float)e->zp[c];
    v = fminf(fmaxf(v, (float)lo), (float)hi);
    if (e->qtype == CZ_I8) ((int8_t *)q)[i] = (int8_t)v;
    else ((uint8_t *)q)[i] = (uint8_t)v;
  }
  char *qn = cz_asprintf("%s_quantized", wname), *qn2 = fresh(r, qn);
  cz_shape s = x->shape;
  int qvid = cz_graph_const(g, qn2, e->qtype, s, q);
  free(q), free(qn), free(qn2);
  char *dn = cz_asprintf("%s_DequantizeLinear", wname), *don = cz_asprintf("%s_Output", dn);
  int in[3] = {qvid, sv, zv};
  int node = add_node(r, "DequantizeLinear", dn, 3, in, don, e->axis);
  cz_graph_replace_uses(g, e->v, g->nodes[node].out[0]);
  qv_put(r, e->v, sv, zv);
  free(dn), free(don), free(wname);
}

/* producer -> T -> Q -> DQ -> consumers (a graph output keeps its name on
 * the DQ; the producer's output becomes T_QuantizeLinear_Input) */
static void add_act_pair(rw *r, int t, int sv, int zv) {
  cz_graph *g = r->g;
  char *T = cz_xstrdup(g->values[t].name);
  bool out = is_graph_output(g, t);
  char *dq_out;
  if (out) {
    char *qi = cz_asprintf("%s_QuantizeLinear_Input", T), *qi2 = fresh(r, qi);
    free(g->values[t].name);
    g->values[t].name = qi2;
    free(qi);
    dq_out = cz_xstrdup(T);
  } else {
    dq_out = cz_asprintf("%s_DequantizeLinear_Output", T);
  }
  char *qn = cz_asprintf("%s_QuantizeLinear", T), *qo = cz_asprintf("%s_QuantizeLinear_Output", T);
  char *dn = cz_asprintf("%s_DequantizeLinear", T);
  int qin[3] = {t, sv, zv};
  int qnode = add_node(r, "QuantizeLinear", qn, 3, qin, qo, -1);
  int din[3] = {g->nodes[qnode].out[0], sv, zv};
  int dnode = add_node(r, "DequantizeLinear", dn, 3, din, dq_out, -1);
  cz_graph_replace_uses(g, t, g->nodes[dnode].out[0]);
  g->nodes[qnode].in[0] = t;
  qv_put(r, t, sv, zv);
  free(T), free(dq_out), free(qn), free(qo), free(dn);
}

/* bias -> int32 initializer -> DequantizeLinear named as the bias */
static void add_bias(rw *r, const bq_ent *b) {
  cz_graph *g = r->g;
  const qv_ent *wq = qv_get(r, b->weight), *iq = qv_get(r, b->input);
  if (!wq || !iq) return; /* the weight or input was not quantized: bias stays float */
  const cz_value *wsv = &g->values[wq->scale];
  int nw = (int)cz_shape_numel(&wsv->shape);
  float in_scale = *(const float *)g->values[iq->scale].data;
  int64_t nb = cz_shape_numel(&g->values[b->bias].shape);
  int n = nw > 1 ? nw : 1;
  float *bs = cz_xmalloc((size_t)n * sizeof *bs);
  for (int i = 0; i < n; i++) bs[i] = in_scale * ((const float *)wsv->data)[i] * b->beta;
  int32_t *q = cz_xmalloc((size_t)(nb ? nb : 1) * sizeof *q);
  const float *bd = g->values[b->bias].data;
  for (int64_t i = 0; i < nb; i++) {
    double v = nearbyint((double)bd[i] / (double)bs[n > 1 ? i : 0]);
    v = fmin(fmax(v, -2147483648.0), 2147483647.0);
    q[i] = (int32_t)v;
  }
  char *B = cz_xstrdup(g->values[b->bias].name);
  char *old = cz_asprintf("%s.float", B), *old2 = fresh(r, old);
  free(g->values[b->bias].name);
  g->values[b->bias].name = old2;
  char *qn = cz_asprintf("%s_quantized", B), *sn = cz_asprintf("%s_quantized_scale", B);
  char *zn = cz_asprintf("%s_quantized_zero_point", B), *dn = cz_asprintf("%s_DequantizeLinear", B);
  char *qn2 = fresh(r, qn);
  int qvid = cz_graph_const(g, qn2, CZ_I32, g->values[b->bias].shape, q);
  int sv = add_const(r, sn, CZ_F32, 1, n, bs);
  int32_t *z = cz_xcalloc((size_t)n, sizeof *z);
  int zv = add_const(r, zn, CZ_I32, n > 1 ? 1 : 0, n, z);
  int in[3] = {qvid, sv, zv};
  int node = add_node(r, "DequantizeLinear", dn, 3, in, B, n > 1 ? 0 : -1);
  cz_graph_replace_uses(g, b->bias, g->nodes[node].out[0]);
  free(bs), free(q), free(z), free(B), free(old), free(qn), free(qn2), free(sn), free(zn), free(dn);
}

cz_err *q_rewrite(cz_graph *g, const cz_quant_opts *o, const q_range *ranges) {
  rw r = {.g = g, .o = o, .nv0 = g->n_values, .nn0 = g->n_nodes};
  r.rng = cz_xcalloc((size_t)g->n_values + 1, sizeof *r.rng);
  memcpy(r.rng, ranges, (size_t)g->n_values * sizeof *r.rng);
  cz_err *err = NULL;
  /* adjust_tensor_ranges, on the graph as calibrated */
  for (int i = 0; i < r.nn0; i++) {
    const cz_node *n = &g->nodes[i];
    const char *op = n->op->name;
    if (!should_quantize(&r, n)) continue;
    if ((strcmp(op, "Clip") == 0 || strcmp(op, "Relu") == 0) && consumers(g, n->in[0]) == 1 &&
        has_range(&r, n->in[0]) && has_range(&r, n->out[0]))
      r.rng[n->in[0]] = r.rng[n->out[0]];
    else if (strcmp(op, "Softmax") == 0 && n->out[0] < r.nv0)
      r.rng[n->out[0]] = (q_range){true, 0.0f, 1.0f};
  }
  for (int i = 0; !err && i < r.nn0; i++)
    if (should_quantize(&r, &g->nodes[i])) err = quantize_node(&r, i);
  for (int i = 0; !err && i < r.ntq; i++)
    if (is_init(g, r.tq[i].v) && r.tq[i].prov < 0) init_params(&r, &r.tq[i]);
  if (!err) adjust_for_bias(&r);
  /* _quantize_normal_tensors */
  for (int i = 0; !err && i < r.ntq; i++) {
    tq_ent *e = &r.tq[i];
    if (e->prov >= 0 || qv_get(&r, e->v)) continue;
    e->done = true;
    if (is_init(g, e->v)) {
      add_weight(&r, e);
      continue;
    }
    if (!has_range(&r, e->v)) {
      err = cz_err_new(CZ_EXIT_RUNTIME, "quantization: no calibrated range for '%s'",
                       g->values[e->v].name);
      break;
    }
    float s;
    int32_t z;
    act_params(&r, e->v, &s, &z);
    int zv, sv = scale_zp_consts(&r, g->values[e->v].name, 1, &s, &z, o->act_type, false, &zv);
    add_act_pair(&r, e->v, sv, zv);
  }
  /* _quantize_sharing_param_tensors */
  for (bool left = true; !err && left;) {
    left = false;
    bool progress = false;
    for (int i = 0; i < r.ntq; i++) {
      tq_ent *e = &r.tq[i];
      if (e->done || e->prov < 0) continue;
      const qv_ent *p = qv_get(&r, e->prov);
      if (!p) {
        left = true;
        continue;
      }
      e->done = progress = true;
      add_act_pair(&r, e->v, p->scale, p->zp);
    }
    if (left && !progress)
      err = cz_err_new(CZ_EXIT_RUNTIME, "quantization: a tensor shares the parameters of one "
                       "that is not quantized");
  }
  for (int i = 0; !err && o->quantize_bias && i < r.nbq; i++) add_bias(&r, &r.bq[i]);
  for (int i = 0; i < r.ntq; i++) free(r.tq[i].scale), free(r.tq[i].zp);
  free(r.tq), free(r.bq), free(r.qv), free(r.rng);
  if (err) return err;
  cz_graph_prune(g);
  if ((err = cz_graph_toposort(g))) return err;
  return cz_graph_infer(g);
}
