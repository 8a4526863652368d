/* Layer-wise lr decay against timm 1.0.31 (tests/oracle/gen_layer_decay.py,
 * $CZOO_LAYER_DECAY_DIR): for every zoo model with an installable reference,
 * each parameter's lr scale, weight decay and lr, the number of param
 * groups and the logged mean lr equal timm's create_optimizer_v2 with
 * layer_decay (exactly: the same pow and products in double); the models
 * without a reference (ST) get timm's one-layer fallback; and 3 steps of
 * adamw, sgd and lamb with layer decay on timm's mobilenetv2_050 match
 * timm's parameters within test_train_optim's bound. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_file.h"
#include "train/layer_decay.h"
#include "train/optim.h"
#include "util/mem.h"
#include "util/strbuf.h"
#include "zoo/zoo.h"

#define LR 0.01
#define WD 0.05
#define LD 0.75
/* test_train_optim's bound for float32 updates against torch's */
#define REL 2e-5
#define ABS 1e-6

/* $CZOO_LAYER_DECAY_QUICK (valgrind): only these models (each build
 * initializes millions of weights, which valgrind makes minutes). */
static bool selected(const char *zoo) {
  static const char *const quick[] = {"mobilenetv2_a050_pt", "mobilenetv4small_pt",
                                      "mnasnet_d050_pt", "fdmobilenet_a025_pt",
                                      "st_resnetpico_actrelu_pt", "mobilenet_v1_0.25_pt", NULL};
  const char *q = getenv("CZOO_LAYER_DECAY_QUICK");
  if (!q || !*q) return true;
  for (int i = 0; quick[i]; i++)
    if (strcmp(quick[i], zoo) == 0) return true;
  return false;
}

static const char *dir(void) {
  const char *d = getenv("CZOO_LAYER_DECAY_DIR");
  if (!d || !*d) fail_msg("CZOO_LAYER_DECAY_DIR is not set (ctest runs gen_layer_decay.py)");
  return d;
}

/* The zoo model's parameters (graph order) as cz_train_params. */
static cz_graph *model_params(const char *name, cz_train_param **out, int *n) {
  const cz_zoo_entry *e = cz_zoo_find(name);
  assert_non_null(e);
  cz_zoo_opts o = cz_zoo_default_opts(e);
  o.num_classes = 10;
  cz_graph *g = NULL;
  cz_err *err = cz_zoo_build(name, &o, &g);
  if (err) fail_msg("%s: %s", name, cz_err_msg(err));
  *out = cz_xcalloc((size_t)g->n_values, sizeof **out);
  *n = 0;
  for (int v = 0; v < g->n_values; v++) {
    cz_value *x = &g->values[v];
    if (x->kind != CZ_V_PARAM) continue;
    (*out)[(*n)++] = (cz_train_param){x->name, x->data, x->data, cz_shape_numel(&x->shape),
                                      x->shape};
  }
  return g;
}

static cz_optim *ld_optim(const cz_zoo_entry *e, const char *opt, const cz_train_param *p, int n,
                          int *n_layers) {
  double *scale = cz_xcalloc((size_t)n + 1, sizeof *scale);
  int *layer = cz_xcalloc((size_t)n + 1, sizeof *layer);
  assert_null(cz_layer_decay_map(e->groups, p, n, LD, layer, scale, n_layers));
  cz_optim_config c = {.opt = opt, .lr = LR, .weight_decay = WD, .momentum = 0.9,
                       .has_layer_decay = true, .layer_decay = LD, .lr_scale = scale,
                       .lr_layer = layer};
  cz_optim *o = NULL;
  assert_null(cz_optim_new(&c, p, n, &o));
  free(scale);
  free(layer);
  return o;
}

static int find(const cz_train_param *p, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(p[i].name, name) == 0) return i;
  return -1;
}

static void test_groups_match_timm(void **state) {
  (void)state;
  char *path = cz_asprintf("%s/groups.czt", dir());
  ct_bundle *b = ct_bundle_read(path);
  free(path);
  int failures = 0;
  for (int m = 0; m < b->n; m++) {
    const char *zoo = b->t[m].name;
    if (!selected(zoo)) continue;
    cz_train_param *p;
    int n, n_layers, checked = 0, bad = 0;
    cz_graph *g = model_params(zoo, &p, &n);
    cz_optim *o = ld_optim(cz_zoo_find(zoo), "adamw", p, n, &n_layers);
    char *text = cz_xstrdup(b->t[m].data), *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char name[256];
      double scale, wd, mean;
      int gi, groups;
      if (sscanf(line, "groups %d mean_lr %lf", &groups, &mean) == 2) {
        if (groups != cz_optim_group_count(o) || mean != cz_optim_lr(o)) {
          printf("%s: %d groups, mean lr %.17g; timm %d, %.17g\n", zoo, cz_optim_group_count(o),
                 cz_optim_lr(o), groups, mean);
          bad++;
        }
        continue;
      }
      assert_int_equal(sscanf(line, "%255s %lf %lf %d", name, &scale, &wd, &gi), 4);
      int i = find(p, n, name);
      if (i < 0) {
        printf("%s: timm's parameter %s is not in the zoo model\n", zoo, name);
        bad++;
        continue;
      }
      checked++;
      if (cz_optim_param_lr(o, i) != LR * scale || cz_optim_param_weight_decay(o, i) != wd) {
        printf("%s: %s lr %.17g wd %g; timm lr %.17g wd %g\n", zoo, name, cz_optim_param_lr(o, i),
               cz_optim_param_weight_decay(o, i), LR * scale, wd);
        bad++;
      }
    }
    if (checked != n) printf("%s: %d of our %d parameters checked\n", zoo, checked, n), bad++;
    printf("%-22s %3d parameters, %2d layers, %2d param groups, mean lr %.6g: %s\n", zoo, n,
           n_layers, cz_optim_group_count(o), cz_optim_lr(o), bad ? "MISMATCH" : "as timm");
    failures += bad != 0;
    free(text);
    cz_optim_free(o);
    free(p);
    cz_graph_free(g);
  }
  ct_bundle_free(b);
  assert_int_equal(failures, 0);
}

