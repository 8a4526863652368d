/* Host-side derivation of the kernels' fixed-point parameters from real
 * scales (plan time; the kernels never see a float). */
#ifndef CZ_INT8_RT_QMULT_H
#define CZ_INT8_RT_QMULT_H
#include <stdint.h>

#include "int8/rt_kernels.h"

/* real = mult * 2^(shift - 31) with mult in [2^30, 2^31) (Q31 mantissa of
 * frexp, rounded half away from zero), or mult = shift = 0 for real == 0
 * or a real so small that every int32 accumulator maps to 0. Shift is kept
 * within [-31, 30]. real must be finite and >= 0. */
void rt_qmult(double real, int32_t *mult, int32_t *shift);

/* Add's parameters for inputs (sa, za), (sb, zb) and output (sy, zy),
 * clamp [lo, hi]: TFLite's scheme, both inputs brought to 2 * max(sa, sb)
 * after a lift of 2^20. */
void rt_add_params(double sa, int32_t za, double sb, int32_t zb, double sy, int32_t zy,
                   int32_t lo, int32_t hi, rt_add_p *p);
#endif
