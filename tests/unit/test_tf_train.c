/* The train transform against torchvision's functional ops on PIL images
 * (explicit parameters), our sampler's distributions against torchvision's
 * get_params statistics, and determinism in the rng. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/tf_train.h"
#include "tensor_file.h"

static ct_bundle *bundle(void) {
  const char *d = getenv("CZOO_TF_DIR");
  if (!d) fail_msg("CZOO_TF_DIR is not set (the oracle.gen_tf_train fixture sets it)");
  char path[4096];
  snprintf(path, sizeof path, "%s/tf_train.czt", d);
  return ct_bundle_read(path);
}

static cz_image image_of(const ct_bundle *b, const char *name) {
  char key[256];
  snprintf(key, sizeof key, "img.%s", name);
  const ct_tensor *t = ct_bundle_need(b, key);
  assert_int_equal(t->dtype, CZ_U8);
  return (cz_image){.h = (int)t->shape.d[0], .w = (int)t->shape.d[1], .c = (int)t->shape.d[2],
                    .px = t->data};
}

static const float IMNET_MEAN[3] = {0.485f, 0.456f, 0.406f}, IMNET_STD[3] = {0.229f, 0.224f, 0.225f};

static cz_tf_train base_tf(int c, int h, int w) {
  cz_tf_train tf = {.scale = {0.08, 1.0}, .ratio = {0.75, 4.0 / 3.0}, .n_interp = 2,
                    .interp = {CZ_INTERP_BILINEAR, CZ_INTERP_BICUBIC}, .hflip = 0.5,
                    .jitter = {0.4, 0.4, 0.4}};
  tf.eval = (cz_tf_eval){.c = c, .h = h, .w = w, .mode = CZ_TF_TIMM, .interp = CZ_INTERP_BICUBIC};
  for (int i = 0; i < c; i++) {
    tf.eval.mean[i] = c == 3 ? IMNET_MEAN[i] : 0.5f;
    tf.eval.std[i] = c == 3 ? IMNET_STD[i] : 0.25f;
  }
  return tf;
}

static int n_apply, n_off_by_one;

static void check_apply(const ct_bundle *b, const char *line) {
  char name[64], interp[16];
  int c, h, w, x, y, cw, ch, hf, vf, o[3], k;
  float f[3];
  if (sscanf(line, "apply %63s %d %d %d %d %d %d %d %15s %d %d %d %d %d %g %g %g %d", name, &c,
             &h, &w, &x, &y, &cw, &ch, interp, &hf, &vf, &o[0], &o[1], &o[2], &f[0], &f[1], &f[2],
             &k) != 18)
    fail_msg("bad case line: %s", line);
  cz_tf_train tf = base_tf(c, h, w);
  cz_tf_train_params p = {.x = x, .y = y, .w = cw, .h = ch, .hflip = hf, .vflip = vf};
  p.interp = !strcmp(interp, "bilinear") ? CZ_INTERP_BILINEAR
             : !strcmp(interp, "bicubic") ? CZ_INTERP_BICUBIC : CZ_INTERP_NEAREST;
  for (int i = 0; i < 3; i++) {
    p.order[i] = o[i];
    p.factor[i] = f[i];
  }
  char key[64];
  snprintf(key, sizeof key, "ap.%d", k);
  const ct_tensor *want = ct_bundle_need(b, key);
  size_t count = (size_t)h * (size_t)w * (size_t)c;
  assert_int_equal(want->bytes, count * sizeof(float));
  float *out = malloc(count * sizeof(float));
  assert_non_null(out);
  cz_image src = image_of(b, name);
  cz_err *err = cz_tf_train_apply_params(&tf, &src, &p, out);
  if (err) fail_msg("%s: %s", line, cz_err_msg(err));
  const float *e = want->data;
  for (size_t i = 0; i < count; i++) {
    /* In 8-bit levels: the pixels should be PIL's exactly; allow one level
     * (float rounding of a blend landing on an integer), and count them. */
    double lv = fabs((double)out[i] - e[i]) * tf.eval.std[i % (size_t)c] * 255.0;
    if (lv > 1.0 + 1e-3) fail_msg("%s: value %zu off by %.3f levels", line, i, lv);
    if (lv > 1e-3) n_off_by_one++;
  }
  free(out);
  n_apply++;
}

