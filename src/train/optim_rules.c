/* The update rules, each following the single-tensor implementation of
 * its reference (torch 1.13 torch.optim: SGD, Adam, AdamW, NAdam, RAdam,
 * Adamax, RMSprop, Adagrad, Adadelta; timm 1.0.31 timm.optim: RMSpropTF,
 * Lamb, Lars, Lion) in float32 with the same operation order; Python-side
 * scalars are computed in double and rounded to float where torch does. */
#include <math.h>

#include "train/optim_impl.h"

static float lerpf_torch(float a, float b, float w) {
  /* ATen's lerp: two formulas split at weight 0.5 */
  return w < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
}

static double l2(const float *x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return (float)sqrt(s);
}

#define SLOT(s, i) (o->slot[s] + o->off[i])

static void sgd(cz_optim *o, int i, float *buf_slot) {
  const cz_train_param *p = &o->p[i];
  const float wd = (float)o->wd[i], mom = (float)o->momentum,
              nlr = (float)-cz_optim_plr(o, i);
  float *buf = buf_slot;
  for (int64_t k = 0; k < p->numel; k++) {
    float d = p->grad[k];
    if (o->wd[i] != 0) d = d + wd * p->data[k];
    if (o->momentum != 0) {
      buf[k] = o->step == 1.0f ? d : buf[k] * mom + d; /* dampening 0 */
      d = o->nesterov ? d + mom * buf[k] : buf[k];
    }
    p->data[k] = p->data[k] + nlr * d;
  }
}

static void adam(cz_optim *o, int i, bool decoupled) {
  const cz_train_param *p = &o->p[i];
  float *m = SLOT(0, i), *v = SLOT(1, i);
  const double t = o->step;
  const double bc1 = 1 - pow(o->beta1, t), bc2 = 1 - pow(o->beta2, t);
  const float nstep = (float)(-(cz_optim_plr(o, i) / bc1)), bc2s = (float)sqrt(bc2);
  const float b1 = (float)o->beta1, b2 = (float)o->beta2;
  const float a1 = (float)(1 - o->beta1), a2 = (float)(1 - o->beta2);
  const float eps = (float)o->eps, wd = (float)o->wd[i];
  const float shrink = (float)(1 - cz_optim_plr(o, i) * o->wd[i]);
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (decoupled) p->data[k] = p->data[k] * shrink;
    else if (o->wd[i] != 0) g = g + wd * p->data[k];
    m[k] = m[k] * b1 + a1 * g;
    v[k] = v[k] * b2 + a2 * g * g;
    const float denom = sqrtf(v[k]) / bc2s + eps;
    p->data[k] = p->data[k] + nstep * (m[k] / denom);
  }
}

static void nadam(cz_optim *o, int i, double mu, double mu_next,
                  float mu_product, float mu_product_next) {
  const cz_train_param *p = &o->p[i];
  float *m = SLOT(0, i), *v = SLOT(1, i);
  const double t = o->step;
  const float bc2 = (float)(1 - pow(o->beta2, t));
  const float v1 = (float)(-cz_optim_plr(o, i) * (1. - mu) / (1. - (double)mu_product));
  const float b1 = (float)o->beta1, b2 = (float)o->beta2;
  const float a1 = (float)(1 - o->beta1), a2 = (float)(1 - o->beta2);
  const float eps = (float)o->eps, wd = (float)o->wd[i];
  const float v2 = (float)(-cz_optim_plr(o, i) * mu_next / (1. - (double)mu_product_next));
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (o->wd[i] != 0) g = g + wd * p->data[k];
    m[k] = m[k] * b1 + a1 * g;
    v[k] = v[k] * b2 + a2 * g * g;
    const float denom = sqrtf(v[k] / bc2) + eps;
    p->data[k] = p->data[k] + v1 * (g / denom);
    p->data[k] = p->data[k] + v2 * (m[k] / denom);
  }
}

static void radam(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *m = SLOT(0, i), *v = SLOT(1, i);
  const double t = o->step, b2 = o->beta2;
  const double bc1 = 1 - pow(o->beta1, t), bc2 = 1 - pow(b2, t);
  const double rho_inf = 2 / (1 - b2) - 1;
  const double rho_t = rho_inf - 2 * t * pow(b2, t) / bc2;
  const bool rect_on = rho_t > 5.;
  const double rect = rect_on ? sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                     ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                              : 0;
  const float fb1 = (float)o->beta1, fb2 = (float)b2;
  const float a1 = (float)(1 - o->beta1), a2 = (float)(1 - b2);
  const float eps = (float)o->eps, wd = (float)o->wd[i], lr = (float)cz_optim_plr(o, i);
  const float fbc1 = (float)bc1, sbc2 = (float)sqrt(bc2), frect = (float)rect;
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (o->wd[i] != 0) g = g + wd * p->data[k];
    m[k] = m[k] * fb1 + a1 * g;
    v[k] = v[k] * fb2 + a2 * g * g;
    const float bcm = m[k] / fbc1;
    float upd;
    if (rect_on) {
      const float adaptive = sbc2 / (sqrtf(v[k]) + eps);
      upd = bcm * lr * adaptive * frect;
    } else {
      upd = bcm * lr;
    }
    p->data[k] = p->data[k] - upd;
  }
}

