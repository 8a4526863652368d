/* Line chart drawing with cairo's image surface and toy text API. Tick
 * steps are 1, 2 or 5 times a power of ten, about five per axis. */
#include "train/plot_chart.h"

#include <stdbool.h>
#include <stdlib.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/atomic_file.h"

typedef struct {
  double lo, hi, step;
  int decimals; /* fixed notation; in exponent notation: mantissa digits */
  int sci;      /* exponent notation (tiny steps or big values) */
} axis;

static axis nice_axis(double lo, double hi) {
  axis a;
  if (!(hi > lo)) {
    double pad = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  double raw = (hi - lo) / 5.0;
  double p10 = pow(10.0, floor(log10(raw)));
  double f = raw / p10;
  a.step = (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * p10;
  a.lo = floor(lo / a.step + 1e-9) * a.step;
  a.hi = ceil(hi / a.step - 1e-9) * a.step;
  int d = (int)-floor(log10(a.step) + 1e-9);
  a.decimals = d < 0 ? 0 : d;
  double big = fmax(fabs(a.lo), fabs(a.hi));
  a.sci = a.step < 1e-3 || big >= 1e6;
  if (a.sci) { /* the same mantissa digits on every label */
    int e = (int)floor(log10(big) + 1e-9) - (int)floor(log10(a.step) + 1e-9);
    a.decimals = e < 0 ? 0 : e;
  }
  return a;
}

static void tick_label(const axis *a, double v, char *buf, size_t cap) {
  if (fabs(v) < a->step * 1e-6) v = 0.0;
  if (a->sci) snprintf(buf, cap, "%.*e", a->decimals, v);
  else snprintf(buf, cap, "%.*f", a->decimals, v);
}

/* Text placed by an anchor: ax, ay in 0..1 of its width/height. */
static void text_at(cairo_t *cr, const char *s, double x, double y, double ax, double ay) {
  cairo_text_extents_t te;
  cairo_text_extents(cr, s, &te);
  cairo_move_to(cr, x - te.width * ax - te.x_bearing, y - te.height * ay - te.y_bearing);
  cairo_show_text(cr, s);
}

static void data_range(const cz_plot_chart *c, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int s = 0; s < c->nseries; s++)
    for (int i = 0; i < c->n; i++) {
      double v = c->series[s].y[i];
      if (isfinite(v)) {
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
      }
    }
  if (*lo > *hi) *lo = 0.0, *hi = 1.0;
}

static void draw(cairo_t *cr, const cz_plot_chart *c) {
  const double W = c->width, H = c->height;
  const double left = 90, right = 30, top = 50, bottom = 70;
  const double pw = W - left - right, ph = H - top - bottom;
  double ylo, yhi;
  data_range(c, &ylo, &yhi);
  axis ya = nice_axis(ylo, yhi);
  axis xa = nice_axis(c->x[0], c->x[c->n - 1]);
  if (xa.step < 1.0) { /* epochs: whole-number ticks */
    xa = nice_axis(floor(c->x[0]) - (c->n == 1), ceil(c->x[c->n - 1]) + (c->n == 1));
    if (xa.step < 1.0) xa.step = 1.0, xa.decimals = 0, xa.sci = 0;
  }
#define PX(v) (left + ((v) - xa.lo) / (xa.hi - xa.lo) * pw)
#define PY(v) (top + ph - ((v) - ya.lo) / (ya.hi - ya.lo) * ph)
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  char buf[48];
  /* Grid and ticks. */
  cairo_set_line_width(cr, 1.0);
  cairo_set_font_size(cr, 13);
  for (int i = 0;; i++) {
    double v = ya.lo + i * ya.step;
    if (v > ya.hi + ya.step * 1e-6) break;
    double y = round(PY(v)) + 0.5;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, left, y);
    cairo_line_to(cr, left + pw, y);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, left - 6, y);
    cairo_line_to(cr, left, y);
    cairo_stroke(cr);
    tick_label(&ya, v, buf, sizeof buf);
    text_at(cr, buf, left - 9, y, 1.0, 0.5);
  }
  for (int i = 0;; i++) {
    double v = xa.lo + i * xa.step;
    if (v > xa.hi + xa.step * 1e-6) break;
    double x = round(PX(v)) + 0.5;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, x, top);
    cairo_line_to(cr, x, top + ph);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, x, top + ph);
    cairo_line_to(cr, x, top + ph + 6);
    cairo_stroke(cr);
    tick_label(&xa, v, buf, sizeof buf);
    text_at(cr, buf, x, top + ph + 10, 0.5, 0.0);
  }
  /* Axes box. */
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, left + 0.5, top + 0.5, pw, ph);
  cairo_stroke(cr);
  /* Title and axis labels. */
  cairo_set_font_size(cr, 18);
  text_at(cr, c->title, left + pw / 2, top / 2, 0.5, 0.5);
  cairo_set_font_size(cr, 15);
  text_at(cr, c->xlabel, left + pw / 2, H - 18, 0.5, 1.0);
  cairo_save(cr);
  cairo_translate(cr, 22, top + ph / 2);
  cairo_rotate(cr, -M_PI / 2);
  text_at(cr, c->ylabel, 0, 0, 0.5, 0.5);
  cairo_restore(cr);
  /* Series, clipped to the plot area (with room for markers on its edge). */
  cairo_save(cr);
  cairo_rectangle(cr, left - 5, top - 5, pw + 10, ph + 10);
  cairo_clip(cr);
  cairo_set_line_width(cr, 2.0);
  for (int s = 0; s < c->nseries; s++) {
    const cz_plot_series *se = &c->series[s];
    cairo_set_source_rgb(cr, se->r, se->g, se->b);
    int pen = 0;
    for (int i = 0; i < c->n; i++) {
      if (!isfinite(se->y[i])) {
        pen = 0;
        continue;
      }
      if (pen) cairo_line_to(cr, PX(c->x[i]), PY(se->y[i]));
      else cairo_move_to(cr, PX(c->x[i]), PY(se->y[i]));
      pen = 1;
    }
    cairo_stroke(cr);
    /* Markers while they stay apart; lines alone for long runs. */
    double radius = c->n > 60 ? 0.0 : c->n > 20 ? 2.5 : 4.0;
    for (int i = 0; i < c->n && radius > 0; i++) {
      if (!isfinite(se->y[i])) continue;
      cairo_arc(cr, PX(c->x[i]), PY(se->y[i]), radius, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
  cairo_restore(cr);
  /* Legend, top right inside the plot. */
  cairo_set_font_size(cr, 13);
  double lw = 0;
  for (int s = 0; s < c->nseries; s++) {
    cairo_text_extents_t te;
    cairo_text_extents(cr, c->series[s].label, &te);
    lw = fmax(lw, te.x_advance);
  }
  double bw = lw + 50, bh = 20.0 * c->nseries + 10;
  /* The corner whose box covers the fewest points and line samples (top
   * right, top left, bottom right, bottom left: first wins on a tie). */
  const double cx[4] = {left + pw - bw - 10, left + 10, left + pw - bw - 10, left + 10};
  const double cy[4] = {top + 10, top + 10, top + ph - bh - 10, top + ph - bh - 10};
  int best = 0;
  long best_hits = -1;
  for (int k = 0; k < 4; k++) {
    long hits = 0;
    for (int s = 0; s < c->nseries; s++)
      for (int i = 0; i < c->n; i++)
        for (int j = 0; j < 16 && (j == 0 || i + 1 < c->n); j++) {
          double t = j / 16.0;
          double y0 = c->series[s].y[i], y1 = i + 1 < c->n ? c->series[s].y[i + 1] : y0;
          if (!isfinite(y0) || !isfinite(y1)) continue;
          double px = PX(c->x[i] + t * (i + 1 < c->n ? c->x[i + 1] - c->x[i] : 0));
          double py = PY(y0 + t * (y1 - y0));
          if (px >= cx[k] - 6 && px <= cx[k] + bw + 6 && py >= cy[k] - 6 && py <= cy[k] + bh + 6)
            hits++;
        }
    if (best_hits < 0 || hits < best_hits) best = k, best_hits = hits;
  }
  double bx = cx[best], by = cy[best];
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, bx, by, bw, bh);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
  cairo_set_line_width(cr, 1.0);
  cairo_stroke(cr);
  for (int s = 0; s < c->nseries; s++) {
    double y = by + 15 + 20.0 * s;
    cairo_set_source_rgb(cr, c->series[s].r, c->series[s].g, c->series[s].b);
    cairo_set_line_width(cr, 2.0);
    cairo_move_to(cr, bx + 8, y);
    cairo_line_to(cr, bx + 36, y);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, c->series[s].label, bx + 42, y, 0.0, 0.5);
  }
#undef PX
#undef PY
}

