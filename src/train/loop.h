/* The training loop (operation_mode training and the chains' training
 * step): builds the zoo model, loss, optimizer and schedule from the config,
 * runs the epochs with validation, writes the checkpoints of
 * <run>/<saved_models_dir>/ (timm's CheckpointSaver names, spec
 * reference_behaviour 5.4-5.5), resumes exactly from training.resume, and
 * exports the final model as ONNX. */
#ifndef CZ_TRAIN_LOOP_H
#define CZ_TRAIN_LOOP_H
#include <stdint.h>

#include "config/cfg.h"
#include "util/err.h"

/* One epoch's numbers, as summary.csv has them (top1/top5 in percent, lr
 * the optimizer's at the end of the epoch's training). */
typedef struct {
  int64_t epoch;
  double train_loss, eval_loss, eval_top1, eval_top5, lr;
} cz_loop_epoch_metrics;

/* The per-epoch metrics hook (the training service plugs in
 * train/loop_outputs.c: summary.csv, TensorBoard, plots): `begin` is called
 * once before training starts (after a resume), with the saved-models
 * folder and the metrics of the epochs finished before (the checkpoint's;
 * n 0 on a fresh start); `epoch_end` once per finished epoch, after
 * validation and before the checkpoints. With model_ema the eval numbers
 * are the EMA's, as timm's train.py reports them. NULL fn: nothing. */
typedef struct {
  void *user;
  cz_err *(*epoch_end)(void *user, const char *saved_models_dir,
                       const cz_loop_epoch_metrics *m);
  cz_err *(*begin)(void *user, const char *saved_models_dir,
                   const cz_loop_epoch_metrics *earlier, int64_t n);
} cz_loop_metrics;

/* Runs the whole training; *onnx_path (owned) is the exported model. */
cz_err *cz_train_loop_run(const cz_config *cfg, const char *run_dir,
                          const cz_loop_metrics *hook, char **onnx_path);

#endif
