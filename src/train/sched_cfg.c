/* Config -> lr rule and schedule arguments (see sched_cfg.h). Unset keys
 * that have no default in the schema take timm's scheduler_kwargs
 * defaults. */
#include "train/sched_cfg.h"

#include <string.h>

cz_err *cz_lr_from_cfg(const cz_cfg_training *t, int64_t grad_accum_steps, double *lr,
                       char *why, size_t why_len) {
  const cz_cfg_scheduler *s = &t->lr_scheduler;
  cz_lr_rule_in in = {
      .lr_set = s->lr.set,
      .lr = s->lr.v,
      .lr_base = s->lr_base.set ? s->lr_base.v : 0.1,
      .lr_base_size = s->lr_base_size.set ? s->lr_base_size.v : 256,
      .lr_base_scale = s->lr_base_scale.set ? s->lr_base_scale.v : "",
      .opt = t->optimizer.opt.set ? t->optimizer.opt.v : "sgd",
      .batch_size = t->batch_size.set ? t->batch_size.v : 0,
      .world_size = 1,
      .grad_accum_steps = grad_accum_steps,
  };
  return cz_lr_rule(&in, lr, why, why_len);
}

#define F(field, dflt) (s->field.set ? s->field.v : (dflt))

cz_err *cz_sched_params_from_cfg(const cz_cfg_training *t, cz_metric eval_metric,
                                 int64_t seed, int64_t updates_per_epoch, double lr,
                                 cz_sched_params *p) {
  const cz_cfg_scheduler *s = &t->lr_scheduler;
  memset(p, 0, sizeof *p);
  p->sched = s->sched.set ? s->sched.v : "cosine";
  p->lr = lr;
  p->epochs = t->epochs.set ? t->epochs.v : 100;
  p->decay_epochs = F(decay_epochs, 30.0);
  if (s->decay_milestones.set) {
    if (s->decay_milestones.n > CZ_SCHED_MAX_MILESTONES)
      return cz_err_new(CZ_EXIT_USAGE, "training.lr_scheduler.decay_milestones: %zu values; "
                                       "expected at most %d",
                        s->decay_milestones.n, CZ_SCHED_MAX_MILESTONES);
    p->n_milestones = (int)s->decay_milestones.n;
    for (size_t i = 0; i < s->decay_milestones.n; i++)
      p->decay_milestones[i] = s->decay_milestones.v[i];
  } else {
    p->n_milestones = 2;
    p->decay_milestones[0] = 30;
    p->decay_milestones[1] = 60;
  }
  p->warmup_epochs = F(warmup_epochs, 5);
  p->cooldown_epochs = F(cooldown_epochs, 0);
  p->patience_epochs = F(patience_epochs, 10);
  p->decay_rate = F(decay_rate, 0.1);
  p->min_lr = F(min_lr, 0.0);
  p->warmup_lr = F(warmup_lr, 1e-5);
  p->warmup_prefix = F(warmup_prefix, false);
  if (s->lr_noise.set) {
    if (s->lr_noise.n < 1 || s->lr_noise.n > 2)
      return cz_err_new(CZ_EXIT_USAGE, "training.lr_scheduler.lr_noise: %zu values; expected "
                                       "null, one number or a [start, end] pair",
                        s->lr_noise.n);
    p->n_noise = (int)s->lr_noise.n;
    for (size_t i = 0; i < s->lr_noise.n; i++) p->noise[i] = s->lr_noise.v[i];
  }
  p->noise_pct = F(lr_noise_pct, 0.67);
  p->noise_std = F(lr_noise_std, 1.0);
  p->noise_seed = seed;
  p->cycle_mul = F(lr_cycle_mul, 1.0);
  p->cycle_decay = F(lr_cycle_decay, 0.1);
  p->cycle_limit = F(lr_cycle_limit, 1);
  p->k_decay = F(lr_k_decay, 1.0);
  p->plateau_min = eval_metric == CZ_METRIC_LOSS;
  p->on_updates = F(sched_on_updates, false);
  p->updates_per_epoch = updates_per_epoch;
  return NULL;
}

int64_t cz_sched_start_epoch(const cz_cfg_training *t) {
  return t->lr_scheduler.start_epoch.set ? t->lr_scheduler.start_epoch.v : 0;
}
