/* general.save_images: the first batch as a PNG grid, un-normalized with
 * the transform's mean/std so the images look as they were decoded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/pipe_priv.h"
#include "util/mem.h"

cz_err *cz_pipe_save_grid(const cz_pipe *p, const char *path) {
  if (!p->opts.save_images)
    return cz_err_new(CZ_EXIT_USAGE, "%s: general.save_images is off", path);
  if (!p->grid)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: no batch has been read yet", path);
  const cz_loader_opts *lo = &p->opts.loader;
  const cz_tf_eval *tf = p->sample.tf == &p->tf_train ? &p->tf_train.eval : &p->tf_eval;
  int h = (int)lo->h, w = (int)lo->w, c = (int)lo->c;
  int n = (int)p->grid_n, cols = n < CZ_PIPE_GRID_COLS ? n : CZ_PIPE_GRID_COLS;
  int rows = (n + cols - 1) / cols, pad = CZ_PIPE_GRID_PAD;
  cz_image img = {.w = cols * (w + pad) + pad, .h = rows * (h + pad) + pad, .c = c};
  img.px = cz_xcalloc((size_t)img.w * (size_t)img.h * (size_t)c, 1);
  for (int k = 0; k < n; k++) {
    const float *src = p->grid + (size_t)k * (size_t)(h * w * c);
    int y0 = pad + (k / cols) * (h + pad), x0 = pad + (k % cols) * (w + pad);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int ch = 0; ch < c; ch++) {
          float v = (src[(y * w + x) * c + ch] * tf->std[ch] + tf->mean[ch]) * 255.0f;
          v = v < 0 ? 0 : v > 255 ? 255 : v; /* erasing and mixup leave the range */
          img.px[((size_t)(y0 + y) * (size_t)img.w + (size_t)(x0 + x)) * (size_t)c + (size_t)ch] =
              (uint8_t)lrintf(v);
        }
  }
  cz_err *e = cz_image_save_png(path, &img);
  free(img.px);
  return e;
}
