/* The learning rate when training.lr_scheduler.lr is null (or 0): timm's
 * train.py rule from lr_base, lr_base_size, lr_base_scale and the global
 * batch size. */
#ifndef CZ_TRAIN_LR_RULE_H
#define CZ_TRAIN_LR_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct {
  bool lr_set;             /* lr given (and not 0): it is used as is */
  double lr;
  double lr_base;          /* default 0.1 */
  int64_t lr_base_size;    /* default 256 */
  const char *lr_base_scale; /* "linear", "sqrt", or "" / NULL: by optimizer */
  const char *opt;         /* optimizer name, e.g. "sgd", "adamw" */
  int64_t batch_size, world_size, grad_accum_steps;
} cz_lr_rule_in;

/* Writes the lr to *lr and a one-line explanation for the log to why (as
 * timm logs it: "Learning rate (x) calculated from base learning rate (y)
 * and effective global batch size (z) with s scaling."). */
cz_err *cz_lr_rule(const cz_lr_rule_in *in, double *lr, char *why, size_t why_len);

#endif
