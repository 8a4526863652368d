/* The training transform of one image: timm's transforms_imagenet_train
 * (RandomResizedCropAndInterpolation, flips, ColorJitter, ToTensor,
 * Normalize) with torchvision's sampling rules and our Philox rng. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/tf_train.h"

static cz_err *range_of(const cz_cfloats *v, const char *key, double lo_def, double hi_def,
                        double out[2]) {
  out[0] = lo_def;
  out[1] = hi_def;
  if (!v->set) return NULL;
  if (v->n != 2 || !(v->v[0] > 0.0) || !(v->v[1] >= v->v[0]) || !isfinite(v->v[1]))
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.%s: expected [lo, hi] with 0 < lo <= hi",
                      key);
  out[0] = v->v[0];
  out[1] = v->v[1];
  return NULL;
}

static cz_err *prob_of(const cz_cfloat *v, const char *key, double def, double *out) {
  *out = v->set ? v->v : def;
  if (!(*out >= 0.0 && *out <= 1.0))
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.%s: %g is not a probability", key, *out);
  return NULL;
}

static cz_err *interp_of(const cz_cstr *s, cz_tf_train *tf) {
  const char *v = s->set && s->v ? s->v : "random";
  tf->n_interp = 1;
  if (!strcmp(v, "random")) {
    tf->n_interp = 2; /* timm's choice set for 'random' */
    tf->interp[0] = CZ_INTERP_BILINEAR;
    tf->interp[1] = CZ_INTERP_BICUBIC;
  } else if (!strcmp(v, "bilinear")) {
    tf->interp[0] = CZ_INTERP_BILINEAR;
  } else if (!strcmp(v, "bicubic")) {
    tf->interp[0] = CZ_INTERP_BICUBIC;
  } else if (!strcmp(v, "nearest")) {
    tf->interp[0] = CZ_INTERP_NEAREST;
  } else if (!strcmp(v, "box") || !strcmp(v, "area")) {
    tf->interp[0] = CZ_INTERP_AREA;
  } else {
    return cz_err_new(CZ_EXIT_USAGE,
                      "data_augmentation.train_interpolation: '%s' is not supported (random, "
                      "bilinear, bicubic, nearest, box)", v);
  }
  return NULL;
}

static cz_err *jitter_of(const cz_cfloats *v, cz_tf_train *tf) {
  size_t n = v->set ? v->n : 1;
  if (n != 1 && n != 3 && n != 4)
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.color_jitter: 1, 3 or 4 values, not %zu", n);
  for (size_t i = 0; i < n; i++) {
    double s = v->set ? v->v[i] : 0.4;
    if (!(s >= 0.0) || !isfinite(s))
      return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.color_jitter: %g is negative", s);
    /* torchvision ColorJitter: hue must lie in [0, 0.5]. */
    if (i == CZ_JIT_HUE && s > 0.5)
      return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.color_jitter: hue %g is outside "
                                       "[0, 0.5]", s);
    tf->jitter[i] = s;
  }
  if (n == 1) tf->jitter[1] = tf->jitter[2] = tf->jitter[0]; /* timm: one value for all three */
  return NULL;
}

cz_err *cz_tf_train_init(const cz_config *cfg, cz_tf_train *tf) {
  *tf = (cz_tf_train){0};
  cz_err *err = cz_tf_eval_init(cfg, false, &tf->eval);
  if (err) return err;
  const cz_cfg_augmentation *a = &cfg->data_augmentation;
  tf->no_aug = a->no_aug.set && a->no_aug.v;
  if ((err = range_of(&a->scale, "scale", 0.08, 1.0, tf->scale))) return err;
  if (tf->scale[1] > 1.0)
    return cz_err_new(CZ_EXIT_USAGE, "data_augmentation.scale: the upper bound exceeds 1");
  if ((err = range_of(&a->ratio, "ratio", 3.0 / 4.0, 4.0 / 3.0, tf->ratio))) return err;
  if ((err = prob_of(&a->hflip, "hflip", 0.5, &tf->hflip))) return err;
  if ((err = prob_of(&a->vflip, "vflip", 0.0, &tf->vflip))) return err;
  if ((err = interp_of(&a->train_interpolation, tf))) return err;
  if ((err = jitter_of(&a->color_jitter, tf))) return err;
  /* timm: aa after the flips; ColorJitter dropped unless '3a' is in it. */
  const cz_cstr *ti = &a->train_interpolation;
  if ((err = cz_aa_parse(a->aa.set ? a->aa.v : NULL, tf->eval.h, tf->eval.w, tf->eval.c,
                         tf->eval.mean, ti->set ? ti->v : NULL, &tf->aa)))
    return err;
  if (tf->aa.kind != CZ_AA_OFF && !tf->aa.color_jitter)
    for (int i = 0; i < CZ_JIT_N; i++) tf->jitter[i] = 0.0;
  return NULL;
}

