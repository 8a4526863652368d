/* Tests of the named-tensor dict: insertion order, lookup through the hash
 * index across growth, duplicate names refused, prefix stripping
 * re-indexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tensor/tensor_dict.h"

static void test_many_names(void **state) {
  (void)state;
  cz_tensor_dict *d = cz_tdict_new();
  assert_null(cz_tdict_get(d, "x"));
  char name[64];
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "module.layer%d.weight", i);
    float v = (float)i;
    assert_null(cz_tdict_add(d, name, CZ_F32, cz_shape1(1), &v));
  }
  assert_int_equal(d->n, 5000);
  for (int i = 0; i < 5000; i += 7) {
    snprintf(name, sizeof name, "module.layer%d.weight", i);
    const cz_named_tensor *t = cz_tdict_get(d, name);
    assert_non_null(t);
    assert_ptr_equal(t, &d->t[i]);
    assert_float_equal(((float *)t->data)[0], (float)i, 0);
  }
  cz_err *e = cz_tdict_add(d, "module.layer42.weight", CZ_F32, cz_shape1(1), NULL);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), "tensor 'module.layer42.weight' appears twice");
  cz_err_free(e);
  assert_int_equal(cz_tdict_strip_prefix(d, "module."), 5000);
  assert_null(cz_tdict_get(d, "module.layer3.weight"));
  assert_ptr_equal(cz_tdict_get(d, "layer3.weight"), &d->t[3]);
  assert_string_equal(d->t[4999].name, "layer4999.weight");
  cz_tdict_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_many_names)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
