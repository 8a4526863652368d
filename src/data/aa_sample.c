/* Drawing and applying one image's auto-augment (timm 1.0.31's AugmentOp,
 * AutoAugment, RandAugment and AugMixAugment): op choice, probability,
 * magnitude noise, level -> argument with random sign, interpolation, and
 * AugMix's Dirichlet / Beta mixing. The draws come from our rng, so they
 * follow timm's distributions, not its Python / numpy streams. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "data/aa.h"
#include "data/aug_mixup.h"

static bool geometric(cz_aa_opname op) {
  return op == CZ_AA_ROTATE || (op >= CZ_AA_SHEAR_X && op <= CZ_AA_TRANSLATE_Y_REL);
}

static bool has_sign(cz_aa_opname op) {
  return geometric(op) || op == CZ_AA_COLOR_INC || op == CZ_AA_CONTRAST_INC ||
         op == CZ_AA_BRIGHTNESS_INC || op == CZ_AA_SHARPNESS_INC;
}

double cz_aa_level_arg(const cz_aa *aa, cz_aa_opname op, double m, bool negate) {
  double l = m / 10.0, v;
  switch (op) {
    case CZ_AA_ROTATE: v = l * 30.0; break;
    case CZ_AA_POSTERIZE: return (double)(int)(l * 4);
    case CZ_AA_POSTERIZE_INC: return 4.0 - (int)(l * 4);
    case CZ_AA_POSTERIZE_ORIG: return (double)((int)(l * 4) + 4);
    case CZ_AA_SOLARIZE: return fmin(256.0, (double)(int)(l * 256));
    case CZ_AA_SOLARIZE_INC: return 256.0 - fmin(256.0, (double)(int)(l * 256));
    case CZ_AA_SOLARIZE_ADD: return fmin(128.0, (double)(int)(l * 110));
    case CZ_AA_COLOR:
    case CZ_AA_CONTRAST:
    case CZ_AA_BRIGHTNESS:
    case CZ_AA_SHARPNESS: return l * 1.8 + 0.1;
    case CZ_AA_COLOR_INC:
    case CZ_AA_CONTRAST_INC:
    case CZ_AA_BRIGHTNESS_INC:
    case CZ_AA_SHARPNESS_INC: {
      double d = l * 0.9;
      return fmax(0.1, 1.0 + (negate ? -d : d));
    }
    case CZ_AA_SHEAR_X:
    case CZ_AA_SHEAR_Y: v = l * 0.3; break;
    case CZ_AA_TRANSLATE_X:
    case CZ_AA_TRANSLATE_Y: v = l * (double)aa->translate_const; break;
    case CZ_AA_TRANSLATE_X_REL:
    case CZ_AA_TRANSLATE_Y_REL: v = l * aa->translate_pct; break;
    /* _minmax_level_to_arg with timm's bounds, clamped */
    case CZ_AA_DESATURATE: return fmax(0.5, fmin(1.0, 0.5 + 0.5 * l));
    case CZ_AA_GAUSSIAN_BLUR: return fmax(0.1, fmin(2.0, 0.1 + (2.0 - 0.1) * l));
    case CZ_AA_GAUSSIAN_BLUR_RAND: return fmax(0.0, fmin(1.0, 0.0 + (1.0 - 0.0) * l));
    default: return 0.0; /* AutoContrast, Equalize, Invert take none */
  }
  return negate ? -v : v;
}

