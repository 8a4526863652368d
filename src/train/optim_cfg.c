/* training.optimizer -> cz_optim_config, as timm 1.0.31's optimizer_kwargs
 * (defaults as the config schema sets them: opt sgd, momentum 0.9,
 * weight_decay 2e-5). */
#include <string.h>

#include "train/optim_cfg.h"

cz_err *cz_optim_config_from_cfg(const cz_cfg_optimizer *c, double lr,
                                 cz_optim_config *out) {
  memset(out, 0, sizeof *out);
  out->opt = c->opt.set && c->opt.v ? c->opt.v : "sgd";
  out->lr = lr;
  out->momentum = c->momentum.set ? c->momentum.v : 0.9;
  out->weight_decay = c->weight_decay.set ? c->weight_decay.v : 2e-5;
  if (c->opt_eps.set) {
    out->has_eps = true;
    out->eps = c->opt_eps.v;
  }
  if (c->opt_betas.set) {
    if (c->opt_betas.n != 2)
      return cz_err_new(CZ_EXIT_USAGE,
                        "training.optimizer.opt-betas: %zu values given; expected 2 "
                        "for opt '%s'", c->opt_betas.n, out->opt);
    out->has_betas = true;
    out->betas[0] = c->opt_betas.v[0];
    out->betas[1] = c->opt_betas.v[1];
  }
  if (c->layer_decay.set) {
    out->has_layer_decay = true;
    out->layer_decay = c->layer_decay.v;
  }
  return NULL;
}
