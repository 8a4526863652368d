/* Numerical expressions in config values, checked against values Python's
 * own arithmetic gives for the same text (the tool we replace evals them). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg_expr.h"
#include "config/cfg_value.h"

static double eval(const char *text) {
  double v = NAN;
  const char *why = NULL;
  if (!cz_eval_number(text, &v, &why)) fail_msg("%s: %s", text, why);
  return v;
}

static void test_values(void **state) {
  (void)state;
  assert_true(eval("1/255.0") == 1 / 255.0);
  assert_true(eval("1/127.5") == 1 / 127.5);
  assert_true(eval("-1") == -1);
  assert_true(eval("2e-5") == 2e-5);
  assert_true(eval("1E+3") == 1000);
  assert_true(eval(".5") == 0.5);
  assert_true(eval("(1 + 2) * 3") == 9);
  assert_true(eval("2**-1") == 0.5);
  assert_true(eval("-2**2") == -4);       /* Python: ** binds tighter than unary minus */
  assert_true(eval("2**3**2") == 512);    /* right-associative */
  assert_true(eval("10 - 2 - 3") == 5);   /* left-associative */
  assert_true(eval("8 / 4 / 2") == 1);
  assert_true(eval("- -3") == 3);
  assert_true(eval("  0.1  ") == 0.1);
}

static void test_rejects(void **state) {
  (void)state;
  const char *bad[] = {"", "abc", "1/0", "1+", "(1", "1)", "0x10", "inf", "nan", "1e",
                       "1..2", "2 3", "1e999", "True", "[1]"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    double v;
    const char *why = NULL;
    if (cz_eval_number(bad[i], &v, &why)) fail_msg("accepted '%s'", bad[i]);
    assert_non_null(why);
  }
}

static void test_deep_nesting_is_refused(void **state) {
  (void)state;
  char text[4096];
  size_t n = 0;
  for (int i = 0; i < 1000; i++) n += (size_t)snprintf(text + n, sizeof text - n, "1**");
  snprintf(text + n, sizeof text - n, "1");
  double v;
  const char *why = NULL;
  assert_false(cz_eval_number(text, &v, &why));
  assert_string_equal(why, "expression nested too deeply");
  memset(text, '(', 200);
  text[200] = '\0';
  assert_false(cz_eval_number(text, &v, &why));
  assert_true(eval("((((((((((1))))))))))") == 1);
}

static void test_python_repr(void **state) {
  (void)state;
  char b[48];
  struct { double v; const char *text; } cases[] = {
      {1 / 255.0, "0.00392156862745098"}, {1 / 127.5, "0.00784313725490196"},
      {2e-5, "2e-05"}, {0.1, "0.1"}, {1.0, "1.0"}, {-1.0, "-1.0"}, {100000.0, "100000.0"},
      {1e16, "1e+16"}, {0.0001, "0.0001"}, {0.9998, "0.9998"}, {1.0 / 3, "0.3333333333333333"},
      {0.0, "0.0"}, {123.456, "123.456"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    cz_format_double(cases[i].v, b, sizeof b);
    assert_string_equal(b, cases[i].text);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values), cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_deep_nesting_is_refused), cmocka_unit_test(test_python_repr),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
