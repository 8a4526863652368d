/* ONNX import: one node. What torch.onnx.export writes for shapes is
 * folded on host constants (Constant, Shape, Gather, Unsqueeze, Squeeze,
 * Concat, Cast, Slice, Reshape, Add/Sub/Mul/Div of constants, Identity);
 * Identity and inference-mode Dropout become aliases; ReduceMean over H,W
 * becomes GlobalAveragePool; Squeeze/Unsqueeze of computed values become
 * Reshape; every other op must be in czoo's op table with only the
 * attributes it accepts, else one error naming the op, the node and what
 * is supported. Opset differences (onnx/docs/Changelog.md): Clip's min/max
 * are attributes before 11 and inputs from 11; Pad's pads/value likewise;
 * Split's sizes, Squeeze/Unsqueeze's axes are inputs from 13 (attributes
 * before); ReduceMean's axes from 18; Softmax before 13 flattens to 2-D
 * (accepted only where that equals the last-axis softmax); BatchNorm's
 * `spatial` (before 9) must be 1. The symbolic batch: Shape marks element
 * 0 of its result, and a reshape target keeps it dynamic (0 or -1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_priv.h"
#include "ops/op.h"
#include "util/mem.h"

typedef struct {
  imp *m;
  const Onnx__NodeProto *np;
  const char *name; /* node name (made up when the file has none) */
  const char *op;
  imp_name *in[IMP_MAX_NODE_IO]; /* NULL: absent optional input */
  int n_in;
} ctx;

static cz_err *nerr(const ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cz_err *nerr(const ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = cz_vasprintf(fmt, ap);
  va_end(ap);
  cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "node '%s' (%s): %s", c->name, c->op, msg);
  free(msg);
  return e;
}

static const char *aname(const Onnx__AttributeProto *a) { return a->name ? a->name : ""; }

/* A STRING attribute's bytes as a C string (malloc'd; "" when unset). */
static char *astr(const Onnx__AttributeProto *a) {
  return a->s.data ? cz_xstrndup((const char *)a->s.data, a->s.len) : cz_xstrdup("");
}

static const Onnx__AttributeProto *attr(const ctx *c, const char *name) {
  for (size_t i = 0; i < c->np->n_attribute; i++)
    if (c->np->attribute[i]->name && strcmp(c->np->attribute[i]->name, name) == 0)
      return c->np->attribute[i];
  return NULL;
}

static int64_t attr_int(const ctx *c, const char *name, int64_t dflt) {
  const Onnx__AttributeProto *a = attr(c, name);
  return a && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? a->i : dflt;
}

/* Integer list from attribute `name` (before `since`) or input `slot`
 * (from `since`, a constant). *count -1: absent. */
static cz_err *int_list(const ctx *c, const char *name, int slot, int since, int64_t *out,
                        int max, int *count) {
  *count = -1;
  if (c->m->opset < since) {
    const Onnx__AttributeProto *a = attr(c, name);
    if (!a) return NULL;
    if (a->n_ints > (size_t)max) return nerr(c, "%s has %zu values, expected at most %d", name, a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++) out[i] = a->ints[i];
    *count = (int)a->n_ints;
    return NULL;
  }
  if (slot >= c->n_in || !c->in[slot]) return NULL;
  const imp_const *k = c->in[slot]->c;
  if (!k || k->dt != CZ_I64 || k->shape.rank > 1)
    return nerr(c, "input '%s' (%s) must be a constant integer list", c->in[slot]->name, name);
  int64_t n = cz_shape_numel(&k->shape);
  if (n > max) return nerr(c, "%s has %lld values, expected at most %d", name, (long long)n, max);
  memcpy(out, k->data, (size_t)n * sizeof *out);
  *count = (int)n;
  return NULL;
}

/* ---- host constants ---- */

static imp_name *out_entry(ctx *c, int i) { return imp_lookup(c->m, c->np->output[i]); }

static void set_const(ctx *c, int i, imp_const *k) {
  imp_name *e = out_entry(c, i);
  e->c = k;
}

static bool all_const(const ctx *c) {
  for (int i = 0; i < c->n_in; i++)
    if (c->in[i] && !c->in[i]->c) return false;
  return true;
}

static bool has_batch(const imp_const *k) {
  if (!k->batch) return false;
  for (int64_t i = 0; i < cz_shape_numel(&k->shape); i++)
    if (k->batch[i]) return true;
  return false;
}

/* Folded results are shape arithmetic: small. */
static cz_err *fold_size_ok(const ctx *c, const cz_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] < 0) return nerr(c, "negative dimension %lld", (long long)s->d[i]);
    if (s->d[i] && n > IMP_MAX_FOLD_ELEMS / s->d[i]) n = IMP_MAX_FOLD_ELEMS + 1;
    else n *= s->d[i];
  }
  if (n > IMP_MAX_FOLD_ELEMS)
    return nerr(c, "a folded constant of more than %lld elements", (long long)IMP_MAX_FOLD_ELEMS);
  return NULL;
}

