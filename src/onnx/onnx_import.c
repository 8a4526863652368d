/* ONNX import (onnx_import.h): the model level. Parses the file with the
 * protoc-c bindings (bounded by the buffer: every repeated field and
 * string comes from its bytes), checks the default-domain opset, turns
 * initializers into host constants, the one graph input that is not an
 * initializer into the graph's input (batch dimension symbolic: 1 until
 * cz_graph_set_batch), orders the nodes by their dependencies (a cycle or
 * a name nothing produces is an error), imports each node
 * (onnx_import_node.c) and marks the outputs. Follows onnx.proto (IR) and
 * onnx/docs/IR.md: names are SSA, graph inputs may repeat initializers. */
#include "onnx/onnx_import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_priv.h"
#include "util/mem.h"

static const char *str_or(const char *s, const char *dflt) { return s && *s ? s : dflt; }

static cz_err *check_opset(const Onnx__ModelProto *mp, int *opset) {
  *opset = 0;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    const char *d = o->domain ? o->domain : "";
    if (*d && strcmp(d, "ai.onnx") != 0) continue;
    if (!o->has_version || o->version < IMP_OPSET_MIN || o->version > IMP_OPSET_MAX)
      return cz_err_new(CZ_EXIT_RUNTIME, "opset %lld is not supported, expected %d to %d",
                        (long long)o->version, IMP_OPSET_MIN, IMP_OPSET_MAX);
    *opset = (int)o->version;
  }
  if (!*opset)
    return cz_err_new(CZ_EXIT_RUNTIME, "no opset for the default ONNX domain (opset_import)");
  return NULL;
}

static cz_err *add_initializers(imp *m, const Onnx__GraphProto *gp) {
  if (gp->n_initializer > IMP_MAX_TENSORS)
    return cz_err_new(CZ_EXIT_RUNTIME, "%zu initializers, expected at most %d",
                      gp->n_initializer, IMP_MAX_TENSORS);
  if (gp->n_sparse_initializer)
    return cz_err_new(CZ_EXIT_RUNTIME, "sparse initializers are not supported");
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *t = gp->initializer[i];
    if (!t->name || !*t->name)
      return cz_err_new(CZ_EXIT_RUNTIME, "initializer %zu has no name", i);
    if (imp_lookup(m, t->name))
      return cz_err_new(CZ_EXIT_RUNTIME, "initializer '%s' is defined twice", t->name);
    imp_const *c = NULL;
    cz_err *e = imp_tensor(t, &c);
    if (e) return cz_err_prefix(e, "initializer");
    imp_name *n = imp_intern(m, t->name);
    n->c = c;
    n->from_init = true;
  }
  return NULL;
}

/* The one graph input that is not an initializer: float, rank 1 to 6,
 * dimension 0 the batch (whatever the file says), the others fixed. */
static cz_err *add_input(imp *m, const Onnx__GraphProto *gp) {
  const Onnx__ValueInfoProto *in = NULL;
  int count = 0;
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *v = gp->input[i];
    if (!v->name || !*v->name) return cz_err_new(CZ_EXIT_RUNTIME, "graph input %zu has no name", i);
    imp_name *e = imp_lookup(m, v->name);
    if (e && e->from_init) continue;
    if (e) return cz_err_new(CZ_EXIT_RUNTIME, "graph input '%s' is listed twice", v->name);
    imp_intern(m, v->name); /* reserve the name */
    if (!in) in = v;
    count++;
  }
  if (count != 1)
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "the graph has %d inputs that are not initializers, expected one (the "
                      "image batch)",
                      count);
  const Onnx__TypeProto *t = in->type;
  if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
      !t->tensor_type->has_elem_type ||
      t->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    return cz_err_new(CZ_EXIT_RUNTIME, "graph input '%s' is not a float32 tensor", in->name);
  const Onnx__TensorShapeProto *sh = t->tensor_type->shape;
  if (!sh || sh->n_dim < 1 || sh->n_dim > CZ_MAX_RANK)
    return cz_err_new(CZ_EXIT_RUNTIME, "graph input '%s' has rank %zu, expected 1 to %d",
                      in->name, sh ? sh->n_dim : 0, CZ_MAX_RANK);
  cz_shape s = {.rank = (int)sh->n_dim};
  s.d[0] = 1;
  for (size_t i = 1; i < sh->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
    if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      return cz_err_new(CZ_EXIT_RUNTIME,
                        "graph input '%s': dimension %zu is symbolic, expected a fixed size "
                        "(only the batch dimension may vary)",
                        in->name, i);
    if (d->dim_value < 1 || d->dim_value > IMP_MAX_INPUT_DIM)
      return cz_err_new(CZ_EXIT_RUNTIME,
                        "graph input '%s': dimension %zu is %lld, expected 1 to %lld", in->name,
                        i, (long long)d->dim_value, (long long)IMP_MAX_INPUT_DIM);
    s.d[i] = d->dim_value;
  }
  int64_t sample = 1;
  for (int i = 1; i < s.rank; i++) {
    sample *= s.d[i];
    if (sample > IMP_MAX_INPUT_ELEMS)
      return cz_err_new(CZ_EXIT_RUNTIME,
                        "graph input '%s': more than %lld elements per sample", in->name,
                        (long long)IMP_MAX_INPUT_ELEMS);
  }
  imp_lookup(m, in->name)->value = cz_graph_input(m->g, in->name, CZ_F32, s);
  return NULL;
}

