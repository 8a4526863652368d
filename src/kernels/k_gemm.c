/* Blocked, packed SGEMM driver and its micro-kernels (k_gemm.h). */
#include "kernels/k_gemm.h"

#include <string.h>

#include "kernels/k_simd.h"
#include "kernels/k_tile.h"
#include "util/pool.h"

#if CZ_K_X86
#include <immintrin.h>
#endif

/* Block sizes: KC values of k per packed block (A strip + B block stay in
 * L1/L2), MC rows and about NB_TARGET columns of C per job. MC is a
 * multiple of every MR below. */
#define KC 256
#define MC 96
#define NB_TARGET 128
#define MR_MAX CZ_K_MR_MAX
/* Up to this many K slices, each at least SLICE_MIN_K long, when M x N has
 * too few jobs to keep the threads busy. */
#define SLICES_MAX 16
#define SLICE_MIN_K 2048
#define SLICE_MAX_BYTES ((size_t)16 << 20)

typedef cz_k_ukr_fn ukr_fn;

/* ---- micro-kernels: four A modes (t, o, r, i; see k_tile.h) per tile
 * shape, per instruction set; k_gemm_set.h instantiates one shape. ---- */
#define UKR(isa, mode, mr, nv) ukr_##isa##_##mode##mr##x##nv
#define TILE(isa, nr, mrt, mrr, nv) \
  {nr, mrt, UKR(isa, t, mrt, nv), mrr, UKR(isa, r, mrr, nv), UKR(isa, i, mrr, nv), UKR(isa, o, mrt, nv)}

/* Plain C: no FMA (baseline x86-64 has none), separate multiply and add. */
#define KT
#define V float
#define VL 1
#define VZERO() 0.0f
#define VLOADA(p) (*(p))
#define VLOADU(p) (*(p))
#define VSTOREU(p, v) (*(p) = (v))
#define VSET1(x) (x)
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
#define VMAX(a, b) ((a) > (b) ? (a) : (b))
#define VMIN(a, b) ((a) < (b) ? (a) : (b))
#define SET(mode, mr, nv) UKR(generic, mode, mr, nv)
#define SET_MRT 4
#define SET_MRR 4
#define SET_NV 8
#include "kernels/k_gemm_set.h"
#undef SET
#undef KT
#undef V
#undef VL
#undef VZERO
#undef VLOADA
#undef VLOADU
#undef VSTOREU
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VMIN

#if CZ_K_X86
/* AVX2 + FMA: 16 registers, so at most 12 accumulators. */
#define KT CZ_K_TARGET_AVX2
#define V __m256
#define VL 8
#define VZERO() _mm256_setzero_ps()
#define VLOADA(p) _mm256_loadu_ps(p)
#define VLOADU(p) _mm256_loadu_ps(p)
#define VSTOREU(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VMIN(a, b) _mm256_min_ps(a, b)
#define SET(mode, mr, nv) UKR(avx2, mode, mr, nv)
#define SET_MRT 8
#define SET_MRR 8
#define SET_NV 1
#include "kernels/k_gemm_set.h"
#define SET_MRT 6
#define SET_MRR 6
#define SET_NV 2
#include "kernels/k_gemm_set.h"
#define SET_MRT 4
#define SET_MRR 4
#define SET_NV 3
#include "kernels/k_gemm_set.h"
#undef SET
#undef KT
#undef V
#undef VL
#undef VZERO
#undef VLOADA
#undef VLOADU
#undef VSTOREU
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VMIN

/* AVX-512: 32 registers, up to 24 accumulators; in-place rows (r, i) keep
 * at most 8 row pointers live. */
#define KT CZ_K_TARGET_AVX512
#define V __m512
#define VL 16
#define VZERO() _mm512_setzero_ps()
#define VLOADA(p) _mm512_loadu_ps(p)
#define VLOADU(p) _mm512_loadu_ps(p)
#define VSTOREU(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VMIN(a, b) _mm512_min_ps(a, b)
#define SET(mode, mr, nv) UKR(avx512, mode, mr, nv)
#define SET_MRT 16
#define SET_MRR 8
#define SET_NV 1
#include "kernels/k_gemm_set.h"
#define SET_MRT 12
#define SET_MRR 8
#define SET_NV 2
#include "kernels/k_gemm_set.h"
#define SET_MRT 8
#define SET_MRR 8
#define SET_NV 3
#include "kernels/k_gemm_set.h"
#define SET_MRT 6
#define SET_MRR 6
#define SET_NV 4
#include "kernels/k_gemm_set.h"
#undef SET
#undef KT
#undef V
#undef VL
#undef VZERO
#undef VLOADA
#undef VLOADU
#undef VSTOREU
#undef VSET1
#undef VFMA
#undef VADD
#undef VMAX
#undef VMIN
#endif