/* Our sampler's statistics vs torchvision's over the same number of
 * draws: means within 5 combined standard errors. */
static void check_stats(const ct_bundle *b, int iw, int ih, int n) {
  char key[64];
  snprintf(key, sizeof key, "st.%dx%d", iw, ih);
  const ct_tensor *t = ct_bundle_need(b, key);
  assert_int_equal(t->dtype, CZ_F32);
  const float *tv = t->data;
  double sa = 0, saa = 0, sl = 0, sll = 0;
  int nfb = 0, nbox = 0;
  double scale[2] = {0.08, 1.0}, ratio[2] = {0.75, 4.0 / 3.0};
  int fx = 0, fy = 0, fw = 0, fh = 0;
  bool fb;
  cz_rng r0 = cz_rng_make(1, 0);
  for (int i = 0; i < 11; i++) cz_rng_u32(&r0);
  /* The fallback box itself, from a degenerate scale that always misses. */
  double never[2] = {2.0, 2.0};
  cz_tf_rrc_params(iw, ih, never, ratio, &r0, &fx, &fy, &fw, &fh, &fb);
  assert_true(fb);
  cz_rng rng = cz_rng_make(2024, (uint64_t)iw * 1000 + (uint64_t)ih);
  for (int i = 0; i < n; i++) {
    int x, y, w, h;
    cz_tf_rrc_params(iw, ih, scale, ratio, &rng, &x, &y, &w, &h, &fb);
    assert_true(w >= 1 && h >= 1 && x >= 0 && y >= 0 && x + w <= iw && y + h <= ih);
    double a = (double)w * h / ((double)iw * ih), l = log((double)w / h);
    if (!fb) {
      /* Rounding of w and h moves an accepted crop slightly off the range. */
      assert_true(a <= 1.0);
      assert_true(fabs(l) < log(4.0 / 3.0) + 2.0 / fmin(w, h) + 1e-9);
    }
    sa += a;
    saa += a * a;
    sl += l;
    sll += l * l;
    nfb += fb;
    nbox += x == fx && y == fy && w == fw && h == fh;
  }
  double ma = sa / n, ml = sl / n, va = saa / n - ma * ma, vl = sll / n - ml * ml;
  double sea = sqrt((va + (double)tv[1] * tv[1]) / n), sel = sqrt((vl + (double)tv[3] * tv[3]) / n);
  double pb = (double)nbox / n, pt = tv[4];
  double sep = sqrt(fmax(pb * (1 - pb) + pt * (1 - pt), 1.0 / n) / n);
  print_message("  %dx%d: area %.4f vs %.4f (se %.4f), log ratio %.4f vs %.4f (se %.4f), "
                "fallback box %.4f vs %.4f, fallback taken %.4f\n",
                iw, ih, ma, tv[0], sea, ml, tv[2], sel, pb, pt, (double)nfb / n);
  assert_true(fabs(ma - tv[0]) <= 5 * sea + 1e-6);
  assert_true(fabs(ml - tv[2]) <= 5 * sel + 1e-6);
  assert_true(fabs(pb - pt) <= 5 * sep);
  assert_true(nfb <= nbox);
  if (iw >= 64) assert_true(ma >= 0.08 && ma <= 1.0);
}

static void test_matches_torchvision(void **state) {
  (void)state;
  ct_bundle *b = bundle();
  const ct_tensor *cases = ct_bundle_need(b, "cases");
  char *text = strdup(cases->data);
  assert_non_null(text);
  int n_stats = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    int iw, ih, n;
    if (!strncmp(line, "apply ", 6))
      check_apply(b, line);
    else if (sscanf(line, "stats %d %d %d", &iw, &ih, &n) == 3)
      check_stats(b, iw, ih, n), n_stats++;
    else
      fail_msg("bad case line: %s", line);
  }
  print_message("  %d explicit cases, %d values off by one level\n", n_apply, n_off_by_one);
  assert_true(n_apply >= 24);
  assert_true(n_stats >= 5);
  free(text);
  ct_bundle_free(b);
}

