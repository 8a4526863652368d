/* Conv, Gemm and MatMul: reference backward against central finite
 * differences over the attribute combinations CNN zoos use, fast kernels
 * (every instruction-set level this CPU has) against the reference,
 * bit-identical fast results across runs and thread counts, MACC, and the
 * exact error messages for bad shapes and attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "graph/exec.h"
#include "kernels/k_conv.h"
#include "kernels/k_conv_direct.h"
#include "kernels/k_simd.h"
#include "op_check.h"
#include "ops/op.h"

/* Bounds. The ops are linear in each input, so a wide finite-difference
 * step is exact up to rounding; fast kernels sum in float, the reference
 * in double. */
#define FD_STEP 2.0
#define FD_FLOOR 0.1
#define FD_BOUND 1e-4
#define FAST_BOUND 1e-4 /* |fast-ref| / max(|ref|, FAST_FLOOR * max|ref| of the tensor) */
#define FAST_FLOOR 1e-2

/* ---- shared checks ---- */

static double tensor_err(const float *ref, const float *fast, int64_t n) {
  double mx = 0, worst = 0;
  for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(ref[i]));
  double floor = fmax(FAST_FLOOR * mx, 1e-30);
  for (int64_t i = 0; i < n; i++)
    worst = fmax(worst, fabs((double)ref[i] - fast[i]) / fmax(fabs(ref[i]), floor));
  return worst;
}

static double runs_err(const ct_run *ref, const ct_run *fast) {
  assert_int_equal(ref->n_out, fast->n_out);
  assert_int_equal(ref->n_grad, fast->n_grad);
  double worst = 0;
  for (int i = 0; i < ref->n_out; i++)
    worst = fmax(worst, tensor_err(ref->out[i], fast->out[i], ref->out_n[i]));
  for (int i = 0; i < ref->n_grad; i++)
    worst = fmax(worst, tensor_err(ref->grad[i], fast->grad[i], ref->grad_n[i]));
  return worst;
}

static bool runs_identical(const ct_run *a, const ct_run *b) {
  if (a->n_out != b->n_out || a->n_grad != b->n_grad) return false;
  for (int i = 0; i < a->n_out; i++)
    if (memcmp(a->out[i], b->out[i], (size_t)a->out_n[i] * sizeof(float))) return false;
  for (int i = 0; i < a->n_grad; i++)
    if (memcmp(a->grad[i], b->grad[i], (size_t)a->grad_n[i] * sizeof(float))) return false;
  return true;
}

static const cz_isa isas[] = {CZ_ISA_AVX512, CZ_ISA_AVX2, CZ_ISA_GENERIC};

/* Fast vs reference at every instruction-set level the CPU has, and, at
 * the best level, the fast results bit-identical across two runs and with
 * 1 and 3 threads. Returns the worst error. */
static double check_fast(cz_graph *g, const ct_inputs *in, const char *label) {
  ct_run ref = ct_run_graph(g, in, false, true, true, 4);
  double worst = 0;
  bool first = true;
  int threads = omp_get_max_threads();
  for (size_t k = 0; k < sizeof isas / sizeof *isas; k++) {
    cz_k_isa_cap(isas[k]);
    if (cz_k_isa() != isas[k]) continue; /* not on this CPU */
    ct_run a = ct_run_graph(g, in, false, true, false, 4);
    double e = runs_err(&ref, &a);
    printf("  %-34s %-7s fast vs reference %.2g (bound %g)\n", label, cz_k_isa_name(isas[k]), e,
           FAST_BOUND);
    worst = fmax(worst, e);
    if (first) {
      ct_run b = ct_run_graph(g, in, false, true, false, 4);
      omp_set_num_threads(1);
      ct_run c = ct_run_graph(g, in, false, true, false, 4);
      omp_set_num_threads(3);
      ct_run d = ct_run_graph(g, in, false, true, false, 4);
      omp_set_num_threads(threads);
      if (!runs_identical(&a, &b) || !runs_identical(&a, &c) || !runs_identical(&a, &d))
        fail_msg("%s (%s): fast results differ between runs or thread counts", label,
                 cz_k_isa_name(isas[k]));
      ct_run_free(&b);
      ct_run_free(&c);
      ct_run_free(&d);
      first = false;
    }
    ct_run_free(&a);
  }
  cz_k_isa_cap(CZ_ISA_AVX512);
  ct_run_free(&ref);
  assert_true(worst < FAST_BOUND);
  return worst;
}

