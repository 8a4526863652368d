/* The zoo's timm and torchvision models against the reference models:
 * tests/oracle/gen_zoo.py builds each (timm 1.0.31, torchvision 0.14) with
 * 10 classes and randomized BatchNorm statistics and biases, and writes its
 * state_dict, an input (batch 2), its float64 logits and its parameter
 * count. Per model: the state_dict loads strictly (every tensor used, none
 * missing), czoo's eval-mode logits match within 1e-4 as
 * max |czoo - ref| / max |ref| (PyTorch's own float32 error is printed
 * beside), the parameter count is equal, and czoo's state_dict has the
 * reference's keys in the reference's order with the same shapes. In train
 * mode (dropout off) the logits match the float64 reference's within 1e-4
 * too, and so does every running statistic after that forward (each
 * model's BatchNorm momentum: PyTorch's 0.1, MNASNet's 0.0003). And the
 * initialization law: czoo's fresh weights have the standard deviation the
 * reference's fresh weights have, within 20 % (each Conv/Linear weight of
 * 500+ elements; sampling alone moves it by ~5 % at 500, and the laws
 * the models use differ by 3x or more where they differ). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "graph/graph_dict.h"
#include "tensor_file.h"
#include "util/mem.h"
#include "zoo/zoo.h"

#define TOL_LOGITS 1e-4
#define CLASSES 10

static double rel_err(const float *a, const float *ref, int64_t n) {
  double d = 0, m = 0;
  for (int64_t i = 0; i < n; i++) {
    d = fmax(d, fabs((double)a[i] - ref[i]));
    m = fmax(m, fabs((double)ref[i]));
  }
  return d / (m > 0 ? m : 1);
}

/* czoo's state_dict against the reference's: same keys, order, shapes. */
static void check_names(const cz_graph *g, const cz_tensor_dict *ref) {
  cz_tensor_dict *ours = cz_graph_to_dict(g);
  for (int i = 0; i < ours->n || i < ref->n; i++) {
    const char *a = i < ours->n ? ours->t[i].name : "(end)";
    const char *b = i < ref->n ? ref->t[i].name : "(end)";
    if (strcmp(a, b) != 0) fail_msg("state_dict key %d: czoo '%s', reference '%s'", i, a, b);
    if (!cz_shape_eq(&ours->t[i].shape, &ref->t[i].shape)) {
      char x[CZ_SHAPE_STR_MAX], y[CZ_SHAPE_STR_MAX];
      fail_msg("%s: czoo %s, reference %s", a, cz_shape_str(&ours->t[i].shape, x, sizeof x),
               cz_shape_str(&ref->t[i].shape, y, sizeof y));
    }
  }
  cz_tdict_free(ours);
}