/* AugmentOp.__call__'s draws; false when the op is skipped. */
static bool draw_op(const cz_aa *aa, const cz_aa_op *op, cz_rng *rng, cz_aa_step *st) {
  if (op->prob < 1.0 && cz_rng_uniform(rng) > op->prob) return false;
  double m = op->magnitude;
  if (aa->mstd > 0) {
    if (isinf(aa->mstd))
      m = m * cz_rng_uniform(rng); /* random.uniform(0, m) */
    else
      m = m + aa->mstd * cz_rng_normal(rng);
  }
  double ub = aa->mmax ? aa->mmax : 10.0;
  m = fmax(0.0, fmin(m, ub));
  bool neg = has_sign(op->op) && cz_rng_uniform(rng) > 0.5; /* _randomly_negate */
  st->op = op->op;
  st->arg = cz_aa_level_arg(aa, op->op, m, neg);
  st->interp = aa->interp[0];
  if (op->op == CZ_AA_GAUSSIAN_BLUR_RAND) { /* radius = random.uniform(0.1, 2 * factor) */
    st->op = CZ_AA_GAUSSIAN_BLUR;
    st->arg = 0.1 + (2.0 * st->arg - 0.1) * cz_rng_uniform(rng);
  }
  if (geometric(op->op) && aa->n_interp > 1)
    st->interp = aa->interp[cz_rng_below(rng, (uint32_t)aa->n_interp)];
  return true;
}

/* numpy's choice(p=w, replace=False) for n items: sequential draws from
 * the renormalized remaining weights (the same distribution). */
static void weighted_no_replace(const double *w, int n_ops, int n, cz_rng *rng, int *out) {
  bool used[CZ_AA_MAX_OPS] = {0};
  for (int k = 0; k < n; k++) {
    double total = 0;
    for (int i = 0; i < n_ops; i++)
      if (!used[i]) total += w[i];
    double u = cz_rng_uniform(rng) * total, acc = 0;
    int pick = -1;
    for (int i = 0; i < n_ops; i++) {
      if (used[i] || w[i] <= 0) continue;
      pick = i;
      acc += w[i];
      if (u < acc) break;
    }
    used[pick] = true;
    out[k] = pick;
  }
}

void cz_aa_sample(const cz_aa *aa, cz_rng *rng, cz_aa_plan *plan) {
  plan->kind = aa->kind;
  plan->n_steps = 0;
  plan->width = 0;
  plan->choice = -1;
  if (aa->kind == CZ_AA_AUTO) {
    int k = (int)cz_rng_below(rng, (uint32_t)aa->n_sub);
    plan->choice = k;
    for (int j = 0; j < aa->sub_len[k]; j++)
      if (draw_op(aa, &aa->sub[k][j], rng, &plan->steps[plan->n_steps])) plan->n_steps++;
  } else if (aa->kind == CZ_AA_RAND) {
    int idx[CZ_AA_MAX_LAYERS];
    if (aa->weighted) {
      weighted_no_replace(aa->weight, aa->n_ops, aa->num_layers, rng, idx);
    } else {
      for (int k = 0; k < aa->num_layers; k++) idx[k] = (int)cz_rng_below(rng, (uint32_t)aa->n_ops);
    }
    for (int k = 0; k < aa->num_layers; k++)
      if (draw_op(aa, &aa->ops[idx[k]], rng, &plan->steps[plan->n_steps])) plan->n_steps++;
  } else if (aa->kind == CZ_AA_AUGMIX) {
    /* np.float32(np.random.dirichlet([alpha] * width)): normalized Gammas */
    double g[CZ_AA_MAX_WIDTH], sum = 0;
    for (int k = 0; k < aa->width; k++) sum += g[k] = cz_aug_gamma(rng, aa->alpha);
    for (int k = 0; k < aa->width; k++)
      plan->mix_w[k] = sum > 0 ? (float)(g[k] / sum) : (float)(1.0 / aa->width);
    plan->m = (float)cz_aug_beta(rng, aa->alpha, aa->alpha);
    plan->width = aa->width;
    plan->blended = aa->blended;
    for (int k = 0; k < aa->width; k++) {
      int depth = aa->depth > 0 ? aa->depth : 1 + (int)cz_rng_below(rng, 3);
      cz_aa_step *st = plan->steps + k * CZ_AA_MAX_DEPTH;
      plan->chain_len[k] = 0;
      for (int j = 0; j < depth; j++) {
        int i = (int)cz_rng_below(rng, (uint32_t)aa->n_ops);
        if (draw_op(aa, &aa->ops[i], rng, &st[plan->chain_len[k]])) plan->chain_len[k]++;
      }
    }
  }
}

