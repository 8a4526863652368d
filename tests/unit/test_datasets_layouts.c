/* Tests for the flowers102 and food101 layouts of cz_ds_load: small trees
 * made here, with real MATLAB files written through libmatio. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
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
#include <matio.h>

#include "data/ds.h"
#include "util/mem.h"

static char g_tmp[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/czoo_dsl_XXXXXX");
  return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  return nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tpath(const char *rel) { return cz_asprintf("%s/%s", g_tmp, rel); }

/* Writes g_tmp/rel with text (making its folders). */
static void put(const char *rel, const char *text) {
  char *p = tpath(rel);
  for (char *s = p + strlen(g_tmp) + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0755);
      *s = '/';
    }
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  free(p);
}

static void expect_err_f(cz_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_err_f(cz_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m = cz_vasprintf(fmt, ap);
  va_end(ap);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), m);
  cz_err_free(e);
  free(m);
}

/* ---- flowers102 ---- */

/* One variable for write_mat: rows x cols doubles, or uint8 when u8 is 1,
 * or MATLAB text (char) when u8 is 2. */
typedef struct {
  const char *name;
  size_t rows, cols;
  const double *v;
  int u8;
} mvar;

static void write_mat(const char *rel, const mvar *vars, size_t n) {
  char *p = tpath(rel);
  mat_t *m = Mat_CreateVer(p, NULL, MAT_FT_MAT5);
  assert_non_null(m);
  for (size_t i = 0; i < n; i++) {
    size_t dims[2] = {vars[i].rows, vars[i].cols}, k = dims[0] * dims[1];
    uint8_t bytes[64];
    assert_true(k <= sizeof bytes);
    for (size_t j = 0; j < k && vars[i].u8; j++) bytes[j] = (uint8_t)vars[i].v[j];
    matvar_t *v =
        vars[i].u8 == 2 ? Mat_VarCreate(vars[i].name, MAT_C_CHAR, MAT_T_UINT8, 2, dims, bytes, 0)
        : vars[i].u8    ? Mat_VarCreate(vars[i].name, MAT_C_UINT8, MAT_T_UINT8, 2, dims, bytes, 0)
                        : Mat_VarCreate(vars[i].name, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims,
                                        (void *)vars[i].v, 0);
    assert_non_null(v);
    assert_int_equal(Mat_VarWrite(m, v, MAT_COMPRESSION_NONE), 0);
    Mat_VarFree(v);
  }
  Mat_Close(m);
  free(p);
}

static const double kLabels[10] = {1, 2, 3, 102, 1, 2, 3, 4, 5, 6};
static const double kTrn[4] = {1, 2, 3, 4}, kVal[2] = {6, 5}, kTst[4] = {7, 8, 9, 10};

static void flowers_tree(void) {
  for (int i = 1; i <= 10; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "fl/flowers-102/jpg/image_%05d.jpg", i);
    put(rel, "x");
  }
  mvar lab = {"labels", 1, 10, kLabels, 0};
  write_mat("fl/flowers-102/imagelabels.mat", &lab, 1);
  /* valid as a column and tstid as uint8: both forms must read alike. */
  mvar ids[3] = {{"trnid", 1, 4, kTrn, 0}, {"valid", 2, 1, kVal, 0}, {"tstid", 1, 4, kTst, 1}};
  write_mat("fl/flowers-102/setid.mat", ids, 3);
}

static void check_split(const cz_ds_split *sp, const char *root, const double *ids, size_t n) {
  assert_int_equal(sp->n, n);
  for (size_t i = 0; i < n; i++) {
    char *p = cz_asprintf("%s/flowers-102/jpg/image_%05d.jpg", root, (int)ids[i]);
    assert_string_equal(sp->s[i].path, p);
    assert_int_equal(sp->s[i].label, (int)kLabels[(int)ids[i] - 1] - 1);
    free(p);
  }
}

static void test_flowers(void **state) {
  (void)state;
  flowers_tree();
  cz_cfg_dataset d = {0};
  char *dd = tpath("fl");
  d.dataset_name = (cz_cenum){true, CZ_DS_FLOWERS102};
  d.data_dir = (cz_cstr){true, dd};
  d.quantization_split = (cz_cfloat){true, 0.5};
  cz_ds_set s;
  assert_null(cz_ds_load(&d, &s));
  assert_int_equal(s.num_classes, 102);
  assert_string_equal(s.class_names[0], "1");
  assert_string_equal(s.class_names[101], "102");
  check_split(&s.train, dd, kTrn, 4);
  check_split(&s.val, dd, kVal, 2);
  check_split(&s.test, dd, kTst, 4);
  assert_int_equal(s.train.s[3].label, 101);
  assert_int_equal(s.quant.n, 2);
  cz_ds_set_free(&s);
  free(dd);
}