/* Train mode: batch-statistic logits, then the running statistics. */
static void check_train(const ct_bundle *b, cz_graph *g, const char *file) {
  cz_exec *ex = NULL;
  cz_exec_opts eo = {.training = true};
  cz_err *err = cz_exec_new(g, &eo, &ex);
  if (err) fail_msg("%s", cz_err_msg(err));
  cz_exec_set_input(ex, 0, ct_bundle_need(b, "x")->data, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  const ct_tensor *ref = ct_bundle_need(b, "train_ref");
  int64_t n = cz_shape_numel(&ref->shape);
  double el = rel_err(cz_exec_value(ex, g->outputs[0]).data, ref->data, n), es = 0;
  int stats = 0;
  for (int v = 0; v < g->n_values; v++) {
    if (g->values[v].kind != CZ_V_BUFFER) continue;
    char *key = cz_asprintf("train_stat/%s", g->values[v].name);
    const ct_tensor *t = ct_bundle_need(b, key);
    es = fmax(es, rel_err(g->values[v].data, t->data, cz_shape_numel(&t->shape)));
    stats++;
    free(key);
  }
  printf("%-22s train mode: logits %.2g, %d running statistics worst %.2g (bound %.0e)\n", file,
         el, stats, es, TOL_LOGITS);
  assert_true(el <= TOL_LOGITS);
  assert_true(es <= TOL_LOGITS);
  cz_exec_free(ex);
}

/* Fresh weights (czoo's init, seed 1) against the reference's stds. */
static void check_init(const ct_bundle *b, const char *model) {
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(model));
  o.num_classes = CLASSES, o.height = o.width = 32, o.seed = 1;
  cz_graph *g = NULL;
  assert_null(cz_zoo_build(model, &o, &g));
  int checked = 0;
  double worst = 0;
  for (int i = 0; i < b->n; i++) {
    if (strncmp(b->t[i].name, "init_std/", 9) != 0) continue;
    int v = cz_graph_find_value(g, b->t[i].name + 9);
    assert_true(v >= 0);
    const float *d = g->values[v].data;
    int64_t n = cz_shape_numel(&g->values[v].shape);
    double s1 = 0, s2 = 0;
    for (int64_t k = 0; k < n; k++) s1 += d[k], s2 += (double)d[k] * d[k];
    double sd = sqrt((s2 - s1 * s1 / n) / (n - 1)), want = *(const float *)b->t[i].data;
    double r = fabs(sd / want - 1);
    if (r > 0.2) fail_msg("%s %s: initial std %.4g, reference %.4g", model, b->t[i].name + 9, sd, want);
    worst = fmax(worst, r);
    checked++;
  }
  printf("%-22s initial weights: %d tensors, std within %.1f %% of the reference's\n", model,
         checked, 100 * worst);
  assert_true(checked > 0);
  cz_graph_free(g);
}

