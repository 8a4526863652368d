/* Calibration (onnxruntime 1.20.1 quantization/calibrate.py, as
 * quantize_static drives it, one image per inference): the float graph runs
 * over the images in batches, the executor's observe hook hands over every
 * activation, and each image's slice counts as one of onnxruntime's runs.
 *  - MinMax: lowest of the per-image minima, highest of the maxima; with
 *    CalibMovingAverage the means of the per-image minima and maxima
 *    (compute_data averages them all at once: CalibMovingAverageConstant
 *    only weighs chunks when CalibMaxIntermediateOutputs is set, which the
 *    tool we replace never does, so it has no effect here either).
 *  - Entropy: onnxruntime's defaults (128 histogram bins, 128 quantized
 *    bins) leave exactly one candidate threshold, the whole symmetric
 *    histogram range, which get_entropy_threshold then clips to the data's
 *    minimum and maximum: the range is the global min / max (no moving
 *    average).
 *  - Percentile (99.999, symmetric, 2048 bins): a histogram of |x| over
 *    every image with numpy's bins (float32 edges of linspace(min|x|,
 *    max|x|)), the edge where the cumulative share first reaches 0.99999
 *    is the threshold t, the range is (-t, t) clipped to the data's min and
 *    max. Two passes: extremes of |x|, then the histogram. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/exec.h"
#include "quant/quant_priv.h"
#include "util/mem.h"
#include "util/progress.h"

#define PCT_BINS 2048
#define PCT_VALUE 99.999
#define CZ_QCAL_MAX_BATCH 1024

typedef struct {
  float mn, mx, amin, amax;
  double sum_mn, sum_mx;
  int64_t count;
  float *edges;    /* PCT_BINS + 1 (pass 2) */
  int64_t *hist;   /* PCT_BINS */
  double first, norm;
} v_stats;

typedef struct {
  const bool *want;
  v_stats *st;
  int64_t n, batch; /* images in this batch, planned batch */
  int pass;
  bool abs_too; /* extremes of |x| too (Percentile) */
} obs_ctx;

static void stats_init(v_stats *s) {
  s->mn = s->amin = INFINITY;
  s->mx = s->amax = -INFINITY;
}

static int bin_of(const v_stats *s, float a) {
  double f = ((double)a - s->first) * s->norm;
  int i = f >= PCT_BINS ? PCT_BINS - 1 : f < 0 ? 0 : (int)f;
  while (i > 0 && a < s->edges[i]) i--;
  while (i < PCT_BINS - 1 && a >= s->edges[i + 1]) i++;
  return i;
}

typedef struct {
  float mn, mx, amn, amx;
} slice_mm;

/* Extremes of one image's elements (a vectorized reduction: no NaN comes
 * out of a finite model, and max(x, -x) is |x|). */
static slice_mm slice_extremes(const float *x, int64_t m, bool abs_too) {
  float mn = INFINITY, mx = -INFINITY, amn = INFINITY, amx = 0;
  if (m == 0) return (slice_mm){0, 0, 0, 0};
#pragma omp simd reduction(min : mn) reduction(max : mx)
  for (int64_t i = 0; i < m; i++) {
    mn = x[i] < mn ? x[i] : mn;
    mx = x[i] > mx ? x[i] : mx;
  }
  if (abs_too) {
#pragma omp simd reduction(min : amn) reduction(max : amx)
    for (int64_t i = 0; i < m; i++) {
      float a = x[i] < 0 ? -x[i] : x[i];
      amn = a < amn ? a : amn;
      amx = a > amx ? a : amx;
    }
  }
  return (slice_mm){mn, mx, amn, amx};
}

static void merge_slice(v_stats *s, slice_mm e) {
  s->mn = fminf(s->mn, e.mn), s->mx = fmaxf(s->mx, e.mx);
  s->amin = fminf(s->amin, e.amn), s->amax = fmaxf(s->amax, e.amx);
  s->sum_mn += e.mn, s->sum_mx += e.mx;
  s->count++;
}

static void hist_slice(v_stats *s, const float *x, int64_t m) {
  for (int64_t i = 0; i < m; i++) s->hist[bin_of(s, fabsf(x[i]))]++;
}

/* A value's tensor holds `batch` images along dimension 0 (contiguous in
 * both layouts); only the first n are real. (Serial: a parallel region
 * per activation costs more than the SIMD reduction it would split.) */
static void add_tensor(obs_ctx *c, int v, const cz_tensor *t) {
  int64_t numel = cz_numel(t);
  v_stats *s = &c->st[v];
  bool split = t->shape.rank >= 1 && t->shape.d[0] == c->batch && c->batch > 0;
  int64_t imgs = split ? c->n : 1, per = split ? numel / c->batch : numel;
  const float *x = cz_f32(t);
  if (c->pass == 2) {
    for (int64_t i = 0; i < imgs; i++) hist_slice(s, x + i * per, per);
    return;
  }
  slice_mm e[CZ_QCAL_MAX_BATCH];
  bool abs_too = c->abs_too;
  for (int64_t i = 0; i < imgs; i++) e[i] = slice_extremes(x + i * per, per, abs_too);
  for (int64_t i = 0; i < imgs; i++) merge_slice(s, e[i]);
}