static imp_const *const_copy(const imp_const *k, cz_shape s) {
  imp_const *r = imp_const_new(k->dt, s, k->batch != NULL);
  size_t n = (size_t)cz_shape_numel(&s);
  memcpy(r->data, k->data, n * cz_dtype_size(k->dt));
  if (k->batch) memcpy(r->batch, k->batch, n);
  return r;
}

/* ---- graph values ---- */

static char *fresh_name(imp *m, const char *base, const char *suffix) {
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
static cz_err *value_as(ctx *c, imp_name *e, bool buffer, bool fixed, int *out) {
  if (e->value >= 0) {
    *out = e->value;
    return NULL;
  }
  imp_const *k = e->c;
  if (!k) return nerr(c, "input '%s' has no value", e->name);
  if (has_batch(k))
    return nerr(c, "input '%s' is computed from the batch size, which only Reshape targets may "
                   "use", e->name);
  cz_graph *g = c->m->g;
  if (fixed && k->dt == CZ_I64 && (strcmp(c->op, "Pad") == 0 || strcmp(c->op, "Split") == 0))
    for (int64_t i = 0; i < cz_shape_numel(&k->shape); i++) {
      int64_t v = ((const int64_t *)k->data)[i];
      if (v > IMP_MAX_ATTR_INT || v < -IMP_MAX_ATTR_INT)
        return nerr(c, "input '%s' has a value beyond +-%lld", e->name,
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

static cz_err *value_of(ctx *c, imp_name *e, bool buffer, int *out) {
  return value_as(c, e, buffer, false, out);
}

static void register_outputs(ctx *c, int node) {
  const cz_node *n = &c->m->g->nodes[node];
  for (int i = 0; i < n->n_out; i++) {
    imp_name *e = imp_lookup(c->m, c->m->g->values[n->out[i]].name);
    if (e) e->value = n->out[i];
  }
}

/* A czoo node with the ONNX node's outputs (absent trailing ones dropped). */
static int emit(ctx *c, const char *op, int n_in, const int *in) {
  const char *outs[CZ_MAX_IO];
  int n_out = 0;
  for (size_t i = 0; i < c->np->n_output && i < CZ_MAX_IO; i++) {
    if (!*c->np->output[i]) break;
    outs[n_out++] = c->np->output[i];
  }
  int node = cz_graph_node(c->m->g, op, c->name, n_in, in, n_out, outs);
  register_outputs(c, node);
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
      v->layout = (v->dtype == CZ_F32 && v->shape.rank == 4) ? CZ_NHWC : CZ_ROWMAJOR;
    }
  }
  return NULL;
}

static cz_err *shape_of(ctx *c, const imp_name *e, cz_shape *s) {
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
static cz_err *emit_reshape(ctx *c, imp_name *x, const cz_shape *to, int batch_at) {
  int xv;
  cz_err *e = value_of(c, x, false, &xv);
  if (e) return e;
  int64_t d[CZ_MAX_RANK];
  for (int i = 0; i < to->rank; i++) d[i] = i == batch_at ? -1 : to->d[i];
  char *sn = fresh_name(c->m, c->np->output[0], "shape");
  int64_t r = to->rank;
  int in[2] = {xv, cz_graph_const(c->m->g, sn, CZ_I64, cz_shape_make(1, &r), d)};
  free(sn);
  emit(c, "Reshape", 2, in);
  return NULL;
}

/* ---- folding ---- */

static cz_err *do_constant(ctx *c) {
  if (c->np->n_attribute != 1)
    return nerr(c, "expected exactly one attribute (value, value_float(s) or value_int(s))");
  const Onnx__AttributeProto *a = c->np->attribute[0];
  const char *nm = aname(a);
  imp_const *k = NULL;
  if (strcmp(nm, "value") == 0 && a->t) {
    cz_err *e = imp_tensor(a->t, &k);
    if (e) return cz_err_prefix(e, "node '%s' (Constant)", c->name);
  } else if (strcmp(nm, "value_float") == 0 || strcmp(nm, "value_int") == 0) {
    bool f = nm[6] == 'f';
    k = imp_const_new(f ? CZ_F32 : CZ_I64, cz_shape_make(0, NULL), false);
    if (f) *(float *)k->data = a->f;
    else *(int64_t *)k->data = a->i;
  } else if (strcmp(nm, "value_floats") == 0 || strcmp(nm, "value_ints") == 0) {
    bool f = nm[6] == 'f';
    int64_t n = f ? (int64_t)a->n_floats : (int64_t)a->n_ints;
    k = imp_const_new(f ? CZ_F32 : CZ_I64, cz_shape_make(1, &n), false);
    memcpy(k->data, f ? (void *)a->floats : (void *)a->ints, (size_t)n * (f ? 4 : 8));
  } else {
    return nerr(c, "attribute '%s' is not supported (supported: value, value_float, "
                   "value_floats, value_int, value_ints)", nm);
  }
  set_const(c, 0, k);
  return NULL;
}

static cz_err *do_alias(ctx *c) {
  if (!c->in[0]) return nerr(c, "input 0 is absent");
  if (strcmp(c->op, "Dropout") == 0) {
    if (c->np->n_output > 1 && *c->np->output[1])
      return nerr(c, "the mask output is not supported (inference imports drop Dropout)");
    if (c->n_in > 2 && c->in[2]) {
      const imp_const *t = c->in[2]->c;
      if (!t || cz_shape_numel(&t->shape) != 1 ||
          (t->dt == CZ_I64 ? *(int64_t *)t->data : (int64_t) * (float *)t->data) != 0)
        return nerr(c, "training_mode must be a constant false");
    }
  }
  imp_name *o = out_entry(c, 0);
  o->value = c->in[0]->value;
  if (c->in[0]->c) o->c = const_copy(c->in[0]->c, c->in[0]->c->shape);
  o->from_init = c->in[0]->from_init;
  return NULL;
}

static cz_err *do_shape(ctx *c) {
  cz_shape s;
  cz_err *e = shape_of(c, c->in[0], &s);
  if (e) return e;
  int64_t r = s.rank, start = attr_int(c, "start", 0), end = attr_int(c, "end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  if (start < 0) start = 0;
  if (end > r) end = r;
  int64_t n = end > start ? end - start : 0;
  bool dyn = !c->in[0]->c;
  imp_const *k = imp_const_new(CZ_I64, cz_shape_make(1, &n), dyn);
  for (int64_t i = 0; i < n; i++) {
    ((int64_t *)k->data)[i] = s.d[start + i];
    if (dyn && start + i == 0) k->batch[i] = 1;
  }
  set_const(c, 0, k);
  return NULL;
}

static cz_err *norm_axis(const ctx *c, int64_t axis, int rank, bool end_ok, int *out) {
  int lim = rank + (end_ok ? 1 : 0);
  if (axis < -lim || axis >= lim)
    return nerr(c, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + lim : axis);
  return NULL;
}

static cz_err *do_gather(ctx *c) {
  if (c->n_in < 2 || !c->in[0]->c || !c->in[1] || !c->in[1]->c)
    return nerr(c, "only Gather of constants (shape arithmetic) is supported");
  const imp_const *d = c->in[0]->c, *ix = c->in[1]->c;
  if (ix->dt != CZ_I64) return nerr(c, "indices must be integers");
  int ax = 0;
  cz_err *e = norm_axis(c, attr_int(c, "axis", 0), d->shape.rank, false, &ax);
  if (e) return e;
  if (d->shape.rank - 1 + ix->shape.rank > CZ_MAX_RANK) return nerr(c, "result rank too large");
  cz_shape s = {.rank = 0};
  for (int i = 0; i < ax; i++) s.d[s.rank++] = d->shape.d[i];
  for (int i = 0; i < ix->shape.rank; i++) s.d[s.rank++] = ix->shape.d[i];
  for (int i = ax + 1; i < d->shape.rank; i++) s.d[s.rank++] = d->shape.d[i];
  if ((e = fold_size_ok(c, &s))) return e;
  int64_t outer = 1, inner = 1, nix = cz_shape_numel(&ix->shape), dim = d->shape.d[ax];
  for (int i = 0; i < ax; i++) outer *= d->shape.d[i];
  for (int i = ax + 1; i < d->shape.rank; i++) inner *= d->shape.d[i];
  imp_const *k = imp_const_new(d->dt, s, d->batch != NULL);
  size_t es = cz_dtype_size(d->dt);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < nix; j++) {
      int64_t id = ((const int64_t *)ix->data)[j];
      if (id < 0) id += dim;
      if (id < 0 || id >= dim) {
        imp_const_free(k);
        return nerr(c, "index %lld is out of range for dimension %lld",
                    (long long)((const int64_t *)ix->data)[j], (long long)dim);
      }
      int64_t src = (o * dim + id) * inner, dst = (o * nix + j) * inner;
      memcpy((char *)k->data + dst * es, (const char *)d->data + src * es, (size_t)inner * es);
      if (d->batch) memcpy(k->batch + dst, d->batch + src, (size_t)inner);
    }
  set_const(c, 0, k);
  return NULL;
}

/* Unsqueeze / Squeeze: the output shape from the axes. */
static cz_err *do_squeeze(ctx *c, bool unsq) {
  int64_t axes[CZ_MAX_RANK];
  int na;
  cz_err *e = int_list(c, "axes", 1, 13, axes, CZ_MAX_RANK, &na);
  if (e) return e;
  cz_shape s;
  if ((e = shape_of(c, c->in[0], &s))) return e;
  bool dyn = !c->in[0]->c;
  cz_shape o = {.rank = 0};
  int batch_at = dyn ? 0 : -1;
  if (unsq) {
    if (na < 1) return nerr(c, "axes are missing");
    int r = s.rank + na;
    if (r > CZ_MAX_RANK) return nerr(c, "result rank %d exceeds %d", r, CZ_MAX_RANK);
    bool ins[CZ_MAX_RANK] = {false};
    for (int i = 0; i < na; i++) {
      int a = 0;
      if ((e = norm_axis(c, axes[i], r, false, &a))) return e;
      if (ins[a]) return nerr(c, "axis %lld is repeated", (long long)axes[i]);
      ins[a] = true;
    }
    int src = 0;
    for (int i = 0; i < r; i++) {
      if (ins[i]) o.d[o.rank++] = 1;
      else {
        if (src == 0 && dyn) batch_at = i;
        o.d[o.rank++] = s.d[src++];
      }
    }
  } else {
    bool drop[CZ_MAX_RANK] = {false};
    if (na < 0) {
      for (int i = dyn ? 1 : 0; i < s.rank; i++) drop[i] = s.d[i] == 1;
    }
    for (int i = 0; i < na; i++) {
      int a = 0;
      if ((e = norm_axis(c, axes[i], s.rank, false, &a))) return e;
      if (s.d[a] != 1) return nerr(c, "cannot squeeze axis %d of size %lld", a, (long long)s.d[a]);
      if (a == 0 && dyn) return nerr(c, "squeezing the batch dimension is not supported");
      drop[a] = true;
    }
    for (int i = 0; i < s.rank; i++)
      if (!drop[i]) o.d[o.rank++] = s.d[i];
  }
  if (dyn) return emit_reshape(c, c->in[0], &o, batch_at);
  set_const(c, 0, const_copy(c->in[0]->c, o));
  return NULL;
}

static cz_err *do_concat_const(ctx *c) {
  const imp_const *f = c->in[0]->c;
  int ax = 0;
  cz_err *e = norm_axis(c, attr_int(c, "axis", 0), f->shape.rank, false, &ax);
  if (e) return e;
  cz_shape s = f->shape;
  s.d[ax] = 0;
  bool tags = false;
  for (int i = 0; i < c->n_in; i++) {
    const imp_const *k = c->in[i]->c;
    if (k->dt != f->dt || k->shape.rank != f->shape.rank)
      return nerr(c, "inputs differ in type or rank");
    for (int d = 0; d < s.rank; d++)
      if (d != ax && k->shape.d[d] != f->shape.d[d]) return nerr(c, "input shapes disagree");
    s.d[ax] += k->shape.d[ax];
    tags |= k->batch != NULL;
  }
  imp_const *r = imp_const_new(f->dt, s, tags);
  int64_t outer = 1, off = 0;
  for (int d = 0; d < ax; d++) outer *= s.d[d];
  int64_t row = cz_shape_numel(&s) / (outer ? outer : 1);
  size_t es = cz_dtype_size(f->dt);
  for (int i = 0; i < c->n_in; i++) {
    const imp_const *k = c->in[i]->c;
    int64_t kr = outer ? cz_shape_numel(&k->shape) / outer : 0;
    for (int64_t o = 0; o < outer; o++) {
      memcpy((char *)r->data + (o * row + off) * es, (const char *)k->data + o * kr * es,
             (size_t)kr * es);
      if (k->batch) memcpy(r->batch + o * row + off, k->batch + o * kr, (size_t)kr);
    }
    off += kr;
  }
  set_const(c, 0, r);
  return NULL;
}

/* Elementwise Add/Sub/Mul/Div of two constants, numpy broadcasting. */
static cz_err *do_arith_const(ctx *c) {
  const imp_const *a = c->in[0]->c, *b = c->in[1]->c;
  if (a->dt != b->dt) return nerr(c, "inputs differ in element type");
  if (has_batch(a) || has_batch(b))
    return nerr(c, "arithmetic on the batch size is not supported");
  int r = a->shape.rank > b->shape.rank ? a->shape.rank : b->shape.rank;
  cz_shape s = {.rank = r};
  int64_t sa[CZ_MAX_RANK], sb[CZ_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->shape.rank), ib = i - (r - b->shape.rank);
    int64_t da = ia >= 0 ? a->shape.d[ia] : 1, db = ib >= 0 ? b->shape.d[ib] : 1;
    if (da != db && da != 1 && db != 1) return nerr(c, "shapes do not broadcast");
    s.d[i] = da == 1 ? db : da;
  }
  cz_err *e = fold_size_ok(c, &s);
  if (e) return e;
  int64_t ta = 1, tb = 1;
  for (int i = r - 1; i >= 0; i--) {
    int ia = i - (r - a->shape.rank), ib = i - (r - b->shape.rank);
    int64_t da = ia >= 0 ? a->shape.d[ia] : 1, db = ib >= 0 ? b->shape.d[ib] : 1;
    sa[i] = da == 1 ? 0 : ta, sb[i] = db == 1 ? 0 : tb;
    ta *= da, tb *= db;
  }
  imp_const *k = imp_const_new(a->dt, s, false);
  int64_t n = cz_shape_numel(&s);
  char op = c->op[0];
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, oa = 0, ob = 0;
    for (int d = r - 1; d >= 0; d--) {
      int64_t q = rem % s.d[d];
      rem /= s.d[d];
      oa += q * sa[d], ob += q * sb[d];
    }
    if (a->dt == CZ_F32) {
      float x = ((float *)a->data)[oa], y = ((float *)b->data)[ob];
      ((float *)k->data)[i] = op == 'A' ? x + y : op == 'S' ? x - y : op == 'M' ? x * y : x / y;
    } else {
      int64_t x = ((int64_t *)a->data)[oa], y = ((int64_t *)b->data)[ob];
      if (op == 'D' && y == 0) {
        imp_const_free(k);
        return nerr(c, "integer division by zero");
      }
      ((int64_t *)k->data)[i] = op == 'A'   ? (int64_t)((uint64_t)x + (uint64_t)y)
                                : op == 'S' ? (int64_t)((uint64_t)x - (uint64_t)y)
                                : op == 'M' ? (int64_t)((uint64_t)x * (uint64_t)y)
                                : (x == INT64_MIN && y == -1) ? x
                                                              : x / y;
    }
  }
  set_const(c, 0, k);
  return NULL;
}

static cz_err *do_cast(ctx *c) {
  int64_t to = attr_int(c, "to", 0);
  bool to_f = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       to_i = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
              to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
  if (!to_f && !to_i) return nerr(c, "cast to type %lld is not supported", (long long)to);
  if (!c->in[0]->c) {
    if (to_f) return do_alias(c);
    return nerr(c, "casting computed floats to integers is not supported");
  }
  const imp_const *k = c->in[0]->c;
  imp_const *r = imp_const_new(to_f ? CZ_F32 : CZ_I64, k->shape, k->batch != NULL);
  int64_t n = cz_shape_numel(&k->shape);
  if (k->batch) memcpy(r->batch, k->batch, (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    double v = k->dt == CZ_F32 ? ((float *)k->data)[i] : (double)((int64_t *)k->data)[i];
    if (to_f) ((float *)r->data)[i] = (float)v;
    else ((int64_t *)r->data)[i] = v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
  }
  set_const(c, 0, r);
  return NULL;
}

/* Reshape: of a constant, folded; of a computed value, the target's
 * batch-marked element (and a literal 1 at position 0, what a fixed-batch
 * export writes) become 0, "copy the input's batch". */
static cz_err *do_reshape(ctx *c) {
  if (c->n_in < 2 || !c->in[1] || !c->in[1]->c || c->in[1]->c->dt != CZ_I64 ||
      c->in[1]->c->shape.rank != 1)
    return nerr(c, "the target shape must be a constant integer list");
  if (attr_int(c, "allowzero", 0) != 0) return nerr(c, "allowzero=1 is not supported");
  const imp_const *t = c->in[1]->c;
  int64_t n = t->shape.d[0];
  if (n > CZ_MAX_RANK) return nerr(c, "target rank %lld exceeds %d", (long long)n, CZ_MAX_RANK);
  int64_t d[CZ_MAX_RANK];
  memcpy(d, t->data, (size_t)n * sizeof *d);
  cz_shape xs;
  cz_err *e = shape_of(c, c->in[0], &xs);
  if (e) return e;
  if (c->in[0]->c) {
    if (has_batch(t)) return nerr(c, "a constant reshaped by the batch size");
    int64_t known = 1, numel = cz_shape_numel(&xs);
    int at = -1;
    cz_shape s = {.rank = (int)n};
    for (int i = 0; i < n; i++) {
      s.d[i] = d[i] == 0 && i < xs.rank ? xs.d[i] : d[i];
      if (s.d[i] == -1 && at < 0) at = i;
      else if (s.d[i] < 0 || s.d[i] > IMP_MAX_ELEMS || (s.d[i] && known > IMP_MAX_ELEMS / s.d[i]))
        return nerr(c, "invalid target dimension %lld", (long long)d[i]);
      else known *= s.d[i];
    }
    if (at >= 0 && known > 0 && numel % known == 0) s.d[at] = numel / known;
    if (cz_shape_numel(&s) != numel) return nerr(c, "element counts differ");
    set_const(c, 0, const_copy(c->in[0]->c, s));
    return NULL;
  }
  int64_t known = 1;
  for (int i = 0; i < n; i++) {
    if (d[i] < -1 || d[i] > IMP_MAX_ELEMS || (d[i] > 0 && known > IMP_MAX_ELEMS / d[i]))
      return nerr(c, "target dimension %lld is out of range", (long long)d[i]);
    if (d[i] > 0) known *= d[i];
  }
  for (int i = 0; i < n; i++) {
    if (t->batch && t->batch[i]) {
      if (i != 0) return nerr(c, "the batch size at target position %d is not supported", i);
      d[i] = 0;
    } else if (i == 0 && d[i] == 1 && xs.rank > 0) {
      d[i] = 0;
    }
  }
  int xv;
  if ((e = value_of(c, c->in[0], false, &xv))) return e;
  char *sn = fresh_name(c->m, c->in[1]->name, "target");
  int in[2] = {xv, cz_graph_const(c->m->g, sn, CZ_I64, cz_shape_make(1, &n), d)};
  free(sn);
  emit(c, "Reshape", 2, in);
  return NULL;
}

/* ReduceMean over the two spatial axes of a rank-4 tensor. */
static cz_err *do_reducemean(ctx *c) {
  int64_t axes[CZ_MAX_RANK];
  int na;
  cz_err *e = int_list(c, "axes", 1, 18, axes, CZ_MAX_RANK, &na);
  if (e) return e;
  cz_shape s;
  if ((e = shape_of(c, c->in[0], &s))) return e;
  bool ok = s.rank == 4 && na == 2 && !c->in[0]->c;
  int a0 = 0, a1 = 0;
  if (ok && !norm_axis(c, axes[0], 4, false, &a0) && !norm_axis(c, axes[1], 4, false, &a1))
    ok = (a0 == 2 && a1 == 3) || (a0 == 3 && a1 == 2);
  else ok = false;
  for (size_t i = 0; i < c->np->n_attribute; i++) {
    const char *an = aname(c->np->attribute[i]);
    if (strcmp(an, "keepdims") != 0 && strcmp(an, "axes") != 0 &&
        strcmp(an, "noop_with_empty_axes") != 0)
      return nerr(c, "attribute '%s' is not supported (supported: axes, keepdims)", an);
  }
  if (!ok)
    return nerr(c, "only the mean over axes [2,3] of a computed rank-4 tensor (global average "
                   "pooling) is supported");
  int xv;
  if ((e = value_of(c, c->in[0], false, &xv))) return e;
  if (attr_int(c, "keepdims", 1)) {
    emit(c, "GlobalAveragePool", 1, &xv);
    return NULL;
  }
  char *mid = fresh_name(c->m, c->np->output[0], "pooled");
  const char *mo = mid;
  int gap = cz_graph_node(c->m->g, "GlobalAveragePool", c->name, 1, &xv, 1, &mo);
  free(mid);
  int v = cz_node_out(c->m->g, gap, 0);
  char *fl = cz_asprintf("%s/flatten", c->name);
  int node = cz_graph_node(c->m->g, "Flatten", fl, 1, &v, 1, (const char *const *)&c->np->output[0]);
  free(fl);
  register_outputs(c, node);
  return NULL;
}

/* ---- czoo ops ---- */

static const char *const onnx_ops[] = {
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "Div", "Flatten",
    "Gelu", "Gemm", "GlobalAveragePool", "HardSigmoid", "HardSwish", "LayerNormalization",
    "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "Relu", "Sigmoid", "Slice", "Softmax",
    "Split", "Sub", "Tanh", "Transpose", NULL};

static char *supported_list(const char *const *names) {
  size_t len = 5; /* "none" */
  for (int i = 0; names && names[i]; i++) len += strlen(names[i]) + 2;
  char *s = cz_xmalloc(len);
  s[0] = 0;
  for (int i = 0; names && names[i]; i++) {
    if (i) strcat(s, ", ");
    strcat(s, names[i]);
  }
  if (!names || !names[0]) strcpy(s, "none");
  return s;
}

static bool in_list(const char *const *l, const char *s) {
  for (int i = 0; l && l[i]; i++)
    if (strcmp(l[i], s) == 0) return true;
  return false;
}

/* Attributes that some opsets write with their no-op value: skipped. */
static bool ignorable(const ctx *c, const Onnx__AttributeProto *a) {
  const char *n = aname(a);
  if (strcmp(c->op, "BatchNormalization") == 0 &&
      ((strcmp(n, "spatial") == 0 && a->i == 1) || (strcmp(n, "training_mode") == 0 && a->i == 0)))
    return true;
  if (strcmp(c->op, "MaxPool") == 0 && strcmp(n, "storage_order") == 0 && a->i == 0) return true;
  if (strcmp(c->op, "Clip") == 0 && c->m->opset >= 11) return false;
  if (strcmp(c->op, "Split") == 0 && strcmp(n, "split") == 0 && c->m->opset >= 13) return false;
  return false;
}

static cz_err *copy_attrs(ctx *c, const cz_op *op, int node, const char *skip) {
  cz_graph *g = c->m->g;
  for (size_t i = 0; i < c->np->n_attribute; i++) {
    const Onnx__AttributeProto *a = c->np->attribute[i];
    const char *an = a->name ? a->name : "";
    if ((skip && strcmp(an, skip) == 0) || ignorable(c, a)) continue;
    if (!in_list(op->attrs, an) || (strcmp(c->op, "BatchNormalization") == 0 &&
                                    strcmp(an, "training_mode") == 0)) {
      char *sup = supported_list(op->attrs);
      cz_err *e = nerr(c, "attribute '%s' is not supported (supported: %s)", an, sup);
      free(sup);
      return e;
    }
    bool big = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT &&
               (a->i > IMP_MAX_ATTR_INT || a->i < -IMP_MAX_ATTR_INT);
    for (size_t k = 0; a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS && k < a->n_ints; k++)
      big |= a->ints[k] > IMP_MAX_ATTR_INT || a->ints[k] < -IMP_MAX_ATTR_INT;
    if (big)
      return nerr(c, "attribute '%s' has a value beyond +-%lld", an, (long long)IMP_MAX_ATTR_INT);
    switch (a->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: cz_node_set_int(g, node, an, a->i); break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: cz_node_set_float(g, node, an, a->f); break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
      if (a->n_ints > 64) return nerr(c, "attribute '%s' has %zu values", an, a->n_ints);
      cz_node_set_ints(g, node, an, (int)a->n_ints, a->ints);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
      if (a->n_floats > 64) return nerr(c, "attribute '%s' has %zu values", an, a->n_floats);
      cz_node_set_floats(g, node, an, (int)a->n_floats, a->floats);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: {
      char *s = astr(a);
      cz_node_set_string(g, node, an, s);
      free(s);
      break;
    }
    default: return nerr(c, "attribute '%s' has type %d, which is not supported", an, (int)a->type);
    }
  }
  return NULL;
}

static cz_err *do_op(ctx *c) {
  const cz_op *op = in_list(onnx_ops, c->op) ? cz_op_find(c->op) : NULL;
  if (!op) {
    char *sup = supported_list(onnx_ops);
    cz_err *e = nerr(c, "op '%s' is not supported (supported: %s; and folded: Constant, Shape, "
                        "Gather, Unsqueeze, Squeeze, Cast, Reshape, Identity, Dropout, "
                        "ReduceMean over H,W)", c->op, sup);
    free(sup);
    return e;
  }
  int n_out = 0;
  for (size_t i = 0; i < c->np->n_output; i++)
    if (*c->np->output[i]) n_out = (int)i + 1;
  if (c->n_in < op->min_in || c->n_in > op->max_in || n_out < op->min_out || n_out > op->max_out)
    return nerr(c, "%d inputs and %d outputs, expected %d to %d and %d to %d", c->n_in, n_out,
                op->min_in, op->max_in, op->min_out, op->max_out);
  if (strcmp(c->op, "MaxPool") == 0 && n_out > 1) return nerr(c, "the Indices output is not supported");
  if (strcmp(c->op, "BatchNormalization") == 0 && n_out > 1)
    return nerr(c, "training-mode outputs are not supported (export in eval mode)");
  int in[CZ_MAX_IO + 2], n_in = c->n_in;
  for (int i = 0; i < n_in; i++) {
    in[i] = -1;
    if (!c->in[i]) continue;
    bool buffer = strcmp(c->op, "BatchNormalization") == 0 && i >= 3;
    bool fixed = i >= 1 && (strcmp(c->op, "Clip") == 0 || strcmp(c->op, "Pad") == 0 ||
                            strcmp(c->op, "Slice") == 0 || strcmp(c->op, "Split") == 0);
    cz_err *e = value_as(c, c->in[i], buffer, fixed, &in[i]);
    if (e) return e;
  }
  const char *skip = NULL;
  cz_graph *g = c->m->g;
  /* attribute forms of older opsets that czoo takes as inputs */
  if (strcmp(c->op, "Pad") == 0 && c->m->opset < 11) {
    const Onnx__AttributeProto *p = attr(c, "pads"), *v = attr(c, "value");
    if (!p || p->n_ints > 2 * CZ_MAX_RANK) return nerr(c, "pads are missing");
    for (size_t k = 0; k < p->n_ints; k++)
      if (p->ints[k] > IMP_MAX_ATTR_INT || p->ints[k] < -IMP_MAX_ATTR_INT)
        return nerr(c, "pads has a value beyond +-%lld", (long long)IMP_MAX_ATTR_INT);
    int64_t np = (int64_t)p->n_ints;
    char *pn = fresh_name(c->m, c->name, "pads");
    in[n_in++] = cz_graph_const(g, pn, CZ_I64, cz_shape_make(1, &np), p->ints);
    free(pn);
    float fv = v ? v->f : 0.0f;
    char *vn = fresh_name(c->m, c->name, "value");
    in[n_in++] = cz_graph_const(g, vn, CZ_F32, cz_shape_make(0, NULL), &fv);
    free(vn);
    skip = "pads";
  }
  if (strcmp(c->op, "Softmax") == 0 && c->m->opset < 13) {
    cz_shape s;
    cz_err *e = shape_of(c, c->in[0], &s);
    if (e) return e;
    int ax = 0;
    if ((e = norm_axis(c, attr_int(c, "axis", 1), s.rank, false, &ax))) return e;
    if (ax != s.rank - 1)
      return nerr(c, "softmax over axis %d of rank %d before opset 13 (flattened) is not "
                     "supported", ax, s.rank);
  }
  int node = emit(c, c->op, n_in, in);
  cz_err *e = NULL;
  if (strcmp(c->op, "Pad") == 0 && c->m->opset < 11) {
    for (size_t i = 0; i < c->np->n_attribute && !e; i++) {
      const char *an = aname(c->np->attribute[i]);
      if (strcmp(an, "mode") == 0) {
        char *s = astr(c->np->attribute[i]);
        cz_node_set_string(g, node, "mode", s);
        free(s);
      } else if (strcmp(an, "pads") != 0 && strcmp(an, "value") != 0) {
        e = nerr(c, "attribute '%s' is not supported (supported: mode, pads, value)", an);
      }
    }
  } else {
    e = copy_attrs(c, op, node, skip);
  }
  if (!e && strcmp(c->op, "Softmax") == 0 && c->m->opset < 13) cz_node_set_int(g, node, "axis", -1);
  return e;
}

cz_err *imp_node(imp *m, const Onnx__NodeProto *np, int index) {
  char *made = NULL;
  ctx c = {.m = m, .np = np, .op = np->op_type};
  if (np->name && *np->name) c.name = np->name;
  else c.name = made = cz_asprintf("%s_%d", np->op_type, index);
  cz_err *e = NULL;
  if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx") != 0) {
    e = nerr(&c, "domain '%s' is not supported (only the default ONNX domain)", np->domain);
    goto done;
  }
  c.n_in = (int)np->n_input;
  for (int i = 0; i < c.n_in; i++) c.in[i] = *np->input[i] ? imp_lookup(m, np->input[i]) : NULL;
  while (c.n_in > 0 && !c.in[c.n_in - 1]) c.n_in--;
  for (int i = 0; i < c.n_in; i++)
    if (c.in[i] && c.in[i]->value < 0 && !c.in[i]->c) {
      e = nerr(&c, "input '%s' has no value (an output czoo dropped)", c.in[i]->name);
      goto done;
    }
  if (!*np->output[0]) {
    e = nerr(&c, "output 0 has no name");
    goto done;
  }
  const char *op = np->op_type;
  bool needs_in = strcmp(op, "Constant") != 0;
  if (needs_in && (c.n_in < 1 || !c.in[0])) {
    e = nerr(&c, "input 0 is absent");
    goto done;
  }
  bool cst = needs_in && all_const(&c);
  if (strcmp(op, "Constant") == 0) e = do_constant(&c);
  else if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0) e = do_alias(&c);
  else if (strcmp(op, "Shape") == 0) e = do_shape(&c);
  else if (strcmp(op, "Gather") == 0) e = do_gather(&c);
  else if (strcmp(op, "Unsqueeze") == 0) e = do_squeeze(&c, true);
  else if (strcmp(op, "Squeeze") == 0) e = do_squeeze(&c, false);
  else if (strcmp(op, "Cast") == 0) e = do_cast(&c);
  else if (strcmp(op, "Reshape") == 0) e = do_reshape(&c);
  else if (strcmp(op, "ReduceMean") == 0) e = do_reducemean(&c);
  else if (strcmp(op, "Concat") == 0 && cst) e = do_concat_const(&c);
  else if (cst && c.n_in == 2 && c.in[1] &&
           (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
            strcmp(op, "Div") == 0))
    e = do_arith_const(&c);
  else if (cst && strcmp(op, "Flatten") != 0)
    e = nerr(&c, "folding %s of constants is not supported", op);
  else e = do_op(&c);
done:
  free(made);
  return e;
}
