/* Gamma and Beta draws from a Philox stream, for Mixup/CutMix's lam
 * (timm draws numpy's Beta(alpha, alpha); we need our own, reproducible). */
#include <math.h>

#include "data/aug_mixup.h"

double cz_aug_gamma(cz_rng *rng, double shape) {
  /* Marsaglia & Tsang (2000) needs shape >= 1; smaller shapes use
   * Gamma(a) = Gamma(a+1) * U^(1/a). */
  if (shape < 1.0) {
    double g = cz_aug_gamma(rng, shape + 1.0);
    double u = 1.0 - cz_rng_uniform(rng); /* (0, 1]: never pow(0, .) */
    return g * pow(u, 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double z = cz_rng_normal(rng), v = 1.0 + c * z;
    if (v <= 0.0) continue;
    v = v * v * v;
    double u = 1.0 - cz_rng_uniform(rng); /* (0, 1]: log(u) is finite */
    /* The cheap squeeze accepts most draws without a log. */
    if (u < 1.0 - 0.0331 * z * z * z * z) return d * v;
    if (log(u) < 0.5 * z * z + d * (1.0 - v + log(v))) return d * v;
  }
}

double cz_aug_beta(cz_rng *rng, double a, double b) {
  double x = cz_aug_gamma(rng, a), y = cz_aug_gamma(rng, b);
  /* Both can underflow to 0 for tiny shapes; Beta then sits at 0 or 1. */
  if (x + y <= 0.0) return cz_rng_uniform(rng) < a / (a + b) ? 1.0 : 0.0;
  return x / (x + y);
}
