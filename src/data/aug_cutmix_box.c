/* CutMix boxes as timm's rand_bbox / rand_bbox_minmax, with the lam
 * correction by the clipped box area (timm's cutmix_bbox_and_lam). */
#include "data/aug_mixup.h"

#include <math.h>

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

cz_err *cz_aug_cutmix_box(const cz_aug_mix_opts *o, cz_rng *rng, int h, int w,
                          double lam, cz_aug_box *box, double *lam_out) {
  if (o->has_minmax) {
    /* Side lengths uniform in [int(h*min), int(h*max)), numpy's exclusive
     * randint; the box then lies fully inside the image. */
    int lo_h = (int)(h * o->minmax[0]), hi_h = (int)(h * o->minmax[1]);
    int lo_w = (int)(w * o->minmax[0]), hi_w = (int)(w * o->minmax[1]);
    if (hi_h <= lo_h || hi_w <= lo_w)
      return cz_err_new(CZ_EXIT_USAGE,
                        "cutmix_minmax [%g, %g] leaves no box size for a %dx%d image",
                        o->minmax[0], o->minmax[1], h, w);
    int ch = lo_h + (int)cz_rng_below(rng, (uint32_t)(hi_h - lo_h));
    int cw = lo_w + (int)cz_rng_below(rng, (uint32_t)(hi_w - lo_w));
    box->top = (int)cz_rng_below(rng, (uint32_t)(h - ch));
    box->left = (int)cz_rng_below(rng, (uint32_t)(w - cw));
    box->h = ch;
    box->w = cw;
  } else {
    /* Sides sqrt(1-lam) of the image around a uniform centre, clipped at the
     * borders: the clipping is why lam needs correcting. */
    double ratio = sqrt(1.0 - lam);
    int ch = (int)(h * ratio), cw = (int)(w * ratio);
    int cy = (int)cz_rng_below(rng, (uint32_t)h), cx = (int)cz_rng_below(rng, (uint32_t)w);
    int y0 = clampi(cy - ch / 2, 0, h), y1 = clampi(cy + ch / 2, 0, h);
    int x0 = clampi(cx - cw / 2, 0, w), x1 = clampi(cx + cw / 2, 0, w);
    *box = (cz_aug_box){.top = y0, .left = x0, .h = y1 - y0, .w = x1 - x0};
  }
  if (o->correct_lam || o->has_minmax)
    lam = 1.0 - (double)box->h * box->w / ((double)h * w);
  *lam_out = lam;
  return NULL;
}
