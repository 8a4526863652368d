/* The quantizer (src/quant) against onnxruntime's quantize_static. Always:
 * compute_scale_zp's rule on hand-made ranges, an already quantized graph
 * refused. With CZOO_QDQ_DIR set (after test_qdq's export stage wrote the
 * float models there), quantizes them with czoo under several settings,
 * calibrating on seeded random images that it also writes as
 * `quant_calib.czt` (NCHW), into `<model>__<setting>.czoo.onnx`;
 * tests/oracle/check_quant.py then runs quantize_static with the same
 * images and settings and compares every scale and zero point.
 * CZOO_QUANT_QUICK=1 (valgrind): the first model, two settings, reading
 * the float models from CZOO_QDQ_SRC when set. */
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

#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/quant.h"
#include "quant/quant_priv.h"
#include "util/mem.h"

static void test_scale_zp(void **state) {
  (void)state;
  float s;
  int32_t z;
  /* asymmetric int8: [-1, 3] -> scale 4/255, zp round(-128 + 1/scale) = -64 */
  q_scale_zp(-1.0f, 3.0f, -128, 127, false, &s, &z);
  assert_true(s == (float)(4.0 / 255.0));
  assert_int_equal(z, (int32_t)nearbyint(-128.0 + 1.0 / (4.0 / 255.0)));
  /* the range always holds 0 */
  q_scale_zp(2.0f, 3.0f, 0, 255, false, &s, &z);
  assert_true(s == (float)(3.0 / 255.0));
  assert_int_equal(z, 0);
  /* symmetric int8 [-127, 127], zero point 0; uint8 [0, 254], 127 */
  q_scale_zp(-0.5f, 2.0f, -127, 127, true, &s, &z);
  assert_true(s == (float)(4.0 / 254.0));
  assert_int_equal(z, 0);
  q_scale_zp(-0.5f, 2.0f, 0, 254, true, &s, &z);
  assert_int_equal(z, 127);
  /* empty range: scale 1, zero point 0 */
  q_scale_zp(0.0f, 0.0f, -128, 127, false, &s, &z);
  assert_true(s == 1.0f && z == 0);
}

/* ---- the onnxruntime comparison ---- */

#define N_CAL 20
#define BATCH 8
#define HW 32

typedef struct {
  const float *x; /* NHWC, N_CAL images */
  int64_t pos;
} feed;

static cz_err *f_start(void *ctx) {
  ((feed *)ctx)->pos = 0;
  return NULL;
}

static cz_err *f_next(void *ctx, const float **x, int64_t *n) {
  feed *f = ctx;
  *n = N_CAL - f->pos < BATCH ? N_CAL - f->pos : BATCH;
  *x = f->x + f->pos * HW * HW * 3;
  f->pos += *n;
  return NULL;
}

static float uniform(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((*s >> 40) * (1.0 / 16777216.0));
}

/* A CZT1 bundle with one f32 tensor (tests/support/tensor_file.h layout). */
static void write_czt1(const char *path, const char *name, int rank, const int64_t *dims,
                       const float *data) {
  FILE *f = fopen(path, "wb");
  if (!f) fail_msg("cannot write %s", path);
  uint32_t cnt = 1;
  uint16_t len = (uint16_t)strlen(name);
  uint8_t kind = 0, r = (uint8_t)rank;
  int64_t numel = 1;
  for (int k = 0; k < rank; k++) numel *= dims[k];
  fwrite("CZT1", 1, 4, f);
  fwrite(&cnt, 4, 1, f);
  fwrite(&len, 2, 1, f);
  fwrite(name, 1, len, f);
  fwrite(&kind, 1, 1, f);
  fwrite(&r, 1, 1, f);
  fwrite(dims, 8, (size_t)rank, f);
  fwrite(data, 4, (size_t)numel, f);
  if (fclose(f) != 0) fail_msg("cannot write %s", path);
}

typedef struct {
  const char *name;
  bool all_models; /* run on every model, else on the first only */
  void (*set)(cz_quant_opts *o);
} setting;

