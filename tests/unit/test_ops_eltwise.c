/* Pointwise activations and broadcasting Add/Sub/Mul/Div: finite
 * differences, PyTorch's gradients at the kinks, every broadcast layout
 * combination, fast kernels against the reference ones (and against
 * themselves on another thread count), and the shape errors. */
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

/* Bounds. Finite differences perturb one float32 element by h = 1e-2: the
 * rounding of that element's output adds ~1e-5 absolute to the estimate
 * and the O(h^2) truncation stays below ~4e-4 relative (Div with |b| >=
 * 0.5): bound 1e-3 relative to max(|fd|, |analytic|, 1e-2). Inputs stay 0.05 (> 2h) away from kinks. Fast and reference
 * kernels compute pointwise results identically (bound 0); broadcast
 * gradient reductions sum in another order (reference: one running float
 * sum; fast: chunk partials), each off by ~sqrt(n) * 6e-8 * sum|terms| for
 * n up to 2442 terms of size up to ~10 (Div): |diff| / max(|a|, |b|, 1)
 * measured up to 1.2e-5, bound 1e-4. */
#define FD_H 1e-2
#define FD_BOUND 1e-3
#define FD_FLOOR 1e-2
#define KINK_MARGIN 0.05f
#define FAST_BOUND 1e-4
#define FAST_FLOOR 1.0

/* Moves x off kink k by at least `margin` (finite differences need
 * |x - k| > 2h). */
static void off_kink(float *x, int64_t n, float k, float margin) {
  for (int64_t i = 0; i < n; i++)
    if (fabsf(x[i] - k) < margin) x[i] = x[i] >= k ? k + margin : k - margin;
}

/* max_elems: elements checked per gradient tensor (a random sample when it
 * has more; keeps the valgrind run short). */
static double check_fd_n(cz_graph *g, ct_inputs *in, bool training, const char *what,
                         int max_elems) {
  double e = ct_check_fd(g, in, training, FD_H, max_elems, 5, FD_FLOOR, true);
  printf("%-34s finite differences max rel err %.3g (bound %.0e)\n", what, e, FD_BOUND);
  return e;
}

static double check_fd(cz_graph *g, ct_inputs *in, bool training, const char *what) {
  return check_fd_n(g, in, training, what, 200);
}

static double fast_vs_ref(cz_graph *g, ct_inputs *in, bool training) {
  ct_run a = ct_run_graph(g, in, training, true, true, 9);
  ct_run b = ct_run_graph(g, in, training, true, false, 9);
  double e = ct_compare_runs(&a, &b, FAST_FLOOR);
  ct_run_free(&a);
  ct_run_free(&b);
  return e;
}

/* Fast against reference, and the fast run against the fast kernels on
 * one thread (*threads: must agree bit for bit). */
static double fast_ref_threads(cz_graph *g, ct_inputs *in, bool training, double *threads) {
  ct_run a = ct_run_graph(g, in, training, true, true, 9);
  ct_run b = ct_run_graph(g, in, training, true, false, 9);
  int keep = omp_get_max_threads();
  omp_set_num_threads(1);
  ct_run c = ct_run_graph(g, in, training, true, false, 9);
  omp_set_num_threads(keep);
  double e = ct_compare_runs(&a, &b, FAST_FLOOR);
  *threads = ct_compare_runs(&b, &c, 1e-30);
  ct_run_free(&a);
  ct_run_free(&b);
  ct_run_free(&c);
  return e;
}

typedef struct {
  const char *op;
  const char *attr_f[2]; /* float attributes (NULL: none) */
  float val_f[2];
  const char *attr_s;    /* a string attribute */
  const char *val_s;
  float kinks[2];
  int n_kinks;
} act_case;

