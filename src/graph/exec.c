/* fp32 executor and reverse-mode autograd over the graph IR (exec.h). */
#include "graph/exec.h"

#include <assert.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec_plan.h"
#include "ops/op.h"
#include "util/mem.h"

#define NONE (-1)

struct cz_exec {
  cz_graph *g;
  cz_exec_opts o;
  int F;              /* nodes run forward, in order */
  int *order;         /* node ids */
  int *pos;           /* node id -> index in order, NONE if not run */
  bool *bw;           /* node id -> runs backward */
  bool *needs_grad;   /* value id -> gets a gradient */
  /* Arena offsets (SIZE_MAX: none) per value, per value gradient, per node
   * saved state and scratch. */
  size_t *val_off, *grad_off, *saved_off, *fwork_off, *bwork_off;
  unsigned char *arena;
  size_t arena_bytes;
  float **leaf_grad;  /* value id -> persistent gradient (params, inputs) */
  size_t grad_bytes;
  bool *written;      /* value id -> gradient written this backward */
  bool *kept;         /* value id -> readable after forward (outputs, inputs, data) */
  int nv;             /* values when planned (the graph may grow later) */
  bool forward_valid; /* a forward ran since the last backward */
  uint64_t step;
  double *t_fwd, *t_bwd;
  void **packed;      /* node id -> weights packed once (pack_weights), or NULL */
  int nn;             /* nodes when planned */
};

static bool has_data(const cz_value *v) {
  return v->kind == CZ_V_PARAM || v->kind == CZ_V_BUFFER || v->kind == CZ_V_CONST;
}

static size_t value_bytes(const cz_value *v) {
  return (size_t)cz_shape_numel(&v->shape) * cz_dtype_size(v->dtype);
}

/* Marks the nodes needed for the graph outputs, in graph (topological) order. */
static void select_nodes(cz_exec *ex) {
  cz_graph *g = ex->g;
  bool *need = cz_xcalloc((size_t)g->n_nodes + 1, 1);
  for (int i = 0; i < g->n_outputs; i++) {
    int p = g->values[g->outputs[i]].producer;
    if (p >= 0) need[p] = true;
  }
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    if (!need[i]) continue;
    const cz_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0 && g->values[n->in[k]].producer >= 0)
        need[g->values[n->in[k]].producer] = true;
  }
  ex->order = cz_xmalloc(((size_t)g->n_nodes + 1) * sizeof *ex->order);
  ex->pos = cz_xmalloc(((size_t)g->n_nodes + 1) * sizeof *ex->pos);
  ex->F = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    ex->pos[i] = NONE;
    if (need[i]) {
      ex->pos[i] = ex->F;
      ex->order[ex->F++] = i;
    }
  }
  free(need);
}

static void mark_grads(cz_exec *ex) {
  cz_graph *g = ex->g;
  ex->bw = cz_xcalloc((size_t)g->n_nodes + 1, 1);
  ex->needs_grad = cz_xcalloc((size_t)g->n_values + 1, 1);
  if (!ex->o.backward) return;
  for (int v = 0; v < g->n_values; v++) {
    const cz_value *x = &g->values[v];
    if ((x->kind == CZ_V_PARAM || x->kind == CZ_V_INPUT) && x->requires_grad &&
        x->dtype == CZ_F32)
      ex->needs_grad[v] = true;
  }
  for (int s = 0; s < ex->F; s++) {
    int id = ex->order[s];
    const cz_node *n = &g->nodes[id];
    if (!n->op->backward) continue;
    bool any = false;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0 && ex->needs_grad[n->in[k]] && !(n->op->no_grad_in & (1u << k)))
        any = true;
    if (!any) continue;
    ex->bw[id] = true;
    for (int k = 0; k < n->n_out; k++)
      if (g->values[n->out[k]].dtype == CZ_F32) ex->needs_grad[n->out[k]] = true;
  }
}

/* Step of node id's forward, and of its backward (after all forwards, in
 * reverse order). */
