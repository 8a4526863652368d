/* ONNX export (onnx_export.h). Op forms follow the ONNX operator
 * specification (onnx/docs/Operators.md) for opsets 13 to 20; what differs
 * across them for czoo's ops:
 *  - Clip: min/max are inputs (since 11): attribute-style nodes get
 *    constant inputs;
 *  - Split: sizes are the `split` input (since 13; opset 18 requires it or
 *    num_outputs): always written as a constant input;
 *  - HardSwish exists from 14: at 13 it is HardSigmoid(1/6, 1/2) then Mul;
 *  - LayerNormalization exists from 17 and Gelu from 20: earlier opsets
 *    are an error naming the node;
 *  - Reshape's allowzero exists from 14: at 13 allowzero 0 is left out
 *    (the same meaning), allowzero 1 is an error;
 *  - Silu (a czoo extension) is Sigmoid then Mul at every opset;
 *  - QuantizeLinear / DequantizeLinear: per-axis scales since 13, the
 *    forms czoo holds are the same up to 20; int8 / uint8 / int32
 *    initializers written as raw data.
 * Squeeze/Unsqueeze/ReduceMean (axes moved to inputs at 13/18) are not in
 * czoo's op set. */
#include "onnx/onnx_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_prepare.h"
#include "onnx/onnx_proto.h"
#include "ops/op.h"
#include "util/atomic_file.h"
#include "util/mem.h"

int cz_onnx_ir_version(int opset) {
  /* onnx/docs/Versioning.md: IR 7 for opsets 13-14, 8 for 15-18, 9 for 19-20. */
  if (opset < CZ_ONNX_OPSET_MIN || opset > CZ_ONNX_OPSET_MAX) return 0;
  return opset <= 14 ? 7 : opset <= 18 ? 8 : 9;
}

/* Standard ONNX ops that czoo writes as they are (attributes copied). */
static const char *const plain_ops[] = {
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "Div", "Flatten",
    "Gelu", "Gemm", "GlobalAveragePool", "HardSigmoid", "HardSwish", "Identity",
    "LayerNormalization", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "Relu", "Reshape",
    "Sigmoid", "Slice", "Softmax", "Split", "Sub", "Tanh", "Transpose", "QuantizeLinear",
    "DequantizeLinear", NULL};

static bool is_plain(const char *op) {
  for (int i = 0; plain_ops[i]; i++)
    if (strcmp(plain_ops[i], op) == 0) return true;
  return false;
}

typedef struct {
  ox_arena a;
  const cz_graph *g;
  int opset;
  Onnx__GraphProto *gp;
  size_t n_made; /* names the exporter made up (gates, Clip bounds, splits) */
  char **made;
} exporter;

/* The graph's input is written as "input", its output as "output". */
static const char *vname(const exporter *x, int v) {
  if (v < 0) return "";
  if (v == x->g->inputs[0]) return "input";
  if (v == x->g->outputs[0]) return "output";
  return x->g->values[v].name;
}

static void add_node(exporter *x, Onnx__NodeProto *n) {
  ox_push(&x->a, &x->gp->n_node, (void ***)&x->gp->node, n);
}

static void add_init(exporter *x, const char *name, cz_dtype dt, cz_shape s, const void *data) {
  Onnx__TensorProto *t = ox_tensor(&x->a, name, dt, &s, data);
  ox_push(&x->a, &x->gp->n_initializer, (void ***)&x->gp->initializer, t);
}

static bool name_taken(const exporter *x, const char *s) {
  if (cz_graph_find_value(x->g, s) >= 0) return true;
  for (size_t i = 0; i < x->n_made; i++)
    if (strcmp(x->made[i], s) == 0) return true;
  return false;
}

/* A name for an exporter-made value or initializer, unique in the file. */
static const char *fresh(exporter *x, const char *base, const char *suffix) {
  char *s = cz_asprintf("%s.%s", base, suffix);
  for (int k = 2; name_taken(x, s); k++) {
    free(s);
    s = cz_asprintf("%s.%s%d", base, suffix, k);
  }
  char *r = ox_strdup(&x->a, s);
  free(s);
  ox_push(&x->a, &x->n_made, (void ***)&x->made, r);
  return r;
}

/* Data owned by the arena (exporter-made initializers). */
static void *arena_copy(exporter *x, const void *p, size_t n) {
  void *d = ox_alloc(&x->a, n);
  memcpy(d, p, n);
  return d;
}

static void copy_attrs(exporter *x, Onnx__NodeProto *o, const cz_node *n, const char *skip1,
                       const char *skip2) {
  for (int i = 0; i < n->n_attr; i++) {
    const cz_attr *at = &n->attr[i];
    if ((skip1 && strcmp(at->name, skip1) == 0) || (skip2 && strcmp(at->name, skip2) == 0))
      continue;
    switch (at->type) {
    case CZ_A_INT: ox_attr_int(&x->a, o, at->name, at->i); break;
    case CZ_A_FLOAT: ox_attr_float(&x->a, o, at->name, at->f); break;
    case CZ_A_INTS: ox_attr_ints(&x->a, o, at->name, at->n, at->ints); break;
    case CZ_A_FLOATS: ox_attr_floats(&x->a, o, at->name, at->n, at->floats); break;
    case CZ_A_STRING: ox_attr_string(&x->a, o, at->name, at->s); break;
    }
  }
}

