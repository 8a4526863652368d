/* The batch stream of one split: the dataset's per-sample load, plus
 * RandomErasing inside it (per-sample rng) and Mixup/CutMix on each batch. */
#include <stdlib.h>
#include <string.h>

#include "data/ds_sample.h"
#include "data/pipe_priv.h"
#include "util/mem.h"

/* Erasing runs inside the worker's load, after the transform, so it draws
 * from the sample's own stream and stays independent of the worker count.
 * With aug_splits the sample is S images in a row; with resplit the clean
 * one (split 0) is left unerased (erase_opts.num_splits > 1). */
static cz_err *load(void *ctx, int64_t i, uint64_t epoch, cz_rng *rng, float *out,
                    int64_t *label) {
  cz_pipe *p = ctx;
  cz_err *e = cz_ds_sample_load(&p->sample, i, epoch, rng, out, label);
  if (e || !p->opts.erase) return e;
  const cz_loader_opts *lo = &p->opts.loader;
  int S = p->opts.aug_splits, h = (int)lo->h;
  size_t per = (size_t)h * (size_t)lo->w * (size_t)lo->c;
  for (int k = p->opts.erase_opts.num_splits > 1 ? 1 : 0; k < S; k++)
    cz_aug_erase_image(&p->opts.erase_opts, rng, out + (size_t)k * per, h, (int)lo->w,
                       (int)lo->c, NULL, 0);
  return NULL;
}

/* The train transform for aug_splits > 1 (tf is the cz_pipe). */
static cz_err *split_transform(const void *tf, const cz_image *img, cz_rng *rng, float *out) {
  const cz_pipe *p = tf;
  return cz_tf_train_apply_splits(&p->tf_train, img, p->opts.aug_splits, rng, out);
}

/* aug_splits > 1: the loader hands out samples of S stacked images (its h
 * is S * H, see cz_pipe_open); buffers for the split-major batch. */
static void splits_init(cz_pipe *p) {
  const cz_loader_opts *lo = &p->opts.loader;
  int64_t S = p->opts.aug_splits, rows = S * lo->batch_size;
  p->sample.transform = split_transform;
  p->sample.tf = p;
  p->sx = cz_xmalloc((size_t)(rows * lo->h * lo->w * lo->c) * sizeof(float));
  p->sy = cz_xmalloc((size_t)rows * sizeof(int64_t));
  p->sindex = cz_xmalloc((size_t)rows * sizeof(int64_t));
  if (lo->num_classes > 0)
    p->ssoft = cz_xmalloc((size_t)(rows * lo->num_classes) * sizeof(float));
}

/* timm's fast_collate / default_collate of tuples: row i + k * n holds
 * split k of sample i; targets repeated per split. */
static void split_major(cz_pipe *p, cz_loader_batch *b) {
  const cz_loader_opts *lo = &p->opts.loader;
  int64_t S = p->opts.aug_splits, n = b->n, nc = lo->num_classes;
  size_t per = (size_t)(lo->h * lo->w * lo->c);
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = 0; k < S; k++) {
      int64_t r = i + k * n;
      memcpy(p->sx + (size_t)r * per, b->x + (size_t)(i * S + k) * per, per * sizeof(float));
      p->sy[r] = b->y[i];
      p->sindex[r] = b->index[i];
      if (b->soft) memcpy(p->ssoft + r * nc, b->soft + i * nc, (size_t)nc * sizeof(float));
    }
  *b = (cz_loader_batch){.n = S * n, .x = p->sx, .y = p->sy,
                         .soft = b->soft ? p->ssoft : NULL, .index = p->sindex};
}

static const cz_ds_split *pick(const cz_ds_set *ds, cz_pipe_split w, const char **name) {
  static const char *const names[] = {"training", "validation", "test", "quantization"};
  *name = names[w];
  switch (w) {
  case CZ_PIPE_TRAIN: return &ds->train;
  case CZ_PIPE_VALID: return &ds->val;
  case CZ_PIPE_TEST: return &ds->test;
  case CZ_PIPE_QUANT: return &ds->quant;
  }
  return NULL;
}

