/* Runtime choice of the instruction set for the fast kernels. The build
 * targets baseline x86-64; kernels compiled for AVX2+FMA and AVX-512 are
 * picked at run time from what the CPU (and OS) support. */
#ifndef CZ_KERNELS_K_SIMD_H
#define CZ_KERNELS_K_SIMD_H

typedef enum {
  CZ_ISA_GENERIC = 0, /* plain C (no FMA): any x86-64 or other CPU */
  CZ_ISA_AVX2 = 1,    /* AVX2 + FMA, 8 lanes */
  CZ_ISA_AVX512 = 2,  /* AVX-512F, 16 lanes */
} cz_isa;

/* The best level the CPU supports, capped by cz_k_isa_cap (tests use the
 * cap to cover every level on one machine). */
cz_isa cz_k_isa(void);
/* Caps the level used from now on (CZ_ISA_AVX512: no cap). Not thread-safe
 * with kernels running. */
void cz_k_isa_cap(cz_isa cap);
const char *cz_k_isa_name(cz_isa isa);

/* Most scratch slots a parallel kernel uses (one per thread); kernels run
 * at most this many threads, so scratch sizes never depend on the thread
 * count in force when a graph is planned. */
#define CZ_K_SLOTS 16
/* Threads for a parallel loop over `jobs` independent jobs: OpenMP's
 * thread count, or the one cz_k_threads_use set on this thread. */
int cz_k_threads(long long jobs);
/* Kernels on the calling thread use n threads (0: OpenMP's count again)
 * whatever OpenMP's setting; returns the previous value. The inference
 * runner sets it around a forward whose ops' own OpenMP loops it makes
 * serial: an OpenMP worker spinning after a loop would take a core from
 * the pool's worker (util/pool.h). */
int cz_k_threads_use(int n);
/* The same for a call of `macs` multiply-adds in all: 1 below
 * CZ_K_PAR_MIN_MACS, where waking a second thread, and waiting for it when
 * the OS has taken its core away, costs more than it can save. On a
 * thread where the pool is enabled (inference) the bar is
 * CZ_K_POOL_MIN_MACS: its workers spin between the layers of a forward
 * and the caller never waits for a job nobody has started. */
#define CZ_K_PAR_MIN_MACS (1 << 20)
#define CZ_K_POOL_MIN_MACS (1 << 16)
int cz_k_threads_for(long long jobs, double macs);

/* x[i*stride] = min(max(x[i*stride], lo), hi) for i < n: ONNX Clip's
 * formula (a NaN stays NaN), the fused-activation epilogue of the
 * convolution and GEMM kernels. */
void cz_k_clamp(float *x, long long n, long long stride, float lo, float hi);

#define CZ_K_CAT_(a, b) a##b
#define CZ_K_CAT(a, b) CZ_K_CAT_(a, b)

#if defined(__x86_64__) || defined(__i386__)
#define CZ_K_X86 1
#define CZ_K_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CZ_K_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define CZ_K_X86 0
#endif
#endif
