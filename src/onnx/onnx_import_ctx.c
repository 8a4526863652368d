/* ONNX import: the per-node helpers (onnx_import_ctx.h): errors naming
 * the node, attribute and constant-input readers, host constants, graph
 * values made from constants (parameters, buffers, constants), emitting
 * czoo nodes under the ONNX output names, and incremental shape
 * inference. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_ctx.h"
#include "ops/op.h"
#include "util/mem.h"


cz_err *ix_nerr(const ix_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "node '%s' (%s): %s", c->name, c->op, msg);
  free(msg);
  return e;
}

const char *ix_aname(const Onnx__AttributeProto *a) { return a->name ? a->name : ""; }

/* A STRING attribute's bytes as a C string (malloc'd; "" when unset). */
char *ix_astr(const Onnx__AttributeProto *a) {
  return a->s.data ? cz_xstrndup((const char *)a->s.data, a->s.len) : cz_xstrdup("");
}

const Onnx__AttributeProto *ix_attr(const ix_ctx *c, const char *name) {
  for (size_t i = 0; i < c->np->n_attribute; i++)
    if (c->np->attribute[i]->name && strcmp(c->np->attribute[i]->name, name) == 0)
      return c->np->attribute[i];
  return NULL;
}

int64_t ix_attr_int(const ix_ctx *c, const char *name, int64_t dflt) {
  const Onnx__AttributeProto *a = ix_attr(c, name);
  return a && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? a->i : dflt;
}

/* Integer list from attribute `name` (before `since`) or input `slot`
 * (from `since`, a constant). *count -1: absent. */
cz_err *ix_int_list(const ix_ctx *c, const char *name, int slot, int since, int64_t *out,
                    int max, int *count) {
  *count = -1;
  if (c->m->opset < since) {
    const Onnx__AttributeProto *a = ix_attr(c, name);
    if (!a) return NULL;
    if (a->n_ints > (size_t)max) return ix_nerr(c, "%s has %zu values, expected at most %d", name, a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++) out[i] = a->ints[i];
    *count = (int)a->n_ints;
    return NULL;
  }
  if (slot >= c->n_in || !c->in[slot]) return NULL;
  const imp_const *k = c->in[slot]->c;
  if (!k || k->dt != CZ_I64 || k->shape.rank > 1)
    return ix_nerr(c, "input '%s' (%s) must be a constant integer list", c->in[slot]->name, name);
  int64_t n = cz_shape_numel(&k->shape);
  if (n > max) return ix_nerr(c, "%s has %lld values, expected at most %d", name, (long long)n, max);
  memcpy(out, k->data, (size_t)n * sizeof *out);
  *count = (int)n;
  return NULL;
}

/* ---- host constants ---- */

imp_name *ix_out_entry(ix_ctx *c, int i) { return imp_lookup(c->m, c->np->output[i]); }

void ix_set_const(ix_ctx *c, int i, imp_const *k) {
  imp_name *e = ix_out_entry(c, i);
  e->c = k;
}

bool ix_all_const(const ix_ctx *c) {
  for (int i = 0; i < c->n_in; i++)
    if (c->in[i] && !c->in[i]->c) return false;
  return true;
}

bool ix_has_batch(const imp_const *k) {
  if (!k->batch) return false;
  for (int64_t i = 0; i < cz_shape_numel(&k->shape); i++)
    if (k->batch[i]) return true;
  return false;
}

/* Folded results are shape arithmetic: small. */
cz_err *ix_fold_size_ok(const ix_ctx *c, const cz_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] < 0) return ix_nerr(c, "negative dimension %lld", (long long)s->d[i]);
    if (s->d[i] && n > IMP_MAX_FOLD_ELEMS / s->d[i]) n = IMP_MAX_FOLD_ELEMS + 1;
    else n *= s->d[i];
  }
  if (n > IMP_MAX_FOLD_ELEMS)
    return ix_nerr(c, "a folded constant of more than %lld elements", (long long)IMP_MAX_FOLD_ELEMS);
  return NULL;
}

imp_const *ix_const_copy(const imp_const *k, cz_shape s) {
  imp_const *r = imp_const_new(k->dt, s, k->batch != NULL);
  size_t n = (size_t)cz_shape_numel(&s);
  memcpy(r->data, k->data, n * cz_dtype_size(k->dt));
  if (k->batch) memcpy(r->batch, k->batch, n);
  return r;
}

/* ---- graph values ---- */

char *ix_fresh_name(imp *m, const char *base, const char *suffix) {
  char *s = cz_asprintf("%s.%s", base, suffix);
  while (imp_lookup(m, s) || cz_graph_find_value(m->g, s) >= 0) {
    free(s);
    s = cz_asprintf("%s.%s%d", base, suffix, ++m->n_made);
  }
  imp_intern(m, s);
  return s;
}

/* The graph value of an input: a constant becomes a parameter (float
 * initializers), a buffer (BatchNorm statistics) or a constant (`fixed`:
 * operands the op reads at shape time, such as Clip's bounds). */