cz_err *cz_pipe_open(const cz_config *cfg, const cz_ds_set *ds, cz_pipe_split which,
                     cz_pipe **out) {
  *out = NULL;
  if ((unsigned)which > CZ_PIPE_QUANT)
    return cz_err_new(CZ_EXIT_USAGE, "data pipeline: unknown split %d", (int)which);
  const char *name;
  const cz_ds_split *sp = pick(ds, which, &name);
  if (!sp->n) return cz_err_new(CZ_EXIT_USAGE, "data pipeline: the %s split is empty", name);
  cz_pipe *p = cz_xcalloc(1, sizeof *p);
  cz_err *e = cz_pipe_opts_make(cfg, which, (int64_t)ds->num_classes, &p->opts);
  if (e) goto fail;
  if (which == CZ_PIPE_TRAIN) {
    if ((e = cz_tf_train_init(cfg, &p->tf_train))) goto fail;
    p->sample = cz_ds_sample_train(sp, &p->tf_train);
    if (p->opts.aug_splits > 1) splits_init(p);
  } else {
    /* preprocessing.resizing.mode: config selects the interpolation /
     * aspect_ratio resize, timm (the default) timm's eval transform. */
    bool use_resizing = cfg->preprocessing.resize_mode.set &&
                        cfg->preprocessing.resize_mode.v == CZ_RESIZE_CONFIG;
    if ((e = cz_tf_eval_init(cfg, use_resizing, &p->tf_eval))) goto fail;
    p->sample = cz_ds_sample_eval(sp, &p->tf_eval);
  }
  /* The loader's sample is the S split images stacked (h = S * H); the
   * options callers see keep one image's shape. */
  cz_loader_opts lopt = p->opts.loader;
  lopt.h *= p->opts.aug_splits;
  if ((e = cz_loader_new(&lopt, (int64_t)sp->n, load, p, &p->loader))) goto fail;
  *out = p;
  return NULL;
fail:
  cz_pipe_free(p);
  return cz_err_prefix(e, "data pipeline (%s)", name);
}

const cz_pipe_opts *cz_pipe_options(const cz_pipe *p) { return &p->opts; }

void cz_pipe_start_epoch(cz_pipe *p, uint64_t epoch) {
  p->epoch = epoch;
  p->batch = 0;
  cz_loader_start_epoch(p->loader, epoch);
}

/* Keeps (a copy of) the first rows of the first batch for save_grid. */
static void keep_grid(cz_pipe *p, const cz_loader_batch *b) {
  const cz_loader_opts *lo = &p->opts.loader;
  int64_t hwc = lo->h * lo->w * lo->c;
  p->grid_n = b->n < CZ_PIPE_GRID_MAX ? b->n : CZ_PIPE_GRID_MAX;
  p->grid = cz_xmalloc((size_t)(p->grid_n * hwc) * sizeof(float));
  memcpy(p->grid, b->x, (size_t)(p->grid_n * hwc) * sizeof(float));
}

cz_err *cz_pipe_next(cz_pipe *p, cz_loader_batch *b) {
  cz_err *e = cz_loader_next(p->loader, b);
  if (e || b->n == 0) return e;
  if (p->opts.aug_splits > 1) split_major(p, b);
  if (p->opts.mix) {
    const cz_loader_opts *lo = &p->opts.loader;
    /* One stream per (seed, epoch, batch): the same mix for any workers. */
    cz_rng rng = cz_aug_mix_stream(lo->seed, p->epoch, (uint64_t)p->batch);
    e = cz_aug_mix_apply(&p->opts.mix_opts, &rng, b->x, b->y, b->soft, b->n, (int)lo->h,
                         (int)lo->w, (int)lo->c, NULL, NULL);
    if (e) return cz_err_prefix(e, "mixup (batch %lld)", (long long)p->batch);
  }
  if (p->opts.save_images && !p->grid) keep_grid(p, b);
  p->batch++;
  return NULL;
}

int64_t cz_pipe_num_batches(const cz_pipe *p) { return cz_loader_num_batches(p->loader); }

void cz_pipe_free(cz_pipe *p) {
  if (!p) return;
  cz_loader_free(p->loader);
  free(p->grid);
  free(p->sx);
  free(p->sy);
  free(p->sindex);
  free(p->ssoft);
  free(p);
}