/* Finite differences (fd_elems per tensor; 0: skip) and check_fast. */
static void check_graph(cz_graph *g, const char *label, int fd_elems) {
  assert_null(cz_graph_infer(g));
  ct_inputs in = ct_inputs_random(g, 11, 1.0f);
  ct_params_random(g, 12, 0.5f);
  if (fd_elems > 0) {
    double fd = ct_check_fd(g, &in, false, FD_STEP, fd_elems, 13, FD_FLOOR, false);
    printf("  %-34s finite differences %.2g (bound %g)\n", label, fd, FD_BOUND);
    if (!(fd < FD_BOUND)) fail_msg("%s: finite differences %.3g", label, fd);
  }
  check_fast(g, &in, label);
  ct_inputs_free(&in);
}

/* ---- Conv ---- */

typedef struct {
  const char *label;
  int64_t N, C, H, W, M, kh, kw;
  int64_t sh, sw, dh, dw;
  int64_t pads[4];
  int64_t group;
  const char *auto_pad; /* NULL: attribute absent */
  bool bias;
  int fd; /* finite-difference elements per tensor (0: fast vs reference only) */
  cz_k_conv_path path;
} conv_case;

static cz_graph *conv_graph(const conv_case *c, int *node) {
  cz_graph *g = cz_graph_new("conv");
  int in[3];
  in[0] = cz_graph_input(g, "x", CZ_F32, cz_shape4(c->N, c->C, c->H, c->W));
  g->values[in[0]].requires_grad = true;
  in[1] = cz_graph_param(g, "w", cz_shape4(c->M, c->C / c->group, c->kh, c->kw), NULL);
  if (c->bias) in[2] = cz_graph_param(g, "b", cz_shape1(c->M), NULL);
  int n = cz_graph_node(g, "Conv", "conv", c->bias ? 3 : 2, in, 1, NULL);
  int64_t st[2] = {c->sh, c->sw}, dl[2] = {c->dh, c->dw};
  cz_node_set_ints(g, n, "strides", 2, st);
  cz_node_set_ints(g, n, "dilations", 2, dl);
  cz_node_set_int(g, n, "group", c->group);
  int64_t ks[2] = {c->kh, c->kw};
  cz_node_set_ints(g, n, "kernel_shape", 2, ks);
  if (c->auto_pad)
    cz_node_set_string(g, n, "auto_pad", c->auto_pad);
  else
    cz_node_set_ints(g, n, "pads", 4, c->pads);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  if (node) *node = n;
  return g;
}