static const act_case ACTS[] = {
    {"Clip", {"min", "max"}, {0.0f, 6.0f}, NULL, NULL, {0.0f, 6.0f}, 2},
    {"HardSwish", {NULL}, {0}, NULL, NULL, {-3.0f, 3.0f}, 2},
    {"HardSigmoid", {"alpha", "beta"}, {1.0f / 6.0f, 0.5f}, NULL, NULL, {-3.0f, 3.0f}, 2},
    {"HardSigmoid", {NULL}, {0}, NULL, NULL, {-2.5f, 2.5f}, 2}, /* ONNX defaults 0.2, 0.5 */
    {"Sigmoid", {NULL}, {0}, NULL, NULL, {0}, 0},
    {"Silu", {NULL}, {0}, NULL, NULL, {0}, 0},
    {"Tanh", {NULL}, {0}, NULL, NULL, {0}, 0},
    {"Gelu", {NULL}, {0}, NULL, NULL, {0}, 0},
    {"Gelu", {NULL}, {0}, "approximate", "tanh", {0}, 0},
    {"LeakyRelu", {NULL}, {0}, NULL, NULL, {0.0f}, 1},
    {"LeakyRelu", {"alpha"}, {0.2f}, NULL, NULL, {0.0f}, 1},
};

static cz_graph *act_graph(const act_case *c, cz_shape s) {
  cz_graph *g = cz_graph_new("act");
  int x = cz_graph_input(g, "x", CZ_F32, s);
  g->values[x].requires_grad = true;
  int n = cz_graph_node(g, c->op, "act", 1, &x, 1, NULL);
  for (int i = 0; i < 2; i++)
    if (c->attr_f[i]) cz_node_set_float(g, n, c->attr_f[i], c->val_f[i]);
  if (c->attr_s) cz_node_set_string(g, n, c->attr_s, c->val_s);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

static void test_activations_fd_and_fast(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof ACTS / sizeof *ACTS; i++) {
    const act_case *c = &ACTS[i];
    char what[64];
    snprintf(what, sizeof what, "%s%s%s", c->op, c->val_s ? " " : "", c->val_s ? c->val_s : "");
    /* Small NHWC input over the interesting range (kinks at 0, +-3, 6). */
    cz_graph *g = act_graph(c, cz_shape4(2, 3, 4, 5));
    ct_inputs in = ct_inputs_random(g, 11 + i, 3.0f);
    for (int k = 0; k < c->n_kinks; k++) off_kink(in.data[0], 120, c->kinks[k], KINK_MARGIN);
    assert_true(check_fd(g, &in, false, what) < FD_BOUND);
    ct_inputs_free(&in);
    cz_graph_free(g);
    /* Large enough for the threaded path. */
    g = act_graph(c, cz_shape4(2, 16, 33, 37));
    in = ct_inputs_random(g, 21 + i, 3.0f);
    double e = fast_vs_ref(g, &in, false);
    printf("%-34s fast vs reference max rel diff %.3g (bound 0)\n", what, e);
    assert_true(e == 0.0);
    ct_inputs_free(&in);
    cz_graph_free(g);
  }
}

/* Forward and backward once with upstream gradient 1 on a rank-1 input:
 * y and dy/dx per element. */
static void run_pointwise(cz_graph *g, const float *x, int n, float *y, float *dx) {
  cz_exec_opts o = {.backward = true};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &o, &ex));
  cz_exec_set_input(ex, 0, x, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor t = cz_exec_value(ex, g->outputs[0]);
  memcpy(y, t.data, (size_t)n * sizeof *y);
  cz_exec_backward(ex, NULL);
  cz_tensor gx = cz_exec_grad(ex, g->inputs[0]);
  memcpy(dx, gx.data, (size_t)n * sizeof *dx);
  cz_exec_free(ex);
}

/* PyTorch's gradients at the kinks (checked with torch 1.13): relu6 and
 * hardtanh 0 at both bounds; hardswish -0.5 at -3 and 1.5 at 3;
 * hardsigmoid 0 at -3 and 3; leaky_relu alpha at 0. */
