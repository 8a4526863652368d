/* data_augmentation.aa without timm: strings -> parsed parameters (the
 * values timm's parsers give, see tests/oracle/gen_aa.py for the timm-made
 * ones), bad strings -> exact error lines, and the sampling statistics
 * against their definitions (op frequencies, magnitude noise, sub-policy
 * choice, Dirichlet / Beta mixing), each within 5 standard errors. */
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

#include "config/cfg.h"
#include "data/aa.h"

static const float MEAN[3] = {0.485f, 0.456f, 0.406f};

static cz_aa parse_ok(const char *s) {
  cz_aa aa;
  cz_err *e = cz_aa_parse(s, 224, 224, 3, MEAN, "random", &aa);
  if (e) fail_msg("'%s': %s", s, cz_err_msg(e));
  return aa;
}

static void test_parse_table(void **state) {
  (void)state;
  cz_aa a = parse_ok("rand-m9-mstd0.5-inc1");
  assert_int_equal(a.kind, CZ_AA_RAND);
  assert_int_equal(a.num_layers, 2);
  assert_int_equal(a.n_ops, 15);
  assert_int_equal(a.ops[4].op, CZ_AA_POSTERIZE_INC);
  assert_true(a.ops[0].prob == 0.5 && a.ops[0].magnitude == 9 && a.mstd == 0.5 && a.mmax == 0);
  assert_int_equal(a.translate_const, 100);
  assert_false(a.color_jitter);
  a = parse_ok("rand-n3-m12-mmax15-p0.7-mstd200");
  assert_true(a.num_layers == 3 && a.ops[0].magnitude == 12 && a.mmax == 15 &&
              a.ops[0].prob == 0.7 && isinf(a.mstd));
  assert_int_equal(a.ops[4].op, CZ_AA_POSTERIZE);
  a = parse_ok("rand-mstd1-mstd2-m3-m4"); /* mstd: first wins; m: last wins (as timm) */
  assert_true(a.mstd == 1 && a.ops[0].magnitude == 4);
  a = parse_ok("v0r-mstd0.5");
  assert_true(a.kind == CZ_AA_AUTO && a.n_sub == 25 && a.mstd == 0.5);
  assert_int_equal(a.sub[12][0].op, CZ_AA_POSTERIZE_INC);
  a = parse_ok("original");
  assert_int_equal(a.sub[0][0].op, CZ_AA_POSTERIZE_ORIG);
  a = parse_ok("augmix-m5-w4-d2");
  assert_true(a.kind == CZ_AA_AUGMIX && a.width == 4 && a.depth == 2 && a.alpha == 1.0 &&
              !a.blended && isinf(a.mstd) && a.translate_pct == 0.3 && a.ops[0].magnitude == 5);
  a = parse_ok("augmix-a0.5-b1-mstd0");
  assert_true(a.alpha == 0.5 && a.blended && a.mstd == 0 && a.width == 3 && a.depth == -1);
  a = parse_ok("3a");
  assert_true(a.kind == CZ_AA_AUTO && a.n_sub == 3 && a.sub_len[2] == 1 && a.color_jitter);
  assert_int_equal(a.sub[2][0].op, CZ_AA_GAUSSIAN_BLUR_RAND);
  a = parse_ok("rand-m9-t3a");
  assert_true(a.n_ops == 3 && !a.weighted && a.color_jitter);
  /* hparams: size (translate_const from the width 40), mean, interpolation */
  const float gm[1] = {0.5f};
  assert_null(cz_aa_parse("rand", 32, 40, 1, gm, "nearest", &a));
  assert_true(a.translate_const == 18 && a.fill[0] == 128 && a.n_interp == 1 &&
              a.interp[0] == CZ_INTERP_NEAREST);
  assert_null(cz_aa_parse(NULL, 32, 40, 3, MEAN, NULL, &a));
  assert_int_equal(a.kind, CZ_AA_OFF);
  assert_null(cz_aa_parse("none", 32, 40, 3, MEAN, NULL, &a));
  assert_int_equal(a.kind, CZ_AA_OFF);
}

static void expect_err(const char *s, const char *interp, int c, const char *msg) {
  cz_aa aa;
  cz_err *e = cz_aa_parse(s, 224, 224, c, MEAN, interp, &aa);
  if (!e) fail_msg("'%s' parsed", s);
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
}

