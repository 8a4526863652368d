/* The int8 engine on ShuffleNet (Split, channel shuffle: Reshape ->
 * Transpose -> Reshape) and on a Softmax between DequantizeLinear and
 * QuantizeLinear, against onnxruntime 1.20.1 on the same QDQ files, over
 * Fashion-MNIST test images (fixtures: tests/oracle/gen_int8_shuffle.py;
 * the float model is test_qdq's shufflenetv2_x050_pt, randomized
 * BatchNorm statistics, 10 classes, 3x32x32). Two stages:
 *  - CZOO_INT8_STAGE=quant: czoo's quantizer (per channel, int8, MinMax,
 *    the fixture's 256 calibration images) writes <stem>_czoo.onnx, which
 *    the fixture then runs in onnxruntime;
 *  - otherwise (check): each of the four QDQ files (onnxruntime's and
 *    czoo's, with and without the Softmax) is lowered and run on the int8
 *    plan: top-1 agreement with onnxruntime >= 99.5 % of images, outputs
 *    within one output step on >= 99 % of values, and the fast kernels'
 *    int8 outputs equal to the reference kernels' (first 500 images).
 * Needs CZOO_INT8_SHUFFLE_DIR; CZOO_INT8_IMAGES limits the images
 * (valgrind). Prints the measured figures. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "int8/rt_lower.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/quant.h"
#include "tensor_file.h"
#include "util/mem.h"

static const char *const kStems[] = {"shufflenet", "shufflenet_softmax"};

static float *to_nhwc(const float *x, int n, int c, int hw) {
  float *y = cz_xmalloc((size_t)n * c * hw * sizeof *y);
  for (int b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (int j = 0; j < hw; j++) y[((size_t)b * hw + j) * c + ch] = x[((size_t)b * c + ch) * hw + j];
  return y;
}

typedef struct {
  const float *x; /* NHWC */
  int64_t n, per, pos;
} feed;

static cz_err *f_start(void *ctx) {
  ((feed *)ctx)->pos = 0;
  return NULL;
}

static cz_err *f_next(void *ctx, const float **x, int64_t *n) {
  feed *f = ctx;
  *n = f->n - f->pos < 32 ? f->n - f->pos : 32;
  *x = f->x + f->pos * f->per;
  f->pos += *n;
  return NULL;
}

static void quant_stage(const char *dir, const ct_bundle *data) {
  const ct_tensor *c = ct_bundle_need(data, "calib");
  const int n = (int)c->shape.d[0], ch = (int)c->shape.d[1];
  const int hw = (int)(c->shape.d[2] * c->shape.d[3]);
  float *x = to_nhwc(c->data, n, ch, hw);
  feed f = {.x = x, .n = n, .per = (int64_t)ch * hw};
  cz_quant_data d = {.ctx = &f, .start = f_start, .next = f_next, .total = n, .batch = 32};
  for (size_t s = 0; s < sizeof kStems / sizeof *kStems; s++) {
    char *src = cz_asprintf("%s/%s.onnx", dir, kStems[s]);
    char *dst = cz_asprintf("%s/%s_czoo.onnx", dir, kStems[s]);
    cz_graph *g = NULL, *q = NULL;
    cz_err *e = cz_onnx_import(src, &g);
    if (e) fail_msg("%s", cz_err_msg(e));
    cz_quant_opts o = cz_quant_default_opts();
    if ((e = cz_quantize(g, &o, &d, &q))) fail_msg("%s: %s", src, cz_err_msg(e));
    if ((e = cz_onnx_export(q, NULL, dst))) fail_msg("%s", cz_err_msg(e));
    printf("%s: written\n", dst);
    cz_graph_free(q);
    cz_graph_free(g);
    free(src), free(dst);
  }
  free(x);
}

static int argmax(const float *z, int k) {
  int b = 0;
  for (int i = 1; i < k; i++)
    if (z[i] > z[b]) b = i;
  return b;
}