static const conv_case conv_cases[] = {
    /* label                          N  C  H  W  M kh kw sh sw dh dw pads        g  auto  bias fd */
    {"1x1 + bias (pointwise GEMM)", 2, 8, 5, 6, 12, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, NULL, true, 24, CZ_K_CONV_POINTWISE},
    {"1x1 group 2 (ShuffleNet)", 2, 8, 5, 6, 12, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 2, NULL, false, 24, CZ_K_CONV_POINTWISE},
    {"1x1 stride 2", 2, 6, 7, 7, 5, 1, 1, 2, 2, 1, 1, {0, 0, 0, 0}, 1, NULL, true, 24, CZ_K_CONV_IM2COL},
    {"3x3 s1 pad 1 + bias", 2, 4, 7, 6, 5, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 1, NULL, true, 24, CZ_K_CONV_IM2COL},
    {"3x3 s2 pad 1 (stem)", 2, 3, 9, 8, 6, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 1, NULL, false, 24, CZ_K_CONV_IM2COL},
    {"5x5 pad 2", 1, 3, 8, 8, 4, 5, 5, 1, 1, 1, 1, {2, 2, 2, 2}, 1, NULL, true, 24, CZ_K_CONV_IM2COL},
    {"3x3 s2 pads (0,0,1,1) (TF SAME)", 2, 4, 8, 8, 4, 3, 3, 2, 2, 1, 1, {0, 0, 1, 1}, 1, NULL, true, 24, CZ_K_CONV_IM2COL},
    {"3x3 dilation 2 pad 2", 1, 3, 9, 9, 4, 3, 3, 1, 1, 2, 2, {2, 2, 2, 2}, 1, NULL, false, 24, CZ_K_CONV_IM2COL},
    {"1x3 / 3x1 mixed stride", 2, 4, 7, 9, 3, 3, 1, 2, 1, 1, 1, {1, 0, 1, 0}, 1, NULL, true, 24, CZ_K_CONV_IM2COL},
    {"3x3 group 2 (grouped)", 2, 6, 6, 6, 4, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 2, NULL, true, 24, CZ_K_CONV_IM2COL},
    {"3x3 group 3, 2 out per group", 1, 6, 5, 5, 6, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 3, NULL, false, 24, CZ_K_CONV_IM2COL},
    {"depthwise 3x3 s1 + bias", 2, 10, 6, 7, 10, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 10, NULL, true, 24, CZ_K_CONV_DEPTHWISE},
    {"depthwise 3x3 s2", 2, 20, 9, 9, 20, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 20, NULL, false, 24, CZ_K_CONV_DEPTHWISE},
    {"depthwise 3x3 s2 pads (0,0,1,1)", 2, 17, 8, 8, 17, 3, 3, 2, 2, 1, 1, {0, 0, 1, 1}, 17, NULL, true, 24, CZ_K_CONV_DEPTHWISE},
    {"depthwise 5x5 s2 pad 2 (MNASNet)", 1, 24, 9, 9, 24, 5, 5, 2, 2, 1, 1, {2, 2, 2, 2}, 24, NULL, true, 24, CZ_K_CONV_DEPTHWISE},
    {"depthwise 3x3 4x4 (inner columns < 4)", 1, 24, 4, 5, 24, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 24, NULL, true, 16, CZ_K_CONV_DEPTHWISE},
    {"depthwise 3x3 s2 15 wide", 1, 16, 5, 15, 16, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 16, NULL, true, 16, CZ_K_CONV_DEPTHWISE},
    {"depthwise 3x3 dilation 2", 1, 9, 7, 7, 9, 3, 3, 1, 1, 2, 2, {2, 2, 2, 2}, 9, NULL, false, 24, CZ_K_CONV_DEPTHWISE},
    {"depthwise multiplier 2", 2, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 4, NULL, true, 24, CZ_K_CONV_IM2COL},
    {"auto_pad SAME_UPPER s2", 2, 3, 7, 8, 4, 3, 3, 2, 2, 1, 1, {0}, 1, "SAME_UPPER", true, 24, CZ_K_CONV_IM2COL},
    {"auto_pad SAME_LOWER s2", 2, 3, 8, 8, 4, 3, 3, 2, 2, 1, 1, {0}, 1, "SAME_LOWER", false, 24, CZ_K_CONV_IM2COL},
    {"auto_pad VALID", 1, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, {0}, 1, "VALID", true, 24, CZ_K_CONV_IM2COL},
    {"depthwise SAME_UPPER s2", 2, 16, 8, 8, 16, 3, 3, 2, 2, 1, 1, {0}, 16, "SAME_UPPER", false, 24, CZ_K_CONV_DEPTHWISE},
    /* Larger: many GEMM tiles, im2col tiles, K chunks and reduction slices. */
    {"1x1 P=4608 (dW in K slices)", 2, 16, 48, 48, 8, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, NULL, true, 0, CZ_K_CONV_POINTWISE},
    {"1x1 C=300 (K blocks of 256)", 1, 300, 4, 5, 70, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, NULL, true, 0, CZ_K_CONV_POINTWISE},
    {"3x3 P=2048 (direct, many rows)", 2, 4, 32, 32, 8, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 1, NULL, true, 0, CZ_K_CONV_IM2COL},
    {"3x3 C=32 (im2col columns, tiles)", 2, 32, 12, 12, 8, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 1, NULL, true, 0, CZ_K_CONV_IM2COL},
    {"3x3 s2 g2 C=64 (im2col columns)", 2, 64, 9, 9, 6, 3, 3, 2, 2, 1, 1, {0, 0, 1, 1}, 2, NULL, false, 0, CZ_K_CONV_IM2COL},
    {"5x5 s2 C=12 (im2col columns)", 1, 12, 11, 11, 5, 5, 5, 2, 2, 1, 1, {2, 2, 2, 2}, 1, NULL, true, 8, CZ_K_CONV_IM2COL},
    {"depthwise 40ch 20x20", 2, 40, 20, 20, 40, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 40, NULL, true, 0, CZ_K_CONV_DEPTHWISE},
    {"depthwise 24ch 21x21 s2", 2, 24, 21, 21, 24, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 24, NULL, false, 0, CZ_K_CONV_DEPTHWISE},
    {"depthwise 8ch 16x16 dilation 2", 1, 8, 16, 16, 8, 3, 3, 1, 1, 2, 2, {2, 2, 2, 2}, 8, NULL, true, 0, CZ_K_CONV_DEPTHWISE},
    {"depthwise pads 3 > kernel", 2, 5, 5, 6, 5, 3, 3, 1, 1, 1, 1, {3, 3, 3, 2}, 5, NULL, true, 16, CZ_K_CONV_DEPTHWISE},
    {"3x3 pads 3 > kernel", 1, 3, 5, 4, 4, 3, 3, 1, 1, 1, 1, {3, 2, 3, 3}, 1, NULL, true, 16, CZ_K_CONV_IM2COL},
    {"3x3 s2 d2, 40 wide (direct)", 2, 5, 11, 40, 7, 3, 3, 2, 2, 2, 2, {2, 2, 2, 2}, 1, NULL, true, 0, CZ_K_CONV_IM2COL},
    {"3x3 group 2, 24 wide (direct)", 2, 8, 6, 24, 20, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 2, NULL, false, 0, CZ_K_CONV_IM2COL},
};

