/* Depthwise convolution kernels (group == C == M) on NHWC, vectorized over
 * channels; instantiated by k_dw.c once per instruction set (no include
 * guard on purpose). Before including, define KT, SFX(name), V, VL,
 * VZERO(), VLOADU(p), VSTOREU(p,v), VLOADN(p,n), VSTOREN(p,v,n) (first n
 * lanes), VFMA(a,b,c) (= a*b+c), VADD(a,b).
 * VMAX(a,b)/VMIN(a,b): a > b ? a : b / a < b ? a : b (b when either is
 * NaN), so VMIN(hi, VMAX(lo, s)) is Clip's formula: the forward applies a
 * fused activation (p->clamp) to each sum as it stores it.
 * Weights come repacked as wr[(kh*KW + kw)*C + c]. Every output element is
 * summed over the taps in (kh, kw) order, so results are the same however
 * rows are split between threads. */

KT static inline V SFX(ld)(const float *p, int nl) { return nl == VL ? VLOADU(p) : VLOADN(p, nl); }
KT static inline void SFX(st)(float *p, V v, int nl) {
  if (nl == VL)
    VSTOREU(p, v);
  else
    VSTOREN(p, v, nl);
}

/* Taps k in [lo, hi) with 0 <= o + k*d < n. */
static inline void SFX(tap_range)(int64_t o, int64_t d, int64_t K, int64_t n, int64_t *lo,
                                  int64_t *hi) {
  *lo = o >= 0 ? 0 : (-o + d - 1) / d;
  *hi = o > n - 1 ? 0 : (n - 1 - o) / d + 1;
  if (*hi > K) *hi = K;
  if (*lo > *hi) *lo = *hi;
}

/* y rows r in [r0, r1) (r = n*Ho + oh): y = (b + sum of taps) (+ y when acc). */
KT static void SFX(dw_fwd_rows)(const cz_k_conv *p, const float *restrict x,
                                const float *restrict wr, const float *restrict b,
                                float *restrict y, bool acc, int64_t r0, int64_t r1) {
  const int64_t C = p->C, H = p->H, W = p->W, Ho = p->Ho, Wo = p->Wo, KW = p->kw;
  for (int64_t r = r0; r < r1; r++) {
    int64_t n = r / Ho, oh = r % Ho, ih0 = oh * p->sh - p->pt;
    int64_t kh0, kh1;
    SFX(tap_range)(ih0, p->dh, p->kh, H, &kh0, &kh1);
    const float *xn = x + n * H * W * C;
    float *yr = y + r * Wo * C;
    for (int64_t ow = 0; ow < Wo; ow++) {
      int64_t iw0 = ow * p->sw - p->pl, kw0, kw1;
      SFX(tap_range)(iw0, p->dw, KW, W, &kw0, &kw1);
      for (int64_t c0 = 0; c0 < C; c0 += VL) {
        int nl = C - c0 < VL ? (int)(C - c0) : VL;
        V s = b ? SFX(ld)(b + c0, nl) : VZERO();
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const float *xr = xn + ((ih0 + kh * p->dh) * W + iw0) * C + c0;
          const float *wk = wr + kh * KW * C + c0;
          for (int64_t kw = kw0; kw < kw1; kw++)
            s = VFMA(SFX(ld)(xr + kw * p->dw * C, nl), SFX(ld)(wk + kw * C, nl), s);
        }
        float *yp = yr + ow * C + c0;
        if (acc) s = VADD(s, SFX(ld)(yp, nl));
        if (p->clamp) s = VMIN(VSET1(p->hi), VMAX(VSET1(p->lo), s));
        SFX(st)(yp, s, nl);
      }
    }
  }
}

/* dx of image n += every output pixel's taps, in output order. */
KT static void SFX(dw_dx_scatter)(const cz_k_conv *p, const float *restrict dy,
                                  const float *restrict wr, float *restrict dx, int64_t n) {
  const int64_t C = p->C, H = p->H, W = p->W, Ho = p->Ho, Wo = p->Wo, KW = p->kw;
  float *dxn = dx + n * H * W * C;
  for (int64_t oh = 0; oh < Ho; oh++) {
    int64_t ih0 = oh * p->sh - p->pt, kh0, kh1;
    SFX(tap_range)(ih0, p->dh, p->kh, H, &kh0, &kh1);
    for (int64_t ow = 0; ow < Wo; ow++) {
      int64_t iw0 = ow * p->sw - p->pl, kw0, kw1;
      SFX(tap_range)(iw0, p->dw, KW, W, &kw0, &kw1);
      const float *g = dy + ((n * Ho + oh) * Wo + ow) * C;
      for (int64_t c0 = 0; c0 < C; c0 += VL) {
        int nl = C - c0 < VL ? (int)(C - c0) : VL;
        V gv = SFX(ld)(g + c0, nl);
        for (int64_t kh = kh0; kh < kh1; kh++) {
          float *xr = dxn + ((ih0 + kh * p->dh) * W + iw0) * C + c0;
          const float *wk = wr + kh * KW * C + c0;
          for (int64_t kw = kw0; kw < kw1; kw++) {
            float *d = xr + kw * p->dw * C;
            SFX(st)(d, VFMA(gv, SFX(ld)(wk + kw * C, nl), SFX(ld)(d, nl)), nl);
          }
        }
      }
    }
  }
}