static cairo_status_t png_to_stream(void *closure, const unsigned char *data, unsigned int n) {
  return fwrite(data, 1, n, closure) == n ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

cz_err *cz_plot_chart_png(const char *path, const cz_plot_chart *chart) {
  if (chart->n < 1 || chart->nseries < 1 || chart->width < 200 || chart->height < 150)
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "plot '%s': %d points, %d series, %dx%d pixels (need >= 1, >= 1, >= 200x150)",
                      path, chart->n, chart->nseries, chart->width, chart->height);
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, chart->width, chart->height);
  cairo_t *cr = cairo_create(surf);
  draw(cr, chart);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  cz_err *e = NULL;
  if (st != CAIRO_STATUS_SUCCESS) {
    e = cz_err_new(CZ_EXIT_RUNTIME, "plot '%s': drawing failed: %s", path,
                   cairo_status_to_string(st));
  } else {
    cz_afile *f;
    e = cz_afile_open(path, &f);
    if (!e) {
      st = cairo_surface_write_to_png_stream(surf, png_to_stream, cz_afile_stream(f));
      if (st != CAIRO_STATUS_SUCCESS) {
        cz_afile_abort(f);
        e = cz_err_new(CZ_EXIT_RUNTIME, "plot '%s': cannot write the PNG: %s", path,
                       cairo_status_to_string(st));
      } else {
        e = cz_afile_commit(f);
      }
    }
  }
  cairo_surface_destroy(surf);
  return cz_err_prefix(e, "plot");
}

void cz_plot_shutdown(void) {
  cairo_debug_reset_static_data();
  FcFini();
}

void cz_plot_release_at_exit(void) {
  static bool registered;
  if (!registered) registered = atexit(cz_plot_shutdown) == 0;
}
