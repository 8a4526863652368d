/* The training run's per-epoch outputs (loop_outputs.h). A resumed run
 * rewrites summary.csv from the rows its checkpoint carries (the rows of
 * later epochs, from a run into the same folder, are dropped, as timm's
 * trim does) and writes their TensorBoard scalars again; the plots are
 * redrawn from summary.csv itself. */
#include "train/loop_outputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_load.h"
#include "train/metrics_summary.h"
#include "train/plot_training.h"
#include "util/atomic_file.h"
#include "util/mem.h"

#define MAX_ROWS 100000

/* The data rows of summary.csv (the header and unparsable lines skipped). */
static int read_rows(const char *path, cz_summary_row **out) {
  FILE *f = fopen(path, "r");
  *out = NULL;
  if (!f) return 0;
  int n = 0, cap = 0;
  char line[512];
  while (fgets(line, sizeof line, f) && n < MAX_ROWS) {
    cz_summary_row r;
    if (sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf", &r.epoch, &r.train_loss, &r.eval_loss,
               &r.eval_top1, &r.eval_top5, &r.lr) != 6)
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      *out = cz_xrealloc(*out, (size_t)cap * sizeof **out);
    }
    (*out)[n++] = r;
  }
  fclose(f);
  return n;
}

static cz_err *tb_epoch(cz_tb_writer *tb, const cz_loop_epoch_metrics *m) {
  static const char *const tags[] = {"train/loss", "eval/loss", "eval/top1", "eval/top5", "lr"};
  const double v[] = {m->train_loss, m->eval_loss, m->eval_top1, m->eval_top5, m->lr};
  cz_err *e = NULL;
  for (int i = 0; i < 5 && !e; i++) e = cz_tb_scalar(tb, tags[i], m->epoch, (float)v[i]);
  return e ? e : cz_tb_flush(tb);
}

static cz_summary_row to_row(const cz_loop_epoch_metrics *m) {
  return (cz_summary_row){(int)m->epoch, m->train_loss, m->eval_loss, m->eval_top1,
                          m->eval_top5, m->lr};
}

static cz_err *redraw(const char *dir, const char *summary) {
  cz_summary_row *rows;
  int n = read_rows(summary, &rows);
  cz_err *e = n > 0 ? cz_plot_training(dir, rows, n) : NULL;
  free(rows);
  return e;
}

/* args.yaml; for a resumed run summary.csv, the TensorBoard scalars and the
 * plots of the epochs before it (from the checkpoint), so its outputs are
 * those of the uninterrupted run. */
static cz_err *begin(void *user, const char *dir, const cz_loop_epoch_metrics *earlier,
                     int64_t n) {
  cz_loop_outputs *o = user;
  o->started = true;
  char *yaml = cz_config_to_yaml(o->cfg), *path = cz_asprintf("%s/args.yaml", dir);
  cz_err *e = cz_write_file_atomic(path, yaml, strlen(yaml));
  free(yaml);
  free(path);
  char *summary = cz_asprintf("%s/summary.csv", dir);
  if (!e && o->cfg->training.resume.set) {
    cz_summary_row *rows = cz_xcalloc((size_t)(n > 0 ? n : 1), sizeof *rows);
    for (int64_t i = 0; i < n; i++) rows[i] = to_row(&earlier[i]);
    e = cz_summary_write(summary, rows, (int)n);
    free(rows);
    if (!e && n > 0) e = redraw(dir, summary);
  }
  if (!e && o->cfg->general.log_tb.set && o->cfg->general.log_tb.v) {
    e = cz_tb_open(dir, &o->tb);
    for (int64_t i = 0; i < n && !e; i++) e = tb_epoch(o->tb, &earlier[i]);
  }
  free(summary);
  return e;
}

static cz_err *epoch_end(void *user, const char *dir, const cz_loop_epoch_metrics *m) {
  cz_loop_outputs *o = user;
  char *summary = cz_asprintf("%s/summary.csv", dir);
  cz_err *e = o->started ? NULL : begin(o, dir, NULL, 0);
  cz_summary_row row = to_row(m);
  if (!e) e = cz_summary_append(summary, &row);
  if (!e && o->tb) e = tb_epoch(o->tb, m);
  if (!e) e = redraw(dir, summary);
  free(summary);
  return e;
}

cz_loop_metrics cz_loop_outputs_hook(cz_loop_outputs *o) {
  return (cz_loop_metrics){o, epoch_end, begin};
}

cz_err *cz_loop_outputs_close(cz_loop_outputs *o) {
  cz_err *e = o->tb ? cz_tb_close(o->tb) : NULL;
  o->tb = NULL;
  return e;
}
