/* Model-level check of the engine against PyTorch: torchvision's
 * mobilenet_v2(width_mult=0.35, num_classes=10) built in the IR, loaded
 * with the weights tests/oracle/gen_mbv2.py wrote, must reproduce the
 * float64 reference's logits, loss, every parameter gradient and the
 * running-statistics update of a training step, and the loss trajectory of
 * 10 SGD-with-momentum steps with BatchNorm frozen. The trajectory with
 * batch statistics is chaotic at this size even for PyTorch's float32
 * (see gen_mbv2.py): it is printed beside PyTorch's and held only over its
 * first two steps. PyTorch's own float32 error is printed beside ours. */
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
#include "graph/graph_edit.h"
#include "graph/graph_summary.h"
#include "graph/pass_fold_bn.h"
#include "mbv2.h"
#include "tensor_file.h"
#include "util/mem.h"

/* Bounds, as max |ours - ref| / max |ref| over a tensor (for gradients,
 * max |ref| is floored at 1e-4 of the largest gradient in the model: the
 * biases of BatchNorms followed by a conv and another BatchNorm have a true
 * gradient of exactly zero, and rounding noise is all there is to compare).
 * The float64 reference is exact to fp32 rounding, so these bound our
 * fp32 error. */
#define TOL_LOGITS 1e-4
#define TOL_LOSS 1e-4
#define TOL_GRAD 1e-3 /* worst tensor: long reductions over batch and space */
#define TOL_TRAJECTORY 1e-3
#define BATCH 4
#define SIZE 64
#define CLASSES 10
#define STEPS 10
#define LR 0.05f
#define MOMENTUM 0.9f

static ct_bundle *oracle;