/* Flip frequency, jitter factor ranges and order permutations. */
static void test_sampler(void **state) {
  (void)state;
  cz_tf_train tf = base_tf(3, 8, 8);
  tf.vflip = 0.2;
  tf.jitter[2] = 0.0;
  cz_rng rng = cz_rng_make(5, 6);
  const int n = 20000;
  int nh = 0, nv = 0, ninterp = 0, first[3] = {0};
  for (int i = 0; i < n; i++) {
    cz_tf_train_params p;
    cz_tf_train_sample(&tf, 100, 80, &rng, &p);
    nh += p.hflip;
    nv += p.vflip;
    ninterp += p.interp == CZ_INTERP_BICUBIC;
    assert_true(p.factor[0] >= 0.6f && p.factor[0] <= 1.4f);
    assert_true(p.factor[1] >= 0.6f && p.factor[1] <= 1.4f);
    assert_true(p.factor[2] == 1.0f);
    int seen = 0;
    for (int k = 0; k < 3; k++) seen |= 1 << p.order[k];
    assert_int_equal(seen, 7);
    first[p.order[0]]++;
  }
  /* Binomial: 5 standard deviations. */
  assert_true(fabs(nh - 0.5 * n) <= 5 * sqrt(n * 0.25));
  assert_true(fabs(nv - 0.2 * n) <= 5 * sqrt(n * 0.16));
  assert_true(fabs(ninterp - 0.5 * n) <= 5 * sqrt(n * 0.25));
  for (int k = 0; k < 3; k++) assert_true(fabs(first[k] - n / 3.0) <= 5 * sqrt(n * 2.0 / 9.0));
}

static void test_deterministic(void **state) {
  (void)state;
  cz_tf_train tf = base_tf(3, 16, 16);
  cz_image img = {.w = 40, .h = 30, .c = 3, .px = malloc(40 * 30 * 3)};
  assert_non_null(img.px);
  for (int i = 0; i < 40 * 30 * 3; i++) img.px[i] = (uint8_t)(i * 37 + i / 7);
  float a[16 * 16 * 3], b[16 * 16 * 3], c[16 * 16 * 3];
  cz_rng r1 = cz_rng_make(9, 1), r2 = cz_rng_make(9, 1), r3 = cz_rng_make(9, 2);
  assert_null(cz_tf_train_apply(&tf, &img, &r1, a));
  assert_null(cz_tf_train_apply(&tf, &img, &r2, b));
  assert_null(cz_tf_train_apply(&tf, &img, &r3, c));
  assert_memory_equal(a, b, sizeof a);
  assert_true(memcmp(a, c, sizeof a) != 0);
  /* no_aug ignores the rng and centre-crops a resized image. */
  tf.no_aug = true;
  assert_null(cz_tf_train_apply(&tf, &img, &r1, a));
  assert_null(cz_tf_train_apply(&tf, &img, &r3, b));
  assert_memory_equal(a, b, sizeof a);
  free(img.px);
}

static void test_init_defaults(void **state) {
  (void)state;
  cz_config cfg;
  memset(&cfg, 0, sizeof cfg);
  int64_t shape[3] = {3, 32, 32};
  cfg.model.input_shape = (cz_cints){.set = true, .n = 3, .v = shape};
  cz_tf_train tf;
  assert_null(cz_tf_train_init(&cfg, &tf));
  assert_true(tf.scale[0] == 0.08 && tf.scale[1] == 1.0 && tf.hflip == 0.5 && tf.vflip == 0.0);
  assert_int_equal(tf.n_interp, 2);
  assert_true(tf.jitter[0] == 0.4 && tf.jitter[2] == 0.4);
  char bad[] = "lanczos";
  cfg.data_augmentation.train_interpolation = (cz_cstr){.set = true, .v = bad};
  cz_err *err = cz_tf_train_init(&cfg, &tf);
  assert_non_null(err);
  cz_err_free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_torchvision),
      cmocka_unit_test(test_sampler),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_init_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
