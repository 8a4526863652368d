/* Convolution kernel paths and their scratch layouts (k_conv.h). */
#include "kernels/k_conv.h"

#include <string.h>

#include "kernels/k_conv_direct.h"
#include "kernels/k_dw.h"
#include "kernels/k_gemm.h"
#include "kernels/k_simd.h"
#include "util/pool.h"

/* im2col tiles hold about this many floats (128 KiB: L2-resident). */
#define TILE_FLOATS 32768
#define TILE_MIN 16
#define TILE_MAX 1024
/* Rows per partial sum of the bias gradient. */
#define BIAS_ROWS 1024
/* Most bytes of per-slice weight-gradient partial sums. */
#define WSLICE_BYTES ((size_t)16 << 20)
/* Depthwise forward: output rows per chunk of work. */
#define DW_ROWS 4

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Carves 64-byte aligned float arrays out of the work buffer; with a NULL
 * base it only counts, so sizing and carving are the same code. */
typedef struct {
  char *base;
  size_t used;
} bump_t;

static float *take(bump_t *b, size_t floats) {
  float *r = b->base ? (float *)(b->base + b->used) : NULL;
  b->used += (floats * sizeof(float) + 63) & ~(size_t)63;
  return r;
}

static size_t floats_of(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

cz_k_conv_path cz_k_conv_path_of(const cz_k_conv *p) {
  if (p->group == p->C && p->M == p->C) return CZ_K_CONV_DEPTHWISE;
  if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pt == 0 && p->pl == 0 &&
      p->Ho == p->H && p->Wo == p->W)
    return CZ_K_CONV_POINTWISE;
  return CZ_K_CONV_IM2COL;
}

/* Shape-derived sizes shared by every path. */
typedef struct {
  int64_t Cg, Mg, KK, KCg, P, TP, ntiles;
} dims_t;

static dims_t dims_of(const cz_k_conv *p) {
  dims_t d;
  d.Cg = p->C / p->group;
  d.Mg = p->M / p->group;
  d.KK = p->kh * p->kw;
  d.KCg = d.KK * d.Cg;
  d.P = p->N * p->Ho * p->Wo;
  d.TP = max64(TILE_MIN, min64(TILE_MAX, TILE_FLOATS / max64(d.KCg, 1)));
  d.ntiles = cdiv(d.P, d.TP);
  return d;
}

/* ---- scratch layouts ---- */

typedef struct {
  float *wr;          /* repacked weights */
  float *gw;          /* scratch of a parallel GEMM call */
  float *slots;       /* im2col: per-thread (or per-slice) blocks */
  size_t slot_floats; /* floats per block */
  float *wpart;       /* depthwise weight-gradient partials */
  float *bpart;       /* bias-gradient partials */
  int64_t wslices, bslices;
} ws_t;

static size_t r16(size_t floats) { return (floats + 15) & ~(size_t)15; }

static int64_t bias_slices(const dims_t *d) { return min64(CZ_K_SLOTS, max64(1, cdiv(d->P, BIAS_ROWS))); }

static int64_t dw_slices(const cz_k_conv *p) { return min64(CZ_K_SLOTS, max64(1, p->N * p->Ho)); }

static int64_t im2col_wslices(const cz_k_conv *p, const dims_t *d) {
  int64_t s = min64(CZ_K_SLOTS, d->ntiles);
  while (s > 1 && (size_t)(s * p->M * d->KCg) * sizeof(float) > WSLICE_BYTES) s--;
  return s;
}

/* im2col blocks: a column tile, then GEMM scratch, then (dw) partials. */
static size_t tile_floats(const dims_t *d) { return r16((size_t)(d->TP * d->KCg)); }
static size_t fwd_block(const dims_t *d) {
  return tile_floats(d) + r16(floats_of(cz_k_gemm_work_bytes(d->TP, d->Mg, d->KCg, false)));
}
static size_t dx_block(const dims_t *d) {
  return tile_floats(d) + r16(floats_of(cz_k_gemm_work_bytes(d->TP, d->KCg, d->Mg, false)));
}
static size_t dw_gemm_floats(const dims_t *d) {
  return r16(floats_of(cz_k_gemm_work_bytes(d->Mg, d->KCg, d->TP, false)));
}
static size_t dw_block(const cz_k_conv *p, const dims_t *d) {
  return tile_floats(d) + dw_gemm_floats(d) + r16((size_t)(p->M * d->KCg));
}