static void test_parse_errors(void **state) {
  (void)state;
  expect_err("rand-q3", NULL, 3,
             "data_augmentation.aa: 'rand-q3': unknown RandAugment option 'q3' (expected m, n, "
             "mstd, mmax, inc, p, t)");
  expect_err("rand-m9-foo", NULL, 3,
             "data_augmentation.aa: 'rand-m9-foo': unknown RandAugment option 'foo' (expected m, "
             "n, mstd, mmax, inc, p, t)");
  expect_err("rand-w0", NULL, 3,
             "data_augmentation.aa: 'rand-w0': unknown RandAugment option 'w0' (expected m, n, "
             "mstd, mmax, inc, p, t)");
  expect_err("rand-m9.5", NULL, 3,
             "data_augmentation.aa: 'rand-m9.5': RandAugment option 'm9.5': m takes an integer");
  expect_err("rand-n20", NULL, 3,
             "data_augmentation.aa: 'rand-n20': RandAugment option 'n20': n takes an integer in "
             "[0, 16]");
  expect_err("rand-tfoo", NULL, 3,
             "data_augmentation.aa: 'rand-tfoo': unknown RandAugment transform set 'tfoo' "
             "(expected tweights, t3a, t3aw)");
  expect_err("rand-n16-tweights", NULL, 3,
             "data_augmentation.aa: 'rand-n16-tweights': RandAugment 'tweights': n > 15, but it "
             "draws without replacement from 15 ops");
  expect_err("rand-n15-t3aw", NULL, 3,
             "data_augmentation.aa: 'rand-n15-t3aw': RandAugment 't3aw': n > 14, but it draws "
             "without replacement from 14 ops");
  expect_err("randaug-m9", NULL, 3,
             "data_augmentation.aa: 'randaug-m9': unknown RandAugment variant 'randaug' (expected "
             "rand)");
  expect_err("v1", NULL, 3,
             "data_augmentation.aa: 'v1': unknown policy 'v1' (expected original, originalr, v0, "
             "v0r, 3a, or rand-..., augmix-...)");
  expect_err("v0-m9", NULL, 3,
             "data_augmentation.aa: 'v0-m9': unknown AutoAugment option 'm9' (expected mstd)");
  expect_err("original-mstdx", NULL, 3,
             "data_augmentation.aa: 'original-mstdx': unknown AutoAugment option 'mstdx' "
             "(expected mstd)");
  expect_err("augmix-m5-x2", NULL, 3,
             "data_augmentation.aa: 'augmix-m5-x2': unknown AugMix option 'x2' (expected m, w, "
             "d, a, b, mstd)");
  expect_err("augmix-w0", NULL, 3,
             "data_augmentation.aa: 'augmix-w0': AugMix option 'w0': w takes an integer in [1, "
             "16]");
  expect_err("augmix-a0", NULL, 3,
             "data_augmentation.aa: 'augmix-a0': AugMix option 'a0': a takes a number > 0");
  expect_err("rand-m9", "box", 3,
             "data_augmentation.train_interpolation: 'box' cannot be used with "
             "data_augmentation.aa (PIL's transform takes random, nearest, bilinear or bicubic)");
  expect_err("rand-m9", NULL, 4,
             "data_augmentation.aa: 'rand-m9' needs 1 or 3 input channels, not 4");
}

enum { N = 20000 };

/* |got - want| <= 5 standard errors, reported. */
static void near(const char *what, double got, double want, double se) {
  print_message("%s: %.5f, expected %.5f (5 SE = %.5f)\n", what, got, want, 5 * se);
  if (!(fabs(got - want) <= 5 * se)) fail_msg("%s: %g vs %g beyond 5 SE (%g)", what, got, want, se);
}

