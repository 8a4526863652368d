/* `czoo info FILE`: what a model file holds. An ONNX file (told by its
 * .onnx name): inputs and outputs with their shapes, opsets, producer, the
 * op histogram of its nodes, and, when czoo imports it, the parameter
 * count and MACC at batch 1 (else the import error). A checkpoint
 * (.pth/.pth.tar/.pt/.safetensors; format from the content): the
 * checkpoint's epoch and arch when a torch file has them, the tensor and
 * parameter counts and a dtype/shape list. */
#include "cli/cmd_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "io/file_bytes.h"
#include "io/torch_file.h"
#include "io/weights_file.h"
#include "ops/op.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_import.h"
#include "util/mem.h"

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

static void print_value_info(const char *what, const Onnx__ValueInfoProto *v) {
  printf("  %-7s %s", what, v->name ? v->name : "?");
  const Onnx__TypeProto *t = v->type;
  if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type) {
    printf(" (not a tensor)\n");
    return;
  }
  const Onnx__TypeProto__Tensor *tt = t->tensor_type;
  printf(" elem_type %d [", tt->has_elem_type ? (int)tt->elem_type : 0);
  for (size_t i = 0; tt->shape && i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    if (i) printf(",");
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      printf("%lld", (long long)d->dim_value);
    else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
      printf("%s", d->dim_param ? d->dim_param : "?");
    else printf("?");
  }
  printf("]\n");
}

typedef struct {
  const char *op;
  int n;
} op_count;

static int by_count(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  if (x->n != y->n) return y->n - x->n;
  return strcmp(x->op, y->op);
}

static cz_err *info_onnx(const char *path) {
  uint8_t *buf = NULL;
  size_t size = 0;
  cz_err *e = cz_read_file_bytes(path, &buf, &size);
  if (e) return e;
  Onnx__ModelProto *mp = size ? onnx__model_proto__unpack(NULL, size, buf) : NULL;
  if (!mp || !mp->graph) {
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    free(buf);
    return cz_err_new(CZ_EXIT_RUNTIME, "'%s': not a valid ONNX model", path);
  }
  const Onnx__GraphProto *g = mp->graph;
  printf("%s: ONNX model, IR version %lld, producer %s %s\n", path, (long long)mp->ir_version,
         mp->producer_name && *mp->producer_name ? mp->producer_name : "(none)",
         mp->producer_version ? mp->producer_version : "");
  for (size_t i = 0; i < mp->n_opset_import; i++)
    printf("  opset   %s %lld\n",
           mp->opset_import[i]->domain && *mp->opset_import[i]->domain
               ? mp->opset_import[i]->domain
               : "ai.onnx",
           (long long)mp->opset_import[i]->version);
  for (size_t i = 0; i < g->n_input; i++) {
    bool init = false;
    for (size_t k = 0; k < g->n_initializer && !init; k++)
      init = g->input[i]->name && g->initializer[k]->name &&
             strcmp(g->input[i]->name, g->initializer[k]->name) == 0;
    if (!init) print_value_info("input", g->input[i]);
  }
  for (size_t i = 0; i < g->n_output; i++) print_value_info("output", g->output[i]);
  printf("  nodes   %zu, initializers %zu\n", g->n_node, g->n_initializer);
  op_count *h = cz_xcalloc(g->n_node + 1, sizeof *h);
  int nh = 0;
  for (size_t i = 0; i < g->n_node; i++) {
    const char *op = g->node[i]->op_type ? g->node[i]->op_type : "?";
    int k = 0;
    while (k < nh && strcmp(h[k].op, op) != 0) k++;
    if (k == nh) h[nh++].op = op;
    h[k].n++;
  }
  qsort(h, (size_t)nh, sizeof *h, by_count);
  printf("  ops    ");
  for (int k = 0; k < nh; k++) printf(" %s %d%s", h[k].op, h[k].n, k + 1 < nh ? "," : "\n");
  if (!nh) printf(" none\n");
  free(h);
  cz_graph *cg = NULL;
  e = cz_onnx_import_mem(buf, size, path, &cg);
  if (!e) e = cz_graph_set_batch(cg, 1);
  if (e) {
    printf("  czoo    cannot import it: %s\n", cz_err_msg(e));
    cz_err_free(e);
  } else {
    if (cz_graph_is_quantized(cg)) {
      /* QDQ: the weights are int8/uint8/int32 constants behind
       * DequantizeLinear (not parameters of the float graph), and the
       * Q/DQ nodes are no compute of the model: the int8 engine folds
       * them into its kernels' requantization. */
      int64_t q8, q32, macc = 0;
      cz_graph_quantized_counts(cg, &q8, &q32);
      for (int i = 0; i < cg->n_nodes; i++) {
        const cz_node *n = &cg->nodes[i];
        if (n->op->macc && strcmp(n->op->name, "QuantizeLinear") != 0 &&
            strcmp(n->op->name, "DequantizeLinear") != 0)
          macc += n->op->macc(cg, n);
      }
      printf("  parameters %lld quantized (%lld bytes) + %lld float, MACC %lld at batch 1 "
             "(Q/DQ nodes not counted)\n",
             (long long)(q8 + q32), (long long)(q8 + 4 * q32),
             (long long)cz_graph_param_count(cg), (long long)macc);
      printf("  quantized (QDQ): %lld int8/uint8 weights, %lld int32 biases\n", (long long)q8,
             (long long)q32);
    } else {
      printf("  parameters %lld (+ %lld in buffers), MACC %lld at batch 1\n",
             (long long)cz_graph_param_count(cg), (long long)cz_graph_buffer_count(cg),
             (long long)cz_graph_macc(cg));
    }
  }
  cz_graph_free(cg);
  onnx__model_proto__free_unpacked(mp, NULL);
  free(buf);
  return NULL;
}

