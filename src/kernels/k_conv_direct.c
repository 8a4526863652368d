/* Direct convolution for dense and grouped kernels with few taps per
 * output (kH*kW*C/group <= CZ_K_DIRECT_MAX_K, e.g. the 3-channel stem):
 * the GEMM micro-kernels read the NHWC input in place through a table of
 * tap offsets, so no im2col columns are written. Inner output columns of
 * a row (all kernel columns inside the input) go through the implicit
 * kernels; border columns through small packed im2col strips. */
#include "kernels/k_conv_direct.h"

#include <string.h>

#include "kernels/k_simd.h"
#include "kernels/k_tile.h"
#include "util/pool.h"

/* Output pixels per packed chunk of dy in the weight gradient. */
#define CHUNK 256

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static size_t r16(size_t floats) { return (floats + 15) & ~(size_t)15; }

typedef struct {
  int64_t Cg, Mg, KK, KCg;
} dd_t;

static dd_t dd_of(const cz_k_conv *p) {
  dd_t d = {.Cg = p->C / p->group, .Mg = p->M / p->group, .KK = p->kh * p->kw};
  d.KCg = d.KK * d.Cg;
  return d;
}

bool cz_k_direct_ok(const cz_k_conv *p) { return dd_of(p).KCg <= CZ_K_DIRECT_MAX_K; }

/* Tap offsets k = (kh*KW + kw)*Cg + c for an output row whose kernel rows
 * [kh0, kh1) lie in the input, relative to the pixel at kernel row kh0.
 * Taps of other kernel rows, and the padding after the table (the o
 * kernel reads a whole tile of rows), get offset 0: read, never used. */
static void tap_offsets(const cz_k_conv *p, const dd_t *d, int64_t kh0, int64_t kh1,
                        int64_t *koff) {
  for (int64_t kh = 0; kh < p->kh; kh++)
    for (int64_t kw = 0; kw < p->kw; kw++)
      for (int64_t c = 0; c < d->Cg; c++)
        koff[(kh * p->kw + kw) * d->Cg + c] =
            kh < kh0 || kh >= kh1 ? 0 : ((kh - kh0) * p->dh * p->W + kw * p->dw) * p->C + c;
  for (int64_t k = d->KCg; k < d->KCg + CZ_K_MR_MAX; k++) koff[k] = 0;
}

/* Kernel rows [kh0, kh1) inside the input for output row oh. */
static void valid_rows(const cz_k_conv *p, int64_t oh, int64_t *kh0, int64_t *kh1) {
  int64_t ih0 = oh * p->sh - p->pt;
  *kh0 = ih0 >= 0 ? 0 : cdiv(-ih0, p->dh);
  *kh1 = ih0 > p->H - 1 ? 0 : (p->H - 1 - ih0) / p->dh + 1;
  if (*kh1 > p->kh) *kh1 = p->kh;
  if (*kh0 > *kh1) *kh0 = *kh1;
}

/* Output columns [lo, hi) whose kernel columns all lie inside the input. */
static void inner_cols(const cz_k_conv *p, int64_t *lo, int64_t *hi) {
  int64_t last = p->W - 1 - (p->kw - 1) * p->dw + p->pl;
  *lo = cdiv(p->pl, p->sw);
  *hi = last < 0 ? 0 : last / p->sw + 1;
  if (*lo > p->Wo) *lo = p->Wo;
  if (*hi > p->Wo) *hi = p->Wo;
  if (*hi < *lo) *hi = *lo;
}

/* Packed A strip for cnt <= mr consecutive output pixels of row (n, oh)
 * from column ow: ap[k*mr + i] = x tap k of pixel i (0 in the padding). */
