/* Tests for data/pipeline: a tiny ImageFolder (PNGs written here) through
 * the config-built train and eval streams, mixup targets, rejected keys
 * and the save_images grid. */
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

#include "data/pipeline.h"
#include "data/tf_train.h"
#include "io/img.h"
#include "util/mem.h"

enum { S = 16, NCLS = 2, PER = 5, N = NCLS * PER, HWC = S * S * 3 };

static char g_tmp[256];
static cz_ds_set g_ds;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

/* N images 20x18 of distinct patterns, PER per class folder. */
static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/czoo_pipe_XXXXXX");
  if (!mkdtemp(g_tmp)) return -1;
  cz_image img = {.w = 20, .h = 18, .c = 3};
  img.px = malloc(20 * 18 * 3);
  for (int k = 0; k < NCLS; k++) {
    char *d = cz_asprintf("%s/train/c%d", g_tmp, k);
    char *top = cz_asprintf("%s/train", g_tmp);
    mkdir(top, 0755);
    mkdir(d, 0755);
    for (int i = 0; i < PER; i++) {
      for (int p = 0; p < 20 * 18 * 3; p++) img.px[p] = (uint8_t)(p * (7 + k) + i * 31);
      char *f = cz_asprintf("%s/%d.png", d, i);
      cz_err *e = cz_image_save_png(f, &img);
      if (e) return -1;
      free(f);
    }
    free(d);
    free(top);
  }
  free(img.px);
  char *root = cz_asprintf("%s/train", g_tmp);
  cz_ds_folder f;
  cz_err *e = cz_ds_folder_scan(root, &f);
  free(root);
  if (e) return -1;
  g_ds.class_names = f.classes;
  g_ds.num_classes = f.num_classes;
  g_ds.train = f.samples;
  cz_ds_split_copy(&f.samples, &g_ds.val);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cz_ds_set_free(&g_ds);
  return nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t g_shape[3] = {3, S, S};
static double g_minmax[2] = {0.2, 0.6};

/* A hand-built config: only what the pipeline reads. */
static cz_config make_cfg(int workers) {
  cz_config c;
  memset(&c, 0, sizeof c);
  c.model.input_shape = (cz_cints){.set = true, .n = 3, .v = g_shape};
  c.training.batch_size = (cz_cint){true, 4};
  c.training.validation_batch_size = (cz_cint){true, 3};
  c.general.seed = (cz_cint){true, 7};
  c.general.workers = (cz_cint){true, workers};
  return c;
}

typedef struct {
  float *x, *soft;
  int64_t *y, *index, n, batches;
} epoch_out;

static epoch_out run(const cz_config *c, cz_pipe_split w, uint64_t epoch) {
  cz_pipe *p;
  cz_err *e = cz_pipe_open(c, &g_ds, w, &p);
  if (e) fail_msg("%s", cz_err_msg(e));
  epoch_out r = {.x = calloc(N * HWC, sizeof(float)), .soft = calloc(N * NCLS, sizeof(float)),
                 .y = calloc(N, sizeof(int64_t)), .index = calloc(N, sizeof(int64_t))};
  cz_pipe_start_epoch(p, epoch);
  for (;;) {
    cz_loader_batch b;
    if ((e = cz_pipe_next(p, &b))) fail_msg("%s", cz_err_msg(e));
    if (!b.n) break;
    memcpy(r.x + r.n * HWC, b.x, (size_t)(b.n * HWC) * sizeof(float));
    memcpy(r.soft + r.n * NCLS, b.soft, (size_t)(b.n * NCLS) * sizeof(float));
    memcpy(r.y + r.n, b.y, (size_t)b.n * sizeof(int64_t));
    memcpy(r.index + r.n, b.index, (size_t)b.n * sizeof(int64_t));
    r.n += b.n;
    r.batches++;
  }
  cz_pipe_free(p);
  return r;
}

static void run_free(epoch_out *r) {
  free(r->x);
  free(r->soft);
  free(r->y);
  free(r->index);
}

static void test_train(void **state) {
  (void)state;
  cz_config c0 = make_cfg(0), c2 = make_cfg(2);
  c0.data_augmentation.reprob = c2.data_augmentation.reprob = (cz_cfloat){true, 0.5};
  epoch_out a = run(&c0, CZ_PIPE_TRAIN, 1), b = run(&c2, CZ_PIPE_TRAIN, 1),
            d = run(&c0, CZ_PIPE_TRAIN, 2);
  assert_int_equal(a.n, 8); /* 10 samples, batches of 4, last dropped */
  assert_int_equal(a.batches, 2);
  assert_int_equal(b.n, 8);
  assert_memory_equal(a.index, b.index, 8 * sizeof(int64_t));
  assert_memory_equal(a.x, b.x, 8 * HWC * sizeof(float));
  int same_order = !memcmp(a.index, d.index, 8 * sizeof(int64_t));
  int same_px = !memcmp(a.x, d.x, 8 * HWC * sizeof(float));
  assert_false(same_order && same_px);
  int sorted = 1;
  for (int i = 1; i < 8; i++) sorted &= a.index[i] == a.index[i - 1] + 1;
  assert_false(sorted); /* shuffled */
  run_free(&a);
  run_free(&b);
  run_free(&d);
}

