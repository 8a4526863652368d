/* ONNX import: what is computed while importing, not at run time. What
 * torch.onnx.export writes for shapes is folded on host constants
 * (Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Reshape,
 * Add/Sub/Mul/Div of constants); Identity and inference-mode Dropout
 * become aliases; ReduceMean over H,W becomes GlobalAveragePool (+ Flatten
 * when keepdims=0); Squeeze/Unsqueeze of computed values become Reshape.
 * Opset differences (onnx/docs/Changelog.md): Squeeze/Unsqueeze axes are
 * inputs from 13 (attributes before), ReduceMean's from 18; Shape's
 * start/end exist from 15. The symbolic batch: Shape of a computed value
 * marks element 0 of its result, and a reshape target keeps it free (0
 * where the target copies it, -1 where an importer-made reshape moves it). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_ctx.h"
#include "ops/op.h"
#include "util/mem.h"

/* ---- folding ---- */

cz_err *ix_do_constant(ix_ctx *c) {
  if (c->np->n_attribute != 1)
    return ix_nerr(c, "expected exactly one attribute (value, value_float(s) or value_int(s))");
  const Onnx__AttributeProto *a = c->np->attribute[0];
  const char *nm = ix_aname(a);
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
    return ix_nerr(c, "attribute '%s' is not supported (supported: value, value_float, "
                   "value_floats, value_int, value_ints)", nm);
  }
  ix_set_const(c, 0, k);
  return NULL;
}

cz_err *ix_do_alias(ix_ctx *c) {
  if (!c->in[0]) return ix_nerr(c, "input 0 is absent");
  if (strcmp(c->op, "Dropout") == 0) {
    if (c->np->n_output > 1 && *c->np->output[1])
      return ix_nerr(c, "the mask output is not supported (inference imports drop Dropout)");
    if (c->n_in > 2 && c->in[2]) {
      const imp_const *t = c->in[2]->c;
      if (!t || cz_shape_numel(&t->shape) != 1 ||
          (t->dt == CZ_I64 ? *(int64_t *)t->data : (int64_t) * (float *)t->data) != 0)
        return ix_nerr(c, "training_mode must be a constant false");
    }
  }
  imp_name *o = ix_out_entry(c, 0);
  o->value = c->in[0]->value;
  if (c->in[0]->c) o->c = ix_const_copy(c->in[0]->c, c->in[0]->c->shape);
  o->from_init = c->in[0]->from_init;
  return NULL;
}

cz_err *ix_do_shape(ix_ctx *c) {
  cz_shape s;
  cz_err *e = ix_shape_of(c, c->in[0], &s);
  if (e) return e;
  int64_t r = s.rank, start = ix_attr_int(c, "start", 0), end = ix_attr_int(c, "end", r);
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
  ix_set_const(c, 0, k);
  return NULL;
}

cz_err *ix_norm_axis(const ix_ctx *c, int64_t axis, int rank, bool end_ok, int *out) {
  int lim = rank + (end_ok ? 1 : 0);
  if (axis < -lim || axis >= lim)
    return ix_nerr(c, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + lim : axis);
  return NULL;
}

cz_err *ix_do_gather(ix_ctx *c) {
  if (c->n_in < 2 || !c->in[0]->c || !c->in[1] || !c->in[1]->c)
    return ix_nerr(c, "only Gather of constants (shape arithmetic) is supported");
  const imp_const *d = c->in[0]->c, *ix = c->in[1]->c;
  if (ix->dt != CZ_I64) return ix_nerr(c, "indices must be integers");
  int ax = 0;
  cz_err *e = ix_norm_axis(c, ix_attr_int(c, "axis", 0), d->shape.rank, false, &ax);
  if (e) return e;
  if (d->shape.rank - 1 + ix->shape.rank > CZ_MAX_RANK) return ix_nerr(c, "result rank too large");
  cz_shape s = {.rank = 0};
  for (int i = 0; i < ax; i++) s.d[s.rank++] = d->shape.d[i];
  for (int i = 0; i < ix->shape.rank; i++) s.d[s.rank++] = ix->shape.d[i];
  for (int i = ax + 1; i < d->shape.rank; i++) s.d[s.rank++] = d->shape.d[i];
  if ((e = ix_fold_size_ok(c, &s))) return e;
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
        return ix_nerr(c, "index %lld is out of range for dimension %lld",
                    (long long)((const int64_t *)ix->data)[j], (long long)dim);
      }
      int64_t src = (o * dim + id) * inner, dst = (o * nix + j) * inner;
      memcpy((char *)k->data + dst * es, (const char *)d->data + src * es, (size_t)inner * es);
      if (d->batch) memcpy(k->batch + dst, d->batch + src, (size_t)inner);
    }
  ix_set_const(c, 0, k);
  return NULL;
}

