/* Tests for util/atomic_file: the user's file changes only at commit, and
 * no temporary is ever left behind, whether committed, aborted or failed. */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/atomic_file.h"
#include "util/err.h"
#include "util/mem.h"

typedef struct {
  char dir[64];
} fixture;

static int setup(void **state) {
  fixture *fx = cz_xcalloc(1, sizeof *fx);
  strcpy(fx->dir, "/tmp/czoo_afile_XXXXXX");
  if (!mkdtemp(fx->dir)) return -1;
  umask(022);
  *state = fx;
  return 0;
}

/* Removes the test directory, one level of subdirectories deep. */
static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *ent;
  while ((ent = readdir(d))) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    char *p = cz_asprintf("%s/%s", dir, ent->d_name);
    if (unlink(p) != 0) remove_tree(p);
    free(p);
  }
  closedir(d);
  rmdir(dir);
}

static int teardown(void **state) {
  fixture *fx = *state;
  remove_tree(fx->dir);
  free(fx);
  return 0;
}

static char *path_in(const fixture *fx, const char *name) {
  return cz_asprintf("%s/%s", fx->dir, name);
}

/* Whole content of a file, NUL-terminated; NULL if it cannot be read. */
static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return cz_xstrdup(buf);
}

static void assert_content(const char *path, const char *expect) {
  char *got = read_all(path);
  assert_non_null(got);
  assert_string_equal(got, expect);
  free(got);
}

/* Directory entries other than . and ..; counts those with "tmp" in the
 * name separately. */
static int count_entries(const char *dir, int *tmp_count) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0, tmps = 0;
  struct dirent *ent;
  while ((ent = readdir(d))) {
    if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
    n++;
    tmps += strstr(ent->d_name, ".tmp.") != NULL;
  }
  closedir(d);
  if (tmp_count) *tmp_count = tmps;
  return n;
}

static void test_commit_creates_file(void **state) {
  fixture *fx = *state;
  char *path = path_in(fx, "model.onnx");
  assert_null(cz_write_file_atomic(path, "hello\n", 6));
  assert_content(path, "hello\n");
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644); /* 0644 under umask 022 */
  int tmps;
  assert_int_equal(count_entries(fx->dir, &tmps), 1);
  assert_int_equal(tmps, 0);

  /* A stricter umask applies as it would to a plain create. */
  char *path2 = path_in(fx, "private.txt");
  umask(077);
  assert_null(cz_write_file_atomic(path2, "", 0));
  umask(022);
  assert_int_equal(stat(path2, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, 0);
  free(path);
  free(path2);
}

static void test_replace_only_at_commit(void **state) {
  fixture *fx = *state;
  char *path = path_in(fx, "results.csv");
  assert_null(cz_write_file_atomic(path, "old", 3));
  assert_int_equal(chmod(path, 0640), 0);

  cz_afile *f = NULL;
  assert_null(cz_afile_open(path, &f));
  assert_non_null(f);
  fputs("new content", cz_afile_stream(f));
  fflush(cz_afile_stream(f));
  assert_content(path, "old");
  int tmps;
  assert_int_equal(count_entries(fx->dir, &tmps), 2);
  assert_int_equal(tmps, 1);

  assert_null(cz_afile_commit(f));
  assert_content(path, "new content");
  assert_int_equal(count_entries(fx->dir, &tmps), 1);
  assert_int_equal(tmps, 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640); /* the replaced file's mode */
  free(path);
}

static void test_abort_keeps_old(void **state) {
  fixture *fx = *state;
  char *path = path_in(fx, "best.pth.tar");
  assert_null(cz_write_file_atomic(path, "precious", 8));
  cz_afile *f = NULL;
  assert_null(cz_afile_open(path, &f));
  fputs("half-writ", cz_afile_stream(f));
  cz_afile_abort(f);
  assert_content(path, "precious");
  int tmps;
  assert_int_equal(count_entries(fx->dir, &tmps), 1);
  assert_int_equal(tmps, 0);
  cz_afile_abort(NULL);
  free(path);
}

static void test_missing_directory(void **state) {
  fixture *fx = *state;
  char *path = path_in(fx, "no/such/dir/out.txt");
  cz_afile *f = (cz_afile *)&f; /* must be reset to NULL on failure */
  cz_err *e = cz_afile_open(path, &f);
  assert_non_null(e);
  assert_null(f);
  assert_int_equal(cz_err_code(e), CZ_EXIT_RUNTIME);
  assert_non_null(strstr(cz_err_msg(e), path));
  assert_non_null(strstr(cz_err_msg(e), "cannot write"));
  assert_non_null(strstr(cz_err_msg(e), "No such file or directory"));
  assert_null(strchr(cz_err_msg(e), '\n'));
  cz_err_free(e);

  e = cz_write_file_atomic(path, "x", 1);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), path));
  cz_err_free(e);
  assert_int_equal(count_entries(fx->dir, NULL), 0);
  free(path);
}

/* A failing rename (the target is a non-empty directory) reports the path
 * and cleans up its temporary. */
static void test_commit_failure_cleans_up(void **state) {
  fixture *fx = *state;
  char *sub = path_in(fx, "taken");
  assert_int_equal(mkdir(sub, 0755), 0);
  char *inner = cz_asprintf("%s/keep", sub);
  assert_null(cz_write_file_atomic(inner, "k", 1));

  cz_afile *f = NULL;
  assert_null(cz_afile_open(sub, &f));
  fputs("data", cz_afile_stream(f));
  cz_err *e = cz_afile_commit(f);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), sub));
  cz_err_free(e);
  int tmps;
  assert_int_equal(count_entries(fx->dir, &tmps), 1);
  assert_int_equal(tmps, 0);
  assert_content(inner, "k");

  e = cz_write_file_atomic("", "x", 1);
  assert_non_null(e);
  cz_err_free(e);
  char *slash = cz_asprintf("%s/", sub);
  e = cz_afile_open(slash, &f);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), slash));
  cz_err_free(e);
  free(slash);
  free(inner);
  free(sub);
}

static void test_relative_name(void **state) {
  fixture *fx = *state;
  char cwd[PATH_MAX];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(fx->dir), 0);
  cz_err *e = cz_write_file_atomic("plain.txt", "rel", 3);
  assert_int_equal(chdir(cwd), 0);
  assert_null(e);
  char *path = path_in(fx, "plain.txt");
  assert_content(path, "rel");
  int tmps;
  assert_int_equal(count_entries(fx->dir, &tmps), 1);
  assert_int_equal(tmps, 0);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_commit_creates_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_replace_only_at_commit, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_abort_keeps_old, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_directory, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_commit_failure_cleans_up, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_relative_name, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
