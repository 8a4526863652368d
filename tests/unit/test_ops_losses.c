/* The training losses: values and gradients against PyTorch 1.13 (computed
 * in float64 and written here), finite differences, fast kernels against
 * the reference ones, labels outside [0, C) never read out of bounds, and
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
#include "util/rng.h"

/* Values: float32 against float64 PyTorch, bound 1e-6 absolute (losses of
 * size ~1). Finite differences: the scalar loss is rounded to float32, so
 * the estimate carries ~ulp(loss) / 2h absolute noise (~2e-5 for a summed
 * loss of ~12 at h = 2e-2), against softmax gradients that are often tiny:
 * bound 1e-3 relative to max(|fd|, |analytic|, 5e-2); truncation at this h
 * stays ~1e-4 relative. Fast vs reference: the fast kernels take the
 * row log-sum-exp in float32 (vectorized), the reference in double:
 * |diff| / max(|a|, |b|, 1e-3) bound 1e-4 (gradients are ~1/N). */
#define VAL_TOL 1e-6
#define FD_H 2e-2
#define FD_BOUND 1e-3
#define FD_FLOOR 5e-2
#define FAST_BOUND 1e-4

static const float S[9] = {1.0f, 2.0f, 3.0f, 0.5f, -1.0f, 2.0f, 0.1f, 0.2f, -0.3f};
static const float T[9] = {0.2f, 0.3f, 0.5f, 1.0f, 0.0f, 0.0f, 0.0f, 0.6f, 0.4f};

/* loss(scores [N,C], second input of dtype dt and shape s2). */
static cz_graph *loss_graph(const char *op, int64_t N, int64_t C, cz_dtype dt, cz_shape s2) {
  cz_graph *g = cz_graph_new("loss");
  int in[2] = {cz_graph_input(g, "scores", CZ_F32, cz_shape2(N, C)),
               cz_graph_input(g, "target", dt, s2)};
  g->values[in[0]].requires_grad = true;
  int n = cz_graph_node(g, op, "loss", 2, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

/* Loss value and d loss / d scores with upstream gradient 1. */
static float run_loss(cz_graph *g, const float *x, const void *t, bool reference, float *gx) {
  cz_exec_opts o = {.training = true, .backward = gx != NULL, .reference = reference};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &o, &ex));
  cz_exec_set_input(ex, 0, x, CZ_ROWMAJOR);
  cz_exec_set_input(ex, 1, t, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  assert_int_equal(y.shape.rank, 0);
  float v = *(float *)y.data;
  if (gx) {
    cz_exec_backward(ex, NULL);
    cz_tensor t0 = cz_exec_grad(ex, g->inputs[0]);
    memcpy(gx, t0.data, (size_t)cz_numel(&t0) * sizeof *gx);
  }
  cz_exec_free(ex);
  return v;
}

static void test_sce_values(void **state) {
  (void)state;
  static const struct {
    const char *red;
    float eps;
    bool ignore;
    int64_t labels[3];
    double want;
  } C[] = {
      {"mean", 0.0f, false, {2, 0, 1}, 1.023248305551599},
      {"sum", 0.0f, false, {2, 0, 1}, 3.069744916654797},
      {"mean", 0.2f, false, {2, 0, 1}, 1.103248305551599},
      {"mean", 0.2f, true, {2, -1, 1}, 0.7842168099988199},
      /* A label outside [0, C): no loss, still counted (rows 0, 2 over 3). */
      {"mean", 0.0f, false, {2, 7, 1}, 0.44281120666588},
      {"mean", 0.0f, false, {2, -5, 1}, 0.44281120666588},
      {"mean", 0.1f, true, {-1, -1, -1}, 0.0}, /* every label ignored: 0, not NaN */
  };
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
    cz_graph *g = loss_graph("SoftmaxCrossEntropyLoss", 3, 3, CZ_I64, cz_shape1(3));
    cz_node_set_string(g, 0, "reduction", C[i].red);
    if (C[i].eps > 0) cz_node_set_float(g, 0, "label_smoothing", C[i].eps);
    if (C[i].ignore) cz_node_set_int(g, 0, "ignore_index", -1);
    for (int ref = 0; ref < 2; ref++) {
      float gx[9];
      float v = run_loss(g, S, C[i].labels, ref, gx);
      printf("SoftmaxCrossEntropyLoss case %zu: %.8f (PyTorch %.8f)\n", i, v, C[i].want);
      assert_float_equal(v, C[i].want, VAL_TOL);
      for (int j = 0; j < 9; j++) assert_true(isfinite(gx[j]));
      if (i == 3) { /* PyTorch's gradient; the ignored row gets none */
        const double want[9] = {0.011681953251856884, 0.08903090219406548, -0.10071285544592246,
                                0,                    0,                   0,
                                0.1468149742869367,   -0.23423866281086533, 0.0874236885239286};
        for (int j = 0; j < 9; j++) assert_float_equal(gx[j], want[j], VAL_TOL);
      }
      if (i >= 4) /* the out-of-range / ignored rows get no gradient */
        for (int j = 3; j < 6; j++) assert_true(gx[j] == 0.0f);
    }
    cz_graph_free(g);
  }
  /* int32 labels read the same. */
  cz_graph *g = loss_graph("SoftmaxCrossEntropyLoss", 3, 3, CZ_I32, cz_shape1(3));
  const int32_t l32[3] = {2, 0, 1};
  assert_float_equal(run_loss(g, S, l32, false, NULL), 1.023248305551599, VAL_TOL);
  cz_graph_free(g);
}