static void test_flowers_errors(void **state) {
  (void)state;
  flowers_tree();
  cz_cfg_dataset d = {0};
  char *dd = tpath("fl"), *lp = tpath("fl/flowers-102/imagelabels.mat"),
       *sp = tpath("fl/flowers-102/setid.mat");
  d.dataset_name = (cz_cenum){true, CZ_DS_FLOWERS102};
  cz_ds_set s;
  expect_err_f(cz_ds_load(&d, &s), "dataset.data_dir: not set: expected the folder that "
               "holds flowers-102/");
  d.data_dir = (cz_cstr){true, dd};

  /* An image gone from jpg/. */
  char *gone = tpath("fl/flowers-102/jpg/image_00009.jpg");
  assert_int_equal(remove(gone), 0);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: 1 of 4 listed image files are missing "
               "(first: %s): expected every listed image on disk", gone);
  put("fl/flowers-102/jpg/image_00009.jpg", "x");
  free(gone);

  /* Ids past the end of labels. */
  static const double far[2] = {1, 11};
  mvar ids[3] = {{"trnid", 1, 2, far, 0}, {"valid", 1, 2, kVal, 0}, {"tstid", 1, 4, kTst, 0}};
  write_mat("fl/flowers-102/setid.mat", ids, 3);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: variable trnid: 11 at element 2: "
               "expected a whole number from 1 to 10 (the length of labels in %s)", sp, lp);
  static const double zero[1] = {0};
  ids[0] = (mvar){"trnid", 1, 1, zero, 0};
  write_mat("fl/flowers-102/setid.mat", ids, 3);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: variable trnid: 0 at element 1: "
               "expected a whole number from 1 to 10 (the length of labels in %s)", sp, lp);

  /* A missing variable. */
  ids[0] = (mvar){"trnid", 1, 4, kTrn, 0};
  write_mat("fl/flowers-102/setid.mat", ids, 2);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: no variable tstid in it: expected the "
               "Flowers-102 file", sp);
  write_mat("fl/flowers-102/setid.mat", ids, 3);

  /* labels as a matrix, labels out of 1..102, fractional, empty. */
  mvar lab = {"labels", 2, 5, kLabels, 0};
  write_mat("fl/flowers-102/imagelabels.mat", &lab, 1);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: variable labels has shape 2x5: expected "
               "a non-empty 1xN or Nx1 vector", lp);
  static const double bad[3] = {1, 103, 2}, half[2] = {1, 2.5};
  lab = (mvar){"labels", 3, 1, bad, 0};
  write_mat("fl/flowers-102/imagelabels.mat", &lab, 1);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: variable labels: 103 at element 2: "
               "expected a whole number from 1 to 102 (the class numbers)", lp);
  lab = (mvar){"labels", 1, 2, half, 0};
  write_mat("fl/flowers-102/imagelabels.mat", &lab, 1);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: variable labels: 2.5 at element 2: "
               "expected a whole number from 1 to 102 (the class numbers)", lp);
  lab = (mvar){"labels", 1, 0, kLabels, 0};
  write_mat("fl/flowers-102/imagelabels.mat", &lab, 1);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: variable labels has shape 1x0: expected "
               "a non-empty 1xN or Nx1 vector", lp);
  lab = (mvar){"labels", 1, 10, kLabels, 2};
  write_mat("fl/flowers-102/imagelabels.mat", &lab, 1);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: variable labels is not a real numeric "
               "array: expected a vector of numbers", lp);
  lab = (mvar){"wrong", 1, 10, kLabels, 0};
  write_mat("fl/flowers-102/imagelabels.mat", &lab, 1);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: no variable labels in it: expected the "
               "Flowers-102 file", lp);

  /* Not a MATLAB file, then no file. */
  put("fl/flowers-102/imagelabels.mat", "just text, not a MATLAB file at all");
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: cannot be read as a MATLAB file: "
               "expected a .mat file", lp);
  assert_int_equal(remove(lp), 0);
  expect_err_f(cz_ds_load(&d, &s), "flowers102: %s: does not exist: expected the "
               "Flowers-102 files in dataset.data_dir/flowers-102", lp);
  free(lp);
  free(sp);
  free(dd);
}

/* ---- food101 ---- */

