/* Checks of the schedule's settings (see sched_check.h). The limits are
 * those under which timm's schedulers are defined: timm itself asserts some
 * (t_initial > 0, lr_min >= 0, plateau per epoch only, torch's plateau
 * factor < 1) and divides by or takes logs of others. */
#include "train/sched_check.h"

#include <math.h>
#include <string.h>

#define KEY "training.lr_scheduler."

static const char *const names[] = {"cosine", "tanh", "step", "multistep", "plateau", "poly"};

static cz_err *bad(const char *key, double v, const char *expected) {
  return cz_err_new(CZ_EXIT_USAGE, KEY "%s: %.17g is out of range; expected %s", key, v,
                    expected);
}

cz_err *cz_sched_check(const cz_sched_params *p, cz_sched_kind *kind) {
  int k = -1;
  for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
    if (p->sched && strcmp(p->sched, names[i]) == 0) k = i;
  if (k < 0)
    return cz_err_new(CZ_EXIT_USAGE,
                      KEY "sched: '%s' is not a scheduler; expected one of cosine, tanh, "
                          "step, multistep, plateau, poly",
                      p->sched ? p->sched : "(none)");
  *kind = (cz_sched_kind)k;
  if (!(isfinite(p->lr) && p->lr >= 0))
    return cz_err_new(CZ_EXIT_USAGE, KEY "lr: %.17g is out of range; expected a finite "
                                     "number >= 0", p->lr);
  if (p->epochs < 1)
    return cz_err_new(CZ_EXIT_USAGE, "training.epochs: %lld is out of range; expected >= 1",
                      (long long)p->epochs);
  if (!(isfinite(p->min_lr) && p->min_lr >= 0)) return bad("min_lr", p->min_lr, "a finite number >= 0");
  if (!(isfinite(p->warmup_lr) && p->warmup_lr >= 0))
    return bad("warmup_lr", p->warmup_lr, "a finite number >= 0");
  if (p->warmup_epochs < 0) return bad("warmup_epochs", (double)p->warmup_epochs, "an integer >= 0");
  if (p->cooldown_epochs < 0)
    return bad("cooldown_epochs", (double)p->cooldown_epochs, "an integer >= 0");
  if (p->patience_epochs < 0)
    return bad("patience_epochs", (double)p->patience_epochs, "an integer >= 0");
  if (*kind == CZ_SCHED_STEP && !(isfinite(p->decay_epochs) && p->decay_epochs > 0))
    return bad("decay_epochs", p->decay_epochs, "a number > 0 for sched 'step'");
  if (!isfinite(p->decay_rate)) return bad("decay_rate", p->decay_rate, "a finite number");
  if (*kind == CZ_SCHED_PLATEAU && !(p->decay_rate >= 0 && p->decay_rate < 1))
    return bad("decay_rate", p->decay_rate, "0 <= decay_rate < 1 for sched 'plateau'");
  if (p->n_milestones < 0 || p->n_milestones > CZ_SCHED_MAX_MILESTONES)
    return cz_err_new(CZ_EXIT_USAGE, KEY "decay_milestones: %d values; expected at most %d",
                      p->n_milestones, CZ_SCHED_MAX_MILESTONES);
  for (int i = 0; i < p->n_milestones; i++) {
    if (p->decay_milestones[i] < 0 || p->decay_milestones[i] > ((int64_t)1 << 30))
      return bad("decay_milestones", (double)p->decay_milestones[i], "epochs >= 0");
    if (i > 0 && p->decay_milestones[i] < p->decay_milestones[i - 1])
      return cz_err_new(CZ_EXIT_USAGE, KEY "decay_milestones: %lld after %lld; expected "
                                       "epochs in ascending order",
                        (long long)p->decay_milestones[i], (long long)p->decay_milestones[i - 1]);
  }
  if (!(isfinite(p->cycle_mul) && p->cycle_mul > 0))
    return bad("lr_cycle_mul", p->cycle_mul, "a number > 0");
  if (!isfinite(p->cycle_decay)) return bad("lr_cycle_decay", p->cycle_decay, "a finite number");
  if (p->cycle_limit < 0) return bad("lr_cycle_limit", (double)p->cycle_limit, "an integer >= 0");
  if (!(isfinite(p->k_decay) && p->k_decay > 0))
    return bad("lr_k_decay", p->k_decay, "a number > 0");
  if (p->n_noise < 0 || p->n_noise > 2)
    return cz_err_new(CZ_EXIT_USAGE, KEY "lr_noise: %d values; expected null, one number or "
                                     "a [start, end] pair of fractions of the schedule",
                      p->n_noise);
  for (int i = 0; i < p->n_noise; i++)
    if (!isfinite(p->noise[i]) || p->noise[i] < 0)
      return bad("lr_noise", p->noise[i], "fractions of the schedule length >= 0");
  if (p->n_noise > 0) {
    if (!(isfinite(p->noise_pct) && p->noise_pct > 0))
      return bad("lr_noise_pct", p->noise_pct, "a number > 0");
    if (!(isfinite(p->noise_std) && p->noise_std > 0))
      return bad("lr_noise_std", p->noise_std, "a number > 0");
  }
  if (p->on_updates) {
    if (*kind == CZ_SCHED_PLATEAU)
      return cz_err_new(CZ_EXIT_USAGE, KEY "sched_on_updates: true with sched 'plateau'; "
                                       "expected false (plateau steps once per epoch, as in timm)");
    if (p->updates_per_epoch < 1 || p->updates_per_epoch > ((int64_t)1 << 30))
      return cz_err_new(CZ_EXIT_USAGE, "updates per epoch: %lld; expected 1 .. 2^30 with "
                                       KEY "sched_on_updates",
                        (long long)p->updates_per_epoch);
  }
  return NULL;
}
