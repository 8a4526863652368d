/* The training run's per-epoch outputs (loop_outputs.h). The plots are
 * redrawn from summary.csv itself, so a resumed run's curves include the
 * epochs before the resume. */
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

static cz_err *start(cz_loop_outputs *o, const char *dir, int64_t epoch, const char *summary) {
  o->started = true;
  char *yaml = cz_config_to_yaml(o->cfg), *path = cz_asprintf("%s/args.yaml", dir);
  cz_err *e = cz_write_file_atomic(path, yaml, strlen(yaml));
  free(yaml);
  free(path);
  /* a resumed run replaces the rows from its first epoch on, as timm does */
  if (!e && o->cfg->training.resume.set) e = cz_summary_trim(summary, (int)epoch);
  if (!e && o->cfg->general.log_tb.set && o->cfg->general.log_tb.v) e = cz_tb_open(dir, &o->tb);
  return e;
}

static cz_err *tb_epoch(cz_tb_writer *tb, const cz_loop_epoch_metrics *m) {
  static const char *const tags[] = {"train/loss", "eval/loss", "eval/top1", "eval/top5", "lr"};
  const double v[] = {m->train_loss, m->eval_loss, m->eval_top1, m->eval_top5, m->lr};
  cz_err *e = NULL;
  for (int i = 0; i < 5 && !e; i++) e = cz_tb_scalar(tb, tags[i], m->epoch, (float)v[i]);
  return e ? e : cz_tb_flush(tb);
}

static cz_err *epoch_end(void *user, const char *dir, const cz_loop_epoch_metrics *m) {
  cz_loop_outputs *o = user;
  char *summary = cz_asprintf("%s/summary.csv", dir);
  cz_err *e = o->started ? NULL : start(o, dir, m->epoch, summary);
  cz_summary_row row = {(int)m->epoch, m->train_loss, m->eval_loss, m->eval_top1, m->eval_top5,
                        m->lr};
  if (!e) e = cz_summary_append(summary, &row);
  if (!e && o->tb) e = tb_epoch(o->tb, m);
  if (!e) {
    cz_summary_row *rows;
    int n = read_rows(summary, &rows);
    if (n > 0) e = cz_plot_training(dir, rows, n);
    free(rows);
  }
  free(summary);
  return e;
}

cz_loop_metrics cz_loop_outputs_hook(cz_loop_outputs *o) {
  return (cz_loop_metrics){o, epoch_end};
}

cz_err *cz_loop_outputs_close(cz_loop_outputs *o) {
  cz_err *e = o->tb ? cz_tb_close(o->tb) : NULL;
  o->tb = NULL;
  return e;
}