static int setup(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_ORACLE_DIR");
  char *path = cz_asprintf("%s/mbv2.czt", dir ? dir : "oracle/model");
  oracle = ct_bundle_read(path);
  free(path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ct_bundle_free(oracle);
  return 0;
}

typedef struct {
  cz_graph *g;
  int input, labels, logits, loss;
} net;

static net build(void) {
  net n;
  n.g = cz_graph_new("mobilenet_v2_035");
  mbv2_net m = mbv2_build(n.g, BATCH, SIZE, SIZE, 0.35f, CLASSES, 0.0f);
  n.input = m.input;
  n.logits = m.logits;
  n.labels = cz_graph_input(n.g, "labels", CZ_I64, cz_shape1(BATCH));
  int in[2] = {m.logits, n.labels};
  n.loss = cz_node_out(n.g, cz_graph_node(n.g, "SoftmaxCrossEntropyLoss", "loss", 2, in, 1, NULL), 0);
  cz_graph_mark_output(n.g, n.loss);
  cz_graph_mark_output(n.g, n.logits);
  return n;
}

/* Copies every parameter and buffer from the oracle; all must be there. */
static void load_weights(cz_graph *g) {
  int loaded = 0;
  for (int v = 0; v < g->n_values; v++) {
    cz_value *x = &g->values[v];
    if (x->kind != CZ_V_PARAM && x->kind != CZ_V_BUFFER) continue;
    char *key = cz_asprintf("w.%s", x->name);
    const ct_tensor *t = ct_bundle_need(oracle, key);
    free(key);
    assert_true(cz_shape_numel(&t->shape) == cz_shape_numel(&x->shape));
    memcpy(x->data, t->data, t->bytes);
    loaded++;
  }
  assert_int_equal(loaded, 262); /* the state_dict but num_batches_tracked */
}

static double floor_abs; /* see the bounds above */

static double rel_err(const float *a, const float *ref, int64_t n) {
  double d = 0, m = floor_abs;
  for (int64_t i = 0; i < n; i++) {
    d = fmax(d, fabs((double)a[i] - ref[i]));
    m = fmax(m, fabs((double)ref[i]));
  }
  return d / (m > 0 ? m : 1);
}

static double vs_oracle(const float *ours, const char *what, int64_t n, double tol) {
  char *rk = cz_asprintf("ref.%s", what), *pk = cz_asprintf("pt32.%s", what);
  const ct_tensor *ref = ct_bundle_need(oracle, rk), *pt = ct_bundle_need(oracle, pk);
  assert_true(cz_shape_numel(&ref->shape) == n);
  double e = rel_err(ours, ref->data, n), ep = rel_err(pt->data, ref->data, n);
  if (e > tol) printf("  %s: czoo %.3g > bound %.0e (PyTorch fp32 %.3g)\n", what, e, tol, ep);
  free(rk);
  free(pk);
  return e;
}

static void set_batch(cz_exec *ex, int step) {
  char name[16];
  snprintf(name, sizeof name, "x.%d", step);
  cz_exec_set_input(ex, 0, ct_bundle_need(oracle, name)->data, CZ_ROWMAJOR);
  snprintf(name, sizeof name, "y.%d", step);
  cz_exec_set_input(ex, 1, ct_bundle_need(oracle, name)->data, CZ_ROWMAJOR);
}

static void test_one_step_matches_pytorch(void **state) {
  (void)state;
  net n = build();
  load_weights(n.g);
  cz_exec_opts o = {.training = true, .backward = true};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(n.g, &o, &ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  set_batch(ex, 0);
  cz_exec_forward(ex);
  cz_exec_backward(ex, NULL);
  cz_tensor lg = cz_exec_value(ex, n.logits), ls = cz_exec_value(ex, n.loss);
  double el = vs_oracle(cz_f32(&lg), "logits", BATCH * CLASSES, TOL_LOGITS);
  double es = vs_oracle(cz_f32(&ls), "loss", 1, TOL_LOSS);
  double eg = 0, egp = 0, es_stats = 0;
  const char *worst = "";
  int checked = 0;
  double gmax = 0;
  for (int i = 0; i < oracle->n; i++)
    if (strncmp(oracle->t[i].name, "ref.g.", 6) == 0)
      for (int64_t k = 0; k < cz_shape_numel(&oracle->t[i].shape); k++)
        gmax = fmax(gmax, fabs(((const float *)oracle->t[i].data)[k]));
  floor_abs = 1e-4 * gmax;
  for (int v = 0; v < n.g->n_values; v++) {
    const cz_value *x = &n.g->values[v];
    if (x->kind == CZ_V_BUFFER) {
      char *sk = cz_asprintf("s.%s", x->name);
      floor_abs = 0;
      es_stats = fmax(es_stats, vs_oracle(x->data, sk, cz_shape_numel(&x->shape), TOL_LOGITS));
      floor_abs = 1e-4 * gmax;
      free(sk);
    }
    if (x->kind != CZ_V_PARAM) continue;
    cz_tensor gt = cz_exec_grad(ex, v);
    char *key = cz_asprintf("g.%s", x->name);
    double ev = vs_oracle(cz_f32(&gt), key, cz_numel(&gt), TOL_GRAD);
    char *pk = cz_asprintf("pt32.g.%s", x->name), *rk = cz_asprintf("ref.g.%s", x->name);
    egp = fmax(egp, rel_err(ct_bundle_need(oracle, pk)->data, ct_bundle_need(oracle, rk)->data,
                            cz_numel(&gt)));
    if (ev > eg) eg = ev, worst = x->name;
    free(key), free(pk), free(rk);
    checked++;
  }
  const float *pl = ct_bundle_need(oracle, "pt32.logits")->data;
  const float *rl = ct_bundle_need(oracle, "ref.logits")->data;
  printf("mobilenet_v2 0.35 vs float64 reference (max |err| / max |ref|):\n"
         "  logits   czoo %.3g  PyTorch fp32 %.3g  (bound %.0e)\n"
         "  loss     czoo %.3g  (bound %.0e)\n"
         "  %d parameter gradients: worst czoo %.3g (%s), PyTorch fp32 worst %.3g (bound %.0e)\n",
         el, rel_err(pl, rl, BATCH * CLASSES), TOL_LOGITS, es, TOL_LOSS, checked, eg, worst, egp,
         TOL_GRAD);
  floor_abs = 0;
  printf("  running statistics after the step: czoo %.3g (bound %.0e)\n", es_stats, TOL_LOGITS);
  printf("  step memory: arena %.1f MiB, parameter gradients %.1f MiB\n",
         cz_exec_arena_bytes(ex) / 1048576.0, cz_exec_grad_bytes(ex) / 1048576.0);
  assert_int_equal(checked, 158);
  /* torchvision's count: sum(p.numel() for p in model.parameters()). */
  assert_int_equal(cz_graph_param_count(n.g), 408938);
  char *summary = cz_graph_summary(n.g);
  printf("%.*s...\n%s", 400, summary, strstr(summary, "total:"));
  free(summary);
  assert_true(el <= TOL_LOGITS);
  assert_true(es <= TOL_LOSS);
  assert_true(eg <= TOL_GRAD);
  assert_true(es_stats <= TOL_LOGITS);
  cz_exec_free(ex);
  cz_graph_free(n.g);
}

/* 10 SGD steps; batch_stats false freezes BatchNorm (eval-mode BN, as in
 * PyTorch's model.eval() during fine-tuning). Returns the worst relative
 * loss error over the first `held` steps. */
static double trajectory(bool batch_stats, int held) {
  net n = build();
  load_weights(n.g);
  cz_exec_opts o = {.training = batch_stats, .backward = true};
  cz_exec *ex = NULL;
  cz_err *e = cz_exec_new(n.g, &o, &ex);
  if (e) fail_msg("%s", cz_err_msg(e));
  float **mom = cz_xcalloc((size_t)n.g->n_values, sizeof *mom);
  float losses[STEPS];
  /* torch.optim.SGD with momentum: buf = g on the first step, then
   * buf = momentum * buf + g; p -= lr * buf. */
  for (int s = 0; s < STEPS; s++) {
    set_batch(ex, s);
    cz_exec_forward(ex);
    cz_exec_backward(ex, NULL);
    losses[s] = ((const float *)cz_exec_value(ex, n.loss).data)[0];
    for (int v = 0; v < n.g->n_values; v++) {
      cz_value *x = &n.g->values[v];
      if (x->kind != CZ_V_PARAM) continue;
      int64_t cnt = cz_shape_numel(&x->shape);
      const float *gr = cz_exec_grad(ex, v).data;
      float *p = x->data;
      if (!mom[v]) {
        mom[v] = cz_xmalloc((size_t)cnt * sizeof(float));
        memcpy(mom[v], gr, (size_t)cnt * sizeof(float));
      } else {
        for (int64_t i = 0; i < cnt; i++) mom[v][i] = MOMENTUM * mom[v][i] + gr[i];
      }
      for (int64_t i = 0; i < cnt; i++) p[i] -= LR * mom[v][i];
    }
  }
  const char *key = batch_stats ? "losses_bn" : "losses";
  char rk[32], pk[32];
  snprintf(rk, sizeof rk, "ref.%s", key);
  snprintf(pk, sizeof pk, "pt32.%s", key);
  const float *ref = ct_bundle_need(oracle, rk)->data, *pt = ct_bundle_need(oracle, pk)->data;
  double worst = 0, worst_pt = 0, held_worst = 0;
  printf("SGD momentum %.1f lr %.2f, BatchNorm %s, loss per step\n"
         "  (czoo / float64 ref / PyTorch fp32; relative errors czoo, PyTorch):\n",
         MOMENTUM, LR, batch_stats ? "with batch statistics" : "frozen");
  for (int s = 0; s < STEPS; s++) {
    double r = fabs(losses[s] - ref[s]) / fabs(ref[s]), rp = fabs(pt[s] - ref[s]) / fabs(ref[s]);
    worst = fmax(worst, r);
    worst_pt = fmax(worst_pt, rp);
    if (s < held) held_worst = fmax(held_worst, r);
    printf("  step %2d  %10.6f %10.6f %10.6f   %.2g  %.2g\n", s + 1, losses[s], ref[s], pt[s], r,
           rp);
  }
  printf("  max rel err over 10 steps: czoo %.3g, PyTorch fp32 %.3g; bound %.0e on the first %d\n",
         worst, worst_pt, TOL_TRAJECTORY, held);
  cz_exec_free(ex);
  if (!batch_stats) {
    /* Eval mode after the frozen run: the trained weights, same statistics. */
    cz_exec_opts eo = {0};
    assert_null(cz_exec_new(n.g, &eo, &ex));
    set_batch(ex, 0);
    cz_exec_forward(ex);
    double ee = vs_oracle(cz_exec_value(ex, n.logits).data, "eval_logits", BATCH * CLASSES, 1e-3);
    printf("  eval-mode logits after the 10 steps: max rel err %.3g (bound 1e-3)\n", ee);
    assert_true(ee <= 1e-3);
    cz_exec_free(ex);
    /* The same with every BatchNormalization folded into its Conv. */
    cz_graph *f = cz_graph_clone(n.g);
    int folded = 0;
    assert_null(cz_pass_fold_bn(f, &folded));
    assert_int_equal(folded, 52);
    assert_null(cz_exec_new(f, &eo, &ex));
    set_batch(ex, 0);
    cz_exec_forward(ex);
    double ef = vs_oracle(cz_exec_value(ex, cz_graph_find_value(f, "classifier.1")).data,
                          "eval_logits", BATCH * CLASSES, 1e-3);
    printf("  the same with BatchNormalization folded into the convolutions (52 folded, %lld\n"
           "  parameters left of %lld): max rel err %.3g (bound 1e-3)\n",
           (long long)cz_graph_param_count(f), (long long)cz_graph_param_count(n.g), ef);
    assert_true(ef <= 1e-3);
    cz_exec_free(ex);
    cz_graph_free(f);
  }
  for (int v = 0; v < n.g->n_values; v++) free(mom[v]);
  free(mom);
  cz_graph_free(n.g);
  return held_worst;
}

static void test_sgd_trajectory_frozen_bn(void **state) {
  (void)state;
  assert_true(trajectory(false, STEPS) <= TOL_TRAJECTORY);
}

/* Chaotic after a few steps (gen_mbv2.py says why): held over two. */
static void test_sgd_trajectory_batch_stats(void **state) {
  (void)state;
  assert_true(trajectory(true, 2) <= TOL_TRAJECTORY);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_step_matches_pytorch),
      cmocka_unit_test(test_sgd_trajectory_frozen_bn),
      cmocka_unit_test(test_sgd_trajectory_batch_stats),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
