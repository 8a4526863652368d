/* Hue jitter against torchvision 0.14's adjust_hue (PIL path) byte for
 * byte (the table path and the per-pixel reference), the table path
 * against the reference on all 2^24 colours, the four-op ColorJitter
 * chain, and the sampler's draws (order of four ops, hue factor range).
 * Tolerance: none, bytes must be equal. */
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

static ct_bundle *g_b;

static int setup(void **state) {
  (void)state;
  const char *d = getenv("CZOO_TF_HUE_DIR");
  if (!d) {
    fprintf(stderr, "CZOO_TF_HUE_DIR is not set (the oracle.gen_tf_hue fixture sets it)\n");
    return -1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/tf_hue.czt", d);
  g_b = ct_bundle_read(path);
  return g_b ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ct_bundle_free(g_b);
  return 0;
}

/* A private copy of a bundle image. */
static cz_image copy_of(const char *key) {
  const ct_tensor *t = ct_bundle_need(g_b, key);
  assert_int_equal(t->dtype, CZ_U8);
  cz_image im = {.h = (int)t->shape.d[0], .w = (int)t->shape.d[1], .c = (int)t->shape.d[2]};
  im.px = malloc(t->bytes);
  assert_non_null(im.px);
  memcpy(im.px, t->data, t->bytes);
  return im;
}

static void expect_same(const cz_image *got, const char *key) {
  const ct_tensor *t = ct_bundle_need(g_b, key);
  size_t n = (size_t)got->w * (size_t)got->h * (size_t)got->c;
  assert_int_equal(t->bytes, n);
  const uint8_t *w = t->data;
  size_t bad = 0, first = n;
  for (size_t i = 0; i < n; i++)
    if (got->px[i] != w[i]) {
      if (!bad) first = i;
      bad++;
    }
  if (bad)
    fail_msg("%s: %zu of %zu bytes differ; first at %zu: %u, torchvision %u", key, bad, n,
             first, got->px[first], w[first]);
}

static void test_hue_matches_torchvision(void **state) {
  (void)state;
  const ct_tensor *f = ct_bundle_need(g_b, "factors");
  const float *fac = f->data;
  const char *names[] = {"colors", "rand", "rgba"};
  for (size_t n = 0; n < 3; n++)
    for (int64_t k = 0; k < f->shape.d[0]; k++) {
      char in[64], want[64];
      snprintf(in, sizeof in, "img.%s", names[n]);
      snprintf(want, sizeof want, "hue.%s.%lld", names[n], (long long)k);
      cz_image im = copy_of(in);
      cz_image ref = copy_of(in);
      cz_tf_jitter(&im, CZ_JIT_HUE, fac[k]);
      expect_same(&im, want);
      cz_tf_hue_ref(&ref, fac[k]);
      expect_same(&ref, want);
      free(im.px);
      free(ref.px);
    }
}

static void test_chain_matches_torchvision(void **state) {
  (void)state;
  const int64_t *order = ct_bundle_need(g_b, "chain.order")->data;
  const float *fac = ct_bundle_need(g_b, "chain.factor")->data;
  cz_image im = copy_of("img.rand");
  for (int i = 0; i < 4; i++) cz_tf_jitter(&im, (int)order[i], fac[order[i]]);
  expect_same(&im, "chain.out");
  free(im.px);
}

/* The table path against Pillow's per-pixel expressions on every RGB
 * colour (a 4096 x 4096 image). One shift covers the tables: the hue
 * table is read before the shift, the HSV -> RGB ones after it at every
 * (h, s, v) the colours reach (the oracle cases cover other shifts). */
static void test_tables_match_reference_everywhere(void **state) {
  (void)state;
  enum { SIDE = 4096 };
  size_t n = (size_t)SIDE * SIDE * 3;
  cz_image a = {.w = SIDE, .h = SIDE, .c = 3, .px = malloc(n)},
           b = {.w = SIDE, .h = SIDE, .c = 3, .px = malloc(n)};
  assert_non_null(a.px);
  assert_non_null(b.px);
  const float fac[1] = {-0.37f};
  for (int k = 0; k < 1; k++) {
    for (size_t i = 0; i < (size_t)SIDE * SIDE; i++) {
      a.px[3 * i] = b.px[3 * i] = (uint8_t)(i >> 16);
      a.px[3 * i + 1] = b.px[3 * i + 1] = (uint8_t)(i >> 8);
      a.px[3 * i + 2] = b.px[3 * i + 2] = (uint8_t)i;
    }
    cz_tf_hue(&a, fac[k]);
    cz_tf_hue_ref(&b, fac[k]);
    for (size_t i = 0; i < n; i++)
      if (a.px[i] != b.px[i])
        fail_msg("factor %g, colour #%06zx: table %u, reference %u", (double)fac[k], i / 3,
                 a.px[i], b.px[i]);
  }
  free(a.px);
  free(b.px);
}

static void test_gray_and_shift(void **state) {
  (void)state;
  uint8_t px[6] = {0, 17, 99, 128, 200, 255};
  cz_image im = {.w = 3, .h = 2, .c = 1, .px = px};
  cz_tf_hue(&im, 0.37f);
  const uint8_t want[6] = {0, 17, 99, 128, 200, 255};
  assert_memory_equal(px, want, 6); /* torchvision: L images unchanged */
  /* numpy's np.uint8(f * 255): -0.7 -> 0, -12.3 -> 244, -127.5 -> 129. */
  assert_int_equal(cz_tf_hue_shift(-0.7f / 255.0f), 0);
  assert_int_equal(cz_tf_hue_shift(-0.5f), 129);
  assert_int_equal(cz_tf_hue_shift(0.5f), 127);
  assert_int_equal(cz_tf_hue_shift(0.1f), 25);
}

/* ColorJitter.get_params: a uniform order of all four ops, hue factors
 * uniform in [-h, h]; with hue off the old three-op draw is kept. */
static void test_sampler(void **state) {
  (void)state;
  cz_tf_train tf = {.jitter = {0.4, 0.4, 0.4, 0.3}};
  cz_rng rng = cz_rng_make(5, 1);
  enum { N = 40000 };
  int pos_of_hue[4] = {0};
  double sum = 0, lo = 1, hi = -1;
  for (int i = 0; i < N; i++) {
    cz_tf_train_params p = {0};
    cz_tf_train_sample_aug(&tf, &rng, &p);
    unsigned seen = 0;
    for (int k = 0; k < 4; k++) {
      seen |= 1u << p.order[k];
      if (p.order[k] == CZ_JIT_HUE) pos_of_hue[k]++;
    }
    assert_int_equal(seen, 15u);
    float h = p.factor[CZ_JIT_HUE];
    assert_true(h >= -0.3f && h <= 0.3f);
    sum += h;
    lo = fmin(lo, h);
    hi = fmax(hi, h);
  }
  /* Each position: N/4 = 10000, sd sqrt(N * 1/4 * 3/4) ~ 87; 5 sd. */
  for (int k = 0; k < 4; k++) assert_true(abs(pos_of_hue[k] - N / 4) < 435);
  /* Mean of U(-0.3, 0.3): sd 0.3 / sqrt(3 N) ~ 0.00087; 5 sd. */
  assert_true(fabs(sum / N) < 0.0044);
  assert_true(lo < -0.29 && hi > 0.29);
  tf.jitter[CZ_JIT_HUE] = 0;
  cz_tf_train_params p = {0};
  cz_tf_train_sample_aug(&tf, &rng, &p);
  assert_int_equal(p.order[3], CZ_JIT_HUE);
  assert_true(p.factor[CZ_JIT_HUE] == 0.0f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hue_matches_torchvision),
      cmocka_unit_test(test_chain_matches_torchvision),
      cmocka_unit_test(test_tables_match_reference_everywhere),
      cmocka_unit_test(test_gray_and_shift),
      cmocka_unit_test(test_sampler),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
