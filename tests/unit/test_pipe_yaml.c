/* cz_pipe_open from configs loaded from YAML text (cz_config_load, the
 * path a run takes): (a) a generated JPEG ImageFolder `custom` dataset
 * with training, validation, test and quantization folders; (b) Debian's
 * Fashion-MNIST IDX files. Checks the splits, batch shapes, labels, that
 * the output does not depend on general.workers, and that
 * preprocessing.resizing.mode selects the eval resize (and rejects other
 * values with the schema's error). Exact comparisons (tolerance 0). */
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
#include <jpeglib.h>
#include <zlib.h>

#include "config/cfg_load.h"
#include "data/ds_sample.h"
#include "data/pipeline.h"
#include "io/img.h"
#include "util/mem.h"

enum { NCLS = 3 };
static const char *const kSplits[4] = {"train", "valid", "test", "quant"};
static const int kPerClass[4] = {6, 3, 2, 2};
static const char *const kFashionDir = "/usr/share/datasets/fashion-mnist";

static char g_tmp[256];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

/* A baseline RGB JPEG through libjpeg's compressor (quality 90). */
static int write_jpeg(const char *path, const uint8_t *rgb, int w, int h) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = (JDIMENSION)w;
  c.image_height = (JDIMENSION)h;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return fclose(f);
}

/* <tmp>/<split>/c<k>/<i>.jpg, sizes varying around 48x36. */
static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/czoo_pyaml_XXXXXX");
  if (!mkdtemp(g_tmp)) return -1;
  uint8_t *px = malloc(60 * 50 * 3);
  for (int s = 0; s < 4; s++) {
    char *top = cz_asprintf("%s/%s", g_tmp, kSplits[s]);
    mkdir(top, 0755);
    for (int k = 0; k < NCLS; k++) {
      char *d = cz_asprintf("%s/c%d", top, k);
      mkdir(d, 0755);
      for (int i = 0; i < kPerClass[s]; i++) {
        int w = 40 + 3 * i + k, h = 30 + 2 * i + s;
        for (int p = 0; p < w * h * 3; p++)
          px[p] = (uint8_t)((p % 3 == k ? 200 : 40) + ((p / 3) % w) * (i + 1) + s * 9);
        char *f = cz_asprintf("%s/%d.jpg", d, i);
        if (write_jpeg(f, px, w, h)) return -1;
        free(f);
      }
      free(d);
    }
    free(top);
  }
  free(px);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to <tmp>/cfg.yaml and loads it with the overrides. */
static cz_err *load_yaml(const char *text, const char *override, cz_loaded_config *lc) {
  char *path = cz_asprintf("%s/cfg.yaml", g_tmp);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  char *ov[1] = {(char *)override};
  cz_err *e = cz_config_load(path, ov, override ? 1 : 0, 1700000000, lc);
  free(path);
  return e;
}

static char *custom_yaml(const char *mode) {
  return cz_asprintf(
      "operation_mode: chain_tqe\n"
      "general:\n  seed: 5\n  workers: 0\n"
      "model:\n  model_name: mobilenetv2_a035\n  input_shape: [3, 24, 20]\n"
      "dataset:\n  dataset_name: custom\n"
      "  training_path: %s/train\n  validation_path: %s/valid\n"
      "  test_path: %s/test\n  quantization_path: %s/quant\n"
      "preprocessing:\n  resizing:\n%s    interpolation: bilinear\n    aspect_ratio: crop\n"
      "  mean: [0.5, 0.4, 0.3]\n  std: [0.2, 0.25, 0.3]\n"
      "training:\n  batch_size: 4\n  validation_batch_size: 5\n  epochs: 1\n"
      "data_augmentation:\n  color_jitter: [0.4, 0.4, 0.4, 0.1]\n  reprob: 0.25\n",
      g_tmp, g_tmp, g_tmp, g_tmp, mode);
}

typedef struct {
  float *x;
  int64_t *y, *index, n, batches, max_rows;
} epoch_out;

