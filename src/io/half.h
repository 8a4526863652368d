/* IEEE 754 half precision and bfloat16 to float32, exactly (every value of
 * both formats is a float32), for checkpoints saved in reduced precision. */
#ifndef CZ_IO_HALF_H
#define CZ_IO_HALF_H
#include <stdint.h>
#include <string.h>

static inline float cz_bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline float cz_half_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  if (exp == 0x1F) return cz_bits_f32(sign | 0x7F800000u | man << 13); /* inf, nan */
  if (exp == 0) {
    /* zero or subnormal: man * 2^-24 */
    float f = (float)man * cz_bits_f32(0x33800000u);
    return sign ? -f : f;
  }
  return cz_bits_f32(sign | (exp + 112) << 23 | man << 13);
}

static inline float cz_bf16_to_f32(uint16_t b) { return cz_bits_f32((uint32_t)b << 16); }
#endif