static void pack_pixels(const cz_k_conv *p, const dd_t *d, const float *x, int64_t g, int64_t n,
                        int64_t oh, int64_t ow, int cnt, int mr, float *ap) {
  memset(ap, 0, (size_t)(d->KCg * mr) * sizeof(float));
  int64_t ih0 = oh * p->sh - p->pt;
  for (int i = 0; i < cnt; i++) {
    int64_t iw0 = (ow + i) * p->sw - p->pl;
    for (int64_t kh = 0; kh < p->kh; kh++) {
      int64_t ih = ih0 + kh * p->dh;
      if (ih < 0 || ih >= p->H) continue;
      for (int64_t kw = 0; kw < p->kw; kw++) {
        int64_t iw = iw0 + kw * p->dw;
        if (iw < 0 || iw >= p->W) continue;
        const float *s = x + ((n * p->H + ih) * p->W + iw) * p->C + g * d->Cg;
        float *o = ap + (kh * p->kw + kw) * d->Cg * mr + i;
        for (int64_t c = 0; c < d->Cg; c++) o[c * mr] = s[c];
      }
    }
  }
}

/* ---- forward ---- */

typedef struct {
  float *wr;      /* weights as [g][k][m] */
  float *panels;  /* packed panels of each group's [k][m] */
  float *slots;   /* per thread: packed border strip + row tap offsets */
  size_t slot_floats;
  size_t group_panels;
} fwd_ws;

static size_t fwd_layout(const cz_k_conv *p, float *work, fwd_ws *w) {
  dd_t d = dd_of(p);
  size_t at = 0;
  w->wr = work ? work + at : NULL;
  at += r16((size_t)(p->M * d.KCg));
  w->group_panels = r16((size_t)cz_k_panels_floats(d.KCg, d.Mg));
  w->panels = work ? work + at : NULL;
  at += (size_t)p->group * w->group_panels;
  w->slot_floats = r16((size_t)(CZ_K_MR_MAX * d.KCg)) + r16((size_t)(2 * (d.KCg + CZ_K_MR_MAX)));
  w->slots = work ? work + at : NULL;
  at += (size_t)min64(CZ_K_SLOTS, p->N * p->Ho) * w->slot_floats;
  return at;
}

size_t cz_k_direct_fwd_floats(const cz_k_conv *p) {
  fwd_ws w;
  return fwd_layout(p, NULL, &w);
}

/* The weights as [g][k][m] (wr), then packed into panels per group. */
static void pack_weights(const cz_k_conv *p, const dd_t *d, const cz_k_tile *t, const float *w,
                         float *wr, float *panels, size_t group_panels) {
  for (int64_t g = 0; g < p->group; g++) {
    for (int64_t m = 0; m < d->Mg; m++)
      for (int64_t c = 0; c < d->Cg; c++)
        for (int64_t k = 0; k < d->KK; k++)
          wr[(g * d->KCg + k * d->Cg + c) * d->Mg + m] = w[((g * d->Mg + m) * d->Cg + c) * d->KK + k];
    cz_k_pack_panels(t->nr, d->KCg, d->Mg, wr + g * d->KCg * d->Mg, d->Mg, 1,
                     panels + g * group_panels);
  }
}

size_t cz_k_direct_packed_floats(const cz_k_conv *p) {
  fwd_ws w;
  fwd_layout(p, NULL, &w);
  dd_t d = dd_of(p);
  return r16((size_t)(p->M * d.KCg)) + (size_t)p->group * w.group_panels;
}

void cz_k_direct_pack(const cz_k_conv *p, const float *w, float *packed) {
  dd_t d = dd_of(p);
  fwd_ws ws;
  fwd_layout(p, NULL, &ws);
  cz_k_tile t = cz_k_tile_for(d.Mg);
  pack_weights(p, &d, &t, w, packed, packed + r16((size_t)(p->M * d.KCg)), ws.group_panels);
}

/* Output rows per job of the forward. */
#define FWD_ROWS 2

typedef struct {
  const cz_k_conv *p;
  dd_t d;
  cz_k_tile t;
  const float *x, *b, *panels;
  float *y, *slots;
  size_t slot_floats, group_panels;
  int64_t lo, hi, rows, np;
} fwd_ctx;

