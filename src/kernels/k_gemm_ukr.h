/* One GEMM micro-kernel, instantiated by k_gemm.c once per instruction set
 * and tile shape (no include guard on purpose). Before including, define:
 *   UKR_NAME          function name
 *   KT                target attribute (may be empty)
 *   V VL              vector type and its lanes
 *   VZERO() VLOADA(p) VLOADU(p) VSTOREU(p,v) VSET1(x) VFMA(a,b,c) VADD(a,b)
 *   VMAX(a,b) VMIN(a,b)  a > b ? a : b and a < b ? a : b (b when either is
 *                     NaN: MAXPS/MINPS), so VMIN(hi, VMAX(lo, v)) is Clip
 *   MR NV             rows of the tile, vectors per tile row (NR = NV*VL)
 *   AMODE             how A is read: 0 k-major, A(i,k) = a[k*ast + i] (packed
 *                     strips, or a transposed A read in place); 1 row-major,
 *                     A(i,k) = a[i*ast + k] (A read in place, no packing);
 *                     2 implicit rows, A(i,k) = a[i*ast + koff[k]]; 3 implicit
 *                     columns, A(i,k) = a[k*ast + koff[i]] (2 and 3 read a
 *                     convolution's input in place: koff holds the offsets
 *                     of the kernel taps)
 *
 * It computes the MR x NR tile  t = sum_k A(i,k) * b[k*NR+j]  (b packed by
 * the driver, zero-padded) and stores the first mr x nr of
 *   c[i*ldc+j] = (t + bias[j]) + c[i*ldc+j]
 * where the bias term is there when bias != NULL and the c term when acc,
 * clamped to [clip[0], clip[1]] when clip != NULL (the caller passes it
 * with the last block of k only).
 * Each element's sum runs over k in order, so the result never depends on
 * where the tile lies: that is what keeps the kernels deterministic. */

#if AMODE == 0
#define A_AT(i, k) a[(k) * ast + (i)]
#elif AMODE == 1
#define A_AT(i, k) a[(i) * ast + (k)]
#elif AMODE == 2
#define A_AT(i, k) a[(i) * ast + koff[k]]
#else
#define A_AT(i, k) a[(k) * ast + koff[i]]
#endif

#define TILE_FN CZ_K_CAT(UKR_NAME, _tile)

KT static inline __attribute__((always_inline)) void TILE_FN(
    int64_t kc, const float *restrict a, int64_t ast, const int64_t *restrict koff,
    const float *restrict b, float *restrict c, int64_t ldc, int mr, int nr, bool acc,
    const float *restrict bias, const float *restrict clip) {
  V s[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) s[i][v] = VZERO();
#if AMODE != 2 && AMODE != 3
  (void)koff;
#endif
  for (int64_t k = 0; k < kc; k++) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) bv[v] = VLOADA(b + k * (NV * VL) + v * VL);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      V av = VSET1(A_AT(i, k));
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) s[i][v] = VFMA(av, bv[v], s[i][v]);
    }
  }
  if (mr == MR && nr == NV * VL) {
    const V lo = VSET1(clip ? clip[0] : 0.0f), hi = VSET1(clip ? clip[1] : 0.0f);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) {
        V r = s[i][v];
        if (bias) r = VADD(r, VLOADU(bias + v * VL));
        if (acc) r = VADD(r, VLOADU(c + i * ldc + v * VL));
        if (clip) r = VMIN(hi, VMAX(lo, r));
        VSTOREU(c + i * ldc + v * VL, r);
      }
    return;
  }
  /* Edge tile: the same sums, stored element by element. */
  float t[MR * NV * VL];
  for (int i = 0; i < MR; i++)
    for (int v = 0; v < NV; v++) VSTOREU(t + i * NV * VL + v * VL, s[i][v]);
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) {
      float r = t[i * NV * VL + j];
      if (bias) r = r + bias[j];
      if (acc) r = r + c[i * ldc + j];
      if (clip) {
        r = clip[0] > r ? clip[0] : r;
        r = clip[1] < r ? clip[1] : r;
      }
      c[i * ldc + j] = r;
    }
}

/* Modes 1 and 2 read rows in place, and take any multiple of MR rows in one
 * call (one strip after the other; the call costs as much as a tile when
 * kc is small). Modes 0 and 3 take one tile of mr <= MR rows. */
KT static void UKR_NAME(int64_t kc, const float *restrict a, int64_t ast,
                        const int64_t *restrict koff, const float *restrict b,
                        float *restrict c, int64_t ldc, int mr, int nr, bool acc,
                        const float *restrict bias, const float *restrict clip) {
#if AMODE == 1 || AMODE == 2
  int strips = mr / MR;
  for (int st = 0; st < strips; st++, a += MR * ast, c += MR * ldc) {
#if AMODE == 1
    /* Rows of the strip after next: the hardware prefetcher does not
     * follow MR interleaved row streams well. */
    if (st + 2 < strips)
      for (int i = 0; i < MR; i++)
        for (int64_t k = 0; k < kc; k += 16) __builtin_prefetch(a + (2 * MR + i) * ast + k);
#endif
    TILE_FN(kc, a, ast, koff, b, c, ldc, MR, nr, acc, bias, clip);
  }
#else
  TILE_FN(kc, a, ast, koff, b, c, ldc, mr, nr, acc, bias, clip);
#endif
}

#undef TILE_FN
#undef A_AT
#undef AMODE
#undef UKR_NAME
#undef MR
#undef NV
