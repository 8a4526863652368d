/* Inference speed-ups that must not change a result:
 * - weights packed once (cz_exec_opts.pack_weights): outputs bit-identical
 *   (tolerance 0) to per-call packing on mobilenetv2_w035_pt (pointwise,
 *   depthwise, direct 3x3 and the Linear layer as a GEMM at batch 8) and
 *   on an im2col convolution, at every instruction-set level; a packing
 *   made at one level and run at another falls back to per-call packing;
 *   after a weight change cz_exec_repack gives the new weights' outputs,
 *   and a training executor (which never packs) sees changes directly;
 * - micro-batches over the pool (services/infer.h): bit-identical across
 *   thread counts (one executor whose kernels share jobs over the pool,
 *   or several running micro-batches) and between NCHW and NHWC input, and equal to one whole
 *   batch within 1e-5 relative (the classifier's sums run in another order
 *   as a GEMV at 4 rows than as a GEMM at 10); a short last batch returns
 *   its rows only;
 * - one image at 1 and 2 threads (the kernels' jobs on the pool) bit-
 *   identical, and within 1e-5 relative of its row of a micro-batch of 4. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph/exec.h"
#include "graph/pass_fold_bn.h"
#include "graph/pass_fuse_act.h"
#include "kernels/k_simd.h"
#include "services/infer.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/threads.h"
#include "zoo/zoo.h"

#define SIZE 40
#define CLASSES 10

static float *fill(int64_t n, uint64_t seed, float lo, float hi) {
  float *p = cz_xmalloc((size_t)n * sizeof *p);
  cz_rng r = cz_rng_make(seed, 0);
  for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * cz_rng_uniformf(&r);
  return p;
}

/* The zoo's mobilenet_v2 0.35 as inference runs it (BatchNorm folded,
 * Conv + ReLU6 fused), with non-zero biases. */
static cz_graph *mbv2(int64_t batch) {
  const cz_zoo_entry *z = cz_zoo_find("mobilenetv2_w035_pt");
  assert_non_null(z);
  cz_zoo_opts o = cz_zoo_default_opts(z);
  o.num_classes = CLASSES;
  o.height = o.width = SIZE;
  o.batch = (int)batch;
  o.seed = 5;
  cz_graph *g = NULL;
  cz_err *e = cz_zoo_build("mobilenetv2_w035_pt", &o, &g);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_graph_set_training(g, false);
  for (int v = 0; v < g->n_values; v++) {
    cz_value *x = &g->values[v];
    size_t len = strlen(x->name);
    if (x->data && len > 5 && strcmp(x->name + len - 5, ".bias") == 0) {
      float *d = x->data;
      for (int64_t k = 0; k < cz_shape_numel(&x->shape); k++) d[k] = 0.1f * (float)((k % 7) - 3);
    }
  }
  assert_null(cz_pass_fold_bn(g, NULL));
  assert_null(cz_pass_fuse_act(g, NULL));
  return g;
}