typedef cz_k_tile ukr_t;

/* The tile for this N: the fewest padded columns, then the widest tile. */
cz_k_tile cz_k_tile_for(int64_t N) {
  static const ukr_t generic[] = {TILE(generic, 8, 4, 4, 8)};
  const ukr_t *c = generic;
  int nc = 1;
#if CZ_K_X86
  static const ukr_t avx2[] = {TILE(avx2, 8, 8, 8, 1), TILE(avx2, 16, 6, 6, 2),
                                TILE(avx2, 24, 4, 4, 3)};
  static const ukr_t avx512[] = {TILE(avx512, 16, 16, 8, 1), TILE(avx512, 32, 12, 8, 2),
                                  TILE(avx512, 48, 8, 8, 3), TILE(avx512, 64, 6, 6, 4)};
  switch (cz_k_isa()) {
    case CZ_ISA_AVX512:
      /* Eight columns or fewer: half a 16-lane vector would be padding. */
      if (N <= 8) return avx2[0];
      c = avx512, nc = 4;
      break;
    case CZ_ISA_AVX2: c = avx2, nc = 3; break;
    default: break;
  }
#endif
  ukr_t best = c[0];
  int64_t best_pad = (N + best.nr - 1) / best.nr * best.nr;
  for (int i = 1; i < nc; i++) {
    int64_t pad = (N + c[i].nr - 1) / c[i].nr * c[i].nr;
    if (pad <= best_pad) best = c[i], best_pad = pad;
  }
  return best;
}

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The slice count: a function of the shape only. */
static int64_t slices_for(int64_t M, int64_t N, int64_t K) {
  int64_t jobs = cdiv(M, MC) * cdiv(N, 96);
  if (jobs >= SLICES_MAX || K < 2 * SLICE_MIN_K) return 1;
  int64_t s = min64(K / SLICE_MIN_K, cdiv(SLICES_MAX, jobs));
  while (s > 1 && (size_t)(s * M * N) * sizeof(float) > SLICE_MAX_BYTES) s--;
  return s;
}

static size_t slot_floats(int64_t K) { return (size_t)(MR_MAX + NB_TARGET) * (size_t)min64(K, KC); }

/* Most jobs a call can have: column blocks are at least 8 wide (the
 * narrowest tile), narrower than NB_TARGET only when that gives the
 * threads work (few rows: late layers at batch 1). */
static int64_t max_jobs(int64_t S, int64_t M, int64_t N) { return S * cdiv(M, MC) * cdiv(N, 8); }

size_t cz_k_gemm_work_bytes(int64_t M, int64_t N, int64_t K, bool parallel) {
  if (M <= 0 || N <= 0 || K <= 0) return 0;
  int64_t S = slices_for(M, N, K);
  int64_t jobs = max_jobs(S, M, N);
  int64_t slots = parallel ? min64(CZ_K_SLOTS, jobs) : 1;
  size_t floats = (size_t)slots * slot_floats(K) + (S > 1 ? (size_t)(S * M * N) : 0);
  return floats * sizeof(float) + 64;
}

/* ap[k*MR + i] = A[i0+i, k0+k], zero rows past M. */
static void pack_a(const cz_k_gemm_args *g, int64_t i0, int64_t k0, int64_t kc, int MRr,
                   float *restrict ap) {
  int mr = (int)min64(MRr, g->M - i0);
  if (g->a_cs == 1) {
    for (int i = 0; i < mr; i++) {
      const float *src = g->a + (i0 + i) * g->a_rs + k0;
      for (int64_t k = 0; k < kc; k++) ap[k * MRr + i] = src[k];
    }
  } else if (g->a_rs == 1) {
    for (int64_t k = 0; k < kc; k++) {
      const float *src = g->a + (k0 + k) * g->a_cs + i0;
      for (int i = 0; i < mr; i++) ap[k * MRr + i] = src[i];
    }
  } else {
    for (int i = 0; i < mr; i++)
      for (int64_t k = 0; k < kc; k++) ap[k * MRr + i] = g->a[(i0 + i) * g->a_rs + (k0 + k) * g->a_cs];
  }
  if (mr < MRr)
    for (int64_t k = 0; k < kc; k++)
      for (int i = mr; i < MRr; i++) ap[k * MRr + i] = 0.0f;
}

