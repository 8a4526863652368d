/* Float inference benchmark, czoo's side (bench/bench_infer.sh runs
 * onnxruntime beside it on the same ONNX file): builds the zoo's
 * mobilenetv2_w035_pt (1000 classes, 3x128x128) with fixed random weights
 * and non-trivial BatchNorm statistics, exports it to ONNX (--onnx OUT),
 * or takes an existing file (--model IN.onnx), imports that file with
 * cz_onnx_import and times eval-mode inference of it, so onnxruntime and
 * czoo run the same file. Writes the input and logits (raw float32, NCHW /
 * [batch, classes]) so the peer can check it computes the same thing.
 *
 * Usage: czoo_bench_infer --batch N (--onnx OUT.onnx | --model IN.onnx)
 *        [--io PREFIX] [--threads T] [--runs R] [--warmup W] [--profile]
 *        [--no-fold] [--no-fuse] [--no-pack]
 * Inference runs the inference passes first, as czoo's services do:
 * BatchNorm folding (the export already folded it) and Conv + Clip fusion
 * (unless --no-fold, --no-fuse), and packs the weights once when the
 * executor is planned (unless --no-pack).
 * Prints images_per_s (median of R timed runs), median_ms, and with
 * --profile a per-op breakdown (--profile-nodes: and one line per node). PREFIX.in / PREFIX.out get the tensors. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "services/infer.h"
#include "graph/pass_fold_bn.h"
#include "graph/pass_fuse_act.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "ops/op.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/threads.h"
#include "zoo/zoo.h"

#define MODEL "mobilenetv2_w035_pt"
#define CLASSES 1000
#define SIZE 128

static void die(cz_err *e) {
  if (!e) return;
  fprintf(stderr, "bench_infer: %s\n", cz_err_msg(e));
  exit(1);
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

/* BatchNorm running statistics and biases drawn away from their initial
 * 0/1, so the folded model does real work with every parameter. */
static void perturb(cz_graph *g) {
  cz_rng r = cz_rng_make(7, 0);
  for (int i = 0; i < g->n_values; i++) {
    cz_value *v = &g->values[i];
    if (!v->data || v->dtype != CZ_F32 || (v->kind != CZ_V_PARAM && v->kind != CZ_V_BUFFER))
      continue;
    float lo, hi;
    if (ends_with(v->name, "running_var")) lo = 0.5f, hi = 1.5f;
    else if (ends_with(v->name, "running_mean") || ends_with(v->name, ".bias")) lo = -0.2f, hi = 0.2f;
    else continue;
    float *d = v->data;
    for (int64_t k = 0; k < cz_shape_numel(&v->shape); k++)
      d[k] = lo + (hi - lo) * (float)cz_rng_uniform(&r);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void write_raw(const char *path, const float *p, int64_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, sizeof *p, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
    fprintf(stderr, "bench_infer: %s: cannot write\n", path);
    exit(1);
  }
}

typedef struct {
  const char *op;
  double s;
} op_time;

static void profile(const cz_graph *g, const cz_infer *inf, int runs, bool nodes) {
  op_time t[64];
  int nt = 0;
  double total = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    double f = 0, fe, b;
    for (int e = 0; e < cz_infer_executors(inf); e++) {
      cz_exec_profile(cz_infer_exec(inf, e), i, &fe, &b);
      f += fe;
    }
    const char *name = g->nodes[i].op->name;
    const cz_attr *grp = cz_node_attr(&g->nodes[i], "group");
    if (strcmp(name, "FusedConv") == 0) name = "Conv";
    if (strcmp(name, "Conv") == 0 && grp && grp->i > 1) name = "Conv (depthwise)";
    else if (strcmp(name, "Conv") == 0) {
      const cz_attr *ks = cz_node_attr(&g->nodes[i], "kernel_shape");
      name = ks && ks->ints[0] == 1 ? "Conv (1x1)" : "Conv (3x3 dense)";
    }
    int k = 0;
    while (k < nt && strcmp(t[k].op, name) != 0) k++;
    if (k == nt) t[nt++] = (op_time){name, 0};
    t[k].s += f;
    total += f;
    if (nodes) {
      const cz_value *v = cz_in_value(g, &g->nodes[i], 0), *o = &g->values[g->nodes[i].out[0]];
      char is[CZ_SHAPE_STR_MAX], os[CZ_SHAPE_STR_MAX];
      printf("node %-18s %-40s %s -> %s %8.4f ms\n", name, g->nodes[i].name ? g->nodes[i].name : "",
             cz_shape_str(&v->shape, is, sizeof is), cz_shape_str(&o->shape, os, sizeof os),
             1e3 * f / runs);
    }
  }
  printf("per-op time per batch (ms of all threads, mean over all runs, disturbed ones too), "
         "share\n");
  for (int k = 0; k < nt; k++)
    printf("  %-20s %8.3f  %5.1f%%\n", t[k].op, 1e3 * t[k].s / runs, 100 * t[k].s / total);
}

