/* BatchNormalization, MaxPool, AveragePool and GlobalAveragePool: finite
 * differences, fast kernels against the reference ones, running statistics
 * against a hand computation and PyTorch 1.13's numbers, known pooling
 * values from torch, determinism, MACC, and the shape-rule errors. */
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
#include "util/rng.h"
#include "util/threads.h"

/* Bounds. FD: relative error (floor as given) of the reference gradients.
 * Fast vs reference: BN sums in double in another order, so a few float
 * ulps may differ: 1e-6 relative (floor 1e-3); the pools and GAP do the
 * same float (GAP: double) operations in the same order: exactly equal. */
#define FD_BN_BOUND 2e-3
#define FD_POOL_BOUND 1e-3
#define BN_FAST_BOUND 1e-6

/* ---- helpers ---- */

static void fill_normal(float *p, int64_t n, uint64_t seed, float scale, float offset) {
  cz_rng r = cz_rng_make(seed, 77);
  for (int64_t i = 0; i < n; i++) p[i] = (float)cz_rng_normal(&r) * scale + offset;
}

typedef struct {
  cz_graph *g;
  int x, scale, bias, mean, var, node;
} bn_case;

/* X -> BatchNormalization -> output, with scale ~ 1, running var > 0. */
static bn_case bn_make(cz_shape xs, uint64_t seed) {
  bn_case b = {.g = cz_graph_new("bn")};
  int64_t C = xs.d[1];
  float *p = malloc((size_t)C * sizeof *p);
  b.x = cz_graph_input(b.g, "x", CZ_F32, xs);
  b.g->values[b.x].requires_grad = true;
  fill_normal(p, C, seed, 0.3f, 1.0f);
  b.scale = cz_graph_param(b.g, "bn.weight", cz_shape1(C), p);
  fill_normal(p, C, seed + 1, 0.5f, 0.0f);
  b.bias = cz_graph_param(b.g, "bn.bias", cz_shape1(C), p);
  fill_normal(p, C, seed + 2, 0.2f, 0.0f);
  b.mean = cz_graph_buffer(b.g, "bn.running_mean", cz_shape1(C), p);
  fill_normal(p, C, seed + 3, 0.3f, 0.0f);
  for (int64_t c = 0; c < C; c++) p[c] = 0.5f + fabsf(p[c]);
  b.var = cz_graph_buffer(b.g, "bn.running_var", cz_shape1(C), p);
  free(p);
  int in[5] = {b.x, b.scale, b.bias, b.mean, b.var};
  b.node = cz_graph_node(b.g, "BatchNormalization", "bn", 5, in, 1, NULL);
  cz_graph_mark_output(b.g, cz_node_out(b.g, b.node, 0));
  return b;
}

static float *copy_buf(const cz_graph *g, int v) {
  int64_t n = cz_shape_numel(&g->values[v].shape);
  float *p = malloc((size_t)n * sizeof *p);
  memcpy(p, g->values[v].data, (size_t)n * sizeof *p);
  return p;
}

static void set_buf(cz_graph *g, int v, const float *src) {
  memcpy(g->values[v].data, src, (size_t)cz_shape_numel(&g->values[v].shape) * sizeof *src);
}

static double max_rel(const float *a, const float *b, int64_t n, double floor) {
  double w = 0;
  for (int64_t i = 0; i < n; i++)
    w = fmax(w, fabs((double)a[i] - b[i]) / fmax(fmax(fabs(a[i]), fabs(b[i])), floor));
  return w;
}

/* Single-input graph: x -> op -> output. */
static cz_graph *unary(const char *op, cz_shape xs, int *node) {
  cz_graph *g = cz_graph_new(op);
  int x = cz_graph_input(g, "x", CZ_F32, xs);
  g->values[x].requires_grad = true;
  *node = cz_graph_node(g, op, "pool", 1, &x, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, *node, 0));
  return g;
}

static void set_ints(cz_graph *g, int node, const char *name, int64_t a, int64_t b) {
  int64_t v[2] = {a, b};
  cz_node_set_ints(g, node, name, 2, v);
}

static void set_pads(cz_graph *g, int node, int64_t t, int64_t l, int64_t b, int64_t r) {
  int64_t v[4] = {t, l, b, r};
  cz_node_set_ints(g, node, "pads", 4, v);
}

/* Input 0 becomes a random permutation of 0..n-1 times `step`: no ties,
 * and neighbours are `step` apart, far more than the FD step. */