static size_t layout(const cz_k_conv *p, bool backward, void *work, ws_t *w) {
  dims_t d = dims_of(p);
  bump_t b = {.base = work, .used = 0};
  memset(w, 0, sizeof *w);
  cz_k_conv_path path = cz_k_conv_path_of(p);
  switch (path) {
    case CZ_K_CONV_DEPTHWISE:
      w->wr = take(&b, (size_t)(d.KK * p->C));
      if (backward) {
        w->wslices = w->bslices = dw_slices(p);
        w->wpart = take(&b, (size_t)(w->wslices * d.KK * p->C));
        w->bpart = take(&b, (size_t)(w->wslices * p->C));
      }
      break;
    case CZ_K_CONV_POINTWISE: {
      size_t g = cz_k_gemm_work_bytes(d.P, d.Mg, d.Cg, true);
      if (backward) {
        size_t gx = cz_k_gemm_work_bytes(d.P, d.Cg, d.Mg, true);
        size_t gwb = cz_k_gemm_work_bytes(d.Mg, d.Cg, d.P, true);
        g = gx > gwb ? gx : gwb;
      }
      w->gw = take(&b, floats_of(g));
      break;
    }
    case CZ_K_CONV_IM2COL: {
      bool direct = cz_k_direct_ok(p);
      if (!backward) {
        if (direct) {
          w->slots = take(&b, cz_k_direct_fwd_floats(p));
          break;
        }
        w->wr = take(&b, (size_t)(p->M * d.KCg));
        w->slot_floats = fwd_block(&d);
        w->slots = take(&b, (size_t)min64(CZ_K_SLOTS, d.ntiles) * w->slot_floats);
        break;
      }
      /* dx (a block per thread, by image) and dw (a block per slice, or
       * the direct kernel's scratch) run one after the other and share
       * the space. */
      w->wr = take(&b, (size_t)(p->M * d.KCg));
      w->slot_floats = dx_block(&d);
      w->wslices = im2col_wslices(p, &d);
      size_t fx = (size_t)min64(CZ_K_SLOTS, p->N) * w->slot_floats;
      size_t fw = direct ? cz_k_direct_dw_floats(p) : (size_t)w->wslices * dw_block(p, &d);
      w->slots = take(&b, fx > fw ? fx : fw);
      break;
    }
  }
  if (backward && path != CZ_K_CONV_DEPTHWISE) {
    w->bslices = bias_slices(&d);
    w->bpart = take(&b, (size_t)(w->bslices * p->M));
  }
  return b.used;
}

size_t cz_k_conv_work_bytes(const cz_k_conv *p, bool backward) {
  ws_t w;
  return layout(p, backward, NULL, &w) + 64;
}

/* ---- im2col ---- */

/* Short copies are the common case (a few channels per tap): fixed-size
 * memcpy calls compile to plain moves, where a variable-size one is a
 * library call. */
static inline void copy_f(float *restrict d, const float *restrict s, int64_t n) {
  for (; n >= 8; n -= 8, d += 8, s += 8) memcpy(d, s, 8 * sizeof(float));
  if (n >= 4) memcpy(d, s, 4 * sizeof(float)), d += 4, s += 4, n -= 4;
  if (n > 0) d[0] = s[0];
  if (n > 1) d[1] = s[1];
  if (n > 2) d[2] = s[2];
}

static inline void zero_f(float *d, int64_t n) {
  for (int64_t i = 0; i < n; i++) d[i] = 0.0f;
}

/* Walks output pixels p0, p0+1, ... as (n, oh, ow) without divisions. */
typedef struct {
  int64_t n, oh, ow;
} pix_t;

static pix_t pix_at(const cz_k_conv *p, int64_t pix) {
  int64_t HoWo = p->Ho * p->Wo;
  return (pix_t){pix / HoWo, pix % HoWo / p->Wo, pix % p->Wo};
}

static void pix_next(const cz_k_conv *p, pix_t *q) {
  if (++q->ow < p->Wo) return;
  q->ow = 0;
  if (++q->oh < p->Ho) return;
  q->oh = 0;
  q->n++;
}

