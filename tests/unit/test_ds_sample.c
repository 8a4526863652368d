/* Tests for data/ds_sample: an ImageFolder and an IDX split through the
 * batch loader give the eval (or train) transform's values, for any worker
 * count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "data/ds_sample.h"
#include "data/loader.h"
#include "util/log.h"

enum { S = 24, NCLS = 3 };

static cz_tf_eval eval_tf(int c) {
  cz_tf_eval tf = {.c = c, .h = S, .w = S, .mode = CZ_TF_TIMM, .interp = CZ_INTERP_BICUBIC,
                   .aspect = CZ_ASPECT_CROP};
  static const float m[4] = {0.485f, 0.456f, 0.406f, 0.5f};
  static const float s[4] = {0.229f, 0.224f, 0.225f, 0.25f};
  for (int i = 0; i < c; i++) {
    tf.mean[i] = m[i];
    tf.std[i] = s[i];
  }
  return tf;
}

/* Every batch of one epoch, concatenated. */
typedef struct {
  float *x;
  int64_t *y, *index;
  int64_t n;
  cz_loader_stats st;
} run_out;

static run_out run(cz_ds_sample_ctx *ctx, int workers, int64_t hwc, double max_bad) {
  cz_loader_opts o = cz_loader_opts_default();
  o.batch_size = 4;
  o.h = S;
  o.w = S;
  o.c = hwc / (S * S);
  o.num_classes = NCLS;
  o.seed = 77;
  o.workers = workers;
  o.max_bad_fraction = max_bad;
  cz_loader *l;
  assert_null(cz_loader_new(&o, (int64_t)ctx->split->n, cz_ds_sample_load, ctx, &l));
  cz_loader_start_epoch(l, 3);
  run_out r = {0};
  size_t n = ctx->split->n;
  r.x = calloc(n * (size_t)hwc, sizeof(float));
  r.y = calloc(n, sizeof(int64_t));
  r.index = calloc(n, sizeof(int64_t));
  assert_true(r.x && r.y && r.index);
  for (;;) {
    cz_loader_batch b;
    cz_err *err = cz_loader_next(l, &b);
    if (err) fail_msg("loader: %s", cz_err_msg(err));
    if (b.n == 0) break;
    memcpy(r.x + r.n * hwc, b.x, (size_t)(b.n * hwc) * sizeof(float));
    memcpy(r.y + r.n, b.y, (size_t)b.n * sizeof(int64_t));
    memcpy(r.index + r.n, b.index, (size_t)b.n * sizeof(int64_t));
    r.n += b.n;
  }
  r.st = cz_loader_stats_get(l);
  cz_loader_free(l);
  return r;
}

static void run_free(run_out *r) {
  free(r->x);
  free(r->y);
  free(r->index);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[65536];
  size_t k = fread(buf, 1, sizeof buf - 1, f);
  buf[k] = 0;
  fclose(f);
  return buf;
}

