/* Mixup and CutMix on loader batches, following timm's mixup.py `Mixup`
 * semantics (batch/pair/elem modes, lam correction, smoothed targets). */
#ifndef CZ_DATA_AUG_MIXUP_H
#define CZ_DATA_AUG_MIXUP_H

#include <stdint.h>

#include "data/aug_erase.h"
#include "util/err.h"
#include "util/rng.h"

typedef enum {
  CZ_MIX_BATCH = 0, /* one lam (and one box) for the whole batch */
  CZ_MIX_PAIR,      /* one per pair (i, n-1-i), shared by both */
  CZ_MIX_ELEM,      /* one per sample */
} cz_mix_mode;

typedef struct {
  double mixup_alpha;   /* mixup: > 0 enables mixup */
  double cutmix_alpha;  /* cutmix: > 0 enables cutmix */
  int has_minmax;       /* cutmix_minmax set: box sides uniform in
                           [minmax[0], minmax[1]) of the image, cutmix on
                           with alpha forced to 1 (as timm) */
  double minmax[2];
  double prob;          /* mixup_prob: chance to mix a batch/pair/sample */
  double switch_prob;   /* mixup_switch_prob: cutmix instead of mixup when
                           both are enabled */
  cz_mix_mode mode;     /* mixup_mode */
  int correct_lam;      /* lam = 1 - box area / image area after clipping */
  double smoothing;     /* label smoothing of the mixed targets */
  int64_t num_classes;  /* > 0 */
} cz_aug_mix_opts;

/* timm's defaults: mixup 1, cutmix 0, no minmax, prob 1, switch 0.5, batch
 * mode, correct_lam on, smoothing 0; num_classes must still be set. */
cz_aug_mix_opts cz_aug_mix_opts_default(void);

/* "batch", "pair" or "elem". */
cz_err *cz_aug_mix_parse_mode(const char *s, cz_mix_mode *out);

/* Rejects no mixing enabled, bad probabilities, num_classes < 1, a minmax
 * outside 0 <= min < max <= 1. */
cz_err *cz_aug_mix_check(const cz_aug_mix_opts *o);

/* Stream purpose and the stream of batch `batch_index` of `epoch`. */
enum { CZ_AUG_PURPOSE_MIX = 0x4d58 };
cz_rng cz_aug_mix_stream(uint64_t seed, uint64_t epoch, uint64_t batch_index);

/* Gamma(shape, 1) by Marsaglia-Tsang (boosted for shape < 1), shape > 0. */
double cz_aug_gamma(cz_rng *rng, double shape);
/* Beta(a, b) as X / (X + Y) of two Gamma draws. */
double cz_aug_beta(cz_rng *rng, double a, double b);

/* The CutMix box for an h x w image and Beta draw lam (or the minmax box),
 * and in *lam_out the lam the targets use (corrected by the clipped box
 * area when correct_lam or minmax). Errors only for a minmax too narrow
 * for the image size. */
cz_err *cz_aug_cutmix_box(const cz_aug_mix_opts *o, cz_rng *rng, int h, int w,
                          double lam, cz_aug_box *box, double *lam_out);

/* Mixes an NHWC batch in place: sample i with sample n-1-i, and writes
 * soft[n, num_classes] = lam*smooth(y) + (1-lam)*smooth(flipped y). n must
 * be even. lam_out[n] and cutmix_out[n] (either may be NULL) receive each
 * sample's final lam and whether CutMix (not mixup) was drawn for it. */
cz_err *cz_aug_mix_apply(const cz_aug_mix_opts *o, cz_rng *rng, float *x,
                         const int64_t *y, float *soft, int64_t n, int h, int w,
                         int c, double *lam_out, int *cutmix_out);

#endif