static void s_pc(cz_quant_opts *o) { (void)o; }
static void s_pt(cz_quant_opts *o) { o->per_channel = false; }
static void s_pc_u8act(cz_quant_opts *o) { o->act_type = CZ_U8; }
static void s_pt_u8u8(cz_quant_opts *o) { o->per_channel = false, o->act_type = o->weight_type = CZ_U8; }
static void s_entropy(cz_quant_opts *o) { o->calib = CZ_QCAL_ENTROPY; }
static void s_percentile(cz_quant_opts *o) { o->calib = CZ_QCAL_PERCENTILE; }
static void s_movavg(cz_quant_opts *o) { o->moving_average = true; }
static void s_sym(cz_quant_opts *o) {
  o->per_channel = false, o->act_symmetric = true, o->weight_symmetric = 0;
}
static void s_nobias(cz_quant_opts *o) { o->quantize_bias = false; }

static const setting settings[] = {
    {"pc", true, s_pc},
    {"pt", true, s_pt},
    {"pc_u8act", false, s_pc_u8act},
    {"pt_u8u8", false, s_pt_u8u8},
    {"pc_entropy", false, s_entropy},
    {"pc_percentile", true, s_percentile},
    {"pc_movavg", false, s_movavg},
    {"pt_actsym_wasym", false, s_sym},
    {"pc_nobias", false, s_nobias},
};

static const char *const models[] = {"mobilenetv2_w035_pt", "st_resnetpico_actrelu_pt",
                                     "shufflenetv2_x050_pt", NULL};

static void test_against_ort(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_QDQ_DIR");
  if (!dir) {
    printf("CZOO_QDQ_DIR unset: no onnxruntime comparison\n");
    return;
  }
  mkdir(dir, 0755);
  /* images in [0, 1) normalized like ImageNet's mean/std, NCHW for onnxruntime */
  size_t per = (size_t)HW * HW * 3;
  float *nchw = cz_xmalloc(N_CAL * per * sizeof *nchw), *nhwc = cz_xmalloc(N_CAL * per * sizeof *nhwc);
  uint64_t s = 99;
  const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  for (int i = 0; i < N_CAL; i++)
    for (int c = 0; c < 3; c++)
      for (int p = 0; p < HW * HW; p++) {
        float v = (uniform(&s) - mean[c]) / sd[c];
        nchw[(size_t)i * per + (size_t)c * HW * HW + (size_t)p] = v;
        nhwc[(size_t)i * per + (size_t)p * 3 + (size_t)c] = v;
      }
  char *cp = cz_asprintf("%s/quant_calib.czt", dir);
  int64_t dims[4] = {N_CAL, 3, HW, HW};
  write_czt1(cp, "images", 4, dims, nchw);
  free(cp);
  feed f = {.x = nhwc};
  cz_quant_data d = {.ctx = &f, .start = f_start, .next = f_next, .total = N_CAL, .batch = BATCH};
  int done = 0;
  bool quick = getenv("CZOO_QUANT_QUICK") != NULL;
  for (int m = 0; models[m] && !(quick && m > 0); m++) {
    const char *sdir = getenv("CZOO_QDQ_SRC") ? getenv("CZOO_QDQ_SRC") : dir;
    char *src = cz_asprintf("%s/%s.onnx", sdir, models[m]);
    cz_graph *g = NULL;
    cz_err *e = cz_onnx_import(src, &g);
    if (e) fail_msg("%s", cz_err_msg(e));
    for (size_t k = 0; k < sizeof settings / sizeof *settings; k++) {
      if (m > 0 && !settings[k].all_models) continue;
      if (quick && strcmp(settings[k].name, "pc") != 0 && strcmp(settings[k].name, "pc_percentile") != 0)
        continue;
      cz_quant_opts o = cz_quant_default_opts();
      settings[k].set(&o);
      cz_graph *q = NULL;
      if ((e = cz_quantize(g, &o, &d, &q))) fail_msg("%s %s: %s", models[m], settings[k].name, cz_err_msg(e));
      assert_true(cz_graph_has_qdq(q) && cz_graph_is_quantized(q));
      char *path = cz_asprintf("%s/%s__%s.czoo.onnx", dir, models[m], settings[k].name);
      if ((e = cz_onnx_export(q, NULL, path))) fail_msg("%s", cz_err_msg(e));
      /* a quantized graph is refused */
      cz_graph *q2 = NULL;
      e = cz_quantize(q, &o, &d, &q2);
      assert_non_null(e);
      assert_string_equal(cz_err_msg(e), "quantization: the model is already quantized");
      cz_err_free(e);
      printf("wrote %s\n", path);
      free(path);
      cz_graph_free(q);
      done++;
    }
    cz_graph_free(g);
    free(src);
  }
  assert_true(done >= (quick ? 2 : 12));
  free(nchw), free(nhwc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scale_zp),
      cmocka_unit_test(test_against_ort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
