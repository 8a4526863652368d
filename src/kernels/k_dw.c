/* Depthwise row kernels, one instantiation of k_dw_tmpl.h per instruction
 * set, and the dispatch between them. */
#include "kernels/k_dw.h"

#include "kernels/k_simd.h"

#if CZ_K_X86
#include <immintrin.h>
#endif

#define KT
#define SFX(name) CZ_K_CAT(name, _generic)
#define V float
#define VL 1
#define VZERO() 0.0f
#define VLOADU(p) (*(p))
#define VSTOREU(p, v) (*(p) = (v))
#define VLOADN(p, n) (*(p))
#define VSTOREN(p, v, n) (*(p) = (v))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
#define VSET1(x) (x)
#define VMAX(a, b) ((a) > (b) ? (a) : (b))
#define VMIN(a, b) ((a) < (b) ? (a) : (b))
#include "kernels/k_dw_tmpl.h"
#undef KT
#undef SFX
#undef V
#undef VL
#undef VZERO
#undef VLOADU
#undef VSTOREU
#undef VLOADN
#undef VSTOREN
#undef VFMA
#undef VADD
#undef VSET1
#undef VMAX
#undef VMIN

#if CZ_K_X86
/* Lane masks for AVX2 partial loads: 8 - n entries on, from the middle. */
static const int32_t mask8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define KT CZ_K_TARGET_AVX2
#define SFX(name) CZ_K_CAT(name, _avx2)
#define V __m256
#define VL 8
#define VZERO() _mm256_setzero_ps()
#define VLOADU(p) _mm256_loadu_ps(p)
#define VSTOREU(p, v) _mm256_storeu_ps(p, v)
#define VMASK(n) _mm256_loadu_si256((const __m256i *)(mask8 + 8 - (n)))
#define VLOADN(p, n) _mm256_maskload_ps(p, VMASK(n))
#define VSTOREN(p, v, n) _mm256_maskstore_ps(p, VMASK(n), v)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VSET1(x) _mm256_set1_ps(x)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VMIN(a, b) _mm256_min_ps(a, b)
#include "kernels/k_dw_tmpl.h"
#undef KT
#undef SFX
#undef V
#undef VL
#undef VZERO
#undef VLOADU
#undef VSTOREU
#undef VMASK
#undef VLOADN
#undef VSTOREN
#undef VFMA
#undef VADD
#undef VSET1
#undef VMAX
#undef VMIN

#define KT CZ_K_TARGET_AVX512
#define SFX(name) CZ_K_CAT(name, _avx512)
#define V __m512
#define VL 16
#define VZERO() _mm512_setzero_ps()
#define VLOADU(p) _mm512_loadu_ps(p)
#define VSTOREU(p, v) _mm512_storeu_ps(p, v)
#define VLOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define VSTOREN(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSET1(x) _mm512_set1_ps(x)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VMIN(a, b) _mm512_min_ps(a, b)
#include "kernels/k_dw_tmpl.h"
#endif

/* 3x3 kernels have their own register-blocked versions. */
static bool is3x3(const cz_k_conv *p) { return p->kh == 3 && p->kw == 3; }

void cz_k_dw_fwd_rows(const cz_k_conv *p, const float *x, const float *wr, const float *b,
                      float *y, bool acc, int64_t r0, int64_t r1) {
  bool k3 = is3x3(p);
  switch (cz_k_isa()) {
#if CZ_K_X86
    case CZ_ISA_AVX512:
      (k3 ? dw3_fwd_rows_avx512 : dw_fwd_rows_avx512)(p, x, wr, b, y, acc, r0, r1);
      return;
    case CZ_ISA_AVX2:
      (k3 ? dw3_fwd_rows_avx2 : dw_fwd_rows_avx2)(p, x, wr, b, y, acc, r0, r1);
      return;
#endif
    default:
      (k3 ? dw3_fwd_rows_generic : dw_fwd_rows_generic)(p, x, wr, b, y, acc, r0, r1);
      return;
  }
}

void cz_k_dw_dx_scatter(const cz_k_conv *p, const float *dy, const float *wr, float *dx,
                        int64_t n) {
  switch (cz_k_isa()) {
#if CZ_K_X86
    case CZ_ISA_AVX512: dw_dx_scatter_avx512(p, dy, wr, dx, n); return;
    case CZ_ISA_AVX2: dw_dx_scatter_avx2(p, dy, wr, dx, n); return;
#endif
    default: dw_dx_scatter_generic(p, dy, wr, dx, n); return;
  }
}

void cz_k_dw_dw_rows(const cz_k_conv *p, const float *x, const float *dy, float *pw, float *pb,
                     int64_t r0, int64_t r1) {
  bool k3 = is3x3(p);
  switch (cz_k_isa()) {
#if CZ_K_X86
    case CZ_ISA_AVX512:
      (k3 ? dw3_dw_rows_avx512 : dw_dw_rows_avx512)(p, x, dy, pw, pb, r0, r1);
      return;
    case CZ_ISA_AVX2:
      (k3 ? dw3_dw_rows_avx2 : dw_dw_rows_avx2)(p, x, dy, pw, pb, r0, r1);
      return;
#endif
    default:
      (k3 ? dw3_dw_rows_generic : dw_dw_rows_generic)(p, x, dy, pw, pb, r0, r1);
      return;
  }
}