static const char *const kFood[3] = {"waffles", "apple_pie", "sushi"};

/* Classes deliberately not in byte order: labels follow classes.txt. */
static void food_tree(void) {
  put("fd/food-101/meta/classes.txt", "waffles\napple_pie\nsushi\n");
  char train[512] = "", test[512] = "";
  for (int c = 0; c < 3; c++) {
    for (int i = 0; i < 5; i++) {
      char rel[128];
      snprintf(rel, sizeof rel, "fd/food-101/images/%s/%d%d.jpg", kFood[c], c, i);
      put(rel, "x");
      char *line = cz_asprintf("%s/%d%d\r\n", kFood[c], c, i);
      strcat(i < 4 ? train : test, line);
      free(line);
    }
  }
  put("fd/food-101/meta/train.txt", train);
  put("fd/food-101/meta/test.txt", test);
}

static void test_food(void **state) {
  (void)state;
  food_tree();
  cz_cfg_dataset d = {0};
  char *dd = tpath("fd");
  d.dataset_name = (cz_cenum){true, CZ_DS_FOOD101};
  d.data_dir = (cz_cstr){true, dd};
  d.validation_split = (cz_cfloat){true, 0.25};
  d.seed = (cz_cint){true, 7};
  cz_ds_set s, s2;
  assert_null(cz_ds_load(&d, &s));
  assert_int_equal(s.num_classes, 3);
  for (int c = 0; c < 3; c++) assert_string_equal(s.class_names[c], kFood[c]);
  assert_int_equal(s.train.n + s.val.n, 12);
  assert_int_equal(s.val.n, 3);
  assert_int_equal(s.quant.n, 9);
  assert_int_equal(s.test.n, 3);
  for (int c = 0; c < 3; c++) {
    char *p = cz_asprintf("%s/food-101/images/%s/%d4.jpg", dd, kFood[c], c);
    assert_string_equal(s.test.s[c].path, p);
    assert_int_equal(s.test.s[c].label, c);
    free(p);
  }
  /* Every listed sample's label is its folder's position in classes.txt. */
  for (size_t i = 0; i < s.train.n; i++) {
    const char *p = s.train.s[i].path;
    assert_non_null(strstr(p, kFood[s.train.s[i].label]));
  }
  /* Same seed, same carve. */
  assert_null(cz_ds_load(&d, &s2));
  assert_int_equal(s2.val.n, s.val.n);
  for (size_t i = 0; i < s.val.n; i++) assert_string_equal(s.val.s[i].path, s2.val.s[i].path);
  cz_ds_set_free(&s2);
  cz_ds_set_free(&s);
  free(dd);
}

static void test_food_errors(void **state) {
  (void)state;
  food_tree();
  cz_cfg_dataset d = {0};
  char *dd = tpath("fd"), *cp = tpath("fd/food-101/meta/classes.txt"),
       *tp = tpath("fd/food-101/meta/train.txt"), *sp = tpath("fd/food-101/meta/test.txt");
  d.dataset_name = (cz_cenum){true, CZ_DS_FOOD101};
  d.data_dir = (cz_cstr){true, dd};
  cz_ds_set s;

  /* Four images gone: three named, then "...". */
  char *gone[4];
  for (int i = 0; i < 4; i++) {
    gone[i] = cz_asprintf("%s/food-101/images/%s/%d%d.jpg", dd, kFood[i % 3], i % 3, i / 3);
    assert_int_equal(remove(gone[i]), 0);
  }
  expect_err_f(cz_ds_load(&d, &s), "food101: 4 of 12 listed image files are missing (first: "
               "%s, %s, %s, ...): expected every listed image on disk", gone[0], gone[3],
               gone[1]);
  for (int i = 0; i < 4; i++) {
    put(gone[i] + strlen(g_tmp) + 1, "x");
    free(gone[i]);
  }

  put("fd/food-101/meta/test.txt", "sushi/24\n\nramen/1\n");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s line 3: class \"ramen\" is not in %s: "
               "expected one of the classes listed there", sp, cp);
  put("fd/food-101/meta/test.txt", "sushi24\n");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s line 1: \"sushi24\": expected class/id", sp);
  put("fd/food-101/meta/test.txt", "\n\r\n");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s: empty: expected one entry per line", sp);
  assert_int_equal(remove(tp), 0);
  char *tj = tpath("fd/food-101/meta/train.json");
  expect_err_f(cz_ds_load(&d, &s), "food101: neither %s nor %s exists: expected the train list",
               tp, tj);
  free(tj);
  put("fd/food-101/meta/classes.txt", "sushi\nwaffles\nsushi\n");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s: class \"sushi\" is listed twice: expected "
               "each class once", cp);
  free(cp);
  free(tp);
  free(sp);
  free(dd);
}