static epoch_out run(const cz_config *c, const cz_ds_set *ds, cz_pipe_split w, uint64_t epoch,
                     int64_t max_batches) {
  cz_pipe *p;
  cz_err *e = cz_pipe_open(c, ds, w, &p);
  if (e) fail_msg("%s", cz_err_msg(e));
  const cz_loader_opts *lo = &cz_pipe_options(p)->loader;
  int64_t hwc = lo->h * lo->w * lo->c, cap = 1 << 14;
  epoch_out r = {.x = cz_xmalloc((size_t)(cap * hwc) * sizeof(float)),
                 .y = cz_xmalloc((size_t)cap * sizeof(int64_t)),
                 .index = cz_xmalloc((size_t)cap * sizeof(int64_t))};
  cz_pipe_start_epoch(p, epoch);
  while (r.batches < max_batches) {
    cz_loader_batch b;
    if ((e = cz_pipe_next(p, &b))) fail_msg("%s", cz_err_msg(e));
    if (!b.n) break;
    assert_true(r.n + b.n <= cap);
    r.max_rows = b.n > r.max_rows ? b.n : r.max_rows;
    memcpy(r.x + r.n * hwc, b.x, (size_t)(b.n * hwc) * sizeof(float));
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
  free(r->y);
  free(r->index);
}

static void test_custom_jpeg_folder(void **state) {
  (void)state;
  char *text = custom_yaml("    mode: config\n");
  cz_loaded_config lc, lc3;
  cz_err *e = load_yaml(text, NULL, &lc);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_null(load_yaml(text, "general.workers=3", &lc3));
  assert_int_equal(lc3.cfg.general.workers.v, 3);
  assert_true(lc.cfg.preprocessing.resize_mode.set);
  assert_int_equal(lc.cfg.preprocessing.resize_mode.v, CZ_RESIZE_CONFIG);
  cz_ds_set ds;
  if ((e = cz_ds_load(&lc.cfg.dataset, &ds))) fail_msg("%s", cz_err_msg(e));
  assert_int_equal(ds.num_classes, NCLS);
  for (int k = 0; k < NCLS; k++) {
    char want[8];
    snprintf(want, sizeof want, "c%d", k);
    assert_string_equal(ds.class_names[k], want);
  }
  const cz_ds_split *sp[4] = {&ds.train, &ds.val, &ds.test, &ds.quant};
  for (int s = 0; s < 4; s++) {
    assert_int_equal(sp[s]->n, (size_t)(NCLS * kPerClass[s]));
    char *dir = cz_asprintf("%s/%s/", g_tmp, kSplits[s]);
    for (size_t i = 0; i < sp[s]->n; i++) {
      assert_int_equal(strncmp(sp[s]->s[i].path, dir, strlen(dir)), 0);
      assert_int_equal(sp[s]->s[i].label, (int32_t)(i / (size_t)kPerClass[s]));
    }
    free(dir);
  }
  /* Training: batches of 4, last partial one dropped, any worker count. */
  epoch_out a = run(&lc.cfg, &ds, CZ_PIPE_TRAIN, 1, 100),
            b = run(&lc3.cfg, &ds, CZ_PIPE_TRAIN, 1, 100);
  assert_int_equal(a.batches, 18 / 4);
  assert_int_equal(a.n, 16);
  assert_int_equal(a.max_rows, 4);
  assert_memory_equal(a.index, b.index, 16 * sizeof(int64_t));
  assert_memory_equal(a.x, b.x, (size_t)16 * 24 * 20 * 3 * sizeof(float));
  for (int i = 0; i < 16; i++) assert_int_equal(a.y[i], ds.train.s[a.index[i]].label);
  run_free(&a);
  run_free(&b);
  /* Eval splits: every sample in listing order, validation_batch_size. */
  for (cz_pipe_split w = CZ_PIPE_VALID; w <= CZ_PIPE_QUANT; w++) {
    const cz_ds_split *s = sp[w];
    a = run(&lc.cfg, &ds, w, 0, 100);
    b = run(&lc3.cfg, &ds, w, 0, 100);
    assert_int_equal(a.n, (int64_t)s->n);
    assert_int_equal(a.batches, ((int64_t)s->n + 4) / 5);
    assert_int_equal(a.max_rows, 5);
    for (int64_t i = 0; i < a.n; i++) {
      assert_int_equal(a.index[i], i);
      assert_int_equal(a.y[i], s->s[i].label);
    }
    assert_memory_equal(a.x, b.x, (size_t)a.n * 24 * 20 * 3 * sizeof(float));
    run_free(&a);
    run_free(&b);
  }
  cz_ds_set_free(&ds);
  cz_loaded_config_free(&lc);
  cz_loaded_config_free(&lc3);
  free(text);
}

/* The eval output of sample 0 of the validation split under a config. */
static float *eval_first(const cz_config *c, const cz_ds_set *ds) {
  epoch_out a = run(c, ds, CZ_PIPE_VALID, 0, 1);
  free(a.y);
  free(a.index);
  return a.x;
}

/* The same sample through cz_tf_eval by hand, resize chosen explicitly. */
static float *eval_by_hand(const cz_config *c, const cz_ds_set *ds, bool use_resizing) {
  cz_tf_eval tf;
  assert_null(cz_tf_eval_init(c, use_resizing, &tf));
  int min_side = cz_ds_eval_min_side(&tf);
  cz_image img;
  assert_null(cz_image_load(ds->val.s[0].path, 3, min_side, min_side, &img));
  float *out = cz_xmalloc((size_t)(tf.h * tf.w * tf.c) * sizeof(float));
  assert_null(cz_tf_eval_apply(&tf, &img, out));
  cz_image_free(&img);
  return out;
}

static void test_resize_mode(void **state) {
  (void)state;
  const size_t bytes = (size_t)24 * 20 * 3 * sizeof(float);
  const char *modes[3] = {"    mode: config\n", "    mode: timm\n", ""};
  for (int m = 0; m < 3; m++) {
    char *text = custom_yaml(modes[m]);
    cz_loaded_config lc;
    cz_err *e = load_yaml(text, NULL, &lc);
    if (e) fail_msg("%s", cz_err_msg(e));
    /* Unset is timm, the default. */
    assert_int_equal(lc.cfg.preprocessing.resize_mode.v, m == 0 ? CZ_RESIZE_CONFIG
                                                                 : CZ_RESIZE_TIMM);
    cz_ds_set ds;
    assert_null(cz_ds_load(&lc.cfg.dataset, &ds));
    float *got = eval_first(&lc.cfg, &ds), *cfg_path = eval_by_hand(&lc.cfg, &ds, true),
          *timm_path = eval_by_hand(&lc.cfg, &ds, false);
    assert_memory_not_equal(cfg_path, timm_path, bytes); /* the test can tell them apart */
    assert_memory_equal(got, m == 0 ? cfg_path : timm_path, bytes);
    free(got);
    free(cfg_path);
    free(timm_path);
    cz_ds_set_free(&ds);
    cz_loaded_config_free(&lc);
    free(text);
  }
  /* A bad value: the schema's error, naming file, line and choices. */
  char *text = custom_yaml("    mode: fancy\n");
  cz_loaded_config lc;
  cz_err *e = load_yaml(text, NULL, &lc);
  assert_non_null(e);
  char *want = cz_asprintf("%s/cfg.yaml:16:11: preprocessing.resizing.mode = 'fancy': expected "
                           "one of timm, config", g_tmp);
  assert_string_equal(cz_err_msg(e), want);
  free(want);
  cz_err_free(e);
  free(text);
}

/* The labels of an idx1 file (gzipped), as stored. */
static uint8_t *idx_labels(const char *path, uint32_t *n) {
  gzFile f = gzopen(path, "rb");
  assert_non_null(f);
  uint8_t hdr[8];
  assert_int_equal(gzread(f, hdr, 8), 8);
  assert_int_equal(hdr[2], 0x08);
  assert_int_equal(hdr[3], 0x01);
  *n = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
  uint8_t *v = cz_xmalloc(*n);
  assert_int_equal(gzread(f, v, *n), (int)*n);
  gzclose(f);
  return v;
}

static void test_fashion_mnist(void **state) {
  (void)state;
  char *lpath = cz_asprintf("%s/t10k-labels-idx1-ubyte.gz", kFashionDir);
  if (access(lpath, R_OK) != 0) {
    free(lpath);
    skip(); /* Debian's fashion-mnist package is not installed */
  }
  const char *text =
      "operation_mode: training\n"
      "general:\n  seed: 9\n  workers: 0\n"
      "model:\n  model_name: st_fashion_cnn\n  input_shape: [1, 28, 28]\n"
      "dataset:\n  dataset_name: fashion_mnist\n"
      "preprocessing:\n  color_mode: grayscale\n  mean: [0.2860]\n  std: [0.3530]\n"
      "training:\n  batch_size: 64\n  validation_batch_size: 100\n  epochs: 1\n";
  cz_loaded_config lc, lc2;
  cz_err *e = load_yaml(text, NULL, &lc);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_null(load_yaml(text, "general.workers=2", &lc2));
  cz_ds_set ds;
  if ((e = cz_ds_load(&lc.cfg.dataset, &ds))) fail_msg("%s", cz_err_msg(e));
  assert_int_equal(ds.num_classes, 10);
  assert_string_equal(ds.class_names[0], "T-shirt/top");
  assert_int_equal(ds.train.n, 60000);
  assert_int_equal(ds.val.n, 10000);
  uint32_t nl;
  uint8_t *labels = idx_labels(lpath, &nl);
  assert_int_equal(nl, 10000);
  /* The first three validation batches: t10k's labels, in file order. */
  epoch_out a = run(&lc.cfg, &ds, CZ_PIPE_VALID, 0, 3), b = run(&lc2.cfg, &ds, CZ_PIPE_VALID, 0, 3);
  assert_int_equal(a.n, 300);
  assert_int_equal(a.max_rows, 100);
  for (int i = 0; i < 300; i++) assert_int_equal(a.y[i], labels[i]);
  assert_memory_equal(a.x, b.x, (size_t)300 * 28 * 28 * sizeof(float));
  run_free(&a);
  run_free(&b);
  /* Training: [64, 28, 28, 1] batches, labels those of the files, the
   * same for any worker count. */
  a = run(&lc.cfg, &ds, CZ_PIPE_TRAIN, 2, 2);
  b = run(&lc2.cfg, &ds, CZ_PIPE_TRAIN, 2, 2);
  assert_int_equal(a.n, 128);
  assert_int_equal(a.max_rows, 64);
  assert_memory_equal(a.index, b.index, 128 * sizeof(int64_t));
  assert_memory_equal(a.x, b.x, (size_t)128 * 28 * 28 * sizeof(float));
  for (int i = 0; i < 128; i++) assert_int_equal(a.y[i], ds.train.s[a.index[i]].label);
  run_free(&a);
  run_free(&b);
  free(labels);
  free(lpath);
  cz_ds_set_free(&ds);
  cz_loaded_config_free(&lc);
  cz_loaded_config_free(&lc2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_custom_jpeg_folder),
      cmocka_unit_test(test_resize_mode),
      cmocka_unit_test(test_fashion_mnist),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
