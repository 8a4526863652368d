/* libFuzzer target for data_augmentation.aa: the input's first 4 bytes pick
 * an image (width, height, gray or RGB, pixel seed) and the rng, the rest
 * is the aa string; a parsed string is sampled and applied to the image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/aa.h"
#include "util/err.h"
#include "util/rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4 || size > 300) return 0;
  char s[300];
  memcpy(s, data + 4, size - 4);
  s[size - 4] = 0;
  int w = 1 + data[0] % 24, h = 1 + data[1] % 24, c = data[2] & 1 ? 3 : 1;
  const float mean[3] = {0.485f, 0.456f, 0.406f};
  const char *interp[4] = {"random", "nearest", "bilinear", "bicubic"};
  cz_aa aa;
  cz_err *e = cz_aa_parse(s, h, w, c, mean, interp[(data[2] >> 1) & 3], &aa);
  if (e) {
    cz_err_free(e);
    return 0;
  }
  if (aa.kind == CZ_AA_OFF) return 0;
  cz_image img = {.w = w, .h = h, .c = c, .px = malloc((size_t)(w * h * c))};
  if (!img.px) return 0;
  for (int i = 0; i < w * h * c; i++) img.px[i] = (uint8_t)(i * 37 + data[3] * 11);
  cz_rng rng = cz_rng_make(data[3], size);
  static cz_aa_plan plan;
  for (int k = 0; k < 4; k++) {
    cz_aa_sample(&aa, &rng, &plan);
    e = cz_aa_apply(&aa, &plan, &img);
    if (e) abort(); /* a parsed policy on a valid image never fails */
  }
  free(img.px);
  return 0;
}
