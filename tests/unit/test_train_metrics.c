/* Tests for the training metric outputs: CRC-32C known answers (RFC 3720
 * B.4), Python float repr, summary.csv exact text (append, re-open, trim),
 * the PNG plots (decoded back: size, not blank, series colours present)
 * and one clear error for an unusable directory. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/file_bytes.h"
#include "io/img.h"
#include "train/metrics_pyfloat.h"
#include "train/metrics_summary.h"
#include "train/plot_chart.h"
#include "train/plot_training.h"
#include "train/tb_crc32c.h"
#include "train/tb_events.h"
#include "util/err.h"
#include "util/mem.h"

static int setup(void **state) {
  char *dir = cz_xstrdup("/tmp/czoo_metrics_XXXXXX");
  if (!mkdtemp(dir)) return -1;
  *state = dir;
  return 0;
}

static int teardown(void **state) {
  char *dir = *state;
  DIR *d = opendir(dir);
  struct dirent *ent;
  while (d && (ent = readdir(d))) {
    if (ent->d_name[0] == '.' && (!ent->d_name[1] || !strcmp(ent->d_name, ".."))) continue;
    char *p = cz_asprintf("%s/%s", dir, ent->d_name);
    unlink(p);
    free(p);
  }
  if (d) closedir(d);
  rmdir(dir);
  free(dir);
  return 0;
}

/* RFC 3720 appendix B.4 (iSCSI CRC32C examples), plus the common check
 * value of "123456789". Exact. */
