/* Tests for util/progress: line cadence on terminals and in plain output,
 * the figures on each line (from a fake clock) and the copy in the run log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"
#include "util/progress.h"

static double g_t;
static double fake_now(void) { return g_t; }

/* Everything written to f so far, NUL-terminated; caller frees. */
static char *slurp(FILE *f) {
  fflush(f);
  long n = ftell(f);
  assert_true(n >= 0);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  rewind(f);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  return s;
}

static int count_char(const char *s, char c) {
  int n = 0;
  for (; *s; s++) n += *s == c;
  return n;
}

static int count_substr(const char *s, const char *needle) {
  int n = 0;
  for (const char *q = strstr(s, needle); q; q = strstr(q + 1, needle)) n++;
  return n;
}

/* Returns line i (0-based) of s as a new string. */
static char *nth_line(const char *s, int i) {
  for (; i > 0; i--) {
    s = strchr(s, '\n');
    assert_non_null(s);
    s++;
  }
  const char *end = strchr(s, '\n');
  size_t n = end ? (size_t)(end - s) : strlen(s);
  char *line = malloc(n + 1);
  assert_non_null(line);
  memcpy(line, s, n);
  line[n] = '\0';
  return line;
}

static void test_plain_every_tenth(void **state) {
  (void)state;
  char logpath[] = "/tmp/czoo_progress_log_XXXXXX";
  int fd = mkstemp(logpath);
  assert_true(fd >= 0);
  close(fd);
  assert_null(cz_log_open_file(logpath));

  FILE *out = tmpfile();
  assert_non_null(out);
  cz_progress_set_test_hooks(0, fake_now, out);
  g_t = 1000.0;
  cz_progress *p = cz_progress_start("train", 100, "img");
  for (int i = 0; i <= 100; i++) {
    g_t = 1000.0 + i * 0.1; /* 10 img/s */
    cz_progress_update(p, i, "loss 0.412 (0.530)");
  }
  g_t = 1010.0;
  cz_progress_finish(p, "best acc 91.0%");

  char *text = slurp(out);
  assert_null(strchr(text, '\r'));
  assert_int_equal(count_char(text, '\n'), 11); /* 10%..100%, then final */
  assert_int_equal(count_substr(text, "10.0 img/s"), 11);
  assert_int_equal(count_substr(text, "ETA "), 10);
  char *first = nth_line(text, 0);
  assert_string_equal(first,
                      "train: 10/100 img (10.0%) | 10.0 img/s | elapsed 00:01"
                      " | ETA 00:09 | loss 0.412 (0.530)");
  char *fifth = nth_line(text, 4);
  assert_non_null(strstr(fifth, "50/100 img (50.0%)"));
  assert_non_null(strstr(fifth, "ETA 00:05"));
  char *last = nth_line(text, 10);
  assert_string_equal(last,
                      "train: 100/100 img (100.0%) | 10.0 img/s | elapsed"
                      " 00:10 | best acc 91.0%");
  free(first);
  free(fifth);
  free(last);
  free(text);
  fclose(out);

  /* The run log received the same lines, each under a timestamp. */
  cz_log_close_file();
  FILE *log = fopen(logpath, "r");
  assert_non_null(log);
  fseek(log, 0, SEEK_END);
  char *logged = slurp(log);
  fclose(log);
  unlink(logpath);
  assert_int_equal(count_char(logged, '\n'), 11);
  assert_int_equal(count_substr(logged, "[INFO] - train: "), 11);
  assert_int_equal(count_substr(logged, "ETA 00:09"), 1);
  assert_int_equal(count_substr(logged, "best acc 91.0%"), 1);
  free(logged);
  cz_progress_set_test_hooks(-1, NULL, NULL);
}