static void check_file(const char *dir, const ct_bundle *data, const char *stem) {
  char *onnx = cz_asprintf("%s/%s.onnx", dir, stem), *czt = cz_asprintf("%s/%s.czt", dir, stem);
  ct_bundle *b = ct_bundle_read(czt);
  const ct_tensor *ort = ct_bundle_need(b, "ort"), *x = ct_bundle_need(data, "test");
  const float step = *(const float *)ct_bundle_need(b, "step")->data;
  int n = (int)x->shape.d[0];
  const char *lim = getenv("CZOO_INT8_IMAGES");
  if (lim && atoi(lim) > 0 && atoi(lim) < n) n = atoi(lim);
  const int c = (int)x->shape.d[1], hw = (int)(x->shape.d[2] * x->shape.d[3]);
  cz_graph *g = NULL;
  cz_err *e = cz_onnx_import(onnx, &g);
  if (e) fail_msg("%s", cz_err_msg(e));
  const int bs = 32;
  rt_plan *p = NULL;
  if ((e = rt_lower(g, bs, stem, &p))) fail_msg("%s", cz_err_msg(e));
  const int k = p->out_dims;
  assert_int_equal(k, (int)ort->shape.d[1]);
  int moves = 0, softmax = 0;
  for (int i = 0; i < p->n_steps; i++) {
    moves += p->steps[i].kind == RT_STEP_MOVE;
    softmax += p->steps[i].kind == RT_STEP_SOFTMAX;
  }
  assert_true(moves > 0);
  assert_int_equal(softmax, strstr(stem, "softmax") ? 1 : 0);
  float *y = cz_xmalloc((size_t)n * k * sizeof *y), *yr = cz_xmalloc((size_t)bs * k * sizeof *yr);
  int8_t *q = cz_xmalloc((size_t)bs * k);
  long mismatched = 0;
  for (int i0 = 0; i0 < n; i0 += bs) {
    const int m = n - i0 < bs ? n - i0 : bs;
    float *xb = to_nhwc((const float *)x->data + (size_t)i0 * c * hw, m, c, hw);
    rt_plan_run(p, xb, m, y + (size_t)i0 * k);
    if (i0 < 500) {
      memcpy(q, rt_plan_output_q(p), (size_t)m * k);
      rt_plan_run_ref(p, xb, m, yr);
      for (int j = 0; j < m * k; j++) mismatched += q[j] != rt_plan_output_q(p)[j];
    }
    free(xb);
  }
  long agree = 0, within = 0, exact = 0;
  const float *o = ort->data;
  for (int i = 0; i < n; i++) {
    agree += argmax(y + (size_t)i * k, k) == argmax(o + (size_t)i * k, k);
    for (int j = 0; j < k; j++) {
      double d = fabs((double)y[(size_t)i * k + j] - o[(size_t)i * k + j]) / step;
      within += d <= 1.0 + 1e-3;
      exact += d < 1e-3;
    }
  }
  const double pa = 100.0 * agree / n, pw = 100.0 * within / ((double)n * k);
  printf("%-22s %d steps (%d moves, %d softmax): top-1 agreement with onnxruntime %.2f %% "
         "(%ld/%d), outputs within one step %.3f %% (exact %.2f %%); fast vs reference "
         "kernels: %ld differing int8 outputs\n",
         stem, p->n_steps, moves, softmax, pa, agree, n, pw, 100.0 * exact / ((double)n * k),
         mismatched);
  assert_int_equal(mismatched, 0);
  assert_true(pa >= 99.5);
  assert_true(pw >= 99.0);
  rt_plan_free(p);
  cz_graph_free(g);
  ct_bundle_free(b);
  free(y), free(yr), free(q), free(onnx), free(czt);
}

static void test_shuffle(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_INT8_SHUFFLE_DIR");
  if (!dir) fail_msg("CZOO_INT8_SHUFFLE_DIR is not set (the gen_int8_shuffle.py fixture)");
  char *dp = cz_asprintf("%s/data.czt", dir);
  ct_bundle *data = ct_bundle_read(dp);
  const char *stage = getenv("CZOO_INT8_STAGE");
  if (stage && strcmp(stage, "quant") == 0) {
    quant_stage(dir, data);
  } else {
    for (size_t s = 0; s < sizeof kStems / sizeof *kStems; s++)
      for (int who = 0; who < 2; who++) {
        char *stem = cz_asprintf("%s_%s", kStems[s], who ? "czoo" : "ort");
        check_file(dir, data, stem);
        free(stem);
      }
  }
  ct_bundle_free(data);
  free(dp);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_shuffle)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
