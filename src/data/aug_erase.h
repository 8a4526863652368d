/* RandomErasing on normalized float images, following timm's
 * random_erasing.py semantics (box sampling, fill modes, clean split). */
#ifndef CZ_DATA_AUG_ERASE_H
#define CZ_DATA_AUG_ERASE_H

#include <stdint.h>

#include "util/err.h"
#include "util/rng.h"

typedef enum {
  CZ_ERASE_CONST = 0, /* the box is 0 (the dataset mean, after normalizing) */
  CZ_ERASE_RAND,      /* one normal(0,1) value per channel for the box */
  CZ_ERASE_PIXEL,     /* a fresh normal(0,1) value per pixel and channel */
} cz_erase_mode;

/* A rectangle of rows [top, top+h) and columns [left, left+w). */
typedef struct {
  int top, left, h, w;
} cz_aug_box;

typedef struct {
  double prob;                 /* reprob: chance that an image is erased */
  double min_area, max_area;   /* box area as a fraction of the image */
  double min_aspect, max_aspect; /* h/w range; sampled uniformly in log */
  cz_erase_mode mode;          /* remode */
  int count;                   /* recount: > 1 draws 1..count boxes */
  int num_splits;              /* > 1: the first n/num_splits of a batch
                                  stay clean (resplit, AugMix splits) */
} cz_aug_erase_opts;

/* timm's defaults: prob 0.5, area [0.02, 1/3], aspect [0.3, 1/0.3], const,
 * count 1, no splits. */
cz_aug_erase_opts cz_aug_erase_opts_default(void);

/* "const" (or ""), "rand" or "pixel", as timm's remode. */
cz_err *cz_aug_erase_parse_mode(const char *s, cz_erase_mode *out);

/* Rejects probabilities outside [0,1], empty or inverted ranges, count < 1. */
cz_err *cz_aug_erase_check(const cz_aug_erase_opts *o);

/* Erases one HWC image in place with draws from rng only. Returns the
 * number of boxes filled; the first max_boxes of them go to boxes (may be
 * NULL), for tests and logging. */
int cz_aug_erase_image(const cz_aug_erase_opts *o, cz_rng *rng, float *hwc,
                       int h, int w, int c, cz_aug_box *boxes, int max_boxes);

/* Erases each image of an NHWC batch in turn from one stream, skipping the
 * clean split (indices < n / num_splits when num_splits > 1). */
void cz_aug_erase_batch(const cz_aug_erase_opts *o, cz_rng *rng, float *x,
                        int64_t n, int h, int w, int c);

#endif