/* y = x * f(x) as two nodes: f (op with its attributes) then Mul. */
static void gated(exporter *x, const cz_node *n, const char *gate_op, bool hard) {
  const char *in = vname(x, n->in[0]), *out = vname(x, n->out[0]);
  const char *mid = fresh(x, out, "gate");
  char *gname = cz_asprintf("%s/gate", n->name);
  Onnx__NodeProto *gn = ox_node(&x->a, gate_op, gname, 1, &in, 1, &mid);
  free(gname);
  if (hard) { /* PyTorch's hardsigmoid: relu6(x + 3) / 6 */
    ox_attr_float(&x->a, gn, "alpha", 1.0f / 6.0f);
    ox_attr_float(&x->a, gn, "beta", 0.5f);
  }
  add_node(x, gn);
  const char *mi[2] = {in, mid};
  add_node(x, ox_node(&x->a, "Mul", n->name, 2, mi, 1, &out));
}

/* Clip with attribute bounds (opset 6 form) gets constant inputs. */
static void clip_node(exporter *x, const cz_node *n, const char **in, int *n_in) {
  const char *const keys[2] = {"min", "max"};
  for (int k = 0; k < 2; k++) {
    const cz_attr *at = cz_node_attr(n, keys[k]);
    if (!at || (*n_in > k + 1 && in[k + 1][0])) continue;
    while (*n_in < k + 2) in[(*n_in)++] = "";
    in[k + 1] = fresh(x, n->name, keys[k]);
    float v = at->type == CZ_A_FLOAT ? at->f : (float)at->i;
    add_init(x, in[k + 1], CZ_F32, cz_shape_make(0, NULL), arena_copy(x, &v, sizeof v));
  }
}

/* Split's part sizes as a constant `split` input (read off the outputs). */
static void split_node(exporter *x, const cz_node *n, const char **in, int *n_in) {
  if (*n_in > 1 && in[1][0]) return;
  const cz_attr *ax = cz_node_attr(n, "axis");
  int rank = x->g->values[n->in[0]].shape.rank;
  int64_t axis = ax ? ax->i : 0;
  if (axis < 0) axis += rank;
  int64_t *sz = ox_alloc(&x->a, (size_t)n->n_out * sizeof *sz);
  for (int i = 0; i < n->n_out; i++) sz[i] = x->g->values[n->out[i]].shape.d[axis];
  in[1] = fresh(x, n->name, "split");
  *n_in = 2;
  int64_t cnt = n->n_out;
  add_init(x, in[1], CZ_I64, cz_shape_make(1, &cnt), sz);
}

static cz_err *export_node(exporter *x, const cz_node *n) {
  const cz_graph *g = x->g;
  const char *op = n->op->name;
  if (strcmp(op, "Silu") == 0) {
    gated(x, n, "Sigmoid", false);
    return NULL;
  }
  if (strcmp(op, "HardSwish") == 0 && x->opset < 14) {
    gated(x, n, "HardSigmoid", true);
    return NULL;
  }
  if (!is_plain(op))
    return cz_node_err(g, n, "has no ONNX form (a czoo extension or training-only op)");
  if (strcmp(op, "Gelu") == 0 && x->opset < 20)
    return cz_node_err(g, n, "Gelu is an ONNX op from opset 20; opset %d was asked", x->opset);
  if (strcmp(op, "LayerNormalization") == 0 && x->opset < 17)
    return cz_node_err(g, n, "LayerNormalization is an ONNX op from opset 17; opset %d was asked",
                       x->opset);
  const char *in[CZ_MAX_IO + 2], *out[CZ_MAX_IO];
  int n_in = n->n_in;
  for (int i = 0; i < n->n_in; i++) in[i] = vname(x, n->in[i]);
  for (int i = 0; i < n->n_out; i++) out[i] = vname(x, n->out[i]);
  const char *skip1 = NULL, *skip2 = NULL;
  if (strcmp(op, "Reshape") == 0 && x->opset < 14) {
    const cz_attr *az = cz_node_attr(n, "allowzero");
    if (az && az->i != 0)
      return cz_node_err(g, n, "allowzero=1 needs opset 14 or later; opset %d was asked",
                         x->opset);
    skip1 = "allowzero";
  }
  if (strcmp(op, "Clip") == 0) {
    clip_node(x, n, in, &n_in);
    skip1 = "min", skip2 = "max";
  } else if (strcmp(op, "Split") == 0) {
    split_node(x, n, in, &n_in);
    skip1 = "split", skip2 = "num_outputs";
  }
  while (n_in > 0 && !in[n_in - 1][0]) n_in--; /* trailing absent inputs */
  Onnx__NodeProto *o = ox_node(&x->a, op, n->name, n_in, in, n->n_out, out);
  copy_attrs(x, o, n, skip1, skip2);
  add_node(x, o);
  return NULL;
}

