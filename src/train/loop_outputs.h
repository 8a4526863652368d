/* The training run's per-epoch outputs, plugged into the loop's metrics
 * hook: summary.csv (timm's format), the PNG curves (loss, accuracy, lr),
 * TensorBoard scalars when general.log_tb, and args.yaml (the resolved
 * config) in the saved-models folder. */
#ifndef CZ_TRAIN_LOOP_OUTPUTS_H
#define CZ_TRAIN_LOOP_OUTPUTS_H
#include "config/cfg.h"
#include "train/loop.h"
#include "train/tb_events.h"

typedef struct {
  const cz_config *cfg;
  cz_tb_writer *tb; /* opened at the first epoch when general.log_tb */
  bool started;     /* args.yaml written, earlier epochs written for a resume */
} cz_loop_outputs;

/* A hook whose user is `o` (zero it first and set cfg). */
cz_loop_metrics cz_loop_outputs_hook(cz_loop_outputs *o);
/* Flushes and closes what is open; returns the first error. */
cz_err *cz_loop_outputs_close(cz_loop_outputs *o);
#endif