static double uniform(cz_rng *rng, double lo, double hi) {
  return lo + (hi - lo) * cz_rng_uniform(rng);
}

/* Python's int(round(x)): halves to even, as rint in the default mode. */
static int64_t round_even(double x) { return (int64_t)nearbyint(x); }

void cz_tf_rrc_params(int iw, int ih, const double scale[2], const double ratio[2], cz_rng *rng,
                      int *x, int *y, int *w, int *h, bool *fallback) {
  double area = (double)iw * (double)ih;
  double lr0 = log(ratio[0]), lr1 = log(ratio[1]);
  for (int attempt = 0; attempt < 10; attempt++) {
    double target = area * uniform(rng, scale[0], scale[1]);
    double ar = exp(uniform(rng, lr0, lr1));
    int64_t cw = round_even(sqrt(target * ar)), ch = round_even(sqrt(target / ar));
    if (cw > 0 && cw <= iw && ch > 0 && ch <= ih) {
      *y = (int)cz_rng_below(rng, (uint32_t)(ih - ch) + 1u);
      *x = (int)cz_rng_below(rng, (uint32_t)(iw - cw) + 1u);
      *w = (int)cw;
      *h = (int)ch;
      *fallback = false;
      return;
    }
  }
  /* Centre crop, as wide as the clamped ratio allows. */
  double in_ratio = (double)iw / (double)ih;
  int cw = iw, ch = ih;
  if (in_ratio < ratio[0]) {
    ch = (int)round_even(cw / ratio[0]);
  } else if (in_ratio > ratio[1]) {
    cw = (int)round_even(ch * ratio[1]);
  }
  if (cw < 1) cw = 1; /* only for degenerate ratio bounds */
  if (ch < 1) ch = 1;
  *w = cw;
  *h = ch;
  *x = (iw - cw) / 2;
  *y = (ih - ch) / 2;
  *fallback = true;
}

void cz_tf_train_sample_aug(const cz_tf_train *tf, cz_rng *rng, cz_tf_train_params *p) {
  if (tf->aa.kind != CZ_AA_OFF) cz_aa_sample(&tf->aa, rng, &p->aa);
  /* torchvision draws randperm(4) whatever is enabled; a disabled op is
   * skipped, so with hue off the three others are a uniform order, which
   * a shuffle of three draws (as before hue existed) as well. */
  int nops = tf->jitter[CZ_JIT_HUE] > 0.0 ? CZ_JIT_N : CZ_JIT_HUE;
  uint32_t perm[CZ_JIT_N] = {0, 1, 2, 3};
  cz_rng_shuffle_u32(rng, perm, (size_t)nops);
  for (int i = 0; i < CZ_JIT_N; i++) {
    p->order[i] = (int)perm[i];
    double s = tf->jitter[i];
    if (i == CZ_JIT_HUE)
      p->factor[i] = s > 0.0 ? (float)uniform(rng, -s, s) : 0.0f;
    else
      p->factor[i] = s > 0.0 ? (float)uniform(rng, fmax(0.0, 1.0 - s), 1.0 + s) : 1.0f;
  }
}

void cz_tf_train_sample(const cz_tf_train *tf, int iw, int ih, cz_rng *rng,
                        cz_tf_train_params *p) {
  *p = (cz_tf_train_params){0};
  p->interp = tf->interp[tf->n_interp > 1 ? cz_rng_below(rng, (uint32_t)tf->n_interp) : 0];
  cz_tf_rrc_params(iw, ih, tf->scale, tf->ratio, rng, &p->x, &p->y, &p->w, &p->h, &p->fallback);
  /* A flip with p = 0 draws nothing, as timm then leaves the op out. */
  p->hflip = tf->hflip > 0.0 && cz_rng_uniform(rng) < tf->hflip;
  p->vflip = tf->vflip > 0.0 && cz_rng_uniform(rng) < tf->vflip;
  cz_tf_train_sample_aug(tf, rng, p);
}

