/* The lr rule, the schedule's training-loop view, its noise, errors, state
 * round trip and config mapping (the values themselves are checked against
 * timm in test_sched_timm.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "train/lr_rule.h"
#include "train/sched.h"
#include "train/sched_cfg.h"

static cz_sched_params base(const char *sched) {
  cz_sched_params p;
  memset(&p, 0, sizeof p);
  p.sched = sched;
  p.lr = 0.1;
  p.epochs = 10;
  p.decay_epochs = 3;
  p.n_milestones = 2;
  p.decay_milestones[0] = 3;
  p.decay_milestones[1] = 6;
  p.decay_rate = 0.5;
  p.warmup_lr = 1e-5;
  p.warmup_epochs = 2;
  p.patience_epochs = 2;
  p.cycle_mul = 1;
  p.cycle_decay = 0.5;
  p.cycle_limit = 1;
  p.k_decay = 1;
  p.noise_pct = 0.67;
  p.noise_std = 1;
  p.noise_seed = 42;
  return p;
}

static void expect_error(const cz_sched_params *p, const char *a, const char *b) {
  cz_sched s;
  cz_err *e = cz_sched_init(&s, p);
  assert_non_null(e);
  const char *m = cz_err_msg(e);
  if (!strstr(m, a) || !strstr(m, b)) fail_msg("message '%s' lacks '%s' or '%s'", m, a, b);
  assert_int_equal(cz_err_code(e), CZ_EXIT_USAGE);
  cz_err_free(e);
}

/* exact values: 0.1 x 128/256; 0.1 x sqrt(64/256) */
static void test_lr_rule(void **state) {
  (void)state;
  double lr;
  char why[256];
  cz_lr_rule_in in = {.lr_base = 0.1, .lr_base_size = 256, .lr_base_scale = "", .opt = "sgd",
                      .batch_size = 128, .world_size = 1, .grad_accum_steps = 1};
  assert_null(cz_lr_rule(&in, &lr, why, sizeof why));
  assert_true(lr == 0.05);
  assert_string_equal(why, "Learning rate (0.05) calculated from base learning rate (0.1) and "
                           "effective global batch size (128) with linear scaling.");
  in.opt = "AdamW"; /* "ada" -> sqrt */
  in.batch_size = 64;
  assert_null(cz_lr_rule(&in, &lr, why, sizeof why));
  assert_true(lr == 0.05);
  assert_non_null(strstr(why, "sqrt scaling"));
  in.opt = "lookahead_lamb";
  in.batch_size = 1024;
  assert_null(cz_lr_rule(&in, &lr, why, sizeof why));
  assert_true(lr == 0.2);
  in.lr_base_scale = "linear";
  assert_null(cz_lr_rule(&in, &lr, why, sizeof why));
  assert_true(lr == 0.4);
  in.grad_accum_steps = 2; /* global batch 2048 */
  assert_null(cz_lr_rule(&in, &lr, why, sizeof why));
  assert_true(lr == 0.8);
  in.lr_set = true; /* lr 0 means "derive it", as null */
  in.lr = 0;
  assert_null(cz_lr_rule(&in, &lr, why, sizeof why));
  assert_true(lr == 0.8);
  in.lr = 0.003;
  assert_null(cz_lr_rule(&in, &lr, why, sizeof why));
  assert_true(lr == 0.003);
  assert_string_equal(why, "Learning rate (0.003) set by training.lr_scheduler.lr.");
  in.lr_set = false;
  in.lr_base_scale = "cubic";
  cz_err *e = cz_lr_rule(&in, &lr, why, sizeof why);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), "training.lr_scheduler.lr_base_scale: 'cubic'"));
  cz_err_free(e);
}

/* lr_at_epoch / lr_at_update equal what stepping as timm's train.py does */
static void test_loop_view(void **state) {
  (void)state;
  const char *kinds[] = {"cosine", "tanh", "step", "multistep", "poly"};
  for (int k = 0; k < 5; k++) {
    for (int on_updates = 0; on_updates < 2; on_updates++) {
      for (int start = 0; start < 3; start += 2) {
        cz_sched_params p = base(kinds[k]);
        p.on_updates = on_updates;
        p.updates_per_epoch = 4;
        cz_sched s;
        assert_null(cz_sched_init(&s, &p));
        int64_t upe = p.updates_per_epoch;
        if (start > 0) {
          if (on_updates) cz_sched_step_update(&s, start * upe, NULL);
          else cz_sched_step(&s, start, NULL);
        }
        for (int64_t ep = start; ep < cz_sched_num_epochs(&s); ep++) {
          assert_true(cz_sched_lr_at_epoch(&s, ep, start) == cz_sched_lr(&s));
          for (int64_t u = ep * upe; u < (ep + 1) * upe; u++) {
            assert_true(cz_sched_lr_at_update(&s, u, start) == cz_sched_lr(&s));
            cz_sched_step_update(&s, u + 1, NULL);
          }
          cz_sched_step(&s, ep + 1, NULL);
        }
      }
    }
  }
}

/* Noise: zero outside [lo, hi), inside |noise| < pct, reproducible from
 * the seed, and a normal truncated at +-0.67 (std 1) has mean 0 and
 * standard deviation 0.3755: over 3000 draws the mean must be within 0.05
 * and the deviation within [0.34, 0.41]. */
