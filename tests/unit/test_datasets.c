/* Tests for data/ds_*: ImageFolder scan order and errors, seeded splits,
 * class-name files, IDX files (made here, and Debian's Fashion-MNIST). */
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
#include <zlib.h>

#include <cmocka.h>

#include "data/ds.h"
#include "util/mem.h"

static char g_tmp[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/czoo_ds_XXXXXX");
  return mkdtemp(g_tmp) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  return nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates g_tmp/rel (and its folders); dirs end with '/'. */
static void make(const char *rel) {
  char *p = cz_asprintf("%s/%s", g_tmp, rel);
  for (char *s = p + strlen(g_tmp) + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0755);
      *s = '/';
    }
  size_t l = strlen(p);
  if (p[l - 1] != '/') {
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("not really an image", f);
    fclose(f);
  }
  free(p);
}

static char *tpath(const char *rel) { return cz_asprintf("%s/%s", g_tmp, rel); }

static void expect_err(cz_err *e, const char *msg) {
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
}

static void expect_err_f(cz_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_err_f(cz_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m = cz_vasprintf(fmt, ap);
  va_end(ap);
  expect_err(e, m);
  free(m);
}

/* ---- folder scan ---- */

static void build_tree(const char *top) {
  static const char *const files[] = {
      "b class/z.jpg", "b class/Z.JPG", "b class/a.png", "b class/.hidden.jpg",
      "b class/notes.txt", "b class/sub/x.jpeg", "b class/sub/deeper/", "a/2.Png",
      "a/1.bmp", "a/1.gif", "\xc3\xa9t\xc3\xa9/\xc3\xbc.jpg", "Z/img.jpg", "stray.jpg"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char *r = cz_asprintf("%s/%s", top, files[i]);
    make(r);
    free(r);
  }
}

static void test_folder_order(void **state) {
  (void)state;
  build_tree("tr");
  char *root = tpath("tr/"); /* trailing slash: paths still come out clean */
  cz_ds_folder f;
  assert_null(cz_ds_folder_scan(root, &f));
  /* Byte order: 'Z' < 'a' < 'b' < UTF-8 lead byte 0xC3 (code point order). */
  static const char *const cls[] = {"Z", "a", "b class", "\xc3\xa9t\xc3\xa9"};
  assert_int_equal(f.num_classes, 4);
  for (int i = 0; i < 4; i++) assert_string_equal(f.classes[i], cls[i]);
  /* Per folder (walk root) in order, then names; root files before sub/. */
  static const struct { const char *rel; int label; } want[] = {
      {"Z/img.jpg", 0}, {"a/1.bmp", 1}, {"a/2.Png", 1}, {"b class/.hidden.jpg", 2},
      {"b class/Z.JPG", 2}, {"b class/a.png", 2}, {"b class/z.jpg", 2},
      {"b class/sub/x.jpeg", 2}, {"\xc3\xa9t\xc3\xa9/\xc3\xbc.jpg", 3}};
  assert_int_equal(f.samples.n, 9);
  for (size_t i = 0; i < 9; i++) {
    char *p = cz_asprintf("%s/tr/%s", g_tmp, want[i].rel);
    assert_string_equal(f.samples.s[i].path, p);
    assert_int_equal(f.samples.s[i].label, want[i].label);
    free(p);
  }
  cz_ds_folder_free(&f);
  free(root);
}

static void test_folder_errors(void **state) {
  (void)state;
  cz_ds_folder f;
  char *p = tpath("nope");
  expect_err_f(cz_ds_folder_scan(p, &f), "dataset folder %s: does not exist", p);
  free(p);
  make("flat/a.jpg");
  p = tpath("flat");
  expect_err_f(cz_ds_folder_scan(p, &f),
               "dataset folder %s: no class folders in it: expected one subfolder per class", p);
  free(p);
  p = tpath("flat/a.jpg");
  expect_err_f(cz_ds_folder_scan(p, &f), "dataset folder %s: is not a folder", p);
  free(p);
  make("holes/a/1.jpg");
  make("holes/b/readme.txt");
  make("holes/b/deep/");
  p = tpath("holes");
  expect_err_f(cz_ds_folder_scan(p, &f),
               "class folder %s/b: no image files in it: expected .jpg, .jpeg, .png or .bmp "
               "(any case)", p);
  free(p);
  assert_true(cz_ds_is_image_name("x.JpEg"));
  assert_true(cz_ds_is_image_name(".jpg"));
  assert_false(cz_ds_is_image_name("x.jpg.txt"));
  assert_false(cz_ds_is_image_name("jpg"));
}

/* ---- splits ---- */

static void make_split(cz_ds_split *s, size_t n) {
  s->s = cz_xmalloc(n * sizeof *s->s);
  s->n = n;
  s->images = NULL;
  for (size_t i = 0; i < n; i++) s->s[i] = (cz_ds_sample){cz_asprintf("f%zu", i), 0, (int32_t)(i % 3)};
}

static void test_carve(void **state) {
  (void)state;
  cz_ds_split a, b, va, vb;
  make_split(&a, 101);
  make_split(&b, 101);
  assert_null(cz_ds_carve(&a, 0.2, 7, CZ_DS_PURPOSE_VAL, "v", &va));
  assert_null(cz_ds_carve(&b, 0.2, 7, CZ_DS_PURPOSE_VAL, "v", &vb));
  assert_int_equal(va.n, 20); /* floor(0.2 * 101) */
  assert_int_equal(a.n, 81);
  unsigned char seen[101] = {0};
  for (size_t i = 0; i < va.n; i++) {
    assert_string_equal(va.s[i].path, vb.s[i].path); /* same seed, same split */
    unsigned k = (unsigned)atoi(va.s[i].path + 1);
    if (i) assert_true(k > (unsigned)atoi(va.s[i - 1].path + 1)); /* listing order */
    seen[k]++;
  }
  for (size_t i = 0; i < a.n; i++) {
    unsigned k = (unsigned)atoi(a.s[i].path + 1);
    if (i) assert_true(k > (unsigned)atoi(a.s[i - 1].path + 1));
    seen[k]++;
  }
  for (int i = 0; i < 101; i++) assert_int_equal(seen[i], 1); /* disjoint, complete */
  cz_ds_split c, vc;
  make_split(&c, 101);
  assert_null(cz_ds_carve(&c, 0.2, 8, CZ_DS_PURPOSE_VAL, "v", &vc));
  int differ = 0;
  for (size_t i = 0; i < vc.n; i++) differ |= strcmp(vc.s[i].path, va.s[i].path) != 0;
  assert_true(differ); /* another seed, another split */
  cz_ds_split q;
  cz_ds_subset(&a, 0.1, 7, CZ_DS_PURPOSE_QUANT, &q);
  assert_int_equal(q.n, 8); /* floor(0.1 * 81) */
  cz_ds_split_free(&q);
  cz_ds_subset(&a, 0.001, 7, CZ_DS_PURPOSE_QUANT, &q);
  assert_int_equal(q.n, 1); /* at least one */
  cz_ds_split_free(&q);
  cz_ds_split small;
  make_split(&small, 4);
  expect_err(cz_ds_carve(&small, 0.2, 1, CZ_DS_PURPOSE_VAL, "dataset.validation_split", &q),
             "dataset.validation_split = 0.2 of 4 training samples leaves 0 for validation "
             "and 4 for training: expected at least one in each");
  assert_int_equal(small.n, 4);
  cz_ds_split_free(&small);
  cz_ds_split_free(&a);
  cz_ds_split_free(&b);
  cz_ds_split_free(&c);
  cz_ds_split_free(&va);
  cz_ds_split_free(&vb);
  cz_ds_split_free(&vc);
}

/* ---- class files ---- */

static char *write_text(const char *rel, const char *text) {
  char *p = tpath(rel);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static void test_class_file(void **state) {
  (void)state;
  char **v;
  size_t n;
  char *p = write_text("c1.txt", "\xEF\xBB\xBF" "cat\r\nbig dog\r\n\xc3\xa9l\xc3\xa9phant\r\n\r\n\n");
  assert_null(cz_ds_read_class_file(p, &v, &n));
  assert_int_equal(n, 3);
  assert_string_equal(v[0], "cat");
  assert_string_equal(v[1], "big dog");
  assert_string_equal(v[2], "\xc3\xa9l\xc3\xa9phant");
  cz_ds_free_names(v, n);
  free(p);
  p = write_text("c2.txt", "a\nb"); /* no final newline */
  assert_null(cz_ds_read_class_file(p, &v, &n));
  assert_int_equal(n, 2);
  assert_string_equal(v[1], "b");
  cz_ds_free_names(v, n);
  free(p);
  p = write_text("c3.txt", "a\n\nb\n");
  expect_err_f(cz_ds_read_class_file(p, &v, &n), "dataset.classes_file_path = %s: line 2 "
               "is blank: expected one class name per line", p);
  free(p);
  p = write_text("c4.txt", "\r\n\n");
  expect_err_f(cz_ds_read_class_file(p, &v, &n), "dataset.classes_file_path = %s: no class "
               "names in it: expected one per line", p);
  free(p);
  p = tpath("c5.txt");
  expect_err_f(cz_ds_read_class_file(p, &v, &n), "dataset.classes_file_path = %s: cannot "
               "open it: No such file or directory", p);
  free(p);
}

/* ---- IDX ---- */

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Writes an IDX file: magic, dims, body (len bytes), plain or gzipped. */
static char *write_idx(const char *rel, uint32_t magic, const uint32_t *dims, int nd,
                       const unsigned char *body, size_t len, int gz) {
  unsigned char hdr[16];
  put_be32(hdr, magic);
  for (int i = 0; i < nd; i++) put_be32(hdr + 4 + 4 * i, dims[i]);
  char *p = tpath(rel);
  if (gz) {
    gzFile f = gzopen(p, "wb");
    assert_non_null(f);
    gzwrite(f, hdr, (unsigned)(4 + 4 * nd));
    if (len) gzwrite(f, body, (unsigned)len);
    gzclose(f);
  } else {
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fwrite(hdr, 1, (size_t)(4 + 4 * nd), f);
    if (len) fwrite(body, 1, len, f);
    fclose(f);
  }
  return p;
}

static const unsigned char kPix[18] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15,
                                       250, 251, 252, 253, 254, 255};
static const unsigned char kLab[3] = {1, 0, 9};

static void test_idx_roundtrip(void **state) {
  (void)state;
  for (int gz = 0; gz < 2; gz++) {
    const uint32_t di[3] = {3, 2, 3}, dl[1] = {3};
    char *ip = write_idx(gz ? "i.gz" : "i", 0x803, di, 3, kPix, 18, gz);
    char *lp = write_idx(gz ? "l.gz" : "l", 0x801, dl, 1, kLab, 3, gz);
    cz_ds_images im;
    uint8_t *lab;
    assert_null(cz_ds_idx_read(ip, lp, &im, &lab));
    assert_int_equal(im.n, 3);
    assert_int_equal(im.h, 2);
    assert_int_equal(im.w, 3);
    assert_memory_equal(im.pixels, kPix, 18);
    assert_memory_equal(lab, kLab, 3);
    free(im.pixels);
    free(lab);
    free(ip);
    free(lp);
  }
}

static void test_idx_errors(void **state) {
  (void)state;
  const uint32_t di[3] = {3, 2, 3}, dl[1] = {3}, dl2[1] = {2}, d0[3] = {3, 0, 3};
  char *ip = write_idx("ok_i", 0x803, di, 3, kPix, 18, 0);
  char *lp = write_idx("ok_l", 0x801, dl, 1, kLab, 3, 1);
  cz_ds_images im;
  uint8_t *lab;
  char *bad = write_idx("magic", 0x801, di, 3, kPix, 18, 0);
  expect_err_f(cz_ds_idx_read(bad, lp, &im, &lab), "IDX file %s: magic number 0x00000801: "
               "expected 0x00000803 (unsigned bytes, 3 dimensions)", bad);
  free(bad);
  bad = write_idx("count.gz", 0x801, dl2, 1, kLab, 2, 1);
  expect_err_f(cz_ds_idx_read(ip, bad, &im, &lab), "IDX files %s (3 images) and %s (2 labels):"
               " expected as many labels as images", ip, bad);
  free(bad);
  bad = write_idx("trunc.gz", 0x803, di, 3, kPix, 17, 1);
  expect_err_f(cz_ds_idx_read(bad, lp, &im, &lab), "IDX file %s: truncated: 17 of 18 data "
               "bytes", bad);
  free(bad);
  bad = write_idx("hdr", 0x803, di, 1, NULL, 0, 0);
  expect_err_f(cz_ds_idx_read(bad, lp, &im, &lab), "IDX file %s: truncated header: 8 of 16 "
               "bytes", bad);
  free(bad);
  bad = write_idx("long", 0x801, dl, 1, kPix, 4, 0);
  expect_err_f(cz_ds_idx_read(ip, bad, &im, &lab), "IDX file %s: data continues past the 3 "
               "bytes the header gives", bad);
  free(bad);
  bad = write_idx("zero", 0x803, d0, 3, NULL, 0, 0);
  expect_err_f(cz_ds_idx_read(bad, lp, &im, &lab), "IDX file %s: image size 0x3: expected 1 "
               "to 4096 pixels a side", bad);
  free(bad);
  bad = tpath("absent");
  expect_err_f(cz_ds_idx_read(bad, lp, &im, &lab), "IDX file %s: cannot open it: No such "
               "file or directory", bad);
  free(bad);
  /* Labels past the ten classes are caught when the set is loaded. */
  make("mn/");
  const unsigned char big[3] = {1, 10, 2};
  free(write_idx("mn/train-images-idx3-ubyte", 0x803, di, 3, kPix, 18, 0));
  char *bl = write_idx("mn/train-labels-idx1-ubyte.gz", 0x801, dl, 1, big, 3, 1);
  cz_cfg_dataset d = {0};
  d.dataset_name = (cz_cenum){true, CZ_DS_MNIST};
  char *dir = tpath("mn");
  d.data_dir = (cz_cstr){true, dir};
  cz_ds_set s;
  expect_err_f(cz_ds_load(&d, &s), "IDX file %s: label 10 at item 1: expected 0 to 9", bl);
  free(bl);
  free(write_idx("mn/train-labels-idx1-ubyte", 0x801, dl, 1, kLab, 3, 0)); /* plain wins */
  expect_err_f(cz_ds_load(&d, &s), "dataset.data_dir = %s: no t10k-images-idx3-ubyte or "
               "t10k-images-idx3-ubyte.gz in it or in MNIST/raw: expected the IDX files there",
               dir);
  free(dir);
  free(ip);
  free(lp);
}

static void test_fashion_mnist(void **state) {
  (void)state;
  static const char dir[] = "/usr/share/datasets/fashion-mnist";
  struct stat st;
  if (stat(dir, &st) != 0) {
    printf("skipped: %s is absent (Debian package dataset-fashion-mnist)\n", dir);
    return;
  }
  cz_cfg_dataset d = {0};
  d.dataset_name = (cz_cenum){true, CZ_DS_FASHION_MNIST};
  d.data_dir = (cz_cstr){true, (char *)dir};
  d.quantization_split = (cz_cfloat){true, 0.01};
  d.num_classes = (cz_cint){true, 10};
  cz_ds_set s;
  cz_err *e = cz_ds_load(&d, &s);
  assert_null(e);
  assert_int_equal(s.train.n, 60000);
  assert_int_equal(s.val.n, 10000);
  assert_int_equal(s.test.n, 10000);
  assert_int_equal(s.quant.n, 600);
  assert_int_equal(s.idx_train.h, 28);
  assert_int_equal(s.idx_train.w, 28);
  assert_int_equal(s.idx_test.n, 10000);
  assert_ptr_equal(s.train.images, &s.idx_train);
  assert_ptr_equal(s.test.images, &s.idx_test);
  static const int tr[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, te[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  for (int i = 0; i < 10; i++) {
    assert_int_equal(s.train.s[i].label, tr[i]);
    assert_int_equal(s.train.s[i].index, i);
    assert_int_equal(s.test.s[i].label, te[i]);
  }
  assert_int_equal(s.num_classes, 10);
  assert_string_equal(s.class_names[0], "T-shirt/top");
  assert_string_equal(s.class_names[9], "Ankle boot");
  cz_ds_set_free(&s);
}

/* ---- layouts through cz_ds_load ---- */

static void test_load_custom(void **state) {
  (void)state;
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 10; i++) {
      char *r = cz_asprintf("cu/train/c%d/%02d.jpg", c, i);
      make(r);
      free(r);
    }
  cz_cfg_dataset d = {0};
  char *tp = tpath("cu/train");
  d.training_path = (cz_cstr){true, tp};
  d.validation_split = (cz_cfloat){true, 0.2};
  d.quantization_split = (cz_cfloat){true, 0.5};
  d.seed = (cz_cint){true, 42};
  cz_ds_set s;
  assert_null(cz_ds_load(&d, &s));
  assert_int_equal(s.num_classes, 3);
  assert_int_equal(s.val.n, 6);
  assert_int_equal(s.train.n, 24);
  assert_int_equal(s.test.n, 6);
  assert_int_equal(s.quant.n, 12);
  for (size_t i = 0; i < s.val.n; i++) assert_string_equal(s.val.s[i].path, s.test.s[i].path);
  cz_ds_set_free(&s);

  char *names[] = {"x", "y"};
  d.class_names = (cz_cstrs){true, 2, names};
  expect_err(cz_ds_load(&d, &s), "dataset.class_names: 2 class names, but the data has 3 "
             "classes: expected as many names as classes");
  d.class_names = (cz_cstrs){0};
  char *cf = write_text("cu/names.txt", "one\r\ntwo\r\nthree\r\n");
  d.classes_file_path = (cz_cstr){true, cf};
  d.num_classes = (cz_cint){true, 4};
  expect_err(cz_ds_load(&d, &s), "dataset.num_classes = 4, but the dataset has 3 classes: "
             "expected them to agree");
  d.num_classes = (cz_cint){true, 3};
  assert_null(cz_ds_load(&d, &s));
  assert_string_equal(s.class_names[2], "three");
  cz_ds_set_free(&s);

  make("cu/val/c0/a.png");
  make("cu/val/c2/a.png");
  char *vp = tpath("cu/val");
  d.validation_path = (cz_cstr){true, vp};
  expect_err_f(cz_ds_load(&d, &s), "dataset.validation_path: folder %s has 2 classes, %s has "
               "3; they differ at class 1 (\"c2\" vs \"c1\"): expected the same class folders",
               vp, tp);
  free(vp);
  free(cf);
  free(tp);
}

static void test_load_imagenet(void **state) {
  (void)state;
  make("in/imagenet/training/n01/a.JPEG");
  make("in/imagenet/training/n02/b.jpeg");
  make("in/imagenet/valid/n01/c.jpg");
  make("in/imagenet/valid/n02/d.jpg");
  cz_cfg_dataset d = {0};
  char *dd = tpath("in");
  d.dataset_name = (cz_cenum){true, CZ_DS_IMAGENET};
  d.data_dir = (cz_cstr){true, dd};
  d.train_split = (cz_cstr){true, "train"};
  d.val_split = (cz_cstr){true, "val"};
  cz_ds_set s;
  assert_null(cz_ds_load(&d, &s));
  assert_int_equal(s.train.n, 2);
  assert_int_equal(s.val.n, 2);
  char *p = cz_asprintf("%s/imagenet/valid/n02/d.jpg", dd);
  assert_string_equal(s.val.s[1].path, p);
  assert_int_equal(s.val.s[1].label, 1);
  free(p);
  cz_ds_set_free(&s);
  d.train_split = (cz_cstr){true, "mytrain"};
  d.val_split = (cz_cstr){true, "myval"};
  expect_err_f(cz_ds_load(&d, &s), "dataset.data_dir = %s: neither %s/imagenet/mytrain nor "
               "%s/imagenet/myval exists: expected the training or validation folder there",
               dd, dd, dd);
  free(dd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_folder_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_folder_errors, setup, teardown),
      cmocka_unit_test(test_carve),
      cmocka_unit_test_setup_teardown(test_class_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idx_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idx_errors, setup, teardown),
      cmocka_unit_test(test_fashion_mnist),
      cmocka_unit_test_setup_teardown(test_load_custom, setup, teardown),
      cmocka_unit_test_setup_teardown(test_load_imagenet, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