/* Output rows [FWD_ROWS*job, ...) with the participant's scratch. */
static void fwd_job(void *cv, int64_t job, int slot) {
  const fwd_ctx *c = cv;
  const cz_k_conv *p = c->p;
  const dd_t d = c->d;
  const cz_k_tile t = c->t;
  const float *x = c->x, *b = c->b;
  float *y = c->y;
  int64_t lo = c->lo, hi = c->hi, np = c->np;
  float *ap = c->slots + (size_t)slot * c->slot_floats;
  int64_t *koff = (int64_t *)(ap + r16((size_t)(CZ_K_MR_MAX * d.KCg)));
  /* The fused activation in the micro-kernels' stores (each call covers
   * all of k). */
  const float clip_v[2] = {p->lo, p->hi}, *clip = p->clamp ? clip_v : NULL;
  int64_t last = -1;
  for (int64_t r = job * FWD_ROWS; r < min64(c->rows, (job + 1) * FWD_ROWS); r++) {
    int64_t n = r / p->Ho, oh = r % p->Ho, kh0, kh1;
    valid_rows(p, oh, &kh0, &kh1);
    if (kh0 * (p->kh + 1) + kh1 != last) tap_offsets(p, &d, kh0, kh1, koff), last = kh0 * (p->kh + 1) + kh1;
    int64_t k0 = kh0 * p->kw * d.Cg, kc = (kh1 - kh0) * p->kw * d.Cg;
    int64_t ih = oh * p->sh - p->pt + kh0 * p->dh;
    for (int64_t g = 0; g < p->group; g++) {
      const float *bp = c->panels + g * c->group_panels;
      float *yr = y + r * p->Wo * p->M + g * d.Mg;
      const float *bias = b ? b + g * d.Mg : NULL;
      int64_t ow = lo, full = (hi - lo) / t.mr_r * t.mr_r;
      if (kc > 0 && full > 0) {
        /* All whole strips of inner columns in one call per panel. */
        const float *xr = x + ((n * p->H + ih) * p->W + lo * p->sw - p->pl) * p->C + g * d.Cg;
        for (int64_t q = 0; q < np; q++)
          t.i(kc, xr, p->sw * p->C, koff + k0, bp + (q * d.KCg + k0) * t.nr,
              yr + lo * p->M + q * t.nr, p->M, (int)full, (int)min64(t.nr, d.Mg - q * t.nr),
              false, bias ? bias + q * t.nr : NULL, clip);
        ow += full;
      }
      /* Border columns, and inner ones left over: packed strips. */
      int64_t ranges[2][2] = {{0, lo}, {ow, p->Wo}};
      for (int e = 0; e < 2; e++)
        for (int64_t o = ranges[e][0]; o < ranges[e][1]; o += t.mr_t) {
          int cnt = (int)min64(t.mr_t, ranges[e][1] - o);
          pack_pixels(p, &d, x, g, n, oh, o, cnt, t.mr_t, ap);
          for (int64_t q = 0; q < np; q++)
            t.t(d.KCg, ap, t.mr_t, NULL, bp + q * d.KCg * t.nr, yr + o * p->M + q * t.nr,
                p->M, cnt, (int)min64(t.nr, d.Mg - q * t.nr), false,
                bias ? bias + q * t.nr : NULL, clip);
        }
    }
  }
}

void cz_k_direct_forward(const cz_k_conv *p, const float *x, const float *w, const float *b,
                         float *y, float *work, const float *packed) {
  dd_t d = dd_of(p);
  fwd_ws ws;
  fwd_layout(p, work, &ws);
  cz_k_tile t = cz_k_tile_for(d.Mg);
  const float *panels = ws.panels;
  if (packed)
    panels = packed + r16((size_t)(p->M * d.KCg));
  else
    pack_weights(p, &d, &t, w, ws.wr, ws.panels, ws.group_panels);
  fwd_ctx c = {.p = p, .d = d, .t = t, .x = x, .b = b, .panels = panels, .y = y,
               .slots = ws.slots, .slot_floats = ws.slot_floats,
               .group_panels = ws.group_panels, .rows = p->N * p->Ho,
               .np = cdiv(d.Mg, t.nr)};
  inner_cols(p, &c.lo, &c.hi);
  int64_t jobs = cdiv(c.rows, FWD_ROWS);
  double macs = (double)c.rows * (double)(p->Wo * p->M * d.KCg);
  cz_pool_run(jobs, cz_k_threads_for(jobs, macs), fwd_job, &c);
}

