/* Graph IR construction, attributes, shape inference and counting. */
#include "graph/graph.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "util/mem.h"

cz_graph *cz_graph_new(const char *name) {
  cz_graph *g = cz_xcalloc(1, sizeof *g);
  g->name = cz_xstrdup(name ? name : "graph");
  return g;
}

static void free_attr(cz_attr *a) {
  free(a->name);
  free(a->ints);
  free(a->floats);
  free(a->s);
}

void cz_graph_free(cz_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_values; i++) {
    cz_value *v = &g->values[i];
    free(v->name);
    free(v->data);
    if (v->q) {
      free(v->q->scale);
      free(v->q->zero_point);
      free(v->q);
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    cz_node *n = &g->nodes[i];
    free(n->name);
    for (int k = 0; k < n->n_attr; k++) free_attr(&n->attr[k]);
    free(n->attr);
    free(n->priv);
  }
  free(g->values);
  free(g->nodes);
  free(g->name);
  free(g);
}

int cz_graph_find_value(const cz_graph *g, const char *name) {
  for (int i = 0; i < g->n_values; i++)
    if (strcmp(g->values[i].name, name) == 0) return i;
  return -1;
}

static int add_value(cz_graph *g, const char *name, cz_vkind kind, cz_dtype dt, cz_shape shape) {
  assert(cz_graph_find_value(g, name) < 0 && "value names are unique");
  if (g->n_values == g->cap_values) {
    g->cap_values = g->cap_values ? 2 * g->cap_values : 64;
    g->values = cz_xrealloc(g->values, (size_t)g->cap_values * sizeof *g->values);
  }
  cz_value *v = &g->values[g->n_values];
  memset(v, 0, sizeof *v);
  v->name = cz_xstrdup(name);
  v->kind = kind;
  v->dtype = dt;
  v->shape = shape;
  v->producer = -1;
  v->layout = ((kind == CZ_V_INPUT || kind == CZ_V_ACT) && dt == CZ_F32 && shape.rank == 4)
                  ? CZ_NHWC
                  : CZ_ROWMAJOR;
  return g->n_values++;
}

static void *copy_data(cz_dtype dt, cz_shape shape, const void *data) {
  size_t bytes = (size_t)cz_shape_numel(&shape) * cz_dtype_size(dt);
  void *p = cz_xcalloc(1, bytes ? bytes : 1);
  if (data && bytes) memcpy(p, data, bytes);
  return p;
}

int cz_graph_input(cz_graph *g, const char *name, cz_dtype dt, cz_shape shape) {
  int id = add_value(g, name, CZ_V_INPUT, dt, shape);
  assert(g->n_inputs < CZ_MAX_IO);
  g->inputs[g->n_inputs++] = id;
  return id;
}

int cz_graph_param(cz_graph *g, const char *name, cz_shape shape, const float *data) {
  int id = add_value(g, name, CZ_V_PARAM, CZ_F32, shape);
  g->values[id].data = copy_data(CZ_F32, shape, data);
  g->values[id].requires_grad = true;
  return id;
}

int cz_graph_buffer(cz_graph *g, const char *name, cz_shape shape, const float *data) {
  int id = add_value(g, name, CZ_V_BUFFER, CZ_F32, shape);
  g->values[id].data = copy_data(CZ_F32, shape, data);
  return id;
}

int cz_graph_const(cz_graph *g, const char *name, cz_dtype dt, cz_shape shape, const void *data) {
  int id = add_value(g, name, CZ_V_CONST, dt, shape);
  g->values[id].data = copy_data(dt, shape, data);
  return id;
}

void cz_graph_mark_output(cz_graph *g, int value) {
  assert(g->n_outputs < CZ_MAX_IO);
  g->outputs[g->n_outputs++] = value;
}

