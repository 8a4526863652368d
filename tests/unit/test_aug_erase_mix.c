/* RandomErasing and Mixup/CutMix (timm semantics): box and lam
 * distributions, fills, targets, splits, errors and determinism. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "data/aug_erase.h"
#include "data/aug_mixup.h"

static void fill_const(float *p, size_t n, float v) {
  for (size_t i = 0; i < n; i++) p[i] = v;
}

static int in_box(cz_aug_box b, int y, int x) {
  return y >= b.top && y < b.top + b.h && x >= b.left && x < b.left + b.w;
}

/* Box areas and aspects stay in timm's ranges (slack for rounding), the
 * box is 0 and everything else is untouched. */
static void test_erase_boxes(void **state) {
  (void)state;
  enum { H = 96, W = 96, C = 3, DRAWS = 400 };
  cz_aug_erase_opts o = cz_aug_erase_opts_default();
  o.prob = 1.0;
  float *img = malloc(sizeof(float) * H * W * C);
  cz_rng rng = cz_rng_make(7, 1);
  double amin = 1, amax = 0, rmin = 100, rmax = 0;
  for (int d = 0; d < DRAWS; d++) {
    fill_const(img, (size_t)H * W * C, 7.0f);
    cz_aug_box b;
    assert_int_equal(cz_aug_erase_image(&o, &rng, img, H, W, C, &b, 1), 1);
    double a = (double)b.h * b.w / (H * W), r = (double)b.h / b.w;
    amin = fmin(amin, a), amax = fmax(amax, a), rmin = fmin(rmin, r), rmax = fmax(rmax, r);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        for (int k = 0; k < C; k++)
          assert_true(img[(y * W + x) * C + k] == (in_box(b, y, x) ? 0.0f : 7.0f));
  }
  print_message("erase area [%.4f, %.4f], aspect [%.3f, %.3f]\n", amin, amax, rmin, rmax);
  assert_true(amin >= 0.02 * 0.85 && amax <= (1.0 / 3.0) * 1.15);
  assert_true(rmin >= 0.3 * 0.85 && rmax <= (1.0 / 0.3) * 1.15);
  /* The draws should reach near both ends of both ranges. */
  assert_true(amin < 0.04 && amax > 0.25 && rmin < 0.45 && rmax > 2.2);
  free(img);
}

static void test_erase_probability(void **state) {
  (void)state;
  enum { H = 64, W = 64, N = 4000 };
  cz_aug_erase_opts o = cz_aug_erase_opts_default();
  o.prob = 0.3;
  float *img = calloc(H * W, sizeof(float));
  cz_rng rng = cz_rng_make(11, 2);
  int hit = 0;
  for (int i = 0; i < N; i++) hit += cz_aug_erase_image(&o, &rng, img, H, W, 1, NULL, 0) > 0;
  double sd = sqrt(N * 0.3 * 0.7);
  print_message("erased %d of %d (expect %.0f +- %.1f)\n", hit, N, N * 0.3, sd);
  assert_true(fabs(hit - N * 0.3) < 5 * sd);
  free(img);
}

static void test_erase_count(void **state) {
  (void)state;
  cz_aug_erase_opts o = cz_aug_erase_opts_default();
  o.prob = 1.0, o.count = 3;
  float img[64 * 64];
  cz_rng rng = cz_rng_make(3, 3);
  int seen[4] = {0};
  for (int i = 0; i < 600; i++) {
    int k = cz_aug_erase_image(&o, &rng, img, 64, 64, 1, NULL, 0);
    assert_true(k >= 1 && k <= 3);
    seen[k]++;
  }
  assert_true(seen[1] > 100 && seen[2] > 100 && seen[3] > 100);
}

