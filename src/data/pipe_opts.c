/* cz_config -> cz_pipe_opts: which augmentations a split gets, with
 * timm's defaults for unset keys, and a clear error for bad values. */
#include <string.h>

#include "data/pipeline.h"

static double fl(cz_cfloat v, double dflt) { return v.set ? v.v : dflt; }

/* aug_splits (timm's AugMixDataset), jsd_loss (timm's train.py asserts
 * aug_splits > 1 for it) and aug_repeats (RepeatAugSampler, one process). */
static cz_err *split_opts(const cz_cfg_augmentation *a, cz_pipe_opts *out) {
  int64_t s = a->aug_splits.set ? a->aug_splits.v : 0;
  if (s < 0 || s > CZ_PIPE_MAX_SPLITS)
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.aug_splits: %lld: expected 0 or 1 "
                      "(off) or 2..%d", (long long)s, CZ_PIPE_MAX_SPLITS);
  out->aug_splits = s > 1 ? (int)s : 1;
  out->jsd_loss = a->jsd_loss.set && a->jsd_loss.v;
  if (out->jsd_loss && out->aug_splits < 2)
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.jsd_loss: True needs aug_splits > 1 "
                      "(aug_splits is %lld)", (long long)s);
  int64_t r = a->aug_repeats.set ? a->aug_repeats.v : 0;
  if (r < 0 || r > 1024)
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.aug_repeats: %lld: expected 0..1024",
                      (long long)r);
  out->loader.repeats = r;
  return NULL;
}

static cz_err *erase_opts(const cz_cfg_augmentation *a, int splits, cz_aug_erase_opts *o) {
  *o = cz_aug_erase_opts_default();
  o->prob = fl(a->reprob, 0);
  /* timm's default remode is 'pixel' (the config's default too). */
  cz_err *e = cz_aug_erase_parse_mode(a->remode.set ? a->remode.v : "pixel", &o->mode);
  if (e) return cz_err_prefix(e, "data_augmentation.remode");
  o->count = a->recount.set ? (int)a->recount.v : 1;
  /* Erasing runs per sample in the workers. With aug_splits > 1 and
   * resplit, the clean split (split 0) is not erased, as timm's
   * RandomErasing(num_splits = aug_splits) on the split-major batch; the
   * pipeline reads num_splits for that. resplit without aug_splits (timm's
   * prefetcher: "first half of the batch clean") is not reproduced: the
   * reference runs with no_prefetcher, where per-sample erasing ignores it. */
  o->num_splits = a->resplit.set && a->resplit.v && splits > 1 ? splits : 0;
  return cz_err_prefix(cz_aug_erase_check(o), "data_augmentation");
}

static cz_err *mix_opts(const cz_cfg_augmentation *a, int64_t batch, int splits, int64_t ncls,
                        cz_aug_mix_opts *o) {
  *o = cz_aug_mix_opts_default();
  o->mixup_alpha = fl(a->mixup, 0);
  o->cutmix_alpha = fl(a->cutmix, 0);
  o->has_minmax = a->cutmix_minmax.set && a->cutmix_minmax.n == 2;
  if (o->has_minmax) {
    o->minmax[0] = a->cutmix_minmax.v[0];
    o->minmax[1] = a->cutmix_minmax.v[1];
  }
  o->prob = fl(a->mixup_prob, 1.0);
  o->switch_prob = fl(a->mixup_switch_prob, 0.5);
  o->smoothing = fl(a->smoothing, 0.1);
  o->num_classes = ncls;
  cz_err *e = cz_aug_mix_parse_mode(a->mixup_mode.set ? a->mixup_mode.v : "batch", &o->mode);
  if (e) return cz_err_prefix(e, "data_augmentation.mixup_mode");
  /* Samples are mixed with their mirror in the batch (as timm asserts).
   * With aug_splits, timm (no prefetcher) mixes the whole split-major
   * batch of splits * batch_size rows. */
  if ((batch * splits) % 2)
    return cz_err_new(CZ_EXIT_USAGE, "training.batch_size: %lld%s is odd; mixup/cutmix need an "
                      "even batch size", (long long)batch, splits > 1 ? " times aug_splits" : "");
  return cz_err_prefix(cz_aug_mix_check(o), "data_augmentation");
}

cz_err *cz_pipe_opts_make(const cz_config *cfg, cz_pipe_split which, int64_t num_classes,
                          cz_pipe_opts *out) {
  memset(out, 0, sizeof *out);
  const cz_cfg_augmentation *a = &cfg->data_augmentation;
  bool train = which == CZ_PIPE_TRAIN;
  cz_err *e;
  const cz_cints *is = &cfg->model.input_shape;
  if (!is->set || is->n != 3)
    return cz_err_new(CZ_EXIT_USAGE, "model.input_shape: expected [C, H, W]");
  /* Evaluation-only runs need no training section: batches of 32 then. */
  if (!cfg->training.batch_size.set && train)
    return cz_err_new(CZ_EXIT_USAGE, "training.batch_size: not set");
  cz_loader_opts *lo = &out->loader;
  *lo = cz_loader_opts_default();
  lo->c = is->v[0];
  lo->h = is->v[1];
  lo->w = is->v[2];
  lo->batch_size = cfg->training.batch_size.set ? cfg->training.batch_size.v : 32;
  if (!train && cfg->training.validation_batch_size.set)
    lo->batch_size = cfg->training.validation_batch_size.v;
  lo->num_classes = num_classes;
  /* dataset.seed defaults to general.seed in validation; a hand-built
   * config may have only one of them. */
  lo->seed = (uint64_t)(cfg->dataset.seed.set ? cfg->dataset.seed.v
                        : cfg->general.seed.set ? cfg->general.seed.v : 42);
  lo->workers = cfg->general.workers.set ? (int)cfg->general.workers.v : 0;
  lo->shuffle = train;
  lo->drop_last = train;
  out->save_images = cfg->general.save_images.set && cfg->general.save_images.v;
  out->aug_splits = 1;
  if (!train) return NULL;
  if ((e = split_opts(a, out))) return e;
  if ((e = erase_opts(a, out->aug_splits, &out->erase_opts))) return e;
  out->erase = out->erase_opts.prob > 0;
  out->mix = fl(a->mixup, 0) > 0 || fl(a->cutmix, 0) > 0 || a->cutmix_minmax.set;
  if (out->mix &&
      (e = mix_opts(a, lo->batch_size, out->aug_splits, num_classes, &out->mix_opts)))
    return e;
  return NULL;
}