/* Partial sums over rows [r0, r1): pw[(kh*KW+kw)*C + c] += dy * x and, when
 * pb != NULL, pb[c] += dy. */
KT static void SFX(dw_dw_rows)(const cz_k_conv *p, const float *restrict x,
                               const float *restrict dy, float *restrict pw,
                               float *restrict pb, int64_t r0, int64_t r1) {
  const int64_t C = p->C, H = p->H, W = p->W, Ho = p->Ho, Wo = p->Wo, KW = p->kw;
  for (int64_t r = r0; r < r1; r++) {
    int64_t n = r / Ho, oh = r % Ho, ih0 = oh * p->sh - p->pt;
    int64_t kh0, kh1;
    SFX(tap_range)(ih0, p->dh, p->kh, H, &kh0, &kh1);
    const float *xn = x + n * H * W * C;
    for (int64_t ow = 0; ow < Wo; ow++) {
      int64_t iw0 = ow * p->sw - p->pl, kw0, kw1;
      SFX(tap_range)(iw0, p->dw, KW, W, &kw0, &kw1);
      const float *g = dy + (r * Wo + ow) * C;
      for (int64_t c0 = 0; c0 < C; c0 += VL) {
        int nl = C - c0 < VL ? (int)(C - c0) : VL;
        V gv = SFX(ld)(g + c0, nl);
        if (pb) SFX(st)(pb + c0, VADD(SFX(ld)(pb + c0, nl), gv), nl);
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const float *xr = xn + ((ih0 + kh * p->dh) * W + iw0) * C + c0;
          float *pk = pw + kh * KW * C + c0;
          for (int64_t kw = kw0; kw < kw1; kw++) {
            float *d = pk + kw * C;
            SFX(st)(d, VFMA(gv, SFX(ld)(xr + kw * p->dw * C, nl), SFX(ld)(d, nl)), nl);
          }
        }
      }
    }
  }
}

/* ---- 3x3 kernels: the nine weights (or weight-gradient sums) of a
 * channel block stay in registers. The taps of every element are added in
 * the same (kh, kw) order as above, so results match the general kernels
 * bit for bit. ---- */

/* Output columns [lo, hi) whose three taps all lie inside the row. */
static inline void SFX(inner_cols)(const cz_k_conv *p, int64_t *lo, int64_t *hi) {
  int64_t last = p->W - 1 - 2 * p->dw + p->pl; /* largest valid ow*sw */
  *lo = (p->pl + p->sw - 1) / p->sw;
  *hi = last < 0 ? 0 : last / p->sw + 1;
  if (*lo > p->Wo) *lo = p->Wo;
  if (*hi > p->Wo) *hi = p->Wo;
  if (*hi < *lo) *hi = *lo;
}

/* One kernel row (kh) of four adjacent output columns at stride SW (1 or
 * 2, a constant once inlined), no dilation: the 3*SW + 3 input pixels
 * under them loaded once each, walking one pointer (where separate
 * offsets per column and tap run out of registers), each added to the
 * columns it is a tap of. Every column still adds its taps in kw order. */
KT static inline __attribute__((always_inline)) void SFX(dw3_quad_row)(
    const float *restrict q, int64_t C, int SW, const V *wk, V s[4], int nl) {
#pragma GCC unroll 12
  for (int t = 0; t < 3 * SW + 3; t++, q += C) {
    V v = SFX(ld)(q, nl);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      int kw = t - j * SW;
      if (kw >= 0 && kw <= 2) s[j] = VFMA(v, wk[kw], s[j]);
    }
  }
}

/* Rows [r0, r1) of one channel block (c0, nl lanes) of the 3x3 forward;
 * inlined with nl == VL for whole blocks, so the loads need no masks. */