static void test_erase_fill_modes(void **state) {
  (void)state;
  enum { H = 64, W = 64, C = 3 };
  static float img[H * W * C];
  cz_aug_erase_opts o = cz_aug_erase_opts_default();
  o.prob = 1.0;
  cz_erase_mode m;
  assert_null(cz_aug_erase_parse_mode("rand", &m));
  o.mode = m;
  cz_rng rng = cz_rng_make(5, 5);
  for (int rep = 0; rep < 20; rep++) {
    fill_const(img, sizeof img / sizeof *img, 9.0f);
    cz_aug_box b;
    cz_aug_erase_image(&o, &rng, img, H, W, C, &b, 1);
    const float *first = img + (b.top * W + b.left) * C;
    assert_true(first[0] != first[1] && first[1] != first[2]);
    for (int y = b.top; y < b.top + b.h; y++)
      for (int x = b.left; x < b.left + b.w; x++)
        for (int k = 0; k < C; k++) assert_true(img[(y * W + x) * C + k] == first[k]);
  }
  assert_null(cz_aug_erase_parse_mode("pixel", &m));
  o.mode = m;
  double s = 0, s2 = 0;
  long cnt = 0;
  for (int rep = 0; rep < 20; rep++) {
    fill_const(img, sizeof img / sizeof *img, 9.0f);
    cz_aug_box b;
    cz_aug_erase_image(&o, &rng, img, H, W, C, &b, 1);
    for (int y = b.top; y < b.top + b.h; y++)
      for (int x = b.left; x < b.left + b.w; x++)
        for (int k = 0; k < C; k++) {
          double v = img[(y * W + x) * C + k];
          s += v, s2 += v * v, cnt++;
        }
  }
  double mean = s / cnt, var = s2 / cnt - mean * mean;
  print_message("pixel fill: %ld values, mean %.4f, var %.4f\n", cnt, mean, var);
  assert_true(fabs(mean) < 5 / sqrt((double)cnt) && fabs(var - 1) < 0.05);
  cz_err *e = cz_aug_erase_parse_mode("blur", &m);
  assert_non_null(e);
  cz_err_free(e);
}

static void test_erase_clean_split(void **state) {
  (void)state;
  enum { N = 8, H = 32, W = 32 };
  static float x[N * H * W];
  fill_const(x, N * H * W, 4.0f);
  cz_aug_erase_opts o = cz_aug_erase_opts_default();
  o.prob = 1.0, o.num_splits = 2;
  cz_rng rng = cz_rng_make(1, 1);
  cz_aug_erase_batch(&o, &rng, x, N, H, W, 1);
  for (int i = 0; i < N; i++) {
    int zeros = 0;
    for (int p = 0; p < H * W; p++) zeros += x[i * H * W + p] == 0.0f;
    if (i < N / 2) assert_int_equal(zeros, 0);
    else assert_true(zeros > 0);
  }
}

/* A batch whose every value says where it came from. */
static void fill_batch(float *x, int n, size_t img) {
  for (int i = 0; i < n; i++)
    for (size_t p = 0; p < img; p++) x[(size_t)i * img + p] = (float)(i * 100000 + (int)p);
}

static cz_aug_mix_opts mix_opts(double mixup, double cutmix, cz_mix_mode mode) {
  cz_aug_mix_opts o = cz_aug_mix_opts_default();
  o.mixup_alpha = mixup, o.cutmix_alpha = cutmix, o.mode = mode, o.num_classes = 5;
  return o;
}

static void test_mix_targets_exact(void **state) {
  (void)state;
  enum { N = 4, H = 4, W = 4, C = 2, K = 5 };
  float x[N * H * W * C], x0[N * H * W * C], soft[N * K];
  int64_t y[N] = {0, 3, 3, 1};
  double lam[N];
  for (int mode = CZ_MIX_BATCH; mode <= CZ_MIX_ELEM; mode++) {
    cz_aug_mix_opts o = mix_opts(0.8, 1.0, (cz_mix_mode)mode);
    o.smoothing = 0.1;
    for (uint64_t b = 0; b < 30; b++) {
      fill_batch(x, N, H * W * C);
      memcpy(x0, x, sizeof x);
      cz_rng rng = cz_aug_mix_stream(9, 1, b);
      int cut[N];
      assert_null(cz_aug_mix_apply(&o, &rng, x, y, soft, N, H, W, C, lam, cut));
      double off = 0.1 / K, on = 1 - 0.1 + off;
      for (int i = 0; i < N; i++) {
        int j = N - 1 - i;
        if (mode != CZ_MIX_ELEM) assert_true(lam[i] == lam[j]);
        if (mode == CZ_MIX_BATCH) assert_true(lam[i] == lam[0]);
        double sum = 0;
        for (int k = 0; k < K; k++) {
          float want = (float)(lam[i] * (k == y[i] ? on : off) + (1 - lam[i]) * (k == y[j] ? on : off));
          assert_true(soft[i * K + k] == want);
          sum += soft[i * K + k];
        }
        assert_true(fabs(sum - 1) < 1e-6);
        if (!cut[i] && lam[i] != 1.0) /* mixup: an exact blend with the partner */
          for (int p = 0; p < H * W * C; p++)
            assert_true(x[i * H * W * C + p] ==
                        x0[i * H * W * C + p] * (float)lam[i] + x0[j * H * W * C + p] * (float)(1 - lam[i]));
      }
    }
  }
}

/* CutMix: a rectangle of the partner's pixels, the rest unchanged, and the
 * corrected lam is 1 - box area / image area. */
