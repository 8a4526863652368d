/* The zoo's timm and torchvision models in training: each runs forward and
 * backward at its default input shape (3x224x224; $CZOO_ZOO_TRAIN_SIZE
 * replaces 224, which the valgrind run sets to keep it short), batch 2,
 * train mode, with a softmax cross-entropy loss, and every parameter gets
 * a finite gradient that is not all zeros (the graph routes the loss to
 * it). A caveat: the bias of a BatchNorm whose output reaches the loss only
 * through a conv and another train-mode BatchNorm has a true gradient of
 * zero (the second BatchNorm removes any per-channel shift); what it gets
 * is rounding noise, and with 1x1 maps and batch 2 that noise can be
 * exactly zero, hence no valgrind size below 48. And the options take effect:
 * num_classes sizes the classifier, drop_rate adds the classifier Dropout
 * (timm default none, torchvision default 0.2), drop_path_rate adds timm's
 * stochastic depth on residual branches at timm's per-block rates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "op_check.h"
#include "ops/op.h"
#include "zoo/zoo.h"

static const char *const kModels[] = {
    "mobilenetv2_a050_pt", "mobilenetv2_a100_pt",  "semnasnet100_pt",      "mobilenetv4small_pt",
    "mobilenetv2_w035_pt", "mnasnet_d050_pt",      "shufflenetv2_x050_pt", "shufflenetv2_x100_pt",
};
#define N_MODELS (int)(sizeof kModels / sizeof kModels[0])

static cz_graph *build(const char *name, cz_zoo_opts o) {
  cz_graph *g = NULL;
  cz_err *e = cz_zoo_build(name, &o, &g);
  if (e) fail_msg("%s", cz_err_msg(e));
  return g;
}

static void train_step(const char *name) {
  const cz_zoo_entry *e = cz_zoo_find(name);
  assert_non_null(e);
  cz_zoo_opts o = cz_zoo_default_opts(e);
  assert_int_equal(o.height, 224); /* the spec's default input_shape [3, 224, 224] */
  assert_int_equal(o.width, 224);
  const char *size = getenv("CZOO_ZOO_TRAIN_SIZE");
  if (size) o.height = o.width = atoi(size);
  o.num_classes = 10, o.batch = 2, o.seed = 5;
  o.drop_path_rate = 0.1f; /* timm models: DropPath in the residual branches */
  cz_graph *g = build(name, o);
  int labels = cz_graph_input(g, "labels", CZ_I64, cz_shape1(2));
  int in[2] = {g->outputs[0], labels};
  int loss = cz_node_out(g, cz_graph_node(g, "SoftmaxCrossEntropyLoss", "loss", 2, in, 1, NULL), 0);
  g->outputs[0] = loss;
  ct_inputs data = ct_inputs_random(g, 3, 1.0f);
  cz_exec_opts eo = {.training = true, .backward = true, .seed = 7};
  cz_exec *ex = NULL;
  cz_err *err = cz_exec_new(g, &eo, &ex);
  if (err) fail_msg("%s", cz_err_msg(err));
  cz_exec_set_input(ex, 0, data.data[0], CZ_ROWMAJOR);
  cz_exec_set_input(ex, 1, data.data[1], CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_exec_backward(ex, NULL);
  float l = ((const float *)cz_exec_value(ex, loss).data)[0];
  int params = 0, zero = 0;
  for (int v = 0; v < g->n_values; v++) {
    if (g->values[v].kind != CZ_V_PARAM) continue;
    params++;
    cz_tensor gr = cz_exec_grad(ex, v);
    assert_non_null(gr.data);
    const float *d = gr.data;
    bool any = false;
    for (int64_t i = 0; i < cz_numel(&gr); i++) {
      if (!isfinite(d[i])) fail_msg("%s: gradient of %s is not finite", name, g->values[v].name);
      any |= d[i] != 0.0f;
    }
    if (!any) printf("  %s: gradient of %s is all zeros\n", name, g->values[v].name), zero++;
  }
  printf("%-21s [3,%d,%d] batch 2: loss %.4f, %d parameter tensors (%lld values) with gradients, "
         "%d all zero; step arena %.1f MiB\n",
         name, o.height, o.width, (double)l, params, (long long)cz_graph_param_count(g), zero,
         cz_exec_arena_bytes(ex) / 1048576.0);
  assert_true(isfinite(l));
  assert_int_equal(zero, 0);
  cz_exec_free(ex);
  ct_inputs_free(&data);
  cz_graph_free(g);
}

