/* Op test support: runs, finite differences, fast-vs-reference (op_check.h). */
#include "op_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/rng.h"

static void die_on(cz_err *e) {
  if (!e) return;
  fprintf(stderr, "op_check: %s\n", cz_err_msg(e));
  abort();
}

ct_inputs ct_inputs_random(const cz_graph *g, uint64_t seed, float scale) {
  ct_inputs in = {.n = g->n_inputs};
  for (int i = 0; i < g->n_inputs; i++) {
    const cz_value *v = &g->values[g->inputs[i]];
    int64_t n = cz_shape_numel(&v->shape);
    in.data[i] = cz_xcalloc((size_t)n + 1, cz_dtype_size(v->dtype));
    if (v->dtype != CZ_F32) continue;
    cz_rng r = cz_rng_make(seed, 1000 + (uint64_t)i);
    float *p = in.data[i];
    for (int64_t k = 0; k < n; k++) p[k] = (float)cz_rng_normal(&r) * scale;
  }
  return in;
}

void ct_inputs_free(ct_inputs *in) {
  for (int i = 0; i < in->n; i++) free(in->data[i]);
  in->n = 0;
}

void ct_params_random(cz_graph *g, uint64_t seed, float scale) {
  for (int v = 0; v < g->n_values; v++) {
    cz_value *x = &g->values[v];
    if ((x->kind != CZ_V_PARAM && x->kind != CZ_V_BUFFER) || x->dtype != CZ_F32) continue;
    cz_rng r = cz_rng_make(seed, 2000 + (uint64_t)v);
    float *p = x->data;
    for (int64_t k = 0; k < cz_shape_numel(&x->shape); k++)
      p[k] = (float)cz_rng_normal(&r) * scale;
  }
}

static float *rowmajor_copy(const cz_tensor *t) {
  int64_t n = cz_numel(t);
  float *p = cz_xmalloc(((size_t)n + 1) * sizeof *p);
  if (t->data) cz_relayout(t->data, t->layout, p, CZ_ROWMAJOR, &t->shape, sizeof(float));
  return p;
}

/* Upstream gradient of output i, in the output's own layout. */
static float *upstream(const cz_tensor *t, uint64_t seed, int i) {
  int64_t n = cz_numel(t);
  float *rm = cz_xmalloc(((size_t)n + 1) * sizeof *rm);
  cz_rng r = cz_rng_make(seed, 3000 + (uint64_t)i);
  for (int64_t k = 0; k < n; k++) rm[k] = (float)cz_rng_normal(&r);
  float *p = cz_xmalloc(((size_t)n + 1) * sizeof *p);
  cz_relayout(rm, CZ_ROWMAJOR, p, t->layout, &t->shape, sizeof(float));
  free(rm);
  return p;
}

static cz_exec *make_exec(cz_graph *g, const ct_inputs *in, bool training, bool backward,
                          bool reference) {
  cz_exec_opts o = {.training = training, .backward = backward, .reference = reference,
                    .seed = 7};
  cz_exec *ex = NULL;
  die_on(cz_exec_new(g, &o, &ex));
  for (int i = 0; i < in->n; i++) cz_exec_set_input(ex, i, in->data[i], CZ_ROWMAJOR);
  cz_exec_set_step(ex, 1);
  return ex;
}

ct_run ct_run_graph(cz_graph *g, const ct_inputs *in, bool training, bool backward,
                    bool reference, uint64_t seed) {
  ct_run r = {0};
  cz_exec *ex = make_exec(g, in, training, backward, reference);
  cz_exec_forward(ex);
  r.n_out = g->n_outputs;
  const float *seeds[CZ_MAX_IO] = {0};
  for (int i = 0; i < g->n_outputs; i++) {
    cz_tensor t = cz_exec_value(ex, g->outputs[i]);
    r.out[i] = rowmajor_copy(&t);
    r.out_n[i] = cz_numel(&t);
    if (t.dtype == CZ_F32) seeds[i] = upstream(&t, seed, i);
  }
  if (backward) {
    cz_exec_backward(ex, seeds);
    for (int v = 0; v < g->n_values && r.n_grad < 64; v++) {
      cz_tensor t = cz_exec_grad(ex, v);
      if (!t.data) continue;
      r.grad_value[r.n_grad] = v;
      r.grad[r.n_grad] = rowmajor_copy(&t);
      r.grad_n[r.n_grad++] = cz_numel(&t);
    }
  }
  for (int i = 0; i < g->n_outputs; i++) free((void *)seeds[i]);
  r.arena_bytes = cz_exec_arena_bytes(ex);
  cz_exec_free(ex);
  return r;
}

