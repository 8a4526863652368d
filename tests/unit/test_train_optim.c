/* The optimizers and gradient clipping of src/train against timm 1.0.31 /
 * torch 1.13 (tests/oracle/gen_optim.py): every case's 20-step parameter
 * trajectory must match at every step within |ours - ref| <= 2e-5 * |ref|
 * + 1e-6 (measured worst: printed per case, see the report); resuming from
 * saved state after 10 steps must give the uninterrupted run's parameters
 * bit for bit; bad names and options give one-line errors naming the key. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tensor_file.h"
#include "train/clip_grad.h"
#include "train/optim.h"
#include "train/optim_cfg.h"

#define RTOL 2e-5
#define ATOL 1e-6

static const char *g_dir;

typedef struct {
  char opt[64], mode[16];
  cz_optim_config cfg;
  bool has_clip;
  double clip;
  ct_bundle *b;
  int n;
  char names[16][64];
  cz_train_param p[16];
} ocase;

static void parse_cfg(ocase *c, const char *text) {
  memset(&c->cfg, 0, sizeof c->cfg);
  char buf[512];
  snprintf(buf, sizeof buf, "%s", text);
  for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = '\0';
    const char *k = tok, *v = eq + 1;
    if (!strcmp(k, "opt")) snprintf(c->opt, sizeof c->opt, "%s", v);
    else if (!strcmp(k, "lr")) c->cfg.lr = strtod(v, NULL);
    else if (!strcmp(k, "wd")) c->cfg.weight_decay = strtod(v, NULL);
    else if (!strcmp(k, "momentum")) c->cfg.momentum = strtod(v, NULL);
    else if (!strcmp(k, "eps") && strcmp(v, "-")) {
      c->cfg.has_eps = true;
      c->cfg.eps = strtod(v, NULL);
    } else if (!strcmp(k, "betas") && strcmp(v, "-")) {
      char *end;
      c->cfg.has_betas = true;
      c->cfg.betas[0] = strtod(v, &end);
      c->cfg.betas[1] = strtod(end + 1, NULL);
    } else if (!strcmp(k, "clip") && strcmp(v, "-")) {
      c->has_clip = true;
      c->clip = strtod(v, NULL);
    } else if (!strcmp(k, "mode")) snprintf(c->mode, sizeof c->mode, "%s", v);
  }
  c->cfg.opt = c->opt;
}

/* Loads a case and sets its parameters to their initial values. */
static ocase *load_case(const char *name) {
  ocase *c = calloc(1, sizeof *c);
  assert_non_null(c);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.czt", g_dir, name);
  c->b = ct_bundle_read(path);
  parse_cfg(c, (const char *)ct_bundle_need(c->b, "cfg")->data);
  char nb[1024];
  snprintf(nb, sizeof nb, "%s", (const char *)ct_bundle_need(c->b, "names")->data);
  for (char *tok = strtok(nb, "\n"); tok; tok = strtok(NULL, "\n")) {
    assert_true(c->n < 16);
    snprintf(c->names[c->n], 64, "%s", tok);
    char key[128];
    snprintf(key, sizeof key, "init/%s", tok);
    const ct_tensor *t = ct_bundle_need(c->b, key);
    cz_train_param *p = &c->p[c->n];
    p->name = c->names[c->n];
    p->shape = t->shape;
    p->numel = (int64_t)(t->bytes / sizeof(float));
    p->data = malloc(t->bytes);
    p->grad = malloc(t->bytes);
    assert_non_null(p->data);
    assert_non_null(p->grad);
    memcpy(p->data, t->data, t->bytes);
    c->n++;
  }
  return c;
}

static void free_case(ocase *c) {
  for (int i = 0; i < c->n; i++) {
    free(c->p[i].data);
    free(c->p[i].grad);
  }
  ct_bundle_free(c->b);
  free(c);
}

static void set_grads(ocase *c, int step) {
  for (int i = 0; i < c->n; i++) {
    char key[128];
    snprintf(key, sizeof key, "grad/%d/%s", step, c->names[i]);
    const ct_tensor *t = ct_bundle_need(c->b, key);
    memcpy(c->p[i].grad, t->data, t->bytes);
  }
  if (c->has_clip) {
    cz_err *e = cz_clip_grad(c->p, c->n, c->clip, c->mode);
    assert_null(e);
  }
}

