/* The eval transform of one image: timm's transforms_imagenet_eval
 * (crop_pct 0.875, bicubic, torchvision Resize/CenterCrop/ToTensor/
 * Normalize semantics) or the config-driven fit/crop/padding resize. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/tf.h"

/* timm's default crop fraction; the reference has no key for it. */
static const double CROP_PCT = 0.875;

int cz_tf_center_offset(int size, int crop) {
  int d = size - crop;
  if (d < 0) return -((-d) / 2); /* CenterCrop pads floor(d/2) before */
  int q = d / 2;
  /* d odd: d / 2.0 ends in .5 and Python's round picks the even side. */
  if (d % 2 && q % 2) q++;
  return q;
}

cz_err *cz_tf_eval_init(const cz_config *cfg, bool use_resizing, cz_tf_eval *tf) {
  *tf = (cz_tf_eval){0};
  const cz_cints *is = &cfg->model.input_shape;
  if (!is->set || is->n != 3)
    return cz_err_new(CZ_EXIT_USAGE, "model.input_shape: expected [C, H, W]");
  int64_t c = is->v[0], h = is->v[1], w = is->v[2];
  if (c != 1 && c != 3 && c != 4)
    return cz_err_new(CZ_EXIT_USAGE, "model.input_shape: %lld channels; expected 1, 3 or 4",
                      (long long)c);
  if (h <= 0 || w <= 0 || h > CZ_IMG_MAX_SIDE || w > CZ_IMG_MAX_SIDE)
    return cz_err_new(CZ_EXIT_USAGE, "model.input_shape: bad size %lldx%lld", (long long)h,
                      (long long)w);
  tf->c = (int)c;
  tf->h = (int)h;
  tf->w = (int)w;
  const cz_cfg_preprocessing *p = &cfg->preprocessing;
  /* Defaults as the schema's: ImageNet statistics. */
  static const double def_mean[3] = {0.485, 0.456, 0.406}, def_std[3] = {0.229, 0.224, 0.225};
  for (int i = 0; i < tf->c; i++) {
    size_t nm = p->mean.set ? p->mean.n : 3, ns = p->std.set ? p->std.n : 3;
    if (nm != 1 && nm != (size_t)c)
      return cz_err_new(CZ_EXIT_USAGE, "preprocessing.mean: %zu values for %d channels", nm, tf->c);
    if (ns != 1 && ns != (size_t)c)
      return cz_err_new(CZ_EXIT_USAGE, "preprocessing.std: %zu values for %d channels", ns, tf->c);
    const double *mv = p->mean.set ? p->mean.v : def_mean, *sv = p->std.set ? p->std.v : def_std;
    double m = mv[nm == 1 ? 0 : i], s = sv[ns == 1 ? 0 : i];
    if (!(s > 0.0) || !isfinite(s) || !isfinite(m))
      return cz_err_new(CZ_EXIT_USAGE, "preprocessing.std/mean: channel %d has mean %g, std %g", i, m, s);
    tf->mean[i] = (float)m;
    tf->std[i] = (float)s;
  }
  tf->mode = use_resizing ? CZ_TF_CONFIG : CZ_TF_TIMM;
  tf->interp = CZ_INTERP_BICUBIC;
  tf->aspect = CZ_ASPECT_CROP;
  if (use_resizing) {
    tf->interp = p->interpolation.set ? (cz_interp)p->interpolation.v : CZ_INTERP_BILINEAR;
    tf->aspect = p->aspect_ratio.set ? (cz_aspect)p->aspect_ratio.v : CZ_ASPECT_FIT;
  }
  return NULL;
}

/* round(num / den) for positive operands, halves up; at least 1. */
static int ratio_round(int64_t num, int64_t den) {
  int64_t v = (2 * num + den) / (2 * den);
  return v < 1 ? 1 : (int)v;
}

static void plan_timm(const cz_tf_eval *tf, int iw, int ih, cz_tf_plan *pl) {
  int sw = (int)floor(tf->w / CROP_PCT), sh = (int)floor(tf->h / CROP_PCT);
  if (sw == sh) {
    /* timm passes one size when both are equal: torchvision's Resize then
     * sets the short side to it and the long side to int(size * long /
     * short) (a true division, truncated). */
    if (iw <= ih) {
      pl->rw = sw;
      pl->rh = (int)((double)((int64_t)sw * ih) / iw);
    } else {
      pl->rh = sh;
      pl->rw = (int)((double)((int64_t)sh * iw) / ih);
    }
  } else {
    /* A non-square input_shape: timm resizes to the exact (h, w). */
    pl->rw = sw;
    pl->rh = sh;
  }
  pl->x0 = cz_tf_center_offset(pl->rw, tf->w);
  pl->y0 = cz_tf_center_offset(pl->rh, tf->h);
}