static void test_forward_backward_every_model(void **s) {
  (void)s;
  for (int i = 0; i < N_MODELS; i++) train_step(kModels[i]);
}

/* Nodes of op `op`; *max_attr: the largest float attribute `attr` (or the
 * Dropout ratio input) among them. */
static int count_op(const cz_graph *g, const char *op, double *max_p) {
  int n = 0;
  *max_p = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const cz_node *nd = &g->nodes[i];
    if (strcmp(nd->op->name, op) != 0) continue;
    n++;
    double p = 0;
    if (strcmp(op, "Dropout") == 0) p = *(const float *)g->values[nd->in[1]].data;
    else p = cz_node_attr(nd, "drop_prob")->f;
    *max_p = fmax(*max_p, p);
  }
  return n;
}

static void test_num_classes_and_drop_options(void **s) {
  (void)s;
  double p;
  for (int i = 0; i < N_MODELS; i++) {
    cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(kModels[i]));
    o.height = o.width = 64;
    o.num_classes = 7;
    cz_graph *g = build(kModels[i], o);
    const cz_value *out = &g->values[g->outputs[0]];
    assert_int_equal(out->shape.rank, 2);
    assert_int_equal(out->shape.d[1], 7);
    bool timm = strcmp(cz_zoo_find(kModels[i])->source, "timm") == 0;
    bool shuffle = strncmp(kModels[i], "shufflenet", 10) == 0;
    /* Default dropout: timm 0, torchvision's MobileNetV2 and MNASNet 0.2,
     * ShuffleNetV2 none. */
    int nd = count_op(g, "Dropout", &p);
    assert_int_equal(nd, timm || shuffle ? 0 : 1);
    if (nd) assert_true(fabs(p - 0.2) < 1e-7);
    assert_int_equal(count_op(g, "DropPath", &p), 0);
    cz_graph_free(g);
    o.drop_rate = 0.3f;
    o.drop_path_rate = 0.2f;
    g = build(kModels[i], o);
    nd = count_op(g, "Dropout", &p);
    assert_int_equal(nd, shuffle ? 0 : 1);
    if (nd) assert_true(fabs(p - 0.3) < 1e-7);
    int ndp = count_op(g, "DropPath", &p);
    if (timm) {
      /* timm's rate for block idx of total: 0.2 * idx / total. The last
       * residual block is index 15 of 17 in mobilenetv2 (the 320-channel
       * block has no shortcut) and in mobilenetv4_conv_small (the final
       * cn block has none), 14 of 16 in semnasnet_100. */
      assert_true(ndp > 0);
      printf("%s: %d DropPath nodes, largest rate %.4f\n", kModels[i], ndp, p);
      double want = strncmp(kModels[i], "semnasnet", 9) == 0 ? 0.2 * 14 / 16 : 0.2 * 15 / 17;
      assert_true(fabs(p - want) < 1e-6);
    } else {
      assert_int_equal(ndp, 0);
    }
    cz_graph_free(g);
  }
}

/* Dropout in effect: train-mode logits differ between two steps (masks),
 * and eval-mode logits do not depend on drop_rate. */
