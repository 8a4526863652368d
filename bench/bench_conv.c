/* Times czoo's fast convolution kernels on the conv layers of torchvision
 * mobilenet_v2(width_mult=0.35) at 128x128 (batch 64 by default), forward
 * and backward (dX and dW; no dX for the stem, whose input is the image;
 * no bias: BatchNorm follows every conv). Prints one tab-separated line
 * per distinct layer: name, count in the model, forward ms, backward ms
 * (medians). bench/bench_conv.sh puts these next to PyTorch's.
 * Usage: bench_conv [batch] [threads] [repetitions] [layer index, -1: all]
 *        [instruction set cap: avx512, avx2, generic] */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/k_conv.h"
#include "kernels/k_simd.h"

typedef struct {
  int C, M, k, s, pad, groups, H, count;
} layer;

/* From the model's forward hooks: in, out, kernel, stride, pad, groups,
 * input size, how many layers of the model have this shape. */
static const layer layers[] = {
    {3, 16, 3, 2, 1, 1, 128, 1},       {16, 16, 3, 1, 1, 16, 64, 1},
    {16, 8, 1, 1, 0, 1, 64, 1},        {8, 48, 1, 1, 0, 1, 64, 1},
    {48, 48, 3, 2, 1, 48, 64, 1},      {48, 8, 1, 1, 0, 1, 32, 2},
    {8, 48, 1, 1, 0, 1, 32, 2},        {48, 48, 3, 1, 1, 48, 32, 1},
    {48, 48, 3, 2, 1, 48, 32, 1},      {48, 16, 1, 1, 0, 1, 16, 1},
    {16, 96, 1, 1, 0, 1, 16, 3},       {96, 96, 3, 1, 1, 96, 16, 2},
    {96, 16, 1, 1, 0, 1, 16, 2},       {96, 96, 3, 2, 1, 96, 16, 1},
    {96, 24, 1, 1, 0, 1, 8, 1},        {24, 144, 1, 1, 0, 1, 8, 4},
    {144, 144, 3, 1, 1, 144, 8, 4},    {144, 24, 1, 1, 0, 1, 8, 3},
    {144, 32, 1, 1, 0, 1, 8, 1},       {32, 192, 1, 1, 0, 1, 8, 3},
    {192, 192, 3, 1, 1, 192, 8, 2},    {192, 32, 1, 1, 0, 1, 8, 2},
    {192, 192, 3, 2, 1, 192, 8, 1},    {192, 56, 1, 1, 0, 1, 4, 1},
    {56, 336, 1, 1, 0, 1, 4, 3},       {336, 336, 3, 1, 1, 336, 4, 3},
    {336, 56, 1, 1, 0, 1, 4, 2},       {336, 112, 1, 1, 0, 1, 4, 1},
    {112, 1280, 1, 1, 0, 1, 4, 1},
};

static float *rand_buf(size_t n, unsigned *seed) {
  float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
  if (!p) {
    fprintf(stderr, "bench_conv: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
  return p;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 64;
  int threads = argc > 2 ? atoi(argv[2]) : 2;
  int reps = argc > 3 ? atoi(argv[3]) : 20;
  int only = argc > 4 ? atoi(argv[4]) : -1;
  if (argc > 5) {
    cz_isa cap = strcmp(argv[5], "generic") == 0 ? CZ_ISA_GENERIC
                 : strcmp(argv[5], "avx2") == 0  ? CZ_ISA_AVX2
                                                 : CZ_ISA_AVX512;
    cz_k_isa_cap(cap);
  }
  if (batch < 1 || threads < 1 || reps < 1) {
    fprintf(stderr, "usage: bench_conv [batch] [threads] [repetitions] [layer] [isa]\n");
    return 2;
  }
  omp_set_num_threads(threads);
  fprintf(stderr, "bench_conv: batch %d, %d threads, %d repetitions, %s kernels\n", batch,
          threads, reps, cz_k_isa_name(cz_k_isa()));
  double *tf = malloc(sizeof(double) * (size_t)reps), *tb = malloc(sizeof(double) * (size_t)reps);
  unsigned seed = 1;
  for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) {
    if (only >= 0 && (size_t)only != i) continue;
    const layer *l = &layers[i];
    int Ho = (l->H + 2 * l->pad - l->k) / l->s + 1;
    cz_k_conv p = {.N = batch, .C = l->C, .H = l->H, .W = l->H, .M = l->M, .Ho = Ho, .Wo = Ho,
                   .kh = l->k, .kw = l->k, .sh = l->s, .sw = l->s, .dh = 1, .dw = 1,
                   .pt = l->pad, .pl = l->pad, .group = l->groups};
    size_t nx = (size_t)batch * l->C * l->H * l->H, ny = (size_t)batch * l->M * Ho * Ho;
    size_t nw = (size_t)l->M * (l->C / l->groups) * l->k * l->k;
    float *x = rand_buf(nx, &seed), *w = rand_buf(nw, &seed), *y = rand_buf(ny, &seed);
    float *dy = rand_buf(ny, &seed), *dx = rand_buf(nx, &seed), *dw = rand_buf(nw, &seed);
    size_t wb = cz_k_conv_work_bytes(&p, false), bb = cz_k_conv_work_bytes(&p, true);
    void *work = aligned_alloc(64, ((wb > bb ? wb : bb) + 63) / 64 * 64);
    memset(work, 0, wb > bb ? wb : bb);
    bool stem = i == 0;
    cz_k_conv_grads gr = {.dx = stem ? NULL : dx, .dw = dw};
    for (int r = -2; r < reps; r++) {
      double t0 = omp_get_wtime();
      cz_k_conv_forward(&p, x, w, NULL, y, work);
      double t1 = omp_get_wtime();
      cz_k_conv_backward(&p, x, w, dy, &gr, work);
      double t2 = omp_get_wtime();
      if (r >= 0) tf[r] = t1 - t0, tb[r] = t2 - t1;
    }
    char name[64];
    if (l->groups == l->C && l->groups > 1)
      snprintf(name, sizeof name, "dw%dx%d/s%d %d @%d", l->k, l->k, l->s, l->C, l->H);
    else
      snprintf(name, sizeof name, "%dx%d/s%d %d->%d @%d", l->k, l->k, l->s, l->C, l->M, l->H);
    printf("%s\t%d\t%.4f\t%.4f\n", name, l->count, 1e3 * median(tf, reps), 1e3 * median(tb, reps));
    fflush(stdout);
    free(x), free(w), free(y), free(dy), free(dx), free(dw), free(work);
  }
  free(tf);
  free(tb);
  return 0;
}
