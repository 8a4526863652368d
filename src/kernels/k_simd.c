/* Instruction-set detection and the thread count of parallel kernels. */
#include "kernels/k_simd.h"

#include <omp.h>
#include <stdatomic.h>

#include "util/pool.h"

#if CZ_K_X86
#include <immintrin.h>
#endif

static atomic_int isa_cap = CZ_ISA_AVX512;

static cz_isa detect(void) {
#if CZ_K_X86
  /* __builtin_cpu_supports also checks that the OS saves the registers. */
  if (__builtin_cpu_supports("avx512f")) return CZ_ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CZ_ISA_AVX2;
#endif
  return CZ_ISA_GENERIC;
}

cz_isa cz_k_isa(void) {
  cz_isa have = detect(), cap = (cz_isa)atomic_load(&isa_cap);
  return have < cap ? have : cap;
}

void cz_k_isa_cap(cz_isa cap) { atomic_store(&isa_cap, (int)cap); }

const char *cz_k_isa_name(cz_isa isa) {
  switch (isa) {
    case CZ_ISA_AVX512: return "avx512";
    case CZ_ISA_AVX2: return "avx2";
    default: return "generic";
  }
}

static _Thread_local int t_use;

int cz_k_threads_use(int n) {
  int was = t_use;
  t_use = n > 0 ? n : 0;
  return was;
}

int cz_k_threads(long long jobs) {
  int nt = t_use > 0 ? t_use : omp_get_max_threads();
  if (nt > CZ_K_SLOTS) nt = CZ_K_SLOTS;
  if (jobs < nt) nt = jobs < 1 ? 1 : (int)jobs;
  return nt;
}

/* max(lo, v) and min(hi, v) as MAXPS/MINPS compute them (first operand
 * when the comparison holds, else the second: v when v is NaN) are Clip's
 * formula exactly, NaN and signed zeros included. */
#if CZ_K_X86
CZ_K_TARGET_AVX512 static long long clamp_avx512(float *x, long long n, float lo, float hi) {
  __m512 l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
  long long i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(x + i, _mm512_min_ps(h, _mm512_max_ps(l, _mm512_loadu_ps(x + i))));
  return i;
}
CZ_K_TARGET_AVX2 static long long clamp_avx2(float *x, long long n, float lo, float hi) {
  __m256 l = _mm256_set1_ps(lo), h = _mm256_set1_ps(hi);
  long long i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(x + i, _mm256_min_ps(h, _mm256_max_ps(l, _mm256_loadu_ps(x + i))));
  return i;
}
#endif

int cz_k_threads_for(long long jobs, double macs) {
  double bar = cz_pool_enabled() ? CZ_K_POOL_MIN_MACS : CZ_K_PAR_MIN_MACS;
  return macs < bar ? 1 : cz_k_threads(jobs);
}

void cz_k_clamp(float *x, long long n, long long stride, float lo, float hi) {
  if (stride == 1) {
    long long i = 0;
#if CZ_K_X86
    switch (cz_k_isa()) {
      case CZ_ISA_AVX512: i = clamp_avx512(x, n, lo, hi); break;
      case CZ_ISA_AVX2: i = clamp_avx2(x, n, lo, hi); break;
      default: break;
    }
#endif
    for (; i < n; i++) {
      float v = x[i] < lo ? lo : x[i];
      x[i] = v > hi ? hi : v;
    }
    return;
  }
  for (long long i = 0; i < n; i++) {
    float *p = x + i * stride;
    float v = *p < lo ? lo : *p;
    *p = v > hi ? hi : v;
  }
}