/* meta/<split>.json (torchvision's Food101 lists), alone or beside the .txt. */
static void test_food_json(void **state) {
  (void)state;
  food_tree();
  cz_cfg_dataset d = {0};
  char *dd = tpath("fd"), *tp = tpath("fd/food-101/meta/train.txt"),
       *tj = tpath("fd/food-101/meta/train.json"), *sj = tpath("fd/food-101/meta/test.json");
  d.dataset_name = (cz_cenum){true, CZ_DS_FOOD101};
  d.data_dir = (cz_cstr){true, dd};
  d.validation_split = (cz_cfloat){true, 0.25};
  d.seed = (cz_cint){true, 7};
  cz_ds_set want, s;
  assert_null(cz_ds_load(&d, &want));
  /* Both lists, agreeing (the JSON in class-dict order, one line each). */
  put("fd/food-101/meta/train.json",
      "{\"waffles\": [\"waffles/00\", \"waffles/01\", \"waffles/02\", \"waffles/03\"],\n"
      " \"apple_pie\": [\"apple_pie/10\", \"apple_pie/11\", \"apple_pie/12\", "
      "\"apple_pie/13\"],\n"
      " \"sushi\": [\"sushi/20\", \"sushi/21\", \"sushi/22\", \"sushi/23\"]}\n");
  put("fd/food-101/meta/test.json",
      "{\"sushi\": [\"sushi/24\"], \"apple_pie\": [\"apple_pie/14\"], "
      "\"waffles\": [\"waffles/04\"]}");
  assert_null(cz_ds_load(&d, &s));
  assert_int_equal(s.train.n, want.train.n);
  assert_int_equal(s.test.n, 3);
  cz_ds_set_free(&s);
  /* JSON only: the same samples and labels as the .txt lists gave. */
  assert_int_equal(remove(tp), 0);
  assert_null(cz_ds_load(&d, &s));
  assert_int_equal(s.train.n, want.train.n);
  assert_int_equal(s.val.n, want.val.n);
  for (size_t i = 0; i < s.train.n; i++) {
    assert_string_equal(s.train.s[i].path, want.train.s[i].path);
    assert_int_equal(s.train.s[i].label, want.train.s[i].label);
  }
  cz_ds_set_free(&s);
  cz_ds_set_free(&want);
  /* An entry under the wrong class: the file, its line, the problem. */
  put("fd/food-101/meta/train.json", "{\"sushi\": [\"sushi/20\",\n  \"waffles/00\"]}\n");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s line 2: \"waffles/00\" under class \"sushi\": "
               "expected \"sushi/<id>\"", tj);
  put("fd/food-101/meta/train.json", "{\"sushi\": \"sushi/20\"}\n");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s line 1: class \"sushi\": expected a list of "
               "\"sushi/<id>\" strings", tj);
  /* Broken JSON: libyaml's syntax error, with file:line:column. */
  put("fd/food-101/meta/train.json", "{\"sushi\": [\"sushi/20\",\n  \"sushi/21\"\n");
  cz_err *e = cz_ds_load(&d, &s);
  assert_non_null(e);
  char *want_pre = cz_asprintf("food101: %s:3:1: YAML syntax error: ", tj);
  assert_true(!strncmp(cz_err_msg(e), want_pre, strlen(want_pre)));
  free(want_pre);
  cz_err_free(e);
  /* Both lists, disagreeing: the first entry only one of them has. */
  food_tree();
  put("fd/food-101/meta/test.json", "{\"sushi\": [\"sushi/24\", \"sushi/99\"], "
      "\"apple_pie\": [\"apple_pie/14\"], \"waffles\": [\"waffles/04\"]}");
  put("fd/food-101/meta/train.json", "{\"sushi\": [\"sushi/20\"]}");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s lists \"apple_pie/10\" but %s does not: "
               "expected both lists to name the same images", tp, tj);
  remove(tj);
  char *sp = tpath("fd/food-101/meta/test.txt");
  expect_err_f(cz_ds_load(&d, &s), "food101: %s lists \"sushi/99\" but %s does not: "
               "expected both lists to name the same images", sj, sp);
  free(sp);
  free(sj);
  free(tj);
  free(tp);
  free(dd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_flowers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flowers_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_food, setup, teardown),
      cmocka_unit_test_setup_teardown(test_food_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_food_json, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
