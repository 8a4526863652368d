/* Shared between the image decoders (img_*.c): the per-format entry points
 * and the checks and conversions every format uses. Not for other modules. */
#ifndef CZ_IO_IMG_PRIV_H
#define CZ_IO_IMG_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "io/img.h"

cz_err *cz_img_decode_png(const uint8_t *data, size_t size, const char *name,
                          int want_channels, cz_image *out);
cz_err *cz_img_decode_jpeg(const uint8_t *data, size_t size, const char *name,
                           int want_channels, int min_w, int min_h, cz_image *out);

/* NULL when w x h is within CZ_IMG_MAX_SIDE / CZ_IMG_MAX_PIXELS. */
cz_err *cz_img_check_dims(const char *name, const char *format, uint64_t w, uint64_t h);

/* PIL's "L" from 8-bit R, G, B (ITU-R 601 weights in 16-bit fixed point). */
static inline uint8_t cz_img_luma(uint8_t r, uint8_t g, uint8_t b) {
  return (uint8_t)(((uint32_t)r * 19595u + (uint32_t)g * 38470u + (uint32_t)b * 7471u + 0x8000u) >> 16);
}

/* Replaces n RGB (src_c 3) or RGBA (src_c 4) pixels by their luma, in
 * place, from the front: the gray output is never ahead of its input. */
void cz_img_to_gray_inplace(uint8_t *px, size_t n, int src_c);

#endif
