/* Tests for util/rng: Philox4x32-10 known answers, stream determinism and
 * the statistical shape of the derived draws. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/rng.h"

/* Known-answer vectors for philox4x32 with 10 rounds, from Random123's
 * tests/kat_vectors (github.com/DEShawResearch/random123, commit 9545ff64),
 * columns CTR[4] KEY[2] EXPECTED[4]. The third uses hex digits of pi. */
typedef struct {
  uint32_t ctr[4];
  uint32_t key[2];
  uint32_t expect[4];
} kat;

static const kat kKats[] = {
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
     {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};

static void test_philox_kat(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof kKats / sizeof kKats[0]; i++) {
    uint32_t out[4];
    cz_philox4x32_10(kKats[i].ctr, kKats[i].key, out);
    for (int w = 0; w < 4; w++) assert_int_equal(out[w], kKats[i].expect[w]);
  }
}

static uint64_t join(uint32_t lo, uint32_t hi) {
  return (uint64_t)lo | ((uint64_t)hi << 32);
}

/* The generator must feed Philox exactly the documented counter and key:
 * stream words high in the counter, block counter low, seed as the key. */
static void test_rng_uses_documented_layout(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof kKats / sizeof kKats[0]; i++) {
    const kat *k = &kKats[i];
    cz_rng r = cz_rng_make(join(k->key[0], k->key[1]),
                           join(k->ctr[2], k->ctr[3]));
    assert_int_equal(r.ctr[0], 0);
    assert_int_equal(r.ctr[1], 0);
    r.ctr[0] = k->ctr[0];
    r.ctr[1] = k->ctr[1];
    for (int w = 0; w < 4; w++) assert_int_equal(cz_rng_u32(&r), k->expect[w]);
  }
  /* The all-zero vector is simply the first block of seed 0, stream 0. */
  cz_rng z = cz_rng_make(0, 0);
  assert_int_equal(cz_rng_u32(&z), 0x6627e8d5);
  /* u64 takes the first word as its low half. */
  cz_rng z2 = cz_rng_make(0, 0);
  assert_int_equal(cz_rng_u64(&z2), UINT64_C(0xe169c58d6627e8d5));
}

static void test_block_counter_carries(void **state) {
  (void)state;
  cz_rng r = cz_rng_make(7, 9);
  r.ctr[0] = 0xffffffff;
  for (int i = 0; i < 4; i++) cz_rng_u32(&r);
  assert_int_equal(r.ctr[0], 0);
  assert_int_equal(r.ctr[1], 1);
  uint32_t expect[4];
  const uint32_t ctr[4] = {0, 1, 9, 0};
  const uint32_t key[2] = {7, 0};
  cz_philox4x32_10(ctr, key, expect);
  for (int w = 0; w < 4; w++) assert_int_equal(cz_rng_u32(&r), expect[w]);
}

static void test_determinism(void **state) {
  (void)state;
  uint64_t stream = cz_rng_stream(1, 5, 1234);
  cz_rng a = cz_rng_make(42, stream);
  cz_rng b = cz_rng_make(42, stream);
  cz_rng c = cz_rng_make(42, cz_rng_stream(1, 5, 1235));
  cz_rng d = cz_rng_make(43, stream);
  int differ_c = 0, differ_d = 0;
  for (int i = 0; i < 1000; i++) {
    uint32_t x = cz_rng_u32(&a);
    assert_int_equal(x, cz_rng_u32(&b));
    differ_c += x != cz_rng_u32(&c);
    differ_d += x != cz_rng_u32(&d);
  }
  assert_true(differ_c > 990);
  assert_true(differ_d > 990);
}

static void test_stream_mix(void **state) {
  (void)state;
  assert_true(cz_rng_stream(1, 2, 3) == cz_rng_stream(1, 2, 3));
  assert_true(cz_rng_stream(1, 2, 3) != cz_rng_stream(3, 2, 1));
  assert_true(cz_rng_stream(1, 2, 3) != cz_rng_stream(2, 1, 3));
  assert_true(cz_rng_stream(0, 0, 0) != 0);
  /* Neighbouring sample indices give ids differing in about half the bits. */
  int total_bits = 0;
  for (uint64_t i = 0; i < 256; i++) {
    uint64_t x = cz_rng_stream(0, 0, i) ^ cz_rng_stream(0, 0, i + 1);
    total_bits += __builtin_popcountll(x);
  }
  double avg = total_bits / 256.0;
  assert_true(avg > 28.0 && avg < 36.0);
}

