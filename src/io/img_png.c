/* PNG decoding with libspng (libspng.org/docs): any PNG colour type and bit
 * depth to 8-bit gray, RGB or RGBA as described in io/img.h. */
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/img_priv.h"
#include "util/mem.h"

static cz_err *png_err(const char *name, int rc) {
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
  /* libspng checks the limits itself before allocating any row; ancillary
   * chunks (text, ICC) are capped so a file cannot make it buffer much. */
  if ((rc = spng_set_image_limits(ctx, CZ_IMG_MAX_SIDE, CZ_IMG_MAX_SIDE)) ||
      (rc = spng_set_chunk_limits(ctx, 64u << 20, 64u << 20)) ||
      (rc = spng_set_png_buffer(ctx, data, size))) {
    err = png_err(name, rc);
    goto out;
  }
  struct spng_ihdr ihdr;
  if ((rc = spng_get_ihdr(ctx, &ihdr))) {
    /* The header's size is read before the limits are applied: say which. */
    if (rc == SPNG_EWIDTH || rc == SPNG_EHEIGHT || rc == SPNG_EUSER_WIDTH ||
        rc == SPNG_EUSER_HEIGHT)
      err = cz_err_new(CZ_EXIT_RUNTIME,
                       "%s: PNG header size is out of range (%s), expected at most %d pixels "
                       "per side",
                       name, spng_strerror(rc), CZ_IMG_MAX_SIDE);
    else
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
  if ((rc = spng_decoded_image_size(ctx, fmt, &len))) {
    err = png_err(name, rc);
    goto out;
  }
  px = cz_xmalloc(len);
  if ((rc = spng_decode_image(ctx, px, len, fmt, flags))) {
    err = png_err(name, rc);
    goto out;
  }
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