/* ---- weight gradient ---- */

/* Per slice: partial dW as [g][k][m], packed dy panels of a chunk, border
 * im2col rows (k-major for the t kernel) and row tap offsets. */
typedef struct {
  size_t part, bp, col, koff, total;
} dw_block_t;

static dw_block_t dw_block(const cz_k_conv *p, const dd_t *d) {
  dw_block_t b;
  b.part = 0;
  b.bp = b.part + r16((size_t)(p->M * d->KCg));
  b.col = b.bp + r16((size_t)cz_k_panels_floats(CHUNK, d->Mg));
  b.koff = b.col + r16((size_t)(CHUNK * d->KCg + CZ_K_MR_MAX));
  b.total = b.koff + r16((size_t)(2 * (d->KCg + CZ_K_MR_MAX)));
  return b;
}

static int64_t dw_slices(const cz_k_conv *p) { return min64(CZ_K_SLOTS, p->N * p->Ho); }

size_t cz_k_direct_dw_floats(const cz_k_conv *p) {
  dd_t d = dd_of(p);
  return (size_t)dw_slices(p) * dw_block(p, &d).total;
}

/* part[(g*KCg + k)*Mg + m] += sum over pixels [ow, ow+cnt) of row (n, oh)
 * of tap k times dy, reading x in place (inner columns). */
static void dw_inner(const cz_k_conv *p, const dd_t *d, const cz_k_tile *t, const float *x,
                     const float *dy, int64_t g, int64_t n, int64_t oh, int64_t ow, int64_t cnt,
                     int64_t kh0, int64_t kh1, const int64_t *koff, float *bp, float *part) {
  int64_t k0 = kh0 * p->kw * d->Cg, kc = (kh1 - kh0) * p->kw * d->Cg;
  int64_t np = cdiv(d->Mg, t->nr);
  int64_t ih = oh * p->sh - p->pt + kh0 * p->dh;
  const float *a = x + ((n * p->H + ih) * p->W + ow * p->sw - p->pl) * p->C + g * d->Cg;
  cz_k_pack_panels(t->nr, cnt, d->Mg, dy + ((n * p->Ho + oh) * p->Wo + ow) * p->M + g * d->Mg,
                   p->M, 1, bp);
  for (int64_t i = 0; i < kc; i += t->mr_t)
    for (int64_t q = 0; q < np; q++)
      t->o(cnt, a, p->sw * p->C, koff + k0 + i, bp + q * cnt * t->nr,
           part + (g * d->KCg + k0 + i) * d->Mg + q * t->nr, d->Mg, (int)min64(t->mr_t, kc - i),
           (int)min64(t->nr, d->Mg - q * t->nr), true, NULL, NULL);
}

/* The same for any pixels, through im2col rows. */
static void dw_border(const cz_k_conv *p, const dd_t *d, const cz_k_tile *t, const float *x,
                      const float *dy, int64_t g, int64_t n, int64_t oh, int64_t ow, int64_t cnt,
                      float *col, float *bp, float *part) {
  int64_t np = cdiv(d->Mg, t->nr);
  /* One pixel per column of a [KCg x cnt] k-major strip: col[q*KCg + k]. */
  for (int64_t q = 0; q < cnt; q++) pack_pixels(p, d, x, g, n, oh, ow + q, 1, 1, col + q * d->KCg);
  cz_k_pack_panels(t->nr, cnt, d->Mg, dy + ((n * p->Ho + oh) * p->Wo + ow) * p->M + g * d->Mg,
                   p->M, 1, bp);
  for (int64_t i = 0; i < d->KCg; i += t->mr_t)
    for (int64_t q = 0; q < np; q++)
      t->t(cnt, col + i, d->KCg, NULL, bp + q * cnt * t->nr, part + (g * d->KCg + i) * d->Mg + q * t->nr,
           d->Mg, (int)min64(t->mr_t, d->KCg - i), (int)min64(t->nr, d->Mg - q * t->nr), true,
           NULL, NULL);
}