/* Writes the zoo model with fixed weights to `path` (BatchNorm folded by
 * the exporter). */
static void export_model(const char *path) {
  const cz_zoo_entry *z = cz_zoo_find(MODEL);
  cz_zoo_opts zo = cz_zoo_default_opts(z);
  zo.num_classes = CLASSES;
  zo.height = zo.width = SIZE;
  zo.batch = 1;
  zo.seed = 1;
  cz_graph *g = NULL;
  die(cz_zoo_build(MODEL, &zo, &g));
  cz_graph_set_training(g, false);
  perturb(g);
  die(cz_onnx_export(g, NULL, path));
  cz_graph_free(g);
}

int main(int argc, char **argv) {
  int batch = 1, threads = 2, runs = 20, warmup = 3, prof = 0, fold = 1, fuse = 1, pack = 1;
  int micro = 0;
  const char *onnx = NULL, *model = NULL, *io = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--onnx") && i + 1 < argc) onnx = argv[++i];
    else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
    else if (!strcmp(argv[i], "--io") && i + 1 < argc) io = argv[++i];
    else if (!strcmp(argv[i], "--profile")) prof = 1;
    else if (!strcmp(argv[i], "--profile-nodes")) prof = 2;
    else if (!strcmp(argv[i], "--no-fold")) fold = 0;
    else if (!strcmp(argv[i], "--no-fuse")) fuse = 0;
    else if (!strcmp(argv[i], "--no-pack")) pack = 0;
    else if (!strcmp(argv[i], "--micro") && i + 1 < argc) micro = atoi(argv[++i]);
    else {
      fprintf(stderr,
              "usage: %s --batch N (--onnx OUT.onnx | --model IN.onnx) [--io PREFIX] "
              "[--threads T] [--runs R] [--warmup W] [--profile] [--profile-nodes] [--no-fold] [--no-fuse] "
              "[--no-pack] [--micro M]\n",
              argv[0]);
      return 2;
    }
  }
  if (batch < 1 || runs < 1 || warmup < 0 || !onnx == !model) {
    fprintf(stderr, "bench_infer: batch and runs must be >= 1, warmup >= 0, and exactly one "
                    "of --onnx (write the model) and --model (read it) given\n");
    return 2;
  }
  cz_threads_set(threads);
  if (onnx) export_model(onnx), model = onnx;

  /* czoo runs the file, as the evaluation service does (model_open.c). */
  cz_graph *g = NULL;
  die(cz_onnx_import(model, &g));
  die(cz_graph_set_batch(g, batch));
  int folded = 0;
  if (fold) die(cz_pass_fold_bn(g, &folded));
  int fused = 0;
  if (fuse) die(cz_pass_fuse_act(g, &fused));

  const cz_value *iv = &g->values[g->inputs[0]];
  int64_t n_in = cz_shape_numel(&iv->shape);
  float *x = cz_xmalloc((size_t)n_in * sizeof *x);
  cz_rng r = cz_rng_make(3, 0);
  for (int64_t i = 0; i < n_in; i++) x[i] = (float)(2 * cz_rng_uniform(&r) - 1);

  /* The evaluation service's runner: micro-batches over the thread pool. */
  cz_infer_opts io_opts = {.micro = micro, .pack = pack != 0, .profile = prof != 0};
  cz_infer *inf = NULL;
  die(cz_infer_new_opts(g, batch, &io_opts, &inf));
  int64_t n_out = batch * cz_infer_classes(inf);
  float *y = cz_xmalloc((size_t)n_out * sizeof *y);
  double *t = cz_xmalloc((size_t)runs * sizeof *t);
  for (int s = 0; s < warmup + runs; s++) {
    double t0 = omp_get_wtime();
    cz_infer_run_layout(inf, x, CZ_ROWMAJOR, batch, y); /* NCHW -> NHWC is part of the work */
    if (s >= warmup) t[s - warmup] = omp_get_wtime() - t0;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  double med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
  printf("model %s (imported from the file) classes %d size %d batch %d threads %d folded_bn %d "
         "fused_clip %d packed %d micro_batch %lld executors %d\n",
         MODEL, CLASSES, SIZE, batch, threads, folded, fused, pack,
         (long long)cz_infer_micro(inf), cz_infer_executors(inf));
  printf("images_per_s %.1f\n", batch / med);
  printf("median_ms %.3f\n", 1e3 * med);
  printf("min_ms %.3f\n", 1e3 * t[0]);
  printf("arena_mib %.1f\n", cz_exec_arena_bytes(cz_infer_exec(inf, 0)) / 1048576.0);
  if (io) {
    char *pin = cz_asprintf("%s.in", io), *pout = cz_asprintf("%s.out", io);
    write_raw(pin, x, n_in);
    write_raw(pout, y, n_out);
    free(pin), free(pout);
  }
  if (prof) profile(g, inf, warmup + runs, prof > 1);
  free(t);
  free(x);
  free(y);
  cz_infer_free(inf);
  cz_graph_free(g);
  return 0;
}
