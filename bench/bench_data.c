/* Data-pipeline throughput: one epoch of decode + eval or train transform +
 * batching of an ImageFolder through cz_loader (bench_data.sh runs its peer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/ds.h"
#include "data/ds_sample.h"
#include "data/loader.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs epoch `epoch` to the end; returns images per second. */
static double epoch_rate(cz_loader *l, uint64_t epoch) {
  double t0 = now_s();
  cz_loader_start_epoch(l, epoch);
  int64_t n = 0;
  for (;;) {
    cz_loader_batch b;
    cz_err *err = cz_loader_next(l, &b);
    if (err) {
      fprintf(stderr, "bench_data: %s\n", cz_err_msg(err));
      exit(1);
    }
    if (b.n == 0) break;
    n += b.n;
  }
  return (double)n / (now_s() - t0);
}

/* Best of `epochs` timed epochs after one warm-up epoch. */
static double measure(cz_ds_sample_ctx *ctx, int batch, int size, int workers, int epochs) {
  cz_loader_opts o = cz_loader_opts_default();
  o.batch_size = batch;
  o.h = o.w = size;
  o.c = 3;
  o.workers = workers;
  cz_loader *l;
  cz_err *err = cz_loader_new(&o, (int64_t)ctx->split->n, cz_ds_sample_load, ctx, &l);
  if (err) {
    fprintf(stderr, "bench_data: %s\n", cz_err_msg(err));
    exit(1);
  }
  epoch_rate(l, 0);
  double best = 0.0;
  for (int e = 1; e <= epochs; e++) {
    double r = epoch_rate(l, (uint64_t)e);
    if (r > best) best = r;
  }
  cz_loader_free(l);
  return best;
}

int main(int argc, char **argv) {
  if (argc != 7 ||
      (strcmp(argv[6], "eval") && strcmp(argv[6], "train") && strcmp(argv[6], "randaug"))) {
    fprintf(stderr, "usage: bench_data DIR BATCH SIZE WORKERS EPOCHS eval|train|randaug\n");
    return 2;
  }
  int batch = atoi(argv[2]), size = atoi(argv[3]), workers = atoi(argv[4]);
  int epochs = atoi(argv[5]);
  cz_ds_folder f;
  cz_err *err = cz_ds_folder_scan(argv[1], &f);
  if (err) {
    fprintf(stderr, "bench_data: %s\n", cz_err_msg(err));
    return 1;
  }
  /* timm's eval transform = Resize(size/0.875, bicubic) + CenterCrop +
   * ToTensor + Normalize(ImageNet), the peer's Compose exactly. */
  cz_tf_eval tf = {.c = 3, .h = size, .w = size, .mode = CZ_TF_TIMM,
                   .interp = CZ_INTERP_BICUBIC, .aspect = CZ_ASPECT_CROP,
                   .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
  printf("images %zu\n", f.samples.n);
  if (!strcmp(argv[6], "randaug")) {
    /* timm's create_transform(size, is_training=True, interpolation=
     * 'bilinear', auto_augment='rand-m9-mstd0.5-inc1'): RRC, hflip,
     * RandAugment (no ColorJitter with aa), ToTensor, Normalize. */
    cz_tf_train tt = {.eval = tf, .scale = {0.08, 1.0}, .ratio = {0.75, 4.0 / 3.0},
                      .n_interp = 1, .interp = {CZ_INTERP_BILINEAR}, .hflip = 0.5};
    err = cz_aa_parse("rand-m9-mstd0.5-inc1", size, size, 3, tf.mean, "bilinear", &tt.aa);
    if (err) {
      fprintf(stderr, "bench_data: %s\n", cz_err_msg(err));
      return 1;
    }
    cz_ds_sample_ctx ctx = cz_ds_sample_train(&f.samples, &tt);
    printf("images_per_s %.1f\n", measure(&ctx, batch, size, workers, epochs));
    cz_ds_folder_free(&f);
    return 0;
  }
  if (!strcmp(argv[6], "train")) {
    /* timm's default recipe (scale 0.08-1, ratio 3/4-4/3, hflip 0.5,
     * jitter 0.4) with bilinear only, as the peer's RandomResizedCrop:
     * timm's 'random' would mix in bicubic, which torchvision cannot. */
    cz_tf_train tt = {.eval = tf, .scale = {0.08, 1.0}, .ratio = {0.75, 4.0 / 3.0},
                      .n_interp = 1, .interp = {CZ_INTERP_BILINEAR}, .hflip = 0.5,
                      .jitter = {0.4, 0.4, 0.4}};
    cz_ds_sample_ctx ctx = cz_ds_sample_train(&f.samples, &tt);
    printf("images_per_s %.1f\n", measure(&ctx, batch, size, workers, epochs));
    cz_ds_folder_free(&f);
    return 0;
  }
  cz_ds_sample_ctx ctx = cz_ds_sample_eval(&f.samples, &tf);
  printf("images_per_s %.1f\n", measure(&ctx, batch, size, workers, epochs));
  /* Full-size decode: the same work PIL does, for a like-for-like figure. */
  ctx.min_side = 0;
  printf("images_per_s_full_decode %.1f\n", measure(&ctx, batch, size, workers, epochs));
  cz_ds_folder_free(&f);
  return 0;
}
