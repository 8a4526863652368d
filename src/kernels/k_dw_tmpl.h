/* Depthwise convolution kernels (group == C == M) on NHWC, vectorized over
 * channels; instantiated by k_dw.c once per instruction set (no include
 * guard on purpose). Before including, define KT, SFX(name), V, VL,
 * VZERO(), VLOADU(p), VSTOREU(p,v), VLOADN(p,n), VSTOREN(p,v,n) (first n
 * lanes), VFMA(a,b,c) (= a*b+c), VADD(a,b).
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
