/* EMA update of weights (ema.h). timm's ModelEmaV3 lerps with weight
 * w = 1 - decay; on torch 1.13 (no _foreach_lerp_) that is
 * ema *= (1 - w), then ema += w * model, which this follows. */
#include "train/ema.h"

#include <math.h>

double cz_ema_decay(double decay, int64_t step) {
  return step - 1 <= 0 ? 0.0 : decay;
}

void cz_ema_update(float *ema, const float *model, int64_t n, double decay) {
  double w = 1.0 - decay;
  float keep = (float)(1.0 - w), take = (float)w;
  for (int64_t i = 0; i < n; i++) ema[i] = fmaf(take, model[i], ema[i] * keep);
}