/* col[q*KCg + (kh*KW + kw)*Cg + c] = x[n, ih, iw, g*Cg + c] (0 in the
 * padding) for output pixels p0 .. p0+tp-1. */
static void im2col(const cz_k_conv *p, const dims_t *d, const float *x, int64_t g, int64_t p0,
                   int64_t tp, float *col) {
  const int64_t KW = p->kw, Cg = d->Cg, C = p->C;
  /* With one group and no dilation along W, a kernel row is one run. */
  const bool runs = Cg == C && p->dw == 1;
  pix_t at = pix_at(p, p0);
  for (int64_t q = 0; q < tp; q++, pix_next(p, &at)) {
    float *dst = col + q * d->KCg;
    int64_t ih0 = at.oh * p->sh - p->pt, iw0 = at.ow * p->sw - p->pl;
    bool inner_w = iw0 >= 0 && iw0 + (KW - 1) * p->dw < p->W;
    for (int64_t kh = 0; kh < p->kh; kh++) {
      int64_t ih = ih0 + kh * p->dh;
      float *o = dst + kh * KW * Cg;
      if (ih < 0 || ih >= p->H) {
        zero_f(o, KW * Cg);
        continue;
      }
      const float *xr = x + ((at.n * p->H + ih) * p->W) * C + g * Cg;
      if (runs && inner_w) {
        copy_f(o, xr + iw0 * C, KW * C);
        continue;
      }
      for (int64_t kw = 0; kw < KW; kw++) {
        int64_t iw = iw0 + kw * p->dw;
        if (iw < 0 || iw >= p->W)
          zero_f(o + kw * Cg, Cg);
        else
          copy_f(o + kw * Cg, xr + iw * C, Cg);
      }
    }
  }
}

/* dx[n, ih, iw, g*Cg + c] += dcol (the inverse gather), pixels in order. */
static void col2im_add(const cz_k_conv *p, const dims_t *d, const float *dcol, int64_t g,
                       int64_t p0, int64_t tp, float *dx) {
  const int64_t KW = p->kw, Cg = d->Cg, C = p->C;
  pix_t at = pix_at(p, p0);
  for (int64_t q = 0; q < tp; q++, pix_next(p, &at)) {
    const float *src = dcol + q * d->KCg;
    int64_t ih0 = at.oh * p->sh - p->pt, iw0 = at.ow * p->sw - p->pl;
    for (int64_t kh = 0; kh < p->kh; kh++) {
      int64_t ih = ih0 + kh * p->dh;
      if (ih < 0 || ih >= p->H) continue;
      float *xr = dx + ((at.n * p->H + ih) * p->W) * C + g * Cg;
      for (int64_t kw = 0; kw < KW; kw++) {
        int64_t iw = iw0 + kw * p->dw;
        if (iw < 0 || iw >= p->W) continue;
        const float *s = src + (kh * KW + kw) * Cg;
        float *o = xr + iw * C;
        for (int64_t c = 0; c < Cg; c++) o[c] += s[c];
      }
    }
  }
}

/* ---- jobs for the pool (util/pool.h): one context for every loop ---- */
typedef struct {
  const cz_k_conv *p, *q; /* q: the flipped problem of a stride-1 depthwise dx */
  const dims_t *d;
  const ws_t *ws;
  const float *x, *b, *dy, *wr;
  float *y;
  const cz_k_conv_grads *gr;
  int64_t rows, S, T;
  size_t block, part_at;
} kjob;

/* ---- forward ---- */

/* wr[(kh*KW + kw)*C + c] = w[c, 0, kh, kw], flipped in both axes when flip. */
static void pack_dw(const cz_k_conv *p, const float *w, float *wr, bool flip) {
  int64_t KK = p->kh * p->kw;
  for (int64_t c = 0; c < p->C; c++)
    for (int64_t t = 0; t < KK; t++) wr[(flip ? KK - 1 - t : t) * p->C + c] = w[c * KK + t];
}

/* Chunks of a few rows (each row's result is the same whichever chunk
 * computes it); the row kernels apply a fused activation as they store. */
