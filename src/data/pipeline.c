/* The batch stream of one split: the dataset's per-sample load, plus
 * RandomErasing inside it (per-sample rng) and Mixup/CutMix on each batch. */
#include <stdlib.h>
#include <string.h>

#include "data/ds_sample.h"
#include "data/pipe_priv.h"
#include "util/mem.h"

/* Erasing runs inside the worker's load, after the transform, so it draws
 * from the sample's own stream and stays independent of the worker count. */
static cz_err *load(void *ctx, int64_t i, uint64_t epoch, cz_rng *rng, float *out,
                    int64_t *label) {
  cz_pipe *p = ctx;
  cz_err *e = cz_ds_sample_load(&p->sample, i, epoch, rng, out, label);
  if (e || !p->opts.erase) return e;
  const cz_loader_opts *lo = &p->opts.loader;
  cz_aug_erase_image(&p->opts.erase_opts, rng, out, (int)lo->h, (int)lo->w, (int)lo->c, NULL, 0);
  return NULL;
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
  } else {
    if ((e = cz_tf_eval_init(cfg, false, &p->tf_eval))) goto fail;
    p->sample = cz_ds_sample_eval(sp, &p->tf_eval);
  }
  if ((e = cz_loader_new(&p->opts.loader, (int64_t)sp->n, load, p, &p->loader))) goto fail;
  *out = p;
  return NULL;
fail:
  free(p);
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
  free(p);
}
