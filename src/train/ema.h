/* Exponential moving average of weights, with the update rule of timm
 * 1.0.31's ModelEmaV3 (timm/utils/model_ema.py), the class timm's train.py
 * builds from --model-ema / --model-ema-decay and updates after every
 * optimizer step with step = the update count so far (1 for the first). */
#ifndef CZ_TRAIN_EMA_H
#define CZ_TRAIN_EMA_H
#include <stdint.h>

/* The decay for update number `step` (1-based): 0 for the first update
 * (the EMA becomes a copy of the weights), `decay` after it (ModelEmaV3
 * with use_warmup off and update_after_step 0: the config schema has no
 * model_ema_warmup key). */
double cz_ema_decay(double decay, int64_t step);

/* ema = ema * decay + model * (1 - decay), elementwise over n floats, in
 * float32 with the factors computed in double as timm does; the weighted
 * add is fused (torch's vectorized foreach add uses an fma). */
void cz_ema_update(float *ema, const float *model, int64_t n, double decay);
#endif