static void adamax(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *m = SLOT(0, i), *u = SLOT(1, i);
  const double bc1 = 1 - pow(o->beta1, (double)o->step);
  const float nclr = (float)(-(cz_optim_plr(o, i) / bc1));
  const float b1 = (float)o->beta1, b2 = (float)o->beta2;
  const float a1 = (float)(1 - o->beta1), eps = (float)o->eps,
              wd = (float)o->wd[i];
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (o->wd[i] != 0) g = g + wd * p->data[k];
    m[k] = m[k] * b1 + a1 * g;
    const float a = u[k] * b2, b = fabsf(g) + eps;
    u[k] = a > b ? a : b;
    p->data[k] = p->data[k] + nclr * (m[k] / u[k]);
  }
}

static void rmsprop(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *sq = SLOT(0, i), *buf = SLOT(1, i);
  const float al = (float)o->alpha, a1 = (float)(1 - o->alpha);
  const float eps = (float)o->eps, wd = (float)o->wd[i],
              mom = (float)o->momentum, nlr = (float)-cz_optim_plr(o, i);
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (o->wd[i] != 0) g = g + wd * p->data[k];
    sq[k] = sq[k] * al + a1 * g * g;
    const float avg = sqrtf(sq[k]) + eps;
    if (o->momentum > 0) {
      buf[k] = buf[k] * mom + g / avg;
      p->data[k] = p->data[k] + nlr * buf[k];
    } else {
      p->data[k] = p->data[k] + nlr * (g / avg);
    }
  }
}

/* timm RMSpropTF: square_avg starts at 1, eps inside the sqrt, lr applied
 * inside the momentum buffer (lr_in_momentum). */
static void rmsproptf(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *sq = SLOT(0, i), *buf = SLOT(1, i);
  const float a1 = (float)(1 - o->alpha);
  const float eps = (float)o->eps, wd = (float)o->wd[i],
              mom = (float)o->momentum, lr = (float)cz_optim_plr(o, i);
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (o->wd[i] != 0) g = g + wd * p->data[k];
    sq[k] = sq[k] + a1 * (g * g - sq[k]);
    const float avg = sqrtf(sq[k] + eps);
    if (o->momentum > 0) {
      buf[k] = buf[k] * mom;
      buf[k] = buf[k] + lr * (g / avg);
      p->data[k] = p->data[k] + -buf[k];
    } else {
      p->data[k] = p->data[k] + -lr * (g / avg);
    }
  }
}

static void adagrad(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *sum = SLOT(0, i);
  const float eps = (float)o->eps, wd = (float)o->wd[i],
              nclr = (float)-cz_optim_plr(o, i); /* lr_decay 0 */
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (o->wd[i] != 0) g = g + wd * p->data[k];
    sum[k] = sum[k] + 1.0f * g * g;
    const float std = sqrtf(sum[k]) + eps;
    p->data[k] = p->data[k] + nclr * (g / std);
  }
}

static void adadelta(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *sq = SLOT(0, i), *acc = SLOT(1, i);
  const float rho = (float)o->alpha, a1 = (float)(1 - o->alpha);
  const float eps = (float)o->eps, wd = (float)o->wd[i], nlr = (float)-cz_optim_plr(o, i);
  for (int64_t k = 0; k < p->numel; k++) {
    float g = p->grad[k];
    if (o->wd[i] != 0) g = g + wd * p->data[k];
    sq[k] = sq[k] * rho + a1 * g * g;
    const float std = sqrtf(sq[k] + eps);
    const float delta = sqrtf(acc[k] + eps) / std * g;
    acc[k] = acc[k] * rho + a1 * delta * delta;
    p->data[k] = p->data[k] + nlr * delta;
  }
}

/* timm Lamb (bias_correction, grad_averaging, max_grad_norm 1.0, no trust
 * clip): the global gradient norm divides the gradients when above 1, the
 * trust ratio ||w|| / ||update|| applies to parameters with weight decay. */
