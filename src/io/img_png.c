/* PNG decoding with libspng (libspng.org/docs): any PNG colour type and bit
 * depth to 8-bit gray, RGB or RGBA as described in io/img.h. */
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/img_priv.h"
#include "util/mem.h"

static cz_err *png_err(const char *name, int rc) {
  if (rc == SPNG_IO_EOF || rc == SPNG_EOF)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: bad PNG data: %s (the file is truncated)", name,
                      spng_strerror(rc));
  return cz_err_new(CZ_EXIT_RUNTIME, "%s: bad PNG data: %s", name, spng_strerror(rc));
}

cz_err *cz_img_decode_png(const uint8_t *data, size_t size, const char *name,
                          int want_channels, cz_image *out) {
  spng_ctx *ctx = spng_ctx_new(0);
  if (!ctx) { /* spng fails here only when out of memory: abort as cz_xmalloc does */
    fputs("czoo: out of memory (libspng context)\n", stderr);
    abort();
  }
  cz_err *err = NULL;
  uint8_t *px = NULL;
  int rc;
  /* The size is checked by cz_img_check_dims once the header is read, so
   * that PNG and JPEG say it alike; ancillary chunks (text, ICC) are capped
   * so that a file cannot make libspng buffer much. */
  if ((rc = spng_set_chunk_limits(ctx, 64u << 20, 64u << 20)) ||
      (rc = spng_set_png_buffer(ctx, data, size))) {
    err = png_err(name, rc);
    goto out;
  }
  struct spng_ihdr ihdr;
  if ((rc = spng_get_ihdr(ctx, &ihdr))) {
    err = png_err(name, rc);
    goto out;
  }
  if ((err = cz_img_check_dims(name, "PNG", ihdr.width, ihdr.height))) goto out;

  /* RGB8/RGBA8 accept every colour type and depth: palettes are expanded,
   * gray replicated, 16-bit samples cut to their high byte. Gray output is
   * then computed from RGB, which gives back v for a gray pixel (v, v, v). */
  int fmt = want_channels == 4 ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
  int flags = want_channels == 4 ? SPNG_DECODE_TRNS : 0;
  size_t len;
  if ((rc = spng_decoded_image_size(ctx, fmt, &len)) ||
      (rc = spng_decode_image(ctx, NULL, 0, fmt, flags | SPNG_DECODE_PROGRESSIVE))) {
    err = png_err(name, rc);
    goto out;
  }
  /* Row by row into a buffer that grows with the rows actually decoded: a
   * few bytes claiming 16384x16384 then cost memory only for the rows
   * their data really holds. Interlaced files revisit rows, hence row_num. */
  size_t row_len = len / ihdr.height, cap = 0;
  for (;;) {
    struct spng_row_info info;
    if ((rc = spng_get_row_info(ctx, &info))) break;
    size_t need = ((size_t)info.row_num + 1) * row_len;
    if (need > cap) {
      size_t grown = cap ? 2 * cap : row_len * 16;
      cap = grown < need ? need : grown > len ? len : grown;
      px = cz_xrealloc(px, cap);
    }
    rc = spng_decode_row(ctx, px + (size_t)info.row_num * row_len, row_len);
    if (rc) break;
  }
  if (rc != SPNG_EOI) {
    err = png_err(name, rc);
    goto out;
  }
  if (cap < len) px = cz_xrealloc(px, len); /* an image with fewer than 16 rows */
  size_t n = (size_t)ihdr.width * ihdr.height;
  if (want_channels == 1) cz_img_to_gray_inplace(px, n, 3);
  out->w = (int)ihdr.width;
  out->h = (int)ihdr.height;
  out->c = want_channels;
  out->px = px;
  px = NULL;
out:
  free(px);
  spng_ctx_free(ctx);
  return err;
}
