/* AVX2 int8 convolution: a GEMM over output pixels (1x1 read in place,
 * other kernels gathered per pixel) with weights packed as int16 pairs for
 * vpmaddwd, and a depthwise kernel vectorized over channels. Exact integer
 * sums and rt_avx2_requant make every output equal to rt_conv_ref's. */
#include <string.h>

#include "int8/rt_avx2.h"
#include "int8/rt_fast_priv.h"
#include "int8/rt_requant.h"

#if CZ_K_X86

/* One output pixel's reduction vector, widened to int16 (padding taps hold
 * the input zero point, the odd tail a 0 that meets a 0 weight). */
CZ_K_TARGET_AVX2 static void gather_row(const rt_conv_fast *f, const int8_t *x, int b, int oy,
                                        int ox, int16_t *dst) {
  const rt_conv_p *p = &f->p;
  const int8_t *xb = x + (long)b * p->h * p->w * p->c;
  if (!f->im2col) {
    const int8_t *src = xb + ((long)oy * p->w + ox) * p->c;
    for (int i = 0; i < p->c; i++) dst[i] = src[i];
  } else {
    int16_t *d = dst;
    for (int ky = 0; ky < p->kh; ky++) {
      const int iy = oy * p->sh - p->pad_t + ky * p->dh;
      for (int kx = 0; kx < p->kw; kx++, d += p->c) {
        const int ix = ox * p->sw - p->pad_l + kx * p->dw;
        if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
          for (int i = 0; i < p->c; i++) d[i] = (int16_t)p->in_zp;
        } else {
          const int8_t *src = xb + ((long)iy * p->w + ix) * p->c;
          for (int i = 0; i < p->c; i++) d[i] = src[i];
        }
      }
    }
  }
  if (f->kpad > f->k) dst[f->k] = 0;
}

/* Requantizes 16 accumulators of block j (channels j*16..) and stores the
 * ones below oc. */