/* Panels of NR columns: bp[p*kc*NR + k*NR + j] = alpha*B[k0+k, j0+p*NR+j],
 * zero past column j1. */
/* Row copies of a few dozen floats: fixed-size memcpy compiles to moves,
 * where a plain loop may become a library call per row. */
static inline void copy_floats(float *restrict d, const float *restrict s, int64_t n) {
  for (; n >= 16; n -= 16, d += 16, s += 16) memcpy(d, s, 16 * sizeof(float));
  if (n >= 8) memcpy(d, s, 8 * sizeof(float)), d += 8, s += 8, n -= 8;
  if (n >= 4) memcpy(d, s, 4 * sizeof(float)), d += 4, s += 4, n -= 4;
  for (int64_t i = 0; i < n; i++) d[i] = s[i];
}

static void pack_b(const cz_k_gemm_args *g, int64_t k0, int64_t kc, int64_t j0, int64_t j1, int NR,
                   float *restrict bp) {
  int64_t np = cdiv(j1 - j0, NR);
  float alpha = g->alpha;
  for (int64_t p = 0; p < np; p++) {
    int64_t jj0 = j0 + p * NR;
    int nr = (int)min64(NR, j1 - jj0);
    float *dst = bp + p * kc * NR;
    for (int64_t k = 0; k < kc; k++) {
      const float *src = g->b + (k0 + k) * g->b_rs + jj0 * g->b_cs;
      float *d = dst + k * NR;
      if (g->b_cs == 1) {
        if (alpha == 1.0f) {
          copy_floats(d, src, nr);
        } else {
          for (int j = 0; j < nr; j++) d[j] = alpha * src[j];
        }
      } else {
        for (int j = 0; j < nr; j++) d[j] = alpha * src[j * g->b_cs];
      }
      for (int j = nr; j < NR; j++) d[j] = 0.0f;
    }
  }
}

void cz_k_pack_panels(int nr, int64_t K, int64_t N, const float *b, int64_t rs, int64_t cs,
                      float *out) {
  for (int64_t j0 = 0, p = 0; j0 < N; j0 += nr, p++) {
    int64_t w = N - j0 < nr ? N - j0 : nr;
    for (int64_t k = 0; k < K; k++) {
      float *d = out + (p * K + k) * nr;
      const float *s = b + k * rs + j0 * cs;
      if (cs == 1)
        copy_floats(d, s, w);
      else
        for (int64_t j = 0; j < w; j++) d[j] = s[j * cs];
      for (int64_t j = w; j < nr; j++) d[j] = 0.0f;
    }
  }
}

/* ---- B packed once (cz_k_gemm_pack_b): a header, then at PK_HDR bytes
 * the panels pack_b would write, for all of K and N: chunk ch of KC rows
 * (k0 = ch*KC, kc rows) holds panel p at k0*Npad + p*kc*NR floats, so a
 * job's block of panels is contiguous exactly as in its scratch slot. ---- */
#define PK_HDR 64
typedef struct {
  int32_t isa, nr;
  int64_t K, N;
  float alpha;
} pk_hdr;

size_t cz_k_gemm_packed_bytes(int64_t K, int64_t N) {
  if (K <= 0 || N <= 0) return 0;
  return PK_HDR + (size_t)K * (size_t)(N + CZ_K_NR_MAX) * sizeof(float);
}

void cz_k_gemm_pack_b(const cz_k_gemm_args *g, void *packed) {
  cz_k_tile u = cz_k_tile_for(g->N);
  pk_hdr *h = packed;
  *h = (pk_hdr){.isa = (int32_t)cz_k_isa(), .nr = u.nr, .K = g->K, .N = g->N, .alpha = g->alpha};
  float *out = (float *)((char *)packed + PK_HDR);
  int64_t npad = (g->N + u.nr - 1) / u.nr * u.nr;
  for (int64_t k0 = 0; k0 < g->K; k0 += KC) {
    int64_t kc = g->K - k0 < KC ? g->K - k0 : KC;
    pack_b(g, k0, kc, 0, g->N, u.nr, out + k0 * npad);
  }
}