KT static inline __attribute__((always_inline)) void SFX(dw3_fwd_block)(
    const cz_k_conv *p, const float *restrict x, const float *restrict wr,
    const float *restrict b, float *restrict y, bool acc, int64_t r0, int64_t r1, int64_t c0,
    int nl, int64_t lo, int64_t hi) {
  const int64_t C = p->C, H = p->H, W = p->W, Ho = p->Ho, Wo = p->Wo;
  const int64_t dwC = p->dw * C, swC = p->sw * C;
  V wv[9];
#pragma GCC unroll 9
  for (int t = 0; t < 9; t++) wv[t] = SFX(ld)(wr + t * C + c0, nl);
  V bv = b ? SFX(ld)(b + c0, nl) : VZERO();
  const bool clamp = p->clamp;
  const V lov = VSET1(p->lo), hiv = VSET1(p->hi);
  /* Stride 1 or 2 without dilation: the four-column path walks pixels. */
  const int step = p->dw == 1 && (p->sw == 1 || p->sw == 2) ? (int)p->sw : 0;
  for (int64_t r = r0; r < r1; r++) {
    int64_t n = r / Ho, oh = r % Ho, ih0 = oh * p->sh - p->pt;
    bool rv[3];
    const float *xr[3];
    for (int kh = 0; kh < 3; kh++) {
      int64_t ih = ih0 + kh * p->dh;
      rv[kh] = ih >= 0 && ih < H;
      xr[kh] = rv[kh] ? x + (n * H + ih) * W * C + c0 : x;
    }
    float *yr = y + r * Wo * C + c0;
    int64_t ow = 0;
    /* Columns at the borders: only the taps inside. */
#define BORDER_PIXEL()                                                        \
  do {                                                                        \
    int64_t iw0 = ow * p->sw - p->pl;                                         \
    V s = bv;                                                                 \
    for (int kh = 0; kh < 3; kh++) {                                          \
      if (!rv[kh]) continue;                                                  \
      for (int kw = 0; kw < 3; kw++) {                                        \
        int64_t iw = iw0 + kw * p->dw;                                        \
        if (iw < 0 || iw >= W) continue;                                      \
        s = VFMA(SFX(ld)(xr[kh] + iw * C, nl), wv[kh * 3 + kw], s);           \
      }                                                                       \
    }                                                                         \
    float *yp = yr + ow * C;                                                  \
    if (acc) s = VADD(s, SFX(ld)(yp, nl));                                    \
    if (clamp) s = VMIN(hiv, VMAX(lov, s));                                   \
    SFX(st)(yp, s, nl);                                                       \
  } while (0)
    for (; ow < lo; ow++) BORDER_PIXEL();
    /* Inner columns, four at a time: four independent sums. */
    for (; ow + 4 <= hi; ow += 4) {
      int64_t i0 = (ow * p->sw - p->pl) * C;
      V s[4] = {bv, bv, bv, bv};
#pragma GCC unroll 3
      for (int kh = 0; kh < 3; kh++) {
        if (!rv[kh]) continue;
        const float *q = xr[kh] + i0;
        if (step == 1) {
          SFX(dw3_quad_row)(q, C, 1, wv + kh * 3, s, nl);
          continue;
        }
        if (step == 2) {
          SFX(dw3_quad_row)(q, C, 2, wv + kh * 3, s, nl);
          continue;
        }
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
          s[j] = VFMA(SFX(ld)(q + j * swC, nl), wv[kh * 3], s[j]);
          s[j] = VFMA(SFX(ld)(q + j * swC + dwC, nl), wv[kh * 3 + 1], s[j]);
          s[j] = VFMA(SFX(ld)(q + j * swC + 2 * dwC, nl), wv[kh * 3 + 2], s[j]);
        }
      }
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        float *yp = yr + (ow + j) * C;
        if (acc) s[j] = VADD(s[j], SFX(ld)(yp, nl));
        if (clamp) s[j] = VMIN(hiv, VMAX(lov, s[j]));
        SFX(st)(yp, s[j], nl);
      }
    }
    /* Inner columns left over (all of them in a layer 4 to 7 wide): the
     * nine taps unrolled, no bounds checks; the same order as above. */
    for (; ow < hi; ow++) {
      const int64_t i0 = (ow * p->sw - p->pl) * C;
      V s = bv;
#pragma GCC unroll 3
      for (int kh = 0; kh < 3; kh++) {
        if (!rv[kh]) continue;
        const float *q = xr[kh] + i0;
        s = VFMA(SFX(ld)(q, nl), wv[kh * 3], s);
        s = VFMA(SFX(ld)(q + dwC, nl), wv[kh * 3 + 1], s);
        s = VFMA(SFX(ld)(q + 2 * dwC, nl), wv[kh * 3 + 2], s);
      }
      float *yp = yr + ow * C;
      if (acc) s = VADD(s, SFX(ld)(yp, nl));
      if (clamp) s = VMIN(hiv, VMAX(lov, s));
      SFX(st)(yp, s, nl);
    }
    for (; ow < Wo; ow++) BORDER_PIXEL();