int cz_graph_node(cz_graph *g, const char *op_name, const char *name, int n_in, const int *in,
                  int n_out, const char *const *out_names) {
  const cz_op *op = cz_op_find(op_name);
  assert(op && "op must be in the op table");
  assert(n_in <= CZ_MAX_IO && n_out <= CZ_MAX_IO);
  int inputs[CZ_MAX_IO]; /* `in` may point into g->nodes, which may move */
  for (int i = 0; i < n_in; i++) inputs[i] = in[i];
  if (g->n_nodes == g->cap_nodes) {
    g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
    g->nodes = cz_xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
  }
  int id = g->n_nodes++;
  cz_node *n = &g->nodes[id];
  memset(n, 0, sizeof *n);
  n->name = cz_xstrdup(name);
  n->op = op;
  n->n_in = n_in;
  n->n_out = n_out;
  for (int i = 0; i < n_in; i++) n->in[i] = inputs[i];
  for (int i = 0; i < n_out; i++) {
    char *vn = out_names ? cz_xstrdup(out_names[i])
               : n_out == 1 ? cz_xstrdup(name)
                            : cz_asprintf("%s.out%d", name, i);
    int v = add_value(g, vn, CZ_V_ACT, CZ_F32, (cz_shape){0});
    free(vn);
    n = &g->nodes[id];
    n->out[i] = v;
    g->values[v].producer = id;
  }
  return id;
}

static cz_attr *attr_slot(cz_graph *g, int node, const char *name) {
  cz_node *n = &g->nodes[node];
  for (int i = 0; i < n->n_attr; i++)
    if (strcmp(n->attr[i].name, name) == 0) {
      char *keep = n->attr[i].name;
      n->attr[i].name = NULL;
      free_attr(&n->attr[i]);
      memset(&n->attr[i], 0, sizeof n->attr[i]);
      n->attr[i].name = keep;
      return &n->attr[i];
    }
  n->attr = cz_xrealloc(n->attr, (size_t)(n->n_attr + 1) * sizeof *n->attr);
  cz_attr *a = &n->attr[n->n_attr++];
  memset(a, 0, sizeof *a);
  a->name = cz_xstrdup(name);
  return a;
}

void cz_node_set_int(cz_graph *g, int node, const char *name, int64_t v) {
  cz_attr *a = attr_slot(g, node, name);
  a->type = CZ_A_INT;
  a->i = v;
}

void cz_node_set_float(cz_graph *g, int node, const char *name, float v) {
  cz_attr *a = attr_slot(g, node, name);
  a->type = CZ_A_FLOAT;
  a->f = v;
}

/* Each setter copies the new value before attr_slot frees the old one, so
 * an attribute may be set from its own current value. */
void cz_node_set_ints(cz_graph *g, int node, const char *name, int n, const int64_t *v) {
  int64_t *copy = cz_xmalloc((size_t)(n ? n : 1) * sizeof *copy);
  if (n) memcpy(copy, v, (size_t)n * sizeof *v);
  cz_attr *a = attr_slot(g, node, name);
  a->type = CZ_A_INTS;
  a->n = n;
  a->ints = copy;
}

void cz_node_set_floats(cz_graph *g, int node, const char *name, int n, const float *v) {
  float *copy = cz_xmalloc((size_t)(n ? n : 1) * sizeof *copy);
  if (n) memcpy(copy, v, (size_t)n * sizeof *v);
  cz_attr *a = attr_slot(g, node, name);
  a->type = CZ_A_FLOATS;
  a->n = n;
  a->floats = copy;
}

void cz_node_set_string(cz_graph *g, int node, const char *name, const char *v) {
  char *copy = cz_xstrdup(v);
  cz_attr *a = attr_slot(g, node, name);
  a->type = CZ_A_STRING;
  a->s = copy;
}

const cz_attr *cz_node_attr(const cz_node *n, const char *name) {
  for (int i = 0; i < n->n_attr; i++)
    if (strcmp(n->attr[i].name, name) == 0) return &n->attr[i];
  return NULL;
}

cz_err *cz_node_err(const cz_graph *g, const cz_node *n, const char *fmt, ...) {
  (void)g;
  va_list ap;
  va_start(ap, fmt);
  char *msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  cz_err *e = cz_err_new(CZ_EXIT_USAGE, "node '%s' (%s): %s", n->name, n->op->name, msg);
  free(msg);
  return e;
}

static const char *atype_name(cz_atype t) {
  switch (t) {
    case CZ_A_INT: return "an integer";
    case CZ_A_FLOAT: return "a float";
    case CZ_A_INTS: return "a list of integers";
    case CZ_A_FLOATS: return "a list of floats";
    case CZ_A_STRING: return "a string";
  }
  return "?";
}

static cz_err *want(const cz_graph *g, const cz_node *n, const cz_attr *a, cz_atype t) {
  if (a->type == t) return NULL;
  return cz_node_err(g, n, "attribute %s is %s, expected %s", a->name, atype_name(a->type),
                     atype_name(t));
}

