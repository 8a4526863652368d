/* ONNX import: one node (imp_node): dispatch to the folds
 * (onnx_import_fold.c), else an op from czoo's table with its attributes
 * checked against what the op accepts; opset forms of Pad (attributes
 * before 11) and Softmax (2-D flattening before 13) handled here. An op or
 * attribute czoo does not support is one error naming the op, the node and
 * what is supported. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import_ctx.h"
#include "ops/op.h"
#include "util/mem.h"

/* ---- czoo ops ---- */

static const char *const onnx_ops[] = {
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "Div", "Flatten",
    "Gelu", "Gemm", "GlobalAveragePool", "HardSigmoid", "HardSwish", "LayerNormalization",
    "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "Relu", "Sigmoid", "Slice", "Softmax",
    "Split", "Sub", "Tanh", "Transpose", "QuantizeLinear", "DequantizeLinear", NULL};

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
static bool ignorable(const ix_ctx *c, const Onnx__AttributeProto *a) {
  const char *n = ix_aname(a);
  if (strcmp(c->op, "BatchNormalization") == 0 &&
      ((strcmp(n, "spatial") == 0 && a->i == 1) || (strcmp(n, "training_mode") == 0 && a->i == 0)))
    return true;
  if (strcmp(c->op, "MaxPool") == 0 && strcmp(n, "storage_order") == 0 && a->i == 0) return true;
  if (strcmp(c->op, "Clip") == 0 && c->m->opset >= 11) return false;
  if (strcmp(c->op, "Split") == 0 && strcmp(n, "split") == 0 && c->m->opset >= 13) return false;
  return false;
}

static cz_err *copy_attrs(ix_ctx *c, const cz_op *op, int node, const char *skip) {
  cz_graph *g = c->m->g;
  for (size_t i = 0; i < c->np->n_attribute; i++) {
    const Onnx__AttributeProto *a = c->np->attribute[i];
    const char *an = a->name ? a->name : "";
    if ((skip && strcmp(an, skip) == 0) || ignorable(c, a)) continue;
    if (!in_list(op->attrs, an) || (strcmp(c->op, "BatchNormalization") == 0 &&
                                    strcmp(an, "training_mode") == 0)) {
      char *sup = supported_list(op->attrs);
      cz_err *e = ix_nerr(c, "attribute '%s' is not supported (supported: %s)", an, sup);
      free(sup);
      return e;
    }
    bool big = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT &&
               (a->i > IMP_MAX_ATTR_INT || a->i < -IMP_MAX_ATTR_INT);
    for (size_t k = 0; a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS && k < a->n_ints; k++)
      big |= a->ints[k] > IMP_MAX_ATTR_INT || a->ints[k] < -IMP_MAX_ATTR_INT;
    if (big)
      return ix_nerr(c, "attribute '%s' has a value beyond +-%lld", an, (long long)IMP_MAX_ATTR_INT);
    switch (a->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: cz_node_set_int(g, node, an, a->i); break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: cz_node_set_float(g, node, an, a->f); break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
      if (a->n_ints > 64) return ix_nerr(c, "attribute '%s' has %zu values", an, a->n_ints);
      cz_node_set_ints(g, node, an, (int)a->n_ints, a->ints);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
      if (a->n_floats > 64) return ix_nerr(c, "attribute '%s' has %zu values", an, a->n_floats);
      cz_node_set_floats(g, node, an, (int)a->n_floats, a->floats);
      break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: {
      char *s = ix_astr(a);
      cz_node_set_string(g, node, an, s);
      free(s);
      break;
    }
    default: return ix_nerr(c, "attribute '%s' has type %d, which is not supported", an, (int)a->type);
    }
  }
  return NULL;
}