static const char *node_label(const Onnx__NodeProto *n, char *buf, size_t size) {
  snprintf(buf, size, "node '%s' (%s)", str_or(n->name, "?"), str_or(n->op_type, "?"));
  return buf;
}

/* Kahn's algorithm over the nodes (stable: file order where valid). Every
 * input name must be an initializer, the graph input or a node output;
 * output names are unique (SSA). */
static cz_err *order_nodes(imp *m, const Onnx__GraphProto *gp, int *order) {
  size_t nn = gp->n_node;
  char lab[600];
  int *producer_of_entry = NULL; /* indexed by table slot */
  cz_err *e = NULL;
  for (size_t i = 0; i < nn; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    if (!n->op_type || !*n->op_type)
      return cz_err_new(CZ_EXIT_RUNTIME, "node %zu has no op_type", i);
    if (n->n_input > IMP_MAX_NODE_IO || n->n_output > IMP_MAX_NODE_IO || n->n_output == 0)
      return cz_err_new(CZ_EXIT_RUNTIME, "%s: %zu inputs and %zu outputs, expected at most %d "
                        "and 1 to %d", node_label(n, lab, sizeof lab), n->n_input, n->n_output,
                        IMP_MAX_NODE_IO, IMP_MAX_NODE_IO);
    for (size_t k = 0; k < n->n_output; k++) {
      const char *o = n->output[k];
      if (!*o) continue;
      if (imp_lookup(m, o))
        return cz_err_new(CZ_EXIT_RUNTIME, "%s: output '%s' is defined twice",
                          node_label(n, lab, sizeof lab), o);
      imp_intern(m, o);
    }
  }
  producer_of_entry = cz_xmalloc(m->cap * sizeof *producer_of_entry);
  for (size_t i = 0; i < m->cap; i++) producer_of_entry[i] = -1;
  for (size_t i = 0; i < nn; i++)
    for (size_t k = 0; k < gp->node[i]->n_output; k++)
      if (*gp->node[i]->output[k])
        producer_of_entry[imp_lookup(m, gp->node[i]->output[k]) - m->tab] = (int)i;
  /* edges producer -> consumer in CSR form */
  int *indeg = cz_xcalloc(nn + 1, sizeof *indeg), *cnt = cz_xcalloc(nn + 1, sizeof *cnt);
  size_t n_edges = 0;
  for (size_t i = 0; i < nn && !e; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    for (size_t k = 0; k < n->n_input; k++) {
      const char *in = n->input[k];
      if (!*in) continue;
      imp_name *en = imp_lookup(m, in);
      if (!en) {
        e = cz_err_new(CZ_EXIT_RUNTIME,
                       "%s: input '%s' is not an initializer, a graph input or any node's output",
                       node_label(n, lab, sizeof lab), in);
        break;
      }
      int p = producer_of_entry[en - m->tab];
      if (p >= 0) cnt[p]++, indeg[i]++, n_edges++;
    }
  }
  int *start = NULL, *edge = NULL, *queue = NULL;
  if (!e) {
    start = cz_xcalloc(nn + 1, sizeof *start);
    for (size_t i = 0; i < nn; i++) start[i + 1] = start[i] + cnt[i];
    edge = cz_xmalloc((n_edges + 1) * sizeof *edge);
    memset(cnt, 0, (nn + 1) * sizeof *cnt);
    for (size_t i = 0; i < nn; i++) {
      const Onnx__NodeProto *n = gp->node[i];
      for (size_t k = 0; k < n->n_input; k++) {
        if (!*n->input[k]) continue;
        int p = producer_of_entry[imp_lookup(m, n->input[k]) - m->tab];
        if (p >= 0) edge[start[p] + cnt[p]++] = (int)i;
      }
    }
    /* a min-heap would keep file order exactly; a FIFO seeded in file order
     * keeps it for files that are already sorted, which is what matters */
    queue = cz_xmalloc((nn + 1) * sizeof *queue);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < nn; i++)
      if (!indeg[i]) queue[tail++] = (int)i;
    while (head < tail) {
      int i = queue[head++];
      order[head - 1] = i;
      for (int k = start[i]; k < start[i + 1]; k++)
        if (--indeg[edge[k]] == 0) queue[tail++] = edge[k];
    }
    if (tail < nn) {
      size_t i = 0;
      while (indeg[i] == 0) i++;
      e = cz_err_new(CZ_EXIT_RUNTIME, "the nodes form a cycle (through %s)",
                     node_label(gp->node[i], lab, sizeof lab));
    }
  }
  free(producer_of_entry), free(indeg), free(cnt), free(start), free(edge), free(queue);
  return e;
}

