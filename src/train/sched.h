/* Learning-rate schedules of the training service, with timm 1.0.31's
 * semantics (timm/scheduler/: scheduler_factory.create_scheduler_v2 and the
 * cosine, tanh, step, multistep, plateau and poly schedulers). A schedule is
 * a plain struct: build it once from the config values, then either step it
 * as timm's train.py does (cz_sched_step after each epoch, cz_sched_step_update
 * after each optimizer update) and read cz_sched_lr, or ask the pure
 * functions cz_sched_lr_at_epoch / cz_sched_lr_at_update (all schedules but
 * plateau, whose value depends on the metrics seen). */
#ifndef CZ_TRAIN_SCHED_H
#define CZ_TRAIN_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

typedef enum {
  CZ_SCHED_COSINE, CZ_SCHED_TANH, CZ_SCHED_STEP, CZ_SCHED_MULTISTEP,
  CZ_SCHED_PLATEAU, CZ_SCHED_POLY
} cz_sched_kind;

#define CZ_SCHED_MAX_MILESTONES 64

/* create_scheduler_v2's arguments, in epochs (the update-mode scaling by
 * updates_per_epoch is done by cz_sched_init, as timm does). */
typedef struct {
  const char *sched;       /* cosine, tanh, step, multistep, plateau, poly */
  double lr;               /* the optimizer's lr (after cz_lr_rule) */
  int64_t epochs;          /* num_epochs */
  double decay_epochs;     /* step interval */
  int64_t decay_milestones[CZ_SCHED_MAX_MILESTONES]; /* multistep, sorted */
  int n_milestones;
  int64_t warmup_epochs, cooldown_epochs, patience_epochs;
  double warmup_lr, min_lr, decay_rate; /* decay_rate is poly's power too */
  bool warmup_prefix;
  /* lr_noise: n_noise 0 = off, 1 = from noise[0]*t_initial on, 2 = range */
  double noise[2];
  int n_noise;
  double noise_pct, noise_std;
  int64_t noise_seed;
  double cycle_mul, cycle_decay, k_decay;
  int64_t cycle_limit;
  bool plateau_min;        /* plateau mode 'min' (eval metric is a loss) */
  bool on_updates;         /* sched_on_updates */
  int64_t updates_per_epoch;
} cz_sched_params;

/* Everything that changes while training: saved in checkpoints so that a
 * resumed run continues exactly (timm saves only part of plateau's). */
typedef struct {
  double lr;               /* the lr now set in the optimizer */
  double best;             /* plateau: best metric so far */
  double num_bad_epochs, cooldown_counter, last_epoch;
  double restore_lr;       /* plateau: lr before the last noise, or NAN */
} cz_sched_state;

#define CZ_SCHED_STATE_N 6
extern const char *const cz_sched_state_names[CZ_SCHED_STATE_N];

typedef struct {
  cz_sched_params p;
  cz_sched_kind kind;
  /* the schedule in its own time unit (epochs, or updates if on_updates) */
  double t_initial, warmup_t, decay_t, cooldown_t;
  int64_t milestones[CZ_SCHED_MAX_MILESTONES];
  double noise_lo, noise_hi; /* noise applies for noise_lo <= t < noise_hi */
  bool has_noise;
  double warmup_step;
  int64_t num_epochs;        /* what create_scheduler_v2 returns */
  cz_sched_state st;
} cz_sched;

/* Checks every value (an error names the key, the value and what is
 * expected) and builds the schedule; the lr is then the initial one. */
cz_err *cz_sched_init(cz_sched *s, const cz_sched_params *p);

/* Total epochs to train (cycles, cooldown and a warmup prefix included). */
int64_t cz_sched_num_epochs(const cz_sched *s);
/* The lr now set in the optimizer. */
double cz_sched_lr(const cz_sched *s);

/* timm's Scheduler.step(epoch, metric) and step_update(num_updates, metric);
 * metric may be NULL (none). */
void cz_sched_step(cz_sched *s, int64_t epoch, const double *metric);
void cz_sched_step_update(cz_sched *s, int64_t num_updates, const double *metric);

/* The lr timm's train.py uses in epoch `epoch` (epoch mode) or for update
 * number `update` (0-based, counted from the start of training; update
 * mode), when training starts at start_epoch. Not for plateau. */
double cz_sched_lr_at_epoch(const cz_sched *s, int64_t epoch, int64_t start_epoch);
double cz_sched_lr_at_update(const cz_sched *s, int64_t update, int64_t start_epoch);

/* The noise factor timm adds at time t (lr += lr * noise), 0 outside the
 * noise range; a truncated normal drawn from a Philox stream seeded with
 * noise_seed + t (timm seeds a torch.Generator the same way). */
double cz_sched_noise(const cz_sched *s, double t);

void cz_sched_get_state(const cz_sched *s, double v[CZ_SCHED_STATE_N]);
void cz_sched_set_state(cz_sched *s, const double v[CZ_SCHED_STATE_N]);

#endif