static void test_cutmix_box(void **state) {
  (void)state;
  enum { N = 4, H = 16, W = 12, C = 3, K = 5 };
  float x[N * H * W * C], x0[N * H * W * C], soft[N * K];
  int64_t y[N] = {1, 2, 3, 4};
  for (int mode = CZ_MIX_BATCH; mode <= CZ_MIX_ELEM; mode++) {
    cz_aug_mix_opts o = mix_opts(0.0, 1.0, (cz_mix_mode)mode);
    for (uint64_t b = 0; b < 50; b++) {
      fill_batch(x, N, H * W * C);
      memcpy(x0, x, sizeof x);
      cz_rng rng = cz_aug_mix_stream(2, 0, b);
      double lam[N];
      int cut[N];
      assert_null(cz_aug_mix_apply(&o, &rng, x, y, soft, N, H, W, C, lam, cut));
      for (int i = 0; i < N; i++) {
        assert_true(cut[i]);
        int j = N - 1 - i, moved = 0, y0 = H, y1 = -1, x0b = W, x1 = -1;
        for (int yy = 0; yy < H; yy++)
          for (int xx = 0; xx < W; xx++) {
            size_t p = (size_t)(yy * W + xx) * C;
            const float *v = x + i * H * W * C + p;
            int from_j = v[0] == x0[j * H * W * C + p];
            if (!from_j) assert_true(v[0] == x0[i * H * W * C + p]);
            for (int k = 1; k < C; k++)
              assert_true(v[k] == x0[(from_j ? j : i) * H * W * C + p + k]);
            if (from_j) {
              moved++;
              y0 = yy < y0 ? yy : y0, y1 = yy > y1 ? yy : y1;
              x0b = xx < x0b ? xx : x0b, x1 = xx > x1 ? xx : x1;
            }
          }
        if (moved) assert_int_equal(moved, (y1 - y0 + 1) * (x1 - x0b + 1)); /* a rectangle */
        assert_true(lam[i] == 1.0 - (double)moved / (H * W));
      }
    }
  }
}

static void test_minmax_box(void **state) {
  (void)state;
  cz_aug_mix_opts o = mix_opts(0.0, 0.0, CZ_MIX_BATCH);
  o.has_minmax = 1, o.minmax[0] = 0.2, o.minmax[1] = 0.8;
  assert_null(cz_aug_mix_check(&o));
  cz_rng rng = cz_rng_make(4, 4);
  for (int i = 0; i < 500; i++) {
    cz_aug_box b;
    double lam;
    assert_null(cz_aug_cutmix_box(&o, &rng, 50, 40, 0.5, &b, &lam));
    assert_true(b.h >= 10 && b.h < 40 && b.w >= 8 && b.w < 32);
    assert_true(b.top >= 0 && b.top + b.h <= 50 && b.left >= 0 && b.left + b.w <= 40);
    assert_true(lam == 1.0 - (double)b.h * b.w / 2000.0);
  }
}

/* Beta(a, a): mean 1/2 and variance 1/(4(2a+1)), each within 4 standard
 * errors (that of the variance from the sample's fourth moment). */
static void test_beta_moments(void **state) {
  (void)state;
  const double alphas[2] = {0.8, 1.0};
  enum { N = 40000 };
  double *v = malloc(sizeof(double) * N);
  for (int t = 0; t < 2; t++) {
    double a = alphas[t];
    cz_rng rng = cz_rng_make(21, (uint64_t)t);
    double m = 0;
    for (int i = 0; i < N; i++) {
      v[i] = cz_aug_beta(&rng, a, a);
      assert_true(v[i] >= 0 && v[i] <= 1);
      m += v[i];
    }
    m /= N;
    double m2 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
      double d = v[i] - m;
      m2 += d * d, m4 += d * d * d * d;
    }
    m2 /= N, m4 /= N;
    double want_var = 1.0 / (4.0 * (2.0 * a + 1.0));
    double se_m = sqrt(want_var / N), se_v = sqrt((m4 - m2 * m2) / N);
    print_message("Beta(%.1f,%.1f): mean %.5f (se %.5f), var %.5f want %.5f (se %.5f)\n", a, a,
                  m, se_m, m2, want_var, se_v);
    assert_true(fabs(m - 0.5) < 4 * se_m);
    assert_true(fabs(m2 - want_var) < 4 * se_v);
  }
  free(v);
}