static void plan_config(const cz_tf_eval *tf, int iw, int ih, cz_tf_plan *pl) {
  int W = tf->w, H = tf->h;
  /* wider: the target is relatively wider than the image (W/H >= iw/ih). */
  bool wider = (int64_t)W * ih >= (int64_t)H * iw;
  switch (tf->aspect) {
  case CZ_ASPECT_CROP: /* cover the target, then crop the overflow */
    if (wider) {
      pl->rw = W;
      pl->rh = ratio_round((int64_t)ih * W, iw);
      if (pl->rh < H) pl->rh = H;
    } else {
      pl->rh = H;
      pl->rw = ratio_round((int64_t)iw * H, ih);
      if (pl->rw < W) pl->rw = W;
    }
    break;
  case CZ_ASPECT_PADDING: /* fit inside the target, then pad */
    if (wider) {
      pl->rh = H;
      pl->rw = ratio_round((int64_t)iw * H, ih);
      if (pl->rw > W) pl->rw = W;
    } else {
      pl->rw = W;
      pl->rh = ratio_round((int64_t)ih * W, iw);
      if (pl->rh > H) pl->rh = H;
    }
    break;
  default: /* fit: distort to the exact size */
    pl->rw = W;
    pl->rh = H;
    break;
  }
  pl->x0 = cz_tf_center_offset(pl->rw, W);
  pl->y0 = cz_tf_center_offset(pl->rh, H);
}

cz_err *cz_tf_eval_plan(const cz_tf_eval *tf, int iw, int ih, cz_tf_plan *plan) {
  *plan = (cz_tf_plan){0};
  if (iw <= 0 || ih <= 0) return cz_err_new(CZ_EXIT_RUNTIME, "eval transform: empty image");
  if (tf->w <= 0 || tf->h <= 0)
    return cz_err_new(CZ_EXIT_RUNTIME, "eval transform: bad target size %dx%d", tf->w, tf->h);
  if (tf->mode == CZ_TF_TIMM)
    plan_timm(tf, iw, ih, plan);
  else
    plan_config(tf, iw, ih, plan);
  if (plan->rw <= 0 || plan->rh <= 0 || plan->rw > CZ_IMG_MAX_SIDE || plan->rh > CZ_IMG_MAX_SIDE)
    return cz_err_new(CZ_EXIT_RUNTIME, "eval transform: a %dx%d image resizes to %dx%d", iw, ih,
                      plan->rw, plan->rh);
  return NULL;
}

cz_err *cz_tf_eval_apply(const cz_tf_eval *tf, const cz_image *img, float *out) {
  if (!img || !img->px) return cz_err_new(CZ_EXIT_RUNTIME, "eval transform: empty image");
  if (img->c != tf->c)
    return cz_err_new(CZ_EXIT_RUNTIME, "eval transform: image has %d channels, the model takes %d",
                      img->c, tf->c);
  cz_tf_plan pl;
  cz_err *err = cz_tf_eval_plan(tf, img->w, img->h, &pl);
  if (err) return err;
  cz_image r;
  err = cz_tf_resize(img, pl.rw, pl.rh, tf->interp, &r);
  if (err) return err;
  int c = tf->c;
  for (int y = 0; y < tf->h; y++) {
    int sy = y + pl.y0;
    for (int x = 0; x < tf->w; x++) {
      int sx = x + pl.x0;
      bool in = sy >= 0 && sy < r.h && sx >= 0 && sx < r.w;
      const uint8_t *p = in ? r.px + ((size_t)sy * (size_t)r.w + (size_t)sx) * (size_t)c : NULL;
      float *o = out + ((size_t)y * (size_t)tf->w + (size_t)x) * (size_t)c;
      for (int ch = 0; ch < c; ch++) {
        /* float32 steps in torch's order: ToTensor's x / 255, then
         * Normalize's (x - mean) / std; padding is black (0). */
        float v = (in ? (float)p[ch] : 0.0f) / 255.0f;
        o[ch] = (v - tf->mean[ch]) / tf->std[ch];
      }
    }
  }
  cz_image_free(&r);
  return NULL;
}
