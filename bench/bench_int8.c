/* int8 inference throughput of czoo's engine (src/int8) on a QDQ ONNX file,
 * the counterpart of bench_int8_ort.py (bench/bench_int8.sh runs both on
 * the same file and input). Times rt_plan_run on a fixed batch: median of
 * the timed runs after a warm-up. Writes the input (NCHW float32) and the
 * dequantized outputs so the peer can compare.
 * Usage: czoo_bench_int8 QDQ.onnx --batch N --io PREFIX [--runs R]
 *        [--warmup W] [--profile]
 * --profile: also prints each step's mean time (stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "int8/rt_lower.h"
#include "onnx/onnx_import.h"
#include "util/mem.h"
#include "util/rng.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void write_raw(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n) {
    fprintf(stderr, "czoo_bench_int8: cannot write %s\n", path);
    exit(1);
  }
  fclose(f);
}

int main(int argc, char **argv) {
  const char *onnx = NULL, *io = NULL;
  int batch = 1, runs = 50, warmup = 5, profile = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--io") && i + 1 < argc) io = argv[++i];
    else if (!strcmp(argv[i], "--profile")) profile = 1;
    else if (argv[i][0] != '-') onnx = argv[i];
    else onnx = NULL, i = argc;
  }
  if (!onnx || !io || batch < 1 || runs < 1) {
    fprintf(stderr, "usage: %s QDQ.onnx --batch N --io PREFIX [--runs R] [--warmup W]\n", argv[0]);
    return 2;
  }
  cz_graph *g = NULL;
  rt_plan *p = NULL;
  cz_err *e = cz_onnx_import(onnx, &g);
  if (!e) e = rt_lower(g, batch, onnx, &p);
  if (e) {
    fprintf(stderr, "czoo_bench_int8: %s\n", cz_err_msg(e));
    return 1;
  }
  const int c = p->in_c, h = p->in_h, w = p->in_w, k = p->out_dims;
  const size_t img = (size_t)c * h * w;
  float *nchw = cz_xmalloc((size_t)batch * img * sizeof(float));
  float *nhwc = cz_xmalloc((size_t)batch * img * sizeof(float));
  float *y = cz_xmalloc((size_t)batch * k * sizeof(float));
  cz_rng r = cz_rng_make(77, 0);
  for (size_t i = 0; i < (size_t)batch * img; i++) nchw[i] = 2.f * cz_rng_uniformf(&r) - 1.f;
  for (int b = 0; b < batch; b++)
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < h * w; i++)
        nhwc[(size_t)b * img + (size_t)i * c + ch] = nchw[(size_t)b * img + (size_t)ch * h * w + i];
  double *t = cz_xmalloc((size_t)runs * sizeof *t);
  for (int s = 0; s < warmup + runs; s++) {
    double t0 = now();
    rt_plan_run(p, nhwc, batch, y);
    if (s >= warmup) t[s - warmup] = now() - t0;
  }
  if (profile) { /* per-step time, over a second pass of the timed runs */
    p->prof = cz_xcalloc((size_t)p->n_steps, sizeof(double));
    for (int s = 0; s < runs; s++) rt_plan_run(p, nhwc, batch, y);
    static const char *kind[] = {"conv", "add", "mul", "lut", "avgpool", "maxpool", "gavgpool",
                                 "copy"};
    for (int i = 0; i < p->n_steps; i++) {
      const rt_step *st = &p->steps[i];
      const char *kn = (size_t)st->kind < sizeof kind / sizeof *kind ? kind[st->kind] : "other";
      fprintf(stderr, "step %3d %-8s %8.3f ms  %s", i, kn, 1e3 * p->prof[i] / runs, st->node);
      if (st->kind == RT_STEP_CONV) {
        const rt_conv_p *cv = &st->conv.p;
        fprintf(stderr, "  %dx%dx%d -> %dx%dx%d k%dx%d s%d g%d", cv->h, cv->w, cv->c, cv->oh, cv->ow,
                cv->oc, cv->kh, cv->kw, cv->sh, cv->groups);
      }
      fputc('\n', stderr);
    }
    free(p->prof);
    p->prof = NULL;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_d);
  const double med = t[runs / 2];
  printf("images_per_s %.1f\nmedian_ms %.3f\nsteps %d\n", batch / med, 1e3 * med, p->n_steps);
  char *pin = cz_asprintf("%s.in", io), *pout = cz_asprintf("%s.out", io);
  write_raw(pin, nchw, (size_t)batch * img * sizeof(float));
  write_raw(pout, y, (size_t)batch * k * sizeof(float));
  free(pin), free(pout), free(t), free(nchw), free(nhwc), free(y);
  rt_plan_free(p);
  cz_graph_free(g);
  return 0;
}