/* Output 0 of ex on x (row-major), as a malloc'd copy. */
static float *forward(cz_exec *ex, const cz_graph *g, const float *x, int64_t *n) {
  cz_exec_set_input(ex, 0, x, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  *n = cz_shape_numel(&y.shape);
  float *out = cz_xmalloc((size_t)*n * sizeof *out);
  memcpy(out, y.data, (size_t)*n * sizeof *out);
  return out;
}

static float *run(cz_graph *g, const float *x, const cz_exec_opts *o, int64_t *n) {
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(g, o, &ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  float *y = forward(ex, g, x, n);
  cz_exec_free(ex);
  return y;
}

static int64_t differ(const float *a, const float *b, int64_t n) {
  int64_t d = 0;
  for (int64_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return d;
}

static float *input_for(const cz_graph *g, uint64_t seed) {
  return fill(cz_shape_numel(&g->values[g->inputs[0]].shape), seed, -1.0f, 1.0f);
}

static void test_packed_bit_identical(void **state) {
  (void)state;
  cz_graph *g = mbv2(8);
  float *x = input_for(g, 7);
  static const cz_isa caps[] = {CZ_ISA_GENERIC, CZ_ISA_AVX2, CZ_ISA_AVX512};
  cz_exec_opts plain = {0}, packed = {.pack_weights = true};
  for (int c = 0; c < 3; c++) {
    cz_k_isa_cap(caps[c]);
    int64_t n0, n1;
    float *y0 = run(g, x, &plain, &n0), *y1 = run(g, x, &packed, &n1);
    assert_int_equal(n0, n1);
    printf("%s: %lld logits, %lld differ (tolerance 0)\n", cz_k_isa_name(cz_k_isa()),
           (long long)n0, (long long)differ(y0, y1, n0));
    assert_int_equal(differ(y0, y1, n0), 0);
    free(y0), free(y1);
  }
  /* Packed at the best level, run capped to plain C: per-call packing. */
  cz_k_isa_cap(CZ_ISA_AVX512);
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &packed, &ex));
  cz_k_isa_cap(CZ_ISA_GENERIC);
  int64_t n0, n1;
  float *y0 = run(g, x, &plain, &n0), *y1 = forward(ex, g, x, &n1);
  assert_int_equal(differ(y0, y1, n0), 0);
  cz_k_isa_cap(CZ_ISA_AVX512);
  cz_exec_free(ex);
  free(y0), free(y1), free(x);
  cz_graph_free(g);
}

/* A 5x5 convolution with 16 input channels (400 taps: the im2col path). */
static void test_packed_im2col(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("im2col");
  int x = cz_graph_input(g, "x", CZ_F32, cz_shape4(2, 16, 12, 12));
  float *w = fill(24 * 16 * 25, 3, -0.1f, 0.1f), *b = fill(24, 4, -0.5f, 0.5f);
  int in[3] = {x, cz_graph_param(g, "w", cz_shape4(24, 16, 5, 5), w),
               cz_graph_param(g, "b", cz_shape1(24), b)};
  free(w), free(b);
  int c = cz_graph_node(g, "Conv", "conv", 3, in, 1, NULL);
  int64_t ks[2] = {5, 5}, pads[4] = {2, 2, 2, 2};
  cz_node_set_ints(g, c, "kernel_shape", 2, ks);
  cz_node_set_ints(g, c, "pads", 4, pads);
  cz_graph_mark_output(g, g->nodes[c].out[0]);
  float *xv = input_for(g, 9);
  cz_exec_opts plain = {0}, packed = {.pack_weights = true};
  int64_t n0, n1;
  float *y0 = run(g, xv, &plain, &n0), *y1 = run(g, xv, &packed, &n1);
  assert_int_equal(differ(y0, y1, n0), 0);
  free(y0), free(y1), free(xv);
  cz_graph_free(g);
}

/* Scales every weight of the graph's convolutions and Linear layer. */
static void scale_weights(cz_graph *g, float s) {
  for (int v = 0; v < g->n_values; v++) {
    cz_value *x = &g->values[v];
    if (x->kind != CZ_V_PARAM || !x->data || x->shape.rank < 2) continue;
    float *d = x->data;
    for (int64_t k = 0; k < cz_shape_numel(&x->shape); k++) d[k] *= s;
  }
}

static void test_repack_after_change(void **state) {
  (void)state;
  cz_graph *g = mbv2(8);
  float *x = input_for(g, 8);
  cz_exec_opts packed = {.pack_weights = true}, plain = {0};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &packed, &ex));
  int64_t n;
  float *before = forward(ex, g, x, &n);
  scale_weights(g, 0.5f);
  cz_exec_repack(ex);
  float *after = forward(ex, g, x, &n), *fresh = run(g, x, &plain, &n);
  assert_int_equal(differ(after, fresh, n), 0);
  assert_true(differ(before, after, n) > 0); /* the change did reach the output */
  cz_exec_free(ex);
  /* Backward planned: pack_weights is ignored, changes show at once. */
  cz_exec_opts train = {.backward = true, .pack_weights = true};
  assert_null(cz_exec_new(g, &train, &ex));
  float *t0 = forward(ex, g, x, &n);
  scale_weights(g, 2.0f);
  float *t1 = forward(ex, g, x, &n), *fresh2 = run(g, x, &plain, &n);
  assert_int_equal(differ(t1, fresh2, n), 0);
  assert_true(differ(t0, t1, n) > 0);
  cz_exec_free(ex);
  free(before), free(after), free(fresh), free(t0), free(t1), free(fresh2), free(x);
  cz_graph_free(g);
}

