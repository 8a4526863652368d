/* Mixup/CutMix over a loader batch, following timm's mixup.py `Mixup`:
 * parameter draws per batch, pair or element, then mixing and targets. */
#include "data/aug_mixup.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

cz_aug_mix_opts cz_aug_mix_opts_default(void) {
  return (cz_aug_mix_opts){.mixup_alpha = 1.0, .cutmix_alpha = 0.0, .has_minmax = 0,
                           .prob = 1.0, .switch_prob = 0.5, .mode = CZ_MIX_BATCH,
                           .correct_lam = 1, .smoothing = 0.0, .num_classes = 0};
}

cz_err *cz_aug_mix_parse_mode(const char *s, cz_mix_mode *out) {
  if (s && strcmp(s, "batch") == 0) *out = CZ_MIX_BATCH;
  else if (s && strcmp(s, "pair") == 0) *out = CZ_MIX_PAIR;
  else if (s && strcmp(s, "elem") == 0) *out = CZ_MIX_ELEM;
  else return cz_err_new(CZ_EXIT_USAGE, "mixup_mode '%s': expected batch, pair or elem",
                         s ? s : "(null)");
  return NULL;
}

cz_err *cz_aug_mix_check(const cz_aug_mix_opts *o) {
  if (o->num_classes < 1)
    return cz_err_new(CZ_EXIT_USAGE, "mixup/cutmix needs num_classes > 0");
  if (!(o->mixup_alpha > 0.0) && !(o->cutmix_alpha > 0.0) && !o->has_minmax)
    return cz_err_new(CZ_EXIT_USAGE, "mixup/cutmix: need mixup > 0, cutmix > 0 or cutmix_minmax");
  if (!(o->prob >= 0.0 && o->prob <= 1.0) || !(o->switch_prob >= 0.0 && o->switch_prob <= 1.0))
    return cz_err_new(CZ_EXIT_USAGE, "mixup_prob %g / mixup_switch_prob %g: must be in [0, 1]",
                      o->prob, o->switch_prob);
  if (!(o->smoothing >= 0.0 && o->smoothing < 1.0))
    return cz_err_new(CZ_EXIT_USAGE, "smoothing %g: must be in [0, 1)", o->smoothing);
  if (o->has_minmax && !(o->minmax[0] >= 0.0 && o->minmax[0] < o->minmax[1] && o->minmax[1] <= 1.0))
    return cz_err_new(CZ_EXIT_USAGE, "cutmix_minmax [%g, %g]: need 0 <= min < max <= 1",
                      o->minmax[0], o->minmax[1]);
  return NULL;
}

cz_rng cz_aug_mix_stream(uint64_t seed, uint64_t epoch, uint64_t batch_index) {
  return cz_rng_make(seed, cz_rng_stream(CZ_AUG_PURPOSE_MIX, epoch, batch_index));
}

/* One mixing decision: lam from Beta, or 1 when this unit is not mixed. */
typedef struct {
  double lam;
  int cut;
  cz_aug_box box;
} mix_op;

static mix_op draw_op(const cz_aug_mix_opts *o, cz_rng *rng) {
  mix_op op = {.lam = 1.0, .cut = 0};
  if (!(cz_rng_uniform(rng) < o->prob)) return op;
  /* minmax forces cutmix on with alpha 1, as timm does. */
  double ca = o->has_minmax ? 1.0 : o->cutmix_alpha;
  int mix_on = o->mixup_alpha > 0.0, cut_on = ca > 0.0;
  if (mix_on && cut_on) op.cut = cz_rng_uniform(rng) < o->switch_prob;
  else op.cut = cut_on;
  double a = op.cut ? ca : o->mixup_alpha;
  op.lam = cz_aug_beta(rng, a, a);
  return op;
}

/* dst = op applied to (self, other): a blend, or other's pixels inside the
 * box over self's. self and other are unmodified copies. */
static void apply_op(const mix_op *op, float *dst, const float *self, const float *other,
                     size_t img, int w, int c) {
  if (op->lam == 1.0) return;
  if (!op->cut) {
    float lf = (float)op->lam, lg = (float)(1.0 - op->lam);
    for (size_t k = 0; k < img; k++) dst[k] = self[k] * lf + other[k] * lg;
    return;
  }
  size_t row = (size_t)op->box.w * (size_t)c;
  for (int y = op->box.top; y < op->box.top + op->box.h; y++) {
    size_t at = ((size_t)y * (size_t)w + (size_t)op->box.left) * (size_t)c;
    memcpy(dst + at, other + at, row * sizeof *dst);
  }
}

