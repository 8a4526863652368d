/* AVX2 pieces shared by the fast int8 kernels: the requantization of
 * rt_requant.h on 8 lanes, bit for bit (right shifts only: multipliers
 * below 1, which the plan checks before choosing this path), and the
 * clamp-and-narrow of 16 int32 results to int8. Include only from files
 * whose functions are compiled for AVX2. */
#ifndef CZ_INT8_RT_AVX2_H
#define CZ_INT8_RT_AVX2_H
#include "kernels/k_simd.h"
#if CZ_K_X86
#include <immintrin.h>

/* rt_rshift_round(rt_rdhm(x, mult), right) per lane; mult > 0. */
CZ_K_TARGET_AVX2 static inline __m256i rt_avx2_requant(__m256i x, __m256i mult, __m256i right) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i nudge_pos = _mm256_set1_epi64x((int64_t)1 << 30);
  const __m256i nudge_neg = _mm256_set1_epi64x(1 - ((int64_t)1 << 30));
  const __m256i trunc_fix = _mm256_set1_epi64x(((int64_t)1 << 31) - 1);
  __m256i pe = _mm256_mul_epi32(x, mult);
  __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(mult, 32));
  pe = _mm256_add_epi64(pe, _mm256_blendv_epi8(nudge_pos, nudge_neg, _mm256_cmpgt_epi64(zero, pe)));
  po = _mm256_add_epi64(po, _mm256_blendv_epi8(nudge_pos, nudge_neg, _mm256_cmpgt_epi64(zero, po)));
  /* Truncation toward zero of t / 2^31: bits 31..62 of t (+ 2^31 - 1 when
   * negative), which a logical shift leaves in the low half. */
  pe = _mm256_add_epi64(pe, _mm256_and_si256(_mm256_cmpgt_epi64(zero, pe), trunc_fix));
  po = _mm256_add_epi64(po, _mm256_and_si256(_mm256_cmpgt_epi64(zero, po), trunc_fix));
  pe = _mm256_srli_epi64(pe, 31);
  po = _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32);
  __m256i h = _mm256_blend_epi32(pe, po, 0xAA);
  const __m256i one = _mm256_set1_epi32(1);
  __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
  __m256i rem = _mm256_and_si256(h, mask);
  __m256i thr = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_cmpgt_epi32(zero, h));
  return _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(rem, thr));
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
