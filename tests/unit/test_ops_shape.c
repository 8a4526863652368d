/* The data-movement ops (Concat, Split, Slice, Reshape, Flatten, Transpose,
 * Pad, Identity): forward against logical-index computations written here
 * on row-major arrays, backward by finite differences (exact up to
 * rounding: the ops are linear), fast kernels against the reference ones
 * on NHWC tensors, ShuffleNet's channel shuffle, and the shape errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "op_check.h"
#include "ops/op.h"

/* ---- logical row-major indexing, independent of the engine ---- */

static void unravel(int64_t k, const cz_shape *s, int64_t *idx) {
  for (int a = s->rank - 1; a >= 0; a--) {
    idx[a] = k % s->d[a];
    k /= s->d[a];
  }
}

static int64_t ravel(const int64_t *idx, const cz_shape *s) {
  int64_t k = 0;
  for (int a = 0; a < s->rank; a++) k = k * s->d[a] + idx[a];
  return k;
}

static cz_shape shp(int r, int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t v[4] = {a, b, c, d};
  return cz_shape_make(r, v);
}

/* out[i] = in at index (lists[0][i0], lists[1][i1], ..); -1 in a list
 * means the constant c (Pad) instead. */
static void gather_lists(const float *in, const cz_shape *is, const int64_t *const *lists,
                         const cz_shape *os, float c, float *out) {
  int64_t idx[CZ_MAX_RANK], j[CZ_MAX_RANK];
  for (int64_t k = 0; k < cz_shape_numel(os); k++) {
    unravel(k, os, idx);
    bool inside = true;
    for (int a = 0; a < os->rank; a++) {
      j[a] = lists[a][idx[a]];
      if (j[a] < 0) inside = false;
    }
    out[k] = inside ? in[ravel(j, is)] : c;
  }
}

/* Expected Concat of row-major parts along axis. */
static void concat_expect(const float *const *parts, const cz_shape *ps, int axis,
                          const cz_shape *os, float *out) {
  int64_t idx[CZ_MAX_RANK];
  for (int64_t k = 0; k < cz_shape_numel(os); k++) {
    unravel(k, os, idx);
    int i = 0;
    while (idx[axis] >= ps[i].d[axis]) idx[axis] -= ps[i++].d[axis];
    out[k] = parts[i][ravel(idx, &ps[i])];
  }
}

/* ---- graph building and checking ---- */

static int grad_input(cz_graph *g, const char *name, cz_shape s) {
  int x = cz_graph_input(g, name, CZ_F32, s);
  g->values[x].requires_grad = true;
  return x;
}

static int i64c(cz_graph *g, const char *name, int n, const int64_t *v) {
  return cz_graph_const(g, name, CZ_I64, cz_shape1(n), v);
}

static int node1(cz_graph *g, const char *op, const char *name, int n_in, const int *in) {
  return cz_graph_node(g, op, name, n_in, in, 1, NULL);
}

static const cz_shape *vshape(const cz_graph *g, int v) { return &g->values[v].shape; }

/* Output o of g equals exp exactly, with reference and fast kernels. */
static void expect_out(cz_graph *g, const ct_inputs *in, int o, const float *exp) {
  for (int ref = 0; ref < 2; ref++) {
    ct_run r = ct_run_graph(g, in, false, false, ref, 1);
    int64_t bad = -1;
    for (int64_t k = 0; k < r.out_n[o] && bad < 0; k++)
      if (r.out[o][k] != exp[k]) bad = k;
    if (bad >= 0)
      print_error("graph %s output %d (%s) element %lld: got %g, expected %g\n", g->name, o,
                  ref ? "reference" : "fast", (long long)bad, (double)r.out[o][bad],
                  (double)exp[bad]);
    ct_run_free(&r);
    assert_true(bad < 0);
  }
}

/* An Identity on every differentiable input, built after the op under
 * test: backward runs it first, so the op then accumulates (gin_acc). */
static void add_twins(cz_graph *g) {
  int n = g->n_inputs;
  for (int i = 0; i < n; i++) {
    int x = g->inputs[i];
    if (!g->values[x].requires_grad) continue;
    char name[64];
    snprintf(name, sizeof name, "twin_%s", g->values[x].name);
    cz_graph_mark_output(g, cz_node_out(g, node1(g, "Identity", name, 1, &x), 0));
  }
}

/* Backward by finite differences and fast == reference (outputs and
 * gradients bit for bit), overwriting and then accumulating gradients.
 * MACC is 0 for pure data movement. Frees g. */
static void check_grads(cz_graph *g) {
  assert_int_equal(cz_graph_macc(g), 0);
  for (int tw = 0; tw < 2; tw++) {
    if (tw) add_twins(g);
    ct_inputs in = ct_inputs_random(g, 3, 1.0f);
    double fd = ct_check_fd(g, &in, false, 1e-2, 40, 5, 1e-3, true);
    printf("%s%s: finite differences max rel err %.3g (bound 1e-6)\n", g->name,
           tw ? " (accumulating)" : "", fd);
    assert_true(fd < 1e-6);
    ct_run a = ct_run_graph(g, &in, false, true, true, 9);
    ct_run b = ct_run_graph(g, &in, false, true, false, 9);
    assert_true(a.n_grad > 0);
    assert_true(ct_compare_runs(&a, &b, 1e-6) == 0.0);
    ct_run_free(&a);
    ct_run_free(&b);
    ct_inputs_free(&in);
  }
  cz_graph_free(g);
}

/* ---- Concat ---- */

