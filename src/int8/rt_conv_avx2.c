/* AVX2 int8 convolution: a GEMM over output pixels (1x1 read in place,
 * other kernels gathered per pixel) with weights packed as int16 pairs for
 * vpmaddwd, and a depthwise kernel vectorized over channels that pairs taps
 * for vpmaddwd. Exact integer
 * sums and rt_avx2_requant make every output equal to rt_conv_ref's. */
#include <string.h>

#include "int8/rt_avx2.h"
#include "int8/rt_fast_priv.h"
#include "int8/rt_requant.h"

#if CZ_K_X86

/* dst[i] = src[i] for i < n, int8 widened to int16; reads and writes
 * nothing past n. */
CZ_K_TARGET_AVX2 static inline void widen(const int8_t *src, int16_t *dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(dst + i),
                        _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src + i))));
  if (i + 8 <= n) {
    _mm_storeu_si128((__m128i *)(dst + i),
                     _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(src + i))));
    i += 8;
  }
  for (; i < n; i++) dst[i] = src[i];
}

/* One output pixel's reduction vector, widened to int16 (padding taps hold
 * the input zero point, the odd tail a 0 that meets a 0 weight). A row of
 * kernel taps inside the map is one contiguous run of kw * c inputs. */
CZ_K_TARGET_AVX2 static void gather_row(const rt_conv_fast *f, const int8_t *x, int b, int oy,
                                        int ox, int16_t *dst) {
  const rt_conv_p *p = &f->p;
  const int8_t *xb = x + (long)b * p->h * p->w * p->c;
  if (!f->im2col) {
    widen(xb + ((long)oy * p->w + ox) * p->c, dst, p->c);
  } else {
    int16_t *d = dst;
    const int ix0 = ox * p->sw - p->pad_l, ixl = ix0 + (p->kw - 1) * p->dw;
    const int run = p->dw == 1 && ix0 >= 0 && ixl < p->w;
    for (int ky = 0; ky < p->kh; ky++) {
      const int iy = oy * p->sh - p->pad_t + ky * p->dh;
      const int8_t *xr = xb + (long)iy * p->w * p->c;
      if (run && iy >= 0 && iy < p->h) {
        widen(xr + (long)ix0 * p->c, d, p->kw * p->c);
        d += p->kw * p->c;
        continue;
      }
      for (int kx = 0; kx < p->kw; kx++, d += p->c) {
        const int ix = ix0 + kx * p->dw;
        if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
          for (int i = 0; i < p->c; i++) d[i] = (int16_t)p->in_zp;
        } else {
          widen(xr + (long)ix * p->c, d, p->c);
        }
      }
    }
  }
  if (f->kpad > f->k) dst[f->k] = 0;
}

/* The requantization's per-call constants. */
typedef struct {
  __m256i lo16, hi16; /* act_min, act_max as 16 int16 */
} rq_clamp;

/* Requantizes 16 accumulators of channels c0.. and stores the ones below
 * oc. */
CZ_K_TARGET_AVX2 static inline void store16(const rt_conv_fast *f, const rq_clamp *k, int c0,
                                            __m256i a0, __m256i a1, int8_t *dst) {
  const rt_conv_p *p = &f->p;
  const int nvalid = p->oc - c0 < 16 ? p->oc - c0 : 16;
  a0 = _mm256_add_epi32(a0, _mm256_loadu_si256((const __m256i *)(f->bias_eff + c0)));
  a1 = _mm256_add_epi32(a1, _mm256_loadu_si256((const __m256i *)(f->bias_eff + c0 + 8)));
  int8_t tmp[16];
  if (f->vec_rq) {
    const __m256i r0 = rt_avx2_requant_k(a0, f->mult_c + c0, f->rq64 + 2 * c0, f->rq_sub + c0);
    const __m256i r1 =
        rt_avx2_requant_k(a1, f->mult_c + c0 + 8, f->rq64 + 2 * c0 + 16, f->rq_sub + c0 + 8);
    const __m128i v = rt_avx2_narrow_zp(r0, r1, k->lo16, k->hi16);
    if (nvalid == 16) {
      _mm_storeu_si128((__m128i *)dst, v);
      return;
    }
    _mm_storeu_si128((__m128i *)tmp, v);
  } else {
    int32_t acc[16];
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 8), a1);
    for (int i = 0; i < nvalid; i++)
      tmp[i] = rt_requant_out(acc[i], f->mult_c[c0 + i], -f->right_c[c0 + i], p->rq.out_zp,
                              p->rq.act_min, p->rq.act_max);
  }
  memcpy(dst, tmp, (size_t)nvalid);
}