static void flip_in_place(cz_image *r, bool hflip, bool vflip) {
  int c = r->c;
  size_t row = (size_t)r->w * (size_t)c;
  if (hflip)
    for (int y = 0; y < r->h; y++) {
      uint8_t *a = r->px + (size_t)y * row, *b = a + row - (size_t)c;
      for (; a < b; a += c, b -= c)
        for (int ch = 0; ch < c; ch++) {
          uint8_t t = a[ch];
          a[ch] = b[ch];
          b[ch] = t;
        }
    }
  if (vflip)
    for (int y = 0; y < r->h / 2; y++) {
      uint8_t *a = r->px + (size_t)y * row, *b = r->px + (size_t)(r->h - 1 - y) * row;
      for (size_t i = 0; i < row; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
      }
    }
}

cz_err *cz_tf_train_base(const cz_tf_train *tf, const cz_image *img,
                         const cz_tf_train_params *p, cz_image *out) {
  const cz_tf_eval *e = &tf->eval;
  *out = (cz_image){0};
  if (!img || !img->px) return cz_err_new(CZ_EXIT_RUNTIME, "train transform: empty image");
  if (img->c != e->c)
    return cz_err_new(CZ_EXIT_RUNTIME, "train transform: image has %d channels, the model takes %d",
                      img->c, e->c);
  if (p->w < 1 || p->h < 1 || p->x < 0 || p->y < 0 || p->x + p->w > img->w ||
      p->y + p->h > img->h)
    return cz_err_new(CZ_EXIT_RUNTIME, "train transform: crop %dx%d at (%d, %d) outside %dx%d",
                      p->w, p->h, p->x, p->y, img->w, img->h);
  int c = e->c;
  size_t row = (size_t)p->w * (size_t)c;
  cz_image crop = {.w = p->w, .h = p->h, .c = c, .px = malloc(row * (size_t)p->h)};
  if (!crop.px) return cz_err_new(CZ_EXIT_RUNTIME, "train transform: out of memory");
  for (int y = 0; y < p->h; y++)
    memcpy(crop.px + (size_t)y * row,
           img->px + (((size_t)(p->y + y) * (size_t)img->w) + (size_t)p->x) * (size_t)c, row);
  cz_err *err = cz_tf_resize(&crop, e->w, e->h, p->interp, out);
  cz_image_free(&crop);
  if (err) return err;
  flip_in_place(out, p->hflip, p->vflip);
  return NULL;
}

/* The augmentation stage (timm's secondary transforms): auto-augment,
 * then the colour ops, as timm orders them. The image is already flipped
 * (the base stage flips in place), which auto-augment's geometric ops,
 * not being flip-invariant, need. */
cz_err *cz_tf_train_augment(const cz_tf_train *tf, const cz_tf_train_params *p, cz_image *img) {
  if (p->aa.kind != CZ_AA_OFF) {
    cz_err *err = cz_aa_apply(&tf->aa, &p->aa, img);
    if (err) return err;
  }
  unsigned done = 0;
  for (int i = 0; i < CZ_JIT_N; i++) {
    int op = p->order[i];
    if (op < 0 || op >= CZ_JIT_N)
      return cz_err_new(CZ_EXIT_RUNTIME, "train transform: bad colour op %d", op);
    if (done & (1u << op)) continue;
    done |= 1u << op;
    float identity = op == CZ_JIT_HUE ? 0.0f : 1.0f;
    if (p->factor[op] != identity) cz_tf_jitter(img, op, p->factor[op]);
  }
  return NULL;
}

void cz_tf_train_normalize(const cz_tf_train *tf, const cz_image *img, float *out) {
  const cz_tf_eval *e = &tf->eval;
  int c = e->c;
  /* ToTensor + Normalize is a function of (channel, value): a table of
   * the same float expression gives the same bits without a division per
   * element. */
  float norm[4][256];
  for (int ch = 0; ch < c; ch++)
    for (int v = 0; v < 256; v++) norm[ch][v] = ((float)v / 255.0f - e->mean[ch]) / e->std[ch];
  size_t n = (size_t)img->w * (size_t)img->h;
  for (size_t i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++)
      out[i * (size_t)c + (size_t)ch] = norm[ch][img->px[i * (size_t)c + (size_t)ch]];
}

cz_err *cz_tf_train_apply_params(const cz_tf_train *tf, const cz_image *img,
                                 const cz_tf_train_params *p, float *out) {
  cz_image r;
  cz_err *err = cz_tf_train_base(tf, img, p, &r);
  if (!err) err = cz_tf_train_augment(tf, p, &r);
  if (!err) cz_tf_train_normalize(tf, &r, out);
  cz_image_free(&r);
  return err;
}

/* timm's transforms_noaug_train: Resize(img_size) (the short side when
 * square, else the exact size) with the train interpolation ('random'
 * becomes bilinear), CenterCrop(img_size); no crop_pct, unlike eval. */