static void concat_case(const char *name, const cz_shape *ps, int n, int64_t axis) {
  cz_graph *g = cz_graph_new(name);
  int in[CZ_MAX_IO];
  for (int i = 0; i < n; i++) {
    char v[16];
    snprintf(v, sizeof v, "x%d", i);
    in[i] = grad_input(g, v, ps[i]);
  }
  int c = node1(g, "Concat", "cat", n, in);
  cz_node_set_int(g, c, "axis", axis);
  int y = cz_node_out(g, c, 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  int a = (int)(axis < 0 ? axis + ps[0].rank : axis);
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  const float *parts[CZ_MAX_IO];
  for (int i = 0; i < n; i++) parts[i] = ins.data[i];
  float *exp = malloc((size_t)cz_shape_numel(vshape(g, y)) * sizeof *exp);
  concat_expect(parts, ps, a, vshape(g, y), exp);
  expect_out(g, &ins, 0, exp);
  free(exp);
  ct_inputs_free(&ins);
  check_grads(g);
}

static void test_concat(void **state) {
  (void)state;
  /* NHWC along channels: one contiguous run per pixel and input. */
  cz_shape a[3] = {shp(4, 2, 3, 2, 3), shp(4, 2, 2, 2, 3), shp(4, 2, 1, 2, 3)};
  concat_case("concat_c", a, 3, 1);
  cz_shape b[2] = {shp(4, 2, 3, 1, 3), shp(4, 2, 3, 2, 3)};
  concat_case("concat_h", b, 2, -2);
  cz_shape c[2] = {shp(4, 1, 2, 2, 3), shp(4, 2, 2, 2, 3)};
  concat_case("concat_n", c, 2, -4);
  cz_shape d[2] = {shp(3, 1, 2, 3, 0), shp(3, 2, 2, 3, 0)};
  concat_case("concat_rank3", d, 2, 0);
  cz_shape e[2] = {shp(4, 2, 2, 2, 3), shp(4, 2, 2, 2, 1)};
  concat_case("concat_w", e, 2, 3);
}

/* A row-major rank-4 constant beside an NHWC activation, and one input
 * used twice (both slots share one gradient buffer). */
static void test_concat_mixed_and_shared(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("concat_mixed");
  int x = grad_input(g, "x", shp(4, 2, 2, 2, 2));
  float cd[2 * 1 * 2 * 2];
  for (int i = 0; i < 8; i++) cd[i] = 100.0f + (float)i;
  int k = cz_graph_const(g, "k", CZ_F32, shp(4, 2, 1, 2, 2), cd);
  int in[3] = {x, k, x};
  int c = node1(g, "Concat", "cat", 3, in);
  cz_node_set_int(g, c, "axis", 1);
  cz_graph_mark_output(g, cz_node_out(g, c, 0));
  assert_null(cz_graph_infer(g));
  assert_int_equal(g->values[k].layout, CZ_ROWMAJOR);
  assert_int_equal(g->values[x].layout, CZ_NHWC);
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  const float *parts[3] = {ins.data[0], cd, ins.data[0]};
  cz_shape ps[3] = {shp(4, 2, 2, 2, 2), shp(4, 2, 1, 2, 2), shp(4, 2, 2, 2, 2)};
  float exp[2 * 5 * 2 * 2];
  concat_expect(parts, ps, 1, vshape(g, cz_node_out(g, c, 0)), exp);
  expect_out(g, &ins, 0, exp);
  ct_inputs_free(&ins);
  check_grads(g);
}

/* ---- Split ---- */

typedef struct {
  const char *name;
  cz_shape x;
  int64_t axis;
  int n_out;
  int n_split;       /* >0: sizes as the `split` input; <0: as the attribute */
  int64_t split[4];
  int64_t num_outputs; /* >0: the opset-18 attribute */
  int64_t expect[4];   /* sizes along the axis */
} split_cfg;

static void split_case(const split_cfg *c) {
  cz_graph *g = cz_graph_new(c->name);
  int in[2] = {grad_input(g, "x", c->x), -1};
  int n_in = 1;
  if (c->n_split > 0) {
    in[1] = i64c(g, "sizes", c->n_split, c->split);
    n_in = 2;
  }
  int s = cz_graph_node(g, "Split", "split", n_in, in, c->n_out, NULL);
  cz_node_set_int(g, s, "axis", c->axis);
  if (c->n_split < 0) cz_node_set_ints(g, s, "split", -c->n_split, c->split);
  if (c->num_outputs) cz_node_set_int(g, s, "num_outputs", c->num_outputs);
  for (int o = 0; o < c->n_out; o++) cz_graph_mark_output(g, cz_node_out(g, s, o));
  assert_null(cz_graph_infer(g));
  int a = (int)(c->axis < 0 ? c->axis + c->x.rank : c->axis);
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  const float *x = ins.data[0];
  int64_t off = 0, idx[CZ_MAX_RANK];
  for (int o = 0; o < c->n_out; o++) {
    const cz_shape *os = vshape(g, cz_node_out(g, s, o));
    assert_int_equal(os->d[a], c->expect[o]);
    float *exp = malloc((size_t)cz_shape_numel(os) * sizeof *exp + 4);
    for (int64_t k = 0; k < cz_shape_numel(os); k++) {
      unravel(k, os, idx);
      idx[a] += off;
      exp[k] = x[ravel(idx, &c->x)];
    }
    expect_out(g, &ins, o, exp);
    free(exp);
    off += c->expect[o];
  }
  ct_inputs_free(&ins);
  check_grads(g);
}

static void test_split(void **state) {
  (void)state;
  split_cfg cases[] = {
      {"split_input_c", shp(4, 2, 6, 2, 3), 1, 3, 3, {1, 3, 2}, 0, {1, 3, 2}},
      {"split_attr_w", shp(4, 2, 3, 2, 3), -1, 2, -2, {2, 1}, 0, {2, 1}},
      {"split_num_outputs", shp(2, 10, 2, 0, 0), 0, 3, 0, {0}, 3, {4, 4, 2}},
      {"split_equal_h", shp(4, 1, 2, 4, 3), 2, 2, 0, {0}, 0, {2, 2}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) split_case(&cases[i]);
}

/* ---- Slice ---- */

static void test_slice(void **state) {
  (void)state;
  /* NHWC [2,5,4,3]: C from 4 down by 2 (ends -6 clamps to before 0), H
   * every 3rd, W from -2 to past the end. */
  cz_graph *g = cz_graph_new("slice_nhwc");
  cz_shape xs = shp(4, 2, 5, 4, 3);
  int64_t st[3] = {4, 0, -2}, en[3] = {-6, 4, 100}, ax[3] = {1, 2, -1}, sp[3] = {-2, 3, 1};
  int in[5] = {grad_input(g, "x", xs), i64c(g, "st", 3, st), i64c(g, "en", 3, en),
               i64c(g, "ax", 3, ax), i64c(g, "sp", 3, sp)};
  int y = cz_node_out(g, node1(g, "Slice", "slice", 5, in), 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  cz_shape want = shp(4, 2, 3, 2, 2);
  assert_true(cz_shape_eq(vshape(g, y), &want));
  static const int64_t l0[] = {0, 1}, l1[] = {4, 2, 0}, l2[] = {0, 3}, l3[] = {1, 2};
  const int64_t *lists[4] = {l0, l1, l2, l3};
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  float exp[24];
  gather_lists(ins.data[0], &xs, lists, &want, 0, exp);
  expect_out(g, &ins, 0, exp);
  ct_inputs_free(&ins);
  check_grads(g);

  /* Full reversal of W with the extreme ends ONNX exporters write. */
  g = cz_graph_new("slice_reverse_w");
  xs = shp(4, 1, 2, 2, 5);
  int64_t st2 = -1, en2 = INT64_MIN, ax2 = 3, sp2 = -1;
  int in2[5] = {grad_input(g, "x", xs), i64c(g, "st", 1, &st2), i64c(g, "en", 1, &en2),
                i64c(g, "ax", 1, &ax2), i64c(g, "sp", 1, &sp2)};
  y = cz_node_out(g, node1(g, "Slice", "slice", 5, in2), 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  static const int64_t m0[] = {0}, m1[] = {0, 1}, m2[] = {0, 1}, m3[] = {4, 3, 2, 1, 0};
  const int64_t *lists2[4] = {m0, m1, m2, m3};
  ins = ct_inputs_random(g, 1, 1.0f);
  gather_lists(ins.data[0], &xs, lists2, &xs, 0, exp);
  expect_out(g, &ins, 0, exp);
  ct_inputs_free(&ins);
  check_grads(g);

  /* No axes or steps: the leading axes, step 1; INT64_MAX end clamps. */
  g = cz_graph_new("slice_rows");
  xs = shp(2, 3, 4, 0, 0);
  int64_t st3 = 1, en3 = INT64_MAX;
  int in3[3] = {grad_input(g, "x", xs), i64c(g, "st", 1, &st3), i64c(g, "en", 1, &en3)};
  y = cz_node_out(g, node1(g, "Slice", "slice", 3, in3), 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  want = shp(2, 2, 4, 0, 0);
  assert_true(cz_shape_eq(vshape(g, y), &want));
  ins = ct_inputs_random(g, 1, 1.0f);
  expect_out(g, &ins, 0, (const float *)ins.data[0] + 4);
  ct_inputs_free(&ins);
  check_grads(g);

  /* An empty result is a valid shape, not an error. */
  g = cz_graph_new("slice_empty");
  int64_t st4 = 3, en4 = 1;
  int in4[3] = {grad_input(g, "x", shp(2, 4, 2, 0, 0)), i64c(g, "st", 1, &st4),
                i64c(g, "en", 1, &en4)};
  y = cz_node_out(g, node1(g, "Slice", "slice", 3, in4), 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  assert_int_equal(vshape(g, y)->d[0], 0);
  ins = ct_inputs_random(g, 1, 1.0f);
  ct_run r = ct_run_graph(g, &ins, false, true, false, 2);
  assert_int_equal(r.out_n[0], 0);
  for (int64_t k = 0; k < r.grad_n[0]; k++) assert_true(r.grad[0][k] == 0.0f);
  ct_run_free(&r);
  ct_inputs_free(&ins);
  cz_graph_free(g);
}

/* ---- Reshape and Flatten ---- */

/* Reshape keeps the row-major logical order: the expected output is the
 * input's row-major array itself. */
static void reshape_case(const char *name, cz_shape xs, int n, const int64_t *shape,
                         cz_shape want, cz_layout in_l, cz_layout out_l) {
  cz_graph *g = cz_graph_new(name);
  int in[2] = {grad_input(g, "x", xs), i64c(g, "shape", n, shape)};
  int y = cz_node_out(g, node1(g, "Reshape", "reshape", 2, in), 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  assert_true(cz_shape_eq(vshape(g, y), &want));
  assert_int_equal(g->values[in[0]].layout, in_l);
  assert_int_equal(g->values[y].layout, out_l);
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  expect_out(g, &ins, 0, ins.data[0]);
  ct_inputs_free(&ins);
  check_grads(g);
}

static void flatten_case(const char *name, cz_shape xs, int64_t axis, cz_shape want) {
  cz_graph *g = cz_graph_new(name);
  int x = grad_input(g, "x", xs);
  int f = node1(g, "Flatten", "flatten", 1, &x);
  if (axis != 1) cz_node_set_int(g, f, "axis", axis);
  int y = cz_node_out(g, f, 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  assert_true(cz_shape_eq(vshape(g, y), &want));
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  expect_out(g, &ins, 0, ins.data[0]);
  ct_inputs_free(&ins);
  check_grads(g);
}

static void test_reshape_flatten(void **state) {
  (void)state;
  const cz_layout R = CZ_ROWMAJOR, H = CZ_NHWC;
  int64_t s1[2] = {0, -1};
  reshape_case("reshape_nhwc_to_2d", shp(4, 2, 3, 4, 5), 2, s1, shp(2, 2, 60, 0, 0), H, R);
  int64_t s2[4] = {2, 3, 4, -1};
  reshape_case("reshape_2d_to_nhwc", shp(2, 2, 60, 0, 0), 4, s2, shp(4, 2, 3, 4, 5), R, H);
  int64_t s3[4] = {0, 5, 4, 3};
  reshape_case("reshape_nhwc_to_nhwc", shp(4, 2, 3, 4, 5), 4, s3, shp(4, 2, 5, 4, 3), H, H);
  int64_t s4[2] = {2, 6};
  reshape_case("reshape_pooled", shp(4, 2, 6, 1, 1), 2, s4, shp(2, 2, 6, 0, 0), H, R);
  int64_t s5[3] = {3, -1, 2};
  reshape_case("reshape_rowmajor", shp(2, 4, 6, 0, 0), 3, s5, shp(3, 3, 4, 2, 0), R, R);
  flatten_case("flatten_pooled", shp(4, 2, 6, 1, 1), 1, shp(2, 2, 6, 0, 0));
  flatten_case("flatten_axis2", shp(4, 2, 3, 2, 2), 2, shp(2, 6, 4, 0, 0));
  flatten_case("flatten_axis0", shp(4, 2, 3, 2, 2), 0, shp(2, 1, 24, 0, 0));
  flatten_case("flatten_axis_end", shp(4, 2, 3, 2, 2), -4, shp(2, 1, 24, 0, 0));
  flatten_case("flatten_axis_r", shp(4, 2, 3, 2, 2), 4, shp(2, 24, 1, 0, 0));
}

/* ---- Transpose ---- */

static void transpose_case(const char *name, cz_shape xs, int np, const int64_t *perm) {
  cz_graph *g = cz_graph_new(name);
  int x = grad_input(g, "x", xs);
  int t = node1(g, "Transpose", "transpose", 1, &x);
  int64_t p[CZ_MAX_RANK];
  for (int a = 0; a < xs.rank; a++) p[a] = np ? perm[a] : xs.rank - 1 - a;
  if (np) cz_node_set_ints(g, t, "perm", np, perm);
  int y = cz_node_out(g, t, 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  const cz_shape *ys = vshape(g, y);
  for (int a = 0; a < xs.rank; a++) assert_int_equal(ys->d[a], xs.d[p[a]]);
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  const float *xd = ins.data[0];
  float *exp = malloc((size_t)cz_shape_numel(ys) * sizeof *exp);
  int64_t idx[CZ_MAX_RANK], j[CZ_MAX_RANK];
  for (int64_t k = 0; k < cz_shape_numel(ys); k++) {
    unravel(k, ys, idx);
    for (int a = 0; a < xs.rank; a++) j[p[a]] = idx[a];
    exp[k] = xd[ravel(j, &xs)];
  }
  expect_out(g, &ins, 0, exp);
  free(exp);
  ct_inputs_free(&ins);
  check_grads(g);
}

static void test_transpose(void **state) {
  (void)state;
  int64_t to_nhwc[4] = {0, 2, 3, 1}, swap_hw[4] = {0, 1, 3, 2}, p3[3] = {1, 0, 2};
  transpose_case("transpose_to_nhwc_order", shp(4, 2, 3, 4, 5), 4, to_nhwc);
  transpose_case("transpose_swap_hw", shp(4, 2, 3, 4, 5), 4, swap_hw);
  transpose_case("transpose_default", shp(4, 2, 3, 4, 5), 0, NULL);
  transpose_case("transpose_rank3", shp(3, 2, 3, 4, 0), 3, p3);
  transpose_case("transpose_rank2", shp(2, 3, 5, 0, 0), 0, NULL);
}

/* ---- Pad ---- */

typedef struct {
  const char *name;
  const char *mode;
  cz_shape x, y;
  int n_pads;
  int64_t pads[8];
  int n_axes; /* 0: no axes input */
  int64_t axes[4];
  bool has_value;
  float value;
  const int64_t *lists[4]; /* expected source index per output index (-1: value) */
} pad_cfg;

static void pad_case(const pad_cfg *c) {
  cz_graph *g = cz_graph_new(c->name);
  int in[4] = {grad_input(g, "x", c->x), i64c(g, "pads", c->n_pads, c->pads), -1, -1};
  int n_in = 2;
  if (c->has_value) {
    in[2] = cz_graph_const(g, "value", CZ_F32, cz_shape_make(0, NULL), &c->value);
    n_in = 3;
  }
  if (c->n_axes) {
    in[3] = i64c(g, "axes", c->n_axes, c->axes);
    n_in = 4;
  }
  int p = node1(g, "Pad", "pad", n_in, in);
  if (c->mode) cz_node_set_string(g, p, "mode", c->mode);
  int y = cz_node_out(g, p, 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  assert_true(cz_shape_eq(vshape(g, y), &c->y));
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  float *exp = malloc((size_t)cz_shape_numel(&c->y) * sizeof *exp);
  gather_lists(ins.data[0], &c->x, c->lists, &c->y, c->has_value ? c->value : 0.0f, exp);
  expect_out(g, &ins, 0, exp);
  free(exp);
  ct_inputs_free(&ins);
  check_grads(g);
}

static void test_pad(void **state) {
  (void)state;
  static const int64_t i1[] = {0}, i2[] = {0, 1}, i3[] = {0, 1, 2}, i4[] = {0, 1, 2, 3};
  /* NHWC spatial: H padded 1 / 2, W cropped 1 at the start, padded 1 at
   * the end; constant 0.5. */
  static const int64_t ah[] = {-1, 0, 1, 2, -1, -1}, aw[] = {1, 2, 3, -1};
  /* Reflect on H (d 4, pads 2 / 1) and W (d 3, pads 1 / 2): no edge repeat. */
  static const int64_t bh[] = {2, 1, 0, 1, 2, 3, 2}, bw[] = {1, 0, 1, 2, 1, 0};
  /* Edge over axes [1, -1] only: C 1 / 0, W 0 / 2. */
  static const int64_t cc[] = {0, 0, 1}, cw[] = {0, 1, 2, 2, 2};
  /* Constant on N and C of NHWC (the run per pixel is padded). */
  static const int64_t dn[] = {-1, 0}, dc[] = {-1, 0, 1, -1, -1};
  /* Row-major rank 2: rows 1 / 0, columns cropped 1, padded 2. */
  static const int64_t er[] = {-1, 0, 1}, ec[] = {1, 2, -1, -1};
  /* Reflect then crop on W (d 4, pads 2 / -1): pad first, then crop. */
  static const int64_t fw[] = {2, 1, 0, 1, 2};
  /* Pads and crops that leave only padding: W (d 3) 2 / -4 and -4 / 2. */
  static const int64_t gw[] = {-1};
  pad_cfg cases[] = {
      {"pad_constant_hw", NULL, shp(4, 2, 3, 3, 4), shp(4, 2, 3, 6, 4), 8,
       {0, 0, 1, -1, 0, 0, 2, 1}, 0, {0}, true, 0.5f, {i2, i3, ah, aw}},
      {"pad_reflect_hw", "reflect", shp(4, 1, 2, 4, 3), shp(4, 1, 2, 7, 6), 8,
       {0, 0, 2, 1, 0, 0, 1, 2}, 0, {0}, false, 0, {i1, i2, bh, bw}},
      {"pad_edge_axes", "edge", shp(4, 1, 2, 2, 3), shp(4, 1, 3, 2, 5), 4,
       {1, 0, 0, 2}, 2, {1, -1}, false, 0, {i1, cc, i2, cw}},
      {"pad_constant_nc", "constant", shp(4, 1, 2, 2, 2), shp(4, 2, 5, 2, 2), 8,
       {1, 1, 0, 0, 0, 2, 0, 0}, 0, {0}, false, 0, {dn, dc, i2, i2}},
      {"pad_rowmajor", NULL, shp(2, 2, 3, 0, 0), shp(2, 3, 4, 0, 0), 4,
       {1, -1, 0, 2}, 0, {0}, true, -2.0f, {er, ec}},
      {"pad_reflect_crop", "reflect", shp(4, 1, 1, 3, 4), shp(4, 1, 1, 3, 5), 8,
       {0, 0, 0, 2, 0, 0, 0, -1}, 0, {0}, false, 0, {i1, i1, i3, fw}},
      {"pad_only_padding_a", NULL, shp(4, 1, 2, 2, 3), shp(4, 1, 2, 2, 1), 8,
       {0, 0, 0, 2, 0, 0, 0, -4}, 0, {0}, true, 3.0f, {i1, i2, i2, gw}},
      {"pad_only_padding_b", NULL, shp(4, 1, 2, 2, 3), shp(4, 1, 2, 2, 1), 8,
       {0, 0, 0, -4, 0, 0, 0, 2}, 0, {0}, true, 3.0f, {i1, i2, i2, gw}},
  };
  (void)i4;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) pad_case(&cases[i]);
}

/* ---- Identity ---- */

static void test_identity(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("identity");
  int x = grad_input(g, "x", shp(4, 2, 3, 2, 2));
  cz_graph_mark_output(g, cz_node_out(g, node1(g, "Identity", "id", 1, &x), 0));
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  expect_out(g, &ins, 0, ins.data[0]);
  ct_inputs_free(&ins);
  check_grads(g);

  /* A rank-4 float constant is row-major; its Identity is an NHWC
   * activation with the same logical values. */
  g = cz_graph_new("identity_const");
  float kd[24];
  for (int i = 0; i < 24; i++) kd[i] = (float)i;
  int k = cz_graph_const(g, "k", CZ_F32, shp(4, 1, 2, 3, 4), kd);
  int y = cz_node_out(g, node1(g, "Identity", "id", 1, &k), 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  assert_int_equal(g->values[y].layout, CZ_NHWC);
  ct_inputs none = {0};
  expect_out(g, &none, 0, kd);
  cz_graph_free(g);
}

/* ---- ShuffleNet's channel shuffle ---- */

/* Reshape [N,C,H,W] -> [N,g,C/g,H,W], Transpose [0,2,1,3,4], Reshape back:
 * x5[n,i,j] = x[n, i*(C/g)+j], t[n,j,i] = x5[n,i,j], y[n, j*g+i] = t[n,j,i],
 * so output channel c reads input channel (c % g) * (C/g) + c / g. */
static void shuffle_case(int64_t groups) {
  const int64_t N = 2, C = 6, H = 3, W = 2;
  char name[32];
  snprintf(name, sizeof name, "shuffle_g%lld", (long long)groups);
  cz_graph *g = cz_graph_new(name);
  int x = grad_input(g, "x", shp(4, N, C, H, W));
  int64_t s5[5] = {N, groups, C / groups, H, W}, s4[4] = {N, C, H, W};
  int64_t perm[5] = {0, 2, 1, 3, 4};
  int in1[2] = {x, i64c(g, "s5", 5, s5)};
  int r1 = cz_node_out(g, node1(g, "Reshape", "split_groups", 2, in1), 0);
  int t = node1(g, "Transpose", "swap", 1, &r1);
  cz_node_set_ints(g, t, "perm", 5, perm);
  int in2[2] = {cz_node_out(g, t, 0), i64c(g, "s4", 4, s4)};
  int y = cz_node_out(g, node1(g, "Reshape", "merge", 2, in2), 0);
  cz_graph_mark_output(g, y);
  assert_null(cz_graph_infer(g));
  assert_int_equal(g->values[x].layout, CZ_NHWC);
  assert_int_equal(g->values[r1].layout, CZ_ROWMAJOR);
  assert_int_equal(g->values[y].layout, CZ_NHWC);
  ct_inputs ins = ct_inputs_random(g, 1, 1.0f);
  const float *xd = ins.data[0];
  float exp[2 * 6 * 3 * 2];
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t w = 0; w < W; w++) {
          int64_t src = (c % groups) * (C / groups) + c / groups;
          exp[((n * C + c) * H + h) * W + w] = xd[((n * C + src) * H + h) * W + w];
        }
  expect_out(g, &ins, 0, exp);
  ct_inputs_free(&ins);
  check_grads(g);
}

static void test_channel_shuffle(void **state) {
  (void)state;
  shuffle_case(2);
  shuffle_case(3);
}

/* ---- Bigger tensors: the OpenMP branches of the fast kernels ---- */

static void test_large_fast_vs_reference(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("large");
  /* Every output and gradient above CZ_PAR_MIN (32768) elements. */
  int x = grad_input(g, "x", shp(4, 2, 16, 32, 40));
  int x2 = grad_input(g, "x2", shp(4, 2, 16, 32, 40));
  int in[2] = {x, x2};
  int c = node1(g, "Concat", "cat", 2, in);
  cz_node_set_int(g, c, "axis", 1);
  int cv = cz_node_out(g, c, 0);
  int64_t sizes[2] = {16, 16};
  int sin[2] = {cv, i64c(g, "sizes", 2, sizes)};
  int s = cz_graph_node(g, "Split", "split", 2, sin, 2, NULL);
  cz_node_set_int(g, s, "axis", 1);
  int s0 = cz_node_out(g, s, 0), s1 = cz_node_out(g, s, 1);
  int t = node1(g, "Transpose", "t", 1, &s0);
  int64_t perm[4] = {0, 2, 3, 1};
  cz_node_set_ints(g, t, "perm", 4, perm);
  int64_t pads[8] = {0, 0, 1, 1, 0, 0, 1, -1}, rp[8] = {0, 0, 2, 2, 0, 0, 1, 1};
  int pin[2] = {s1, i64c(g, "pads", 8, pads)};
  int p = node1(g, "Pad", "pad", 2, pin);
  int qin[2] = {x, i64c(g, "rp", 8, rp)};
  int q = node1(g, "Pad", "reflect", 2, qin);
  cz_node_set_string(g, q, "mode", "reflect");
  int64_t st = -2, en = 0, ax = 2, sp = -1;
  int slin[5] = {x, i64c(g, "st", 1, &st), i64c(g, "en", 1, &en), i64c(g, "ax", 1, &ax),
                 i64c(g, "sp", 1, &sp)};
  int sl = node1(g, "Slice", "slice", 5, slin);
  int64_t shape[2] = {0, -1};
  int rin[2] = {x2, i64c(g, "shape", 2, shape)};
  int r = node1(g, "Reshape", "reshape", 2, rin);
  int nodes[5] = {t, p, q, sl, r};
  for (int i = 0; i < 5; i++) cz_graph_mark_output(g, cz_node_out(g, nodes[i], 0));
  ct_inputs ins = ct_inputs_random(g, 4, 1.0f);
  ct_run a = ct_run_graph(g, &ins, false, true, true, 9);
  ct_run b = ct_run_graph(g, &ins, false, true, false, 9);
  assert_int_equal(a.n_grad, 2);
  for (int i = 0; i < 5; i++) assert_true(a.out_n[i] > 32768);
  assert_true(ct_compare_runs(&a, &b, 1e-6) == 0.0);
  ct_run_free(&a);
  ct_run_free(&b);
  double fd = ct_check_fd(g, &ins, false, 1e-2, 2, 5, 1e-3, true);
  printf("large graph: finite differences max rel err %.3g (bound 1e-6)\n", fd);
  assert_true(fd < 1e-6);
  ct_inputs_free(&ins);
  cz_graph_free(g);
}

/* ---- int64 data (shape arithmetic of imported models) ---- */

static void test_int64_data(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("ints");
  int a = cz_graph_input(g, "a", CZ_I64, cz_shape1(3));
  int b = cz_graph_input(g, "b", CZ_I64, cz_shape1(2));
  int in[2] = {a, b};
  int c = node1(g, "Concat", "cat", 2, in);
  cz_node_set_int(g, c, "axis", 0);
  int cv = cz_node_out(g, c, 0);
  int64_t st = -1, en = -6, sp = -2, ax = 0;
  int slin[5] = {cv, i64c(g, "st", 1, &st), i64c(g, "en", 1, &en), i64c(g, "ax", 1, &ax),
                 i64c(g, "sp", 1, &sp)};
  int sl = cz_node_out(g, node1(g, "Slice", "slice", 5, slin), 0);
  int64_t pads[2] = {1, 2}, seven = 7;
  int pin[3] = {cv, i64c(g, "pads", 2, pads), cz_graph_const(g, "seven", CZ_I64, cz_shape1(1), &seven)};
  int pv = cz_node_out(g, node1(g, "Pad", "pad", 3, pin), 0);
  int64_t m[6] = {1, 2, 3, 4, 5, 6}, two3[2] = {3, 2};
  int mat = cz_graph_const(g, "m", CZ_I64, cz_shape2(2, 3), m);
  int rin[2] = {mat, i64c(g, "s32", 2, two3)};
  int rv = cz_node_out(g, node1(g, "Reshape", "reshape", 2, rin), 0);
  int tv = cz_node_out(g, node1(g, "Transpose", "t", 1, &mat), 0);
  int outs[4] = {sl, pv, rv, tv};
  for (int i = 0; i < 4; i++) cz_graph_mark_output(g, outs[i]);
  int64_t ad[3] = {10, 20, 30}, bd[2] = {40, 50};
  static const int64_t want_sl[3] = {50, 30, 10}, want_pad[8] = {7, 10, 20, 30, 40, 50, 7, 7},
                       want_r[6] = {1, 2, 3, 4, 5, 6}, want_t[6] = {1, 4, 2, 5, 3, 6};
  const int64_t *want[4] = {want_sl, want_pad, want_r, want_t};
  const int64_t n_want[4] = {3, 8, 6, 6};
  for (int ref = 0; ref < 2; ref++) {
    cz_exec_opts o = {.reference = ref};
    cz_exec *ex = NULL;
    assert_null(cz_exec_new(g, &o, &ex));
    cz_exec_set_input(ex, 0, ad, CZ_ROWMAJOR);
    cz_exec_set_input(ex, 1, bd, CZ_ROWMAJOR);
    cz_exec_forward(ex);
    for (int i = 0; i < 4; i++) {
      cz_tensor t = cz_exec_value(ex, outs[i]);
      assert_int_equal(t.dtype, CZ_I64);
      assert_int_equal(cz_numel(&t), n_want[i]);
      assert_memory_equal(t.data, want[i], (size_t)n_want[i] * sizeof(int64_t));
    }
    cz_exec_free(ex);
  }
  cz_graph_free(g);
}

/* ---- errors ---- */

static void expect_err(cz_graph *g, const char *msg) {
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
  cz_graph_free(g);
}

/* A graph with input a [2,3,4,5] and one node `op` named `name` on it
 * (set_inputs adds more inputs). */
static cz_graph *one_node(const char *op, const char *name, int *node) {
  cz_graph *g = cz_graph_new("err");
  int a = cz_graph_input(g, "a", CZ_F32, shp(4, 2, 3, 4, 5));
  *node = node1(g, op, name, 1, &a);
  cz_graph_mark_output(g, cz_node_out(g, *node, 0));
  return g;
}

/* Sets node's inputs to {a, v...}. */
static void set_inputs(cz_graph *g, int node, int n, const int *v) {
  cz_node *nd = &g->nodes[node];
  for (int i = 0; i < n; i++) nd->in[1 + i] = v[i];
  nd->n_in = 1 + n;
}

static void test_errors(void **state) {
  (void)state;
  int nd;
  cz_graph *g;

  g = one_node("Reshape", "r", &nd);
  int64_t s1[4] = {2, 3, 4, 4};
  int v = i64c(g, "s", 4, s1);
  set_inputs(g, nd, 1, &v);
  expect_err(g, "node 'r' (Reshape): cannot reshape [2,3,4,5] (120 elements) to [2,3,4,4] (96 "
                "elements)");

  g = one_node("Reshape", "r", &nd);
  int64_t s2[2] = {7, -1};
  v = i64c(g, "s", 2, s2);
  set_inputs(g, nd, 1, &v);
  expect_err(g, "node 'r' (Reshape): cannot reshape [2,3,4,5] (120 elements) to [7,-1]");

  g = one_node("Reshape", "r", &nd);
  int64_t s3[3] = {-1, 0, -1};
  v = i64c(g, "s", 3, s3);
  set_inputs(g, nd, 1, &v);
  expect_err(g, "node 'r' (Reshape): shape [-1,0,-1] has more than one -1");

  g = one_node("Reshape", "r", &nd);
  int64_t s4[2] = {0, -1};
  v = i64c(g, "s", 2, s4);
  set_inputs(g, nd, 1, &v);
  cz_node_set_int(g, nd, "allowzero", 1);
  expect_err(g, "node 'r' (Reshape): shape [0,-1] has both 0 and -1 with allowzero=1");

  g = one_node("Reshape", "r", &nd);
  v = cz_graph_input(g, "s", CZ_I64, cz_shape1(2));
  set_inputs(g, nd, 1, &v);
  expect_err(g, "node 'r' (Reshape): input 'shape' must be a constant ('s' is computed at run "
                "time)");

  g = one_node("Reshape", "r", &nd);
  float fs[2] = {2, 60};
  v = cz_graph_const(g, "s", CZ_F32, cz_shape1(2), fs);
  set_inputs(g, nd, 1, &v);
  expect_err(g, "node 'r' (Reshape): input 'shape' ('s') is float32, expected int64");

  g = one_node("Concat", "c", &nd);
  v = cz_graph_input(g, "b", CZ_F32, shp(4, 2, 3, 6, 5));
  set_inputs(g, nd, 1, &v);
  cz_node_set_int(g, nd, "axis", 1);
  expect_err(g, "node 'c' (Concat): input 1 'b' has shape [2,3,6,5], which does not match input "
                "0 'a' of shape [2,3,4,5] outside axis 1");

  g = one_node("Concat", "c", &nd);
  cz_node_set_int(g, nd, "axis", 4);
  expect_err(g, "node 'c' (Concat): axis 4 is out of range for input 'a' of shape [2,3,4,5] "
                "(expected -4..3)");

  g = one_node("Concat", "c", &nd);
  expect_err(g, "node 'c' (Concat): attribute axis is required");

  g = one_node("Transpose", "t", &nd);
  int64_t perm[4] = {0, 2, 2, 1};
  cz_node_set_ints(g, nd, "perm", 4, perm);
  expect_err(g, "node 't' (Transpose): perm [0,2,2,1] is not a permutation of 0..3 for input "
                "'a' of shape [2,3,4,5]");

  g = one_node("Transpose", "t", &nd);
  cz_node_set_ints(g, nd, "perm", 3, perm);
  expect_err(g, "node 't' (Transpose): perm [0,2,2] is not a permutation of 0..3 for input 'a' "
                "of shape [2,3,4,5]");

  g = one_node("Flatten", "f", &nd);
  cz_node_set_int(g, nd, "axis", 5);
  expect_err(g, "node 'f' (Flatten): axis 5 is out of range for input 'a' of shape [2,3,4,5] "
                "(expected -4..4)");

  g = one_node("Split", "s", &nd);
  int64_t sz[1] = {1};
  v = i64c(g, "sz", 1, sz);
  set_inputs(g, nd, 1, &v);
  cz_node_set_int(g, nd, "axis", 1);
  expect_err(g, "node 's' (Split): split [1] sums to 1, but axis 1 of input 'a' of shape "
                "[2,3,4,5] is 3");

  g = one_node("Split", "s", &nd);
  cz_node_set_int(g, nd, "axis", -5);
  expect_err(g, "node 's' (Split): axis -5 is out of range for input 'a' of shape [2,3,4,5] "
                "(expected -4..3)");

  g = cz_graph_new("err");
  int a = cz_graph_input(g, "a", CZ_F32, shp(4, 2, 3, 4, 5));
  nd = cz_graph_node(g, "Split", "s", 1, &a, 2, NULL);
  cz_node_set_int(g, nd, "axis", 1);
  cz_graph_mark_output(g, cz_node_out(g, nd, 0));
  expect_err(g, "node 's' (Split): axis 1 of input 'a' of shape [2,3,4,5] (3) does not split "
                "into 2 equal parts");

  g = one_node("Pad", "p", &nd);
  int64_t pads[8] = {0};
  v = i64c(g, "pads", 8, pads);
  set_inputs(g, nd, 1, &v);
  cz_node_set_string(g, nd, "mode", "wrap");
  expect_err(g, "node 'p' (Pad): mode 'wrap' is not supported (supported: constant, reflect, "
                "edge)");

  g = one_node("Pad", "p", &nd);
  v = i64c(g, "pads", 6, pads);
  set_inputs(g, nd, 1, &v);
  expect_err(g, "node 'p' (Pad): pads [0,0,0,0,0,0] has 6 values, expected 8 (begin and end of 4 "
                "axes) for input 'a' of shape [2,3,4,5]");

  g = one_node("Pad", "p", &nd);
  int64_t crop[8] = {0, 0, 0, -3, 0, 0, 0, -3};
  v = i64c(g, "pads", 8, crop);
  set_inputs(g, nd, 1, &v);
  expect_err(g, "node 'p' (Pad): pads [0,0,0,-3,0,0,0,-3] crop axis 3 of input 'a' of shape "
                "[2,3,4,5] below 0");

  g = one_node("Slice", "sl", &nd);
  int64_t zero = 0, one = 1;
  int sv[4] = {i64c(g, "st", 1, &zero), i64c(g, "en", 1, &one), i64c(g, "ax", 1, &one),
               i64c(g, "sp", 1, &zero)};
  set_inputs(g, nd, 4, sv);
  expect_err(g, "node 'sl' (Slice): steps [0] has a 0");

  g = one_node("Slice", "sl", &nd);
  int sv2[2] = {cz_graph_input(g, "st", CZ_I64, cz_shape1(1)), i64c(g, "en", 1, &one)};
  set_inputs(g, nd, 2, sv2);
  expect_err(g, "node 'sl' (Slice): input 'starts' must be a constant ('st' is computed at run "
                "time)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concat),
      cmocka_unit_test(test_concat_mixed_and_shared),
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_slice),
      cmocka_unit_test(test_reshape_flatten),
      cmocka_unit_test(test_transpose),
      cmocka_unit_test(test_pad),
      cmocka_unit_test(test_identity),
      cmocka_unit_test(test_channel_shuffle),
      cmocka_unit_test(test_large_fast_vs_reference),
      cmocka_unit_test(test_int64_data),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
