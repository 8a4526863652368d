/* Dispatch of the fast element-wise and pooling int8 kernels (rt_fast.h). */
#include "int8/rt_fast.h"
#include "int8/rt_fast_priv.h"
#include "kernels/k_simd.h"

void rt_add_fast(const rt_add_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1) {
#if CZ_K_X86
  /* The vector path shifts right only: every multiplier below 1. */
  if (cz_k_isa() >= CZ_ISA_AVX2 && p->a_shift <= 0 && p->b_shift <= 0 && p->out_shift <= 0 &&
      p->a_mult > 0 && p->b_mult > 0 && p->out_mult > 0) {
    rt_add_avx2(p, a, b, y, r0, r1);
    return;
  }
#endif
  rt_add_ref(p, a, b, y, r0, r1);
}

void rt_gavgpool_fast(const rt_pool_p *p, const int8_t *x, int8_t *y, int32_t *acc, int r0,
                      int r1) {
#if CZ_K_X86
  /* The vector requantization shifts right only: a multiplier below 1. */
  if (cz_k_isa() >= CZ_ISA_AVX2 && p->shift[0] <= 0 && p->shift[0] >= -31 && p->mult[0] > 0) {
    rt_gavgpool_avx2(p, x, y, acc, r0, r1);
    return;
  }
#endif
  rt_gavgpool_ref(p, x, y, acc, r0, r1);
}