static void lamb(cz_optim *o, float clip) {
  const double t = o->step;
  const double bc1 = 1 - pow(o->beta1, t), bc2 = 1 - pow(o->beta2, t);
  const float fbc1 = (float)bc1, sbc2 = (float)sqrt(bc2);
  const float b2 = (float)o->beta2, a2 = (float)(1 - o->beta2);
  const float beta3 = (float)(1 - o->beta1), eps = (float)o->eps;
  for (int i = 0; i < o->n; i++) {
    const cz_train_param *p = &o->p[i];
    float *m = SLOT(0, i), *v = SLOT(1, i), *u = o->scratch;
    const float wd = (float)o->wd[i];
    for (int64_t k = 0; k < p->numel; k++) {
      const float g = p->grad[k] / clip;
      m[k] = lerpf_torch(m[k], g, beta3);
      v[k] = v[k] * b2 + a2 * g * g;
      const float denom = sqrtf(v[k]) / sbc2 + eps;
      u[k] = m[k] / fbc1 / denom;
      if (o->wd[i] != 0) u[k] = u[k] + wd * p->data[k];
    }
    float trust = 1.0f;
    if (o->wd[i] != 0) {
      const float wn = (float)l2(p->data, p->numel), un = (float)l2(u, p->numel);
      trust = wn > 0 && un > 0 ? wn / un : 1.0f;
    }
    const float nlr = (float)-cz_optim_plr(o, i);
    for (int64_t k = 0; k < p->numel; k++)
      p->data[k] = p->data[k] + nlr * (u[k] * trust);
  }
}

/* timm Lars (no trust clip, not always_adapt): the trust ratio scales the
 * decayed gradient of parameters with weight decay, then SGD momentum. */
static void lars(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *buf = SLOT(0, i);
  const double wdd = o->wd[i];
  float trust = 1.0f;
  if (wdd != 0) {
    const float wn = (float)l2(p->data, p->numel), gn = (float)l2(p->grad, p->numel);
    const float r = (float)o->trust_coeff * wn / (gn + wn * (float)wdd + (float)o->eps);
    trust = wn > 0 && gn > 0 ? r : 1.0f;
  }
  const float wd = (float)wdd, mom = (float)o->momentum, nlr = (float)-cz_optim_plr(o, i);
  for (int64_t k = 0; k < p->numel; k++) {
    float d = p->grad[k];
    if (wdd != 0) d = (d + wd * p->data[k]) * trust;
    if (o->momentum != 0) {
      buf[k] = o->step == 1.0f ? d : buf[k] * mom + d;
      d = o->nesterov ? d + mom * buf[k] : buf[k];
    }
    p->data[k] = p->data[k] + nlr * d;
  }
}

static void lion(cz_optim *o, int i) {
  const cz_train_param *p = &o->p[i];
  float *m = SLOT(0, i);
  const float shrink = (float)(1 - cz_optim_plr(o, i) * o->wd[i]);
  const float w1 = (float)(1 - o->beta1), w2 = (float)(1 - o->beta2);
  const float nlr = (float)-cz_optim_plr(o, i);
  for (int64_t k = 0; k < p->numel; k++) {
    const float g = p->grad[k];
    p->data[k] = p->data[k] * shrink;
    const float c = lerpf_torch(m[k], g, w1);
    const float s = c > 0 ? 1.0f : c < 0 ? -1.0f : 0.0f;
    p->data[k] = p->data[k] + nlr * s;
    m[k] = lerpf_torch(m[k], g, w2);
  }
}

void cz_optim_apply_rule(cz_optim *o) {
  switch (o->kind) {
    case CZ_OPT_LAMB: {
      float clip = 1.0f;
      if (o->max_grad_norm > 0) {
        double s = 0;
        for (int i = 0; i < o->n; i++) {
          const float ni = (float)l2(o->p[i].grad, o->p[i].numel);
          s += (double)ni * ni;
        }
        const float gn = (float)sqrt(s) / (float)o->max_grad_norm;
        clip = gn < 1.0f ? 1.0f : gn;
      }
      lamb(o, clip);
      return;
    }
    case CZ_OPT_NADAM: {
      /* torch 1.13 NAdam: mu_product is a float32 tensor, and its
       * "mu_product_next" multiplies by mu a second time (kept as is) */
      const double t = o->step, md = 4e-3;
      const double mu = o->beta1 * (1. - 0.5 * pow(0.96, t * md));
      const double mu_next = o->beta1 * (1. - 0.5 * pow(0.96, (t + 1) * md));
      o->mu_product = o->mu_product * (float)mu;
      const float next = o->mu_product * (float)mu * (float)mu_next;
      for (int i = 0; i < o->n; i++)
        nadam(o, i, mu, mu_next, o->mu_product, next);
      return;
    }
    default: break;
  }
  for (int i = 0; i < o->n; i++) {
    switch (o->kind) {
      case CZ_OPT_SGD: sgd(o, i, SLOT(0, i)); break;
      case CZ_OPT_ADAM: adam(o, i, false); break;
      case CZ_OPT_ADAMW: adam(o, i, true); break;
      case CZ_OPT_RADAM: radam(o, i); break;
      case CZ_OPT_ADAMAX: adamax(o, i); break;
      case CZ_OPT_RMSPROP: rmsprop(o, i); break;
      case CZ_OPT_RMSPROPTF: rmsproptf(o, i); break;
      case CZ_OPT_ADAGRAD: adagrad(o, i); break;
      case CZ_OPT_ADADELTA: adadelta(o, i); break;
      case CZ_OPT_LARS: lars(o, i); break;
      case CZ_OPT_LION: lion(o, i); break;
      default: break;
    }
  }
}
