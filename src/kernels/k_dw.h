/* Depthwise convolution row kernels (k_dw_tmpl.h), dispatched on the
 * instruction set; k_conv.c splits the work between threads. */
#ifndef CZ_KERNELS_K_DW_H
#define CZ_KERNELS_K_DW_H
#include <stdbool.h>
#include <stdint.h>

#include "kernels/k_conv.h"

/* wr: weights as wr[(kh*KW + kw)*C + c]. Rows r = n*Ho + oh. The forward
 * applies p->clamp (a fused activation) to each element it stores. */
void cz_k_dw_fwd_rows(const cz_k_conv *p, const float *x, const float *wr, const float *b,
                      float *y, bool acc, int64_t r0, int64_t r1);
/* dx of image n += the taps of every output pixel of dy (serial). */
void cz_k_dw_dx_scatter(const cz_k_conv *p, const float *dy, const float *wr, float *dx,
                        int64_t n);
/* pw[(kh*KW+kw)*C + c] += sum of dy*x, pb[c] += sum of dy over rows [r0, r1). */
void cz_k_dw_dw_rows(const cz_k_conv *p, const float *x, const float *dy, float *pw, float *pb,
                     int64_t r0, int64_t r1);
#endif
