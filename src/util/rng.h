/* Counter-based random numbers (Philox4x32-10): a stream is a pure function
 * of (seed, stream id), so results never depend on which thread drew first. */
#ifndef CZ_UTIL_RNG_H
#define CZ_UTIL_RNG_H

#include <stddef.h>
#include <stdint.h>

/* One Philox4x32-10 block: 128 random bits from a 128-bit counter and a
 * 64-bit key (Salmon et al., SC'11). Word order as in Random123. */
void cz_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                      uint32_t out[4]);

/* A generator is plain data: copy it to fork a sequence, compare or store
 * it freely; it owns nothing. Not shared between threads (give each task
 * its own stream instead). */
typedef struct {
  uint32_t key[2]; /* the seed: key[0] low word, key[1] high word */
  uint32_t ctr[4]; /* ctr[0..1]: 64-bit block counter (low, high) of the next
                      block; ctr[2..3]: stream id (low, high) */
  uint32_t buf[4]; /* the current block's output */
  int used;        /* words of buf already handed out (4 = refill first) */
} cz_rng;

/* Stream `stream` of generator `seed`, positioned at block 0. */
cz_rng cz_rng_make(uint64_t seed, uint64_t stream);

/* Folds e.g. (purpose, epoch, sample index) into one stream id. Each input
 * goes through a splitmix64 finalizer in turn, chained by xor, so changing
 * any single input always changes the result (every step is a bijection)
 * and nearby tuples give unrelated ids. */
uint64_t cz_rng_stream(uint64_t a, uint64_t b, uint64_t c);

uint32_t cz_rng_u32(cz_rng *r);
/* Two consecutive u32 draws: the first is the low half. */
uint64_t cz_rng_u64(cz_rng *r);
/* [0, 1) with 53 random bits (one u64 draw). */
double cz_rng_uniform(cz_rng *r);
/* [0, 1) with 24 random bits (one u32 draw). */
float cz_rng_uniformf(cz_rng *r);
/* Unbiased integer in [0, n), n >= 1 (Lemire's multiply-and-reject). */
uint32_t cz_rng_below(cz_rng *r, uint32_t n);
/* Standard normal by Box-Muller; always two uniform draws per value and the
 * second Box-Muller output is discarded, so no hidden state is carried. */
double cz_rng_normal(cz_rng *r);
/* Uniform random permutation of a[0..n) in place (Fisher-Yates). */
void cz_rng_shuffle_u32(cz_rng *r, uint32_t *a, size_t n);

#endif
