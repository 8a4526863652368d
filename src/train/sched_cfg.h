/* The learning rate and its schedule from the typed configuration
 * (training.lr_scheduler and training.epochs), as the tool we replace hands
 * them to timm (spec reference_behaviour 5.2 and 5.3). */
#ifndef CZ_TRAIN_SCHED_CFG_H
#define CZ_TRAIN_SCHED_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "config/cfg.h"
#include "train/lr_rule.h"
#include "train/sched.h"

/* lr as cz_lr_rule derives it (world size 1, grad_accum_steps as given). */
cz_err *cz_lr_from_cfg(const cz_cfg_training *t, int64_t grad_accum_steps, double *lr,
                       char *why, size_t why_len);

/* create_scheduler_v2's arguments: lr from cz_lr_from_cfg, the plateau
 * mode from the eval metric ('min' for the loss), the noise seed (the run's
 * seed) and the optimizer updates per epoch. */
cz_err *cz_sched_params_from_cfg(const cz_cfg_training *t, cz_metric eval_metric,
                                 int64_t seed, int64_t updates_per_epoch, double lr,
                                 cz_sched_params *p);

/* training.lr_scheduler.start_epoch (0 when unset). epoch_repeats does not
 * change the schedule: timm hands it to iterable datasets as `repeats`,
 * which folder datasets ignore (reference_behaviour 5.3). */
int64_t cz_sched_start_epoch(const cz_cfg_training *t);

#endif
