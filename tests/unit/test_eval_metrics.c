/* Tests for services/eval_metrics and the evaluation's CSV and PNG files:
 * hand-computed top-1/top-5/loss/confusion (ties as numpy's argmax and
 * torch.topk break them), softmax, CSV quoting, and a 100-class PNG. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/eval_metrics.h"
#include "services/eval_report.h"
#include "util/mem.h"

static void test_metrics_by_hand(void **state) {
  (void)state;
  cz_metrics m;
  cz_metrics_init(&m, 6);
  /* Row 0: label 2 is the largest -> top-1 hit. Row 1: label 0 ties with
   * class 1 at the top; the lower index (0) wins -> hit. Row 2: label 5 is
   * the 6th largest -> top-5 miss. Row 3: label 5 ties with classes 2-4
   * at ranks 3-6; lower indices first puts it 6th -> miss. */
  const float x[4 * 6] = {0, 1, 5, 2, 3, 4,  7, 7, 1, 2, 3, 4,
                          6, 5, 4, 3, 2, 1,  9, 8, 1, 1, 1, 1};
  const int64_t y[4] = {2, 0, 5, 5};
  cz_metrics_add(&m, x, y, 4);
  assert_int_equal(m.n, 4);
  assert_int_equal(m.top1, 2);
  assert_int_equal(m.top5, 2);
  assert_true(fabs(cz_metrics_top1(&m) - 50.0) < 1e-12);
  /* Loss: mean of logsumexp(x) - x[y], in double (tolerance 1e-9). */
  double want = 0;
  for (int r = 0; r < 4; r++) {
    double s = 0;
    for (int c = 0; c < 6; c++) s += exp(x[r * 6 + c]);
    want += log(s) - x[r * 6 + y[r]];
  }
  assert_true(fabs(cz_metrics_loss(&m) - want / 4) < 1e-9);
  assert_int_equal(m.confusion[2 * 6 + 2], 1);
  assert_int_equal(m.confusion[0 * 6 + 0], 1);
  assert_int_equal(m.confusion[5 * 6 + 0], 2);
  assert_true(fabs(cz_metrics_class_acc(&m, 5) - 0.0) < 1e-12);
  assert_true(cz_metrics_class_acc(&m, 1) < 0); /* no image of class 1 */
  cz_metrics_free(&m);
}

static void test_softmax(void **state) {
  (void)state;
  const float x[3] = {1000, 1000, 0}; /* no overflow: shifted by the max */
  double p[3];
  cz_softmax(x, 3, p);
  assert_true(fabs(p[0] - 0.5) < 1e-12 && fabs(p[1] - 0.5) < 1e-12 && p[2] < 1e-300 + 1e-12);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *s = cz_xcalloc(1, 1 << 16);
  size_t n = fread(s, 1, (1 << 16) - 1, f);
  s[n] = 0;
  fclose(f);
  return s;
}

static void test_csv_and_png(void **state) {
  (void)state;
  char dir[] = "/tmp/czoo_eval_XXXXXX";
  assert_non_null(mkdtemp(dir));
  cz_metrics m;
  cz_metrics_init(&m, 2);
  const float x[4] = {1, 0, 0, 1};
  const int64_t y[2] = {0, 0};
  cz_metrics_add(&m, x, y, 2);
  char *names[2] = {"a \"quoted\", name", "b"};
  char *csv = cz_asprintf("%s/c.csv", dir), *acc = cz_asprintf("%s/a.csv", dir);
  assert_null(cz_write_confusion_csv(csv, &m, names));
  assert_null(cz_write_class_acc_csv(acc, &m, names));
  char *s = slurp(csv);
  assert_string_equal(s, "true\\predicted,\"a \"\"quoted\"\", name\",b\n"
                         "\"a \"\"quoted\"\", name\",1,1\nb,0,0\n");
  free(s);
  s = slurp(acc);
  assert_string_equal(s, "class,images,correct,accuracy_percent\n"
                         "\"a \"\"quoted\"\", name\",2,1,50.00\nb,0,0,\n");
  free(s);
  cz_metrics_free(&m);

  /* 100 classes with long names: the PNG is written and holds a PNG. */
  cz_metrics_init(&m, 100);
  char *big[100];
  for (int i = 0; i < 100; i++) big[i] = cz_asprintf("class number %d with a long name", i);
  for (int i = 0; i < 100; i++) m.confusion[i * 100 + (i * 7) % 100] = i + 1;
  char *png = cz_asprintf("%s/m.png", dir);
  assert_null(cz_write_confusion_png(png, &m, big, "float_model_test_set accuracy: 1.00 %"));
  s = slurp(png);
  assert_memory_equal(s, "\x89PNG\r\n\x1a\n", 8);
  free(s);
  for (int i = 0; i < 100; i++) free(big[i]);
  cz_metrics_free(&m);
  /* An unwritable place is one error naming it. */
  char *bad = cz_asprintf("%s/no/such/dir/m.png", dir);
  cz_metrics_init(&m, 2);
  cz_err *e = cz_write_confusion_png(bad, &m, names, "t");
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), bad));
  cz_err_free(e);
  cz_metrics_free(&m);
  if (!getenv("CZOO_TEST_KEEP")) unlink(csv), unlink(acc), unlink(png), rmdir(dir);
  else printf("kept %s\n", dir);
  free(csv), free(acc), free(png), free(bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_by_hand),
      cmocka_unit_test(test_softmax),
      cmocka_unit_test(test_csv_and_png),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
