/* Dropout and DropPath: mask statistics, inverted-dropout scaling, masks
 * keyed by (seed, step, node) and reproducible for any thread count,
 * backward consistent with forward, identity in inference, and the
 * attribute/input errors. */
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
#include "util/mem.h"
#include "util/rng.h"

/* A one-node graph over x [shape]; ratio < 0: no ratio input. */
static cz_graph *drop_graph(const char *op, cz_shape s, float ratio) {
  cz_graph *g = cz_graph_new("drop");
  int in[2] = {cz_graph_input(g, "x", CZ_F32, s), -1};
  g->values[in[0]].requires_grad = true;
  int n_in = 1;
  if (ratio >= 0.0f) in[n_in++] = cz_graph_const(g, "ratio", CZ_F32, (cz_shape){0}, &ratio);
  int n = cz_graph_node(g, op, "drop", n_in, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

/* Forward (and backward with upstream gy) once; y and gx row-major. */
typedef struct {
  bool training, reference;
  uint64_t seed, step;
  int threads; /* 0: leave as is */
} run_opts;

static void run_once(cz_graph *g, const float *x, const float *gy, const run_opts *o, float *y,
                     float *gx) {
  int keep = omp_get_max_threads();
  if (o->threads) omp_set_num_threads(o->threads);
  cz_exec_opts eo = {.training = o->training, .backward = gx != NULL,
                     .reference = o->reference, .seed = o->seed};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &eo, &ex));
  cz_exec_set_input(ex, 0, x, CZ_ROWMAJOR);
  cz_exec_set_step(ex, o->step);
  cz_exec_forward(ex);
  cz_tensor t = cz_exec_value(ex, g->outputs[0]);
  cz_relayout(t.data, t.layout, y, CZ_ROWMAJOR, &t.shape, sizeof(float));
  if (gx) {
    float *seed = cz_xmalloc((size_t)cz_numel(&t) * sizeof *seed);
    cz_relayout(gy, CZ_ROWMAJOR, seed, t.layout, &t.shape, sizeof(float));
    const float *seeds[1] = {seed};
    cz_exec_backward(ex, seeds);
    cz_tensor gt = cz_exec_grad(ex, g->inputs[0]);
    cz_relayout(gt.data, gt.layout, gx, CZ_ROWMAJOR, &gt.shape, sizeof(float));
    free(seed);
  }
  cz_exec_free(ex);
  if (o->threads) omp_set_num_threads(keep);
}

static float *normal(int64_t n, uint64_t seed) {
  float *p = cz_xmalloc((size_t)n * sizeof *p);
  cz_rng r = cz_rng_make(seed, 1);
  for (int64_t i = 0; i < n; i++) p[i] = (float)cz_rng_normal(&r) + 3.0f; /* never 0 */
  return p;
}

static int64_t count_diff(const float *a, const float *b, int64_t n) {
  int64_t d = 0;
  for (int64_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof *a) != 0;
  return d;
}

/* [4,8,33,37] = 39072 elements: over the threading threshold. */
#define DN 39072
static const cz_shape DSHAPE = {4, {4, 8, 33, 37}};

static void test_dropout_mask_and_scale(void **state) {
  (void)state;
  cz_graph *g = drop_graph("Dropout", DSHAPE, 0.3f);
  float *x = normal(DN, 1), *gy = normal(DN, 2);
  float *y = cz_xmalloc(DN * sizeof *y), *gx = cz_xmalloc(DN * sizeof *gx);
  run_opts o = {.training = true, .seed = 42, .step = 5};
  run_once(g, x, gy, &o, y, gx);
  const float scale = 1.0f / (1.0f - 0.3f);
  int64_t dropped = 0;
  for (int64_t i = 0; i < DN; i++) {
    if (y[i] == 0.0f) {
      dropped++;
      assert_true(gx[i] == 0.0f); /* backward regenerates the same mask */
    } else {
      assert_true(y[i] == x[i] * scale);
      assert_true(gx[i] == gy[i] * scale);
    }
  }
  double frac = (double)dropped / DN, sigma = sqrt(0.3 * 0.7 / DN);
  printf("Dropout p=0.3: dropped fraction %.4f (expected 0.3 +- %.4f, 4 sigma)\n", frac,
         4 * sigma);
  assert_true(fabs(frac - 0.3) < 4 * sigma);
  free(x), free(gy), free(y), free(gx);
  cz_graph_free(g);
}