static void test_activation_kinks(void **state) {
  (void)state;
  static const struct {
    act_case c;
    float x[4], y[4], dy[4];
  } K[] = {
      {{"Clip", {"min", "max"}, {0.0f, 6.0f}, NULL, NULL, {0}, 0},
       {0.0f, 6.0f, 3.0f, 7.0f}, {0.0f, 6.0f, 3.0f, 6.0f}, {0.0f, 0.0f, 1.0f, 0.0f}},
      {{"HardSwish", {NULL}, {0}, NULL, NULL, {0}, 0},
       {-3.0f, 3.0f, 0.0f, -4.0f}, {0.0f, 3.0f, 0.0f, 0.0f}, {-0.5f, 1.5f, 0.5f, 0.0f}},
      {{"HardSigmoid", {"alpha", "beta"}, {1.0f / 6.0f, 0.5f}, NULL, NULL, {0}, 0},
       {-3.0f, 3.0f, 0.0f, 4.0f}, {0.0f, 1.0f, 0.5f, 1.0f}, {0.0f, 0.0f, 1.0f / 6.0f, 0.0f}},
      {{"LeakyRelu", {NULL}, {0}, NULL, NULL, {0}, 0},
       {0.0f, -2.0f, 2.0f, -0.0f}, {0.0f, -0.02f, 2.0f, 0.0f}, {0.01f, 0.01f, 1.0f, 0.01f}},
  };
  for (size_t i = 0; i < sizeof K / sizeof *K; i++) {
    cz_graph *g = act_graph(&K[i].c, cz_shape1(4));
    float y[4], dy[4];
    run_pointwise(g, K[i].x, 4, y, dy);
    for (int j = 0; j < 4; j++) {
      assert_float_equal(y[j], K[i].y[j], 1e-6);
      assert_float_equal(dy[j], K[i].dy[j], 1e-6);
    }
    cz_graph_free(g);
  }
}

/* Values from PyTorch 1.13 (F.gelu, float64), and Sigmoid/Tanh/Silu from
 * libm identities, far out in the tails too (no overflow, no NaN). */
static void test_activation_values(void **state) {
  (void)state;
  const float x[6] = {-2.5f, -0.7f, 0.0f, 0.3f, 1.0f, 2.2f};
  const double erf_ref[6] = {-0.015524163314440398, -0.1693745565561511, 0.0,
                             0.1853734266566858,    0.841344746068543,   2.1694124154703034};
  const double tanh_ref[6] = {-0.015084266089998577, -0.16942986529488321, 0.0,
                              0.18537092354275922,   0.8411919906082768,   2.1696785270380117};
  for (int mode = 0; mode < 2; mode++) {
    act_case c = {"Gelu", {NULL}, {0}, "approximate", mode ? "tanh" : "none", {0}, 0};
    cz_graph *g = act_graph(&c, cz_shape1(6));
    float y[6], dy[6];
    run_pointwise(g, x, 6, y, dy);
    for (int j = 0; j < 6; j++) assert_float_equal(y[j], mode ? tanh_ref[j] : erf_ref[j], 2e-7);
    cz_graph_free(g);
  }
  const float big[4] = {-100.0f, -20.0f, 20.0f, 100.0f};
  const char *ops[] = {"Sigmoid", "Tanh", "Silu"};
  for (int o = 0; o < 3; o++) {
    act_case c = {ops[o], {NULL}, {0}, NULL, NULL, {0}, 0};
    cz_graph *g = act_graph(&c, cz_shape1(4));
    float y[4], dy[4];
    run_pointwise(g, big, 4, y, dy);
    for (int j = 0; j < 4; j++) {
      double want = o == 0 ? 1.0 / (1.0 + exp(-(double)big[j]))
                    : o == 1 ? tanh((double)big[j])
                             : (double)big[j] / (1.0 + exp(-(double)big[j]));
      assert_true(isfinite(y[j]) && isfinite(dy[j]));
      assert_float_equal(y[j], want, 1e-6 * fmax(1.0, fabs(want)));
    }
    cz_graph_free(g);
  }
}

/* Clip's forms: opset-11 CONST inputs, min only, max < min (all max), and
 * an activation applied to a rank-4 parameter (ROWMAJOR in, NHWC out). */
