/* Engine benchmark: training and inference throughput of torchvision's
 * mobilenet_v2 (width 0.35) built in the graph IR, plus the step memory and
 * a per-op time breakdown. bench/bench_engine.sh runs it beside PyTorch.
 * Usage: czoo_bench_engine [--batch N] [--size S] [--threads T]
 *        [--steps K] [--warmup W] [--profile] [--no-fold]
 * Inference folds BatchNormalization into the convolutions first (the
 * inference graph pass), unless --no-fold. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "graph/exec.h"
#include "graph/pass_fold_bn.h"
#include "mbv2.h"
#include "op_check.h"
#include "ops/op.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/threads.h"

static long maxrss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void die(cz_err *e) {
  if (!e) return;
  fprintf(stderr, "bench_engine: %s\n", cz_err_msg(e));
  exit(1);
}

/* He-style random weights, so activations keep a realistic range. */
static void init_weights(cz_graph *g) {
  for (int v = 0; v < g->n_values; v++) {
    cz_value *x = &g->values[v];
    if (x->kind != CZ_V_PARAM || x->shape.rank < 2) continue;
    int64_t fan_in = cz_shape_numel(&x->shape) / x->shape.d[0];
    float sd = (float)(1.4142 / __builtin_sqrt((double)fan_in));
    cz_rng r = cz_rng_make(1, (uint64_t)v);
    float *p = x->data;
    for (int64_t i = 0; i < cz_shape_numel(&x->shape); i++) p[i] = (float)cz_rng_normal(&r) * sd;
  }
}

typedef struct {
  const char *op;
  double f, b;
} op_time;

static void profile(const cz_graph *g, const cz_exec *ex, int steps, const char *what) {
  op_time t[64];
  int nt = 0;
  double total = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    double f, b;
    cz_exec_profile(ex, i, &f, &b);
    const char *name = g->nodes[i].op->name;
    /* Depthwise convolutions are their own line: a separate kernel. */
    const cz_attr *grp = cz_node_attr(&g->nodes[i], "group");
    if (strcmp(name, "Conv") == 0 && grp && grp->i > 1) name = "Conv (depthwise)";
    else if (strcmp(name, "Conv") == 0) {
      const cz_attr *ks = cz_node_attr(&g->nodes[i], "kernel_shape");
      name = ks && ks->ints[0] == 1 ? "Conv (1x1)" : "Conv (3x3 dense)";
    }
    int k = 0;
    while (k < nt && strcmp(t[k].op, name) != 0) k++;
    if (k == nt) t[nt++] = (op_time){name, 0, 0};
    t[k].f += f;
    t[k].b += b;
    total += f + b;
  }
  printf("per-op time per %s (ms): forward, backward, share\n", what);
  for (int k = 0; k < nt; k++)
    printf("  %-20s %8.2f %8.2f  %5.1f%%\n", t[k].op, 1e3 * t[k].f / steps, 1e3 * t[k].b / steps,
           100 * (t[k].f + t[k].b) / total);
}

