/* general.tta > 1 (test-time augmentation), shared by the evaluation
 * service and the training loop's per-epoch validation: each batch is also
 * run mirrored left-right and the two logit sets averaged (timm's validate
 * reduces groups of `tta` augmented copies by their mean the same way). */
#ifndef CZ_DATA_TTA_FLIP_H
#define CZ_DATA_TTA_FLIP_H
#include <stdbool.h>
#include <stdint.h>

#include "config/cfg.h"

/* Whether the config asks for TTA (general.tta > 1). */
bool cz_tta_on(const cz_config *cfg);
/* y = x mirrored left-right; x, y: n NHWC images of h x w x c floats. */
void cz_tta_hflip_nhwc(const float *x, float *y, int64_t n, int h, int w, int c);
/* logits[i] = (logits[i] + mirrored[i]) / 2 for count floats. */
void cz_tta_average(float *logits, const float *mirrored, int64_t count);
#endif
