/* Every op against PyTorch, forward and backward: runs each case bundle
 * that tests/oracle/gen_op_cases.py wrote into $CZOO_ORACLE_DIR with the
 * fast and the reference kernels, reports every case, then fails if any
 * did. $CZOO_ORACLE_PER_OP=n keeps the first n cases of each op (valgrind). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op_oracle.h"
#include "ops/op.h"
#include "tensor_file.h"
#include "util/mem.h"
#include "util/strbuf.h"

static int is_case(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return n > 4 && strcmp(d->d_name + n - 4, ".czt") == 0;
}

/* Prints the case's line; appends it to `failed` when it failed. */
static void report(const char *name, const char *op, bool reference, bool ok,
                   const ct_oracle_result *r, cz_strbuf *failed) {
  const char *kernels = reference ? "reference" : "fast";
  char line[1024];
  if (r->msg[0]) {
    snprintf(line, sizeof line, "case %s: op %s FAILED with %s kernels: %s", name,
             op[0] ? op : "?", kernels, r->msg);
  } else {
    char bwd[32] = "n/a";
    if (r->has_bwd) snprintf(bwd, sizeof bwd, "%.2e", r->bwd_err);
    snprintf(line, sizeof line,
             "case %s: op %s fwd max rel err %.2e, bwd max rel err %s (bound %.0e), %s kernels%s%s",
             name, op, r->fwd_err, bwd, r->bound, kernels, ok ? "" : ": FAILED, worst ",
             ok ? "" : r->worst);
  }
  printf("%s\n", line);
  if (!ok) cz_sb_printf(failed, "  %s\n", line);
}

static void test_ops_vs_torch(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_ORACLE_DIR");
  if (!dir || !*dir) {
    print_message("CZOO_ORACLE_DIR is not set (ctest sets it after running "
                  "tests/oracle/gen_op_cases.py)\n");
    skip();
  }
  const char *per = getenv("CZOO_ORACLE_PER_OP");
  int per_op = per ? atoi(per) : 0;
  char seen_op[128][64];
  int seen_count[128], n_seen = 0, runs = 0, failures = 0;
  cz_strbuf failed;
  cz_sb_init(&failed);
  /* CZOO_ORACLE_DIR may list several folders separated by ':' (the torch
   * cases and the timm ones) */
  char *dirs = cz_xstrdup(dir), *save = NULL;
  for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    struct dirent **files = NULL;
    int n = scandir(d, &files, is_case, alphasort);
    if (n <= 0) fail_msg("no *.czt case bundles in %s (did the oracle.gen_ops* fixtures run?)", d);
    for (int f = 0; f < n; f++) {
      char *path = cz_asprintf("%s/%s", d, files[f]->d_name);
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)strlen(files[f]->d_name) - 4, files[f]->d_name);
      ct_bundle *b = ct_bundle_read(path);
      char op[64];
      ct_oracle_op(b, op, sizeof op);
      int k = 0;
      while (k < n_seen && strcmp(seen_op[k], op) != 0) k++;
      if (k == n_seen && n_seen < 128) {
        snprintf(seen_op[n_seen], sizeof seen_op[n_seen], "%s", op);
        seen_count[n_seen++] = 0;
      }
      bool take = k == 128 || per_op <= 0 || seen_count[k]++ < per_op;
      for (int ref = 0; take && ref < 2; ref++) {
        ct_oracle_result r;
        bool ok = ct_oracle_run(b, ref == 1, &r);
        report(name, op, ref == 1, ok, &r, &failed);
        runs++;
        failures += !ok;
      }
      ct_bundle_free(b);
      free(path);
      free(files[f]);
    }
    free(files);
  }
  free(dirs);
  printf("%d case runs (%d ops), %d failed\n", runs, n_seen, failures);
  if (failures) {
    printf("failed:\n%s", failed.data);
    cz_sb_free(&failed);
    fail_msg("%d of %d oracle case runs failed (listed above)", failures, runs);
  }
  cz_sb_free(&failed);
}

