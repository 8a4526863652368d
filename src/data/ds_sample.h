/* The per-sample load callback that feeds a cz_ds_split to cz_loader:
 * decode (files) or wrap (IDX), then a pluggable transform. */
#ifndef CZ_DATA_DS_SAMPLE_H
#define CZ_DATA_DS_SAMPLE_H

#include <stdint.h>

#include "data/ds.h"
#include "data/tf.h"
#include "data/tf_train.h"
#include "io/img.h"
#include "util/err.h"
#include "util/rng.h"

/* Turns one decoded image (img->c == the ctx's channels) into out, an
 * h*w*c float HWC buffer. tf is the transform's own state, read
 * concurrently by workers; rng is the loader's per-sample stream (the eval
 * transform ignores it, the training transform draws its augmentation
 * from it). */
typedef cz_err *(*cz_ds_transform_fn)(const void *tf, const cz_image *img, cz_rng *rng,
                                      float *out);

typedef struct {
  const cz_ds_split *split; /* borrowed */
  int channels;             /* decode to 1, 3 or 4 channels (= input_shape C) */
  int min_side;             /* JPEG DCT scaling floor for both sides; 0 = full size */
  cz_ds_transform_fn transform;
  const void *tf;           /* borrowed, passed to transform */
} cz_ds_sample_ctx;

/* cz_tf_eval_apply as a cz_ds_transform_fn (tf is a const cz_tf_eval *). */
cz_err *cz_ds_eval_transform(const void *tf, const cz_image *img, cz_rng *rng, float *out);

/* The smallest side a decoded image may have so that tf never upsamples
 * because of DCT scaling: the larger of the transform's resize targets
 * (timm: floor(H or W / 0.875), e.g. 256 for 224; config: H or W). */
int cz_ds_eval_min_side(const cz_tf_eval *tf);

/* A ctx for the eval transform: channels tf->c, min_side as above. */
cz_ds_sample_ctx cz_ds_sample_eval(const cz_ds_split *split, const cz_tf_eval *tf);

/* cz_tf_train_apply as a cz_ds_transform_fn (tf is a const cz_tf_train *). */
cz_err *cz_ds_train_transform(const void *tf, const cz_image *img, cz_rng *rng, float *out);

/* A ctx for the training transform: channels tf->eval.c and a full-size
 * decode (min_side 0). RandomResizedCrop draws its box from the decoded
 * size and may upscale a small crop (scale down to 0.08), so any DCT
 * scaling would change both the crop boxes and the pixels from what
 * torchvision (full-size PIL decode) gives; see ds_sample.c. */
cz_ds_sample_ctx cz_ds_sample_train(const cz_ds_split *split, const cz_tf_train *tf);

/* The cz_loader_fn: ctx is a const cz_ds_sample_ctx *. File samples are
 * decoded with cz_image_load(path, channels, min_side, min_side); IDX
 * samples are viewed in place (gray replicated when channels > 1). Errors
 * are prefixed with the file's path (or "IDX image N"). */
cz_err *cz_ds_sample_load(void *ctx, int64_t sample_index, uint64_t epoch, cz_rng *rng,
                          float *out_hwc, int64_t *label);

#endif
