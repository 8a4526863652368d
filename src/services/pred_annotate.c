/* Annotated copies of predicted images, as the tool we replace writes
 * them (reference_behaviour.md section 7): the image with a black box and
 * white text "<label>: <probability:.1f>%" at the top-left, saved as
 * <run>/predictions/<basename>.png. czoo's number is the softmax
 * probability in percent, not 100 x a logit. Drawn with cairo. */
#include <cairo.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/img.h"
#include "train/plot_chart.h"
#include "services/eval_report.h"
#include "services/pred_annotate.h"
#include "util/mem.h"

static cz_err *draw(const cz_image *img, const char *text, const char *out) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, img->w, img->h);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot make a %dx%d image", out, img->w, img->h);
  }
  cairo_surface_flush(s);
  unsigned char *px = cairo_image_surface_get_data(s);
  int stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < img->h; y++) {
    uint32_t *row = (uint32_t *)(px + (size_t)y * stride);
    const uint8_t *src = img->px + (size_t)y * img->w * 3;
    for (int x = 0; x < img->w; x++)
      row[x] = (uint32_t)src[3 * x] << 16 | (uint32_t)src[3 * x + 1] << 8 | src[3 * x + 2];
  }
  cairo_surface_mark_dirty(s);
  cz_plot_release_at_exit();
  cairo_t *cr = cairo_create(s);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  double font = img->h / 12.0 < 10 ? 10 : img->h / 12.0;
  cairo_set_font_size(cr, font);
  cairo_text_extents_t te;
  cairo_text_extents(cr, text, &te);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, 0, 0, te.x_advance + 8, font * 1.4);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_move_to(cr, 4, font * 1.05);
  cairo_show_text(cr, text);
  cairo_destroy(cr);
  char *tmp = cz_asprintf("%s.tmp", out);
  cairo_status_t st = cairo_surface_write_to_png(s, tmp);
  cairo_surface_destroy(s);
  cz_err *err = NULL;
  if (st != CAIRO_STATUS_SUCCESS)
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot write the PNG: %s", out, cairo_status_to_string(st));
  else if (rename(tmp, out) != 0)
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot rename %s over it", out, tmp);
  if (err) remove(tmp);
  free(tmp);
  return err;
}

cz_err *cz_pred_annotate(const char *run_dir, const char *image_path, const char *label,
                         double prob) {
  char *dir = cz_asprintf("%s/predictions", run_dir);
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    cz_err *e = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot create the folder: %s", dir, strerror(errno));
    free(dir);
    return e;
  }
  const char *base = strrchr(image_path, '/');
  base = base ? base + 1 : image_path;
  char *stem = cz_xstrdup(base);
  char *dot = strrchr(stem, '.');
  if (dot) *dot = 0;
  char *out = cz_asprintf("%s/%s.png", dir, stem);
  char *text = cz_asprintf("%s: %.1f%%", label, 100 * prob);
  cz_image img = {0};
  cz_err *err = cz_image_load(image_path, 3, 0, 0, &img);
  if (!err) err = draw(&img, text, out);
  cz_image_free(&img);
  free(dir), free(stem), free(out), free(text);
  return err;
}