static void check(const char *file, const char *model) {
  const char *dir = getenv("CZOO_ZOO_ORACLE_DIR");
  char *path = cz_asprintf("%s/%s.czt", dir ? dir : "oracle/zoo", file);
  ct_bundle *b = ct_bundle_read(path);
  const int64_t *shape = ct_bundle_need(b, "shape")->data;
  const cz_zoo_entry *e = cz_zoo_find(model);
  assert_non_null(e);
  cz_zoo_opts o = cz_zoo_default_opts(e);
  o.num_classes = CLASSES;
  o.channels = (int)shape[0], o.height = (int)shape[1], o.width = (int)shape[2];
  o.batch = 2;
  o.drop_rate = 0; /* no Dropout node: the train-mode check runs without */
  cz_graph *g = NULL;
  cz_err *err = cz_zoo_build(model, &o, &g);
  if (err) fail_msg("%s", cz_err_msg(err));
  cz_tensor_dict *sd = ct_bundle_to_dict(b, "sd/");
  cz_load_report rep;
  err = cz_graph_load_dict(g, sd, true, path, &rep);
  if (err) fail_msg("%s", cz_err_msg(err));
  assert_int_equal(rep.loaded, rep.total);
  assert_int_equal(rep.skipped, 0);
  assert_int_equal(rep.missing, 0);
  check_names(g, sd);

  cz_exec *ex = NULL;
  cz_exec_opts eo = {0};
  err = cz_exec_new(g, &eo, &ex);
  if (err) fail_msg("%s", cz_err_msg(err));
  cz_exec_set_input(ex, 0, ct_bundle_need(b, "x")->data, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor lg = cz_exec_value(ex, g->outputs[0]);
  const ct_tensor *ref = ct_bundle_need(b, "ref"), *pt = ct_bundle_need(b, "pt32");
  int64_t n = cz_shape_numel(&ref->shape);
  assert_int_equal(cz_numel(&lg), n);
  double el = rel_err(cz_f32(&lg), ref->data, n), ep = rel_err(pt->data, ref->data, n);
  int64_t params = cz_graph_param_count(g), want = *(const int64_t *)ct_bundle_need(b, "param_count")->data;
  printf("%-22s [%d,%d,%d] %d tensors loaded, %lld parameters (reference %lld), logits vs "
         "float64: czoo %.2g, PyTorch fp32 %.2g (bound %.0e)\n",
         file, o.channels, o.height, o.width, rep.loaded, (long long)params, (long long)want, el,
         ep, TOL_LOGITS);
  assert_true(el <= TOL_LOGITS);
  assert_true(params == want);
  cz_exec_free(ex);
  /* The valgrind run sets CZOO_ZOO_EVAL_ONLY: test_zoo_train covers the
   * train-mode paths there, and initialization is plain arithmetic. */
  if (!getenv("CZOO_ZOO_EVAL_ONLY")) {
    check_train(b, g, file);
    if (strcmp(file, model) == 0) check_init(b, model);
  }
  cz_load_report_free(&rep);
  cz_tdict_free(sd);
  cz_graph_free(g);
  ct_bundle_free(b);
  free(path);
}

static void test_mobilenetv2_a050(void **s) { (void)s, check("mobilenetv2_a050_pt", "mobilenetv2_a050_pt"); }
static void test_mobilenetv2_a100(void **s) { (void)s, check("mobilenetv2_a100_pt", "mobilenetv2_a100_pt"); }
static void test_semnasnet100(void **s) { (void)s, check("semnasnet100_pt", "semnasnet100_pt"); }
static void test_semnasnet100_80x112(void **s) {
  (void)s, check("semnasnet100_pt_80x112", "semnasnet100_pt");
}
static void test_mobilenetv4small(void **s) { (void)s, check("mobilenetv4small_pt", "mobilenetv4small_pt"); }
static void test_mobilenetv2_w035(void **s) { (void)s, check("mobilenetv2_w035_pt", "mobilenetv2_w035_pt"); }
static void test_mnasnet_d050(void **s) { (void)s, check("mnasnet_d050_pt", "mnasnet_d050_pt"); }
static void test_shufflenetv2_x050(void **s) { (void)s, check("shufflenetv2_x050_pt", "shufflenetv2_x050_pt"); }
static void test_shufflenetv2_x050_112x64(void **s) {
  (void)s, check("shufflenetv2_x050_pt_112x64", "shufflenetv2_x050_pt");
}
static void test_shufflenetv2_x100(void **s) { (void)s, check("shufflenetv2_x100_pt", "shufflenetv2_x100_pt"); }

/* The check can fail: a state_dict of another model is refused by the
 * strict load, naming what does not fit. */
static void test_wrong_state_dict_is_refused(void **s) {
  (void)s;
  const char *dir = getenv("CZOO_ZOO_ORACLE_DIR");
  char *path = cz_asprintf("%s/mobilenetv2_a050_pt.czt", dir ? dir : "oracle/zoo");
  ct_bundle *b = ct_bundle_read(path);
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find("mobilenetv2_a100_pt"));
  o.num_classes = CLASSES;
  cz_graph *g = NULL;
  assert_null(cz_zoo_build("mobilenetv2_a100_pt", &o, &g));
  cz_tensor_dict *sd = ct_bundle_to_dict(b, "sd/");
  cz_err *err = cz_graph_load_dict(g, sd, true, path, NULL);
  assert_non_null(err);
  assert_non_null(strstr(cz_err_msg(err), "conv_stem.weight"));
  cz_err_free(err);
  cz_tdict_free(sd);
  cz_graph_free(g);
  ct_bundle_free(b);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mobilenetv2_a050),   cmocka_unit_test(test_mobilenetv2_a100),
      cmocka_unit_test(test_semnasnet100),       cmocka_unit_test(test_semnasnet100_80x112),
      cmocka_unit_test(test_mobilenetv4small),   cmocka_unit_test(test_mobilenetv2_w035),
      cmocka_unit_test(test_mnasnet_d050),       cmocka_unit_test(test_shufflenetv2_x050),
      cmocka_unit_test(test_shufflenetv2_x050_112x64), cmocka_unit_test(test_shufflenetv2_x100),
      cmocka_unit_test(test_wrong_state_dict_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
