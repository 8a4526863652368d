/* AVX2 int8 Add, bit-exact with rt_add_ref: the three requantizations on 8
 * lanes, the operand read in runs of its broadcast period. */
#include "int8/rt_avx2.h"
#include "int8/rt_fast_priv.h"
#include "int8/rt_requant.h"

#if CZ_K_X86
static inline int8_t add_one(const rt_add_p *p, int8_t a, int8_t b) {
  const int32_t lift = (int32_t)1 << p->left_shift;
  const int32_t sa = rt_requant(((int32_t)a - p->a_zp) * lift, p->a_mult, p->a_shift);
  const int32_t sb = rt_requant(((int32_t)b - p->b_zp) * lift, p->b_mult, p->b_shift);
  int64_t v = (int64_t)rt_requant(sa + sb, p->out_mult, p->out_shift) + p->out_zp;
  v = v < p->act_min ? p->act_min : v;
  return (int8_t)(v > p->act_max ? p->act_max : v);
}

CZ_K_TARGET_AVX2 static inline __m256i lift8(const int8_t *s, __m256i zp, int ls) {
  __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)s));
  return _mm256_slli_epi32(_mm256_sub_epi32(v, zp), ls);
}

CZ_K_TARGET_AVX2 void rt_add_avx2(const rt_add_p *p, const int8_t *a, const int8_t *b, int8_t *y,
                                  int r0, int r1) {
  const __m256i azp = _mm256_set1_epi32(p->a_zp), bzp = _mm256_set1_epi32(p->b_zp);
  const __m256i am = _mm256_set1_epi32(p->a_mult), ar = _mm256_set1_epi32(-p->a_shift);
  const __m256i bm = _mm256_set1_epi32(p->b_mult), br = _mm256_set1_epi32(-p->b_shift);
  const __m256i om = _mm256_set1_epi32(p->out_mult), orr = _mm256_set1_epi32(-p->out_shift);
  const __m256i zp = _mm256_set1_epi32(p->out_zp), lo = _mm256_set1_epi32(p->act_min),
                hi = _mm256_set1_epi32(p->act_max);
  for (int r = r0; r < r1; r++) {
    const int8_t *ar_ = a + (long)r * p->row_len;
    const int8_t *brow = b + (long)(r / p->b.div) * p->b.row_stride;
    int8_t *yr = y + (long)r * p->row_len;
    for (int s0 = 0; s0 < p->row_len; s0 += p->b.len) {
      const int n = p->row_len - s0 < p->b.len ? p->row_len - s0 : p->b.len;
      int i = 0;
      for (; i + 16 <= n; i += 16) {
        __m256i q[2];
        for (int h = 0; h < 2; h++) {
          __m256i sa = rt_avx2_requant(lift8(ar_ + s0 + i + 8 * h, azp, p->left_shift), am, ar);
          __m256i sb = rt_avx2_requant(lift8(brow + i + 8 * h, bzp, p->left_shift), bm, br);
          q[h] = rt_avx2_requant(_mm256_add_epi32(sa, sb), om, orr);
        }
        _mm_storeu_si128((__m128i *)(yr + s0 + i), rt_avx2_narrow(q[0], q[1], zp, lo, hi));
      }
      for (; i < n; i++) yr[s0 + i] = add_one(p, ar_[s0 + i], brow[i]);
    }
  }
}
#endif
