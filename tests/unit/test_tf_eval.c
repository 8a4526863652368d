/* The eval transform against PIL and torchvision: Image.resize for every
 * filter (bit-exact), timm's eval transform (geometry exact, values within
 * float rounding), the config-driven resize geometry and the error cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/tf.h"
#include "tensor_file.h"

static ct_bundle *bundle(void) {
  const char *d = getenv("CZOO_TF_DIR");
  if (!d) fail_msg("CZOO_TF_DIR is not set (the oracle.gen_tf_eval fixture sets it)");
  char path[4096];
  snprintf(path, sizeof path, "%s/tf_eval.czt", d);
  return ct_bundle_read(path);
}

/* A view of a u8 [h, w, c] tensor as an image (not owned). */
static cz_image image_of(const ct_bundle *b, const char *name) {
  char key[256];
  snprintf(key, sizeof key, "img.%s", name);
  const ct_tensor *t = ct_bundle_need(b, key);
  assert_int_equal(t->dtype, CZ_U8);
  assert_int_equal(t->shape.rank, 3);
  return (cz_image){.h = (int)t->shape.d[0], .w = (int)t->shape.d[1], .c = (int)t->shape.d[2],
                    .px = t->data};
}

static cz_interp interp_of(const char *s) {
  if (!strcmp(s, "nearest")) return CZ_INTERP_NEAREST;
  if (!strcmp(s, "bilinear")) return CZ_INTERP_BILINEAR;
  if (!strcmp(s, "bicubic")) return CZ_INTERP_BICUBIC;
  if (!strcmp(s, "area")) return CZ_INTERP_AREA;
  fail_msg("unknown filter %s", s);
  return CZ_INTERP_NEAREST;
}

static const float IMNET_MEAN[3] = {0.485f, 0.456f, 0.406f}, IMNET_STD[3] = {0.229f, 0.224f, 0.225f};

static void check_resize(const ct_bundle *b, const char *name, const char *filt, int w, int h,
                         int *n) {
  char key[256];
  snprintf(key, sizeof key, "rs.%s.%s.%dx%d", name, filt, w, h);
  const ct_tensor *want = ct_bundle_need(b, key);
  cz_image src = image_of(b, name), out;
  cz_err *err = cz_tf_resize(&src, w, h, interp_of(filt), &out);
  if (err) fail_msg("%s: %s", key, cz_err_msg(err));
  assert_int_equal(want->bytes, (size_t)w * (size_t)h * (size_t)src.c);
  const uint8_t *e = want->data;
  int maxd = 0;
  size_t first = SIZE_MAX;
  for (size_t i = 0; i < want->bytes; i++) {
    int d = abs((int)out.px[i] - (int)e[i]);
    if (d && first == SIZE_MAX) first = i;
    if (d > maxd) maxd = d;
  }
  /* Bit-exact: same filters, fixed-point weights and per-pass rounding. */
  if (maxd > 0)
    fail_msg("%s: max |diff| %d vs PIL (first at byte %zu: %d vs %d)", key, maxd, first,
             out.px[first], e[first]);
  cz_image_free(&out);
  (*n)++;
}

static void check_eval(const ct_bundle *b, const char *name, int c, int h, int w, int mn,
                       int *n) {
  char key[256];
  snprintf(key, sizeof key, "%s.%dx%dx%d.%d", name, c, h, w, mn);
  char ek[300], gk[300];
  snprintf(ek, sizeof ek, "ev.%s", key);
  snprintf(gk, sizeof gk, "geo.%s", key);
  const ct_tensor *want = ct_bundle_need(b, ek), *geo = ct_bundle_need(b, gk);
  cz_tf_eval tf = {.c = c, .h = h, .w = w, .mode = CZ_TF_TIMM, .interp = CZ_INTERP_BICUBIC,
                   .aspect = CZ_ASPECT_CROP};
  for (int i = 0; i < c; i++) {
    tf.mean[i] = mn == 1 ? 0.5f : IMNET_MEAN[i];
    tf.std[i] = mn == 1 ? 0.25f : IMNET_STD[i];
  }
  cz_image src = image_of(b, name);
  cz_tf_plan pl;
  cz_err *err = cz_tf_eval_plan(&tf, src.w, src.h, &pl);
  if (err) fail_msg("%s: %s", key, cz_err_msg(err));
  const int64_t *g = geo->data;
  if (pl.rw != g[0] || pl.rh != g[1] || pl.x0 != g[2] || pl.y0 != g[3])
    fail_msg("%s: plan %dx%d at (%d, %d), torchvision %lldx%lld at (%lld, %lld)", key, pl.rw,
             pl.rh, pl.x0, pl.y0, (long long)g[0], (long long)g[1], (long long)g[2],
             (long long)g[3]);
  size_t count = (size_t)h * (size_t)w * (size_t)c;
  assert_int_equal(want->bytes, count * sizeof(float));
  float *out = malloc(count * sizeof(float));
  assert_non_null(out);
  err = cz_tf_eval_apply(&tf, &src, out);
  if (err) fail_msg("%s: %s", key, cz_err_msg(err));
  const float *e = want->data;
  double maxd = 0.0;
  for (size_t i = 0; i < count; i++) maxd = fmax(maxd, fabs((double)out[i] - e[i]));
  /* The pixels are PIL's exactly and the float steps are torch's, so only
   * float rounding may differ; one 8-bit level would be 1/255/std. */
  if (maxd > 1e-6) fail_msg("%s: max |diff| %g vs torchvision", key, maxd);
  free(out);
  (*n)++;
}

