/* Learning-rate schedules: timm 1.0.31's create_scheduler_v2 and its
 * cosine, tanh, step, multistep, plateau and poly schedulers
 * (the files in timm/scheduler/), re-derived here. Arithmetic follows timm's
 * expressions term by term (same operations, same order, libm's pow/cos/
 * tanh/log as Python's math module uses) so values agree with timm's to the
 * last bit or so; test_sched_timm checks them against golden values. */
#include "train/sched.h"

#include <math.h>
#include <string.h>

#include "train/sched_check.h"
#include "util/rng.h"

const char *const cz_sched_state_names[CZ_SCHED_STATE_N] = {
    "lr", "best", "num_bad_epochs", "cooldown_counter", "last_epoch",
    "restore_lr"};

/* Python's float floor division a // b (floatobject.c: fmod, then the
 * rounding correction), so a float decay_epochs behaves as in timm. */
static double py_floordiv(double a, double b) {
  double mod = fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0 && ((b < 0) != (mod < 0))) div -= 1.0;
  double fl;
  if (div != 0.0) {
    fl = floor(div);
    if (div - fl > 0.5) fl += 1.0;
  } else {
    fl = copysign(0.0, a / b);
  }
  return fl;
}

/* Cycle index i, cycle length t_i and position t_curr at time t (the
 * shared part of cosine, tanh and poly's _get_lr). */
static void cycle_pos(const cz_sched *s, double t, double *i, double *t_i,
                      double *t_curr) {
  double mul = s->p.cycle_mul, t0 = s->t_initial;
  if (mul != 1.0) {
    *i = floor(log(1 - t / t0 * (1 - mul)) / log(mul));
    *t_i = pow(mul, *i) * t0;
    *t_curr = t - (1 - pow(mul, *i)) / (1 - mul) * t0;
  } else {
    *i = py_floordiv(t, t0);
    *t_i = t0;
    *t_curr = t - (t0 * *i);
  }
}

/* timm's _get_lr(t) for one parameter group, without noise. */
static double get_lr(const cz_sched *s, double t) {
  const cz_sched_params *p = &s->p;
  if (t < s->warmup_t) return p->warmup_lr + t * s->warmup_step;
  if (p->warmup_prefix) t = t - s->warmup_t;
  switch (s->kind) {
  case CZ_SCHED_STEP:
    return p->lr * pow(p->decay_rate, py_floordiv(t, s->decay_t));
  case CZ_SCHED_MULTISTEP: {
    /* bisect_right(milestones, t + 1): timm's milestone m applies at t = m-1 */
    int n = 0;
    while (n < p->n_milestones && (double)s->milestones[n] <= t + 1) n++;
    return p->lr * pow(p->decay_rate, n);
  }
  case CZ_SCHED_COSINE:
  case CZ_SCHED_TANH:
  case CZ_SCHED_POLY: {
    double i, t_i, t_curr;
    cycle_pos(s, t, &i, &t_i, &t_curr);
    if (!(i < (double)p->cycle_limit)) return p->min_lr;
    double lr_max = p->lr * pow(p->cycle_decay, i), k = p->k_decay;
    if (s->kind == CZ_SCHED_COSINE)
      return p->min_lr + 0.5 * (lr_max - p->min_lr) *
                             (1 + cos(M_PI * pow(t_curr, k) / pow(t_i, k)));
    if (s->kind == CZ_SCHED_POLY)
      return p->min_lr + (lr_max - p->min_lr) *
                             pow(1 - pow(t_curr, k) / pow(t_i, k), p->decay_rate);
    double tr = t_curr / t_i, lb = -7.0, ub = 3.0; /* timm's tanh defaults */
    return p->min_lr + 0.5 * (lr_max - p->min_lr) *
                           (1 - tanh(lb * (1. - tr) + ub * tr));
  }
  case CZ_SCHED_PLATEAU:
    break;
  }
  return p->lr;
}