static void test_dropout_keys_and_threads(void **state) {
  (void)state;
  cz_graph *g = drop_graph("Dropout", DSHAPE, 0.5f);
  float *x = normal(DN, 3), *gy = normal(DN, 4);
  float *y[6], *gx[6];
  for (int i = 0; i < 6; i++) {
    y[i] = cz_xmalloc(DN * sizeof(float));
    gx[i] = cz_xmalloc(DN * sizeof(float));
  }
  run_opts o[6] = {
      {.training = true, .seed = 1, .step = 10, .threads = 2},
      {.training = true, .seed = 1, .step = 10, .threads = 1},       /* thread count */
      {.training = true, .seed = 1, .step = 10, .reference = true},  /* reference */
      {.training = true, .seed = 1, .step = 11, .threads = 2},       /* next step */
      {.training = true, .seed = 2, .step = 10, .threads = 2},       /* other seed */
      {.training = false, .seed = 1, .step = 10, .threads = 2},      /* inference */
  };
  for (int i = 0; i < 6; i++) run_once(g, x, gy, &o[i], y[i], gx[i]);
  assert_int_equal(count_diff(y[0], y[1], DN), 0);
  assert_int_equal(count_diff(gx[0], gx[1], DN), 0);
  assert_int_equal(count_diff(y[0], y[2], DN), 0);
  assert_int_equal(count_diff(gx[0], gx[2], DN), 0);
  /* Independent masks differ on about 2 p (1 - p) = half the elements. */
  double step_diff = (double)count_diff(y[0], y[3], DN) / DN;
  double seed_diff = (double)count_diff(y[0], y[4], DN) / DN;
  printf("Dropout p=0.5: masks differ on %.3f (next step), %.3f (other seed), expected 0.5\n",
         step_diff, seed_diff);
  assert_true(fabs(step_diff - 0.5) < 0.02 && fabs(seed_diff - 0.5) < 0.02);
  assert_int_equal(count_diff(y[5], x, DN), 0);
  assert_int_equal(count_diff(gx[5], gy, DN), 0);
  for (int i = 0; i < 6; i++) free(y[i]), free(gx[i]);
  free(x), free(gy);
  cz_graph_free(g);
}

/* Two Dropout nodes on one input draw different masks (node index key). */
static void test_dropout_nodes_differ(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("two");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape2(100, 100));
  int a = cz_node_out(g, cz_graph_node(g, "Dropout", "d1", 1, &x, 1, NULL), 0);
  int b = cz_node_out(g, cz_graph_node(g, "Dropout", "d2", 1, &x, 1, NULL), 0);
  cz_graph_mark_output(g, a);
  cz_graph_mark_output(g, b);
  ct_inputs in = ct_inputs_random(g, 5, 1.0f);
  ct_run r = ct_run_graph(g, &in, true, false, false, 1);
  double d = (double)count_diff(r.out[0], r.out[1], 10000) / 10000;
  printf("Dropout: two nodes differ on %.3f of elements (expected 0.5)\n", d);
  assert_true(fabs(d - 0.5) < 0.05);
  ct_run_free(&r);
  ct_inputs_free(&in);
  cz_graph_free(g);
}

static void test_dropout_fd_and_forms(void **state) {
  (void)state;
  /* Finite differences through a fixed mask (training, default ratio). */
  cz_graph *g = drop_graph("Dropout", cz_shape4(2, 3, 4, 5), -1.0f);
  ct_inputs in = ct_inputs_random(g, 7, 1.0f);
  double e = ct_check_fd(g, &in, true, 1e-2, 120, 3, 1e-2, true);
  printf("Dropout (training) finite differences max rel err %.3g (bound 1e-4)\n", e);
  assert_true(e < 1e-4);
  ct_inputs_free(&in);
  cz_graph_free(g);

  /* training_mode = false (a constant): the identity even in training;
   * ratio 0: the identity; ratio 1: everything dropped (PyTorch). */
  float x[6] = {1, 2, 3, 4, 5, 6}, ones[6] = {1, 1, 1, 1, 1, 1}, y[6], gx[6];
  run_opts tr = {.training = true, .seed = 1, .step = 1};
  for (int c = 0; c < 3; c++) {
    g = drop_graph("Dropout", cz_shape1(6), c == 0 ? 0.5f : c == 1 ? 0.0f : 1.0f);
    if (c == 0) {
      uint8_t off = 0;
      int t = cz_graph_const(g, "mode", CZ_U8, (cz_shape){0}, &off);
      g->nodes[0].in[2] = t;
      g->nodes[0].n_in = 3;
    }
    run_once(g, x, ones, &tr, y, gx);
    for (int i = 0; i < 6; i++) {
      assert_true(y[i] == (c == 2 ? 0.0f : x[i]));
      assert_true(gx[i] == (c == 2 ? 0.0f : 1.0f));
    }
    cz_graph_free(g);
  }
}

static void expect_err(cz_graph *g, const char *msg) {
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
}