static void test_rand_frequencies(void **state) {
  (void)state;
  static cz_aa_plan plan;
  /* uniform choice with replacement: each op 1/15 per layer (p = 1) */
  cz_aa aa = parse_ok("rand-m9-n2-p1");
  cz_rng rng = cz_rng_make(11, 1);
  int count[CZ_AA_NOPS] = {0};
  for (int i = 0; i < N; i++) {
    cz_aa_sample(&aa, &rng, &plan);
    assert_int_equal(plan.n_steps, 2);
    for (int k = 0; k < 2; k++) count[plan.steps[k].op]++;
  }
  double q = 1.0 / 15;
  for (int i = 0; i < aa.n_ops; i++)
    near(cz_aa_op_name(aa.ops[i].op), count[aa.ops[i].op] / (2.0 * N), q,
         sqrt(q * (1 - q) / (2.0 * N)));
  /* p = 0.5: half the layers are skipped */
  aa = parse_ok("rand-m9-n2");
  long applied = 0;
  for (int i = 0; i < N; i++) {
    cz_aa_sample(&aa, &rng, &plan);
    applied += plan.n_steps;
  }
  near("applied fraction (p 0.5)", applied / (2.0 * N), 0.5, sqrt(0.25 / (2.0 * N)));
  /* weighted, without replacement: P(i in the pair) = p_i + sum_j p_j p_i / (1 - p_j) */
  aa = parse_ok("rand-n2-p1-tweights");
  memset(count, 0, sizeof count);
  for (int i = 0; i < N; i++) {
    cz_aa_sample(&aa, &rng, &plan);
    assert_int_equal(plan.n_steps, 2);
    assert_int_not_equal(plan.steps[0].op, plan.steps[1].op);
    for (int k = 0; k < 2; k++) count[plan.steps[k].op]++;
  }
  for (int i = 0; i < aa.n_ops; i++) {
    double pi = aa.weight[i], want = pi;
    for (int j = 0; j < aa.n_ops; j++)
      if (j != i) want += aa.weight[j] * pi / (1 - aa.weight[j]);
    char what[64];
    snprintf(what, sizeof what, "tweights %s", cz_aa_op_name(aa.ops[i].op));
    near(what, count[aa.ops[i].op] / (double)N, want, sqrt(want * (1 - want) / N));
  }
}

/* Magnitudes recovered from Rotate's argument: |deg| = m / 10 * 30. */
static void magnitude_stats(const char *s, double want_mean, double want_sd) {
  static cz_aa_plan plan;
  cz_aa aa = parse_ok(s);
  cz_rng rng = cz_rng_make(12, 2);
  double sum = 0, sum2 = 0;
  long n = 0, neg = 0, interp2 = 0;
  for (int i = 0; i < 4 * N; i++) {
    cz_aa_sample(&aa, &rng, &plan);
    for (int k = 0; k < plan.n_steps; k++)
      if (plan.steps[k].op == CZ_AA_ROTATE) {
        double m = fabs(plan.steps[k].arg) / 3.0;
        sum += m;
        sum2 += m * m;
        neg += plan.steps[k].arg < 0;
        interp2 += plan.steps[k].interp == CZ_INTERP_BICUBIC;
        n++;
      }
  }
  double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
  char what[128];
  snprintf(what, sizeof what, "%s magnitude mean", s);
  near(what, mean, want_mean, want_sd / sqrt((double)n));
  snprintf(what, sizeof what, "%s magnitude sd", s);
  near(what, sd, want_sd, want_sd / sqrt((double)n)); /* SE(sd) <= sd / sqrt(n) here */
  near("negated fraction", (double)neg / n, 0.5, sqrt(0.25 / n));
  near("bicubic fraction ('random')", (double)interp2 / n, 0.5, sqrt(0.25 / n));
}

static void test_magnitude_noise(void **state) {
  (void)state;
  magnitude_stats("rand-m5-mstd1-p1", 5.0, 1.0);
  magnitude_stats("rand-m9-mstd101-p1", 4.5, 9.0 / sqrt(12.0)); /* uniform [0, 9] */
}

static void test_auto_subpolicies(void **state) {
  (void)state;
  static cz_aa_plan plan;
  cz_aa aa = parse_ok("v0");
  cz_rng rng = cz_rng_make(13, 3);
  int count[CZ_AA_MAX_SUB] = {0};
  long first = 0, n0 = 0;
  for (int i = 0; i < N; i++) {
    cz_aa_sample(&aa, &rng, &plan);
    assert_true(plan.choice >= 0 && plan.choice < 25);
    count[plan.choice]++;
    if (plan.choice == 0) { /* [('Equalize', 0.8, 1), ('ShearY', 0.8, 4)] */
      n0++;
      first += plan.n_steps > 0 && plan.steps[0].op == CZ_AA_EQUALIZE;
    }
  }
  for (int k = 0; k < 25; k++) near("sub-policy", count[k] / (double)N, 0.04, sqrt(0.04 * 0.96 / N));
  near("v0[0] Equalize applied", (double)first / n0, 0.8, sqrt(0.16 / n0));
}

