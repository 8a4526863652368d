/* int8 accuracy benchmark, czoo's side (bench/bench_int8_acc.sh runs
 * onnxruntime's quantize_static beside it on the same files): quantizes a
 * float ONNX model with czoo's quantizer (per channel, int8 weights and
 * activations, MinMax, onnxruntime's default extra options) on the
 * calibration images of a CZT bundle, writes the QDQ file, and measures
 * top-1 over the bundle's test images of the float model (czoo's float
 * executor) and of the QDQ file on czoo's int8 engine.
 * Usage: czoo_bench_int8_acc --onnx FLOAT.onnx --data DATA.czt --out QDQ.onnx
 * DATA.czt: `calib` and `test` (float32 NCHW, already normalized),
 * `labels` (int64). Prints float_top1, int8_top1, quant_s. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "int8/rt_lower.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/quant.h"
#include "tensor_file.h"
#include "util/mem.h"

#define BATCH 100

static void die(cz_err *e) {
  if (!e) return;
  fprintf(stderr, "bench_int8_acc: %s\n", cz_err_msg(e));
  exit(1);
}

static float *to_nhwc(const float *x, int64_t n, int c, int64_t hw) {
  float *y = cz_xmalloc((size_t)(n * c * hw) * sizeof *y);
  for (int64_t b = 0; b < n; b++)
    for (int ch = 0; ch < c; ch++)
      for (int64_t j = 0; j < hw; j++) y[(b * hw + j) * c + ch] = x[(b * c + ch) * hw + j];
  return y;
}

typedef struct {
  const float *x; /* NHWC */
  int64_t n, pos, per;
} feed;

static cz_err *f_start(void *ctx) {
  ((feed *)ctx)->pos = 0;
  return NULL;
}

static cz_err *f_next(void *ctx, const float **x, int64_t *n) {
  feed *f = ctx;
  *n = f->n - f->pos < 32 ? f->n - f->pos : 32;
  *x = f->x + f->pos * f->per;
  f->pos += *n;
  return NULL;
}

static int argmax(const float *z, int k) {
  int b = 0;
  for (int i = 1; i < k; i++)
    if (z[i] > z[b]) b = i;
  return b;
}

int main(int argc, char **argv) {
  const char *onnx = NULL, *data = NULL, *out = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--onnx") == 0) onnx = argv[i + 1];
    else if (strcmp(argv[i], "--data") == 0) data = argv[i + 1];
    else if (strcmp(argv[i], "--out") == 0) out = argv[i + 1];
    else {
      fprintf(stderr, "bench_int8_acc: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!onnx || !data || !out) {
    fprintf(stderr, "usage: czoo_bench_int8_acc --onnx FLOAT.onnx --data DATA.czt --out QDQ.onnx\n");
    return 2;
  }
  ct_bundle *b = ct_bundle_read(data);
  const ct_tensor *ct = ct_bundle_need(b, "calib"), *tt = ct_bundle_need(b, "test");
  const int64_t *labels = ct_bundle_need(b, "labels")->data;
  const int c = (int)tt->shape.d[1];
  const int64_t hw = tt->shape.d[2] * tt->shape.d[3], per = c * hw, nt = tt->shape.d[0];
  if (nt % BATCH != 0) {
    fprintf(stderr, "bench_int8_acc: %lld test images: expected a multiple of %d\n", (long long)nt, BATCH);
    return 2;
  }
  float *calib = to_nhwc(ct->data, ct->shape.d[0], c, hw), *test = to_nhwc(tt->data, nt, c, hw);
  /* quantization, timed from file to file */
  double t0 = omp_get_wtime();
  cz_graph *g = NULL, *q = NULL;
  die(cz_onnx_import(onnx, &g));
  feed f = {.x = calib, .n = ct->shape.d[0], .per = per};
  cz_quant_data d = {.ctx = &f, .start = f_start, .next = f_next, .total = f.n, .batch = 32};
  cz_quant_opts o = cz_quant_default_opts();
  die(cz_quantize(g, &o, &d, &q));
  die(cz_onnx_export(q, NULL, out));
  const double quant_s = omp_get_wtime() - t0;
  cz_graph_free(q);
  /* float top-1 (czoo's float executor) */
  die(cz_graph_set_batch(g, BATCH));
  cz_exec *ex = NULL;
  cz_exec_opts eo = {0};
  die(cz_exec_new(g, &eo, &ex));
  int64_t ok_f = 0, ok_q = 0;
  int k = 0;
  for (int64_t i0 = 0; i0 + BATCH <= nt; i0 += BATCH) {
    cz_exec_set_input(ex, 0, test + i0 * per, CZ_NHWC);
    cz_exec_forward(ex);
    cz_tensor z = cz_exec_value(ex, g->outputs[0]);
    k = (int)z.shape.d[1];
    for (int i = 0; i < BATCH; i++) ok_f += argmax((const float *)z.data + (size_t)i * k, k) == labels[i0 + i];
  }
  cz_exec_free(ex);
  /* int8 top-1: czoo's QDQ file on the int8 engine */
  die(cz_onnx_import(out, &q));
  rt_plan *p = NULL;
  die(rt_lower(q, BATCH, out, &p));
  float *y = cz_xmalloc((size_t)BATCH * p->out_dims * sizeof *y);
  for (int64_t i0 = 0; i0 < nt; i0 += BATCH) {
    const int m = nt - i0 < BATCH ? (int)(nt - i0) : BATCH;
    rt_plan_run(p, test + i0 * per, m, y);
    for (int i = 0; i < m; i++) ok_q += argmax(y + (size_t)i * p->out_dims, p->out_dims) == labels[i0 + i];
  }
  printf("float_top1 %.2f\nint8_top1 %.2f\nquant_s %.3f\nimages %lld\n", 100.0 * ok_f / nt,
         100.0 * ok_q / nt, quant_s, (long long)nt);
  rt_plan_free(p);
  cz_graph_free(q);
  cz_graph_free(g);
  ct_bundle_free(b);
  free(calib), free(test), free(y);
  return 0;
}
