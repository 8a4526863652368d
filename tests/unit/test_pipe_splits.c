/* Tests for aug_splits (timm's AugMixDataset + split-major collate,
 * RandomErasing with resplit) and aug_repeats (RepeatAugSampler for one
 * process) through cz_pipe, and the repeat schedule of the loader against
 * its definition. Exact comparisons throughout (tolerance 0): every value
 * is recomputed with the same functions and streams. */
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

enum { S = 16, NCLS = 2, PER = 5, N = NCLS * PER, HWC = S * S * 3, B = 4 };

static char g_tmp[256];
static cz_ds_set g_ds;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

/* N colourful 20x18 PNGs, PER per class folder. */
static int setup(void **state) {
  (void)state;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/czoo_splits_XXXXXX");
  if (!mkdtemp(g_tmp)) return -1;
  cz_image img = {.w = 20, .h = 18, .c = 3};
  img.px = malloc(20 * 18 * 3);
  char *top = cz_asprintf("%s/train", g_tmp);
  mkdir(top, 0755);
  for (int k = 0; k < NCLS; k++) {
    char *d = cz_asprintf("%s/c%d", top, k);
    mkdir(d, 0755);
    for (int i = 0; i < PER; i++) {
      for (int p = 0; p < 20 * 18 * 3; p++) img.px[p] = (uint8_t)(p * (7 + k) + i * 31 + p / 3);
      char *f = cz_asprintf("%s/%d.png", d, i);
      if (cz_image_save_png(f, &img)) return -1;
      free(f);
    }
    free(d);
  }
  free(img.px);
  cz_ds_folder f;
  cz_err *e = cz_ds_folder_scan(top, &f);
  free(top);
  if (e) return -1;
  g_ds.class_names = f.classes;
  g_ds.num_classes = f.num_classes;
  g_ds.train = f.samples;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cz_ds_set_free(&g_ds);
  return nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t g_shape[3] = {3, S, S};
static char g_const[] = "const";

static cz_config make_cfg(int workers, int splits, bool resplit) {
  cz_config c;
  memset(&c, 0, sizeof c);
  c.model.input_shape = (cz_cints){.set = true, .n = 3, .v = g_shape};
  c.training.batch_size = (cz_cint){true, B};
  c.general.seed = (cz_cint){true, 11};
  c.general.workers = (cz_cint){true, workers};
  c.data_augmentation.aug_splits = (cz_cint){true, splits};
  c.data_augmentation.jsd_loss = (cz_cbool){true, splits > 1};
  c.data_augmentation.resplit = (cz_cbool){true, resplit};
  c.data_augmentation.reprob = (cz_cfloat){true, 1.0};
  c.data_augmentation.remode = (cz_cstr){true, g_const};
  return c;
}

typedef struct {
  float *x;
  int64_t *y, *index, n;
} batch_copy;

/* The first batch of epoch `epoch`. */
static batch_copy first_batch(const cz_config *c, uint64_t epoch, int *splits) {
  cz_pipe *p;
  cz_err *e = cz_pipe_open(c, &g_ds, CZ_PIPE_TRAIN, &p);
  if (e) fail_msg("%s", cz_err_msg(e));
  *splits = cz_pipe_options(p)->aug_splits;
  assert_int_equal(cz_pipe_options(p)->loader.h, S); /* one image's shape */
  cz_pipe_start_epoch(p, epoch);
  cz_loader_batch b;
  if ((e = cz_pipe_next(p, &b))) fail_msg("%s", cz_err_msg(e));
  batch_copy r = {.n = b.n};
  r.x = cz_xmalloc((size_t)(b.n * HWC) * sizeof(float));
  r.y = cz_xmalloc((size_t)b.n * sizeof(int64_t));
  r.index = cz_xmalloc((size_t)b.n * sizeof(int64_t));
  memcpy(r.x, b.x, (size_t)(b.n * HWC) * sizeof(float));
  memcpy(r.y, b.y, (size_t)b.n * sizeof(int64_t));
  memcpy(r.index, b.index, (size_t)b.n * sizeof(int64_t));
  cz_pipe_free(p);
  return r;
}

static void copy_free(batch_copy *r) {
  free(r->x);
  free(r->y);
  free(r->index);
}

/* The S split images of one sample as the definition gives them: the
 * per-sample stream, cz_tf_train_apply_splits, no erasing. */
static float *expected_splits(const cz_config *c, int64_t sample, uint64_t epoch, int splits) {
  cz_tf_train tf;
  assert_null(cz_tf_train_init(c, &tf));
  cz_image img;
  assert_null(cz_image_load(g_ds.train.s[sample].path, 3, 0, 0, &img));
  cz_rng rng = cz_rng_make(11, cz_rng_stream(CZ_LOADER_PURPOSE_SAMPLE, epoch, (uint64_t)sample));
  float *out = cz_xmalloc((size_t)(splits * HWC) * sizeof(float));
  assert_null(cz_tf_train_apply_splits(&tf, &img, splits, &rng, out));
  cz_image_free(&img);
  return out;
}

static void test_split_major_layout(void **state) {
  (void)state;
  cz_config c0 = make_cfg(0, 3, true), c2 = make_cfg(2, 3, true);
  int sp;
  batch_copy a = first_batch(&c0, 1, &sp), b = first_batch(&c2, 1, &sp);
  assert_int_equal(sp, 3);
  assert_int_equal(a.n, 3 * B); /* split-major: S * batch rows */
  assert_memory_equal(a.x, b.x, (size_t)(a.n * HWC) * sizeof(float)); /* any workers */
  for (int i = 0; i < B; i++)
    for (int k = 1; k < 3; k++) {
      assert_int_equal(a.index[i + k * B], a.index[i]);
      assert_int_equal(a.y[i + k * B], a.y[i]);
    }
  for (int i = 0; i < B; i++) {
    float *want = expected_splits(&c0, a.index[i], 1, 3);
    /* resplit: the clean split is not erased, so it is the definition's. */
    assert_memory_equal(a.x + (size_t)i * HWC, want, HWC * sizeof(float));
    /* reprob 1: the augmented splits are erased (differ from the
     * definition's un-erased images), and were augmented differently. */
    for (int k = 1; k < 3; k++)
      assert_memory_not_equal(a.x + (size_t)(i + k * B) * HWC, want + (size_t)k * HWC,
                              HWC * sizeof(float));
    assert_memory_not_equal(want + HWC, want + 2 * HWC, HWC * sizeof(float));
    assert_memory_not_equal(want, want + HWC, HWC * sizeof(float));
    free(want);
  }
  copy_free(&a);
  copy_free(&b);
  /* Without resplit every split is erased, the clean one too. */
  cz_config c3 = make_cfg(0, 3, false);
  a = first_batch(&c3, 1, &sp);
  float *want = expected_splits(&c3, a.index[0], 1, 3);
  assert_memory_not_equal(a.x, want, HWC * sizeof(float));
  free(want);
  copy_free(&a);
}

/* With the augmentation stage off (no jitter) and no erasing, every split
 * is the clean base image: the splits share one base draw. */
static void test_splits_share_the_base(void **state) {
  (void)state;
  static double zero[3] = {0, 0, 0};
  cz_config c = make_cfg(0, 2, false);
  c.data_augmentation.reprob = (cz_cfloat){true, 0};
  c.data_augmentation.color_jitter = (cz_cfloats){.set = true, .n = 3, .v = zero};
  int sp;
  batch_copy a = first_batch(&c, 4, &sp);
  assert_int_equal(a.n, 2 * B);
  for (int i = 0; i < B; i++)
    assert_memory_equal(a.x + (size_t)i * HWC, a.x + (size_t)(i + B) * HWC, HWC * sizeof(float));
  copy_free(&a);
  /* One split (aug_splits 0 or 1) is the plain train transform. */
  c = make_cfg(0, 1, false);
  a = first_batch(&c, 4, &sp);
  assert_int_equal(sp, 1);
  assert_int_equal(a.n, B);
  copy_free(&a);
}

static void test_epoch_length_definition(void **state) {
  (void)state;
  /* min(n >= 256 ? n // 256 * 256 : n, n * r) */
  assert_int_equal(cz_loader_epoch_length(10, 0), 10);
  assert_int_equal(cz_loader_epoch_length(10, 3), 10);
  assert_int_equal(cz_loader_epoch_length(255, 3), 255);
  assert_int_equal(cz_loader_epoch_length(256, 2), 256);
  assert_int_equal(cz_loader_epoch_length(600, 3), 512);
  assert_int_equal(cz_loader_epoch_length(1000, 1), 768);
  assert_int_equal(cz_loader_epoch_length(1281167, 3), 1281024);
}

/* A load that only reports its sample and a draw of its stream. */
static cz_err *probe_load(void *ctx, int64_t i, uint64_t epoch, cz_rng *rng, float *out,
                          int64_t *label) {
  (void)ctx, (void)epoch;
  out[0] = (float)cz_rng_u32(rng);
  *label = i;
  return NULL;
}

/* RepeatAugSampler, num_replicas 1: the epoch is the first len entries
 * of repeat_interleave(perm, r), perm from the seeded shuffle stream. */
static void test_repeat_schedule(void **state) {
  (void)state;
  enum { NS = 600, R = 3 };
  cz_loader_opts o = cz_loader_opts_default();
  o.batch_size = 64;
  o.seed = 5;
  o.repeats = R;
  o.workers = 2;
  cz_loader *l;
  assert_null(cz_loader_new(&o, NS, probe_load, NULL, &l));
  assert_int_equal(cz_loader_num_batches(l), 512 / 64);
  cz_loader_start_epoch(l, 7);
  uint32_t perm[NS];
  for (uint32_t i = 0; i < NS; i++) perm[i] = i;
  cz_rng r = cz_rng_make(5, cz_rng_stream(CZ_LOADER_PURPOSE_SHUFFLE, 7, 0));
  cz_rng_shuffle_u32(&r, perm, NS);
  int64_t pos = 0, count[NS] = {0};
  float draw[512];
  for (;;) {
    cz_loader_batch b;
    assert_null(cz_loader_next(l, &b));
    if (!b.n) break;
    for (int64_t i = 0; i < b.n; i++, pos++) {
      assert_int_equal(b.index[i], perm[pos / R]);
      count[b.index[i]]++;
      draw[pos] = b.x[i];
    }
  }
  assert_int_equal(pos, 512);
  /* The multiset: 170 samples three times, one twice, the rest never. */
  int64_t hist[4] = {0};
  for (int i = 0; i < NS; i++) hist[count[i]]++;
  assert_int_equal(hist[3], 170);
  assert_int_equal(hist[2], 1);
  assert_int_equal(hist[1], 0);
  assert_int_equal(hist[0], NS - 171);
  /* Each repeat draws from its own stream; repeat 0 from the plain one. */
  for (int64_t p = 0; p + 2 < 512; p += R) {
    assert_true(draw[p] != draw[p + 1] && draw[p + 1] != draw[p + 2]);
    cz_rng s0 = cz_rng_make(5, cz_rng_stream(CZ_LOADER_PURPOSE_SAMPLE, 7, perm[p / R]));
    assert_true(draw[p] == (float)cz_rng_u32(&s0));
  }
  cz_loader_free(l);
}

static void test_repeats_in_the_pipeline(void **state) {
  (void)state;
  cz_config c0 = make_cfg(0, 0, false), c2 = make_cfg(2, 0, false);
  c0.data_augmentation.aug_repeats = c2.data_augmentation.aug_repeats = (cz_cint){true, 3};
  c0.data_augmentation.reprob = c2.data_augmentation.reprob = (cz_cfloat){true, 0};
  int sp;
  batch_copy a = first_batch(&c0, 2, &sp), b = first_batch(&c2, 2, &sp);
  assert_int_equal(a.n, B);
  assert_memory_equal(a.index, b.index, B * sizeof(int64_t));
  assert_memory_equal(a.x, b.x, B * HWC * sizeof(float));
  /* Rows 0-2 are one sample's three repeats, augmented differently. */
  assert_int_equal(a.index[1], a.index[0]);
  assert_int_equal(a.index[2], a.index[0]);
  assert_true(a.index[3] != a.index[0]);
  assert_memory_not_equal(a.x, a.x + HWC, HWC * sizeof(float));
  assert_memory_not_equal(a.x + HWC, a.x + 2 * HWC, HWC * sizeof(float));
  copy_free(&a);
  copy_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_major_layout),
      cmocka_unit_test(test_splits_share_the_base),
      cmocka_unit_test(test_epoch_length_definition),
      cmocka_unit_test(test_repeat_schedule),
      cmocka_unit_test(test_repeats_in_the_pipeline),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