double cz_sched_noise(const cz_sched *s, double t) {
  if (!s->has_noise || !(s->noise_lo <= t && t < s->noise_hi)) return 0.0;
  /* timm: torch.Generator seeded with noise_seed + t, normal draws times
   * noise_std, redrawn until |noise| < noise_pct. Here a Philox stream of
   * the same seed; values differ from torch's, the distribution is the
   * same. */
  cz_rng r = cz_rng_make((uint64_t)(s->p.noise_seed + (int64_t)t),
                         cz_rng_stream(0x5c4ed, 0, 0));
  for (int k = 0; k < 100000; k++) {
    double noise = cz_rng_normal(&r) * s->p.noise_std;
    if (fabs(noise) < s->p.noise_pct) return noise;
  }
  return 0.0; /* noise_pct so small nothing fits: timm would spin forever */
}

static double value_at(const cz_sched *s, double t) {
  double v = get_lr(s, t);
  double noise = cz_sched_noise(s, t);
  if (s->has_noise && noise != 0.0) v = v + v * noise;
  return v;
}

static double cycle_length(const cz_sched *s) {
  double cycles = s->p.cycle_limit > 1 ? (double)s->p.cycle_limit : 1.0;
  double t;
  if (s->p.cycle_mul == 1.0)
    t = s->t_initial * cycles;
  else
    t = floor(-s->t_initial * (pow(s->p.cycle_mul, cycles) - 1) /
              (1 - s->p.cycle_mul));
  return s->p.warmup_prefix ? t + s->warmup_t : t;
}

cz_err *cz_sched_init(cz_sched *s, const cz_sched_params *p) {
  memset(s, 0, sizeof *s);
  cz_err *e = cz_sched_check(p, &s->kind);
  if (e) return e;
  s->p = *p;
  double upe = p->on_updates ? (double)p->updates_per_epoch : 1.0;
  s->t_initial = (double)p->epochs * upe;
  s->warmup_t = (double)p->warmup_epochs * upe;
  s->decay_t = p->decay_epochs * upe;
  s->cooldown_t = (double)p->cooldown_epochs * upe;
  for (int k = 0; k < p->n_milestones; k++)
    s->milestones[k] = p->decay_milestones[k] * (int64_t)upe;
  if (p->n_noise > 0) {
    s->has_noise = true;
    s->noise_lo = p->noise[0] * s->t_initial;
    s->noise_hi = p->n_noise == 2 ? p->noise[1] * s->t_initial : INFINITY;
  }
  /* warmup: a straight line from warmup_lr to the base lr (tanh without a
   * prefix: to the schedule's own value at warmup_t). No warmup: timm's
   * step is 1, which only plateau's step(0) ever uses. */
  s->warmup_step = 1.0;
  if (s->warmup_t != 0.0) {
    double target = p->lr;
    if (s->kind == CZ_SCHED_TANH && !p->warmup_prefix) target = get_lr(s, s->warmup_t);
    s->warmup_step = (target - p->warmup_lr) / s->warmup_t;
  }
  s->st.lr = s->warmup_t != 0.0 ? p->warmup_lr : p->lr;
  s->st.best = p->plateau_min ? INFINITY : -INFINITY;
  s->st.restore_lr = NAN;
  /* the number of epochs create_scheduler_v2 returns */
  if (s->kind == CZ_SCHED_COSINE || s->kind == CZ_SCHED_TANH || s->kind == CZ_SCHED_POLY) {
    double t = cycle_length(s) + s->cooldown_t;
    s->num_epochs = p->on_updates ? (int64_t)floor(t / upe) : (int64_t)t;
  } else {
    s->num_epochs = p->epochs + (p->warmup_prefix ? p->warmup_epochs : 0);
  }
  return NULL;
}

int64_t cz_sched_num_epochs(const cz_sched *s) { return s->num_epochs; }
double cz_sched_lr(const cz_sched *s) { return s->st.lr; }

/* torch.optim.lr_scheduler.ReduceLROnPlateau.step (torch 1.13) with timm's
 * arguments: threshold 1e-4 relative, cooldown 0, eps 1e-8. */
