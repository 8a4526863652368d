/* QuantizeLinear / DequantizeLinear in the graph IR, their ONNX import and
 * export. Always: the ops' arithmetic on hand-made values (round half to
 * even, saturation, per-axis channels in both layouts, int32 biases, the
 * uint8 default when the zero point is absent) and shape errors.
 * With CZOO_QDQ_DIR set, one stage of the onnxruntime comparison
 * (tests/CMakeLists.txt chains them):
 *  - CZOO_QDQ_STAGE=export: writes small zoo models (10 classes, 32x32,
 *    BatchNorm statistics randomized) as float ONNX, `<name>.onnx`;
 *    tests/oracle/gen_qdq.py then runs onnxruntime's quantize_static on
 *    them and writes `<name>_qdq_<pc|pt>.onnx` with a `.czt` holding an
 *    input batch and onnxruntime's outputs with graph optimizations off
 *    (the Q/DQ nodes run as written: fake quantization);
 *  - CZOO_QDQ_STAGE=check: imports each QDQ file, runs it with the float
 *    executor and compares with onnxruntime's outputs: every logit is a
 *    multiple of the output scale, so a difference is a count of steps;
 *    we require max 1 step and at least 99% of logits equal (a Q input on
 *    a rounding boundary may round the other way after a different float
 *    summation order); then exports it again as `<case>.rt.onnx`, which
 *    tests/oracle/check_qdq_roundtrip.py passes through onnx.checker and
 *    onnxruntime. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "graph/exec.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "ops/op.h"
#include "tensor_file.h"
#include "util/mem.h"
#include "zoo/zoo.h"

/* ---- the ops on hand-made values ---- */

/* x [1,C,H,W] (given in NCHW order) -> Q(scale, zp, axis) -> DQ: returns
 * the executor after a forward; q and y are the Q and DQ outputs. */
typedef struct {
  cz_graph *g;
  cz_exec *ex;
  int q, y;
} qcase;

