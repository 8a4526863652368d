/* Tests for util/threads: environment precedence, rejection of bad values
 * (with a warning naming them) and the count reaching OpenMP. */
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"
#include "util/threads.h"

static int cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : (int)n;
}

static void set_env(const char *czoo, const char *omp) {
  if (czoo)
    setenv("CZOO_NUM_THREADS", czoo, 1);
  else
    unsetenv("CZOO_NUM_THREADS");
  if (omp)
    setenv("OMP_NUM_THREADS", omp, 1);
  else
    unsetenv("OMP_NUM_THREADS");
}

/* Runs first: get() before any set() applies the default. */
static void test_get_applies_default(void **state) {
  (void)state;
  set_env("4", NULL);
  assert_int_equal(cz_threads_get(), 4);
  assert_int_equal(omp_get_max_threads(), 4);
}

static void test_env_precedence(void **state) {
  (void)state;
  set_env("3", "7");
  assert_int_equal(cz_threads_default(), 3);
  set_env(NULL, "7");
  assert_int_equal(cz_threads_default(), 7);
  set_env(NULL, "5,2");
  assert_int_equal(cz_threads_default(), 5);
  set_env(" 6 ", NULL);
  assert_int_equal(cz_threads_default(), 6);
  set_env(NULL, NULL);
  assert_int_equal(cz_threads_default(), cpus());
  set_env("", "");
  assert_int_equal(cz_threads_default(), cpus());
}

static void test_invalid_ignored_with_warning(void **state) {
  (void)state;
  char logpath[] = "/tmp/czoo_threads_log_XXXXXX";
  int fd = mkstemp(logpath);
  assert_true(fd >= 0);
  close(fd);
  assert_null(cz_log_open_file(logpath));

  const char *bad[] = {"abc", "0", "-2", "3x", "99999999999999999999", "2,3"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    set_env(bad[i], "2");
    assert_int_equal(cz_threads_default(), 2);
  }
  set_env("abc", "zzz");
  assert_int_equal(cz_threads_default(), cpus());
  cz_log_close_file();

  FILE *f = fopen(logpath, "r");
  assert_non_null(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  unlink(logpath);
  assert_non_null(strstr(buf, "[WARNING]"));
  assert_non_null(strstr(buf, "CZOO_NUM_THREADS=\"abc\""));
  assert_non_null(strstr(buf, "CZOO_NUM_THREADS=\"2,3\""));
  assert_non_null(strstr(buf, "OMP_NUM_THREADS=\"zzz\""));
  int lines = 0;
  for (char *p = buf; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 8); /* one per bad value */
}

static void test_set_get_round_trip(void **state) {
  (void)state;
  set_env("3", NULL);
  cz_threads_set(5);
  assert_int_equal(cz_threads_get(), 5);
  assert_int_equal(omp_get_max_threads(), 5);
  /* No parallel region here: libgomp never joins its pool threads, which
   * valgrind would report as possibly lost. */

  cz_threads_set(1);
  assert_int_equal(cz_threads_get(), 1);
  assert_int_equal(omp_get_max_threads(), 1);

  cz_threads_set(0); /* back to the default, from the environment */
  assert_int_equal(cz_threads_get(), 3);
  assert_int_equal(omp_get_max_threads(), 3);
  cz_threads_set(-4);
  assert_int_equal(cz_threads_get(), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_applies_default),
      cmocka_unit_test(test_env_precedence),
      cmocka_unit_test(test_invalid_ignored_with_warning),
      cmocka_unit_test(test_set_get_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