static void dw_fwd_job(void *cv, int64_t q, int slot) {
  (void)slot;
  const kjob *c = cv;
  const cz_k_conv *p = c->p;
  int64_t r = q * c->T, re = min64(c->rows, r + c->T);
  cz_k_dw_fwd_rows(p, c->x, c->wr, c->b, c->y, false, r, re); /* clamps when p->clamp */
}

static void forward_dw(const cz_k_conv *p, const float *x, const float *w, const float *b,
                       float *y, const ws_t *ws, const float *packed) {
  const float *wr = packed;
  if (!wr) pack_dw(p, w, ws->wr, false), wr = ws->wr;
  int64_t rows = p->N * p->Ho;
  double macs = (double)(rows * p->Wo * p->C * p->kh * p->kw);
  int nt = cz_k_threads_for(rows, macs);
  /* DW_ROWS rows a chunk, fewer when that leaves the threads too few
   * chunks (the late layers of one image: 4 to 16 rows). */
  int64_t per = nt > 1 ? max64(1, min64(DW_ROWS, rows / (2 * nt))) : DW_ROWS;
  int64_t chunks = cdiv(rows, per);
  kjob kj = {.p = p, .x = x, .wr = wr, .b = b, .y = y, .rows = rows, .T = per};
  cz_pool_run(chunks, nt, dw_fwd_job, &kj);
}

static size_t pw_group_bytes(const dims_t *d);

static void forward_pw(const cz_k_conv *p, const dims_t *d, const float *x, const float *w,
                       const float *b, float *y, const ws_t *ws, const char *packed) {
  for (int64_t g = 0; g < p->group; g++) {
    cz_k_gemm_args a = {.M = d->P, .N = d->Mg, .K = d->Cg,
                        .a = x + g * d->Cg, .a_rs = p->C, .a_cs = 1,
                        .b = w + g * d->Mg * d->Cg, .b_rs = 1, .b_cs = d->Cg,
                        .alpha = 1.0f, .c = y + g * d->Mg, .c_rs = p->M, .c_cs = 1,
                        .bias = b ? b + g * d->Mg : NULL, .acc = false,
                        .clamp = p->clamp, .lo = p->lo, .hi = p->hi};
    if (packed) a.b_packed = packed + (size_t)g * pw_group_bytes(d);
    cz_k_gemm(&a, ws->gw, true);
  }
}

/* wr[g][(kh*KW + kw)*Cg + c][m]: B of the im2col GEMM, row-major. */
static void pack_im2col(const cz_k_conv *p, const dims_t *d, const float *w, float *wr) {
  for (int64_t g = 0; g < p->group; g++)
    for (int64_t m = 0; m < d->Mg; m++)
      for (int64_t c = 0; c < d->Cg; c++)
        for (int64_t t = 0; t < d->KK; t++)
          wr[(g * d->KCg + t * d->Cg + c) * d->Mg + m] = w[((g * d->Mg + m) * d->Cg + c) * d->KK + t];
}

/* One tile of output pixels, in the participant's scratch block. */
static void im2col_fwd_job(void *cv, int64_t t, int slot) {
  const kjob *c = cv;
  const cz_k_conv *p = c->p;
  const dims_t *d = c->d;
  float *col = c->ws->slots + (size_t)slot * c->ws->slot_floats;
  float *gw = col + tile_floats(d);
  int64_t p0 = t * d->TP, tp = min64(d->TP, d->P - p0);
  for (int64_t g = 0; g < p->group; g++) {
    im2col(p, d, c->x, g, p0, tp, col);
    cz_k_gemm_args a = {.M = tp, .N = d->Mg, .K = d->KCg,
                        .a = col, .a_rs = d->KCg, .a_cs = 1,
                        .b = c->wr + g * d->KCg * d->Mg, .b_rs = d->Mg, .b_cs = 1,
                        .alpha = 1.0f, .c = c->y + p0 * p->M + g * d->Mg, .c_rs = p->M,
                        .c_cs = 1, .bias = c->b ? c->b + g * d->Mg : NULL, .acc = false,
                        .clamp = p->clamp, .lo = p->lo, .hi = p->hi};
    cz_k_gemm(&a, gw, false);
  }
}