static void observe(void *ctx, int v, const cz_tensor *t) {
  obs_ctx *c = ctx;
  if (c->want[v] && t->dtype == CZ_F32) add_tensor(c, v, t);
}

/* numpy.histogram's edges for `bins` equal bins over [lo, hi]: linspace in
 * float32 (the data's type), the last edge exactly hi. */
static void make_edges(v_stats *s) {
  float lo = s->amin, hi = s->amax;
  if (lo == hi) lo -= 0.5f, hi += 0.5f;
  s->edges = cz_xmalloc((PCT_BINS + 1) * sizeof *s->edges);
  s->hist = cz_xcalloc(PCT_BINS, sizeof *s->hist);
  float step = (hi - lo) / (float)PCT_BINS;
  for (int i = 0; i < PCT_BINS; i++) s->edges[i] = (float)i * step + lo;
  s->edges[PCT_BINS] = hi;
  s->first = lo;
  s->norm = PCT_BINS / ((double)hi - (double)lo);
}

static q_range percentile_range(const v_stats *s) {
  int64_t total = 0;
  for (int i = 0; i < PCT_BINS; i++) total += s->hist[i];
  double cdf = 0, want = PCT_VALUE / 100.0;
  int idx = PCT_BINS - 1;
  for (int i = 0; i < PCT_BINS; i++) {
    cdf += (double)s->hist[i] / (double)total;
    if (cdf >= want) {
      idx = i;
      break;
    }
  }
  float t = s->edges[idx];
  q_range r = {.set = true, .lo = -t, .hi = t};
  if (r.lo < s->mn) r.lo = s->mn;
  if (r.hi > s->mx) r.hi = s->mx;
  return r;
}

static cz_err *run_pass(cz_graph *g, const cz_quant_data *d, obs_ctx *c, int in_v,
                        const char *label) {
  cz_exec *ex = NULL;
  cz_exec_opts eo = {.observe = observe, .observe_ctx = c};
  cz_err *err = cz_exec_new(g, &eo, &ex);
  if (err) return err;
  cz_tensor in = cz_exec_input(ex, 0);
  int64_t per = cz_numel(&in) / c->batch;
  if ((err = d->start(d->ctx))) {
    cz_exec_free(ex);
    return err;
  }
  cz_progress *pr = cz_progress_start(label, d->total, "img");
  int64_t done = 0;
  for (;;) {
    const float *x = NULL;
    int64_t n = 0;
    if ((err = d->next(d->ctx, &x, &n)) || n == 0) break;
    if (n > c->batch) {
      err = cz_err_new(CZ_EXIT_RUNTIME, "calibration: %lld images in a batch of %lld",
                       (long long)n, (long long)c->batch);
      break;
    }
    memcpy(in.data, x, (size_t)(n * per) * sizeof(float));
    if (n < c->batch) memset(cz_f32(&in) + n * per, 0, (size_t)((c->batch - n) * per) * sizeof(float));
    c->n = n;
    if (c->want[in_v]) add_tensor(c, in_v, &in);
    cz_exec_forward(ex);
    done += n;
    cz_progress_update(pr, done, NULL);
  }
  if (!err && done == 0) err = cz_err_new(CZ_EXIT_USAGE, "calibration: no images to calibrate on");
  cz_progress_finish(pr, NULL);
  cz_exec_free(ex);
  return err;
}

cz_err *q_calibrate(cz_graph *g, const cz_quant_opts *o, const cz_quant_data *d,
                    const bool *want, q_range *ranges) {
  if (d->batch < 1 || d->batch > CZ_QCAL_MAX_BATCH)
    return cz_err_new(CZ_EXIT_USAGE, "calibration: batch of %lld images, expected 1 to %d",
                      (long long)d->batch, CZ_QCAL_MAX_BATCH);
  cz_err *err = cz_graph_set_batch(g, d->batch);
  if (err) return err;
  int nv = g->n_values;
  v_stats *st = cz_xcalloc((size_t)nv + 1, sizeof *st);
  for (int v = 0; v < nv; v++) stats_init(&st[v]);
  obs_ctx c = {.want = want, .st = st, .batch = d->batch, .pass = 1,
               .abs_too = o->calib == CZ_QCAL_PERCENTILE};
  int in_v = g->inputs[0];
  err = run_pass(g, d, &c, in_v, "Calibrating");
  if (!err && o->calib == CZ_QCAL_PERCENTILE) {
    for (int v = 0; v < nv; v++)
      if (want[v] && st[v].count) make_edges(&st[v]);
    c.pass = 2;
    err = run_pass(g, d, &c, in_v, "Calibrating (histograms)");
  }
  for (int v = 0; !err && v < nv; v++) {
    const v_stats *s = &st[v];
    if (!want[v] || !s->count) continue;
    if (o->calib == CZ_QCAL_PERCENTILE) {
      ranges[v] = percentile_range(s);
    } else if (o->calib == CZ_QCAL_MINMAX && o->moving_average) {
      ranges[v] = (q_range){true, (float)(s->sum_mn / (double)s->count),
                            (float)(s->sum_mx / (double)s->count)};
    } else {
      ranges[v] = (q_range){true, s->mn, s->mx};
    }
  }
  for (int v = 0; v < nv; v++) free(st[v].edges), free(st[v].hist);
  free(st);
  return err;
}