int main(int argc, char **argv) {
  int batch = 64, size = 128, threads = 2, steps = 10, warmup = 2, prof = 0, fold = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--profile")) prof = 1;
    else if (!strcmp(argv[i], "--no-fold")) fold = 0;
    else {
      fprintf(stderr, "usage: %s [--batch N] [--size S] [--threads T] [--steps K] [--warmup W] [--profile] [--no-fold]\n", argv[0]);
      return 2;
    }
  }
  cz_threads_set(threads);
  const int classes = 1000;

  /* Training: forward, backward and an SGD-with-momentum update. */
  cz_graph *g = cz_graph_new("mobilenet_v2_035");
  mbv2_net m = mbv2_build(g, batch, size, size, 0.35f, classes, 0.2f);
  int labels = cz_graph_input(g, "labels", CZ_I64, cz_shape1(batch));
  int lin[2] = {m.logits, labels};
  int loss = cz_node_out(g, cz_graph_node(g, "SoftmaxCrossEntropyLoss", "loss", 2, lin, 1, NULL), 0);
  cz_graph_mark_output(g, loss);
  init_weights(g);
  ct_inputs in = ct_inputs_random(g, 3, 1.0f);
  int64_t *lab = in.data[1];
  for (int i = 0; i < batch; i++) lab[i] = i % classes;
  long rss0 = maxrss_kib();
  cz_exec_opts o = {.training = true, .backward = true, .profile = prof != 0, .seed = 1};
  cz_exec *ex = NULL;
  die(cz_exec_new(g, &o, &ex));
  float **mom = cz_xcalloc((size_t)g->n_values, sizeof *mom);
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].kind == CZ_V_PARAM)
      mom[v] = cz_xcalloc((size_t)cz_shape_numel(&g->values[v].shape), sizeof(float));
  double t0 = 0;
  float last_loss = 0;
  for (int s = 0; s < warmup + steps; s++) {
    if (s == warmup) t0 = omp_get_wtime();
    cz_exec_set_input(ex, 0, in.data[0], CZ_ROWMAJOR);
    cz_exec_set_input(ex, 1, in.data[1], CZ_ROWMAJOR);
    cz_exec_set_step(ex, (uint64_t)s);
    cz_exec_forward(ex);
    cz_exec_backward(ex, NULL);
    last_loss = ((const float *)cz_exec_value(ex, loss).data)[0];
    for (int v = 0; v < g->n_values; v++) {
      if (!mom[v]) continue;
      float *p = g->values[v].data, *b = mom[v];
      const float *gr = cz_exec_grad(ex, v).data;
      int64_t n = cz_shape_numel(&g->values[v].shape);
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; i++) {
        b[i] = 0.9f * b[i] + gr[i];
        p[i] -= 0.01f * b[i];
      }
    }
  }
  double train_s = omp_get_wtime() - t0;
  long rss1 = maxrss_kib();
  printf("train_images_per_s %.1f\n", steps * batch / train_s);
  printf("train_step_ms %.1f\n", 1e3 * train_s / steps);
  printf("train_loss %.4f\n", last_loss);
  printf("train_peak_rss_delta_mib %.1f\n", (rss1 - rss0) / 1024.0);
  printf("train_arena_mib %.1f\n", cz_exec_arena_bytes(ex) / 1048576.0);
  printf("train_grad_mib %.1f\n", cz_exec_grad_bytes(ex) / 1048576.0);
  if (prof) profile(g, ex, warmup + steps, "training step");
  cz_exec_free(ex);
  for (int v = 0; v < g->n_values; v++) free(mom[v]);
  free(mom);
  ct_inputs_free(&in);
  cz_graph_free(g);

  /* Inference: eval mode, forward only. */
  g = cz_graph_new("mobilenet_v2_035");
  m = mbv2_build(g, batch, size, size, 0.35f, classes, 0.2f);
  cz_graph_mark_output(g, m.logits);
  init_weights(g);
  int folded = 0;
  if (fold) die(cz_pass_fold_bn(g, &folded));
  printf("infer_folded_bn %d\n", folded);
  in = ct_inputs_random(g, 3, 1.0f);
  cz_exec_opts io = {.profile = prof != 0};
  die(cz_exec_new(g, &io, &ex));
  int isteps = steps * 3;
  for (int s = 0; s < warmup + isteps; s++) {
    if (s == warmup) t0 = omp_get_wtime();
    cz_exec_set_input(ex, 0, in.data[0], CZ_ROWMAJOR);
    cz_exec_forward(ex);
  }
  double infer_s = omp_get_wtime() - t0;
  printf("infer_images_per_s %.1f\n", isteps * batch / infer_s);
  printf("infer_arena_mib %.1f\n", cz_exec_arena_bytes(ex) / 1048576.0);
  if (prof) profile(g, ex, warmup + isteps, "inference batch");
  cz_exec_free(ex);
  ct_inputs_free(&in);
  cz_graph_free(g);
  return 0;
}