static void test_dropout_changes_training_outputs(void **s) {
  (void)s;
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find("mobilenetv2_a050_pt"));
  o.height = o.width = 32, o.num_classes = 5, o.drop_rate = 0.5f, o.batch = 2;
  cz_graph *g = build("mobilenetv2_a050_pt", o);
  ct_inputs data = ct_inputs_random(g, 1, 1.0f);
  float a[10], b[10];
  cz_exec_opts eo = {.training = true, .seed = 1};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &eo, &ex));
  cz_exec_set_input(ex, 0, data.data[0], CZ_ROWMAJOR);
  cz_exec_set_step(ex, 0);
  cz_exec_forward(ex);
  memcpy(a, cz_exec_value(ex, g->outputs[0]).data, sizeof a);
  cz_exec_set_step(ex, 1);
  cz_exec_forward(ex);
  memcpy(b, cz_exec_value(ex, g->outputs[0]).data, sizeof b);
  assert_memory_not_equal(a, b, sizeof a);
  cz_exec_free(ex);
  ct_inputs_free(&data);
  cz_graph_free(g);
}

/* Small and odd input shapes build and run (eval forward, finite logits):
 * the smallest czoo accepts (8x8), and odd non-square sizes. */
static void test_small_and_odd_shapes_run(void **s) {
  (void)s;
  static const int shapes[][2] = {{8, 8}, {33, 17}};
  for (int i = 0; i < N_MODELS; i++)
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
      cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(kModels[i]));
      o.height = shapes[k][0], o.width = shapes[k][1], o.num_classes = 3, o.seed = 2;
      cz_graph *g = build(kModels[i], o);
      ct_inputs data = ct_inputs_random(g, 4, 1.0f);
      cz_exec_opts eo = {0};
      cz_exec *ex = NULL;
      cz_err *err = cz_exec_new(g, &eo, &ex);
      if (err) fail_msg("%s [%d,%d]: %s", kModels[i], o.height, o.width, cz_err_msg(err));
      cz_exec_set_input(ex, 0, data.data[0], CZ_ROWMAJOR);
      cz_exec_forward(ex);
      const float *l = cz_exec_value(ex, g->outputs[0]).data;
      for (int c = 0; c < 3; c++) assert_true(isfinite(l[c]));
      cz_exec_free(ex);
      ct_inputs_free(&data);
      cz_graph_free(g);
    }
}

/* ImageNet-sized models: the references' own parameter counts, from
 * sum(p.numel() for p in model.parameters()) of timm 1.0.31's
 * create_model(name) and torchvision 0.14's constructors, 1000 classes. */
static void test_param_counts_at_1000_classes(void **s) {
  (void)s;
  static const int64_t want[N_MODELS] = {1968680, 3504872, 3887038, 3774024,
                                         1677128, 2218512, 1366792, 2278604};
  for (int i = 0; i < N_MODELS; i++) {
    const cz_zoo_entry *e = cz_zoo_find(kModels[i]);
    cz_zoo_opts o = cz_zoo_default_opts(e);
    cz_graph *g = build(kModels[i], o);
    int64_t p = cz_graph_param_count(g);
    printf("%-21s %-12s %-40s params %8lld (reference %8lld), MACC at [3,224,224] %lld\n",
           e->name, e->source, e->reference, (long long)p, (long long)want[i],
           (long long)cz_graph_macc(g));
    assert_true(p == want[i]);
    cz_graph_free(g);
  }
}

static void test_bad_options_are_refused(void **s) {
  (void)s;
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find("shufflenetv2_x050_pt"));
  cz_graph *g = NULL;
  o.num_classes = 0;
  cz_err *e = cz_zoo_build("shufflenetv2_x050_pt", &o, &g);
  assert_non_null(e);
  printf("%s\n", cz_err_msg(e));
  cz_err_free(e);
  e = cz_zoo_build("shufflenetv2_x05_pt", &o, &g);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), "did you mean 'shufflenetv2_x050_pt'"));
  printf("%s\n", cz_err_msg(e));
  cz_err_free(e);
  assert_null(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_num_classes_and_drop_options),
      cmocka_unit_test(test_dropout_changes_training_outputs),
      cmocka_unit_test(test_bad_options_are_refused),
      cmocka_unit_test(test_param_counts_at_1000_classes),
      cmocka_unit_test(test_small_and_odd_shapes_run),
      cmocka_unit_test(test_forward_backward_every_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