/* Unsqueeze / Squeeze: the output shape from the axes. */
cz_err *ix_do_squeeze(ix_ctx *c, bool unsq) {
  int64_t axes[CZ_MAX_RANK];
  int na;
  cz_err *e = ix_int_list(c, "axes", 1, 13, axes, CZ_MAX_RANK, &na);
  if (e) return e;
  cz_shape s;
  if ((e = ix_shape_of(c, c->in[0], &s))) return e;
  bool dyn = !c->in[0]->c;
  cz_shape o = {.rank = 0};
  int batch_at = dyn ? 0 : -1;
  if (unsq) {
    if (na < 1) return ix_nerr(c, "axes are missing");
    int r = s.rank + na;
    if (r > CZ_MAX_RANK) return ix_nerr(c, "result rank %d exceeds %d", r, CZ_MAX_RANK);
    bool ins[CZ_MAX_RANK] = {false};
    for (int i = 0; i < na; i++) {
      int a = 0;
      if ((e = ix_norm_axis(c, axes[i], r, false, &a))) return e;
      if (ins[a]) return ix_nerr(c, "axis %lld is repeated", (long long)axes[i]);
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
      if ((e = ix_norm_axis(c, axes[i], s.rank, false, &a))) return e;
      if (s.d[a] != 1) return ix_nerr(c, "cannot squeeze axis %d of size %lld", a, (long long)s.d[a]);
      if (a == 0 && dyn) return ix_nerr(c, "squeezing the batch dimension is not supported");
      drop[a] = true;
    }
    for (int i = 0; i < s.rank; i++)
      if (!drop[i]) o.d[o.rank++] = s.d[i];
  }
  if (dyn) return ix_emit_reshape(c, c->in[0], &o, batch_at);
  ix_set_const(c, 0, ix_const_copy(c->in[0]->c, o));
  return NULL;
}

cz_err *ix_do_concat_const(ix_ctx *c) {
  const imp_const *f = c->in[0]->c;
  int ax = 0;
  cz_err *e = ix_norm_axis(c, ix_attr_int(c, "axis", 0), f->shape.rank, false, &ax);
  if (e) return e;
  cz_shape s = f->shape;
  s.d[ax] = 0;
  bool tags = false;
  for (int i = 0; i < c->n_in; i++) {
    const imp_const *k = c->in[i]->c;
    if (k->dt != f->dt || k->shape.rank != f->shape.rank)
      return ix_nerr(c, "inputs differ in type or rank");
    for (int d = 0; d < s.rank; d++)
      if (d != ax && k->shape.d[d] != f->shape.d[d]) return ix_nerr(c, "input shapes disagree");
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
  ix_set_const(c, 0, r);
  return NULL;
}

/* Elementwise Add/Sub/Mul/Div of two constants, numpy broadcasting. */
cz_err *ix_do_arith_const(ix_ctx *c) {
  const imp_const *a = c->in[0]->c, *b = c->in[1]->c;
  if (a->dt != b->dt) return ix_nerr(c, "inputs differ in element type");
  if (ix_has_batch(a) || ix_has_batch(b))
    return ix_nerr(c, "arithmetic on the batch size is not supported");
  int r = a->shape.rank > b->shape.rank ? a->shape.rank : b->shape.rank;
  cz_shape s = {.rank = r};
  int64_t sa[CZ_MAX_RANK], sb[CZ_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->shape.rank), ib = i - (r - b->shape.rank);
    int64_t da = ia >= 0 ? a->shape.d[ia] : 1, db = ib >= 0 ? b->shape.d[ib] : 1;
    if (da != db && da != 1 && db != 1) return ix_nerr(c, "shapes do not broadcast");
    s.d[i] = da == 1 ? db : da;
  }
  cz_err *e = ix_fold_size_ok(c, &s);
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
        return ix_nerr(c, "integer division by zero");
      }
      ((int64_t *)k->data)[i] = op == 'A'   ? (int64_t)((uint64_t)x + (uint64_t)y)
                                : op == 'S' ? (int64_t)((uint64_t)x - (uint64_t)y)
                                : op == 'M' ? (int64_t)((uint64_t)x * (uint64_t)y)
                                : (x == INT64_MIN && y == -1) ? x
                                                              : x / y;
    }
  }
  ix_set_const(c, 0, k);
  return NULL;
}

