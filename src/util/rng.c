/* Philox4x32-10 and the draws built on it (integers, floats, normals,
 * shuffles). Every draw consumes a fixed number of words except the
 * rejection loops, whose rare retries still depend only on the stream. */
#include "util/rng.h"

#include <assert.h>
#include <math.h>

/* Round multipliers and Weyl key increments from the Philox paper. */
#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)

static void philox_round(uint32_t x[4], const uint32_t k[2]) {
  uint64_t p0 = (uint64_t)PHILOX_M0 * x[0];
  uint64_t p1 = (uint64_t)PHILOX_M1 * x[2];
  uint32_t y0 = (uint32_t)(p1 >> 32) ^ x[1] ^ k[0];
  uint32_t y1 = (uint32_t)p1;
  uint32_t y2 = (uint32_t)(p0 >> 32) ^ x[3] ^ k[1];
  uint32_t y3 = (uint32_t)p0;
  x[0] = y0;
  x[1] = y1;
  x[2] = y2;
  x[3] = y3;
}

void cz_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                      uint32_t out[4]) {
  uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
  uint32_t k[2] = {key[0], key[1]};
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k[0] += PHILOX_W0;
      k[1] += PHILOX_W1;
    }
    philox_round(x, k);
  }
  for (int i = 0; i < 4; i++) out[i] = x[i];
}

cz_rng cz_rng_make(uint64_t seed, uint64_t stream) {
  cz_rng r = {
      .key = {(uint32_t)seed, (uint32_t)(seed >> 32)},
      .ctr = {0, 0, (uint32_t)stream, (uint32_t)(stream >> 32)},
      .buf = {0, 0, 0, 0},
      .used = 4,
  };
  return r;
}

/* splitmix64's output function (Steele, Lea and Flood, OOPSLA'14): a
 * bijection on 64 bits with good avalanche. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

uint64_t cz_rng_stream(uint64_t a, uint64_t b, uint64_t c) {
  /* Distinct odd offsets per position keep (a, b, c) and its permutations
   * apart, and keep (0, 0, 0) from mapping to 0. */
  const uint64_t golden = UINT64_C(0x9E3779B97F4A7C15);
  uint64_t h = mix64(a + golden);
  h = mix64(h ^ (b + 2 * golden));
  h = mix64(h ^ (c + 3 * golden));
  return h;
}

uint32_t cz_rng_u32(cz_rng *r) {
  if (r->used >= 4) {
    cz_philox4x32_10(r->ctr, r->key, r->buf);
    /* 64-bit block counter; the stream words ctr[2..3] never change. */
    if (++r->ctr[0] == 0) r->ctr[1]++;
    r->used = 0;
  }
  return r->buf[r->used++];
}

uint64_t cz_rng_u64(cz_rng *r) {
  uint64_t lo = cz_rng_u32(r);
  uint64_t hi = cz_rng_u32(r);
  return lo | (hi << 32);
}

double cz_rng_uniform(cz_rng *r) {
  return (double)(cz_rng_u64(r) >> 11) * 0x1.0p-53;
}

float cz_rng_uniformf(cz_rng *r) {
  return (float)(cz_rng_u32(r) >> 8) * 0x1.0p-24f;
}

uint32_t cz_rng_below(cz_rng *r, uint32_t n) {
  assert(n >= 1);
  /* Lemire, "Fast random integer generation in an interval" (2019): the
   * high word of x*n is the result; the low word tells when x fell in the
   * short, biased tail and must be redrawn. */
  uint64_t m = (uint64_t)cz_rng_u32(r) * n;
  uint32_t low = (uint32_t)m;
  if (low < n) {
    uint32_t threshold = (uint32_t)(-n) % n; /* 2^32 mod n */
    while (low < threshold) {
      m = (uint64_t)cz_rng_u32(r) * n;
      low = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

/* [0, n) for n beyond 32 bits: masked rejection, at most 2 tries expected. */
static uint64_t below_u64(cz_rng *r, uint64_t n) {
  uint64_t mask = n - 1;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  uint64_t x;
  do {
    x = cz_rng_u64(r) & mask;
  } while (x >= n);
  return x;
}

double cz_rng_normal(cz_rng *r) {
  /* 1 - u lies in (0, 1], so the log is finite. */
  double u1 = 1.0 - cz_rng_uniform(r);
  double u2 = cz_rng_uniform(r);
  const double two_pi = 6.283185307179586476925286766559;
  return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

void cz_rng_shuffle_u32(cz_rng *r, uint32_t *a, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = i <= UINT32_MAX ? (size_t)cz_rng_below(r, (uint32_t)i)
                               : (size_t)below_u64(r, (uint64_t)i);
    uint32_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}