/* The packed panels of g's B when they fit this call (same shape, alpha,
 * tile and instruction set), else NULL. */
static const float *packed_b(const cz_k_gemm_args *g, int nr) {
  const pk_hdr *h = g->b_packed;
  if (!h || h->isa != (int32_t)cz_k_isa() || h->nr != nr || h->K != g->K || h->N != g->N ||
      h->alpha != g->alpha)
    return NULL;
  return (const float *)((const char *)h + PK_HDR);
}

typedef struct {
  ukr_t u;
  int64_t S, RB, CB, NB, nchunks;
  int64_t MCr; /* rows of a job: MC, fewer when that gives the threads work */
  float *part;      /* S > 1: S row-major M x N partial sums */
  const float *bpk; /* B packed once, or NULL: packed per job */
  int64_t npad;     /* N rounded up to the tile width */
} plan_t;

static void run_job(const cz_k_gemm_args *g, const plan_t *pl, int64_t job, float *slot) {
  int64_t per_slice = pl->RB * pl->CB;
  int64_t s = job / per_slice, r = (job % per_slice) / pl->CB, cb = job % pl->CB;
  int64_t i0 = r * pl->MCr, i1 = min64(g->M, i0 + pl->MCr);
  int64_t j0 = cb * pl->NB, j1 = min64(g->N, j0 + pl->NB);
  int64_t ch0 = s * pl->nchunks / pl->S, ch1 = (s + 1) * pl->nchunks / pl->S;
  const ukr_t *u = &pl->u;
  const int NR = u->nr;
  float *ap = slot, *bslot = slot + (size_t)MR_MAX * min64(g->K, KC);
  const float *bp = bslot;
  float *dst = g->c;
  int64_t d_rs = g->c_rs, d_cs = g->c_cs;
  bool sliced = pl->S > 1;
  if (sliced) dst = pl->part + s * g->M * g->N, d_rs = g->N, d_cs = 1;
  int64_t np = cdiv(j1 - j0, NR);
  const float clip_v[2] = {g->lo, g->hi};
  /* Full strips read A in place when one of its strides is 1; edge strips
   * (and other strides) go through a zero-padded packed copy. */
  bool rows = g->a_cs == 1, cols = !rows && g->a_rs == 1;
  for (int64_t ch = ch0; ch < ch1; ch++) {
    int64_t k0 = ch * KC, kc = min64(KC, g->K - k0);
    bool first = ch == ch0;
    bool acc = first ? (!sliced && g->acc) : true;
    /* The fused activation in the micro-kernels' stores, with the last
     * block of k (sliced sums are clamped when reduced). */
    const float *clip = g->clamp && !sliced && ch == pl->nchunks - 1 ? clip_v : NULL;
    if (pl->bpk)
      bp = pl->bpk + k0 * pl->npad + (j0 / NR) * kc * NR;
    else
      pack_b(g, k0, kc, j0, j1, NR, bslot);
    int64_t i = i0;
    if (rows && d_cs == 1) {
      /* Whole strips straight from A's rows, all in one call per panel. */
      int64_t full = (i1 - i0) / u->mr_r * u->mr_r;
      if (full > 0)
        for (int64_t p = 0; p < np; p++) {
          int64_t jj = j0 + p * NR;
          const float *bias = first && !sliced && g->bias ? g->bias + jj : NULL;
          u->r(kc, g->a + i0 * g->a_rs + k0, g->a_rs, NULL, bp + p * kc * NR, dst + i0 * d_rs + jj,
               d_rs, (int)full, (int)min64(NR, j1 - jj), acc, bias, clip);
        }
      i += full;
    }
    for (; i < i1; i += u->mr_t) {
      int mr = (int)min64(u->mr_t, i1 - i);
      const float *a = ap;
      int64_t ast = u->mr_t;
      if (cols && mr == u->mr_t)
        a = g->a + k0 * g->a_cs + i, ast = g->a_cs;
      else
        pack_a(g, i, k0, kc, u->mr_t, ap);
      for (int64_t p = 0; p < np; p++) {
        int64_t jj = j0 + p * NR;
        int nr = (int)min64(NR, j1 - jj);
        const float *bias = first && !sliced && g->bias ? g->bias + jj : NULL;
        const float *b = bp + p * kc * NR;
        if (d_cs == 1) {
          u->t(kc, a, ast, NULL, b, dst + i * d_rs + jj, d_rs, mr, nr, acc, bias, clip);
          continue;
        }
        /* Strided C: the same sums through a tile, then element by element. */
        float t[MR_MAX * 64];
        u->t(kc, a, ast, NULL, b, t, NR, mr, nr, false, NULL, NULL);
        for (int ii = 0; ii < mr; ii++)
          for (int j = 0; j < nr; j++) {
            float v = t[ii * NR + j];
            float *c = dst + (i + ii) * d_rs + (jj + j) * d_cs;
            if (bias) v = v + bias[j];
            if (acc) v = v + *c;
            *c = v;
          }
      }
    }
  }
  /* Strided C: the fused activation on the finished block while it is in
   * cache. */
  if (g->clamp && !sliced && d_cs != 1 && ch1 == pl->nchunks)
    for (int64_t ri = i0; ri < i1; ri++)
      cz_k_clamp(dst + ri * d_rs + j0 * d_cs, j1 - j0, d_cs, g->lo, g->hi);
}

