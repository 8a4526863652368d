/* The training transform: timm's transforms_imagenet_train without random
 * erasing or mixup (RandomResizedCrop, flips, auto-augment (data/aa.h),
 * ColorJitter, ToTensor, Normalize), all randomness from a cz_rng. */
#ifndef CZ_DATA_TF_TRAIN_H
#define CZ_DATA_TF_TRAIN_H

#include <stdbool.h>

#include "config/cfg.h"
#include "data/aa.h"
#include "data/tf.h"
#include "io/img.h"
#include "util/err.h"
#include "util/rng.h"

/* Colour operations, in the index order of cz_tf_train_params.factor. */
enum { CZ_JIT_BRIGHTNESS, CZ_JIT_CONTRAST, CZ_JIT_SATURATION, CZ_JIT_N };

typedef struct {
  bool no_aug;            /* data_augmentation.no_aug: resize + centre crop only */
  cz_tf_eval eval;        /* shape, mean and std (and the no_aug transform) */
  double scale[2];        /* crop area fraction range */
  double ratio[2];        /* crop aspect ratio (w / h) range */
  int n_interp;           /* 1, or 2 for timm's 'random' (one drawn per image) */
  cz_interp interp[2];
  double hflip, vflip;    /* flip probabilities */
  double jitter[CZ_JIT_N]; /* strength s: factor uniform in [max(0,1-s), 1+s] */
  cz_aa aa;               /* data_augmentation.aa (see data/aa.h) */
} cz_tf_train;

/* One sample's choices; apply_params turns them into pixels
 * deterministically, so they can be compared with torchvision's
 * functional ops. */
typedef struct {
  int x, y, w, h;         /* crop box inside the source image */
  bool fallback;          /* the crop is the centre fallback (10 misses) */
  cz_interp interp;
  bool hflip, vflip;
  int order[CZ_JIT_N];    /* colour ops in the order applied */
  float factor[CZ_JIT_N]; /* per op (CZ_JIT_*); 1 leaves the image as is */
  cz_aa_plan aa;          /* auto-augment draws (kind CZ_AA_OFF: none) */
} cz_tf_train_params;

/* Builds the transform from model.input_shape, preprocessing.mean/std and
 * data_augmentation (timm's defaults where unset: scale [0.08, 1], ratio
 * [3/4, 4/3], hflip 0.5, vflip 0, color_jitter 0.4 (1 or 3 values; a
 * 4th, hue, must be 0), train_interpolation 'random' = bilinear or bicubic).
 * no_aug: True makes cz_tf_train_apply run timm's transforms_noaug_train
 * instead: resize (short side to the input size, no crop_pct) with the
 * train interpolation ('random' = bilinear) and centre crop; no rng use. */
cz_err *cz_tf_train_init(const cz_config *cfg, cz_tf_train *tf);

/* torchvision RandomResizedCrop.get_params on an iw x ih image with our
 * rng: up to 10 draws of (area fraction, log aspect ratio), then the
 * centre crop with the ratio clamped into range. */
void cz_tf_rrc_params(int iw, int ih, const double scale[2], const double ratio[2], cz_rng *rng,
                      int *x, int *y, int *w, int *h, bool *fallback);

/* Draws every choice of one sample for an iw x ih image. */
void cz_tf_train_sample(const cz_tf_train *tf, int iw, int ih, cz_rng *rng,
                        cz_tf_train_params *p);

/* Crop, resize to tf's h x w, flips, colour ops, x / 255, (x - mean) / std
 * into out (h*w*c floats, HWC). Deterministic in its arguments. */
cz_err *cz_tf_train_apply_params(const cz_tf_train *tf, const cz_image *img,
                                 const cz_tf_train_params *p, float *out);

/* sample + apply_params (or the eval transform when tf->no_aug). */
cz_err *cz_tf_train_apply(const cz_tf_train *tf, const cz_image *img, cz_rng *rng, float *out);

/* PIL's ImageEnhance Brightness / Contrast / Color on an 8-bit image in
 * place (alpha, the 4th channel, is kept); see tf_jitter.c. */
void cz_tf_jitter(cz_image *img, int op, float factor);

#endif
