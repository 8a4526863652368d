/* The AVX2 entry points behind rt_fast.h's dispatch. */
#ifndef CZ_INT8_RT_FAST_PRIV_H
#define CZ_INT8_RT_FAST_PRIV_H
#include <stdint.h>

#include "int8/rt_fast.h"

/* Output pixels computed together by the GEMM micro-kernel. */
#define RT_MR 4
/* Largest depthwise kernel (taps) of the fast path. */
#define RT_DW_MAX_TAPS 64

/* rt_avx2_requant_k's constants for n (a multiple of 8) channels of right
 * shifts in [0, 31]: k64 holds n * 2 int64, sub n int32. */
void rt_rq_pack(const int32_t *right, int n, int64_t *k64, int32_t *sub);

/* Output rows [r0, r1), channel blocks of 16 [j0, j1). */
void rt_conv_gemm_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1, int j0,
                       int j1, void *scratch);
void rt_conv_dw_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1);
void rt_gavgpool_avx2(const rt_pool_p *p, const int8_t *x, int8_t *y, int32_t *acc, int r0,
                      int r1);
void rt_add_avx2(const rt_add_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1);
#endif
