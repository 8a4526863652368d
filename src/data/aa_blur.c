/* PIL's GaussianBlur (Pillow 9.4 BoxBlur.c semantics) for timm's
 * GaussianBlur / GaussianBlurRand ops: three passes of an extended box
 * filter per direction (Gwosdek et al. 2011), with PIL's float radius
 * derivation, 8.24 fixed-point weights and edge replication. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/aa.h"

/* One pass over n samples at stride `step` of `in` into `out` (distinct). */
static void box_line(const uint8_t *in, uint8_t *out, int n, int radius, uint32_t ww,
                     uint32_t fw) {
  int last = n - 1;
  int ea = radius + 1 < n ? radius + 1 : n, eb = n - radius - 1 > 0 ? n - radius - 1 : 0;
  uint32_t acc = (uint32_t)in[0] * (uint32_t)(radius + 1);
  int x;
  for (x = 0; x < ea - 1; x++) acc += in[x];
  acc += (uint32_t)in[last] * (uint32_t)(radius - ea + 1);
#define STEP(sub, add, left, right)                                               \
  do {                                                                            \
    acc += (uint32_t)((int)in[add] - (int)in[sub]);                               \
    uint32_t bulk = acc * ww + ((uint32_t)in[left] + (uint32_t)in[right]) * fw;   \
    out[x] = (uint8_t)((bulk + (1u << 23)) >> 24);                                \
  } while (0)
  if (ea <= eb) {
    for (x = 0; x < ea; x++) STEP(0, x + radius, 0, x + radius + 1);
    for (x = ea; x < eb; x++) STEP(x - radius - 1, x + radius, x - radius - 1, x + radius + 1);
    for (x = eb; x <= last; x++) STEP(x - radius - 1, last, x - radius - 1, last);
  } else {
    for (x = 0; x < eb; x++) STEP(0, x + radius, 0, x + radius + 1);
    for (x = eb; x < ea; x++) STEP(0, last, 0, last);
    for (x = ea; x <= last; x++) STEP(x - radius - 1, last, x - radius - 1, last);
  }
#undef STEP
}

cz_err *cz_aa_gaussian_blur(cz_image *img, float radius) {
  /* ImagingGaussianBlur: the box radius from sigma^2 = r^2 / passes, in
   * float as PIL computes it. */
  const int passes = 3;
  float sigma2 = radius * radius / passes;
  float L = (float)sqrt(12.0 * sigma2 + 1.0);
  float l = (float)floor((L - 1.0) / 2.0);
  float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
  a /= 6 * (sigma2 - (l + 1) * (l + 1));
  float box = l + a;
  /* ImagingHorizontalBoxBlur's weights */
  int r = (int)box;
  uint32_t ww = (uint32_t)((float)(1u << 24) / (box * 2 + 1));
  uint32_t fw = ((1u << 24) - (uint32_t)(r * 2 + 1) * ww) / 2;
  int w = img->w, h = img->h, c = img->c;
  int n = w > h ? w : h;
  uint8_t *b0 = malloc((size_t)n * 2);
  if (!b0) return cz_err_new(CZ_EXIT_RUNTIME, "auto-augment: out of memory");
  uint8_t *b1 = b0 + n;
  /* Rows (passes times), then columns (passes times): each line is
   * independent, so this equals PIL's pass / transpose / pass order. */
  for (int dir = 0; dir < 2; dir++) {
    int lines = dir ? w : h, len = dir ? h : w;
    size_t step = dir ? (size_t)w * (size_t)c : (size_t)c;
    for (int li = 0; li < lines; li++)
      for (int ch = 0; ch < c; ch++) {
        uint8_t *p = img->px + (dir ? (size_t)li * (size_t)c : (size_t)li * (size_t)w * (size_t)c) +
                     (size_t)ch;
        for (int i = 0; i < len; i++) b0[i] = p[(size_t)i * step];
        for (int k = 0; k < passes; k++) {
          box_line(b0, b1, len, r, ww, fw);
          uint8_t *t = b0;
          b0 = b1;
          b1 = t;
        }
        for (int i = 0; i < len; i++) p[(size_t)i * step] = b0[i];
      }
  }
  free(b0 < b1 ? b0 : b1);
  return NULL;
}
