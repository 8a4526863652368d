/* Flip test-time augmentation (tta_flip.h). */
#include "data/tta_flip.h"

#include <string.h>

bool cz_tta_on(const cz_config *cfg) { return cfg->general.tta.set && cfg->general.tta.v > 1; }

void cz_tta_hflip_nhwc(const float *x, float *y, int64_t n, int h, int w, int c) {
  for (int64_t i = 0; i < n * h; i++)
    for (int j = 0; j < w; j++)
      memcpy(y + (i * w + j) * c, x + (i * w + (w - 1 - j)) * c, (size_t)c * sizeof(float));
}

void cz_tta_average(float *logits, const float *mirrored, int64_t count) {
  for (int64_t i = 0; i < count; i++) logits[i] = 0.5f * (logits[i] + mirrored[i]);
}
