/* PyTorch checkpoint files against torch 1.13 (the oracle.gen_ptio_torch
 * fixture): every tensor read exactly as torch holds it (float types
 * converted to float32, bit for bit: tolerance 0), checkpoint scalars,
 * each hostile or damaged file's exact error line, and the files czoo
 * writes (re-read here; torch reads them in oracle.check_ptio_written). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "io/torch_file.h"
#include "io/weights_file.h"
#include "tensor_file.h"

static const char *dir(void) {
  const char *d = getenv("CZOO_PTIO_DIR");
  if (!d) fail_msg("CZOO_PTIO_DIR is not set (the oracle.gen_ptio_torch fixture sets it)");
  return d;
}

static char *path_of(const char *name) {
  static char buf[4][4096];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir(), name);
  return buf[k];
}

/* Same names in the same order, same dtype and shape, identical bytes. */
static void assert_dict_equal(const cz_tensor_dict *got, const cz_tensor_dict *want) {
  assert_int_equal(got->n, want->n);
  for (int i = 0; i < want->n; i++) {
    const cz_named_tensor *g = &got->t[i], *w = &want->t[i];
    if (strcmp(g->name, w->name) != 0) fail_msg("tensor %d is '%s', expected '%s'", i, g->name, w->name);
    if (g->dtype != w->dtype) fail_msg("'%s' has dtype %s, expected %s", g->name, cz_dtype_name(g->dtype), cz_dtype_name(w->dtype));
    if (!cz_shape_eq(&g->shape, &w->shape)) fail_msg("'%s' has another shape", g->name);
    size_t n = (size_t)cz_shape_numel(&g->shape) * cz_dtype_size(g->dtype);
    if (n && memcmp(g->data, w->data, n) != 0) fail_msg("'%s' differs from torch's values", g->name);
  }
}

static cz_tensor_dict *expected(const char *bundle, const char *prefix) {
  ct_bundle *b = ct_bundle_read(path_of(bundle));
  cz_tensor_dict *d = ct_bundle_to_dict(b, prefix);
  ct_bundle_free(b);
  return d;
}

static void check_weights(const char *file, const char *bundle, const char *prefix) {
  cz_tensor_dict *got = NULL;
  cz_err *e = cz_weights_read(path_of(file), &got);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_tensor_dict *want = expected(bundle, prefix);
  assert_dict_equal(got, want);
  cz_tdict_free(got);
  cz_tdict_free(want);
}

static void test_state_dict(void **s) {
  (void)s;
  check_weights("sd.pt", "sd.czt", "");
  check_weights("proto4.pt", "sd.czt", "");   /* FRAME, MEMOIZE, STACK_GLOBAL */
  check_weights("deflated.pt", "sd.czt", ""); /* method 8 records */
  check_weights("zip64.pt", "sd.czt", "");    /* ZIP64 extra fields and end records */
  check_weights("dp_model.pt", "sd.czt", ""); /* `model`, "module." stripped */
  check_weights("views.pt", "views.czt", "");
  check_weights("dtypes.pt", "dtypes.czt", "");
}

static const cz_pyval *need(const cz_pyval *d, const char *key, cz_pykind kind) {
  const cz_pyval *v = cz_py_get(d, key);
  if (!v) fail_msg("no '%s'", key);
  if (v->kind != kind) fail_msg("'%s' is a %s, expected %s", key, cz_py_kind_name(v->kind), cz_py_kind_name(kind));
  return v;
}