/* n images through the runner (micro images per forward, `threads`). */
static float *infer(cz_graph *g, int64_t batch, int64_t micro, int threads, const float *x,
                    cz_layout layout, int64_t n) {
  cz_threads_set(threads);
  cz_infer_opts o = {.micro = micro, .pack = true};
  cz_infer *r = NULL;
  cz_err *e = cz_infer_new_opts(g, batch, &o, &r);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_int_equal(cz_infer_micro(r), micro < batch ? micro : batch);
  float *y = cz_xmalloc((size_t)(n * CLASSES) * sizeof *y);
  cz_infer_run_layout(r, x, layout, n, y);
  cz_infer_free(r);
  return y;
}

static void test_micro_batches(void **state) {
  (void)state;
  const int64_t B = 10, img = 3 * SIZE * SIZE;
  cz_graph *g = mbv2(B);
  float *x = fill(B * img, 12, -1.0f, 1.0f);
  /* The same images NHWC. */
  float *xh = cz_xmalloc((size_t)(B * img) * sizeof *xh);
  cz_shape s = cz_shape4(B, 3, SIZE, SIZE);
  cz_relayout(x, CZ_ROWMAJOR, xh, CZ_NHWC, &s, sizeof(float));
  float *whole = infer(g, B, B, 1, x, CZ_ROWMAJOR, B);
  /* One executor, 2 threads: the kernels' jobs on the pool. */
  float *whole2 = infer(g, B, B, 2, x, CZ_ROWMAJOR, B);
  float *m1 = infer(g, B, 4, 1, x, CZ_ROWMAJOR, B);
  float *m2 = infer(g, B, 4, 2, x, CZ_ROWMAJOR, B);
  float *m3 = infer(g, B, 4, 3, x, CZ_ROWMAJOR, B);
  float *mh = infer(g, B, 4, 2, xh, CZ_NHWC, B);
  /* A short batch: 7 images, the last micro-batch padded. */
  float *part = infer(g, B, 4, 2, x, CZ_ROWMAJOR, 7);
  int64_t n = B * CLASSES;
  assert_int_equal(differ(whole, whole2, n), 0);
  assert_int_equal(differ(m1, m2, n), 0);
  assert_int_equal(differ(m1, m3, n), 0);
  assert_int_equal(differ(m1, mh, n), 0);
  assert_int_equal(differ(m1, part, 7 * CLASSES), 0);
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < n; i++) {
    worst = fmax(worst, fabs((double)m1[i] - whole[i]));
    scale = fmax(scale, fabs((double)whole[i]));
  }
  printf("micro-batches of 4 against one batch of %lld: max |diff| / max |logit| = %.3g\n",
         (long long)B, worst / scale);
  assert_true(scale > 0);
  assert_true(worst / scale <= 1e-5);
  cz_threads_set(0);
  free(whole), free(whole2), free(m1), free(m2), free(m3), free(mh), free(part), free(x), free(xh);
  cz_graph_free(g);
}

/* One image (micro-batch 1, one executor) whose kernels share their work
 * with the pool, at 1 and 2 threads: the late layers (2x2 and 3x3 pixels
 * here) split into jobs of a row or a few columns, the classifier as a
 * GEMV over column blocks. Bit-identical between thread counts, and
 * within 1e-5 relative of the image's row of a micro-batch of 4. */
static void test_batch1_threads(void **state) {
  (void)state;
  const int64_t B = 4, img = 3 * SIZE * SIZE;
  cz_graph *g = mbv2(B);
  float *x = fill(B * img, 13, -1.0f, 1.0f);
  float *m4 = infer(g, B, 4, 1, x, CZ_ROWMAJOR, B);
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < B; i++) {
    float *t1 = infer(g, 1, 1, 1, x + i * img, CZ_ROWMAJOR, 1);
    float *t2 = infer(g, 1, 1, 2, x + i * img, CZ_ROWMAJOR, 1);
    assert_int_equal(differ(t1, t2, CLASSES), 0);
    for (int64_t k = 0; k < CLASSES; k++) {
      worst = fmax(worst, fabs((double)t1[k] - m4[i * CLASSES + k]));
      scale = fmax(scale, fabs((double)m4[i * CLASSES + k]));
    }
    free(t1), free(t2);
  }
  printf("one image against its row of a micro-batch of 4: max |diff| / max |logit| = %.3g\n",
         worst / scale);
  assert_true(scale > 0);
  assert_true(worst / scale <= 1e-5);
  cz_threads_set(0);
  free(m4), free(x);
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_packed_bit_identical),
      cmocka_unit_test(test_packed_im2col),
      cmocka_unit_test(test_repack_after_change),
      cmocka_unit_test(test_micro_batches),
      cmocka_unit_test(test_batch1_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