/* C = sum of the slices in order (+ bias) (+ C). */
static void reduce_slices(const cz_k_gemm_args *g, const plan_t *pl, int64_t i) {
  for (int64_t j = 0; j < g->N; j++) {
    float v = pl->part[i * g->N + j];
    for (int64_t s = 1; s < pl->S; s++) v = v + pl->part[(s * g->M + i) * g->N + j];
    float *c = g->c + i * g->c_rs + j * g->c_cs;
    if (g->bias) v = v + g->bias[j];
    if (g->acc) v = v + *c;
    if (g->clamp) {
      v = v < g->lo ? g->lo : v;
      v = v > g->hi ? g->hi : v;
    }
    *c = v;
  }
}

/* Estimated cycles per k of the tiles covering M x N: a tile step issues
 * mr*nv FMAs and mr + nv loads, two of each per cycle. */
static double tile_cycles(int64_t M, int64_t N) {
  cz_k_tile t = cz_k_tile_for(N);
  int nv = t.nr % 16 == 0 ? t.nr / 16 : (t.nr + 7) / 8;
  double fma = (double)t.mr_t * nv / 2, ld = (t.mr_t + nv) / 2.0;
  double c = (double)cdiv(M, t.mr_t) * (double)cdiv(N, t.nr) * (fma > ld ? fma : ld);
  if (M % t.mr_t) c += t.mr_t; /* the edge strip is packed */
  return c;
}

/* ---- few rows against a transposed B (a Linear layer at batch 1..4):
 * each C element is one dot product of two contiguous rows, read once,
 * with no packing of B (packing gathers B's columns with a stride of K).
 * The sum over k runs in vector lanes then across them: an order fixed by
 * K and the instruction set. ---- */
#define GEMV_M_MAX 4

static inline float gemv_out(const cz_k_gemm_args *g, int64_t i, int64_t j, float s) {
  float v = g->alpha * s;
  float *c = g->c + i * g->c_rs + j * g->c_cs;
  if (g->bias) v = v + g->bias[j];
  if (g->acc) v = v + *c;
  if (g->clamp) {
    v = v < g->lo ? g->lo : v;
    v = v > g->hi ? g->hi : v;
  }
  return v;
}

#define GEMV_BODY                                                      \
  for (int64_t j = j0; j < j1; j++) {                                  \
    const float *w = g->b + j * g->b_cs;                               \
    for (int64_t i = 0; i < g->M; i++) {                               \
      const float *x = g->a + i * g->a_rs;                             \
      float s = 0.0f;                                                  \
      _Pragma("omp simd reduction(+ : s)") for (int64_t k = 0; k < g->K; k++) s += x[k] * w[k]; \
      g->c[i * g->c_rs + j * g->c_cs] = gemv_out(g, i, j, s);          \
    }                                                                  \
  }

static void gemv_cols_generic(const cz_k_gemm_args *g, int64_t j0, int64_t j1) { GEMV_BODY }
#if CZ_K_X86
/* AVX2: each dot product sums k in two 8-lane accumulators (k mod 16 < 8
 * and >= 8; a last full 8 into the first), adds them, reduces the lanes
 * 8 -> 4 -> 2 -> 1, then adds the k past the last multiple of 8 in
 * order. GEMV_COLS columns at once give the FMA units independent chains
 * (one chain per column is latency-bound) and share each load of x; a
 * column's operations are the same in a block or alone, so its result
 * never depends on which block computed it. */
