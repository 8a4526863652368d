/* The AVX2 entry points behind rt_fast.h's dispatch. */
#ifndef CZ_INT8_RT_FAST_PRIV_H
#define CZ_INT8_RT_FAST_PRIV_H
#include "int8/rt_fast.h"

/* Output pixels computed together by the GEMM micro-kernel. */
#define RT_MR 4
/* Largest depthwise kernel (taps) of the fast path. */
#define RT_DW_MAX_TAPS 64

void rt_conv_gemm_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1,
                       void *scratch);
void rt_conv_dw_avx2(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1);
void rt_add_avx2(const rt_add_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1);
#endif
