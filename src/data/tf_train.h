/* The training transform: timm's transforms_imagenet_train without
 * random erasing or mixup (RandomResizedCrop, flips, auto-augment,
 * ColorJitter, ToTensor, Normalize), all randomness from a cz_rng. It runs
 * in three stages, as timm's create_transform(separate=True) splits it for
 * AugMixDataset (aug_splits): base (crop, resize, flips), augmentation
 * (auto-augment (data/aa.h), then colour jitter), normalize. */
#ifndef CZ_DATA_TF_TRAIN_H
#define CZ_DATA_TF_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "config/cfg.h"
#include "data/aa.h"
#include "data/tf.h"
#include "io/img.h"
#include "util/err.h"
#include "util/rng.h"

/* Colour operations, in the index order of cz_tf_train_params.factor. */
enum { CZ_JIT_BRIGHTNESS, CZ_JIT_CONTRAST, CZ_JIT_SATURATION, CZ_JIT_HUE, CZ_JIT_N };

typedef struct {
  bool no_aug;            /* data_augmentation.no_aug: resize + centre crop only */
  cz_tf_eval eval;        /* shape, mean and std (and the no_aug transform) */
  double scale[2];        /* crop area fraction range */
  double ratio[2];        /* crop aspect ratio (w / h) range */
  int n_interp;           /* 1, or 2 for timm's 'random' (one drawn per image) */
  cz_interp interp[2];
  double hflip, vflip;    /* flip probabilities */
  double jitter[CZ_JIT_N]; /* strength s: factor uniform in [max(0,1-s), 1+s];
                              hue: s <= 0.5, factor uniform in [-s, s] */
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
  int order[CZ_JIT_N];    /* colour ops in the order applied; each op runs at
                             most once (a repeated entry is skipped) */
  float factor[CZ_JIT_N]; /* per op (CZ_JIT_*); 1 (hue: 0) leaves the image */
  cz_aa_plan aa;          /* auto-augment draws (kind CZ_AA_OFF: none) */
} cz_tf_train_params;

/* Builds the transform from model.input_shape, preprocessing.mean/std and
 * data_augmentation (timm's defaults where unset: scale [0.08, 1], ratio
 * [3/4, 4/3], hflip 0.5, vflip 0, color_jitter 0.4 (1, 3 or 4 values; the
 * 4th, hue, in [0, 0.5]), train_interpolation 'random' = bilinear or bicubic).
 * no_aug: True makes cz_tf_train_apply run timm's transforms_noaug_train
 * instead: resize (short side to the input size, no crop_pct) with the
 * train interpolation ('random' = bilinear) and centre crop; no rng use. */
cz_err *cz_tf_train_init(const cz_config *cfg, cz_tf_train *tf);

/* torchvision RandomResizedCrop.get_params on an iw x ih image with our
 * rng: up to 10 draws of (area fraction, log aspect ratio), then the
 * centre crop with the ratio clamped into range. */
void cz_tf_rrc_params(int iw, int ih, const double scale[2], const double ratio[2], cz_rng *rng,
                      int *x, int *y, int *w, int *h, bool *fallback);

/* Draws every choice of one sample for an iw x ih image: the base stage
 * (interpolation, crop, flips), then cz_tf_train_sample_aug. */
void cz_tf_train_sample(const cz_tf_train *tf, int iw, int ih, cz_rng *rng,
                        cz_tf_train_params *p);

/* Draws the augmentation stage's choices into p (base fields untouched):
 * torchvision ColorJitter.get_params, a random order of the four ops (of
 * the three when hue is off, so hue-less draws are unchanged), then one
 * factor per enabled op. */
void cz_tf_train_sample_aug(const cz_tf_train *tf, cz_rng *rng, cz_tf_train_params *p);

/* Base stage: crop, resize to tf's h x w, flips into *out (8 bits). */
cz_err *cz_tf_train_base(const cz_tf_train *tf, const cz_image *img,
                         const cz_tf_train_params *p, cz_image *out);

/* Augmentation stage in place: the colour ops in p's order. */
cz_err *cz_tf_train_augment(const cz_tf_train *tf, const cz_tf_train_params *p, cz_image *img);

/* x / 255, (x - mean) / std of an h x w image into out (HWC floats). */
void cz_tf_train_normalize(const cz_tf_train *tf, const cz_image *img, float *out);

/* Crop, resize to tf's h x w, flips, colour ops, x / 255, (x - mean) / std
 * into out (h*w*c floats, HWC). Deterministic in its arguments. */
cz_err *cz_tf_train_apply_params(const cz_tf_train *tf, const cz_image *img,
                                 const cz_tf_train_params *p, float *out);

/* sample + apply_params (or the eval transform when tf->no_aug). */
cz_err *cz_tf_train_apply(const cz_tf_train *tf, const cz_image *img, cz_rng *rng, float *out);

/* timm's AugMixDataset for `splits` >= 2: out holds `splits` images of
 * h*w*c floats one after another: the first clean (base + normalize), the
 * others base + their own augmentation draw + normalize. The base is drawn
 * once; each augmented split then draws its stage in split order. With
 * no_aug every split is the no_aug image. */
cz_err *cz_tf_train_apply_splits(const cz_tf_train *tf, const cz_image *img, int splits,
                                 cz_rng *rng, float *out);

/* PIL's ImageEnhance Brightness / Contrast / Color (alpha, the 4th
 * channel, is kept; see tf_jitter.c) or torchvision's adjust_hue (see
 * cz_tf_hue) on an 8-bit image in place. */
void cz_tf_jitter(cz_image *img, int op, float factor);

/* torchvision 0.14 adjust_hue on a PIL image, byte-exact: 1-channel images
 * are left alone; RGB(A) goes through Pillow's HSV, the hue byte shifted by
 * cz_tf_hue_shift(factor) modulo 256; RGBA comes back opaque, as PIL's
 * HSV -> RGBA does. factor in [-0.5, 0.5]. See tf_hue.c. */
void cz_tf_hue(cz_image *img, float hue_factor);

/* cz_tf_hue without its tables: Pillow's expressions per pixel. Slower;
 * for tests, which check that both give the same bytes on every colour. */
void cz_tf_hue_ref(cz_image *img, float hue_factor);

/* numpy's np.uint8(hue_factor * 255): truncated toward zero, modulo 256. */
uint8_t cz_tf_hue_shift(float hue_factor);

#endif