/* The same for a last block of at most 8 channels (a0 holds them). */
CZ_K_TARGET_AVX2 static inline void store8(const rt_conv_fast *f, const rq_clamp *k, int c0,
                                           __m256i a0, int8_t *dst) {
  const rt_conv_p *p = &f->p;
  const int nvalid = p->oc - c0;
  a0 = _mm256_add_epi32(a0, _mm256_loadu_si256((const __m256i *)(f->bias_eff + c0)));
  int8_t tmp[16];
  if (f->vec_rq) {
    const __m256i r0 = rt_avx2_requant_k(a0, f->mult_c + c0, f->rq64 + 2 * c0, f->rq_sub + c0);
    _mm_storeu_si128((__m128i *)tmp, rt_avx2_narrow_zp(r0, r0, k->lo16, k->hi16));
  } else {
    int32_t acc[8];
    _mm256_storeu_si256((__m256i *)acc, a0);
    for (int i = 0; i < nvalid; i++)
      tmp[i] = rt_requant_out(acc[i], f->mult_c[c0 + i], -f->right_c[c0 + i], p->rq.out_zp,
                              p->rq.act_min, p->rq.act_max);
  }
  memcpy(dst, tmp, (size_t)nvalid);
}

/* RT_MR (4) pixels against a last block of at most 8 output channels:
 * half the multiplies of a full block (the packing's upper 8 lanes are
 * zero weights). */
CZ_K_TARGET_AVX2 static void gemm_tile8(const rt_conv_fast *f, const rq_clamp *kq,
                                        const int16_t *a16, int mr, int8_t *const *yrow, int j) {
  const int kp = f->kpad / 2;
  const int16_t *r0 = a16, *r1 = a16 + f->kpad, *r2 = a16 + 2 * f->kpad, *r3 = a16 + 3 * f->kpad;
  const int16_t *wp = f->wpack + (size_t)j * kp * 32;
  __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
#pragma GCC unroll 2
  for (int k = 0; k < kp; k++) {
    const __m256i w0 = _mm256_loadu_si256((const __m256i *)(wp + k * 32));
    int32_t v;
    memcpy(&v, r0 + 2 * k, 4);
    c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(_mm256_set1_epi32(v), w0));
    memcpy(&v, r1 + 2 * k, 4);
    c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(_mm256_set1_epi32(v), w0));
    memcpy(&v, r2 + 2 * k, 4);
    c2 = _mm256_add_epi32(c2, _mm256_madd_epi16(_mm256_set1_epi32(v), w0));
    memcpy(&v, r3 + 2 * k, 4);
    c3 = _mm256_add_epi32(c3, _mm256_madd_epi16(_mm256_set1_epi32(v), w0));
  }
  store8(f, kq, j * 16, c0, yrow[0] + j * 16);
  if (mr > 1) store8(f, kq, j * 16, c1, yrow[1] + j * 16);
  if (mr > 2) store8(f, kq, j * 16, c2, yrow[2] + j * 16);
  if (mr > 3) store8(f, kq, j * 16, c3, yrow[3] + j * 16);
}

/* RT_MR (4) pixels against every block of 16 output channels. */
CZ_K_TARGET_AVX2 static void gemm_tile(const rt_conv_fast *f, const rq_clamp *kq,
                                       const int16_t *a16, int mr, int8_t *const *yrow, int j0,
                                       int j1) {
  const int kp = f->kpad / 2;
  const int16_t *r0 = a16, *r1 = a16 + f->kpad, *r2 = a16 + 2 * f->kpad, *r3 = a16 + 3 * f->kpad;
  for (int j = j0; j < j1; j++) {
    if (f->p.oc - j * 16 <= 8) {
      gemm_tile8(f, kq, a16, mr, yrow, j);
      continue;
    }
    const int16_t *wp = f->wpack + (size_t)j * kp * 32;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
#pragma GCC unroll 2
    for (int k = 0; k < kp; k++) {
      const __m256i w0 = _mm256_loadu_si256((const __m256i *)(wp + k * 32));
      const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wp + k * 32 + 16));
      int32_t v;
      memcpy(&v, r0 + 2 * k, 4);
      __m256i a = _mm256_set1_epi32(v);
      c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(a, w0));
      c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(a, w1));
      memcpy(&v, r1 + 2 * k, 4);
      a = _mm256_set1_epi32(v);
      c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(a, w0));
      c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(a, w1));
      memcpy(&v, r2 + 2 * k, 4);
      a = _mm256_set1_epi32(v);
      c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(a, w0));
      c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(a, w1));
      memcpy(&v, r3 + 2 * k, 4);
      a = _mm256_set1_epi32(v);
      c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(a, w0));
      c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(a, w1));
    }
    store16(f, kq, j * 16, c00, c01, yrow[0] + j * 16);
    if (mr > 1) store16(f, kq, j * 16, c10, c11, yrow[1] + j * 16);
    if (mr > 2) store16(f, kq, j * 16, c20, c21, yrow[2] + j * 16);
    if (mr > 3) store16(f, kq, j * 16, c30, c31, yrow[3] + j * 16);
  }
}