static cz_err *do_op(ix_ctx *c) {
  const cz_op *op = in_list(onnx_ops, c->op) ? cz_op_find(c->op) : NULL;
  if (!op) {
    char *sup = supported_list(onnx_ops);
    cz_err *e = ix_nerr(c, "op '%s' is not supported (supported: %s; and folded: Constant, Shape, "
                        "Gather, Unsqueeze, Squeeze, Cast, Reshape, Identity, Dropout, "
                        "ReduceMean over H,W)", c->op, sup);
    free(sup);
    return e;
  }
  int n_out = 0;
  for (size_t i = 0; i < c->np->n_output; i++)
    if (*c->np->output[i]) n_out = (int)i + 1;
  if (c->n_in < op->min_in || c->n_in > op->max_in || n_out < op->min_out || n_out > op->max_out)
    return ix_nerr(c, "%d inputs and %d outputs, expected %d to %d and %d to %d", c->n_in, n_out,
                op->min_in, op->max_in, op->min_out, op->max_out);
  if (strcmp(c->op, "MaxPool") == 0 && n_out > 1) return ix_nerr(c, "the Indices output is not supported");
  if (strcmp(c->op, "BatchNormalization") == 0 && n_out > 1)
    return ix_nerr(c, "training-mode outputs are not supported (export in eval mode)");
  int in[CZ_MAX_IO + 2], n_in = c->n_in;
  for (int i = 0; i < n_in; i++) {
    in[i] = -1;
    if (!c->in[i]) continue;
    bool buffer = strcmp(c->op, "BatchNormalization") == 0 && i >= 3;
    bool fixed = i >= 1 && (strcmp(c->op, "Clip") == 0 || strcmp(c->op, "Pad") == 0 ||
                            strcmp(c->op, "Slice") == 0 || strcmp(c->op, "Split") == 0);
    cz_err *e = ix_value_as(c, c->in[i], buffer, fixed, &in[i]);
    if (e) return e;
  }
  const char *skip = NULL;
  cz_graph *g = c->m->g;
  /* attribute forms of older opsets that czoo takes as inputs */
  if (strcmp(c->op, "Pad") == 0 && c->m->opset < 11) {
    const Onnx__AttributeProto *p = ix_attr(c, "pads"), *v = ix_attr(c, "value");
    if (!p || p->n_ints > 2 * CZ_MAX_RANK) return ix_nerr(c, "pads are missing");
    for (size_t k = 0; k < p->n_ints; k++)
      if (p->ints[k] > IMP_MAX_ATTR_INT || p->ints[k] < -IMP_MAX_ATTR_INT)
        return ix_nerr(c, "pads has a value beyond +-%lld", (long long)IMP_MAX_ATTR_INT);
    int64_t np = (int64_t)p->n_ints;
    char *pn = ix_fresh_name(c->m, c->name, "pads");
    in[n_in++] = cz_graph_const(g, pn, CZ_I64, cz_shape_make(1, &np), p->ints);
    free(pn);
    float fv = v ? v->f : 0.0f;
    char *vn = ix_fresh_name(c->m, c->name, "value");
    in[n_in++] = cz_graph_const(g, vn, CZ_F32, cz_shape_make(0, NULL), &fv);
    free(vn);
    skip = "pads";
  }
  if (strcmp(c->op, "Softmax") == 0 && c->m->opset < 13) {
    cz_shape s;
    cz_err *e = ix_shape_of(c, c->in[0], &s);
    if (e) return e;
    int ax = 0;
    if ((e = ix_norm_axis(c, ix_attr_int(c, "axis", 1), s.rank, false, &ax))) return e;
    if (ax != s.rank - 1)
      return ix_nerr(c, "softmax over axis %d of rank %d before opset 13 (flattened) is not "
                     "supported", ax, s.rank);
  }
  int node = ix_emit(c, c->op, n_in, in);
  cz_err *e = NULL;
  if (strcmp(c->op, "Pad") == 0 && c->m->opset < 11) {
    for (size_t i = 0; i < c->np->n_attribute && !e; i++) {
      const char *an = ix_aname(c->np->attribute[i]);
      if (strcmp(an, "mode") == 0) {
        char *s = ix_astr(c->np->attribute[i]);
        cz_node_set_string(g, node, "mode", s);
        free(s);
      } else if (strcmp(an, "pads") != 0 && strcmp(an, "value") != 0) {
        e = ix_nerr(c, "attribute '%s' is not supported (supported: mode, pads, value)", an);
      }
    }
  } else {
    e = copy_attrs(c, op, node, skip);
  }
  if (!e && strcmp(c->op, "Softmax") == 0 && c->m->opset < 13) cz_node_set_int(g, node, "axis", -1);
  return e;
}

/* QuantizeLinear / DequantizeLinear stay nodes even on constant inputs
 * (a dequantized weight is what the int8 engine reads); every operand is a
 * graph constant of its stored type (an INT32 bias back to int32). */
