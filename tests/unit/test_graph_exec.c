/* The graph IR and the executor: shape errors name the node, gradients sum
 * over several uses of a value, the arena reuses memory, and Relu (the op
 * that sets the pattern for all others) passes finite differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph/exec.h"
#include "graph/exec_plan.h"
#include "graph/graph_edit.h"
#include "graph/pass_fold_bn.h"
#include "op_check.h"
#include "ops/op.h"

static void test_relu_fd_and_fast(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("relu");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 3, 4, 5));
  g->values[x].requires_grad = true;
  int n = cz_graph_node(g, "Relu", "relu", 1, &x, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  ct_inputs in = ct_inputs_random(g, 1, 1.0f);
  /* Keep inputs off the kink at 0, where the derivative is undefined. */
  float *p = in.data[0];
  for (int i = 0; i < 120; i++) p[i] += p[i] >= 0 ? 0.05f : -0.05f;
  double fd = ct_check_fd(g, &in, false, 1e-3, 200, 5, 1e-3, true);
  printf("Relu: finite differences max rel err %.3g (bound 1e-3)\n", fd);
  assert_true(fd < 1e-3);
  ct_run a = ct_run_graph(g, &in, false, true, true, 9);
  ct_run b = ct_run_graph(g, &in, false, true, false, 9);
  assert_true(ct_compare_runs(&a, &b, 1e-6) == 0.0);
  ct_run_free(&a);
  ct_run_free(&b);
  ct_inputs_free(&in);
  cz_graph_free(g);
}

/* y1 = relu(x), y2 = relu(relu(x)): dx must be the sum of both paths. */
static void test_grad_sums_over_uses(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("fanout");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape2(3, 7));
  g->values[x].requires_grad = true;
  int a = cz_node_out(g, cz_graph_node(g, "Relu", "a", 1, &x, 1, NULL), 0);
  int b = cz_node_out(g, cz_graph_node(g, "Relu", "b", 1, &x, 1, NULL), 0);
  int c = cz_node_out(g, cz_graph_node(g, "Relu", "c", 1, &b, 1, NULL), 0);
  cz_graph_mark_output(g, a);
  cz_graph_mark_output(g, c);
  ct_inputs in = ct_inputs_random(g, 2, 1.0f);
  ct_run r = ct_run_graph(g, &in, false, true, true, 3);
  /* Recompute by hand: upstream grads are those ct_run_graph drew. */
  cz_exec_opts o = {.backward = true};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &o, &ex));
  cz_exec_set_input(ex, 0, in.data[0], CZ_ROWMAJOR);
  cz_exec_forward(ex);
  float ones[21], twos[21];
  for (int i = 0; i < 21; i++) ones[i] = 1.0f, twos[i] = 2.0f;
  const float *seeds[2] = {ones, twos};
  cz_exec_backward(ex, seeds);
  cz_tensor gx = cz_exec_grad(ex, x);
  const float *xd = in.data[0];
  for (int i = 0; i < 21; i++) assert_true(cz_f32(&gx)[i] == (xd[i] > 0 ? 3.0f : 0.0f));
  cz_exec_free(ex);
  ct_run_free(&r);
  ct_inputs_free(&in);
  cz_graph_free(g);
}

/* A chain of 20 Relus in inference keeps two activations alive at a time. */
static void test_arena_reuses_memory(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("chain");
  int v = cz_graph_input(g, "x", CZ_F32, cz_shape2(1, 1000));
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof name, "r%d", i);
    v = cz_node_out(g, cz_graph_node(g, "Relu", name, 1, &v, 1, NULL), 0);
  }
  cz_graph_mark_output(g, v);
  cz_exec_opts o = {0};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &o, &ex));
  /* input (whole step) + output (kept) + 2 live intermediates */
  assert_true(cz_exec_arena_bytes(ex) <= 4 * 4032);
  cz_exec_free(ex);
  cz_graph_free(g);
}

static void test_plan_disjoint_lifetimes_share(void **state) {
  (void)state;
  cz_plan_buf b[3] = {{.bytes = 100, .birth = 0, .death = 1},
                      {.bytes = 100, .birth = 2, .death = 3},
                      {.bytes = 50, .birth = 1, .death = 2}};
  size_t total = cz_plan_place(b, 3);
  assert_int_equal(b[0].offset, b[1].offset);
  assert_true(b[2].offset >= 128);
  assert_int_equal(total, 192);
}