static void fill_labels(int64_t *l, int64_t n, int64_t C, uint64_t seed) {
  cz_rng r = cz_rng_make(seed, 9);
  for (int64_t i = 0; i < n; i++) l[i] = cz_rng_below(&r, (uint32_t)C);
}

static void test_sce_fd_and_fast(void **state) {
  (void)state;
  for (int c = 0; c < 4; c++) {
    const char *what[4] = {"mean", "sum", "mean, smoothing 0.1", "mean, smoothing, ignore"};
    cz_graph *g = loss_graph("SoftmaxCrossEntropyLoss", 5, 7, CZ_I64, cz_shape1(5));
    if (c == 1) cz_node_set_string(g, 0, "reduction", "sum");
    if (c >= 2) cz_node_set_float(g, 0, "label_smoothing", 0.1f);
    if (c == 3) cz_node_set_int(g, 0, "ignore_index", 3);
    ct_inputs in = ct_inputs_random(g, 3 + c, 2.0f);
    fill_labels(in.data[1], 5, 7, 4);
    double e = ct_check_fd(g, &in, true, FD_H, 35, 5, FD_FLOOR, true);
    printf("SoftmaxCrossEntropyLoss (%s) finite differences %.3g (bound %.0e)\n", what[c], e,
           FD_BOUND);
    assert_true(e < FD_BOUND);
    ct_inputs_free(&in);
    cz_graph_free(g);
    /* 256 x 200 = 51200: the threaded path. */
    g = loss_graph("SoftmaxCrossEntropyLoss", 256, 200, CZ_I64, cz_shape1(256));
    if (c >= 2) cz_node_set_float(g, 0, "label_smoothing", 0.1f);
    in = ct_inputs_random(g, 13 + c, 3.0f);
    fill_labels(in.data[1], 256, 200, 5);
    ct_run a = ct_run_graph(g, &in, true, true, true, 9);
    ct_run b = ct_run_graph(g, &in, true, true, false, 9);
    e = ct_compare_runs(&a, &b, 1e-3);
    printf("SoftmaxCrossEntropyLoss (%s) fast vs reference %.3g (bound %.0e)\n", what[c], e,
           FAST_BOUND);
    assert_true(e < FAST_BOUND);
    ct_run_free(&a);
    ct_run_free(&b);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

static void test_soft_target_ce(void **state) {
  (void)state;
  cz_graph *g = loss_graph("SoftTargetCrossEntropy", 3, 3, CZ_F32, cz_shape2(3, 3));
  for (int ref = 0; ref < 2; ref++)
    assert_float_equal(run_loss(g, S, T, ref, NULL), 1.3232483055515991, VAL_TOL);
  cz_graph_free(g);
  /* Gradients for logits and (when they need one) for the targets. */
  g = loss_graph("SoftTargetCrossEntropy", 5, 7, CZ_F32, cz_shape2(5, 7));
  g->values[g->inputs[1]].requires_grad = true;
  ct_inputs in = ct_inputs_random(g, 6, 2.0f);
  float *t = in.data[1];
  for (int i = 0; i < 35; i++) t[i] = fabsf(t[i]) / 4.0f; /* soft, not normalized */
  double e = ct_check_fd(g, &in, true, FD_H, 70, 5, FD_FLOOR, true);
  printf("SoftTargetCrossEntropy finite differences %.3g (bound %.0e)\n", e, FD_BOUND);
  assert_true(e < FD_BOUND);
  ct_inputs_free(&in);
  cz_graph_free(g);
  g = loss_graph("SoftTargetCrossEntropy", 256, 200, CZ_F32, cz_shape2(256, 200));
  in = ct_inputs_random(g, 7, 3.0f);
  ct_run a = ct_run_graph(g, &in, true, true, true, 9);
  ct_run b = ct_run_graph(g, &in, true, true, false, 9);
  e = ct_compare_runs(&a, &b, 1e-3);
  printf("SoftTargetCrossEntropy fast vs reference %.3g (bound %.0e)\n", e, FAST_BOUND);
  assert_true(e < FAST_BOUND);
  ct_run_free(&a);
  ct_run_free(&b);
  ct_inputs_free(&in);
  cz_graph_free(g);
}

static void test_bce_values(void **state) {
  (void)state;
  const int64_t labels[3] = {2, 0, 1};
  static const struct {
    bool labels;
    float smoothing, thr; /* thr < 0: none */
    double want;
  } C[] = {
      {false, 0.0f, -1.0f, 1.022214945199992},
      {true, 0.1f, -1.0f, 0.9355482785333256},
      {false, 0.0f, 0.25f, 0.7333260563111033},
      {true, 0.1f, 0.2f, 0.922214945199992},
  };
  for (size_t i = 0; i < sizeof C / sizeof *C; i++) {
    cz_graph *g = C[i].labels ? loss_graph("BCEWithLogits", 3, 3, CZ_I64, cz_shape1(3))
                              : loss_graph("BCEWithLogits", 3, 3, CZ_F32, cz_shape2(3, 3));
    if (C[i].smoothing > 0) cz_node_set_float(g, 0, "smoothing", C[i].smoothing);
    if (C[i].thr >= 0) cz_node_set_float(g, 0, "target_threshold", C[i].thr);
    for (int ref = 0; ref < 2; ref++) {
      float v = run_loss(g, S, C[i].labels ? (const void *)labels : (const void *)T, ref, NULL);
      printf("BCEWithLogits case %zu: %.8f (PyTorch %.8f)\n", i, v, C[i].want);
      assert_float_equal(v, C[i].want, VAL_TOL);
    }
    cz_graph_free(g);
  }
  /* Huge logits: no overflow. A label out of range: its row adds nothing. */
  cz_graph *g = loss_graph("BCEWithLogits", 2, 2, CZ_I64, cz_shape1(2));
  const float big[4] = {100.0f, -100.0f, 3.0f, 4.0f};
  const int64_t bad[2] = {0, 9};
  float gx[4];
  float v = run_loss(g, big, bad, false, gx);
  assert_float_equal(v, 0.0, 1e-6); /* row 0 exactly right, row 1 ignored */
  assert_true(gx[2] == 0.0f && gx[3] == 0.0f);
  cz_graph_free(g);
}

static void test_bce_fd_and_fast(void **state) {
  (void)state;
  for (int c = 0; c < 3; c++) {
    const char *what[3] = {"float targets", "labels, smoothing 0.1", "targets, threshold"};
    bool lab = c == 1;
    cz_graph *g = lab ? loss_graph("BCEWithLogits", 5, 7, CZ_I64, cz_shape1(5))
                      : loss_graph("BCEWithLogits", 5, 7, CZ_F32, cz_shape2(5, 7));
    if (lab) cz_node_set_float(g, 0, "smoothing", 0.1f);
    if (c == 2) cz_node_set_float(g, 0, "target_threshold", 0.5f);
    if (!lab) g->values[g->inputs[1]].requires_grad = true;
    ct_inputs in = ct_inputs_random(g, 8 + c, 2.0f);
    if (lab) fill_labels(in.data[1], 5, 7, 6);
    else
      for (int i = 0; i < 35; i++) {
        float *t = in.data[1];
        t[i] = fabsf(t[i]) / 3.0f;
        if (c == 2 && fabsf(t[i] - 0.5f) < 0.05f) t[i] = 0.7f; /* off the step */
      }
    double e = ct_check_fd(g, &in, true, FD_H, 70, 5, FD_FLOOR, true);
    printf("BCEWithLogits (%s) finite differences %.3g (bound %.0e)\n", what[c], e, FD_BOUND);
    assert_true(e < FD_BOUND);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
  cz_graph *g = loss_graph("BCEWithLogits", 256, 200, CZ_F32, cz_shape2(256, 200));
  ct_inputs in = ct_inputs_random(g, 17, 3.0f);
  ct_run a = ct_run_graph(g, &in, true, true, true, 9);
  ct_run b = ct_run_graph(g, &in, true, true, false, 9);
  double e = ct_compare_runs(&a, &b, 1e-3);
  printf("BCEWithLogits fast vs reference %.3g (bound %.0e)\n", e, FAST_BOUND);
  assert_true(e < FAST_BOUND);
  ct_run_free(&a);
  ct_run_free(&b);
  ct_inputs_free(&in);
  cz_graph_free(g);
}

static void expect_err(cz_graph *g, const char *msg) {
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  printf("error: %s\n", cz_err_msg(e));
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
}

static void test_loss_errors(void **state) {
  (void)state;
  cz_graph *g = loss_graph("SoftmaxCrossEntropyLoss", 4, 10, CZ_F32, cz_shape1(4));
  expect_err(g, "node 'loss' (SoftmaxCrossEntropyLoss): labels 'target' are float32, expected "
                "int64 or int32");
  g->values[g->inputs[1]].dtype = CZ_I64;
  g->values[g->inputs[1]].shape = cz_shape1(5);
  expect_err(g, "node 'loss' (SoftmaxCrossEntropyLoss): labels 'target' have shape [5], "
                "expected [4]");
  g->values[g->inputs[1]].shape = cz_shape1(4);
  cz_node_set_string(g, 0, "reduction", "none");
  expect_err(g, "node 'loss' (SoftmaxCrossEntropyLoss): reduction 'none' is not supported "
                "(mean or sum)");
  cz_graph_free(g);
  g = loss_graph("SoftTargetCrossEntropy", 4, 10, CZ_F32, cz_shape2(4, 9));
  expect_err(g, "node 'loss' (SoftTargetCrossEntropy): targets 'target' [4,9] do not match "
                "logits 'scores' [4,10]");
  cz_graph_free(g);
  g = loss_graph("BCEWithLogits", 4, 10, CZ_F32, cz_shape2(4, 10));
  g->values[g->inputs[0]].shape = cz_shape4(4, 10, 1, 1);
  expect_err(g, "node 'loss' (BCEWithLogits): input 0 'scores' has shape [4,10,1,1], expected "
                "rank 2");
  cz_graph_free(g);
}


/* JsdCrossEntropy (timm's AugMix loss): finite differences on labels with
 * smoothing, on soft targets, and with logits far enough apart that the
 * mixture's clamp at 1e-7 is active; fast and reference kernels agree
 * exactly (both run in double). Values against timm: test_ops_torch. */
static void test_jsd_fd(void **state) {
  (void)state;
  for (int c = 0; c < 3; c++) {
    const char *what[3] = {"labels, smoothing 0.1", "soft targets", "clamped mixture"};
    bool soft = c == 1;
    cz_graph *g = soft ? loss_graph("JsdCrossEntropy", 6, 5, CZ_F32, cz_shape2(6, 5))
                       : loss_graph("JsdCrossEntropy", 6, 5, CZ_I64, cz_shape1(6));
    if (!soft) cz_node_set_float(g, 0, "smoothing", 0.1f);
    cz_node_set_int(g, 0, "num_splits", 3);
    ct_inputs in = ct_inputs_random(g, 21 + c, c == 2 ? 9.0f : 2.0f);
    if (soft) {
      float *t = in.data[1];
      for (int i = 0; i < 30; i++) t[i] = fabsf(t[i]) / 4.0f;
    } else {
      fill_labels(in.data[1], 6, 5, 7);
    }
    /* large logits: M has elements below the 1e-7 clamp (a kink), and the loss is
     * large, so a step between FD_H and the float32 rounding noise */
    double e = ct_check_fd(g, &in, true, c == 2 ? 1e-2 : FD_H, 30, 5, FD_FLOOR, true);
    printf("JsdCrossEntropy (%s) finite differences %.3g (bound %.0e)\n", what[c], e, FD_BOUND);
    assert_true(e < FD_BOUND);
    ct_run a = ct_run_graph(g, &in, true, true, true, 9);
    ct_run b = ct_run_graph(g, &in, true, true, false, 9);
    assert_true(ct_compare_runs(&a, &b, 1e-3) == 0.0);
    ct_run_free(&a);
    ct_run_free(&b);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}


static void test_jsd_errors(void **state) {
  (void)state;
  cz_graph *g = loss_graph("JsdCrossEntropy", 4, 10, CZ_I64, cz_shape1(4));
  cz_node_set_int(g, 0, "num_splits", 3);
  expect_err(g, "node 'loss' (JsdCrossEntropy): num_splits is 3, expected at least 2 and "
                "dividing the 4 rows");
  cz_graph_free(g);
  g = loss_graph("JsdCrossEntropy", 6, 10, CZ_F32, cz_shape2(6, 10));
  cz_node_set_float(g, 0, "smoothing", 0.1f);
  expect_err(g, "node 'loss' (JsdCrossEntropy): smoothing 0.1 with soft targets: timm applies "
                "label smoothing to integer labels only (expected 0)");
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sce_values),     cmocka_unit_test(test_sce_fd_and_fast),
      cmocka_unit_test(test_soft_target_ce), cmocka_unit_test(test_bce_values),
      cmocka_unit_test(test_bce_fd_and_fast), cmocka_unit_test(test_loss_errors),
      cmocka_unit_test(test_jsd_fd),          cmocka_unit_test(test_jsd_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
