/* Quantization benchmark, czoo's side (bench/bench_quant.sh runs
 * onnxruntime's quantize_static beside it on the same files): writes the
 * zoo's mobilenetv2_w035_pt (10 classes, 3x128x128, fixed random weights,
 * non-trivial BatchNorm statistics) as a float ONNX file and N seeded
 * calibration images (raw float32 NCHW, normalized like ImageNet), then
 * times what `operation_mode: quantization` does with them: ONNX import,
 * calibration (MinMax, batches of B), the QDQ rewrite (per channel, int8)
 * and the QDQ export.
 * Usage: czoo_bench_quant --onnx FLOAT.onnx --images N --calib FILE
 *        --out QDQ.onnx [--batch B] [--threads T]
 * Prints quant_s (wall seconds of import + quantize + export). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/quant.h"
#include "util/mem.h"
#include "util/rng.h"
#include "util/threads.h"
#include "zoo/zoo.h"

#define MODEL "mobilenetv2_w035_pt"
#define SIZE 128

static void die(cz_err *e) {
  if (!e) return;
  fprintf(stderr, "bench_quant: %s\n", cz_err_msg(e));
  exit(1);
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

typedef struct {
  const float *x; /* NHWC */
  int64_t n, pos, batch, per;
} feed;

static cz_err *f_start(void *ctx) {
  ((feed *)ctx)->pos = 0;
  return NULL;
}

static cz_err *f_next(void *ctx, const float **x, int64_t *n) {
  feed *f = ctx;
  *n = f->n - f->pos < f->batch ? f->n - f->pos : f->batch;
  *x = f->x + f->pos * f->per;
  f->pos += *n;
  return NULL;
}

int main(int argc, char **argv) {
  const char *onnx = NULL, *calib = NULL, *out = NULL;
  int64_t n = 100, batch = 32;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--onnx") == 0) onnx = argv[i + 1];
    else if (strcmp(argv[i], "--calib") == 0) calib = argv[i + 1];
    else if (strcmp(argv[i], "--out") == 0) out = argv[i + 1];
    else if (strcmp(argv[i], "--images") == 0) n = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--batch") == 0) batch = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "bench_quant: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!onnx || !calib || !out || n < 1 || batch < 1) {
    fprintf(stderr, "usage: czoo_bench_quant --onnx F --images N --calib FILE --out Q [--batch B] "
                    "[--threads T]\n");
    return 2;
  }
  omp_set_num_threads(threads);
  /* the float model */
  cz_zoo_opts o = cz_zoo_default_opts(cz_zoo_find(MODEL));
  o.num_classes = 10, o.height = o.width = SIZE, o.batch = 1, o.seed = 3;
  cz_graph *g = NULL;
  die(cz_zoo_build(MODEL, &o, &g));
  cz_rng r = cz_rng_make(7, 0);
  for (int i = 0; i < g->n_values; i++) {
    cz_value *v = &g->values[i];
    if (!v->data || v->dtype != CZ_F32) continue;
    float lo, hi;
    if (ends_with(v->name, "running_var")) lo = 0.5f, hi = 1.5f;
    else if (ends_with(v->name, "running_mean") || ends_with(v->name, ".bias")) lo = -0.2f, hi = 0.2f;
    else continue;
    for (int64_t k = 0; k < cz_shape_numel(&v->shape); k++)
      ((float *)v->data)[k] = lo + (hi - lo) * cz_rng_uniformf(&r);
  }
  die(cz_onnx_export(g, NULL, onnx));
  cz_graph_free(g);
  /* the images */
  int64_t per = 3 * SIZE * SIZE;
  float *nchw = cz_xmalloc((size_t)(n * per) * sizeof *nchw);
  float *nhwc = cz_xmalloc((size_t)(n * per) * sizeof *nhwc);
  const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  cz_rng ri = cz_rng_make(11, 0);
  for (int64_t i = 0; i < n; i++)
    for (int c = 0; c < 3; c++)
      for (int64_t p = 0; p < SIZE * SIZE; p++) {
        float v = (cz_rng_uniformf(&ri) - mean[c]) / sd[c];
        nchw[i * per + c * SIZE * SIZE + p] = v;
        nhwc[i * per + p * 3 + c] = v;
      }
  FILE *f = fopen(calib, "wb");
  if (!f || fwrite(nchw, sizeof *nchw, (size_t)(n * per), f) != (size_t)(n * per) || fclose(f)) {
    fprintf(stderr, "bench_quant: cannot write %s\n", calib);
    return 1;
  }
  /* timed: what the quantization service does with a file and images */
  double t0 = omp_get_wtime();
  cz_graph *fg = NULL, *q = NULL;
  die(cz_onnx_import(onnx, &fg));
  feed fd = {.x = nhwc, .n = n, .batch = batch, .per = per};
  cz_quant_data d = {.ctx = &fd, .start = f_start, .next = f_next, .total = n, .batch = batch};
  cz_quant_opts qo = cz_quant_default_opts();
  die(cz_quantize(fg, &qo, &d, &q));
  die(cz_onnx_export(q, NULL, out));
  double t = omp_get_wtime() - t0;
  printf("quant_s %.3f\nimages %lld\nbatch %lld\nthreads %d\n", t, (long long)n, (long long)batch,
         threads);
  cz_graph_free(fg), cz_graph_free(q);
  free(nchw), free(nhwc);
  return 0;
}