static void permuted_input(ct_inputs *in, int64_t n, uint64_t seed, float step) {
  uint32_t *perm = malloc((size_t)n * sizeof *perm);
  for (int64_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
  cz_rng r = cz_rng_make(seed, 5);
  cz_rng_shuffle_u32(&r, perm, (size_t)n);
  float *p = in->data[0];
  for (int64_t i = 0; i < n; i++) p[i] = ((float)perm[i] - (float)n / 2) * step;
  free(perm);
}

static void expect_err(cz_graph *g, const char *msg) {
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  if (strcmp(cz_err_msg(e), msg) != 0) printf("got:      %s\nexpected: %s\n", cz_err_msg(e), msg);
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
}

/* ---- BatchNormalization ---- */

static void bn_fd(cz_shape xs, bool training, double h, const char *what) {
  bn_case b = bn_make(xs, 11);
  ct_inputs in = ct_inputs_random(b.g, 3, 1.5f);
  /* Shift channels apart so the batch mean is not ~0. */
  float *p = in.data[0];
  for (int64_t i = 0; i < cz_shape_numel(&xs); i++) p[i] += 0.5f;
  double fd = ct_check_fd(b.g, &in, training, h, 40, 21, 1e-2, true);
  printf("BatchNormalization %s %s: finite differences max rel err %.3g (bound %.0e)\n",
         training ? "train" : "eval", what, fd, FD_BN_BOUND);
  assert_true(fd < FD_BN_BOUND);
  ct_inputs_free(&in);
  cz_graph_free(b.g);
}

static void test_bn_fd_train(void **state) {
  (void)state;
  bn_fd(cz_shape4(3, 4, 3, 3), true, 1e-2, "[3,4,3,3] NHWC");
  bn_fd(cz_shape2(6, 5), true, 1e-2, "[6,5]");
  int64_t d3[3] = {2, 3, 5};
  bn_fd(cz_shape_make(3, d3), true, 1e-2, "[2,3,5] row-major");
}

static void test_bn_fd_eval(void **state) {
  (void)state;
  bn_fd(cz_shape4(2, 3, 4, 4), false, 1e-2, "[2,3,4,4] NHWC");
  bn_fd(cz_shape2(4, 6), false, 1e-2, "[4,6]");
  int64_t d3[3] = {2, 3, 5};
  bn_fd(cz_shape_make(3, d3), false, 1e-2, "[2,3,5] row-major");
}

/* Fast vs reference: outputs, gradients and the updated running stats. */
static void bn_fast_case(cz_shape xs, bool training, bool backward) {
  bn_case b = bn_make(xs, 5);
  ct_inputs in = ct_inputs_random(b.g, 8, 2.0f);
  float *m0 = copy_buf(b.g, b.mean), *v0 = copy_buf(b.g, b.var);
  ct_run ref = ct_run_graph(b.g, &in, training, backward, true, 4);
  float *mr = copy_buf(b.g, b.mean), *vr = copy_buf(b.g, b.var);
  set_buf(b.g, b.mean, m0);
  set_buf(b.g, b.var, v0);
  ct_run fast = ct_run_graph(b.g, &in, training, backward, false, 4);
  int64_t C = xs.d[1];
  double e = ct_compare_runs(&ref, &fast, 1e-3);
  double es = fmax(max_rel(mr, b.g->values[b.mean].data, C, 1e-3),
                   max_rel(vr, b.g->values[b.var].data, C, 1e-3));
  char s[CZ_SHAPE_STR_MAX];
  printf("BatchNormalization %s%s %s: fast vs reference max rel %.3g, running stats %.3g "
         "(bound %.0e)\n",
         training ? "train" : "eval", backward ? "+bwd" : "", cz_shape_str(&xs, s, sizeof s), e,
         es, BN_FAST_BOUND);
  assert_true(e <= BN_FAST_BOUND);
  assert_true(es <= BN_FAST_BOUND);
  if (!training) assert_true(es == 0.0);
  free(m0), free(v0), free(mr), free(vr);
  ct_run_free(&ref);
  ct_run_free(&fast);
  ct_inputs_free(&in);
  cz_graph_free(b.g);
}

static void test_bn_fast_vs_reference(void **state) {
  (void)state;
  int64_t d3[3] = {4, 6, 7};
  cz_shape shapes[] = {cz_shape4(4, 8, 5, 5), cz_shape2(37, 12), cz_shape_make(3, d3),
                       /* parallel: rows * C > 32768, 150 rows in 32 uneven chunks */
                       cz_shape4(6, 80, 5, 5), cz_shape4(8, 32, 12, 12)};
  for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
    bn_fast_case(shapes[i], true, true);
    bn_fast_case(shapes[i], false, true);
  }
  /* Forward only: no saved state, statistics in the scratch buffer. */
  bn_fast_case(shapes[0], true, false);
  bn_fast_case(shapes[1], false, false);
}

/* One training step on known data: running stats from a hand computation
 * (unbiased variance, ONNX momentum = 1 - torch's), and from torch 1.13
 * (BatchNorm2d(2, eps=1e-3, momentum=0.25 and 0.1) on the same numbers). */
