/* RandomErasing, following timm's random_erasing.py: per image, with
 * probability `prob`, 1..count boxes, each from up to 10 tries. */
#include "data/aug_erase.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Tries per box before giving up on it, as timm. */
enum { ERASE_TRIES = 10 };

cz_aug_erase_opts cz_aug_erase_opts_default(void) {
  return (cz_aug_erase_opts){.prob = 0.5, .min_area = 0.02, .max_area = 1.0 / 3.0,
                             .min_aspect = 0.3, .max_aspect = 1.0 / 0.3,
                             .mode = CZ_ERASE_CONST, .count = 1, .num_splits = 0};
}

cz_err *cz_aug_erase_parse_mode(const char *s, cz_erase_mode *out) {
  if (!s || !*s || strcmp(s, "const") == 0) *out = CZ_ERASE_CONST;
  else if (strcmp(s, "rand") == 0) *out = CZ_ERASE_RAND;
  else if (strcmp(s, "pixel") == 0) *out = CZ_ERASE_PIXEL;
  else return cz_err_new(CZ_EXIT_USAGE, "remode '%s': expected const, rand or pixel", s);
  return NULL;
}

cz_err *cz_aug_erase_check(const cz_aug_erase_opts *o) {
  if (!(o->prob >= 0.0 && o->prob <= 1.0))
    return cz_err_new(CZ_EXIT_USAGE, "reprob %g: must be in [0, 1]", o->prob);
  if (!(o->min_area > 0.0 && o->min_area <= o->max_area && o->max_area <= 1.0))
    return cz_err_new(CZ_EXIT_USAGE, "erase area [%g, %g]: need 0 < min <= max <= 1",
                      o->min_area, o->max_area);
  if (!(o->min_aspect > 0.0 && o->min_aspect <= o->max_aspect))
    return cz_err_new(CZ_EXIT_USAGE, "erase aspect [%g, %g]: need 0 < min <= max",
                      o->min_aspect, o->max_aspect);
  if (o->count < 1) return cz_err_new(CZ_EXIT_USAGE, "recount %d: must be >= 1", o->count);
  if (o->num_splits < 0)
    return cz_err_new(CZ_EXIT_USAGE, "erase num_splits %d: must be >= 0", o->num_splits);
  return NULL;
}

/* Python's randint(lo, hi): both ends included. */
static int randint_incl(cz_rng *rng, int lo, int hi) {
  return lo + (int)cz_rng_below(rng, (uint32_t)(hi - lo + 1));
}

static void fill_box(const cz_aug_erase_opts *o, cz_rng *rng, float *hwc, int w, int c,
                     cz_aug_box b) {
  if (b.h == 0 || b.w == 0) return; /* tiny images can round a side to 0 */
  size_t cc = (size_t)c;
  float *first = hwc + ((size_t)b.top * (size_t)w + (size_t)b.left) * cc;
  /* `rand` draws one colour for the box: it is written into the box's first
   * pixel and copied from there, so any channel count works without a
   * scratch buffer. */
  if (o->mode == CZ_ERASE_RAND)
    for (size_t k = 0; k < cc; k++) first[k] = (float)cz_rng_normal(rng);
  for (int y = b.top; y < b.top + b.h; y++) {
    float *row = hwc + ((size_t)y * (size_t)w + (size_t)b.left) * cc;
    for (size_t i = 0; i < (size_t)b.w * cc; i++) {
      if (o->mode == CZ_ERASE_PIXEL) row[i] = (float)cz_rng_normal(rng);
      else if (o->mode == CZ_ERASE_RAND) row[i] = first[i % cc];
      else row[i] = 0.0f;
    }
  }
}

int cz_aug_erase_image(const cz_aug_erase_opts *o, cz_rng *rng, float *hwc,
                       int h, int w, int c, cz_aug_box *boxes, int max_boxes) {
  /* timm skips when random() > prob, i.e. erases when u <= prob. */
  if (cz_rng_uniform(rng) > o->prob) return 0;
  double area = (double)h * (double)w;
  int count = o->count > 1 ? randint_incl(rng, 1, o->count) : o->count;
  double la = log(o->min_aspect), lb = log(o->max_aspect);
  int done = 0;
  for (int k = 0; k < count; k++) {
    for (int t = 0; t < ERASE_TRIES; t++) {
      double target = (o->min_area + (o->max_area - o->min_area) * cz_rng_uniform(rng)) *
                      area / count;
      double ar = exp(la + (lb - la) * cz_rng_uniform(rng));
      /* nearbyint rounds half to even under the default mode, like
       * Python's round(). */
      int bh = (int)nearbyint(sqrt(target * ar));
      int bw = (int)nearbyint(sqrt(target / ar));
      if (bw < w && bh < h) {
        cz_aug_box b = {.top = randint_incl(rng, 0, h - bh), .left = 0, .h = bh, .w = bw};
        b.left = randint_incl(rng, 0, w - bw);
        fill_box(o, rng, hwc, w, c, b);
        if (boxes && done < max_boxes) boxes[done] = b;
        done++;
        break;
      }
    }
  }
  return done;
}

void cz_aug_erase_batch(const cz_aug_erase_opts *o, cz_rng *rng, float *x,
                        int64_t n, int h, int w, int c) {
  int64_t start = o->num_splits > 1 ? n / o->num_splits : 0;
  size_t img = (size_t)h * (size_t)w * (size_t)c;
  for (int64_t i = start; i < n; i++)
    cz_aug_erase_image(o, rng, x + (size_t)i * img, h, w, c, NULL, 0);
}