static void test_errors_name_the_node(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("bad");
  int x = cz_graph_input(g, "x", CZ_I64, cz_shape1(4));
  int n = cz_graph_node(g, "Relu", "act1", 1, &x, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), "node 'act1' (Relu): input 0 'x' is int64, expected float32");
  cz_err_free(e);
  g->values[x].dtype = CZ_F32;
  cz_node_set_int(g, n, "alpha", 2);
  e = cz_graph_infer(g);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), "node 'act1' (Relu): unsupported attribute 'alpha' (supported: none)");
  cz_err_free(e);
  cz_graph_free(g);
}

static void test_toposort(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("order");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape1(4));
  /* Build consumer first, by pointing it at a value made later. */
  int b = cz_graph_node(g, "Relu", "b", 1, &x, 1, NULL);
  int a = cz_graph_node(g, "Relu", "a", 1, &x, 1, NULL);
  g->nodes[b].in[0] = cz_node_out(g, a, 0);
  cz_graph_mark_output(g, cz_node_out(g, b, 0));
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  cz_err_free(e);
  assert_null(cz_graph_toposort(g));
  assert_string_equal(g->nodes[0].name, "a");
  assert_null(cz_graph_infer(g));
  cz_graph_free(g);
}

/* x -> Conv -> BatchNormalization -> y (a graph output): folding keeps the
 * output's name, gives the same eval-mode result, and leaves the original
 * weights alone; BatchNorm statistics that are parameters get no gradient
 * buffer (the op never writes one) and end with a zero gradient. */
static void test_fold_bn_keeps_output_and_result(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("cb");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 3, 5, 5));
  int in[5] = {x, cz_graph_param(g, "w", cz_shape4(4, 3, 3, 3), NULL)};
  int c = cz_graph_node(g, "Conv", "conv", 2, in, 1, NULL);
  int64_t ks[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
  cz_node_set_ints(g, c, "kernel_shape", 2, ks);
  cz_node_set_ints(g, c, "pads", 4, pads);
  int bin[5] = {cz_node_out(g, c, 0), cz_graph_param(g, "s", cz_shape1(4), NULL),
                cz_graph_param(g, "b", cz_shape1(4), NULL), cz_graph_param(g, "m", cz_shape1(4), NULL),
                cz_graph_param(g, "v", cz_shape1(4), NULL)};
  const char *yname[1] = {"y"};
  int bn = cz_graph_node(g, "BatchNormalization", "bn", 5, bin, 1, yname);
  cz_graph_mark_output(g, cz_node_out(g, bn, 0));
  ct_params_random(g, 4, 0.5f);
  float *var = g->values[bin[4]].data;
  for (int i = 0; i < 4; i++) var[i] = var[i] * var[i] + 0.5f;
  ct_inputs data = ct_inputs_random(g, 5, 1.0f);
  ct_run before = ct_run_graph(g, &data, false, true, false, 6);
  /* Running statistics as PARAMs: no gradient ever flows into them. */
  for (int i = 0; i < before.n_grad; i++) {
    const char *nm = g->values[before.grad_value[i]].name;
    if (strcmp(nm, "m") == 0 || strcmp(nm, "v") == 0)
      for (int64_t k = 0; k < before.grad_n[i]; k++) assert_true(before.grad[i][k] == 0.0f);
  }
  cz_graph *f = cz_graph_clone(g);
  int folded = 0;
  assert_null(cz_pass_fold_bn(f, &folded));
  assert_int_equal(folded, 1);
  assert_int_equal(f->n_nodes, 1);
  assert_string_equal(f->values[f->outputs[0]].name, "y");
  assert_true(cz_graph_find_value(f, "y.folded_weight") >= 0);
  ct_run after = ct_run_graph(f, &data, false, false, false, 6);
  double worst = 0;
  for (int64_t k = 0; k < before.out_n[0]; k++)
    worst = fmax(worst, fabs(before.out[0][k] - after.out[0][k]) / (1 + fabs(before.out[0][k])));
  printf("fold: max diff %.3g (bound 1e-5)\n", worst);
  assert_true(worst < 1e-5);
  ct_run_free(&before);
  ct_run_free(&after);
  ct_inputs_free(&data);
  cz_graph_free(f);
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_relu_fd_and_fast),     cmocka_unit_test(test_grad_sums_over_uses),
      cmocka_unit_test(test_arena_reuses_memory),  cmocka_unit_test(test_plan_disjoint_lifetimes_share),
      cmocka_unit_test(test_errors_name_the_node), cmocka_unit_test(test_toposort),
      cmocka_unit_test(test_fold_bn_keeps_output_and_result),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