static void test_clip_forms_and_layouts(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("clip");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape1(5));
  g->values[x].requires_grad = true;
  float lo = -1.0f, hi = 2.0f;
  int in[3] = {x, cz_graph_const(g, "lo", CZ_F32, (cz_shape){.rank = 0}, &lo),
               cz_graph_const(g, "hi", CZ_F32, cz_shape1(1), &hi)};
  int n = cz_graph_node(g, "Clip", "clip", 3, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  const float xv[5] = {-3.0f, -1.0f, 0.5f, 2.0f, 9.0f};
  float y[5], dy[5];
  run_pointwise(g, xv, 5, y, dy);
  const float wy[5] = {-1.0f, -1.0f, 0.5f, 2.0f, 2.0f}, wd[5] = {0, 0, 1, 0, 0};
  for (int j = 0; j < 5; j++) assert_true(y[j] == wy[j] && dy[j] == wd[j]);
  /* min only: a Relu; min > max: everything is max. */
  g->nodes[n].in[2] = -1;
  g->nodes[n].n_in = 2;
  run_pointwise(g, xv, 5, y, dy);
  for (int j = 0; j < 5; j++) assert_true(y[j] == fmaxf(xv[j], -1.0f));
  lo = 3.0f;
  memcpy(g->values[in[1]].data, &lo, sizeof lo);
  g->nodes[n].in[2] = in[2];
  g->nodes[n].n_in = 3;
  run_pointwise(g, xv, 5, y, dy);
  for (int j = 0; j < 5; j++) assert_true(y[j] == 2.0f && dy[j] == 0.0f);
  /* A non-constant bound is an error naming it. */
  int lo2 = cz_graph_input(g, "lo_in", CZ_F32, cz_shape1(1));
  g->nodes[n].in[1] = lo2;
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), "node 'clip' (Clip): input 1 'lo_in' (min) must be a constant");
  cz_err_free(e);
  g->nodes[n].in[1] = in[1];
  cz_node_set_float(g, n, "min", 0.0f);
  e = cz_graph_infer(g);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), "node 'clip' (Clip): min given both as attribute and as input 1");
  cz_err_free(e);
  cz_graph_free(g);

  /* Sigmoid of a rank-4 parameter: the output is an NHWC activation. */
  g = cz_graph_new("param_act");
  int p = cz_graph_param(g, "p", cz_shape4(2, 3, 2, 4), NULL);
  n = cz_graph_node(g, "Sigmoid", "sig", 1, &p, 1, NULL);
  int yv = cz_node_out(g, n, 0);
  cz_graph_mark_output(g, yv);
  ct_params_random(g, 3, 2.0f);
  ct_inputs none = {0};
  ct_run r = ct_run_graph(g, &none, false, false, false, 1);
  const float *pd = g->values[p].data;
  for (int j = 0; j < 48; j++) assert_float_equal(r.out[0][j], 1.0 / (1.0 + exp(-pd[j])), 1e-6);
  ct_run_free(&r);
  assert_int_equal(g->values[yv].layout, CZ_NHWC);
  assert_true(check_fd(g, &none, false, "Sigmoid (ROWMAJOR param -> NHWC)") < FD_BOUND);
  cz_graph_free(g);
}

/* ---- Binary ops ---- */

typedef enum { K_INPUT, K_PARAM, K_CONST } vkind;
typedef struct {
  const char *name;
  vkind ka, kb;
  cz_shape sa, sb;
} bcase;

static int make_operand(cz_graph *g, const char *name, vkind k, cz_shape s) {
  if (k == K_PARAM) return cz_graph_param(g, name, s, NULL);
  if (k == K_CONST) return cz_graph_const(g, name, CZ_F32, s, NULL);
  int v = cz_graph_input(g, name, CZ_F32, s);
  g->values[v].requires_grad = true;
  return v;
}

