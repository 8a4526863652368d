/* Fixed-point requantization shared by every int8 kernel: an int32
 * accumulator times a real multiplier M = mult * 2^(shift - 31) (mult a
 * Q31 mantissa in [2^30, 2^31), shift in [-31, 30]), rounded once to
 * nearest with halves up: floor(acc * mult / 2^(31 - shift) + 1/2) from
 * the exact 64-bit product. This is CMSIS-NN's single-rounding form;
 * gemmlowp / TFLite's default rounds twice (a doubling high multiply,
 * then a rounding shift), which misrounds values within 2^(shift-1) of a
 * half: measured on a trained model, 0.1 to 0.4 % of a layer's outputs
 * one step off the exact result, enough to drift from what the QDQ file
 * means over twenty layers. Portable C99, no libc: the microcontroller
 * compiles this very file (a 32x32->64 multiply and shifts). */
#ifndef CZ_INT8_RT_REQUANT_H
#define CZ_INT8_RT_REQUANT_H
#include <stdint.h>

/* floor(t / 2^e) for 1 <= e <= 62, without relying on how the compiler
 * shifts negative numbers. */
static inline int64_t rt_floor_shift(int64_t t, int e) {
  return t >= 0 ? (t >> e) : -((-t + (((int64_t)1 << e) - 1)) >> e);
}

/* acc * mult * 2^(shift - 31), rounded half up, saturated to int32. */
static inline int32_t rt_requant(int32_t acc, int32_t mult, int32_t shift) {
  const int total = 31 - (int)shift; /* 1..62 */
  const int64_t t = (int64_t)acc * (int64_t)mult + ((int64_t)1 << (total - 1));
  const int64_t r = rt_floor_shift(t, total);
  return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
}

/* Requantized value plus the output zero point, clamped to [lo, hi]. */
static inline int8_t rt_requant_out(int32_t acc, int32_t mult, int32_t shift, int32_t zp,
                                    int32_t lo, int32_t hi) {
  int64_t v = (int64_t)rt_requant(acc, mult, shift) + zp;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (int8_t)v;
}
#endif