static void test_timm_checkpoint(void **s) {
  (void)s;
  const char *p = path_of("timm_ckpt.pth.tar");
  cz_pyval *root = NULL;
  cz_err *e = cz_torch_load(p, &root);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_int_equal(need(root, "epoch", CZ_PY_INT)->i, 7);
  assert_string_equal(need(root, "arch", CZ_PY_STR)->str.s, "tinynet");
  assert_int_equal(need(root, "version", CZ_PY_INT)->i, 2);
  assert_true(need(root, "metric", CZ_PY_FLOAT)->f == 0.75);
  const cz_pyval *args = need(root, "args", CZ_PY_DICT); /* argparse.Namespace */
  assert_string_equal(need(args, "model", CZ_PY_STR)->str.s, "tinynet");
  assert_true(need(args, "lr", CZ_PY_FLOAT)->f == 0.1);
  assert_int_equal(need(args, "epochs", CZ_PY_INT)->i, 3);
  need(args, "smoothing", CZ_PY_NONE);
  assert_false(need(args, "amp", CZ_PY_BOOL)->b);
  const cz_pyval *mean = need(args, "mean", CZ_PY_TUPLE);
  assert_int_equal(mean->seq.n, 3);
  assert_true(mean->seq.items[2]->f == 0.406);
  const cz_pyval *isz = need(args, "input_size", CZ_PY_LIST);
  assert_int_equal(isz->seq.n, 3);
  assert_int_equal(isz->seq.items[1]->i, 6);
  /* optimizer: {'state': {0: {'momentum_buffer': t}, ...}, 'param_groups': [...]} */
  const cz_pyval *opt = need(root, "optimizer", CZ_PY_DICT);
  const cz_pyval *st = need(opt, "state", CZ_PY_DICT);
  cz_tensor_dict *mom = expected("timm_ckpt.czt", "mom/");
  assert_int_equal(st->dict.n, mom->n);
  for (int i = 0; i < st->dict.n; i++) {
    assert_int_equal(st->dict.keys[i]->kind, CZ_PY_INT);
    char name[16];
    snprintf(name, sizeof name, "%lld", (long long)st->dict.keys[i]->i);
    const cz_named_tensor *w = cz_tdict_get(mom, name);
    assert_non_null(w);
    const cz_pyval *t = need(st->dict.vals[i], "momentum_buffer", CZ_PY_TENSOR);
    assert_true(cz_shape_eq(&t->tensor.shape, &w->shape));
    assert_memory_equal(t->tensor.data, w->data, (size_t)cz_shape_numel(&w->shape) * 4);
  }
  cz_tdict_free(mom);
  const cz_pyval *groups = need(opt, "param_groups", CZ_PY_LIST);
  assert_int_equal(groups->seq.n, 1);
  assert_true(need(groups->seq.items[0], "lr", CZ_PY_FLOAT)->f == 0.1);
  assert_true(need(groups->seq.items[0], "momentum", CZ_PY_FLOAT)->f == 0.9);
  assert_int_equal(need(groups->seq.items[0], "params", CZ_PY_LIST)->seq.n, 5);

  cz_tensor_dict *got = NULL, *want = expected("timm_ckpt.czt", "sd/");
  if ((e = cz_torch_state_dict(root, p, &got))) fail_msg("%s", cz_err_msg(e));
  assert_dict_equal(got, want);
  cz_tdict_free(got);
  cz_tdict_free(want);
  want = expected("timm_ckpt.czt", "ema/");
  if ((e = cz_torch_state_dict_pick(root, p, CZ_SD_EMA, &got))) fail_msg("%s", cz_err_msg(e));
  assert_dict_equal(got, want);
  cz_tdict_free(got);
  cz_tdict_free(want);
  cz_py_free(root);

  /* The tool we replace: types.SimpleNamespace args. */
  if ((e = cz_torch_load(path_of("st_ckpt.pth.tar"), &root))) fail_msg("%s", cz_err_msg(e));
  args = need(root, "args", CZ_PY_DICT);
  assert_int_equal(need(args, "batch_size", CZ_PY_INT)->i, 8);
  assert_string_equal(need(args, "name", CZ_PY_STR)->str.s, "x");
  assert_true(need(root, "metric", CZ_PY_FLOAT)->f == 12.5);
  e = cz_torch_state_dict_pick(root, "st_ckpt", CZ_SD_EMA, &got);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e),
                      "st_ckpt: checkpoint has no 'state_dict_ema' (it has: epoch, arch, state_dict, version, args, metric)");
  cz_err_free(e);
  cz_py_free(root);
}

static void expect_error(const char *file, const char *msg) {
  const char *p = path_of(file);
  cz_tensor_dict *d = NULL;
  cz_err *e = cz_weights_read(p, &d);
  if (!e) fail_msg("%s: read without error", file);
  assert_null(d);
  char want[1024];
  snprintf(want, sizeof want, "%s: %s", p, msg);
  if (strcmp(cz_err_msg(e), want) != 0) fail_msg("%s:\n got  %s\n want %s", file, cz_err_msg(e), want);
  cz_err_free(e);
}