static int fstep(const cz_exec *ex, int id) { return ex->pos[id]; }
static int bstep(const cz_exec *ex, int id) { return ex->F + (ex->F - 1 - ex->pos[id]); }

static void plan(cz_exec *ex) {
  cz_graph *g = ex->g;
  int nv = g->n_values, nn = g->n_nodes;
  int T = 2 * ex->F; /* last step index + 1 */
  size_t cap = (size_t)(2 * nv + 3 * nn + 1);
  cz_plan_buf *b = cz_xcalloc(cap, sizeof *b);
  /* What each plan entry is: kind 0 value, 1 grad, 2 saved, 3 fwork, 4 bwork. */
  int *what = cz_xcalloc(cap, sizeof *what), *who = cz_xcalloc(cap, sizeof *who);
  int nb = 0;
  for (int v = 0; v < nv; v++) {
    const cz_value *x = &g->values[v];
    if (has_data(x)) continue;
    bool alive = x->kind == CZ_V_INPUT || (x->producer >= 0 && ex->pos[x->producer] != NONE);
    if (!alive) continue;
    int birth = x->kind == CZ_V_INPUT ? 0 : fstep(ex, x->producer);
    int death = birth;
    for (int i = 0; i < g->n_outputs; i++)
      if (g->outputs[i] == v) death = T;
    if (x->kind == CZ_V_INPUT) death = T; /* readable until the step ends */
    int gbirth = T + 1, gdeath = -1;
    for (int s = 0; s < ex->F; s++) {
      int id = ex->order[s];
      const cz_node *n = &g->nodes[id];
      for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] != v) continue;
        if (s > death) death = s;
        if (ex->bw[id]) {
          if (n->op->bwd_needs & CZ_NEED_IN(k) && bstep(ex, id) > death) death = bstep(ex, id);
          if (ex->needs_grad[v] && !(n->op->no_grad_in & (1u << k)) && bstep(ex, id) < gbirth)
            gbirth = bstep(ex, id);
        }
      }
    }
    if (x->producer >= 0 && ex->bw[x->producer]) {
      const cz_node *p = &g->nodes[x->producer];
      for (int k = 0; k < p->n_out; k++)
        if (p->out[k] == v && (p->op->bwd_needs & CZ_NEED_OUT(k)) &&
            bstep(ex, x->producer) > death)
          death = bstep(ex, x->producer);
      if (ex->needs_grad[v]) {
        gdeath = bstep(ex, x->producer);
        if (gbirth > gdeath) gbirth = gdeath;
        for (int i = 0; i < g->n_outputs; i++)
          if (g->outputs[i] == v && ex->F < gbirth) gbirth = ex->F;
      }
    }
    b[nb] = (cz_plan_buf){.bytes = value_bytes(x), .birth = birth, .death = death};
    what[nb] = 0, who[nb++] = v;
    if (x->kind == CZ_V_ACT && gdeath >= 0) {
      b[nb] = (cz_plan_buf){.bytes = value_bytes(x), .birth = gbirth, .death = gdeath};
      what[nb] = 1, who[nb++] = v;
    }
  }
  for (int s = 0; s < ex->F; s++) {
    int id = ex->order[s];
    const cz_node *n = &g->nodes[id];
    const cz_op *op = n->op;
    if (op->work_bytes) {
      size_t w = op->work_bytes(g, n, false);
      if (w) {
        b[nb] = (cz_plan_buf){.bytes = w, .birth = s, .death = s};
        what[nb] = 3, who[nb++] = id;
      }
      if (ex->bw[id] && (w = op->work_bytes(g, n, true))) {
        b[nb] = (cz_plan_buf){.bytes = w, .birth = bstep(ex, id), .death = bstep(ex, id)};
        what[nb] = 4, who[nb++] = id;
      }
    }
    if (op->saved_bytes && ex->bw[id]) {
      size_t w = op->saved_bytes(g, n);
      if (w) {
        b[nb] = (cz_plan_buf){.bytes = w, .birth = s, .death = bstep(ex, id)};
        what[nb] = 2, who[nb++] = id;
      }
    }
  }
  ex->arena_bytes = cz_plan_place(b, nb);
  ex->arena = ex->arena_bytes ? aligned_alloc(64, ex->arena_bytes) : NULL;
  if (ex->arena_bytes && !ex->arena) {
    (void)cz_xmalloc(ex->arena_bytes); /* aborts with the allocator's message */
  }
  if (ex->arena) memset(ex->arena, 0, ex->arena_bytes);
  for (int i = 0; i < nb; i++) {
    size_t *slot = what[i] == 0 ? &ex->val_off[who[i]]
                   : what[i] == 1 ? &ex->grad_off[who[i]]
                   : what[i] == 2 ? &ex->saved_off[who[i]]
                   : what[i] == 3 ? &ex->fwork_off[who[i]]
                                  : &ex->bwork_off[who[i]];
    *slot = b[i].offset;
  }
  free(b);
  free(what);
  free(who);
}