static void test_dropout_errors(void **state) {
  (void)state;
  cz_graph *g = drop_graph("Dropout", cz_shape1(6), 1.5f);
  expect_err(g, "node 'drop' (Dropout): ratio is 1.5, expected a value in [0, 1]");
  int r = cz_graph_input(g, "r", CZ_F32, (cz_shape){0});
  g->nodes[0].in[1] = r;
  expect_err(g, "node 'drop' (Dropout): ratio 'r' must be a constant float32 scalar (got float32 [])");
  cz_graph_free(g);
  g = cz_graph_new("mask");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape1(6));
  cz_graph_node(g, "Dropout", "drop", 1, &x, 2, NULL);
  expect_err(g, "node 'drop' (Dropout): the mask output is not supported");
  cz_graph_free(g);
  g = drop_graph("DropPath", cz_shape1(6), -1.0f);
  cz_node_set_float(g, 0, "drop_prob", -0.1f);
  expect_err(g, "node 'drop' (DropPath): drop_prob is -0.1, expected a value in [0, 1]");
  cz_graph_free(g);
}

/* DropPath: whole samples dropped or kept (scaled by 1/keep), fraction
 * near drop_prob, eval identity, reproducible. [400,1,2,2] = 1600. */
static void test_droppath(void **state) {
  (void)state;
  const int N = 400, S = 4, n = N * S;
  float *x = normal(n, 5), *gy = normal(n, 6);
  float *y = cz_xmalloc((size_t)n * sizeof *y), *gx = cz_xmalloc((size_t)n * sizeof *gx);
  float *y2 = cz_xmalloc((size_t)n * sizeof *y2), *gx2 = cz_xmalloc((size_t)n * sizeof *gx2);
  for (int sbk = 0; sbk < 2; sbk++) {
    cz_graph *g = drop_graph("DropPath", cz_shape4(N, 1, 2, 2), -1.0f);
    cz_node_set_float(g, 0, "drop_prob", 0.25f);
    if (!sbk) cz_node_set_int(g, 0, "scale_by_keep", 0);
    run_opts o = {.training = true, .seed = 9, .step = 3};
    run_once(g, x, gy, &o, y, gx);
    float scale = sbk ? 1.0f / 0.75f : 1.0f;
    int dropped = 0;
    for (int s = 0; s < N; s++) {
      bool drop = y[s * S] == 0.0f;
      dropped += drop;
      for (int j = 0; j < S; j++) {
        int i = s * S + j;
        assert_true(y[i] == (drop ? 0.0f : x[i] * scale));
        assert_true(gx[i] == (drop ? 0.0f : gy[i] * scale));
      }
    }
    double frac = (double)dropped / N, sigma = sqrt(0.25 * 0.75 / N);
    printf("DropPath p=0.25 scale_by_keep=%d: dropped samples %.3f (expected 0.25 +- %.3f)\n",
           sbk, frac, 4 * sigma);
    assert_true(fabs(frac - 0.25) < 4 * sigma);
    /* Same key: same samples, also on one thread and in the reference;
     * next step: other samples. */
    run_opts same[2] = {{.training = true, .seed = 9, .step = 3, .threads = 1},
                        {.training = true, .seed = 9, .step = 3, .reference = true}};
    for (int k = 0; k < 2; k++) {
      run_once(g, x, gy, &same[k], y2, gx2);
      assert_int_equal(count_diff(y, y2, n), 0);
      assert_int_equal(count_diff(gx, gx2, n), 0);
    }
    run_opts next = {.training = true, .seed = 9, .step = 4};
    run_once(g, x, gy, &next, y2, gx2);
    assert_true(count_diff(y, y2, n) > 0);
    run_opts eval = {.seed = 9, .step = 3};
    run_once(g, x, gy, &eval, y2, gx2);
    assert_int_equal(count_diff(y2, x, n), 0);
    assert_int_equal(count_diff(gx2, gy, n), 0);
    cz_graph_free(g);
  }
  /* Finite differences through fixed sample masks. */
  cz_graph *g = drop_graph("DropPath", cz_shape4(6, 2, 3, 3), -1.0f);
  cz_node_set_float(g, 0, "drop_prob", 0.5f);
  ct_inputs in = ct_inputs_random(g, 8, 1.0f);
  double e = ct_check_fd(g, &in, true, 1e-2, 108, 3, 1e-2, true);
  printf("DropPath (training) finite differences max rel err %.3g (bound 1e-4)\n", e);
  assert_true(e < 1e-4);
  ct_inputs_free(&in);
  cz_graph_free(g);
  free(x), free(gy), free(y), free(gx), free(y2), free(gx2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dropout_mask_and_scale), cmocka_unit_test(test_dropout_keys_and_threads),
      cmocka_unit_test(test_dropout_nodes_differ),   cmocka_unit_test(test_dropout_fd_and_forms),
      cmocka_unit_test(test_dropout_errors),         cmocka_unit_test(test_droppath),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
