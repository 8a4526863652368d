/* safetensors files against the reference package (the
 * oracle.gen_ptio_safetensors fixture): every tensor exactly as torch holds
 * it (float types as float32, bit for bit: tolerance 0), each broken
 * file's exact error line, and czoo's writer read back (by czoo here, by
 * the package in oracle.check_ptio_written). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "io/safetensors.h"
#include "io/weights_file.h"
#include "tensor_file.h"

static const char *dir(void) {
  const char *d = getenv("CZOO_ST_DIR");
  if (!d) fail_msg("CZOO_ST_DIR is not set (the oracle.gen_ptio_safetensors fixture sets it)");
  return d;
}

static char *path_of(const char *name) {
  static char buf[2][4096];
  static int k;
  k ^= 1;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir(), name);
  return buf[k];
}

/* Same set of names; each with the same dtype, shape and bytes. */
static void assert_same_tensors(const cz_tensor_dict *got, const cz_tensor_dict *want) {
  assert_int_equal(got->n, want->n);
  for (int i = 0; i < want->n; i++) {
    const cz_named_tensor *w = &want->t[i], *g = cz_tdict_get(got, w->name);
    if (!g) fail_msg("'%s' is missing", w->name);
    if (g->dtype != w->dtype) fail_msg("'%s' has dtype %s, expected %s", g->name, cz_dtype_name(g->dtype), cz_dtype_name(w->dtype));
    if (!cz_shape_eq(&g->shape, &w->shape)) fail_msg("'%s' has another shape", g->name);
    size_t n = (size_t)cz_shape_numel(&g->shape) * cz_dtype_size(g->dtype);
    if (n && memcmp(g->data, w->data, n) != 0) fail_msg("'%s' differs from torch's values", g->name);
  }
}

static cz_tensor_dict *expected(void) {
  ct_bundle *b = ct_bundle_read(path_of("good.czt"));
  cz_tensor_dict *d = ct_bundle_to_dict(b, "");
  ct_bundle_free(b);
  return d;
}

static void test_read(void **s) {
  (void)s;
  cz_tensor_dict *got = NULL, *want = expected();
  cz_err *e = cz_weights_read(path_of("good.safetensors"), &got);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_same_tensors(got, want);
  cz_tdict_free(got);
  cz_tdict_free(want);
  if ((e = cz_safetensors_read(path_of("min.safetensors"), &got))) fail_msg("%s", cz_err_msg(e));
  assert_int_equal(got->n, 1);
  assert_true(((float *)got->t[0].data)[1] == -2.0f);
  cz_tdict_free(got);
}

static void expect_error(const char *file, const char *msg) {
  const char *p = path_of(file);
  cz_tensor_dict *d = NULL;
  cz_err *e = cz_safetensors_read(p, &d);
  if (!e) fail_msg("%s: read without error", file);
  assert_null(d);
  char want[1024];
  snprintf(want, sizeof want, "%s: %s", p, msg);
  if (strcmp(cz_err_msg(e), want) != 0) fail_msg("%s:\n got  %s\n want %s", file, cz_err_msg(e), want);
  cz_err_free(e);
}

static void test_broken(void **s) {
  (void)s;
  expect_error("bad_len.safetensors",
               "safetensors header length 1099511627776 exceeds the file (10 bytes) or 100000000");
  expect_error("not_json.safetensors", "safetensors header is not valid JSON");
  expect_error("not_object.safetensors", "safetensors header is not a JSON object");
  expect_error("trailing.safetensors", "safetensors header has bytes after its JSON object");
  expect_error("out_of_range.safetensors",
               "safetensors entry 'a' data_offsets [0, 16] do not match its shape and dtype or lie outside the 8 data bytes");
  expect_error("shape_mismatch.safetensors",
               "safetensors entry 'a' data_offsets [0, 8] do not match its shape and dtype or lie outside the 8 data bytes");
  expect_error("gap.safetensors", "safetensors entry 'a' starts at byte 4, expected 0 (a gap before it)");
  expect_error("overlap.safetensors", "safetensors entry 'b' starts at byte 4, expected 8 (it overlaps another)");
  expect_error("uncovered.safetensors", "safetensors data has 8 bytes, the tensors cover 4");
  expect_error("bad_dtype.safetensors",
               "safetensors entry 'a' has dtype 'C64' (expected F32, F16, BF16, F64, I64, I32, I8, U8 or BOOL)");
  expect_error("no_offsets.safetensors", "safetensors entry 'a' lacks a dtype, a shape or two data_offsets");
  expect_error("neg_dim.safetensors", "safetensors entry 'a' has a bad shape or one larger than the file");
  expect_error("frac_offset.safetensors", "safetensors entry 'a' lacks a dtype, a shape or two data_offsets");
  expect_error("huge_dim.safetensors", "safetensors entry 'a' has a bad shape or one larger than the file");
  expect_error("rank7.safetensors", "safetensors entry 'a' has more than 6 dimensions");
  expect_error("duplicate.safetensors", "safetensors header: tensor 'a' appears twice");
  expect_error("bad_metadata.safetensors", "safetensors __metadata__ value 'x' is not a string");
}

static void test_write(void **s) {
  (void)s;
  char out[4096], p[4200];
  snprintf(out, sizeof out, "%s/written", dir());
  mkdir(out, 0755);
  snprintf(p, sizeof p, "%s/good.safetensors", out);
  cz_tensor_dict *want = expected(), *got = NULL;
  cz_err *e = cz_safetensors_write(p, want);
  if (e) fail_msg("%s", cz_err_msg(e));
  if ((e = cz_weights_read(p, &got))) fail_msg("%s", cz_err_msg(e));
  assert_same_tensors(got, want);
  /* Written in the dict's order. */
  for (int i = 0; i < want->n; i++) assert_string_equal(got->t[i].name, want->t[i].name);
  cz_tdict_free(got);
  cz_tdict_free(want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read),
      cmocka_unit_test(test_broken),
      cmocka_unit_test(test_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