cz_err *cz_attr_get_int(const cz_graph *g, const cz_node *n, const char *name, int64_t dflt,
                        int64_t *out) {
  const cz_attr *a = cz_node_attr(n, name);
  *out = dflt;
  if (!a) return NULL;
  cz_err *e = want(g, n, a, CZ_A_INT);
  if (!e) *out = a->i;
  return e;
}

cz_err *cz_attr_get_float(const cz_graph *g, const cz_node *n, const char *name, float dflt,
                          float *out) {
  const cz_attr *a = cz_node_attr(n, name);
  *out = dflt;
  if (!a) return NULL;
  if (a->type == CZ_A_INT) { /* ONNX writers sometimes store 0 for 0.0 */
    *out = (float)a->i;
    return NULL;
  }
  cz_err *e = want(g, n, a, CZ_A_FLOAT);
  if (!e) *out = a->f;
  return e;
}

cz_err *cz_attr_get_ints(const cz_graph *g, const cz_node *n, const char *name, int max,
                         int64_t *out, int *count) {
  const cz_attr *a = cz_node_attr(n, name);
  *count = 0;
  if (!a) return NULL;
  cz_err *e = want(g, n, a, CZ_A_INTS);
  if (e) return e;
  if (a->n > max)
    return cz_node_err(g, n, "attribute %s has %d values, expected at most %d", name, a->n, max);
  for (int i = 0; i < a->n; i++) out[i] = a->ints[i];
  *count = a->n;
  return NULL;
}

cz_err *cz_attr_get_string(const cz_graph *g, const cz_node *n, const char *name,
                           const char *dflt, const char **out) {
  const cz_attr *a = cz_node_attr(n, name);
  *out = dflt;
  if (!a) return NULL;
  cz_err *e = want(g, n, a, CZ_A_STRING);
  if (!e) *out = a->s;
  return e;
}

static cz_err *check_node(const cz_graph *g, const cz_node *n) {
  const cz_op *op = n->op;
  if (n->n_in < op->min_in || n->n_in > op->max_in)
    return cz_node_err(g, n, "has %d inputs, expected %d to %d", n->n_in, op->min_in,
                       op->max_in);
  if (n->n_out < op->min_out || n->n_out > op->max_out)
    return cz_node_err(g, n, "has %d outputs, expected %d to %d", n->n_out, op->min_out,
                       op->max_out);
  for (int i = 0; i < op->min_in; i++)
    if (n->in[i] < 0) return cz_node_err(g, n, "required input %d is missing", i);
  for (int k = 0; k < n->n_attr; k++) {
    bool ok = false;
    for (const char *const *a = op->attrs; a && *a; a++)
      if (strcmp(*a, n->attr[k].name) == 0) ok = true;
    if (!ok) {
      char list[512] = "";
      size_t len = 0;
      for (const char *const *a = op->attrs; a && *a && len + strlen(*a) + 3 < sizeof list; a++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", *a);
      return cz_node_err(g, n, "unsupported attribute '%s' (supported: %s)", n->attr[k].name,
                         len ? list : "none");
    }
  }
  return NULL;
}

cz_err *cz_graph_infer(cz_graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    cz_node *n = &g->nodes[i];
    cz_err *e = check_node(g, n);
    if (e) return e;
    for (int k = 0; k < n->n_in; k++) {
      if (n->in[k] < 0) continue;
      const cz_value *v = &g->values[n->in[k]];
      if (v->kind == CZ_V_ACT && v->producer >= i)
        return cz_node_err(g, n, "input '%s' is computed later (graph not sorted)", v->name);
    }
    free(n->priv);
    n->priv = NULL;
    e = n->op->infer(g, n);
    if (e) return e;
    for (int k = 0; k < n->n_out; k++) {
      cz_value *v = &g->values[n->out[k]];
      v->layout = cz_graph_layout_of(g, n->out[k]);
    }
  }
  return NULL;
}

bool cz_graph_has_qdq(const cz_graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    const char *op = g->nodes[i].op->name;
    if (strcmp(op, "QuantizeLinear") == 0 || strcmp(op, "DequantizeLinear") == 0) return true;
  }
  return false;
}

bool cz_graph_is_quantized(const cz_graph *g) {
  for (int i = 0; i < g->n_values; i++) {
    const cz_value *v = &g->values[i];
    if (v->data && (v->dtype == CZ_I8 || v->dtype == CZ_U8)) return true;
  }
  return false;
}

