/* Instruction-set detection and the thread count of parallel kernels. */
#include "kernels/k_simd.h"

#include <omp.h>
#include <stdatomic.h>

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

int cz_k_threads(long long jobs) {
  int nt = omp_get_max_threads();
  if (nt > CZ_K_SLOTS) nt = CZ_K_SLOTS;
  if (jobs < nt) nt = jobs < 1 ? 1 : (int)jobs;
  return nt;
}

void cz_k_clamp(float *x, long long n, long long stride, float lo, float hi) {
  if (stride == 1) {
    for (long long i = 0; i < n; i++) {
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
