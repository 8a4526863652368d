/* Checks the learning-rate schedule's settings before anything is built:
 * one error naming the training.lr_scheduler key, the value and what is
 * expected. */
#ifndef CZ_TRAIN_SCHED_CHECK_H
#define CZ_TRAIN_SCHED_CHECK_H

#include "train/sched.h"

/* Resolves p->sched to *kind and checks every value. */
cz_err *cz_sched_check(const cz_sched_params *p, cz_sched_kind *kind);

#endif