static void plateau_metric(cz_sched *s, double current) {
  const double threshold = 1e-4, eps = 1e-8;
  cz_sched_state *st = &s->st;
  st->last_epoch += 1;
  bool better = s->p.plateau_min ? current < st->best * (1. - threshold)
                                 : current > st->best * (threshold + 1.);
  if (better) {
    st->best = current;
    st->num_bad_epochs = 0;
  } else {
    st->num_bad_epochs += 1;
  }
  if (st->cooldown_counter > 0) {
    st->cooldown_counter -= 1;
    st->num_bad_epochs = 0;
  }
  if (st->num_bad_epochs > (double)s->p.patience_epochs) {
    double old_lr = st->lr;
    double new_lr = fmax(old_lr * s->p.decay_rate, s->p.min_lr);
    if (old_lr - new_lr > eps) st->lr = new_lr;
    st->cooldown_counter = 0; /* timm passes cooldown_t=0 */
    st->num_bad_epochs = 0;
  }
}

/* timm PlateauLRScheduler.step: warmup up to and including warmup_t, then
 * the torch plateau logic on the current lr, with noise applied on top and
 * taken off again before the next step. */
static void plateau_step(cz_sched *s, int64_t epoch, const double *metric) {
  if ((double)epoch <= s->warmup_t) {
    s->st.lr = s->p.warmup_lr + (double)epoch * s->warmup_step;
    return;
  }
  if (!isnan(s->st.restore_lr)) {
    s->st.lr = s->st.restore_lr;
    s->st.restore_lr = NAN;
  }
  if (metric) plateau_metric(s, *metric);
  if (s->has_noise && s->noise_lo <= (double)epoch && (double)epoch < s->noise_hi) {
    double noise = cz_sched_noise(s, (double)epoch);
    s->st.restore_lr = s->st.lr;
    s->st.lr = s->st.lr + s->st.lr * noise;
  }
}

void cz_sched_step(cz_sched *s, int64_t epoch, const double *metric) {
  if (s->kind == CZ_SCHED_PLATEAU) {
    plateau_step(s, epoch, metric);
    return;
  }
  if (s->p.on_updates) return;
  s->st.lr = value_at(s, (double)epoch);
}

void cz_sched_step_update(cz_sched *s, int64_t num_updates, const double *metric) {
  (void)metric;
  if (s->kind == CZ_SCHED_PLATEAU || !s->p.on_updates) return;
  s->st.lr = value_at(s, (double)num_updates);
}

/* timm's train.py: the scheduler starts at its initial lr; a start_epoch
 * above 0 steps it to start_epoch (per update: to start_epoch * updates);
 * after each epoch it steps to epoch + 1, after each update to the count of
 * updates done. */
double cz_sched_lr_at_epoch(const cz_sched *s, int64_t epoch, int64_t start_epoch) {
  if (s->p.on_updates)
    return cz_sched_lr_at_update(s, epoch * s->p.updates_per_epoch, start_epoch);
  if (epoch == 0 && start_epoch <= 0) return s->warmup_t != 0.0 ? s->p.warmup_lr : s->p.lr;
  return value_at(s, (double)epoch);
}

double cz_sched_lr_at_update(const cz_sched *s, int64_t update, int64_t start_epoch) {
  if (!s->p.on_updates)
    return cz_sched_lr_at_epoch(s, update / (s->p.updates_per_epoch > 0 ? s->p.updates_per_epoch : 1),
                                start_epoch);
  if (update == 0 && start_epoch <= 0) return s->warmup_t != 0.0 ? s->p.warmup_lr : s->p.lr;
  return value_at(s, (double)update);
}

void cz_sched_get_state(const cz_sched *s, double v[CZ_SCHED_STATE_N]) {
  v[0] = s->st.lr;
  v[1] = s->st.best;
  v[2] = s->st.num_bad_epochs;
  v[3] = s->st.cooldown_counter;
  v[4] = s->st.last_epoch;
  v[5] = s->st.restore_lr;
}

void cz_sched_set_state(cz_sched *s, const double v[CZ_SCHED_STATE_N]) {
  s->st.lr = v[0];
  s->st.best = v[1];
  s->st.num_bad_epochs = v[2];
  s->st.cooldown_counter = v[3];
  s->st.last_epoch = v[4];
  s->st.restore_lr = v[5];
}
