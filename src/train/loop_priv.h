/* The training loop's shared state, split by concern over loop_setup.c
 * (model, loss, optimizer, schedule), loop_step.c (one epoch of updates),
 * loop_validate.c, loop_ema.c (training.model_ema), loop_ckpt.c
 * (checkpoint files and their history) and loop_resume.c (training.resume). */
#ifndef CZ_TRAIN_LOOP_PRIV_H
#define CZ_TRAIN_LOOP_PRIV_H
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "data/ds.h"
#include "data/pipeline.h"
#include "graph/exec.h"
#include "graph/graph.h"
#include "train/loop.h"
#include "train/optim.h"
#include "train/sched.h"
#include "zoo/zoo.h"

#define CZ_LOOP_MAX_HIST 64

typedef struct {
  int64_t epoch;
  double metric;
} cz_loop_hist;

typedef struct {
  const cz_config *cfg;
  const char *run_dir;
  char *ckpt_dir; /* <run>/<saved_models_dir> */
  const cz_zoo_entry *entry;
  cz_ds_set ds;
  cz_pipe *ptrain, *pval;
  int64_t num_classes, train_rows; /* rows of a training batch (splits x batch) */
  cz_graph *g;  /* model + loss, train mode */
  cz_graph *ge; /* the same model, eval mode, validation batch */
  int loss_v, target_in; /* value ids on g */
  bool soft_targets;     /* the target input is float [N, C] */
  cz_exec *ex, *exe;
  cz_train_param *params;
  int n_params;
  cz_optim *opt;
  cz_sched sched;
  double clip_grad;
  const char *clip_mode;
  /* progress counters: a checkpoint stores them (exact resume) */
  int64_t epoch;         /* the epoch being trained */
  int64_t step_in_epoch; /* updates done in it */
  int64_t global_step;   /* updates since the start of training */
  int64_t num_epochs, updates_per_epoch;
  cz_metric metric;
  bool has_best;
  double best_metric;
  int64_t best_epoch;
  cz_loop_hist hist[CZ_LOOP_MAX_HIST];
  int n_hist, max_hist;
  char *recovery[2]; /* the last two recovery files, oldest first */
  const cz_loop_metrics *hook;
  /* the running training-loss meter of the epoch in progress (a recovery
   * checkpoint carries it, so a resumed epoch logs the same averages) */
  double ep_loss_sum;
  int64_t ep_loss_n;
  /* every finished epoch's metrics (summary.csv's rows; checkpoints carry
   * them, so a resumed run's outputs are whole) */
  cz_loop_epoch_metrics *rows;
  int64_t n_rows;
  /* training.model_ema: the EMA copy of each parameter and buffer of g,
   * indexed by value id (NULL for other values); NULL when off */
  float **ema;
  double ema_decay;
  bool export_ema; /* the EMA validated better than the model at the last epoch end */
} cz_trainer;

/* Set by SIGINT: the loop stops after the current step. */
extern volatile sig_atomic_t cz_loop_interrupted;

cz_err *cz_loop_setup(cz_trainer *t);
void cz_loop_teardown(cz_trainer *t);
/* Trains epoch t->epoch from step t->step_in_epoch on; *train_loss: the
 * mean loss of the updates it ran. Stops early when interrupted. */
cz_err *cz_loop_train_epoch(cz_trainer *t, double *train_loss);
/* Validates the current weights (ema: the EMA weights) on the validation
 * split, with general.tta's flip averaging. */
cz_err *cz_loop_validate(cz_trainer *t, bool ema, double *loss, double *top1, double *top5);
/* The eval graph gets the train graph's weights (ema: the EMA's). */
void cz_loop_weights_to_eval(cz_trainer *t, bool ema);
/* training.model_ema (loop_ema.c): the EMA starts as a copy of the
 * configured weights; updated after every optimizer step. */
void cz_loop_ema_init(cz_trainer *t);
void cz_loop_ema_update(cz_trainer *t);
void cz_loop_ema_free(cz_trainer *t);
/* Swaps the EMA buffers with the train graph's weight data, so the graph's
 * state_dict code reads or fills the EMA (call twice to swap back). */
void cz_loop_ema_swap(cz_trainer *t);
/* metric value for the config's eval_metric; better: a beats b. */
double cz_loop_pick_metric(const cz_trainer *t, double loss, double top1, double top5);
bool cz_loop_better(const cz_trainer *t, double a, double b);
/* The checkpoint tree (epoch, arch, state_dict, metric, version, args and
 * czoo_state); metric NULL: none yet. */
cz_err *cz_loop_save(cz_trainer *t, const char *path, const double *metric);
/* After epoch t->epoch validated with `metric`: last.pth.tar,
 * checkpoint-<epoch>.pth.tar in the kept history, model_best.pth.tar. */
cz_err *cz_loop_epoch_checkpoints(cz_trainer *t, double metric);
/* recovery-<epoch>-<step>.pth.tar, the last two kept. */
cz_err *cz_loop_recovery_checkpoint(cz_trainer *t);
/* training.resume: restores weights, optimizer, schedule and counters. */
cz_err *cz_loop_resume(cz_trainer *t, const char *path);

#endif
