/* AVX2 pieces shared by the fast int8 kernels: the requantization of
 * rt_requant.h on 8 lanes, bit for bit, and the
 * clamp-and-narrow of 16 int32 results to int8. Include only from files
 * whose functions are compiled for AVX2. */
#ifndef CZ_INT8_RT_AVX2_H
#define CZ_INT8_RT_AVX2_H
#include "kernels/k_simd.h"
#if CZ_K_X86
#include <immintrin.h>

/* rt_requant(x, mult, -right) per lane, for right in [0, 31] (multipliers
 * below 1, whose results fit int32: the plan checks before choosing this
 * path). The 64-bit sums are offset by 2^62 to stay non-negative, so a
 * logical shift (AVX2 has no 64-bit arithmetic one) floors them; the
 * offset, a multiple of 2^(31 + right), is taken back after the shift. */
CZ_K_TARGET_AVX2 static inline __m256i rt_avx2_requant(__m256i x, __m256i mult, __m256i right) {
  const __m256i one = _mm256_set1_epi64x(1), off = _mm256_set1_epi64x((int64_t)1 << 62);
  const __m256i c31 = _mm256_set1_epi64x(31), c62 = _mm256_set1_epi64x(62);
  const __m256i lo32 = _mm256_set1_epi64x(0xFFFFFFFF);
  const __m256i te = _mm256_add_epi64(_mm256_and_si256(right, lo32), c31);
  const __m256i to = _mm256_add_epi64(_mm256_srli_epi64(right, 32), c31);
  __m256i pe = _mm256_mul_epi32(x, mult);
  __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(mult, 32));
  pe = _mm256_add_epi64(_mm256_add_epi64(pe, off), _mm256_sllv_epi64(one, _mm256_sub_epi64(te, one)));
  po = _mm256_add_epi64(_mm256_add_epi64(po, off), _mm256_sllv_epi64(one, _mm256_sub_epi64(to, one)));
  pe = _mm256_sub_epi64(_mm256_srlv_epi64(pe, te), _mm256_sllv_epi64(one, _mm256_sub_epi64(c62, te)));
  po = _mm256_sub_epi64(_mm256_srlv_epi64(po, to), _mm256_sllv_epi64(one, _mm256_sub_epi64(c62, to)));
  return _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
}

/* The same with the per-channel constants precomputed at plan time (see
 * rt_conv_fast's rq64 / rq_sub, built by rt_rq_pack): 8 channels from
 * mult, k64 (their block of 16 int64) and sub. */
CZ_K_TARGET_AVX2 static inline __m256i rt_avx2_requant_k(__m256i x, const int32_t *mult,
                                                         const int64_t *k64, const int32_t *sub) {
  const __m256i m = _mm256_loadu_si256((const __m256i *)mult);
  __m256i pe = _mm256_mul_epi32(x, m);
  __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32));
  pe = _mm256_srlv_epi64(_mm256_add_epi64(pe, _mm256_loadu_si256((const __m256i *)k64)),
                         _mm256_loadu_si256((const __m256i *)(k64 + 8)));
  po = _mm256_srlv_epi64(_mm256_add_epi64(po, _mm256_loadu_si256((const __m256i *)(k64 + 4))),
                         _mm256_loadu_si256((const __m256i *)(k64 + 12)));
  const __m256i r = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  return _mm256_sub_epi32(r, _mm256_loadu_si256((const __m256i *)sub));
}

/* Clamps two vectors of 8 requantized values that already include the
 * output zero point to [lo, hi] (lo16, hi16: the bounds as 16 int16) and
 * narrows them to 16 int8: saturating to int16 first changes no result,
 * since the bounds lie inside int8. */
CZ_K_TARGET_AVX2 static inline __m128i rt_avx2_narrow_zp(__m256i a, __m256i b, __m256i lo16,
                                                         __m256i hi16) {
  __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
  p = _mm256_min_epi16(_mm256_max_epi16(p, lo16), hi16);
  return _mm_packs_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
}

/* Adds zp, clamps to [lo, hi] and narrows two vectors of 8 to 16 int8. */
CZ_K_TARGET_AVX2 static inline __m128i rt_avx2_narrow(__m256i a, __m256i b, __m256i zp, __m256i lo,
                                                      __m256i hi) {
  a = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(a, zp), lo), hi);
  b = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(b, zp), lo), hi);
  __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
  return _mm_packs_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
}
#endif
#endif
