/* Image decoding for the data pipeline: PNG (libspng) and JPEG
 * (libjpeg-turbo) files into 8-bit HWC pixels, chosen by content, not name. */
#ifndef CZ_IO_IMG_H
#define CZ_IO_IMG_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Bounds on what one file may claim: beyond them a header is taken as
 * corrupt (or hostile) rather than allocated. */
enum {
  CZ_IMG_MAX_SIDE = 16384,
  CZ_IMG_MAX_PIXELS = 256 * 1024 * 1024,
};

/* h rows of w pixels of c interleaved 8-bit channels; px is owned. */
typedef struct {
  int w, h, c;
  uint8_t *px;
} cz_image;

/* Decodes a PNG or JPEG held in memory. want_channels: 1 grayscale, 3 RGB,
 * 4 RGBA. Conversions follow PIL's Image.convert: gray to RGB replicates,
 * RGB to gray is ITU-R 601 luma L = (19595 R + 38470 G + 7471 B + 32768)
 * >> 16 (i.e. R*299/1000 + G*587/1000 + B*114/1000 rounded to nearest),
 * alpha is dropped for 1 and 3 channels and is 255 where a file has none,
 * palette and gray+alpha PNGs are expanded, 16-bit PNG samples keep their
 * high byte. CMYK JPEGs are rejected.
 * min_w/min_h > 0 let a JPEG decode at the smallest scale M/8 (M = 1..8)
 * whose output is still at least min_w x min_h (0 = full size; PNG always
 * decodes at full size). name is used in error messages only. On error
 * *out is left empty and nothing is allocated. */
cz_err *cz_image_decode(const void *data, size_t size, const char *name, int want_channels,
                        int min_w, int min_h, cz_image *out);
/* Reads the file at path and decodes it as cz_image_decode does. */
cz_err *cz_image_load(const char *path, int want_channels, int min_w, int min_h, cz_image *out);
void cz_image_free(cz_image *img);
/* Encodes img (c = 1, 3 or 4: gray, RGB, RGBA; 8-bit) as a PNG at path,
 * written atomically (util/atomic_file.h). */
cz_err *cz_image_save_png(const char *path, const cz_image *img);

#endif