static int n_steps(const ocase *c) {
  int s = 0;
  char key[128];
  for (;; s++) {
    snprintf(key, sizeof key, "param/%d/%s", s, c->names[0]);
    if (!ct_bundle_get(c->b, key)) return s;
  }
}

static void check_case(const char *name) {
  ocase *c = load_case(name);
  cz_optim *o = NULL;
  cz_err *e = cz_optim_new(&c->cfg, c->p, c->n, &o);
  if (e) fail_msg("%s: %s", name, cz_err_msg(e));
  const int steps = n_steps(c);
  assert_int_equal(steps, 20);
  double worst_rel = 0, worst_abs = 0;
  for (int s = 0; s < steps; s++) {
    set_grads(c, s);
    cz_optim_step(o);
    for (int i = 0; i < c->n; i++) {
      char key[128];
      snprintf(key, sizeof key, "param/%d/%s", s, c->names[i]);
      const float *ref = (const float *)ct_bundle_need(c->b, key)->data;
      for (int64_t k = 0; k < c->p[i].numel; k++) {
        const double d = fabs((double)c->p[i].data[k] - ref[k]);
        const double rel = d / (fabs(ref[k]) + 1e-30);
        if (d > worst_abs) worst_abs = d;
        if (rel > worst_rel && fabs(ref[k]) > 1e-3) worst_rel = rel;
        if (d > RTOL * fabs(ref[k]) + ATOL)
          fail_msg("%s: step %d %s[%lld]: ours %.9g, reference %.9g", name, s + 1,
                   c->names[i], (long long)k, c->p[i].data[k], ref[k]);
      }
    }
  }
  printf("optim %-16s 20 steps: max abs diff %.3g, max rel diff (|ref| > 1e-3) %.3g\n",
         name, worst_abs, worst_rel);
  cz_optim_free(o);
  free_case(c);
}

/* 10 steps, save state and parameters, a fresh optimizer restored from
 * them, 10 more steps: the same bits as 20 uninterrupted steps. */
static void check_resume(const char *name) {
  ocase *a = load_case(name), *b = load_case(name);
  cz_optim *oa = NULL, *ob = NULL;
  assert_null(cz_optim_new(&a->cfg, a->p, a->n, &oa));
  assert_null(cz_optim_new(&b->cfg, b->p, b->n, &ob));
  for (int s = 0; s < 20; s++) {
    set_grads(a, s);
    cz_optim_step(oa);
  }
  for (int s = 0; s < 10; s++) {
    set_grads(b, s);
    cz_optim_step(ob);
  }
  /* save: copy every state tensor out */
  const int ns = cz_optim_state_count(ob);
  float **saved = calloc((size_t)ns, sizeof *saved);
  assert_non_null(saved);
  for (int i = 0; i < ns; i++) {
    const int64_t n = cz_optim_state_numel(ob, i);
    saved[i] = malloc((size_t)n * sizeof(float));
    memcpy(saved[i], cz_optim_state_data(ob, i), (size_t)n * sizeof(float));
  }
  cz_optim_free(ob);
  ob = NULL;
  assert_null(cz_optim_new(&b->cfg, b->p, b->n, &ob));
  assert_int_equal(cz_optim_state_count(ob), ns);
  for (int i = 0; i < ns; i++) {
    const int64_t n = cz_optim_state_numel(ob, i);
    memcpy(cz_optim_state_data(ob, i), saved[i], (size_t)n * sizeof(float));
    free(saved[i]);
  }
  free(saved);
  for (int s = 10; s < 20; s++) {
    set_grads(b, s);
    cz_optim_step(ob);
  }
  for (int i = 0; i < a->n; i++)
    if (memcmp(a->p[i].data, b->p[i].data, (size_t)a->p[i].numel * sizeof(float)))
      fail_msg("%s: resumed %s differs from the uninterrupted run", name, a->names[i]);
  cz_optim_free(oa);
  cz_optim_free(ob);
  free_case(a);
  free_case(b);
}

