/* Conv + Clip fusion (graph/pass_fuse_act.h, the FusedConv op): the fused
 * graph gives bit-identical eval-mode outputs (tolerance 0: the same sums,
 * then Clip's formula) on the zoo's mobilenetv2_w035_pt at every
 * instruction-set level and with the reference kernels, and on small
 * graphs that reach the GEMM's sliced-K and im2col paths; Conv outputs
 * with a second reader and Clips with non-constant bounds stay unfused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph/exec.h"
#include "graph/graph_edit.h"
#include "graph/pass_fold_bn.h"
#include "graph/pass_fuse_act.h"
#include "kernels/k_simd.h"
#include "onnx/onnx_export.h"
#include "ops/op.h"
#include "util/mem.h"
#include "util/rng.h"
#include "zoo/zoo.h"

static float *fill(int64_t n, uint64_t seed, float lo, float hi) {
  float *p = cz_xmalloc((size_t)n * sizeof *p);
  cz_rng r = cz_rng_make(seed, 0);
  for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * cz_rng_uniformf(&r);
  return p;
}

/* Output 0 of g on x (row-major), eval mode, as a malloc'd copy. */
static float *run(cz_graph *g, const float *x, bool reference, int64_t *n) {
  cz_exec_opts o = {.reference = reference};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(g, &o, &ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_exec_set_input(ex, 0, x, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  *n = cz_shape_numel(&y.shape);
  float *out = cz_xmalloc((size_t)*n * sizeof *out);
  memcpy(out, y.data, (size_t)*n * sizeof *out);
  cz_exec_free(ex);
  return out;
}

static int count_op(const cz_graph *g, const char *op) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++) k += strcmp(g->nodes[i].op->name, op) == 0;
  return k;
}

/* Bit-identical outputs of g and its fused clone; returns the fused count. */
/* *n_clamped: outputs equal to lo or hi (the clamp did work there). */
static int same_after_fusion(cz_graph *g, bool reference, float lo, float hi, int64_t *n_clamped) {
  const cz_value *iv = &g->values[g->inputs[0]];
  float *x = fill(cz_shape_numel(&iv->shape), 11, -2.0f, 2.0f);
  cz_graph *f = cz_graph_clone(g);
  int fused = -1;
  cz_err *e = cz_pass_fuse_act(f, &fused);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_string_equal(f->values[f->outputs[0]].name, g->values[g->outputs[0]].name);
  int64_t n0, n1;
  float *y0 = run(g, x, reference, &n0), *y1 = run(f, x, reference, &n1);
  assert_int_equal(n0, n1);
  int64_t diff = 0, at_bound = 0;
  for (int64_t i = 0; i < n0; i++) {
    diff += memcmp(&y0[i], &y1[i], sizeof(float)) != 0;
    at_bound += y0[i] == lo || y0[i] == hi;
  }
  printf("fused %d, %lld outputs, %lld differ (tolerance 0), %lld at a bound\n", fused,
         (long long)n0, (long long)diff, (long long)at_bound);
  assert_int_equal(diff, 0);
  if (n_clamped) *n_clamped = at_bound;
  free(x), free(y0), free(y1);
  cz_graph_free(f);
  return fused;
}

/* mobilenetv2_w035_pt, BatchNorm folded (as inference runs it): every
 * ReLU6 fuses; pointwise, depthwise and direct 3x3 paths, all ISAs. */
static void test_mbv2_bit_identical(void **state) {
  (void)state;
  const cz_zoo_entry *z = cz_zoo_find("mobilenetv2_w035_pt");
  assert_non_null(z);
  cz_zoo_opts o = cz_zoo_default_opts(z);
  o.num_classes = 10;
  o.height = o.width = 48;
  o.batch = 2;
  o.seed = 3;
  cz_graph *g = NULL;
  cz_err *e = cz_zoo_build("mobilenetv2_w035_pt", &o, &g);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_graph_set_training(g, false);
  /* Non-zero BatchNorm shifts, so the bounds are hit from both sides. */
  for (int v = 0; v < g->n_values; v++) {
    cz_value *x = &g->values[v];
    size_t len = strlen(x->name);
    if (x->data && len > 5 && strcmp(x->name + len - 5, ".bias") == 0) {
      float *d = x->data;
      for (int64_t k = 0; k < cz_shape_numel(&x->shape); k++) d[k] = (float)((k % 7) - 3);
    }
  }
  assert_null(cz_pass_fold_bn(g, NULL));
  int clips = count_op(g, "Clip");
  assert_true(clips > 30);
  static const cz_isa caps[] = {CZ_ISA_GENERIC, CZ_ISA_AVX2, CZ_ISA_AVX512};
  for (int c = 0; c < 3; c++) {
    cz_k_isa_cap(caps[c]);
    printf("%s: ", cz_k_isa_name(cz_k_isa()));
    assert_int_equal(same_after_fusion(g, false, 0.0f, 6.0f, NULL), clips);
  }
  cz_k_isa_cap(CZ_ISA_AVX512);
  cz_graph *f = cz_graph_clone(g);
  assert_null(cz_pass_fuse_act(f, NULL));
  assert_int_equal(count_op(f, "Clip"), 0);
  assert_int_equal(count_op(f, "FusedConv"), clips);
  cz_graph_free(f);
  cz_graph_free(g);
}