static cz_graph *binary_graph(const char *op, const bcase *c) {
  cz_graph *g = cz_graph_new("bin");
  int in[2] = {make_operand(g, "a", c->ka, c->sa), make_operand(g, "b", c->kb, c->sb)};
  int n = cz_graph_node(g, op, "bin", 2, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

/* Random data everywhere; divisors kept away from 0 (|b| >= 0.5). */
static ct_inputs binary_data(cz_graph *g, uint64_t seed, bool div) {
  ct_params_random(g, seed, 1.0f);
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].kind == CZ_V_CONST) {
      cz_rng r = cz_rng_make(seed, 77 + (uint64_t)v);
      float *p = g->values[v].data;
      for (int64_t k = 0; k < cz_shape_numel(&g->values[v].shape); k++)
        p[k] = (float)cz_rng_normal(&r);
    }
  ct_inputs in = ct_inputs_random(g, seed, 1.0f);
  if (div) {
    int b = g->nodes[0].in[1];
    float *p = g->values[b].data;
    for (int i = 0; i < in.n; i++)
      if (g->inputs[i] == b) p = in.data[i];
    for (int64_t k = 0; k < cz_shape_numel(&g->values[b].shape); k++)
      p[k] = p[k] >= 0 ? p[k] + 0.5f : p[k] - 0.5f;
  }
  return in;
}

static const bcase SMALL[] = {
    {"same shape NHWC", K_INPUT, K_INPUT, {4, {2, 3, 4, 5}}, {4, {2, 3, 4, 5}}},
    {"NHWC x [N,C,1,1] NHWC (SE)", K_INPUT, K_INPUT, {4, {2, 3, 4, 5}}, {4, {2, 3, 1, 1}}},
    {"[N,C,1,1] (SE) x NHWC", K_INPUT, K_INPUT, {4, {2, 3, 1, 1}}, {4, {2, 3, 4, 5}}},
    {"NHWC x [1,C,1,1] param", K_INPUT, K_PARAM, {4, {2, 3, 4, 5}}, {4, {1, 3, 1, 1}}},
    {"NHWC x [C,1,1] param", K_INPUT, K_PARAM, {4, {2, 3, 4, 5}}, {3, {3, 1, 1}}},
    {"NHWC x [C,1,1] const", K_INPUT, K_CONST, {4, {2, 3, 4, 5}}, {3, {3, 1, 1}}},
    {"NHWC x scalar param", K_INPUT, K_PARAM, {4, {2, 3, 4, 5}}, {0, {0}}},
    {"scalar param x NHWC", K_PARAM, K_INPUT, {0, {0}}, {4, {2, 3, 4, 5}}},
    {"NHWC x [1] param", K_INPUT, K_PARAM, {4, {2, 3, 4, 5}}, {1, {1}}},
    {"NHWC x ROWMAJOR param same shape", K_INPUT, K_PARAM, {4, {2, 3, 4, 5}}, {4, {2, 3, 4, 5}}},
    {"NHWC x [1,1,H,W] param", K_INPUT, K_PARAM, {4, {2, 3, 4, 5}}, {4, {1, 1, 4, 5}}},
    {"[N,C] x [C]", K_INPUT, K_PARAM, {2, {6, 7}}, {1, {7}}},
    {"[N,1] x [1,C] (both broadcast)", K_INPUT, K_PARAM, {2, {6, 1}}, {2, {1, 7}}},
    {"[C,1,1] param x [1,C,H,W]->NHWC", K_PARAM, K_INPUT, {3, {3, 1, 1}}, {4, {1, 3, 4, 5}}},
};
static const bcase LARGE[] = {
    {"same shape NHWC", K_INPUT, K_INPUT, {4, {2, 16, 33, 37}}, {4, {2, 16, 33, 37}}},
    {"NHWC x [N,C,1,1] NHWC (SE)", K_INPUT, K_INPUT, {4, {2, 16, 33, 37}}, {4, {2, 16, 1, 1}}},
    {"NHWC x [1,C,1,1] param", K_INPUT, K_PARAM, {4, {2, 16, 33, 37}}, {4, {1, 16, 1, 1}}},
    {"NHWC x [C,1,1] param", K_INPUT, K_PARAM, {4, {2, 16, 33, 37}}, {3, {16, 1, 1}}},
    {"NHWC x scalar param", K_INPUT, K_PARAM, {4, {2, 16, 33, 37}}, {0, {0}}},
    {"NHWC x ROWMAJOR param same shape", K_INPUT, K_PARAM, {4, {2, 16, 33, 37}},
     {4, {2, 16, 33, 37}}},
    {"NHWC x [1,1,H,W] param", K_INPUT, K_PARAM, {4, {2, 16, 33, 37}}, {4, {1, 1, 33, 37}}},
    {"[N,C] x [C]", K_INPUT, K_PARAM, {2, {300, 130}}, {1, {130}}},
    {"[N,1] x [1,C] (both broadcast)", K_INPUT, K_PARAM, {2, {300, 1}}, {2, {1, 130}}},
};

