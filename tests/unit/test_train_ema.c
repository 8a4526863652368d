/* The EMA of the weights (src/train/ema.c) against timm 1.0.31's ModelEmaV3
 * on torch 1.13 (tests/oracle/gen_ema.py): from the same initial weights
 * and the same sequence of model weights, with train.py's update counts,
 * every EMA value after each of the 12 updates must match within
 * |ours - ref| <= 4e-7 * |ref| + 1e-9 (a few float32 roundings over 12
 * updates; the measured worst is printed per case). The decay rule itself
 * is checked exactly: 0 for update 1 (a copy), the configured decay after. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tensor_file.h"
#include "train/ema.h"

#define RTOL 4e-7
#define ATOL 1e-9

static const char *g_dir;

static void check_case(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.czt", g_dir, name);
  ct_bundle *b = ct_bundle_read(path);
  double decay = 0;
  int first = 0;
  assert_int_equal(sscanf((const char *)ct_bundle_need(b, "cfg")->data, "decay=%lf first=%d",
                          &decay, &first), 2);
  const ct_tensor *init = ct_bundle_need(b, "init");
  int64_t n = (int64_t)(init->bytes / sizeof(float));
  float *ema = malloc(init->bytes);
  assert_non_null(ema);
  memcpy(ema, init->data, init->bytes);
  double worst_abs = 0, worst_rel = 0;
  int steps = 0;
  for (;; steps++) {
    char key[64];
    snprintf(key, sizeof key, "model/%d", steps);
    const ct_tensor *m = ct_bundle_get(b, key);
    if (!m) break;
    cz_ema_update(ema, m->data, n, cz_ema_decay(decay, first + steps));
    snprintf(key, sizeof key, "ema/%d", steps);
    const float *ref = ct_bundle_need(b, key)->data;
    for (int64_t i = 0; i < n; i++) {
      double d = fabs((double)ema[i] - ref[i]);
      if (d > worst_abs) worst_abs = d;
      if (fabs(ref[i]) > 1e-3 && d / fabs(ref[i]) > worst_rel) worst_rel = d / fabs(ref[i]);
      if (d > RTOL * fabs(ref[i]) + ATOL)
        fail_msg("%s: update %d value %lld: ours %.9g, timm %.9g", name, steps + 1,
                 (long long)i, ema[i], ref[i]);
    }
  }
  assert_int_equal(steps, 12);
  printf("ema %-8s 12 updates of %lld values: max abs diff %.3g, max rel diff %.3g\n", name,
         (long long)n, worst_abs, worst_rel);
  free(ema);
  ct_bundle_free(b);
}

static void test_against_timm(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/index.czt", g_dir);
  ct_bundle *idx = ct_bundle_read(path);
  char names[512];
  snprintf(names, sizeof names, "%s", (const char *)ct_bundle_need(idx, "cases")->data);
  int n = 0;
  for (char *tok = strtok(names, "\n"); tok; tok = strtok(NULL, "\n"), n++) check_case(tok);
  assert_int_equal(n, 4);
  ct_bundle_free(idx);
}

static void test_decay_rule(void **state) {
  (void)state;
  assert_true(cz_ema_decay(0.9998, 1) == 0.0);
  assert_true(cz_ema_decay(0.9998, 2) == 0.9998);
  assert_true(cz_ema_decay(0.5, 1000) == 0.5);
  /* decay 0 copies the weights exactly */
  float e[3] = {1.5f, -2.0f, 3.25f};
  const float m[3] = {0.1f, -7.0f, 1e-20f};
  cz_ema_update(e, m, 3, 0.0);
  assert_memory_equal(e, m, sizeof m);
}

int main(void) {
  g_dir = getenv("CZOO_EMA_DIR");
  if (!g_dir) {
    fprintf(stderr, "CZOO_EMA_DIR not set (the oracle.gen_ema fixture sets it)\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_timm),
      cmocka_unit_test(test_decay_rule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