static void test_crc32c_known_answers(void **state) {
  (void)state;
  uint8_t b[48];
  memset(b, 0, 32);
  assert_int_equal(cz_crc32c(b, 32), 0x8A9136AAu);
  memset(b, 0xFF, 32);
  assert_int_equal(cz_crc32c(b, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)i;
  assert_int_equal(cz_crc32c(b, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++) b[i] = (uint8_t)(31 - i);
  assert_int_equal(cz_crc32c(b, 32), 0x113FDB5Cu);
  static const uint8_t pdu[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  assert_int_equal(cz_crc32c(pdu, 48), 0xD9963A56u);
  assert_int_equal(cz_crc32c("123456789", 9), 0xE3069283u);
  assert_int_equal(cz_crc32c("", 0), 0u);
  /* The mask of TensorFlow's crc32c.h: rotate right by 15, add a constant. */
  assert_int_equal(cz_crc32c_mask(0u), 0xA282EAD8u);
  assert_int_equal(cz_crc32c_mask(0x8000u), 0xA282EAD9u);
}

/* Python's repr(), generated with CPython 3.11 (exact strings). */
static void test_pyfloat_repr(void **state) {
  (void)state;
  static const struct {
    double x;
    const char *s;
  } cases[] = {
      {0x1.999999999999ap-4, "0.1"},
      {0x1.4f8b588e368f1p-17, "1e-05"},
      {0x1.a36e2eb1c432dp-14, "0.0001"},
      {0x1.1c37937e08000p+53, "1e+16"},
      {0x1.18b54f22aeb00p+50, "1234567890123456.0"},
      {0x1.9000000000000p+6, "100.0"},
      {0x1.0c6f7a0b5ed8dp-22, "2.5e-07"},
      {-0x1.8000000000000p+0, "-1.5"},
      {0x1.5555555555555p-2, "0.3333333333333333"},
      {0x1.2c00000000000p+6, "75.0"},
      {0x1.3333333333334p-2, "0.30000000000000004"},
      {0x1.99999a0000000p-4, "0.10000000149011612"},
      {0x1.fffffffffffffp+1023, "1.7976931348623157e+308"},
      {0x0.0000000000001p-1022, "5e-324"},
      {0x1.e240c9fbe76c9p+16, "123456.789"},
      {-0x0.0p+0, "-0.0"},
      {0x1.0f0cf064dd592p+73, "1e+22"},
      {0x1.02e4b6ce5dc68p-13, "0.00012345"},
      {0x1.0000000000000p-20, "9.5367431640625e-07"},
      {0x1.6cef9db22d0e5p+6, "91.234"},
      {0x1.6cef9e0000000p+6, "91.23400115966797"},
      {0.0, "0.0"},
  };
  char buf[CZ_PYFLOAT_MAX];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_string_equal(cz_pyfloat_repr(cases[i].x, buf), cases[i].s);
}

static char *read_text(const char *path) {
  uint8_t *buf;
  size_t n;
  cz_err *e = cz_read_file_bytes(path, &buf, &n);
  if (e) {
    cz_err_free(e);
    return NULL;
  }
  return (char *)buf;
}

static void assert_ok(cz_err *e) {
  if (e) fail_msg("%s", cz_err_msg(e));
}

/* Exact text, as timm's update_summary (csv.DictWriter, "\r\n") writes it;
 * tests/oracle/check_train_tb.py checks the same format against timm. */
static void test_summary_text(void **state) {
  char *path = cz_asprintf("%s/summary.csv", (char *)*state);
  cz_summary_row r0 = {0, 2.302585092994046, 1.9, 31.25, 80.0, 1e-05};
  cz_summary_row r1 = {1, 1.25, 0.75, 75.5, 99.0, 0.010000000000000002};
  cz_summary_row r2 = {2, 0.5, 0.625, 91.234, 100.0, 0.0001};
  assert_ok(cz_summary_append(path, &r0));
  char *t = read_text(path);
  assert_string_equal(t, "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n"
                         "0,2.302585092994046,1.9,31.25,80.0,1e-05\r\n");
  free(t);
  /* A later call (the run re-opened) appends below the existing rows. */
  assert_ok(cz_summary_append(path, &r1));
  assert_ok(cz_summary_append(path, &r2));
  t = read_text(path);
  assert_string_equal(t, "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n"
                         "0,2.302585092994046,1.9,31.25,80.0,1e-05\r\n"
                         "1,1.25,0.75,75.5,99.0,0.010000000000000002\r\n"
                         "2,0.5,0.625,91.234,100.0,0.0001\r\n");
  free(t);
  /* Resume at epoch 1: the rows of epochs 1 and 2 go, then 1 again. */
  assert_ok(cz_summary_trim(path, 1));
  assert_ok(cz_summary_append(path, &r1));
  t = read_text(path);
  assert_string_equal(t, "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n"
                         "0,2.302585092994046,1.9,31.25,80.0,1e-05\r\n"
                         "1,1.25,0.75,75.5,99.0,0.010000000000000002\r\n");
  free(t);
  /* A fresh run (start 0) empties it; the next row brings the header back. */
  assert_ok(cz_summary_trim(path, 0));
  t = read_text(path);
  assert_string_equal(t, "");
  free(t);
  assert_ok(cz_summary_append(path, &r2));
  t = read_text(path);
  assert_string_equal(t, "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n"
                         "2,0.5,0.625,91.234,100.0,0.0001\r\n");
  free(t);
  /* Only summary.csv is there: no temporary left behind. */
  DIR *d = opendir(*state);
  int entries = 0;
  struct dirent *ent;
  while ((ent = readdir(d)))
    if (ent->d_name[0] != '.' || (ent->d_name[1] && strcmp(ent->d_name, ".."))) entries++;
  closedir(d);
  assert_int_equal(entries, 1);
  free(path);
}

/* A table edited by hand: a repeated header and a blank row are dropped
 * as timm's trim_summary drops them, a row whose epoch is not a number too
 * (where timm's int(float(...)) would raise), and a last row without its
 * line end gets one, so the next append starts a line of its own. */
static void test_summary_trim_untidy(void **state) {
  char *path = cz_asprintf("%s/summary.csv", (char *)*state);
  static const char untidy[] = "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n"
                               "0,1.0,1.0,1.0,1.0,0.1\r\n"
                               "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n"
                               "\r\n"
                               "oops\r\n"
                               "1.0,2.0,2.0,2.0,2.0,0.2";
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fwrite(untidy, 1, sizeof untidy - 1, f);
  fclose(f);
  assert_ok(cz_summary_trim(path, 5));
  cz_summary_row r = {2, 0.5, 0.5, 50.0, 90.0, 0.05};
  assert_ok(cz_summary_append(path, &r));
  char *t = read_text(path);
  assert_string_equal(t, "epoch,train_loss,eval_loss,eval_top1,eval_top5,lr\r\n"
                         "0,1.0,1.0,1.0,1.0,0.1\r\n"
                         "1.0,2.0,2.0,2.0,2.0,0.2\r\n"
                         "2,0.5,0.5,50.0,90.0,0.05\r\n");
  free(t);
  /* A missing file stays missing. */
  char *none = cz_asprintf("%s/none.csv", (char *)*state);
  assert_ok(cz_summary_trim(none, 0));
  assert_int_equal(access(none, F_OK), -1);
  free(none);
  free(path);
}

/* Pixels within 40 (sum of channel differences) of colour (r, g, b). */
static long count_colour(const cz_image *im, int r, int g, int b) {
  long k = 0;
  for (long i = 0; i < (long)im->w * im->h; i++) {
    const uint8_t *p = im->px + 3 * i;
    if (abs(p[0] - r) + abs(p[1] - g) + abs(p[2] - b) <= 40) k++;
  }
  return k;
}

static void test_plots_decode(void **state) {
  const char *dir = *state;
  cz_summary_row rows[6];
  for (int i = 0; i < 6; i++)
    rows[i] = (cz_summary_row){i, 2.0 / (i + 1), 2.2 / (i + 1.2), 40 + 9 * i, 70 + 5 * i,
                               i < 2 ? 1e-5 + 0.005 * i : 0.01 * (6 - i) / 4.0};
  for (int n = 1; n <= 6; n += 5) { /* one epoch (degenerate ranges) and six */
    assert_ok(cz_plot_training(dir, rows, n));
    static const struct {
      const char *file;
      int r, g, b; /* first series colour, plot_training.c */
    } want[] = {{"loss.png", 31, 120, 181}, {"accuracy.png", 43, 161, 43}, {"lr.png", 214, 38, 41}};
    for (int k = 0; k < 3; k++) {
      char *p = cz_asprintf("%s/%s", dir, want[k].file);
      cz_image im = {0};
      assert_ok(cz_image_load(p, 3, 0, 0, &im));
      assert_int_equal(im.w, CZ_PLOT_WIDTH);
      assert_int_equal(im.h, CZ_PLOT_HEIGHT);
      long white = count_colour(&im, 255, 255, 255), black = count_colour(&im, 0, 0, 0);
      long series = count_colour(&im, want[k].r, want[k].g, want[k].b);
      long total = (long)im.w * im.h;
      /* Not blank: mostly white background, with axes/text (black) and
       * the series' own colour (markers + line + legend) clearly present. */
      assert_true(white > total / 2 && white < total - 2000);
      assert_true(black > 1000);
      /* One epoch: the legend line and one marker (~100 px); six: lines too. */
      if (series <= (n == 1 ? 60 : 400)) fail_msg("%s n=%d: %ld pixels of the series colour", want[k].file, n, series);
      cz_image_free(&im);
      free(p);
    }
  }
}

/* An event/plot/summary directory that cannot be used: one line naming it. */
static void test_invalid_directory(void **state) {
  char *file = cz_asprintf("%s/plain-file", (char *)*state);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  char *bad = cz_asprintf("%s/logs", file); /* below a regular file */
  cz_tb_writer *w = (cz_tb_writer *)1;
  cz_err *e = cz_tb_open(bad, &w);
  assert_non_null(e);
  assert_null(w);
  char *want = cz_asprintf("tensorboard: cannot create log directory '%s': Not a directory", bad);
  assert_string_equal(cz_err_msg(e), want);
  free(want);
  cz_err_free(e);
  e = cz_tb_open(file, &w); /* exists, not a directory */
  assert_non_null(e);
  want = cz_asprintf("tensorboard: log directory '%s' exists but is not a directory", file);
  assert_string_equal(cz_err_msg(e), want);
  free(want);
  cz_err_free(e);
  cz_summary_row r = {0, 1, 1, 1, 1, 1};
  char *csv = cz_asprintf("%s/summary.csv", bad);
  e = cz_summary_append(csv, &r);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), bad));
  assert_null(strchr(cz_err_msg(e), '\n'));
  cz_err_free(e);
  e = cz_plot_training(bad, &r, 1);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), bad));
  assert_null(strchr(cz_err_msg(e), '\n'));
  cz_err_free(e);
  free(csv);
  free(bad);
  free(file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc32c_known_answers),
      cmocka_unit_test(test_pyfloat_repr),
      cmocka_unit_test_setup_teardown(test_summary_text, setup, teardown),
      cmocka_unit_test_setup_teardown(test_summary_trim_untidy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plots_decode, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_directory, setup, teardown),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  cz_plot_shutdown(); /* valgrind's leak check: fontconfig's caches */
  return failed;
}