static qcase run_qdq(const int64_t *xd, const float *x, int n_sc, const float *sc, cz_dtype zt,
                     const void *zp, int axis) {
  qcase c = {.g = cz_graph_new("qdq")};
  cz_graph *g = c.g;
  int xv = cz_graph_input(g, "x", CZ_F32, cz_shape_make(4, xd));
  int64_t n = n_sc;
  cz_shape ss = n_sc == 1 ? cz_shape_make(0, NULL) : cz_shape_make(1, &n);
  int sv = cz_graph_const(g, "s", CZ_F32, ss, sc);
  int zv = zp ? cz_graph_const(g, "z", zt, ss, zp) : -1;
  int in[3] = {xv, sv, zv};
  int qn = cz_graph_node(g, "QuantizeLinear", "q", zp ? 3 : 2, in, 1, NULL);
  cz_node_set_int(g, qn, "axis", axis);
  c.q = cz_node_out(g, qn, 0);
  int in2[3] = {c.q, sv, zv};
  int dn = cz_graph_node(g, "DequantizeLinear", "dq", zp ? 3 : 2, in2, 1, NULL);
  cz_node_set_int(g, dn, "axis", axis);
  c.y = cz_node_out(g, dn, 0);
  cz_graph_mark_output(g, c.q);
  cz_graph_mark_output(g, c.y);
  cz_exec_opts eo = {0};
  cz_err *e = cz_exec_new(g, &eo, &c.ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_exec_set_input(c.ex, 0, x, CZ_ROWMAJOR);
  cz_exec_forward(c.ex);
  return c;
}

static void qcase_free(qcase *c) {
  cz_exec_free(c->ex);
  cz_graph_free(c->g);
}

/* Element i (NCHW order) of a value of the case. */
static double at(qcase *c, int v, int64_t i) {
  cz_tensor t = cz_exec_value(c->ex, v);
  int64_t st[CZ_MAX_RANK], off = 0, li = i;
  cz_strides(&t.shape, t.layout, st);
  for (int k = t.shape.rank - 1; k >= 0; k--) {
    off += (li % t.shape.d[k]) * st[k];
    li /= t.shape.d[k];
  }
  switch (t.dtype) {
  case CZ_I8: return ((int8_t *)t.data)[off];
  case CZ_U8: return ((uint8_t *)t.data)[off];
  default: return ((float *)t.data)[off];
  }
}

static void test_round_saturate(void **state) {
  (void)state;
  /* scale 0.5: x/scale = 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, 1000 -> 127, -1000 -> -128 */
  int64_t d[4] = {1, 1, 2, 4};
  float x[8] = {1.25f, 1.75f, -1.25f, 500.0f, -500.0f, 0.0f, 0.26f, -0.24f};
  float sc = 0.5f;
  int8_t zp = 1;
  qcase c = run_qdq(d, x, 1, &sc, CZ_I8, &zp, 1);
  const double want[8] = {3, 5, -1, 127, -128, 1, 2, 1};
  for (int i = 0; i < 8; i++) {
    assert_int_equal((int)at(&c, c.q, i), (int)want[i]);
    assert_true(at(&c, c.y, i) == (want[i] - 1) * 0.5);
  }
  assert_int_equal(c.g->values[c.q].dtype, CZ_I8);
  assert_int_equal(c.g->values[c.q].layout, CZ_NHWC);
  const cz_qparams *q = c.g->values[c.q].q;
  assert_non_null(q);
  assert_int_equal(q->n, 1);
  assert_int_equal(q->qtype, CZ_I8);
  assert_true(q->scale[0] == 0.5f && q->zero_point[0] == 1);
  qcase_free(&c);
  /* no zero point: uint8, zero 0, negatives saturate to 0 */
  qcase u = run_qdq(d, x, 1, &sc, CZ_U8, NULL, 1);
  assert_int_equal(u.g->values[u.q].dtype, CZ_U8);
  const double wu[8] = {2, 4, 0, 255, 0, 0, 1, 0};
  for (int i = 0; i < 8; i++) assert_int_equal((int)at(&u, u.q, i), (int)wu[i]);
  qcase_free(&u);
}

static void test_per_axis(void **state) {
  (void)state;
  /* [1,3,2,2], axis 1 (channels: the NHWC inner axis) and axis 2 */
  int64_t d[4] = {1, 3, 2, 2};
  float x[12];
  for (int i = 0; i < 12; i++) x[i] = (float)i * 0.7f - 3.0f;
  float sc[3] = {0.1f, 0.25f, 1.0f};
  uint8_t zp[3] = {128, 10, 0};
  qcase c = run_qdq(d, x, 3, sc, CZ_U8, zp, 1);
  for (int i = 0; i < 12; i++) {
    int ch = i / 4;
    double q = nearbyint((double)(x[i] / sc[ch])) + zp[ch];
    q = q < 0 ? 0 : q > 255 ? 255 : q;
    assert_int_equal((int)at(&c, c.q, i), (int)q);
    assert_true(at(&c, c.y, i) == (float)((int)q - zp[ch]) * sc[ch]);
  }
  qcase_free(&c);
  float s2[2] = {0.5f, 0.05f};
  int8_t z2[2] = {0, -3};
  qcase h = run_qdq(d, x, 2, s2, CZ_I8, z2, -2); /* axis 2 = H */
  for (int i = 0; i < 12; i++) {
    int r = (i / 2) % 2;
    double q = nearbyint((double)(x[i] / s2[r])) + z2[r];
    q = q < -128 ? -128 : q > 127 ? 127 : q;
    assert_int_equal((int)at(&h, h.q, i), (int)q);
  }
  qcase_free(&h);
}

/* DequantizeLinear of stored int8 / int32 tensors (weights, biases): the
 * output of a stored weight stays row-major; qparams annotate the input. */
static void test_dq_initializers(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("dq");
  int64_t wd[4] = {2, 1, 1, 2}, two = 2;
  int8_t w[4] = {-128, 5, 127, -1};
  int32_t b[2] = {-100000, 7};
  float ws[2] = {0.5f, 0.01f}, bs[2] = {1e-3f, 2e-3f};
  int wv = cz_graph_const(g, "w", CZ_I8, cz_shape_make(4, wd), w);
  int wsv = cz_graph_const(g, "ws", CZ_F32, cz_shape_make(1, &two), ws);
  int bv = cz_graph_const(g, "b", CZ_I32, cz_shape_make(1, &two), b);
  int bsv = cz_graph_const(g, "bs", CZ_F32, cz_shape_make(1, &two), bs);
  int in1[2] = {wv, wsv}, in2[2] = {bv, bsv};
  int n1 = cz_graph_node(g, "DequantizeLinear", "dqw", 2, in1, 1, NULL);
  cz_node_set_int(g, n1, "axis", 0);
  int n2 = cz_graph_node(g, "DequantizeLinear", "dqb", 2, in2, 1, NULL);
  cz_node_set_int(g, n2, "axis", 0);
  int yw = cz_node_out(g, n1, 0), yb = cz_node_out(g, n2, 0);
  cz_graph_mark_output(g, yw);
  cz_graph_mark_output(g, yb);
  cz_exec *ex = NULL;
  cz_exec_opts eo = {0};
  cz_err *e = cz_exec_new(g, &eo, &ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_exec_forward(ex);
  assert_int_equal(g->values[yw].layout, CZ_ROWMAJOR);
  const float *fw = cz_exec_value(ex, yw).data, *fb = cz_exec_value(ex, yb).data;
  assert_true(fw[0] == -64.0f && fw[1] == 2.5f && fw[2] == 127 * 0.01f && fw[3] == -0.01f);
  assert_true(fb[0] == (float)-100000 * 1e-3f && fb[1] == 7 * 2e-3f);
  assert_non_null(g->values[wv].q);
  assert_int_equal(g->values[wv].q->n, 2);
  assert_int_equal(g->values[wv].q->axis, 0);
  assert_int_equal(g->values[bv].q->qtype, CZ_I32);
  assert_true(cz_graph_has_qdq(g));
  assert_true(cz_graph_is_quantized(g));
  cz_exec_free(ex);
  cz_graph_free(g);
}

static void expect_infer_error(cz_graph *g, const char *want) {
  cz_err *e = cz_graph_infer(g);
  assert_non_null(e);
  if (!strstr(cz_err_msg(e), want)) fail_msg("got '%s', expected '%s'", cz_err_msg(e), want);
  cz_err_free(e);
  cz_graph_free(g);
}

static void test_errors(void **state) {
  (void)state;
  int64_t d[4] = {1, 3, 2, 2}, four = 4;
  float sc[4] = {1, 1, 1, 1};
  int32_t z32[4] = {0, 1, 0, 0};
  /* per-axis scale of the wrong length */
  cz_graph *g = cz_graph_new("e1");
  int in[3] = {cz_graph_input(g, "x", CZ_F32, cz_shape_make(4, d)),
               cz_graph_const(g, "s", CZ_F32, cz_shape_make(1, &four), sc), -1};
  cz_graph_node(g, "QuantizeLinear", "q", 2, in, 1, NULL);
  expect_infer_error(g, "node 'q' (QuantizeLinear): scale 's' has 4 values, expected 3 (dimension 1 of [1,3,2,2])");
  /* int32 zero point on a Q */
  g = cz_graph_new("e2");
  int64_t one = 1;
  int in2[3] = {cz_graph_input(g, "x", CZ_F32, cz_shape_make(4, d)),
                cz_graph_const(g, "s", CZ_F32, cz_shape_make(1, &one), sc),
                cz_graph_const(g, "z", CZ_I32, cz_shape_make(1, &one), z32)};
  cz_graph_node(g, "QuantizeLinear", "q", 3, in2, 1, NULL);
  expect_infer_error(g, "zero point 'z' is int32, expected int8 or uint8");
  /* int32 DQ with a non-zero zero point */
  g = cz_graph_new("e3");
  int in3[3] = {cz_graph_const(g, "b", CZ_I32, cz_shape_make(1, &four), z32),
                cz_graph_const(g, "s", CZ_F32, cz_shape_make(1, &four), sc),
                cz_graph_const(g, "z", CZ_I32, cz_shape_make(1, &four), z32)};
  int dn = cz_graph_node(g, "DequantizeLinear", "dq", 3, in3, 1, NULL);
  cz_node_set_int(g, dn, "axis", 0);
  expect_infer_error(g, "int32 zero point 'z' must be 0 (ONNX), got 1");
  /* float into DQ */
  g = cz_graph_new("e4");
  int in4[2] = {cz_graph_input(g, "x", CZ_F32, cz_shape_make(4, d)),
                cz_graph_const(g, "s", CZ_F32, cz_shape_make(0, NULL), sc)};
  cz_graph_node(g, "DequantizeLinear", "dq", 2, in4, 1, NULL);
  expect_infer_error(g, "input 0 'x' is float32, expected int8, uint8 or int32");
}

/* ---- the onnxruntime comparison stages ---- */

static const char *const models[] = {"st_resnetpico_actrelu_pt", "mobilenetv2_w035_pt",
                                     "shufflenetv2_x050_pt", NULL};

static float uniform(uint64_t *s, float lo, float hi) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * (float)((*s >> 40) * (1.0 / 16777216.0));
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

static void stage_export(const char *dir) {
  for (int m = 0; models[m]; m++) {
    cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(models[m]));
    o.num_classes = 10;
    o.height = o.width = 32;
    o.batch = 1;
    o.seed = 11;
    cz_graph *g = NULL;
    cz_err *e = cz_zoo_build(models[m], &o, &g);
    if (e) fail_msg("%s: %s", models[m], cz_err_msg(e));
    uint64_t s = 500 + (uint64_t)m;
    for (int i = 0; i < g->n_values; i++) {
      cz_value *v = &g->values[i];
      if (!v->data || v->dtype != CZ_F32) continue;
      float *p = v->data;
      for (int64_t k = 0; k < cz_shape_numel(&v->shape); k++) {
        if (ends_with(v->name, "running_var")) p[k] = uniform(&s, 0.5f, 1.5f);
        else if (ends_with(v->name, "running_mean") || ends_with(v->name, ".bias"))
          p[k] = uniform(&s, -0.2f, 0.2f);
      }
    }
    char *path = cz_asprintf("%s/%s.onnx", dir, models[m]);
    if ((e = cz_onnx_export(g, NULL, path))) fail_msg("%s: %s", models[m], cz_err_msg(e));
    printf("exported %s\n", path);
    free(path);
    cz_graph_free(g);
  }
}

/* One QDQ file against onnxruntime's outputs; exports the round trip. */
static void check_case(const char *dir, const char *stem) {
  char *onnx = cz_asprintf("%s/%s.onnx", dir, stem), *czt = cz_asprintf("%s/%s.czt", dir, stem);
  ct_bundle *b = ct_bundle_read(czt);
  const ct_tensor *x = ct_bundle_need(b, "input"), *ref = ct_bundle_need(b, "ort_fakequant");
  const ct_tensor *osc = ct_bundle_need(b, "output_scale");
  cz_graph *g = NULL;
  cz_err *e = cz_onnx_import(onnx, &g);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_true(cz_graph_has_qdq(g) && cz_graph_is_quantized(g));
  if ((e = cz_graph_set_batch(g, x->shape.d[0]))) fail_msg("%s", cz_err_msg(e));
  cz_exec *ex = NULL;
  cz_exec_opts eo = {0};
  if ((e = cz_exec_new(g, &eo, &ex))) fail_msg("%s: %s", stem, cz_err_msg(e));
  cz_exec_set_input(ex, 0, x->data, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  int64_t n = cz_numel(&y);
  assert_int_equal(n, cz_shape_numel(&ref->shape));
  float step = *(const float *)osc->data;
  int64_t same = 0;
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)((float *)y.data)[i] - ((const float *)ref->data)[i]) / step;
    if (d < 0.01) same++;
    if (d > worst) worst = d;
  }
  printf("%-36s %lld logits: %.2f%% equal to onnxruntime, max %.3f output steps\n", stem,
         (long long)n, 100.0 * (double)same / (double)n, worst);
  if (worst > 1.01 || (double)same < 0.99 * (double)n)
    fail_msg("%s: czoo's fake-quant logits differ from onnxruntime's", stem);
  char *rt = cz_asprintf("%s/%s.rt.onnx", dir, stem);
  if ((e = cz_onnx_export(g, NULL, rt))) fail_msg("%s: %s", stem, cz_err_msg(e));
  free(rt);
  cz_exec_free(ex);
  cz_graph_free(g);
  ct_bundle_free(b);
  free(onnx), free(czt);
}