static void test_bad_files(void **s) {
  (void)s;
  expect_error("evil_global.pt", "pickle global 'os.system' is not allowed in a checkpoint");
  expect_error("evil_eval.pt", "pickle global 'builtins.eval' is not allowed in a checkpoint");
  expect_error("evil_reduce_storage.pt", "pickle REDUCE of 'torch.FloatStorage' is not allowed in a checkpoint");
  expect_error("evil_inst.pt", "pickle opcode STRING is not allowed in a checkpoint");
  expect_error("huge_string.pt", "pickle string longer than 67108864 bytes");
  expect_error("short_string.pt", "pickle data ends inside an opcode's argument");
  expect_error("deep.pt", "pickle: values nest too deeply (not allowed in a checkpoint)");
  expect_error("cycle.pt", "pickle: a container is placed inside itself (not allowed in a checkpoint)");
  expect_error("memo_missing.pt", "pickle memo entry 5 is read before it is written");
  expect_error("big_int.pt", "pickle integer wider than 64 bits");
  expect_error("no_stop.pt", "pickle data ends without STOP");
  expect_error("bad_view.pt", "a tensor view does not fit in its storage: it reaches element 4 of a storage of 4");
  expect_error("neg_stride.pt", "a tensor has a negative size or stride");
  expect_error("bad_storage_size.pt", "storage '0' holds 16 bytes, not 5 elements of 4");
  expect_error("missing_storage.pt", "storage '7' has no record data/7 in the archive");
  expect_error("rank7.pt", "a tensor has more than 6 dimensions");
  expect_error("proto1.pt", "pickle protocol 1 is not supported (expected 2 to 5)");
  expect_error("two_types.pt", "storage '0' is used with two element types");
  expect_error("bare_storage.pt", "pickle result holds a bare storage or class (not allowed in a checkpoint)");
  expect_error("dict_key_list.pt", "pickle uses a list as a dict key (not allowed in a checkpoint)");
  expect_error("big_endian.pt", "storages are not little-endian (byteorder record), which czoo does not read");
  expect_error("state_not_tensor.pt", "checkpoint entry 'state_dict': 'w' is of type int, not a tensor");
  expect_error("zip_truncated.pt", "not a valid zip archive: no end of central directory record");
  expect_error("zip_crc.pt", "zip entry 'sd/data/0': CRC-32 mismatch (the file is corrupt)");
  expect_error("zip_overlap.pt", "zip entry 'sd/data/0': overlaps entry 'sd/data.pkl'");
  expect_error("zip_dupname.pt", "zip entry 'archive/data.pkl': appears twice in the archive");
  expect_error("legacy.pt",
               "a legacy (non-zip) torch.save file, which czoo does not read: re-save it with torch >= 1.6 "
               "(torch.save(torch.load(f), f))");
  expect_error("not_weights.bin",
               "not a weights file: expected a PyTorch checkpoint (torch.save zip format) or a safetensors file");
  expect_error("no_such_file.pt", "cannot open: No such file or directory");
}

/* The files oracle.check_ptio_written loads with torch: the state_dict of
 * sd.pt written back, and a training checkpoint built with the builders. */