static void test_plain_unknown_total_every_30s(void **state) {
  (void)state;
  FILE *out = tmpfile();
  assert_non_null(out);
  cz_progress_set_test_hooks(0, fake_now, out);
  g_t = 0.0;
  cz_progress *p = cz_progress_start("eval", 0, "batch");
  for (int i = 1; i <= 95; i++) { /* one batch a second */
    g_t = i;
    cz_progress_update(p, i, NULL);
  }
  char *text = slurp(out);
  assert_int_equal(count_char(text, '\n'), 3); /* at 30, 60 and 90 s */
  assert_null(strstr(text, "ETA"));
  assert_null(strchr(text, '%'));
  char *second = nth_line(text, 1);
  assert_string_equal(second, "eval: 60 batch | 1.0 batch/s | elapsed 01:00");
  free(second);
  free(text);
  cz_progress_finish(p, NULL);
  fclose(out);
  cz_progress_set_test_hooks(-1, NULL, NULL);
}

/* A slow job with a known total still reports every 30 s between tenths. */
static void test_plain_slow_known_total(void **state) {
  (void)state;
  FILE *out = tmpfile();
  assert_non_null(out);
  cz_progress_set_test_hooks(0, fake_now, out);
  g_t = 0.0;
  cz_progress *p = cz_progress_start("export", 1000, "img");
  for (int i = 1; i <= 100; i++) { /* 1 img/s: 10% takes 100 s */
    g_t = i;
    cz_progress_update(p, i, NULL);
  }
  char *text = slurp(out);
  /* at 30, 60, 90 s (time) and 100 s (10%) */
  assert_int_equal(count_char(text, '\n'), 4);
  assert_int_equal(count_substr(text, "ETA 15:00"), 1); /* 900 left at 1/s */
  free(text);
  cz_progress_finish(p, NULL);
  fclose(out);
  cz_progress_set_test_hooks(-1, NULL, NULL);
}

static void test_tty_redraw_throttled(void **state) {
  (void)state;
  FILE *out = tmpfile();
  assert_non_null(out);
  cz_progress_set_test_hooks(1, fake_now, out);
  g_t = 0.0;
  cz_progress *p = cz_progress_start("train", 100, "img");
  /* 1/64 s per update (exact in binary): 0.1 s throttle => every 7th. */
  for (int i = 0; i <= 100; i++) {
    g_t = i / 64.0;
    cz_progress_update(p, i, NULL);
  }
  char *text = slurp(out);
  assert_int_equal(count_char(text, '\r'), 15); /* i = 0, 7, ..., 98 */
  assert_int_equal(count_char(text, '\n'), 0);
  free(text);
  cz_progress_finish(p, "done");
  text = slurp(out);
  assert_int_equal(count_char(text, '\r'), 16);
  assert_int_equal(count_char(text, '\n'), 1);
  assert_true(text[strlen(text) - 1] == '\n');
  const char *final = strrchr(text, '\r');
  assert_non_null(strstr(final, "100/100 img (100.0%)"));
  assert_non_null(strstr(final, "| done"));
  free(text);
  fclose(out);
  cz_progress_set_test_hooks(-1, NULL, NULL);
}

/* A shorter redraw must blank out the tail of the longer line before it. */
static void test_tty_pads_shorter_line(void **state) {
  (void)state;
  FILE *out = tmpfile();
  assert_non_null(out);
  cz_progress_set_test_hooks(1, fake_now, out);
  g_t = 0.0;
  cz_progress *p = cz_progress_start("x", 0, "b");
  g_t = 1.0;
  cz_progress_update(p, 1, "a long trailing message");
  g_t = 2.0;
  cz_progress_update(p, 2, NULL);
  char *text = slurp(out);
  const char *second = strrchr(text, '\r');
  const char *first = text;
  assert_true(first[0] == '\r');
  assert_int_equal(strlen(second), (size_t)(second - first));
  assert_true(second[strlen(second) - 1] == ' ');
  free(text);
  cz_progress_finish(p, NULL);
  fclose(out);
  cz_progress_set_test_hooks(-1, NULL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_every_tenth),
      cmocka_unit_test(test_plain_unknown_total_every_30s),
      cmocka_unit_test(test_plain_slow_known_total),
      cmocka_unit_test(test_tty_redraw_throttled),
      cmocka_unit_test(test_tty_pads_shorter_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
