/* The data pipeline assembled from the config: one call turns a split of a
 * cz_ds_set into a batch stream (transform, erasing, mixup, loader). */
#ifndef CZ_DATA_PIPELINE_H
#define CZ_DATA_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/cfg.h"
#include "data/aug_erase.h"
#include "data/aug_mixup.h"
#include "data/ds.h"
#include "data/loader.h"
#include "util/err.h"

typedef enum { CZ_PIPE_TRAIN, CZ_PIPE_VALID, CZ_PIPE_TEST, CZ_PIPE_QUANT } cz_pipe_split;

enum { CZ_PIPE_MAX_SPLITS = 8 };

/* Everything the config decides, resolved (timm's defaults where unset). */
typedef struct {
  cz_loader_opts loader;  /* batch size, shape, seed, workers, shuffle,
                             drop_last, repeats (aug_repeats); h, w, c are
                             one image's */
  int aug_splits;         /* 1, or data_augmentation.aug_splits (train) */
  bool jsd_loss;          /* data_augmentation.jsd_loss (needs aug_splits > 1) */
  bool erase;             /* RandomErasing per sample (train, reprob > 0) */
  cz_aug_erase_opts erase_opts;
  bool mix;               /* Mixup/CutMix per batch (train, mixup/cutmix on) */
  cz_aug_mix_opts mix_opts;
  bool save_images;       /* general.save_images: keep the first batch */
} cz_pipe_opts;

/* Resolves the options of split `which` (num_classes from the dataset) and
 * rejects what the pipeline cannot do yet (aa) with "<key>: <value> is not
 * supported yet", and jsd_loss without aug_splits > 1. */
cz_err *cz_pipe_opts_make(const cz_config *cfg, cz_pipe_split which, int64_t num_classes,
                          cz_pipe_opts *out);

typedef struct cz_pipe cz_pipe;

/* Builds the stream over ds's split (borrowed: ds and cfg must outlive the
 * pipe). Train: training transform, shuffle, drop_last, erasing, mixup.
 * Other splits: eval transform, listing order, every sample. */
cz_err *cz_pipe_open(const cz_config *cfg, const cz_ds_set *ds, cz_pipe_split which,
                     cz_pipe **out);

const cz_pipe_opts *cz_pipe_options(const cz_pipe *p);

/* Begins an epoch (see cz_loader_start_epoch). */
void cz_pipe_start_epoch(cz_pipe *p, uint64_t epoch);

/* The next batch of the epoch (b->n == 0 at its end); with mixup, b->x and
 * b->soft are the mixed images and targets. Valid until the next call.
 * With aug_splits S > 1 (cz_pipe_options(p)->aug_splits) the batch is
 * timm's split-major collate of B samples: b->n = S * B rows, rows
 * [k*B, (k+1)*B) are split k of the B samples in the same order (split 0
 * the clean images), y/soft/index repeated per split; mixup (if on) then
 * mixes the S * B rows as one batch, as timm's Mixup in the train loop. */
cz_err *cz_pipe_next(cz_pipe *p, cz_loader_batch *b);

/* Nominal batches per epoch. */
int64_t cz_pipe_num_batches(const cz_pipe *p);

/* With general.save_images: writes up to 16 images of the first batch this
 * pipe handed out (as the model saw them, un-normalized to 8 bits), 4 per
 * row with 2-pixel black borders, as a PNG at path (atomically). An error
 * when save_images is off or no batch has been read yet. */
cz_err *cz_pipe_save_grid(const cz_pipe *p, const char *path);

void cz_pipe_free(cz_pipe *p);

#endif