static void forward_im2col(const cz_k_conv *p, const dims_t *d, const float *x, const float *w,
                           const float *b, float *y, const ws_t *ws, const float *packed) {
  const float *wr = packed;
  if (!wr) pack_im2col(p, d, w, ws->wr), wr = ws->wr;
  kjob kj = {.p = p, .d = d, .ws = ws, .x = x, .wr = wr, .b = b, .y = y};
  cz_pool_run(d->ntiles, cz_k_threads(d->ntiles), im2col_fwd_job, &kj);
}

/* ---- weights packed once (inference) ----
 * A header naming the instruction set and path the packing was made for,
 * then at PK_HDR bytes: depthwise wr (pack_dw), pointwise one packed GEMM
 * B per group, direct the direct kernel's panels, im2col wr
 * (pack_im2col). A packing made for another instruction set is ignored. */
#define PK_HDR 64
typedef struct {
  int32_t isa, path;
} pk_hdr;

static size_t pw_group_bytes(const dims_t *d) {
  return (cz_k_gemm_packed_bytes(d->Cg, d->Mg) + 63) & ~(size_t)63;
}

size_t cz_k_conv_packed_bytes(const cz_k_conv *p) {
  dims_t d = dims_of(p);
  size_t body = 0;
  switch (cz_k_conv_path_of(p)) {
    case CZ_K_CONV_DEPTHWISE: body = (size_t)(d.KK * p->C) * sizeof(float); break;
    case CZ_K_CONV_POINTWISE: body = (size_t)p->group * pw_group_bytes(&d); break;
    case CZ_K_CONV_IM2COL:
      body = (cz_k_direct_ok(p) ? cz_k_direct_packed_floats(p) : (size_t)(p->M * d.KCg)) *
             sizeof(float);
      break;
  }
  return PK_HDR + body;
}

void cz_k_conv_pack(const cz_k_conv *p, const float *w, void *packed) {
  dims_t d = dims_of(p);
  cz_k_conv_path path = cz_k_conv_path_of(p);
  *(pk_hdr *)packed = (pk_hdr){.isa = (int32_t)cz_k_isa(), .path = (int32_t)path};
  char *body = (char *)packed + PK_HDR;
  switch (path) {
    case CZ_K_CONV_DEPTHWISE: pack_dw(p, w, (float *)body, false); break;
    case CZ_K_CONV_POINTWISE:
      for (int64_t g = 0; g < p->group; g++) {
        cz_k_gemm_args a = {.M = d.P, .N = d.Mg, .K = d.Cg, .b = w + g * d.Mg * d.Cg,
                            .b_rs = 1, .b_cs = d.Cg, .alpha = 1.0f};
        cz_k_gemm_pack_b(&a, body + (size_t)g * pw_group_bytes(&d));
      }
      break;
    case CZ_K_CONV_IM2COL:
      if (cz_k_direct_ok(p))
        cz_k_direct_pack(p, w, (float *)body);
      else
        pack_im2col(p, &d, w, (float *)body);
      break;
  }
}

void cz_k_conv_forward_packed(const cz_k_conv *p, const float *x, const float *w, const float *b,
                              float *y, void *work, const void *packed) {
  ws_t ws;
  layout(p, false, work, &ws);
  dims_t d = dims_of(p);
  cz_k_conv_path path = cz_k_conv_path_of(p);
  const pk_hdr *h = packed;
  const char *body = NULL;
  if (h && h->isa == (int32_t)cz_k_isa() && h->path == (int32_t)path)
    body = (const char *)packed + PK_HDR;
  switch (path) {
    case CZ_K_CONV_DEPTHWISE: forward_dw(p, x, w, b, y, &ws, (const float *)body); break;
    case CZ_K_CONV_POINTWISE: forward_pw(p, &d, x, w, b, y, &ws, body); break;
    case CZ_K_CONV_IM2COL:
      if (cz_k_direct_ok(p))
        cz_k_direct_forward(p, x, w, b, y, ws.slots, (const float *)body);
      else
        forward_im2col(p, &d, x, w, b, y, &ws, (const float *)body);
      break;
  }
}

void cz_k_conv_forward(const cz_k_conv *p, const float *x, const float *w, const float *b,
                       float *y, void *work) {
  cz_k_conv_forward_packed(p, x, w, b, y, work, NULL);
}

/* ---- backward ---- */

