/* The training.optimizer section of the config as an optimizer config
 * (timm's optimizer_kwargs: opt-eps / opt-betas / layer_decay only when
 * set). */
#ifndef CZ_TRAIN_OPTIM_CFG_H
#define CZ_TRAIN_OPTIM_CFG_H
#include "config/cfg.h"
#include "train/optim.h"

/* out->opt points into c (keep c alive while out is used); lr is the
 * learning rate the scheduler starts from. Errors name the key. */
cz_err *cz_optim_config_from_cfg(const cz_cfg_optimizer *c, double lr,
                                 cz_optim_config *out);
#endif