static void stage_check(const char *dir) {
  int done = 0;
  for (int m = 0; models[m]; m++)
    for (int k = 0; k < 4; k++) {
      static const char *const suf[4] = {"qdq_pc", "qdq_pt", "qdq_pc_u8", "qdq_pt_u8"};
      char *stem = cz_asprintf("%s_%s", models[m], suf[k]);
      char *p = cz_asprintf("%s/%s.onnx", dir, stem);
      FILE *f = fopen(p, "rb");
      if (f) {
        fclose(f);
        check_case(dir, stem);
        done++;
      }
      free(p), free(stem);
    }
  assert_true(done >= 6);
}

static void test_ort_stage(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_QDQ_DIR"), *stage = getenv("CZOO_QDQ_STAGE");
  if (!dir || !stage) {
    printf("CZOO_QDQ_DIR / CZOO_QDQ_STAGE unset: no onnxruntime stage\n");
    return;
  }
  if (strcmp(stage, "export") == 0) {
    char *p = cz_xstrdup(dir); /* mkdir -p */
    for (char *c = p + 1; *c; c++)
      if (*c == '/') *c = 0, mkdir(p, 0755), *c = '/';
    mkdir(p, 0755);
    free(p);
    stage_export(dir);
  }
  else if (strcmp(stage, "check") == 0) stage_check(dir);
  else fail_msg("CZOO_QDQ_STAGE '%s': expected export or check", stage);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_saturate), cmocka_unit_test(test_per_axis),
      cmocka_unit_test(test_dq_initializers), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_ort_stage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