static cz_err *do_qdq(ix_ctx *c) {
  const cz_op *op = cz_op_find(c->op);
  bool dq = strcmp(c->op, "DequantizeLinear") == 0;
  int n_out = 0;
  for (size_t i = 0; i < c->np->n_output; i++)
    if (*c->np->output[i]) n_out = (int)i + 1;
  if (c->n_in < 2 || c->n_in > 3 || n_out != 1)
    return ix_nerr(c, "%d inputs and %d outputs, expected 2 to 3 and 1", c->n_in, n_out);
  if (!c->in[1]) return ix_nerr(c, "the scale input is absent");
  cz_graph *g = c->m->g;
  int in[3] = {-1, -1, -1};
  for (int i = 0; i < c->n_in; i++) {
    imp_name *e = c->in[i];
    if (!e) continue;
    const imp_const *k = e->c;
    if (e->value < 0 && k && k->i32 && k->dt == CZ_I64 && dq && i != 1 && !ix_has_batch(k)) {
      int64_t n = cz_shape_numel(&k->shape);
      int32_t *d = cz_xmalloc((size_t)(n ? n : 1) * sizeof *d);
      for (int64_t j = 0; j < n; j++) d[j] = (int32_t)((const int64_t *)k->data)[j];
      e->value = cz_graph_const(g, e->name, CZ_I32, k->shape, d);
      free(d);
    }
    cz_err *err = ix_value_as(c, e, false, true, &in[i]);
    if (err) return err;
  }
  int node = ix_emit(c, c->op, c->n_in, in);
  return copy_attrs(c, op, node, NULL);
}

/* int8 / uint8 constants are quantized data: only the Q/DQ ops read them
 * (the folds know f32 and i64 only). */
static cz_err *int8_const_use(const ix_ctx *c) {
  for (int i = 0; i < c->n_in; i++)
    if (c->in[i] && c->in[i]->c && (c->in[i]->c->dt == CZ_I8 || c->in[i]->c->dt == CZ_U8))
      return ix_nerr(c, "input '%s' is an %s constant, which only QuantizeLinear and "
                     "DequantizeLinear may read", c->in[i]->name,
                     cz_dtype_name(c->in[i]->c->dt));
  return NULL;
}

cz_err *imp_node(imp *m, const Onnx__NodeProto *np, int index) {
  char *made = NULL;
  ix_ctx c = {.m = m, .np = np, .op = np->op_type};
  if (np->name && *np->name) c.name = np->name;
  else c.name = made = cz_asprintf("%s_%d", np->op_type, index);
  cz_err *e = NULL;
  if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx") != 0) {
    e = ix_nerr(&c, "domain '%s' is not supported (only the default ONNX domain)", np->domain);
    goto done;
  }
  c.n_in = (int)np->n_input;
  for (int i = 0; i < c.n_in; i++) c.in[i] = *np->input[i] ? imp_lookup(m, np->input[i]) : NULL;
  while (c.n_in > 0 && !c.in[c.n_in - 1]) c.n_in--;
  for (int i = 0; i < c.n_in; i++)
    if (c.in[i] && c.in[i]->value < 0 && !c.in[i]->c) {
      e = ix_nerr(&c, "input '%s' has no value (an output czoo dropped)", c.in[i]->name);
      goto done;
    }
  if (!*np->output[0]) {
    e = ix_nerr(&c, "output 0 has no name");
    goto done;
  }
  const char *op = np->op_type;
  bool needs_in = strcmp(op, "Constant") != 0;
  if (needs_in && (c.n_in < 1 || !c.in[0])) {
    e = ix_nerr(&c, "input 0 is absent");
    goto done;
  }
  bool cst = needs_in && ix_all_const(&c);
  if (strcmp(op, "QuantizeLinear") == 0 || strcmp(op, "DequantizeLinear") == 0) {
    e = do_qdq(&c);
    goto done;
  }
  if ((e = int8_const_use(&c))) goto done;
  if (strcmp(op, "Constant") == 0) e = ix_do_constant(&c);
  else if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0) e = ix_do_alias(&c);
  else if (strcmp(op, "Shape") == 0) e = ix_do_shape(&c);
  else if (strcmp(op, "Gather") == 0) e = ix_do_gather(&c);
  else if (strcmp(op, "Unsqueeze") == 0) e = ix_do_squeeze(&c, true);
  else if (strcmp(op, "Squeeze") == 0) e = ix_do_squeeze(&c, false);
  else if (strcmp(op, "Cast") == 0) e = ix_do_cast(&c);
  else if (strcmp(op, "Reshape") == 0) e = ix_do_reshape(&c);
  else if (strcmp(op, "ReduceMean") == 0) e = ix_do_reducemean(&c);
  else if (strcmp(op, "Concat") == 0 && cst) e = ix_do_concat_const(&c);
  else if (cst && c.n_in == 2 && c.in[1] &&
           (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
            strcmp(op, "Div") == 0))
    e = ix_do_arith_const(&c);
  else if (cst && strcmp(op, "Flatten") != 0)
    e = ix_nerr(&c, "folding %s of constants is not supported", op);
  else e = do_op(&c);
done:
  free(made);
  return e;
}
