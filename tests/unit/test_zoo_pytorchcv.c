/* The zoo's pytorchcv models against pytorchcv itself: for each model,
 * tests/oracle/gen_zoo_pytorchcv.py wrote the reference's state_dict
 * (randomized BatchNorm), an input, the eval-mode logits, the parameter
 * count and which input sizes the reference takes. czoo's model must load
 * that state_dict strictly (every tensor used, none missing), reproduce
 * the logits, have the same parameter count, export exactly the
 * reference's state_dict keys and shapes in order (num_batches_tracked
 * included), and accept exactly the input sizes the reference does.
 * CZOO_ZOO_MODELS=a,b limits the models (the valgrind run does). */
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

/* Logits bound: max |czoo - pytorchcv| / max |pytorchcv| over the batch,
 * both float32 (PyTorch's own summation order differs from ours). */
#define TOL_LOGITS 1e-4
#define CLASSES 10

static bool selected(const char *name) {
  const char *sel = getenv("CZOO_ZOO_MODELS");
  if (!sel || !*sel) return true;
  size_t n = strlen(name);
  for (const char *p = sel; (p = strstr(p, name)) != NULL; p += n)
    if ((p == sel || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
  return false;
}

static ct_bundle *read_oracle(const char *name) {
  const char *dir = getenv("CZOO_ORACLE_DIR");
  char *path = cz_asprintf("%s/%s.czt", dir ? dir : "oracle/zoo_pytorchcv", name);
  ct_bundle *b = ct_bundle_read(path);
  free(path);
  return b;
}

static cz_graph *build(const char *name, int size, int batch, cz_err **err) {
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(name));
  o.num_classes = CLASSES;
  o.height = o.width = size;
  o.batch = batch;
  cz_graph *g = NULL;
  *err = cz_zoo_build(name, &o, &g);
  return g;
}

/* The exported state_dict equals the reference's: same keys in the same
 * order, same dtypes and shapes. */
static void check_export(const cz_graph *g, const cz_tensor_dict *ref) {
  cz_tensor_dict *ours = cz_graph_to_dict(g);
  if (ours->n != ref->n) printf("  czoo exports %d tensors, the reference %d\n", ours->n, ref->n);
  for (int i = 0; i < ours->n && i < ref->n; i++) {
    const cz_named_tensor *a = &ours->t[i], *b = &ref->t[i];
    bool same = strcmp(a->name, b->name) == 0 && a->dtype == b->dtype &&
                a->shape.rank == b->shape.rank;
    for (int k = 0; same && k < a->shape.rank; k++) same = a->shape.d[k] == b->shape.d[k];
    if (!same) fail_msg("state_dict entry %d: czoo '%s' vs reference '%s' (or dtype/shape)", i,
                        a->name, b->name);
  }
  assert_int_equal(ours->n, ref->n);
  cz_tdict_free(ours);
}

static double logits_error(cz_graph *g, const ct_bundle *b) {
  cz_exec_opts eo = {0};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(g, &eo, &ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_exec_set_input(ex, 0, ct_bundle_need(b, "input")->data, CZ_ROWMAJOR);
  cz_exec_forward(ex);
  cz_tensor y = cz_exec_value(ex, g->outputs[0]);
  const ct_tensor *ref = ct_bundle_need(b, "logits");
  assert_int_equal(cz_numel(&y), cz_shape_numel(&ref->shape));
  const float *a = cz_f32(&y), *r = ref->data;
  double d = 0, m = 0;
  for (int64_t i = 0; i < cz_numel(&y); i++) {
    d = fmax(d, fabs((double)a[i] - r[i]));
    m = fmax(m, fabs((double)r[i]));
  }
  cz_exec_free(ex);
  return d / m;
}

/* czoo builds at exactly the sizes where the reference gives logits. */
static void check_sizes(const char *name, const ct_bundle *b) {
  const ct_tensor *sizes = ct_bundle_need(b, "sizes"), *ok = ct_bundle_need(b, "size_ok");
  for (int64_t i = 0; i < cz_shape_numel(&sizes->shape); i++) {
    int s = (int)((const int64_t *)sizes->data)[i];
    bool want = ((const int64_t *)ok->data)[i] != 0;
    cz_err *e = NULL;
    cz_graph *g = build(name, s, 1, &e);
    if (want != (e == NULL))
      fail_msg("%s at %dx%d: reference %s, czoo %s", name, s, s, want ? "accepts" : "rejects",
               e ? cz_err_msg(e) : "accepts");
    if (e && i == 0) printf("  at %dx%d: %s\n", s, s, cz_err_msg(e));
    cz_err_free(e);
    cz_graph_free(g);
  }
}

static void test_model(void **state) {
  const char *name = *state;
  if (!selected(name)) skip();
  ct_bundle *b = read_oracle(name);
  const ct_tensor *x = ct_bundle_need(b, "input");
  cz_err *e = NULL;
  cz_graph *g = build(name, (int)x->shape.d[2], (int)x->shape.d[0], &e);
  if (e) fail_msg("%s", cz_err_msg(e));
  cz_tensor_dict *sd = ct_bundle_to_dict(b, "sd/");
  cz_load_report rep = {0};
  e = cz_graph_load_dict(g, sd, true, name, &rep);
  if (e) fail_msg("%s", cz_err_msg(e));
  assert_int_equal(rep.loaded, rep.total);
  assert_int_equal(rep.skipped, 0);
  assert_int_equal(rep.missing, 0);
  int64_t params = cz_graph_param_count(g), ref_params = *(const int64_t *)ct_bundle_need(b, "params")->data;
  double err = logits_error(g, b);
  printf("%-22s %2d tensors loaded, %lld parameters (pytorchcv %lld), input %lldx%lld, "
         "logits max|d|/max|ref| %.2g (bound %.0e)\n",
         name, rep.loaded, (long long)params, (long long)ref_params, (long long)x->shape.d[2],
         (long long)x->shape.d[3], err, TOL_LOGITS);
  assert_true(params == ref_params);
  assert_true(err <= TOL_LOGITS);
  check_export(g, sd);
  check_sizes(name, b);
  cz_load_report_free(&rep);
  cz_tdict_free(sd);
  cz_graph_free(g);
  ct_bundle_free(b);
}

/* The bound can fail: one wrong tensor (a BatchNorm's statistics moved to
 * another's) moves the logits far past it. */
static void test_swapped_tensor_is_caught(void **state) {
  (void)state;
  const char *name = "fdmobilenet_a025_pt";
  if (!selected(name)) skip();
  ct_bundle *b = read_oracle(name);
  const ct_tensor *x = ct_bundle_need(b, "input");
  cz_err *e = NULL;
  cz_graph *g = build(name, (int)x->shape.d[2], (int)x->shape.d[0], &e);
  assert_null(e);
  cz_tensor_dict *sd = ct_bundle_to_dict(b, "sd/");
  assert_null(cz_graph_load_dict(g, sd, true, name, NULL));
  int v = cz_graph_find_value(g, "features.stage2.unit1.dw_conv.bn.running_mean");
  assert_true(v >= 0);
  float *m = g->values[v].data;
  float t = m[0];
  m[0] = m[1], m[1] = t;
  double err = logits_error(g, b);
  printf("two running-mean entries swapped: logits error %.2g\n", err);
  assert_true(err > TOL_LOGITS);
  cz_tdict_free(sd);
  cz_graph_free(g);
  ct_bundle_free(b);
}

#define MODEL(n) cmocka_unit_test_prestate(test_model, (void *)(n))
int main(void) {
  const struct CMUnitTest tests[] = {
      MODEL("mobilenet_a025_pt"),   MODEL("mobilenet_a050_pt"),   MODEL("mobilenet_a075_pt"),
      MODEL("fdmobilenet_a025_pt"), MODEL("fdmobilenet_a050_pt"), MODEL("fdmobilenet_a075_pt"),
      MODEL("mobilenetv2_a025_pt"), MODEL("mobilenetv2_a075_pt"), MODEL("squeezenetv10_pt"),
      MODEL("resnet18wd4_pt"),      cmocka_unit_test(test_swapped_tensor_is_caught),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