static void test_eval(void **state) {
  (void)state;
  cz_config c0 = make_cfg(0), c2 = make_cfg(2);
  epoch_out a = run(&c0, CZ_PIPE_VALID, 0), b = run(&c2, CZ_PIPE_VALID, 5);
  assert_int_equal(a.n, N); /* no drop_last */
  assert_int_equal(a.batches, 4); /* validation_batch_size 3 */
  for (int i = 0; i < N; i++) assert_int_equal(a.index[i], i);
  assert_memory_equal(a.x, b.x, N * HWC * sizeof(float));
  for (int i = 0; i < N; i++) assert_int_equal(a.y[i], i / PER);
  run_free(&a);
  run_free(&b);
  cz_pipe *p;
  cz_err *e = cz_pipe_open(&c0, &g_ds, CZ_PIPE_TEST, &p);
  assert_non_null(e);
  assert_string_equal(cz_err_msg(e), "data pipeline: the test split is empty");
  cz_err_free(e);
}

static void test_mixup(void **state) {
  (void)state;
  cz_config c0 = make_cfg(0), c2 = make_cfg(2);
  for (cz_config *c = &c0; c; c = c == &c0 ? &c2 : NULL) {
    c->data_augmentation.mixup = (cz_cfloat){true, 0.8};
    c->data_augmentation.cutmix = (cz_cfloat){true, 1.0};
    c->data_augmentation.smoothing = (cz_cfloat){true, 0.1};
  }
  epoch_out a = run(&c0, CZ_PIPE_TRAIN, 3), b = run(&c2, CZ_PIPE_TRAIN, 3);
  assert_memory_equal(a.x, b.x, 8 * HWC * sizeof(float));
  assert_memory_equal(a.soft, b.soft, 8 * NCLS * sizeof(float));
  int soft = 0;
  for (int i = 0; i < 8; i++) {
    double s = 0;
    for (int k = 0; k < NCLS; k++) {
      s += a.soft[i * NCLS + k];
      soft |= a.soft[i * NCLS + k] > 0.001f && a.soft[i * NCLS + k] < 0.999f;
    }
    assert_float_equal(s, 1.0, 1e-5);
  }
  assert_true(soft);
  run_free(&a);
  run_free(&b);
  /* cutmix_minmax alone turns mixing on too. */
  c0.data_augmentation.mixup = c0.data_augmentation.cutmix = (cz_cfloat){true, 0};
  c0.data_augmentation.cutmix_minmax = (cz_cfloats){.set = true, .n = 2, .v = g_minmax};
  cz_pipe_opts o;
  assert_null(cz_pipe_opts_make(&c0, CZ_PIPE_TRAIN, NCLS, &o));
  assert_true(o.mix);
  assert_null(cz_pipe_opts_make(&c0, CZ_PIPE_VALID, NCLS, &o));
  assert_false(o.mix);
  assert_false(o.loader.shuffle);
}

/* data_augmentation.aa through the loader: the same bytes for 0 and 2
 * workers (all draws from the per-sample stream), and the images differ
 * from the run without it. */
static void test_train_aa(void **state) {
  (void)state;
  char *strs[4] = {"rand-m9-mstd0.5-inc1", "original-mstd0.5", "augmix-m5-w4-d2", "3a"};
  cz_config plain = make_cfg(0);
  epoch_out ref = run(&plain, CZ_PIPE_TRAIN, 1);
  for (int i = 0; i < 4; i++) {
    cz_config c0 = make_cfg(0), c2 = make_cfg(2);
    c0.data_augmentation.aa = c2.data_augmentation.aa = (cz_cstr){true, strs[i]};
    epoch_out a = run(&c0, CZ_PIPE_TRAIN, 1), b = run(&c2, CZ_PIPE_TRAIN, 1);
    assert_int_equal(a.n, 8);
    assert_memory_equal(a.index, b.index, 8 * sizeof(int64_t));
    assert_memory_equal(a.x, b.x, 8 * HWC * sizeof(float));
    assert_memory_not_equal(a.x, ref.x, 8 * HWC * sizeof(float));
    run_free(&a);
    run_free(&b);
  }
  run_free(&ref);
  /* timm drops ColorJitter with aa unless '3a' is in the string. */
  cz_config c = make_cfg(0);
  cz_tf_train tf;
  c.data_augmentation.aa = (cz_cstr){true, strs[0]};
  assert_null(cz_tf_train_init(&c, &tf));
  assert_true(tf.jitter[0] == 0 && tf.jitter[1] == 0 && tf.jitter[2] == 0);
  c.data_augmentation.aa = (cz_cstr){true, strs[3]};
  assert_null(cz_tf_train_init(&c, &tf));
  assert_true(tf.jitter[0] == 0.4 && tf.jitter[1] == 0.4 && tf.jitter[2] == 0.4);
}