/* One row (a fully connected layer of one image) against channel blocks
 * [j0, j1) from the int8 weight copy: the weights are read once per row
 * either way, and int8 halves the bytes. */
CZ_K_TARGET_AVX2 static void gemv_row(const rt_conv_fast *f, const rq_clamp *kq, const int16_t *a16,
                                      int8_t *yrow, int j0, int j1) {
  const int kp = f->kpad / 2;
  for (int j = j0; j < j1; j++) {
    const int8_t *wp = f->wpack8 + (size_t)j * kp * 32;
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, d0 = c0, d1 = c0;
    int k = 0;
    for (; k + 2 <= kp; k += 2) { /* two independent chains */
      int32_t v;
      memcpy(&v, a16 + 2 * k, 4);
      __m256i a = _mm256_set1_epi32(v);
      c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(a, _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                                          (const __m128i *)(wp + k * 32)))));
      c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(a, _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                                          (const __m128i *)(wp + k * 32 + 16)))));
      memcpy(&v, a16 + 2 * k + 2, 4);
      a = _mm256_set1_epi32(v);
      d0 = _mm256_add_epi32(d0, _mm256_madd_epi16(a, _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                                          (const __m128i *)(wp + k * 32 + 32)))));
      d1 = _mm256_add_epi32(d1, _mm256_madd_epi16(a, _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                                          (const __m128i *)(wp + k * 32 + 48)))));
    }
    for (; k < kp; k++) {
      int32_t v;
      memcpy(&v, a16 + 2 * k, 4);
      const __m256i a = _mm256_set1_epi32(v);
      c0 = _mm256_add_epi32(c0, _mm256_madd_epi16(a, _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                                          (const __m128i *)(wp + k * 32)))));
      c1 = _mm256_add_epi32(c1, _mm256_madd_epi16(a, _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                                          (const __m128i *)(wp + k * 32 + 16)))));
    }
    store16(f, kq, j * 16, _mm256_add_epi32(c0, d0), _mm256_add_epi32(c1, d1), yrow + j * 16);
  }
}

CZ_K_TARGET_AVX2 void rt_conv_gemm_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0,
                                        int r1, int j0, int j1, void *scratch) {
  const rt_conv_p *p = &f->p;
  const rq_clamp kq = {_mm256_set1_epi16((int16_t)p->rq.act_min),
                       _mm256_set1_epi16((int16_t)p->rq.act_max)};
  int16_t *a16 = (int16_t *)scratch;
  /* Unused rows of a last, short tile are zeros: computed, never stored. */
  memset(a16, 0, (size_t)RT_MR * (size_t)f->kpad * sizeof(int16_t));
  /* Tiles run across row boundaries, so a 1x1 map (a Gemm) still fills them. */
  const long total = (long)(r1 - r0) * p->ow, pix0 = (long)r0 * p->ow;
  /* A plain 1x1 over an even channel count: a tile's pixels are one
   * contiguous run in the input and in the panel. */
  const int flat = !f->im2col && f->kpad == p->c;
  int b = r0 / p->oh, oy = r0 % p->oh, ox = 0; /* the next pixel to gather */
  for (long t = 0; t < total; t += RT_MR) {
    const int mr = total - t < RT_MR ? (int)(total - t) : RT_MR;
    int8_t *yrow[RT_MR];
    if (flat) {
      widen(x + (pix0 + t) * p->c, a16, mr * p->c);
      for (int i = 0; i < mr; i++) yrow[i] = y + (pix0 + t + i) * p->oc;
    } else {
      for (int i = 0; i < mr; i++) {
        gather_row(f, x, b, oy, ox, a16 + (size_t)i * f->kpad);
        yrow[i] = y + (pix0 + t + i) * p->oc;
        if (++ox == p->ow) { /* the next pixel of the flattened N*OH*OW order */
          ox = 0;
          if (++oy == p->oh) oy = 0, b++;
        }
      }
    }
    if (mr == 1 && f->wpack8)
      gemv_row(f, &kq, a16, yrow[0], j0, j1);
    else
      gemm_tile(f, &kq, a16, mr, yrow, j0, j1);
  }
}