static cz_err *run_steps(const cz_aa *aa, const cz_aa_step *st, int n, cz_image *img) {
  for (int i = 0; i < n; i++) {
    cz_err *e = cz_aa_op_apply(img, st[i].op, st[i].arg, st[i].interp, aa->fill);
    if (e) return e;
  }
  return NULL;
}

static cz_err *copy_image(const cz_image *src, cz_image *dst) {
  size_t n = (size_t)src->w * (size_t)src->h * (size_t)src->c;
  *dst = *src;
  dst->px = malloc(n);
  if (!dst->px) return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: out of memory");
  memcpy(dst->px, src->px, n);
  return NULL;
}

/* Image.blend(a, b, f) per sample (PIL Blend.c: float, truncation,
 * clipped when extrapolating). */
static uint8_t blend(int a, int b, float f) {
  float t = (float)a + f * (float)(b - a);
  if (t <= 0.0f) return 0;
  if (t >= 255.0f) return 255;
  return (uint8_t)t;
}

/* AugMixAugment._apply_basic: float32 weighted sum of the chains, clipped
 * and truncated to 8 bits, then Image.blend(img, mixed, m). */
static cz_err *augmix_basic(const cz_aa *aa, const cz_aa_plan *p, cz_image *img) {
  size_t n = (size_t)img->w * (size_t)img->h * (size_t)img->c;
  float *mixed = calloc(n, sizeof(float));
  if (!mixed) return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: out of memory");
  cz_err *e = NULL;
  for (int k = 0; k < p->width && !e; k++) {
    cz_image aug;
    if ((e = copy_image(img, &aug))) break;
    e = run_steps(aa, p->steps + k * CZ_AA_MAX_DEPTH, p->chain_len[k], &aug);
    if (!e) {
      float w = p->mix_w[k];
      for (size_t i = 0; i < n; i++) mixed[i] += w * (float)aug.px[i];
    }
    free(aug.px);
  }
  if (!e)
    for (size_t i = 0; i < n; i++) {
      float v = mixed[i] < 0.0f ? 0.0f : mixed[i] > 255.0f ? 255.0f : mixed[i];
      img->px[i] = blend(img->px[i], (int)(uint8_t)v, p->m);
    }
  free(mixed);
  return e;
}

/* AugMixAugment._apply_blended: per chain, Image.blend(img, chain, w_k)
 * with w_k from _calc_blended_weights (float32 weights * m, the running
 * remainder in double). */
static cz_err *augmix_blended(const cz_aa *aa, const cz_aa_plan *p, cz_image *img) {
  float ws[CZ_AA_MAX_WIDTH], rw[CZ_AA_MAX_WIDTH];
  for (int k = 0; k < p->width; k++) ws[k] = p->mix_w[k] * p->m;
  double cump = 1.0;
  for (int k = p->width - 1; k >= 0; k--) {
    double a = (double)ws[k] / cump;
    cump *= 1.0 - a;
    rw[k] = (float)a;
  }
  cz_image orig;
  cz_err *e = copy_image(img, &orig);
  if (e) return e;
  size_t n = (size_t)img->w * (size_t)img->h * (size_t)img->c;
  for (int k = 0; k < p->width && !e; k++) {
    cz_image aug;
    if ((e = copy_image(&orig, &aug))) break;
    e = run_steps(aa, p->steps + k * CZ_AA_MAX_DEPTH, p->chain_len[k], &aug);
    if (!e)
      for (size_t i = 0; i < n; i++) img->px[i] = blend(img->px[i], aug.px[i], rw[k]);
    free(aug.px);
  }
  free(orig.px);
  return e;
}

cz_err *cz_aa_apply(const cz_aa *aa, const cz_aa_plan *plan, cz_image *img) {
  if (plan->kind == CZ_AA_AUGMIX)
    return plan->blended ? augmix_blended(aa, plan, img) : augmix_basic(aa, plan, img);
  return run_steps(aa, plan->steps, plan->n_steps, img);
}