static size_t *offsets(int n) {
  size_t *p = cz_xmalloc(((size_t)n + 1) * sizeof *p);
  for (int i = 0; i <= n; i++) p[i] = SIZE_MAX;
  return p;
}

cz_err *cz_exec_new(cz_graph *g, const cz_exec_opts *o, cz_exec **out) {
  *out = NULL;
  cz_err *e = cz_graph_infer(g);
  if (e) return e;
  if (g->n_outputs == 0) return cz_err_new(CZ_EXIT_USAGE, "graph '%s' has no outputs", g->name);
  cz_exec *ex = cz_xcalloc(1, sizeof *ex);
  ex->g = g;
  ex->o = *o;
  select_nodes(ex);
  mark_grads(ex);
  int nv = g->n_values, nn = g->n_nodes;
  ex->val_off = offsets(nv);
  ex->grad_off = offsets(nv);
  ex->saved_off = offsets(nn);
  ex->fwork_off = offsets(nn);
  ex->bwork_off = offsets(nn);
  plan(ex);
  ex->nv = nv;
  ex->leaf_grad = cz_xcalloc((size_t)nv + 1, sizeof *ex->leaf_grad);
  ex->written = cz_xcalloc((size_t)nv + 1, 1);
  ex->kept = cz_xcalloc((size_t)nv + 1, 1);
  for (int v = 0; v < nv; v++)
    ex->kept[v] = has_data(&g->values[v]) || g->values[v].kind == CZ_V_INPUT;
  for (int i = 0; i < g->n_outputs; i++) ex->kept[g->outputs[i]] = true;
  for (int v = 0; v < nv; v++) {
    const cz_value *x = &g->values[v];
    if (ex->needs_grad[v] && (x->kind == CZ_V_PARAM || x->kind == CZ_V_INPUT)) {
      ex->leaf_grad[v] = cz_xcalloc((size_t)cz_shape_numel(&x->shape) + 1, sizeof(float));
      ex->grad_bytes += value_bytes(x);
    }
  }
  ex->t_fwd = cz_xcalloc((size_t)nn + 1, sizeof(double));
  ex->t_bwd = cz_xcalloc((size_t)nn + 1, sizeof(double));
  ex->packed = cz_xcalloc((size_t)nn + 1, sizeof *ex->packed);
  ex->nn = nn;
  cz_exec_repack(ex);
  *out = ex;
  return NULL;
}

/* Training changes the weights every step and the reference kernels read
 * them as they are: packing is for fast inference only. */
static bool packs(const cz_exec *ex) {
  return ex->o.pack_weights && !ex->o.training && !ex->o.backward && !ex->o.reference;
}