static void test_bn_running_stats(void **state) {
  (void)state;
  const float x[12] = {0.3f, -1.2f, 2.5f, 0.7f, 1.1f,  -0.4f,
                       -2.0f, 0.9f, 1.6f, 0.05f, -0.8f, 3.3f}; /* [2,2,1,3] NCHW */
  const float sc[2] = {1.5f, -0.5f}, bi[2] = {0.1f, 0.2f};
  const float rm0[2] = {0.5f, -0.25f}, rv0[2] = {2.0f, 0.5f};
  const double torch_y[12] = {0.051622990518808365, -1.3996880054473877, 2.1802122592926025,
                              0.18447038531303406,  0.03538592904806137, 0.5944525599479675,
                              -2.173720359802246,   0.6321473121643066,  1.3094258308410645,
                              0.42673259973526,     0.7435370087623596,  -0.7845784425735474};
  const double torch_stats[2][4] = {
      /* momentum 0.75: mean0, mean1, var0, var1 */
      {0.4625000059604645, -0.022916674613952637, 2.220749855041504, 0.914604127407074},
      /* ONNX default 0.9 (torch's 0.1) */
      {0.48499998450279236, -0.15916666388511658, 2.0882999897003174, 0.6658416390419006}};
  for (int ref = 0; ref < 2; ref++)
    for (int mi = 0; mi < 2; mi++) {
      cz_graph *g = cz_graph_new("bn");
      int v[5];
      v[0] = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 2, 1, 3));
      v[1] = cz_graph_param(g, "w", cz_shape1(2), sc);
      v[2] = cz_graph_param(g, "b", cz_shape1(2), bi);
      v[3] = cz_graph_buffer(g, "rm", cz_shape1(2), rm0);
      v[4] = cz_graph_buffer(g, "rv", cz_shape1(2), rv0);
      int n = cz_graph_node(g, "BatchNormalization", "bn", 5, v, 1, NULL);
      cz_node_set_float(g, n, "epsilon", 1e-3f);
      if (mi == 0) cz_node_set_float(g, n, "momentum", 0.75f);
      cz_node_set_int(g, n, "training_mode", 1); /* accepted, ignored */
      cz_graph_mark_output(g, cz_node_out(g, n, 0));
      ct_inputs in = {.n = 1, .data = {malloc(sizeof x)}};
      memcpy(in.data[0], x, sizeof x);
      ct_run r = ct_run_graph(g, &in, true, true, ref == 1, 1);
      double mom = mi == 0 ? 0.75 : 0.9, worst = 0, worst_t = 0, worst_y = 0;
      const float *rm = g->values[v[3]].data, *rv = g->values[v[4]].data;
      for (int c = 0; c < 2; c++) {
        double s = 0, q = 0;
        for (int k = 0; k < 6; k++) s += x[(k / 3) * 6 + c * 3 + k % 3];
        double mu = s / 6;
        for (int k = 0; k < 6; k++) q += pow(x[(k / 3) * 6 + c * 3 + k % 3] - mu, 2);
        double em = mom * rm0[c] + (1 - mom) * mu, ev = mom * rv0[c] + (1 - mom) * q / 5;
        worst = fmax(worst, fmax(fabs(rm[c] - em) / fabs(em), fabs(rv[c] - ev) / fabs(ev)));
        worst_t = fmax(worst_t, fabs(rm[c] - torch_stats[mi][c]) / fabs(torch_stats[mi][c]));
        double tv = torch_stats[mi][2 + c];
        worst_t = fmax(worst_t, fabs(rv[c] - tv) / fabs(tv));
        for (int k = 0; k < 6; k++) {
          int i = (k / 3) * 6 + c * 3 + k % 3;
          double ey = (x[i] - mu) / sqrt(q / 6 + 1e-3) * sc[c] + bi[c];
          worst_y = fmax(worst_y, fmax(fabs(r.out[0][i] - ey), fabs(r.out[0][i] - torch_y[i])));
        }
      }
      printf("BatchNormalization running stats (%s, momentum %.2f): vs hand %.3g, vs torch %.3g "
             "(bound 1e-6 rel); y abs err %.3g (bound 1e-6)\n",
             ref ? "reference" : "fast", mom, worst, worst_t, worst_y);
      assert_true(worst < 1e-6 && worst_t < 1e-6 && worst_y < 1e-6);
      ct_run_free(&r);
      ct_inputs_free(&in);
      cz_graph_free(g);
    }
}

/* A large offset with a small spread: naive float sums of x and x^2 would
 * lose the variance; double two-pass sums keep it. The normalized output
 * must match a double computation from the same float inputs. */