/* Boxes are drawn after all lams, in sample order, and correct the lam. */
static cz_err *place_box(const cz_aug_mix_opts *o, cz_rng *rng, mix_op *op, int h, int w) {
  if (op->lam == 1.0 || !op->cut) return NULL;
  return cz_aug_cutmix_box(o, rng, h, w, op->lam, &op->box, &op->lam);
}

cz_err *cz_aug_mix_apply(const cz_aug_mix_opts *o, cz_rng *rng, float *x,
                         const int64_t *y, float *soft, int64_t n, int h, int w,
                         int c, double *lam_out, int *cutmix_out) {
  cz_err *e = cz_aug_mix_check(o);
  if (e) return e;
  if (n % 2 != 0)
    return cz_err_new(CZ_EXIT_USAGE,
                      "mixup/cutmix needs an even batch size, got %lld (timm asserts the same)",
                      (long long)n);
  for (int64_t i = 0; i < n; i++)
    if (y[i] < 0 || y[i] >= o->num_classes)
      return cz_err_new(CZ_EXIT_RUNTIME, "mixup: label %lld of row %lld is outside [0, %lld)",
                        (long long)y[i], (long long)i, (long long)o->num_classes);
  if (n == 0) return NULL;

  /* ops[i] is what sample i gets; batch and pair modes share one draw. */
  mix_op *ops = cz_xcalloc((size_t)n, sizeof *ops);
  int64_t half = n / 2;
  if (o->mode == CZ_MIX_BATCH) {
    ops[0] = draw_op(o, rng);
    e = place_box(o, rng, &ops[0], h, w);
    for (int64_t i = 1; i < n; i++) ops[i] = ops[0];
  } else if (o->mode == CZ_MIX_PAIR) {
    for (int64_t i = 0; i < half; i++) ops[i] = draw_op(o, rng);
    for (int64_t i = 0; i < half && !e; i++) e = place_box(o, rng, &ops[i], h, w);
    for (int64_t i = 0; i < half; i++) ops[n - 1 - i] = ops[i];
  } else {
    for (int64_t i = 0; i < n; i++) ops[i] = draw_op(o, rng);
    for (int64_t i = 0; i < n && !e; i++) e = place_box(o, rng, &ops[i], h, w);
  }
  if (e) {
    free(ops);
    return e;
  }

  /* Each pair (i, n-1-i) is mixed from copies of both originals, so the
   * batch needs two images of scratch, not a clone. */
  size_t img = (size_t)h * (size_t)w * (size_t)c;
  float *ta = cz_xmalloc(2 * img * sizeof *ta), *tb = ta + img;
  for (int64_t i = 0; i < half; i++) {
    int64_t j = n - 1 - i;
    float *xi = x + (size_t)i * img, *xj = x + (size_t)j * img;
    if (ops[i].lam == 1.0 && ops[j].lam == 1.0) continue;
    memcpy(ta, xi, img * sizeof *ta);
    memcpy(tb, xj, img * sizeof *tb);
    apply_op(&ops[i], xi, ta, tb, img, w, c);
    apply_op(&ops[j], xj, tb, ta, img, w, c);
  }
  free(ta);

  /* Smoothed one-hot of the sample and of its partner, weighted by lam. */
  int64_t k_n = o->num_classes;
  double off = o->smoothing / (double)k_n, on = 1.0 - o->smoothing + off;
  for (int64_t i = 0; i < n; i++) {
    double lam = ops[i].lam;
    int64_t yi = y[i], yj = y[n - 1 - i];
    float *row = soft + (size_t)i * (size_t)k_n;
    for (int64_t k = 0; k < k_n; k++)
      row[k] = (float)(lam * (k == yi ? on : off) + (1.0 - lam) * (k == yj ? on : off));
    if (lam_out) lam_out[i] = lam;
    if (cutmix_out) cutmix_out[i] = ops[i].cut;
  }
  free(ops);
  return NULL;
}
