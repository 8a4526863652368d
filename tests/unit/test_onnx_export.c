/* ONNX export, czoo's side: exports every zoo model (at its smallest
 * accepted input, 10 classes, batch 2, drop-path on where the model has
 * it, BatchNorm running statistics and biases randomized so folding
 * matters) and a small graph of czoo-extension activations into
 * CZOO_ONNX_OUT, each `<name>.onnx` beside `<name>.czt` (CZT1: the input,
 * czoo's eval-mode logits and the opset). tests/oracle/check_onnx_export.py
 * then checks the files with onnx.checker and onnxruntime. One model is
 * also written at opsets 13 and 20. Also: the errors (opset out of range,
 * an op with no ONNX form, a graph that is not an image classifier).
 * CZOO_ZOO_MODELS (comma-separated) narrows the models (valgrind). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "graph/exec.h"
#include "onnx/onnx_export.h"
#include "util/mem.h"
#include "util/rng.h"
#include "zoo/zoo.h"

#define OPSET_MODEL "shufflenetv2_x050_pt"

static bool selected(const char *name) {
  const char *sel = getenv("CZOO_ZOO_MODELS");
  if (!sel || !*sel) return true;
  size_t n = strlen(name);
  for (const char *p = sel; *p;) {
    const char *e = strchr(p, ',');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (k == n && strncmp(p, name, n) == 0) return true;
    p += k + (e != NULL);
  }
  return false;
}

/* A CZT1 bundle (tests/support/tensor_file.h's layout) of f32/i64 tensors. */
typedef struct {
  const char *name;
  int kind; /* 0 f32, 1 i64 */
  int rank;
  const int64_t *dims;
  const void *data;
} czt_item;

static void write_czt(const char *path, int n, const czt_item *it) {
  FILE *f = fopen(path, "wb");
  if (!f) fail_msg("cannot write %s", path);
  uint32_t cnt = (uint32_t)n;
  fwrite("CZT1", 1, 4, f);
  fwrite(&cnt, 4, 1, f);
  for (int i = 0; i < n; i++) {
    uint16_t len = (uint16_t)strlen(it[i].name);
    uint8_t kind = (uint8_t)it[i].kind, rank = (uint8_t)it[i].rank;
    fwrite(&len, 2, 1, f);
    fwrite(it[i].name, 1, len, f);
    fwrite(&kind, 1, 1, f);
    fwrite(&rank, 1, 1, f);
    fwrite(it[i].dims, 8, rank, f);
    int64_t numel = 1;
    for (int k = 0; k < rank; k++) numel *= it[i].dims[k];
    fwrite(it[i].data, kind == 0 ? 4 : 8, (size_t)numel, f);
  }
  if (fclose(f) != 0) fail_msg("cannot write %s", path);
}

static float uniform(uint64_t *s, float lo, float hi) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * (float)((*s >> 40) * (1.0 / 16777216.0));
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

/* Non-trivial BatchNorm statistics and biases, so a wrong fold shows. */
static void perturb(cz_graph *g, uint64_t seed) {
  for (int i = 0; i < g->n_values; i++) {
    cz_value *v = &g->values[i];
    if (!v->data || v->dtype != CZ_F32 || (v->kind != CZ_V_PARAM && v->kind != CZ_V_BUFFER))
      continue;
    float lo, hi;
    if (ends_with(v->name, "running_var")) lo = 0.5f, hi = 1.5f;
    else if (ends_with(v->name, "running_mean") || ends_with(v->name, ".bias")) lo = -0.2f, hi = 0.2f;
    else continue;
    float *d = v->data;
    for (int64_t k = 0; k < cz_shape_numel(&v->shape); k++) d[k] = uniform(&seed, lo, hi);
  }
}

/* Eval-mode logits of g on x (NCHW), exported to DIR/stem.onnx with czoo's
 * answer in DIR/stem.czt. */
