/* AVX2 global average pooling, bit-exact with rt_gavgpool_ref: the same
 * int32 sums 8 channels at a time, the same requantization. */
#include "int8/rt_avx2.h"
#include "int8/rt_fast_priv.h"
#include "int8/rt_requant.h"

#if CZ_K_X86
CZ_K_TARGET_AVX2 void rt_gavgpool_avx2(const rt_pool_p *p, const int8_t *x, int8_t *y,
                                       int32_t *acc, int r0, int r1) {
  const long hw = (long)p->h * p->w;
  const int c = p->c, cv = c / 8 * 8, c16 = c / 16 * 16;
  const int32_t off = (int32_t)(hw * p->in_zp);
  const __m256i voff = _mm256_set1_epi32(off), m = _mm256_set1_epi32(p->mult[0]),
                rs = _mm256_set1_epi32(-p->shift[0]), zp = _mm256_set1_epi32(p->out_zp),
                lo = _mm256_set1_epi32(p->act_min), hi = _mm256_set1_epi32(p->act_max);
  for (int r = r0; r < r1; r++) {
    const int8_t *xb = x + (long)r * hw * c;
    int8_t *yr = y + (long)r * c;
    for (int ch = 0; ch < c; ch++) acc[ch] = 0;
    for (long i = 0; i < hw; i++) {
      const int8_t *xi = xb + i * c;
      for (int ch = 0; ch < cv; ch += 8) {
        const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(xi + ch)));
        _mm256_storeu_si256((__m256i *)(acc + ch),
                            _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(acc + ch)), v));
      }
      for (int ch = cv; ch < c; ch++) acc[ch] += xi[ch];
    }
    for (int ch = 0; ch < c16; ch += 16) {
      const __m256i a0 = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(acc + ch)), voff);
      const __m256i a1 =
          _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(acc + ch + 8)), voff);
      _mm_storeu_si128((__m128i *)(yr + ch), rt_avx2_narrow(rt_avx2_requant(a0, m, rs),
                                                            rt_avx2_requant(a1, m, rs), zp, lo,
                                                            hi));
    }
    for (int ch = c16; ch < c; ch++)
      yr[ch] = rt_requant_out(acc[ch] - off, p->mult[0], p->shift[0], p->out_zp, p->act_min,
                              p->act_max);
  }
}
#endif
