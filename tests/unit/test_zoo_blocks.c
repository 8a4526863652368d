/* The timm block-string decoder (src/zoo/zoo_blocks.c): fields as timm's
 * _decode_block_str reads them, and a clear error for what czoo does not
 * build; timm's make_divisible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "zoo/zoo_blocks.h"

static zb_block decode(const char *s) {
  zb_block b;
  cz_err *e = zb_decode(s, strlen(s), &b);
  if (e) fail_msg("%s: %s", s, cz_err_msg(e));
  return b;
}

static void test_fields(void **state) {
  (void)state;
  zb_block b = decode("ir_r2_k5_s2_e6_c24_se0.25_nsw");
  assert_int_equal(b.type, ZB_IR);
  assert_int_equal(b.repeat, 2);
  assert_int_equal(b.k, 5);
  assert_int_equal(b.stride, 2);
  assert_int_equal(b.cout, 24);
  assert_true(b.exp == 6.0 && b.se == 0.25);
  assert_int_equal(b.act, ZL_SILU);
  assert_int_equal(b.skip, -1);
  assert_int_equal(b.a, 1); /* timm's exp/pw kernel default */
  assert_int_equal(b.p, 1);
  b = decode("ds_r1_k3_s1_e1_c16_noskip");
  assert_int_equal(b.type, ZB_DS);
  assert_int_equal(b.skip, 0);
  assert_int_equal(b.act, ZL_NONE);
  b = decode("uir_r4_a0_k3_s1_e2_c96");
  assert_int_equal(b.type, ZB_UIR);
  assert_int_equal(b.a, 0);
  assert_int_equal(b.p, 0); /* uir: no end depthwise unless p is given */
  assert_int_equal(b.k, 3);
  b = decode("uir_r1_a3_k0_s1_e4_c96");
  assert_int_equal(b.a, 3);
  assert_int_equal(b.k, 0);
  b = decode("cn_r1_k1_s1_c960_skip");
  assert_int_equal(b.type, ZB_CN);
  assert_int_equal(b.skip, 1);
  assert_true(b.exp == 1.0);
}

static void test_unsupported_are_errors(void **state) {
  (void)state;
  static const char *const bad[] = {
      "mqa_r1_k3_h4_s1_v2_d64_c160", /* attention */
      "ir_r1_k3.5.7_s1_e6_c32",      /* mixed kernels */
      "ir_r1_k3_s1_e6_c32_cc4",      /* CondConv */
      "ir_r1_k3_s1_c32",             /* no expansion */
      "ds_r1_k3_s3_c16",             /* stride 3 */
      "ir_r1_k3_s1_e6_c32_nxx",      /* unknown activation */
      "uir_r1_a0_k0_s2_e4_c64",      /* strided with no depthwise */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    zb_block b;
    cz_err *e = zb_decode(bad[i], strlen(bad[i]), &b);
    if (!e) fail_msg("'%s' was accepted", bad[i]);
    assert_non_null(strstr(cz_err_msg(e), bad[i]));
    printf("%s\n", cz_err_msg(e));
    cz_err_free(e);
  }
}

/* timm's make_divisible(v, 8): nearest multiple of 8, at least 8, never
 * below 90% of v. */
static void test_make_divisible(void **state) {
  (void)state;
  assert_int_equal(zb_make_divisible(16 * 0.5, 8), 8);
  assert_int_equal(zb_make_divisible(24 * 0.5, 8), 16); /* 12 -> 16 */
  assert_int_equal(zb_make_divisible(83, 8), 80);
  assert_int_equal(zb_make_divisible(84, 8), 88);
  assert_int_equal(zb_make_divisible(3, 8), 8);
  assert_int_equal(zb_make_divisible(32 * 0.35, 8), 16); /* 11.2 -> 8 is under 90 %: 16 */
  assert_int_equal(zb_make_divisible(1280 * 0.5, 8), 640);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_unsupported_are_errors),
      cmocka_unit_test(test_make_divisible),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