static const char *const BIN_OPS[] = {"Add", "Sub", "Mul", "Div"};

static void test_binary_fd(void **state) {
  (void)state;
  for (int o = 0; o < 4; o++)
    for (size_t i = 0; i < sizeof SMALL / sizeof *SMALL; i++) {
      cz_graph *g = binary_graph(BIN_OPS[o], &SMALL[i]);
      ct_inputs in = binary_data(g, 31 + i, o == 3);
      char what[80];
      snprintf(what, sizeof what, "%s %s", BIN_OPS[o], SMALL[i].name);
      assert_true(check_fd_n(g, &in, false, what, 40) < FD_BOUND);
      double e = fast_vs_ref(g, &in, false);
      assert_true(e < FAST_BOUND);
      ct_inputs_free(&in);
      cz_graph_free(g);
    }
}

/* Every large layout for Mul; Add, Sub and Div share its walk and
 * reductions and differ only in the per-element formula, so they take the
 * structurally distinct ones (no broadcast, SE, per-channel, both
 * broadcast) to keep the valgrind run short. */
static void test_binary_fast_and_threads(void **state) {
  (void)state;
  for (int o = 0; o < 4; o++)
    for (size_t i = 0; i < sizeof LARGE / sizeof *LARGE; i++) {
      if (o != 2 && i != 0 && i != 1 && i != 3 && i != 8) continue;
      cz_graph *g = binary_graph(BIN_OPS[o], &LARGE[i]);
      ct_inputs in = binary_data(g, 41 + i, o == 3);
      double t, e = fast_ref_threads(g, &in, false, &t);
      printf("%-3s %-34s fast vs reference %.3g (bound %.0e), %d vs 1 threads %.3g (bound 0)\n",
             BIN_OPS[o], LARGE[i].name, e, FAST_BOUND, omp_get_max_threads(), t);
      assert_true(e < FAST_BOUND);
      assert_true(t == 0.0);
      ct_inputs_free(&in);
      cz_graph_free(g);
    }
}

/* Mul(x, x): both slots share one gradient buffer; dx = 2 x gy. Add(x, x)
 * likewise 2 gy. */
static void test_binary_same_input_twice(void **state) {
  (void)state;
  for (int o = 0; o < 3; o += 2) {
    cz_graph *g = cz_graph_new("sq");
    int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(1, 2, 3, 3));
    g->values[x].requires_grad = true;
    int in[2] = {x, x};
    int n = cz_graph_node(g, BIN_OPS[o], "sq", 2, in, 1, NULL);
    cz_graph_mark_output(g, cz_node_out(g, n, 0));
    ct_inputs d = ct_inputs_random(g, 5, 1.0f);
    for (int ref = 0; ref < 2; ref++) {
      cz_exec_opts opt = {.backward = true, .reference = ref};
      cz_exec *ex = NULL;
      assert_null(cz_exec_new(g, &opt, &ex));
      cz_exec_set_input(ex, 0, d.data[0], CZ_ROWMAJOR);
      cz_exec_forward(ex);
      float ones[18];
      for (int i = 0; i < 18; i++) ones[i] = 1.0f;
      const float *seeds[1] = {ones};
      cz_exec_backward(ex, seeds);
      cz_tensor gx = cz_exec_grad(ex, x);
      float rm[18];
      cz_relayout(gx.data, gx.layout, rm, CZ_ROWMAJOR, &gx.shape, sizeof(float));
      const float *xv = d.data[0];
      for (int i = 0; i < 18; i++) assert_true(rm[i] == (o == 0 ? 2.0f : 2.0f * xv[i]));
      cz_exec_free(ex);
    }
    assert_true(check_fd(g, &d, false, o ? "Mul(x, x)" : "Add(x, x)") < FD_BOUND);
    ct_inputs_free(&d);
    cz_graph_free(g);
  }
}

