/* Every zoo model through czoo's quantizer and onto the int8 engine: each
 * is built (10 classes, a small input, BatchNorm statistics randomized),
 * exported as float ONNX, quantized (per channel, int8, MinMax, four
 * random calibration images), exported as QDQ and imported again, then
 * lowered (no op may be refused) and run on two images: the fast kernels'
 * int8 outputs equal the reference kernels', and the dequantized outputs
 * are within one output step of czoo's float executor running the same
 * QDQ graph (each Q/DQ as written: test_qdq holds that executor to
 * onnxruntime's). Writes into CZOO_INT8_ZOO_DIR; CZOO_ZOO_MODELS (comma
 * list) limits the models (valgrind). Prints the measured figures. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "graph/exec.h"
#include "int8/rt_lower.h"
#include "kernels/k_simd.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/quant.h"
#include "util/mem.h"
#include "zoo/zoo.h"

#define N_IMG 4

typedef struct {
  const float *x;
  int64_t per;
  int done;
} feed;

static cz_err *f_start(void *ctx) {
  ((feed *)ctx)->done = 0;
  return NULL;
}

static cz_err *f_next(void *ctx, const float **x, int64_t *n) {
  feed *f = ctx;
  *n = f->done ? 0 : N_IMG;
  *x = f->x;
  f->done = 1;
  return NULL;
}

static float uniform(uint64_t *s, float lo, float hi) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return lo + (hi - lo) * (float)((*s >> 40) * (1.0 / 16777216.0));
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

static bool selected(const char *name) {
  const char *l = getenv("CZOO_ZOO_MODELS");
  if (!l) return true;
  size_t n = strlen(name);
  for (const char *p = strstr(l, name); p; p = strstr(p + 1, name))
    if ((p == l || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return true;
  return false;
}

static void one_model(const char *dir, const cz_zoo_entry *z, int idx) {
  cz_zoo_opts o = cz_zoo_default_opts(z);
  o.num_classes = 10;
  if (o.height >= 128) o.height = o.width = 32; /* the 96-pixel model keeps its size */
  o.seed = 3;
  cz_graph *g = NULL;
  cz_err *e = cz_zoo_build(z->name, &o, &g);
  if (e) { /* a fixed final pooling (MobileNetV1): the model's own input size */
    cz_err_free(e);
    o.height = z->default_h, o.width = z->default_w;
    e = cz_zoo_build(z->name, &o, &g);
  }
  if (e) fail_msg("%s: %s", z->name, cz_err_msg(e));
  uint64_t s = 700 + (uint64_t)idx;
  for (int i = 0; i < g->n_values; i++) {
    cz_value *v = &g->values[i];
    if (!v->data || v->dtype != CZ_F32) continue;
    float *p = v->data;
    for (int64_t k = 0; k < cz_shape_numel(&v->shape); k++) {
      if (ends_with(v->name, "running_var")) p[k] = uniform(&s, 0.5f, 1.5f);
      else if (ends_with(v->name, "running_mean") || ends_with(v->name, ".bias"))
        p[k] = uniform(&s, -0.2f, 0.2f);
    }
  }
  char *fp = cz_asprintf("%s/%s.onnx", dir, z->name), *qp = cz_asprintf("%s/%s_qdq.onnx", dir, z->name);
  if ((e = cz_onnx_export(g, NULL, fp))) fail_msg("%s", cz_err_msg(e));
  cz_graph_free(g);
  if ((e = cz_onnx_import(fp, &g))) fail_msg("%s", cz_err_msg(e));
  const int64_t per = (int64_t)o.channels * o.height * o.width;
  float *x = cz_xmalloc((size_t)(N_IMG * per) * sizeof *x);
  for (int64_t k = 0; k < N_IMG * per; k++) x[k] = uniform(&s, -2.f, 2.f);
  feed f = {.x = x, .per = per};
  cz_quant_data d = {.ctx = &f, .start = f_start, .next = f_next, .total = N_IMG, .batch = N_IMG};
  cz_quant_opts qo = cz_quant_default_opts();
  cz_graph *q = NULL;
  if ((e = cz_quantize(g, &qo, &d, &q))) fail_msg("%s: %s", z->name, cz_err_msg(e));
  if ((e = cz_onnx_export(q, NULL, qp))) fail_msg("%s", cz_err_msg(e));
  cz_graph_free(q);
  cz_graph_free(g);
  if ((e = cz_onnx_import(qp, &q))) fail_msg("%s", cz_err_msg(e));
  rt_plan *p = NULL;
  if ((e = rt_lower(q, N_IMG, z->name, &p))) fail_msg("%s", cz_err_msg(e));
  const int k = p->out_dims;
  float *y = cz_xmalloc((size_t)N_IMG * k * sizeof *y), *yr = cz_xmalloc((size_t)N_IMG * k * sizeof *yr);
  rt_plan_run_ref(p, x, N_IMG, yr);
  int8_t *qr = cz_xmalloc((size_t)N_IMG * k);
  memcpy(qr, rt_plan_output_q(p), (size_t)N_IMG * k);
  rt_plan_run(p, x, N_IMG, y);
  assert_memory_equal(qr, rt_plan_output_q(p), (size_t)N_IMG * k);
  /* the float executor on the same QDQ graph */
  if ((e = cz_graph_set_batch(q, N_IMG))) fail_msg("%s", cz_err_msg(e));
  cz_exec *ex = NULL;
  cz_exec_opts eo = {0};
  if ((e = cz_exec_new(q, &eo, &ex))) fail_msg("%s: %s", z->name, cz_err_msg(e));
  cz_exec_set_input(ex, 0, x, CZ_NHWC);
  cz_exec_forward(ex);
  cz_tensor t = cz_exec_value(ex, q->outputs[0]);
  const float step = p->tensors[p->output].scale;
  int within = 0, exact = 0, moves = 0;
  double worst = 0;
  for (int j = 0; j < N_IMG * k; j++) {
    double dd = fabs((double)y[j] - ((const float *)t.data)[j]) / step;
    worst = dd > worst ? dd : worst;
    within += dd <= 1.0 + 1e-3;
    exact += dd < 1e-3;
  }
  for (int i = 0; i < p->n_steps; i++) moves += p->steps[i].kind == RT_STEP_MOVE;
  printf("%-28s %3d int8 steps (%2d moves): outputs within one step of the QDQ graph's float "
         "execution %d/%d (exact %d), worst %.0f steps\n", z->name, p->n_steps, moves, within,
         N_IMG * k, exact, worst);
  cz_exec_free(ex);
  rt_plan_free(p);
  cz_graph_free(q);
  free(x), free(y), free(yr), free(qr), free(fp), free(qp);
}

static void test_zoo(void **state) {
  (void)state;
  const char *dir = getenv("CZOO_INT8_ZOO_DIR");
  if (!dir) fail_msg("CZOO_INT8_ZOO_DIR is not set");
  mkdir(dir, 0755);
  int n = 0;
  for (int i = 0; i < cz_zoo_count(); i++)
    if (selected(cz_zoo_at(i)->name)) {
      one_model(dir, cz_zoo_at(i), i);
      n++;
    }
  assert_true(n > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_zoo)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