#undef BORDER_PIXEL
  }
}

/* Rows of cache-sized batches, channel blocks outside the rows of a batch,
 * so the nine weight vectors are loaded once per batch. */
static inline int64_t SFX(row_batch)(const cz_k_conv *p) {
  int64_t batch = 16384 / (p->W * p->C * p->sh > 0 ? p->W * p->C * p->sh : 1);
  return batch < 1 ? 1 : batch;
}

KT static void SFX(dw3_fwd_rows)(const cz_k_conv *p, const float *restrict x,
                                 const float *restrict wr, const float *restrict b,
                                 float *restrict y, bool acc, int64_t r0, int64_t r1) {
  int64_t lo, hi, batch = SFX(row_batch)(p);
  SFX(inner_cols)(p, &lo, &hi);
  for (int64_t rb = r0; rb < r1; rb += batch) {
    int64_t re = rb + batch < r1 ? rb + batch : r1;
    int64_t c0 = 0;
    for (; c0 + VL <= p->C; c0 += VL) SFX(dw3_fwd_block)(p, x, wr, b, y, acc, rb, re, c0, VL, lo, hi);
    if (c0 < p->C) SFX(dw3_fwd_block)(p, x, wr, b, y, acc, rb, re, c0, (int)(p->C - c0), lo, hi);
  }
}

KT static void SFX(dw3_dw_rows)(const cz_k_conv *p, const float *restrict x,
                                const float *restrict dy, float *restrict pw,
                                float *restrict pb, int64_t r0, int64_t r1) {
  const int64_t C = p->C, H = p->H, W = p->W, Ho = p->Ho, Wo = p->Wo;
  int64_t lo, hi;
  SFX(inner_cols)(p, &lo, &hi);
  /* Channel blocks outside a batch of rows whose data stays in cache: the
   * sums stay in registers across the batch. Each element still adds its
   * pixels in row order, then column order. */
  int64_t batch = 16384 / (Wo * C * p->sh);
  if (batch < 1) batch = 1;
  for (int64_t rb = r0; rb < r1; rb += batch) {
    int64_t re = rb + batch < r1 ? rb + batch : r1;
    for (int64_t c0 = 0; c0 < C; c0 += VL) {
      int nl = C - c0 < VL ? (int)(C - c0) : VL;
      V a[9];
#pragma GCC unroll 9
      for (int t = 0; t < 9; t++) a[t] = SFX(ld)(pw + t * C + c0, nl);
      V ab = pb ? SFX(ld)(pb + c0, nl) : VZERO();
      for (int64_t r = rb; r < re; r++) {
        int64_t n = r / Ho, oh = r % Ho, ih0 = oh * p->sh - p->pt;
        bool rv[3];
        const float *xr[3];
        for (int kh = 0; kh < 3; kh++) {
          int64_t ih = ih0 + kh * p->dh;
          rv[kh] = ih >= 0 && ih < H;
          xr[kh] = rv[kh] ? x + (n * H + ih) * W * C + c0 : x;
        }
        const float *g = dy + r * Wo * C + c0;
        for (int64_t ow = 0; ow < Wo; ow++) {
          int64_t iw0 = ow * p->sw - p->pl;
          bool inner = ow >= lo && ow < hi;
          V gv = SFX(ld)(g + ow * C, nl);
          ab = VADD(ab, gv);
#pragma GCC unroll 3
          for (int kh = 0; kh < 3; kh++) {
            if (!rv[kh]) continue;
#pragma GCC unroll 3
            for (int kw = 0; kw < 3; kw++) {
              int64_t iw = iw0 + kw * p->dw;
              if (!inner && (iw < 0 || iw >= W)) continue;
              a[kh * 3 + kw] = VFMA(gv, SFX(ld)(xr[kh] + iw * C, nl), a[kh * 3 + kw]);
            }
          }
        }
      }
#pragma GCC unroll 9
      for (int t = 0; t < 9; t++) SFX(st)(pw + t * C + c0, a[t], nl);
      if (pb) SFX(st)(pb + c0, ab, nl);
    }
  }
}