static void test_conv_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++) {
    const conv_case *c = &conv_cases[i];
    int node;
    cz_graph *g = conv_graph(c, &node);
    assert_null(cz_graph_infer(g));
    const cz_k_conv *k = g->nodes[node].priv;
    if (cz_k_conv_path_of(k) != c->path) fail_msg("%s: unexpected kernel path", c->label);
    if (c->path == CZ_K_CONV_IM2COL && cz_k_direct_ok(k) == (strstr(c->label, "im2col") != NULL))
      fail_msg("%s: unexpected choice between direct and im2col", c->label);
    check_graph(g, c->label, c->fd);
    cz_graph_free(g);
  }
}

/* A weight that is itself an activation is stored NHWC like any rank-4
 * activation: the kernels must address it through its layout. */
static void test_conv_weight_activation(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("conv");
  int in[2];
  in[0] = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 4, 6, 5));
  in[1] = cz_graph_input(g, "w", CZ_F32, cz_shape4(6, 2, 3, 3));
  g->values[in[0]].requires_grad = g->values[in[1]].requires_grad = true;
  assert_int_equal(g->values[in[1]].layout, CZ_NHWC);
  int n = cz_graph_node(g, "Conv", "conv", 2, in, 1, NULL);
  cz_node_set_int(g, n, "group", 2);
  int64_t pads[4] = {1, 0, 1, 2};
  cz_node_set_ints(g, n, "pads", 4, pads);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  check_graph(g, "weight in NHWC layout", 24);
  cz_graph_free(g);
}

/* Output shapes and pads that auto_pad and explicit pads give (as ONNX and
 * PyTorch define them), and MACC for the current batch. */