static cz_err *noaug_apply(const cz_tf_train *tf, const cz_image *img, float *out) {
  const cz_tf_eval *e = &tf->eval;
  if (!img || !img->px || img->w < 1 || img->h < 1)
    return cz_err_new(CZ_EXIT_RUNTIME, "train transform: empty image");
  if (img->c != e->c)
    return cz_err_new(CZ_EXIT_RUNTIME, "train transform: image has %d channels, the model takes %d",
                      img->c, e->c);
  int rw = e->w, rh = e->h;
  if (e->w == e->h) {
    if (img->w <= img->h)
      rh = (int)((double)((int64_t)e->w * img->h) / img->w);
    else
      rw = (int)((double)((int64_t)e->h * img->w) / img->h);
  }
  if (rw > CZ_IMG_MAX_SIDE || rh > CZ_IMG_MAX_SIDE)
    return cz_err_new(CZ_EXIT_RUNTIME, "train transform: a %dx%d image resizes to %dx%d", img->w,
                      img->h, rw, rh);
  cz_image r;
  cz_err *err = cz_tf_resize(img, rw, rh, tf->n_interp > 1 ? CZ_INTERP_BILINEAR : tf->interp[0], &r);
  if (err) return err;
  int x0 = cz_tf_center_offset(rw, e->w), y0 = cz_tf_center_offset(rh, e->h), c = e->c;
  for (int y = 0; y < e->h; y++)
    for (int x = 0; x < e->w; x++) {
      const uint8_t *s = r.px + ((size_t)(y + y0) * (size_t)rw + (size_t)(x + x0)) * (size_t)c;
      float *o = out + ((size_t)y * (size_t)e->w + (size_t)x) * (size_t)c;
      for (int ch = 0; ch < c; ch++) o[ch] = ((float)s[ch] / 255.0f - e->mean[ch]) / e->std[ch];
    }
  cz_image_free(&r);
  return NULL;
}

cz_err *cz_tf_train_apply(const cz_tf_train *tf, const cz_image *img, cz_rng *rng, float *out) {
  if (tf->no_aug) return noaug_apply(tf, img, out);
  if (!img || !img->px || img->w < 1 || img->h < 1)
    return cz_err_new(CZ_EXIT_RUNTIME, "train transform: empty image");
  cz_tf_train_params p;
  cz_tf_train_sample(tf, img->w, img->h, rng, &p);
  return cz_tf_train_apply_params(tf, img, &p, out);
}

cz_err *cz_tf_train_apply_splits(const cz_tf_train *tf, const cz_image *img, int splits,
                                 cz_rng *rng, float *out) {
  const cz_tf_eval *e = &tf->eval;
  size_t per = (size_t)e->h * (size_t)e->w * (size_t)e->c;
  if (splits < 1) return cz_err_new(CZ_EXIT_RUNTIME, "train transform: %d splits", splits);
  if (tf->no_aug) {
    cz_err *err = noaug_apply(tf, img, out);
    for (int k = 1; k < splits && !err; k++) memcpy(out + (size_t)k * per, out, per * sizeof *out);
    return err;
  }
  if (!img || !img->px || img->w < 1 || img->h < 1)
    return cz_err_new(CZ_EXIT_RUNTIME, "train transform: empty image");
  cz_tf_train_params p;
  cz_tf_train_sample(tf, img->w, img->h, rng, &p);
  cz_image base;
  cz_err *err = cz_tf_train_base(tf, img, &p, &base);
  if (err) return err;
  if (splits == 1) {
    /* The single-split transform: base + its augmentation, as apply. */
    err = cz_tf_train_augment(tf, &p, &base);
    if (!err) cz_tf_train_normalize(tf, &base, out);
    cz_image_free(&base);
    return err;
  }
  /* AugMixDataset: split 0 is the base only (the draw above for the
   * augmentation stage is unused, keeping the base stream layout). */
  cz_tf_train_normalize(tf, &base, out);
  size_t bytes = (size_t)base.w * (size_t)base.h * (size_t)base.c;
  cz_image aug = {.w = base.w, .h = base.h, .c = base.c, .px = malloc(bytes)};
  if (!aug.px) err = cz_err_new(CZ_EXIT_RUNTIME, "train transform: out of memory");
  for (int k = 1; k < splits && !err; k++) {
    memcpy(aug.px, base.px, bytes);
    cz_tf_train_sample_aug(tf, rng, &p);
    err = cz_tf_train_augment(tf, &p, &aug);
    if (!err) cz_tf_train_normalize(tf, &aug, out + (size_t)k * per);
  }
  cz_image_free(&aug);
  cz_image_free(&base);
  return err;
}