/* Bias-gradient slice s: its pixels' dy summed into its own partial. */
static void bias_job(void *cv, int64_t s, int slot) {
  (void)slot;
  const kjob *c = cv;
  int64_t S = c->S, M = c->p->M, P = c->d->P;
  float *part = c->ws->bpart + s * M;
  for (int64_t m = 0; m < M; m++) part[m] = 0.0f;
  for (int64_t q = s * P / S; q < (s + 1) * P / S; q++)
    for (int64_t m = 0; m < M; m++) part[m] += c->dy[q * M + m];
}

/* db = sum over pixels of dy, as bslices partial sums added in order. */
static void bias_grad(const cz_k_conv *p, const dims_t *d, const float *dy, float *db, bool acc,
                      const ws_t *ws) {
  int64_t S = ws->bslices, M = p->M;
  kjob kj = {.p = p, .d = d, .ws = ws, .dy = dy, .S = S};
  cz_pool_run(S, cz_k_threads(S), bias_job, &kj);
  for (int64_t m = 0; m < M; m++) {
    float v = ws->bpart[m];
    for (int64_t s = 1; s < S; s++) v += ws->bpart[s * M + m];
    db[m] = acc ? db[m] + v : v;
  }
}

/* Stride-1 depthwise dx: a chunk of rows of the flipped forward. */
static void dw_dx1_job(void *cv, int64_t j, int slot) {
  (void)slot;
  const kjob *c = cv;
  int64_t r = j * DW_ROWS, re = min64(c->rows, r + DW_ROWS);
  cz_k_dw_fwd_rows(c->q, c->dy, c->wr, NULL, c->gr->dx, c->gr->dx_acc, r, re);
}

/* Strided depthwise dx: one image (no two jobs touch the same dx). */
static void dw_dx_scatter_job(void *cv, int64_t n, int slot) {
  (void)slot;
  const kjob *c = cv;
  const cz_k_conv *p = c->p;
  int64_t img = p->H * p->W * p->C;
  if (!c->gr->dx_acc) memset(c->gr->dx + n * img, 0, (size_t)img * sizeof(float));
  cz_k_dw_dx_scatter(p, c->dy, c->wr, c->gr->dx, n);
}

/* Depthwise weight (and bias) gradient slice s into its own partials. */
static void dw_dw_job(void *cv, int64_t s, int slot) {
  (void)slot;
  const kjob *c = cv;
  int64_t S = c->S, C = c->p->C, KK = c->d->KK;
  float *pw = c->ws->wpart + s * KK * C, *pb = c->ws->bpart + s * C;
  memset(pw, 0, (size_t)(KK * C) * sizeof(float));
  memset(pb, 0, (size_t)C * sizeof(float));
  cz_k_dw_dw_rows(c->p, c->x, c->dy, pw, c->gr->db ? pb : NULL, s * c->rows / S,
                  (s + 1) * c->rows / S);
}

static void backward_dw(const cz_k_conv *p, const dims_t *d, const float *x, const float *w,
                        const float *dy, const cz_k_conv_grads *gr, const ws_t *ws) {
  if (gr->dx) {
    if (p->sh == 1 && p->sw == 1) {
      /* Stride 1: dx is the forward convolution of dy with the kernel
       * flipped and the complementary padding, gathered row by row. */
      cz_k_conv q = *p;
      q.H = p->Ho, q.W = p->Wo, q.Ho = p->H, q.Wo = p->W;
      q.pt = (p->kh - 1) * p->dh - p->pt;
      q.pl = (p->kw - 1) * p->dw - p->pl;
      pack_dw(p, w, ws->wr, true);
      int64_t rows = p->N * p->H, chunks = cdiv(rows, DW_ROWS);
      kjob kj = {.q = &q, .dy = dy, .wr = ws->wr, .gr = gr, .rows = rows};
      cz_pool_run(chunks, cz_k_threads(chunks), dw_dx1_job, &kj);
    } else {
      /* Strided: scatter, one image per thread so no two threads touch
       * the same dx element. */
      pack_dw(p, w, ws->wr, false);
      kjob kj = {.p = p, .dy = dy, .wr = ws->wr, .gr = gr};
      cz_pool_run(p->N, cz_k_threads(p->N), dw_dx_scatter_job, &kj);
    }
  }
  if (!gr->dw && !gr->db) return;
  int64_t S = ws->wslices, C = p->C, KK = d->KK;
  kjob kj = {.p = p, .d = d, .ws = ws, .x = x, .dy = dy, .gr = gr, .rows = p->N * p->Ho, .S = S};
  cz_pool_run(S, cz_k_threads(S), dw_dw_job, &kj);
  if (gr->dw)
    for (int64_t c = 0; c < C; c++)
      for (int64_t t = 0; t < KK; t++) {
        float v = ws->wpart[t * C + c];
        for (int64_t s = 1; s < S; s++) v += ws->wpart[(s * KK + t) * C + c];
        float *o = gr->dw + c * KK + t;
        *o = gr->dw_acc ? *o + v : v;
      }
  if (gr->db)
    for (int64_t c = 0; c < C; c++) {
      float v = ws->bpart[c];
      for (int64_t s = 1; s < S; s++) v += ws->bpart[s * C + c];
      gr->db[c] = gr->db_acc ? gr->db[c] + v : v;
    }
}