void cz_graph_quantized_counts(const cz_graph *g, int64_t *w8, int64_t *b32) {
  *w8 = *b32 = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const cz_node *n = &g->nodes[i];
    if (strcmp(n->op->name, "DequantizeLinear") != 0 || n->in[0] < 0) continue;
    const cz_value *v = &g->values[n->in[0]];
    if (!v->data) continue;
    *(v->dtype == CZ_I32 ? b32 : w8) += cz_shape_numel(&v->shape);
  }
}

cz_layout cz_graph_layout_of(const cz_graph *g, int v) {
  const cz_value *x = &g->values[v];
  if (x->shape.rank != 4 || (x->dtype != CZ_F32 && x->dtype != CZ_I8 && x->dtype != CZ_U8))
    return CZ_ROWMAJOR;
  if (x->kind == CZ_V_INPUT) return CZ_NHWC;
  if (x->kind != CZ_V_ACT) return CZ_ROWMAJOR;
  if (x->producer >= 0) {
    const cz_node *p = &g->nodes[x->producer];
    if (strcmp(p->op->name, "DequantizeLinear") == 0 && p->in[0] >= 0 &&
        g->values[p->in[0]].data)
      return CZ_ROWMAJOR;
  }
  return CZ_NHWC;
}

cz_err *cz_graph_toposort(cz_graph *g) {
  int nn = g->n_nodes;
  for (int i = 0; i < nn; i++) {
    const cz_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      int v = n->in[k];
      if (v < -1 || v >= g->n_values)
        return cz_node_err(g, n, "input %d refers to value %d, which does not exist", k, v);
      if (v >= 0 && g->values[v].kind == CZ_V_ACT && g->values[v].producer < 0)
        return cz_node_err(g, n, "input '%s' is produced by no node", g->values[v].name);
    }
  }
  int *order = cz_xmalloc((size_t)(nn ? nn : 1) * sizeof *order);
  bool *done = cz_xcalloc((size_t)(nn ? nn : 1), 1);
  int count = 0;
  /* Repeated sweeps keep builder order wherever it is already valid. */
  bool progress = true;
  while (count < nn && progress) {
    progress = false;
    for (int i = 0; i < nn; i++) {
      if (done[i]) continue;
      const cz_node *n = &g->nodes[i];
      bool ready = true;
      for (int k = 0; k < n->n_in && ready; k++) {
        if (n->in[k] < 0) continue;
        int p = g->values[n->in[k]].producer;
        if (p >= 0 && !done[p]) ready = false;
      }
      if (!ready) continue;
      done[i] = true;
      order[count++] = i;
      progress = true;
    }
  }
  if (count < nn) {
    int bad = 0;
    while (done[bad]) bad++;
    cz_err *e = cz_node_err(g, &g->nodes[bad], "is part of a cycle");
    free(order);
    free(done);
    return e;
  }
  cz_node *sorted = cz_xmalloc((size_t)(nn ? nn : 1) * sizeof *sorted);
  int *newid = cz_xmalloc((size_t)(nn ? nn : 1) * sizeof *newid);
  for (int j = 0; j < nn; j++) {
    sorted[j] = g->nodes[order[j]];
    newid[order[j]] = j;
  }
  if (nn) memcpy(g->nodes, sorted, (size_t)nn * sizeof *sorted);
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].producer >= 0) g->values[v].producer = newid[g->values[v].producer];
  free(newid);
  free(sorted);
  free(order);
  free(done);
  return NULL;
}

cz_err *cz_graph_set_batch(cz_graph *g, int64_t batch) {
  for (int i = 0; i < g->n_inputs; i++) {
    cz_value *v = &g->values[g->inputs[i]];
    if (v->shape.rank > 0) v->shape.d[0] = batch;
  }
  return cz_graph_infer(g);
}

void cz_graph_set_training(cz_graph *g, bool on) { g->training = on; }

static int64_t count_kind(const cz_graph *g, cz_vkind k) {
  int64_t n = 0;
  for (int i = 0; i < g->n_values; i++)
    if (g->values[i].kind == k) n += cz_shape_numel(&g->values[i].shape);
  return n;
}

int64_t cz_graph_param_count(const cz_graph *g) { return count_kind(g, CZ_V_PARAM); }
int64_t cz_graph_buffer_count(const cz_graph *g) { return count_kind(g, CZ_V_BUFFER); }

int64_t cz_graph_macc(const cz_graph *g) {
  int64_t m = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op->macc) m += g->nodes[i].op->macc(g, &g->nodes[i]);
  return m;
}
