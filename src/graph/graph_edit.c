/* Graph copy and pruning (graph_edit.h). */
#include "graph/graph_edit.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static void *dup_bytes(const void *p, size_t n) {
  if (!p) return NULL;
  void *q = cz_xmalloc(n ? n : 1);
  memcpy(q, p, n);
  return q;
}

cz_graph *cz_graph_clone(const cz_graph *g) {
  cz_graph *c = cz_xcalloc(1, sizeof *c);
  *c = *g;
  c->name = cz_xstrdup(g->name);
  c->cap_values = g->n_values ? g->n_values : 1;
  c->cap_nodes = g->n_nodes ? g->n_nodes : 1;
  c->values = cz_xcalloc((size_t)c->cap_values, sizeof *c->values);
  c->nodes = cz_xcalloc((size_t)c->cap_nodes, sizeof *c->nodes);
  for (int i = 0; i < g->n_values; i++) {
    const cz_value *s = &g->values[i];
    cz_value *d = &c->values[i];
    *d = *s;
    d->name = cz_xstrdup(s->name);
    d->data = dup_bytes(s->data, (size_t)cz_shape_numel(&s->shape) * cz_dtype_size(s->dtype));
    if (s->q) {
      d->q = dup_bytes(s->q, sizeof *s->q);
      d->q->scale = dup_bytes(s->q->scale, (size_t)s->q->n * sizeof(float));
      d->q->zero_point = dup_bytes(s->q->zero_point, (size_t)s->q->n * sizeof(int32_t));
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const cz_node *s = &g->nodes[i];
    cz_node *d = &c->nodes[i];
    *d = *s;
    d->name = cz_xstrdup(s->name);
    d->priv = NULL;
    d->attr = cz_xcalloc((size_t)(s->n_attr ? s->n_attr : 1), sizeof *d->attr);
    for (int k = 0; k < s->n_attr; k++) {
      const cz_attr *a = &s->attr[k];
      cz_attr *b = &d->attr[k];
      *b = *a;
      b->name = cz_xstrdup(a->name);
      b->ints = dup_bytes(a->ints, (size_t)a->n * sizeof *a->ints);
      b->floats = dup_bytes(a->floats, (size_t)a->n * sizeof *a->floats);
      b->s = a->s ? cz_xstrdup(a->s) : NULL;
    }
  }
  return c;
}

void cz_graph_replace_uses(cz_graph *g, int from, int to) {
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] == from) g->nodes[i].in[k] = to;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == from) g->outputs[i] = to;
}

void cz_graph_prune(cz_graph *g) {
  int nn = g->n_nodes, nv = g->n_values;
  bool *keep_node = cz_xcalloc((size_t)nn + 1, 1);
  bool *keep_value = cz_xcalloc((size_t)nv + 1, 1);
  for (int i = 0; i < g->n_outputs; i++) {
    keep_value[g->outputs[i]] = true;
    int p = g->values[g->outputs[i]].producer;
    if (p >= 0) keep_node[p] = true;
  }
  for (int i = 0; i < g->n_inputs; i++) keep_value[g->inputs[i]] = true;
  /* Sweep until nothing changes: one backward sweep suffices for a sorted
   * graph, and an unsorted one still loses nothing it needs. */
  for (bool changed = true; changed;) {
    changed = false;
    for (int i = nn - 1; i >= 0; i--) {
      if (!keep_node[i]) continue;
      const cz_node *n = &g->nodes[i];
      for (int k = 0; k < n->n_out; k++) keep_value[n->out[k]] = true;
      for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) continue;
        keep_value[n->in[k]] = true;
        int p = g->values[n->in[k]].producer;
        if (p >= 0 && !keep_node[p]) keep_node[p] = changed = true;
      }
    }
  }
  int *vmap = cz_xmalloc(((size_t)nv + 1) * sizeof *vmap);
  int *nmap = cz_xmalloc(((size_t)nn + 1) * sizeof *nmap);
  int v2 = 0, n2 = 0;
  for (int v = 0; v < nv; v++) {
    if (!keep_value[v]) {
      vmap[v] = -1;
      free(g->values[v].name);
      free(g->values[v].data);
      if (g->values[v].q) {
        free(g->values[v].q->scale);
        free(g->values[v].q->zero_point);
        free(g->values[v].q);
      }
      continue;
    }
    vmap[v] = v2;
    g->values[v2++] = g->values[v];
  }
  for (int i = 0; i < nn; i++) {
    cz_node *n = &g->nodes[i];
    if (!keep_node[i]) {
      nmap[i] = -1;
      free(n->name);
      for (int k = 0; k < n->n_attr; k++) {
        free(n->attr[k].name);
        free(n->attr[k].ints);
        free(n->attr[k].floats);
        free(n->attr[k].s);
      }
      free(n->attr);
      free(n->priv);
      continue;
    }
    nmap[i] = n2;
    g->nodes[n2++] = *n;
  }
  g->n_values = v2;
  g->n_nodes = n2;
  for (int i = 0; i < n2; i++) {
    cz_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0) n->in[k] = vmap[n->in[k]];
    for (int k = 0; k < n->n_out; k++) n->out[k] = vmap[n->out[k]];
  }
  for (int v = 0; v < v2; v++)
    if (g->values[v].producer >= 0) g->values[v].producer = nmap[g->values[v].producer];
  for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = vmap[g->inputs[i]];
  for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = vmap[g->outputs[i]];
  free(vmap);
  free(nmap);
  free(keep_node);
  free(keep_value);
}