typedef struct {
  const cz_k_conv *p;
  dd_t d;
  dw_block_t blk;
  cz_k_tile t;
  const float *x, *dy;
  float *work;
  int64_t S, rows, lo, hi;
} dw_ctx;

/* Slice s of the weight gradient, into its own partial (block s). */
static void dw_job(void *cv, int64_t s, int slot) {
  (void)slot;
  const dw_ctx *c = cv;
  const cz_k_conv *p = c->p;
  const dd_t d = c->d;
  const dw_block_t blk = c->blk;
  const float *x = c->x, *dy = c->dy;
  int64_t S = c->S, rows = c->rows, lo = c->lo, hi = c->hi;
  float *base = c->work + (size_t)s * blk.total, *part = base + blk.part;
  float *bp = base + blk.bp, *col = base + blk.col;
  int64_t *koff = (int64_t *)(base + blk.koff), last = -1;
  memset(part, 0, (size_t)(p->M * d.KCg) * sizeof(float));
  memset(col, 0, (size_t)(CHUNK * d.KCg + CZ_K_MR_MAX) * sizeof(float));
  for (int64_t r = s * rows / S; r < (s + 1) * rows / S; r++) {
    int64_t n = r / p->Ho, oh = r % p->Ho, kh0, kh1;
    valid_rows(p, oh, &kh0, &kh1);
    if (kh0 * (p->kh + 1) + kh1 != last) tap_offsets(p, &d, kh0, kh1, koff), last = kh0 * (p->kh + 1) + kh1;
    for (int64_t g = 0; g < p->group; g++) {
      if (kh1 > kh0)
        for (int64_t ow = lo; ow < hi; ow += CHUNK)
          dw_inner(p, &d, &c->t, x, dy, g, n, oh, ow, min64(CHUNK, hi - ow), kh0, kh1, koff, bp,
                   part);
      if (lo > 0) dw_border(p, &d, &c->t, x, dy, g, n, oh, 0, lo, col, bp, part);
      for (int64_t ow = hi; ow < p->Wo; ow += CHUNK)
        dw_border(p, &d, &c->t, x, dy, g, n, oh, ow, min64(CHUNK, p->Wo - ow), col, bp, part);
    }
  }
}

void cz_k_direct_dw(const cz_k_conv *p, const float *x, const float *dy, float *dw, bool acc,
                    float *work) {
  dd_t d = dd_of(p);
  dw_block_t blk = dw_block(p, &d);
  int64_t S = dw_slices(p);
  dw_ctx job = {.p = p, .d = d, .blk = blk, .t = cz_k_tile_for(d.Mg), .x = x, .dy = dy,
                .work = work, .S = S, .rows = p->N * p->Ho};
  inner_cols(p, &job.lo, &job.hi);
  cz_pool_run(S, cz_k_threads(S), dw_job, &job);
  /* Slices in order, then into OIHW. */
  for (int64_t g = 0; g < p->group; g++)
    for (int64_t m = 0; m < d.Mg; m++)
      for (int64_t c = 0; c < d.Cg; c++)
        for (int64_t k = 0; k < d.KK; k++) {
          size_t e = (size_t)((g * d.KCg + k * d.Cg + c) * d.Mg + m);
          float v = work[blk.part + e];
          for (int64_t s = 1; s < S; s++) v += work[(size_t)s * blk.total + blk.part + e];
          float *o = dw + ((g * d.Mg + m) * d.Cg + c) * d.KK + k;
          *o = acc ? *o + v : v;
        }
}