static void test_write(void **s) {
  (void)s;
  char out[4096];
  snprintf(out, sizeof out, "%s/written", dir());
  mkdir(out, 0755);
  cz_tensor_dict *sd = expected("sd.czt", "");
  char p[4200];
  snprintf(p, sizeof p, "%s/sd.pt", out);
  cz_pyval *v = cz_py_from_tdict(sd);
  cz_err *e = cz_torch_save(p, v);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_py_free(v);
  cz_tensor_dict *back = NULL;
  if ((e = cz_weights_read(p, &back))) fail_msg("%s", cz_err_msg(e));
  assert_dict_equal(back, sd);
  cz_tdict_free(back);

  /* {epoch, arch, state_dict, optimizer, metric, version, args}, and one
   * without floats, which torch 1.13's weights_only unpickler also reads. */
  for (int with_floats = 0; with_floats < 2; with_floats++) {
    cz_pyval *ck = cz_py_dict(false);
    cz_py_set_str(ck, "epoch", cz_py_int(12));
    cz_py_set_str(ck, "arch", cz_py_str("tinynet"));
    cz_py_set_str(ck, "state_dict", cz_py_from_tdict(sd));
    cz_pyval *opt = cz_py_dict(false), *state = cz_py_dict(false), *m0 = cz_py_dict(false);
    cz_py_set_str(m0, "momentum_buffer", cz_py_tensor(&sd->t[0]));
    cz_py_set(state, cz_py_int(0), m0);
    cz_py_set_str(opt, "state", state);
    cz_pyval *groups = cz_py_list(), *g0 = cz_py_dict(false), *params = cz_py_list();
    for (int i = 0; i < 6; i++) cz_py_append(params, cz_py_int(i));
    cz_py_set_str(g0, "params", params);
    if (with_floats) cz_py_set_str(g0, "lr", cz_py_float(0.025));
    cz_py_set_str(g0, "nesterov", cz_py_bool(true));
    cz_py_append(groups, g0);
    cz_py_set_str(opt, "param_groups", groups);
    cz_py_set_str(ck, "optimizer", opt);
    if (with_floats) cz_py_set_str(ck, "metric", cz_py_float(-1.5e-300));
    cz_py_set_str(ck, "version", cz_py_int(2));
    cz_pyval *args = cz_py_dict(false), *shape = cz_py_tuple();
    cz_py_set_str(args, "model", cz_py_str("tinynet \"q\" \xc3\xa9"));
    cz_py_set_str(args, "big", cz_py_int(-(INT64_C(1) << 62) - 3));
    cz_py_set_str(args, "mid", cz_py_int(70000));
    cz_py_set_str(args, "neg", cz_py_int(-129));
    cz_py_set_str(args, "none", cz_py_none());
    for (int i = 0; i < 3; i++) cz_py_append(shape, cz_py_int(i == 0 ? 3 : 128));
    cz_py_set_str(args, "input_shape", shape);
    cz_py_set_str(ck, "args", args);
    /* Shared values: written once, then fetched from the memo (more than
     * 256 of them, so the 4-byte memo opcodes too). */
    cz_pyval *shared = cz_py_list(), *t1 = cz_py_tensor(&sd->t[1]);
    cz_py_append(shared, cz_py_ref(t1));
    cz_py_append(shared, t1);
    for (int i = 0; i < 300; i++) {
      char k[16];
      snprintf(k, sizeof k, "k%d", i);
      cz_pyval *str = cz_py_str(k);
      cz_py_append(shared, cz_py_ref(str));
      cz_py_append(shared, str);
    }
    cz_py_set_str(ck, "shared", shared);
    snprintf(p, sizeof p, "%s/ckpt%s.pth.tar", out, with_floats ? "" : "_nofloat");
    if ((e = cz_torch_save(p, ck))) fail_msg("%s", cz_err_msg(e));
    cz_py_free(ck);
    cz_pyval *r = NULL;
    if ((e = cz_torch_load(p, &r))) fail_msg("%s", cz_err_msg(e));
    assert_int_equal(need(r, "epoch", CZ_PY_INT)->i, 12);
    const cz_pyval *ra = need(r, "args", CZ_PY_DICT);
    assert_int_equal(need(ra, "big", CZ_PY_INT)->i, -(INT64_C(1) << 62) - 3);
    assert_int_equal(need(ra, "neg", CZ_PY_INT)->i, -129);
    assert_int_equal(need(ra, "mid", CZ_PY_INT)->i, 70000);
    assert_string_equal(need(ra, "model", CZ_PY_STR)->str.s, "tinynet \"q\" \xc3\xa9");
    if (with_floats) assert_true(need(r, "metric", CZ_PY_FLOAT)->f == -1.5e-300);
    const cz_pyval *rs = need(r, "shared", CZ_PY_LIST);
    assert_int_equal(rs->seq.n, 602);
    assert_ptr_equal(rs->seq.items[0], rs->seq.items[1]); /* one object, as in the tree written */
    assert_ptr_equal(rs->seq.items[600], rs->seq.items[601]);
    assert_string_equal(rs->seq.items[601]->str.s, "k299");
    if ((e = cz_torch_state_dict(r, p, &back))) fail_msg("%s", cz_err_msg(e));
    assert_dict_equal(back, sd);
    cz_tdict_free(back);
    cz_py_free(r);
  }
  cz_tdict_free(sd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_state_dict),
      cmocka_unit_test(test_timm_checkpoint),
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
