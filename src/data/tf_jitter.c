/* PIL-exact colour enhancement of 8-bit images (ImageEnhance Brightness,
 * Contrast and Color, which torchvision's adjust_* use on PIL images; hue
 * is in tf_hue.c). */
#include <stdint.h>
#include <stdlib.h>

#include "data/tf_train.h"

/* PIL's convert("L"): ITU-R 601 luma with rounding. */
static int luma(const uint8_t *p) {
  return (int)(((uint32_t)p[0] * 19595u + (uint32_t)p[1] * 38470u + (uint32_t)p[2] * 7471u +
                0x8000u) >> 16);
}

/* Image.blend(degenerate, image, f) for one sample: PIL computes
 * a + f * (b - a) in single precision and truncates, clipping only when
 * extrapolating (f outside [0, 1]; inside, the value is within [0, 255]). */
static uint8_t blend(int a, int b, float f) {
  float t = (float)a + f * (float)(b - a);
  if (t <= 0.0f) return 0;
  if (t >= 255.0f) return 255;
  return (uint8_t)t;
}

/* ImageStat's mean of the grayscale image, rounded as ImageEnhance does:
 * int(mean + 0.5). */
static int gray_mean(const cz_image *img) {
  size_t n = (size_t)img->w * (size_t)img->h;
  if (n == 0) return 0;
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = img->px + i * (size_t)img->c;
    sum += (uint64_t)(img->c >= 3 ? luma(p) : p[0]);
  }
  return (int)((double)sum / (double)n + 0.5);
}

void cz_tf_jitter(cz_image *img, int op, float factor) {
  if (op == CZ_JIT_HUE) {
    cz_tf_hue(img, factor);
    return;
  }
  int c = img->c, cc = c == 4 ? 3 : c; /* alpha: degenerate carries it, blend keeps it */
  size_t n = (size_t)img->w * (size_t)img->h;
  if (op != CZ_JIT_SATURATION || cc < 3) {
    /* Brightness (degenerate black), contrast (the mean gray) and a
     * 1-channel saturation (the pixel is its own gray) make each output
     * value a function of the input value alone: one 256-entry table,
     * holding exactly blend()'s results, replaces the float math. */
    int d = op == CZ_JIT_BRIGHTNESS ? 0 : op == CZ_JIT_CONTRAST ? gray_mean(img) : -1;
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) lut[v] = blend(d < 0 ? v : d, v, factor);
    for (size_t i = 0; i < n; i++) {
      uint8_t *p = img->px + i * (size_t)c;
      for (int ch = 0; ch < cc; ch++) p[ch] = lut[p[ch]];
    }
    return;
  }
  /* Saturation blends with the pixel's own gray: no per-value table. */
  for (size_t i = 0; i < n; i++) {
    uint8_t *p = img->px + i * (size_t)c;
    int d = luma(p);
    for (int ch = 0; ch < 3; ch++) p[ch] = blend(d, p[ch], factor);
  }
}
