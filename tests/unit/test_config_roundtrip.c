/* The resolved config that --cfg job prints is itself a config that loads
 * to the very same values, key by key: printing loses nothing (float
 * digits, list shapes, strings that look like numbers, unset keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/cfg_load.h"
#include "config/cfg_schema.h"
#include "config/cfg_value.h"

static char *full_config_path(void) {
  const char *data = getenv("CZOO_TEST_DATA");
  if (!data) fail_msg("CZOO_TEST_DATA is not set");
  static char path[1024];
  snprintf(path, sizeof path, "%s/full_config.yaml", data);
  return path;
}

static void load(const char *file, char *const *ov, size_t n, cz_loaded_config *lc) {
  cz_err *err = cz_config_load(file, ov, n, 1700000000, lc);
  if (err) fail_msg("%s", cz_err_msg(err));
}

static void assert_same_values(const cz_config *a, const cz_config *b) {
  for (size_t i = 0; i < cz_n_keys; i++) {
    const cz_key *k = &cz_keys[i];
    const void *va = (const char *)a + k->off, *vb = (const char *)b + k->off;
    bool set_a = *(const bool *)va, set_b = *(const bool *)vb;
    if (set_a != set_b) fail_msg("%s: set %d vs %d", k->path, set_a, set_b);
    if (set_a && !cz_value_equal(k, va, vb)) fail_msg("%s differs after printing", k->path);
  }
}

static void round_trip(char *const *ov, size_t n) {
  cz_loaded_config first;
  load(full_config_path(), ov, n, &first);
  char *text = cz_config_to_yaml(&first.cfg);
  char path[] = "/tmp/czoo_roundtrip_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  cz_loaded_config second;
  load(path, NULL, 0, &second);
  assert_same_values(&first.cfg, &second.cfg);
  unlink(path);
  free(text);
  cz_loaded_config_free(&first);
  cz_loaded_config_free(&second);
}

static void test_full_config_round_trips(void **state) {
  (void)state;
  round_trip(NULL, 0);
}

static void test_awkward_values_round_trip(void **state) {
  (void)state;
  char *ov[] = {
      "general.project_name='007'",           /* a string that reads as a number */
      "general.saved_models_dir='true'",      /* ... as a bool */
      "mlflow.uri='null'",                    /* ... as null */
      "preprocessing.rescaling.scale=1/3",    /* needs all 17 digits */
      "preprocessing.rescaling.offset=-1e-300",
      "training.optimizer.opt=lookahead_AdamW",
      "dataset.class_names=['a: b', \"c, d\", '#e', ' f']",
      "dataset.num_classes=4",
      "training.lr_scheduler.lr_noise=[0.5]",
      "data_augmentation.color_jitter=(0.1, 0.2, 0.3)",
  };
  round_trip(ov, sizeof ov / sizeof *ov);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_config_round_trips),
      cmocka_unit_test(test_awkward_values_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