static void test_matches_pil_and_torchvision(void **state) {
  (void)state;
  ct_bundle *b = bundle();
  const ct_tensor *cases = ct_bundle_need(b, "cases");
  char *text = strdup(cases->data);
  assert_non_null(text);
  int n_resize = 0, n_eval = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char kind[16], name[64], filt[16];
    int a1, a2, a3, a4;
    if (sscanf(line, "resize %63s %15s %d %d", name, filt, &a1, &a2) == 4)
      check_resize(b, name, filt, a1, a2, &n_resize);
    else if (sscanf(line, "eval %63s %d %d %d %d", name, &a1, &a2, &a3, &a4) == 5)
      check_eval(b, name, a1, a2, a3, a4, &n_eval);
    else if (sscanf(line, "%15s", kind) == 1)
      fail_msg("bad case line: %s", line);
  }
  assert_true(n_resize >= 60);
  assert_true(n_eval >= 8);
  free(text);
  ct_bundle_free(b);
}

/* Python's round(x.5) goes to the even neighbour. */
static void test_center_offset(void **state) {
  (void)state;
  assert_int_equal(cz_tf_center_offset(256, 224), 16);
  assert_int_equal(cz_tf_center_offset(225, 224), 0);  /* round(0.5) = 0 */
  assert_int_equal(cz_tf_center_offset(227, 224), 2);  /* round(1.5) = 2 */
  assert_int_equal(cz_tf_center_offset(229, 224), 2);  /* round(2.5) = 2 */
  assert_int_equal(cz_tf_center_offset(224, 224), 0);
  assert_int_equal(cz_tf_center_offset(200, 224), -12);
  assert_int_equal(cz_tf_center_offset(201, 224), -11); /* pad floor(23/2) first */
}

static cz_config config(int64_t *shape) {
  cz_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.model.input_shape = (cz_cints){.set = true, .n = 3, .v = shape};
  return cfg;
}

static void test_init_rule(void **state) {
  (void)state;
  int64_t shape[3] = {3, 224, 160};
  cz_config cfg = config(shape);
  cfg.preprocessing.interpolation = (cz_cenum){true, CZ_INTERP_NEAREST};
  cfg.preprocessing.aspect_ratio = (cz_cenum){true, CZ_ASPECT_PADDING};
  double m1[1] = {0.5}, s3[3] = {0.1, 0.2, 0.4};
  cfg.preprocessing.mean = (cz_cfloats){true, 1, m1};
  cfg.preprocessing.std = (cz_cfloats){true, 3, s3};
  cz_tf_eval tf;
  /* Default: timm's transform whatever resizing says. */
  assert_null(cz_tf_eval_init(&cfg, false, &tf));
  assert_int_equal(tf.mode, CZ_TF_TIMM);
  assert_int_equal(tf.interp, CZ_INTERP_BICUBIC);
  assert_int_equal(tf.c, 3);
  assert_int_equal(tf.h, 224);
  assert_int_equal(tf.w, 160);
  assert_true(tf.mean[2] == 0.5f && tf.std[1] == 0.2f);
  assert_null(cz_tf_eval_init(&cfg, true, &tf));
  assert_int_equal(tf.mode, CZ_TF_CONFIG);
  assert_int_equal(tf.interp, CZ_INTERP_NEAREST);
  assert_int_equal(tf.aspect, CZ_ASPECT_PADDING);
  /* Unset mean/std: ImageNet's. */
  cfg.preprocessing.mean.set = cfg.preprocessing.std.set = false;
  assert_null(cz_tf_eval_init(&cfg, false, &tf));
  assert_true(tf.mean[0] == 0.485f && tf.std[2] == 0.225f);
}