static void test_below_range_and_uniformity(void **state) {
  (void)state;
  cz_rng r = cz_rng_make(123, 0);
  assert_int_equal(cz_rng_below(&r, 1), 0);
  enum { kBins = 10, kDraws = 100000 };
  int counts[kBins] = {0};
  for (int i = 0; i < kDraws; i++) {
    uint32_t x = cz_rng_below(&r, kBins);
    assert_true(x < kBins);
    counts[x]++;
  }
  double expect = (double)kDraws / kBins, chi2 = 0.0;
  for (int i = 0; i < kBins; i++)
    chi2 += (counts[i] - expect) * (counts[i] - expect) / expect;
  /* 9 degrees of freedom: P(chi2 > 40) is about 1e-5. */
  assert_true(chi2 < 40.0);

  /* A bound just above 2^31 is where a biased modulo would be worst. */
  uint32_t big = 0x80000001u;
  int high = 0;
  for (int i = 0; i < 10000; i++) {
    uint32_t x = cz_rng_below(&r, big);
    assert_true(x < big);
    high += x >= big / 2;
  }
  assert_true(high > 4700 && high < 5300);
  for (int i = 0; i < 1000; i++) assert_true(cz_rng_below(&r, 3) < 3);
}

static void test_uniform_ranges(void **state) {
  (void)state;
  cz_rng r = cz_rng_make(9, 9);
  double sum = 0.0;
  for (int i = 0; i < 100000; i++) {
    double u = cz_rng_uniform(&r);
    float f = cz_rng_uniformf(&r);
    assert_true(u >= 0.0 && u < 1.0);
    assert_true(f >= 0.0f && f < 1.0f);
    sum += u;
  }
  assert_true(fabs(sum / 100000 - 0.5) < 0.01);

  /* The extremes map to 0 and to the largest value below 1. */
  cz_rng lo = cz_rng_make(0, 0);
  lo.buf[0] = lo.buf[1] = 0;
  lo.used = 0;
  assert_true(cz_rng_uniform(&lo) == 0.0);
  cz_rng hi = cz_rng_make(0, 0);
  hi.buf[0] = hi.buf[1] = hi.buf[2] = 0xffffffffu;
  hi.used = 0;
  assert_true(cz_rng_uniform(&hi) == 1.0 - 0x1.0p-53);
  assert_true(cz_rng_uniformf(&hi) == 1.0f - 0x1.0p-24f);
}

static void test_normal_moments(void **state) {
  (void)state;
  cz_rng r = cz_rng_make(2024, cz_rng_stream(3, 0, 0));
  enum { kDraws = 100000 };
  double sum = 0.0, sumsq = 0.0;
  int beyond2 = 0;
  for (int i = 0; i < kDraws; i++) {
    double z = cz_rng_normal(&r);
    assert_true(isfinite(z));
    sum += z;
    sumsq += z * z;
    beyond2 += fabs(z) > 2.0;
  }
  double mean = sum / kDraws;
  double var = sumsq / kDraws - mean * mean;
  assert_true(fabs(mean) < 0.02);
  assert_true(fabs(var - 1.0) < 0.03);
  /* P(|z| > 2) = 0.0455 for a true normal. */
  assert_true(beyond2 > 4000 && beyond2 < 5100);

  /* Each value depends only on the stream position: two draws consume
   * exactly one Philox block, so the third normal starts a fresh block. */
  cz_rng a = cz_rng_make(5, 6);
  cz_rng_normal(&a);
  assert_int_equal(a.used, 4);
}

static void test_shuffle(void **state) {
  (void)state;
  enum { kN = 50 };
  uint32_t a[kN], b[kN];
  for (uint32_t i = 0; i < kN; i++) a[i] = b[i] = i;
  cz_rng r1 = cz_rng_make(77, 1), r2 = cz_rng_make(77, 1);
  cz_rng_shuffle_u32(&r1, a, kN);
  cz_rng_shuffle_u32(&r2, b, kN);
  assert_memory_equal(a, b, sizeof a);
  int seen[kN] = {0}, fixed = 0;
  for (uint32_t i = 0; i < kN; i++) {
    assert_true(a[i] < kN);
    seen[a[i]]++;
    fixed += a[i] == i;
  }
  for (int i = 0; i < kN; i++) assert_int_equal(seen[i], 1);
  assert_true(fixed < 10);

  /* Every position of a 3-element array receives each value ~1/3 of the
   * time (a biased shuffle such as "swap with any index" fails this). */
  int pos0[3] = {0};
  for (int t = 0; t < 30000; t++) {
    uint32_t s[3] = {0, 1, 2};
    cz_rng_shuffle_u32(&r1, s, 3);
    pos0[s[0]]++;
  }
  for (int v = 0; v < 3; v++) assert_true(pos0[v] > 9500 && pos0[v] < 10500);

  cz_rng_shuffle_u32(&r1, NULL, 0);
  uint32_t one = 4;
  cz_rng_shuffle_u32(&r1, &one, 1);
  assert_int_equal(one, 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_philox_kat),
      cmocka_unit_test(test_rng_uses_documented_layout),
      cmocka_unit_test(test_block_counter_carries),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_stream_mix),
      cmocka_unit_test(test_below_range_and_uniformity),
      cmocka_unit_test(test_uniform_ranges),
      cmocka_unit_test(test_normal_moments),
      cmocka_unit_test(test_shuffle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
