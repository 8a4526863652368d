/* Loading one sample of a split for the batch loader. The decode floor
 * trades PIL-exactness for speed: see cz_ds_eval_min_side. */
#include <stdlib.h>
#include <string.h>

#include "data/ds_sample.h"

cz_err *cz_ds_eval_transform(const void *tf, const cz_image *img, cz_rng *rng, float *out) {
  (void)rng; /* the eval transform is deterministic */
  return cz_tf_eval_apply(tf, img, out);
}

int cz_ds_eval_min_side(const cz_tf_eval *tf) {
  /* The plan's resize target is not known before decoding (it depends on
   * the image size), so ask for the largest side it can scale to without
   * upsampling: DCT scaling keeps the aspect ratio, so a decode whose both
   * sides reach this still covers every resize dimension the plan picks.
   * The cost: pixels differ slightly from a full-size decode (PIL's). */
  int h = tf->h, w = tf->w;
  if (tf->mode == CZ_TF_TIMM) {
    /* floor(x / 0.875) in integers: 8x / 7. */
    h = (int)((int64_t)h * 8 / 7);
    w = (int)((int64_t)w * 8 / 7);
  }
  return h > w ? h : w;
}

cz_ds_sample_ctx cz_ds_sample_eval(const cz_ds_split *split, const cz_tf_eval *tf) {
  return (cz_ds_sample_ctx){.split = split, .channels = tf->c,
                            .min_side = cz_ds_eval_min_side(tf),
                            .transform = cz_ds_eval_transform, .tf = tf};
}

cz_err *cz_ds_train_transform(const void *tf, const cz_image *img, cz_rng *rng, float *out) {
  return cz_tf_train_apply(tf, img, rng, out);
}

cz_ds_sample_ctx cz_ds_sample_train(const cz_ds_split *split, const cz_tf_train *tf) {
  /* Full size on purpose. A floor like max(out side) / sqrt(min scale)
   * would keep the smallest crop from being upsampled more than in a
   * full decode, but the crop box is drawn in decoded coordinates: a
   * scaled decode changes the box (rounding) and the resampled pixels,
   * so a run would no longer match torchvision's sampling of the same
   * image. Typical ImageNet images (~500x375) gain little from DCT scaling
   * towards a 224 crop anyway; correctness first. */
  return (cz_ds_sample_ctx){.split = split, .channels = tf->eval.c, .min_side = 0,
                            .transform = cz_ds_train_transform, .tf = tf};
}

/* An IDX image as a cz_image: a view when one channel is wanted (the
 * loader only reads it), else a gray-replicated copy (*owned set). */
static cz_err *idx_image(const cz_ds_images *im, uint32_t index, int channels, cz_image *img,
                         uint8_t **owned) {
  *owned = NULL;
  if (!im || index >= im->n)
    return cz_err_new(CZ_EXIT_RUNTIME, "IDX image %u: out of range", index);
  size_t hw = (size_t)im->h * im->w;
  uint8_t *src = im->pixels + (size_t)index * hw;
  *img = (cz_image){.w = (int)im->w, .h = (int)im->h, .c = channels, .px = src};
  if (channels == 1) return NULL;
  uint8_t *p = malloc(hw * (size_t)channels);
  if (!p) return cz_err_new(CZ_EXIT_RUNTIME, "IDX image %u: out of memory", index);
  for (size_t i = 0; i < hw; i++) {
    for (int c = 0; c < channels; c++) p[i * (size_t)channels + (size_t)c] = src[i];
    if (channels == 4) p[i * 4 + 3] = 255; /* opaque, as PIL's L -> RGBA */
  }
  img->px = *owned = p;
  return NULL;
}

cz_err *cz_ds_sample_load(void *ctx, int64_t sample_index, uint64_t epoch, cz_rng *rng,
                          float *out_hwc, int64_t *label) {
  (void)epoch; /* rng is already keyed by the epoch */
  const cz_ds_sample_ctx *x = ctx;
  if (sample_index < 0 || (size_t)sample_index >= x->split->n)
    return cz_err_new(CZ_EXIT_RUNTIME, "sample %lld: out of range", (long long)sample_index);
  const cz_ds_sample *s = &x->split->s[sample_index];
  cz_err *err;
  if (s->path) {
    cz_image img;
    err = cz_image_load(s->path, x->channels, x->min_side, x->min_side, &img);
    if (!err) {
      err = x->transform(x->tf, &img, rng, out_hwc);
      cz_image_free(&img);
    }
    /* cz_image_load names the file already; the transform does not. */
    if (err && !strstr(cz_err_msg(err), s->path)) err = cz_err_prefix(err, "%s", s->path);
  } else {
    cz_image img;
    uint8_t *owned;
    err = idx_image(x->split->images, s->index, x->channels, &img, &owned);
    if (!err) {
      err = cz_err_prefix(x->transform(x->tf, &img, rng, out_hwc), "IDX image %u", s->index);
      free(owned);
    }
  }
  if (!err) *label = s->label;
  return err;
}