static void backward_pw(const cz_k_conv *p, const dims_t *d, const float *x, const float *w,
                        const float *dy, const cz_k_conv_grads *gr, const ws_t *ws) {
  for (int64_t g = 0; g < p->group; g++) {
    if (gr->dx) {
      cz_k_gemm_args a = {.M = d->P, .N = d->Cg, .K = d->Mg,
                          .a = dy + g * d->Mg, .a_rs = p->M, .a_cs = 1,
                          .b = w + g * d->Mg * d->Cg, .b_rs = d->Cg, .b_cs = 1,
                          .alpha = 1.0f, .c = gr->dx + g * d->Cg, .c_rs = p->C, .c_cs = 1,
                          .acc = gr->dx_acc};
      cz_k_gemm(&a, ws->gw, true);
    }
    if (gr->dw) {
      cz_k_gemm_args a = {.M = d->Mg, .N = d->Cg, .K = d->P,
                          .a = dy + g * d->Mg, .a_rs = 1, .a_cs = p->M,
                          .b = x + g * d->Cg, .b_rs = p->C, .b_cs = 1,
                          .alpha = 1.0f, .c = gr->dw + g * d->Mg * d->Cg, .c_rs = d->Cg,
                          .c_cs = 1, .acc = gr->dw_acc};
      cz_k_gemm(&a, ws->gw, true);
    }
  }
  if (gr->db) bias_grad(p, d, dy, gr->db, gr->db_acc, ws);
}

/* dx of image n: dcol = dy * W per tile, added back by col2im. */
static void im2col_dx_job(void *cv, int64_t n, int slot) {
  const kjob *c = cv;
  const cz_k_conv *p = c->p;
  const dims_t *d = c->d;
  float *dx = c->gr->dx;
  float *dcol = c->ws->slots + (size_t)slot * c->ws->slot_floats;
  float *gw = dcol + tile_floats(d);
  int64_t HoWo = p->Ho * p->Wo, img = p->H * p->W * p->C;
  if (!c->gr->dx_acc) memset(dx + n * img, 0, (size_t)img * sizeof(float));
  for (int64_t q0 = 0; q0 < HoWo; q0 += d->TP) {
    int64_t p0 = n * HoWo + q0, tp = min64(d->TP, HoWo - q0);
    for (int64_t g = 0; g < p->group; g++) {
      cz_k_gemm_args a = {.M = tp, .N = d->KCg, .K = d->Mg,
                          .a = c->dy + p0 * p->M + g * d->Mg, .a_rs = p->M, .a_cs = 1,
                          .b = c->ws->wr + g * d->Mg * d->KCg, .b_rs = d->KCg, .b_cs = 1,
                          .alpha = 1.0f, .c = dcol, .c_rs = d->KCg, .c_cs = 1, .acc = false};
      cz_k_gemm(&a, gw, false);
      col2im_add(p, d, dcol, g, p0, tp, dx);
    }
  }
}

/* Weight-gradient slice s: the tiles [s*T/S, (s+1)*T/S) summed into its
 * own partial dW[g][m][(kh*KW + kw)*Cg + c] (scratch block s). */