static cz_err *check_io(const cz_graph *g) {
  if (g->n_inputs != 1 || g->n_outputs != 1)
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "ONNX export of '%s': %d inputs and %d outputs, expected 1 and 1", g->name,
                      g->n_inputs, g->n_outputs);
  const cz_value *in = &g->values[g->inputs[0]];
  if (in->shape.rank != 4 || in->dtype != CZ_F32)
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "ONNX export of '%s': input '%s' has rank %d (%s), expected a float32 "
                      "[batch, C, H, W] image batch",
                      g->name, in->name, in->shape.rank, cz_dtype_name(in->dtype));
  return NULL;
}

/* Values other than the graph's input and output that are named "input"
 * or "output" (pytorchcv calls its last Conv `output`) get a suffix. */
static void rename_clashes(cz_graph *g) {
  for (int i = 0; i < g->n_values; i++) {
    const char *nm = g->values[i].name;
    if (i == g->inputs[0] || i == g->outputs[0] ||
        (strcmp(nm, "input") != 0 && strcmp(nm, "output") != 0))
      continue;
    char *s = cz_asprintf("%s.value", nm);
    for (int k = 2; cz_graph_find_value(g, s) >= 0; k++) {
      free(s);
      s = cz_asprintf("%s.value%d", nm, k);
    }
    free(g->values[i].name);
    g->values[i].name = s;
  }
}

static cz_err *build_model(exporter *x, Onnx__ModelProto *m) {
  const cz_graph *g = x->g;
  onnx__model_proto__init(m);
  m->has_ir_version = 1;
  m->ir_version = cz_onnx_ir_version(x->opset);
  m->producer_name = "czoo";
  m->producer_version = CZOO_VERSION;
  Onnx__OperatorSetIdProto *os = ox_alloc(&x->a, sizeof *os);
  onnx__operator_set_id_proto__init(os);
  os->domain = "";
  os->has_version = 1;
  os->version = x->opset;
  ox_push(&x->a, &m->n_opset_import, (void ***)&m->opset_import, os);
  x->gp = ox_alloc(&x->a, sizeof *x->gp);
  onnx__graph_proto__init(x->gp);
  x->gp->name = ox_strdup(&x->a, g->name);
  m->graph = x->gp;

  const cz_value *iv = &g->values[g->inputs[0]], *ov = &g->values[g->outputs[0]];
  int64_t dims[CZ_MAX_RANK];
  for (int i = 0; i < iv->shape.rank; i++) dims[i] = i == 0 ? -1 : iv->shape.d[i];
  Onnx__ValueInfoProto *vi = ox_value_info(&x->a, "input", CZ_F32, iv->shape.rank, dims, "batch");
  ox_push(&x->a, &x->gp->n_input, (void ***)&x->gp->input, vi);
  for (int i = 0; i < ov->shape.rank; i++) dims[i] = i == 0 ? -1 : ov->shape.d[i];
  vi = ox_value_info(&x->a, "output", ov->dtype, ov->shape.rank, dims, "batch");
  ox_push(&x->a, &x->gp->n_output, (void ***)&x->gp->output, vi);

  for (int i = 0; i < g->n_values; i++) {
    const cz_value *v = &g->values[i];
    if (v->kind == CZ_V_PARAM || v->kind == CZ_V_BUFFER || v->kind == CZ_V_CONST) {
      if (!v->data)
        return cz_err_new(CZ_EXIT_RUNTIME, "ONNX export of '%s': initializer '%s' has no data",
                          g->name, v->name);
      add_init(x, v->name, v->dtype, v->shape, v->data);
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    cz_err *e = export_node(x, &g->nodes[i]);
    if (e) return e;
  }
  return NULL;
}

cz_err *cz_onnx_export(const cz_graph *src, const cz_onnx_export_opts *o, const char *path) {
  int opset = o && o->opset ? o->opset : CZ_ONNX_OPSET_DEFAULT;
  if (!cz_onnx_ir_version(opset))
    return cz_err_new(CZ_EXIT_USAGE, "ONNX export: opset %d is not supported, expected %d to %d",
                      opset, CZ_ONNX_OPSET_MIN, CZ_ONNX_OPSET_MAX);
  cz_err *e = check_io(src);
  if (e) return e;
  cz_graph *g = NULL;
  if ((e = cz_onnx_prepare(src, &g))) return e;
  rename_clashes(g);
  exporter x = {.g = g, .opset = opset};
  Onnx__ModelProto m;
  e = build_model(&x, &m);
  if (!e) {
    size_t n = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = cz_xmalloc(n ? n : 1);
    onnx__model_proto__pack(&m, buf);
    e = cz_write_file_atomic(path, buf, n);
    free(buf);
  }
  ox_arena_free(&x.a);
  cz_graph_free(g);
  return e ? cz_err_prefix(e, "ONNX export to '%s'", path) : NULL;
}
