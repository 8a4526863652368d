/* Line charts as PNG files (cairo): a title, axes with "nice" ticks and
 * labels, one line with point markers per series, and a legend. Used for the
 * training curves; readable at about 800x500. */
#ifndef CZ_TRAIN_PLOT_CHART_H
#define CZ_TRAIN_PLOT_CHART_H

#include "util/err.h"

typedef struct {
  const char *label;   /* legend text */
  const double *y;     /* n values; NaN leaves a gap */
  double r, g, b;      /* colour, 0..1 */
} cz_plot_series;

typedef struct {
  const char *title, *xlabel, *ylabel;
  int width, height;   /* pixels */
  int n;               /* points per series, >= 1 */
  const double *x;     /* n values, shared by all series */
  int nseries;         /* >= 1 */
  const cz_plot_series *series;
} cz_plot_chart;

/* Draws the chart and writes it as an RGB PNG at path, atomically
 * (util/atomic_file.h). */
cz_err *cz_plot_chart_png(const char *path, const cz_plot_chart *chart);

/* Frees the font caches cairo and fontconfig keep for the process's life
 * (cairo_debug_reset_static_data, FcFini), so leak checkers see only
 * czoo's own blocks. Call it once at exit, after the last plot. */
void cz_plot_shutdown(void);
/* Registers cz_plot_shutdown to run at exit (once): every cairo user calls
 * it before drawing, so the caches live until nothing draws any more. */
void cz_plot_release_at_exit(void);

#endif