/* The harness itself, on hand-made Relu bundles: a right answer passes, a
 * wrong one fails on the bound, and every kind of unusable case fails with
 * a message instead of aborting. */
static void put(ct_bundle *b, const char *name, const float *v, int64_t rows, int64_t cols) {
  ct_tensor *t = &b->t[b->n++];
  t->name = cz_xstrdup(name);
  t->dtype = CZ_F32;
  t->shape = cz_shape2(rows, cols);
  t->bytes = (size_t)(rows * cols) * sizeof(float);
  t->data = cz_xmalloc(t->bytes);
  memcpy(t->data, v, t->bytes);
}

static ct_bundle *relu_bundle(const char *spec, float y_shift) {
  float x[6] = {-1.5f, 0.5f, 2.0f, -0.25f, 1.0f, -3.0f}, gy[6] = {1, -2, 3, 0.5f, -1, 2};
  float y[6], gx[6];
  for (int i = 0; i < 6; i++) {
    y[i] = (x[i] > 0 ? x[i] : 0) + y_shift;
    gx[i] = x[i] > 0 ? gy[i] : 0;
  }
  ct_bundle *b = cz_xcalloc(1, sizeof *b);
  b->t = cz_xcalloc(8, sizeof *b->t);
  ct_tensor *s = &b->t[b->n++];
  s->name = cz_xstrdup("spec");
  s->is_text = true;
  s->dtype = CZ_U8;
  s->data = cz_xstrdup(spec);
  s->bytes = strlen(spec);
  s->shape = cz_shape1((int64_t)s->bytes);
  put(b, "X", x, 2, 3);
  put(b, "y.0", y, 2, 3);
  put(b, "gy.0", gy, 2, 3);
  put(b, "g.X", gx, 2, 3);
  return b;
}

static void expect(const char *spec, float y_shift, bool ok, const char *msg_part) {
  ct_bundle *b = relu_bundle(spec, y_shift);
  ct_oracle_result r;
  bool got = ct_oracle_run(b, false, &r);
  printf("harness: '%s' -> %s: %s (fwd err %.2g)\n", spec, got ? "passed" : "failed",
         r.msg[0] ? r.msg : "ran", r.fwd_err);
  assert_int_equal(got, ok);
  if (msg_part) assert_non_null(strstr(r.msg, msg_part));
  ct_bundle_free(b);
}

static void test_harness_reports_errors(void **state) {
  (void)state;
  const char *relu = "op=Relu; in=X:input:grad; out=1; training=0";
  expect(relu, 0.0f, true, NULL);
  expect(relu, 0.5f, false, NULL); /* wrong forward: over the bound, no message */
  expect("op=NoSuchOp; in=X:input:grad", 0.0f, false, "unknown op 'NoSuchOp'");
  expect("op=Relu; in=X:input:grad; attr alpha=float:0.5", 0.0f, false,
         "unsupported attribute 'alpha'");
  expect("op=Relu; in=Z:input:grad", 0.0f, false, "no tensor 'Z'");
  expect("op=Relu; in=X:weird", 0.0f, false, "kind 'weird'");
  expect("op=Relu; in=X:input:grad; out=2", 0.0f, false, "2 outputs");
  expect("op=Relu; in=X:input:grad; attr alpha=int:x", 0.0f, false, "bad value 'x'");
  /* A placeholder op, while there still is one. */
  for (const cz_op *const *op = cz_op_all(); *op; op++) {
    if ((*op)->forward) continue;
    char spec[128];
    snprintf(spec, sizeof spec, "op=%s; in=X:input:grad; attr axis=int:1", (*op)->name);
    expect(spec, 0.0f, false, "not implemented");
    break;
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_harness_reports_errors),
      cmocka_unit_test(test_ops_vs_torch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