static void export_case(cz_graph *g, const char *dir, const char *stem, int opset) {
  const cz_value *iv = &g->values[g->inputs[0]];
  int64_t n_in = cz_shape_numel(&iv->shape);
  float *x = cz_xmalloc((size_t)n_in * sizeof *x);
  uint64_t s = 12345;
  for (int64_t i = 0; i < n_in; i++) x[i] = uniform(&s, -1.0f, 1.0f);
  cz_exec_opts eo = {0};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(g, &eo, &ex);
  if (e) fail_msg("%s: %s", stem, cz_err_msg(e));
  cz_exec_set_input(ex, 0, x, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  assert_int_equal(y.layout, CZ_ROWMAJOR);

  char *onnx = cz_asprintf("%s/%s.onnx", dir, stem), *czt = cz_asprintf("%s/%s.czt", dir, stem);
  cz_onnx_export_opts o = {.opset = opset};
  if ((e = cz_onnx_export(g, &o, onnx))) fail_msg("%s: %s", stem, cz_err_msg(e));
  int64_t op64 = opset ? opset : CZ_ONNX_OPSET_DEFAULT, one = 1;
  czt_item it[3] = {
      {"input", 0, iv->shape.rank, iv->shape.d, x},
      {"logits", 0, y.shape.rank, y.shape.d, y.data},
      {"opset", 1, 1, &one, &op64},
  };
  write_czt(czt, 3, it);
  printf("%-28s input %lldx%lldx%lldx%lld -> %s\n", stem, (long long)iv->shape.d[0],
         (long long)iv->shape.d[1], (long long)iv->shape.d[2], (long long)iv->shape.d[3], onnx);
  cz_exec_free(ex);
  free(x), free(onnx), free(czt);
}

static const char *out_dir(void) {
  const char *d = getenv("CZOO_ONNX_OUT");
  if (!d || !*d) fail_msg("CZOO_ONNX_OUT is not set (where the ONNX files go)");
  char *p = cz_xstrdup(d); /* mkdir -p */
  for (char *s = p + 1; *s; s++)
    if (*s == '/') *s = 0, mkdir(p, 0755), *s = '/';
  mkdir(p, 0755);
  free(p);
  return d;
}

/* The smallest of these sizes the model builds at (fixed-pool models
 * accept only 193..224, 65..160 or 213..228). */
static cz_graph *build_small(const cz_zoo_entry *z) {
  static const int sizes[] = {32, 65, 193, 213};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    cz_zoo_opts o = cz_zoo_default_opts(z);
    o.num_classes = 10;
    o.height = o.width = sizes[k];
    o.batch = 2;
    o.drop_path_rate = 0.1f;
    o.seed = 7;
    cz_graph *g = NULL;
    cz_err *e = cz_zoo_build(z->name, &o, &g);
    if (!e) return g;
    cz_err_free(e);
  }
  fail_msg("%s: builds at none of 32, 65, 193, 213", z->name);
  return NULL;
}

static void test_zoo_export(void **state) {
  (void)state;
  const char *dir = out_dir();
  int done = 0;
  for (int i = 0; i < cz_zoo_count(); i++) {
    const cz_zoo_entry *z = cz_zoo_at(i);
    if (!selected(z->name)) continue;
    cz_graph *g = build_small(z);
    perturb(g, 1000 + (uint64_t)i);
    export_case(g, dir, z->name, 0);
    if (strcmp(z->name, OPSET_MODEL) == 0) {
      char *s13 = cz_asprintf("%s.opset13", z->name), *s20 = cz_asprintf("%s.opset20", z->name);
      export_case(g, dir, s13, 13);
      export_case(g, dir, s20, 20);
      free(s13), free(s20);
    }
    cz_graph_free(g);
    done++;
  }
  assert_true(done > 0);
}

/* input [2,3,6,6] -> Conv -> BatchNormalization -> Silu -> HardSwish ->
 * Clip (bounds as attributes, opset 6 style) -> Dropout ->
 * GlobalAveragePool -> Flatten: the extension op, the opset-13 HardSwish
 * rewrite and Clip's bounds moved to inputs, which the zoo does not use. */