static void expect_plan(cz_aspect a, int iw, int ih, int rw, int rh, int x0, int y0) {
  cz_tf_eval tf = {.c = 3, .h = 100, .w = 200, .mode = CZ_TF_CONFIG,
                   .interp = CZ_INTERP_BILINEAR, .aspect = a};
  cz_tf_plan p;
  assert_null(cz_tf_eval_plan(&tf, iw, ih, &p));
  if (p.rw != rw || p.rh != rh || p.x0 != x0 || p.y0 != y0)
    fail_msg("aspect %d, %dx%d: %dx%d at (%d, %d), want %dx%d at (%d, %d)", (int)a, iw, ih, p.rw,
             p.rh, p.x0, p.y0, rw, rh, x0, y0);
}

static void test_config_geometry(void **state) {
  (void)state;
  expect_plan(CZ_ASPECT_FIT, 640, 480, 200, 100, 0, 0);
  expect_plan(CZ_ASPECT_CROP, 640, 480, 200, 150, 0, 25);   /* width binds */
  expect_plan(CZ_ASPECT_CROP, 500, 100, 500, 100, 150, 0);  /* height binds */
  expect_plan(CZ_ASPECT_PADDING, 640, 480, 133, 100, -33, 0);
  expect_plan(CZ_ASPECT_PADDING, 1000, 100, 200, 20, 0, -40);

  /* Padding pixels are black before normalization: (0 - mean) / std. */
  uint8_t px[2 * 2 * 3];
  memset(px, 255, sizeof px);
  cz_image img = {.w = 2, .h = 2, .c = 3, .px = px};
  cz_tf_eval tf = {.c = 3, .h = 4, .w = 8, .mode = CZ_TF_CONFIG, .interp = CZ_INTERP_NEAREST,
                   .aspect = CZ_ASPECT_PADDING};
  for (int i = 0; i < 3; i++) tf.mean[i] = 0.5f, tf.std[i] = 0.5f;
  float out[4 * 8 * 3];
  assert_null(cz_tf_eval_apply(&tf, &img, out));
  assert_float_equal(out[0], -1.0f, 0.0f);             /* (0, 0): pad */
  assert_float_equal(out[(0 * 8 + 2) * 3], 1.0f, 0.0f); /* (0, 2): image */
  assert_float_equal(out[(3 * 8 + 5) * 3], 1.0f, 0.0f);
  assert_float_equal(out[(3 * 8 + 6) * 3], -1.0f, 0.0f);
}

static void expect_err(cz_err *err, const char *part) {
  assert_non_null(err);
  if (!strstr(cz_err_msg(err), part)) fail_msg("error \"%s\" lacks \"%s\"", cz_err_msg(err), part);
  cz_err_free(err);
}

static void test_errors(void **state) {
  (void)state;
  uint8_t px[4 * 3 * 3] = {0};
  cz_image img = {.w = 4, .h = 3, .c = 3, .px = px}, out = {0};
  expect_err(cz_tf_resize(&img, 0, 5, CZ_INTERP_BILINEAR, &out), "bad target size 0x5");
  assert_null(out.px);
  expect_err(cz_tf_resize(&img, 5, -1, CZ_INTERP_NEAREST, &out), "bad target size");
  cz_image empty = {0};
  expect_err(cz_tf_resize(&empty, 5, 5, CZ_INTERP_BICUBIC, &out), "empty");

  cz_tf_eval tf = {.c = 1, .h = 8, .w = 8, .mode = CZ_TF_TIMM, .interp = CZ_INTERP_BICUBIC};
  tf.mean[0] = 0.5f;
  tf.std[0] = 0.5f;
  float buf[64];
  expect_err(cz_tf_eval_apply(&tf, &img, buf), "image has 3 channels, the model takes 1");
  tf.h = 0;
  cz_tf_plan pl;
  expect_err(cz_tf_eval_plan(&tf, 4, 3, &pl), "bad target size");

  int64_t shape[3] = {3, 32, 32};
  cz_config cfg = config(shape);
  double two[2] = {0.5, 0.5}, zero[1] = {0.0};
  cfg.preprocessing.mean = (cz_cfloats){true, 2, two};
  expect_err(cz_tf_eval_init(&cfg, false, &tf), "preprocessing.mean: 2 values for 3 channels");
  cfg.preprocessing.mean.set = false;
  cfg.preprocessing.std = (cz_cfloats){true, 1, zero};
  expect_err(cz_tf_eval_init(&cfg, false, &tf), "std");
  cfg.preprocessing.std.set = false;
  shape[0] = 2;
  expect_err(cz_tf_eval_init(&cfg, false, &tf), "2 channels");
  shape[0] = 3;
  shape[1] = 0;
  expect_err(cz_tf_eval_init(&cfg, false, &tf), "bad size 0x32");
  cfg.model.input_shape.set = false;
  expect_err(cz_tf_eval_init(&cfg, false, &tf), "expected [C, H, W]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_pil_and_torchvision),
      cmocka_unit_test(test_center_offset),
      cmocka_unit_test(test_init_rule),
      cmocka_unit_test(test_config_geometry),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
