/* Every zoo model of the ST and pytorchcv families trains: at its default
 * input shape, batch 2, train mode (batch statistics, dropout on), a
 * softmax cross-entropy loss runs forward and backward, the loss is
 * finite, and every parameter tensor receives a finite gradient with at
 * least one nonzero element. CZOO_ZOO_MODELS=a,b limits the models (the
 * valgrind run takes the smallest). */
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
#include "zoo/zoo.h"

#define CLASSES 10
#define BATCH 2

static bool selected(const char *name) {
  const char *sel = getenv("CZOO_ZOO_MODELS");
  if (!sel || !*sel) return true;
  size_t n = strlen(name);
  for (const char *p = sel; (p = strstr(p, name)) != NULL; p += n)
    if ((p == sel || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
  return false;
}

/* Returns the number of parameter tensors checked. */
static int train_step(const cz_zoo_entry *z) {
  cz_zoo_opts o = cz_zoo_default_opts(z);
  o.num_classes = CLASSES;
  o.batch = BATCH;
  o.seed = 5;
  cz_graph *g = NULL;
  cz_err *e = cz_zoo_build(z->name, &o, &g);
  if (e) fail_msg("%s", cz_err_msg(e));
  int logits = g->outputs[0];
  int labels = cz_graph_input(g, "labels", CZ_I64, cz_shape1(BATCH));
  int in[2] = {logits, labels};
  int loss = cz_node_out(g, cz_graph_node(g, "SoftmaxCrossEntropyLoss", "loss", 2, in, 1, NULL), 0);
  g->outputs[0] = loss; /* the differentiated output comes first */
  g->outputs[1] = logits;
  g->n_outputs = 2;
  assert_null(cz_graph_toposort(g));
  assert_null(cz_graph_infer(g));
  ct_inputs data = ct_inputs_random(g, 9, 1.0f);
  int64_t *lab = data.data[1];
  lab[0] = 3, lab[1] = 7;
  cz_exec_opts eo = {.training = true, .backward = true, .seed = 1};
  cz_exec *ex = NULL;
  e = cz_exec_new(g, &eo, &ex);
  if (e) fail_msg("%s: %s", z->name, cz_err_msg(e));
  cz_exec_set_input(ex, 0, data.data[0], CZ_ROWMAJOR);
  cz_exec_set_input(ex, 1, data.data[1], CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_exec_backward(ex, NULL);
  float l = ((const float *)cz_exec_value(ex, loss).data)[0];
  int checked = 0;
  const char *bad = NULL;
  for (int v = 0; v < g->n_values && !bad; v++) {
    if (g->values[v].kind != CZ_V_PARAM) continue;
    cz_tensor gr = cz_exec_grad(ex, v);
    const float *d = gr.data;
    bool nonzero = false, finite = d != NULL;
    for (int64_t i = 0; finite && i < cz_numel(&gr); i++) {
      finite = isfinite(d[i]);
      nonzero |= d[i] != 0.0f;
    }
    if (!finite || !nonzero) bad = g->values[v].name;
    checked++;
  }
  printf("%-26s [%d, %d, %d]: loss %.4f, %d parameter tensors with a gradient, arena %.0f MiB\n",
         z->name, o.channels, o.height, o.width, (double)l, checked,
         cz_exec_arena_bytes(ex) / 1048576.0);
  if (bad) fail_msg("%s: parameter %s has a zero or non-finite gradient", z->name, bad);
  assert_true(isfinite(l));
  cz_exec_free(ex);
  ct_inputs_free(&data);
  cz_graph_free(g);
  return checked;
}

static void test_every_model_trains(void **state) {
  (void)state;
  int models = 0;
  for (int i = 0; i < cz_zoo_count(); i++) {
    const cz_zoo_entry *z = cz_zoo_at(i);
    if (strcmp(z->source, "st") != 0 && strcmp(z->source, "pytorchcv") != 0) continue;
    if (!selected(z->name)) continue;
    assert_true(train_step(z) > 0);
    models++;
  }
  printf("%d models\n", models);
  assert_true(models > 0);
}

/* The check can fail: a parameter that no path reaches gets no gradient. */
static void test_unreached_parameter_is_caught(void **state) {
  (void)state;
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find("mobilenet_v1_0.25_96px_pt"));
  o.batch = BATCH;
  cz_graph *g = NULL;
  assert_null(cz_zoo_build("mobilenet_v1_0.25_96px_pt", &o, &g));
  /* fc.weight's gradient is zero when the features feeding it are. */
  cz_exec_opts eo = {.training = true, .backward = true};
  int labels = cz_graph_input(g, "labels", CZ_I64, cz_shape1(BATCH));
  int in[2] = {g->outputs[0], labels};
  g->outputs[0] = cz_node_out(g, cz_graph_node(g, "SoftmaxCrossEntropyLoss", "l", 2, in, 1, NULL), 0);
  assert_null(cz_graph_infer(g));
  int w = cz_graph_find_value(g, "model.13.4.weight"), b = cz_graph_find_value(g, "model.13.4.bias");
  memset(g->values[w].data, 0, (size_t)cz_shape_numel(&g->values[w].shape) * sizeof(float));
  memset(g->values[b].data, 0, (size_t)cz_shape_numel(&g->values[b].shape) * sizeof(float));
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &eo, &ex));
  ct_inputs data = ct_inputs_random(g, 9, 1.0f);
  cz_exec_set_input(ex, 0, data.data[0], CZ_ROWMAJOR);
  cz_exec_set_input(ex, 1, data.data[1], CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_exec_backward(ex, NULL);
  cz_tensor gr = cz_exec_grad(ex, cz_graph_find_value(g, "fc.weight"));
  bool nonzero = false;
  for (int64_t i = 0; i < cz_numel(&gr); i++) nonzero |= ((const float *)gr.data)[i] != 0.0f;
  assert_false(nonzero);
  cz_exec_free(ex);
  ct_inputs_free(&data);
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_model_trains),
      cmocka_unit_test(test_unreached_parameter_is_caught),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