static void test_noise(void **state) {
  (void)state;
  cz_sched_params p = base("cosine");
  p.warmup_epochs = 0;
  p.on_updates = true;
  p.updates_per_epoch = 500;
  p.n_noise = 2;
  p.noise[0] = 0.2;
  p.noise[1] = 0.8; /* updates 1000 .. 3999 */
  cz_sched s, s2, s3;
  assert_null(cz_sched_init(&s, &p));
  assert_null(cz_sched_init(&s2, &p));
  p.noise_seed = 43;
  assert_null(cz_sched_init(&s3, &p));
  p.n_noise = 0;
  cz_sched clean;
  assert_null(cz_sched_init(&clean, &p));
  double sum = 0, sum2 = 0;
  int n = 0, same_as_other_seed = 0;
  for (int64_t u = 1; u < 5000; u++) {
    double a = cz_sched_lr_at_update(&s, u, 0), c = cz_sched_lr_at_update(&clean, u, 0);
    assert_true(a == cz_sched_lr_at_update(&s2, u, 0));
    double noise = cz_sched_noise(&s, (double)u);
    if (u < 1000 || u >= 4000) {
      assert_true(noise == 0.0);
      assert_true(a == c);
      continue;
    }
    assert_true(fabs(noise) < 0.67);
    assert_true(a == c + c * noise);
    if (noise == cz_sched_noise(&s3, (double)u)) same_as_other_seed++;
    sum += noise;
    sum2 += noise * noise;
    n++;
  }
  double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
  print_message("noise: %d draws, mean %.4f, sd %.4f\n", n, mean, sd);
  assert_int_equal(n, 3000);
  assert_true(fabs(mean) < 0.05);
  assert_true(sd > 0.34 && sd < 0.41);
  assert_int_equal(same_as_other_seed, 0);
}

static void test_errors(void **state) {
  (void)state;
  cz_sched_params p = base("cosin");
  expect_error(&p, "training.lr_scheduler.sched: 'cosin'", "cosine, tanh");
  p = base("plateau");
  p.on_updates = true;
  p.updates_per_epoch = 3;
  expect_error(&p, "training.lr_scheduler.sched_on_updates", "plateau");
  p = base("plateau");
  p.decay_rate = 1.0;
  expect_error(&p, "training.lr_scheduler.decay_rate: 1", "< 1");
  p = base("multistep");
  p.decay_milestones[1] = 1;
  expect_error(&p, "training.lr_scheduler.decay_milestones: 1 after 3", "ascending");
  p = base("step");
  p.decay_epochs = 0;
  expect_error(&p, "training.lr_scheduler.decay_epochs: 0", "> 0");
  p = base("cosine");
  p.on_updates = true;
  expect_error(&p, "updates per epoch: 0", "sched_on_updates");
  p = base("cosine");
  p.min_lr = -1;
  expect_error(&p, "training.lr_scheduler.min_lr: -1", ">= 0");
  p = base("poly");
  p.epochs = 0;
  expect_error(&p, "training.epochs: 0", ">= 1");
}

/* Plateau's state saved mid-run and loaded into a fresh schedule continues
 * exactly as the uninterrupted run (noise on, so restore_lr counts too). */
static void test_state_round_trip(void **state) {
  (void)state;
  cz_sched_params p = base("plateau");
  p.n_noise = 1;
  p.noise[0] = 0.5; /* from epoch 5 on */
  const double metric[] = {1, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5};
  cz_sched a, b;
  assert_null(cz_sched_init(&a, &p));
  double saved[CZ_SCHED_STATE_N];
  for (int e = 0; e < 18; e++) {
    if (e == 9) {
      cz_sched_get_state(&a, saved);
      assert_null(cz_sched_init(&b, &p));
      cz_sched_set_state(&b, saved);
    }
    cz_sched_step(&a, e + 1, &metric[e]);
    if (e >= 9) {
      cz_sched_step(&b, e + 1, &metric[e]);
      assert_true(cz_sched_lr(&a) == cz_sched_lr(&b));
    }
  }
  assert_true(cz_sched_lr(&a) < 0.1 * 0.5 * 1.67); /* it did decay */
  assert_string_equal(cz_sched_state_names[5], "restore_lr");
}

static void test_from_config(void **state) {
  (void)state;
  cz_cfg_training t;
  memset(&t, 0, sizeof t);
  t.epochs = (cz_cint){true, 2};
  t.batch_size = (cz_cint){true, 128};
  t.optimizer.opt = (cz_cstr){true, (char *)"sgd"};
  t.lr_scheduler.sched = (cz_cstr){true, (char *)"cosine"};
  t.lr_scheduler.lr_base = (cz_cfloat){true, 0.1};
  t.lr_scheduler.lr_base_size = (cz_cint){true, 256};
  t.lr_scheduler.warmup_epochs = (cz_cint){true, 5};
  double lr;
  char why[256];
  assert_null(cz_lr_from_cfg(&t, 1, &lr, why, sizeof why));
  assert_true(lr == 0.05);
  cz_sched_params p;
  assert_null(cz_sched_params_from_cfg(&t, CZ_METRIC_LOSS, 123, 10, lr, &p));
  assert_true(p.plateau_min);
  assert_int_equal(p.noise_seed, 123);
  assert_true(p.cycle_decay == 0.1); /* timm's scheduler_kwargs default */
  cz_sched s;
  assert_null(cz_sched_init(&s, &p));
  /* the spec's note: epochs 2 with warmup 5 stays in warmup: 1e-5, then
   * 1e-5 + (0.05 - 1e-5) / 5 */
  assert_int_equal(cz_sched_num_epochs(&s), 2);
  assert_true(cz_sched_lr_at_epoch(&s, 0, 0) == 1e-5);
  assert_true(cz_sched_lr_at_epoch(&s, 1, 0) == 1e-5 + 1 * ((0.05 - 1e-5) / 5));
  assert_int_equal(cz_sched_start_epoch(&t), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lr_rule),         cmocka_unit_test(test_loop_view),
      cmocka_unit_test(test_noise),           cmocka_unit_test(test_errors),
      cmocka_unit_test(test_state_round_trip), cmocka_unit_test(test_from_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