/* 16 channels of one depthwise output pixel: tap pairs through vpmaddwd
 * (see rt_conv_fast_init's wdw order), then back to channel order. */
CZ_K_TARGET_AVX2 static inline __attribute__((always_inline)) void dw_block16(const rt_conv_fast *f, const rq_clamp *kq,
                                               const int8_t *const *src, int tp, int c0,
                                               int8_t *dst) {
  const int16_t *w = f->wdw + (size_t)(c0 / 16) * (size_t)tp * 32;
  __m256i lo = _mm256_setzero_si256(), hi = lo;
  for (int t = 0; t < tp; t++, w += 32) {
    const __m256i xa = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src[2 * t] + c0)));
    const __m256i xb =
        _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src[2 * t + 1] + c0)));
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(xa, xb),
                                                _mm256_loadu_si256((const __m256i *)w)));
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(xa, xb),
                                                _mm256_loadu_si256((const __m256i *)(w + 16))));
  }
  store16(f, kq, c0, _mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31),
          dst);
}

CZ_K_TARGET_AVX2 void rt_conv_dw_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0,
                                      int r1) {
  const rt_conv_p *p = &f->p;
  const int c = p->c, taps = p->kh * p->kw, tp = (taps + 1) / 2, cv = c / 16 * 16;
  const rq_clamp kq = {_mm256_set1_epi16((int16_t)p->rq.act_min),
                       _mm256_set1_epi16((int16_t)p->rq.act_max)};
  /* Tap t of the pixel at input column ix0 reads row[t] + ix0 * cs[t]:
   * inside the map cs[t] = c, and padding rows read zrow with cs[t] = 0
   * (in_zp: the bias_eff fold makes them add nothing real). src has one
   * slot more: an odd last tap's partner. */
  const int8_t *row[RT_DW_MAX_TAPS], *src[RT_DW_MAX_TAPS + 1];
  long cs[RT_DW_MAX_TAPS];
  for (int r = r0; r < r1; r++) {
    const int b = r / p->oh, oy = r % p->oh;
    const int8_t *xb = x + (long)b * p->h * p->w * c;
    for (int ky = 0, t = 0; ky < p->kh; ky++) {
      const int iy = oy * p->sh - p->pad_t + ky * p->dh;
      for (int kx = 0; kx < p->kw; kx++, t++) {
        const int ok = iy >= 0 && iy < p->h;
        row[t] = ok ? xb + ((long)iy * p->w + kx * p->dw) * c : f->zrow;
        cs[t] = ok ? c : 0;
      }
    }
    int8_t *yr = y + (long)r * p->ow * c;
    for (int ox = 0; ox < p->ow; ox++) {
      const int ix0 = ox * p->sw - p->pad_l;
      if (ix0 >= 0 && ix0 + (p->kw - 1) * p->dw < p->w) {
        for (int t = 0; t < taps; t++) src[t] = row[t] + ix0 * cs[t];
      } else {
        for (int t = 0; t < taps; t++) {
          const int ix = ix0 + (t % p->kw) * p->dw;
          src[t] = ix >= 0 && ix < p->w ? row[t] + ix0 * cs[t] : f->zrow;
        }
      }
      src[taps] = src[taps - 1];
      int8_t *yo = yr + (long)ox * c;
      if (tp == 5) /* 3x3: the tap loop unrolled */
        for (int c0 = 0; c0 < cv; c0 += 16) dw_block16(f, &kq, src, 5, c0, yo + c0);
      else
        for (int c0 = 0; c0 < cv; c0 += 16) dw_block16(f, &kq, src, tp, c0, yo + c0);
      for (int ch = cv; ch < c; ch++) {
        int32_t acc = f->bias_eff[ch];
        for (int t = 0; t < taps; t++) acc += (int32_t)src[t][ch] * f->wpack[(size_t)t * c + ch];
        yo[ch] = rt_requant_out(acc, f->mult_c[ch], -f->right_c[ch], p->rq.out_zp, p->rq.act_min,
                                p->rq.act_max);
      }
    }
  }
}
#endif
