/* Softmax and LayerNormalization: finite differences on every axis and
 * layout (row-major, NHWC channel axis, strided NHWC axes), values by hand,
 * fast kernels against the reference ones and across thread counts, and
 * the shape errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "op_check.h"
#include "ops/op.h"

/* Finite differences: one perturbed input moves a whole row of D outputs,
 * each rounded to float32 (~2e-7 for outputs of size ~3), so the estimate
 * carries ~sqrt(D) * 2e-7 / 2h absolute noise, while many gradients here
 * are near zero by cancellation (rows sum to a constant). h = 2e-2 keeps
 * that noise near 4e-5 and the O(h^2) truncation near 1e-4 relative (input
 * spread ~2): bound 1e-3 relative to max(|fd|, |analytic|, 5e-2). Fast vs
 * reference: other summation orders inside rows and across rows (Scale/B
 * gradients over up to 1200 rows; the LayerNorm reference keeps row
 * statistics in double): |diff| / max(|a|, |b|, 1) bound 1e-4. */
#define FD_H 2e-2
#define FD_BOUND 1e-3
#define FD_FLOOR 5e-2
#define FAST_BOUND 1e-4

static double fd(cz_graph *g, ct_inputs *in, const char *what) {
  double e = ct_check_fd(g, in, false, FD_H, 200, 5, FD_FLOOR, true);
  printf("%-40s finite differences max rel err %.3g (bound %.0e)\n", what, e, FD_BOUND);
  return e;
}

static void fast_checks(cz_graph *g, ct_inputs *in, const char *what) {
  ct_run a = ct_run_graph(g, in, false, true, true, 9);
  ct_run b = ct_run_graph(g, in, false, true, false, 9);
  double e = ct_compare_runs(&a, &b, 1.0);
  int keep = omp_get_max_threads();
  omp_set_num_threads(1);
  ct_run c = ct_run_graph(g, in, false, true, false, 9);
  omp_set_num_threads(keep);
  double t = ct_compare_runs(&b, &c, 1e-30);
  printf("%-40s fast vs reference %.3g (bound %.0e), 1 vs %d threads %.3g (bound 0)\n", what, e,
         FAST_BOUND, keep, t);
  assert_true(e < FAST_BOUND);
  assert_true(t == 0.0);
  ct_run_free(&a);
  ct_run_free(&b);
  ct_run_free(&c);
}

