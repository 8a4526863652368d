/* Single-precision matrix multiply for the fast kernels of Conv, Gemm and
 * MatMul: any strides on A, B and C, an optional bias row, accumulate or
 * overwrite. Packs A and B in cache-sized blocks and runs register-tile
 * micro-kernels (AVX-512, AVX2+FMA or plain C, chosen at run time).
 *
 * Deterministic: every C element is summed over k in a fixed order that
 * depends only on (M, N, K), never on the thread count or on scheduling;
 * when K is long and M x N small, K is cut into a fixed number of slices
 * whose partial sums are added in slice order. */
#ifndef CZ_KERNELS_K_GEMM_H
#define CZ_KERNELS_K_GEMM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t M, N, K;
  const float *a; /* A[i,k] = a[i*a_rs + k*a_cs] */
  int64_t a_rs, a_cs;
  const float *b; /* B[k,j] = b[k*b_rs + j*b_cs] */
  int64_t b_rs, b_cs;
  float alpha; /* scales A*B (not the bias, not the old C) */
  float *c;    /* C[i,j] = c[i*c_rs + j*c_cs] */
  int64_t c_rs, c_cs;
  const float *bias; /* NULL or N values added to every row */
  bool acc;          /* add to C instead of overwriting it */
  /* Fused activation: each finished C element becomes min(max(v, lo), hi)
   * (ONNX Clip's formula, NaN kept), applied while its block is in cache. */
  bool clamp;
  float lo, hi;
  /* NULL, or B (b, strides, alpha) already packed by cz_k_gemm_pack_b for
   * this K and N: used instead of packing B on every call when it still
   * matches the instruction set in force (b stays valid as a fallback).
   * Same values in the same order: results are bit-identical. */
  const void *b_packed;
} cz_k_gemm_args;

/* Scratch for one call. parallel: the call runs its own OpenMP loop;
 * otherwise it runs on the calling thread (inside a caller's parallel
 * region, each thread passing its own scratch). */
size_t cz_k_gemm_work_bytes(int64_t M, int64_t N, int64_t K, bool parallel);

/* C = (alpha*A*B + bias) (+ C when acc), then clamped when clamp. work: cz_k_gemm_work_bytes bytes,
 * 64-byte aligned. */
void cz_k_gemm(const cz_k_gemm_args *g, void *work, bool parallel);

/* Packing B once (inference: constant weights): bytes for g's K x N, and
 * the packing of alpha * B (g's b, b_rs, b_cs, alpha) at the current
 * instruction set into `packed` (64-byte aligned). */
size_t cz_k_gemm_packed_bytes(int64_t K, int64_t N);
/* Whether a call with g's shape and strides would read a packed B (a few
 * rows against a transposed B run as dot products instead). */
bool cz_k_gemm_reads_packed_b(const cz_k_gemm_args *g);
void cz_k_gemm_pack_b(const cz_k_gemm_args *g, void *packed);
#endif