static void test_conv_shapes_and_macc(void **state) {
  (void)state;
  struct {
    int64_t H, k, s, d;
    const char *auto_pad;
    int64_t pads[4];
    int64_t Ho, pt;
  } cases[] = {
      {8, 3, 2, 1, "SAME_UPPER", {0}, 4, 0}, {8, 3, 2, 1, "SAME_LOWER", {0}, 4, 1},
      {7, 3, 2, 1, "SAME_UPPER", {0}, 4, 1}, {7, 3, 1, 1, "VALID", {0}, 5, 0},
      {7, 3, 2, 2, NULL, {2, 2, 2, 2}, 4, 2}, {8, 3, 2, 1, NULL, {0, 0, 1, 1}, 4, 0},
      {128, 3, 2, 1, NULL, {1, 1, 1, 1}, 64, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    conv_case c = {.N = 3, .C = 2, .H = cases[i].H, .W = cases[i].H, .M = 5, .kh = cases[i].k,
                   .kw = cases[i].k, .sh = cases[i].s, .sw = cases[i].s, .dh = cases[i].d,
                   .dw = cases[i].d, .group = 1, .auto_pad = cases[i].auto_pad};
    memcpy(c.pads, cases[i].pads, sizeof c.pads);
    int node;
    cz_graph *g = conv_graph(&c, &node);
    assert_null(cz_graph_infer(g));
    const cz_value *y = &g->values[cz_node_out(g, node, 0)];
    assert_int_equal(y->shape.rank, 4);
    assert_int_equal(y->shape.d[1], 5);
    assert_int_equal(y->shape.d[2], cases[i].Ho);
    assert_int_equal(y->shape.d[3], cases[i].Ho);
    assert_int_equal(((const cz_k_conv *)g->nodes[node].priv)->pt, cases[i].pt);
    assert_int_equal(cz_graph_macc(g), 3 * 5 * cases[i].Ho * cases[i].Ho * 2 * cases[i].k * cases[i].k);
    /* MACC follows the batch. */
    assert_null(cz_graph_set_batch(g, 1));
    assert_int_equal(cz_graph_macc(g), 5 * cases[i].Ho * cases[i].Ho * 2 * cases[i].k * cases[i].k);
    cz_graph_free(g);
  }
  /* Depthwise: C/group = 1 input channel per output. */
  conv_case dw = {.N = 1, .C = 32, .H = 16, .W = 16, .M = 32, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                  .dh = 1, .dw = 1, .pads = {1, 1, 1, 1}, .group = 32};
  cz_graph *g = conv_graph(&dw, NULL);
  assert_null(cz_graph_infer(g));
  assert_int_equal(cz_graph_macc(g), 32 * 16 * 16 * 9);
  cz_graph_free(g);
}

static void expect_err(cz_graph *g, const char *msg) {
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  if (strcmp(cz_err_msg(e), msg) != 0) fail_msg("got:      %s\nexpected: %s", cz_err_msg(e), msg);
  cz_err_free(e);
  cz_graph_free(g);
}

static void test_conv_errors(void **state) {
  (void)state;
  conv_case base = {.N = 1, .C = 16, .H = 8, .W = 8, .M = 8, .kh = 3, .kw = 3, .sh = 1,
                    .sw = 1, .dh = 1, .dw = 1, .pads = {1, 1, 1, 1}, .group = 2, .bias = true};
  /* Weight channels that do not match C/group. */
  cz_graph *g = conv_graph(&base, NULL);
  g->values[cz_graph_find_value(g, "w")].shape = cz_shape4(8, 4, 3, 3);
  expect_err(g, "node 'conv' (Conv): weight 'w' has shape [8,4,3,3]: expected 8 input channels "
                "per group (C/group = 16/2) for input 'x' [1,16,8,8]");
  /* A group that does not divide C. */
  g = conv_graph(&base, NULL);
  g->values[cz_graph_find_value(g, "x")].shape = cz_shape4(1, 6, 8, 8);
  cz_node_set_int(g, 0, "group", 4);
  expect_err(g, "node 'conv' (Conv): group 4 does not divide the 6 input channels of 'x' [1,6,8,8]");
  /* A group that does not divide M. */
  g = conv_graph(&base, NULL);
  g->values[cz_graph_find_value(g, "w")].shape = cz_shape4(7, 8, 3, 3);
  g->values[cz_graph_find_value(g, "b")].shape = cz_shape1(7);
  expect_err(g, "node 'conv' (Conv): group 2 does not divide the 7 output channels of weight 'w' [7,8,3,3]");
  /* A kernel bigger than the padded input. */
  conv_case c = base;
  c.H = c.W = 4, c.kh = c.kw = 5, c.group = 1, c.C = 3;
  memset(c.pads, 0, sizeof c.pads);
  g = conv_graph(&c, NULL);
  expect_err(g, "node 'conv' (Conv): kernel 5x5 with dilations [1,1] spans 5x5, more than the "
                "padded input 4x4 of 'x' [1,3,4,4] (pads [0,0,0,0])");
  c.kh = c.kw = 3, c.dh = c.dw = 3;
  g = conv_graph(&c, NULL);
  expect_err(g, "node 'conv' (Conv): kernel 3x3 with dilations [3,3] spans 7x7, more than the "
                "padded input 4x4 of 'x' [1,3,4,4] (pads [0,0,0,0])");
  /* Wrong bias length. */
  g = conv_graph(&base, NULL);
  g->values[cz_graph_find_value(g, "b")].shape = cz_shape1(5);
  expect_err(g, "node 'conv' (Conv): bias 'b' has shape [5], expected [8] (one per output channel)");
  /* Not 2-D. */
  g = conv_graph(&base, NULL);
  int64_t d3[3] = {1, 16, 8};
  g->values[cz_graph_find_value(g, "x")].shape = cz_shape_make(3, d3);
  expect_err(g, "node 'conv' (Conv): input 0 'x' has shape [1,16,8]: only 2-D convolution is "
                "supported (rank 4, [N,C,H,W])");
  /* Attributes. */
  g = conv_graph(&base, NULL);
  int64_t k5[2] = {5, 5};
  cz_node_set_ints(g, 0, "kernel_shape", 2, k5);
  expect_err(g, "node 'conv' (Conv): attribute kernel_shape does not match weight 'w' [8,8,3,3] (kernel 3x3)");
  g = conv_graph(&base, NULL);
  int64_t s0[2] = {0, 1};
  cz_node_set_ints(g, 0, "strides", 2, s0);
  expect_err(g, "node 'conv' (Conv): attribute strides = [0,1]: values must be at least 1");
  g = conv_graph(&base, NULL);
  cz_node_set_ints(g, 0, "pads", 2, s0);
  expect_err(g, "node 'conv' (Conv): attribute pads has 2 values, expected 4 [top,left,bottom,right]");
  g = conv_graph(&base, NULL);
  cz_node_set_string(g, 0, "auto_pad", "SAME");
  expect_err(g, "node 'conv' (Conv): attribute auto_pad = 'SAME', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER");
  g = conv_graph(&base, NULL);
  cz_node_set_string(g, 0, "auto_pad", "SAME_UPPER");
  expect_err(g, "node 'conv' (Conv): attribute pads cannot be used with auto_pad = 'SAME_UPPER'");
  g = conv_graph(&base, NULL); /* zero pads beside auto_pad: accepted */
  int64_t zero[4] = {0, 0, 0, 0};
  cz_node_set_ints(g, 0, "pads", 4, zero);
  cz_node_set_string(g, 0, "auto_pad", "SAME_UPPER");
  assert_null(cz_graph_infer(g));
  cz_graph_free(g);
  g = conv_graph(&base, NULL);
  cz_node_set_int(g, 0, "groups", 2);
  expect_err(g, "node 'conv' (Conv): unsupported attribute 'groups' (supported: auto_pad, "
                "dilations, group, kernel_shape, pads, strides)");
}

/* ---- Gemm ---- */

typedef struct {
  const char *label;
  int64_t M, N, K;
  int ta, tb;
  float alpha, beta;
  int c_rank; /* 0: no C; 1: [N] (or [1] when c1); 2: [c_rows, c_cols] */
  int64_t c_rows, c_cols;
  int fd;
} gemm_case;

static cz_graph *gemm_graph(const gemm_case *c) {
  cz_graph *g = cz_graph_new("gemm");
  int in[3];
  in[0] = cz_graph_input(g, "a", CZ_F32, c->ta ? cz_shape2(c->K, c->M) : cz_shape2(c->M, c->K));
  g->values[in[0]].requires_grad = true;
  in[1] = cz_graph_param(g, "b", c->tb ? cz_shape2(c->N, c->K) : cz_shape2(c->K, c->N), NULL);
  if (c->c_rank == 1) in[2] = cz_graph_param(g, "c", cz_shape1(c->c_cols), NULL);
  if (c->c_rank == 2) in[2] = cz_graph_param(g, "c", cz_shape2(c->c_rows, c->c_cols), NULL);
  int n = cz_graph_node(g, "Gemm", "fc", c->c_rank ? 3 : 2, in, 1, NULL);
  cz_node_set_int(g, n, "transA", c->ta);
  cz_node_set_int(g, n, "transB", c->tb);
  cz_node_set_float(g, n, "alpha", c->alpha);
  cz_node_set_float(g, n, "beta", c->beta);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

static void test_gemm_cases(void **state) {
  (void)state;
  static const gemm_case cases[] = {
      {"Linear (transB, bias [N])", 5, 6, 7, 0, 1, 1.0f, 1.0f, 1, 1, 6, 40},
      {"transA, C [M,N], alpha beta", 5, 6, 7, 1, 0, 0.5f, 2.0f, 2, 5, 6, 40},
      {"transA transB, C [M,1]", 5, 6, 7, 1, 1, 1.5f, 0.5f, 2, 5, 1, 40},
      {"plain, no C", 4, 9, 3, 0, 0, 1.0f, 1.0f, 0, 0, 0, 40},
      {"C [1] scalar, beta -1", 3, 4, 5, 0, 1, 1.0f, -1.0f, 1, 1, 1, 40},
      {"C [1,N], beta 0.25", 3, 17, 5, 0, 0, 2.0f, 0.25f, 2, 1, 17, 40},
      {"Linear 37x70, K=300 (K blocks)", 37, 70, 300, 0, 1, 1.0f, 1.0f, 1, 1, 70, 4},
      {"classifier 64x10, K=1280", 64, 10, 1280, 0, 1, 1.0f, 1.0f, 1, 1, 10, 0},
      /* Few rows against transB: the GEMV path (k_gemm.c). */
      {"classifier batch 1, 1000x1280 (GEMV)", 1, 1000, 1280, 0, 1, 1.0f, 1.0f, 1, 1, 1000, 0},
      {"3 rows transB, C [M,N], alpha beta (GEMV)", 3, 70, 100, 0, 1, 0.5f, 2.0f, 2, 3, 70, 4},
      /* GEMV tails: columns past a block of 4, k past a multiple of 16
       * (one 8-block, then single k). */
      {"1 row, N=7, K=79 (GEMV tails)", 1, 7, 79, 0, 1, 1.0f, 1.0f, 1, 1, 7, 4},
      {"2 rows, N=13, K=72, alpha (GEMV tails)", 2, 13, 72, 0, 1, 0.5f, 1.0f, 1, 1, 13, 4},
      {"4 rows, N=1001, K=1283 (GEMV)", 4, 1001, 1283, 0, 1, 1.0f, 1.0f, 1, 1, 1001, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cz_graph *g = gemm_graph(&cases[i]);
    check_graph(g, cases[i].label, cases[i].fd);
    assert_int_equal(cz_graph_macc(g), cases[i].M * cases[i].N * cases[i].K);
    cz_graph_free(g);
  }
}

static void test_gemm_errors(void **state) {
  (void)state;
  gemm_case c = {"", 4, 6, 3, 0, 0, 1.0f, 1.0f, 0, 0, 0, 0};
  cz_graph *g = gemm_graph(&c);
  g->values[cz_graph_find_value(g, "b")].shape = cz_shape2(5, 6);
  expect_err(g, "node 'fc' (Gemm): inner dimensions differ: A 'a' [4,3] gives K = 3 (transA = 0), "
                "B 'b' [5,6] gives K = 5 (transB = 0)");
  c.tb = 1;
  g = gemm_graph(&c);
  g->values[cz_graph_find_value(g, "b")].shape = cz_shape2(6, 5);
  expect_err(g, "node 'fc' (Gemm): inner dimensions differ: A 'a' [4,3] gives K = 3 (transA = 0), "
                "B 'b' [6,5] gives K = 5 (transB = 1)");
  c = (gemm_case){"", 4, 6, 3, 0, 1, 1.0f, 1.0f, 1, 1, 5, 0};
  g = gemm_graph(&c);
  expect_err(g, "node 'fc' (Gemm): C 'c' has shape [5], which does not broadcast to [4,6]");
  c.c_rank = 0;
  g = gemm_graph(&c);
  int64_t d3[3] = {1, 4, 3};
  g->values[cz_graph_find_value(g, "a")].shape = cz_shape_make(3, d3);
  expect_err(g, "node 'fc' (Gemm): input 0 'a' has shape [1,4,3], expected rank 2");
}

/* ---- MatMul ---- */

static cz_graph *matmul_graph(int ra, const int64_t *da, int rb, const int64_t *db) {
  cz_graph *g = cz_graph_new("matmul");
  int in[2];
  in[0] = cz_graph_input(g, "a", CZ_F32, cz_shape_make(ra, da));
  in[1] = cz_graph_input(g, "b", CZ_F32, cz_shape_make(rb, db));
  g->values[in[0]].requires_grad = g->values[in[1]].requires_grad = true;
  int n = cz_graph_node(g, "MatMul", "mm", 2, in, 1, NULL);
  cz_graph_mark_output(g, cz_node_out(g, n, 0));
  return g;
}

static void test_matmul_cases(void **state) {
  (void)state;
  static const struct {
    const char *label;
    int ra;
    int64_t da[4];
    int rb;
    int64_t db[4];
    int ry;
    int64_t dy[4];
    int fd;
  } cases[] = {
      {"2-D", 2, {5, 7}, 2, {7, 6}, 2, {5, 6}, 30},
      {"3-D batched", 3, {3, 5, 7}, 3, {3, 7, 4}, 3, {3, 5, 4}, 30},
      {"3-D x 2-D (folded rows)", 3, {4, 5, 7}, 2, {7, 6}, 3, {4, 5, 6}, 30},
      {"4-D (NHWC) x 2-D broadcast", 4, {2, 3, 5, 7}, 2, {7, 4}, 4, {2, 3, 5, 4}, 30},
      {"4-D attention q k^T", 4, {2, 3, 5, 4}, 4, {2, 3, 4, 5}, 4, {2, 3, 5, 5}, 30},
      {"4-D [2,1] x 3-D [3] broadcast", 4, {2, 1, 5, 7}, 3, {3, 7, 4}, 4, {2, 3, 5, 4}, 30},
      {"2-D x 3-D (A broadcast)", 2, {5, 7}, 3, {3, 7, 4}, 3, {3, 5, 4}, 30},
      {"1-D x 2-D", 1, {7}, 2, {7, 4}, 1, {4}, 30},
      {"3-D x 1-D", 3, {3, 5, 7}, 1, {7}, 2, {3, 5}, 30},
      {"1-D x 1-D", 1, {7}, 1, {7}, 0, {0}, 30},
      {"3-D x 2-D, 64x300 rows (K blocks)", 3, {2, 32, 300}, 2, {300, 20}, 3, {2, 32, 20}, 4},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cz_graph *g = matmul_graph(cases[i].ra, cases[i].da, cases[i].rb, cases[i].db);
    assert_null(cz_graph_infer(g));
    const cz_value *y = &g->values[g->outputs[0]];
    cz_shape want = cz_shape_make(cases[i].ry, cases[i].dy);
    if (!cz_shape_eq(&y->shape, &want)) fail_msg("%s: wrong output shape", cases[i].label);
    check_graph(g, cases[i].label, cases[i].fd);
    cz_graph_free(g);
  }
}

static void test_matmul_errors(void **state) {
  (void)state;
  int64_t a[3] = {2, 3, 4}, b[2] = {5, 6};
  expect_err(matmul_graph(3, a, 2, b), "node 'mm' (MatMul): inner dimensions differ: A 'a' "
                                       "[2,3,4] has K = 4, B 'b' [5,6] has K = 5");
  int64_t a4[4] = {2, 3, 4, 5}, b3[3] = {4, 5, 6};
  expect_err(matmul_graph(4, a4, 3, b3), "node 'mm' (MatMul): batch dimensions of A 'a' "
                                         "[2,3,4,5] and B 'b' [4,5,6] do not broadcast");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_cases),   cmocka_unit_test(test_conv_weight_activation),
      cmocka_unit_test(test_conv_shapes_and_macc),
      cmocka_unit_test(test_conv_errors),  cmocka_unit_test(test_gemm_cases),
      cmocka_unit_test(test_gemm_errors),  cmocka_unit_test(test_matmul_cases),
      cmocka_unit_test(test_matmul_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
