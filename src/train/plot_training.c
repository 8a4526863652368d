/* Training curves: summary rows into the three charts of plot_training.h. */
#include "train/plot_training.h"

#include <stdlib.h>

#include "train/plot_chart.h"
#include "util/mem.h"

cz_err *cz_plot_training(const char *dir, const cz_summary_row *rows, int n) {
  if (n < 1) return cz_err_new(CZ_EXIT_RUNTIME, "plot: no epochs to plot in '%s'", dir);
  cz_plot_release_at_exit();
  double *v = cz_xmalloc(sizeof(double) * (size_t)n * 6);
  double *x = v, *tl = v + n, *el = v + 2 * n, *t1 = v + 3 * n, *t5 = v + 4 * n, *lr = v + 5 * n;
  for (int i = 0; i < n; i++) {
    x[i] = rows[i].epoch;
    tl[i] = rows[i].train_loss;
    el[i] = rows[i].eval_loss;
    t1[i] = rows[i].eval_top1;
    t5[i] = rows[i].eval_top5;
    lr[i] = rows[i].lr;
  }
  const cz_plot_series loss[] = {{"train loss", tl, 0.12, 0.47, 0.71},
                                 {"eval loss", el, 1.0, 0.5, 0.05}};
  const cz_plot_series acc[] = {{"eval top-1", t1, 0.17, 0.63, 0.17},
                                {"eval top-5", t5, 0.58, 0.4, 0.74}};
  const cz_plot_series lrs[] = {{"learning rate", lr, 0.84, 0.15, 0.16}};
  const struct {
    const char *file, *title, *ylabel;
    int ns;
    const cz_plot_series *s;
  } charts[] = {{"loss.png", "Loss", "loss", 2, loss},
                {"accuracy.png", "Accuracy", "accuracy (%)", 2, acc},
                {"lr.png", "Learning rate", "learning rate", 1, lrs}};
  cz_err *e = NULL;
  for (size_t k = 0; k < sizeof charts / sizeof charts[0] && !e; k++) {
    cz_plot_chart c = {charts[k].title, "epoch", charts[k].ylabel, CZ_PLOT_WIDTH,
                       CZ_PLOT_HEIGHT, n, x, charts[k].ns, charts[k].s};
    char *path = cz_asprintf("%s/%s", dir, charts[k].file);
    e = cz_plot_chart_png(path, &c);
    free(path);
  }
  free(v);
  return e;
}