/* epoch and arch of a torch checkpoint dict, when present. */
static void print_checkpoint_meta(const char *path) {
  cz_pyval *root = NULL;
  cz_err *e = cz_torch_load(path, &root);
  if (e) {
    cz_err_free(e);
    return;
  }
  if (root->kind == CZ_PY_DICT) {
    const cz_pyval *ep = cz_py_get(root, "epoch"), *arch = cz_py_get(root, "arch");
    if (ep && ep->kind == CZ_PY_INT) printf("  epoch   %lld\n", (long long)ep->i);
    if (arch && arch->kind == CZ_PY_STR) printf("  arch    %s\n", arch->str.s);
  }
  cz_py_free(root);
}

static cz_err *info_weights(const char *path) {
  cz_tensor_dict *d = NULL;
  cz_err *e = cz_weights_read(path, &d);
  if (e) return e;
  int64_t total = 0, params = 0;
  for (int i = 0; i < d->n; i++) {
    int64_t n = cz_shape_numel(&d->t[i].shape);
    total += n;
    const char *nm = d->t[i].name;
    if (d->t[i].dtype == CZ_F32 && !ends_with(nm, "running_mean") && !ends_with(nm, "running_var"))
      params += n; /* what torch's parameters() would count */
  }
  printf("%s: weights file, %d tensors, %lld elements, %lld parameters (float tensors but "
         "BatchNorm statistics)\n",
         path, d->n, (long long)total, (long long)params);
  print_checkpoint_meta(path);
  for (int i = 0; i < d->n; i++) {
    char s[CZ_SHAPE_STR_MAX];
    printf("  %-48s %-4s %s\n", d->t[i].name, cz_dtype_name(d->t[i].dtype),
           cz_shape_str(&d->t[i].shape, s, sizeof s));
  }
  cz_tdict_free(d);
  return NULL;
}

cz_err *cz_cmd_info(int argc, char **argv) {
  if (argc != 2 || argv[1][0] == '-')
    return cz_err_new(CZ_EXIT_USAGE, "command line: usage: czoo info FILE (an .onnx model or a "
                                     ".pth/.pth.tar/.pt/.safetensors checkpoint)");
  const char *path = argv[1];
  if (ends_with(path, ".onnx")) return info_onnx(path);
  return info_weights(path);
}