/* With both on, CutMix is drawn switch_prob of the time; mean lam ~ 0.5. */
static void test_switch_prob_and_lam_mean(void **state) {
  (void)state;
  enum { N = 3000, K = 5 };
  cz_aug_mix_opts o = mix_opts(1.0, 1.0, CZ_MIX_BATCH);
  o.switch_prob = 0.3;
  float x[2 * 8 * 8], soft[2 * K];
  int64_t y[2] = {0, 1};
  int cuts = 0;
  double lsum = 0;
  for (int b = 0; b < N; b++) {
    double lam[2];
    int cut[2];
    cz_rng rng = cz_aug_mix_stream(5, 0, (uint64_t)b);
    assert_null(cz_aug_mix_apply(&o, &rng, x, y, soft, 2, 8, 8, 1, lam, cut));
    cuts += cut[0];
    if (!cut[0]) lsum += lam[0];
  }
  double sd = sqrt(N * 0.3 * 0.7), mean = lsum / (N - cuts);
  print_message("cutmix chosen %d of %d (expect %.0f +- %.1f), mixup lam mean %.4f\n", cuts, N,
                N * 0.3, sd, mean);
  assert_true(fabs(cuts - N * 0.3) < 5 * sd);
  assert_true(fabs(mean - 0.5) < 4 * sqrt(1.0 / 12.0 / (N - cuts)));
}

static void test_mix_prob0_odd_and_determinism(void **state) {
  (void)state;
  enum { N = 6, H = 5, W = 5, C = 3, K = 5 };
  float x[N * H * W * C], x0[N * H * W * C], soft[N * K];
  int64_t y[N] = {0, 1, 2, 3, 4, 0};
  cz_aug_mix_opts o = mix_opts(1.0, 1.0, CZ_MIX_ELEM);
  o.prob = 0.0;
  fill_batch(x, N, H * W * C);
  memcpy(x0, x, sizeof x);
  cz_rng rng = cz_aug_mix_stream(1, 2, 3);
  assert_null(cz_aug_mix_apply(&o, &rng, x, y, soft, N, H, W, C, NULL, NULL));
  assert_memory_equal(x, x0, sizeof x);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < K; k++) assert_true(soft[i * K + k] == (k == y[i] ? 1.0f : 0.0f));

  cz_err *e = cz_aug_mix_apply(&o, &rng, x, y, soft, N - 1, H, W, C, NULL, NULL);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), "even"));
  cz_err_free(e);

  o.prob = 1.0;
  float xa[N * H * W * C], sa[N * K];
  cz_rng r1 = cz_aug_mix_stream(1, 2, 3), r2 = cz_aug_mix_stream(1, 2, 3);
  memcpy(xa, x0, sizeof xa);
  memcpy(x, x0, sizeof x);
  assert_null(cz_aug_mix_apply(&o, &r1, xa, y, sa, N, H, W, C, NULL, NULL));
  assert_null(cz_aug_mix_apply(&o, &r2, x, y, soft, N, H, W, C, NULL, NULL));
  assert_memory_equal(xa, x, sizeof x);
  assert_memory_equal(sa, soft, sizeof soft);
  cz_rng r3 = cz_aug_mix_stream(1, 2, 4);
  memcpy(x, x0, sizeof x);
  assert_null(cz_aug_mix_apply(&o, &r3, x, y, soft, N, H, W, C, NULL, NULL));
  assert_true(memcmp(xa, x, sizeof x) != 0);

  /* Erasing is deterministic in its stream too. */
  cz_aug_erase_opts eo = cz_aug_erase_opts_default();
  eo.prob = 1.0, eo.mode = CZ_ERASE_PIXEL;
  cz_rng e1 = cz_rng_make(8, 8), e2 = cz_rng_make(8, 8);
  memcpy(xa, x0, sizeof xa);
  memcpy(x, x0, sizeof x);
  cz_aug_erase_batch(&eo, &e1, xa, N, H, W, C);
  cz_aug_erase_batch(&eo, &e2, x, N, H, W, C);
  assert_memory_equal(xa, x, sizeof x);

  cz_aug_mix_opts bad = mix_opts(0.0, 0.0, CZ_MIX_BATCH);
  e = cz_aug_mix_check(&bad);
  assert_non_null(e);
  cz_err_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_erase_boxes),
      cmocka_unit_test(test_erase_probability),
      cmocka_unit_test(test_erase_count),
      cmocka_unit_test(test_erase_fill_modes),
      cmocka_unit_test(test_erase_clean_split),
      cmocka_unit_test(test_mix_targets_exact),
      cmocka_unit_test(test_cutmix_box),
      cmocka_unit_test(test_minmax_box),
      cmocka_unit_test(test_beta_moments),
      cmocka_unit_test(test_switch_prob_and_lam_mean),
      cmocka_unit_test(test_mix_prob0_odd_and_determinism),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
