/* The GEMM micro-kernels themselves (k_gemm_ukr.h), for kernels that
 * drive them directly: the direct convolution reads its input in place
 * through a table of tap offsets instead of building im2col columns. */
#ifndef CZ_KERNELS_K_TILE_H
#define CZ_KERNELS_K_TILE_H
#include <stdbool.h>
#include <stdint.h>

/* c[i*ldc + j] = (sum_k A(i,k) * b[k*nr + j] + bias[j]) (+ c when acc) for
 * i < mr, j < nr, then min(max(c, clip[0]), clip[1]) when clip != NULL (a
 * fused activation, ONNX Clip's formula), where b is one packed panel and
 * A(i,k) is, by kernel:
 *   t: a[k*ast + i]          r: a[i*ast + k]
 *   i: a[i*ast + koff[k]]    o: a[k*ast + koff[i]]
 * Every row in 0..MR-1 is read even when mr < MR (o: koff needs MR
 * entries). Each sum runs over k in order. */
typedef void (*cz_k_ukr_fn)(int64_t kc, const float *a, int64_t ast, const int64_t *koff,
                            const float *b, float *c, int64_t ldc, int mr, int nr, bool acc,
                            const float *bias, const float *clip);

typedef struct {
  int nr;   /* columns of a tile (of a packed panel) */
  int mr_t; /* rows of the t and o kernels */
  cz_k_ukr_fn t;
  int mr_r; /* rows of the r and i kernels, <= mr_t */
  cz_k_ukr_fn r, i, o;
} cz_k_tile;

/* The tile the GEMM uses for N columns at the current instruction set. */
cz_k_tile cz_k_tile_for(int64_t N);

/* Most rows of any kernel, and most floats cz_k_pack_panels writes. */
#define CZ_K_MR_MAX 16
#define CZ_K_NR_MAX 64
static inline int64_t cz_k_panels_floats(int64_t K, int64_t N) {
  return K * ((N + CZ_K_NR_MAX - 1) / CZ_K_NR_MAX * CZ_K_NR_MAX);
}

/* Packs B[k,j] = b[k*rs + j*cs] (K x N) into panels of nr columns,
 * zero-padded: panel p holds out[p*K*nr + k*nr + j]. */
void cz_k_pack_panels(int nr, int64_t K, int64_t N, const float *b, int64_t rs, int64_t cs,
                      float *out);
#endif