#define GEMV_COLS 4

CZ_K_TARGET_AVX2 static inline float hsum_avx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* out[c] = x . w[c] (K floats each) for c < nc, nc <= GEMV_COLS. */
CZ_K_TARGET_AVX2 static inline __attribute__((always_inline)) void dots_avx2(
    const float *restrict x, const float *const *w, int nc, int64_t K, float *out) {
  __m256 a0[GEMV_COLS], a1[GEMV_COLS];
  for (int c = 0; c < GEMV_COLS; c++) a0[c] = a1[c] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
    for (int c = 0; c < nc; c++) {
      a0[c] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w[c] + k), a0[c]);
      a1[c] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w[c] + k + 8), a1[c]);
    }
  }
  if (k + 8 <= K) {
    __m256 x0 = _mm256_loadu_ps(x + k);
    for (int c = 0; c < nc; c++) a0[c] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w[c] + k), a0[c]);
    k += 8;
  }
  for (int c = 0; c < nc; c++) {
    float s = hsum_avx2(_mm256_add_ps(a0[c], a1[c]));
    for (int64_t t = k; t < K; t++) s += x[t] * w[c][t];
    out[c] = s;
  }
}

CZ_K_TARGET_AVX2 static void gemv_cols_avx2(const cz_k_gemm_args *g, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; j += GEMV_COLS) {
    int nc = (int)min64(GEMV_COLS, j1 - j);
    const float *w[GEMV_COLS];
    for (int c = 0; c < GEMV_COLS; c++) w[c] = g->b + (j + (c < nc ? c : 0)) * g->b_cs;
    for (int64_t i = 0; i < g->M; i++) {
      float s[GEMV_COLS];
      if (nc == GEMV_COLS)
        dots_avx2(g->a + i * g->a_rs, w, GEMV_COLS, g->K, s);
      else
        for (int c = 0; c < nc; c++) dots_avx2(g->a + i * g->a_rs, w + c, 1, g->K, s + c);
      for (int c = 0; c < nc; c++) g->c[i * g->c_rs + (j + c) * g->c_cs] = gemv_out(g, i, j + c, s[c]);
    }
  }
}
CZ_K_TARGET_AVX512 static void gemv_cols_avx512(const cz_k_gemm_args *g, int64_t j0, int64_t j1) {
  GEMV_BODY
}
#endif

static bool gemv_ok(const cz_k_gemm_args *g) {
  return g->M <= GEMV_M_MAX && g->a_cs == 1 && g->b_rs == 1 && g->K >= 64;
}

typedef struct {
  const cz_k_gemm_args *g;
  void (*f)(const cz_k_gemm_args *, int64_t, int64_t);
} gemv_ctx;

static void gemv_job(void *c, int64_t q, int slot) {
  (void)slot;
  const gemv_ctx *x = c;
  x->f(x->g, q * 64, min64(x->g->N, (q + 1) * 64));
}

static void gemv(const cz_k_gemm_args *g, bool parallel) {
  void (*f)(const cz_k_gemm_args *, int64_t, int64_t) = gemv_cols_generic;
#if CZ_K_X86
  switch (cz_k_isa()) {
    case CZ_ISA_AVX512: f = gemv_cols_avx512; break;
    case CZ_ISA_AVX2: f = gemv_cols_avx2; break;
    default: break;
  }
#endif
  /* Blocks of 64 columns (a column's result never depends on its block). */
  int64_t nb = cdiv(g->N, 64);
  int nt = parallel && g->N * g->K >= 65536 ? cz_k_threads(nb) : 1;
  gemv_ctx c = {g, f};
  cz_pool_run(nb, nt, gemv_job, &c);
}

/* Rows of C per job of the sliced-sum reduction. */
#define REDUCE_ROWS 16

typedef struct {
  const cz_k_gemm_args *g;
  const plan_t *pl;
  float *w;
  size_t slot;
} gemm_ctx;

static void gemm_job(void *c, int64_t j, int slot) {
  const gemm_ctx *x = c;
  run_job(x->g, x->pl, j, x->w + (size_t)slot * x->slot);
}

static void reduce_job(void *c, int64_t q, int slot) {
  (void)slot;
  const gemm_ctx *x = c;
  for (int64_t i = q * REDUCE_ROWS; i < min64(x->g->M, (q + 1) * REDUCE_ROWS); i++)
    reduce_slices(x->g, x->pl, i);
}

