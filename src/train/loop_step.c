/* One epoch of training updates: batch in, forward, backward, clipping,
 * optimizer step, schedule update, with timm's train line every
 * general.log_interval updates (spec reference_behaviour 5.4) plus an ETA,
 * the EMA update (training.model_ema) after each optimizer step, and
 * recovery checkpoints every general.recovery_interval updates. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "train/clip_grad.h"
#include "train/loop_priv.h"
#include "util/log.h"

volatile sig_atomic_t cz_loop_interrupted;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void eta_str(double s, char *buf, size_t n) {
  long v = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
  snprintf(buf, n, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
}

/* Skips the batches of a resumed epoch that were already trained. */
static cz_err *skip_batches(cz_trainer *t, int64_t n) {
  cz_loader_batch b;
  for (int64_t i = 0; i < n; i++) {
    cz_err *e = cz_pipe_next(t->ptrain, &b);
    if (e) return e;
    if (b.n == 0) break;
  }
  return NULL;
}

static void set_targets(cz_trainer *t, const cz_loader_batch *b) {
  if (t->soft_targets) cz_exec_set_input(t->ex, 1, b->soft, CZ_ROWMAJOR);
  else cz_exec_set_input(t->ex, 1, b->y, CZ_ROWMAJOR);
}

cz_err *cz_loop_train_epoch(cz_trainer *t, double *train_loss) {
  const cz_config *c = t->cfg;
  int64_t log_every = c->general.log_interval.set ? c->general.log_interval.v : 50;
  int64_t rec_every = c->general.recovery_interval.set ? c->general.recovery_interval.v : 0;
  int64_t steps = t->updates_per_epoch;
  cz_pipe_start_epoch(t->ptrain, (uint64_t)t->epoch);
  cz_err *e = skip_batches(t, t->step_in_epoch);
  if (e) return e;
  /* the loss meter covers the whole epoch (carried over a mid-epoch
   * resume); the timing meters only this process's updates */
  double data_sum = 0, step_sum = 0;
  int64_t n_steps = 0;
  double t0 = now_s();
  while (t->step_in_epoch < steps && !cz_loop_interrupted) {
    cz_loader_batch b;
    if ((e = cz_pipe_next(t->ptrain, &b))) return e;
    if (b.n == 0) break;
    if (b.n != t->train_rows) break; /* drop_last: only full batches train */
    double t1 = now_s();
    cz_exec_set_input(t->ex, 0, b.x, CZ_NHWC);
    set_targets(t, &b);
    cz_exec_set_step(t->ex, (uint64_t)t->global_step);
    cz_exec_forward(t->ex);
    double loss = ((const float *)cz_exec_value(t->ex, t->loss_v).data)[0];
    cz_exec_backward(t->ex, NULL);
    if (t->clip_grad > 0 && (e = cz_clip_grad(t->params, t->n_params, t->clip_grad, t->clip_mode)))
      return e;
    cz_optim_step(t->opt);
    t->step_in_epoch++;
    t->global_step++;
    cz_loop_ema_update(t); /* timm: model_ema.update(model, step=num_updates) */
    if (t->sched.p.on_updates) {
      cz_sched_step_update(&t->sched, t->global_step, NULL);
      cz_optim_set_lr(t->opt, cz_sched_lr(&t->sched));
    }
    double t2 = now_s();
    t->ep_loss_sum += loss, t->ep_loss_n++;
    data_sum += t1 - t0, step_sum += t2 - t0, n_steps++;
    int64_t idx = t->step_in_epoch - 1;
    if (idx % log_every == 0 || t->step_in_epoch == steps) {
      double rate = (double)b.n / (t2 - t0), ravg = (double)b.n * n_steps / step_sum;
      char eta[32];
      int64_t left = steps - t->step_in_epoch + (t->num_epochs - t->epoch - 1) * steps;
      eta_str(step_sum / n_steps * (double)left, eta, sizeof eta); /* training updates only */
      cz_info("Train: %lld [%4lld/%lld (%3.0f%%)]  Loss: %#.3g (%#.3g)  Time: %.3fs, %7.2f/s  "
              "(%.3fs, %7.2f/s)  LR: %.3e  Data: %.3f (%.3f)  ETA: %s",
              (long long)t->epoch, (long long)idx, (long long)steps,
              100.0 * (double)idx / (double)(steps > 1 ? steps - 1 : 1), loss,
              t->ep_loss_sum / (double)t->ep_loss_n, t2 - t0, rate, step_sum / n_steps, ravg,
              cz_optim_lr(t->opt), t1 - t0, data_sum / n_steps, eta);
    }
    if (!isfinite(loss))
      return cz_err_new(CZ_EXIT_RUNTIME, "training: loss is %g at epoch %lld step %lld: expected "
                        "a finite loss (lower the learning rate?)", loss, (long long)t->epoch,
                        (long long)idx);
    if (rec_every > 0 && t->global_step % rec_every == 0 && t->step_in_epoch < steps &&
        (e = cz_loop_recovery_checkpoint(t)))
      return e;
    t0 = now_s();
  }
  *train_loss = t->ep_loss_n ? t->ep_loss_sum / (double)t->ep_loss_n : NAN;
  return NULL;
}