/* Models without a reference here (ST's): no group_matcher, so timm's
 * fallback: one layer, scale 1, two groups (decay, no decay). */
static void test_st_models_one_layer(void **state) {
  (void)state;
  for (int k = 0; k < cz_zoo_count(); k++) {
    const cz_zoo_entry *e = cz_zoo_at(k);
    if (e->groups || !selected(e->name)) continue;
    cz_train_param *p;
    int n, n_layers;
    cz_graph *g = model_params(e->name, &p, &n);
    cz_optim *o = ld_optim(e, "sgd", p, n, &n_layers);
    assert_int_equal(n_layers, 1);
    assert_int_equal(cz_optim_group_count(o), 2);
    for (int i = 0; i < n; i++) assert_true(cz_optim_param_lr(o, i) == LR);
    assert_true(cz_optim_lr(o) == LR);
    cz_optim_free(o);
    free(p);
    cz_graph_free(g);
  }
}

static void test_steps_match_timm(void **state) {
  (void)state;
  char *path = cz_asprintf("%s/steps.czt", dir());
  ct_bundle *b = ct_bundle_read(path);
  free(path);
  int n = 0;
  cz_train_param *p = cz_xcalloc((size_t)b->n, sizeof *p);
  const ct_tensor **init = cz_xcalloc((size_t)b->n, sizeof *init);
  for (int t = 0; t < b->n; t++)
    if (strncmp(b->t[t].name, "p/", 2) == 0) {
      const ct_tensor *x = &b->t[t];
      int64_t numel = cz_shape_numel(&x->shape);
      init[n] = x;
      p[n++] = (cz_train_param){x->name + 2, cz_xmalloc((size_t)numel * 4),
                                cz_xmalloc((size_t)numel * 4), numel, x->shape};
    }
  double lrs[3];
  assert_int_equal(sscanf(ct_bundle_need(b, "lrs")->data, "%lf %lf %lf", &lrs[0], &lrs[1], &lrs[2]),
                   3);
  const char *opts[] = {"adamw", "sgd", "lamb"};
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < n; i++) memcpy(p[i].data, init[i]->data, init[i]->bytes);
    int n_layers;
    cz_optim *o = ld_optim(cz_zoo_find("mobilenetv2_a050_pt"), opts[k], p, n, &n_layers);
    for (int s = 0; s < 3; s++) {
      for (int i = 0; i < n; i++) {
        char name[300];
        snprintf(name, sizeof name, "g%d/%s", s, p[i].name);
        const ct_tensor *gr = ct_bundle_need(b, name);
        memcpy(p[i].grad, gr->data, gr->bytes);
      }
      cz_optim_set_lr(o, lrs[s]);
      cz_optim_step(o);
    }
    double worst_abs = 0, worst_rel = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
      char name[300];
      snprintf(name, sizeof name, "%s/%s", opts[k], p[i].name);
      const float *ref = ct_bundle_need(b, name)->data;
      for (int64_t j = 0; j < p[i].numel; j++) {
        double d = fabs((double)p[i].data[j] - ref[j]);
        worst_abs = fmax(worst_abs, d);
        if (fabs(ref[j]) > 1e-3) worst_rel = fmax(worst_rel, d / fabs(ref[j]));
        bad += d > REL * fabs(ref[j]) + ABS;
      }
    }
    printf("layer decay %-5s 3 steps, %d layers, %d tensors: max abs diff %.3g, max rel diff "
           "(|ref| > 1e-3) %.3g, %d beyond %g rel + %g abs\n", opts[k], n_layers, n, worst_abs,
           worst_rel, bad, REL, ABS);
    assert_int_equal(bad, 0);
    cz_optim_free(o);
  }
  for (int i = 0; i < n; i++) free(p[i].data), free(p[i].grad);
  free(p);
  free(init);
  ct_bundle_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_groups_match_timm),
      cmocka_unit_test(test_st_models_one_layer),
      cmocka_unit_test(test_steps_match_timm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
