/* Fixed-point requantization shared by every int8 kernel: an int32
 * accumulator times a real multiplier M = mult * 2^(shift - 31), rounded to
 * nearest, as gemmlowp / TFLite / CMSIS-NN define it: a doubling high
 * multiply by the Q31 mantissa (halves rounded up: a negative half goes
 * toward zero), then a rounding arithmetic shift right (halves away from
 * zero). Portable C99, no libc: the microcontroller compiles this very
 * file. */
#ifndef CZ_INT8_RT_REQUANT_H
#define CZ_INT8_RT_REQUANT_H
#include <stdint.h>

/* a * b / 2^31 rounded to nearest, halves up (the nudge of 2^30, or
 * 1 - 2^30 below zero, then truncation); the one overflowing case
 * (INT32_MIN squared) saturates. */
static inline int32_t rt_rdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
  int64_t t = ab + nudge;
  /* Division by 2^31 truncating toward zero, written with shifts so that no
   * compiler turns it into a library call. */
  int64_t q = t >= 0 ? (t >> 31) : -((-t) >> 31);
  return (int32_t)q;
}

/* x / 2^e rounded to nearest, halves away from zero (0 <= e <= 31). */
static inline int32_t rt_rshift_round(int32_t x, int e) {
  if (e <= 0) return x;
  int32_t mask = (int32_t)(((uint32_t)1 << e) - 1u);
  int32_t rem = x & mask;
  int32_t thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > thr ? 1 : 0);
}

/* acc * mult * 2^(shift - 31). shift > 0 multiplies first by 2^shift
 * (saturating to int32, so a huge accumulator cannot wrap). */
static inline int32_t rt_requant(int32_t acc, int32_t mult, int32_t shift) {
  int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  int64_t x = (int64_t)acc * ((int64_t)1 << left);
  if (x > INT32_MAX) x = INT32_MAX;
  if (x < INT32_MIN) x = INT32_MIN;
  return rt_rshift_round(rt_rdhm((int32_t)x, mult), right);
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