/* Output shape and values of a broadcast by hand: [2,1] - [3] = [2,3]. */
static void test_binary_values(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("v");
  int a = cz_graph_input(g, "a", CZ_F32, cz_shape2(2, 1));
  float bv[3] = {1.0f, 2.0f, 4.0f};
  int b = cz_graph_const(g, "b", CZ_F32, cz_shape1(3), bv);
  int in[2] = {a, b};
  int n = cz_graph_node(g, "Sub", "sub", 2, in, 1, NULL);
  int d = cz_graph_node(g, "Div", "div", 2, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  cz_graph_mark_output(g, cz_node_out(g, d, 0));
  float av[2] = {10.0f, 20.0f};
  ct_inputs data = {.n = 1, .data = {av}};
  ct_run r = ct_run_graph(g, &data, false, false, false, 1);
  const float want_s[6] = {9, 8, 6, 19, 18, 16}, want_d[6] = {10, 5, 2.5f, 20, 10, 5};
  assert_int_equal(r.out_n[0], 6);
  for (int i = 0; i < 6; i++) assert_true(r.out[0][i] == want_s[i] && r.out[1][i] == want_d[i]);
  ct_run_free(&r);
  cz_graph_free(g);
}

static void test_binary_errors(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("bad");
  int a = cz_graph_input(g, "feat", CZ_F32, cz_shape4(2, 3, 4, 5));
  int b = cz_graph_param(g, "gamma", cz_shape2(4, 4), NULL);
  int in[2] = {a, b};
  int n = cz_graph_node(g, "Mul", "scale", 2, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  printf("error: %s\n", cz_err_msg(e));
  assert_string_equal(cz_err_msg(e),
                      "node 'scale' (Mul): cannot broadcast input 0 'feat' [2,3,4,5] with input "
                      "1 'gamma' [4,4] (axis 3: 5 vs 4)");
  cz_err_free(e);
  int l = cz_graph_input(g, "labels", CZ_I64, cz_shape1(2));
  g->nodes[n].in[1] = l;
  e = cz_graph_infer(g);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e),
                      "node 'scale' (Mul): input 1 'labels' is int64, expected float32");
  cz_err_free(e);
  cz_graph_free(g);
}

/* Every op of this family reports its MACC: one per output element. */
static void test_macc(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("macc");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 3, 4, 5));
  int s = cz_graph_input(g, "s", CZ_F32, cz_shape4(2, 3, 1, 1));
  int in[2] = {x, s};
  int m = cz_node_out(g, cz_graph_node(g, "Mul", "m", 2, in, 1, NULL), 0);
  int h = cz_node_out(g, cz_graph_node(g, "HardSwish", "h", 1, &m, 1, NULL), 0);
  cz_graph_mark_output(g, h);
  assert_null(cz_graph_infer(g));
  assert_int_equal(cz_graph_macc(g), 240);
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_activations_fd_and_fast),
      cmocka_unit_test(test_activation_kinks),
      cmocka_unit_test(test_activation_values),
      cmocka_unit_test(test_clip_forms_and_layouts),
      cmocka_unit_test(test_binary_fd),
      cmocka_unit_test(test_binary_fast_and_threads),
      cmocka_unit_test(test_binary_same_input_twice),
      cmocka_unit_test(test_binary_values),
      cmocka_unit_test(test_binary_errors),
      cmocka_unit_test(test_macc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