static void test_bn_large_offset(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("bn");
  float ones[3] = {1, 1, 1}, zeros[3] = {0, 0, 0};
  int v[5];
  v[0] = cz_graph_input(g, "x", CZ_F32, cz_shape4(16, 3, 6, 6));
  v[1] = cz_graph_param(g, "w", cz_shape1(3), ones);
  v[2] = cz_graph_param(g, "b", cz_shape1(3), zeros);
  v[3] = cz_graph_buffer(g, "rm", cz_shape1(3), zeros);
  v[4] = cz_graph_buffer(g, "rv", cz_shape1(3), ones);
  int n = cz_graph_node(g, "BatchNormalization", "bn", 5, v, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  ct_inputs in = ct_inputs_random(g, 4, 0.05f);
  float *x = in.data[0];
  int64_t S = 36, N = 16;
  for (int64_t i = 0; i < N * 3 * S; i++) x[i] += 3000.0f;
  for (int ref = 0; ref < 2; ref++) {
    ct_run r = ct_run_graph(g, &in, true, false, ref == 1, 1);
    double worst = 0;
    for (int c = 0; c < 3; c++) {
      double s = 0, q = 0;
      for (int64_t k = 0; k < N * S; k++) s += x[(k / S) * 3 * S + c * S + k % S];
      double mu = s / (double)(N * S);
      for (int64_t k = 0; k < N * S; k++) q += pow(x[(k / S) * 3 * S + c * S + k % S] - mu, 2);
      double is = 1 / sqrt(q / (double)(N * S) + 1e-5);
      for (int64_t k = 0; k < N * S; k++) {
        int64_t i = (k / S) * 3 * S + c * S + k % S;
        worst = fmax(worst, fabs(r.out[0][i] - (x[i] - mu) * is));
      }
    }
    printf("BatchNormalization offset 3000, std 0.05 (%s): y abs err %.3g (bound 1e-5)\n",
           ref ? "reference" : "fast", worst);
    assert_true(worst < 1e-5);
    ct_run_free(&r);
  }
  ct_inputs_free(&in);
  cz_graph_free(g);
}

/* Eval mode leaves the running stats alone. */
static void test_bn_eval_keeps_stats(void **state) {
  (void)state;
  bn_case b = bn_make(cz_shape4(2, 3, 2, 2), 9);
  float *m0 = copy_buf(b.g, b.mean), *v0 = copy_buf(b.g, b.var);
  ct_inputs in = ct_inputs_random(b.g, 1, 1.0f);
  ct_run r = ct_run_graph(b.g, &in, false, true, false, 2);
  assert_memory_equal(m0, b.g->values[b.mean].data, 3 * sizeof(float));
  assert_memory_equal(v0, b.g->values[b.var].data, 3 * sizeof(float));
  free(m0), free(v0);
  ct_run_free(&r);
  ct_inputs_free(&in);
  cz_graph_free(b.g);
}

static void test_bn_errors(void **state) {
  (void)state;
  bn_case b = bn_make(cz_shape4(2, 3, 4, 4), 1);
  cz_graph *g = b.g;
  g->values[b.scale].shape = cz_shape1(4);
  expect_err(g, "node 'bn' (BatchNormalization): input 1 'bn.weight' (scale) has shape [4], "
                "expected [3] (the channels of X [2,3,4,4])");
  g->values[b.scale].shape = cz_shape1(3);
  g->values[b.var].shape = cz_shape2(1, 3);
  expect_err(g, "node 'bn' (BatchNormalization): input 4 'bn.running_var' (input_var) has shape "
                "[1,3], expected [3] (the channels of X [2,3,4,4])");
  g->values[b.var].shape = cz_shape1(3);
  g->values[b.x].shape = cz_shape1(3);
  expect_err(g, "node 'bn' (BatchNormalization): input 0 'x' has shape [3], expected rank 2 or "
                "more ([N,C,...])");
  g->values[b.x].shape = cz_shape4(2, 3, 4, 4);
  cz_node_set_float(g, b.node, "momentum", 1.5f);
  expect_err(g, "node 'bn' (BatchNormalization): attribute momentum 1.5 must be in [0, 1]");
  cz_node_set_float(g, b.node, "momentum", 0.9f);
  cz_node_set_float(g, b.node, "epsilon", -1.0f);
  expect_err(g, "node 'bn' (BatchNormalization): attribute epsilon -1 must be finite and >= 0");
  cz_node_set_float(g, b.node, "epsilon", 1e-5f);
  cz_node_set_int(g, b.node, "training_mode", 2);
  expect_err(g, "node 'bn' (BatchNormalization): attribute training_mode is 2, expected 0 or 1");
  cz_node_set_int(g, b.node, "training_mode", 0);
  cz_node_set_int(g, b.node, "spatial", 1);
  expect_err(g, "node 'bn' (BatchNormalization): unsupported attribute 'spatial' (supported: "
                "epsilon, momentum, training_mode)");
  cz_graph_free(g);

  /* Running mean fed as a graph input: it could not hold state. */
  g = cz_graph_new("bn2");
  int v[5];
  v[0] = cz_graph_input(g, "x", CZ_F32, cz_shape2(4, 2));
  v[1] = cz_graph_param(g, "w", cz_shape1(2), NULL);
  v[2] = cz_graph_param(g, "b", cz_shape1(2), NULL);
  v[3] = cz_graph_input(g, "m", CZ_F32, cz_shape1(2));
  v[4] = cz_graph_buffer(g, "v", cz_shape1(2), NULL);
  int n = cz_graph_node(g, "BatchNormalization", "bn", 5, v, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  expect_err(g, "node 'bn' (BatchNormalization): input 3 'm' (input_mean) must be a buffer with "
                "data (running statistics are state, not a computed or fed value)");
  g->values[v[3]].dtype = CZ_I64;
  expect_err(g, "node 'bn' (BatchNormalization): input 3 'm' is int64, expected float32");
  cz_graph_free(g);
}

/* ---- pooling ---- */

typedef struct {
  const char *what;
  int64_t k[2], s[2], d[2], pads[4];
  int ceil, cip;
  const char *auto_pad;
} pool_cfg;

static const pool_cfg pool_cfgs[] = {
    {"k3 s2 p1 ceil", {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, 1, NULL},
    {"k3 s2 p1 ceil no-cip", {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, 0, NULL},
    {"k2x3 s1x2 asym pads", {2, 3}, {1, 2}, {1, 1}, {0, 2, 1, 0}, 0, 1, NULL},
    {"k3 s2 SAME_UPPER", {3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 0, 1, "SAME_UPPER"},
    {"k2 s2 SAME_LOWER", {2, 2}, {3, 2}, {1, 1}, {0, 0, 0, 0}, 0, 0, "SAME_LOWER"},
    {"k2 s2 VALID", {2, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 0, 0, "VALID"},
    {"k3 s2 VALID ceil", {3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1, 1, "VALID"},
    {"k2 s1 dil2 ceil", {2, 2}, {2, 1}, {2, 2}, {1, 0, 1, 1}, 1, 0, NULL}, /* MaxPool only */
};

static void apply_cfg(cz_graph *g, int node, const pool_cfg *c, bool is_max) {
  set_ints(g, node, "kernel_shape", c->k[0], c->k[1]);
  set_ints(g, node, "strides", c->s[0], c->s[1]);
  if (is_max) set_ints(g, node, "dilations", c->d[0], c->d[1]);
  if (c->auto_pad)
    cz_node_set_string(g, node, "auto_pad", c->auto_pad);
  else
    set_pads(g, node, c->pads[0], c->pads[1], c->pads[2], c->pads[3]);
  if (c->ceil) cz_node_set_int(g, node, "ceil_mode", 1);
  if (!is_max) cz_node_set_int(g, node, "count_include_pad", c->cip);
}

static void test_pool_fd(void **state) {
  (void)state;
  cz_shape xs = cz_shape4(2, 3, 7, 6);
  for (int is_max = 0; is_max < 2; is_max++)
    for (size_t i = 0; i < sizeof pool_cfgs / sizeof *pool_cfgs; i++) {
      const pool_cfg *c = &pool_cfgs[i];
      if (!is_max && c->d[0] != 1) continue;
      int node;
      const char *op = is_max ? "MaxPool" : "AveragePool";
      cz_graph *g = unary(op, xs, &node);
      apply_cfg(g, node, c, is_max);
      /* MaxPool: neighbours 0.01 apart, FD step 5e-3, so no argmax
       * changes. Both pools are piecewise linear: what FD misses is the
       * float rounding of the outputs, ulp(|x|) / h, hence small inputs for
       * AveragePool, whose gradients may cancel to near 0. */
      ct_inputs in = ct_inputs_random(g, 2 + i, 0.1f);
      if (is_max) permuted_input(&in, cz_shape_numel(&xs), 3 + i, 0.01f);
      double fd = ct_check_fd(g, &in, true, 5e-3, 60, 7, 1e-3, true);
      char s[CZ_SHAPE_STR_MAX];
      printf("%s %s -> %s: finite differences max rel err %.3g (bound %.0e)\n", op, c->what,
             cz_shape_str(&g->values[cz_node_out(g, node, 0)].shape, s, sizeof s), fd,
             FD_POOL_BOUND);
      assert_true(fd < FD_POOL_BOUND);
      ct_inputs_free(&in);
      cz_graph_free(g);
    }
}

/* Output shapes and values from torch 1.13 (F.avg_pool2d, F.max_pool2d
 * with ceil_mode=True) on small known inputs, including
 * ceil_mode windows that run into (and past) the end padding. */
static void test_pool_torch_values(void **state) {
  (void)state;
  struct {
    const char *op;
    int64_t hw, k, s, p, dil;
    int cip;
    int64_t out;
    float y[16];
  } cases[] = {
      /* F.avg_pool2d(arange(1,37).view(1,1,6,6), 3, 2, 1, ceil_mode=True) */
      {"AveragePool", 6, 3, 2, 1, 1, 1, 4,
       {2, 4, 16.0f / 3, 3, 9, 15, 17, 9, 17, 27, 29, 15, 10.5f, 16.5f, 17.5f, 9}},
      {"AveragePool", 6, 2, 2, 1, 1, 1, 4,
       {0.25f, 1.25f, 2.25f, 1.5f, 5, 11.5f, 13.5f, 7.5f, 11, 23.5f, 25.5f, 13.5f, 7.75f, 16.25f,
        17.25f, 9}},
      /* 5x5, k3 s2 p1 ceil: the third window starts at the last element */
      {"AveragePool", 5, 3, 2, 1, 1, 1, 3,
       {16.0f / 9, 11.0f / 3, 28.0f / 9, 23.0f / 3, 13, 29.0f / 3, 76.0f / 9, 41.0f / 3,
        88.0f / 9}},
      {"AveragePool", 5, 3, 2, 1, 1, 0, 3, {4, 5.5f, 7, 11.5f, 13, 14.5f, 19, 20.5f, 22}},
      {"MaxPool", 6, 2, 2, 1, 1, 0, 4,
       {1, 3, 5, 6, 13, 15, 17, 18, 25, 27, 29, 30, 31, 33, 35, 36}},
      /* 7x7 inputs: the permutation (i * 37) % 49, dilation 2 */
      {"MaxPool", 7, 2, 2, 1, 2, 0, 4,
       {2, 27, 27, 3, 30, 30, 31, 31, 30, 34, 34, 31, 9, 34, 34, 10}},
      {"MaxPool", 7, 3, 2, 1, 2, 0, 3, {30, 31, 31, 34, 34, 34, 34, 34, 34}},
      {"AveragePool", 7, 3, 3, 1, 1, 1, 3,
       {53.0f / 9, 120.0f / 9, 107.0f / 9, 167.0f / 9, 201.0f / 9, 150.0f / 9, 88.0f / 9,
        197.0f / 9, 93.0f / 9}},
  };
  for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
    int node;
    cz_graph *g = unary(cases[t].op, cz_shape4(1, 1, cases[t].hw, cases[t].hw), &node);
    set_ints(g, node, "kernel_shape", cases[t].k, cases[t].k);
    set_ints(g, node, "strides", cases[t].s, cases[t].s);
    set_pads(g, node, cases[t].p, cases[t].p, cases[t].p, cases[t].p);
    cz_node_set_int(g, node, "ceil_mode", 1);
    if (strcmp(cases[t].op, "AveragePool") == 0)
      cz_node_set_int(g, node, "count_include_pad", cases[t].cip);
    else
      set_ints(g, node, "dilations", cases[t].dil, cases[t].dil);
    ct_inputs in = ct_inputs_random(g, 1, 1.0f);
    float *p = in.data[0];
    for (int64_t i = 0; i < cases[t].hw * cases[t].hw; i++)
      p[i] = (float)(cases[t].hw == 7 ? (i * 37) % 49 : i + 1);
    for (int ref = 0; ref < 2; ref++) {
      ct_run r = ct_run_graph(g, &in, false, false, ref, 1);
      const cz_shape *ys = &g->values[cz_node_out(g, node, 0)].shape;
      assert_int_equal(ys->d[2], cases[t].out);
      assert_int_equal(ys->d[3], cases[t].out);
      for (int64_t i = 0; i < cases[t].out * cases[t].out; i++)
        assert_float_equal(r.out[0][i], cases[t].y[i], 1e-5);
      ct_run_free(&r);
    }
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

/* Ties go to the first maximum in scan order and a NaN tap wins, as in
 * torch 1.13 (expected gradients from F.max_pool2d(...).backward(ones)). */
static void test_maxpool_ties_and_nan(void **state) {
  (void)state;
  const float nan = NAN;
  struct {
    int64_t h, w, k, p;
    float x[12], gx[12];
  } cases[] = {
      {3, 4, 2, 1, {0}, {4, 2, 2, 2, 2, 1, 1, 1, 2, 1, 1, 1}},
      {2, 3, 2, 0, {1, nan, 0, 2, 3, nan}, {0, 1, 0, 0, 0, 1}},
  };
  for (int t = 0; t < 2; t++)
    for (int ref = 0; ref < 2; ref++) {
      int node;
      cz_graph *g = unary("MaxPool", cz_shape4(1, 1, cases[t].h, cases[t].w), &node);
      set_ints(g, node, "kernel_shape", cases[t].k, cases[t].k);
      set_pads(g, node, cases[t].p, cases[t].p, cases[t].p, cases[t].p);
      cz_exec_opts o = {.training = true, .backward = true, .reference = ref == 1};
      cz_exec *ex = NULL;
      assert_null(cz_exec_new(g, &o, &ex));
      cz_exec_set_input(ex, 0, cases[t].x, CZ_ROWMAJOR);
      cz_exec_forward(ex);
      float ones[20];
      for (int i = 0; i < 20; i++) ones[i] = 1.0f;
      const float *seeds[1] = {ones};
      cz_exec_backward(ex, seeds);
      cz_tensor gx = cz_exec_grad(ex, 0);
      for (int64_t i = 0; i < cases[t].h * cases[t].w; i++)
        assert_true(cz_f32(&gx)[i] == cases[t].gx[i]);
      cz_tensor y = cz_exec_value(ex, g->outputs[0]);
      if (t == 1) assert_true(isnan(cz_f32(&y)[0]) && isnan(cz_f32(&y)[1]));
      cz_exec_free(ex);
      cz_graph_free(g);
    }
}

/* Large enough for the parallel paths, C = 80: two channel blocks, one
 * partial. Pools must match the reference exactly. */
static void test_pool_fast_vs_reference(void **state) {
  (void)state;
  cz_shape xs = cz_shape4(3, 80, 11, 10);
  for (int is_max = 0; is_max < 2; is_max++)
    for (size_t i = 0; i < sizeof pool_cfgs / sizeof *pool_cfgs; i++) {
      const pool_cfg *c = &pool_cfgs[i];
      if (!is_max && c->d[0] != 1) continue;
      int node;
      cz_graph *g = unary(is_max ? "MaxPool" : "AveragePool", xs, &node);
      apply_cfg(g, node, c, is_max);
      ct_inputs in = ct_inputs_random(g, 4, 1.0f);
      ct_run a = ct_run_graph(g, &in, true, true, true, 2);
      ct_run b = ct_run_graph(g, &in, true, true, false, 2);
      double e = ct_compare_runs(&a, &b, 1e-6);
      printf("%s %s: fast vs reference max rel %.3g (bound 0: same operations, same order)\n",
             is_max ? "MaxPool" : "AveragePool", c->what, e);
      assert_true(e == 0.0);
      ct_run_free(&a);
      ct_run_free(&b);
      ct_inputs_free(&in);
      cz_graph_free(g);
    }
}

/* A row-major (constant) input takes the strided reference path even in
 * fast mode: it must agree with the NHWC path. */
static void test_pool_rowmajor_input(void **state) {
  (void)state;
  const char *ops[] = {"MaxPool", "AveragePool", "GlobalAveragePool"};
  for (int o = 0; o < 3; o++) {
    float data[2 * 3 * 5 * 5];
    fill_normal(data, 150, 12, 1.0f, 0.0f);
    cz_graph *g = cz_graph_new("rm");
    int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 3, 5, 5));
    int k = cz_graph_const(g, "k", CZ_F32, cz_shape4(2, 3, 5, 5), data);
    int n1 = cz_graph_node(g, ops[o], "a", 1, &x, 1, NULL);
    int n2 = cz_graph_node(g, ops[o], "b", 1, &k, 1, NULL);
    for (int n = n1; o < 2 && n <= n2; n++) {
      set_ints(g, n, "kernel_shape", 3, 2);
      set_ints(g, n, "strides", 2, 1);
      set_pads(g, n, 1, 0, 1, 1);
    }
    cz_graph_mark_output(g, cz_node_out(g, n1, 0));
    cz_graph_mark_output(g, cz_node_out(g, n2, 0));
    ct_inputs in = {.n = 1, .data = {malloc(sizeof data)}};
    memcpy(in.data[0], data, sizeof data);
    ct_run r = ct_run_graph(g, &in, false, false, false, 1);
    assert_int_equal(r.out_n[0], r.out_n[1]);
    assert_memory_equal(r.out[0], r.out[1], (size_t)r.out_n[0] * sizeof(float));
    ct_run_free(&r);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

static void test_gap(void **state) {
  (void)state;
  int node;
  cz_graph *g = unary("GlobalAveragePool", cz_shape4(2, 3, 4, 5), &node);
  ct_inputs in = ct_inputs_random(g, 3, 1.0f);
  double fd = ct_check_fd(g, &in, false, 1e-2, 60, 7, 1e-3, true);
  printf("GlobalAveragePool [2,3,4,5]: finite differences max rel err %.3g (bound %.0e)\n", fd,
         FD_POOL_BOUND);
  assert_true(fd < FD_POOL_BOUND);
  ct_run a = ct_run_graph(g, &in, false, true, true, 1);
  const float *x = in.data[0];
  for (int nc = 0; nc < 6; nc++) {
    double s = 0;
    for (int i = 0; i < 20; i++) s += x[nc * 20 + i];
    assert_float_equal(a.out[0][nc], s / 20, 1e-6);
  }
  ct_run_free(&a);
  ct_inputs_free(&in);
  cz_graph_free(g);
  /* Fast vs reference: rank 4 (parallel, two channel blocks), rank 3. */
  int64_t d3[3] = {3, 5, 7};
  cz_shape shapes[] = {cz_shape4(4, 80, 11, 12), cz_shape_make(3, d3)};
  for (int t = 0; t < 2; t++) {
    g = unary("GlobalAveragePool", shapes[t], &node);
    in = ct_inputs_random(g, 3, 1.0f);
    a = ct_run_graph(g, &in, false, true, true, 1);
    ct_run b = ct_run_graph(g, &in, false, true, false, 1);
    double e = ct_compare_runs(&a, &b, 1e-6);
    printf("GlobalAveragePool rank %d: fast vs reference max rel %.3g (bound 0)\n",
           shapes[t].rank, e);
    assert_true(e == 0.0);
    ct_run_free(&a);
    ct_run_free(&b);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

/* Two consumers of x: the second backward adds into x's gradient. */
static void test_fanout_accumulates(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("fan");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 4, 6, 6));
  g->values[x].requires_grad = true;
  const char *ops[] = {"MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization"};
  float ones[4] = {1, 1, 1, 1}, zeros[4] = {0};
  int w = cz_graph_param(g, "w", cz_shape1(4), ones);
  int b = cz_graph_param(g, "b", cz_shape1(4), zeros);
  int rm = cz_graph_buffer(g, "rm", cz_shape1(4), zeros);
  int rv = cz_graph_buffer(g, "rv", cz_shape1(4), ones);
  for (int o = 0; o < 4; o++) {
    int in[5] = {x, w, b, rm, rv};
    int n = cz_graph_node(g, ops[o], ops[o], o == 3 ? 5 : 1, in, 1, NULL);
    if (o < 2) {
      set_ints(g, n, "kernel_shape", 3, 3);
      set_pads(g, n, 1, 1, 1, 1);
    }
    cz_graph_mark_output(g, cz_node_out(g, n, 0));
  }
  ct_inputs in = ct_inputs_random(g, 6, 1.0f);
  permuted_input(&in, 2 * 4 * 36, 2, 0.05f); /* FD step 1e-2: no argmax changes */
  for (int tr = 0; tr < 2; tr++) {
    double fd = ct_check_fd(g, &in, tr, 1e-2, 80, 3, 1e-2, true);
    ct_run a = ct_run_graph(g, &in, tr, true, true, 3);
    ct_run f = ct_run_graph(g, &in, tr, true, false, 3);
    double e = ct_compare_runs(&a, &f, 1e-3);
    printf("fan-out of four ops (%s): fd max rel err %.3g (bound %.0e), fast vs reference %.3g "
           "(bound %.0e)\n",
           tr ? "train" : "eval", fd, FD_BN_BOUND, e, BN_FAST_BOUND);
    assert_true(fd < FD_BN_BOUND);
    assert_true(e <= BN_FAST_BOUND);
    ct_run_free(&a);
    ct_run_free(&f);
  }
  ct_inputs_free(&in);
  cz_graph_free(g);
}

/* Same inputs, same thread count: identical bits; BN's chunked sums make
 * it independent of the thread count too. */
static void test_determinism(void **state) {
  (void)state;
  bn_case b = bn_make(cz_shape4(8, 32, 12, 12), 3);
  int y = cz_node_out(b.g, b.node, 0);
  int mp = cz_graph_node(b.g, "MaxPool", "mp", 1, &y, 1, NULL);
  set_ints(b.g, mp, "kernel_shape", 3, 3);
  set_ints(b.g, mp, "strides", 2, 2);
  set_pads(b.g, mp, 1, 1, 1, 1);
  y = cz_node_out(b.g, mp, 0);
  int ap = cz_graph_node(b.g, "AveragePool", "ap", 1, &y, 1, NULL);
  set_ints(b.g, ap, "kernel_shape", 2, 2);
  y = cz_node_out(b.g, ap, 0);
  int gp = cz_graph_node(b.g, "GlobalAveragePool", "gp", 1, &y, 1, NULL);
  b.g->n_outputs = 0;
  cz_graph_mark_output(b.g, cz_node_out(b.g, gp, 0));
  cz_graph_mark_output(b.g, cz_node_out(b.g, mp, 0));
  ct_inputs in = ct_inputs_random(b.g, 1, 1.0f);
  ct_run r[3];
  int threads[3] = {2, 2, 1};
  for (int i = 0; i < 3; i++) {
    cz_threads_set(threads[i]);
    r[i] = ct_run_graph(b.g, &in, true, true, false, 5);
  }
  cz_threads_set(0);
  double e01 = ct_compare_runs(&r[0], &r[1], 1e-30), e02 = ct_compare_runs(&r[0], &r[2], 1e-30);
  printf("determinism: 2 vs 2 threads %.3g, 2 vs 1 thread %.3g (bound 0)\n", e01, e02);
  assert_true(e01 == 0.0 && e02 == 0.0);
  for (int i = 0; i < 3; i++) ct_run_free(&r[i]);
  ct_inputs_free(&in);
  cz_graph_free(b.g);
}

static void test_macc(void **state) {
  (void)state;
  bn_case b = bn_make(cz_shape4(2, 3, 4, 4), 1);
  int y = cz_node_out(b.g, b.node, 0);
  int mp = cz_graph_node(b.g, "MaxPool", "mp", 1, &y, 1, NULL);
  set_ints(b.g, mp, "kernel_shape", 3, 2); /* -> [2,3,2,3] */
  int gp = cz_graph_node(b.g, "GlobalAveragePool", "gp", 1, &y, 1, NULL);
  (void)gp;
  assert_null(cz_graph_infer(b.g));
  assert_int_equal(cz_graph_macc(b.g), 2 * 96 + 36 * 6 + 96);
  cz_graph_free(b.g);
}

static void test_pool_errors(void **state) {
  (void)state;
  int node;
  cz_graph *g = unary("MaxPool", cz_shape4(1, 2, 4, 4), &node);
  expect_err(g, "node 'pool' (MaxPool): attribute kernel_shape is required (2 values for 2-D "
                "pooling)");
  set_ints(g, node, "kernel_shape", 5, 3);
  expect_err(g, "node 'pool' (MaxPool): kernel 5 (dilated extent 5) is larger than the padded "
                "input 4 on axis H (input [1,2,4,4], pads 0+0)");
  set_ints(g, node, "kernel_shape", 3, 3);
  set_ints(g, node, "dilations", 1, 2);
  expect_err(g, "node 'pool' (MaxPool): kernel 3 (dilated extent 5) is larger than the padded "
                "input 4 on axis W (input [1,2,4,4], pads 0+0)");
  set_ints(g, node, "dilations", 1, 1);
  int64_t k3[3] = {3, 3, 3};
  cz_node_set_ints(g, node, "kernel_shape", 3, k3);
  expect_err(g, "node 'pool' (MaxPool): attribute kernel_shape has 3 values, expected 2 (2-D "
                "pooling)");
  set_ints(g, node, "kernel_shape", 2, 2);
  set_ints(g, node, "strides", 0, 1);
  expect_err(g, "node 'pool' (MaxPool): attribute strides value 0 is out of range (expected 1 to "
                "2147483647)");
  set_ints(g, node, "strides", 1, 1);
  set_pads(g, node, 2, 0, 0, 0);
  expect_err(g, "node 'pool' (MaxPool): window 0 on axis H covers only padding (input 4, kernel "
                "2, stride 1, dilation 1, pads 2+0)");
  set_pads(g, node, 0, 0, -1, 0);
  expect_err(g, "node 'pool' (MaxPool): attribute pads value -1 is out of range (expected 0 to "
                "2147483647)");
  set_pads(g, node, 1, 0, 0, 0);
  cz_node_set_string(g, node, "auto_pad", "SAME_UPPER");
  expect_err(g, "node 'pool' (MaxPool): attribute pads cannot be combined with auto_pad "
                "SAME_UPPER");
  cz_node_set_string(g, node, "auto_pad", "SAME");
  expect_err(g, "node 'pool' (MaxPool): attribute auto_pad 'SAME' is not one of NOTSET, VALID, "
                "SAME_UPPER, SAME_LOWER");
  cz_node_set_string(g, node, "auto_pad", "NOTSET");
  cz_node_set_int(g, node, "storage_order", 1);
  expect_err(g, "node 'pool' (MaxPool): attribute storage_order 1 is not supported (only 0, "
                "row-major)");
  cz_node_set_int(g, node, "storage_order", 0);
  cz_node_set_int(g, node, "ceil_mode", 2);
  expect_err(g, "node 'pool' (MaxPool): attribute ceil_mode is 2, expected 0 or 1");
  cz_node_set_int(g, node, "ceil_mode", 0);
  cz_node_set_int(g, node, "count_include_pad", 1);
  expect_err(g, "node 'pool' (MaxPool): unsupported attribute 'count_include_pad' (supported: "
                "auto_pad, ceil_mode, dilations, kernel_shape, pads, storage_order, strides)");
  cz_graph_free(g);

  /* Two outputs: MaxPool's Indices. */
  g = cz_graph_new("mp2");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(1, 2, 4, 4));
  node = cz_graph_node(g, "MaxPool", "pool", 1, &x, 2, NULL);
  set_ints(g, node, "kernel_shape", 2, 2);
  expect_err(g, "node 'pool' (MaxPool): the Indices output is not supported (give MaxPool one "
                "output)");
  cz_graph_free(g);

  g = unary("AveragePool", cz_shape2(4, 4), &node);
  set_ints(g, node, "kernel_shape", 2, 2);
  expect_err(g, "node 'pool' (AveragePool): input 0 'x' has shape [4,4], expected rank 4");
  g->values[0].shape = cz_shape4(1, 1, 4, 4);
  cz_node_set_int(g, node, "count_include_pad", 3);
  expect_err(g, "node 'pool' (AveragePool): attribute count_include_pad is 3, expected 0 or 1");
  cz_node_set_int(g, node, "count_include_pad", 0);
  set_ints(g, node, "dilations", 2, 2);
  expect_err(g, "node 'pool' (AveragePool): unsupported attribute 'dilations' (supported: "
                "auto_pad, ceil_mode, count_include_pad, kernel_shape, pads, strides)");
  cz_graph_free(g);

  g = unary("GlobalAveragePool", cz_shape2(4, 4), &node);
  expect_err(g, "node 'pool' (GlobalAveragePool): input 0 'x' has shape [4,4], expected rank 3 "
                "or more ([N,C,spatial...])");
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bn_fd_train),
      cmocka_unit_test(test_bn_fd_eval),
      cmocka_unit_test(test_bn_fast_vs_reference),
      cmocka_unit_test(test_bn_running_stats),
      cmocka_unit_test(test_bn_large_offset),
      cmocka_unit_test(test_bn_eval_keeps_stats),
      cmocka_unit_test(test_bn_errors),
      cmocka_unit_test(test_pool_fd),
      cmocka_unit_test(test_pool_torch_values),
      cmocka_unit_test(test_maxpool_ties_and_nan),
      cmocka_unit_test(test_pool_fast_vs_reference),
      cmocka_unit_test(test_pool_rowmajor_input),
      cmocka_unit_test(test_gap),
      cmocka_unit_test(test_fanout_accumulates),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_macc),
      cmocka_unit_test(test_pool_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