static cz_err *mark_outputs(imp *m, const Onnx__GraphProto *gp) {
  if (gp->n_output < 1 || gp->n_output > CZ_MAX_IO)
    return cz_err_new(CZ_EXIT_RUNTIME, "the graph has %zu outputs, expected 1 to %d",
                      gp->n_output, CZ_MAX_IO);
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *nm = str_or(gp->output[i]->name, "");
    imp_name *e = imp_lookup(m, nm);
    if (!e || e->value < 0 || m->g->values[e->value].kind != CZ_V_ACT)
      return cz_err_new(CZ_EXIT_RUNTIME,
                        "graph output '%s' is not computed from the input by any node", nm);
    cz_graph_mark_output(m->g, e->value);
  }
  return NULL;
}

static cz_err *import_model(imp *m, const Onnx__ModelProto *mp) {
  const Onnx__GraphProto *gp = mp->graph;
  if (!gp) return cz_err_new(CZ_EXIT_RUNTIME, "the model has no graph");
  cz_err *e = check_opset(mp, &m->opset);
  if (e) return e;
  if (gp->n_node > IMP_MAX_NODES)
    return cz_err_new(CZ_EXIT_RUNTIME, "%zu nodes, expected at most %d", gp->n_node,
                      IMP_MAX_NODES);
  if ((e = add_initializers(m, gp)) || (e = add_input(m, gp))) return e;
  int *order = cz_xmalloc((gp->n_node + 1) * sizeof *order);
  e = order_nodes(m, gp, order);
  for (size_t i = 0; !e && i < gp->n_node; i++) e = imp_node(m, gp->node[order[i]], order[i]);
  free(order);
  if (!e) e = imp_infer(m);
  if (!e) e = mark_outputs(m, gp);
  if (!e) e = cz_graph_infer(m->g);
  return e;
}

cz_err *cz_onnx_import_mem(const uint8_t *buf, size_t size, const char *what, cz_graph **out) {
  *out = NULL;
  if (size == 0) return cz_err_new(CZ_EXIT_RUNTIME, "ONNX '%s': the file is empty", what);
  if (size > IMP_MAX_FILE_BYTES)
    return cz_err_new(CZ_EXIT_RUNTIME, "ONNX '%s': %zu bytes, expected at most %zu", what, size,
                      IMP_MAX_FILE_BYTES);
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, buf);
  if (!mp)
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "ONNX '%s': not a valid ONNX protobuf (truncated or not an ONNX model)",
                      what);
  const char *gname = mp->graph ? str_or(mp->graph->name, "onnx") : "onnx";
  imp m = {.g = cz_graph_new(gname)};
  cz_graph_set_training(m.g, false);
  cz_err *e = import_model(&m, mp);
  imp_free_names(&m);
  onnx__model_proto__free_unpacked(mp, NULL);
  if (e) {
    cz_graph_free(m.g);
    return cz_err_prefix(e, "ONNX '%s'", what);
  }
  *out = m.g;
  return NULL;
}

cz_err *cz_onnx_import(const char *path, cz_graph **out) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return cz_err_new(CZ_EXIT_RUNTIME, "ONNX '%s': cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 20, n = 0;
  uint8_t *buf = cz_xmalloc(cap);
  for (;;) {
    if (n == cap) {
      if (cap > IMP_MAX_FILE_BYTES) break;
      cap *= 2;
      buf = cz_xrealloc(buf, cap);
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  bool bad = ferror(f);
  fclose(f);
  cz_err *e = bad ? cz_err_new(CZ_EXIT_RUNTIME, "ONNX '%s': read error", path)
                  : cz_onnx_import_mem(buf, n, path, out);
  free(buf);
  return e;
}