/* x [N,C,H,W] -> Conv (kernel k, dilation d) -> Clip(lo, hi) -> y. */
static cz_graph *conv_clip(int64_t N, int64_t C, int64_t H, int64_t M, int64_t k, int64_t d,
                           float lo, float hi, bool attr_bounds) {
  cz_graph *g = cz_graph_new("cc");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(N, C, H, H));
  int64_t nw = M * C * k * k;
  float *w = fill(nw, 5, -0.2f, 0.2f), *b = fill(M, 6, -0.5f, 0.5f);
  int in[3] = {x, cz_graph_param(g, "w", cz_shape4(M, C, k, k), w),
               cz_graph_param(g, "b", cz_shape1(M), b)};
  free(w), free(b);
  int c = cz_graph_node(g, "Conv", "conv", 3, in, 1, NULL);
  int64_t ks[2] = {k, k}, dil[2] = {d, d}, p = (k - 1) / 2 * d, pads[4] = {p, p, p, p};
  cz_node_set_ints(g, c, "kernel_shape", 2, ks);
  cz_node_set_ints(g, c, "dilations", 2, dil);
  cz_node_set_ints(g, c, "pads", 4, pads);
  int cin[3] = {cz_node_out(g, c, 0), -1, -1};
  int n_in = 1;
  if (!attr_bounds) {
    cin[1] = cz_graph_const(g, "lo", CZ_F32, cz_shape1(1), &lo);
    cin[2] = cz_graph_const(g, "hi", CZ_F32, cz_shape1(1), &hi);
    n_in = 3;
  }
  const char *yname[1] = {"y"};
  int clip = cz_graph_node(g, "Clip", "clip", n_in, cin, 1, yname);
  if (attr_bounds) {
    cz_node_set_float(g, clip, "min", lo);
    cz_node_set_float(g, clip, "max", hi);
  }
  cz_graph_mark_output(g, cz_node_out(g, clip, 0));
  cz_err *e = cz_graph_infer(g);
  if (e) fail_msg("%s", cz_err_msg(e));
  return g;
}

/* A 1x1 conv over 4096 channels at 2x2: the GEMM cuts K into slices
 * (clamped when the slices are reduced); a dilated 5x5: im2col tiles;
 * bounds as attributes (opset 6) or constant inputs; reference kernels. */
static void test_gemm_paths_bit_identical(void **state) {
  (void)state;
  int64_t clamped = 0;
  cz_graph *g = conv_clip(1, 4096, 2, 8, 1, 1, -0.25f, 0.25f, false);
  for (int ref = 0; ref < 2; ref++) {
    assert_int_equal(same_after_fusion(g, ref, -0.25f, 0.25f, &clamped), 1);
    assert_true(clamped > 0 && clamped < 32);
  }
  cz_graph_free(g);
  g = conv_clip(2, 6, 12, 20, 5, 2, 0.0f, 0.5f, true);
  for (int ref = 0; ref < 2; ref++) {
    assert_int_equal(same_after_fusion(g, ref, 0.0f, 0.5f, &clamped), 1);
    assert_true(clamped > 0 && clamped < 5760);
  }
  cz_graph_free(g);
}

/* The Conv output is also a graph output: fusing would lose it. */
static void test_second_reader_not_fused(void **state) {
  (void)state;
  cz_graph *g = conv_clip(1, 3, 6, 4, 3, 1, 0.0f, 6.0f, false);
  cz_graph_mark_output(g, g->nodes[0].out[0]);
  int fused = -1;
  assert_null(cz_pass_fuse_act(g, &fused));
  assert_int_equal(fused, 0);
  assert_int_equal(count_op(g, "Clip"), 1);
  assert_int_equal(count_op(g, "FusedConv"), 0);
  cz_graph_free(g);
}

/* FusedConv has no backward: a training executor gives no gradient
 * through it (the pass is for inference only), and no ONNX form. */
static void test_fused_conv_is_inference_only(void **state) {
  (void)state;
  const cz_op *op = cz_op_find("FusedConv");
  assert_non_null(op);
  assert_null(op->backward);
  assert_non_null(op->forward);
  /* Never exported: the exporter names the node instead of writing it. */
  cz_graph *g = conv_clip(1, 3, 6, 4, 3, 1, 0.0f, 6.0f, false);
  assert_null(cz_pass_fuse_act(g, NULL));
  char path[] = "/tmp/czoo_fuse_act_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  cz_err *e = cz_onnx_export(g, NULL, path);
  assert_non_null(e);
  printf("export of a fused graph: %s\n", cz_err_msg(e));
  assert_non_null(strstr(cz_err_msg(e), "FusedConv"));
  cz_err_free(e);
  unlink(path);
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mbv2_bit_identical),
      cmocka_unit_test(test_gemm_paths_bit_identical),
      cmocka_unit_test(test_second_reader_not_fused),
      cmocka_unit_test(test_fused_conv_is_inference_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
