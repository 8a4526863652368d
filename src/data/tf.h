/* The eval transform: PIL-exact resampling of 8-bit HWC images and the
 * decoded-image-to-model-input pipeline (timm's eval transform, or the
 * config-driven resize of preprocessing.resizing). */
#ifndef CZ_DATA_TF_H
#define CZ_DATA_TF_H

#include <stdbool.h>

#include "config/cfg.h"
#include "io/img.h"
#include "util/err.h"

/* Resizes src to out_w x out_h as Pillow's Image.resize does for L and RGB
 * images (bit-exact, see tf_resize.c). Channels are resampled
 * independently: RGBA is NOT premultiplied as Pillow would do. On error
 * *out is left empty. */
cz_err *cz_tf_resize(const cz_image *src, int out_w, int out_h, cz_interp interp,
                     cz_image *out);

/* torchvision CenterCrop's offset of a `crop` window inside `size`:
 * int(round((size - crop) / 2.0)), Python's round half to even; negative
 * when the crop is larger (the image is then zero-padded). */
int cz_tf_center_offset(int size, int crop);

/* Which resize the eval transform does; see cz_tf_eval_init for the rule. */
typedef enum {
  CZ_TF_TIMM,   /* timm transforms_imagenet_eval, crop_pct 0.875, bicubic */
  CZ_TF_CONFIG, /* preprocessing.resizing: interpolation and aspect_ratio */
} cz_tf_mode;

typedef struct {
  int c, h, w;            /* output: h x w pixels of c channels */
  cz_tf_mode mode;
  cz_interp interp;
  cz_aspect aspect;       /* CZ_TF_CONFIG only */
  float mean[4], std[4];  /* per output channel */
} cz_tf_eval;

/* The geometry of one image: resize to rw x rh, then take the h x w window
 * at (x0, y0) of the resized image; pixels outside it are zero (padding). */
typedef struct {
  int rw, rh, x0, y0;
} cz_tf_plan;

/* Builds the transform from the config: model.input_shape [C, H, W],
 * preprocessing.mean/std (1 or C values). The rule (why: the reference's
 * torch services ignore preprocessing.resizing, and every example config
 * sets it to `nearest`/`fit`, so honouring it whenever present would change
 * every evaluation): mode is CZ_TF_TIMM unless the caller asks for the
 * config-driven resize (use_resizing = true); then interpolation defaults to
 * bilinear and aspect_ratio to fit when unset. */
cz_err *cz_tf_eval_init(const cz_config *cfg, bool use_resizing, cz_tf_eval *tf);

/* The geometry for an iw x ih image. */
cz_err *cz_tf_eval_plan(const cz_tf_eval *tf, int iw, int ih, cz_tf_plan *plan);

/* Transforms one decoded image into out, an h*w*c float buffer (HWC):
 * resize, crop or pad, x / 255, (x - mean) / std. img->c must equal tf->c. */
cz_err *cz_tf_eval_apply(const cz_tf_eval *tf, const cz_image *img, float *out);

#endif