static void for_each_case(void (*fn)(const char *)) {
  char path[4096];
  snprintf(path, sizeof path, "%s/index.czt", g_dir);
  ct_bundle *idx = ct_bundle_read(path);
  char list[4096];
  snprintf(list, sizeof list, "%s", (const char *)ct_bundle_need(idx, "cases")->data);
  ct_bundle_free(idx);
  int count = 0;
  char *save = NULL;
  for (char *tok = strtok_r(list, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
    fn(tok);
    count++;
  }
  assert_true(count >= 20);
}

static void test_matches_reference(void **state) {
  (void)state;
  for_each_case(check_case);
}

static void test_resume_is_exact(void **state) {
  (void)state;
  for_each_case(check_resume);
}

/* timm param_groups_weight_decay: no decay for rank <= 1 or ".bias". */
static void test_weight_decay_groups(void **state) {
  (void)state;
  float d[8] = {0}, g[8] = {0};
  cz_train_param p[3] = {
      {"conv.weight", d, g, 4, {.rank = 2, .d = {2, 2}}},
      {"head.bias", d + 4, g + 4, 2, {.rank = 2, .d = {1, 2}}},
      {"bn.weight", d + 6, g + 6, 2, {.rank = 1, .d = {2}}},
  };
  cz_optim_config cfg = {.opt = "AdamW", .lr = 0.1, .weight_decay = 0.05};
  cz_optim *o = NULL;
  assert_null(cz_optim_new(&cfg, p, 3, &o));
  assert_true(cz_optim_param_weight_decay(o, 0) == 0.05);
  assert_true(cz_optim_param_weight_decay(o, 1) == 0.0);
  assert_true(cz_optim_param_weight_decay(o, 2) == 0.0);
  /* state names: step, then <param>.<slot> */
  assert_string_equal(cz_optim_state_name(o, 0), "step");
  assert_string_equal(cz_optim_state_name(o, 1), "conv.weight.exp_avg");
  assert_int_equal(cz_optim_state_count(o), 1 + 3 * 2);
  cz_optim_free(o);
}

/* Layer decay: each parameter's lr is the group lr times its scale, the
 * weight decay skips rank <= 1 only (timm's param_groups_layer_decay keeps
 * it on a 2-D ".bias"), and the logged lr is the mean over timm's groups
 * (layer, decay or not) in order of first appearance. */
static void test_layer_decay_groups(void **state) {
  (void)state;
  float d[12] = {0}, g[12] = {0};
  cz_train_param p[] = {
      {"conv.weight", d, g, 4, {.rank = 2, .d = {2, 2}}},
      {"conv.bias", d + 4, g + 4, 2, {.rank = 1, .d = {2}}},
      {"fc.weight", d + 6, g + 6, 4, {.rank = 2, .d = {2, 2}}},
      {"fc.bias", d + 10, g + 10, 2, {.rank = 2, .d = {1, 2}}},
  };
  const double scale[4] = {0.5, 0.5, 1.0, 1.0};
  const int layer[4] = {0, 0, 1, 1};
  cz_optim_config cfg = {.opt = "momentum", .lr = 0.1, .weight_decay = 0.05, .momentum = 0.9,
                         .has_layer_decay = true, .layer_decay = 0.5, .lr_scale = scale,
                         .lr_layer = layer};
  cz_optim *o = NULL;
  assert_null(cz_optim_new(&cfg, p, 4, &o));
  assert_int_equal(cz_optim_group_count(o), 3); /* fc.bias is 2-D: fc.weight's group */
  assert_true(cz_optim_param_lr(o, 0) == 0.05 && cz_optim_param_lr(o, 3) == 0.1);
  assert_true(cz_optim_lr(o) == (0.05 + 0.05 + 0.1) / 3);
  assert_true(cz_optim_param_weight_decay(o, 1) == 0.0);
  assert_true(cz_optim_param_weight_decay(o, 3) == 0.05);
  cz_optim_set_lr(o, 0.2);
  assert_true(cz_optim_param_lr(o, 1) == 0.1);
  for (int i = 0; i < 12; i++) g[i] = 1.0f;
  cz_optim_step(o); /* SGD momentum, first step: w -= lr_i * (g + wd_i * w), w = 0 */
  assert_true(d[0] == -0.1f && d[4] == -0.1f && d[6] == -0.2f && d[10] == -0.2f);
  cz_optim_free(o);
}

static void expect_error(const cz_optim_config *cfg, const char *part1, const char *part2) {
  float d[2] = {0}, g[2] = {0};
  cz_train_param p = {"w", d, g, 2, {.rank = 1, .d = {2}}};
  cz_optim *o = NULL;
  cz_err *e = cz_optim_new(cfg, &p, 1, &o);
  assert_non_null(e);
  assert_null(o);
  if (!strstr(cz_err_msg(e), part1) || !strstr(cz_err_msg(e), part2))
    fail_msg("error '%s' lacks '%s' or '%s'", cz_err_msg(e), part1, part2);
  cz_err_free(e);
}

static void test_errors(void **state) {
  (void)state;
  cz_optim_config c = {.opt = "adamz", .lr = 0.1};
  expect_error(&c, "training.optimizer.opt", "'adamz'");
  expect_error(&c, "adamw", "lion");
  c.opt = "foo_adam";
  expect_error(&c, "training.optimizer.opt", "'foo_adam'");
  c.opt = "adam";
  c.has_layer_decay = true;
  c.layer_decay = 0.75;
  expect_error(&c, "optimizer", "layer_decay without per-parameter scales");
  c.has_layer_decay = false;
  c.opt = "sgd";
  c.momentum = 0;
  expect_error(&c, "training.optimizer.momentum", "Nesterov");
  c.opt = "adam";
  c.has_betas = true;
  c.betas[0] = 1.5;
  expect_error(&c, "training.optimizer.opt-betas", "[0, 1)");

  float d[2] = {1, 2}, g[2] = {3, -4};
  cz_train_param p = {"w", d, g, 2, {.rank = 1, .d = {2}}};
  cz_err *e = cz_clip_grad(&p, 1, 1.0, "max");
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), "training.optimizer.clip_mode"));
  cz_err_free(e);
  /* the norm mode scales to max/(norm + 1e-6): |(3,-4)| = 5 -> 1 */
  assert_null(cz_clip_grad(&p, 1, 1.0, "norm"));
  assert_true(fabsf(g[0] - 0.6f) < 1e-6f && fabsf(g[1] + 0.8f) < 1e-6f);
}