/* 3a: sub-policies 1/3 each; GaussianBlurRand's radius uniform in
 * [0.1, 2 * 1.0] (factor 1 at magnitude 10). */
static void test_3a_blur_radius(void **state) {
  (void)state;
  static cz_aa_plan plan;
  cz_aa aa = parse_ok("3a");
  cz_rng rng = cz_rng_make(15, 4);
  double s1 = 0, s2 = 0;
  long nb = 0, count[3] = {0};
  for (int i = 0; i < N; i++) {
    cz_aa_sample(&aa, &rng, &plan);
    count[plan.choice]++;
    assert_int_equal(plan.n_steps, 1);
    if (plan.choice == 2) {
      assert_int_equal(plan.steps[0].op, CZ_AA_GAUSSIAN_BLUR);
      double r = plan.steps[0].arg;
      assert_true(r >= 0.1 && r <= 2.0);
      s1 += r;
      s2 += r * r;
      nb++;
    }
  }
  for (int k = 0; k < 3; k++) near("3a sub-policy", count[k] / (double)N, 1.0 / 3, sqrt(2.0 / 9 / N));
  double mean = s1 / nb, sd = sqrt(s2 / nb - mean * mean), want_sd = 1.9 / sqrt(12.0);
  near("blur radius mean", mean, 1.05, want_sd / sqrt((double)nb));
  near("blur radius sd", sd, want_sd, want_sd / sqrt((double)nb));
}

static void test_augmix_weights(void **state) {
  (void)state;
  static cz_aa_plan plan;
  const char *strs[2] = {"augmix-w4", "augmix-w4-a0.5"};
  const double alphas[2] = {1.0, 0.5};
  for (int t = 0; t < 2; t++) {
    cz_aa aa = parse_ok(strs[t]);
    cz_rng rng = cz_rng_make(14, (uint64_t)t);
    double s1[4] = {0}, s2[4] = {0}, s4[4] = {0}, m1 = 0;
    long depth[4] = {0};
    for (int i = 0; i < N; i++) {
      cz_aa_sample(&aa, &rng, &plan);
      double sum = 0;
      for (int k = 0; k < 4; k++) {
        double w = plan.mix_w[k];
        sum += w;
        s1[k] += w;
        s2[k] += (w - 0.25) * (w - 0.25);
        s4[k] += pow(w - 0.25, 4);
        depth[plan.chain_len[k]]++;
      }
      assert_true(fabs(sum - 1.0) < 1e-6); /* float32 weights */
      m1 += plan.m;
    }
    /* symmetric Dirichlet: mean 1/w, var (1/w)(1 - 1/w) / (w a + 1) */
    double a = alphas[t], var = 0.25 * 0.75 / (4 * a + 1);
    for (int k = 0; k < 4; k++) {
      near("Dirichlet mean", s1[k] / N, 0.25, sqrt(var / N));
      double v = s2[k] / N, mu4 = s4[k] / N;
      near("Dirichlet variance", v, var, sqrt((mu4 - v * v) / N));
    }
    /* Beta(a, a): mean 1/2, var 1 / (4 (2a + 1)) */
    near("Beta mean", m1 / N, 0.5, sqrt(1.0 / (4 * (2 * a + 1)) / N));
    for (int d = 1; d <= 3; d++) /* d = -1: depth uniform in 1..3 (ops have p = 1) */
      near("chain depth", depth[d] / (4.0 * N), 1.0 / 3, sqrt(2.0 / 9 / (4.0 * N)));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_table),       cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_rand_frequencies),  cmocka_unit_test(test_magnitude_noise),
      cmocka_unit_test(test_auto_subpolicies),  cmocka_unit_test(test_augmix_weights),
      cmocka_unit_test(test_3a_blur_radius),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