void ct_run_free(ct_run *r) {
  for (int i = 0; i < r->n_out; i++) free(r->out[i]);
  for (int i = 0; i < r->n_grad; i++) free(r->grad[i]);
  memset(r, 0, sizeof *r);
}

static double rel(double a, double b, double floor) {
  double d = fabs(a - b), m = fmax(fmax(fabs(a), fabs(b)), floor);
  return d / m;
}

double ct_compare_runs(const ct_run *a, const ct_run *b, double floor) {
  double worst = 0;
  for (int i = 0; i < a->n_out && i < b->n_out; i++)
    for (int64_t k = 0; k < a->out_n[i]; k++)
      worst = fmax(worst, rel(a->out[i][k], b->out[i][k], floor));
  for (int i = 0; i < a->n_grad && i < b->n_grad; i++)
    for (int64_t k = 0; k < a->grad_n[i]; k++)
      worst = fmax(worst, rel(a->grad[i][k], b->grad[i][k], floor));
  if (a->n_out != b->n_out || a->n_grad != b->n_grad) worst = INFINITY;
  return worst;
}

/* L = sum r*y over float outputs, in double. */
static double loss_of(cz_graph *g, const ct_inputs *in, bool training, uint64_t seed) {
  cz_exec *ex = make_exec(g, in, training, false, true);
  cz_exec_forward(ex);
  double L = 0;
  for (int i = 0; i < g->n_outputs; i++) {
    cz_tensor t = cz_exec_value(ex, g->outputs[i]);
    if (t.dtype != CZ_F32) continue;
    float *r = upstream(&t, seed, i);
    const float *y = t.data;
    for (int64_t k = 0; k < cz_numel(&t); k++) L += (double)r[k] * (double)y[k];
    free(r);
  }
  cz_exec_free(ex);
  return L;
}

double ct_check_fd(cz_graph *g, const ct_inputs *in, bool training, double h, int max_elems,
                   uint64_t seed, double floor, bool verbose) {
  ct_run an = ct_run_graph(g, in, training, true, true, seed);
  double worst = 0;
  for (int gi = 0; gi < an.n_grad; gi++) {
    int v = an.grad_value[gi];
    cz_value *x = &g->values[v];
    float *p = NULL;
    if (x->kind == CZ_V_INPUT) {
      for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == v) p = in->data[i];
    } else {
      p = x->data;
    }
    if (!p) continue;
    int64_t n = an.grad_n[gi];
    cz_rng r = cz_rng_make(seed, 4000 + (uint64_t)v);
    int count = n < max_elems ? (int)n : max_elems;
    for (int c = 0; c < count; c++) {
      int64_t k = n <= max_elems ? c : (int64_t)cz_rng_below(&r, (uint32_t)n);
      float keep = p[k];
      p[k] = (float)(keep + h);
      double hp = (double)p[k] - keep;
      double lp = loss_of(g, in, training, seed);
      p[k] = (float)(keep - h);
      double hm = keep - (double)p[k];
      double lm = loss_of(g, in, training, seed);
      p[k] = keep;
      double fd = (lp - lm) / (hp + hm);
      double e = rel(fd, an.grad[gi][k], floor);
      if (e > worst) {
        worst = e;
        if (verbose)
          fprintf(stderr, "  fd: worst so far %s[%lld]: fd %.6g analytic %.6g (rel %.3g)\n",
                  x->name, (long long)k, fd, (double)an.grad[gi][k], e);
      }
    }
  }
  ct_run_free(&an);
  return worst;
}