void cz_exec_repack(cz_exec *ex) {
  if (!packs(ex)) return;
  const cz_graph *g = ex->g;
  for (int s = 0; s < ex->F; s++) {
    int id = ex->order[s];
    const cz_node *n = &g->nodes[id];
    if (!n->op->pack || !n->op->packed_bytes) continue;
    size_t bytes = n->op->packed_bytes(g, n);
    if (!bytes) continue;
    if (!ex->packed[id]) {
      ex->packed[id] = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
      if (!ex->packed[id]) (void)cz_xmalloc(bytes); /* aborts with the allocator's message */
    }
    n->op->pack(g, n, ex->packed[id]);
  }
}

void cz_exec_free(cz_exec *ex) {
  if (!ex) return;
  for (int v = 0; v < ex->nv; v++) free(ex->leaf_grad[v]);
  free(ex->leaf_grad);
  free(ex->written);
  free(ex->kept);
  free(ex->arena);
  free(ex->order);
  free(ex->pos);
  free(ex->bw);
  free(ex->needs_grad);
  free(ex->val_off);
  free(ex->grad_off);
  free(ex->saved_off);
  free(ex->fwork_off);
  free(ex->bwork_off);
  free(ex->t_fwd);
  free(ex->t_bwd);
  for (int i = 0; i < ex->nn; i++) free(ex->packed[i]);
  free(ex->packed);
  free(ex);
}

static void *value_ptr(const cz_exec *ex, int v) {
  const cz_value *x = &ex->g->values[v];
  if (has_data(x)) return x->data;
  return ex->val_off[v] == SIZE_MAX ? NULL : ex->arena + ex->val_off[v];
}

static float *grad_ptr(const cz_exec *ex, int v) {
  if (ex->leaf_grad[v]) return ex->leaf_grad[v];
  return ex->grad_off[v] == SIZE_MAX ? NULL : (float *)(ex->arena + ex->grad_off[v]);
}

static cz_tensor view(const cz_exec *ex, int v, void *data) {
  const cz_value *x = &ex->g->values[v];
  (void)ex;
  return (cz_tensor){.data = data, .dtype = x->dtype, .shape = x->shape, .layout = x->layout};
}

cz_tensor cz_exec_input(cz_exec *ex, int i) {
  int v = ex->g->inputs[i];
  return view(ex, v, value_ptr(ex, v));
}

void cz_exec_set_input(cz_exec *ex, int i, const void *data, cz_layout l) {
  cz_tensor t = cz_exec_input(ex, i);
  if (!t.data) return; /* input not used by any output */
  cz_relayout(data, l, t.data, t.layout, &t.shape, cz_dtype_size(t.dtype));
}

static void fill_kctx(cz_exec *ex, int id, cz_kctx *k) {
  const cz_graph *g = ex->g;
  const cz_node *n = &g->nodes[id];
  memset(k, 0, sizeof *k);
  k->g = g;
  k->node = n;
  k->training = ex->o.training;
  k->reference = ex->o.reference;
  k->seed = ex->o.seed;
  k->step = ex->step;
  k->node_index = id;
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] >= 0) k->in[i] = view(ex, n->in[i], value_ptr(ex, n->in[i]));
  for (int i = 0; i < n->n_out; i++) k->out[i] = view(ex, n->out[i], value_ptr(ex, n->out[i]));
  if (ex->saved_off[id] != SIZE_MAX) k->saved = ex->arena + ex->saved_off[id];
}

void cz_exec_set_step(cz_exec *ex, uint64_t step) { ex->step = step; }

void cz_exec_forward(cz_exec *ex) {
  for (int s = 0; s < ex->F; s++) {
    int id = ex->order[s];
    cz_kctx k;
    fill_kctx(ex, id, &k);
    if (ex->fwork_off[id] != SIZE_MAX) k.work = ex->arena + ex->fwork_off[id];
    k.packed = ex->packed[id];
    double t0 = ex->o.profile ? omp_get_wtime() : 0;
    ex->g->nodes[id].op->forward(&k);
    if (ex->o.profile) ex->t_fwd[id] += omp_get_wtime() - t0;
    if (ex->o.observe)
      for (int i = 0; i < k.node->n_out; i++)
        ex->o.observe(ex->o.observe_ctx, k.node->out[i], &k.out[i]);
  }
  ex->forward_valid = true;
}