static cz_graph *ext_graph(void) {
  cz_graph *g = cz_graph_new("ext_acts");
  int64_t xd[4] = {2, 3, 6, 6}, wd[4] = {4, 3, 3, 3}, cd[1] = {4};
  int x = cz_graph_input(g, "input", CZ_F32, cz_shape_make(4, xd));
  float w[108], ones[4] = {1, 1, 1, 1}, zeros[4] = {0};
  uint64_t s = 99;
  for (int i = 0; i < 108; i++) w[i] = uniform(&s, -0.5f, 0.5f);
  int in3[3] = {x, cz_graph_param(g, "conv.weight", cz_shape_make(4, wd), w), -1};
  int c = cz_graph_node(g, "Conv", "conv", 2, in3, 1, NULL);
  int bn_in[5] = {cz_node_out(g, c, 0), cz_graph_param(g, "bn.weight", cz_shape_make(1, cd), ones),
                  cz_graph_param(g, "bn.bias", cz_shape_make(1, cd), zeros),
                  cz_graph_buffer(g, "bn.running_mean", cz_shape_make(1, cd), zeros),
                  cz_graph_buffer(g, "bn.running_var", cz_shape_make(1, cd), ones)};
  int bn = cz_graph_node(g, "BatchNormalization", "bn", 5, bn_in, 1, NULL);
  int v = cz_node_out(g, bn, 0);
  v = cz_node_out(g, cz_graph_node(g, "Silu", "act1", 1, &v, 1, NULL), 0);
  v = cz_node_out(g, cz_graph_node(g, "HardSwish", "act2", 1, &v, 1, NULL), 0);
  int clip = cz_graph_node(g, "Clip", "clip_attrs", 1, &v, 1, NULL);
  cz_node_set_float(g, clip, "min", -0.25f);
  cz_node_set_float(g, clip, "max", 0.5f);
  v = cz_node_out(g, clip, 0);
  v = cz_node_out(g, cz_graph_node(g, "Dropout", "drop", 1, &v, 1, NULL), 0);
  v = cz_node_out(g, cz_graph_node(g, "GlobalAveragePool", "pool", 1, &v, 1, NULL), 0);
  v = cz_node_out(g, cz_graph_node(g, "Flatten", "flatten", 1, &v, 1, NULL), 0);
  cz_graph_mark_output(g, v);
  cz_err *e = cz_graph_toposort(g);
  if (!e) e = cz_graph_infer(g);
  if (e) fail_msg("%s", cz_err_msg(e));
  perturb(g, 5);
  return g;
}

static void test_ext_ops(void **state) {
  (void)state;
  const char *dir = out_dir();
  cz_graph *g = ext_graph();
  export_case(g, dir, "ext_acts.opset13", 13);
  export_case(g, dir, "ext_acts", 0);
  cz_graph_free(g);
}

static void expect_error(cz_graph *g, int opset, const char *needle) {
  char *path = cz_asprintf("%s/never.onnx", out_dir());
  cz_onnx_export_opts o = {.opset = opset};
  cz_err *e = cz_onnx_export(g, &o, path);
  if (!e) fail_msg("export at opset %d succeeded, expected an error with '%s'", opset, needle);
  printf("expected error: %s\n", cz_err_msg(e));
  if (!strstr(cz_err_msg(e), needle)) fail_msg("'%s' lacks '%s'", cz_err_msg(e), needle);
  cz_err_free(e);
  struct stat st;
  assert_int_not_equal(stat(path, &st), 0); /* nothing left behind */
  free(path);
}

static void test_errors(void **state) {
  (void)state;
  cz_graph *g = ext_graph();
  expect_error(g, 12, "opset 12");
  expect_error(g, 21, "opset 21");
  cz_graph_free(g);

  /* a training-only op: BCEWithLogits against a constant target */
  g = cz_graph_new("lossy");
  int64_t xd[4] = {1, 1, 2, 2}, td[2] = {1, 4};
  int x = cz_graph_input(g, "input", CZ_F32, cz_shape_make(4, xd));
  x = cz_node_out(g, cz_graph_node(g, "Flatten", "flat", 1, &x, 1, NULL), 0);
  int in[2] = {x, cz_graph_const(g, "target", CZ_F32, cz_shape_make(2, td), NULL)};
  int n = cz_graph_node(g, "BCEWithLogits", "the_loss", 2, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  cz_err *e = cz_graph_infer(g);
  if (e) fail_msg("%s", cz_err_msg(e));
  expect_error(g, 17, "the_loss");
  cz_graph_free(g);

  /* not an image batch */
  g = cz_graph_new("flat");
  int64_t fd[2] = {2, 5};
  x = cz_graph_input(g, "input", CZ_F32, cz_shape_make(2, fd));
  n = cz_graph_node(g, "Relu", "relu", 1, &x, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  if ((e = cz_graph_infer(g))) fail_msg("%s", cz_err_msg(e));
  expect_error(g, 17, "rank 2");
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_ext_ops),
      cmocka_unit_test(test_zoo_export),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