static void expect_open_err(const cz_config *c, const char *msg) {
  cz_pipe *p = (cz_pipe *)1;
  cz_err *e = cz_pipe_open(c, &g_ds, CZ_PIPE_TRAIN, &p);
  assert_non_null(e);
  assert_null(p);
  assert_string_equal(cz_err_msg(e), msg);
  cz_err_free(e);
}

static void test_unsupported(void **state) {
  (void)state;
  char aa[] = "rand-q3";
  cz_config c = make_cfg(0);
  c.data_augmentation.aa = (cz_cstr){true, aa};
  expect_open_err(&c, "data pipeline (training): data_augmentation.aa: 'rand-q3': unknown "
                      "RandAugment option 'q3' (expected m, n, mstd, mmax, inc, p, t)");
  c = make_cfg(0);
  c.data_augmentation.aug_splits = (cz_cint){true, 9};
  expect_open_err(&c, "data pipeline (training): data_augmentation.aug_splits: 9: expected 0 "
                      "or 1 (off) or 2..8");
  c = make_cfg(0);
  c.data_augmentation.jsd_loss = (cz_cbool){true, true};
  expect_open_err(&c, "data pipeline (training): data_augmentation.jsd_loss: True needs "
                      "aug_splits > 1 (aug_splits is 0)");
  c.data_augmentation.aug_splits = (cz_cint){true, 1};
  expect_open_err(&c, "data pipeline (training): data_augmentation.jsd_loss: True needs "
                      "aug_splits > 1 (aug_splits is 1)");
  double cj[4] = {0.4, 0.4, 0.4, 0.6};
  c = make_cfg(0);
  c.data_augmentation.color_jitter = (cz_cfloats){.set = true, .n = 4, .v = cj};
  expect_open_err(&c, "data pipeline (training): data_augmentation.color_jitter: hue 0.6 is "
                      "outside [0, 0.5]");
  cj[3] = 0.1; /* hue jitter is supported */
  cz_pipe *ph;
  assert_null(cz_pipe_open(&c, &g_ds, CZ_PIPE_TRAIN, &ph));
  cz_pipe_free(ph);
  c = make_cfg(0);
  c.data_augmentation.aug_splits = (cz_cint){true, 3};
  c.data_augmentation.mixup = (cz_cfloat){true, 1};
  c.training.batch_size = (cz_cint){true, 3};
  expect_open_err(&c, "data pipeline (training): training.batch_size: 3 times aug_splits is "
                      "odd; mixup/cutmix need an even batch size");
  c = make_cfg(0);
  c.data_augmentation.mixup = (cz_cfloat){true, 1};
  c.training.batch_size = (cz_cint){true, 3};
  expect_open_err(&c, "data pipeline (training): training.batch_size: 3 is odd; mixup/cutmix "
                      "need an even batch size");
  /* Eval splits take no augmentation, so the key does not matter there. */
  c = make_cfg(0);
  c.data_augmentation.aa = (cz_cstr){true, aa};
  cz_pipe *p;
  assert_null(cz_pipe_open(&c, &g_ds, CZ_PIPE_VALID, &p));
  cz_pipe_free(p);
}

static void test_save_grid(void **state) {
  (void)state;
  cz_config c = make_cfg(2);
  cz_pipe *p;
  char *path = cz_asprintf("%s/grid.png", g_tmp);
  assert_null(cz_pipe_open(&c, &g_ds, CZ_PIPE_TRAIN, &p));
  cz_err *e = cz_pipe_save_grid(p, path);
  assert_non_null(e); /* save_images off */
  cz_err_free(e);
  cz_pipe_free(p);
  c.general.save_images = (cz_cbool){true, true};
  assert_null(cz_pipe_open(&c, &g_ds, CZ_PIPE_TRAIN, &p));
  e = cz_pipe_save_grid(p, path);
  assert_non_null(e); /* no batch yet */
  cz_err_free(e);
  cz_pipe_start_epoch(p, 0);
  cz_loader_batch b;
  assert_null(cz_pipe_next(p, &b));
  assert_int_equal(b.n, 4);
  assert_null(cz_pipe_next(p, &b)); /* only the first batch is kept */
  if ((e = cz_pipe_save_grid(p, path))) fail_msg("%s", cz_err_msg(e));
  cz_pipe_free(p);
  cz_image img;
  if ((e = cz_image_load(path, 3, 0, 0, &img))) fail_msg("%s", cz_err_msg(e));
  assert_int_equal(img.w, 4 * (S + 2) + 2);
  assert_int_equal(img.h, S + 4);
  /* The border is black, the images are not. */
  assert_int_equal(img.px[0], 0);
  int lit = 0;
  for (int i = 0; i < img.w * img.h * 3; i++) lit |= img.px[i] > 0;
  assert_true(lit);
  cz_image_free(&img);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_train),       cmocka_unit_test(test_eval),
      cmocka_unit_test(test_mixup),       cmocka_unit_test(test_unsupported),
      cmocka_unit_test(test_save_grid),   cmocka_unit_test(test_train_aa),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