static void zero_grad(cz_exec *ex, int v) {
  float *p = grad_ptr(ex, v);
  if (p) memset(p, 0, (size_t)cz_shape_numel(&ex->g->values[v].shape) * sizeof(float));
  ex->written[v] = true;
}

void cz_exec_backward(cz_exec *ex, const float *const *seeds) {
  assert(ex->o.backward);
  /* Backward reuses the memory of activations once it has read them: a
   * second backward needs a new forward. */
  assert(ex->forward_valid && "one cz_exec_backward per cz_exec_forward");
  ex->forward_valid = false;
  cz_graph *g = ex->g;
  memset(ex->written, 0, (size_t)ex->nv);
  for (int o = 0; o < g->n_outputs; o++) {
    int root = g->outputs[o];
    float *rg = grad_ptr(ex, root);
    if (!rg || (!seeds && o > 0) || (seeds && !seeds[o])) continue;
    int64_t n = cz_shape_numel(&g->values[root].shape);
    bool add = ex->written[root]; /* the same value marked as output twice */
    for (int64_t i = 0; i < n; i++) {
      float s = seeds ? seeds[o][i] : 1.0f;
      rg[i] = add ? rg[i] + s : s;
    }
    ex->written[root] = true;
  }
  for (int s = ex->F - 1; s >= 0; s--) {
    int id = ex->order[s];
    if (!ex->bw[id]) continue;
    const cz_node *n = &g->nodes[id];
    cz_kctx k;
    fill_kctx(ex, id, &k);
    if (ex->bwork_off[id] != SIZE_MAX) k.work = ex->arena + ex->bwork_off[id];
    for (int i = 0; i < n->n_out; i++) {
      int v = n->out[i];
      if (!ex->needs_grad[v]) continue;
      if (!ex->written[v]) zero_grad(ex, v);
      k.gout[i] = view(ex, v, grad_ptr(ex, v));
    }
    for (int i = 0; i < n->n_in; i++) {
      int v = n->in[i];
      if (v < 0 || !ex->needs_grad[v] || (n->op->no_grad_in & (1u << i))) continue;
      bool dup = false;
      for (int j = 0; j < n->n_in; j++)
        if (j != i && n->in[j] == v && !(n->op->no_grad_in & (1u << j))) dup = true;
      if (dup && !ex->written[v]) zero_grad(ex, v);
      k.gin[i] = view(ex, v, grad_ptr(ex, v));
      k.gin_acc[i] = ex->written[v];
    }
    double t0 = ex->o.profile ? omp_get_wtime() : 0;
    n->op->backward(&k);
    if (ex->o.profile) ex->t_bwd[id] += omp_get_wtime() - t0;
    for (int i = 0; i < n->n_in; i++)
      if (n->in[i] >= 0 && ex->needs_grad[n->in[i]] && !(n->op->no_grad_in & (1u << i)))
        ex->written[n->in[i]] = true;
  }
  for (int v = 0; v < ex->nv; v++)
    if (ex->leaf_grad[v] && !ex->written[v]) zero_grad(ex, v);
}

cz_tensor cz_exec_value(const cz_exec *ex, int value) {
  return view(ex, value, ex->kept[value] ? value_ptr(ex, value) : NULL);
}

cz_tensor cz_exec_grad(const cz_exec *ex, int value) {
  return view(ex, value, ex->leaf_grad[value]);
}

size_t cz_exec_arena_bytes(const cz_exec *ex) { return ex->arena_bytes; }
size_t cz_exec_grad_bytes(const cz_exec *ex) { return ex->grad_bytes; }

void cz_exec_profile(const cz_exec *ex, int node, double *fwd_s, double *bwd_s) {
  *fwd_s = ex->t_fwd[node];
  *bwd_s = ex->t_bwd[node];
}
