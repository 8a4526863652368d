/* The confusion matrix as a PNG drawn with cairo (see eval_report.h):
 * row-normalized like the reference's seaborn heatmap, a white-to-blue
 * scale, values in the cells ("%.2f") up to 30 classes, class names on both
 * axes (predicted along the bottom, rotated), the title on top. Cells get
 * smaller as classes grow but names stay at a fixed legible size, so the
 * image grows instead (about 1900 px at 100 classes). */
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "train/plot_chart.h"
#include "services/eval_report.h"
#include "util/mem.h"

static void scale_color(cairo_t *cr, double v) {
  cairo_set_source_rgb(cr, 1.0 - 0.85 * v, 1.0 - 0.65 * v, 1.0 - 0.35 * v);
}

cz_err *cz_write_confusion_png(const char *path, const cz_metrics *m, char *const *names,
                               const char *title) {
  cz_plot_release_at_exit();
  int k = m->k;
  double cell = k <= 10 ? 56 : k <= 30 ? 34 : 16, font = k <= 30 ? 12 : 10;
  /* Measure the longest name on a scratch surface. */
  cairo_surface_t *probe = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create(probe);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, font);
  double name_w = 0;
  for (int i = 0; i < k; i++) {
    cairo_text_extents_t te;
    cairo_text_extents(cr, names[i], &te);
    if (te.x_advance > name_w) name_w = te.x_advance;
  }
  if (name_w > 220) name_w = 220; /* very long names are clipped */
  cairo_destroy(cr);
  cairo_surface_destroy(probe);

  double left = name_w + 40, top = 60, grid = cell * k, bottom = name_w + 40;
  int W = (int)ceil(left + grid + 30), H = (int)ceil(top + grid + bottom);
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  cairo_set_font_size(cr, 14);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, 10, 24);
  cairo_show_text(cr, title);
  cairo_set_font_size(cr, font);
  cairo_move_to(cr, left, top - 10);
  cairo_show_text(cr, "rows: true class, columns: predicted (row-normalized)");

  for (int i = 0; i < k; i++) {
    int64_t row = 0;
    for (int j = 0; j < k; j++) row += m->confusion[(int64_t)i * k + j];
    for (int j = 0; j < k; j++) {
      double v = row ? (double)m->confusion[(int64_t)i * k + j] / (double)row : 0;
      scale_color(cr, v);
      cairo_rectangle(cr, left + j * cell, top + i * cell, cell, cell);
      cairo_fill(cr);
      if (k <= 30) {
        char txt[16];
        snprintf(txt, sizeof txt, "%.2f", v);
        cairo_text_extents_t te;
        cairo_set_font_size(cr, k <= 10 ? 12 : 9);
        cairo_text_extents(cr, txt, &te);
        double g = v > 0.5 ? 1 : 0;
        cairo_set_source_rgb(cr, g, g, g);
        cairo_move_to(cr, left + j * cell + (cell - te.width) / 2 - te.x_bearing,
                      top + i * cell + (cell - te.height) / 2 - te.y_bearing);
        cairo_show_text(cr, txt);
        cairo_set_font_size(cr, font);
      }
    }
  }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, left + 0.5, top + 0.5, grid, grid);
  cairo_stroke(cr);

  /* Names: true classes left of the rows, predicted ones under the columns. */
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int i = 0; i < k; i++) {
    cairo_text_extents_t te;
    cairo_text_extents(cr, names[i], &te);
    double y = top + i * cell + cell / 2 - te.y_bearing / 2 - te.height / 2;
    cairo_save(cr);
    cairo_rectangle(cr, 0, top + i * cell, left - 6, cell);
    cairo_clip(cr);
    cairo_move_to(cr, left - 6 - te.x_advance, y + te.height / 2);
    cairo_show_text(cr, names[i]);
    cairo_restore(cr);

    cairo_save(cr);
    cairo_rectangle(cr, left + i * cell, top + grid + 4, cell, bottom - 4);
    cairo_clip(cr);
    /* Rotated a quarter turn clockwise, the glyphs rise towards +x: the
     * baseline sits left of the column centre. */
    cairo_move_to(cr, left + i * cell + cell / 2 - 0.35 * font, top + grid + 6);
    cairo_rotate(cr, M_PI / 2);
    cairo_show_text(cr, names[i]);
    cairo_restore(cr);
  }
  cairo_surface_flush(s);

  cz_err *err = NULL;
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
    err = cz_err_new(CZ_EXIT_RUNTIME, "%s: drawing the confusion matrix failed: %s", path,
                     cairo_status_to_string(cairo_status(cr)));
  cairo_destroy(cr);
  if (!err) {
    /* cairo writes in place; go through a temporary name for atomicity. */
    char *tmp = cz_asprintf("%s.tmp", path);
    cairo_status_t st = cairo_surface_write_to_png(s, tmp);
    if (st != CAIRO_STATUS_SUCCESS)
      err = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot write the PNG: %s", path,
                       cairo_status_to_string(st));
    else if (rename(tmp, path) != 0)
      err = cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot rename %s over it", path, tmp);
    if (err) remove(tmp);
    free(tmp);
  }
  cairo_surface_destroy(s);
  return err;
}