static void test_folder_through_loader(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_DS_SAMPLE_DIR");
  if (!dir) fail_msg("CZOO_DS_SAMPLE_DIR is not set (the oracle.gen_ds_sample fixture sets it)");
  cz_ds_folder f;
  cz_err *err = cz_ds_folder_scan(dir, &f);
  if (err) fail_msg("%s", cz_err_msg(err));
  assert_int_equal(f.num_classes, NCLS);
  assert_int_equal(f.samples.n, 10); /* 9 images and bad.jpg */
  cz_tf_eval tf = eval_tf(3);
  cz_ds_sample_ctx ctx = cz_ds_sample_eval(&f.samples, &tf);
  assert_int_equal(ctx.min_side, 27); /* floor(24 / 0.875) */
  const int64_t hwc = S * S * 3;

  /* The warning for the corrupt file goes to a log file we can read. */
  char logpath[] = "/tmp/czoo_ds_sample_XXXXXX";
  int fd = mkstemp(logpath);
  assert_true(fd >= 0);
  close(fd);
  assert_null(cz_log_open_file(logpath));
  run_out a = run(&ctx, 0, hwc, 0.2);
  cz_log_close_file();
  char *log = slurp(logpath);
  assert_non_null(log);
  if (!strstr(log, "bad.jpg")) fail_msg("no warning naming bad.jpg in: %s", log);
  unlink(logpath);
  cz_log_level lv = cz_log_get_level();
  cz_log_set_level(CZ_LOG_ERROR);
  run_out b = run(&ctx, 2, hwc, 0.2);
  cz_log_set_level(lv);

  assert_int_equal(a.n, 9);
  assert_int_equal(a.st.samples_bad, 1);
  assert_int_equal(a.st.samples_ok, 9);
  assert_int_equal(b.n, 9);
  assert_int_equal(b.st.samples_bad, 1);
  assert_memory_equal(a.index, b.index, 9 * sizeof(int64_t));
  assert_memory_equal(a.y, b.y, 9 * sizeof(int64_t));
  assert_memory_equal(a.x, b.x, (size_t)(9 * hwc) * sizeof(float));

  /* Each row is the eval transform of the image decoded the same way. */
  float *want = malloc((size_t)hwc * sizeof(float));
  assert_non_null(want);
  int scaled = 0;
  for (int64_t i = 0; i < a.n; i++) {
    const cz_ds_sample *s = &f.samples.s[a.index[i]];
    assert_null(strstr(s->path, "bad.jpg"));
    assert_int_equal(a.y[i], s->label);
    cz_image img;
    err = cz_image_load(s->path, 3, 27, 27, &img);
    if (err) fail_msg("%s", cz_err_msg(err));
    assert_true(img.w >= 27 || img.h >= 27 || strstr(s->path, ".png"));
    if (strstr(s->path, "6.jpg")) scaled = img.w < 200; /* 200x150 -> 50x38 */
    assert_null(cz_tf_eval_apply(&tf, &img, want));
    cz_image_free(&img);
    assert_memory_equal(a.x + i * hwc, want, (size_t)hwc * sizeof(float));
  }
  assert_true(scaled);
  free(want);

  /* A direct call: the error names the file. */
  for (size_t i = 0; i < f.samples.n; i++) {
    if (!strstr(f.samples.s[i].path, "bad.jpg")) continue;
    float out[S * S * 3];
    int64_t label = -1;
    cz_rng rng = cz_rng_make(1, 2);
    err = cz_ds_sample_load(&ctx, (int64_t)i, 0, &rng, out, &label);
    assert_non_null(err);
    if (!strstr(cz_err_msg(err), f.samples.s[i].path)) fail_msg("%s", cz_err_msg(err));
    assert_int_equal(label, -1);
    cz_err_free(err);
  }
  run_free(&a);
  run_free(&b);
  cz_ds_folder_free(&f);
}

/* IDX: in-memory gray images, viewed (1 channel) or replicated (3). */
static void test_idx_split(void **state) {
  (void)state;
  enum { N = 6, IH = 20, IW = 17 };
  uint8_t px[N * IH * IW];
  for (int i = 0; i < N * IH * IW; i++) px[i] = (uint8_t)((i * 37) ^ (i >> 3));
  cz_ds_images im = {.pixels = px, .n = N, .h = IH, .w = IW};
  cz_ds_sample ss[N];
  for (int i = 0; i < N; i++)
    ss[i] = (cz_ds_sample){.path = NULL, .index = (uint32_t)(N - 1 - i), .label = i % NCLS};
  cz_ds_split sp = {.s = ss, .n = N, .images = &im};
  for (int c = 1; c <= 3; c += 2) {
    cz_tf_eval tf = eval_tf(c);
    cz_ds_sample_ctx ctx = cz_ds_sample_eval(&sp, &tf);
    const int64_t hwc = S * S * c;
    run_out a = run(&ctx, 0, hwc, 0.0), b = run(&ctx, 2, hwc, 0.0);
    assert_int_equal(a.n, N);
    assert_int_equal(b.n, N);
    assert_memory_equal(a.x, b.x, (size_t)(N * hwc) * sizeof(float));
    float *want = malloc((size_t)hwc * sizeof(float));
    uint8_t *rgb = malloc((size_t)IH * IW * (size_t)c);
    assert_true(want && rgb);
    for (int64_t i = 0; i < a.n; i++) {
      const cz_ds_sample *s = &ss[a.index[i]];
      const uint8_t *g = px + (size_t)s->index * IH * IW;
      for (int p = 0; p < IH * IW; p++)
        for (int k = 0; k < c; k++) rgb[p * c + k] = g[p];
      cz_image img = {.w = IW, .h = IH, .c = c, .px = rgb};
      assert_null(cz_tf_eval_apply(&tf, &img, want));
      assert_int_equal(a.y[i], s->label);
      assert_memory_equal(a.x + i * hwc, want, (size_t)hwc * sizeof(float));
    }
    free(want);
    free(rgb);
    run_free(&a);
    run_free(&b);
  }
  /* An index past the images is an error naming it. */
  ss[0].index = N + 5;
  cz_tf_eval tf = eval_tf(1);
  cz_ds_sample_ctx ctx = cz_ds_sample_eval(&sp, &tf);
  float out[S * S];
  int64_t label;
  cz_rng rng = cz_rng_make(1, 2);
  cz_err *err = cz_ds_sample_load(&ctx, 0, 0, &rng, out, &label);
  assert_non_null(err);
  assert_non_null(strstr(cz_err_msg(err), "IDX image 11"));
  cz_err_free(err);
}