static cz_graph *softmax_graph(cz_shape s, int axis, bool set_axis) {
  cz_graph *g = cz_graph_new("softmax");
  int x = cz_graph_input(g, "x", CZ_F32, s);
  g->values[x].requires_grad = true;
  int n = cz_graph_node(g, "Softmax", "sm", 1, &x, 1, NULL);
  if (set_axis) cz_node_set_int(g, n, "axis", axis);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

static void test_softmax_fd(void **state) {
  (void)state;
  static const struct {
    cz_shape s;
    int axis;
    bool set;
    const char *what;
  } C[] = {
      {{2, {3, 5}}, -1, false, "Softmax [3,5] default axis"},
      {{2, {3, 5}}, 0, true, "Softmax [3,5] axis 0"},
      {{4, {2, 3, 4, 5}}, 1, true, "Softmax NHWC axis 1 (contiguous)"},
      {{4, {2, 3, 4, 5}}, 3, true, "Softmax NHWC axis 3 (strided)"},
      {{4, {2, 3, 4, 5}}, -2, true, "Softmax NHWC axis -2"},
      {{4, {2, 3, 4, 5}}, 0, true, "Softmax NHWC axis 0"},
      {{3, {2, 3, 4}}, -1, false, "Softmax [2,3,4]"},
  };
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
    cz_graph *g = softmax_graph(C[i].s, C[i].axis, C[i].set);
    ct_inputs in = ct_inputs_random(g, 3 + i, 2.0f);
    assert_true(fd(g, &in, C[i].what) < FD_BOUND);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

static void test_softmax_values(void **state) {
  (void)state;
  /* Rows sum to 1, huge logits do not overflow, -inf gets 0. */
  cz_graph *g = softmax_graph(cz_shape2(3, 4), -1, false);
  float x[12] = {1, 2, 3, 4, 1000, 1000, -1000, 0, -INFINITY, 0, 0, 0};
  ct_inputs in = {.n = 1, .data = {x}};
  for (int ref = 0; ref < 2; ref++) {
    ct_run r = ct_run_graph(g, &in, false, false, ref, 1);
    double e = exp(1) + exp(2) + exp(3) + exp(4);
    for (int j = 0; j < 4; j++) assert_float_equal(r.out[0][j], exp(j + 1) / e, 1e-7);
    assert_float_equal(r.out[0][4], 0.5, 1e-7);
    assert_float_equal(r.out[0][5], 0.5, 1e-7);
    assert_true(r.out[0][6] == 0.0f && r.out[0][8] == 0.0f);
    assert_float_equal(r.out[0][9], 1.0 / 3, 1e-7);
    ct_run_free(&r);
  }
  cz_node_set_int(g, 0, "axis", 2);
  cz_err *err = cz_graph_infer(g);
  assert_non_null(err);
  assert_string_equal(cz_err_msg(err), "node 'sm' (Softmax): axis 2 is out of range for rank 2");
  cz_err_free(err);
  cz_graph_free(g);
}

static void test_softmax_fast(void **state) {
  (void)state;
  static const struct {
    cz_shape s;
    int axis;
    const char *what;
  } C[] = {
      {{2, {300, 130}}, -1, "Softmax [300,130] axis -1"},
      {{4, {2, 16, 33, 37}}, 1, "Softmax NHWC [2,16,33,37] axis 1"},
      {{4, {2, 16, 33, 37}}, 3, "Softmax NHWC [2,16,33,37] axis 3"},
  };
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
    cz_graph *g = softmax_graph(C[i].s, C[i].axis, true);
    ct_inputs in = ct_inputs_random(g, 13 + i, 2.0f);
    fast_checks(g, &in, C[i].what);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

/* LayerNormalization over X [shape] from `axis`, Scale/B params of shape
 * ps (B left out when !bias). */
static cz_graph *ln_graph(cz_shape s, int axis, cz_shape ps, bool bias) {
  cz_graph *g = cz_graph_new("ln");
  int in[3] = {cz_graph_input(g, "x", CZ_F32, s), cz_graph_param(g, "scale", ps, NULL),
               bias ? cz_graph_param(g, "bias", ps, NULL) : -1};
  g->values[in[0]].requires_grad = true;
  int n = cz_graph_node(g, "LayerNormalization", "ln", bias ? 3 : 2, in, 1, NULL);
  cz_node_set_int(g, n, "axis", axis);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

typedef struct {
  cz_shape s, ps;
  int axis;
  bool bias;
  const char *what;
} ln_case;

static void test_layernorm_fd(void **state) {
  (void)state;
  static const ln_case C[] = {
      {{3, {4, 6, 8}}, {1, {8}}, -1, true, "LayerNorm [4,6,8] axis -1"},
      {{3, {4, 6, 8}}, {2, {6, 8}}, 1, true, "LayerNorm [4,6,8] axis 1"},
      {{3, {4, 6, 8}}, {2, {1, 8}}, 2, false, "LayerNorm [4,6,8] axis 2, Scale [1,8], no B"},
      {{4, {2, 3, 4, 5}}, {3, {3, 4, 5}}, 1, true, "LayerNorm NHWC axis 1"},
      {{4, {2, 3, 4, 5}}, {1, {5}}, 3, true, "LayerNorm NHWC axis 3 (strided)"},
      {{4, {2, 3, 4, 5}}, {2, {4, 5}}, -2, true, "LayerNorm NHWC axis -2"},
      {{2, {5, 7}}, {2, {5, 7}}, 0, true, "LayerNorm [5,7] axis 0"},
  };
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
    cz_graph *g = ln_graph(C[i].s, C[i].axis, C[i].ps, C[i].bias);
    ct_params_random(g, 4 + i, 1.0f);
    ct_inputs in = ct_inputs_random(g, 3 + i, 2.0f);
    assert_true(fd(g, &in, C[i].what) < FD_BOUND);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

static void test_layernorm_values(void **state) {
  (void)state;
  cz_graph *g = ln_graph(cz_shape2(2, 4), -1, cz_shape1(4), true);
  float *sc = g->values[g->nodes[0].in[1]].data, *b = g->values[g->nodes[0].in[2]].data;
  for (int j = 0; j < 4; j++) sc[j] = (float)(j + 1), b[j] = 0.5f * (float)j;
  float x[8] = {1, 2, 3, 4, 10, 10, 10, 10};
  ct_inputs in = {.n = 1, .data = {x}};
  for (int ref = 0; ref < 2; ref++) {
    ct_run r = ct_run_graph(g, &in, false, false, ref, 1);
    double rstd = 1.0 / sqrt(1.25 + 1e-5); /* mean 2.5, biased var 1.25 */
    for (int j = 0; j < 4; j++) {
      assert_float_equal(r.out[0][j], (x[j] - 2.5) * rstd * (j + 1) + 0.5 * j, 1e-5);
      assert_float_equal(r.out[0][4 + j], 0.5 * j, 1e-6); /* constant row: x - mean = 0 */
    }
    ct_run_free(&r);
  }
  cz_graph_free(g);
}

static void test_layernorm_fast(void **state) {
  (void)state;
  static const ln_case C[] = {
      {{3, {40, 30, 40}}, {1, {40}}, -1, true, "LayerNorm [40,30,40] axis -1"},
      {{3, {40, 30, 40}}, {2, {30, 40}}, 1, true, "LayerNorm [40,30,40] axis 1"},
      {{4, {2, 16, 33, 37}}, {3, {16, 33, 37}}, 1, true, "LayerNorm NHWC axis 1"},
      {{4, {2, 16, 33, 37}}, {1, {37}}, 3, false, "LayerNorm NHWC axis 3, no B"},
  };
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
    cz_graph *g = ln_graph(C[i].s, C[i].axis, C[i].ps, C[i].bias);
    ct_params_random(g, 4 + i, 1.0f);
    ct_inputs in = ct_inputs_random(g, 3 + i, 2.0f);
    fast_checks(g, &in, C[i].what);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

static void expect_err(cz_graph *g, const char *msg) {
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  printf("error: %s\n", cz_err_msg(e));
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
}

static void test_layernorm_errors(void **state) {
  (void)state;
  cz_graph *g = ln_graph(cz_shape4(2, 3, 4, 5), 1, cz_shape1(5), true);
  expect_err(g, "node 'ln' (LayerNormalization): Scale 'scale' has shape [5], expected [3,4,5] "
                "(X [2,3,4,5] from axis 1)");
  cz_node_set_int(g, 0, "axis", 3);
  cz_node_set_int(g, 0, "stash_type", 0);
  expect_err(g, "node 'ln' (LayerNormalization): stash_type 0 is not supported (only 1)");
  cz_node_set_int(g, 0, "stash_type", 1);
  cz_node_set_int(g, 0, "axis", -5);
  expect_err(g, "node 'ln' (LayerNormalization): axis -5 is out of range for rank 4");
  cz_graph_free(g);
  g = cz_graph_new("ln2");
  int in[2] = {cz_graph_input(g, "x", CZ_F32, cz_shape2(2, 3)),
               cz_graph_param(g, "s", cz_shape1(3), NULL)};
  cz_graph_node(g, "LayerNormalization", "ln", 2, in, 2, NULL);
  expect_err(g, "node 'ln' (LayerNormalization): only output Y is supported (Mean and "
                "InvStdDev are not)");
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_softmax_fd),      cmocka_unit_test(test_softmax_values),
      cmocka_unit_test(test_softmax_fast),    cmocka_unit_test(test_layernorm_fd),
      cmocka_unit_test(test_layernorm_values), cmocka_unit_test(test_layernorm_fast),
      cmocka_unit_test(test_layernorm_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
