/* A steady-state training step allocates nothing: after the first step,
 * forward and backward of a whole network (mobilenet_v2 0.35) run with
 * malloc, calloc, realloc and aligned_alloc counted through the linker's
 * --wrap (every call from czoo's own code goes through the counters).
 * The same steps repeated give bit-identical losses and gradients, with
 * one thread or two (dropout included: masks are keyed by the step). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "mbv2.h"
#include "op_check.h"
#include "util/threads.h"

static long allocations;
void *__real_malloc(size_t n);
void *__real_calloc(size_t c, size_t n);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t c, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n) { allocations++; return __real_malloc(n); }
void *__wrap_calloc(size_t c, size_t n) { allocations++; return __real_calloc(c, n); }
void *__wrap_realloc(void *p, size_t n) { allocations++; return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { allocations++; return __real_aligned_alloc(a, n); }

static void test_training_step_allocates_nothing(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("mbv2");
  mbv2_net m = mbv2_build(g, 2, 32, 32, 0.35f, 10, 0.2f);
  int labels = cz_graph_input(g, "labels", CZ_I64, cz_shape1(2));
  int in[2] = {m.logits, labels};
  int loss = cz_node_out(g, cz_graph_node(g, "SoftmaxCrossEntropyLoss", "loss", 2, in, 1, NULL), 0);
  cz_graph_mark_output(g, loss);
  ct_params_random(g, 1, 0.1f);
  ct_inputs data = ct_inputs_random(g, 2, 1.0f);
  cz_exec_opts o = {.training = true, .backward = true, .seed = 3};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &o, &ex));
  for (int step = 0; step < 3; step++) {
    long before = allocations;
    cz_exec_set_input(ex, 0, data.data[0], CZ_ROWMAJOR);
    cz_exec_set_input(ex, 1, data.data[1], CZ_ROWMAJOR);
    cz_exec_set_step(ex, (uint64_t)step);
    cz_exec_forward(ex);
    cz_exec_backward(ex, NULL);
    long during = allocations - before;
    printf("step %d: %ld allocations (arena %.2f MiB)\n", step, during,
           cz_exec_arena_bytes(ex) / 1048576.0);
    if (step > 0) assert_int_equal(during, 0);
  }
  /* The counters do count: planning an executor allocates. */
  long before = allocations;
  cz_exec_free(ex);
  assert_null(cz_exec_new(g, &o, &ex));
  assert_true(allocations > before);
  cz_exec_free(ex);
  ct_inputs_free(&data);
  cz_graph_free(g);
}

/* Loss and every parameter gradient of training step `step`, concatenated. */
static float *step_results(cz_exec *ex, const cz_graph *g, const ct_inputs *data, int step,
                           size_t *count) {
  cz_exec_set_input(ex, 0, data->data[0], CZ_ROWMAJOR);
  cz_exec_set_input(ex, 1, data->data[1], CZ_ROWMAJOR);
  cz_exec_set_step(ex, (uint64_t)step);
  cz_exec_forward(ex);
  cz_exec_backward(ex, NULL);
  size_t n = 1;
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].kind == CZ_V_PARAM) n += (size_t)cz_shape_numel(&g->values[v].shape);
  float *r = malloc(n * sizeof *r);
  r[0] = ((const float *)cz_exec_value(ex, g->outputs[0]).data)[0];
  size_t k = 1;
  for (int v = 0; v < g->n_values; v++) {
    if (g->values[v].kind != CZ_V_PARAM) continue;
    size_t m = (size_t)cz_shape_numel(&g->values[v].shape);
    memcpy(r + k, cz_exec_grad(ex, v).data, m * sizeof *r);
    k += m;
  }
  *count = n;
  return r;
}

static void test_training_step_is_deterministic(void **state) {
  (void)state;
  cz_graph *g = cz_graph_new("mbv2");
  mbv2_net m = mbv2_build(g, 4, 32, 32, 0.35f, 10, 0.2f);
  int labels = cz_graph_input(g, "labels", CZ_I64, cz_shape1(4));
  int in[2] = {m.logits, labels};
  cz_graph_mark_output(g, cz_node_out(g, cz_graph_node(g, "SoftmaxCrossEntropyLoss", "loss", 2, in, 1, NULL), 0));
  ct_params_random(g, 1, 0.1f);
  ct_inputs data = ct_inputs_random(g, 2, 1.0f);
  cz_exec_opts o = {.training = true, .backward = true, .seed = 3};
  cz_exec *ex = NULL;
  assert_null(cz_exec_new(g, &o, &ex));
  size_t n1, n2, n3, n4;
  int threads = cz_threads_get();
  float *a = step_results(ex, g, &data, 5, &n1);
  float *b = step_results(ex, g, &data, 6, &n2); /* another dropout mask */
  float *c = step_results(ex, g, &data, 5, &n3);
  cz_threads_set(threads == 1 ? 2 : 1);
  float *d = step_results(ex, g, &data, 5, &n4);
  cz_threads_set(threads);
  assert_true(n1 == n3 && n1 == n4 && n1 == n2);
  assert_memory_equal(a, c, n1 * sizeof *a);
  assert_memory_equal(a, d, n1 * sizeof *a);
  assert_memory_not_equal(a, b, n1 * sizeof *a);
  printf("%zu values (loss and gradients): repeat and other thread count bit-identical\n", n1);
  free(a), free(b), free(c), free(d);
  cz_exec_free(ex);
  ct_inputs_free(&data);
  cz_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_training_step_allocates_nothing),
                                     cmocka_unit_test(test_training_step_is_deterministic)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