/* training.optimizer -> cz_optim_config: defaults, set options, 3 betas. */
static void test_config_section(void **state) {
  (void)state;
  cz_cfg_optimizer c;
  memset(&c, 0, sizeof c);
  cz_optim_config oc;
  assert_null(cz_optim_config_from_cfg(&c, 0.1, &oc));
  assert_string_equal(oc.opt, "sgd");
  assert_true(oc.momentum == 0.9 && oc.weight_decay == 2e-5 && oc.lr == 0.1);
  assert_false(oc.has_eps || oc.has_betas || oc.has_layer_decay);
  char name[] = "Lookahead_AdamW";
  double betas[3] = {0.8, 0.9, 0.99};
  c.opt.set = true;
  c.opt.v = name;
  c.opt_eps.set = true;
  c.opt_eps.v = 1e-6;
  c.opt_betas.set = true;
  c.opt_betas.n = 2;
  c.opt_betas.v = betas;
  assert_null(cz_optim_config_from_cfg(&c, 0.01, &oc));
  assert_true(oc.has_eps && oc.eps == 1e-6 && oc.has_betas && oc.betas[1] == 0.9);
  float d[2] = {0}, g[2] = {0};
  cz_train_param p = {"w", d, g, 2, {.rank = 1, .d = {2}}};
  cz_optim *o = NULL;
  assert_null(cz_optim_new(&oc, &p, 1, &o));
  assert_string_equal(cz_optim_state_name(o, 3), "w.lookahead_slow_buff");
  cz_optim_free(o);
  c.opt_betas.n = 3;
  cz_err *e = cz_optim_config_from_cfg(&c, 0.01, &oc);
  assert_non_null(e);
  assert_non_null(strstr(cz_err_msg(e), "training.optimizer.opt-betas"));
  cz_err_free(e);
}

static int setup(void **state) {
  (void)state;
  g_dir = getenv("CZOO_OPTIM_DIR");
  if (!g_dir) {
    fprintf(stderr, "CZOO_OPTIM_DIR is not set (the oracle.gen_optim fixture sets it)\n");
    return -1;
  }
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matches_reference),
      cmocka_unit_test(test_resume_is_exact),
      cmocka_unit_test(test_weight_decay_groups),
      cmocka_unit_test(test_errors), cmocka_unit_test(test_layer_decay_groups),
      cmocka_unit_test(test_config_section),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