cz_err *ix_value_as(ix_ctx *c, imp_name *e, bool buffer, bool fixed, int *out) {
  if (e->value >= 0) {
    *out = e->value;
    return NULL;
  }
  imp_const *k = e->c;
  if (!k) return ix_nerr(c, "input '%s' has no value", e->name);
  if (ix_has_batch(k))
    return ix_nerr(c, "input '%s' is computed from the batch size, which only Reshape targets may "
                   "use", e->name);
  cz_graph *g = c->m->g;
  if (fixed && k->dt == CZ_I64 && (strcmp(c->op, "Pad") == 0 || strcmp(c->op, "Split") == 0))
    for (int64_t i = 0; i < cz_shape_numel(&k->shape); i++) {
      int64_t v = ((const int64_t *)k->data)[i];
      if (v > IMP_MAX_ATTR_INT || v < -IMP_MAX_ATTR_INT)
        return ix_nerr(c, "input '%s' has a value beyond +-%lld", e->name,
                    (long long)IMP_MAX_ATTR_INT);
    }
  if (k->dt == CZ_F32 && e->from_init && !fixed)
    e->value = buffer ? cz_graph_buffer(g, e->name, k->shape, k->data)
                      : cz_graph_param(g, e->name, k->shape, k->data);
  else
    e->value = cz_graph_const(g, e->name, k->dt, k->shape, k->data);
  *out = e->value;
  return NULL;
}

cz_err *ix_value_of(ix_ctx *c, imp_name *e, bool buffer, int *out) {
  return ix_value_as(c, e, buffer, false, out);
}

void ix_register_outputs(ix_ctx *c, int node) {
  const cz_node *n = &c->m->g->nodes[node];
  for (int i = 0; i < n->n_out; i++) {
    imp_name *e = imp_lookup(c->m, c->m->g->values[n->out[i]].name);
    if (e) e->value = n->out[i];
  }
}

/* A czoo node with the ONNX node's outputs (absent trailing ones dropped). */
int ix_emit(ix_ctx *c, const char *op, int n_in, const int *in) {
  const char *outs[CZ_MAX_IO];
  int n_out = 0;
  for (size_t i = 0; i < c->np->n_output && i < CZ_MAX_IO; i++) {
    if (!*c->np->output[i]) break;
    outs[n_out++] = c->np->output[i];
  }
  int node = cz_graph_node(c->m->g, op, c->name, n_in, in, n_out, outs);
  ix_register_outputs(c, node);
  return node;
}

/* Shape inference of the nodes added since the last call (the importer
 * adds nodes in dependency order, so earlier shapes stay valid): linear
 * over the import, where a whole-graph cz_graph_infer per Shape node would
 * be quadratic. The arity and required-input checks cz_graph_infer makes
 * are made here too. */
cz_err *imp_infer(imp *m) {
  cz_graph *g = m->g;
  for (; m->inferred < g->n_nodes; m->inferred++) {
    cz_node *n = &g->nodes[m->inferred];
    const cz_op *op = n->op;
    if (n->n_in < op->min_in || n->n_in > op->max_in || n->n_out < op->min_out ||
        n->n_out > op->max_out)
      return cz_node_err(g, n, "has %d inputs and %d outputs, expected %d to %d and %d to %d",
                         n->n_in, n->n_out, op->min_in, op->max_in, op->min_out, op->max_out);
    for (int i = 0; i < op->min_in; i++)
      if (n->in[i] < 0) return cz_node_err(g, n, "required input %d is missing", i);
    free(n->priv);
    n->priv = NULL;
    cz_err *e = op->infer(g, n);
    if (e) return e;
    for (int k = 0; k < n->n_out; k++) {
      cz_value *v = &g->values[n->out[k]];
      v->layout = cz_graph_layout_of(g, n->out[k]);
    }
  }
  return NULL;
}

cz_err *ix_shape_of(ix_ctx *c, const imp_name *e, cz_shape *s) {
  if (e->c) {
    *s = e->c->shape;
    return NULL;
  }
  cz_err *err = imp_infer(c->m);
  if (err) return err;
  *s = c->m->g->values[e->value].shape;
  return NULL;
}

/* Reshape of a computed value to `to`: the position where the input's
 * batch dimension (dim 0) lands is written -1 so the batch stays free. */
cz_err *ix_emit_reshape(ix_ctx *c, imp_name *x, const cz_shape *to, int batch_at) {
  int xv;
  cz_err *e = ix_value_of(c, x, false, &xv);
  if (e) return e;
  int64_t d[CZ_MAX_RANK];
  for (int i = 0; i < to->rank; i++) d[i] = i == batch_at ? -1 : to->d[i];
  char *sn = ix_fresh_name(c->m, c->np->output[0], "shape");
  int64_t r = to->rank;
  int in[2] = {xv, cz_graph_const(c->m->g, sn, CZ_I64, cz_shape_make(1, &r), d)};
  free(sn);
  ix_emit(c, "Reshape", 2, in);
  return NULL;
}