bool cz_k_gemm_reads_packed_b(const cz_k_gemm_args *g) { return !gemv_ok(g); }

void cz_k_gemm(const cz_k_gemm_args *g, void *work, bool parallel) {
  if (g->M <= 0 || g->N <= 0) return;
  if (gemv_ok(g)) {
    gemv(g, parallel);
    return;
  }
  /* C^T = B^T A^T: the same sums, element for element, sometimes with much
   * better tiles (a weight gradient [48 x 8] is 8 x 48 transposed). Only
   * for long K, where the transposed (strided) C costs little. */
  cz_k_tile u = cz_k_tile_for(g->N);
  const float *bpk = packed_b(g, u.nr);
  if (!bpk && !g->bias && g->K >= KC &&
      tile_cycles(g->N, g->M) < 0.7 * tile_cycles(g->M, g->N)) {
    cz_k_gemm_args t = *g;
    t.M = g->N, t.N = g->M;
    t.a = g->b, t.a_rs = g->b_cs, t.a_cs = g->b_rs;
    t.b = g->a, t.b_rs = g->a_cs, t.b_cs = g->a_rs;
    t.c_rs = g->c_cs, t.c_cs = g->c_rs;
    t.b_packed = NULL;
    cz_k_gemm(&t, work, parallel);
    return;
  }
  if (g->K <= 0) {
    for (int64_t i = 0; i < g->M; i++)
      for (int64_t j = 0; j < g->N; j++) {
        float *c = g->c + i * g->c_rs + j * g->c_cs;
        float v = g->bias ? 0.0f + g->bias[j] : 0.0f;
        *c = g->acc ? v + *c : v;
        if (g->clamp) cz_k_clamp(c, 1, 1, g->lo, g->hi);
      }
    return;
  }
  plan_t pl = {.u = u, .bpk = bpk, .npad = (g->N + u.nr - 1) / u.nr * u.nr};
  pl.S = slices_for(g->M, g->N, g->K);
  pl.MCr = MC;
  pl.RB = cdiv(g->M, MC);
  pl.NB = pl.u.nr * (NB_TARGET / pl.u.nr > 0 ? NB_TARGET / pl.u.nr : 1);
  pl.CB = cdiv(g->N, pl.NB);
  /* Few jobs for the threads: narrower column blocks (which columns a job
   * covers never changes a sum). */
  double macs = (double)g->M * (double)g->N * (double)g->K;
  if (parallel && cz_k_threads_for(CZ_K_SLOTS, macs) > 1) {
    int64_t want = 2 * (int64_t)cz_k_threads(CZ_K_SLOTS);
    while (pl.S * pl.RB * pl.CB < want && pl.NB > pl.u.nr) {
      pl.NB -= pl.u.nr;
      pl.CB = cdiv(g->N, pl.NB);
    }
    /* Still too few (a tile or two of columns, a few dozen rows: the 8x8
     * layers of one image): shorter row blocks, whole strips of the tile,
     * never more jobs than the scratch was sized for. Which rows a job
     * covers never changes a sum either. */
    int64_t cap = max_jobs(pl.S, g->M, g->N);
    while (pl.S * pl.RB * pl.CB < want && pl.MCr > pl.u.mr_t) {
      int64_t mc = cdiv(cdiv(pl.MCr, 2), pl.u.mr_t) * pl.u.mr_t;
      int64_t rb = cdiv(g->M, mc);
      if (pl.S * rb * pl.CB > cap) break;
      pl.MCr = mc, pl.RB = rb;
    }
  }
  pl.nchunks = cdiv(g->K, KC);
  size_t slot = slot_floats(g->K);
  float *w = work;
  int64_t jobs = pl.S * pl.RB * pl.CB;
  int nt = parallel ? cz_k_threads_for(jobs, macs) : 1;
  pl.part = w + (size_t)(parallel ? min64(CZ_K_SLOTS, max_jobs(pl.S, g->M, g->N)) : 1) * slot;
  gemm_ctx c = {g, &pl, w, slot};
  cz_pool_run(jobs, nt, gemm_job, &c);
  if (pl.S > 1) {
    int64_t rj = cdiv(g->M, REDUCE_ROWS);
    cz_pool_run(rj, parallel ? cz_k_threads(rj) : 1, reduce_job, &c);
  }
}