cz_err *ix_do_cast(ix_ctx *c) {
  int64_t to = ix_attr_int(c, "to", 0);
  bool to_f = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       to_i = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
              to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
  if (!to_f && !to_i) return ix_nerr(c, "cast to type %lld is not supported", (long long)to);
  if (!c->in[0]->c) {
    if (to_f) return ix_do_alias(c);
    return ix_nerr(c, "casting computed floats to integers is not supported");
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
  ix_set_const(c, 0, r);
  return NULL;
}

/* Reshape: of a constant, folded; of a computed value, the target's
 * batch-marked element (and a literal 1 at position 0, what a fixed-batch
 * export writes) become 0, "copy the input's batch". */
cz_err *ix_do_reshape(ix_ctx *c) {
  if (c->n_in < 2 || !c->in[1] || !c->in[1]->c || c->in[1]->c->dt != CZ_I64 ||
      c->in[1]->c->shape.rank != 1)
    return ix_nerr(c, "the target shape must be a constant integer list");
  if (ix_attr_int(c, "allowzero", 0) != 0) return ix_nerr(c, "allowzero=1 is not supported");
  const imp_const *t = c->in[1]->c;
  int64_t n = t->shape.d[0];
  if (n > CZ_MAX_RANK) return ix_nerr(c, "target rank %lld exceeds %d", (long long)n, CZ_MAX_RANK);
  int64_t d[CZ_MAX_RANK];
  memcpy(d, t->data, (size_t)n * sizeof *d);
  cz_shape xs;
  cz_err *e = ix_shape_of(c, c->in[0], &xs);
  if (e) return e;
  if (c->in[0]->c) {
    if (ix_has_batch(t)) return ix_nerr(c, "a constant reshaped by the batch size");
    int64_t known = 1, numel = cz_shape_numel(&xs);
    int at = -1;
    cz_shape s = {.rank = (int)n};
    for (int i = 0; i < n; i++) {
      s.d[i] = d[i] == 0 && i < xs.rank ? xs.d[i] : d[i];
      if (s.d[i] == -1 && at < 0) at = i;
      else if (s.d[i] < 0 || s.d[i] > IMP_MAX_ELEMS || (s.d[i] && known > IMP_MAX_ELEMS / s.d[i]))
        return ix_nerr(c, "invalid target dimension %lld", (long long)d[i]);
      else known *= s.d[i];
    }
    if (at >= 0 && known > 0 && numel % known == 0) s.d[at] = numel / known;
    if (cz_shape_numel(&s) != numel) return ix_nerr(c, "element counts differ");
    ix_set_const(c, 0, ix_const_copy(c->in[0]->c, s));
    return NULL;
  }
  int64_t known = 1;
  for (int i = 0; i < n; i++) {
    if (d[i] < -1 || d[i] > IMP_MAX_ELEMS || (d[i] > 0 && known > IMP_MAX_ELEMS / d[i]))
      return ix_nerr(c, "target dimension %lld is out of range", (long long)d[i]);
    if (d[i] > 0) known *= d[i];
  }
  for (int i = 0; i < n; i++) {
    if (t->batch && t->batch[i]) {
      if (i != 0) return ix_nerr(c, "the batch size at target position %d is not supported", i);
      d[i] = 0;
    } else if (i == 0 && d[i] == 1 && xs.rank > 0) {
      d[i] = 0;
    }
  }
  int xv;
  if ((e = ix_value_of(c, c->in[0], false, &xv))) return e;
  char *sn = ix_fresh_name(c->m, c->in[1]->name, "target");
  int in[2] = {xv, cz_graph_const(c->m->g, sn, CZ_I64, cz_shape_make(1, &n), d)};
  free(sn);
  ix_emit(c, "Reshape", 2, in);
  return NULL;
}

/* ReduceMean over the two spatial axes of a rank-4 tensor. */
cz_err *ix_do_reducemean(ix_ctx *c) {
  int64_t axes[CZ_MAX_RANK];
  int na;
  cz_err *e = ix_int_list(c, "axes", 1, 18, axes, CZ_MAX_RANK, &na);
  if (e) return e;
  cz_shape s;
  if ((e = ix_shape_of(c, c->in[0], &s))) return e;
  bool ok = s.rank == 4 && na == 2 && !c->in[0]->c;
  int a0 = 0, a1 = 0;
  if (ok && !ix_norm_axis(c, axes[0], 4, false, &a0) && !ix_norm_axis(c, axes[1], 4, false, &a1))
    ok = (a0 == 2 && a1 == 3) || (a0 == 3 && a1 == 2);
  else ok = false;
  for (size_t i = 0; i < c->np->n_attribute; i++) {
    const char *an = ix_aname(c->np->attribute[i]);
    if (strcmp(an, "keepdims") != 0 && strcmp(an, "axes") != 0 &&
        strcmp(an, "noop_with_empty_axes") != 0)
      return ix_nerr(c, "attribute '%s' is not supported (supported: axes, keepdims)", an);
  }
  if (!ok)
    return ix_nerr(c, "only the mean over axes [2,3] of a computed rank-4 tensor (global average "
                   "pooling) is supported");
  int xv;
  if ((e = ix_value_of(c, c->in[0], false, &xv))) return e;
  if (ix_attr_int(c, "keepdims", 1)) {
    ix_emit(c, "GlobalAveragePool", 1, &xv);
    return NULL;
  }
  char *mid = ix_fresh_name(c->m, c->np->output[0], "pooled");
  const char *mo = mid;
  int gap = cz_graph_node(c->m->g, "GlobalAveragePool", c->name, 1, &xv, 1, &mo);
  free(mid);
  int v = cz_node_out(c->m->g, gap, 0);
  char *fl = cz_asprintf("%s/flatten", c->name);
  int node = cz_graph_node(c->m->g, "Flatten", fl, 1, &v, 1, (const char *const *)&c->np->output[0]);
  free(fl);
  ix_register_outputs(c, node);
  return NULL;
}
