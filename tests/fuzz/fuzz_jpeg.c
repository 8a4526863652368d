/* libFuzzer target for JPEG decoding (libjpeg-turbo) through cz_image_decode:
 * every input must decode or fail with a message, at full and reduced size.
 * Input: one control byte (channels, minimum size), then the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/img.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The first byte picks the channels and minimum size, so one corpus
   * covers the conversions and the reduced-scale paths. */
  if (size < 1) return 0;
  static const int kChannels[3] = {1, 3, 4};
  int want = kChannels[data[0] % 3];
  int min_side = (data[0] / 3) % 4 * 8; /* 0 (full size), 8, 16, 24 */
  data++;
  size--;
  /* An exact-size copy: reading past size is then an ASan report. */
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  cz_image img;
  cz_err *err = cz_image_decode(copy, size, "fuzz", want, min_side, min_side, &img);
  if (err) {
    const char *msg = cz_err_msg(err);
    if (!msg || !msg[0] || img.px) __builtin_trap();
    cz_err_free(err);
  } else {
    if (img.w < 1 || img.h < 1 || img.c != want || !img.px) __builtin_trap();
    /* Touch every byte: a buffer shorter than w*h*c is an ASan report. */
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)img.w * img.h * img.c; i++) sum += img.px[i];
    (void)sum;
    cz_image_free(&img);
  }
  free(copy);
  return 0;
}