/* The training transform: worker counts agree, and each row is
 * cz_tf_train_apply on the full-size decode with the loader's per-sample
 * stream (seed 77, epoch 3, as run() uses). */
static void test_train_through_loader(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_DS_SAMPLE_DIR");
  if (!dir) fail_msg("CZOO_DS_SAMPLE_DIR is not set (the oracle.gen_ds_sample fixture sets it)");
  cz_ds_folder f;
  cz_err *err = cz_ds_folder_scan(dir, &f);
  if (err) fail_msg("%s", cz_err_msg(err));
  cz_tf_train tf = {.eval = eval_tf(3), .scale = {0.08, 1.0}, .ratio = {0.75, 4.0 / 3.0},
                    .n_interp = 2, .interp = {CZ_INTERP_BILINEAR, CZ_INTERP_BICUBIC},
                    .hflip = 0.5, .vflip = 0.5, .jitter = {0.4, 0.4, 0.4}};
  cz_ds_sample_ctx ctx = cz_ds_sample_train(&f.samples, &tf);
  assert_int_equal(ctx.min_side, 0);
  assert_int_equal(ctx.channels, 3);
  const int64_t hwc = S * S * 3;
  cz_log_level lv = cz_log_get_level();
  cz_log_set_level(CZ_LOG_ERROR); /* bad.jpg's warning */
  run_out a = run(&ctx, 0, hwc, 0.2), b = run(&ctx, 2, hwc, 0.2);
  cz_log_set_level(lv);
  assert_int_equal(a.n, 9);
  assert_int_equal(b.n, 9);
  assert_memory_equal(a.index, b.index, 9 * sizeof(int64_t));
  assert_memory_equal(a.x, b.x, (size_t)(9 * hwc) * sizeof(float));

  float *want = malloc((size_t)hwc * sizeof(float));
  assert_non_null(want);
  for (int64_t i = 0; i < a.n; i++) {
    const cz_ds_sample *s = &f.samples.s[a.index[i]];
    assert_int_equal(a.y[i], s->label);
    cz_image img;
    err = cz_image_load(s->path, 3, 0, 0, &img);
    if (err) fail_msg("%s", cz_err_msg(err));
    cz_rng rng = cz_rng_make(77, cz_rng_stream(CZ_LOADER_PURPOSE_SAMPLE, 3, (uint64_t)a.index[i]));
    assert_null(cz_tf_train_apply(&tf, &img, &rng, want));
    cz_image_free(&img);
    assert_memory_equal(a.x + i * hwc, want, (size_t)hwc * sizeof(float));
  }
  free(want);
  run_free(&a);
  run_free(&b);
  cz_ds_folder_free(&f);
}

static void test_min_side(void **state) {
  (void)state;
  cz_tf_eval tf = eval_tf(3);
  tf.h = 224;
  tf.w = 160;
  assert_int_equal(cz_ds_eval_min_side(&tf), 256);
  tf.mode = CZ_TF_CONFIG;
  assert_int_equal(cz_ds_eval_min_side(&tf), 224);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_folder_through_loader),
      cmocka_unit_test(test_idx_split),
      cmocka_unit_test(test_train_through_loader),
      cmocka_unit_test(test_min_side),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