CZ_K_TARGET_AVX2 static void store16(const rt_conv_fast *f, int j, __m256i a0, __m256i a1,
                                     int8_t *dst) {
  const rt_conv_p *p = &f->p;
  const int c0 = j * 16, nvalid = p->oc - c0 < 16 ? p->oc - c0 : 16;
  a0 = _mm256_add_epi32(a0, _mm256_loadu_si256((const __m256i *)(f->bias_eff + c0)));
  a1 = _mm256_add_epi32(a1, _mm256_loadu_si256((const __m256i *)(f->bias_eff + c0 + 8)));
  int8_t tmp[16];
  if (f->vec_rq) {
    __m256i r0 = rt_avx2_requant(a0, _mm256_loadu_si256((const __m256i *)(f->mult_c + c0)),
                                 _mm256_loadu_si256((const __m256i *)(f->right_c + c0)));
    __m256i r1 = rt_avx2_requant(a1, _mm256_loadu_si256((const __m256i *)(f->mult_c + c0 + 8)),
                                 _mm256_loadu_si256((const __m256i *)(f->right_c + c0 + 8)));
    __m128i v = rt_avx2_narrow(r0, r1, _mm256_set1_epi32(p->rq.out_zp),
                               _mm256_set1_epi32(p->rq.act_min), _mm256_set1_epi32(p->rq.act_max));
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

/* RT_MR (4) pixels against every block of 16 output channels. */
CZ_K_TARGET_AVX2 static void gemm_tile(const rt_conv_fast *f, const int16_t *a16, int mr,
                                       int8_t *const *yrow) {
  const int kp = f->kpad / 2, nb = (f->p.oc + 15) / 16;
  const int16_t *r0 = a16, *r1 = a16 + f->kpad, *r2 = a16 + 2 * f->kpad, *r3 = a16 + 3 * f->kpad;
  for (int j = 0; j < nb; j++) {
    const int16_t *wp = f->wpack + (size_t)j * kp * 32;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
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
    store16(f, j, c00, c01, yrow[0] + j * 16);
    if (mr > 1) store16(f, j, c10, c11, yrow[1] + j * 16);
    if (mr > 2) store16(f, j, c20, c21, yrow[2] + j * 16);
    if (mr > 3) store16(f, j, c30, c31, yrow[3] + j * 16);
  }
}

CZ_K_TARGET_AVX2 void rt_conv_gemm_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0,
                                        int r1, void *scratch) {
  const rt_conv_p *p = &f->p;
  int16_t *a16 = (int16_t *)scratch;
  /* Unused rows of a last, short tile are zeros: computed, never stored. */
  memset(a16, 0, (size_t)RT_MR * (size_t)f->kpad * sizeof(int16_t));
  /* Tiles run across row boundaries, so a 1x1 map (a Gemm) still fills them. */
  const long total = (long)(r1 - r0) * p->ow;
  for (long t = 0; t < total; t += RT_MR) {
    const int mr = total - t < RT_MR ? (int)(total - t) : RT_MR;
    int8_t *yrow[RT_MR];
    for (int i = 0; i < mr; i++) {
      const long pix = (long)r0 * p->ow + t + i; /* flattened N*OH*OW index */
      const int r = (int)(pix / p->ow), ox = (int)(pix % p->ow);
      gather_row(f, x, r / p->oh, r % p->oh, ox, a16 + (size_t)i * f->kpad);
      yrow[i] = y + pix * p->oc;
    }
    gemm_tile(f, a16, mr, yrow);
  }
}

CZ_K_TARGET_AVX2 void rt_conv_dw_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0,
                                      int r1) {
  const rt_conv_p *p = &f->p;
  const int c = p->c, taps = p->kh * p->kw, cv = c / 16 * 16;
  const __m256i zp = _mm256_set1_epi32(p->rq.out_zp), lo = _mm256_set1_epi32(p->rq.act_min),
                hi = _mm256_set1_epi32(p->rq.act_max);
  const __m256i inzp = _mm256_set1_epi16((int16_t)p->in_zp);
  for (int r = r0; r < r1; r++) {
    const int b = r / p->oh, oy = r % p->oh;
    const int8_t *xb = x + (long)b * p->h * p->w * c;
    for (int ox = 0; ox < p->ow; ox++) {
      int8_t *yo = y + ((long)r * p->ow + ox) * c;
      /* Out-of-map taps: NULL (they add in_zp * w, folded out of bias_eff).
       * rt_conv_fast_init leaves kernels above RT_DW_MAX_TAPS to the
       * reference. */
      const int8_t *src[RT_DW_MAX_TAPS];
      for (int ky = 0, t = 0; ky < p->kh; ky++) {
        const int iy = oy * p->sh - p->pad_t + ky * p->dh;
        for (int kx = 0; kx < p->kw; kx++, t++) {
          const int ix = ox * p->sw - p->pad_l + kx * p->dw;
          src[t] = (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w)
                       ? NULL
                       : xb + ((long)iy * p->w + ix) * c;
        }
      }
      for (int c0 = 0; c0 < cv; c0 += 16) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(f->bias_eff + c0));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(f->bias_eff + c0 + 8));
        for (int t = 0; t < taps; t++) {
          const __m256i wv = _mm256_loadu_si256((const __m256i *)(f->wpack + (size_t)t * c + c0));
          const __m256i xv =
              src[t] ? _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src[t] + c0))) : inzp;
          const __m256i pr = _mm256_mullo_epi16(xv, wv); /* |x * w'| <= 128 * 255: exact */
          a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(pr)));
          a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(pr, 1)));
        }
        if (f->vec_rq) {
          __m256i q0 = rt_avx2_requant(a0, _mm256_loadu_si256((const __m256i *)(f->mult_c + c0)),
                                       _mm256_loadu_si256((const __m256i *)(f->right_c + c0)));
          __m256i q1 =
              rt_avx2_requant(a1, _mm256_loadu_si256((const __m256i *)(f->mult_c + c0 + 8)),
                              _mm256_loadu_si256((const __m256i *)(f->right_c + c0 + 8)));
          _mm_storeu_si128((__m128i *)(yo + c0), rt_avx2_narrow(q0, q1, zp, lo, hi));
        } else {
          int32_t acc[16];
          _mm256_storeu_si256((__m256i *)acc, a0);
          _mm256_storeu_si256((__m256i *)(acc + 8), a1);
          for (int i = 0; i < 16; i++)
            yo[c0 + i] = rt_requant_out(acc[i], f->mult_c[c0 + i], -f->right_c[c0 + i],
                                        p->rq.out_zp, p->rq.act_min, p->rq.act_max);
        }
      }
      for (int ch = cv; ch < c; ch++) {
        int32_t acc = f->bias_eff[ch];
        for (int t = 0; t < taps; t++)
          acc += (src[t] ? (int32_t)src[t][ch] : p->in_zp) * f->wpack[(size_t)t * c + ch];
        yo[ch] = rt_requant_out(acc, f->mult_c[ch], -f->right_c[ch], p->rq.out_zp, p->rq.act_min,
                                p->rq.act_max);
      }
    }
  }
}
#endif
