/* The epoch loop: train, validate, report (the metrics hook), step the
 * schedule, checkpoint; then export the final in-memory model as ONNX
 * (spec reference_behaviour 5.4 and 5.6: not model_best). Ctrl-C (SIGINT)
 * stops after the current update, saves last.pth.tar (resumable from that
 * update) and still exports. With training.model_ema the EMA weights are
 * validated after the model's each epoch (loop_ema.c). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/onnx_export.h"
#include "train/loop_priv.h"
#include "util/log.h"
#include "util/mem.h"

static void on_sigint(int sig) {
  (void)sig;
  cz_loop_interrupted = 1;
}

static cz_err *make_dir(const char *path) {
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot create the folder: %s", path, strerror(errno));
  return NULL;
}

/* With model_ema the model is validated, then the EMA (timm's order and
 * log lines); the better of the two by eval_metric (the model on a tie) is
 * the epoch's result everywhere after (summary, schedule, best, checkpoint
 * metric), as the tool we replace does for its summary and schedule, and
 * the export at the end takes the weights that won the last epoch. */
static cz_err *validate_epoch(cz_trainer *t, double *loss, double *top1, double *top5) {
  cz_err *e = cz_loop_validate(t, false, loss, top1, top5);
  if (e || !t->ema) return e;
  double el, e1, e5;
  if ((e = cz_loop_validate(t, true, &el, &e1, &e5))) return e;
  t->export_ema = cz_loop_better(t, cz_loop_pick_metric(t, el, e1, e5),
                                 cz_loop_pick_metric(t, *loss, *top1, *top5));
  if (t->export_ema) *loss = el, *top1 = e1, *top5 = e5;
  return NULL;
}

static cz_err *end_of_epoch(cz_trainer *t, double train_loss) {
  double loss, top1, top5;
  cz_err *e = validate_epoch(t, &loss, &top1, &top5);
  if (e) return e;
  double m = cz_loop_pick_metric(t, loss, top1, top5);
  if (!t->has_best || cz_loop_better(t, m, t->best_metric))
    t->has_best = true, t->best_metric = m, t->best_epoch = t->epoch;
  cz_info("*** Best metric: %.4f (epoch %lld)", t->best_metric, (long long)t->best_epoch);
  /* per-epoch metrics (summary.csv, TensorBoard, plots: loop_outputs.c),
   * also kept for the checkpoints so a resumed run can write them whole */
  cz_loop_epoch_metrics em = {t->epoch, train_loss, loss, top1, top5, cz_optim_lr(t->opt)};
  t->rows = cz_xrealloc(t->rows, (size_t)(t->n_rows + 1) * sizeof *t->rows);
  t->rows[t->n_rows++] = em;
  if (t->hook && t->hook->epoch_end && (e = t->hook->epoch_end(t->hook->user, t->ckpt_dir, &em)))
    return e;
  /* timm: lr_scheduler.step(epoch + 1, metric) after the checkpoint; the
   * state saved here is already stepped, so a resume needs no replay */
  cz_sched_step(&t->sched, t->epoch + 1, &m);
  cz_optim_set_lr(t->opt, cz_sched_lr(&t->sched));
  t->epoch++, t->step_in_epoch = 0;
  t->ep_loss_sum = 0, t->ep_loss_n = 0;
  return cz_loop_epoch_checkpoints(t, m);
}

static cz_err *export_onnx(cz_trainer *t, char **onnx_path) {
  /* the eval graph with the final weights (the EMA's when they validated
   * better at the last epoch end) */
  bool ema = t->ema && t->export_ema;
  cz_loop_weights_to_eval(t, ema);
  static const char *const metric_names[] = {"top1", "top5", "loss"}; /* cz_metric order */
  if (t->ema)
    cz_info("exporting the %s weights (the better at the last validation by %s)",
            ema ? "EMA" : "model's", metric_names[t->metric]);
  char *dir = cz_asprintf("%s/%s", t->ckpt_dir, t->entry->name);
  cz_err *e = make_dir(dir);
  char *path = cz_asprintf("%s/%s.onnx", dir, t->entry->name);
  free(dir);
  const cz_cfg_quantization *q = &t->cfg->quantization;
  cz_onnx_export_opts o = {q->target_opset.set ? (int)q->target_opset.v : CZ_ONNX_OPSET_DEFAULT};
  if (!e) e = cz_onnx_export(t->ge, &o, path);
  if (e) {
    free(path);
    return e;
  }
  cz_info("exported %s (opset %d)", path, o.opset);
  *onnx_path = path;
  return NULL;
}

static cz_err *run(cz_trainer *t, char **onnx_path) {
  cz_err *e = cz_loop_setup(t);
  if (e) return e;
  const char *sm = t->cfg->general.saved_models_dir.set ? t->cfg->general.saved_models_dir.v
                                                        : "saved_models";
  t->ckpt_dir = sm[0] == '/' ? cz_xstrdup(sm) : cz_asprintf("%s/%s", t->run_dir, sm);
  if ((e = make_dir(t->ckpt_dir))) return e;
  if (t->cfg->training.resume.set && (e = cz_loop_resume(t, t->cfg->training.resume.v))) return e;
  if (t->hook && t->hook->begin &&
      (e = t->hook->begin(t->hook->user, t->ckpt_dir, t->rows, t->n_rows)))
    return e;
  while (t->epoch < t->num_epochs && !cz_loop_interrupted) {
    double train_loss;
    if ((e = cz_loop_train_epoch(t, &train_loss))) return e;
    if (cz_loop_interrupted && t->step_in_epoch < t->updates_per_epoch) break;
    if ((e = end_of_epoch(t, train_loss))) return e;
  }
  if (cz_loop_interrupted) {
    cz_warn("interrupted: saving last.pth.tar at epoch %lld step %lld and exporting",
            (long long)t->epoch, (long long)t->step_in_epoch);
    char *last = cz_asprintf("%s/last.pth.tar", t->ckpt_dir);
    e = cz_loop_save(t, last, NULL);
    free(last);
    if (e) return e;
  }
  return export_onnx(t, onnx_path);
}

cz_err *cz_train_loop_run(const cz_config *cfg, const char *run_dir, const cz_loop_metrics *hook,
                          char **onnx_path) {
  cz_trainer t = {.cfg = cfg, .run_dir = run_dir, .hook = hook, .best_epoch = -1};
  *onnx_path = NULL;
  cz_loop_interrupted = 0;
  struct sigaction sa = {0}, old;
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  cz_err *e = run(&t, onnx_path);
  sigaction(SIGINT, &old, NULL);
  cz_loop_teardown(&t);
  return e;
}
