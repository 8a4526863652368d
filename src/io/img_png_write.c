/* PNG encoding with libspng's encoder: an 8-bit cz_image to a file, written
 * to a temporary name and renamed so a failed write leaves nothing behind. */
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/img.h"
#include "util/atomic_file.h"

cz_err *cz_image_save_png(const char *path, const cz_image *img) {
  if (!img || !img->px || img->w <= 0 || img->h <= 0 ||
      (img->c != 1 && img->c != 3 && img->c != 4))
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot save an empty or %d-channel image as PNG",
                      path, img ? img->c : 0);
  static const uint8_t kColor[5] = {0, SPNG_COLOR_TYPE_GRAYSCALE, 0, SPNG_COLOR_TYPE_TRUECOLOR,
                                    SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
  spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  if (!ctx) { /* only when out of memory: abort as cz_xmalloc does */
    fputs("czoo: out of memory (libspng context)\n", stderr);
    abort();
  }
  struct spng_ihdr ihdr = {.width = (uint32_t)img->w, .height = (uint32_t)img->h,
                           .bit_depth = 8, .color_type = kColor[img->c]};
  size_t len = (size_t)img->w * (size_t)img->h * (size_t)img->c;
  cz_err *err = NULL;
  int rc;
  /* Encode into spng's own buffer first: the file is opened only once the
   * bytes exist, so an encoder error never touches the disk. */
  if ((rc = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1)) || (rc = spng_set_ihdr(ctx, &ihdr)) ||
      (rc = spng_encode_image(ctx, img->px, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE))) {
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: PNG encoding failed: %s", path, spng_strerror(rc));
    spng_ctx_free(ctx);
    return err;
  }
  size_t n = 0;
  void *buf = spng_get_png_buffer(ctx, &n, &rc);
  if (!buf) {
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: PNG encoding failed: %s", path, spng_strerror(rc));
  } else {
    err = cz_write_file_atomic(path, buf, n);
    free(buf); /* spng_get_png_buffer hands the buffer over to the caller */
  }
  spng_ctx_free(ctx);
  return err;
}