static void im2col_dw_job(void *cv, int64_t s, int slot) {
  (void)slot;
  const kjob *c = cv;
  const cz_k_conv *p = c->p;
  const dims_t *d = c->d;
  int64_t S = c->S, T = c->T;
  float *col = c->ws->slots + (size_t)s * c->block, *gw = col + tile_floats(d);
  float *part = col + c->part_at;
  for (int64_t t = s * T / S; t < (s + 1) * T / S; t++) {
    int64_t p0 = t * d->TP, tp = min64(d->TP, d->P - p0);
    for (int64_t g = 0; g < p->group; g++) {
      im2col(p, d, c->x, g, p0, tp, col);
      cz_k_gemm_args a = {.M = d->Mg, .N = d->KCg, .K = tp,
                          .a = c->dy + p0 * p->M + g * d->Mg, .a_rs = 1, .a_cs = p->M,
                          .b = col, .b_rs = d->KCg, .b_cs = 1,
                          .alpha = 1.0f, .c = part + g * d->Mg * d->KCg, .c_rs = d->KCg,
                          .c_cs = 1, .acc = t != s * T / S};
      cz_k_gemm(&a, gw, false);
    }
  }
}

static void backward_im2col(const cz_k_conv *p, const dims_t *d, const float *x, const float *w,
                            const float *dy, const cz_k_conv_grads *gr, const ws_t *ws) {
  size_t tile = tile_floats(d);
  if (gr->dx) {
    /* wr[g][m][(kh*KW + kw)*Cg + c]: B of dcol = dy * W, row-major. */
    for (int64_t g = 0; g < p->group; g++)
      for (int64_t m = 0; m < d->Mg; m++)
        for (int64_t c = 0; c < d->Cg; c++)
          for (int64_t t = 0; t < d->KK; t++)
            ws->wr[(g * d->Mg + m) * d->KCg + t * d->Cg + c] =
                w[((g * d->Mg + m) * d->Cg + c) * d->KK + t];
    /* One image per job: col2im of different images never overlaps. */
    kjob kj = {.p = p, .d = d, .ws = ws, .dy = dy, .gr = gr};
    cz_pool_run(p->N, cz_k_threads(p->N), im2col_dx_job, &kj);
  }
  if (gr->dw && cz_k_direct_ok(p)) {
    cz_k_direct_dw(p, x, dy, gr->dw, gr->dw_acc, ws->slots);
  } else if (gr->dw) {
    /* Slice s sums the tiles [s*T/S, (s+1)*T/S) into its own partial
     * dW[g][m][(kh*KW + kw)*Cg + c]; the slices are then added in order. */
    int64_t S = ws->wslices, T = d->ntiles;
    size_t block = dw_block(p, d), part_at = tile + dw_gemm_floats(d);
    kjob kj = {.p = p, .d = d, .ws = ws, .x = x, .dy = dy, .S = S, .T = T, .block = block,
              .part_at = part_at};
    cz_pool_run(S, cz_k_threads(S), im2col_dw_job, &kj);
    for (int64_t o = 0; o < p->M; o++)
      for (int64_t c = 0; c < d->Cg; c++)
        for (int64_t t = 0; t < d->KK; t++) {
          int64_t e = o * d->KCg + t * d->Cg + c;
          float v = ws->slots[part_at + e];
          for (int64_t s = 1; s < S; s++) v += ws->slots[(size_t)s * block + part_at + e];
          float *out = gr->dw + (o * d->Cg + c) * d->KK + t;
          *out = gr->dw_acc ? *out + v : v;
        }
  }
  if (gr->db) bias_grad(p, d, dy, gr->db, gr->db_acc, ws);
}

void cz_k_conv_backward(const cz_k_conv *p, const float *x, const float *w, const float *dy,
                        const cz_k_conv_grads *gr, void *work) {
  ws_t ws;
  layout(p, true, work, &ws);
  dims_t d = dims_of(p);
  switch (cz_k_conv_path_of(p)) {
    case CZ_K_CONV_DEPTHWISE: backward_dw(p, &d, x, w, dy, gr, &ws); break;
    case CZ_K_CONV_POINTWISE: backward_pw(p, &d, x, w, dy, gr, &ws); break;
    case CZ_K_CONV_IM2COL: backward_im2col(p, &d, x, w, dy, gr, &ws); break;
  }
}
